//! Calls in the console: the calls list (live), a call's recordings played from our storage
//! with seeking (HTTP ranges), and Settings -> Calls (routing, who rings and how).

use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_core::Error;
use switchboard_core::auth::SessionUser;
use switchboard_core::calls::model::{RoutingInput, clock_duration};
use switchboard_core::calls::settings::{PersonInput, SettingsInput};
use switchboard_core::calls::{self, AfterHours, Outcome, RingMode, Strategy};
use switchboard_core::ids::BrandId;
use switchboard_core::parse::display_phone;

use crate::auth::{Admin, Staff};
use crate::console::shell;
use crate::error::PageError;
use crate::pages::parse_id;
use crate::state::AppState;
use crate::views::Shell;

/// One row of the calls list, formatted.
pub struct CallRow {
    pub id: i64,
    pub brand_id: i64,
    pub when: String,
    pub inbound: bool,
    pub who: String,
    pub number: String,
    pub customer_id: Option<i64>,
    pub lead_id: Option<i64>,
    pub brand: String,
    pub handled_by: String,
    pub duration: String,
    pub outcome: &'static str,
    pub outcome_label: &'static str,
    pub transcript: String,
    pub recordings: Vec<RecordingView>,
}

pub struct RecordingView {
    pub id: i64,
    pub call_id: i64,
    pub label: String,
    pub playable: bool,
    pub state: &'static str,
}

/// "Today 2:14 PM", "Yesterday 9:02 AM", "Nov 30, 6:45 PM": a call's time matters on any day.
fn when(at: jiff::Timestamp, tz: &jiff::tz::TimeZone, now: jiff::Timestamp) -> String {
    let local = at.to_zoned(tz.clone());
    let days = (local.date() - now.to_zoned(tz.clone()).date()).get_days();
    let time = local.strftime("%-I:%M %p");
    match days {
        0 => format!("Today {time}"),
        -1 => format!("Yesterday {time}"),
        _ => format!("{}, {time}", local.strftime("%b %-d")),
    }
}

pub fn rows(
    calls: Vec<calls::Call>,
    brands: &[switchboard_core::tenancy::Brand],
    now: jiff::Timestamp,
) -> Vec<CallRow> {
    calls
        .into_iter()
        .map(|c| {
            let tz = crate::fmt::brand_zone(brands, c.brand_id);
            let number = display_phone(c.party());
            let (outcome, outcome_label) = match c.outcome {
                Some(Outcome::Missed) if c.direction == "outbound" => ("missed", "No answer"),
                Some(o) => (o.as_str(), o.label()),
                None if c.direction == "outbound" => ("live", "Calling"),
                None => ("live", "Ringing"),
            };
            CallRow {
                id: c.id,
                brand_id: c.brand_id.0,
                when: when(c.started_at, &tz, now),
                inbound: c.direction == "inbound",
                who: c.customer_name.clone().unwrap_or_else(|| number.clone()),
                number,
                customer_id: c.customer_id,
                lead_id: c.lead_id,
                brand: c.brand_name,
                handled_by: c.handled_by.unwrap_or_default(),
                duration: c.duration_secs.map(clock_duration).unwrap_or_default(),
                outcome,
                outcome_label,
                transcript: c.transcript.unwrap_or_default(),
                recordings: recording_views(c.recordings),
            }
        })
        .collect()
}

/// Recordings as players show them: "Voicemail (0:12)", playable once stored.
pub fn recording_views(recordings: Vec<calls::Recording>) -> Vec<RecordingView> {
    recordings
        .into_iter()
        .map(|r| RecordingView {
            id: r.id,
            call_id: r.call_id,
            label: format!(
                "{} ({})",
                if r.kind == "voicemail" { "Voicemail" } else { "Call recording" },
                clock_duration(r.duration_secs)
            ),
            playable: r.status == "stored",
            state: match r.status.as_str() {
                "stored" => "",
                "failed" => "could not be fetched from the provider",
                _ => "on its way from the provider",
            },
        })
        .collect()
}

