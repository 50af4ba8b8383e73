//! `switchboard bench desk`: the message desk's two costs that grow with an answering service.
//!
//! - Operator submit to first delivery attempt: a message `POST`ed to `/api/v1/desk/messages`
//!   (a client whose protocol emails routine messages to its office) until its email reaches
//!   an SMTP server on loopback, through the running server's engine. Baseline in the same
//!   run: a plain email `POST`ed to `/api/v1/messages`, the same engine and SMTP server.
//! - Daily recaps: 1,000 clients with 100 messages each held for the 8:00 AM recap, then the
//!   recap timers run: time to build the 1,000 recap emails (each listing 100 messages) and
//!   the process's peak memory. Baseline: queuing 1,000 plain emails of the same size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use serde_json::json;
use switchboard_core::clock::{Clock, ManualClock, SystemClock};
use switchboard_core::desk::contacts::ContactInput;
use switchboard_core::desk::messages::{self, TakeInput};
use switchboard_core::engine::{Engine, EngineConfig, Workers};
use switchboard_core::ids::BrandId;
use switchboard_core::tenancy::{self, BrandInput};
use switchboard_standins::smtp::SmtpSink;

use crate::App;
use crate::config::{Config, FileConfig, ServeArgs};

const SUBMITS: usize = 200;
const CLIENTS: usize = 1_000;
const PER_CLIENT: usize = 100;

/// The process's resident memory now and at its peak, in MiB (Linux; zero elsewhere).
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let read = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    };
    (read("VmRSS:"), read("VmHWM:"))
}

/// A client in Chicago whose protocol is `template`, with its `role` contact reachable at `email`.
async fn client(
    db: &switchboard_core::db::Db,
    clock: &dyn Clock,
    org: switchboard_core::ids::OrgId,
    name: &str,
    template: &str,
    role: &str,
    email: &str,
) -> anyhow::Result<BrandId> {
    let input = BrandInput { name: name.into(), time_zone: "America/Chicago".into(), ..Default::default() };
    let brand = tenancy::create_brand(db, clock, org, &input).await?;
    let contact =
        ContactInput { name: role.into(), methods: vec![("email".into(), email.into())], ..Default::default() };
    switchboard_core::desk::contacts::create(db, clock, org, brand.id, &contact).await?;
    switchboard_core::desk::apply_template(db, clock, org, brand.id, "bench", template).await?;
    Ok(brand.id)
}

pub async fn run(postgres: Option<String>) -> anyhow::Result<()> {
    crate::app::install_crypto_provider();
    let backend = if postgres.is_some() { "postgres" } else { "sqlite" };
    println!("switchboard bench desk ({backend})");
    submit_to_delivery(&postgres).await?;
    recaps(&postgres).await
}

/// Submit to first delivery attempt, through a running server.
async fn submit_to_delivery(postgres: &Option<String>) -> anyhow::Result<()> {
    let sink = SmtpSink::start("127.0.0.1:0".parse()?).await?;
    let (url, dir) = super::engine::fresh_db_url(postgres, "desk_submit").await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let args = ServeArgs {
        listen: Some(addr),
        database_url: Some(url),
        public_url: Some(format!("http://{addr}")),
        smtp_url: Some(sink.url()),
        ..Default::default()
    };
    let app = App::build(Config::resolve(&args, FileConfig::default())?, Arc::new(SystemClock)).await?;
    let db = app.state.db.clone();
    let org = tenancy::create_org(&db, &SystemClock, "bench", "Bench Answering").await?.id;
    let brand =
        client(&db, &SystemClock, org, "Bench Plumbing", "hvac_plumbing", "Office", "office@bench.example").await?;
    let key = switchboard_core::auth::create_api_key(&db, &SystemClock, org, "bench").await?.0;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve(listener, app, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let base = format!("http://{addr}/api/v1");

    let measure = |label: &'static str, path: &'static str, rcpt: &'static str, body: serde_json::Value| {
        let (http, key, base, sink) = (http.clone(), key.clone(), base.clone(), sink.clone());
        async move {
            let mut lat = Vec::with_capacity(SUBMITS);
            for _ in 0..SUBMITS {
                let t = Instant::now();
                let resp = http.post(format!("{base}{path}")).bearer_auth(&key).json(&body).send().await?;
                anyhow::ensure!(resp.status().is_success(), "{path} answered {}", resp.status());
                sink.expect_mail(rcpt, Duration::from_secs(30)).await.map_err(anyhow::Error::msg)?;
                lat.push(t.elapsed());
            }
            lat.sort();
            println!(
                "  {label:<44} p50 {:>7.2} ms  p99 {:>7.2} ms  ({SUBMITS} in a row)",
                super::percentile_ms(&lat, 0.5),
                super::percentile_ms(&lat, 0.99)
            );
            anyhow::Ok(super::percentile_ms(&lat, 0.5))
        }
    };
    let plain = json!({ "brand_id": brand.0, "channel": "email", "to": "plain@bench.example",
                        "subject": "Message for Bench Plumbing", "body": "Caller's name: Paula Mendes" });
    let baseline =
        measure("baseline: POST /messages to the SMTP server", "/messages", "plain@bench.example", plain).await?;
    let message = json!({ "client_id": brand.0, "caller_type": "caller", "answers": {
        "caller_name": "Paula Mendes", "callback_number": "(312) 555-0199", "service_address": "12 Wacker Dr",
        "what_is_wrong": "Dripping kitchen faucet", "best_time_to_call": "Evening" } });
    let desk =
        measure("desk: POST /desk/messages to the SMTP server", "/desk/messages", "office@bench.example", message)
            .await?;
    println!(
        "  submit to first delivery attempt, p50: {desk:.2} ms vs baseline {baseline:.2} ms ({:.2}x)",
        desk / baseline
    );
    let _ = stop.send(());
    server.await??;
    drop(dir);
    Ok(())
}

