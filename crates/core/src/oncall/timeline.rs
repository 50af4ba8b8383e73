//! Resolution: the final schedule over a range ([`timeline`]), who is on call at an instant
//! with since when and until when ([`on_call`]), and the coverage of a range ([`coverage`]).
//! Pure functions of the schedule; nothing is stored ahead.
//!
//! Order of precedence for each instant: the last layer with someone on (a rotation before its
//! start covers nothing), then accepted swaps, then overrides in the order they were made.

use jiff::{SignedDuration, Span, Timestamp};

use super::{Change, Layer, Member, Reason, Rotation, Schedule, ShiftLength, Window};

/// A stretch of the final schedule: who is on call from `start` to `end`, and why. Empty:
/// nobody (a gap).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Segment {
    pub start: Timestamp,
    pub end: Timestamp,
    pub on_call: Vec<(Member, Reason)>,
}

/// Who is on call at an instant. `since` and `until` are `None` when the same holds for more
/// than [`HORIZON_DAYS`] that way.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OnCall {
    pub on_call: Vec<(Member, Reason)>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// How far [`on_call`] looks for the start and end of what holds now.
pub const HORIZON_DAYS: i64 = 400;

/// A local date and time in `zone`, by the module's rule for times that do not exist or
/// happen twice (see the module docs of [`super`]).
fn local(zone: &jiff::tz::TimeZone, dt: jiff::civil::DateTime) -> Option<Timestamp> {
    zone.to_ambiguous_zoned(dt).compatible().ok().map(|z| z.timestamp())
}

impl Rotation {
    /// When shift `k` begins.
    fn boundary(&self, zone: &jiff::tz::TimeZone, k: i64) -> Option<Timestamp> {
        let days =
            |n: u32| self.start.checked_add(Span::new().try_days(k.checked_mul(i64::from(n.max(1)))?).ok()?).ok();
        match self.length {
            ShiftLength::Hours(h) => local(zone, self.start)?
                .checked_add(SignedDuration::from_hours(k.checked_mul(i64::from(h.max(1)))?))
                .ok(),
            ShiftLength::Days(d) => local(zone, days(d)?),
            ShiftLength::Weeks(w) => local(zone, days(w.checked_mul(7)?)?),
        }
    }

    /// The shift holding `t` (negative before the rotation starts).
    fn shift_at(&self, zone: &jiff::tz::TimeZone, t: Timestamp) -> Option<i64> {
        let base = local(zone, self.start)?;
        let mut k = (t.as_second() - base.as_second()).div_euclid(self.length.nominal_seconds());
        // A clock change moves a boundary by at most a few hours: one step either way is enough,
        // and a few more cost nothing.
        for _ in 0..8 {
            if self.boundary(zone, k)? > t {
                k -= 1;
            } else if self.boundary(zone, k + 1)? <= t {
                k += 1;
            } else {
                return Some(k);
            }
        }
        Some(k)
    }

    fn member(&self, k: i64) -> Option<Member> {
        let n = i64::try_from(self.members.len()).ok().filter(|n| *n > 0)?;
        self.members.get(usize::try_from(k.rem_euclid(n)).ok()?).copied()
    }
}

