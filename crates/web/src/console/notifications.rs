//! Settings -> Notifications: per brand, which customer messages go out by text and by email,
//! their wording with a live preview (rendered with sample data or one of the brand's jobs,
//! SMS segments counted), the reminder time, quiet hours, the multi-technician limit and
//! arrival tracking.

use std::collections::HashMap;

use askama::Template as _;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_core::auth::SessionUser;
use switchboard_core::ids::{BrandId, JobId};
use switchboard_core::jobs::{self, JobFilter, JobSummary};
use switchboard_core::messaging::segments::measure;
use switchboard_core::notifications::send;
use switchboard_core::notifications::settings::{self, BrandPrefs, KindInput, KindSettings};
use switchboard_core::notifications::{Audience, Kind, MERGE_FIELDS, QuietHours, Template, sample_values};
use switchboard_core::tenancy::{self, Brand};
use switchboard_core::{Error, FieldError};

use crate::auth::Admin;
use crate::console::shell;
use crate::error::PageError;
use crate::pages::parse_id;
use crate::state::AppState;
use crate::views::Shell;

pub struct KindCard {
    pub key: &'static str,
    pub label: &'static str,
    pub when: &'static str,
    pub settings: KindSettings,
    /// Sent to technicians (by text only) rather than to the customer.
    pub for_techs: bool,
    /// The rendered preview fragment (escaped by its own template).
    pub preview_html: String,
    pub errors: Vec<(String, String)>,
}

impl KindCard {
    pub fn error(&self, field: &str) -> Option<&str> {
        crate::views::error_for(&self.errors, field)
    }
}

#[derive(askama::Template, WebTemplate)]
#[template(path = "settings/notifications.html")]
pub struct NotificationsPage {
    pub shell: Shell,
    pub brand_tabs: Vec<(i64, String, bool)>,
    pub brand_id: i64,
    pub brand_name: String,
    pub sms_number: String,
    pub cards: Vec<KindCard>,
    pub reminder_time: String,
    pub quiet_start: String,
    pub quiet_end: String,
    pub limit_multi_tech: bool,
    pub tracking_enabled: bool,
    pub fields: Vec<(&'static str, &'static str)>,
    pub notice: Option<String>,
    /// The kind whose form was refused (its key and label), for the banner at the top.
    pub refused: Option<(&'static str, &'static str)>,
    pub prefs_error: Option<String>,
    /// The brand's open jobs to preview with (id, label), and the one picked (0: sample data).
    pub preview_jobs: Vec<(i64, String)>,
    pub preview_job: i64,
}

#[derive(askama::Template)]
#[template(path = "settings/_preview.html")]
pub struct Preview {
    pub text: String,
    pub error: String,
    pub chars: usize,
    pub segments: usize,
    pub unicode: bool,
}

/// Merge values for previews: a real job of the brand when one is picked, else sample data.
/// A real job's tracking link is only made when a message is sent, so the preview shows
/// where it would point; invoices come with billing, so those two stay samples.
async fn preview_values(
    state: &AppState,
    brand: &Brand,
    job: Option<i64>,
) -> Result<(HashMap<&'static str, String>, Option<JobSummary>), PageError> {
    let mut values = sample_values(brand);
    let Some(id) = job else { return Ok((values, None)) };
    let job = match jobs::get(&state.db, brand.org_id, JobId(id)).await {
        Ok(j) if j.brand_id == brand.id => j,
        Ok(_) | Err(Error::NotFound) => return Ok((values, None)),
        Err(e) => return Err(e.into()),
    };
    let customer = switchboard_core::customers::get(&state.db, brand.org_id, job.customer_id).await?;
    values.remove("techName");
    values.insert("techETA", "soon".into());
    values.insert("trackingUrl", format!("{}/t/…", state.config.public_url));
    values.extend(send::values(&job, None, brand, &customer, state.clock.now()));
    Ok((values, Some(job)))
}

fn preview(values: &HashMap<&'static str, String>, source: &str) -> Preview {
    match Template::parse(source) {
        Ok(t) => {
            let text = t.render(values);
            let m = measure(&text);
            Preview { chars: text.chars().count(), segments: m.segments, unicode: !m.gsm7, text, error: String::new() }
        }
        Err(e) => Preview { text: String::new(), error: e.to_string(), chars: 0, segments: 0, unicode: false },
    }
}

