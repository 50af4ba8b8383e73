//! Jobs: the work a customer is owed. Codes from the brand's sequence, the status machine,
//! edits, technicians, line items, photos, and a history of every change. Every change is
//! published to live pages and told, typed, to the modules above through the engine
//! ([`changes`]): the customer's notifications and the technicians' portal links react there.

pub mod changes;
pub mod crew;
pub mod dispatch;
pub mod locate;
pub mod model;
mod store;

/// Registers the worker that puts job addresses on the map.
pub fn register(workers: &mut crate::engine::Workers, geocoder: crate::providers::maps::Geocoder) {
    workers.add(locate::Locator { geocoder });
}

pub use model::{
    GeoPoint, JobFilter, JobPatch, JobPhoto, JobStatus, JobSummary, JobTech, LineItem, NewJob, SiteRef,
    TransitionError, WorkStatus, format_quantity, parse_quantity, short_name,
};

use crate::clock::{Clock, from_millis, to_millis};
use crate::db::{Db, Event, Tx};
use crate::ids::{JobId, OrgId, TechnicianId};
use crate::money::{Currency, Money};
use crate::storage::BlobStore;
use crate::{Error, Result};

pub async fn list(db: &Db, org: OrgId, filter: &JobFilter) -> Result<Vec<JobSummary>> {
    store::list_jobs(db.pool(), org, filter).await
}

/// Inserts a job as it is, without texting anyone (demo data, imports).
pub async fn insert_quietly_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, job: &NewJob) -> Result<(JobId, String)> {
    store::insert_job(tx, org, job, clock.now(), "system").await
}

/// Adds a line item to a job inside `tx` with no history and no reactions (demo data).
pub async fn insert_line_item_quietly_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    job: JobId,
    item: &LineItem,
) -> Result<i64> {
    store::insert_line_item(tx, org, job, item, to_millis(clock.now())).await
}

/// Creates a job inside the caller's transaction and tells the modules above (its technicians'
/// portal links, the customer's confirmation); returns its id and code (e.g. `J-2206`). Call
/// [`Db::work_added`] after commit.
pub async fn create_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    actor: &str,
    job: &NewJob,
) -> Result<(JobId, String)> {
    for t in &job.techs {
        match crate::technicians::get_in(tx, org, *t).await? {
            Some(tech) if tech.active => {}
            Some(tech) => return Err(Error::invalid("tech_ids", format!("{} is not active", tech.name))),
            None => return Err(Error::invalid("tech_ids", format!("no technician with id {t}"))),
        }
    }
    let (id, code) = store::insert_job(tx, org, job, clock.now(), actor).await?;
    if job.address.is_some() {
        locate::queue_in(tx, clock, org, id).await?;
    }
    let mut told = changes::of_move(None, job.status, job.scheduled_start);
    told.extend(job.techs.iter().map(|t| changes::Change::TechAdded { tech: *t }));
    changes::queue_in(tx, clock, org, id, job.status, actor, told).await?;
    Ok((id, code))
}

pub async fn get(db: &Db, org: OrgId, id: JobId) -> Result<JobSummary> {
    store::get_job(db.pool(), org, id).await?.ok_or(Error::NotFound)
}

/// One entry of a job's history.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobEvent {
    pub at: jiff::Timestamp,
    /// Who: `user:NAME`, `api`, `tech:NAME` or `system`.
    pub actor: String,
    pub kind: String,
    pub from: Option<JobStatus>,
    pub to: Option<JobStatus>,
    pub note: Option<String>,
}

pub async fn history(db: &Db, org: OrgId, id: JobId) -> Result<Vec<JobEvent>> {
    store::events(db.pool(), org, id)
        .await?
        .into_iter()
        .map(|e| {
            Ok(JobEvent {
                at: from_millis(e.at),
                actor: e.actor,
                kind: e.kind,
                from: e.from_status.as_deref().map(JobStatus::parse).transpose().map_err(Error::Unexpected)?,
                to: e.to_status.as_deref().map(JobStatus::parse).transpose().map_err(Error::Unexpected)?,
                note: e.note,
            })
        })
        .collect()
}

/// Moves a job through the status machine and records who did it. Illegal moves are
/// `InvalidTransition` with the statuses that are possible; a concurrent change wins and this
/// one is re-checked against the new status.
#[tracing::instrument(skip(db, clock), fields(org = %org, job = %id))]
pub async fn change_status(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    actor: &str,
    id: JobId,
    to: JobStatus,
    reason: Option<&str>,
) -> Result<JobSummary> {
    if reason.is_some_and(|r| r.trim().chars().count() > 500) {
        return Err(Error::invalid("reason", "at most 500 characters"));
    }
    let Locked { mut tx, job: current, crew } = lock(db, org, id).await?;
    current.status.check_move(to, reason).map_err(|e| Error::InvalidTransition {
        message: e.message,
        allowed: e.allowed.iter().map(|s| s.as_str().to_string()).collect(),
    })?;
    let (after, mut told) = move_in(&mut tx, clock, &current, to, actor, reason).await?;
    told.extend(crew::apply_in(&mut tx, &after, &crew, &crew::office_move(&crew, to)).await?);
    commit(db, clock, tx, org, id, after.status, actor, told).await
}

