//! Twilio's voice webhooks for calls to a brand's number (`switchboard_core::calls`): the call
//! coming in, each step of the hunt, the whisper and its key, voicemail, recordings,
//! transcripts and the call's end. Every request's signature is checked first; a bad one gets
//! 403 and changes nothing.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use switchboard_core::calls::{inbound, outbound, patch};
use switchboard_core::providers::voice::Verb;

use super::twilio::{Refusal, param, plain, twiml_response, verified_twilio_params};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/twilio/voice", post(incoming))
        .route("/webhooks/twilio/voice/status", post(status))
        .route("/webhooks/twilio/voice/dialed", post(dialed))
        .route("/webhooks/twilio/voice/whisper", post(whisper))
        .route("/webhooks/twilio/voice/whisper/key", post(whisper_key))
        .route("/webhooks/twilio/voice/voicemail", post(voicemail))
        .route("/webhooks/twilio/voice/recording", post(recording))
        .route("/webhooks/twilio/voice/transcript", post(transcript))
        .route("/webhooks/twilio/voice/connect", post(connect))
        .route("/webhooks/twilio/voice/patched", post(patched))
        .route("/webhooks/twilio/voice/patch", post(patch_announce))
        .route("/webhooks/twilio/voice/patch/key", post(patch_key))
        .route("/webhooks/twilio/voice/patch/status", post(patch_status))
        .route("/webhooks/twilio/voice/connected", post(connected))
}

/// A verified request: its form parameters and our query (`call`, `step`, `leg`, `kind`).
struct Request {
    params: Vec<(String, String)>,
    query: Vec<(String, String)>,
}

impl Request {
    fn read(state: &AppState, headers: &HeaderMap, uri: &Uri, body: &Bytes) -> Result<Request, Refusal> {
        let params = verified_twilio_params(state, headers, uri, body)?;
        let query = uri.query().and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
        Ok(Request { params, query })
    }
    /// A form parameter, NUL-free (PostgreSQL refuses NUL in text).
    fn param(&self, name: &str) -> String {
        param(&self.params, name).unwrap_or_default().replace('\0', "\u{FFFD}")
    }
    fn number(&self, name: &str) -> Option<i64> {
        param(&self.params, name).and_then(|v| v.trim().parse().ok())
    }
    fn query<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.query.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.parse().ok())
    }
    fn call(&self) -> Result<i64, Refusal> {
        self.query("call").ok_or((StatusCode::BAD_REQUEST, "which call (?call=) is missing"))
    }
}

