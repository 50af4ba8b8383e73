//! Schedules as stored: a client's schedules, their layers (replaced as a whole when edited) and
//! their overrides, read back into a [`Schedule`] for resolution. Every input is checked here,
//! with errors naming the field (`layers.2.members`, counted from 1).

use jiff::Timestamp;
use jiff::civil::{DateTime, Time, Weekday};
use serde_json::json;
use sqlx::FromRow;

use super::{Change, Layer, Member, Override, Rotation, Schedule, ShiftLength, Window};
use crate::clock::{Clock, from_millis, to_millis};
use crate::db::Db;
use crate::error::FieldError;
use crate::ids::{BrandId, OrgId, UserId};
use crate::{Error, Result};

/// People a rotation may hold at most.
pub const MEMBERS_MAX: usize = 30;
/// Layers a schedule may have at most.
pub const LAYERS_MAX: usize = 10;
/// The longest an override may last.
pub const OVERRIDE_DAYS_MAX: i64 = 366;

impl Member {
    /// `user:12` or `contact:7`.
    pub fn parse(s: &str) -> std::result::Result<Member, String> {
        let bad = || format!("\"{}\" is not someone who can be on call (user:ID or contact:ID)", s.trim());
        let (kind, id) = s.trim().split_once(':').ok_or_else(bad)?;
        let id: i64 = id.trim().parse().map_err(|_| bad())?;
        match kind.trim() {
            "user" => Ok(Member::User(id)),
            "contact" => Ok(Member::Contact(id)),
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Member::User(id) => write!(f, "user:{id}"),
            Member::Contact(id) => write!(f, "contact:{id}"),
        }
    }
}

impl ShiftLength {
    pub fn unit(self) -> &'static str {
        match self {
            ShiftLength::Hours(_) => "hours",
            ShiftLength::Days(_) => "days",
            ShiftLength::Weeks(_) => "weeks",
        }
    }
    pub fn count(self) -> u32 {
        match self {
            ShiftLength::Hours(n) | ShiftLength::Days(n) | ShiftLength::Weeks(n) => n,
        }
    }
    /// Reads a unit and a count within sensible bounds (up to a week of hours, 60 days, 12 weeks).
    pub fn read(unit: &str, count: i64) -> std::result::Result<ShiftLength, String> {
        let (max, make): (i64, fn(u32) -> ShiftLength) = match unit.trim() {
            "hours" => (168, ShiftLength::Hours),
            "days" => (60, ShiftLength::Days),
            "weeks" => (12, ShiftLength::Weeks),
            other => return Err(format!("\"{other}\" is not a shift length (hours, days, weeks)")),
        };
        if !(1..=max).contains(&count) {
            return Err(format!("a shift of {unit} is 1 to {max} {unit} long"));
        }
        Ok(make(u32::try_from(count).map_err(|e| e.to_string())?))
    }
}

const DAY_NAMES: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// `mon` .. `sun`.
pub fn day_name(d: Weekday) -> &'static str {
    DAY_NAMES.iter().find(|(_, w)| *w == d).map(|(n, _)| *n).unwrap_or("mon")
}

fn read_time(s: &str) -> std::result::Result<Time, String> {
    s.trim().parse::<Time>().map_err(|_| format!("\"{}\" is not a time of day like 17:00", s.trim()))
}

/// A layer as given (API or form).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LayerInput {
    pub name: String,
    /// `user:ID` / `contact:ID`, in turn order.
    pub members: Vec<String>,
    pub shift_unit: String,
    pub shift_count: i64,
    /// The first shift's local start, `2026-11-02T08:00`.
    pub start: String,
    pub windows: Vec<WindowInput>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowInput {
    /// `mon` .. `sun`.
    pub days: Vec<String>,
    /// `17:00`.
    pub start: String,
    pub end: String,
}

/// An override as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OverrideInput {
    pub start: String,
    pub end: String,
    /// `replace`, `add` or `remove`.
    pub action: String,
    /// Replace: who is replaced (absent: whoever is on call).
    pub from: Option<String>,
    /// Replace: who takes over; add and remove: who.
    pub who: Option<String>,
    pub note: Option<String>,
}