/// A write transaction on one job, its row locked: the job and its crew as they are under the
/// lock, which decide (a status read before could be stale).
struct Locked {
    tx: Tx,
    job: JobSummary,
    crew: Vec<(TechnicianId, WorkStatus)>,
}

async fn lock(db: &Db, org: OrgId, id: JobId) -> Result<Locked> {
    let mut tx = db.begin().await?;
    let job = store::lock_job_in(&mut tx, org, id).await?;
    let crew = store::crew_in(&mut tx, org, id).await?;
    Ok(Locked { tx, job, crew })
}

/// Queues what `told` changed for the job, commits `tx` and returns the job as it is then.
#[allow(clippy::too_many_arguments)]
async fn commit(
    db: &Db,
    clock: &dyn Clock,
    mut tx: Tx,
    org: OrgId,
    id: JobId,
    status: JobStatus,
    actor: &str,
    told: Vec<changes::Change>,
) -> Result<JobSummary> {
    changes::queue_in(&mut tx, clock, org, id, status, actor, told).await?;
    tx.commit().await?;
    db.work_added();
    db.publish(Event::Job { org, job: id });
    get(db, org, id).await
}

/// Why a job with nobody assigned is not sent on the way.
pub const NOBODY_TO_DISPATCH: &str = "nobody is assigned to this job: assign a technician, then send them on the way";

/// Moves the job from `current`'s status to `to` inside `tx` (only if nobody moved it
/// meanwhile) and records it. Returns the job as moved and what the move changed. A job with
/// nobody on it cannot be sent on the way: nobody would be coming, and the customer's text
/// would name no one.
async fn move_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    current: &JobSummary,
    to: JobStatus,
    actor: &str,
    reason: Option<&str>,
) -> Result<(JobSummary, Vec<changes::Change>)> {
    let (org, id) = (current.org_id, current.id);
    if to == JobStatus::Dispatched && current.techs.is_empty() {
        return Err(Error::InvalidTransition {
            message: NOBODY_TO_DISPATCH.into(),
            allowed: current.status.next().iter().filter(|s| **s != to).map(|s| s.as_str().to_string()).collect(),
        });
    }
    let now = to_millis(clock.now());
    if !store::set_status(tx, org, id, current.status, to, now).await? {
        return Err(Error::Conflict("the job changed meanwhile; reload and try again".into()));
    }
    let event = store::NewEvent { actor, kind: "status", from: Some(current.status), to: Some(to), note: reason };
    store::add_event(tx, org, id, &event, now).await?;
    let after = JobSummary { status: to, ..current.clone() };
    let told = changes::of_move(Some((current.status, current.scheduled_start)), to, after.scheduled_start);
    Ok((after, told))
}

/// A technician's own step from the portal (On my way, Arrived, Work done): moves them, and
/// the job when the step calls for it (see [`crew`]). Refusals are `Conflict` with the reason.
#[tracing::instrument(skip(db, clock), fields(org = %org, job = %id))]
#[allow(clippy::too_many_arguments)]
pub async fn tech_step(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    actor: &str,
    tech: TechnicianId,
    id: JobId,
    step: crew::Step,
) -> Result<JobSummary> {
    // Two "Work done" taps at once must see each other: the locked crew decides.
    let Locked { mut tx, job: current, crew } = lock(db, org, id).await?;
    let Some(work) = crew.iter().find(|(t, _)| *t == tech).map(|(_, w)| *w) else {
        return Err(Error::NotFound);
    };
    let (next, job_to) = crew::tech_step(current.status, &crew, Some(tech), work, step).map_err(Error::Conflict)?;
    let (after, mut told) = match job_to {
        Some(to) => move_in(&mut tx, clock, &current, to, actor, None).await?,
        None => {
            let now = to_millis(clock.now());
            if !store::touch_if_open(&mut tx, org, id, now).await? {
                return Err(Error::Conflict("the job was just closed".into()));
            }
            let name = current.tech(tech).map(|t| t.name.clone()).unwrap_or_default();
            let note = match step {
                crew::Step::OnMyWay => format!("{name} is on the way"),
                crew::Step::Arrived => format!("{name} arrived"),
                crew::Step::WorkDone => {
                    let still: Vec<_> = current
                        .techs
                        .iter()
                        .filter(|t| t.id != tech && crew.iter().any(|(c, w)| *c == t.id && w.working()))
                        .map(|t| t.name.clone())
                        .collect();
                    format!("{name} finished; {} still working", still.join(", "))
                }
            };
            let event = store::NewEvent { actor, kind: "note", from: None, to: None, note: Some(&note) };
            store::add_event(&mut tx, org, id, &event, now).await?;
            (current.clone(), Vec::new())
        }
    };
    told.extend(crew::apply_in(&mut tx, &after, &crew, &[(tech, next)]).await?);
    commit(db, clock, tx, org, id, after.status, actor, told).await
}

