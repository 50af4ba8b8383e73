//! The message desk (C8): operators take messages for an answering service's clients, each a
//! brand (docs/adr/0006-clients-are-brands.md), by the client's protocol. This holds the
//! protocols, versioned; messages and their delivery build on them.

pub mod contacts;
pub mod delivery;
pub mod flow;
pub mod inbox;
pub mod messages;
pub mod protocol;
pub mod push;
pub mod rules;

use sqlx::FromRow;

use crate::clock::{Clock, from_millis, to_millis};
use crate::db::{Db, Tx};
use crate::ids::{BrandId, OrgId};
use crate::{Error, Result};
pub use protocol::{CallerType, CallerTypeInput, Protocol, ProtocolInput, Template, templates};

/// A saved version of a client's protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProtocol {
    pub brand_id: BrandId,
    /// 1 for the first save, one more each time.
    pub version: i64,
    pub protocol: Protocol,
    /// `user:NAME` or `api`.
    pub saved_by: String,
    pub saved_at: jiff::Timestamp,
}

#[derive(FromRow)]
struct Row {
    brand_id: i64,
    version: i64,
    document: String,
    saved_by: String,
    saved_at: i64,
}

impl TryFrom<Row> for StoredProtocol {
    type Error = Error;
    fn try_from(r: Row) -> Result<StoredProtocol> {
        let protocol = serde_json::from_str(&r.document)
            .map_err(|e| Error::Unexpected(format!("protocol {} v{}: {e}", r.brand_id, r.version)))?;
        Ok(StoredProtocol {
            brand_id: BrandId(r.brand_id),
            version: r.version,
            protocol,
            saved_by: r.saved_by,
            saved_at: from_millis(r.saved_at),
        })
    }
}

/// The client's protocol as last saved; `None` before the first save.
pub async fn current(db: &Db, org: OrgId, brand: BrandId) -> Result<Option<StoredProtocol>> {
    version(db, org, brand, None).await
}

/// A version of the client's protocol (the latest with `None`): what a message taken under it
/// was taken by.
pub async fn version(db: &Db, org: OrgId, brand: BrandId, version: Option<i64>) -> Result<Option<StoredProtocol>> {
    version_on(db.pool(), org, brand, version).await
}

/// These versions of clients' protocols (brand, version), as they were saved; those not found
/// are left out.
pub async fn versions(db: &Db, org: OrgId, wanted: &[(BrandId, i64)]) -> Result<Vec<StoredProtocol>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select p.brand_id, p.version, p.document, p.saved_by, p.saved_at from desk_protocols p \
         join ({}) as w on p.brand_id = w.c1 and p.version = w.c2 where p.org_id = $1 and {}",
        crate::db::bulk::rows(db.backend(), 2, &["bigint", "bigint"]),
        crate::db::bulk::any_in_rows(db.backend(), "p.brand_id", 2, 0, "bigint")
    );
    let pairs: Vec<(i64, i64)> = wanted.iter().map(|(b, v)| (b.0, *v)).collect();
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(crate::db::bulk::encode(&pairs)?)
        .fetch_all(db.pool())
        .await?;
    rows.into_iter().map(StoredProtocol::try_from).collect()
}

async fn version_on<'c>(
    ex: impl sqlx::Executor<'c, Database = sqlx::Any>,
    org: OrgId,
    brand: BrandId,
    version: Option<i64>,
) -> Result<Option<StoredProtocol>> {
    let row: Option<Row> = sqlx::query_as(
        "select brand_id, version, document, saved_by, saved_at from desk_protocols \
         where org_id = $1 and brand_id = $2 and ($3 is null or version = $3) order by version desc limit 1",
    )
    .bind(org.0)
    .bind(brand.0)
    .bind(version)
    .fetch_optional(ex)
    .await?;
    row.map(StoredProtocol::try_from).transpose()
}

/// Checks and saves a new version of the client's protocol. `seen` is the version the editor
/// started from (`Some(0)`: none yet); a protocol saved by someone else since is refused as
/// stale, naming who and when. `None` saves over whatever is there.
pub async fn save(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    brand: BrandId,
    actor: &str,
    input: &ProtocolInput,
    seen: Option<i64>,
) -> Result<StoredProtocol> {
    crate::tenancy::brand(db, org, brand).await?;
    let mut tx = db.begin().await?;
    let saved = save_in(&mut tx, clock, org, brand, actor, input, seen).await?;
    tx.commit().await?;
    Ok(saved)
}

