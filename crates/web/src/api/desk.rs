//! The message desk's protocols over the API: `GET`/`PUT /brands/{id}/protocol` (each save a
//! new version) and `GET /protocol-templates` (the seed examples a client starts from).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use switchboard_core::desk::flow::{Action, Channel, Policy, Repeat, Step, Target};
use switchboard_core::desk::rules::{DeliveryRule, DeliveryRuleInput};
use switchboard_core::desk::{self, CallerTypeInput, ProtocolInput, StoredProtocol};
use switchboard_core::error::Validator;
use switchboard_core::form_fields::{CustomField, CustomFieldInput};
use switchboard_core::ids::BrandId;
use utoipa::ToSchema;

use super::{ApiId, ApiJson, not_found_as};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// A field the operator fills in for a caller type.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtocolField {
    /// Stable once saved; absent on a new field (made from the label).
    #[schema(max_length = 40, pattern = r"^[A-Za-z0-9_]*$")]
    pub key: Option<String>,
    #[schema(min_length = 1, max_length = 80, pattern = r"\S")]
    pub label: String,
    #[serde(rename = "type")]
    #[schema(schema_with = super::openapi::field_kind)]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    /// The choices of a `choice` field (2 to 30).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 30)]
    pub options: Vec<String>,
    #[schema(max_length = 200)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// Who may be calling, with the fields captured for them.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtocolCallerType {
    /// Stable once saved (`doctor_or_lab`); absent on a new one (made from the name).
    #[schema(max_length = 40, pattern = r"^[a-z0-9_]*$")]
    pub key: Option<String>,
    #[schema(min_length = 1, max_length = 60, pattern = r"\S")]
    pub name: String,
    #[schema(min_items = 1, max_items = 30)]
    pub fields: Vec<ProtocolField>,
    /// How its messages reach the client's contacts; none: held for check-in. A message goes
    /// by every rule matching its urgency and the time it was taken; an urgent one with no
    /// urgent rule follows the routine rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 20)]
    pub deliveries: Vec<DeliveryRuleDto>,
    /// What an urgent message of this type runs until someone confirms: its steps in order,
    /// each an action to its targets and a wait for a confirmation. Absent: urgent messages
    /// follow the urgent delivery rules only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgent_flow: Option<UrgentFlowDto>,
}

/// An urgent flow.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UrgentFlowDto {
    #[schema(min_items = 1, max_items = 20)]
    pub steps: Vec<FlowStepDto>,
    /// `until_confirmed` (at most 20 rounds), or `times` with `rounds`.
    #[schema(schema_with = super::openapi::flow_repeat)]
    pub repeat: String,
    /// How many rounds, with `times`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 20)]
    pub rounds: Option<u32>,
}

/// One step of an urgent flow.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowStepDto {
    /// `text_confirm` asks for a reply code; `call_confirm` calls and asks for 1 (2 passes to
    /// the next step); `call_leave_message` does too, and leaves the message and the callback
    /// number when a machine answers; `live_patch` is skipped with its reason on the timeline
    /// (it needs the caller on the line: it comes with calls).
    #[schema(schema_with = super::openapi::flow_action)]
    pub action: String,
    #[schema(min_items = 1, max_items = 10)]
    pub targets: Vec<FlowTargetDto>,
    /// Minutes to wait for a confirmation before the next step (0: at once).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1440)]
    pub wait_minutes: u32,
}

/// Whom a step reaches: one of the client's contacts, whoever is on call for one of its
/// schedules when the step fires (everyone on call with `everyone`), or any number or address.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowTargetDto {
    #[schema(schema_with = super::openapi::flow_target_kind)]
    pub kind: String,
    /// With `contact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub contact_id: Option<i64>,
    /// With `on_call`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub schedule_id: Option<i64>,
    /// With `contact` and `on_call`; `cell` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = super::openapi::flow_channel)]
    pub channel: Option<String>,
    /// With `on_call`: everyone on call, not only the first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub everyone: bool,
    /// With `address`: a number or an email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 254)]
    pub address: Option<String>,
}

