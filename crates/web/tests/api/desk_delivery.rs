//! A desk message reaches the client's people as the protocol's delivery rules say, through
//! the real wire formats: emails through the SMTP sink, texts through the Twilio stand-in, the
//! daily recap at 8:00 in the client's zone on both sides of a daylight-saving change. Each
//! text and email is checked word for word.

use std::time::Duration;

use serde_json::{Value, json};

use switchboard_core::ids::BrandId;

use crate::helpers::{TestApp, json, spawn_app};

pub(crate) struct Client {
    pub(crate) app: TestApp,
    pub(crate) org: switchboard_core::ids::OrgId,
    pub(crate) key: String,
    pub(crate) brand: i64,
}

impl Client {
    /// A client (brand) in Chicago with an SMS number, set up from a template.
    pub(crate) async fn from_template(name: &str, template: &str) -> Client {
        Client::on(spawn_app().await, name, template).await
    }

    /// [`Client::from_template`] on an app already running.
    pub(crate) async fn on(app: TestApp, name: &str, template: &str) -> Client {
        let (org, _) = app.org_with_admin("answering").await;
        let brand = app.sms_brand(org, name, "+13125550100").await.id.0;
        let key = app.api_key(org).await;
        let c = Client { app, org, key, brand };
        let (status, body) =
            c.post(&format!("/api/v1/brands/{brand}/protocol/template"), json!({ "template": template })).await;
        assert_eq!(status, 200, "{body}");
        c
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.app.api_post(&self.key, path, body).await
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        let r = self.app.client().get(self.app.url(path)).bearer_auth(&self.key).send().await.unwrap();
        let (status, body) = json(r).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Gives the template's contact `name` these ways to reach them; returns its id.
    pub(crate) async fn reach(&self, name: &str, methods: Value) -> i64 {
        let list = self.get(&format!("/api/v1/brands/{}/contacts", self.brand)).await;
        let id =
            list["contacts"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["id"].as_i64().unwrap();
        let r = self
            .app
            .client()
            .put(self.app.url(&format!("/api/v1/brands/{}/contacts/{id}", self.brand)))
            .bearer_auth(&self.key)
            .json(&json!({ "name": name, "methods": methods }))
            .send()
            .await
            .unwrap();
        let (status, body) = json(r).await;
        assert_eq!(status, 200, "{body}");
        id
    }

    /// Changes the client's protocol (as the API returns it) and saves it.
    pub(crate) async fn edit_protocol(&self, edit: impl FnOnce(&mut Value)) {
        let mut protocol = self.get(&format!("/api/v1/brands/{}/protocol", self.brand)).await["protocol"].clone();
        edit(&mut protocol);
        let body = json!({
            "answer_phrase": protocol["answer_phrase"], "account_notes": protocol["account_notes"],
            "caller_types": protocol["caller_types"], "version": protocol["version"],
            "fallback": protocol["fallback"],
        });
        let r = self
            .app
            .client()
            .put(self.app.url(&format!("/api/v1/brands/{}/protocol", self.brand)))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, saved) = json(r).await;
        assert_eq!(status, 200, "{saved}");
    }

    pub(crate) async fn take(&self, caller_type: &str, answers: Value, extra: Value) -> (u16, Value) {
        let mut body = json!({ "client_id": self.brand, "caller_type": caller_type, "answers": answers });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        self.post("/api/v1/desk/messages", body).await
    }

    /// Runs the engine a few times, two seconds apart (texts from one number are paced).
    pub(crate) async fn run_engine(&self) {
        for _ in 0..4 {
            self.app.engine.tick().await.unwrap();
            self.app.clock.advance(jiff::SignedDuration::from_secs(2));
        }
    }

    pub(crate) fn at(&self, utc: &str) {
        self.app.clock.set(utc.parse().unwrap());
    }
}

/// (method, recipient, address, state, detail) of each delivery.
pub(crate) fn deliveries(m: &Value) -> Vec<(String, String, String, String, String)> {
    m["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or("").to_string();
            (s("method"), s("recipient"), s("address"), s("state"), s("detail"))
        })
        .collect()
}

pub(crate) fn row(
    method: &str,
    recipient: &str,
    address: &str,
    state: &str,
    detail: &str,
) -> (String, String, String, String, String) {
    (method.into(), recipient.into(), address.into(), state.into(), detail.into())
}

/// The email's text as written, with the line ends SMTP gave it made plain.
fn text_of(mail: &switchboard_standins::smtp::SunkMail) -> String {
    mail.text.replace("\r\n", "\n").trim_end().to_string()
}

fn plumbing_answers(problem: &str) -> Value {
    json!({
        "caller_name": "Paula Mendes",
        "callback_number": "(312) 555-0199",
        "service_address": "12 Wacker Dr",
        "what_is_wrong": problem,
        "best_time_to_call": "Evening",
    })
}

