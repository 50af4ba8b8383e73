//! Twilio's Messages API (and compatible providers such as SignalWire, or our stand-in):
//! `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded, HTTP Basic auth.
//! <https://www.twilio.com/docs/messaging/api/message-resource>

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;

use super::voice::{OutboundCall, PlacedCall, VoiceProvider};
use super::{Accepted, OutboundSms, SendError, SmsProvider};
use crate::engine::BoxFuture;

pub const TWILIO_API: &str = "https://api.twilio.com";

#[derive(Clone)]
pub struct TwilioConfig {
    /// `https://api.twilio.com`, a compatible provider, or the stand-in; no trailing slash.
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
}

impl std::fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
pub struct TwilioSms {
    http: reqwest::Client,
    config: Arc<TwilioConfig>,
}

/// The fields of a Message resource we use.
#[derive(Debug, Deserialize)]
struct MessageResource {
    sid: String,
    status: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    date_created: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MessageList {
    messages: Vec<MessageResource>,
}

/// The fields of a Call resource we use.
#[derive(Debug, Deserialize)]
struct CallResource {
    sid: String,
    status: String,
}

/// Twilio's error body: `{"code": 21211, "message": "...", "more_info": "...", "status": 400}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    code: Option<i64>,
    message: Option<String>,
}

impl TwilioSms {
    pub fn new(config: TwilioConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self { http, config: Arc::new(config) })
    }

    fn messages_url(&self) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.config.base_url.trim_end_matches('/'),
            self.config.account_sid
        )
    }
}

async fn classify(resp: reqwest::Response) -> SendError {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let parsed: Option<ErrorBody> = serde_json::from_str(&text).ok();
    let code = parsed.as_ref().and_then(|e| e.code);
    let message = parsed.and_then(|e| e.message).unwrap_or_else(|| format!("HTTP {status}"));
    if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 401 || status.as_u16() == 403 {
        // Credentials can be fixed by an admin; outages pass. Both are worth retrying.
        SendError::Transient(match code {
            Some(c) => format!("Twilio {status} ({c}): {message}"),
            None => format!("Twilio {status}: {message}"),
        })
    } else {
        SendError::Rejected { code, message }
    }
}

impl SmsProvider for TwilioSms {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn send(&self, sms: OutboundSms) -> BoxFuture<Result<Accepted, SendError>> {
        let me = self.clone();
        Box::pin(async move {
            let mut form = vec![("To", sms.to), ("From", sms.from), ("Body", sms.body)];
            if let Some(cb) = sms.status_callback {
                form.push(("StatusCallback", cb));
            }
            let resp = me
                .http
                .post(me.messages_url())
                .basic_auth(&me.config.account_sid, Some(&me.config.auth_token))
                .form(&form)
                .send()
                .await
                .map_err(|e| SendError::Transient(format!("cannot reach Twilio: {e}")))?;
            if !resp.status().is_success() {
                return Err(classify(resp).await);
            }
            let msg: MessageResource =
                resp.json().await.map_err(|e| SendError::Transient(format!("unreadable Twilio response: {e}")))?;
            Ok(Accepted { provider_id: msg.sid, status: msg.status })
        })
    }

    fn find_sent(
        &self,
        from: String,
        to: String,
        body: String,
        since: Timestamp,
    ) -> BoxFuture<Result<Vec<Accepted>, SendError>> {
        let me = self.clone();
        Box::pin(async move {
            let resp = me
                .http
                .get(me.messages_url())
                .basic_auth(&me.config.account_sid, Some(&me.config.auth_token))
                .query(&[("To", to.as_str()), ("From", from.as_str()), ("PageSize", "50")])
                .send()
                .await
                .map_err(|e| SendError::Transient(format!("cannot reach Twilio: {e}")))?;
            if !resp.status().is_success() {
                return Err(classify(resp).await);
            }
            let list: MessageList =
                resp.json().await.map_err(|e| SendError::Transient(format!("unreadable Twilio response: {e}")))?;
            // Twilio lists the newest first.
            let mut found: Vec<Accepted> = list
                .messages
                .into_iter()
                .filter(|m| {
                    let created = m
                        .date_created
                        .as_deref()
                        .and_then(|d| jiff::fmt::rfc2822::parse(d).ok())
                        .map(|z| z.timestamp());
                    m.body.as_deref() == Some(body.as_str()) && created.is_none_or(|c| c >= since)
                })
                .map(|m| Accepted { provider_id: m.sid, status: m.status })
                .collect();
            found.reverse();
            Ok(found)
        })
    }
}

