//! Service locations: the places a customer has work done (a home, a rental unit, a shop),
//! each its own record with an optional label ("Rental, upstairs") and access notes (gate
//! code, dog in the yard). One location per address per customer, however the address was
//! typed. A job points at its location and keeps its own copy of the address as booked, so
//! editing or removing a location never rewrites where past work was done.

use serde::Serialize;
use sqlx::{Any, Executor, FromRow};

use crate::clock::{Clock, to_millis};
use crate::db::{Db, Tx};
use crate::ids::{CustomerId, LocationId, OrgId};
use crate::parse::{optional_text, required_text};
use crate::{Error, Result};

pub const LABEL_MAX: usize = 60;
pub const ADDRESS_MAX: usize = 300;
pub const ACCESS_NOTES_MAX: usize = 500;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceLocation {
    pub id: LocationId,
    pub customer_id: CustomerId,
    /// "Home", "Rental, upstairs"; none when the address says enough.
    pub label: Option<String>,
    pub address: String,
    /// For whoever goes there: gate code, pets, parking.
    pub access_notes: Option<String>,
    /// Jobs booked at this location.
    pub job_count: i64,
}

impl ServiceLocation {
    /// "Rental, upstairs: 14 Oak St" or the address alone.
    pub fn title(&self) -> String {
        match &self.label {
            Some(l) => format!("{l}: {}", self.address),
            None => self.address.clone(),
        }
    }
}

/// A location as typed in a form or sent to the API.
#[derive(Debug, Clone, Default)]
pub struct LocationInput {
    pub label: String,
    pub address: String,
    pub access_notes: String,
}

/// A change to a location: only the fields given change (`Some("")` clears a label or notes).
#[derive(Debug, Clone, Default)]
pub struct LocationPatch {
    pub label: Option<String>,
    pub address: Option<String>,
    pub access_notes: Option<String>,
}

struct Checked {
    label: Option<String>,
    address: String,
    access_notes: Option<String>,
}

fn check(input: &LocationInput) -> Result<Checked> {
    let mut v = crate::error::Validator::new();
    let label = v.check("label", optional_text(Some(&input.label), LABEL_MAX));
    let address = v.check("address", required_text(&input.address, ADDRESS_MAX));
    let access_notes = v.check("access_notes", optional_text(Some(&input.access_notes), ACCESS_NOTES_MAX));
    v.finish()?;
    match (label, address, access_notes) {
        (Some(label), Some(address), Some(access_notes)) => Ok(Checked { label, address, access_notes }),
        _ => Err(Error::Unexpected("location validation lost a field".into())),
    }
}

/// The form of an address two locations are compared by: lowercased, spaces collapsed, and
/// without a trailing full stop or comma ("12 Elm St." is "12  elm st").
pub fn address_key(address: &str) -> String {
    let lower = address.trim().trim_end_matches(['.', ',']).to_lowercase();
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The customer's locations, oldest first (the first is where they were first served).
pub async fn list(db: &Db, org: OrgId, customer: CustomerId) -> Result<Vec<ServiceLocation>> {
    select(db.pool(), org, Some(customer), None).await
}

/// Every location of the organization, oldest first (one query for a list of customers).
pub async fn list_all(db: &Db, org: OrgId) -> Result<Vec<ServiceLocation>> {
    select(db.pool(), org, None, None).await
}

/// One location of the customer; `NotFound` when it is not theirs.
pub async fn get(db: &Db, org: OrgId, customer: CustomerId, id: LocationId) -> Result<ServiceLocation> {
    let found = select(db.pool(), org, Some(customer), Some(id)).await?;
    found.into_iter().next().ok_or(Error::NotFound)
}

/// One location of the organization inside `tx`, whoever's it is.
pub async fn get_in(tx: &mut Tx, org: OrgId, id: LocationId) -> Result<Option<ServiceLocation>> {
    Ok(select(&mut **tx, org, None, Some(id)).await?.into_iter().next())
}

/// Adds a location to the customer. An address they already have is refused, naming the
/// location that has it.
pub async fn add(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    customer: CustomerId,
    input: &LocationInput,
) -> Result<ServiceLocation> {
    let c = check(input)?;
    super::get(db, org, customer).await?;
    refuse_taken(db, org, customer, &c.address, None).await?;
    let mut tx = db.begin().await?;
    let id = insert(&mut tx, org, customer, &c, clock.now()).await?;
    tx.commit().await?;
    get(db, org, customer, id).await
}

/// Adds the locations given with a new customer inside `tx`; a row refused names itself
/// (`locations.2.address`, counted from 1), and an address given twice is refused.
pub async fn add_all_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    customer: CustomerId,
    inputs: &[LocationInput],
) -> Result<Vec<LocationId>> {
    let mut v = crate::error::Validator::new();
    let mut checked = Vec::new();
    for (n, input) in inputs.iter().enumerate() {
        match check(input) {
            Ok(c) => {
                if checked.iter().any(|(_, o): &(usize, Checked)| address_key(&o.address) == address_key(&c.address)) {
                    v.add(format!("locations.{}.address", n + 1), "this address is given twice");
                }
                checked.push((n, c));
            }
            Err(Error::Invalid(errors)) => {
                for e in errors {
                    v.add(format!("locations.{}.{}", n + 1, e.field), e.message);
                }
            }
            Err(other) => return Err(other),
        }
    }
    v.finish()?;
    let mut ids = Vec::new();
    for (_, c) in &checked {
        match find(&mut **tx, org, customer, &address_key(&c.address)).await? {
            Some(id) => ids.push(id),
            None => ids.push(insert(tx, org, customer, c, clock.now()).await?),
        }
    }
    Ok(ids)
}

