//! Inbound calls through the Twilio stand-in: a simulated phone calls the business number, the
//! customer's app answers with TwiML, and `<Dial>` rings staff phones in parallel, with and
//! without a whisper.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use support::{ANA, BO, BRAND, CALLER, Hit, settle, start, twiml};
use switchboard_standins::twilio::{Caller, PageAction, Pickup, SimCall};

fn legs_of(twilio: &switchboard_standins::twilio::TwilioStandin, sid: &str) -> Vec<SimCall> {
    twilio.calls().into_iter().filter(|c| c.parent_call_sid.as_deref() == Some(sid)).collect()
}

fn leg(legs: &[SimCall], to: &str) -> SimCall {
    legs.iter().find(|l| l.to == to).cloned().unwrap_or_else(|| panic!("no leg to {to}: {legs:?}"))
}

#[tokio::test]
async fn parallel_ring_bridges_the_first_phone_to_answer_and_cancels_the_other() {
    let (twilio, app) = start(|hit: &Hit, base: &str| match hit.path.as_str() {
        "/voice" => twiml(&format!(
            "<Say>Connecting you.</Say>\
             <Dial timeout=\"20\" answerOnBridge=\"true\" callerId=\"{BRAND}\" method=\"POST\" \
               action=\"{base}/dial-result?call=C1&amp;strategy=parallel\" record=\"record-from-answer-dual\" \
               recordingStatusCallback=\"{base}/recording?call=C1&amp;kind=call\" recordingStatusCallbackEvent=\"completed\">\
               <Number>{ANA}</Number><Number>{BO}</Number></Dial>\
             <Say>Not heard: the action replaces the rest.</Say>"
        )),
        "/dial-result" => twiml("<Hangup/>"),
        _ => twiml(""),
    })
    .await;
    twilio.set_pickup(ANA, Pickup::Person(vec![]));
    twilio.set_pickup(BO, Pickup::RingOut);

    let sid = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    assert!(sid.starts_with("CA") && sid.len() == 34, "{sid}");
    settle(&twilio).await;

    let call = twilio.call(&sid).unwrap();
    assert_eq!((call.direction, call.status.as_str()), ("inbound", "completed"));
    assert_eq!((call.from.as_str(), call.to.as_str()), (CALLER, BRAND));
    assert_eq!(call.heard, ["Connecting you."]);
    let legs = legs_of(&twilio, &sid);
    assert_eq!(legs.len(), 2);
    let (ana, bo) = (leg(&legs, ANA), leg(&legs, BO));
    assert_eq!((ana.direction, ana.from.as_str(), ana.status.as_str()), ("outbound-dial", BRAND, "completed"));
    assert_eq!(ana.bridged_to.as_deref(), Some(sid.as_str()));
    assert_eq!(ana.bridged_number.as_deref(), Some(CALLER));
    assert_eq!((bo.status.as_str(), bo.bridged_to.as_deref()), ("canceled", None));
    assert_eq!(call.bridged_to.as_deref(), Some(ana.sid.as_str()));
    assert_eq!(call.bridged_number.as_deref(), Some(ANA));

    let voice = app.one("/voice");
    for (k, v) in [
        ("CallSid", sid.as_str()),
        ("AccountSid", twilio.account_sid()),
        ("From", CALLER),
        ("To", BRAND),
        ("Caller", CALLER),
        ("Called", BRAND),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
        ("FromCountry", "US"),
        ("ToCountry", "US"),
    ] {
        assert_eq!(voice.param(k), Some(v), "{k}");
    }

    let recordings = twilio.recordings();
    assert_eq!(recordings.len(), 1);
    let rec = &recordings[0];
    assert_eq!((rec.call_sid.as_str(), rec.channels, rec.duration_secs, rec.source), (sid.as_str(), 2, 1, "DialVerb"));
    assert_eq!(rec.text, None);
    let recording_url =
        format!("{}/2010-04-01/Accounts/{}/Recordings/{}", twilio.base_url(), twilio.account_sid(), rec.sid);

    let result = app.one("/dial-result");
    assert_eq!((result.query("call"), result.query("strategy")), (Some("C1"), Some("parallel")));
    assert_eq!(result.p("CallSid"), sid);
    assert_eq!(result.p("DialCallStatus"), "completed");
    assert_eq!(result.p("DialCallSid"), ana.sid);
    assert_eq!(result.p("DialCallDuration"), "1");
    assert_eq!(result.p("DialBridged"), "true");
    assert_eq!(result.p("RecordingSid"), rec.sid);
    assert_eq!(result.p("RecordingUrl"), recording_url);

    let cb = app.one("/recording");
    assert_eq!((cb.query("call"), cb.query("kind")), (Some("C1"), Some("call")));
    for (k, v) in [
        ("AccountSid", twilio.account_sid()),
        ("CallSid", sid.as_str()),
        ("RecordingSid", rec.sid.as_str()),
        ("RecordingUrl", recording_url.as_str()),
        ("RecordingStatus", "completed"),
        ("RecordingDuration", "1"),
        ("RecordingChannels", "2"),
        ("RecordingSource", "DialVerb"),
        ("ErrorCode", "0"),
    ] {
        assert_eq!(cb.param(k), Some(v), "{k}");
    }
    assert!(cb.p("RecordingStartTime").ends_with("+0000"), "{}", cb.p("RecordingStartTime"));
    assert!(app.position("/recording") < app.position("/dial-result"));

    let status = app.one("/status");
    assert_eq!((status.p("CallSid"), status.p("CallStatus")), (sid.as_str(), "completed"));
    assert!(status.p("CallDuration").parse::<u64>().unwrap() >= 1);
    app.all_signed();
}

