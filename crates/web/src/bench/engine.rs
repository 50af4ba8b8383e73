//! `switchboard bench`: engine throughput and timer lateness on a fresh database, next to the
//! raw single-row insert+update rate of the same database measured in the same run.
//!
//! Measured (each on its own fresh database or tables):
//! - raw: one `insert` then one `update` of that row, each its own transaction, sequentially
//!   and with 16 concurrent writers;
//! - engine, no-op items, drain: N items already waiting; items/s from engine start to the
//!   last completion (the engine's own throughput);
//! - engine, no-op items, end to end: 16 producers add items one per transaction (as requests
//!   do) while the engine runs; items/s from the first add to the last completion;
//! - engine, SMS: N texts waiting, sent through the real Twilio adapter to the in-process
//!   stand-in (each costs two committed status writes and an HTTP round trip);
//! - timer lateness: with N timers pending (due over the next hour), a sample of 500 timers
//!   due within the next 10 s; lateness = claim time - due time (p50/p99/max).

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use switchboard_core::clock::{SharedClock, SystemClock};
use switchboard_core::db::Db;
use switchboard_core::engine::{
    self, BoxFuture, Engine, EngineConfig, Kind, NewWork, Outcome, WorkContext, WorkItem, Worker, Workers,
};
use switchboard_core::messaging::{self, SmsSender};
use switchboard_core::providers::twilio::{TwilioConfig, TwilioSms};
use switchboard_standins::twilio::TwilioStandin;
use tokio::sync::watch;

/// A `bench.noop` item: does nothing, so only the engine's own costs are measured.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct NoopArgs(serde_json::Value);

impl Kind for NoopArgs {
    const NAME: &'static str = "bench.noop";
}

struct Noop;

impl Worker for Noop {
    type Args = NoopArgs;
    fn work(&self, _ctx: WorkContext, _item: WorkItem, _args: NoopArgs) -> BoxFuture<Outcome> {
        Box::pin(async { Outcome::Done(None) })
    }
}

fn noop(payload: serde_json::Value, due: Timestamp) -> anyhow::Result<NewWork> {
    Ok(NewWork::of(&NoopArgs(payload), due)?)
}

fn noop_workers() -> Workers {
    let mut workers = Workers::new();
    workers.add(Noop);
    workers
}

pub struct BenchArgs {
    pub database: Option<String>,
    /// Items the engine claims and runs at once (default: the engine's).
    pub concurrency: Option<usize>,
    pub items: usize,
    pub timers: Vec<usize>,
}

/// A fresh database: a temp SQLite file, or a new database on the given PostgreSQL server.
pub(crate) async fn fresh_db(server: &Option<String>, tag: &str) -> anyhow::Result<(Db, Option<tempfile::TempDir>)> {
    let (url, dir) = fresh_db_url(server, tag).await?;
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    Ok((db, dir))
}

/// The URL of a fresh, empty database: a SQLite file in a temp directory (kept while the
/// directory lives), or a new database on the PostgreSQL server.
pub(crate) async fn fresh_db_url(
    server: &Option<String>,
    tag: &str,
) -> anyhow::Result<(String, Option<tempfile::TempDir>)> {
    match server {
        None => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}?mode=rwc", dir.path().join(format!("{tag}.db")).display());
            Ok((url, Some(dir)))
        }
        Some(url) => {
            let base =
                url.trim_end_matches('/').rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or_else(|| url.clone());
            let name = format!("sb_bench_{tag}_{}", std::process::id());
            let admin = Db::connect(&format!("{base}/postgres")).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("drop database if exists {name} with (force)")))
                .execute(admin.pool())
                .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}"))).execute(admin.pool()).await?;
            admin.close().await;
            Ok((format!("{base}/{name}"), None))
        }
    }
}

async fn raw_rate(db: &Db, ops: usize, writers: usize) -> anyhow::Result<f64> {
    sqlx::query("create table if not exists bench_raw (id bigint primary key, v bigint not null)")
        .execute(db.pool())
        .await?;
    sqlx::query("delete from bench_raw").execute(db.pool()).await?;
    let start = Instant::now();
    let per = ops / writers;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per {
                let id = (w * per + i) as i64;
                sqlx::query("insert into bench_raw (id, v) values ($1, 0)").bind(id).execute(db.pool()).await?;
                sqlx::query("update bench_raw set v = 1 where id = $1").bind(id).execute(db.pool()).await?;
            }
            Ok::<(), sqlx::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((per * writers) as f64 / start.elapsed().as_secs_f64())
}

