//! The technician portal's links: who a link lets in, until when, and the text that carries it.
//!
//! A link is `{public_url}/p/{token}`: a capability link ([`crate::links`], scope `portal`)
//! to one technician. It expires at the end of the next day in the brand's time zone (or after
//! a configured number of hours). An admin can revoke a technician's links; a fresh one is
//! texted at once (rotation). Every failure looks the same from outside.

/// Registers the listener that texts technicians their portal link when jobs change.
pub fn register(workers: &mut crate::engine::Workers, links: PortalLinks) {
    workers.listen(AssignmentTexts { links });
}

use std::sync::Arc;

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::clock::{Clock, to_millis};
use crate::db::{Db, Tx};
use crate::engine::{BoxFuture, Listener, WorkContext, WorkItem};
use crate::ids::{OrgId, TechnicianId};
use crate::jobs::changes::JobChanged;
use crate::jobs::{JobFilter, JobStatus, JobSummary};
use crate::links::{NewLink, Scope};
use crate::technicians::{self, Technician};
use crate::tenancy::{self, Brand};
use crate::{Error, Result};

/// How portal links are built and how long they last.
#[derive(Debug, Clone)]
pub struct PortalLinks {
    /// The server's public URL, without a trailing slash.
    pub base_url: String,
    /// `None`: until the end of the next day in the brand's time zone.
    pub valid_hours: Option<u32>,
}

/// The longest a link may be configured to last: a year.
pub const MAX_VALID_HOURS: u32 = 24 * 366;

impl PortalLinks {
    pub fn expiry(&self, now: Timestamp, tz: &TimeZone) -> Timestamp {
        match self.valid_hours {
            Some(h) => {
                let h = i64::from(h.min(MAX_VALID_HOURS));
                now.checked_add(jiff::SignedDuration::from_hours(h)).unwrap_or(now)
            }
            None => end_of_next_day(now, tz),
        }
    }
}

/// Midnight at the end of tomorrow, local time (the start of the day after tomorrow).
pub fn end_of_next_day(now: Timestamp, tz: &TimeZone) -> Timestamp {
    let today = now.to_zoned(tz.clone()).date();
    let day_after = today.checked_add(2.days()).unwrap_or(today);
    day_after
        .to_zoned(tz.clone())
        .map(|z| z.timestamp())
        // Only unrepresentable far-future dates fail; a day later is then as good.
        .unwrap_or(now + 48.hours())
}

/// A technician let in by a valid link.
#[derive(Debug, Clone)]
pub struct PortalAccess {
    pub org: OrgId,
    pub tech: Technician,
    pub expires_at: Timestamp,
}

/// Creates a link for the technician inside `tx`; returns the URL. The token is not stored.
/// A link texted days before the job lasts through the job's day (until the end of the day
/// after it starts), so it still works when the technician needs it.
pub async fn issue_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    tech: TechnicianId,
    tz: &TimeZone,
    links: &PortalLinks,
    job_start: Option<Timestamp>,
) -> Result<String> {
    let token = crate::links::issue_in(tx, clock, org, &portal_link(tech, expiry(clock, tz, links, job_start))).await?;
    Ok(format!("{}/p/{token}", links.base_url))
}

/// When a link issued now lasts until (through the day of a job starting later).
fn expiry(clock: &dyn Clock, tz: &TimeZone, links: &PortalLinks, job_start: Option<Timestamp>) -> Timestamp {
    let now = clock.now();
    match job_start {
        Some(start) if start > now => links.expiry(now, tz).max(links.expiry(start, tz)),
        _ => links.expiry(now, tz),
    }
}

fn portal_link(tech: TechnicianId, expires_at: Timestamp) -> NewLink {
    NewLink { scope: Scope::Portal, subject: tech.0, about: None, expires_at: Some(expires_at) }
}