#[tokio::test]
async fn nobody_answering_within_the_timeout_sends_no_answer_to_the_action_whose_twiml_runs() {
    let (twilio, app) = start(|hit: &Hit, _: &str| match hit.path.as_str() {
        // A relative action, resolved against the document's URL.
        "/voice" => twiml(&format!(
            "<Dial timeout=\"5\" action=\"/dial-result?step=1\"><Number>{ANA}</Number><Number>{BO}</Number></Dial>\
             <Say>Not heard</Say>"
        )),
        "/dial-result" => twiml("<Say>Nobody is free. Goodbye.</Say><Hangup/><Say>Not heard either</Say>"),
        _ => twiml(""),
    })
    .await;
    twilio.set_pickup(ANA, Pickup::RingOut);
    // BO has no behaviour: it rings for the phones page until the Dial's timeout.

    let started = Instant::now();
    let sid = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    settle(&twilio).await;
    assert!(started.elapsed() >= Duration::from_millis(100), "5 TwiML seconds of ringing");

    let call = twilio.call(&sid).unwrap();
    assert_eq!(call.heard, ["Nobody is free. Goodbye."]);
    assert_eq!(call.bridged_to, None);
    let legs = legs_of(&twilio, &sid);
    assert_eq!(leg(&legs, ANA).status, "no-answer");
    assert_eq!(leg(&legs, BO).status, "no-answer");
    let result = app.one("/dial-result");
    assert_eq!(result.query("step"), Some("1"));
    assert_eq!(result.p("DialCallStatus"), "no-answer");
    assert_eq!(result.p("DialBridged"), "false");
    assert_eq!(result.p("CallStatus"), "in-progress");
    assert_eq!((result.param("DialCallSid"), result.param("DialCallDuration")), (None, None));
    assert!(twilio.recordings().is_empty());
    app.all_signed();
}

#[tokio::test]
async fn busy_and_failing_phones_are_reported_as_the_dials_status() {
    const CY: &str = "+15551230044";
    let (twilio, app) = start(|hit: &Hit, _: &str| match hit.path.as_str() {
        "/voice" => {
            let targets = match hit.p("From") {
                "+14155550001" => format!("<Number>{ANA}</Number><Number>{BO}</Number>"),
                "+14155550002" => format!("<Number>{CY}</Number>"),
                _ => format!("<Number>{ANA}</Number><Number>{CY}</Number>"),
            };
            twiml(&format!("<Dial timeout=\"3\" action=\"/dial-result\">{targets}</Dial>"))
        }
        _ => twiml("<Hangup/>"),
    })
    .await;
    twilio.set_pickup(ANA, Pickup::Busy);
    twilio.set_pickup(BO, Pickup::Busy);
    twilio.set_pickup(CY, Pickup::Fail);
    for from in ["+14155550001", "+14155550002", "+14155550003"] {
        twilio.dial_in(from, BRAND, Caller::default()).await.unwrap();
    }
    settle(&twilio).await;
    let status_from = |from: &str| {
        let hit = app.at("/dial-result").into_iter().find(|h| h.p("From") == from).unwrap();
        hit.p("DialCallStatus").to_string()
    };
    assert_eq!(status_from("+14155550001"), "busy");
    assert_eq!(status_from("+14155550002"), "failed");
    assert_eq!(status_from("+14155550003"), "no-answer");
    app.all_signed();
}

