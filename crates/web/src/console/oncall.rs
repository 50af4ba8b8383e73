//! The On-call pages: every schedule with who is on call now, until when, and a warning when
//! the next 7 days have a gap (`/oncall`); one schedule's two-week timeline in its client's
//! zone, its coverage (gaps, hours per person), its layers and its overrides, with a form to
//! add one (a replacement, someone added, time off) and a button to take one back
//! (`/oncall/{id}`). Every change is in effect at once: nothing is resolved ahead.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use switchboard_core::oncall::store::{self, OverrideInput, StoredSchedule};
use switchboard_core::oncall::timeline::{self, coverage};
use switchboard_core::oncall::{Change, Member, Reason};
use switchboard_core::{Error, when};

use super::shell;
use crate::auth::{Staff, actor};
use crate::error::PageError;
use crate::pages::parse_id;
use crate::state::AppState;
use crate::views::Shell;

/// Colors people get on the timeline, in the order the schedule names them (white text on
/// each has a contrast of at least 4.5:1).
const PALETTE: [&str; 8] = ["#1d4ed8", "#047857", "#b45309", "#6d28d9", "#be185d", "#0e7490", "#4d7c0f", "#b91c1c"];

/// One schedule as the list shows it.
pub struct Row {
    pub id: i64,
    pub name: String,
    pub client: String,
    /// Names on call now; empty: nobody.
    pub now: String,
    /// "until 8:00 AM Wed Nov 4", or empty.
    pub until: String,
    /// "Nobody on call Mon Nov 9, 12:00 AM-8:00 AM" for the first gap in the next 7 days, and how many.
    pub gap: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "oncall/index.html")]
pub struct IndexPage {
    pub shell: Shell,
    pub rows: Vec<Row>,
}

/// A bar on a day's row.
pub struct Bar {
    /// Percent of the day.
    pub left: f64,
    pub width: f64,
    /// Which of the row's lanes it is drawn in: people on call at the same time are stacked.
    pub lane: usize,
    pub label: String,
    /// "Ana, 5:00 PM-8:00 AM (override)".
    pub title: String,
    pub color: String,
    pub gap: bool,
}

pub struct Day {
    /// "Tue Nov 3".
    pub label: String,
    pub today: bool,
    pub bars: Vec<Bar>,
    /// How many lanes the row has (at least one).
    pub lanes: usize,
    /// The row's local midnight and the length of its day (23 or 25 hours across a clock
    /// change), in milliseconds: a time picked on the row is `start + fraction * span`.
    pub start_ms: i64,
    pub span_ms: i64,
}

pub struct SwapRow {
    pub id: i64,
    /// "Dale Okoro offers Tue Nov 24, 5:00 PM to Wed Nov 25, 8:00 AM".
    pub what: String,
    pub offered: bool,
}

pub struct OverrideRow {
    pub id: i64,
    pub what: String,
    pub when: String,
    pub note: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "oncall/show.html")]
pub struct ShowPage {
    pub shell: Shell,
    pub id: i64,
    pub name: String,
    pub client: String,
    pub zone: String,
    pub now: String,
    pub until: String,
    pub days: Vec<Day>,
    /// (name, color, hours).
    pub hours: Vec<(String, String, String)>,
    pub gaps: Vec<String>,
    /// "Nights: Ana, Ben, Cy; daily shifts from 5:00 PM Mon Nov 2; weekdays 5:00 PM-8:00 AM, ...".
    pub layers: Vec<(String, String)>,
    pub overrides: Vec<OverrideRow>,
    /// (value, name) of everyone who may be named in an override.
    pub people: Vec<(String, String)>,
    pub form: OverrideForm,
    pub errors: Vec<(String, String)>,
    pub notice: Option<String>,
    /// Whether the signed-in person takes turns on this schedule (a link to their own shifts).
    pub mine: bool,
    pub swaps: Vec<SwapRow>,
    pub swap_error: Option<String>,
    /// Whether hand-off notices are on.
    pub handoff_notices: bool,
    /// The private links: the whole schedule's feed, then each person's feed and own page.
    pub links: Vec<LinkRow>,
    /// A link just made, shown this once: (what it is, the URL).
    pub new_link: Option<(String, String)>,
}

