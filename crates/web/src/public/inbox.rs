//! A desk contact's secure inbox (`/inbox/{token}`), opened from the notice's link on any phone
//! without an account: the client's messages for them, unread ones marked, each opened on its
//! own page (`/inbox/{token}/messages/{id}`), which records the read receipt the desk's board
//! shows. Installable as a web app (`/inbox/{token}/manifest.webmanifest`). A link that does not
//! work gets one plain page.

use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use switchboard_core::Error;
use switchboard_core::desk::inbox::{self, Inbox, InboxItem};

use crate::fmt;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/inbox/{token}", get(index))
        .route("/inbox/{token}/messages/{id}", get(message))
        .route("/inbox/{token}/manifest.webmanifest", get(manifest))
}

/// A message as the inbox lists or shows it.
pub struct Item {
    pub id: i64,
    pub urgent: bool,
    pub urgent_reason: String,
    pub caller_type: String,
    /// The caller's name, or the caller type.
    pub from: String,
    /// "Sun Dec 6, 9:14 PM".
    pub when: String,
    pub unread: bool,
    /// (label, value) of each answer.
    pub answers: Vec<(String, String)>,
}

#[derive(askama::Template, WebTemplate)]
#[template(path = "inbox/index.html")]
pub struct InboxPage {
    pub token: String,
    pub client: String,
    pub color: String,
    pub contact: String,
    pub unread: usize,
    pub items: Vec<Item>,
}

#[derive(askama::Template, WebTemplate)]
#[template(path = "inbox/message.html")]
pub struct MessagePage {
    pub token: String,
    pub client: String,
    pub color: String,
    pub contact: String,
    pub item: Item,
    /// The callback number, to call straight from the page (E.164), if the caller left one.
    pub callback: String,
}

#[derive(askama::Template, WebTemplate)]
#[template(path = "inbox/invalid.html")]
struct Invalid;

/// Inbox pages are private: never cached, never indexed, no referrer (the token is the URL).
fn private(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}

fn failed(e: Error) -> Response {
    match e {
        Error::NotFound => private((StatusCode::NOT_FOUND, Invalid).into_response()),
        other => crate::error::PageError::from(other).into_response(),
    }
}

fn item(i: &InboxItem, inbox: &Inbox) -> Item {
    let tz = inbox.client.zone();
    let m = &i.message;
    let name = m.answers.iter().find(|a| a.key == "caller_name").map(|a| a.value.clone());
    Item {
        id: i.delivery_id,
        urgent: m.urgent,
        urgent_reason: m.urgent_reason.clone().unwrap_or_default(),
        caller_type: m.caller_type_name.clone(),
        from: name.unwrap_or_else(|| m.caller_type_name.clone()),
        when: format!("{}, {}", switchboard_core::when::date(m.taken_at, &tz), fmt::time(m.taken_at, &tz)),
        unread: i.read_at.is_none(),
        answers: m.answers.iter().map(|a| (a.label.clone(), a.shown())).collect(),
    }
}

async fn index(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match inbox::open(&state.db, state.clock.as_ref(), &token).await {
        Ok(inbox) => private(
            InboxPage {
                items: inbox.items.iter().map(|i| item(i, &inbox)).collect(),
                unread: inbox.unread(),
                client: inbox.client.name.clone(),
                color: inbox.client.color.clone(),
                contact: inbox.contact_name.clone(),
                token,
            }
            .into_response(),
        ),
        Err(e) => failed(e),
    }
}

async fn message(State(state): State<AppState>, Path((token, id)): Path<(String, String)>) -> Response {
    let Ok(id) = id.parse::<i64>() else { return failed(Error::NotFound) };
    match inbox::read(&state.db, state.clock.as_ref(), &token, id).await {
        Ok((inbox, i)) => {
            let callback = i
                .message
                .answers
                .iter()
                .find(|a| a.key == "callback_number" && a.value.starts_with('+'))
                .map(|a| a.value.clone())
                .unwrap_or_default();
            private(
                MessagePage {
                    item: item(&i, &inbox),
                    client: inbox.client.name.clone(),
                    color: inbox.client.color.clone(),
                    contact: inbox.contact_name.clone(),
                    callback,
                    token,
                }
                .into_response(),
            )
        }
        Err(e) => failed(e),
    }
}

/// The web app manifest: the inbox opens full screen from the home screen.
async fn manifest(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match inbox::open(&state.db, state.clock.as_ref(), &token).await {
        Ok(inbox) => {
            let body = serde_json::json!({
                "name": format!("{} messages", inbox.client.name),
                "short_name": "Messages",
                "start_url": format!("/inbox/{token}"),
                "scope": format!("/inbox/{token}"),
                "display": "standalone",
                "background_color": "#ffffff",
                "theme_color": inbox.client.color,
                "icons": [{ "src": "/assets/favicon.svg", "sizes": "any", "type": "image/svg+xml" }],
            });
            private(([(header::CONTENT_TYPE, "application/manifest+json")], body.to_string()).into_response())
        }
        Err(e) => failed(e),
    }
}
