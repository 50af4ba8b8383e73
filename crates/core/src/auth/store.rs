//! SQL for sessions and API keys.

use sqlx::{Any, Executor, FromRow};

use super::{ApiKey, SessionUser, ts};
use crate::ids::{ApiKeyId, BrandId, OrgId, SessionId, UserId};
use crate::tenancy::{Role, User};
use crate::{Error, Result};

pub(super) async fn insert_session<'c>(
    ex: impl Executor<'c, Database = Any>,
    user: &User,
    token_hash: &str,
    csrf: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "insert into sessions (token_hash, org_id, user_id, csrf_token, brand_id, created_at, expires_at) \
         values ($1, $2, $3, $4, null, $5, $6)",
    )
    .bind(token_hash)
    .bind(user.org_id.0)
    .bind(user.id.0)
    .bind(csrf)
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

pub(super) struct FoundSession {
    pub session: SessionUser,
    pub user: User,
    pub expires_at: i64,
}

#[derive(FromRow)]
struct SessionRow {
    session_id: i64,
    csrf_token: String,
    brand_id: Option<i64>,
    expires_at: i64,
    id: i64,
    org_id: i64,
    email: String,
    name: String,
    role: String,
    active: i64,
    created_at: i64,
}

pub(super) async fn session_by_hash<'c>(
    ex: impl Executor<'c, Database = Any>,
    token_hash: &str,
    now: i64,
) -> Result<Option<FoundSession>> {
    let row: Option<SessionRow> = sqlx::query_as(
        "select s.id as session_id, s.csrf_token, s.brand_id, s.expires_at, \
                u.id, u.org_id, u.email, u.name, u.role, u.active, u.created_at \
         from sessions s join users u on u.id = s.user_id and u.org_id = s.org_id \
         where s.token_hash = $1 and s.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(ex)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let user = User {
        id: UserId(r.id),
        org_id: OrgId(r.org_id),
        email: r.email,
        name: r.name,
        role: Role::parse(&r.role).map_err(Error::Unexpected)?,
        active: r.active != 0,
        created_at: ts(r.created_at),
    };
    Ok(Some(FoundSession {
        session: SessionUser {
            user: user.clone(),
            session_id: SessionId(r.session_id),
            csrf_token: r.csrf_token,
            brand_id: r.brand_id.map(BrandId),
        },
        user,
        expires_at: r.expires_at,
    }))
}

pub(super) async fn extend_session<'c>(
    ex: impl Executor<'c, Database = Any>,
    id: SessionId,
    expires_at: i64,
) -> Result<()> {
    sqlx::query("update sessions set expires_at = $2 where id = $1").bind(id.0).bind(expires_at).execute(ex).await?;
    Ok(())
}

pub(super) async fn delete_session<'c>(ex: impl Executor<'c, Database = Any>, token_hash: &str) -> Result<()> {
    sqlx::query("delete from sessions where token_hash = $1").bind(token_hash).execute(ex).await?;
    Ok(())
}

/// Signs a user out everywhere (used when an account is deactivated).
pub async fn end_sessions_of<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId, user: UserId) -> Result<()> {
    sqlx::query("delete from sessions where org_id = $1 and user_id = $2").bind(org.0).bind(user.0).execute(ex).await?;
    Ok(())
}

pub(super) async fn set_session_brand<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    id: SessionId,
    brand: Option<BrandId>,
) -> Result<()> {
    sqlx::query("update sessions set brand_id = $3 where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id.0)
        .bind(brand.map(|b| b.0))
        .execute(ex)
        .await?;
    Ok(())
}

#[derive(FromRow)]
struct ApiKeyRow {
    id: i64,
    org_id: i64,
    name: String,
    prefix: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<ApiKeyRow> for ApiKey {
    fn from(r: ApiKeyRow) -> Self {
        ApiKey {
            id: ApiKeyId(r.id),
            org_id: OrgId(r.org_id),
            name: r.name,
            prefix: r.prefix,
            created_at: ts(r.created_at),
            last_used_at: r.last_used_at.map(ts),
            revoked: r.revoked_at.is_some(),
        }
    }
}

macro_rules! api_key_columns {
    () => {
        "id, org_id, name, prefix, created_at, last_used_at, revoked_at"
    };
}

pub(super) async fn insert_api_key<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    name: &str,
    prefix: &str,
    key_hash: &str,
    now: i64,
) -> Result<ApiKey> {
    let row: ApiKeyRow = sqlx::query_as(concat!(
        "insert into api_keys (org_id, name, prefix, key_hash, created_at) values ($1, $2, $3, $4, $5) \
         returning ",
        api_key_columns!(),
        ""
    ))
    .bind(org.0)
    .bind(name)
    .bind(prefix)
    .bind(key_hash)
    .bind(now)
    .fetch_one(ex)
    .await?;
    Ok(row.into())
}

pub(super) async fn list_api_keys<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId) -> Result<Vec<ApiKey>> {
    let rows: Vec<ApiKeyRow> = sqlx::query_as(concat!(
        "select ",
        api_key_columns!(),
        " from api_keys where org_id = $1 order by created_at desc, id desc"
    ))
    .bind(org.0)
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(ApiKey::from).collect())
}

pub(super) async fn revoke_api_key<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    id: ApiKeyId,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query("update api_keys set revoked_at = coalesce(revoked_at, $3) where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id.0)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Finds a live key by hash and records its use (at most once a minute, so reads stay reads).
pub(super) async fn use_api_key(pool: &sqlx::AnyPool, key_hash: &str, now: i64) -> Result<Option<(OrgId, ApiKeyId)>> {
    let row: Option<(i64, i64, Option<i64>)> =
        sqlx::query_as("select org_id, id, last_used_at from api_keys where key_hash = $1 and revoked_at is null")
            .bind(key_hash)
            .fetch_optional(pool)
            .await?;
    let Some((org, id, last_used)) = row else {
        return Ok(None);
    };
    if last_used.is_none_or(|t| now - t >= 60_000) {
        sqlx::query("update api_keys set last_used_at = $2 where id = $1").bind(id).bind(now).execute(pool).await?;
    }
    Ok(Some((OrgId(org), ApiKeyId(id))))
}
