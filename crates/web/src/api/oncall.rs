//! On-call schedules over the API: a client's schedules with their layers (rotations) and
//! overrides, who is on call at any instant (who, since when, until when, and why), and the
//! final schedule over a range. People are named `user:ID` (a sign-in) or `contact:ID` (one of
//! the client's desk contacts); times are RFC 3339, a layer's start a local date and time in
//! the client's zone.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use switchboard_core::ids::BrandId;
use switchboard_core::oncall::store::{
    self, LayerInput, OverrideInput, StoredOverride, StoredSchedule, WindowInput, day_name,
};
use switchboard_core::oncall::timeline::{self, Segment};
use switchboard_core::oncall::{Change, Layer, Member, Reason};
use utoipa::{IntoParams, ToSchema};

use super::{ApiId, ApiIds, ApiJson, ApiQuery, not_found_as};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// How long a shift lasts.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftDto {
    /// `hours` (exact), `days` or `weeks` (handing off at the same local time).
    #[schema(example = "days", pattern = "^(hours|days|weeks)$")]
    pub unit: String,
    #[schema(minimum = 1, maximum = 168)]
    pub count: i64,
}

/// When a layer is on: `start` on each of `days` until `end` (the next day when not after
/// `start`; equal: the whole day).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowDto {
    /// `mon` .. `sun`.
    #[schema(example = json!(["mon", "tue", "wed", "thu", "fri"]), min_items = 1, max_items = 7)]
    pub days: Vec<String>,
    #[schema(example = "17:00", pattern = "^[0-9]{2}:[0-9]{2}$")]
    pub start: String,
    #[schema(example = "08:00", pattern = "^[0-9]{2}:[0-9]{2}$")]
    pub end: String,
}

/// A layer: a rotation of people; later layers take precedence where they have someone on.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LayerDto {
    #[schema(min_length = 1, max_length = 60)]
    pub name: String,
    /// In turn order: `user:ID` or `contact:ID`.
    #[schema(min_items = 1, max_items = 30, example = json!(["user:3", "contact:7"]))]
    pub members: Vec<String>,
    pub shift: ShiftDto,
    /// The first shift's start, local to the client (its time of day is the hand-off).
    #[schema(example = "2026-11-02T08:00", pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$")]
    pub start: String,
    /// Empty: on all the time.
    #[serde(default)]
    pub windows: Vec<WindowDto>,
}

impl From<&Layer> for LayerDto {
    fn from(l: &Layer) -> Self {
        LayerDto {
            name: l.name.clone(),
            members: l.rotation.members.iter().map(Member::to_string).collect(),
            shift: ShiftDto { unit: l.rotation.length.unit().into(), count: i64::from(l.rotation.length.count()) },
            start: l.rotation.start.strftime("%Y-%m-%dT%H:%M").to_string(),
            windows: l
                .windows
                .iter()
                .map(|w| WindowDto {
                    days: w.days.iter().map(|d| day_name(*d).to_string()).collect(),
                    start: w.start.strftime("%H:%M").to_string(),
                    end: w.end.strftime("%H:%M").to_string(),
                })
                .collect(),
        }
    }
}

impl From<LayerDto> for LayerInput {
    fn from(l: LayerDto) -> Self {
        LayerInput {
            name: l.name,
            members: l.members,
            shift_unit: l.shift.unit,
            shift_count: l.shift.count,
            start: l.start,
            windows: l.windows.into_iter().map(|w| WindowInput { days: w.days, start: w.start, end: w.end }).collect(),
        }
    }
}

/// Someone and their name.
#[derive(Serialize, ToSchema)]
pub struct PersonDto {
    #[schema(example = "user:3")]
    pub member: String,
    pub name: String,
}

