//! Fences: a version per thing that work acts for (an escalation, an invoice, a job's plan).
//!
//! Whoever changes the thing in a way that makes queued work obsolete advances its fence in the
//! same transaction as the change; work queued earlier carries the version it was queued for
//! ([`NewWork::fence`](super::NewWork::fence)) and checks it with [`holds_in`] in the same
//! transaction as its effects. The check locks the fence row (an `UPDATE`, so PostgreSQL
//! serializes it against a concurrent advance, and re-reads the row after waiting; SQLite
//! already has one writer), so of a confirmation and a timer firing at the same moment exactly
//! one wins. Grafana OnCall's `active_escalation_id` and GoAlert's per-alert state row play the
//! same part.

use super::model::Fence;
use crate::Result;
use crate::db::Tx;

/// The fence's current version (0 for one never advanced), to queue work against.
pub async fn current_in(tx: &mut Tx, name: &str) -> Result<Fence> {
    ensure(tx, name).await?;
    let (version,): (i64,) =
        sqlx::query_as("select version from fences where name = $1").bind(name).fetch_one(&mut **tx).await?;
    Ok(Fence { name: name.to_string(), version })
}

/// Makes every piece of work queued for an earlier version obsolete; returns the new version.
pub async fn advance_in(tx: &mut Tx, name: &str) -> Result<Fence> {
    let (version,): (i64,) = sqlx::query_as(
        "insert into fences (name, version) values ($1, 1) \
         on conflict (name) do update set version = fences.version + 1 returning version",
    )
    .bind(name)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Fence { name: name.to_string(), version })
}

/// Whether `fence` is still the current version, holding the fence row until `tx` ends.
pub async fn holds_in(tx: &mut Tx, fence: &Fence) -> Result<bool> {
    ensure(tx, &fence.name).await?;
    let held = sqlx::query("update fences set version = version where name = $1 and version = $2")
        .bind(&fence.name)
        .bind(fence.version)
        .execute(&mut **tx)
        .await?;
    Ok(held.rows_affected() == 1)
}

async fn ensure(tx: &mut Tx, name: &str) -> Result<()> {
    sqlx::query("insert into fences (name, version) values ($1, 0) on conflict (name) do nothing")
        .bind(name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