/// A stored override.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOverride {
    pub id: i64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub change: Change,
    pub note: Option<String>,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// A schedule as stored, with what resolution needs.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSchedule {
    pub id: i64,
    pub brand_id: BrandId,
    pub name: String,
    /// One more on every change.
    pub version: i64,
    /// Whether whoever comes on call (and goes off) is told at each hand-off.
    pub handoff_notices: bool,
    pub zone: jiff::tz::TimeZone,
    pub layers: Vec<Layer>,
    /// Those not removed, in the order they were made.
    pub overrides: Vec<StoredOverride>,
    /// Accepted swaps.
    pub swaps: Vec<super::Swap>,
    pub updated_at: Timestamp,
}

impl StoredSchedule {
    /// Everyone the schedule names (layers, overrides, swaps), each once, in that order.
    pub fn members(&self) -> Vec<Member> {
        let mut out: Vec<Member> = Vec::new();
        let mut add = |m: Member| {
            if !out.contains(&m) {
                out.push(m);
            }
        };
        for l in &self.layers {
            l.rotation.members.iter().copied().for_each(&mut add);
        }
        for o in &self.overrides {
            match o.change {
                Change::Replace { from, to } => {
                    from.into_iter().for_each(&mut add);
                    add(to);
                }
                Change::Add { who } | Change::Remove { who } => add(who),
            }
        }
        for w in &self.swaps {
            add(w.from);
            add(w.to);
        }
        out
    }

    /// The schedule to resolve.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            zone: self.zone.clone(),
            layers: self.layers.clone(),
            swaps: self.swaps.clone(),
            overrides: self
                .overrides
                .iter()
                .map(|o| Override { id: o.id, start: o.start, end: o.end, change: o.change.clone() })
                .collect(),
        }
    }
}

/// Who each member is, for people: a sign-in's name, or a contact's.
pub async fn names(db: &Db, org: OrgId, members: &[Member]) -> Result<Vec<(Member, String)>> {
    let mut out = Vec::with_capacity(members.len());
    for m in members {
        if out.iter().any(|(seen, _)| seen == m) {
            continue;
        }
        let name: Option<(String,)> = match m {
            Member::User(id) => {
                sqlx::query_as("select name from users where org_id = $1 and id = $2")
                    .bind(org.0)
                    .bind(id)
                    .fetch_optional(db.pool())
                    .await?
            }
            Member::Contact(id) => {
                sqlx::query_as("select name from desk_contacts where org_id = $1 and id = $2")
                    .bind(org.0)
                    .bind(id)
                    .fetch_optional(db.pool())
                    .await?
            }
        };
        out.push((*m, name.map(|(n,)| n).unwrap_or_else(|| "Someone removed".to_string())));
    }
    Ok(out)
}

/// Checks that `m` is a sign-in of the organization or a contact of the client.
async fn check_member(db: &Db, org: OrgId, brand: BrandId, m: Member) -> std::result::Result<(), String> {
    let found = match m {
        Member::User(id) => crate::tenancy::user(db, org, UserId(id)).await.is_ok(),
        Member::Contact(id) => crate::desk::contacts::get(db, org, brand, id).await.is_ok(),
    };
    if found {
        Ok(())
    } else {
        Err(match m {
            Member::User(id) => format!("user {id} is not a sign-in of this organization"),
            Member::Contact(id) => format!("contact {id} is not one of this client's contacts"),
        })
    }
}

/// Reads `user:ID` / `contact:ID` and checks it is someone of the organization (a sign-in) or
/// of the client (a contact); the error is for the person who typed it.
pub async fn read_member(db: &Db, org: OrgId, brand: BrandId, s: &str) -> std::result::Result<Member, String> {
    let m = Member::parse(s)?;
    check_member(db, org, brand, m).await?;
    Ok(m)
}

