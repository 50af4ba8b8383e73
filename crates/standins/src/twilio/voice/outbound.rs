//! Calls the app places through the REST API: `POST Calls.json` (create), `GET Calls/{sid}.json`
//! (fetch), `GET Calls.json` (list), and the life of such a call: ringing, answered by the
//! phone's [`Pickup`] (with answering-machine detection), then its script.

use std::collections::HashMap;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::script::{Keys, Party, hung_up};
use super::{PageAction, Pickup, SimCall, list_page};
use crate::twilio::{Failure, TwilioStandin, is_e164, lock, twilio_error};

#[derive(Deserialize)]
struct CallForm {
    #[serde(rename = "To")]
    to: Option<String>,
    #[serde(rename = "From")]
    from: Option<String>,
    #[serde(rename = "Url")]
    url: Option<String>,
    #[serde(rename = "StatusCallback")]
    status_callback: Option<String>,
    #[serde(rename = "MachineDetection")]
    machine_detection: Option<String>,
    #[serde(rename = "Timeout")]
    timeout: Option<u64>,
}

/// `POST Calls.json`. `StatusCallbackEvent` may repeat, so the body is read as pairs.
pub(in crate::twilio) async fn create_call(
    State(s): State<TwilioStandin>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    if !s.authorized(&headers, &account) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let single: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "StatusCallbackEvent").cloned().collect();
    let Ok(form) = serde_urlencoded::from_str::<CallForm>(&serde_urlencoded::to_string(&single).unwrap_or_default())
    else {
        return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid parameters");
    };
    let to = form.to.unwrap_or_default();
    if to.is_empty() {
        return twilio_error(StatusCode::BAD_REQUEST, 21201, "No 'To' number is specified");
    }
    if !is_e164(&to) {
        return twilio_error(StatusCode::BAD_REQUEST, 21211, &format!("Invalid 'To' Phone Number: {to}"));
    }
    let Some(from) = form.from.filter(|f| !f.is_empty()) else {
        return twilio_error(StatusCode::BAD_REQUEST, 21213, "No 'From' number is specified");
    };
    let Some(url) = form.url.filter(|u| u.starts_with("http")) else {
        return twilio_error(StatusCode::BAD_REQUEST, 21205, "Url is not a valid URL");
    };
    let failure = lock(&s.inner.failures).pop_front();
    match failure {
        Some(Failure::ServerError) => {
            return twilio_error(StatusCode::INTERNAL_SERVER_ERROR, 20500, "Internal Server Error");
        }
        Some(Failure::Reject { code, message }) => {
            return twilio_error(StatusCode::BAD_REQUEST, code, &message);
        }
        _ => {}
    }
    let mut call = SimCall::new("outbound-api", from, to, url);
    call.status_callback = form.status_callback.filter(|u| !u.is_empty());
    call.detect_machine = form.machine_detection.is_some_and(|m| m == "Enable" || m == "DetectMessageEnd");
    call.ring_seconds = form.timeout.unwrap_or(60).clamp(1, 600);
    let resource = s.call_resource(&call);
    let sid = call.sid.clone();
    let page = s.add_call(call);
    let me = s.clone();
    s.spawn_call(sid.clone(), async move { me.run_call(sid, page).await });
    s.answer_after_latency().await;
    (StatusCode::CREATED, axum::Json(resource)).into_response()
}

