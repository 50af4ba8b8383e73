//! River for Rust (`riverqueue` 0.5.0) measured the way `bench.rs` measures our engine, so the
//! two can be printed side by side. Compiled only with the `river` feature; the caller gates
//! the module with `#[cfg(feature = "river")]`.
//!
//! Measured (each on its own fresh database: a temp SQLite file, or a new database on the given
//! PostgreSQL server, with River's migrations applied):
//! - drain: `drain_items` no-op jobs already waiting (inserted in one transaction before the
//!   client starts); jobs/s from `Client::start` to the last job `completed` in the database;
//! - end to end: `writers` tasks add `drain_items` no-op jobs in total, one job per
//!   transaction (`Client::insert`, which wakes the client's own producers after the commit),
//!   while the client runs; jobs/s from the first add to the last job `completed`;
//! - timer lateness: with `pending` jobs scheduled between 2 minutes and 1 hour ahead, 500
//!   jobs due at spread-out moments within the next 10 s are added in one transaction while
//!   the client runs; lateness = the moment the no-op worker runs the job - its `scheduled_at`
//!   (p50/p99/max). This is done twice on the same database: with River's default scheduler
//!   pass (5 s; reported in the fields) and with a 100 ms pass (reported in `notes`).
//!
//! Every client uses one queue with `MAX_WORKERS` workers (our engine's default concurrency)
//! and River's minimum fetch cooldown and poll interval; see the constants.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use jiff::{SignedDuration, Timestamp};
use riverqueue::migrate::{PostgresMigrator, SqliteMigrator};
use riverqueue::{
    Client, InsertManyItem, InsertOpts, Job, JobArgs, MaintenanceConfig, QUEUE_DEFAULT, QueueConfig, WorkContext,
    WorkOutcome, Worker, Workers,
};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// Jobs one client runs at once in its queue: our engine's default `concurrency`.
const MAX_WORKERS: usize = 256;
/// River's minimum (`FETCH_COOLDOWN_MIN`, 1 ms). Its default, 100 ms, allows one claim per
/// queue per 100 ms, which alone caps a queue at `MAX_WORKERS` / 0.1 s = 2,560 jobs/s. It also
/// paces the insert notifications a client sends.
const FETCH_COOLDOWN: Duration = riverqueue::FETCH_COOLDOWN_MIN;
/// River's minimum (`FETCH_POLL_INTERVAL_MIN`, 1 ms; it may not be shorter than the cooldown).
/// River adds a random max(interval / 10, 10 ms) to every poll, so polls come every 1-11 ms.
/// Its default is 1 s.
const FETCH_POLL_INTERVAL: Duration = riverqueue::FETCH_POLL_INTERVAL_MIN;
/// The short scheduler pass of the second lateness round (River's default is 5 s).
const SCHEDULER_INTERVAL_SHORT: Duration = Duration::from_millis(100);
/// SQLite connections in River's pool (River's own tests use 4; our engine uses 1).
const SQLITE_CONNECTIONS: u32 = 4;
/// PostgreSQL connections in River's pool, as our `Db` (River's listener has its own).
const POSTGRES_CONNECTIONS: u32 = 16;
/// Timers measured per lateness round, as in `bench.rs`.
const SAMPLE: usize = 500;

#[derive(Debug, Clone)]
pub struct RiverReport {
    pub drain_per_s: f64,
    pub added_per_s: f64,
    pub lateness_p50_ms: f64,
    pub lateness_p99_ms: f64,
    pub lateness_max_ms: f64,
    pub notes: Vec<String>,
}

/// A `bench_noop` job. `sample` is 0 for load, or the lateness round that measures it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct NoopArgs {
    i: u64,
    sample: u8,
}

impl NoopArgs {
    fn load(i: usize) -> NoopArgs {
        NoopArgs { i: i as u64, sample: 0 }
    }
}

impl JobArgs for NoopArgs {
    const KIND: &'static str = "bench_noop";
}

/// What the worker saw of one measured timer.
#[derive(Debug, Clone, Copy)]
struct Seen {
    round: u8,
    /// The worker running it - `scheduled_at`.
    worker_ms: f64,
    /// The claim (`attempted_at`) - `scheduled_at`, comparable to `bench.rs` (claim - due).
    claim_ms: Option<f64>,
}

type Samples = Arc<Mutex<Vec<Seen>>>;

/// Does nothing, so only River's own costs are measured; notes when a measured timer ran.
struct Noop {
    seen: Samples,
}

impl Worker<NoopArgs> for Noop {
    type Error = std::convert::Infallible;

