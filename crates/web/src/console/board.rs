//! The dispatch board: one brand's day, a row per technician with jobs placed by their window,
//! unassigned work in a side column. Drag a job to a row (or use its Move form) to assign or
//! reschedule it; double-bookings are flagged; changes from anyone appear live over SSE.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::{Timestamp, ToSpan};
use serde::Deserialize;
use switchboard_core::Error;
use switchboard_core::ids::{JobId, TechnicianId};
use switchboard_core::jobs::dispatch::{BoardMove, DEFAULT_MINUTES, conflicts};
use switchboard_core::jobs::{self, JobFilter, JobStatus, JobSummary, short_name};
use switchboard_core::technicians;
use switchboard_core::tenancy::Brand;

use crate::auth::{Staff, actor};
use crate::console::shell;
use crate::error::PageError;
use crate::fmt;
use crate::pages::day_bounds;
use crate::state::AppState;
use crate::views::{Shell, initials};

/// A job without an end is drawn as this long.

#[derive(Deserialize, Default)]
pub struct BoardQuery {
    #[serde(default)]
    date: String,
    #[serde(default)]
    brand: String,
    /// `week` for the week view; anything else is the day.
    #[serde(default)]
    view: String,
}

pub struct Block {
    pub id: i64,
    pub code: String,
    pub customer: String,
    pub service: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub time: String,
    /// Position in the lane, percent.
    pub left: f64,
    pub width: f64,
    pub from_tech: String,
    pub conflict: Option<String>,
    pub start_input: String,
    pub end_input: String,
    pub duration_min: i64,
    pub multi: bool,
    /// The job's version as drawn: a move made from an older board is refused as stale.
    pub version: i64,
}

impl Block {
    /// A job as the board draws it, not yet placed in a lane (`left` and `width` 0).
    pub fn of(
        j: &JobSummary,
        tz: &jiff::tz::TimeZone,
        from_tech: Option<TechnicianId>,
        conflict: Option<String>,
    ) -> Block {
        let start = j.scheduled_start;
        let end = start.map(|s| j.scheduled_end.unwrap_or(s + DEFAULT_MINUTES.minutes()));
        Block {
            id: j.id.0,
            code: j.code.clone(),
            customer: short_name(&j.customer_name),
            service: j.service.clone(),
            status: j.status.as_str(),
            status_label: j.status.label(),
            time: match (start, j.scheduled_end) {
                (Some(s), Some(e)) => fmt::time_range(s, e, tz),
                (Some(s), None) => fmt::time(s, tz),
                _ => "Unscheduled".into(),
            },
            left: 0.0,
            width: 0.0,
            from_tech: from_tech.map(|t| t.0.to_string()).unwrap_or_default(),
            conflict,
            start_input: start.map(|t| fmt::to_local_input(t, tz)).unwrap_or_default(),
            end_input: end.map(|t| fmt::to_local_input(t, tz)).unwrap_or_default(),
            duration_min: match (start, end) {
                (Some(s), Some(e)) => (e.as_second() - s.as_second()) / 60,
                _ => DEFAULT_MINUTES,
            },
            multi: j.techs.len() > 1,
            version: j.version,
        }
    }
}

pub struct Lane {
    pub tech_id: i64,
    pub name: String,
    pub photo_url: String,
    pub initials: String,
    pub skills: String,
    pub inactive: bool,
    pub located: String,
    pub blocks: Vec<Block>,
    pub busy: String,
}

pub struct Hour {
    pub label: String,
    pub left: f64,
}

pub struct UnassignedCard {
    pub block: Block,
    pub when: String,
}

pub struct BrandTab {
    pub id: i64,
    pub name: String,
    pub color: String,
    pub active: bool,
}

