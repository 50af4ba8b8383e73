//! `switchboard bench dispatch`: what a busy dispatch office costs, on a fresh database holding
//! half a year of work (30 technicians, 100 jobs a day for 180 days = 18,000 jobs).
//!
//! Measured, each repeated and reported as p50/p99:
//! - the board's query: one brand's jobs for one day, with their technicians;
//! - a technician's portal stops (today's jobs and work under way);
//! - the jobs table: one day, and a text search over all jobs;
//! - writes, sequentially as a dispatcher's clicks: status changes and reassignments (each
//!   queues its `job.changed` item in the same transaction), then the engine's reactions to
//!   them (portal texts and customer notifications queued);
//! - the customer's tracking page: the straight-line estimate, and routes from an OSRM server
//!   (the maps stand-in on loopback) for a technician standing still (cached) and moving.

use std::time::Instant;

use jiff::{SignedDuration, Timestamp, ToSpan};
use switchboard_core::clock::{Clock, SystemClock};
use switchboard_core::customers;
use switchboard_core::ids::{JobId, TechnicianId};
use switchboard_core::jobs::{self, GeoPoint, JobFilter, JobPatch, JobStatus, NewJob};
use switchboard_core::parse::PhoneE164;
use switchboard_core::portal::{self, PortalAccess, PortalLinks};
use switchboard_core::providers::maps::Router;
use switchboard_core::technicians::{self, NewTechnician};
use switchboard_core::tenancy::{self, BrandInput};
use switchboard_core::tracking;

const TECHS: usize = 30;
const DAYS: i64 = 180;
const JOBS_PER_DAY: usize = 100;

async fn timed<F, Fut>(label: &str, reps: usize, mut f: F) -> anyhow::Result<()>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let mut lat = Vec::with_capacity(reps);
    let mut rows = 0;
    for i in 0..reps {
        let t = Instant::now();
        rows = f(i).await?;
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "  {label:<48} p50 {:>7.2} ms  p99 {:>7.2} ms  ({rows} rows, {reps} runs)",
        super::percentile_ms(&lat, 0.5),
        super::percentile_ms(&lat, 0.99)
    );
    Ok(())
}

