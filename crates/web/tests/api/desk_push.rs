//! A secure message's notice goes by Web Push to the devices where the recipient turned
//! notifications on from their inbox link: the subscription a browser makes, the RFC 8292
//! token and the RFC 8291 encryption, checked by the push stand-in, which decrypts what the
//! phone would show. A device the push service has dropped is forgotten; with none left, the
//! notice goes by text again.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_standins::push::{PushStandin, SubscriptionJson};

use crate::desk_delivery::{Client, deliveries, row};
use crate::helpers::{json, spawn_app_with};

const NOTICE: &str = "A new message is waiting in your secure inbox. Tap to read it.";

/// Lakeside Clinic, its patients' messages going to the office manager's secure inbox (urgent
/// ones to the on-call doctor's too), with the app accepting the push stand-in's origin.
async fn clinic(push: &PushStandin) -> Client {
    let origin = push.origin();
    let app = spawn_app_with(move |c| c.push_origins = vec![origin]).await;
    let c = Client::on(app, "Lakeside Clinic", "medical_clinic").await;
    c.reach("Office manager", json!([{ "kind": "cell", "value": "(312) 555-0160" }])).await;
    c.edit_protocol(|p| {
        p["caller_types"][0]["deliveries"][0]["method"] = json!("secure");
        p["caller_types"][0]["deliveries"][1]["method"] = json!("secure");
    })
    .await;
    c.at("2026-12-08T15:00:00Z");
    c
}

/// Takes a patient's message and runs the engine; returns the message.
async fn message(c: &Client, name: &str) -> Value {
    let answers = json!({
        "caller_name": name,
        "callback_number": "(312) 555-0188",
        "date_of_birth": "1984-02-29",
        "reason_for_the_call": "Refill of blood pressure medication",
    });
    let (status, body) = c.take("patient", answers, json!({})).await;
    assert_eq!(status, 201, "{body}");
    c.run_engine().await;
    let id = body["message"]["id"].as_i64().unwrap();
    c.get(&format!("/api/v1/desk/messages/{id}")).await["message"].clone()
}

async fn turn_on(c: &Client, inbox: &str, sub: &SubscriptionJson) -> (u16, Value) {
    let r = c.app.client().post(inbox.to_string() + "/push").json(sub).send().await.unwrap();
    json(r).await
}

