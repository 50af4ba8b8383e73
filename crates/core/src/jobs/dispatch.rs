//! The dispatch board's rules: which jobs double-book a technician, where a dragged job lands
//! (snapped to the quarter hour, its length kept), who is on it after a move, and how a stale
//! edit is explained. Pure functions of their inputs, tested directly.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::model::JobSummary;
use crate::ids::{JobId, TechnicianId};

/// A job without an end is drawn, and checked for double-booking, as this long.
pub const DEFAULT_MINUTES: i64 = 120;

/// A move on the board: the new window (if it changes), the technician it was dragged from
/// (taken off) and to (put on), and the version of the job the board showed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoardMove {
    pub window: Option<(Option<Timestamp>, Option<Timestamp>)>,
    pub from: Option<TechnicianId>,
    pub to: Option<TechnicianId>,
    pub version: Option<i64>,
}

/// The job's end, or its start plus [`DEFAULT_MINUTES`].
fn end_of(job: &JobSummary) -> Option<(Timestamp, Timestamp)> {
    let start = job.scheduled_start?;
    Some((start, job.scheduled_end.unwrap_or(start + SignedDuration::from_mins(DEFAULT_MINUTES))))
}

/// Pairs of open jobs whose windows overlap, among one technician's jobs: `(job, the other
/// job's code)`, both ways. Windows that only touch (one ends as the next starts) do not.
pub fn conflicts(jobs: &[&JobSummary]) -> Vec<(JobId, String)> {
    let mut out = Vec::new();
    for a in jobs {
        for b in jobs {
            if a.id == b.id || !a.status.is_open() || !b.status.is_open() {
                continue;
            }
            let (Some((a0, a1)), Some((b0, b1))) = (end_of(a), end_of(b)) else { continue };
            if a0 < b1 && b0 < a1 {
                out.push((a.id, b.code.clone()));
            }
        }
    }
    out
}

/// Where a job dropped at `at` starts: the nearest quarter hour (times are absolute, and every
/// zone in use is offset from UTC by whole quarter hours).
pub fn snap(at: Timestamp) -> Option<Timestamp> {
    Timestamp::from_second((at.as_second() + 450).div_euclid(900) * 900).ok()
}

/// The window of `job` dropped at `at`: snapped, keeping its length ([`DEFAULT_MINUTES`] when
/// it had none).
pub fn dropped_at(job: &JobSummary, at: Timestamp) -> Option<(Option<Timestamp>, Option<Timestamp>)> {
    let length = match (job.scheduled_start, job.scheduled_end) {
        (Some(s), Some(e)) => e.duration_since(s),
        _ => SignedDuration::from_mins(DEFAULT_MINUTES),
    };
    let start = snap(at)?;
    Some((Some(start), start.checked_add(length).ok()))
}

/// The window of `job` moved to `day` (a calendar day in `zone`), as the week view's drop
/// on a day does: the same local time of day, the same length in real time. A job without a
/// window starts at `opens` (the brand's opening time that day, in minutes after midnight)
/// and lasts [`DEFAULT_MINUTES`]. A local time that does not exist on `day` (the hour skipped
/// when clocks go forward) moves forward by the gap, as a wall clock would read it; a repeated
/// hour takes its first instance.
pub fn moved_to_day(
    job: &JobSummary,
    day: jiff::civil::Date,
    zone: &TimeZone,
    opens: i32,
) -> Option<(Option<Timestamp>, Option<Timestamp>)> {
    let (time, length) = match (job.scheduled_start, job.scheduled_end) {
        (Some(s), e) => (
            s.to_zoned(zone.clone()).time(),
            e.map(|e| e.duration_since(s)).unwrap_or(SignedDuration::from_mins(DEFAULT_MINUTES)),
        ),
        (None, _) => (
            jiff::civil::time((opens / 60).clamp(0, 23) as i8, (opens % 60).clamp(0, 59) as i8, 0, 0),
            SignedDuration::from_mins(DEFAULT_MINUTES),
        ),
    };
    let start = day.to_datetime(time).to_zoned(zone.clone()).ok()?.timestamp();
    Some((Some(start), start.checked_add(length).ok()))
}

/// The job's technicians after dragging it from `from` to `to` (in the order they were put on,
/// the new one last).
pub fn crew_after_move(job: &JobSummary, from: Option<TechnicianId>, to: Option<TechnicianId>) -> Vec<TechnicianId> {
    let mut techs: Vec<TechnicianId> = job.techs.iter().map(|t| t.id).filter(|t| Some(*t) != from).collect();
    if let Some(to) = to
        && !techs.contains(&to)
    {
        techs.push(to);
    }
    techs
}

/// Who an actor is, for a person: `user:Sam Rivera` is Sam Rivera, `tech:Dan Okafor` is Dan
/// Okafor, `api` is an API client.
pub fn actor_name(actor: &str) -> String {
    match actor.split_once(':') {
        Some((_, name)) if !name.trim().is_empty() => name.trim().to_string(),
        _ if actor == "api" => "an API client".into(),
        _ => "Switchboard".into(),
    }
}

