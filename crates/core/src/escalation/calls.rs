//! Voice steps: a call is queued in the step's transaction and placed by the `escalation.call`
//! worker (not placed at all once someone has confirmed); the provider fetches the call's
//! script when it is answered. A person hears the message and "press 1 to confirm, 2 to pass
//! to the next person, star to repeat"; an answering machine gets the message and the callback
//! number (for a "leave a message" step) or nothing. Status callbacks are applied in their
//! sequence order, so a late one never moves a call back.
//!
//! A crash after the provider accepted a call and before its id is recorded places it again
//! on the retry: at most one duplicate call per crash, inside that window.

use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::drive::{self, Confirmer};
use super::run::{Event, Position, State};
use super::store::{self, Entry, Escalation};
use crate::clock::{Clock, to_millis};
use crate::db::{Db, Tx};
use crate::desk::delivery::Told;
use crate::desk::flow::Action;
use crate::engine::{self, BoxFuture, Kind, NewWork, Outcome, Priority, WorkContext, WorkItem, Worker};
use crate::ids::OrgId;
use crate::providers::SendError;
use crate::providers::voice::{OutboundCall, Verb, VoiceProvider};
use crate::{Error, Result, when};

/// An `escalation.call` item: place this call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceCall {
    pub call_id: i64,
}

impl Kind for PlaceCall {
    const NAME: &'static str = "escalation.call";
    const PRIORITY: Priority = Priority::Urgent;
}

/// Seconds a call rings before it counts as not answered.
pub const RING_SECONDS: u32 = 25;
/// Seconds a person has to press a key after the prompt.
pub const KEY_SECONDS: u32 = 8;

/// One call of an escalation, as stored.
#[derive(Debug, Clone, FromRow)]
pub struct Call {
    pub id: i64,
    pub org_id: i64,
    pub escalation_id: i64,
    pub round: i64,
    pub step: i64,
    pub version: i64,
    pub action: String,
    pub person: String,
    pub address: String,
    pub call_sid: Option<String>,
    pub status: String,
    pub sequence: i64,
    pub answered_by: Option<String>,
}

impl Call {
    fn org(&self) -> OrgId {
        OrgId(self.org_id)
    }
    fn entry(&self, now: Timestamp, kind: &str, detail: impl Into<String>) -> Entry {
        Entry {
            at: now,
            round: self.round as u32,
            step: self.step as usize,
            kind: kind.into(),
            action: Some(self.action.clone()),
            person: Some(self.person.clone()),
            address: Some(self.address.clone()),
            detail: Some(detail.into()),
            ..Default::default()
        }
    }
}

/// Queues a call to `person` at `address` for the step at `pos`, inside the step's transaction.
#[allow(clippy::too_many_arguments)]
pub async fn queue_in(
    tx: &mut Tx,
    e: &Escalation,
    pos: Position,
    action: Action,
    person: &str,
    address: &str,
    target: &str,
    now: Timestamp,
) -> Result<()> {
    let (id,): (i64,) = sqlx::query_as(
        "insert into escalation_calls (org_id, escalation_id, round, step, version, action, person, address, status, \
         created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9, $9) returning id",
    )
    .bind(e.org.0)
    .bind(e.id)
    .bind(pos.round as i64)
    .bind(pos.step as i64 + 1)
    .bind(e.run.version)
    .bind(drive::action_str(action))
    .bind(person)
    .bind(address)
    .bind(to_millis(now))
    .fetch_one(&mut **tx)
    .await?;
    let work = NewWork::of(&PlaceCall { call_id: id }, now)?
        .org(e.org)
        .group(format!("escalation:{}", e.id))
        .key(format!("escalation.call:{id}"));
    engine::enqueue_in(tx, &work, now).await?;
    let entry = Entry {
        at: now,
        round: pos.round,
        step: pos.step + 1,
        kind: "calling".into(),
        action: Some(drive::action_str(action).into()),
        target: Some(target.into()),
        person: Some(person.into()),
        address: Some(address.into()),
        detail: Some("call queued".into()),
        ..Default::default()
    };
    store::log_in(tx, e.org, e.id, &entry).await
}

const SELECT: &str = "select id, org_id, escalation_id, round, step, version, action, person, address, call_sid, \
                      status, sequence, answered_by from escalation_calls ";

async fn get(db: &Db, id: i64) -> Result<Call> {
    let sql = format!("{SELECT} where id = $1");
    let row: Option<Call> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(db.pool()).await?;
    row.ok_or(Error::NotFound)
}

