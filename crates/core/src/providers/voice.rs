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
            Verb::Hangup => out.push_str("<Hangup/>"),
        }
    }
    out.push_str("</Response>");
    out
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
}
