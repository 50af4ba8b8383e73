//! Texts out through the engine and the Twilio adapter to the stand-in, texts in through
//! signed webhooks, delivery status, consent keywords, rate limits and failures.

use std::time::Duration;

use jiff::SignedDuration;
use serde_json::json;
use switchboard_standins::twilio::{Failure, signature};

use crate::helpers::{TestApp, json, spawn_app};

const BRAND_NUMBER: &str = "+17205550100";
const CUSTOMER: &str = "+13035550142";
const WAIT: Duration = Duration::from_secs(10);

async fn setup() -> (TestApp, String, i64) {
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("acme").await;
    let brand = app.sms_brand(org, "Acme HVAC", "(720) 555-0100").await;
    let key = app.api_key(org).await;
    (app, key, brand.id.0)
}

async fn send(app: &TestApp, key: &str, brand: i64, to: &str, body: &str) -> (u16, serde_json::Value) {
    json(
        app.client()
            .post(app.url("/api/v1/messages"))
            .bearer_auth(key)
            .json(&json!({"brand_id": brand, "to": to, "body": body}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn message(app: &TestApp, key: &str, id: i64) -> serde_json::Value {
    let (status, body) =
        json(app.client().get(app.url(&format!("/api/v1/messages/{id}"))).bearer_auth(key).send().await.unwrap()).await;
    assert_eq!(status, 200);
    body["message"].clone()
}

#[tokio::test]
async fn a_text_is_sent_once_through_the_provider_and_its_delivery_is_tracked() {
    let (app, key, brand) = setup().await;
    let (status, body) = send(&app, &key, brand, "(303) 555-0142", "Your tech Dan is on the way").await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["message"]["status"], "queued");
    assert_eq!(body["message"]["to"], CUSTOMER, "the recipient is normalised to E.164");
    let id = body["message"]["id"].as_i64().unwrap();
    assert!(app.sms.sent_to(CUSTOMER).is_empty(), "nothing is sent before the engine runs");

    assert_eq!(app.engine.tick().await.unwrap(), 1);
    let sms = app.sms.expect_sms(CUSTOMER, WAIT).await.unwrap();
    assert_eq!((sms.from.as_str(), sms.body.as_str()), (BRAND_NUMBER, "Your tech Dan is on the way"));
    let m = message(&app, &key, id).await;
    assert_eq!(m["provider_id"], sms.sid.as_str(), "the provider's id is recorded");

    app.sms.settle(WAIT).await.unwrap();
    let m = message(&app, &key, id).await;
    assert_eq!(m["status"], "delivered", "signed status callbacks moved it to delivered");
    assert_eq!(app.engine.tick().await.unwrap(), 0);
    assert_eq!(app.sms.sent_to(CUSTOMER).len(), 1, "sent exactly once");
}

#[tokio::test]
async fn bad_send_requests_are_refused_with_reasons() {
    let (app, key, brand) = setup().await;
    let (status, body) = send(&app, &key, brand, "call me", "hi").await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"][0]["field"], "to");
    let (status, _) = send(&app, &key, brand, CUSTOMER, "   ").await;
    assert_eq!(status, 422);
    let (status, body) = send(&app, &key, 999_999, CUSTOMER, "hi").await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"][0]["field"], "brand_id");
    let (org2, _) = app.org_with_admin("other").await;
    let quiet = app.brand(org2, "No Number Co").await;
    let key2 = app.api_key(org2).await;
    let (status, body) = send(&app, &key2, quiet.id.0, CUSTOMER, "hi").await;
    assert_eq!(status, 422);
    assert!(body["error"]["message"].as_str().unwrap().contains("has no SMS number"));
    let (status, _) = send(&app, &key2, brand, CUSTOMER, "hi").await;
    assert_eq!(status, 422, "another org's brand is not found");
    let (n,): (i64,) = sqlx::query_as("select count(*) from messages").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(n, 0, "no message was recorded");
}

/// A text sent to the stand-in, whose own status callbacks are held back: the app, the API
/// key, the message id, its MessageSid and the status callback URL.
async fn sent_without_callbacks() -> (TestApp, String, i64, String, String) {
    let (app, key, brand) = setup().await;
    app.sms.set_callback_delay(Duration::from_secs(3600));
    let (_, body) = send(&app, &key, brand, CUSTOMER, "hello").await;
    let id = body["message"]["id"].as_i64().unwrap();
    app.engine.tick().await.unwrap();
    let sid = app.sms.expect_sms(CUSTOMER, WAIT).await.unwrap().sid;
    let url = app.url(&format!("/webhooks/twilio/sms-status?m={id}"));
    (app, key, id, sid, url)
}

#[tokio::test]
async fn status_callbacks_never_move_a_message_backwards() {
    let (app, key, id, sid, url) = sent_without_callbacks().await;
    let callback = |status: &str| {
        let params: Vec<(String, String)> = vec![
            ("MessageSid".into(), sid.clone()),
            ("MessageStatus".into(), status.into()),
            ("AccountSid".into(), app.sms.account_sid().into()),
        ];
        let sig = signature(app.sms.auth_token(), &url, &params);
        app.client().post(&url).header("X-Twilio-Signature", sig).form(&params).send()
    };
    assert_eq!(callback("delivered").await.unwrap().status(), 204);
    assert_eq!(callback("sent").await.unwrap().status(), 204);
    assert_eq!(callback("failed").await.unwrap().status(), 204);
    assert_eq!(
        message(&app, &key, id).await["status"],
        "delivered",
        "late or conflicting callbacks do not undo delivered"
    );
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_webhooks_are_refused_and_change_nothing() {
    let (app, _, _) = setup().await;
    let url = app.url("/webhooks/twilio/sms");
    let params = vec![("MessageSid", "SM1"), ("From", CUSTOMER), ("To", BRAND_NUMBER), ("Body", "hi")];
    let resp = app.client().post(&url).form(&params).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    let resp = app.client().post(&url).header("X-Twilio-Signature", "bm90IGl0").form(&params).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    let owned: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let wrong_key = signature("not-the-token", &url, &owned);
    let resp = app.client().post(&url).header("X-Twilio-Signature", wrong_key).form(&params).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    let status_url = app.url("/webhooks/twilio/sms-status");
    let resp = app
        .client()
        .post(&status_url)
        .form(&[("MessageSid", "SM1"), ("MessageStatus", "delivered")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let (n,): (i64,) = sqlx::query_as("select count(*) from messages").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn inbound_texts_are_stored_once_and_answered_as_twilio_expects() {
    let (app, key, _) = setup().await;
    let status =
        app.sms.redeliver_inbound("SMfeedface", CUSTOMER, BRAND_NUMBER, "Is anyone coming today?").await.unwrap();
    app.route_inbound().await;
    assert_eq!(status, 200);
    let status =
        app.sms.redeliver_inbound("SMfeedface", CUSTOMER, BRAND_NUMBER, "Is anyone coming today?").await.unwrap();
    app.route_inbound().await;
    assert_eq!(status, 200, "a retried webhook is acknowledged");
    let (_, body) = json(
        app.client().get(app.url("/api/v1/messages?address=303-555-0142")).bearer_auth(&key).send().await.unwrap(),
    )
    .await;
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "deduplicated by MessageSid");
    assert_eq!(messages[0]["direction"], "inbound");
    assert_eq!(messages[0]["status"], "received");
    assert_eq!(messages[0]["provider_id"], "SMfeedface");

    // The raw answer is TwiML.
    let url = app.url("/webhooks/twilio/sms");
    let params: Vec<(String, String)> = vec![
        ("MessageSid".into(), "SMabc".into()),
        ("From".into(), CUSTOMER.into()),
        ("To".into(), BRAND_NUMBER.into()),
        ("Body".into(), "ok".into()),
    ];
    let resp = app
        .client()
        .post(&url)
        .header("X-Twilio-Signature", signature(app.sms.auth_token(), &url, &params))
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/xml"));
    assert!(resp.text().await.unwrap().contains("<Response/>"));

    // A text to a number no brand uses is acknowledged but stored nowhere.
    assert_eq!(app.sms.redeliver_inbound("SMnobody", CUSTOMER, "+15125550000", "hello?").await.unwrap(), 200);
    app.route_inbound().await;
    let (n,): (i64,) = sqlx::query_as("select count(*) from messages").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn stop_opts_out_start_opts_back_in_and_help_gets_the_brands_reply() {
    let (app, key, brand) = setup().await;
    assert_eq!(app.sms.reply(CUSTOMER, BRAND_NUMBER, "Stop").await.unwrap(), 200);
    app.route_inbound().await;
    let (status, body) = send(&app, &key, brand, CUSTOMER, "Reminder: your visit is tomorrow").await;
    assert_eq!(status, 202);
    assert_eq!(body["message"]["status"], "suppressed", "an opted-out number is never texted");
    app.engine.tick().await.unwrap();
    assert!(app.sms.sent_to(CUSTOMER).is_empty());

    assert_eq!(app.sms.reply(CUSTOMER, BRAND_NUMBER, "START").await.unwrap(), 200);
    app.route_inbound().await;
    let (_, body) = send(&app, &key, brand, CUSTOMER, "Welcome back").await;
    assert_eq!(body["message"]["status"], "queued");
    app.engine.tick().await.unwrap();
    assert_eq!(app.sms.expect_sms(CUSTOMER, WAIT).await.unwrap().body, "Welcome back");

    app.clock.advance(SignedDuration::from_secs(5));
    assert_eq!(app.sms.reply(CUSTOMER, BRAND_NUMBER, "help").await.unwrap(), 200);
    app.route_inbound().await;
    app.engine.tick().await.unwrap();
    let help = app.sms.expect_sms(CUSTOMER, WAIT).await.unwrap();
    assert!(help.body.contains("Acme HVAC") && help.body.contains("STOP"), "{}", help.body);
    assert_eq!(help.from, BRAND_NUMBER);
}

#[tokio::test]
async fn one_sender_sends_at_most_one_text_per_second() {
    let (app, key, brand) = setup().await;
    for i in 0..3 {
        send(&app, &key, brand, &format!("+1303555014{i}"), "Storm warning: we are running late").await;
    }
    app.engine.tick().await.unwrap();
    assert_eq!(app.sms.messages().len(), 1, "the first goes now, the others wait for the sender's slot");
    app.clock.advance(SignedDuration::from_millis(999));
    app.engine.tick().await.unwrap();
    assert_eq!(app.sms.messages().len(), 1);
    app.clock.advance(SignedDuration::from_millis(1));
    app.engine.tick().await.unwrap();
    assert_eq!(app.sms.messages().len(), 2);
    app.clock.advance(SignedDuration::from_secs(1));
    app.engine.tick().await.unwrap();
    assert_eq!(app.sms.messages().len(), 3);
    let (attempts,): (i64,) =
        sqlx::query_as("select max(attempts) from work_items").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(attempts, 1, "waiting for a slot does not use up attempts");
}

#[tokio::test]
async fn an_urgent_text_never_waits_behind_routine_texts_from_the_same_number() {
    let (app, key, brand) = setup().await;
    for i in 0..3 {
        send(&app, &key, brand, &format!("+1303555014{i}"), "Storm warning: we are running late").await;
    }
    app.engine.tick().await.unwrap();
    assert_eq!(app.sms.messages().len(), 1, "the first routine text goes now, two wait for the slot");

    let org = switchboard_core::ids::OrgId(app.db_org_of_brand(brand).await);
    let brand_row =
        switchboard_core::tenancy::brand(&app.db, org, switchboard_core::ids::BrandId(brand)).await.unwrap();
    let urgent = |to: &'static str| {
        let (db, clock, brand_row) = (app.db.clone(), app.clock.clone(), brand_row.clone());
        async move {
            let mut tx = db.begin().await.unwrap();
            let to = switchboard_core::parse::PhoneE164::parse(to).unwrap();
            switchboard_core::messaging::queue_sms_with_priority_in(
                &mut tx,
                &clock,
                &brand_row,
                &to,
                "URGENT: no heat at 12 Elm St. Reply 1ok to confirm",
                switchboard_core::engine::Priority::Urgent,
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
    };
    urgent("+17205550177").await;
    app.engine.tick().await.unwrap();
    let sent = app.sms.messages();
    assert_eq!(sent.len(), 2, "the urgent text went at once, ahead of the two routine ones waiting");
    assert_eq!((sent[1].to.as_str(), sent[1].from.as_str()), ("+17205550177", BRAND_NUMBER));

    // Urgent texts are paced among themselves.
    urgent("+17205550178").await;
    app.engine.tick().await.unwrap();
    assert_eq!(app.sms.messages().len(), 2, "a second urgent text in the same second waits for the urgent slot");
    app.clock.advance(SignedDuration::from_secs(1));
    app.engine.tick().await.unwrap();
    let sent = app.sms.messages();
    assert!(sent.iter().any(|m| m.to == "+17205550178"), "a second later the urgent text goes: {sent:?}");
    assert!(sent.len() <= 4, "with at most one routine text beside it: {sent:?}");
    for _ in 0..2 {
        app.clock.advance(SignedDuration::from_secs(1));
        app.engine.tick().await.unwrap();
    }
    assert_eq!(app.sms.messages().len(), 5, "the routine texts keep their pace (one a second) and all go");
}

#[tokio::test]
async fn provider_outages_are_retried_and_rejections_are_recorded() {
    let (app, key, brand) = setup().await;
    // Hold delivery callbacks back so that statuses below are the sender's own.
    app.sms.set_callback_delay(Duration::from_secs(3600));
    app.sms.fail_next(Failure::ServerError);
    let (_, body) = send(&app, &key, brand, CUSTOMER, "first").await;
    let id = body["message"]["id"].as_i64().unwrap();
    app.engine.tick().await.unwrap();
    assert!(app.sms.sent_to(CUSTOMER).is_empty());
    let (status, error): (String, Option<String>) =
        sqlx::query_as("select status, last_error from work_items").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(status, "pending");
    assert!(error.unwrap().contains("500"));
    app.clock.advance(SignedDuration::from_secs(2));
    app.engine.tick().await.unwrap();
    assert_eq!(app.sms.sent_to(CUSTOMER).len(), 1, "the retry got through, once");
    assert_eq!(message(&app, &key, id).await["status"], "queued");

    app.sms.fail_next(Failure::Reject { code: 21614, message: "'To' number is not a valid mobile number".into() });
    app.clock.advance(SignedDuration::from_secs(2));
    let (_, body) = send(&app, &key, brand, "+13035550143", "second").await;
    let id = body["message"]["id"].as_i64().unwrap();
    app.engine.tick().await.unwrap();
    let m = message(&app, &key, id).await;
    assert_eq!(m["status"], "failed");
    assert_eq!(m["error_code"], "21614");
    assert!(m["error_message"].as_str().unwrap().contains("not a valid mobile number"));
    let (dead,): (i64,) =
        sqlx::query_as("select count(*) from work_items where status = 'dead'").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(dead, 0, "a rejected message is an outcome, not stuck work");
}

#[tokio::test]
async fn a_retry_after_a_crash_mid_send_adopts_the_accepted_message_instead_of_sending_twice() {
    let (app, key, brand) = setup().await;
    let (_, body) = send(&app, &key, brand, CUSTOMER, "Your invoice is ready").await;
    let id = body["message"]["id"].as_i64().unwrap();
    app.engine.tick().await.unwrap();
    let sid = app.sms.expect_sms(CUSTOMER, WAIT).await.unwrap().sid;
    // Let the stand-in's delivery callbacks land first, so none races the simulated crash.
    app.sms.settle(WAIT).await.unwrap();
    // The state a crash leaves between "provider accepted" and "we recorded it": the message
    // is still `sending` without a provider id, and its work item is claimable again.
    sqlx::query("update messages set status = 'sending', provider_id = null, provider = null where id = $1")
        .bind(id)
        .execute(app.db.pool())
        .await
        .unwrap();
    sqlx::query("update work_items set status = 'pending' where kind = 'sms.send'")
        .execute(app.db.pool())
        .await
        .unwrap();
    app.clock.advance(SignedDuration::from_secs(5));
    assert_eq!(app.engine.tick().await.unwrap(), 1);
    assert_eq!(app.sms.sent_to(CUSTOMER).len(), 1, "not sent a second time");
    assert_eq!(message(&app, &key, id).await["provider_id"], sid.as_str(), "the earlier send was adopted");
}

#[tokio::test]
async fn messages_of_another_organization_are_invisible() {
    let (app, key, brand) = setup().await;
    let (_, body) = send(&app, &key, brand, CUSTOMER, "private").await;
    let id = body["message"]["id"].as_i64().unwrap();
    let (other, _) = app.org_with_admin("other").await;
    let other_key = app.api_key(other).await;
    let resp =
        app.client().get(app.url(&format!("/api/v1/messages/{id}"))).bearer_auth(&other_key).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let (_, list) =
        json(app.client().get(app.url("/api/v1/messages")).bearer_auth(&other_key).send().await.unwrap()).await;
    assert_eq!(list["messages"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_retry_after_a_crash_between_recording_and_finishing_does_not_resend() {
    let (app, key, brand) = setup().await;
    send(&app, &key, brand, CUSTOMER, "Your tech is on the way").await;
    app.engine.tick().await.unwrap();
    app.sms.expect_sms(CUSTOMER, WAIT).await.unwrap();
    app.sms.settle(WAIT).await.unwrap();
    // The provider's id is recorded but the work item was never marked done.
    sqlx::query("update work_items set status = 'pending'").execute(app.db.pool()).await.unwrap();
    assert_eq!(app.engine.tick().await.unwrap(), 1);
    assert_eq!(app.sms.sent_to(CUSTOMER).len(), 1, "an accepted message is never sent again");
}

#[tokio::test]
async fn numbers_abroad_are_texted_and_answered_exactly_as_they_are() {
    let (app, key, brand) = setup().await;
    // Out: the stand-in receives the number as given, not one with digits dropped.
    let (status, body) = send(&app, &key, brand, "+4915112345678", "Your technician is on the way").await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["message"]["to"], "+4915112345678");
    app.engine.tick().await.unwrap();
    let sent = app.sms.expect_sms("+4915112345678", WAIT).await.unwrap();
    assert_eq!(sent.body, "Your technician is on the way");
    // Typed with spaces and the trunk prefix written out, it is still the same number.
    let (status, body) = send(&app, &key, brand, "+44 (0)113 496 0000", "Reminder: your visit is tomorrow").await;
    assert_eq!((status, body["message"]["to"].as_str()), (202, Some("+441134960000")), "{body}");
    app.clock.advance(SignedDuration::from_secs(2));
    app.engine.tick().await.unwrap();
    assert_eq!(app.sms.expect_sms("+441134960000", WAIT).await.unwrap().body, "Reminder: your visit is tomorrow");

    // In: texts from Germany, Brazil and France make leads on exactly those numbers.
    for (i, from) in ["+491701234567", "+5511912345678", "+33142764978"].into_iter().enumerate() {
        let sid = format!("SMabroad{i}");
        assert_eq!(
            app.sms.redeliver_inbound(&sid, from, BRAND_NUMBER, "Do you service Bosch boilers?").await.unwrap(),
            200
        );
    }
    app.route_inbound().await;
    let (_, body) = json(app.client().get(app.url("/api/v1/leads")).bearer_auth(&key).send().await.unwrap()).await;
    let mut phones: Vec<&str> = body["leads"].as_array().unwrap().iter().filter_map(|l| l["phone"].as_str()).collect();
    phones.sort();
    assert_eq!(phones, vec!["+33142764978", "+491701234567", "+5511912345678"]);

    // HELP from the UK is answered at that number, word for word.
    app.clock.advance(SignedDuration::from_secs(5));
    assert_eq!(app.sms.reply("+441134960000", BRAND_NUMBER, "HELP").await.unwrap(), 200);
    app.route_inbound().await;
    app.engine.tick().await.unwrap();
    let to_uk = app.sms.sent_to("+441134960000");
    assert_eq!(to_uk.len(), 2, "the reminder, then the HELP reply");
    assert_eq!(
        to_uk[1].body,
        "Acme HVAC: for help call (720) 555-0100. Msg&data rates may apply. Reply STOP to opt out."
    );
}

#[tokio::test]
async fn a_status_callback_with_a_nul_character_is_recorded_not_refused() {
    let (app, key, id, sid, url) = sent_without_callbacks().await;
    let params: Vec<(String, String)> = vec![
        ("MessageSid".into(), sid),
        ("MessageStatus".into(), "undelivered".into()),
        ("ErrorCode".into(), "30003".into()),
        ("ErrorMessage".into(), "Unreachable\0handset".into()),
    ];
    let sig = signature(app.sms.auth_token(), &url, &params);
    let resp = app.client().post(&url).header("X-Twilio-Signature", sig).form(&params).send().await.unwrap();
    assert_eq!(resp.status(), 204, "acknowledged, so Twilio does not retry it for ever");
    let message = message(&app, &key, id).await;
    assert_eq!(message["status"], "undelivered", "{message}");
    assert_eq!(
        (message["error_code"].as_str(), message["error_message"].as_str()),
        (Some("30003"), Some("Unreachable\u{FFFD}handset"))
    );
}
