//! SQL for technicians.

use sqlx::{Any, Executor, FromRow};

use super::{NewTechnician, SharedLocation, Technician, TechnicianEdit};
use crate::clock::{from_millis, to_millis};
use crate::geo::GeoPoint;
use crate::ids::{BrandId, OrgId, TechnicianId, UserId};
use crate::parse::PhoneE164;
use crate::{Error, Result};

#[derive(FromRow)]
struct TechRow {
    id: i64,
    org_id: i64,
    user_id: Option<i64>,
    name: String,
    phone: Option<String>,
    photo_url: Option<String>,
    rating_x10: Option<i64>,
    vehicle: Option<String>,
    active: i64,
    last_lat_e6: Option<i64>,
    last_lon_e6: Option<i64>,
    last_accuracy_m: Option<i64>,
    last_located_at: Option<i64>,
    links_paused_at: Option<i64>,
    skills: Option<String>,
}

impl TechRow {
    /// The phone is parsed here, once: a stored value that is not a number is an error naming
    /// the technician, not a technician quietly left without texts.
    fn into_technician(self, brands: Vec<BrandId>) -> Result<Technician> {
        let phone = self
            .phone
            .as_deref()
            .map(PhoneE164::from_stored)
            .transpose()
            .map_err(|e| Error::Unexpected(format!("technician {} ({}): phone {e}", self.id, self.name)))?;
        Ok(Technician {
            id: TechnicianId(self.id),
            org_id: OrgId(self.org_id),
            user_id: self.user_id.map(UserId),
            name: self.name,
            phone,
            photo_url: self.photo_url,
            rating_x10: self.rating_x10,
            vehicle: self.vehicle,
            skills: super::skills_from_stored(self.skills.as_deref()),
            brands,
            active: self.active != 0,
            links_paused_at: self.links_paused_at.map(from_millis),
            last_location: match (self.last_lat_e6, self.last_lon_e6, self.last_located_at) {
                (Some(lat), Some(lon), Some(at)) => Some(SharedLocation {
                    point: GeoPoint::from_e6(lat, lon),
                    accuracy_m: self.last_accuracy_m,
                    at: from_millis(at),
                }),
                _ => None,
            },
        })
    }
}

const TECH_COLUMNS: &str = "id, org_id, user_id, name, phone, photo_url, rating_x10, vehicle, active, \
     last_lat_e6, last_lon_e6, last_accuracy_m, last_located_at, links_paused_at, skills";

pub async fn technician(conn: &mut sqlx::AnyConnection, org: OrgId, id: TechnicianId) -> Result<Option<Technician>> {
    let row: Option<TechRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {TECH_COLUMNS} from technicians where org_id = $1 and id = $2"
    )))
    .bind(org.0)
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let brands: Vec<(i64,)> = sqlx::query_as(
        "select brand_id from technician_brands where org_id = $1 and technician_id = $2 order by brand_id",
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    row.into_technician(brands.into_iter().map(|(b,)| BrandId(b)).collect()).map(Some)
}

/// The brands each technician of `org` works for (a technician with none listed works for all).
async fn brands_by_technician(
    conn: &mut sqlx::AnyConnection,
    org: OrgId,
) -> Result<std::collections::HashMap<i64, Vec<BrandId>>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "select technician_id, brand_id from technician_brands where org_id = $1 order by technician_id, brand_id",
    )
    .bind(org.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut by = std::collections::HashMap::<i64, Vec<BrandId>>::new();
    for (tech, brand) in rows {
        by.entry(tech).or_default().push(BrandId(brand));
    }
    Ok(by)
}

