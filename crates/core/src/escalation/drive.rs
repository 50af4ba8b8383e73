//! Running escalations: an urgent message taken starts one; each step is carried out inside
//! the transaction that records it (so its texts are queued exactly when the step is recorded
//! as done); its wait is an `escalation.wait` timer carrying the escalation's version, and a
//! timer for an older version does nothing. A confirmation cancels the escalation's timers and
//! bumps its version in one transaction, so on every instance nothing more is sent.
//!
//! On-call targets are resolved when their step fires, from the schedule as it is then; the
//! rest of the flow is the snapshot taken with the message.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::codes;
use super::reach::{self, Prepared, Reach};
use super::run::{self, Effect, Event, Position, State};
use super::store::{self, Entry, Escalation};
use super::writes::Writes;
use crate::clock::Clock;
use crate::db::{Db, Tx};
use crate::desk::delivery::{TEXT_MAX, Told};
use crate::desk::flow::{Action, Step};
use crate::desk::messages::UrgentTaken;
use crate::engine::{self, BoxFuture, Kind, Listener, NewWork, Outcome, Priority, WorkContext, WorkItem, Worker};
use crate::ids::OrgId;
use crate::parse::{EmailAddress, PhoneE164};
use crate::{Error, Result, messaging};

/// An `escalation.wait` timer: the wait after the step set for `version` is over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitOver {
    pub escalation_id: i64,
    pub version: i64,
}

impl Kind for WaitOver {
    const NAME: &'static str = "escalation.wait";
    const PRIORITY: Priority = Priority::Urgent;
}

/// Registers the escalation's listener (urgent messages taken) and its timers.
pub fn register(workers: &mut engine::Workers, placer: super::calls::Placer) {
    let base = placer.base_url.clone();
    workers
        .listen(Starter { base: base.clone() })
        .add(Timers { base: base.clone(), batch: tokio::sync::OnceCell::new() })
        .add(Replies { base })
        .add(placer);
}

/// `base`: the server's public URL, for the acknowledgement links texts and emails carry.
struct Starter {
    base: String,
}

impl Listener for Starter {
    type Event = UrgentTaken;
    fn react(&self, ctx: WorkContext, item: WorkItem, event: std::sync::Arc<UrgentTaken>) -> BoxFuture<Result<()>> {
        let base = self.base.clone();
        Box::pin(async move {
            let Some(org) = item.org_id else { return Ok(()) };
            start(&ctx.db, ctx.clock.as_ref(), &base, org, event.message_id).await
        })
    }
}

/// Runs `escalation.wait` timers. Timers that come due together are carried out together:
/// the engine runs them at once, and each hands its step to one batch task per instance that
/// gathers what the steps need, then carries them out in one transaction with their writes
/// set-wise ([`Writes`]; if it fails, each step alone): a burst of steps costs a few
/// statements and one commit rather than about fifteen statements and a commit each. On
/// SQLite that is one turn of the write lock; on PostgreSQL the escalations are row-locked
/// and each person's reply codes held by an advisory lock, so confirmations, starts and other
/// instances' batches run beside it.
struct Timers {
    base: String,
    batch: tokio::sync::OnceCell<tokio::sync::mpsc::UnboundedSender<Due>>,
}

/// A timer handed to the batch task, with where its outcome goes.
struct Due {
    org: OrgId,
    wait: WaitOver,
    done: tokio::sync::oneshot::Sender<std::result::Result<(), String>>,
}

/// Steps carried out in one transaction at most.
const BATCH_MAX: usize = 64;

/// Lanes of batches written at once on PostgreSQL (see [`batches`]).
const WRITERS_POSTGRES: usize = 2;

impl Worker for Timers {
    type Args = WaitOver;
    fn work(&self, ctx: WorkContext, item: WorkItem, args: WaitOver) -> BoxFuture<Outcome> {
        let base = self.base.clone();
        let batch = self.batch.get().cloned();
        let sender = match batch {
            Some(s) => s,
            None => {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                let (db, clock) = (ctx.db.clone(), ctx.clock.clone());
                if self.batch.set(tx).is_ok() {
                    tokio::spawn(batches(db, clock, base.clone(), rx));
                }
                match self.batch.get() {
                    Some(s) => s.clone(),
                    None => return Box::pin(async { Outcome::Retry("the step batcher is not running".into()) }),
                }
            }
        };
        Box::pin(async move {
            let Some(org) = item.org_id else {
                return Outcome::Fail("an escalation timer with no organization".into());
            };
            let (done, outcome) = tokio::sync::oneshot::channel();
            if sender.send(Due { org, wait: args, done }).is_err() {
                return Outcome::Retry("the step batcher stopped".into());
            }
            match outcome.await {
                Ok(Ok(())) => Outcome::Done(None),
                Ok(Err(e)) => Outcome::Retry(e),
                Err(_) => Outcome::Retry("the step batcher stopped".into()),
            }
        })
    }
}

