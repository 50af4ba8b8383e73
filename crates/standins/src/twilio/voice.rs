//! The stand-in's Programmable Voice: `Calls.json` (create, fetch, list) with Twilio's JSON
//! shapes, signed status callbacks in order (`initiated`, `ringing`, `in-progress`, then
//! `completed` or `no-answer`/`busy`/`failed`, each with its `SequenceNumber`), answering-machine
//! detection (`AnsweredBy`), and a TwiML interpreter (`<Say>`, `<Pause>`, `<Gather>`,
//! `<Redirect>`, `<Hangup>`) driving simulated phones: a person who presses keys, a voicemail
//! that keeps the message left, a phone that rings out, is busy, or fails. A phone with no
//! behaviour set rings until someone answers it on the phones page (or it rings out).

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{TwilioStandin, is_e164, lock, random_hex, rfc2822, twilio_error};

/// How a simulated phone answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pickup {
    /// A person answers and presses these keys, one at each prompt (`""`: says nothing at
    /// that prompt); with none left they listen without pressing anything.
    Person(Vec<String>),
    /// The voicemail answers; whatever is said is kept as the message left.
    Voicemail,
    /// Nobody answers before the ring timeout.
    RingOut,
    Busy,
    /// The carrier cannot connect the call.
    Fail,
    /// Rings until a person answers on the phones page ([`TwilioStandin::pick_up`]), or
    /// rings out.
    Ask,
}

/// One call as the stand-in keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct SimCall {
    pub sid: String,
    pub from: String,
    pub to: String,
    pub status: String,
    pub answered_by: Option<String>,
    /// What the callee heard, in order.
    pub heard: Vec<String>,
    /// Keys pressed, in order.
    pub pressed: Vec<String>,
    /// The message left on voicemail, when a machine answered and something was said.
    pub voicemail: Option<String>,
    #[serde(skip)]
    pub created: Timestamp,
    #[serde(skip)]
    url: String,
    #[serde(skip)]
    status_callback: Option<String>,
    #[serde(skip)]
    detect_machine: bool,
    #[serde(skip)]
    ring_seconds: u64,
}

impl SimCall {
    /// The `Url` the call was created with (where its script is fetched).
    pub fn url(&self) -> &str {
        &self.url
    }
}

#[derive(Default)]
pub(super) struct Voice {
    calls: Vec<SimCall>,
    pickups: HashMap<String, Pickup>,
    /// Decisions made on the phones page for calls waiting (`Ask`), by call sid.
    answers: HashMap<String, tokio::sync::mpsc::UnboundedSender<PageAction>>,
}

/// What a person does on the phones page for a ringing or live call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageAction {
    Answer,
    Decline,
    Key(String),
}