/// One row of "Calendars and links": whose, and the working links of each kind.
pub struct LinkRow {
    /// `everyone`, or a member (`user:3`).
    pub who: String,
    pub name: String,
    /// "2 working, newest Tue Nov 3", or empty: none.
    pub feeds: String,
    /// The same for links to the person's own shifts; `None` for the whole schedule.
    pub pages: Option<String>,
}

impl ShowPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }
}

/// The override form as typed (local times in the client's zone).
#[derive(Deserialize, Default, Clone)]
pub struct OverrideForm {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub who: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    #[serde(default)]
    pub note: String,
}

fn names_of(names: &[(Member, String)], m: Member) -> String {
    names.iter().find(|(x, _)| *x == m).map(|(_, n)| n.clone()).unwrap_or_else(|| m.to_string())
}

/// "5:00 PM Tue Nov 3".
fn at(t: Timestamp, tz: &jiff::tz::TimeZone) -> String {
    format!("{} {}", when::time(t, tz), when::date(t, tz))
}

fn gap_line(gaps: &[(Timestamp, Timestamp)], tz: &jiff::tz::TimeZone) -> String {
    match gaps.first() {
        None => String::new(),
        Some((s, e)) => {
            let more = match gaps.len() {
                1 => String::new(),
                n => format!(" ({n} gaps in the next 7 days)"),
            };
            format!("Nobody on call from {} to {}{more}", at(*s, tz), at(*e, tz))
        }
    }
}

pub async fn index(State(state): State<AppState>, Staff(viewer): Staff, uri: Uri) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let (shell, brands) = shell(&state, &viewer, "oncall", &uri).await?;
    let now = state.clock.now();
    let week = now.checked_add(SignedDuration::from_hours(24 * 7)).map_err(|e| Error::Unexpected(e.to_string()))?;
    let mut rows = Vec::new();
    for s in store::list(&state.db, org, None).await? {
        let names = store::names(&state.db, org, &s.members()).await?;
        let schedule = s.schedule();
        let on = timeline::on_call(&schedule, now);
        rows.push(Row {
            id: s.id,
            client: brands.iter().find(|b| b.id == s.brand_id).map(|b| b.name.clone()).unwrap_or_default(),
            now: on.on_call.iter().map(|(m, _)| names_of(&names, *m)).collect::<Vec<_>>().join(", "),
            until: on.until.map(|u| format!("until {}", at(u, &s.zone))).unwrap_or_default(),
            gap: gap_line(&coverage(&schedule, now, week).gaps, &s.zone),
            name: s.name,
        });
    }
    Ok(IndexPage { shell, rows }.into_response())
}

/// "weekdays 5:00 PM-8:00 AM", "Sat, Sun all day", "Mon 12:00 AM-8:00 AM".
fn window_words(w: &switchboard_core::oncall::Window) -> String {
    use jiff::civil::Weekday;
    let mut days = w.days.clone();
    days.sort_by_key(|d| d.to_monday_zero_offset());
    let named = if days == switchboard_core::oncall::Window::WEEKDAYS {
        "weekdays".to_string()
    } else if days == [Weekday::Saturday, Weekday::Sunday] {
        "weekends".to_string()
    } else {
        const SHORT: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        days.iter().map(|d| SHORT[usize::from(d.to_monday_zero_offset().unsigned_abs())]).collect::<Vec<_>>().join(", ")
    };
    if w.start == w.end {
        format!("{named} all day")
    } else {
        format!("{named} {}-{}", w.start.strftime("%-I:%M %p"), w.end.strftime("%-I:%M %p"))
    }
}

fn why(r: Reason, s: &StoredSchedule) -> String {
    match r {
        Reason::Layer { layer, .. } => s.layers.get(layer).map(|l| l.name.clone()).unwrap_or_default(),
        Reason::Swap { .. } => "swap".into(),
        Reason::Override { .. } => "override".into(),
    }
}

