//! Calls on the phones page: each phone's calls card (calls to it and calls it made, with what
//! was heard, keys pressed, who it was connected to and what was recorded), Answer/Decline and a
//! keypad for calls waiting on a person, and a form to call a business number from the phone.

use std::time::Duration;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Caller, PageAction, SimCall};
use crate::twilio::{TwilioStandin, esc, lock, page};

fn phone_url(number: &str) -> String {
    format!("/phones/{}", number.replace('+', "%2B"))
}

impl TwilioStandin {
    /// Whether a person on the phones page can act on this call now (it rings for them, or
    /// they are on it).
    fn waiting_for_page(&self, sid: &str) -> bool {
        lock(&self.inner.voice).answers.contains_key(sid)
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
            if self.waiting_for_page(&c.sid) && !ended {
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

/// `POST /phones/{number}/calls/{sid}`: answer, decline, or press a key on the phones page.
pub(in crate::twilio) async fn call_action(
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
    Redirect::to(&phone_url(&number)).into_response()
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
