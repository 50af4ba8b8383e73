//! A desk client's own page (`/client`), for a sign-in with the `client` role: the messages of
//! the clients (brands) they are a desk contact of and nothing else, each with its deliveries,
//! newest first, and "I have it" to check in (the message is then retrieved, by them). The
//! history is searchable by words (a name, a number, what was said) and by day. A secure
//! message to one of this sign-in's contacts is read once the page shows it (its read receipt).
//! Another client's message is not found.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_core::desk::contacts;
use switchboard_core::desk::messages::{self, Filter};

use crate::auth::{ClientUser, actor};
use crate::error::PageError;
use crate::fmt;
use crate::pages::parse_id;
use crate::state::AppState;

/// A message as its client reads it.
pub struct ClientMessage {
    pub id: i64,
    pub client: String,
    pub caller_type: String,
    pub when: String,
    pub urgent: bool,
    pub urgent_reason: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub answers: Vec<(String, String)>,
    /// "Email to Office: Sent" and the like.
    pub deliveries: Vec<String>,
    pub retrieved: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "client/index.html")]
pub struct ClientPage {
    pub name: String,
    pub csrf: String,
    /// The clients this sign-in sees.
    pub clients: Vec<String>,
    pub messages: Vec<ClientMessage>,
    pub notice: Option<String>,
    /// The search as typed.
    pub q: String,
    pub date: String,
    /// What the search found, for a search ("3 messages match"); empty without one.
    pub found: String,
}

#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    date: String,
}

pub async fn index(
    State(state): State<AppState>,
    ClientUser(viewer): ClientUser,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let mine = contacts::brands_of_user(&state.db, org, viewer.user.id).await?;
    let brands: Vec<_> = switchboard_core::tenancy::list_brands(&state.db, org)
        .await?
        .into_iter()
        .filter(|b| mine.contains(&b.id))
        .collect();
    let now = state.clock.now();
    let date = done.date.trim().parse::<jiff::civil::Date>().ok();
    let searching = !done.q.trim().is_empty() || date.is_some();
    let filter = Filter { only: Some(mine), text: Some(done.q.clone()), date, ..Filter::default() };
    let messages: Vec<ClientMessage> = messages::list(&state.db, org, &filter, 200)
        .await?
        .into_iter()
        .map(|m| {
            let brand = brands.iter().find(|b| b.id == m.brand_id);
            let tz = brand.map(|b| b.zone()).unwrap_or(jiff::tz::TimeZone::UTC);
            ClientMessage {
                id: m.id,
                client: brand.map(|b| b.name.clone()).unwrap_or_default(),
                caller_type: m.caller_type_name.clone(),
                when: fmt::ago(m.taken_at, &tz, now),
                urgent: m.urgent,
                urgent_reason: m.urgent_reason.clone().unwrap_or_default(),
                status: m.status.as_str(),
                status_label: m.status.label(),
                answers: m.answers.iter().map(|a| (a.label.clone(), a.shown())).collect(),
                deliveries: m
                    .deliveries
                    .iter()
                    .map(|d| format!("{} to {}: {}", d.channel.label(), d.recipient, d.state.label()))
                    .collect(),
                retrieved: super::desk::retrieved_label(&m, &tz, now),
            }
        })
        .collect();
    // What this page shows in full is read: secure messages to this sign-in get their receipt.
    let shown: Vec<i64> = messages.iter().map(|m| m.id).collect();
    switchboard_core::desk::inbox::read_by_user(&state.db, state.clock.as_ref(), org, viewer.user.id, &shown).await?;
    let notice = (done.done == "retrieved").then(|| "Marked as yours: the desk sees you have it.".to_string());
    let found = match (searching, messages.len()) {
        (false, _) => String::new(),
        (true, 0) => "No messages match.".to_string(),
        (true, 1) => "1 message matches.".to_string(),
        (true, n) => format!("{n} messages match."),
    };
    Ok(ClientPage {
        name: viewer.user.name.clone(),
        csrf: viewer.csrf_token.clone(),
        clients: brands.iter().map(|b| b.name.clone()).collect(),
        messages,
        notice,
        q: done.q,
        date: date.map(|d| d.to_string()).unwrap_or_default(),
        found,
    }
    .into_response())
}

/// `POST /client/messages/{id}/retrieve`: the client has it (checked in).
pub async fn retrieve(
    State(state): State<AppState>,
    ClientUser(viewer): ClientUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let m = messages::get(&state.db, org, parse_id(&id)?).await?;
    let mine = contacts::brands_of_user(&state.db, org, viewer.user.id).await?;
    if !mine.contains(&m.brand_id) {
        return Err(PageError::not_found());
    }
    messages::retrieve(&state.db, state.clock.as_ref(), org, m.id, &actor(&viewer)).await?;
    Ok(Redirect::to(&format!("/client?done=retrieved#message-{}", m.id)).into_response())
}
