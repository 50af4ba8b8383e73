//! The JSON API under `/api/v1`, authenticated by API key. Routes are registered through
//! utoipa's router so the OpenAPI document at `/api/v1/openapi.json` is generated from the
//! same code and cannot drift from it.

pub mod brands;
pub mod customers;
pub mod desk;
pub mod desk_messages;
pub mod invoices;
pub mod jobs;
pub mod leads;
pub mod messages;
pub mod oncall;
pub mod openapi;
pub mod technicians;
pub mod users;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard API", version = "1", description = "Dispatch, leads and on-call. Authenticate with `Authorization: Bearer <api key>` (Settings -> API keys, or `switchboard api-key create`). Errors are `{\"error\": {\"code\", \"message\"}}`."),
    modifiers(&BearerAuth),
    security(("api_key" = [])),
    components(schemas(crate::error::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("sb_...").build()),
        );
    }
}

/// The API routes and their OpenAPI document, built together.
pub fn api_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(
            "/api/v1",
            OpenApiRouter::new()
                .routes(routes!(brands::list, brands::create))
                .routes(routes!(brands::get, brands::update))
                .routes(routes!(desk::get_protocol, desk::put_protocol))
                .routes(routes!(desk::list_templates))
                .routes(routes!(desk::apply_template))
                .routes(routes!(desk::list_contacts, desk::add_contact))
                .routes(routes!(desk::put_contact, desk::delete_contact))
                .routes(routes!(desk_messages::list, desk_messages::create))
                .routes(routes!(desk_messages::get))
                .routes(routes!(desk_messages::retrieve))
                .routes(routes!(desk_messages::redeliver))
                .routes(routes!(desk_messages::forward))
                .routes(routes!(desk_messages::add_note))
                .routes(routes!(desk_messages::confirm))
                .routes(routes!(oncall::list, oncall::create))
                .routes(routes!(oncall::get, oncall::update))
                .routes(routes!(oncall::put_layers))
                .routes(routes!(oncall::add_override))
                .routes(routes!(oncall::remove_override))
                .routes(routes!(oncall::on_call))
                .routes(routes!(oncall::timeline))
                .routes(routes!(oncall::issue_feed, oncall::revoke_feeds))
                .routes(routes!(oncall::list_swaps, oncall::offer_swap))
                .routes(routes!(oncall::take_swap))
                .routes(routes!(oncall::withdraw_swap))
                .routes(routes!(oncall::person_link, oncall::revoke_person_links))
                .routes(routes!(users::list, users::create))
                .routes(routes!(users::get, users::update))
                .routes(routes!(messages::send, messages::list))
                .routes(routes!(messages::get))
                .routes(routes!(leads::list))
                .routes(routes!(leads::get))
                .routes(routes!(leads::reply))
                .routes(routes!(leads::convert))
                .routes(routes!(leads::archive))
                .routes(routes!(leads::restore))
                .routes(routes!(customers::list, customers::create))
                .routes(routes!(customers::get, customers::update))
                .routes(routes!(customers::list_locations, customers::add_location))
                .routes(routes!(customers::update_location, customers::remove_location))
                .routes(routes!(technicians::list))
                .routes(routes!(jobs::list, jobs::create))
                .routes(routes!(jobs::get, jobs::update))
                .routes(routes!(jobs::assign))
                .routes(routes!(jobs::set_status))
                .routes(routes!(invoices::list))
                .routes(routes!(invoices::get))
                .routes(routes!(invoices::draft))
                .routes(routes!(invoices::send))
                .routes(routes!(invoices::record_payment))
                .routes(routes!(invoices::void)),
        )
        .split_for_parts()
}

/// The API's OpenAPI document as served: generated, then completed with what every route shares.
pub fn document(doc: &utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    openapi::complete(&mut doc);
    doc
}

pub fn router() -> Router<AppState> {
    let (router, doc) = api_router();
    let doc = std::sync::Arc::new(document(&doc));
    router.route("/api/v1/openapi.json", get(move || std::future::ready(Json((*doc).clone()))))
}

/// A JSON body; malformed JSON, unknown fields, wrong types and oversize bodies become JSON
/// errors with the right status (400, 422, 413, 415).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// A `NotFound` that names what was not found (shared by every resource's handlers).
pub(crate) fn not_found_as(e: switchboard_core::Error, what: &str) -> ApiError {
    match e {
        switchboard_core::Error::NotFound => ApiError::not_found(what),
        other => other.into(),
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::JsonSyntaxError(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {}", source_text(&e)),
        ),
        JsonRejection::JsonDataError(e) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!("the body does not match the expected shape: {}", source_text(&e)),
        ),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than the {} KiB limit", crate::state::BODY_LIMIT / 1024),
        ),
        other => ApiError::new(other.status(), "bad_request", other.body_text()),
    }
}

/// The innermost error message (serde's own words: "unknown field `x`, expected ...").
fn source_text(e: &dyn std::error::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// A query string; one that does not fit (`?brand_id=abc`) is a JSON 400 naming the problem,
/// like every other API error.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(rejection) => {
                // axum's words name the parameter: "Failed to deserialize query string: brand_id: ..."
                let text = rejection.body_text();
                let detail = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text);
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    format!("the query string does not fit: {detail}"),
                ))
            }
        }
    }
}

/// A numeric id from the path; anything else is a 400 that names the bad value.
pub struct ApiId(pub i64);

/// A positive id, or the 400 that names the bad value.
fn path_id(raw: &str) -> Result<i64, Box<ApiError>> {
    match raw.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(Box::new(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("\"{raw}\" is not a valid id (ids are positive integers)"),
        ))),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e: PathRejection| ApiError::new(StatusCode::BAD_REQUEST, "invalid_id", e.body_text()))?;
        path_id(&raw).map(ApiId).map_err(|e| *e)
    }
}

/// Two numeric ids from the path (`/customers/{id}/locations/{location_id}`), each checked
/// as [`ApiId`] is.
pub struct ApiIds(pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for ApiIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path((a, b)) = axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|e: PathRejection| ApiError::new(StatusCode::BAD_REQUEST, "invalid_id", e.body_text()))?;
        Ok(ApiIds(path_id(&a).map_err(|e| *e)?, path_id(&b).map_err(|e| *e)?))
    }
}