fn when(kind: Kind) -> &'static str {
    match kind {
        Kind::Confirmation => "When a job is scheduled.",
        Kind::Rescheduled => "When the window of a booked job moves (instead of a second confirmation).",
        Kind::Reminder => "On the day of the job, at the reminder time below.",
        Kind::OnTheWay => "When a technician is dispatched.",
        Kind::Canceled => "When a booked job is canceled.",
        Kind::Invoice => "When the office sends an invoice (the Send form picks text, email or both).",
        Kind::InvoiceNudge => "When a sent invoice is still unpaid, on the brand's nudge days (Settings, Billing).",
        Kind::TechRescheduled => "To each technician who was texted the job, when its window moves.",
        Kind::TechRemoved => "To a technician who was texted the job, when they are taken off it.",
        Kind::TechCanceled => "To each technician who was texted the job, when it is canceled.",
    }
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    brand: String,
    #[serde(default)]
    done: String,
    /// Preview with this job's data.
    #[serde(default)]
    job: String,
}

async fn brand_of(state: &AppState, viewer: &SessionUser, raw: &str) -> Result<(Vec<Brand>, Brand), PageError> {
    let brands = tenancy::list_brands(&state.db, viewer.user.org_id).await?;
    let picked = raw.parse::<i64>().ok();
    let brand = brands
        .iter()
        .find(|b| Some(b.id.0) == picked)
        .or_else(|| brands.iter().find(|b| Some(b.id) == viewer.brand_id))
        .or(brands.first())
        .cloned()
        .ok_or_else(|| {
            PageError::new(StatusCode::NOT_FOUND, "No brands yet", "Create a brand in Settings -> Brands first.")
        })?;
    if !raw.is_empty() && picked != Some(brand.id.0) {
        return Err(PageError::not_found());
    }
    Ok((brands, brand))
}

