//! Public web-form endpoints: submissions (form-encoded from a plain HTML form, or JSON from
//! a script), the token an embedded form fetches, and the hosted form page per form.
//! These routes take no session and no CSRF token: they are protected by the form's signed
//! timestamp, honeypot, origin allow-list and rate limits instead.

use std::net::SocketAddr;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;
use switchboard_core::Error;
use switchboard_core::tenancy;
use switchboard_core::webforms::{self, HONEYPOT_FIELD, Submission, TOKEN_FIELD, WebForm};

use crate::state::AppState;

#[derive(Template)]
#[template(path = "forms/hosted.html")]
struct HostedForm<'a> {
    brand_name: &'a str,
    brand_color: &'a str,
    logo_url: &'a str,
    form_name: &'a str,
    action: String,
    token: String,
    honeypot: &'static str,
    message: Option<&'a str>,
    thanks: bool,
    /// What the visitor typed, shown again when the form is refused (nothing is lost).
    typed: Typed,
    /// Why each field was refused, shown beside it.
    errors: Vec<(String, String)>,
    /// The form's own fields, with what was typed and why it was refused.
    fields: Vec<FieldView>,
    /// Paused: a note instead of the form.
    paused: bool,
    /// The brand's number, for "call or text" on a paused form.
    brand_phone: String,
}

/// A custom field on the hosted page.
struct FieldView {
    key: String,
    label: String,
    kind: &'static str,
    required: bool,
    options: Vec<String>,
    help: String,
    value: String,
    error: Option<String>,
}

impl HostedForm<'_> {
    fn error(&self, field: &str) -> Option<&str> {
        crate::views::error_for(&self.errors, field)
    }

    /// The first field in error takes focus (and so comes into view on a phone), in the
    /// page's order: the built-in fields, the form's own, then the message.
    fn first_error(&self, field: &str) -> bool {
        let order = ["name", "phone", "email", "address"]
            .into_iter()
            .chain(self.fields.iter().map(|f| f.key.as_str()))
            .chain(["message"]);
        order.into_iter().find(|f| self.error(f).is_some()) == Some(field)
    }
}

/// The hosted form's fields as typed.
#[derive(Default)]
struct Typed {
    name: String,
    phone: String,
    email: String,
    address: String,
    message: String,
    /// Everything else posted, by name (the form's own fields).
    custom: Vec<(String, String)>,
}

impl Typed {
    fn of(s: &Submission) -> Typed {
        let get = |k: &str| s.fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone()).unwrap_or_default();
        Typed {
            name: get("name"),
            phone: get("phone"),
            email: get("email"),
            address: get("address"),
            message: get("message"),
            custom: s.fields.iter().filter(|(k, _)| !k.starts_with('_')).cloned().collect(),
        }
    }
}

/// The form page: fresh, thanked, or refused with `message` at the top, the `errors` beside
/// their fields and everything `typed` kept in place.
fn page(
    form: &WebForm,
    brand: &tenancy::Brand,
    token: String,
    message: Option<&str>,
    thanks: bool,
    typed: Typed,
    errors: Vec<(String, String)>,
) -> Html<String> {
    let fields = form
        .custom_fields
        .iter()
        .map(|f| FieldView {
            key: f.key.clone(),
            label: f.label.clone(),
            kind: f.kind.as_str(),
            required: f.required,
            options: f.options.clone(),
            help: f.help.clone().unwrap_or_default(),
            value: typed.custom.iter().find(|(k, _)| k == &f.key).map(|(_, v)| v.clone()).unwrap_or_default(),
            error: crate::views::error_for(&errors, &f.key).map(String::from),
        })
        .collect();
    let view = HostedForm {
        fields,
        paused: !form.active,
        brand_phone: brand.sms_number.as_ref().map(|p| p.display()).unwrap_or_default(),
        brand_name: &brand.name,
        brand_color: &brand.color,
        logo_url: brand.logo_url.as_deref().unwrap_or(""),
        form_name: &form.name,
        action: format!("/public/v1/forms/{}/submissions", form.form_key),
        token,
        honeypot: HONEYPOT_FIELD,
        message,
        thanks,
        typed,
        errors,
    };
    Html(view.render().unwrap_or_else(|_| "<h1>Form unavailable</h1>".into()))
}

