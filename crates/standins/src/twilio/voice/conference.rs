//! `<Dial><Conference>`: named rooms that calls join from their scripts, with Twilio's rules for
//! when a room starts and ends, wait music, signed conference status callbacks, and the
//! Conferences REST resources (`Conferences.json`, `Conferences/{sid}.json` to fetch or, with
//! `Status=completed`, to end, and its `Participants`, listed, fetched or removed).
//!
//! The rules, as Twilio states them and the stand-in keeps them (deterministically: every
//! change happens under one lock, and the callbacks go out in the order of the changes):
//!
//! - Rooms are keyed by friendly name within the account (the stand-in has one account): a
//!   call whose script reaches `<Dial><Conference>name</Conference></Dial>` joins the room of that
//!   name that has not ended, or a new one (`init`, sid `CF` + 32 hex digits). Any `<Number>` or
//!   `<Client>` beside the `<Conference>` is ignored.
//! - A room starts (`in-progress`) once it holds at least two participants, at least one of
//!   whom joined with `startConferenceOnEnter` (default true). Until then each participant
//!   waits: it hears its `waitUrl`'s TwiML once (each `<Say>`'s text and `[play url]` for each
//!   `<Play>`; its `<Pause>` and `<Redirect>` are not followed); without a `waitUrl`, Twilio's
//!   default hold music (`[play http://twimlets.com/holdmusic?Bucket=com.twilio.music.classical]`);
//!   with `waitUrl=""`, nothing. One who joins a started room hears no wait music.
//! - In a started room of exactly two participants the two calls are bridged: each one's
//!   `bridged_to` is the other's sid and `bridged_number` the other's phone (an inbound call's
//!   `From`, a placed call's `To`). A third participant changes neither.
//! - A participant leaves when its call ends: an inbound caller when its
//!   [`Caller::hang_up_after`](super::Caller) comes, or else never by itself; a call the stand-in
//!   placed (`Calls.json`: a scripted person, a person on the phones page, a voicemail) the talk
//!   time ([`TwilioStandin::set_talk_time`]) after it is first in a started room; anyone when a
//!   person hangs up on the phones page or through the client route
//!   ([`PageAction::Hangup`](super::PageAction)). Its Dial's `action` is then told (the TwiML it
//!   answers is ignored) and the call completes.
//! - A Dial's `action` hears `DialCallStatus=completed` and `DialBridged` (whether the participant
//!   was ever in the started room with someone else); as after any conference, no `DialCallSid`
//!   or `DialCallDuration`.
//! - The room ends (`completed`) when a participant who joined with `endConferenceOnExit` leaves
//!   or is removed, when its last participant leaves or is removed, or on `POST
//!   Conferences/{sid}.json` with `Status=completed`. Every participant still in it drops out:
//!   its `<Dial>` ends, its `action` is requested with `DialCallStatus=completed`, and the TwiML
//!   answered continues the call (without an `action`, the rest of the document does). A
//!   participant removed with `DELETE Conferences/{sid}/Participants/{CallSid}.json` drops out
//!   the same way while the room goes on.
//! - `statusCallback`: the first participant to name one sets the room's, with the events its
//!   `statusCallbackEvent` lists (`start`, `end`, `join`, `leave`; with none listed, none are
//!   sent; `mute`, `hold`, `speaker`, ... never happen here). Each event is a signed POST with
//!   `AccountSid`, `ConferenceSid`, `FriendlyName`, `StatusCallbackEvent` (`conference-start`,
//!   `conference-end`, `participant-join`, `participant-leave`), `SequenceNumber` (1 for the
//!   room's first event sent, then counting up), `Timestamp` (RFC 2822) and `CallSid`: the
//!   participant's for a join or leave, the one whose joining started the room for a start, the
//!   one whose leaving ended it for an end (none when ended through the API). Joins and leaves
//!   add `Muted`, `Hold`, `Coaching` (all `false`), `StartConferenceOnEnter` and
//!   `EndConferenceOnExit`; an end adds `ReasonConferenceEnded` and, when a participant ended it,
//!   `CallSidEndingConference`. A join that starts the room comes before the start; when a room
//!   ends, the leave of whoever ended it comes first, then those of everyone dropped (in join
//!   order), then the end.
//! - `beep`, `muted`, `record`, `maxParticipants`, `waitMethod` and the other attributes are
//!   ignored.