/// Checks the layers as given; errors name each field.
async fn read_layers(db: &Db, org: OrgId, brand: BrandId, input: &[LayerInput]) -> Result<Vec<Layer>> {
    let mut errors = Vec::new();
    let mut layers = Vec::new();
    if input.len() > LAYERS_MAX {
        return Err(Error::invalid("layers", format!("a schedule has at most {LAYERS_MAX} layers")));
    }
    for (i, l) in input.iter().enumerate() {
        let at = |f: &str| format!("layers.{}.{f}", i + 1);
        let name =
            crate::parse::required_text(&l.name, 60).map_err(|m| errors.push(FieldError::new(at("name"), m))).ok();
        let mut members = Vec::new();
        if l.members.is_empty() || l.members.len() > MEMBERS_MAX {
            errors.push(FieldError::new(at("members"), format!("name 1 to {MEMBERS_MAX} people, in turn order")));
        }
        for s in &l.members {
            match read_member(db, org, brand, s).await {
                Ok(m) => members.push(m),
                Err(e) => errors.push(FieldError::new(at("members"), e)),
            }
        }
        let length = ShiftLength::read(&l.shift_unit, l.shift_count)
            .map_err(|m| errors.push(FieldError::new(at("shift"), m)))
            .ok();
        let start = l
            .start
            .trim()
            .parse::<DateTime>()
            .map_err(|_| {
                errors.push(FieldError::new(
                    at("start"),
                    format!("\"{}\" is not a local date and time like 2026-11-02T08:00", l.start.trim()),
                ))
            })
            .ok();
        let mut windows = Vec::new();
        for (j, w) in l.windows.iter().enumerate() {
            let wat = |f: &str| format!("layers.{}.windows.{}.{f}", i + 1, j + 1);
            let mut days = Vec::new();
            for d in &w.days {
                match DAY_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(d.trim())) {
                    Some((_, day)) if !days.contains(day) => days.push(*day),
                    Some(_) => {}
                    None => {
                        errors.push(FieldError::new(wat("days"), format!("\"{}\" is not a day (mon .. sun)", d.trim())))
                    }
                }
            }
            if w.days.is_empty() {
                errors.push(FieldError::new(wat("days"), "pick at least one day"));
            }
            match (read_time(&w.start), read_time(&w.end)) {
                (Ok(start), Ok(end)) => windows.push(Window { days, start, end }),
                (s, e) => {
                    if let Err(m) = s {
                        errors.push(FieldError::new(wat("start"), m));
                    }
                    if let Err(m) = e {
                        errors.push(FieldError::new(wat("end"), m));
                    }
                }
            }
        }
        if let (Some(name), Some(length), Some(start)) = (name, length, start) {
            layers.push(Layer { name, rotation: Rotation { members, length, start }, windows });
        }
    }
    if errors.is_empty() { Ok(layers) } else { Err(Error::Invalid(errors)) }
}

#[derive(FromRow)]
struct ScheduleRow {
    id: i64,
    brand_id: i64,
    name: String,
    version: i64,
    handoff_notices: i64,
    updated_at: i64,
}

#[derive(FromRow)]
struct LayerRow {
    name: String,
    members: String,
    shift_unit: String,
    shift_count: i64,
    start_local: String,
    windows: String,
}

#[derive(FromRow)]
struct OverrideRow {
    id: i64,
    start_at: i64,
    end_at: i64,
    action: String,
    from_member: Option<String>,
    to_member: Option<String>,
    note: Option<String>,
    created_by: String,
    created_at: i64,
}

fn layer_of(r: LayerRow) -> Result<Layer> {
    let bad = |what: &str| Error::Unexpected(format!("on-call layer {}: bad {what}", r.name));
    let members: Vec<String> = serde_json::from_str(&r.members).map_err(|_| bad("members"))?;
    let members = members
        .iter()
        .map(|m| Member::parse(m))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| bad("members"))?;
    let windows: Vec<serde_json::Value> = serde_json::from_str(&r.windows).map_err(|_| bad("windows"))?;
    let windows = windows
        .iter()
        .map(|w| {
            let days = w["days"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|d| DAY_NAMES.iter().find(|(n, _)| Some(*n) == d.as_str()).map(|(_, w)| *w))
                        .collect()
                })
                .unwrap_or_default();
            let time = |k: &str| w[k].as_str().and_then(|s| read_time(s).ok());
            match (time("start"), time("end")) {
                (Some(start), Some(end)) => Ok(Window { days, start, end }),
                _ => Err(bad("window")),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Layer {
        rotation: Rotation {
            members,
            length: ShiftLength::read(&r.shift_unit, r.shift_count).map_err(|_| bad("shift"))?,
            start: r.start_local.parse().map_err(|_| bad("start"))?,
        },
        windows,
        name: r.name,
    })
}

fn override_of(r: OverrideRow) -> Result<StoredOverride> {
    let member = |s: &Option<String>| s.as_deref().map(Member::parse).transpose();
    let bad = |_| Error::Unexpected(format!("on-call override {}: bad member", r.id));
    let from = member(&r.from_member).map_err(bad)?;
    let to = member(&r.to_member).map_err(bad)?;
    let change = match (r.action.as_str(), to) {
        ("replace", Some(to)) => Change::Replace { from, to },
        ("add", Some(who)) => Change::Add { who },
        ("remove", Some(who)) => Change::Remove { who },
        _ => return Err(Error::Unexpected(format!("on-call override {}: {} without anyone", r.id, r.action))),
    };
    Ok(StoredOverride {
        id: r.id,
        start: from_millis(r.start_at),
        end: from_millis(r.end_at),
        change,
        note: r.note,
        created_by: r.created_by,
        created_at: from_millis(r.created_at),
    })
}

