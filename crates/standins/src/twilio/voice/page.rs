//! Calls on the phones page: each phone's calls card (calls to it and calls it made, with what
//! was heard, keys pressed, who it was connected to, the conference it was in and what was
//! recorded), Answer/Decline and a keypad for calls waiting on a person, Hang up on a live call,
//! and a form to call a business number from the phone. The same actions for a browser
//! softphone's `<Client>` legs: `POST /clients/{identity}/calls/{sid}`.

use std::time::Duration;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::{Caller, PageAction, SimCall};
use crate::twilio::{TwilioStandin, esc, lock, page};

fn phone_url(number: &str) -> String {
    format!("/phones/{}", number.replace('+', "%2B"))
}

impl TwilioStandin {
    /// Whether a person on the phones page can act on this call now (it rings for them, they
    /// are on it, or it is in a conversation where keys can be pressed).
    fn waiting_for_page(&self, sid: &str) -> bool {
        let voice = lock(&self.inner.voice);
        voice.answers.contains_key(sid) || voice.talking.contains(sid)
    }

    /// Whether a person can hang up this call now.
    fn can_hang_up(&self, sid: &str) -> bool {
        lock(&self.inner.voice).hangups.get(sid).is_some_and(|line| !*line.borrow())
    }

    /// The calls card of a phone's page: calls to the phone and calls it made, newest first.
    pub(in crate::twilio) fn calls_html(&self, number: &str) -> String {
        let calls: Vec<SimCall> = self
            .calls()
            .into_iter()
            .filter(|c| if c.direction == "inbound" { c.from == number } else { c.to == number })
            .collect();
        if calls.is_empty() {
            return String::new();
        }
        let recordings = self.recordings();
        let conferences = self.conferences();
        let n = esc(number);
        let mut html = String::from("<h2>Calls</h2>");
        let mut live = false;
        for c in calls.iter().rev() {
            let answered = match c.answered_by.as_deref() {
                Some("human") => " · answered",
                Some(a) if a.starts_with("machine") => " · voicemail",
                _ => "",
            };
            let (title, direction) = if c.direction == "inbound" {
                (format!("To {}", esc(&c.to)), "inbound")
            } else {
                (format!("From {}", esc(&c.from)), c.direction)
            };
            html.push_str(&format!(
                "<div class=card><div class=row><strong>{title}</strong><span class=muted>{direction} · {}{answered}</span></div>",
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
            if let Some(other) = &c.bridged_number {
                html.push_str(&format!("<div class=muted>Connected to {}</div>", esc(other)));
            }
            for room in conferences.iter().filter(|r| r.ever_joined.contains(&c.sid)) {
                html.push_str(&format!(
                    "<div class=muted>In conference {} · {}</div>",
                    esc(&room.name),
                    esc(&room.status)
                ));
            }
            for r in recordings.iter().filter(|r| r.call_sid == c.sid) {
                let said = r.text.as_deref().map(|t| format!(": {}", esc(t))).unwrap_or_default();
                html.push_str(&format!(
                    "<div class=muted>Recorded {} s ({} channel{}){said}</div>",
                    r.duration_secs,
                    r.channels,
                    if r.channels == 1 { "" } else { "s" }
                ));
            }
            let ended =
                matches!(c.status.as_str(), "completed" | "queued" | "canceled" | "busy" | "no-answer" | "failed");
            if c.direction == "inbound" && !ended {
                live = true;
            }
            let (page, hang_up) = (self.waiting_for_page(&c.sid), self.can_hang_up(&c.sid));
            if (page || hang_up) && !ended {
                live = true;
                let button = |name: &str, label: &str| format!("<button name=action value='{name}'>{label}</button>");
                let mut buttons = String::new();
                let ringing = c.status == "ringing" || c.status == "initiated";
                if ringing && page {
                    buttons.push_str(&button("answer", "Answer"));
                    buttons.push_str(&button("decline", "Decline"));
                }
                if !ringing && page {
                    for k in ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"] {
                        buttons.push_str(&format!("<button name=key value='{k}'>{k}</button>"));
                    }
                }
                if hang_up && c.status == "in-progress" {
                    buttons.push_str(&button("hangup", "Hang up"));
                }
                if !buttons.is_empty() {
                    let action = format!("/phones/{n}/calls/{}", esc(&c.sid));
                    html.push_str(&format!("<form method=post action='{action}' class=row>{buttons}</form>"));
                }
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

/// The "Call a number" form of a phone's page, calling `business` unless changed.
pub(in crate::twilio) fn dial_form_html(number: &str, business: &str) -> String {
    format!(
        "<h2>Call a number</h2><form method=post action='/phones/{n}/dial'>\
         <input name=to value='{b}' placeholder='Business number' style='max-width:170px'>\
         <input name=says placeholder='What you say if it records (a voicemail)'>\
         <input name=keys placeholder='Keys, e.g. 1 2' style='max-width:110px'><button>Call</button></form>",
        n = esc(number),
        b = esc(business)
    )
}

#[derive(Deserialize)]
pub(in crate::twilio) struct CallAction {
    #[serde(default)]
    action: String,
    #[serde(default)]
    key: String,
}

impl CallAction {
    /// `action=answer|decline|hangup`, or `key=N` (its first character).
    fn page_action(&self) -> Option<PageAction> {
        match (self.action.as_str(), self.key.as_str()) {
            ("answer", _) => Some(PageAction::Answer),
            ("decline", _) => Some(PageAction::Decline),
            ("hangup", _) => Some(PageAction::Hangup),
            (_, k) if !k.is_empty() => Some(PageAction::Key(k.chars().take(1).collect())),
            _ => None,
        }
    }
}

/// `POST /phones/{number}/calls/{sid}`: answer, decline, press a key or hang up on the phones
/// page.
pub(in crate::twilio) async fn call_action(
    State(s): State<TwilioStandin>,
    Path((number, sid)): Path<(String, String)>,
    Form(form): Form<CallAction>,
) -> Response {
    let Some(action) = form.page_action() else {
        return (StatusCode::BAD_REQUEST, "answer, decline, hangup or a key").into_response();
    };
    s.pick_up(&sid, action);
    // Give the call a moment to move on before the page is shown again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    Redirect::to(&phone_url(&number)).into_response()
}

/// `POST /clients/{identity}/calls/{sid}`: the browser softphone registered as `identity` acts on
/// its `<Client>` leg `sid` (form `action=answer|decline|hangup` or `key=N`), as a person does on
/// the phones page: [`TwilioStandin::pick_up`]. Answers once the action took effect (at most
/// 2 s): an answered leg is bridged with the caller (or, with a whisper, hears it), a declined
/// or hung-up one has ended; a key is in the leg's `pressed` at once while it is bridged (at a
/// whisper's `<Gather>` it goes to the Gather). `200` with the call as it is then (JSON), `404`
/// when `sid` is no call to `client:identity`, `409` when the call cannot take the action now
/// (not ringing for a person, or over), `400` for an unknown action.
pub(in crate::twilio) async fn client_call_action(
    State(s): State<TwilioStandin>,
    Path((identity, sid)): Path<(String, String)>,
    Form(form): Form<CallAction>,
) -> Response {
    let Some(action) = form.page_action() else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": "action=answer|decline|hangup or key=N" })))
            .into_response();
    };
    let to = format!("client:{identity}");
    let Some(call) = s.call(&sid).filter(|c| c.to == to) else {
        return (StatusCode::NOT_FOUND, axum::Json(json!({ "error": format!("no call {sid} to {to}") })))
            .into_response();
    };
    if !s.pick_up(&sid, action.clone()) {
        let error = format!("call {sid} ({}) cannot take that now", call.status);
        return (StatusCode::CONFLICT, axum::Json(json!({ "error": error }))).into_response();
    }
    let call = s.took_effect(&sid, &action, Duration::from_secs(2)).await.unwrap_or(call);
    axum::Json(call).into_response()
}

impl TwilioStandin {
    /// Waits (up to `timeout`) until `action`, just taken on call `sid`, shows: an answered call
    /// no longer rings (and an answered `<Dial>` leg without a whisper is bridged, or over); a
    /// declined or hung-up call is over. Returns the call as it is then.
    async fn took_effect(&self, sid: &str, action: &PageAction, timeout: Duration) -> Option<SimCall> {
        let deadline = tokio::time::Instant::now() + timeout;
        let over =
            |c: &SimCall| matches!(c.status.as_str(), "completed" | "busy" | "no-answer" | "canceled" | "failed");
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let call = self.call(sid)?;
            let done = match action {
                PageAction::Key(_) => true,
                PageAction::Answer => {
                    let rung = !matches!(call.status.as_str(), "queued" | "initiated" | "ringing");
                    let leg_waits =
                        call.direction == "outbound-dial" && call.url().is_empty() && call.bridged_to.is_none();
                    over(&call) || (rung && !leg_waits)
                }
                PageAction::Decline | PageAction::Hangup => over(&call),
            };
            if done || tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Some(call);
            }
        }
    }
}

#[derive(Deserialize)]
pub(in crate::twilio) struct PhoneDial {
    to: String,
    #[serde(default)]
    says: String,
    /// Keys to press at the Gathers, separated by spaces or commas.
    #[serde(default)]
    keys: String,
}

/// `POST /phones/{number}/dial`: the phone calls a business number (form `to`, optional `says`
/// and `keys`), then the phone's page is shown again.
pub(in crate::twilio) async fn phone_dial(
    State(s): State<TwilioStandin>,
    Path(number): Path<String>,
    Form(form): Form<PhoneDial>,
) -> Response {
    let says = Some(form.says.trim().to_string()).filter(|t| !t.is_empty());
    let keys = form.keys.split([' ', ',']).filter(|k| !k.is_empty()).map(str::to_string).collect();
    match s.dial_in(&number, form.to.trim(), Caller { keys, says, hang_up_after: None }).await {
        Ok(_) => Redirect::to(&phone_url(&number)).into_response(),
        Err(e) => {
            (StatusCode::BAD_GATEWAY, page("Not called", &format!("<div class=card>{}</div>", esc(&e)))).into_response()
        }
    }
}
