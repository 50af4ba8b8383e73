//! Settings -> Notifications: per brand and kind, SMS and email on or off, templates checked
//! by name, a live preview with segment counts, reminder time and quiet hours.

use switchboard_core::notifications::Kind;
use switchboard_core::notifications::settings;

use crate::helpers::spawn_app;

#[tokio::test]
async fn templates_are_checked_previewed_and_saved_per_brand() {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    let texting = app.sms_brand(org, "Acme Air", "+17205550100").await;
    let silent = app.brand(org, "Acme Plumbing").await;
    let browser = app.signed_in(&admin.email).await;

    let (status, page) = browser.get_text(&format!("/settings/notifications?brand={}", texting.id)).await;
    assert_eq!(status, 200);
    for label in ["Booking confirmation", "Day-of reminder", "On the way", "Unpaid invoice"] {
        assert!(page.contains(label), "{label}");
    }
    assert!(page.contains("Texts go out from (720) 555-0100"), "the green check");
    let (_, page) = browser.get_text(&format!("/settings/notifications?brand={}", silent.id)).await;
    assert!(page.contains("has no SMS number"), "the red warning");

    // SMS cannot be turned on without a number; nothing is saved.
    let r = browser
        .post_form(
            &format!("/settings/notifications/{}/confirmation", silent.id),
            &[
                ("sms_enabled", "1"),
                ("sms_template", "Hi {customerFirstName}"),
                ("email_subject", "Booked"),
                ("email_template", "Hi"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Acme Plumbing has no SMS number yet"));
    let kinds = settings::kinds(&app.db, org, silent.id).await.unwrap();
    assert!(!kinds[0].sms_enabled);

    // An unknown merge field is refused by name, and the typed text comes back.
    let r = browser
        .post_form(
            &format!("/settings/notifications/{}/on_the_way", texting.id),
            &[
                ("sms_enabled", "1"),
                ("sms_template", "Hi {customerFristName}, {techName} is coming"),
                ("email_subject", "x"),
                ("email_template", "y"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("{customerFristName} is not a merge field"), "{html}");
    assert!(html.contains("Hi {customerFristName}, {techName} is coming"), "the text stays in the editor");

    // A good one is saved and shows on the page.
    let r = browser
        .post_form(
            &format!("/settings/notifications/{}/on_the_way", texting.id),
            &[
                ("sms_enabled", "1"),
                ("email_enabled", "1"),
                ("sms_template", "{techName} is on the way: {trackingUrl}"),
                ("email_subject", "{techName} is on the way"),
                ("email_template", "Hi {customerFirstName}, {techName} is coming."),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let kinds = settings::kinds(&app.db, org, texting.id).await.unwrap();
    let otw = kinds.iter().find(|k| k.kind == Kind::OnTheWay).unwrap();
    assert!(otw.sms_enabled && otw.email_enabled);
    assert_eq!(otw.sms_template, "{techName} is on the way: {trackingUrl}");
    let others: Vec<_> = kinds.iter().filter(|k| k.kind != Kind::OnTheWay).collect();
    assert!(
        others.iter().all(|k| **k == settings::KindSettings::defaults(k.kind)),
        "other kinds untouched (technicians' texts on, customers' off): {others:?}"
    );
    // Technicians' texts are on, customers' off, except unpaid-invoice reminders (their
    // schedule is the brand's billing settings).
    assert!(others.iter().all(|k| k.sms_enabled
        == (k.kind.audience() == switchboard_core::notifications::Audience::Technician
            || k.kind == Kind::InvoiceNudge)));
    let other_brand = settings::kinds(&app.db, org, silent.id).await.unwrap();
    assert!(other_brand.iter().all(|k| !k.email_enabled || k.kind == Kind::InvoiceNudge), "per brand");

    // The live preview renders sample data and counts segments.
    let r = browser
        .post_form(
            "/settings/notifications/preview",
            &[("brand", &texting.id.to_string()), ("sms_template", "Hi {customerFirstName} from {brandName}")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Hi Tara from Acme Air") && html.contains("1 segment"), "{html}");
    let long = format!("{} {{techName}} 🚐", "x".repeat(70));
    let r = browser
        .post_form("/settings/notifications/preview", &[("brand", &texting.id.to_string()), ("sms_template", &long)])
        .await;
    let html = r.text().await.unwrap();
    assert!(html.contains("2 segments") && html.contains("Unicode"), "{html}");
    let r = browser
        .post_form("/settings/notifications/preview", &[("brand", &texting.id.to_string()), ("sms_template", "{nope}")])
        .await;
    assert!(r.text().await.unwrap().contains("{nope} is not a merge field"));

    // The default reminder previews as it is sent: on the day, times without a date.
    let reminder = switchboard_core::notifications::Kind::Reminder.default_sms();
    let r = browser
        .post_form("/settings/notifications/preview", &[("brand", &texting.id.to_string()), ("sms_template", reminder)])
        .await;
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            "Reminder from Acme Air: we&#39;ll see you today between 2:00 PM and 4:00 PM for your AC diagnose."
        ),
        "{html}"
    );
}

#[tokio::test]
async fn the_preview_can_use_a_real_job_of_the_brand() {
    let app = spawn_app().await;
    let (org, _, summit) = app.seed_demo().await;
    let browser = app.signed_in_demo().await;
    let jobs = switchboard_core::jobs::list(&app.db, org, &Default::default()).await.unwrap();
    let ours = jobs.iter().find(|j| j.brand_id == summit && j.status.is_open() && !j.techs.is_empty()).unwrap();
    let theirs = jobs.iter().find(|j| j.brand_id != summit).unwrap();
    let first = ours.customer_name.split_whitespace().next().unwrap();

    let (status, page) = browser.get_text(&format!("/settings/notifications?brand={}&job={}", summit, ours.id)).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("<option value=\"{}\" selected>{}", ours.id, ours.code)), "the job is picked");
    assert!(page.contains(&format!("Hi {first}, your {} with Summit Home Services", ours.service)), "{page}");
    assert!(page.contains(&format!("({})", ours.code)), "the job's code in the confirmation");

    // The live preview as the template is typed uses it too.
    let r = browser
        .post_form(
            "/settings/notifications/preview",
            &[
                ("brand", &summit.to_string()),
                ("preview_job", &ours.id.to_string()),
                ("sms_template", "{customerName}: {jobCode}, {techName}"),
            ],
        )
        .await;
    let html = r.text().await.unwrap();
    let tech = ours.techs[0].first_name();
    assert!(html.contains(&format!("{}: {}, {tech}", ours.customer_name, ours.code)), "{html}");

    // Another brand's job is not shown here: sample data instead.
    let (_, page) = browser.get_text(&format!("/settings/notifications?brand={}&job={}", summit, theirs.id)).await;
    assert!(page.contains("Hi Tara, your AC diagnose"), "sample data");
    assert!(!page.contains(&theirs.code), "nothing of the other brand's job");
}

#[tokio::test]
async fn reminder_time_and_quiet_hours_are_saved_and_checked() {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    let brand = app.sms_brand(org, "Acme Air", "+17205550100").await;
    let browser = app.signed_in(&admin.email).await;
    let path = format!("/settings/notifications/{}/prefs", brand.id);
    let r =
        browser.post_form(&path, &[("reminder_time", "06:30"), ("quiet_start", "20:00"), ("quiet_end", "07:30")]).await;
    assert_eq!(r.status(), 303);
    let p = settings::prefs(&app.db, org, brand.id).await.unwrap();
    assert_eq!(p.reminder_time.to_string(), "06:30:00");
    let q = p.quiet.unwrap();
    assert_eq!((q.start.to_string(), q.end.to_string()), ("20:00:00".into(), "07:30:00".into()));
    assert!(!p.limit_multi_tech, "unchecked box: off");
    for (fields, why) in [
        (vec![("reminder_time", "06:30"), ("quiet_start", "20:00")], "both ends"),
        (vec![("reminder_time", "later")], "is not a time"),
        (vec![("reminder_time", "06:30"), ("quiet_start", "20:00"), ("quiet_end", "20:00")], "different times"),
    ] {
        let r = browser.post_form(&path, &fields).await;
        assert_eq!(r.status(), 422, "{why}");
        assert!(r.text().await.unwrap().contains(why), "{why}");
    }
    assert_eq!(settings::prefs(&app.db, org, brand.id).await.unwrap(), p, "refused input changes nothing");

    // Dispatchers see settings only if admins; another org's brand is not reachable.
    app.user(org, "disp@acme.example.com", "dispatcher").await;
    let dispatcher = app.signed_in("disp@acme.example.com").await;
    assert_eq!(dispatcher.get("/settings/notifications").await.status(), 403);
    let (other, _) = app.org_with_admin("rival").await;
    let theirs = app.brand(other, "Rival Air").await;
    assert_eq!(browser.get(&format!("/settings/notifications?brand={}", theirs.id)).await.status(), 404);
    let r =
        browser.post_form(&format!("/settings/notifications/{}/prefs", theirs.id), &[("reminder_time", "05:00")]).await;
    assert_eq!(r.status(), 404);
}

mod sending {
    use std::collections::HashMap;

    use jiff::SignedDuration;
    use serde_json::{Value, json};
    use switchboard_core::notifications::Kind;
    use switchboard_core::notifications::settings::{self, KindInput};

    use crate::helpers::{TestApp, json, spawn_app};

    const TARA: &str = "+17205550132";

    async fn demo() -> (TestApp, String, switchboard_core::ids::OrgId, i64) {
        let app = spawn_app().await;
        let (org, key, summit) = app.seed_demo().await;
        // Texts only: the demo emails too.
        for kind in [Kind::Confirmation, Kind::Reminder, Kind::OnTheWay] {
            let input = KindInput {
                sms_enabled: true,
                email_enabled: false,
                sms_template: kind.default_sms().into(),
                email_subject: kind.default_email_subject().into(),
                email_template: kind.default_sms().into(),
            };
            settings::save_kind(&app.db, &app.clock, org, summit, kind, &input).await.unwrap();
        }
        (app, key, org, summit.0)
    }

    async fn run_engine(app: &TestApp) {
        for _ in 0..6 {
            app.engine.tick().await.unwrap();
            app.clock.advance(SignedDuration::from_secs(2));
        }
    }

    async fn book(app: &TestApp, key: &str, brand: i64, start: &str, end: &str) -> Value {
        let (_, c) = json(
            app.client()
                .get(app.url(&format!("/api/v1/customers?phone=%2B{}", &TARA[1..])))
                .bearer_auth(key)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let customer = c["customers"][0]["id"].as_i64().unwrap();
        let (status, body) = json(
            app.client()
                .post(app.url("/api/v1/jobs"))
                .bearer_auth(key)
                .json(&json!({"brand_id": brand, "customer_id": customer, "service": "AC tune-up",
                              "scheduled_start": start, "scheduled_end": end}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        body["job"].clone()
    }

    #[tokio::test]
    async fn a_confirmation_names_the_day_today_tomorrow_or_by_date() {
        let (app, key, _org, summit) = demo().await;
        // The demo's clock is Sun Nov 22 in Denver. Today 2:00-4:00 PM, then Tue Nov 24 9-11 AM.
        let today = book(&app, &key, summit, "2026-11-22T21:00:00Z", "2026-11-22T23:00:00Z").await;
        run_engine(&app).await;
        let later = book(&app, &key, summit, "2026-11-24T16:00:00Z", "2026-11-24T18:00:00Z").await;
        run_engine(&app).await;
        let bodies: Vec<String> = app.sms.sent_to(TARA).into_iter().map(|m| m.body).collect();
        assert_eq!(
            bodies,
            [
                format!(
                    "Hi Tara, your AC tune-up with Summit Home Services is booked for today, 2:00 PM-4:00 PM ({}). Questions? Call (720) 555-0100.",
                    today["code"].as_str().unwrap()
                ),
                format!(
                    "Hi Tara, your AC tune-up with Summit Home Services is booked for Tue Nov 24, 9:00 AM-11:00 AM ({}). Questions? Call (720) 555-0100.",
                    later["code"].as_str().unwrap()
                ),
            ]
        );
    }

    #[tokio::test]
    async fn a_booking_is_confirmed_reminded_on_the_day_and_announced_on_dispatch() {
        let (app, key, _org, summit) = demo().await;
        // Tomorrow (Mon Nov 23) 10:00-12:00 in Denver.
        let job = book(&app, &key, summit, "2026-11-23T17:00:00Z", "2026-11-23T19:00:00Z").await;
        run_engine(&app).await;
        let texts = app.sms.sent_to(TARA);
        assert_eq!(texts.len(), 1, "one confirmation");
        assert_eq!(
            texts[0].body,
            format!(
                "Hi Tara, your AC tune-up with Summit Home Services is booked for tomorrow, Mon Nov 23, 10:00 AM-12:00 PM ({}). Questions? Call (720) 555-0100.",
                job["code"].as_str().unwrap()
            )
        );

        // The day-of reminder waits for 8:00 AM Denver (the default) on Nov 23 (15:00Z).
        app.clock.set("2026-11-23T14:59:00Z".parse().unwrap());
        run_engine(&app).await;
        assert_eq!(app.sms.sent_to(TARA).len(), 1, "not before 8:00");
        app.clock.set("2026-11-23T15:00:00Z".parse().unwrap());
        run_engine(&app).await;
        let texts = app.sms.sent_to(TARA);
        assert_eq!(texts.len(), 2);
        assert!(
            texts[1]
                .body
                .starts_with("Reminder from Summit Home Services: we'll see you today between 10:00 AM and 12:00 PM"),
            "{}",
            texts[1].body
        );

        // Dispatching tells the customer who is coming.
        let id = job["id"].as_i64().unwrap();
        let (_, techs) =
            json(app.client().get(app.url("/api/v1/technicians")).bearer_auth(&key).send().await.unwrap()).await;
        let maria =
            techs["technicians"].as_array().unwrap().iter().find(|t| t["name"] == "Maria Reyes").unwrap()["id"].clone();
        app.client()
            .post(app.url(&format!("/api/v1/jobs/{id}/assign")))
            .bearer_auth(&key)
            .json(&json!({"tech_ids": [maria]}))
            .send()
            .await
            .unwrap();
        let r = app
            .client()
            .post(app.url(&format!("/api/v1/jobs/{id}/status")))
            .bearer_auth(&key)
            .json(&json!({"status": "dispatched"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        run_engine(&app).await;
        let texts = app.sms.sent_to(TARA);
        assert_eq!(texts.len(), 3);
        assert!(texts[2].body.starts_with("Maria from Summit Home Services is on the way"), "{}", texts[2].body);
        let (_, detail) =
            json(app.client().get(app.url(&format!("/api/v1/jobs/{id}"))).bearer_auth(&key).send().await.unwrap())
                .await;
        let notes: Vec<&str> =
            detail["job"]["history"].as_array().unwrap().iter().filter_map(|e| e["note"].as_str()).collect();
        for n in [
            "Booking confirmation texted to the customer",
            "Day-of reminder texted to the customer",
            "On the way texted to the customer",
        ] {
            assert!(notes.contains(&n), "{n}: {notes:?}");
        }
        // The job lists them with their delivery status from the provider's callbacks.
        app.sms.settle(std::time::Duration::from_secs(5)).await.unwrap();
        let org = switchboard_core::tenancy::org_by_slug(&app.db, "demo").await.unwrap().unwrap().id;
        let sent = switchboard_core::messaging::for_job(&app.db, org, switchboard_core::ids::JobId(id)).await.unwrap();
        assert_eq!(sent.len(), 3);
        assert!(sent.iter().all(|m| m.status == switchboard_core::messaging::MessageStatus::Delivered), "{sent:?}");
    }

    #[tokio::test]
    async fn a_rescheduled_job_gets_the_new_reminder_only_and_quiet_hours_hold_texts() {
        let (app, key, _org, summit) = demo().await;
        // Booked at 10 PM Denver (quiet hours until 8 AM) for the day after tomorrow.
        app.clock.set("2026-11-23T05:00:00Z".parse().unwrap());
        let job = book(&app, &key, summit, "2026-11-24T17:00:00Z", "2026-11-24T19:00:00Z").await;
        run_engine(&app).await;
        assert!(app.sms.sent_to(TARA).is_empty(), "held during quiet hours");
        app.clock.set("2026-11-23T15:00:00Z".parse().unwrap());
        run_engine(&app).await;
        assert_eq!(app.sms.sent_to(TARA).len(), 1, "sent at 8 AM");

        // Moved from Tue to Wed: the customer is told the new window, and Tuesday's reminder is dropped.
        let id = job["id"].as_i64().unwrap();
        let r = app
            .client()
            .patch(app.url(&format!("/api/v1/jobs/{id}")))
            .bearer_auth(&key)
            .json(&json!({"scheduled_start": "2026-11-25T17:00:00Z", "scheduled_end": "2026-11-25T19:00:00Z"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        run_engine(&app).await;
        let texts = app.sms.sent_to(TARA);
        assert_eq!(texts.len(), 2);
        assert_eq!(
            texts[1].body,
            format!(
                "Hi Tara, your AC tune-up with Summit Home Services has moved to Wed Nov 25, 10:00 AM-12:00 PM ({}). Questions? Call (720) 555-0100.",
                job["code"].as_str().unwrap()
            )
        );
        app.clock.set("2026-11-24T15:00:00Z".parse().unwrap());
        run_engine(&app).await;
        assert_eq!(app.sms.sent_to(TARA).len(), 2, "no reminder on the old day");
        app.clock.set("2026-11-25T15:00:00Z".parse().unwrap());
        run_engine(&app).await;
        assert_eq!(app.sms.sent_to(TARA).len(), 3, "the reminder on the new day");
    }

    #[tokio::test]
    async fn customers_who_opted_out_are_not_texted() {
        let (app, key, _org, summit) = demo().await;
        let code = app.sms.reply(TARA, "+17205550100", "STOP").await.unwrap();
        assert_eq!(code, 200);
        run_engine(&app).await;
        let before = app.sms.sent_to(TARA).len();
        book(&app, &key, summit, "2026-11-23T17:00:00Z", "2026-11-23T19:00:00Z").await;
        run_engine(&app).await;
        assert_eq!(app.sms.sent_to(TARA).len(), before, "nothing reaches the phone");
        let (_, msgs) = json(
            app.client()
                .get(app.url(&format!("/api/v1/messages?address=%2B{}", &TARA[1..])))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let suppressed = msgs["messages"].as_array().unwrap().iter().filter(|m| m["status"] == "suppressed").count();
        assert_eq!(suppressed, 1, "the confirmation is recorded as suppressed: {msgs}");
    }

    #[tokio::test]
    async fn the_on_the_way_text_links_a_tracking_page_that_shows_distance_once_the_address_is_verified() {
        let (app, key, org, summit) = demo().await;
        let job = book(&app, &key, summit, "2026-11-22T18:00:00Z", "2026-11-22T20:00:00Z").await;
        let id = job["id"].as_i64().unwrap();
        let api = |path: String, body: Value| app.client().post(app.url(&path)).bearer_auth(&key).json(&body).send();
        let (_, techs) =
            json(app.client().get(app.url("/api/v1/technicians")).bearer_auth(&key).send().await.unwrap()).await;
        let tech = |name: &str| {
            techs["technicians"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()["id"].clone()
        };
        api(format!("/api/v1/jobs/{id}/assign"), json!({"tech_ids": [tech("Maria Reyes")]})).await.unwrap();
        api(format!("/api/v1/jobs/{id}/status"), json!({"status": "dispatched"})).await.unwrap();
        run_engine(&app).await;
        let texts = app.sms.sent_to(TARA);
        let otw = texts.iter().find(|m| m.body.contains("is on the way")).expect("the on-the-way text");
        assert!(otw.body.contains("arriving soon"), "no ETA yet without a verified address: {}", otw.body);
        let link = otw.body.split_whitespace().find(|w| w.contains("/t/")).expect("a tracking link").to_string();
        let path = link.strip_prefix(&app.base).unwrap().to_string();
        let client = app.client();
        let base = app.base.clone();
        let page = |p: String| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let r = client.get(format!("{base}{p}")).send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let (status, html) = page(path.clone()).await;
        assert_eq!(status, 200);
        assert!(
            html.contains("Maria is on the way") && html.contains("★ 4.7") && html.contains("Silver Ram ProMaster #7"),
            "{html}"
        );
        assert!(html.contains("Heading to") && html.contains("2216 W 32nd Ave"), "unverified: destination only");
        assert!(!html.contains("Arriving"), "no ETA without a verified address");

        // Verified address + Maria's phone 10 km away: distance and ETA.
        let r = app
            .client()
            .patch(app.url(&format!("/api/v1/jobs/{id}")))
            .bearer_auth(&key)
            .json(&json!({"location": {"lat": 39.7622, "lon": -105.0155}, "location_verified": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let maria = switchboard_core::ids::TechnicianId(tech("Maria Reyes").as_i64().unwrap());
        let here = switchboard_core::jobs::GeoPoint::new(39.7622 - 0.0899, -105.0155).unwrap();
        switchboard_core::technicians::share_location(&app.db, &app.clock, org, maria, here, Some(10)).await.unwrap();
        let (_, html) = page(path.clone()).await;
        assert!(html.contains("6.2 mi"), "{html}");
        // 10 km straight, 13 km by road at 40 km/h: 20 minutes after 10:00:12 AM Denver.
        assert!(html.contains("Arriving") && html.contains("about 10:20 AM"), "{html}");

        // A technician under 4 stars is shown without a rating; a finished job's link stops working.
        // (Put on instead of Maria, Jin is on the way once sent.)
        api(format!("/api/v1/jobs/{id}/assign"), json!({"tech_ids": [tech("Jin Park")]})).await.unwrap();
        let r = api(format!("/api/v1/jobs/{id}/status"), json!({"status": "dispatched"})).await.unwrap();
        assert_eq!(r.status(), 200);
        let (_, html) = page(path.clone()).await;
        assert!(html.contains("Jin is on the way") && !html.contains("★"), "{html}");
        for status in ["on_site", "pending_close", "completed"] {
            api(format!("/api/v1/jobs/{id}/status"), json!({"status": status})).await.unwrap();
        }
        let (status, html) = page(path).await;
        assert_eq!(status, 404);
        assert!(html.contains("This link isn"));
        assert_eq!(page("/t/not-a-token".into()).await.0, 404);
    }

    /// The portal link texted to a technician's phone, as a path.
    fn portal_path(app: &TestApp, phone: &str) -> String {
        let texts = app.sms.sent_to(phone);
        let link = texts
            .iter()
            .rev()
            .flat_map(|m| m.body.split_whitespace())
            .find(|w| w.contains("/p/"))
            .expect("a portal link was texted")
            .trim_end_matches('.')
            .to_string();
        link.strip_prefix(&app.base).unwrap().to_string()
    }

    #[tokio::test]
    async fn a_second_technician_on_a_working_site_does_not_notify_until_everyone_has_left() {
        let (app, key, org, summit) = demo().await;
        let job = book(&app, &key, summit, "2026-11-22T18:00:00Z", "2026-11-22T20:00:00Z").await;
        let id = job["id"].as_i64().unwrap();
        let (_, techs) =
            json(app.client().get(app.url("/api/v1/technicians")).bearer_auth(&key).send().await.unwrap()).await;
        let tech = |name: &str| {
            techs["technicians"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()["id"].clone()
        };
        let r = app
            .client()
            .post(app.url(&format!("/api/v1/jobs/{id}/assign")))
            .bearer_auth(&key)
            .json(&json!({"tech_ids": [tech("Maria Reyes"), tech("Jin Park")]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        run_engine(&app).await;
        let maria = portal_path(&app, "+17205550122");
        let jin = portal_path(&app, "+17205550123");
        let step = |who: &String, to: &str| {
            let (client, url) = (app.client(), app.url(&format!("{who}/jobs/{id}/status")));
            let to = to.to_string();
            async move {
                let r = client.post(url).form(&[("to", to.as_str())]).send().await.unwrap();
                assert_eq!(r.status(), 303, "{to}: {}", r.text().await.unwrap());
            }
        };
        let on_the_way = || {
            app.sms
                .sent_to(TARA)
                .into_iter()
                .filter(|m| m.body.contains("is on the way"))
                .map(|m| m.body.split_whitespace().next().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        let status = || async {
            let (_, d) =
                json(app.client().get(app.url(&format!("/api/v1/jobs/{id}"))).bearer_auth(&key).send().await.unwrap())
                    .await;
            d["job"]["status"].as_str().unwrap().to_string()
        };

        // Maria leaves first: the customer hears about her, and the job is en route.
        step(&maria, "dispatched").await;
        run_engine(&app).await;
        assert_eq!(on_the_way(), ["Maria"]);
        assert_eq!(status().await, "dispatched");
        // Jin follows while Maria is driving: limited (the default), no second message.
        step(&jin, "dispatched").await;
        run_engine(&app).await;
        assert_eq!(on_the_way(), ["Maria"]);
        // Each sees the crew on the job in their portal.
        let html = app.client().get(app.url(&format!("{jin}/jobs/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("<span>You</span><span class=\"work work-en_route\">En route</span>"), "{html}");
        assert!(html.contains("<span>Maria Reyes</span><span class=\"work work-en_route\">En route</span>"));
        assert!(html.contains(">Arrived</button>") && !html.contains(">On my way</button>"), "Jin's own next step");
        // Both arrive; Maria finishing leaves the job on site while Jin works.
        step(&maria, "on_site").await;
        step(&jin, "on_site").await;
        step(&maria, "pending_close").await;
        assert_eq!(status().await, "on_site", "Jin is still working");
        step(&jin, "pending_close").await;
        assert_eq!(status().await, "pending_close", "the last one done closes the work");
        // Back on site from the office (everyone stays done), then Jin is sent again: nobody
        // is working the site, so the customer is told.
        let r = app
            .client()
            .post(app.url(&format!("/api/v1/jobs/{id}/status")))
            .bearer_auth(&key)
            .json(&json!({"status": "on_site"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        step(&jin, "dispatched").await;
        run_engine(&app).await;
        assert_eq!(on_the_way(), ["Maria", "Jin"]);

        // With the limit off, Maria joining Jin on the site is announced too.
        let brand = switchboard_core::ids::BrandId(summit);
        let mut prefs = settings::prefs(&app.db, org, brand).await.unwrap();
        prefs.limit_multi_tech = false;
        settings::save_prefs(&app.db, &app.clock, org, brand, &prefs).await.unwrap();
        step(&maria, "dispatched").await;
        run_engine(&app).await;
        assert_eq!(on_the_way(), ["Maria", "Jin", "Maria"]);

        let (_, d) =
            json(app.client().get(app.url(&format!("/api/v1/jobs/{id}"))).bearer_auth(&key).send().await.unwrap())
                .await;
        let notes: Vec<&str> =
            d["job"]["history"].as_array().unwrap().iter().filter_map(|e| e["note"].as_str()).collect();
        assert!(
            notes.contains(&"Customer not told Jin Park is on the way: another technician is already working the site"),
            "{notes:?}"
        );
        assert!(notes.contains(&"Maria Reyes finished; Jin Park still working"), "{notes:?}");
        let crew: Vec<(&str, &str)> = d["job"]["techs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].as_str().unwrap(), t["work"].as_str().unwrap()))
            .collect();
        assert_eq!(crew, [("Jin Park", "en_route"), ("Maria Reyes", "en_route")]);
    }

    #[tokio::test]
    async fn day_of_reminders_follow_the_local_clock_across_daylight_saving_in_two_zones() {
        let (app, key, org, summit) = demo().await;
        // A London brand beside Denver's Summit, reminders by text at the default 8:00 AM.
        let input = switchboard_core::tenancy::BrandInput {
            name: "Thames Boilers".into(),
            time_zone: "Europe/London".into(),
            sms_number: Some("+17205550199".into()),
            ..Default::default()
        };
        let thames = switchboard_core::tenancy::create_brand(&app.db, &app.clock, org, &input).await.unwrap();
        let reminder = KindInput {
            sms_enabled: true,
            sms_template: Kind::Reminder.default_sms().into(),
            email_subject: Kind::Reminder.default_email_subject().into(),
            email_template: Kind::Reminder.default_sms().into(),
            ..Default::default()
        };
        settings::save_kind(&app.db, &app.clock, org, thames.id, Kind::Reminder, &reminder).await.unwrap();
        let reminders = |app: &TestApp| {
            app.sms
                .sent_to(TARA)
                .into_iter()
                .filter(|m| m.body.starts_with("Reminder from"))
                .map(|m| m.body)
                .collect::<Vec<_>>()
        };
        let at = |app: &TestApp, t: &str| app.clock.set(t.parse().unwrap());

        // Denver springs forward on Sun Mar 14 2027: 8:00 AM that day is 14:00Z (15:00Z the day before).
        at(&app, "2027-03-12T20:00:00Z");
        book(&app, &key, summit, "2027-03-13T17:00:00Z", "2027-03-13T19:00:00Z").await; // Sat 10 AM MST
        book(&app, &key, summit, "2027-03-14T16:00:00Z", "2027-03-14T18:00:00Z").await; // Sun 10 AM MDT
        // London springs forward on Sun Mar 28 2027: 8:00 AM is 08:00Z on Saturday, 07:00Z on Sunday.
        book(&app, &key, thames.id.0, "2027-03-27T10:00:00Z", "2027-03-27T12:00:00Z").await; // Sat 10 AM GMT
        book(&app, &key, thames.id.0, "2027-03-28T09:00:00Z", "2027-03-28T11:00:00Z").await; // Sun 10 AM BST
        run_engine(&app).await;
        assert!(reminders(&app).is_empty());

        let steps = [
            ("2027-03-13T14:59:00Z", 0),
            ("2027-03-13T15:00:00Z", 1), // Saturday 8:00 MST
            ("2027-03-14T13:59:00Z", 1),
            ("2027-03-14T14:00:00Z", 2), // Sunday 8:00 MDT, an hour earlier in UTC
            ("2027-03-27T07:59:00Z", 2),
            ("2027-03-27T08:00:00Z", 3), // Saturday 8:00 GMT
            ("2027-03-28T06:59:00Z", 3),
            ("2027-03-28T07:00:00Z", 4), // Sunday 8:00 BST
        ];
        for (now, want) in steps {
            at(&app, now);
            for _ in 0..3 {
                app.engine.tick().await.unwrap();
            }
            assert_eq!(reminders(&app).len(), want, "at {now}: {:?}", reminders(&app));
        }
        let sent = reminders(&app);
        assert!(
            sent[0]
                .starts_with("Reminder from Summit Home Services: we'll see you today between 10:00 AM and 12:00 PM")
        );
        assert!(sent[1].contains("between 10:00 AM and 12:00 PM"), "10 AM MDT: {}", sent[1]);
        assert!(sent[2].starts_with("Reminder from Thames Boilers: we'll see you today between 10:00 AM and 12:00 PM"));
        assert!(sent[3].contains("between 10:00 AM and 12:00 PM"), "10 AM BST: {}", sent[3]);
    }

    #[tokio::test]
    async fn billing_can_nudge_an_unpaid_invoice_through_the_same_path() {
        let (app, key, org, summit) = demo().await;
        let input = KindInput {
            sms_enabled: true,
            sms_template: Kind::InvoiceNudge.default_sms().into(),
            email_subject: Kind::InvoiceNudge.default_email_subject().into(),
            email_template: Kind::InvoiceNudge.default_sms().into(),
            ..Default::default()
        };
        let brand = switchboard_core::ids::BrandId(summit);
        settings::save_kind(&app.db, &app.clock, org, brand, Kind::InvoiceNudge, &input).await.unwrap();
        let job = book(&app, &key, summit, "2026-11-22T18:00:00Z", "2026-11-22T20:00:00Z").await;
        let (id, code) = (switchboard_core::ids::JobId(job["id"].as_i64().unwrap()), job["code"].as_str().unwrap());
        run_engine(&app).await;
        let nudge = |invoice: i64, due: &str| {
            let (db, clock) = (app.db.clone(), app.clock.clone());
            let due: jiff::Timestamp = due.parse().unwrap();
            async move {
                let unpaid = switchboard_core::notifications::send::UnpaidInvoice {
                    id: invoice,
                    number: format!("INV-{invoice}"),
                    url: format!("https://pay.example.com/i/{invoice}"),
                    amount_due: switchboard_core::money::Money::usd(18_900),
                };
                let mut tx = db.begin().await.unwrap();
                switchboard_core::notifications::send::invoice_nudge_in(&mut tx, &clock, org, id, &unpaid, due)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        };
        let nudges = || app.sms.sent_to(TARA).into_iter().filter(|m| m.body.contains("still due")).collect::<Vec<_>>();

        // Due at 9 PM Denver (04:00Z): quiet hours hold it until 8 AM.
        nudge(1, "2026-11-23T04:00:00Z").await;
        app.clock.set("2026-11-23T04:00:00Z".parse().unwrap());
        run_engine(&app).await;
        assert!(nudges().is_empty(), "held through quiet hours");
        app.clock.set("2026-11-23T15:00:00Z".parse().unwrap());
        run_engine(&app).await;
        let sent = nudges();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].body,
            format!(
                "Hi Tara, $189.00 is still due for {code} with Summit Home Services. Pay here: https://pay.example.com/i/1"
            )
        );
        // The same nudge twice is one message; a canceled job is owed nothing.
        nudge(1, "2026-11-23T04:00:00Z").await;
        let r = app
            .client()
            .post(app.url(&format!("/api/v1/jobs/{}/status", id.0)))
            .bearer_auth(&key)
            .json(&json!({"status": "canceled"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        nudge(2, "2026-11-23T16:00:00Z").await;
        app.clock.set("2026-11-23T16:00:00Z".parse().unwrap());
        run_engine(&app).await;
        assert_eq!(nudges().len(), 1);
    }

    #[tokio::test]
    async fn a_swapped_technician_is_announced_only_once_on_the_way_and_the_tracking_page_follows_whoever_is_working() {
        let (app, key, _org, summit) = demo().await;
        let job = book(&app, &key, summit, "2026-11-22T18:00:00Z", "2026-11-22T20:00:00Z").await;
        let (id, code) = (job["id"].as_i64().unwrap(), job["code"].as_str().unwrap().to_string());
        let (_, techs) =
            json(app.client().get(app.url("/api/v1/technicians")).bearer_auth(&key).send().await.unwrap()).await;
        let tech = |name: &str| {
            techs["technicians"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()["id"].clone()
        };
        let api = |path: String, body: Value| app.client().post(app.url(&path)).bearer_auth(&key).json(&body).send();
        let on_the_way = || {
            app.sms
                .sent_to(TARA)
                .into_iter()
                .filter(|m| m.body.contains("is on the way"))
                .map(|m| m.body)
                .collect::<Vec<_>>()
        };
        let page = |path: String| {
            let (c, url) = (app.client(), app.url(&path));
            async move { c.get(url).send().await.unwrap().text().await.unwrap() }
        };
        let job_now = || async {
            let (_, d) =
                json(app.client().get(app.url(&format!("/api/v1/jobs/{id}"))).bearer_auth(&key).send().await.unwrap())
                    .await;
            d["job"].clone()
        };
        let crew = |job: &Value| -> Vec<(String, String)> {
            job["techs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (t["name"].as_str().unwrap().to_string(), t["work"].as_str().unwrap().to_string()))
                .collect()
        };
        let step = |portal: String, to: &'static str| {
            let (c, url) = (app.client(), app.url(&format!("{portal}/jobs/{id}/status")));
            async move {
                let r = c.post(url).form(&[("to", to)]).send().await.unwrap();
                assert_eq!(r.status(), 303, "{to}: {}", r.text().await.unwrap());
            }
        };
        api(format!("/api/v1/jobs/{id}/assign"), json!({"tech_ids": [tech("Maria Reyes")]})).await.unwrap();
        api(format!("/api/v1/jobs/{id}/status"), json!({"status": "dispatched"})).await.unwrap();
        run_engine(&app).await;
        assert_eq!(on_the_way().len(), 1);
        let link = |body: &str| {
            let url = body.split_whitespace().find(|w| w.contains("/t/")).unwrap().to_string();
            url.strip_prefix(&app.base).unwrap().to_string()
        };
        let marias = link(&on_the_way()[0]);

        // The dispatcher puts Jin on instead of Maria. Jin has not left: nobody is announced,
        // nobody on the job is on the way, so it is Scheduled again; Maria is told she is off it.
        let r = api(format!("/api/v1/jobs/{id}/assign"), json!({"tech_ids": [tech("Jin Park")]})).await.unwrap();
        assert_eq!(r.status(), 200);
        run_engine(&app).await;
        assert_eq!(on_the_way().len(), 1, "Jin never tapped On my way");
        let now = job_now().await;
        assert_eq!(now["status"], "scheduled");
        assert_eq!(crew(&now), [("Jin Park".to_string(), "assigned".to_string())]);
        let maria_texts: Vec<String> = app.sms.sent_to("+17205550122").into_iter().map(|m| m.body).collect();
        assert_eq!(
            maria_texts.last().unwrap(),
            &format!(
                "Summit Home Services: you're off {code} (AC tune-up). No need to go; it is gone from your stops."
            )
        );
        let notes: Vec<String> =
            now["history"].as_array().unwrap().iter().filter_map(|e| e["note"].as_str().map(String::from)).collect();
        assert!(notes.contains(&"Maria Reyes texted that they are off the job".to_string()), "{notes:?}");
        assert!(notes.contains(&"nobody on the job is on the way now".to_string()), "{notes:?}");

        // Jin taps On my way: now the customer hears it is Jin, and Maria's old link follows him.
        let jin_portal = portal_path(&app, "+17205550123");
        step(jin_portal.clone(), "dispatched").await;
        run_engine(&app).await;
        let sent = on_the_way();
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert!(sent[1].starts_with("Jin from Summit Home Services is on the way"), "{}", sent[1]);
        assert!(page(marias.clone()).await.contains("Jin is on the way"), "Maria's link follows who is coming");

        // Maria rejoins: assigned, not en route, and not announced; she taps On my way while
        // Jin is driving (limited: quiet). Jin arrives and finishes first.
        api(format!("/api/v1/jobs/{id}/assign"), json!({"tech_ids": [tech("Jin Park"), tech("Maria Reyes")]}))
            .await
            .unwrap();
        run_engine(&app).await;
        let now = job_now().await;
        assert_eq!(
            crew(&now),
            [("Jin Park".to_string(), "en_route".to_string()), ("Maria Reyes".to_string(), "assigned".to_string())]
        );
        step(portal_path(&app, "+17205550122"), "dispatched").await;
        run_engine(&app).await;
        assert_eq!(on_the_way().len(), 2, "limited");
        let jins = link(&on_the_way()[1]);
        for to in ["on_site", "pending_close"] {
            step(jin_portal.clone(), to).await;
        }
        let html = page(jins).await;
        assert!(html.contains("Maria is on the way"), "Jin is done; the page shows who is still coming: {html}");
    }

    #[tokio::test]
    async fn someone_put_on_a_job_already_on_site_is_assigned_not_en_route() {
        let (app, key, _org, summit) = demo().await;
        let job = book(&app, &key, summit, "2026-11-22T18:00:00Z", "2026-11-22T20:00:00Z").await;
        let id = job["id"].as_i64().unwrap();
        let techs = tech_ids(&app, &key).await;
        let tech = |name: &str| techs[name].clone();
        let (s, _) =
            app.api_post(&key, &format!("/api/v1/jobs/{id}/assign"), json!({"tech_ids": [tech("Maria Reyes")]})).await;
        assert_eq!(s, 200);
        let (s, _) = app.api_post(&key, &format!("/api/v1/jobs/{id}/status"), json!({"status": "on_site"})).await;
        assert_eq!(s, 200);
        let (s, body) = app
            .api_post(
                &key,
                &format!("/api/v1/jobs/{id}/assign"),
                json!({"tech_ids": [tech("Maria Reyes"), tech("Jin Park")]}),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["job"]["status"], "on_site");
        let works: Vec<(&str, &str)> = body["job"]["techs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].as_str().unwrap(), t["work"].as_str().unwrap()))
            .collect();
        assert_eq!(works, [("Jin Park", "assigned"), ("Maria Reyes", "on_site")]);
        run_engine(&app).await;
        assert!(
            app.sms.sent_to(TARA).iter().all(|m| !m.body.contains("on the way")),
            "nobody is announced: {:?}",
            app.sms.sent_to(TARA)
        );
    }

    async fn tech_ids(app: &TestApp, key: &str) -> HashMap<String, Value> {
        let (_, techs) =
            json(app.client().get(app.url("/api/v1/technicians")).bearer_auth(key).send().await.unwrap()).await;
        techs["technicians"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].as_str().unwrap().to_string(), t["id"].clone()))
            .collect()
    }

    fn last_text(app: &TestApp, phone: &str) -> String {
        app.sms.sent_to(phone).last().map(|m| m.body.clone()).unwrap_or_default()
    }

    const MARIA: &str = "+17205550122";
    const JIN: &str = "+17205550123";

    #[tokio::test]
    async fn a_moved_then_canceled_booking_tells_the_customer_and_the_technicians_who_knew() {
        let (app, key, _org, summit) = demo().await;
        let techs = tech_ids(&app, &key).await;
        // Booked on Sun Nov 22 (the demo's day in Denver) for Tue Nov 24, 9-11 AM, with Maria.
        let job = book(&app, &key, summit, "2026-11-24T16:00:00Z", "2026-11-24T18:00:00Z").await;
        let (id, code) = (job["id"].as_i64().unwrap(), job["code"].as_str().unwrap().to_string());
        let (s, _) =
            app.api_post(&key, &format!("/api/v1/jobs/{id}/assign"), json!({"tech_ids": [techs["Maria Reyes"]]})).await;
        assert_eq!(s, 200);
        run_engine(&app).await;
        assert!(
            last_text(&app, MARIA).starts_with(&format!(
                "Summit Home Services: you're on {code} (AC tune-up) Tue Nov 24, 9:00 AM-11:00 AM"
            ))
        );
        let customer_before = app.sms.sent_to(TARA).len();

        // Moved to Wed Nov 25, 1-3 PM: the customer gets the new window (not a second
        // booking confirmation), and so does Maria.
        let (s, body) = app
            .api_patch(
                &key,
                &format!("/api/v1/jobs/{id}"),
                json!({"scheduled_start": "2026-11-25T20:00:00Z", "scheduled_end": "2026-11-25T22:00:00Z"}),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        run_engine(&app).await;
        let customer: Vec<String> = app.sms.sent_to(TARA).into_iter().skip(customer_before).map(|m| m.body).collect();
        assert_eq!(
            customer,
            [format!(
                "Hi Tara, your AC tune-up with Summit Home Services has moved to Wed Nov 25, 1:00 PM-3:00 PM ({code}). Questions? Call (720) 555-0100."
            )]
        );
        assert_eq!(
            last_text(&app, MARIA),
            format!("Summit Home Services: {code} (AC tune-up) has moved to Wed Nov 25, 1:00 PM-3:00 PM.")
        );

        // Jin joins after the move: his job text already has the new window, and he is not
        // told it moved.
        let (s, _) = app
            .api_post(
                &key,
                &format!("/api/v1/jobs/{id}/assign"),
                json!({"tech_ids": [techs["Maria Reyes"], techs["Jin Park"]]}),
            )
            .await;
        assert_eq!(s, 200);
        run_engine(&app).await;
        let jin: Vec<String> = app.sms.sent_to(JIN).into_iter().map(|m| m.body).collect();
        assert_eq!(jin.len(), 1, "{jin:?}");
        assert!(
            jin[0].starts_with(&format!(
                "Summit Home Services: you're on {code} (AC tune-up) Wed Nov 25, 1:00 PM-3:00 PM"
            )),
            "{}",
            jin[0]
        );

        // Canceled: the customer and both technicians are told, word for word.
        let (s, _) = app
            .api_post(
                &key,
                &format!("/api/v1/jobs/{id}/status"),
                json!({"status": "canceled", "reason": "customer sold the house"}),
            )
            .await;
        assert_eq!(s, 200);
        run_engine(&app).await;
        assert_eq!(
            last_text(&app, TARA),
            format!(
                "Hi Tara, your AC tune-up with Summit Home Services for Wed Nov 25, 1:00 PM-3:00 PM ({code}) has been canceled. To book again, call (720) 555-0100."
            )
        );
        let canceled = format!(
            "Summit Home Services: {code} (AC tune-up) was canceled. No need to go; it is gone from your stops."
        );
        assert_eq!(last_text(&app, MARIA), canceled);
        assert_eq!(last_text(&app, JIN), canceled);
        assert_eq!(app.sms.sent_to(TARA).len(), customer_before + 2, "one text per change");
        let (_, d) =
            json(app.client().get(app.url(&format!("/api/v1/jobs/{id}"))).bearer_auth(&key).send().await.unwrap())
                .await;
        let notes: Vec<&str> =
            d["job"]["history"].as_array().unwrap().iter().filter_map(|e| e["note"].as_str()).collect();
        for n in [
            "Reschedule notice texted to the customer",
            "Maria Reyes texted the job's new window",
            "Cancellation notice texted to the customer",
            "Maria Reyes texted that the job is canceled",
            "Jin Park texted that the job is canceled",
        ] {
            assert!(notes.contains(&n), "{n}: {notes:?}");
        }
    }

    #[tokio::test]
    async fn an_unbooked_estimate_canceled_tells_the_customer_nothing_and_wording_is_the_brands() {
        let (app, key, org, summit) = demo().await;
        let techs = tech_ids(&app, &key).await;
        // An estimate with no window, Maria on it.
        let (_, c) = json(
            app.client()
                .get(app.url(&format!("/api/v1/customers?phone=%2B{}", &TARA[1..])))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let (s, body) = app
            .api_post(&key, "/api/v1/jobs", json!({"brand_id": summit, "customer_id": c["customers"][0]["id"], "service": "Boiler quote", "tech_ids": [techs["Maria Reyes"]]}))
            .await;
        assert_eq!(s, 201, "{body}");
        let (id, code) = (body["job"]["id"].as_i64().unwrap(), body["job"]["code"].as_str().unwrap().to_string());
        run_engine(&app).await;
        // The brand words the technicians' cancellation its own way.
        let input = KindInput {
            sms_enabled: true,
            email_enabled: false,
            sms_template: "{techName}, {jobCode} is off. Thanks! {brandName}".into(),
            email_subject: Kind::TechCanceled.default_email_subject().into(),
            email_template: Kind::TechCanceled.default_sms().into(),
        };
        settings::save_kind(
            &app.db,
            &app.clock,
            org,
            switchboard_core::ids::BrandId(summit),
            Kind::TechCanceled,
            &input,
        )
        .await
        .unwrap();
        let before = app.sms.sent_to(TARA).len();
        let (s, _) = app.api_post(&key, &format!("/api/v1/jobs/{id}/status"), json!({"status": "canceled"})).await;
        assert_eq!(s, 200);
        run_engine(&app).await;
        assert_eq!(app.sms.sent_to(TARA).len(), before, "an estimate was never booked: no cancellation notice");
        assert_eq!(last_text(&app, MARIA), format!("Maria, {code} is off. Thanks! Summit Home Services"));
        // Technicians cannot be emailed: that is refused by name.
        let email = KindInput { email_enabled: true, ..input };
        let err = settings::save_kind(
            &app.db,
            &app.clock,
            org,
            switchboard_core::ids::BrandId(summit),
            Kind::TechRemoved,
            &email,
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("technicians are told by text"), "{err}");
    }

    #[tokio::test]
    async fn a_lost_phone_gets_no_new_link_and_no_job_texts_until_the_office_sends_one() {
        let (app, key, _org, summit) = demo().await;
        let techs = tech_ids(&app, &key).await;
        let maria = techs["Maria Reyes"].as_i64().unwrap();
        let office = app.signed_in_demo().await;
        let r = office.post_form(&format!("/settings/technicians/{maria}/revoke-links"), &[]).await;
        assert_eq!(r.status(), 303);
        let (_, page) = office.get_text(r.headers()["location"].to_str().unwrap()).await;
        assert!(page.contains("Portal links turned off. Nothing more is texted to that phone, not even the next job&#39;s link, until you text a new link."), "{page}");
        assert!(page.contains("Off: lost phone"));
        let before = app.sms.sent_to(MARIA).len();

        let job = book(&app, &key, summit, "2026-11-24T16:00:00Z", "2026-11-24T18:00:00Z").await;
        let id = job["id"].as_i64().unwrap();
        let (s, _) = app.api_post(&key, &format!("/api/v1/jobs/{id}/assign"), json!({"tech_ids": [maria]})).await;
        assert_eq!(s, 200);
        run_engine(&app).await;
        let (s, _) = app
            .api_patch(
                &key,
                &format!("/api/v1/jobs/{id}"),
                json!({"scheduled_start": "2026-11-25T20:00:00Z", "scheduled_end": "2026-11-25T22:00:00Z"}),
            )
            .await;
        assert_eq!(s, 200);
        run_engine(&app).await;
        assert_eq!(app.sms.sent_to(MARIA).len(), before, "nothing reaches the lost phone");
        let (_, d) =
            json(app.client().get(app.url(&format!("/api/v1/jobs/{id}"))).bearer_auth(&key).send().await.unwrap())
                .await;
        let notes: Vec<&str> =
            d["job"]["history"].as_array().unwrap().iter().filter_map(|e| e["note"].as_str()).collect();
        assert!(notes.contains(&"Portal link not texted to Maria Reyes: their links were turned off (lost phone); text them a new link from Settings -> Technicians"), "{notes:?}");

        // The office texts a new link (her new phone): the pause lifts, and the next job is texted.
        let r = office.post_form(&format!("/settings/technicians/{maria}/new-link"), &[]).await;
        assert_eq!(r.status(), 303);
        let (_, page) = office.get_text(r.headers()["location"].to_str().unwrap()).await;
        assert!(page.contains("Old portal links turned off. A new link was texted to the technician."), "{page}");
        run_engine(&app).await;
        assert!(
            last_text(&app, MARIA)
                .starts_with("Summit Home Services: your previous portal link was turned off. Your new link: ")
        );
        let other = book(&app, &key, summit, "2026-11-26T16:00:00Z", "2026-11-26T18:00:00Z").await;
        let (s, _) =
            app.api_post(&key, &format!("/api/v1/jobs/{}/assign", other["id"]), json!({"tech_ids": [maria]})).await;
        assert_eq!(s, 200);
        run_engine(&app).await;
        assert!(
            last_text(&app, MARIA).starts_with(&format!(
                "Summit Home Services: you're on {} (AC tune-up) Thu Nov 26",
                other["code"].as_str().unwrap()
            )),
            "{}",
            last_text(&app, MARIA)
        );
    }
}
