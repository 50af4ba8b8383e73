//! Calendar feeds (RFC 5545) of on-call shifts at a private, revocable URL (a capability link
//! of scope `calendar`): a schedule's, or one person's on it. One event per shift a person is
//! on call (a rotation's shift, with the overrides and swaps that touch it merged in), from 30
//! days back to 90 ahead, in UTC so every calendar program places it right; UIDs come from
//! the schedule, the person and the start, so a program that polls again updates what it has
//! instead of adding copies. A shift under way 30 days back keeps its own start (the feed looks
//! a shift further back for it), so its UID does not move from one poll to the next.

use jiff::{SignedDuration, Timestamp};

use super::timeline::timeline;
use super::{Member, Reason, Schedule};
use crate::Result;
use crate::clock::Clock;
use crate::db::Db;
use crate::ids::OrgId;
use crate::links::{self, NewLink, Scope};

/// How far back and ahead a feed reaches.
pub const DAYS_BACK: i64 = 30;
pub const DAYS_AHEAD: i64 = 90;

impl Member {
    /// How a feed link names whose shifts it shows: a sign-in's id, a contact's negated.
    pub fn link_id(self) -> i64 {
        match self {
            Member::User(id) => id,
            Member::Contact(id) => -id,
        }
    }
    pub fn from_link_id(id: i64) -> Member {
        if id < 0 { Member::Contact(-id) } else { Member::User(id) }
    }
}

/// Each person's shifts on call within `[from, to)`, by start: touching stretches of one
/// person are merged, except where their rotation hands one shift over to the next (a person
/// on call day after day has an event a day, or a week for weekly shifts).
pub fn shifts(
    schedule: &Schedule,
    from: Timestamp,
    to: Timestamp,
    only: Option<Member>,
) -> Vec<(Member, Timestamp, Timestamp)> {
    on_call_spans(schedule, from, to, only, true)
}

/// Each person's stretches on call within `[from, to)`, by start, touching ones merged even
/// across their own shifts: how long someone stays on call.
pub fn stretches(
    schedule: &Schedule,
    from: Timestamp,
    to: Timestamp,
    only: Option<Member>,
) -> Vec<(Member, Timestamp, Timestamp)> {
    on_call_spans(schedule, from, to, only, false)
}

fn on_call_spans(
    schedule: &Schedule,
    from: Timestamp,
    to: Timestamp,
    only: Option<Member>,
    per_shift: bool,
) -> Vec<(Member, Timestamp, Timestamp)> {
    // (who, from, until, the rotation shift it is, if any yet).
    type Open = (Member, Timestamp, Timestamp, Option<(usize, i64)>);
    let mut open: Vec<Open> = Vec::new();
    let mut done = Vec::new();
    for segment in timeline(schedule, from, to) {
        let on: Vec<(Member, Option<(usize, i64)>)> = segment
            .on_call
            .iter()
            .filter(|(m, _)| only.is_none_or(|o| o == *m))
            .map(|(m, r)| {
                let shift = match r {
                    Reason::Layer { layer, shift } if per_shift => Some((*layer, *shift)),
                    _ => None,
                };
                (*m, shift)
            })
            .collect();
        // Whoever is no longer on call, or is on by their rotation's next shift, ends their
        // stretch where this segment begins.
        let (still, ended): (Vec<_>, Vec<_>) = open.into_iter().partition(|(m, _, end, shift)| {
            *end == segment.start && on.iter().any(|(x, s)| x == m && (s.is_none() || shift.is_none() || s == shift))
        });
        done.extend(ended.into_iter().map(|(m, a, b, _)| (m, a, b)));
        open = still;
        for (m, shift) in on {
            match open.iter_mut().find(|(x, _, _, _)| *x == m) {
                Some(stretch) => {
                    stretch.2 = segment.end;
                    stretch.3 = stretch.3.or(shift);
                }
                None => open.push((m, segment.start, segment.end, shift)),
            }
        }
    }
    done.extend(open.into_iter().map(|(m, a, b, _)| (m, a, b)));
    done.sort_by_key(|(m, start, _)| (*start, *m));
    done
}

/// The shifts a feed read at `now` shows: those that end after 30 days back and start before
/// 90 days ahead. It looks a longest shift further back, so that a shift under way 30 days
/// back starts where it really began.
pub fn feed_shifts(schedule: &Schedule, now: Timestamp, only: Option<Member>) -> Vec<(Member, Timestamp, Timestamp)> {
    let longest = schedule.layers.iter().map(|l| l.rotation.length.nominal_seconds()).max().unwrap_or(0).max(86_400);
    let back = SignedDuration::from_hours(24 * DAYS_BACK);
    let (Ok(from), Ok(to)) = (now.checked_sub(back), now.checked_add(SignedDuration::from_hours(24 * DAYS_AHEAD)))
    else {
        return Vec::new();
    };
    // A day more than the longest shift: a clock change moves a hand-off by a few hours.
    let Ok(earlier) = from.checked_sub(SignedDuration::from_secs(longest + 86_400)) else { return Vec::new() };
    shifts(schedule, earlier, to, only).into_iter().filter(|(_, _, end)| *end > from).collect()
}