/// One brand's day on the board: its lanes in its own zone and hours.
pub struct BrandBoard {
    pub brand_id: i64,
    pub brand_name: String,
    pub color: String,
    pub date_label: String,
    pub day_start_ms: i64,
    pub day_end_ms: i64,
    pub hours: Vec<Hour>,
    pub lanes: Vec<Lane>,
    pub unassigned: Vec<UnassignedCard>,
    pub conflicts: usize,
    pub tech_options: Vec<(i64, String)>,
    pub now_left: Option<f64>,
    /// Stretches of the lanes outside the brand's working hours: (left, width), percent.
    pub off_hours: Vec<(f64, f64)>,
    /// "Open 7:00 AM-6:00 PM", "Closed on Sundays".
    pub hours_label: String,
    pub zone_name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "board/index.html")]
pub struct BoardPage {
    pub shell: Shell,
    /// The brand shown, or `all`.
    pub brand_param: String,
    /// Every brand at once, a section each.
    pub all: bool,
    pub brand_tabs: Vec<BrandTab>,
    pub date: String,
    pub prev: String,
    pub next: String,
    pub today: String,
    pub boards: Vec<BrandBoard>,
    /// The week view: the week holding `date`, a board per brand shown.
    pub week: bool,
    pub weeks: Vec<super::board_week::WeekBoard>,
    /// `&view=week` in the week view, for links that keep it.
    pub view_qs: &'static str,
    /// The week view's "this week" is another week than the one shown.
    pub away: bool,
    pub error: Option<String>,
}

pub async fn index(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Query(q): Query<BoardQuery>,
) -> Result<Response, PageError> {
    render(&state, &viewer, &uri, &q, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    viewer: &switchboard_core::auth::SessionUser,
    uri: &Uri,
    q: &BoardQuery,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let (shell, brands) = shell(state, viewer, "board", uri).await?;
    let picked = q.brand.trim();
    // Every brand at once when asked, or when the console shows all brands and there is more
    // than one; otherwise the one picked (or the console's brand).
    let all = brands.len() > 1 && (picked == "all" || (picked.is_empty() && viewer.brand_id.is_none()));
    let picked = picked.parse::<i64>().ok();
    let Some(first) = brands
        .iter()
        .find(|b| Some(b.id.0) == picked)
        .or_else(|| brands.iter().find(|b| Some(b.id) == viewer.brand_id))
        .or(brands.first())
    else {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            "No brands yet",
            "Create a brand in Settings → Brands to use the dispatch board.",
        ));
    };
    let now = state.clock.now();
    // "Today" is the first brand's; every section shows that same calendar day in its own zone.
    let today = now.to_zoned(first.zone()).date();
    let date = match q.date.trim() {
        "" => today,
        d => d.parse().map_err(|_| PageError::bad_request(format!("\"{d}\" is not a date like 2026-11-23")))?,
    };
    let techs = technicians::list(&state.db, org).await?;
    let shown: Vec<&Brand> = if all { brands.iter().collect() } else { vec![first] };
    let week = q.view == "week";
    let (mut boards, mut weeks) = (Vec::new(), Vec::new());
    for brand in shown {
        if week {
            weeks.push(super::board_week::week_board(state, org, brand, date, now, &techs).await?);
        } else {
            boards.push(brand_board(state, org, brand, date, now, &techs).await?);
        }
    }
    let step = if week { 7 } else { 1 };
    let shift = |days: i64| date.checked_add(days.days()).map(|d| d.to_string()).unwrap_or_default();
    let page = BoardPage {
        shell,
        brand_param: if all { "all".into() } else { first.id.0.to_string() },
        all,
        brand_tabs: brands
            .iter()
            .map(|b| BrandTab {
                id: b.id.0,
                name: b.name.clone(),
                color: b.color.clone(),
                active: !all && b.id == first.id,
            })
            .collect(),
        date: date.to_string(),
        prev: shift(-step),
        next: shift(step),
        today: today.to_string(),
        boards,
        week,
        weeks,
        view_qs: if week { "&view=week" } else { "" },
        away: super::board_week::monday_of(date) != super::board_week::monday_of(today),
        error,
    };
    Ok((status, page).into_response())
}

