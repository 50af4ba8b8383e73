//! Public pages, opened without a sign-in: the technician portal, the customer's tracking page,
//! a desk contact's secure inbox, on-call calendar feeds and a customer's invoice (capability links), and the hosted
//! web form with its JSON endpoints.

pub mod ack;
pub mod calendar;
pub mod forms;
pub mod inbox;
pub mod invoice;
pub mod portal;
pub mod shifts;
pub mod tracking;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::state::AppState;

/// A page opened by a private link: never cached, never indexed, no referrer (the token is
/// the URL).
pub(crate) fn private_page(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    h.insert("x-robots-tag", axum::http::HeaderValue::from_static("noindex, nofollow"));
    h.insert(header::REFERRER_POLICY, axum::http::HeaderValue::from_static("no-referrer"));
    r
}

#[derive(askama::Template, askama_web::WebTemplate)]
#[template(path = "inbox/invalid.html")]
struct InvalidLink;

/// What a private link's page answers for an error: one plain page for a link that does not
/// work, the usual error page otherwise.
pub(crate) fn link_failed(e: switchboard_core::Error) -> Response {
    match e {
        switchboard_core::Error::NotFound => private_page((StatusCode::NOT_FOUND, InvalidLink).into_response()),
        other => crate::error::PageError::from(other).into_response(),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(portal::routes())
        .merge(tracking::routes())
        .merge(inbox::routes())
        .merge(calendar::routes())
        .merge(shifts::routes())
        .merge(ack::routes())
        .merge(invoice::routes())
        .route("/media/techs/{org}/{file}", get(tech_photo))
        .route("/f/{key}", get(forms::hosted))
        .route("/f/{key}/thanks", get(forms::thanks))
        .route("/public/v1/forms/{key}/token", get(forms::token))
        .route("/public/v1/forms/{key}/submissions", post(forms::submit).options(forms::preflight))
}

/// `GET /media/techs/{org}/{file}`: a technician's uploaded photo, public as the tracking page
/// and emails that show it (its name is a 256-bit random token; a replaced photo is deleted).
async fn tech_photo(State(state): State<AppState>, Path((org, file)): Path<(String, String)>) -> Response {
    let Some(key) = switchboard_core::technicians::photo_key(&org, &file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let content_type = match file.rsplit_once('.').map(|(_, e)| e) {
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        _ => "image/jpeg",
    };
    match state.blobs.get(&key).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=86400, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        Err(switchboard_core::Error::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reading a technician photo failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
