//! The rules of routing, without the database: whom a call rings step by step, and the call
//! scripts each webhook answers with (rendered to TwiML by [`crate::providers::voice::twiml`]).

use crate::providers::voice::{Dial, Leg, Record, Verb};

use super::model::{Member, Ring, RingMode, Routing, Step, Strategy};

/// The longest voicemail a caller can leave, in seconds.
pub const VOICEMAIL_SECONDS: u32 = 120;
/// How long the person who picked up has to press 1.
pub const WHISPER_SECONDS: u32 = 8;

/// Where one member's calls ring, in their ring mode: nothing when they ring only on a cell
/// they have not given.
pub fn rings_of(m: &Member) -> Vec<Ring> {
    let browser = Ring::Browser { user: m.user_id, name: m.name.clone() };
    let cell = m.cell.as_ref().map(|c| Ring::Cell { number: c.clone(), user: Some(m.user_id), name: m.name.clone() });
    match m.ring_mode {
        RingMode::Browser => vec![browser],
        RingMode::Cell => cell.into_iter().collect(),
        RingMode::Both => std::iter::once(browser).chain(cell).collect(),
    }
}

/// The hunt for one call through `members` (in their order): everyone in one step
/// (parallel), or one person per step, starting at `start` (round-robin; taken modulo the
/// people who can be rung) or at the first (linear).
pub fn plan(strategy: Strategy, members: &[Member], start: u64) -> Vec<Step> {
    let people: Vec<Step> = members.iter().map(rings_of).filter(|r| !r.is_empty()).collect();
    if people.is_empty() {
        return Vec::new();
    }
    match strategy {
        Strategy::Parallel => vec![people.into_iter().flatten().collect()],
        Strategy::Linear => people,
        Strategy::RoundRobin => {
            let n = people.len();
            let first = (start % n as u64) as usize;
            people.into_iter().cycle().skip(first).take(n).collect()
        }
    }
}

/// The softphone identity of a sign-in (what `<Client>` rings and its access token names).
pub fn client_identity(user: i64) -> String {
    format!("u{user}")
}

/// The webhook URLs of one call.
pub struct Urls<'a> {
    pub base: &'a str,
    pub call: i64,
}

impl Urls<'_> {
    fn at(&self, path: &str, rest: &str) -> String {
        format!("{}/webhooks/twilio/voice/{path}?call={}{rest}", self.base.trim_end_matches('/'), self.call)
    }
    pub fn dialed(&self, step: usize) -> String {
        self.at("dialed", &format!("&step={step}"))
    }
    pub fn whisper(&self, step: usize, leg: usize) -> String {
        self.at("whisper", &format!("&step={step}&leg={leg}"))
    }
    pub fn whisper_key(&self, step: usize, leg: usize) -> String {
        self.at("whisper/key", &format!("&step={step}&leg={leg}"))
    }
    pub fn recording(&self, kind: &str) -> String {
        self.at("recording", &format!("&kind={kind}"))
    }
    pub fn voicemail(&self) -> String {
        self.at("voicemail", "")
    }
    pub fn transcript(&self) -> String {
        self.at("transcript", "")
    }
    pub fn patched(&self) -> String {
        self.at("patched", "")
    }
    pub fn patch(&self, target: usize) -> String {
        self.at("patch", &format!("&target={target}"))
    }
    pub fn patch_key(&self, target: usize) -> String {
        self.at("patch/key", &format!("&target={target}"))
    }
    pub fn patch_status(&self, target: usize) -> String {
        self.at("patch/status", &format!("&target={target}"))
    }
    pub fn connect(&self) -> String {
        self.at("connect", "")
    }
    pub fn connected(&self) -> String {
        self.at("connected", "")
    }
}

/// The `<Dial>` of step `index`: cells get the whisper, softphones ring as clients.
pub fn dial(urls: &Urls<'_>, routing: &Routing, caller_id: &str, index: usize, step: &Step) -> Verb {
    let legs = step
        .iter()
        .enumerate()
        .map(|(leg, ring)| match ring {
            Ring::Cell { number, .. } => {
                Leg::Number { number: number.clone(), whisper: Some(urls.whisper(index, leg)) }
            }
            Ring::Browser { user, .. } => Leg::Client(client_identity(*user)),
        })
        .collect();
    Verb::Dial(Dial {
        action: urls.dialed(index),
        ring_seconds: routing.ring_seconds,
        caller_id: Some(caller_id.to_string()),
        record_to: routing.record.then(|| urls.recording("call")),
        legs,
    })
}

