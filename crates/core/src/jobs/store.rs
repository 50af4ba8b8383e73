//! SQL for jobs.

use std::collections::HashMap;

use sqlx::{Any, Executor, FromRow};

use super::model::{GeoPoint, JobFilter, JobPhoto, JobStatus, JobSummary, JobTech, LineItem, NewJob, WorkStatus};
use crate::clock::{from_millis, to_millis};
use crate::db::Tx;
use crate::ids::{BrandId, CustomerId, JobId, LocationId, OrgId, TechnicianId};
use crate::money::{Currency, Money};
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
    latitude_e6: Option<i64>,
    longitude_e6: Option<i64>,
    location_verified: i64,
    internal_notes: Option<String>,
    customer_notes: Option<String>,
    version: i64,
    service_location_id: Option<i64>,
    location_label: Option<String>,
    access_notes: Option<String>,
}

macro_rules! job_select {
    () => {
        "select j.id, j.org_id, j.brand_id, j.code, j.customer_id, c.name as customer_name, j.service, j.status, \
                j.address, j.scheduled_start, j.scheduled_end, j.latitude_e6, j.longitude_e6, j.location_verified, \
                j.internal_notes, j.customer_notes, j.version, j.service_location_id, \
                sl.label as location_label, sl.access_notes \
         from jobs j join customers c on c.id = j.customer_id and c.org_id = j.org_id \
         left join service_locations sl on sl.id = j.service_location_id and sl.org_id = j.org_id "
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
            location: match (self.latitude_e6, self.longitude_e6) {
                (Some(lat), Some(lon)) => Some(GeoPoint::from_e6(lat, lon)),
                _ => None,
            },
            location_verified: self.location_verified != 0,
            internal_notes: self.internal_notes,
            customer_notes: self.customer_notes,
            version: self.version,
            service_location: self.service_location_id.map(|id| super::model::SiteRef {
                id: LocationId(id),
                label: self.location_label,
                access_notes: self.access_notes,
            }),
        })
    }
}

/// A value bound to a generated query.
enum Param {
    Int(i64),
    Text(String),
}

pub async fn list_jobs(pool: &sqlx::AnyPool, org: OrgId, filter: &JobFilter) -> Result<Vec<JobSummary>> {
    // Only the filters given become conditions, so each query can use its index
    // (`$n is null or ...` would make the planner scan every job of the organization).
    let mut conds = vec!["j.org_id = $1".to_string()];
    let mut params = vec![Param::Int(org.0)];
    let mut add = |cond: &str, p: Param| {
        params.push(p);
        conds.push(cond.replace("$?", &format!("${}", params.len())));
    };
    if let Some(b) = filter.brand {
        add("j.brand_id = $?", Param::Int(b.0));
    }
    if let Some(st) = filter.status {
        add("j.status = $?", Param::Text(st.as_str().into()));
    }
    if let Some(t) = filter.tech {
        add(
            "exists (select 1 from job_technicians jt where jt.job_id = j.id and jt.technician_id = $?)",
            Param::Int(t.0),
        );
    }
    if let Some(from) = filter.from {
        add("j.scheduled_start >= $?", Param::Int(to_millis(from)));
    }
    if let Some(to) = filter.to {
        add("j.scheduled_start < $?", Param::Int(to_millis(to)));
    }
    if let Some(c) = filter.customer {
        add("j.customer_id = $?", Param::Int(c.0));
    }
    if let Some(q) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        add(
            "(lower(j.code) like $? or lower(c.name) like $? or lower(j.service) like $? \
              or lower(coalesce(j.address, '')) like $?)",
            Param::Text(format!("%{}%", like_escape(&q.to_lowercase()))),
        );
    }
    let sql = format!(
        "{}where {} order by j.scheduled_start is null, j.scheduled_start, j.id",
        job_select!(),
        conds.join(" and ")
    );
    let mut query = sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql));
    for p in params {
        query = match p {
            Param::Int(v) => query.bind(v),
            Param::Text(v) => query.bind(v),
        };
    }
    let rows: Vec<JobRow> = query.fetch_all(pool).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut techs = techs_of_jobs(pool, org, &ids).await?;
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

/// Drops LIKE's wildcards (and PostgreSQL's default escape character) from what a user typed,
/// so a search means the same text on both backends.
fn like_escape(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, '%' | '_' | '\\')).collect()
}

/// Technicians of the given jobs (of the organization), by job id.
async fn techs_of_jobs(pool: &sqlx::AnyPool, org: OrgId, jobs: &[i64]) -> Result<HashMap<i64, Vec<JobTech>>> {
    let mut map: HashMap<i64, Vec<JobTech>> = HashMap::new();
    for chunk in jobs.chunks(500) {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(techs_sql(chunk))).bind(org.0).fetch_all(pool).await?;
        add_techs(&mut map, rows)?;
    }
    Ok(map)
}

