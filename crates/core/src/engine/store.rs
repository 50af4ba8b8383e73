//! SQL for work items. Claims take a lease; every later write checks the lease is still ours.

use sqlx::{Any, Executor, FromRow};

use super::kind::Priority;
use super::model::{Fence, NewWork, WorkId, WorkItem};
use crate::Result;
use crate::clock::{from_millis, to_millis};
use crate::db::{Backend, Db, Tx};
use crate::ids::OrgId;

/// Adds work inside `tx`. `None` when an item with the same idempotency key already exists.
pub async fn insert(tx: &mut Tx, work: &NewWork, now: jiff::Timestamp) -> Result<Option<WorkId>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "insert into work_items (org_id, kind, payload, status, priority, due_at, attempts, max_attempts, \
         idempotency_key, group_key, fence_name, fence_version, created_at, updated_at) \
         values ($1, $2, $3, 'pending', $4, $5, 0, $6, $7, $8, $9, $10, $11, $11) \
         on conflict (idempotency_key) where idempotency_key is not null do nothing returning id",
    )
    .bind(work.org_id.map(|o| o.0))
    .bind(work.kind)
    .bind(&work.payload)
    .bind(work.priority.as_i64())
    .bind(to_millis(work.due_at))
    .bind(i64::from(work.max_attempts))
    .bind(work.idempotency_key.clone())
    .bind(work.group.clone())
    .bind(work.fence.as_ref().map(|f| f.name.clone()))
    .bind(work.fence.as_ref().map(|f| f.version))
    .bind(to_millis(now))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(id,)| WorkId(id)))
}

/// Inserts items whose ids were chosen ahead ([`crate::db::Ids`]), a few statements for
/// all; an item whose key exists already is left out, as [`insert`] does.
pub async fn insert_many(tx: &mut Tx, items: &[(i64, NewWork)], now: jiff::Timestamp) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    const TYPES: [&str; 11] =
        ["bigint", "bigint", "text", "text", "bigint", "bigint", "bigint", "text", "text", "text", "bigint"];
    let sql = format!(
        "insert into work_items (id, org_id, kind, payload, status, priority, due_at, attempts, max_attempts, \
         idempotency_key, group_key, fence_name, fence_version, created_at, updated_at) \
         select v.c1, v.c2, v.c3, v.c4, 'pending', v.c5, v.c6, 0, v.c7, v.c8, v.c9, v.c10, v.c11, $1, $1 from ({}) as v \
         where true on conflict (idempotency_key) where idempotency_key is not null do nothing",
        crate::db::bulk::rows(tx.backend(), 2, &TYPES)
    );
    let rows: Vec<_> = items
        .iter()
        .map(|(id, work)| {
            (
                id,
                work.org_id.map(|o| o.0),
                work.kind,
                &work.payload,
                work.priority.as_i64(),
                to_millis(work.due_at),
                i64::from(work.max_attempts),
                &work.idempotency_key,
                &work.group,
                work.fence.as_ref().map(|f| &f.name),
                work.fence.as_ref().map(|f| f.version),
            )
        })
        .collect();
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to_millis(now))
        .bind(crate::db::bulk::encode(&rows)?)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(FromRow)]
struct ClaimRow {
    id: i64,
    org_id: Option<i64>,
    kind: String,
    payload: String,
    priority: i64,
    attempts: i64,
    max_attempts: i64,
    due_at: i64,
    idempotency_key: Option<String>,
    group_key: Option<String>,
    fence_name: Option<String>,
    fence_version: Option<i64>,
}

/// The claim queries for one set of kinds, built once per engine. Kind names are checked to be
/// `[a-z0-9._]` when registered, so they are written into the SQL as literals (a constant list
/// the planner can match against the index).
#[derive(Debug, Clone)]
pub struct ClaimSql {
    release_expired: String,
    /// Urgent first, then routine.
    claim: [String; 2],
    next_wake: String,
}