/// Changes the fields `patch` gives. Jobs already booked there keep the address they were
/// booked at; new jobs take the new one.
pub async fn update(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    customer: CustomerId,
    id: LocationId,
    patch: &LocationPatch,
) -> Result<ServiceLocation> {
    let current = get(db, org, customer, id).await?;
    let input = LocationInput {
        label: patch.label.clone().unwrap_or_else(|| current.label.clone().unwrap_or_default()),
        address: patch.address.clone().unwrap_or_else(|| current.address.clone()),
        access_notes: patch.access_notes.clone().unwrap_or_else(|| current.access_notes.clone().unwrap_or_default()),
    };
    let c = check(&input)?;
    refuse_taken(db, org, customer, &c.address, Some(id)).await?;
    sqlx::query(
        "update service_locations set label = $4, address = $5, address_key = $6, access_notes = $7, updated_at = $8 \
         where org_id = $1 and customer_id = $2 and id = $3",
    )
    .bind(org.0)
    .bind(customer.0)
    .bind(id.0)
    .bind(c.label.clone())
    .bind(c.address.clone())
    .bind(address_key(&c.address))
    .bind(c.access_notes.clone())
    .bind(to_millis(clock.now()))
    .execute(db.pool())
    .await
    .map_err(|e| Error::from(e).on_unique("the customer already has a location at this address"))?;
    get(db, org, customer, id).await
}

