//! What a change did to a job, told to the modules above jobs (customer notifications, the
//! technician portal, soon billing) through the engine: each change queues one `job.changed`
//! item in the same transaction, so a committed change is always reacted to, and a change
//! that rolled back never is. Jobs knows nothing of who listens: each listener registers
//! itself ([`crate::engine::Workers::listen`]) and decides for itself what a change calls for.

use jiff::Timestamp;

use super::model::{JobStatus, WorkStatus};
use crate::Result;
use crate::clock::{Clock, to_millis};
use crate::db::Tx;
use crate::engine::{self, NewWork};
use crate::ids::{JobId, OrgId, TechnicianId};

/// One change to a job.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// The job was created.
    Created,
    /// It became scheduled (created with a window, an estimate given one, or put back), with
    /// the window start it has now (milliseconds).
    Scheduled { start: i64 },
    /// Its window moved (or was removed) while it kept its status.
    WindowMoved { start: Option<i64> },
    /// Its status moved (dispatched, on site, done, canceled, reopened, ...).
    Status { from: JobStatus, to: JobStatus },
    /// A technician was put on the job.
    TechAdded { tech: TechnicianId },
    /// A technician was taken off the job; `told` when they had been texted about it (so
    /// they are told they are off it).
    TechRemoved {
        tech: TechnicianId,
        #[serde(default)]
        told: bool,
    },
    /// A technician's own work on the job changed (arrived, done, reset).
    Work { tech: TechnicianId, work: WorkStatus },
    /// A technician (or, when `tech` is none, the job with nobody on it) was sent on the way;
    /// `was_working` were already en route or on site, including the ones sent before in the
    /// same change.
    OnTheWay { tech: Option<TechnicianId>, was_working: Vec<TechnicianId> },
}

/// A `job.changed` item: the changes one transaction made to a job.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobChanged {
    pub job_id: JobId,
    /// The job's status after the change.
    pub status: JobStatus,
    /// When the change was made, in milliseconds.
    pub at: i64,
    /// Who made it (`user:NAME`, `api`, `tech:NAME`, `system`).
    pub actor: String,
    pub changes: Vec<Change>,
}

impl engine::Kind for JobChanged {
    const NAME: &'static str = "job.changed";
}

impl JobChanged {
    /// The window start this change booked the job for (the customer's confirmation).
    pub fn booked_start(&self) -> Option<Timestamp> {
        self.changes
            .iter()
            .find_map(|c| match c {
                Change::Scheduled { start } => Some(*start),
                _ => None,
            })
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
    }

    /// The new window start of a booked job whose window this change moved (the customer's
    /// "rescheduled" message): scheduled, or en route with someone on the way.
    pub fn rescheduled_start(&self) -> Option<Timestamp> {
        if !matches!(self.status, JobStatus::Scheduled | JobStatus::Dispatched) || self.booked_start().is_some() {
            return None;
        }
        self.window_moved_to()
    }

    /// The window start this change moved the job's window to, whatever its status.
    pub fn window_moved_to(&self) -> Option<Timestamp> {
        self.changes
            .iter()
            .find_map(|c| match c {
                Change::WindowMoved { start: Some(start) } => Some(*start),
                _ => None,
            })
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
    }

    /// The window start a scheduled job now has after this change (booked or moved): the
    /// day-of reminder follows it.
    pub fn reminder_start(&self) -> Option<Timestamp> {
        self.booked_start().or_else(|| self.rescheduled_start().filter(|_| self.status == JobStatus::Scheduled))
    }

    /// The status the job left, when this change moved it.
    pub fn moved_from(&self) -> Option<JobStatus> {
        self.changes.iter().find_map(|c| match c {
            Change::Status { from, .. } => Some(*from),
            _ => None,
        })
    }

    /// Whether the job was moved to `to` by this change.
    pub fn moved_to(&self, to: JobStatus) -> bool {
        self.changes.iter().any(|c| matches!(c, Change::Status { to: t, .. } if *t == to))
    }

    /// The technicians taken off the job by this change who had been told about it.
    pub fn removed_told(&self) -> impl Iterator<Item = TechnicianId> + '_ {
        self.changes.iter().filter_map(|c| match c {
            Change::TechRemoved { tech, told: true } => Some(*tech),
            _ => None,
        })
    }

    /// The technicians put on the job by this change.
    pub fn added(&self) -> impl Iterator<Item = TechnicianId> + '_ {
        self.changes.iter().filter_map(|c| match c {
            Change::TechAdded { tech } => Some(*tech),
            _ => None,
        })
    }
}

/// The job's status after `changes`, from `before`: the last status move, if any.
pub fn status_after(before: JobStatus, changes: &[Change]) -> JobStatus {
    changes
        .iter()
        .rev()
        .find_map(|c| match c {
            Change::Status { to, .. } => Some(*to),
            _ => None,
        })
        .unwrap_or(before)
}

/// Queues the `job.changed` item for `changes` inside `tx` (nothing when there are none).
pub(super) async fn queue_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    job: JobId,
    status: JobStatus,
    actor: &str,
    changes: Vec<Change>,
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let now = clock.now();
    let event = JobChanged { job_id: job, status, at: to_millis(now), actor: actor.to_string(), changes };
    engine::enqueue_in(tx, &NewWork::of(&event, now)?.org(org), now).await?;
    Ok(())
}

