//! Arrival tracking for customers: a private link per job (a capability link, scope
//! `tracking`, working while the job is open) to a page with who is coming and, when the address is
//! verified and the technician shares their location, how far away they are and when they
//! should arrive.

use crate::clock::Clock;
use crate::db::{Db, Tx};
use crate::ids::{JobId, OrgId, TechnicianId};
use crate::jobs::JobSummary;
use crate::links::{NewLink, Scope};
use crate::technicians::Technician;
use crate::{Error, Result};

/// Road distance is longer than the straight line; this is the usual urban factor.
pub const DETOUR_FACTOR: f64 = 1.3;
/// Average driving speed in town, km/h.
pub const AVERAGE_SPEED_KMH: f64 = 40.0;

/// Arrival estimates never say more than a day.
pub const MAX_ETA_MINUTES: i64 = 24 * 60;

/// Minutes to drive `straight_m` metres of straight-line distance (at least one).
pub fn eta_minutes(straight_m: f64) -> i64 {
    let road_km = straight_m * DETOUR_FACTOR / 1000.0;
    ((road_km / AVERAGE_SPEED_KMH * 60.0).ceil() as i64).clamp(1, MAX_ETA_MINUTES)
}

/// "3.2 mi" (or "800 ft" close by) for US customers.
pub fn miles(metres: f64) -> String {
    let mi = metres / 1609.344;
    if mi < 0.2 { format!("{} ft", ((metres * 3.28084) / 50.0).round() as i64 * 50) } else { format!("{mi:.1} mi") }
}

/// Creates a tracking link for the job inside `tx`; returns its URL.
/// The page follows `tech` (the one whose "on the way" message carried the link).
pub async fn issue_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    job: JobId,
    tech: Option<TechnicianId>,
    base_url: &str,
) -> Result<String> {
    let link = NewLink { scope: Scope::Tracking, subject: job.0, about: tech.map(|t| t.0), expires_at: None };
    let token = crate::links::issue_in(tx, clock, org, &link).await?;
    Ok(format!("{base_url}/t/{token}"))
}

/// How far the technician is and how long they need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Metres to go: by road when the route service answered, else in a straight line.
    pub metres: f64,
    pub minutes: i64,
    /// From the route service (else the straight-line estimate).
    pub routed: bool,
}

impl Estimate {
    pub fn arrives_at(&self, now: jiff::Timestamp) -> jiff::Timestamp {
        now + jiff::SignedDuration::from_mins(self.minutes)
    }
}

/// The technician's distance and driving time to the job, when the job's pin is verified and
/// they shared their location in the last 30 minutes: from the route service when one is
/// configured and answers, else the straight line with the detour factor.
pub async fn estimate(
    router: &crate::providers::maps::Router,
    job: &JobSummary,
    tech: &Technician,
    now: jiff::Timestamp,
) -> Option<Estimate> {
    let straight = distance_m(job, tech, now)?;
    let (from, to) = (tech.last_location?.point, job.location?);
    Some(match router.drive(from, to).await {
        // A route service answering nonsense (a day's drive across town) is capped.
        Some(d) => Estimate {
            metres: d.metres,
            minutes: ((d.seconds / 60.0).ceil() as i64).clamp(1, MAX_ETA_MINUTES),
            routed: true,
        },
        None => Estimate { metres: straight, minutes: eta_minutes(straight), routed: false },
    })
}

/// What the tracking page shows.
#[derive(Debug, Clone)]
pub struct Tracking {
    pub job: JobSummary,
    pub tech: Option<Technician>,
    /// Distance and time to go, when the address is verified and a location was shared in the
    /// last 30 minutes.
    pub estimate: Option<Estimate>,
}

/// What the tracking page shows for a token: [`job_of`] and the estimate.
pub async fn lookup(
    db: &Db,
    clock: &dyn Clock,
    router: &crate::providers::maps::Router,
    token: &str,
) -> Result<Tracking> {
    let job = job_of(db, clock, token).await?;
    // The technician the link was sent about while they work the job; else whoever is
    // working it; else the one it was about, or the first.
    let about = job.about.and_then(|t| job.job.tech(t));
    let shown = about
        .filter(|t| t.work.working())
        .or_else(|| job.job.working().next())
        .or(about)
        .or(job.job.techs.first())
        .map(|t| t.id);
    let tech = match shown {
        Some(t) => Some(crate::technicians::get(db, job.job.org_id, t).await?),
        None => None,
    };
    let estimate = match &tech {
        Some(t) => estimate(router, &job.job, t, clock.now()).await,
        None => None,
    };
    Ok(Tracking { estimate, tech, job: job.job })
}

/// The open job behind a tracking token, and the technician its message was about.
pub struct TokenJob {
    pub job: JobSummary,
    pub about: Option<TechnicianId>,
}

/// The job behind a tracking token; any bad, unknown or finished job's token is `NotFound`.
pub async fn job_of(db: &Db, clock: &dyn Clock, token: &str) -> Result<TokenJob> {
    let link = crate::links::check(db, clock, Scope::Tracking, token).await?;
    let job = crate::jobs::get(db, link.org, JobId(link.subject)).await?;
    if !job.status.is_open() {
        return Err(Error::NotFound);
    }
    Ok(TokenJob { job, about: link.about.map(TechnicianId) })
}

/// A shared location older than this says nothing about where the technician is now.
pub const LOCATION_FRESH_FOR: jiff::SignedDuration = jiff::SignedDuration::from_mins(30);

/// Straight-line metres from the technician's fresh shared location to the job, when the
/// job's pin is verified.
pub fn distance_m(job: &JobSummary, tech: &Technician, now: jiff::Timestamp) -> Option<f64> {
    let dest = job.location.filter(|_| job.location_verified)?;
    let here = tech.last_location.filter(|l| now.duration_since(l.at) <= LOCATION_FRESH_FOR)?;
    Some(here.point.distance_m(dest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_uses_the_detour_factor_and_average_speed() {
        // 10 km straight -> 13 km by road at 40 km/h = 19.5 -> 20 minutes.
        assert_eq!(eta_minutes(10_000.0), 20);
        assert_eq!(eta_minutes(0.0), 1, "never 'arriving in 0 minutes'");
        assert_eq!(eta_minutes(500.0), 1);
        assert_eq!(miles(5_150.0), "3.2 mi");
        assert_eq!(miles(120.0), "400 ft");
    }
}