fn flow_dto(p: Policy) -> UrgentFlowDto {
    let (repeat, rounds) = match p.repeat {
        Repeat::UntilConfirmed => ("until_confirmed", None),
        Repeat::Times(n) => ("times", Some(n)),
    };
    UrgentFlowDto {
        repeat: repeat.into(),
        rounds,
        steps: p
            .steps
            .into_iter()
            .map(|s| FlowStepDto {
                action: switchboard_core::escalation::drive::action_str(s.action).into(),
                wait_minutes: s.wait_minutes,
                targets: s.targets.into_iter().map(target_dto).collect(),
            })
            .collect(),
    }
}

fn target_dto(t: Target) -> FlowTargetDto {
    let mut d = FlowTargetDto {
        kind: String::new(),
        contact_id: None,
        schedule_id: None,
        channel: None,
        everyone: false,
        address: None,
    };
    match t {
        Target::Contact { id, channel } => {
            d.kind = "contact".into();
            d.contact_id = Some(id);
            d.channel = Some(channel.as_str().into());
        }
        Target::OnCall { schedule, channel, all } => {
            d.kind = "on_call".into();
            d.schedule_id = Some(schedule);
            d.channel = Some(channel.as_str().into());
            d.everyone = all;
        }
        Target::Address { value } => {
            d.kind = "address".into();
            d.address = Some(value);
        }
    }
    d
}

/// A target as the core holds it; refusals are named `field`.
fn target_input(t: FlowTargetDto, field: String, v: &mut Validator) -> Option<Target> {
    let channel = t.channel.as_deref().unwrap_or("cell");
    let channel = Channel::from_key(channel).unwrap_or_else(|| {
        v.add(field.clone(), format!("\"{channel}\" is not a channel (cell, home, office, email)"));
        Channel::Cell
    });
    match (t.kind.as_str(), t.contact_id, t.schedule_id, t.address) {
        ("contact", Some(id), _, _) => Some(Target::Contact { id, channel }),
        ("on_call", _, Some(schedule), _) => Some(Target::OnCall { schedule, channel, all: t.everyone }),
        ("address", _, _, Some(value)) => Some(Target::Address { value }),
        ("contact", ..) => {
            v.add(field, "give the contact_id");
            None
        }
        ("on_call", ..) => {
            v.add(field, "give the schedule_id");
            None
        }
        ("address", ..) => {
            v.add(field, "give the number or email address");
            None
        }
        (other, ..) => {
            v.add(field, format!("\"{other}\" is not a target (contact, on_call, address)"));
            None
        }
    }
}

/// The flow as the core holds it; refusals name `caller_types.N.urgent_flow...`.
fn flow_input(n: usize, d: UrgentFlowDto, v: &mut Validator) -> Policy {
    let at = |f: String| format!("caller_types.{n}.urgent_flow.{f}");
    let repeat = match (d.repeat.as_str(), d.rounds) {
        ("until_confirmed", _) => Repeat::UntilConfirmed,
        ("times", Some(r)) if (1..=20).contains(&r) => Repeat::Times(r),
        ("times", _) => {
            v.add(at("rounds".into()), "give the number of rounds, 1 to 20");
            Repeat::Times(1)
        }
        (other, _) => {
            v.add(at("repeat".into()), format!("\"{other}\" is not a repeat (until_confirmed, times)"));
            Repeat::Times(1)
        }
    };
    let mut steps = Vec::new();
    for (i, s) in d.steps.into_iter().enumerate() {
        let step = i + 1;
        let action = Action::from_key(&s.action).unwrap_or_else(|| {
            v.add(at(format!("steps.{step}.action")), format!("\"{}\" is not an action", s.action));
            Action::Text
        });
        let mut targets = Vec::new();
        for (j, t) in s.targets.into_iter().enumerate() {
            let field = at(format!("steps.{step}.targets.{}", j + 1));
            if let Some(t) = target_input(t, field, v) {
                targets.push(t);
            }
        }
        steps.push(Step { action, targets, wait_minutes: s.wait_minutes });
    }
    Policy { steps, repeat }
}

/// A delivery rule.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRuleDto {
    /// For urgent messages (true) or routine ones.
    #[serde(default)]
    pub urgent: bool,
    /// In the client's zone: business hours are its working hours, holidays are after hours.
    #[serde(default = "always")]
    #[schema(schema_with = super::openapi::delivery_period)]
    pub when: String,
    #[schema(schema_with = super::openapi::delivery_method)]
    pub method: String,
    /// The client's contact ids (`check_in` takes none).
    #[serde(default)]
    #[schema(max_items = 10)]
    pub contacts: Vec<i64>,
}

