//! The technician portal: a phone-sized page reached from a texted link, no app and no
//! password. The token in the path is the credential; every job it touches must be one of the
//! technician's. A bad, expired or revoked link gets one plain page that says nothing more.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use switchboard_core::Error;
use switchboard_core::ids::JobId;
use switchboard_core::jobs::crew::Step;
use switchboard_core::jobs::{self, GeoPoint, JobStatus, JobSummary, WorkStatus, format_quantity};
use switchboard_core::parse::display_phone;
use switchboard_core::portal::{self, PortalAccess};
use switchboard_core::{customers, technicians, tenancy};

use crate::fmt;
use crate::pages::{LineItemForm, photo_response, read_photo};
use crate::state::AppState;
use crate::views::error_for;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/p/{token}", get(stops))
        .route("/p/{token}/location", post(location))
        .route("/p/{token}/jobs/{id}", get(job))
        .route("/p/{token}/jobs/{id}/status", post(status))
        .route("/p/{token}/jobs/{id}/line-items", post(add_line_item))
        .route(
            "/p/{token}/jobs/{id}/photos",
            post(add_photo).layer(DefaultBodyLimit::max(switchboard_core::storage::MAX_PHOTO_BYTES + 64 * 1024)),
        )
        .route("/p/{token}/jobs/{id}/photos/{photo}", get(photo))
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/invalid.html")]
struct InvalidLink;

/// Why a portal request failed, as the technician sees it.
enum PortalError {
    /// Bad, expired or revoked link, or a job that is not theirs: all look the same.
    Invalid,
    Other(Error),
}

impl From<Error> for PortalError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound => PortalError::Invalid,
            other => PortalError::Other(other),
        }
    }
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        match self {
            PortalError::Invalid => {
                let mut r = (StatusCode::NOT_FOUND, InvalidLink).into_response();
                private(&mut r);
                r
            }
            PortalError::Other(e) => crate::error::PageError::from(e).into_response(),
        }
    }
}

/// Portal pages are never cached or indexed (the URL is a credential).
fn private(r: &mut Response) {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
}

async fn access(state: &AppState, token: &str) -> Result<PortalAccess, PortalError> {
    Ok(portal::authenticate(&state.db, state.clock.as_ref(), token).await?)
}

fn tech_actor(a: &PortalAccess) -> String {
    format!("tech:{}", a.tech.name)
}

fn parse_job_id(raw: &str) -> Result<JobId, PortalError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).map(JobId).ok_or(PortalError::Invalid)
}