async fn page(
    state: &AppState,
    viewer: &switchboard_core::auth::SessionUser,
    uri: &Uri,
    id: i64,
    form: OverrideForm,
    errors: Vec<(String, String)>,
    notice: Option<String>,
) -> Result<ShowPage, PageError> {
    let org = viewer.user.org_id;
    let (shell, brands) = shell(state, viewer, "oncall", uri).await?;
    let s = store::get(&state.db, org, id).await?;
    let tz = s.zone.clone();
    let client = brands.iter().find(|b| b.id == s.brand_id).map(|b| b.name.clone()).unwrap_or_default();
    let schedule = s.schedule();
    let now = state.clock.now();
    let mut members = s.members();
    // Anyone of the client's contacts and the organization's sign-ins may be named in an override.
    let contacts = switchboard_core::desk::contacts::list(&state.db, org, s.brand_id).await?;
    members.extend(contacts.iter().map(|c| Member::Contact(c.id)));
    let users = switchboard_core::tenancy::list_users(&state.db, org).await?;
    members.extend(users.iter().filter(|u| u.active).map(|u| Member::User(u.id.0)));
    let names = store::names(&state.db, org, &members).await?;
    let color = |m: Member| {
        let i = names.iter().position(|(x, _)| *x == m).unwrap_or(0);
        PALETTE[i % PALETTE.len()].to_string()
    };
    let on = timeline::on_call(&schedule, now);

    // Two weeks from today's local midnight.
    let today = now.to_zoned(tz.clone()).date();
    let mut days = Vec::new();
    let midnight = |d: jiff::civil::Date| {
        tz.to_ambiguous_zoned(d.to_datetime(jiff::civil::Time::midnight())).compatible().map(|z| z.timestamp())
    };
    let unexpected = |e: jiff::Error| Error::Unexpected(e.to_string());
    let first = midnight(today).map_err(unexpected)?;
    let last = midnight(today.checked_add(jiff::Span::new().days(14)).map_err(unexpected)?).map_err(unexpected)?;
    let segments = timeline::timeline(&schedule, first, last);
    let mut day = today;
    for _ in 0..14 {
        let (Ok(start), Ok(next)) = (midnight(day), day.tomorrow()) else { break };
        let Ok(end) = midnight(next) else { break };
        let span = end.duration_since(start).as_secs_f64();
        // Each person's stretch on this row (and each gap), touching segments of the same
        // person for the same reason merged: (who, why, from, until).
        let mut stretches: Vec<(Option<Member>, Option<Reason>, Timestamp, Timestamp)> = Vec::new();
        for g in segments.iter().filter(|g| g.start < end && g.end > start) {
            let on: Vec<(Option<Member>, Option<Reason>)> = if g.on_call.is_empty() {
                vec![(None, None)]
            } else {
                g.on_call.iter().map(|(m, r)| (Some(*m), Some(*r))).collect()
            };
            for (m, r) in on {
                match stretches.iter_mut().find(|(x, y, _, until)| *x == m && *y == r && *until == g.start) {
                    Some(stretch) => stretch.3 = g.end,
                    None => stretches.push((m, r, g.start, g.end)),
                }
            }
        }
        let mut bars = Vec::new();
        let mut lane_ends: Vec<Timestamp> = Vec::new();
        for (m, r, from, until) in stretches {
            let (s0, e0) = (from.max(start), until.min(end));
            let lane = match lane_ends.iter().position(|e| *e <= s0) {
                Some(lane) => lane,
                None => {
                    lane_ends.push(s0);
                    lane_ends.len() - 1
                }
            };
            lane_ends[lane] = e0;
            let left = s0.duration_since(start).as_secs_f64() / span * 100.0;
            let width = e0.duration_since(s0).as_secs_f64() / span * 100.0;
            let hours = format!("{}-{}", when::time(from, &tz), when::time(until, &tz));
            bars.push(match (m, r) {
                (Some(m), Some(r)) => {
                    let who = names_of(&names, m);
                    Bar {
                        left,
                        width,
                        lane,
                        title: format!("{who}, {hours} ({})", why(r, &s)),
                        label: who,
                        color: color(m),
                        gap: false,
                    }
                }
                _ => Bar {
                    left,
                    width,
                    lane,
                    label: "Nobody".into(),
                    title: format!("Nobody on call, {hours}"),
                    color: String::new(),
                    gap: true,
                },
            });
        }
        days.push(Day {
            label: day.strftime("%a %b %-d").to_string(),
            today: day == today,
            bars,
            lanes: lane_ends.len().max(1),
            start_ms: start.as_millisecond(),
            span_ms: end.duration_since(start).as_millis() as i64,
        });
        day = next;
    }

    let week_end =
        now.checked_add(SignedDuration::from_hours(24 * 14)).map_err(|e| Error::Unexpected(e.to_string()))?;
    let cover = coverage(&schedule, now, week_end);
    let layers = s
        .layers
        .iter()
        .map(|l| {
            let people = l.rotation.members.iter().map(|m| names_of(&names, *m)).collect::<Vec<_>>().join(", ");
            let length = match l.rotation.length {
                switchboard_core::oncall::ShiftLength::Hours(n) => format!("{n}-hour shifts"),
                switchboard_core::oncall::ShiftLength::Days(1) => "daily shifts".to_string(),
                switchboard_core::oncall::ShiftLength::Days(n) => format!("{n}-day shifts"),
                switchboard_core::oncall::ShiftLength::Weeks(1) => "weekly shifts".to_string(),
                switchboard_core::oncall::ShiftLength::Weeks(n) => format!("{n}-week shifts"),
            };
            let windows = if l.windows.is_empty() {
                "all the time".to_string()
            } else {
                l.windows.iter().map(window_words).collect::<Vec<_>>().join("; ")
            };
            let start = l.rotation.start.strftime("%-I:%M %p %a %b %-d, %Y").to_string();
            (l.name.clone(), format!("{people}; {length} from {start}; on {windows}"))
        })
        .collect();
    let overrides = s
        .overrides
        .iter()
        .filter(|o| o.end > now)
        .map(|o| OverrideRow {
            id: o.id,
            what: match o.change {
                Change::Replace { from: Some(f), to } => {
                    format!("{} instead of {}", names_of(&names, to), names_of(&names, f))
                }
                Change::Replace { from: None, to } => format!("{} instead of whoever is on", names_of(&names, to)),
                Change::Add { who } => format!("{} also on call", names_of(&names, who)),
                Change::Remove { who } => format!("{} off (time off)", names_of(&names, who)),
            },
            when: format!("{} to {}", at(o.start, &tz), at(o.end, &tz)),
            note: o.note.clone().unwrap_or_default(),
        })
        .collect();
    let mut people: Vec<(String, String)> = names.iter().map(|(m, n)| (m.to_string(), n.clone())).collect();
    people.sort_by(|a, b| a.1.cmp(&b.1));
    people.dedup();
    Ok(ShowPage {
        shell,
        id: s.id,
        name: s.name.clone(),
        client,
        zone: tz.iana_name().unwrap_or("UTC").to_string(),
        now: on.on_call.iter().map(|(m, _)| names_of(&names, *m)).collect::<Vec<_>>().join(", "),
        until: on.until.map(|u| at(u, &tz)).unwrap_or_default(),
        days,
        hours: cover.hours.iter().map(|(m, h)| (names_of(&names, *m), color(*m), format!("{h:.1}"))).collect(),
        gaps: cover.gaps.iter().map(|(a, b)| format!("{} to {}", at(*a, &tz), at(*b, &tz))).collect(),
        layers,
        overrides,
        people,
        form,
        errors,
        notice,
        mine: s.layers.iter().any(|l| l.rotation.members.contains(&Member::User(viewer.user.id.0))),
        swaps: switchboard_core::oncall::swaps::list(&state.db, state.clock.as_ref(), org, s.id, false)
            .await?
            .into_iter()
            .filter(|w| w.status != switchboard_core::oncall::swaps::SwapStatus::Withdrawn)
            .map(|w| {
                let when = format!("{} to {}", at(w.start, &tz), at(w.end, &tz));
                let what = match w.to {
                    Some(to) => format!("{} took {}'s {when}", names_of(&names, to), names_of(&names, w.from)),
                    None => format!("{} offers {when}", names_of(&names, w.from)),
                };
                SwapRow { id: w.id, what, offered: w.to.is_none() }
            })
            .collect(),
        swap_error: None,
        handoff_notices: s.handoff_notices,
        links: link_rows(state, org, &s, &names).await?,
        new_link: None,
    })
}

