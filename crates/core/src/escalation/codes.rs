//! Confirming by text: each urgent message open to a person gets a short reply code ("1ok",
//! "2ok", ...) unique among that person's open escalations, the smallest free number, so codes
//! stay short. A reply is read with any case, spacing and trailing punctuation ("1 OK",
//! "1ok.", "ok!"); a bare "ok" confirms when only one is open. Anything else that looks like a
//! code gets a short reply that says what would work. STOP is the messaging layer's and is
//! never read here.

/// The code a text asks for: `1ok`.
pub fn code_text(n: u32) -> String {
    format!("{n}ok")
}

/// The smallest number not already one of `open`'s codes.
pub fn allocate(open: &[u32]) -> u32 {
    (1..).find(|n| !open.contains(n)).unwrap_or(1)
}

/// What a reply says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// `1ok`, `1 OK`, `1ok.`
    Code(u32),
    /// `ok`, `OK!`
    BareOk,
    /// Something else: not a confirmation (it goes where other texts go).
    Other,
}

/// Reads a reply.
pub fn read(text: &str) -> Reply {
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
    let word = squeezed.trim_end_matches(['.', '!', ',', ';', ':']);
    if word == "ok" || word == "okay" {
        return Reply::BareOk;
    }
    match word.strip_suffix("ok").and_then(|n| n.parse::<u32>().ok()) {
        Some(n) if n > 0 && n < 1000 => Reply::Code(n),
        _ => Reply::Other,
    }
}

/// What to do with a reply from someone with these open escalations (code, escalation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Confirm this escalation.
    Confirm(i64),
    /// Not a confirmation; answer with this text.
    Answer(String),
    /// Not about an escalation at all.
    NotMine,
}

/// Decides what a reply does, given the person's open escalations as (code, escalation id).
pub fn resolve(reply: Reply, open: &[(u32, i64)]) -> Outcome {
    let codes = |open: &[(u32, i64)]| {
        let mut c: Vec<String> = open.iter().map(|(n, _)| code_text(*n)).collect();
        c.sort();
        match c.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
        }
    };
    match (reply, open) {
        (Reply::Other, _) => Outcome::NotMine,
        (Reply::BareOk, [(_, id)]) => Outcome::Confirm(*id),
        (Reply::Code(n), _) if open.iter().any(|(c, _)| *c == n) => {
            Outcome::Confirm(open.iter().find(|(c, _)| *c == n).map(|(_, id)| *id).unwrap_or_default())
        }
        (Reply::BareOk | Reply::Code(_), []) => {
            Outcome::Answer("No urgent message is waiting for you to confirm. Thank you.".into())
        }
        (Reply::BareOk, _) => Outcome::Answer(format!(
            "You have {} urgent messages waiting. Reply {} to confirm the one you are taking.",
            open.len(),
            codes(open)
        )),
        (Reply::Code(n), [_]) => Outcome::Answer(format!(
            "{} is not a code of yours. Reply {} (or ok) to confirm the urgent message.",
            code_text(n),
            codes(open)
        )),
        (Reply::Code(n), _) => Outcome::Answer(format!(
            "{} is not a code of yours. Reply {} to confirm the urgent message you are taking.",
            code_text(n),
            codes(open)
        )),
    }
}

/// The escalation a reply takes late, among those whose flow ended with nobody confirming
/// (`ended`, as (code, escalation), the latest first), when [`resolve`] found no open one it
/// names: its code, or a bare "ok" when nothing is open and one ended.
pub fn taken_late(reply: Reply, open: &[(u32, i64)], ended: &[(u32, i64)]) -> Option<i64> {
    match (reply, ended) {
        (Reply::Code(n), _) if !open.iter().any(|(c, _)| *c == n) => {
            ended.iter().find(|(c, _)| *c == n).map(|(_, id)| *id)
        }
        (Reply::BareOk, [(_, id)]) if open.is_empty() => Some(*id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_with_any_case_spacing_and_punctuation() {
        for (text, reply) in [
            ("1ok", Reply::Code(1)),
            ("1 OK", Reply::Code(1)),
            ("1ok.", Reply::Code(1)),
            (" 12 Ok! ", Reply::Code(12)),
            ("ok", Reply::BareOk),
            ("OK!", Reply::BareOk),
            ("Okay.", Reply::BareOk),
            ("0ok", Reply::Other),
            ("ok1", Reply::Other),
            ("STOP", Reply::Other),
            ("on my way", Reply::Other),
            ("", Reply::Other),
        ] {
            assert_eq!(read(text), reply, "{text:?}");
        }
    }

    #[test]
    fn codes_are_the_smallest_free_number_of_the_persons_open_escalations() {
        assert_eq!(allocate(&[]), 1);
        assert_eq!(allocate(&[1, 2]), 3);
        assert_eq!(allocate(&[2, 3]), 1, "1 was confirmed and is free again");
        assert_eq!(code_text(2), "2ok");
    }

    #[test]
    fn a_reply_confirms_its_escalation_and_a_wrong_one_says_what_would_work() {
        let one = [(1, 501)];
        let two = [(1, 501), (2, 502)];
        assert_eq!(resolve(read("1 ok"), &one), Outcome::Confirm(501));
        assert_eq!(resolve(read("ok"), &one), Outcome::Confirm(501), "a bare ok when only one is open");
        assert_eq!(resolve(read("2OK."), &two), Outcome::Confirm(502), "two open to one person, distinct codes");
        assert_eq!(
            resolve(read("ok"), &two),
            Outcome::Answer(
                "You have 2 urgent messages waiting. Reply 1ok or 2ok to confirm the one you are taking.".into()
            )
        );
        assert_eq!(
            resolve(read("3ok"), &one),
            Outcome::Answer("3ok is not a code of yours. Reply 1ok (or ok) to confirm the urgent message.".into())
        );
        assert_eq!(
            resolve(read("3ok"), &[(1, 501), (2, 502), (4, 504)]),
            Outcome::Answer(
                "3ok is not a code of yours. Reply 1ok, 2ok or 4ok to confirm the urgent message you are taking."
                    .into()
            )
        );
        assert_eq!(
            resolve(read("1ok"), &[]),
            Outcome::Answer("No urgent message is waiting for you to confirm. Thank you.".into()),
            "a stale code, after it was confirmed"
        );
        assert_eq!(resolve(read("running late"), &one), Outcome::NotMine);
    }

    #[test]
    fn a_code_of_a_flow_that_ended_takes_it_late_unless_an_open_one_has_that_code() {
        let ended = [(1, 40), (2, 41)];
        assert_eq!(taken_late(Reply::Code(2), &[], &ended), Some(41));
        assert_eq!(taken_late(Reply::Code(3), &[], &ended), None);
        // An open escalation holding code 1 comes first (resolve confirms it).
        assert_eq!(taken_late(Reply::Code(1), &[(1, 50)], &ended), None);
        assert_eq!(taken_late(Reply::Code(2), &[(1, 50)], &ended), Some(41));
        // A bare ok: only when nothing is open and exactly one ended.
        assert_eq!(taken_late(Reply::BareOk, &[], &[(1, 40)]), Some(40));
        assert_eq!(taken_late(Reply::BareOk, &[], &ended), None);
        assert_eq!(taken_late(Reply::BareOk, &[(1, 50), (2, 51)], &[(3, 40)]), None);
        assert_eq!(taken_late(Reply::Other, &[], &[(1, 40)]), None);
    }
}
