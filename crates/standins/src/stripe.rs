//! A Stripe-compatible stand-in for one-off invoice payments: Checkout Sessions
//! (`/v1/checkout/sessions`: create, fetch, expire), PaymentIntents (fetch) and refunds, with
//! Stripe's bracket-notation form bodies, JSON shapes, error bodies and idempotency keys; a
//! hosted checkout page (`/c/pay/{id}`) that takes Stripe's test cards; and webhook events
//! signed with `Stripe-Signature`, delivered in order from a background task with retries, and
//! on request duplicated, reordered or resent. Test controls (`/_standin/...` and the same
//! methods in Rust) pay, fail, expire and refund without a browser.
//!
//! Wire format: <https://docs.stripe.com/api/checkout/sessions/create>,
//! <https://docs.stripe.com/api/idempotent_requests>, <https://docs.stripe.com/api/errors>,
//! <https://docs.stripe.com/webhooks#verify-manually> and <https://docs.stripe.com/testing>. The
//! signature code here is written independently of the app's, so a test that passes through
//! both checks the algorithm, not one implementation against itself.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// The API version events claim (the app pins the same with `Stripe-Version`).
pub const API_VERSION: &str = "2024-06-20";

/// Waits before the second and third delivery attempts of a webhook.
const RETRY_BACKOFF: [Duration; 2] = [Duration::from_millis(200), Duration::from_secs(1)];

/// One webhook delivery: an event (or a duplicate or resend of one) and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub event_id: String,
    pub event_type: String,
    /// The last HTTP status the receiver answered; `None` if it could not be reached (or no
    /// webhook URL was set).
    pub status: Option<u16>,
    pub attempts: u32,
}

#[derive(Clone)]
pub struct StripeStandin {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

struct Inner {
    secret_key: String,
    webhook: Mutex<Webhook>,
    /// Taken before `store` by requests that carry an `Idempotency-Key`, and held while they
    /// run, so a retry racing the first request waits for its answer.
    idempotency: Mutex<HashMap<String, Cached>>,
    store: Mutex<Store>,
    outbox: Mutex<Outbox>,
    /// Every event emitted, oldest first.
    events: Mutex<Vec<Value>>,
    /// Wakes the delivery task (a stored permit, so no wake-up is lost).
    wake: Notify,
    /// Signals `settled` waiters when the outbox empties.
    idle: Notify,
    clock: Mutex<Option<Timestamp>>,
    fail_next_api: Mutex<VecDeque<u16>>,
    http: reqwest::Client,
}

struct Webhook {
    url: Option<String>,
    /// Newest last; two while a rotation is under way.
    secrets: Vec<String>,
}

/// The first answer given for an idempotency key, with what it was asked.
struct Cached {
    route: String,
    params: Params,
    body: Value,
}

#[derive(Default)]
struct Outbox {
    queue: VecDeque<Value>,
    /// Events emitted while holding, released in reverse.
    held: Vec<Value>,
    holding: bool,
    in_flight: bool,
    /// Extra copies of the next event to deliver.
    extra_copies: u32,
    deliveries: Vec<Delivery>,
}

#[derive(Default)]
struct Store {
    sessions: Vec<Session>,
    payments: Vec<Payment>,
}

struct Session {
    id: String,
    created: i64,
    expires_at: i64,
    currency: String,
    items: Vec<LineItem>,
    success_url: String,
    cancel_url: Option<String>,
    client_reference_id: Option<String>,
    customer_email: Option<String>,
    metadata: Map<String, Value>,
    /// `payment_intent_data[metadata]`, copied onto the PaymentIntent when paid.
    intent_metadata: Map<String, Value>,
    /// `open`, `complete` or `expired`.
    status: &'static str,
    /// `unpaid` or `paid`.
    payment_status: &'static str,
    payment_intent: Option<String>,
    paid_email: Option<String>,
}

struct LineItem {
    name: String,
    unit_amount: i64,
    quantity: i64,
}

/// A PaymentIntent and its one charge.
struct Payment {
    intent_id: String,
    charge_id: String,
    created: i64,
    amount: i64,
    currency: String,
    metadata: Map<String, Value>,
    /// The PaymentIntent's status: `succeeded`, `processing` (asynchronous payment under way)
    /// or `requires_payment_method` (it failed).
    status: &'static str,
    refunds: Vec<Refund>,
}

struct Refund {
    id: String,
    created: i64,
    amount: i64,
    metadata: Map<String, Value>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Random base62 text, as in Stripe's ids.
fn random_id(n: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = vec![0u8; n];
    rand::fill(&mut bytes[..]);
    bytes.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect()
}

/// `Stripe-Signature` for `body` sent at unix time `t`, signed with `secret` as Stripe signs:
/// hex HMAC-SHA256 of `"{t}.{body}"`.
pub fn signature_header(secret: &str, t: i64, body: &[u8]) -> String {
    signed_with(&[secret.to_string()], t, body)
}

/// One `v1=` entry per secret (two while a secret is being rotated).
fn signed_with(secrets: &[String], t: i64, body: &[u8]) -> String {
    let mut header = format!("t={t}");
    for secret in secrets.iter().rev() {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { continue };
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        header.push_str(&format!(",v1={hex}"));
    }
    header
}

// ---------------------------------------------------------------------------------------------
// Errors

/// An error in Stripe's shape: `{"error":{"type","code","message","param"}}`, absent fields
/// left out as Stripe does.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    kind: &'static str,
    code: Option<&'static str>,
    message: String,
    param: Option<String>,
}

impl ApiError {
    fn invalid(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            code: None,
            message: message.into(),
            param: None,
        }
    }
    fn param(param: &str, code: Option<&'static str>, message: impl Into<String>) -> ApiError {
        ApiError { code, param: Some(param.to_string()), ..ApiError::invalid(message) }
    }
    fn missing(param: &str) -> ApiError {
        ApiError::param(param, Some("parameter_missing"), format!("Missing required param: {param}."))
    }
    fn no_such(kind: &str, param: &str, id: &str) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            ..ApiError::param(param, Some("resource_missing"), format!("No such {kind}: '{id}'"))
        }
    }
    fn unauthorized(message: String) -> ApiError {
        ApiError { status: StatusCode::UNAUTHORIZED, ..ApiError::invalid(message) }
    }
    fn server(status: StatusCode) -> ApiError {
        ApiError {
            status,
            kind: "api_error",
            code: None,
            message: "An unexpected error occurred on Stripe's end (injected by the stand-in).".into(),
            param: None,
        }
    }
    fn body(&self) -> Value {
        let mut error = json!({ "type": self.kind, "message": self.message });
        if let Some(code) = self.code {
            error["code"] = json!(code);
        }
        if let Some(param) = &self.param {
            error["param"] = json!(param);
        }
        json!({ "error": error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

// ---------------------------------------------------------------------------------------------
// Bracket-notation form bodies

/// A form value in Stripe's bracket notation: `a[b][0][c]=v` nests maps (arrays are maps keyed
/// by index; `a[]` appends).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Param {
    Value(String),
    Map(Params),
}

type Params = BTreeMap<String, Param>;

/// The deepest nesting accepted (Stripe's deepest parameters have five levels).
const MAX_DEPTH: usize = 8;

/// Parses a form body into a tree; a key used both as a value and as a map is an error.
fn parse_form(body: &[u8]) -> Result<Params, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|_| "Invalid request body: not a form.".to_string())?;
    let mut root = Params::new();
    for (key, value) in pairs {
        let path = split_key(&key).ok_or_else(|| format!("Invalid parameter name: {key}"))?;
        insert(&mut root, &path, value).map_err(|()| format!("Invalid parameter: {key} conflicts with another"))?;
    }
    Ok(root)
}

/// `a[b][c]` -> `["a", "b", "c"]`; none for a malformed name or one nested over
/// [`MAX_DEPTH`] deep (which also bounds the recursion in [`insert`]).
fn split_key(key: &str) -> Option<Vec<&str>> {
    let (head, mut rest) = key.split_once('[').map_or((key, ""), |(h, r)| (h, r));
    if head.is_empty() {
        return None;
    }
    let mut path = vec![head];
    if !key.contains('[') {
        return Some(path);
    }
    loop {
        let (segment, after) = rest.split_once(']')?;
        path.push(segment);
        if path.len() > MAX_DEPTH {
            return None;
        }
        if after.is_empty() {
            return Some(path);
        }
        rest = after.strip_prefix('[')?;
    }
}

fn insert(map: &mut Params, path: &[&str], value: String) -> Result<(), ()> {
    let Some((first, rest)) = path.split_first() else { return Err(()) };
    let key = if first.is_empty() { map.len().to_string() } else { first.to_string() };
    if rest.is_empty() {
        return match map.get(&key) {
            Some(Param::Map(_)) => Err(()),
            _ => {
                map.insert(key, Param::Value(value));
                Ok(())
            }
        };
    }
    match map.entry(key).or_insert_with(|| Param::Map(Params::new())) {
        Param::Map(inner) => insert(inner, rest, value),
        Param::Value(_) => Err(()),
    }
}

/// A view of one level of the form, naming parameters in errors by their full bracket path.
struct Fields<'a> {
    map: &'a Params,
    prefix: String,
}

