//! When customers hear from us: the day-of reminder's time, quiet hours, and the rule that
//! limits "on the way" messages when several technicians work one site. Pure functions of
//! their inputs (times come in, nothing reads a clock), so they are tested directly, across
//! daylight-saving changes.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;

use crate::ids::TechnicianId;

/// The local wall-clock `time` on `date` in `tz`. A time skipped by a spring-forward change
/// moves later by the gap (02:30 becomes 03:30); a repeated one takes the first occurrence.
fn local(date: jiff::civil::Date, time: Time, tz: &TimeZone) -> Option<Timestamp> {
    tz.to_ambiguous_zoned(date.to_datetime(time)).compatible().ok().map(|z| z.timestamp())
}

/// When the day-of reminder for a job starting at `job_start` goes out: `time` on the job's
/// local date. `None` when that is not before the job starts (an early job gets no reminder
/// after it began).
pub fn reminder_at(job_start: Timestamp, tz: &TimeZone, time: Time) -> Option<Timestamp> {
    let date = job_start.to_zoned(tz.clone()).date();
    local(date, time, tz).filter(|at| *at < job_start)
}

/// Hours in which customers are not texted (`start` to `end`, possibly across midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: Time,
    pub end: Time,
}

impl QuietHours {
    fn contains(&self, t: Time) -> bool {
        if self.start <= self.end { t >= self.start && t < self.end } else { t >= self.start || t < self.end }
    }

    /// `now` when texting is allowed, else the moment quiet hours end (local time in `tz`).
    pub fn next_allowed(&self, now: Timestamp, tz: &TimeZone) -> Timestamp {
        let z = now.to_zoned(tz.clone());
        if !self.contains(z.time()) {
            return now;
        }
        let today = z.date();
        // Before midnight in a window that crosses it, the end is tomorrow.
        let end_date =
            if self.start > self.end && z.time() >= self.start { today.tomorrow().ok() } else { Some(today) };
        end_date.and_then(|d| local(d, self.end, tz)).filter(|t| *t > now).unwrap_or(now)
    }
}

/// Who is working one job's site, to decide whether a dispatch tells the customer.
#[derive(Debug, Clone, Default)]
pub struct SiteCrew {
    working: BTreeSet<TechnicianId>,
}

/// What a technician did on a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrewEvent {
    /// Sent to the job (en route).
    Dispatched(TechnicianId),
    Arrived(TechnicianId),
    /// Left: finished, unassigned, or the job was put back.
    Stopped(TechnicianId),
}

impl SiteCrew {
    /// A site where these technicians are working (en route or on site).
    pub fn working(techs: impl IntoIterator<Item = TechnicianId>) -> SiteCrew {
        SiteCrew { working: techs.into_iter().collect() }
    }