impl TwilioStandin {
    /// How calls to `number` are answered from now on.
    pub fn set_pickup(&self, number: &str, pickup: Pickup) {
        lock(&self.inner.voice).pickups.insert(number.to_string(), pickup);
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<SimCall> {
        lock(&self.inner.voice).calls.clone()
    }

    /// Calls placed to `number`, oldest first.
    pub fn calls_to(&self, number: &str) -> Vec<SimCall> {
        self.calls().into_iter().filter(|c| c.to == number).collect()
    }

    /// Answers, declines or presses a key on a call waiting for a person (`Pickup::Ask`).
    /// Returns whether the call was waiting.
    pub fn pick_up(&self, sid: &str, action: PageAction) -> bool {
        let voice = lock(&self.inner.voice);
        voice.answers.get(sid).is_some_and(|tx| tx.send(action).is_ok())
    }

    fn update_call(&self, sid: &str, f: impl FnOnce(&mut SimCall)) -> Option<SimCall> {
        let mut voice = lock(&self.inner.voice);
        let c = voice.calls.iter_mut().find(|c| c.sid == sid)?;
        f(c);
        let copy = c.clone();
        drop(voice);
        self.inner.changed.notify_waiters();
        Some(copy)
    }

    fn call_resource(&self, c: &SimCall) -> serde_json::Value {
        let sid = &self.inner.account_sid;
        json!({
            "account_sid": sid,
            "annotation": null,
            "answered_by": c.answered_by,
            "api_version": "2010-04-01",
            "caller_name": null,
            "date_created": rfc2822(c.created),
            "date_updated": rfc2822(Timestamp::now()),
            "direction": "outbound-api",
            "duration": null,
            "end_time": null,
            "forwarded_from": null,
            "from": c.from,
            "from_formatted": c.from,
            "group_sid": null,
            "parent_call_sid": null,
            "phone_number_sid": null,
            "price": null,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": c.sid,
            "start_time": null,
            "status": c.status,
            "subresource_uris": {
                "recordings": format!("/2010-04-01/Accounts/{sid}/Calls/{}/Recordings.json", c.sid),
            },
            "to": c.to,
            "to_formatted": c.to,
            "trunk_sid": null,
            "uri": format!("/2010-04-01/Accounts/{sid}/Calls/{}.json", c.sid),
        })
    }

    /// The parameters every voice request carries.
    fn call_params(&self, c: &SimCall) -> Vec<(String, String)> {
        vec![
            ("CallSid".into(), c.sid.clone()),
            ("AccountSid".into(), self.inner.account_sid.clone()),
            ("From".into(), c.from.clone()),
            ("To".into(), c.to.clone()),
            ("CallStatus".into(), c.status.clone()),
            ("ApiVersion".into(), "2010-04-01".into()),
            ("Direction".into(), "outbound-api".into()),
        ]
    }

    async fn status_callback(&self, sid: &str, status: &str, sequence: &mut u32, extra: &[(&str, String)]) {
        let Some(c) = self.update_call(sid, |c| c.status = status.to_string()) else { return };
        let Some(url) = c.status_callback.clone() else { return };
        let mut params = self.call_params(&c);
        params.push(("SequenceNumber".into(), sequence.to_string()));
        params.push(("CallbackSource".into(), "call-progress-events".into()));
        params.push(("Timestamp".into(), rfc2822(Timestamp::now())));
        for (k, v) in extra {
            params.push((k.to_string(), v.clone()));
        }
        *sequence += 1;
        if let Err(e) = self.deliver(&url, &params).await {
            tracing::warn!(error = %e, "stand-in call status callback failed");
        }
    }

    /// POSTs a voice request and returns the TwiML it answered with.
    async fn fetch_twiml(&self, url: &str, params: &[(String, String)]) -> Result<String, String> {
        let resp = self.post_signed(url, params).await?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!("voice request to {url} answered {status}: {body}"));
        }
        Ok(body)
    }

    /// The life of one call, from queued to its end.
    async fn run_call(&self, sid: String, mut page: tokio::sync::mpsc::UnboundedReceiver<PageAction>) {
        let Some(call) = self.calls().into_iter().find(|c| c.sid == sid) else { return };
        let pickup = lock(&self.inner.voice).pickups.get(&call.to).cloned().unwrap_or(Pickup::Ask);
        let mut seq = 0u32;
        let pause = *lock(&self.inner.callback_delay);
        tokio::time::sleep(pause).await;
        self.status_callback(&sid, "initiated", &mut seq, &[]).await;
        self.status_callback(&sid, "ringing", &mut seq, &[]).await;
        let (machine, mut keys, ask) = match pickup {
            Pickup::Person(keys) => (false, keys, false),
            Pickup::Voicemail => (true, Vec::new(), false),
            Pickup::Ask => {
                let ring = Duration::from_secs(call.ring_seconds.max(1));
                match tokio::time::timeout(ring, page.recv()).await {
                    Ok(Some(PageAction::Answer)) => (false, Vec::new(), true),
                    Ok(Some(PageAction::Decline)) => {
                        self.status_callback(&sid, "busy", &mut seq, &[]).await;
                        return;
                    }
                    _ => {
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
        keys.reverse();
        let answered_by = match (call.detect_machine, machine) {
            (false, _) => None,
            (true, true) => Some("machine_end_beep".to_string()),
            (true, false) => Some("human".to_string()),
        };
        let started = std::time::Instant::now();
        self.update_call(&sid, |c| c.answered_by = answered_by.clone());
        let extra: Vec<(&str, String)> = answered_by.iter().map(|a| ("AnsweredBy", a.clone())).collect();
        self.status_callback(&sid, "in-progress", &mut seq, &extra).await;
        // The script: fetched, then followed verb by verb; a Gather's action or a Redirect
        // replaces the rest of the document.
        let mut next: Option<(String, Vec<(String, String)>)> = Some((call.url.clone(), extra_params(&answered_by)));
        let mut documents = 0;
        while let Some((url, extra)) = next.take() {
            documents += 1;
            if documents > 20 {
                break;
            }
            let Some(c) = self.calls().into_iter().find(|c| c.sid == sid) else { return };
            let mut params = self.call_params(&c);
            params.extend(extra);
            let doc = match self.fetch_twiml(&url, &params).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "stand-in call script failed");
                    self.update_call(&sid, |c| c.heard.push("An application error has occurred. Goodbye.".into()));
                    break;
                }
            };
            for verb in parse_twiml(&doc) {
                match verb {
                    Twiml::Say(text) => self.hear(&sid, machine, text),
                    Twiml::Pause => {}
                    Twiml::Hangup => break,
                    Twiml::Redirect(url) => {
                        next = Some((url, Vec::new()));
                        break;
                    }
                    Twiml::Gather { action, timeout, prompt } => {
                        for p in prompt {
                            self.hear(&sid, machine, p);
                        }
                        if machine {
                            continue;
                        }
                        let key = if ask {
                            match tokio::time::timeout(Duration::from_secs(timeout.max(1)), page.recv()).await {
                                Ok(Some(PageAction::Key(k))) => Some(k),
                                _ => None,
                            }
                        } else {
                            keys.pop().filter(|k| !k.is_empty())
                        };
                        if let Some(k) = key {
                            self.update_call(&sid, |c| c.pressed.push(k.clone()));
                            next = Some((action, vec![("Digits".into(), k), ("FinishedOnKey".into(), String::new())]));
                            break;
                        }
                    }
                }
            }
        }
        let duration = started.elapsed().as_secs().max(1).to_string();
        self.status_callback(
            &sid,
            "completed",
            &mut seq,
            &[("CallDuration", duration.clone()), ("Duration", duration)],
        )
        .await;
    }

    fn hear(&self, sid: &str, machine: bool, text: String) {
        self.update_call(sid, |c| {
            if machine {
                let left = c.voicemail.get_or_insert_with(String::new);
                if !left.is_empty() {
                    left.push(' ');
                }
                left.push_str(&text);
            }
            c.heard.push(text);
        });
    }
}

