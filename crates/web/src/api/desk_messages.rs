//! The message desk's messages over the API, as an operator tool or a call-centre integration
//! takes them: `POST /desk/messages` (answers checked by the client's protocol), `GET
//! /desk/messages[?client_id=]`, `GET /desk/messages/{id}`, `POST /desk/messages/{id}/retrieve`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::Error;
use switchboard_core::desk::messages::{self, About, DeskMessage, DeskStatus, Filter, TakeInput};
use switchboard_core::escalation::drive;
use switchboard_core::escalation::run::State as EscalationState;
use switchboard_core::escalation::store::{self as escalation_store, Entry, Escalation};
use switchboard_core::ids::{BrandId, JobId, LeadId};
use utoipa::{IntoParams, ToSchema};

use super::{ApiId, ApiJson, ApiQuery, not_found_as};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct DeskAnswerDto {
    pub key: String,
    /// The field's label when the message was taken.
    pub label: String,
    /// As read: a phone in E.164, a date spelled out ("Thu Dec 24, 2026"), `Yes`/`No`.
    pub value: String,
}

/// One delivery of a message.
#[derive(Serialize, ToSchema)]
pub struct DeskDeliveryDto {
    pub id: i64,
    #[schema(schema_with = super::openapi::delivery_channel)]
    pub method: String,
    pub contact_id: Option<i64>,
    /// The contact's name (the client's, when held for check-in).
    pub recipient: String,
    /// The email address or number (E.164) it goes to.
    pub address: Option<String>,
    #[schema(schema_with = super::openapi::delivery_state)]
    pub state: String,
    /// Why it failed, or which recap it waits for.
    pub detail: Option<String>,
    /// The email or text carrying it (`GET /messages/{id}`).
    pub outbound_message_id: Option<i64>,
    /// A recap's time.
    pub due_at: Option<String>,
    /// When it was read in the recipient's secure inbox, or, held for check-in, retrieved.
    pub read_at: Option<String>,
    /// The steps its email or text took after being queued, in order.
    pub history: Vec<DeliveryStepDto>,
    /// `rules`, or who sent it again (`user:NAME`).
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A step an email or text took.
#[derive(Serialize, ToSchema)]
pub struct DeliveryStepDto {
    /// `sending`, `sent`, `delivered`, `undelivered`, `failed` or `suppressed`.
    pub status: String,
    pub at: String,
    /// Why, for `failed` and `undelivered`.
    pub detail: Option<String>,
}

impl From<switchboard_core::desk::delivery::Delivery> for DeskDeliveryDto {
    fn from(d: switchboard_core::desk::delivery::Delivery) -> Self {
        DeskDeliveryDto {
            id: d.id,
            method: d.channel.as_str().into(),
            contact_id: d.contact_id,
            recipient: d.recipient,
            address: d.address,
            state: d.state.as_str().into(),
            detail: d.detail,
            outbound_message_id: d.outbound_id,
            due_at: d.due_at.map(|t| t.to_string()),
            read_at: d.read_at.map(|t| t.to_string()),
            history: d
                .history
                .into_iter()
                .map(|(status, at, detail)| DeliveryStepDto { status, at: at.to_string(), detail })
                .collect(),
            created_by: d.created_by,
            created_at: d.created_at.to_string(),
            updated_at: d.updated_at.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeskNoteDto {
    pub id: i64,
    pub body: String,
    /// `user:NAME` or `api`.
    pub created_by: String,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeskMessageDto {
    pub id: i64,
    /// The client (brand) it was taken for.
    pub client_id: i64,
    /// The protocol version it was taken under.
    pub protocol_version: i64,
    pub caller_type: String,
    pub caller_type_name: String,
    pub answers: Vec<DeskAnswerDto>,
    pub urgent: bool,
    /// Why it is urgent, or why not when the rules suggested it.
    pub urgent_reason: Option<String>,
    /// Why the protocol's rules suggested urgent, when they did.
    pub suggested_urgent: Option<String>,
    /// For an urgent message: whether someone has confirmed they have it (until timed
    /// escalation, that is the client checking in or an operator marking it retrieved);
    /// `null` for a routine one.
    pub confirmed: Option<bool>,
    /// Whether the client was in business hours when it was taken.
    pub business_hours: bool,
    /// `held` (waiting for a recap or check-in), `delivering`, `delivered`, `failed` (nothing
    /// reached anyone) or `retrieved`.
    #[schema(schema_with = super::openapi::desk_status)]
    pub status: String,
    /// Every delivery: how, to whom, and where it stands.
    pub deliveries: Vec<DeskDeliveryDto>,
    /// Operators' notes, oldest first.
    pub notes: Vec<DeskNoteDto>,
    /// `user:NAME` or `api`.
    pub taken_by: String,
    pub taken_at: String,
    pub retrieved_by: Option<String>,
    pub retrieved_at: Option<String>,
    /// The job it is about (a lead's job once the lead was made one).
    pub job_id: Option<i64>,
    /// The lead it is about, until it is made a job.
    pub lead_id: Option<i64>,
    /// For an urgent message whose caller type has an urgent flow: where its escalation
    /// stands (the timeline only on `GET /desk/messages/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationDto>,
}

/// An urgent message's escalation.
#[derive(Serialize, ToSchema)]
pub struct EscalationDto {
    #[schema(schema_with = super::openapi::escalation_state)]
    pub state: String,
    /// `Escalating: step 2 of 3`, `Confirmed by Ben Ortiz (replied "1ok")`, `Nobody confirmed`.
    pub summary: String,
    /// The round (from 1) and step (from 1) it is at, or ended at.
    pub round: u32,
    pub step: usize,
    pub steps: usize,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub confirmed_by: Option<String>,
    pub confirmed_how: Option<String>,
    /// The operator's reason, when marked at the desk.
    pub confirmed_note: Option<String>,
    /// Every attempt and answer, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<EscalationEntryDto>>,
}

/// One line of an escalation's timeline.
#[derive(Serialize, ToSchema)]
pub struct EscalationEntryDto {
    pub at: String,
    pub round: u32,
    /// From 1; 0 for the escalation as a whole.
    pub step: usize,
    /// `started`, `sent`, `skipped`, `waiting`, `passed`, `confirmed`, `thanked`, `told`,
    /// `nobody_reached`, `exhausted`, `fallback` (the client's fallback alerted),
    /// `fallback_skipped`.
    pub kind: String,
    /// The step's action.
    pub action: Option<String>,
    /// Whom the step named (`On call for Nights (cell)`).
    pub target: Option<String>,
    /// Who that was when it fired.
    pub person: Option<String>,
    pub address: Option<String>,
    /// What was sent, or why the step was skipped.
    pub detail: Option<String>,
    /// The outbound text, when one was sent (`GET /messages/{id}`).
    pub outbound_message_id: Option<i64>,
}

impl EscalationDto {
    pub fn of(e: Escalation, timeline: Option<Vec<Entry>>) -> EscalationDto {
        EscalationDto {
            state: e.run.state.as_str().into(),
            summary: e.summary(),
            round: e.run.at.round,
            step: e.run.at.step + 1,
            steps: e.policy.steps.len(),
            started_at: e.started_at.to_string(),
            ended_at: e.ended_at.map(|t| t.to_string()),
            confirmed_by: e.confirmed_by,
            confirmed_how: e.confirmed_how,
            confirmed_note: e.confirmed_note,
            timeline: timeline.map(|t| {
                t.into_iter()
                    .map(|x| EscalationEntryDto {
                        at: x.at.to_string(),
                        round: x.round,
                        step: x.step,
                        kind: x.kind,
                        action: x.action,
                        target: x.target,
                        person: x.person,
                        address: x.address,
                        detail: x.detail,
                        outbound_message_id: x.sms_id,
                    })
                    .collect()
            }),
        }
    }
}

/// The message with its escalation (and, with `timeline`, every line of it).
pub async fn with_escalation(
    state: &AppState,
    org: switchboard_core::ids::OrgId,
    m: DeskMessage,
    timeline: bool,
) -> Result<DeskMessageDto, ApiError> {
    let e = escalation_store::of_message(&state.db, org, m.id).await?;
    let lines = match (&e, timeline) {
        (Some(e), true) => Some(escalation_store::timeline(&state.db, org, e.id).await?),
        _ => None,
    };
    let mut dto = DeskMessageDto::from(m);
    if let Some(e) = e {
        dto.attach(e, lines);
    }
    Ok(dto)
}

impl DeskMessageDto {
    /// Adds the message's escalation: confirmed when someone confirmed it there too.
    fn attach(&mut self, e: Escalation, timeline: Option<Vec<Entry>>) {
        self.confirmed = Some(self.confirmed == Some(true) || e.run.state == EscalationState::Confirmed);
        self.escalation = Some(EscalationDto::of(e, timeline));
    }
}

impl From<DeskMessage> for DeskMessageDto {
    fn from(m: DeskMessage) -> Self {
        DeskMessageDto {
            id: m.id,
            client_id: m.brand_id.0,
            protocol_version: m.protocol_version,
            caller_type: m.caller_type,
            caller_type_name: m.caller_type_name,
            answers: m
                .answers
                .into_iter()
                .map(|a| DeskAnswerDto { key: a.key, label: a.label, value: a.value })
                .collect(),
            urgent: m.urgent,
            urgent_reason: m.urgent_reason,
            suggested_urgent: m.suggested,
            confirmed: m.urgent.then_some(m.status == DeskStatus::Retrieved),
            business_hours: m.in_hours,
            status: m.status.as_str().to_string(),
            deliveries: m.deliveries.into_iter().map(DeskDeliveryDto::from).collect(),
            notes: m
                .notes
                .into_iter()
                .map(|n| DeskNoteDto {
                    id: n.id,
                    body: n.body,
                    created_by: n.created_by,
                    created_at: n.created_at.to_string(),
                })
                .collect(),
            taken_by: m.taken_by,
            taken_at: m.taken_at.to_string(),
            retrieved_by: m.retrieved_by,
            retrieved_at: m.retrieved_at.map(|t| t.to_string()),
            job_id: match m.about {
                Some(About::Job(j)) => Some(j.0),
                _ => None,
            },
            lead_id: match m.about {
                Some(About::Lead(l)) => Some(l.0),
                _ => None,
            },
            escalation: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeskMessageEnvelope {
    pub message: DeskMessageDto,
}

#[derive(Serialize, ToSchema)]
pub struct DeskMessageList {
    pub messages: Vec<DeskMessageDto>,
    /// More match: ask again with this `offset` for the next page.
    pub next_offset: Option<i64>,
}

/// A message to take.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeskMessage {
    /// The client (brand) whose line rang; it needs a protocol.
    #[schema(minimum = 1)]
    pub client_id: i64,
    /// A caller type's key in the client's protocol (`patient`).
    #[schema(min_length = 1, max_length = 40, pattern = r"^[a-z0-9_]+$")]
    pub caller_type: String,
    /// Each field's answer by its key (`{"callback_number": "(617) 555-0199"}`); checked by the
    /// field's type, a national number read by the client's country.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub answers: BTreeMap<String, String>,
    /// The operator's call; absent follows the protocol's rules. Not urgent against the rules
    /// needs an `urgent_reason`.
    pub urgent: Option<bool>,
    /// Why it is urgent, or why not when the rules say it is.
    #[schema(max_length = 300)]
    pub urgent_reason: Option<String>,
    /// The client's open job it is about. A technician who accepts the urgent message from
    /// their link can take the job and head out (the customer is told as usual).
    #[schema(minimum = 1)]
    pub job_id: Option<i64>,
    /// Or the client's open lead it is about: taken that way, the lead is made a job (a lead
    /// made a job already stands for its job).
    #[schema(minimum = 1)]
    pub lead_id: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeskMessageQuery {
    /// Only this client's messages.
    pub client_id: Option<i64>,
    /// Only messages in this state.
    #[param(schema_with = super::openapi::desk_status)]
    pub status: Option<String>,
    /// Only urgent (`true`) or routine (`false`) messages.
    pub urgent: Option<bool>,
    /// Only messages taken on this date (`2026-12-08`), in each client's zone.
    #[param(value_type = Option<String>, format = Date)]
    pub date: Option<String>,
    /// Only messages with all these words in what the caller said, the caller type or why it is
    /// urgent (any case; a number matches however it was written).
    pub q: Option<String>,
    /// At most this many (default 100; 1-500, a value outside is brought within).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Skip this many (the next page: the last answer's `next_offset`); at most 5,000.
    #[param(minimum = 0, maximum = 5000)]
    pub offset: Option<i64>,
}

#[utoipa::path(post, path = "/desk/messages", tag = "desk", request_body = NewDeskMessage,
    params(("Idempotency-Key" = Option<String>, Header, max_length = 200, description = "Sent again with the same key (a retry after a timeout), the message is taken once: the answer is the message the first request took, with `Idempotent-Replayed: true`, and nothing more is delivered")),
    responses((status = 201, description = "Taken; its deliveries are queued by the caller type's rules (none: held for check-in)", body = DeskMessageEnvelope),
              (status = 404, description = "No such client", body = ErrorBody),
              (status = 422, description = "An answer was refused (`answers.callback_number`), or the client has no protocol", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<NewDeskMessage>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let submit_key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) if !k.trim().is_empty() && k.len() <= 200 => Some(format!("api:{}", k.trim())),
        Some(_) => {
            return Err(Error::invalid("Idempotency-Key", "a key of 1 to 200 printable characters").into());
        }
    };
    let input = TakeInput {
        caller_type: body.caller_type,
        answers: body.answers,
        urgent: body.urgent,
        urgent_reason: body.urgent_reason.unwrap_or_default(),
        about: match (body.job_id, body.lead_id) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid("lead_id", "give a job_id or a lead_id, not both").into());
            }
            (Some(j), None) => Some(About::Job(JobId(j))),
            (None, Some(l)) => Some(About::Lead(LeadId(l))),
            (None, None) => None,
        },
        submit_key,
    };
    let (m, replayed) =
        messages::take_once(&state.db, state.clock.as_ref(), caller.org, BrandId(body.client_id), "api", &input)
            .await
            .map_err(|e| not_found_as(e, "client"))?;
    let body = Json(DeskMessageEnvelope { message: with_escalation(&state, caller.org, m, true).await? });
    Ok(if replayed {
        (StatusCode::CREATED, [("idempotent-replayed", "true")], body).into_response()
    } else {
        (StatusCode::CREATED, body).into_response()
    })
}

#[utoipa::path(get, path = "/desk/messages", tag = "desk", params(DeskMessageQuery),
    responses((status = 200, description = "Newest first, urgent ones still held before the rest", body = DeskMessageList)))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(q): ApiQuery<DeskMessageQuery>,
) -> Result<Json<DeskMessageList>, ApiError> {
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(DeskStatus::parse(s).ok_or_else(|| {
            let all: Vec<&str> = DeskStatus::ALL.iter().map(|d| d.as_str()).collect();
            ApiError::from(switchboard_core::Error::invalid(
                "status",
                format!("\"{s}\" is not a message state ({})", all.join(", ")),
            ))
        })?),
    };
    let date = match q.date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(d.parse::<jiff::civil::Date>().map_err(|_| {
            ApiError::from(switchboard_core::Error::invalid("date", format!("\"{d}\" is not a date like 2026-12-08")))
        })?),
    };
    let filter = Filter { brand: q.client_id.map(BrandId), status, urgent: q.urgent, date, only: None, text: q.q };
    let (limit, offset) = (q.limit.unwrap_or(100).clamp(1, 500), q.offset.unwrap_or(0).clamp(0, 5000));
    let (found, more) = messages::list_from(&state.db, caller.org, &filter, offset, limit).await?;
    let next_offset = more.then_some(offset + limit);
    let ids: Vec<i64> = found.iter().map(|m| m.id).collect();
    let escalations = escalation_store::of_messages(&state.db, caller.org, &ids).await?;
    let messages = found
        .into_iter()
        .map(|m| {
            let e = escalations.iter().find(|e| e.message_id == m.id).cloned();
            let mut dto = DeskMessageDto::from(m);
            if let Some(e) = e {
                dto.attach(e, None);
            }
            dto
        })
        .collect();
    Ok(Json(DeskMessageList { messages, next_offset }))
}

