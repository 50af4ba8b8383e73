//! Browser sessions and CSRF at the edge, and the extractors handlers use to say who may call
//! them: [`Staff`] (office console), [`Admin`], and [`ApiCaller`] (API key).
//!
//! One middleware resolves the session cookie once per request and checks the CSRF token of
//! every state-changing request: the session's token for signed-in users, a double-submit
//! cookie on the sign-in form. Tokens come from a `_csrf` form field or an `X-CSRF-Token`
//! header (htmx sends it from `hx-headers`).

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use switchboard_core::auth::{self as core_auth, SessionUser};
use switchboard_core::ids::{ApiKeyId, OrgId};
use switchboard_core::secret::constant_time_eq;

use crate::error::{ApiError, PageError};
use crate::state::AppState;
use switchboard_core::tenancy::Role;

pub const FORM_LIMIT: usize = 256 * 1024;

pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-sb_session" } else { "sb_session" }
}

pub fn login_csrf_cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-sb_login_csrf" } else { "sb_login_csrf" }
}

/// A cookie with our defaults: HttpOnly, SameSite=Lax, Path=/, Secure over HTTPS.
pub fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value)).http_only(true).same_site(SameSite::Lax).path("/").secure(secure).build()
}

/// The cookie that removes `name`: with the attributes it was set with, since a browser
/// ignores a `__Host-` cookie (the clearing one too) that lacks `Secure` and `Path=/`.
pub fn removal(name: &'static str, secure: bool) -> Cookie<'static> {
    Cookie::build(name).http_only(true).same_site(SameSite::Lax).path("/").secure(secure).build()
}

/// The signed-in user of this request, if any (set by [`session_and_csrf`]).
#[derive(Clone)]
pub struct Viewer(pub Option<SessionUser>);

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub async fn session_and_csrf(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let secure = state.config.secure_cookies();
    let jar = CookieJar::from_headers(req.headers());
    let session = match jar.get(session_cookie_name(secure)) {
        Some(c) => match core_auth::session_user(&state.db, state.clock.as_ref(), c.value()).await {
            Ok(s) => s,
            Err(e) => return PageError::from(e).into_response(),
        },
        None => None,
    };
    let mut req = req;
    if !is_safe(req.method()) {
        let expected = match &session {
            Some(s) => Some(s.csrf_token.clone()),
            None => jar.get(login_csrf_cookie_name(secure)).map(|c| c.value().to_string()),
        };
        let (provided, rebuilt) = match csrf_from_request(req).await {
            Ok(pair) => pair,
            Err(resp) => return resp,
        };
        req = rebuilt;
        let ok = matches!((&expected, &provided), (Some(e), Some(p)) if !e.is_empty() && constant_time_eq(e, p));
        if !ok {
            return PageError::new(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "For your security the form could not be accepted. Go back, reload the page and try again.",
            )
            .into_response();
        }
    }
    req.extensions_mut().insert(Viewer(session));
    next.run(req).await
}

/// Reads the CSRF token from the header or, for URL-encoded forms, from the `_csrf` field,
/// and gives back the request with its body intact.
async fn csrf_from_request(req: Request) -> Result<(Option<String>, Request), Response> {
    if let Some(v) = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return Ok((Some(v.to_string()), req));
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    // File uploads (multipart) carry the token in the query string: reading the body here would
    // mean buffering the file twice.
    if content_type.starts_with("multipart/form-data") {
        let token = req.uri().query().and_then(|q| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .ok()
                .and_then(|fields| fields.into_iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v))
        });
        return Ok((token, req));
    }
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    if !is_form {
        return Ok((None, req));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
        PageError::new(StatusCode::PAYLOAD_TOO_LARGE, "Form too large", "The form sent more data than we accept.")
            .into_response()
    })?;
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|fields| fields.into_iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v));
    Ok((token, Request::from_parts(parts, Body::from(bytes))))
}

/// A signed-in office user (admin, dispatcher or operator). Others are sent to sign in, or
/// shown a "not allowed" page.
pub struct Staff(pub SessionUser);

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        let viewer = parts.extensions.get::<Viewer>().and_then(|v| v.0.clone());
        match viewer {
            None => {
                let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/jobs");
                let next = if parts.method == Method::GET { path } else { "/jobs" };
                let target = format!("/login?next={}", urlencode(next));
                Err(Redirect::to(&target).into_response())
            }
            // A desk client's sign-in has its own page of messages.
            Some(s) if s.user.role == Role::Client => {
                if parts.method == Method::GET {
                    Err(Redirect::to("/client").into_response())
                } else {
                    Err(PageError::forbidden().into_response())
                }
            }
            Some(s) if !s.user.role.can_use_console() => Err(PageError::new(
                StatusCode::FORBIDDEN,
                "Use your portal link",
                "Technician accounts use the portal link sent by text message, not the office console.",
            )
            .into_response()),
            Some(s) => Ok(Staff(s)),
        }
    }
}

/// A signed-in desk client (role `client`): sees only the messages of the clients they are a
/// desk contact of.
pub struct ClientUser(pub SessionUser);

impl FromRequestParts<AppState> for ClientUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Viewer>().and_then(|v| v.0.clone()) {
            None => Err(Redirect::to("/login?next=%2Fclient").into_response()),
            Some(s) if s.user.role == Role::Client => Ok(ClientUser(s)),
            // Office staff read every client's messages at the desk.
            Some(_) => Err(Redirect::to("/desk").into_response()),
        }
    }
}

/// A signed-in admin.
pub struct Admin(pub SessionUser);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Staff(s) = Staff::from_request_parts(parts, state).await?;
        if s.user.role.can_administer() { Ok(Admin(s)) } else { Err(PageError::forbidden().into_response()) }
    }
}

/// An API request authenticated with `Authorization: Bearer <api key>`.
pub struct ApiCaller {
    pub org: OrgId,
    pub key: ApiKeyId,
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(value) = header else {
            return Err(ApiError::unauthorized("missing API key: send it as \"Authorization: Bearer <key>\""));
        };
        let Some(key) = value.strip_prefix("Bearer ").map(str::trim).filter(|k| !k.is_empty()) else {
            return Err(ApiError::unauthorized("the Authorization header must be \"Bearer <key>\""));
        };
        match core_auth::api_key_org(&state.db, state.clock.as_ref(), key).await? {
            Some((org, key)) => Ok(ApiCaller { org, key }),
            None => Err(ApiError::unauthorized("this API key is not valid or has been revoked")),
        }
    }
}

/// How a signed-in user appears in a job's history: `user:NAME`.
pub fn actor(viewer: &SessionUser) -> String {
    format!("user:{}", viewer.user.name)
}

/// Percent-encodes a value for a query string.
pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).map(|q| q[2..].to_string()).unwrap_or_default()
}

/// Only same-site paths may be redirect targets after sign-in.
pub fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") { next } else { "/jobs" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next("/settings/users"), "/settings/users");
        assert_eq!(safe_next("//evil.example"), "/jobs");
        assert_eq!(safe_next("https://evil.example"), "/jobs");
        assert_eq!(safe_next("/\\evil.example"), "/jobs");
        assert_eq!(safe_next(""), "/jobs");
    }

    #[test]
    fn urlencoding() {
        assert_eq!(urlencode("/jobs?status=on_site"), "%2Fjobs%3Fstatus%3Don_site");
    }
}