/// The stretches of `[from, to)` inside the windows, in order, merged where they touch.
fn window_spans(
    zone: &jiff::tz::TimeZone,
    windows: &[Window],
    from: Timestamp,
    to: Timestamp,
) -> Vec<(Timestamp, Timestamp)> {
    let mut spans = Vec::new();
    let (Some(first), Some(last)) =
        (from.to_zoned(zone.clone()).date().yesterday().ok(), Some(to.to_zoned(zone.clone()).date()))
    else {
        return spans;
    };
    let mut day = first;
    while day <= last {
        for w in windows.iter().filter(|w| w.days.contains(&day.weekday())) {
            let end_day = if w.end <= w.start { day.tomorrow().ok() } else { Some(day) };
            let (Some(s), Some(e)) =
                (local(zone, day.to_datetime(w.start)), end_day.and_then(|d| local(zone, d.to_datetime(w.end))))
            else {
                continue;
            };
            let (s, e) = (s.max(from), e.min(to));
            if s < e {
                spans.push((s, e));
            }
        }
        match day.tomorrow() {
            Ok(d) => day = d,
            Err(_) => break,
        }
    }
    spans.sort();
    let mut merged: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// One layer's turns within `[from, to)`: (start, end, who, shift), in order.
fn layer_turns(
    zone: &jiff::tz::TimeZone,
    layer: &Layer,
    from: Timestamp,
    to: Timestamp,
) -> Vec<(Timestamp, Timestamp, Member, i64)> {
    let mut turns = Vec::new();
    let rotation = &layer.rotation;
    let Some(begins) = local(zone, rotation.start) else { return turns };
    let from = from.max(begins);
    if rotation.members.is_empty() || from >= to {
        return turns;
    }
    let Some(mut k) = rotation.shift_at(zone, from) else { return turns };
    while let (Some(s), Some(e), Some(who)) =
        (rotation.boundary(zone, k), rotation.boundary(zone, k + 1), rotation.member(k))
    {
        if s >= to {
            break;
        }
        let (s, e) = (s.max(from), e.min(to));
        if s < e {
            turns.push((s, e, who, k));
        }
        k += 1;
    }
    if layer.windows.is_empty() {
        return turns;
    }
    let spans = window_spans(zone, &layer.windows, from, to);
    let mut within = Vec::new();
    for (s, e, who, k) in turns {
        for (ws, we) in spans.iter().filter(|(ws, we)| *ws < e && *we > s) {
            within.push((s.max(*ws), e.min(*we), who, k));
        }
    }
    within
}

/// The final schedule over `[from, to)`: consecutive segments covering the whole range, merged
/// where the same people are on for the same reasons.
pub fn timeline(schedule: &Schedule, from: Timestamp, to: Timestamp) -> Vec<Segment> {
    if from >= to {
        return Vec::new();
    }
    let zone = &schedule.zone;
    let layers: Vec<Vec<(Timestamp, Timestamp, Member, i64)>> =
        schedule.layers.iter().map(|l| layer_turns(zone, l, from, to)).collect();
    let swaps: Vec<_> = schedule.swaps.iter().filter(|s| s.start < to && s.end > from && s.start < s.end).collect();
    let overrides: Vec<_> =
        schedule.overrides.iter().filter(|o| o.start < to && o.end > from && o.start < o.end).collect();

    let mut points = vec![from, to];
    for turns in &layers {
        for (s, e, _, _) in turns {
            points.extend([*s, *e]);
        }
    }
    points.extend(swaps.iter().flat_map(|s| [s.start, s.end]));
    points.extend(overrides.iter().flat_map(|o| [o.start, o.end]));
    points.retain(|p| *p >= from && *p <= to);
    points.sort();
    points.dedup();

    let mut cursors = vec![0usize; layers.len()];
    let mut segments: Vec<Segment> = Vec::new();
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        // The last layer with someone on at `a`.
        let mut on: Vec<(Member, Reason)> = Vec::new();
        for (i, turns) in layers.iter().enumerate() {
            while cursors[i] < turns.len() && turns[cursors[i]].1 <= a {
                cursors[i] += 1;
            }
            if let Some((s, _, who, k)) = turns.get(cursors[i])
                && *s <= a
            {
                on = vec![(*who, Reason::Layer { layer: i, shift: *k })];
            }
        }
        for swap in swaps.iter().filter(|s| s.start <= a && a < s.end) {
            for entry in on.iter_mut().filter(|(who, _)| *who == swap.from) {
                *entry = (swap.to, Reason::Swap { id: swap.id });
            }
        }
        for o in overrides.iter().filter(|o| o.start <= a && a < o.end) {
            let why = Reason::Override { id: o.id };
            match o.change {
                Change::Replace { from: Some(f), to } => {
                    for entry in on.iter_mut().filter(|(who, _)| *who == f) {
                        *entry = (to, why);
                    }
                }
                Change::Replace { from: None, to } => on = vec![(to, why)],
                Change::Add { who } => {
                    if !on.iter().any(|(m, _)| *m == who) {
                        on.push((who, why));
                    }
                }
                Change::Remove { who } => on.retain(|(m, _)| *m != who),
            }
        }
        let mut seen = Vec::with_capacity(on.len());
        on.retain(|(m, _)| {
            let first = !seen.contains(m);
            seen.push(*m);
            first
        });
        match segments.last_mut() {
            Some(last) if last.end == a && last.on_call == on => last.end = b,
            _ => segments.push(Segment { start: a, end: b, on_call: on }),
        }
    }
    segments
}

