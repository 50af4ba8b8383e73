//! The dispatch board's week: a row per technician and a column per day (Monday first), each
//! job in the cell of its local start day, unassigned work in a row of its own, days the brand
//! is closed shaded. Dropping a job on a cell moves it to that technician and day at the same
//! time of day (see [`switchboard_core::jobs::dispatch::moved_to_day`]).

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use switchboard_core::ids::{OrgId, TechnicianId};
use switchboard_core::jobs::dispatch::conflicts;
use switchboard_core::jobs::{self, JobFilter, JobStatus, JobSummary};
use switchboard_core::technicians::Technician;
use switchboard_core::tenancy::Brand;

use super::board::Block;
use crate::error::PageError;
use crate::pages::day_bounds;
use crate::state::AppState;
use crate::views::initials;

pub struct WeekDay {
    /// `2026-12-07`.
    pub date: String,
    /// "Mon 7".
    pub label: String,
    /// "Dec": said, not shown, after the label.
    pub month: String,
    /// "Monday, Dec 7".
    pub long: String,
    pub today: bool,
    /// "8 AM-5 PM" or "Closed".
    pub hours: String,
    pub closed: bool,
}

pub struct WeekCell {
    pub date: String,
    pub long: String,
    pub closed: bool,
    pub today: bool,
    pub blocks: Vec<Block>,
}

pub struct WeekRow {
    /// Empty for the unassigned row (a drop there takes the technician off).
    pub tech_id: String,
    pub name: String,
    pub photo_url: String,
    pub initials: String,
    pub inactive: bool,
    /// "Free", "1 job", "6 jobs" this week.
    pub busy: String,
    pub cells: Vec<WeekCell>,
}

/// One brand's week on the board.
pub struct WeekBoard {
    pub brand_id: i64,
    pub brand_name: String,
    pub color: String,
    pub zone_name: String,
    /// "Dec 7-13, 2026".
    pub week_label: String,
    pub days: Vec<WeekDay>,
    pub rows: Vec<WeekRow>,
    pub unassigned: WeekRow,
    /// Open work of the brand with no window yet.
    pub unscheduled: Vec<Block>,
    pub conflicts: usize,
    pub tech_options: Vec<(i64, String)>,
}

/// The Monday of the week `date` is in.
pub fn monday_of(date: Date) -> Date {
    let back = i64::from(date.weekday().to_monday_zero_offset());
    date.checked_sub(back.days()).unwrap_or(date)
}

/// "Dec 7-13, 2026", "Nov 30-Dec 6, 2026", "Dec 28, 2026-Jan 3, 2027".
pub fn week_label(monday: Date) -> String {
    let sunday = monday.checked_add(6.days()).unwrap_or(monday);
    if monday.year() != sunday.year() {
        format!("{}-{}", monday.strftime("%b %-d, %Y"), sunday.strftime("%b %-d, %Y"))
    } else if monday.month() != sunday.month() {
        format!("{}-{}", monday.strftime("%b %-d"), sunday.strftime("%b %-d, %Y"))
    } else {
        format!("{}-{}", monday.strftime("%b %-d"), sunday.strftime("%-d, %Y"))
    }
}