use std::collections::HashMap;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::Instant;

use super::dial::DialEnd;
use super::script::{Party, until};
use super::twiml::{self, Conference, Twiml};
use super::{SimCall, list_page};
use crate::twilio::{TwilioStandin, lock, random_hex, rfc2822, twilio_error};

/// Twilio's hold music, played to a waiting participant whose `<Conference>` names no `waitUrl`.
const DEFAULT_WAIT_MUSIC: &str = "http://twimlets.com/holdmusic?Bucket=com.twilio.music.classical";

/// One conference room as the stand-in keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct SimConference {
    pub sid: String,
    /// The friendly name: the room's name in the `<Conference>` noun.
    pub name: String,
    /// `init` (waiting to start), `in-progress` or `completed`.
    pub status: String,
    /// The calls in the room now, by sid, in the order they joined (none once it ended).
    pub participants: Vec<String>,
    /// Every call that ever joined, in order.
    pub ever_joined: Vec<String>,
    /// Why it ended: `participant-with-end-conference-on-exit-left` (or `-kicked`, removed
    /// through the API), `last-participant-left` (or `last-participant-kicked`), or
    /// `conference-ended-via-api`.
    pub reason_ended: Option<String>,
    /// The call whose leaving (or removal) ended it.
    pub ended_by: Option<String>,
    #[serde(skip)]
    pub created: Timestamp,
    #[serde(skip)]
    updated: Timestamp,
}

/// One participant in a room, as it joined.
#[derive(Debug, Clone)]
struct Member {
    call: String,
    start_on_enter: bool,
    end_on_exit: bool,
    joined: Timestamp,
}

impl Member {
    /// What a join or leave event says of the participant.
    fn params(&self) -> Vec<(String, String)> {
        vec![
            ("Muted".into(), "false".into()),
            ("Hold".into(), "false".into()),
            ("Coaching".into(), "false".into()),
            ("StartConferenceOnEnter".into(), self.start_on_enter.to_string()),
            ("EndConferenceOnExit".into(), self.end_on_exit.to_string()),
        ]
    }
}

/// A room's status callback: its events go, in order, to one delivery task.
struct Callback {
    /// The short names subscribed to (`start`, `end`, `join`, `leave`).
    events: Vec<String>,
    /// The last `SequenceNumber` sent.
    sequence: u32,
    tx: UnboundedSender<Vec<(String, String)>>,
}

/// A conference room and what only the stand-in needs of it.
pub(super) struct Room {
    conf: SimConference,
    /// The participants in the room now, in `conf.participants`' order.
    members: Vec<Member>,
    /// Dropped when the room ends, which ends its delivery task once the queue is sent.
    callback: Option<Callback>,
    account: String,
}

/// How a participant's stay in a room ended.
struct Stay {
    /// The participant left (its call ends); otherwise it dropped out (the room ended, or it
    /// was removed) and its call goes on.
    left: bool,
    /// Whether it was ever in the started room with someone else.
    talked: bool,
}

impl Room {
    fn new(account: &str, name: &str) -> Room {
        let now = Timestamp::now();
        Room {
            conf: SimConference {
                sid: format!("CF{}", random_hex(32)),
                name: name.to_string(),
                status: "init".into(),
                participants: Vec::new(),
                ever_joined: Vec::new(),
                reason_ended: None,
                ended_by: None,
                created: now,
                updated: now,
            },
            members: Vec::new(),
            callback: None,
            account: account.to_string(),
        }
    }