/// A job as a dispatcher or integrator creates it directly (not from a lead).
#[derive(Debug, Clone)]
pub struct JobInput {
    pub brand: crate::ids::BrandId,
    pub customer: crate::ids::CustomerId,
    pub service: String,
    /// Where: one of the customer's service locations, or an address (a new one becomes a
    /// location of theirs); neither is the customer's own address.
    pub service_location: Option<crate::ids::LocationId>,
    pub address: Option<String>,
    pub scheduled_start: Option<jiff::Timestamp>,
    pub scheduled_end: Option<jiff::Timestamp>,
    pub techs: Vec<crate::ids::TechnicianId>,
}

/// Creates a job for an existing customer of the organization, with the brand's next code.
pub async fn create(db: &Db, clock: &dyn Clock, org: OrgId, actor: &str, input: &JobInput) -> Result<JobSummary> {
    let mut v = crate::error::Validator::new();
    let service = v.check("service", crate::parse::required_text(&input.service, 120));
    let address = v.check("address", crate::parse::optional_text(input.address.as_deref(), 300));
    check_window(&mut v, input.scheduled_start, input.scheduled_end);
    v.finish()?;
    let (Some(service), Some(address)) = (service, address) else {
        return Err(Error::Unexpected("job validation lost a field".into()));
    };
    crate::tenancy::brand(db, org, input.brand).await.map_err(|e| match e {
        Error::NotFound => Error::invalid("brand_id", "no such brand"),
        other => other,
    })?;
    let customer = crate::customers::get(db, org, input.customer).await.map_err(|e| match e {
        Error::NotFound => Error::invalid("customer_id", "no such customer"),
        other => other,
    })?;
    let address = match input.service_location {
        Some(l) => {
            let site = crate::customers::locations::get(db, org, customer.id, l).await.map_err(|e| match e {
                Error::NotFound => {
                    Error::invalid("service_location_id", format!("{} has no such service location", customer.name))
                }
                other => other,
            })?;
            if address.as_ref().is_some_and(|a| {
                crate::customers::locations::address_key(a) != crate::customers::locations::address_key(&site.address)
            }) {
                return Err(Error::invalid("address", "give a service location or an address, not both"));
            }
            Some(site.address)
        }
        None => address,
    };
    let known: Vec<_> =
        crate::technicians::list(db, org).await?.into_iter().filter(|t| t.active).map(|t| t.id).collect();
    if let Some(unknown) = input.techs.iter().find(|t| !known.contains(t)) {
        return Err(Error::invalid("tech_ids", format!("no active technician with id {unknown}")));
    }
    let mut techs = Vec::new();
    for t in &input.techs {
        if !techs.contains(t) {
            techs.push(*t);
        }
    }
    let job = NewJob {
        brand: input.brand,
        customer: input.customer,
        service,
        status: if input.scheduled_start.is_some() { JobStatus::Scheduled } else { JobStatus::Estimate },
        address: address.or(customer.address),
        scheduled_start: input.scheduled_start,
        scheduled_end: input.scheduled_end,
        techs,
    };
    let mut tx = db.begin().await?;
    let (id, _) = create_in(&mut tx, clock, org, actor, &job).await?;
    tx.commit().await?;
    db.work_added();
    db.publish(Event::Job { org, job: id });
    get(db, org, id).await
}

/// The job's technicians who have not been sent its portal link yet, inside `tx`.
pub async fn unnotified_techs_in(tx: &mut Tx, org: OrgId, job: JobId) -> Result<Vec<TechnicianId>> {
    store::techs_told(tx, org, job, false).await
}

/// The job's technicians who were sent its portal link (so they know of the job), inside `tx`.
pub async fn told_techs_in(tx: &mut Tx, org: OrgId, job: JobId) -> Result<Vec<TechnicianId>> {
    store::techs_told(tx, org, job, true).await
}

/// Records that `tech` was sent the job's portal link, inside `tx`.
pub async fn mark_notified_in(tx: &mut Tx, org: OrgId, job: JobId, tech: TechnicianId, now: i64) -> Result<()> {
    store::mark_notified(tx, org, job, tech, now).await
}

/// Adds a note to the job's history inside `tx` (notifications sent, and the like).
pub async fn note_in(tx: &mut Tx, org: OrgId, job: JobId, note: &str, now: i64) -> Result<()> {
    let event = store::NewEvent { actor: "system", kind: "note", from: None, to: None, note: Some(note) };
    store::add_event(tx, org, job, &event, now).await
}

