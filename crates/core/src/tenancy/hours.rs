//! Working hours: when a brand is open on each day of the week, in the brand's own zone. The
//! board opens on them and shades the hours outside; the answering desk will read business
//! hours and after hours from them.
//!
//! Times are local clock times. On a day whose clock skips an hour, an opening or closing
//! time inside the skipped hour is read as the same clock time after the change (2:30 AM on a
//! spring-forward day is 3:30 AM, one hour later in real time); in a repeated hour it is the
//! first of the two (jiff's "compatible" rule, as calendar programs do). A closing time of
//! 24:00 is the end of the day.

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

impl serde::Serialize for WorkingHours {
    /// `{"mon": "08:00-17:00", ..., "sun": null}`, Monday first.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(7))?;
        for (key, _, d) in self.week() {
            map.serialize_entry(key, &d.map(|d| d.to_text()))?;
        }
        map.end()
    }
}

/// Monday first, as the week is written everywhere the office reads it.
pub const DAYS: [(Weekday, &str, &str); 7] = [
    (Weekday::Monday, "mon", "Monday"),
    (Weekday::Tuesday, "tue", "Tuesday"),
    (Weekday::Wednesday, "wed", "Wednesday"),
    (Weekday::Thursday, "thu", "Thursday"),
    (Weekday::Friday, "fri", "Friday"),
    (Weekday::Saturday, "sat", "Saturday"),
    (Weekday::Sunday, "sun", "Sunday"),
];

/// One day's hours, in minutes after local midnight: `open < close <= 1440`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayHours {
    pub open: u16,
    pub close: u16,
}

impl DayHours {
    /// "8:00 AM-5:00 PM".
    pub fn label(&self) -> String {
        format!("{}-{}", clock_label(self.open), clock_label(self.close))
    }

    /// "08:00-17:00", as stored and as the API writes it.
    pub fn to_text(&self) -> String {
        format!("{}-{}", hhmm(self.open), hhmm(self.close))
    }

    /// The opening time as `HH:MM`.
    pub fn open_text(&self) -> String {
        hhmm(self.open)
    }

    /// The closing time as `HH:MM` (`24:00` for midnight at the end of the day).
    pub fn close_text(&self) -> String {
        hhmm(self.close)
    }
}

/// When a brand is open, day by day (`None`: closed that day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingHours {
    days: [Option<DayHours>; 7],
}

impl Default for WorkingHours {
    /// Monday to Friday, 8 AM to 5 PM.
    fn default() -> Self {
        let day = Some(DayHours { open: 8 * 60, close: 17 * 60 });
        WorkingHours { days: [day, day, day, day, day, None, None] }
    }
}