/// Removes a location. Its jobs keep their address (and lose the link to the record).
pub async fn remove(db: &Db, org: OrgId, customer: CustomerId, id: LocationId) -> Result<()> {
    get(db, org, customer, id).await?;
    let mut tx = db.begin().await?;
    sqlx::query("update jobs set service_location_id = null where org_id = $1 and service_location_id = $2")
        .bind(org.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    sqlx::query("delete from service_locations where org_id = $1 and customer_id = $2 and id = $3")
        .bind(org.0)
        .bind(customer.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Inside `tx`: the customer's location at `address`, added when they have none there (a job
/// booked at a new address, a customer's address typed in). `None` for a blank address.
pub async fn for_address_in(
    tx: &mut Tx,
    now: jiff::Timestamp,
    org: OrgId,
    customer: CustomerId,
    address: &str,
) -> Result<Option<LocationId>> {
    let address = address.trim();
    if address.is_empty() {
        return Ok(None);
    }
    if let Some(id) = find(&mut **tx, org, customer, &address_key(address)).await? {
        return Ok(Some(id));
    }
    let c = Checked { label: None, address: address.to_string(), access_notes: None };
    insert(tx, org, customer, &c, now).await.map(Some)
}

async fn refuse_taken(
    db: &Db,
    org: OrgId,
    customer: CustomerId,
    address: &str,
    except: Option<LocationId>,
) -> Result<()> {
    match find(db.pool(), org, customer, &address_key(address)).await? {
        Some(other) if Some(other) != except => {
            Err(Error::invalid("address", "the customer already has a location at this address"))
        }
        _ => Ok(()),
    }
}

// SQL

#[derive(FromRow)]
struct LocationRow {
    id: i64,
    customer_id: i64,
    label: Option<String>,
    address: String,
    access_notes: Option<String>,
    job_count: i64,
}

async fn select<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    customer: Option<CustomerId>,
    id: Option<LocationId>,
) -> Result<Vec<ServiceLocation>> {
    // Only the filters given become conditions, so the query uses its index.
    let mut sql = String::from(
        "select l.id, l.customer_id, l.label, l.address, l.access_notes, \
                (select count(*) from jobs j where j.org_id = l.org_id and j.service_location_id = l.id) as job_count \
         from service_locations l where l.org_id = $1",
    );
    let mut binds = vec![org.0];
    if let Some(c) = customer {
        binds.push(c.0);
        sql.push_str(&format!(" and l.customer_id = ${}", binds.len()));
    }
    if let Some(i) = id {
        binds.push(i.0);
        sql.push_str(&format!(" and l.id = ${}", binds.len()));
    }
    sql.push_str(" order by l.customer_id, l.created_at, l.id");
    let mut query = sqlx::query_as::<_, LocationRow>(sqlx::AssertSqlSafe(sql));
    for b in binds {
        query = query.bind(b);
    }
    let rows = query.fetch_all(ex).await?;
    Ok(rows
        .into_iter()
        .map(|r| ServiceLocation {
            id: LocationId(r.id),
            customer_id: CustomerId(r.customer_id),
            label: r.label,
            address: r.address,
            access_notes: r.access_notes,
            job_count: r.job_count,
        })
        .collect())
}

async fn find<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    customer: CustomerId,
    key: &str,
) -> Result<Option<LocationId>> {
    let row: Option<(i64,)> =
        sqlx::query_as("select id from service_locations where org_id = $1 and customer_id = $2 and address_key = $3")
            .bind(org.0)
            .bind(customer.0)
            .bind(key)
            .fetch_optional(ex)
            .await?;
    Ok(row.map(|(id,)| LocationId(id)))
}

async fn insert(
    tx: &mut Tx,
    org: OrgId,
    customer: CustomerId,
    c: &Checked,
    now: jiff::Timestamp,
) -> Result<LocationId> {
    let (id,): (i64,) = sqlx::query_as(
        "insert into service_locations (org_id, customer_id, label, address, address_key, access_notes, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $7) returning id",
    )
    .bind(org.0)
    .bind(customer.0)
    .bind(c.label.clone())
    .bind(c.address.clone())
    .bind(address_key(&c.address))
    .bind(c.access_notes.clone())
    .bind(to_millis(now))
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| Error::from(e).on_unique("the customer already has a location at this address"))?;
    Ok(LocationId(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_compare_however_typed() {
        assert_eq!(address_key("  12 Elm St. "), "12 elm st");
        assert_eq!(address_key("12  ELM st,"), "12 elm st");
        assert_eq!(address_key("Straße 4,\t80331 München"), "straße 4, 80331 münchen");
        assert_ne!(address_key("12 Elm St, Apt 2"), address_key("12 Elm St"));
    }

    #[test]
    fn a_location_needs_an_address_and_names_every_bad_field() {
        let long = "x".repeat(LABEL_MAX + 1);
        let input = LocationInput { label: long, address: "  ".into(), access_notes: "Gate 4411".into() };
        match check(&input) {
            Err(Error::Invalid(errors)) => {
                let fields: Vec<_> = errors.iter().map(|e| (e.field.as_ref(), e.message.as_str())).collect();
                assert_eq!(fields, vec![("label", "at most 60 characters"), ("address", "this field is required")]);
            }
            other => panic!("expected Invalid, got {other:?}", other = other.map(|c| c.address)),
        }
        let ok =
            check(&LocationInput { label: " ".into(), address: " 9 Oak Ave ".into(), access_notes: String::new() })
                .unwrap();
        assert_eq!((ok.label, ok.address.as_str(), ok.access_notes), (None, "9 Oak Ave", None));
    }

    #[test]
    fn a_title_leads_with_the_label() {
        let mut l = ServiceLocation {
            id: LocationId(1),
            customer_id: CustomerId(2),
            label: Some("Rental".into()),
            address: "14 Oak St".into(),
            access_notes: None,
            job_count: 0,
        };
        assert_eq!(l.title(), "Rental: 14 Oak St");
        l.label = None;
        assert_eq!(l.title(), "14 Oak St");
    }
}
