//! The durable engine: everything that must happen later, or must survive a crash, is a row
//! in `work_items` with a due time. A worker claims due rows with a lease, runs the handler
//! for their kind, and records the outcome. Timers are just items due in the future.
//!
//! Guarantees: an item committed to the database runs at least once. A process that dies
//! mid-item leaves a lease that expires (`EngineConfig::lease`), after which any instance
//! claims the item again. Every later write checks that the lease is still ours, so a slow
//! runner that lost its lease cannot overwrite the newer outcome. Handlers make their side
//! effects idempotent (see `messaging` for how SMS sends avoid duplicates).
//!
//! Waking: the worker sleeps until the earliest due time or lease expiry, and is woken early
//! when work is committed in this process ([`Db::work_added`]) or, on PostgreSQL, announced
//! by another instance through `LISTEN/NOTIFY`. There is no fixed polling interval.

pub mod fence;
pub mod kind;
pub mod model;
mod store;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use kind::{Kind, Listener, Priority, Worker, Workers};
pub use model::{Fence, NewWork, Outcome, WorkId, WorkItem, backoff};
pub use store::WorkRow;

use tracing::Instrument;

use crate::clock::{SharedClock, from_millis, to_millis};
use crate::db::{Db, Tx};
use crate::ids::OrgId;
use crate::{Error, Result};

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a handler gets besides the item.
#[derive(Clone, Debug)]
pub struct WorkContext {
    pub db: Db,
    pub clock: SharedClock,
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How long a claim is exclusive; an item whose runner vanished is retried after this.
    pub lease: SignedDuration,
    /// Items run at the same time, per process.
    pub concurrency: usize,
    /// Claim loops per process, sharing `concurrency` (`None`: one on SQLite, which has one
    /// writer, two on PostgreSQL). One measured best on 2 cores for both (`switchboard bench`).
    pub loops: Option<usize>,
    /// A handler running longer than this is treated as a transient failure.
    pub item_timeout: Duration,
    /// Upper bound on a sleep with nothing due, as a safety net for a missed wake-up.
    pub max_idle: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            lease: SignedDuration::from_secs(60),
            // Claimed together and recorded together: larger batches cost fewer round trips
            // per item (`switchboard bench`: 12,900/s at 64, 31,700/s at 256 on PostgreSQL,
            // no better at 512). Providers bound their own calls in flight (see `SmsSender`).
            concurrency: 256,
            loops: Some(1),
            item_timeout: Duration::from_secs(45),
            max_idle: Duration::from_secs(30),
        }
    }
}

/// Adds work inside the caller's transaction (so it commits with the change that caused it).
/// After the commit, call [`Db::work_added`]. `None` when the idempotency key was already used.
pub async fn enqueue_in(tx: &mut Tx, work: &NewWork, now: Timestamp) -> Result<Option<WorkId>> {
    store::insert(tx, work, now).await
}

/// Adds items whose ids were chosen ahead ([`crate::db::Ids`], table `work_items`) inside the
/// caller's transaction, with a few statements for all of them.
pub async fn enqueue_many_in(tx: &mut Tx, items: &[(i64, NewWork)], now: Timestamp) -> Result<()> {
    store::insert_many(tx, items, now).await
}

/// Cancels the unfinished item with this idempotency key, inside the caller's transaction.
/// Returns whether there was one.
pub async fn cancel_key_in(tx: &mut Tx, key: &str, now: Timestamp) -> Result<bool> {
    store::cancel_key(tx, key, to_millis(now)).await
}

/// Cancels every unfinished item of `group` (see [`NewWork::group`]) inside the caller's
/// transaction; returns how many. An item running at that moment finishes its attempt but is
/// not retried; give it a [`Fence`] when what it does must not happen after the cancellation.
pub async fn cancel_group_in(tx: &mut Tx, group: &str, now: Timestamp) -> Result<u64> {
    store::cancel_group(tx, group, to_millis(now)).await
}