/// A kind's form that was refused: what was typed and why.
type Refused = (Kind, KindSettings, Vec<(String, String)>);

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    brand_raw: &str,
    notice: Option<String>,
    failed: Option<Refused>,
    prefs_error: Option<String>,
    job: Option<i64>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (brands, brand) = brand_of(state, viewer, brand_raw).await?;
    let (shell, _) = shell(state, viewer, "settings", uri).await?;
    let org = viewer.user.org_id;
    let saved = settings::kinds(&state.db, org, brand.id).await?;
    let prefs = settings::prefs(&state.db, org, brand.id).await?;
    let (values, preview_job) = preview_values(state, &brand, job).await?;
    // Open jobs from the last two days on (indexed by window; not the brand's whole history).
    let from = state.clock.now() - jiff::SignedDuration::from_hours(48);
    let filter = JobFilter { brand: Some(brand.id), from: Some(from), ..Default::default() };
    let mut recent = jobs::list(&state.db, org, &filter).await?;
    recent.retain(|j| j.status.is_open());
    recent.sort_by_key(|j| j.scheduled_start);
    let preview_jobs =
        recent.iter().take(25).map(|j| (j.id.0, format!("{} · {} · {}", j.code, j.customer_name, j.service))).collect();
    let cards = saved
        .into_iter()
        .map(|s| -> Result<KindCard, PageError> {
            let (settings, errors) = match &failed {
                Some((k, typed, errors)) if *k == s.kind => (typed.clone(), errors.clone()),
                _ => (s, Vec::new()),
            };
            Ok(KindCard {
                key: settings.kind.as_str(),
                label: settings.kind.label(),
                when: when(settings.kind),
                for_techs: settings.kind.audience() == Audience::Technician,
                preview_html: preview(&values, &settings.sms_template)
                    .render()
                    .map_err(|e| Error::Unexpected(e.to_string()))?,
                settings,
                errors,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let hm = |t: jiff::civil::Time| t.strftime("%H:%M").to_string();
    let page = NotificationsPage {
        shell,
        brand_tabs: brands.iter().map(|b| (b.id.0, b.name.clone(), b.id == brand.id)).collect(),
        brand_id: brand.id.0,
        brand_name: brand.name.clone(),
        sms_number: brand.sms_number.as_deref().map(switchboard_core::parse::display_phone).unwrap_or_default(),
        cards,
        reminder_time: hm(prefs.reminder_time),
        quiet_start: prefs.quiet.map(|q| hm(q.start)).unwrap_or_default(),
        quiet_end: prefs.quiet.map(|q| hm(q.end)).unwrap_or_default(),
        limit_multi_tech: prefs.limit_multi_tech,
        tracking_enabled: prefs.tracking_enabled,
        fields: MERGE_FIELDS.to_vec(),
        notice,
        refused: failed.as_ref().map(|(k, _, _)| (k.as_str(), k.label())),
        prefs_error,
        preview_jobs,
        preview_job: preview_job.map(|j| j.id.0).unwrap_or_default(),
    };
    Ok((status, page).into_response())
}

pub async fn index(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let notice = match q.done.as_str() {
        "saved" => Some("Saved.".to_string()),
        "prefs" => Some("Reminder time, quiet hours and limits saved.".to_string()),
        _ => None,
    };
    let job = q.job.parse().ok();
    render(&state, &viewer, &uri, &q.brand, notice, None, None, job, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct KindForm {
    #[serde(default)]
    sms_enabled: Option<String>,
    #[serde(default)]
    email_enabled: Option<String>,
    #[serde(default)]
    sms_template: String,
    #[serde(default)]
    email_subject: String,
    #[serde(default)]
    email_template: String,
}

pub async fn save_kind(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Path((brand, kind)): Path<(String, String)>,
    Form(form): Form<KindForm>,
) -> Result<Response, PageError> {
    let brand_id = BrandId(parse_id(&brand)?);
    let kind = Kind::parse(&kind).ok_or_else(PageError::not_found)?;
    let input = KindInput {
        sms_enabled: form.sms_enabled.is_some(),
        email_enabled: form.email_enabled.is_some(),
        sms_template: form.sms_template.clone(),
        email_subject: form.email_subject.clone(),
        email_template: form.email_template.clone(),
    };
    match settings::save_kind(&state.db, state.clock.as_ref(), viewer.user.org_id, brand_id, kind, &input).await {
        Ok(()) => {
            Ok(Redirect::to(&format!("/settings/notifications?brand={}&done=saved#{}", brand_id.0, kind.as_str()))
                .into_response())
        }
        Err(Error::Invalid(fields)) => {
            let typed = KindSettings {
                kind,
                sms_enabled: input.sms_enabled,
                email_enabled: input.email_enabled,
                sms_template: input.sms_template,
                email_subject: input.email_subject,
                email_template: input.email_template,
            };
            let errors = crate::pages::pairs(fields);
            let raw = brand_id.0.to_string();
            render(
                &state,
                &viewer,
                &uri,
                &raw,
                None,
                Some((kind, typed, errors)),
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct PrefsForm {
    #[serde(default)]
    reminder_time: String,
    #[serde(default)]
    quiet_start: String,
    #[serde(default)]
    quiet_end: String,
    #[serde(default)]
    limit_multi_tech: Option<String>,
    #[serde(default)]
    tracking_enabled: Option<String>,
}

fn time_field(field: &'static str, v: &str) -> Result<Option<jiff::civil::Time>, FieldError> {
    match v.trim() {
        "" => Ok(None),
        s => s
            .parse::<jiff::civil::Time>()
            .map(Some)
            .map_err(|_| FieldError::new(field, format!("\"{s}\" is not a time like 07:00"))),
    }
}

pub async fn save_prefs(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Path(brand): Path<String>,
    Form(form): Form<PrefsForm>,
) -> Result<Response, PageError> {
    let brand_id = BrandId(parse_id(&brand)?);
    let parsed = (|| -> Result<BrandPrefs, String> {
        let reminder =
            time_field("reminder_time", &form.reminder_time).map_err(|e| e.message)?.ok_or("give a reminder time")?;
        let quiet = match (
            time_field("quiet_start", &form.quiet_start).map_err(|e| e.message)?,
            time_field("quiet_end", &form.quiet_end).map_err(|e| e.message)?,
        ) {
            (Some(start), Some(end)) if start != end => Some(QuietHours { start, end }),
            (Some(_), Some(_)) => return Err("quiet hours must start and end at different times".into()),
            (None, None) => None,
            _ => return Err("give both ends of the quiet hours, or neither".into()),
        };
        Ok(BrandPrefs {
            reminder_time: reminder,
            quiet,
            limit_multi_tech: form.limit_multi_tech.is_some(),
            tracking_enabled: form.tracking_enabled.is_some(),
        })
    })();
    let raw = brand_id.0.to_string();
    match parsed {
        Ok(p) => {
            settings::save_prefs(&state.db, state.clock.as_ref(), viewer.user.org_id, brand_id, &p).await?;
            Ok(Redirect::to(&format!("/settings/notifications?brand={}&done=prefs", brand_id.0)).into_response())
        }
        Err(m) => {
            render(&state, &viewer, &uri, &raw, None, None, Some(m), None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

#[derive(Deserialize)]
pub struct PreviewForm {
    #[serde(default)]
    brand: String,
    #[serde(default)]
    sms_template: String,
    /// The job picked for previews, if any.
    #[serde(default)]
    preview_job: String,
}

/// The preview beside the editor, re-rendered as the template is typed (htmx).
pub async fn preview_fragment(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    Form(form): Form<PreviewForm>,
) -> Result<Response, PageError> {
    let (_, brand) = brand_of(&state, &viewer, &form.brand).await?;
    let (values, _) = preview_values(&state, &brand, form.preview_job.parse().ok()).await?;
    let html = preview(&values, &form.sms_template).render().map_err(|e| Error::Unexpected(e.to_string()))?;
    Ok(Html(html).into_response())
}
