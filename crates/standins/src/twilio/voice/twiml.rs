//! Reading TwiML: a small, forgiving XML reader (elements, attributes in either quote style,
//! entities including numeric ones, comments, CDATA, a declaration) and the verbs the stand-in
//! follows: `<Say>`, `<Play>`, `<Pause>`, `<Gather>`, `<Redirect>`, `<Hangup>` (and `<Reject>`,
//! which ends the call the same way here), `<Dial>` with `<Number>`, `<Client>` and `<Conference>`
//! nouns, and `<Record>`. Attribute values and text are XML-unescaped. Unknown verbs and nouns are skipped.
//! `method` attributes are read as POST: the stand-in makes every request a signed form POST.

/// One verb of a TwiML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Twiml {
    Say(String),
    /// The URL of the audio played.
    Play(String),
    /// Seconds of silence.
    Pause(u64),
    Gather(Gather),
    Redirect(String),
    Hangup,
    Dial(Dial),
    Record(Record),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Gather {
    /// Where the digits go; none: the current document's URL, as Twilio does.
    pub(super) action: Option<String>,
    /// Seconds to wait for a key.
    pub(super) timeout: u64,
    /// What the prompt says, one line per nested `<Say>` (or `[play url]` per `<Play>`).
    pub(super) prompt: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Dial {
    pub(super) action: Option<String>,
    /// Seconds each target may ring (Twilio's default: 30).
    pub(super) timeout: u64,
    /// `do-not-record` (the default), `record-from-answer`, `record-from-answer-dual`, ...
    pub(super) record: String,
    pub(super) recording_status_callback: Option<String>,
    pub(super) caller_id: Option<String>,
    pub(super) targets: Vec<Target>,
    /// A `<Conference>` noun: the call joins that room instead of ringing anyone (Twilio allows
    /// no other noun beside it; any `targets` are then ignored).
    pub(super) conference: Option<Conference>,
}

/// `<Conference>`: a named room (see `conference`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Conference {
    pub(super) name: String,
    /// What a participant hears while the room has not started: none, Twilio's default hold
    /// music; `Some("")` (`waitUrl=""`), silence; else the URL of TwiML to play.
    pub(super) wait_url: Option<String>,
    /// `startConferenceOnEnter` (default true).
    pub(super) start_on_enter: bool,
    /// `endConferenceOnExit` (default false).
    pub(super) end_on_exit: bool,
    pub(super) status_callback: Option<String>,
    /// `statusCallbackEvent`, split on spaces (and commas): `start`, `end`, `join`, `leave`, ...
    pub(super) events: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) endpoint: Endpoint,
    /// The whisper: TwiML run on the answered leg before it is bridged.
    pub(super) url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Endpoint {
    Number(String),
    /// A browser softphone, by identity.
    Client(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Record {
    /// Where the recording is reported; none: the current document's URL, as Twilio does.
    pub(super) action: Option<String>,
    /// Longest recording, in seconds (Twilio's default: 3600).
    pub(super) max_length: u64,
    pub(super) play_beep: bool,
    /// Seconds of silence that end the recording.
    pub(super) timeout: u64,
    pub(super) recording_status_callback: Option<String>,
    pub(super) transcribe: bool,
    pub(super) transcribe_callback: Option<String>,
}

/// The verbs of a document's `<Response>` (or of the document itself when it has none). URLs
/// in it (actions, whispers, callbacks, redirects) may be relative to `base`, the document's own
/// URL, and come out absolute.
pub(super) fn parse(doc: &str, base: &str) -> Vec<Twiml> {
    let root = read_xml(doc);
    let response = root.elements().find(|e| e.name == "Response").unwrap_or(&root);
    response.elements().filter_map(|e| verb(e, base)).collect()
}

/// `url` resolved against `base` as a browser would (absolute, host-relative, or relative to
/// the base's directory).
fn resolve(base: &str, url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") || base.is_empty() {
        return url.to_string();
    }
    let origin_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[origin_end..].find('/').map_or(base.len(), |i| origin_end + i);
    if url.starts_with('/') {
        return format!("{}{url}", &base[..path_start]);
    }
    let path_end = base.find(['?', '#']).unwrap_or(base.len()).max(path_start);
    let dir_end = base[path_start..path_end].rfind('/').map_or(path_start, |i| path_start + i);
    format!("{}/{url}", &base[..dir_end])
}

fn verb(e: &Element, base: &str) -> Option<Twiml> {
    let link = |name: &str| e.value(name).map(|u| resolve(base, &u));
    Some(match e.name.as_str() {
        "Say" => Twiml::Say(e.text().trim().to_string()),
        "Play" => Twiml::Play(resolve(base, e.text().trim())),
        "Pause" => Twiml::Pause(e.number("length").unwrap_or(1)),
        "Gather" => Twiml::Gather(Gather {
            action: link("action"),
            timeout: e.number("timeout").unwrap_or(5),
            prompt: e
                .elements()
                .filter_map(|p| match p.name.as_str() {
                    "Say" => Some(p.text().trim().to_string()),
                    "Play" => Some(format!("[play {}]", resolve(base, p.text().trim()))),
                    _ => None,
                })
                .collect(),
        }),
        "Redirect" => Twiml::Redirect(resolve(base, e.text().trim())),
        "Hangup" | "Reject" => Twiml::Hangup,
        "Dial" => Twiml::Dial(dial(e, base)),
        "Record" => Twiml::Record(Record {
            action: link("action"),
            max_length: e.number("maxLength").unwrap_or(3600),
            play_beep: e.attr("playBeep").is_none_or(|b| !b.eq_ignore_ascii_case("false")),
            timeout: e.number("timeout").unwrap_or(5),
            recording_status_callback: link("recordingStatusCallback"),
            transcribe: e.attr("transcribe").is_some_and(|t| t.eq_ignore_ascii_case("true")),
            transcribe_callback: link("transcribeCallback"),
        }),
        _ => return None,
    })
}

fn dial(e: &Element, base: &str) -> Dial {
    let link = |e: &Element, name: &str| e.value(name).map(|u| resolve(base, &u));
    let mut targets = Vec::new();
    let mut conference = None;
    for child in &e.children {
        match child {
            Node::Text(t) if !t.trim().is_empty() => {
                targets.push(Target { endpoint: Endpoint::Number(t.trim().to_string()), url: None });
            }
            Node::Element(n) if n.name == "Number" => {
                targets.push(Target { endpoint: Endpoint::Number(n.text().trim().to_string()), url: link(n, "url") });
            }
            // `<Client>user_17</Client>` or `<Client><Identity>user_17</Identity><Parameter/></Client>`:
            // either way the identity is the only text inside.
            Node::Element(n) if n.name == "Client" => {
                targets.push(Target { endpoint: Endpoint::Client(n.text().trim().to_string()), url: link(n, "url") });
            }
            Node::Element(n) if n.name == "Conference" && conference.is_none() => {
                let flag = |name: &str, default: bool| {
                    n.attr(name).map_or(default, |v| match v.trim() {
                        v if v.eq_ignore_ascii_case("true") => true,
                        v if v.eq_ignore_ascii_case("false") => false,
                        _ => default,
                    })
                };
                conference = Some(Conference {
                    name: n.text().trim().to_string(),
                    wait_url: n.attr("waitUrl").map(|u| match u.trim() {
                        "" => String::new(),
                        u => resolve(base, u),
                    }),
                    start_on_enter: flag("startConferenceOnEnter", true),
                    end_on_exit: flag("endConferenceOnExit", false),
                    status_callback: link(n, "statusCallback"),
                    events: n
                        .attr("statusCallbackEvent")
                        .unwrap_or_default()
                        .split([' ', ','])
                        .filter(|e| !e.is_empty())
                        .map(str::to_string)
                        .collect(),
                });
            }
            _ => {}
        }
    }
    Dial {
        action: link(e, "action"),
        timeout: e.number("timeout").unwrap_or(30),
        record: e.attr("record").unwrap_or("do-not-record").to_string(),
        recording_status_callback: link(e, "recordingStatusCallback"),
        caller_id: e.value("callerId"),
        targets,
        conference,
    }
}

#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Node>,
}

