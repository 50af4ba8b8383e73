//! The durable engine against a real database: timers, retries, leases, idempotency, and two
//! instances sharing one PostgreSQL database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::SignedDuration;
use serde_json::json;
use switchboard_core::clock::{Clock, SharedClock, SystemClock};
use switchboard_core::db::{Backend, Db};
use switchboard_core::engine::{
    self, BoxFuture, Engine, EngineConfig, Kind, NewWork, Outcome, Priority, WorkContext, WorkItem, Worker, Workers,
};

use crate::helpers::{FreshDb, backend, spawn_app};

/// What the test handler does on each attempt.
#[derive(Clone, Copy)]
enum Behaviour {
    Succeed,
    FailTransiently,
    Panic,
    /// Waits forever: the "process" dies holding the lease.
    Hang,
    SleepMs(u64),
    /// Sleeps, then records that it woke (a side effect after the sleep).
    SleepThenMark(u64),
}

#[derive(Clone)]
struct Recorder {
    behaviour: Behaviour,
    runs: Arc<Mutex<Vec<(i64, String)>>>,
    label: &'static str,
}

impl Recorder {
    fn new(behaviour: Behaviour, label: &'static str) -> Self {
        Self { behaviour, runs: Arc::default(), label }
    }
    fn shared(behaviour: Behaviour, label: &'static str, runs: Arc<Mutex<Vec<(i64, String)>>>) -> Self {
        Self { behaviour, runs, label }
    }
    fn count(&self) -> usize {
        self.runs.lock().unwrap().len()
    }
}

/// The test kind: any JSON payload.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct Record(serde_json::Value);

impl Kind for Record {
    const NAME: &'static str = "test.record";
}

/// A `test.record` item with `payload`, due at `due`.
fn record(payload: serde_json::Value, due: jiff::Timestamp) -> NewWork {
    NewWork::of(&Record(payload), due).unwrap()
}

impl Worker for Recorder {
    type Args = Record;
    fn work(&self, _ctx: WorkContext, item: WorkItem, _args: Record) -> BoxFuture<Outcome> {
        let me = self.clone();
        Box::pin(async move {
            me.runs.lock().unwrap().push((item.id.0, me.label.to_string()));
            match me.behaviour {
                Behaviour::Succeed => Outcome::Done(Some(json!({"attempt": item.attempt}))),
                Behaviour::FailTransiently => Outcome::Retry("provider said 503".into()),
                Behaviour::Panic => panic!("handler bug"),
                Behaviour::Hang => std::future::pending().await,
                Behaviour::SleepMs(ms) => {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    Outcome::Done(None)
                }
                Behaviour::SleepThenMark(ms) => {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    me.runs.lock().unwrap().push((item.id.0, "woke".to_string()));
                    Outcome::Done(None)
                }
            }
        })
    }
}

fn engine_with(db: &Db, clock: SharedClock, handler: Recorder, config: EngineConfig) -> Engine {
    let mut workers = Workers::new();
    workers.add(handler);
    Engine::new(db.clone(), clock, config, workers)
}

