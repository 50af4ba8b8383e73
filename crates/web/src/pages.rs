//! Helpers shared by the office console and the public pages (portal, tracking, forms): ids
//! from paths, form errors, line-item and photo forms, days in a zone, the client's address.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::Multipart;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_core::Error;
use switchboard_core::jobs::LineItemInput;

use crate::error::PageError;
use crate::state::AppState;

/// Parses an id from a path segment; anything else is a 404 (it cannot name a record).
pub fn parse_id(raw: &str) -> Result<i64, PageError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(PageError::not_found)
}

/// Field errors as (field, message) pairs for re-rendering a form.
pub fn field_errors(e: switchboard_core::Error) -> Result<Vec<(String, String)>, PageError> {
    match e {
        switchboard_core::Error::Invalid(fields) => Ok(pairs(fields)),
        other => Err(other.into()),
    }
}

pub fn pairs(fields: Vec<switchboard_core::FieldError>) -> Vec<(String, String)> {
    fields.into_iter().map(|f| (f.field.to_string(), f.message)).collect()
}

/// The version of a record a form carried (empty from older pages: not checked); a stale one
/// is refused by the use case.
pub fn seen_version(v: &str) -> Result<Option<i64>, Error> {
    match v.trim() {
        "" => Ok(None),
        v => v.parse().map(Some).map_err(|_| Error::Conflict("reload the page and try again".into())),
    }
}

/// Midnight to midnight of `date` in `tz`.
pub fn day_bounds(date: jiff::civil::Date, tz: &jiff::tz::TimeZone) -> Option<(jiff::Timestamp, jiff::Timestamp)> {
    let start = date.to_zoned(tz.clone()).ok()?.timestamp();
    let end = date.tomorrow().ok()?.to_zoned(tz.clone()).ok()?.timestamp();
    Some((start, end))
}

#[derive(Deserialize)]
pub struct LineItemForm {
    #[serde(default)]
    description: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    unit_price: String,
    #[serde(default)]
    taxable: Option<String>,
}

impl LineItemForm {
    pub fn input(&self) -> LineItemInput {
        LineItemInput {
            description: self.description.clone(),
            quantity: self.quantity.clone(),
            unit_price: self.unit_price.clone(),
            taxable: self.taxable.is_some(),
        }
    }
}

/// Reads the `photo` field of a multipart upload; a body over the route's limit is refused
/// with the size limit named.
pub async fn read_photo(mut multipart: Multipart) -> Result<Vec<u8>, Error> {
    let refused = |status: StatusCode, otherwise: &str| {
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            switchboard_core::storage::photo_too_large()
        } else {
            otherwise.to_string()
        };
        Error::invalid("photo", message)
    };
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("photo") => {
                return field
                    .bytes()
                    .await
                    .map(|b| b.to_vec())
                    .map_err(|e| refused(e.status(), "the upload was interrupted; try again"));
            }
            Ok(Some(_)) => continue,
            Ok(None) => return Err(Error::invalid("photo", "choose a photo to upload")),
            Err(e) => return Err(refused(e.status(), "the upload could not be read; try again")),
        }
    }
}

/// A photo's bytes, with its sniffed type.
pub fn photo_response(content_type: String, bytes: Vec<u8>, cache: &'static str) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, cache)
        .header(header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox")
        .body(Body::from(bytes))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The client address for throttling: the socket peer, or the first X-Forwarded-For hop when
/// the operator says a trusted proxy sets it.
pub fn client_ip(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> String {
    if state.config.trust_forwarded
        && let Some(first) =
            headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()).and_then(|v| v.split(',').next())
    {
        return first.trim().to_string();
    }
    peer.ip().to_string()
}