#[derive(Debug)]
enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|c| match c {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A non-empty attribute, trimmed.
    fn value(&self, name: &str) -> Option<String> {
        self.attr(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
    }

    fn number(&self, name: &str) -> Option<u64> {
        self.attr(name).and_then(|v| v.trim().parse().ok())
    }

    /// All text inside, nested elements included.
    fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.children {
            match c {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => out.push_str(&e.text()),
            }
        }
        out
    }
}

/// Reads a document into a tree under an unnamed root. Never fails: a tag left open is closed at
/// the end, a stray closing tag is ignored, a truncated tag ends the document.
fn read_xml(doc: &str) -> Element {
    let mut stack = vec![Element::default()];
    let mut rest = doc;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |i| &after[i + 3..]);
        } else if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").unwrap_or(after.len());
            add(&mut stack, Node::Text(after[..end].to_string()));
            rest = after.get(end + 3..).unwrap_or("");
        } else if rest.starts_with("<?") || rest.starts_with("<!") {
            rest = rest.find('>').map_or("", |i| &rest[i + 1..]);
        } else if let Some(after) = rest.strip_prefix("</") {
            let end = after.find('>').unwrap_or(after.len());
            let name = after[..end].trim();
            if stack.iter().skip(1).any(|e| e.name == name) {
                while let Some(e) = stack.pop() {
                    let done = e.name == name;
                    add(&mut stack, Node::Element(e));
                    if done {
                        break;
                    }
                }
            }
            rest = after.get(end + 1..).unwrap_or("");
        } else if rest.starts_with('<') {
            let Some(end) = tag_end(rest) else { break };
            let inner = &rest[1..end];
            let self_closing = inner.ends_with('/');
            let inner = inner.strip_suffix('/').unwrap_or(inner);
            let name_end = inner.find(char::is_whitespace).unwrap_or(inner.len());
            let element = Element {
                name: inner[..name_end].to_string(),
                attributes: attributes(&inner[name_end..]),
                children: Vec::new(),
            };
            if self_closing {
                add(&mut stack, Node::Element(element));
            } else {
                stack.push(element);
            }
            rest = &rest[end + 1..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            add(&mut stack, Node::Text(unescape(&rest[..end])));
            rest = &rest[end..];
        }
    }
    while stack.len() > 1 {
        if let Some(e) = stack.pop() {
            add(&mut stack, Node::Element(e));
        }
    }
    stack.pop().unwrap_or_default()
}

