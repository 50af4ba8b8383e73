//! A person's own shifts on a schedule (`/s/{token}`), opened from a link the office sends,
//! on any phone and without an account: their next shifts with "Offer this shift", the shifts
//! others offer with "Take it", and the ones they took with "Give it back". Each form posts
//! back and comes back to the page with what happened; a refusal (someone was quicker) is
//! shown on the page. A link that does not work gets one plain page.

use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::Deserialize;
use switchboard_core::oncall::mine::{self, Mine};
use switchboard_core::{Error, when};

use super::{link_failed, private_page};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/s/{token}", get(index))
        .route("/s/{token}/offer", post(offer))
        .route("/s/{token}/swaps/{id}/take", post(take))
        .route("/s/{token}/swaps/{id}/withdraw", post(withdraw))
}

pub struct Shift {
    pub when: String,
    pub start: String,
    pub end: String,
    /// My open offer of it (0: none).
    pub offered: i64,
}

pub struct Offer {
    pub id: i64,
    pub when: String,
    pub from: String,
    pub note: String,
}

#[derive(askama::Template, WebTemplate)]
#[template(path = "shifts/index.html")]
pub struct ShiftsPage {
    /// Where the forms post: `/s/{token}`, or `/oncall/{id}/mine` for a signed-in person.
    pub base: String,
    /// The console's CSRF token, for a signed-in person's forms.
    pub csrf: String,
    pub schedule: String,
    pub client: String,
    pub color: String,
    pub zone: String,
    pub name: String,
    pub shifts: Vec<Shift>,
    pub offered: Vec<Offer>,
    pub taken: Vec<Offer>,
    pub notice: Option<String>,
    pub error: Option<String>,
}

/// "Tue Nov 24, 5:00 PM to Wed Nov 25, 8:00 AM".
fn stretch(start: Timestamp, end: Timestamp, tz: &jiff::tz::TimeZone) -> String {
    format!("{}, {} to {}, {}", when::date(start, tz), when::time(start, tz), when::date(end, tz), when::time(end, tz))
}

pub fn page(base: String, csrf: String, m: &Mine, notice: Option<String>, error: Option<String>) -> ShiftsPage {
    let tz = &m.schedule.zone;
    ShiftsPage {
        schedule: m.schedule.name.clone(),
        client: m.client.name.clone(),
        color: m.client.color.clone(),
        zone: tz.iana_name().unwrap_or("UTC").to_string(),
        name: m.my_name.clone(),
        shifts: m
            .shifts
            .iter()
            .map(|(s, e, offered)| Shift {
                when: stretch(*s, *e, tz),
                start: s.to_string(),
                end: e.to_string(),
                offered: offered.unwrap_or(0),
            })
            .collect(),
        offered: m
            .offered
            .iter()
            .map(|(w, from)| Offer {
                id: w.id,
                when: stretch(w.start, w.end, tz),
                from: from.clone(),
                note: w.note.clone().unwrap_or_default(),
            })
            .collect(),
        taken: m
            .taken
            .iter()
            .map(|w| Offer { id: w.id, when: stretch(w.start, w.end, tz), from: String::new(), note: String::new() })
            .collect(),
        notice,
        error,
        base,
        csrf,
    }
}

#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
}

impl Done {
    pub fn notice(&self) -> Option<String> {
        match self.done.as_str() {
            "offered" => Some("Offered: the others see it now. It stays yours until someone takes it.".to_string()),
            "taken" => Some("It's yours: you are the one called for it now.".to_string()),
            "withdrawn" => Some("Done: it's back as it was.".to_string()),
            _ => None,
        }
    }
}

async fn index(State(state): State<AppState>, Path(token): Path<String>, Query(done): Query<Done>) -> Response {
    let notice = done.notice();
    match mine::open(&state.db, state.clock.as_ref(), &token).await {
        Ok(m) => private_page(page(format!("/s/{token}"), String::new(), &m, notice, None).into_response()),
        Err(e) => link_failed(e),
    }
}

/// After an action: back to the page at `base`, or the page with why not (`reopen` shows it
/// as it is now).
pub async fn after(
    base: &str,
    csrf: &str,
    result: switchboard_core::Result<()>,
    done: &str,
    reopen: impl std::future::Future<Output = switchboard_core::Result<Mine>>,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("{base}?done={done}")).into_response(),
        Err(Error::NotFound) => link_failed(Error::NotFound),
        Err(e @ (Error::Conflict(_) | Error::Invalid(_))) => {
            let why = match e {
                Error::Conflict(m) => m,
                Error::Invalid(fields) => fields.into_iter().map(|f| f.message).collect::<Vec<_>>().join("; "),
                _ => String::new(),
            };
            match reopen.await {
                Ok(m) => private_page(
                    (
                        StatusCode::CONFLICT,
                        page(base.to_string(), csrf.to_string(), &m, None, Some(format!("Not done: {why}."))),
                    )
                        .into_response(),
                ),
                Err(e) => link_failed(e),
            }
        }
        Err(e) => link_failed(e),
    }
}

#[derive(Deserialize)]
pub struct OfferForm {
    pub start: String,
    pub end: String,
}

impl OfferForm {
    pub fn stretch(&self) -> Option<(Timestamp, Timestamp)> {
        Some((self.start.parse().ok()?, self.end.parse().ok()?))
    }
}

async fn offer(State(state): State<AppState>, Path(token): Path<String>, Form(form): Form<OfferForm>) -> Response {
    let Some((start, end)) = form.stretch() else { return link_failed(Error::invalid("start", "not a shift")) };
    let (db, clock) = (&state.db, state.clock.as_ref());
    let r = match mine::open(db, clock, &token).await {
        Ok(m) => mine::offer(&m, db, clock, start, end, &mine::link_actor(&m)).await.map(|_| ()),
        Err(e) => Err(e),
    };
    after(&format!("/s/{token}"), "", r, "offered", mine::open(db, clock, &token)).await
}

async fn take(State(state): State<AppState>, Path((token, id)): Path<(String, i64)>) -> Response {
    let (db, clock) = (&state.db, state.clock.as_ref());
    let r = match mine::open(db, clock, &token).await {
        Ok(m) => mine::take(&m, db, clock, id, &mine::link_actor(&m)).await.map(|_| ()),
        Err(e) => Err(e),
    };
    after(&format!("/s/{token}"), "", r, "taken", mine::open(db, clock, &token)).await
}

async fn withdraw(State(state): State<AppState>, Path((token, id)): Path<(String, i64)>) -> Response {
    let (db, clock) = (&state.db, state.clock.as_ref());
    let r = match mine::open(db, clock, &token).await {
        Ok(m) => mine::withdraw(&m, db, clock, id, &mine::link_actor(&m)).await.map(|_| ()),
        Err(e) => Err(e),
    };
    after(&format!("/s/{token}"), "", r, "withdrawn", mine::open(db, clock, &token)).await
}