impl<'a> Fields<'a> {
    fn top(map: &'a Params) -> Fields<'a> {
        Fields { map, prefix: String::new() }
    }
    fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() { key.to_string() } else { format!("{}[{key}]", self.prefix) }
    }
    fn text(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Param::Value(v)) => Ok(Some(v.as_str())),
            Some(Param::Map(_)) => {
                let name = self.name(key);
                Err(ApiError::param(&name, None, format!("Invalid string: {name} must be a string")))
            }
        }
    }
    fn required(&self, key: &str) -> Result<&'a str, ApiError> {
        self.text(key)?.filter(|v| !v.is_empty()).ok_or_else(|| ApiError::missing(&self.name(key)))
    }
    fn integer(&self, key: &str) -> Result<Option<i64>, ApiError> {
        let Some(raw) = self.text(key)?.filter(|v| !v.is_empty()) else { return Ok(None) };
        raw.parse().map(Some).map_err(|_| {
            ApiError::param(&self.name(key), Some("parameter_invalid_integer"), format!("Invalid integer: {raw}"))
        })
    }
    fn positive(&self, key: &str) -> Result<i64, ApiError> {
        match self.integer(key)? {
            None => Err(ApiError::missing(&self.name(key))),
            Some(n) if n > 0 => Ok(n),
            Some(n) => Err(ApiError::param(
                &self.name(key),
                Some("parameter_invalid_integer"),
                format!("Invalid positive integer: {n}"),
            )),
        }
    }
    /// The map under `key`; an empty value (`metadata=`) counts as none.
    fn nested(&self, key: &str) -> Result<Option<Fields<'a>>, ApiError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Param::Value(v)) if v.is_empty() => Ok(None),
            Some(Param::Map(map)) => Ok(Some(Fields { map, prefix: self.name(key) })),
            Some(Param::Value(_)) => {
                let name = self.name(key);
                Err(ApiError::param(&name, None, format!("Invalid object: {name} must be a hash")))
            }
        }
    }
    /// `metadata[k]=v` pairs (values must be strings).
    fn metadata(&self, key: &str) -> Result<Map<String, Value>, ApiError> {
        let Some(fields) = self.nested(key)? else { return Ok(Map::new()) };
        let mut out = Map::new();
        for k in fields.map.keys() {
            out.insert(k.clone(), json!(fields.required(k)?));
        }
        Ok(out)
    }
    fn reject_unknown(&self, known: &[&str]) -> Result<(), ApiError> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => {
                let name = self.name(k);
                Err(ApiError::param(&name, Some("parameter_unknown"), format!("Received unknown parameter: {name}")))
            }
            None => Ok(()),
        }
    }
}

/// Top-level parameters of a Checkout Session the stand-in reads, and a few it accepts and
/// ignores because they change nothing here.
const SESSION_PARAMS: &[&str] = &[
    "mode",
    "line_items",
    "success_url",
    "cancel_url",
    "client_reference_id",
    "customer_email",
    "metadata",
    "payment_intent_data",
    "expires_at",
    "expand",
    "locale",
    "payment_method_types",
    "submit_type",
];

fn line_items(f: &Fields) -> Result<(String, Vec<LineItem>), ApiError> {
    let items = f.nested("line_items")?.ok_or_else(|| ApiError::missing("line_items"))?;
    let mut indexed = Vec::new();
    for key in items.map.keys() {
        let index: usize = key
            .parse()
            .map_err(|_| ApiError::param("line_items", None, "Invalid array: line_items must be an array"))?;
        indexed.push((index, key));
    }
    indexed.sort();
    let mut currency: Option<String> = None;
    let mut out = Vec::new();
    for (_, key) in indexed {
        let item = items.nested(key)?.ok_or_else(|| ApiError::missing(&items.name(key)))?;
        let price = item.nested("price_data")?.ok_or_else(|| ApiError::missing(&item.name("price_data")))?;
        let this = price.required("currency")?.to_ascii_lowercase();
        if this.len() != 3 || !this.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(ApiError::param(&price.name("currency"), None, format!("Invalid currency: {this}")));
        }
        if currency.as_ref().is_some_and(|c| *c != this) {
            return Err(ApiError::param(&price.name("currency"), None, "All line items must use the same currency."));
        }
        let unit_amount = price.positive("unit_amount")?;
        let product = price.nested("product_data")?.ok_or_else(|| ApiError::missing(&price.name("product_data")))?;
        let name = product.required("name")?.to_string();
        let quantity = item.positive("quantity")?;
        currency = Some(this);
        out.push(LineItem { name, unit_amount, quantity });
    }
    let currency = currency.ok_or_else(|| ApiError::missing("line_items"))?;
    Ok((currency, out))
}

fn url_param(f: &Fields, key: &str, value: &str) -> Result<String, ApiError> {
    let scheme = value.starts_with("http://") || value.starts_with("https://");
    if scheme && value.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(value.to_string())
    } else {
        Err(ApiError::param(&f.name(key), Some("url_invalid"), "Not a valid URL"))
    }
}

fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    s.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !s.contains(char::is_whitespace))
}

