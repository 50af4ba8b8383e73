//! `switchboard bench billing`: Stripe's payment events at `/webhooks/stripe`, and the
//! customer's invoice page.
//!
//! Measured, each next to a baseline from the same run:
//! - signed `checkout.session.completed` events, 16 at a time, each verified (HMAC-SHA256 over
//!   the body), recorded once by id, matched to its checkout session and reconciled (a payment,
//!   the invoice's sums and state, its reminders cancelled, the job closed): events/s and
//!   p50/p99; baseline: the same number of signed events of a type we do not use (verified,
//!   recorded once, nothing else);
//! - the customer's invoice page (`GET /i/{token}`: the link checked, the invoice with its lines,
//!   taxes and payments read and rendered), p50/p99; baseline: the sign-in page (a template and
//!   no database).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use switchboard_core::clock::{Clock, SystemClock, to_millis};
use switchboard_core::customers::CustomerInput;
use switchboard_core::ids::{JobId, OrgId};
use switchboard_core::jobs::{self, JobStatus, LineItem, NewJob};
use switchboard_core::money::Money;
use switchboard_core::tenancy::{self, BrandInput};

const INVOICES: usize = 2_000;
const CONCURRENCY: usize = 16;
const PAGES: usize = 1_000;
const SECRET: &str = "whsec_bench_secret";

/// (p50, p99) in ms.
fn summary(mut lat: Vec<Duration>) -> (f64, f64) {
    lat.sort();
    (super::percentile_ms(&lat, 0.5), super::percentile_ms(&lat, 0.99))
}

