//! Web Push (RFC 8030): notifications to the browsers and installed web apps that subscribed,
//! sent to each subscription's push service (Google's FCM for Chrome, Mozilla's autopush,
//! Apple's, Microsoft's) with the server's VAPID key ([`vapid`]) and the payload encrypted for
//! that browser alone ([`ece`]). The local stand-in (`switchboard-standins`, `push`) checks
//! the same token and decrypts the same body.
//!
//! A subscription's endpoint comes from a browser, so from someone outside: only the push
//! services' own hosts over https are accepted (plus origins the configuration names, for a
//! stand-in), and the sender follows no redirects.

pub mod ece;
pub mod vapid;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE_NO_PAD, URL_SAFE_NO_PAD_INDIFFERENT};
use jiff::Timestamp;
use reqwest::Url;

use crate::clock::to_millis;
use crate::db::Db;
use crate::error::FieldError;
use crate::{Error, Result};

/// Hosts of the push services browsers use; a subscription's endpoint must be on one of them
/// (or a configured origin).
const PUSH_HOSTS: &[&str] =
    &["fcm.googleapis.com", "android.googleapis.com", "updates.push.services.mozilla.com", "web.push.apple.com"];
/// Domains whose subdomains are push services (Apple's regional hosts, Windows).
const PUSH_DOMAINS: &[&str] = &[".push.apple.com", ".notify.windows.com", ".push.services.mozilla.com"];

/// A browser's subscription (`PushSubscription.toJSON()`), checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub endpoint: String,
    /// The browser's P-256 public key, uncompressed.
    pub p256dh: [u8; 65],
    pub auth: [u8; 16],
}

impl Subscription {
    /// Checks what a browser sent: an endpoint on a push service (or one of `extra_origins`),
    /// and keys of the right shape. Errors name the field.
    pub fn parse(endpoint: &str, p256dh: &str, auth: &str, extra_origins: &[String]) -> Result<Subscription> {
        let mut errors = Vec::new();
        match Url::parse(endpoint.trim()) {
            Ok(url) if allowed(&url, extra_origins) => {}
            Ok(url) => errors.push(FieldError::new(
                "endpoint",
                format!("{} is not a browser push service this server sends to", url.origin().ascii_serialization()),
            )),
            Err(_) => errors.push(FieldError::new("endpoint", "the endpoint is not a URL")),
        }
        let key = URL_SAFE_NO_PAD_INDIFFERENT.decode(p256dh.trim()).ok().and_then(|k| <[u8; 65]>::try_from(k).ok());
        let key = match key {
            Some(k) if k[0] == 0x04 => Some(k),
            _ => {
                errors.push(FieldError::new("keys.p256dh", "the key is not a 65-byte P-256 public key in base64url"));
                None
            }
        };
        let secret = URL_SAFE_NO_PAD_INDIFFERENT.decode(auth.trim()).ok().and_then(|k| <[u8; 16]>::try_from(k).ok());
        if secret.is_none() {
            errors.push(FieldError::new("keys.auth", "the auth secret is not 16 bytes in base64url"));
        }
        match (key, secret) {
            (Some(p256dh), Some(auth)) if errors.is_empty() => {
                Ok(Subscription { endpoint: endpoint.trim().to_string(), p256dh, auth })
            }
            _ => Err(Error::Invalid(errors)),
        }
    }

    pub fn p256dh_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.p256dh)
    }

    pub fn auth_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.auth)
    }

    /// A stored subscription (checked when it was stored).
    pub fn stored(endpoint: String, p256dh: &str, auth: &str) -> Result<Subscription> {
        let p256dh = URL_SAFE_NO_PAD_INDIFFERENT.decode(p256dh).ok().and_then(|k| <[u8; 65]>::try_from(k).ok());
        let auth = URL_SAFE_NO_PAD_INDIFFERENT.decode(auth).ok().and_then(|k| <[u8; 16]>::try_from(k).ok());
        match (p256dh, auth) {
            (Some(p256dh), Some(auth)) => Ok(Subscription { endpoint, p256dh, auth }),
            _ => Err(Error::Unexpected(format!("stored push subscription for {endpoint} has bad keys"))),
        }
    }
}