/// The batch tasks, a pipeline: the first takes whatever timers have arrived (up to
/// [`BATCH_MAX`] per lane) and gathers what their steps need (reads, concurrently); each lane
/// then carries its share out in one transaction, while the first gathers the next. SQLite has
/// one writer, so one lane; on PostgreSQL [`WRITERS_POSTGRES`] lanes write at once, a step's
/// lane chosen by the people it may reach ([`lane_of`]): a person's reply codes are held until
/// their transaction commits, so steps reaching the same person in two lanes would only wait
/// on each other.
async fn batches(
    db: Db,
    clock: crate::clock::SharedClock,
    base: String,
    mut due: tokio::sync::mpsc::UnboundedReceiver<Due>,
) {
    let lanes = match db.backend() {
        crate::db::Backend::Sqlite => 1,
        crate::db::Backend::Postgres => WRITERS_POSTGRES,
    };
    let mut senders = Vec::with_capacity(lanes);
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..lanes {
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<Vec<(Due, Prepared)>>(2);
        let (db, clock, base) = (db.clone(), clock.clone(), base.clone());
        writers.spawn(async move {
            while let Some(ready) = ready_rx.recv().await {
                write_batch(&db, clock.as_ref(), &base, ready).await;
            }
        });
        senders.push(ready_tx);
    }
    'gather: while let Some(first) = due.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH_MAX * lanes {
            match due.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let ready = prepare_batch(&db, clock.as_ref(), batch).await;
        let mut parts: Vec<Vec<(Due, Prepared)>> = (0..lanes).map(|_| Vec::new()).collect();
        for (d, p) in ready {
            let lane = lane_of(d.org, &p, lanes);
            parts[lane].push((d, p));
        }
        for (lane, part) in parts.into_iter().enumerate() {
            let mut part = part.into_iter().peekable();
            while part.peek().is_some() {
                let chunk: Vec<_> = part.by_ref().take(BATCH_MAX).collect();
                if senders[lane].send(chunk).await.is_err() {
                    break 'gather;
                }
            }
        }
    }
    drop(senders);
    while writers.join_next().await.is_some() {}
}