/// Programmable Voice: `POST /2010-04-01/Accounts/{AccountSid}/Calls.json`.
/// <https://www.twilio.com/docs/voice/api/call-resource>
impl VoiceProvider for TwilioSms {
    fn place(&self, call: OutboundCall) -> BoxFuture<Result<PlacedCall, SendError>> {
        let me = self.clone();
        Box::pin(async move {
            let mut form = vec![
                ("To", call.to),
                ("From", call.from),
                ("Url", call.url.clone()),
                ("Method", "POST".into()),
                // A failed script fetch is tried once more at the same URL rather than the
                // caller hearing "an application error has occurred".
                ("FallbackUrl", call.url),
                ("StatusCallback", call.status_callback),
                ("StatusCallbackMethod", "POST".into()),
                ("StatusCallbackEvent", "initiated".into()),
                ("StatusCallbackEvent", "ringing".into()),
                ("StatusCallbackEvent", "answered".into()),
                ("StatusCallbackEvent", "completed".into()),
                ("Timeout", call.ring_seconds.to_string()),
            ];
            if call.detect_machine {
                form.push(("MachineDetection", "DetectMessageEnd".into()));
            }
            let url = format!(
                "{}/2010-04-01/Accounts/{}/Calls.json",
                me.config.base_url.trim_end_matches('/'),
                me.config.account_sid
            );
            let resp = me
                .http
                .post(url)
                .basic_auth(&me.config.account_sid, Some(&me.config.auth_token))
                .form(&form)
                .send()
                .await
                .map_err(|e| SendError::Transient(format!("cannot reach Twilio: {e}")))?;
            if !resp.status().is_success() {
                return Err(classify(resp).await);
            }
            let c: CallResource =
                resp.json().await.map_err(|e| SendError::Transient(format!("unreadable Twilio response: {e}")))?;
            Ok(PlacedCall { sid: c.sid, status: c.status })
        })
    }

    /// `GET {RecordingUrl}.wav`, with the account's credentials (accounts that protect their
    /// media need them; the others ignore them). Only from our provider's own host: a
    /// `RecordingUrl` elsewhere is refused, so a forged callback cannot make us fetch it.
    /// <https://www.twilio.com/docs/voice/api/recording#fetch-a-recording-media-file>
    fn end_conference(&self, room: &str) -> BoxFuture<Result<bool, SendError>> {
        let me = self.clone();
        let room = room.to_string();
        Box::pin(async move { me.end_room(&room).await })
    }

    fn fetch_recording(&self, media_url: &str) -> BoxFuture<Result<Vec<u8>, SendError>> {
        let me = self.clone();
        let media_url = media_url.to_string();
        Box::pin(async move {
            let ours = media_host(&me.config.base_url);
            if ours.is_none() || media_host(&media_url) != ours {
                return Err(SendError::Rejected {
                    code: None,
                    message: format!("the recording is not on our provider's host: {media_url}"),
                });
            }
            let url = format!("{}.wav", media_url.trim_end_matches(".json").trim_end_matches(".wav"));
            let resp = me
                .http
                .get(url)
                .basic_auth(&me.config.account_sid, Some(&me.config.auth_token))
                .send()
                .await
                .map_err(|e| SendError::Transient(format!("cannot reach Twilio: {e}")))?;
            if !resp.status().is_success() {
                return Err(classify(resp).await);
            }
            let bytes =
                resp.bytes().await.map_err(|e| SendError::Transient(format!("the recording did not arrive: {e}")))?;
            Ok(bytes.to_vec())
        })
    }
}

