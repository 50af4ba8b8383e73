//! Calls to a brand's number (issue 17), end to end: Twilio's signed voice webhooks from the
//! stand-in, whose simulated phones answer, press keys, go to voicemail or ring out; the
//! routing set in Settings -> Calls; the whisper; voicemail and missed calls as leads;
//! recordings copied into our storage and played from the calls list, the customer card and
//! the lead.

use std::time::Duration;

use switchboard_core::clock::Clock;
use switchboard_core::ids::OrgId;
use switchboard_core::tenancy::User;
use switchboard_standins::twilio::{Caller, Pickup};

use crate::helpers::{Browser, TestApp, spawn_app};

const BRAND_NUMBER: &str = "+13125550100";
const CALLER: &str = "+13125550199";
const ANA_CELL: &str = "+13125550161";
const BEN_CELL: &str = "+13125550162";
const CARA_CELL: &str = "+13125550163";

struct Office {
    app: TestApp,
    org: OrgId,
    brand: i64,
    admin: Browser,
    admin_user: User,
    ana: User,
    ben: User,
    cara: User,
}

/// A brand with a number, three people with cells, the stand-in's number pointed at us, and
/// the clock on a Monday at 10:00 in Chicago (working hours).
async fn office(brand_name: &str) -> Office {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("calls").await;
    let brand = app.sms_brand(org, brand_name, BRAND_NUMBER).await.id.0;
    let ana = app.user(org, "ana@calls.example", "dispatcher").await;
    let ben = app.user(org, "ben@calls.example", "dispatcher").await;
    let cara = app.user(org, "cara@calls.example", "dispatcher").await;
    app.sms.set_voice_webhook(app.url("/webhooks/twilio/voice"));
    app.sms.set_voice_status_callback(app.url("/webhooks/twilio/voice/status"));
    app.sms.set_second(Duration::from_millis(25));
    app.sms.set_talk_time(Duration::from_millis(200));
    app.clock.set("2026-11-23T16:00:00Z".parse().unwrap());
    let admin_user = admin.clone();
    let admin = app.signed_in(&admin.email).await;
    Office { app, org, brand, admin, admin_user, ana, ben, cara }
}

impl Office {
    /// Saves the brand's routing through Settings -> Calls: `people` ring in this order, each
    /// (user, ring mode, cell); everyone else does not ring.
    async fn route(&self, strategy: &str, after_hours: &str, people: &[(&User, &str, &str)]) -> (u16, String) {
        self.route_with(strategy, after_hours, "", people).await
    }

    async fn route_with(
        &self,
        strategy: &str,
        after_hours: &str,
        schedule: &str,
        people: &[(&User, &str, &str)],
    ) -> (u16, String) {
        let mut fields: Vec<(String, String)> = vec![
            ("strategy".into(), strategy.into()),
            ("ring_seconds".into(), "20".into()),
            ("record".into(), "on".into()),
            ("greeting".into(), String::new()),
            ("after_hours".into(), after_hours.into()),
            ("after_hours_schedule".into(), schedule.into()),
        ];
        for (u, mode, cell) in people {
            fields.push(("person".into(), u.id.0.to_string()));
            fields.push((format!("rings_{}", u.id.0), "on".into()));
            fields.push((format!("mode_{}", u.id.0), (*mode).into()));
            fields.push((format!("cell_{}", u.id.0), (*cell).into()));
        }
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = self.admin.post_form(&format!("/settings/calls/{}", self.brand), &refs).await;
        if r.status() != 303 {
            let status = r.status().as_u16();
            return (status, r.text().await.unwrap());
        }
        let to = r.headers()["location"].to_str().unwrap().to_string();
        self.admin.get_text(&to).await
    }

    async fn call_in(&self, caller: Caller) -> String {
        let sid = self.app.sms.dial_in(CALLER, BRAND_NUMBER, caller).await.expect("the call is placed");
        self.app.sms.settle(Duration::from_secs(20)).await.expect("the call ends");
        sid
    }

    async fn call_row(&self, sid: &str) -> (String, Option<String>, Option<i64>, Option<i64>, i64) {
        sqlx::query_as(
            "select c.status, c.outcome, c.handled_by, c.lead_id, c.org_id from voice_calls c where c.provider_sid = $1",
        )
        .bind(sid)
        .fetch_one(self.app.db.pool())
        .await
        .unwrap()
    }

    /// Dana Whitfield, a customer calling from `CALLER`.
    async fn dana(&self) -> switchboard_core::customers::Customer {
        let input = switchboard_core::customers::CustomerInput {
            name: "Dana Whitfield".into(),
            phone: CALLER.into(),
            ..Default::default()
        };
        switchboard_core::customers::create(&self.app.db, &self.app.clock, self.org, &input).await.unwrap()
    }