/// One brand's week holding `date` (calendar days in the brand's zone).
pub async fn week_board(
    state: &AppState,
    org: OrgId,
    brand: &Brand,
    date: Date,
    now: Timestamp,
    techs: &[Technician],
) -> Result<WeekBoard, PageError> {
    let tz = brand.zone();
    let today = now.to_zoned(tz.clone()).date();
    let monday = monday_of(date);
    let dates: Vec<Date> = (0..7).filter_map(|d| monday.checked_add(d.days()).ok()).collect();
    let (from, _) = day_bounds(monday, &tz).ok_or_else(|| PageError::bad_request("that week cannot be shown"))?;
    let last = dates.last().copied().unwrap_or(monday);
    let (_, to) = day_bounds(last, &tz).ok_or_else(|| PageError::bad_request("that week cannot be shown"))?;
    let filter = JobFilter { brand: Some(brand.id), from: Some(from), to: Some(to), ..JobFilter::default() };
    let mut week_jobs: Vec<JobSummary> =
        jobs::list(&state.db, org, &filter).await?.into_iter().filter(|j| j.status != JobStatus::Canceled).collect();
    // Each day's cell lists its jobs in the order they start.
    week_jobs.sort_by_key(|j| (j.scheduled_start, j.id));
    let unscheduled = jobs::list(&state.db, org, &JobFilter { brand: Some(brand.id), ..JobFilter::default() })
        .await?
        .into_iter()
        .filter(|j| j.scheduled_start.is_none() && j.status.is_open())
        .map(|j| Block::of(&j, &tz, None, None))
        .collect();
    let day_of = |j: &JobSummary| j.scheduled_start.map(|s| s.to_zoned(tz.clone()).date());

    let days: Vec<WeekDay> = dates
        .iter()
        .map(|d| {
            let open = brand.working_hours.day(d.weekday());
            WeekDay {
                date: d.to_string(),
                label: d.strftime("%a %-d").to_string(),
                month: d.strftime("%b").to_string(),
                long: d.strftime("%A, %b %-d").to_string(),
                today: *d == today,
                hours: open.map(|o| o.label()).unwrap_or_else(|| "Closed".into()),
                closed: open.is_none(),
            }
        })
        .collect();
    // A row's cells: its jobs on each day, earliest first.
    let cells =
        |jobs: &[&JobSummary], tech: Option<TechnicianId>, clashes: &[(switchboard_core::ids::JobId, String)]| {
            dates
                .iter()
                .zip(&days)
                .map(|(d, day)| WeekCell {
                    date: day.date.clone(),
                    long: day.long.clone(),
                    closed: day.closed,
                    today: day.today,
                    blocks: jobs
                        .iter()
                        .filter(|j| day_of(j) == Some(*d))
                        .map(|j| {
                            let c: Vec<String> =
                                clashes.iter().filter(|(id, _)| *id == j.id).map(|(_, code)| code.clone()).collect();
                            let conflict = (!c.is_empty()).then(|| format!("Overlaps {}", c.join(", ")));
                            Block::of(j, &tz, tech, conflict)
                        })
                        .collect(),
                })
                .collect::<Vec<_>>()
        };
    let busy = |n: usize| match n {
        0 => "Free".to_string(),
        1 => "1 job".to_string(),
        n => format!("{n} jobs"),
    };

    let mut total_conflicts = 0;
    let on_board = |t: &&Technician| (t.active && t.works_for(brand.id)) || week_jobs.iter().any(|j| j.has_tech(t.id));
    let rows = techs
        .iter()
        .filter(on_board)
        .map(|t| {
            let mine: Vec<&JobSummary> = week_jobs.iter().filter(|j| j.has_tech(t.id)).collect();
            let clashes = conflicts(&mine);
            total_conflicts += clashes.len();
            WeekRow {
                tech_id: t.id.0.to_string(),
                name: t.name.clone(),
                photo_url: t.photo_url.clone().unwrap_or_default(),
                initials: initials(&t.name),
                inactive: !t.active,
                busy: busy(mine.iter().filter(|j| j.status.is_open()).count()),
                cells: cells(&mine, Some(t.id), &clashes),
            }
        })
        .collect();
    let nobody: Vec<&JobSummary> = week_jobs.iter().filter(|j| j.techs.is_empty() && j.status.is_open()).collect();
    let unassigned = WeekRow {
        tech_id: String::new(),
        name: "Unassigned".into(),
        photo_url: String::new(),
        initials: String::new(),
        inactive: false,
        busy: busy(nobody.len()),
        cells: cells(&nobody, None, &[]),
    };
    Ok(WeekBoard {
        brand_id: brand.id.0,
        brand_name: brand.name.clone(),
        color: brand.color.clone(),
        zone_name: tz.iana_name().unwrap_or("UTC").to_string(),
        week_label: week_label(monday),
        days,
        rows,
        unassigned,
        unscheduled,
        // Each clash is counted from both sides.
        conflicts: total_conflicts / 2,
        tech_options: techs
            .iter()
            .filter(|t| t.active && t.works_for(brand.id))
            .map(|t| (t.id.0, t.name.clone()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_week_starts_on_monday_and_its_label_spans_months_and_years() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert_eq!(monday_of(d("2026-12-06")), d("2026-11-30"), "a Sunday belongs to the week before");
        assert_eq!(monday_of(d("2026-12-07")), d("2026-12-07"));
        assert_eq!(monday_of(d("2026-12-10")), d("2026-12-07"));
        assert_eq!(week_label(d("2026-12-07")), "Dec 7-13, 2026");
        assert_eq!(week_label(d("2026-11-30")), "Nov 30-Dec 6, 2026");
        assert_eq!(week_label(d("2026-12-28")), "Dec 28, 2026-Jan 3, 2027");
    }
}