/// The job's line items, read inside `tx` (what an invoice is drafted from).
pub async fn line_items_in(tx: &mut Tx, org: OrgId, id: JobId) -> Result<Vec<LineItem>> {
    store::line_items(&mut **tx, org, id).await
}

/// The job as `tx` sees it.
pub async fn get_in(tx: &mut Tx, org: OrgId, id: JobId) -> Result<JobSummary> {
    store::get_job_in(tx, org, id).await
}

/// Closes the job (Completed) inside `tx` when it is waiting to close (Pending close), with
/// `reason` in its history: what billing does when its invoice is paid in full. Returns
/// whether it closed; a job in any other status is left as it is.
pub async fn close_paid_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    id: JobId,
    actor: &str,
    reason: &str,
) -> Result<bool> {
    let current = store::lock_job_in(tx, org, id).await?;
    if current.status != JobStatus::PendingClose {
        return Ok(false);
    }
    let crew = store::crew_in(tx, org, id).await?;
    let (after, mut told) = move_in(tx, clock, &current, JobStatus::Completed, actor, Some(reason)).await?;
    told.extend(crew::apply_in(tx, &after, &crew, &crew::office_move(&crew, JobStatus::Completed)).await?);
    changes::queue_in(tx, clock, org, id, after.status, actor, told).await?;
    Ok(true)
}

/// A window ends after it starts, and has a start if it has an end.
pub fn check_window(v: &mut crate::error::Validator, start: Option<jiff::Timestamp>, end: Option<jiff::Timestamp>) {
    if let (Some(s), Some(e)) = (start, end)
        && e <= s
    {
        v.add("scheduled_end", "the window must end after it starts");
    }
    if end.is_some() && start.is_none() {
        v.add("scheduled_start", "give a start for the window");
    }
}

/// A job with everything its page shows.
#[derive(Debug, Clone)]
pub struct JobDetail {
    pub job: JobSummary,
    pub line_items: Vec<LineItem>,
    pub photos: Vec<JobPhoto>,
    pub history: Vec<JobEvent>,
}

impl JobDetail {
    /// The sum of the lines (each rounded to the cent), in the job's currency.
    pub fn total(&self) -> Money {
        let currency = self.line_items.first().map_or(Currency::Usd, |l| l.unit_price.currency);
        Money::sum(currency, self.line_items.iter().map(LineItem::total)).unwrap_or_else(|| Money::zero(currency))
    }
}

pub async fn detail(db: &Db, org: OrgId, id: JobId) -> Result<JobDetail> {
    let job = get(db, org, id).await?;
    Ok(JobDetail {
        line_items: store::line_items(db.pool(), org, id).await?,
        photos: store::photos(db.pool(), org, id).await?,
        history: history(db, org, id).await?,
        job,
    })
}

fn window_text(start: Option<jiff::Timestamp>, end: Option<jiff::Timestamp>, tz: &jiff::tz::TimeZone) -> String {
    match start {
        Some(_) => crate::when::dated_window(start, end, tz),
        None => "unscheduled".into(),
    }
}

/// Edits a job. Each changed field is named in one history entry; giving an estimate a window
/// schedules it (recorded as a status change too). The job is read and written in one
/// transaction, under its lock; a patch carrying the version its editor saw
/// ([`JobPatch::version`]) is refused as [`Error::Stale`] when someone changed the job since.
#[tracing::instrument(skip(db, clock, patch), fields(org = %org, job = %id))]
pub async fn update(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    actor: &str,
    id: JobId,
    patch: &JobPatch,
) -> Result<JobSummary> {
    let Locked { mut tx, job: current, .. } = lock(db, org, id).await?;
    check_version_in(&mut tx, clock, &current, patch.version).await?;
    let Some((after, told, address_moved)) = edit_in(&mut tx, clock, &current, patch, actor).await? else {
        tx.rollback().await?;
        return Ok(current);
    };
    changes::queue_in(&mut tx, clock, org, id, after.status, actor, told).await?;
    if address_moved && after.address.is_some() {
        locate::queue_in(&mut tx, clock, org, id).await?;
    }
    tx.commit().await?;
    db.work_added();
    db.publish(Event::Job { org, job: id });
    get(db, org, id).await
}

/// Refuses the change when the job is no longer at the version its editor saw (`None`: the
/// caller did not say, as older API clients): who changed it, and when, in the brand's zone.
async fn check_version_in(tx: &mut Tx, clock: &dyn Clock, current: &JobSummary, seen: Option<i64>) -> Result<()> {
    let Some(seen) = seen else { return Ok(()) };
    if seen == current.version {
        return Ok(());
    }
    let (at, actor) = store::last_change_in(tx, current.org_id, current.id).await?.unwrap_or((0, "system".into()));
    let brand = crate::tenancy::brand_in(tx, current.org_id, current.brand_id).await?;
    let at = from_millis(at);
    Err(Error::Stale(Box::new(crate::error::Stale {
        message: dispatch::stale_message(&current.code, &actor, at, &brand.zone(), clock.now()),
        changed_by: actor,
        changed_at: at,
        version: current.version,
    })))
}