#[utoipa::path(get, path = "/desk/messages/{id}", tag = "desk", params(("id" = i64, Path, description = "Message id")),
    responses((status = 200, body = DeskMessageEnvelope), (status = 404, description = "No such message", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<DeskMessageEnvelope>, ApiError> {
    let m = messages::get(&state.db, caller.org, id).await.map_err(|e| not_found_as(e, "message"))?;
    Ok(Json(DeskMessageEnvelope { message: with_escalation(&state, caller.org, m, true).await? }))
}

/// How an urgent message was confirmed outside its flow.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// How it was confirmed ("Dr. Lee called back").
    #[schema(min_length = 1, max_length = 300, pattern = r"\S")]
    pub reason: String,
}

#[utoipa::path(post, path = "/desk/messages/{id}/confirm", tag = "desk", params(("id" = i64, Path, description = "Message id")), request_body = ConfirmBody,
    responses((status = 200, description = "Confirmed: every pending step is stopped, and whoever was texted is told it is handled", body = DeskMessageEnvelope),
              (status = 404, description = "No such message", body = ErrorBody),
              (status = 422, description = "No reason, no escalation, or already confirmed (naming by whom)", body = ErrorBody)))]
pub async fn confirm(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<ConfirmBody>,
) -> Result<Json<DeskMessageEnvelope>, ApiError> {
    drive::confirm_at_desk(
        &state.db,
        state.clock.as_ref(),
        &state.config.public_url,
        caller.org,
        id,
        "api",
        &body.reason,
    )
    .await
    .map_err(|e| not_found_as(e, "message"))?;
    let m = messages::get(&state.db, caller.org, id).await?;
    Ok(Json(DeskMessageEnvelope { message: with_escalation(&state, caller.org, m, true).await? }))
}