/// Who the token lets in. Malformed, unknown, expired and revoked tokens are all `NotFound`
/// (the reason is logged, not shown).
pub async fn authenticate(db: &Db, clock: &dyn Clock, token: &str) -> Result<PortalAccess> {
    let link = crate::links::check(db, clock, Scope::Portal, token).await?;
    let tech = technicians::get(db, link.org, TechnicianId(link.subject)).await?;
    if !tech.active {
        tracing::info!(tech = link.subject, "portal link refused: technician inactive");
        return Err(Error::NotFound);
    }
    Ok(PortalAccess { org: link.org, tech, expires_at: link.expires_at.unwrap_or(Timestamp::MAX) })
}

/// The technician's stops: jobs under way, and today's jobs (in each brand's time zone) in
/// the order of their windows. Canceled jobs are left out; finished ones stay, marked done.
pub async fn stops(db: &Db, clock: &dyn Clock, access: &PortalAccess) -> Result<Vec<JobSummary>> {
    let now = clock.now();
    let around_today = JobFilter {
        tech: Some(access.tech.id),
        from: Some(now - 40.hours()),
        to: Some(now + 40.hours()),
        ..JobFilter::default()
    };
    let mut found = crate::jobs::list(db, access.org, &around_today).await?;
    // Work under way shows whatever its window says (or if it has none).
    for status in [JobStatus::Dispatched, JobStatus::OnSite, JobStatus::PendingClose] {
        let under_way = JobFilter { tech: Some(access.tech.id), status: Some(status), ..JobFilter::default() };
        for j in crate::jobs::list(db, access.org, &under_way).await? {
            if !found.iter().any(|f| f.id == j.id) {
                found.push(j);
            }
        }
    }
    let brands = tenancy::list_brands(db, access.org).await?;
    let mut jobs: Vec<JobSummary> = found
        .into_iter()
        .filter(|j| j.status != JobStatus::Canceled)
        .filter(|j| {
            let active = matches!(j.status, JobStatus::Dispatched | JobStatus::OnSite | JobStatus::PendingClose);
            // Every job has a brand of its organization (a foreign key): its zone says "today".
            let tz = brands.iter().find(|b| b.id == j.brand_id).map(Brand::zone);
            let today = |tz: &TimeZone, s: Timestamp| s.to_zoned(tz.clone()).date() == now.to_zoned(tz.clone()).date();
            active || tz.zip(j.scheduled_start).is_some_and(|(tz, s)| today(&tz, s))
        })
        .collect();
    jobs.sort_by_key(|j| (j.scheduled_start, j.id.0));
    Ok(jobs)
}

/// One of the technician's jobs, or `NotFound` when it is not theirs (or not in their org).
pub async fn job(db: &Db, access: &PortalAccess, id: crate::ids::JobId) -> Result<JobSummary> {
    let job = crate::jobs::get(db, access.org, id).await?;
    if !job.has_tech(access.tech.id) {
        return Err(Error::NotFound);
    }
    Ok(job)
}

/// Revokes every link of the technician and, with `send_new`, texts a fresh one (when they have
/// a mobile number and a brand has an SMS number). A lost phone should not get the new link;
/// a forwarded link should be replaced. Returns how many links were revoked and whether a new
/// one was texted.
pub async fn revoke(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    tech: TechnicianId,
    links: &PortalLinks,
    send_new: bool,
) -> Result<(u64, bool)> {
    let technician = technicians::get(db, org, tech).await?;
    let brands = tenancy::list_brands(db, org).await?;
    // Text from the brand the technician works for most recently (its zone sets the expiry).
    let mut theirs = crate::jobs::list(db, org, &JobFilter { tech: Some(tech), ..JobFilter::default() }).await?;
    theirs.sort_by_key(|j| std::cmp::Reverse(j.scheduled_start));
    let texting = |id: crate::ids::BrandId| brands.iter().find(|b| b.id == id && b.sms_number.is_some());
    let brand =
        theirs.iter().find_map(|j| texting(j.brand_id)).or_else(|| brands.iter().find(|b| b.sms_number.is_some()));
    let mut tx = db.begin().await?;
    let phone = technician.phone.clone();
    let (revoked, queued) = if let (true, Some(brand), Some(phone)) = (send_new, brand, phone) {
        let next_job = theirs.iter().filter(|j| j.status.is_open()).filter_map(|j| j.scheduled_start).max();
        let link = portal_link(tech, expiry(clock, &brand.zone(), links, next_job));
        let (revoked, token) = crate::links::rotate_in(&mut tx, clock, org, &link).await?;
        let url = format!("{}/p/{token}", links.base_url);
        let body = format!("{}: your previous portal link was turned off. Your new link: {url}", brand.name);
        crate::messaging::queue_sms_in(&mut tx, clock, brand, &phone, &body).await?;
        (revoked, true)
    } else {
        (crate::links::revoke_subject_in(&mut tx, clock, org, Scope::Portal, tech.0).await?, false)
    };
    // Turned off without a new link (a lost phone): that phone gets nothing more, not even
    // the link of the next job, until a new link is texted. A new link lifts it.
    let paused = (!send_new).then(|| clock.now());
    technicians::set_links_paused_in(&mut tx, org, tech, paused).await?;
    tx.commit().await?;
    if queued {
        db.work_added();
    }
    Ok((revoked, queued))
}

