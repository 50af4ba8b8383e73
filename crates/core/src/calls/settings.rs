//! Settings -> Calls: a brand's routing and who rings for it, checked as a whole and saved in
//! one transaction (a refused form changes nothing).

use crate::clock::{Clock, to_millis};
use crate::db::Db;
use crate::error::Validator;
use crate::ids::{BrandId, OrgId};
use crate::parse::PhoneE164;
use crate::{Error, Result};

use super::model::{AfterHours, RingMode, Routing, RoutingInput, Strategy};
use super::store;

/// One sign-in's row of the form.
#[derive(Debug, Clone, Default)]
pub struct PersonInput {
    pub user: i64,
    /// Rings for this brand.
    pub rings: bool,
    pub mode: String,
    pub cell: String,
}

/// The whole form.
#[derive(Debug, Clone, Default)]
pub struct SettingsInput {
    pub routing: RoutingInput,
    /// In the order they ring.
    pub people: Vec<PersonInput>,
}

/// The most a greeting may say (about a minute read aloud).
const GREETING_CHARS: usize = 600;

/// Checks the form; field names are the form's (`ring_seconds`, `cell_12`).
pub async fn save(db: &Db, clock: &dyn Clock, org: OrgId, brand: BrandId, input: &SettingsInput) -> Result<Routing> {
    let brand_row = crate::tenancy::brand(db, org, brand).await?;
    let mut v = Validator::new();
    let r = &input.routing;
    let strategy = v.check("strategy", Strategy::parse(&r.strategy));
    let ring_seconds = v.check(
        "ring_seconds",
        r.ring_seconds
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|s| (5..=120).contains(s))
            .ok_or_else(|| "Ring each person for 5 to 120 seconds.".to_string()),
    );
    let after_hours = v.check("after_hours", AfterHours::parse(&r.after_hours));
    let greeting = r.greeting.trim().to_string();
    if greeting.chars().count() > GREETING_CHARS {
        v.add("greeting", format!("Keep the greeting under {GREETING_CHARS} characters (about a minute read aloud)."));
    }
    let schedule = match r.after_hours_schedule.trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(id) => match crate::oncall::store::get(db, org, id).await {
                Ok(found) if found.brand_id == brand => Some(id),
                Ok(_) | Err(Error::NotFound) => {
                    v.add("after_hours_schedule", "Choose one of this brand's on-call schedules.");
                    None
                }
                Err(e) => return Err(e),
            },
            Err(_) => {
                v.add("after_hours_schedule", "Choose one of this brand's on-call schedules.");
                None
            }
        },
    };
    if matches!(after_hours, Some(AfterHours::OnCall | AfterHours::Patch))
        && schedule.is_none()
        && r.after_hours_schedule.trim().is_empty()
    {
        v.add("after_hours_schedule", "Choose the on-call schedule whose person takes calls after hours.");
    }
    let people = store::people(db.pool(), org).await?;
    let mut rings = Vec::new();
    let mut ring_settings = Vec::new();
    for p in &input.people {
        if !people.iter().any(|x| x.user_id == p.user) {
            return Err(Error::NotFound);
        }
        let mode = match RingMode::parse(&p.mode) {
            Ok(m) => m,
            Err(e) => {
                v.add(format!("mode_{}", p.user), e);
                continue;
            }
        };
        let cell = match p.cell.trim() {
            "" => None,
            c => match PhoneE164::parse_in(c, brand_row.country) {
                Ok(n) => Some(n),
                Err(e) => {
                    v.add(format!("cell_{}", p.user), e);
                    continue;
                }
            },
        };
        if p.rings && mode == RingMode::Cell && cell.is_none() {
            v.add(format!("cell_{}", p.user), "Give a cell number, or ring this person in the browser.");
        }
        if p.rings {
            rings.push(p.user);
        }
        ring_settings.push((p.user, mode, cell));
    }
    v.finish()?;
    let (Some(strategy), Some(ring_seconds), Some(after_hours)) = (strategy, ring_seconds, after_hours) else {
        return Err(Error::Unexpected("checked fields went missing".into()));
    };
    let routing = Routing {
        brand_id: brand,
        strategy,
        ring_seconds,
        record: r.record,
        consent_notice: r.consent_notice,
        greeting,
        after_hours,
        after_hours_schedule: schedule,
    };
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    store::save_routing(&mut tx, org, &routing, now).await?;
    store::set_members(&mut tx, org, brand, &rings).await?;
    for (user, mode, cell) in &ring_settings {
        store::set_ring(&mut tx, org, *user, *mode, cell.as_ref().map(|c| c.as_str())).await?;
    }
    tx.commit().await?;
    Ok(routing)
}
