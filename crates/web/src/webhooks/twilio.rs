//! Provider webhooks. Each request is authenticated at the edge (the provider's signature)
//! before anything is parsed into domain types; a bad signature gets 403 and changes nothing.
//! Inbound messages are committed before we answer, so an acknowledged message is never lost.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use switchboard_core::escalation::calls;
use switchboard_core::inbound::{RawText, Stored};
use switchboard_core::messaging::{self, MessageId, StatusUpdate};
use switchboard_core::providers::twilio_signature;
use switchboard_core::providers::voice::{self, Verb};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/twilio/sms", post(twilio_inbound_sms))
        .route("/webhooks/twilio/sms-status", post(twilio_sms_status))
        .route("/webhooks/twilio/voice/escalation", post(escalation_call_script))
        .route("/webhooks/twilio/voice/escalation/key", post(escalation_call_key))
        .route("/webhooks/twilio/voice/escalation/status", post(escalation_call_status))
        .merge(super::voice::routes())
        .route("/webhooks/postmark/inbound", post(crate::webhooks::mail::postmark_inbound))
        .route("/webhooks/stripe", post(crate::webhooks::stripe::events))
}

/// The empty TwiML answer: "received, nothing to say".
const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

pub(super) fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

/// A refusal: the status and a short plain-text reason.
pub(super) type Refusal = (StatusCode, &'static str);

/// Checks `X-Twilio-Signature` over our public URL of this request and its form parameters.
pub(super) fn verified_twilio_params(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    body: &Bytes,
) -> Result<Vec<(String, String)>, Refusal> {
    let Some(signature) = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok()) else {
        metrics::counter!("webhook_rejected_total", "provider" => "twilio", "reason" => "unsigned").increment(1);
        return Err((StatusCode::FORBIDDEN, "missing X-Twilio-Signature"));
    };
    let params: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|_| (StatusCode::BAD_REQUEST, "the body is not form-encoded"))?;
    let Some(twilio) = state.config.twilio.as_ref() else {
        return Err((StatusCode::SERVICE_UNAVAILABLE, "no Twilio account configured"));
    };
    let url = format!("{}{}", state.config.public_url, uri.path_and_query().map(|p| p.as_str()).unwrap_or(uri.path()));
    let mut tokens = vec![twilio.auth_token.expose()];
    if let Some(previous) = &twilio.auth_token_previous {
        tokens.push(previous.expose());
    }
    if !twilio_signature::verify(&tokens, &url, &params, signature) {
        metrics::counter!("webhook_rejected_total", "provider" => "twilio", "reason" => "bad_signature").increment(1);
        tracing::warn!(url = %url, "Twilio webhook with a wrong signature refused");
        return Err((StatusCode::FORBIDDEN, "invalid X-Twilio-Signature"));
    }
    Ok(params)
}

pub(super) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn twilio_inbound_sms(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let params = match verified_twilio_params(&state, &headers, &uri, &body) {
        Ok(p) => p,
        Err((status, reason)) => return plain(status, reason),
    };
    let (Some(sid), Some(from), Some(to)) =
        (param(&params, "MessageSid"), param(&params, "From"), param(&params, "To"))
    else {
        return plain(StatusCode::BAD_REQUEST, "MessageSid, From and To are required");
    };
    let text = RawText {
        provider: "twilio",
        provider_id: sid.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        body: param(&params, "Body").unwrap_or_default().to_string(),
    };
    // Stored as it arrived, then acknowledged; the engine's router decides what it is.
    match state.ingest.receive(text).await {
        Ok(stored) => {
            let label = match stored {
                Stored::New => "stored",
                Stored::Duplicate => "duplicate",
            };
            metrics::counter!("webhook_inbound_sms_total", "outcome" => label).increment(1);
            ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], EMPTY_TWIML).into_response()
        }
        Err(e) => {
            // Not acknowledged: the provider may retry or use its fallback URL.
            tracing::error!(error = %e, "storing an inbound text failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "could not store the message")
        }
    }
}