/// Why one day's hours were refused: the day's key (`mon`) and a sentence.
pub type DayError = (&'static str, String);

impl WorkingHours {
    pub fn closed() -> WorkingHours {
        WorkingHours { days: [None; 7] }
    }

    /// Reads each day's hours as typed: `open` and `close` like `08:00` or `8:00 AM` (a close
    /// of `24:00` or `12:00 AM` is midnight at the end of the day); both empty is closed.
    pub fn from_days<'a>(typed: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> Result<Self, Vec<DayError>> {
        let mut hours = WorkingHours::closed();
        let mut errors = Vec::new();
        for (key, open, close) in typed {
            let Some(i) = DAYS.iter().position(|(_, k, _)| *k == key) else {
                errors.push(("week", format!("\"{key}\" is not a day: use mon, tue, wed, thu, fri, sat or sun")));
                continue;
            };
            let (_, k, name) = DAYS[i];
            match day_hours(name, open.trim(), close.trim()) {
                Ok(d) => hours.days[i] = d,
                Err(e) => errors.push((k, e)),
            }
        }
        if errors.is_empty() { Ok(hours) } else { Err(errors) }
    }

    /// Reads the stored form: one line per open day, `mon 08:00-17:00`; days not listed are closed.
    pub fn parse(text: &str) -> Result<Self, Vec<DayError>> {
        let mut typed = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (key, range) = line.split_once(' ').unwrap_or((line, ""));
            let (open, close) = range.trim().split_once('-').unwrap_or((range.trim(), ""));
            typed.push((key.trim(), open, close));
        }
        let mut seen = Vec::new();
        for (key, _, _) in &typed {
            if seen.contains(key) {
                return Err(vec![("week", format!("{key} is listed twice"))]);
            }
            seen.push(*key);
        }
        Self::from_days(typed)
    }

    /// The stored form (see [`WorkingHours::parse`]).
    pub fn to_text(&self) -> String {
        DAYS.iter()
            .zip(self.days.iter())
            .filter_map(|((_, key, _), d)| d.map(|d| format!("{key} {}", d.to_text())))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn day(&self, weekday: Weekday) -> Option<DayHours> {
        self.days[weekday.to_monday_zero_offset() as usize]
    }

    /// Each day with its key, name and hours, Monday first.
    pub fn week(&self) -> impl Iterator<Item = (&'static str, &'static str, Option<DayHours>)> + '_ {
        DAYS.iter().zip(self.days.iter()).map(|((_, key, name), d)| (*key, *name, *d))
    }

    /// When the brand opens and closes on `date` in `zone`; `None` when closed that day.
    pub fn span_on(&self, date: Date, zone: &TimeZone) -> Option<(Timestamp, Timestamp)> {
        let d = self.day(date.weekday())?;
        Some((at_minute(date, d.open, zone)?, at_minute(date, d.close, zone)?))
    }

    /// Whether `at` falls within the hours of its own local day.
    pub fn is_open_at(&self, at: Timestamp, zone: &TimeZone) -> bool {
        let date = at.to_zoned(zone.clone()).date();
        self.span_on(date, zone).is_some_and(|(open, close)| open <= at && at < close)
    }

    /// "Mon-Fri 8:00 AM-5:00 PM, Sat 9:00 AM-1:00 PM"; "Closed all week".
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        while i < 7 {
            let Some(d) = self.days[i] else {
                i += 1;
                continue;
            };
            let mut j = i;
            while j + 1 < 7 && self.days[j + 1] == Some(d) {
                j += 1;
            }
            let short = |k: usize| {
                let name = DAYS[k].2;
                &name[..3]
            };
            let days = if j == i { short(i).to_string() } else { format!("{}-{}", short(i), short(j)) };
            parts.push(format!("{days} {}", d.label()));
            i = j + 1;
        }
        if parts.is_empty() { "Closed all week".into() } else { parts.join(", ") }
    }
}

/// The instant of `minute` after local midnight on `date` (1440: the next midnight).
fn at_minute(date: Date, minute: u16, zone: &TimeZone) -> Option<Timestamp> {
    if minute >= 24 * 60 {
        return date.tomorrow().ok()?.to_zoned(zone.clone()).ok().map(|z| z.timestamp());
    }
    let time = jiff::civil::time((minute / 60) as i8, (minute % 60) as i8, 0, 0);
    zone.to_ambiguous_zoned(date.to_datetime(time)).compatible().ok().map(|z| z.timestamp())
}

fn day_hours(name: &str, open: &str, close: &str) -> Result<Option<DayHours>, String> {
    match (open.is_empty(), close.is_empty()) {
        (true, true) => return Ok(None),
        (false, true) => return Err(format!("{name}: give a closing time too, or leave both empty for closed")),
        (true, false) => return Err(format!("{name}: give an opening time too, or leave both empty for closed")),
        _ => {}
    }
    let o = read_clock(open, false).ok_or_else(|| format!("{name}: \"{open}\" is not a time like 08:00 or 8:00 AM"))?;
    let c =
        read_clock(close, true).ok_or_else(|| format!("{name}: \"{close}\" is not a time like 17:00 or 5:00 PM"))?;
    if c <= o {
        return Err(format!(
            "{name}: closes at {} before it opens at {}; hours that run past midnight go on the next day",
            clock_label(c),
            clock_label(o)
        ));
    }
    Ok(Some(DayHours { open: o, close: c }))
}

/// A clock time typed as `08:00`, `8:00 AM`, `8am` or `17:30` (a recap time, a reminder
/// time); `None` when it is not one.
pub fn read_time(text: &str) -> Option<jiff::civil::Time> {
    let minute = read_clock(text, false).filter(|m| *m < 24 * 60)?;
    Some(jiff::civil::time((minute / 60) as i8, (minute % 60) as i8, 0, 0))
}