/// How many working portal links each technician has.
pub async fn active_links(db: &Db, clock: &dyn Clock, org: OrgId) -> Result<Vec<(TechnicianId, i64)>> {
    Ok(crate::links::working_counts(db, clock, org, Scope::Portal)
        .await?
        .into_iter()
        .map(|(t, n)| (TechnicianId(t), n))
        .collect())
}

/// Texts technicians their portal link as jobs change ([`crate::jobs::changes`]): everyone on
/// the job not yet texted when it is dispatched, the ones put on it otherwise.
#[derive(Debug, Clone)]
pub struct AssignmentTexts {
    pub links: PortalLinks,
}

impl Listener for AssignmentTexts {
    type Event = JobChanged;
    fn react(&self, ctx: WorkContext, item: WorkItem, event: Arc<JobChanged>) -> BoxFuture<Result<()>> {
        let links = self.links.clone();
        Box::pin(async move {
            let Some(org) = item.org_id else { return Ok(()) };
            let only: Option<Vec<TechnicianId>> =
                if event.moved_to(JobStatus::Dispatched) { None } else { Some(event.added().collect()) };
            if only.as_ref().is_some_and(Vec::is_empty) {
                return Ok(());
            }
            text_links(&ctx.db, ctx.clock.as_ref(), &links, org, event.job_id, only.as_deref()).await
        })
    }
}

/// Texts technicians of the job who have not been texted about it yet their portal link: all
/// of them, or only `only`. A technician without a mobile number, opted out, or a brand without
/// an SMS number is noted in the job's history instead. Marked per technician in the same
/// transaction, so reacting twice texts once.
async fn text_links(
    db: &Db,
    clock: &dyn Clock,
    links: &PortalLinks,
    org: OrgId,
    job: crate::ids::JobId,
    only: Option<&[TechnicianId]>,
) -> Result<()> {
    let job = match crate::jobs::get(db, org, job).await {
        Ok(j) => j,
        Err(Error::NotFound) => return Ok(()),
        Err(e) => return Err(e),
    };
    if !job.status.is_open() {
        return Ok(());
    }
    let brand = tenancy::brand(db, org, job.brand_id).await?;
    let tz = brand.zone();
    let now = to_millis(clock.now());
    let (mut queued, mut noted) = (0, 0);
    let mut tx = db.begin().await?;
    let pending = crate::jobs::unnotified_techs_in(&mut tx, org, job.id).await?;
    for tech_id in pending.into_iter().filter(|t| only.is_none_or(|o| o.contains(t))) {
        let Some(tech) = technicians::get_in(&mut tx, org, tech_id).await? else { continue };
        let phone = tech.phone.clone();
        let problem = match (&phone, &brand.sms_number) {
            _ if tech.links_paused_at.is_some() => Some(format!(
                "Portal link not texted to {}: their links were turned off (lost phone); text them a new link \
                 from Settings -> Technicians",
                tech.name
            )),
            (None, _) => Some(format!("Portal link not texted to {}: no mobile number on file", tech.name)),
            (_, None) => Some(format!("Portal link not texted to {}: {} has no SMS number", tech.name, brand.name)),
            _ => None,
        };
        if let Some(note) = problem {
            crate::jobs::note_in(&mut tx, org, job.id, &note, now).await?;
            noted += 1;
            continue;
        }
        let Some(phone) = phone else { continue };
        if crate::messaging::is_opted_out_in(&mut tx, brand.id, phone.as_str()).await? {
            let note = format!("Portal link not texted to {}: they opted out of texts from {}", tech.name, brand.name);
            crate::jobs::note_in(&mut tx, org, job.id, &note, now).await?;
            noted += 1;
            continue;
        }
        let url = issue_in(&mut tx, clock, org, tech_id, &tz, links, job.scheduled_start).await?;
        let body = assignment_text(&brand, &job, &url, clock.now());
        crate::messaging::queue_sms_in(&mut tx, clock, &brand, &phone, &body).await?;
        crate::jobs::mark_notified_in(&mut tx, org, job.id, tech_id, now).await?;
        crate::jobs::note_in(&mut tx, org, job.id, &format!("Portal link texted to {}", tech.name), now).await?;
        queued += 1;
    }
    tx.commit().await?;
    if queued > 0 {
        db.work_added();
    }
    if queued + noted > 0 {
        db.publish(crate::db::Event::Job { org, job: job.id });
    }
    Ok(())
}