/// One brand's lanes for `date` (a calendar day in the brand's zone).
async fn brand_board(
    state: &AppState,
    org: switchboard_core::ids::OrgId,
    brand: &Brand,
    date: jiff::civil::Date,
    now: Timestamp,
    techs: &[technicians::Technician],
) -> Result<BrandBoard, PageError> {
    let tz = brand.zone();
    let today = now.to_zoned(tz.clone()).date();
    let (day_start, day_end) =
        day_bounds(date, &tz).ok_or_else(|| PageError::bad_request("that day cannot be shown"))?;
    let filter = JobFilter { brand: Some(brand.id), from: Some(day_start), to: Some(day_end), ..JobFilter::default() };
    let day_jobs: Vec<JobSummary> =
        jobs::list(&state.db, org, &filter).await?.into_iter().filter(|j| j.status != JobStatus::Canceled).collect();
    // Unscheduled open work of the brand waits in the side column too.
    let unscheduled: Vec<JobSummary> =
        jobs::list(&state.db, org, &JobFilter { brand: Some(brand.id), ..JobFilter::default() })
            .await?
            .into_iter()
            .filter(|j| j.scheduled_start.is_none() && j.status.is_open())
            .collect();

    // The visible span: the brand's working hours that day (8 AM to 5 PM on a day it is
    // closed), widened to fit every job of the day.
    let open_span = brand.working_hours.span_on(date, &tz);
    let open_day = brand.working_hours.day(date.weekday());
    let hour_of = |t: Timestamp| t.to_zoned(tz.clone()).hour() as i64;
    let (mut first_hour, mut last_hour) = match open_day {
        Some(d) => (i64::from(d.open / 60), i64::from(d.close.div_ceil(60))),
        None => (8, 17),
    };
    for j in &day_jobs {
        if let Some(s) = j.scheduled_start {
            first_hour = first_hour.min(hour_of(s));
            let e = j.scheduled_end.unwrap_or(s + DEFAULT_MINUTES.minutes());
            let end_hour = if e >= day_end { 24 } else { hour_of(e) + i64::from(e.to_zoned(tz.clone()).minute() > 0) };
            last_hour = last_hour.max(end_hour);
        }
    }
    let last_hour = last_hour.max(first_hour + 1);
    let span_start = date
        .to_datetime(jiff::civil::time(first_hour as i8, 0, 0, 0))
        .to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .unwrap_or(day_start);
    let span_end = if last_hour >= 24 {
        day_end
    } else {
        date.to_datetime(jiff::civil::time(last_hour as i8, 0, 0, 0))
            .to_zoned(tz.clone())
            .map(|z| z.timestamp())
            .unwrap_or(day_end)
    };
    let span_ms = (span_end.as_millisecond() - span_start.as_millisecond()).max(1) as f64;
    let pct =
        |t: Timestamp| ((t.as_millisecond() - span_start.as_millisecond()) as f64 / span_ms * 100.0).clamp(0.0, 100.0);
    let hours = (first_hour..last_hour)
        .filter_map(|h| {
            let t = date.to_datetime(jiff::civil::time(h as i8, 0, 0, 0)).to_zoned(tz.clone()).ok()?.timestamp();
            let label = match h {
                0 => "12 AM".to_string(),
                12 => "12 PM".to_string(),
                h if h < 12 => format!("{h} AM"),
                h => format!("{} PM", h - 12),
            };
            Some(Hour { label, left: pct(t) })
        })
        .collect();

    let block = |j: &JobSummary, from_tech: Option<TechnicianId>, conflict: Option<String>| {
        let mut b = Block::of(j, &tz, from_tech, conflict);
        if let Some((s, e)) = j.scheduled_start.map(|s| (s, j.scheduled_end.unwrap_or(s + DEFAULT_MINUTES.minutes()))) {
            (b.left, b.width) = (pct(s), (pct(e) - pct(s)).max(3.0));
        }
        b
    };

    let mut total_conflicts = 0;
    let mut lanes = Vec::new();
    // The brand's technicians, and anyone else with a job of the brand that day (someone
    // deactivated or moved off the brand while on a job keeps their lane until it is moved).
    let on_board =
        |t: &&technicians::Technician| (t.active && t.works_for(brand.id)) || day_jobs.iter().any(|j| j.has_tech(t.id));
    for t in techs.iter().filter(on_board) {
        let mine: Vec<&JobSummary> = day_jobs.iter().filter(|j| j.has_tech(t.id)).collect();
        let clashes = conflicts(&mine);
        total_conflicts += clashes.len();
        let open = mine.iter().filter(|j| j.status.is_open()).count();
        lanes.push(Lane {
            tech_id: t.id.0,
            name: t.name.clone(),
            photo_url: t.photo_url.clone().unwrap_or_default(),
            initials: initials(&t.name),
            skills: t.skills.join(", "),
            inactive: !t.active,
            located: t.last_location.map(|l| format!("Location {}", fmt::ago(l.at, &tz, now))).unwrap_or_default(),
            busy: match open {
                0 => "Free".into(),
                1 => "1 job".into(),
                n => format!("{n} jobs"),
            },
            blocks: mine
                .iter()
                .map(|j| {
                    let c =
                        clashes.iter().filter(|(id, _)| *id == j.id).map(|(_, code)| code.clone()).collect::<Vec<_>>();
                    let conflict = (!c.is_empty()).then(|| format!("Overlaps {}", c.join(", ")));
                    block(j, Some(t.id), conflict)
                })
                .collect(),
        });
    }
    // Each clash is counted from both sides.
    let conflicts_count = total_conflicts / 2;
    let unassigned = day_jobs
        .iter()
        .filter(|j| j.techs.is_empty() && j.status.is_open())
        .chain(unscheduled.iter().filter(|j| j.techs.is_empty()))
        .map(|j| UnassignedCard {
            when: j.scheduled_start.map(|s| fmt::schedule(s, &tz, now)).unwrap_or_else(|| "Unscheduled".into()),
            block: block(j, None, None),
        })
        .collect();
    let now_left = (now >= span_start && now < span_end).then(|| pct(now));
    // Shade what lies outside the working hours (all of it on a closed day).
    let off_hours: Vec<(f64, f64)> = match open_span {
        Some((open, close)) => [(span_start, open.min(span_end)), (close.max(span_start), span_end)]
            .into_iter()
            .filter(|(a, b)| a < b)
            .map(|(a, b)| (pct(a), pct(b) - pct(a)))
            .collect(),
        None => vec![(0.0, 100.0)],
    };
    let hours_label = match open_day {
        Some(d) => format!("Open {}", d.label()),
        None => format!("Closed on {}s", date.strftime("%A")),
    };
    Ok(BrandBoard {
        brand_id: brand.id.0,
        brand_name: brand.name.clone(),
        color: brand.color.clone(),
        date_label: if date == today {
            format!("Today, {}", date.strftime("%a %b %-d"))
        } else {
            date.strftime("%A, %b %-d, %Y").to_string()
        },
        day_start_ms: span_start.as_millisecond(),
        day_end_ms: span_end.as_millisecond(),
        hours,
        lanes,
        unassigned,
        conflicts: conflicts_count,
        tech_options: techs
            .iter()
            .filter(|t| t.active && t.works_for(brand.id))
            .map(|t| (t.id.0, t.name.clone()))
            .collect(),
        now_left,
        off_hours,
        hours_label,
        zone_name: tz.iana_name().unwrap_or("UTC").to_string(),
    })
}

