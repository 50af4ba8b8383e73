//! A Web Push service on loopback that stands in for a browser and its push service together
//! (FCM, Mozilla autopush): [`PushStandin::subscribe`] makes a subscription as
//! `PushManager.subscribe` would (an endpoint here, a fresh P-256 key and auth secret, bound
//! to the sender's VAPID key), and `POST /push/{id}` checks a message the way the real services
//! do (RFC 8030 headers, the RFC 8292 token for this origin signed by the bound key) and then
//! decrypts it as the browser would (RFC 8291), keeping what the notification would show.
//!
//! Over HTTP too, for `switchboard standin`: `POST /subscriptions` with
//! `{"applicationServerKey": "<VAPID public key>"}` answers a subscription as a browser would
//! hand it to a page, and `GET /subscriptions/{id}/messages` lists what it received.
//!
//! Status codes as the real services answer: 201 with `Location` when accepted, 400 for a
//! missing `TTL` or a body that is not `aes128gcm`, 401 without a token, 403 for a token that
//! does not check out, 404 for an unknown subscription, 410 for one the browser dropped, 413
//! over 4096 bytes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::agreement::{self, ECDH_P256, EphemeralPrivateKey, UnparsedPublicKey};
use serde::Serialize;
use switchboard_core::providers::web_push::{ece, vapid};
use tokio::net::TcpListener;

/// A subscription as the browser hands it to the page (`PushSubscription.toJSON()`).
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionJson {
    pub endpoint: String,
    #[serde(rename = "expirationTime")]
    pub expiration_time: Option<i64>,
    pub keys: Keys,
}

#[derive(Debug, Clone, Serialize)]
pub struct Keys {
    pub p256dh: String,
    pub auth: String,
}

/// A message the stand-in accepted, decrypted.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub payload: serde_json::Value,
    pub ttl: u64,
    pub urgency: Option<String>,
    pub topic: Option<String>,
    /// The `sub` claim of the sender's token.
    pub contact: String,
}

struct Sub {
    /// The browser's private scalar.
    private: [u8; 32],
    public: [u8; 65],
    auth: [u8; 16],
    /// The VAPID public key the subscription is bound to (base64url).
    server_key: String,
    /// False once the browser unsubscribed: the service answers 410.
    active: bool,
    received: Vec<Received>,
}

#[derive(Default)]
struct Inner {
    subs: Mutex<HashMap<u64, Sub>>,
    next: Mutex<u64>,
    /// Status codes to answer the next pushes with (to simulate an outage).
    fail_next: Mutex<Vec<u16>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Clone)]
pub struct PushStandin {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

#[derive(Clone)]
struct Shared {
    inner: Arc<Inner>,
    origin: String,
}

impl PushStandin {
    /// Starts the stand-in on `bind` (port 0 for any free port).
    pub async fn start(bind: SocketAddr) -> std::io::Result<PushStandin> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner::default());
        let shared = Shared { inner: inner.clone(), origin: format!("http://{addr}") };
        let app = Router::new()
            .route("/push/{id}", post(receive))
            .route("/subscriptions", post(create))
            .route("/subscriptions/{id}/messages", get(messages))
            .with_state(shared);
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "push stand-in stopped");
            }
        });
        Ok(PushStandin { inner, addr })
    }

    /// `http://127.0.0.1:PORT`: the origin the server must be told to accept.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A new subscription bound to the sender's VAPID public key (what the page passes as
    /// `applicationServerKey`).
    pub fn subscribe(&self, server_key: &str) -> SubscriptionJson {
        subscribe(&self.inner, &self.origin(), server_key)
    }

    /// The browser drops the subscription: later pushes get 410 Gone.
    pub fn unsubscribe(&self, endpoint: &str) {
        if let Some(id) = id_of(endpoint)
            && let Some(s) = lock(&self.inner.subs).get_mut(&id)
        {
            s.active = false;
        }
    }

    /// What the browser behind `endpoint` received, oldest first.
    pub fn received(&self, endpoint: &str) -> Vec<Received> {
        id_of(endpoint).and_then(|id| lock(&self.inner.subs).get(&id).map(|s| s.received.clone())).unwrap_or_default()
    }

    /// The next pushes are answered with these status codes, in order.
    pub fn fail_next(&self, statuses: &[u16]) {
        lock(&self.inner.fail_next).extend_from_slice(statuses);
    }
}