/// A new open Checkout Session from `POST /v1/checkout/sessions`.
fn session_from(p: &Params, now: i64) -> Result<Session, ApiError> {
    let f = Fields::top(p);
    f.reject_unknown(SESSION_PARAMS)?;
    let mode = f.required("mode")?;
    if mode != "payment" {
        return Err(ApiError::param("mode", None, format!("The stand-in supports mode=payment only, not {mode}.")));
    }
    let success_url = url_param(&f, "success_url", f.required("success_url")?)?;
    let (currency, items) = line_items(&f)?;
    let cancel_url = match f.text("cancel_url")?.filter(|v| !v.is_empty()) {
        Some(u) => Some(url_param(&f, "cancel_url", u)?),
        None => None,
    };
    let customer_email = f.text("customer_email")?.filter(|v| !v.is_empty()).map(str::to_string);
    if let Some(email) = customer_email.as_deref().filter(|e| !looks_like_email(e)) {
        return Err(ApiError::param(
            "customer_email",
            Some("email_invalid"),
            format!("Invalid email address: {email}"),
        ));
    }
    let expires_at = match f.integer("expires_at")? {
        None => now + 24 * 3600,
        Some(t) if t < now + 30 * 60 => {
            return Err(ApiError::param(
                "expires_at",
                None,
                "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
            ));
        }
        Some(t) if t > now + 24 * 3600 => {
            return Err(ApiError::param(
                "expires_at",
                None,
                "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            ));
        }
        Some(t) => t,
    };
    let intent_metadata = match f.nested("payment_intent_data")? {
        Some(pid) => pid.metadata("metadata")?,
        None => Map::new(),
    };
    Ok(Session {
        id: format!("cs_test_{}", random_id(58)),
        created: now,
        expires_at,
        currency,
        items,
        success_url,
        cancel_url,
        client_reference_id: f.text("client_reference_id")?.filter(|v| !v.is_empty()).map(str::to_string),
        customer_email,
        metadata: f.metadata("metadata")?,
        intent_metadata,
        status: "open",
        payment_status: "unpaid",
        payment_intent: None,
        paid_email: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Resources as JSON

/// Why a session can no longer be paid (410 expired, 409 already paid), if it cannot.
fn closed(s: &Session) -> Option<ApiError> {
    let (status, message) = match s.status {
        "expired" => (StatusCode::GONE, "This checkout session has expired."),
        "complete" => (StatusCode::CONFLICT, "This checkout session has already been paid."),
        _ => return None,
    };
    Some(ApiError { status, ..ApiError::invalid(message) })
}

impl Session {
    fn amount_total(&self) -> i64 {
        self.items.iter().map(|i| i.unit_amount.saturating_mul(i.quantity)).fold(0, i64::saturating_add)
    }

    fn json(&self, base: &str) -> Value {
        json!({
            "id": self.id,
            "object": "checkout.session",
            "amount_subtotal": self.amount_total(),
            "amount_total": self.amount_total(),
            "cancel_url": self.cancel_url,
            "client_reference_id": self.client_reference_id,
            "created": self.created,
            "currency": self.currency,
            "customer": null,
            "customer_details": self.paid_email.as_ref().map(|e| json!({ "email": e })),
            "customer_email": self.customer_email,
            "expires_at": self.expires_at,
            "livemode": false,
            "metadata": self.metadata,
            "mode": "payment",
            "payment_intent": self.payment_intent,
            "payment_status": self.payment_status,
            "status": self.status,
            "success_url": self.success_url,
            // Stripe gives the URL only while the session can still be paid.
            "url": (self.status == "open").then(|| format!("{base}/c/pay/{}", self.id)),
        })
    }
}

impl Payment {
    fn refunded(&self) -> i64 {
        self.refunds.iter().map(|r| r.amount).sum()
    }

    fn intent_json(&self) -> Value {
        json!({
            "id": self.intent_id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_received": if self.status == "succeeded" { self.amount } else { 0 },
            "created": self.created,
            "currency": self.currency,
            "latest_charge": self.charge_id,
            "livemode": false,
            "metadata": self.metadata,
            "status": self.status,
        })
    }

    fn charge_json(&self) -> Value {
        let status = match self.status {
            "succeeded" => "succeeded",
            "processing" => "pending",
            _ => "failed",
        };
        let refunds: Vec<Value> = self.refunds.iter().rev().map(|r| self.refund_json(r)).collect();
        json!({
            "id": self.charge_id,
            "object": "charge",
            "amount": self.amount,
            "amount_captured": if status == "failed" { 0 } else { self.amount },
            "amount_refunded": self.refunded(),
            "captured": status != "failed",
            "created": self.created,
            "currency": self.currency,
            "livemode": false,
            "metadata": self.metadata,
            "paid": status == "succeeded",
            "payment_intent": self.intent_id,
            "refunded": self.refunded() >= self.amount,
            "refunds": {
                "object": "list",
                "data": refunds,
                "has_more": false,
                "total_count": self.refunds.len(),
                "url": format!("/v1/charges/{}/refunds", self.charge_id),
            },
            "status": status,
        })
    }

    fn refund_json(&self, r: &Refund) -> Value {
        json!({
            "id": r.id,
            "object": "refund",
            "amount": r.amount,
            "charge": self.charge_id,
            "created": r.created,
            "currency": self.currency,
            "metadata": r.metadata,
            "payment_intent": self.intent_id,
            "reason": null,
            "status": "succeeded",
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The stand-in

impl StripeStandin {
    /// Starts the stand-in on `bind` (port 0 for any free port) with a fresh API key and
    /// webhook secret, and its webhook delivery task. As for the Twilio stand-in, a rustls
    /// crypto provider must be installed first (the app and the tests install ring's).
    pub async fn start(bind: SocketAddr) -> std::io::Result<StripeStandin> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(std::io::Error::other)?;
        let inner = Arc::new(Inner {
            secret_key: format!("sk_test_{}", random_id(24)),
            webhook: Mutex::new(Webhook { url: None, secrets: vec![format!("whsec_{}", random_id(32))] }),
            idempotency: Mutex::new(HashMap::new()),
            store: Mutex::new(Store::default()),
            outbox: Mutex::new(Outbox::default()),
            events: Mutex::new(Vec::new()),
            wake: Notify::new(),
            idle: Notify::new(),
            clock: Mutex::new(None),
            fail_next_api: Mutex::new(VecDeque::new()),
            http,
        });
        let standin = StripeStandin { inner, addr };
        let app = standin.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "stripe stand-in stopped");
            }
        });
        tokio::spawn(standin.clone().deliver_forever());
        Ok(standin)
    }

    /// `http://127.0.0.1:PORT`: the API base (without `/v1`) and the hosted pages' origin.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn secret_key(&self) -> &str {
        &self.inner.secret_key
    }
    /// The newest webhook signing secret.
    pub fn webhook_secret(&self) -> String {
        lock(&self.inner.webhook).secrets.last().cloned().unwrap_or_default()
    }
    /// Where events are POSTed: the app's Stripe webhook URL.
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        lock(&self.inner.webhook).url = Some(url.into());
    }
    /// Starts a rotation: returns a new secret; until [`Self::finish_rotation`], events carry a
    /// `v1=` signature with the new secret and another with the previous one, as Stripe's do.
    pub fn rotate_webhook_secret(&self) -> String {
        let secret = format!("whsec_{}", random_id(32));
        let mut webhook = lock(&self.inner.webhook);
        let previous = webhook.secrets.pop();
        webhook.secrets = previous.into_iter().chain([secret.clone()]).collect();
        secret
    }
    /// Ends a rotation: events are signed with the newest secret only.
    pub fn finish_rotation(&self) {
        let mut webhook = lock(&self.inner.webhook);
        let n = webhook.secrets.len();
        webhook.secrets.drain(..n.saturating_sub(1));
    }
    /// Fixes the stand-in's clock (`None`: the real time again). It dates objects and events,
    /// signs webhooks, and expires sessions.
    pub fn set_now(&self, now: Option<Timestamp>) {
        *lock(&self.inner.clock) = now;
    }
    fn now_ts(&self) -> Timestamp {
        lock(&self.inner.clock).unwrap_or_else(Timestamp::now)
    }
    fn now(&self) -> i64 {
        self.now_ts().as_second()
    }
    /// The next API call answers `status` with Stripe's `api_error` body. It is not kept for
    /// its idempotency key, so a retry with the same key goes through.
    pub fn fail_next_api(&self, status: u16) {
        lock(&self.inner.fail_next_api).push_back(status);
    }

    /// Every Checkout Session, oldest first.
    pub fn sessions(&self) -> Vec<Value> {
        self.sweep();
        lock(&self.inner.store).sessions.iter().map(|s| s.json(&self.base_url())).collect()
    }
    /// Every event emitted, oldest first.
    pub fn events(&self) -> Vec<Value> {
        lock(&self.inner.events).clone()
    }
    /// Every webhook delivery finished, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.inner.outbox).deliveries.clone()
    }

    /// Pays the session as the test card 4242 4242 4242 4242 would.
    pub fn complete(&self, session_id: &str) -> Result<Value, String> {
        self.sweep();
        self.pay(session_id, None, false).map_err(|e| e.message)
    }
    /// Pays the session with an asynchronous method: it completes `unpaid` until
    /// [`Self::async_succeed`] or [`Self::async_fail`].
    pub fn complete_async(&self, session_id: &str) -> Result<Value, String> {
        self.sweep();
        self.pay(session_id, None, true).map_err(|e| e.message)
    }
    /// The asynchronous payment of a completed session clears.
    pub fn async_succeed(&self, session_id: &str) -> Result<Value, String> {
        self.settle_async(session_id, true).map_err(|e| e.message)
    }
    /// The asynchronous payment of a completed session fails.
    pub fn async_fail(&self, session_id: &str) -> Result<Value, String> {
        self.settle_async(session_id, false).map_err(|e| e.message)
    }
    /// Expires an open session now (`checkout.session.expired`).
    pub fn expire(&self, session_id: &str) -> Result<Value, String> {
        self.sweep();
        self.expire_session(session_id).map_err(|e| e.message)
    }
    /// Refunds `amount` (default: what remains) of a payment, as `POST /v1/refunds` would.
    pub fn refund(&self, payment_intent: &str, amount: Option<i64>) -> Result<Value, String> {
        self.refund_payment(payment_intent, amount, Map::new()).map_err(|e| e.message)
    }

    /// The next event is delivered `n` extra times, with the same event id.
    pub fn duplicate_next(&self, n: u32) {
        lock(&self.inner.outbox).extra_copies = n;
    }
    /// Keeps events emitted from now on until [`Self::release_reversed`].
    pub fn hold(&self) {
        lock(&self.inner.outbox).holding = true;
    }
    /// Delivers the held events, newest first, and stops holding.
    pub fn release_reversed(&self) {
        let mut outbox = lock(&self.inner.outbox);
        outbox.holding = false;
        let held: Vec<Value> = outbox.held.drain(..).rev().collect();
        outbox.queue.extend(held);
        drop(outbox);
        self.inner.wake.notify_one();
    }
    /// Delivers an emitted event again. Returns whether it exists.
    pub fn resend(&self, event_id: &str) -> bool {
        let event = lock(&self.inner.events).iter().find(|e| e["id"] == event_id).cloned();
        let Some(event) = event else { return false };
        lock(&self.inner.outbox).queue.push_back(event);
        self.inner.wake.notify_one();
        true
    }

    /// Waits until no event is queued or being delivered (held events do not count).
    pub async fn settled(&self) {
        loop {
            let notified = self.inner.idle.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            {
                let outbox = lock(&self.inner.outbox);
                if outbox.queue.is_empty() && !outbox.in_flight {
                    return;
                }
            }
            notified.await;
        }
    }

    /// The stand-in's routes (API, hosted page, test controls), for mounting or serving.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/checkout/sessions/{id}", get(fetch_session))
            .route("/v1/checkout/sessions/{id}/expire", post(expire_session))
            .route("/v1/payment_intents/{id}", get(fetch_intent))
            .route("/v1/refunds", post(create_refund))
            .route("/c/pay/{id}", get(checkout_page).post(checkout_submit))
            .route("/_standin/sessions", get(control_sessions))
            .route("/_standin/sessions/{id}/{action}", post(control_session))
            .route("/_standin/payment_intents/{id}/refund", post(control_refund))
            .route("/_standin/events", get(control_events))
            .route("/_standin/events/{id}/resend", post(control_resend))
            .route("/_standin/deliveries", get(control_deliveries))
            .route("/_standin/{action}", post(control_outbox))
            .with_state(self.clone())
    }

    // -- State changes. Each emits its events while the store is locked, so the order of
    // -- events is the order of changes.

    fn emit(&self, kind: &str, object: Value) {
        let event = json!({
            "id": format!("evt_{}", random_id(24)),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "data": { "object": object },
            "livemode": false,
            "pending_webhooks": 1,
            "request": { "id": null, "idempotency_key": null },
            "type": kind,
        });
        lock(&self.inner.events).push(event.clone());
        let mut outbox = lock(&self.inner.outbox);
        let copies = 1 + std::mem::take(&mut outbox.extra_copies);
        for _ in 0..copies {
            if outbox.holding {
                outbox.held.push(event.clone());
            } else {
                outbox.queue.push_back(event.clone());
            }
        }
        drop(outbox);
        self.inner.wake.notify_one();
    }

    /// Expires open sessions whose `expires_at` has passed, as Stripe does on its own.
    fn sweep(&self) {
        let now = self.now();
        let mut store = lock(&self.inner.store);
        for s in store.sessions.iter_mut().filter(|s| s.status == "open" && s.expires_at <= now) {
            s.status = "expired";
            self.emit("checkout.session.expired", s.json(&self.base_url()));
        }
    }

    fn create(&self, p: &Params) -> Result<Value, ApiError> {
        let session = session_from(p, self.now())?;
        let json = session.json(&self.base_url());
        lock(&self.inner.store).sessions.push(session);
        Ok(json)
    }

    fn session_json(&self, id: &str) -> Result<Value, ApiError> {
        let store = lock(&self.inner.store);
        let s = store.sessions.iter().find(|s| s.id == id);
        s.map(|s| s.json(&self.base_url())).ok_or_else(|| ApiError::no_such("checkout.session", "session", id))
    }

    fn intent_json(&self, id: &str) -> Result<Value, ApiError> {
        let store = lock(&self.inner.store);
        let p = store.payments.iter().find(|p| p.intent_id == id);
        p.map(Payment::intent_json).ok_or_else(|| ApiError::no_such("payment_intent", "intent", id))
    }

    fn expire_session(&self, id: &str) -> Result<Value, ApiError> {
        let mut store = lock(&self.inner.store);
        let s = store.sessions.iter_mut().find(|s| s.id == id);
        let s = s.ok_or_else(|| ApiError::no_such("checkout.session", "session", id))?;
        if s.status != "open" {
            return Err(ApiError::invalid(format!(
                "Only Checkout Sessions with a status in [\"open\"] can be expired. This session's status is {}.",
                s.status
            )));
        }
        s.status = "expired";
        let json = s.json(&self.base_url());
        self.emit("checkout.session.expired", json.clone());
        Ok(json)
    }

    /// Pays an open session: a PaymentIntent and its charge, succeeded (or, `asynchronous`,
    /// processing), then the events Stripe sends for it. Errors carry the status the hosted
    /// page answers with (404, 410 expired, 409 already paid).
    fn pay(&self, id: &str, email: Option<&str>, asynchronous: bool) -> Result<Value, ApiError> {
        let now = self.now();
        let mut guard = lock(&self.inner.store);
        let store = &mut *guard;
        let s = store.sessions.iter_mut().find(|s| s.id == id);
        let s = s.ok_or_else(|| ApiError::no_such("checkout.session", "session", id))?;
        if let Some(closed) = closed(s) {
            return Err(closed);
        }
        let payment = Payment {
            intent_id: format!("pi_{}", random_id(24)),
            charge_id: format!("ch_{}", random_id(24)),
            created: now,
            amount: s.amount_total(),
            currency: s.currency.clone(),
            metadata: s.intent_metadata.clone(),
            status: if asynchronous { "processing" } else { "succeeded" },
            refunds: Vec::new(),
        };
        s.status = "complete";
        s.payment_status = if asynchronous { "unpaid" } else { "paid" };
        s.payment_intent = Some(payment.intent_id.clone());
        s.paid_email = email.map(str::to_string).or_else(|| s.customer_email.clone());
        let json = s.json(&self.base_url());
        self.emit("checkout.session.completed", json.clone());
        if !asynchronous {
            self.emit("payment_intent.succeeded", payment.intent_json());
            self.emit("charge.succeeded", payment.charge_json());
        }
        store.payments.push(payment);
        Ok(json)
    }

    fn settle_async(&self, id: &str, succeeded: bool) -> Result<Value, ApiError> {
        let mut guard = lock(&self.inner.store);
        let store = &mut *guard;
        let s = store.sessions.iter_mut().find(|s| s.id == id);
        let s = s.ok_or_else(|| ApiError::no_such("checkout.session", "session", id))?;
        let p = store.payments.iter_mut().find(|p| Some(&p.intent_id) == s.payment_intent.as_ref());
        let Some(p) = p.filter(|p| p.status == "processing") else {
            return Err(ApiError::invalid(format!("Checkout Session {id} has no asynchronous payment under way.")));
        };
        if succeeded {
            p.status = "succeeded";
            s.payment_status = "paid";
            self.emit("checkout.session.async_payment_succeeded", s.json(&self.base_url()));
            self.emit("payment_intent.succeeded", p.intent_json());
            self.emit("charge.succeeded", p.charge_json());
        } else {
            p.status = "requires_payment_method";
            self.emit("checkout.session.async_payment_failed", s.json(&self.base_url()));
            self.emit("payment_intent.payment_failed", p.intent_json());
            self.emit("charge.failed", p.charge_json());
        }
        Ok(s.json(&self.base_url()))
    }

    /// Refunds part or the rest of a payment, found by PaymentIntent or charge id.
    fn refund_payment(&self, id: &str, amount: Option<i64>, metadata: Map<String, Value>) -> Result<Value, ApiError> {
        let now = self.now();
        let mut store = lock(&self.inner.store);
        let p = store.payments.iter_mut().find(|p| p.intent_id == id || p.charge_id == id);
        let p = p.ok_or_else(|| match id.starts_with("ch_") {
            true => ApiError::no_such("charge", "charge", id),
            false => ApiError::no_such("payment_intent", "payment_intent", id),
        })?;
        if p.status != "succeeded" {
            return Err(ApiError::invalid(format!(
                "This PaymentIntent ({}) does not have a successful charge to refund.",
                p.intent_id
            )));
        }
        let remaining = p.amount - p.refunded();
        if remaining <= 0 {
            return Err(ApiError::param(
                "charge",
                Some("charge_already_refunded"),
                format!("Charge {} has already been refunded.", p.charge_id),
            ));
        }
        let amount = match amount {
            None => remaining,
            Some(a) if a <= 0 => {
                return Err(ApiError::param(
                    "amount",
                    Some("parameter_invalid_integer"),
                    format!("Invalid positive integer: {a}"),
                ));
            }
            Some(a) if a > remaining => {
                return Err(ApiError::param(
                    "amount",
                    Some("amount_too_large"),
                    format!(
                        "Refund amount ({}) is greater than unrefunded amount on charge ({}).",
                        format_amount(a, &p.currency),
                        format_amount(remaining, &p.currency)
                    ),
                ));
            }
            Some(a) => a,
        };
        let refund = Refund { id: format!("re_{}", random_id(24)), created: now, amount, metadata };
        let json = p.refund_json(&refund);
        p.refunds.push(refund);
        self.emit("charge.refunded", p.charge_json());
        self.emit("refund.created", json.clone());
        Ok(json)
    }

    // -- Webhook delivery

    async fn deliver_forever(self) {
        loop {
            let next = {
                let mut outbox = lock(&self.inner.outbox);
                let next = outbox.queue.pop_front();
                outbox.in_flight = next.is_some();
                next
            };
            let Some(event) = next else {
                self.inner.idle.notify_waiters();
                self.inner.wake.notified().await;
                continue;
            };
            let delivery = self.deliver(&event).await;
            let mut outbox = lock(&self.inner.outbox);
            outbox.deliveries.push(delivery);
            outbox.in_flight = false;
        }
    }

    /// POSTs one event, signed afresh for each attempt, retrying a failure after a short wait.
    async fn deliver(&self, event: &Value) -> Delivery {
        let mut delivery = Delivery {
            event_id: event["id"].as_str().unwrap_or_default().to_string(),
            event_type: event["type"].as_str().unwrap_or_default().to_string(),
            status: None,
            attempts: 0,
        };
        let Some(url) = lock(&self.inner.webhook).url.clone() else { return delivery };
        let body = serde_json::to_vec(event).unwrap_or_default();
        for wait in [Duration::ZERO].iter().chain(RETRY_BACKOFF.iter()) {
            tokio::time::sleep(*wait).await;
            delivery.attempts += 1;
            let signature = signed_with(&lock(&self.inner.webhook).secrets, self.now(), &body);
            let sent = self
                .inner
                .http
                .post(&url)
                .header("Stripe-Signature", signature)
                .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
                .header(header::USER_AGENT, "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
                .body(body.clone())
                .send()
                .await;
            delivery.status = sent.as_ref().ok().map(|r| r.status().as_u16());
            match sent {
                Ok(r) if r.status().is_success() => break,
                Ok(r) => tracing::warn!(status = %r.status(), url, "stripe stand-in webhook refused"),
                Err(e) => tracing::warn!(error = %e, url, "stripe stand-in webhook failed"),
            }
        }
        delivery
    }

    // -- The API's request handling

    /// Runs one API request: injected failure, authentication, the form body, the
    /// idempotency cache, then `op`. Every answer carries a `Request-Id`, and the
    /// `Idempotency-Key` it was sent with.
    async fn api(&self, req: Request, op: impl FnOnce(&Params) -> Result<Value, ApiError>) -> Response {
        let (parts, body) = req.into_parts();
        let answer = match axum::body::to_bytes(body, 1 << 20).await {
            Ok(body) => self.answer(&parts, &body, op),
            Err(_) => Err(ApiError::invalid("The request body could not be read.")),
        };
        let (status, body, replayed) = match answer {
            Ok((body, replayed)) => (StatusCode::OK, body, replayed),
            Err(e) => (e.status, e.body(), false),
        };
        let mut response = (status, axum::Json(body)).into_response();
        let out = response.headers_mut();
        if let Ok(id) = HeaderValue::from_str(&format!("req_{}", random_id(14))) {
            out.insert("request-id", id);
        }
        if let Some(key) = parts.headers.get("idempotency-key") {
            out.insert("idempotency-key", key.clone());
        }
        if replayed {
            out.insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }

    fn answer(
        &self,
        req: &Parts,
        body: &[u8],
        op: impl FnOnce(&Params) -> Result<Value, ApiError>,
    ) -> Result<(Value, bool), ApiError> {
        if let Some(status) = lock(&self.inner.fail_next_api).pop_front() {
            return Err(ApiError::server(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)));
        }
        self.authenticate(&req.headers)?;
        self.sweep();
        let params = parse_form(body).map_err(ApiError::invalid)?;
        let key = req.headers.get("idempotency-key").and_then(|v| v.to_str().ok());
        let Some(key) = key.filter(|_| req.method == Method::POST) else { return op(&params).map(|v| (v, false)) };
        if key.len() > 255 {
            return Err(ApiError::invalid("Idempotency-Key must be at most 255 characters long."));
        }
        let route = format!("{} {}", req.method, req.uri.path());
        let mut cache = lock(&self.inner.idempotency);
        if let Some(first) = cache.get(key) {
            if first.route == route && first.params == params {
                return Ok((first.body.clone(), true));
            }
            return Err(ApiError {
                kind: "idempotency_error",
                ..ApiError::invalid(format!(
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                ))
            });
        }
        // Only requests that ran are kept: Stripe does not keep a key whose request failed
        // validation (nor, here, one whose failure was injected).
        let body = op(&params)?;
        cache.insert(key.to_string(), Cached { route, params, body: body.clone() });
        Ok((body, false))
    }

    /// `Authorization: Bearer <key>`, or Basic with the key as the user name.
    fn authenticate(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return Err(ApiError::unauthorized(
                "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').".into(),
            ));
        };
        let key = if let Some(key) = auth.strip_prefix("Bearer ") {
            key.trim().to_string()
        } else if let Some(basic) = auth.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD.decode(basic.trim()).unwrap_or_default();
            String::from_utf8_lossy(&decoded).split(':').next().unwrap_or_default().to_string()
        } else {
            String::new()
        };
        if key == self.inner.secret_key {
            return Ok(());
        }
        Err(ApiError::unauthorized(format!("Invalid API Key provided: {}", redact(&key))))
    }
}