/// An override for a time range.
#[derive(Serialize, ToSchema)]
pub struct OverrideDto {
    pub id: i64,
    pub start: String,
    pub end: String,
    /// `replace`, `add` or `remove`.
    pub action: String,
    /// Replace: who is replaced (absent: whoever is on call).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Replace: who takes over; add and remove: who.
    pub who: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// `api` or `user:NAME`.
    pub created_by: String,
}

impl From<&StoredOverride> for OverrideDto {
    fn from(o: &StoredOverride) -> Self {
        let (action, from, who) = match o.change {
            Change::Replace { from, to } => ("replace", from.map(|m| m.to_string()), to.to_string()),
            Change::Add { who } => ("add", None, who.to_string()),
            Change::Remove { who } => ("remove", None, who.to_string()),
        };
        OverrideDto {
            id: o.id,
            start: o.start.to_string(),
            end: o.end.to_string(),
            action: action.into(),
            from,
            who,
            note: o.note.clone(),
            created_by: o.created_by.clone(),
        }
    }
}

/// Someone on call, and why.
#[derive(Serialize, ToSchema)]
pub struct OnCallEntry {
    #[schema(example = "user:3")]
    pub member: String,
    pub name: String,
    /// `layer` (their turn), `swap` or `override`.
    pub reason: String,
    /// The layer's name, for `layer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// The override's or swap's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
}

/// Who is on call at an instant.
#[derive(Serialize, ToSchema)]
pub struct OnCallDto {
    pub at: String,
    /// Empty: nobody (a gap).
    pub on_call: Vec<OnCallEntry>,
    /// Since when this holds (absent: more than 400 days).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Until when: the next hand-off (absent: more than 400 days away).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// A schedule.
#[derive(Serialize, ToSchema)]
pub struct ScheduleDto {
    pub id: i64,
    pub client_id: i64,
    pub name: String,
    /// The client's zone: layers' starts and windows are local to it.
    pub time_zone: String,
    /// One more on every change.
    pub version: i64,
    /// Whether whoever comes on call (and goes off) is told at each hand-off, by text (or email).
    pub handoff_notices: bool,
    pub layers: Vec<LayerDto>,
    /// Current and coming overrides, in the order they were made.
    pub overrides: Vec<OverrideDto>,
    /// Everyone the schedule names, with their names.
    pub people: Vec<PersonDto>,
    /// Who is on call as this was read.
    pub on_call_now: OnCallDto,
}

#[derive(Serialize, ToSchema)]
pub struct ScheduleEnvelope {
    pub schedule: ScheduleDto,
}

#[derive(Serialize, ToSchema)]
pub struct ScheduleList {
    pub schedules: Vec<ScheduleDto>,
}

#[derive(Serialize, ToSchema)]
pub struct OverrideEnvelope {
    #[serde(rename = "override")]
    pub override_: OverrideDto,
}

/// A new schedule.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    pub client_id: i64,
    #[schema(min_length = 1, max_length = 80, example = "After-hours technicians")]
    pub name: String,
    #[serde(default)]
    #[schema(max_items = 10)]
    pub layers: Vec<LayerDto>,
    /// Tell whoever comes on call (and goes off) at each hand-off.
    #[serde(default)]
    pub handoff_notices: bool,
}

/// Changes to a schedule's name or notices.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchedulePatch {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 80)]
    pub name: Option<String>,
    #[serde(default)]
    pub handoff_notices: Option<bool>,
}

/// A schedule's layers, replacing the ones it has.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LayersBody {
    #[schema(max_items = 10)]
    pub layers: Vec<LayerDto>,
}