/// A client's schedules (all clients' without `brand`), by name.
pub async fn list(db: &Db, org: OrgId, brand: Option<BrandId>) -> Result<Vec<StoredSchedule>> {
    let ids: Vec<(i64,)> = sqlx::query_as(
        "select id from oncall_schedules where org_id = $1 and ($2 is null or brand_id = $2) order by name, id",
    )
    .bind(org.0)
    .bind(brand.map(|b| b.0))
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for (id,) in ids {
        out.push(get(db, org, id).await?);
    }
    Ok(out)
}

/// One schedule with its layers and (not removed) overrides.
pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<StoredSchedule> {
    let row: Option<ScheduleRow> = sqlx::query_as(
        "select id, brand_id, name, version, handoff_notices, updated_at from oncall_schedules where org_id = $1 and id = $2",
    )
    .bind(org.0)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Err(Error::NotFound) };
    let brand = crate::tenancy::brand(db, org, BrandId(row.brand_id)).await?;
    let layers: Vec<LayerRow> = sqlx::query_as(
        "select name, members, shift_unit, shift_count, start_local, windows from oncall_layers \
         where org_id = $1 and schedule_id = $2 order by position",
    )
    .bind(org.0)
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let overrides: Vec<OverrideRow> = sqlx::query_as(
        "select id, start_at, end_at, action, from_member, to_member, note, created_by, created_at from oncall_overrides \
         where org_id = $1 and schedule_id = $2 and removed_at is null order by id",
    )
    .bind(org.0)
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(StoredSchedule {
        id: row.id,
        brand_id: brand.id,
        name: row.name,
        version: row.version,
        handoff_notices: row.handoff_notices != 0,
        zone: brand.zone(),
        layers: layers.into_iter().map(layer_of).collect::<Result<_>>()?,
        overrides: overrides.into_iter().map(override_of).collect::<Result<_>>()?,
        swaps: super::swaps::accepted(db, org, row.id).await?,
        updated_at: from_millis(row.updated_at),
    })
}

