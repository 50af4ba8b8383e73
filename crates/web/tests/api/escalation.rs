//! Urgent messages escalate by their caller type's flow until someone confirms (issue 15):
//! texts asking for a reply code go through the Twilio stand-in, replies come back as signed
//! webhooks, timers run on the test clock. Each text is checked word for word.

use std::time::Duration;

use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::desk_delivery::Client;
use switchboard_standins::twilio::Pickup;

const CLIENT_NUMBER: &str = "+13125550100";
const BEN: &str = "+13125550142";
const CY: &str = "+13125550143";
const DANA: &str = "+13125550177";

struct Clinic {
    c: Client,
    schedule: i64,
    ben: i64,
    cy: i64,
    dana: i64,
}

/// Imaginary Plumbing from the HVAC template, with Ben and Cy on a "Nights" rotation (Ben
/// tonight, Monday Dec 7 in Chicago) and Dana, the owner.
async fn plumbing() -> Clinic {
    let c = Client::from_template("Imaginary Plumbing", "hvac_plumbing").await;
    c.reach("On-call technician", json!([{ "kind": "email", "value": "oncall@imaginary.example" }])).await;
    let contact = |name: &str, cell: &str| json!({ "name": name, "methods": [{ "kind": "cell", "value": cell }] });
    let mut ids = Vec::new();
    for (name, cell) in [("Ben Ortiz", BEN), ("Cy Relief", CY), ("Dana Owner", DANA)] {
        let (status, body) = c.post(&format!("/api/v1/brands/{}/contacts", c.brand), contact(name, cell)).await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["contact"]["id"].as_i64().unwrap());
    }
    let layer = json!({
        "name": "Nights",
        "members": [format!("contact:{}", ids[0]), format!("contact:{}", ids[1])],
        "shift": { "unit": "days", "count": 1 },
        "start": "2026-12-07T08:00",
    });
    let (status, body) =
        c.post("/api/v1/schedules", json!({ "client_id": c.brand, "name": "Nights", "layers": [layer] })).await;
    assert_eq!(status, 201, "{body}");
    let schedule = body["schedule"]["id"].as_i64().unwrap();
    // Monday Dec 7, 9:00 PM in Chicago.
    c.at("2026-12-08T03:00:00Z");
    Clinic { c, schedule, ben: ids[0], cy: ids[1], dana: ids[2] }
}

impl Clinic {
    async fn flow(&self, flow: Value) {
        self.c
            .edit_protocol(|p| {
                p["caller_types"][0]["urgent_flow"] = flow;
            })
            .await;
    }

    /// Text the on-call tech for a code (15 min), then text Dana for a code (5 min); once.
    async fn tech_then_owner(&self) {
        self.flow(json!({
            "steps": [
                { "action": "text_confirm", "targets": [{ "kind": "on_call", "schedule_id": self.schedule }], "wait_minutes": 15 },
                { "action": "text_confirm", "targets": [{ "kind": "contact", "contact_id": self.dana, "channel": "cell" }], "wait_minutes": 5 },
            ],
            "repeat": "times", "rounds": 1,
        }))
        .await;
    }

    async fn take(&self, problem: &str) -> i64 {
        let answers = json!({
            "caller_name": "Paula Mendes",
            "callback_number": "(312) 555-0199",
            "service_address": "12 Wacker Dr",
            "what_is_wrong": problem,
            "best_time_to_call": "Evening",
        });
        let (status, body) =
            self.c.take("caller", answers, json!({ "urgent": true, "urgent_reason": "No heat" })).await;
        assert_eq!(status, 201, "{body}");
        body["message"]["id"].as_i64().unwrap()
    }

    async fn message(&self, id: i64) -> Value {
        self.c.get(&format!("/api/v1/desk/messages/{id}")).await["message"].clone()
    }

    /// The next text to `to`, with the acknowledgement link it ends with (if any) checked to be
    /// one of ours and shown as "(their link)".
    async fn text(&self, to: &str) -> String {
        self.text_and_link(to).await.0
    }

    /// [`Clinic::text`], and the link.
    async fn text_and_link(&self, to: &str) -> (String, Option<String>) {
        let body = self.c.app.sms.expect_sms(to, Duration::from_secs(5)).await.unwrap().body;
        let prefix = self.c.app.url("/ack/");
        match body.find(&prefix) {
            Some(at) => {
                let link = body[at..].to_string();
                let token = &link[prefix.len()..];
                assert!(token.len() == 43 && !token.contains(' '), "{link}");
                (format!("{}(their link)", &body[..at]), Some(link))
            }
            None => (body, None),
        }
    }

    async fn reply(&self, from: &str, body: &str) {
        assert_eq!(self.c.app.sms.reply(from, CLIENT_NUMBER, body).await.unwrap(), 200);
        self.c.run_engine().await;
    }

    fn minutes(&self, m: i64) {
        self.c.app.clock.advance(SignedDuration::from_mins(m));
    }
}

/// (kind, step, person, detail) of each timeline line.
fn timeline(m: &Value) -> Vec<(String, u64, String, String)> {
    m["escalation"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
            (s("kind"), e["step"].as_u64().unwrap(), s("person"), s("detail"))
        })
        .collect()
}

fn line(kind: &str, step: u64, person: &str, detail: &str) -> (String, u64, String, String) {
    (kind.into(), step, person.into(), detail.into())
}

/// The text asking for `code` about a message whose problem is `problem`, up to the person's
/// own link (see [`Clinic::text`]).
fn ask(problem: &str, code: &str) -> String {
    format!(
        "URGENT Imaginary Plumbing message: Caller's name: Paula Mendes; Callback number: (312) 555-0199; \
         Service address: 12 Wacker Dr; What is wrong: {problem}; Best time to call: Evening. Taken 9:00 PM Mon Dec 7. \
         Reply {code} to confirm you are taking it, or accept or pass: (their link)"
    )
}

const HEAT: &str = "No heat, the house is freezing";

#[tokio::test]
async fn an_unanswered_text_escalates_to_the_next_person_whose_reply_confirms_and_stops_everything() {
    let k = plumbing().await;
    k.tech_then_owner().await;
    let id = k.take("No heat, the house is freezing").await;
    k.c.run_engine().await;
    // Ben is on call tonight: texted at once, asked for a code.
    assert_eq!(k.text(BEN).await, ask(HEAT, "1ok"));
    let m = k.message(id).await;
    assert_eq!(m["escalation"]["state"], "escalating");
    assert_eq!(m["escalation"]["summary"], "Escalating: step 1 of 2");
    assert_eq!(m["confirmed"], false);

    // 14 minutes: still waiting for Ben; nothing to Dana.
    k.minutes(14);
    k.c.run_engine().await;
    assert!(k.c.app.sms.sent_to(DANA).is_empty());
    // 15 minutes and no reply: Dana is texted, with a code of her own.
    k.minutes(1);
    k.c.run_engine().await;
    assert_eq!(k.text(DANA).await, ask(HEAT, "1ok"));
    assert_eq!(k.message(id).await["escalation"]["summary"], "Escalating: step 2 of 2");

    // Dana replies with spacing and a full stop: confirmed. She is thanked; Ben is told.
    k.reply(DANA, "1 OK.").await;
    assert_eq!(k.text(DANA).await, "Confirmed, thank you. The urgent message for Imaginary Plumbing is yours.");
    assert_eq!(
        k.text(BEN).await,
        "Imaginary Plumbing: the urgent message you were sent is handled (Dana Owner confirmed it). No need to reply."
    );
    let m = k.message(id).await;
    assert_eq!(m["escalation"]["state"], "confirmed");
    assert_eq!(m["escalation"]["summary"], "Confirmed by Dana Owner (replied \"1 OK.\")");
    assert_eq!(m["confirmed"], true);

    // Her wait would have ended 5 minutes later: nothing more goes to anyone, ever.
    k.minutes(30);
    k.c.run_engine().await;
    assert_eq!((k.c.app.sms.sent_to(BEN).len(), k.c.app.sms.sent_to(DANA).len()), (2, 2));

    // Ben answers late: his code is stale, and he is told so instead of starting a lead.
    k.reply(BEN, "1ok").await;
    assert_eq!(k.text(BEN).await, "No urgent message is waiting for you to confirm. Thank you.");
    let leads = k.c.get("/api/v1/leads").await;
    assert_eq!(leads["leads"].as_array().unwrap().len(), 0, "{leads}");

    let m = k.message(id).await;
    let ask = ask(HEAT, "1ok");
    assert_eq!(
        timeline(&m),
        [
            line("started", 0, "", "2 steps, once"),
            line("sent", 1, "Ben Ortiz", &ask),
            line("waiting", 1, "", "waiting 15 min for a confirmation"),
            line("sent", 2, "Dana Owner", &ask),
            line("waiting", 2, "", "waiting 5 min for a confirmation"),
            line("confirmed", 2, "Dana Owner", "replied \"1 OK.\""),
            line(
                "told",
                2,
                "Ben Ortiz",
                "Imaginary Plumbing: the urgent message you were sent is handled (Dana Owner confirmed it). No need to reply."
            ),
            line(
                "thanked",
                2,
                "Dana Owner",
                "Confirmed, thank you. The urgent message for Imaginary Plumbing is yours."
            ),
        ]
    );
    let first = &m["escalation"]["timeline"][1];
    assert_eq!((first["target"].as_str(), first["address"].as_str()), (Some("On call for Nights (cell)"), Some(BEN)));
}

