//! Tenancy: organizations, their brands and their users. Every use case takes the acting
//! organization and never touches another's rows.

pub mod hours;
pub mod model;
mod store;
pub mod urgent;

pub use hours::WorkingHours;
pub use model::{Brand, BrandInput, DayInput, NewUserInput, Org, Role, User, UserUpdate};
pub use urgent::UrgentWords;

use crate::clock::{Clock, to_millis};
use crate::db::{Db, Tx};
use crate::ids::{BrandId, OrgId, UserId};
use crate::parse::Slug;
use crate::secret::{check_password_policy, hash_password};
use crate::{Error, Result};

/// First job number of a new brand: codes start at J-1001.
const FIRST_JOB_NUMBER: i64 = 1001;

#[tracing::instrument(skip(db, clock))]
pub async fn create_org(db: &Db, clock: &dyn Clock, slug: &str, name: &str) -> Result<Org> {
    let slug = Slug::parse(slug).map_err(|m| Error::invalid("slug", m))?;
    let name = crate::parse::required_text(name, 80).map_err(|m| Error::invalid("name", m))?;
    store::insert_org(db.pool(), slug.as_str(), &name, to_millis(clock.now())).await
}

pub async fn org_by_slug(db: &Db, slug: &str) -> Result<Option<Org>> {
    store::org_by_slug(db.pool(), slug).await
}

pub async fn org(db: &Db, id: OrgId) -> Result<Org> {
    store::org_by_id(db.pool(), id).await?.ok_or(Error::NotFound)
}

pub async fn list_orgs(db: &Db) -> Result<Vec<Org>> {
    store::list_orgs(db.pool()).await
}

/// The organization a command-line action means: the named one (created when missing and
/// `create` is set), or the only one there is.
pub async fn resolve_org(db: &Db, clock: &dyn Clock, slug: Option<&str>, create: bool) -> Result<Org> {
    match slug {
        Some(slug) => match org_by_slug(db, slug).await? {
            Some(org) => Ok(org),
            None if create => create_org(db, clock, slug, &model::default_org_name(slug)).await,
            None => Err(Error::invalid("org", format!("no organization with slug \"{slug}\""))),
        },
        None => {
            let orgs = list_orgs(db).await?;
            match orgs.len() {
                0 if create => create_org(db, clock, "default", "Default").await,
                1 => Ok(orgs.into_iter().next().ok_or(Error::NotFound)?),
                0 => Err(Error::invalid("org", "there is no organization yet; name one with --org")),
                _ => Err(Error::invalid("org", "there are several organizations; name one with --org")),
            }
        }
    }
}

pub async fn list_brands(db: &Db, org: OrgId) -> Result<Vec<Brand>> {
    store::list_brands(db.pool(), org).await
}

/// [`brand_by_sms_number`] inside a transaction.
pub async fn brand_by_sms_number_in(tx: &mut Tx, number: &str) -> Result<Option<Brand>> {
    store::brand_by_sms_number(&mut **tx, number).await
}

/// The brands that own these SMS numbers (E.164), keyed by number, inside `tx`.
pub async fn brands_by_sms_numbers_in(
    tx: &mut Tx,
    numbers: &[&str],
) -> Result<std::collections::HashMap<String, Brand>> {
    let backend = tx.backend();
    store::brands_by_sms_numbers(&mut **tx, backend, numbers).await
}

/// The brand whose SMS number is `number` (E.164), whatever its organization.
pub async fn brand_by_sms_number(db: &Db, number: &str) -> Result<Option<Brand>> {
    store::brand_by_sms_number(db.pool(), number).await
}

/// The brand whose inbound email address is `address`, whatever its organization.
pub async fn brand_by_inbound_email(db: &Db, address: &str) -> Result<Option<Brand>> {
    store::brand_by_inbound_email(db.pool(), &address.trim().to_lowercase()).await
}

pub async fn brand_in(tx: &mut Tx, org: OrgId, id: BrandId) -> Result<Brand> {
    store::get_brand(&mut **tx, org, id).await?.ok_or(Error::NotFound)
}

pub async fn brand(db: &Db, org: OrgId, id: BrandId) -> Result<Brand> {
    store::get_brand(db.pool(), org, id).await?.ok_or(Error::NotFound)
}