    async fn work(&self, _context: WorkContext, job: Job<NoopArgs>) -> Result<WorkOutcome, Self::Error> {
        if job.args.sample != 0 {
            let now = Timestamp::now();
            let due = job.row.scheduled_at;
            let seen = Seen {
                round: job.args.sample,
                worker_ms: millis_between(due, now),
                claim_ms: job.row.attempted_at.map(|claimed| millis_between(due, claimed)),
            };
            self.seen.lock().unwrap_or_else(PoisonError::into_inner).push(seen);
        }
        Ok(WorkOutcome::Complete)
    }
}

fn millis_between(from: Timestamp, to: Timestamp) -> f64 {
    (to.as_microsecond() - from.as_microsecond()) as f64 / 1000.0
}

/// River's pools are typed; it does not accept sqlx's `Any`.
enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl Pool {
    async fn count(&self, sql: &'static str) -> anyhow::Result<i64> {
        let (n,): (i64,) = match self {
            Pool::Postgres(pool) => sqlx::query_as(sql).fetch_one(pool).await?,
            Pool::Sqlite(pool) => sqlx::query_as(sql).fetch_one(pool).await?,
        };
        Ok(n)
    }

    async fn close(&self) {
        match self {
            Pool::Postgres(pool) => pool.close().await,
            Pool::Sqlite(pool) => pool.close().await,
        }
    }
}

/// A fresh database with River's tables, mirroring `bench::fresh_db`: a temp SQLite file, or
/// a new database on the given PostgreSQL server (dropped first if a previous run left it).
async fn fresh_pool(server: Option<&str>, tag: &str) -> anyhow::Result<(Pool, Option<tempfile::TempDir>)> {
    match server {
        None => {
            let dir = tempfile::tempdir()?;
            // As our `Db` sets up SQLite: WAL, a busy timeout, full sync.
            let options = SqliteConnectOptions::new()
                .filename(dir.path().join(format!("river_{tag}.db")))
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .synchronous(SqliteSynchronous::Full);
            let pool = SqlitePoolOptions::new()
                .max_connections(SQLITE_CONNECTIONS)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .context("opening the SQLite file")?;
            SqliteMigrator::new(pool.clone())
                .migrate_up()
                .await
                .map_err(|e| anyhow::anyhow!("running River's SQLite migrations: {e}"))?;
            Ok((Pool::Sqlite(pool), Some(dir)))
        }
        Some(url) => {
            let base = url
                .trim_end_matches('/')
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .unwrap_or_else(|| url.to_string());
            let name = format!("sb_bench_river_{tag}_{}", std::process::id());
            let admin = PgPool::connect(&format!("{base}/postgres")).await.context("connecting to the server")?;
            sqlx::query(sqlx::AssertSqlSafe(format!("drop database if exists {name} with (force)")))
                .execute(&admin)
                .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}"))).execute(&admin).await?;
            admin.close().await;
            let pool = PgPoolOptions::new()
                .max_connections(POSTGRES_CONNECTIONS)
                .acquire_timeout(Duration::from_secs(10))
                .connect(&format!("{base}/{name}"))
                .await
                .with_context(|| format!("connecting to {name}"))?;
            PostgresMigrator::new(pool.clone())
                .migrate_up()
                .await
                .map_err(|e| anyhow::anyhow!("running River's PostgreSQL migrations: {e}"))?;
            Ok((Pool::Postgres(pool), None))
        }
    }
}

/// A client working the default queue with the no-op worker; not started.
fn build_client(pool: &Pool, seen: Samples, scheduler_interval: Duration) -> anyhow::Result<Client> {
    let mut workers = Workers::new();
    workers.add(Noop { seen }).context("registering the no-op worker")?;
    let builder = match pool {
        Pool::Postgres(pool) => Client::builder(pool.clone()),
        Pool::Sqlite(pool) => Client::builder(pool.clone()),
    };
    builder
        .workers(workers)
        .fetch_cooldown(FETCH_COOLDOWN)
        .queue(QUEUE_DEFAULT, QueueConfig::new(MAX_WORKERS).with_fetch_poll_interval(FETCH_POLL_INTERVAL))
        .maintenance(MaintenanceConfig::default().with_scheduler_interval(scheduler_interval))
        .build()
        .context("building the River client")
}

