//! `switchboard bench ingest`: signed inbound-SMS webhooks per second until the p99 response
//! time passes 50 ms, next to a bare axum handler that only stores the body by group commit on
//! the same database (the baseline, measured in the same run with the same load generator);
//! how fast the router threads stored texts into leads; and the time from a webhook to its
//! lead event reaching an SSE subscriber (a real `/events` stream of a signed-in session) at
//! 1,000 webhooks/s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard_core::clock::SystemClock;
use switchboard_core::tenancy::{self, BrandInput, NewUserInput};
use switchboard_standins::twilio::signature;

use crate::App;
use crate::config::{Config, FileConfig, ServeArgs};

const BRAND_NUMBER: &str = "+17205550100";

struct Target {
    base: String,
    token: String,
    client: reqwest::Client,
    /// `/webhooks/twilio/sms`, or the baseline's path.
    path: &'static str,
}

impl Target {
    /// One signed inbound-SMS webhook; returns its response time, counted from `due`, when
    /// the open-loop schedule meant to send it (so waiting for a free connection counts).
    async fn webhook(&self, from: &str, body: &str, sid: &str, due: Instant) -> anyhow::Result<Duration> {
        let url = format!("{}{}", self.base, self.path);
        let params: Vec<(String, String)> = vec![
            ("MessageSid".into(), sid.into()),
            ("From".into(), from.into()),
            ("To".into(), BRAND_NUMBER.into()),
            ("Body".into(), body.into()),
            ("NumMedia".into(), "0".into()),
        ];
        let sig = signature(&self.token, &url, &params);
        let resp = self.client.post(&url).header("X-Twilio-Signature", sig).form(&params).send().await?;
        anyhow::ensure!(resp.status().is_success(), "webhook answered {}", resp.status());
        Ok(due.elapsed())
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

/// Requests in flight at most (each is a connection, two file descriptors in this process);
/// past it, the schedule waits and the wait counts in the response time.
const IN_FLIGHT: usize = 2048;

/// Sends `rate` webhooks per second for `secs` seconds (open loop); returns sorted latencies.
async fn run_rate(target: &Arc<Target>, rate: u64, secs: u64, seq: &mut u64) -> anyhow::Result<Vec<Duration>> {
    let total = rate * secs;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = tokio::time::Instant::now();
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + interval * i as u32;
        tokio::time::sleep_until(due).await;
        let slot = slots.clone().acquire_owned().await?;
        *seq += 1;
        let n = *seq;
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let _slot = slot;
            // Numbers repeat every 50,000 messages: most texts join an open lead, like real traffic.
            let from = format!("+1303{:07}", 5_000_000 + (n % 50_000));
            target.webhook(&from, "My furnace is making a banging noise", &format!("SM{n:032x}"), due.into_std()).await
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    for t in tasks {
        latencies.push(t.await??);
    }
    latencies.sort();
    Ok(latencies)
}

pub async fn run(postgres: Option<String>) -> anyhow::Result<()> {
    crate::app::install_crypto_provider();
    let dir = tempfile::tempdir()?;
    let database = match &postgres {
        None => format!("sqlite://{}?mode=rwc", dir.path().join("ingest.db").display()),
        Some(url) => {
            let base =
                url.trim_end_matches('/').rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or_else(|| url.clone());
            let name = format!("sb_bench_ingest_{}", std::process::id());
            let admin = switchboard_core::db::Db::connect(&format!("{base}/postgres")).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("drop database if exists {name} with (force)")))
                .execute(admin.pool())
                .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}"))).execute(admin.pool()).await?;
            admin.close().await;
            format!("{base}/{name}")
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let args = ServeArgs {
        listen: Some(addr),
        database_url: Some(database),
        public_url: Some(format!("http://{addr}")),
        ..Default::default()
    };
    let config = Config::resolve(&args, FileConfig::default())?;
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let db = app.state.db.clone();
    let token = app.state.config.twilio.as_ref().map(|t| t.auth_token.expose().to_string()).unwrap_or_default();
    let org = tenancy::create_org(&db, &SystemClock, "bench", "Bench").await?;
    let brand = BrandInput {
        name: "Bench HVAC".into(),
        time_zone: "America/Denver".into(),
        sms_number: Some(BRAND_NUMBER.into()),
        ..Default::default()
    };
    tenancy::create_brand(&db, &SystemClock, org.id, &brand).await?;
    let user = NewUserInput {
        email: "bench@bench.example".into(),
        name: "Bench".into(),
        role: "dispatcher".into(),
        password: "bench-password-1".into(),
    };
    tenancy::create_user(&db, &SystemClock, org.id, &user).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve(listener, app, async {
        let _ = stopped.await;
    }));
    let base = format!("http://{addr}");
    let client = reqwest::Client::builder().pool_max_idle_per_host(IN_FLIGHT).build()?;
    let backend = if postgres.is_some() { "postgres" } else { "sqlite" };
    println!("switchboard bench ingest ({backend})");

