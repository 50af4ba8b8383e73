//! The live patch: after hours, a caller holds in a conference room (with hold music) while
//! whoever is on call is called one at a time and told whose call it is: "press 1 to be
//! connected, 2 to pass". 1 joins them to the room, which puts the caller through; 2, no answer
//! or a voicemail moves to the next person; when nobody takes it, the room is closed and the
//! caller leaves a voicemail, which becomes a lead.
//!
//! Each next person is called by a `calls.patch` work item (grouped per call, so a caller who
//! hangs up cancels the rest; keyed per person, so "2" and the call's end never call the next
//! person twice).

use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::clock::to_millis;
use crate::db::{Db, Event, Tx};
use crate::engine::{BoxFuture, Kind, Outcome, WorkContext, WorkItem, Worker};
use crate::ids::OrgId;
use crate::providers::SendError;
use crate::providers::voice::{Dial, Leg, OutboundCall, Verb, VoiceProvider};
use crate::{Error, Result};

use super::model::{Ring, Routing};
use super::route::Urls;
use super::store;

/// A `calls.patch` item: call person `target` of call `call`'s plan (or, past the last,
/// close the room).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchNext {
    pub call: i64,
    pub target: usize,
}

impl Kind for PatchNext {
    const NAME: &'static str = "calls.patch";
}

/// The engine group of a call's patch items.
pub fn group(call: i64) -> String {
    format!("calls.patch:{call}")
}

fn room(call: i64) -> String {
    format!("patch-{call}")
}

/// Queues the call to person `target`, once (in the caller's transaction).
pub async fn next_in(tx: &mut Tx, org: OrgId, call: i64, target: usize, now: Timestamp) -> Result<()> {
    let work = crate::engine::NewWork::of(&PatchNext { call, target }, now)?
        .org(org)
        .group(group(call))
        .priority(crate::engine::Priority::Urgent)
        .key(format!("calls.patch:{call}:{target}"));
    crate::engine::enqueue_in(tx, &work, now).await?;
    Ok(())
}

async fn next(db: &Db, org: OrgId, call: i64, target: usize, now: Timestamp) -> Result<()> {
    let mut tx = db.begin().await?;
    next_in(&mut tx, org, call, target, now).await?;
    tx.commit().await?;
    db.work_added();
    Ok(())
}

/// What the caller hears: the room, with hold music, until someone is put through.
pub fn hold(urls: &Urls<'_>, routing: &Routing, call: i64) -> Vec<Verb> {
    vec![
        Verb::Say("Please hold while we connect you to the person on call.".into()),
        Verb::Dial(Dial {
            action: urls.patched(),
            ring_seconds: routing.ring_seconds,
            caller_id: None,
            record_to: None,
            legs: vec![Leg::Conference { room: room(call), start: false, end_on_exit: false }],
        }),
    ]
}

/// The caller's room ended: put through (then goodbye), or nobody took it (voicemail).
pub async fn patched(db: &Db, base: &str, call: i64) -> Result<Vec<Verb>> {
    let (call, brand, routing) = super::inbound::live(db, call).await?;
    if call.outcome().is_some() {
        return Ok(vec![Verb::Hangup]);
    }
    let urls = Urls { base, call: call.id };
    let mut script = vec![Verb::Say("Nobody could take your call right now.".into())];
    script.extend(super::route::voicemail(&urls, &super::inbound::greeting(&brand, &routing)));
    Ok(script)
}

/// What the person called hears when they pick up.
pub async fn announce(db: &Db, base: &str, call: i64, target: usize) -> Result<Vec<Verb>> {
    let (call, brand, _) = super::inbound::live(db, call).await?;
    let customer = match call.customer_id {
        Some(id) => crate::customers::get(db, call.org(), crate::ids::CustomerId(id)).await.ok().map(|c| c.name),
        None => None,
    };
    let caller = super::inbound::caller_words(&call, customer.as_deref());
    let urls = Urls { base, call: call.id };
    Ok(vec![
        Verb::Gather {
            action: urls.patch_key(target),
            timeout: super::route::WHISPER_SECONDS,
            prompt: vec![format!("Urgent call for {} from {caller}. Press 1 to be connected, 2 to pass.", brand.name)],
        },
        Verb::Hangup,
    ])
}