/// `sk_test_****abcd`: the key's kind, then only its last four characters.
fn redact(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let kind = key.match_indices('_').nth(1).map_or(0, |(i, _)| key[..=i].chars().count());
    let tail = chars.len().saturating_sub(4).max(kind);
    let kind: String = chars[..kind].iter().collect();
    let tail: String = chars[tail..].iter().collect();
    format!("{kind}****{tail}")
}

async fn create_session(State(s): State<StripeStandin>, req: Request) -> Response {
    s.api(req, |p| s.create(p)).await
}

async fn fetch_session(State(s): State<StripeStandin>, Path(id): Path<String>, req: Request) -> Response {
    s.api(req, |_| s.session_json(&id)).await
}

async fn expire_session(State(s): State<StripeStandin>, Path(id): Path<String>, req: Request) -> Response {
    s.api(req, |_| s.expire_session(&id)).await
}

async fn fetch_intent(State(s): State<StripeStandin>, Path(id): Path<String>, req: Request) -> Response {
    s.api(req, |_| s.intent_json(&id)).await
}

async fn create_refund(State(s): State<StripeStandin>, req: Request) -> Response {
    s.api(req, |p| {
        let f = Fields::top(p);
        f.reject_unknown(&["payment_intent", "charge", "amount", "metadata", "reason", "expand"])?;
        let id = match (f.text("payment_intent")?, f.text("charge")?) {
            (Some(pi), _) if !pi.is_empty() => pi,
            (_, Some(ch)) if !ch.is_empty() => ch,
            _ => return Err(ApiError::missing("payment_intent")),
        };
        s.refund_payment(id, f.integer("amount")?, f.metadata("metadata")?)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Test controls over HTTP (unauthenticated: the stand-in listens on loopback)

fn control_result(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn control_sessions(State(s): State<StripeStandin>) -> Response {
    axum::Json(s.sessions()).into_response()
}

async fn control_events(State(s): State<StripeStandin>) -> Response {
    axum::Json(s.events()).into_response()
}

async fn control_deliveries(State(s): State<StripeStandin>) -> Response {
    axum::Json(s.deliveries()).into_response()
}

/// `complete`, `complete_async`, `async_succeed`, `async_fail` or `expire` a session.
async fn control_session(State(s): State<StripeStandin>, Path((id, action)): Path<(String, String)>) -> Response {
    s.sweep();
    control_result(match action.as_str() {
        "complete" => s.pay(&id, None, false),
        "complete_async" => s.pay(&id, None, true),
        "async_succeed" => s.settle_async(&id, true),
        "async_fail" => s.settle_async(&id, false),
        "expire" => s.expire_session(&id),
        _ => return StatusCode::NOT_FOUND.into_response(),
    })
}

#[derive(Deserialize)]
struct AmountQuery {
    amount: Option<i64>,
}

/// `?amount=` (default: the rest).
async fn control_refund(
    State(s): State<StripeStandin>,
    Path(id): Path<String>,
    Query(q): Query<AmountQuery>,
) -> Response {
    control_result(s.refund_payment(&id, q.amount, Map::new()))
}

async fn control_resend(State(s): State<StripeStandin>, Path(id): Path<String>) -> Response {
    match s.resend(&id) {
        true => axum::Json(json!({ "resent": id })).into_response(),
        false => ApiError::no_such("event", "event", &id).into_response(),
    }
}

#[derive(Deserialize)]
struct OutboxQuery {
    n: Option<u32>,
    status: Option<u16>,
}

/// `duplicate_next?n=`, `hold`, `release_reversed`, `fail_next_api?status=`.
async fn control_outbox(
    State(s): State<StripeStandin>,
    Path(action): Path<String>,
    Query(q): Query<OutboxQuery>,
) -> Response {
    match action.as_str() {
        "duplicate_next" => s.duplicate_next(q.n.unwrap_or(1)),
        "hold" => s.hold(),
        "release_reversed" => s.release_reversed(),
        "fail_next_api" => s.fail_next_api(q.status.unwrap_or(500)),
        _ => return StatusCode::NOT_FOUND.into_response(),
    }
    axum::Json(json!({ "ok": true })).into_response()
}

// ---------------------------------------------------------------------------------------------
// The hosted checkout page

/// Currencies Stripe counts in whole units (no minor unit).
const ZERO_DECIMAL: &[&str] =
    &["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"];

/// `24900, "usd"` -> `$249.00`; `1234567, "eur"` -> `€12,345.67`; `500, "jpy"` -> `¥500`.
fn format_amount(amount: i64, currency: &str) -> String {
    let symbol = match currency {
        "usd" | "cad" | "aud" | "nzd" => "$".to_string(),
        "eur" => "€".to_string(),
        "gbp" => "£".to_string(),
        "jpy" => "¥".to_string(),
        other => format!("{} ", other.to_uppercase()),
    };
    let sign = if amount < 0 { "-" } else { "" };
    let amount = amount.unsigned_abs();
    let (units, cents) =
        if ZERO_DECIMAL.contains(&currency) { (amount, None) } else { (amount / 100, Some(amount % 100)) };
    let digits = units.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match cents {
        Some(c) => format!("{sign}{symbol}{grouped}.{c:02}"),
        None => format!("{sign}{symbol}{grouped}"),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

const PAGE_STYLE: &str = "*{box-sizing:border-box}body{font-family:system-ui,sans-serif;margin:0;background:#f6f9fc;color:#1a1f36}\
header{background:#fff;border-bottom:1px solid #e3e8ee;padding:12px 20px;font-weight:600}header span{background:#ffde92;color:#a04100;font-size:12px;border-radius:4px;padding:2px 6px;margin-left:8px}\
main{max-width:440px;margin:20px auto;padding:0 16px}.card{background:#fff;border:1px solid #e3e8ee;border-radius:12px;padding:20px}\
h1{font-size:32px;margin:4px 0 16px}.muted{color:#697386;font-size:14px}ul{list-style:none;padding:0;margin:0 0 20px}\
li{display:flex;justify-content:space-between;gap:12px;padding:6px 0;border-bottom:1px solid #f0f3f7}\
label{display:block;font-size:14px;font-weight:500;margin:14px 0 4px}input{width:100%;font:inherit;font-size:16px;padding:10px;border:1px solid #cfd7df;border-radius:6px}\
input[aria-invalid=true]{border-color:#df1b41}.row{display:flex;gap:12px}.row>div{flex:1}.error{color:#df1b41;font-size:14px;margin:4px 0 0}\
button{width:100%;margin-top:20px;font:inherit;font-size:16px;font-weight:600;background:#635bff;color:#fff;border:0;border-radius:6px;padding:12px;cursor:pointer}\
.cancel{display:block;text-align:center;margin-top:14px;color:#635bff}.hint{font-size:13px;color:#697386;margin-top:20px}";

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content='width=device-width,initial-scale=1'><link rel=icon href='data:,'>\
         <title>{t}</title><style>{PAGE_STYLE}</style></head><body><header>Checkout<span>TEST MODE</span></header><main>{body}</main></body></html>",
        t = esc(title)
    ))
}

fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    (status, page(title, &format!("<div class=card><h2>{}</h2><p class=muted>{}</p></div>", esc(title), esc(text))))
        .into_response()
}

/// What the customer typed on the hosted page.
#[derive(Deserialize, Default)]
struct PayForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    card_expiry: String,
    #[serde(default)]
    card_cvc: String,
}

#[derive(Default)]
struct PayErrors {
    email: Option<String>,
    card_number: Option<String>,
    card_expiry: Option<String>,
    card_cvc: Option<String>,
}

impl PayErrors {
    fn any(&self) -> bool {
        self.email.is_some() || self.card_number.is_some() || self.card_expiry.is_some() || self.card_cvc.is_some()
    }
}

/// What a well-formed test card does.
#[derive(Debug, PartialEq, Eq)]
enum CardOutcome {
    Succeeds,
    /// Completes the session unpaid; the payment clears or fails later.
    Asynchronous,
    Declined(&'static str),
}

/// Stripe's test cards (docs.stripe.com/testing); any other valid number is declined, as test
/// mode declines real cards.
fn card_outcome(digits: &str) -> CardOutcome {
    match digits {
        "4242424242424242" => CardOutcome::Succeeds,
        "4000000000000077" => CardOutcome::Asynchronous,
        "4000000000009995" => CardOutcome::Declined("Your card has insufficient funds."),
        "4000000000000002" => CardOutcome::Declined("Your card was declined."),
        _ => CardOutcome::Declined("Your card was declined. Your request was in test mode, but used a non test card."),
    }
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b.saturating_sub(b'0'));
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Checks the form field by field; on success, the card number's digits.
fn check_form(form: &PayForm, now: Timestamp) -> Result<String, PayErrors> {
    let mut errors = PayErrors::default();
    if !looks_like_email(&form.email) {
        errors.email = Some("Your email address is invalid.".into());
    }
    let digits: String = form.card_number.chars().filter(|c| !c.is_whitespace()).collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        errors.card_number = Some("Your card number is invalid.".into());
    } else if digits.len() < 13 {
        errors.card_number = Some("Your card number is incomplete.".into());
    } else if digits.len() > 19 || !luhn(&digits) {
        errors.card_number = Some("Your card number is invalid.".into());
    }
    errors.card_expiry = check_expiry(&form.card_expiry, now).err();
    let cvc = form.card_cvc.trim();
    if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        errors.card_cvc = Some("Your card's security code is incomplete.".into());
    }
    if errors.any() { Err(errors) } else { Ok(digits) }
}