fn whispered(hit: &Hit, base: &str) -> String {
    match hit.path.as_str() {
        "/voice" => twiml(&format!(
            "<Dial timeout=\"20\" action=\"{base}/dial-result\">\
               <Number url=\"{base}/whisper?call=C1&amp;user=ana\">{ANA}</Number>\
               <Number url=\"{base}/whisper?call=C1&amp;user=bo\">{BO}</Number></Dial>"
        )),
        "/whisper" => twiml(&format!(
            "<Gather numDigits=\"1\" timeout=\"8\" action=\"{base}/accept?call=C1&amp;user={}\">\
               <Say>Call for Acme Plumbing. Press 1 to accept.</Say></Gather><Hangup/>",
            hit.query("user").unwrap_or_default()
        )),
        "/accept" if hit.param("Digits") == Some("1") => twiml(""),
        "/accept" => twiml("<Hangup/>"),
        _ => twiml("<Hangup/>"),
    }
}

#[tokio::test]
async fn a_whisper_bridges_the_person_who_presses_1_and_not_the_voicemail() {
    let (twilio, app) = start(whispered).await;
    twilio.set_pickup(ANA, Pickup::Voicemail);
    twilio.set_pickup(BO, Pickup::Person(vec!["1".into()]));

    let sid = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    settle(&twilio).await;

    let legs = legs_of(&twilio, &sid);
    let (ana, bo) = (leg(&legs, ANA), leg(&legs, BO));
    assert_eq!(twilio.call(&sid).unwrap().bridged_to.as_deref(), Some(bo.sid.as_str()));
    assert_eq!((bo.status.as_str(), bo.bridged_to.as_deref()), ("completed", Some(sid.as_str())));
    assert_eq!(bo.heard, ["Call for Acme Plumbing. Press 1 to accept."]);
    assert_eq!(bo.pressed, ["1"]);
    assert_eq!((ana.status.as_str(), ana.bridged_to.as_deref()), ("completed", None));
    assert!(ana.pressed.is_empty());

    let whisper = app.at("/whisper").into_iter().find(|h| h.query("user") == Some("bo")).unwrap();
    assert_eq!(whisper.p("CallSid"), bo.sid);
    assert_eq!(whisper.p("ParentCallSid"), sid);
    assert_eq!(whisper.p("Direction"), "outbound-dial");
    assert_eq!((whisper.p("From"), whisper.p("To")), (BRAND, BO));
    assert_eq!(whisper.p("CallStatus"), "in-progress");
    let accept = app.one("/accept");
    assert_eq!((accept.query("user"), accept.p("Digits")), (Some("bo"), "1"));
    assert_eq!((accept.p("CallSid"), accept.p("ParentCallSid")), (bo.sid.as_str(), sid.as_str()));
    let result = app.one("/dial-result");
    assert_eq!((result.p("DialCallStatus"), result.p("DialCallSid")), ("completed", bo.sid.as_str()));
    app.all_signed();
}

#[tokio::test]
async fn a_voicemail_that_answers_a_whisper_hears_it_and_is_never_bridged() {
    let (twilio, app) = start(whispered).await;
    twilio.set_pickup(ANA, Pickup::Voicemail);
    twilio.set_pickup(BO, Pickup::RingOut);

    let sid = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    settle(&twilio).await;

    let legs = legs_of(&twilio, &sid);
    let ana = leg(&legs, ANA);
    assert_eq!((ana.status.as_str(), ana.bridged_to.as_deref()), ("completed", None));
    assert_eq!(ana.voicemail.as_deref(), Some("Call for Acme Plumbing. Press 1 to accept."));
    assert_eq!(leg(&legs, BO).status, "no-answer");
    assert!(app.at("/accept").is_empty());
    let result = app.one("/dial-result");
    assert_eq!((result.p("DialCallStatus"), result.p("DialBridged")), ("no-answer", "false"));
    assert_eq!(twilio.call(&sid).unwrap().bridged_to, None);
    app.all_signed();
}

