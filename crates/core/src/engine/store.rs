//! SQL for work items. Claims take a lease; every later write checks the lease is still ours.

use sqlx::{Any, Executor, FromRow};

use super::model::{NewWork, WorkId, WorkItem};
use crate::clock::{from_millis, to_millis};
use crate::db::{Backend, Db, Tx};
use crate::ids::OrgId;
use crate::{Error, Result};

/// Adds work inside `tx`. `None` when an item with the same idempotency key already exists.
pub async fn insert(tx: &mut Tx, work: &NewWork, now: jiff::Timestamp) -> Result<Option<WorkId>> {
    let payload = serde_json::to_string(&work.payload).map_err(|e| Error::Unexpected(e.to_string()))?;
    let row: Option<(i64,)> = sqlx::query_as(
        "insert into work_items (org_id, kind, payload, status, due_at, attempts, max_attempts, idempotency_key, \
         created_at, updated_at) values ($1, $2, $3, 'pending', $4, 0, $5, $6, $7, $7) \
         on conflict (idempotency_key) do nothing returning id",
    )
    .bind(work.org_id.map(|o| o.0))
    .bind(work.kind)
    .bind(payload)
    .bind(to_millis(work.due_at))
    .bind(i64::from(work.max_attempts))
    .bind(work.idempotency_key.clone())
    .bind(to_millis(now))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(id,)| WorkId(id)))
}

#[derive(FromRow)]
struct ClaimRow {
    id: i64,
    org_id: Option<i64>,
    kind: String,
    payload: String,
    attempts: i64,
    max_attempts: i64,
    due_at: i64,
    idempotency_key: Option<String>,
}

const CLAIM_SQLITE: &str = "update work_items set status = 'running', lease_owner = $1, lease_expires_at = $2, \
     attempts = attempts + 1, started_at = $3, updated_at = $3 \
     where id in (select id from work_items where (status = 'pending' and due_at <= $3) \
                  or (status = 'running' and lease_expires_at <= $3) order by due_at, id limit $4) \
     returning id, org_id, kind, payload, attempts, max_attempts, due_at, idempotency_key";

const CLAIM_POSTGRES: &str = "update work_items set status = 'running', lease_owner = $1, lease_expires_at = $2, \
     attempts = attempts + 1, started_at = $3, updated_at = $3 \
     where id in (select id from work_items where (status = 'pending' and due_at <= $3) \
                  or (status = 'running' and lease_expires_at <= $3) order by due_at, id limit $4 \
                  for update skip locked) \
     returning id, org_id, kind, payload, attempts, max_attempts, due_at, idempotency_key";

/// Claims, inside `tx`, up to `limit` items that are due or whose lease expired (their runner
/// died).
pub async fn claim_in(
    tx: &mut Tx,
    backend: Backend,
    owner: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<WorkItem>> {
    if limit <= 0 {
        return Ok(Vec::new());
    }
    let sql = match backend {
        Backend::Sqlite => CLAIM_SQLITE,
        Backend::Postgres => CLAIM_POSTGRES,
    };
    let rows: Vec<ClaimRow> =
        sqlx::query_as(sql).bind(owner).bind(now + lease_ms).bind(now).bind(limit).fetch_all(&mut **tx).await?;
    let mut items: Vec<WorkItem> = rows
        .into_iter()
        .map(|r| WorkItem {
            id: WorkId(r.id),
            org_id: r.org_id.map(OrgId),
            kind: r.kind,
            payload: serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null),
            attempt: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            max_attempts: u32::try_from(r.max_attempts).unwrap_or(1),
            due_at: from_millis(r.due_at),
            idempotency_key: r.idempotency_key,
        })
        .collect();
    items.sort_by_key(|i| (i.due_at, i.id));
    Ok(items)
}

pub async fn complete<'c>(
    ex: impl Executor<'c, Database = Any>,
    id: WorkId,
    owner: &str,
    result: Option<&serde_json::Value>,
    now: i64,
) -> Result<bool> {
    let result = result.map(|r| r.to_string());
    let done = sqlx::query(
        "update work_items set status = 'done', result = $3, last_error = null, lease_owner = null, \
         lease_expires_at = null, finished_at = $4, updated_at = $4 where id = $1 and lease_owner = $2 and status = 'running'",
    )
    .bind(id.0)
    .bind(owner)
    .bind(result)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Back to pending at `due_at`. `count_attempt = false` undoes the claim's increment (deferral).
pub async fn reschedule<'c>(
    ex: impl Executor<'c, Database = Any>,
    id: WorkId,
    owner: &str,
    due_at: i64,
    error: Option<&str>,
    count_attempt: bool,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "update work_items set status = 'pending', due_at = $3, last_error = coalesce($4, last_error), \
         attempts = attempts - $5, lease_owner = null, lease_expires_at = null, updated_at = $6 \
         where id = $1 and lease_owner = $2 and status = 'running'",
    )
    .bind(id.0)
    .bind(owner)
    .bind(due_at)
    .bind(error)
    .bind(if count_attempt { 0i64 } else { 1i64 })
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn bury<'c>(
    ex: impl Executor<'c, Database = Any>,
    id: WorkId,
    owner: &str,
    error: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "update work_items set status = 'dead', last_error = $3, lease_owner = null, lease_expires_at = null, \
         finished_at = $4, updated_at = $4 where id = $1 and lease_owner = $2 and status = 'running'",
    )
    .bind(id.0)
    .bind(owner)
    .bind(error)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The earliest moment something could become claimable: a pending due time or a lease expiry.
pub async fn next_wake<'c>(ex: impl Executor<'c, Database = Any>) -> Result<Option<i64>> {
    let (at,): (Option<i64>,) = sqlx::query_as(
        "select min(t) from (select min(due_at) as t from work_items where status = 'pending' \
         union all select min(lease_expires_at) as t from work_items where status = 'running') as wake",
    )
    .fetch_one(ex)
    .await?;
    Ok(at)
}

/// A work item as the admin page shows it.
#[derive(Debug, Clone, FromRow)]
pub struct WorkRow {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub due_at: i64,
    pub last_error: Option<String>,
    pub updated_at: i64,
}

pub async fn list_by_status(db: &Db, org: OrgId, status: &str, limit: i64) -> Result<Vec<WorkRow>> {
    Ok(sqlx::query_as(
        "select id, kind, status, attempts, max_attempts, due_at, last_error, updated_at from work_items \
         where org_id = $1 and status = $2 order by updated_at desc, id desc limit $3",
    )
    .bind(org.0)
    .bind(status)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

pub async fn count_by_status(db: &Db, org: OrgId) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as("select status, count(*) from work_items where org_id = $1 group by status order by status")
        .bind(org.0)
        .fetch_all(db.pool())
        .await?)
}

/// Gives a dead item a fresh set of attempts, due now.
pub async fn revive(db: &Db, org: OrgId, id: WorkId, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "update work_items set status = 'pending', attempts = 0, due_at = $3, updated_at = $3, finished_at = null \
         where org_id = $1 and id = $2 and status = 'dead'",
    )
    .bind(org.0)
    .bind(id.0)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}