/// The lane of `lanes` a step is written in: the same for every step whose flow may reach the
/// same first person (by address, in its organization).
fn lane_of(org: OrgId, p: &Prepared, lanes: usize) -> usize {
    use std::hash::{Hash, Hasher};
    if lanes <= 1 {
        return 0;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (org.0, addresses(p).into_iter().min()).hash(&mut h);
    (h.finish() % lanes as u64) as usize
}

/// What each step of the batch needs, read with a few statements for all
/// ([`reach::prepare_many`]). Timers whose escalation is gone are done; if the reads fail, the
/// batch's timers are retried.
async fn prepare_batch(db: &Db, clock: &dyn Clock, batch: Vec<Due>) -> Vec<(Due, Prepared)> {
    let wanted: Vec<(OrgId, i64)> = batch.iter().map(|d| (d.org, d.wait.escalation_id)).collect();
    let prepared = match reach::prepare_many(db, &wanted, clock.now()).await {
        Ok(p) => p,
        Err(e) => {
            for d in batch {
                let _ = d.done.send(Err(e.to_string()));
            }
            return Vec::new();
        }
    };
    let mut ready = Vec::with_capacity(batch.len());
    for (d, p) in batch.into_iter().zip(prepared) {
        match p {
            Ok(p) => ready.push((d, p)),
            // Removed since (its message deleted): nothing to do.
            Err(Error::NotFound) => {
                let _ = d.done.send(Ok(()));
            }
            Err(e) => {
                let _ = d.done.send(Err(e.to_string()));
            }
        }
    }
    ready
}

/// Carries out a gathered batch in one transaction, its writes set-wise ([`Writes`]). If the
/// transaction fails, each step is carried out again on its own, so one that cannot be does
/// not hold back the others.
async fn write_batch(db: &Db, clock: &dyn Clock, base: &str, ready: Vec<(Due, Prepared)>) {
    let (dones, steps): (Vec<_>, Vec<_>) = ready.into_iter().map(|(d, p)| (d.done, (d.org, d.wait, p))).unzip();
    let outcomes: Vec<std::result::Result<Option<Escalation>, String>> = match write_together(db, clock, base, &steps)
        .await
    {
        Ok(done) => {
            db.work_added();
            done.into_iter().map(Ok).collect()
        }
        Err(e) => {
            tracing::warn!(error = %e, steps = steps.len(), "a batch of escalation steps failed; each is tried alone");
            let mut out = Vec::with_capacity(steps.len());
            for (org, wait, p) in &steps {
                let event = Event::WaitOver { version: wait.version };
                out.push(match act_prepared(db, clock, base, p, *org, wait.escalation_id, event, None).await {
                    Ok(e) => Ok(Some(e)),
                    Err(Error::NotFound) => Ok(None),
                    Err(e) => {
                        tracing::warn!(escalation = wait.escalation_id, error = %e, "an escalation step failed");
                        Err(e.to_string())
                    }
                });
            }
            out
        }
    };
    for (done, r) in dones.into_iter().zip(outcomes) {
        if let Ok(Some(e)) = &r {
            db.publish(crate::db::Event::Desk { org: e.org, message: e.message_id });
        }
        let _ = done.send(r.map(|_| ()));
    }
}

/// The steps of a batch in one transaction: the escalations held and read with one
/// statement, the codes and opt-outs of everyone they may reach with a few, the steps carried
/// out in memory, and their writes written set-wise. `None` for an escalation removed since.
async fn write_together(
    db: &Db,
    clock: &dyn Clock,
    base: &str,
    steps: &[(OrgId, WaitOver, Prepared)],
) -> Result<Vec<Option<Escalation>>> {
    let mut tx = db.begin().await?;
    let ids: Vec<(OrgId, i64)> = steps.iter().map(|(org, w, _)| (*org, w.escalation_id)).collect();
    let mut held = store::lock_many_in(&mut tx, &ids).await?;
    let mut w = Writes::new();
    let mut orgs: Vec<OrgId> = ids.iter().map(|(org, _)| *org).collect();
    orgs.sort_by_key(|o| o.0);
    orgs.dedup();
    for org in orgs {
        let mut escalations = Vec::new();
        let mut reached: Vec<&str> = Vec::new();
        for (_, wait, p) in steps.iter().filter(|(o, _, _)| *o == org) {
            escalations.push(wait.escalation_id);
            if let Some(e) = held.iter().find(|e| e.id == wait.escalation_id) {
                reached.extend(next_reached(p, e, Event::WaitOver { version: wait.version }));
            }
        }
        w.load(&mut tx, org, &escalations, &reached).await?;
    }
    let mut out = Vec::with_capacity(steps.len());
    for (org, wait, p) in steps {
        let Some(at) = held.iter().position(|e| e.id == wait.escalation_id && e.org == *org) else {
            out.push(None);
            continue;
        };
        let e = held.swap_remove(at);
        let event = Event::WaitOver { version: wait.version };
        let e = act_with(&mut tx, &mut w, clock, base, p, e, event, None).await?;
        // Another timer of the batch may be the same escalation's: it finds it as it is now.
        held.push(e.clone());
        out.push(Some(e));
    }
    w.flush(&mut tx, clock.now()).await?;
    tx.commit().await?;
    Ok(out)
}

/// Starts the escalation of an urgent message by its caller type's flow (once: a message has
/// at most one), carrying out its first step at once.
pub async fn start(db: &Db, clock: &dyn Clock, base: &str, org: OrgId, message: i64) -> Result<()> {
    let told = match Told::load(db, org, message).await {
        Ok(t) => t,
        Err(Error::NotFound) => return Ok(()),
        Err(e) => return Err(e),
    };
    let Some(policy) = told.caller.urgent_flow.clone() else { return Ok(()) };
    let now = clock.now();
    let prepared = reach::prepare(db, told, &policy, now).await?;
    let told = &prepared.told;
    let (run, effects) = run::start();
    let mut tx = db.begin().await?;
    let Some(mut e) = store::insert_in(&mut tx, org, told.brand.id, message, &policy, run, now).await? else {
        return Ok(());
    };
    let steps = match policy.steps.len() {
        1 => "1 step".to_string(),
        n => format!("{n} steps"),
    };
    let detail = format!("{steps}, {}", repeat_label(&policy));
    let started = Entry { at: now, round: 1, kind: "started".into(), detail: Some(detail), ..Default::default() };
    let mut w = Writes::new();
    w.load(&mut tx, org, &[e.id], &addresses(&prepared)).await?;
    w.log(org, e.id, started);
    let mut cx = Cx { clock, told, reach: &prepared, now, base, w: &mut w };
    cx.effects(&mut tx, &mut e, effects).await?;
    w.save(&e);
    w.flush(&mut tx, now).await?;
    tx.commit().await?;
    db.work_added();
    db.publish(crate::db::Event::Desk { org, message });
    Ok(())
}

fn repeat_label(p: &crate::desk::flow::Policy) -> String {
    match p.repeat {
        crate::desk::flow::Repeat::UntilConfirmed => "repeated until someone confirms".into(),
        crate::desk::flow::Repeat::Times(1) => "once".into(),
        crate::desk::flow::Repeat::Times(n) => format!("{n} rounds"),
    }
}

/// Who confirmed, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmer {
    /// By replying a code from this number.
    Reply { address: String, text: String },
    /// By pressing 1 on a call to this number.
    Call { address: String, person: String },
    /// By Accept on their acknowledgement link.
    Link { address: String, person: String },
    /// An operator or dispatcher at the desk, with their reason.
    Operator { name: String, reason: String },
}

/// Applies `event` to the escalation in its own transaction; returns it as it is then.
pub async fn act(
    db: &Db,
    clock: &dyn Clock,
    base: &str,
    org: OrgId,
    id: i64,
    event: Event,
    by: Option<Confirmer>,
) -> Result<Escalation> {
    let prepared = reach::prepare_for(db, org, id, clock.now()).await?;
    act_prepared(db, clock, base, &prepared, org, id, event, by).await
}

/// [`act`] with what its steps need gathered already.
#[allow(clippy::too_many_arguments)]
async fn act_prepared(
    db: &Db,
    clock: &dyn Clock,
    base: &str,
    prepared: &Prepared,
    org: OrgId,
    id: i64,
    event: Event,
    by: Option<Confirmer>,
) -> Result<Escalation> {
    let mut tx = db.begin().await?;
    let e = act_in(&mut tx, clock, base, prepared, org, id, event, by).await?;
    tx.commit().await?;
    db.work_added();
    db.publish(crate::db::Event::Desk { org, message: e.message_id });
    Ok(e)
}