/// `MM / YY`, `MM/YY`, `MMYY` or `MM / YYYY`, not in the past.
fn check_expiry(raw: &str, now: Timestamp) -> Result<(), String> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let (month, year) = match compact.split_once('/') {
        Some(parts) => parts,
        None if compact.len() == 4 => compact.split_at(2),
        None => return Err("Your card's expiration date is incomplete.".into()),
    };
    let incomplete = || "Your card's expiration date is incomplete.".to_string();
    let month: i16 = month.parse().map_err(|_| incomplete())?;
    let year: i16 = match year.len() {
        2 => 2000 + year.parse::<i16>().map_err(|_| incomplete())?,
        4 => year.parse().map_err(|_| incomplete())?,
        _ => return Err(incomplete()),
    };
    if !(1..=12).contains(&month) {
        return Err("Your card's expiration month is invalid.".into());
    }
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    if (year, month) < (today.year(), i16::from(today.month())) {
        return Err("Your card's expiration date is in the past.".into());
    }
    Ok(())
}

/// The session's data the page shows.
struct Summary {
    items: Vec<(String, String)>,
    total: String,
    customer_email: Option<String>,
    cancel_url: Option<String>,
    success_url: String,
}

fn field(id: &str, label: &str, value: &str, error: Option<&String>, attrs: &str) -> String {
    let (invalid, message) = match error {
        Some(e) => ("true", format!("<p class=error id={id}-error role=alert>{}</p>", esc(e))),
        None => ("false", String::new()),
    };
    format!(
        "<div><label for={id}>{label}</label><input id={id} name={id} value='{v}' aria-invalid={invalid} aria-describedby={id}-error {attrs}>{message}</div>",
        v = esc(value)
    )
}

