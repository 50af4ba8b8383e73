//! `/api/v1/messages`: send a text from a brand's number and follow its delivery status.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::ids::BrandId;
use switchboard_core::messaging::{self, Message, MessageId};
use utoipa::{IntoParams, ToSchema};

use super::not_found_as;
use super::{ApiId, ApiJson, ApiQuery};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct MessageDto {
    pub id: i64,
    pub brand_id: Option<i64>,
    /// `sms` or `email`.
    pub channel: String,
    /// `outbound` or `inbound`.
    pub direction: String,
    pub from: String,
    pub to: String,
    pub body: String,
    /// `queued`, `sending`, `sent`, `delivered`, `undelivered`, `failed`, `suppressed` (the
    /// recipient opted out) or `received`.
    pub status: String,
    /// The provider's id (Twilio `MessageSid`) once it accepted the message.
    pub provider_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Message> for MessageDto {
    fn from(m: Message) -> Self {
        MessageDto {
            id: m.id.0,
            brand_id: m.brand_id.map(|b| b.0),
            channel: m.channel.as_str().to_string(),
            direction: m.direction.to_string(),
            from: m.from,
            to: m.to,
            body: m.body,
            status: m.status.as_str().to_string(),
            provider_id: m.provider_id,
            error_code: m.error_code,
            error_message: m.error_message,
            created_at: m.created_at.to_string(),
            updated_at: m.updated_at.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MessageEnvelope {
    pub message: MessageDto,
}

#[derive(Serialize, ToSchema)]
pub struct MessageList {
    pub messages: Vec<MessageDto>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// The brand that sends it (its SMS number, or its inbound email address as the sender).
    pub brand_id: i64,
    /// `sms` (default) or `email`.
    #[schema(schema_with = super::openapi::channel)]
    pub channel: Option<String>,
    /// A phone number in any common format (stored as E.164), or an email address.
    #[schema(min_length = 1, pattern = r"\S")]
    pub to: String,
    /// Required for email.
    #[schema(max_length = 200)]
    pub subject: Option<String>,
    /// A text is at most 1600 characters.
    #[schema(min_length = 1, pattern = r"\S")]
    pub body: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only messages to or from this address (E.164 for phones).
    pub address: Option<String>,
    /// At most this many, newest first (default 100; 1-500, a value outside is brought within).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[utoipa::path(post, path = "/messages", tag = "messages", request_body = SendMessage,
    responses((status = 202, description = "Queued for sending (or recorded as suppressed)", body = MessageEnvelope),
              (status = 422, body = ErrorBody)))]
pub async fn send(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<SendMessage>,
) -> Result<(StatusCode, Json<MessageEnvelope>), ApiError> {
    let (db, clock, brand) = (&state.db, state.clock.as_ref(), BrandId(body.brand_id));
    let message = match body.channel.as_deref().unwrap_or("sms") {
        "sms" => messaging::send_sms(db, clock, caller.org, brand, &body.to, &body.body).await?,
        "email" => {
            let subject = body.subject.as_deref().unwrap_or_default();
            messaging::send_email(db, clock, caller.org, brand, &body.to, subject, &body.body).await?
        }
        other => {
            return Err(switchboard_core::Error::invalid(
                "channel",
                format!("\"{other}\" is not a channel (sms, email)"),
            )
            .into());
        }
    };
    Ok((StatusCode::ACCEPTED, Json(MessageEnvelope { message: message.into() })))
}

#[utoipa::path(get, path = "/messages", tag = "messages", params(ListQuery), responses((status = 200, body = MessageList)))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<MessageList>, ApiError> {
    let address = q.address.as_deref().map(str::trim).filter(|a| !a.is_empty()).map(|a| {
        switchboard_core::parse::PhoneE164::parse(a)
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|_| a.to_lowercase())
    });
    let messages = messaging::list(&state.db, caller.org, address.as_deref(), q.limit.unwrap_or(100)).await?;
    Ok(Json(MessageList { messages: messages.into_iter().map(MessageDto::from).collect() }))
}

#[utoipa::path(get, path = "/messages/{id}", tag = "messages", params(("id" = i64, Path, description = "Message id")),
    responses((status = 200, body = MessageEnvelope), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<MessageEnvelope>, ApiError> {
    let message =
        messaging::message(&state.db, caller.org, MessageId(id)).await.map_err(|e| not_found_as(e, "message"))?;
    Ok(Json(MessageEnvelope { message: message.into() }))
}
