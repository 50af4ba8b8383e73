//! Voicemail and call recordings through the Twilio stand-in: `<Record>` with its action,
//! recording status and transcription callbacks; recordings served as JSON and as a real WAV
//! file behind Basic auth, with injectable fetch failures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::{ANA, BRAND, CALLER, Hit, settle, start, twiml};
use switchboard_standins::twilio::{Caller, Pickup, TwilioStandin};

const SAYS: &str = "Hi this is Ana at 12 Elm Street my kitchen sink is leaking";

fn voicemail(hit: &Hit, base: &str) -> String {
    match hit.path.as_str() {
        "/voice" => twiml(&format!(
            "<Say>Leave your name, address and number after the tone.</Say>\
             <Record maxLength=\"120\" timeout=\"5\" finishOnKey=\"#\" playBeep=\"true\" trim=\"trim-silence\" \
               action=\"{base}/voicemail-done?call=C1&amp;kind=vm\" \
               recordingStatusCallback=\"{base}/recording?kind=voicemail&amp;call=C1\" recordingStatusCallbackEvent=\"completed\" \
               transcribe=\"true\" transcribeCallback=\"{base}/transcript?call=C1&amp;lang=en\"/>\
             <Say>We did not get a recording. Goodbye.</Say>"
        )),
        _ => twiml("<Say>Ignored: the caller hung up.</Say>"),
    }
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Checks a WAV file's header against its size, and returns (channels, sample rate, data bytes).
fn read_wav(file: &[u8]) -> (u16, u32, u32) {
    assert_eq!(&file[0..4], b"RIFF");
    assert_eq!(u32_at(file, 4) as usize, file.len() - 8);
    assert_eq!(&file[8..12], b"WAVE");
    assert_eq!(&file[12..16], b"fmt ");
    assert_eq!(u32_at(file, 16), 16);
    assert_eq!(u16_at(file, 20), 1, "PCM");
    let channels = u16_at(file, 22);
    let rate = u32_at(file, 24);
    assert_eq!(u16_at(file, 34), 16, "16-bit");
    assert_eq!(u32_at(file, 28), rate * u32::from(channels) * 2, "byte rate");
    assert_eq!(u16_at(file, 32), channels * 2, "block align");
    assert_eq!(&file[36..40], b"data");
    let data = u32_at(file, 40);
    assert_eq!(data as usize, file.len() - 44);
    (channels, rate, data)
}

fn api(twilio: &TwilioStandin, path: &str) -> String {
    format!("{}/2010-04-01/Accounts/{}/{path}", twilio.base_url(), twilio.account_sid())
}

async fn get(twilio: &TwilioStandin, url: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).basic_auth(twilio.account_sid(), Some(twilio.auth_token())).send().await.unwrap()
}