/// [`save`] inside the caller's transaction (demo data); the brand must be the organization's.
pub async fn save_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    brand: BrandId,
    actor: &str,
    input: &ProtocolInput,
    seen: Option<i64>,
) -> Result<StoredProtocol> {
    let contacts: Vec<(i64,)> = sqlx::query_as("select id from desk_contacts where org_id = $1 and brand_id = $2")
        .bind(org.0)
        .bind(brand.0)
        .fetch_all(&mut **tx)
        .await?;
    let schedules: Vec<(i64,)> = sqlx::query_as("select id from oncall_schedules where org_id = $1 and brand_id = $2")
        .bind(org.0)
        .bind(brand.0)
        .fetch_all(&mut **tx)
        .await?;
    let protocol = protocol::check(input, &|id| contacts.iter().any(|(c,)| *c == id), &|id| {
        schedules.iter().any(|(s,)| *s == id)
    })?;
    let now = clock.now();
    let (latest,): (Option<i64>,) =
        sqlx::query_as("select max(version) from desk_protocols where org_id = $1 and brand_id = $2")
            .bind(org.0)
            .bind(brand.0)
            .fetch_one(&mut **tx)
            .await?;
    let latest = latest.unwrap_or(0);
    if let Some(seen) = seen
        && seen != latest
    {
        let current = version_on(&mut **tx, org, brand, Some(latest)).await?;
        let (by, at) = current.map(|c| (c.saved_by, c.saved_at)).unwrap_or_else(|| ("someone".into(), now));
        return Err(Error::Stale(Box::new(crate::error::Stale {
            message: format!(
                "This protocol was saved by {} (version {latest}) since you opened it: reload to see the changes, then make yours again",
                crate::jobs::dispatch::actor_name(&by)
            ),
            changed_by: by,
            changed_at: at,
            version: latest,
        })));
    }
    let document = serde_json::to_string(&protocol).map_err(|e| Error::Unexpected(e.to_string()))?;
    sqlx::query(
        "insert into desk_protocols (org_id, brand_id, version, document, saved_by, saved_at) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(org.0)
    .bind(brand.0)
    .bind(latest + 1)
    .bind(&document)
    .bind(actor)
    .bind(to_millis(now))
    .execute(&mut **tx)
    .await
    .map_err(|e| Error::from(e).on_unique("someone saved this protocol at the same moment: reload and try again"))?;
    Ok(StoredProtocol { brand_id: brand, version: latest + 1, protocol, saved_by: actor.to_string(), saved_at: now })
}

/// Saves the template `key` as the client's protocol (a new version), adding a contact for
/// each role its delivery rules name that the client has no contact of that name for (their
/// numbers and addresses are then filled in on the Contacts page).
pub async fn apply_template(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    brand: BrandId,
    actor: &str,
    key: &str,
) -> Result<StoredProtocol> {
    crate::tenancy::brand(db, org, brand).await?;
    let mut tx = db.begin().await?;
    let saved = apply_template_in(&mut tx, clock, org, brand, actor, key).await?;
    tx.commit().await?;
    Ok(saved)
}

/// [`apply_template`] inside the caller's transaction; the brand must be the organization's.
pub async fn apply_template_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    brand: BrandId,
    actor: &str,
    key: &str,
) -> Result<StoredProtocol> {
    let input = template_input_in(tx, clock, org, brand, key).await?;
    save_in(tx, clock, org, brand, actor, &input, None).await
}

/// The template `key` as a protocol for the client, adding the contacts its roles name (to
/// change before saving it, as the demo does).
pub async fn template_input_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    brand: BrandId,
    key: &str,
) -> Result<ProtocolInput> {
    let Some(template) = templates().into_iter().find(|t| t.key == key) else {
        return Err(Error::invalid("template", "pick one of the templates"));
    };
    let mut ids: Vec<(&str, i64)> = Vec::new();
    for role in template.roles() {
        ids.push((role, contacts::ensure_named_in(tx, clock, org, brand, role).await?));
    }
    Ok(template.input_with(&|role| ids.iter().find(|(r, _)| *r == role).map(|(_, id)| *id)))
}

/// Registers the desk's workers: the daily recap, and secure message notices (their inbox
/// links start with `base_url`, the server's public URL).
/// What the desk's deliveries need from outside.
#[derive(Debug, Clone)]
pub struct Outside {
    /// The server's public URL (inbox links).
    pub base_url: String,
    pub push: std::sync::Arc<crate::providers::web_push::WebPush>,
    /// The paging server for pagers given by number.
    pub snpp: Option<crate::providers::snpp::SnppServer>,
    /// The fax gateway's address pattern for fax numbers (`{number}@domain`).
    pub fax_gateway: Option<String>,
}

pub fn register(workers: &mut crate::engine::Workers, outside: Outside) {
    workers
        .add(delivery::RecapSender)
        .add(delivery::SecureNotices { base_url: outside.base_url, push: outside.push })
        .add(delivery::Pages { server: outside.snpp })
        .add(delivery::Faxes { gateway: outside.fax_gateway });
}