/// Who is on call at `at`, since when and until when.
pub fn on_call(schedule: &Schedule, at: Timestamp) -> OnCall {
    let mut found = OnCall { on_call: Vec::new(), since: None, until: None };
    for days in [1, 8, 40, HORIZON_DAYS] {
        let reach = SignedDuration::from_hours(24 * days);
        let (Ok(from), Ok(to)) = (at.checked_sub(reach), at.checked_add(reach)) else { break };
        let Some(segment) = timeline(schedule, from, to).into_iter().find(|s| s.start <= at && at < s.end) else {
            break;
        };
        found = OnCall {
            since: (segment.start > from).then_some(segment.start),
            until: (segment.end < to).then_some(segment.end),
            on_call: segment.on_call,
        };
        if found.since.is_some() && found.until.is_some() {
            break;
        }
    }
    found
}

/// Who covers `[from, to)` and what is left uncovered.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Coverage {
    /// Stretches with nobody on call.
    pub gaps: Vec<(Timestamp, Timestamp)>,
    /// Hours on call per person, most first (then by who).
    pub hours: Vec<(Member, f64)>,
}

pub fn coverage(schedule: &Schedule, from: Timestamp, to: Timestamp) -> Coverage {
    let mut gaps: Vec<(Timestamp, Timestamp)> = Vec::new();
    let mut hours: Vec<(Member, f64)> = Vec::new();
    for s in timeline(schedule, from, to) {
        if s.on_call.is_empty() {
            match gaps.last_mut() {
                Some(g) if g.1 == s.start => g.1 = s.end,
                _ => gaps.push((s.start, s.end)),
            }
        }
        let h = s.end.duration_since(s.start).as_secs_f64() / 3600.0;
        for (who, _) in &s.on_call {
            match hours.iter_mut().find(|(m, _)| m == who) {
                Some(entry) => entry.1 += h,
                None => hours.push((*who, h)),
            }
        }
    }
    hours.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Coverage { gaps, hours }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::oncall::{Override, Swap};
    use jiff::civil::{Time, Weekday};
    use jiff::tz::TimeZone;

    const A: Member = Member::User(1);
    const B: Member = Member::User(2);
    const C: Member = Member::Contact(3);
    const D: Member = Member::Contact(4);
    const E: Member = Member::User(5);

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn rotation(members: &[Member], length: ShiftLength, start: &str) -> Rotation {
        Rotation { members: members.to_vec(), length, start: start.parse().unwrap() }
    }

    fn one_layer(zone: &str, r: Rotation) -> Schedule {
        Schedule {
            zone: TimeZone::get(zone).unwrap(),
            layers: vec![Layer { name: "Main".into(), rotation: r, windows: Vec::new() }],
            swaps: Vec::new(),
            overrides: Vec::new(),
        }
    }

    /// (who, since, until) at `at`.
    fn who(s: &Schedule, at: &str) -> (Vec<Member>, Option<Timestamp>, Option<Timestamp>) {
        let o = on_call(s, t(at));
        (o.on_call.iter().map(|(m, _)| *m).collect(), o.since, o.until)
    }

    #[test]
    fn a_daily_rotation_hands_off_at_eight_on_both_sides_of_new_yorks_clock_changes() {
        // Spring forward 2026-03-08 02:00 EST -> 03:00 EDT; fall back 2026-11-01 02:00 EDT -> 01:00 EST.
        let s = one_layer("America/New_York", rotation(&[A, B, C], ShiftLength::Days(1), "2026-03-06T08:00"));
        for (at, on, since, until) in [
            // Friday's shift, 08:00 EST = 13:00Z.
            ("2026-03-06T13:00:00Z", A, "2026-03-06T13:00:00Z", "2026-03-07T13:00:00Z"),
            // Saturday's spans the change: 23 hours, to 08:00 EDT = 12:00Z.
            ("2026-03-08T11:59:59Z", B, "2026-03-07T13:00:00Z", "2026-03-08T12:00:00Z"),
            ("2026-03-08T12:00:00Z", C, "2026-03-08T12:00:00Z", "2026-03-09T12:00:00Z"),
            // Shift 239 began Sat 2026-10-31 08:00 EDT (12:00Z): 25 hours, to 08:00 EST (13:00Z).
            ("2026-11-01T12:30:00Z", C, "2026-10-31T12:00:00Z", "2026-11-01T13:00:00Z"),
            ("2026-11-01T13:00:00Z", A, "2026-11-01T13:00:00Z", "2026-11-02T13:00:00Z"),
        ] {
            assert_eq!(who(&s, at), (vec![on], Some(t(since)), Some(t(until))), "at {at}");
        }
        // Before the rotation starts, nobody.
        assert_eq!(who(&s, "2026-03-06T12:59:59Z").0, Vec::<Member>::new());
    }

    #[test]
    fn a_hand_off_in_a_skipped_hour_comes_after_the_change_and_in_a_repeated_hour_the_first_time() {
        // Denver: 2026-03-08 02:00 MST -> 03:00 MDT; 2026-11-01 02:00 MDT -> 01:00 MST.
        let s = one_layer("America/Denver", rotation(&[A, B], ShiftLength::Days(1), "2026-03-06T02:30"));
        // 02:30 on Mar 8 does not exist: the hand-off is at 03:30 MDT (09:30Z), an hour after
        // 02:30 MST would have been.
        assert_eq!(
            who(&s, "2026-03-08T09:29:59Z"),
            (vec![B], Some(t("2026-03-07T09:30:00Z")), Some(t("2026-03-08T09:30:00Z")))
        );
        assert_eq!(who(&s, "2026-03-08T09:30:00Z").0, vec![A]);
        // The next day is 02:30 MDT again (08:30Z): that shift lasts 23 hours.
        assert_eq!(who(&s, "2026-03-09T08:30:00Z").0, vec![B]);
        // 01:30 happens twice on Nov 1; a 01:30 hand-off happens the first time (MDT, 07:30Z).
        let s = one_layer("America/Denver", rotation(&[A, B], ShiftLength::Days(1), "2026-10-30T01:30"));
        assert_eq!(
            who(&s, "2026-11-01T07:30:00Z"),
            (vec![A], Some(t("2026-11-01T07:30:00Z")), Some(t("2026-11-02T08:30:00Z")))
        );
    }

    #[test]
    fn shifts_in_hours_are_exact_and_weekly_ones_keep_their_weekday_and_time() {
        // Sydney leaves daylight time 2026-04-05 03:00 AEDT -> 02:00 AEST. Twelve-hour shifts
        // from Sat 08:00 AEDT (21:00Z Fri) stay twelve hours: the third begins at 07:00 AEST.
        let s = one_layer("Australia/Sydney", rotation(&[A, B], ShiftLength::Hours(12), "2026-04-04T08:00"));
        assert_eq!(
            who(&s, "2026-04-04T21:00:00Z"),
            (vec![A], Some(t("2026-04-04T21:00:00Z")), Some(t("2026-04-05T09:00:00Z")))
        );
        assert_eq!(
            t("2026-04-04T21:00:00Z").to_zoned(TimeZone::get("Australia/Sydney").unwrap()).time(),
            Time::constant(7, 0, 0, 0)
        );
        // Sydney enters daylight time 2026-10-04 02:00 -> 03:00: a daily 09:00 hand-off stays 09:00.
        let s = one_layer("Australia/Sydney", rotation(&[A, B], ShiftLength::Days(1), "2026-10-02T09:00"));
        // Saturday's shift (from 09:00 AEST, 23:00Z) lasts 23 hours, to Sunday 09:00 AEDT (22:00Z).
        assert_eq!(
            who(&s, "2026-10-03T21:59:59Z"),
            (vec![B], Some(t("2026-10-02T23:00:00Z")), Some(t("2026-10-03T22:00:00Z")))
        );
        assert_eq!(
            who(&s, "2026-10-03T23:00:00Z"),
            (vec![A], Some(t("2026-10-03T22:00:00Z")), Some(t("2026-10-04T22:00:00Z")))
        );
        // London: weekly on Monday 09:00; BST begins 2026-03-29 01:00 GMT.
        let s = one_layer("Europe/London", rotation(&[A, B, C], ShiftLength::Weeks(1), "2026-03-23T09:00"));
        assert_eq!(
            who(&s, "2026-03-30T07:59:59Z"),
            (vec![A], Some(t("2026-03-23T09:00:00Z")), Some(t("2026-03-30T08:00:00Z")))
        );
        assert_eq!(who(&s, "2026-04-06T08:00:00Z").0, vec![C]);
        assert_eq!(who(&s, "2026-04-13T08:00:00Z").0, vec![A], "round again after three");
        // BST ends 2026-10-25 02:00 BST -> 01:00 GMT: the week from Mon Oct 19 09:00 BST (08:00Z)
        // lasts seven days and an hour, to Mon Oct 26 09:00 GMT (09:00Z).
        assert_eq!(
            who(&s, "2026-10-26T08:59:59Z"),
            (vec![A], Some(t("2026-10-19T08:00:00Z")), Some(t("2026-10-26T09:00:00Z")))
        );
        assert_eq!(who(&s, "2026-10-26T09:00:00Z").0, vec![B]);
        // A daily 01:30 hand-off in London's repeated hour happens the first time (BST, 00:30Z).
        let s = one_layer("Europe/London", rotation(&[A, B], ShiftLength::Days(1), "2026-10-23T01:30"));
        assert_eq!(
            who(&s, "2026-10-25T00:30:00Z"),
            (vec![A], Some(t("2026-10-25T00:30:00Z")), Some(t("2026-10-26T01:30:00Z")))
        );
        assert_eq!(who(&s, "2026-10-25T00:29:59Z").0, vec![B]);
    }

    #[test]
    fn a_half_hour_zone_and_a_leap_day_keep_the_turns_in_order() {
        // Kolkata is +05:30 all year: 09:00 is 03:30Z. Days of 2028 around Feb 29.
        let s = one_layer("Asia/Kolkata", rotation(&[A, B, C], ShiftLength::Days(1), "2028-02-27T09:00"));
        for (at, on) in [
            ("2028-02-27T03:30:00Z", A),
            ("2028-02-28T03:30:00Z", B),
            ("2028-02-29T03:29:59Z", B),
            ("2028-02-29T03:30:00Z", C),
            ("2028-03-01T03:30:00Z", A),
            // A year on: 2029-02-27 is shift 366 (2028 has 366 days), 366 mod 3 = 0.
            ("2029-02-27T03:30:00Z", A),
        ] {
            assert_eq!(who(&s, at).0, vec![on], "at {at}");
        }
    }

    fn layered() -> Schedule {
        // New York: a weekly business-hours rotation underneath, and after hours (weekdays
        // 17:00-08:00, weekends all day) a daily rotation of two technicians on top.
        let after_hours = vec![
            Window {
                days: Window::WEEKDAYS.to_vec(),
                start: Time::constant(17, 0, 0, 0),
                end: Time::constant(8, 0, 0, 0),
            },
            Window { days: vec![Weekday::Saturday, Weekday::Sunday], start: Time::midnight(), end: Time::midnight() },
        ];
        Schedule {
            zone: TimeZone::get("America/New_York").unwrap(),
            layers: vec![
                Layer {
                    name: "Office".into(),
                    rotation: rotation(&[A, B], ShiftLength::Weeks(1), "2026-11-02T08:00"),
                    windows: Vec::new(),
                },
                Layer {
                    name: "After hours".into(),
                    rotation: rotation(&[C, D], ShiftLength::Days(1), "2026-11-02T17:00"),
                    windows: after_hours,
                },
            ],
            swaps: Vec::new(),
            overrides: Vec::new(),
        }
    }

    #[test]
    fn a_later_layer_takes_over_within_its_windows() {
        let s = layered();
        for (at, on, layer) in [
            // Tue Nov 3 12:00 EST: business hours, the office rotation.
            ("2026-11-03T17:00:00Z", A, 0),
            // Tue 20:00: after hours, Tuesday's technician (the shift from Tue 17:00).
            ("2026-11-04T01:00:00Z", D, 1),
            // Wed 07:59: still Tuesday's night.
            ("2026-11-04T12:59:00Z", D, 1),
            // Wed 08:00: back to the office.
            ("2026-11-04T13:00:00Z", A, 0),
            // Sat Nov 7 noon: the weekend is after hours all day (Friday 17:00's shift ends Sat 17:00).
            ("2026-11-07T17:00:00Z", C, 1),
            ("2026-11-07T22:00:00Z", D, 1),
            // Mon Nov 9 09:00: the office rotation's second week.
            ("2026-11-09T14:00:00Z", B, 0),
        ] {
            let o = on_call(&s, t(at));
            assert_eq!(o.on_call.len(), 1, "at {at}: {o:?}");
            assert_eq!(o.on_call[0].0, on, "at {at}");
            assert!(matches!(o.on_call[0].1, Reason::Layer { layer: l, .. } if l == layer), "at {at}: {o:?}");
        }
        // Hand-offs: Tuesday's office turn ends at 17:00 when the night begins.
        assert_eq!(on_call(&s, t("2026-11-03T17:00:00Z")).until, Some(t("2026-11-03T22:00:00Z")));
    }

    #[test]
    fn overlapping_overrides_apply_in_the_order_they_were_made_and_a_swap_comes_before_them() {
        let mut s = layered();
        // Tuesday 2026-11-03, EST (UTC-5).
        s.swaps =
            vec![Swap { id: 7, start: t("2026-11-03T22:00:00Z"), end: t("2026-11-04T13:00:00Z"), from: D, to: C }];
        s.overrides = vec![
            // 10:00-14:00 someone else covers the office.
            Override {
                id: 1,
                start: t("2026-11-03T15:00:00Z"),
                end: t("2026-11-03T19:00:00Z"),
                change: Change::Replace { from: None, to: E },
            },
            // 12:00-16:00 B joins.
            Override {
                id: 2,
                start: t("2026-11-03T17:00:00Z"),
                end: t("2026-11-03T21:00:00Z"),
                change: Change::Add { who: B },
            },
            // 13:00-13:30 E steps out.
            Override {
                id: 3,
                start: t("2026-11-03T18:00:00Z"),
                end: t("2026-11-03T18:30:00Z"),
                change: Change::Remove { who: E },
            },
            // Inside the swap, 23:00-01:00, C (who took D's night) is replaced by E.
            Override {
                id: 4,
                start: t("2026-11-04T04:00:00Z"),
                end: t("2026-11-04T06:00:00Z"),
                change: Change::Replace { from: Some(C), to: E },
            },
        ];
        let segments: Vec<(String, Vec<(Member, Reason)>)> =
            timeline(&s, t("2026-11-03T14:00:00Z"), t("2026-11-04T14:00:00Z"))
                .into_iter()
                .map(|g| (format!("{}-{}", g.start, g.end), g.on_call))
                .collect();
        let office = |who| (who, Reason::Layer { layer: 0, shift: 0 });
        assert_eq!(
            segments,
            vec![
                ("2026-11-03T14:00:00Z-2026-11-03T15:00:00Z".into(), vec![office(A)]),
                ("2026-11-03T15:00:00Z-2026-11-03T17:00:00Z".into(), vec![(E, Reason::Override { id: 1 })]),
                (
                    "2026-11-03T17:00:00Z-2026-11-03T18:00:00Z".into(),
                    vec![(E, Reason::Override { id: 1 }), (B, Reason::Override { id: 2 })]
                ),
                ("2026-11-03T18:00:00Z-2026-11-03T18:30:00Z".into(), vec![(B, Reason::Override { id: 2 })]),
                (
                    "2026-11-03T18:30:00Z-2026-11-03T19:00:00Z".into(),
                    vec![(E, Reason::Override { id: 1 }), (B, Reason::Override { id: 2 })]
                ),
                ("2026-11-03T19:00:00Z-2026-11-03T21:00:00Z".into(), vec![office(A), (B, Reason::Override { id: 2 })]),
                ("2026-11-03T21:00:00Z-2026-11-03T22:00:00Z".into(), vec![office(A)]),
                ("2026-11-03T22:00:00Z-2026-11-04T04:00:00Z".into(), vec![(C, Reason::Swap { id: 7 })]),
                ("2026-11-04T04:00:00Z-2026-11-04T06:00:00Z".into(), vec![(E, Reason::Override { id: 4 })]),
                ("2026-11-04T06:00:00Z-2026-11-04T13:00:00Z".into(), vec![(C, Reason::Swap { id: 7 })]),
                ("2026-11-04T13:00:00Z-2026-11-04T14:00:00Z".into(), vec![office(A)]),
            ]
        );
    }

    #[test]
    fn a_swap_inside_an_override_is_covered_by_the_override_while_it_lasts() {
        let mut s = layered();
        // Wednesday night 2026-11-04 is C's (after hours, shift 2). A storm: E covers the whole
        // night for whoever is on; inside it, C had swapped 23:00-01:00 to D.
        s.swaps =
            vec![Swap { id: 8, start: t("2026-11-05T04:00:00Z"), end: t("2026-11-05T06:00:00Z"), from: C, to: D }];
        s.overrides = vec![Override {
            id: 5,
            start: t("2026-11-04T22:00:00Z"),
            end: t("2026-11-05T13:00:00Z"),
            change: Change::Replace { from: None, to: E },
        }];
        let names = |s: &Schedule, at: &str| on_call(s, t(at)).on_call;
        assert_eq!(
            names(&s, "2026-11-05T05:00:00Z"),
            vec![(E, Reason::Override { id: 5 })],
            "the override wins over the swap"
        );
        // The override ends at 08:00; the swap had ended before: the office again.
        assert_eq!(names(&s, "2026-11-05T13:00:00Z"), vec![(A, Reason::Layer { layer: 0, shift: 0 })]);
        // Taken off, the swap shows through for its two hours.
        s.overrides.clear();
        assert_eq!(names(&s, "2026-11-05T05:00:00Z"), vec![(D, Reason::Swap { id: 8 })]);
        assert_eq!(names(&s, "2026-11-05T06:00:00Z"), vec![(C, Reason::Layer { layer: 1, shift: 2 })]);
    }

    #[test]
    fn time_off_leaves_a_gap_the_coverage_report_shows_with_hours_per_person() {
        let mut s = one_layer("America/New_York", rotation(&[A, B], ShiftLength::Days(1), "2026-11-02T08:00"));
        // A is off Wednesday 2026-11-04 from 09:00 to 12:00 (EST).
        s.overrides = vec![Override {
            id: 9,
            start: t("2026-11-04T14:00:00Z"),
            end: t("2026-11-04T17:00:00Z"),
            change: Change::Remove { who: A },
        }];
        let c = coverage(&s, t("2026-11-02T13:00:00Z"), t("2026-11-05T13:00:00Z"));
        assert_eq!(c.gaps, vec![(t("2026-11-04T14:00:00Z"), t("2026-11-04T17:00:00Z"))]);
        assert_eq!(c.hours, vec![(A, 45.0), (B, 24.0)]);
        // Nobody while it lasts, with when it ends.
        assert_eq!(
            who(&s, "2026-11-04T15:00:00Z"),
            (vec![], Some(t("2026-11-04T14:00:00Z")), Some(t("2026-11-04T17:00:00Z")))
        );
        // An empty schedule is one long gap, with no end in sight.
        let empty = Schedule { layers: Vec::new(), ..s };
        assert_eq!(who(&empty, "2026-11-04T15:00:00Z"), (vec![], None, None));
    }
}