#[tokio::test]
async fn record_takes_a_voicemail_with_its_callbacks_and_a_playable_wav() {
    let (twilio, app) = start(voicemail).await;
    let caller = Caller { says: Some(SAYS.into()), ..Caller::default() };
    let sid = twilio.dial_in(CALLER, BRAND, caller).await.unwrap();
    settle(&twilio).await;

    let call = twilio.call(&sid).unwrap();
    assert_eq!(call.heard, ["Leave your name, address and number after the tone.", "[beep]"]);
    assert_eq!(call.status, "completed");
    let recordings = twilio.recordings();
    assert_eq!(recordings.len(), 1);
    let rec = &recordings[0];
    // 13 words at 2.5 a second.
    assert_eq!(
        (rec.call_sid.as_str(), rec.channels, rec.duration_secs, rec.source),
        (sid.as_str(), 1, 5, "RecordVerb")
    );
    assert_eq!(rec.text.as_deref(), Some(SAYS));
    assert!(rec.sid.starts_with("RE") && rec.sid.len() == 34);
    let url = api(&twilio, &format!("Recordings/{}", rec.sid));

    let done = app.one("/voicemail-done");
    assert_eq!((done.query("call"), done.query("kind")), (Some("C1"), Some("vm")));
    for (k, v) in [
        ("CallSid", sid.as_str()),
        ("RecordingUrl", url.as_str()),
        ("RecordingSid", rec.sid.as_str()),
        ("RecordingDuration", "5"),
        ("Digits", "hangup"),
        ("From", CALLER),
        ("To", BRAND),
    ] {
        assert_eq!(done.param(k), Some(v), "{k}");
    }
    let cb = app.one("/recording");
    assert_eq!((cb.query("kind"), cb.query("call")), (Some("voicemail"), Some("C1")));
    for (k, v) in [
        ("AccountSid", twilio.account_sid()),
        ("CallSid", sid.as_str()),
        ("RecordingSid", rec.sid.as_str()),
        ("RecordingUrl", url.as_str()),
        ("RecordingStatus", "completed"),
        ("RecordingDuration", "5"),
        ("RecordingChannels", "1"),
        ("RecordingSource", "RecordVerb"),
        ("ErrorCode", "0"),
    ] {
        assert_eq!(cb.param(k), Some(v), "{k}");
    }
    let tr = app.one("/transcript");
    assert_eq!((tr.query("call"), tr.query("lang")), (Some("C1"), Some("en")));
    for (k, v) in [
        ("TranscriptionText", SAYS),
        ("TranscriptionStatus", "completed"),
        ("RecordingSid", rec.sid.as_str()),
        ("RecordingUrl", url.as_str()),
        ("CallSid", sid.as_str()),
        ("AccountSid", twilio.account_sid()),
    ] {
        assert_eq!(tr.param(k), Some(v), "{k}");
    }
    assert!(tr.p("TranscriptionSid").starts_with("TR") && tr.p("TranscriptionSid").len() == 34);
    assert!(tr.p("TranscriptionUrl").ends_with(tr.p("TranscriptionSid")));
    assert!(app.position("/voicemail-done") < app.position("/recording"));
    assert!(app.position("/recording") < app.position("/transcript"));
    assert!(app.position("/transcript") < app.position("/status"));
    app.all_signed();

    for media in [url.clone(), format!("{url}.wav")] {
        let resp = get(&twilio, &media).await;
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(resp.headers()["content-type"], "audio/x-wav");
        let file = resp.bytes().await.unwrap();
        assert_eq!(read_wav(&file), (1, 8000, 5 * 8000 * 2));
    }
    assert_eq!(get(&twilio, &format!("{url}.mp3")).await.status().as_u16(), 404);
}

