//! Conference rooms through the Twilio stand-in: a caller waits in a room with hold music until
//! a call the app places joins it ("live patch"), `endConferenceOnExit` ends the room and the
//! others' Dial actions run, the room's status callbacks arrive in order, and the Conferences
//! REST resources list, fetch, remove from and end a room.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use support::{ANA, BRAND, CALLER, Hit, get_json, place_call, post_form, settle, start, twiml, wait_for};
use switchboard_standins::twilio::{Caller, PageAction, Pickup, SimConference, TwilioStandin};

const ROOM: &str = "live-C1";

/// The room named `name`, once `ready` holds for it.
async fn room_when(
    twilio: &TwilioStandin,
    name: &str,
    what: &str,
    ready: impl Fn(&SimConference) -> bool,
) -> SimConference {
    wait_for(what, || twilio.conferences().into_iter().find(|c| c.name == name && ready(c))).await
}

/// The app's side of a live patch: the caller waits in the room with hold music; the on-call
/// person's call, after they press 1, joins it and ends it when they leave.
fn live_patch(hit: &Hit, base: &str) -> String {
    match hit.path.as_str() {
        "/voice" => twiml(&format!(
            "<Say>Please hold while we find a technician.</Say>\
             <Dial action=\"{base}/after?call=C1\">\
               <Conference startConferenceOnEnter=\"false\" endConferenceOnExit=\"false\" beep=\"false\" \
                 waitUrl=\"/hold?call=C1\">{ROOM}</Conference></Dial>\
             <Say>Not heard: the action replaces the rest.</Say>"
        )),
        "/hold" => twiml("<Say>Thanks for waiting.</Say><Play loop=\"0\">https://cdn.example/hold.mp3</Play>"),
        "/oncall" => twiml(
            "<Gather numDigits=\"1\" timeout=\"5\" action=\"/patch\">\
               <Say>A customer is waiting. Press 1 to talk to them.</Say></Gather><Hangup/>",
        ),
        "/patch" if hit.param("Digits") == Some("1") => twiml(&format!(
            "<Say>Connecting.</Say><Dial action=\"/patched\">\
               <Conference startConferenceOnEnter=\"true\" endConferenceOnExit=\"true\" beep=\"false\">{ROOM}</Conference>\
             </Dial>"
        )),
        "/after" => twiml("<Say>The technician has left. Goodbye.</Say>"),
        _ => twiml(""),
    }
}

