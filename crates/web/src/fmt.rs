//! How times and numbers read on screen: in the brand's time zone, relative to today there.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use switchboard_core::ids::BrandId;
use switchboard_core::tenancy::Brand;

/// "Today 1:30 PM", "Tomorrow 9:00 AM", "Yesterday", "Wed 9:00 AM", "Nov 30, 9:00 AM", "Nov 16".
/// Past days drop the time: a dispatcher scanning old work cares about the day.
/// [`schedule`] with the zone's abbreviation after a time ("Today 2:00 PM MST"), for lists
/// that mix brands in different zones; past days, shown without a time, need none.
pub fn schedule_in_zone(at: Timestamp, tz: &TimeZone, now: Timestamp) -> String {
    let text = schedule(at, tz, now);
    if text.ends_with("AM") || text.ends_with("PM") {
        format!("{text} {}", at.to_zoned(tz.clone()).strftime("%Z"))
    } else {
        text
    }
}

pub fn schedule(at: Timestamp, tz: &TimeZone, now: Timestamp) -> String {
    let local = at.to_zoned(tz.clone());
    let today = now.to_zoned(tz.clone()).date();
    let day = local.date();
    let time = local.strftime("%-I:%M %p").to_string();
    let offset = (day - today).get_days();
    let same_year = day.year() == today.year();
    match offset {
        0 => format!("Today {time}"),
        1 => format!("Tomorrow {time}"),
        -1 => "Yesterday".to_string(),
        2..=6 => format!("{} {time}", local.strftime("%a")),
        d if d > 0 && same_year => format!("{}, {time}", local.strftime("%b %-d")),
        d if d > 0 => format!("{}, {time}", local.strftime("%b %-d %Y")),
        _ if same_year => local.strftime("%b %-d").to_string(),
        _ => local.strftime("%b %-d %Y").to_string(),
    }
}