#[tokio::test]
async fn hvac_messages_go_by_email_and_urgent_ones_by_email_and_text_as_the_template_says() {
    let c = Client::from_template("Imaginary Plumbing", "hvac_plumbing").await;
    c.reach("Office", json!([{ "kind": "email", "value": "office@imaginary.example" }])).await;
    c.reach(
        "On-call technician",
        json!([{ "kind": "cell", "value": "(312) 555-0142" }, { "kind": "email", "value": "oncall@imaginary.example" }]),
    )
    .await;
    // Tuesday 9:00 AM in Chicago: business hours.
    c.at("2026-12-08T15:00:00Z");

    // Routine: an email to the office, at once.
    let (status, body) = c.take("caller", plumbing_answers("Dripping kitchen faucet"), json!({})).await;
    assert_eq!(status, 201, "{body}");
    let m = &body["message"];
    assert_eq!((m["urgent"].as_bool(), m["business_hours"].as_bool()), (Some(false), Some(true)));
    assert_eq!(m["status"], "delivering");
    assert_eq!(deliveries(m), [row("email", "Office", "office@imaginary.example", "sending", "")]);
    c.run_engine().await;
    let mail = c.app.mail.expect_mail("office@imaginary.example", Duration::from_secs(5)).await.unwrap();
    assert_eq!(mail.subject, "Message for Imaginary Plumbing from Paula Mendes");
    assert_eq!(
        text_of(&mail),
        "Message for Imaginary Plumbing, taken at 9:00 AM Tue Dec 8.\n\n\
         Caller's name: Paula Mendes\n\
         Callback number: (312) 555-0199\n\
         Service address: 12 Wacker Dr\n\
         What is wrong: Dripping kitchen faucet\n\
         Best time to call: Evening"
    );
    let id = m["id"].as_i64().unwrap();
    let again = c.get(&format!("/api/v1/desk/messages/{id}")).await;
    assert_eq!(again["message"]["status"], "delivered");
    assert_eq!(deliveries(&again["message"]), [row("email", "Office", "office@imaginary.example", "sent", "")]);
    // The email's Message-ID is the one the delivery points at, stable across retries.
    let outbound = again["message"]["deliveries"][0]["outbound_message_id"].as_i64().unwrap();
    let sent = c.get(&format!("/api/v1/messages/{outbound}")).await;
    assert_eq!(Some(sent["message"]["provider_id"].as_str().unwrap()), mail.message_id.as_deref());

    // The caller said "no heat": the rules make it urgent, and it goes by email and text to the
    // on-call technician and the office; the office has no cell, which the board shows at once.
    c.at("2026-12-08T15:05:00Z");
    let (status, body) =
        c.take("caller", plumbing_answers("No heat since last night, the house is freezing"), json!({})).await;
    assert_eq!(status, 201, "{body}");
    let m = &body["message"];
    assert_eq!(m["urgent"], true);
    assert_eq!(m["suggested_urgent"], "the caller said \"no heat\"");
    assert_eq!(m["urgent_reason"], "the caller said \"no heat\"");
    assert_eq!(
        deliveries(m),
        [
            row("email", "On-call technician", "oncall@imaginary.example", "sending", ""),
            row("text", "On-call technician", "+13125550142", "sending", ""),
            row("email", "Office", "office@imaginary.example", "sending", ""),
            row("text", "Office", "", "failed", "Office has no cell number"),
        ]
    );
    c.run_engine().await;
    let text = c.app.sms.expect_sms("+13125550142", Duration::from_secs(5)).await.unwrap();
    assert_eq!(text.from, "+13125550100");
    assert_eq!(
        text.body,
        "URGENT Imaginary Plumbing message: Caller's name: Paula Mendes; Callback number: (312) 555-0199; \
         Service address: 12 Wacker Dr; What is wrong: No heat since last night, the house is freezing; \
         Best time to call: Evening. Taken 9:05 AM Tue Dec 8."
    );
    let mail = c.app.mail.expect_mail("oncall@imaginary.example", Duration::from_secs(5)).await.unwrap();
    assert_eq!(mail.subject, "URGENT message for Imaginary Plumbing from Paula Mendes");
    assert_eq!(
        text_of(&mail),
        "URGENT message for Imaginary Plumbing, taken at 9:05 AM Tue Dec 8.\n\n\
         Caller's name: Paula Mendes\n\
         Callback number: (312) 555-0199\n\
         Service address: 12 Wacker Dr\n\
         What is wrong: No heat since last night, the house is freezing\n\
         Best time to call: Evening\n\n\
         Urgent: the caller said \"no heat\"."
    );
    c.app.mail.expect_mail("office@imaginary.example", Duration::from_secs(5)).await.unwrap();
    // The carrier's callback moves the text to delivered.
    c.app.sms.settle(Duration::from_secs(5)).await.unwrap();
    let id = m["id"].as_i64().unwrap();
    let again = c.get(&format!("/api/v1/desk/messages/{id}")).await;
    assert_eq!(again["message"]["status"], "delivered");
    let states: Vec<String> = deliveries(&again["message"]).into_iter().map(|d| d.3).collect();
    assert_eq!(states, ["sent", "delivered", "sent", "failed"]);

    // Not urgent against the rules takes a reason; nothing is stored without one.
    let before = c.get("/api/v1/desk/messages").await["messages"].as_array().unwrap().len();
    let (status, body) =
        c.take("caller", plumbing_answers("Basement is flooding a little"), json!({ "urgent": false })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "urgent_reason");
    assert_eq!(
        body["error"]["fields"][0]["message"],
        "the rules say this is urgent (the caller said \"flooding\"): mark it urgent, or say why it is not"
    );
    assert_eq!(c.get("/api/v1/desk/messages").await["messages"].as_array().unwrap().len(), before);
    let (status, body) = c
        .take(
            "caller",
            plumbing_answers("Basement is flooding a little"),
            json!({ "urgent": false, "urgent_reason": "A slow drip into a bucket; they are fine until morning" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["urgent"], false);
    assert_eq!(body["message"]["urgent_reason"], "A slow drip into a bucket; they are fine until morning");
    assert_eq!(deliveries(&body["message"]), [row("email", "Office", "office@imaginary.example", "sending", "")]);

    // The board's filters: by state, urgency and the day in the client's zone (Tuesday Dec 8
    // in Chicago; 3 messages, one urgent, delivered; the last still on its way).
    let c = &c;
    let count = |q: &'static str| async move {
        c.get(&format!("/api/v1/desk/messages?{q}")).await["messages"].as_array().unwrap().len()
    };
    assert_eq!(count("status=delivered&urgent=true").await, 1);
    assert_eq!(count("status=delivered").await, 2);
    assert_eq!(count("status=delivering").await, 1);
    assert_eq!(count("urgent=false").await, 2);
    assert_eq!(count("date=2026-12-08").await, 3);
    assert_eq!(count("date=2026-12-09").await, 0);
    let r =
        c.app.client().get(c.app.url("/api/v1/desk/messages?status=lost")).bearer_auth(&c.key).send().await.unwrap();
    let (status, body) = json(r).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["error"]["fields"][0]["message"],
        "\"lost\" is not a message state (held, delivering, delivered, read, failed, retrieved)"
    );
}

#[tokio::test]
async fn the_lawyer_and_the_assistant_get_every_message_by_email_and_text() {
    let c = Client::from_template("Dana Ruiz Law", "solo_lawyer").await;
    c.reach(
        "Lawyer",
        json!([{ "kind": "cell", "value": "312-555-0150" }, { "kind": "email", "value": "dana@ruizlaw.example" }]),
    )
    .await;
    c.reach(
        "Assistant",
        json!([{ "kind": "email", "value": "front@ruizlaw.example" }, { "kind": "cell", "value": "+44 7911 123456" }]),
    )
    .await;
    // Saturday 10:30 PM in Chicago: after hours makes no difference to this protocol.
    c.at("2026-12-13T04:30:00Z");
    let answers = json!({
        "caller_name": "Sam Okafor",
        "callback_number": "312 555 0177",
        "message": "Calling about the lease review; I can talk Monday morning.",
    });
    let (status, body) = c.take("caller", answers, json!({})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["business_hours"], false);
    assert_eq!(
        deliveries(&body["message"]),
        [
            row("email", "Lawyer", "dana@ruizlaw.example", "sending", ""),
            row("text", "Lawyer", "+13125550150", "sending", ""),
            row("email", "Assistant", "front@ruizlaw.example", "sending", ""),
            row("text", "Assistant", "+447911123456", "sending", ""),
        ]
    );
    c.run_engine().await;
    let expected = "Dana Ruiz Law message: Caller's name: Sam Okafor; Callback number: (312) 555-0177; Existing client: No; \
                    Message: Calling about the lease review; I can talk Monday morning. Taken 10:30 PM Sat Dec 12.";
    // The number abroad gets the same text.
    for phone in ["+13125550150", "+447911123456"] {
        let text = c.app.sms.expect_sms(phone, Duration::from_secs(5)).await.unwrap();
        assert_eq!(text.body, expected, "{phone}");
    }
    let mail = c.app.mail.expect_mail("front@ruizlaw.example", Duration::from_secs(5)).await.unwrap();
    assert_eq!(mail.subject, "Message for Dana Ruiz Law from Sam Okafor");
    assert!(
        text_of(&mail).starts_with("Message for Dana Ruiz Law, taken at 10:30 PM Sat Dec 12.\n\n"),
        "{}",
        mail.text
    );
}

