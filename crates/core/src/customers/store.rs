//! SQL for customers.

use sqlx::{Any, Executor, FromRow};

use super::{Customer, NewCustomer};
use crate::clock::to_millis;
use crate::ids::{CustomerId, OrgId};
use crate::parse::{EmailAddress, PhoneE164};
use crate::{Error, Result};

#[derive(FromRow)]
struct CustomerRow {
    id: i64,
    org_id: i64,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    address: Option<String>,
    notes: Option<String>,
    job_count: i64,
}

macro_rules! customer_select {
    () => {
        "select c.id, c.org_id, c.name, c.phone, c.email, c.address, c.notes, \
                (select count(*) from jobs j where j.customer_id = c.id and j.org_id = c.org_id) as job_count \
         from customers c "
    };
}

pub async fn list_customers<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId) -> Result<Vec<Customer>> {
    let rows: Vec<CustomerRow> =
        sqlx::query_as(concat!(customer_select!(), "where c.org_id = $1 order by c.name, c.id"))
            .bind(org.0)
            .fetch_all(ex)
            .await?;
    rows.into_iter().map(Customer::try_from).collect()
}

/// Customers with this phone (E.164) or, failing that, this email; phone matches first.
pub async fn matching<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    phone: Option<&str>,
    email: Option<&str>,
) -> Result<Vec<Customer>> {
    let rows: Vec<CustomerRow> = sqlx::query_as(concat!(
        customer_select!(),
        "where c.org_id = $1 and (($2 is not null and c.phone = $2) or ($3 is not null and lower(c.email) = $3)) \
         order by case when c.phone = $2 then 0 else 1 end, c.id"
    ))
    .bind(org.0)
    .bind(phone)
    .bind(email.map(str::to_lowercase))
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(Customer::try_from).collect()
}

pub async fn get<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId, id: CustomerId) -> Result<Option<Customer>> {
    let row: Option<CustomerRow> = sqlx::query_as(concat!(customer_select!(), "where c.org_id = $1 and c.id = $2"))
        .bind(org.0)
        .bind(id.0)
        .fetch_optional(ex)
        .await?;
    row.map(Customer::try_from).transpose()
}

/// Creates a customer, or returns the one that already has this phone (so that many
/// conversions for one new number at once make one customer).
pub async fn create_or_match_by_phone(
    tx: &mut crate::db::Tx,
    org: OrgId,
    c: &NewCustomer,
    now: jiff::Timestamp,
) -> Result<CustomerId> {
    let phone = c.phone.as_ref().map(|p| p.as_str().to_string());
    let row: Option<(i64,)> = sqlx::query_as(
        "insert into customers (org_id, name, phone, email, address, notes, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $7) on conflict (org_id, phone) where phone is not null do nothing returning id",
    )
    .bind(org.0)
    .bind(&c.name)
    .bind(phone.clone())
    .bind(c.email.as_ref().map(|e| e.as_str().to_string()))
    .bind(c.address.clone())
    .bind(c.notes.clone())
    .bind(to_millis(now))
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((id,)) = row {
        return Ok(CustomerId(id));
    }
    let (id,): (i64,) = sqlx::query_as("select id from customers where org_id = $1 and phone = $2")
        .bind(org.0)
        .bind(phone)
        .fetch_one(&mut **tx)
        .await?;
    Ok(CustomerId(id))
}

impl TryFrom<CustomerRow> for Customer {
    type Error = Error;
    /// Phones and emails are parsed here, once: a stored value that is not one is an error
    /// naming the customer, not a contact quietly left unreachable.
    fn try_from(r: CustomerRow) -> Result<Customer> {
        let bad = |what: &str, e: String| Error::Unexpected(format!("customer {} ({}): {what} {e}", r.id, r.name));
        Ok(Customer {
            id: CustomerId(r.id),
            org_id: OrgId(r.org_id),
            phone: r.phone.as_deref().map(PhoneE164::from_stored).transpose().map_err(|e| bad("phone", e))?,
            email: r.email.as_deref().map(EmailAddress::parse).transpose().map_err(|e| bad("email", e))?,
            name: r.name,
            address: r.address,
            notes: r.notes,
            job_count: r.job_count,
        })
    }
}

pub async fn insert_customer<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    c: &NewCustomer,
    now: jiff::Timestamp,
) -> Result<CustomerId> {
    let (id,): (i64,) = sqlx::query_as(
        "insert into customers (org_id, name, phone, email, address, notes, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $7) returning id",
    )
    .bind(org.0)
    .bind(&c.name)
    .bind(c.phone.as_ref().map(|p| p.as_str().to_string()))
    .bind(c.email.as_ref().map(|e| e.as_str().to_string()))
    .bind(c.address.clone())
    .bind(c.notes.clone())
    .bind(to_millis(now))
    .fetch_one(ex)
    .await
    .map_err(|e| Error::from(e).on_unique("a customer with this phone number already exists"))?;
    Ok(CustomerId(id))
}

/// Writes every field of customer `id` (the checked values of an edit).
pub async fn update_customer<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    id: CustomerId,
    c: &NewCustomer,
    now: jiff::Timestamp,
) -> Result<()> {
    sqlx::query(
        "update customers set name = $3, phone = $4, email = $5, address = $6, notes = $7, updated_at = $8 \
         where org_id = $1 and id = $2",
    )
    .bind(org.0)
    .bind(id.0)
    .bind(&c.name)
    .bind(c.phone.as_ref().map(|p| p.as_str().to_string()))
    .bind(c.email.as_ref().map(|e| e.as_str().to_string()))
    .bind(c.address.clone())
    .bind(c.notes.clone())
    .bind(to_millis(now))
    .execute(ex)
    .await
    .map_err(|e| Error::from(e).on_unique("a customer with this phone number already exists"))?;
    Ok(())
}