/// Their key: 1 joins the caller's room (and the call is theirs), anything else passes it on.
pub async fn key(
    db: &Db,
    clock: &dyn crate::clock::Clock,
    base: &str,
    call: i64,
    target: usize,
    digits: &str,
) -> Result<Vec<Verb>> {
    let (call, _, routing) = super::inbound::live(db, call).await?;
    let now = clock.now();
    if digits.trim() != "1" {
        next(db, call.org(), call.id, target + 1, now).await?;
        return Ok(vec![Verb::Say("We will try the next person. Goodbye.".into()), Verb::Hangup]);
    }
    let plan = call.plan()?;
    let (user, number) = match plan.get(target).and_then(|s| s.first()) {
        Some(Ring::Cell { number, user, .. }) => (*user, Some(number.as_str())),
        Some(Ring::Browser { user, .. }) => (Some(*user), None),
        None => return Err(Error::NotFound),
    };
    let mut tx = db.begin().await?;
    let took = store::claim(&mut tx, call.id, user, number, to_millis(now)).await?;
    tx.commit().await?;
    if !took {
        return Ok(vec![Verb::Say("Someone else has taken this call. Goodbye.".into()), Verb::Hangup]);
    }
    db.publish(Event::Call { org: call.org(), call: call.id });
    let urls = Urls { base, call: call.id };
    Ok(vec![
        Verb::Say("Connecting you now.".into()),
        Verb::Dial(Dial {
            action: urls.patched(),
            ring_seconds: routing.ring_seconds,
            caller_id: None,
            record_to: routing.record.then(|| urls.recording("call")),
            legs: vec![Leg::Conference { room: room(call.id), start: true, end_on_exit: true }],
        }),
    ])
}

/// The call to person `target` ended: if it did not put the caller through, the next person.
pub async fn ended(
    db: &Db,
    clock: &dyn crate::clock::Clock,
    call: i64,
    target: usize,
    call_status: &str,
) -> Result<()> {
    if !matches!(call_status, "completed" | "no-answer" | "busy" | "failed" | "canceled") {
        return Ok(());
    }
    let call = store::live(db.pool(), call).await?.ok_or(Error::NotFound)?;
    if call.outcome().is_none() {
        next(db, call.org(), call.id, target + 1, clock.now()).await?;
    }
    Ok(())
}

/// Runs `calls.patch`.
#[derive(Clone)]
pub struct Patcher {
    pub voice: Arc<dyn VoiceProvider>,
    pub base_url: String,
}

impl Patcher {
    async fn run(&self, ctx: &WorkContext, args: &PatchNext) -> Result<Outcome> {
        let Some(call) = store::live(ctx.db.pool(), args.call).await? else {
            return Ok(Outcome::Fail(format!("call {} does not exist", args.call)));
        };
        if call.outcome().is_some() {
            return Ok(Outcome::Done(Some(serde_json::json!({ "skipped": "the call is settled" }))));
        }
        let plan = call.plan()?;
        let urls = Urls { base: &self.base_url, call: call.id };
        let number = match plan.get(args.target).and_then(|s| s.first()) {
            Some(Ring::Cell { number, .. }) => number.clone(),
            Some(Ring::Browser { .. }) => {
                next(&ctx.db, call.org(), call.id, args.target + 1, ctx.clock.now()).await?;
                return Ok(Outcome::Done(Some(serde_json::json!({ "skipped": "a browser cannot hold a patch" }))));
            }
            None => {
                // Nobody took it: close the room; the caller's Dial goes on to voicemail.
                return Ok(match self.voice.end_conference(&room(call.id)).await {
                    Ok(ended) => Outcome::Done(Some(serde_json::json!({ "room_closed": ended }))),
                    Err(SendError::Transient(why)) => Outcome::Retry(why),
                    Err(SendError::Rejected { message, .. }) => {
                        Outcome::Done(Some(serde_json::json!({ "refused": message })))
                    }
                });
            }
        };
        let routing = store::routing(ctx.db.pool(), call.org(), call.brand()).await?;
        let placed = self
            .voice
            .place(OutboundCall {
                from: call.to_number.clone(),
                to: number,
                url: urls.patch(args.target),
                status_callback: urls.patch_status(args.target),
                detect_machine: false,
                ring_seconds: routing.ring_seconds,
            })
            .await;
        Ok(match placed {
            Ok(p) => Outcome::Done(Some(serde_json::json!({ "placed": p.sid }))),
            Err(SendError::Transient(why)) => Outcome::Retry(why),
            Err(SendError::Rejected { message, .. }) => {
                // This person cannot be called: the next one.
                next(&ctx.db, call.org(), call.id, args.target + 1, ctx.clock.now()).await?;
                Outcome::Done(Some(serde_json::json!({ "refused": message })))
            }
        })
    }
}

impl Worker for Patcher {
    type Args = PatchNext;
    fn work(&self, ctx: WorkContext, _item: WorkItem, args: PatchNext) -> BoxFuture<Outcome> {
        let me = self.clone();
        Box::pin(async move { me.run(&ctx, &args).await.into() })
    }
}