#[tokio::test]
async fn a_waiting_caller_hears_the_hold_music_and_is_bridged_when_a_placed_calls_script_joins_the_room() {
    let (twilio, app) = start(live_patch).await;
    twilio.set_pickup(ANA, Pickup::Person(vec!["1".into()]));
    twilio.set_talk_time(Duration::from_millis(300));

    let caller = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    let waiting = room_when(&twilio, ROOM, "the caller waits in the room", |c| !c.participants.is_empty()).await;
    assert!(waiting.sid.starts_with("CF") && waiting.sid.len() == 34, "{}", waiting.sid);
    assert_eq!((waiting.status.as_str(), waiting.participants.as_slice()), ("init", [caller.clone()].as_slice()));
    let heard = wait_for("the hold music", || Some(twilio.call(&caller).unwrap().heard).filter(|h| h.len() == 3)).await;
    assert_eq!(
        heard,
        ["Please hold while we find a technician.", "Thanks for waiting.", "[play https://cdn.example/hold.mp3]"]
    );
    let hold = app.one("/hold");
    assert_eq!(
        (hold.query("call"), hold.p("CallSid"), hold.p("CallStatus")),
        (Some("C1"), caller.as_str(), "in-progress")
    );
    assert_eq!(twilio.call(&caller).unwrap().bridged_to, None, "nobody to talk to yet");

    // The app calls the on-call technician; after pressing 1 their call joins the room.
    let ana = place_call(&twilio, ANA, &app.url("/oncall"), &app.url("/call-status")).await;
    let started = room_when(&twilio, ROOM, "the room starts", |c| c.status == "in-progress").await;
    assert_eq!(started.sid, waiting.sid, "the same room, by name");
    assert_eq!(started.participants, [caller.clone(), ana.clone()]);
    let (c, a) = (twilio.call(&caller).unwrap(), twilio.call(&ana).unwrap());
    assert_eq!((c.bridged_to.as_deref(), c.bridged_number.as_deref()), (Some(ana.as_str()), Some(ANA)));
    assert_eq!((a.bridged_to.as_deref(), a.bridged_number.as_deref()), (Some(caller.as_str()), Some(CALLER)));
    assert_eq!(a.pressed, ["1"]);

    // The technician hangs up after the talk time: the room ends, the caller's Dial action runs.
    settle(&twilio).await;
    let room = twilio.conferences().into_iter().find(|r| r.sid == started.sid).unwrap();
    assert_eq!(room.status, "completed");
    assert!(room.participants.is_empty());
    assert_eq!(room.ever_joined, [caller.clone(), ana.clone()]);
    assert_eq!(room.reason_ended.as_deref(), Some("participant-with-end-conference-on-exit-left"));
    assert_eq!(room.ended_by.as_deref(), Some(ana.as_str()));

    let c = twilio.call(&caller).unwrap();
    assert_eq!(c.status, "completed");
    assert_eq!(
        c.heard,
        [
            "Please hold while we find a technician.",
            "Thanks for waiting.",
            "[play https://cdn.example/hold.mp3]",
            "The technician has left. Goodbye."
        ],
        "the wait music once, then the action's TwiML"
    );
    assert_eq!(app.at("/hold").len(), 1);
    let after = app.one("/after");
    assert_eq!(after.query("call"), Some("C1"));
    assert_eq!((after.p("CallSid"), after.p("CallStatus")), (caller.as_str(), "in-progress"));
    assert_eq!((after.p("DialCallStatus"), after.p("DialBridged")), ("completed", "true"));
    assert_eq!((after.param("DialCallSid"), after.param("DialCallDuration")), (None, None));

    let a = twilio.call(&ana).unwrap();
    assert_eq!(a.status, "completed");
    assert_eq!(a.heard, ["A customer is waiting. Press 1 to talk to them.", "Connecting."]);
    let patched = app.one("/patched");
    assert_eq!(
        (patched.p("CallSid"), patched.p("DialCallStatus"), patched.p("CallStatus")),
        (ana.as_str(), "completed", "completed")
    );
    let statuses: Vec<String> = app.at("/call-status").iter().map(|h| h.p("CallStatus").to_string()).collect();
    assert_eq!(statuses, ["initiated", "ringing", "in-progress", "completed"]);
    assert_eq!(app.one("/status").p("CallSid"), caller, "the inbound call's own status callback");
    app.all_signed();
}

#[tokio::test]
async fn end_conference_on_exit_drops_the_others_and_their_dial_action_continues_the_call() {
    let (twilio, app) = start(|hit: &Hit, _: &str| match hit.path.as_str() {
        // This time the caller is the moderator: when they go, the room ends.
        "/voice" => twiml(&format!(
            "<Dial action=\"/after\"><Conference endConferenceOnExit=\"true\" waitUrl=\"\">{ROOM}</Conference></Dial>"
        )),
        "/oncall" => {
            twiml(&format!("<Dial action=\"/patched\"><Conference>{ROOM}</Conference></Dial><Say>Not heard</Say>"))
        }
        "/patched" => twiml("<Say>The customer hung up.</Say>"),
        "/after" => twiml("<Say>Ignored: the caller is gone.</Say>"),
        _ => twiml(""),
    })
    .await;
    twilio.set_pickup(ANA, Pickup::Person(vec![]));
    // Longer than the test: the technician only leaves because the room ends.
    let talk = Duration::from_secs(5);
    twilio.set_talk_time(talk);

    let begun = Instant::now();
    let caller = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    room_when(&twilio, ROOM, "the caller waits", |c| !c.participants.is_empty()).await;
    let ana = place_call(&twilio, ANA, &app.url("/oncall"), &app.url("/call-status")).await;
    let room = room_when(&twilio, ROOM, "the room starts", |c| c.status == "in-progress").await;
    assert_eq!(twilio.call(&caller).unwrap().heard, Vec::<String>::new(), "waitUrl=\"\": silence");

    // The caller hangs up on the phones page.
    assert!(twilio.pick_up(&caller, PageAction::Hangup));
    assert!(!twilio.pick_up(&caller, PageAction::Hangup), "already hung up");
    settle(&twilio).await;
    assert!(begun.elapsed() < talk, "the room ended before the talk time: {:?}", begun.elapsed());

    let room = twilio.conferences().into_iter().find(|r| r.sid == room.sid).unwrap();
    assert_eq!((room.status.as_str(), room.ended_by.as_deref()), ("completed", Some(caller.as_str())));
    assert_eq!(room.reason_ended.as_deref(), Some("participant-with-end-conference-on-exit-left"));
    let patched = app.one("/patched");
    assert_eq!((patched.p("CallSid"), patched.p("CallStatus")), (ana.as_str(), "in-progress"));
    assert_eq!((patched.p("DialCallStatus"), patched.p("DialBridged")), ("completed", "true"));
    let a = twilio.call(&ana).unwrap();
    assert_eq!(
        (a.status.as_str(), a.heard.as_slice()),
        ("completed", ["The customer hung up.".to_string()].as_slice())
    );
    let after = app.one("/after");
    assert_eq!(
        (after.p("CallSid"), after.p("CallStatus"), after.p("DialCallStatus")),
        (caller.as_str(), "completed", "completed")
    );
    let c = twilio.call(&caller).unwrap();
    assert_eq!((c.status.as_str(), c.heard.len()), ("completed", 0));
    app.all_signed();
}

