//! What happens to a message once it is taken: whether it counts as urgent, and how it reaches
//! the client's people. Both depend on the time in the client's zone: business hours are the
//! brand's working hours (Settings -> Brands), and the protocol's holidays count as after hours
//! all day.
//!
//! - Urgency: the operator decides; the rules only suggest. A message is suggested urgent when
//!   one of the brand's urgent words is in an answer (always, or only in business hours or
//!   only after hours, as the protocol says), or when the protocol treats every after-hours
//!   message as urgent.
//! - Delivery: each caller type lists rules (urgent or routine, a period, a method, the
//!   contacts). A message is delivered by every rule that matches its urgency and the period it
//!   was taken in; with none it is held for check-in. An urgent message with no urgent rule
//!   follows the routine rules, and is shown first on the board until someone has it.
//! - Daily recap: a message held for the recap goes out in the first recap after it was taken,
//!   at the protocol's local recap times. Each message belongs to exactly one recap (the first
//!   recap instant after it), so a daylight-saving change never sends one twice or skips one,
//!   and the recap stays at 8:00 AM on the clock. A recap time inside a skipped hour is read as
//!   the same clock time after the change (2:30 AM on a spring-forward day is 3:30 AM); in a
//!   repeated hour it is the first of the two, as for working hours.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::error::Validator;
use crate::tenancy::{UrgentWords, WorkingHours};

/// Delivery rules per caller type at most, and recipients per rule.
pub const RULES_MAX: usize = 20;
pub const RECIPIENTS_MAX: usize = 10;
pub const RECAP_TIMES_MAX: usize = 4;
pub const HOLIDAYS_MAX: usize = 60;

/// When a rule applies, in the client's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    #[default]
    Always,
    BusinessHours,
    AfterHours,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Always, Period::BusinessHours, Period::AfterHours];
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Always => "always",
            Period::BusinessHours => "business_hours",
            Period::AfterHours => "after_hours",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Period::Always => "Any time",
            Period::BusinessHours => "Business hours",
            Period::AfterHours => "After hours",
        }
    }
    pub fn parse(s: &str) -> Result<Period, String> {
        Period::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or_else(|| format!("\"{}\" is not a time of day (always, business_hours, after_hours)", s.trim()))
    }
    /// Whether a message taken when the client is (or is not) open falls in this period.
    pub fn covers(self, open: bool) -> bool {
        match self {
            Period::Always => true,
            Period::BusinessHours => open,
            Period::AfterHours => !open,
        }
    }
}

/// How a message reaches a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// An email at once.
    Email,
    /// A text at once, with no confirmation asked.
    Text,
    /// Both at once.
    EmailAndText,
    /// Held for the next daily recap email.
    Recap,
    /// Held until the client checks in (calls or signs in) and it is read to them.
    CheckIn,
    /// Kept in the recipient's private inbox; only "you have a new message" and the link go out,
    /// by text (or email without a cell). Opening it there is the read receipt.
    Secure,
    /// A page: to an email-to-pager address, or over SNPP to the pager's number.
    Pager,
    /// A fax of the message (a PDF) through the fax gateway.
    Fax,
}

impl Method {
    pub const ALL: [Method; 8] = [
        Method::Email,
        Method::Text,
        Method::EmailAndText,
        Method::Secure,
        Method::Recap,
        Method::CheckIn,
        Method::Pager,
        Method::Fax,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Email => "email",
            Method::Text => "text",
            Method::EmailAndText => "email_and_text",
            Method::Recap => "recap",
            Method::CheckIn => "check_in",
            Method::Secure => "secure",
            Method::Pager => "pager",
            Method::Fax => "fax",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Method::Email => "Email immediately",
            Method::Text => "Text (no confirmation)",
            Method::EmailAndText => "Email and text",
            Method::Recap => "Hold for the daily recap",
            Method::CheckIn => "Hold for check-in",
            Method::Secure => "Secure message",
            Method::Pager => "Page",
            Method::Fax => "Fax",
        }
    }
    pub fn parse(s: &str) -> Result<Method, String> {
        Method::ALL.into_iter().find(|m| m.as_str() == s.trim()).ok_or_else(|| {
            let all: Vec<_> = Method::ALL.iter().map(|m| m.as_str()).collect();
            format!("\"{}\" is not a way to deliver a message ({})", s.trim(), all.join(", "))
        })
    }
    /// Whether the rule names the people it goes to (holding for check-in does not).
    pub fn has_recipients(self) -> bool {
        self != Method::CheckIn
    }
}

