//! How times read in texts and emails, the same for customers and technicians: `2:00 PM`,
//! a day as `today`, `tomorrow, Wed Nov 25` or `Thu Nov 26`, and a window as
//! `today, 2:00 PM-4:00 PM`. Every local time is in the brand's zone, and "today" is the
//! brand's today at the moment the text is written.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// `2:00 PM`.
pub fn time(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone()).strftime("%-I:%M %p").to_string()
}

/// `Wed Nov 25`: a date that stays right whenever it is read.
pub fn date(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone()).strftime("%a %b %-d").to_string()
}

/// `today`, `tomorrow, Wed Nov 25`, or `Thu Nov 26`, as seen at `now`. Tomorrow keeps its
/// date: a text is often read the next day.
pub fn day(t: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
    let (day, today) = (t.to_zoned(tz.clone()).date(), now.to_zoned(tz.clone()).date());
    if day == today {
        "today".into()
    } else if today.tomorrow().ok() == Some(day) {
        format!("tomorrow, {}", date(t, tz))
    } else {
        date(t, tz)
    }
}

/// `today, 2:00 PM-4:00 PM`, or `today at 2:00 PM` with no end; `None` without a start.
/// A window ending on a later day names that day too.
pub fn window(start: Option<Timestamp>, end: Option<Timestamp>, now: Timestamp, tz: &TimeZone) -> Option<String> {
    let start = start?;
    Some(match end {
        Some(end) if same_day(start, end, tz) => {
            format!("{}, {}-{}", day(start, now, tz), time(start, tz), time(end, tz))
        }
        Some(end) => {
            format!("{}, {} to {}, {}", day(start, now, tz), time(start, tz), day(end, now, tz), time(end, tz))
        }
        None => format!("{} at {}", day(start, now, tz), time(start, tz)),
    })
}

/// `Wed Nov 25, 2:00 PM-4:00 PM`: a window for a record read any day (a job's history).
pub fn dated_window(start: Option<Timestamp>, end: Option<Timestamp>, tz: &TimeZone) -> String {
    match (start, end) {
        (Some(s), Some(e)) if same_day(s, e, tz) => format!("{}, {}-{}", date(s, tz), time(s, tz), time(e, tz)),
        (Some(s), Some(e)) => format!("{}, {} to {}, {}", date(s, tz), time(s, tz), date(e, tz), time(e, tz)),
        (Some(s), None) => format!("{}, {}", date(s, tz), time(s, tz)),
        (None, _) => "none".into(),
    }
}

fn same_day(a: Timestamp, b: Timestamp, tz: &TimeZone) -> bool {
    a.to_zoned(tz.clone()).date() == b.to_zoned(tz.clone()).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    #[test]
    fn times_read_the_same_for_everyone() {
        let denver = tz("America/Denver");
        assert_eq!(time(at("2026-11-24T21:00:00Z"), &denver), "2:00 PM");
        assert_eq!(time(at("2026-11-24T16:05:00Z"), &denver), "9:05 AM");
        assert_eq!(time(at("2026-11-25T06:30:00Z"), &denver), "11:30 PM");
        assert_eq!(time(at("2026-11-24T07:00:00Z"), &denver), "12:00 AM");
        assert_eq!(time(at("2026-11-24T19:00:00Z"), &denver), "12:00 PM");
    }

    #[test]
    fn today_and_tomorrow_are_the_brands_days_not_utcs() {
        let denver = tz("America/Denver");
        // 10:00 PM in Denver on Tue Nov 24 is already Wednesday in UTC.
        let now = at("2026-11-25T05:00:00Z");
        assert_eq!(day(at("2026-11-25T06:30:00Z"), now, &denver), "today", "11:30 PM the same evening");
        assert_eq!(day(at("2026-11-25T16:00:00Z"), now, &denver), "tomorrow, Wed Nov 25");
        assert_eq!(day(at("2026-11-26T16:00:00Z"), now, &denver), "Thu Nov 26");
        assert_eq!(day(at("2026-11-24T16:00:00Z"), now, &denver), "today", "this morning");
        assert_eq!(day(at("2026-11-23T16:00:00Z"), now, &denver), "Mon Nov 23", "a day gone by is named");
        // The same instants in Sydney, where it is already Wednesday afternoon.
        let sydney = tz("Australia/Sydney");
        assert_eq!(day(at("2026-11-25T06:30:00Z"), now, &sydney), "today");
        assert_eq!(day(at("2026-11-25T16:00:00Z"), now, &sydney), "tomorrow, Thu Nov 26");
    }

    #[test]
    fn windows_name_their_day_and_keep_local_time_across_daylight_saving() {
        let denver = tz("America/Denver");
        let now = at("2026-11-24T15:00:00Z"); // 8:00 AM Tue Nov 24 in Denver
        let w = |s: &str, e: Option<&str>| window(Some(at(s)), e.map(at), now, &denver).unwrap();
        assert_eq!(w("2026-11-24T21:00:00Z", Some("2026-11-24T23:00:00Z")), "today, 2:00 PM-4:00 PM");
        assert_eq!(w("2026-11-25T21:00:00Z", Some("2026-11-25T23:00:00Z")), "tomorrow, Wed Nov 25, 2:00 PM-4:00 PM");
        assert_eq!(w("2026-11-27T16:00:00Z", None), "Fri Nov 27 at 9:00 AM");
        assert_eq!(
            w("2026-11-25T05:00:00Z", Some("2026-11-25T08:00:00Z")),
            "today, 10:00 PM to tomorrow, Wed Nov 25, 1:00 AM",
            "an overnight window names both days"
        );
        assert_eq!(window(None, Some(at("2026-11-24T23:00:00Z")), now, &denver), None);
        // Denver leaves daylight saving at 2:00 AM on Sun Nov 1: 9:00 AM is 15:00Z before and
        // 16:00Z after, and both read 9:00 AM.
        let sat = at("2026-10-31T12:00:00Z");
        assert_eq!(
            window(Some(at("2026-10-31T15:00:00Z")), Some(at("2026-10-31T17:00:00Z")), sat, &denver).unwrap(),
            "today, 9:00 AM-11:00 AM"
        );
        assert_eq!(
            window(Some(at("2026-11-01T16:00:00Z")), Some(at("2026-11-01T18:00:00Z")), sat, &denver).unwrap(),
            "tomorrow, Sun Nov 1, 9:00 AM-11:00 AM"
        );
        // Berlin enters summer time on Sun Mar 29: 9:00 AM is 08:00Z the day before, 07:00Z that day.
        let berlin = tz("Europe/Berlin");
        let fri = at("2026-03-27T10:00:00Z");
        assert_eq!(
            window(Some(at("2026-03-29T07:00:00Z")), Some(at("2026-03-29T09:00:00Z")), fri, &berlin).unwrap(),
            "Sun Mar 29, 9:00 AM-11:00 AM"
        );
        assert_eq!(
            window(Some(at("2026-03-28T08:00:00Z")), None, fri, &berlin).unwrap(),
            "tomorrow, Sat Mar 28 at 9:00 AM"
        );
    }

    #[test]
    fn dated_windows_for_records() {
        let denver = tz("America/Denver");
        assert_eq!(
            dated_window(Some(at("2026-11-25T16:00:00Z")), Some(at("2026-11-25T18:00:00Z")), &denver),
            "Wed Nov 25, 9:00 AM-11:00 AM"
        );
        assert_eq!(dated_window(Some(at("2026-11-25T16:00:00Z")), None, &denver), "Wed Nov 25, 9:00 AM");
        assert_eq!(dated_window(None, None, &denver), "none");
    }
}