impl TwilioStandin {
    /// Whether a person on the phones page can act on this call now (it rings for them, or
    /// they are on it).
    fn waiting_for_page(&self, sid: &str) -> bool {
        lock(&self.inner.voice).answers.contains_key(sid)
    }

    /// The calls card of a phone's page: each call with what was said, the keys pressed and the
    /// message left; Answer and Decline while one rings, a keypad while one is live.
    pub(super) fn calls_html(&self, number: &str) -> String {
        let calls = self.calls_to(number);
        if calls.is_empty() {
            return String::new();
        }
        let esc = super::esc;
        let n = esc(number);
        let mut html = String::from("<h2>Calls</h2>");
        let mut live = false;
        for c in calls.iter().rev() {
            let answered = match c.answered_by.as_deref() {
                Some("human") => " · answered",
                Some(a) if a.starts_with("machine") => " · voicemail",
                _ => "",
            };
            html.push_str(&format!(
                "<div class=card><div class=row><strong>From {}</strong><span class=muted>{}{answered}</span></div>",
                esc(&c.from),
                esc(&c.status)
            ));
            for line in &c.heard {
                html.push_str(&format!("<div class='bubble in'>{}</div>", esc(line)));
            }
            if let Some(left) = &c.voicemail {
                html.push_str(&format!("<div class=muted>Message left on voicemail: {}</div>", esc(left)));
            }
            if !c.pressed.is_empty() {
                html.push_str(&format!("<div class=muted>Keys pressed: {}</div>", esc(&c.pressed.join(" "))));
            }
            if self.waiting_for_page(&c.sid) && !matches!(c.status.as_str(), "completed" | "queued") {
                live = true;
                let action = format!("/phones/{n}/calls/{}", esc(&c.sid));
                let button = |name: &str, label: &str| format!("<button name=action value='{name}'>{label}</button>");
                html.push_str(&format!("<form method=post action='{action}' class=row>"));
                if c.status == "ringing" || c.status == "initiated" {
                    html.push_str(&button("answer", "Answer"));
                    html.push_str(&button("decline", "Decline"));
                } else {
                    for k in ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"] {
                        html.push_str(&format!("<button name=key value='{k}'>{k}</button>"));
                    }
                }
                html.push_str("</form>");
            }
            html.push_str("</div>");
        }
        if live {
            // A live call changes by itself: look again shortly.
            html.push_str("<meta http-equiv=refresh content=2>");
        }
        html
    }
}