fn cors(form: &WebForm, headers: &HeaderMap, resp: &mut Response) {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
        && form.allows_origin(origin)
        && let Ok(v) = HeaderValue::from_str(origin)
    {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Content-Type"));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
}

async fn live_form(state: &AppState, key: &str) -> Result<(WebForm, tenancy::Brand), Response> {
    let not_found = || {
        (StatusCode::NOT_FOUND, Html("<h1>This form does not exist or was turned off.</h1>".to_string()))
            .into_response()
    };
    match webforms::by_key(&state.db, key).await {
        Ok(Some(form)) => match tenancy::brand(&state.db, form.org_id, form.brand_id).await {
            Ok(brand) => Ok((form, brand)),
            Err(_) => Err(not_found()),
        },
        Ok(None) => Err(not_found()),
        Err(e) => {
            tracing::error!(error = %e, "loading a web form failed");
            Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

/// `GET /f/{key}`: the hosted form, with a fresh token.
pub async fn hosted(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    match live_form(&state, &key).await {
        // Embeddable in the brand's own site (an iframe), and free to redirect after sending.
        Ok((form, brand)) => (
            if form.active { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE },
            [(header::CONTENT_SECURITY_POLICY, HOSTED_CSP)],
            page(&form, &brand, form.token(state.clock.now()), None, false, Typed::default(), Vec::new()),
        )
            .into_response(),
        Err(resp) => resp,
    }
}

const HOSTED_CSP: &str = "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors *";

/// `GET /f/{key}/thanks`
pub async fn thanks(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    match live_form(&state, &key).await {
        Ok((form, brand)) => {
            page(&form, &brand, String::new(), None, true, Typed::default(), Vec::new()).into_response()
        }
        Err(resp) => resp,
    }
}

/// `GET /public/v1/forms/{key}/token`: for forms embedded in another site.
pub async fn token(State(state): State<AppState>, Path(key): Path<String>, headers: HeaderMap) -> Response {
    match live_form(&state, &key).await {
        Ok((form, _)) if !form.active => {
            let mut resp = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(paused_error())).into_response();
            cors(&form, &headers, &mut resp);
            resp
        }
        Ok((form, _)) => {
            let mut resp = (
                [(header::CACHE_CONTROL, "no-store")],
                axum::Json(json!({ "token": form.token(state.clock.now()), "field": TOKEN_FIELD })),
            )
                .into_response();
            cors(&form, &headers, &mut resp);
            resp
        }
        Err(resp) => resp,
    }
}

/// `OPTIONS /public/v1/forms/{key}/submissions`: CORS preflight.
pub async fn preflight(State(state): State<AppState>, Path(key): Path<String>, headers: HeaderMap) -> Response {
    match live_form(&state, &key).await {
        Ok((form, _)) => {
            let mut resp = StatusCode::NO_CONTENT.into_response();
            cors(&form, &headers, &mut resp);
            resp
        }
        Err(resp) => resp,
    }
}

/// What a paused form answers scripts.
fn paused_error() -> serde_json::Value {
    json!({ "error": { "code": "form_paused", "message": "this form is not taking requests right now; nothing was sent" } })
}

enum Reply {
    Json,
    Html,
}

/// A refused submission: JSON for scripts; for the hosted page, the form again with what was
/// typed and the reasons (`errors` per field; `message` at the top).
#[allow(clippy::too_many_arguments)]
fn failure(
    reply: &Reply,
    form: &WebForm,
    brand: &tenancy::Brand,
    status: StatusCode,
    code: &str,
    message: &str,
    token: String,
    typed: &Submission,
    errors: &[(String, String)],
) -> Response {
    match reply {
        Reply::Json => (status, axum::Json(json!({ "error": { "code": code, "message": message } }))).into_response(),
        Reply::Html => {
            (status, page(form, brand, token, Some(message), false, Typed::of(typed), errors.to_vec())).into_response()
        }
    }
}

/// `POST /public/v1/forms/{key}/submissions`
pub async fn submit(
    State(state): State<AppState>,
    Path(key): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, brand) = match live_form(&state, &key).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let now = state.clock.now();
    if !form.active {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/json"));
        let mut resp = if is_json {
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(paused_error())).into_response()
        } else {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                page(&form, &brand, String::new(), None, false, Typed::default(), Vec::new()),
            )
                .into_response()
        };
        cors(&form, &headers, &mut resp);
        return resp;
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    let reply = if is_json { Reply::Json } else { Reply::Html };
    let fresh = || form.token(now);
    let respond = |resp: Response| {
        let mut resp = resp;
        cors(&form, &headers, &mut resp);
        resp
    };
    let fields: Vec<(String, String)> = if is_json {
        match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&body) {
            Ok(map) => map
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        match v {
                            serde_json::Value::String(s) => s,
                            serde_json::Value::Null => String::new(),
                            other => other.to_string(),
                        },
                    )
                })
                .collect(),
            Err(e) => {
                return respond(failure(
                    &reply,
                    &form,
                    &brand,
                    StatusCode::BAD_REQUEST,
                    "malformed_json",
                    &format!("the body is not a JSON object: {e}"),
                    fresh(),
                    &Submission { fields: Vec::new() },
                    &[],
                ));
            }
        }
    } else {
        match serde_urlencoded::from_bytes(&body) {
            Ok(f) => f,
            Err(_) => {
                return failure(
                    &reply,
                    &form,
                    &brand,
                    StatusCode::BAD_REQUEST,
                    "bad_form",
                    "the form could not be read",
                    fresh(),
                    &Submission { fields: Vec::new() },
                    &[],
                );
            }
        }
    };
    let submission = Submission { fields };
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
        && origin != "null"
        && !form.allows_origin(origin)
        && origin != state.config.public_url
    {
        return failure(
            &reply,
            &form,
            &brand,
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this form does not accept submissions from that website",
            fresh(),
            &submission,
            &[],
        );
    }
    let ip = crate::pages::client_ip(&state, peer, &headers);
    let limits = &state.form_limits;
    if limits.by_address.check(&format!("{ip}|{key}"), now).is_err() || limits.by_form.check(&key, now).is_err() {
        return respond(failure(
            &reply,
            &form,
            &brand,
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many submissions; please try again in a few minutes",
            fresh(),
            &submission,
            &[],
        ));
    }
    limits.by_address.record(&format!("{ip}|{key}"), now);
    limits.by_form.record(&key, now);
    let success = |lead: Option<i64>| match reply {
        Reply::Json => {
            (StatusCode::CREATED, axum::Json(json!({ "status": "received", "lead_id": lead }))).into_response()
        }
        Reply::Html => {
            Redirect::to(&form.redirect_url.clone().unwrap_or_else(|| format!("/f/{}/thanks", form.form_key)))
                .into_response()
        }
    };
    if submission.is_spam() {
        // Look like success so the bot learns nothing; store nothing.
        metrics::counter!("web_form_submissions_total", "outcome" => "honeypot").increment(1);
        return respond(success(None));
    }
    if let Err(m) = form.check_token(submission.get(TOKEN_FIELD), now) {
        metrics::counter!("web_form_submissions_total", "outcome" => "bad_token").increment(1);
        return respond(failure(
            &reply,
            &form,
            &brand,
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_expired",
            &m,
            fresh(),
            &submission,
            &[],
        ));
    }
    match webforms::submit(&state.db, state.clock.as_ref(), &form, &submission).await {
        Ok(lead) => {
            metrics::counter!("web_form_submissions_total", "outcome" => "lead").increment(1);
            respond(success(Some(lead.0)))
        }
        Err(Error::Invalid(fields)) => {
            let message = fields.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; ");
            let errors = crate::pages::pairs(fields);
            let top = match reply {
                Reply::Json => message,
                Reply::Html => "Please check the fields marked below; nothing you typed was lost.".to_string(),
            };
            respond(failure(
                &reply,
                &form,
                &brand,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                &top,
                fresh(),
                &submission,
                &errors,
            ))
        }
        Err(e) => {
            tracing::error!(error = %e, "storing a web form submission failed");
            respond(failure(
                &reply,
                &form,
                &brand,
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "something went wrong on our side; please try again",
                fresh(),
                &submission,
                &[],
            ))
        }
    }
}
