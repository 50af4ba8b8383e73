//! SQL for technicians.

use sqlx::{Any, Executor, FromRow};

use super::{NewTechnician, Technician};
use crate::Result;
use crate::clock::to_millis;
use crate::ids::{OrgId, TechnicianId, UserId};

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
}

pub async fn list_technicians<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId) -> Result<Vec<Technician>> {
    let rows: Vec<TechRow> = sqlx::query_as(
        "select id, org_id, user_id, name, phone, photo_url, rating_x10, vehicle, active \
         from technicians where org_id = $1 order by name, id",
    )
    .bind(org.0)
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Technician {
            id: TechnicianId(r.id),
            org_id: OrgId(r.org_id),
            user_id: r.user_id.map(UserId),
            name: r.name,
            phone: r.phone,
            photo_url: r.photo_url,
            rating_x10: r.rating_x10,
            vehicle: r.vehicle,
            active: r.active != 0,
        })
        .collect())
}

pub async fn insert_technician<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    t: &NewTechnician,
    now: jiff::Timestamp,
) -> Result<TechnicianId> {
    let (id,): (i64,) = sqlx::query_as(
        "insert into technicians (org_id, user_id, name, phone, photo_url, rating_x10, vehicle, active, created_at, updated_at) \
         values ($1, null, $2, $3, $4, $5, $6, 1, $7, $7) returning id",
    )
    .bind(org.0)
    .bind(&t.name)
    .bind(t.phone.as_ref().map(|p| p.as_str().to_string()))
    .bind(t.photo_url.clone())
    .bind(t.rating_x10)
    .bind(t.vehicle.clone())
    .bind(to_millis(now))
    .fetch_one(ex)
    .await?;
    Ok(TechnicianId(id))
}
