//! SQL for jobs.

use std::collections::HashMap;

use sqlx::{Any, Executor, FromRow};

use super::model::{JobFilter, JobStatus, JobSummary, JobTech, NewJob};
use crate::clock::{from_millis, to_millis};
use crate::db::Tx;
use crate::ids::{BrandId, CustomerId, JobId, OrgId, TechnicianId};
use crate::{Error, Result};

#[derive(FromRow)]
struct JobRow {
    id: i64,
    org_id: i64,
    brand_id: i64,
    code: String,
    customer_id: i64,
    customer_name: String,
    service: String,
    status: String,
    address: Option<String>,
    scheduled_start: Option<i64>,
    scheduled_end: Option<i64>,
}

macro_rules! job_select {
    () => {
        "select j.id, j.org_id, j.brand_id, j.code, j.customer_id, c.name as customer_name, j.service, j.status, \
                j.address, j.scheduled_start, j.scheduled_end \
         from jobs j join customers c on c.id = j.customer_id and c.org_id = j.org_id "
    };
}

impl JobRow {
    fn into_summary(self, techs: Vec<JobTech>) -> Result<JobSummary> {
        Ok(JobSummary {
            id: JobId(self.id),
            org_id: OrgId(self.org_id),
            brand_id: BrandId(self.brand_id),
            code: self.code,
            customer_id: CustomerId(self.customer_id),
            customer_name: self.customer_name,
            service: self.service,
            status: JobStatus::parse(&self.status).map_err(Error::Unexpected)?,
            address: self.address,
            scheduled_start: self.scheduled_start.map(from_millis),
            scheduled_end: self.scheduled_end.map(from_millis),
            techs,
        })
    }
}

pub async fn list_jobs(pool: &sqlx::AnyPool, org: OrgId, filter: &JobFilter) -> Result<Vec<JobSummary>> {
    let rows: Vec<JobRow> = sqlx::query_as(concat!(
        job_select!(),
        "where j.org_id = $1 and ($2 is null or j.brand_id = $2) and ($3 is null or j.status = $3) \
         order by j.scheduled_start is null, j.scheduled_start, j.id"
    ))
    .bind(org.0)
    .bind(filter.brand.map(|b| b.0))
    .bind(filter.status.map(|s| s.as_str()))
    .fetch_all(pool)
    .await?;
    let mut techs = techs_by_job(pool, org, None).await?;
    let mut jobs = rows
        .into_iter()
        .map(|r| {
            let t = techs.remove(&r.id).unwrap_or_default();
            r.into_summary(t)
        })
        .collect::<Result<Vec<_>>>()?;
    // Stable: within a status, jobs stay in scheduled order.
    jobs.sort_by_key(|j| j.status.attention_rank());
    Ok(jobs)
}

/// Technicians per job: of every job of the organization, or of one job.
async fn techs_by_job(pool: &sqlx::AnyPool, org: OrgId, job: Option<JobId>) -> Result<HashMap<i64, Vec<JobTech>>> {
    let rows: Vec<(i64, i64, String, Option<String>)> = sqlx::query_as(
        "select jt.job_id, t.id, t.name, t.photo_url from job_technicians jt \
         join technicians t on t.id = jt.technician_id and t.org_id = jt.org_id \
         where jt.org_id = $1 and ($2 is null or jt.job_id = $2) order by jt.assigned_at, t.name",
    )
    .bind(org.0)
    .bind(job.map(|j| j.0))
    .fetch_all(pool)
    .await?;
    let mut map: HashMap<i64, Vec<JobTech>> = HashMap::new();
    for (job, id, name, photo_url) in rows {
        map.entry(job).or_default().push(JobTech { id: TechnicianId(id), name, photo_url });
    }
    Ok(map)
}

/// Takes the brand's next job number (and prefix) inside `tx`, so two jobs never share a code.
async fn take_job_number(tx: &mut Tx, org: OrgId, brand: BrandId) -> Result<(i64, String)> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "update brands set next_job_number = next_job_number + 1 where org_id = $1 and id = $2 \
         returning next_job_number - 1, job_prefix",
    )
    .bind(org.0)
    .bind(brand.0)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or_else(|| Error::invalid("brand_id", "no such brand"))
}