/// An override to add.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    #[schema(example = "2026-11-03T22:00:00Z", format = DateTime)]
    pub start: String,
    #[schema(example = "2026-11-04T13:00:00Z", format = DateTime)]
    pub end: String,
    /// `replace`, `add` or `remove` (time off).
    #[schema(example = "replace", pattern = "^(replace|add|remove)$")]
    pub action: String,
    /// Replace: who is replaced (absent: whoever is on call).
    #[serde(default)]
    #[schema(pattern = "^(user|contact):[0-9]+$")]
    pub from: Option<String>,
    /// Replace: who takes over; add and remove: who.
    #[serde(default)]
    #[schema(pattern = "^(user|contact):[0-9]+$")]
    pub who: Option<String>,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub note: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScheduleQuery {
    /// Only this client's schedules.
    pub client_id: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// The instant (RFC 3339); default: now.
    pub at: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// Start (RFC 3339); default: now.
    pub from: Option<String>,
    /// End (RFC 3339), at most 62 days after the start; default: two weeks after it.
    pub to: Option<String>,
}

/// The final schedule over a range.
#[derive(Serialize, ToSchema)]
pub struct TimelineDto {
    pub from: String,
    pub to: String,
    pub segments: Vec<SegmentDto>,
}

#[derive(Serialize, ToSchema)]
pub struct SegmentDto {
    pub start: String,
    pub end: String,
    /// Empty: nobody (a gap).
    pub on_call: Vec<OnCallEntry>,
}

/// The longest range a timeline covers.
const TIMELINE_DAYS_MAX: i64 = 62;

struct Names(Vec<(Member, String)>);

impl Names {
    async fn of(state: &AppState, caller: &ApiCaller, s: &StoredSchedule) -> Result<Names, ApiError> {
        let members = s.members();
        Ok(Names(store::names(&state.db, caller.org, &members).await?))
    }
    fn name(&self, m: Member) -> String {
        self.0.iter().find(|(x, _)| *x == m).map(|(_, n)| n.clone()).unwrap_or_else(|| m.to_string())
    }
    fn entries(&self, s: &StoredSchedule, on: &[(Member, Reason)]) -> Vec<OnCallEntry> {
        on.iter()
            .map(|(m, why)| {
                let (reason, layer, id) = match why {
                    Reason::Layer { layer, .. } => ("layer", s.layers.get(*layer).map(|l| l.name.clone()), None),
                    Reason::Swap { id } => ("swap", None, Some(*id)),
                    Reason::Override { id } => ("override", None, Some(*id)),
                };
                OnCallEntry { member: m.to_string(), name: self.name(*m), reason: reason.into(), layer, id }
            })
            .collect()
    }
}

fn on_call_dto(names: &Names, s: &StoredSchedule, at: Timestamp) -> OnCallDto {
    let o = timeline::on_call(&s.schedule(), at);
    OnCallDto {
        at: at.to_string(),
        on_call: names.entries(s, &o.on_call),
        since: o.since.map(|t| t.to_string()),
        until: o.until.map(|t| t.to_string()),
    }
}

async fn dto(state: &AppState, caller: &ApiCaller, s: &StoredSchedule) -> Result<ScheduleDto, ApiError> {
    let names = Names::of(state, caller, s).await?;
    let now = state.clock.now();
    Ok(ScheduleDto {
        id: s.id,
        client_id: s.brand_id.0,
        name: s.name.clone(),
        time_zone: s.zone.iana_name().unwrap_or("UTC").to_string(),
        version: s.version,
        handoff_notices: s.handoff_notices,
        layers: s.layers.iter().map(LayerDto::from).collect(),
        overrides: s.overrides.iter().filter(|o| o.end > now).map(OverrideDto::from).collect(),
        people: names.0.iter().map(|(m, n)| PersonDto { member: m.to_string(), name: n.clone() }).collect(),
        on_call_now: on_call_dto(&names, s, now),
    })
}

fn instant(field: &'static str, raw: Option<&str>, default: Timestamp) -> Result<Timestamp, switchboard_core::Error> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => s.parse::<Timestamp>().map_err(|_| {
            switchboard_core::Error::invalid(field, format!("\"{s}\" is not a time like 2026-11-03T22:00:00Z"))
        }),
    }
}