#[derive(Deserialize)]
pub struct MoveForm {
    job: String,
    /// The technician the job was dragged from (empty: the unassigned column).
    #[serde(default)]
    from_tech: String,
    /// The technician it goes to (empty: unassign `from_tech`).
    #[serde(default)]
    to_tech: String,
    /// New start from a drag: milliseconds since the epoch; the length is kept.
    #[serde(default)]
    start_ms: String,
    /// New window from the Move form, as `datetime-local` values in the brand's zone.
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    /// The job's version the board showed (empty from older pages: not checked).
    #[serde(default)]
    version: String,
    /// A day from the week view (`2026-12-08`): the job moves there at the same time of day.
    #[serde(default)]
    day: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    brand: String,
    #[serde(default)]
    view: String,
}

fn opt_id(raw: &str, what: &str) -> Result<Option<i64>, Error> {
    match raw.trim() {
        "" => Ok(None),
        s => s.parse::<i64>().map(Some).map_err(|_| Error::invalid("to_tech", format!("pick a {what}"))),
    }
}

/// Assigns, reassigns, unassigns and/or reschedules a job from the board.
pub async fn move_job(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    headers: axum::http::HeaderMap,
    Form(form): Form<MoveForm>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let from_htmx = headers.contains_key("hx-request") || headers.get("x-requested-with").is_some();
    let result = async {
        let id = JobId(form.job.trim().parse().map_err(|_| Error::invalid("job", "pick a job"))?);
        let job = jobs::get(&state.db, org, id).await?;
        let brand = switchboard_core::tenancy::brand(&state.db, org, job.brand_id).await?;
        let tz = brand.zone();
        let window = if let Ok(ms) = form.start_ms.trim().parse::<i64>() {
            let at =
                Timestamp::from_millisecond(ms).map_err(|_| Error::invalid("start", "that time is out of range"))?;
            Some(
                jobs::dispatch::dropped_at(&job, at)
                    .ok_or_else(|| Error::invalid("start", "that time is out of range"))?,
            )
        } else if let Some(day) = Some(form.day.trim()).filter(|d| !d.is_empty()) {
            let day: jiff::civil::Date =
                day.parse().map_err(|_| Error::invalid("day", format!("\"{day}\" is not a date like 2026-11-23")))?;
            let opens = brand.working_hours.day(day.weekday()).map(|d| i32::from(d.open)).unwrap_or(8 * 60);
            Some(
                jobs::dispatch::moved_to_day(&job, day, &tz, opens)
                    .ok_or_else(|| Error::invalid("day", "that day is out of range"))?,
            )
        } else if !form.start.trim().is_empty() || !form.end.trim().is_empty() {
            let s = fmt::local_input("start", &form.start, &tz)?;
            let e = fmt::local_input("end", &form.end, &tz)?;
            Some((s, e))
        } else {
            None
        };
        let version = crate::pages::seen_version(&form.version)?;
        let mv = BoardMove {
            window,
            from: opt_id(&form.from_tech, "technician")?.map(TechnicianId),
            to: opt_id(&form.to_tech, "technician")?.map(TechnicianId),
            version,
        };
        jobs::move_on_board(&state.db, state.clock.as_ref(), org, &actor(&viewer), id, &mv).await?;
        Ok::<_, Error>(())
    }
    .await;
    let back = BoardQuery { date: form.date.clone(), brand: form.brand.clone(), view: form.view.clone() };
    match result {
        Ok(()) if from_htmx => Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(()) => {
            let mut to = "/board".to_string();
            let qs: Vec<String> = [("date", &back.date), ("brand", &back.brand), ("view", &back.view)]
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| format!("{k}={}", crate::auth::urlencode(v)))
                .collect();
            if !qs.is_empty() {
                to = format!("{to}?{}", qs.join("&"));
            }
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => {
            let (status, message) = match e {
                Error::Invalid(fields) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    fields.into_iter().map(|f| f.message).collect::<Vec<_>>().join("; "),
                ),
                Error::Conflict(m) => (StatusCode::CONFLICT, m),
                Error::Stale(s) => (StatusCode::CONFLICT, s.message),
                Error::InvalidTransition { message, .. } => (StatusCode::CONFLICT, message),
                Error::NotFound => (StatusCode::NOT_FOUND, "that job no longer exists".into()),
                other => return Err(other.into()),
            };
            if from_htmx {
                return Ok((status, message).into_response());
            }
            render(&state, &viewer, &uri, &back, Some(message), status).await
        }
    }
}