/// The text that tells a technician about a job, with their link; its window reads as the
/// customer's texts do (`today, 2:00 PM-4:00 PM`).
pub fn assignment_text(brand: &Brand, job: &JobSummary, url: &str, now: jiff::Timestamp) -> String {
    let when = crate::when::window(job.scheduled_start, job.scheduled_end, now, &brand.zone())
        .map(|w| format!(" {w}"))
        .unwrap_or_default();
    let place = job.address.as_deref().map(|a| format!(" at {a}")).unwrap_or_default();
    format!("{}: you're on {} ({}){when}{place}. Your stops: {url}", brand.name, job.code, job.service)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn links_last_until_the_end_of_the_next_local_day() {
        let denver = TimeZone::get("America/Denver").unwrap();
        // 16:00 in Denver on Mon Nov 23 -> midnight starting Wed Nov 25 (07:00Z).
        assert_eq!(end_of_next_day(ts("2026-11-23T23:00:00Z"), &denver), ts("2026-11-25T07:00:00Z"));
        // 23:30 local on Nov 23 is 06:30Z on Nov 24: still "today" is Nov 23 locally.
        assert_eq!(end_of_next_day(ts("2026-11-24T06:30:00Z"), &denver), ts("2026-11-25T07:00:00Z"));
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        assert_eq!(end_of_next_day(ts("2026-11-23T23:00:00Z"), &tokyo), ts("2026-11-25T15:00:00Z"));
    }

    #[test]
    fn expiry_follows_daylight_saving_changes() {
        let ny = TimeZone::get("America/New_York").unwrap();
        // Sat Mar 7 2026 noon EST; Sunday Mar 8 has 23 hours; the link ends at Mon 00:00 EDT.
        assert_eq!(end_of_next_day(ts("2026-03-07T17:00:00Z"), &ny), ts("2026-03-09T04:00:00Z"));
        // Sat Oct 31 noon EDT; Sunday Nov 1 has 25 hours; ends Mon 00:00 EST.
        assert_eq!(end_of_next_day(ts("2026-10-31T16:00:00Z"), &ny), ts("2026-11-02T05:00:00Z"));
    }

    #[test]
    fn configured_hours_override_the_day_rule() {
        let links = PortalLinks { base_url: "https://x".into(), valid_hours: Some(8) };
        assert_eq!(links.expiry(ts("2026-11-23T10:00:00Z"), &TimeZone::UTC), ts("2026-11-23T18:00:00Z"));
        let huge = PortalLinks { base_url: "https://x".into(), valid_hours: Some(u32::MAX) };
        assert_eq!(huge.expiry(ts("2026-11-23T10:00:00Z"), &TimeZone::UTC), ts("2027-11-24T10:00:00Z"));
    }
}
