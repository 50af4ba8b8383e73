//! On-call calendar feeds (`/calendar/{token}.ics`): what calendar programs subscribe to, from
//! a private link the office issues per schedule or per person (`POST
//! /api/v1/schedules/{id}/feeds`) and can revoke. A link that does not work gets 404.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use switchboard_core::Error;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/calendar/{token}", get(feed))
}

async fn feed(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let token = token.strip_suffix(".ics").unwrap_or(&token);
    let host = state
        .config
        .public_url
        .split("://")
        .nth(1)
        .unwrap_or("switchboard")
        .split(['/', ':'])
        .next()
        .unwrap_or("switchboard");
    match switchboard_core::oncall::feed::render(&state.db, state.clock.as_ref(), token, host).await {
        Ok((_, text)) => {
            let mut r = ([(header::CONTENT_TYPE, "text/calendar; charset=utf-8")], text).into_response();
            let h = r.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"));
            h.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
            r
        }
        Err(Error::NotFound) => (StatusCode::NOT_FOUND, "This calendar link isn't active.").into_response(),
        Err(other) => crate::error::PageError::from(other).into_response(),
    }
}
