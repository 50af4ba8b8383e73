//! `switchboard bench escalation`: urgent escalation's timers under load, through the real
//! steps (each step: the escalation locked, the message read, the person's reply code and
//! acknowledgement link made, the text queued and the timeline written, in one transaction).
//!
//! An answering service of 100 clients, each with its on-call person and its owner; the
//! escalations are spread over the clients. Measured, next to a baseline from the same run:
//! - step lateness with N active escalations (10,000 and 100,000 waiting on timers due over
//!   the next hour): 500 escalations whose waits end at spread-out moments within 10 seconds;
//!   lateness = when their next step was carried out - when the wait ended (p50/p99/max).
//!   Baseline: the engine's own no-op timer lateness with the same number pending;
//! - step firings per second: 2,000 escalations whose waits all end now, until every next
//!   step is carried out (the texts they queue taken by the provider at once). Baseline: the
//!   engine draining 2,000 no-op items;
//! - confirmation to all steps stopped: 500 confirmations one after another, each committing
//!   the confirmation and the cancellation of the escalation's timers (p50/p99); then checked:
//!   none of their next steps runs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use switchboard_core::clock::SystemClock;
use switchboard_core::db::Db;
use switchboard_core::desk::flow::{Action, Channel, Policy, Repeat, Step, Target};
use switchboard_core::desk::messages::{self, TakeInput};
use switchboard_core::desk::{self, CallerTypeInput, ProtocolInput};
use switchboard_core::engine::{
    self, BoxFuture, EngineConfig, NewWork, Outcome, WorkContext, WorkItem, Worker, Workers,
};
use switchboard_core::escalation::calls::Placer;
use switchboard_core::escalation::drive::{self, Confirmer, WaitOver};
use switchboard_core::escalation::run::Event;
use switchboard_core::form_fields::CustomFieldInput;
use switchboard_core::ids::{BrandId, OrgId};
use switchboard_core::messaging::SendSms;
use switchboard_core::providers::twilio::{TwilioConfig, TwilioSms};
use switchboard_core::tenancy::{self, BrandInput};

const SAMPLE: usize = 500;
const BURST: usize = 2_000;
const BASE: &str = "http://127.0.0.1:9";

/// An answering service with [`CLIENTS`] clients, each with its own on-call person and owner.
struct Office {
    org: OrgId,
    brands: Vec<BrandId>,
}

/// Clients of the answering service: the escalations are spread over them (and so over their
/// people, who each hold a few open reply codes, as on a busy night).
const CLIENTS: usize = 100;

async fn office(db: &Db) -> anyhow::Result<Office> {
    let org = tenancy::create_org(db, &SystemClock, "bench", "Bench Answering").await?.id;
    let mut brands = Vec::with_capacity(CLIENTS);
    for k in 0..CLIENTS {
        brands.push(client(db, org, k).await?);
    }
    Ok(Office { org, brands })
}

/// Client `k`, whose callers' urgent messages text its on-call person for a code (then wait
/// an hour), then text its owner.
async fn client(db: &Db, org: OrgId, k: usize) -> anyhow::Result<BrandId> {
    let clock = SystemClock;
    let input = BrandInput {
        name: format!("Bench Plumbing {k}"),
        time_zone: "America/Chicago".into(),
        sms_number: Some(format!("+1312555{:04}", k)),
        ..Default::default()
    };
    let brand = tenancy::create_brand(db, &clock, org, &input).await?;
    let mut ids = Vec::new();
    for (name, cell) in [("On call", format!("+1617555{:04}", k)), ("Owner", format!("+1646555{:04}", k))] {
        let c = desk::contacts::ContactInput {
            name: name.into(),
            methods: vec![("cell".into(), cell)],
            ..Default::default()
        };
        ids.push(desk::contacts::create(db, &clock, org, brand.id, &c).await?.id);
    }
    let flow = Policy {
        steps: vec![
            Step {
                action: Action::TextConfirm,
                targets: vec![Target::Contact { id: ids[0], channel: Channel::Cell }],
                wait_minutes: 60,
            },
            Step {
                action: Action::TextConfirm,
                targets: vec![Target::Contact { id: ids[1], channel: Channel::Cell }],
                wait_minutes: 60,
            },
        ],
        repeat: Repeat::Times(1),
    };
    let protocol = ProtocolInput {
        answer_phrase: "Thank you for calling {client}".into(),
        caller_types: vec![CallerTypeInput {
            key: Some("caller".into()),
            name: "Caller".into(),
            fields: vec![CustomFieldInput {
                key: Some("caller_name".into()),
                label: "Caller's name".into(),
                kind: "text".into(),
                required: true,
                options: String::new(),
                help: String::new(),
            }],
            deliveries: Vec::new(),
            urgent_flow: Some(flow),
        }],
        ..Default::default()
    };
    desk::save(db, &clock, org, brand.id, "bench", &protocol, None).await?;
    Ok(brand.id)
}

