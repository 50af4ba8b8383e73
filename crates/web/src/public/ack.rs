//! An urgent message's acknowledgement page (`/ack/{token}`), opened from the link in the
//! text or email an escalation sent: the message, where it stands, and Accept ("I'm taking
//! it") or Pass ("the next person, now"). Opening it is recorded on the message's timeline.

use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use switchboard_core::escalation::ack::{self, Ack};
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
    pub notice: Option<String>,
    pub days: i64,
}

fn page(token: &str, a: &Ack, notice: Option<String>) -> AckPage {
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
        person: a.recipient.person.clone(),
        heading,
        taken: format!("{} {}", when::time(m.taken_at, &tz), when::date(m.taken_at, &tz)),
        caller_type: m.caller_type_name.clone(),
        answers: m.answers.iter().map(|x| (x.label.clone(), x.shown())).collect(),
        urgent_reason: m.urgent_reason.clone().unwrap_or_default(),
        state_title,
        state_text,
        can_accept: e.run.state != EscState::Confirmed,
        can_pass: a.can_pass(),
        notice,
        days: ACK_LINK_DAYS,
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
    match ack::view(&state.db, state.clock.as_ref(), &token).await {
        Ok(a) => private_page(page(&token, &a, notice).into_response()),
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