    /// A scheduled job of the brand for `customer`: its id and code.
    async fn job(
        &self,
        customer: &switchboard_core::customers::Customer,
        service: &str,
    ) -> (switchboard_core::ids::JobId, String) {
        let mut tx = self.app.db.begin().await.unwrap();
        let job = switchboard_core::jobs::NewJob {
            brand: switchboard_core::ids::BrandId(self.brand),
            customer: customer.id,
            service: service.into(),
            status: switchboard_core::jobs::JobStatus::Scheduled,
            address: None,
            scheduled_start: None,
            scheduled_end: None,
            techs: vec![],
        };
        let made = switchboard_core::jobs::insert_quietly_in(&mut tx, &self.app.clock, self.org, &job).await.unwrap();
        tx.commit().await.unwrap();
        made
    }

    /// Runs the engine until nothing is due (the recordings' copying).
    async fn drain(&self) {
        for _ in 0..10 {
            if self.app.engine.tick().await.unwrap() == 0 {
                break;
            }
        }
    }
}

fn person(keys: &[&str]) -> Pickup {
    Pickup::Person(keys.iter().map(|k| k.to_string()).collect())
}

#[tokio::test]
async fn parallel_rings_everyone_and_the_first_to_press_1_gets_the_call_the_others_stop_ringing() {
    let o = office("Imaginary Plumbing").await;
    let (status, page) =
        o.route("parallel", "voicemail", &[(&o.ana, "cell", ANA_CELL), (&o.ben, "cell", BEN_CELL)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Call routing saved."), "{page}");
    o.app.sms.set_pickup(ANA_CELL, person(&["1"]));
    o.app.sms.set_pickup(BEN_CELL, Pickup::Ask);

    let sid = o.call_in(Caller::default()).await;

    let legs: Vec<_> =
        o.app.sms.calls().into_iter().filter(|c| c.parent_call_sid.as_deref() == Some(sid.as_str())).collect();
    let ana = legs.iter().find(|c| c.to == ANA_CELL).expect("Ana's cell rang");
    let ben = legs.iter().find(|c| c.to == BEN_CELL).expect("Ben's cell rang at the same time");
    assert_eq!(ana.heard, vec!["Call for Imaginary Plumbing from 3 1 2, 5 5 5, 0 1 9 9. Press 1 to take it."]);
    assert_eq!(ana.pressed, vec!["1"]);
    assert_eq!(ben.status, "canceled", "Ben's cell stops ringing once Ana has the call");
    let parent = o.app.sms.call(&sid).unwrap();
    assert_eq!(parent.bridged_number.as_deref(), Some(ANA_CELL));

    let (status, outcome, handled_by, lead, _) = o.call_row(&sid).await;
    assert_eq!((status.as_str(), outcome.as_deref(), handled_by), ("completed", Some("answered"), Some(o.ana.id.0)));
    assert_eq!(lead, None, "an answered call is not a lead");

    // The conversation's recording is copied into our storage and plays from the calls list.
    o.drain().await;
    let (code, list) = o.admin.get_text("/calls").await;
    assert_eq!(code, 200);
    assert!(list.contains("Answered by dispatcher ana"), "{list}");
    assert!(list.contains("Call recording (0:01)"), "{list}");
    let (id, call_id): (i64, i64) = sqlx::query_as(
        "select r.id, r.call_id from call_recordings r join voice_calls c on c.id = r.call_id where c.provider_sid = $1",
    )
    .bind(&sid)
    .fetch_one(o.app.db.pool())
    .await
    .unwrap();
    assert!(list.contains(&format!("src=\"/calls/{call_id}/recordings/{id}\"")), "{list}");
    let audio = o.admin.get(&format!("/calls/{call_id}/recordings/{id}")).await;
    assert_eq!(audio.status(), 200);
    assert_eq!(audio.headers()["content-type"], "audio/wav");
    assert_eq!(audio.headers()["accept-ranges"], "bytes");
    let bytes = audio.bytes().await.unwrap();
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(&bytes[8..12], b"WAVE");
    // The seek bar asks for a part: it gets that part.
    let part = o
        .admin
        .client
        .get(o.app.url(&format!("/calls/{call_id}/recordings/{id}")))
        .header("range", "bytes=44-99")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], format!("bytes 44-99/{}", bytes.len()));
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[44..100]);
}