#[utoipa::path(post, path = "/desk/messages/{id}/retrieve", tag = "desk", params(("id" = i64, Path, description = "Message id")),
    responses((status = 200, description = "Retrieved (again: unchanged)", body = DeskMessageEnvelope),
              (status = 404, description = "No such message", body = ErrorBody)))]
pub async fn retrieve(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<DeskMessageEnvelope>, ApiError> {
    let m = messages::retrieve(&state.db, state.clock.as_ref(), caller.org, id, "api")
        .await
        .map_err(|e| not_found_as(e, "message"))?;
    Ok(Json(DeskMessageEnvelope { message: with_escalation(&state, caller.org, m, true).await? }))
}

#[utoipa::path(post, path = "/desk/messages/{id}/redeliver", tag = "desk", params(("id" = i64, Path, description = "Message id")),
    responses((status = 200, description = "Sent again to everyone it was emailed, texted or securely sent to, the same ways", body = DeskMessageEnvelope),
              (status = 404, description = "No such message", body = ErrorBody),
              (status = 422, description = "It was not emailed, texted or securely sent to any contact", body = ErrorBody)))]
pub async fn redeliver(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<DeskMessageEnvelope>, ApiError> {
    let m = switchboard_core::desk::delivery::redeliver(&state.db, state.clock.as_ref(), caller.org, id, "api")
        .await
        .map_err(|e| not_found_as(e, "message"))?;
    Ok(Json(DeskMessageEnvelope { message: with_escalation(&state, caller.org, m, true).await? }))
}

/// Where to forward a message.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardBody {
    /// An email address, or a cell number (a national one read by the client's country).
    #[schema(min_length = 1, max_length = 254, pattern = r"\S")]
    pub to: String,
}