/// The `data-key` the inbox page gives its script (the VAPID public key).
fn page_key(html: &str) -> String {
    let at = html.find("data-key=\"").expect("the page offers push") + "data-key=\"".len();
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn a_secure_messages_notice_goes_by_push_to_each_device_that_turned_it_on() {
    let push = PushStandin::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let c = clinic(&push).await;

    // The first notice comes by text, with the inbox link.
    message(&c, "Jo Park").await;
    let notice = c.app.sms.expect_sms("+13125550160", Duration::from_secs(5)).await.unwrap();
    let inbox = notice.body.rsplit(' ').next().unwrap().to_string();
    let html = reqwest::get(&inbox).await.unwrap().text().await.unwrap();
    let key = page_key(&html);
    assert_eq!(key.len(), 87, "a P-256 public key, base64url");
    assert!(html.contains(r#"<button type="button" class="button" data-push-on>Turn on notifications</button>"#));

    // The office manager turns notifications on on their phone and on a laptop.
    let phone = push.subscribe(&key);
    let laptop = push.subscribe(&key);
    assert_eq!(turn_on(&c, &inbox, &phone).await, (201, json!({ "devices": 1 })));
    assert_eq!(turn_on(&c, &inbox, &laptop).await, (201, json!({ "devices": 2 })));
    assert_eq!(turn_on(&c, &inbox, &phone).await, (201, json!({ "devices": 2 })), "the same browser again");
    let html = reqwest::get(&inbox).await.unwrap().text().await.unwrap();
    assert!(html.contains("Notifications are on for 2 devices."), "{html}");

    // The next message's notice goes to both devices, encrypted for each; no text.
    let texts = c.app.sms.sent_to("+13125550160").len();
    let m = message(&c, "Sam Lee").await;
    let delivery = m["deliveries"][0]["id"].as_i64().unwrap();
    assert_eq!(
        deliveries(&m),
        [row("secure", "Office manager", "+13125550160", "sent", "Notified by push on 2 devices")]
    );
    assert_eq!(m["status"], "delivered");
    for device in [&phone, &laptop] {
        let got = push.received(&device.endpoint);
        assert_eq!(got.len(), 1, "{got:?}");
        let url = got[0].payload["url"].as_str().unwrap().to_string();
        assert!(url.starts_with(&c.app.url("/inbox/")) && url != inbox, "a fresh inbox link: {url}");
        assert_eq!(
            got[0].payload,
            json!({ "title": "Lakeside Clinic", "body": NOTICE, "url": url, "tag": format!("desk-{delivery}") })
        );
        assert_eq!(got[0].ttl, 86_400);
        assert_eq!(got[0].urgency.as_deref(), Some("normal"));
        assert_eq!(got[0].topic, Some(format!("desk-{delivery}")));
        assert_eq!(got[0].contact, "mailto:dispatch@switchboard.localhost");
        let shown = got[0].payload.to_string();
        for private in ["Sam Lee", "555-0188", "1984", "blood pressure"] {
            assert!(!shown.contains(private), "{private} must not travel by push");
        }
        let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
        assert!(page.contains("2 unread messages."), "the link opens the inbox: {page}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(c.app.sms.sent_to("+13125550160").len(), texts, "no text when a push got through");

    // An urgent message is pushed at high urgency, with its own words.
    let (status, body) = c
        .take(
            "patient",
            json!({"caller_name": "Ana Ruiz", "callback_number": "(312) 555-0190", "date_of_birth": "1990-01-01",
                   "reason_for_the_call": "Reaction to new medication"}),
            json!({ "urgent": true, "urgent_reason": "Reaction to a medication" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    c.run_engine().await;
    let got = push.received(&phone.endpoint);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].payload["body"], "An urgent message is waiting in your secure inbox. Tap to read it.");
    assert_eq!(got[1].urgency.as_deref(), Some("high"));

    // The laptop's browser dropped its subscription (410): it is forgotten, the phone still gets it.
    push.unsubscribe(&laptop.endpoint);
    let m = message(&c, "Kim Cho").await;
    assert_eq!(m["deliveries"][0]["detail"], "Notified by push on 1 device");
    assert_eq!(push.received(&phone.endpoint).len(), 3);
    assert_eq!(push.received(&laptop.endpoint).len(), 2, "only the two before it dropped out");
    let html = reqwest::get(&inbox).await.unwrap().text().await.unwrap();
    assert!(html.contains("Notifications are on for 1 device."), "{html}");

    // The push service is down for the phone: the notice goes by text instead.
    push.fail_next(&[503]);
    let m = message(&c, "Lou Diaz").await;
    assert_eq!(deliveries(&m)[0].4, "", "no push got through: {m}");
    let notice = c.app.sms.expect_sms("+13125550160", Duration::from_secs(5)).await.unwrap();
    assert!(
        notice.body.starts_with("Lakeside Clinic: a new message is waiting in your secure inbox. Read it here: "),
        "{}",
        notice.body
    );

    // Turned off on the phone: notices go by text from then on.
    let r = c
        .app
        .client()
        .delete(inbox.clone() + "/push")
        .json(&json!({ "endpoint": phone.endpoint }))
        .send()
        .await
        .unwrap();
    assert_eq!(json(r).await, (200, json!({ "devices": 0 })));
    let before = push.received(&phone.endpoint).len();
    message(&c, "Max Ito").await;
    assert_eq!(push.received(&phone.endpoint).len(), before);
    c.app.sms.settle(Duration::from_secs(5)).await.unwrap();
    assert_eq!(c.app.sms.sent_to("+13125550160").len(), texts + 2);
}

#[tokio::test]
async fn a_subscription_the_server_would_not_send_to_is_refused_with_the_reason() {
    let push = PushStandin::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let c = clinic(&push).await;
    message(&c, "Jo Park").await;
    let notice = c.app.sms.expect_sms("+13125550160", Duration::from_secs(5)).await.unwrap();
    let inbox = notice.body.rsplit(' ').next().unwrap().to_string();
    let post = |body: Value| {
        let (client, url) = (c.app.client(), inbox.clone() + "/push");
        async move { json(client.post(url).json(&body).send().await.unwrap()).await }
    };

    // An endpoint that is not a browser push service (nothing is fetched from it).
    let (status, body) =
        post(json!({ "endpoint": "http://169.254.169.254/latest/meta-data", "keys": { "p256dh": "x", "auth": "y" } }))
            .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["fields"],
        json!([
            { "field": "endpoint", "message": "http://169.254.169.254 is not a browser push service this server sends to" },
            { "field": "keys.p256dh", "message": "the key is not a 65-byte P-256 public key in base64url" },
            { "field": "keys.auth", "message": "the auth secret is not 16 bytes in base64url" },
        ])
    );
    let r = c.app.client().post(inbox.clone() + "/push").body("not json").send().await.unwrap();
    let (status, body) = json(r).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["message"], "endpoint: send the browser's push subscription: JSON with endpoint and keys");

    // A link that does not work.
    let sub = push.subscribe("irrelevant");
    let r = c
        .app
        .client()
        .post(c.app.url("/inbox/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/push"))
        .json(&sub)
        .send()
        .await
        .unwrap();
    let (status, body) = json(r).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["message"], "This link isn't active.");

    // A subscription bound to another server's key: the push service refuses our token (403),
    // the notice goes by text, and the subscription is kept (the error is the push service's).
    assert_eq!(post(serde_json::to_value(&sub).unwrap()).await, (201, json!({ "devices": 1 })));
    let m = message(&c, "Sam Lee").await;
    assert_eq!(deliveries(&m)[0].4, "", "{m}");
    c.app.sms.expect_sms("+13125550160", Duration::from_secs(5)).await.unwrap();
    assert!(push.received(&sub.endpoint).is_empty());

    // The service worker is served where it may control every inbox.
    let r = c.app.client().get(c.app.url("/inbox/sw.js")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/javascript; charset=utf-8");
    assert!(r.text().await.unwrap().contains("showNotification"));
}
