//! The stand-in's Programmable Voice. Outbound calls through `Calls.json` (create, fetch, list)
//! with Twilio's JSON shapes, signed status callbacks in order (`initiated`, `ringing`,
//! `in-progress`, then `completed` or `no-answer`/`busy`/`failed`, each with its
//! `SequenceNumber`) and answering-machine detection (`AnsweredBy`); inbound calls from simulated
//! phones to the Voice URL; a TwiML interpreter (`<Say>`, `<Play>`, `<Pause>`, `<Gather>`,
//! `<Redirect>`, `<Hangup>`, `<Dial>` with parallel `<Number>`/`<Client>` legs and whispers or a
//! `<Conference>` room, `<Record>`); recordings served as Twilio serves them (JSON and a real WAV
//! file); conferences with their status callbacks and REST resources.
//!
//! Simulated phones: a person who presses keys, a voicemail that keeps the message left, a
//! phone that rings out, is busy, or fails. A phone (or a browser softphone set to
//! [`Pickup::Ask`]) with no behaviour set rings until someone answers it on the phones page or
//! through the client route (or it rings out); a person there can also hang up a live call.
//! Each call runs in its own task; the shared state is only locked for short, synchronous
//! updates.

use std::collections::HashMap;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;
use tokio::sync::watch;

use super::{TwilioStandin, lock, rfc2822};

mod conference;
mod dial;
mod inbound;
mod outbound;
mod page;
mod record;
mod recordings;
mod script;
mod twiml;

pub use conference::SimConference;
pub(super) use conference::{
    fetch_conference, fetch_participant, list_conferences, list_participants, remove_participant, update_conference,
};
pub use inbound::Caller;
pub(super) use outbound::{create_call, fetch_call, list_calls};
pub(super) use page::{call_action, client_call_action, dial_form_html, phone_dial};
pub use recordings::SimRecording;
pub(super) use recordings::{call_recordings, fetch_recording, list_recordings};

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
    /// Rings until a person answers on the phones page, through the client route, or with
    /// [`TwilioStandin::pick_up`]; or rings out (a `Calls.json` call at its `Timeout`, a
    /// `<Dial>` leg at the Dial's `timeout`). Works the same for numbers and browser softphones
    /// ([`TwilioStandin::set_client_pickup`]).
    Ask,
}

/// One call (or one leg of a dialled call) as the stand-in keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct SimCall {
    pub sid: String,
    pub from: String,
    pub to: String,
    pub status: String,
    /// `outbound-api` (created through `Calls.json`), `inbound` (a phone called a business
    /// number) or `outbound-dial` (a leg rung by `<Dial>`).
    pub direction: &'static str,
    /// The call whose `<Dial>` rang this leg.
    pub parent_call_sid: Option<String>,
    /// The other leg this one was bridged with by a `<Dial>`: on the caller's call the
    /// connected leg, on the connected leg the caller's call; in a started conference room of
    /// two, the other participant's call.
    pub bridged_to: Option<String>,
    /// That other leg's number (`client:identity` for a softphone); for a leg, the caller's; for
    /// a conference participant, the other participant's phone.
    pub bridged_number: Option<String>,
    pub answered_by: Option<String>,
    /// What the callee (for an inbound call: the caller) heard, in order.
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
    /// The `Url` the call was created with (where its script is fetched); for an inbound call
    /// the Voice URL, for a dialled leg its whisper URL (empty without one).
    pub fn url(&self) -> &str {
        &self.url
    }

    fn new(direction: &'static str, from: String, to: String, url: String) -> SimCall {
        SimCall {
            sid: format!("CA{}", super::random_hex(32)),
            from,
            to,
            status: "queued".into(),
            direction,
            parent_call_sid: None,
            bridged_to: None,
            bridged_number: None,
            answered_by: None,
            heard: Vec::new(),
            pressed: Vec::new(),
            voicemail: None,
            created: Timestamp::now(),
            url,
            status_callback: None,
            detect_machine: false,
            ring_seconds: 60,
        }
    }
}

/// What a person does on the phones page (or a browser softphone, through the client route) for
/// a ringing or live call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageAction {
    /// Answers a call ringing for a person ([`Pickup::Ask`]).
    Answer,
    /// Rejects a call ringing for a person: it ends `busy`.
    Decline,
    /// Presses a key at the `<Gather>` the person is hearing.
    Key(String),
    /// Hangs up, wherever the call is: a ringing call is declined; a live call ends as when its
    /// party hangs up (a caller who hangs up; on a bridged `<Dial>` leg, the callee hanging up,
    /// which completes the whole call; a conference participant leaves the room).
    Hangup,
}