async fn status_of(db: &Db, id: i64) -> (String, i64, Option<String>) {
    sqlx::query_as("select status, attempts, last_error from work_items where id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_timer_runs_when_its_due_time_arrives_not_before() {
    let app = spawn_app().await;
    let clock = app.clock.clone();
    let rec = Recorder::new(Behaviour::Succeed, "a");
    let engine = engine_with(&app.db, Arc::new(clock.clone()), rec.clone(), EngineConfig::default());
    let due = clock.now() + SignedDuration::from_mins(5);
    let id = engine::enqueue(&app.db, &record(json!({"n": 1}), due), clock.now()).await.unwrap().unwrap();

    assert_eq!(engine.tick().await.unwrap(), 0, "nothing is due yet");
    clock.advance(SignedDuration::from_secs(299));
    assert_eq!(engine.tick().await.unwrap(), 0, "one second early is still early");
    clock.advance(SignedDuration::from_secs(1));
    assert_eq!(engine.tick().await.unwrap(), 1);
    assert_eq!(rec.count(), 1);
    let (status, attempts, _) = status_of(&app.db, id.0).await;
    assert_eq!((status.as_str(), attempts), ("done", 1));
    assert_eq!(engine.tick().await.unwrap(), 0, "done items do not run again");
}

#[tokio::test]
async fn a_handler_that_runs_past_its_timeout_is_stopped_not_left_running_beside_its_retry() {
    let app = spawn_app().await;
    let clock = app.clock.clone();
    let rec = Recorder::new(Behaviour::SleepThenMark(400), "slow");
    let config = EngineConfig { item_timeout: Duration::from_millis(100), ..EngineConfig::default() };
    let engine = engine_with(&app.db, Arc::new(clock.clone()), rec.clone(), config);
    let id = engine::enqueue(&app.db, &record(json!({"n": 1}), clock.now()), clock.now()).await.unwrap().unwrap();

    assert_eq!(engine.tick().await.unwrap(), 1);
    let (status, attempts, error) = status_of(&app.db, id.0).await;
    assert_eq!((status.as_str(), attempts, error.as_deref()), ("pending", 1, Some("timed out after 100ms")));
    // Long after the handler would have woken: it never did, so it holds nothing and does
    // nothing beside the item's next attempt.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(*rec.runs.lock().unwrap(), vec![(id.0, "slow".to_string())]);
}

#[tokio::test]
async fn transient_failures_back_off_then_die_and_can_be_revived() {
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("acme").await;
    let clock = app.clock.clone();
    let rec = Recorder::new(Behaviour::FailTransiently, "a");
    let engine = engine_with(&app.db, Arc::new(clock.clone()), rec.clone(), EngineConfig::default());
    let work = record(json!({}), clock.now()).org(org).attempts(3);
    let id = engine::enqueue(&app.db, &work, clock.now()).await.unwrap().unwrap();

    assert_eq!(engine.tick().await.unwrap(), 1);
    let (status, attempts, error) = status_of(&app.db, id.0).await;
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    assert_eq!(error.as_deref(), Some("provider said 503"));
    assert_eq!(engine.tick().await.unwrap(), 0, "backing off: not due again yet");
    // Attempt 1 waits 1-2 s, attempt 2 waits 2-4 s.
    clock.advance(SignedDuration::from_secs(2));
    assert_eq!(engine.tick().await.unwrap(), 1);
    clock.advance(SignedDuration::from_secs(4));
    assert_eq!(engine.tick().await.unwrap(), 1);
    let (status, attempts, error) = status_of(&app.db, id.0).await;
    assert_eq!((status.as_str(), attempts), ("dead", 3));
    assert!(error.unwrap().contains("gave up after 3 attempts"));
    clock.advance(SignedDuration::from_hours(1));
    assert_eq!(engine.tick().await.unwrap(), 0, "dead items stay dead");

    engine::retry_dead(&app.db, org, id, clock.now()).await.unwrap();
    assert_eq!(engine.tick().await.unwrap(), 1, "a revived item runs again");
    assert_eq!(rec.count(), 4);
}

#[tokio::test]
async fn an_idempotency_key_admits_one_item_only() {
    let app = spawn_app().await;
    let now = app.clock.now();
    let first = engine::enqueue(&app.db, &record(json!({}), now).key("sms:42"), now).await.unwrap();
    let second = engine::enqueue(&app.db, &record(json!({}), now).key("sms:42"), now).await.unwrap();
    assert!(first.is_some());
    assert_eq!(second, None);
    let (n,): (i64,) = sqlx::query_as("select count(*) from work_items").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(n, 1);
}

/// A kind only a "newer" instance knows.
#[derive(serde::Serialize, serde::Deserialize)]
struct Newer {
    n: i64,
}

impl Kind for Newer {
    const NAME: &'static str = "test.newer";
}

struct NewerWorker;

impl Worker for NewerWorker {
    type Args = Newer;
    fn work(&self, _ctx: WorkContext, _item: WorkItem, args: Newer) -> BoxFuture<Outcome> {
        Box::pin(async move { Outcome::Done(Some(json!({ "n": args.n }))) })
    }
}

#[tokio::test]
async fn a_panicking_handler_is_retried_and_kinds_an_instance_does_not_know_wait_for_one_that_does() {
    let app = spawn_app().await;
    let clock = app.clock.clone();
    let engine =
        engine_with(&app.db, Arc::new(clock.clone()), Recorder::new(Behaviour::Panic, "a"), EngineConfig::default());
    let now = clock.now();
    let panicky = engine::enqueue(&app.db, &record(json!({}), now), now).await.unwrap().unwrap();
    let newer = engine::enqueue(&app.db, &NewWork::of(&Newer { n: 7 }, now).unwrap(), now).await.unwrap().unwrap();
    assert_eq!(engine.tick().await.unwrap(), 1, "an instance claims only the kinds it has workers for");
    let (status, _, error) = status_of(&app.db, panicky.0).await;
    assert_eq!(status, "pending");
    assert!(error.unwrap().contains("panicked"));
    assert_eq!(
        status_of(&app.db, newer.0).await,
        ("pending".to_string(), 0, None),
        "an older instance leaves a newer kind untouched (no attempt, no error)"
    );

    let mut workers = Workers::new();
    workers.add(NewerWorker);
    let upgraded = Engine::new(app.db.clone(), Arc::new(clock.clone()), EngineConfig::default(), workers);
    assert_eq!(upgraded.tick().await.unwrap(), 1);
    assert_eq!(status_of(&app.db, newer.0).await, ("done".to_string(), 1, None), "an instance that knows it runs it");
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Quiet {}

impl Kind for Quiet {
    const NAME: &'static str = "test.quiet";
}

struct QuietWorker;

impl Worker for QuietWorker {
    type Args = Quiet;
    fn work(&self, _ctx: WorkContext, _item: WorkItem, _args: Quiet) -> BoxFuture<Outcome> {
        Box::pin(async { Outcome::Done(None) })
    }
}

#[tokio::test]
async fn items_finished_together_keep_each_their_own_result() {
    let app = spawn_app().await;
    let clock = app.clock.clone();
    let mut workers = Workers::new();
    workers.add(NewerWorker).add(QuietWorker);
    let engine = Engine::new(app.db.clone(), Arc::new(clock.clone()), EngineConfig::default(), workers);
    let now = clock.now();
    let mut ids = Vec::new();
    for work in [
        NewWork::of(&Newer { n: 7 }, now).unwrap(),
        NewWork::of(&Quiet {}, now).unwrap(),
        NewWork::of(&Newer { n: 8 }, now).unwrap(),
    ] {
        ids.push(engine::enqueue(&app.db, &work, now).await.unwrap().unwrap().0);
    }
    assert_eq!(engine.tick().await.unwrap(), 3);
    let mut results = Vec::new();
    for id in &ids {
        let (status, result): (String, Option<String>) =
            sqlx::query_as("select status, result from work_items where id = $1")
                .bind(id)
                .fetch_one(app.db.pool())
                .await
                .unwrap();
        assert_eq!(status, "done");
        results.push(result.map(|r| serde_json::from_str::<serde_json::Value>(&r).unwrap()));
    }
    assert_eq!(results, vec![Some(json!({ "n": 7 })), None, Some(json!({ "n": 8 }))]);
}

#[tokio::test]
async fn a_payload_that_does_not_decode_fails_its_item_and_says_so() {
    let app = spawn_app().await;
    let clock = app.clock.clone();
    let mut workers = Workers::new();
    workers.add(NewerWorker);
    let engine = Engine::new(app.db.clone(), Arc::new(clock.clone()), EngineConfig::default(), workers);
    let now = clock.now();
    let mut bad = NewWork::of(&Newer { n: 1 }, now).unwrap();
    bad.payload = r#"{"n": "seven"}"#.into();
    let id = engine::enqueue(&app.db, &bad, now).await.unwrap().unwrap();
    assert_eq!(engine.tick().await.unwrap(), 1);
    let (status, attempts, error) = status_of(&app.db, id.0).await;
    assert_eq!((status.as_str(), attempts), ("dead", 1), "no retries: it would never decode");
    let error = error.unwrap();
    assert!(
        error.starts_with("the payload of this \"test.newer\" item does not decode (invalid type: string \"seven\""),
        "the error names the kind and the problem: {error}"
    );
    assert!(error.ends_with(r#": {"n": "seven"}"#), "and shows the payload: {error}");
}

#[tokio::test]
async fn urgent_work_is_claimed_before_routine_work_that_is_due() {
    let app = spawn_app().await;
    let clock = app.clock.clone();
    let rec = Recorder::new(Behaviour::Succeed, "one");
    // One at a time, so the order of claims is the order of runs.
    let config = EngineConfig { concurrency: 1, ..EngineConfig::default() };
    let engine = engine_with(&app.db, Arc::new(clock.clone()), rec.clone(), config);
    let now = clock.now();
    let mut routine = Vec::new();
    for i in 0..5 {
        let due = now + SignedDuration::from_secs(i);
        routine.push(engine::enqueue(&app.db, &record(json!({ "i": i }), due), now).await.unwrap().unwrap());
    }
    // Due after all of them, but urgent.
    let urgent_work = record(json!({ "urgent": true }), now + SignedDuration::from_secs(10)).priority(Priority::Urgent);
    let urgent = engine::enqueue(&app.db, &urgent_work, now).await.unwrap().unwrap();
    // Not due yet: urgency never makes work run early.
    clock.advance(SignedDuration::from_secs(9));
    assert_eq!(engine.tick().await.unwrap(), 5);
    clock.advance(SignedDuration::from_secs(1));
    assert_eq!(engine.tick().await.unwrap(), 1);
    let order: Vec<i64> = rec.runs.lock().unwrap().iter().map(|(id, _)| *id).collect();
    let mut expected: Vec<i64> = routine.iter().map(|w| w.0).collect();
    expected.push(urgent.0);
    assert_eq!(order, expected, "not due yet, the urgent item waited its time");

    // Now a burst of routine work and one urgent item all due at once.
    rec.runs.lock().unwrap().clear();
    let now = clock.now();
    let mut tx = app.db.begin().await.unwrap();
    for i in 0..20 {
        engine::enqueue_in(&mut tx, &record(json!({ "burst": i }), now), now).await.unwrap();
    }
    let late_urgent = engine::enqueue_in(
        &mut tx,
        &record(json!({ "urgent": 2 }), now + SignedDuration::from_secs(1)).priority(Priority::Urgent),
        now,
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    clock.advance(SignedDuration::from_secs(1));
    assert_eq!(engine.tick().await.unwrap(), 21);
    let first = rec.runs.lock().unwrap()[0].0;
    assert_eq!(first, late_urgent.0, "the urgent item ran before 20 routine items that were due earlier");
}

/// Fenced effects: a worker that records an effect only while its fence holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct Fenced {
    label: String,
}

impl Kind for Fenced {
    const NAME: &'static str = "test.fenced";
}

struct FencedWorker;

impl Worker for FencedWorker {
    type Args = Fenced;
    fn work(&self, ctx: WorkContext, item: WorkItem, args: Fenced) -> BoxFuture<Outcome> {
        Box::pin(async move {
            let mut tx = ctx.db.begin().await.unwrap();
            let fence = item.fence.clone().expect("fenced work carries its fence");
            if !engine::fence::holds_in(&mut tx, &fence).await.unwrap() {
                return Outcome::Done(Some(json!({ "stale": true })));
            }
            sqlx::query("insert into fence_effects (label) values ($1)")
                .bind(&args.label)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            Outcome::Done(None)
        })
    }
}

#[tokio::test]
async fn cancelled_work_never_runs_and_work_that_lost_its_fence_does_nothing() {
    let app = spawn_app().await;
    let clock = app.clock.clone();
    sqlx::query("create table fence_effects (label text not null)").execute(app.db.pool()).await.unwrap();
    let rec = Recorder::new(Behaviour::Succeed, "rec");
    let mut workers = Workers::new();
    workers.add(rec.clone()).add(FencedWorker);
    let engine = Engine::new(app.db.clone(), Arc::new(clock.clone()), EngineConfig::default(), workers);
    let now = clock.now();
    let later = now + SignedDuration::from_mins(15);

    // Three steps of one escalation, a key of its own for one of them, and an unrelated item.
    let mut tx = app.db.begin().await.unwrap();
    let fence = engine::fence::current_in(&mut tx, "escalation:1").await.unwrap();
    assert_eq!(fence.version, 0);
    let mut ids = Vec::new();
    for step in 1..=3 {
        let work = NewWork::of(&Fenced { label: format!("step {step}") }, later)
            .unwrap()
            .group("escalation:1")
            .key(format!("escalation:1:step:{step}"))
            .fence(fence.clone());
        ids.push(engine::enqueue_in(&mut tx, &work, now).await.unwrap().unwrap());
    }
    let other = engine::enqueue_in(&mut tx, &record(json!({}), later).key("nudge:9"), now).await.unwrap().unwrap();
    tx.commit().await.unwrap();

    // Confirmed: one transaction cancels the pending steps and advances the fence.
    let mut tx = app.db.begin().await.unwrap();
    assert!(engine::cancel_key_in(&mut tx, "escalation:1:step:3", now).await.unwrap(), "cancel by key");
    assert!(!engine::cancel_key_in(&mut tx, "no-such-key", now).await.unwrap());
    assert_eq!(engine::cancel_group_in(&mut tx, "escalation:1", now).await.unwrap(), 2, "the rest of the group");
    assert_eq!(engine::fence::advance_in(&mut tx, "escalation:1").await.unwrap().version, 1);
    tx.commit().await.unwrap();

    // A step queued before the confirmation but outside the group (say, by an older path).
    let straggler = engine::enqueue(
        &app.db,
        &NewWork::of(&Fenced { label: "straggler".into() }, later).unwrap().fence(fence.clone()),
        now,
    )
    .await
    .unwrap()
    .unwrap();
    clock.advance(SignedDuration::from_mins(15));
    assert_eq!(engine.tick().await.unwrap(), 2, "only the unrelated item and the straggler run");
    for id in &ids {
        assert_eq!(status_of(&app.db, id.0).await.0, "canceled");
    }
    assert_eq!(status_of(&app.db, other.0).await.0, "done");
    assert_eq!(status_of(&app.db, straggler.0).await.0, "done");
    let (effects,): (i64,) =
        sqlx::query_as("select count(*) from fence_effects").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(effects, 0, "work fenced by an older version did nothing");
    assert_eq!(rec.count(), 1);

    // Work queued for the current version acts.
    let mut tx = app.db.begin().await.unwrap();
    let current = engine::fence::current_in(&mut tx, "escalation:1").await.unwrap();
    let work = NewWork::of(&Fenced { label: "fresh".into() }, clock.now()).unwrap().fence(current);
    engine::enqueue_in(&mut tx, &work, clock.now()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(engine.tick().await.unwrap(), 1);
    let labels: Vec<(String,)> =
        sqlx::query_as("select label from fence_effects").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(labels, vec![("fresh".to_string(),)]);
}

#[tokio::test]
async fn a_runner_that_dies_holding_the_lease_is_replaced_after_the_lease_expires() {
    let app = spawn_app().await;
    let clock = app.clock.clone();
    let config = EngineConfig { lease: SignedDuration::from_secs(30), ..EngineConfig::default() };
    let dying = engine_with(&app.db, Arc::new(clock.clone()), Recorder::new(Behaviour::Hang, "dying"), config.clone());
    let now = clock.now();
    let id = engine::enqueue(&app.db, &record(json!({}), now), now).await.unwrap().unwrap();
    let crashed = tokio::spawn(async move { dying.tick().await });
    // Wait until the dying runner holds the lease, then "kill" it.
    for _ in 0..500 {
        if status_of(&app.db, id.0).await.0 == "running" {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    crashed.abort();
    assert_eq!(status_of(&app.db, id.0).await.0, "running");

    let survivor_rec = Recorder::new(Behaviour::Succeed, "survivor");
    let survivor = engine_with(&app.db, Arc::new(clock.clone()), survivor_rec.clone(), config);
    assert_eq!(survivor.tick().await.unwrap(), 0, "the lease still protects the item");
    clock.advance(SignedDuration::from_secs(30));
    assert_eq!(survivor.tick().await.unwrap(), 1, "after the lease expires the item is claimed again");
    let (status, attempts, _) = status_of(&app.db, id.0).await;
    assert_eq!((status.as_str(), attempts), ("done", 2));
    assert_eq!(survivor_rec.count(), 1);
}

#[tokio::test]
async fn the_running_engine_wakes_for_new_work_and_for_timers_without_polling() {
    let app = spawn_app().await;
    let rec = Recorder::new(Behaviour::Succeed, "live");
    // A long max_idle: only wake-ups (not polling) can make this test finish quickly.
    let config = EngineConfig { max_idle: Duration::from_secs(3600), ..EngineConfig::default() };
    let engine = engine_with(&app.db, Arc::new(SystemClock), rec.clone(), config);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run(stopped).await }
    });
    let now = jiff::Timestamp::now();
    engine::enqueue(&app.db, &record(json!({}), now), now).await.unwrap();
    engine::enqueue(&app.db, &record(json!({}), now + SignedDuration::from_millis(300)), now).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while rec.count() < 2 {
        assert!(std::time::Instant::now() < deadline, "both items ran ({} so far)", rec.count());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true).unwrap();
    worker.await.unwrap();
}

#[tokio::test]
async fn two_instances_on_one_database_run_each_item_exactly_once() {
    // Two engines with separate connection pools: two "processes" sharing one database.
    let fresh = FreshDb::new().await;
    let db_a = Db::connect(&fresh.url).await.expect("instance a connects");
    db_a.migrate().await.expect("instance a migrates");
    let db_b = Db::connect(&fresh.url).await.expect("instance b connects");
    let runs: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    // Room for 32 each, so the 400 items outlast one instance's first claims and the other,
    // told by NOTIFY, takes its share while they race for the rest.
    let config = EngineConfig { concurrency: 32, ..EngineConfig::default() };
    let a = engine_with(
        &db_a,
        Arc::new(SystemClock),
        Recorder::shared(Behaviour::SleepMs(2), "a", runs.clone()),
        config.clone(),
    );
    let b =
        engine_with(&db_b, Arc::new(SystemClock), Recorder::shared(Behaviour::SleepMs(2), "b", runs.clone()), config);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = [
        tokio::spawn({
            let a = a.clone();
            let s = stopped.clone();
            async move { a.run(s).await }
        }),
        tokio::spawn({
            let b = b.clone();
            async move { b.run(stopped).await }
        }),
    ];

    const ITEMS: usize = 400;
    let now = jiff::Timestamp::now();
    let mut tx = db_a.begin().await.expect("a transaction for the items");
    for i in 0..ITEMS {
        engine::enqueue_in(&mut tx, &record(json!({"i": i}), now), now).await.expect("an item is added");
    }
    tx.commit().await.expect("the items commit");
    // Only the adding instance is told; on PostgreSQL the other learns through NOTIFY.
    db_a.work_added();

    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (done,): (i64,) = sqlx::query_as("select count(*) from work_items where status = 'done'")
            .fetch_one(db_a.pool())
            .await
            .expect("counting finished items");
        if done as usize == ITEMS {
            break;
        }
        if std::time::Instant::now() >= deadline {
            // Say where the rest are, so a failure on a loaded machine explains itself.
            let states: Vec<(String, Option<String>, i64)> =
                sqlx::query_as("select status, last_error, count(*) from work_items group by status, last_error")
                    .fetch_all(db_a.pool())
                    .await
                    .expect("reading the items' states");
            panic!("all {ITEMS} items finish within 60 s: {done} done; by state: {states:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    for w in workers {
        w.await.expect("an engine's run loop ends without panicking");
    }
    let runs = runs.lock().unwrap().clone();
    let mut per_item: HashMap<i64, usize> = HashMap::new();
    let mut per_instance: HashMap<String, usize> = HashMap::new();
    for (id, who) in &runs {
        *per_item.entry(*id).or_default() += 1;
        *per_instance.entry(who.clone()).or_default() += 1;
    }
    assert_eq!(per_item.len(), ITEMS, "every item ran");
    let twice: Vec<_> = per_item.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "no item ran twice: {twice:?} (item id, runs)");
    if backend() == Backend::Postgres {
        assert!(per_instance.len() == 2, "both instances took a share on PostgreSQL: {per_instance:?}");
    }
    db_a.close().await;
    db_b.close().await;
}

#[tokio::test]
async fn admins_see_stopped_work_and_can_retry_it_but_not_another_orgs() {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    let (other, other_admin) = app.org_with_admin("other").await;
    let now = app.clock.now();
    // Texts whose payload an older build wrote wrongly: the app's engine knows the kind but
    // cannot decode them, so they stop.
    let broken = |org| {
        let mut w = record(json!({}), now).org(org);
        w.kind = "sms.send";
        w.payload = r#"{"message": 12}"#.into();
        w
    };
    let id = engine::enqueue(&app.db, &broken(org), now).await.unwrap().unwrap();
    let theirs = engine::enqueue(&app.db, &broken(other), now).await.unwrap().unwrap();
    app.engine.tick().await.unwrap();

    let b = app.signed_in(&admin.email).await;
    let (status, page) = b.get_text("/settings/engine").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("sms.send") && page.contains("does not decode (missing field `message_id`"),
        "the stopped item and its error are shown"
    );
    assert!(page.contains(&format!("/settings/engine/{}/retry", id.0)));
    assert!(!page.contains(&format!("/settings/engine/{}/retry", theirs.0)), "another org's work is not listed");

    let resp = b.post_form(&format!("/settings/engine/{}/retry", theirs.0), &[]).await;
    assert_eq!(resp.status(), 404);
    let resp = b.post_form(&format!("/settings/engine/{}/retry", id.0), &[]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(status_of(&app.db, id.0).await.0, "pending", "retried work is due again");
    assert_eq!(status_of(&app.db, theirs.0).await.0, "dead");
    let _ = other_admin;

    let dispatcher = app.user(org, "d@acme.example.com", "dispatcher").await;
    let d = app.signed_in(&dispatcher.email).await;
    assert_eq!(d.get("/settings/engine").await.status(), 403, "admins only");
}

#[tokio::test]
async fn on_postgres_an_idle_instance_is_woken_by_work_another_instance_commits() {
    if backend() != Backend::Postgres {
        return; // SQLite has one process per database file: nothing to announce across.
    }
    let fresh = FreshDb::new().await;
    let producer = Db::connect(&fresh.url).await.unwrap();
    producer.migrate().await.unwrap();
    let worker_db = Db::connect(&fresh.url).await.unwrap();
    let rec = Recorder::new(Behaviour::Succeed, "worker");
    // An hour of idle sleep: only a NOTIFY from the other instance can wake it in time.
    let config = EngineConfig { max_idle: Duration::from_secs(3600), ..EngineConfig::default() };
    let worker = engine_with(&worker_db, Arc::new(SystemClock), rec.clone(), config);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn({
        let worker = worker.clone();
        async move { worker.run(stopped).await }
    });
    // Let the worker settle into its idle sleep.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let now = jiff::Timestamp::now();
    engine::enqueue(&producer, &record(json!({}), now), now).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while rec.count() == 0 {
        assert!(std::time::Instant::now() < deadline, "the idle instance never woke up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap();
    producer.close().await;
    worker_db.close().await;
}

#[tokio::test]
async fn on_postgres_live_events_reach_browsers_of_every_instance() {
    if backend() != Backend::Postgres {
        return; // One process per SQLite file: events stay in process.
    }
    let fresh = FreshDb::new().await;
    let a = Db::connect(&fresh.url).await.unwrap();
    a.migrate().await.unwrap();
    let b = Db::connect(&fresh.url).await.unwrap();
    let mut on_b = b.subscribe();
    let mut on_a = a.subscribe();
    let event = switchboard_core::db::Event::Lead {
        org: switchboard_core::ids::OrgId(1),
        lead: switchboard_core::ids::LeadId(7),
    };
    a.publish(event.clone());
    let got_b = tokio::time::timeout(Duration::from_secs(10), on_b.recv()).await.expect("instance B hears it").unwrap();
    let got_a =
        tokio::time::timeout(Duration::from_secs(10), on_a.recv()).await.expect("instance A hears it too").unwrap();
    assert_eq!((got_a, got_b), (event.clone(), event));
    a.close().await;
    b.close().await;
}

/// Listens to `test.record` items, noting each one it hears (and failing the first `fail`).
#[derive(Clone)]
struct Ear {
    label: &'static str,
    heard: Arc<Mutex<Vec<String>>>,
    fail: Arc<Mutex<usize>>,
}

impl engine::Listener for Ear {
    type Event = Record;
    fn react(&self, _ctx: WorkContext, item: WorkItem, _event: Arc<Record>) -> BoxFuture<switchboard_core::Result<()>> {
        let me = self.clone();
        Box::pin(async move {
            me.heard.lock().unwrap().push(format!("{}:{}", me.label, item.attempt));
            let mut fail = me.fail.lock().unwrap();
            if *fail > 0 {
                *fail -= 1;
                return Err(switchboard_core::Error::Unavailable("the listener's database blinked".into()));
            }
            Ok(())
        })
    }
}

#[tokio::test]
async fn every_listener_of_an_event_hears_it_in_order_and_a_failure_retries_them_all() {
    let app = spawn_app().await;
    let clock = app.clock.clone();
    let heard: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut workers = Workers::new();
    workers.listen(Ear { label: "notices", heard: heard.clone(), fail: Arc::default() });
    workers.listen(Ear { label: "portal", heard: heard.clone(), fail: Arc::new(Mutex::new(1)) });
    assert_eq!(workers.kinds(), vec!["test.record"], "one kind, claimed once");
    let engine = Engine::new(app.db.clone(), Arc::new(clock.clone()), EngineConfig::default(), workers);
    let id = engine::enqueue(&app.db, &record(json!({"job": 1}), clock.now()), clock.now()).await.unwrap().unwrap();

    assert_eq!(engine.tick().await.unwrap(), 1);
    assert_eq!(*heard.lock().unwrap(), vec!["notices:1", "portal:1"]);
    let (status, attempts, error) = status_of(&app.db, id.0).await;
    assert_eq!((status.as_str(), attempts), ("pending", 1), "the item is retried");
    assert!(error.unwrap().contains("the listener's database blinked"));

    clock.advance(SignedDuration::from_mins(1));
    assert_eq!(engine.tick().await.unwrap(), 1);
    assert_eq!(*heard.lock().unwrap(), vec!["notices:1", "portal:1", "notices:2", "portal:2"]);
    assert_eq!(status_of(&app.db, id.0).await.0, "done");
}