/// Applies `patch` to the locked job inside `tx`: validates it, writes the fields that change,
/// records them. `None` when nothing changes; else the job as edited, what changed, and
/// whether the address moved (so the pin is looked up again).
async fn edit_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    current: &JobSummary,
    patch: &JobPatch,
    actor: &str,
) -> Result<Option<(JobSummary, Vec<changes::Change>, bool)>> {
    let (org, id) = (current.org_id, current.id);
    let brand = crate::tenancy::brand_in(tx, org, current.brand_id).await?;
    let tz = brand.zone();
    let mut v = crate::error::Validator::new();
    let service = match &patch.service {
        Some(s) => v.check("service", crate::parse::required_text(s, 120)),
        None => Some(current.service.clone()),
    };
    let picked = match patch.service_location {
        Some(l) => match crate::customers::locations::get_in(tx, org, l).await? {
            Some(site) if site.customer_id == current.customer_id => Some(site),
            _ => {
                v.add("service_location_id", format!("{} has no such service location", current.customer_name));
                None
            }
        },
        None => None,
    };
    let address = match (&picked, &patch.address) {
        (Some(site), _) => Some(Some(site.address.clone())),
        (None, Some(a)) => v.check("address", crate::parse::optional_text(a.as_deref(), 300)),
        (None, None) => Some(current.address.clone()),
    };
    let internal_notes = match &patch.internal_notes {
        Some(n) => v.check("internal_notes", crate::parse::optional_text(n.as_deref(), 4000)),
        None => Some(current.internal_notes.clone()),
    };
    let customer_notes = match &patch.customer_notes {
        Some(n) => v.check("customer_notes", crate::parse::optional_text(n.as_deref(), 4000)),
        None => Some(current.customer_notes.clone()),
    };
    let start = patch.scheduled_start.unwrap_or(current.scheduled_start);
    let end = patch.scheduled_end.unwrap_or(current.scheduled_end);
    check_window(&mut v, start, end);
    v.finish()?;
    let (Some(service), Some(address), Some(internal_notes), Some(customer_notes)) =
        (service, address, internal_notes, customer_notes)
    else {
        return Err(Error::Unexpected("job validation lost a field".into()));
    };
    let location = patch.location.unwrap_or(current.location);
    // Moving the pin (or clearing it) unverifies it unless the same edit verifies it.
    let address_moved = address != current.address && patch.location.is_none();
    let location_verified = match patch.location_verified {
        Some(v) => v && location.is_some(),
        None if patch.location.is_some() && location != current.location => false,
        // A new address makes the old pin a guess until it is found again or checked.
        None if address_moved => false,
        None => current.location_verified && location.is_some(),
    };

    let mut changed = Vec::new();
    if service != current.service {
        changed.push(format!("service: {} → {service}", current.service));
    }
    if address != current.address {
        changed.push(format!("address: {}", address.as_deref().unwrap_or("removed")));
    }
    if location != current.location {
        changed.push(match location {
            Some(p) => format!("map pin: {:.5}, {:.5}", p.lat, p.lon),
            None => "map pin removed".into(),
        });
    }
    if location_verified != current.location_verified {
        changed.push(if location_verified { "location verified".into() } else { "location unverified".into() });
    }
    if (start, end) != (current.scheduled_start, current.scheduled_end) {
        changed.push(format!("window: {}", window_text(start, end, &tz)));
    }
    if internal_notes != current.internal_notes {
        changed.push("internal notes edited".into());
    }
    if customer_notes != current.customer_notes {
        changed.push("customer notes edited".into());
    }
    if changed.is_empty() {
        return Ok(None);
    }
    // The job's service location follows its address: the one picked, the customer's location
    // at a new address (added when they have none there), none without an address.
    let site = match (&picked, address != current.address) {
        (Some(site), _) => Some(site.id),
        (None, true) => {
            let typed = address.as_deref().unwrap_or_default();
            crate::customers::locations::for_address_in(tx, clock.now(), org, current.customer_id, typed).await?
        }
        (None, false) => current.service_location.as_ref().map(|s| s.id),
    };
    let service_location = match site {
        Some(id) if Some(id) == current.service_location.as_ref().map(|s| s.id) => current.service_location.clone(),
        Some(id) => crate::customers::locations::get_in(tx, org, id).await?.map(|l| model::SiteRef {
            id,
            label: l.label,
            access_notes: l.access_notes,
        }),
        None => None,
    };
    let now = to_millis(clock.now());
    let fields = store::JobFields {
        service: &service,
        address: address.as_deref(),
        service_location: site,
        location,
        location_verified,
        scheduled_start: start,
        scheduled_end: end,
        internal_notes: internal_notes.as_deref(),
        customer_notes: customer_notes.as_deref(),
    };
    store::update_fields(tx, org, id, &fields, now).await?;
    let note = changed.join("; ");
    let edited = store::NewEvent { actor, kind: "edited", from: None, to: None, note: Some(&note) };
    store::add_event(tx, org, id, &edited, now).await?;
    // Giving an estimate a window (or a new one) books it; editing anything else leaves it an
    // estimate, with no booking confirmation.
    let window_changed = (start, end) != (current.scheduled_start, current.scheduled_end);
    let schedules = current.status == JobStatus::Estimate && start.is_some() && window_changed;
    if schedules && store::set_status(tx, org, id, JobStatus::Estimate, JobStatus::Scheduled, now).await? {
        let event = store::NewEvent {
            actor,
            kind: "status",
            from: Some(JobStatus::Estimate),
            to: Some(JobStatus::Scheduled),
            note: Some("scheduled"),
        };
        store::add_event(tx, org, id, &event, now).await?;
    }
    let after = JobSummary {
        status: if schedules { JobStatus::Scheduled } else { current.status },
        service,
        address,
        location,
        location_verified,
        scheduled_start: start,
        scheduled_end: end,
        internal_notes,
        customer_notes,
        service_location,
        version: current.version + 1,
        ..current.clone()
    };
    let told = changes::of_move(Some((current.status, current.scheduled_start)), after.status, start);
    Ok(Some((after, told, address_moved)))
}