/// `08:00`, `8:00`, `8:00 AM`, `8am`, `17:30`; `24:00` and (as a close) `00:00` and `12:00 AM`
/// are the end of the day.
fn read_clock(text: &str, is_close: bool) -> Option<u16> {
    let t = text.trim().to_ascii_lowercase().replace('.', "");
    let (body, meridiem) = if let Some(b) = t.strip_suffix("am") {
        (b.trim(), Some(false))
    } else if let Some(b) = t.strip_suffix("pm") {
        (b.trim(), Some(true))
    } else {
        (t.as_str(), None)
    };
    let (h, m) = body.split_once(':').unwrap_or((body, "00"));
    // `08:00:00` from a browser's time input with seconds.
    let m = m.split(':').next()?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    if m >= 60 {
        return None;
    }
    let h = match meridiem {
        None if h == 24 && m == 0 => return Some(24 * 60),
        // A browser's time input cannot say 24:00: a close at 00:00 is the end of the day.
        None if h == 0 && m == 0 && is_close => return Some(24 * 60),
        None if h < 24 => h,
        Some(_) if h == 0 || h > 12 => return None,
        Some(false) if h == 12 => {
            if is_close && m == 0 {
                return Some(24 * 60);
            }
            0
        }
        Some(false) => h,
        Some(true) if h == 12 => 12,
        Some(true) => h + 12,
        None => return None,
    };
    Some(h * 60 + m)
}