fn add(stack: &mut [Element], node: Node) {
    if let Some(top) = stack.last_mut() {
        top.children.push(node);
    }
}

/// Where the tag starting `s` ends: its `>` outside quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn attributes(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let name_end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let name = rest[..name_end].to_string();
        rest = rest[name_end..].trim_start();
        let value = match rest.strip_prefix('=') {
            Some(after) => {
                let after = after.trim_start();
                match after.chars().next() {
                    Some(q @ ('"' | '\'')) => {
                        let body = &after[1..];
                        let end = body.find(q).unwrap_or(body.len());
                        rest = body.get(end + 1..).unwrap_or("");
                        unescape(&body[..end])
                    }
                    _ => {
                        let end = after.find(char::is_whitespace).unwrap_or(after.len());
                        rest = &after[end..];
                        unescape(&after[..end])
                    }
                }
            }
            None => String::new(),
        };
        if !name.is_empty() {
            out.push((name, value));
        }
        rest = rest.trim_start();
    }
    out
}

/// Replaces XML's five named entities and numeric character references; anything else that
/// looks like an entity is kept as written.
pub(super) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let entity = after.find(';').filter(|&j| j <= 12).and_then(|j| {
            let name = &after[1..j];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => match name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok().and_then(char::from_u32),
                    None => name.strip_prefix('#').and_then(|d| d.parse().ok()).and_then(char::from_u32),
                },
            };
            c.map(|c| (c, j))
        });
        match entity {
            Some((c, j)) => {
                out.push(c);
                rest = &after[j + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interpreter_reads_our_scripts() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>\
             <Gather input=\"dtmf\" numDigits=\"1\" timeout=\"8\" action=\"https://a/k?call=7&amp;x=1\" method=\"POST\">\
             <Say voice=\"Polly.Joanna\">Smith &amp; Sons</Say><Say>Press 1</Say></Gather>\
             <Pause length=\"1\"/><Redirect method=\"POST\">https://a/v?call=7&amp;again=1</Redirect><Hangup/></Response>";
        assert_eq!(
            parse(doc, "https://a/v"),
            [
                Twiml::Gather(Gather {
                    action: Some("https://a/k?call=7&x=1".into()),
                    timeout: 8,
                    prompt: vec!["Smith & Sons".into(), "Press 1".into()]
                }),
                Twiml::Pause(1),
                Twiml::Redirect("https://a/v?call=7&again=1".into()),
                Twiml::Hangup,
            ]
        );
    }

    #[test]
    fn dial_reads_numbers_clients_and_a_bare_number() {
        let doc = r#"<?xml version="1.0"?>
            <Response>
              <!-- ring everyone -->
              <Dial timeout="20" answerOnBridge="true" callerId="+15017122661"
                    action="https://app/voice/dial-result?call=C1&amp;strategy=parallel"
                    record='record-from-answer-dual'
                    recordingStatusCallback="https://app/voice/recording?call=C1&#38;x=&#x31;"
                    recordingStatusCallbackEvent="completed">
                <Client>
                  <Identity>user_17</Identity>
                  <Parameter name="callId" value="C1"/>
                </Client>
                <Client url="https://app/w?c=2">user_18</Client>
                <Number url="https://app/voice/whisper?call=C1&amp;user=23">+15551230023</Number>
                <Conference>room</Conference>
              </Dial>
              <Dial>  +15550001111 </Dial>
              <Play>https://cdn/hold.mp3</Play>
            </Response>"#;
        let verbs = parse(doc, "https://app/voice/incoming");
        assert_eq!(verbs.len(), 3);
        let Twiml::Dial(d) = &verbs[0] else { panic!("not a dial: {verbs:?}") };
        assert_eq!(d.action.as_deref(), Some("https://app/voice/dial-result?call=C1&strategy=parallel"));
        assert_eq!(d.timeout, 20);
        assert_eq!(d.record, "record-from-answer-dual");
        assert_eq!(d.recording_status_callback.as_deref(), Some("https://app/voice/recording?call=C1&x=1"));
        assert_eq!(d.caller_id.as_deref(), Some("+15017122661"));
        assert_eq!(
            d.targets,
            [
                Target { endpoint: Endpoint::Client("user_17".into()), url: None },
                Target { endpoint: Endpoint::Client("user_18".into()), url: Some("https://app/w?c=2".into()) },
                Target {
                    endpoint: Endpoint::Number("+15551230023".into()),
                    url: Some("https://app/voice/whisper?call=C1&user=23".into())
                },
            ]
        );
        let Twiml::Dial(bare) = &verbs[1] else { panic!("not a dial") };
        assert_eq!(bare.targets, [Target { endpoint: Endpoint::Number("+15550001111".into()), url: None }]);
        assert_eq!(bare.timeout, 30);
        assert_eq!(bare.record, "do-not-record");
        assert_eq!(verbs[2], Twiml::Play("https://cdn/hold.mp3".into()));
    }

    #[test]
    fn dial_reads_a_conference_and_its_defaults() {
        let verbs = parse(
            "<Response><Dial action=\"/after\"><Conference startConferenceOnEnter=\"false\" endConferenceOnExit='TRUE' \
               beep=\"false\" waitUrl=\"hold?x=1&amp;y=2\" statusCallback=\"/conf\" \
               statusCallbackEvent=\"start end  join leave\">live-C1</Conference></Dial>\
             <Dial><Conference waitUrl=\"\"> room 2 </Conference></Dial><Dial><Conference>r3</Conference></Dial></Response>",
            "https://app/voice/in",
        );
        let Twiml::Dial(d) = &verbs[0] else { panic!("not a dial") };
        assert_eq!(d.action.as_deref(), Some("https://app/after"));
        assert!(d.targets.is_empty());
        assert_eq!(
            d.conference,
            Some(Conference {
                name: "live-C1".into(),
                wait_url: Some("https://app/voice/hold?x=1&y=2".into()),
                start_on_enter: false,
                end_on_exit: true,
                status_callback: Some("https://app/conf".into()),
                events: vec!["start".into(), "end".into(), "join".into(), "leave".into()],
            })
        );
        let Twiml::Dial(silent) = &verbs[1] else { panic!("not a dial") };
        let room = silent.conference.clone().unwrap();
        assert_eq!((room.name.as_str(), room.wait_url.as_deref()), ("room 2", Some("")));
        let Twiml::Dial(plain) = &verbs[2] else { panic!("not a dial") };
        let room = plain.conference.clone().unwrap();
        assert_eq!((room.wait_url, room.start_on_enter, room.end_on_exit), (None, true, false));
        assert!(room.events.is_empty() && room.status_callback.is_none());
    }

    #[test]
    fn record_reads_its_attributes_and_defaults() {
        let verbs = parse(
            "<Response><Record maxLength=\"120\" playBeep=\"false\" timeout='3' finishOnKey=\"#\" \
             action=\"https://a/done?c=1&amp;k=vm\" transcribe=\"true\" transcribeCallback=\"https://a/t\"/>\
             <Record/><Say><![CDATA[Tom & Jerry]]> &lt;3</Say></Response>",
            "https://a/v",
        );
        assert_eq!(
            verbs,
            [
                Twiml::Record(Record {
                    action: Some("https://a/done?c=1&k=vm".into()),
                    max_length: 120,
                    play_beep: false,
                    timeout: 3,
                    recording_status_callback: None,
                    transcribe: true,
                    transcribe_callback: Some("https://a/t".into()),
                }),
                Twiml::Record(Record {
                    action: None,
                    max_length: 3600,
                    play_beep: true,
                    timeout: 5,
                    recording_status_callback: None,
                    transcribe: false,
                    transcribe_callback: None,
                }),
                Twiml::Say("Tom & Jerry <3".into()),
            ]
        );
    }

    #[test]
    fn broken_documents_do_not_panic() {
        for doc in ["", "<", "<Response", "<Response><Say>open", "</Say><Hangup/>", "<Response><Gather action=\"x"] {
            let _ = parse(doc, "");
        }
        assert_eq!(parse("<Response><Say>hi</Response>", ""), [Twiml::Say("hi".into())]);
        assert_eq!(unescape("a &unknown; &amp b &#65;&#x42;"), "a &unknown; &amp b AB");
    }

    #[test]
    fn relative_urls_resolve_against_the_document() {
        let base = "https://app.example/voice/in?call=1&x=/y";
        assert_eq!(resolve(base, "https://other/a"), "https://other/a");
        assert_eq!(resolve(base, "/hooks/dial?c=2"), "https://app.example/hooks/dial?c=2");
        assert_eq!(resolve(base, "whisper?u=3"), "https://app.example/voice/whisper?u=3");
        assert_eq!(resolve("http://127.0.0.1:80", "next"), "http://127.0.0.1:80/next");
        let doc = "<Response><Gather action=\"key?c=1&amp;d=2\"><Play>/hold.wav</Play></Gather>\
                   <Dial action=\"/done\"><Number url=\"w\">+15550001111</Number></Dial></Response>";
        let verbs = parse(doc, base);
        assert_eq!(
            verbs[0],
            Twiml::Gather(Gather {
                action: Some("https://app.example/voice/key?c=1&d=2".into()),
                timeout: 5,
                prompt: vec!["[play https://app.example/hold.wav]".into()],
            })
        );
        let Twiml::Dial(d) = &verbs[1] else { panic!("not a dial") };
        assert_eq!(d.action.as_deref(), Some("https://app.example/done"));
        assert_eq!(d.targets[0].url.as_deref(), Some("https://app.example/voice/w"));
    }
}