#[derive(Deserialize)]
pub(super) struct CallAction {
    #[serde(default)]
    action: String,
    #[serde(default)]
    key: String,
}

/// `POST /phones/{number}/calls/{sid}`: answer, decline, or press a key on the phones page.
pub(super) async fn call_action(
    State(s): State<TwilioStandin>,
    Path((number, sid)): Path<(String, String)>,
    Form(form): Form<CallAction>,
) -> Response {
    let action = match (form.action.as_str(), form.key.as_str()) {
        ("answer", _) => PageAction::Answer,
        ("decline", _) => PageAction::Decline,
        (_, k) if !k.is_empty() => PageAction::Key(k.chars().take(1).collect()),
        _ => return (StatusCode::BAD_REQUEST, "answer, decline or a key").into_response(),
    };
    s.pick_up(&sid, action);
    // Give the call a moment to move on before the page is shown again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    axum::response::Redirect::to(&format!("/phones/{}", number.replace('+', "%2B"))).into_response()
}

fn extra_params(answered_by: &Option<String>) -> Vec<(String, String)> {
    answered_by.iter().map(|a| ("AnsweredBy".to_string(), a.clone())).collect()
}

/// The TwiML verbs the stand-in follows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Twiml {
    Say(String),
    Pause,
    Gather { action: String, timeout: u64, prompt: Vec<String> },
    Redirect(String),
    Hangup,
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// Reads the TwiML subset our scripts use: `<Say>`, `<Pause/>`, `<Gather>` holding `<Say>`s,
/// `<Redirect>`, `<Hangup/>`, inside `<Response>`. Anything else is skipped.
fn parse_twiml(doc: &str) -> Vec<Twiml> {
    let mut out = Vec::new();
    let mut rest = doc;
    let mut gather: Option<(String, u64, Vec<String>)> = None;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else { break };
        let tag = &rest[open..open + close + 1];
        let after = &rest[open + close + 1..];
        let closing = tag.starts_with("</");
        let name: String =
            tag[if closing { 2 } else { 1 }..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        let name = if closing { format!("/{name}") } else { name };
        let text_until = |end: &str| -> (String, &str) {
            match after.find(end) {
                Some(i) => (unescape(&after[..i]), &after[i + end.len()..]),
                None => (String::new(), ""),
            }
        };
        match name.as_str() {
            "Say" => {
                let (text, next) = text_until("</Say>");
                match &mut gather {
                    Some((_, _, prompt)) => prompt.push(text),
                    None => out.push(Twiml::Say(text)),
                }
                rest = next;
                continue;
            }
            "Redirect" => {
                let (url, next) = text_until("</Redirect>");
                out.push(Twiml::Redirect(url.trim().to_string()));
                rest = next;
                continue;
            }
            "Gather" => {
                let action = attribute(tag, "action").unwrap_or_default();
                let timeout = attribute(tag, "timeout").and_then(|t| t.parse().ok()).unwrap_or(5);
                if tag.ends_with("/>") {
                    out.push(Twiml::Gather { action, timeout, prompt: Vec::new() });
                } else {
                    gather = Some((action, timeout, Vec::new()));
                }
            }
            "/Gather" => {
                if let Some((action, timeout, prompt)) = gather.take() {
                    out.push(Twiml::Gather { action, timeout, prompt });
                }
            }
            "Pause" => out.push(Twiml::Pause),
            "Hangup" => out.push(Twiml::Hangup),
            _ => {}
        }
        rest = after;
    }
    out
}

