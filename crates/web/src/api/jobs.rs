//! `/api/v1/jobs`: the jobs list, one job with its line items and history, edits, technician
//! assignment (which texts portal links), and status changes through the status machine.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use switchboard_core::Error;
use switchboard_core::ids::{BrandId, JobId, TechnicianId};
use switchboard_core::jobs::{self, GeoPoint, JobDetail, JobFilter, JobPatch, JobStatus, JobSummary};
use utoipa::{IntoParams, ToSchema};

use super::not_found_as;
use super::{ApiId, ApiJson, ApiQuery};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct JobTechDto {
    pub id: i64,
    pub name: String,
    /// What they are doing on the job: `assigned`, `en_route`, `on_site` or `done`.
    #[schema(example = "en_route")]
    pub work: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct JobEventDto {
    pub at: String,
    pub actor: String,
    /// `created`, `status`, ...
    pub kind: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct JobDto {
    pub id: i64,
    pub code: String,
    pub brand_id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub service: String,
    /// `estimate`, `scheduled`, `dispatched` (en route), `on_site`, `pending_close`,
    /// `completed` or `canceled`.
    pub status: String,
    /// The statuses this job can move to next.
    pub next_statuses: Vec<String>,
    pub address: Option<String>,
    /// The customer's service location the job is at, with its label and access notes.
    pub service_location: Option<JobSiteDto>,
    pub scheduled_start: Option<String>,
    pub scheduled_end: Option<String>,
    pub techs: Vec<JobTechDto>,
    pub location: Option<LocationDto>,
    pub location_verified: bool,
    pub internal_notes: Option<String>,
    pub customer_notes: Option<String>,
    /// Counts every change to the job. Send it back with an edit or an assignment to have the
    /// change refused (409 `stale`) if someone changed the job since you read it.
    pub version: i64,
    /// Present on `GET /jobs/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_items: Option<Vec<LineItemDto>>,
    /// Sum of the line items in minor units; present on `GET /jobs/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// The ISO 4217 currency of every amount on the job (`USD`); present on `GET /jobs/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<&'static str>,
    /// Present on `GET /jobs/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photos: Option<Vec<PhotoDto>>,
    /// Present on `GET /jobs/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<JobEventDto>>,
}

/// The service location a job is at (see `/customers/{id}/locations`).
#[derive(Serialize, ToSchema)]
pub struct JobSiteDto {
    pub id: i64,
    pub label: Option<String>,
    /// Gate code, pets, parking.
    pub access_notes: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationDto {
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
}

#[derive(Serialize, ToSchema)]
pub struct LineItemDto {
    pub id: i64,
    pub description: String,
    /// Hundredths: 150 is 1.5.
    pub quantity_x100: i64,
    /// Minor units (cents).
    pub unit_price: i64,
    /// ISO 4217 (`USD`).
    pub currency: &'static str,
    pub taxable: bool,
    /// Minor units.
    pub total: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PhotoDto {
    pub id: i64,
    pub content_type: String,
    pub size_bytes: i64,
    pub added_by: String,
    pub created_at: String,
}

impl From<JobSummary> for JobDto {
    fn from(j: JobSummary) -> Self {
        JobDto {
            id: j.id.0,
            code: j.code,
            brand_id: j.brand_id.0,
            customer_id: j.customer_id.0,
            customer_name: j.customer_name,
            service: j.service,
            status: j.status.as_str().into(),
            next_statuses: j.status.next().iter().map(|s| s.as_str().to_string()).collect(),
            address: j.address,
            service_location: j.service_location.map(|s| JobSiteDto {
                id: s.id.0,
                label: s.label,
                access_notes: s.access_notes,
            }),
            scheduled_start: j.scheduled_start.map(|t| t.to_string()),
            scheduled_end: j.scheduled_end.map(|t| t.to_string()),
            techs: j
                .techs
                .into_iter()
                .map(|t| JobTechDto { id: t.id.0, name: t.name, work: t.work.as_str() })
                .collect(),
            location: j.location.map(|p| LocationDto { lat: p.lat, lon: p.lon }),
            location_verified: j.location_verified,
            internal_notes: j.internal_notes,
            customer_notes: j.customer_notes,
            version: j.version,
            line_items: None,
            total: None,
            currency: None,
            photos: None,
            history: None,
        }
    }
}

impl From<JobDetail> for JobDto {
    fn from(d: JobDetail) -> Self {
        let total = d.total();
        let mut dto = JobDto::from(d.job);
        dto.total = Some(total.minor);
        dto.currency = Some(total.currency.code());
        dto.line_items = Some(
            d.line_items
                .into_iter()
                .map(|i| LineItemDto {
                    id: i.id,
                    total: i.total().minor,
                    description: i.description,
                    quantity_x100: i.quantity_x100,
                    unit_price: i.unit_price.minor,
                    currency: i.unit_price.currency.code(),
                    taxable: i.taxable,
                })
                .collect(),
        );
        dto.photos = Some(
            d.photos
                .into_iter()
                .map(|p| PhotoDto {
                    id: p.id,
                    content_type: p.content_type,
                    size_bytes: p.size_bytes,
                    added_by: p.added_by,
                    created_at: p.created_at.to_string(),
                })
                .collect(),
        );
        dto.history = Some(
            d.history
                .into_iter()
                .map(|e| JobEventDto {
                    at: e.at.to_string(),
                    actor: e.actor,
                    kind: e.kind,
                    from: e.from.map(|s| s.as_str().to_string()),
                    to: e.to.map(|s| s.as_str().to_string()),
                    note: e.note,
                })
                .collect(),
        );
        dto
    }
}

#[derive(Serialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobDto>,
}

#[derive(Serialize, ToSchema)]
pub struct JobEnvelope {
    pub job: JobDto,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    #[param(schema_with = super::openapi::job_status)]
    pub status: Option<String>,
    pub brand_id: Option<i64>,
    /// Jobs this technician is on.
    pub tech_id: Option<i64>,
    /// Windows starting at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Windows starting before this time (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Text in the code, customer name, service or address.
    pub q: Option<String>,
}

#[utoipa::path(get, path = "/jobs", tag = "jobs", params(JobQuery), responses((status = 200, body = JobList), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(q): ApiQuery<JobQuery>,
) -> Result<Json<JobList>, ApiError> {
    let status = q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(JobStatus::parse)
        .transpose()
        .map_err(|m| Error::invalid("status", m))?;
    let filter = JobFilter {
        brand: q.brand_id.map(BrandId),
        status,
        tech: q.tech_id.map(TechnicianId),
        customer: None,
        from: timestamp("from", &q.from)?,
        to: timestamp("to", &q.to)?,
        search: q.q,
    };
    let jobs = jobs::list(&state.db, caller.org, &filter).await?;
    Ok(Json(JobList { jobs: jobs.into_iter().map(JobDto::from).collect() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJobBody {
    pub brand_id: i64,
    pub customer_id: i64,
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    pub service: String,
    /// One of the customer's service locations (`/customers/{id}/locations`); the job takes
    /// its address.
    pub service_location_id: Option<i64>,
    /// Without a service location; defaults to the customer's address. A new address becomes
    /// one of the customer's service locations.
    #[schema(max_length = 300)]
    pub address: Option<String>,
    /// RFC 3339. With a start the job is Scheduled, else an Estimate.
    #[schema(format = DateTime)]
    pub scheduled_start: Option<String>,
    /// RFC 3339; given with a start, after it.
    #[schema(format = DateTime)]
    pub scheduled_end: Option<String>,
    pub tech_ids: Option<Vec<i64>>,
}

fn timestamp(field: &'static str, value: &Option<String>) -> Result<Option<jiff::Timestamp>, Error> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| Error::invalid(field, format!("\"{v}\" is not a time like 2026-11-23T16:00:00Z"))),
    }
}

#[utoipa::path(post, path = "/jobs", tag = "jobs", request_body = NewJobBody,
    responses((status = 201, body = JobEnvelope), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<NewJobBody>,
) -> Result<(axum::http::StatusCode, Json<JobEnvelope>), ApiError> {
    let input = jobs::JobInput {
        brand: BrandId(body.brand_id),
        customer: switchboard_core::ids::CustomerId(body.customer_id),
        service: body.service,
        service_location: body.service_location_id.map(switchboard_core::ids::LocationId),
        address: body.address,
        scheduled_start: timestamp("scheduled_start", &body.scheduled_start)?,
        scheduled_end: timestamp("scheduled_end", &body.scheduled_end)?,
        techs: body.tech_ids.unwrap_or_default().into_iter().map(TechnicianId).collect(),
    };
    let job = jobs::create(&state.db, state.clock.as_ref(), caller.org, "api", &input).await?;
    Ok((axum::http::StatusCode::CREATED, Json(JobEnvelope { job: job.into() })))
}

#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs", params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, body = JobEnvelope), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<JobEnvelope>, ApiError> {
    let detail = jobs::detail(&state.db, caller.org, JobId(id)).await.map_err(|e| not_found_as(e, "job"))?;
    Ok(Json(JobEnvelope { job: detail.into() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    #[schema(schema_with = super::openapi::job_status)]
    pub status: String,
    /// Required when reopening a completed job.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/jobs/{id}/status", tag = "jobs", params(("id" = i64, Path, description = "Job id")), request_body = StatusBody,
    responses((status = 200, body = JobEnvelope), (status = 404, body = ErrorBody),
              (status = 409, description = "Not allowed from the current status; `allowed` lists what is", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn set_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<Json<JobEnvelope>, ApiError> {
    let to = JobStatus::parse(body.status.trim()).map_err(|m| Error::invalid("status", m))?;
    let job =
        jobs::change_status(&state.db, state.clock.as_ref(), caller.org, "api", JobId(id), to, body.reason.as_deref())
            .await
            .map_err(|e| not_found_as(e, "job"))?;
    Ok(Json(JobEnvelope { job: job.into() }))
}

/// `null` and absent mean different things in a PATCH: absent leaves a field, `null` clears it.
fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobPatchBody {
    /// The `version` you read; a job changed since refuses the edit with 409 `stale`, saying
    /// who changed it and when. Omitted: the edit applies to whatever is there.
    pub version: Option<i64>,
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    pub service: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub address: Option<Option<String>>,
    /// Moves the job to one of its customer's service locations (and its address).
    pub service_location_id: Option<i64>,
    /// The map pin; `null` clears it. Moving it unverifies the location unless
    /// `location_verified` is sent too.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<LocationDto>)]
    pub location: Option<Option<LocationDto>>,
    pub location_verified: Option<bool>,
    /// RFC 3339; `null` clears the window. Giving an estimate a window schedules it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_start: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_end: Option<Option<String>>,
    /// For the office only.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 4000)]
    pub internal_notes: Option<Option<String>>,
    /// Shown to the technician (gate codes, pets, parking).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 4000)]
    pub customer_notes: Option<Option<String>>,
}

fn patch_time(field: &'static str, v: &Option<Option<String>>) -> Result<Option<Option<jiff::Timestamp>>, Error> {
    match v {
        None => Ok(None),
        Some(inner) => timestamp(field, inner).map(Some),
    }
}

#[utoipa::path(patch, path = "/jobs/{id}", tag = "jobs", params(("id" = i64, Path, description = "Job id")), request_body = JobPatchBody,
    responses((status = 200, body = JobEnvelope), (status = 404, body = ErrorBody),
              (status = 409, description = "Stale: the job changed since `version`", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<JobPatchBody>,
) -> Result<Json<JobEnvelope>, ApiError> {
    let location = match body.location {
        None => None,
        Some(None) => Some(None),
        Some(Some(l)) => Some(Some(GeoPoint::new(l.lat, l.lon).map_err(|m| Error::invalid("location", m))?)),
    };
    let patch = JobPatch {
        version: body.version,
        service: body.service,
        address: body.address,
        service_location: body.service_location_id.map(switchboard_core::ids::LocationId),
        location,
        location_verified: body.location_verified,
        scheduled_start: patch_time("scheduled_start", &body.scheduled_start)?,
        scheduled_end: patch_time("scheduled_end", &body.scheduled_end)?,
        internal_notes: body.internal_notes,
        customer_notes: body.customer_notes,
    };
    jobs::update(&state.db, state.clock.as_ref(), caller.org, "api", JobId(id), &patch)
        .await
        .map_err(|e| not_found_as(e, "job"))?;
    let detail = jobs::detail(&state.db, caller.org, JobId(id)).await?;
    Ok(Json(JobEnvelope { job: detail.into() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The job's technicians after the call; `[]` unassigns everyone. Each newly assigned
    /// technician is texted a link to their portal.
    pub tech_ids: Vec<i64>,
    /// The `version` you read; a job changed since refuses the assignment with 409 `stale`.
    pub version: Option<i64>,
}

#[utoipa::path(post, path = "/jobs/{id}/assign", tag = "jobs", params(("id" = i64, Path, description = "Job id")), request_body = AssignBody,
    responses((status = 200, body = JobEnvelope), (status = 404, body = ErrorBody),
              (status = 409, description = "The job is completed or canceled", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn assign(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Json<JobEnvelope>, ApiError> {
    let techs: Vec<TechnicianId> = body.tech_ids.into_iter().map(TechnicianId).collect();
    let job = jobs::assign(&state.db, state.clock.as_ref(), caller.org, "api", JobId(id), &techs, body.version)
        .await
        .map_err(|e| not_found_as(e, "job"))?;
    Ok(Json(JobEnvelope { job: job.into() }))
}