type TechRow = (i64, i64, String, Option<String>, String);

/// Technicians of at most a few hundred jobs. The ids are integers we read from the database,
/// so listing them inline is safe.
fn techs_sql(jobs: &[i64]) -> String {
    let list = jobs.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    format!(
        "select jt.job_id, t.id, t.name, t.photo_url, jt.work_status from job_technicians jt \
         join technicians t on t.id = jt.technician_id and t.org_id = jt.org_id \
         where jt.org_id = $1 and jt.job_id in ({list}) order by jt.assigned_at, t.name"
    )
}

fn add_techs(map: &mut HashMap<i64, Vec<JobTech>>, rows: Vec<TechRow>) -> Result<()> {
    for (job, id, name, photo_url, work) in rows {
        let work = WorkStatus::parse(&work).map_err(Error::Unexpected)?;
        map.entry(job).or_default().push(JobTech { id: TechnicianId(id), name, photo_url, work });
    }
    Ok(())
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

/// The job's editable columns, as they should be after an edit.
pub struct JobFields<'a> {
    pub service: &'a str,
    pub address: Option<&'a str>,
    pub service_location: Option<LocationId>,
    pub location: Option<GeoPoint>,
    pub location_verified: bool,
    pub scheduled_start: Option<jiff::Timestamp>,
    pub scheduled_end: Option<jiff::Timestamp>,
    pub internal_notes: Option<&'a str>,
    pub customer_notes: Option<&'a str>,
}

pub async fn update_fields(tx: &mut Tx, org: OrgId, id: JobId, f: &JobFields<'_>, now: i64) -> Result<()> {
    let (lat, lon) = f.location.map(GeoPoint::to_e6).unzip();
    sqlx::query(
        "update jobs set service = $3, address = $4, latitude_e6 = $5, longitude_e6 = $6, location_verified = $7, \
         scheduled_start = $8, scheduled_end = $9, internal_notes = $10, customer_notes = $11, updated_at = $12, \
         service_location_id = $13, version = version + 1 where org_id = $1 and id = $2",
    )
    .bind(org.0)
    .bind(id.0)
    .bind(f.service)
    .bind(f.address)
    .bind(lat)
    .bind(lon)
    .bind(f.location_verified as i64)
    .bind(f.scheduled_start.map(to_millis))
    .bind(f.scheduled_end.map(to_millis))
    .bind(f.internal_notes)
    .bind(f.customer_notes)
    .bind(now)
    .bind(f.service_location.map(|l| l.0))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Replaces the job's technicians with `techs` (ids of this organization), the new ones
/// starting as `work`; returns the ids added, and the ids removed with whether each had been
/// told about the job (texted its portal link).
pub async fn set_techs(
    tx: &mut Tx,
    org: OrgId,
    job: JobId,
    techs: &[TechnicianId],
    work: WorkStatus,
    now: i64,
) -> Result<(Vec<TechnicianId>, Vec<(TechnicianId, bool)>)> {
    let current: Vec<(i64, Option<i64>)> =
        sqlx::query_as("select technician_id, notified_at from job_technicians where org_id = $1 and job_id = $2")
            .bind(org.0)
            .bind(job.0)
            .fetch_all(&mut **tx)
            .await?;
    let current: Vec<(TechnicianId, bool)> =
        current.into_iter().map(|(t, notified)| (TechnicianId(t), notified.is_some())).collect();
    let added: Vec<_> = techs.iter().copied().filter(|t| !current.iter().any(|(c, _)| c == t)).collect();
    let removed: Vec<_> = current.iter().copied().filter(|(t, _)| !techs.contains(t)).collect();
    for (t, _) in &removed {
        sqlx::query("delete from job_technicians where org_id = $1 and job_id = $2 and technician_id = $3")
            .bind(org.0)
            .bind(job.0)
            .bind(t.0)
            .execute(&mut **tx)
            .await?;
    }
    for t in &added {
        assign(&mut **tx, org, job, *t, work, now).await?;
    }
    Ok((added, removed))
}

/// What each technician of the job is doing, read inside `tx` (under the write lock).
pub async fn crew_in(tx: &mut Tx, org: OrgId, job: JobId) -> Result<Vec<(TechnicianId, WorkStatus)>> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "select technician_id, work_status from job_technicians where org_id = $1 and job_id = $2 \
         order by assigned_at, technician_id",
    )
    .bind(org.0)
    .bind(job.0)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter().map(|(t, w)| Ok((TechnicianId(t), WorkStatus::parse(&w).map_err(Error::Unexpected)?))).collect()
}

