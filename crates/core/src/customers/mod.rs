//! Customers: the people and businesses jobs are done for. Matched by phone, then email.

mod store;

use serde::Serialize;

use crate::Result;
use crate::clock::Clock;
use crate::db::{Db, Tx};
use crate::ids::{CustomerId, OrgId};
use crate::parse::{EmailAddress, PhoneE164};

#[derive(Debug, Clone, Serialize)]
pub struct Customer {
    pub id: CustomerId,
    pub org_id: OrgId,
    pub name: String,
    pub phone: Option<PhoneE164>,
    pub email: Option<EmailAddress>,
    pub address: Option<String>,
    pub notes: Option<String>,
    pub job_count: i64,
}

#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub name: String,
    pub phone: Option<PhoneE164>,
    pub email: Option<EmailAddress>,
    pub address: Option<String>,
    pub notes: Option<String>,
}

pub async fn list(db: &Db, org: OrgId) -> Result<Vec<Customer>> {
    store::list_customers(db.pool(), org).await
}

/// Customers matching a contact: by normalised phone first, then by email.
pub async fn matching(db: &Db, org: OrgId, phone: Option<&str>, email: Option<&str>) -> Result<Vec<Customer>> {
    if phone.is_none() && email.is_none() {
        return Ok(Vec::new());
    }
    store::matching(db.pool(), org, phone, email).await
}

pub async fn get(db: &Db, org: OrgId, id: CustomerId) -> Result<Customer> {
    store::get(db.pool(), org, id).await?.ok_or(crate::Error::NotFound)
}

/// A customer of `org`, read inside the caller's transaction.
pub async fn get_in(tx: &mut Tx, org: OrgId, id: CustomerId) -> Result<Option<Customer>> {
    store::get(&mut **tx, org, id).await
}

/// Inside the caller's transaction: the customer with this phone, or a new one.
pub async fn create_or_match_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, c: &NewCustomer) -> Result<CustomerId> {
    match &c.phone {
        Some(_) => store::create_or_match_by_phone(tx, org, c, clock.now()).await,
        None => store::insert_customer(&mut **tx, org, c, clock.now()).await,
    }
}

/// Creates a customer inside the caller's transaction. A phone already on file for this
/// organization is a `Conflict`.
pub async fn create_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, c: &NewCustomer) -> Result<CustomerId> {
    store::insert_customer(&mut **tx, org, c, clock.now()).await
}
