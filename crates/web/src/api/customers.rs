//! `/api/v1/customers`: lookup by phone or email (the matches a conversion suggests), search,
//! create and edit; each customer's service locations under `/customers/{id}/locations`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::customers::locations::{self, LocationInput, LocationPatch, ServiceLocation};
use switchboard_core::customers::{self, Customer, CustomerInput, CustomerPatch};
use switchboard_core::ids::{LocationId, OrgId};
use switchboard_core::parse::PhoneE164;
use switchboard_core::{Error, ids::CustomerId};
use utoipa::{IntoParams, ToSchema};

use super::not_found_as;
use super::{ApiId, ApiIds, ApiJson, ApiQuery};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct CustomerDto {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub notes: Option<String>,
    pub job_count: i64,
    /// Where work is done for them, oldest first.
    pub locations: Vec<ServiceLocationDto>,
}

impl CustomerDto {
    /// The customer with their locations (those of `all` that are theirs).
    fn new(c: Customer, all: &[ServiceLocation]) -> Self {
        CustomerDto {
            locations: all.iter().filter(|l| l.customer_id == c.id).cloned().map(ServiceLocationDto::from).collect(),
            id: c.id.0,
            name: c.name,
            phone: c.phone.map(|p| p.to_string()),
            email: c.email.map(|e| e.to_string()),
            address: c.address,
            notes: c.notes,
            job_count: c.job_count,
        }
    }

    async fn read(state: &AppState, org: OrgId, c: Customer) -> Result<Self, ApiError> {
        let sites = locations::list(&state.db, org, c.id).await?;
        Ok(CustomerDto::new(c, &sites))
    }
}

/// A place work is done for a customer.
#[derive(Serialize, ToSchema)]
pub struct ServiceLocationDto {
    pub id: i64,
    pub customer_id: i64,
    /// "Home", "Rental, upstairs".
    pub label: Option<String>,
    pub address: String,
    /// Gate code, pets, parking; shown with every job there.
    pub access_notes: Option<String>,
    /// Jobs booked at this location.
    pub job_count: i64,
}

