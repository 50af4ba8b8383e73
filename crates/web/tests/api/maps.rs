//! Maps end to end: job addresses found through a Nominatim-compatible geocoder (the maps
//! stand-in), verified only for a house-level match; a dispatcher's pin; arrival times by road
//! from an OSRM route service, and the straight-line estimate when it fails; the tracking page
//! live over Server-Sent Events.

use jiff::SignedDuration;
use serde_json::{Value, json};
use switchboard_core::ids::{OrgId, TechnicianId};
use switchboard_core::jobs::GeoPoint;
use switchboard_standins::maps::MapsStandin;

use crate::helpers::{TestApp, json, spawn_app_with};

const TARA: &str = "+17205550132";

struct Setup {
    app: TestApp,
    maps: MapsStandin,
    key: String,
    org: OrgId,
    summit: i64,
    tara: i64,
}

/// The demo, with the maps stand-in as geocoder and route service. The stand-in knows one
/// house and one street only.
async fn setup() -> Setup {
    let maps = MapsStandin::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    maps.add_place("2216 W 32nd Ave", 39.7622, -105.0155, 30);
    maps.add_place("Tennyson St", 39.7712, -105.0436, 26);
    let url = maps.base_url();
    let app = spawn_app_with(|c| {
        c.maps.geocoder_url = Some(url.clone());
        c.maps.osrm_url = Some(url.clone());
    })
    .await;
    let (org, key, summit) = app.seed_demo().await;
    let summit = summit.0;
    let (_, c) = json(
        app.client()
            .get(app.url(&format!("/api/v1/customers?phone=%2B{}", &TARA[1..])))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let tara = c["customers"][0]["id"].as_i64().unwrap();
    Setup { app, maps, key, org, summit, tara }
}

impl Setup {
    async fn run_engine(&self) {
        for _ in 0..6 {
            self.app.engine.tick().await.unwrap();
            self.app.clock.advance(SignedDuration::from_secs(2));
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.app.client().request(method, self.app.url(path)).bearer_auth(&self.key);
        if let Some(b) = body {
            r = r.json(&b);
        }
        json(r.send().await.unwrap()).await
    }

    async fn job_at(&self, address: &str) -> i64 {
        let body = json!({"brand_id": self.summit, "customer_id": self.tara, "service": "AC tune-up",
                          "address": address, "scheduled_start": "2026-11-22T18:00:00Z",
                          "scheduled_end": "2026-11-22T20:00:00Z"});
        let (status, job) = self.call(reqwest::Method::POST, "/api/v1/jobs", Some(body)).await;
        assert_eq!(status, 201, "{job}");
        job["job"]["id"].as_i64().unwrap()
    }

    async fn job(&self, id: i64) -> Value {
        self.call(reqwest::Method::GET, &format!("/api/v1/jobs/{id}"), None).await.1["job"].clone()
    }

    async fn tech(&self, name: &str) -> i64 {
        let (_, techs) = self.call(reqwest::Method::GET, "/api/v1/technicians", None).await;
        techs["technicians"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()["id"].as_i64().unwrap()
    }
}

fn notes(job: &Value) -> Vec<String> {
    job["history"].as_array().unwrap().iter().filter_map(|e| e["note"].as_str().map(str::to_string)).collect()
}

fn pin(job: &Value) -> Option<(f64, f64, bool)> {
    job["location"]
        .as_object()
        .map(|l| (l["lat"].as_f64().unwrap(), l["lon"].as_f64().unwrap(), job["location_verified"].as_bool().unwrap()))
}

#[tokio::test]
async fn new_addresses_are_found_on_the_map_and_verified_only_for_a_house_match() {
    let s = setup().await;
    let house = s.job_at("2216 W 32nd Ave, Denver, CO 80211").await;
    let street = s.job_at("4100 Tennyson St, Denver, CO").await;
    let nowhere = s.job_at("1 Nowhere Rd, Denver, CO").await;
    assert_eq!(pin(&s.job(house).await), None, "looked up by the engine, not while saving");
    s.run_engine().await;

    let job = s.job(house).await;
    assert_eq!(pin(&job), Some((39.7622, -105.0155, true)), "a house-level match is verified");
    assert!(notes(&job).iter().any(|n| n.starts_with("Address found on the map and verified")), "{:?}", notes(&job));
    let job = s.job(street).await;
    assert_eq!(pin(&job), Some((39.7712, -105.0436, false)), "a street match is only a hint");
    assert!(notes(&job).iter().any(|n| n.contains("check the pin")), "{:?}", notes(&job));
    let job = s.job(nowhere).await;
    assert_eq!(pin(&job), None);
    assert!(notes(&job).contains(&"Address not found on the map; place the pin by hand".to_string()));
    assert_eq!(s.maps.searches().len(), 3);

    // A new address unverifies the old pin until it is found again.
    let (status, _) = s
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/jobs/{house}"),
            Some(json!({"address": "900 Tennyson St, Denver, CO"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(pin(&s.job(house).await).map(|p| p.2), Some(false), "the old pin is no longer trusted");
    s.run_engine().await;
    assert_eq!(pin(&s.job(house).await), Some((39.7712, -105.0436, false)));

    // A dispatcher's pin is verified and the geocoder never moves it.
    let (status, _) = s
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/jobs/{street}"),
            Some(json!({"location": {"lat": 39.77301, "lon": -105.04388}, "location_verified": true})),
        )
        .await;
    assert_eq!(status, 200);
    let browser = s.app.signed_in_demo().await;
    let r = browser.post_form(&format!("/jobs/{street}/locate"), &[]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("Not looked up: the pin is already verified."));
    assert_eq!(pin(&s.job(street).await), Some((39.77301, -105.04388, true)));
}

#[tokio::test]
async fn a_geocoder_outage_is_retried_and_explained_to_the_dispatcher() {
    let s = setup().await;
    s.maps.fail_next(503);
    let id = s.job_at("2216 W 32nd Ave, Denver, CO 80211").await;
    s.app.engine.tick().await.unwrap();
    assert_eq!(pin(&s.job(id).await), None, "the first try met the outage");
    // The engine tries again after its backoff.
    s.app.clock.advance(SignedDuration::from_mins(5));
    s.run_engine().await;
    assert_eq!(pin(&s.job(id).await).map(|p| p.2), Some(true));

    // "Find on map" by hand during an outage: a clear 503, nothing changed.
    let other = s.job_at("4100 Tennyson St, Denver, CO").await;
    let browser = s.app.signed_in_demo().await;
    let (_, page) = browser.get_text(&format!("/jobs/{other}")).await;
    assert!(page.contains("Find on map") && page.contains("id=\"pin-map\""), "the pin picker and the button");
    s.maps.fail_next(503);
    let r = browser.post_form(&format!("/jobs/{other}/locate"), &[]).await;
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("The map service could not be reached"));
    assert_eq!(pin(&s.job(other).await), None);
    let r = browser.post_form(&format!("/jobs/{other}/locate"), &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/jobs/{other}?done=located-approx"));
    assert_eq!(pin(&s.job(other).await).map(|p| p.2), Some(false));
}

/// Dispatches Maria to a verified job, puts her phone 10 km north, returns the job's tracking
/// link (a path).
async fn maria_on_the_way(s: &Setup) -> (i64, String) {
    let id = s.job_at("2216 W 32nd Ave, Denver, CO 80211").await;
    s.run_engine().await;
    let maria = s.tech("Maria Reyes").await;
    let (status, _) =
        s.call(reqwest::Method::POST, &format!("/api/v1/jobs/{id}/assign"), Some(json!({"tech_ids": [maria]}))).await;
    assert_eq!(status, 200);
    let here = GeoPoint::new(39.7622 + 0.0899, -105.0155).unwrap();
    switchboard_core::technicians::share_location(&s.app.db, &s.app.clock, s.org, TechnicianId(maria), here, Some(8))
        .await
        .unwrap();
    let (status, _) = s
        .call(reqwest::Method::POST, &format!("/api/v1/jobs/{id}/status"), Some(json!({"status": "dispatched"})))
        .await;
    assert_eq!(status, 200);
    s.run_engine().await;
    let texts = s.app.sms.sent_to(TARA);
    let otw = texts.iter().rev().find(|m| m.body.contains("is on the way")).expect("the on-the-way text");
    let link = otw.body.split_whitespace().find(|w| w.contains("/t/")).expect("a tracking link");
    (id, link.strip_prefix(&s.app.base).unwrap().to_string())
}

#[tokio::test]
async fn arrival_times_come_from_the_route_service_and_fall_back_to_the_estimate() {
    let s = setup().await;
    let (job_id, path) = maria_on_the_way(&s).await;
    let texts = s.app.sms.sent_to(TARA);
    let otw = texts.iter().rev().find(|m| m.body.contains("is on the way")).unwrap();
    // 10 km straight is 14 km by the stand-in's roads at 30 km/h: 28 minutes after 10:00 Denver.
    assert!(otw.body.contains("arriving about 10:28 AM"), "{}", otw.body);
    let page = |p: String| {
        let c = s.app.client();
        let url = s.app.url(&p);
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    // The email says the same, with Maria's card and a button to the page.
    let mails: Vec<_> = s.app.mail.mails().into_iter().filter(|m| m.subject == "Maria is on the way").collect();
    assert_eq!(mails.len(), 1, "one on-the-way email");
    assert_eq!(mails[0].rcpt_to, ["tara.patel@example.com"]);
    assert!(mails[0].text.contains("arriving about 10:28 AM"), "{}", mails[0].text);
    let html = mails[0].html.clone().expect("an HTML part");
    assert!(html.contains(&format!("<img src=\"{}/assets/demo/tech-maria.svg\"", s.app.base)), "{html}");
    assert!(html.contains("★ 4.7") && html.contains("Silver Ram ProMaster #7"), "{html}");
    assert!(html.contains(&format!("href=\"{}{path}\"", s.app.base)) && html.contains("Follow Maria on the map"));

    let html = page(path.clone()).await;
    assert!(html.contains("href=\"tel:+17205550100\"") && html.contains("Call Summit Home Services at (720) 555-0100"));
    assert!(html.contains("id=\"tracking-map\"") && html.contains("data-dest-lat=\"39.762200\""), "{html}");
    assert!(html.contains("data-tech-lat=\"39.852100\""), "the technician on the map while on the way");
    assert!(html.contains("8.7 mi") && html.contains("by road") && html.contains("about 10:28 AM"), "{html}");
    // The dispatcher sees the same on the job page, beside Maria's name.
    let browser = s.app.signed_in_demo().await;
    let (_, office) = browser.get_text(&format!("/jobs/{job_id}")).await;
    assert!(office.contains("8.7 mi · about 10:28 AM"), "{office}");
    let routes = s.maps.routes();
    page(format!("{path}/live")).await;
    assert_eq!(s.maps.routes(), routes, "the same two points are not asked again within a minute");

    // Maria moves on; the route service is down: the straight-line estimate (10.1 km straight,
    // 13.1 km by road at 40 km/h: 20 minutes).
    let maria = TechnicianId(s.tech("Maria Reyes").await);
    let here = GeoPoint::new(39.7622 + 0.0909, -105.0155).unwrap();
    switchboard_core::technicians::share_location(&s.app.db, &s.app.clock, s.org, maria, here, Some(8)).await.unwrap();
    s.maps.fail_next(500);
    let html = page(format!("{path}/live")).await;
    assert_eq!(s.maps.routes(), routes, "the failed request found no route");
    assert!(html.contains("6.3 mi") && html.contains("estimated") && html.contains("about 10:20 AM"), "{html}");
    assert!(!html.contains("<html"), "the live part alone");
}

#[tokio::test]
async fn the_tracking_page_hears_about_changes_over_server_sent_events() {
    let s = setup().await;
    let (id, path) = maria_on_the_way(&s).await;
    let mut events = s.app.client().get(s.app.url(&format!("{path}/events"))).send().await.unwrap();
    assert_eq!(events.status(), 200);
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    // Maria moves: one update.
    let maria = TechnicianId(s.tech("Maria Reyes").await);
    let closer = GeoPoint::new(39.7622 + 0.02, -105.0155).unwrap();
    switchboard_core::technicians::share_location(&s.app.db, &s.app.clock, s.org, maria, closer, Some(8))
        .await
        .unwrap();
    let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), events.chunk()).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&chunk.unwrap()).to_string();
    assert!(text.contains("event: update"), "{text}");
    // Another technician's location says nothing to this customer.
    let dan = TechnicianId(s.tech("Dan Okafor").await);
    switchboard_core::technicians::share_location(&s.app.db, &s.app.clock, s.org, dan, closer, None).await.unwrap();
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(400), events.chunk()).await;
    assert!(quiet.is_err(), "no update for someone else's location");
    // She arrives: an update, and the page says so.
    let (status, _) =
        s.call(reqwest::Method::POST, &format!("/api/v1/jobs/{id}/status"), Some(json!({"status": "on_site"}))).await;
    assert_eq!(status, 200);
    let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), events.chunk()).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&chunk.unwrap()).contains("event: update"));
    let html = s.app.client().get(s.app.url(&format!("{path}/live"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Maria has arrived") && !html.contains("Arriving"), "{html}");
    assert!(html.contains("data-tech-lat=\"\""), "her position is no longer shown once she is there");
    // A bad token gets no stream.
    let r = s.app.client().get(s.app.url("/t/not-a-token/events")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn with_arrival_tracking_off_messages_carry_no_link() {
    let s = setup().await;
    let brand = switchboard_core::ids::BrandId(s.summit);
    let mut prefs = switchboard_core::notifications::settings::prefs(&s.app.db, s.org, brand).await.unwrap();
    prefs.tracking_enabled = false;
    switchboard_core::notifications::settings::save_prefs(&s.app.db, &s.app.clock, s.org, brand, &prefs).await.unwrap();
    let id = s.job_at("2216 W 32nd Ave, Denver, CO 80211").await;
    let maria = s.tech("Maria Reyes").await;
    s.call(reqwest::Method::POST, &format!("/api/v1/jobs/{id}/assign"), Some(json!({"tech_ids": [maria]}))).await;
    s.call(reqwest::Method::POST, &format!("/api/v1/jobs/{id}/status"), Some(json!({"status": "dispatched"}))).await;
    s.run_engine().await;
    let texts = s.app.sms.sent_to(TARA);
    let otw = texts.iter().find(|m| m.body.contains("is on the way")).expect("the on-the-way text");
    assert_eq!(otw.body, "Maria from Summit Home Services is on the way, arriving soon.", "no dangling label");
    let mail = s.app.mail.mails().into_iter().find(|m| m.subject == "Maria is on the way").expect("the email");
    assert!(!mail.html.unwrap().contains("on the map"), "no tracking button");
    let (tokens,): (i64,) = sqlx::query_as("select count(*) from capability_links where scope = 'tracking'")
        .fetch_one(s.app.db.pool())
        .await
        .unwrap();
    assert_eq!(tokens, 0, "no link was made");
}