/// What a caller hears first: the recording notice, when the brand records and says so.
pub fn opening(routing: &Routing) -> Vec<Verb> {
    if routing.record && routing.consent_notice {
        vec![Verb::Say("This call may be recorded.".into())]
    } else {
        Vec::new()
    }
}

/// The greeting, then the message after the tone; a caller who leaves none hears goodbye.
pub fn voicemail(urls: &Urls<'_>, greeting: &str) -> Vec<Verb> {
    vec![
        Verb::Say(greeting.to_string()),
        Verb::Record(Record {
            action: urls.voicemail(),
            max_seconds: VOICEMAIL_SECONDS,
            recording_to: urls.recording("voicemail"),
            transcript_to: Some(urls.transcript()),
        }),
        Verb::Say("We did not get a message. Goodbye.".into()),
        Verb::Hangup,
    ]
}

/// What the person who picked up a cell hears: whose call it is, and "press 1". Without a
/// key (a carrier's voicemail never presses one) the leg hangs up and the others ring on.
pub fn whisper(urls: &Urls<'_>, step: usize, leg: usize, brand: &str, caller: &str) -> Vec<Verb> {
    vec![
        Verb::Gather {
            action: urls.whisper_key(step, leg),
            timeout: WHISPER_SECONDS,
            prompt: vec![format!("Call for {brand} from {caller}. Press 1 to take it.")],
        },
        Verb::Hangup,
    ]
}