/// One event of a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub uid: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub summary: String,
    pub description: String,
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Text as a property value: backslash, semicolon, comma and line breaks escaped (§3.3.11).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A content line folded at 75 octets (§3.1), never inside a character, ending in CRLF.
fn line(out: &mut String, content: &str) {
    let mut used = 0;
    for c in content.chars() {
        if used + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// The calendar: `name` as the calendar's name, each event in UTC.
pub fn ics(name: &str, events: &[Event], now: Timestamp) -> String {
    let mut out = String::new();
    for l in
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Switchboard//On-call//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    {
        line(&mut out, l);
    }
    line(&mut out, &format!("X-WR-CALNAME:{}", escape(name)));
    for e in events {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}", e.uid));
        line(&mut out, &format!("DTSTAMP:{}", utc(now)));
        line(&mut out, &format!("DTSTART:{}", utc(e.start)));
        line(&mut out, &format!("DTEND:{}", utc(e.end)));
        line(&mut out, &format!("SUMMARY:{}", escape(&e.summary)));
        line(&mut out, &format!("DESCRIPTION:{}", escape(&e.description)));
        line(&mut out, "TRANSP:OPAQUE");
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

/// A new feed link for the schedule (one person's shifts with `only`); returns the token.
pub async fn issue(db: &Db, clock: &dyn Clock, org: OrgId, schedule: i64, only: Option<Member>) -> Result<String> {
    super::store::get(db, org, schedule).await?;
    let mut tx = db.begin().await?;
    let link =
        NewLink { scope: Scope::Calendar, subject: schedule, about: only.map(Member::link_id), expires_at: None };
    let token = links::issue_in(&mut tx, clock, org, &link).await?;
    tx.commit().await?;
    Ok(token)
}

/// Whose feed links to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feeds {
    /// Every feed link of the schedule.
    All,
    /// The whole schedule's (everyone's shifts).
    Everyone,
    /// One person's.
    Of(Member),
}

/// Stops the schedule's feed links `which`; returns how many worked until now.
pub async fn revoke(db: &Db, clock: &dyn Clock, org: OrgId, schedule: i64, which: Feeds) -> Result<u64> {
    super::store::get(db, org, schedule).await?;
    let mut tx = db.begin().await?;
    let n = match which {
        Feeds::All => links::revoke_subject_in(&mut tx, clock, org, Scope::Calendar, schedule).await?,
        Feeds::Everyone => links::revoke_about_in(&mut tx, clock, org, Scope::Calendar, schedule, None).await?,
        Feeds::Of(m) => {
            links::revoke_about_in(&mut tx, clock, org, Scope::Calendar, schedule, Some(m.link_id())).await?
        }
    };
    tx.commit().await?;
    Ok(n)
}

/// The feed a token opens, as of the clock's now: (calendar name, the iCalendar text).
/// `NotFound` for any link that does not work. `host` goes into the UIDs.
pub async fn render(db: &Db, clock: &dyn Clock, token: &str, host: &str) -> Result<(String, String)> {
    let link = links::check(db, clock, Scope::Calendar, token).await?;
    let stored = super::store::get(db, link.org, link.subject).await?;
    let client = crate::tenancy::brand(db, link.org, stored.brand_id).await?;
    let only = link.about.map(Member::from_link_id);
    let now = clock.now();
    let stretches = feed_shifts(&stored.schedule(), now, only);
    let members: Vec<Member> = stretches.iter().map(|(m, _, _)| *m).chain(only).collect();
    let names = super::store::names(db, link.org, &members).await?;
    let name_of = |m: Member| names.iter().find(|(x, _)| *x == m).map(|(_, n)| n.clone()).unwrap_or_default();
    let calendar = match only {
        Some(m) => format!("{}: {} on call", stored.name, name_of(m)),
        None => format!("{} on call ({})", stored.name, client.name),
    };
    let events: Vec<Event> = stretches
        .into_iter()
        .map(|(m, start, end)| Event {
            uid: format!("oncall-{}-{}-{}@{host}", stored.id, m.to_string().replace(':', "-"), start.as_second()),
            start,
            end,
            summary: match only {
                Some(_) => format!("On call: {}", stored.name),
                None => format!("{} on call", name_of(m)),
            },
            description: format!("{}, {}: {} is on call.", client.name, stored.name, name_of(m)),
        })
        .collect();
    let text = ics(&calendar, &events, now);
    Ok((calendar, text))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::oncall::{Change, Layer, Override, Rotation, ShiftLength};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_persons_stretches_merge_across_reasons_and_end_where_someone_else_takes_over() {
        let (a, b) = (Member::User(1), Member::Contact(2));
        let s = Schedule {
            zone: jiff::tz::TimeZone::get("America/New_York").unwrap(),
            layers: vec![Layer {
                name: "Nights".into(),
                rotation: Rotation {
                    members: vec![a, b],
                    length: ShiftLength::Days(1),
                    start: "2026-11-02T17:00".parse().unwrap(),
                },
                windows: Vec::new(),
            }],
            swaps: Vec::new(),
            // A adds themselves to B's first hour: one stretch for A, from their own shift on.
            overrides: vec![Override {
                id: 1,
                start: t("2026-11-03T22:00:00Z"),
                end: t("2026-11-03T23:00:00Z"),
                change: Change::Add { who: a },
            }],
        };
        assert_eq!(
            shifts(&s, t("2026-11-02T22:00:00Z"), t("2026-11-04T22:00:00Z"), None),
            vec![
                (a, t("2026-11-02T22:00:00Z"), t("2026-11-03T23:00:00Z")),
                (b, t("2026-11-03T22:00:00Z"), t("2026-11-04T22:00:00Z")),
            ]
        );
        assert_eq!(shifts(&s, t("2026-11-02T22:00:00Z"), t("2026-11-04T22:00:00Z"), Some(b)).len(), 1);
        assert_eq!(Member::from_link_id(b.link_id()), b);
        assert_eq!(Member::from_link_id(a.link_id()), a);
    }

    #[test]
    fn someone_always_on_call_has_an_event_per_shift_whose_start_does_not_move_between_polls() {
        // A solo lawyer on call around the clock, weekly shifts from Monday 9:00 in New York.
        let a = Member::User(1);
        let s = Schedule {
            zone: jiff::tz::TimeZone::get("America/New_York").unwrap(),
            layers: vec![Layer {
                name: "Always".into(),
                rotation: Rotation {
                    members: vec![a],
                    length: ShiftLength::Weeks(1),
                    start: "2026-01-05T09:00".parse().unwrap(),
                },
                windows: Vec::new(),
            }],
            swaps: Vec::new(),
            overrides: Vec::new(),
        };
        let first = feed_shifts(&s, t("2026-11-22T15:00:00Z"), None);
        // Read a day and a half later: the same shifts, by the same starts, one more at the end.
        let later = feed_shifts(&s, t("2026-11-24T03:30:00Z"), None);
        // The shift under way 30 days back (Mon Oct 19, 9:00 EDT) starts where it began.
        assert_eq!(first[0], (a, t("2026-10-19T13:00:00Z"), t("2026-10-26T13:00:00Z")));
        assert_eq!(later[0], first[0]);
        // Each week is its own event: 9:00 AM local on both sides of the clock change (Nov 1).
        assert_eq!(first[1], (a, t("2026-10-26T13:00:00Z"), t("2026-11-02T14:00:00Z")));
        assert_eq!(first[2].1, t("2026-11-02T14:00:00Z"));
        assert!(
            first.iter().all(|(_, start, end)| end.duration_since(*start) <= SignedDuration::from_hours(7 * 24 + 1))
        );
        assert_eq!(&later[..first.len() - 1], &first[..first.len() - 1]);
        // Ninety days ahead is cut at the window's end, and keeps its start.
        assert_eq!(first.last().unwrap().2, t("2027-02-20T15:00:00Z"));
    }

    #[test]
    fn the_calendar_is_utc_escaped_and_folded_with_crlf() {
        let e = Event {
            uid: "oncall-4-user-1-1793829600@switchboard.example".into(),
            start: t("2026-11-03T22:00:00Z"),
            end: t("2026-11-04T13:00:00Z"),
            summary: "On call: Nights; Harbor, Boston".into(),
            description:
                "Harbor Plumbing & Drain, After-hours technicians: Ana Müller-Lüdenscheidt is on call for the night."
                    .into(),
        };
        let text = ics("Nights", &[e], t("2026-11-01T12:00:00Z"));
        assert_eq!(
            text,
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Switchboard//On-call//EN\r\nCALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\n\
             X-WR-CALNAME:Nights\r\nBEGIN:VEVENT\r\nUID:oncall-4-user-1-1793829600@switchboard.example\r\n\
             DTSTAMP:20261101T120000Z\r\nDTSTART:20261103T220000Z\r\nDTEND:20261104T130000Z\r\n\
             SUMMARY:On call: Nights\\; Harbor\\, Boston\r\n\
             DESCRIPTION:Harbor Plumbing & Drain\\, After-hours technicians: Ana Müller-\r\n Lüdenscheidt is on call for the night.\r\n\
             TRANSP:OPAQUE\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        // The first line of the description is exactly 75 octets (ü is two).
        assert!(text.split("\r\n").all(|l| l.len() <= 75), "no line over 75 octets");
        assert!(text.split("\r\n").any(|l| l.len() == 75));
    }
}
