//! A Twilio-compatible stand-in: the Messages API (`Messages.json`: create, list, fetch) with
//! Twilio's JSON shapes and error bodies, status callbacks signed with `X-Twilio-Signature`,
//! injectable failures and latency, and simulated phones whose replies arrive at the app as
//! signed inbound-SMS webhooks; Programmable Voice (outbound and inbound calls, a TwiML
//! interpreter with `<Dial>` (numbers, softphones, conference rooms) and `<Record>`, recordings,
//! conferences: see `voice`). `GET /` shows every phone's conversation and calls, and lets a
//! person reply, answer, hang up, or call as a customer or a technician;
//! `POST /clients/{identity}/calls/{sid}` does the same for a browser softphone's calls.
//!
//! The signature code here is written independently of the app's, so a test that passes
//! through both checks the algorithm, not one implementation against itself.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha1::Sha1;
use tokio::net::TcpListener;
use tokio::sync::Notify;

mod voice;
pub use voice::{Caller, PageAction, Pickup, SimCall, SimConference, SimRecording};

/// A failure to inject into the next API call (or the next message's delivery).
#[derive(Debug, Clone)]
pub enum Failure {
    /// `500` with Twilio's internal-error body.
    ServerError,
    /// `400` with this Twilio error code and message (e.g. 21211 invalid 'To').
    Reject { code: i64, message: String },
    /// Accepted, then reported `undelivered` with this error code (e.g. 30003 unreachable).
    Undelivered { code: i64 },
}

/// One message as the stand-in keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct SimMessage {
    pub sid: String,
    pub from: String,
    pub to: String,
    pub body: String,
    /// `outbound-api` (sent by the app through the API) or `inbound` (typed on a phone).
    pub direction: &'static str,
    pub status: String,
    pub error_code: Option<i64>,
    #[serde(skip)]
    pub created: Timestamp,
    #[serde(skip)]
    status_callback: Option<String>,
}

struct Inner {
    account_sid: String,
    auth_token: String,
    /// Where replies typed on simulated phones are delivered (the app's inbound webhook).
    sms_webhook_url: Mutex<Option<String>>,
    messages: Mutex<Vec<SimMessage>>,
    /// How many outbound messages to each number tests have already taken with `expect_sms`.
    taken: Mutex<std::collections::HashMap<String, usize>>,
    changed: Notify,
    failures: Mutex<VecDeque<Failure>>,
    latency: Mutex<Duration>,
    /// Send requests past this many wait until [`TwilioStandin::release`] (a provider that
    /// stalls mid-batch, so a test can stop the app with work surely in flight).
    hold_after: Mutex<Option<usize>>,
    arrived: std::sync::atomic::AtomicUsize,
    released: tokio::sync::watch::Sender<bool>,
    callback_delay: Mutex<Duration>,
    pending_callbacks: Mutex<usize>,
    settled: Notify,
    http: reqwest::Client,
    voice: Mutex<voice::Voice>,
}

#[derive(Clone)]
pub struct TwilioStandin {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n.div_ceil(2)];
    rand::fill(&mut bytes[..]);
    bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()[..n].to_string()
}

