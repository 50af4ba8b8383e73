//! Job types and their pure rules: the status machine, line item arithmetic, what an edit
//! changes.

pub use crate::geo::GeoPoint;
use serde::{Deserialize, Serialize};

use crate::money::Money;

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
    /// What they are doing on this job.
    pub work: WorkStatus,
}

/// What one technician is doing on a job. The job's status says where the job is; this says
/// who of its crew is working the site, which decides whether a later dispatch tells the
/// customer and when the job is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkStatus {
    Assigned,
    EnRoute,
    OnSite,
    Done,
}

impl WorkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkStatus::Assigned => "assigned",
            WorkStatus::EnRoute => "en_route",
            WorkStatus::OnSite => "on_site",
            WorkStatus::Done => "done",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            WorkStatus::Assigned => "Assigned",
            WorkStatus::EnRoute => "En route",
            WorkStatus::OnSite => "On site",
            WorkStatus::Done => "Done",
        }
    }

    pub fn parse(s: &str) -> Result<WorkStatus, String> {
        [WorkStatus::Assigned, WorkStatus::EnRoute, WorkStatus::OnSite, WorkStatus::Done]
            .into_iter()
            .find(|w| w.as_str() == s)
            .ok_or_else(|| format!("\"{s}\" is not a work status"))
    }

    /// En route or on site.
    pub fn working(self) -> bool {
        matches!(self, WorkStatus::EnRoute | WorkStatus::OnSite)
    }

    /// What the crew is doing once the office moves the whole job to `status`.
    pub fn for_job(status: JobStatus) -> WorkStatus {
        match status {
            JobStatus::Dispatched => WorkStatus::EnRoute,
            JobStatus::OnSite => WorkStatus::OnSite,
            JobStatus::PendingClose | JobStatus::Completed | JobStatus::Canceled => WorkStatus::Done,
            JobStatus::Estimate | JobStatus::Scheduled => WorkStatus::Assigned,
        }
    }
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
    pub location: Option<GeoPoint>,
    /// A dispatcher (or the geocoder) confirmed the coordinates are the service address.
    pub location_verified: bool,
    /// For the office only.
    pub internal_notes: Option<String>,
    /// Shown to the technician and the customer (gate codes, pets, parking).
    pub customer_notes: Option<String>,
    /// Counts every change to the job (edits, status, technicians): an edit made against an
    /// older one is stale.
    pub version: i64,
    /// The customer's service location the job is at (its address is the job's own copy).
    pub service_location: Option<SiteRef>,
}

/// The service location a job is at, as the job page and the technician need it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteRef {
    pub id: crate::ids::LocationId,
    pub label: Option<String>,
    /// Gate code, pets, parking: kept on the location, shown with every job there.
    pub access_notes: Option<String>,
}

impl JobSummary {
    pub fn has_tech(&self, tech: TechnicianId) -> bool {
        self.techs.iter().any(|t| t.id == tech)
    }

    pub fn tech(&self, tech: TechnicianId) -> Option<&JobTech> {
        self.techs.iter().find(|t| t.id == tech)
    }

    /// Technicians en route or on site.
    pub fn working(&self) -> impl Iterator<Item = &JobTech> {
        self.techs.iter().filter(|t| t.work.working())
    }
}

/// One billable line of a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineItem {
    pub id: i64,
    pub description: String,
    /// Hundredths: 150 is 1.5 (hours, feet, units).
    pub quantity_x100: i64,
    pub unit_price: Money,
    pub taxable: bool,
    pub added_by: String,
}

impl LineItem {
    /// Quantity times price, rounded to the cent half away from zero ([`Money::times`]).
    pub fn total(&self) -> Money {
        self.unit_price.times(self.quantity_x100)
    }
}

/// "1", "1.5", "0.25" -> hundredths. At most two decimals, more than zero, at most 100,000.
pub fn parse_quantity(s: &str) -> Result<i64, String> {
    let v =
        crate::money::parse_hundredths(s).ok_or_else(|| format!("\"{}\" is not a quantity like 1 or 1.5", s.trim()))?;
    if v <= 0 {
        return Err("the quantity must be more than zero".into());
    }
    if v > 100_000 * 100 {
        return Err("the quantity is too large".into());
    }
    Ok(v)
}