fn always() -> String {
    "always".into()
}

impl From<DeliveryRule> for DeliveryRuleDto {
    fn from(r: DeliveryRule) -> Self {
        DeliveryRuleDto {
            urgent: r.urgent,
            when: r.when.as_str().into(),
            method: r.method.as_str().into(),
            contacts: r.contacts,
        }
    }
}

impl From<DeliveryRuleDto> for DeliveryRuleInput {
    fn from(r: DeliveryRuleDto) -> Self {
        DeliveryRuleInput { urgent: r.urgent, when: r.when, method: r.method, contacts: r.contacts }
    }
}

/// A client's protocol to save.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtocolBody {
    /// The version you read (0 when there was none): a protocol saved since is refused with 409
    /// `stale`. Omitted: saved over whatever is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub version: Option<i64>,
    /// What the operator says when answering; `{operator}` and `{client}` are filled in.
    #[schema(min_length = 1, max_length = 300, pattern = r"\S")]
    pub answer_phrase: String,
    /// Shown to the operator during the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 4000)]
    pub account_notes: Option<String>,
    #[schema(min_items = 1, max_items = 10)]
    pub caller_types: Vec<ProtocolCallerType>,
    /// When the brand's urgent words in an answer suggest urgent; absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = super::openapi::urgent_words_period)]
    pub urgent_words: Option<String>,
    /// Every message taken after hours is suggested urgent.
    #[serde(default)]
    pub urgent_after_hours: bool,
    /// Local times of the daily recap (`08:00`, `6:00 PM`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 4)]
    pub recap_times: Vec<RecapTime>,
    /// Days the client is closed besides its weekly hours (`2026-12-25`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 60)]
    pub holidays: Vec<Holiday>,
    /// Whom to alert when an urgent message's flow reaches nobody, or ends with nobody
    /// confirming: a contact by `cell` (a text) or `email`, or an `address`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FlowTargetDto>,
}

/// `08:00` or `8:00 AM`.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, min_length = 3, max_length = 8)]
pub struct RecapTime(pub String);

/// `2026-12-25`.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = Date, max_length = 10)]
pub struct Holiday(pub String);

/// A saved version of a client's protocol.
#[derive(Serialize, ToSchema)]
pub struct ProtocolDto {
    pub brand_id: i64,
    pub version: i64,
    /// `user:NAME` or `api`.
    pub saved_by: String,
    pub saved_at: String,
    pub answer_phrase: String,
    pub account_notes: Option<String>,
    pub caller_types: Vec<ProtocolCallerType>,
    #[schema(schema_with = super::openapi::urgent_words_period)]
    pub urgent_words: String,
    pub urgent_after_hours: bool,
    /// `08:00`.
    pub recap_times: Vec<String>,
    /// `2026-12-25`.
    pub holidays: Vec<String>,
    /// Alerted when an urgent message's flow reaches nobody or ends unconfirmed.
    pub fallback: Option<FlowTargetDto>,
}

#[derive(Serialize, ToSchema)]
pub struct ProtocolEnvelope {
    pub protocol: ProtocolDto,
}

/// A protocol a new client can start from: `PUT` its `protocol` to a brand as it is, or edited.
#[derive(Serialize, ToSchema)]
pub struct ProtocolTemplate {
    pub key: &'static str,
    pub name: &'static str,
    /// The people its delivery rules go to, by role: `POST /brands/{id}/protocol/template`
    /// adds a contact for each role the client lacks and saves the rules with them.
    pub roles: Vec<&'static str>,
    pub protocol: ProtocolBody,
}

#[derive(Serialize, ToSchema)]
pub struct ProtocolTemplateList {
    pub templates: Vec<ProtocolTemplate>,
}

fn field_dto(f: CustomField) -> ProtocolField {
    ProtocolField {
        key: Some(f.key),
        label: f.label,
        kind: f.kind.as_str().to_string(),
        required: f.required,
        options: f.options,
        help: f.help,
    }
}

