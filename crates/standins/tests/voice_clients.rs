//! Browser softphones and people on the phones page: a `<Client>` leg set to (or left at)
//! `Pickup::Ask` rings until it is answered (with `pick_up` or the client route), declined, or the
//! Dial times out;
//! `ringing_for` finds it; a person hangs up a live leg, which completes the whole call.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use support::{BO, BRAND, CALLER, Hit, settle, start, twiml, wait_for};
use switchboard_standins::twilio::{Caller, PageAction, Pickup, SimCall, TwilioStandin};

/// Long enough that only a hang-up ends a bridged call within a test.
const TALK: Duration = Duration::from_secs(5);

fn softphone(hit: &Hit, _: &str) -> String {
    match hit.path.as_str() {
        "/voice" => twiml("<Dial timeout=\"20\" action=\"/dial-result\"><Client>u7</Client></Dial>"),
        "/whispered" => twiml(
            "<Dial timeout=\"20\" action=\"/dial-result\"><Client url=\"/whisper\"><Identity>u7</Identity></Client></Dial>",
        ),
        "/whisper" => twiml(
            "<Gather numDigits=\"1\" timeout=\"10\" action=\"/accept\"><Say>Call for Acme. Press 1.</Say></Gather><Hangup/>",
        ),
        "/accept" if hit.param("Digits") == Some("1") => twiml(""),
        _ => twiml("<Hangup/>"),
    }
}

/// The leg ringing on the softphone `u7`.
async fn ringing_leg(twilio: &TwilioStandin) -> SimCall {
    wait_for("the softphone rings", || twilio.ringing_for("client:u7").into_iter().find(|c| c.status == "ringing"))
        .await
}

async fn client_action(
    twilio: &TwilioStandin,
    identity: &str,
    sid: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let url = format!("{}/clients/{identity}/calls/{sid}", twilio.base_url());
    let resp = reqwest::Client::new().post(url).form(form).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn a_softphone_set_to_ask_rings_until_picked_up_and_its_hang_up_completes_the_call() {
    let (twilio, app) = start(softphone).await;
    twilio.set_client_pickup("u7", Pickup::Ask);
    twilio.set_talk_time(TALK);
    let begun = Instant::now();
    let sid = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();

    let leg = ringing_leg(&twilio).await;
    assert_eq!(
        (leg.direction, leg.parent_call_sid.as_deref(), leg.from.as_str()),
        ("outbound-dial", Some(sid.as_str()), BRAND)
    );
    assert_eq!(twilio.ringing_for("client:u7").len(), 1);
    assert!(twilio.ringing_for("client:u8").is_empty());
    assert_eq!(
        twilio.ringing_for(BRAND).iter().map(|c| c.sid.as_str()).collect::<Vec<_>>(),
        [sid.as_str()],
        "the inbound call itself"
    );
    assert!(twilio.pick_up(&leg.sid, PageAction::Answer));

    wait_for("bridged", || twilio.call(&sid).unwrap().bridged_to.filter(|b| *b == leg.sid)).await;
    assert!(!twilio.pick_up(&leg.sid, PageAction::Answer), "no longer ringing");
    let live = twilio.ringing_for("client:u7");
    assert_eq!((live.len(), live[0].status.as_str()), (1, "in-progress"));
    assert_eq!(twilio.call(&leg.sid).unwrap().bridged_number.as_deref(), Some(CALLER));
    // Keys pressed in the conversation are kept at once.
    assert!(twilio.pick_up(&leg.sid, PageAction::Key("5".into())));
    assert!(twilio.pick_up(&leg.sid, PageAction::Key("#".into())));
    assert_eq!(twilio.call(&leg.sid).unwrap().pressed, ["5", "#"]);

    assert!(twilio.pick_up(&leg.sid, PageAction::Hangup));
    assert!(!twilio.pick_up(&leg.sid, PageAction::Hangup), "hung up already");
    settle(&twilio).await;
    assert!(begun.elapsed() < TALK, "the hang-up ended the talk: {:?}", begun.elapsed());
    assert!(twilio.ringing_for("client:u7").is_empty());
    assert_eq!(twilio.call(&sid).unwrap().status, "completed");
    assert_eq!(twilio.call(&leg.sid).unwrap().status, "completed");
    let result = app.one("/dial-result");
    assert_eq!(
        (result.p("DialCallStatus"), result.p("DialCallSid"), result.p("DialBridged")),
        ("completed", leg.sid.as_str(), "true")
    );
    assert!(!twilio.pick_up(&leg.sid, PageAction::Hangup), "over");
    app.all_signed();
}

#[tokio::test]
async fn the_client_route_answers_presses_a_key_and_hangs_up_a_softphone_leg() {
    let (twilio, app) = start(softphone).await;
    twilio.set_voice_webhook(app.url("/whispered"));
    twilio.set_client_pickup("u7", Pickup::Ask);
    twilio.set_talk_time(TALK);
    let begun = Instant::now();
    let sid = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    let leg = ringing_leg(&twilio).await;

    let (status, body) = client_action(&twilio, "u8", &leg.sid, &[("action", "answer")]).await;
    assert_eq!(status, 404, "not u8's call: {body}");
    let (status, _) = client_action(&twilio, "u7", &leg.sid, &[("action", "shrug")]).await;
    assert_eq!(status, 400);
    let (status, body) = client_action(&twilio, "u7", &leg.sid, &[("action", "answer")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["sid"].as_str(), body["to"].as_str()), (Some(leg.sid.as_str()), Some("client:u7")));
    assert_eq!(body["status"], "in-progress", "answered once the leg took the call");
    let (status, _) = client_action(&twilio, "u7", &leg.sid, &[("key", "1")]).await;
    assert_eq!(status, 200);

    wait_for("bridged after the whisper", || twilio.call(&sid).unwrap().bridged_to.filter(|b| *b == leg.sid)).await;
    let answered = twilio.call(&leg.sid).unwrap();
    assert_eq!(
        (answered.heard.as_slice(), answered.pressed.as_slice()),
        (["Call for Acme. Press 1.".to_string()].as_slice(), ["1".to_string()].as_slice())
    );
    let (status, _) = client_action(&twilio, "u7", &leg.sid, &[("key", "9")]).await;
    assert_eq!(status, 200);
    assert_eq!(twilio.call(&leg.sid).unwrap().pressed, ["1", "9"], "the whisper's key, then one in the conversation");
    let (status, body) = client_action(&twilio, "u7", &leg.sid, &[("action", "hangup")]).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("completed")), "answered once the hang-up took effect");
    settle(&twilio).await;
    assert!(begun.elapsed() < TALK, "{:?}", begun.elapsed());
    assert_eq!(twilio.call(&sid).unwrap().status, "completed");
    assert_eq!(app.one("/dial-result").p("DialCallStatus"), "completed");
    let (status, _) = client_action(&twilio, "u7", &leg.sid, &[("action", "hangup")]).await;
    assert_eq!(status, 409, "the call is over");
    app.all_signed();
}