#[derive(Deserialize)]
pub(super) struct CallForm {
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
pub(super) async fn create_call(
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
        Some(super::Failure::ServerError) => {
            return twilio_error(StatusCode::INTERNAL_SERVER_ERROR, 20500, "Internal Server Error");
        }
        Some(super::Failure::Reject { code, message }) => {
            return twilio_error(StatusCode::BAD_REQUEST, code, &message);
        }
        _ => {}
    }
    let call = SimCall {
        sid: format!("CA{}", random_hex(32)),
        from,
        to,
        status: "queued".into(),
        answered_by: None,
        heard: Vec::new(),
        pressed: Vec::new(),
        voicemail: None,
        created: Timestamp::now(),
        url,
        status_callback: form.status_callback.filter(|u| !u.is_empty()),
        detect_machine: form.machine_detection.is_some_and(|m| m == "Enable" || m == "DetectMessageEnd"),
        ring_seconds: form.timeout.unwrap_or(60).clamp(1, 600),
    };
    let resource = s.call_resource(&call);
    let sid = call.sid.clone();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    {
        let mut voice = lock(&s.inner.voice);
        voice.calls.push(call);
        voice.answers.insert(sid.clone(), tx);
    }
    s.inner.changed.notify_waiters();
    *lock(&s.inner.pending_callbacks) += 1;
    let me = s.clone();
    tokio::spawn(async move {
        me.run_call(sid.clone(), rx).await;
        lock(&me.inner.voice).answers.remove(&sid);
        let mut pending = lock(&me.inner.pending_callbacks);
        *pending -= 1;
        if *pending == 0 {
            me.inner.settled.notify_waiters();
        }
    });
    s.answer_after_latency().await;
    (StatusCode::CREATED, axum::Json(resource)).into_response()
}

/// `GET Calls/{sid}.json`.
pub(super) async fn fetch_call(
    State(s): State<TwilioStandin>,
    Path((account, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !s.authorized(&headers, &account) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let sid = sid.trim_end_matches(".json");
    match s.calls().into_iter().find(|c| c.sid == sid) {
        Some(c) => axum::Json(s.call_resource(&c)).into_response(),
        None => twilio_error(StatusCode::NOT_FOUND, 20404, &format!("The requested resource {sid} was not found")),
    }
}

/// `GET Calls.json`: newest first, filtered by `To`.
pub(super) async fn list_calls(
    State(s): State<TwilioStandin>,
    Path(account): Path<String>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if !s.authorized(&headers, &account) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let calls: Vec<serde_json::Value> =
        s.calls().iter().rev().filter(|c| q.get("To").is_none_or(|t| &c.to == t)).map(|c| s.call_resource(c)).collect();
    let uri = format!("/2010-04-01/Accounts/{account}/Calls.json");
    axum::Json(json!({
        "calls": calls,
        "end": calls.len().saturating_sub(1),
        "first_page_uri": format!("{uri}?PageSize=50&Page=0"),
        "next_page_uri": null,
        "page": 0,
        "page_size": 50,
        "previous_page_uri": null,
        "start": 0,
        "uri": uri,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interpreter_reads_our_scripts() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>\
             <Gather input=\"dtmf\" numDigits=\"1\" timeout=\"8\" action=\"https://a/k?call=7&amp;x=1\" method=\"POST\">\
             <Say voice=\"Polly.Joanna\">Smith &amp; Sons</Say><Say>Press 1</Say></Gather>\
             <Pause length=\"1\"/><Redirect method=\"POST\">https://a/v?call=7&amp;again=1</Redirect><Hangup/></Response>";
        assert_eq!(
            parse_twiml(doc),
            [
                Twiml::Gather {
                    action: "https://a/k?call=7&x=1".into(),
                    timeout: 8,
                    prompt: vec!["Smith & Sons".into(), "Press 1".into()]
                },
                Twiml::Pause,
                Twiml::Redirect("https://a/v?call=7&again=1".into()),
                Twiml::Hangup,
            ]
        );
    }
}
