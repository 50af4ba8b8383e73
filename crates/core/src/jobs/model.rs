//! Job types. The status machine's transitions arrive with the jobs issue; the statuses and
//! their names are fixed here because every screen shows them.

use serde::{Deserialize, Serialize};

use crate::ids::{BrandId, CustomerId, JobId, OrgId, TechnicianId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Estimate,
    Scheduled,
    /// Shown as "En route": a technician has been sent.
    Dispatched,
    OnSite,
    PendingClose,
    Completed,
    Canceled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Estimate,
        JobStatus::Scheduled,
        JobStatus::Dispatched,
        JobStatus::OnSite,
        JobStatus::PendingClose,
        JobStatus::Completed,
        JobStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Estimate => "estimate",
            JobStatus::Scheduled => "scheduled",
            JobStatus::Dispatched => "dispatched",
            JobStatus::OnSite => "on_site",
            JobStatus::PendingClose => "pending_close",
            JobStatus::Completed => "completed",
            JobStatus::Canceled => "canceled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            JobStatus::Estimate => "Estimate",
            JobStatus::Scheduled => "Scheduled",
            JobStatus::Dispatched => "En route",
            JobStatus::OnSite => "On site",
            JobStatus::PendingClose => "Pending close",
            JobStatus::Completed => "Completed",
            JobStatus::Canceled => "Canceled",
        }
    }

    pub fn parse(s: &str) -> Result<JobStatus, String> {
        JobStatus::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| format!("\"{s}\" is not a job status"))
    }

    /// Where a job sits in a dispatcher's list: work in progress first (on site, en route,
    /// waiting to close), then what is coming (scheduled, estimates), then what is done.
    pub fn attention_rank(self) -> u8 {
        match self {
            JobStatus::OnSite => 0,
            JobStatus::Dispatched => 1,
            JobStatus::PendingClose => 2,
            JobStatus::Scheduled => 3,
            JobStatus::Estimate => 4,
            JobStatus::Completed => 5,
            JobStatus::Canceled => 6,
        }
    }

    /// The statuses a job may move to from this one. Canceling is possible from every open
    /// status; a completed job can be reopened (to Scheduled, with a reason); a canceled one
    /// is final. A technician may arrive without having tapped "On my way" first.
    pub fn next(self) -> &'static [JobStatus] {
        use JobStatus::*;
        match self {
            Estimate => &[Scheduled, Canceled],
            Scheduled => &[Dispatched, OnSite, Canceled],
            Dispatched => &[OnSite, Scheduled, Canceled],
            OnSite => &[PendingClose, Canceled],
            PendingClose => &[Completed, OnSite, Canceled],
            Completed => &[Scheduled],
            Canceled => &[],
        }
    }

    /// Checks a move; the reason is required when reopening a completed job.
    pub fn check_move(self, to: JobStatus, reason: Option<&str>) -> Result<(), TransitionError> {
        if !self.next().contains(&to) {
            return Err(TransitionError {
                message: if self.next().is_empty() {
                    format!("a {} job cannot change status", self.label().to_lowercase())
                } else {
                    format!(
                        "a job that is {} cannot become {}; it can become {}",
                        self.label().to_lowercase(),
                        to.label().to_lowercase(),
                        self.next().iter().map(|s| s.label().to_lowercase()).collect::<Vec<_>>().join(", ")
                    )
                },
                allowed: self.next().to_vec(),
            });
        }
        if self == JobStatus::Completed && reason.is_none_or(|r| r.trim().is_empty()) {
            return Err(TransitionError {
                message: "say why the job is reopened".into(),
                allowed: self.next().to_vec(),
            });
        }
        Ok(())
    }

    /// Open jobs still need someone's attention.
    pub fn is_open(self) -> bool {
        !matches!(self, JobStatus::Completed | JobStatus::Canceled)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionError {
    pub message: String,
    pub allowed: Vec<JobStatus>,
}

/// A technician on a job, as lists show them.
#[derive(Debug, Clone, Serialize)]
pub struct JobTech {
    pub id: TechnicianId,
    pub name: String,
    pub photo_url: Option<String>,
}

impl JobTech {
    pub fn first_name(&self) -> &str {
        self.name.split_whitespace().next().unwrap_or(&self.name)
    }
}

/// One row of the jobs table.
#[derive(Debug, Clone, Serialize)]
pub struct JobSummary {
    pub id: JobId,
    pub org_id: OrgId,
    pub brand_id: BrandId,
    pub code: String,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub service: String,
    pub status: JobStatus,
    pub address: Option<String>,
    pub scheduled_start: Option<jiff::Timestamp>,
    pub scheduled_end: Option<jiff::Timestamp>,
    pub techs: Vec<JobTech>,
}

/// What the jobs table shows: all jobs, or one brand's, or one status.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub brand: Option<BrandId>,
    pub status: Option<JobStatus>,
}

