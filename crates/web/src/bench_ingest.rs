//! `switchboard bench ingest`: signed inbound-SMS webhooks per second until the p99 response
//! time passes 50 ms, and the time from a webhook to its lead event reaching an SSE subscriber
//! (a real `/events` stream of a signed-in browser session).

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
}

impl Target {
    /// One signed inbound-SMS webhook; returns its response time.
    async fn webhook(&self, from: &str, body: &str, sid: &str) -> anyhow::Result<Duration> {
        let url = format!("{}/webhooks/twilio/sms", self.base);
        let params: Vec<(String, String)> = vec![
            ("MessageSid".into(), sid.into()),
            ("From".into(), from.into()),
            ("To".into(), BRAND_NUMBER.into()),
            ("Body".into(), body.into()),
            ("NumMedia".into(), "0".into()),
        ];
        let sig = signature(&self.token, &url, &params);
        let start = Instant::now();
        let resp = self.client.post(&url).header("X-Twilio-Signature", sig).form(&params).send().await?;
        anyhow::ensure!(resp.status().is_success(), "webhook answered {}", resp.status());
        Ok(start.elapsed())
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

/// Sends `rate` webhooks per second for `secs` seconds (open loop); returns sorted latencies.
async fn run_rate(target: &Arc<Target>, rate: u64, secs: u64, seq: &mut u64) -> anyhow::Result<Vec<Duration>> {
    let total = rate * secs;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        tokio::time::sleep_until(start + interval * i as u32).await;
        *seq += 1;
        let n = *seq;
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            // Numbers repeat every 50,000 messages: most texts join an open lead, like real traffic.
            let from = format!("+1303{:07}", 5_000_000 + (n % 50_000));
            target.webhook(&from, "My furnace is making a banging noise", &format!("SM{n:032x}")).await
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
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let target = Arc::new(Target { base: base.clone(), token, client });
    let backend = if postgres.is_some() { "postgres" } else { "sqlite" };
    println!("switchboard bench ingest ({backend})");

    // Warm up (connections, caches), unmeasured; then step up until p99 passes 50 ms.
    let mut seq = 0u64;
    run_rate(&target, 250, 2, &mut seq).await?;
    let mut best = None;
    for rate in [250u64, 500, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000] {
        let lat = run_rate(&target, rate, 3, &mut seq).await?;
        let (p50, p99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
        println!(
            "  {rate:>5} webhooks/s offered: p50 {:>6.1} ms  p99 {:>6.1} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
        if p99 > Duration::from_millis(50) {
            break;
        }
        best = Some(rate);
    }
    match best {
        Some(r) => println!("  sustained with p99 <= 50 ms: {r} webhooks/s"),
        None => println!("  p99 above 50 ms even at the lowest rate"),
    }

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
    const SAMPLES: u64 = 400;
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let interval = Duration::from_millis(5);
    for i in 0..SAMPLES {
        let phone = format!("+1720{:07}", 7_000_000 + i);
        sent.insert(phone.clone(), Instant::now());
        target.webhook(&phone, "Is anyone available?", &format!("SMsse{i:029}")).await?;
        tokio::time::sleep(interval).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows: Vec<(i64, String)> =
        sqlx::query_as("select id, phone from leads where phone like '+1720%'").fetch_all(db.pool()).await?;
    let got = received.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut delays: Vec<Duration> =
        rows.iter().filter_map(|(id, phone)| Some(got.get(id)?.saturating_duration_since(*sent.get(phone)?))).collect();
    delays.sort();
    println!(
        "  webhook -> SSE event: p50 {:.1} ms  p99 {:.1} ms  ({} of {SAMPLES} events seen)",
        percentile(&delays, 0.5).as_secs_f64() * 1e3,
        percentile(&delays, 0.99).as_secs_f64() * 1e3,
        delays.len()
    );
    reader.abort();
    let _ = stop.send(());
    server.await??;
    Ok(())
}