#[tokio::test]
async fn the_rooms_status_callbacks_tell_each_join_the_start_each_leave_and_the_end_in_order() {
    const MOD: &str = "+14155550111";
    let (twilio, app) = start(|hit: &Hit, base: &str| match (hit.path.as_str(), hit.param("From")) {
        // The first to join names the room's status callback; the moderator's is ignored.
        ("/voice", Some(CALLER)) => twiml(&format!(
            "<Dial><Conference startConferenceOnEnter=\"false\" waitUrl=\"\" statusCallback=\"{base}/conference?room=R1\" \
               statusCallbackEvent=\"start end join leave\">team</Conference></Dial><Say>The meeting has ended.</Say>"
        )),
        ("/voice", _) => twiml(
            "<Dial><Conference endConferenceOnExit=\"true\" statusCallback=\"/ignored\" \
               statusCallbackEvent=\"join\">team</Conference></Dial>",
        ),
        _ => twiml(""),
    })
    .await;
    let a = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    room_when(&twilio, "team", "the first caller waits", |c| !c.participants.is_empty()).await;
    let b = twilio.dial_in(MOD, BRAND, Caller::default()).await.unwrap();
    let room = room_when(&twilio, "team", "the moderator starts the room", |c| c.status == "in-progress").await;
    assert!(twilio.pick_up(&b, PageAction::Hangup));
    settle(&twilio).await;

    let events = app.at("/conference");
    let seen: Vec<(&str, &str, Option<&str>)> =
        events.iter().map(|h| (h.p("SequenceNumber"), h.p("StatusCallbackEvent"), h.param("CallSid"))).collect();
    assert_eq!(
        seen,
        [
            ("1", "participant-join", Some(a.as_str())),
            ("2", "participant-join", Some(b.as_str())),
            ("3", "conference-start", Some(b.as_str())),
            ("4", "participant-leave", Some(b.as_str())),
            ("5", "participant-leave", Some(a.as_str())),
            ("6", "conference-end", Some(b.as_str())),
        ]
    );
    for e in &events {
        assert_eq!(e.query("room"), Some("R1"));
        assert_eq!((e.p("ConferenceSid"), e.p("FriendlyName")), (room.sid.as_str(), "team"));
        assert_eq!(e.p("AccountSid"), twilio.account_sid());
        assert!(e.p("Timestamp").ends_with("+0000"), "{}", e.p("Timestamp"));
    }
    let join =
        |i: usize| (events[i].p("StartConferenceOnEnter"), events[i].p("EndConferenceOnExit"), events[i].p("Muted"));
    assert_eq!(join(0), ("false", "false", "false"));
    assert_eq!(join(1), ("true", "true", "false"));
    assert_eq!(events[3].p("Hold"), "false");
    assert_eq!(events[5].p("ReasonConferenceEnded"), "participant-with-end-conference-on-exit-left");
    assert_eq!(events[5].p("CallSidEndingConference"), b);
    assert!(app.at("/ignored").is_empty());
    // Without an action the rest of the document goes on once the room ends.
    assert_eq!(twilio.call(&a).unwrap().heard, ["The meeting has ended."]);
    assert_eq!(twilio.call(&b).unwrap().heard, Vec::<String>::new(), "joined a starting room: no wait music");
    app.all_signed();
}