/// "2 working, newest Tue Nov 3" for the links about `about`, or empty.
fn working(rows: &[(Option<i64>, i64, Timestamp)], about: Option<i64>, tz: &jiff::tz::TimeZone) -> String {
    match rows.iter().find(|(a, _, _)| *a == about) {
        Some((_, 1, at)) => format!("1 working, made {}", when::date(*at, tz)),
        Some((_, n, at)) => format!("{n} working, newest made {}", when::date(*at, tz)),
        None => String::new(),
    }
}

async fn link_rows(
    state: &AppState,
    org: switchboard_core::ids::OrgId,
    s: &StoredSchedule,
    names: &[(Member, String)],
) -> Result<Vec<LinkRow>, PageError> {
    use switchboard_core::links::{Scope, working_about};
    let feeds = working_about(&state.db, state.clock.as_ref(), org, Scope::Calendar, s.id).await?;
    let pages = working_about(&state.db, state.clock.as_ref(), org, Scope::Shifts, s.id).await?;
    let mut rows = vec![LinkRow {
        who: "everyone".into(),
        name: "Whole schedule".into(),
        feeds: working(&feeds, None, &s.zone),
        pages: None,
    }];
    let mut people: Vec<Member> = s.layers.iter().flat_map(|l| l.rotation.members.iter().copied()).collect();
    // Anyone else with a working link (named by an override or a swap) is listed too, so it can be stopped.
    for (about, _, _) in feeds.iter().chain(&pages) {
        if let Some(m) = about.map(Member::from_link_id) {
            people.push(m);
        }
    }
    let mut seen = Vec::new();
    for m in people {
        if seen.contains(&m) {
            continue;
        }
        seen.push(m);
        rows.push(LinkRow {
            who: m.to_string(),
            name: names_of(names, m),
            feeds: working(&feeds, Some(m.link_id()), &s.zone),
            pages: Some(working(&pages, Some(m.link_id()), &s.zone)),
        });
    }
    Ok(rows)
}