#[tokio::test]
async fn the_property_manager_gets_one_recap_at_eight_on_both_sides_of_the_clock_change() {
    let c = Client::from_template("Lakeview Properties", "property_management").await;
    c.reach("Property manager", json!([{ "kind": "email", "value": "pm@lakeview.example" }])).await;
    let tenant = |problem: &str| {
        json!({
            "caller_name": "Ana Silva",
            "callback_number": "(312) 555-0123",
            "property_and_unit": "400 N Lake Shore, 12B",
            "problem": problem,
        })
    };
    // Saturday Oct 31, 11:00 PM CDT: the next 8:00 AM is Sunday's, after the clock goes back.
    c.at("2026-11-01T04:00:00Z");
    let (status, body) = c.take("tenant", tenant("Hallway light is out"), json!({})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["status"], "held");
    assert_eq!(
        deliveries(&body["message"]),
        [row("recap", "Property manager", "pm@lakeview.example", "waiting", "the 8:00 AM Sun Nov 1 recap")]
    );
    // Sunday 7:59 AM CST (13:59 UTC): in the same recap.
    c.at("2026-11-01T13:59:00Z");
    c.take("tenant", tenant("Dishwasher leaks a little"), json!({})).await;
    c.run_engine().await;
    assert!(c.app.mail.mails().is_empty(), "nothing before 8:00");

    // 8:00 AM CST is 14:00 UTC (it was 13:00 UTC the day before).
    c.at("2026-11-01T14:00:00Z");
    // A message taken at 8:00 sharp waits for Monday's recap.
    c.take("tenant", tenant("Parking gate is stuck open"), json!({})).await;
    c.run_engine().await;
    let mail = c.app.mail.expect_mail("pm@lakeview.example", Duration::from_secs(5)).await.unwrap();
    assert_eq!(mail.subject, "Lakeview Properties: 2 messages for your 8:00 AM recap");
    assert_eq!(
        text_of(&mail),
        "2 messages for Lakeview Properties taken between 8:00 AM Sat Oct 31 and 8:00 AM Sun Nov 1.\n\
         \n1. 11:00 PM Sat Oct 31 (Tenant)\n\
         \x20  Caller's name: Ana Silva\n\
         \x20  Callback number: (312) 555-0123\n\
         \x20  Property and unit: 400 N Lake Shore, 12B\n\
         \x20  Problem: Hallway light is out\n\
         \x20  Permission to enter: No\n\
         \n2. 7:59 AM Sun Nov 1 (Tenant)\n\
         \x20  Caller's name: Ana Silva\n\
         \x20  Callback number: (312) 555-0123\n\
         \x20  Property and unit: 400 N Lake Shore, 12B\n\
         \x20  Problem: Dishwasher leaks a little\n\
         \x20  Permission to enter: No"
    );
    let list = c.get("/api/v1/desk/messages").await;
    let states: Vec<(String, String)> = list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["answers"][3]["value"].as_str().unwrap().to_string(), m["status"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        states,
        [
            ("Parking gate is stuck open".to_string(), "held".to_string()),
            ("Dishwasher leaks a little".to_string(), "delivered".to_string()),
            ("Hallway light is out".to_string(), "delivered".to_string()),
        ]
    );

    // Running the recap again sends nothing twice; Monday's has the one message, at 8:00 CST.
    c.run_engine().await;
    c.at("2026-11-02T13:59:00Z");
    c.run_engine().await;
    assert_eq!(c.app.mail.mails().len(), 1);
    c.at("2026-11-02T14:00:00Z");
    c.run_engine().await;
    let mail = c.app.mail.expect_mail("pm@lakeview.example", Duration::from_secs(5)).await.unwrap();
    assert_eq!(mail.subject, "Lakeview Properties: 1 message for your 8:00 AM recap");
    assert!(
        text_of(&mail).starts_with(
            "1 message for Lakeview Properties taken between 8:00 AM Sun Nov 1 and 8:00 AM Mon Nov 2.\n\n1. 8:00 AM Sun Nov 1 (Tenant)\n"
        ),
        "{}",
        mail.text
    );
    assert_eq!(c.app.mail.mails().len(), 2);
}

#[tokio::test]
async fn a_recipient_who_cannot_be_reached_is_named_and_nothing_is_half_sent() {
    let c = Client::from_template("Lakeside Clinic", "medical_clinic").await;
    // The office manager has an email only; the on-call doctor nothing yet.
    c.reach("Office manager", json!([{ "kind": "email", "value": "om@lakeside.example" }])).await;
    c.at("2026-12-08T15:00:00Z");
    let answers = json!({
        "caller_name": "Jo Park",
        "callback_number": "(312) 555-0188",
        "date_of_birth": "1984-02-29",
        "reason_for_the_call": "Chest pain after a new prescription",
    });
    let (status, body) = c.take("patient", answers, json!({ "urgent": true })).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["urgent_reason"], Value::Null, "the operator's call, with no reason given");
    assert_eq!(
        deliveries(&body["message"]),
        [
            row("text", "On-call doctor", "", "failed", "On-call doctor has no cell number"),
            row("text", "Office manager", "", "failed", "Office manager has no cell number"),
        ]
    );
    // Nothing reached anyone: the board says so, urgent first.
    assert_eq!(body["message"]["status"], "failed");
    c.run_engine().await;
    assert!(c.app.sms.messages().is_empty());

    // A contact in a rule cannot be removed from under it.
    let list = c.get(&format!("/api/v1/brands/{}/contacts", c.brand)).await;
    let doctor = list["contacts"].as_array().unwrap().iter().find(|x| x["name"] == "On-call doctor").unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = c
        .app
        .client()
        .delete(c.app.url(&format!("/api/v1/brands/{}/contacts/{doctor}", c.brand)))
        .bearer_auth(&c.key)
        .send()
        .await
        .unwrap();
    let (status, body) = json(r).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["error"]["message"],
        "On-call doctor receives Patient messages by the protocol: take them out of its delivery rules first"
    );
}