fn allowed(url: &Url, extra_origins: &[String]) -> bool {
    let origin = url.origin().ascii_serialization();
    if extra_origins.iter().any(|o| o.trim_end_matches('/') == origin) {
        return true;
    }
    let Some(host) = url.host_str() else { return false };
    url.scheme() == "https"
        && url.port().is_none()
        && (PUSH_HOSTS.contains(&host) || PUSH_DOMAINS.iter().any(|d| host.ends_with(d)))
}

/// How urgent a message is to the push service (RFC 8030 §5.3): it may hold back low ones to
/// save a phone's battery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Normal,
    High,
}

/// One message to one subscription.
#[derive(Debug, Clone)]
pub struct Push<'a> {
    pub payload: &'a [u8],
    /// How long the push service keeps it for a browser that is offline.
    pub ttl: Duration,
    pub urgency: Urgency,
    /// A message with the same topic replaces one still waiting (a retry never shows twice).
    pub topic: Option<String>,
}

/// What the push service said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Accepted for delivery (201).
    Accepted,
    /// The subscription is gone (404, 410): the browser unsubscribed or it expired. Forget it.
    Gone,
    /// Refused or unreachable; the text says why.
    Failed(String),
}

/// The sender: the server's VAPID key, who to contact about it, and an HTTP client.
#[derive(Debug)]
pub struct WebPush {
    key: vapid::Key,
    subject: String,
    http: reqwest::Client,
    /// Origins accepted besides the push services (a stand-in's `http://127.0.0.1:PORT`).
    pub extra_origins: Vec<String>,
}

impl WebPush {
    pub fn new(key: vapid::Key, subject: String, extra_origins: Vec<String>) -> Result<WebPush> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::Unexpected(format!("push HTTP client: {e}")))?;
        Ok(WebPush { key, subject, http, extra_origins })
    }

    /// The sender with this installation's VAPID key, made and stored on first use (every
    /// instance signs with the same key, and it survives restarts: browsers' subscriptions
    /// are bound to it).
    pub async fn load(db: &Db, now: Timestamp, subject: String, extra_origins: Vec<String>) -> Result<WebPush> {
        WebPush::new(stored_key(db, now).await?, subject, extra_origins)
    }

    /// For the page's `applicationServerKey`.
    pub fn public_key(&self) -> &str {
        self.key.public_key()
    }

    /// Sends one message. The token's expiry is read by the push service against its own
    /// clock, so it is signed with the real time, not the application's clock.
    pub async fn send(&self, to: &Subscription, push: &Push<'_>) -> Sent {
        let url = match Url::parse(&to.endpoint) {
            Ok(u) => u,
            Err(_) => return Sent::Failed(format!("{} is not a URL", to.endpoint)),
        };
        let auth = match self.key.authorization(&url.origin().ascii_serialization(), &self.subject, Timestamp::now()) {
            Ok(a) => a,
            Err(e) => return Sent::Failed(e),
        };
        let body = match ece::encrypt(&to.p256dh, &to.auth, push.payload) {
            Ok(b) => b,
            Err(e) => return Sent::Failed(e.0),
        };
        let mut request = self
            .http
            .post(url)
            .header("TTL", push.ttl.as_secs().to_string())
            .header("Urgency", if push.urgency == Urgency::High { "high" } else { "normal" })
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("Authorization", auth)
            .body(body);
        if let Some(topic) = &push.topic {
            request = request.header("Topic", topic);
        }
        match request.send().await {
            Ok(r) if r.status().is_success() => Sent::Accepted,
            Ok(r) if matches!(r.status().as_u16(), 404 | 410) => Sent::Gone,
            Ok(r) => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                let text: String = text.chars().take(200).collect();
                Sent::Failed(format!("the push service answered {status}: {}", text.trim()))
            }
            Err(e) => Sent::Failed(format!("the push service could not be reached: {e}")),
        }
    }
}