/// The addresses the step `event` fires next reaches (steps after it, and the fallback, are
/// read when they fire): their reply codes and opt-outs are read up front, with the batch's.
fn next_reached<'a>(p: &'a Prepared, e: &Escalation, event: Event) -> Vec<&'a str> {
    let (_, effects) = run::advance(&e.policy, e.run, event);
    let steps = effects.iter().filter_map(|f| match f {
        Effect::Fire(pos) => p.steps.get(pos.step),
        _ => None,
    });
    steps.flatten().filter_map(|(_, r)| r.as_ref().ok()).flatten().map(|r| r.address.as_str()).collect()
}

/// Every address the escalation's steps (and its fallback) may reach: their reply codes and
/// opt-outs are read up front.
fn addresses(p: &Prepared) -> Vec<&str> {
    let steps = p.steps.iter().flatten().map(|(_, r)| r);
    let all = steps.chain(p.fallback.iter().map(|(_, r)| r));
    all.filter_map(|r| r.as_ref().ok()).flatten().map(|r| r.address.as_str()).collect()
}

/// [`act`] inside the caller's transaction, with what its steps need gathered before it
/// ([`reach::prepare_for`]).
#[allow(clippy::too_many_arguments)]
pub async fn act_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    base: &str,
    prepared: &Prepared,
    org: OrgId,
    id: i64,
    event: Event,
    by: Option<Confirmer>,
) -> Result<Escalation> {
    let e = store::lock_in(tx, org, id).await?;
    let mut w = Writes::new();
    w.load(tx, org, &[e.id], &addresses(prepared)).await?;
    let e = act_with(tx, &mut w, clock, base, prepared, e, event, by).await?;
    w.flush(tx, clock.now()).await?;
    Ok(e)
}

/// Applies `event` to the escalation `e`, held by `tx`: what it writes is gathered in `w`
/// (whose codes and opt-outs for `prepared`'s addresses are read already), for the caller to
/// flush.
#[allow(clippy::too_many_arguments)]
async fn act_with(
    tx: &mut Tx,
    w: &mut Writes,
    clock: &dyn Clock,
    base: &str,
    prepared: &Prepared,
    mut e: Escalation,
    event: Event,
    by: Option<Confirmer>,
) -> Result<Escalation> {
    let (org, id) = (e.org, e.id);
    let told = &prepared.told;
    let now = clock.now();
    let (run, effects) = run::advance(&e.policy, e.run, event);
    if run == e.run && effects.is_empty() {
        return Ok(e);
    }
    let late = e.run.state == State::Exhausted;
    e.run = run;
    if event == Event::Confirm {
        let (name, how, note) = match &by {
            Some(Confirmer::Reply { address, text }) => {
                w.flush(tx, now).await?;
                let person = store::person_of_in(tx, org, id, address).await?.unwrap_or_else(|| address.clone());
                (person, format!("replied \"{}\"", text.trim()), None)
            }
            Some(Confirmer::Call { person, .. }) => (person.clone(), "pressed 1 on a call".into(), None),
            Some(Confirmer::Link { person, .. }) => (person.clone(), "accepted from their link".into(), None),
            Some(Confirmer::Operator { name, reason, .. }) => {
                (name.clone(), "marked at the desk".into(), Some(reason.clone()))
            }
            None => ("someone".into(), "confirmed".into(), None),
        };
        e.confirmed_by = Some(name.clone());
        e.confirmed_how = Some(how.clone());
        e.confirmed_note = note.clone();
        let pos = e.run.at;
        let entry = Entry {
            at: now,
            round: pos.round,
            step: pos.step + 1,
            kind: "confirmed".into(),
            person: Some(name),
            detail: Some(match (note, late) {
                (Some(n), false) => format!("{how}: {n}"),
                (Some(n), true) => format!("{how} after the flow ended: {n}"),
                (None, false) => how,
                (None, true) => format!("{how} after the flow ended"),
            }),
            ..Default::default()
        };
        w.log(org, id, entry);
    } else if event == Event::Pass {
        let pos = e.run.at;
        let entry =
            Entry { at: now, round: pos.round, step: pos.step + 1, kind: "passed".into(), ..Default::default() };
        w.log(org, id, entry);
    }
    let mut cx = Cx { clock, told, reach: prepared, now, base, w };
    cx.effects(tx, &mut e, effects).await?;
    if e.run.state == State::Confirmed {
        match &by {
            Some(Confirmer::Reply { address, .. }) => cx.thank(tx, &e, Some(address), true).await?,
            // They heard "thank you" on the call.
            Some(Confirmer::Call { address, .. } | Confirmer::Link { address, .. }) => {
                cx.thank(tx, &e, Some(address), false).await?
            }
            _ => cx.thank(tx, &e, None, false).await?,
        }
    }
    cx.w.save(&e);
    Ok(e)
}