async fn wait_done(db: &Db, total: i64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        // Cheap while work remains (the partial indexes of pending and running items), so the
        // poll does not compete with the engine for the two cores; counted once at the end.
        let (left,): (i64,) =
            sqlx::query_as("select count(*) from (select 1 from work_items where status = 'pending' limit 1) p")
                .fetch_one(db.pool())
                .await?;
        let (running,): (i64,) =
            sqlx::query_as("select count(*) from (select 1 from work_items where status = 'running' limit 1) r")
                .fetch_one(db.pool())
                .await?;
        if left == 0 && running == 0 {
            let (done,): (i64,) =
                sqlx::query_as("select count(*) from work_items where status = 'done'").fetch_one(db.pool()).await?;
            if done >= total {
                return Ok(());
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "benchmark did not finish in 10 minutes");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub(crate) fn start_engine(
    db: &Db,
    config: &EngineConfig,
    workers: Workers,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let clock: SharedClock = Arc::new(SystemClock);
    let engine = Engine::new(db.clone(), clock, config.clone(), workers);
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(async move { engine.run(stopped).await });
    (stop, task)
}

async fn add_noops(db: &Db, items: usize) -> anyhow::Result<()> {
    let now = Timestamp::now();
    let mut tx = db.begin().await?;
    for i in 0..items {
        engine::enqueue_in(&mut tx, &noop(json!({ "i": i }), now)?, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn engine_drain(db: &Db, config: &EngineConfig, items: usize) -> anyhow::Result<f64> {
    add_noops(db, items).await?;
    let start = Instant::now();
    let (stop, task) = start_engine(db, config, noop_workers());
    wait_done(db, items as i64).await?;
    let rate = items as f64 / start.elapsed().as_secs_f64();
    let _ = stop.send(true);
    task.await?;
    Ok(rate)
}

async fn engine_end_to_end(db: &Db, config: &EngineConfig, items: usize) -> anyhow::Result<f64> {
    let (stop, task) = start_engine(db, config, noop_workers());
    let start = Instant::now();
    let producers = 16;
    let mut tasks = Vec::new();
    for p in 0..producers {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..items / producers {
                let now = Timestamp::now();
                engine::enqueue(&db, &noop(json!({ "p": p, "i": i }), now)?, now).await?;
            }
            Ok::<(), anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let items = items / producers * producers;
    wait_done(db, items as i64).await?;
    let rate = items as f64 / start.elapsed().as_secs_f64();
    let _ = stop.send(true);
    task.await?;
    Ok(rate)
}

async fn engine_sms(db: &Db, config: &EngineConfig, items: usize) -> anyhow::Result<f64> {
    let standin = TwilioStandin::start("127.0.0.1:0".parse()?).await?;
    standin.set_callback_delay(Duration::from_secs(3600));
    let sms = TwilioSms::new(TwilioConfig {
        base_url: standin.base_url(),
        account_sid: standin.account_sid().into(),
        auth_token: standin.auth_token().into(),
    })
    .map_err(|e| anyhow::anyhow!(e))?;
    let mut workers = Workers::new();
    workers.add(SmsSender::new(Arc::new(sms), None, SignedDuration::ZERO));
    let clock = SystemClock;
    let org = switchboard_core::tenancy::create_org(db, &clock, "bench", "Bench").await?;
    let input = switchboard_core::tenancy::BrandInput {
        name: "Bench".into(),
        time_zone: "UTC".into(),
        sms_number: Some("+17205550100".into()),
        ..Default::default()
    };
    let brand = switchboard_core::tenancy::create_brand(db, &clock, org.id, &input).await?;
    for i in 0..items {
        messaging::send_sms(
            db,
            &clock,
            org.id,
            brand.id,
            &format!("+1303555{:04}", i % 10_000),
            "Your technician is on the way",
        )
        .await?;
    }
    let start = Instant::now();
    let (stop, task) = start_engine(db, config, workers);
    wait_done(db, items as i64).await?;
    let rate = items as f64 / start.elapsed().as_secs_f64();
    let _ = stop.send(true);
    task.await?;
    anyhow::ensure!(standin.messages().len() == items, "the stand-in received {} of {items}", standin.messages().len());
    Ok(rate)
}

pub(crate) struct Lateness {
    pub(crate) p50: i64,
    pub(crate) p99: i64,
    pub(crate) max: i64,
    pub(crate) samples: usize,
}

pub(crate) async fn timer_lateness(db: &Db, config: &EngineConfig, pending: usize) -> anyhow::Result<Lateness> {
    const SAMPLE: usize = 500;
    let now = Timestamp::now();
    // The background load: timers due over the next hour, added in large transactions.
    let mut tx = db.begin().await?;
    for i in 0..pending {
        let due = now + SignedDuration::from_millis(60_000 + (i as i64 * 3_540_000) / pending as i64);
        engine::enqueue_in(&mut tx, &noop(json!({}), due)?, now).await?;
        if i % 5_000 == 4_999 {
            tx.commit().await?;
            tx = db.begin().await?;
        }
    }
    tx.commit().await?;
    let (stop, task) = start_engine(db, config, noop_workers());
    // The measured timers: due at spread-out moments within the next 10 seconds.
    let base = Timestamp::now() + SignedDuration::from_millis(500);
    let mut tx = db.begin().await?;
    for i in 0..SAMPLE {
        let due = base + SignedDuration::from_millis((i as i64 * 9_500) / SAMPLE as i64);
        engine::enqueue_in(&mut tx, &noop(json!({ "sample": true }), due)?.key(format!("sample-{i}")), base).await?;
    }
    tx.commit().await?;
    db.work_added();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (done,): (i64,) =
            sqlx::query_as("select count(*) from work_items where idempotency_key like 'sample-%' and status = 'done'")
                .fetch_one(db.pool())
                .await?;
        if done as usize == SAMPLE {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "timers did not fire ({done}/{SAMPLE})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    task.await?;
    let rows: Vec<(i64,)> =
        sqlx::query_as("select started_at - due_at from work_items where idempotency_key like 'sample-%' order by 1")
            .fetch_all(db.pool())
            .await?;
    let late: Vec<i64> = rows.into_iter().map(|(l,)| l).collect();
    anyhow::ensure!(!late.is_empty(), "no timer fired");
    let pick = |q: f64| late[((late.len() as f64 - 1.0) * q).round() as usize];
    Ok(Lateness { p50: pick(0.50), p99: pick(0.99), max: *late.last().unwrap_or(&0), samples: late.len() })
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    crate::app::install_crypto_provider();
    let mut config = EngineConfig::default();
    if let Some(n) = args.concurrency {
        config.concurrency = n;
    }
    let backend = if args.database.is_some() { "postgres" } else { "sqlite" };
    println!("switchboard bench ({backend}, {} items)", args.items);

    let (db, _dir) = fresh_db(&args.database, "raw").await?;
    let raw_seq = raw_rate(&db, args.items, 1).await?;
    let raw_par = raw_rate(&db, args.items, 16).await?;
    db.close().await;
    println!("  raw insert+update, 1 writer:    {raw_seq:>9.0} ops/s");
    println!("  raw insert+update, 16 writers:  {raw_par:>9.0} ops/s");
    let raw_best = raw_seq.max(raw_par);

    let (db, _dir) = fresh_db(&args.database, "drain").await?;
    let drain = engine_drain(&db, &config, args.items).await?;
    db.close().await;
    println!("  engine, no-op items (drain):    {drain:>9.0} items/s  ({:.2}x of the best raw rate)", drain / raw_best);

    let (db, _dir) = fresh_db(&args.database, "e2e").await?;
    let e2e = engine_end_to_end(&db, &config, args.items).await?;
    db.close().await;
    println!("  engine, no-op items (16 adding): {e2e:>8.0} items/s  ({:.2}x of the best raw rate)", e2e / raw_best);

    let (db, _dir) = fresh_db(&args.database, "sms").await?;
    let sms = engine_sms(&db, &config, args.items).await?;
    db.close().await;
    println!("  engine, SMS to the stand-in:    {sms:>9.0} items/s  ({:.2}x of the best raw rate)", sms / raw_best);

    for pending in &args.timers {
        let (db, _dir) = fresh_db(&args.database, &format!("timers{pending}")).await?;
        let l = timer_lateness(&db, &config, *pending).await?;
        db.close().await;
        println!(
            "  timer lateness, {pending:>6} pending:  p50 {:>4} ms  p99 {:>4} ms  max {:>4} ms  ({} timers)",
            l.p50, l.p99, l.max, l.samples
        );
    }
    #[cfg(feature = "river")]
    {
        let pending = args.timers.iter().copied().max().unwrap_or(100_000);
        let river = super::river::run(args.database.clone(), args.items, 16, pending).await?;
        println!("  River for Rust, same measurements ({} items, {pending} pending timers):", args.items);
        println!(
            "  river, no-op jobs (drain):      {:>9.0} jobs/s   (ours {:.2}x)",
            river.drain_per_s,
            drain / river.drain_per_s
        );
        println!(
            "  river, no-op jobs (16 adding):  {:>9.0} jobs/s   (ours {:.2}x)",
            river.added_per_s,
            e2e / river.added_per_s
        );
        println!(
            "  river timer lateness:           p50 {:.0} ms  p99 {:.0} ms  max {:.0} ms",
            river.lateness_p50_ms, river.lateness_p99_ms, river.lateness_max_ms
        );
        for note in &river.notes {
            println!("    {note}");
        }
    }
    #[cfg(not(feature = "river"))]
    println!("  (River beside it: build with `--features river`)");
    Ok(())
}