/// One delivery rule of a caller type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRule {
    /// For urgent messages (true) or routine ones.
    #[serde(default)]
    pub urgent: bool,
    #[serde(default)]
    pub when: Period,
    pub method: Method,
    /// The client's contacts it goes to, in order.
    #[serde(default)]
    pub contacts: Vec<i64>,
}

/// A rule as typed or sent; contacts are the client's contact ids.
#[derive(Debug, Clone, Default)]
pub struct DeliveryRuleInput {
    pub urgent: bool,
    pub when: String,
    pub method: String,
    pub contacts: Vec<i64>,
}

/// Checks a caller type's rules; refusals are named `{prefix}.N.field` (counted from 1).
/// `known` says whether a contact id is one of the client's.
pub fn check_rules(
    inputs: &[DeliveryRuleInput],
    prefix: &str,
    known: &dyn Fn(i64) -> bool,
    v: &mut Validator,
) -> Vec<DeliveryRule> {
    if inputs.len() > RULES_MAX {
        v.add(prefix.to_string(), format!("use at most {RULES_MAX} delivery rules"));
    }
    let mut rules = Vec::new();
    for (i, r) in inputs.iter().enumerate().take(RULES_MAX) {
        let at = |f: &str| format!("{prefix}.{}.{f}", i + 1);
        let when = Period::parse(if r.when.trim().is_empty() { "always" } else { &r.when });
        let method = Method::parse(&r.method);
        if let Err(m) = &when {
            v.add(at("when"), m.clone());
        }
        let method = match method {
            Ok(m) => m,
            Err(m) => {
                v.add(at("method"), m);
                continue;
            }
        };
        let mut contacts: Vec<i64> = Vec::new();
        for c in &r.contacts {
            if !contacts.contains(c) {
                contacts.push(*c);
            }
        }
        if method.has_recipients() && contacts.is_empty() {
            v.add(at("contacts"), "pick who receives it");
        } else if contacts.len() > RECIPIENTS_MAX {
            v.add(at("contacts"), format!("use at most {RECIPIENTS_MAX} recipients per rule"));
        } else if let Some(unknown) = contacts.iter().find(|c| !known(**c)) {
            v.add(at("contacts"), format!("contact {unknown} is not one of this client's contacts"));
        }
        if let Ok(when) = when {
            let contacts = if method.has_recipients() { contacts } else { Vec::new() };
            rules.push(DeliveryRule { urgent: r.urgent, when, method, contacts });
        }
    }
    rules
}

/// The rules a message follows: those for its urgency and period; an urgent message with no
/// urgent rule follows the routine ones. Empty: hold for check-in.
pub fn matching(rules: &[DeliveryRule], urgent: bool, open: bool) -> Vec<&DeliveryRule> {
    let pick =
        |u: bool| -> Vec<&DeliveryRule> { rules.iter().filter(|r| r.urgent == u && r.when.covers(open)).collect() };
    let chosen = pick(urgent);
    if chosen.is_empty() && urgent && !rules.iter().any(|r| r.urgent) { pick(false) } else { chosen }
}

/// What makes a message suggested urgent, besides the operator's judgment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UrgencyRules {
    /// When the brand's urgent words (Settings -> Brands) in an answer make it urgent; `None`:
    /// never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<Period>,
    /// Every message taken after hours is urgent.
    #[serde(default)]
    pub after_hours: bool,
}

/// Why the rules suggest `urgent` for a message (`said "no heat"`, `after hours`), or `None`.
pub fn suggest(rules: &UrgencyRules, words: &UrgentWords, answers: &[&str], open: bool) -> Option<String> {
    if rules.words.is_some_and(|p| p.covers(open))
        && let Some(found) = answers.iter().find_map(|a| words.first_in(a))
    {
        return Some(format!("the caller said \"{found}\""));
    }
    if rules.after_hours && !open {
        return Some("taken after hours".into());
    }
    None
}

/// Whether the client is open at `at`: within its working hours, on a day that is not one of
/// its holidays.
pub fn is_open(hours: &WorkingHours, holidays: &[Date], zone: &TimeZone, at: Timestamp) -> bool {
    let date = at.to_zoned(zone.clone()).date();
    !holidays.contains(&date) && hours.is_open_at(at, zone)
}

