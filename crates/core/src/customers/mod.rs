//! Customers: the people and businesses jobs are done for. Matched by phone, then email.

pub mod import;
pub mod locations;
mod store;

use serde::Serialize;

use crate::clock::Clock;
use crate::db::{Db, Tx};
use crate::ids::{CustomerId, OrgId};
use crate::parse::{Country, EmailAddress, PhoneE164, optional_text, required_text};
use crate::{Error, Result};

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

/// The name to greet a customer by in what we send them, if their name is one: a customer made
/// from a lead that gave none is named after its phone number or email, or "Unknown", and a
/// message must not say "Hi +15550101234" (the greeting then reads "Hi, ...").
pub fn greeting_name(name: &str) -> Option<&str> {
    let first = name.split_whitespace().next()?;
    let placeholder = first.starts_with('+')
        || first.starts_with(|c: char| c.is_ascii_digit() || c == '(')
        || first.contains('@')
        || name.trim().eq_ignore_ascii_case("unknown");
    (!placeholder).then_some(first)
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

/// Inside the caller's transaction: the customer with this phone, or a new one. Their
/// address becomes one of their service locations.
pub async fn create_or_match_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, c: &NewCustomer) -> Result<CustomerId> {
    let id = match &c.phone {
        Some(_) => store::create_or_match_by_phone(tx, org, c, clock.now()).await?,
        None => store::insert_customer(&mut **tx, org, c, clock.now()).await?,
    };
    locations::for_address_in(tx, clock.now(), org, id, c.address.as_deref().unwrap_or_default()).await?;
    Ok(id)
}

/// Creates a customer inside the caller's transaction, their address their first service
/// location. A phone already on file for this organization is a `Conflict`.
pub async fn create_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, c: &NewCustomer) -> Result<CustomerId> {
    let id = store::insert_customer(&mut **tx, org, c, clock.now()).await?;
    locations::for_address_in(tx, clock.now(), org, id, c.address.as_deref().unwrap_or_default()).await?;
    Ok(id)
}

/// A customer as typed in a form or sent to the API: every field is text, checked here.
#[derive(Debug, Clone, Default)]
pub struct CustomerInput {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub notes: String,
    /// Service locations besides the address (which becomes the first).
    pub locations: Vec<locations::LocationInput>,
}

/// A change to a customer: only the fields given change (`Some("")` clears one).
#[derive(Debug, Clone, Default)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub notes: Option<String>,
}

/// The country national-format numbers are read by for the organization: its brands' country
/// when they share one (the first brand's otherwise), the United States with no brand yet.
pub async fn home_country(db: &Db, org: OrgId) -> Result<Country> {
    let brands = crate::tenancy::list_brands(db, org).await?;
    Ok(brands.first().map(|b| b.country).unwrap_or_else(Country::us))
}

/// Checks typed values: a name is required; a phone (read by `country` when national) and an
/// email must be real ones. Every refusal names its field.
fn check(input: &CustomerInput, country: Country) -> Result<NewCustomer> {
    let mut v = crate::error::Validator::new();
    let name = v.check("name", required_text(&input.name, 120));
    let phone = match input.phone.trim() {
        "" => Some(None),
        p => v.check("phone", PhoneE164::parse_in(p, country)).map(Some),
    };
    let email = match input.email.trim() {
        "" => Some(None),
        e => v.check("email", EmailAddress::parse(e)).map(Some),
    };
    let address = v.check("address", optional_text(Some(&input.address), 300));
    let notes = v.check("notes", optional_text(Some(&input.notes), 2000));
    v.finish()?;
    match (name, phone, email, address, notes) {
        (Some(name), Some(phone), Some(email), Some(address), Some(notes)) => {
            Ok(NewCustomer { name, phone, email, address, notes })
        }
        _ => Err(Error::Unexpected("customer validation lost a field".into())),
    }
}