async fn twilio_sms_status(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let params = match verified_twilio_params(&state, &headers, &uri, &body) {
        Ok(p) => p,
        Err((status, reason)) => return plain(status, reason),
    };
    let (Some(sid), Some(status)) = (param(&params, "MessageSid"), param(&params, "MessageStatus")) else {
        return plain(StatusCode::BAD_REQUEST, "MessageSid and MessageStatus are required");
    };
    let message = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "m").and_then(|(_, v)| v.parse().ok()))
        .map(MessageId);
    // Signed as sent, stored without NUL (PostgreSQL refuses it in text).
    let text = |s: &str| s.replace('\0', "\u{FFFD}");
    let update = StatusUpdate {
        provider: "twilio",
        provider_id: text(sid),
        message,
        status: text(status),
        error_code: param(&params, "ErrorCode").filter(|c| !c.is_empty()).map(text),
        error_message: param(&params, "ErrorMessage").filter(|c| !c.is_empty()).map(text),
    };
    match messaging::apply_status(&state.db, state.clock.as_ref(), &update).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "recording a delivery status failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "could not record the status")
        }
    }
}

/// What a voice webhook carries, and which of our calls it is about (`?call=`).
fn heard(uri: &Uri, params: &[(String, String)]) -> Option<(i64, bool, calls::Heard)> {
    let query: Vec<(String, String)> = uri.query().and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
    let call = query.iter().find(|(k, _)| k == "call").and_then(|(_, v)| v.parse().ok())?;
    let again = query.iter().any(|(k, v)| k == "again" && v == "1");
    let text = |name: &str| param(params, name).unwrap_or_default().replace('\0', "\u{FFFD}");
    let heard = calls::Heard {
        call_sid: text("CallSid"),
        call_status: text("CallStatus"),
        answered_by: text("AnsweredBy"),
        digits: text("Digits"),
        sequence: param(params, "SequenceNumber").and_then(|n| n.parse().ok()),
        duration: param(params, "CallDuration").and_then(|n| n.parse().ok()),
    };
    Some((call, again, heard))
}

pub(super) fn twiml_response(script: &[Verb]) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], voice::twiml(script)).into_response()
}

/// A script request we cannot serve: a short apology rather than the provider's "application
/// error" (an unknown call), or a 500 so the provider tries its fallback (our failure).
fn script_failed(e: switchboard_core::Error) -> Response {
    match e {
        switchboard_core::Error::NotFound => {
            twiml_response(&[Verb::Say("Sorry, this call is not one we placed. Goodbye.".into()), Verb::Hangup])
        }
        e => {
            tracing::error!(error = %e, "answering an escalation call failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "could not build the call's script")
        }
    }
}

/// `POST /webhooks/twilio/voice/escalation?call=ID`: the call was answered; its script.
async fn escalation_call_script(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let params = match verified_twilio_params(&state, &headers, &uri, &body) {
        Ok(p) => p,
        Err((status, reason)) => return plain(status, reason),
    };
    let Some((call, again, heard)) = heard(&uri, &params) else {
        return plain(StatusCode::BAD_REQUEST, "which call (?call=) is missing");
    };
    match calls::answer(&state.db, state.clock.as_ref(), &state.config.public_url, call, &heard, again).await {
        Ok(script) => twiml_response(&script),
        Err(e) => script_failed(e),
    }
}

/// `POST /webhooks/twilio/voice/escalation/key?call=ID`: the key pressed.
async fn escalation_call_key(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let params = match verified_twilio_params(&state, &headers, &uri, &body) {
        Ok(p) => p,
        Err((status, reason)) => return plain(status, reason),
    };
    let Some((call, _, heard)) = heard(&uri, &params) else {
        return plain(StatusCode::BAD_REQUEST, "which call (?call=) is missing");
    };
    match calls::key(&state.db, state.clock.as_ref(), &state.config.public_url, call, &heard).await {
        Ok(script) => twiml_response(&script),
        Err(e) => script_failed(e),
    }
}

/// `POST /webhooks/twilio/voice/escalation/status?call=ID`: ringing, answered, completed, ...
async fn escalation_call_status(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let params = match verified_twilio_params(&state, &headers, &uri, &body) {
        Ok(p) => p,
        Err((status, reason)) => return plain(status, reason),
    };
    let Some((call, _, heard)) = heard(&uri, &params) else {
        return plain(StatusCode::BAD_REQUEST, "which call (?call=) is missing");
    };
    match calls::status(&state.db, state.clock.as_ref(), call, &heard).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(switchboard_core::Error::NotFound) => plain(StatusCode::NOT_FOUND, "no such call"),
        Err(e) => {
            tracing::error!(error = %e, "recording a call status failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "could not record the status")
        }
    }
}
