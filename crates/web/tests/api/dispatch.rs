//! Dispatching: edits over the API, assignment texting portal links through the SMS stand-in,
//! the technician portal with real tokens (and bad, expired, revoked and wrong-tech ones),
//! photo upload limits, the board and the customer card.

use jiff::SignedDuration;
use serde_json::{Value, json};
use switchboard_core::ids::TechnicianId;

use crate::helpers::{TestApp, json, spawn_app};

const DAN: &str = "+17205550121";
const MARIA: &str = "+17205550122";
const JIN: &str = "+17205550123";

struct Demo {
    app: TestApp,
    key: String,
    org: switchboard_core::ids::OrgId,
}

async fn demo() -> Demo {
    let app = spawn_app().await;
    switchboard_core::demo::seed(&app.db, &app.clock).await.unwrap();
    let org = switchboard_core::tenancy::org_by_slug(&app.db, "demo").await.unwrap().unwrap().id;
    let key = app.api_key(org).await;
    Demo { app, key, org }
}

impl Demo {
    async fn get(&self, path: &str) -> (u16, Value) {
        json(self.app.client().get(self.app.url(path)).bearer_auth(&self.key).send().await.unwrap()).await
    }
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        json(self.app.client().post(self.app.url(path)).bearer_auth(&self.key).json(&body).send().await.unwrap()).await
    }
    async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        json(self.app.client().patch(self.app.url(path)).bearer_auth(&self.key).json(&body).send().await.unwrap()).await
    }
    async fn job(&self, code: &str) -> Value {
        let (_, body) = self.get(&format!("/api/v1/jobs?q={code}")).await;
        let id = body["jobs"].as_array().unwrap().iter().find(|j| j["code"] == code).unwrap()["id"].as_i64().unwrap();
        self.get(&format!("/api/v1/jobs/{id}")).await.1["job"].clone()
    }
    async fn tech(&self, name: &str) -> i64 {
        let (_, body) = self.get("/api/v1/technicians").await;
        body["technicians"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()["id"].as_i64().unwrap()
    }
    /// Runs the engine until nothing is due, stepping the clock past the per-number send interval.
    async fn send_all(&self) {
        for _ in 0..10 {
            self.app.engine.tick().await.unwrap();
            self.app.clock.advance(SignedDuration::from_secs(2));
        }
    }
    /// The portal links texted to `number`, oldest first.
    fn links_to(&self, number: &str) -> Vec<String> {
        self.app
            .sms
            .sent_to(number)
            .iter()
            .filter_map(|m| m.body.split_whitespace().find(|w| w.contains("/p/")).map(str::to_string))
            .collect()
    }
    /// Assigns Maria to the job, lets the engine text her, and returns her portal path.
    async fn maria_on(&self, job: i64) -> String {
        let maria = self.tech("Maria Reyes").await;
        let (status, body) = self.post(&format!("/api/v1/jobs/{job}/assign"), json!({ "tech_ids": [maria] })).await;
        assert_eq!(status, 200, "{body}");
        self.send_all().await;
        self.path_of(self.links_to(MARIA).last().expect("Maria was texted a link"))
    }
    fn path_of(&self, link: &str) -> String {
        link.strip_prefix(&self.app.base).expect("links point at the app").to_string()
    }
    async fn page(&self, path: &str) -> (u16, String) {
        let r = self.app.client().get(self.app.url(path)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
    async fn portal_post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self.app.client().post(self.app.url(path)).form(form).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

fn history_notes(job: &Value) -> Vec<String> {
    job["history"].as_array().unwrap().iter().filter_map(|e| e["note"].as_str().map(str::to_string)).collect()
}

#[tokio::test]
async fn assigning_a_technician_texts_exactly_one_portal_link_that_opens_their_day() {
    let d = demo().await;
    let job = d.job("J-2202").await;
    let id = job["id"].as_i64().unwrap();
    let (dan, maria) = (d.tech("Dan Okafor").await, d.tech("Maria Reyes").await);
    assert_eq!(job["techs"][0]["id"], dan);

    let (status, body) = d.post(&format!("/api/v1/jobs/{id}/assign"), json!({ "tech_ids": [dan, maria] })).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> =
        body["job"]["techs"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Dan Okafor", "Maria Reyes"]);
    d.send_all().await;
    let texts = d.app.sms.sent_to(MARIA);
    assert_eq!(texts.len(), 1, "one text for the new technician");
    assert!(texts[0].body.contains("J-2202") && texts[0].body.contains("Disposal install"), "{}", texts[0].body);
    assert_eq!(texts[0].from, "+17205550100", "sent from the brand's number");
    assert!(d.app.sms.sent_to(DAN).is_empty(), "the technician already on the job is not texted again");

    // The same assignment again changes nothing and texts nobody.
    let (status, _) = d.post(&format!("/api/v1/jobs/{id}/assign"), json!({ "tech_ids": [maria, dan] })).await;
    assert_eq!(status, 200);
    d.send_all().await;
    assert_eq!(d.app.sms.sent_to(MARIA).len(), 1);

    // The link opens Maria's day with this stop.
    let links = d.links_to(MARIA);
    let token = links[0].rsplit('/').next().unwrap();
    assert_eq!(token.len(), 43, "256-bit token");
    let (status, html) = d.page(&d.path_of(&links[0])).await;
    assert_eq!(status, 200);
    assert!(html.contains("Hi Maria") && html.contains("J-2202") && html.contains("Disposal install"), "{html}");
    assert!(!html.contains("J-2204"), "only her stops");
    // Only the hash is stored.
    let stored: Vec<(String,)> = sqlx::query_as("select token_hash from capability_links where scope = 'portal'")
        .fetch_all(d.app.db.pool())
        .await
        .unwrap();
    assert!(stored.iter().all(|(h,)| h.len() == 64 && h != token));

    // Dispatching texts the technicians not yet texted about this job (Dan), not Maria again.
    let (status, _) = d.post(&format!("/api/v1/jobs/{id}/status"), json!({ "status": "dispatched" })).await;
    assert_eq!(status, 200);
    d.send_all().await;
    assert_eq!(d.app.sms.sent_to(DAN).len(), 1);
    assert_eq!(d.app.sms.sent_to(MARIA).len(), 1);

    // Unassigning and validation.
    let (status, body) = d.post(&format!("/api/v1/jobs/{id}/assign"), json!({ "tech_ids": [99999] })).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"][0]["message"].as_str().unwrap().contains("99999"));
    let (status, body) = d.post(&format!("/api/v1/jobs/{id}/assign"), json!({ "tech_ids": [] })).await;
    assert_eq!(status, 200);
    assert_eq!(body["job"]["techs"], json!([]));
    let job = d.job("J-2202").await;
    let notes = history_notes(&job);
    assert!(notes.iter().any(|n| n == "assigned Maria Reyes"), "{notes:?}");
    assert!(notes.iter().any(|n| n == "unassigned Dan Okafor, Maria Reyes"), "{notes:?}");
    assert!(notes.iter().any(|n| n == "Portal link texted to Maria Reyes"), "{notes:?}");

    // A finished job keeps its technicians.
    let done = d.job("J-2199").await;
    let (status, body) = d.post(&format!("/api/v1/jobs/{}/assign", done["id"]), json!({ "tech_ids": [maria] })).await;
    assert_eq!(status, 409, "{body}");
}

#[tokio::test]
async fn the_portal_drives_the_status_machine_and_the_job_history() {
    let d = demo().await;
    let job = d.job("J-2202").await;
    let id = job["id"].as_i64().unwrap();
    let maria = d.tech("Maria Reyes").await;
    let base = d.maria_on(id).await;
    let notes = json!({"customer_notes": "Gate code 4411", "internal_notes": "Owes $40 from last visit"});
    assert_eq!(d.patch(&format!("/api/v1/jobs/{id}"), notes).await.0, 200);

    let (status, html) = d.page(&format!("{base}/jobs/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Gate code 4411"), "the technician sees the job's notes");
    assert!(!html.contains("Owes $40"), "but not the office's");
    assert!(html.contains("On my way") && html.contains("Arrived"), "a scheduled job offers both");
    assert!(html.contains("tel:+1"), "one-tap call");
    assert!(html.contains("google.com/maps/search"), "tap to open the address in maps");

    let (status, _) = d.portal_post(&format!("{base}/jobs/{id}/status"), &[("to", "dispatched")]).await;
    assert_eq!(status, 303, "back to the job");
    assert_eq!(d.job("J-2202").await["status"], "dispatched");
    // Work done is not possible from En route: refused with the reason, nothing changes.
    let (status, html) = d.portal_post(&format!("{base}/jobs/{id}/status"), &[("to", "pending_close")]).await;
    assert_eq!(status, 409);
    assert!(html.contains("tap Arrived when you get there first"), "{html}");
    // Completing is for the office.
    let (status, html) = d.portal_post(&format!("{base}/jobs/{id}/status"), &[("to", "canceled")]).await;
    assert_eq!(status, 409);
    assert!(html.contains("ask the office"));
    for to in ["on_site", "pending_close"] {
        let (status, _) = d.portal_post(&format!("{base}/jobs/{id}/status"), &[("to", to)]).await;
        assert_eq!(status, 303, "{to}");
    }
    let job = d.job("J-2202").await;
    assert_eq!(job["status"], "pending_close");
    // Done: the page says so, and going back on site is asked, not one big button.
    let (_, html) = d.page(&format!("{base}/jobs/{id}")).await;
    assert!(html.contains("✓ You marked your work done. The office closes the job."), "{html}");
    assert!(html.contains("<summary>Back on site…</summary>") && html.contains("Yes, I'm back on site"), "{html}");
    assert!(!html.contains(">Arrived</button>"), "no one-tap Arrived after Work done: {html}");
    let moves: Vec<(String, String)> = job["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "status")
        .map(|e| (e["to"].as_str().unwrap().to_string(), e["actor"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        moves,
        [
            ("dispatched".to_string(), "tech:Maria Reyes".to_string()),
            ("on_site".to_string(), "tech:Maria Reyes".to_string()),
            ("pending_close".to_string(), "tech:Maria Reyes".to_string()),
        ]
    );

    // A line item from the field.
    let (status, _) = d
        .portal_post(
            &format!("{base}/jobs/{id}/line-items"),
            &[("description", "Disposal 3/4 HP"), ("quantity", "1.5"), ("unit_price", "89.50"), ("taxable", "1")],
        )
        .await;
    assert_eq!(status, 303);
    let (status, html) =
        d.portal_post(&format!("{base}/jobs/{id}/line-items"), &[("description", "x"), ("unit_price", "ten")]).await;
    assert_eq!(status, 422);
    assert!(html.contains("is not an amount"), "{html}");
    let job = d.job("J-2202").await;
    assert_eq!(job["line_items"][0]["quantity_x100"], 150);
    assert_eq!(job["line_items"][0]["total"], 13425);
    assert_eq!(job["total"], 13425);

    // Location while the page is open.
    let r = d
        .app
        .client()
        .post(d.app.url(&format!("{base}/location")))
        .json(&json!({"lat": 39.75, "lon": -104.99, "accuracy": 12.4}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let tech = switchboard_core::technicians::get(&d.app.db, d.org, TechnicianId(maria)).await.unwrap();
    let loc = tech.last_location.expect("location recorded");
    assert_eq!((loc.point.lat, loc.point.lon, loc.accuracy_m), (39.75, -104.99, Some(12)));
    let r = d
        .app
        .client()
        .post(d.app.url(&format!("{base}/location")))
        .json(&json!({"lat": 123.0, "lon": 0.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}

/// A tiny valid PNG header is enough for type sniffing.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00";

/// A `multipart/form-data` body with one `photo` file field, as a browser sends it.
fn photo_form(bytes: Vec<u8>, name: &str) -> (String, Vec<u8>) {
    let boundary = "----switchboard-test-boundary-7d1f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn photos_are_checked_stored_on_disk_and_served_only_to_the_job() {
    let d = demo().await;
    let job = d.job("J-2202").await;
    let id = job["id"].as_i64().unwrap();
    let base = d.maria_on(id).await;
    let upload = |bytes: Vec<u8>, name: &str| {
        let (content_type, body) = photo_form(bytes, name);
        d.app
            .client()
            .post(d.app.url(&format!("{base}/jobs/{id}/photos")))
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let r = upload(PNG.to_vec(), "sink.png").await.unwrap();
    assert_eq!(r.status(), 303, "stored and back to the job");
    let job = d.job("J-2202").await;
    let photo = job["photos"][0].clone();
    assert_eq!(photo["content_type"], "image/png");
    assert_eq!(photo["added_by"], "tech:Maria Reyes");
    let files: Vec<_> = walk(d.app.data_dir.path());
    assert_eq!(files.len(), 1, "one file under the data directory");
    assert_eq!(std::fs::read(&files[0]).unwrap(), PNG);
    let r = d.app.client().get(d.app.url(&format!("{base}/jobs/{id}/photos/{}", photo["id"]))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");

    // Not an image, whatever its name says.
    let r = upload(b"<svg onload=alert(1)>".to_vec(), "evil.png").await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("not a photo"));
    // Over the limit by a little (read, then refused) and by a lot (refused while reading).
    let max = switchboard_core::storage::MAX_PHOTO_BYTES;
    for size in [max + 1, max + 512 * 1024] {
        let mut big = vec![0xFFu8, 0xD8, 0xFF];
        big.resize(size, 0);
        let r = upload(big, "big.jpg").await.unwrap();
        assert_eq!(r.status(), 422, "{size} bytes");
        assert!(r.text().await.unwrap().contains("at most 12 MB"));
    }
    assert_eq!(d.job("J-2202").await["photos"].as_array().unwrap().len(), 1, "nothing half-written");
    assert_eq!(walk(d.app.data_dir.path()).len(), 1);

    // Another job's photo through this technician's link: the same page as any bad link.
    let other = d.job("J-2204").await["id"].as_i64().unwrap();
    let (status, html) = d.page(&format!("{base}/jobs/{other}/photos/{}", photo["id"])).await;
    assert_eq!(status, 404);
    assert!(html.contains("This link isn"));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
        }
    }
    out
}

#[tokio::test]
async fn bad_expired_revoked_and_wrong_tech_links_all_get_the_same_plain_page() {
    let d = demo().await;
    let j2202 = d.job("J-2202").await["id"].as_i64().unwrap();
    let j2204 = d.job("J-2204").await["id"].as_i64().unwrap();
    let maria = d.tech("Maria Reyes").await;
    let base = d.maria_on(j2202).await;

    let invalid = |status: u16, html: &str| {
        assert_eq!(status, 404);
        assert!(html.contains("This link isn&#39;t valid") || html.contains("This link isn't valid"), "{html}");
        assert!(!html.contains("Maria") && !html.contains("J-22"), "reveals nothing");
    };
    let (s, h) = d.page("/p/short").await;
    invalid(s, &h);
    let (s, h) = d.page(&format!("/p/{}", "A".repeat(43))).await;
    invalid(s, &h);
    let (s, h) = d.page("/p/%27%20or%201=1--").await;
    invalid(s, &h);
    // Wrong technician: Maria's link on Dan's job, for reading and for changing it.
    let (s, h) = d.page(&format!("{base}/jobs/{j2204}")).await;
    invalid(s, &h);
    let (s, h) = d.portal_post(&format!("{base}/jobs/{j2204}/status"), &[("to", "pending_close")]).await;
    invalid(s, &h);
    assert_eq!(d.job("J-2204").await["status"], "on_site", "untouched");
    let (s, _) = d.page(&base).await;
    assert_eq!(s, 200, "the link itself still works");
    // A link of one scope opens nothing of another: Maria's portal token as a tracking link.
    let token = base.rsplit('/').next().unwrap();
    let (s, h) = d.page(&format!("/t/{token}")).await;
    assert_eq!(s, 404, "{h}");
    assert!(!h.contains("Maria") && !h.contains("J-22"), "reveals nothing");

    // Revoked by an admin (a lost phone): the link dies and nothing is texted to that phone.
    let admin = d.app.signed_in_demo().await;
    let r = admin.post_form(&format!("/settings/technicians/{maria}/revoke-links"), &[]).await;
    assert_eq!(r.status(), 303);
    let (s, h) = d.page(&base).await;
    invalid(s, &h);
    d.send_all().await;
    assert_eq!(d.links_to(MARIA).len(), 1, "no new link to a lost phone");
    // Rotated (a forwarded link): the old ones die and a new one is texted.
    let r = admin.post_form(&format!("/settings/technicians/{maria}/new-link"), &[]).await;
    assert_eq!(r.status(), 303);
    d.send_all().await;
    let links = d.links_to(MARIA);
    assert_eq!(links.len(), 2, "a fresh link was texted");
    let fresh = d.path_of(&links[1]);
    assert_ne!(fresh, base);
    assert_eq!(d.page(&fresh).await.0, 200);

    // Expired: the test clock is 10:00 in Denver on Nov 22; links last until midnight ending Nov 23.
    d.app.clock.set("2026-11-24T06:59:00Z".parse().unwrap());
    assert_eq!(d.page(&fresh).await.0, 200, "still valid late on the next day");
    d.app.clock.set("2026-11-24T07:00:01Z".parse().unwrap());
    let (s, h) = d.page(&fresh).await;
    invalid(s, &h);
    let r = d
        .app
        .client()
        .post(d.app.url(&format!("{fresh}/location")))
        .json(&json!({"lat": 1.0, "lon": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "an expired link cannot report a location either");
}

#[tokio::test]
async fn editing_a_job_over_the_api_records_what_changed() {
    let d = demo().await;
    let job = d.job("J-2201").await;
    let id = job["id"].as_i64().unwrap();
    assert_eq!(job["status"], "estimate");
    assert_eq!(job["location_verified"], true, "demo addresses come with verified pins");
    let (status, body) = d
        .patch(
            &format!("/api/v1/jobs/{id}"),
            json!({
                "service": "Re-roof, full tear-off",
                "location": {"lat": 39.7392, "lon": -104.9903},
                "location_verified": true,
                "customer_notes": "Gate code 4411; dog in yard",
                "internal_notes": "Quote valid 30 days",
                "scheduled_start": "2026-11-25T16:00:00Z",
                "scheduled_end": "2026-11-25T18:00:00Z"
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let job = &body["job"];
    assert_eq!(job["service"], "Re-roof, full tear-off");
    assert_eq!(job["location"], json!({"lat": 39.7392, "lon": -104.9903}));
    assert_eq!(job["location_verified"], true);
    assert_eq!(job["status"], "scheduled", "an estimate with a window is scheduled");
    let notes = history_notes(job);
    let edit = notes.iter().find(|n| n.starts_with("service:")).expect("an edit entry");
    assert!(edit.contains("Estimate - re-roof → Re-roof, full tear-off"), "{edit}");
    assert!(edit.contains("map pin: 39.73920, -104.99030") && !edit.contains("unverified"), "{edit}");
    assert!(edit.contains("window: Wed Nov 25, 9:00 AM-11:00 AM"), "in the brand's zone: {edit}");

    // Moving the pin unverifies it; null clears fields.
    let (_, body) = d
        .patch(&format!("/api/v1/jobs/{id}"), json!({"location": {"lat": 39.74, "lon": -104.99}, "address": null}))
        .await;
    assert_eq!(body["job"]["location_verified"], false);
    assert_eq!(body["job"]["address"], Value::Null);

    for (patch, field) in [
        (json!({"scheduled_end": "2026-11-25T15:00:00Z"}), "scheduled_end"),
        (json!({"service": "  "}), "service"),
        (json!({"location": {"lat": 91, "lon": 0}}), "location"),
        (json!({"scheduled_start": "next tuesday"}), "scheduled_start"),
    ] {
        let (status, body) = d.patch(&format!("/api/v1/jobs/{id}"), patch.clone()).await;
        assert_eq!(status, 422, "{patch}: {body}");
        assert_eq!(body["error"]["fields"][0]["field"], field, "{patch}");
    }
    let (status, _) = d.patch(&format!("/api/v1/jobs/{id}"), json!({"colour": "red"})).await;
    assert!(status == 400 || status == 422, "unknown fields are refused ({status})");

    // Another organization's key cannot see or edit it.
    let (other, _) = d.app.org_with_admin("rival").await;
    let rival = d.app.api_key(other).await;
    let r = d
        .app
        .client()
        .patch(d.app.url(&format!("/api/v1/jobs/{id}")))
        .bearer_auth(&rival)
        .json(&json!({"service": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = d
        .app
        .client()
        .post(d.app.url(&format!("/api/v1/jobs/{id}/assign")))
        .bearer_auth(&rival)
        .json(&json!({"tech_ids": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn each_brand_tab_opens_on_that_brands_today() {
    let d = demo().await;
    // 10:05 PM Sunday in Denver is already Monday in Boston.
    d.app.clock.set("2026-11-23T05:05:00Z".parse().unwrap());
    let admin = d.app.signed_in_demo().await;
    let summit = d.job("J-2202").await["brand_id"].as_i64().unwrap();
    let harbor = d.job("H-4101").await["brand_id"].as_i64().unwrap();
    let (_, boston) = admin.get_text(&format!("/board?brand={harbor}")).await;
    assert!(boston.contains("Today, Mon Nov 23"), "Harbor's today");
    assert!(boston.contains(&format!("href=\"/board?brand={summit}\"")), "the Summit tab carries no Boston date");
    let (_, denver) = admin.get_text(&format!("/board?brand={summit}")).await;
    assert!(denver.contains("Today, Sun Nov 22") && denver.contains("J-2202"), "Summit's today, with its jobs");
    // A day picked on purpose stays when switching brands.
    let (_, picked) = admin.get_text(&format!("/board?brand={harbor}&date=2026-11-25")).await;
    assert!(picked.contains(&format!("href=\"/board?brand={summit}&date=2026-11-25\"")), "{picked}");
}

#[tokio::test]
async fn the_board_places_jobs_flags_double_bookings_and_moves_jobs() {
    let d = demo().await;
    let admin = d.app.signed_in_demo().await;
    let summit = d.job("J-2202").await["brand_id"].as_i64().unwrap();
    let (status, html) = admin.get_text(&format!("/board?brand={summit}&date=2026-11-22")).await;
    assert_eq!(status, 200);
    for name in ["Dan Okafor", "Maria Reyes", "Jin Park"] {
        assert!(html.contains(name), "a lane for {name}");
    }
    assert!(html.contains("J-2202") && html.contains("J-2204"));
    assert!(!html.contains("double-booking"), "the demo day has no clash");

    // Book Dan into J-2202's slot (4-6 PM Denver): both jobs are flagged.
    let dan = d.tech("Dan Okafor").await;
    let customer = d.job("J-2202").await["customer_id"].as_i64().unwrap();
    let (status, body) = d
        .post(
            "/api/v1/jobs",
            json!({"brand_id": summit, "customer_id": customer, "service": "Faucet swap",
                   "scheduled_start": "2026-11-22T23:30:00Z", "scheduled_end": "2026-11-23T00:30:00Z", "tech_ids": [dan]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let new_id = body["job"]["id"].as_i64().unwrap();
    let new_code = body["job"]["code"].as_str().unwrap().to_string();
    d.send_all().await;
    assert_eq!(d.app.sms.sent_to(DAN).len(), 1, "creating a job with a technician texts them");
    let (_, html) = admin.get_text(&format!("/board?brand={summit}&date=2026-11-22")).await;
    assert!(html.contains("1 double-booking"), "flagged");
    assert!(html.contains(&format!("Overlaps {new_code}")) && html.contains("Overlaps J-2202"));

    // Move it to Jin by the keyboard form, an hour later.
    let jin = d.tech("Jin Park").await;
    let r = admin
        .post_form(
            "/board/move",
            &[
                ("job", &new_id.to_string()),
                ("from_tech", &dan.to_string()),
                ("to_tech", &jin.to_string()),
                ("start", "2026-11-22T17:30"),
                ("end", "2026-11-22T18:30"),
                ("date", "2026-11-22"),
                ("brand", &summit.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let job = d.job(&new_code).await;
    assert_eq!(job["techs"][0]["name"], "Jin Park");
    assert_eq!(job["scheduled_start"], "2026-11-23T00:30:00Z");
    d.send_all().await;
    assert_eq!(d.app.sms.sent_to(JIN).len(), 1, "the new technician gets the link");
    let body = &d.app.sms.sent_to(JIN)[0].body;
    assert!(
        body.starts_with(
            "Summit Home Services: you're on J-2206 (Faucet swap) today, 5:30 PM-6:30 PM at 3902 Tennyson St, Denver, CO 80212. Your stops: http"
        ),
        "with the new time: {body}"
    );
    let (_, html) = admin.get_text(&format!("/board?brand={summit}&date=2026-11-22")).await;
    assert!(!html.contains("double-booking"));

    // A drag: to the unassigned column, then back onto Maria's lane at a dropped time (snapped).
    let r = admin
        .client
        .post(d.app.url("/board/move"))
        .header("x-csrf-token", &admin.csrf)
        .header("x-requested-with", "fetch")
        .form(&[("job", new_id.to_string()), ("from_tech", jin.to_string()), ("to_tech", String::new())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(d.job(&new_code).await["techs"], json!([]));
    let maria = d.tech("Maria Reyes").await;
    let drop_at: jiff::Timestamp = "2026-11-22T20:07:00Z".parse().unwrap();
    let r = admin
        .client
        .post(d.app.url("/board/move"))
        .header("x-csrf-token", &admin.csrf)
        .header("x-requested-with", "fetch")
        .form(&[
            ("job", new_id.to_string()),
            ("from_tech", String::new()),
            ("to_tech", maria.to_string()),
            ("start_ms", drop_at.as_millisecond().to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let job = d.job(&new_code).await;
    assert_eq!(job["techs"][0]["name"], "Maria Reyes");
    assert_eq!(
        (job["scheduled_start"].as_str(), job["scheduled_end"].as_str()),
        (Some("2026-11-22T20:00:00Z"), Some("2026-11-22T21:00:00Z"))
    );
    // A bad move is refused with a reason.
    let r = admin
        .client
        .post(d.app.url("/board/move"))
        .header("x-csrf-token", &admin.csrf)
        .header("x-requested-with", "fetch")
        .form(&[("job", d.job("J-2199").await["id"].to_string()), ("to_tech", maria.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("reopen"));
    // Without the CSRF token nothing moves.
    let r = admin
        .client
        .post(d.app.url("/board/move"))
        .form(&[("job", new_id.to_string()), ("to_tech", dan.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn the_jobs_page_filters_and_the_job_and_customer_pages_show_everything() {
    let d = demo().await;
    let admin = d.app.signed_in_demo().await;
    let (_, html) = admin.get_text("/jobs?q=disposal").await;
    assert!(html.contains("J-2202") && !html.contains("J-2204"), "search");
    let jin = d.tech("Jin Park").await;
    let (_, html) = admin.get_text(&format!("/jobs?tech={jin}")).await;
    assert!(html.contains("J-2203") && html.contains("J-2199") && !html.contains("J-2202"), "by technician");
    let (_, html) = admin.get_text("/jobs?date=2026-11-23").await;
    assert!(html.contains("J-2201") && !html.contains("J-2202"), "by day");
    let (status, _) = admin.get_text("/jobs?date=soon").await;
    assert_eq!(status, 400);

    let job = d.job("J-2202").await;
    let id = job["id"].as_i64().unwrap();
    let r = admin
        .post_form(
            &format!("/jobs/{id}/line-items"),
            &[("description", "Haul-away fee"), ("quantity", "1"), ("unit_price", "45")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = admin
        .post_form(
            &format!("/jobs/{id}"),
            &[("service", "Disposal install"), ("start", "2026-11-22T17:00"), ("end", "2026-11-22T15:00")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("must end after it starts"));
    let r = admin.post_form(&format!("/jobs/{id}/status"), &[("to", "completed")]).await;
    assert_eq!(r.status(), 409, "the status machine guards the page too");
    let (status, html) = admin.get_text(&format!("/jobs/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Haul-away fee") && html.contains("$45.00"), "line items and total");
    assert!(html.contains("Added 1 × Haul-away fee at $45.00 = $45.00"), "history in words");

    let customer = job["customer_id"].as_i64().unwrap();
    let phone =
        d.get(&format!("/api/v1/customers/{customer}")).await.1["customer"]["phone"].as_str().unwrap().to_string();
    let (status, _) = d
        .post("/api/v1/messages", json!({"brand_id": job["brand_id"], "to": phone, "body": "Running 10 min late"}))
        .await;
    assert_eq!(status, 202);
    d.send_all().await;
    d.app.sms.settle(std::time::Duration::from_secs(5)).await.unwrap();
    let (status, html) = admin.get_text(&format!("/customers/{customer}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("J-2202") && html.contains("Running 10 min late"), "jobs and messages");
    assert!(html.contains("Delivered"), "delivery status from the provider's callback");
}

#[tokio::test]
async fn a_link_texted_ahead_lasts_through_the_job_and_work_under_way_is_always_listed() {
    let d = demo().await;
    // J-2201 is tomorrow (Nov 23) 9 AM Denver. Texted today, the link lasts through the day
    // after the job (Nov 24), not just until the end of tomorrow.
    let j2201 = d.job("J-2201").await["id"].as_i64().unwrap();
    let base = d.maria_on(j2201).await;
    d.app.clock.set("2026-11-25T06:59:00Z".parse().unwrap());
    let (status, html) = d.page(&base).await;
    assert_eq!(status, 200, "valid until the end of the day after the job");
    // Maria's en-route job whose window was days ago is still one of her stops.
    let j2205 = d.job("J-2205").await;
    assert_eq!(j2205["status"], "dispatched");
    assert!(html.contains("J-2205"), "work under way is listed whatever its window: {html}");
    d.app.clock.set("2026-11-25T07:00:01Z".parse().unwrap());
    assert_eq!(d.page(&base).await.0, 404);
}

#[tokio::test]
async fn saving_a_stale_job_page_keeps_changes_made_elsewhere() {
    let d = demo().await;
    let admin = d.app.signed_in_demo().await;
    let id = d.job("J-2202").await["id"].as_i64().unwrap();
    let (_, page) = admin.get_text(&format!("/jobs/{id}")).await;
    let field = |name: &str| crate::helpers::hidden_value(&page, name).unwrap_or_default();
    // Meanwhile someone moves the job on the board.
    let (status, _) = d
        .patch(
            &format!("/api/v1/jobs/{id}"),
            json!({"scheduled_start": "2026-11-22T21:00:00Z", "scheduled_end": "2026-11-22T22:00:00Z"}),
        )
        .await;
    assert_eq!(status, 200);
    // The stale page saves a note: only the note changes.
    let mut form: Vec<(String, String)> = Vec::new();
    for name in ["service", "address", "lat", "lon", "start", "end", "internal_notes", "customer_notes"] {
        form.push((format!("orig_{name}"), field(&format!("orig_{name}"))));
        form.push((name.to_string(), field(&format!("orig_{name}"))));
    }
    form.push(("orig_verified".into(), field("orig_verified")));
    form.push(("verified".into(), "1".into()));
    for (k, v) in form.iter_mut() {
        if k == "customer_notes" {
            *v = "Park on the street".into();
        }
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = admin.post_form(&format!("/jobs/{id}"), &pairs).await;
    assert_eq!(r.status(), 303);
    let job = d.job("J-2202").await;
    assert_eq!(job["customer_notes"], "Park on the street");
    assert_eq!(job["scheduled_start"], "2026-11-22T21:00:00Z", "the other edit survives");
}

#[tokio::test]
async fn photos_go_to_s3_compatible_storage_when_it_is_configured() {
    let s3 = switchboard_standins::s3::S3Standin::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let config = s3.config();
    let app = crate::helpers::spawn_app_with(move |c| c.s3 = Some(config)).await;
    switchboard_core::demo::seed(&app.db, &app.clock).await.unwrap();
    let org = switchboard_core::tenancy::org_by_slug(&app.db, "demo").await.unwrap().unwrap().id;
    let key = app.api_key(org).await;
    let d = Demo { app, key, org };
    let id = d.job("J-2202").await["id"].as_i64().unwrap();
    let base = d.maria_on(id).await;
    let (content_type, body) = photo_form(PNG.to_vec(), "sink.png");
    let upload = || {
        d.app
            .client()
            .post(d.app.url(&format!("{base}/jobs/{id}/photos")))
            .header("content-type", content_type.clone())
            .body(body.clone())
            .send()
    };
    let r = upload().await.unwrap();
    assert_eq!(r.status(), 303);
    let keys = s3.keys();
    assert_eq!(keys.len(), 1, "stored in the bucket");
    assert!(keys[0].starts_with(&format!("photos/{}/{id}/", d.org.0)) && keys[0].ends_with(".png"), "{keys:?}");
    assert_eq!(s3.object(&keys[0]).unwrap(), (PNG.to_vec(), "image/png".to_string()));
    assert!(walk(d.app.data_dir.path()).is_empty(), "nothing on local disk");
    let photo = d.job("J-2202").await["photos"][0]["id"].as_i64().unwrap();
    let r = d.app.client().get(d.app.url(&format!("{base}/jobs/{id}/photos/{photo}"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);

    // The bucket is down: the upload fails clearly and no photo row is left behind.
    s3.fail_next(503);
    let r = upload().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("could not be stored right now"));
    assert_eq!(d.job("J-2202").await["photos"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_edit_made_on_an_old_copy_of_a_job_is_refused_with_who_changed_it_and_when() {
    let d = demo().await;
    let job = d.job("J-2202").await;
    let id = job["id"].as_i64().unwrap();
    let seen = job["version"].as_i64().unwrap();

    // Sam (the API here) moves the window; the other dispatcher still has the old version.
    let (status, moved) = d
        .patch(
            &format!("/api/v1/jobs/{id}"),
            json!({"version": seen, "scheduled_start": "2026-11-22T21:00:00Z", "scheduled_end": "2026-11-22T23:00:00Z"}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["job"]["version"], seen + 1);
    let (status, body) = d
        .patch(
            &format!("/api/v1/jobs/{id}"),
            json!({"version": seen, "scheduled_start": "2026-11-22T17:00:00Z", "scheduled_end": "2026-11-22T19:00:00Z"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "stale");
    // The demo's clock reads Sun Nov 22, 2026 in Denver; the change was made at that instant.
    let now = switchboard_core::clock::Clock::now(&d.app.clock);
    let at = now.to_zoned(jiff::tz::TimeZone::get("America/Denver").unwrap()).strftime("%-I:%M %p").to_string();
    assert_eq!(
        body["error"]["message"],
        format!(
            "J-2202 was changed by an API client at {at}, after you opened it. Nothing was saved: reload to see \
             the change, then make yours again."
        )
    );
    assert_eq!(body["error"]["changed_by"], "api");
    assert_eq!(body["error"]["changed_at"], now.to_string());
    assert_eq!(body["error"]["current_version"], seen + 1);
    let after = d.job("J-2202").await;
    assert_eq!(after["scheduled_start"], "2026-11-22T21:00:00Z", "the first change stands");
    assert_eq!(after["version"], seen + 1, "and nothing else was written");

    // Assigning on an old copy is refused the same way; with the current version it works.
    let maria = d.tech("Maria Reyes").await;
    let (status, body) =
        d.post(&format!("/api/v1/jobs/{id}/assign"), json!({"tech_ids": [maria], "version": seen})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("stale")));
    let (status, body) =
        d.post(&format!("/api/v1/jobs/{id}/assign"), json!({"tech_ids": [maria], "version": seen + 1})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["job"]["version"], seen + 2);
    // Without a version (older clients) an edit still applies.
    let (status, _) = d.patch(&format!("/api/v1/jobs/{id}"), json!({"internal_notes": "Gate code 4411"})).await;
    assert_eq!(status, 200);

    // On the page: a dispatcher who opened the job before those changes saves a new service.
    let admin = d.app.signed_in_demo().await;
    let r = admin
        .post_form(
            &format!("/jobs/{id}"),
            &[
                ("version", &seen.to_string()),
                ("orig_service", "Disposal install"),
                ("service", "Disposal and faucet install"),
            ],
        )
        .await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(html.contains("J-2202 was changed by an API client at"), "the reason is on the page");
    assert!(html.contains("Nothing was saved: reload to see the change, then make yours again."));
    assert_eq!(d.job("J-2202").await["service"], "Disposal install", "not saved");
}

#[tokio::test]
async fn a_board_move_changes_the_window_and_the_technician_together_or_not_at_all() {
    let d = demo().await;
    let admin = d.app.signed_in_demo().await;
    let job = d.job("J-2202").await;
    let id = job["id"].as_i64().unwrap();
    let (start, end) = (job["scheduled_start"].clone(), job["scheduled_end"].clone());
    let from = job["techs"][0]["id"].as_i64().unwrap();
    let jin = d.tech("Jin Park").await;
    // Jin left the company (his lane is still on this open board): the move onto his lane, at
    // a new time, is refused as a whole.
    sqlx::query("update technicians set active = 0 where id = $1").bind(jin).execute(d.app.db.pool()).await.unwrap();
    let drop_at: jiff::Timestamp = "2026-11-22T20:07:00Z".parse().unwrap();
    let moved = |to: i64, version: i64| {
        let (client, url, csrf) = (admin.client.clone(), d.app.url("/board/move"), admin.csrf.clone());
        async move {
            client
                .post(url)
                .header("x-csrf-token", csrf)
                .header("x-requested-with", "fetch")
                .form(&[
                    ("job", id.to_string()),
                    ("version", version.to_string()),
                    ("from_tech", from.to_string()),
                    ("to_tech", to.to_string()),
                    ("start_ms", drop_at.as_millisecond().to_string()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let version = job["version"].as_i64().unwrap();
    let r = moved(jin, version).await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.text().await.unwrap(), "Jin Park is not active");
    let after = d.job("J-2202").await;
    assert_eq!((after["scheduled_start"].clone(), after["scheduled_end"].clone()), (start, end), "window unchanged");
    assert_eq!(after["techs"][0]["id"], from);
    assert_eq!(after["version"], version, "nothing was written");
    let changes: (i64,) = sqlx::query_as("select count(*) from work_items where kind = 'job.changed'")
        .fetch_one(d.app.db.pool())
        .await
        .unwrap();

    // Onto Maria: window and technician in one change, one job.changed item.
    let maria = d.tech("Maria Reyes").await;
    let r = moved(maria, version).await;
    assert_eq!(r.status(), 204);
    let after = d.job("J-2202").await;
    assert_eq!(after["scheduled_start"], "2026-11-22T20:00:00Z");
    assert_eq!(after["techs"].as_array().unwrap().len(), 1);
    assert_eq!(after["techs"][0]["name"], "Maria Reyes");
    let now: (i64,) = sqlx::query_as("select count(*) from work_items where kind = 'job.changed'")
        .fetch_one(d.app.db.pool())
        .await
        .unwrap();
    assert_eq!(now.0 - changes.0, 1, "one change");
    // Maria's text carries the new time: the listener reads the job after the move committed.
    d.send_all().await;
    let texts = d.app.sms.sent_to(MARIA);
    let body = &texts.last().unwrap().body;
    assert!(
        body.starts_with(
            "Summit Home Services: you're on J-2202 (Disposal install) today, 1:00 PM-3:00 PM at 3902 Tennyson St, Denver, CO 80212. Your stops: http"
        ),
        "{body}"
    );

    // The same board, not reloaded, moves it again: refused, with who moved it.
    let r = moved(from, version).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().starts_with("J-2202 was changed by"), "who and when");
}

#[tokio::test]
async fn a_job_with_nobody_on_it_is_not_sent_on_the_way_from_the_page() {
    let d = demo().await;
    let admin = d.app.signed_in_demo().await;
    let job = d.job("J-2201").await;
    let id = job["id"].as_i64().unwrap();
    assert_eq!(job["techs"], serde_json::json!([]), "the demo's estimate has nobody on it");
    let r = admin.post_form(&format!("/jobs/{id}/status"), &[("to", "scheduled")]).await;
    assert_eq!(r.status(), 303);
    d.send_all().await;
    let sent = d.app.sms.messages().len();
    let r = admin.post_form(&format!("/jobs/{id}/status"), &[("to", "dispatched")]).await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            "<div class=\"alert error\" role=\"alert\">nobody is assigned to this job: assign a technician, then send them on the way</div>"
        ),
        "the reason is shown by the status buttons"
    );
    d.send_all().await;
    assert_eq!(d.job("J-2201").await["status"], "scheduled");
    let after: Vec<String> = d.app.sms.messages().iter().skip(sent).map(|m| m.body.clone()).collect();
    assert!(after.is_empty(), "nobody was told anyone is on the way: {after:?}");
}

#[tokio::test]
async fn canceling_asks_why_and_a_job_with_nobody_on_it_offers_no_dispatch() {
    let d = demo().await;
    let office = d.app.signed_in_demo().await;
    let job = d.job("J-2202").await;
    let id = job["id"].as_i64().unwrap();
    assert_eq!(job["status"], "scheduled");
    let (_, html) = office.get_text(&format!("/jobs/{id}")).await;
    assert!(html.contains(">Dispatch</button>"), "Dan is on it: {html}");
    assert!(html.contains("<summary class=\"button danger ghost small\">Cancel job…</summary>"), "{html}");
    assert!(html.contains("Why is it canceled?"));

    // Without a reason: refused in words, nothing changes.
    let r = office.post_form(&format!("/jobs/{id}/status"), &[("to", "canceled"), ("reason", "  ")]).await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(html.contains("Say why the job is canceled: the reason goes in its history."), "{html}");
    assert_eq!(d.job("J-2202").await["status"], "scheduled");
    // With one: canceled, and the reason is in the history.
    let r = office
        .post_form(&format!("/jobs/{id}/status"), &[("to", "canceled"), ("reason", "Customer fixed it himself")])
        .await;
    assert_eq!(r.status(), 303);
    let job = d.job("J-2202").await;
    assert_eq!(job["status"], "canceled");
    assert!(history_notes(&job).contains(&"Customer fixed it himself".to_string()), "{job}");

    // A scheduled job with nobody on it offers no Dispatch (it would be refused).
    let (_, all) = d.get("/api/v1/jobs?q=Sump").await;
    let code = all["jobs"][0]["code"].as_str().unwrap().to_string();
    let harbor = d.job(&code).await;
    assert_eq!((harbor["status"].as_str(), harbor["service"].as_str()), (Some("scheduled"), Some("Sump pump replace")));
    let (s, _) = d.post(&format!("/api/v1/jobs/{}/assign", harbor["id"]), json!({"tech_ids": []})).await;
    assert_eq!(s, 200);
    let (_, html) = office.get_text(&format!("/jobs/{}", harbor["id"])).await;
    assert!(!html.contains(">Dispatch</button>"), "{html}");
    assert!(html.contains(">Arrived</button>"), "the other moves stay");
}

#[tokio::test]
async fn the_office_edits_and_deactivates_a_technician() {
    let d = demo().await;
    let office = d.app.signed_in_demo().await;
    let maria = d.tech("Maria Reyes").await;
    let jin = d.tech("Jin Park").await;
    let (status, html) = office.get_text(&format!("/settings/technicians/{maria}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"name="phone" value="(720) 555-0122""#) && html.contains("Silver Ram ProMaster #7"),
        "{html}"
    );

    // Refused: the reason beside the field, what was typed kept.
    let path = format!("/settings/technicians/{maria}");
    let r = office
        .post_form(&path, &[("name", "Maria Reyes-Diaz"), ("phone", "12"), ("vehicle", "Red Van"), ("active", "on")])
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"value="Maria Reyes-Diaz""#) && html.contains(r#"value="Red Van""#), "{html}");
    assert!(html.contains(r#"id="phone-error""#), "{html}");
    // Saved: a national number is read by the organization's country.
    let r = office
        .post_form(
            &path,
            &[("name", "Maria Reyes-Diaz"), ("phone", "720 555 0199"), ("vehicle", "Red Van"), ("active", "on")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, body) = d.get("/api/v1/technicians").await;
    let m = body["technicians"].as_array().unwrap().iter().find(|t| t["id"] == maria).unwrap().clone();
    assert_eq!(
        (m["name"].as_str(), m["phone"].as_str(), m["vehicle"].as_str()),
        (Some("Maria Reyes-Diaz"), Some("+17205550199"), Some("Red Van"))
    );

    // Jin deactivated (the box unticked): listed as inactive, and put on no new job.
    let r = office
        .post_form(
            &format!("/settings/technicians/{jin}"),
            &[("name", "Jin Park"), ("phone", "+17205550123"), ("vehicle", "")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = office.get_text("/settings/technicians?done=saved").await;
    assert!(
        html.contains("Technician saved.") && html.contains(r#"Jin Park</a> <span class="badge">Inactive</span>"#),
        "{html}"
    );
    let job = d.job("J-2202").await;
    let (status, body) = d.post(&format!("/api/v1/jobs/{}/assign", job["id"]), json!({"tech_ids": [jin]})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("Jin Park is not active"), "{body}");
}

#[tokio::test]
async fn the_office_uploads_a_technicians_photo_and_customers_can_see_it() {
    let d = demo().await;
    let office = d.app.signed_in_demo().await;
    let maria = d.tech("Maria Reyes").await;
    let page = format!("/settings/technicians/{maria}");
    let upload = format!("{page}/photo");

    // Refused with the reason beside the field: not a photo, a photo browsers cannot show.
    let r = office.post_multipart(&upload, &[("photo", Some("notes.txt"), b"just text")]).await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text().await.unwrap().contains(
            r#"<span class="field-error" id="photo-error">that file is not a photo (JPEG, PNG or WebP)</span>"#
        )
    );
    let heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic";
    let r = office.post_multipart(&upload, &[("photo", Some("IMG_0001.HEIC"), heic)]).await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text().await.unwrap().contains("customers&#39; browsers cannot show HEIC: use a JPEG, PNG or WebP photo")
    );

    // A PNG: saved, on her profile, served publicly at an unguessable address.
    let r = office.post_multipart(&upload, &[("photo", Some("maria.png"), PNG)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("{page}?done=photo").as_str());
    let (_, html) = office.get_text(&format!("{page}?done=photo")).await;
    assert!(html.contains("Photo saved. Customers see it when this technician is on the way."));
    let (_, techs) = d.get("/api/v1/technicians").await;
    let url = techs["technicians"].as_array().unwrap().iter().find(|t| t["id"] == maria).unwrap()["photo_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(url.starts_with(&format!("/media/techs/{}/", d.org.0)) && url.ends_with(".png"), "{url}");
    assert!(html.contains(&format!(r#"<img class="avatar large" src="{url}" alt="Photo of Maria Reyes">"#)));
    let r = d.app.client().get(d.app.url(&url)).send().await.unwrap();
    assert_eq!(r.status(), 200, "no sign-in needed: the tracking page and emails show it");
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);

    // Replaced: the old address is gone; made-up addresses are not found.
    let r = office.post_multipart(&upload, &[("photo", Some("maria2.png"), PNG)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(d.app.client().get(d.app.url(&url)).send().await.unwrap().status(), 404);
    for bogus in [
        "/media/techs/1/short.png",
        "/media/techs/x/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.png",
        "/media/techs/1/..%2F..%2Fsb.db",
    ] {
        assert_eq!(d.app.client().get(d.app.url(bogus)).send().await.unwrap().status(), 404, "{bogus}");
    }
}

/// The lanes a board shows, by technician name, in order.
fn lane_names(html: &str) -> Vec<String> {
    html.split(r#"<div class="lane" data-lane=""#)
        .skip(1)
        .filter_map(|lane| {
            let start = lane.find("<strong>")? + "<strong>".len();
            Some(lane[start..start + lane[start..].find("</strong>")?].to_string())
        })
        .collect()
}

#[tokio::test]
async fn each_brands_board_shows_its_own_technicians_with_their_skills() {
    let d = demo().await;
    let office = d.app.signed_in_demo().await;
    let (_, brands) = d.get("/api/v1/brands").await;
    let brand = |name: &str| {
        brands["brands"].as_array().unwrap().iter().find(|b| b["name"] == name).unwrap()["id"].as_i64().unwrap()
    };
    let (summit, harbor) = (brand("Summit Home Services"), brand("Harbor Plumbing & Drain"));
    let (priya, dan) = (d.tech("Priya Raman").await, d.tech("Dan Okafor").await);

    // The API says who works where and what they can do.
    let (_, body) = d.get("/api/v1/technicians").await;
    let p = body["technicians"].as_array().unwrap().iter().find(|t| t["id"] == priya).unwrap().clone();
    assert_eq!(p["skills"], json!(["Sump pumps", "Sewer camera", "Backflow certified"]));
    assert_eq!(p["brand_ids"], json!([harbor]));

    let (_, html) = office.get_text(&format!("/board?brand={summit}")).await;
    assert_eq!(lane_names(&html), ["Dan Okafor", "Jin Park", "Maria Reyes"]);
    assert!(html.contains(r#"<small class="lane-skills" title="Furnace, Garage doors, Electrical">Furnace, Garage doors, Electrical</small>"#));
    assert!(!html.contains(&format!(r#"<option value="{priya}""#)), "Priya is not offered for Summit's jobs");
    let (_, html) = office.get_text(&format!("/board?brand={harbor}")).await;
    assert_eq!(lane_names(&html), ["Priya Raman"]);
    assert!(html.contains("Sump pumps, Sewer camera, Backflow certified"));

    // Edited: skills typed with commas, every brand (no box ticked).
    let (_, form) = office.get_text(&format!("/settings/technicians/{priya}")).await;
    assert!(form.contains(&format!(r#"name="brand" value="{harbor}" checked"#)), "{form}");
    assert!(form.contains(&format!(r#"name="brand" value="{summit}">"#)));
    assert!(form.contains(r#"name="skills" value="Sump pumps, Sewer camera, Backflow certified""#));
    let path = format!("/settings/technicians/{priya}");
    let too_long = "a".repeat(41);
    let r = office
        .post_form(
            &path,
            &[
                ("name", "Priya Raman"),
                ("phone", "+16175550151"),
                ("skills", &format!("Water heaters, {too_long}")),
                ("brand", &harbor.to_string()),
                ("brand", "12345678"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!(
            r#"<span class="field-error" id="skills-error">&#34;{too_long}&#34; is longer than 40 characters: write skills short, separated by commas</span>"#
        )),
        "{html}"
    );
    assert!(html.contains(&format!(r#"value="Water heaters, {too_long}""#)), "what was typed is kept");
    // A brand of another organization (or none) is refused, and nothing was saved.
    let r = office
        .post_form(
            &path,
            &[("name", "Priya Raman"), ("phone", "+16175550151"), ("brand", "12345678"), ("active", "on")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("pick brands of this organization"));
    let (_, body) = d.get("/api/v1/technicians").await;
    let p = body["technicians"].as_array().unwrap().iter().find(|t| t["id"] == priya).unwrap().clone();
    assert_eq!(p["brand_ids"], json!([harbor]), "the refused edit left her brands alone");

    let r = office
        .post_form(
            &path,
            &[
                ("name", "Priya Raman"),
                ("phone", "+16175550151"),
                ("skills", " Water heaters,, sump pumps;Water Heaters "),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, list) = office.get_text("/settings/technicians?done=saved").await;
    assert!(list.contains("<td>Water heaters, sump pumps</td>\n        <td>All brands</td>"), "{list}");
    assert!(list.contains("<td>Furnace, Garage doors, Electrical</td>\n        <td>Summit Home Services</td>"));
    let (_, html) = office.get_text(&format!("/board?brand={summit}")).await;
    assert_eq!(lane_names(&html), ["Dan Okafor", "Jin Park", "Maria Reyes", "Priya Raman"]);

    // Dan works for Summit only, but put on a Harbor job today he has a lane on Harbor's board.
    let (_, all) = d.get("/api/v1/jobs?q=Sump").await;
    let sump = all["jobs"][0]["id"].as_i64().unwrap();
    let (s, body) = d.post(&format!("/api/v1/jobs/{sump}/assign"), json!({"tech_ids": [dan]})).await;
    assert_eq!(s, 200, "{body}");
    let (_, html) = office.get_text(&format!("/board?brand={harbor}")).await;
    assert_eq!(lane_names(&html), ["Dan Okafor", "Priya Raman"]);
}

#[tokio::test]
async fn the_board_opens_on_the_brands_working_hours_and_shades_the_rest() {
    let d = demo().await;
    let office = d.app.signed_in_demo().await;
    let (_, brands) = d.get("/api/v1/brands").await;
    let summit = brands["brands"].as_array().unwrap().iter().find(|b| b["name"] == "Summit Home Services").unwrap();
    assert_eq!(
        summit["working_hours"],
        json!({"mon": "07:00-18:00", "tue": "07:00-18:00", "wed": "07:00-18:00", "thu": "07:00-18:00",
               "fri": "07:00-18:00", "sat": "08:00-17:00", "sun": "08:00-17:00"})
    );
    let id = summit["id"].as_i64().unwrap();

    // The test clock is Sunday 2026-11-22, 10:00 AM in Denver: Summit opens 8 to 5 on Sundays.
    let (_, html) = office.get_text(&format!("/board?brand={id}")).await;
    assert!(html.contains(r#"<span class="board-hours">Open 8:00 AM-5:00 PM</span>"#), "{html}");
    assert!(html.contains(r#"<span class="hour" style="left: 0.000%">8 AM</span>"#), "the day starts at opening");
    // Monday: 7 AM to 6 PM, nothing outside (no job is booked outside the hours).
    let (_, html) = office.get_text(&format!("/board?brand={id}&date=2026-11-23")).await;
    assert!(html.contains(r#"<span class="board-hours">Open 7:00 AM-6:00 PM</span>"#));
    assert!(html.contains(r#"<span class="hour" style="left: 0.000%">7 AM</span>"#));
    assert!(!html.contains(r#"class="off-hours""#), "{html}");

    // Closed on Sundays now: the whole day is shaded, the jobs still shown.
    let (s, body) = d
        .patch(
            &format!("/api/v1/brands/{id}"),
            json!({"working_hours": {"mon": "07:00-18:00", "tue": "07:00-18:00", "wed": "07:00-18:00",
                                     "thu": "07:00-18:00", "fri": "07:00-18:00", "sat": "09:00-13:00"}}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["brand"]["working_hours"]["sun"], Value::Null);
    assert_eq!(body["brand"]["working_hours"]["sat"], "09:00-13:00");
    let (_, html) = office.get_text(&format!("/board?brand={id}")).await;
    assert!(html.contains(r#"<span class="board-hours">Closed on Sundays</span>"#), "{html}");
    assert!(html.contains(r#"<span class="off-hours" style="left: 0.000%; width: 100.000%"></span>"#));
    assert!(html.contains("J-2202"), "the day's jobs are on the board");
    // Saturday 9 to 1: the lanes run from opening to closing.
    let (_, html) = office.get_text(&format!("/board?brand={id}&date=2026-11-28")).await;
    assert!(html.contains(r#"<span class="board-hours">Open 9:00 AM-1:00 PM</span>"#));
    assert!(html.contains(r#"<span class="hour" style="left: 75.000%">12 PM</span>"#), "{html}");

    // A day whose hours do not read is refused by name, and nothing changes.
    let (s, body) = d.patch(&format!("/api/v1/brands/{id}"), json!({"working_hours": {"mon": "17:00-08:00"}})).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "working_hours.mon");
    assert_eq!(
        body["error"]["fields"][0]["message"],
        "Monday: closes at 8:00 AM before it opens at 5:00 PM; hours that run past midnight go on the next day"
    );
    let (s, body) =
        d.patch(&format!("/api/v1/brands/{id}"), json!({"working_hours": {"someday": "08:00-09:00"}})).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_body");
    assert!(
        body["error"]["message"].as_str().unwrap().contains(
            "working_hours.someday: unknown field `someday`, expected one of `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun`"
        ),
        "{body}"
    );
    let (_, body) = d.get(&format!("/api/v1/brands/{id}")).await;
    assert_eq!(body["brand"]["working_hours"]["sat"], "09:00-13:00");
}

#[tokio::test]
async fn all_brands_at_once_each_in_its_own_zone_and_hours() {
    let d = demo().await;
    let office = d.app.signed_in_demo().await;
    // The demo admin's console shows all brands: so does the board, a section per brand.
    let (status, html) = office.get_text("/board").await;
    assert_eq!(status, 200);
    let (_, same) = office.get_text("/board?brand=all").await;
    assert_eq!(lane_names(&html), lane_names(&same));
    let sections: Vec<&str> = html.split(r#"<section class="brand-board""#).skip(1).collect();
    assert_eq!(sections.len(), 2, "{html}");
    // Brands in name order: Harbor (Boston), then Summit (Denver); the test clock is Sunday
    // 2026-11-22 at noon in Boston, 10 AM in Denver.
    assert!(sections[0].contains("Harbor Plumbing &#38; Drain · Today, Sun Nov 22</h2>"), "{}", sections[0]);
    assert!(sections[0].contains(r#"America/New_York · <span class="board-hours">Open 9:00 AM-5:00 PM</span>"#));
    assert!(sections[1].contains("Summit Home Services · Today, Sun Nov 22</h2>"));
    assert!(sections[1].contains(r#"America/Denver · <span class="board-hours">Open 8:00 AM-5:00 PM</span>"#));
    assert_eq!(lane_names(sections[0]), ["Priya Raman"]);
    assert_eq!(lane_names(sections[1]), ["Dan Okafor", "Jin Park", "Maria Reyes"]);
    // Each section's hours in its own zone: the lanes start at opening, local time.
    assert!(sections[0].contains(r#"<span class="hour" style="left: 0.000%">9 AM</span>"#));
    assert!(sections[1].contains(r#"<span class="hour" style="left: 0.000%">8 AM</span>"#));
    // Each job once, in its brand's section; the Move forms come back to the all-brands board.
    assert!(sections[0].contains("H-4101") && !sections[1].contains("H-4101"));
    assert!(sections[1].contains("J-2202") && !sections[0].contains("J-2202"));
    assert!(html.contains(r#"<input type="hidden" name="brand" value="all">"#));
    assert!(html.contains(r#"<a class="tab active" href="/board?brand=all" aria-current="true">All brands</a>"#));

    // One brand picked: only its section, its tab marked.
    let (_, brands) = d.get("/api/v1/brands").await;
    let summit =
        brands["brands"].as_array().unwrap().iter().find(|b| b["name"] == "Summit Home Services").unwrap()["id"]
            .as_i64()
            .unwrap();
    let (_, html) = office.get_text(&format!("/board?brand={summit}")).await;
    assert_eq!(html.matches(r#"<section class="brand-board""#).count(), 1);
    assert!(html.contains("<h2 id=\"board-title-"), "{html}");
    assert!(!html.contains("Summit Home Services · Today"), "one brand needs no name in the heading");
    // Another day for every brand at once.
    let (_, html) = office.get_text("/board?brand=all&date=2026-11-23").await;
    assert!(html.contains("Harbor Plumbing &#38; Drain · Monday, Nov 23, 2026</h2>"), "{html}");
    assert!(html.contains("Summit Home Services · Monday, Nov 23, 2026</h2>"));
    assert!(html.contains(r#"<span class="board-hours">Open 7:00 AM-7:00 PM</span>"#));
}

/// A job at one of the customer's service locations tells the technician which one and how
/// to get in (the demo's landlord has a duplex with a lockbox).
#[tokio::test]
async fn the_technician_sees_the_location_and_how_to_get_in() {
    let d = demo().await;
    let (_, body) = d.get("/api/v1/customers?q=Sam%20Greene").await;
    let sam = &body["customers"][0];
    let unit_a = sam["locations"].as_array().unwrap().iter().find(|l| l["label"] == "Duplex, unit A").unwrap();
    let (_, brands) = d.get("/api/v1/brands").await;
    let summit = brands["brands"].as_array().unwrap().iter().find(|b| b["name"] == "Summit Home Services").unwrap();
    let (status, body) = d
        .post(
            "/api/v1/jobs",
            json!({"brand_id": summit["id"], "customer_id": sam["id"], "service": "Leaking tap", "service_location_id": unit_a["id"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["job"]["id"].as_i64().unwrap();
    let base = d.maria_on(id).await;
    let (status, html) = d.page(&format!("{base}/jobs/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("<span>Duplex, unit A: 2231 S Downing St, Denver, CO 80210</span>"), "{html}");
    assert!(
        html.contains(
            r#"<div class="portal-notes"><strong>Getting in</strong><p>Lockbox on the back door: 4417.</p></div>"#
        ),
        "{html}"
    );
}

/// The cell of the week view for `who` (a technician, or "Unassigned") on `day`.
fn week_cell<'a>(html: &'a str, who: &str, day: &str) -> &'a str {
    let label = format!(r#"aria-label="{who}, {day}">"#);
    let from = html.find(&label).unwrap_or_else(|| panic!("a cell {label} in {html}")) + label.len();
    &html[from..from + html[from..].find("</td>").unwrap()]
}

#[tokio::test]
async fn the_week_view_shows_each_technicians_days_and_moves_a_job_to_another_day_at_the_same_time() {
    let d = demo().await;
    let admin = d.app.signed_in_demo().await;
    let summit = d.job("J-2202").await["brand_id"].as_i64().unwrap();
    // The demo's today is Sunday, Nov 22: its week runs from Monday the 16th.
    let (status, html) = admin.get_text(&format!("/board?brand={summit}&date=2026-11-22&view=week")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Nov 16-22, 2026"), "{html}");
    assert!(html.contains(r#"<th scope="col" class="today"><a href="/board?brand="#), "today's column is marked");
    assert!(html.contains(r#">Sun 22<span class="visually-hidden"> Nov, today: open this day</span></a>"#), "{html}");
    assert!(
        html.contains(&format!(r#"href="/board?brand={summit}&date=2026-11-15&view=week" aria-label="Previous week""#))
            && html
                .contains(&format!(r#"href="/board?brand={summit}&date=2026-11-29&view=week" aria-label="Next week""#)),
        "{html}"
    );
    assert!(week_cell(&html, "Dan Okafor", "Sunday, Nov 22").contains("J-2202"), "Dan's Sunday");
    assert!(week_cell(&html, "Jin Park", "Saturday, Nov 21").contains("J-2199"), "yesterday's job on Saturday");
    assert!(!week_cell(&html, "Dan Okafor", "Friday, Nov 20").contains("job-block"), "nothing on Friday");
    assert!(!html.contains("J-2201"), "Monday the 23rd is next week");
    assert!(!html.contains("Not scheduled yet"), "the demo has no unscheduled work");

    // Dragged onto Jin's Friday: the same 4:00-6:00 PM in Denver, now Jin's.
    let dan = d.tech("Dan Okafor").await;
    let jin = d.tech("Jin Park").await;
    let j2202 = d.job("J-2202").await["id"].as_i64().unwrap();
    let drag = |fields: Vec<(&'static str, String)>| {
        let r = admin
            .client
            .post(d.app.url("/board/move"))
            .header("x-csrf-token", &admin.csrf)
            .header("x-requested-with", "fetch")
            .form(&fields)
            .send();
        async move {
            let r = r.await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, body) = drag(vec![
        ("job", j2202.to_string()),
        ("from_tech", dan.to_string()),
        ("to_tech", jin.to_string()),
        ("day", "2026-11-20".into()),
    ])
    .await;
    assert_eq!(status, 204, "{body}");
    let job = d.job("J-2202").await;
    assert_eq!(
        (job["scheduled_start"].as_str(), job["scheduled_end"].as_str(), job["techs"][0]["name"].as_str()),
        (Some("2026-11-20T23:00:00Z"), Some("2026-11-21T01:00:00Z"), Some("Jin Park"))
    );
    let (_, html) = admin.get_text(&format!("/board?brand={summit}&date=2026-11-22&view=week")).await;
    assert!(week_cell(&html, "Jin Park", "Friday, Nov 20").contains("J-2202"), "{html}");
    assert!(!week_cell(&html, "Dan Okafor", "Sunday, Nov 22").contains("J-2202"));

    // Work with no window waits below the week; dropped on a day it starts when the brand opens.
    let customer = job["customer_id"].as_i64().unwrap();
    let (status, body) = d
        .post("/api/v1/jobs", json!({"brand_id": summit, "customer_id": customer, "service": "Estimate - attic fan"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let (id, code) = (body["job"]["id"].as_i64().unwrap(), body["job"]["code"].as_str().unwrap().to_string());
    let (_, html) = admin.get_text(&format!("/board?brand={summit}&date=2026-11-22&view=week")).await;
    let waiting = &html[html.find("Not scheduled yet").expect("the unscheduled list")..];
    assert!(waiting.contains(&code), "{waiting}");
    // By the keyboard's Move form (no script): Tuesday, back to the week.
    let maria = d.tech("Maria Reyes").await;
    let r = admin
        .post_form(
            "/board/move",
            &[
                ("job", &id.to_string()),
                ("from_tech", ""),
                ("to_tech", &maria.to_string()),
                ("day", "2026-11-17"),
                ("date", "2026-11-22"),
                ("brand", &summit.to_string()),
                ("view", "week"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/board?date=2026-11-22&brand={summit}&view=week").as_str());
    let job = d.job(&code).await;
    // Summit opens at 7:00 AM on weekdays (MST, UTC-7).
    assert_eq!(
        (job["scheduled_start"].as_str(), job["scheduled_end"].as_str(), job["status"].as_str()),
        (Some("2026-11-17T14:00:00Z"), Some("2026-11-17T16:00:00Z"), Some("scheduled"))
    );
    assert_eq!(job["techs"][0]["name"], "Maria Reyes");

    // A day that is not one is refused, saying so; nothing moves.
    let (status, body) = drag(vec![
        ("job", id.to_string()),
        ("from_tech", maria.to_string()),
        ("to_tech", maria.to_string()),
        ("day", "2026-13-01".into()),
    ])
    .await;
    assert_eq!((status, body.as_str()), (422, "\"2026-13-01\" is not a date like 2026-11-23"));
    assert_eq!(d.job(&code).await["scheduled_start"], "2026-11-17T14:00:00Z");
}