#[utoipa::path(get, path = "/schedules", tag = "on-call", params(ScheduleQuery),
    responses((status = 200, description = "The schedules, by name", body = ScheduleList)))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(q): ApiQuery<ScheduleQuery>,
) -> Result<Json<ScheduleList>, ApiError> {
    let found = store::list(&state.db, caller.org, q.client_id.map(BrandId)).await?;
    let mut schedules = Vec::with_capacity(found.len());
    for s in &found {
        schedules.push(dto(&state, &caller, s).await?);
    }
    Ok(Json(ScheduleList { schedules }))
}

#[utoipa::path(post, path = "/schedules", tag = "on-call", request_body = NewSchedule,
    responses((status = 201, description = "Created", body = ScheduleEnvelope),
              (status = 409, description = "The client has a schedule of that name", body = ErrorBody),
              (status = 422, description = "A field was refused (`layers.1.members`, counted from 1)", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<NewSchedule>,
) -> Result<(StatusCode, Json<ScheduleEnvelope>), ApiError> {
    let layers: Vec<LayerInput> = body.layers.into_iter().map(LayerInput::from).collect();
    let s = store::create(
        &state.db,
        state.clock.as_ref(),
        caller.org,
        BrandId(body.client_id),
        &body.name,
        &layers,
        body.handoff_notices,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(ScheduleEnvelope { schedule: dto(&state, &caller, &s).await? })))
}

#[utoipa::path(get, path = "/schedules/{id}", tag = "on-call", params(("id" = i64, Path, description = "Schedule id")),
    responses((status = 200, description = "The schedule", body = ScheduleEnvelope), (status = 404, description = "No such schedule", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<ScheduleEnvelope>, ApiError> {
    let s = store::get(&state.db, caller.org, id).await.map_err(|e| not_found_as(e, "schedule"))?;
    Ok(Json(ScheduleEnvelope { schedule: dto(&state, &caller, &s).await? }))
}

#[utoipa::path(patch, path = "/schedules/{id}", tag = "on-call", params(("id" = i64, Path, description = "Schedule id")), request_body = SchedulePatch,
    responses((status = 200, description = "Saved", body = ScheduleEnvelope), (status = 404, description = "No such schedule", body = ErrorBody),
              (status = 409, description = "The client has a schedule of that name", body = ErrorBody), (status = 422, description = "A field was refused", body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<SchedulePatch>,
) -> Result<Json<ScheduleEnvelope>, ApiError> {
    let s = store::update(&state.db, state.clock.as_ref(), caller.org, id, body.name.as_deref(), body.handoff_notices)
        .await
        .map_err(|e| not_found_as(e, "schedule"))?;
    Ok(Json(ScheduleEnvelope { schedule: dto(&state, &caller, &s).await? }))
}

#[utoipa::path(put, path = "/schedules/{id}/layers", tag = "on-call", params(("id" = i64, Path, description = "Schedule id")), request_body = LayersBody,
    responses((status = 200, description = "Saved; in effect at once", body = ScheduleEnvelope), (status = 404, description = "No such schedule", body = ErrorBody),
              (status = 422, description = "A field was refused (`layers.2.shift`, counted from 1)", body = ErrorBody)))]
pub async fn put_layers(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<LayersBody>,
) -> Result<Json<ScheduleEnvelope>, ApiError> {
    let layers: Vec<LayerInput> = body.layers.into_iter().map(LayerInput::from).collect();
    let s = store::set_layers(&state.db, state.clock.as_ref(), caller.org, id, &layers)
        .await
        .map_err(|e| not_found_as(e, "schedule"))?;
    Ok(Json(ScheduleEnvelope { schedule: dto(&state, &caller, &s).await? }))
}

#[utoipa::path(post, path = "/schedules/{id}/overrides", tag = "on-call", params(("id" = i64, Path, description = "Schedule id")), request_body = OverrideBody,
    responses((status = 201, description = "Added; in effect at once", body = OverrideEnvelope), (status = 404, description = "No such schedule", body = ErrorBody),
              (status = 422, description = "A field was refused", body = ErrorBody)))]