/// Runs `escalation.call` items.
pub struct Placer {
    pub voice: Arc<dyn VoiceProvider>,
    /// The server's public URL: the provider fetches scripts and posts statuses there.
    pub base_url: String,
}

impl Worker for Placer {
    type Args = PlaceCall;
    fn work(&self, ctx: WorkContext, _item: WorkItem, args: PlaceCall) -> BoxFuture<Outcome> {
        let (voice, base) = (self.voice.clone(), self.base_url.clone());
        Box::pin(async move {
            match place(&ctx.db, ctx.clock.as_ref(), voice.as_ref(), &base, args.call_id).await {
                Ok(outcome) => outcome,
                Err(e) => Outcome::Retry(e.to_string()),
            }
        })
    }
}

/// The script URL of a call, and its status callback.
pub fn urls(base: &str, call: i64) -> (String, String) {
    let base = base.trim_end_matches('/');
    (
        format!("{base}/webhooks/twilio/voice/escalation?call={call}"),
        format!("{base}/webhooks/twilio/voice/escalation/status?call={call}"),
    )
}

async fn place(db: &Db, clock: &dyn Clock, voice: &dyn VoiceProvider, base: &str, id: i64) -> Result<Outcome> {
    let call = get(db, id).await?;
    if call.call_sid.is_some() || call.status != "queued" {
        return Ok(Outcome::Done(Some(serde_json::json!({ "skipped": "already placed" }))));
    }
    let e = escalation_of(db, &call).await?;
    // Only a confirmation cancels a call: the last step of the last round ends the escalation
    // ("nobody confirmed") as soon as its wait is over, which with no wait is before its call
    // is placed, and that call must still ring.
    if e.run.state == State::Confirmed {
        set_status(db, id, "canceled", None).await?;
        return Ok(Outcome::Done(Some(serde_json::json!({ "skipped": "confirmed before the call was placed" }))));
    }
    let brand = crate::tenancy::brand(db, e.org, e.brand_id).await?;
    let Some(from) = brand.sms_number.as_ref() else {
        let mut tx = db.begin().await?;
        set_status_in(&mut tx, id, "failed", None).await?;
        let why = format!("{} has no phone number to call from", brand.name);
        store::log_in(&mut tx, e.org, e.id, &call.entry(clock.now(), "call_failed", why)).await?;
        tx.commit().await?;
        return Ok(Outcome::Done(None));
    };
    let (url, status_callback) = urls(base, id);
    let request = OutboundCall {
        from: from.as_str().to_string(),
        to: call.address.clone(),
        url,
        status_callback,
        detect_machine: true,
        ring_seconds: RING_SECONDS,
    };
    match voice.place(request).await {
        Ok(placed) => {
            sqlx::query(
                "update escalation_calls set call_sid = $2, status = $3, updated_at = $4 where id = $1 and call_sid is null",
            )
            .bind(id)
            .bind(&placed.sid)
            .bind(&placed.status)
            .bind(to_millis(clock.now()))
            .execute(db.pool())
            .await?;
            Ok(Outcome::Done(Some(serde_json::json!({ "sid": placed.sid }))))
        }
        Err(SendError::Rejected { code, message }) => {
            let mut tx = db.begin().await?;
            set_status_in(&mut tx, id, "failed", None).await?;
            let why = match code {
                Some(c) => format!("the call was refused ({c}): {message}"),
                None => format!("the call was refused: {message}"),
            };
            store::log_in(&mut tx, e.org, e.id, &call.entry(clock.now(), "call_failed", why)).await?;
            tx.commit().await?;
            db.publish(crate::db::Event::Desk { org: e.org, message: e.message_id });
            Ok(Outcome::Done(None))
        }
        Err(SendError::Transient(m)) => Ok(Outcome::Retry(m)),
    }
}

/// The call's escalation as it stands (a read: what to say or whether to place the call; the
/// steps themselves lock it).
async fn escalation_of(db: &Db, call: &Call) -> Result<Escalation> {
    store::get(db, call.org(), call.escalation_id).await
}

async fn set_status(db: &Db, id: i64, status: &str, answered_by: Option<&str>) -> Result<()> {
    let mut tx = db.begin().await?;
    set_status_in(&mut tx, id, status, answered_by).await?;
    tx.commit().await?;
    Ok(())
}

