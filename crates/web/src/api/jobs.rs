//! `/api/v1/jobs`: the jobs list, one job with its history, and status changes through the
//! status machine.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use switchboard_core::Error;
use switchboard_core::ids::{BrandId, JobId};
use switchboard_core::jobs::{self, JobFilter, JobStatus, JobSummary};
use utoipa::{IntoParams, ToSchema};

use super::brands::not_found_as;
use super::{ApiId, ApiJson};
use crate::app::AppState;
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};

#[derive(Serialize, ToSchema)]
pub struct JobTechDto {
    pub id: i64,
    pub name: String,
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
    pub scheduled_start: Option<String>,
    pub scheduled_end: Option<String>,
    pub techs: Vec<JobTechDto>,
    /// Present on `GET /jobs/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<JobEventDto>>,
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
            scheduled_start: j.scheduled_start.map(|t| t.to_string()),
            scheduled_end: j.scheduled_end.map(|t| t.to_string()),
            techs: j.techs.into_iter().map(|t| JobTechDto { id: t.id.0, name: t.name }).collect(),
            history: None,
        }
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
pub struct JobQuery {
    pub status: Option<String>,
    pub brand_id: Option<i64>,
}

#[utoipa::path(get, path = "/jobs", tag = "jobs", params(JobQuery), responses((status = 200, body = JobList), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<JobQuery>,
) -> Result<Json<JobList>, ApiError> {
    let status = q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(JobStatus::parse)
        .transpose()
        .map_err(|m| Error::invalid("status", m))?;
    let jobs = jobs::list(&state.db, caller.org, &JobFilter { brand: q.brand_id.map(BrandId), status }).await?;
    Ok(Json(JobList { jobs: jobs.into_iter().map(JobDto::from).collect() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJobBody {
    pub brand_id: i64,
    pub customer_id: i64,
    pub service: String,
    /// Defaults to the customer's address.
    pub address: Option<String>,
    /// RFC 3339. With a start the job is Scheduled, else an Estimate.
    pub scheduled_start: Option<String>,
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
        address: body.address,
        scheduled_start: timestamp("scheduled_start", &body.scheduled_start)?,
        scheduled_end: timestamp("scheduled_end", &body.scheduled_end)?,
        techs: body.tech_ids.unwrap_or_default().into_iter().map(switchboard_core::ids::TechnicianId).collect(),
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
    let job = jobs::get(&state.db, caller.org, JobId(id)).await.map_err(|e| not_found_as(e, "job"))?;
    let history = jobs::history(&state.db, caller.org, JobId(id)).await?;
    let mut dto = JobDto::from(job);
    dto.history = Some(
        history
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
    Ok(Json(JobEnvelope { job: dto }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    pub status: String,
    /// Required when reopening a completed job.
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