pub async fn add_override(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<OverrideBody>,
) -> Result<(StatusCode, Json<OverrideEnvelope>), ApiError> {
    let input = OverrideInput {
        start: body.start,
        end: body.end,
        action: body.action,
        from: body.from,
        who: body.who,
        note: body.note,
    };
    let o = store::add_override(&state.db, state.clock.as_ref(), caller.org, id, &input, "api")
        .await
        .map_err(|e| not_found_as(e, "schedule"))?;
    Ok((StatusCode::CREATED, Json(OverrideEnvelope { override_: OverrideDto::from(&o) })))
}

#[utoipa::path(delete, path = "/schedules/{id}/overrides/{override_id}", tag = "on-call",
    params(("id" = i64, Path, description = "Schedule id"), ("override_id" = i64, Path, description = "Override id")),
    responses((status = 204, description = "Removed; in effect at once"), (status = 404, description = "No such schedule or override", body = ErrorBody)))]
pub async fn remove_override(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiIds(id, override_id): ApiIds,
) -> Result<StatusCode, ApiError> {
    store::remove_override(&state.db, state.clock.as_ref(), caller.org, id, override_id)
        .await
        .map_err(|e| not_found_as(e, "override"))?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/schedules/{id}/on-call", tag = "on-call", params(("id" = i64, Path, description = "Schedule id"), AtQuery),
    responses((status = 200, description = "Who is on call then, since and until when, and why", body = OnCallDto),
              (status = 404, description = "No such schedule", body = ErrorBody), (status = 422, description = "`at` is not a time", body = ErrorBody)))]
pub async fn on_call(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> Result<Json<OnCallDto>, ApiError> {
    let at = instant("at", q.at.as_deref(), state.clock.now())?;
    let s = store::get(&state.db, caller.org, id).await.map_err(|e| not_found_as(e, "schedule"))?;
    let names = Names::of(&state, &caller, &s).await?;
    Ok(Json(on_call_dto(&names, &s, at)))
}

#[utoipa::path(get, path = "/schedules/{id}/timeline", tag = "on-call", params(("id" = i64, Path, description = "Schedule id"), RangeQuery),
    responses((status = 200, description = "The final schedule: consecutive segments covering the range", body = TimelineDto),
              (status = 404, description = "No such schedule", body = ErrorBody), (status = 422, description = "A bad or too long range", body = ErrorBody)))]
pub async fn timeline(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<TimelineDto>, ApiError> {
    let from = instant("from", q.from.as_deref(), state.clock.now())?;
    let two_weeks = jiff::SignedDuration::from_hours(24 * 14);
    let to = instant("to", q.to.as_deref(), from.checked_add(two_weeks).unwrap_or(from))?;
    if to <= from || to.duration_since(from).as_hours() > TIMELINE_DAYS_MAX * 24 {
        return Err(switchboard_core::Error::invalid(
            "to",
            format!("the end must come after the start, within {TIMELINE_DAYS_MAX} days"),
        )
        .into());
    }
    let s = store::get(&state.db, caller.org, id).await.map_err(|e| not_found_as(e, "schedule"))?;
    let names = Names::of(&state, &caller, &s).await?;
    let segments = timeline::timeline(&s.schedule(), from, to)
        .into_iter()
        .map(|g: Segment| SegmentDto {
            start: g.start.to_string(),
            end: g.end.to_string(),
            on_call: names.entries(&s, &g.on_call),
        })
        .collect();
    Ok(Json(TimelineDto { from: from.to_string(), to: to.to_string(), segments }))
}

/// A calendar feed to issue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedBody {
    /// Only this person's shifts (`user:ID` or `contact:ID`); absent: everyone's.
    #[serde(default)]
    #[schema(pattern = "^(user|contact):[0-9]+$")]
    pub member: Option<String>,
}