    // The baseline: a bare axum handler storing each body by group commit on this database.
    let bare = bare::start(&db).await?;
    let bare_target =
        Arc::new(Target { base: bare.base.clone(), token: String::new(), client: client.clone(), path: "/sms" });
    println!("  baseline (bare axum + group commit, same database):");
    let baseline = step_up(&bare_target).await?;
    bare.stop().await;

    let target = Arc::new(Target { base: base.clone(), token, client, path: "/webhooks/twilio/sms" });
    println!("  switchboard (signed Twilio webhooks, stored first, routed by the engine):");
    let ours = step_up(&target).await?;
    match (ours, baseline) {
        (Some(o), Some(b)) => {
            println!("  sustained with p99 <= 50 ms: {o} webhooks/s vs baseline {b}/s ({:.2}x)", o as f64 / b as f64)
        }
        (o, b) => println!("  sustained with p99 <= 50 ms: {o:?} webhooks/s vs baseline {b:?}"),
    }
    wait_routed(&db).await?;

    // Routing on its own: texts already stored, threaded into leads by the router.
    let routed = routing_rate(&db).await?;
    println!("  routing stored texts into leads: {routed:.0} texts/s (20,000 texts from 5,000 numbers)");

    // Webhook to SSE: a signed-in browser session listens on /events.
    let browser = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
    let login = browser.get(format!("{base}/login")).send().await?.text().await?;
    let marker = "name=\"_csrf\" value=\"";
    let start =
        login.find(marker).map(|i| i + marker.len()).ok_or_else(|| anyhow::anyhow!("no csrf on the login page"))?;
    let csrf = &login[start..start + login[start..].find('"').unwrap_or(0)];
    browser
        .post(format!("{base}/login"))
        .form(&[("_csrf", csrf), ("email", "bench@bench.example"), ("password", "bench-password-1")])
        .send()
        .await?;
    let mut events = browser.get(format!("{base}/events")).send().await?;
    anyhow::ensure!(events.status().is_success(), "events stream answered {}", events.status());
    let received: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let reader = {
        let received = received.clone();
        tokio::spawn(async move {
            let mut buf = String::new();
            while let Ok(Some(chunk)) = events.chunk().await {
                let now = Instant::now();
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let frame: String = buf.drain(..end + 2).collect();
                    if let Some(id) =
                        frame.lines().find_map(|l| l.strip_prefix("data: ")).and_then(|d| d.trim().parse::<i64>().ok())
                    {
                        received.lock().unwrap_or_else(|p| p.into_inner()).entry(id).or_insert(now);
                    }
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // 1,000 webhooks/s for 3 s (open loop), each from a new number: each makes a new lead.
    const SAMPLES: u64 = 3000;
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let interval = Duration::from_millis(1);
    let begin = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..SAMPLES {
        tokio::time::sleep_until(begin + interval * i as u32).await;
        let (target, sent) = (target.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let phone = format!("+1720{:07}", 7_000_000 + i);
            let now = Instant::now();
            sent.lock().unwrap_or_else(|p| p.into_inner()).insert(phone.clone(), now);
            target.webhook(&phone, "Is anyone available?", &format!("SMsse{i:029}"), now).await
        }));
    }
    for t in tasks {
        t.await??;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let sent = sent.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let rows: Vec<(i64, String)> =
        sqlx::query_as("select id, phone from leads where phone like '+1720%'").fetch_all(db.pool()).await?;
    let got = received.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut delays: Vec<Duration> =
        rows.iter().filter_map(|(id, phone)| Some(got.get(id)?.saturating_duration_since(*sent.get(phone)?))).collect();
    delays.sort();
    println!(
        "  webhook -> lead event at an open inbox, 1,000/s: p50 {:.1} ms  p99 {:.1} ms  ({} of {SAMPLES} seen)",
        percentile(&delays, 0.5).as_secs_f64() * 1e3,
        percentile(&delays, 0.99).as_secs_f64() * 1e3,
        delays.len()
    );
    reader.abort();
    let _ = stop.send(());
    server.await??;
    Ok(())
}

/// Steps the offered rate up until the p99 response time passes 50 ms; returns the last rate
/// that stayed within it.
async fn step_up(target: &Arc<Target>) -> anyhow::Result<Option<u64>> {
    // Warm up (connections, caches), unmeasured.
    let mut seq = 0u64;
    run_rate(target, 250, 2, &mut seq).await?;
    let mut best = None;
    for rate in [1000u64, 2500, 5000, 7500, 10_000, 12_500, 15_000, 20_000, 25_000, 30_000] {
        let lat = run_rate(target, rate, 3, &mut seq).await?;
        let (p50, p99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
        println!(
            "    {rate:>6} webhooks/s offered: p50 {:>6.1} ms  p99 {:>6.1} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
        if p99 > Duration::from_millis(50) {
            break;
        }
        best = Some(rate);
    }
    Ok(best)
}

/// Waits until the router has caught up with every stored text.
async fn wait_routed(db: &switchboard_core::db::Db) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (left,): (i64,) =
            sqlx::query_as("select count(*) from inbound_texts where routed_at is null").fetch_one(db.pool()).await?;
        if left == 0 {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "the router did not catch up ({left} left)");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stores 20,000 texts from 5,000 numbers directly (as the ingest writer would), then times
/// the router threading them into leads.
async fn routing_rate(db: &switchboard_core::db::Db) -> anyhow::Result<f64> {
    use switchboard_core::inbound::{self, RawText};
    const TEXTS: usize = 20_000;
    let texts: Vec<RawText> = (0..TEXTS)
        .map(|i| RawText {
            provider: "twilio",
            provider_id: format!("SMroute{i:027}"),
            from: format!("+1719{:07}", 1_000_000 + i % 5_000),
            to: BRAND_NUMBER.into(),
            body: "Our sink is backing up again".into(),
        })
        .collect();
    let refs: Vec<&RawText> = texts.iter().collect();
    let mut tx = db.begin().await?;
    for chunk in refs.chunks(500) {
        inbound::store::insert_batch(&mut tx, chunk, jiff::Timestamp::now().as_millisecond()).await?;
    }
    tx.commit().await?;
    let start = Instant::now();
    // The running engine's router may take some of them too; either way all must be routed.
    while inbound::route_pending(db, &SystemClock).await? > 0 {}
    wait_routed(db).await?;
    Ok(TEXTS as f64 / start.elapsed().as_secs_f64())
}

/// The baseline: a bare axum server whose one handler stores the form body by group commit
/// (one writer task, one transaction per batch, answered after the commit).
mod bare {
    use axum::extract::State;
    use axum::routing::post;
    use switchboard_core::db::Db;
    use tokio::sync::{mpsc, oneshot};

    pub struct Bare {
        pub base: String,
        stop: oneshot::Sender<()>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Bare {
        pub async fn stop(self) {
            let _ = self.stop.send(());
            let _ = self.task.await;
        }
    }

    type Job = (String, oneshot::Sender<bool>);

    pub async fn start(db: &Db) -> anyhow::Result<Bare> {
        sqlx::query("create table if not exists bench_bare (id bigint not null, body text not null)")
            .execute(db.pool())
            .await?;
        let (queue, jobs) = mpsc::channel::<Job>(4096);
        tokio::spawn(writer(db.clone(), jobs));
        let app = axum::Router::new().route("/sms", post(handler)).with_state(queue);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Bare { base, stop, task })
    }

    async fn handler(State(queue): State<mpsc::Sender<Job>>, body: String) -> axum::http::StatusCode {
        let (done, answer) = oneshot::channel();
        if queue.send((body, done)).await.is_err() {
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        }
        match answer.await {
            Ok(true) => axum::http::StatusCode::OK,
            _ => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    async fn writer(db: Db, mut jobs: mpsc::Receiver<Job>) {
        let mut next_id = 0i64;
        while let Some(first) = jobs.recv().await {
            let mut batch = vec![first];
            while batch.len() < 1024 {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let ok = store(&db, &batch, &mut next_id).await.is_ok();
            for (_, done) in batch {
                let _ = done.send(ok);
            }
        }
    }

    async fn store(db: &Db, batch: &[Job], next_id: &mut i64) -> anyhow::Result<()> {
        let mut tx = db.begin().await?;
        for chunk in batch.chunks(512) {
            let mut sql = String::from("insert into bench_bare (id, body) values ");
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("(${}, ${})", 2 * i + 1, 2 * i + 2));
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (body, _) in chunk {
                *next_id += 1;
                q = q.bind(*next_id).bind(body.as_str());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
