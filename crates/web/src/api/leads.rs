//! `/api/v1/leads`: the inbox, replies, and conversion to a job.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::ids::{BrandId, CustomerId, LeadId, TechnicianId};
use switchboard_core::leads::{
    self, ConvertInput, CustomerInput, Lead, LeadFilter, LeadSource, LeadStatus, ReplyChannel,
};
use switchboard_core::{Error, messaging};
use utoipa::{IntoParams, ToSchema};

use super::messages::MessageEnvelope;
use super::not_found_as;
use super::{ApiId, ApiJson, ApiQuery};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct LeadMessageDto {
    /// `inbound` or `outbound`.
    pub direction: String,
    /// `sms`, `email`, `web` or `call`.
    pub channel: String,
    pub subject: Option<String>,
    pub body: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// For replies: the delivery status of the text or email.
    pub delivery: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LeadDto {
    pub id: i64,
    pub brand_id: i64,
    /// `sms`, `web`, `email` or `call`.
    pub source: String,
    /// `new`, `contacted`, `converted` or `archived`.
    pub status: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub service: Option<String>,
    pub unread: bool,
    pub created_at: String,
    pub last_message_at: String,
    pub messages: Vec<LeadMessageDto>,
    pub job_id: Option<i64>,
    pub job_code: Option<String>,
    /// The brand's urgent word or phrase the customer wrote (`null`: none). Urgent open leads
    /// come first in the list.
    pub urgent: Option<String>,
}

impl From<Lead> for LeadDto {
    fn from(l: Lead) -> Self {
        LeadDto {
            id: l.id.0,
            brand_id: l.brand_id.0,
            source: l.source.as_str().into(),
            status: l.status.as_str().into(),
            name: l.name,
            phone: l.phone,
            email: l.email,
            address: l.address,
            service: l.service,
            unread: l.unread,
            urgent: l.urgent,
            created_at: l.created_at.to_string(),
            last_message_at: l.last_message_at.to_string(),
            messages: l
                .messages
                .into_iter()
                .map(|m| LeadMessageDto {
                    direction: m.direction,
                    channel: m.channel,
                    subject: m.subject,
                    body: m.body,
                    at: m.at.to_string(),
                    delivery: m.delivery,
                })
                .collect(),
            job_id: l.job_id.map(|j| j.0),
            job_code: l.job_code,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LeadList {
    pub leads: Vec<LeadDto>,
}

#[derive(Serialize, ToSchema)]
pub struct LeadEnvelope {
    pub lead: LeadDto,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeadQuery {
    /// `sms`, `web`, `email` or `call`.
    #[param(schema_with = super::openapi::lead_source)]
    pub source: Option<String>,
    /// `new`, `contacted`, `converted` or `archived`.
    #[param(schema_with = super::openapi::lead_status)]
    pub status: Option<String>,
    pub brand_id: Option<i64>,
    /// Matches name, phone, email or message text.
    pub q: Option<String>,
    /// At most this many (default 200; 1-1000, a value outside is brought within).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/leads", tag = "leads", params(LeadQuery), responses((status = 200, body = LeadList), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(q): ApiQuery<LeadQuery>,
) -> Result<Json<LeadList>, ApiError> {
    let source = q
        .source
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(LeadSource::parse)
        .transpose()
        .map_err(|m| Error::invalid("source", m))?;
    let status = q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(LeadStatus::parse)
        .transpose()
        .map_err(|m| Error::invalid("status", m))?;
    let filter = LeadFilter { source, status, brand: q.brand_id.map(BrandId), search: q.q, limit: q.limit };
    let leads = leads::list(&state.db, caller.org, &filter).await?;
    Ok(Json(LeadList { leads: leads.into_iter().map(LeadDto::from).collect() }))
}

#[utoipa::path(get, path = "/leads/{id}", tag = "leads", params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, body = LeadEnvelope), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<LeadEnvelope>, ApiError> {
    let lead = leads::get(&state.db, caller.org, LeadId(id)).await.map_err(|e| not_found_as(e, "lead"))?;
    Ok(Json(LeadEnvelope { lead: lead.into() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    #[schema(min_length = 1, max_length = 1600, pattern = r"\S")]
    pub body: String,
    /// `sms` or `email`; default: SMS when the lead has a phone number.
    #[schema(schema_with = super::openapi::channel)]
    pub channel: Option<String>,
}

#[utoipa::path(post, path = "/leads/{id}/messages", tag = "leads", params(("id" = i64, Path, description = "Lead id")), request_body = ReplyBody,
    responses((status = 202, description = "Queued; New leads become Contacted", body = MessageEnvelope), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reply(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<ReplyBody>,
) -> Result<(StatusCode, Json<MessageEnvelope>), ApiError> {
    let channel = match body.channel.as_deref() {
        None | Some("") => None,
        Some("sms") => Some(ReplyChannel::Sms),
        Some("email") => Some(ReplyChannel::Email),
        Some(other) => {
            return Err(Error::invalid("channel", format!("\"{other}\" is not a channel (sms, email)")).into());
        }
    };
    let id = leads::reply(&state.db, state.clock.as_ref(), caller.org, None, LeadId(id), channel, &body.body)
        .await
        .map_err(|e| not_found_as(e, "lead"))?;
    let message = messaging::message(&state.db, caller.org, id).await?;
    Ok((StatusCode::ACCEPTED, Json(MessageEnvelope { message: message.into() })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomerBody {
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    pub name: String,
    /// Any common format; a national number is read by the brand's country.
    #[schema(max_length = 32, pattern = r"^[0-9+()./\s-]*$", example = "(720) 555-0190")]
    pub phone: Option<String>,
    #[schema(format = Email)]
    pub email: Option<String>,
    #[schema(max_length = 300)]
    pub address: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertBody {
    /// An existing customer (see `GET /customers?phone=`) ...
    pub customer_id: Option<i64>,
    /// ... or a new one (if a customer already has its phone, that customer is used).
    /// With neither, the lead's own contact details make the customer.
    pub customer: Option<NewCustomerBody>,
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    pub service: String,
    #[schema(max_length = 300)]
    pub address: Option<String>,
    /// RFC 3339, e.g. `2026-11-23T16:00:00Z`. With a start the job is Scheduled, else Estimate.
    #[schema(format = DateTime)]
    pub scheduled_start: Option<String>,
    #[schema(format = DateTime)]
    pub scheduled_end: Option<String>,
    pub tech_id: Option<i64>,
    pub tech_ids: Option<Vec<i64>>,
}

#[derive(Serialize, ToSchema)]
pub struct ConvertedJob {
    pub id: i64,
    pub code: String,
    pub customer_id: i64,
    pub lead_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ConvertedEnvelope {
    pub job: ConvertedJob,
}

fn timestamp(field: &'static str, value: &Option<String>) -> Result<Option<jiff::Timestamp>, Error> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<jiff::Timestamp>()
            .map(Some)
            .map_err(|_| Error::invalid(field, format!("\"{v}\" is not a time like 2026-11-23T16:00:00Z"))),
    }
}

#[utoipa::path(post, path = "/leads/{id}/convert", tag = "leads", params(("id" = i64, Path, description = "Lead id")), request_body = ConvertBody,
    responses((status = 201, body = ConvertedEnvelope), (status = 404, body = ErrorBody),
              (status = 409, description = "Already converted (the message names the job)", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn convert(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<ConvertBody>,
) -> Result<(StatusCode, Json<ConvertedEnvelope>), ApiError> {
    let mut tech_ids: Vec<TechnicianId> = body.tech_ids.unwrap_or_default().into_iter().map(TechnicianId).collect();
    if let Some(t) = body.tech_id {
        tech_ids.push(TechnicianId(t));
    }
    let input = ConvertInput {
        customer_id: body.customer_id.map(CustomerId),
        customer: body.customer.map(|c| CustomerInput {
            name: c.name,
            phone: c.phone,
            email: c.email,
            address: c.address,
        }),
        service: body.service,
        address: body.address,
        scheduled_start: timestamp("scheduled_start", &body.scheduled_start)?,
        scheduled_end: timestamp("scheduled_end", &body.scheduled_end)?,
        tech_ids,
    };
    let done = leads::convert(&state.db, state.clock.as_ref(), caller.org, None, "api", LeadId(id), &input)
        .await
        .map_err(|e| not_found_as(e, "lead"))?;
    let job = ConvertedJob {
        id: done.job_id.0,
        code: done.job_code,
        customer_id: done.customer_id.0,
        lead_id: done.lead_id.0,
    };
    Ok((StatusCode::CREATED, Json(ConvertedEnvelope { job })))
}

#[utoipa::path(post, path = "/leads/{id}/archive", tag = "leads", params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, body = LeadEnvelope), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn archive(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<LeadEnvelope>, ApiError> {
    leads::archive(&state.db, state.clock.as_ref(), caller.org, LeadId(id))
        .await
        .map_err(|e| not_found_as(e, "lead"))?;
    get(State(state), caller, ApiId(id)).await
}

#[utoipa::path(post, path = "/leads/{id}/restore", tag = "leads", params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, body = LeadEnvelope), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn restore(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<LeadEnvelope>, ApiError> {
    leads::restore(&state.db, state.clock.as_ref(), caller.org, LeadId(id))
        .await
        .map_err(|e| not_found_as(e, "lead"))?;
    get(State(state), caller, ApiId(id)).await
}
