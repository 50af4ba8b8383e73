//! `switchboard bench calls`: calls to a brand's number, against the Twilio stand-in.
//!
//! Measured, each next to a baseline from the same run:
//! - the inbound call webhook (`POST /webhooks/twilio/voice`, signed): the signature checked,
//!   the brand found by its number, the caller matched to a customer, the hunt planned from the
//!   routing and stored with the call, the first `<Dial>` rendered; calls/s and p50/p99 with 16
//!   at a time; baseline: the same signed webhook for a number we do not have (checked, looked
//!   up, "not in service", nothing stored);
//! - whole calls through the stand-in at once (ring, whisper, press 1, talk, recording
//!   reported): how long 100 calls take together against one call alone;
//! - recordings copied from the provider into our storage by the engine
//!   (`calls.fetch_recording`: download, check, store, mark): recordings/s; baseline: the same
//!   downloads by a plain client with nothing stored.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use switchboard_core::clock::SystemClock;
use switchboard_core::tenancy::{self, BrandInput, NewUserInput};
use switchboard_standins::twilio::{Caller, Pickup, TwilioStandin, signature};

const WEBHOOKS: usize = 2_000;
const CONCURRENCY: usize = 16;
const CALLS: usize = 100;
const NUMBER: &str = "+13125550100";

/// (p50, p99) in ms.
fn summary(mut lat: Vec<Duration>) -> (f64, f64) {
    lat.sort();
    (super::percentile_ms(&lat, 0.5), super::percentile_ms(&lat, 0.99))
}

/// A webhook to send: its URL, `X-Twilio-Signature` and form.
type Signed = (String, String, Vec<(String, String)>);

/// POSTs each signed form with `CONCURRENCY` at a time; any answer but 200 is an error.
async fn drive(http: &reqwest::Client, requests: Vec<Signed>) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (http, requests, next) = (http.clone(), requests.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((url, sig, form)) = requests.get(i) else { break };
                let t = Instant::now();
                let r = http.post(url).header("x-twilio-signature", sig).form(form).send().await?;
                let status = r.status();
                let text = r.text().await?;
                lat.push(t.elapsed());
                if status != 200 || !text.contains("<Response>") {
                    anyhow::bail!("{url}: {status} {text}");
                }
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((all, started.elapsed()))
}