/// Sends each request of `requests` (method, url, headers, body) with `CONCURRENCY` at a time;
/// returns the latencies and the elapsed time. Any answer but 200 is an error.
async fn drive(
    http: &reqwest::Client,
    requests: Vec<(String, Option<(String, String)>)>,
) -> anyhow::Result<(Vec<Duration>, Duration)> {
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
                let Some((url, post)) = requests.get(i) else { break };
                let t = Instant::now();
                let r = match post {
                    Some((signature, body)) => {
                        http.post(url)
                            .header("stripe-signature", signature)
                            .header("content-type", "application/json")
                            .body(body.clone())
                            .send()
                            .await?
                    }
                    None => http.get(url).send().await?,
                };
                let status = r.status();
                let text = r.text().await?;
                lat.push(t.elapsed());
                if status != 200 {
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

fn event(id: &str, kind: &str, object: serde_json::Value, now: i64) -> (String, String) {
    let body = serde_json::json!({
        "id": id, "object": "event", "api_version": "2024-06-20", "created": now, "livemode": false,
        "pending_webhooks": 1, "request": {"id": null, "idempotency_key": null}, "type": kind,
        "data": {"object": object},
    })
    .to_string();
    (switchboard_core::providers::stripe::sign(SECRET, now, body.as_bytes()), body)
}

pub async fn run(postgres: Option<String>) -> anyhow::Result<()> {
    let stripe = |args: &mut crate::config::ServeArgs| {
        args.stripe_secret_key = Some("sk_test_bench".into());
        args.stripe_webhook_secret = Some(SECRET.into());
        args.stripe_base_url = Some("http://127.0.0.1:9".into());
    };
    // The engine stays off: what is measured is the webhook's own transaction.
    let served = super::serve(&postgres, "billing", stripe, false).await?;
    let (addr, db) = (served.addr, served.db.clone());
    println!("switchboard bench billing on {}", db.backend().name());
    let clock = SystemClock;
    let org = tenancy::create_org(&db, &clock, "bench", "Bench Plumbing").await?.id;
    let brand = tenancy::create_brand(
        &db,
        &clock,
        org,
        &BrandInput { name: "Bench Plumbing".into(), time_zone: "America/Chicago".into(), ..BrandInput::default() },
    )
    .await?;
    let settings = switchboard_core::billing::Settings {
        tax_rates: vec![switchboard_core::billing::TaxRate { name: "Sales tax".into(), rate_x1000: 8250 }],
        ..switchboard_core::billing::Settings::defaults()
    };
    let mut tx = db.begin().await?;
    switchboard_core::billing::save_settings_in(&mut tx, &clock, org, brand.id, &settings).await?;
    tx.commit().await?;
    let customer = switchboard_core::customers::create(
        &db,
        &clock,
        org,
        &CustomerInput { name: "Dana Whitfield".into(), email: "dana@example.com".into(), ..Default::default() },
    )
    .await?;
    let t = Instant::now();
    let mut tokens = Vec::with_capacity(INVOICES);
    let mut sessions = Vec::with_capacity(INVOICES);
    for i in 0..INVOICES {
        let (token, session, due) = invoice(&db, &clock, org, brand.id, customer.id, i).await?;
        tokens.push(token);
        sessions.push((session, due));
    }
    println!(
        "  set up {INVOICES} invoices at Pending close, each with an open checkout session, in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let http = reqwest::Client::builder().pool_max_idle_per_host(CONCURRENCY).build()?;
    let hook = format!("http://{addr}/webhooks/stripe");
    let now = jiff::Timestamp::now().as_second();
    let baseline: Vec<_> = (0..INVOICES)
        .map(|i| {
            let (sig, body) = event(
                &format!("evt_base_{i}"),
                "customer.created",
                serde_json::json!({"object": "customer", "id": format!("cus_{i}")}),
                now,
            );
            (hook.clone(), Some((sig, body)))
        })
        .collect();
    let payments: Vec<_> = sessions
        .iter()
        .enumerate()
        .map(|(i, (session, due))| {
            let object = serde_json::json!({
                "id": session, "object": "checkout.session", "status": "complete", "payment_status": "paid",
                "amount_total": due, "currency": "usd", "payment_intent": format!("pi_bench_{i}"),
                "customer_details": {"email": "dana@example.com"}, "metadata": {},
            });
            let (sig, body) = event(&format!("evt_pay_{i}"), "checkout.session.completed", object, now);
            (hook.clone(), Some((sig, body)))
        })
        .collect();
    let (base_lat, base_took) = drive(&http, baseline).await?;
    let (pay_lat, pay_took) = drive(&http, payments).await?;
    let base_rate = INVOICES as f64 / base_took.as_secs_f64();
    let pay_rate = INVOICES as f64 / pay_took.as_secs_f64();
    let (bp50, bp99) = summary(base_lat);
    let (pp50, pp99) = summary(pay_lat);
    println!(
        "  payment events, verified and reconciled   {pay_rate:>7.0} events/s  p50 {pp50:>6.2} ms  p99 {pp99:>6.2} ms  ({INVOICES} events, {CONCURRENCY} at a time)"
    );
    println!(
        "  baseline: verified, recorded, unused       {base_rate:>7.0} events/s  p50 {bp50:>6.2} ms  p99 {bp99:>6.2} ms  (reconciling costs {:.1}x the time)",
        base_rate / pay_rate.max(1e-9)
    );
    let (paid,): (i64,) = sqlx::query_as("select count(*) from invoices where org_id = $1 and status = 'paid'")
        .bind(org.0)
        .fetch_one(db.pool())
        .await?;
    let (closed,): (i64,) = sqlx::query_as("select count(*) from jobs where org_id = $1 and status = 'completed'")
        .bind(org.0)
        .fetch_one(db.pool())
        .await?;
    if paid as usize != INVOICES || closed as usize != INVOICES {
        let (outcome,): (String,) = sqlx::query_as("select outcome from stripe_events where event_id = 'evt_pay_0'")
            .fetch_one(db.pool())
            .await?;
        anyhow::bail!("after the events {paid} invoices are paid and {closed} jobs closed, of {INVOICES} ({outcome})");
    }
    println!("  checked: {paid} invoices paid, {closed} jobs closed");

    let pages: Vec<_> = tokens.iter().take(PAGES).map(|t| (format!("http://{addr}/i/{t}"), None)).collect();
    let logins: Vec<_> = (0..PAGES).map(|_| (format!("http://{addr}/login"), None)).collect();
    let (login_lat, _) = drive(&http, logins).await?;
    let (page_lat, page_took) = drive(&http, pages).await?;
    let (lp50, lp99) = summary(login_lat);
    let (ip50, ip99) = summary(page_lat);
    println!(
        "  invoice page GET /i/{{token}}              {:>7.0} pages/s   p50 {ip50:>6.2} ms  p99 {ip99:>6.2} ms  ({PAGES} pages, {CONCURRENCY} at a time)",
        PAGES as f64 / page_took.as_secs_f64()
    );
    println!(
        "  baseline: the sign-in page                                     p50 {lp50:>6.2} ms  p99 {lp99:>6.2} ms  (p99 {:.1}x)",
        ip99 / lp99.max(1e-9)
    );
    served.stop().await
}

/// A job at Pending close with two lines, its invoice drafted, a link to it and an open
/// checkout session: (link token, session id, amount due).
async fn invoice(
    db: &switchboard_core::db::Db,
    clock: &SystemClock,
    org: OrgId,
    brand: switchboard_core::ids::BrandId,
    customer: switchboard_core::ids::CustomerId,
    i: usize,
) -> anyhow::Result<(String, String, i64)> {
    let mut tx = db.begin().await?;
    let job = NewJob {
        brand,
        customer,
        service: "Water heater flush".into(),
        status: JobStatus::PendingClose,
        address: None,
        scheduled_start: None,
        scheduled_end: None,
        techs: vec![],
    };
    let (job, _): (JobId, String) = jobs::insert_quietly_in(&mut tx, clock, org, &job).await?;
    for (description, quantity_x100, cents, taxable) in [("Flush", 100, 18900, false), ("Anode rod", 200, 1249, true)] {
        let item = LineItem {
            id: 0,
            description: description.into(),
            quantity_x100,
            unit_price: Money::usd(cents),
            taxable,
            added_by: "bench".into(),
        };
        jobs::insert_line_item_quietly_in(&mut tx, clock, org, job, &item).await?;
    }
    let id = switchboard_core::billing::draft_in(&mut tx, clock, org, "bench", job).await?;
    let link = switchboard_core::links::NewLink {
        scope: switchboard_core::links::Scope::Invoice,
        subject: id,
        about: None,
        expires_at: None,
    };
    let token = switchboard_core::links::issue_in(&mut tx, clock, org, &link).await?;
    let (due,): (i64,) = sqlx::query_as("select due from invoices where id = $1").bind(id).fetch_one(&mut *tx).await?;
    let session = format!("cs_bench_{i}");
    sqlx::query(
        "insert into checkout_sessions (org_id, invoice_id, session_id, url, amount, invoice_version, status, \
         expires_at, created_at) values ($1, $2, $3, $4, $5, 0, 'open', $6, $6)",
    )
    .bind(org.0)
    .bind(id)
    .bind(&session)
    .bind(format!("https://checkout.stripe.com/c/pay/{session}"))
    .bind(due)
    .bind(to_millis(clock.now()) + 86_400_000)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((token, session, due))
}