async fn set_status_in(tx: &mut Tx, id: i64, status: &str, answered_by: Option<&str>) -> Result<()> {
    sqlx::query("update escalation_calls set status = $2, answered_by = coalesce($3, answered_by) where id = $1")
        .bind(id)
        .bind(status)
        .bind(answered_by)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What the provider told us with a voice webhook.
#[derive(Debug, Clone, Default)]
pub struct Heard {
    pub call_sid: String,
    pub call_status: String,
    /// `human`, `machine_end_beep`, `machine_end_silence`, `machine_end_other`, `fax`,
    /// `unknown`, or empty when detection was not asked.
    pub answered_by: String,
    pub digits: String,
    pub sequence: Option<i64>,
    pub duration: Option<i64>,
}

/// The call, checked against the provider's call id.
async fn call_for(db: &Db, id: i64, heard: &Heard) -> Result<Call> {
    let call = get(db, id).await?;
    match &call.call_sid {
        Some(sid) if *sid == heard.call_sid => Ok(call),
        // Answered before its id was recorded (a fast answer): adopt the id.
        None if !heard.call_sid.is_empty() => {
            sqlx::query("update escalation_calls set call_sid = $2 where id = $1 and call_sid is null")
                .bind(id)
                .bind(&heard.call_sid)
                .execute(db.pool())
                .await?;
            get(db, id).await
        }
        _ => Err(Error::NotFound),
    }
}

fn is_machine(answered_by: &str) -> bool {
    answered_by.starts_with("machine") || answered_by == "fax"
}

/// What a person hears: the message, read aloud.
fn spoken(told: &Told) -> String {
    let tz = told.brand.zone();
    let m = &told.message;
    let mut text = format!(
        "Urgent message for {}, taken at {} {}.",
        told.brand.name,
        when::time(m.taken_at, &tz),
        when::date(m.taken_at, &tz)
    );
    for a in &m.answers {
        text.push_str(&format!(" {}: {}.", a.label, a.shown().trim_end_matches('.')));
    }
    text
}

fn callback_number(told: &Told) -> Option<String> {
    told.message.answers.iter().find(|a| a.key == "callback_number").map(|a| a.shown())
}

/// The script of an answered call (`again`: the prompt went unanswered once already).
pub async fn answer(db: &Db, clock: &dyn Clock, base: &str, id: i64, heard: &Heard, again: bool) -> Result<Vec<Verb>> {
    let call = call_for(db, id, heard).await?;
    let e = escalation_of(db, &call).await?;
    let told = Told::load(db, e.org, e.message_id).await?;
    let now = clock.now();
    if e.run.state == State::Confirmed {
        let by = e.confirmed_by.clone().unwrap_or_else(|| "someone".into());
        return Ok(vec![
            Verb::Say(format!(
                "This urgent message for {} was already confirmed by {by}. Thank you. Goodbye.",
                told.brand.name
            )),
            Verb::Hangup,
        ]);
    }
    let (script_url, _) = urls(base, id);
    if is_machine(&heard.answered_by) {
        let mut tx = db.begin().await?;
        set_status_in(&mut tx, id, "in-progress", Some(&heard.answered_by)).await?;
        let leave = call.action == drive::action_str(Action::CallLeaveMessage);
        let detail = if leave { "voicemail: the message was left" } else { "voicemail: no message left" };
        store::log_in(&mut tx, call.org(), e.id, &call.entry(now, "voicemail", detail)).await?;
        tx.commit().await?;
        db.publish(crate::db::Event::Desk { org: e.org, message: e.message_id });
        if !leave {
            return Ok(vec![Verb::Hangup]);
        }
        let mut script = vec![Verb::Say(spoken(&told))];
        if let Some(n) = callback_number(&told) {
            script.push(Verb::Say(format!("Please call the caller back at {n}.")));
        }
        script.push(Verb::Say(format!("This message was left by {}'s answering service. Goodbye.", told.brand.name)));
        script.push(Verb::Hangup);
        return Ok(script);
    }
    if !again {
        let mut tx = db.begin().await?;
        set_status_in(&mut tx, id, "in-progress", Some(&heard.answered_by)).await?;
        store::log_in(&mut tx, call.org(), e.id, &call.entry(now, "answered", "answered by a person")).await?;
        tx.commit().await?;
        db.publish(crate::db::Event::Desk { org: e.org, message: e.message_id });
    }
    let gather = Verb::Gather {
        action: format!("{}/webhooks/twilio/voice/escalation/key?call={id}", base.trim_end_matches('/')),
        timeout: KEY_SECONDS,
        prompt: vec![
            spoken(&told),
            "Press 1 to confirm you are taking it, 2 to pass it to the next person, or star to repeat.".into(),
        ],
    };
    if again {
        let mut tx = db.begin().await?;
        store::log_in(&mut tx, call.org(), e.id, &call.entry(now, "no_key", "no key pressed; asked once more")).await?;
        tx.commit().await?;
        return Ok(vec![gather, Verb::Say("We did not hear a key. Goodbye.".into()), Verb::Hangup]);
    }
    Ok(vec![gather, Verb::Redirect(format!("{script_url}&again=1"))])
}

/// The script after a key was pressed.
pub async fn key(db: &Db, clock: &dyn Clock, base: &str, id: i64, heard: &Heard) -> Result<Vec<Verb>> {
    let call = call_for(db, id, heard).await?;
    let (script_url, _) = urls(base, id);
    let digit = heard.digits.trim();
    let now = clock.now();
    let log = |kind: &'static str, detail: String| {
        let call = call.clone();
        async move {
            let mut tx = db.begin().await?;
            store::log_in(&mut tx, call.org(), call.escalation_id, &call.entry(now, kind, detail)).await?;
            tx.commit().await?;
            Ok::<(), Error>(())
        }
    };
    match digit {
        "1" => {
            log("keypress", "pressed 1".into()).await?;
            let by = Confirmer::Call { address: call.address.clone(), person: call.person.clone() };
            let e = drive::act(db, clock, base, call.org(), call.escalation_id, Event::Confirm, Some(by)).await?;
            let said = match (e.run.state, e.confirmed_how.as_deref()) {
                (State::Confirmed, Some("pressed 1 on a call")) if e.confirmed_by.as_deref() == Some(&call.person) => {
                    "Confirmed. Thank you, the message is yours. Goodbye.".to_string()
                }
                (State::Confirmed, _) => format!(
                    "It was already confirmed by {}. Thank you. Goodbye.",
                    e.confirmed_by.as_deref().unwrap_or("someone")
                ),
                _ => "This urgent message is no longer waiting for a confirmation. Thank you. Goodbye.".to_string(),
            };
            Ok(vec![Verb::Say(said), Verb::Hangup])
        }
        "2" => {
            log("keypress", "pressed 2: passed to the next step".into()).await?;
            let prepared = super::reach::prepare_for(db, call.org(), call.escalation_id, clock.now()).await?;
            let mut tx = db.begin().await?;
            let current = store::lock_in(&mut tx, call.org(), call.escalation_id).await?;
            let passes = current.run.state == State::Escalating && current.run.version == call.version;
            if passes {
                let (org, id) = (call.org(), call.escalation_id);
                drive::act_in(&mut tx, clock, base, &prepared, org, id, Event::Pass, None).await?;
            }
            tx.commit().await?;
            db.work_added();
            db.publish(crate::db::Event::Desk { org: current.org, message: current.message_id });
            Ok(vec![Verb::Say("Passed to the next person. Goodbye.".into()), Verb::Hangup])
        }
        "*" => Ok(vec![Verb::Redirect(script_url)]),
        _ => Ok(vec![Verb::Say("Sorry, that key does nothing.".into()), Verb::Redirect(script_url)]),
    }
}

