//! The crew on a job: what each technician is doing (assigned, en route, on site, done), how
//! their own steps in the portal move the job, and which dispatches tell the customer.
//!
//! A technician's "On my way" sends only them; the job becomes En route with its first
//! technician on the way and stays on site while anyone is there. "Work done" stops only that
//! technician; the job waits to be closed when the last one working is done. The office's
//! status buttons move the whole crew.

use super::changes::Change;
use super::model::{JobStatus, JobSummary, WorkStatus};
use super::store;
use crate::Result;
use crate::db::Tx;
use crate::ids::TechnicianId;

/// What a technician taps in the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    OnMyWay,
    Arrived,
    WorkDone,
}

impl Step {
    pub const ALL: [Step; 3] = [Step::OnMyWay, Step::Arrived, Step::WorkDone];

    /// The job status the step stands for in forms (On my way: `dispatched`).
    pub fn job_status(self) -> JobStatus {
        match self {
            Step::OnMyWay => JobStatus::Dispatched,
            Step::Arrived => JobStatus::OnSite,
            Step::WorkDone => JobStatus::PendingClose,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Step::OnMyWay => "On my way",
            Step::Arrived => "Arrived",
            Step::WorkDone => "Work done",
        }
    }

    /// The steps a technician doing `work` on a job in `status` can take.
    pub fn available(status: JobStatus, work: WorkStatus) -> Vec<Step> {
        Step::ALL.into_iter().filter(|s| tech_step(status, &[], None, work, *s).is_ok()).collect()
    }
}

/// The crew's work after the office moves the job to `to`: the technicians whose work changes,
/// with their new work. Dispatching sends everyone not already working; arriving puts everyone
/// not done on site; any other status ends (or resets) everyone's work.
pub fn office_move(crew: &[(TechnicianId, WorkStatus)], to: JobStatus) -> Vec<(TechnicianId, WorkStatus)> {
    let target = WorkStatus::for_job(to);
    crew.iter()
        .filter(|(_, w)| match to {
            JobStatus::Dispatched => !w.working(),
            JobStatus::OnSite => *w != WorkStatus::OnSite && *w != WorkStatus::Done,
            _ => *w != target,
        })
        .map(|(t, _)| (*t, target))
        .collect()
}

/// A technician's own step on a job in `status`: their new work and the job's new status, if
/// it changes. `others` are the rest of the crew. A refusal says why, in words for the portal.
pub fn tech_step(
    status: JobStatus,
    others: &[(TechnicianId, WorkStatus)],
    tech: Option<TechnicianId>,
    work: WorkStatus,
    step: Step,
) -> Result<(WorkStatus, Option<JobStatus>), String> {
    let others_working = others.iter().any(|(t, w)| Some(*t) != tech && w.working());
    let ask = |what: &str| Err(format!("this job is {what}; ask the office", what = what));
    match step {
        Step::OnMyWay => {
            if work.working() {
                return Err(format!("you are already {}", work.label().to_lowercase()));
            }
            match status {
                JobStatus::Scheduled => Ok((WorkStatus::EnRoute, Some(JobStatus::Dispatched))),
                JobStatus::Dispatched | JobStatus::OnSite => Ok((WorkStatus::EnRoute, None)),
                other => ask(&other.label().to_lowercase()),
            }
        }
        Step::Arrived => {
            if work == WorkStatus::OnSite {
                return Err("you are already on site".into());
            }
            match status {
                JobStatus::Scheduled | JobStatus::Dispatched | JobStatus::PendingClose => {
                    Ok((WorkStatus::OnSite, Some(JobStatus::OnSite)))
                }
                JobStatus::OnSite => Ok((WorkStatus::OnSite, None)),
                other => ask(&other.label().to_lowercase()),
            }
        }
        Step::WorkDone => {
            if work != WorkStatus::OnSite || status != JobStatus::OnSite {
                return Err("tap Arrived when you get there first".into());
            }
            // The job waits to be closed once nobody else is working it.
            Ok((WorkStatus::Done, (!others_working).then_some(JobStatus::PendingClose)))
        }
    }
}