/// What one step needs from its surroundings.
struct Cx<'a> {
    clock: &'a dyn Clock,
    told: &'a Told,
    /// Whom each step's targets reach (gathered before the transaction).
    reach: &'a Prepared,
    now: Timestamp,
    /// The server's public URL (acknowledgement links).
    base: &'a str,
    /// What the steps write, written together at the end.
    w: &'a mut Writes,
}

impl Cx<'_> {
    /// Carries out effects, and the events they cause, until the escalation waits or ends.
    async fn effects(&mut self, tx: &mut Tx, e: &mut Escalation, mut effects: Vec<Effect>) -> Result<()> {
        let group = format!("escalation:{}", e.id);
        let mut nobody_in: Option<u32> = None;
        while !effects.is_empty() {
            let mut next = Vec::new();
            for effect in effects {
                match effect {
                    Effect::Fire(pos) => {
                        let reached = self.fire(tx, e, pos).await?;
                        let (run, more) = run::advance(&e.policy, e.run, Event::Fired { reached });
                        e.run = run;
                        next.extend(more);
                    }
                    Effect::Wait { minutes, version } => {
                        let due = self.now + SignedDuration::from_mins(i64::from(minutes));
                        let work = NewWork::of(&WaitOver { escalation_id: e.id, version }, due)?
                            .org(e.org)
                            .group(group.clone())
                            .key(format!("escalation:{}:wait:{version}", e.id));
                        self.w.enqueue(tx, work).await?;
                        let pos = e.run.at;
                        let entry = Entry {
                            at: self.now,
                            round: pos.round,
                            step: pos.step + 1,
                            kind: "waiting".into(),
                            detail: Some(format!("waiting {minutes} min for a confirmation")),
                            ..Default::default()
                        };
                        self.w.log(e.org, e.id, entry);
                    }
                    Effect::NobodyReached { round } => {
                        nobody_in = Some(round);
                        let entry = Entry {
                            at: self.now,
                            round,
                            kind: "nobody_reached".into(),
                            detail: Some(format!("round {round} reached nobody: the desk must call someone")),
                            ..Default::default()
                        };
                        self.w.log(e.org, e.id, entry);
                    }
                    Effect::Exhausted => {
                        // Nothing is canceled: calls the last steps queued still ring (a
                        // timer left over is stale by its version).
                        e.ended_at = Some(self.now);
                        self.w.close_codes(e.org, e.id);
                        let entry = Entry {
                            at: self.now,
                            round: e.run.at.round,
                            kind: "exhausted".into(),
                            detail: Some("the flow ended and nobody confirmed".into()),
                            ..Default::default()
                        };
                        self.w.log(e.org, e.id, entry);
                        self.alert_fallback(tx, e, nobody_in).await?;
                    }
                    Effect::Confirmed => {
                        e.ended_at = Some(self.now);
                        self.w.flush(tx, self.now).await?;
                        engine::cancel_group_in(tx, &group, self.now).await?;
                        self.w.close_codes(e.org, e.id);
                    }
                }
            }
            effects = next;
        }
        Ok(())
    }

    /// Tells the client's fallback that the flow ended with nobody taking the message (and
    /// whether a round found nobody to reach at all): a text, or an email; or says on the
    /// timeline why not.
    async fn alert_fallback(&mut self, tx: &mut Tx, e: &Escalation, nobody_in: Option<u32>) -> Result<()> {
        let base = Entry { at: self.now, round: e.run.at.round, target: None, ..Default::default() };
        let Some((label, resolution)) = self.reach.fallback.clone() else {
            let why = "the client has no fallback contact: the desk must call someone";
            let entry = Entry { kind: "fallback_skipped".into(), detail: Some(why.into()), ..base };
            self.w.log(e.org, e.id, entry);
            return Ok(());
        };
        let base = Entry { target: Some(label), ..base };
        let people = match resolution {
            Ok(people) => people,
            Err((person, why)) => {
                let entry = Entry { kind: "fallback_skipped".into(), person, detail: Some(why), ..base };
                self.w.log(e.org, e.id, entry);
                return Ok(());
            }
        };
        let lead = match nobody_in {
            Some(_) => "Nobody on call could be reached for this urgent message: please see that someone calls back.",
            None => {
                "Nobody confirmed this urgent message after every step of its flow: please see that someone calls back."
            }
        };
        let brand = &self.told.brand;
        for p in people {
            let base = Entry { person: Some(p.person.clone()), address: Some(p.address.clone()), ..base.clone() };
            let skip = |why: String| Entry { kind: "fallback_skipped".into(), detail: Some(why), ..base.clone() };
            let entry = if p.address.contains('@') {
                match EmailAddress::parse(&p.address) {
                    Ok(to) => {
                        let (subject, text) = self.told.email();
                        let subject = match nobody_in {
                            Some(_) => format!("Nobody reached: {subject}"),
                            None => format!("Nobody confirmed: {subject}"),
                        };
                        self.w.flush(tx, self.now).await?;
                        messaging::queue_email_in(tx, self.clock, brand, &to, &subject, &format!("{lead}\n\n{text}"))
                            .await?;
                        Entry { kind: "fallback".into(), detail: Some(subject), ..base }
                    }
                    Err(_) => skip(format!("{} is not an email address", p.address)),
                }
            } else {
                match PhoneE164::from_stored(&p.address) {
                    Err(_) => skip(format!("{} is not a number a text can go to", p.address)),
                    Ok(_) if brand.sms_number.is_none() => {
                        skip(format!("{} has no SMS number to text from", brand.name))
                    }
                    Ok(phone) => {
                        let body = format!("{lead} {}", self.told.text(TEXT_MAX - lead.chars().count() - 1));
                        self.w.sms(tx, brand, &phone, &body, Priority::Urgent, self.now).await?;
                        Entry { kind: "fallback".into(), detail: Some(body), ..base }
                    }
                }
            };
            self.w.log(e.org, e.id, entry);
        }
        Ok(())
    }

    /// Carries out the step at `pos` for each of its targets; returns whether it reached anyone.
    async fn fire(&mut self, tx: &mut Tx, e: &Escalation, pos: Position) -> Result<bool> {
        let Some(step) = e.policy.steps.get(pos.step).cloned() else { return Ok(false) };
        let mut reached = false;
        let prepared = self.reach.steps.get(pos.step).cloned().unwrap_or_default();
        for (label, resolution) in prepared {
            let base = Entry {
                at: self.now,
                round: pos.round,
                step: pos.step + 1,
                action: Some(action_str(step.action).into()),
                target: Some(label),
                ..Default::default()
            };
            match resolution {
                Err((person, why)) => {
                    let entry = Entry { kind: "skipped".into(), person, detail: Some(why), ..base };
                    self.w.log(e.org, e.id, entry);
                }
                Ok(people) => {
                    for p in people {
                        reached |= self.send(tx, e, &step, &p, base.clone()).await?;
                    }
                }
            }
        }
        Ok(reached)
    }

    /// Sends the step's action to one person; logs what happened; returns whether it went.
    async fn send(&mut self, tx: &mut Tx, e: &Escalation, step: &Step, p: &Reach, base: Entry) -> Result<bool> {
        let brand = &self.told.brand;
        let base = Entry { person: Some(p.person.clone()), address: Some(p.address.clone()), ..base };
        let skip = |why: String| Entry { kind: "skipped".into(), detail: Some(why), ..base.clone() };
        match step.action {
            Action::TextConfirm | Action::Text => {
                let Ok(phone) = PhoneE164::from_stored(&p.address) else {
                    self.w.log(e.org, e.id, skip(format!("{} is not a number a text can go to", p.address)));
                    return Ok(false);
                };
                if brand.sms_number.is_none() {
                    self.w.log(e.org, e.id, skip(format!("{} has no SMS number to text from", brand.name)));
                    return Ok(false);
                }
                let confirm = step.action == Action::TextConfirm;
                let (recipient, code) = self
                    .w
                    .recipient(tx, e.org, e.id, phone.as_str(), &p.person, confirm, e.run.version, self.now)
                    .await?;
                let url = self.ack_link(e, recipient);
                let body = ask_text(self.told, code.map(codes::code_text).as_deref(), &url);
                let sms = self.w.sms(tx, brand, &phone, &body, Priority::Urgent, self.now).await?;
                // The link is theirs alone: the timeline keeps the text without it.
                let logged = body.replace(&url, "(their link)");
                let entry = Entry { kind: "sent".into(), sms_id: Some(sms.0), detail: Some(logged), ..base };
                self.w.log(e.org, e.id, entry);
                Ok(true)
            }
            Action::Email => {
                let Ok(to) = EmailAddress::parse(&p.address) else {
                    self.w.log(e.org, e.id, skip(format!("{} is not an email address", p.address)));
                    return Ok(false);
                };
                let (recipient, _) =
                    self.w.recipient(tx, e.org, e.id, to.as_str(), &p.person, false, e.run.version, self.now).await?;
                let url = self.ack_link(e, recipient);
                let (subject, text) = self.told.email();
                let text = format!("{text}\nAccept it, or pass it to the next person: {url}\n");
                self.w.flush(tx, self.now).await?;
                messaging::queue_email_in(tx, self.clock, brand, &to, &subject, &text).await?;
                let entry = Entry { kind: "sent".into(), detail: Some(subject), ..base };
                self.w.log(e.org, e.id, entry);
                Ok(true)
            }
            Action::Secure => {
                let Some(contact) = p.contact else {
                    let why = "a secure message goes to one of the client's contacts, not to a bare address".into();
                    self.w.log(e.org, e.id, skip(why));
                    return Ok(false);
                };
                self.w.flush(tx, self.now).await?;
                let sent = self.told.secure_in(tx, self.clock, contact, "escalation").await?;
                let entry = if sent {
                    Entry { kind: "sent".into(), detail: Some("in their secure inbox; notice sent".into()), ..base }
                } else {
                    skip("their secure inbox could not be reached (no cell or email for the notice)".into())
                };
                self.w.log(e.org, e.id, entry);
                Ok(sent)
            }
            Action::CallConfirm | Action::CallLeaveMessage => {
                let Ok(phone) = PhoneE164::from_stored(&p.address) else {
                    self.w.log(e.org, e.id, skip(format!("{} is not a number a call can go to", p.address)));
                    return Ok(false);
                };
                let target = base.target.clone().unwrap_or_default();
                let pos = Position { round: base.round, step: base.step.saturating_sub(1) };
                self.w.flush(tx, self.now).await?;
                super::calls::queue_in(tx, e, pos, step.action, &p.person, phone.as_str(), &target, self.now).await?;
                Ok(true)
            }
            Action::LivePatch => {
                let why = "a live patch needs the caller still on the line: it comes with calls".to_string();
                self.w.log(e.org, e.id, skip(why));
                Ok(false)
            }
        }
    }

    /// A link for `recipient` to accept or pass the message.
    fn ack_link(&mut self, e: &Escalation, recipient: i64) -> String {
        let link = crate::links::NewLink {
            scope: crate::links::Scope::Ack,
            subject: e.id,
            about: Some(recipient),
            expires_at: Some(self.now + SignedDuration::from_hours(24 * ACK_LINK_DAYS)),
        };
        let token = self.w.link(e.org, &link, self.now);
        format!("{}/ack/{token}", self.base.trim_end_matches('/'))
    }

    /// Tells whoever confirmed by reply "thank you", and everyone else texted that it is
    /// handled.
    async fn thank(&mut self, tx: &mut Tx, e: &Escalation, confirmer: Option<&str>, thank_them: bool) -> Result<()> {
        let brand = &self.told.brand;
        if brand.sms_number.is_none() {
            return Ok(());
        }
        let who = e.confirmed_by.clone().unwrap_or_else(|| "someone".into());
        // Who was texted is read from the timeline: what this transaction logged so far first.
        self.w.flush(tx, self.now).await?;
        for (address, person) in store::texted_in(tx, e.org, e.id).await? {
            let Ok(phone) = PhoneE164::from_stored(&address) else { continue };
            // The confirmer is whoever has that number, or the person confirmed by name (the
            // same contact reached at another number).
            let theirs = Some(address.as_str()) == confirmer || e.confirmed_by.as_deref() == Some(person.as_str());
            if theirs && !thank_them {
                continue;
            }
            let (body, kind) = if theirs {
                (format!("Confirmed, thank you. The urgent message for {} is yours.", brand.name), "thanked")
            } else {
                (
                    format!(
                        "{}: the urgent message you were sent is handled ({who} confirmed it). No need to reply.",
                        brand.name
                    ),
                    "told",
                )
            };
            let sms = self.w.sms(tx, brand, &phone, &body, Priority::Urgent, self.now).await?;
            let entry = Entry {
                at: self.now,
                round: e.run.at.round,
                step: e.run.at.step + 1,
                kind: kind.into(),
                person: Some(person),
                address: Some(address),
                detail: Some(body),
                sms_id: Some(sms.0),
                ..Default::default()
            };
            self.w.log(e.org, e.id, entry);
        }
        Ok(())
    }
}