/// Everything needed to create a job; the code is assigned from the brand's sequence.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub brand: BrandId,
    pub customer: CustomerId,
    pub service: String,
    pub status: JobStatus,
    pub address: Option<String>,
    pub scheduled_start: Option<jiff::Timestamp>,
    pub scheduled_end: Option<jiff::Timestamp>,
    pub techs: Vec<TechnicianId>,
}

/// "Miguel Alvarez" -> "M. Alvarez", the way a busy board names customers.
pub fn short_name(full: &str) -> String {
    let parts: Vec<&str> = full.split_whitespace().collect();
    match parts.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [first, .., last] => match first.chars().next() {
            Some(initial) => format!("{initial}. {last}"),
            None => (*last).to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_read_as_dispatchers_say_them() {
        for st in JobStatus::ALL {
            assert_eq!(JobStatus::parse(st.as_str()), Ok(st));
        }
        assert_eq!(JobStatus::Dispatched.label(), "En route");
        assert_eq!(JobStatus::PendingClose.label(), "Pending close");
        assert!(JobStatus::parse("done").is_err());
        assert!(JobStatus::OnSite.is_open());
        let mut ranked = JobStatus::ALL.to_vec();
        ranked.sort_by_key(|s| s.attention_rank());
        let labels: Vec<_> = ranked.iter().map(|s| s.label()).collect();
        assert_eq!(labels, ["On site", "En route", "Pending close", "Scheduled", "Estimate", "Completed", "Canceled"]);
        assert!(!JobStatus::Canceled.is_open());
    }

    /// Every pair of statuses, spelled out: what the status machine allows.
    #[test]
    fn the_status_machine_allows_exactly_these_moves() {
        use JobStatus::*;
        let allowed = [
            (Estimate, Scheduled),
            (Estimate, Canceled),
            (Scheduled, Dispatched),
            (Scheduled, OnSite),
            (Scheduled, Canceled),
            (Dispatched, OnSite),
            (Dispatched, Scheduled),
            (Dispatched, Canceled),
            (OnSite, PendingClose),
            (OnSite, Canceled),
            (PendingClose, Completed),
            (PendingClose, OnSite),
            (PendingClose, Canceled),
            (Completed, Scheduled),
        ];
        for from in JobStatus::ALL {
            for to in JobStatus::ALL {
                let want = allowed.contains(&(from, to));
                let got = from.check_move(to, Some("customer called back")).is_ok();
                assert_eq!(got, want, "{from:?} -> {to:?}");
            }
        }
        assert_eq!(allowed.len(), JobStatus::ALL.iter().map(|s| s.next().len()).sum::<usize>());
    }

    #[test]
    fn refusals_say_what_is_possible() {
        let err = JobStatus::Estimate.check_move(JobStatus::Completed, None).unwrap_err();
        assert_eq!(err.message, "a job that is estimate cannot become completed; it can become scheduled, canceled");
        assert_eq!(err.allowed, [JobStatus::Scheduled, JobStatus::Canceled]);
        assert_eq!(
            JobStatus::Canceled.check_move(JobStatus::Scheduled, None).unwrap_err().message,
            "a canceled job cannot change status"
        );
        assert!(JobStatus::Completed.check_move(JobStatus::Scheduled, None).unwrap_err().message.contains("why"));
        assert!(JobStatus::Completed.check_move(JobStatus::Scheduled, Some("  ")).is_err());
        assert!(JobStatus::Completed.check_move(JobStatus::Scheduled, Some("leak came back")).is_ok());
    }

    #[test]
    fn short_names() {
        assert_eq!(short_name("Miguel Alvarez"), "M. Alvarez");
        assert_eq!(short_name("Mary Ann de Souza"), "M. Souza");
        assert_eq!(short_name("Cher"), "Cher");
        assert_eq!(short_name("  "), "");
    }
}
