//! Editing a schedule's layers in the console (`/oncall/{id}/layers`): each layer's name, its
//! people in turn order, the shift length, the first shift's local start, and up to three
//! windows it is on within (days, from, until); a blank row adds a layer, "Remove" drops one.
//! Saved as a whole and in effect at once; a refusal shows the form again with each reason
//! beside its field and everything typed kept. Also `/oncall/new`: a new, empty schedule.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use switchboard_core::Error;
use switchboard_core::ids::BrandId;
use switchboard_core::oncall::store::{self, LayerInput, WindowInput, day_name};
use switchboard_core::oncall::{Layer, Member};

use super::shell;
use crate::auth::Staff;
use crate::error::PageError;
use crate::pages::parse_id;
use crate::state::AppState;
use crate::views::Shell;

/// People slots per layer, and window slots.
pub const MEMBER_SLOTS: usize = 8;
pub const WINDOW_SLOTS: usize = 3;
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

pub struct WindowRow {
    pub days: Vec<String>,
    pub start: String,
    pub end: String,
}

impl WindowRow {
    pub fn has(&self, d: &&str) -> bool {
        self.days.iter().any(|x| x == d)
    }
}

/// A layer as the form shows it (1-based `n`).
pub struct LayerRow {
    pub n: usize,
    pub name: String,
    pub members: Vec<String>,
    pub unit: String,
    pub count: String,
    pub start: String,
    pub windows: Vec<WindowRow>,
    pub remove: bool,
    pub errors: Vec<(String, String)>,
}