/// Records the crew's `changes` inside `tx`; returns them as job changes: each technician's
/// new work, and "on the way" for each one newly sent (`before` is the crew before the
/// change), which the customer's notifications decide about.
pub(super) async fn apply_in(
    tx: &mut Tx,
    job: &JobSummary,
    before: &[(TechnicianId, WorkStatus)],
    changes: &[(TechnicianId, WorkStatus)],
) -> Result<Vec<Change>> {
    let mut working: Vec<TechnicianId> = before.iter().filter(|(_, w)| w.working()).map(|(t, _)| *t).collect();
    let mut out = Vec::new();
    for (tech, work) in changes {
        store::set_work(tx, job.org_id, job.id, *tech, *work).await?;
        let newly_sent = *work == WorkStatus::EnRoute && !working.contains(tech);
        if newly_sent {
            out.push(Change::OnTheWay { tech: Some(*tech), was_working: working.clone() });
            working.push(*tech);
        } else {
            out.push(Change::Work { tech: *tech, work: *work });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: TechnicianId = TechnicianId(1);
    const B: TechnicianId = TechnicianId(2);

    #[test]
    fn the_first_technician_on_the_way_dispatches_the_job_and_later_ones_join_it() {
        use WorkStatus::*;
        assert_eq!(
            tech_step(JobStatus::Scheduled, &[], Some(A), Assigned, Step::OnMyWay),
            Ok((EnRoute, Some(JobStatus::Dispatched)))
        );
        assert_eq!(
            tech_step(JobStatus::Dispatched, &[(A, EnRoute)], Some(B), Assigned, Step::OnMyWay),
            Ok((EnRoute, None))
        );
        assert_eq!(tech_step(JobStatus::OnSite, &[(A, OnSite)], Some(B), Done, Step::OnMyWay), Ok((EnRoute, None)));
        assert!(
            tech_step(JobStatus::Dispatched, &[], Some(A), EnRoute, Step::OnMyWay)
                .unwrap_err()
                .contains("already en route")
        );
        assert!(
            tech_step(JobStatus::PendingClose, &[], Some(A), Done, Step::OnMyWay)
                .unwrap_err()
                .contains("ask the office")
        );
        assert!(tech_step(JobStatus::Estimate, &[], Some(A), Assigned, Step::OnMyWay).is_err());
    }

    #[test]
    fn the_job_waits_to_close_only_when_the_last_one_working_is_done() {
        use WorkStatus::*;
        let crew = [(A, OnSite), (B, OnSite)];
        assert_eq!(tech_step(JobStatus::OnSite, &crew, Some(A), OnSite, Step::WorkDone), Ok((Done, None)));
        let crew = [(A, Done), (B, OnSite)];
        assert_eq!(
            tech_step(JobStatus::OnSite, &crew, Some(B), OnSite, Step::WorkDone),
            Ok((Done, Some(JobStatus::PendingClose)))
        );
        // Someone still driving there keeps the job open.
        let crew = [(A, OnSite), (B, EnRoute)];
        assert_eq!(tech_step(JobStatus::OnSite, &crew, Some(A), OnSite, Step::WorkDone), Ok((Done, None)));
        assert!(tech_step(JobStatus::Dispatched, &[], Some(A), EnRoute, Step::WorkDone).is_err(), "arrive first");
        // Arriving after the job was marked done reopens the work.
        assert_eq!(
            tech_step(JobStatus::PendingClose, &[], Some(A), Done, Step::Arrived),
            Ok((OnSite, Some(JobStatus::OnSite)))
        );
    }

    #[test]
    fn office_moves_carry_the_whole_crew() {
        use WorkStatus::*;
        let crew = [(A, Assigned), (B, OnSite)];
        assert_eq!(office_move(&crew, JobStatus::Dispatched), vec![(A, EnRoute)]);
        assert_eq!(office_move(&crew, JobStatus::OnSite), vec![(A, OnSite)]);
        assert_eq!(office_move(&crew, JobStatus::PendingClose), vec![(A, Done), (B, Done)]);
        assert_eq!(office_move(&[(A, EnRoute)], JobStatus::Scheduled), vec![(A, Assigned)]);
        assert_eq!(office_move(&[(A, Done)], JobStatus::OnSite), vec![]);
    }

    #[test]
    fn the_portal_offers_what_the_technician_can_do() {
        use WorkStatus::*;
        assert_eq!(Step::available(JobStatus::Scheduled, Assigned), vec![Step::OnMyWay, Step::Arrived]);
        assert_eq!(Step::available(JobStatus::Dispatched, EnRoute), vec![Step::Arrived]);
        assert_eq!(Step::available(JobStatus::OnSite, OnSite), vec![Step::WorkDone]);
        assert_eq!(Step::available(JobStatus::OnSite, Assigned), vec![Step::OnMyWay, Step::Arrived]);
        assert_eq!(Step::available(JobStatus::Completed, Done), vec![]);
    }
}