/// A new schedule for the client, with its layers.
pub async fn create(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    brand: BrandId,
    name: &str,
    layers: &[LayerInput],
    handoff_notices: bool,
) -> Result<StoredSchedule> {
    crate::tenancy::brand(db, org, brand).await.map_err(|e| match e {
        Error::NotFound => Error::invalid("client_id", "no such client"),
        other => other,
    })?;
    let name = crate::parse::required_text(name, 80).map_err(|m| Error::invalid("name", m))?;
    let layers = read_layers(db, org, brand, layers).await?;
    let mut tx = db.begin().await?;
    let id = create_in(&mut tx, clock, org, brand, &name, &layers).await?;
    if handoff_notices {
        sqlx::query("update oncall_schedules set handoff_notices = 1 where org_id = $1 and id = $2")
            .bind(org.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    db.work_added();
    get(db, org, id).await
}

/// Stores a schedule whose layers are already checked (the demo's; [`create`] checks first).
pub async fn create_in(
    tx: &mut crate::db::Tx,
    clock: &dyn Clock,
    org: OrgId,
    brand: BrandId,
    name: &str,
    layers: &[Layer],
) -> Result<i64> {
    let now = to_millis(clock.now());
    let (id,): (i64,) = sqlx::query_as(
        "insert into oncall_schedules (org_id, brand_id, name, created_at, updated_at) values ($1, $2, $3, $4, $4) returning id",
    )
    .bind(org.0)
    .bind(brand.0)
    .bind(name)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| Error::from(e).on_unique(format!("this client already has a schedule named \"{name}\"")))?;
    insert_layers(tx, org, id, layers).await?;
    super::handoff::plan_in(tx, org, id, 1, clock.now()).await?;
    Ok(id)
}

async fn insert_layers(tx: &mut crate::db::Tx, org: OrgId, schedule: i64, layers: &[Layer]) -> Result<()> {
    for (i, l) in layers.iter().enumerate() {
        let members: Vec<String> = l.rotation.members.iter().map(Member::to_string).collect();
        let windows: Vec<serde_json::Value> = l
            .windows
            .iter()
            .map(|w| {
                json!({
                    "days": w.days.iter().map(|d| day_name(*d)).collect::<Vec<_>>(),
                    "start": w.start.strftime("%H:%M").to_string(),
                    "end": w.end.strftime("%H:%M").to_string(),
                })
            })
            .collect();
        sqlx::query(
            "insert into oncall_layers (org_id, schedule_id, position, name, members, shift_unit, shift_count, \
             start_local, windows) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(org.0)
        .bind(schedule)
        .bind(i as i64)
        .bind(&l.name)
        .bind(serde_json::to_string(&members).map_err(|e| Error::Unexpected(e.to_string()))?)
        .bind(l.rotation.length.unit())
        .bind(i64::from(l.rotation.length.count()))
        .bind(l.rotation.start.strftime("%Y-%m-%dT%H:%M").to_string())
        .bind(serde_json::Value::Array(windows).to_string())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Records a change of the schedule (one more version) and queues the plan of its next
/// hand-off as it now stands.
/// Holds the schedule for the rest of the transaction (a row lock on PostgreSQL; SQLite's
/// writers take turns anyway), so that changes checked against it are made one at a time.
pub(super) async fn lock_in(tx: &mut crate::db::Tx, org: OrgId, id: i64) -> Result<()> {
    let done = sqlx::query("update oncall_schedules set version = version where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if done == 0 { Err(Error::NotFound) } else { Ok(()) }
}

pub(super) async fn touch(tx: &mut crate::db::Tx, org: OrgId, id: i64, now: i64) -> Result<()> {
    let (version,): (i64,) = sqlx::query_as(
        "update oncall_schedules set version = version + 1, updated_at = $3 where org_id = $1 and id = $2 returning version",
    )
    .bind(org.0)
    .bind(id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    super::handoff::plan_in(tx, org, id, version, from_millis(now)).await
}

/// Renames the schedule or turns its hand-off notices on or off.
pub async fn update(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    id: i64,
    name: Option<&str>,
    handoff_notices: Option<bool>,
) -> Result<StoredSchedule> {
    let current = get(db, org, id).await?;
    let name = match name {
        Some(n) => crate::parse::required_text(n, 80).map_err(|m| Error::invalid("name", m))?,
        None => current.name.clone(),
    };
    let notices = handoff_notices.unwrap_or(current.handoff_notices);
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    sqlx::query("update oncall_schedules set name = $3, handoff_notices = $4 where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id)
        .bind(&name)
        .bind(i64::from(notices))
        .execute(&mut *tx)
        .await
        .map_err(|e| Error::from(e).on_unique(format!("this client already has a schedule named \"{name}\"")))?;
    touch(&mut tx, org, id, now).await?;
    tx.commit().await?;
    db.work_added();
    get(db, org, id).await
}

/// Replaces the schedule's layers as a whole (takes effect at once: nothing is resolved ahead).
pub async fn set_layers(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    id: i64,
    input: &[LayerInput],
) -> Result<StoredSchedule> {
    let current = get(db, org, id).await?;
    let layers = read_layers(db, org, current.brand_id, input).await?;
    let mut tx = db.begin().await?;
    sqlx::query("delete from oncall_layers where org_id = $1 and schedule_id = $2")
        .bind(org.0)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    insert_layers(&mut tx, org, id, &layers).await?;
    touch(&mut tx, org, id, to_millis(clock.now())).await?;
    tx.commit().await?;
    db.work_added();
    get(db, org, id).await
}

/// Adds an override, by `actor`.
pub async fn add_override(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    id: i64,
    input: &OverrideInput,
    actor: &str,
) -> Result<StoredOverride> {
    let schedule = get(db, org, id).await?;
    let mut errors = Vec::new();
    let when = |s: &str, field: &'static str, errors: &mut Vec<FieldError>| {
        s.trim()
            .parse::<Timestamp>()
            .map_err(|_| {
                errors.push(FieldError::new(field, format!("\"{}\" is not a time like 2026-11-03T22:00:00Z", s.trim())))
            })
            .ok()
    };
    let start = when(&input.start, "start", &mut errors);
    let end = when(&input.end, "end", &mut errors);
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            errors.push(FieldError::new("end", "the end must come after the start"));
        } else if e.duration_since(s).as_hours() > OVERRIDE_DAYS_MAX * 24 {
            errors.push(FieldError::new("end", format!("an override lasts at most {OVERRIDE_DAYS_MAX} days")));
        }
    }
    let mut member = async |s: Option<&str>, field: &'static str| -> Option<Member> {
        match s.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => match read_member(db, org, schedule.brand_id, s).await {
                Ok(m) => Some(m),
                Err(e) => {
                    errors.push(FieldError::new(field, e));
                    None
                }
            },
        }
    };
    let from = member(input.from.as_deref(), "from").await;
    let who = member(input.who.as_deref(), "who").await;
    let change = match (input.action.trim(), who) {
        ("replace", Some(to)) => Some(Change::Replace { from, to }),
        ("add", Some(who)) => Some(Change::Add { who }),
        ("remove", Some(who)) => Some(Change::Remove { who }),
        ("replace" | "add" | "remove", None) => {
            if input.who.as_deref().is_none_or(|w| w.trim().is_empty()) {
                errors.push(FieldError::new("who", "say who (user:ID or contact:ID)"));
            }
            None
        }
        (other, _) => {
            errors.push(FieldError::new("action", format!("\"{other}\" is not an override (replace, add, remove)")));
            None
        }
    };
    let note = crate::parse::optional_text(input.note.as_deref(), 200)
        .map_err(|m| errors.push(FieldError::new("note", m)))
        .ok()
        .flatten();
    let (Some(start), Some(end), Some(change)) = (start, end, change) else { return Err(Error::Invalid(errors)) };
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    let oid = insert_override_in(&mut tx, org, id, (start, end), &change, note.as_deref(), actor, now).await?;
    touch(&mut tx, org, id, now).await?;
    tx.commit().await?;
    db.work_added();
    Ok(StoredOverride {
        id: oid,
        start,
        end,
        change,
        note,
        created_by: actor.to_string(),
        created_at: from_millis(now),
    })
}

/// Stores a checked override; returns its id.
#[allow(clippy::too_many_arguments)]
pub async fn insert_override_in(
    tx: &mut crate::db::Tx,
    org: OrgId,
    schedule: i64,
    (start, end): (Timestamp, Timestamp),
    change: &Change,
    note: Option<&str>,
    actor: &str,
    now: i64,
) -> Result<i64> {
    let (action, from_member, to_member) = match change {
        Change::Replace { from, to } => ("replace", from.map(|m| m.to_string()), Some(to.to_string())),
        Change::Add { who } => ("add", None, Some(who.to_string())),
        Change::Remove { who } => ("remove", None, Some(who.to_string())),
    };
    let (oid,): (i64,) = sqlx::query_as(
        "insert into oncall_overrides (org_id, schedule_id, start_at, end_at, action, from_member, to_member, note, \
         created_by, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id",
    )
    .bind(org.0)
    .bind(schedule)
    .bind(to_millis(start))
    .bind(to_millis(end))
    .bind(action)
    .bind(from_member)
    .bind(to_member)
    .bind(note)
    .bind(actor)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(oid)
}

/// Takes an override back (its row stays, marked removed).
pub async fn remove_override(db: &Db, clock: &dyn Clock, org: OrgId, id: i64, override_id: i64) -> Result<()> {
    get(db, org, id).await?;
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "update oncall_overrides set removed_at = $4 where org_id = $1 and schedule_id = $2 and id = $3 and removed_at is null",
    )
    .bind(org.0)
    .bind(id)
    .bind(override_id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(Error::NotFound);
    }
    touch(&mut tx, org, id, now).await?;
    tx.commit().await?;
    db.work_added();
    Ok(())
}

/// A stamp that changes whenever any of the organization's schedules does: how many there are
/// and the sum of their versions (each change adds one), for caches of what is derived from them.
pub async fn stamp(db: &Db, org: OrgId) -> Result<(i64, i64)> {
    let (n, latest): (i64, Option<i64>) =
        sqlx::query_as("select count(*), cast(sum(version) as bigint) from oncall_schedules where org_id = $1")
            .bind(org.0)
            .fetch_one(db.pool())
            .await?;
    Ok((n, latest.unwrap_or(0)))
}

/// How many of the organization's schedules leave someone to call missing within `days` of `now`.
pub async fn with_gaps(db: &Db, org: OrgId, now: Timestamp, days: i64) -> Result<usize> {
    let until =
        now.checked_add(jiff::SignedDuration::from_hours(24 * days)).map_err(|e| Error::Unexpected(e.to_string()))?;
    let mut n = 0;
    for s in list(db, org, None).await? {
        if !super::timeline::coverage(&s.schedule(), now, until).gaps.is_empty() {
            n += 1;
        }
    }
    Ok(n)
}