pub(super) struct Voice {
    calls: Vec<SimCall>,
    pickups: HashMap<String, Pickup>,
    /// How browser softphones answer, by identity.
    client_pickups: HashMap<String, Pickup>,
    /// Decisions made on the phones page for calls waiting (`Ask`), by call sid.
    answers: HashMap<String, tokio::sync::mpsc::UnboundedSender<PageAction>>,
    /// Every live call's hang-up line ([`PageAction::Hangup`]), by call sid; closed when it ends.
    hangups: HashMap<String, watch::Sender<bool>>,
    /// Calls in a conversation (a bridged `<Dial>`, a conference room): a key pressed on one
    /// goes into the conversation, and is kept in its `pressed` at once.
    talking: std::collections::HashSet<String>,
    /// Conference rooms, oldest first.
    conferences: Vec<conference::Room>,
    /// The Voice URL of every number: where inbound calls fetch their TwiML.
    webhook: Option<String>,
    /// The numbers' voice status callback: told when each inbound call completes.
    status_callback: Option<String>,
    /// How long one TwiML second lasts (ring timeouts, Gather timeouts, Pause, speaking).
    second: Duration,
    /// How long a bridged conversation lasts.
    talk_time: Duration,
    recordings: Vec<SimRecording>,
    /// Media fetches still to answer 500.
    failing_fetches: usize,
}

impl Default for Voice {
    fn default() -> Voice {
        Voice {
            calls: Vec::new(),
            pickups: HashMap::new(),
            client_pickups: HashMap::new(),
            answers: HashMap::new(),
            hangups: HashMap::new(),
            talking: Default::default(),
            conferences: Vec::new(),
            webhook: None,
            status_callback: None,
            second: Duration::from_secs(1),
            talk_time: Duration::from_secs(1),
            recordings: Vec::new(),
            failing_fetches: 0,
        }
    }
}

impl TwilioStandin {
    /// How calls to `number` are answered from now on (calls through `Calls.json` and legs rung
    /// by `<Dial>`; a number never set rings until answered on the phones page).
    pub fn set_pickup(&self, number: &str, pickup: Pickup) {
        lock(&self.inner.voice).pickups.insert(number.to_string(), pickup);
    }

    /// How the browser softphone registered as `identity` answers a `<Client>` leg. An identity
    /// never set rings for a person, as a number does ([`Pickup::Ask`]): until someone answers it
    /// through the client route or [`Self::pick_up`], or the Dial's timeout.
    pub fn set_client_pickup(&self, identity: &str, pickup: Pickup) {
        lock(&self.inner.voice).client_pickups.insert(identity.to_string(), pickup);
    }

    /// How long one TwiML second lasts (default 1 s): applied to `<Dial timeout>`, `<Gather
    /// timeout>`, `<Pause length>`, `<Record>`'s speaking and silence, and a `Calls.json`
    /// `Timeout`, so a test can run a 20-second ring in a fraction of a second.
    pub fn set_second(&self, second: Duration) {
        lock(&self.inner.voice).second = second;
    }

    /// How long a bridged conversation lasts (default 1 s, not scaled by [`Self::set_second`]);
    /// its whole seconds (at least 1) are the call's and the recording's duration. A call placed
    /// through `Calls.json` that joins a conference room stays this long once the room has
    /// started, then hangs up.
    pub fn set_talk_time(&self, talk: Duration) {
        lock(&self.inner.voice).talk_time = talk;
    }

    /// Every call so far (dialled legs included), oldest first.
    pub fn calls(&self) -> Vec<SimCall> {
        lock(&self.inner.voice).calls.clone()
    }

    /// One call by sid.
    pub fn call(&self, sid: &str) -> Option<SimCall> {
        lock(&self.inner.voice).calls.iter().find(|c| c.sid == sid).cloned()
    }

    /// Calls placed to `number` (through `Calls.json`, by `<Dial>`, or to a business number),
    /// oldest first.
    pub fn calls_to(&self, number: &str) -> Vec<SimCall> {
        self.calls().into_iter().filter(|c| c.to == number).collect()
    }

    /// Calls made from `number`, oldest first.
    pub fn calls_from(&self, number: &str) -> Vec<SimCall> {
        self.calls().into_iter().filter(|c| c.from == number).collect()
    }

    /// Calls and `<Dial>` legs to `to` (a number, or `client:identity` for a browser softphone)
    /// ringing or in progress now, oldest first.
    pub fn ringing_for(&self, to: &str) -> Vec<SimCall> {
        lock(&self.inner.voice)
            .calls
            .iter()
            .filter(|c| c.to == to && matches!(c.status.as_str(), "ringing" | "in-progress"))
            .cloned()
            .collect()
    }

    /// Answers, declines or presses a key on a call waiting for a person (`Pickup::Ask`, a
    /// number or a client leg), presses a key on a call in a conversation (a bridged `<Dial>`
    /// leg or caller, a conference participant: the key is in its `pressed` when this returns),
    /// or hangs up a ringing or live call ([`PageAction::Hangup`]). Returns whether the call
    /// could take it: it was waiting for a person or talking, or (for `Hangup`) it was not over
    /// and not hung up already.
    pub fn pick_up(&self, sid: &str, action: PageAction) -> bool {
        let mut voice = lock(&self.inner.voice);
        if action == PageAction::Hangup {
            return voice.hangups.get(sid).is_some_and(|line| !line.send_replace(true));
        }
        if voice.talking.contains(sid) {
            let PageAction::Key(key) = action else { return false };
            let Some(call) = voice.calls.iter_mut().find(|c| c.sid == sid) else { return false };
            call.pressed.push(key);
            drop(voice);
            self.inner.changed.notify_waiters();
            return true;
        }
        voice.answers.get(sid).is_some_and(|tx| tx.send(action).is_ok())
    }