    /// Queues `event` for the status callback, when the room has one subscribed to it.
    fn emit(&mut self, event: &str, call: Option<&str>, extra: Vec<(String, String)>) {
        let Some(callback) = &mut self.callback else { return };
        let short = event.split_once('-').map_or(event, |(_, s)| s);
        if !callback.events.iter().any(|e| e == short) {
            return;
        }
        callback.sequence += 1;
        let mut params: Vec<(String, String)> = vec![
            ("AccountSid".into(), self.account.clone()),
            ("ConferenceSid".into(), self.conf.sid.clone()),
            ("FriendlyName".into(), self.conf.name.clone()),
            ("StatusCallbackEvent".into(), event.into()),
            ("SequenceNumber".into(), callback.sequence.to_string()),
            ("Timestamp".into(), rfc2822(Timestamp::now())),
        ];
        if let Some(call) = call {
            params.push(("CallSid".into(), call.to_string()));
        }
        params.extend(extra);
        // The delivery task lives as long as the callback: the send cannot fail.
        let _ = callback.tx.send(params);
    }

    /// Call `call` leaves (or, `kicked`, is removed from) the room, which may end it. Returns
    /// whether it was in the room.
    fn leave(&mut self, call: &str, kicked: bool) -> bool {
        let Some(i) = self.members.iter().position(|m| m.call == call) else { return false };
        let member = self.members.remove(i);
        self.conf.participants.retain(|p| p != call);
        self.conf.updated = Timestamp::now();
        self.emit("participant-leave", Some(call), member.params());
        let reason = match (member.end_on_exit, self.members.is_empty(), kicked) {
            (true, _, false) => "participant-with-end-conference-on-exit-left",
            (true, _, true) => "participant-with-end-conference-on-exit-kicked",
            (false, true, false) => "last-participant-left",
            (false, true, true) => "last-participant-kicked",
            (false, false, _) => return true,
        };
        self.end(reason, Some(call));
        true
    }

    /// Ends the room: everyone still in it drops out.
    fn end(&mut self, reason: &str, by: Option<&str>) {
        if self.conf.status == "completed" {
            return;
        }
        let dropped = std::mem::take(&mut self.members);
        self.conf.participants.clear();
        for m in &dropped {
            self.emit("participant-leave", Some(&m.call), m.params());
        }
        self.conf.status = "completed".into();
        self.conf.reason_ended = Some(reason.into());
        self.conf.ended_by = by.map(str::to_string);
        self.conf.updated = Timestamp::now();
        let mut extra = vec![("ReasonConferenceEnded".to_string(), reason.to_string())];
        if let Some(by) = by {
            extra.push(("CallSidEndingConference".into(), by.into()));
        }
        self.emit("conference-end", by, extra);
        self.callback = None;
    }
}

/// The phone on a call: the caller's for an inbound call, else the one called.
fn phone(c: &SimCall) -> String {
    if c.direction == "inbound" { c.from.clone() } else { c.to.clone() }
}

/// Bridges the two calls of a started room of two.
fn bridge(calls: &mut [SimCall], a: &str, b: &str) {
    let number = |sid: &str| calls.iter().find(|c| c.sid == sid).map(phone);
    let (to_a, to_b) = (number(a), number(b));
    for c in calls.iter_mut() {
        if c.sid == a {
            c.bridged_to = Some(b.to_string());
            c.bridged_number = to_b.clone();
        } else if c.sid == b {
            c.bridged_to = Some(a.to_string());
            c.bridged_number = to_a.clone();
        }
    }
}

impl TwilioStandin {
    /// Every conference room so far, oldest first.
    pub fn conferences(&self) -> Vec<SimConference> {
        lock(&self.inner.voice).conferences.iter().map(|r| r.conf.clone()).collect()
    }

    /// Call `sid` runs `<Dial><Conference>`: it joins the room, waits for it to start, stays
    /// until it leaves or drops out, and the Dial's `action` is told.
    pub(super) async fn conference(
        &self,
        sid: &str,
        party: &Party,
        noun: Conference,
        action: Option<String>,
    ) -> DialEnd {
        let (room, waits) = self.join_room(sid, &noun);
        // Keys pressed in the room go into the conversation (and `pressed`), not to a Gather.
        self.set_talking(&[sid], true);
        let stay = if waits && self.wait_music(sid, party, &noun).await.is_none() {
            Stay { left: true, talked: false }
        } else {
            self.stay(sid, &room, party).await
        };
        self.set_talking(&[sid], false);
        let extra: Vec<(String, String)> =
            vec![("DialCallStatus".into(), "completed".into()), ("DialBridged".into(), stay.talked.to_string())];
        if !stay.left {
            return DialEnd::Next(action.map(|a| (a, extra)));
        }
        self.leave_room(&room, sid, false);
        self.update_call(sid, |c| c.status = "completed".into());
        self.tell_action(sid, action.as_deref(), extra).await;
        DialEnd::Over
    }