/// Applies a status callback, in sequence order; logs how the call went.
pub async fn status(db: &Db, clock: &dyn Clock, id: i64, heard: &Heard) -> Result<()> {
    let call = call_for(db, id, heard).await?;
    let sequence = heard.sequence.unwrap_or(call.sequence + 1);
    if sequence <= call.sequence {
        return Ok(());
    }
    let now = clock.now();
    let mut tx = db.begin().await?;
    let changed = sqlx::query(
        "update escalation_calls set status = $2, sequence = $3, answered_by = coalesce($4, answered_by), \
         updated_at = $5 where id = $1 and sequence < $3",
    )
    .bind(id)
    .bind(&heard.call_status)
    .bind(sequence)
    .bind(Some(heard.answered_by.as_str()).filter(|a| !a.is_empty()))
    .bind(to_millis(now))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(());
    }
    let logged = match heard.call_status.as_str() {
        "ringing" => Some(("ringing", "ringing".to_string())),
        "no-answer" => Some(("no_answer", format!("no answer after {RING_SECONDS} seconds"))),
        "busy" => Some(("busy", "the line was busy".to_string())),
        "failed" => Some(("call_failed", "the call could not be connected".to_string())),
        "completed" => Some((
            "call_ended",
            match heard.duration {
                Some(s) => format!("call ended after {s} s"),
                None => "call ended".to_string(),
            },
        )),
        _ => None,
    };
    if let Some((kind, detail)) = logged {
        store::log_in(&mut tx, call.org(), call.escalation_id, &call.entry(now, kind, detail)).await?;
    }
    tx.commit().await?;
    let e = escalation_of(db, &call).await?;
    db.publish(crate::db::Event::Desk { org: e.org, message: e.message_id });
    Ok(())
}