/// The escalation's workers only (texts are queued, not sent: the measure is the steps).
fn workers() -> anyhow::Result<Workers> {
    let voice = TwilioSms::new(TwilioConfig {
        base_url: BASE.into(),
        account_sid: "ACbench".into(),
        auth_token: "bench".into(),
    })
    .map_err(anyhow::Error::msg)?;
    let mut workers = Workers::new();
    drive::register(&mut workers, Placer { voice: Arc::new(voice), base_url: BASE.into() });
    workers.add(Handed);
    Ok(workers)
}

/// The texts the steps queue, taken by the provider at once (there is none here): claimed and
/// finished like any work, so that they do not pile up due, unclaimed, in the engine's queue
/// (which a running instance's sender never lets happen).
struct Handed;

impl Worker for Handed {
    type Args = SendSms;
    fn work(&self, _ctx: WorkContext, _item: WorkItem, _args: SendSms) -> BoxFuture<Outcome> {
        Box::pin(async { Outcome::Done(None) })
    }
}

/// `n` urgent messages taken and their escalations started (the first step carried out):
/// their escalation ids.
async fn started(db: &Db, o: &Office, n: usize) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let input = TakeInput {
            caller_type: "caller".into(),
            answers: [("caller_name".to_string(), format!("Caller {i}"))].into_iter().collect(),
            urgent: Some(true),
            urgent_reason: "no heat".into(),
            about: None,
            submit_key: None,
        };
        let brand = o.brands[i % o.brands.len()];
        let m = messages::take(db, &SystemClock, o.org, brand, "bench", &input).await?;
        drive::start(db, &SystemClock, BASE, o.org, m.id).await?;
        let (id,): (i64,) =
            sqlx::query_as("select id from escalations where message_id = $1").bind(m.id).fetch_one(db.pool()).await?;
        ids.push(id);
    }
    // The listener's items for these messages would only find them started: done already.
    sqlx::query("update work_items set status = 'done' where kind = 'desk.urgent_taken'").execute(db.pool()).await?;
    Ok(ids)
}