#[tokio::test]
async fn the_recording_resource_is_twilios_json_behind_basic_auth() {
    let (twilio, _app) = start(voicemail).await;
    let sid =
        twilio.dial_in(CALLER, BRAND, Caller { says: Some("Call me back".into()), ..Caller::default() }).await.unwrap();
    settle(&twilio).await;
    let rec = twilio.recordings().remove(0);
    let url = api(&twilio, &format!("Recordings/{}", rec.sid));

    let body: serde_json::Value = get(&twilio, &format!("{url}.json")).await.json().await.unwrap();
    assert_eq!(body["account_sid"], twilio.account_sid());
    assert_eq!(body["api_version"], "2010-04-01");
    assert_eq!(body["call_sid"], sid.as_str());
    assert_eq!(body["sid"], rec.sid.as_str());
    assert_eq!(body["channels"], 1);
    assert_eq!(body["duration"], "1");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["source"], "RecordVerb");
    assert_eq!(body["price_unit"], "USD");
    assert_eq!(body["media_url"], url.as_str());
    assert_eq!(body["uri"], format!("/2010-04-01/Accounts/{}/Recordings/{}.json", twilio.account_sid(), rec.sid));
    for null in ["conference_sid", "price", "error_code", "encryption_details"] {
        assert!(body[null].is_null(), "{null}: {body}");
    }
    for date in ["date_created", "date_updated", "start_time"] {
        assert!(body[date].as_str().unwrap().ends_with("+0000"), "{date}: {body}");
    }
    assert!(body["subresource_uris"]["transcriptions"].as_str().unwrap().ends_with("/Transcriptions.json"));

    let list: serde_json::Value =
        get(&twilio, &format!("{}?CallSid={sid}", api(&twilio, "Recordings.json"))).await.json().await.unwrap();
    assert_eq!(list["recordings"].as_array().unwrap().len(), 1);
    assert_eq!(list["recordings"][0]["sid"], rec.sid.as_str());
    let other: serde_json::Value =
        get(&twilio, &format!("{}?CallSid=CA0", api(&twilio, "Recordings.json"))).await.json().await.unwrap();
    assert!(other["recordings"].as_array().unwrap().is_empty());
    let of_call: serde_json::Value =
        get(&twilio, &api(&twilio, &format!("Calls/{sid}/Recordings.json"))).await.json().await.unwrap();
    assert_eq!(of_call["recordings"][0]["sid"], rec.sid.as_str());

    let http = reqwest::Client::new();
    for path in [format!("{url}.json"), format!("{url}.wav"), url.clone(), api(&twilio, "Recordings.json")] {
        let anonymous = http.get(&path).send().await.unwrap();
        assert_eq!(anonymous.status().as_u16(), 401, "{path}");
        let body: serde_json::Value = anonymous.json().await.unwrap();
        assert_eq!(body["code"], 20003);
        let wrong = http.get(&path).basic_auth(twilio.account_sid(), Some("wrong")).send().await.unwrap();
        assert_eq!(wrong.status().as_u16(), 401, "{path}");
    }
    let missing = get(&twilio, &api(&twilio, "Recordings/RE00000000000000000000000000000000.json")).await;
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn injected_failures_make_the_next_media_fetches_answer_500() {
    let (twilio, _app) = start(voicemail).await;
    twilio.dial_in(CALLER, BRAND, Caller { says: Some("Hello".into()), ..Caller::default() }).await.unwrap();
    settle(&twilio).await;
    let rec = twilio.recordings().remove(0);
    let wav = api(&twilio, &format!("Recordings/{}.wav", rec.sid));
    twilio.fail_next_recording_fetch(2);
    assert_eq!(get(&twilio, &wav).await.status().as_u16(), 500);
    // The resource itself is not media: it still answers.
    assert_eq!(get(&twilio, &api(&twilio, &format!("Recordings/{}.json", rec.sid))).await.status().as_u16(), 200);
    assert_eq!(get(&twilio, &wav).await.status().as_u16(), 500);
    let ok = get(&twilio, &wav).await;
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(read_wav(&ok.bytes().await.unwrap()), (1, 8000, 8000 * 2));
}

#[tokio::test]
async fn a_silent_caller_leaves_no_recording_and_the_action_hears_so() {
    let (twilio, app) = start(voicemail).await;
    let sid = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    settle(&twilio).await;
    let done = app.one("/voicemail-done");
    assert_eq!((done.p("CallSid"), done.p("RecordingDuration"), done.p("Digits")), (sid.as_str(), "0", "hangup"));
    assert_eq!((done.param("RecordingUrl"), done.param("RecordingSid")), (None, None));
    assert!(app.at("/recording").is_empty());
    assert!(app.at("/transcript").is_empty());
    assert!(twilio.recordings().is_empty());
    assert_eq!(app.one("/status").p("CallStatus"), "completed");
    app.all_signed();
}

#[tokio::test]
async fn a_bridged_call_recorded_dual_downloads_with_two_channels() {
    let (twilio, app) = start(|hit: &Hit, _: &str| match hit.path.as_str() {
        "/voice" => twiml(&format!(
            "<Dial record=\"record-from-answer-dual\" recordingStatusCallback=\"/recording\"><Number>{ANA}</Number></Dial>"
        )),
        _ => twiml(""),
    })
    .await;
    twilio.set_pickup(ANA, Pickup::Person(vec![]));
    twilio.set_talk_time(Duration::from_millis(1600));
    let sid = twilio.dial_in(CALLER, BRAND, Caller::default()).await.unwrap();
    settle(&twilio).await;
    let rec = twilio.recordings().remove(0);
    assert_eq!((rec.call_sid.as_str(), rec.channels, rec.duration_secs), (sid.as_str(), 2, 2));
    assert_eq!(app.one("/recording").p("RecordingChannels"), "2");
    let file = get(&twilio, &api(&twilio, &format!("Recordings/{}.wav", rec.sid))).await.bytes().await.unwrap();
    assert_eq!(read_wav(&file), (2, 8000, 2 * 8000 * 2 * 2));
}