async fn load_key(db: &Db) -> Result<Option<vapid::Key>> {
    let row: Option<(String,)> =
        sqlx::query_as("select private_key from push_keys where id = 1").fetch_optional(db.pool()).await?;
    row.map(|(k,)| {
        let der = URL_SAFE_NO_PAD_INDIFFERENT
            .decode(k)
            .map_err(|_| Error::Unexpected("the stored VAPID key is not base64url".into()))?;
        vapid::Key::from_pkcs8(&der).map_err(Error::Unexpected)
    })
    .transpose()
}

async fn stored_key(db: &Db, now: Timestamp) -> Result<vapid::Key> {
    if let Some(key) = load_key(db).await? {
        return Ok(key);
    }
    let (key, der) = vapid::Key::generate().map_err(Error::Unexpected)?;
    // Two instances starting at once: the first insert wins and both read it back.
    sqlx::query(
        "insert into push_keys (id, private_key, public_key, created_at) values (1, $1, $2, $3) \
         on conflict (id) do nothing",
    )
    .bind(URL_SAFE_NO_PAD.encode(der))
    .bind(key.public_key())
    .bind(to_millis(now))
    .execute(db.pool())
    .await?;
    load_key(db).await?.ok_or_else(|| Error::Unexpected("the VAPID key was not stored".into()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const P256DH: &str = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

    fn fields(e: Error) -> Vec<(String, String)> {
        match e {
            Error::Invalid(v) => v.into_iter().map(|f| (f.field.to_string(), f.message)).collect(),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn only_push_services_over_https_are_accepted_as_endpoints() {
        for ok in [
            "https://fcm.googleapis.com/fcm/send/cXk:APA91b",
            "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
            "https://web.push.apple.com/QGuQyavXutnMH",
            "https://db5p.notify.windows.com/w/?token=BQYAAA",
        ] {
            Subscription::parse(ok, P256DH, AUTH, &[]).unwrap();
        }
        for (bad, origin) in [
            ("http://fcm.googleapis.com/fcm/send/x", "http://fcm.googleapis.com"),
            ("https://fcm.googleapis.com:8443/x", "https://fcm.googleapis.com:8443"),
            ("https://169.254.169.254/latest/meta-data", "https://169.254.169.254"),
            ("https://evil.example/push.apple.com", "https://evil.example"),
            ("https://notify.windows.com.evil.example/x", "https://notify.windows.com.evil.example"),
        ] {
            assert_eq!(
                fields(Subscription::parse(bad, P256DH, AUTH, &[]).unwrap_err()),
                [("endpoint".into(), format!("{origin} is not a browser push service this server sends to"))]
            );
        }
        // A configured stand-in origin is accepted, over plain http too.
        Subscription::parse("http://127.0.0.1:4100/push/7", P256DH, AUTH, &["http://127.0.0.1:4100".into()]).unwrap();
    }

    #[test]
    fn keys_of_the_wrong_shape_are_refused_with_the_field() {
        assert_eq!(
            fields(Subscription::parse("not a url", "AAAA", "short", &[]).unwrap_err()),
            [
                ("endpoint".into(), "the endpoint is not a URL".into()),
                ("keys.p256dh".into(), "the key is not a 65-byte P-256 public key in base64url".into()),
                ("keys.auth".into(), "the auth secret is not 16 bytes in base64url".into()),
            ]
        );
        // Padded base64url, as some browsers send it, is fine.
        let s = Subscription::parse("https://fcm.googleapis.com/fcm/send/x", P256DH, "BTBZMqHH6r4Tts7J_aSIgg==", &[])
            .unwrap();
        assert_eq!((s.p256dh_b64(), s.auth_b64()), (P256DH.to_string(), AUTH.to_string()));
    }
}