/// A text asking for a confirmation: the message, shortened to leave room for the ask.
/// A text about an urgent message: the message, shortened to leave room for the ask, and the
/// link to accept or pass it (with `code`, the reply that confirms it too).
pub fn ask_text(told: &Told, code: Option<&str>, url: &str) -> String {
    let ask = match code {
        Some(code) => format!(" Reply {code} to confirm you are taking it, or accept or pass: {url}"),
        None => format!(" Accept or pass: {url}"),
    };
    let text = told.text(TEXT_MAX - ask.chars().count());
    format!("{text}{ask}")
}

/// How long an acknowledgement link works.
pub const ACK_LINK_DAYS: i64 = 7;

pub fn action_str(a: Action) -> &'static str {
    a.as_str()
}

/// `Text, asking for a reply code`.
pub fn action_label(a: &str) -> &'static str {
    match a {
        "text_confirm" => "Text asking for a reply code",
        "text" => "Text",
        "call_confirm" => "Call, press 1 to confirm",
        "call_leave_message" => "Call, leave a message",
        "email" => "Email",
        "secure" => "Secure message",
        "live_patch" => "Live patch",
        _ => "Step",
    }
}

/// An `escalation.reply` item: a text that reads as a reply code came from `address` to the
/// brand's number (the inbound router queues it; STOP and the like never come here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub brand_id: i64,
    pub address: String,
    pub text: String,
}