    /// Applies the event; returns whether the customer gets an "on the way" message. With
    /// `limit` on, a technician dispatched while another is already working the site (en
    /// route or on site) does not notify; once everyone has stopped, the next dispatch does.
    pub fn apply(&mut self, event: CrewEvent, limit: bool) -> bool {
        match event {
            CrewEvent::Dispatched(t) => {
                let others = self.working.iter().any(|w| *w != t);
                self.working.insert(t);
                !(limit && others)
            }
            CrewEvent::Arrived(t) => {
                self.working.insert(t);
                false
            }
            CrewEvent::Stopped(t) => {
                self.working.remove(&t);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }
    fn t(h: i8, m: i8) -> Time {
        jiff::civil::time(h, m, 0, 0)
    }

    #[test]
    fn reminders_fire_at_the_local_time_across_dst_in_two_zones() {
        let ny = TimeZone::get("America/New_York").unwrap();
        let london = TimeZone::get("Europe/London").unwrap();
        // New York springs forward on Sun Mar 8 2026: 7:00 is 12:00Z the day before, 11:00Z that day.
        assert_eq!(reminder_at(ts("2026-03-07T15:00:00Z"), &ny, t(7, 0)), Some(ts("2026-03-07T12:00:00Z")));
        assert_eq!(reminder_at(ts("2026-03-08T14:00:00Z"), &ny, t(7, 0)), Some(ts("2026-03-08T11:00:00Z")));
        // And falls back on Sun Nov 1 2026: 7:00 EST is 12:00Z.
        assert_eq!(reminder_at(ts("2026-11-01T15:00:00Z"), &ny, t(7, 0)), Some(ts("2026-11-01T12:00:00Z")));
        // London springs forward on Sun Mar 29 2026: 7:00 GMT is 07:00Z, 7:00 BST is 06:00Z.
        assert_eq!(reminder_at(ts("2026-03-28T10:00:00Z"), &london, t(7, 0)), Some(ts("2026-03-28T07:00:00Z")));
        assert_eq!(reminder_at(ts("2026-03-29T10:00:00Z"), &london, t(7, 0)), Some(ts("2026-03-29T06:00:00Z")));
        assert_eq!(reminder_at(ts("2026-10-25T10:00:00Z"), &london, t(7, 0)), Some(ts("2026-10-25T07:00:00Z")));
        // A reminder time inside the spring-forward gap moves later by the gap.
        assert_eq!(reminder_at(ts("2026-03-08T14:00:00Z"), &ny, t(2, 30)), Some(ts("2026-03-08T07:30:00Z")));
        // The job's local day decides, not the UTC day: 8 PM Sunday in New York is Monday in UTC.
        assert_eq!(reminder_at(ts("2026-11-23T01:00:00Z"), &ny, t(7, 0)), Some(ts("2026-11-22T12:00:00Z")));
    }

    #[test]
    fn no_reminder_after_the_job_has_started() {
        let denver = TimeZone::get("America/Denver").unwrap();
        // A 6:30 AM job with a 7:00 AM reminder time.
        assert_eq!(reminder_at(ts("2026-11-23T13:30:00Z"), &denver, t(7, 0)), None);
        assert_eq!(reminder_at(ts("2026-11-23T14:00:00Z"), &denver, t(7, 0)), None, "at the same minute: none");
    }

    #[test]
    fn quiet_hours_hold_texts_until_morning_local_time() {
        let ny = TimeZone::get("America/New_York").unwrap();
        let quiet = QuietHours { start: t(21, 0), end: t(8, 0) };
        // 10 PM EST Saturday Nov 21 -> 8 AM Sunday (13:00Z).
        assert_eq!(quiet.next_allowed(ts("2026-11-22T03:00:00Z"), &ny), ts("2026-11-22T13:00:00Z"));
        // 5 AM -> 8 AM the same day.
        assert_eq!(quiet.next_allowed(ts("2026-11-22T10:00:00Z"), &ny), ts("2026-11-22T13:00:00Z"));
        // Noon: now.
        assert_eq!(quiet.next_allowed(ts("2026-11-22T17:00:00Z"), &ny), ts("2026-11-22T17:00:00Z"));
        // Across spring forward: 11 PM EST Sat Mar 7 -> 8 AM EDT Sun Mar 8 = 12:00Z (9 hours later, not 10).
        assert_eq!(quiet.next_allowed(ts("2026-03-08T04:00:00Z"), &ny), ts("2026-03-08T12:00:00Z"));
        // A window within one day.
        let lunch = QuietHours { start: t(12, 0), end: t(13, 0) };
        assert_eq!(lunch.next_allowed(ts("2026-11-22T17:30:00Z"), &ny), ts("2026-11-22T18:00:00Z"));
        assert_eq!(lunch.next_allowed(ts("2026-11-22T18:00:00Z"), &ny), ts("2026-11-22T18:00:00Z"));
    }

    #[test]
    fn a_second_technician_on_a_working_site_does_not_notify_when_limited() {
        let (a, b, c) = (TechnicianId(1), TechnicianId(2), TechnicianId(3));
        use CrewEvent::*;
        let steps = [
            (Dispatched(a), true),  // first tech: tell the customer
            (Dispatched(b), false), // a is en route: quiet
            (Arrived(a), false),
            (Stopped(b), false),
            (Dispatched(c), false), // a is on site: quiet
            (Stopped(a), false),
            (Stopped(c), false),   // everyone has left
            (Dispatched(b), true), // a new visit: tell them again
            (Dispatched(b), true), // b re-dispatched alone: nobody else is working
        ];
        let mut crew = SiteCrew::default();
        for (i, (event, want)) in steps.into_iter().enumerate() {
            assert_eq!(crew.apply(event, true), want, "step {i}: {event:?}");
        }
        // Without the limit every dispatch notifies.
        let mut crew = SiteCrew::default();
        assert!(crew.apply(Dispatched(a), false));
        assert!(crew.apply(Dispatched(b), false));
        assert!(!crew.apply(Arrived(a), false));
    }
}