#[derive(askama::Template, WebTemplate)]
#[template(path = "calls/index.html")]
pub struct CallsPage {
    pub shell: Shell,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub rows: Vec<CallRow>,
    pub filters: Vec<(&'static str, &'static str)>,
    pub outcome: String,
    pub q: String,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    q: String,
    /// Set after a click on a number: the cell we are calling.
    #[serde(default)]
    calling: String,
}

pub async fn index(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let notice = (!q.calling.is_empty())
        .then(|| format!("Calling your cell {}: answer it, and you are put through.", q.calling));
    list_page(&state, &viewer, &uri, q, notice, None, StatusCode::OK).await
}

async fn list_page(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    q: ListQuery,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (shell, brands) = shell(state, viewer, "calls", uri).await?;
    let outcome = Outcome::parse(&q.outcome);
    let filter = calls::store::Filter {
        brand: viewer.brand_id,
        outcome,
        q: Some(q.q.clone()),
        customer: None,
        since: None,
        limit: 200,
    };
    let list = calls::store::list(&state.db, viewer.user.org_id, &filter).await?;
    let mut filters = vec![("", "All")];
    filters.extend(Outcome::ALL.iter().map(|o| (o.as_str(), o.label())));
    let page = CallsPage {
        shell,
        notice,
        error,
        rows: rows(list, &brands, state.clock.now()),
        filters,
        outcome: outcome.map(|o| o.as_str().to_string()).unwrap_or_default(),
        q: q.q,
    };
    Ok((status, page).into_response())
}

#[derive(Deserialize)]
pub struct DialForm {
    to: String,
    #[serde(default)]
    brand: String,
}

/// `POST /calls/dial`: call a number from the brand's number, through the person's own cell.
pub async fn dial(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Form(form): Form<DialForm>,
) -> Result<Response, PageError> {
    let brand = form.brand.trim().parse().ok().map(BrandId).or(viewer.brand_id);
    let req = calls::outbound::DialRequest { org: viewer.user.org_id, user: viewer.user.id, brand, to: &form.to };
    let placed =
        calls::outbound::dial(&state.db, state.clock.as_ref(), state.voice.as_ref(), &state.config.public_url, &req)
            .await;
    let (status, why) = match placed {
        Ok((_, cell)) => {
            let to = format!("/calls?calling={}", cell.replace(' ', "%20").replace('(', "%28").replace(')', "%29"));
            return Ok(Redirect::to(&to).into_response());
        }
        Err(Error::Invalid(fields)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, fields.into_iter().map(|f| f.message).collect::<Vec<_>>().join(" "))
        }
        Err(Error::Conflict(m)) => (StatusCode::CONFLICT, m),
        Err(Error::Unavailable(m)) => (StatusCode::SERVICE_UNAVAILABLE, m),
        Err(e) => return Err(e.into()),
    };
    let q = ListQuery::default();
    list_page(&state, &viewer, &uri, q, None, Some(format!("Not called: {why}")), status).await
}

