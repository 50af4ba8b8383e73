//! Technicians: the people sent to jobs, with the photo, rating and vehicle customers see.

mod store;

use serde::Serialize;

use crate::Result;
use crate::clock::Clock;
use crate::db::{Db, Tx};
use crate::ids::{OrgId, TechnicianId, UserId};
use crate::parse::PhoneE164;

#[derive(Debug, Clone, Serialize)]
pub struct Technician {
    pub id: TechnicianId,
    pub org_id: OrgId,
    pub user_id: Option<UserId>,
    pub name: String,
    pub phone: Option<String>,
    pub photo_url: Option<String>,
    /// Average rating times ten (47 = 4.7 stars), when there is one.
    pub rating_x10: Option<i64>,
    pub vehicle: Option<String>,
    pub active: bool,
}

impl Technician {
    /// "4.7" for display.
    pub fn rating_text(&self) -> Option<String> {
        self.rating_x10.map(|r| format!("{}.{}", r / 10, r % 10))
    }
}

#[derive(Debug, Clone)]
pub struct NewTechnician {
    pub name: String,
    pub phone: Option<PhoneE164>,
    pub photo_url: Option<String>,
    pub rating_x10: Option<i64>,
    pub vehicle: Option<String>,
}

pub async fn list(db: &Db, org: OrgId) -> Result<Vec<Technician>> {
    store::list_technicians(db.pool(), org).await
}

pub async fn create_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, t: &NewTechnician) -> Result<TechnicianId> {
    store::insert_technician(&mut **tx, org, t, clock.now()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_read_as_stars() {
        let t = Technician {
            id: TechnicianId(1),
            org_id: OrgId(1),
            user_id: None,
            name: "Dan".into(),
            phone: None,
            photo_url: None,
            rating_x10: Some(47),
            vehicle: None,
            active: true,
        };
        assert_eq!(t.rating_text().as_deref(), Some("4.7"));
    }
}