fn dto(p: StoredProtocol) -> ProtocolDto {
    ProtocolDto {
        brand_id: p.brand_id.0,
        version: p.version,
        saved_by: p.saved_by,
        saved_at: p.saved_at.to_string(),
        answer_phrase: p.protocol.answer_phrase,
        account_notes: p.protocol.account_notes,
        caller_types: p
            .protocol
            .caller_types
            .into_iter()
            .map(|c| ProtocolCallerType {
                key: Some(c.key),
                name: c.name,
                fields: c.fields.into_iter().map(field_dto).collect(),
                deliveries: c.deliveries.into_iter().map(DeliveryRuleDto::from).collect(),
                urgent_flow: c.urgent_flow.map(flow_dto),
            })
            .collect(),
        urgent_words: p.protocol.urgency.words.map(|w| w.as_str()).unwrap_or("never").to_string(),
        urgent_after_hours: p.protocol.urgency.after_hours,
        recap_times: p.protocol.recap_times.iter().map(|t| t.strftime("%H:%M").to_string()).collect(),
        holidays: p.protocol.holidays.iter().map(|d| d.to_string()).collect(),
        fallback: p.protocol.fallback.map(target_dto),
    }
}

fn input(body: ProtocolBody) -> Result<ProtocolInput, switchboard_core::Error> {
    let mut v = Validator::new();
    let input = ProtocolInput {
        answer_phrase: body.answer_phrase,
        account_notes: body.account_notes.unwrap_or_default(),
        caller_types: body
            .caller_types
            .into_iter()
            .enumerate()
            .map(|(i, c)| CallerTypeInput {
                urgent_flow: c.urgent_flow.map(|f| flow_input(i + 1, f, &mut v)),
                key: c.key,
                name: c.name,
                fields: c
                    .fields
                    .into_iter()
                    .map(|f| CustomFieldInput {
                        key: f.key,
                        label: f.label,
                        kind: f.kind,
                        required: f.required,
                        options: f.options.join("\n"),
                        help: f.help.unwrap_or_default(),
                    })
                    .collect(),
                deliveries: c.deliveries.into_iter().map(DeliveryRuleInput::from).collect(),
            })
            .collect(),
        urgent_words: body.urgent_words.unwrap_or_default(),
        urgent_after_hours: body.urgent_after_hours,
        recap_times: body.recap_times.into_iter().map(|t| t.0).collect::<Vec<_>>().join("\n"),
        holidays: body.holidays.into_iter().map(|d| d.0).collect::<Vec<_>>().join("\n"),
        fallback: body.fallback.and_then(|t| target_input(t, "fallback".into(), &mut v)),
    };
    v.finish()?;
    Ok(input)
}

/// A template's input as a body to `PUT`.
fn body(p: ProtocolInput) -> ProtocolBody {
    ProtocolBody {
        version: None,
        answer_phrase: p.answer_phrase,
        account_notes: Some(p.account_notes).filter(|n| !n.is_empty()),
        caller_types: p
            .caller_types
            .into_iter()
            .map(|c| ProtocolCallerType {
                key: c.key,
                name: c.name,
                fields: c
                    .fields
                    .into_iter()
                    .map(|f| ProtocolField {
                        key: f.key,
                        label: f.label,
                        kind: f.kind,
                        required: f.required,
                        options: f.options.lines().map(str::to_string).filter(|o| !o.is_empty()).collect(),
                        help: Some(f.help).filter(|h| !h.is_empty()),
                    })
                    .collect(),
                deliveries: Vec::new(),
                urgent_flow: None,
            })
            .collect(),
        urgent_words: Some(p.urgent_words).filter(|w| !w.is_empty()),
        urgent_after_hours: p.urgent_after_hours,
        recap_times: switchboard_core::desk::rules::read_recap_times(&p.recap_times)
            .unwrap_or_default()
            .into_iter()
            .map(|t| RecapTime(t.strftime("%H:%M").to_string()))
            .collect(),
        holidays: Vec::new(),
        fallback: None,
    }
}

#[utoipa::path(get, path = "/brands/{id}/protocol", tag = "desk", params(("id" = i64, Path, description = "Brand (client) id")),
    responses((status = 200, description = "The client's protocol as last saved", body = ProtocolEnvelope),
              (status = 404, description = "No such brand, or no protocol saved for it yet", body = ErrorBody)))]