/// Sets the job's technicians to exactly `techs` (an empty list unassigns everyone). Newly
/// assigned technicians are texted their portal link. Finished jobs cannot be reassigned.
/// With `seen`, the version the dispatcher saw: a job changed since is refused as stale.
#[tracing::instrument(skip(db, clock), fields(org = %org, job = %id))]
pub async fn assign(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    actor: &str,
    id: JobId,
    techs: &[TechnicianId],
    seen: Option<i64>,
) -> Result<JobSummary> {
    let all = crate::technicians::list(db, org).await?;
    let Locked { mut tx, job: current, crew } = lock(db, org, id).await?;
    check_version_in(&mut tx, clock, &current, seen).await?;
    let told = assign_in(&mut tx, clock, &current, &crew, &all, techs, actor).await?;
    if told.is_empty() {
        tx.rollback().await?;
        return Ok(current);
    }
    let status = changes::status_after(current.status, &told);
    commit(db, clock, tx, org, id, status, actor, told).await
}

/// A technician takes an urgent job and heads out, in one transaction: they are put on the
/// job (beside anyone already on it), an estimate is booked (with no window: the visit is
/// now), and they are on the way, so the customer gets the usual "on the way" text and the
/// technician their portal link. Refused (`Conflict`, in words for the technician) when the
/// job is closed or waiting to be closed.
#[tracing::instrument(skip(db, clock), fields(org = %org, job = %id))]
pub async fn take_and_go(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    actor: &str,
    id: JobId,
    tech: TechnicianId,
) -> Result<JobSummary> {
    let all = crate::technicians::list(db, org).await?;
    let Locked { mut tx, job: current, crew } = lock(db, org, id).await?;
    // Taken already (a second tap): nothing more to do.
    if crew.iter().any(|(t, w)| *t == tech && w.working()) {
        tx.rollback().await?;
        return Ok(current);
    }
    let mut techs: Vec<TechnicianId> = crew.iter().map(|(t, _)| *t).collect();
    if !techs.contains(&tech) {
        techs.push(tech);
    }
    let mut told = assign_in(&mut tx, clock, &current, &crew, &all, &techs, actor).await?;
    let mut job = store::get_job_in(&mut tx, org, id).await?;
    if job.status == JobStatus::Estimate {
        let (after, moved) =
            move_in(&mut tx, clock, &job, JobStatus::Scheduled, actor, Some("taken as urgent")).await?;
        told.extend(moved);
        job = after;
    }
    let crew = store::crew_in(&mut tx, org, id).await?;
    let work = crew.iter().find(|(t, _)| *t == tech).map(|(_, w)| *w).ok_or(Error::NotFound)?;
    let (next, job_to) =
        crew::tech_step(job.status, &crew, Some(tech), work, crew::Step::OnMyWay).map_err(Error::Conflict)?;
    if let Some(to) = job_to {
        let (after, moved) = move_in(&mut tx, clock, &job, to, actor, None).await?;
        told.extend(moved);
        job = after;
    }
    told.extend(crew::apply_in(&mut tx, &job, &crew, &[(tech, next)]).await?);
    let status = changes::status_after(current.status, &told);
    commit(db, clock, tx, org, id, status, actor, told).await
}