/// A script we could not build: a call we do not know hears an apology; our own failure is a
/// 500, so the provider tries the number's fallback URL.
fn script_failed(e: switchboard_core::Error) -> Response {
    match e {
        switchboard_core::Error::NotFound => {
            twiml_response(&[Verb::Say("Sorry, we cannot find this call. Goodbye.".into()), Verb::Hangup])
        }
        e => {
            tracing::error!(error = %e, "answering a call webhook failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "could not build the call's script")
        }
    }
}

fn recorded(r: switchboard_core::Result<()>) -> Response {
    match r {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(switchboard_core::Error::NotFound) => plain(StatusCode::NOT_FOUND, "no such call"),
        Err(e) => {
            tracing::error!(error = %e, "recording a call event failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "could not record it")
        }
    }
}

/// `POST /webhooks/twilio/voice`: the number's Voice URL; a call is coming in.
async fn incoming(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let r = match Request::read(&state, &headers, &uri, &body) {
        Ok(r) => r,
        Err((status, reason)) => return plain(status, reason),
    };
    let (sid, from, to) = (r.param("CallSid"), r.param("From"), r.param("To"));
    if sid.is_empty() || to.is_empty() {
        return plain(StatusCode::BAD_REQUEST, "CallSid and To are required");
    }
    metrics::counter!("webhook_inbound_call_total").increment(1);
    match inbound::incoming(&state.db, state.clock.as_ref(), &state.config.public_url, &sid, &from, &to).await {
        Ok(script) => twiml_response(&script),
        Err(e) => script_failed(e),
    }
}

/// `POST /webhooks/twilio/voice/status`: the number's status callback (the call ended).
async fn status(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let r = match Request::read(&state, &headers, &uri, &body) {
        Ok(r) => r,
        Err((status, reason)) => return plain(status, reason),
    };
    let (sid, call_status) = (r.param("CallSid"), r.param("CallStatus"));
    if sid.is_empty() || call_status.is_empty() {
        return plain(StatusCode::BAD_REQUEST, "CallSid and CallStatus are required");
    }
    recorded(inbound::status(&state.db, state.clock.as_ref(), &sid, &call_status, r.number("CallDuration")).await)
}

/// `POST /webhooks/twilio/voice/dialed?call=&step=`: a step's `<Dial>` ended.
async fn dialed(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let r = match Request::read(&state, &headers, &uri, &body) {
        Ok(r) => r,
        Err((status, reason)) => return plain(status, reason),
    };
    let (call, step) = match (r.call(), r.query::<usize>("step")) {
        (Ok(c), Some(s)) => (c, s),
        (Err((status, reason)), _) => return plain(status, reason),
        (_, None) => return plain(StatusCode::BAD_REQUEST, "which step (?step=) is missing"),
    };
    let bridged = r.param("DialBridged") == "true";
    let script = inbound::dialed(
        &state.db,
        state.clock.as_ref(),
        &state.config.public_url,
        call,
        step,
        &r.param("DialCallStatus"),
        bridged,
    )
    .await;
    match script {
        Ok(script) => twiml_response(&script),
        Err(e) => script_failed(e),
    }
}

fn step_leg(r: &Request) -> Result<(i64, usize, usize), Refusal> {
    let call = r.call()?;
    match (r.query("step"), r.query("leg")) {
        (Some(step), Some(leg)) => Ok((call, step, leg)),
        _ => Err((StatusCode::BAD_REQUEST, "which step and leg (?step=&leg=) are missing")),
    }
}

/// `POST /webhooks/twilio/voice/whisper?call=&step=&leg=`: someone picked up a cell.
async fn whisper(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let r = match Request::read(&state, &headers, &uri, &body) {
        Ok(r) => r,
        Err((status, reason)) => return plain(status, reason),
    };
    let (call, step, leg) = match step_leg(&r) {
        Ok(x) => x,
        Err((status, reason)) => return plain(status, reason),
    };
    match inbound::whisper(&state.db, &state.config.public_url, call, step, leg).await {
        Ok(script) => twiml_response(&script),
        Err(e) => script_failed(e),
    }
}

/// `POST /webhooks/twilio/voice/whisper/key?call=&step=&leg=`: the key they pressed.
async fn whisper_key(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let r = match Request::read(&state, &headers, &uri, &body) {
        Ok(r) => r,
        Err((status, reason)) => return plain(status, reason),
    };
    let (call, step, leg) = match step_leg(&r) {
        Ok(x) => x,
        Err((status, reason)) => return plain(status, reason),
    };
    match inbound::whisper_key(&state.db, state.clock.as_ref(), call, step, leg, &r.param("Digits")).await {
        Ok(script) => twiml_response(&script),
        Err(e) => script_failed(e),
    }
}

/// `POST /webhooks/twilio/voice/voicemail?call=`: the caller's message ended.
async fn voicemail(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let (r, call) = match Request::read(&state, &headers, &uri, &body).and_then(|r| r.call().map(|c| (r, c))) {
        Ok(x) => x,
        Err((status, reason)) => return plain(status, reason),
    };
    let url = r.param("RecordingUrl");
    let duration = r.number("RecordingDuration").unwrap_or(0);
    match inbound::voicemail(&state.db, state.clock.as_ref(), call, Some(url.as_str()), duration).await {
        Ok(script) => twiml_response(&script),
        Err(e) => script_failed(e),
    }
}

/// `POST /webhooks/twilio/voice/recording?call=&kind=`: a recording is ready at the provider.
async fn recording(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let (r, call) = match Request::read(&state, &headers, &uri, &body).and_then(|r| r.call().map(|c| (r, c))) {
        Ok(x) => x,
        Err((status, reason)) => return plain(status, reason),
    };
    let kind: String = r.query("kind").unwrap_or_else(|| "call".to_string());
    let (sid, url, status) = (r.param("RecordingSid"), r.param("RecordingUrl"), r.param("RecordingStatus"));
    let reported = inbound::Reported {
        call,
        kind: &kind,
        sid: &sid,
        url: &url,
        status: &status,
        duration: r.number("RecordingDuration").unwrap_or(0),
        channels: r.number("RecordingChannels").unwrap_or(1),
    };
    recorded(inbound::recording(&state.db, state.clock.as_ref(), &reported).await)
}

/// `POST /webhooks/twilio/voice/transcript?call=`: the voicemail's transcript.
async fn transcript(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let (r, call) = match Request::read(&state, &headers, &uri, &body).and_then(|r| r.call().map(|c| (r, c))) {
        Ok(x) => x,
        Err((status, reason)) => return plain(status, reason),
    };
    recorded(inbound::transcript(&state.db, call, &r.param("TranscriptionStatus"), &r.param("TranscriptionText")).await)
}

/// `POST /webhooks/twilio/voice/connect?call=`: the person answered their cell for a call
/// they started from the console.
async fn connect(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let call = match Request::read(&state, &headers, &uri, &body).and_then(|r| r.call()) {
        Ok(c) => c,
        Err((status, reason)) => return plain(status, reason),
    };
    match outbound::connect(&state.db, &state.config.public_url, call).await {
        Ok(script) => twiml_response(&script),
        Err(e) => script_failed(e),
    }
}

/// `POST /webhooks/twilio/voice/connected?call=`: the customer's leg of that call ended.
async fn connected(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let (r, call) = match Request::read(&state, &headers, &uri, &body).and_then(|r| r.call().map(|c| (r, c))) {
        Ok(x) => x,
        Err((status, reason)) => return plain(status, reason),
    };
    match outbound::connected(&state.db, state.clock.as_ref(), call, &r.param("DialCallStatus")).await {
        Ok(script) => twiml_response(&script),
        Err(e) => script_failed(e),
    }
}

/// A verified request about person `target` of a call's live patch.
fn patch_target(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    body: &Bytes,
) -> Result<(Request, i64, usize), Refusal> {
    let r = Request::read(state, headers, uri, body)?;
    let call = r.call()?;
    let target = r.query("target").ok_or((StatusCode::BAD_REQUEST, "which person (?target=) is missing"))?;
    Ok((r, call, target))
}

/// `POST /webhooks/twilio/voice/patched?call=`: the caller's holding room ended.
async fn patched(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let call = match Request::read(&state, &headers, &uri, &body).and_then(|r| r.call()) {
        Ok(c) => c,
        Err((status, reason)) => return plain(status, reason),
    };
    match patch::patched(&state.db, &state.config.public_url, call).await {
        Ok(script) => twiml_response(&script),
        Err(e) => script_failed(e),
    }
}

/// `POST /webhooks/twilio/voice/patch?call=&target=`: the person called picked up.
async fn patch_announce(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let (_, call, target) = match patch_target(&state, &headers, &uri, &body) {
        Ok(x) => x,
        Err((status, reason)) => return plain(status, reason),
    };
    match patch::announce(&state.db, &state.config.public_url, call, target).await {
        Ok(script) => twiml_response(&script),
        Err(e) => script_failed(e),
    }
}

/// `POST /webhooks/twilio/voice/patch/key?call=&target=`: 1 to be connected, 2 to pass.
async fn patch_key(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let (r, call, target) = match patch_target(&state, &headers, &uri, &body) {
        Ok(x) => x,
        Err((status, reason)) => return plain(status, reason),
    };
    let script =
        patch::key(&state.db, state.clock.as_ref(), &state.config.public_url, call, target, &r.param("Digits")).await;
    match script {
        Ok(script) => twiml_response(&script),
        Err(e) => script_failed(e),
    }
}

/// `POST /webhooks/twilio/voice/patch/status?call=&target=`: the call to that person moved on.
async fn patch_status(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let (r, call, target) = match patch_target(&state, &headers, &uri, &body) {
        Ok(x) => x,
        Err((status, reason)) => return plain(status, reason),
    };
    recorded(patch::ended(&state.db, state.clock.as_ref(), call, target, &r.param("CallStatus")).await)
}