#[tokio::test]
async fn a_code_replied_after_the_flow_ended_with_nobody_still_takes_the_message_for_a_day() {
    let k = plumbing().await;
    k.tech_then_owner().await;
    let id = k.take(HEAT).await;
    k.c.run_engine().await;
    assert_eq!(k.text(BEN).await, ask(HEAT, "1ok"));
    k.minutes(15);
    k.c.run_engine().await;
    assert_eq!(k.text(DANA).await, ask(HEAT, "1ok"));
    k.minutes(5);
    k.c.run_engine().await;
    assert_eq!(k.message(id).await["escalation"]["summary"], "Nobody confirmed");

    // Forty minutes on, Ben sees his phone: a wrong code is still answered as ever...
    k.minutes(40);
    k.reply(BEN, "2ok").await;
    assert_eq!(k.text(BEN).await, "No urgent message is waiting for you to confirm. Thank you.");
    // ...and his own takes the message: he is thanked, Dana is told, the desk sees it.
    k.reply(BEN, "1 ok").await;
    assert_eq!(k.text(BEN).await, "Confirmed, thank you. The urgent message for Imaginary Plumbing is yours.");
    assert_eq!(
        k.text(DANA).await,
        "Imaginary Plumbing: the urgent message you were sent is handled (Ben Ortiz confirmed it). No need to reply."
    );
    let m = k.message(id).await;
    assert_eq!(m["escalation"]["state"], "confirmed");
    assert_eq!(m["escalation"]["summary"], "Confirmed by Ben Ortiz (replied \"1 ok\")");
    let kinds: Vec<(String, String)> = timeline(&m).into_iter().skip(5).map(|l| (l.0, l.3)).collect();
    assert_eq!(
        kinds,
        [
            ("exhausted".to_string(), "the flow ended and nobody confirmed".to_string()),
            ("fallback_skipped".into(), "the client has no fallback contact: the desk must call someone".into()),
            ("confirmed".into(), "replied \"1 ok\" after the flow ended".into()),
            ("thanked".into(), "Confirmed, thank you. The urgent message for Imaginary Plumbing is yours.".into()),
            (
                "told".into(),
                "Imaginary Plumbing: the urgent message you were sent is handled (Ben Ortiz confirmed it). No need to reply."
                    .into()
            ),
        ]
    );
    // Dana's late ok finds it handled.
    k.reply(DANA, "ok").await;
    assert_eq!(k.text(DANA).await, "No urgent message is waiting for you to confirm. Thank you.");
    assert_eq!(k.message(id).await["escalation"]["summary"], "Confirmed by Ben Ortiz (replied \"1 ok\")");

    // Another flow ends with nobody: Dana's link offers it to her still, and Accept takes it.
    const LEAK: &str = "Water heater leaking everywhere";
    let second = k.take(LEAK).await;
    k.c.run_engine().await;
    assert_eq!(k.text(BEN).await, ask(LEAK, "1ok").replace("Taken 9:00 PM", "Taken 10:00 PM"));
    k.minutes(15);
    k.c.run_engine().await;
    let (_, dana_link) = k.text_and_link(DANA).await;
    let dana_link = dana_link.unwrap();
    k.minutes(5);
    k.c.run_engine().await;
    let client = k.c.app.browser();
    let page = client.get(&dana_link).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<h1>Can you still take it?</h1>"), "{page}");
    assert!(page.contains("Its urgent flow ended without a confirmation and the desk was told."), "{page}");
    assert!(page.contains("Accept: I'm taking it"), "{page}");
    assert!(!page.contains("Pass to the next person"), "{page}");
    let r = client.post(format!("{dana_link}/accept")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let m = k.message(second).await;
    assert_eq!(m["escalation"]["summary"], "Confirmed by Dana Owner (accepted from their link)");
    assert_eq!(
        timeline(&m).last().map(|l| l.3.clone()).unwrap_or_default(),
        "Imaginary Plumbing: the urgent message you were sent is handled (Dana Owner confirmed it). No need to reply."
    );
    k.c.run_engine().await;
    assert_eq!(
        k.text(BEN).await,
        "Imaginary Plumbing: the urgent message you were sent is handled (Dana Owner confirmed it). No need to reply."
    );

    // A day after a third flow ends, its code no longer takes it.
    let third = k.take(HEAT).await;
    k.c.run_engine().await;
    assert_eq!(k.text(BEN).await, ask(HEAT, "1ok").replace("Taken 9:00 PM", "Taken 10:21 PM"));
    k.minutes(15);
    k.c.run_engine().await;
    k.text(DANA).await;
    k.minutes(5);
    k.c.run_engine().await;
    k.minutes(24 * 60 + 1);
    k.reply(BEN, "1ok").await;
    assert_eq!(k.text(BEN).await, "No urgent message is waiting for you to confirm. Thank you.");
    assert_eq!(k.message(third).await["escalation"]["state"], "exhausted");
}

#[tokio::test]
async fn two_open_escalations_to_one_person_get_distinct_codes_and_wrong_codes_get_a_helpful_answer() {
    let k = plumbing().await;
    k.tech_then_owner().await;
    let first = k.take("No heat, the house is freezing").await;
    k.c.run_engine().await;
    k.text(BEN).await;
    let second = k.take("Water heater leaking everywhere").await;
    k.c.run_engine().await;
    assert_eq!(k.text(BEN).await, ask("Water heater leaking everywhere", "2ok"));

    k.reply(BEN, "ok").await;
    assert_eq!(
        k.text(BEN).await,
        "You have 2 urgent messages waiting. Reply 1ok or 2ok to confirm the one you are taking."
    );
    k.reply(BEN, "3ok").await;
    assert_eq!(
        k.text(BEN).await,
        "3ok is not a code of yours. Reply 1ok or 2ok to confirm the urgent message you are taking."
    );
    k.reply(BEN, "2OK").await;
    assert_eq!(k.text(BEN).await, "Confirmed, thank you. The urgent message for Imaginary Plumbing is yours.");
    assert_eq!(k.message(second).await["escalation"]["state"], "confirmed");
    assert_eq!(k.message(first).await["escalation"]["state"], "escalating");
    // One is left: a bare ok takes it.
    k.reply(BEN, "Ok!").await;
    assert_eq!(k.text(BEN).await, "Confirmed, thank you. The urgent message for Imaginary Plumbing is yours.");
    assert_eq!(k.message(first).await["escalation"]["state"], "confirmed");
    // A customer who never was asked anything texting "ok" starts a conversation as ever.
    assert_eq!(k.c.app.sms.reply("+13125550123", CLIENT_NUMBER, "ok").await.unwrap(), 200);
    k.c.run_engine().await;
    let leads = k.c.get("/api/v1/leads").await;
    assert_eq!(leads["leads"].as_array().unwrap().len(), 1, "{leads}");
    assert!(k.c.app.sms.sent_to("+13125550123").is_empty());
}

#[tokio::test]
async fn urgent_messages_started_at_the_same_moment_give_one_person_distinct_codes() {
    // The engine starts them side by side (on PostgreSQL, in concurrent transactions): each
    // picks the smallest code free among Ben's open escalations, never one another just took.
    let k = plumbing().await;
    k.tech_then_owner().await;
    let problems: Vec<String> = (1..=8).map(|n| format!("Leak number {n}")).collect();
    for p in &problems {
        k.take(p).await;
    }
    // Texts from the client's number leave one a second: run the engine until all have.
    for _ in 0..3 {
        k.c.run_engine().await;
    }
    let mut codes = Vec::new();
    for _ in &problems {
        let body = k.text(BEN).await;
        let (problem, code) = problems
            .iter()
            .flat_map(|p| (1..=8).map(move |c| (p, format!("{c}ok"))))
            .find(|(p, c)| body == ask(p, c))
            .unwrap_or_else(|| panic!("not an urgent text as sent: {body}"));
        codes.push((code, problem.clone()));
    }
    codes.sort();
    let mut taken: Vec<String> = codes.iter().map(|(c, _)| c.clone()).collect();
    taken.dedup();
    assert_eq!(taken, (1..=8).map(|c| format!("{c}ok")).collect::<Vec<_>>(), "{codes:?}");
    let mut about: Vec<String> = codes.into_iter().map(|(_, p)| p).collect();
    about.sort();
    assert_eq!(about, problems, "each message is sent once");
}

#[tokio::test]
async fn the_on_call_target_is_resolved_when_its_step_fires_and_an_empty_round_alerts_the_desk() {
    let k = plumbing().await;
    // Text the on-call tech for a code (10 min), call whoever is on call then, text them too.
    k.flow(json!({
        "steps": [
            { "action": "text_confirm", "targets": [{ "kind": "on_call", "schedule_id": k.schedule }], "wait_minutes": 10 },
            { "action": "call_leave_message", "targets": [{ "kind": "on_call", "schedule_id": k.schedule }], "wait_minutes": 0 },
            { "action": "text_confirm", "targets": [{ "kind": "on_call", "schedule_id": k.schedule }], "wait_minutes": 10 },
        ],
        "repeat": "times", "rounds": 1,
    }))
    .await;
    // Dana, the owner, is the fallback, by text.
    let dana = k.dana;
    k.c.edit_protocol(|p| p["fallback"] = json!({ "kind": "contact", "contact_id": dana, "channel": "cell" })).await;
    k.c.app.sms.set_pickup(CY, Pickup::RingOut);
    let id = k.take("No heat, the house is freezing").await;
    k.c.run_engine().await;
    assert_eq!(k.text(BEN).await, ask(HEAT, "1ok"));
    // Ben's phone died: the office puts Cy on call from now; the next step reaches Cy.
    let (ben, cy) = (format!("contact:{}", k.ben), format!("contact:{}", k.cy));
    let (status, body) = k
        .c
        .post(
            &format!("/api/v1/schedules/{}/overrides", k.schedule),
            json!({ "start": "2026-12-08T03:05:00Z", "end": "2026-12-08T14:00:00Z", "action": "replace", "from": ben, "who": cy }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    k.minutes(10);
    k.c.run_engine().await;
    assert_eq!(k.text(CY).await, ask(HEAT, "1ok"));
    let m = k.message(id).await;
    let lines = timeline(&m);
    assert_eq!(lines[3], line("calling", 2, "Cy Relief", "call queued"));
    assert_eq!(lines[4].0, "sent");
    assert_eq!(lines[4].2, "Cy Relief");
    k.c.app.sms.settle(Duration::from_secs(10)).await.unwrap();
    let m = k.message(id).await;
    let lines = timeline(&m);
    assert!(lines.contains(&line("no_answer", 2, "Cy Relief", "no answer after 25 seconds")), "{lines:?}");

    // Nobody replies: the flow ends, nobody confirmed.
    k.minutes(10);
    k.c.run_engine().await;
    let m = k.message(id).await;
    assert_eq!(m["escalation"]["state"], "exhausted");
    assert_eq!(m["escalation"]["summary"], "Nobody confirmed");
    let fallback = "Nobody confirmed this urgent message after every step of its flow: please see that someone \
                    calls back. URGENT Imaginary Plumbing message: Caller's name: Paula Mendes; Callback number: \
                    (312) 555-0199; Service address: 12 Wacker Dr; What is wrong: No heat, the house is freezing; \
                    Best time to call: Evening. Taken 9:00 PM Mon Dec 7.";
    assert_eq!(
        timeline(&m)[timeline(&m).len() - 2..],
        [line("exhausted", 0, "", "the flow ended and nobody confirmed"), line("fallback", 0, "Dana Owner", fallback)]
    );
    k.c.run_engine().await;
    assert_eq!(k.text(DANA).await, fallback);
    let browser = k.c.app.signed_in("admin@answering.example.com").await;
    let (_, page) = browser.get_text(&format!("/desk?client={}", k.c.brand)).await;
    assert!(page.contains("Fallback Dana Owner alerted at (312) 555-0177"), "{page}");

    // The desk reached Cy by phone and marks it confirmed, with the reason; once only.
    let path = format!("/api/v1/desk/messages/{id}/confirm");
    let (status, body) = k.c.post(&path, json!({ "reason": "  " })).await;
    assert_eq!((status, body["error"]["fields"][0]["field"].as_str()), (422, Some("reason")), "{body}");
    let (status, body) = k.c.post(&path, json!({ "reason": "Cy called back from a landline" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"]["escalation"]["summary"], "Confirmed by an API client (marked at the desk)");
    assert_eq!(body["message"]["escalation"]["confirmed_note"], "Cy called back from a landline");
    let (status, body) = k.c.post(&path, json!({ "reason": "again" })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"][0]["message"], "this message was already confirmed by an API client");
}

#[tokio::test]
async fn a_round_that_reaches_nobody_ends_at_once_and_a_flow_naming_what_the_client_lacks_is_refused() {
    let k = plumbing().await;
    // Tuesday noon: the override below leaves nobody on call; Dana has no home number.
    let (status, body) = k
        .c
        .post(
            &format!("/api/v1/schedules/{}/overrides", k.schedule),
            json!({ "start": "2026-12-08T00:00:00Z", "end": "2026-12-09T00:00:00Z", "action": "remove", "who": format!("contact:{}", k.ben) }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    k.flow(json!({
        "steps": [
            { "action": "text_confirm", "targets": [{ "kind": "on_call", "schedule_id": k.schedule }], "wait_minutes": 15 },
            { "action": "call_confirm", "targets": [{ "kind": "contact", "contact_id": k.dana, "channel": "home" }], "wait_minutes": 5 },
        ],
        "repeat": "until_confirmed",
    }))
    .await;
    let id = k.take("No heat, the house is freezing").await;
    k.c.run_engine().await;
    let m = k.message(id).await;
    assert_eq!(m["escalation"]["state"], "exhausted");
    assert_eq!(
        timeline(&m)[1..],
        [
            line("skipped", 1, "", "nobody is on call for Nights now"),
            line("skipped", 2, "Dana Owner", "Dana Owner has no home phone on file"),
            line("nobody_reached", 0, "", "round 1 reached nobody: the desk must call someone"),
            line("exhausted", 0, "", "the flow ended and nobody confirmed"),
            line("fallback_skipped", 0, "", "the client has no fallback contact: the desk must call someone"),
        ]
    );
    assert!(k.c.app.sms.sent_to(BEN).is_empty() && k.c.app.sms.sent_to(CY).is_empty());

    // A flow naming a schedule and a contact of another client is refused, field by field.
    let mut protocol = k.c.get(&format!("/api/v1/brands/{}/protocol", k.c.brand)).await["protocol"].clone();
    protocol["caller_types"][0]["urgent_flow"] = json!({
        "steps": [
            { "action": "text_confirm", "targets": [{ "kind": "on_call", "schedule_id": 999 }], "wait_minutes": 15 },
            { "action": "text", "targets": [{ "kind": "contact", "contact_id": 999, "channel": "home" }], "wait_minutes": 2000 },
        ],
        "repeat": "until_confirmed",
    });
    let body = json!({ "answer_phrase": protocol["answer_phrase"], "caller_types": protocol["caller_types"] });
    let r =
        k.c.app
            .client()
            .put(k.c.app.url(&format!("/api/v1/brands/{}/protocol", k.c.brand)))
            .bearer_auth(&k.c.key)
            .json(&body)
            .send()
            .await
            .unwrap();
    let (status, body) = crate::helpers::json(r).await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<(String, String)> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap().to_string(), f["message"].as_str().unwrap().to_string()))
        .collect();
    let at = |f: &str| format!("caller_types.1.urgent_flow.{f}");
    assert_eq!(
        fields,
        [
            (at("steps.2.wait_minutes"), "wait at most 24 hours (1,440 minutes)".to_string()),
            (at("steps.2.targets"), "texts go to cell numbers: a home or office line cannot take them".to_string()),
            (at("steps.1.targets"), "schedule 999 is not one of this client's on-call schedules".to_string()),
            (at("steps.2.targets"), "contact 999 is not one of this client's contacts".to_string()),
        ]
    );
}

#[tokio::test]
async fn the_desk_board_shows_each_step_live_and_an_operator_marks_it_confirmed_with_a_reason() {
    let k = plumbing().await;
    k.tech_then_owner().await;
    let id = k.take(HEAT).await;
    k.c.run_engine().await;
    k.text(BEN).await;
    let browser = k.c.app.signed_in("admin@answering.example.com").await;
    let board = format!("/desk?client={}", k.c.brand);
    let (status, page) = browser.get_text(&board).await;
    assert_eq!(status, 200);
    assert!(page.contains("Escalating: step 1 of 2"), "{page}");
    assert!(
        page.contains("9:00 PM</span> Step 1: Text asking for a reply code to Ben Ortiz at (312) 555-0142"),
        "{page}"
    );
    assert!(page.contains("9:00 PM</span> Step 1: Waiting 15 min for a confirmation"), "{page}");
    assert!(page.contains("Not confirmed"));

    // No reason: refused beside the field, with the board still there.
    let path = format!("/desk/messages/{id}/confirm");
    let r = browser.post_form(&path, &[("reason", " ")]).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains(&format!("<span class=\"field-error\" id=\"confirm-{id}-error\">say how it was confirmed (for example &#34;Dr. Lee called back&#34;)</span>")),
        "{page}"
    );
    let r = browser.post_form(&path, &[("reason", "Ben called the desk back")]).await;
    assert_eq!(r.status(), 303);
    let (_, page) = browser.get_text(&format!("{board}&done=confirmed")).await;
    assert!(page.contains("Confirmed by admin admin (marked at the desk)"), "{page}");
    assert!(page.contains("Confirmed by admin admin (marked at the desk: Ben called the desk back)"), "{page}");
    assert!(page.contains("Marked confirmed: the escalation has stopped and whoever was texted is told."));
    assert!(!page.contains(&format!("action=\"/desk/messages/{id}/confirm\"")), "no second confirmation form");
    k.c.run_engine().await;
    assert_eq!(
        k.text(BEN).await,
        "Imaginary Plumbing: the urgent message you were sent is handled (admin admin confirmed it). No need to reply."
    );
    // Fifteen minutes on, Dana is never texted.
    k.minutes(20);
    k.c.run_engine().await;
    assert!(k.c.app.sms.sent_to(DANA).is_empty());
}

const BEN_HOME: &str = "+13125550242";

/// What a person hears first on a call about the HEAT message.
const SPOKEN: &str = "Urgent message for Imaginary Plumbing, taken at 9:00 PM Mon Dec 7. Caller's name: Paula Mendes. \
                      Callback number: (312) 555-0199. Service address: 12 Wacker Dr. What is wrong: No heat, the house \
                      is freezing. Best time to call: Evening.";

#[tokio::test]
async fn the_hvac_protocol_texts_then_calls_the_cell_to_voicemail_then_home_where_pressing_1_confirms() {
    let k = plumbing().await;
    let (status, body) = k
        .c
        .app
        .client()
        .put(k.c.app.url(&format!("/api/v1/brands/{}/contacts/{}", k.c.brand, k.ben)))
        .bearer_auth(&k.c.key)
        .json(&json!({ "name": "Ben Ortiz", "methods": [{ "kind": "cell", "value": BEN }, { "kind": "home", "value": BEN_HOME }] }))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 200, "{:?}", body.text().await);
    // The seed protocol, word for word: text the on-call tech (15 min); call the on-call cell,
    // leaving a message (10 min); call the on-call home (no wait); again until confirmed.
    let on_call = |channel: &str| json!([{ "kind": "on_call", "schedule_id": k.schedule, "channel": channel }]);
    k.flow(json!({
        "steps": [
            { "action": "text_confirm", "targets": on_call("cell"), "wait_minutes": 15 },
            { "action": "call_leave_message", "targets": on_call("cell"), "wait_minutes": 10 },
            { "action": "call_leave_message", "targets": on_call("home"), "wait_minutes": 0 },
        ],
        "repeat": "until_confirmed",
    }))
    .await;
    let sms = &k.c.app.sms;
    sms.set_pickup(BEN, Pickup::Voicemail);
    sms.set_pickup(BEN_HOME, Pickup::Person(vec!["1".into()]));

    let id = k.take(HEAT).await;
    k.c.run_engine().await;
    assert_eq!(k.text(BEN).await, ask(HEAT, "1ok"));
    assert!(sms.calls().is_empty());

    // No reply in 15 minutes: his cell is called; the voicemail takes the message.
    k.minutes(15);
    k.c.run_engine().await;
    sms.settle(Duration::from_secs(10)).await.unwrap();
    let calls = sms.calls_to(BEN);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].from, CLIENT_NUMBER);
    assert_eq!((calls[0].status.as_str(), calls[0].answered_by.as_deref()), ("completed", Some("machine_end_beep")));
    assert_eq!(
        calls[0].voicemail.as_deref(),
        Some(
            format!(
                "{SPOKEN} Please call the caller back at (312) 555-0199. This message was left by Imaginary \
                 Plumbing's answering service. Goodbye."
            )
            .as_str()
        )
    );
    assert_eq!(k.message(id).await["escalation"]["summary"], "Escalating: step 2 of 3");

    // Ten minutes on: his home phone; he answers and presses 1. Round 2's text went out as the
    // home call was placed (that step has no wait), with the same code.
    k.minutes(10);
    k.c.run_engine().await;
    sms.settle(Duration::from_secs(10)).await.unwrap();
    let home = sms.calls_to(BEN_HOME);
    assert_eq!(home.len(), 1);
    assert_eq!(
        home[0].heard,
        [
            SPOKEN,
            "Press 1 to confirm you are taking it, 2 to pass it to the next person, or star to repeat.",
            "Confirmed. Thank you, the message is yours. Goodbye.",
        ]
    );
    assert_eq!(home[0].pressed, ["1"]);
    assert_eq!(k.text(BEN).await, ask(HEAT, "1ok"));
    let m = k.message(id).await;
    assert_eq!(m["escalation"]["summary"], "Confirmed by Ben Ortiz (pressed 1 on a call)");

    // Nothing more, ever: no thank-you text (he heard it), no more calls or texts.
    k.minutes(60);
    k.c.run_engine().await;
    sms.settle(Duration::from_secs(10)).await.unwrap();
    assert_eq!((sms.calls().len(), sms.sent_to(BEN).len()), (2, 2));
    let kinds: Vec<(String, u64)> = timeline(&k.message(id).await).into_iter().map(|l| (l.0, l.1)).collect();
    let expected: Vec<(String, u64)> = [
        ("started", 0),
        ("sent", 1),
        ("waiting", 1),
        ("calling", 2),
        ("waiting", 2),
        ("ringing", 2),
        ("voicemail", 2),
        ("call_ended", 2),
        ("calling", 3),
        ("sent", 1),
        ("waiting", 1),
        ("ringing", 3),
        ("answered", 3),
        ("keypress", 3),
        ("confirmed", 1),
        ("call_ended", 3),
    ]
    .iter()
    .map(|(k, s)| (k.to_string(), *s))
    .collect();
    assert_eq!(kinds, expected);
}

#[tokio::test]
async fn the_link_in_a_text_records_viewed_and_lets_a_person_pass_it_on_or_accept_it() {
    let k = plumbing().await;
    k.tech_then_owner().await;
    let id = k.take(HEAT).await;
    k.c.run_engine().await;
    let (text, link) = k.text_and_link(BEN).await;
    assert_eq!(text, ask(HEAT, "1ok"));
    let ben_link = link.unwrap();
    let client = k.c.app.browser();
    let get = |url: String| {
        let client = client.clone();
        async move {
            let r = client.get(url).send().await.unwrap();
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            (status, headers, r.text().await.unwrap())
        }
    };

    // Ben opens his link: the message, and both answers; the board hears he saw it.
    let (status, headers, page) = get(ben_link.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(page.contains("<h1>Can you take it?</h1>"), "{page}");
    assert!(page.contains("Hello Ben Ortiz. Taken 9:00 PM Mon Dec 7."), "{page}");
    assert!(page.contains("<dt>What is wrong</dt><dd>No heat, the house is freezing</dd>"), "{page}");
    assert!(page.contains("Accept: I'm taking it"), "{page}");
    assert!(page.contains("Pass to the next person"), "{page}");
    get(ben_link.clone()).await;
    let viewed: Vec<_> = timeline(&k.message(id).await).into_iter().filter(|l| l.0 == "viewed").collect();
    assert_eq!(viewed, [line("viewed", 1, "Ben Ortiz", "opened their link")], "once, however often he opens it");

    // He cannot take it: Pass reaches Dana now, without waiting 15 minutes.
    let r = client.post(format!("{ben_link}/pass")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("{}?done=passed", &ben_link[ben_link.find("/ack/").unwrap()..])
    );
    k.c.run_engine().await;
    let (text, dana_link) = k.text_and_link(DANA).await;
    assert_eq!(text, ask(HEAT, "1ok"));
    assert_eq!(k.message(id).await["escalation"]["summary"], "Escalating: step 2 of 2");
    // His link no longer passes anything: the flow has moved on.
    let r = client.post(format!("{ben_link}/pass")).send().await.unwrap();
    assert!(r.headers()["location"].to_str().unwrap().ends_with("?done=stale"));
    let (_, _, page) = get(format!("{ben_link}?done=stale")).await;
    assert!(page.contains("It had already moved on to the next person."), "{page}");
    assert!(!page.contains("Pass to the next person"), "{page}");

    // Dana accepts from hers: confirmed by her; Ben is told by text; she is not texted.
    let dana_link = dana_link.unwrap();
    let r = client.post(format!("{dana_link}/accept")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let (_, _, page) = get(dana_link.clone()).await;
    assert!(page.contains("<h1>It&#39;s yours</h1>"), "{page}");
    let m = k.message(id).await;
    assert_eq!(m["escalation"]["summary"], "Confirmed by Dana Owner (accepted from their link)");
    k.c.run_engine().await;
    assert_eq!(
        k.text(BEN).await,
        "Imaginary Plumbing: the urgent message you were sent is handled (Dana Owner confirmed it). No need to reply."
    );
    assert_eq!(k.c.app.sms.sent_to(DANA).len(), 1);
    let (_, _, page) = get(ben_link.clone()).await;
    assert!(page.contains("Dana Owner confirmed it"), "{page}");
    assert!(!page.contains("/accept\""), "no Accept once it is handled: {page}");

    // A link that is not one of ours: one plain page, nothing learned.
    let bad = format!("{}{}", &ben_link[..ben_link.len() - 43], "A".repeat(43));
    let (status, _, _) = get(bad).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_person_answers_a_call_on_the_simulated_phones_page_and_presses_2_to_pass_it_on() {
    let k = plumbing().await;
    k.flow(json!({
        "steps": [
            { "action": "call_confirm", "targets": [{ "kind": "on_call", "schedule_id": k.schedule }], "wait_minutes": 10 },
            { "action": "text_confirm", "targets": [{ "kind": "contact", "contact_id": k.dana }], "wait_minutes": 10 },
        ],
        "repeat": "times", "rounds": 1,
    }))
    .await;
    let id = k.take(HEAT).await;
    k.c.run_engine().await;
    let sms = &k.c.app.sms;
    let phone = format!("{}/phones/%2B13125550142", sms.base_url());
    let page = |url: String| async move { reqwest::get(url).await.unwrap().text().await.unwrap() };
    // Ben's phone rings on the page until someone answers it.
    let mut ringing = String::new();
    for _ in 0..50 {
        ringing = page(phone.clone()).await;
        if ringing.contains("value='answer'") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ringing.contains("value='answer'") && ringing.contains("value='decline'"), "{ringing}");
    let sid = sms.calls_to(BEN)[0].sid.clone();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let act = |form: Vec<(&'static str, &'static str)>| {
        let (client, url) = (client.clone(), format!("{phone}/calls/{sid}"));
        async move { client.post(url).form(&form).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(act(vec![("action", "answer")]).await, 303);
    let mut live = String::new();
    for _ in 0..50 {
        live = page(phone.clone()).await;
        if live.contains("Press 1 to confirm") && live.contains("value='2'") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(live.contains(&SPOKEN.replace('\'', "&#39;")), "{live}");
    assert_eq!(act(vec![("key", "2")]).await, 303);
    sms.settle(Duration::from_secs(10)).await.unwrap();
    let call = &sms.calls_to(BEN)[0];
    assert_eq!((call.status.as_str(), call.pressed.clone()), ("completed", vec!["2".to_string()]));
    assert_eq!(call.heard.last().map(String::as_str), Some("Passed to the next person. Goodbye."));
    // Passing moved the flow on at once: Dana is texted without the 10-minute wait.
    k.c.run_engine().await;
    assert_eq!(k.text(DANA).await, ask(HEAT, "1ok"));
    let m = k.message(id).await;
    assert_eq!(m["escalation"]["summary"], "Escalating: step 2 of 2");
    assert!(timeline(&m).contains(&line("keypress", 1, "Ben Ortiz", "pressed 2: passed to the next step")));
}

#[tokio::test]
async fn voice_webhooks_without_twilios_signature_are_refused_and_change_nothing() {
    let k = plumbing().await;
    let client = reqwest::Client::new();
    for path in [
        "/webhooks/twilio/voice/escalation?call=1",
        "/webhooks/twilio/voice/escalation/key?call=1",
        "/webhooks/twilio/voice/escalation/status?call=1",
    ] {
        let r = client
            .post(k.c.app.url(path))
            .form(&[("CallSid", "CA00000000000000000000000000000000"), ("Digits", "1"), ("CallStatus", "completed")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
        assert_eq!(r.text().await.unwrap(), "missing X-Twilio-Signature");
        let r = client
            .post(k.c.app.url(path))
            .header("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl")
            .form(&[("CallSid", "CA00000000000000000000000000000000"), ("Digits", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
        assert_eq!(r.text().await.unwrap(), "invalid X-Twilio-Signature");
    }
    let (calls,): (i64,) =
        sqlx::query_as("select count(*) from escalation_calls").fetch_one(k.c.app.db.pool()).await.unwrap();
    assert_eq!(calls, 0);
}

#[tokio::test]
async fn the_last_call_of_the_last_round_rings_even_though_the_flow_ends_with_it() {
    // The property manager's kind of flow: a call with no wait is the last thing it does, so
    // the escalation ends ("nobody confirmed") in the step that queues the call.
    let k = plumbing().await;
    k.flow(json!({
        "steps": [
            { "action": "call_leave_message", "targets": [{ "kind": "contact", "contact_id": k.dana, "channel": "cell" }], "wait_minutes": 0 },
        ],
        "repeat": "times", "rounds": 1,
    }))
    .await;
    let sms = &k.c.app.sms;
    sms.set_pickup(DANA, Pickup::Voicemail);
    let id = k.take(HEAT).await;
    k.c.run_engine().await;
    sms.settle(Duration::from_secs(10)).await.unwrap();
    let calls = sms.calls_to(DANA);
    assert_eq!(calls.len(), 1, "Dana's cell is called");
    assert_eq!((calls[0].status.as_str(), calls[0].answered_by.as_deref()), ("completed", Some("machine_end_beep")));
    assert!(calls[0].voicemail.as_deref().is_some_and(|v| v.starts_with(SPOKEN)), "{:?}", calls[0].voicemail);
    let m = k.message(id).await;
    assert_eq!(m["escalation"]["summary"], "Nobody confirmed");
    let kinds: Vec<String> = timeline(&m).into_iter().map(|l| l.0).collect();
    assert_eq!(kinds, ["started", "calling", "exhausted", "fallback_skipped", "ringing", "voicemail", "call_ended"]);
}

#[tokio::test]
async fn a_round_that_reaches_nobody_alerts_the_fallback_by_email_and_a_fallback_that_cannot_be_alerted_is_refused() {
    let k = plumbing().await;
    k.c.reach(
        "Dana Owner",
        json!([{ "kind": "cell", "value": DANA }, { "kind": "email", "value": "dana@imaginary.example" }]),
    )
    .await;
    // Refused: a home line, someone not the client's, a schedule.
    let path = format!("/api/v1/brands/{}/protocol", k.c.brand);
    for (fallback, refusal) in [
        (
            json!({ "kind": "contact", "contact_id": k.dana, "channel": "home" }),
            "the fallback is texted or emailed: pick their cell or email",
        ),
        (json!({ "kind": "contact", "contact_id": 999, "channel": "cell" }), "pick one of the client's contacts"),
        (
            json!({ "kind": "on_call", "schedule_id": k.schedule }),
            "the fallback is one person: pick a contact, not a schedule",
        ),
        (json!({ "kind": "address", "address": "dana@" }), "\"dana@\" is not an email address"),
    ] {
        let mut protocol = k.c.get(&path).await["protocol"].clone();
        for read_only in ["brand_id", "saved_by", "saved_at"] {
            protocol.as_object_mut().unwrap().remove(read_only);
        }
        protocol["fallback"] = fallback;
        let r = k.c.app.client().put(k.c.app.url(&path)).bearer_auth(&k.c.key).json(&protocol).send().await.unwrap();
        let (status, body) = crate::helpers::json(r).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["fields"], json!([{ "field": "fallback", "message": refusal }]), "{body}");
    }
    let dana = k.dana;
    k.c.edit_protocol(|p| p["fallback"] = json!({ "kind": "contact", "contact_id": dana, "channel": "email" })).await;
    let saved = k.c.get(&path).await;
    assert_eq!(saved["protocol"]["fallback"], json!({ "kind": "contact", "contact_id": dana, "channel": "email" }));
    // The only step calls Dana's home line, which she does not have: round 1 reaches nobody.
    k.flow(json!({
        "steps": [{ "action": "call_confirm", "targets": [{ "kind": "contact", "contact_id": k.dana, "channel": "home" }], "wait_minutes": 5 }],
        "repeat": "until_confirmed",
    }))
    .await;
    let id = k.take(HEAT).await;
    k.c.run_engine().await;
    let m = k.message(id).await;
    assert_eq!(m["escalation"]["state"], "exhausted");
    let subject = "Nobody reached: URGENT message for Imaginary Plumbing from Paula Mendes";
    assert_eq!(
        timeline(&m)[1..],
        [
            line("skipped", 1, "Dana Owner", "Dana Owner has no home phone on file"),
            line("nobody_reached", 0, "", "round 1 reached nobody: the desk must call someone"),
            line("exhausted", 0, "", "the flow ended and nobody confirmed"),
            line("fallback", 0, "Dana Owner", subject),
        ]
    );
    let mail = k.c.app.mail.expect_mail("dana@imaginary.example", Duration::from_secs(5)).await.unwrap();
    assert_eq!(mail.subject, subject);
    assert_eq!(
        mail.text.replace("\r\n", "\n").trim_end(),
        "Nobody on call could be reached for this urgent message: please see that someone calls back.\n\n\
         URGENT message for Imaginary Plumbing, taken at 9:00 PM Mon Dec 7.\n\n\
         Caller's name: Paula Mendes\n\
         Callback number: (312) 555-0199\n\
         Service address: 12 Wacker Dr\n\
         What is wrong: No heat, the house is freezing\n\
         Best time to call: Evening\n\n\
         Urgent: No heat."
    );
    assert!(k.c.app.sms.sent_to(DANA).is_empty(), "the fallback is emailed, not texted");

    // The protocol editor shows the fallback chosen, among the contacts' cells and emails.
    let browser = k.c.app.signed_in("admin@answering.example.com").await;
    let (status, page) = browser.get_text(&format!("/settings/desk/{}", k.c.brand)).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("<option value=\"contact:{dana}:email\" selected>Dana Owner, by email</option>")),
        "{page}"
    );
    assert!(
        page.contains(&format!("<option value=\"contact:{dana}:cell\">Dana Owner, by text to their cell</option>"))
    );
}

#[tokio::test]
async fn a_caller_who_gives_no_name_and_a_number_abroad_reaches_a_tech_whose_cell_is_abroad_word_for_word() {
    let k = plumbing().await;
    // This client takes a message without the caller's name; Ben is working from London.
    const BEN_UK: &str = "+447911123456";
    k.c.reach("Ben Ortiz", json!([{ "kind": "cell", "value": "+44 7911 123456" }])).await;
    k.c.edit_protocol(|p| p["caller_types"][0]["fields"][0]["required"] = json!(false)).await;
    k.flow(json!({
        "steps": [
            { "action": "text_confirm", "targets": [{ "kind": "on_call", "schedule_id": k.schedule }], "wait_minutes": 15 },
            { "action": "call_leave_message", "targets": [{ "kind": "on_call", "schedule_id": k.schedule }], "wait_minutes": 10 },
        ],
        "repeat": "times", "rounds": 1,
    }))
    .await;
    k.c.app.sms.set_pickup(BEN_UK, Pickup::Voicemail);
    let answers = json!({
        "callback_number": "+44 20 7946 0958",
        "service_address": "12 Wacker Dr",
        "what_is_wrong": "Water coming through the ceiling",
    });
    let (status, body) = k.c.take("caller", answers, json!({ "urgent": true, "urgent_reason": "Flooding" })).await;
    assert_eq!(status, 201, "{body}");
    let id = body["message"]["id"].as_i64().unwrap();
    k.c.run_engine().await;
    assert_eq!(
        k.text(BEN_UK).await,
        "URGENT Imaginary Plumbing message: Callback number: +44 20 7946 0958; Service address: 12 Wacker Dr; \
         What is wrong: Water coming through the ceiling. Taken 9:00 PM Mon Dec 7. Reply 1ok to confirm you are \
         taking it, or accept or pass: (their link)"
    );
    // Fifteen minutes on, his cell abroad is called and the voicemail takes the message.
    k.minutes(15);
    k.c.run_engine().await;
    k.c.app.sms.settle(Duration::from_secs(10)).await.unwrap();
    let calls = k.c.app.sms.calls_to(BEN_UK);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].voicemail.as_deref(),
        Some(
            "Urgent message for Imaginary Plumbing, taken at 9:00 PM Mon Dec 7. Callback number: +44 20 7946 0958. \
             Service address: 12 Wacker Dr. What is wrong: Water coming through the ceiling. Please call the caller \
             back at +44 20 7946 0958. This message was left by Imaginary Plumbing's answering service. Goodbye."
        )
    );
    // He replies from abroad: confirmed, and thanked there.
    k.reply(BEN_UK, "1 OK").await;
    let m = k.message(id).await;
    assert_eq!(m["escalation"]["summary"], "Confirmed by Ben Ortiz (replied \"1 OK\")");
    assert_eq!(k.text(BEN_UK).await, "Confirmed, thank you. The urgent message for Imaginary Plumbing is yours.");
}

#[tokio::test]
async fn an_office_edits_the_urgent_flow_in_the_protocol_editor_and_a_row_it_cannot_take_is_refused_beside_it() {
    use crate::desk::{form_fields, post_pairs};
    let k = plumbing().await;
    k.tech_then_owner().await;
    let (s, dana, cy) = (k.schedule, k.dana, k.cy);
    let b = k.c.app.signed_in("admin@answering.example.com").await;
    let path = format!("/settings/desk/{}", k.c.brand);
    let (status, html) = b.get_text(&path).await;
    assert_eq!(status, 200);
    let fields = form_fields(&html, &format!(r#"action="{path}" "#));
    let value = |f: &[(String, String)], name: &str| f.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let shown: Vec<Option<String>> =
        ["c1_s1_step", "c1_s1_action", "c1_s1_target", "c1_s1_wait", "c1_s2_target", "c1_repeat"]
            .iter()
            .map(|n| value(&fields, n))
            .collect();
    let expected: Vec<Option<String>> = [
        "1".to_string(),
        "text_confirm".into(),
        format!("on_call:{s}:cell"),
        "15".into(),
        format!("contact:{dana}:cell"),
        "times".into(),
    ]
    .into_iter()
    .map(Some)
    .collect();
    assert_eq!(shown, expected);
    assert!(
        html.contains(&format!(r#"<option value="on_call:{s}:cell" selected>On call for Nights, by cell</option>"#)),
        "{html}"
    );

    // Step 2 reaches Cy too (a row with the same number), and the flow runs until confirmed.
    let mut edit = fields.clone();
    let set = |f: &mut Vec<(String, String)>, name: &str, v: &str| match f.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = v.to_string(),
        None => f.push((name.to_string(), v.to_string())),
    };
    set(&mut edit, "c1_s3_step", "2");
    set(&mut edit, "c1_s3_action", "text_confirm");
    set(&mut edit, "c1_s3_target", &format!("contact:{cy}:cell"));
    set(&mut edit, "c1_repeat", "until_confirmed");
    let r = post_pairs(&b, &path, &edit).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let saved = k.c.get(&format!("/api/v1/brands/{}/protocol", k.c.brand)).await;
    assert_eq!(
        saved["protocol"]["caller_types"][0]["urgent_flow"],
        json!({
            "repeat": "until_confirmed",
            "steps": [
                { "action": "text_confirm", "wait_minutes": 15, "targets": [{ "kind": "on_call", "schedule_id": s, "channel": "cell" }] },
                { "action": "text_confirm", "wait_minutes": 5, "targets": [
                    { "kind": "contact", "contact_id": dana, "channel": "cell" },
                    { "kind": "contact", "contact_id": cy, "channel": "cell" },
                ] },
            ],
        })
    );
    let version = saved["protocol"]["version"].clone();

    // Refused beside the row, nothing saved: a step number that is not one, and a text to a
    // home line (the core's rule, shown on the step's first row).
    let (_, html) = b.get_text(&path).await;
    let fields = form_fields(&html, &format!(r#"action="{path}" "#));
    let mut bad = fields.clone();
    set(&mut bad, "c1_s4_step", "three");
    set(&mut bad, "c1_s4_action", "text");
    set(&mut bad, "c1_s4_target", &format!("contact:{dana}:cell"));
    let r = post_pairs(&b, &path, &bad).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<span class="field-error">give the step&#39;s number, 1 to 20</span>"#), "{html}");
    assert!(html.contains(r#"name="c1_s4_step" value="three""#), "what was typed is kept");
    let mut bad = fields.clone();
    set(&mut bad, "c1_s1_target", &format!("contact:{dana}:home"));
    let r = post_pairs(&b, &path, &bad).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            r#"<span class="field-error">texts go to cell numbers: a home or office line cannot take them</span>"#
        ),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            r#"<option value="contact:{dana}:home" selected>Not on file this way: pick again</option>"#
        )),
        "{html}"
    );
    let again = k.c.get(&format!("/api/v1/brands/{}/protocol", k.c.brand)).await;
    assert_eq!(again["protocol"]["version"], version, "nothing saved");
}

const PAULA: &str = "+13125550199";

impl Clinic {
    /// Ben Ortiz as a technician of the client's (his cell is the one the flow texts).
    async fn ben_the_technician(&self) -> i64 {
        use switchboard_core::technicians::{self, NewTechnician};
        let mut tx = self.c.app.db.begin().await.unwrap();
        let brand = switchboard_core::ids::BrandId(self.c.brand);
        let tech = NewTechnician {
            name: "Ben Ortiz".into(),
            phone: Some(switchboard_core::parse::PhoneE164::parse(BEN).unwrap()),
            photo_url: None,
            rating_x10: None,
            vehicle: None,
            skills: vec![],
            brands: vec![brand],
        };
        let id = technicians::create_in(&mut tx, &self.c.app.clock, self.c.org, &tech).await.unwrap();
        tx.commit().await.unwrap();
        // The office texts customers when someone is on the way.
        use switchboard_core::notifications::{Kind, settings};
        let kind = Kind::OnTheWay;
        let on = settings::KindInput {
            sms_enabled: true,
            email_enabled: false,
            sms_template: kind.default_sms().into(),
            email_subject: kind.default_email_subject().into(),
            email_template: kind.default_sms().into(),
        };
        settings::save_kind(&self.c.app.db, &self.c.app.clock, self.c.org, brand, kind, &on).await.unwrap();
        id.0
    }

    /// Paula Mendes's estimate for the water heater, with nobody on it yet.
    async fn paulas_job(&self) -> (i64, String) {
        let (status, body) = self
            .c
            .post(
                "/api/v1/customers",
                json!({ "name": "Paula Mendes", "phone": "(312) 555-0199", "address": "12 Wacker Dr" }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let customer = body["customer"]["id"].as_i64().unwrap();
        let (status, body) = self
            .c
            .post(
                "/api/v1/jobs",
                json!({ "brand_id": self.c.brand, "customer_id": customer, "service": "Water heater replacement" }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["job"]["status"], "estimate");
        (body["job"]["id"].as_i64().unwrap(), body["job"]["code"].as_str().unwrap().to_string())
    }

    async fn job(&self, id: i64) -> Value {
        self.c.get(&format!("/api/v1/jobs/{id}")).await["job"].clone()
    }

    /// Paula's urgent call about `job` (her water heater leaking), taken: the message.
    async fn paulas_leak_about(&self, job: i64) -> Value {
        let answers = json!({
            "caller_name": "Paula Mendes", "callback_number": "(312) 555-0199", "service_address": "12 Wacker Dr",
            "what_is_wrong": "Water heater leaking everywhere", "best_time_to_call": "Evening",
        });
        let (status, body) = self.c.take("caller", answers, json!({ "urgent": true, "job_id": job })).await;
        assert_eq!(status, 201, "{body}");
        body["message"].clone()
    }
}

#[tokio::test]
async fn a_technician_who_accepts_an_urgent_message_about_a_job_takes_it_and_the_customer_is_told() {
    let k = plumbing().await;
    k.tech_then_owner().await;
    let tech = k.ben_the_technician().await;
    let (job, code) = k.paulas_job().await;
    assert_eq!(code, "J-1001");
    let message = k.paulas_leak_about(job).await;
    let id = message["id"].as_i64().unwrap();
    assert_eq!(message["job_id"], job);
    assert_eq!(message["lead_id"], Value::Null);
    k.c.run_engine().await;
    let (text, link) = k.text_and_link(BEN).await;
    assert_eq!(text, ask("Water heater leaking everywhere", "1ok"));
    let link = link.unwrap();

    // His link names the job and offers to take it.
    let browser = k.c.app.browser();
    let page = browser.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("<strong>About:</strong> J-1001 · Water heater replacement · Paula Mendes, 12 Wacker Dr"),
        "{page}"
    );
    assert!(page.contains("Accept and head to J-1001</button>"), "{page}");
    assert!(page.contains("Accept without taking the job</button>"), "{page}");

    let page = browser.post(format!("{link}/take")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("J-1001 is yours and you are marked on the way."), "{page}");
    assert!(page.contains("<h1>It&#39;s yours</h1>"), "{page}");
    assert!(!page.contains("/take\""), "no second offer once he is on the way: {page}");
    k.c.run_engine().await;

    // The job is his and he is on the way; the customer hears it as from any dispatch.
    let j = k.job(job).await;
    assert_eq!(j["status"], "dispatched");
    assert_eq!(j["techs"].as_array().unwrap().len(), 1);
    assert_eq!(j["techs"][0]["id"], tech);
    assert_eq!(j["techs"][0]["work"], "en_route");
    k.c.run_engine().await;
    let paula = k.c.app.sms.expect_sms(PAULA, Duration::from_secs(5)).await.unwrap().body;
    let (told, tracking) = paula.split_once("Follow along: ").unwrap();
    assert_eq!(told, "Ben from Imaginary Plumbing is on the way, arriving soon. ");
    assert!(tracking.starts_with(&k.c.app.url("/t/")) && tracking.len() == k.c.app.url("/t/").len() + 43, "{paula}");
    // Ben gets the job's portal link, as anyone put on a job does.
    let ben = k.text(BEN).await;
    let (told, portal) = ben.split_once(" Your stops: ").unwrap();
    assert_eq!(told, "Imaginary Plumbing: you're on J-1001 (Water heater replacement) at 12 Wacker Dr.");
    assert!(portal.starts_with(&k.c.app.url("/p/")), "{ben}");
    // Nobody else was reached yet, so nobody else is told; the flow has stopped.
    k.minutes(30);
    k.c.run_engine().await;
    assert!(k.c.app.sms.sent_to(DANA).is_empty());
    let m = k.message(id).await;
    assert_eq!(m["escalation"]["summary"], "Confirmed by Ben Ortiz (accepted from their link)");
    let last: Vec<_> = timeline(&m).into_iter().rev().take(2).collect();
    assert_eq!(
        last,
        [
            line("took", 1, "Ben Ortiz", "took J-1001 and is on the way"),
            line("confirmed", 1, "Ben Ortiz", "accepted from their link"),
        ]
    );
    // A second tap changes nothing.
    let page = browser.post(format!("{link}/take")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("J-1001 is yours and you are marked on the way."), "{page}");
    k.c.run_engine().await;
    assert_eq!(k.c.app.sms.sent_to(PAULA).len(), 1);
}

#[tokio::test]
async fn a_technician_who_confirmed_a_message_about_a_lead_takes_it_from_their_link_as_a_new_job() {
    let k = plumbing().await;
    k.tech_then_owner().await;
    let tech = k.ben_the_technician().await;
    // Paula texts the business; her text is a lead in the inbox.
    assert_eq!(k.c.app.sms.reply(PAULA, CLIENT_NUMBER, "Water heater is leaking everywhere!").await.unwrap(), 200);
    k.c.run_engine().await;
    let leads = k.c.get("/api/v1/leads").await;
    let lead = leads["leads"][0]["id"].as_i64().unwrap();
    let answers = json!({
        "caller_name": "Paula Mendes", "callback_number": "(312) 555-0199", "service_address": "12 Wacker Dr",
        "what_is_wrong": "Water heater leaking everywhere", "best_time_to_call": "Evening",
    });

    // What it is about is checked: not both, and only the client's own.
    let extra = json!({ "urgent": true, "urgent_reason": "Water heater leaking", "lead_id": lead, "job_id": 1 });
    let (status, body) = k.c.take("caller", answers.clone(), extra).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["fields"],
        json!([{ "field": "lead_id", "message": "give a job_id or a lead_id, not both" }])
    );
    let extra = json!({ "urgent": true, "urgent_reason": "Water heater leaking", "job_id": 999 });
    let (status, body) = k.c.take("caller", answers.clone(), extra).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"], json!([{ "field": "job_id", "message": "no such job" }]));
    assert_eq!(k.c.get("/api/v1/desk/messages").await["messages"].as_array().unwrap().len(), 0, "nothing half-taken");

    let extra = json!({ "urgent": true, "urgent_reason": "Water heater leaking", "lead_id": lead });
    let (status, body) = k.c.take("caller", answers, extra).await;
    assert_eq!(status, 201, "{body}");
    let id = body["message"]["id"].as_i64().unwrap();
    assert_eq!(body["message"]["lead_id"], lead);
    k.c.run_engine().await;
    let (_, link) = k.text_and_link(BEN).await;
    let link = link.unwrap();
    // Ben confirms by text first...
    k.reply(BEN, "1ok").await;
    assert_eq!(k.text(BEN).await, "Confirmed, thank you. The urgent message for Imaginary Plumbing is yours.");
    // ...then his link still offers to take the lead as a job.
    let browser = k.c.app.browser();
    let page = browser.get(&link).send().await.unwrap().text().await.unwrap();
    // A text gives no name: the lead is named by its number.
    assert!(
        page.contains("<strong>About:</strong> A request from (312) 555-0199 (a job is made when you take it)"),
        "{page}"
    );
    assert!(page.contains("Head to the job</button>"), "{page}");
    let page = browser.post(format!("{link}/take")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("J-1001 is yours and you are marked on the way."), "{page}");
    k.c.run_engine().await;
    k.c.run_engine().await;

    let m = k.message(id).await;
    let job = m["job_id"].as_i64().expect("the message is about the new job now");
    let j = k.job(job).await;
    assert_eq!(j["code"], "J-1001");
    assert_eq!(j["service"], "Water heater leaking");
    // The customer is the caller as the operator wrote them down (the text gave only a number).
    assert_eq!(j["customer_name"], "Paula Mendes");
    assert_eq!(j["address"], "12 Wacker Dr");
    assert_eq!(j["status"], "dispatched");
    assert_eq!(j["techs"][0]["id"], tech);
    assert_eq!(j["techs"][0]["work"], "en_route");
    let l = k.c.get(&format!("/api/v1/leads/{lead}")).await;
    assert_eq!(l["lead"]["status"], "converted", "{l}");
    let paula = k.c.app.sms.expect_sms(PAULA, Duration::from_secs(5)).await.unwrap().body;
    assert!(paula.starts_with("Ben from Imaginary Plumbing is on the way, arriving soon. Follow along: "), "{paula}");
    assert_eq!(k.c.app.sms.sent_to(PAULA).len(), 1);
    let last = timeline(&m).into_iter().last().unwrap();
    assert_eq!(last, line("took", 1, "Ben Ortiz", "took J-1001 and is on the way"));
}

#[tokio::test]
async fn a_job_canceled_after_the_message_was_taken_is_not_offered_and_taking_it_changes_nothing() {
    let k = plumbing().await;
    k.tech_then_owner().await;
    k.ben_the_technician().await;
    let (job, _) = k.paulas_job().await;
    let id = k.paulas_leak_about(job).await["id"].as_i64().unwrap();
    k.c.run_engine().await;
    let (_, link) = k.text_and_link(BEN).await;
    let link = link.unwrap();
    // The office cancels the job meanwhile.
    let (status, body) =
        k.c.post(&format!("/api/v1/jobs/{job}/status"), json!({ "status": "canceled", "reason": "Customer fixed it" }))
            .await;
    assert_eq!(status, 200, "{body}");

    let browser = k.c.app.browser();
    let page = browser.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("/take\""), "a canceled job is not offered: {page}");
    assert!(page.contains("Accept: I'm taking it</button>"), "{page}");
    // A take posted from a page opened before the cancel changes nothing.
    let page = browser.post(format!("{link}/take")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("This message has no open job for you to take."), "{page}");
    k.c.run_engine().await;
    assert_eq!(k.job(job).await["status"], "canceled");
    assert_eq!(k.message(id).await["escalation"]["state"], "escalating", "not confirmed by a take that did nothing");
    assert!(k.c.app.sms.sent_to(PAULA).is_empty());
}