impl ClaimSql {
    pub fn new(backend: Backend, kinds: &[&'static str]) -> ClaimSql {
        let list = if kinds.is_empty() {
            "''".to_string()
        } else {
            kinds.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ")
        };
        // On PostgreSQL the claimed ids come as an array (an init plan), so the update is an
        // index lookup of exactly those rows: with `id in (subquery)` the generic plan that
        // prepared statements switch to after five runs hash-joins against a full scan of the
        // table (10 ms at 100,000 pending timers, measured).
        let (lock, open, close) = match backend {
            Backend::Sqlite => ("", "in (", ")"),
            Backend::Postgres => (" for update skip locked", "= any(array(", "))"),
        };
        ClaimSql {
            // An item whose runner vanished goes back to pending (keeping its due time and its
            // attempt count), so the claim below takes it in priority order like any other.
            release_expired: format!(
                "update work_items set status = 'pending', lease_owner = null, lease_expires_at = null, \
                 updated_at = $1 where status = 'running' and lease_expires_at <= $1 and kind in ({list})"
            ),
            // One statement per priority, each reading its own range of the due index in order
            // (an index on (priority, due_at) cannot bound due_at for both priorities at once
            // without a skip scan, which PostgreSQL 15 does not have).
            claim: [Priority::Urgent, Priority::Routine].map(|p| {
                format!(
                    "update work_items set status = 'running', lease_owner = $1, lease_expires_at = $2, \
                         attempts = attempts + 1, started_at = $3, updated_at = $3 \
                         where id {open}select id from work_items where status = 'pending' and priority = {} \
                         and due_at <= $3 and kind in ({list}) order by due_at, id limit $4{lock}{close} \
                         returning id, org_id, kind, payload, priority, attempts, max_attempts, due_at, \
                         idempotency_key, group_key, fence_name, fence_version",
                    p.as_i64()
                )
            }),
            // One branch per priority, each the first row of its index range in order: written
            // as `order by .. limit 1` because `min()` under a filter is planned as a scan of
            // every pending row when the table has no statistics yet (27 ms at 100,000, measured).
            next_wake: format!(
                "select (select min(t) from (\
                 select (select due_at from work_items where status = 'pending' and priority = 0 \
                 and kind in ({list}) order by due_at limit 1) as t \
                 union all select (select due_at from work_items where status = 'pending' and priority = 1 \
                 and kind in ({list}) order by due_at limit 1) as t) as due), \
                 (select lease_expires_at from work_items where status = 'running' \
                 and kind in ({list}) order by lease_expires_at limit 1)"
            ),
        }
    }
}

/// Puts items whose lease expired (their runner died) back to pending, inside `tx`, keeping
/// their due time and attempt count, so the next claim takes them in priority order.
pub async fn release_expired_in(tx: &mut Tx, sql: &ClaimSql, now: i64) -> Result<u64> {
    let done = sqlx::query(sqlx::AssertSqlSafe(sql.release_expired.as_str())).bind(now).execute(&mut **tx).await?;
    Ok(done.rows_affected())
}

/// Claims, inside `tx`, up to `limit` due items of the engine's kinds: urgent ones first, then
/// routine ones (at most `routine_limit` of them), each by due time.
pub async fn claim_in(
    tx: &mut Tx,
    sql: &ClaimSql,
    owner: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
    routine_limit: i64,
) -> Result<Vec<WorkItem>> {
    let mut rows: Vec<ClaimRow> = Vec::new();
    for (i, claim) in sql.claim.iter().enumerate() {
        let room = if i == 0 { limit } else { (limit - rows.len() as i64).min(routine_limit) };
        if room <= 0 {
            break;
        }
        let got: Vec<ClaimRow> = sqlx::query_as(sqlx::AssertSqlSafe(claim.as_str()))
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .bind(room)
            .fetch_all(&mut **tx)
            .await?;
        rows.extend(got);
    }
    let mut items: Vec<WorkItem> = rows
        .into_iter()
        .map(|r| WorkItem {
            id: WorkId(r.id),
            org_id: r.org_id.map(OrgId),
            kind: r.kind,
            payload: r.payload,
            attempt: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            max_attempts: u32::try_from(r.max_attempts).unwrap_or(1),
            due_at: from_millis(r.due_at),
            priority: Priority::from_i64(r.priority),
            idempotency_key: r.idempotency_key,
            group: r.group_key,
            fence: match (r.fence_name, r.fence_version) {
                (Some(name), Some(version)) => Some(Fence { name, version }),
                _ => None,
            },
        })
        .collect();
    items.sort_by_key(|i| (i.priority, i.due_at, i.id));
    Ok(items)
}

/// Marks finished items done in one statement per chunk (their results, if any, in a `case`).
/// Returns how many were still ours to record.
pub async fn complete_many(tx: &mut Tx, owner: &str, done: &[(WorkId, Option<String>)], now: i64) -> Result<u64> {
    if done.is_empty() {
        return Ok(0);
    }
    let backend = tx.backend();
    let sql = format!(
        "update work_items set status = 'done', result = v.c2, last_error = null, lease_owner = null, \
         lease_expires_at = null, finished_at = $2, updated_at = $2 from ({}) as v \
         where work_items.id = v.c1 and {} and work_items.lease_owner = $1 and work_items.status = 'running'",
        crate::db::bulk::rows(backend, 3, &["bigint", "text"]),
        crate::db::bulk::any_in_rows(backend, "work_items.id", 3, 0, "bigint")
    );
    let rows: Vec<(i64, &Option<String>)> = done.iter().map(|(id, r)| (id.0, r)).collect();
    let recorded = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(now)
        .bind(crate::db::bulk::encode(&rows)?)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(recorded)
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

/// When something of the engine's kinds could next become claimable: the earliest pending due
/// time, and the earliest lease expiry.
pub async fn next_wake(tx: &mut Tx, sql: &ClaimSql) -> Result<(Option<i64>, Option<i64>)> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql.next_wake.as_str())).fetch_one(&mut **tx).await?)
}

/// Cancels the item with this idempotency key unless it already finished. Returns whether one was.
pub async fn cancel_key(tx: &mut Tx, key: &str, now: i64) -> Result<bool> {
    Ok(cancel_where(tx, "idempotency_key", key, now).await? == 1)
}

/// Cancels every unfinished item of a group. A running one finishes its attempt (its fence
/// keeps it from acting) but is not retried.
pub async fn cancel_group(tx: &mut Tx, group: &str, now: i64) -> Result<u64> {
    cancel_where(tx, "group_key", group, now).await
}

/// `column` is one of the two literals above, never input.
async fn cancel_where(tx: &mut Tx, column: &'static str, value: &str, now: i64) -> Result<u64> {
    let sql = format!(
        "update work_items set status = 'canceled', lease_owner = null, lease_expires_at = null, \
         finished_at = $2, updated_at = $2 where {column} = $1 and status in ('pending', 'running')"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(value).bind(now).execute(&mut **tx).await?;
    Ok(done.rows_affected())
}

/// Pending and running items per kind, and dead ones, for `/metrics`.
pub async fn depth_by_kind(db: &Db) -> Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "select kind, status, count(*) from work_items where status in ('pending', 'running', 'dead') \
         group by kind, status order by kind, status",
    )
    .fetch_all(db.pool())
    .await?)
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