/// `GET Calls/{sid}.json`.
pub(in crate::twilio) async fn fetch_call(
    State(s): State<TwilioStandin>,
    Path((account, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !s.authorized(&headers, &account) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let sid = sid.trim_end_matches(".json");
    match s.call(sid) {
        Some(c) => axum::Json(s.call_resource(&c)).into_response(),
        None => twilio_error(StatusCode::NOT_FOUND, 20404, &format!("The requested resource {sid} was not found")),
    }
}

/// `GET Calls.json`: newest first, filtered by `To`, `From` and `ParentCallSid`.
pub(in crate::twilio) async fn list_calls(
    State(s): State<TwilioStandin>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !s.authorized(&headers, &account) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let calls: Vec<serde_json::Value> = s
        .calls()
        .iter()
        .rev()
        .filter(|c| q.get("To").is_none_or(|t| &c.to == t))
        .filter(|c| q.get("From").is_none_or(|f| &c.from == f))
        .filter(|c| q.get("ParentCallSid").is_none_or(|p| c.parent_call_sid.as_ref() == Some(p)))
        .map(|c| s.call_resource(c))
        .collect();
    list_page("calls", format!("/2010-04-01/Accounts/{account}/Calls.json"), calls)
}

impl TwilioStandin {
    /// The life of one call placed through the API, from queued to its end.
    async fn run_call(&self, sid: String, mut page: tokio::sync::mpsc::UnboundedReceiver<PageAction>) {
        let Some(call) = self.call(&sid) else { return };
        let pickup = lock(&self.inner.voice).pickups.get(&call.to).cloned().unwrap_or(Pickup::Ask);
        let mut seq = 0u32;
        let pause = *lock(&self.inner.callback_delay);
        tokio::time::sleep(pause).await;
        self.status_callback(&sid, "initiated", &mut seq, &[]).await;
        self.status_callback(&sid, "ringing", &mut seq, &[]).await;
        let (machine, keys) = match pickup {
            Pickup::Person(keys) => (false, Some(keys)),
            Pickup::Voicemail => (true, Some(Vec::new())),
            Pickup::Ask => {
                let deadline = tokio::time::Instant::now() + self.seconds(call.ring_seconds.max(1));
                // Hanging up a ringing phone declines the call; keys pressed before answering do
                // nothing.
                let declined = hung_up(None, self.hangup_line(&sid));
                tokio::pin!(declined);
                let action = loop {
                    tokio::select! {
                        () = &mut declined => break Some(PageAction::Hangup),
                        () = tokio::time::sleep_until(deadline) => break None,
                        action = page.recv() => match action {
                            Some(PageAction::Key(_)) => {}
                            action => break action,
                        },
                    }
                };
                match action {
                    Some(PageAction::Answer) => (false, None),
                    Some(PageAction::Decline | PageAction::Hangup) => {
                        self.status_callback(&sid, "busy", &mut seq, &[]).await;
                        return;
                    }
                    Some(PageAction::Key(_)) | None => {
                        self.status_callback(&sid, "no-answer", &mut seq, &[]).await;
                        return;
                    }
                }
            }
            Pickup::RingOut => {
                self.status_callback(&sid, "no-answer", &mut seq, &[]).await;
                return;
            }
            Pickup::Busy => {
                self.status_callback(&sid, "busy", &mut seq, &[]).await;
                return;
            }
            Pickup::Fail => {
                self.status_callback(&sid, "failed", &mut seq, &[("SipResponseCode", "500".into())]).await;
                return;
            }
        };
        let answered_by = match (call.detect_machine, machine) {
            (false, _) => None,
            (true, true) => Some("machine_end_beep".to_string()),
            (true, false) => Some("human".to_string()),
        };
        let started = std::time::Instant::now();
        self.update_call(&sid, |c| c.answered_by = answered_by.clone());
        let extra: Vec<(&str, String)> = answered_by.iter().map(|a| ("AnsweredBy", a.clone())).collect();
        self.status_callback(&sid, "in-progress", &mut seq, &extra).await;
        // A scripted person's keys come from the pickup; a person answering on the page presses
        // keys there (the page's line stays open either way, as it always has).
        let (keys, _page) = match keys {
            Some(keys) => (Keys::scripted(keys, false), Some(page)),
            None => (Keys::Page(page), None),
        };
        let mut party = Party { machine, keys, says: None, hangs_up_at: None, hangup: self.hangup_line(&sid) };
        let first: Vec<(String, String)> = extra.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        self.follow(&sid, &mut party, call.url.clone(), first, false).await;
        let duration = started.elapsed().as_secs().max(1).to_string();
        self.status_callback(
            &sid,
            "completed",
            &mut seq,
            &[("CallDuration", duration.clone()), ("Duration", duration)],
        )
        .await;
    }
}