/// Hundredths as "1", "1.5", "0.25".
pub fn format_quantity(x100: i64) -> String {
    let (whole, frac) = (x100 / 100, x100 % 100);
    match frac {
        0 => whole.to_string(),
        f if f % 10 == 0 => format!("{whole}.{}", f / 10),
        f => format!("{whole}.{f:02}"),
    }
}

/// A photo of a job; the bytes live in blob storage under `storage_key`.
#[derive(Debug, Clone, Serialize)]
pub struct JobPhoto {
    pub id: i64,
    pub content_type: String,
    pub size_bytes: i64,
    pub added_by: String,
    pub created_at: jiff::Timestamp,
    #[serde(skip)]
    pub storage_key: String,
}

/// An edit of a job: `None` leaves a field alone; `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default)]
pub struct JobPatch {
    /// The version the editor saw ([`JobSummary::version`]); a job changed since refuses the
    /// edit. `None` edits whatever is there (API clients that do not send it).
    pub version: Option<i64>,
    pub service: Option<String>,
    pub address: Option<Option<String>>,
    /// One of the customer's service locations: the job goes there (its address with it).
    pub service_location: Option<crate::ids::LocationId>,
    pub location: Option<Option<GeoPoint>>,
    pub location_verified: Option<bool>,
    pub scheduled_start: Option<Option<jiff::Timestamp>>,
    pub scheduled_end: Option<Option<jiff::Timestamp>>,
    pub internal_notes: Option<Option<String>>,
    pub customer_notes: Option<Option<String>>,
}

/// What the jobs table shows: all jobs, or one brand's, or one status.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub brand: Option<BrandId>,
    pub status: Option<JobStatus>,
    pub tech: Option<TechnicianId>,
    pub customer: Option<CustomerId>,
    /// Jobs whose window starts in `[from, to)`.
    pub from: Option<jiff::Timestamp>,
    pub to: Option<jiff::Timestamp>,
    /// Matches code, customer name, service or address, case-insensitively.
    pub search: Option<String>,
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
    fn quantities_and_money_parse_the_way_people_type_them() {
        assert_eq!(parse_quantity("1"), Ok(100));
        assert_eq!(parse_quantity(" 1.5 "), Ok(150));
        assert_eq!(parse_quantity(".25"), Ok(25));
        assert!(parse_quantity("0").unwrap_err().contains("more than zero"));
        assert!(parse_quantity("-1").is_err());
        assert!(parse_quantity("1.255").is_err());
        assert!(parse_quantity("abc").unwrap_err().contains("\"abc\""));
        assert!(parse_quantity("").is_err());
        assert!(parse_quantity(".").is_err());
        assert!(parse_quantity("1e3").is_err());
        // Prices: crate::money's tests.
    }

    #[test]
    fn line_totals_round_half_up_in_cents() {
        let line = |quantity_x100, cents| LineItem {
            id: 0,
            description: "Labor".into(),
            quantity_x100,
            unit_price: Money::usd(cents),
            taxable: false,
            added_by: "api".into(),
        };
        assert_eq!(line(150, 8_950).total(), Money::usd(13_425));
        // 0.33 x $0.05 = 1.65 cents -> 2 cents.
        assert_eq!(line(33, 5).total(), Money::usd(2));
        assert_eq!(line(100, 0).total(), Money::usd(0));
        assert_eq!(format_quantity(150), "1.5");
        assert_eq!(format_quantity(25), "0.25");
        assert_eq!(format_quantity(300), "3");
    }

    #[test]
    fn geo_points_are_checked_and_measured() {
        assert!(GeoPoint::new(91.0, 0.0).is_err());
        assert!(GeoPoint::new(0.0, -180.5).is_err());
        assert!(GeoPoint::new(f64::NAN, 0.0).is_err());
        let denver = GeoPoint::new(39.7392, -104.9903).unwrap();
        let boulder = GeoPoint::new(40.0150, -105.2705).unwrap();
        let d = denver.distance_m(boulder);
        assert!((d - 38_900.0).abs() < 500.0, "{d}");
        let (lat, lon) = denver.to_e6();
        assert_eq!((lat, lon), (39_739_200, -104_990_300));
        assert_eq!(GeoPoint::from_e6(lat, lon), denver);
    }

    #[test]
    fn short_names() {
        assert_eq!(short_name("Miguel Alvarez"), "M. Alvarez");
        assert_eq!(short_name("Mary Ann de Souza"), "M. Souza");
        assert_eq!(short_name("Cher"), "Cher");
        assert_eq!(short_name("  "), "");
    }
}