/// What moving a job from (`from`, `from_start`) to (`to`, `to_start`) changed: its status,
/// whether that scheduled it, whether its window moved.
pub fn of_move(
    from: Option<(JobStatus, Option<Timestamp>)>,
    to: JobStatus,
    to_start: Option<Timestamp>,
) -> Vec<Change> {
    let mut changes = Vec::new();
    match from {
        None => changes.push(Change::Created),
        Some((status, _)) if status != to => changes.push(Change::Status { from: status, to }),
        Some(_) => {}
    }
    let was_booked = matches!(from, Some((JobStatus::Scheduled | JobStatus::Dispatched | JobStatus::OnSite, _)));
    let window_moved = from.is_some_and(|(_, start)| start != to_start);
    match to_start {
        Some(start) if to == JobStatus::Scheduled && !was_booked => {
            changes.push(Change::Scheduled { start: to_millis(start) })
        }
        _ if window_moved => changes.push(Change::WindowMoved { start: to_start.map(to_millis) }),
        _ => {}
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_move_names_its_status_change_and_whether_it_booked_the_job() {
        use JobStatus::*;
        let two = ts("2026-12-02T19:00:00Z");
        let three = ts("2026-12-02T20:00:00Z");
        assert_eq!(of_move(None, Estimate, None), vec![Change::Created]);
        assert_eq!(
            of_move(None, Scheduled, Some(two)),
            vec![Change::Created, Change::Scheduled { start: to_millis(two) }]
        );
        assert_eq!(
            of_move(Some((Estimate, None)), Scheduled, Some(two)),
            vec![Change::Status { from: Estimate, to: Scheduled }, Change::Scheduled { start: to_millis(two) }]
        );
        // Put back from en route: already booked, no new confirmation.
        assert_eq!(
            of_move(Some((Dispatched, Some(two))), Scheduled, Some(two)),
            vec![Change::Status { from: Dispatched, to: Scheduled }]
        );
        // Reopened from canceled: booked again.
        assert_eq!(
            of_move(Some((Canceled, Some(two))), Scheduled, Some(two)),
            vec![Change::Status { from: Canceled, to: Scheduled }, Change::Scheduled { start: to_millis(two) }]
        );
        assert_eq!(
            of_move(Some((Scheduled, Some(two))), Scheduled, Some(three)),
            vec![Change::WindowMoved { start: Some(to_millis(three)) }]
        );
        assert_eq!(of_move(Some((Scheduled, Some(two))), Scheduled, Some(two)), vec![]);
        assert_eq!(
            of_move(Some((OnSite, Some(two))), PendingClose, Some(two)),
            vec![Change::Status { from: OnSite, to: PendingClose }]
        );
    }

    #[test]
    fn a_booking_confirms_and_a_moved_window_reschedules() {
        let two = ts("2026-12-02T19:00:00Z");
        let event = |status, changes| JobChanged { job_id: JobId(1), status, at: 0, actor: "api".into(), changes };
        let booked =
            event(JobStatus::Scheduled, of_move(Some((JobStatus::Estimate, None)), JobStatus::Scheduled, Some(two)));
        assert_eq!((booked.booked_start(), booked.rescheduled_start()), (Some(two), None));
        assert_eq!(booked.reminder_start(), Some(two));
        let moved = event(JobStatus::Scheduled, vec![Change::WindowMoved { start: Some(to_millis(two)) }]);
        assert_eq!((moved.booked_start(), moved.rescheduled_start()), (None, Some(two)));
        assert_eq!(moved.reminder_start(), Some(two));
        // An en-route job's window moving tells the customer, with no new reminder (it is under way).
        let en_route = event(JobStatus::Dispatched, vec![Change::WindowMoved { start: Some(to_millis(two)) }]);
        assert_eq!((en_route.rescheduled_start(), en_route.reminder_start()), (Some(two), None));
        // An estimate was never booked: its window moving tells the customer nothing; its
        // technicians hear of it (window_moved_to).
        let estimate = event(JobStatus::Estimate, vec![Change::WindowMoved { start: Some(to_millis(two)) }]);
        assert_eq!((estimate.rescheduled_start(), estimate.window_moved_to()), (None, Some(two)));
        let removed = event(JobStatus::Scheduled, vec![Change::WindowMoved { start: None }]);
        assert_eq!((removed.rescheduled_start(), removed.reminder_start()), (None, None));
        // Who was told of the job, among those taken off.
        let off = event(
            JobStatus::Scheduled,
            vec![
                Change::TechRemoved { tech: TechnicianId(4), told: true },
                Change::TechRemoved { tech: TechnicianId(5), told: false },
            ],
        );
        assert_eq!(off.removed_told().collect::<Vec<_>>(), [TechnicianId(4)]);
        assert_eq!(
            status_after(
                JobStatus::Dispatched,
                &[Change::Status { from: JobStatus::Dispatched, to: JobStatus::Scheduled }]
            ),
            JobStatus::Scheduled
        );
        assert_eq!(status_after(JobStatus::OnSite, &off.changes), JobStatus::OnSite);
        // A payload from before `told` existed still decodes (told: false).
        let old: JobChanged = engine::kind::decode(
            r#"{"job_id":1,"status":"scheduled","at":0,"actor":"api","changes":[{"change":"tech_removed","tech":4}]}"#,
        )
        .unwrap();
        assert_eq!(old.changes, [Change::TechRemoved { tech: TechnicianId(4), told: false }]);
        // The payload round-trips through the engine's JSON.
        let json = serde_json::to_string(&booked).unwrap();
        assert_eq!(engine::kind::decode::<JobChanged>(&json).unwrap(), booked);
    }
}
