//! Who is asking: password sign-in, browser sessions, API keys, and sign-in throttling.
//!
//! Session and API-key secrets are 256-bit random tokens handed to the client once and
//! stored only as SHA-256 digests (see [`crate::secret`]).

mod store;
pub mod throttle;

use jiff::SignedDuration;
use serde::Serialize;

use crate::clock::{Clock, from_millis, to_millis};
use crate::db::Db;
use crate::ids::{ApiKeyId, BrandId, OrgId, SessionId};
use crate::parse::EmailAddress;
use crate::secret::{hash_token, new_token, verify_password};
use crate::tenancy::{self, User};
use crate::{Error, Result};

pub use store::end_sessions_of;

/// How long a sign-in lasts without use; each use within it extends it.
pub const SESSION_IDLE: SignedDuration = SignedDuration::from_hours(12);
/// Prefix of every API key, so leaked keys are easy to recognise and scan for.
pub const API_KEY_PREFIX: &str = "sb_";

/// A signed-in browser: the user, their session and its CSRF token.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: User,
    pub session_id: SessionId,
    pub csrf_token: String,
    pub brand_id: Option<BrandId>,
}

/// A new session: `token` goes into the cookie and is never stored.
#[derive(Debug)]
pub struct NewSession {
    pub token: String,
    pub user: User,
}

/// Checks an email and password; on success opens a session. `None` means wrong credentials
/// (or an inactive account), without saying which.
#[tracing::instrument(skip(db, clock, password))]
pub async fn sign_in(db: &Db, clock: &dyn Clock, email: &str, password: &str) -> Result<Option<NewSession>> {
    let email = EmailAddress::parse(email).ok();
    let found = match &email {
        Some(e) => tenancy::user_for_login(db.pool(), e.as_str()).await?,
        None => None,
    };
    let (user, hash) = match found {
        Some((user, hash)) if user.active => (Some(user), hash),
        _ => (None, None),
    };
    // Always verify, even for an unknown email, so the response time does not tell.
    let ok = verify_password(password.to_string(), hash).await?;
    let Some(user) = user.filter(|_| ok) else {
        return Ok(None);
    };
    let token = new_token();
    let now = clock.now();
    store::insert_session(
        db.pool(),
        &user,
        &hash_token(&token),
        &new_token(),
        to_millis(now),
        to_millis(now + SESSION_IDLE),
    )
    .await?;
    Ok(Some(NewSession { token, user }))
}

/// The user behind a session cookie, if the session exists, has not expired, and the user is
/// still active. Sessions used in the second half of their life are extended.
pub async fn session_user(db: &Db, clock: &dyn Clock, token: &str) -> Result<Option<SessionUser>> {
    let now = to_millis(clock.now());
    let Some(found) = store::session_by_hash(db.pool(), &hash_token(token), now).await? else {
        return Ok(None);
    };
    if !found.user.active {
        return Ok(None);
    }
    if found.expires_at - now < SESSION_IDLE.as_millis() as i64 / 2 {
        store::extend_session(db.pool(), found.session.session_id, now + SESSION_IDLE.as_millis() as i64).await?;
    }
    Ok(Some(found.session))
}

pub async fn sign_out(db: &Db, token: &str) -> Result<()> {
    store::delete_session(db.pool(), &hash_token(token)).await
}

/// Remembers which brand the brand switcher shows for this session (`None`: all brands).
pub async fn set_session_brand(db: &Db, org: OrgId, session: SessionId, brand: Option<BrandId>) -> Result<()> {
    if let Some(b) = brand {
        tenancy::brand(db, org, b).await?;
    }
    store::set_session_brand(db.pool(), org, session, brand).await
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub org_id: OrgId,
    pub name: String,
    /// The first characters of the key, to tell keys apart in lists.
    pub prefix: String,
    pub created_at: jiff::Timestamp,
    pub last_used_at: Option<jiff::Timestamp>,
    pub revoked: bool,
}

/// Creates an API key. The returned string is the only copy of the key.
#[tracing::instrument(skip(db, clock))]
pub async fn create_api_key(db: &Db, clock: &dyn Clock, org: OrgId, name: &str) -> Result<(String, ApiKey)> {
    let name = crate::parse::required_text(name, 80).map_err(|m| Error::invalid("name", m))?;
    let key = format!("{API_KEY_PREFIX}{}", new_token());
    let prefix: String = key.chars().take(API_KEY_PREFIX.len() + 6).collect();
    let row = store::insert_api_key(db.pool(), org, &name, &prefix, &hash_token(&key), to_millis(clock.now())).await?;
    Ok((key, row))
}

pub async fn list_api_keys(db: &Db, org: OrgId) -> Result<Vec<ApiKey>> {
    store::list_api_keys(db.pool(), org).await
}

pub async fn revoke_api_key(db: &Db, clock: &dyn Clock, org: OrgId, id: ApiKeyId) -> Result<()> {
    if store::revoke_api_key(db.pool(), org, id, to_millis(clock.now())).await? { Ok(()) } else { Err(Error::NotFound) }
}

/// The organization an API key belongs to, if the key is known and not revoked.
pub async fn api_key_org(db: &Db, clock: &dyn Clock, key: &str) -> Result<Option<(OrgId, ApiKeyId)>> {
    if !key.starts_with(API_KEY_PREFIX) {
        return Ok(None);
    }
    store::use_api_key(db.pool(), &hash_token(key), to_millis(clock.now())).await
}

pub(crate) fn ts(ms: i64) -> jiff::Timestamp {
    from_millis(ms)
}

/// Changes a user (role, name, active) and, when they are deactivated, ends every session of
/// theirs in the same transaction.
#[tracing::instrument(skip(db, clock, input), fields(org = %org, user = %id))]
pub async fn update_user(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    id: crate::ids::UserId,
    input: &tenancy::UserUpdate,
) -> Result<User> {
    let mut tx = db.begin().await?;
    let updated = tenancy::update_user_in(&mut tx, clock, org, id, input).await?;
    if !updated.active {
        end_sessions_of(&mut *tx, org, id).await?;
    }
    tx.commit().await?;
    Ok(updated)
}
