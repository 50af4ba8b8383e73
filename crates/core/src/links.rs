//! Capability links: a URL that lets its holder in without a sign-in, to one thing, for one
//! purpose. A technician's portal (scope `portal`, subject: the technician) and a customer's
//! tracking page (scope `tracking`, subject: the job), a desk contact's secure inbox (scope `inbox`,
//! subject: the contact), an on-call schedule's calendar feed (scope `calendar`, subject: the
//! schedule); an urgent message's acknowledgement link (scope `ack`, subject: the escalation,
//! about: the person it was sent to); a customer's invoice (scope `invoice`, subject: the invoice).
//!
//! Every link is 256 random bits ([`crate::secret::new_token`]), shown once in the URL and
//! stored only as its SHA-256. A link belongs to one scope and one subject, may carry what it was
//! sent about (the technician a tracking link follows), may expire, and can be revoked (all of a
//! subject's at once); rotating revokes them and issues a fresh one in the same
//! transaction. Checking a token answers the same `NotFound` for malformed, unknown, wrong-scope,
//! expired and revoked tokens (the reason is logged, not shown), so a guesser learns nothing.

use jiff::Timestamp;
use sqlx::FromRow;

use crate::clock::{Clock, from_millis, to_millis};
use crate::db::{Db, Tx};
use crate::ids::OrgId;
use crate::{Error, Result};

/// What a link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A technician's portal: their stops and steps. Subject: the technician.
    Portal,
    /// A customer's arrival tracking page for one job. Subject: the job; about: the technician.
    Tracking,
    /// A desk contact's secure message inbox. Subject: the contact.
    Inbox,
    /// An on-call schedule's calendar feed. Subject: the schedule; about: whose shifts only
    /// (a sign-in's id, or a desk contact's id negated), or everyone's.
    Calendar,
    /// A person's own shifts on a schedule, where they offer and take swaps. Subject: the
    /// schedule; about: the person (as for `Calendar`).
    Shifts,
    /// An urgent message sent to someone by its escalation, where they accept or pass it.
    /// Subject: the escalation; about: the recipient (`escalation_codes`).
    Ack,
    /// A customer's invoice, where they see it and pay. Subject: the invoice.
    Invoice,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Portal => "portal",
            Scope::Tracking => "tracking",
            Scope::Inbox => "inbox",
            Scope::Calendar => "calendar",
            Scope::Shifts => "shifts",
            Scope::Ack => "ack",
            Scope::Invoice => "invoice",
        }
    }
}

/// A link to issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewLink {
    pub scope: Scope,
    pub subject: i64,
    /// What it was sent about, if the scope uses it (a tracking link's technician).
    pub about: Option<i64>,
    /// `None`: no fixed end (the scope decides, e.g. while the job is open).
    pub expires_at: Option<Timestamp>,
}

/// A link that let its holder in.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub id: i64,
    pub org: OrgId,
    pub scope: Scope,
    pub subject: i64,
    pub about: Option<i64>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