pub async fn insert_job(
    tx: &mut Tx,
    org: OrgId,
    job: &NewJob,
    now: jiff::Timestamp,
    actor: &str,
) -> Result<(JobId, String)> {
    let (number, prefix) = take_job_number(tx, org, job.brand).await?;
    let code = format!("{prefix}-{number}");
    let now = to_millis(now);
    let (id,): (i64,) = sqlx::query_as(
        "insert into jobs (org_id, brand_id, customer_id, number, code, service, status, address, \
         scheduled_start, scheduled_end, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) returning id",
    )
    .bind(org.0)
    .bind(job.brand.0)
    .bind(job.customer.0)
    .bind(number)
    .bind(&code)
    .bind(&job.service)
    .bind(job.status.as_str())
    .bind(job.address.clone())
    .bind(job.scheduled_start.map(to_millis))
    .bind(job.scheduled_end.map(to_millis))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    for tech in &job.techs {
        assign(&mut **tx, org, JobId(id), *tech, now).await?;
    }
    let created = NewEvent { actor, kind: "created", from: None, to: Some(job.status), note: None };
    add_event(tx, org, JobId(id), &created, now).await?;
    Ok((JobId(id), code))
}

async fn assign<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    job: JobId,
    tech: TechnicianId,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "insert into job_technicians (job_id, technician_id, org_id, assigned_at) \
         select $2, t.id, $1, $4 from technicians t where t.org_id = $1 and t.id = $3",
    )
    .bind(org.0)
    .bind(job.0)
    .bind(tech.0)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// One job with its technicians.
pub async fn get_job(pool: &sqlx::AnyPool, org: OrgId, id: JobId) -> Result<Option<JobSummary>> {
    let row: Option<JobRow> = sqlx::query_as(concat!(job_select!(), "where j.org_id = $1 and j.id = $2"))
        .bind(org.0)
        .bind(id.0)
        .fetch_optional(pool)
        .await?;
    let Some(r) = row else { return Ok(None) };
    let techs = techs_by_job(pool, org, Some(id)).await?.remove(&r.id).unwrap_or_default();
    r.into_summary(techs).map(Some)
}

/// Moves a job from `from` to `to`, only if it is still in `from`; returns whether it moved.
pub async fn set_status(tx: &mut Tx, org: OrgId, id: JobId, from: JobStatus, to: JobStatus, now: i64) -> Result<bool> {
    let done =
        sqlx::query("update jobs set status = $4, updated_at = $5 where org_id = $1 and id = $2 and status = $3")
            .bind(org.0)
            .bind(id.0)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(now)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub struct NewEvent<'a> {
    pub actor: &'a str,
    pub kind: &'a str,
    pub from: Option<JobStatus>,
    pub to: Option<JobStatus>,
    pub note: Option<&'a str>,
}

pub async fn add_event(tx: &mut Tx, org: OrgId, job: JobId, e: &NewEvent<'_>, now: i64) -> Result<()> {
    sqlx::query(
        "insert into job_events (org_id, job_id, at, actor, kind, from_status, to_status, note) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(org.0)
    .bind(job.0)
    .bind(now)
    .bind(e.actor)
    .bind(e.kind)
    .bind(e.from.map(|s| s.as_str()))
    .bind(e.to.map(|s| s.as_str()))
    .bind(e.note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(FromRow)]
pub struct EventRow {
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub note: Option<String>,
}

pub async fn events(pool: &sqlx::AnyPool, org: OrgId, job: JobId) -> Result<Vec<EventRow>> {
    Ok(sqlx::query_as(
        "select at, actor, kind, from_status, to_status, note from job_events where org_id = $1 and job_id = $2 order by at, id",
    )
    .bind(org.0)
    .bind(job.0)
    .fetch_all(pool)
    .await?)
}