pub async fn run(postgres: Option<String>) -> anyhow::Result<()> {
    crate::app::install_crypto_provider();
    let (db, _dir) = super::engine::fresh_db(&postgres, "dispatch").await?;
    println!("switchboard bench dispatch on {}", db.backend().name());
    let clock = SystemClock;
    let org = tenancy::create_org(&db, &clock, "bench", "Bench Services").await?.id;
    let brand = tenancy::create_brand(
        &db,
        &clock,
        org,
        &BrandInput {
            name: "Bench HVAC".into(),
            time_zone: "America/Denver".into(),
            sms_number: Some("+17205550100".into()),
            ..BrandInput::default()
        },
    )
    .await?;
    let tz = jiff::tz::TimeZone::get("America/Denver")?;

    let seed_start = Instant::now();
    let mut tx = db.begin().await?;
    let mut techs = Vec::new();
    for i in 0..TECHS {
        let t = NewTechnician {
            name: format!("Tech {i:02}"),
            phone: Some(PhoneE164::parse(&format!("+1720555{:04}", 2000 + i)).map_err(anyhow::Error::msg)?),
            photo_url: None,
            rating_x10: Some(45),
            vehicle: None,
            skills: vec![],
            brands: vec![],
        };
        techs.push(technicians::create_in(&mut tx, &clock, org, &t).await?);
    }
    let mut customer_ids = Vec::new();
    for i in 0..2_000 {
        let c = customers::NewCustomer {
            name: format!("Customer {i}"),
            phone: Some(PhoneE164::parse(&format!("+1303555{:04}", i)).map_err(anyhow::Error::msg)?),
            email: None,
            address: Some(format!("{} Larimer St, Denver, CO", 100 + i)),
            notes: None,
        };
        customer_ids.push(customers::create_in(&mut tx, &clock, org, &c).await?);
    }
    tx.commit().await?;
    let today = clock.now().to_zoned(tz.clone()).date();
    let mut n = 0usize;
    for day in -(DAYS - 7)..7 {
        let date = today.checked_add(day.days())?;
        let mut tx = db.begin().await?;
        for k in 0..JOBS_PER_DAY {
            let start =
                date.to_datetime(jiff::civil::time(7 + (k % 10) as i8, 0, 0, 0)).to_zoned(tz.clone())?.timestamp();
            let status = if day < 0 { JobStatus::Completed } else { JobStatus::Scheduled };
            let job = NewJob {
                brand: brand.id,
                customer: customer_ids[n % customer_ids.len()],
                service: ["AC tune-up", "Furnace repair", "Drain clear", "Water heater"][k % 4].into(),
                status,
                address: Some(format!("{} Larimer St, Denver, CO", 100 + n % 2000)),
                scheduled_start: Some(start),
                scheduled_end: Some(start + SignedDuration::from_hours(1)),
                techs: vec![techs[k % TECHS]],
            };
            jobs::insert_quietly_in(&mut tx, &clock, org, &job).await?;
            n += 1;
        }
        tx.commit().await?;
    }
    // A database in use has statistics (PostgreSQL's autovacuum gathers them); a bulk load
    // measured at once would not.
    sqlx::query("analyze").execute(db.pool()).await?;
    println!("  seeded {n} jobs, {TECHS} technicians, 2,000 customers in {:.1} s", seed_start.elapsed().as_secs_f64());

    let day_start = today.to_zoned(tz.clone())?.timestamp();
    let day_end = today.tomorrow()?.to_zoned(tz.clone())?.timestamp();
    let board = JobFilter { brand: Some(brand.id), from: Some(day_start), to: Some(day_end), ..JobFilter::default() };
    timed("board: one brand's day (100 jobs)", 200, |_| {
        let (db, board) = (db.clone(), board.clone());
        async move { Ok(jobs::list(&db, org, &board).await?.len()) }
    })
    .await?;
    let tech = technicians::get(&db, org, techs[0]).await?;
    let access = PortalAccess { org, tech, expires_at: Timestamp::MAX };
    timed("portal: a technician's stops", 200, |_| {
        let (db, access) = (db.clone(), access.clone());
        async move { Ok(portal::stops(&db, &SystemClock, &access).await?.len()) }
    })
    .await?;
    let search = JobFilter { search: Some("Customer 1234".into()), ..JobFilter::default() };
    timed("jobs table: search all 18,000 jobs", 50, |_| {
        let (db, search) = (db.clone(), search.clone());
        async move { Ok(jobs::list(&db, org, &search).await?.len()) }
    })
    .await?;

    // Writes: today's scheduled jobs, one at a time.
    let todays: Vec<JobId> = jobs::list(&db, org, &board).await?.into_iter().map(|j| j.id).collect();
    let writes = todays.len();
    let t = Instant::now();
    for id in &todays {
        jobs::change_status(&db, &clock, org, "bench", *id, JobStatus::Dispatched, None).await?;
    }
    let dispatch_rate = writes as f64 / t.elapsed().as_secs_f64();
    println!("  dispatch (status change + job.changed queued)   {dispatch_rate:>8.0} /s  ({writes} jobs)");
    let t = Instant::now();
    for (i, id) in todays.iter().enumerate() {
        let to: TechnicianId = techs[(i + 1) % TECHS];
        jobs::assign(&db, &clock, org, "bench", *id, &[to], None).await?;
    }
    let assign_rate = writes as f64 / t.elapsed().as_secs_f64();
    println!("  reassign (technicians + job.changed queued)     {assign_rate:>8.0} /s  ({writes} jobs)");
    // The reactions: portal links texted, customers' "on the way" queued (not sent).
    let mut workers = switchboard_core::engine::Workers::new();
    let links = PortalLinks { base_url: "http://127.0.0.1:8080".into(), valid_hours: None };
    portal::register(&mut workers, links);
    workers.listen(switchboard_core::notifications::send::JobNotices);
    let config = switchboard_core::engine::EngineConfig::default();
    let engine = switchboard_core::engine::Engine::new(db.clone(), std::sync::Arc::new(SystemClock), config, workers);
    let t = Instant::now();
    let reacted = engine.tick().await?;
    let react_rate = reacted as f64 / t.elapsed().as_secs_f64();
    println!("  reactions (portal texts, customer notices)      {react_rate:>8.0} /s  ({reacted} changes)");
    let (texts,): (i64,) = sqlx::query_as("select count(*) from messages").fetch_one(db.pool()).await?;
    println!("  texts queued: {texts}");

    // The customer's tracking page for a dispatched job with a verified pin, its technician
    // 5 km away.
    let job = todays[0];
    let pin = GeoPoint::new(39.7392, -104.9903).map_err(anyhow::Error::msg)?;
    let patch = JobPatch { location: Some(Some(pin)), location_verified: Some(true), ..JobPatch::default() };
    let summary = jobs::update(&db, &clock, org, "bench", job, &patch).await?;
    let tech = summary.techs.first().map(|t| t.id).ok_or_else(|| anyhow::anyhow!("the job has a technician"))?;
    let away = |i: usize| GeoPoint::new(39.7392 + 0.045 + i as f64 * 0.0002, -104.9903).map_err(anyhow::Error::msg);
    technicians::share_location(&db, &clock, org, tech, away(0)?, Some(10)).await?;
    let mut tx = db.begin().await?;
    let url = tracking::issue_in(&mut tx, &clock, org, job, Some(tech), "http://127.0.0.1:8080").await?;
    tx.commit().await?;
    let token = url.rsplit('/').next().unwrap_or_default().to_string();
    let straight = Router::StraightLine;
    timed("tracking page: straight-line estimate", 200, |_| {
        let (db, token, router) = (db.clone(), token.clone(), straight.clone());
        async move { Ok(tracking::lookup(&db, &SystemClock, &router, &token).await?.estimate.map_or(0, |_| 1)) }
    })
    .await?;
    let maps = switchboard_standins::maps::MapsStandin::start("127.0.0.1:0".parse()?).await?;
    let osrm = Router::osrm(&maps.base_url()).map_err(anyhow::Error::msg)?;
    timed("tracking page: OSRM, technician standing still", 200, |_| {
        let (db, token, router) = (db.clone(), token.clone(), osrm.clone());
        async move { Ok(tracking::lookup(&db, &SystemClock, &router, &token).await?.estimate.map_or(0, |_| 1)) }
    })
    .await?;
    let asked = maps.routes();
    timed("tracking page: OSRM, technician moving", 200, |i| {
        let (db, token, router) = (db.clone(), token.clone(), osrm.clone());
        async move {
            technicians::share_location(&db, &SystemClock, org, tech, away(i + 1)?, Some(10)).await?;
            Ok(tracking::lookup(&db, &SystemClock, &router, &token).await?.estimate.map_or(0, |_| 1))
        }
    })
    .await?;
    println!("  routes asked of OSRM: {asked} standing still (200 page loads), {} moving", maps.routes() - asked);
    db.close().await;
    Ok(())
}