pub async fn set_work(tx: &mut Tx, org: OrgId, job: JobId, tech: TechnicianId, work: WorkStatus) -> Result<()> {
    sqlx::query("update job_technicians set work_status = $4 where org_id = $1 and job_id = $2 and technician_id = $3")
        .bind(org.0)
        .bind(job.0)
        .bind(tech.0)
        .bind(work.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Marks the job changed if it is still open; false when it is completed or canceled.
pub async fn touch_if_open(tx: &mut Tx, org: OrgId, id: JobId, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "update jobs set updated_at = $3, version = version + 1 \
         where org_id = $1 and id = $2 and status not in ('completed', 'canceled')",
    )
    .bind(org.0)
    .bind(id.0)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Technicians of the job not yet texted their portal link for it (`told` false), or the ones
/// who were (`told` true).
pub async fn techs_told(tx: &mut Tx, org: OrgId, job: JobId, told: bool) -> Result<Vec<TechnicianId>> {
    let sql = if told {
        "select technician_id from job_technicians where org_id = $1 and job_id = $2 and notified_at is not null \
         order by assigned_at, technician_id"
    } else {
        "select technician_id from job_technicians where org_id = $1 and job_id = $2 and notified_at is null \
         order by assigned_at, technician_id"
    };
    let rows: Vec<(i64,)> = sqlx::query_as(sql).bind(org.0).bind(job.0).fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().map(|(t,)| TechnicianId(t)).collect())
}

pub async fn mark_notified(tx: &mut Tx, org: OrgId, job: JobId, tech: TechnicianId, now: i64) -> Result<()> {
    sqlx::query("update job_technicians set notified_at = $4 where org_id = $1 and job_id = $2 and technician_id = $3")
        .bind(org.0)
        .bind(job.0)
        .bind(tech.0)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(FromRow)]
struct LineItemRow {
    id: i64,
    description: String,
    quantity_x100: i64,
    unit_price: i64,
    currency: String,
    taxable: i64,
    added_by: String,
}

pub async fn line_items<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    pool: E,
    org: OrgId,
    job: JobId,
) -> Result<Vec<LineItem>> {
    let rows: Vec<LineItemRow> = sqlx::query_as(
        "select id, description, quantity_x100, unit_price, currency, taxable, added_by from job_line_items \
         where org_id = $1 and job_id = $2 order by id",
    )
    .bind(org.0)
    .bind(job.0)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let currency = Currency::parse(&r.currency)
                .map_err(|e| Error::Unexpected(format!("line item {} of job {}: {e}", r.id, job.0)))?;
            Ok(LineItem {
                id: r.id,
                description: r.description,
                quantity_x100: r.quantity_x100,
                unit_price: Money::new(r.unit_price, currency),
                taxable: r.taxable != 0,
                added_by: r.added_by,
            })
        })
        .collect()
}

pub async fn insert_line_item(tx: &mut Tx, org: OrgId, job: JobId, item: &LineItem, now: i64) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "insert into job_line_items (org_id, job_id, description, quantity_x100, unit_price, currency, taxable, \
         added_by, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
    )
    .bind(org.0)
    .bind(job.0)
    .bind(&item.description)
    .bind(item.quantity_x100)
    .bind(item.unit_price.minor)
    .bind(item.unit_price.currency.code())
    .bind(item.taxable as i64)
    .bind(&item.added_by)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Deletes a line item of the job; returns its description when there was one.
pub async fn delete_line_item(tx: &mut Tx, org: OrgId, job: JobId, item: i64) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as(
        "delete from job_line_items where org_id = $1 and job_id = $2 and id = $3 returning description",
    )
    .bind(org.0)
    .bind(job.0)
    .bind(item)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(d,)| d))
}

#[derive(FromRow)]
struct PhotoRow {
    id: i64,
    storage_key: String,
    content_type: String,
    size_bytes: i64,
    added_by: String,
    created_at: i64,
}

impl From<PhotoRow> for JobPhoto {
    fn from(r: PhotoRow) -> Self {
        JobPhoto {
            id: r.id,
            content_type: r.content_type,
            size_bytes: r.size_bytes,
            added_by: r.added_by,
            created_at: from_millis(r.created_at),
            storage_key: r.storage_key,
        }
    }
}