#[tokio::test]
async fn without_a_whisper_the_carrier_voicemail_takes_the_call() {
    let (twilio, app) = start(|hit: &Hit, _: &str| match hit.path.as_str() {
        "/voice" => twiml(&format!("<Dial timeout=\"20\" action=\"/dial-result\">{ANA}</Dial>")),
        _ => twiml("<Hangup/>"),
    })
    .await;
    twilio.set_pickup(ANA, Pickup::Voicemail);
    let sid = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    settle(&twilio).await;
    let ana = leg(&legs_of(&twilio, &sid), ANA);
    assert_eq!(ana.bridged_to.as_deref(), Some(sid.as_str()));
    let result = app.one("/dial-result");
    assert_eq!((result.p("DialCallStatus"), result.p("DialCallSid")), ("completed", ana.sid.as_str()));
    assert_eq!(result.p("DialBridged"), "true");
}

#[tokio::test]
async fn a_caller_who_hangs_up_while_the_phones_ring_cancels_them() {
    let (twilio, app) = start(|hit: &Hit, _: &str| match hit.path.as_str() {
        "/voice" => twiml(&format!(
            "<Say>Please hold.</Say><Dial timeout=\"30\" action=\"/dial-result\"><Number>{ANA}</Number></Dial>"
        )),
        _ => twiml("<Say>Ignored: the caller is gone.</Say>"),
    })
    .await;
    twilio.set_pickup(ANA, Pickup::RingOut);
    let caller = Caller { hang_up_after: Some(Duration::from_millis(150)), ..Caller::default() };
    let started = Instant::now();
    let sid = twilio.dial_in(CALLER, BRAND, caller).await.unwrap();
    settle(&twilio).await;
    assert!(started.elapsed() < Duration::from_millis(600), "the 30-second (600 ms) ring was cut short");

    let call = twilio.call(&sid).unwrap();
    assert_eq!((call.status.as_str(), call.heard.as_slice()), ("completed", ["Please hold.".to_string()].as_slice()));
    assert_eq!(leg(&legs_of(&twilio, &sid), ANA).status, "canceled");
    let result = app.one("/dial-result");
    assert_eq!((result.p("DialCallStatus"), result.p("CallStatus")), ("canceled", "completed"));
    assert_eq!(app.one("/status").p("CallStatus"), "completed");
}

#[tokio::test]
async fn a_caller_presses_keys_at_gathers_and_hears_what_is_played() {
    let (twilio, app) = start(|hit: &Hit, _: &str| match hit.path.as_str() {
        "/voice" => twiml(
            "<Gather action=\"menu?level=1&amp;lang=en\" timeout=\"3\"><Play>https://cdn.example/hello.mp3</Play>\
             <Say>Press 1 for service.</Say></Gather><Say>No key.</Say>",
        ),
        "/menu" => twiml(&format!(
            "<Say>You pressed {}.</Say><Gather action=\"/menu\" timeout=\"2\"><Say>Anything else?</Say></Gather>\
             <Pause length=\"1\"/><Say>Goodbye.</Say>",
            hit.p("Digits")
        )),
        _ => twiml(""),
    })
    .await;
    let caller = Caller { keys: vec!["1".into()], ..Caller::default() };
    let sid = twilio.dial_in(CALLER, BRAND, caller).await.unwrap();
    settle(&twilio).await;
    let call = twilio.call(&sid).unwrap();
    assert_eq!(
        call.heard,
        [
            "[play https://cdn.example/hello.mp3]",
            "Press 1 for service.",
            "You pressed 1.",
            "Anything else?",
            "Goodbye."
        ]
    );
    assert_eq!(call.pressed, ["1"]);
    let menu = app.one("/menu");
    assert_eq!((menu.query("level"), menu.query("lang")), (Some("1"), Some("en")));
    assert_eq!((menu.p("Digits"), menu.p("CallStatus"), menu.p("Direction")), ("1", "in-progress", "inbound"));
    app.all_signed();
}

#[tokio::test]
async fn a_client_leg_rings_the_browser_softphone_by_identity() {
    let (twilio, app) = start(|hit: &Hit, _: &str| match hit.path.as_str() {
        "/voice" => twiml(
            "<Dial timeout=\"10\" action=\"/dial-result\">\
               <Client><Identity>user_17</Identity><Parameter name=\"callId\" value=\"C1\"/></Client>\
               <Client>user_99</Client></Dial>",
        ),
        _ => twiml("<Hangup/>"),
    })
    .await;
    twilio.set_client_pickup("user_17", Pickup::Person(vec![]));
    let sid = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    settle(&twilio).await;
    let legs = legs_of(&twilio, &sid);
    let browser = leg(&legs, "client:user_17");
    assert_eq!(browser.bridged_to.as_deref(), Some(sid.as_str()));
    assert_eq!(leg(&legs, "client:user_99").status, "canceled", "an unknown identity rings until the Dial is decided");
    assert_eq!(app.one("/dial-result").p("DialCallSid"), browser.sid);
}