/// What a links form names: the kind of link and whose.
#[derive(Deserialize)]
pub struct LinkForm {
    /// `feed` or `page`.
    kind: String,
    /// `everyone` or a member.
    who: String,
}

/// `POST /oncall/{id}/links`: a new private link, shown on the page this once (it is stored
/// only hashed).
pub async fn new_link(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<LinkForm>,
) -> Result<Response, PageError> {
    use switchboard_core::oncall::{feed, mine};
    let id = parse_id(&id)?;
    let org = viewer.user.org_id;
    let s = store::get(&state.db, org, id).await?;
    let member = match f.who.as_str() {
        "everyone" => None,
        who => Some(store::read_member(&state.db, org, s.brand_id, who).await.map_err(|e| Error::invalid("who", e))?),
    };
    let base = &state.config.public_url;
    let (what, url) = match (f.kind.as_str(), member) {
        ("feed", only) => {
            let token = feed::issue(&state.db, state.clock.as_ref(), org, id, only).await?;
            ("Calendar link", format!("{base}/calendar/{token}.ics"))
        }
        ("page", Some(m)) => {
            let token = mine::issue(&state.db, state.clock.as_ref(), org, id, m).await?;
            ("Link to their own shifts", format!("{base}/s/{token}"))
        }
        _ => return Err(Error::invalid("kind", "pick a calendar link, or a person's own page").into()),
    };
    let form = OverrideForm { action: "replace".into(), ..OverrideForm::default() };
    let mut page = page(&state, &viewer, &uri, id, form, Vec::new(), None).await?;
    let name = page.links.iter().find(|r| r.who == f.who).map(|r| r.name.clone()).unwrap_or_default();
    page.new_link = Some((format!("{what} for {name}"), url));
    Ok(page.into_response())
}

/// `POST /oncall/{id}/links/stop`: the links of that kind for that person stop working at once.
pub async fn stop_links(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path(id): Path<String>,
    Form(f): Form<LinkForm>,
) -> Result<Response, PageError> {
    use switchboard_core::oncall::feed::{self, Feeds};
    let id = parse_id(&id)?;
    let org = viewer.user.org_id;
    let s = store::get(&state.db, org, id).await?;
    let member = match f.who.as_str() {
        "everyone" => None,
        who => Some(Member::parse(who).map_err(|e| Error::invalid("who", e))?),
    };
    match (f.kind.as_str(), member) {
        ("feed", None) => feed::revoke(&state.db, state.clock.as_ref(), org, s.id, Feeds::Everyone).await?,
        ("feed", Some(m)) => feed::revoke(&state.db, state.clock.as_ref(), org, s.id, Feeds::Of(m)).await?,
        ("page", Some(m)) => {
            switchboard_core::oncall::mine::revoke(&state.db, state.clock.as_ref(), org, s.id, m).await?
        }
        _ => return Err(Error::invalid("kind", "pick a calendar link, or a person's own page").into()),
    };
    Ok(Redirect::to(&format!("/oncall/{id}?done=stopped#links-title")).into_response())
}

