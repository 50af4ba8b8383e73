//! The leads inbox over HTTP: capture from texts and email, threading, filters, replies, and
//! atomic conversion under concurrency.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{TestApp, json, spawn_app_with};

const BRAND_NUMBER: &str = "+17205550100";
const CALLER: &str = "+13035550142";
const WAIT: Duration = Duration::from_secs(10);

async fn setup() -> (TestApp, String, i64) {
    let app = spawn_app_with(|c| c.inbound_email_token = Some(switchboard::config::Secret::new("mail-secret"))).await;
    let (org, _) = app.org_with_admin("acme").await;
    let input = switchboard_core::tenancy::BrandInput {
        name: "Acme HVAC".into(),
        time_zone: "America/Denver".into(),
        sms_number: Some(BRAND_NUMBER.into()),
        inbound_email: Some("jobs@acme-hvac.example".into()),
        ..Default::default()
    };
    let brand = switchboard_core::tenancy::create_brand(&app.db, &app.clock, org, &input).await.unwrap();
    let key = app.api_key(org).await;
    (app, key, brand.id.0)
}

async fn leads(app: &TestApp, key: &str, query: &str) -> Vec<serde_json::Value> {
    let (status, body) =
        json(app.client().get(app.url(&format!("/api/v1/leads{query}"))).bearer_auth(key).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    body["leads"].as_array().unwrap().clone()
}

async fn postmark(app: &TestApp, payload: serde_json::Value) -> u16 {
    app.client()
        .post(app.url("/webhooks/postmark/inbound"))
        .basic_auth("postmark", Some("mail-secret"))
        .json(&payload)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn texts_from_one_number_thread_into_one_lead_until_it_is_converted() {
    let (app, key, _) = setup().await;
    app.sms.reply(CALLER, BRAND_NUMBER, "My furnace is making a banging noise").await.unwrap();
    app.route_inbound().await;
    app.sms.reply(CALLER, BRAND_NUMBER, "Can someone come today?").await.unwrap();
    app.route_inbound().await;
    app.sms.reply(CALLER, BRAND_NUMBER, "STOP").await.unwrap();
    app.route_inbound().await;
    let all = leads(&app, &key, "").await;
    assert_eq!(all.len(), 1, "one lead for the conversation: {all:?}");
    let lead = &all[0];
    assert_eq!(
        (lead["source"].as_str(), lead["status"].as_str(), lead["phone"].as_str()),
        (Some("sms"), Some("new"), Some(CALLER))
    );
    let bodies: Vec<&str> = lead["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(
        bodies,
        ["My furnace is making a banging noise", "Can someone come today?"],
        "STOP is consent, not conversation"
    );
    assert_eq!(lead["unread"], true);

    let id = lead["id"].as_i64().unwrap();
    let (status, _) = json(
        app.client()
            .post(app.url(&format!("/api/v1/leads/{id}/convert")))
            .bearer_auth(&key)
            .json(&json!({"service": "Furnace repair"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    app.sms.reply(CALLER, BRAND_NUMBER, "START").await.unwrap();
    app.route_inbound().await;
    app.sms.reply(CALLER, BRAND_NUMBER, "Thanks! Also the AC next spring").await.unwrap();
    app.route_inbound().await;
    let all = leads(&app, &key, "?status=new").await;
    assert_eq!(all.len(), 1, "after conversion, a new conversation opens a new lead");
    assert_eq!(all[0]["messages"][0]["body"], "Thanks! Also the AC next spring");
}

#[tokio::test]
async fn emails_become_leads_with_the_contact_read_from_the_message() {
    let (app, key, _) = setup().await;
    let website_form = json!({
        "From": "forms@acme-hvac.example", "FromName": "Website",
        "FromFull": {"Email": "forms@acme-hvac.example"},
        "ReplyTo": "Lucy.Chen@Example.com",
        "ToFull": [{"Email": "jobs@acme-hvac.example"}],
        "Subject": "New quote request",
        "MessageID": "pm-1",
        "TextBody": "Name: Lucy Chen\nPhone: (720) 555-0177\nNeeds a new water heater.\n\nOn Mon, Nov 23 Acme wrote:\n> old stuff",
        "Headers": [{"Name": "Message-ID", "Value": "<form-1@acme-hvac.example>"}]
    });
    assert_eq!(postmark(&app, website_form.clone()).await, 200);
    assert_eq!(postmark(&app, website_form).await, 200, "a redelivery changes nothing");
    let auto_reply = json!({
        "From": "out-of-office@example.com", "FromFull": {"Email": "out-of-office@example.com"},
        "ToFull": [{"Email": "jobs@acme-hvac.example"}], "Subject": "Automatic reply: away", "MessageID": "pm-2",
        "TextBody": "I am away until Monday.",
        "Headers": [{"Name": "Auto-Submitted", "Value": "auto-replied"}, {"Name": "Message-ID", "Value": "<ooo@example.com>"}]
    });
    assert_eq!(postmark(&app, auto_reply).await, 200);
    let newsletter = json!({
        "From": "news@supplier.example", "FromFull": {"Email": "news@supplier.example"},
        "ToFull": [{"Email": "jobs@acme-hvac.example"}], "Subject": "November deals", "MessageID": "pm-3",
        "TextBody": "Deals!", "Headers": [{"Name": "Precedence", "Value": "bulk"}, {"Name": "Message-ID", "Value": "<news@supplier.example>"}]
    });
    assert_eq!(postmark(&app, newsletter).await, 200);

    let all = leads(&app, &key, "?source=email").await;
    assert_eq!(all.len(), 1, "auto-replies and bulk mail are dropped: {all:?}");
    let lead = &all[0];
    assert_eq!(lead["email"], "lucy.chen@example.com", "Reply-To is preferred for website notifications");
    assert_eq!(lead["phone"], "+17205550177", "phone numbers in the text are found and normalised");
    let body = lead["messages"][0]["body"].as_str().unwrap();
    assert!(
        body.contains("Needs a new water heater") && !body.contains("old stuff"),
        "quoted history is stripped: {body}"
    );
    assert_eq!(lead["messages"].as_array().unwrap().len(), 1);

    // A text from the phone found in the email joins the same lead.
    app.sms.reply("+17205550177", BRAND_NUMBER, "This is Lucy, texting about the heater").await.unwrap();
    app.route_inbound().await;
    let all = leads(&app, &key, "").await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["messages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_inbox_filters_by_source_status_and_search() {
    let (app, key, _) = setup().await;
    app.sms.reply(CALLER, BRAND_NUMBER, "Garage door stuck halfway").await.unwrap();
    app.route_inbound().await;
    app.sms.reply("+13035550143", BRAND_NUMBER, "Need a drain cleared").await.unwrap();
    app.route_inbound().await;
    postmark(
        &app,
        json!({"From": "sam@example.com", "FromFull": {"Email": "sam@example.com"}, "FromName": "Sam Greene", "ToFull": [{"Email": "jobs@acme-hvac.example"}], "Subject": "Rekey", "MessageID": "pm-9", "TextBody": "Rekey 3 locks please"}),
    )
    .await;
    assert_eq!(leads(&app, &key, "").await.len(), 3);
    assert_eq!(leads(&app, &key, "?source=sms").await.len(), 2);
    assert_eq!(leads(&app, &key, "?source=email").await.len(), 1);
    assert_eq!(leads(&app, &key, "?q=garage").await.len(), 1, "search by text");
    assert_eq!(leads(&app, &key, "?q=303-555-0143").await.len(), 1, "search by phone as typed");
    assert_eq!(leads(&app, &key, "?q=greene").await.len(), 1, "search by name");
    let (status, body) =
        json(app.client().get(app.url("/api/v1/leads?source=fax")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"][0]["field"], "source");

    let first = leads(&app, &key, "?q=garage").await[0]["id"].as_i64().unwrap();
    let (status, body) = json(
        app.client().post(app.url(&format!("/api/v1/leads/{first}/archive"))).bearer_auth(&key).send().await.unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["lead"]["status"], "archived");
    assert_eq!(leads(&app, &key, "?status=archived").await.len(), 1);
    assert_eq!(leads(&app, &key, "?status=new").await.len(), 2);
    let (_, body) = json(
        app.client().post(app.url(&format!("/api/v1/leads/{first}/restore"))).bearer_auth(&key).send().await.unwrap(),
    )
    .await;
    assert_eq!(body["lead"]["status"], "new");
}

#[tokio::test]
async fn replying_texts_the_lead_and_marks_it_contacted() {
    let (app, key, _) = setup().await;
    app.sms.reply(CALLER, BRAND_NUMBER, "Is the plumber coming?").await.unwrap();
    app.route_inbound().await;
    let id = leads(&app, &key, "").await[0]["id"].as_i64().unwrap();
    let (status, body) = json(
        app.client()
            .post(app.url(&format!("/api/v1/leads/{id}/messages")))
            .bearer_auth(&key)
            .json(&json!({"body": "Yes, Dan arrives at 2 PM."}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["message"]["from"], BRAND_NUMBER);
    app.engine.tick().await.unwrap();
    assert_eq!(app.sms.expect_sms(CALLER, WAIT).await.unwrap().body, "Yes, Dan arrives at 2 PM.");
    let (_, body) =
        json(app.client().get(app.url(&format!("/api/v1/leads/{id}"))).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(body["lead"]["status"], "contacted");
    let thread = body["lead"]["messages"].as_array().unwrap();
    assert_eq!(thread.len(), 2);
    assert_eq!(thread[1]["direction"], "outbound");
    assert!(thread[1]["delivery"].is_string(), "replies show their delivery status");
    let (status, body) = json(
        app.client()
            .post(app.url(&format!("/api/v1/leads/{id}/messages")))
            .bearer_auth(&key)
            .json(&json!({"body": "hi", "channel": "email"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "no email address on this lead");
    assert!(body["error"]["message"].as_str().unwrap().contains("no email address"));
}

#[tokio::test]
async fn converting_creates_the_customer_and_a_job_with_the_next_code_and_locks_the_lead() {
    let (app, key, brand) = setup().await;
    app.sms.reply(CALLER, BRAND_NUMBER, "Water heater leaking").await.unwrap();
    app.route_inbound().await;
    let id = leads(&app, &key, "").await[0]["id"].as_i64().unwrap();
    let (_, matches) =
        json(app.client().get(app.url("/api/v1/customers?phone=303.555.0142")).bearer_auth(&key).send().await.unwrap())
            .await;
    assert_eq!(matches["customers"].as_array().unwrap().len(), 0, "no customer with that phone yet");

    let body = json!({
        "customer": {"name": "Tara Patel", "phone": "(303) 555-0142", "email": "tara@example.com", "address": "2216 W 32nd Ave"},
        "service": "Water heater repair",
        "scheduled_start": "2026-11-23T16:00:00Z",
        "scheduled_end": "2026-11-23T18:00:00Z"
    });
    let (status, created) = json(
        app.client()
            .post(app.url(&format!("/api/v1/leads/{id}/convert")))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["job"]["code"], "J-1001", "the brand's next code");
    let (_, matches) =
        json(app.client().get(app.url("/api/v1/customers?phone=303.555.0142")).bearer_auth(&key).send().await.unwrap())
            .await;
    assert_eq!(matches["customers"][0]["name"], "Tara Patel");
    assert_eq!(matches["customers"][0]["id"], created["job"]["customer_id"]);

    let (status, again) = json(
        app.client()
            .post(app.url(&format!("/api/v1/leads/{id}/convert")))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409);
    assert!(again["error"]["message"].as_str().unwrap().contains("already converted to J-1001"), "{again}");
    let (_, lead) =
        json(app.client().get(app.url(&format!("/api/v1/leads/{id}"))).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(
        (lead["lead"]["status"].as_str(), lead["lead"]["job_code"].as_str()),
        (Some("converted"), Some("J-1001"))
    );
    let jobs = switchboard_core::jobs::list(
        &app.db,
        switchboard_core::tenancy::org_by_slug(&app.db, "acme").await.unwrap().unwrap().id,
        &Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status.as_str(), "scheduled");
    let _ = brand;
}

#[tokio::test]
async fn bad_conversions_change_nothing() {
    let (app, key, _) = setup().await;
    app.sms.reply(CALLER, BRAND_NUMBER, "help me").await.unwrap();
    app.route_inbound().await;
    app.sms.reply(CALLER, BRAND_NUMBER, "please").await.unwrap();
    app.route_inbound().await;
    let id = leads(&app, &key, "").await[0]["id"].as_i64().unwrap();
    let url = app.url(&format!("/api/v1/leads/{id}/convert"));
    let cases = [
        (json!({"service": ""}), "service"),
        (json!({"service": "x", "scheduled_start": "tomorrow"}), "scheduled_start"),
        (
            json!({"service": "x", "scheduled_start": "2026-11-23T18:00:00Z", "scheduled_end": "2026-11-23T16:00:00Z"}),
            "scheduled_end",
        ),
        (json!({"service": "x", "customer": {"name": "", "phone": "12"}}), "customer.name"),
        (json!({"service": "x", "customer_id": 999999}), "customer_id"),
    ];
    for (body, field) in cases {
        let (status, resp) = json(app.client().post(&url).bearer_auth(&key).json(&body).send().await.unwrap()).await;
        assert_eq!(status, 422, "{body} -> {resp}");
        assert_eq!(resp["error"]["fields"][0]["field"], field, "{resp}");
    }
    let lead = leads(&app, &key, "").await;
    assert_eq!(lead[0]["status"], "new", "the lead is still open");
    let (jobs,): (i64,) = sqlx::query_as("select count(*) from jobs").fetch_one(app.db.pool()).await.unwrap();
    let (customers,): (i64,) = sqlx::query_as("select count(*) from customers").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!((jobs, customers), (0, 0), "nothing half-written");
}

#[tokio::test]
async fn thirty_two_simultaneous_conversions_of_one_lead_make_exactly_one_job() {
    let (app, key, _) = setup().await;
    app.sms.reply(CALLER, BRAND_NUMBER, "Roof leak!").await.unwrap();
    app.route_inbound().await;
    let id = leads(&app, &key, "").await[0]["id"].as_i64().unwrap();
    let url = app.url(&format!("/api/v1/leads/{id}/convert"));
    let mut tasks = Vec::new();
    for i in 0..32 {
        let (client, url, key) = (app.client(), url.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let body =
                json!({"service": format!("Roof repair {i}"), "customer": {"name": "Ray Roof", "phone": CALLER}});
            client.post(url).bearer_auth(key).json(&body).send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 31, "{statuses:?}");
    let (jobs,): (i64,) = sqlx::query_as("select count(*) from jobs").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(jobs, 1);
}

#[tokio::test]
async fn thirty_two_leads_converted_at_once_for_one_new_phone_make_one_customer() {
    let (app, key, _) = setup().await;
    for i in 0..32 {
        app.sms.reply(&format!("+1720555{:04}", 2000 + i), BRAND_NUMBER, "Need service").await.unwrap();
        app.route_inbound().await;
    }
    let ids: Vec<i64> = leads(&app, &key, "").await.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 32);
    let mut tasks = Vec::new();
    for id in ids {
        let (client, url, key) = (app.client(), app.url(&format!("/api/v1/leads/{id}/convert")), key.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({"service": "Property inspection", "customer": {"name": "Oak Street Properties", "phone": "(303) 555-0199"}});
            client.post(url).bearer_auth(key).json(&body).send().await.unwrap().status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    let (customers,): (i64,) = sqlx::query_as("select count(*) from customers where phone = '+13035550199'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(customers, 1, "one customer, not 32");
    let (jobs,): (i64,) =
        sqlx::query_as("select count(distinct code) from jobs").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(jobs, 32, "32 jobs with distinct codes");
}

#[tokio::test]
async fn leads_of_another_organization_are_invisible_and_untouchable() {
    let (app, key, _) = setup().await;
    app.sms.reply(CALLER, BRAND_NUMBER, "private").await.unwrap();
    app.route_inbound().await;
    let id = leads(&app, &key, "").await[0]["id"].as_i64().unwrap();
    let (other, _) = app.org_with_admin("other").await;
    let other_key = app.api_key(other).await;
    assert!(leads(&app, &other_key, "").await.is_empty());
    let attempts = [
        ("get", format!("/api/v1/leads/{id}"), json!(null)),
        ("post", format!("/api/v1/leads/{id}/archive"), json!(null)),
        ("post", format!("/api/v1/leads/{id}/convert"), json!({"service": "x"})),
        ("post", format!("/api/v1/leads/{id}/messages"), json!({"body": "x"})),
    ];
    for (method, path, body) in attempts {
        let req = if method == "get" {
            app.client().get(app.url(&path))
        } else {
            app.client().post(app.url(&path)).json(&body)
        };
        let status = req.bearer_auth(&other_key).send().await.unwrap().status().as_u16();
        assert_eq!(status, 404, "{method} {path}");
    }
    assert_eq!(leads(&app, &key, "").await[0]["status"], "new");
}

#[tokio::test]
async fn a_burst_of_webhooks_is_stored_completely_once_each() {
    let (app, key, _) = setup().await;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let sms = app.sms.clone();
        // Every eighth webhook repeats an earlier MessageSid, as Twilio retries do.
        let sid = if i % 8 == 7 { format!("SMburst{:025}", i - 1) } else { format!("SMburst{i:025}") };
        tasks.push(tokio::spawn(async move {
            sms.redeliver_inbound(&sid, &format!("+1303555{:04}", 3000 + i % 20), BRAND_NUMBER, "burst").await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 200, "every webhook is acknowledged");
    }
    let (stored,): (i64,) =
        sqlx::query_as("select count(*) from inbound_texts").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(stored, 56, "every text is stored once, as it arrived, before its webhook is answered");
    app.route_inbound().await;
    let (messages,): (i64,) = sqlx::query_as("select count(*) from messages where direction = 'inbound'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(messages, 56, "duplicates are stored once");
    let (lead_messages,): (i64,) =
        sqlx::query_as("select count(*) from lead_messages").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(lead_messages, 56);
    assert_eq!(leads(&app, &key, "").await.len(), 20, "one open lead per number");
}

#[tokio::test]
async fn inbound_texts_are_routed_by_the_engine_once_each_in_arrival_order() {
    let (app, key, _) = setup().await;
    for i in 0..30 {
        assert_eq!(app.sms.reply(CALLER, BRAND_NUMBER, &format!("part {i} of my story")).await.unwrap(), 200);
    }
    // A NUL cannot be stored in PostgreSQL text; it arrives as the replacement character.
    assert_eq!(app.sms.redeliver_inbound("SMnul", CALLER, BRAND_NUMBER, "a\u{0}b").await.unwrap(), 200);
    assert!(leads(&app, &key, "").await.is_empty(), "stored and acknowledged; routed by the engine, not the webhook");

    app.engine.tick().await.unwrap();
    let bodies: Vec<(String,)> =
        sqlx::query_as("select body from lead_messages order by id").fetch_all(app.db.pool()).await.unwrap();
    let mut expected: Vec<String> = (0..30).map(|i| format!("part {i} of my story")).collect();
    expected.push("a\u{FFFD}b".into());
    assert_eq!(bodies.into_iter().map(|(b,)| b).collect::<Vec<_>>(), expected, "one thread, in arrival order");
    let found = leads(&app, &key, "").await;
    assert_eq!(found.len(), 1);

    // Routing again (another router item, another instance) changes nothing.
    assert_eq!(switchboard_core::inbound::route_pending(&app.db, &app.clock).await.unwrap(), 0);
    let (routed, errors, messages): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from inbound_texts where routed_at is not null), \
         (select count(*) from inbound_texts where route_error is not null), \
         (select count(*) from messages where direction = 'inbound')",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!((routed, errors, messages), (31, 0, 31), "every text routed exactly once");
}

/// What routing left in the database, with ids replaced by what they stand for, so two
/// databases routed two ways can be compared.
async fn routing_snapshot(app: &TestApp) -> Vec<String> {
    let mut out = Vec::new();
    let leads: Vec<(i64, Option<String>, String, String, i64, i64)> = sqlx::query_as(
        "select brand_id, phone, source, status, unread, last_message_at from leads order by brand_id, phone",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    out.extend(leads.into_iter().map(|l| format!("lead {l:?}")));
    type ThreadRow = (i64, Option<String>, String, String, String, String, i64);
    let thread: Vec<ThreadRow> = sqlx::query_as(
        "select l.brand_id, l.phone, m.direction, m.channel, m.body, g.provider_id, m.at from lead_messages m \
         join leads l on l.id = m.lead_id join messages g on g.id = m.message_id order by m.id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    out.extend(thread.into_iter().map(|m| format!("thread {m:?}")));
    type MessageRow = (Option<i64>, String, String, String, String, String, Option<String>);
    let messages: Vec<MessageRow> = sqlx::query_as(
        "select brand_id, direction, from_addr, to_addr, body, status, provider_id from messages \
         order by direction, provider_id, body",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    out.extend(messages.into_iter().map(|m| format!("message {m:?}")));
    let opt_outs: Vec<(i64, String)> = sqlx::query_as("select brand_id, phone from opt_outs order by brand_id, phone")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    out.extend(opt_outs.into_iter().map(|o| format!("opt-out {o:?}")));
    let work: Vec<(String, i64)> = sqlx::query_as(
        "select kind, count(*) from work_items where kind <> 'inbound.route' group by kind order by kind",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    out.extend(work.into_iter().map(|w| format!("work {w:?}")));
    out
}

#[tokio::test]
async fn a_batch_is_routed_exactly_as_routing_its_texts_one_by_one_would() {
    use switchboard_core::inbound::{self, Routed};
    use switchboard_core::messaging::InboundSms;
    const OTHER_BRAND: &str = "+17205550111";
    // The same traffic into two databases: one routed as a batch, one text by text.
    let mut apps = Vec::new();
    for _ in 0..2 {
        let (app, _, brand) = setup().await;
        let org = app.db_org_of_brand(brand).await;
        let other = switchboard_core::tenancy::BrandInput {
            name: "Acme Plumbing".into(),
            time_zone: "America/Chicago".into(),
            sms_number: Some(OTHER_BRAND.into()),
            ..Default::default()
        };
        switchboard_core::tenancy::create_brand(&app.db, &app.clock, switchboard_core::ids::OrgId(org), &other)
            .await
            .unwrap();
        // A conversation already open before the batch.
        assert_eq!(app.sms.redeliver_inbound("SMearlier", CALLER, BRAND_NUMBER, "Furnace is out").await.unwrap(), 200);
        app.route_inbound().await;
        let traffic = [
            (CALLER, BRAND_NUMBER, "Any update?"),
            ("+13035550001", BRAND_NUMBER, "First text"),
            ("+13035550002", BRAND_NUMBER, "STOP"),
            ("+13035550001", BRAND_NUMBER, "Second text"),
            ("+13035550003", "+17205559999", "Wrong number"),
            ("12345", BRAND_NUMBER, "From a short code"),
            ("+13035550002", BRAND_NUMBER, "Actually my sink leaks"),
            ("+13035550004", BRAND_NUMBER, "help"),
            ("+13035550001", OTHER_BRAND, "Same person, other brand"),
            ("+13035550005", BRAND_NUMBER, "start"),
        ];
        for (i, (from, to, body)) in traffic.iter().enumerate() {
            assert_eq!(app.sms.redeliver_inbound(&format!("SMbatch{i:026}"), from, to, body).await.unwrap(), 200);
        }
        apps.push(app);
    }
    let texts: Vec<InboundSms> = {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "select provider_id, from_addr, to_addr, body from inbound_texts where routed_at is null order by id",
        )
        .fetch_all(apps[0].db.pool())
        .await
        .unwrap();
        rows.into_iter()
            .map(|(provider_id, from, to, body)| InboundSms { provider: "twilio", provider_id, from, to, body })
            .collect()
    };
    assert_eq!(texts.len(), 10);

    let mut tx = apps[0].db.begin().await.unwrap();
    let batch: Vec<Routed> =
        inbound::route_texts_in(&mut tx, &apps[0].clock, &texts).await.unwrap().into_iter().map(|(r, _)| r).collect();
    tx.commit().await.unwrap();
    let mut one_by_one = Vec::new();
    for text in &texts {
        let mut tx = apps[1].db.begin().await.unwrap();
        one_by_one.push(inbound::route_sms_in(&mut tx, &apps[1].clock, text).await.unwrap().0);
        tx.commit().await.unwrap();
    }
    let kinds =
        |r: &[Routed]| r.iter().map(|r| format!("{r:?}").split('(').next().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(
        kinds(&batch),
        ["Lead", "Lead", "Keyword", "Lead", "UnknownNumber", "Message", "Lead", "Keyword", "Lead", "Keyword"]
    );
    assert_eq!(kinds(&batch), kinds(&one_by_one));
    // The same texts join the same leads: the earlier conversation, one new lead per sender
    // and brand, each sender's texts in the order sent.
    let lead_of = |r: &Routed| match r {
        Routed::Lead(id) => Some(*id),
        _ => None,
    };
    assert_eq!(lead_of(&batch[1]), lead_of(&batch[3]), "two texts of one new sender, one lead");
    assert_ne!(lead_of(&batch[1]), lead_of(&batch[8]), "another brand, another lead");
    let snapshot = routing_snapshot(&apps[0]).await;
    assert_eq!(snapshot, routing_snapshot(&apps[1]).await);
    assert!(snapshot.iter().any(|l| l.contains("opt-out") && l.contains("+13035550002")), "{snapshot:#?}");
    assert!(snapshot.iter().any(|l| l == "work (\"sms.send\", 1)"), "HELP queues one reply: {snapshot:#?}");
    assert_eq!(snapshot.iter().filter(|l| l.starts_with("lead ")).count(), 4, "{snapshot:#?}");
    assert_eq!(snapshot.iter().filter(|l| l.starts_with("thread ")).count(), 6, "{snapshot:#?}");
}
