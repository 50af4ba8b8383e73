//! `/api/v1/users`

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::ids::UserId;
use switchboard_core::tenancy::{self, NewUserInput, User, UserUpdate};
use utoipa::ToSchema;

use super::not_found_as;
use super::{ApiId, ApiJson};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct UserDto {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// `admin`, `dispatcher`, `operator` or `technician`.
    pub role: String,
    pub active: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        UserDto {
            id: u.id.0,
            email: u.email,
            name: u.name,
            role: u.role.as_str().to_string(),
            active: u.active,
            created_at: u.created_at.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserDto>,
}

#[derive(Serialize, ToSchema)]
pub struct UserEnvelope {
    pub user: UserDto,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    #[schema(format = Email)]
    pub email: String,
    #[schema(min_length = 1, max_length = 80, pattern = r"\S")]
    pub name: String,
    #[schema(schema_with = super::openapi::user_role)]
    pub role: String,
    /// At least 10 characters.
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[schema(min_length = 1, max_length = 80, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(schema_with = super::openapi::user_role)]
    pub role: Option<String>,
    pub active: Option<bool>,
}

#[utoipa::path(get, path = "/users", tag = "users", responses((status = 200, body = UserList), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, caller: ApiCaller) -> Result<Json<UserList>, ApiError> {
    let users = tenancy::list_users(&state.db, caller.org).await?;
    Ok(Json(UserList { users: users.into_iter().map(UserDto::from).collect() }))
}

#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUserBody,
    responses((status = 201, body = UserEnvelope), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<NewUserBody>,
) -> Result<(StatusCode, Json<UserEnvelope>), ApiError> {
    let input = NewUserInput { email: body.email, name: body.name, role: body.role, password: body.password };
    let user = tenancy::create_user(&state.db, state.clock.as_ref(), caller.org, &input).await?;
    Ok((StatusCode::CREATED, Json(UserEnvelope { user: user.into() })))
}

#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = UserEnvelope), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<UserEnvelope>, ApiError> {
    let user = tenancy::user(&state.db, caller.org, UserId(id)).await.map_err(|e| not_found_as(e, "user"))?;
    Ok(Json(UserEnvelope { user: user.into() }))
}

#[utoipa::path(patch, path = "/users/{id}", tag = "users", params(("id" = i64, Path, description = "User id")), request_body = UserPatch,
    responses((status = 200, body = UserEnvelope), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(patch): ApiJson<UserPatch>,
) -> Result<Json<UserEnvelope>, ApiError> {
    let update = UserUpdate { name: patch.name, role: patch.role, active: patch.active };
    let user = switchboard_core::auth::update_user(&state.db, state.clock.as_ref(), caller.org, UserId(id), &update)
        .await
        .map_err(|e| not_found_as(e, "user"))?;
    Ok(Json(UserEnvelope { user: user.into() }))
}