/// `n` escalations waiting on timers due over the next hour (from a minute on), written in
/// bulk: the load the measured ones run beside.
async fn background(db: &Db, o: &Office, n: usize) -> anyhow::Result<()> {
    let now = Timestamp::now();
    let at = switchboard_core::clock::to_millis(now);
    let policy =
        sqlx::query_as::<_, (String,)>("select policy from escalations limit 1").fetch_optional(db.pool()).await?;
    let policy = match policy {
        Some((p,)) => p,
        None => anyhow::bail!("start the measured escalations first"),
    };
    let mut tx = db.begin().await?;
    for i in 0..n {
        let (message,): (i64,) = sqlx::query_as(
            "insert into desk_messages (org_id, brand_id, protocol_version, caller_type, caller_type_name, answers, \
             urgent, urgent_reason, status, taken_by, taken_at, in_hours) \
             values ($1, $2, 1, 'caller', 'Caller', '[]', 1, 'no heat', 'held', 'bench', $3, 0) returning id",
        )
        .bind(o.org.0)
        .bind(o.brands[i % o.brands.len()].0)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        let (escalation,): (i64,) = sqlx::query_as(
            "insert into escalations (org_id, brand_id, message_id, policy, state, round, step, version, reached, \
             started_at) values ($1, $2, $3, $4, 'escalating', 1, 0, 1, 1, $5) returning id",
        )
        .bind(o.org.0)
        .bind(o.brands[i % o.brands.len()].0)
        .bind(message)
        .bind(&policy)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        let due = now + SignedDuration::from_millis(60_000 + (i as i64 * 3_540_000) / n.max(1) as i64);
        let work = NewWork::of(&WaitOver { escalation_id: escalation, version: 1 }, due)?
            .org(o.org)
            .group(format!("escalation:{escalation}"))
            .key(format!("escalation:{escalation}:wait:1"));
        engine::enqueue_in(&mut tx, &work, now).await?;
        if i % 2_000 == 1_999 {
            tx.commit().await?;
            tx = db.begin().await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Moves the waits of `ids` to end at `due(i)`.
async fn wait_until(db: &Db, ids: &[i64], due: impl Fn(usize) -> Timestamp) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    for (i, id) in ids.iter().enumerate() {
        sqlx::query("update work_items set due_at = $2 where idempotency_key = $1 and status = 'pending'")
            .bind(format!("escalation:{id}:wait:1"))
            .bind(switchboard_core::clock::to_millis(due(i)))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    db.work_added();
    Ok(())
}

/// Waits until every one of `ids` has carried out its second step; (escalation, when, due).
async fn second_steps(db: &Db, ids: &[i64]) -> anyhow::Result<Vec<i64>> {
    // The list travels as one parameter: a statement of thousands of literals would cost the
    // database a parse each look, time taken from the steps measured.
    let list = switchboard_core::db::bulk::encode(ids)?;
    let mine = switchboard_core::db::bulk::any(db.backend(), "e.escalation_id", 1, "bigint");
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let (done,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select count(*) from escalation_events e where e.kind = 'sent' and e.step = 2 and {mine}"
        )))
        .bind(&list)
        .fetch_one(db.pool())
        .await?;
        if done as usize >= ids.len() {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "steps did not fire ({done}/{})", ids.len());
        // Looked at now and then: the steps' own times say when each was carried out, and a
        // frequent count would take the database's time from them.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select e.at - w.due_at from escalation_events e join work_items w \
         on w.idempotency_key = 'escalation:' || e.escalation_id || ':wait:1' \
         where e.kind = 'sent' and e.step = 2 and {mine} order by 1"
    )))
    .bind(&list)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|(l,)| l).collect())
}