/// The recap instants on a local `date`, one per time (a time in a skipped hour is read as
/// the same clock time after the change; in a repeated hour, the first of the two).
fn recaps_on<'a>(times: &'a [Time], zone: &'a TimeZone, date: Date) -> impl Iterator<Item = Timestamp> + 'a {
    times
        .iter()
        .filter_map(move |t| zone.to_ambiguous_zoned(date.to_datetime(*t)).compatible().ok())
        .map(|z| z.timestamp())
}

/// The recap a message taken at `after` goes out in: the first of `times` (local, in `zone`)
/// strictly later than `after`. `None` without recap times.
pub fn next_recap(times: &[Time], zone: &TimeZone, after: Timestamp) -> Option<Timestamp> {
    let mut date = after.to_zoned(zone.clone()).date();
    // Two days always hold a later recap time; a third covers a zone's skipped day.
    for _ in 0..3 {
        if let Some(at) = recaps_on(times, zone, date).filter(|at| *at > after).min() {
            return Some(at);
        }
        date = date.tomorrow().ok()?;
    }
    None
}

/// The recap before the one at `at` (where its messages start): the latest recap instant
/// earlier than `at`.
pub fn previous_recap(times: &[Time], zone: &TimeZone, at: Timestamp) -> Option<Timestamp> {
    let mut date = at.to_zoned(zone.clone()).date();
    for _ in 0..3 {
        if let Some(before) = recaps_on(times, zone, date).filter(|s| *s < at).max() {
            return Some(before);
        }
        date = date.yesterday().ok()?;
    }
    None
}

/// Reads recap times typed one per line or separated by commas (`8:00 AM, 6 pm`), sorted.
pub fn read_recap_times(raw: &str) -> Result<Vec<Time>, String> {
    let mut times: Vec<Time> = Vec::new();
    for t in raw.split([',', '\n', ';']).map(str::trim).filter(|t| !t.is_empty()) {
        let time = crate::tenancy::hours::read_time(t).ok_or_else(|| format!("\"{t}\" is not a time like 8:00 AM"))?;
        if !times.contains(&time) {
            times.push(time);
        }
    }
    if times.len() > RECAP_TIMES_MAX {
        return Err(format!("use at most {RECAP_TIMES_MAX} recap times a day"));
    }
    times.sort();
    Ok(times)
}

/// Reads holidays typed one per line or separated by commas as `2026-12-25`, sorted.
pub fn read_holidays(raw: &str) -> Result<Vec<Date>, String> {
    let mut days: Vec<Date> = Vec::new();
    for d in raw.split([',', '\n', ';']).map(str::trim).filter(|d| !d.is_empty()) {
        let date: Date = d.parse().map_err(|_| format!("\"{d}\" is not a date like 2026-12-25"))?;
        if !days.contains(&date) {
            days.push(date);
        }
    }
    if days.len() > HOLIDAYS_MAX {
        return Err(format!("use at most {HOLIDAYS_MAX} holidays"));
    }
    days.sort();
    Ok(days)
}