/// Whether `token` could be one of ours (43 base64url characters), before any lookup.
pub fn well_formed(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// Issues a link inside `tx`; returns its token (put it in the URL; it is not stored).
pub async fn issue_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, link: &NewLink) -> Result<String> {
    let token = crate::secret::new_token();
    sqlx::query(
        "insert into capability_links (org_id, scope, subject_id, about_id, token_hash, created_at, expires_at) \
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(org.0)
    .bind(link.scope.as_str())
    .bind(link.subject)
    .bind(link.about)
    .bind(crate::secret::hash_token(&token))
    .bind(to_millis(clock.now()))
    .bind(link.expires_at.map(to_millis))
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

/// A link issued in memory, written with others by [`insert_planned_in`].
#[derive(Debug, Clone)]
pub struct PlannedLink {
    org: OrgId,
    link: NewLink,
    token_hash: String,
    created_at: Timestamp,
}

/// Issues a link as [`issue_in`] does, to be written later: the token, and the row.
pub fn plan(org: OrgId, link: &NewLink, now: Timestamp) -> (String, PlannedLink) {
    let token = crate::secret::new_token();
    let token_hash = crate::secret::hash_token(&token);
    (token, PlannedLink { org, link: *link, token_hash, created_at: now })
}

/// Writes planned links inside the caller's transaction, a few statements for all.
pub async fn insert_planned_in(tx: &mut Tx, links: &[PlannedLink]) -> Result<()> {
    if links.is_empty() {
        return Ok(());
    }
    const TYPES: [&str; 7] = ["bigint", "text", "bigint", "bigint", "text", "bigint", "bigint"];
    let sql = format!(
        "insert into capability_links (org_id, scope, subject_id, about_id, token_hash, created_at, expires_at) {}",
        crate::db::bulk::rows(tx.backend(), 1, &TYPES)
    );
    let rows: Vec<_> = links
        .iter()
        .map(|l| {
            (
                l.org.0,
                l.link.scope.as_str(),
                l.link.subject,
                l.link.about,
                &l.token_hash,
                to_millis(l.created_at),
                l.link.expires_at.map(to_millis),
            )
        })
        .collect();
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(crate::db::bulk::encode(&rows)?).execute(&mut **tx).await?;
    Ok(())
}

#[derive(FromRow)]
struct LinkRow {
    id: i64,
    org_id: i64,
    scope: String,
    subject_id: i64,
    about_id: Option<i64>,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// The link `token` is, if it is a working link of `scope` at the clock's now; every other
/// case is `NotFound`, the reason logged.
pub async fn check(db: &Db, clock: &dyn Clock, scope: Scope, token: &str) -> Result<Link> {
    let refused = |why: &str| {
        tracing::info!(scope = scope.as_str(), "{} link refused: {why}", scope.as_str());
        Error::NotFound
    };
    if !well_formed(token) {
        return Err(refused("malformed"));
    }
    let row: Option<LinkRow> = sqlx::query_as(
        "select id, org_id, scope, subject_id, about_id, created_at, expires_at, revoked_at \
         from capability_links where token_hash = $1",
    )
    .bind(crate::secret::hash_token(token))
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Err(refused("unknown")) };
    if row.scope != scope.as_str() {
        return Err(refused("another scope"));
    }
    if row.revoked_at.is_some() {
        return Err(refused("revoked"));
    }
    if row.expires_at.is_some_and(|e| e <= to_millis(clock.now())) {
        return Err(refused("expired"));
    }
    Ok(Link {
        id: row.id,
        org: OrgId(row.org_id),
        scope,
        subject: row.subject_id,
        about: row.about_id,
        created_at: from_millis(row.created_at),
        expires_at: row.expires_at.map(from_millis),
    })
}

/// Revokes every working link of the subject inside `tx`; returns how many.
pub async fn revoke_subject_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, scope: Scope, subject: i64) -> Result<u64> {
    let done = sqlx::query(
        "update capability_links set revoked_at = $4 \
         where org_id = $1 and scope = $2 and subject_id = $3 and revoked_at is null",
    )
    .bind(org.0)
    .bind(scope.as_str())
    .bind(subject)
    .bind(to_millis(clock.now()))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Revokes the working links of the subject that were issued about `about` (`None`: those
/// about nothing in particular) inside `tx`; returns how many.
pub async fn revoke_about_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    scope: Scope,
    subject: i64,
    about: Option<i64>,
) -> Result<u64> {
    let done = sqlx::query(
        "update capability_links set revoked_at = $4 \
         where org_id = $1 and scope = $2 and subject_id = $3 and revoked_at is null \
         and (($6 and about_id = $5) or (not $6 and about_id is null))",
    )
    .bind(org.0)
    .bind(scope.as_str())
    .bind(subject)
    .bind(to_millis(clock.now()))
    .bind(about.unwrap_or(0))
    .bind(about.is_some())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// The subject's working links by what they were issued about: (about, how many, when the
/// newest was issued).
pub async fn working_about(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    scope: Scope,
    subject: i64,
) -> Result<Vec<(Option<i64>, i64, Timestamp)>> {
    let rows: Vec<(Option<i64>, i64, i64)> = sqlx::query_as(
        "select about_id, count(*), max(created_at) from capability_links \
         where org_id = $1 and scope = $2 and subject_id = $3 and revoked_at is null \
         and (expires_at is null or expires_at > $4) group by about_id",
    )
    .bind(org.0)
    .bind(scope.as_str())
    .bind(subject)
    .bind(to_millis(clock.now()))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|(about, n, at)| (about, n, from_millis(at))).collect())
}

/// Rotation: revokes the subject's links and issues `link` in their place, inside `tx`; returns
/// how many were revoked and the new token. A forwarded link stops working the moment the new
/// one exists.
pub async fn rotate_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, link: &NewLink) -> Result<(u64, String)> {
    let revoked = revoke_subject_in(tx, clock, org, link.scope, link.subject).await?;
    let token = issue_in(tx, clock, org, link).await?;
    Ok((revoked, token))
}

/// How many working links of `scope` each subject of the organization has at the clock's now.
pub async fn working_counts(db: &Db, clock: &dyn Clock, org: OrgId, scope: Scope) -> Result<Vec<(i64, i64)>> {
    Ok(sqlx::query_as(
        "select subject_id, count(*) from capability_links \
         where org_id = $1 and scope = $2 and revoked_at is null and (expires_at is null or expires_at > $3) \
         group by subject_id",
    )
    .bind(org.0)
    .bind(scope.as_str())
    .bind(to_millis(clock.now()))
    .fetch_all(db.pool())
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tokens_of_our_shape_are_looked_up() {
        let token = crate::secret::new_token();
        assert!(well_formed(&token), "{token}");
        assert_eq!(token.len(), 43, "256 bits in base64url");
        for bad in ["", "short", &format!("{token}x"), &token.replace(&token[..1], "+"), &" ".repeat(43)] {
            assert!(!well_formed(bad), "{bad:?}");
        }
    }

    #[test]
    fn scopes_are_stored_by_stable_names() {
        assert_eq!(Scope::Portal.as_str(), "portal");
        assert_eq!(Scope::Tracking.as_str(), "tracking");
    }
}