fn pick(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

/// The database's statistics as in use: PostgreSQL's autovacuum gathers them as tables grow
/// (a bulk load measured at once would have none, and its plans would scan a person's every
/// code); SQLite gathers none unless asked, and Switchboard never asks.
async fn steady(db: &Db) -> anyhow::Result<()> {
    if db.backend() == switchboard_core::db::Backend::Postgres {
        sqlx::query("analyze").execute(db.pool()).await?;
    }
    Ok(())
}

pub async fn run(postgres: Option<String>, active: Vec<usize>) -> anyhow::Result<()> {
    crate::app::install_crypto_provider();
    let backend = if postgres.is_some() { "postgres" } else { "sqlite" };
    println!("switchboard bench escalation ({backend})");
    let config = EngineConfig::default();

    for n in &active {
        let (db, _dir) = super::engine::fresh_db(&postgres, &format!("esc{n}")).await?;
        let o = office(&db).await?;
        let sample = started(&db, &o, SAMPLE).await?;
        let setup = Instant::now();
        background(&db, &o, *n).await?;
        let setup = setup.elapsed();
        steady(&db).await?;
        let (stop, task) = super::engine::start_engine(&db, &config, workers()?);
        let base = Timestamp::now() + SignedDuration::from_millis(500);
        wait_until(&db, &sample, |i| base + SignedDuration::from_millis((i as i64 * 9_500) / SAMPLE as i64)).await?;
        let late = second_steps(&db, &sample).await?;
        let _ = stop.send(true);
        task.await?;
        db.close().await;
        let (bdb, _bdir) = super::engine::fresh_db(&postgres, &format!("esctimers{n}")).await?;
        let baseline = super::engine::timer_lateness(&bdb, &config, *n).await?;
        bdb.close().await;
        println!(
            "  step lateness, {n:>6} active:  p50 {:>4} ms  p99 {:>4} ms  max {:>4} ms  ({} steps; {n} written in {:.0} s)",
            pick(&late, 0.5),
            pick(&late, 0.99),
            late.last().copied().unwrap_or(0),
            late.len(),
            setup.as_secs_f64()
        );
        println!(
            "    baseline, no-op timers:    p50 {:>4} ms  p99 {:>4} ms  max {:>4} ms",
            baseline.p50, baseline.p99, baseline.max
        );
    }

    let (db, _dir) = super::engine::fresh_db(&postgres, "escburst").await?;
    let o = office(&db).await?;
    let burst = started(&db, &o, BURST).await?;
    steady(&db).await?;
    let (stop, task) = super::engine::start_engine(&db, &config, workers()?);
    let now = Timestamp::now();
    wait_until(&db, &burst, |_| now).await?;
    // All due at `now`: the last step's lateness is how long the burst took.
    let late = second_steps(&db, &burst).await?;
    let took = late.last().copied().unwrap_or(0).max(1);
    let rate = BURST as f64 * 1000.0 / took as f64;
    let _ = stop.send(true);
    task.await?;

    // Confirmations: escalations waiting after their first step, confirmed one by one.
    let waiting = started(&db, &o, SAMPLE).await?;
    // Their waits end now: were a confirmation to leave a timer behind, the engine would carry
    // out the next step below.
    let now = Timestamp::now();
    wait_until(&db, &waiting, |_| now).await?;
    let mut lat = Vec::with_capacity(SAMPLE);
    for id in &waiting {
        let by = Confirmer::Operator { name: "Bench".into(), reason: "reached by phone".into() };
        let t = Instant::now();
        drive::act(&db, &SystemClock, BASE, o.org, *id, Event::Confirm, Some(by)).await?;
        lat.push(t.elapsed());
    }
    lat.sort();
    let list = waiting.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let keys = waiting.iter().map(|i| format!("'escalation:{i}:wait:1'")).collect::<Vec<_>>().join(",");
    let (pending,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select count(*) from work_items where idempotency_key in ({keys}) and status in ('pending', 'running')"
    )))
    .fetch_one(db.pool())
    .await?;
    let (stop, task) = super::engine::start_engine(&db, &config, workers()?);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = stop.send(true);
    task.await?;
    let (after,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select count(*) from escalation_events where kind = 'sent' and step = 2 and escalation_id in ({list})"
    )))
    .fetch_one(db.pool())
    .await?;
    db.close().await;

    let (bdb, _bdir) = super::engine::fresh_db(&postgres, "escdrain").await?;
    let drain = super::engine::engine_drain(&bdb, &config, BURST).await?;
    bdb.close().await;
    println!(
        "  step firings ({BURST} due at once):  {rate:>7.0} steps/s  (engine no-op drain {drain:.0} items/s: {:.2}x)",
        rate / drain
    );
    println!(
        "  confirmation to all stopped:   p50 {:>6.2} ms  p99 {:>6.2} ms  ({SAMPLE} in a row; timers left: {pending}, steps after: {after})",
        super::percentile_ms(&lat, 0.5),
        super::percentile_ms(&lat, 0.99)
    );
    anyhow::ensure!(pending == 0 && after == 0, "a confirmed escalation still had work");
    Ok(())
}
