//! SQL for organizations, brands and users. Every query on tenant data filters by `org_id`.

use sqlx::{Any, Executor, FromRow};

use super::model::{Brand, Org, Role, User, ValidBrand, ValidNewUser, ValidUserUpdate};
use crate::clock::from_millis;
use crate::ids::{BrandId, OrgId, UserId};
use crate::parse::{Country, EmailAddress, PhoneE164, TimeZoneName};
use crate::{Error, Result};

#[derive(FromRow)]
struct OrgRow {
    id: i64,
    slug: String,
    name: String,
}

impl From<OrgRow> for Org {
    fn from(r: OrgRow) -> Self {
        Org { id: OrgId(r.id), slug: r.slug, name: r.name }
    }
}

pub async fn insert_org<'c>(ex: impl Executor<'c, Database = Any>, slug: &str, name: &str, now: i64) -> Result<Org> {
    let row: OrgRow =
        sqlx::query_as("insert into orgs (slug, name, created_at) values ($1, $2, $3) returning id, slug, name")
            .bind(slug)
            .bind(name)
            .bind(now)
            .fetch_one(ex)
            .await
            .map_err(|e| Error::from(e).on_unique(format!("an organization with slug \"{slug}\" already exists")))?;
    Ok(row.into())
}

pub async fn org_by_slug<'c>(ex: impl Executor<'c, Database = Any>, slug: &str) -> Result<Option<Org>> {
    let row: Option<OrgRow> =
        sqlx::query_as("select id, slug, name from orgs where slug = $1").bind(slug).fetch_optional(ex).await?;
    Ok(row.map(Org::from))
}

pub async fn org_by_id<'c>(ex: impl Executor<'c, Database = Any>, id: OrgId) -> Result<Option<Org>> {
    let row: Option<OrgRow> =
        sqlx::query_as("select id, slug, name from orgs where id = $1").bind(id.0).fetch_optional(ex).await?;
    Ok(row.map(Org::from))
}

pub async fn list_orgs<'c>(ex: impl Executor<'c, Database = Any>) -> Result<Vec<Org>> {
    let rows: Vec<OrgRow> = sqlx::query_as("select id, slug, name from orgs order by id").fetch_all(ex).await?;
    Ok(rows.into_iter().map(Org::from).collect())
}

#[derive(FromRow)]
struct BrandRow {
    id: i64,
    org_id: i64,
    name: String,
    time_zone: String,
    country: String,
    sms_number: Option<String>,
    inbound_email: Option<String>,
    color: String,
    logo_url: Option<String>,
    job_prefix: String,
    next_job_number: i64,
    sms_help_reply: Option<String>,
    urgent_words: Option<String>,
    working_hours: Option<String>,
}

impl TryFrom<BrandRow> for Brand {
    type Error = Error;
    /// A stored zone this build does not know is an error here, where it is read, not a
    /// silent other zone wherever times are shown.
    fn try_from(r: BrandRow) -> Result<Self> {
        let time_zone = TimeZoneName::parse(&r.time_zone).map_err(|e| {
            Error::Unexpected(format!("brand {} ({}) is stored with a bad time zone: {e}", r.id, r.name))
        })?;
        let country = Country::parse(&r.country)
            .map_err(|e| Error::Unexpected(format!("brand {} ({}) is stored with a bad country: {e}", r.id, r.name)))?;
        let sms_number = r
            .sms_number
            .as_deref()
            .map(PhoneE164::from_stored)
            .transpose()
            .map_err(|e| Error::Unexpected(format!("brand {} ({}): SMS number {e}", r.id, r.name)))?;
        let inbound_email = r
            .inbound_email
            .as_deref()
            .map(EmailAddress::parse)
            .transpose()
            .map_err(|e| Error::Unexpected(format!("brand {} ({}): inbound address {e}", r.id, r.name)))?;
        let urgent_words = match r.urgent_words.as_deref() {
            None => super::UrgentWords::default(),
            Some(s) => super::UrgentWords::parse(s)
                .map_err(|e| Error::Unexpected(format!("brand {} ({}): urgent words {e}", r.id, r.name)))?,
        };
        let working_hours = match r.working_hours.as_deref() {
            None => super::WorkingHours::default(),
            Some(s) => super::WorkingHours::parse(s).map_err(|e| {
                let why = e.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("; ");
                Error::Unexpected(format!("brand {} ({}): working hours {why}", r.id, r.name))
            })?,
        };
        Ok(Brand {
            working_hours,
            id: BrandId(r.id),
            org_id: OrgId(r.org_id),
            name: r.name,
            time_zone,
            country,
            sms_number,
            inbound_email,
            color: r.color,
            logo_url: r.logo_url,
            job_prefix: r.job_prefix,
            next_job_number: r.next_job_number,
            sms_help_reply: r.sms_help_reply,
            urgent_words,
        })
    }
}

macro_rules! brand_columns {
    () => {
        "id, org_id, name, time_zone, country, sms_number, inbound_email, color, logo_url, job_prefix, \
         next_job_number, sms_help_reply, urgent_words, working_hours"
    };
}

