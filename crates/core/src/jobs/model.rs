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

    /// Open jobs still need someone's attention.
    pub fn is_open(self) -> bool {
        !matches!(self, JobStatus::Completed | JobStatus::Canceled)
    }
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

    #[test]
    fn short_names() {
        assert_eq!(short_name("Miguel Alvarez"), "M. Alvarez");
        assert_eq!(short_name("Mary Ann de Souza"), "M. Souza");
        assert_eq!(short_name("Cher"), "Cher");
        assert_eq!(short_name("  "), "");
    }
}