#[tokio::test]
async fn a_softphone_that_declines_or_hangs_up_while_ringing_is_busy_and_one_left_ringing_rings_out() {
    let (twilio, app) = start(|hit: &Hit, _: &str| match hit.path.as_str() {
        "/voice" => twiml("<Dial timeout=\"5\" action=\"/dial-result\"><Client>u7</Client></Dial>"),
        _ => twiml("<Hangup/>"),
    })
    .await;
    twilio.set_client_pickup("u7", Pickup::Ask);
    for action in ["decline", "hangup"] {
        twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
        let leg = ringing_leg(&twilio).await;
        let (status, _) = client_action(&twilio, "u7", &leg.sid, &[("action", action)]).await;
        assert_eq!(status, 200, "{action}");
        settle(&twilio).await;
        assert_eq!(twilio.call(&leg.sid).unwrap().status, "busy", "{action}");
    }
    let begun = Instant::now();
    twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    let leg = ringing_leg(&twilio).await;
    settle(&twilio).await;
    assert!(begun.elapsed() >= Duration::from_millis(100), "5 TwiML seconds of ringing");
    assert_eq!(twilio.call(&leg.sid).unwrap().status, "no-answer");
    let statuses: Vec<String> = app.at("/dial-result").iter().map(|h| h.p("DialCallStatus").to_string()).collect();
    assert_eq!(statuses, ["busy", "busy", "no-answer"]);
}

#[tokio::test]
async fn hang_up_on_the_phones_page_ends_a_live_number_leg() {
    let (twilio, app) = start(|hit: &Hit, _: &str| match hit.path.as_str() {
        "/voice" => twiml(&format!("<Dial timeout=\"50\" action=\"/dial-result\"><Number>{BO}</Number></Dial>")),
        _ => twiml("<Hangup/>"),
    })
    .await;
    twilio.set_talk_time(TALK);
    // BO has no behaviour set: its leg rings for a person on the phones page.
    let begun = Instant::now();
    let sid = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    let leg = wait_for("BO rings", || twilio.ringing_for(BO).into_iter().find(|c| c.status == "ringing")).await;
    assert!(twilio.pick_up(&leg.sid, PageAction::Answer));
    wait_for("bridged", || twilio.call(&sid).unwrap().bridged_to.filter(|b| *b == leg.sid)).await;

    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let phone = format!("{}/phones/%2B15551230031", twilio.base_url());
    let page = http.get(&phone).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("outbound-dial · in-progress") && page.contains("value='hangup'>Hang up"), "{page}");
    let resp = http.post(format!("{phone}/calls/{}", leg.sid)).form(&[("action", "hangup")]).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    settle(&twilio).await;
    assert!(begun.elapsed() < TALK, "{:?}", begun.elapsed());
    assert_eq!(twilio.call(&sid).unwrap().status, "completed");
    assert_eq!(twilio.call(&leg.sid).unwrap().status, "completed");
    let result = app.one("/dial-result");
    assert_eq!((result.p("DialCallStatus"), result.p("DialCallSid")), ("completed", leg.sid.as_str()));
    let page = http.get(&phone).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("Hang up"), "{page}");
}

#[tokio::test]
async fn the_client_route_answers_once_bridged_so_a_key_pressed_right_after_is_kept() {
    let (twilio, app) = start(softphone).await;
    // No pickup set for u7: a softphone rings for a person, as a number does.
    twilio.set_talk_time(TALK);
    let sid = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    // At once, as a person clicks as soon as the call shows: the leg may not listen yet.
    let leg = wait_for("the leg", || twilio.calls().into_iter().find(|c| c.to == "client:u7")).await;
    let (status, answered) = client_action(&twilio, "u7", &leg.sid, &[("action", "answer")]).await;
    assert_eq!(status, 200);
    assert_eq!(
        (answered["status"].as_str(), answered["bridged_to"].as_str()),
        (Some("in-progress"), Some(sid.as_str()))
    );
    assert_eq!(twilio.call(&sid).unwrap().bridged_number.as_deref(), Some("client:u7"));
    let (status, _) = client_action(&twilio, "u7", &leg.sid, &[("key", "5")]).await;
    assert_eq!(status, 200);
    assert_eq!(twilio.call(&leg.sid).unwrap().pressed, ["5"]);
    let (status, _) = client_action(&twilio, "u7", &leg.sid, &[("action", "hangup")]).await;
    assert_eq!(status, 200);
    settle(&twilio).await;
    assert_eq!(app.one("/dial-result").p("DialCallStatus"), "completed");
}
