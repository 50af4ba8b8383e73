//! Jobs: the work a customer is owed. This step lists them and creates them with codes from
//! the brand's sequence; the status machine, assignment and history come with the jobs issue.

pub mod model;
mod store;

pub use model::{JobFilter, JobStatus, JobSummary, JobTech, NewJob, TransitionError, short_name};

use crate::clock::{Clock, from_millis, to_millis};
use crate::db::{Db, Tx};
use crate::ids::{JobId, OrgId};
use crate::{Error, Result};

pub async fn list(db: &Db, org: OrgId, filter: &JobFilter) -> Result<Vec<JobSummary>> {
    store::list_jobs(db.pool(), org, filter).await
}

/// Creates a job inside the caller's transaction; returns its id and code (e.g. `J-2206`).
pub async fn create_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, job: &NewJob) -> Result<(JobId, String)> {
    store::insert_job(tx, org, job, clock.now(), "system").await
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
    // Read before the write transaction: on SQLite it holds the only connection.
    let current = store::get_job(db.pool(), org, id).await?.ok_or(Error::NotFound)?;
    current.status.check_move(to, reason).map_err(|e| Error::InvalidTransition {
        message: e.message,
        allowed: e.allowed.iter().map(|s| s.as_str().to_string()).collect(),
    })?;
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    if !store::set_status(&mut tx, org, id, current.status, to, now).await? {
        return Err(Error::Conflict("the job changed meanwhile; reload and try again".into()));
    }
    let event = store::NewEvent { actor, kind: "status", from: Some(current.status), to: Some(to), note: reason };
    store::add_event(&mut tx, org, id, &event, now).await?;
    tx.commit().await?;
    get(db, org, id).await
}

/// A job as a dispatcher or integrator creates it directly (not from a lead).
#[derive(Debug, Clone)]
pub struct JobInput {
    pub brand: crate::ids::BrandId,
    pub customer: crate::ids::CustomerId,
    pub service: String,
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
    if let (Some(start), Some(end)) = (input.scheduled_start, input.scheduled_end)
        && end <= start
    {
        v.add("scheduled_end", "the window must end after it starts");
    }
    if input.scheduled_end.is_some() && input.scheduled_start.is_none() {
        v.add("scheduled_start", "give a start for the window");
    }
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
    let known: Vec<_> = crate::technicians::list(db, org).await?.into_iter().map(|t| t.id).collect();
    if let Some(unknown) = input.techs.iter().find(|t| !known.contains(t)) {
        return Err(Error::invalid("tech_ids", format!("no technician with id {unknown}")));
    }
    let job = NewJob {
        brand: input.brand,
        customer: input.customer,
        service,
        status: if input.scheduled_start.is_some() { JobStatus::Scheduled } else { JobStatus::Estimate },
        address: address.or(customer.address),
        scheduled_start: input.scheduled_start,
        scheduled_end: input.scheduled_end,
        techs: input.techs.clone(),
    };
    let mut tx = db.begin().await?;
    let (id, _) = store::insert_job(&mut tx, org, &job, clock.now(), actor).await?;
    tx.commit().await?;
    get(db, org, id).await
}