pub async fn get_protocol(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<ProtocolEnvelope>, ApiError> {
    let brand = switchboard_core::tenancy::brand(&state.db, caller.org, BrandId(id))
        .await
        .map_err(|e| not_found_as(e, "brand"))?;
    match desk::current(&state.db, caller.org, brand.id).await? {
        Some(p) => Ok(Json(ProtocolEnvelope { protocol: dto(p) })),
        None => Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            format!("{} has no protocol yet: PUT one (GET /api/v1/protocol-templates has examples)", brand.name),
        )),
    }
}

#[utoipa::path(put, path = "/brands/{id}/protocol", tag = "desk", params(("id" = i64, Path, description = "Brand (client) id")), request_body = ProtocolBody,
    responses((status = 200, description = "Saved as a new version", body = ProtocolEnvelope),
              (status = 404, description = "No such brand", body = ErrorBody),
              (status = 409, description = "Stale: saved by someone else since `version`", body = ErrorBody),
              (status = 422, description = "A field was refused; `caller_types.2.fields.1.label` names a row, counted from 1", body = ErrorBody)))]
pub async fn put_protocol(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<ProtocolBody>,
) -> Result<Json<ProtocolEnvelope>, ApiError> {
    let seen = body.version;
    let saved = desk::save(&state.db, state.clock.as_ref(), caller.org, BrandId(id), "api", &input(body)?, seen)
        .await
        .map_err(|e| not_found_as(e, "brand"))?;
    Ok(Json(ProtocolEnvelope { protocol: dto(saved) }))
}

/// Which template to apply.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyTemplateBody {
    /// A key from `GET /protocol-templates`.
    #[schema(min_length = 1, max_length = 40)]
    pub template: String,
}

#[utoipa::path(post, path = "/brands/{id}/protocol/template", tag = "desk", params(("id" = i64, Path, description = "Brand (client) id")), request_body = ApplyTemplateBody,
    responses((status = 200, description = "The template saved as a new version, its roles added as contacts where missing", body = ProtocolEnvelope),
              (status = 404, description = "No such brand", body = ErrorBody),
              (status = 422, description = "No such template", body = ErrorBody)))]
pub async fn apply_template(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<ApplyTemplateBody>,
) -> Result<Json<ProtocolEnvelope>, ApiError> {
    let saved = desk::apply_template(&state.db, state.clock.as_ref(), caller.org, BrandId(id), "api", &body.template)
        .await
        .map_err(|e| not_found_as(e, "brand"))?;
    Ok(Json(ProtocolEnvelope { protocol: dto(saved) }))
}

#[utoipa::path(get, path = "/protocol-templates", tag = "desk",
    responses((status = 200, description = "The protocols a new client can start from", body = ProtocolTemplateList)))]
pub async fn list_templates(_caller: ApiCaller) -> Json<ProtocolTemplateList> {
    Json(ProtocolTemplateList {
        templates: desk::templates()
            .into_iter()
            .map(|t| ProtocolTemplate { key: t.key, name: t.name, roles: t.roles(), protocol: body(t.input) })
            .collect(),
    })
}

/// A way to reach a contact.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactMethodDto {
    #[schema(schema_with = super::openapi::contact_method)]
    pub kind: String,
    /// A number (any common format in; E.164 out, a national one read by the client's country)
    /// or an email address; a pager is either.
    #[schema(min_length = 1, max_length = 254, pattern = r"\S")]
    pub value: String,
}

#[derive(Serialize, ToSchema)]
pub struct ContactDto {
    pub id: i64,
    pub client_id: i64,
    pub name: String,
    pub title: Option<String>,
    /// Their sign-in, when they have one.
    pub user_id: Option<i64>,
    pub notes: Option<String>,
    /// In the order they are tried.
    pub methods: Vec<ContactMethodDto>,
}

