//! `switchboard bench oncall`: what resolving on-call costs when a step fires, for a busy
//! schedule: 5 layers (weekly, daily with windows, two-day weekends, 12-hour shifts, a Monday
//! early-morning cover) in New York, a year of overrides (one a day: replacements, additions,
//! time off) and 100 accepted swaps.
//!
//! Measured, each as p50/p99/max next to a baseline from the same run:
//! - one lookup (who is on call, since and until when) at random instants over the year, in
//!   memory; baseline: the same lookups on a one-layer schedule with nothing else;
//! - the two-week timeline as the schedule page builds it: the schedule read from the database
//!   and resolved; baseline: only reading it;
//! - the schedule's page itself (`GET /oncall/{id}`, signed in, over HTTP from the running
//!   server: timeline, coverage, layers, overrides, swaps, links, rendered); baseline: the same
//!   page for the one-layer schedule with nothing else.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use switchboard_core::clock::SystemClock;
use switchboard_core::desk::contacts::{self, ContactInput};
use switchboard_core::oncall::store::{self, LayerInput, OverrideInput, WindowInput};
use switchboard_core::oncall::timeline::{on_call, timeline};
use switchboard_core::tenancy::{self, BrandInput};

const LOOKUPS: usize = 20_000;
const PAGES: usize = 200;

/// (p50, p99, max) in ms.
fn summary(mut lat: Vec<Duration>) -> (f64, f64, f64) {
    lat.sort();
    (
        super::percentile_ms(&lat, 0.5),
        super::percentile_ms(&lat, 0.99),
        lat.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0),
    )
}

fn window(days: &[&str], start: &str, end: &str) -> WindowInput {
    WindowInput { days: days.iter().map(|d| d.to_string()).collect(), start: start.into(), end: end.into() }
}

fn layer(name: &str, members: &[String], unit: &str, count: i64, start: &str, windows: Vec<WindowInput>) -> LayerInput {
    LayerInput {
        name: name.into(),
        members: members.to_vec(),
        shift_unit: unit.into(),
        shift_count: count,
        start: start.into(),
        windows,
    }
}

/// A small deterministic generator (the instants looked up are the same every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