/// The organization's brands with these ids (those of another organization are left out).
pub async fn brands(db: &Db, org: OrgId, ids: &[BrandId]) -> Result<Vec<Brand>> {
    let ids: Vec<i64> = ids.iter().map(|b| b.0).collect();
    store::brands_by_ids(db.pool(), db.backend(), org, &ids).await
}

#[tracing::instrument(skip(db, clock, input), fields(org = %org))]
pub async fn create_brand(db: &Db, clock: &dyn Clock, org: OrgId, input: &BrandInput) -> Result<Brand> {
    let valid = input.validate()?;
    store::insert_brand(db.pool(), org, &valid, FIRST_JOB_NUMBER, to_millis(clock.now())).await
}

#[tracing::instrument(skip(db, clock, input), fields(org = %org, brand = %id))]
pub async fn update_brand(db: &Db, clock: &dyn Clock, org: OrgId, id: BrandId, input: &BrandInput) -> Result<Brand> {
    let valid = input.validate()?;
    store::update_brand(db.pool(), org, id, &valid, to_millis(clock.now())).await?.ok_or(Error::NotFound)
}

pub async fn list_users(db: &Db, org: OrgId) -> Result<Vec<User>> {
    store::list_users(db.pool(), org).await
}

pub async fn user(db: &Db, org: OrgId, id: UserId) -> Result<User> {
    store::get_user(db.pool(), org, id).await?.ok_or(Error::NotFound)
}

#[tracing::instrument(skip(db, clock, input), fields(org = %org))]
pub async fn create_user(db: &Db, clock: &dyn Clock, org: OrgId, input: &NewUserInput) -> Result<User> {
    let valid = input.validate()?;
    let hash = hash_password(valid.password.clone()).await?;
    store::insert_user(db.pool(), org, &valid, &hash, to_millis(clock.now())).await
}

/// Changes a user's name, role or active flag. An organization always keeps one active admin:
/// demoting or deactivating the last one is refused.
/// Changes a user inside `tx` (the last active admin cannot stop being one). Ending a
/// deactivated user's sessions is `auth::update_user`'s part, above this module.
pub async fn update_user_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    id: UserId,
    input: &UserUpdate,
) -> Result<User> {
    let valid = input.validate()?;
    let current = store::get_user(&mut **tx, org, id).await?.ok_or(Error::NotFound)?;
    let stays_admin = valid.role.unwrap_or(current.role) == Role::Admin && valid.active.unwrap_or(current.active);
    if current.role == Role::Admin
        && current.active
        && !stays_admin
        && store::count_active_admins(&mut **tx, org).await? <= 1
    {
        return Err(Error::Conflict(format!(
            "{} is the only active admin; make someone else an admin first",
            current.name
        )));
    }
    store::update_user(&mut **tx, org, id, &valid, to_millis(clock.now())).await?.ok_or(Error::NotFound)
}

#[tracing::instrument(skip(db, clock, password), fields(org = %org, user = %id))]
pub async fn set_password(db: &Db, clock: &dyn Clock, org: OrgId, id: UserId, password: &str) -> Result<()> {
    check_password_policy(password).map_err(|m| Error::invalid("password", m))?;
    let hash = hash_password(password.to_string()).await?;
    if store::set_password_hash(db.pool(), org, id, &hash, to_millis(clock.now())).await? {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

pub(crate) use store::user_for_login;

/// Creates an organization inside the caller's transaction (used by demo seeding).
pub(crate) async fn create_org_in(tx: &mut Tx, clock: &dyn Clock, slug: &str, name: &str) -> Result<Org> {
    store::insert_org(&mut **tx, slug, name, to_millis(clock.now())).await
}

/// Creates a brand inside the caller's transaction, with its first job number.
pub(crate) async fn create_brand_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    input: &BrandInput,
    first_job_number: i64,
) -> Result<Brand> {
    let valid = input.validate()?;
    store::insert_brand(&mut **tx, org, &valid, first_job_number, to_millis(clock.now())).await
}

/// Creates a user inside the caller's transaction; the password is hashed before it starts.
pub(crate) async fn create_user_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    user: &model::ValidNewUser,
    password_hash: &str,
) -> Result<User> {
    store::insert_user(&mut **tx, org, user, password_hash, to_millis(clock.now())).await
}
