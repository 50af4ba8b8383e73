//! A client's contacts: the people who receive its messages (the plumber on call, the office
//! manager, the lawyer's assistant), with or without a Switchboard sign-in, each with the ways
//! to reach them in order: cell, home, office, email, pager, fax. Numbers are read by the
//! client's country and kept in E.164; a pager is a number or an email-to-pager address, a fax
//! a number or a fax gateway's address.

use serde::Serialize;
use sqlx::FromRow;

use crate::clock::{Clock, to_millis};
use crate::db::Db;
use crate::error::Validator;
use crate::ids::{BrandId, OrgId, UserId};
use crate::parse::{Country, EmailAddress, PhoneE164, optional_text, required_text};
use crate::{Error, Result};

pub const NAME_MAX: usize = 80;
pub const TITLE_MAX: usize = 80;
pub const NOTES_MAX: usize = 500;
pub const METHODS_MAX: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    Cell,
    Home,
    Office,
    Email,
    Pager,
    Fax,
}

impl MethodKind {
    pub const ALL: [MethodKind; 6] =
        [MethodKind::Cell, MethodKind::Home, MethodKind::Office, MethodKind::Email, MethodKind::Pager, MethodKind::Fax];
    pub fn as_str(self) -> &'static str {
        match self {
            MethodKind::Cell => "cell",
            MethodKind::Home => "home",
            MethodKind::Office => "office",
            MethodKind::Email => "email",
            MethodKind::Pager => "pager",
            MethodKind::Fax => "fax",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            MethodKind::Cell => "Cell",
            MethodKind::Home => "Home",
            MethodKind::Office => "Office",
            MethodKind::Email => "Email",
            MethodKind::Pager => "Pager",
            MethodKind::Fax => "Fax",
        }
    }
    pub fn parse(s: &str) -> Result<MethodKind, String> {
        MethodKind::ALL.into_iter().find(|k| k.as_str() == s.trim()).ok_or_else(|| {
            let all: Vec<_> = MethodKind::ALL.iter().map(|k| k.as_str()).collect();
            format!("\"{}\" is not a way to reach someone ({})", s.trim(), all.join(", "))
        })
    }

    /// The value as kept: a number in E.164 (read by `country` when national), an email
    /// address, or for a pager or a fax either (an email-to-pager address, a fax gateway's
    /// address for the number).
    pub fn read(self, value: &str, country: Country) -> Result<String, String> {
        let value = value.trim();
        if value.is_empty() {
            return Err("give the number or address".into());
        }
        match self {
            MethodKind::Email => EmailAddress::parse(value).map(|e| e.to_string()),
            MethodKind::Pager | MethodKind::Fax if value.contains('@') => {
                EmailAddress::parse(value).map(|e| e.to_string())
            }
            _ => PhoneE164::parse_in(value, country).map(|p| p.as_str().to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Method {
    pub kind: MethodKind,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contact {
    pub id: i64,
    pub brand_id: BrandId,
    pub name: String,
    pub title: Option<String>,
    /// The contact's sign-in, when they have one.
    pub user_id: Option<UserId>,
    pub notes: Option<String>,
    /// In the order they are tried.
    pub methods: Vec<Method>,
}

/// A contact as typed or sent: methods as (kind, value) pairs, in order.
#[derive(Debug, Clone, Default)]
pub struct ContactInput {
    pub name: String,
    pub title: String,
    pub notes: String,
    pub user_id: Option<UserId>,
    pub methods: Vec<(String, String)>,
}

struct Checked {
    name: String,
    title: Option<String>,
    notes: Option<String>,
    methods: Vec<Method>,
}

/// Checks a contact; every refusal names its field (`name`, `methods.2.value`, counted from 1).
fn check(input: &ContactInput, country: Country) -> Result<Checked> {
    let mut v = Validator::new();
    let name = v.check("name", required_text(&input.name, NAME_MAX));
    let title = v.check("title", optional_text(Some(&input.title), TITLE_MAX));
    let notes = v.check("notes", optional_text(Some(&input.notes), NOTES_MAX));
    if input.methods.len() > METHODS_MAX {
        v.add("methods", format!("use at most {METHODS_MAX} ways to reach one person"));
    }
    let mut methods = Vec::new();
    for (i, (kind, value)) in input.methods.iter().enumerate().take(METHODS_MAX) {
        let n = i + 1;
        match MethodKind::parse(kind) {
            Ok(kind) => match kind.read(value, country) {
                Ok(value) => methods.push(Method { kind, value }),
                Err(m) => v.add(format!("methods.{n}.value"), m),
            },
            Err(m) => v.add(format!("methods.{n}.kind"), m),
        }
    }
    v.finish()?;
    match (name, title, notes) {
        (Some(name), Some(title), Some(notes)) => Ok(Checked { name, title, notes, methods }),
        _ => Err(Error::Unexpected("contact validation lost a field".into())),
    }
}

/// The client's contacts, by name.
pub async fn list(db: &Db, org: OrgId, brand: BrandId) -> Result<Vec<Contact>> {
    select(db, org, brand, None).await
}

pub async fn get(db: &Db, org: OrgId, brand: BrandId, id: i64) -> Result<Contact> {
    select(db, org, brand, Some(id)).await?.into_iter().next().ok_or(Error::NotFound)
}

/// Adds a contact to the client.
pub async fn create(db: &Db, clock: &dyn Clock, org: OrgId, brand: BrandId, input: &ContactInput) -> Result<Contact> {
    let client = crate::tenancy::brand(db, org, brand).await?;
    refuse_unknown_user(db, org, input.user_id).await?;
    let mut tx = db.begin().await?;
    let id = create_in(&mut tx, clock, &client, input).await?;
    tx.commit().await?;
    get(db, org, brand, id).await
}

/// [`create`] inside the caller's transaction (demo data); returns the new contact's id.
pub async fn create_in(
    tx: &mut crate::db::Tx,
    clock: &dyn Clock,
    client: &crate::tenancy::Brand,
    input: &ContactInput,
) -> Result<i64> {
    let c = check(input, client.country)?;
    let now = to_millis(clock.now());
    let (id,): (i64,) = sqlx::query_as(
        "insert into desk_contacts (org_id, brand_id, name, title, user_id, notes, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $7) returning id",
    )
    .bind(client.org_id.0)
    .bind(client.id.0)
    .bind(&c.name)
    .bind(c.title.clone())
    .bind(input.user_id.map(|u| u.0))
    .bind(c.notes.clone())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    write_methods(tx, client.org_id, id, &c.methods).await?;
    Ok(id)
}

/// The client's contact named `name` (in any case), added with no ways to reach them yet when
/// there is none, inside the caller's transaction.
pub async fn ensure_named_in(
    tx: &mut crate::db::Tx,
    clock: &dyn Clock,
    org: OrgId,
    brand: BrandId,
    name: &str,
) -> Result<i64> {
    let found: Option<(i64,)> = sqlx::query_as(
        "select id from desk_contacts where org_id = $1 and brand_id = $2 and lower(name) = lower($3) order by id limit 1",
    )
    .bind(org.0)
    .bind(brand.0)
    .bind(name)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((id,)) = found {
        return Ok(id);
    }
    let (id,): (i64,) = sqlx::query_as(
        "insert into desk_contacts (org_id, brand_id, name, created_at, updated_at) values ($1, $2, $3, $4, $4) \
         returning id",
    )
    .bind(org.0)
    .bind(brand.0)
    .bind(name)
    .bind(to_millis(clock.now()))
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Replaces a contact's details and ways to reach them.
pub async fn update(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    brand: BrandId,
    id: i64,
    input: &ContactInput,
) -> Result<Contact> {
    let client = crate::tenancy::brand(db, org, brand).await?;
    get(db, org, brand, id).await?;
    let c = check(input, client.country)?;
    refuse_unknown_user(db, org, input.user_id).await?;
    let mut tx = db.begin().await?;
    sqlx::query(
        "update desk_contacts set name = $4, title = $5, user_id = $6, notes = $7, updated_at = $8 \
         where org_id = $1 and brand_id = $2 and id = $3",
    )
    .bind(org.0)
    .bind(brand.0)
    .bind(id)
    .bind(&c.name)
    .bind(c.title.clone())
    .bind(input.user_id.map(|u| u.0))
    .bind(c.notes.clone())
    .bind(to_millis(clock.now()))
    .execute(&mut *tx)
    .await?;
    sqlx::query("delete from desk_contact_methods where org_id = $1 and contact_id = $2")
        .bind(org.0)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    write_methods(&mut tx, org, id, &c.methods).await?;
    tx.commit().await?;
    get(db, org, brand, id).await
}

/// Removes a contact; refused while the client's protocol delivers messages to them.
pub async fn delete(db: &Db, org: OrgId, brand: BrandId, id: i64) -> Result<()> {
    let contact = get(db, org, brand, id).await?;
    if let Some(p) = super::current(db, org, brand).await?
        && let Some(c) = p.protocol.caller_types.iter().find(|c| c.deliveries.iter().any(|r| r.contacts.contains(&id)))
    {
        return Err(Error::Conflict(format!(
            "{} receives {} messages by the protocol: take them out of its delivery rules first",
            contact.name, c.name
        )));
    }
    let mut tx = db.begin().await?;
    for sql in [
        "delete from desk_contact_methods where org_id = $1 and contact_id = $2",
        "delete from push_subscriptions where org_id = $1 and contact_id = $2",
    ] {
        sqlx::query(sql).bind(org.0).bind(id).execute(&mut *tx).await?;
    }
    sqlx::query("delete from desk_contacts where org_id = $1 and brand_id = $2 and id = $3")
        .bind(org.0)
        .bind(brand.0)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

async fn refuse_unknown_user(db: &Db, org: OrgId, user: Option<UserId>) -> Result<()> {
    match user {
        Some(u) => crate::tenancy::user(db, org, u).await.map(|_| ()).map_err(|e| match e {
            Error::NotFound => Error::invalid("user_id", format!("no user with id {}", u.0)),
            other => other,
        }),
        None => Ok(()),
    }
}

async fn write_methods(tx: &mut crate::db::Tx, org: OrgId, contact: i64, methods: &[Method]) -> Result<()> {
    for (position, m) in methods.iter().enumerate() {
        sqlx::query(
            "insert into desk_contact_methods (org_id, contact_id, kind, value, position) values ($1, $2, $3, $4, $5)",
        )
        .bind(org.0)
        .bind(contact)
        .bind(m.kind.as_str())
        .bind(&m.value)
        .bind(position as i64)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[derive(FromRow)]
struct Row {
    id: i64,
    brand_id: i64,
    name: String,
    title: Option<String>,
    user_id: Option<i64>,
    notes: Option<String>,
}

#[derive(FromRow)]
struct MethodRow {
    contact_id: i64,
    kind: String,
    value: String,
}

/// The contacts of several clients at once (each client's in name order).
pub async fn of_brands(db: &Db, org: OrgId, brands: &[BrandId]) -> Result<Vec<Contact>> {
    if brands.is_empty() {
        return Ok(Vec::new());
    }
    select_in(db, org, brands, None).await
}

async fn select(db: &Db, org: OrgId, brand: BrandId, id: Option<i64>) -> Result<Vec<Contact>> {
    select_in(db, org, &[brand], id).await
}

async fn select_in(db: &Db, org: OrgId, brands: &[BrandId], id: Option<i64>) -> Result<Vec<Contact>> {
    let brands = crate::db::bulk::encode(&brands.iter().map(|b| b.0).collect::<Vec<_>>())?;
    let sql = format!(
        "select id, brand_id, name, title, user_id, notes from desk_contacts \
         where org_id = $1 and {} and ($2 is null or id = $2) order by brand_id, lower(name), id",
        crate::db::bulk::any(db.backend(), "brand_id", 3, "bigint")
    );
    let rows: Vec<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(id).bind(&brands).fetch_all(db.pool()).await?;
    let sql = format!(
        "select m.contact_id, m.kind, m.value from desk_contact_methods m \
         join desk_contacts c on c.id = m.contact_id and c.org_id = m.org_id \
         where m.org_id = $1 and {} and ($2 is null or c.id = $2) order by m.contact_id, m.position",
        crate::db::bulk::any(db.backend(), "c.brand_id", 3, "bigint")
    );
    let methods: Vec<MethodRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(id).bind(&brands).fetch_all(db.pool()).await?;
    rows.into_iter()
        .map(|r| {
            let mine = methods
                .iter()
                .filter(|m| m.contact_id == r.id)
                .map(|m| {
                    Ok(Method { kind: MethodKind::parse(&m.kind).map_err(Error::Unexpected)?, value: m.value.clone() })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Contact {
                id: r.id,
                brand_id: BrandId(r.brand_id),
                name: r.name,
                title: r.title,
                user_id: r.user_id.map(UserId),
                notes: r.notes,
                methods: mine,
            })
        })
        .collect()
}

/// The clients (brands) a sign-in is a desk contact of: what a client's user may see.
pub async fn brands_of_user(db: &Db, org: OrgId, user: UserId) -> Result<Vec<BrandId>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "select distinct brand_id from desk_contacts where org_id = $1 and user_id = $2 order by brand_id",
    )
    .bind(org.0)
    .bind(user.0)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|(b,)| BrandId(b)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_to_reach_someone_is_read_by_its_kind_and_the_clients_country() {
        let us = Country::us();
        let de = Country::parse("DE").unwrap();
        assert_eq!(MethodKind::Cell.read("(720) 555-0142", us), Ok("+17205550142".into()));
        assert_eq!(MethodKind::Office.read("030 901820", de), Ok("+4930901820".into()));
        assert_eq!(
            MethodKind::Email.read(" Ana@Example.com ", us).map(|e| e.to_lowercase()),
            Ok("ana@example.com".into())
        );
        assert_eq!(MethodKind::Pager.read("5551234@pager.example.net", us), Ok("5551234@pager.example.net".into()));
        assert_eq!(MethodKind::Pager.read("720 555 0199", us), Ok("+17205550199".into()));
        assert_eq!(MethodKind::Fax.read("", us), Err("give the number or address".into()));
        assert_eq!(
            MethodKind::parse("telegram"),
            Err("\"telegram\" is not a way to reach someone (cell, home, office, email, pager, fax)".into())
        );
    }

    #[test]
    fn a_contact_is_refused_field_by_field() {
        let input = ContactInput {
            name: " ".into(),
            title: "x".repeat(TITLE_MAX + 1),
            notes: String::new(),
            user_id: None,
            methods: vec![
                ("cell".into(), "720 555 0142".into()),
                ("email".into(), "not an address".into()),
                ("smoke signal".into(), "hill".into()),
            ],
        };
        let Err(Error::Invalid(errors)) = check(&input, Country::us()) else { panic!("expected refusals") };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_ref()).collect();
        assert_eq!(fields, ["name", "title", "methods.2.value", "methods.3.kind"]);
    }
}