pub async fn run(postgres: Option<String>) -> anyhow::Result<()> {
    let served = super::serve(&postgres, "oncall", |_| {}, true).await?;
    let (addr, db) = (served.addr, served.db.clone());
    println!("switchboard bench oncall on {}", db.backend().name());
    let clock = SystemClock;
    let org = tenancy::create_org(&db, &clock, "bench", "Bench Answering").await?.id;
    let brand = tenancy::create_brand(
        &db,
        &clock,
        org,
        &BrandInput { name: "Bench Plumbing".into(), time_zone: "America/New_York".into(), ..BrandInput::default() },
    )
    .await?;
    let mut people = Vec::new();
    for i in 0..12 {
        let input = ContactInput {
            name: format!("Technician {i:02}"),
            methods: vec![("cell".into(), format!("(617) 555-{:04}", 100 + i))],
            ..ContactInput::default()
        };
        people.push(format!("contact:{}", contacts::create(&db, &clock, org, brand.id, &input).await?.id));
    }
    let weekdays = ["mon", "tue", "wed", "thu", "fri"];
    let layers = vec![
        layer("Weekly primary", &people[0..4], "weeks", 1, "2026-01-05T09:00", vec![]),
        layer("Nights", &people[4..9], "days", 1, "2026-01-05T17:00", vec![window(&weekdays, "17:00", "08:00")]),
        layer(
            "Weekends",
            &people[9..12],
            "days",
            2,
            "2026-01-03T00:00",
            vec![window(&["sat", "sun"], "00:00", "00:00")],
        ),
        layer(
            "Follow the sun",
            &people[2..6],
            "hours",
            12,
            "2026-01-05T08:00",
            vec![window(&weekdays, "08:00", "17:00")],
        ),
        layer("Monday early", &people[6..8], "weeks", 1, "2026-01-05T00:00", vec![window(&["mon"], "00:00", "08:00")]),
    ];
    let t = Instant::now();
    let busy = store::create(&db, &clock, org, brand.id, "Busy", &layers, false).await?;
    let plain = store::create(&db, &clock, org, brand.id, "Plain", &layers[0..1], false).await?;
    let year: Timestamp = "2026-01-05T05:00:00Z".parse()?;
    for day in 0..365i64 {
        let start = year + SignedDuration::from_hours(24 * day + (day % 24));
        let who = &people[(day as usize * 7) % people.len()];
        let (action, from) = match day % 3 {
            0 => ("replace", None),
            1 => ("add", None),
            _ => ("remove", None),
        };
        let input = OverrideInput {
            start: start.to_string(),
            end: (start + SignedDuration::from_hours(4)).to_string(),
            action: action.into(),
            from,
            who: Some(who.clone()),
            note: None,
        };
        store::add_override(&db, &clock, org, busy.id, &input, "bench").await?;
    }
    let now = switchboard_core::clock::to_millis(jiff::Timestamp::now());
    for i in 0..100i64 {
        let start = year + SignedDuration::from_hours(24 * (i * 365 / 100) + 18);
        sqlx::query(
            "insert into oncall_swaps (org_id, schedule_id, start_at, end_at, from_member, to_member, status, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, 'accepted', $7, $7)",
        )
        .bind(org.0)
        .bind(busy.id)
        .bind(switchboard_core::clock::to_millis(start))
        .bind(switchboard_core::clock::to_millis(start + SignedDuration::from_hours(6)))
        .bind(&people[(i as usize) % 12])
        .bind(&people[(i as usize + 5) % 12])
        .bind(now)
        .execute(db.pool())
        .await?;
    }
    println!("  set up 2 schedules, 365 overrides, 100 swaps in {:.1} s", t.elapsed().as_secs_f64());

    let busy = store::get(&db, org, busy.id).await?;
    let plain = store::get(&db, org, plain.id).await?;
    let (busy_s, plain_s) = (busy.schedule(), plain.schedule());
    let mut rng = Lcg(42);
    let instants: Vec<Timestamp> =
        (0..LOOKUPS).map(|_| year + SignedDuration::from_secs((rng.next() % (365 * 86_400)) as i64)).collect();
    let measure = |schedule: &switchboard_core::oncall::Schedule| {
        let mut lat = Vec::with_capacity(LOOKUPS);
        let mut on = 0usize;
        for at in &instants {
            let t = Instant::now();
            let found = on_call(schedule, *at);
            lat.push(t.elapsed());
            on += found.on_call.len();
        }
        (summary(lat), on)
    };
    let (base, _) = measure(&plain_s);
    let (busy_lat, on) = measure(&busy_s);
    println!(
        "  on-call lookup, 5 layers, a year of overrides and swaps  p50 {:>6.3} ms  p99 {:>6.3} ms  max {:>6.2} ms  ({LOOKUPS} lookups, {on} people found)",
        busy_lat.0, busy_lat.1, busy_lat.2
    );
    println!(
        "  baseline: one layer, nothing else                         p50 {:>6.3} ms  p99 {:>6.3} ms  max {:>6.2} ms  (p99 {:.1}x)",
        base.0,
        base.1,
        base.2,
        busy_lat.1 / base.1.max(1e-9)
    );

    let two_weeks = SignedDuration::from_hours(24 * 14);
    let mut page = Vec::with_capacity(PAGES);
    let mut load = Vec::with_capacity(PAGES);
    let mut segments = 0;
    for &from in instants.iter().take(PAGES) {
        let t = Instant::now();
        let s = store::get(&db, org, busy.id).await?;
        load.push(t.elapsed());
        segments = timeline(&s.schedule(), from, from + two_weeks).len();
        page.push(t.elapsed());
    }
    let (page, load) = (summary(page), summary(load));
    println!(
        "  two-week timeline: read from the database and resolved     p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  ({segments} segments, {PAGES} runs)",
        page.0, page.1, page.2
    );
    println!(
        "  baseline: reading the schedule only                         p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  (p99 {:.1}x)",
        load.0,
        load.1,
        load.2,
        page.1 / load.1.max(1e-9)
    );

    // The page itself, as a signed-in dispatcher gets it.
    let password = "bench-password-1234";
    tenancy::create_user(
        &db,
        &clock,
        org,
        &tenancy::NewUserInput {
            email: "dispatch@bench.example".into(),
            name: "Bench Dispatcher".into(),
            role: "dispatcher".into(),
            password: password.into(),
        },
    )
    .await?;
    let session = switchboard_core::auth::sign_in(&db, &clock, "dispatch@bench.example", password)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the bench's sign-in was refused"))?;
    let http = reqwest::Client::new();
    let cookie = format!("{}={}", crate::auth::session_cookie_name(false), session.token);
    let get_page = |id: i64| {
        let (http, cookie) = (http.clone(), cookie.clone());
        async move {
            let mut lat = Vec::with_capacity(PAGES);
            let mut bytes = 0;
            for _ in 0..PAGES {
                let t = Instant::now();
                let r = http.get(format!("http://{addr}/oncall/{id}")).header("cookie", &cookie).send().await?;
                anyhow::ensure!(r.status() == 200, "GET /oncall/{id}: {}", r.status());
                bytes = r.bytes().await?.len();
                lat.push(t.elapsed());
            }
            anyhow::Ok((summary(lat), bytes))
        }
    };
    let (plain_page, _) = get_page(plain.id).await?;
    let (busy_page, bytes) = get_page(busy.id).await?;
    println!(
        "  schedule page GET /oncall/{{id}}, signed in, over HTTP      p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  ({} kB, {PAGES} requests)",
        busy_page.0,
        busy_page.1,
        busy_page.2,
        bytes / 1024
    );
    println!(
        "  baseline: the one-layer schedule's page                     p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  (p99 {:.1}x)",
        plain_page.0,
        plain_page.1,
        plain_page.2,
        busy_page.1 / plain_page.1.max(1e-9)
    );
    served.stop().await
}