fn subscribe(inner: &Inner, origin: &str, server_key: &str) -> SubscriptionJson {
    let (private, public) = loop {
        let mut d = [0u8; 32];
        rand::fill(&mut d[..]);
        // About one scalar in 2^32 is out of range; draw again.
        if let Ok(key) = key_of(&d)
            && let Ok(p) = key.compute_public_key()
            && let Ok(public) = <[u8; 65]>::try_from(p.as_ref())
        {
            break (d, public);
        }
    };
    let mut auth = [0u8; 16];
    rand::fill(&mut auth[..]);
    let id = {
        let mut next = lock(&inner.next);
        *next += 1;
        *next
    };
    lock(&inner.subs).insert(
        id,
        Sub { private, public, auth, server_key: server_key.to_string(), active: true, received: Vec::new() },
    );
    SubscriptionJson {
        endpoint: format!("{origin}/push/{id}"),
        expiration_time: None,
        keys: Keys { p256dh: URL_SAFE_NO_PAD.encode(public), auth: URL_SAFE_NO_PAD.encode(auth) },
    }
}

#[derive(serde::Deserialize)]
struct NewSubscription {
    #[serde(rename = "applicationServerKey")]
    application_server_key: String,
}

async fn create(State(s): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<NewSubscription>(&body) {
        Ok(n) => {
            (StatusCode::CREATED, axum::Json(subscribe(&s.inner, &s.origin, &n.application_server_key))).into_response()
        }
        Err(_) => refuse(StatusCode::BAD_REQUEST, "send {\"applicationServerKey\": \"...\"}"),
    }
}

async fn messages(State(s): State<Shared>, Path(id): Path<u64>) -> Response {
    match lock(&s.inner.subs).get(&id) {
        Some(sub) => axum::Json(
            sub.received
                .iter()
                .map(|r| serde_json::json!({ "payload": r.payload, "ttl": r.ttl, "urgency": r.urgency, "topic": r.topic }))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        None => refuse(StatusCode::NOT_FOUND, "no such subscription"),
    }
}

fn id_of(endpoint: &str) -> Option<u64> {
    endpoint.rsplit('/').next()?.parse().ok()
}

/// The browser's key as a one-use agreement key (ring only agrees with ephemeral keys; this
/// rebuilds one from the stored scalar for each message).
#[allow(deprecated)]
fn key_of(d: &[u8; 32]) -> Result<EphemeralPrivateKey, ring::error::Unspecified> {
    EphemeralPrivateKey::generate(&ECDH_P256, &ring::test::rand::FixedSliceRandom { bytes: d })
}

fn refuse(status: StatusCode, why: impl Into<String>) -> Response {
    (status, why.into()).into_response()
}

async fn receive(State(s): State<Shared>, Path(id): Path<u64>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(status) = {
        let mut f = lock(&s.inner.fail_next);
        if f.is_empty() { None } else { Some(f.remove(0)) }
    } {
        return refuse(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "simulated");
    }
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let Some(ttl) = text("ttl").and_then(|t| t.trim().parse::<u64>().ok()) else {
        return refuse(StatusCode::BAD_REQUEST, "TTL header required");
    };
    if body.len() > 4096 {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "payload over 4096 bytes");
    }
    let Some(authorization) = text("authorization") else {
        return refuse(StatusCode::UNAUTHORIZED, "VAPID authorization required");
    };
    let verified = match vapid::verify(&authorization, &s.origin, jiff::Timestamp::now()) {
        Ok(v) => v,
        Err(why) => return refuse(StatusCode::FORBIDDEN, why),
    };
    if let Some(topic) = text("topic")
        && (topic.len() > 32 || !topic.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        return refuse(StatusCode::BAD_REQUEST, "Topic must be at most 32 base64url characters");
    }
    let mut subs = lock(&s.inner.subs);
    let Some(sub) = subs.get_mut(&id) else { return refuse(StatusCode::NOT_FOUND, "no such subscription") };
    if !sub.active {
        return refuse(StatusCode::GONE, "the subscription has expired or was removed");
    }
    if verified.public_key != sub.server_key {
        return refuse(StatusCode::FORBIDDEN, "the token's key is not the one this subscription is bound to");
    }
    if !text("content-encoding").is_some_and(|e| e.eq_ignore_ascii_case("aes128gcm")) {
        return refuse(StatusCode::BAD_REQUEST, "Content-Encoding must be aes128gcm");
    }
    let plain = match decrypt(sub, &body) {
        Ok(p) => p,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, why),
    };
    let payload = serde_json::from_slice(&plain)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&plain).into()));
    let urgency = text("urgency");
    let topic = text("topic");
    // A message with the topic of one still waiting replaces it (RFC 8030 §5.4).
    if let Some(t) = &topic {
        sub.received.retain(|r| r.topic.as_ref() != Some(t));
    }
    sub.received.push(Received { payload, ttl, urgency, topic, contact: verified.claims.sub });
    let n = sub.received.len();
    drop(subs);
    (StatusCode::CREATED, [(header::LOCATION, format!("/message/{id}-{n}"))]).into_response()
}

