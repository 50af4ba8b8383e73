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
    pub phone: Option<String>,
    pub email: Option<String>,
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

/// Creates a customer inside the caller's transaction. A phone already on file for this
/// organization is a `Conflict`.
pub async fn create_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, c: &NewCustomer) -> Result<CustomerId> {
    store::insert_customer(&mut **tx, org, c, clock.now()).await
}
