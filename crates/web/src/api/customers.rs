//! `/api/v1/customers`: lookup by phone or email (the matches a conversion suggests).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use switchboard_core::customers::{self, Customer};
use switchboard_core::parse::PhoneE164;
use switchboard_core::{Error, ids::CustomerId};
use utoipa::{IntoParams, ToSchema};

use super::not_found_as;
use super::{ApiId, ApiQuery};
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
pub struct CustomerQuery {
    /// Any common format; matched as E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[utoipa::path(get, path = "/customers", tag = "customers", params(CustomerQuery),
    responses((status = 200, description = "Matches by phone first, then email; all customers without a filter", body = CustomerList), (status = 422, body = ErrorBody)))]
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
        customers::list(&state.db, caller.org).await?
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
