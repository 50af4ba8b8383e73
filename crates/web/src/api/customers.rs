//! `/api/v1/customers`: lookup by phone or email (the matches a conversion suggests), search,
//! create and edit.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::customers::{self, Customer, CustomerInput, CustomerPatch};
use switchboard_core::parse::PhoneE164;
use switchboard_core::{Error, ids::CustomerId};
use utoipa::{IntoParams, ToSchema};

use super::not_found_as;
use super::{ApiId, ApiJson, ApiQuery};
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
}

impl From<Customer> for CustomerDto {
    fn from(c: Customer) -> Self {
        CustomerDto {
            id: c.id.0,
            name: c.name,
            phone: c.phone.map(|p| p.to_string()),
            email: c.email.map(|e| e.to_string()),
            address: c.address,
            notes: c.notes,
            job_count: c.job_count,
        }
    }
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
    Ok(Json(CustomerList { customers: found.into_iter().map(CustomerDto::from).collect() }))
}

#[utoipa::path(get, path = "/customers/{id}", tag = "customers", params(("id" = i64, Path, description = "Customer id")),
    responses((status = 200, body = CustomerEnvelope), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<CustomerEnvelope>, ApiError> {
    let c = customers::get(&state.db, caller.org, CustomerId(id)).await.map_err(|e| not_found_as(e, "customer"))?;
    Ok(Json(CustomerEnvelope { customer: c.into() }))
}

/// A customer to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerBody {
    #[schema(min_length = 1, max_length = 120)]
    pub name: String,
    /// Any common format; a national number is read by the organization's country.
    pub phone: Option<String>,
    pub email: Option<String>,
    #[schema(max_length = 300)]
    pub address: Option<String>,
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

/// The fields to change; absent ones stay, an empty string clears one (not the name).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatchBody {
    #[schema(min_length = 1, max_length = 120)]
    pub name: Option<String>,
    pub phone: Option<String>,
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
    };
    let c = customers::create(&state.db, state.clock.as_ref(), caller.org, &input).await?;
    Ok((StatusCode::CREATED, Json(CustomerEnvelope { customer: c.into() })))
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
    Ok(Json(CustomerEnvelope { customer: c.into() }))
}