#[tokio::test]
async fn a_linear_hunt_rings_one_at_a_time_in_order_and_a_carrier_voicemail_never_takes_the_call() {
    let o = office("Smith & Sons <Plumbing>").await;
    let (status, page) = o
        .route(
            "linear",
            "voicemail",
            &[(&o.ana, "cell", ANA_CELL), (&o.ben, "cell", BEN_CELL), (&o.cara, "cell", CARA_CELL)],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    o.app.sms.set_pickup(ANA_CELL, Pickup::RingOut);
    o.app.sms.set_pickup(BEN_CELL, Pickup::Voicemail);
    o.app.sms.set_pickup(CARA_CELL, person(&["1"]));

    let sid = o.call_in(Caller::default()).await;

    let legs: Vec<_> =
        o.app.sms.calls().into_iter().filter(|c| c.parent_call_sid.as_deref() == Some(sid.as_str())).collect();
    let order: Vec<&str> = legs.iter().map(|c| c.to.as_str()).collect();
    assert_eq!(order, vec![ANA_CELL, BEN_CELL, CARA_CELL], "one at a time, in the saved order");
    let ben = &legs[1];
    assert_eq!(
        ben.voicemail.as_deref(),
        Some("Call for Smith & Sons <Plumbing> from 3 1 2, 5 5 5, 0 1 9 9. Press 1 to take it."),
        "Ben's voicemail heard the whisper (the brand's name unescaped from TwiML) and pressed nothing"
    );
    assert!(ben.pressed.is_empty());
    assert_eq!(o.app.sms.call(&sid).unwrap().bridged_number.as_deref(), Some(CARA_CELL));
    let (_, outcome, handled_by, _, _) = o.call_row(&sid).await;
    assert_eq!((outcome.as_deref(), handled_by), (Some("answered"), Some(o.cara.id.0)));
}

#[tokio::test]
async fn round_robin_starts_with_the_next_person_on_each_call() {
    let o = office("Imaginary Plumbing").await;
    o.route("round_robin", "voicemail", &[(&o.ana, "cell", ANA_CELL), (&o.ben, "cell", BEN_CELL)]).await;
    o.app.sms.set_pickup(ANA_CELL, person(&["1"]));
    o.app.sms.set_pickup(BEN_CELL, person(&["1"]));
    let mut firsts = Vec::new();
    for _ in 0..3 {
        let sid = o.call_in(Caller::default()).await;
        let first = o
            .app
            .sms
            .calls()
            .into_iter()
            .find(|c| c.parent_call_sid.as_deref() == Some(sid.as_str()))
            .expect("a leg rang")
            .to;
        firsts.push(first);
    }
    assert_eq!(firsts, vec![ANA_CELL, BEN_CELL, ANA_CELL]);
    let (next,): (i64,) = sqlx::query_as("select next_start from call_routing where brand_id = $1")
        .bind(o.brand)
        .fetch_one(o.app.db.pool())
        .await
        .unwrap();
    assert_eq!(next, 3, "the position is kept in the database, shared by every instance");
}

#[tokio::test]
async fn nobody_answers_the_caller_leaves_a_voicemail_that_joins_their_texts_as_a_lead_with_the_recording() {
    let o = office("Imaginary Plumbing").await;
    o.route("parallel", "voicemail", &[(&o.ana, "cell", ANA_CELL)]).await;
    o.app.sms.set_pickup(ANA_CELL, Pickup::RingOut);
    // They texted first: the voicemail joins that thread.
    o.app.sms.reply(CALLER, BRAND_NUMBER, "Is anyone there? Water heater leaking").await.unwrap();
    o.app.route_inbound().await;

    let says = "Hi this is Dana at 12 Wacker Drive the water heater is leaking please call me back";
    let sid = o.call_in(Caller { says: Some(says.into()), ..Default::default() }).await;

    let parent = o.app.sms.call(&sid).unwrap();
    assert!(
        parent.heard.iter().any(|h| h
            == "Thank you for calling Imaginary Plumbing. Nobody can take your call right now. Please leave your \
                name, your number and what you need after the tone, and we will call you back."),
        "{:?}",
        parent.heard
    );
    // The caller hung up after the message (Digits=hangup): what our answer says is not heard.
    assert_eq!(parent.heard.last().map(String::as_str), Some("[beep]"));
    let (_, outcome, _, lead, _) = o.call_row(&sid).await;
    assert_eq!(outcome.as_deref(), Some("voicemail"));
    let lead = lead.expect("the voicemail is a lead");
    let thread: Vec<(String, String)> =
        sqlx::query_as("select channel, body from lead_messages where lead_id = $1 order by at, id")
            .bind(lead)
            .fetch_all(o.app.db.pool())
            .await
            .unwrap();
    let secs =
        o.app.sms.recordings().into_iter().find(|r| r.call_sid == sid).expect("a voicemail recording").duration_secs;
    assert_eq!(
        thread,
        vec![
            ("sms".to_string(), "Is anyone there? Water heater leaking".to_string()),
            ("call".to_string(), format!("Voicemail (0:{secs:02}): {says}")),
        ]
    );
    // The recording is fetched (once the provider answers) and plays in the lead's thread.
    o.app.sms.fail_next_recording_fetch(1);
    o.drain().await;
    let (_, page) = o.admin.get_text(&format!("/leads/{lead}")).await;
    assert!(page.contains("the recording is on its way from the provider."), "{page}");
    o.app.clock.advance(jiff::SignedDuration::from_mins(10));
    o.drain().await;
    let (status, page) = o.admin.get_text(&format!("/leads/{lead}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("<audio controls"), "{page}");
    assert!(page.contains(&format!("href=\"tel:{CALLER}\"")), "a call-back button: {page}");
    let stored: (String, i64) =
        sqlx::query_as("select status, size_bytes from call_recordings where kind = 'voicemail'")
            .fetch_one(o.app.db.pool())
            .await
            .unwrap();
    assert_eq!(stored.0, "stored");
    assert!(stored.1 > 44);
}

#[tokio::test]
async fn a_caller_who_hangs_up_without_a_message_is_a_missed_call_lead_and_a_known_customer_sees_it_on_their_card() {
    let o = office("Imaginary Plumbing").await;
    let customer = o.dana().await;
    o.route("parallel", "voicemail", &[(&o.ana, "cell", ANA_CELL)]).await;
    o.app.sms.set_pickup(ANA_CELL, Pickup::RingOut);

    let sid = o.call_in(Caller::default()).await;

    let (status, outcome, _, lead, _) = o.call_row(&sid).await;
    assert_eq!((status.as_str(), outcome.as_deref()), ("completed", Some("missed")));
    let (body,): (String,) = sqlx::query_as("select body from lead_messages where lead_id = $1")
        .bind(lead.expect("a missed call is a lead"))
        .fetch_one(o.app.db.pool())
        .await
        .unwrap();
    assert_eq!(body, "Missed call. No voicemail was left.");
    // Ana's whisper named the customer.
    let ana = o.app.sms.calls_to(ANA_CELL);
    assert!(ana.iter().all(|c| c.heard.is_empty()), "Ana never picked up");
    let (code, card) = o.admin.get_text(&format!("/customers/{}", customer.id.0)).await;
    assert_eq!(code, 200);
    assert!(card.contains("call-missed"), "{card}");
    // The job booked for them that day shows the call too.
    let (job, _) = o.job(&customer, "Leak").await;
    let (code, page) = o.admin.get_text(&format!("/jobs/{}", job.0)).await;
    assert_eq!(code, 200);
    assert!(page.contains("id=\"calls\"") && page.contains("call-missed"), "{page}");
    let (_, missed) = o.admin.get_text("/calls?outcome=missed").await;
    assert!(missed.contains("Dana Whitfield"), "{missed}");
    let (_, answered) = o.admin.get_text("/calls?outcome=answered").await;
    assert!(!answered.contains("Dana Whitfield"), "{answered}");
    let (_, found) = o.admin.get_text("/calls?q=0199").await;
    assert!(found.contains("Dana Whitfield"), "search by the number's digits: {found}");
}

#[tokio::test]
async fn after_hours_goes_straight_to_voicemail_and_a_number_we_do_not_have_is_not_in_service() {
    let o = office("Imaginary Plumbing").await;
    o.route("parallel", "voicemail", &[(&o.ana, "cell", ANA_CELL)]).await;
    o.app.sms.set_pickup(ANA_CELL, person(&["1"]));
    // Sunday evening in Chicago.
    o.app.clock.set("2026-11-23T02:00:00Z".parse().unwrap());
    let sid = o.call_in(Caller { says: Some("Call me Monday".into()), ..Default::default() }).await;
    assert!(o.app.sms.calls_to(ANA_CELL).is_empty(), "nobody's cell rings after hours");
    assert_eq!(o.call_row(&sid).await.1.as_deref(), Some("voicemail"));

    let other = o.app.sms.dial_in(CALLER, "+13125550111", Caller::default()).await.unwrap();
    o.app.sms.settle(Duration::from_secs(20)).await.unwrap();
    assert_eq!(o.app.sms.call(&other).unwrap().heard, vec!["Sorry, this number is not in service. Goodbye."]);
    let (n,): (i64,) = sqlx::query_as("select count(*) from voice_calls").fetch_one(o.app.db.pool()).await.unwrap();
    assert_eq!(n, 1, "a call to a number we do not have is not stored");
}

#[tokio::test]
async fn the_routing_form_refuses_bad_input_beside_the_field_and_saves_nothing() {
    let o = office("Imaginary Plumbing").await;
    let ana = o.ana.id.0;
    let fields = [
        ("strategy", "parallel"),
        ("ring_seconds", "3"),
        ("after_hours", "oncall"),
        ("after_hours_schedule", ""),
        ("person", &ana.to_string()),
        (&format!("rings_{ana}"), "on"),
        (&format!("mode_{ana}"), "cell"),
        (&format!("cell_{ana}"), "12"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = o.admin.post_form(&format!("/settings/calls/{}", o.brand), &refs).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("Ring each person for 5 to 120 seconds."), "{page}");
    assert!(page.contains("Choose the on-call schedule whose person takes calls after hours."), "{page}");
    assert!(page.contains(&format!("name=\"cell_{ana}\" value=\"12\"")), "what was typed is kept: {page}");
    let (n,): (i64,) = sqlx::query_as("select count(*) from call_routing").fetch_one(o.app.db.pool()).await.unwrap();
    assert_eq!(n, 0);
    let (cell,): (Option<String>,) = sqlx::query_as("select cell_phone from users where id = $1")
        .bind(ana)
        .fetch_one(o.app.db.pool())
        .await
        .unwrap();
    assert_eq!(cell, None);
    // A dispatcher may look but not change it.
    let dispatcher = o.app.signed_in(&o.ben.email).await;
    let r = dispatcher.post_form(&format!("/settings/calls/{}", o.brand), &refs).await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn every_voice_webhook_refuses_a_bad_signature_and_changes_nothing() {
    let o = office("Imaginary Plumbing").await;
    let client = reqwest::Client::new();
    for path in [
        "/webhooks/twilio/voice",
        "/webhooks/twilio/voice/status",
        "/webhooks/twilio/voice/dialed?call=1&step=0",
        "/webhooks/twilio/voice/whisper?call=1&step=0&leg=0",
        "/webhooks/twilio/voice/whisper/key?call=1&step=0&leg=0",
        "/webhooks/twilio/voice/voicemail?call=1",
        "/webhooks/twilio/voice/recording?call=1&kind=call",
        "/webhooks/twilio/voice/transcript?call=1",
        "/webhooks/twilio/voice/connect?call=1",
        "/webhooks/twilio/voice/connected?call=1",
        "/webhooks/twilio/voice/patched?call=1",
        "/webhooks/twilio/voice/patch?call=1&target=0",
        "/webhooks/twilio/voice/patch/key?call=1&target=0",
        "/webhooks/twilio/voice/patch/status?call=1&target=0",
    ] {
        let form = [("CallSid", "CAforged"), ("From", CALLER), ("To", BRAND_NUMBER), ("CallStatus", "ringing")];
        let unsigned = client.post(o.app.url(path)).form(&form).send().await.unwrap();
        assert_eq!(unsigned.status(), 403, "{path} unsigned");
        let forged =
            client.post(o.app.url(path)).header("X-Twilio-Signature", "bm9wZQ==").form(&form).send().await.unwrap();
        assert_eq!(forged.status(), 403, "{path} with a wrong signature");
    }
    let (n,): (i64,) = sqlx::query_as("select count(*) from voice_calls").fetch_one(o.app.db.pool()).await.unwrap();
    assert_eq!(n, 0);
    let _ = o.app.clock.now();
}

#[tokio::test]
async fn a_click_on_a_number_calls_the_persons_cell_then_puts_them_through_to_the_customer_from_the_brands_number() {
    let o = office("Imaginary Plumbing").await;
    let customer = o.dana().await;
    // Without a cell on file there is nobody to ring first.
    let r = o.admin.post_form("/calls/dial", &[("to", CALLER), ("brand", &o.brand.to_string())]).await;
    assert_eq!(r.status(), 409);
    let page = r.text().await.unwrap();
    assert!(
        page.contains(
            "Not called: Add your cell number in Settings → Calls first: we call you there, then put you through."
        ),
        "{page}"
    );
    let admin = o.admin_user.clone();
    o.route("parallel", "voicemail", &[(&admin, "cell", "(312) 555-0170")]).await;
    o.app.sms.set_pickup("+13125550170", person(&[]));
    o.app.sms.set_pickup(CALLER, person(&[]));

    let r = o.admin.post_form("/calls/dial", &[("to", "(312) 555-0199"), ("brand", &o.brand.to_string())]).await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let (_, page) = o.admin.get_text(&to).await;
    assert!(page.contains("Calling your cell (312) 555-0170: answer it, and you are put through."), "{page}");
    o.app.sms.settle(Duration::from_secs(20)).await.unwrap();

    let mine = o.app.sms.calls_to("+13125550170");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].from, BRAND_NUMBER, "the office's number calls the person");
    assert_eq!(mine[0].heard, vec!["Calling Dana Whitfield for Imaginary Plumbing."]);
    assert_eq!(mine[0].bridged_number.as_deref(), Some(CALLER));
    let dana = o.app.sms.calls_to(CALLER);
    assert_eq!(dana.len(), 1);
    assert_eq!(dana[0].from, BRAND_NUMBER, "the customer sees the brand's number");
    let (direction, outcome, handled_by, customer_id): (String, Option<String>, Option<i64>, Option<i64>) =
        sqlx::query_as("select direction, outcome, handled_by, customer_id from voice_calls")
            .fetch_one(o.app.db.pool())
            .await
            .unwrap();
    assert_eq!(
        (direction.as_str(), outcome.as_deref(), handled_by, customer_id),
        ("outbound", Some("answered"), Some(admin.id.0), Some(customer.id.0))
    );
    let (leads,): (i64,) = sqlx::query_as("select count(*) from leads").fetch_one(o.app.db.pool()).await.unwrap();
    assert_eq!(leads, 0, "a call we made is not a lead");
}

#[tokio::test]
async fn numbers_outside_the_countries_of_the_brands_are_never_dialed() {
    let o = office("Imaginary Plumbing").await;
    let admin = o.admin_user.clone();
    o.route("parallel", "voicemail", &[(&admin, "cell", "(312) 555-0170")]).await;
    for (to, said) in [
        (
            "+44 20 7946 0958",
            "Not called: Calls to +44 20 7946 0958 (United Kingdom) are not allowed: Switchboard calls only the countries your brands work in (United States).",
        ),
        (
            "+1 876 555 0142",
            "Not called: Calls to (876) 555-0142 (Jamaica) are not allowed: Switchboard calls only the countries your brands work in (United States).",
        ),
        ("12", "Not called: &#34;12&#34; is not a valid phone number"),
    ] {
        let r = o.admin.post_form("/calls/dial", &[("to", to), ("brand", &o.brand.to_string())]).await;
        assert_eq!(r.status(), 422, "{to}");
        let page = r.text().await.unwrap();
        assert!(page.contains(said), "{to}: {page}");
    }
    assert!(o.app.sms.calls().is_empty(), "nothing was dialed");
    let (n,): (i64,) = sqlx::query_as("select count(*) from voice_calls").fetch_one(o.app.db.pool()).await.unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn the_softphone_dock_rings_with_the_callers_open_jobs_takes_the_call_sends_keys_and_hangs_up() {
    let o = office("Imaginary Plumbing").await;
    let customer = o.dana().await;
    let (job, code) = o.job(&customer, "Water heater leaking").await;
    o.route("parallel", "voicemail", &[(&o.ana, "browser", "")]).await;
    // The brand is also a client of the message desk: the operator answers with its phrase.
    let key = o.app.api_key(o.org).await;
    let (status, _) = o
        .app
        .api_post(
            &key,
            &format!("/api/v1/brands/{}/protocol/template", o.brand),
            serde_json::json!({ "template": "hvac_plumbing" }),
        )
        .await;
    assert_eq!(status, 200);
    let protocol: serde_json::Value = o
        .app
        .client()
        .get(o.app.url(&format!("/api/v1/brands/{}/protocol", o.brand)))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let phrase = protocol["protocol"]["answer_phrase"].as_str().unwrap().to_string();
    assert!(!phrase.is_empty());
    // Slow enough for a person to click: 20 "seconds" of ringing are 5 s here.
    o.app.sms.set_second(Duration::from_millis(250));
    o.app.sms.set_talk_time(Duration::from_secs(10));
    let ana = o.app.signed_in(&o.ana.email).await;
    let (_, idle) = ana.get_text("/softphone").await;
    assert!(idle.contains("Phone ready"), "{idle}");

    let sid = o.app.sms.dial_in(CALLER, BRAND_NUMBER, Caller::default()).await.unwrap();
    let mut ringing = String::new();
    for _ in 0..100 {
        ringing = ana.get_text("/softphone").await.1;
        if ringing.contains("Incoming call") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ringing.contains("Incoming call · Imaginary Plumbing"), "{ringing}");
    assert!(ringing.contains("Dana Whitfield"), "{ringing}");
    assert!(ringing.contains(&format!("href=\"/jobs/{}\">{code} · Water heater leaking</a>", job.0)), "{ringing}");
    let escaped = phrase.replace('&', "&#38;").replace('\'', "&#39;").replace('"', "&#34;");
    assert!(ringing.contains(&format!("Answer: “{escaped}”")), "{ringing}");
    // Ben does not ring in his browser: the call is not his.
    let ben = o.app.signed_in(&o.ben.email).await;
    assert!(!ben.get_text("/softphone").await.1.contains("Incoming call"));

    let call: (i64,) = sqlx::query_as("select id from voice_calls where provider_sid = $1")
        .bind(&sid)
        .fetch_one(o.app.db.pool())
        .await
        .unwrap();
    let r = ana.post_form(&format!("/softphone/calls/{}/accept", call.0), &[]).await;
    assert_eq!(r.status(), 200);
    let live = r.text().await.unwrap();
    assert!(live.contains("On a call · Imaginary Plumbing"), "{live}");
    assert!(live.contains(&format!("href=\"/desk?client={}\">Take a message</a>", o.brand)), "{live}");
    let r = ana.post_form(&format!("/softphone/calls/{}/key", call.0), &[("key", "5")]).await;
    assert_eq!(r.status(), 200);
    let leg = o
        .app
        .sms
        .calls()
        .into_iter()
        .find(|c| c.parent_call_sid.as_deref() == Some(sid.as_str()))
        .expect("the browser's leg");
    assert_eq!(leg.to, format!("client:u{}", o.ana.id.0));
    assert_eq!(leg.pressed, vec!["5"]);
    assert_eq!(o.app.sms.call(&sid).unwrap().bridged_number.as_deref(), Some(leg.to.as_str()));
    let r = ana.post_form(&format!("/softphone/calls/{}/hangup", call.0), &[]).await;
    assert_eq!(r.status(), 200);
    o.app.sms.settle(Duration::from_secs(20)).await.unwrap();
    let (status, outcome, handled_by, _, _) = o.call_row(&sid).await;
    assert_eq!((status.as_str(), outcome.as_deref(), handled_by), ("completed", Some("answered"), Some(o.ana.id.0)));
    assert!(ana.get_text("/softphone").await.1.contains("Phone ready"), "the dock is free again");
}

#[tokio::test]
async fn after_hours_the_call_rings_whoever_is_on_call_then_on_their_cell() {
    let o = office("Imaginary Plumbing").await;
    let key = o.app.api_key(o.org).await;
    let (status, body) = o
        .app
        .api_post(
            &key,
            &format!("/api/v1/brands/{}/contacts", o.brand),
            serde_json::json!({"name": "Cy Relief", "methods": [{"kind": "cell", "value": "(312) 555-0149"}]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let cy = body["contact"]["id"].as_i64().unwrap();
    let layer = serde_json::json!({
        "name": "Nights", "members": [format!("contact:{cy}")], "shift": { "unit": "days", "count": 7 },
        "start": "2026-11-02T00:00",
        "windows": [{ "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "00:00" }],
    });
    let (status, body) = o
        .app
        .api_post(
            &key,
            "/api/v1/schedules",
            serde_json::json!({ "client_id": o.brand, "name": "Nights", "layers": [layer] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let schedule = body["schedule"]["id"].as_i64().unwrap().to_string();
    let (status, page) = o.route_with("parallel", "oncall", &schedule, &[(&o.ana, "cell", ANA_CELL)]).await;
    assert_eq!(status, 200, "{page}");
    o.app.sms.set_pickup(ANA_CELL, person(&["1"]));
    o.app.sms.set_pickup("+13125550149", person(&["1"]));
    // Sunday evening in Chicago: the office is closed.
    o.app.clock.set("2026-11-23T02:00:00Z".parse().unwrap());

    let sid = o.call_in(Caller::default()).await;

    assert!(o.app.sms.calls_to(ANA_CELL).is_empty(), "the working-hours people are not rung");
    let cy_legs = o.app.sms.calls_to("+13125550149");
    assert_eq!(cy_legs.len(), 1);
    assert_eq!(cy_legs[0].heard, vec!["Call for Imaginary Plumbing from 3 1 2, 5 5 5, 0 1 9 9. Press 1 to take it."]);
    assert_eq!(o.app.sms.call(&sid).unwrap().bridged_number.as_deref(), Some("+13125550149"));
    let (_, outcome, handled_by, _, _) = o.call_row(&sid).await;
    assert_eq!((outcome.as_deref(), handled_by), (Some("answered"), None), "a contact without a sign-in took it");
    let (_, list) = o.admin.get_text("/calls").await;
    assert!(list.contains("Answered by (312) 555-0149"), "{list}");
}

/// Cy, a contact on call all week for the brand; the schedule's id.
async fn cy_on_call(o: &Office) -> String {
    let key = o.app.api_key(o.org).await;
    let mut layers = Vec::new();
    for (name, cell) in [("Cy Relief", "(312) 555-0149")] {
        let (status, body) = o
            .app
            .api_post(
                &key,
                &format!("/api/v1/brands/{}/contacts", o.brand),
                serde_json::json!({"name": name, "methods": [{"kind": "cell", "value": cell}]}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let id = body["contact"]["id"].as_i64().unwrap();
        layers.push(serde_json::json!({
            "name": name, "members": [format!("contact:{id}")], "shift": { "unit": "days", "count": 7 },
            "start": "2026-11-02T00:00",
            "windows": [{ "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "00:00" }],
        }));
    }
    let (status, body) = o
        .app
        .api_post(
            &key,
            "/api/v1/schedules",
            serde_json::json!({ "client_id": o.brand, "name": "Nights", "layers": layers }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["schedule"]["id"].as_i64().unwrap().to_string()
}

impl Office {
    /// Places a call and runs the engine (which calls each next person) until it ends.
    async fn call_in_with_engine(&self, caller: Caller) -> String {
        let sid = self.app.sms.dial_in(CALLER, BRAND_NUMBER, caller).await.expect("the call is placed");
        for _ in 0..400 {
            self.app.engine.tick().await.unwrap();
            let over = self.app.sms.call(&sid).is_some_and(|c| c.status == "completed");
            if over {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.app.sms.settle(Duration::from_secs(20)).await.expect("the call ends");
        sid
    }
}

#[tokio::test]
async fn the_live_patch_holds_the_caller_and_the_first_on_call_person_to_press_1_is_put_through() {
    let o = office("Imaginary Plumbing").await;
    let schedule = cy_on_call(&o).await;
    let (status, page) = o.route_with("parallel", "patch", &schedule, &[(&o.ana, "cell", ANA_CELL)]).await;
    assert_eq!(status, 200, "{page}");
    o.app.sms.set_pickup("+13125550149", person(&["2"]));
    o.app.sms.set_pickup(ANA_CELL, person(&["1"]));
    o.app.clock.set("2026-11-23T02:00:00Z".parse().unwrap());

    let sid = o.call_in_with_engine(Caller { hang_up_after: Some(Duration::from_secs(3)), ..Default::default() }).await;

    let caller = o.app.sms.call(&sid).unwrap();
    assert_eq!(
        caller.heard.first().map(String::as_str),
        Some("Please hold while we connect you to the person on call.")
    );
    let cy = o.app.sms.calls_to("+13125550149");
    assert_eq!(cy.len(), 1);
    assert_eq!(cy[0].from, BRAND_NUMBER);
    assert_eq!(
        cy[0].heard,
        vec![
            "Urgent call for Imaginary Plumbing from 3 1 2, 5 5 5, 0 1 9 9. Press 1 to be connected, 2 to pass.",
            "We will try the next person. Goodbye."
        ]
    );
    let ana = o.app.sms.calls_to(ANA_CELL);
    assert_eq!(ana.len(), 1, "the brand's own person is called after the on-call person passed");
    assert_eq!(ana[0].pressed, vec!["1"]);
    assert_eq!(caller.bridged_number.as_deref(), Some(ANA_CELL), "the caller is put through to Ana");
    let (_, outcome, handled_by, lead, _) = o.call_row(&sid).await;
    assert_eq!((outcome.as_deref(), handled_by, lead), (Some("answered"), Some(o.ana.id.0), None));
}

#[tokio::test]
async fn a_live_patch_nobody_takes_ends_in_a_voicemail_that_becomes_a_lead() {
    let o = office("Imaginary Plumbing").await;
    let schedule = cy_on_call(&o).await;
    o.route_with("parallel", "patch", &schedule, &[(&o.ana, "cell", ANA_CELL)]).await;
    o.app.sms.set_pickup("+13125550149", Pickup::Voicemail);
    o.app.sms.set_pickup(ANA_CELL, Pickup::RingOut);
    o.app.clock.set("2026-11-23T02:00:00Z".parse().unwrap());

    let sid =
        o.call_in_with_engine(Caller { says: Some("Burst pipe in the basement".into()), ..Default::default() }).await;

    let cy = o.app.sms.calls_to("+13125550149");
    assert_eq!(cy.len(), 1);
    assert!(cy[0].pressed.is_empty(), "Cy's voicemail pressed nothing");
    assert_eq!(o.app.sms.calls_to(ANA_CELL).len(), 1, "then Ana, who does not answer");
    let caller = o.app.sms.call(&sid).unwrap();
    assert!(caller.heard.iter().any(|h| h == "Nobody could take your call right now."), "{:?}", caller.heard);
    let (_, outcome, _, lead, _) = o.call_row(&sid).await;
    assert_eq!(outcome.as_deref(), Some("voicemail"));
    let (body,): (String,) = sqlx::query_as("select body from lead_messages where lead_id = $1")
        .bind(lead.expect("a lead"))
        .fetch_one(o.app.db.pool())
        .await
        .unwrap();
    assert!(body.ends_with("): Burst pipe in the basement"), "{body}");
}
