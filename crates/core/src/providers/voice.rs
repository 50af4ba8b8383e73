//! Voice calls: placing an outbound call (Twilio's `Calls.json`, in [`super::twilio`]) and the
//! call scripts our voice webhooks answer with, built provider-neutrally ([`Verb`]) and rendered
//! to TwiML ([`twiml`]), every text and attribute XML-escaped.

use super::SendError;
use crate::engine::BoxFuture;

/// A call for the provider to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundCall {
    pub from: String,
    pub to: String,
    /// Fetched (POST) when the call is answered: it returns the call's script.
    pub url: String,
    /// Where the provider reports initiated, ringing, answered and completed.
    pub status_callback: String,
    /// Tell a person from an answering machine, waiting for the greeting's end so a message
    /// left starts after the beep (`MachineDetection=DetectMessageEnd`).
    pub detect_machine: bool,
    /// Seconds to ring before giving up (`no-answer`).
    pub ring_seconds: u32,
}

/// The provider placed the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedCall {
    pub sid: String,
    pub status: String,
}

pub trait VoiceProvider: Send + Sync + 'static {
    fn place(&self, call: OutboundCall) -> BoxFuture<Result<PlacedCall, SendError>>;
    /// Downloads a recording's audio as WAV, from the `RecordingUrl` the provider reported.
    fn fetch_recording(&self, media_url: &str) -> BoxFuture<Result<Vec<u8>, SendError>>;
    /// Ends the conference room named `room` (everyone in it drops out); `false` when no such
    /// room is open.
    fn end_conference(&self, room: &str) -> BoxFuture<Result<bool, SendError>>;
}

/// Who a `<Dial>` rings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leg {
    /// A phone number; when answered, `whisper` (a script URL) is played to the person who
    /// picked up before the caller is put through, and the call is theirs only if it ends
    /// without hanging up.
    Number { number: String, whisper: Option<String> },
    /// A browser softphone signed in as `identity`.
    Client(String),
    /// A conference room: `start` starts it on entering (others wait with hold music until
    /// someone who starts it joins); `end_on_exit` ends it for everyone when this one leaves.
    Conference { room: String, start: bool, end_on_exit: bool },
}

/// A `<Dial>`: ring `legs` at once, the first to be connected wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial {
    /// Fetched when the dialed call ends or nobody answered (`DialCallStatus`).
    pub action: String,
    pub ring_seconds: u32,
    pub caller_id: Option<String>,
    /// Record both sides from the answer, reporting the recording here.
    pub record_to: Option<String>,
    pub legs: Vec<Leg>,
}

/// A `<Record>`: the caller leaves a message after a beep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Fetched when the message ends.
    pub action: String,
    pub max_seconds: u32,
    /// Where the finished recording is reported.
    pub recording_to: String,
    /// Where its transcript is reported, when the provider makes one.
    pub transcript_to: Option<String>,
}

/// One instruction of a call script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// Read this text aloud.
    Say(String),
    /// Silence, in seconds.
    Pause(u32),
    /// Read `prompt` while listening for one key; the key goes to `action`. Without a key in
    /// `timeout` seconds the script goes on after it.
    Gather {
        action: String,
        timeout: u32,
        prompt: Vec<String>,
    },
    /// Fetch the script at this URL instead of going on.
    Redirect(String),
    Dial(Dial),
    Record(Record),
    Hangup,
}

/// The script as TwiML.
pub fn twiml(script: &[Verb]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>");
    for verb in script {
        match verb {
            Verb::Say(text) => say(&mut out, text),
            Verb::Pause(secs) => out.push_str(&format!("<Pause length=\"{secs}\"/>")),
            Verb::Gather { action, timeout, prompt } => {
                out.push_str(&format!(
                    "<Gather input=\"dtmf\" numDigits=\"1\" timeout=\"{timeout}\" action=\"{}\" method=\"POST\">",
                    escape(action)
                ));
                for p in prompt {
                    say(&mut out, p);
                }
                out.push_str("</Gather>");
            }
            Verb::Redirect(url) => out.push_str(&format!("<Redirect method=\"POST\">{}</Redirect>", escape(url))),
            Verb::Dial(d) => dial(&mut out, d),
            Verb::Record(r) => {
                out.push_str(&format!(
                    "<Record action=\"{}\" method=\"POST\" maxLength=\"{}\" playBeep=\"true\" timeout=\"5\" \
                     finishOnKey=\"#\" recordingStatusCallback=\"{}\" recordingStatusCallbackMethod=\"POST\"",
                    escape(&r.action),
                    r.max_seconds,
                    escape(&r.recording_to)
                ));
                if let Some(t) = &r.transcript_to {
                    out.push_str(&format!(" transcribe=\"true\" transcribeCallback=\"{}\"", escape(t)));
                }
                out.push_str("/>");
            }
            Verb::Hangup => out.push_str("<Hangup/>"),
        }
    }
    out.push_str("</Response>");
    out
}