/// Replaces the brands technician `id` works for (empty: every brand).
pub async fn set_brands(
    conn: &mut sqlx::AnyConnection,
    org: OrgId,
    id: TechnicianId,
    brands: &[BrandId],
) -> Result<()> {
    sqlx::query("delete from technician_brands where org_id = $1 and technician_id = $2")
        .bind(org.0)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    let mut seen: Vec<BrandId> = Vec::new();
    for b in brands {
        if seen.contains(b) {
            continue;
        }
        seen.push(*b);
        // Only a brand of the same organization.
        let done = sqlx::query(
            "insert into technician_brands (org_id, technician_id, brand_id) \
             select $1, $2, $3 where exists (select 1 from brands where org_id = $1 and id = $3) \
             on conflict do nothing",
        )
        .bind(org.0)
        .bind(id.0)
        .bind(b.0)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::invalid("brands", "pick brands of this organization"));
        }
    }
    Ok(())
}

pub async fn set_location<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    id: TechnicianId,
    point: GeoPoint,
    accuracy_m: Option<i64>,
    now: i64,
) -> Result<()> {
    let (lat, lon) = point.to_e6();
    sqlx::query(
        "update technicians set last_lat_e6 = $3, last_lon_e6 = $4, last_accuracy_m = $5, last_located_at = $6 \
         where org_id = $1 and id = $2",
    )
    .bind(org.0)
    .bind(id.0)
    .bind(lat)
    .bind(lon)
    .bind(accuracy_m)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn list_technicians(conn: &mut sqlx::AnyConnection, org: OrgId) -> Result<Vec<Technician>> {
    let rows: Vec<TechRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {TECH_COLUMNS} from technicians where org_id = $1 order by name, id"
    )))
    .bind(org.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut brands = brands_by_technician(conn, org).await?;
    rows.into_iter()
        .map(|r| {
            let b = brands.remove(&r.id).unwrap_or_default();
            r.into_technician(b)
        })
        .collect()
}

pub async fn insert_technician<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    t: &NewTechnician,
    now: jiff::Timestamp,
) -> Result<TechnicianId> {
    let (id,): (i64,) = sqlx::query_as(
        "insert into technicians (org_id, user_id, name, phone, photo_url, rating_x10, vehicle, active, created_at, updated_at, \
         skills) values ($1, null, $2, $3, $4, $5, $6, 1, $7, $7, $8) returning id",
    )
    .bind(org.0)
    .bind(&t.name)
    .bind(t.phone.as_ref().map(|p| p.as_str().to_string()))
    .bind(t.photo_url.clone())
    .bind(t.rating_x10)
    .bind(t.vehicle.clone())
    .bind(to_millis(now))
    .bind(super::skills_to_stored(&t.skills))
    .fetch_one(ex)
    .await?;
    Ok(TechnicianId(id))
}

/// Marks the technician's portal links as turned off for a lost phone (`Some`), or back on.
pub async fn set_links_paused<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    id: TechnicianId,
    at: Option<jiff::Timestamp>,
) -> Result<()> {
    sqlx::query("update technicians set links_paused_at = $3 where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id.0)
        .bind(at.map(to_millis))
        .execute(ex)
        .await?;
    Ok(())
}

/// Writes the office's edit of a technician.
pub async fn set_photo_url(pool: &sqlx::AnyPool, org: OrgId, id: TechnicianId, url: &str) -> Result<()> {
    sqlx::query("update technicians set photo_url = $3 where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id.0)
        .bind(url)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn update_technician<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    id: TechnicianId,
    t: &TechnicianEdit,
    now: jiff::Timestamp,
) -> Result<()> {
    sqlx::query(
        "update technicians set name = $3, phone = $4, vehicle = $5, active = $6, updated_at = $7, skills = $8 \
         where org_id = $1 and id = $2",
    )
    .bind(org.0)
    .bind(id.0)
    .bind(&t.name)
    .bind(t.phone.as_ref().map(|p| p.as_str().to_string()))
    .bind(t.vehicle.clone())
    .bind(t.active as i64)
    .bind(to_millis(now))
    .bind(super::skills_to_stored(&t.skills))
    .execute(ex)
    .await?;
    Ok(())
}