#[tokio::test]
async fn the_conferences_api_lists_fetches_removes_a_participant_and_ends_a_room() {
    const C2: &str = "+14155550102";
    const C3: &str = "+14155550103";
    let (twilio, app) = start(|hit: &Hit, _: &str| match hit.path.as_str() {
        "/voice" => twiml("<Dial action=\"/after\"><Conference>R2</Conference></Dial>"),
        "/after" => twiml("<Say>You are out of the room.</Say>"),
        _ => twiml(""),
    })
    .await;
    let mut sids = Vec::new();
    for (i, from) in [CALLER, C2, C3].into_iter().enumerate() {
        sids.push(twilio.dial_in(from, BRAND, Caller::default()).await.unwrap());
        room_when(&twilio, "R2", "the caller is in the room", |c| c.participants.len() == i + 1).await;
    }
    let room = twilio.conferences().remove(0);
    assert_eq!((room.status.as_str(), room.participants.as_slice()), ("in-progress", sids.as_slice()));
    // Two bridged when the room started; the third changes nothing.
    assert_eq!(twilio.call(&sids[0]).unwrap().bridged_to.as_deref(), Some(sids[1].as_str()));
    assert_eq!(twilio.call(&sids[2]).unwrap().bridged_to, None);

    let account = twilio.account_sid().to_string();
    let uri = format!("/2010-04-01/Accounts/{account}/Conferences/{}", room.sid);
    let (status, list) = get_json(&twilio, "Conferences.json").await;
    assert_eq!(status, 200);
    assert_eq!(list["conferences"].as_array().unwrap().len(), 1);
    let c = &list["conferences"][0];
    assert_eq!(
        (c["sid"].as_str(), c["friendly_name"].as_str(), c["status"].as_str()),
        (Some(room.sid.as_str()), Some("R2"), Some("in-progress"))
    );
    assert_eq!(c["account_sid"], account.as_str());
    assert_eq!(c["uri"], format!("{uri}.json"));
    assert_eq!(c["subresource_uris"]["participants"], format!("{uri}/Participants.json"));
    assert!(c["reason_conference_ended"].is_null() && c["call_sid_ending_conference"].is_null());
    assert!(c["date_created"].as_str().unwrap().ends_with("+0000"));
    for (query, n) in
        [("FriendlyName=R2&Status=in-progress", 1), ("FriendlyName=R9", 0), ("Status=completed", 0), ("Status=init", 0)]
    {
        let (_, found) = get_json(&twilio, &format!("Conferences.json?{query}")).await;
        assert_eq!(found["conferences"].as_array().unwrap().len(), n, "{query}");
    }
    let (status, fetched) = get_json(&twilio, &format!("Conferences/{}.json", room.sid)).await;
    assert_eq!((status, &fetched), (200, c));

    let (status, participants) = get_json(&twilio, &format!("Conferences/{}/Participants.json", room.sid)).await;
    assert_eq!(status, 200);
    let listed: Vec<&str> =
        participants["participants"].as_array().unwrap().iter().map(|p| p["call_sid"].as_str().unwrap()).collect();
    assert_eq!(listed, sids);
    let p = &participants["participants"][2];
    assert_eq!(p["conference_sid"], room.sid.as_str());
    assert_eq!(
        (p["start_conference_on_enter"].as_bool(), p["end_conference_on_exit"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(
        (p["muted"].as_bool(), p["hold"].as_bool(), p["status"].as_str()),
        (Some(false), Some(false), Some("connected"))
    );
    assert_eq!(p["uri"], format!("{uri}/Participants/{}.json", sids[2]));
    let (status, one) = get_json(&twilio, &format!("Conferences/{}/Participants/{}.json", room.sid, sids[2])).await;
    assert_eq!((status, &one), (200, p));

    // Removing the third: its Dial ends, its call goes on with the action's TwiML.
    let http = reqwest::Client::new();
    let participant = support::api(&twilio, &format!("Conferences/{}/Participants/{}.json", room.sid, sids[2]));
    let removed = http.delete(&participant).basic_auth(&account, Some(twilio.auth_token())).send().await.unwrap();
    assert_eq!(removed.status().as_u16(), 204);
    let again = http.delete(&participant).basic_auth(&account, Some(twilio.auth_token())).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 404);
    let out = wait_for("the removed caller's action", || app.at("/after").into_iter().next()).await;
    assert_eq!(
        (out.p("CallSid"), out.p("DialCallStatus"), out.p("DialBridged")),
        (sids[2].as_str(), "completed", "true")
    );
    let room_now = twilio.conferences().remove(0);
    assert_eq!((room_now.status.as_str(), room_now.participants.as_slice()), ("in-progress", &sids[..2]));

    // Only `completed` is a status the API sets.
    let (status, error) =
        post_form(&twilio, &format!("Conferences/{}.json", room.sid), &[("Status", "in-progress")]).await;
    assert_eq!((status, error["code"].as_i64()), (400, Some(20001)));
    let (status, ended) =
        post_form(&twilio, &format!("Conferences/{}.json", room.sid), &[("Status", "completed")]).await;
    assert_eq!(status, 200);
    assert_eq!(
        (ended["status"].as_str(), ended["reason_conference_ended"].as_str()),
        (Some("completed"), Some("conference-ended-via-api"))
    );
    assert!(ended["call_sid_ending_conference"].is_null());
    settle(&twilio).await;

    let room = twilio.conferences().remove(0);
    assert_eq!((room.status.as_str(), room.ended_by.as_deref()), ("completed", None));
    assert!(room.participants.is_empty());
    assert_eq!(room.ever_joined, sids);
    let after = app.at("/after");
    assert_eq!(after.len(), 3);
    let mut dropped: Vec<&str> = after[1..].iter().map(|h| h.p("CallSid")).collect();
    dropped.sort_unstable();
    let mut rest: Vec<&str> = sids[..2].iter().map(String::as_str).collect();
    rest.sort_unstable();
    assert_eq!(dropped, rest);
    assert!(after.iter().all(|h| h.p("DialCallStatus") == "completed"));
    // Only the first waited alone: without a waitUrl, Twilio's default hold music.
    let out = "You are out of the room.".to_string();
    let hold = "[play http://twimlets.com/holdmusic?Bucket=com.twilio.music.classical]".to_string();
    for (i, sid) in sids.iter().enumerate() {
        let call = twilio.call(sid).unwrap();
        let heard = if i == 0 { vec![hold.clone(), out.clone()] } else { vec![out.clone()] };
        assert_eq!((call.status.as_str(), call.heard), ("completed", heard));
    }
    let (_, participants) = get_json(&twilio, &format!("Conferences/{}/Participants.json", room.sid)).await;
    assert!(participants["participants"].as_array().unwrap().is_empty());
    let (_, done) = get_json(&twilio, "Conferences.json?Status=completed").await;
    assert_eq!(done["conferences"].as_array().unwrap().len(), 1);

    let missing = format!("Conferences/CF{}.json", "0".repeat(32));
    assert_eq!(get_json(&twilio, &missing).await.0, 404);
    assert_eq!(post_form(&twilio, &missing, &[("Status", "completed")]).await.0, 404);
    for path in [
        "Conferences.json".to_string(),
        format!("Conferences/{}.json", room.sid),
        format!("Conferences/{}/Participants.json", room.sid),
    ] {
        let anonymous = http.get(support::api(&twilio, &path)).send().await.unwrap();
        assert_eq!(anonymous.status().as_u16(), 401, "{path}");
    }
    let anonymous = http
        .post(support::api(&twilio, &format!("Conferences/{}.json", room.sid)))
        .form(&[("Status", "completed")])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    app.all_signed();
}