impl LayerRow {
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == field || f.starts_with(&format!("{field}."))).map(|(_, m)| m.as_str())
    }
    fn blank(n: usize) -> LayerRow {
        LayerRow {
            n,
            name: String::new(),
            members: vec![String::new(); MEMBER_SLOTS],
            unit: "days".into(),
            count: "1".into(),
            start: String::new(),
            windows: (0..WINDOW_SLOTS)
                .map(|_| WindowRow { days: Vec::new(), start: String::new(), end: String::new() })
                .collect(),
            remove: false,
            errors: Vec::new(),
        }
    }
    fn of(n: usize, l: &Layer) -> LayerRow {
        let mut row = LayerRow::blank(n);
        row.name = l.name.clone();
        for (slot, m) in row.members.iter_mut().zip(&l.rotation.members) {
            *slot = m.to_string();
        }
        row.unit = l.rotation.length.unit().into();
        row.count = l.rotation.length.count().to_string();
        row.start = l.rotation.start.strftime("%Y-%m-%dT%H:%M").to_string();
        for (slot, w) in row.windows.iter_mut().zip(&l.windows) {
            slot.days = w.days.iter().map(|d| day_name(*d).to_string()).collect();
            slot.start = w.start.strftime("%H:%M").to_string();
            slot.end = w.end.strftime("%H:%M").to_string();
        }
        row
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "oncall/layers.html")]
pub struct LayersPage {
    pub shell: Shell,
    pub id: i64,
    pub name: String,
    pub client: String,
    pub zone: String,
    pub rows: Vec<LayerRow>,
    pub people: Vec<(String, String)>,
    pub days: [&'static str; 7],
    pub failed: bool,
}

async fn people(
    state: &AppState,
    org: switchboard_core::ids::OrgId,
    brand: BrandId,
) -> Result<Vec<(String, String)>, PageError> {
    let mut members: Vec<Member> = switchboard_core::desk::contacts::list(&state.db, org, brand)
        .await?
        .iter()
        .map(|c| Member::Contact(c.id))
        .collect();
    let users = switchboard_core::tenancy::list_users(&state.db, org).await?;
    members.extend(users.iter().filter(|u| u.active).map(|u| Member::User(u.id.0)));
    let mut out: Vec<(String, String)> =
        store::names(&state.db, org, &members).await?.into_iter().map(|(m, n)| (m.to_string(), n)).collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

async fn render(
    state: &AppState,
    viewer: &switchboard_core::auth::SessionUser,
    uri: &Uri,
    id: i64,
    rows: Option<Vec<LayerRow>>,
) -> Result<LayersPage, PageError> {
    let org = viewer.user.org_id;
    let (shell, brands) = shell(state, viewer, "oncall", uri).await?;
    let s = store::get(&state.db, org, id).await?;
    let failed = rows.is_some();
    let rows = rows.unwrap_or_else(|| {
        let mut rows: Vec<LayerRow> = s.layers.iter().enumerate().map(|(i, l)| LayerRow::of(i + 1, l)).collect();
        rows.push(LayerRow::blank(rows.len() + 1));
        rows
    });
    Ok(LayersPage {
        shell,
        id,
        name: s.name.clone(),
        client: brands.iter().find(|b| b.id == s.brand_id).map(|b| b.name.clone()).unwrap_or_default(),
        zone: s.zone.iana_name().unwrap_or("UTC").to_string(),
        rows,
        people: people(state, org, s.brand_id).await?,
        days: DAYS,
        failed,
    })
}

pub async fn edit(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    Ok(render(&state, &viewer, &uri, parse_id(&id)?, None).await?.into_response())
}

/// The rows as posted.
fn rows_of(posted: &[(String, String)]) -> Vec<LayerRow> {
    let get = |k: &str| posted.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let all = |k: &str| posted.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let mut rows = Vec::new();
    for n in 1..=store::LAYERS_MAX + 1 {
        if !posted.iter().any(|(k, _)| k.starts_with(&format!("l{n}_"))) {
            break;
        }
        let mut row = LayerRow::blank(n);
        row.name = get(&format!("l{n}_name"));
        row.members = (1..=MEMBER_SLOTS).map(|k| get(&format!("l{n}_m{k}"))).collect();
        row.unit = get(&format!("l{n}_unit"));
        row.count = get(&format!("l{n}_count"));
        row.start = get(&format!("l{n}_start"));
        row.windows = (1..=WINDOW_SLOTS)
            .map(|j| WindowRow {
                days: all(&format!("l{n}_w{j}_days")),
                start: get(&format!("l{n}_w{j}_start")),
                end: get(&format!("l{n}_w{j}_end")),
            })
            .collect();
        row.remove = !get(&format!("l{n}_remove")).is_empty();
        rows.push(row);
    }
    rows
}

/// A row left blank adds nothing.
fn is_blank(r: &LayerRow) -> bool {
    r.name.trim().is_empty() && r.members.iter().all(|m| m.is_empty()) && r.start.trim().is_empty()
}

pub async fn save(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(posted): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let org = viewer.user.org_id;
    let mut rows = rows_of(&posted);
    // Which row each layer sent came from, to put a refusal beside it.
    let kept: Vec<usize> = rows.iter().enumerate().filter(|(_, r)| !r.remove && !is_blank(r)).map(|(i, _)| i).collect();
    let input: Vec<LayerInput> = kept
        .iter()
        .map(|&i| {
            let r = &rows[i];
            LayerInput {
                name: r.name.clone(),
                members: r.members.iter().filter(|m| !m.is_empty()).cloned().collect(),
                shift_unit: r.unit.clone(),
                shift_count: r.count.trim().parse().unwrap_or(0),
                start: r.start.clone(),
                windows: r
                    .windows
                    .iter()
                    .filter(|w| !w.days.is_empty() || !w.start.is_empty() || !w.end.is_empty())
                    .map(|w| WindowInput { days: w.days.clone(), start: w.start.clone(), end: w.end.clone() })
                    .collect(),
            }
        })
        .collect();
    match store::set_layers(&state.db, state.clock.as_ref(), org, id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/oncall/{id}?done=layers")).into_response()),
        Err(Error::Invalid(fields)) => {
            for f in fields {
                // `layers.2.members` -> the second layer sent, by its row.
                let mut parts = f.field.splitn(3, '.');
                let (Some(_), Some(n), Some(rest)) = (parts.next(), parts.next(), parts.next()) else { continue };
                if let Some(&i) = n.parse::<usize>().ok().and_then(|n| kept.get(n.saturating_sub(1))) {
                    rows[i].errors.push((rest.to_string(), f.message));
                }
            }
            let page = render(&state, &viewer, &uri, id, Some(rows)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "oncall/new.html")]
pub struct NewPage {
    pub shell: Shell,
    pub clients: Vec<(i64, String)>,
    pub client: i64,
    pub name: String,
    pub errors: Vec<(String, String)>,
}

impl NewPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }
}

pub async fn new(State(state): State<AppState>, Staff(viewer): Staff, uri: Uri) -> Result<Response, PageError> {
    let (shell, brands) = shell(&state, &viewer, "oncall", &uri).await?;
    let clients = brands.iter().map(|b| (b.id.0, b.name.clone())).collect();
    Ok(NewPage { shell, clients, client: 0, name: String::new(), errors: Vec::new() }.into_response())
}

#[derive(serde::Deserialize)]
pub struct NewForm {
    #[serde(default)]
    client: String,
    #[serde(default)]
    name: String,
}

pub async fn create(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Form(form): Form<NewForm>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let client = form.client.trim().parse::<i64>().unwrap_or(0);
    match store::create(&state.db, state.clock.as_ref(), org, BrandId(client), &form.name, &[], false).await {
        Ok(s) => Ok(Redirect::to(&format!("/oncall/{}/layers", s.id)).into_response()),
        Err(e @ (Error::Invalid(_) | Error::Conflict(_))) => {
            let errors = match e {
                Error::Invalid(fields) => fields
                    .into_iter()
                    .map(|f| {
                        (if f.field == "client_id" { "client".to_string() } else { f.field.to_string() }, f.message)
                    })
                    .collect(),
                Error::Conflict(m) => vec![("name".to_string(), m)],
                _ => Vec::new(),
            };
            let (shell, brands) = shell(&state, &viewer, "oncall", &uri).await?;
            let clients = brands.iter().map(|b| (b.id.0, b.name.clone())).collect();
            let page = NewPage { shell, clients, client, name: form.name, errors };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