pub async fn run(postgres: Option<String>) -> anyhow::Result<()> {
    crate::app::install_crypto_provider();
    let twilio = TwilioStandin::start("127.0.0.1:0".parse()?).await?;
    let (sid, token, base) = (twilio.account_sid().to_string(), twilio.auth_token().to_string(), twilio.base_url());
    let tweak = |args: &mut crate::config::ServeArgs| {
        args.twilio_account_sid = Some(sid.clone());
        args.twilio_auth_token = Some(token.clone());
        args.twilio_base_url = Some(base.clone());
    };
    let served = super::serve(&postgres, "calls", tweak, true).await?;
    let (addr, db) = (served.addr, served.db.clone());
    println!("switchboard bench calls on {}", db.backend().name());
    let clock = SystemClock;
    let org = tenancy::create_org(&db, &clock, "bench", "Bench Plumbing").await?.id;
    // Open around the clock, so the hunt rings whatever the time of the run.
    let brand = tenancy::create_brand(
        &db,
        &clock,
        org,
        &BrandInput {
            name: "Bench Plumbing".into(),
            time_zone: "America/Chicago".into(),
            sms_number: Some(NUMBER.into()),
            ..BrandInput::default()
        },
    )
    .await?;
    let mut tx = db.begin().await?;
    let mut routing = switchboard_core::calls::Routing::default_for(brand.id);
    routing.after_hours = switchboard_core::calls::AfterHours::Ring;
    switchboard_core::calls::store::save_routing(
        &mut tx,
        org,
        &routing,
        switchboard_core::clock::to_millis(jiff::Timestamp::now()),
    )
    .await?;
    tx.commit().await?;
    let mut ring = Vec::new();
    for i in 0..3 {
        let input = NewUserInput {
            email: format!("person{i}@bench.example"),
            name: format!("Person {i}"),
            role: "dispatcher".into(),
            password: "bench-password-1234".into(),
        };
        let user = tenancy::create_user(&db, &clock, org, &input).await?;
        let cell = format!("+1312555016{i}");
        let mut tx = db.begin().await?;
        switchboard_core::calls::store::set_ring(
            &mut tx,
            org,
            user.id.0,
            switchboard_core::calls::RingMode::Cell,
            Some(&cell),
        )
        .await?;
        tx.commit().await?;
        ring.push(user.id.0);
        twilio.set_pickup(&cell, if i == 0 { Pickup::Person(vec!["1".into()]) } else { Pickup::RingOut });
    }
    let mut tx = db.begin().await?;
    switchboard_core::calls::store::set_members(&mut tx, org, brand.id, &ring).await?;
    tx.commit().await?;

    // --- The inbound webhook -> TwiML. -------------------------------------------------------
    let http = reqwest::Client::builder().pool_max_idle_per_host(CONCURRENCY).build()?;
    let hook = format!("http://{addr}/webhooks/twilio/voice");
    let signed = |i: usize, to: &str, tag: &str| {
        let form: Vec<(String, String)> = vec![
            ("CallSid".into(), format!("CA{tag}{i:030}")),
            ("AccountSid".into(), sid.clone()),
            ("From".into(), format!("+1312555{:04}", i % 10_000)),
            ("To".into(), to.to_string()),
            ("CallStatus".into(), "ringing".into()),
            ("Direction".into(), "inbound".into()),
            ("ApiVersion".into(), "2010-04-01".into()),
        ];
        (hook.clone(), signature(&token, &hook, &form), form)
    };
    let baseline: Vec<_> = (0..WEBHOOKS).map(|i| signed(i, "+13125550999", "b")).collect();
    let calls: Vec<_> = (0..WEBHOOKS).map(|i| signed(i, NUMBER, "c")).collect();
    let (base_lat, base_took) = drive(&http, baseline).await?;
    let (call_lat, call_took) = drive(&http, calls).await?;
    let (bp50, bp99) = summary(base_lat);
    let (cp50, cp99) = summary(call_lat);
    let call_rate = WEBHOOKS as f64 / call_took.as_secs_f64();
    let base_rate = WEBHOOKS as f64 / base_took.as_secs_f64();
    println!(
        "  inbound call webhook -> <Dial>            {call_rate:>7.0} calls/s  p50 {cp50:>6.2} ms  p99 {cp99:>6.2} ms  ({WEBHOOKS} calls, {CONCURRENCY} at a time)"
    );
    println!(
        "  baseline: a number we do not have         {base_rate:>7.0} calls/s  p50 {bp50:>6.2} ms  p99 {bp99:>6.2} ms  (p99 {:.1}x)",
        cp99 / bp99.max(1e-9)
    );
    let (stored,): (i64,) =
        sqlx::query_as("select count(*) from voice_calls where org_id = $1").bind(org.0).fetch_one(db.pool()).await?;
    if stored as usize != WEBHOOKS {
        anyhow::bail!("{stored} calls stored of {WEBHOOKS}");
    }

    // --- Whole calls through the stand-in, at once. -----------------------------------------
    twilio.set_voice_webhook(format!("http://{addr}/webhooks/twilio/voice"));
    twilio.set_voice_status_callback(format!("http://{addr}/webhooks/twilio/voice/status"));
    twilio.set_second(Duration::from_millis(10));
    twilio.set_talk_time(Duration::from_millis(200));
    let t = Instant::now();
    twilio.dial_in("+13125559000", NUMBER, Caller::default()).await.map_err(anyhow::Error::msg)?;
    twilio.settle(Duration::from_secs(60)).await.map_err(anyhow::Error::msg)?;
    let one = t.elapsed();
    let t = Instant::now();
    for i in 0..CALLS {
        twilio.dial_in(&format!("+1312556{i:04}"), NUMBER, Caller::default()).await.map_err(anyhow::Error::msg)?;
    }
    twilio.settle(Duration::from_secs(120)).await.map_err(anyhow::Error::msg)?;
    let all = t.elapsed();
    let (answered,): (i64,) =
        sqlx::query_as("select count(*) from voice_calls where org_id = $1 and outcome = 'answered'")
            .bind(org.0)
            .fetch_one(db.pool())
            .await?;
    println!(
        "  {CALLS} calls at once, rung, whispered, taken   {:>7.2} s  ({:.0} calls/s; {answered} answered)",
        all.as_secs_f64(),
        CALLS as f64 / all.as_secs_f64()
    );
    println!(
        "  baseline: one call alone                  {:>7.2} s  (100 at once take {:.1}x one)",
        one.as_secs_f64(),
        all.as_secs_f64() / one.as_secs_f64().max(1e-9)
    );
    if answered as usize != CALLS + 1 {
        anyhow::bail!("{answered} calls answered of {}", CALLS + 1);
    }

    // --- Recordings copied into storage by the engine. ---------------------------------------
    let deadline = Instant::now() + Duration::from_secs(60);
    let count = |status: &'static str| {
        let db = db.clone();
        async move {
            let (n,): (i64,) = sqlx::query_as("select count(*) from call_recordings where status = $1")
                .bind(status)
                .fetch_one(db.pool())
                .await?;
            anyhow::Ok(n)
        }
    };
    while count("stored").await? < (CALLS + 1) as i64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Again, timed: every recording fetched anew.
    let urls: Vec<(i64, String)> =
        sqlx::query_as("select id, media_url from call_recordings order by id").fetch_all(db.pool()).await?;
    let t = Instant::now();
    let mut tx = db.begin().await?;
    sqlx::query("update call_recordings set status = 'fetching'").execute(&mut *tx).await?;
    let now = jiff::Timestamp::now();
    for (id, _) in &urls {
        let work = switchboard_core::engine::NewWork::of(
            &switchboard_core::calls::recordings::FetchRecording { recording: *id },
            now,
        )?
        .org(org)
        .key(format!("bench.refetch:{id}"));
        switchboard_core::engine::enqueue_in(&mut tx, &work, now).await?;
    }
    tx.commit().await?;
    db.work_added();
    while count("stored").await? < urls.len() as i64 {
        if Instant::now() > deadline + Duration::from_secs(60) {
            anyhow::bail!("recordings not all stored after two minutes");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let fetched = t.elapsed();
    let plain = reqwest::Client::new();
    let t = Instant::now();
    for chunk in urls.chunks(CONCURRENCY) {
        let mut gets = Vec::new();
        for (_, url) in chunk {
            let (plain, url, sid) = (plain.clone(), format!("{url}.wav"), sid.clone());
            let token = token.clone();
            gets.push(tokio::spawn(
                async move { plain.get(url).basic_auth(sid, Some(token)).send().await?.bytes().await },
            ));
        }
        for g in gets {
            g.await??;
        }
    }
    let raw = t.elapsed();
    let n = urls.len() as f64;
    println!(
        "  recordings fetched, checked and stored     {:>7.0} recordings/s  ({} recordings in {:.2} s)",
        n / fetched.as_secs_f64(),
        urls.len(),
        fetched.as_secs_f64()
    );
    println!(
        "  baseline: the same downloads, not stored  {:>7.0} recordings/s  (storing costs {:.1}x the time)",
        n / raw.as_secs_f64(),
        fetched.as_secs_f64() / raw.as_secs_f64().max(1e-9)
    );
    served.stop().await
}
