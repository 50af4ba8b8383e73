//! An urgent message's acknowledgement page (`/ack/{token}`), opened from the link in the
//! text or email an escalation sent: the message, where it stands, and Accept ("I'm taking
//! it") or Pass ("the next person, now"). Opening it is recorded on the message's timeline.

use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use switchboard_core::escalation::ack::{self, Ack, Subject, Takeable, Took};
use switchboard_core::escalation::drive::ACK_LINK_DAYS;
use switchboard_core::escalation::run::State as EscState;
use switchboard_core::when;

use super::{link_failed, private_page};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ack/{token}", get(index))
        .route("/ack/{token}/accept", post(accept))
        .route("/ack/{token}/pass", post(pass))
        .route("/ack/{token}/take", post(take))
}

#[derive(askama::Template, WebTemplate)]
#[template(path = "ack/index.html")]
pub struct AckPage {
    pub token: String,
    pub client: String,
    pub color: String,
    pub person: String,
    pub heading: String,
    pub taken: String,
    pub caller_type: String,
    pub answers: Vec<(String, String)>,
    pub urgent_reason: String,
    pub state_title: String,
    pub state_text: String,
    pub can_accept: bool,
    pub can_pass: bool,
    /// What the message is about ("J-1001 · Water heater leak · Ben Carter, 12 Elm St").
    pub about: String,
    /// The job they can take and head to ("J-1001", "the job"), when they can.
    pub take: Option<String>,
    pub notice: Option<String>,
    pub days: i64,
}

fn page(token: &str, a: &Ack, takeable: Option<&Takeable>, notice: Option<String>) -> AckPage {
    let e = &a.escalation;
    let m = &a.told.message;
    let tz = a.told.brand.zone();
    let mine = e.confirmed_by.as_deref() == Some(a.recipient.person.as_str());
    let (heading, state_title, state_text) = match e.run.state {
        EscState::Escalating => (
            "Can you take it?".to_string(),
            "Nobody has confirmed it yet".to_string(),
            "Accept it if you are taking it: everyone else is told it is handled and nobody else is called. \
             Pass it if you cannot, and the next person is reached now."
                .to_string(),
        ),
        EscState::Confirmed if mine => (
            "It's yours".to_string(),
            "You confirmed it".to_string(),
            "Thank you. Nobody else will be called about it.".to_string(),
        ),
        EscState::Confirmed => (
            "It's handled".to_string(),
            format!("{} confirmed it", e.confirmed_by.as_deref().unwrap_or("Someone")),
            "No need to do anything. Thank you.".to_string(),
        ),
        EscState::Exhausted => (
            "Can you still take it?".to_string(),
            "Nobody confirmed it in time".to_string(),
            "Its urgent flow ended without a confirmation and the desk was told. If you can still take it, \
             accept it: the desk sees it is yours and everyone else is told it is handled."
                .to_string(),
        ),
    };
    AckPage {
        token: token.to_string(),
        client: a.told.brand.name.clone(),
        color: a.told.brand.color.clone(),
        // The technician's name when they are one; a bare number as it is read.
        person: match takeable {
            Some(t) => t.tech.name.clone(),
            None if a.recipient.person.starts_with('+') => switchboard_core::parse::display_phone(&a.recipient.person),
            None => a.recipient.person.clone(),
        },
        heading,
        taken: format!("{} {}", when::time(m.taken_at, &tz), when::date(m.taken_at, &tz)),
        caller_type: m.caller_type_name.clone(),
        answers: m.answers.iter().map(|x| (x.label.clone(), x.shown())).collect(),
        urgent_reason: m.urgent_reason.clone().unwrap_or_default(),
        state_title,
        state_text,
        can_accept: e.run.state != EscState::Confirmed,
        can_pass: a.can_pass(),
        about: takeable.map(|t| about_line(&t.about)).unwrap_or_default(),
        take: takeable.filter(|t| (e.run.state != EscState::Confirmed || mine) && !working(t)).map(|t| t.about.label()),
        notice,
        days: ACK_LINK_DAYS,
    }
}

/// "J-1001 · Water heater leak · Ben Carter, 12 Elm St", or for a lead "A request from Ben
/// Carter (a job is made when taken)".
fn about_line(s: &Subject) -> String {
    match s {
        Subject::Job(j) => {
            let mut parts = vec![j.code.clone(), j.service.clone()];
            parts.push(match &j.address {
                Some(a) => format!("{}, {a}", j.customer_name),
                None => j.customer_name.clone(),
            });
            parts.join(" · ")
        }
        Subject::Lead(l) => {
            let who = l.name.clone().or(l.phone.as_deref().map(switchboard_core::parse::display_phone));
            let who = who.map(|w| format!(" from {w}")).unwrap_or_default();
            format!("A request{who} (a job is made when you take it)")
        }
    }
}

/// Whether the technician is on the way to (or at) the job already.
fn working(t: &Takeable) -> bool {
    match &t.about {
        Subject::Job(j) => j.techs.iter().any(|x| x.id == t.tech.id && x.work.working()),
        Subject::Lead(_) => false,
    }
}

#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
}

async fn index(State(state): State<AppState>, Path(token): Path<String>, Query(done): Query<Done>) -> Response {
    let notice = match done.done.as_str() {
        "passed" => Some("Passed: the next person is being reached now.".to_string()),
        "stale" => Some("It had already moved on to the next person.".to_string()),
        _ => None,
    };
    let a = match ack::view(&state.db, state.clock.as_ref(), &token).await {
        Ok(a) => a,
        Err(e) => return link_failed(e),
    };
    match ack::takeable(&state.db, &a).await {
        Ok(t) => private_page(page(&token, &a, t.as_ref(), notice).into_response()),
        Err(e) => link_failed(e),
    }
}

/// `POST /ack/{token}/take`: Accept, and take the job the message is about; the page says
/// what came of it.
async fn take(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let notice = match ack::take(&state.db, state.clock.as_ref(), &state.config.public_url, &token).await {
        Ok(Took::OnTheWay(job)) => format!("{} is yours and you are marked on the way.", job.code),
        Ok(Took::NotTheirs(Some(who))) => format!("{who} confirmed it first, so the job stays as it was."),
        Ok(Took::NotTheirs(None)) => "This message has no open job for you to take.".to_string(),
        Ok(Took::Refused(why)) => format!("You have the message, but the job was not changed: {why}."),
        Err(e) => return link_failed(e),
    };
    let a = match ack::open(&state.db, state.clock.as_ref(), &token).await {
        Ok(a) => a,
        Err(e) => return link_failed(e),
    };
    match ack::takeable(&state.db, &a).await {
        Ok(t) => private_page(page(&token, &a, t.as_ref(), Some(notice)).into_response()),
        Err(e) => link_failed(e),
    }
}

async fn accept(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match ack::accept(&state.db, state.clock.as_ref(), &state.config.public_url, &token).await {
        Ok(_) => Redirect::to(&format!("/ack/{token}")).into_response(),
        Err(e) => link_failed(e),
    }
}

async fn pass(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match ack::pass(&state.db, state.clock.as_ref(), &state.config.public_url, &token).await {
        Ok(true) => Redirect::to(&format!("/ack/{token}?done=passed")).into_response(),
        Ok(false) => Redirect::to(&format!("/ack/{token}?done=stale")).into_response(),
        Err(e) => link_failed(e),
    }
}