fn checkout_html(id: &str, summary: &Summary, form: &PayForm, errors: &PayErrors) -> Html<String> {
    let mut html = format!("<div class=card><p class=muted>Pay</p><h1>{}</h1><ul>", esc(&summary.total));
    for (name, amount) in &summary.items {
        html.push_str(&format!("<li><span>{}</span><span>{}</span></li>", esc(name), esc(amount)));
    }
    html.push_str(&format!("</ul><form method=post action='/c/pay/{}' novalidate>", esc(id)));
    let email = if form.email.is_empty() { summary.customer_email.as_deref().unwrap_or("") } else { &form.email };
    let locked = if summary.customer_email.is_some() { "readonly" } else { "" };
    html.push_str(&field(
        "email",
        "Email",
        email,
        errors.email.as_ref(),
        &format!("type=email autocomplete=email {locked}"),
    ));
    html.push_str(&field(
        "card_number",
        "Card number",
        &form.card_number,
        errors.card_number.as_ref(),
        "inputmode=numeric autocomplete=cc-number placeholder='1234 1234 1234 1234'",
    ));
    html.push_str("<div class=row>");
    html.push_str(&field(
        "card_expiry",
        "Expiry",
        &form.card_expiry,
        errors.card_expiry.as_ref(),
        "inputmode=numeric autocomplete=cc-exp placeholder='MM / YY'",
    ));
    html.push_str(&field(
        "card_cvc",
        "CVC",
        &form.card_cvc,
        errors.card_cvc.as_ref(),
        "inputmode=numeric autocomplete=cc-csc placeholder=CVC",
    ));
    html.push_str(&format!("</div><button type=submit>Pay {}</button></form>", esc(&summary.total)));
    if let Some(cancel) = &summary.cancel_url {
        html.push_str(&format!("<a class=cancel href='{}'>Cancel</a>", esc(cancel)));
    }
    html.push_str(
        "<p class=hint>Test cards: 4242 4242 4242 4242 pays; 4000 0000 0000 0002 is declined; \
         4000 0000 0000 9995 has insufficient funds; 4000 0000 0000 0077 pays later (asynchronous). \
         Any future expiry, any CVC.</p></div>",
    );
    page(&format!("Pay {}", summary.total), &html)
}

impl StripeStandin {
    /// The page's view of an open session.
    fn summary(&self, id: &str) -> Result<Summary, ApiError> {
        self.sweep();
        let store = lock(&self.inner.store);
        let s = store.sessions.iter().find(|s| s.id == id);
        let s = s.ok_or_else(|| ApiError::no_such("checkout.session", "session", id))?;
        if let Some(closed) = closed(s) {
            return Err(closed);
        }
        let amount = |i: &LineItem| format_amount(i.unit_amount.saturating_mul(i.quantity), &s.currency);
        Ok(Summary {
            items: s
                .items
                .iter()
                .map(|i| match i.quantity {
                    1 => (i.name.clone(), amount(i)),
                    n => (format!("{} × {n}", i.name), amount(i)),
                })
                .collect(),
            total: format_amount(s.amount_total(), &s.currency),
            customer_email: s.customer_email.clone(),
            cancel_url: s.cancel_url.clone(),
            success_url: s.success_url.clone(),
        })
    }
}

/// The page shown instead of the form for a session that cannot be paid.
fn not_payable(e: ApiError) -> Response {
    let title = if e.status == StatusCode::NOT_FOUND { "This checkout link is not valid." } else { &e.message };
    message_page(e.status, title, "Nothing can be paid here. Ask the business for a new payment link.")
}

async fn checkout_page(State(s): State<StripeStandin>, Path(id): Path<String>) -> Response {
    match s.summary(&id) {
        Ok(summary) => checkout_html(&id, &summary, &PayForm::default(), &PayErrors::default()).into_response(),
        Err(e) => not_payable(e),
    }
}