/// The stand-in's simulated softphones, where no API key lets a browser sign in at Twilio: the
/// console acts on a browser's leg of a call as the Voice SDK would (answer, decline, keys,
/// hang up), through the stand-in's control routes. Never used against Twilio itself.
impl TwilioSms {
    /// The ringing or live leg of call `parent` to the softphone `identity`.
    pub async fn client_leg(&self, parent: &str, identity: &str) -> Result<Option<String>, SendError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Calls.json",
            self.config.base_url.trim_end_matches('/'),
            self.config.account_sid
        );
        let to = format!("client:{identity}");
        let resp = self
            .http
            .get(url)
            .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
            .query(&[("ParentCallSid", parent), ("To", to.as_str())])
            .send()
            .await
            .map_err(|e| SendError::Transient(format!("cannot reach the phone service: {e}")))?;
        if !resp.status().is_success() {
            return Err(classify(resp).await);
        }
        #[derive(Deserialize)]
        struct Calls {
            calls: Vec<CallResource>,
        }
        let list: Calls = resp.json().await.map_err(|e| SendError::Transient(format!("unreadable Calls list: {e}")))?;
        Ok(list
            .calls
            .into_iter()
            .find(|c| matches!(c.status.as_str(), "queued" | "initiated" | "ringing" | "in-progress"))
            .map(|c| c.sid))
    }

    /// Acts on the softphone `identity`'s leg `sid`: `answer`, `decline`, `hangup`, or a key.
    pub async fn simulate_client(&self, identity: &str, sid: &str, action: &str) -> Result<(), SendError> {
        let url = format!("{}/clients/{identity}/calls/{sid}", self.config.base_url.trim_end_matches('/'));
        let form: Vec<(&str, &str)> = if action.len() == 1 { vec![("key", action)] } else { vec![("action", action)] };
        let resp = self
            .http
            .post(url)
            .form(&form)
            .send()
            .await
            .map_err(|e| SendError::Transient(format!("cannot reach the phone service: {e}")))?;
        if resp.status().is_success() || resp.status().is_redirection() { Ok(()) } else { Err(classify(resp).await) }
    }
}

#[derive(Deserialize)]
struct ConferenceList {
    conferences: Vec<CallResource>,
}

impl TwilioSms {
    /// `Conferences.json?FriendlyName=&Status=` then `POST Conferences/{sid}.json Status=completed`
    /// for each open room of that name.
    /// <https://www.twilio.com/docs/voice/api/conference-resource>
    async fn end_room(&self, room: &str) -> Result<bool, SendError> {
        let base = format!(
            "{}/2010-04-01/Accounts/{}/Conferences",
            self.config.base_url.trim_end_matches('/'),
            self.config.account_sid
        );
        let mut ended = false;
        for status in ["init", "in-progress"] {
            let resp = self
                .http
                .get(format!("{base}.json"))
                .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
                .query(&[("FriendlyName", room), ("Status", status)])
                .send()
                .await
                .map_err(|e| SendError::Transient(format!("cannot reach Twilio: {e}")))?;
            if !resp.status().is_success() {
                return Err(classify(resp).await);
            }
            let list: ConferenceList =
                resp.json().await.map_err(|e| SendError::Transient(format!("unreadable Conferences list: {e}")))?;
            for c in list.conferences {
                let resp = self
                    .http
                    .post(format!("{base}/{}.json", c.sid))
                    .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
                    .form(&[("Status", "completed")])
                    .send()
                    .await
                    .map_err(|e| SendError::Transient(format!("cannot reach Twilio: {e}")))?;
                if !resp.status().is_success() {
                    return Err(classify(resp).await);
                }
                ended = true;
            }
        }
        Ok(ended)
    }
}

/// `scheme://host:port` of a URL, lowercased, for comparing where URLs point.
fn media_host(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}