/// "just now", "5 min ago", "2 h ago", then the schedule form ("Yesterday", "Nov 16").
pub fn ago(at: Timestamp, tz: &TimeZone, now: Timestamp) -> String {
    let secs = now.duration_since(at).as_secs();
    match secs {
        s if s < 60 => "just now".to_string(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 6 * 3600 => format!("{} h ago", s / 3600),
        _ => schedule(at, tz, now),
    }
}

/// The zone an organization's pages read and show times in when no single record decides: the
/// picked brand's, else its first brand's. An organization with no brand yet has no local time,
/// and shows UTC (the pages name the zone they use).
/// How a list of jobs writes their start: in the job's brand's zone, naming the zone when the
/// list mixes brands in different zones (all brands shown, `picked` none).
pub struct JobTimes {
    now: Timestamp,
    name_zone: bool,
}

impl JobTimes {
    pub fn new(brands: &[Brand], picked: Option<BrandId>, now: Timestamp) -> JobTimes {
        let zones: std::collections::HashSet<&str> = brands.iter().map(|b| b.time_zone.as_str()).collect();
        JobTimes { now, name_zone: picked.is_none() && zones.len() > 1 }
    }

    /// "Today 2:00 PM" ("Today 2:00 PM MST" in a mixed list), or "Unscheduled".
    pub fn start(&self, at: Option<Timestamp>, tz: &TimeZone) -> String {
        match at {
            Some(t) if self.name_zone => schedule_in_zone(t, tz, self.now),
            Some(t) => schedule(t, tz, self.now),
            None => "Unscheduled".into(),
        }
    }
}

pub fn org_zone(brands: &[Brand], picked: Option<BrandId>) -> TimeZone {
    picked
        .and_then(|id| brands.iter().find(|b| b.id == id))
        .or(brands.first())
        .map(Brand::zone)
        .unwrap_or(TimeZone::UTC)
}

/// The zone of the brand with `id` among the organization's `brands` (every job, lead and
/// customer belongs to one of them).
pub fn brand_zone(brands: &[Brand], id: BrandId) -> TimeZone {
    org_zone(brands, Some(id))
}

/// "Nov 22, 2026" in the given zone.
pub fn date(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned(tz.clone()).strftime("%b %-d, %Y").to_string()
}

/// Today's date in `tz` plus `days`, for callers that need calendar arithmetic.
pub fn days_from_today(now: Timestamp, tz: &TimeZone, days: i64) -> Option<jiff::civil::Date> {
    now.to_zoned(tz.clone()).date().checked_add(days.days()).ok()
}

/// A `datetime-local` value ("2026-11-23T09:00") read in the brand's time zone; empty is `None`.
/// A local time skipped by a daylight-saving change is refused, not guessed.
pub fn local_input(
    field: &'static str,
    value: &str,
    tz: &TimeZone,
) -> Result<Option<Timestamp>, switchboard_core::Error> {
    use switchboard_core::Error;
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let dt: jiff::civil::DateTime =
        v.parse().map_err(|_| Error::invalid(field, format!("\"{v}\" is not a date and time")))?;
    let zoned = tz
        .to_ambiguous_zoned(dt)
        .unambiguous()
        .map_err(|_| Error::invalid(field, format!("{v} does not exist or happens twice here (a clock change)")))?;
    Ok(Some(zoned.timestamp()))
}

/// The `datetime-local` value for a time in `tz`.
pub fn to_local_input(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned(tz.clone()).strftime("%Y-%m-%dT%H:%M").to_string()
}

/// "9:00 AM" in `tz`.
pub fn time(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned(tz.clone()).strftime("%-I:%M %p").to_string()
}

/// "1:30–3:30 PM", or "11:00 AM–1:00 PM" across noon, for tight spaces.
pub fn time_range(start: Timestamp, end: Timestamp, tz: &TimeZone) -> String {
    let (s, e) = (start.to_zoned(tz.clone()), end.to_zoned(tz.clone()));
    if s.strftime("%p").to_string() == e.strftime("%p").to_string() && s.date() == e.date() {
        format!("{}–{}", s.strftime("%-I:%M"), e.strftime("%-I:%M %p"))
    } else {
        format!("{}–{}", s.strftime("%-I:%M %p"), e.strftime("%-I:%M %p"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn mixed_zone_lists_name_the_zone_on_both_sides_of_daylight_saving() {
        let denver = zone("America/Denver");
        let boston = zone("America/New_York");
        // 2026-11-24 21:00 UTC: 2:00 PM in Denver (MST), 4:00 PM in Boston (EST).
        let now = ts("2026-11-24T15:00:00Z");
        assert_eq!(schedule_in_zone(ts("2026-11-24T21:00:00Z"), &denver, now), "Today 2:00 PM MST");
        assert_eq!(schedule_in_zone(ts("2026-11-24T21:00:00Z"), &boston, now), "Today 4:00 PM EST");
        // Summer: the same brands in daylight time.
        let june = ts("2026-06-10T15:00:00Z");
        assert_eq!(schedule_in_zone(ts("2026-06-11T20:00:00Z"), &denver, june), "Tomorrow 2:00 PM MDT");
        assert_eq!(schedule_in_zone(ts("2026-06-11T20:00:00Z"), &boston, june), "Tomorrow 4:00 PM EDT");
        // A day gone by has no time, so no zone.
        assert_eq!(schedule_in_zone(ts("2026-11-20T21:00:00Z"), &denver, now), "Nov 20");
    }

    #[test]
    fn schedule_reads_relative_to_the_brands_today() {
        let denver = zone("America/Denver");
        // 2026-11-22 10:00 in Denver (UTC-7).
        let now = ts("2026-11-22T17:00:00Z");
        let cases = [
            ("2026-11-22T20:30:00Z", "Today 1:30 PM"),
            ("2026-11-23T16:00:00Z", "Tomorrow 9:00 AM"),
            ("2026-11-21T17:00:00Z", "Yesterday"),
            ("2026-11-25T16:00:00Z", "Wed 9:00 AM"),
            ("2026-12-30T16:00:00Z", "Dec 30, 9:00 AM"),
            ("2027-01-04T16:00:00Z", "Jan 4 2027, 9:00 AM"),
            ("2026-11-10T16:00:00Z", "Nov 10"),
            // 01:00 UTC on the 23rd is still the evening of the 22nd in Denver.
            ("2026-11-23T01:00:00Z", "Today 6:00 PM"),
        ];
        for (at, want) in cases {
            assert_eq!(schedule(ts(at), &denver, now), want, "{at}");
        }
    }

    #[test]
    fn the_same_instant_reads_differently_per_brand_zone() {
        let now = ts("2026-11-22T17:00:00Z");
        let at = ts("2026-11-23T03:30:00Z");
        assert_eq!(schedule(at, &zone("America/Denver"), now), "Today 8:30 PM");
        assert_eq!(schedule(at, &zone("America/New_York"), now), "Today 10:30 PM");
        // In Tokyo "now" is already the 23rd, so the same instant is today there too.
        assert_eq!(schedule(at, &zone("Asia/Tokyo"), now), "Today 12:30 PM");
    }

    #[test]
    fn dst_changes_keep_wall_clock_times() {
        // US DST ended 2026-11-01 at 2:00 local. A 9:00 job the day after reads 9:00 AM.
        let ny = zone("America/New_York");
        let now = ts("2026-11-01T05:30:00Z"); // 1:30 AM EDT on the change day
        assert_eq!(schedule(ts("2026-11-02T14:00:00Z"), &ny, now), "Tomorrow 9:00 AM");
        // Spring forward 2026-03-08: 9:00 EDT is 13:00 UTC.
        let now = ts("2026-03-07T15:00:00Z");
        assert_eq!(schedule(ts("2026-03-08T13:00:00Z"), &ny, now), "Tomorrow 9:00 AM");
    }

    #[test]
    fn recent_activity_reads_as_time_ago() {
        let tz = zone("America/Denver");
        let now = ts("2026-11-22T17:00:00Z");
        assert_eq!(ago(ts("2026-11-22T16:59:30Z"), &tz, now), "just now");
        assert_eq!(ago(ts("2026-11-22T16:45:00Z"), &tz, now), "15 min ago");
        assert_eq!(ago(ts("2026-11-22T14:00:00Z"), &tz, now), "3 h ago");
        assert_eq!(ago(ts("2026-11-21T14:00:00Z"), &tz, now), "Yesterday");
    }

    #[test]
    fn local_inputs_read_in_the_brand_zone_and_refuse_clock_change_gaps() {
        let ny = zone("America/New_York");
        let t = local_input("start", "2026-11-23T09:00", &ny).unwrap().unwrap();
        assert_eq!(t, ts("2026-11-23T14:00:00Z"));
        assert_eq!(to_local_input(t, &ny), "2026-11-23T09:00");
        assert_eq!(local_input("start", "  ", &ny).unwrap(), None);
        // 2:30 AM on Mar 8 2026 does not exist in New York; 1:30 AM on Nov 1 happens twice.
        assert!(local_input("start", "2026-03-08T02:30", &ny).is_err());
        assert!(local_input("start", "2026-11-01T01:30", &ny).is_err());
        assert!(local_input("start", "tomorrow", &ny).is_err());
    }

    #[test]
    fn time_ranges_say_am_pm_once_when_they_can() {
        let den = zone("America/Denver");
        assert_eq!(time_range(ts("2026-11-22T20:30:00Z"), ts("2026-11-22T22:30:00Z"), &den), "1:30–3:30 PM");
        assert_eq!(time_range(ts("2026-11-22T18:00:00Z"), ts("2026-11-22T20:00:00Z"), &den), "11:00 AM–1:00 PM");
    }
}