#[tokio::test]
async fn many_inbound_calls_run_at_once() {
    let (twilio, app) = start(|hit: &Hit, _: &str| match hit.path.as_str() {
        "/voice" => {
            let n = &hit.p("From")[8..];
            twiml(&format!("<Dial timeout=\"20\" action=\"/dial-result\"><Number>+1555990{n}</Number></Dial>"))
        }
        _ => twiml("<Hangup/>"),
    })
    .await;
    let talk = Duration::from_millis(300);
    twilio.set_talk_time(talk);
    let n: u32 = 24;
    for i in 0..n {
        twilio.set_pickup(&format!("+1555990{i:04}"), Pickup::Person(vec![]));
    }
    let started = Instant::now();
    let mut sids = Vec::new();
    for i in 0..n {
        sids.push(twilio.dial_in(&format!("+1415555{i:04}"), BRAND, Caller::default()).await.unwrap());
    }
    settle(&twilio).await;
    assert!(started.elapsed() < talk * (n / 3), "calls overlap: {:?}", started.elapsed());
    for sid in &sids {
        let call = twilio.call(sid).unwrap();
        let bridged = twilio.call(call.bridged_to.as_deref().unwrap()).unwrap();
        assert_eq!(bridged.to, format!("+1555990{}", &call.from[8..]));
    }
    assert_eq!(app.at("/dial-result").len(), n as usize);
    assert!(app.at("/dial-result").iter().all(|h| h.p("DialCallStatus") == "completed"));
    app.all_signed();
}

#[tokio::test]
async fn the_phones_page_places_a_call_from_a_phone_and_lists_it() {
    let (twilio, _app) = start(|_: &Hit, _: &str| twiml("<Say>Thanks for calling Acme.</Say>")).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let phone = format!("{}/phones/%2B14155550100", twilio.base_url());
    let resp = http.post(format!("{phone}/dial")).form(&[("to", BRAND), ("says", "")]).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(resp.headers()["location"], "/phones/%2B14155550100");
    settle(&twilio).await;
    let calls = twilio.calls_from(CALLER);
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].direction, calls[0].to.as_str(), calls[0].status.as_str()), ("inbound", BRAND, "completed"));
    let html = http.get(&phone).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Call a number"), "{html}");
    assert!(html.contains("To +15017122661"), "{html}");
    assert!(html.contains("inbound · completed"), "{html}");
    assert!(html.contains("Thanks for calling Acme."), "{html}");
    let index = http.get(twilio.base_url()).send().await.unwrap().text().await.unwrap();
    assert!(index.contains("+14155550100"), "{index}");

    let missing = twilio.dial_in(CALLER, "", Caller::default()).await;
    assert!(missing.is_err());
}

#[tokio::test]
async fn a_person_answers_a_dialled_leg_on_the_phones_page() {
    let (twilio, app) = start(|hit: &Hit, _: &str| match hit.path.as_str() {
        "/voice" => twiml(&format!("<Dial timeout=\"50\" action=\"/dial-result\"><Number>{BO}</Number></Dial>")),
        _ => twiml("<Hangup/>"),
    })
    .await;
    // BO has no behaviour set: the leg rings until someone answers it on the page.
    let sid = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let ringing = loop {
        if let Some(l) = legs_of(&twilio, &sid).into_iter().find(|l| l.status == "ringing") {
            break l;
        }
        assert!(Instant::now() < deadline, "the leg never rang");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let page =
        reqwest::get(format!("{}/phones/%2B15551230031", twilio.base_url())).await.unwrap().text().await.unwrap();
    assert!(page.contains("outbound-dial · ringing") && page.contains("Answer"), "{page}");
    assert!(twilio.pick_up(&ringing.sid, PageAction::Answer));
    settle(&twilio).await;
    assert_eq!(twilio.call(&sid).unwrap().bridged_to.as_deref(), Some(ringing.sid.as_str()));
    assert_eq!(app.one("/dial-result").p("DialCallStatus"), "completed");
}