/// Sets the locked job's technicians inside `tx` (see [`assign`]); returns what changed
/// (nothing when the crew is already `techs`). `all` are the organization's technicians.
async fn assign_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    current: &JobSummary,
    crew: &[(TechnicianId, WorkStatus)],
    all: &[crate::technicians::Technician],
    techs: &[TechnicianId],
    actor: &str,
) -> Result<Vec<changes::Change>> {
    let (org, id) = (current.org_id, current.id);
    if !current.status.is_open() {
        return Err(Error::Conflict(format!(
            "{} is {}; reopen it before changing technicians",
            current.code,
            current.status.label().to_lowercase()
        )));
    }
    let mut wanted: Vec<TechnicianId> = Vec::new();
    for t in techs {
        match all.iter().find(|x| x.id == *t) {
            None => return Err(Error::invalid("tech_ids", format!("no technician with id {t}"))),
            // Someone deactivated may stay on the jobs they had, but not be added to more.
            Some(x) if !x.active && !current.has_tech(x.id) => {
                return Err(Error::invalid("tech_ids", format!("{} is not active", x.name)));
            }
            Some(_) if !wanted.contains(t) => wanted.push(*t),
            Some(_) => {}
        }
    }
    let now = to_millis(clock.now());
    // Someone put on a job is assigned, whatever its status: they are on the way only once
    // they tap On my way (or the office sends them), so nobody is announced who is not coming.
    let (added, removed) = store::set_techs(tx, org, id, &wanted, WorkStatus::Assigned, now).await?;
    if added.is_empty() && removed.is_empty() {
        return Ok(Vec::new());
    }
    store::touch_if_open(tx, org, id, now).await?;
    let name = |t: &TechnicianId| all.iter().find(|x| x.id == *t).map(|x| x.name.clone()).unwrap_or_default();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("assigned {}", added.iter().map(name).collect::<Vec<_>>().join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("unassigned {}", removed.iter().map(|(t, _)| name(t)).collect::<Vec<_>>().join(", ")));
    }
    let note = parts.join("; ");
    let event = store::NewEvent { actor, kind: "assigned", from: None, to: None, note: Some(&note) };
    store::add_event(tx, org, id, &event, now).await?;
    let mut told: Vec<_> = added.iter().map(|t| changes::Change::TechAdded { tech: *t }).collect();
    told.extend(removed.iter().map(|(t, was_told)| changes::Change::TechRemoved { tech: *t, told: *was_told }));
    // An en-route job whose only ones on the way were taken off has nobody coming: it goes
    // back to Scheduled, and whoever is sent next is announced to the customer.
    let still_working = crew.iter().any(|(t, w)| w.working() && !removed.iter().any(|(r, _)| r == t));
    if current.status == JobStatus::Dispatched && !still_working {
        let after = store::get_job_in(tx, org, id).await?;
        let note = "nobody on the job is on the way now";
        let (_, moved) = move_in(tx, clock, &after, JobStatus::Scheduled, actor, Some(note)).await?;
        told.extend(moved);
    }
    Ok(told)
}

/// Moves a job on the board in one transaction: its window (kept as given) and its
/// technicians (`from` taken off, `to` put on), checked against the version the dispatcher
/// saw. Either both change or neither does, and the job's texts follow the one change.
#[tracing::instrument(skip(db, clock, mv), fields(org = %org, job = %id))]
pub async fn move_on_board(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    actor: &str,
    id: JobId,
    mv: &dispatch::BoardMove,
) -> Result<JobSummary> {
    let all = crate::technicians::list(db, org).await?;
    let Locked { mut tx, job: current, crew } = lock(db, org, id).await?;
    if !current.status.is_open() {
        return Err(Error::Conflict(format!(
            "{} is {}; reopen it before moving it",
            current.code,
            current.status.label().to_lowercase()
        )));
    }
    check_version_in(&mut tx, clock, &current, mv.version).await?;
    let mut told = Vec::new();
    let mut job = current.clone();
    let mut address_moved = false;
    if let Some((start, end)) = mv.window.filter(|w| *w != (current.scheduled_start, current.scheduled_end)) {
        let patch = JobPatch { scheduled_start: Some(start), scheduled_end: Some(end), ..JobPatch::default() };
        if let Some((after, edited, moved)) = edit_in(&mut tx, clock, &current, &patch, actor).await? {
            (job, address_moved) = (after, moved);
            told.extend(edited);
        }
    }
    let techs = dispatch::crew_after_move(&job, mv.from, mv.to);
    if techs != job.techs.iter().map(|t| t.id).collect::<Vec<_>>() {
        told.extend(assign_in(&mut tx, clock, &job, &crew, &all, &techs, actor).await?);
    }
    if told.is_empty() {
        tx.rollback().await?;
        return Ok(current);
    }
    let status = changes::status_after(job.status, &told);
    changes::queue_in(&mut tx, clock, org, id, status, actor, told).await?;
    if address_moved && job.address.is_some() {
        locate::queue_in(&mut tx, clock, org, id).await?;
    }
    tx.commit().await?;
    db.work_added();
    db.publish(Event::Job { org, job: id });
    get(db, org, id).await
}

/// A line item as typed: quantity and price as text ("1.5", "89.50").
#[derive(Debug, Clone, Default)]
pub struct LineItemInput {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub taxable: bool,
}

