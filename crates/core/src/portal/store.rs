//! SQL for portal links.

use sqlx::FromRow;

use crate::Result;
use crate::db::Tx;
use crate::ids::{OrgId, TechnicianId};

pub async fn insert(tx: &mut Tx, org: OrgId, tech: TechnicianId, hash: &str, now: i64, expires: i64) -> Result<()> {
    sqlx::query(
        "insert into portal_tokens (org_id, technician_id, token_hash, created_at, expires_at) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(org.0)
    .bind(tech.0)
    .bind(hash)
    .bind(now)
    .bind(expires)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(FromRow)]
pub struct TokenRow {
    pub org_id: i64,
    pub technician_id: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

pub async fn by_hash(pool: &sqlx::AnyPool, hash: &str) -> Result<Option<TokenRow>> {
    Ok(sqlx::query_as("select org_id, technician_id, expires_at, revoked_at from portal_tokens where token_hash = $1")
        .bind(hash)
        .fetch_optional(pool)
        .await?)
}

pub async fn revoke_all(tx: &mut Tx, org: OrgId, tech: TechnicianId, now: i64) -> Result<u64> {
    let done = sqlx::query(
        "update portal_tokens set revoked_at = $3 where org_id = $1 and technician_id = $2 and revoked_at is null",
    )
    .bind(org.0)
    .bind(tech.0)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Links per technician that still work at `now`.
pub async fn active_counts(pool: &sqlx::AnyPool, org: OrgId, now: i64) -> Result<Vec<(i64, i64)>> {
    Ok(sqlx::query_as(
        "select technician_id, count(*) from portal_tokens where org_id = $1 and revoked_at is null and expires_at > $2 \
         group by technician_id",
    )
    .bind(org.0)
    .bind(now)
    .fetch_all(pool)
    .await?)
}