/// `GET /calls/{id}/recordings/{recording}`: the audio, with `Range` for the player's seek bar.
pub async fn recording(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    headers: HeaderMap,
    Path((id, recording)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (call, recording) = (parse_id(&id)?, parse_id(&recording)?);
    let Some((key, of_call)) = calls::store::media(&state.db, viewer.user.org_id, recording).await? else {
        return Err(Error::NotFound.into());
    };
    if of_call != call {
        return Err(Error::NotFound.into());
    }
    let bytes = state.blobs.get(&key).await?;
    Ok(ranged(&headers, bytes, "audio/wav"))
}

/// The whole body, or the one byte range asked for (`bytes=a-b`, `bytes=a-`, `bytes=-n`).
pub fn ranged(headers: &HeaderMap, bytes: Vec<u8>, content_type: &'static str) -> Response {
    let len = bytes.len();
    let common = [
        (header::CONTENT_TYPE, content_type.to_string()),
        (header::ACCEPT_RANGES, "bytes".to_string()),
        (header::CACHE_CONTROL, "private, max-age=86400".to_string()),
    ];
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(|r| r.strip_prefix("bytes="));
    let Some(range) = range.filter(|r| !r.contains(',')) else {
        return (common, bytes).into_response();
    };
    let (a, b) = range.split_once('-').unwrap_or((range, ""));
    let (start, end) = match (a.trim().parse::<usize>().ok(), b.trim().parse::<usize>().ok()) {
        (Some(s), Some(e)) => (s, e.min(len.saturating_sub(1))),
        (Some(s), None) => (s, len.saturating_sub(1)),
        (None, Some(n)) => (len.saturating_sub(n), len.saturating_sub(1)),
        (None, None) => (len, 0),
    };
    if len == 0 || start > end || start >= len {
        return (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            "That part of the recording does not exist.",
        )
            .into_response();
    }
    (
        StatusCode::PARTIAL_CONTENT,
        common,
        [(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"))],
        bytes[start..=end].to_vec(),
    )
        .into_response()
}

/// One sign-in's row of the routing form.
pub struct PersonView {
    pub user: i64,
    pub name: String,
    pub rings: bool,
    pub mode: String,
    pub cell: String,
}

pub struct CallsBrandView {
    pub id: i64,
    pub name: String,
    pub number: String,
    pub strategy: String,
    pub ring_seconds: String,
    pub record: bool,
    pub consent_notice: bool,
    pub greeting: String,
    pub default_greeting: String,
    pub after_hours: String,
    pub after_hours_schedule: String,
    pub schedules: Vec<(i64, String)>,
    pub people: Vec<PersonView>,
    pub errors: Vec<(String, String)>,
}

impl CallsBrandView {
    pub fn error(&self, field: &str) -> Option<&str> {
        crate::views::error_for(&self.errors, field)
    }
}

#[derive(askama::Template, WebTemplate)]
#[template(path = "settings/calls.html")]
pub struct CallsSettingsPage {
    pub shell: Shell,
    pub brands: Vec<CallsBrandView>,
    pub strategies: Vec<(&'static str, &'static str)>,
    pub modes: Vec<(&'static str, &'static str)>,
    pub after_hours: Vec<(&'static str, &'static str)>,
    pub editable: bool,
    pub notice: Option<String>,
}

struct Refused {
    brand: BrandId,
    input: SettingsInput,
    errors: Vec<(String, String)>,
}

async fn settings_page(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    failed: Option<Refused>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let (shell, brands) = shell(state, viewer, "settings", uri).await?;
    let people = calls::store::people(state.db.pool(), org).await?;
    let schedules = switchboard_core::oncall::store::list(&state.db, org, None).await?;
    let mut views = Vec::new();
    for b in &brands {
        let r = calls::store::routing(state.db.pool(), org, b.id).await?;
        let members = calls::store::members(state.db.pool(), org, b.id).await?;
        // Those who ring first, in their order, then everyone else.
        let mut ordered: Vec<PersonView> = members
            .iter()
            .map(|m| PersonView {
                user: m.user_id,
                name: m.name.clone(),
                rings: true,
                mode: m.ring_mode.as_str().to_string(),
                cell: m.cell.as_deref().map(display_phone).unwrap_or_default(),
            })
            .collect();
        ordered.extend(people.iter().filter(|p| !members.iter().any(|m| m.user_id == p.user_id)).map(|p| PersonView {
            user: p.user_id,
            name: p.name.clone(),
            rings: false,
            mode: p.ring_mode.as_str().to_string(),
            cell: p.cell.as_deref().map(display_phone).unwrap_or_default(),
        }));
        let mut v = CallsBrandView {
            id: b.id.0,
            name: b.name.clone(),
            number: b.sms_number.as_ref().map(|n| n.display()).unwrap_or_default(),
            strategy: r.strategy.as_str().to_string(),
            ring_seconds: r.ring_seconds.to_string(),
            record: r.record,
            consent_notice: r.consent_notice,
            greeting: r.greeting.clone(),
            default_greeting: calls::model::default_greeting(&b.name),
            after_hours: r.after_hours.as_str().to_string(),
            after_hours_schedule: r.after_hours_schedule.map(|s| s.to_string()).unwrap_or_default(),
            schedules: schedules.iter().filter(|s| s.brand_id == b.id).map(|s| (s.id, s.name.clone())).collect(),
            people: ordered,
            errors: vec![],
        };
        if let Some(Refused { brand, input, errors }) = &failed
            && *brand == b.id
        {
            let i = &input.routing;
            v.strategy = i.strategy.clone();
            v.ring_seconds = i.ring_seconds.clone();
            v.record = i.record;
            v.consent_notice = i.consent_notice;
            v.greeting = i.greeting.clone();
            v.after_hours = i.after_hours.clone();
            v.after_hours_schedule = i.after_hours_schedule.clone();
            v.people = input
                .people
                .iter()
                .map(|p| PersonView {
                    user: p.user,
                    name: people.iter().find(|x| x.user_id == p.user).map(|x| x.name.clone()).unwrap_or_default(),
                    rings: p.rings,
                    mode: p.mode.clone(),
                    cell: p.cell.clone(),
                })
                .collect();
            v.errors = errors.clone();
        }
        views.push(v);
    }
    let page = CallsSettingsPage {
        shell,
        brands: views,
        strategies: Strategy::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
        modes: RingMode::ALL.iter().map(|m| (m.as_str(), m.label())).collect(),
        after_hours: AfterHours::ALL.iter().map(|a| (a.as_str(), a.label())).collect(),
        editable: viewer.user.role == switchboard_core::tenancy::Role::Admin,
        notice,
    };
    Ok((status, page).into_response())
}

#[derive(Deserialize, Default)]
pub struct SettingsQuery {
    #[serde(default)]
    done: String,
}

pub async fn settings(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Query(q): Query<SettingsQuery>,
) -> Result<Response, PageError> {
    let notice = (q.done == "saved").then(|| "Call routing saved.".to_string());
    settings_page(&state, &viewer, &uri, None, notice, StatusCode::OK).await
}

/// Reads the form: the routing's fields, then one `person` per row in order, with its
/// `rings_{id}` box, `mode_{id}` and `cell_{id}`.
fn read_form(pairs: &[(String, String)]) -> Result<SettingsInput, PageError> {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let has = |k: &str| pairs.iter().any(|(n, _)| n == k);
    let mut people = Vec::new();
    for (name, value) in pairs {
        if name != "person" {
            continue;
        }
        let user = parse_id(value)?;
        people.push(PersonInput {
            user,
            rings: has(&format!("rings_{user}")),
            mode: get(&format!("mode_{user}")),
            cell: get(&format!("cell_{user}")),
        });
    }
    Ok(SettingsInput {
        routing: RoutingInput {
            strategy: get("strategy"),
            ring_seconds: get("ring_seconds"),
            record: has("record"),
            consent_notice: has("consent_notice"),
            greeting: get("greeting"),
            after_hours: get("after_hours"),
            after_hours_schedule: get("after_hours_schedule"),
        },
        people,
    })
}

pub async fn save_settings(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Path(brand): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let brand = BrandId(parse_id(&brand)?);
    let input = read_form(&pairs)?;
    match calls::settings::save(&state.db, state.clock.as_ref(), viewer.user.org_id, brand, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/settings/calls?done=saved#brand-{}", brand.0)).into_response()),
        Err(Error::Invalid(fields)) => {
            let errors = fields.into_iter().map(|f| (f.field.to_string(), f.message)).collect();
            settings_page(
                &state,
                &viewer,
                &uri,
                Some(Refused { brand, input, errors }),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
