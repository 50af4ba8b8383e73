//! Technicians: the people sent to jobs, with the photo, rating and vehicle customers see.

mod store;

use serde::Serialize;

use crate::clock::{Clock, to_millis};
use crate::db::{Db, Event, Tx};
use crate::geo::GeoPoint;
use crate::ids::{BrandId, OrgId, TechnicianId, UserId};
use crate::parse::PhoneE164;
use crate::{Error, Result};

#[derive(Debug, Clone, Serialize)]
pub struct Technician {
    pub id: TechnicianId,
    pub org_id: OrgId,
    pub user_id: Option<UserId>,
    pub name: String,
    pub phone: Option<PhoneE164>,
    pub photo_url: Option<String>,
    /// Average rating times ten (47 = 4.7 stars), when there is one.
    pub rating_x10: Option<i64>,
    pub vehicle: Option<String>,
    /// What they can do ("furnace", "backflow certified"), as the office wrote them.
    pub skills: Vec<String>,
    /// The brands they work for; empty: every brand of the organization.
    pub brands: Vec<BrandId>,
    pub active: bool,
    /// When the office turned their portal links off for a lost phone: nothing about their
    /// jobs is texted to that phone until the office texts them a new link.
    pub links_paused_at: Option<jiff::Timestamp>,
    /// Where the technician's phone last said they were (while the portal was open).
    pub last_location: Option<SharedLocation>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct SharedLocation {
    pub point: GeoPoint,
    pub accuracy_m: Option<i64>,
    pub at: jiff::Timestamp,
}

impl Technician {
    /// Whether they take work of `brand` (a technician with no brands listed works for all).
    pub fn works_for(&self, brand: BrandId) -> bool {
        self.brands.is_empty() || self.brands.contains(&brand)
    }

    pub fn first_name(&self) -> &str {
        self.name.split_whitespace().next().unwrap_or(&self.name)
    }

    /// "4.7" for display.
    pub fn rating_text(&self) -> Option<String> {
        self.rating_x10.map(|r| format!("{}.{}", r / 10, r % 10))
    }

    /// The rating customers are shown: only when it flatters, at 4 stars or more.
    pub fn customer_rating(&self) -> Option<String> {
        self.rating_x10.filter(|r| *r >= 40).and_then(|_| self.rating_text())
    }
}

#[derive(Debug, Clone)]
pub struct NewTechnician {
    pub name: String,
    pub phone: Option<PhoneE164>,
    pub photo_url: Option<String>,
    pub rating_x10: Option<i64>,
    pub vehicle: Option<String>,
    pub skills: Vec<String>,
    /// The brands they work for (empty: all).
    pub brands: Vec<BrandId>,
}

pub async fn list(db: &Db, org: OrgId) -> Result<Vec<Technician>> {
    store::list_technicians(&mut *db.pool().acquire().await?, org).await
}

pub async fn get_in(tx: &mut Tx, org: OrgId, id: TechnicianId) -> Result<Option<Technician>> {
    store::technician(tx, org, id).await
}

/// Records inside `tx` that the technician's links were turned off for a lost phone
/// (`Some(now)`), or that a new link was texted (`None`).
pub async fn set_links_paused_in(tx: &mut Tx, org: OrgId, id: TechnicianId, at: Option<jiff::Timestamp>) -> Result<()> {
    store::set_links_paused(&mut **tx, org, id, at).await
}

pub async fn get(db: &Db, org: OrgId, id: TechnicianId) -> Result<Technician> {
    store::technician(&mut *db.pool().acquire().await?, org, id).await?.ok_or(Error::NotFound)
}

/// Records a location the technician's phone shared and tells open boards.
pub async fn share_location(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    id: TechnicianId,
    point: GeoPoint,
    accuracy_m: Option<i64>,
) -> Result<()> {
    store::set_location(db.pool(), org, id, point, accuracy_m, to_millis(clock.now())).await?;
    db.publish(Event::Tech { org, tech: id });
    Ok(())
}

pub async fn create_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, t: &NewTechnician) -> Result<TechnicianId> {
    let id = store::insert_technician(&mut **tx, org, t, clock.now()).await?;
    store::set_brands(tx, org, id, &t.brands).await?;
    Ok(id)
}

/// A technician as the office edits them.
#[derive(Debug, Clone)]
pub struct TechnicianEdit {
    pub name: String,
    pub phone: Option<PhoneE164>,
    pub vehicle: Option<String>,
    pub skills: Vec<String>,
    /// The brands they work for (empty: all); each must be one of the organization's.
    pub brands: Vec<BrandId>,
    /// Inactive technicians sign in nowhere and are put on no new job; the jobs they have
    /// keep them until the office changes the crew.
    pub active: bool,
}

/// Saves the office's edit of technician `id`; the change shows on the board at once.
pub async fn update(db: &Db, clock: &dyn Clock, org: OrgId, id: TechnicianId, edit: &TechnicianEdit) -> Result<()> {
    get(db, org, id).await?;
    let mut tx = db.begin().await?;
    store::update_technician(&mut *tx, org, id, edit, clock.now()).await?;
    store::set_brands(&mut tx, org, id, &edit.brands).await?;
    tx.commit().await?;
    db.publish(Event::Tech { org, tech: id });
    Ok(())
}

/// Skills at most per technician, and characters per skill.
pub const MAX_SKILLS: usize = 20;
pub const MAX_SKILL_CHARS: usize = 40;

