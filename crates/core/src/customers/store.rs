//! SQL for customers.

use sqlx::{Any, Executor, FromRow};

use super::{Customer, NewCustomer};
use crate::clock::to_millis;
use crate::ids::{CustomerId, OrgId};
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

pub async fn list_customers<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId) -> Result<Vec<Customer>> {
    let rows: Vec<CustomerRow> = sqlx::query_as(
        "select c.id, c.org_id, c.name, c.phone, c.email, c.address, c.notes, \
                (select count(*) from jobs j where j.customer_id = c.id and j.org_id = c.org_id) as job_count \
         from customers c where c.org_id = $1 order by c.name, c.id",
    )
    .bind(org.0)
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Customer {
            id: CustomerId(r.id),
            org_id: OrgId(r.org_id),
            name: r.name,
            phone: r.phone,
            email: r.email,
            address: r.address,
            notes: r.notes,
            job_count: r.job_count,
        })
        .collect())
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