pub async fn photos(pool: &sqlx::AnyPool, org: OrgId, job: JobId) -> Result<Vec<JobPhoto>> {
    let rows: Vec<PhotoRow> = sqlx::query_as(
        "select id, storage_key, content_type, size_bytes, added_by, created_at from job_photos \
         where org_id = $1 and job_id = $2 order by id",
    )
    .bind(org.0)
    .bind(job.0)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(JobPhoto::from).collect())
}

pub async fn photo(pool: &sqlx::AnyPool, org: OrgId, job: JobId, id: i64) -> Result<Option<JobPhoto>> {
    let row: Option<PhotoRow> = sqlx::query_as(
        "select id, storage_key, content_type, size_bytes, added_by, created_at from job_photos \
         where org_id = $1 and job_id = $2 and id = $3",
    )
    .bind(org.0)
    .bind(job.0)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(JobPhoto::from))
}

pub struct NewPhoto<'a> {
    pub storage_key: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub added_by: &'a str,
}

pub async fn insert_photo(tx: &mut Tx, org: OrgId, job: JobId, p: &NewPhoto<'_>, now: i64) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "insert into job_photos (org_id, job_id, storage_key, content_type, size_bytes, added_by, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7) returning id",
    )
    .bind(org.0)
    .bind(job.0)
    .bind(p.storage_key)
    .bind(p.content_type)
    .bind(p.size_bytes)
    .bind(p.added_by)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
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
    let address = job.address.as_deref().unwrap_or_default();
    let site = crate::customers::locations::for_address_in(tx, now, org, job.customer, address).await?;
    let now = to_millis(now);
    let (id,): (i64,) = sqlx::query_as(
        "insert into jobs (org_id, brand_id, customer_id, number, code, service, status, address, \
         scheduled_start, scheduled_end, created_at, updated_at, service_location_id) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) returning id",
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
    .bind(site.map(|l| l.0))
    .fetch_one(&mut **tx)
    .await?;
    let mut seen = Vec::new();
    for tech in &job.techs {
        if !seen.contains(tech) {
            seen.push(*tech);
            assign(&mut **tx, org, JobId(id), *tech, WorkStatus::for_job(job.status), now).await?;
        }
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
    work: WorkStatus,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "insert into job_technicians (job_id, technician_id, org_id, assigned_at, work_status) \
         select $2, t.id, $1, $4, $5 from technicians t where t.org_id = $1 and t.id = $3 \
         on conflict (job_id, technician_id) do nothing",
    )
    .bind(org.0)
    .bind(job.0)
    .bind(tech.0)
    .bind(now)
    .bind(work.as_str())
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
    let techs = techs_of_jobs(pool, org, &[r.id]).await?.remove(&r.id).unwrap_or_default();
    r.into_summary(techs).map(Some)
}

/// Locks the job's row for the rest of `tx` (PostgreSQL; SQLite's writer is alone anyway)
/// and reads it, so decisions are made on the status and crew nobody else can change meanwhile.
pub async fn lock_job_in(tx: &mut Tx, org: OrgId, id: JobId) -> Result<JobSummary> {
    sqlx::query("update jobs set updated_at = updated_at where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id.0)
        .execute(&mut **tx)
        .await?;
    get_job_in(tx, org, id).await
}

/// One job, read inside `tx` (as the transaction has changed it).
pub async fn get_job_in(tx: &mut Tx, org: OrgId, id: JobId) -> Result<JobSummary> {
    let row: Option<JobRow> = sqlx::query_as(concat!(job_select!(), "where j.org_id = $1 and j.id = $2"))
        .bind(org.0)
        .bind(id.0)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(r) = row else { return Err(Error::NotFound) };
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(techs_sql(&[r.id]))).bind(org.0).fetch_all(&mut **tx).await?;
    let mut map = HashMap::new();
    add_techs(&mut map, rows)?;
    let techs = map.remove(&r.id).unwrap_or_default();
    r.into_summary(techs)
}

/// Moves a job from `from` to `to`, only if it is still in `from`; returns whether it moved.
pub async fn set_status(tx: &mut Tx, org: OrgId, id: JobId, from: JobStatus, to: JobStatus, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "update jobs set status = $4, updated_at = $5, version = version + 1 \
             where org_id = $1 and id = $2 and status = $3",
    )
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

/// When the job last changed and who changed it (its latest history entry), inside `tx`.
pub async fn last_change_in(tx: &mut Tx, org: OrgId, job: JobId) -> Result<Option<(i64, String)>> {
    Ok(sqlx::query_as(
        "select at, actor from job_events where org_id = $1 and job_id = $2 and actor <> 'system' \
         order by at desc, id desc limit 1",
    )
    .bind(org.0)
    .bind(job.0)
    .fetch_optional(&mut **tx)
    .await?)
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