/// Creates a customer from typed values. A phone already on file for the organization is a
/// `Conflict` naming who has it.
pub async fn create(db: &Db, clock: &dyn Clock, org: OrgId, input: &CustomerInput) -> Result<Customer> {
    let c = check(input, home_country(db, org).await?)?;
    if let Some(phone) = &c.phone {
        refuse_taken(db, org, phone, None).await?;
    }
    let mut tx = db.begin().await?;
    let id = create_in(&mut tx, clock, org, &c).await?;
    locations::add_all_in(&mut tx, clock, org, id, &input.locations).await?;
    tx.commit().await?;
    get(db, org, id).await
}

/// Changes the fields `patch` gives; the rest stay as they are.
pub async fn update(db: &Db, clock: &dyn Clock, org: OrgId, id: CustomerId, patch: &CustomerPatch) -> Result<Customer> {
    let current = get(db, org, id).await?;
    let keep = |given: &Option<String>, now: Option<String>| given.clone().unwrap_or_else(|| now.unwrap_or_default());
    let input = CustomerInput {
        name: patch.name.clone().unwrap_or_else(|| current.name.clone()),
        phone: keep(&patch.phone, current.phone.as_ref().map(|p| p.to_string())),
        email: keep(&patch.email, current.email.as_ref().map(|e| e.to_string())),
        address: keep(&patch.address, current.address.clone()),
        notes: keep(&patch.notes, current.notes.clone()),
        locations: Vec::new(),
    };
    let c = check(&input, home_country(db, org).await?)?;
    if let Some(phone) = &c.phone {
        refuse_taken(db, org, phone, Some(id)).await?;
    }
    let mut tx = db.begin().await?;
    store::update_customer(&mut *tx, org, id, &c, clock.now()).await?;
    // A new address is a new place to serve; the old one stays a location until removed.
    locations::for_address_in(&mut tx, clock.now(), org, id, c.address.as_deref().unwrap_or_default()).await?;
    tx.commit().await?;
    get(db, org, id).await
}

/// A phone another customer of the organization has is refused, naming them (one number, one
/// customer: texts from it thread to them).
async fn refuse_taken(db: &Db, org: OrgId, phone: &PhoneE164, except: Option<CustomerId>) -> Result<()> {
    let holders = store::matching(db.pool(), org, Some(phone.as_str()), None).await?;
    match holders.into_iter().find(|c| Some(c.id) != except && c.phone.as_ref() == Some(phone)) {
        Some(other) => Err(Error::invalid("phone", format!("{} already has this number", other.name))),
        None => Ok(()),
    }
}

/// The customers whose name, email, address or phone contain `query`; all of them for an
/// empty query. A phone matches in any format: its digits, or the whole number as typed in
/// `country`'s national format (0151 12345678 in Germany).
pub fn search(all: Vec<Customer>, query: &str, country: Country) -> Vec<Customer> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return all;
    }
    let whole = PhoneE164::parse_in(&q, country).ok();
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    all.into_iter()
        .filter(|c| {
            let text = [Some(c.name.as_str()), c.email.as_ref().map(|e| e.as_str()), c.address.as_deref()]
                .into_iter()
                .flatten()
                .any(|f| f.to_lowercase().contains(&q));
            let phone = digits.len() >= 3
                && c.phone.as_ref().is_some_and(|p| {
                    p.as_str().chars().filter(char::is_ascii_digit).collect::<String>().contains(&digits)
                });
            text || phone || (whole.is_some() && c.phone == whole)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::greeting_name;

    #[test]
    fn customers_named_after_their_contact_details_are_not_greeted_by_them() {
        assert_eq!(greeting_name("Dana Whitfield"), Some("Dana"));
        assert_eq!(greeting_name("  Li "), Some("Li"));
        assert_eq!(greeting_name("+15550101234"), None);
        assert_eq!(greeting_name("(555) 010-1234"), None);
        assert_eq!(greeting_name("dana@example.com"), None);
        assert_eq!(greeting_name("Unknown"), None);
        assert_eq!(greeting_name(""), None);
    }
}