/// Reads skills as typed: separated by commas or new lines, trimmed, inner spaces folded,
/// repeats (in any case) dropped, in the order written.
pub fn parse_skills(text: &str) -> std::result::Result<Vec<String>, String> {
    let mut skills: Vec<String> = Vec::new();
    for raw in text.split([',', '\n', ';']) {
        let skill = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if skill.is_empty() {
            continue;
        }
        if skill.chars().count() > MAX_SKILL_CHARS {
            return Err(format!(
                "\"{skill}\" is longer than {MAX_SKILL_CHARS} characters: write skills short, separated by commas"
            ));
        }
        if !skills.iter().any(|s| s.to_lowercase() == skill.to_lowercase()) {
            skills.push(skill);
        }
    }
    if skills.len() > MAX_SKILLS {
        return Err(format!("list {MAX_SKILLS} skills at most"));
    }
    Ok(skills)
}

pub(crate) fn skills_from_stored(text: Option<&str>) -> Vec<String> {
    text.map(|t| t.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()).unwrap_or_default()
}

pub(crate) fn skills_to_stored(skills: &[String]) -> Option<String> {
    (!skills.is_empty()).then(|| skills.join("\n"))
}

/// Where uploaded technician photos are served from (public: customers see them on the
/// tracking page and in emails; each name is a 256-bit random token).
pub const PHOTO_PATH: &str = "/media/techs";

/// The blob key of a photo served at `{PHOTO_PATH}/{org}/{file}`, if the path names one.
pub fn photo_key(org: &str, file: &str) -> Option<String> {
    let (name, ext) = file.rsplit_once('.')?;
    let ok = org.bytes().all(|b| b.is_ascii_digit())
        && !org.is_empty()
        && name.len() >= 32
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && matches!(ext, "jpg" | "png" | "webp");
    ok.then(|| format!("techs/{org}/{file}"))
}

/// Stores a new photo of technician `id` (JPEG, PNG or WebP, checked by content: customers'
/// browsers must show it) and puts it on their profile; the photo it replaces is deleted.
pub async fn set_photo(
    db: &Db,
    blobs: &crate::storage::BlobStore,
    org: OrgId,
    id: TechnicianId,
    bytes: &[u8],
) -> Result<String> {
    if bytes.is_empty() {
        return Err(Error::invalid("photo", "choose a photo to upload"));
    }
    if bytes.len() > crate::storage::MAX_PHOTO_BYTES {
        return Err(Error::invalid("photo", crate::storage::photo_too_large()));
    }
    let (content_type, ext) = match crate::storage::sniff_image(bytes) {
        Some((_, "heic")) => {
            return Err(Error::invalid("photo", "customers' browsers cannot show HEIC: use a JPEG, PNG or WebP photo"));
        }
        Some(found) => found,
        None => return Err(Error::invalid("photo", "that file is not a photo (JPEG, PNG or WebP)")),
    };
    let before = get(db, org, id).await?;
    let key = crate::storage::BlobStore::new_key(&format!("techs/{}", org.0), ext);
    if let Err(e) = blobs.put(&key, bytes, content_type).await {
        tracing::error!(error = %e, storage = %blobs.describe(), "storing a technician photo failed");
        return Err(Error::Unavailable("the photo could not be stored right now; try again in a minute".into()));
    }
    let url = format!("{PHOTO_PATH}/{}", key.trim_start_matches("techs/"));
    store::set_photo_url(db.pool(), org, id, &url).await?;
    db.publish(Event::Tech { org, tech: id });
    if let Some(old) = before.photo_url.as_deref().and_then(|u| u.strip_prefix(&format!("{PHOTO_PATH}/")))
        && let Some((o, f)) = old.split_once('/')
        && let Some(old_key) = photo_key(o, f)
        && let Err(e) = blobs.delete(&old_key).await
    {
        tracing::warn!(error = %e, key = %old_key, "deleting a replaced technician photo failed");
    }
    Ok(url)
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
            skills: vec![],
            brands: vec![],
            active: true,
            links_paused_at: None,
            last_location: None,
        };
        assert_eq!(t.rating_text().as_deref(), Some("4.7"));
        assert!(t.works_for(BrandId(9)), "no brands listed: every brand");
        let only = Technician { brands: vec![BrandId(2)], ..t };
        assert!(only.works_for(BrandId(2)));
        assert!(!only.works_for(BrandId(3)));
    }

    #[test]
    fn skills_are_read_as_typed_once_each() {
        assert_eq!(
            parse_skills(" Furnace,  boiler\nBackflow   certified; furnace ,, ").unwrap(),
            vec!["Furnace", "boiler", "Backflow certified"]
        );
        assert_eq!(parse_skills("").unwrap(), Vec::<String>::new());
        let long = "x".repeat(41);
        assert_eq!(
            parse_skills(&format!("ok, {long}")),
            Err(format!("\"{long}\" is longer than 40 characters: write skills short, separated by commas"))
        );
        let many = (0..21).map(|i| format!("s{i}")).collect::<Vec<_>>().join(",");
        assert_eq!(parse_skills(&many), Err("list 20 skills at most".to_string()));
        let stored = skills_to_stored(&parse_skills("a, b").unwrap());
        assert_eq!(skills_from_stored(stored.as_deref()), vec!["a", "b"]);
        assert_eq!(skills_to_stored(&[]), None);
    }
}