fn decrypt(sub: &Sub, body: &[u8]) -> Result<Vec<u8>, String> {
    let h = ece::parse(body).map_err(|e| e.0)?;
    let key = key_of(&sub.private).map_err(|_| "bad stored key".to_string())?;
    let (cek, nonce) = agreement::agree_ephemeral(key, &UnparsedPublicKey::new(&ECDH_P256, h.as_public), |ecdh| {
        ece::derive(ecdh, &sub.auth, &sub.public, h.as_public, &h.salt)
    })
    .map_err(|_| "the sender's key is not a P-256 point".to_string())?
    .map_err(|e| e.0)?;
    ece::open(&cek, &nonce, h.record).map_err(|e| e.0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;
    use switchboard_core::providers::web_push::{Push, Sent, Subscription, Urgency, WebPush};

    #[tokio::test]
    async fn a_browser_subscribed_over_http_receives_what_the_sender_encrypted_for_it() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let standin = PushStandin::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let (key, _) = vapid::Key::generate().unwrap();
        let public = key.public_key().to_string();
        let sender = WebPush::new(key, "mailto:ops@example.com".into(), vec![standin.origin()]).unwrap();
        let http = reqwest::Client::new();
        let sub: serde_json::Value = http
            .post(format!("{}/subscriptions", standin.origin()))
            .json(&serde_json::json!({ "applicationServerKey": public }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let to = Subscription::parse(
            sub["endpoint"].as_str().unwrap(),
            sub["keys"]["p256dh"].as_str().unwrap(),
            sub["keys"]["auth"].as_str().unwrap(),
            &[standin.origin()],
        )
        .unwrap();
        let push = Push {
            payload: br#"{"title":"Harbor","body":"A new message"}"#,
            ttl: Duration::from_secs(60),
            urgency: Urgency::High,
            topic: Some("desk-1".into()),
        };
        assert_eq!(sender.send(&to, &push).await, Sent::Accepted);
        let got: serde_json::Value = http
            .get(format!("{}/messages", sub["endpoint"].as_str().unwrap().replace("/push/", "/subscriptions/")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            got,
            serde_json::json!([{ "payload": { "title": "Harbor", "body": "A new message" }, "ttl": 60, "urgency": "high", "topic": "desk-1" }])
        );

        // Another server's key is refused; a dropped subscription is gone.
        let (other, _) = vapid::Key::generate().unwrap();
        let stranger = WebPush::new(other, "mailto:x@example.com".into(), vec![]).unwrap();
        match stranger.send(&to, &push).await {
            Sent::Failed(why) => {
                assert!(why.contains("403") && why.contains("not the one this subscription is bound to"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        standin.unsubscribe(&to.endpoint);
        assert_eq!(sender.send(&to, &push).await, Sent::Gone);
    }
}