/// Recaps for 1,000 clients with 100 messages each.
async fn recaps(postgres: &Option<String>) -> anyhow::Result<()> {
    let (db, _dir) = super::engine::fresh_db(postgres, "desk_recaps").await?;
    // Monday 10:00 PM in Chicago: every message waits for Tuesday's 8:00 AM recap.
    let start: Timestamp = "2026-12-08T04:00:00Z".parse()?;
    let clock = ManualClock::new(start);
    let org = tenancy::create_org(&db, &clock, "bench", "Bench Answering").await?.id;
    let t = Instant::now();
    let mut brands = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        let name = format!("Property client {i:04}");
        let email = format!("pm{i}@bench.example");
        brands.push(client(&db, &clock, org, &name, "property_management", "Property manager", &email).await?);
    }
    let answers = |n: usize| -> TakeInput {
        TakeInput {
            caller_type: "tenant".into(),
            answers: [
                ("caller_name", format!("Tenant {n}")),
                ("callback_number", format!("(312) 555-{:04}", n % 10_000)),
                ("property_and_unit", format!("400 N Lake Shore, unit {n}")),
                ("problem", "The hallway light is out and the stairs are dark at night".to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            urgent: Some(false),
            ..Default::default()
        }
    };
    // Each round takes one message for every client, 8 at a time (as 8 operators would).
    let mut taken = 0;
    for round in 0..PER_CLIENT {
        let inputs: Vec<(BrandId, TakeInput)> =
            brands.iter().enumerate().map(|(i, b)| (*b, answers(taken + i))).collect();
        let (db, clock) = (&db, &clock);
        futures_util::stream::iter(inputs)
            .map(|(b, input)| async move { messages::take(db, clock, org, b, "api", &input).await })
            .buffer_unordered(8)
            .try_collect::<Vec<_>>()
            .await?;
        taken += brands.len();
        clock.set(start + jiff::SignedDuration::from_secs(round as i64 + 1));
    }
    let setup = t.elapsed();
    println!(
        "  set up {CLIENTS} clients and took {taken} messages held for the recap, 8 at a time, in {:.1} s ({:.0} messages/s)",
        setup.as_secs_f64(),
        taken as f64 / setup.as_secs_f64()
    );

    // Only the recap timers run here: the emails they queue are counted, not sent.
    let mut workers = Workers::new();
    let push =
        switchboard_core::providers::web_push::WebPush::load(&db, start, "mailto:bench@bench.example".into(), vec![])
            .await?;
    let outside = switchboard_core::desk::Outside {
        base_url: "http://127.0.0.1".into(),
        push: Arc::new(push),
        snpp: None,
        fax_gateway: None,
    };
    switchboard_core::desk::register(&mut workers, outside);
    let engine = Engine::new(db.clone(), Arc::new(clock.clone()), EngineConfig::default(), workers);
    clock.set("2026-12-08T14:00:00Z".parse()?);
    let (rss_before, _) = memory_mib();
    let t = Instant::now();
    let mut ran = 0;
    loop {
        let n = engine.tick().await?;
        if n == 0 {
            break;
        }
        ran += n;
    }
    let built = t.elapsed();
    let (rss_after, peak) = memory_mib();
    let (emails, bytes): (i64, Option<i64>) = sqlx::query_as(
        "select count(*), sum(length(body)) from messages where channel = 'email' and subject like '%recap'",
    )
    .fetch_one(db.pool())
    .await?;
    let bytes = bytes.unwrap_or(0);
    anyhow::ensure!(emails as usize == CLIENTS, "expected {CLIENTS} recap emails, found {emails}");
    println!(
        "  {ran} recap timers built {emails} emails ({:.0} KiB each, {PER_CLIENT} messages) in {:.2} s ({:.0} recaps/s)",
        bytes as f64 / emails as f64 / 1024.0,
        built.as_secs_f64(),
        emails as f64 / built.as_secs_f64()
    );
    println!("  memory: {rss_before:.0} MiB before, {rss_after:.0} MiB after, {peak:.0} MiB peak for the process");

    // Baseline: the same number of emails of the same size, queued one transaction each.
    let brand = tenancy::brand(&db, org, brands[0]).await?;
    let text = "x".repeat((bytes / emails) as usize);
    let to = switchboard_core::parse::EmailAddress::parse("plain@bench.example").map_err(anyhow::Error::msg)?;
    let t = Instant::now();
    for _ in 0..CLIENTS {
        let mut tx = db.begin().await?;
        switchboard_core::messaging::queue_email_in(&mut tx, &clock, &brand, &to, "Plain", &text).await?;
        tx.commit().await?;
    }
    let plain = t.elapsed();
    println!(
        "  baseline: {CLIENTS} plain emails of the same size queued in {:.2} s; recaps took {:.2}x as long",
        plain.as_secs_f64(),
        built.as_secs_f64() / plain.as_secs_f64()
    );
    Ok(())
}