/// The refusal of an edit made on an old copy of the job: who changed it and when (the time
/// alone today, with the day otherwise, in the brand's zone).
pub fn stale_message(code: &str, actor: &str, at: Timestamp, tz: &TimeZone, now: Timestamp) -> String {
    let local = at.to_zoned(tz.clone());
    let when = if local.date() == now.to_zoned(tz.clone()).date() {
        format!("at {}", local.strftime("%-I:%M %p"))
    } else {
        format!("on {}", local.strftime("%a %b %-d at %-I:%M %p"))
    };
    format!(
        "{code} was changed by {} {when}, after you opened it. Nothing was saved: reload to see the change, then make yours again.",
        actor_name(actor)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{BrandId, CustomerId, OrgId};
    use crate::jobs::{JobStatus, JobTech, WorkStatus};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn job(id: i64, status: JobStatus, start: &str, end: Option<&str>) -> JobSummary {
        JobSummary {
            id: JobId(id),
            org_id: OrgId(1),
            brand_id: BrandId(1),
            code: format!("J-{id}"),
            customer_id: CustomerId(1),
            customer_name: "Ann Lee".into(),
            service: "Tune-up".into(),
            status,
            address: None,
            scheduled_start: Some(ts(start)),
            scheduled_end: end.map(ts),
            techs: Vec::new(),
            location: None,
            location_verified: false,
            internal_notes: None,
            customer_notes: None,
            version: 1,
            service_location: None,
        }
    }

    #[test]
    fn overlapping_open_windows_are_conflicts_and_touching_ones_are_not() {
        let a = job(1, JobStatus::Scheduled, "2026-11-23T16:00:00Z", Some("2026-11-23T18:00:00Z"));
        let b = job(2, JobStatus::Dispatched, "2026-11-23T17:30:00Z", Some("2026-11-23T19:00:00Z"));
        let c = job(3, JobStatus::Scheduled, "2026-11-23T19:00:00Z", Some("2026-11-23T20:00:00Z"));
        let done = job(4, JobStatus::Completed, "2026-11-23T16:30:00Z", Some("2026-11-23T17:00:00Z"));
        // No end: drawn (and checked) as two hours.
        let open_ended = job(5, JobStatus::Scheduled, "2026-11-23T20:30:00Z", None);
        let late = job(6, JobStatus::Scheduled, "2026-11-23T22:00:00Z", Some("2026-11-23T23:00:00Z"));
        let found = conflicts(&[&a, &b, &c, &done, &open_ended, &late]);
        assert_eq!(
            found,
            vec![
                (JobId(1), "J-2".into()),
                (JobId(2), "J-1".into()),
                (JobId(5), "J-6".into()),
                (JobId(6), "J-5".into())
            ]
        );
    }

    #[test]
    fn a_dropped_job_snaps_to_the_quarter_hour_and_keeps_its_length() {
        let two_hours = job(1, JobStatus::Scheduled, "2026-11-23T16:00:00Z", Some("2026-11-23T18:00:00Z"));
        assert_eq!(
            dropped_at(&two_hours, ts("2026-11-23T19:07:29Z")),
            Some((Some(ts("2026-11-23T19:00:00Z")), Some(ts("2026-11-23T21:00:00Z"))))
        );
        assert_eq!(snap(ts("2026-11-23T19:07:30Z")), Some(ts("2026-11-23T19:15:00Z")));
        // Kolkata is UTC+5:30 and Kathmandu UTC+5:45: quarter hours there are quarter hours here.
        let kathmandu = TimeZone::get("Asia/Kathmandu").unwrap();
        let dropped = snap(ts("2026-11-23T03:21:00Z")).unwrap().to_zoned(kathmandu);
        assert_eq!(dropped.strftime("%H:%M").to_string(), "09:00");
        // No end: two hours from the new start.
        let open = job(2, JobStatus::Scheduled, "2026-11-23T16:00:00Z", None);
        assert_eq!(
            dropped_at(&open, ts("2026-11-24T15:00:00Z")),
            Some((Some(ts("2026-11-24T15:00:00Z")), Some(ts("2026-11-24T17:00:00Z"))))
        );
        // Across New York's fall-back night the length is kept in real time (two hours).
        let night = job(3, JobStatus::Scheduled, "2026-10-31T16:00:00Z", Some("2026-10-31T18:00:00Z"));
        assert_eq!(
            dropped_at(&night, ts("2026-11-01T05:30:00Z")),
            Some((Some(ts("2026-11-01T05:30:00Z")), Some(ts("2026-11-01T07:30:00Z"))))
        );
    }

    #[test]
    fn a_job_moved_to_another_day_keeps_its_local_time_and_length_across_daylight_saving() {
        let date = |d: &str| d.parse::<jiff::civil::Date>().unwrap();
        let denver = TimeZone::get("America/Denver").unwrap();
        // 9:00-11:00 MDT on Friday Oct 30 moved to Monday Nov 2 (after the change): 9:00 MST.
        let fri = job(1, JobStatus::Scheduled, "2026-10-30T15:00:00Z", Some("2026-10-30T17:00:00Z"));
        assert_eq!(
            moved_to_day(&fri, date("2026-11-02"), &denver, 480),
            Some((Some(ts("2026-11-02T16:00:00Z")), Some(ts("2026-11-02T18:00:00Z"))))
        );
        // Berlin in spring: 14:30 CET moved past the change is 14:30 CEST.
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let before = job(2, JobStatus::Scheduled, "2026-03-27T13:30:00Z", Some("2026-03-27T14:30:00Z"));
        assert_eq!(
            moved_to_day(&before, date("2026-03-30"), &berlin, 480),
            Some((Some(ts("2026-03-30T12:30:00Z")), Some(ts("2026-03-30T13:30:00Z"))))
        );
        // 2:30 AM does not exist in New York on Mar 8, 2026: it lands at 3:30 AM EDT, two
        // hours long in real time.
        let new_york = TimeZone::get("America/New_York").unwrap();
        let night = job(3, JobStatus::Scheduled, "2026-03-06T07:30:00Z", Some("2026-03-06T09:30:00Z"));
        assert_eq!(
            moved_to_day(&night, date("2026-03-08"), &new_york, 480),
            Some((Some(ts("2026-03-08T07:30:00Z")), Some(ts("2026-03-08T09:30:00Z"))))
        );
        // 1:30 AM happens twice on Nov 1, 2026 there: the first (EDT) one.
        let early = job(4, JobStatus::Scheduled, "2026-10-30T05:30:00Z", Some("2026-10-30T06:00:00Z"));
        assert_eq!(
            moved_to_day(&early, date("2026-11-01"), &new_york, 480),
            Some((Some(ts("2026-11-01T05:30:00Z")), Some(ts("2026-11-01T06:00:00Z"))))
        );
        // No window yet: the brand's opening time (7:30 AM) for two hours; no end: two hours.
        let estimate = job(5, JobStatus::Estimate, "2026-11-23T16:00:00Z", None);
        let estimate = JobSummary { scheduled_start: None, ..estimate };
        assert_eq!(
            moved_to_day(&estimate, date("2026-11-24"), &denver, 450),
            Some((Some(ts("2026-11-24T14:30:00Z")), Some(ts("2026-11-24T16:30:00Z"))))
        );
        let open = job(6, JobStatus::Scheduled, "2026-11-23T16:00:00Z", None);
        assert_eq!(
            moved_to_day(&open, date("2026-11-25"), &denver, 480),
            Some((Some(ts("2026-11-25T16:00:00Z")), Some(ts("2026-11-25T18:00:00Z"))))
        );
    }

    #[test]
    fn a_move_takes_the_technician_it_came_from_off_and_puts_the_one_it_went_to_on() {
        let tech = |id, name: &str| JobTech {
            id: TechnicianId(id),
            name: name.into(),
            photo_url: None,
            work: WorkStatus::Assigned,
        };
        let mut j = job(1, JobStatus::Scheduled, "2026-11-23T16:00:00Z", None);
        j.techs = vec![tech(1, "Dan Okafor"), tech(2, "Maria Lopez")];
        let (dan, maria, sam) = (TechnicianId(1), TechnicianId(2), TechnicianId(3));
        assert_eq!(crew_after_move(&j, Some(dan), Some(sam)), vec![maria, sam]);
        assert_eq!(crew_after_move(&j, None, Some(sam)), vec![dan, maria, sam], "from the unassigned column");
        assert_eq!(crew_after_move(&j, Some(dan), None), vec![maria], "to the unassigned column");
        assert_eq!(crew_after_move(&j, Some(dan), Some(maria)), vec![maria], "onto someone already on it");
        assert_eq!(crew_after_move(&j, None, None), vec![dan, maria]);
    }

    #[test]
    fn a_stale_edit_says_who_changed_the_job_and_when_in_the_brands_zone() {
        let denver = TimeZone::get("America/Denver").unwrap();
        let now = ts("2026-12-01T22:00:00Z"); // 3:00 PM in Denver
        assert_eq!(
            stale_message("J-2206", "user:Sam Rivera", ts("2026-12-01T21:41:00Z"), &denver, now),
            "J-2206 was changed by Sam Rivera at 2:41 PM, after you opened it. Nothing was saved: reload to see \
             the change, then make yours again."
        );
        // 11:30 PM on Nov 30 in Denver is already Dec 1 in UTC: another day, so the day is named.
        assert_eq!(
            stale_message("J-2206", "tech:Dan Okafor", ts("2026-12-01T06:30:00Z"), &denver, now),
            "J-2206 was changed by Dan Okafor on Mon Nov 30 at 11:30 PM, after you opened it. Nothing was saved: \
             reload to see the change, then make yours again."
        );
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        assert_eq!(
            stale_message("J-7", "api", ts("2026-12-01T10:00:00Z"), &tokyo, now),
            "J-7 was changed by an API client on Tue Dec 1 at 7:00 PM, after you opened it. Nothing was saved: \
             reload to see the change, then make yours again."
        );
        assert_eq!(actor_name("system"), "Switchboard");
        assert_eq!(actor_name("user:"), "Switchboard");
    }
}