fn hhmm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// "8:00 AM", "12:00 PM", "Midnight" for the end of the day.
fn clock_label(minute: u16) -> String {
    if minute >= 24 * 60 {
        return "midnight".into();
    }
    let (h, m) = (minute / 60, minute % 60);
    let (h12, ampm) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    format!("{h12}:{m:02} {ampm}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_default_week_is_weekdays_eight_to_five() {
        let h = WorkingHours::default();
        assert_eq!(h.summary(), "Mon-Fri 8:00 AM-5:00 PM");
        assert_eq!(h.to_text(), "mon 08:00-17:00\ntue 08:00-17:00\nwed 08:00-17:00\nthu 08:00-17:00\nfri 08:00-17:00");
        assert_eq!(WorkingHours::parse(&h.to_text()).unwrap(), h);
        assert_eq!(h.day(Weekday::Saturday), None);
    }

    #[test]
    fn days_are_read_as_people_type_them() {
        let h = WorkingHours::from_days([
            ("mon", "7:30 AM", "4:30 PM"),
            ("tue", "07:30", "16:30"),
            ("sat", "9am", "12:00 PM"),
            ("sun", "", ""),
            ("fri", "18:00", "24:00"),
            ("thu", "6:00 PM", "12:00 AM"),
            ("wed", "00:00", "00:00"),
        ])
        .unwrap();
        assert_eq!(h.day(Weekday::Monday), Some(DayHours { open: 450, close: 990 }));
        assert_eq!(h.day(Weekday::Tuesday), h.day(Weekday::Monday));
        assert_eq!(h.day(Weekday::Saturday), Some(DayHours { open: 540, close: 720 }));
        assert_eq!(h.day(Weekday::Thursday), Some(DayHours { open: 1080, close: 1440 }));
        assert_eq!(h.day(Weekday::Wednesday), Some(DayHours { open: 0, close: 1440 }), "midnight to midnight");
        assert_eq!(
            h.summary(),
            "Mon-Tue 7:30 AM-4:30 PM, Wed 12:00 AM-midnight, Thu-Fri 6:00 PM-midnight, Sat 9:00 AM-12:00 PM"
        );
        assert_eq!(WorkingHours::parse(&h.to_text()).unwrap(), h);
        assert_eq!(WorkingHours::closed().summary(), "Closed all week");
        assert_eq!(WorkingHours::parse("").unwrap(), WorkingHours::closed());
    }

    #[test]
    fn refusals_name_the_day_and_say_what_to_do() {
        let e = WorkingHours::from_days([
            ("mon", "17:00", "08:00"),
            ("tue", "8:00", ""),
            ("wed", "", "5 PM"),
            ("thu", "noonish", "17:00"),
            ("fri", "08:00", "25:00"),
            ("sat", "13:00 PM", "14:00"),
        ])
        .unwrap_err();
        assert_eq!(
            e,
            vec![
                (
                    "mon",
                    "Monday: closes at 8:00 AM before it opens at 5:00 PM; hours that run past midnight go on the next day"
                        .to_string()
                ),
                ("tue", "Tuesday: give a closing time too, or leave both empty for closed".to_string()),
                ("wed", "Wednesday: give an opening time too, or leave both empty for closed".to_string()),
                ("thu", "Thursday: \"noonish\" is not a time like 08:00 or 8:00 AM".to_string()),
                ("fri", "Friday: \"25:00\" is not a time like 17:00 or 5:00 PM".to_string()),
                ("sat", "Saturday: \"13:00 PM\" is not a time like 08:00 or 8:00 AM".to_string()),
            ]
        );
        assert_eq!(
            WorkingHours::parse("mon 08:00-17:00\nmon 09:00-10:00").unwrap_err(),
            vec![("week", "mon is listed twice".to_string())]
        );
        assert_eq!(
            WorkingHours::parse("funday 08:00-17:00").unwrap_err(),
            vec![("week", "\"funday\" is not a day: use mon, tue, wed, thu, fri, sat or sun".to_string())]
        );
    }

    #[test]
    fn open_and_close_are_local_in_each_zone_across_daylight_saving() {
        let h = WorkingHours::from_days([("sun", "01:30", "03:30"), ("mon", "08:00", "17:00")]).unwrap();
        let denver = TimeZone::get("America/Denver").unwrap();
        // Monday 2026-03-09, the day after the US spring-forward: MDT (UTC-6).
        assert_eq!(
            h.span_on(date(2026, 3, 9), &denver),
            Some((ts("2026-03-09T14:00:00Z"), ts("2026-03-09T23:00:00Z")))
        );
        // Monday 2026-03-02, still MST (UTC-7).
        assert_eq!(
            h.span_on(date(2026, 3, 2), &denver),
            Some((ts("2026-03-02T15:00:00Z"), ts("2026-03-03T00:00:00Z")))
        );
        // Sunday 2026-03-08: 1:30 AM MST, and 3:30 AM is MDT; one hour of real time between.
        let (open, close) = h.span_on(date(2026, 3, 8), &denver).unwrap();
        assert_eq!(open, ts("2026-03-08T08:30:00Z"));
        assert_eq!(close, ts("2026-03-08T09:30:00Z"));
        // A time in the skipped hour (2:30 AM) reads as 3:30 AM MDT.
        let gap = WorkingHours::from_days([("sun", "02:30", "05:00")]).unwrap();
        assert_eq!(gap.span_on(date(2026, 3, 8), &denver).unwrap().0, ts("2026-03-08T09:30:00Z"));
        // A time in the repeated hour (1:30 AM on 2026-11-01) is the first, MDT.
        let fold = WorkingHours::from_days([("sun", "01:30", "05:00")]).unwrap();
        assert_eq!(fold.span_on(date(2026, 11, 1), &denver).unwrap().0, ts("2026-11-01T07:30:00Z"));

        // Berlin changes on other days: Monday 2026-03-30 is CEST (UTC+2), 2026-03-23 CET (+1).
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        assert_eq!(h.span_on(date(2026, 3, 30), &berlin).unwrap().0, ts("2026-03-30T06:00:00Z"));
        assert_eq!(h.span_on(date(2026, 3, 23), &berlin).unwrap().0, ts("2026-03-23T07:00:00Z"));
        // Sydney moves the other way in April: Monday 2026-04-06 AEST (+10), 2026-03-30 AEDT (+11).
        let sydney = TimeZone::get("Australia/Sydney").unwrap();
        assert_eq!(h.span_on(date(2026, 4, 6), &sydney).unwrap().0, ts("2026-04-05T22:00:00Z"));
        assert_eq!(h.span_on(date(2026, 3, 30), &sydney).unwrap().0, ts("2026-03-29T21:00:00Z"));
        assert_eq!(h.span_on(date(2026, 4, 7), &sydney), None, "Tuesday is closed");
    }

    #[test]
    fn open_at_reads_the_local_day() {
        let h = WorkingHours::default();
        let denver = TimeZone::get("America/Denver").unwrap();
        // 2026-12-04 is a Friday: 4:59 PM MST is open, 5:00 PM is not.
        assert!(h.is_open_at(ts("2026-12-04T23:59:00Z"), &denver));
        assert!(!h.is_open_at(ts("2026-12-05T00:00:00Z"), &denver));
        assert!(!h.is_open_at(ts("2026-12-04T14:59:00Z"), &denver), "7:59 AM");
        // Saturday noon: closed.
        assert!(!h.is_open_at(ts("2026-12-05T19:00:00Z"), &denver));
        // Monday 9 AM in Sydney is Sunday in Denver: open in Sydney only.
        let sydney = TimeZone::get("Australia/Sydney").unwrap();
        assert!(h.is_open_at(ts("2026-12-06T22:00:00Z"), &sydney));
        assert!(!h.is_open_at(ts("2026-12-06T22:00:00Z"), &denver));
        // Until midnight: the last minute of the day is open, midnight itself is the next day.
        let late = WorkingHours::from_days([("fri", "18:00", "24:00")]).unwrap();
        assert!(late.is_open_at(ts("2026-12-05T06:59:00Z"), &denver));
        assert!(!late.is_open_at(ts("2026-12-05T07:00:00Z"), &denver));
    }
}