#[utoipa::path(post, path = "/desk/messages/{id}/forward", tag = "desk", params(("id" = i64, Path, description = "Message id")), request_body = ForwardBody,
    responses((status = 200, description = "Forwarded: an email to an address, a text to a number", body = DeskMessageEnvelope),
              (status = 404, description = "No such message", body = ErrorBody),
              (status = 422, description = "`to` is neither an email address nor a number", body = ErrorBody)))]
pub async fn forward(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<ForwardBody>,
) -> Result<Json<DeskMessageEnvelope>, ApiError> {
    let m = switchboard_core::desk::delivery::forward(&state.db, state.clock.as_ref(), caller.org, id, &body.to, "api")
        .await
        .map_err(|e| not_found_as(e, "message"))?;
    Ok(Json(DeskMessageEnvelope { message: with_escalation(&state, caller.org, m, true).await? }))
}

/// A note to add.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub body: String,
}

#[utoipa::path(post, path = "/desk/messages/{id}/notes", tag = "desk", params(("id" = i64, Path, description = "Message id")), request_body = NoteBody,
    responses((status = 201, description = "Added", body = DeskMessageEnvelope),
              (status = 404, description = "No such message", body = ErrorBody),
              (status = 422, description = "The note is empty or too long", body = ErrorBody)))]
pub async fn add_note(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<NoteBody>,
) -> Result<(StatusCode, Json<DeskMessageEnvelope>), ApiError> {
    let m = messages::add_note(&state.db, state.clock.as_ref(), caller.org, id, &body.body, "api")
        .await
        .map_err(|e| not_found_as(e, "message"))?;
    Ok((
        StatusCode::CREATED,
        Json(DeskMessageEnvelope { message: with_escalation(&state, caller.org, m, true).await? }),
    ))
}