pub async fn add_line_item(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    actor: &str,
    id: JobId,
    input: &LineItemInput,
) -> Result<LineItem> {
    let mut v = crate::error::Validator::new();
    let description = v.check("description", crate::parse::required_text(&input.description, 200));
    let quantity =
        v.check("quantity", parse_quantity(if input.quantity.trim().is_empty() { "1" } else { &input.quantity }));
    let unit_price = v.check("unit_price", Money::parse_price(&input.unit_price, Currency::Usd));
    v.finish()?;
    let (Some(description), Some(quantity_x100), Some(unit_price)) = (description, quantity, unit_price) else {
        return Err(Error::Unexpected("line item validation lost a field".into()));
    };
    let job = get(db, org, id).await?;
    if job.status == JobStatus::Canceled {
        return Err(Error::Conflict(format!("{} is canceled", job.code)));
    }
    let mut item =
        LineItem { id: 0, description, quantity_x100, unit_price, taxable: input.taxable, added_by: actor.into() };
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    item.id = store::insert_line_item(&mut tx, org, id, &item, now).await?;
    let note = format!(
        "added {} × {} at {} = {}",
        format_quantity(item.quantity_x100),
        item.description,
        item.unit_price,
        item.total()
    );
    let event = store::NewEvent { actor, kind: "edited", from: None, to: None, note: Some(&note) };
    store::add_event(&mut tx, org, id, &event, now).await?;
    tx.commit().await?;
    db.publish(Event::Job { org, job: id });
    Ok(item)
}

pub async fn remove_line_item(db: &Db, clock: &dyn Clock, org: OrgId, actor: &str, id: JobId, item: i64) -> Result<()> {
    get(db, org, id).await?;
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    let Some(description) = store::delete_line_item(&mut tx, org, id, item).await? else {
        return Err(Error::NotFound);
    };
    let note = format!("removed line item {description}");
    let event = store::NewEvent { actor, kind: "edited", from: None, to: None, note: Some(&note) };
    store::add_event(&mut tx, org, id, &event, now).await?;
    tx.commit().await?;
    db.publish(Event::Job { org, job: id });
    Ok(())
}

/// Stores a photo of the job: the bytes must be a JPEG, PNG, WebP or HEIC image no larger
/// than [`crate::storage::MAX_PHOTO_BYTES`]. The file is written before the row; if the row
/// cannot be written the file is removed again.
pub async fn add_photo(
    db: &Db,
    clock: &dyn Clock,
    blobs: &BlobStore,
    org: OrgId,
    actor: &str,
    id: JobId,
    bytes: &[u8],
) -> Result<JobPhoto> {
    if bytes.is_empty() {
        return Err(Error::invalid("photo", "choose a photo to upload"));
    }
    if bytes.len() > crate::storage::MAX_PHOTO_BYTES {
        return Err(Error::invalid("photo", crate::storage::photo_too_large()));
    }
    let Some((content_type, ext)) = crate::storage::sniff_image(bytes) else {
        return Err(Error::invalid("photo", "that file is not a photo (JPEG, PNG, WebP or HEIC)"));
    };
    let job = get(db, org, id).await?;
    let key = BlobStore::new_key(&format!("photos/{}/{}", org.0, job.id.0), ext);
    if let Err(e) = blobs.put(&key, bytes, content_type).await {
        tracing::error!(error = %e, storage = %blobs.describe(), "storing a photo failed");
        return Err(Error::Unavailable("the photo could not be stored right now; try again in a minute".into()));
    }
    let now = to_millis(clock.now());
    let written = async {
        let mut tx = db.begin().await?;
        let photo =
            store::NewPhoto { storage_key: &key, content_type, size_bytes: bytes.len() as i64, added_by: actor };
        let photo_id = store::insert_photo(&mut tx, org, id, &photo, now).await?;
        let event = store::NewEvent { actor, kind: "edited", from: None, to: None, note: Some("added a photo") };
        store::add_event(&mut tx, org, id, &event, now).await?;
        tx.commit().await?;
        Ok::<_, Error>(photo_id)
    }
    .await;
    match written {
        Ok(photo_id) => {
            db.publish(Event::Job { org, job: id });
            store::photo(db.pool(), org, id, photo_id).await?.ok_or(Error::NotFound)
        }
        Err(e) => {
            if let Err(cleanup) = blobs.delete(&key).await {
                tracing::warn!(error = %cleanup, "could not remove an orphaned photo");
            }
            Err(e)
        }
    }
}

/// A photo's metadata and bytes.
pub async fn photo(db: &Db, blobs: &BlobStore, org: OrgId, id: JobId, photo: i64) -> Result<(JobPhoto, Vec<u8>)> {
    let meta = store::photo(db.pool(), org, id, photo).await?.ok_or(Error::NotFound)?;
    let bytes = blobs.get(&meta.storage_key).await?;
    Ok((meta, bytes))
}