async fn checkout_submit(
    State(s): State<StripeStandin>,
    Path(id): Path<String>,
    Form(mut form): Form<PayForm>,
) -> Response {
    let summary = match s.summary(&id) {
        Ok(summary) => summary,
        Err(e) => return not_payable(e),
    };
    if let Some(email) = &summary.customer_email {
        form.email = email.clone();
    }
    let digits = match check_form(&form, s.now_ts()) {
        Ok(digits) => digits,
        Err(errors) => return (StatusCode::BAD_REQUEST, checkout_html(&id, &summary, &form, &errors)).into_response(),
    };
    let asynchronous = match card_outcome(&digits) {
        CardOutcome::Succeeds => false,
        CardOutcome::Asynchronous => true,
        CardOutcome::Declined(why) => {
            let errors = PayErrors { card_number: Some(why.into()), ..PayErrors::default() };
            return (StatusCode::PAYMENT_REQUIRED, checkout_html(&id, &summary, &form, &errors)).into_response();
        }
    };
    match s.pay(&id, Some(form.email.trim()), asynchronous) {
        Ok(_) => Redirect::to(&summary.success_url.replace("{CHECKOUT_SESSION_ID}", &id)).into_response(),
        Err(e) => not_payable(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::body::Bytes;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn signs_the_documented_vector() {
        let body = br#"{"id":"evt_test_1","object":"event","type":"checkout.session.completed"}"#;
        assert_eq!(
            signature_header("whsec_test_secret", 1_700_000_000, body),
            "t=1700000000,v1=ca796b857b81e24d595a4c37abf88d2fafb533a32ede6ce4cfc9b0e892a35b08"
        );
    }

    #[test]
    fn bracket_notation_nests_keys_and_refuses_conflicts() {
        let p = parse_form(
            b"line_items[0][price_data][unit_amount]=24900&metadata[invoice_id]=42\
              &payment_intent_data[metadata][invoice_id]=42&expand[]=a&expand[]=b&name=A+B%26C",
        )
        .unwrap();
        let f = Fields::top(&p);
        let item = f.nested("line_items").unwrap().unwrap().nested("0").unwrap().unwrap();
        assert_eq!(item.nested("price_data").unwrap().unwrap().integer("unit_amount").unwrap(), Some(24900));
        assert_eq!(f.metadata("metadata").unwrap(), json!({ "invoice_id": "42" }).as_object().cloned().unwrap());
        let pid = f.nested("payment_intent_data").unwrap().unwrap();
        assert_eq!(pid.metadata("metadata").unwrap()["invoice_id"], "42");
        let expand = f.nested("expand").unwrap().unwrap();
        assert_eq!((expand.text("0").unwrap(), expand.text("1").unwrap()), (Some("a"), Some("b")));
        assert_eq!(f.text("name").unwrap(), Some("A B&C"));
        assert!(parse_form(b"metadata=1&metadata[a]=2").is_err(), "a value and a map under one key");
        assert!(parse_form(b"metadata[a]=2&metadata=1").is_err(), "a map and a value under one key");
        assert!(parse_form(b"a[b=1").is_err() && parse_form(b"a[b]c=1").is_err() && parse_form(b"[a]=1").is_err());
        assert!(parse_form(format!("a{}=1", "[]".repeat(100_000)).as_bytes()).is_err(), "too deep");
        let err = f.required("success_url").unwrap_err();
        assert_eq!((err.code, err.param.as_deref()), (Some("parameter_missing"), Some("success_url")));
        let err = item.positive("quantity").unwrap_err();
        assert_eq!(err.param.as_deref(), Some("line_items[0][quantity]"));
    }

    #[test]
    fn amounts_are_written_as_people_read_them() {
        assert_eq!(format_amount(18900, "usd"), "$189.00");
        assert_eq!(format_amount(1_234_567, "eur"), "€12,345.67");
        assert_eq!(format_amount(500, "jpy"), "¥500");
        assert_eq!(format_amount(5, "chf"), "CHF 0.05");
        assert_eq!(redact("sk_test_wrongkey1234"), "sk_test_****1234");
        assert_eq!(redact("abc"), "****abc");
    }

    #[test]
    fn the_card_form_is_checked_field_by_field() {
        let now = Timestamp::from_second(1_700_000_000).unwrap(); // November 2023
        let form = |n: &str, e: &str, c: &str| PayForm {
            email: "jane@example.com".into(),
            card_number: n.into(),
            card_expiry: e.into(),
            card_cvc: c.into(),
        };
        assert_eq!(
            check_form(&form("4242 4242 4242 4242", "12 / 34", "123"), now).ok().as_deref(),
            Some("4242424242424242")
        );
        assert!(check_form(&form("4242424242424242", "1123", "1234"), now).is_ok(), "this month is still valid");
        let e = check_form(&form("4242 4242 4242 4241", "13/40", "12"), now).err().unwrap();
        assert_eq!(e.card_number.as_deref(), Some("Your card number is invalid."));
        assert_eq!(e.card_expiry.as_deref(), Some("Your card's expiration month is invalid."));
        assert_eq!(e.card_cvc.as_deref(), Some("Your card's security code is incomplete."));
        let e = check_form(&form("4242", "10 / 23", "123"), now).err().unwrap();
        assert_eq!(e.card_number.as_deref(), Some("Your card number is incomplete."));
        assert_eq!(e.card_expiry.as_deref(), Some("Your card's expiration date is in the past."));
        let e = check_form(&PayForm { email: "jane".into(), ..form("4242x", "", "") }, now).err().unwrap();
        assert!(e.email.is_some() && e.card_number.is_some() && e.card_expiry.is_some());
        assert_eq!(card_outcome("4000000000000002"), CardOutcome::Declined("Your card was declined."));
        assert_eq!(card_outcome("4000000000000077"), CardOutcome::Asynchronous);
    }

    // -- Over HTTP

    const INVOICE: &[(&str, &str)] = &[
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", "USD"),
        ("line_items[0][price_data][unit_amount]", "24900"),
        ("line_items[0][price_data][product_data][name]", "Invoice INV-42 – Furnace repair"),
        ("line_items[0][quantity]", "1"),
        ("success_url", "https://app.example/pay/success?session_id={CHECKOUT_SESSION_ID}"),
        ("cancel_url", "https://app.example/pay/cancel?invoice=INV-42"),
        ("client_reference_id", "INV-42"),
        ("customer_email", "jane@example.com"),
        ("metadata[invoice_id]", "INV-42"),
        ("metadata[tenant]", "t1"),
        ("payment_intent_data[metadata][invoice_id]", "INV-42"),
    ];

    async fn standin() -> (StripeStandin, reqwest::Client) {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let s = StripeStandin::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        (s, http)
    }

    async fn api_post(
        http: &reqwest::Client,
        s: &StripeStandin,
        path: &str,
        form: &[(&str, &str)],
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut req = http.post(format!("{}{path}", s.base_url())).bearer_auth(s.secret_key()).form(form);
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        req.send().await.unwrap()
    }

    async fn json_of(r: reqwest::Response) -> (u16, Value) {
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn new_session(http: &reqwest::Client, s: &StripeStandin) -> Value {
        let (status, session) = json_of(api_post(http, s, "/v1/checkout/sessions", INVOICE, None).await).await;
        assert_eq!(status, 200, "{session}");
        session
    }

    async fn pay(http: &reqwest::Client, s: &StripeStandin, id: &str, card: &str) -> reqwest::Response {
        let form =
            [("email", "jane@example.com"), ("card_number", card), ("card_expiry", "12 / 40"), ("card_cvc", "123")];
        http.post(format!("{}/c/pay/{id}", s.base_url())).form(&form).send().await.unwrap()
    }

    /// A webhook endpoint that keeps what it receives, refusing the first `refuse` requests.
    #[derive(Clone, Default)]
    struct Receiver {
        got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
        refuse: Arc<AtomicU32>,
    }

    impl Receiver {
        async fn start(refuse: u32) -> (String, Receiver) {
            let r = Receiver { refuse: Arc::new(AtomicU32::new(refuse)), ..Receiver::default() };
            let app = Router::new()
                .route(
                    "/hook",
                    post(|State(r): State<Receiver>, headers: HeaderMap, body: Bytes| async move {
                        if r.refuse.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                            return StatusCode::INTERNAL_SERVER_ERROR;
                        }
                        r.got.lock().unwrap().push((headers, body));
                        StatusCode::OK
                    }),
                )
                .with_state(r.clone());
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/hook", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            (url, r)
        }

        /// The events received, each checked to be signed with `secret` (among others).
        fn events(&self, secret: &str) -> Vec<Value> {
            let got = self.got.lock().unwrap();
            got.iter()
                .map(|(headers, body)| {
                    let sig = headers["stripe-signature"].to_str().unwrap();
                    assert!(verify(sig, body, secret), "{sig} is not signed with {secret}");
                    assert_eq!(headers[header::USER_AGENT], "Stripe/1.0 (+https://stripe.com/docs/webhooks)");
                    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
                    serde_json::from_slice(body).unwrap()
                })
                .collect()
        }

        fn types(&self, secret: &str) -> Vec<String> {
            self.events(secret).iter().map(|e| e["type"].as_str().unwrap().to_string()).collect()
        }
    }

    /// Checks a `Stripe-Signature` as stripe-python's `WebhookSignature.verify_header` does.
    fn verify(header: &str, body: &[u8], secret: &str) -> bool {
        let mut t = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            match part.split_once('=') {
                Some(("t", v)) => t = v.parse::<i64>().ok(),
                Some(("v1", v)) => signatures.push(v.to_string()),
                _ => {}
            }
        }
        let Some(t) = t else { return false };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        signatures.contains(&expected)
    }

    #[tokio::test]
    async fn a_session_is_created_from_a_bracket_form_and_replayed_for_its_idempotency_key() {
        let (s, http) = standin().await;
        let r = api_post(&http, &s, "/v1/checkout/sessions", INVOICE, Some("checkout-INV-42-v1")).await;
        assert!(r.headers()["request-id"].to_str().unwrap().starts_with("req_"));
        assert_eq!(r.headers()["idempotency-key"], "checkout-INV-42-v1");
        assert!(r.headers().get("idempotent-replayed").is_none());
        let (status, session) = json_of(r).await;
        assert_eq!(status, 200);
        let id = session["id"].as_str().unwrap();
        assert!(id.starts_with("cs_test_"));
        assert_eq!(session["url"], format!("{}/c/pay/{id}", s.base_url()));
        assert_eq!(
            (&session["object"], &session["status"], &session["payment_status"], &session["mode"]),
            (&json!("checkout.session"), &json!("open"), &json!("unpaid"), &json!("payment"))
        );
        assert_eq!((&session["amount_total"], &session["currency"]), (&json!(24900), &json!("usd")));
        assert_eq!(session["metadata"], json!({ "invoice_id": "INV-42", "tenant": "t1" }));
        assert_eq!(
            (&session["client_reference_id"], &session["customer_email"]),
            (&json!("INV-42"), &json!("jane@example.com"))
        );
        assert!(session["payment_intent"].is_null() && session["customer_details"].is_null());
        assert_eq!(session["expires_at"].as_i64().unwrap() - session["created"].as_i64().unwrap(), 24 * 3600);

        // The same key and parameters: the same answer, marked replayed, and no second session.
        let again = api_post(&http, &s, "/v1/checkout/sessions", INVOICE, Some("checkout-INV-42-v1")).await;
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(json_of(again).await, (200, session.clone()));
        assert_eq!(s.sessions().len(), 1);

        // The same key with other parameters is refused.
        let mut changed = INVOICE.to_vec();
        changed[2] = ("line_items[0][price_data][unit_amount]", "100");
        let (status, err) =
            json_of(api_post(&http, &s, "/v1/checkout/sessions", &changed, Some("checkout-INV-42-v1")).await).await;
        assert_eq!((status, &err["error"]["type"]), (400, &json!("idempotency_error")));
        assert!(err["error"]["message"].as_str().unwrap().starts_with("Keys for idempotent requests"));

        // Fetched with Basic auth (the key as user name).
        let r = http
            .get(format!("{}/v1/checkout/sessions/{id}", s.base_url()))
            .basic_auth(s.secret_key(), Some(""))
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(r).await, (200, session));
        let r = http.get(format!("{}/v1/checkout/sessions/cs_test_nope", s.base_url())).bearer_auth(s.secret_key());
        let (status, err) = json_of(r.send().await.unwrap()).await;
        assert_eq!((status, &err["error"]["code"]), (404, &json!("resource_missing")));
    }

    #[tokio::test]
    async fn bad_requests_get_stripes_error_bodies() {
        let (s, http) = standin().await;
        let url = format!("{}/v1/checkout/sessions", s.base_url());
        let r = http.post(&url).bearer_auth("sk_test_wrongkey1234").form(INVOICE).send().await.unwrap();
        let (status, err) = json_of(r).await;
        assert_eq!(status, 401);
        assert_eq!(
            err,
            json!({ "error": { "type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_****1234" } })
        );
        let (status, _) = json_of(http.post(&url).form(INVOICE).send().await.unwrap()).await;
        assert_eq!(status, 401, "no key at all");

        // INVOICE with `key` set to `value` (or left out, when empty): the status and the
        // error's code and param.
        let create_with = |key: &'static str, value: &str| {
            let mut form: Vec<(&'static str, String)> =
                INVOICE.iter().filter(|(k, _)| *k != key).map(|(k, v)| (*k, v.to_string())).collect();
            if !value.is_empty() {
                form.push((key, value.to_string()));
            }
            let (http, s) = (http.clone(), s.clone());
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let (status, body) = json_of(api_post(&http, &s, "/v1/checkout/sessions", &form, None).await).await;
                (status, body["error"]["code"].clone(), body["error"]["param"].clone())
            }
        };
        let missing = json!("parameter_missing");
        assert_eq!(create_with("success_url", "").await, (400, missing.clone(), json!("success_url")));
        assert_eq!(
            create_with("line_items[0][price_data][unit_amount]", "abc").await,
            (400, json!("parameter_invalid_integer"), json!("line_items[0][price_data][unit_amount]"))
        );
        assert_eq!(create_with("line_items[0][quantity]", "").await, (400, missing, json!("line_items[0][quantity]")));
        let soon = (Timestamp::now().as_second() + 600).to_string();
        assert_eq!(create_with("expires_at", &soon).await, (400, Value::Null, json!("expires_at")));
        let later = (Timestamp::now().as_second() + 3600).to_string();
        assert_eq!(create_with("expires_at", &later).await.0, 200);
        assert_eq!(create_with("colour", "red").await, (400, json!("parameter_unknown"), json!("colour")));

        // An injected 500 is not kept for its key: the retry goes through.
        s.fail_next_api(500);
        let (status, err) = json_of(api_post(&http, &s, "/v1/checkout/sessions", INVOICE, Some("k1")).await).await;
        assert_eq!((status, &err["error"]["type"]), (500, &json!("api_error")));
        let retry = api_post(&http, &s, "/v1/checkout/sessions", INVOICE, Some("k1")).await;
        assert!(retry.headers().get("idempotent-replayed").is_none());
        assert_eq!(retry.status(), 200);
    }

    #[tokio::test]
    async fn a_customer_pays_on_the_hosted_page_and_the_app_receives_signed_events() {
        let (s, http) = standin().await;
        let (hook, receiver) = Receiver::start(0).await;
        s.set_webhook_url(&hook);
        let session = new_session(&http, &s).await;
        let id = session["id"].as_str().unwrap();

        let page = http.get(session["url"].as_str().unwrap()).send().await.unwrap().text().await.unwrap();
        for shown in ["Invoice INV-42 – Furnace repair", "$249.00", "Pay $249.00", "jane@example.com", "MM / YY"] {
            assert!(page.contains(shown), "the page shows {shown}");
        }
        assert!(page.contains("href='https://app.example/pay/cancel?invoice=INV-42'>Cancel</a>"));

        let declined = pay(&http, &s, id, "4000 0000 0000 0002").await;
        assert_eq!(declined.status(), 402);
        assert!(declined.text().await.unwrap().contains("id=card_number-error role=alert>Your card was declined."));
        let poor = pay(&http, &s, id, "4000000000009995").await;
        assert!(poor.text().await.unwrap().contains("Your card has insufficient funds."));
        let malformed = pay(&http, &s, id, "4242 4242").await;
        assert_eq!(malformed.status(), 400);
        assert!(malformed.text().await.unwrap().contains("Your card number is incomplete."));
        assert_eq!(s.sessions()[0]["status"], "open", "a declined card leaves the session open");

        let paid = pay(&http, &s, id, "4242 4242 4242 4242").await;
        assert_eq!(paid.status(), 303);
        assert_eq!(paid.headers()[header::LOCATION], format!("https://app.example/pay/success?session_id={id}"));
        s.settled().await;
        let events = receiver.events(&s.webhook_secret());
        let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["checkout.session.completed", "payment_intent.succeeded", "charge.succeeded"]);
        let completed = &events[0];
        assert_eq!((&completed["object"], &completed["api_version"]), (&json!("event"), &json!(API_VERSION)));
        assert!(completed["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(completed["request"], json!({ "id": null, "idempotency_key": null }));
        let done = &completed["data"]["object"];
        assert_eq!((&done["status"], &done["payment_status"]), (&json!("complete"), &json!("paid")));
        assert_eq!(done["customer_details"], json!({ "email": "jane@example.com" }));
        let pi = done["payment_intent"].as_str().unwrap();

        let r = http.get(format!("{}/v1/payment_intents/{pi}", s.base_url())).bearer_auth(s.secret_key());
        let (status, intent) = json_of(r.send().await.unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!((&intent["status"], &intent["amount"]), (&json!("succeeded"), &json!(24900)));
        assert_eq!(intent["metadata"], json!({ "invoice_id": "INV-42" }));
        assert_eq!(intent["latest_charge"], events[2]["data"]["object"]["id"]);

        assert_eq!(http.get(format!("{}/c/pay/{id}", s.base_url())).send().await.unwrap().status(), 409);
        assert_eq!(pay(&http, &s, id, "4242424242424242").await.status(), 409, "a paid session cannot be paid again");
        assert!(s.deliveries().iter().all(|d| d.status == Some(200) && d.attempts == 1));
    }

    #[tokio::test]
    async fn refunds_never_exceed_what_was_paid() {
        let (s, http) = standin().await;
        let session = new_session(&http, &s).await;
        let paid = s.complete(session["id"].as_str().unwrap()).unwrap();
        let pi = paid["payment_intent"].as_str().unwrap();
        let refund = |amount: Option<&'static str>| {
            let (http, s, pi) = (http.clone(), s.clone(), pi.to_string());
            async move {
                let mut form = vec![("payment_intent", pi.as_str()), ("metadata[credit_note]", "CN-1")];
                form.extend(amount.map(|a| ("amount", a)));
                json_of(api_post(&http, &s, "/v1/refunds", &form, None).await).await
            }
        };
        let (status, first) = refund(Some("10000")).await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(
            (&first["object"], &first["amount"], &first["status"]),
            (&json!("refund"), &json!(10000), &json!("succeeded"))
        );
        assert_eq!((&first["payment_intent"], &first["metadata"]["credit_note"]), (&json!(pi), &json!("CN-1")));
        let (status, err) = refund(Some("20000")).await;
        assert_eq!((status, &err["error"]["code"]), (400, &json!("amount_too_large")));
        assert!(err["error"]["message"].as_str().unwrap().contains("($149.00)"), "{err}");
        let (status, rest) = refund(None).await;
        assert_eq!((status, &rest["amount"]), (200, &json!(14900)));
        let (status, err) = refund(None).await;
        assert_eq!((status, &err["error"]["code"]), (400, &json!("charge_already_refunded")));
        assert!(s.refund("pi_unknown", None).is_err());

        let charges: Vec<Value> = s
            .events()
            .into_iter()
            .filter(|e| e["type"] == "charge.refunded")
            .map(|e| e["data"]["object"].clone())
            .collect();
        assert_eq!(charges.len(), 2);
        assert_eq!((&charges[0]["amount_refunded"], &charges[0]["refunded"]), (&json!(10000), &json!(false)));
        assert_eq!((&charges[1]["amount_refunded"], &charges[1]["refunded"]), (&json!(24900), &json!(true)));
        assert_eq!(charges[1]["refunds"]["data"].as_array().unwrap().len(), 2);
        assert_eq!(charges[1]["metadata"], json!({ "invoice_id": "INV-42" }));
        assert_eq!(s.events().iter().filter(|e| e["type"] == "refund.created").count(), 2);
    }

    #[tokio::test]
    async fn events_can_arrive_twice_and_out_of_order() {
        let (s, http) = standin().await;
        let (hook, receiver) = Receiver::start(0).await;
        s.set_webhook_url(&hook);
        let (a, b) = (new_session(&http, &s).await, new_session(&http, &s).await);
        let secret = s.webhook_secret();

        s.duplicate_next(2);
        s.expire(a["id"].as_str().unwrap()).unwrap();
        s.settled().await;
        let got = receiver.events(&secret);
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|e| e["id"] == got[0]["id"] && e["type"] == "checkout.session.expired"));

        s.hold();
        s.complete(b["id"].as_str().unwrap()).unwrap();
        s.settled().await;
        assert_eq!(receiver.events(&secret).len(), 3, "held events wait");
        s.release_reversed();
        s.settled().await;
        assert_eq!(
            receiver.types(&secret)[3..],
            ["charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]
        );

        let first = s.events()[0]["id"].as_str().unwrap().to_string();
        assert!(s.resend(&first) && !s.resend("evt_nope"));
        s.settled().await;
        assert_eq!(receiver.events(&secret).last().unwrap()["id"], first);
    }

    #[tokio::test]
    async fn a_refused_webhook_is_retried_and_a_rotation_signs_with_both_secrets() {
        let (s, http) = standin().await;
        let (hook, receiver) = Receiver::start(1).await;
        s.set_webhook_url(&hook);
        let old = s.webhook_secret();
        let new = s.rotate_webhook_secret();
        assert_ne!(old, new);
        assert_eq!(s.webhook_secret(), new);
        let session = new_session(&http, &s).await;
        let path = format!("/v1/checkout/sessions/{}/expire", session["id"].as_str().unwrap());
        let (status, expired) = json_of(api_post(&http, &s, &path, &[], None).await).await;
        assert_eq!((status, &expired["status"], &expired["url"]), (200, &json!("expired"), &Value::Null));
        assert_eq!(json_of(api_post(&http, &s, &path, &[], None).await).await.0, 400, "only open sessions expire");
        s.settled().await;
        assert_eq!(
            s.deliveries(),
            [Delivery {
                event_id: s.events()[0]["id"].as_str().unwrap().into(),
                event_type: "checkout.session.expired".into(),
                status: Some(200),
                attempts: 2,
            }]
        );
        let (headers, _) = receiver.got.lock().unwrap()[0].clone();
        assert_eq!(headers["stripe-signature"].to_str().unwrap().matches("v1=").count(), 2);
        assert_eq!(receiver.events(&old).len(), 1);
        assert_eq!(receiver.events(&new).len(), 1);

        s.finish_rotation();
        s.resend(s.events()[0]["id"].as_str().unwrap());
        s.settled().await;
        let (headers, body) = receiver.got.lock().unwrap()[1].clone();
        let sig = headers["stripe-signature"].to_str().unwrap();
        assert!(verify(sig, &body, &new) && !verify(sig, &body, &old), "after the rotation, only the new secret");
    }

    #[tokio::test]
    async fn an_asynchronous_payment_completes_unpaid_and_settles_later() {
        let (s, http) = standin().await;
        let (a, b) = (new_session(&http, &s).await, new_session(&http, &s).await);
        let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
        assert_eq!(pay(&http, &s, a, "4000 0000 0000 0077").await.status(), 303);
        let completed = s.events().pop().unwrap();
        assert_eq!(completed["type"], "checkout.session.completed");
        assert_eq!(completed["data"]["object"]["payment_status"], "unpaid");
        let pi = completed["data"]["object"]["payment_intent"].as_str().unwrap().to_string();
        assert!(s.refund(&pi, None).is_err(), "nothing to refund before the payment clears");
        assert_eq!(s.async_succeed(a).unwrap()["payment_status"], "paid");
        assert!(s.async_succeed(a).is_err(), "a payment clears once");
        let types: Vec<Value> = s.events().iter().map(|e| e["type"].clone()).collect();
        assert_eq!(
            types[1..],
            [
                json!("checkout.session.async_payment_succeeded"),
                json!("payment_intent.succeeded"),
                json!("charge.succeeded")
            ]
        );

        s.complete_async(b).unwrap();
        assert_eq!(s.async_fail(b).unwrap()["payment_status"], "unpaid");
        assert_eq!(s.events()[5]["type"], "checkout.session.async_payment_failed");
    }

    #[tokio::test]
    async fn sessions_expire_on_their_own_and_events_carry_the_stand_ins_time() {
        let (s, http) = standin().await;
        let (hook, receiver) = Receiver::start(0).await;
        s.set_webhook_url(&hook);
        let session = new_session(&http, &s).await;
        let later = Timestamp::from_second(session["expires_at"].as_i64().unwrap() + 60).unwrap();
        s.set_now(Some(later));
        assert_eq!(http.get(session["url"].as_str().unwrap()).send().await.unwrap().status(), 410);
        assert_eq!(s.complete(session["id"].as_str().unwrap()).unwrap_err(), "This checkout session has expired.");
        s.settled().await;
        let events = receiver.events(&s.webhook_secret());
        assert_eq!(
            (&events[0]["type"], &events[0]["created"]),
            (&json!("checkout.session.expired"), &json!(later.as_second()))
        );
        let (headers, _) = receiver.got.lock().unwrap()[0].clone();
        assert!(headers["stripe-signature"].to_str().unwrap().starts_with(&format!("t={},", later.as_second())));

        // The controls over HTTP.
        let control = |path: &str| http.post(format!("{}/_standin/{path}", s.base_url())).send();
        assert_eq!(control("fail_next_api?status=503").await.unwrap().status(), 200);
        assert_eq!(api_post(&http, &s, "/v1/checkout/sessions", INVOICE, None).await.status(), 503);
        s.set_now(None);
        let fresh = new_session(&http, &s).await;
        let done: Value = control(&format!("sessions/{}/complete", fresh["id"].as_str().unwrap()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let pi = done["payment_intent"].as_str().unwrap();
        let refund: Value =
            control(&format!("payment_intents/{pi}/refund?amount=100")).await.unwrap().json().await.unwrap();
        assert_eq!(refund["amount"], 100);
        assert_eq!(control("sessions/cs_nope/complete").await.unwrap().status(), 404);
    }
}