fn dial(out: &mut String, d: &Dial) {
    out.push_str(&format!(
        "<Dial action=\"{}\" method=\"POST\" timeout=\"{}\" answerOnBridge=\"true\"",
        escape(&d.action),
        d.ring_seconds
    ));
    if let Some(c) = &d.caller_id {
        out.push_str(&format!(" callerId=\"{}\"", escape(c)));
    }
    if let Some(r) = &d.record_to {
        out.push_str(&format!(
            " record=\"record-from-answer-dual\" recordingStatusCallback=\"{}\" \
             recordingStatusCallbackMethod=\"POST\" recordingStatusCallbackEvent=\"completed\"",
            escape(r)
        ));
    }
    out.push('>');
    for leg in &d.legs {
        match leg {
            Leg::Number { number, whisper: Some(url) } => {
                out.push_str(&format!("<Number url=\"{}\" method=\"POST\">{}</Number>", escape(url), escape(number)))
            }
            Leg::Number { number, whisper: None } => out.push_str(&format!("<Number>{}</Number>", escape(number))),
            Leg::Client(identity) => out.push_str(&format!("<Client>{}</Client>", escape(identity))),
            Leg::Conference { room, start, end_on_exit } => out.push_str(&format!(
                "<Conference startConferenceOnEnter=\"{start}\" endConferenceOnExit=\"{end_on_exit}\" beep=\"false\">{}</Conference>",
                escape(room)
            )),
        }
    }
    out.push_str("</Dial>");
}

fn say(out: &mut String, text: &str) {
    out.push_str(&format!("<Say voice=\"Polly.Joanna\">{}</Say>", escape(text)));
}

/// XML text and attribute escaping.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot hold at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_render_to_twiml_with_text_and_urls_escaped() {
        let script = [
            Verb::Gather {
                action: "https://app.example/webhooks/twilio/voice/escalation/key?call=7&again=1".into(),
                timeout: 8,
                prompt: vec!["Urgent message for Smith & Sons <Plumbing>: \"no heat\".".into()],
            },
            Verb::Pause(1),
            Verb::Redirect("https://app.example/v?call=7&again=1".into()),
            Verb::Say("It's\u{1} done".into()),
            Verb::Hangup,
        ];
        assert_eq!(
            twiml(&script),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>\
             <Gather input=\"dtmf\" numDigits=\"1\" timeout=\"8\" action=\"https://app.example/webhooks/twilio/voice/escalation/key?call=7&amp;again=1\" method=\"POST\">\
             <Say voice=\"Polly.Joanna\">Urgent message for Smith &amp; Sons &lt;Plumbing&gt;: &quot;no heat&quot;.</Say></Gather>\
             <Pause length=\"1\"/>\
             <Redirect method=\"POST\">https://app.example/v?call=7&amp;again=1</Redirect>\
             <Say voice=\"Polly.Joanna\">It&apos;s  done</Say><Hangup/></Response>"
        );
        assert_eq!(twiml(&[]), "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>");
    }

    #[test]
    fn dial_and_record_render_with_every_url_and_name_escaped() {
        let script = [
            Verb::Dial(Dial {
                action: "https://app.example/webhooks/twilio/voice/dialed?call=7&step=0".into(),
                ring_seconds: 20,
                caller_id: Some("+13125550100".into()),
                record_to: Some("https://app.example/webhooks/twilio/voice/recording?call=7&kind=call".into()),
                legs: vec![
                    Leg::Number {
                        number: "+13125550161".into(),
                        whisper: Some("https://app.example/webhooks/twilio/voice/whisper?call=7&user=3".into()),
                    },
                    Leg::Number { number: "+13125550162".into(), whisper: None },
                    Leg::Client("u3<&>".into()),
                ],
            }),
            Verb::Record(Record {
                action: "https://app.example/v/voicemail?call=7&a=1".into(),
                max_seconds: 120,
                recording_to: "https://app.example/v/recording?call=7&kind=voicemail".into(),
                transcript_to: Some("https://app.example/v/transcript?call=7&x=\"1\"".into()),
            }),
        ];
        assert_eq!(
            twiml(&script),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>\
             <Dial action=\"https://app.example/webhooks/twilio/voice/dialed?call=7&amp;step=0\" method=\"POST\" timeout=\"20\" answerOnBridge=\"true\" callerId=\"+13125550100\" \
             record=\"record-from-answer-dual\" recordingStatusCallback=\"https://app.example/webhooks/twilio/voice/recording?call=7&amp;kind=call\" recordingStatusCallbackMethod=\"POST\" recordingStatusCallbackEvent=\"completed\">\
             <Number url=\"https://app.example/webhooks/twilio/voice/whisper?call=7&amp;user=3\" method=\"POST\">+13125550161</Number>\
             <Number>+13125550162</Number><Client>u3&lt;&amp;&gt;</Client></Dial>\
             <Record action=\"https://app.example/v/voicemail?call=7&amp;a=1\" method=\"POST\" maxLength=\"120\" playBeep=\"true\" timeout=\"5\" finishOnKey=\"#\" \
             recordingStatusCallback=\"https://app.example/v/recording?call=7&amp;kind=voicemail\" recordingStatusCallbackMethod=\"POST\" \
             transcribe=\"true\" transcribeCallback=\"https://app.example/v/transcript?call=7&amp;x=&quot;1&quot;\"/>\
             </Response>"
        );
    }
}