impl From<ServiceLocation> for ServiceLocationDto {
    fn from(l: ServiceLocation) -> Self {
        ServiceLocationDto {
            id: l.id.0,
            customer_id: l.customer_id.0,
            label: l.label,
            address: l.address,
            access_notes: l.access_notes,
            job_count: l.job_count,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ServiceLocationList {
    pub locations: Vec<ServiceLocationDto>,
}

#[derive(Serialize, ToSchema)]
pub struct ServiceLocationEnvelope {
    pub location: ServiceLocationDto,
}

/// A service location to add.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceLocationBody {
    #[schema(max_length = 60)]
    pub label: Option<String>,
    #[schema(min_length = 1, max_length = 300, pattern = "\\S")]
    pub address: String,
    #[schema(max_length = 500)]
    pub access_notes: Option<String>,
}

impl From<ServiceLocationBody> for LocationInput {
    fn from(b: ServiceLocationBody) -> Self {
        LocationInput {
            label: b.label.unwrap_or_default(),
            address: b.address,
            access_notes: b.access_notes.unwrap_or_default(),
        }
    }
}

/// The fields to change; absent ones stay, an empty string clears a label or notes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceLocationPatchBody {
    #[schema(max_length = 60)]
    pub label: Option<String>,
    #[schema(min_length = 1, max_length = 300, pattern = "\\S")]
    pub address: Option<String>,
    #[schema(max_length = 500)]
    pub access_notes: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerList {
    pub customers: Vec<CustomerDto>,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerEnvelope {
    pub customer: CustomerDto,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    /// Any common format; matched as E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Search names, emails, addresses and phone numbers (in any format).
    pub q: Option<String>,
}

#[utoipa::path(get, path = "/customers", tag = "customers", params(CustomerQuery),
    responses((status = 200, description = "Matches by phone first, then email; a search with `q`; all customers without a filter", body = CustomerList), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(q): ApiQuery<CustomerQuery>,
) -> Result<Json<CustomerList>, ApiError> {
    let phone = match q.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(PhoneE164::parse(p).map_err(|m| Error::invalid("phone", m))?.as_str().to_string()),
        None => None,
    };
    let email = q.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
    let found = if phone.is_none() && email.is_none() {
        let country = customers::home_country(&state.db, caller.org).await?;
        customers::search(customers::list(&state.db, caller.org).await?, q.q.as_deref().unwrap_or(""), country)
    } else {
        customers::matching(&state.db, caller.org, phone.as_deref(), email).await?
    };
    let sites = locations::list_all(&state.db, caller.org).await?;
    Ok(Json(CustomerList { customers: found.into_iter().map(|c| CustomerDto::new(c, &sites)).collect() }))
}

#[utoipa::path(get, path = "/customers/{id}", tag = "customers", params(("id" = i64, Path, description = "Customer id")),
    responses((status = 200, body = CustomerEnvelope), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<CustomerEnvelope>, ApiError> {
    let c = customers::get(&state.db, caller.org, CustomerId(id)).await.map_err(|e| not_found_as(e, "customer"))?;
    Ok(Json(CustomerEnvelope { customer: CustomerDto::read(&state, caller.org, c).await? }))
}

/// A customer to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerBody {
    #[schema(min_length = 1, max_length = 120)]
    pub name: String,
    /// Any common format; a national number is read by the organization's country.
    #[schema(max_length = 32, pattern = r"^[0-9+()./\s-]*$", example = "(720) 555-0190")]
    pub phone: Option<String>,
    #[schema(format = Email)]
    pub email: Option<String>,
    #[schema(max_length = 300)]
    pub address: Option<String>,
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
    /// Service locations besides `address` (which becomes the first).
    pub locations: Option<Vec<ServiceLocationBody>>,
}

/// The fields to change; absent ones stay, an empty string clears one (not the name).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatchBody {
    #[schema(min_length = 1, max_length = 120)]
    pub name: Option<String>,
    /// Any common format; `""` clears it.
    #[schema(max_length = 32, pattern = r"^[0-9+()./\s-]*$")]
    pub phone: Option<String>,
    /// `""` clears it.
    #[schema(format = Email)]
    pub email: Option<String>,
    #[schema(max_length = 300)]
    pub address: Option<String>,
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

#[utoipa::path(post, path = "/customers", tag = "customers", request_body = CustomerBody,
    responses((status = 201, description = "Created", body = CustomerEnvelope), (status = 422, description = "A field was refused (a phone another customer has, too)", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<CustomerBody>,
) -> Result<(StatusCode, Json<CustomerEnvelope>), ApiError> {
    let input = CustomerInput {
        name: body.name,
        phone: body.phone.unwrap_or_default(),
        email: body.email.unwrap_or_default(),
        address: body.address.unwrap_or_default(),
        notes: body.notes.unwrap_or_default(),
        locations: body.locations.unwrap_or_default().into_iter().map(LocationInput::from).collect(),
    };
    let c = customers::create(&state.db, state.clock.as_ref(), caller.org, &input).await?;
    Ok((StatusCode::CREATED, Json(CustomerEnvelope { customer: CustomerDto::read(&state, caller.org, c).await? })))
}

#[utoipa::path(patch, path = "/customers/{id}", tag = "customers", params(("id" = i64, Path, description = "Customer id")), request_body = CustomerPatchBody,
    responses((status = 200, description = "Changed", body = CustomerEnvelope), (status = 404, description = "No such customer", body = ErrorBody), (status = 422, description = "A field was refused", body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<CustomerPatchBody>,
) -> Result<Json<CustomerEnvelope>, ApiError> {
    let patch = CustomerPatch {
        name: body.name,
        phone: body.phone,
        email: body.email,
        address: body.address,
        notes: body.notes,
    };
    let c = customers::update(&state.db, state.clock.as_ref(), caller.org, CustomerId(id), &patch)
        .await
        .map_err(|e| not_found_as(e, "customer"))?;
    Ok(Json(CustomerEnvelope { customer: CustomerDto::read(&state, caller.org, c).await? }))
}

#[utoipa::path(get, path = "/customers/{id}/locations", tag = "customers", params(("id" = i64, Path, description = "Customer id")),
    responses((status = 200, description = "The customer's service locations, oldest first", body = ServiceLocationList), (status = 404, description = "No such customer", body = ErrorBody)))]
pub async fn list_locations(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<ServiceLocationList>, ApiError> {
    let c = customers::get(&state.db, caller.org, CustomerId(id)).await.map_err(|e| not_found_as(e, "customer"))?;
    let sites = locations::list(&state.db, caller.org, c.id).await?;
    Ok(Json(ServiceLocationList { locations: sites.into_iter().map(ServiceLocationDto::from).collect() }))
}

#[utoipa::path(post, path = "/customers/{id}/locations", tag = "customers", params(("id" = i64, Path, description = "Customer id")), request_body = ServiceLocationBody,
    responses((status = 201, description = "Added", body = ServiceLocationEnvelope), (status = 404, description = "No such customer", body = ErrorBody),
              (status = 422, description = "A field was refused (an address the customer already has, too)", body = ErrorBody)))]
pub async fn add_location(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<ServiceLocationBody>,
) -> Result<(StatusCode, Json<ServiceLocationEnvelope>), ApiError> {
    let l = locations::add(&state.db, state.clock.as_ref(), caller.org, CustomerId(id), &body.into())
        .await
        .map_err(|e| not_found_as(e, "customer"))?;
    Ok((StatusCode::CREATED, Json(ServiceLocationEnvelope { location: l.into() })))
}

#[utoipa::path(patch, path = "/customers/{id}/locations/{location_id}", tag = "customers",
    params(("id" = i64, Path, description = "Customer id"), ("location_id" = i64, Path, description = "Service location id")), request_body = ServiceLocationPatchBody,
    responses((status = 200, description = "Changed; jobs booked there keep the address they were booked at", body = ServiceLocationEnvelope),
              (status = 404, description = "No such customer or location", body = ErrorBody), (status = 422, description = "A field was refused", body = ErrorBody)))]
pub async fn update_location(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiIds(id, location): ApiIds,
    ApiJson(body): ApiJson<ServiceLocationPatchBody>,
) -> Result<Json<ServiceLocationEnvelope>, ApiError> {
    let patch = LocationPatch { label: body.label, address: body.address, access_notes: body.access_notes };
    let l =
        locations::update(&state.db, state.clock.as_ref(), caller.org, CustomerId(id), LocationId(location), &patch)
            .await
            .map_err(|e| not_found_as(e, "location"))?;
    Ok(Json(ServiceLocationEnvelope { location: l.into() }))
}

#[utoipa::path(delete, path = "/customers/{id}/locations/{location_id}", tag = "customers",
    params(("id" = i64, Path, description = "Customer id"), ("location_id" = i64, Path, description = "Service location id")),
    responses((status = 204, description = "Removed; its jobs keep their address"), (status = 404, description = "No such customer or location", body = ErrorBody)))]
pub async fn remove_location(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiIds(id, location): ApiIds,
) -> Result<StatusCode, ApiError> {
    locations::remove(&state.db, caller.org, CustomerId(id), LocationId(location))
        .await
        .map_err(|e| not_found_as(e, "location"))?;
    Ok(StatusCode::NO_CONTENT)
}