/// Inserts `jobs` in one transaction of our own (as `engine::enqueue_in` in `bench.rs`). River
/// sends no local wake-up for jobs inserted in a caller's transaction; a running client learns
/// of available ones by LISTEN/NOTIFY (PostgreSQL), its outbox poller (SQLite, 100 ms) or its
/// fetch poll.
async fn insert_in_tx(client: &Client, pool: &Pool, jobs: Vec<InsertManyItem<NoopArgs>>) -> anyhow::Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    match pool {
        Pool::Postgres(pool) => {
            let mut tx = riverqueue::database::begin_postgres(pool).await.context("beginning a transaction")?;
            client.insert_many::<NoopArgs, _>(jobs).tx(&mut tx).await.context("inserting jobs")?;
            tx.commit().await.context("committing the jobs")?;
        }
        Pool::Sqlite(pool) => {
            let mut tx = riverqueue::database::begin_sqlite_write(pool).await.context("beginning a transaction")?;
            client.insert_many::<NoopArgs, _>(jobs).tx(&mut tx).await.context("inserting jobs")?;
            tx.commit().await.context("committing the jobs")?;
        }
    }
    Ok(())
}

/// Waits until `total` jobs are `completed` in the database (the completer persists them in
/// batches, so this is later than the worker returning).
async fn wait_done(pool: &Pool, total: i64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        // At most one row is read while work remains; completions are counted once at the
        // end, as in `bench::wait_done`.
        let busy = pool
            .count("select count(*) from (select 1 from river_job where state in ('available', 'running') limit 1) b")
            .await?;
        if busy == 0 && pool.count("select count(*) from river_job where state = 'completed'").await? >= total {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "River did not finish in 10 minutes");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn drain(server: Option<&str>, items: usize, scheduler: Duration) -> anyhow::Result<f64> {
    let (pool, _dir) = fresh_pool(server, "drain").await?;
    let client = build_client(&pool, Samples::default(), scheduler)?;
    let jobs = (0..items).map(|i| InsertManyItem::new(NoopArgs::load(i), InsertOpts::default())).collect();
    insert_in_tx(&client, &pool, jobs).await?;
    let start = Instant::now();
    let mut run = client.start().context("starting the River client")?;
    wait_done(&pool, items as i64).await?;
    let rate = items as f64 / start.elapsed().as_secs_f64();
    run.stop().await.context("stopping the River client")?;
    pool.close().await;
    Ok(rate)
}

async fn end_to_end(server: Option<&str>, items: usize, writers: usize, scheduler: Duration) -> anyhow::Result<f64> {
    let (pool, _dir) = fresh_pool(server, "e2e").await?;
    let client = build_client(&pool, Samples::default(), scheduler)?;
    let mut run = client.start().context("starting the River client")?;
    run.wait_ready().await.context("waiting for the River client")?;
    let per = items / writers;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per {
                // Its own transaction, like `engine::enqueue` in `bench.rs`.
                client.insert(NoopArgs::load(w * per + i)).await.context("inserting a job")?;
            }
            Ok::<(), anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let total = per * writers;
    wait_done(&pool, total as i64).await?;
    let rate = total as f64 / start.elapsed().as_secs_f64();
    run.stop().await.context("stopping the River client")?;
    pool.close().await;
    Ok(rate)
}

struct Lateness {
    p50: f64,
    p99: f64,
    max: f64,
    samples: usize,
}

impl Lateness {
    fn of(mut ms: Vec<f64>) -> anyhow::Result<Lateness> {
        anyhow::ensure!(!ms.is_empty(), "no timer fired");
        ms.sort_by(f64::total_cmp);
        let pick = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
        Ok(Lateness { p50: pick(0.50), p99: pick(0.99), max: ms[ms.len() - 1], samples: ms.len() })
    }

    fn line(&self) -> String {
        format!("p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} timers)", self.p50, self.p99, self.max, self.samples)
    }
}

/// One lateness round: a client with this scheduler pass starts, `SAMPLE` timers due within
/// the next 10 s are added in one transaction, and the round ends when the worker has run them
/// all. Returns the lateness seen by the worker and the lateness of the claim.
async fn lateness_round(
    pool: &Pool,
    seen: &Samples,
    round: u8,
    scheduler: Duration,
) -> anyhow::Result<(Lateness, Lateness)> {
    let client = build_client(pool, seen.clone(), scheduler)?;
    let mut run = client.start().context("starting the River client")?;
    run.wait_ready().await.context("waiting for the River client")?;
    let base = Timestamp::now() + SignedDuration::from_millis(500);
    let jobs = (0..SAMPLE)
        .map(|i| {
            let due = base + SignedDuration::from_millis((i as i64 * 9_500) / SAMPLE as i64);
            InsertManyItem::new(NoopArgs { i: i as u64, sample: round }, InsertOpts::default().with_scheduled_at(due))
        })
        .collect();
    insert_in_tx(&client, pool, jobs).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mine = || -> Vec<Seen> {
        let all = seen.lock().unwrap_or_else(PoisonError::into_inner);
        all.iter().filter(|s| s.round == round).copied().collect()
    };
    loop {
        let done = mine().len();
        if done >= SAMPLE {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "timers did not fire ({done}/{SAMPLE})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    run.stop().await.context("stopping the River client")?;
    let samples = mine();
    let worker = Lateness::of(samples.iter().map(|s| s.worker_ms).collect())?;
    let claim = Lateness::of(samples.iter().filter_map(|s| s.claim_ms).collect())?;
    Ok((worker, claim))
}

/// Both lateness rounds on one database holding `pending` far-off timers.
async fn timer_lateness(
    server: Option<&str>,
    pending: usize,
    default_scheduler: Duration,
    notes: &mut Vec<String>,
) -> anyhow::Result<Lateness> {
    let (pool, _dir) = fresh_pool(server, &format!("timers{pending}")).await?;
    let seen = Samples::default();
    // The background load, added in transactions of 5,000 before any client runs: due between
    // 2 minutes and 1 hour from now, so neither the scheduler's look-ahead nor a claim touches
    // them during the two rounds (`bench.rs` starts at 1 minute; two rounds need longer).
    let loader = build_client(&pool, seen.clone(), default_scheduler)?;
    let now = Timestamp::now();
    let started = Instant::now();
    for first in (0..pending).step_by(5_000) {
        let jobs = (first..(first + 5_000).min(pending))
            .map(|i| {
                let due = now + SignedDuration::from_millis(120_000 + (i as i64 * 3_480_000) / pending as i64);
                InsertManyItem::new(NoopArgs::load(i), InsertOpts::default().with_scheduled_at(due))
            })
            .collect();
        insert_in_tx(&loader, &pool, jobs).await?;
    }
    drop(loader);

    let (worker, claim) = lateness_round(&pool, &seen, 1, default_scheduler).await?;
    notes.push(format!(
        "timer lateness, {pending} pending, scheduler pass every {default_scheduler:?} (River's default): \
         worker {}; claim (attempted_at) {}",
        worker.line(),
        claim.line()
    ));
    let (short_worker, short_claim) = lateness_round(&pool, &seen, 2, SCHEDULER_INTERVAL_SHORT).await?;
    notes.push(format!(
        "timer lateness, {pending} pending, scheduler pass every {SCHEDULER_INTERVAL_SHORT:?}: worker {}; claim {}",
        short_worker.line(),
        short_claim.line()
    ));
    if started.elapsed() > Duration::from_secs(110) {
        notes.push(format!(
            "warning: the lateness rounds ended {:?} after the background timers were stamped; the first of \
             them became due (or entered the scheduler's look-ahead) during the measurement",
            started.elapsed()
        ));
    }
    pool.close().await;
    Ok(worker)
}

/// Runs the three measurements (see the module documentation). `server` is a PostgreSQL URL
/// (a fresh database is created on that server for each measurement), or `None` for SQLite
/// temp files. `drain_items` is used for both the drain and the end-to-end measurement, as
/// `bench.rs` uses its item count for both.
pub async fn run(
    server: Option<String>,
    drain_items: usize,
    writers: usize,
    pending: usize,
) -> anyhow::Result<RiverReport> {
    anyhow::ensure!(writers > 0, "at least one writer is needed");
    let server = server.as_deref();
    let default_scheduler = MaintenanceConfig::default().scheduler_interval();
    let mut notes = vec![format!(
        "riverqueue 0.5.0 on {}: one queue, max_workers {MAX_WORKERS}, fetch cooldown {FETCH_COOLDOWN:?} \
         (River's default {:?}), fetch poll {FETCH_POLL_INTERVAL:?} plus River's jitter of max(10%, 10 ms) \
         (default {:?}), scheduler pass {default_scheduler:?} unless stated",
        if server.is_some() { "PostgreSQL" } else { "SQLite" },
        riverqueue::FETCH_COOLDOWN_DEFAULT,
        riverqueue::FETCH_POLL_INTERVAL_DEFAULT,
    )];

    let drain_per_s = drain(server, drain_items, default_scheduler).await.context("River drain")?;
    let added_per_s = end_to_end(server, drain_items, writers, default_scheduler).await.context("River end to end")?;
    notes.push(format!("end to end: {writers} writers, one Client::insert (own transaction) per job"));
    let lateness =
        timer_lateness(server, pending, default_scheduler, &mut notes).await.context("River timer lateness")?;
    notes.push(
        "River makes a scheduled job available only in the leader's scheduler pass (which looks one pass \
         ahead), so a timer added less than one pass before it is due can be late by up to one pass"
            .to_string(),
    );

    Ok(RiverReport {
        drain_per_s,
        added_per_s,
        lateness_p50_ms: lateness.p50,
        lateness_p99_ms: lateness.p99,
        lateness_max_ms: lateness.max,
        notes,
    })
}