    /// Calls `sids` are in a conversation (or, `talking` false, no longer): see
    /// [`Self::pick_up`].
    fn set_talking(&self, sids: &[&str], talking: bool) {
        let mut voice = lock(&self.inner.voice);
        for sid in sids {
            if talking {
                voice.talking.insert(sid.to_string());
            } else {
                voice.talking.remove(*sid);
            }
        }
    }

    /// Call `sid`'s hang-up line, while the call is live.
    fn hangup_line(&self, sid: &str) -> Option<watch::Receiver<bool>> {
        lock(&self.inner.voice).hangups.get(sid).map(watch::Sender::subscribe)
    }

    /// Closes call `sid`'s lines to the page: it takes no more answers, keys or hang-ups.
    fn close_lines(&self, sid: &str) {
        let mut voice = lock(&self.inner.voice);
        voice.answers.remove(sid);
        voice.hangups.remove(sid);
        voice.talking.remove(sid);
    }

    /// `n` TwiML seconds.
    fn seconds(&self, n: u64) -> Duration {
        lock(&self.inner.voice).second.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX))
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

    /// Keeps a new call and opens its lines to the phones page (answers and keys, and its
    /// hang-up line); returns what the page sends.
    fn add_call(&self, call: SimCall) -> tokio::sync::mpsc::UnboundedReceiver<PageAction> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        {
            let mut voice = lock(&self.inner.voice);
            voice.answers.insert(call.sid.clone(), tx);
            voice.hangups.insert(call.sid.clone(), watch::channel(false).0);
            voice.calls.push(call);
        }
        self.inner.changed.notify_waiters();
        rx
    }

    /// Runs a call's life in its own task, counted until it ends so [`Self::settle`] waits.
    fn spawn_call(&self, sid: String, life: impl Future<Output = ()> + Send + 'static) {
        let me = self.clone();
        self.spawn_counted(async move {
            life.await;
            me.close_lines(&sid);
        });
    }

    /// Runs `work` in its own task, counted until it ends so [`Self::settle`] waits.
    fn spawn_counted(&self, work: impl Future<Output = ()> + Send + 'static) {
        *lock(&self.inner.pending_callbacks) += 1;
        let me = self.clone();
        tokio::spawn(async move {
            work.await;
            let mut pending = lock(&me.inner.pending_callbacks);
            *pending -= 1;
            if *pending == 0 {
                me.inner.settled.notify_waiters();
            }
        });
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
            "direction": c.direction,
            "duration": null,
            "end_time": null,
            "forwarded_from": null,
            "from": c.from,
            "from_formatted": c.from,
            "group_sid": null,
            "parent_call_sid": c.parent_call_sid,
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

    /// The parameters every voice request carries: for a dialled leg also `ParentCallSid`, for
    /// an inbound call also `Caller`, `Called` and the countries of US numbers.
    fn call_params(&self, c: &SimCall) -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = vec![
            ("CallSid".into(), c.sid.clone()),
            ("AccountSid".into(), self.inner.account_sid.clone()),
            ("From".into(), c.from.clone()),
            ("To".into(), c.to.clone()),
            ("CallStatus".into(), c.status.clone()),
            ("ApiVersion".into(), "2010-04-01".into()),
            ("Direction".into(), c.direction.into()),
        ];
        if let Some(parent) = &c.parent_call_sid {
            params.push(("ParentCallSid".into(), parent.clone()));
        }
        if c.direction == "inbound" {
            params.push(("Caller".into(), c.from.clone()));
            params.push(("Called".into(), c.to.clone()));
            if c.from.starts_with("+1") {
                params.push(("FromCountry".into(), "US".into()));
            }
            if c.to.starts_with("+1") {
                params.push(("ToCountry".into(), "US".into()));
            }
        }
        params
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

    /// POSTs a callback whose answer does not matter (a status callback, or an action URL after
    /// the caller is gone), logging a failure.
    async fn notify(&self, url: &str, params: &[(String, String)]) {
        if let Err(e) = self.fetch_twiml(url, params).await {
            tracing::warn!(error = %e, "stand-in voice callback failed");
        }
    }

    /// Something said to the party on call `sid`; a machine keeps it as the message left.
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

/// A list page in Twilio's shape: every item on page 0.
pub(super) fn list_page(key: &str, uri: String, items: Vec<serde_json::Value>) -> Response {
    axum::Json(json!({
        key: items,
        "end": items.len().saturating_sub(1),
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