fn rfc2822(t: Timestamp) -> String {
    t.to_zoned(jiff::tz::TimeZone::UTC).strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// `X-Twilio-Signature` for a callback we send, computed as Twilio does.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) else { return String::new() };
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn is_e164(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or("");
    (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

fn twilio_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, axum::Json(body)).into_response()
}

impl TwilioStandin {
    /// Starts the stand-in on `bind` (use port 0 for any free port) with fresh credentials.
    pub async fn start(bind: SocketAddr) -> std::io::Result<TwilioStandin> {
        Self::start_with(bind, format!("AC{}", random_hex(32)), random_hex(32)).await
    }

    /// Starts the stand-in with the given account SID and auth token.
    pub async fn start_with(
        bind: SocketAddr,
        account_sid: String,
        auth_token: String,
    ) -> std::io::Result<TwilioStandin> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(std::io::Error::other)?;
        let inner = Arc::new(Inner {
            account_sid,
            auth_token,
            sms_webhook_url: Mutex::new(None),
            messages: Mutex::new(Vec::new()),
            taken: Mutex::new(Default::default()),
            changed: Notify::new(),
            failures: Mutex::new(VecDeque::new()),
            latency: Mutex::new(Duration::ZERO),
            hold_after: Mutex::new(None),
            arrived: std::sync::atomic::AtomicUsize::new(0),
            released: tokio::sync::watch::channel(false).0,
            callback_delay: Mutex::new(Duration::from_millis(20)),
            pending_callbacks: Mutex::new(0),
            settled: Notify::new(),
            http,
            voice: Mutex::new(voice::Voice::default()),
        });
        let standin = TwilioStandin { inner, addr };
        let app = standin.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "twilio stand-in stopped");
            }
        });
        Ok(standin)
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn account_sid(&self) -> &str {
        &self.inner.account_sid
    }
    pub fn auth_token(&self) -> &str {
        &self.inner.auth_token
    }

    /// Where replies from simulated phones go: the app's `/webhooks/twilio/sms` URL.
    pub fn set_sms_webhook(&self, url: impl Into<String>) {
        *lock(&self.inner.sms_webhook_url) = Some(url.into());
    }
    /// The next API call (or delivery) fails this way.
    pub fn fail_next(&self, failure: Failure) {
        lock(&self.inner.failures).push_back(failure);
    }
    /// Delay before answering each create request (texts and calls), after the message or
    /// call is taken: like a reply lost on its way back, a client that gives up or dies in that
    /// window does not know that the provider already has it.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.inner.latency) = latency;
    }
    pub(crate) async fn answer_after_latency(&self) {
        let latency = *lock(&self.inner.latency);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }
    /// Answers the next `n` send requests; later ones wait until [`Self::release`].
    pub fn hold_after(&self, n: usize) {
        self.inner.arrived.store(0, std::sync::atomic::Ordering::SeqCst);
        self.inner.released.send_replace(false);
        *lock(&self.inner.hold_after) = Some(n);
    }
    /// Lets held and later send requests through.
    pub fn release(&self) {
        *lock(&self.inner.hold_after) = None;
        self.inner.released.send_replace(true);
    }
    /// Delay between status steps (queued -> sent -> delivered).
    pub fn set_callback_delay(&self, delay: Duration) {
        *lock(&self.inner.callback_delay) = delay;
    }

    /// Every message so far, oldest first.
    pub fn messages(&self) -> Vec<SimMessage> {
        lock(&self.inner.messages).clone()
    }

    /// Outbound messages the app sent to `number`, oldest first.
    pub fn sent_to(&self, number: &str) -> Vec<SimMessage> {
        lock(&self.inner.messages).iter().filter(|m| m.direction == "outbound-api" && m.to == number).cloned().collect()
    }

    /// Waits (up to `timeout`) for the next outbound message to `number` not yet taken.
    pub async fn expect_sms(&self, number: &str, timeout: Duration) -> Result<SimMessage, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            {
                let sent = self.sent_to(number);
                let mut taken = lock(&self.inner.taken);
                let seen = taken.entry(number.to_string()).or_insert(0);
                if let Some(m) = sent.get(*seen) {
                    *seen += 1;
                    return Ok(m.clone());
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(format!("no SMS to {number} within {timeout:?}"));
            }
        }
    }

    /// A simulated phone `from` texts `body` to the business number `to`: the app receives a
    /// signed inbound-SMS webhook. Returns the app's HTTP status.
    pub async fn reply(&self, from: &str, to: &str, body: &str) -> Result<u16, String> {
        let url = lock(&self.inner.sms_webhook_url).clone().ok_or("no SMS webhook URL set")?;
        let sid = format!("SM{}", random_hex(32));
        let msg = SimMessage {
            sid: sid.clone(),
            from: from.to_string(),
            to: to.to_string(),
            body: body.to_string(),
            direction: "inbound",
            status: "received".into(),
            error_code: None,
            created: Timestamp::now(),
            status_callback: None,
        };
        self.push(msg);
        let params: Vec<(String, String)> = [
            ("ToCountry", "US"),
            ("SmsMessageSid", sid.as_str()),
            ("NumMedia", "0"),
            ("SmsSid", sid.as_str()),
            ("SmsStatus", "received"),
            ("Body", body),
            ("FromCountry", "US"),
            ("To", to),
            ("NumSegments", "1"),
            ("MessageSid", sid.as_str()),
            ("AccountSid", self.inner.account_sid.as_str()),
            ("From", from),
            ("ApiVersion", "2010-04-01"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        self.deliver(&url, &params).await
    }

    /// Sends the exact webhook a phone reply would, with `sid` chosen by the caller (to test
    /// deduplication of retried webhooks).
    pub async fn redeliver_inbound(&self, sid: &str, from: &str, to: &str, body: &str) -> Result<u16, String> {
        let url = lock(&self.inner.sms_webhook_url).clone().ok_or("no SMS webhook URL set")?;
        let params: Vec<(String, String)> = [
            ("MessageSid", sid),
            ("SmsSid", sid),
            ("AccountSid", self.inner.account_sid.as_str()),
            ("From", from),
            ("To", to),
            ("Body", body),
            ("NumMedia", "0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        self.deliver(&url, &params).await
    }

    async fn deliver(&self, url: &str, params: &[(String, String)]) -> Result<u16, String> {
        Ok(self.post_signed(url, params).await?.status().as_u16())
    }

    /// A form POST to the app, signed with `X-Twilio-Signature` as Twilio signs its webhooks.
    async fn post_signed(&self, url: &str, params: &[(String, String)]) -> Result<reqwest::Response, String> {
        let sig = signature(&self.inner.auth_token, url, params);
        self.inner
            .http
            .post(url)
            .header("X-Twilio-Signature", sig)
            .form(params)
            .send()
            .await
            .map_err(|e| format!("webhook to {url} failed: {e}"))
    }

    /// Waits until every status callback in flight has been delivered.
    pub async fn settle(&self, timeout: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.settled.notified();
            if *lock(&self.inner.pending_callbacks) == 0 {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err("status callbacks still in flight".into());
            }
        }
    }

    fn push(&self, msg: SimMessage) {
        lock(&self.inner.messages).push(msg);
        self.inner.changed.notify_waiters();
    }

    fn set_status(&self, sid: &str, status: &str, error: Option<i64>) -> Option<SimMessage> {
        let mut all = lock(&self.inner.messages);
        let m = all.iter_mut().find(|m| m.sid == sid)?;
        m.status = status.to_string();
        m.error_code = error;
        let copy = m.clone();
        drop(all);
        self.inner.changed.notify_waiters();
        Some(copy)
    }

    /// queued -> sent -> delivered (or undelivered), with a signed callback for each step
    /// after the first: Twilio does not call back for the status it returned.
    fn progress(&self, sid: String, undelivered: Option<i64>) {
        let me = self.clone();
        *lock(&me.inner.pending_callbacks) += 1;
        tokio::spawn(async move {
            let steps: Vec<(&str, Option<i64>)> = match undelivered {
                Some(code) => vec![("sent", None), ("undelivered", Some(code))],
                None => vec![("sent", None), ("delivered", None)],
            };
            for (status, code) in steps {
                let delay = *lock(&me.inner.callback_delay);
                tokio::time::sleep(delay).await;
                let Some(m) = me.set_status(&sid, status, code) else { break };
                if let Some(url) = m.status_callback.clone() {
                    let mut params: Vec<(String, String)> = vec![
                        ("MessageSid".into(), m.sid.clone()),
                        ("SmsSid".into(), m.sid.clone()),
                        ("AccountSid".into(), me.inner.account_sid.clone()),
                        ("From".into(), m.from.clone()),
                        ("To".into(), m.to.clone()),
                        ("MessageStatus".into(), status.into()),
                        ("SmsStatus".into(), status.into()),
                        ("ApiVersion".into(), "2010-04-01".into()),
                    ];
                    if let Some(code) = code {
                        params.push(("ErrorCode".into(), code.to_string()));
                    }
                    if let Err(e) = me.deliver(&url, &params).await {
                        tracing::warn!(error = %e, "stand-in status callback failed");
                    }
                }
            }
            let mut pending = lock(&me.inner.pending_callbacks);
            *pending -= 1;
            if *pending == 0 {
                me.inner.settled.notify_waiters();
            }
        });
    }

    fn resource(&self, m: &SimMessage) -> serde_json::Value {
        let sid = &self.inner.account_sid;
        json!({
            "account_sid": sid,
            "api_version": "2010-04-01",
            "body": m.body,
            "date_created": rfc2822(m.created),
            "date_sent": if m.status == "queued" { serde_json::Value::Null } else { json!(rfc2822(m.created)) },
            "date_updated": rfc2822(Timestamp::now()),
            "direction": m.direction,
            "error_code": m.error_code,
            "error_message": serde_json::Value::Null,
            "from": m.from,
            "messaging_service_sid": serde_json::Value::Null,
            "num_media": "0",
            "num_segments": segments(&m.body).to_string(),
            "price": serde_json::Value::Null,
            "price_unit": "USD",
            "sid": m.sid,
            "status": m.status,
            "subresource_uris": { "media": format!("/2010-04-01/Accounts/{sid}/Messages/{}/Media.json", m.sid) },
            "to": m.to,
            "uri": format!("/2010-04-01/Accounts/{sid}/Messages/{}.json", m.sid),
        })
    }

    /// The stand-in's routes (API and phone pages), for mounting or serving.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/2010-04-01/Accounts/{account}/Messages.json", post(create_message).get(list_messages))
            .route("/2010-04-01/Accounts/{account}/Messages/{sid}", get(fetch_message))
            .route("/2010-04-01/Accounts/{account}/Calls.json", post(voice::create_call).get(voice::list_calls))
            .route("/2010-04-01/Accounts/{account}/Calls/{sid}", get(voice::fetch_call))
            .route("/2010-04-01/Accounts/{account}/Calls/{sid}/Recordings.json", get(voice::call_recordings))
            .route("/2010-04-01/Accounts/{account}/Recordings.json", get(voice::list_recordings))
            .route("/2010-04-01/Accounts/{account}/Recordings/{sid}", get(voice::fetch_recording))
            .route("/2010-04-01/Accounts/{account}/Conferences.json", get(voice::list_conferences))
            .route(
                "/2010-04-01/Accounts/{account}/Conferences/{sid}",
                get(voice::fetch_conference).post(voice::update_conference),
            )
            .route("/2010-04-01/Accounts/{account}/Conferences/{sid}/Participants.json", get(voice::list_participants))
            .route(
                "/2010-04-01/Accounts/{account}/Conferences/{sid}/Participants/{call}",
                get(voice::fetch_participant).delete(voice::remove_participant),
            )
            .route("/", get(phones_page))
            .route("/phones/{number}", get(phone_page).post(phone_send))
            .route("/phones/{number}/calls/{sid}", post(voice::call_action))
            .route("/phones/{number}/dial", post(voice::phone_dial))
            .route("/clients/{identity}/calls/{sid}", post(voice::client_call_action))
            .with_state(self.clone())
    }

    fn authorized(&self, headers: &HeaderMap, account: &str) -> bool {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", self.inner.account_sid, self.inner.auth_token))
        );
        account == self.inner.account_sid
            && headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(expected.as_str())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub use switchboard_core::messaging::segments::segments;

#[derive(Deserialize)]
struct CreateForm {
    #[serde(rename = "To")]
    to: Option<String>,
    #[serde(rename = "From")]
    from: Option<String>,
    #[serde(rename = "Body")]
    body: Option<String>,
    #[serde(rename = "StatusCallback")]
    status_callback: Option<String>,
}

async fn create_message(
    State(s): State<TwilioStandin>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CreateForm>,
) -> Response {
    let hold = *lock(&s.inner.hold_after);
    if let Some(n) = hold
        && s.inner.arrived.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= n
    {
        // Until released, or until the caller goes away (the connection closes).
        let mut released = s.inner.released.subscribe();
        let _ = released.wait_for(|r| *r).await;
    }
    if !s.authorized(&headers, &account) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let to = form.to.unwrap_or_default();
    if to.is_empty() {
        return twilio_error(StatusCode::BAD_REQUEST, 21604, "A 'To' phone number is required.");
    }
    if !is_e164(&to) {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    let Some(from) = form.from.filter(|f| !f.is_empty()) else {
        return twilio_error(StatusCode::BAD_REQUEST, 21603, "A 'From' phone number is required.");
    };
    let body = form.body.unwrap_or_default();
    if body.is_empty() {
        return twilio_error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    }
    if body.chars().count() > 1600 {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        );
    }
    let failure = lock(&s.inner.failures).pop_front();
    let undelivered = match failure {
        Some(Failure::ServerError) => {
            return twilio_error(StatusCode::INTERNAL_SERVER_ERROR, 20500, "Internal Server Error");
        }
        Some(Failure::Reject { code, message }) => return twilio_error(StatusCode::BAD_REQUEST, code, &message),
        Some(Failure::Undelivered { code }) => Some(code),
        None => None,
    };
    let msg = SimMessage {
        sid: format!("SM{}", random_hex(32)),
        from,
        to,
        body,
        direction: "outbound-api",
        status: "queued".into(),
        error_code: None,
        created: Timestamp::now(),
        status_callback: form.status_callback.filter(|u| !u.is_empty()),
    };
    let resource = s.resource(&msg);
    let sid = msg.sid.clone();
    s.push(msg);
    s.progress(sid, undelivered);
    s.answer_after_latency().await;
    (StatusCode::CREATED, axum::Json(resource)).into_response()
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(rename = "To")]
    to: Option<String>,
    #[serde(rename = "From")]
    from: Option<String>,
    /// Sent on this day (UTC); a date (`2026-12-02`) or a date and time (its day counts).
    #[serde(rename = "DateSent")]
    date_sent: Option<String>,
    /// Sent on or before (a date: that whole day).
    #[serde(rename = "DateSent<")]
    date_sent_before: Option<String>,
    /// Sent on or after.
    #[serde(rename = "DateSent>")]
    date_sent_after: Option<String>,
    #[serde(rename = "PageSize")]
    page_size: Option<usize>,
    #[serde(rename = "Page")]
    page: Option<usize>,
    /// Where the page starts: `PA{sid}` after that message, `PB{sid}` before it (Twilio's
    /// tokens anchor on a message, so new messages do not shift the pages).
    #[serde(rename = "PageToken")]
    page_token: Option<String>,
}

/// A `DateSent` value: the first instant it covers and whether it was a whole day.
fn sent_bound(raw: &str) -> Result<(Timestamp, bool), String> {
    let raw = raw.trim();
    if let Ok(d) = raw.parse::<jiff::civil::Date>() {
        let start = d.to_zoned(jiff::tz::TimeZone::UTC).map_err(|e| e.to_string())?.timestamp();
        return Ok((start, true));
    }
    raw.parse::<Timestamp>().map(|t| (t, false)).map_err(|_| format!("Invalid DateSent value: {raw}"))
}

const DAY: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

impl ListQuery {
    /// Whether a message sent at `sent` (none: not sent yet) passes the DateSent filters.
    fn sent_matches(&self, sent: Option<Timestamp>) -> Result<bool, String> {
        if self.date_sent.is_none() && self.date_sent_before.is_none() && self.date_sent_after.is_none() {
            return Ok(true);
        }
        let Some(sent) = sent else { return Ok(false) };
        if let Some(on) = &self.date_sent {
            let (t, _) = sent_bound(on)?;
            let day = t.to_zoned(jiff::tz::TimeZone::UTC).date();
            if sent.to_zoned(jiff::tz::TimeZone::UTC).date() != day {
                return Ok(false);
            }
        }
        if let Some(before) = &self.date_sent_before {
            let (t, whole_day) = sent_bound(before)?;
            if (whole_day && sent >= t + DAY) || (!whole_day && sent > t) {
                return Ok(false);
            }
        }
        if let Some(after) = &self.date_sent_after {
            let (t, _) = sent_bound(after)?;
            if sent < t {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The filters, as Twilio repeats them in its page links.
    fn filters(&self) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("To", &self.to),
            ("From", &self.from),
            ("DateSent", &self.date_sent),
            ("DateSent<", &self.date_sent_before),
            ("DateSent>", &self.date_sent_after),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// `GET Messages.json`: newest first, filtered by To, From and DateSent, in pages with
/// `next_page_uri` / `previous_page_uri` as Twilio's clients follow them.
async fn list_messages(
    State(s): State<TwilioStandin>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    if !s.authorized(&headers, &account) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let size = q.page_size.unwrap_or(50).clamp(1, 1000);
    let page = q.page.unwrap_or(0);
    let all = s.messages();
    let mut matching = Vec::new();
    for m in all.iter().rev() {
        if q.to.as_deref().is_some_and(|t| m.to != t) || q.from.as_deref().is_some_and(|f| m.from != f) {
            continue;
        }
        let sent = (m.status != "queued").then_some(m.created);
        match q.sent_matches(sent) {
            Ok(true) => matching.push(m),
            Ok(false) => {}
            Err(e) => return twilio_error(StatusCode::BAD_REQUEST, 20001, &e),
        }
    }
    let position = |sid: &str| matching.iter().position(|m| m.sid == sid);
    let start = match q.page_token.as_deref() {
        None => page * size,
        Some(t) => match (t.strip_prefix("PA").and_then(position), t.strip_prefix("PB").and_then(position)) {
            (Some(i), _) => i + 1,
            (_, Some(i)) => i.saturating_sub(size),
            _ => return twilio_error(StatusCode::BAD_REQUEST, 20001, &format!("Invalid PageToken: {t}")),
        },
    };
    let items: Vec<&SimMessage> = matching.iter().skip(start).take(size).copied().collect();
    let base = format!("/2010-04-01/Accounts/{account}/Messages.json");
    let filters = q.filters();
    let link = |page: usize, token: Option<String>| {
        let mut uri = format!("{base}?");
        if !filters.is_empty() {
            uri.push_str(&filters);
            uri.push('&');
        }
        uri.push_str(&format!("PageSize={size}&Page={page}"));
        if let Some(t) = token {
            uri.push_str(&format!("&PageToken={t}"));
        }
        uri
    };
    let more = start + items.len() < matching.len();
    let next = match items.last() {
        Some(last) if more => json!(link(page + 1, Some(format!("PA{}", last.sid)))),
        _ => serde_json::Value::Null,
    };
    let previous = match items.first() {
        Some(first) if start > 0 => json!(link(page.saturating_sub(1), Some(format!("PB{}", first.sid)))),
        _ => serde_json::Value::Null,
    };
    let messages: Vec<serde_json::Value> = items.iter().map(|m| s.resource(m)).collect();
    axum::Json(json!({
        "messages": messages,
        "end": (start + messages.len()).saturating_sub(1),
        "first_page_uri": link(0, None),
        "next_page_uri": next,
        "page": page,
        "page_size": size,
        "previous_page_uri": previous,
        "start": start,
        "uri": link(page, q.page_token.clone()),
    }))
    .into_response()
}

async fn fetch_message(
    State(s): State<TwilioStandin>,
    Path((account, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !s.authorized(&headers, &account) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let sid = sid.trim_end_matches(".json");
    match s.messages().iter().find(|m| m.sid == sid) {
        Some(m) => axum::Json(s.resource(m)).into_response(),
        None => twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            &format!("The requested resource /2010-04-01/Accounts/{account}/Messages/{sid}.json was not found"),
        ),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f1f5f9;color:#0f172a}\
header{background:#0b1220;color:#fff;padding:14px 24px;font-weight:600}header span{color:#94a3b8;font-weight:400;margin-left:8px}\
main{max-width:760px;margin:24px auto;padding:0 16px}a{color:#2563eb;text-decoration:none}\
.card{background:#fff;border:1px solid #e2e8f0;border-radius:12px;padding:16px;margin-bottom:12px}\
.row{display:flex;justify-content:space-between;align-items:center}.muted{color:#64748b;font-size:13px}\
.thread{display:flex;flex-direction:column;gap:8px}.bubble{max-width:75%;padding:8px 12px;border-radius:16px;white-space:pre-wrap}\
.in{align-self:flex-start;background:#e2e8f0}.out{align-self:flex-end;background:#2563eb;color:#fff}\
form{display:flex;flex-wrap:wrap;gap:8px;margin-top:12px}input,textarea{flex:1;font:inherit;padding:8px;border:1px solid #cbd5e1;border-radius:8px}\
button{font:inherit;font-weight:600;background:#2563eb;color:#fff;border:0;border-radius:8px;padding:8px 16px;cursor:pointer}";

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content='width=device-width,initial-scale=1'>\
         <title>{t} · SMS stand-in</title><style>{PAGE_STYLE}</style></head><body><header>SMS stand-in<span>simulated phones, Twilio wire format</span></header><main>{body}</main></body></html>",
        t = esc(title)
    ))
}

/// Every phone number seen, with the business number it last talked to and the last text.
async fn phones_page(State(s): State<TwilioStandin>) -> Html<String> {
    let mut phones: Vec<(String, String, String)> = Vec::new();
    for m in s.messages().iter().rev() {
        let (phone, business) = if m.direction == "inbound" { (&m.from, &m.to) } else { (&m.to, &m.from) };
        if !phones.iter().any(|(p, _, _)| p == phone) {
            phones.push((phone.clone(), business.clone(), m.body.clone()));
        }
    }
    for c in s.calls().iter().rev() {
        let (phone, business) = if c.direction == "inbound" { (&c.from, &c.to) } else { (&c.to, &c.from) };
        if !phones.iter().any(|(p, _, _)| p == phone) {
            phones.push((phone.clone(), business.clone(), format!("Call: {}", c.status)));
        }
    }
    let mut html = String::from(
        "<h1>Phones</h1><p class=muted>Texts and calls the app made appear on the recipient's phone. Open a phone to reply as that customer or technician, or to answer a call and press keys.</p>",
    );
    html.push_str("<div class=card><form method=get action='/phones/new' onsubmit=\"this.action='/phones/'+encodeURIComponent(this.n.value);\"><input name=n placeholder='+13035550199 (a new phone)'><button>Open</button></form></div>");
    for (phone, business, last) in &phones {
        html.push_str(&format!(
            "<a class=card href='/phones/{p}' style='display:block'><div class=row><strong>{p}</strong><span class=muted>with {b}</span></div><div class=muted>{l}</div></a>",
            p = esc(phone),
            b = esc(business),
            l = esc(last)
        ));
    }
    if phones.is_empty() {
        html.push_str("<div class=card muted>No texts yet.</div>");
    }
    page("Phones", &html)
}

async fn phone_page(State(s): State<TwilioStandin>, Path(number): Path<String>) -> Html<String> {
    let thread: Vec<SimMessage> = s.messages().into_iter().filter(|m| m.to == number || m.from == number).collect();
    let business = thread
        .iter()
        .rev()
        .map(|m| if m.direction == "inbound" { m.to.clone() } else { m.from.clone() })
        .next()
        .or_else(|| {
            s.calls().into_iter().rev().find_map(|c| match c.direction {
                "inbound" if c.from == number => Some(c.to),
                "inbound" => None,
                _ if c.to == number => Some(c.from),
                _ => None,
            })
        })
        .unwrap_or_default();
    let mut html =
        format!("<p><a href='/'>&larr; All phones</a></p><h1>{}</h1><div class='card thread'>", esc(&number));
    for m in &thread {
        let class = if m.direction == "inbound" { "out" } else { "in" };
        html.push_str(&format!("<div class='bubble {class}'>{}</div>", esc(&m.body)));
        if m.direction != "inbound" {
            html.push_str(&format!(
                "<div class=muted style='align-self:flex-start'>{} · {}</div>",
                esc(&m.status),
                esc(&m.sid)
            ));
        }
    }
    if thread.is_empty() {
        html.push_str("<div class=muted>No texts with this phone yet.</div>");
    }
    html.push_str(&format!(
        "</div><form method=post action='/phones/{n}'><input name=to value='{b}' placeholder='Business number' style='max-width:170px'><input name=body placeholder='Type a reply' autofocus><button>Send</button></form>",
        n = esc(&number),
        b = esc(&business)
    ));
    html.push_str(&voice::dial_form_html(&number, &business));
    html.push_str(&s.calls_html(&number));
    page(&number, &html)
}

#[derive(Deserialize)]
struct PhoneSend {
    to: String,
    body: String,
}

async fn phone_send(
    State(s): State<TwilioStandin>,
    Path(number): Path<String>,
    Form(form): Form<PhoneSend>,
) -> Response {
    match s.reply(&number, form.to.trim(), &form.body).await {
        Ok(_) => Redirect::to(&format!("/phones/{}", number.replace('+', "%2B"))).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, page("Not delivered", &format!("<div class=card>{}</div>", esc(&e))))
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_twilios_published_example() {
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675310"),
            ("Digits", "1234"),
            ("From", "+14158675310"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &params),
            "GvWf1cFY/Q7PnoempGyD5oXAezc="
        );
    }

    #[test]
    fn segment_counts() {
        assert_eq!(segments("hello"), 1);
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        // é is in the GSM alphabet (7-bit); ç is not, so its text goes as UCS-2.
        assert_eq!(segments(&"é".repeat(71)), 1);
        assert_eq!(segments(&"ç".repeat(71)), 2);
    }
}