fn brand_conflict(e: sqlx::Error, b: &ValidBrand) -> Error {
    let text = e.to_string();
    let msg = match (&b.inbound_email, &b.sms_number) {
        (Some(email), _) if text.contains("inbound_email") => {
            format!("the inbound address {} is already used by another brand", email.as_str())
        }
        (_, Some(number)) if text.contains("sms_number") => {
            format!("the SMS number {} is already used by another brand", number.display())
        }
        _ => format!("a brand named \"{}\" already exists", b.name),
    };
    Error::from(e).on_unique(msg)
}

pub async fn list_brands<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId) -> Result<Vec<Brand>> {
    let rows: Vec<BrandRow> =
        sqlx::query_as(concat!("select ", brand_columns!(), " from brands where org_id = $1 order by name, id"))
            .bind(org.0)
            .fetch_all(ex)
            .await?;
    rows.into_iter().map(Brand::try_from).collect()
}

/// The brand that owns an SMS number, in any organization: inbound texts are routed by the
/// number they were sent to.
pub async fn brand_by_sms_number<'c>(ex: impl Executor<'c, Database = Any>, number: &str) -> Result<Option<Brand>> {
    let row: Option<BrandRow> =
        sqlx::query_as(concat!("select ", brand_columns!(), " from brands where sms_number = $1 order by id limit 1"))
            .bind(number)
            .fetch_optional(ex)
            .await?;
    row.map(Brand::try_from).transpose()
}

/// The brands that own these SMS numbers, keyed by number (the lowest id where two share
/// one, as [`brand_by_sms_number`] picks): one statement for a batch of inbound texts.
pub async fn brands_by_sms_numbers<'c>(
    ex: impl Executor<'c, Database = Any>,
    backend: crate::db::Backend,
    numbers: &[&str],
) -> Result<std::collections::HashMap<String, Brand>> {
    let mut found = std::collections::HashMap::new();
    if numbers.is_empty() {
        return Ok(found);
    }
    let sql = format!(
        concat!("select ", brand_columns!(), " from brands where {} order by id"),
        crate::db::bulk::any(backend, "sms_number", 1, "text")
    );
    let q = sqlx::query_as::<_, BrandRow>(sqlx::AssertSqlSafe(sql)).bind(crate::db::bulk::encode(numbers)?);
    for row in q.fetch_all(ex).await? {
        let brand = Brand::try_from(row)?;
        if let Some(number) = brand.sms_number.as_ref().map(|n| n.to_string()) {
            found.entry(number).or_insert(brand);
        }
    }
    Ok(found)
}

/// The brand whose inbound address is `address` (lower-case), in any organization.
pub async fn brand_by_inbound_email<'c>(ex: impl Executor<'c, Database = Any>, address: &str) -> Result<Option<Brand>> {
    let row: Option<BrandRow> =
        sqlx::query_as(concat!("select ", brand_columns!(), " from brands where inbound_email = $1"))
            .bind(address)
            .fetch_optional(ex)
            .await?;
    row.map(Brand::try_from).transpose()
}

pub async fn get_brand<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId, id: BrandId) -> Result<Option<Brand>> {
    let row: Option<BrandRow> =
        sqlx::query_as(concat!("select ", brand_columns!(), " from brands where org_id = $1 and id = $2"))
            .bind(org.0)
            .bind(id.0)
            .fetch_optional(ex)
            .await?;
    row.map(Brand::try_from).transpose()
}

/// The organization's brands with these ids.
pub async fn brands_by_ids<'c>(
    ex: impl Executor<'c, Database = Any>,
    backend: crate::db::Backend,
    org: OrgId,
    ids: &[i64],
) -> Result<Vec<Brand>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        concat!("select ", brand_columns!(), " from brands where org_id = $1 and {}"),
        crate::db::bulk::any(backend, "id", 2, "bigint")
    );
    let rows: Vec<BrandRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(crate::db::bulk::encode(ids)?).fetch_all(ex).await?;
    rows.into_iter().map(Brand::try_from).collect()
}

pub async fn insert_brand<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    b: &ValidBrand,
    next_job_number: i64,
    now: i64,
) -> Result<Brand> {
    let row: BrandRow = sqlx::query_as(concat!(
        "insert into brands (org_id, name, time_zone, sms_number, inbound_email, color, logo_url, job_prefix, \
         next_job_number, created_at, updated_at, sms_help_reply, country, urgent_words, working_hours) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14) \
         returning ",
        brand_columns!(),
        ""
    ))
    .bind(org.0)
    .bind(&b.name)
    .bind(b.time_zone.as_str())
    .bind(b.sms_number.as_ref().map(|p| p.as_str().to_string()))
    .bind(b.inbound_email.as_ref().map(|e| e.as_str().to_string()))
    .bind(b.color.as_str())
    .bind(b.logo_url.clone())
    .bind(&b.job_prefix)
    .bind(next_job_number)
    .bind(now)
    .bind(b.sms_help_reply.clone())
    .bind(b.country.code())
    .bind(b.urgent_words.as_ref().map(|w| w.to_text()))
    .bind(b.working_hours.as_ref().map(|h| h.to_text()))
    .fetch_one(ex)
    .await
    .map_err(|e| brand_conflict(e, b))?;
    row.try_into()
}