    /// Call `sid` joins the room `noun` names (a new one if none is open), which may start it.
    /// Returns the room's sid and whether the call now waits for it to start.
    fn join_room(&self, sid: &str, noun: &Conference) -> (String, bool) {
        let mut delivery = None;
        let joined = {
            let mut guard = lock(&self.inner.voice);
            let voice = &mut *guard;
            let open = voice.conferences.iter().position(|r| r.conf.name == noun.name && r.conf.status != "completed");
            let i = open.unwrap_or_else(|| {
                voice.conferences.push(Room::new(&self.inner.account_sid, &noun.name));
                voice.conferences.len() - 1
            });
            let room = &mut voice.conferences[i];
            if room.callback.is_none()
                && let Some(url) = &noun.status_callback
            {
                let (tx, rx) = unbounded_channel();
                room.callback = Some(Callback { events: noun.events.clone(), sequence: 0, tx });
                delivery = Some((url.clone(), rx));
            }
            let member = Member {
                call: sid.to_string(),
                start_on_enter: noun.start_on_enter,
                end_on_exit: noun.end_on_exit,
                joined: Timestamp::now(),
            };
            room.conf.participants.push(sid.to_string());
            room.conf.ever_joined.push(sid.to_string());
            room.conf.updated = member.joined;
            room.emit("participant-join", Some(sid), member.params());
            room.members.push(member);
            if room.conf.status == "init" && room.members.len() >= 2 && room.members.iter().any(|m| m.start_on_enter) {
                room.conf.status = "in-progress".into();
                room.emit("conference-start", Some(sid), Vec::new());
            }
            let waits = room.conf.status == "init";
            let pair = match room.conf.participants.as_slice() {
                [a, b] if !waits => Some((a.clone(), b.clone())),
                _ => None,
            };
            let room_sid = room.conf.sid.clone();
            if let Some((a, b)) = pair {
                bridge(&mut voice.calls, &a, &b);
            }
            (room_sid, waits)
        };
        if let Some((url, rx)) = delivery {
            self.deliver_room_events(url, rx);
        }
        self.inner.changed.notify_waiters();
        joined
    }

    /// Sends a room's status callbacks in order until the room ends (counted for `settle`).
    fn deliver_room_events(&self, url: String, mut events: UnboundedReceiver<Vec<(String, String)>>) {
        let me = self.clone();
        self.spawn_counted(async move {
            while let Some(params) = events.recv().await {
                me.notify(&url, &params).await;
            }
        });
    }