impl Kind for Reply {
    const NAME: &'static str = "escalation.reply";
    const PRIORITY: Priority = Priority::Urgent;
}

/// Queues a reply inside the router's transaction when `text` reads as a code or a bare "ok"
/// from a number that was ever asked to confirm in the organization; returns whether it did.
pub async fn reply_in(
    tx: &mut Tx,
    brand: &crate::tenancy::Brand,
    from: &PhoneE164,
    text: &str,
    provider_id: &str,
    now: Timestamp,
) -> Result<bool> {
    if codes::read(text) == codes::Reply::Other || !store::ever_asked_in(tx, brand.org_id, from.as_str()).await? {
        return Ok(false);
    }
    let reply = Reply { brand_id: brand.id.0, address: from.as_str().to_string(), text: text.to_string() };
    let work = NewWork::of(&reply, now)?.org(brand.org_id).key(format!("escalation.reply:{provider_id}"));
    engine::enqueue_in(tx, &work, now).await?;
    Ok(true)
}

struct Replies {
    base: String,
}

impl Worker for Replies {
    type Args = Reply;
    fn work(&self, ctx: WorkContext, item: WorkItem, args: Reply) -> BoxFuture<Outcome> {
        let base = self.base.clone();
        Box::pin(async move {
            let Some(org) = item.org_id else { return Outcome::Fail("a reply with no organization".into()) };
            match answer(&ctx.db, ctx.clock.as_ref(), &base, org, &args).await {
                Ok(done) => Outcome::Done(Some(serde_json::json!({ "did": done }))),
                Err(e) => Outcome::Retry(e.to_string()),
            }
        })
    }
}