/// A number as text-to-speech should read it: digit by digit, in the national groups
/// (`3 1 2, 5 5 5, 0 1 9 9`), so it is not read as one big number.
pub fn spoken_number(display: &str) -> String {
    let groups: Vec<String> = display
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(|g| g.chars().map(String::from).collect::<Vec<_>>().join(" "))
        .collect();
    if groups.is_empty() { "an unknown number".to_string() } else { groups.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::model::AfterHours;
    use crate::ids::BrandId;

    fn member(id: i64, mode: RingMode, cell: Option<&str>) -> Member {
        Member { user_id: id, name: format!("P{id}"), ring_mode: mode, cell: cell.map(String::from) }
    }

    fn cell(id: i64) -> Ring {
        Ring::Cell { number: format!("+1312555010{id}"), user: Some(id), name: format!("P{id}") }
    }

    fn browser(id: i64) -> Ring {
        Ring::Browser { user: id, name: format!("P{id}") }
    }

    fn three() -> Vec<Member> {
        vec![
            member(1, RingMode::Cell, Some("+13125550101")),
            member(2, RingMode::Both, Some("+13125550102")),
            member(3, RingMode::Browser, None),
        ]
    }

    #[test]
    fn ring_modes_ring_the_browser_the_cell_or_both_and_a_missing_cell_rings_nothing() {
        assert_eq!(rings_of(&member(1, RingMode::Cell, Some("+13125550101"))), vec![cell(1)]);
        assert_eq!(rings_of(&member(1, RingMode::Cell, None)), vec![]);
        assert_eq!(rings_of(&member(2, RingMode::Both, Some("+13125550102"))), vec![browser(2), cell(2)]);
        assert_eq!(rings_of(&member(2, RingMode::Both, None)), vec![browser(2)]);
        assert_eq!(rings_of(&member(3, RingMode::Browser, Some("+13125550103"))), vec![browser(3)]);
    }

    #[test]
    fn parallel_rings_everyone_in_one_step() {
        assert_eq!(plan(Strategy::Parallel, &three(), 7), vec![vec![cell(1), browser(2), cell(2), browser(3)]]);
    }

    #[test]
    fn linear_hunts_in_order_and_round_robin_starts_one_further_each_call() {
        let linear = plan(Strategy::Linear, &three(), 5);
        assert_eq!(linear, vec![vec![cell(1)], vec![browser(2), cell(2)], vec![browser(3)]]);
        let firsts: Vec<Ring> = (0..4).map(|start| plan(Strategy::RoundRobin, &three(), start)[0][0].clone()).collect();
        assert_eq!(firsts, vec![cell(1), browser(2), browser(3), cell(1)]);
        assert_eq!(
            plan(Strategy::RoundRobin, &three(), 1),
            vec![vec![browser(2), cell(2)], vec![browser(3)], vec![cell(1)]]
        );
    }

    #[test]
    fn nobody_who_can_be_rung_makes_an_empty_plan() {
        assert!(plan(Strategy::Parallel, &[], 0).is_empty());
        assert!(plan(Strategy::RoundRobin, &[member(1, RingMode::Cell, None)], 3).is_empty());
        // Someone without a cell drops out of the hunt; the others are still rung.
        let hunt = plan(
            Strategy::RoundRobin,
            &[member(1, RingMode::Cell, None), member(2, RingMode::Cell, Some("+13125550102"))],
            0,
        );
        assert_eq!(hunt, vec![vec![cell(2)]]);
    }

    #[test]
    fn a_step_dials_cells_with_the_whisper_and_browsers_as_clients_recording_when_the_brand_records() {
        let urls = Urls { base: "https://sb.example/", call: 9 };
        let mut routing = Routing::default_for(BrandId(1));
        routing.ring_seconds = 15;
        let Verb::Dial(d) = dial(&urls, &routing, "+13125550100", 1, &vec![browser(2), cell(2)]) else {
            panic!("a dial")
        };
        assert_eq!(d.action, "https://sb.example/webhooks/twilio/voice/dialed?call=9&step=1");
        assert_eq!(d.ring_seconds, 15);
        assert_eq!(d.caller_id.as_deref(), Some("+13125550100"));
        assert_eq!(d.record_to.as_deref(), Some("https://sb.example/webhooks/twilio/voice/recording?call=9&kind=call"));
        assert_eq!(
            d.legs,
            vec![
                Leg::Client("u2".into()),
                Leg::Number {
                    number: "+13125550102".into(),
                    whisper: Some("https://sb.example/webhooks/twilio/voice/whisper?call=9&step=1&leg=1".into())
                },
            ]
        );
        routing.record = false;
        let Verb::Dial(d) = dial(&urls, &routing, "+13125550100", 0, &vec![cell(1)]) else { panic!("a dial") };
        assert_eq!(d.record_to, None);
    }

    #[test]
    fn the_recording_notice_is_said_only_when_calls_are_recorded_and_the_brand_asks_for_it() {
        let mut routing = Routing::default_for(BrandId(1));
        assert!(opening(&routing).is_empty());
        routing.consent_notice = true;
        assert_eq!(opening(&routing), vec![Verb::Say("This call may be recorded.".into())]);
        routing.record = false;
        assert!(opening(&routing).is_empty());
        assert_eq!(routing.after_hours, AfterHours::Voicemail);
    }

    #[test]
    fn the_whisper_names_the_brand_and_the_caller_and_hangs_up_without_a_key() {
        let urls = Urls { base: "https://sb.example", call: 4 };
        assert_eq!(
            whisper(&urls, 0, 2, "Imaginary Plumbing", "Dana Whitfield"),
            vec![
                Verb::Gather {
                    action: "https://sb.example/webhooks/twilio/voice/whisper/key?call=4&step=0&leg=2".into(),
                    timeout: 8,
                    prompt: vec!["Call for Imaginary Plumbing from Dana Whitfield. Press 1 to take it.".into()],
                },
                Verb::Hangup,
            ]
        );
    }

    #[test]
    fn numbers_are_spoken_digit_by_digit_in_their_groups() {
        assert_eq!(spoken_number("(312) 555-0199"), "3 1 2, 5 5 5, 0 1 9 9");
        assert_eq!(spoken_number("+44 20 7946 0958"), "4 4, 2 0, 7 9 4 6, 0 9 5 8");
        assert_eq!(spoken_number("anonymous"), "an unknown number");
    }
}