/// `8:00 AM`.
pub fn time_label(t: Time) -> String {
    t.strftime("%-I:%M %p").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn at(s: &str, tz: &str) -> Timestamp {
        s.parse::<jiff::civil::DateTime>().unwrap().to_zoned(zone(tz)).unwrap().timestamp()
    }

    fn local(t: Timestamp, tz: &str) -> String {
        t.to_zoned(zone(tz)).strftime("%Y-%m-%d %H:%M %Z").to_string()
    }

    fn rule(urgent: bool, when: Period, method: Method) -> DeliveryRule {
        DeliveryRule { urgent, when, method, contacts: vec![1] }
    }

    #[test]
    fn the_recap_stays_at_eight_on_the_clock_across_daylight_saving() {
        let eight = [time(8, 0, 0, 0)];
        // Denver springs forward on 2026-03-08 at 2:00 AM and falls back on 2026-11-01.
        let denver = zone("America/Denver");
        let before_spring = next_recap(&eight, &denver, at("2026-03-07T21:00", "America/Denver")).unwrap();
        assert_eq!(local(before_spring, "America/Denver"), "2026-03-08 08:00 MDT");
        let after_fall = next_recap(&eight, &denver, at("2026-10-31T21:00", "America/Denver")).unwrap();
        assert_eq!(local(after_fall, "America/Denver"), "2026-11-01 08:00 MST");
        // The period across the change is 23 hours in spring and 25 in autumn, and its start is
        // the previous recap: no message falls between two recaps or in both.
        let prev = previous_recap(&eight, &denver, before_spring).unwrap();
        assert_eq!(local(prev, "America/Denver"), "2026-03-07 08:00 MST");
        assert_eq!(before_spring.duration_since(prev).as_hours(), 23);
        let prev = previous_recap(&eight, &denver, after_fall).unwrap();
        assert_eq!(after_fall.duration_since(prev).as_hours(), 25);
        // Berlin changes on other dates (2026-03-29, 2026-10-25).
        let berlin = zone("Europe/Berlin");
        let r = next_recap(&eight, &berlin, at("2026-03-29T07:59", "Europe/Berlin")).unwrap();
        assert_eq!(local(r, "Europe/Berlin"), "2026-03-29 08:00 CEST");
        let r = next_recap(&eight, &berlin, at("2026-10-25T08:00", "Europe/Berlin")).unwrap();
        assert_eq!(local(r, "Europe/Berlin"), "2026-10-26 08:00 CET", "a message at 8:00 sharp waits for tomorrow");
    }

    #[test]
    fn every_instant_belongs_to_exactly_one_recap_through_a_change() {
        let times = [time(8, 0, 0, 0), time(18, 0, 0, 0)];
        let ny = zone("America/New_York");
        // Every 7 minutes from two days before to two days after the autumn change.
        let mut t = at("2026-10-30T00:00", "America/New_York");
        let end = at("2026-11-03T00:00", "America/New_York");
        let mut recaps: Vec<Timestamp> = Vec::new();
        while t < end {
            let r = next_recap(&times, &ny, t).unwrap();
            let p = previous_recap(&times, &ny, r).unwrap();
            assert!(p <= t && t < r, "{t} is in ({p}, {r}]");
            if recaps.last() != Some(&r) {
                recaps.push(r);
            }
            t += jiff::SignedDuration::from_mins(7);
        }
        let labels: Vec<String> = recaps.iter().map(|r| local(*r, "America/New_York")).collect();
        assert_eq!(
            labels,
            [
                "2026-10-30 08:00 EDT",
                "2026-10-30 18:00 EDT",
                "2026-10-31 08:00 EDT",
                "2026-10-31 18:00 EDT",
                "2026-11-01 08:00 EST",
                "2026-11-01 18:00 EST",
                "2026-11-02 08:00 EST",
                "2026-11-02 18:00 EST",
                "2026-11-03 08:00 EST",
            ]
        );
    }

    #[test]
    fn a_recap_time_in_a_skipped_or_repeated_hour_resolves_one_way() {
        let half_two = [time(2, 30, 0, 0)];
        let ny = zone("America/New_York");
        // 2:30 AM does not exist on 2026-03-08: it is read as 3:30 AM EDT.
        let r = next_recap(&half_two, &ny, at("2026-03-07T12:00", "America/New_York")).unwrap();
        assert_eq!(local(r, "America/New_York"), "2026-03-08 03:30 EDT");
        // 1:30 AM happens twice on 2026-11-01: the first one.
        let r = next_recap(&[time(1, 30, 0, 0)], &ny, at("2026-10-31T12:00", "America/New_York")).unwrap();
        assert_eq!(local(r, "America/New_York"), "2026-11-01 01:30 EDT");
        assert_eq!(next_recap(&[], &ny, r), None);
    }

    #[test]
    fn business_hours_follow_the_brand_and_holidays_close_the_day() {
        let hours =
            WorkingHours::parse("mon 08:00-17:00\ntue 08:00-17:00\nwed 08:00-17:00\nthu 08:00-17:00\nfri 08:00-17:00")
                .unwrap();
        let tz = zone("America/Chicago");
        let christmas = [date(2026, 12, 25)];
        assert!(is_open(&hours, &christmas, &tz, at("2026-12-24T16:59", "America/Chicago")));
        assert!(!is_open(&hours, &christmas, &tz, at("2026-12-24T17:00", "America/Chicago")));
        assert!(!is_open(&hours, &christmas, &tz, at("2026-12-25T10:00", "America/Chicago")), "a holiday");
        assert!(!is_open(&hours, &christmas, &tz, at("2026-12-26T10:00", "America/Chicago")), "a Saturday");
        assert!(is_open(&hours, &[], &tz, at("2026-12-25T10:00", "America/Chicago")));
    }

    #[test]
    fn the_rules_suggest_urgency_with_a_reason() {
        let words = UrgentWords::default();
        let answers = ["Dana Ruiz", "Basement is flooding"];
        let by_words = UrgencyRules { words: Some(Period::Always), after_hours: false };
        assert_eq!(suggest(&by_words, &words, &answers, true).as_deref(), Some("the caller said \"flooding\""));
        let only_after = UrgencyRules { words: Some(Period::AfterHours), after_hours: false };
        assert_eq!(suggest(&only_after, &words, &answers, true), None);
        assert_eq!(suggest(&only_after, &words, &answers, false).as_deref(), Some("the caller said \"flooding\""));
        let nights = UrgencyRules { words: None, after_hours: true };
        assert_eq!(suggest(&nights, &words, &["Call me back"], false).as_deref(), Some("taken after hours"));
        assert_eq!(suggest(&nights, &words, &answers, true), None);
        assert_eq!(suggest(&UrgencyRules::default(), &words, &answers, false), None);
    }

    #[test]
    fn a_message_follows_the_rules_for_its_urgency_and_period() {
        let rules = vec![
            rule(false, Period::BusinessHours, Method::Email),
            rule(false, Period::AfterHours, Method::Recap),
            rule(false, Period::Always, Method::Text),
        ];
        let methods = |urgent, open| matching(&rules, urgent, open).iter().map(|r| r.method).collect::<Vec<_>>();
        assert_eq!(methods(false, true), [Method::Email, Method::Text]);
        assert_eq!(methods(false, false), [Method::Recap, Method::Text]);
        assert_eq!(methods(true, false), [Method::Recap, Method::Text], "no urgent rule: the routine ones");
        let mut with_urgent = rules.clone();
        with_urgent.push(rule(true, Period::Always, Method::EmailAndText));
        assert_eq!(matching(&with_urgent, true, true).len(), 1);
        assert!(matching(&with_urgent[3..], false, true).is_empty(), "nothing routine: held for check-in");
    }

    #[test]
    fn rules_are_refused_rule_by_rule() {
        let known = |c: i64| c == 7 || c == 8;
        let mut v = Validator::new();
        let inputs = vec![
            DeliveryRuleInput { urgent: false, when: "".into(), method: "email".into(), contacts: vec![7, 7, 8] },
            DeliveryRuleInput { urgent: false, when: "nights".into(), method: "pigeon".into(), contacts: vec![] },
            DeliveryRuleInput { urgent: true, when: "after_hours".into(), method: "text".into(), contacts: vec![] },
            DeliveryRuleInput { urgent: false, when: "always".into(), method: "recap".into(), contacts: vec![9] },
            DeliveryRuleInput { urgent: false, when: "always".into(), method: "check_in".into(), contacts: vec![7] },
        ];
        let rules = check_rules(&inputs, "caller_types.1.deliveries", &known, &mut v);
        assert_eq!(rules[0].contacts, [7, 8], "a recipient named twice is one");
        assert_eq!(rules.last().unwrap().contacts, Vec::<i64>::new(), "check-in goes to nobody");
        let Err(crate::Error::Invalid(errors)) = v.finish() else { panic!("refused") };
        let got: Vec<(String, String)> = errors.into_iter().map(|e| (e.field.to_string(), e.message)).collect();
        assert_eq!(
            got,
            [
                (
                    "caller_types.1.deliveries.2.when",
                    "\"nights\" is not a time of day (always, business_hours, after_hours)"
                ),
                (
                    "caller_types.1.deliveries.2.method",
                    "\"pigeon\" is not a way to deliver a message (email, text, email_and_text, secure, recap, check_in, pager, fax)"
                ),
                ("caller_types.1.deliveries.3.contacts", "pick who receives it"),
                ("caller_types.1.deliveries.4.contacts", "contact 9 is not one of this client's contacts"),
            ]
            .map(|(f, m)| (f.to_string(), m.to_string()))
        );
    }

    #[test]
    fn recap_times_and_holidays_are_read_as_typed() {
        assert_eq!(read_recap_times("6 pm, 8:00 AM\n8am").unwrap(), [time(8, 0, 0, 0), time(18, 0, 0, 0)]);
        assert_eq!(read_recap_times("").unwrap(), Vec::<Time>::new());
        assert_eq!(read_recap_times("noon").unwrap_err(), "\"noon\" is not a time like 8:00 AM");
        assert_eq!(read_recap_times("1am,2am,3am,4am,5am").unwrap_err(), "use at most 4 recap times a day");
        assert_eq!(read_holidays("2026-12-25\n2026-01-01").unwrap(), [date(2026, 1, 1), date(2026, 12, 25)]);
        assert_eq!(read_holidays("Dec 25").unwrap_err(), "\"Dec 25\" is not a date like 2026-12-25");
        assert_eq!(time_label(time(18, 0, 0, 0)), "6:00 PM");
    }
}
