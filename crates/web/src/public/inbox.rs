//! A desk contact's secure inbox (`/inbox/{token}`), opened from the notice's link on any phone
//! without an account: the client's messages for them, unread ones marked, each opened on its
//! own page (`/inbox/{token}/messages/{id}`), which records the read receipt the desk's board
//! shows. Installable as a web app (`/inbox/{token}/manifest.webmanifest`), with push
//! notifications where the browser has them: the page's script subscribes with the server's
//! VAPID key and hands the subscription to `POST /inbox/{token}/push` (`DELETE` turns it off);
//! the service worker (`/inbox/sw.js`) shows each notice and opens the inbox when tapped. A
//! link that does not work gets one plain page.

use askama_web::WebTemplate;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use switchboard_core::Error;
use switchboard_core::desk::inbox::{self, Inbox, InboxItem};
use switchboard_core::providers::web_push::Subscription;

use crate::error::ApiError;

use super::{link_failed, private_page};
use crate::fmt;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/inbox/{token}", get(index))
        .route("/inbox/{token}/messages/{id}", get(message))
        .route("/inbox/{token}/manifest.webmanifest", get(manifest))
        .route("/inbox/{token}/push", post(subscribe).delete(unsubscribe))
        .route("/inbox/sw.js", get(service_worker))
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
    /// The server's VAPID public key, for the page's push subscription.
    pub push_key: String,
    /// How many devices get this contact's notices by push.
    pub devices: i64,
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
        Ok(inbox) => private_page(
            InboxPage {
                items: inbox.items.iter().map(|i| item(i, &inbox)).collect(),
                unread: inbox.unread(),
                client: inbox.client.name.clone(),
                color: inbox.client.color.clone(),
                contact: inbox.contact_name.clone(),
                push_key: state.push.public_key().to_string(),
                devices: match switchboard_core::desk::push::devices(&state.db, inbox.org, inbox.contact_id).await {
                    Ok(n) => n,
                    Err(e) => return link_failed(e),
                },
                token,
            }
            .into_response(),
        ),
        Err(e) => link_failed(e),
    }
}

async fn message(State(state): State<AppState>, Path((token, id)): Path<(String, String)>) -> Response {
    let Ok(id) = id.parse::<i64>() else { return link_failed(Error::NotFound) };
    match inbox::read(&state.db, state.clock.as_ref(), &token, id).await {
        Ok((inbox, i)) => {
            let callback = i
                .message
                .answers
                .iter()
                .find(|a| a.key == "callback_number" && a.value.starts_with('+'))
                .map(|a| a.value.clone())
                .unwrap_or_default();
            private_page(
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
        Err(e) => link_failed(e),
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
            private_page(([(header::CONTENT_TYPE, "application/manifest+json")], body.to_string()).into_response())
        }
        Err(e) => link_failed(e),
    }
}

/// A browser's `PushSubscription.toJSON()`.
#[derive(Deserialize)]
struct SubscriptionBody {
    endpoint: String,
    #[serde(default)]
    keys: KeysBody,
}

#[derive(Deserialize, Default)]
struct KeysBody {
    #[serde(default)]
    p256dh: String,
    #[serde(default)]
    auth: String,
}

#[derive(Deserialize)]
struct EndpointBody {
    endpoint: String,
}

fn inbox_error(e: Error) -> Response {
    match e {
        Error::NotFound => {
            private_page(ApiError::new(StatusCode::NOT_FOUND, "not_found", "This link isn't active.").into_response())
        }
        other => private_page(ApiError::from(other).into_response()),
    }
}

fn devices_json(status: StatusCode, devices: i64) -> Response {
    private_page((status, axum::Json(serde_json::json!({ "devices": devices }))).into_response())
}

/// Turns on push notices for the inbox's contact on the browser that sends its subscription.
async fn subscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<SubscriptionBody>(&body) else {
        return inbox_error(Error::Invalid(vec![switchboard_core::error::FieldError::new(
            "endpoint",
            "send the browser's push subscription: JSON with endpoint and keys",
        )]));
    };
    let sub = match Subscription::parse(&body.endpoint, &body.keys.p256dh, &body.keys.auth, &state.push.extra_origins) {
        Ok(s) => s,
        Err(e) => return inbox_error(e),
    };
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    match switchboard_core::desk::push::subscribe(&state.db, state.clock.as_ref(), &token, &sub, agent).await {
        Ok(n) => devices_json(StatusCode::CREATED, n),
        Err(e) => inbox_error(e),
    }
}

/// Turns push notices off for one browser.
async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<EndpointBody>(&body) else {
        return inbox_error(Error::Invalid(vec![switchboard_core::error::FieldError::new(
            "endpoint",
            "send the endpoint of the subscription to remove",
        )]));
    };
    match switchboard_core::desk::push::unsubscribe(&state.db, state.clock.as_ref(), &token, &body.endpoint).await {
        Ok(n) => devices_json(StatusCode::OK, n),
        Err(e) => inbox_error(e),
    }
}

/// The inboxes' service worker: shows a notice and opens the inbox when it is tapped. Served
/// under `/inbox/` so it may control every inbox page.
async fn service_worker() -> Response {
    let Some(file) = crate::assets::file("inbox-sw.js") else {
        return (StatusCode::NOT_FOUND, "asset not found").into_response();
    };
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], file)
        .into_response()
}
