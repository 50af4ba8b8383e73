//! Email out over real SMTP (to the sink), and in over our SMTP listener and the Postmark
//! inbound webhook.

use std::time::Duration;

use jiff::SignedDuration;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::{TestApp, json, spawn_app, spawn_app_with};

const WAIT: Duration = Duration::from_secs(10);

async fn brand_with_inbox(app: &TestApp) -> (String, i64) {
    let (org, _) = app.org_with_admin("acme").await;
    let input = switchboard_core::tenancy::BrandInput {
        name: "Acme Plumbing".into(),
        time_zone: "America/Chicago".into(),
        inbound_email: Some("jobs@acme-plumbing.example".into()),
        ..Default::default()
    };
    let brand = switchboard_core::tenancy::create_brand(&app.db, &app.clock, org, &input).await.unwrap();
    (app.api_key(org).await, brand.id.0)
}

#[tokio::test]
async fn an_email_goes_out_over_smtp_from_the_brand() {
    let app = spawn_app().await;
    let (key, brand) = brand_with_inbox(&app).await;
    let sink = app.mail.clone();
    let (status, body) = json(
        app.client()
            .post(app.url("/api/v1/messages"))
            .bearer_auth(&key)
            .json(&json!({"brand_id": brand, "channel": "email", "to": "Tara.Patel@Example.com", "subject": "Your visit", "body": "Maria arrives between 2 and 4 PM."}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = body["message"]["id"].as_i64().unwrap();
    app.engine.tick().await.unwrap();
    let mail = sink.expect_mail("tara.patel@example.com", WAIT).await.unwrap();
    assert_eq!(mail.from, "jobs@acme-plumbing.example");
    assert_eq!(mail.reply_to.as_deref(), Some("jobs@acme-plumbing.example"), "replies come back to the brand's inbox");
    assert_eq!(mail.subject, "Your visit");
    assert_eq!(mail.text, "Maria arrives between 2 and 4 PM.");
    assert!(String::from_utf8_lossy(&mail.raw).contains("Acme Plumbing"), "the brand's name is on the From line");
    let (_, m) =
        json(app.client().get(app.url(&format!("/api/v1/messages/{id}"))).bearer_auth(&key).send().await.unwrap())
            .await;
    assert_eq!(m["message"]["status"], "sent");
    assert_eq!(
        Some(m["message"]["provider_id"].as_str().unwrap()),
        mail.message_id.as_deref(),
        "the Message-ID is recorded"
    );

    let (status, body) = json(
        app.client()
            .post(app.url("/api/v1/messages"))
            .bearer_auth(&key)
            .json(&json!({"brand_id": brand, "channel": "email", "to": "x@example.com", "body": "no subject"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"][0]["field"], "subject");
    let (status, _) = json(
        app.client()
            .post(app.url("/api/v1/messages"))
            .bearer_auth(&key)
            .json(&json!({"brand_id": brand, "channel": "fax", "to": "x", "body": "?"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn an_unreachable_mail_server_is_retried() {
    let app = spawn_app_with(|c| c.smtp_url = Some(switchboard::config::Secret::new("smtp://127.0.0.1:9"))).await;
    let (key, brand) = brand_with_inbox(&app).await;
    app.client()
        .post(app.url("/api/v1/messages"))
        .bearer_auth(&key)
        .json(&json!({"brand_id": brand, "channel": "email", "to": "a@example.com", "subject": "s", "body": "b"}))
        .send()
        .await
        .unwrap();
    app.engine.tick().await.unwrap();
    let (status, attempts, error): (String, i64, Option<String>) =
        sqlx::query_as("select status, attempts, last_error from work_items").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!((status.as_str(), attempts), ("pending", 1), "{error:?}");
    assert!(error.unwrap().contains("SMTP"));
    app.clock.advance(SignedDuration::from_secs(3));
    app.engine.tick().await.unwrap();
    let (attempts,): (i64,) = sqlx::query_as("select attempts from work_items").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(attempts, 2);
}

/// One SMTP session: each command gets its reply; after `DATA`, `message` is sent and ended
/// with the lone dot, whose reply follows. Returns every reply, greeting first.
async fn smtp_dialog(addr: std::net::SocketAddr, commands: &[&str], message: &[&str]) -> Vec<String> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    async fn reply(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            all.push_str(&line);
            // Multi-line replies continue with "250-"; the last line has a space.
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }
    let mut replies = vec![reply(&mut reader).await];
    for command in commands {
        write.write_all(format!("{command}\r\n").as_bytes()).await.unwrap();
        replies.push(reply(&mut reader).await);
        if *command == "DATA" {
            for line in message {
                write.write_all(format!("{line}\r\n").as_bytes()).await.unwrap();
            }
            write.write_all(b".\r\n").await.unwrap();
            replies.push(reply(&mut reader).await);
        }
    }
    replies
}

#[tokio::test]
async fn the_smtp_listener_takes_mail_for_brand_inboxes_only_and_once() {
    let app = spawn_app().await;
    let (key, _) = brand_with_inbox(&app).await;
    let (_, stop) = tokio::sync::watch::channel(false);
    let addr = app.smtp_listener(stop).await;
    let commands = [
        "EHLO client.example",
        "MAIL FROM:<tara@example.com>",
        "RCPT TO:<nobody@acme-plumbing.example>",
        "RCPT TO:<Jobs@Acme-Plumbing.example>",
        "DATA",
        "QUIT",
    ];
    let message = [
        "From: Tara Patel <tara@example.com>",
        "Subject: Leaking water heater",
        "Message-ID: <leak-1@example.com>",
        "",
        "..there is water on the floor",
    ];
    let replies = smtp_dialog(addr, &commands, &message).await;
    assert!(replies[0].starts_with("220"), "{replies:?}");
    assert!(replies[1].starts_with("250-"), "EHLO: {replies:?}");
    assert!(replies[3].starts_with("550"), "unknown mailbox refused at RCPT: {replies:?}");
    assert!(replies[4].starts_with("250"), "the brand's inbox is accepted: {replies:?}");
    assert!(replies[5].starts_with("354"));
    assert!(replies[6].starts_with("250"), "stored, then acknowledged: {replies:?}");
    assert!(replies[7].starts_with("221"), "QUIT: {replies:?}");

    let (_, body) = json(
        app.client().get(app.url("/api/v1/messages?address=tara@example.com")).bearer_auth(&key).send().await.unwrap(),
    )
    .await;
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["channel"], "email");
    assert_eq!(messages[0]["direction"], "inbound");
    assert_eq!(messages[0]["to"], "jobs@acme-plumbing.example");
    assert_eq!(messages[0]["body"].as_str().unwrap().trim(), ".there is water on the floor", "dot-stuffing undone");

    // The same message again (a sender's retry) is acknowledged but stored once.
    let replies = smtp_dialog(addr, &commands, &message).await;
    assert!(replies[6].starts_with("250"));
    let (n,): (i64,) = sqlx::query_as("select count(*) from messages").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(n, 1, "deduplicated by Message-ID");
}

#[tokio::test]
async fn the_postmark_webhook_needs_its_secret_and_stores_mail() {
    let payload = json!({
        "FromName": "Sam Greene",
        "From": "sam@example.com",
        "FromFull": {"Email": "Sam@Example.com", "Name": "Sam Greene"},
        "To": "jobs@acme-plumbing.example",
        "ToFull": [{"Email": "jobs@acme-plumbing.example", "Name": ""}],
        "CcFull": [],
        "OriginalRecipient": "jobs@acme-plumbing.example",
        "Subject": "Rekey quote",
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "TextBody": "How much to rekey 3 locks?",
        "HtmlBody": "<p>How much to rekey 3 locks?</p>",
        "Headers": [{"Name": "Message-ID", "Value": "<rekey-7@example.com>"}],
        "Attachments": []
    });
    let unconfigured = spawn_app().await;
    let resp =
        unconfigured.client().post(unconfigured.url("/webhooks/postmark/inbound")).json(&payload).send().await.unwrap();
    assert_eq!(resp.status(), 403, "refused while no secret is configured");

    let app = spawn_app_with(|c| c.inbound_email_token = Some(switchboard::config::Secret::new("s3cret-token"))).await;
    let (key, _) = brand_with_inbox(&app).await;
    let url = app.url("/webhooks/postmark/inbound");
    let resp = app.client().post(&url).json(&payload).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = app.client().post(&url).basic_auth("postmark", Some("wrong")).json(&payload).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    for _ in 0..2 {
        let resp =
            app.client().post(&url).basic_auth("postmark", Some("s3cret-token")).json(&payload).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    let (_, body) = json(app.client().get(app.url("/api/v1/messages")).bearer_auth(&key).send().await.unwrap()).await;
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "stored once");
    assert_eq!(messages[0]["from"], "sam@example.com");
    assert_eq!(messages[0]["body"], "How much to rekey 3 locks?");
    let resp =
        app.client().post(&url).basic_auth("postmark", Some("s3cret-token")).body("{not json").send().await.unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn the_console_shows_the_demo_mail_sink_with_each_emails_html_and_text() {
    let app = spawn_app().await;
    let (_org, key, summit) = app.seed_demo().await;
    let (_, c) = json(
        app.client().get(app.url("/api/v1/customers?phone=%2B17205550132")).bearer_auth(&key).send().await.unwrap(),
    )
    .await;
    let (status, body) = app
        .api_post(
            &key,
            "/api/v1/jobs",
            json!({"brand_id": summit.0, "customer_id": c["customers"][0]["id"], "service": "AC tune-up",
            "scheduled_start": "2026-11-23T17:00:00Z", "scheduled_end": "2026-11-23T19:00:00Z"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let code = body["job"]["code"].as_str().unwrap().to_string();
    for _ in 0..6 {
        app.engine.tick().await.unwrap();
        app.clock.advance(jiff::SignedDuration::from_secs(2));
    }
    let mail = app.mail.expect_mail("tara.patel@example.com", WAIT).await.unwrap();
    assert_eq!(mail.subject, format!("Your AC tune-up is booked ({code})"));

    // Signed out: the sink is not for the public.
    let r = app.client().get(app.url("/demo/mail")).send().await.unwrap();
    assert!(r.url().path().starts_with("/login") || r.status() == 303, "{}", r.status());
    let b = app.signed_in_demo().await;
    let (status, html) = b.get_text("/jobs").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"<a class="standin-link" href="/demo/mail""#), "the top bar links the sink: {html}");
    let (status, html) = b.get_text("/demo/mail").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("<strong>Your AC tune-up is booked ({code})</strong>")), "{html}");
    assert!(html.contains("To tara.patel@example.com"), "{html}");
    assert!(html.contains(r#"<iframe class="mail-html" src="/demo/mail/1/html""#), "{html}");
    assert!(
        html.contains(&format!("is booked for tomorrow, Mon Nov 23, 10:00 AM-12:00 PM ({code})")),
        "the text part: {html}"
    );
    let r = b.get("/demo/mail/1/html").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-security-policy"].to_str().unwrap().starts_with("sandbox;"),
        "the mail's HTML is sandboxed"
    );
    assert!(r.text().await.unwrap().contains("Summit Home Services"));
    assert_eq!(b.get("/demo/mail/99/html").await.status(), 404);
}

#[tokio::test]
async fn a_bounce_back_to_the_brands_inbox_marks_our_email_failed_with_the_servers_reason() {
    let app = spawn_app().await;
    let (key, brand) = brand_with_inbox(&app).await;
    let send = |to: &'static str| {
        let (app, key) = (&app, &key);
        async move {
            let (status, body) = json(
                app.client()
                    .post(app.url("/api/v1/messages"))
                    .bearer_auth(key)
                    .json(&json!({"brand_id": brand, "channel": "email", "to": to, "subject": "Your visit", "body": "Maria arrives at 2 PM."}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(status, 202, "{body}");
            body["message"]["id"].as_i64().unwrap()
        }
    };
    let id = send("dana@gone.example").await;
    let other = send("tara@example.com").await;
    app.engine.tick().await.unwrap();
    let mail = app.mail.expect_mail("dana@gone.example", WAIT).await.unwrap();
    let ours = mail.message_id.clone().unwrap();

    // The receiving server refuses it later and mails a report back to the envelope sender,
    // the brand's inbox, from the null sender.
    let (_, stop) = tokio::sync::watch::channel(false);
    let addr = app.smtp_listener(stop).await;
    let commands = ["EHLO mx.gone.example", "MAIL FROM:<>", "RCPT TO:<jobs@acme-plumbing.example>", "DATA", "QUIT"];
    let report =
        include_str!("../../../../tests/fixtures/postfix-bounce.eml").replace("<msg-7@imaginary.example>", &ours);
    let lines: Vec<&str> = report.lines().collect();
    let replies = smtp_dialog(addr, &commands, &lines).await;
    assert!(replies[5].starts_with("250"), "stored, then acknowledged: {replies:?}");

    let get = |id: i64| {
        let (app, key) = (&app, &key);
        async move {
            json(app.client().get(app.url(&format!("/api/v1/messages/{id}"))).bearer_auth(key).send().await.unwrap())
                .await
                .1["message"]
                .clone()
        }
    };
    let m = get(id).await;
    assert_eq!(m["status"], "failed");
    assert_eq!(m["error_message"], "bounced: 550 5.1.1 <dana@gone.example>: Recipient address rejected: User unknown");
    assert_eq!(get(other).await["status"], "sent", "only the email the report names");
    let (steps,): (i64,) =
        sqlx::query_as("select count(*) from message_events where message_id = $1 and status = 'failed'")
            .bind(id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(steps, 1, "the failure is a step of its history");
    // The report itself is kept as mail, never as a lead.
    let (leads,): (i64,) = sqlx::query_as("select count(*) from leads").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(leads, 0);
}