/// A private calendar URL (RFC 5545), shown once: subscribe to it in a calendar program.
#[derive(Serialize, ToSchema)]
pub struct FeedDto {
    #[schema(example = "https://switchboard.example.com/calendar/3q2-...43 characters.ics")]
    pub url: String,
}

/// How many feed links stopped working.
#[derive(Serialize, ToSchema)]
pub struct RevokedDto {
    pub revoked: u64,
}

#[utoipa::path(post, path = "/schedules/{id}/feeds", tag = "on-call", params(("id" = i64, Path, description = "Schedule id")), request_body = FeedBody,
    responses((status = 201, description = "Issued; the URL is shown only now", body = FeedDto), (status = 404, description = "No such schedule", body = ErrorBody),
              (status = 422, description = "`member` is not someone of this client", body = ErrorBody)))]
pub async fn issue_feed(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<FeedBody>,
) -> Result<(StatusCode, Json<FeedDto>), ApiError> {
    let s = store::get(&state.db, caller.org, id).await.map_err(|e| not_found_as(e, "schedule"))?;
    let only = match body.member.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        None => None,
        Some(m) => Some(
            store::read_member(&state.db, caller.org, s.brand_id, m)
                .await
                .map_err(|e| switchboard_core::Error::invalid("member", e))?,
        ),
    };
    let token = switchboard_core::oncall::feed::issue(&state.db, state.clock.as_ref(), caller.org, id, only).await?;
    Ok((StatusCode::CREATED, Json(FeedDto { url: format!("{}/calendar/{token}.ics", state.config.public_url) })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WhoseQuery {
    /// Whose links: a person (`user:ID` or `contact:ID`), or `everyone` for the whole
    /// schedule's feeds; absent: all of them.
    #[param(pattern = "^((user|contact):[0-9]+|everyone)$")]
    pub member: Option<String>,
}

/// Reads `?member=` of a revoke: `everyone`, or someone of the schedule's client.
async fn whose(
    state: &AppState,
    caller: &ApiCaller,
    id: i64,
    member: Option<&str>,
) -> Result<Option<Option<switchboard_core::oncall::Member>>, ApiError> {
    let s = store::get(&state.db, caller.org, id).await.map_err(|e| not_found_as(e, "schedule"))?;
    Ok(match member.map(str::trim).filter(|m| !m.is_empty()) {
        None => None,
        Some("everyone") => Some(None),
        Some(m) => Some(Some(
            store::read_member(&state.db, caller.org, s.brand_id, m)
                .await
                .map_err(|e| switchboard_core::Error::invalid("member", e))?,
        )),
    })
}

#[utoipa::path(delete, path = "/schedules/{id}/feeds", tag = "on-call", params(("id" = i64, Path, description = "Schedule id"), WhoseQuery),
    responses((status = 200, description = "The feed links asked for (all of the schedule's by default) stopped working", body = RevokedDto), (status = 404, description = "No such schedule", body = ErrorBody),
              (status = 422, description = "`member` is not someone of this client", body = ErrorBody)))]
pub async fn revoke_feeds(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiQuery(q): ApiQuery<WhoseQuery>,
) -> Result<Json<RevokedDto>, ApiError> {
    use switchboard_core::oncall::feed::{self, Feeds};
    let which = match whose(&state, &caller, id, q.member.as_deref()).await? {
        None => Feeds::All,
        Some(None) => Feeds::Everyone,
        Some(Some(m)) => Feeds::Of(m),
    };
    let revoked = feed::revoke(&state.db, state.clock.as_ref(), caller.org, id, which)
        .await
        .map_err(|e| not_found_as(e, "schedule"))?;
    Ok(Json(RevokedDto { revoked }))
}

/// A step of a swap's history.
#[derive(Serialize, ToSchema)]
pub struct SwapEventDto {
    /// `offered`, `taken`, `assigned`, `withdrawn` or `given_back`.
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// `api` or `user:NAME`.
    pub actor: String,
    pub at: String,
}