/// How long after a flow ended with nobody confirming a reply with its code still takes the
/// message (the code is free for other messages meanwhile; an open one comes first).
const LATE_HOURS: i64 = 24;

/// Confirms the escalation a reply names, or answers with what would work.
async fn answer(db: &Db, clock: &dyn Clock, base: &str, org: OrgId, r: &Reply) -> Result<&'static str> {
    let brand = crate::tenancy::brand(db, org, crate::ids::BrandId(r.brand_id)).await?;
    let mut tx = db.begin().await?;
    let open = store::open_codes_in(&mut tx, org, &r.address).await?;
    let reply = codes::read(&r.text);
    let mut outcome = codes::resolve(reply, &open);
    if let codes::Outcome::Answer(_) = outcome {
        // Not one of their open codes: it may be a message whose flow ended with nobody
        // confirming, which they are taking late.
        let since = clock.now() - SignedDuration::from_hours(LATE_HOURS);
        let ended = store::late_codes_in(&mut tx, org, &r.address, since).await?;
        if let Some(id) = codes::taken_late(reply, &open, &ended) {
            outcome = codes::Outcome::Confirm(id);
        }
    }
    let did = match outcome {
        codes::Outcome::Confirm(id) => {
            tx.rollback().await?;
            let by = Confirmer::Reply { address: r.address.clone(), text: r.text.clone() };
            act(db, clock, base, org, id, Event::Confirm, Some(by)).await?;
            return Ok("confirmed");
        }
        codes::Outcome::Answer(text) => {
            let phone = PhoneE164::from_stored(&r.address).map_err(Error::Unexpected)?;
            messaging::queue_sms_with_priority_in(&mut tx, clock, &brand, &phone, &text, Priority::Urgent).await?;
            "answered"
        }
        codes::Outcome::NotMine => "nothing",
    };
    tx.commit().await?;
    db.work_added();
    Ok(did)
}

/// An operator or dispatcher marks a message's escalation confirmed, with their reason (they
/// reached someone by phone, the client called in). One that ended with nobody confirming
/// can be marked too; one already confirmed is refused, naming who confirmed it.
pub async fn confirm_at_desk(
    db: &Db,
    clock: &dyn Clock,
    base: &str,
    org: OrgId,
    message: i64,
    actor: &str,
    reason: &str,
) -> Result<Escalation> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::invalid("reason", "say how it was confirmed (for example \"Dr. Lee called back\")"));
    }
    if reason.chars().count() > 300 {
        return Err(Error::invalid("reason", "use at most 300 characters"));
    }
    let Some(found) = store::of_message(db, org, message).await? else {
        // The message must be the organization's: a missing one is 404, one with no flow 422.
        crate::desk::messages::get(db, org, message).await?;
        return Err(Error::invalid("message", "this message has no urgent escalation to confirm"));
    };
    let name = crate::jobs::dispatch::actor_name(actor);
    let prepared = reach::prepare_for(db, org, found.id, clock.now()).await?;
    let mut tx = db.begin().await?;
    let e = store::lock_in(&mut tx, org, found.id).await?;
    let e = match e.run.state {
        State::Escalating => {
            let by = Confirmer::Operator { name, reason: reason.to_string() };
            act_in(&mut tx, clock, base, &prepared, org, e.id, Event::Confirm, Some(by)).await?
        }
        State::Exhausted => {
            let now = clock.now();
            let mut e = e;
            e.run = run::Run { state: State::Confirmed, version: e.run.version + 1, ..e.run };
            e.confirmed_by = Some(name.clone());
            e.confirmed_how = Some("marked at the desk".into());
            e.confirmed_note = Some(reason.to_string());
            let entry = Entry {
                at: now,
                round: e.run.at.round,
                kind: "confirmed".into(),
                person: Some(name),
                detail: Some(format!("marked at the desk after the flow ended: {reason}")),
                ..Default::default()
            };
            store::log_in(&mut tx, org, e.id, &entry).await?;
            store::save_in(&mut tx, &e).await?;
            e
        }
        State::Confirmed => {
            return Err(Error::invalid(
                "message",
                format!("this message was already confirmed by {}", e.confirmed_by.as_deref().unwrap_or("someone")),
            ));
        }
    };
    tx.commit().await?;
    db.work_added();
    db.publish(crate::db::Event::Desk { org, message });
    Ok(e)
}