pub struct StopView {
    pub id: i64,
    pub order: usize,
    pub code: String,
    pub service: String,
    pub customer: String,
    pub address: String,
    pub window: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub done: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/stops.html")]
struct StopsPage {
    token: String,
    tech_first: String,
    today: String,
    stops: Vec<StopView>,
}

fn window(j: &JobSummary, tz: &jiff::tz::TimeZone) -> String {
    match (j.scheduled_start, j.scheduled_end) {
        (Some(s), Some(e)) => format!("{} – {}", fmt::time(s, tz), fmt::time(e, tz)),
        (Some(s), None) => fmt::time(s, tz),
        _ => "Any time".into(),
    }
}

async fn stops(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, PortalError> {
    let a = access(&state, &token).await?;
    let jobs = portal::stops(&state.db, state.clock.as_ref(), &a).await?;
    let brands = tenancy::list_brands(&state.db, a.org).await?;
    let zone_of = |j: &JobSummary| fmt::brand_zone(&brands, j.brand_id);
    let today_tz = jobs.first().map(zone_of).unwrap_or_else(|| fmt::org_zone(&brands, None));
    let stops = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| StopView {
            id: j.id.0,
            order: i + 1,
            code: j.code.clone(),
            service: j.service.clone(),
            customer: j.customer_name.clone(),
            address: j.address.clone().unwrap_or_default(),
            window: window(j, &zone_of(j)),
            status: j.status.as_str(),
            status_label: j.status.label(),
            done: !j.status.is_open() || j.status == JobStatus::PendingClose,
        })
        .collect();
    let mut r = StopsPage {
        token,
        tech_first: a.tech.first_name().to_string(),
        today: state.clock.now().to_zoned(today_tz).strftime("%A, %B %-d").to_string(),
        stops,
    }
    .into_response();
    private(&mut r);
    Ok(r)
}

pub struct PortalAction {
    pub to: &'static str,
    pub label: &'static str,
    /// A step back after the technician's work is done (back on site): asked, not one tap.
    pub confirm: bool,
}

pub struct PortalItem {
    pub description: String,
    pub quantity: String,
    pub total: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/job.html")]
struct JobPage {
    token: String,
    id: i64,
    code: String,
    service: String,
    status: &'static str,
    status_label: &'static str,
    actions: Vec<PortalAction>,
    /// What this technician is doing on the job: label and class.
    me: (&'static str, &'static str),
    /// The rest of the crew: name and what they are doing.
    crew: Vec<(String, &'static str, &'static str)>,
    customer: String,
    phone: String,
    phone_display: String,
    address: String,
    /// The service location's label and how to get in (gate code, pets).
    site_label: String,
    access_notes: String,
    maps_url: String,
    window: String,
    notes: String,
    customer_notes: String,
    items: Vec<PortalItem>,
    total: String,
    photos: Vec<i64>,
    errors: Vec<(String, String)>,
}

impl JobPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

/// The buttons a technician gets (On my way, Arrived, Work done) for what they are doing on a
/// job in this status. The form posts the job status the step stands for, as it always has.
fn actions(status: JobStatus, work: WorkStatus) -> Vec<PortalAction> {
    let done = work == WorkStatus::Done;
    Step::available(status, work)
        .into_iter()
        .map(|s| match s {
            Step::Arrived if done => PortalAction { to: s.job_status().as_str(), label: "Back on site", confirm: true },
            _ => PortalAction { to: s.job_status().as_str(), label: s.label(), confirm: false },
        })
        .collect()
}

fn maps_url(address: &str) -> String {
    let q: String = serde_urlencoded::to_string([("query", address)]).unwrap_or_default();
    format!("https://www.google.com/maps/search/?api=1&{q}")
}

async fn render_job(
    state: &AppState,
    a: &PortalAccess,
    token: String,
    id: JobId,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> Result<Response, PortalError> {
    let job = portal::job(&state.db, a, id).await?;
    let detail = jobs::detail(&state.db, a.org, id).await?;
    let customer = customers::get(&state.db, a.org, job.customer_id).await?;
    let brand = tenancy::brand(&state.db, a.org, job.brand_id).await?;
    let tz = brand.zone();
    let address = job.address.clone().unwrap_or_default();
    let mut r = (
        status,
        JobPage {
            token,
            id: job.id.0,
            code: job.code.clone(),
            service: job.service.clone(),
            status: job.status.as_str(),
            status_label: job.status.label(),
            actions: actions(job.status, job.tech(a.tech.id).map(|t| t.work).unwrap_or(WorkStatus::Assigned)),
            me: job.tech(a.tech.id).map(|t| (t.work.label(), t.work.as_str())).unwrap_or_default(),
            crew: job
                .techs
                .iter()
                .filter(|t| t.id != a.tech.id)
                .map(|t| (t.name.clone(), t.work.label(), t.work.as_str()))
                .collect(),
            customer: customer.name.clone(),
            phone: customer.phone.as_deref().unwrap_or_default().to_string(),
            phone_display: customer.phone.as_deref().map(display_phone).unwrap_or_default(),
            maps_url: maps_url(&address),
            address,
            site_label: job.service_location.as_ref().and_then(|s| s.label.clone()).unwrap_or_default(),
            access_notes: job.service_location.as_ref().and_then(|s| s.access_notes.clone()).unwrap_or_default(),
            window: window(&job, &tz),
            notes: job.customer_notes.clone().unwrap_or_default(),
            customer_notes: customer.notes.clone().unwrap_or_default(),
            items: detail
                .line_items
                .iter()
                .map(|i| PortalItem {
                    description: i.description.clone(),
                    quantity: format_quantity(i.quantity_x100),
                    total: i.total().to_string(),
                })
                .collect(),
            total: detail.total().to_string(),
            photos: detail.photos.iter().map(|p| p.id).collect(),
            errors,
        },
    )
        .into_response();
    private(&mut r);
    Ok(r)
}

async fn job(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    let a = access(&state, &token).await?;
    let id = parse_job_id(&id)?;
    render_job(&state, &a, token, id, vec![], StatusCode::OK).await
}

/// After a change: back to the job, or the job again with the reason it was refused.
async fn after(
    state: &AppState,
    a: &PortalAccess,
    token: String,
    id: JobId,
    result: Result<(), Error>,
) -> Result<Response, PortalError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/p/{token}/jobs/{}", id.0)).into_response()),
        Err(Error::NotFound) => Err(PortalError::Invalid),
        Err(Error::InvalidTransition { message, .. }) | Err(Error::Conflict(message)) => {
            render_job(state, a, token, id, vec![("status".into(), message)], StatusCode::CONFLICT).await
        }
        Err(Error::Invalid(fields)) => {
            let errors = crate::pages::pairs(fields);
            render_job(state, a, token, id, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(Error::Unavailable(message)) => {
            render_job(state, a, token, id, vec![("photo".into(), message)], StatusCode::SERVICE_UNAVAILABLE).await
        }
        Err(other) => Err(PortalError::Other(other)),
    }
}

#[derive(Deserialize)]
struct StatusForm {
    to: String,
}

async fn status(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, String)>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PortalError> {
    let a = access(&state, &token).await?;
    let id = parse_job_id(&id)?;
    portal::job(&state.db, &a, id).await?;
    let step = Step::ALL.into_iter().find(|s| s.job_status().as_str() == form.to.trim());
    // The portal offers only the technician's own steps; the office handles the rest.
    let result = match step {
        Some(step) => jobs::tech_step(&state.db, state.clock.as_ref(), a.org, &tech_actor(&a), a.tech.id, id, step)
            .await
            .map(|_| ()),
        None => Err(Error::Conflict("ask the office to make this change".into())),
    };
    after(&state, &a, token, id, result).await
}

async fn add_line_item(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, String)>,
    Form(form): Form<LineItemForm>,
) -> Result<Response, PortalError> {
    let a = access(&state, &token).await?;
    let id = parse_job_id(&id)?;
    portal::job(&state.db, &a, id).await?;
    let result = jobs::add_line_item(&state.db, state.clock.as_ref(), a.org, &tech_actor(&a), id, &form.input())
        .await
        .map(|_| ());
    after(&state, &a, token, id, result).await
}

async fn add_photo(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, String)>,
    multipart: Multipart,
) -> Result<Response, PortalError> {
    let a = access(&state, &token).await?;
    let id = parse_job_id(&id)?;
    portal::job(&state.db, &a, id).await?;
    let result = match read_photo(multipart).await {
        Ok(bytes) => jobs::add_photo(&state.db, state.clock.as_ref(), &state.blobs, a.org, &tech_actor(&a), id, &bytes)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    after(&state, &a, token, id, result).await
}

async fn photo(
    State(state): State<AppState>,
    Path((token, id, photo)): Path<(String, String, String)>,
) -> Result<Response, PortalError> {
    let a = access(&state, &token).await?;
    let id = parse_job_id(&id)?;
    portal::job(&state.db, &a, id).await?;
    let photo = photo.parse::<i64>().map_err(|_| PortalError::Invalid)?;
    let (meta, bytes) = jobs::photo(&state.db, &state.blobs, a.org, id, photo).await?;
    // Not kept on the phone: a revoked link should not leave photos behind.
    Ok(photo_response(meta.content_type, bytes, "no-store"))
}

#[derive(Deserialize)]
struct LocationBody {
    lat: f64,
    lon: f64,
    accuracy: Option<f64>,
}

/// The phone's position while the portal is open (the page sends it every ~20 s or 50 m).
async fn location(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Result<Json<LocationBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, PortalError> {
    let a = access(&state, &token).await?;
    let Ok(Json(body)) = body else {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, "send {\"lat\": ..., \"lon\": ...}").into_response());
    };
    let point = match GeoPoint::new(body.lat, body.lon) {
        Ok(p) => p,
        Err(m) => return Ok((StatusCode::UNPROCESSABLE_ENTITY, m).into_response()),
    };
    let accuracy = body.accuracy.filter(|a| a.is_finite() && *a >= 0.0).map(|a| a.round().min(1e6) as i64);
    technicians::share_location(&state.db, state.clock.as_ref(), a.org, a.tech.id, point, accuracy).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