/// A shift swap.
#[derive(Serialize, ToSchema)]
pub struct SwapDto {
    pub id: i64,
    pub start: String,
    pub end: String,
    /// Whose time it was.
    pub from: String,
    /// Who took it, while accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `offered`, `accepted` or `withdrawn`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub history: Vec<SwapEventDto>,
}

impl From<switchboard_core::oncall::swaps::StoredSwap> for SwapDto {
    fn from(s: switchboard_core::oncall::swaps::StoredSwap) -> Self {
        SwapDto {
            id: s.id,
            start: s.start.to_string(),
            end: s.end.to_string(),
            from: s.from.to_string(),
            to: s.to.map(|m| m.to_string()),
            status: s.status.as_str().into(),
            note: s.note,
            history: s
                .history
                .into_iter()
                .map(|e| SwapEventDto {
                    action: e.action,
                    member: e.member.map(|m| m.to_string()),
                    actor: e.actor,
                    at: e.at.to_string(),
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SwapEnvelope {
    pub swap: SwapDto,
}

#[derive(Serialize, ToSchema)]
pub struct SwapList {
    pub swaps: Vec<SwapDto>,
}

/// A stretch of someone's time on call to offer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwapBody {
    /// Whose time it is (`user:ID` or `contact:ID`); they must be on call for all of it.
    #[schema(pattern = "^(user|contact):[0-9]+$")]
    pub from: String,
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub note: Option<String>,
}

/// Who takes an offered swap.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeBody {
    #[schema(pattern = "^(user|contact):[0-9]+$")]
    pub who: String,
    /// An admin giving it to them rather than them taking it (recorded as `assigned`).
    #[serde(default)]
    pub assign: bool,
}

#[utoipa::path(get, path = "/schedules/{id}/swaps", tag = "on-call", params(("id" = i64, Path, description = "Schedule id")),
    responses((status = 200, description = "Swaps that have not ended, oldest first, each with its history", body = SwapList),
              (status = 404, description = "No such schedule", body = ErrorBody)))]
pub async fn list_swaps(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<SwapList>, ApiError> {
    store::get(&state.db, caller.org, id).await.map_err(|e| not_found_as(e, "schedule"))?;
    let found = switchboard_core::oncall::swaps::list(&state.db, state.clock.as_ref(), caller.org, id, false).await?;
    Ok(Json(SwapList { swaps: found.into_iter().map(SwapDto::from).collect() }))
}

#[utoipa::path(post, path = "/schedules/{id}/swaps", tag = "on-call", params(("id" = i64, Path, description = "Schedule id")), request_body = SwapBody,
    responses((status = 201, description = "Offered", body = SwapEnvelope), (status = 404, description = "No such schedule", body = ErrorBody),
              (status = 422, description = "Not theirs to offer, over, or a bad time", body = ErrorBody)))]
pub async fn offer_swap(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<SwapBody>,
) -> Result<(StatusCode, Json<SwapEnvelope>), ApiError> {
    let s = switchboard_core::oncall::swaps::offer(
        &state.db,
        state.clock.as_ref(),
        caller.org,
        id,
        &body.from,
        (&body.start, &body.end),
        body.note.as_deref(),
        "api",
    )
    .await
    .map_err(|e| not_found_as(e, "schedule"))?;
    Ok((StatusCode::CREATED, Json(SwapEnvelope { swap: s.into() })))
}

#[utoipa::path(post, path = "/schedules/{id}/swaps/{swap_id}/take", tag = "on-call",
    params(("id" = i64, Path, description = "Schedule id"), ("swap_id" = i64, Path, description = "Swap id")), request_body = TakeBody,
    responses((status = 200, description = "Taken: in effect at once", body = SwapEnvelope), (status = 404, description = "No such schedule or swap", body = ErrorBody),
              (status = 409, description = "Taken or withdrawn already, or over", body = ErrorBody), (status = 422, description = "Not someone who can take it", body = ErrorBody)))]