#[tokio::test]
async fn an_operator_sends_a_message_again_forwards_it_and_notes_it() {
    let c = Client::from_template("Imaginary Plumbing", "hvac_plumbing").await;
    c.reach("Office", json!([{ "kind": "email", "value": "office@imaginary.example" }])).await;
    c.at("2026-12-08T15:00:00Z");
    let (_, body) = c.take("caller", plumbing_answers("Dripping kitchen faucet"), json!({})).await;
    let id = body["message"]["id"].as_i64().unwrap();
    c.run_engine().await;
    let first = c.app.mail.expect_mail("office@imaginary.example", Duration::from_secs(5)).await.unwrap();

    // The office says it never arrived: sent again, the same way, as a new delivery.
    let (status, body) = c.post(&format!("/api/v1/desk/messages/{id}/redeliver"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let created_by: Vec<&str> =
        body["message"]["deliveries"].as_array().unwrap().iter().map(|d| d["created_by"].as_str().unwrap()).collect();
    assert_eq!(created_by, ["rules", "api"]);
    c.run_engine().await;
    let again = c.app.mail.expect_mail("office@imaginary.example", Duration::from_secs(5)).await.unwrap();
    assert_eq!((again.subject.as_str(), text_of(&again)), (first.subject.as_str(), text_of(&first)));
    assert_ne!(again.message_id, first.message_id, "a new email, not a duplicate of the first");

    // Forwarded to an address and to a cell; something that is neither is refused.
    let (status, body) =
        c.post(&format!("/api/v1/desk/messages/{id}/forward"), json!({ "to": "owner@imaginary.example" })).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = c.post(&format!("/api/v1/desk/messages/{id}/forward"), json!({ "to": "312 555 0111" })).await;
    assert_eq!(status, 200, "{body}");
    let last: Vec<_> = deliveries(&body["message"]).into_iter().skip(2).collect();
    assert_eq!(
        last,
        [
            row("email", "owner@imaginary.example", "owner@imaginary.example", "sending", ""),
            row("text", "(312) 555-0111", "+13125550111", "sending", ""),
        ]
    );
    let (status, body) = c.post(&format!("/api/v1/desk/messages/{id}/forward"), json!({ "to": "the owner" })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "to");
    c.run_engine().await;
    let text = c.app.sms.expect_sms("+13125550111", Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        text.body,
        "Imaginary Plumbing message: Caller's name: Paula Mendes; Callback number: (312) 555-0199; \
         Service address: 12 Wacker Dr; What is wrong: Dripping kitchen faucet; Best time to call: Evening. \
         Taken 9:00 AM Tue Dec 8."
    );
    c.app.mail.expect_mail("owner@imaginary.example", Duration::from_secs(5)).await.unwrap();

    // Notes: an empty one is refused; one with words is kept with who wrote it.
    let (status, body) = c.post(&format!("/api/v1/desk/messages/{id}/notes"), json!({ "body": "  " })).await;
    assert_eq!((status, body["error"]["fields"][0]["message"].as_str()), (422, Some("write the note first")));
    let (status, body) = c
        .post(&format!("/api/v1/desk/messages/{id}/notes"), json!({ "body": "Office called back: got both emails" }))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["notes"][0]["body"], "Office called back: got both emails");
    assert_eq!(body["message"]["notes"][0]["created_by"], "api");

    // Another organization's key reaches none of it.
    let (rival, _) = c.app.org_with_admin("rival").await;
    let rival_key = c.app.api_key(rival).await;
    for (path, body) in [
        (format!("/api/v1/desk/messages/{id}/redeliver"), json!({})),
        (format!("/api/v1/desk/messages/{id}/forward"), json!({ "to": "x@rival.example" })),
        (format!("/api/v1/desk/messages/{id}/notes"), json!({ "body": "mine now" })),
    ] {
        let (status, _) = c.app.api_post(&rival_key, &path, body).await;
        assert_eq!(status, 404, "{path}");
    }
}

#[tokio::test]
async fn the_board_forwards_notes_and_shows_a_refusal_beside_the_message() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let b = app.signed_in_demo().await;
    let org = app.db_org_of_demo().await;
    let harbor = switchboard_core::tenancy::list_brands(&app.db, org)
        .await
        .unwrap()
        .into_iter()
        .find(|b| b.name == "Harbor Plumbing & Drain")
        .unwrap()
        .id;
    let input = switchboard_core::desk::messages::TakeInput {
        caller_type: "caller".into(),
        answers: [
            ("caller_name", "Paula Mendes"),
            ("callback_number", "617 555 0199"),
            ("service_address", "12 Beacon St"),
            ("what_is_wrong", "Slow drain"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..Default::default()
    };
    let m = switchboard_core::desk::messages::take(&app.db, &app.clock, org, harbor, "user:Morgan Lee", &input)
        .await
        .unwrap();

    let r = b.post_form(&format!("/desk/messages/{}/forward", m.id), &[("to", "not a number")]).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<details class="desk-more" open>"#), "the refused form is open: {html}");
    assert!(html.contains(r#"name="to" value="not a number""#), "what was typed is kept: {html}");
    assert!(html.contains(&format!(r#"<span class="field-error" id="forward-{}-error">"#, m.id)), "{html}");
    assert!(
        html.contains(&format!(r#"hx-get="/desk?client={}&amp;caller=""#, harbor.0))
            || html.contains(&format!(r#"hx-get="/desk?client={}&#38;caller=""#, harbor.0)),
        "the board refreshes from the desk, not the POST: {html}"
    );

    let r = b.post_form(&format!("/desk/messages/{}/notes", m.id), &[("body", "Called back, no answer")]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text(r.headers()["location"].to_str().unwrap()).await;
    assert!(html.contains("Note added."), "{html}");
    assert!(
        html.contains("<li><strong>Morgan Lee</strong> <span class=\"muted small\">just now</span><p>Called back, no answer</p></li>"),
        "{html}"
    );
    let r = b.post_form(&format!("/desk/messages/{}/redeliver", m.id), &[]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text(r.headers()["location"].to_str().unwrap()).await;
    assert!(html.contains("Sent again: the new deliveries are on the message."), "{html}");
}

#[tokio::test]
async fn a_secure_message_waits_in_the_recipients_inbox_and_opening_it_is_the_read_receipt() {
    let c = Client::from_template("Lakeside Clinic", "medical_clinic").await;
    c.reach(
        "Office manager",
        json!([{ "kind": "cell", "value": "(312) 555-0160" }, { "kind": "email", "value": "om@lakeside.example" }]),
    )
    .await;
    // Patients' routine messages go to the office manager's secure inbox instead of by email.
    c.edit_protocol(|p| p["caller_types"][0]["deliveries"][0]["method"] = json!("secure")).await;
    c.at("2026-12-08T15:00:00Z");
    let answers = json!({
        "caller_name": "Jo Park",
        "callback_number": "(312) 555-0188",
        "date_of_birth": "1984-02-29",
        "reason_for_the_call": "Refill of blood pressure medication",
    });
    let (status, body) = c.take("patient", answers, json!({})).await;
    assert_eq!(status, 201, "{body}");
    let id = body["message"]["id"].as_i64().unwrap();
    assert_eq!(deliveries(&body["message"]), [row("secure", "Office manager", "+13125550160", "sending", "")]);
    c.run_engine().await;

    // The notice says a message is waiting and where; nothing of what the patient said.
    let notice = c.app.sms.expect_sms("+13125550160", Duration::from_secs(5)).await.unwrap();
    let prefix = "Lakeside Clinic: a new message is waiting in your secure inbox. Read it here: ";
    assert!(notice.body.starts_with(prefix), "{}", notice.body);
    let url = notice.body[prefix.len()..].to_string();
    assert!(url.starts_with(&c.app.url("/inbox/")), "{url}");
    for private in ["Jo Park", "555-0188", "1984", "blood pressure"] {
        assert!(!notice.body.contains(private), "{private} must not travel by text");
    }
    c.app.sms.settle(Duration::from_secs(5)).await.unwrap();
    let m = c.get(&format!("/api/v1/desk/messages/{id}")).await;
    assert_eq!(m["message"]["status"], "delivered");
    assert_eq!(m["message"]["deliveries"][0]["state"], "delivered", "the notice reached the phone");

    // The inbox lists it unread; opening it shows the message and records the read receipt.
    let browser = reqwest::Client::new();
    let page = browser.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Lakeside Clinic</h1>") && html.contains("1 unread message."), "{html}");
    let delivery = m["message"]["deliveries"][0]["id"].as_i64().unwrap();
    let link = format!("{url}/messages/{delivery}");
    assert!(html.contains(&format!(r#"<a href="{}">"#, &link[c.app.url("").len()..])), "{html}");
    c.at("2026-12-08T15:20:00Z");
    let html = browser.get(&link).send().await.unwrap().text().await.unwrap();
    for shown in [
        "<h1>Jo Park</h1>",
        "<dd>(312) 555-0188</dd>",
        "Refill of blood pressure medication",
        r#"href="tel:+13125550188""#,
    ] {
        assert!(html.contains(shown), "{shown}: {html}");
    }
    let m = c.get(&format!("/api/v1/desk/messages/{id}")).await;
    assert_eq!(m["message"]["status"], "read");
    assert_eq!(m["message"]["deliveries"][0]["state"], "read");
    assert_eq!(m["message"]["deliveries"][0]["updated_at"], "2026-12-08T15:20:00Z");
    let html = browser.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("All read."), "{html}");
    // Reading again keeps the first read time.
    c.at("2026-12-08T16:00:00Z");
    browser.get(&link).send().await.unwrap();
    let m = c.get(&format!("/api/v1/desk/messages/{id}")).await;
    assert_eq!(m["message"]["deliveries"][0]["updated_at"], "2026-12-08T15:20:00Z");

    // A link that does not work, or another delivery's number, shows one plain page.
    let token = url.rsplit('/').next().unwrap();
    let mut wrong = token.to_string();
    wrong.replace_range(0..1, if token.starts_with('A') { "B" } else { "A" });
    for bad in [
        c.app.url(&format!("/inbox/{wrong}")),
        format!("{url}/messages/{}", delivery + 1000),
        format!("{url}/messages/x"),
    ] {
        let r = browser.get(&bad).send().await.unwrap();
        assert_eq!(r.status(), 404, "{bad}");
        assert!(r.text().await.unwrap().contains("This link isn't active"));
    }
    // The manifest makes it an app that opens on this inbox.
    let manifest: Value =
        browser.get(format!("{url}/manifest.webmanifest")).send().await.unwrap().json().await.unwrap();
    assert_eq!(manifest["start_url"], url[c.app.url("").len()..]);
    assert_eq!(manifest["display"], "standalone");
}

#[tokio::test]
async fn a_secure_message_shown_on_the_clients_own_page_is_read_there() {
    let c = Client::from_template("Lakeside Clinic", "medical_clinic").await;
    // The office manager has a Client sign-in and is the contact secure messages go to.
    let office = c.reach("Office manager", json!([{ "kind": "email", "value": "om@lakeside.example" }])).await;
    let user = c.app.user(c.org, "om@lakeside.example", "client").await;
    let r = c
        .app
        .client()
        .put(c.app.url(&format!("/api/v1/brands/{}/contacts/{office}", c.brand)))
        .bearer_auth(&c.key)
        .json(&json!({
            "name": "Office manager",
            "user_id": user.id.0,
            "methods": [{ "kind": "email", "value": "om@lakeside.example" }],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    c.edit_protocol(|p| p["caller_types"][0]["deliveries"][0]["method"] = json!("secure")).await;
    c.at("2026-12-08T15:00:00Z");
    let answers = json!({
        "caller_name": "Jo Park",
        "callback_number": "(312) 555-0188",
        "date_of_birth": "1984-02-29",
        "reason_for_the_call": "Refill of blood pressure medication",
    });
    let (status, body) = c.take("patient", answers, json!({})).await;
    assert_eq!(status, 201, "{body}");
    let id = body["message"]["id"].as_i64().unwrap();
    c.run_engine().await;
    let notice = c.app.mail.expect_mail("om@lakeside.example", Duration::from_secs(5)).await.unwrap();
    assert_eq!(notice.subject, "Lakeside Clinic: a new message in your secure inbox");
    let m = c.get(&format!("/api/v1/desk/messages/{id}")).await;
    assert_eq!(m["message"]["deliveries"][0]["state"], "sent", "the notice went; nobody has read it");

    // Signed in, their page shows it in full: that is the read receipt.
    c.at("2026-12-08T15:07:00Z");
    let b = c.app.signed_in(&user.email).await;
    let (status, html) = b.get_text("/client").await;
    assert_eq!(status, 200);
    assert!(html.contains("<dd>Refill of blood pressure medication</dd>"), "{html}");
    let m = c.get(&format!("/api/v1/desk/messages/{id}")).await;
    assert_eq!(m["message"]["status"], "read");
    assert_eq!(m["message"]["deliveries"][0]["state"], "read");
    assert_eq!(m["message"]["deliveries"][0]["updated_at"], "2026-12-08T15:07:00Z");
}

#[tokio::test]
async fn a_text_on_a_clients_number_opens_a_message_prefilled_from_it() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let b = app.signed_in_demo().await;
    let key = app.api_key(app.db_org_of_demo().await).await;
    // A text to Harbor's number (a desk client) from a number abroad.
    app.sms
        .reply("+4915112345678", "+16175550110", "Basement is flooding near the water heater, please call")
        .await
        .unwrap();
    app.route_inbound().await;
    let r = app.client().get(app.url("/api/v1/leads")).bearer_auth(&key).send().await.unwrap();
    let (_, leads) = json(r).await;
    let lead = leads["leads"].as_array().unwrap().iter().find(|l| l["phone"] == "+4915112345678").unwrap().clone();
    let (id, brand) = (lead["id"].as_i64().unwrap(), lead["brand_id"].as_i64().unwrap());

    let (_, html) = b.get_text(&format!("/leads/{id}")).await;
    let link = format!("/desk?client={brand}&#38;lead={id}");
    assert!(html.contains(&format!(r#"<a class="button small" href="{link}">Take a message</a>"#)), "{html}");
    let (status, html) = b.get_text(&format!("/desk?client={brand}&lead={id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"name="a_callback_number" value="+49 1511 2345678""#), "{html}");
    assert!(
        html.contains(r#">Basement is flooding near the water heater, please call</textarea>"#),
        "what they wrote goes into the first long field: {html}"
    );
    // The message is about the lead: the form carries it and says so.
    assert!(html.contains(&format!(r#"<input type="hidden" name="about" value="lead:{id}">"#)), "{html}");
    assert!(html.contains("<span class=\"muted\">About</span> <strong>Lead from +49 1511 2345678</strong>"), "{html}");
    let csrf = crate::helpers::hidden_csrf(&html).unwrap();
    let about = format!("lead:{id}");
    let brand_id = brand.to_string();
    let r = b
        .post_form(
            "/desk/messages",
            &[
                ("_csrf", csrf.as_str()),
                ("client", brand_id.as_str()),
                ("caller", "caller"),
                ("about", about.as_str()),
                ("a_caller_name", "Jonas Weber"),
                ("a_callback_number", "+49 1511 2345678"),
                ("a_service_address", "4 Harbor Way"),
                ("a_what_is_wrong", "Basement is flooding near the water heater"),
                ("urgent", "1"),
                ("urgent_touched", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = app.client().get(app.url("/api/v1/desk/messages")).bearer_auth(&key).send().await.unwrap();
    let (_, list) = json(r).await;
    assert_eq!(list["messages"][0]["lead_id"], id, "{list}");
    let (_, html) = b.get_text(&format!("/desk?client={brand}")).await;
    assert!(
        html.contains(&format!(
            r#"<span class="muted">About</span> <a href="/leads/{id}">Lead from +49 1511 2345678</a>"#
        )),
        "{html}"
    );
    // A job of Harbor's opens the form too, about the job, with its customer filled in.
    let r = app.client().get(app.url("/api/v1/jobs?q=Sewer")).bearer_auth(&key).send().await.unwrap();
    let (_, jobs) = json(r).await;
    let job = &jobs["jobs"][0];
    let (job_id, code) = (job["id"].as_i64().unwrap(), job["code"].as_str().unwrap());
    let (_, html) = b.get_text(&format!("/jobs/{job_id}")).await;
    let link = format!("/desk?client={brand}&#38;job={job_id}");
    assert!(html.contains(&format!(r#"<a class="button small" href="{link}">Take a message</a>"#)), "{html}");
    let (_, html) = b.get_text(&format!("/desk?client={brand}&job={job_id}")).await;
    assert!(html.contains(&format!(r#"<input type="hidden" name="about" value="job:{job_id}">"#)), "{html}");
    let customer = job["customer_name"].as_str().unwrap();
    let about = format!("<strong>{code} · Sewer camera inspection · {customer}</strong>");
    assert!(html.contains(&about), "{html}");
    assert!(html.contains(&format!(r#"name="a_caller_name" value="{customer}""#)), "{html}");
    // Another organization's operator cannot open it.
    let (_, admin2) = app.org_with_admin("rival").await;
    let other = app.signed_in(&admin2.email).await;
    let (status, _) = other.get_text(&format!("/desk?lead={id}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_operators_screen_suggests_urgency_while_they_type() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let b = app.signed_in_demo().await;
    let org = app.db_org_of_demo().await;
    let harbor = switchboard_core::tenancy::list_brands(&app.db, org)
        .await
        .unwrap()
        .into_iter()
        .find(|b| b.name == "Harbor Plumbing & Drain")
        .unwrap()
        .id
        .0
        .to_string();
    let form = |problem: &'static str, touched: &'static str, urgent: bool| {
        let mut f = vec![
            ("client", harbor.clone()),
            ("caller", "caller".to_string()),
            ("a_what_is_wrong", problem.to_string()),
            ("urgent_touched", touched.to_string()),
        ];
        if urgent {
            f.push(("urgent", "1".to_string()));
        }
        f
    };
    let post = |f: Vec<(&'static str, String)>| {
        let b = &b;
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = b.post_form("/desk/suggest", &pairs).await;
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    // Harbor's protocol counts the brand's urgent words any time.
    let html = post(form("The basement is flooding", "", false)).await;
    assert!(html.contains(r#"name="urgent" value="1" checked"#), "ticked by the rules: {html}");
    assert!(html.contains(r#"Suggested by the rules: the caller said &#34;flooding&#34;</span>"#), "{html}");
    let html = post(form("A dripping faucet", "", false)).await;
    assert!(!html.contains(" checked") && !html.contains("Suggested by the rules"), "{html}");
    // Once the operator set the box, their choice stands; the suggestion still shows.
    let html = post(form("The basement is flooding", "1", false)).await;
    assert!(!html.contains(" checked") && html.contains("Suggested by the rules"), "{html}");
    assert!(html.contains(r#"name="urgent_touched" value="1""#), "{html}");

    // Beside each field, what is wrong with it so far, swapped in out of band; empty once it
    // reads, and nothing yet for a required field still empty.
    let mut f = form("A dripping faucet", "", false);
    f.push(("a_callback_number", "555".to_string()));
    let html = post(f).await;
    let check = |key: &str, wrong: &str| {
        format!(
            r#"<span class="field-error live-check" id="a-{key}-check" aria-live="polite" hx-swap-oob="true">{wrong}</span>"#
        )
    };
    let (_, page) = b.get_text(&format!("/desk?client={harbor}&caller=caller")).await;
    let wrong = "&#34;555&#34; is not a valid phone number";
    assert!(html.contains(&check("callback_number", wrong)), "{html}");
    assert!(!html.contains(&check("callback_number", "")), "a number that cannot be one is named: {html}");
    assert!(html.contains(&check("caller_name", "")), "an empty required field is not an error yet: {html}");
    assert!(
        page.contains(
            r#"<span class="field-error live-check" id="a-callback_number-check" aria-live="polite"></span>"#
        ),
        "{page}"
    );
    let mut f = form("A dripping faucet", "", false);
    f.push(("a_callback_number", "617 555 0134".to_string()));
    let html = post(f).await;
    assert!(html.contains(&check("callback_number", "")), "it reads now: {html}");
}

#[tokio::test]
async fn a_clients_sign_in_sees_its_own_messages_and_checks_in_never_another_clients() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let org = app.db_org_of_demo().await;
    let key = app.api_key(org).await;
    let brands = switchboard_core::tenancy::list_brands(&app.db, org).await.unwrap();
    let harbor = brands.iter().find(|b| b.name == "Harbor Plumbing & Drain").unwrap().id;
    // A second client of the desk, with its own message.
    let other = app.brand(org, "Lakeside Clinic").await.id;
    let (status, _) = app
        .api_post(&key, &format!("/api/v1/brands/{}/protocol/template", other.0), json!({ "template": "solo_lawyer" }))
        .await;
    assert_eq!(status, 200);
    let take = |brand: BrandId, caller: &str, answers: &[(&str, &str)]| {
        let input = switchboard_core::desk::messages::TakeInput {
            caller_type: caller.into(),
            answers: answers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        };
        let (db, clock) = (app.db.clone(), app.clock.clone());
        async move { switchboard_core::desk::messages::take(&db, &clock, org, brand, "api", &input).await.unwrap() }
    };
    let mine = take(
        harbor,
        "caller",
        &[
            ("caller_name", "Paula Mendes"),
            ("callback_number", "617 555 0199"),
            ("service_address", "12 Beacon St"),
            ("what_is_wrong", "Slow drain"),
        ],
    )
    .await;
    let theirs = take(
        other,
        "caller",
        &[("caller_name", "Sam Okafor"), ("callback_number", "312 555 0177"), ("message", "Lease review")],
    )
    .await;

    // Harbor's office manager gets a Client sign-in, linked to Harbor's "Office" contact in
    // Settings (the form keeps the link on later saves).
    let client = app.user(org, "office@harbor.example", "client").await;
    let admin = app.signed_in_demo().await;
    let office = switchboard_core::desk::contacts::list(&app.db, org, harbor)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "Office")
        .unwrap();
    let (_, html) = admin.get_text(&format!("/settings/desk/{}/contacts", harbor.0)).await;
    assert!(
        html.contains(&format!(r#"<option value="{}">client office ({})</option>"#, client.id.0, "Client")),
        "{html}"
    );
    let r = admin
        .post_form(
            &format!("/settings/desk/{}/contacts/{}", harbor.0, office.id),
            &[
                ("name", "Office"),
                ("title", "Dispatch desk"),
                ("user_id", &client.id.0.to_string()),
                ("m1_kind", "email"),
                ("m1_value", "office@harbor.demo.switchboard.test"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let saved = switchboard_core::desk::contacts::get(&app.db, org, harbor, office.id).await.unwrap();
    assert_eq!(saved.user_id, Some(client.id));

    // Signed in, they land on their messages: Harbor's, not the clinic's.
    let b = app.signed_in(&client.email).await;
    let r = b.get("/jobs").await;
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/client"));
    let (status, html) = b.get_text("/client").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Your messages</h1>") && html.contains("Harbor Plumbing &#38; Drain"), "{html}");
    assert!(html.contains(&format!(r#"id="message-{}""#, mine.id)) && html.contains("<dd>Paula Mendes</dd>"), "{html}");
    assert!(!html.contains("Sam Okafor") && !html.contains(&format!(r#"id="message-{}""#, theirs.id)), "{html}");
    for path in ["/desk", "/leads", &format!("/settings/desk/{}", harbor.0)] {
        let r = b.get(path).await;
        assert_eq!(r.headers().get("location").map(|l| l.to_str().unwrap()), Some("/client"), "{path}");
    }
    // Checking in on their own message records them; another client's is not found.
    let r = b.post_form(&format!("/client/messages/{}/retrieve", theirs.id), &[]).await;
    assert_eq!(r.status(), 404);
    let r = b.post_form(&format!("/client/messages/{}/retrieve", mine.id), &[]).await;
    assert_eq!(r.status(), 303);
    let m = switchboard_core::desk::messages::get(&app.db, org, mine.id).await.unwrap();
    assert_eq!(m.retrieved_by.as_deref(), Some("user:client office"));
    let (_, html) = b.get_text("/client?done=retrieved").await;
    assert!(html.contains("Retrieved by client office just now"), "{html}");
    // Console actions stay closed to them.
    let r = b.post_form(&format!("/desk/messages/{}/retrieve", theirs.id), &[]).await;
    assert_eq!(r.status(), 403);

    // Their history is searchable: by a name, a number however it is written, words, a day;
    // another client's messages are never found.
    // Past midnight in Boston, in two steps so the sign-in stays fresh.
    app.clock.advance(jiff::SignedDuration::from_hours(7));
    b.get_text("/client").await;
    app.clock.advance(jiff::SignedDuration::from_hours(7));
    let flood = take(
        harbor,
        "caller",
        &[
            ("caller_name", "Ravi Shah"),
            ("callback_number", "617 555 0142"),
            ("service_address", "9 Elm St"),
            ("what_is_wrong", "Basement flooding"),
        ],
    )
    .await;
    assert!(flood.urgent, "\"flooding\" is one of Harbor's urgent words");
    let (_, html) = b.get_text("/client").await;
    assert!(html.contains("Not confirmed"), "an urgent message nobody has confirmed says so: {html}");
    for (q, found, shown) in [
        ("paula", "1 message matches.", Some("Paula Mendes")),
        ("PAULA mendes", "1 message matches.", Some("Paula Mendes")),
        ("%28617%29+555-0142", "1 message matches.", Some("Ravi Shah")),
        ("6175550142", "1 message matches.", Some("Ravi Shah")),
        ("basement", "1 message matches.", Some("Ravi Shah")),
        ("okafor", "No messages match.", None),
        ("5550177", "No messages match.", None),
        ("paula&date=2026-11-23", "No messages match.", None),
        ("&date=2026-11-23", "1 message matches.", Some("Ravi Shah")),
    ] {
        let (status, html) = b.get_text(&format!("/client?q={q}")).await;
        assert_eq!(status, 200);
        assert!(html.contains(&format!(r#"<p class="muted" role="status">{found}</p>"#)), "{q}: {html}");
        for name in ["Paula Mendes", "Ravi Shah", "Sam Okafor"] {
            assert_eq!(html.contains(&format!("<dd>{name}</dd>")), shown == Some(name), "{q}: {name}");
        }
    }

    // The office's API searches the same way, across clients.
    let r = app.client().get(app.url("/api/v1/desk/messages?q=okafor")).bearer_auth(&key).send().await.unwrap();
    let (status, body) = crate::helpers::json(r).await;
    assert_eq!(status, 200);
    let ids: Vec<i64> = body["messages"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [theirs.id]);
    assert_eq!(body["messages"][0]["confirmed"], Value::Null, "a routine message has nothing to confirm");
    let r = app.client().get(app.url("/api/v1/desk/messages?q=flooding")).bearer_auth(&key).send().await.unwrap();
    let (_, body) = crate::helpers::json(r).await;
    assert_eq!(body["messages"][0]["id"], flood.id);
    assert_eq!(body["messages"][0]["confirmed"], false);
}

#[tokio::test]
async fn recaps_that_fall_due_together_all_go_out_at_once() {
    // More clients than the database pool has connections: each recap must not hold one
    // connection while waiting for another.
    const CLIENTS: usize = 40;
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("answering").await;
    app.clock.set("2026-12-08T04:00:00Z".parse().unwrap());
    for i in 0..CLIENTS {
        let brand = app.brand(org, &format!("Property client {i}")).await.id;
        let contact = switchboard_core::desk::contacts::ContactInput {
            name: "Property manager".into(),
            methods: vec![("email".into(), format!("pm{i}@lakeview.example"))],
            ..Default::default()
        };
        switchboard_core::desk::contacts::create(&app.db, &app.clock, org, brand, &contact).await.unwrap();
        switchboard_core::desk::apply_template(&app.db, &app.clock, org, brand, "api", "property_management")
            .await
            .unwrap();
        let input = switchboard_core::desk::messages::TakeInput {
            caller_type: "tenant".into(),
            answers: [
                ("caller_name", "Ana Silva"),
                ("callback_number", "(312) 555-0123"),
                ("property_and_unit", "400 N Lake Shore, 12B"),
                ("problem", "Hallway light is out"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            ..Default::default()
        };
        switchboard_core::desk::messages::take(&app.db, &app.clock, org, brand, "api", &input).await.unwrap();
    }
    // 8:00 AM in Chicago: one engine pass sends every recap.
    app.clock.set("2026-12-08T14:00:00Z".parse().unwrap());
    app.engine.tick().await.unwrap();
    let (recaps,): (i64,) = sqlx::query_as("select count(*) from messages where subject like '%recap'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(recaps as usize, CLIENTS);
}

#[tokio::test]
async fn a_message_sent_twice_with_one_key_is_taken_and_delivered_once() {
    let c = Client::from_template("Imaginary Plumbing", "hvac_plumbing").await;
    c.reach("Office", json!([{ "kind": "email", "value": "office@imaginary.example" }])).await;
    c.at("2026-12-08T15:00:00Z");
    let send = |key: Option<String>| {
        let c = &c;
        async move {
            let mut r = c.app.client().post(c.app.url("/api/v1/desk/messages")).bearer_auth(&c.key).json(&json!({
                "client_id": c.brand, "caller_type": "caller", "answers": plumbing_answers("Dripping kitchen faucet"),
            }));
            if let Some(k) = &key {
                r = r.header("Idempotency-Key", k);
            }
            let r = r.send().await.unwrap();
            let replayed = r.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap().to_string());
            let (status, body) = json(r).await;
            (status, body["message"]["id"].as_i64(), replayed, body)
        }
    };
    // A client's retry after a timeout: the same message, said to be a replay.
    let (status, first, replayed, body) = send(Some("retry-7f3a".into())).await;
    assert_eq!((status, replayed), (201, None), "{body}");
    let (status, again, replayed, _) = send(Some("retry-7f3a".into())).await;
    assert_eq!((status, again, replayed.as_deref()), (201, first, Some("true")));
    // Four at once with another key: one message.
    let together = futures_util::future::join_all((0..4).map(|_| send(Some("burst-19c2".into())))).await;
    let ids: std::collections::BTreeSet<Option<i64>> = together.iter().map(|(_, id, _, _)| *id).collect();
    assert_eq!(ids.len(), 1, "{together:?}");
    assert_eq!(together.iter().filter(|(_, _, r, _)| r.is_none()).count(), 1, "one took it, three were replays");
    // A key that cannot be one is refused, and nothing is taken.
    let (status, id, _, body) = send(Some("k".repeat(201))).await;
    assert_eq!((status, id), (422, None));
    assert_eq!(
        body["error"]["fields"],
        json!([{ "field": "Idempotency-Key", "message": "a key of 1 to 200 printable characters" }])
    );
    // Without a key, each request is a message of its own.
    let (_, other, _, _) = send(None).await;
    assert_ne!(other, first);

    // The operator's form, sent twice (a double click): one message, the same place on the board.
    let b = c.app.signed_in("admin@answering.example.com").await;
    let (_, html) = b.get_text(&format!("/desk?client={}&caller=caller", c.brand)).await;
    let at = html.find(r#"name="submit_key" value=""#).expect("the form carries its key") + 25;
    let key = html[at..at + html[at..].find('"').unwrap()].to_string();
    assert_eq!(key.len(), 43, "a 256-bit key: {key}");
    let brand = c.brand.to_string();
    let form = [
        ("client", brand.as_str()),
        ("caller", "caller"),
        ("submit_key", key.as_str()),
        ("a_caller_name", "Ben Carter"),
        ("a_callback_number", "(312) 555-0188"),
        ("a_service_address", "4 Clark St"),
        ("a_what_is_wrong", "Running toilet"),
        ("a_best_time_to_call", "Evening"),
    ];
    let (one, two) = tokio::join!(b.post_form("/desk/messages", &form), b.post_form("/desk/messages", &form));
    assert_eq!((one.status().as_u16(), two.status().as_u16()), (303, 303));
    assert_eq!(one.headers()["location"], two.headers()["location"]);
    let list = c.get("/api/v1/desk/messages?limit=50").await;
    let bens =
        list["messages"].as_array().unwrap().iter().filter(|m| m["answers"].to_string().contains("Ben Carter")).count();
    assert_eq!(bens, 1);
    // A fresh form has a fresh key.
    let (_, html) = b.get_text(&format!("/desk?client={}&caller=caller", c.brand)).await;
    assert!(!html.contains(&key));

    // Each message was emailed to the office once: the first, the burst's, the keyless one, Ben's.
    c.run_engine().await;
    let mails = c.app.mail.mails();
    let to_office = mails.iter().filter(|m| m.rcpt_to.iter().any(|r| r == "office@imaginary.example")).count();
    assert_eq!(to_office, 4);
}

#[tokio::test]
async fn a_message_held_for_check_in_waits_until_someone_retrieves_it_and_then_says_who() {
    let c = Client::from_template("Imaginary Plumbing", "hvac_plumbing").await;
    c.edit_protocol(|p| {
        p["caller_types"][0]["deliveries"] = json!([{ "urgent": false, "when": "always", "method": "check_in" }]);
    })
    .await;
    c.at("2026-12-08T15:00:00Z");
    let (status, body) = c.take("caller", plumbing_answers("Dripping kitchen faucet"), json!({})).await;
    assert_eq!(status, 201, "{body}");
    let id = body["message"]["id"].as_i64().unwrap();
    assert_eq!(body["message"]["status"], "held");
    assert_eq!(deliveries(&body["message"]), [row("check_in", "Imaginary Plumbing", "", "waiting", "")]);
    // Nothing goes anywhere, however long it waits.
    c.run_engine().await;
    assert!(c.app.mail.mails().is_empty());
    let b = c.app.signed_in("admin@answering.example.com").await;
    let (_, html) = b.get_text(&format!("/desk?client={}", c.brand)).await;
    assert!(html.contains("Held for check-in"), "{html}");

    // The office checks in by phone; the operator marks it retrieved from the board.
    c.at("2026-12-08T16:30:00Z");
    let r = b.post_form(&format!("/desk/messages/{id}/retrieve"), &[]).await;
    assert_eq!(r.status(), 303);
    let m = c.get(&format!("/api/v1/desk/messages/{id}")).await["message"].clone();
    assert_eq!(m["status"], "retrieved");
    assert_eq!(deliveries(&m), [row("check_in", "Imaginary Plumbing", "", "read", "retrieved by admin admin")]);
    assert_eq!(m["deliveries"][0]["read_at"], "2026-12-08T16:30:00Z");
    // Marking it again changes nothing.
    c.at("2026-12-08T17:00:00Z");
    let (status, again) = c.post(&format!("/api/v1/desk/messages/{id}/retrieve"), json!({})).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["message"]["deliveries"][0]["read_at"], "2026-12-08T16:30:00Z");
    assert_eq!(deliveries(&again["message"])[0].4, "retrieved by admin admin");
}

#[tokio::test]
async fn the_clinic_as_shipped_emails_the_office_manager_and_texts_urgent_lab_calls_to_the_doctor_and_manager() {
    let c = Client::from_template("Lakeside Clinic", "medical_clinic").await;
    c.reach(
        "Office manager",
        json!([{ "kind": "email", "value": "manager@lakeside.example" }, { "kind": "cell", "value": "(312) 555-0161" }]),
    )
    .await;
    c.reach("On-call doctor", json!([{ "kind": "cell", "value": "(312) 555-0177" }])).await;
    // Tuesday 9:00 AM in Chicago.
    c.at("2026-12-08T15:00:00Z");
    let lab = |message: &str| {
        json!({
            "caller_name": "Sam Ortiz",
            "practice_or_lab": "Front Range Labs",
            "callback_number": "(312) 555-0190",
            "message": message,
        })
    };

    // A lab's routine call: an email to the office manager, at once.
    let (status, body) = c.take("doctor_or_lab", lab("Results for J. Park are ready"), json!({})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        deliveries(&body["message"]),
        [row("email", "Office manager", "manager@lakeside.example", "sending", "")]
    );
    c.run_engine().await;
    let mail = c.app.mail.expect_mail("manager@lakeside.example", Duration::from_secs(5)).await.unwrap();
    assert_eq!(mail.subject, "Message for Lakeside Clinic from Sam Ortiz");
    assert_eq!(
        text_of(&mail),
        "Message for Lakeside Clinic, taken at 9:00 AM Tue Dec 8.\n\n\
         Caller: Doctor or lab\n\
         Caller's name: Sam Ortiz\n\
         Callback number: (312) 555-0190\n\
         Practice or lab: Front Range Labs\n\
         Message: Results for J. Park are ready"
    );

    // An urgent one (a critical value): texts to the on-call doctor and the office manager.
    c.at("2026-12-08T15:10:00Z");
    let (status, body) = c
        .take(
            "doctor_or_lab",
            lab("Critical potassium 6.8 for J. Park"),
            json!({ "urgent": true, "urgent_reason": "critical lab value" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        deliveries(&body["message"]),
        [
            row("text", "On-call doctor", "+13125550177", "sending", ""),
            row("text", "Office manager", "+13125550161", "sending", ""),
        ]
    );
    c.run_engine().await;
    let expected = "URGENT Lakeside Clinic message (Doctor or lab): Caller's name: Sam Ortiz; Callback number: \
                    (312) 555-0190; Practice or lab: Front Range Labs; Message: Critical potassium 6.8 for J. Park. \
                    Taken 9:10 AM Tue Dec 8.";
    for to in ["+13125550177", "+13125550161"] {
        let text = c.app.sms.expect_sms(to, Duration::from_secs(5)).await.unwrap();
        assert_eq!((text.from.as_str(), text.body.as_str()), ("+13125550100", expected), "to {to}");
    }
}

#[tokio::test]
async fn the_board_and_the_api_page_through_every_message_newest_first() {
    let c = Client::from_template("Imaginary Plumbing", "hvac_plumbing").await;
    c.at("2026-12-08T15:00:00Z");
    let brand = switchboard_core::ids::BrandId(c.brand);
    for i in 1..=55 {
        let problem = if i % 2 == 0 { format!("Leak number {i}") } else { format!("Clog number {i}") };
        let input = switchboard_core::desk::messages::TakeInput {
            caller_type: "caller".into(),
            answers: [
                ("caller_name", format!("Caller {i:02}")),
                ("callback_number", "(312) 555-0199".to_string()),
                ("service_address", "12 Wacker Dr".to_string()),
                ("what_is_wrong", problem),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            urgent: Some(false),
            ..Default::default()
        };
        switchboard_core::desk::messages::take(&c.app.db, &c.app.clock, c.org, brand, "api", &input).await.unwrap();
        c.app.clock.advance(jiff::SignedDuration::from_mins(1));
    }
    let names = |v: &Value| -> Vec<String> {
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["answers"][0]["value"].as_str().unwrap().to_string())
            .collect()
    };
    // The API: pages of 20, newest first, then what is left, and no next page after it.
    let first = c.get("/api/v1/desk/messages?limit=20").await;
    assert_eq!(names(&first)[0], "Caller 55");
    assert_eq!(first["next_offset"], 20);
    let last = c.get("/api/v1/desk/messages?limit=20&offset=40").await;
    assert_eq!(names(&last).len(), 15);
    assert_eq!(names(&last)[14], "Caller 01");
    assert_eq!(last["next_offset"], Value::Null);
    // With words, the pages are of the matching messages only.
    let leaks = c.get("/api/v1/desk/messages?q=leak&limit=20").await;
    assert_eq!((names(&leaks).len(), leaks["next_offset"].clone()), (20, json!(20)));
    let rest = c.get("/api/v1/desk/messages?q=leak&limit=20&offset=20").await;
    assert_eq!(
        names(&rest),
        ["Caller 14", "Caller 12", "Caller 10", "Caller 08", "Caller 06", "Caller 04", "Caller 02"]
    );
    assert_eq!(rest["next_offset"], Value::Null);

    // The board: fifty, then the older ones one click away, with the filters kept.
    let b = c.app.signed_in("admin@answering.example.com").await;
    let (_, html) = b.get_text(&format!("/desk?client={}", c.brand)).await;
    assert_eq!(html.matches(r#"<li class="desk-message"#).count(), 50);
    let older = format!(
        r#"<a class="button small ghost" href="/desk?client={}&#38;page=2#desk-board" rel="next">Older messages</a>"#,
        c.brand
    );
    assert!(html.contains(&older), "{html}");
    assert!(!html.contains("Newer messages"));
    let (_, html) = b.get_text(&format!("/desk?client={}&page=2", c.brand)).await;
    assert_eq!(html.matches(r#"<li class="desk-message"#).count(), 5);
    assert!(html.contains("<dd>Caller 01</dd>") && !html.contains("Older messages"), "{html}");
    assert!(
        html.contains(&format!(r#"href="/desk?client={}#desk-board" rel="prev">Newer messages</a>"#, c.brand)),
        "{html}"
    );
    let (_, html) = b.get_text(&format!("/desk?client={}&q=clog&page=1", c.brand)).await;
    assert_eq!(html.matches(r#"<li class="desk-message"#).count(), 28);
    assert!(!html.contains("Older messages"));
    let (_, html) = b.get_text(&format!("/desk?client={}&page=9", c.brand)).await;
    assert!(html.contains("No more messages."), "{html}");
}

#[tokio::test]
async fn each_delivery_keeps_its_steps_and_the_board_shows_them_with_who_sent_it_again() {
    let c = Client::from_template("Imaginary Plumbing", "hvac_plumbing").await;
    c.reach("Office", json!([{ "kind": "email", "value": "office@imaginary.example" }])).await;
    c.reach("On-call technician", json!([{ "kind": "cell", "value": "(312) 555-0142" }])).await;
    c.at("2026-12-08T15:05:00Z");
    let (status, body) = c.take("caller", plumbing_answers("No heat since last night"), json!({})).await;
    assert_eq!(status, 201, "{body}");
    let id = body["message"]["id"].as_i64().unwrap();
    c.run_engine().await;
    c.app.sms.settle(Duration::from_secs(5)).await.unwrap();
    let m = c.get(&format!("/api/v1/desk/messages/{id}")).await["message"].clone();
    let steps = |d: &Value| -> Vec<String> {
        d["history"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap().to_string()).collect()
    };
    let text = m["deliveries"].as_array().unwrap().iter().find(|d| d["method"] == "text").unwrap().clone();
    assert_eq!(steps(&text), ["sent", "delivered"]);
    let email = m["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["method"] == "email" && d["recipient"] == "Office")
        .unwrap()
        .clone();
    assert_eq!(steps(&email), ["sent"]);
    // The engine ran two seconds apart: the text went at 9:05, delivered once the carrier said so.
    assert_eq!(text["history"][0]["at"].as_str().unwrap()[..16], *"2026-12-08T15:05");

    // The office sends it again from the board: the new attempts say who.
    let b = c.app.signed_in("admin@answering.example.com").await;
    c.at("2026-12-08T16:40:00Z");
    let r = b.post_form(&format!("/desk/messages/{id}/redeliver"), &[]).await;
    assert_eq!(r.status(), 303);
    c.run_engine().await;
    c.app.sms.settle(Duration::from_secs(5)).await.unwrap();
    let (_, html) = b.get_text(&format!("/desk?client={}", c.brand)).await;
    assert!(
        html.contains(
            r#"<span class="attempt-steps muted small">queued 9:05 AM · sent 9:05 AM · delivered 9:05 AM</span>"#
        ),
        "the first text's steps: {html}"
    );
    assert!(
        html.contains(r#"<span class="attempt-steps muted small">queued 10:40 AM by admin admin · sent 10:40 AM · delivered 10:40 AM</span>"#),
        "the text sent again: {html}"
    );
    assert!(
        html.contains(
            r#"<span class="attempt-steps muted small">queued 10:40 AM by admin admin · sent 10:40 AM</span>"#
        ),
        "the email sent again: {html}"
    );
}
