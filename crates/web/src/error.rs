//! Errors at the edge: core errors become a JSON body for the API or an HTML page for people,
//! with the right status. Internal text is logged once, here, and never sent to the client;
//! a 500 carries the request id so a report can be matched to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use switchboard_core::{Error, FieldError};

use crate::telemetry::current_request_id;

fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Conflict(_) | Error::InvalidTransition { .. } | Error::Stale(_) => StatusCode::CONFLICT,
        Error::Forbidden => StatusCode::FORBIDDEN,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Db(_) | Error::Migrate(_) | Error::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A JSON error: `{"error": {"code": "...", "message": "...", "fields": [...]}}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<FieldError>,
    /// For `invalid_transition`: the statuses that are possible.
    pub allowed: Vec<String>,
    /// For `stale`: who changed it, when, and its version now.
    pub stale: Option<StaleDetail>,
}

/// Who changed a thing since the version a client sent, and when.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaleDetail {
    /// `user:NAME`, `tech:NAME`, `api` or `system`.
    pub changed_by: String,
    /// RFC 3339.
    pub changed_at: String,
    /// The version it is at now.
    pub current_version: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`, `validation_failed`.
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
    /// Per-field problems, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<FieldErrorSchema>)]
    pub fields: Vec<FieldError>,
    /// Present on internal errors: quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For `invalid_transition`: the statuses the job can move to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    /// For `stale`: who changed it since the version sent, and when.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub stale: Option<StaleDetail>,
}

/// One invalid field.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FieldErrorSchema {
    field: String,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), fields: Vec::new(), allowed: Vec::new(), stale: None }
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = status_of(&e);
        match e {
            Error::NotFound => ApiError::new(status, "not_found", "not found"),
            Error::Invalid(fields) => {
                let message =
                    fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ");
                ApiError { fields, ..ApiError::new(status, "validation_failed", message) }
            }
            Error::Conflict(m) => ApiError::new(status, "conflict", m),
            Error::InvalidTransition { message, allowed } => {
                ApiError { allowed, ..ApiError::new(status, "invalid_transition", message) }
            }
            Error::Stale(s) => ApiError {
                stale: Some(StaleDetail {
                    changed_by: s.changed_by,
                    changed_at: s.changed_at.to_string(),
                    current_version: s.version,
                }),
                ..ApiError::new(status, "stale", s.message)
            },
            Error::Forbidden => ApiError::new(status, "forbidden", "you are not allowed to do that"),
            Error::Unavailable(m) => ApiError::new(status, "unavailable", m),
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError::new(status, "internal", "something went wrong on our side")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = (self.status.is_server_error()).then(current_request_id).flatten();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                fields: self.fields,
                request_id,
                allowed: self.allowed,
                stale: self.stale,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// An error shown to a person in the browser.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
}

impl PageError {
    pub fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Self { status, title, message: message.into() }
    }
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Not found",
            "That page does not exist, or it belongs to another organization.",
        )
    }
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "Not allowed", "Your role does not give access to this page. Ask an admin.")
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", message)
    }
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        let status = status_of(&e);
        match e {
            Error::NotFound => PageError::not_found(),
            Error::Forbidden => PageError::forbidden(),
            Error::Invalid(fields) => PageError::new(
                status,
                "Please check the form",
                fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "),
            ),
            Error::Conflict(m) => PageError::new(status, "Conflict", m),
            Error::Stale(s) => PageError::new(status, "Changed meanwhile", s.message),
            Error::InvalidTransition { message, .. } => PageError::new(status, "Not possible", message),
            Error::Unavailable(m) => PageError::new(status, "Try again in a minute", m),
            other => {
                tracing::error!(error = %other, "request failed");
                PageError::new(status, "Something went wrong", "Something went wrong on our side. Please try again.")
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let request_id = self.status.is_server_error().then(current_request_id).flatten();
        let page = crate::views::ErrorPage {
            status: self.status.as_u16(),
            title: self.title,
            message: &self.message,
            request_id: request_id.as_deref(),
        };
        (self.status, page.render_html()).into_response()
    }
}