impl From<switchboard_core::desk::contacts::Contact> for ContactDto {
    fn from(c: switchboard_core::desk::contacts::Contact) -> Self {
        ContactDto {
            id: c.id,
            client_id: c.brand_id.0,
            name: c.name,
            title: c.title,
            user_id: c.user_id.map(|u| u.0),
            notes: c.notes,
            methods: c
                .methods
                .into_iter()
                .map(|m| ContactMethodDto { kind: m.kind.as_str().to_string(), value: m.value })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContactEnvelope {
    pub contact: ContactDto,
}

#[derive(Serialize, ToSchema)]
pub struct ContactList {
    pub contacts: Vec<ContactDto>,
}

/// A contact to add, or the whole new state of one (its methods replace the old ones).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    #[schema(min_length = 1, max_length = 80, pattern = r"\S")]
    pub name: String,
    #[schema(max_length = 80)]
    pub title: Option<String>,
    #[schema(max_length = 500)]
    pub notes: Option<String>,
    #[schema(minimum = 1)]
    pub user_id: Option<i64>,
    #[serde(default)]
    #[schema(max_items = 10)]
    pub methods: Vec<ContactMethodDto>,
}

impl From<ContactBody> for switchboard_core::desk::contacts::ContactInput {
    fn from(b: ContactBody) -> Self {
        switchboard_core::desk::contacts::ContactInput {
            name: b.name,
            title: b.title.unwrap_or_default(),
            notes: b.notes.unwrap_or_default(),
            user_id: b.user_id.map(switchboard_core::ids::UserId),
            methods: b.methods.into_iter().map(|m| (m.kind, m.value)).collect(),
        }
    }
}

#[utoipa::path(get, path = "/brands/{id}/contacts", tag = "desk", params(("id" = i64, Path, description = "Brand (client) id")),
    responses((status = 200, description = "The client's contacts, by name", body = ContactList), (status = 404, description = "No such brand", body = ErrorBody)))]
pub async fn list_contacts(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<ContactList>, ApiError> {
    let brand = switchboard_core::tenancy::brand(&state.db, caller.org, BrandId(id))
        .await
        .map_err(|e| not_found_as(e, "brand"))?;
    let found = switchboard_core::desk::contacts::list(&state.db, caller.org, brand.id).await?;
    Ok(Json(ContactList { contacts: found.into_iter().map(ContactDto::from).collect() }))
}

#[utoipa::path(post, path = "/brands/{id}/contacts", tag = "desk", params(("id" = i64, Path, description = "Brand (client) id")), request_body = ContactBody,
    responses((status = 201, description = "Added", body = ContactEnvelope), (status = 404, description = "No such brand", body = ErrorBody),
              (status = 422, description = "A field was refused (`methods.2.value`, counted from 1)", body = ErrorBody)))]
pub async fn add_contact(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<ContactBody>,
) -> Result<(axum::http::StatusCode, Json<ContactEnvelope>), ApiError> {
    let c = switchboard_core::desk::contacts::create(
        &state.db,
        state.clock.as_ref(),
        caller.org,
        BrandId(id),
        &body.into(),
    )
    .await
    .map_err(|e| not_found_as(e, "brand"))?;
    Ok((axum::http::StatusCode::CREATED, Json(ContactEnvelope { contact: c.into() })))
}

#[utoipa::path(put, path = "/brands/{id}/contacts/{contact_id}", tag = "desk",
    params(("id" = i64, Path, description = "Brand (client) id"), ("contact_id" = i64, Path, description = "Contact id")), request_body = ContactBody,
    responses((status = 200, description = "Replaced", body = ContactEnvelope), (status = 404, description = "No such brand or contact", body = ErrorBody),
              (status = 422, description = "A field was refused", body = ErrorBody)))]
pub async fn put_contact(
    State(state): State<AppState>,
    caller: ApiCaller,
    super::ApiIds(id, contact): super::ApiIds,
    ApiJson(body): ApiJson<ContactBody>,
) -> Result<Json<ContactEnvelope>, ApiError> {
    let c = switchboard_core::desk::contacts::update(
        &state.db,
        state.clock.as_ref(),
        caller.org,
        BrandId(id),
        contact,
        &body.into(),
    )
    .await
    .map_err(|e| not_found_as(e, "contact"))?;
    Ok(Json(ContactEnvelope { contact: c.into() }))
}

#[utoipa::path(delete, path = "/brands/{id}/contacts/{contact_id}", tag = "desk",
    params(("id" = i64, Path, description = "Brand (client) id"), ("contact_id" = i64, Path, description = "Contact id")),
    responses((status = 204, description = "Removed"), (status = 404, description = "No such brand or contact", body = ErrorBody)))]
pub async fn delete_contact(
    State(state): State<AppState>,
    caller: ApiCaller,
    super::ApiIds(id, contact): super::ApiIds,
) -> Result<axum::http::StatusCode, ApiError> {
    switchboard_core::desk::contacts::delete(&state.db, caller.org, BrandId(id), contact)
        .await
        .map_err(|e| not_found_as(e, "contact"))?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