/// Adds work in its own transaction and wakes the engine.
pub async fn enqueue(db: &Db, work: &NewWork, now: Timestamp) -> Result<Option<WorkId>> {
    let mut tx = db.begin().await?;
    let id = enqueue_in(&mut tx, work, now).await?;
    tx.commit().await?;
    db.work_added();
    Ok(id)
}

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: WorkContext,
    workers: Workers,
    claim_sql: store::ClaimSql,
    /// When (ms) to look for expired leases next.
    next_sweep: std::sync::atomic::AtomicI64,
    owner: String,
    config: EngineConfig,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("owner", &self.inner.owner).finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine that claims exactly the kinds `workers` has a worker for.
    pub fn new(db: Db, clock: SharedClock, config: EngineConfig, workers: Workers) -> Engine {
        let owner = format!("{}-{}", std::process::id(), &crate::secret::new_token()[..8]);
        let claim_sql = store::ClaimSql::new(db.backend(), &workers.kinds());
        let next_sweep = std::sync::atomic::AtomicI64::new(i64::MIN);
        Engine {
            inner: Arc::new(Inner { ctx: WorkContext { db, clock }, workers, claim_sql, next_sweep, owner, config }),
        }
    }

    /// The kinds this engine claims.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.inner.workers.kinds()
    }

    /// This instance's lease owner id.
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    pub fn db(&self) -> &Db {
        &self.inner.ctx.db
    }

    /// Runs everything due at the clock's `now`, until nothing is left; returns how many
    /// attempts ran. Tests with a manual clock call this instead of running the loop.
    pub async fn tick(&self) -> Result<usize> {
        let mut ran = 0;
        let mut finished = Vec::new();
        loop {
            let (batch, _) = self.record_and_claim(&mut finished, self.inner.config.concurrency, 0).await?;
            if batch.is_empty() {
                return Ok(ran);
            }
            ran += batch.len();
            let mut set = JoinSet::new();
            for item in batch {
                let engine = self.clone();
                set.spawn(async move { engine.execute(item).await });
            }
            while let Some(joined) = set.join_next().await {
                finished.push(joined.map_err(|e| Error::Unexpected(format!("engine task: {e}")))?);
            }
        }
    }

    /// The worker loop: runs until `shutdown` turns true, then lets running items finish.
    ///
    /// Outcomes of finished items are written in the same transaction as the next claim. Under
    /// a backlog (the last claim filled all free room) the loop waits until a quarter of its
    /// capacity is free before the next round trip, so each one records and claims a batch
    /// instead of a few items; otherwise it claims as soon as anything is due.
    pub async fn run(&self, shutdown: watch::Receiver<bool>) {
        let _listener = self.inner.ctx.db.spawn_work_listener();
        let loops = self.inner.config.loops.unwrap_or(match self.inner.ctx.db.backend() {
            crate::db::Backend::Sqlite => 1,
            crate::db::Backend::Postgres => 2,
        });
        let loops = loops.clamp(1, self.inner.config.concurrency.max(1));
        let share = (self.inner.config.concurrency / loops).max(1);
        let mut set = JoinSet::new();
        for _ in 0..loops {
            let (engine, shutdown) = (self.clone(), shutdown.clone());
            set.spawn(async move { engine.run_loop(shutdown, share).await });
        }
        while set.join_next().await.is_some() {}
    }

    /// One claim loop with room for `concurrency` items.
    async fn run_loop(&self, mut shutdown: watch::Receiver<bool>, concurrency: usize) {
        let signal = self.inner.ctx.db.work_signal();
        let mut running: JoinSet<(WorkItem, Outcome)> = JoinSet::new();
        let mut finished: Vec<(WorkItem, Outcome)> = Vec::new();
        // Routine work leaves an eighth of the room free, so urgent work that becomes due under
        // a routine backlog is claimed at once instead of when routine items finish.
        let headroom = concurrency / 8;
        let min_batch = headroom + (concurrency / 4).max(1);
        let mut backlog = false;
        tracing::info!(owner = %self.inner.owner, "engine started");
        loop {
            while let Some(done) = running.try_join_next() {
                collect(&mut finished, done);
            }
            if *shutdown.borrow() {
                break;
            }
            let free = concurrency.saturating_sub(running.len());
            if backlog && free < min_batch && !running.is_empty() {
                tokio::select! {
                    Some(done) = running.join_next() => collect(&mut finished, done),
                    // New work (perhaps urgent) is claimed into the room there is.
                    _ = signal.notified() => backlog = false,
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let (claimed, next_wake) = match self.record_and_claim(&mut finished, free, headroom).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "engine: recording outcomes or claiming work failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    (Vec::new(), None)
                }
            };
            let got = claimed.len();
            for item in claimed {
                let engine = self.clone();
                running.spawn(async move { engine.execute(item).await });
            }
            backlog = got > 0 && got >= free.saturating_sub(headroom);
            if backlog {
                // There may be more due right now: go round again.
                continue;
            }
            let sleep = self.idle_sleep(next_wake);
            tokio::select! {
                _ = signal.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
                Some(done) = running.join_next(), if !running.is_empty() => collect(&mut finished, done),
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!(running = running.len(), "engine stopping; letting running items finish");
        while let Some(done) = running.join_next().await {
            collect(&mut finished, done);
        }
        if let Err(e) = self.record_and_claim(&mut finished, 0, 0).await {
            tracing::error!(error = %e, "engine: recording the last outcomes failed");
        }
    }

    /// How long to sleep: until the earliest due time or lease expiry, capped by `max_idle`.
    fn idle_sleep(&self, next_wake: Option<i64>) -> Duration {
        let max = self.inner.config.max_idle;
        match next_wake {
            Some(at) => {
                let now = to_millis(self.inner.ctx.clock.now());
                Duration::from_millis(u64::try_from(at - now).unwrap_or(0)).min(max)
            }
            None => max,
        }
    }

    /// In one transaction: records the outcomes of finished items, claims up to `limit`, and,
    /// when fewer were due, reads when the next one will be. `finished` is emptied once the
    /// outcomes are committed (kept for the next try if the transaction fails).
    async fn record_and_claim(
        &self,
        finished: &mut Vec<(WorkItem, Outcome)>,
        limit: usize,
        headroom: usize,
    ) -> Result<(Vec<WorkItem>, Option<i64>)> {
        if finished.is_empty() && limit == 0 {
            return Ok((Vec::new(), None));
        }
        let db = &self.inner.ctx.db;
        let owner = self.inner.owner.as_str();
        let now = self.inner.ctx.clock.now();
        let mut tx = db.begin().await?;
        self.record_in(&mut tx, finished, now).await?;
        let lease = self.inner.config.lease.as_millis() as i64;
        let sql = &self.inner.claim_sql;
        // Expired leases are looked for at most once a second (of the engine's clock): a lease
        // lasts far longer, and the sweep is a statement the busy path need not pay each time.
        let at = to_millis(now);
        if limit > 0 && at >= self.inner.next_sweep.load(std::sync::atomic::Ordering::Relaxed) {
            self.inner.next_sweep.store(at + 1000, std::sync::atomic::Ordering::Relaxed);
            store::release_expired_in(&mut tx, sql, at).await?;
        }
        let routine = limit.saturating_sub(headroom) as i64;
        let claimed = store::claim_in(&mut tx, sql, owner, to_millis(now), lease, limit as i64, routine).await?;
        let next_wake = if claimed.len() < limit {
            let (due, lease) = store::next_wake(&mut tx, sql).await?;
            // Due but not claimed: another loop or instance holds it this instant (it may
            // finish or give it back), so look again shortly. An expired lease is taken back
            // by the next sweep (at most once a second).
            let due = due.map(|d| d.max(at + 5));
            let lease = lease.map(|l| l.max(self.inner.next_sweep.load(std::sync::atomic::Ordering::Relaxed)));
            match (due, lease) {
                (Some(d), Some(l)) => Some(d.min(l)),
                (d, l) => d.or(l),
            }
        } else {
            None
        };
        tx.commit().await?;
        finished.clear();
        for item in &claimed {
            let late = (now.duration_since(item.due_at)).as_secs_f64().max(0.0);
            metrics::histogram!("engine_lateness_seconds", "kind" => item.kind.clone()).record(late);
        }
        Ok((claimed, next_wake))
    }

    /// Runs one claimed item's worker with a timeout, isolating panics, in a span of its own.
    async fn execute(&self, item: WorkItem) -> (WorkItem, Outcome) {
        let started = std::time::Instant::now();
        let span = tracing::info_span!("work", kind = %item.kind, id = %item.id, attempt = item.attempt);
        let running = metrics::gauge!("engine_items_running", "kind" => item.kind.clone());
        running.increment(1.0);
        let outcome = match self.inner.workers.get(item.kind.as_str()) {
            // Claims are limited to the registered kinds; this is only a safety net.
            None => Outcome::Retry(format!("this instance has no worker for \"{}\"", item.kind)),
            Some(worker) => {
                let fut = worker.run(self.inner.ctx.clone(), item.clone()).instrument(span);
                // Spawned so that a panic in the handler becomes an error, not a dead worker.
                let mut task = tokio::spawn(fut);
                match tokio::time::timeout(self.inner.config.item_timeout, &mut task).await {
                    Ok(Ok(outcome)) => outcome,
                    Ok(Err(join)) => Outcome::Retry(format!("handler panicked: {join}")),
                    Err(_) => {
                        // Stopped, not left running: a handler that outlived its timeout would
                        // run beside the item's next attempt and keep its place in the queues
                        // (the write lock's turns) that the next attempt then waits behind.
                        task.abort();
                        Outcome::Retry(format!("timed out after {:?}", self.inner.config.item_timeout))
                    }
                }
            }
        };
        running.decrement(1.0);
        metrics::histogram!("engine_item_seconds", "kind" => item.kind.clone()).record(started.elapsed().as_secs_f64());
        (item, outcome)
    }

    /// Records outcomes: every item that is done in one statement (per chunk), the rest each.
    async fn record_in(&self, tx: &mut Tx, finished: &[(WorkItem, Outcome)], now: Timestamp) -> Result<()> {
        let owner = self.inner.owner.as_str();
        let mut done = Vec::new();
        for (item, outcome) in finished {
            let jitter: f64 = rand::random();
            let next = model::next_step(item, outcome.clone(), now, jitter);
            let label = match &next {
                model::Next::Done(_) => "done",
                model::Next::RetryAt { .. } => "retry",
                model::Next::DeferTo(_) => "deferred",
                model::Next::Dead { .. } => "dead",
            };
            metrics::counter!("engine_items_total", "kind" => item.kind.clone(), "outcome" => label).increment(1);
            let at = to_millis(now);
            let kept = match next {
                model::Next::Done(result) => {
                    done.push((item.id, result.map(|r| r.to_string())));
                    continue;
                }
                model::Next::RetryAt { at: retry, error } => {
                    tracing::warn!(item = %item.id, kind = %item.kind, attempt = item.attempt, retry_at = %retry, %error, "work failed; will retry");
                    store::reschedule(&mut **tx, item.id, owner, to_millis(retry), Some(&error), true, at).await?
                }
                model::Next::DeferTo(until) => {
                    store::reschedule(&mut **tx, item.id, owner, to_millis(until), None, false, at).await?
                }
                model::Next::Dead { error } => {
                    tracing::error!(item = %item.id, kind = %item.kind, attempt = item.attempt, %error, "work is dead");
                    store::bury(&mut **tx, item.id, owner, &error, at).await?
                }
            };
            if !kept {
                tracing::info!(item = %item.id, kind = %item.kind, "outcome not recorded: the item was cancelled or its lease passed on");
            }
        }
        if !done.is_empty() {
            let recorded = store::complete_many(tx, owner, &done, to_millis(now)).await?;
            if recorded < done.len() as u64 {
                tracing::info!(
                    finished = done.len(),
                    recorded,
                    "some outcomes not recorded: those items were cancelled or their leases passed on"
                );
            }
        }
        Ok(())
    }
}

fn collect(
    finished: &mut Vec<(WorkItem, Outcome)>,
    done: std::result::Result<(WorkItem, Outcome), tokio::task::JoinError>,
) {
    match done {
        Ok(pair) => finished.push(pair),
        // Only a cancelled task ends up here (panics are caught in `execute`); its lease will
        // expire and the item runs again.
        Err(e) => tracing::error!(error = %e, "engine: item task failed"),
    }
}

/// Sets the `engine_items` gauge (per kind and status: pending, running, dead) from the
/// database, for `/metrics`; it counts every instance's work. `kinds` are reported as 0 when
/// none are in a status, so a drained queue reads 0 rather than its last value.
pub async fn report_depths(db: &Db, kinds: &[&'static str]) -> Result<()> {
    let rows = store::depth_by_kind(db).await?;
    let mut all: std::collections::BTreeMap<(String, String), i64> = std::collections::BTreeMap::new();
    for kind in kinds {
        for status in ["pending", "running", "dead"] {
            all.insert((kind.to_string(), status.to_string()), 0);
        }
    }
    for (kind, status, count) in rows {
        all.insert((kind, status), count);
    }
    for ((kind, status), count) in all {
        metrics::gauge!("engine_items", "kind" => kind, "status" => status).set(count as f64);
    }
    Ok(())
}

/// Counts per status and the most recent dead items of an organization, for the admin page.
pub async fn overview(db: &Db, org: OrgId) -> Result<(Vec<(String, i64)>, Vec<WorkRow>)> {
    Ok((store::count_by_status(db, org).await?, store::list_by_status(db, org, "dead", 100).await?))
}

/// Gives a dead item of `org` a fresh set of attempts, due now.
pub async fn retry_dead(db: &Db, org: OrgId, id: WorkId, now: Timestamp) -> Result<()> {
    if store::revive(db, org, id, to_millis(now)).await? {
        db.work_added();
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

/// The timestamp stored for an item, for display.
pub fn at(ms: i64) -> Timestamp {
    from_millis(ms)
}