    /// What a participant waiting for the room to start hears, once. `None`: it hung up while
    /// the wait music was fetched.
    async fn wait_music(&self, sid: &str, party: &Party, noun: &Conference) -> Option<()> {
        let url = match noun.wait_url.as_deref() {
            None => {
                self.hear(sid, party.machine, format!("[play {DEFAULT_WAIT_MUSIC}]"));
                return Some(());
            }
            Some("") => return Some(()),
            Some(url) => url,
        };
        let Some(call) = self.call(sid) else { return Some(()) };
        let params = self.call_params(&call);
        match until(party.gone(), self.fetch_twiml(url, &params)).await? {
            Ok(doc) => {
                for verb in twiml::parse(&doc, url) {
                    match verb {
                        Twiml::Say(text) => self.hear(sid, party.machine, text),
                        Twiml::Play(audio) => self.hear(sid, party.machine, format!("[play {audio}]")),
                        _ => {}
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "stand-in conference wait music failed"),
        }
        Some(())
    }

    /// Call `sid` stays in room `room` until it leaves (hangs up, or its talk time is up) or
    /// drops out (the room ended, or it was removed).
    async fn stay(&self, sid: &str, room: &str, party: &Party) -> Stay {
        let callee = self.call(sid).is_some_and(|c| c.direction != "inbound");
        let talk = lock(&self.inner.voice).talk_time;
        let gone = party.gone();
        tokio::pin!(gone);
        let mut leaves_at: Option<Instant> = None;
        let mut talked = false;
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let (member, started, others) = {
                let voice = lock(&self.inner.voice);
                match voice.conferences.iter().find(|r| r.conf.sid == room) {
                    Some(r) => (
                        r.members.iter().any(|m| m.call == sid),
                        r.conf.status == "in-progress",
                        r.members.len().saturating_sub(1),
                    ),
                    None => (false, false, 0),
                }
            };
            if !member {
                return Stay { left: false, talked };
            }
            talked |= started && others > 0;
            if callee && started && leaves_at.is_none() {
                leaves_at = Some(Instant::now() + talk);
            }
            let clock = async move {
                match leaves_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = &mut gone => return Stay { left: true, talked },
                () = clock => return Stay { left: true, talked },
                () = changed => {}
            }
        }
    }

    /// Call `call` leaves (or, `kicked`, is removed from) room `room`. Returns whether it was in it.
    fn leave_room(&self, room: &str, call: &str, kicked: bool) -> bool {
        let left = {
            let mut voice = lock(&self.inner.voice);
            voice.conferences.iter_mut().find(|r| r.conf.sid == room).is_some_and(|r| r.leave(call, kicked))
        };
        self.inner.changed.notify_waiters();
        left
    }

    /// Ends room `room` as `POST Conferences/{sid}.json Status=completed` does.
    fn end_room(&self, room: &str) {
        {
            let mut voice = lock(&self.inner.voice);
            if let Some(r) = voice.conferences.iter_mut().find(|r| r.conf.sid == room) {
                r.end("conference-ended-via-api", None);
            }
        }
        self.inner.changed.notify_waiters();
    }

    fn conference_resource(&self, c: &SimConference) -> serde_json::Value {
        let account = &self.inner.account_sid;
        let uri = format!("/2010-04-01/Accounts/{account}/Conferences/{}", c.sid);
        json!({
            "account_sid": account,
            "api_version": "2010-04-01",
            "call_sid_ending_conference": c.ended_by,
            "date_created": rfc2822(c.created),
            "date_updated": rfc2822(c.updated),
            "friendly_name": c.name,
            "reason_conference_ended": c.reason_ended,
            "region": "us1",
            "sid": c.sid,
            "status": c.status,
            "subresource_uris": {
                "participants": format!("{uri}/Participants.json"),
                "recordings": format!("{uri}/Recordings.json"),
            },
            "uri": format!("{uri}.json"),
        })
    }

    fn participant_resource(&self, c: &SimConference, m: &Member) -> serde_json::Value {
        let account = &self.inner.account_sid;
        json!({
            "account_sid": account,
            "call_sid": m.call,
            "call_sid_to_coach": null,
            "coaching": false,
            "conference_sid": c.sid,
            "date_created": rfc2822(m.joined),
            "date_updated": rfc2822(m.joined),
            "end_conference_on_exit": m.end_on_exit,
            "hold": false,
            "label": null,
            "muted": false,
            "start_conference_on_enter": m.start_on_enter,
            "status": "connected",
            "uri": format!("/2010-04-01/Accounts/{account}/Conferences/{}/Participants/{}.json", c.sid, m.call),
        })
    }

    /// A room's resource and its participants' resources, by room sid.
    fn room_resources(&self, room: &str) -> Option<(serde_json::Value, Vec<(String, serde_json::Value)>)> {
        let voice = lock(&self.inner.voice);
        let r = voice.conferences.iter().find(|r| r.conf.sid == room)?;
        let members = r.members.iter().map(|m| (m.call.clone(), self.participant_resource(&r.conf, m))).collect();
        Some((self.conference_resource(&r.conf), members))
    }
}

fn not_found(account: &str, path: &str) -> Response {
    twilio_error(
        StatusCode::NOT_FOUND,
        20404,
        &format!("The requested resource /2010-04-01/Accounts/{account}/{path} was not found"),
    )
}

fn unauthorized() -> Response {
    twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate")
}

/// `GET Conferences.json`: newest first, filtered by `FriendlyName` and `Status`.
pub(in crate::twilio) async fn list_conferences(
    State(s): State<TwilioStandin>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !s.authorized(&headers, &account) {
        return unauthorized();
    }
    let items = s
        .conferences()
        .iter()
        .rev()
        .filter(|c| q.get("FriendlyName").is_none_or(|n| &c.name == n))
        .filter(|c| q.get("Status").is_none_or(|st| &c.status == st))
        .map(|c| s.conference_resource(c))
        .collect();
    list_page("conferences", format!("/2010-04-01/Accounts/{account}/Conferences.json"), items)
}

/// `GET Conferences/{sid}.json`.
pub(in crate::twilio) async fn fetch_conference(
    State(s): State<TwilioStandin>,
    Path((account, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !s.authorized(&headers, &account) {
        return unauthorized();
    }
    let room = sid.trim_end_matches(".json");
    match s.room_resources(room) {
        Some((resource, _)) => axum::Json(resource).into_response(),
        None => not_found(&account, &format!("Conferences/{room}.json")),
    }
}

/// `POST Conferences/{sid}.json`: `Status=completed` ends the room (everyone in it drops out);
/// without `Status` nothing changes. Answers the resource.
pub(in crate::twilio) async fn update_conference(
    State(s): State<TwilioStandin>,
    Path((account, sid)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !s.authorized(&headers, &account) {
        return unauthorized();
    }
    let room = sid.trim_end_matches(".json");
    if s.room_resources(room).is_none() {
        return not_found(&account, &format!("Conferences/{room}.json"));
    }
    match form.iter().find(|(k, _)| k == "Status").map(|(_, v)| v.as_str()) {
        None => {}
        Some("completed") => s.end_room(room),
        Some(other) => {
            return twilio_error(StatusCode::BAD_REQUEST, 20001, &format!("Status must be 'completed', not '{other}'"));
        }
    }
    match s.room_resources(room) {
        Some((resource, _)) => axum::Json(resource).into_response(),
        None => not_found(&account, &format!("Conferences/{room}.json")),
    }
}

/// `GET Conferences/{sid}/Participants.json`: the calls in the room now, in the order they
/// joined (none once it ended, as Twilio keeps no history there).
pub(in crate::twilio) async fn list_participants(
    State(s): State<TwilioStandin>,
    Path((account, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !s.authorized(&headers, &account) {
        return unauthorized();
    }
    match s.room_resources(&sid) {
        Some((_, members)) => list_page(
            "participants",
            format!("/2010-04-01/Accounts/{account}/Conferences/{sid}/Participants.json"),
            members.into_iter().map(|(_, m)| m).collect(),
        ),
        None => not_found(&account, &format!("Conferences/{sid}/Participants.json")),
    }
}

/// `GET Conferences/{sid}/Participants/{CallSid}.json`.
pub(in crate::twilio) async fn fetch_participant(
    State(s): State<TwilioStandin>,
    Path((account, sid, call)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if !s.authorized(&headers, &account) {
        return unauthorized();
    }
    let call = call.trim_end_matches(".json");
    let member = s.room_resources(&sid).and_then(|(_, members)| members.into_iter().find(|(c, _)| c == call));
    match member {
        Some((_, resource)) => axum::Json(resource).into_response(),
        None => not_found(&account, &format!("Conferences/{sid}/Participants/{call}.json")),
    }
}

/// `DELETE Conferences/{sid}/Participants/{CallSid}.json`: the call drops out of the room (its
/// Dial ends and its call goes on), which may end the room. `204` with no body.
pub(in crate::twilio) async fn remove_participant(
    State(s): State<TwilioStandin>,
    Path((account, sid, call)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if !s.authorized(&headers, &account) {
        return unauthorized();
    }
    let call = call.trim_end_matches(".json");
    if s.leave_room(&sid, call, true) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found(&account, &format!("Conferences/{sid}/Participants/{call}.json"))
    }
}