#[derive(Deserialize)]
pub struct HandoffForm {
    #[serde(default)]
    notices: String,
}

/// `POST /oncall/{id}/handoff`: hand-off notices on or off.
pub async fn set_handoff(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path(id): Path<String>,
    Form(f): Form<HandoffForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let on = f.notices == "on";
    store::update(&state.db, state.clock.as_ref(), viewer.user.org_id, id, None, Some(on)).await?;
    Ok(Redirect::to(&format!("/oncall/{id}?done={}", if on { "notices_on" } else { "notices_off" })).into_response())
}

#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
}

pub async fn show(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    axum::extract::Query(done): axum::extract::Query<Done>,
) -> Result<Response, PageError> {
    let notice = match done.done.as_str() {
        "added" => Some("Override saved: it is in effect now.".to_string()),
        "removed" => Some("Override taken back.".to_string()),
        "layers" => Some("Layers saved: in effect now.".to_string()),
        "swap" => Some("Swap saved: in effect now.".to_string()),
        "stopped" => Some("Those links stopped working.".to_string()),
        "notices_on" => Some(
            "Hand-off notices on: whoever comes on call is told at each hand-off, and whoever goes off.".to_string(),
        ),
        "notices_off" => Some("Hand-off notices off.".to_string()),
        _ => None,
    };
    let form = OverrideForm { action: "replace".into(), ..OverrideForm::default() };
    Ok(page(&state, &viewer, &uri, parse_id(&id)?, form, Vec::new(), notice).await?.into_response())
}

/// A local `2026-11-03T17:00` (the form's `datetime-local`) in the client's zone, as RFC 3339.
fn instant(local: &str, tz: &jiff::tz::TimeZone) -> String {
    match local.trim().parse::<jiff::civil::DateTime>() {
        Ok(dt) => tz.to_ambiguous_zoned(dt).compatible().map(|z| z.timestamp().to_string()).unwrap_or_default(),
        Err(_) => local.trim().to_string(),
    }
}

