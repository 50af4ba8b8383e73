//! Per-brand notification settings: for each kind, SMS and email on or off with their wording;
//! for the brand, the reminder time, quiet hours and the multi-technician limit. Brands that
//! never saved settings get the defaults (everything off, default wording).

use jiff::civil::Time;
use sqlx::FromRow;

use super::rules::QuietHours;
use super::{Kind, Template};
use crate::clock::{Clock, to_millis};
use crate::db::Db;
use crate::ids::{BrandId, OrgId};
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindSettings {
    pub kind: Kind,
    pub sms_enabled: bool,
    pub email_enabled: bool,
    pub sms_template: String,
    pub email_subject: String,
    pub email_template: String,
}

impl KindSettings {
    pub fn defaults(kind: Kind) -> KindSettings {
        KindSettings {
            kind,
            // Unpaid-invoice reminders go by text and email from the start: whether and when
            // they go is the brand's billing schedule (Settings, Billing).
            sms_enabled: kind.texts_by_default() || kind == Kind::InvoiceNudge,
            email_enabled: kind == Kind::InvoiceNudge,
            sms_template: kind.default_sms().to_string(),
            email_subject: kind.default_email_subject().to_string(),
            email_template: kind.default_sms().to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandPrefs {
    pub reminder_time: Time,
    pub quiet: Option<QuietHours>,
    /// "Limit dispatch notifications when multiple techs are dispatched".
    pub limit_multi_tech: bool,
    /// Arrival tracking: "on the way" messages carry a link to the tracking page.
    pub tracking_enabled: bool,
}

impl Default for BrandPrefs {
    fn default() -> Self {
        BrandPrefs {
            // Not before quiet hours end: a reminder held back would arrive at 8 anyway.
            reminder_time: jiff::civil::time(8, 0, 0, 0),
            quiet: Some(QuietHours { start: jiff::civil::time(21, 0, 0, 0), end: jiff::civil::time(8, 0, 0, 0) }),
            limit_multi_tech: true,
            tracking_enabled: true,
        }
    }
}

#[derive(FromRow)]
struct KindRow {
    kind: String,
    sms_enabled: i64,
    email_enabled: i64,
    sms_template: String,
    email_subject: String,
    email_template: String,
}

/// Each kind's settings for the brand, in [`Kind::ALL`] order.
pub async fn kinds(db: &Db, org: OrgId, brand: BrandId) -> Result<Vec<KindSettings>> {
    let rows: Vec<KindRow> = sqlx::query_as(
        "select kind, sms_enabled, email_enabled, sms_template, email_subject, email_template \
         from notification_settings where org_id = $1 and brand_id = $2",
    )
    .bind(org.0)
    .bind(brand.0)
    .fetch_all(db.pool())
    .await?;
    let saved = |kind: Kind| rows.iter().find(|r| r.kind == kind.as_str());
    Ok(Kind::ALL
        .into_iter()
        .map(|kind| match saved(kind) {
            Some(r) => KindSettings {
                kind,
                sms_enabled: r.sms_enabled != 0,
                email_enabled: r.email_enabled != 0,
                sms_template: r.sms_template.clone(),
                email_subject: r.email_subject.clone(),
                email_template: r.email_template.clone(),
            },
            None => {
                let mut d = KindSettings::defaults(kind);
                if kind.follows_confirmation()
                    && let Some(c) = saved(Kind::Confirmation)
                {
                    (d.sms_enabled, d.email_enabled) = (c.sms_enabled != 0, c.email_enabled != 0);
                }
                d
            }
        })
        .collect())
}

pub async fn prefs(db: &Db, org: OrgId, brand: BrandId) -> Result<BrandPrefs> {
    prefs_from(db.pool(), org, brand).await
}

pub async fn prefs_in(tx: &mut crate::db::Tx, org: OrgId, brand: BrandId) -> Result<BrandPrefs> {
    prefs_from(&mut **tx, org, brand).await
}

async fn prefs_from<'c>(
    ex: impl sqlx::Executor<'c, Database = sqlx::Any>,
    org: OrgId,
    brand: BrandId,
) -> Result<BrandPrefs> {
    // reminder time, quiet start and end, limit, tracking
    type PrefsRow = (String, Option<String>, Option<String>, i64, i64);
    let row: Option<PrefsRow> = sqlx::query_as(
        "select reminder_time, quiet_start, quiet_end, limit_multi_tech, tracking_enabled from notification_prefs \
         where org_id = $1 and brand_id = $2",
    )
    .bind(org.0)
    .bind(brand.0)
    .fetch_optional(ex)
    .await?;
    let Some((reminder, qs, qe, limit, tracking)) = row else { return Ok(BrandPrefs::default()) };
    let parse = |s: &str| s.parse::<Time>().map_err(|e| Error::Unexpected(format!("stored time {s:?}: {e}")));
    Ok(BrandPrefs {
        reminder_time: parse(&reminder)?,
        quiet: match (qs, qe) {
            (Some(s), Some(e)) => Some(QuietHours { start: parse(&s)?, end: parse(&e)? }),
            _ => None,
        },
        limit_multi_tech: limit != 0,
        tracking_enabled: tracking != 0,
    })
}

/// A kind's settings as typed into the form.
#[derive(Debug, Clone, Default)]
pub struct KindInput {
    pub sms_enabled: bool,
    pub email_enabled: bool,
    pub sms_template: String,
    pub email_subject: String,
    pub email_template: String,
}

/// Checks and saves one kind's settings. SMS cannot be on while the brand has no SMS number;
/// templates with unknown merge fields are refused, naming the field.
pub async fn save_kind(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    brand: BrandId,
    kind: Kind,
    input: &KindInput,
) -> Result<()> {
    let b = crate::tenancy::brand(db, org, brand).await?;
    let mut tx = db.begin().await?;
    save_kind_in(&mut tx, clock, &b, kind, input).await?;
    tx.commit().await?;
    Ok(())
}

/// [`save_kind`] inside `tx`, for a brand already read.
pub async fn save_kind_in(
    tx: &mut crate::db::Tx,
    clock: &dyn Clock,
    b: &crate::tenancy::Brand,
    kind: Kind,
    input: &KindInput,
) -> Result<()> {
    let (org, brand) = (b.org_id, b.id);
    let mut v = crate::error::Validator::new();
    if input.sms_enabled && b.sms_number.is_none() {
        v.add("sms_enabled", format!("{} has no SMS number yet; add one in Settings -> Brands first", b.name));
    }
    if input.email_enabled && kind.audience() == super::Audience::Technician {
        v.add("email_enabled", "technicians are told by text: they have no email address on file");
    }
    v.check("sms_template", Template::parse(&input.sms_template).map_err(|e| e.to_string()));
    v.check("email_template", Template::parse(&input.email_template).map_err(|e| e.to_string()));
    let subject = v.check("email_subject", Template::parse(&input.email_subject).map_err(|e| e.to_string()));
    if subject.is_some() && input.email_subject.chars().count() > 200 {
        v.add("email_subject", "a subject can be at most 200 characters");
    }
    v.finish()?;
    sqlx::query(
        "insert into notification_settings (org_id, brand_id, kind, sms_enabled, email_enabled, sms_template, \
         email_subject, email_template, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         on conflict (brand_id, kind) do update set sms_enabled = excluded.sms_enabled, \
         email_enabled = excluded.email_enabled, sms_template = excluded.sms_template, \
         email_subject = excluded.email_subject, email_template = excluded.email_template, \
         updated_at = excluded.updated_at",
    )
    .bind(org.0)
    .bind(brand.0)
    .bind(kind.as_str())
    .bind(input.sms_enabled as i64)
    .bind(input.email_enabled as i64)
    .bind(input.sms_template.trim())
    .bind(input.email_subject.trim())
    .bind(input.email_template.trim())
    .bind(to_millis(clock.now()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn save_prefs(db: &Db, clock: &dyn Clock, org: OrgId, brand: BrandId, p: &BrandPrefs) -> Result<()> {
    crate::tenancy::brand(db, org, brand).await?;
    let hm = |t: Time| t.strftime("%H:%M").to_string();
    sqlx::query(
        "insert into notification_prefs (brand_id, org_id, reminder_time, quiet_start, quiet_end, limit_multi_tech, \
         updated_at, tracking_enabled) values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (brand_id) do update set \
         reminder_time = excluded.reminder_time, quiet_start = excluded.quiet_start, \
         quiet_end = excluded.quiet_end, limit_multi_tech = excluded.limit_multi_tech, \
         updated_at = excluded.updated_at, tracking_enabled = excluded.tracking_enabled",
    )
    .bind(brand.0)
    .bind(org.0)
    .bind(hm(p.reminder_time))
    .bind(p.quiet.map(|q| hm(q.start)))
    .bind(p.quiet.map(|q| hm(q.end)))
    .bind(p.limit_multi_tech as i64)
    .bind(to_millis(clock.now()))
    .bind(p.tracking_enabled as i64)
    .execute(db.pool())
    .await?;
    Ok(())
}