pub async fn update_brand<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    id: BrandId,
    b: &ValidBrand,
    now: i64,
) -> Result<Option<Brand>> {
    let row: Option<BrandRow> = sqlx::query_as(concat!(
        "update brands set name = $3, time_zone = $4, sms_number = $5, inbound_email = $6, color = $7, \
         logo_url = $8, job_prefix = $9, updated_at = $10, sms_help_reply = $11, country = $12, \
         urgent_words = $13, working_hours = $14 where org_id = $1 and id = $2 returning ",
        brand_columns!(),
        ""
    ))
    .bind(org.0)
    .bind(id.0)
    .bind(&b.name)
    .bind(b.time_zone.as_str())
    .bind(b.sms_number.as_ref().map(|p| p.as_str().to_string()))
    .bind(b.inbound_email.as_ref().map(|e| e.as_str().to_string()))
    .bind(b.color.as_str())
    .bind(b.logo_url.clone())
    .bind(&b.job_prefix)
    .bind(now)
    .bind(b.sms_help_reply.clone())
    .bind(b.country.code())
    .bind(b.urgent_words.as_ref().map(|w| w.to_text()))
    .bind(b.working_hours.as_ref().map(|h| h.to_text()))
    .fetch_optional(ex)
    .await
    .map_err(|e| brand_conflict(e, b))?;
    row.map(Brand::try_from).transpose()
}

#[derive(FromRow)]
struct UserRow {
    id: i64,
    org_id: i64,
    email: String,
    name: String,
    role: String,
    active: i64,
    created_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = Error;
    fn try_from(r: UserRow) -> Result<Self> {
        Ok(User {
            id: UserId(r.id),
            org_id: OrgId(r.org_id),
            email: r.email,
            name: r.name,
            role: Role::parse(&r.role).map_err(Error::Unexpected)?,
            active: r.active != 0,
            created_at: from_millis(r.created_at),
        })
    }
}

macro_rules! user_columns {
    () => {
        "id, org_id, email, name, role, active, created_at"
    };
}

pub async fn list_users<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId) -> Result<Vec<User>> {
    let rows: Vec<UserRow> =
        sqlx::query_as(concat!("select ", user_columns!(), " from users where org_id = $1 order by name, id"))
            .bind(org.0)
            .fetch_all(ex)
            .await?;
    rows.into_iter().map(User::try_from).collect()
}

pub async fn get_user<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId, id: UserId) -> Result<Option<User>> {
    let row: Option<UserRow> =
        sqlx::query_as(concat!("select ", user_columns!(), " from users where org_id = $1 and id = $2"))
            .bind(org.0)
            .bind(id.0)
            .fetch_optional(ex)
            .await?;
    row.map(User::try_from).transpose()
}

/// Looks a user up by email across organizations: only sign-in does this, before any org is known.
pub async fn user_for_login<'c>(
    ex: impl Executor<'c, Database = Any>,
    email: &str,
) -> Result<Option<(User, Option<String>)>> {
    #[derive(FromRow)]
    struct LoginRow {
        #[sqlx(flatten)]
        user: UserRow,
        password_hash: Option<String>,
    }
    let row: Option<LoginRow> =
        sqlx::query_as(concat!("select ", user_columns!(), ", password_hash from users where email = $1"))
            .bind(email)
            .fetch_optional(ex)
            .await?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some((User::try_from(r.user)?, r.password_hash))),
    }
}

pub async fn insert_user<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    u: &ValidNewUser,
    password_hash: &str,
    now: i64,
) -> Result<User> {
    let row: UserRow = sqlx::query_as(concat!(
        "insert into users (org_id, email, name, role, password_hash, active, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, 1, $6, $6) returning ",
        user_columns!(),
        ""
    ))
    .bind(org.0)
    .bind(u.email.as_str())
    .bind(&u.name)
    .bind(u.role.as_str())
    .bind(password_hash)
    .bind(now)
    .fetch_one(ex)
    .await
    .map_err(|e| Error::from(e).on_unique(format!("a user with the email {} already exists", u.email.as_str())))?;
    row.try_into()
}

pub async fn update_user<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    id: UserId,
    u: &ValidUserUpdate,
    now: i64,
) -> Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(concat!(
        "update users set name = coalesce($3, name), role = coalesce($4, role), active = coalesce($5, active), \
         updated_at = $6 where org_id = $1 and id = $2 returning ",
        user_columns!(),
        ""
    ))
    .bind(org.0)
    .bind(id.0)
    .bind(u.name.clone())
    .bind(u.role.map(|r| r.as_str()))
    .bind(u.active.map(i64::from))
    .bind(now)
    .fetch_optional(ex)
    .await?;
    row.map(User::try_from).transpose()
}

pub async fn set_password_hash<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    id: UserId,
    hash: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query("update users set password_hash = $3, updated_at = $4 where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id.0)
        .bind(hash)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn count_active_admins<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from users where org_id = $1 and role = 'admin' and active = 1")
        .bind(org.0)
        .fetch_one(ex)
        .await?;
    Ok(n)
}