/// `POST /oncall/{id}/overrides`.
pub async fn add_override(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<OverrideForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let org = viewer.user.org_id;
    let s = store::get(&state.db, org, id).await?;
    let input = OverrideInput {
        start: instant(&form.start, &s.zone),
        end: instant(&form.end, &s.zone),
        action: form.action.clone(),
        from: Some(form.from.clone()).filter(|f| !f.is_empty() && form.action == "replace"),
        who: Some(form.who.clone()),
        note: Some(form.note.clone()),
    };
    match store::add_override(&state.db, state.clock.as_ref(), org, id, &input, &actor(&viewer)).await {
        Ok(_) => Ok(Redirect::to(&format!("/oncall/{id}?done=added")).into_response()),
        Err(Error::Invalid(fields)) => {
            let errors = fields
                .into_iter()
                .map(|f| {
                    // The form's fields are local times: the message shows them as typed.
                    let message = match f.field.as_ref() {
                        "start" | "end" if f.message.contains("is not a time") => "enter a date and time".to_string(),
                        _ => f.message,
                    };
                    (f.field.to_string(), message)
                })
                .collect();
            let mut page = page(&state, &viewer, &uri, id, form, errors, None).await?;
            page.notice = None;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /oncall/{id}/overrides/{override}/remove`.
pub async fn remove_override(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path((id, override_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (id, override_id) = (parse_id(&id)?, parse_id(&override_id)?);
    store::remove_override(&state.db, state.clock.as_ref(), viewer.user.org_id, id, override_id).await?;
    Ok(Redirect::to(&format!("/oncall/{id}?done=removed")).into_response())
}

/// `GET /oncall/{id}/mine`: a signed-in person's own shifts on the schedule (the page a link
/// opens for someone without an account), to offer and take swaps.
pub async fn mine(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path(id): Path<String>,
    axum::extract::Query(done): axum::extract::Query<crate::public::shifts::Done>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let me = Member::User(viewer.user.id.0);
    let m =
        switchboard_core::oncall::mine::open_as(&state.db, state.clock.as_ref(), viewer.user.org_id, id, me).await?;
    let page =
        crate::public::shifts::page(format!("/oncall/{id}/mine"), viewer.csrf_token.clone(), &m, done.notice(), None);
    Ok(page.into_response())
}

/// `POST /oncall/{id}/mine/offer`.
pub async fn mine_offer(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path(id): Path<String>,
    Form(form): Form<crate::public::shifts::OfferForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let (db, clock, org) = (&state.db, state.clock.as_ref(), viewer.user.org_id);
    let me = Member::User(viewer.user.id.0);
    let Some((start, end)) = form.stretch() else { return Err(Error::invalid("start", "not a shift").into()) };
    let m = switchboard_core::oncall::mine::open_as(db, clock, org, id, me).await?;
    let r = switchboard_core::oncall::mine::offer(&m, db, clock, start, end, &actor(&viewer)).await.map(|_| ());
    let reopen = switchboard_core::oncall::mine::open_as(db, clock, org, id, me);
    Ok(crate::public::shifts::after(&format!("/oncall/{id}/mine"), &viewer.csrf_token, r, "offered", reopen).await)
}

/// `POST /oncall/{id}/mine/swaps/{swap}/take` and `.../withdraw`.
pub async fn mine_swap(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path((id, swap, what)): Path<(String, String, String)>,
) -> Result<Response, PageError> {
    let (id, swap) = (parse_id(&id)?, parse_id(&swap)?);
    let (db, clock, org) = (&state.db, state.clock.as_ref(), viewer.user.org_id);
    let me = Member::User(viewer.user.id.0);
    let m = switchboard_core::oncall::mine::open_as(db, clock, org, id, me).await?;
    let (r, done) = match what.as_str() {
        "take" => {
            (switchboard_core::oncall::mine::take(&m, db, clock, swap, &actor(&viewer)).await.map(|_| ()), "taken")
        }
        "withdraw" => (
            switchboard_core::oncall::mine::withdraw(&m, db, clock, swap, &actor(&viewer)).await.map(|_| ()),
            "withdrawn",
        ),
        _ => return Err(PageError::not_found()),
    };
    let reopen = switchboard_core::oncall::mine::open_as(db, clock, org, id, me);
    Ok(crate::public::shifts::after(&format!("/oncall/{id}/mine"), &viewer.csrf_token, r, done, reopen).await)
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    who: String,
}

/// `POST /oncall/{id}/swaps/{swap}/assign` (the office gives an offered shift to someone) and
/// `.../withdraw` (an offer withdrawn, or a taken one given back).
pub async fn swap_action(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path((id, swap, what)): Path<(String, String, String)>,
    Form(form): Form<AssignForm>,
) -> Result<Response, PageError> {
    let (id, swap) = (parse_id(&id)?, parse_id(&swap)?);
    let (db, clock, org) = (&state.db, state.clock.as_ref(), viewer.user.org_id);
    let done = match what.as_str() {
        "assign" => {
            switchboard_core::oncall::swaps::take(db, clock, org, id, swap, &form.who, &actor(&viewer), true).await
        }
        "withdraw" => switchboard_core::oncall::swaps::withdraw(db, clock, org, id, swap, &actor(&viewer)).await,
        _ => return Err(PageError::not_found()),
    };
    match done {
        Ok(_) => Ok(Redirect::to(&format!("/oncall/{id}?done=swap")).into_response()),
        Err(Error::Invalid(fields)) => {
            let why = fields.into_iter().map(|f| f.message).collect::<Vec<_>>().join("; ");
            let form = OverrideForm { action: "replace".into(), ..OverrideForm::default() };
            let mut page = page(&state, &viewer, &uri, id, form, Vec::new(), None).await?;
            page.swap_error = Some(format!("Not assigned: {why}."));
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(Error::Conflict(why)) => {
            let form = OverrideForm { action: "replace".into(), ..OverrideForm::default() };
            let mut page = page(&state, &viewer, &uri, id, form, Vec::new(), None).await?;
            page.swap_error = Some(format!("Not done: {why}."));
            Ok((axum::http::StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