pub async fn take_swap(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiIds(id, swap): ApiIds,
    ApiJson(body): ApiJson<TakeBody>,
) -> Result<Json<SwapEnvelope>, ApiError> {
    let s = switchboard_core::oncall::swaps::take(
        &state.db,
        state.clock.as_ref(),
        caller.org,
        id,
        swap,
        &body.who,
        "api",
        body.assign,
    )
    .await
    .map_err(|e| not_found_as(e, "swap"))?;
    Ok(Json(SwapEnvelope { swap: s.into() }))
}

#[utoipa::path(post, path = "/schedules/{id}/swaps/{swap_id}/withdraw", tag = "on-call",
    params(("id" = i64, Path, description = "Schedule id"), ("swap_id" = i64, Path, description = "Swap id")),
    responses((status = 200, description = "An offer withdrawn, or a taken swap given back (offered again)", body = SwapEnvelope),
              (status = 404, description = "No such schedule or swap", body = ErrorBody), (status = 409, description = "Withdrawn already", body = ErrorBody)))]
pub async fn withdraw_swap(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiIds(id, swap): ApiIds,
) -> Result<Json<SwapEnvelope>, ApiError> {
    let s = switchboard_core::oncall::swaps::withdraw(&state.db, state.clock.as_ref(), caller.org, id, swap, "api")
        .await
        .map_err(|e| not_found_as(e, "swap"))?;
    Ok(Json(SwapEnvelope { swap: s.into() }))
}

/// Whose page to link.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonLinkBody {
    #[schema(pattern = "^(user|contact):[0-9]+$")]
    pub member: String,
}

#[utoipa::path(post, path = "/schedules/{id}/people-links", tag = "on-call", params(("id" = i64, Path, description = "Schedule id")), request_body = PersonLinkBody,
    responses((status = 201, description = "A private link (shown only now, good for a year) to the person's own shifts, where they offer and take swaps", body = FeedDto),
              (status = 404, description = "No such schedule", body = ErrorBody), (status = 422, description = "`member` is not someone of this client", body = ErrorBody)))]
pub async fn person_link(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<PersonLinkBody>,
) -> Result<(StatusCode, Json<FeedDto>), ApiError> {
    let s = store::get(&state.db, caller.org, id).await.map_err(|e| not_found_as(e, "schedule"))?;
    let member = store::read_member(&state.db, caller.org, s.brand_id, &body.member)
        .await
        .map_err(|e| switchboard_core::Error::invalid("member", e))?;
    let token = switchboard_core::oncall::mine::issue(&state.db, state.clock.as_ref(), caller.org, id, member).await?;
    Ok((StatusCode::CREATED, Json(FeedDto { url: format!("{}/s/{token}", state.config.public_url) })))
}

#[utoipa::path(delete, path = "/schedules/{id}/people-links", tag = "on-call", params(("id" = i64, Path, description = "Schedule id"), WhoseQuery),
    responses((status = 200, description = "The person's links to their own shifts stopped working (a lost phone)", body = RevokedDto),
              (status = 404, description = "No such schedule", body = ErrorBody), (status = 422, description = "`member` is missing or not someone of this client", body = ErrorBody)))]
pub async fn revoke_person_links(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiQuery(q): ApiQuery<WhoseQuery>,
) -> Result<Json<RevokedDto>, ApiError> {
    let Some(Some(member)) = whose(&state, &caller, id, q.member.as_deref()).await? else {
        return Err(switchboard_core::Error::invalid(
            "member",
            "name the person whose links to stop (user:ID or contact:ID)",
        )
        .into());
    };
    let revoked = switchboard_core::oncall::mine::revoke(&state.db, state.clock.as_ref(), caller.org, id, member)
        .await
        .map_err(|e| not_found_as(e, "schedule"))?;
    Ok(Json(RevokedDto { revoked }))
}
