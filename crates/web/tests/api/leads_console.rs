//! The leads inbox in the browser: list, filters, the lead page, reply, convert, and live
//! updates over Server-Sent Events.

use std::time::Duration;

use crate::helpers::{TestApp, spawn_app};

const BRAND_NUMBER: &str = "+17205550100";

async fn setup() -> (TestApp, crate::helpers::Browser) {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    app.sms_brand(org, "Acme HVAC", BRAND_NUMBER).await;
    let browser = app.signed_in(&admin.email).await;
    (app, browser)
}

#[tokio::test]
async fn the_inbox_lists_leads_with_unread_markers_and_filters() {
    let (app, b) = setup().await;
    app.sms.reply("+13035550142", BRAND_NUMBER, "AC blowing warm air").await.unwrap();
    app.route_inbound().await;
    let (status, page) = b.get_text("/leads").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("AC blowing warm air") && page.contains("(303) 555-0142"),
        "the lead and its last message are listed"
    );
    assert!(page.contains("lead-row unread"), "new leads are marked unread");
    assert!(page.contains("sse-connect=\"/events\""), "the list listens for live updates");
    let (_, partial) = b.get_text("/leads?partial=1&source=email").await;
    assert!(!partial.contains("AC blowing warm air"), "the email filter hides texts");
    assert!(!partial.contains("<html"), "the partial is just the list");
    let (status, _) = b.get_text("/leads?source=fax").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_dispatcher_opens_replies_to_and_converts_a_lead() {
    let (app, b) = setup().await;
    app.sms.reply("+13035550142", BRAND_NUMBER, "Garage door spring snapped").await.unwrap();
    app.route_inbound().await;
    let (id,): (i64,) = sqlx::query_as("select id from leads").fetch_one(app.db.pool()).await.unwrap();
    let (status, page) = b.get_text(&format!("/leads/{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Garage door spring snapped"));
    assert!(page.contains("Convert to job"));
    let (_, list) = b.get_text("/leads").await;
    assert!(!list.contains("lead-row unread"), "opening a lead marks it read");

    let resp =
        b.post_form(&format!("/leads/{id}/reply"), &[("body", "We can come at 3 PM today."), ("channel", "sms")]).await;
    assert_eq!(resp.status(), 303);
    app.engine.tick().await.unwrap();
    assert_eq!(
        app.sms.expect_sms("+13035550142", Duration::from_secs(10)).await.unwrap().body,
        "We can come at 3 PM today."
    );

    let resp = b
        .post_form(
            &format!("/leads/{id}/convert"),
            &[
                ("customer", "new"),
                ("customer_name", "Miguel Alvarez"),
                ("customer_phone", "+13035550142"),
                ("service", ""),
                ("start", "2026-11-23T09:00"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422, "a service is required");
    // Refused: everything typed comes back, the reason beside the field.
    let resp = b
        .post_form(
            &format!("/leads/{id}/convert"),
            &[
                ("customer", "new"),
                ("customer_name", "Miguel \"Mike\" Alvarez"),
                ("customer_phone", "555"),
                ("customer_email", "mike@example.com"),
                ("service", "Garage spring"),
                ("address", "77 Elm St"),
                ("start", "2026-11-23T09:00"),
                ("end", "2026-11-23T08:00"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    for kept in [
        r#"name="customer_name" value="Miguel &#34;Mike&#34; Alvarez""#,
        r#"name="customer_phone" value="555""#,
        r#"name="customer_email" value="mike@example.com""#,
        r#"name="service" value="Garage spring""#,
        r#"name="address" value="77 Elm St""#,
        r#"name="start" value="2026-11-23T09:00""#,
        r#"name="end" value="2026-11-23T08:00""#,
        r#"<input type="radio" name="customer" value="new" checked>"#,
    ] {
        assert!(html.contains(kept), "{kept} kept: {html}");
    }
    assert!(
        html.contains(r#"value="2026-11-23T08:00" aria-invalid="true" aria-describedby="scheduled_end-error"><span class="field-error" id="scheduled_end-error">the window must end after it starts</span>"#),
        "{html}"
    );
    let resp = b
        .post_form(
            &format!("/leads/{id}/convert"),
            &[
                ("customer", "new"),
                ("customer_name", "Miguel"),
                ("customer_phone", "555"),
                ("service", "Garage spring"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains(r#"value="555" inputmode="tel" aria-invalid="true" aria-describedby="phone-error"><span class="field-error" id="phone-error">"#), "{html}");
    let resp = b
        .post_form(
            &format!("/leads/{id}/convert"),
            &[
                ("customer", "new"),
                ("customer_name", "Miguel Alvarez"),
                ("customer_phone", "+13035550142"),
                ("service", "Garage spring"),
                ("start", "2026-11-23T09:00"),
                ("end", "2026-11-23T11:00"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, page) = b.get_text(&format!("/leads/{id}")).await;
    assert!(page.contains("Converted to <strong>J-1001</strong>"), "the lead names its job");
    let (start,): (i64,) = sqlx::query_as("select scheduled_start from jobs").fetch_one(app.db.pool()).await.unwrap();
    // 9:00 in America/Chicago (the test brand's zone) on Nov 23 is 15:00 UTC.
    assert_eq!(jiff::Timestamp::from_millisecond(start).unwrap().to_string(), "2026-11-23T15:00:00Z");
    let resp = b
        .post_form(
            &format!("/leads/{id}/convert"),
            &[("customer", "new"), ("customer_name", "X"), ("service", "Again")],
        )
        .await;
    assert_eq!(resp.status(), 409);
    assert!(resp.text().await.unwrap().contains("already converted to J-1001 by"));
}

#[tokio::test]
async fn new_leads_reach_open_browsers_as_server_sent_events() {
    let (app, b) = setup().await;
    let mut events = b.get("/events").await;
    assert_eq!(events.status(), 200);
    assert!(events.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    app.sms.reply("+13035550142", BRAND_NUMBER, "Hello?").await.unwrap();
    app.route_inbound().await;
    let (id,): (i64,) = sqlx::query_as("select id from leads").fetch_one(app.db.pool()).await.unwrap();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(&format!("event: lead\ndata: {id}")) {
        let chunk =
            tokio::time::timeout_at(deadline, events.chunk()).await.expect("an event within 10 s").unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    // Another organization's browser hears nothing about it.
    let (other, other_admin) = app.org_with_admin("other").await;
    let _ = other;
    let ob = app.signed_in(&other_admin.email).await;
    let mut other_events = ob.get("/events").await;
    app.sms.reply("+13035550142", BRAND_NUMBER, "Still there?").await.unwrap();
    app.route_inbound().await;
    let got = tokio::time::timeout(Duration::from_millis(300), other_events.chunk()).await;
    assert!(
        got.is_err() || got.unwrap().unwrap().is_none_or(|c| !String::from_utf8_lossy(&c).contains("event: lead")),
        "events are per organization"
    );
}

#[tokio::test]
async fn a_lead_shows_the_customer_it_matches_or_became() {
    let (app, b) = setup().await;
    // A customer on file texts in without giving a name: the lead reads as them.
    let r = b.post_form("/customers", &[("name", "Miguel Alvarez"), ("phone", "+13035550142")]).await;
    assert_eq!(r.status(), 303);
    let customer = r.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_string();
    app.sms.reply("+13035550142", BRAND_NUMBER, "Garage door again").await.unwrap();
    app.route_inbound().await;
    let (_, list) = b.get_text("/leads").await;
    assert!(list.contains("<strong>Miguel Alvarez</strong>"), "{list}");
    let (id,): (i64,) = sqlx::query_as("select id from leads").fetch_one(app.db.pool()).await.unwrap();
    let (_, page) = b.get_text(&format!("/leads/{id}")).await;
    assert!(page.contains(&format!(r#"Customer: <a href="{customer}">Miguel Alvarez</a>"#)), "{page}");
    // A stranger's lead names nobody.
    app.sms.reply("+13035550143", BRAND_NUMBER, "Need a quote").await.unwrap();
    app.route_inbound().await;
    let (_, list) = b.get_text("/leads").await;
    assert!(list.contains("<strong>(303) 555-0143</strong>"), "{list}");
}
