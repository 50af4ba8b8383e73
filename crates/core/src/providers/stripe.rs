//! Stripe, for paying invoices online: Checkout Sessions (create, read, expire), refunds, and
//! the webhook events that report them, with their `Stripe-Signature` check.
//! Form-encoded requests with bracket notation, JSON responses, `Authorization: Bearer`, a
//! pinned `Stripe-Version` and an `Idempotency-Key` on every POST.
//! <https://docs.stripe.com/api/checkout/sessions/create>, <https://docs.stripe.com/api/refunds/create>,
//! <https://docs.stripe.com/webhooks#verify-manually>; see also `/work/shared/reference/wire-formats.md` §4.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Deserializer};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

use crate::engine::BoxFuture;
use crate::money::Money;

pub const STRIPE_API: &str = "https://api.stripe.com";
/// The API version we pin (Stripe-Version header on every call).
pub const STRIPE_VERSION: &str = "2024-06-20";
/// How old a webhook's signature may be.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Clone)]
pub struct StripeConfig {
    /// `https://api.stripe.com` or the stand-in; no trailing slash needed.
    pub base_url: String,
    /// `sk_live_…`, `sk_test_…` or a restricted key `rk_…`.
    pub secret_key: String,
}

impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
pub struct Stripe {
    http: reqwest::Client,
    config: Arc<StripeConfig>,
}

impl Stripe {
    pub fn new(config: StripeConfig) -> Result<Stripe, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Stripe { http, config: Arc::new(config) })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    fn post(&self, path: &str, form: &[(String, String)], idempotency_key: &str) -> reqwest::RequestBuilder {
        self.http
            .post(self.url(path))
            .bearer_auth(&self.config.secret_key)
            .header("Stripe-Version", STRIPE_VERSION)
            .header("Idempotency-Key", idempotency_key)
            .form(form)
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(&self.config.secret_key).header("Stripe-Version", STRIPE_VERSION)
    }
}

/// A Checkout Session to create for (part of) an invoice.
#[derive(Debug, Clone)]
pub struct NewCheckout {
    /// One line, quantity 1, `unit_amount` = `amount.minor`, currency as a lowercase code.
    pub amount: Money,
    /// `product_data[name]`, e.g. "Invoice INV-1001 · Imaginary Plumbing".
    pub name: String,
    pub customer_email: Option<String>,
    /// May hold `{CHECKOUT_SESSION_ID}`, which Stripe fills in on the redirect.
    pub success_url: String,
    pub cancel_url: String,
    pub client_reference_id: Option<String>,
    /// Sent as `metadata[k]=v` and `payment_intent_data[metadata][k]=v`, so the PaymentIntent
    /// and its charges carry them too. Keys may not hold `[` or `]`.
    pub metadata: Vec<(String, String)>,
    /// Stripe accepts 30 minutes to 24 hours from now.
    pub expires_at: Option<jiff::Timestamp>,
    pub idempotency_key: String,
}

/// The fields of a `checkout.session` we use (parsed from API responses and from webhook
/// events' `data.object`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
    /// `open`, `complete` or `expired`.
    #[serde(default)]
    pub status: Option<String>,
    /// `paid`, `unpaid` (an async method such as a bank debit has not settled) or
    /// `no_payment_required`.
    pub payment_status: String,
    #[serde(default)]
    pub amount_total: Option<i64>,
    /// Lowercase, as Stripe writes it (`usd`).
    #[serde(default)]
    pub currency: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// Null until the customer pays (API 2022-08-01 and later); an id, or an object with one
    /// when expanded.
    #[serde(default, deserialize_with = "id_or_object")]
    pub payment_intent: Option<String>,
    #[serde(default)]
    pub client_reference_id: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub metadata: BTreeMap<String, String>,
    /// The address we passed in when creating the session.
    #[serde(default)]
    pub customer_email: Option<String>,
    /// What the customer entered at checkout.
    #[serde(default)]
    pub customer_details: Option<CustomerDetails>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CustomerDetails {
    #[serde(default)]
    pub email: Option<String>,
}

impl CheckoutSession {
    /// The payer's email: what they entered at checkout, else the one we passed in.
    pub fn email(&self) -> Option<&str> {
        self.customer_details
            .as_ref()
            .and_then(|d| d.email.as_deref())
            .or(self.customer_email.as_deref())
            .filter(|e| !e.is_empty())
    }
}

/// A charge as `charge.refunded` carries it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Charge {
    pub id: String,
    pub amount: i64,
    /// The total refunded so far, across every refund.
    pub amount_refunded: i64,
    pub currency: String,
    /// True only once the whole amount is refunded.
    pub refunded: bool,
    #[serde(default, deserialize_with = "id_or_object")]
    pub payment_intent: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub metadata: BTreeMap<String, String>,
    /// `refunds.data`. Since API 2022-11-15 a charge carries its refunds only when expanded,
    /// so this is usually empty: use `amount_refunded`.
    #[serde(default, deserialize_with = "list_data")]
    pub refunds: Vec<RefundObject>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RefundObject {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    /// `pending`, `requires_action`, `succeeded`, `failed` or `canceled`; empty if Stripe sent
    /// none.
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    #[serde(default, deserialize_with = "id_or_object")]
    pub payment_intent: Option<String>,
}

/// A reference Stripe writes as an id, or as the object itself when expanded.
fn id_or_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IdOrObject {
        Id(String),
        Object { id: String },
    }
    Ok(Option::<IdOrObject>::deserialize(d)?.map(|r| match r {
        IdOrObject::Id(id) | IdOrObject::Object { id } => id,
    }))
}

/// `null` as the type's default (an empty map, an empty string).
fn null_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A list object (`{"object": "list", "data": [...], "has_more": ...}`) as its `data`.
fn list_data<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    #[derive(Deserialize)]
    struct List<T> {
        #[serde(default = "Vec::new")]
        data: Vec<T>,
    }
    Ok(Option::<List<T>>::deserialize(d)?.map(|l| l.data).unwrap_or_default())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentError {
    /// Worth retrying: network trouble, 5xx, 429 (rate limit), 409 (lock_timeout, or a
    /// request with the same idempotency key still running).
    Transient(String),
    /// Stripe refused the request (4xx): its error code (else its type) and message.
    Rejected { code: Option<String>, message: String },
}

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PaymentError::Transient(m) => write!(f, "{m}"),
            PaymentError::Rejected { code: Some(c), message } => write!(f, "rejected by Stripe ({c}): {message}"),
            PaymentError::Rejected { code: None, message } => write!(f, "rejected by Stripe: {message}"),
        }
    }
}

impl std::error::Error for PaymentError {}

pub trait PaymentProvider: Send + Sync + 'static {
    /// `POST /v1/checkout/sessions`.
    fn create_checkout(&self, req: NewCheckout) -> BoxFuture<Result<CheckoutSession, PaymentError>>;
    /// `GET /v1/checkout/sessions/{id}`.
    fn get_checkout(&self, id: String) -> BoxFuture<Result<CheckoutSession, PaymentError>>;
    /// `POST /v1/checkout/sessions/{id}/expire`: the link stops working. Stripe refuses this
    /// for a session that is no longer open.
    fn expire_checkout(&self, id: String) -> BoxFuture<Result<CheckoutSession, PaymentError>>;
    /// `POST /v1/refunds` with payment_intent, amount, metadata[...], Idempotency-Key.
    fn refund(
        &self,
        payment_intent: String,
        amount: Money,
        metadata: Vec<(String, String)>,
        idempotency_key: String,
    ) -> BoxFuture<Result<RefundObject, PaymentError>>;
}

/// The form body of `POST /v1/checkout/sessions` for `req`, in bracket notation.
fn checkout_form(req: &NewCheckout) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = vec![
        ("mode".into(), "payment".into()),
        ("line_items[0][price_data][currency]".into(), req.amount.currency.code().to_ascii_lowercase()),
        ("line_items[0][price_data][unit_amount]".into(), req.amount.minor.to_string()),
        ("line_items[0][price_data][product_data][name]".into(), req.name.clone()),
        ("line_items[0][quantity]".into(), "1".into()),
        ("success_url".into(), req.success_url.clone()),
        ("cancel_url".into(), req.cancel_url.clone()),
    ];
    if let Some(r) = &req.client_reference_id {
        form.push(("client_reference_id".into(), r.clone()));
    }
    if let Some(e) = &req.customer_email {
        form.push(("customer_email".into(), e.clone()));
    }
    for (k, v) in &req.metadata {
        form.push((format!("metadata[{k}]"), v.clone()));
    }
    for (k, v) in &req.metadata {
        form.push((format!("payment_intent_data[metadata][{k}]"), v.clone()));
    }
    if let Some(t) = req.expires_at {
        form.push(("expires_at".into(), t.as_second().to_string()));
    }
    form
}

/// The form body of `POST /v1/refunds`. The currency is the charge's; Stripe takes none.
fn refund_form(payment_intent: &str, amount: Money, metadata: &[(String, String)]) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> =
        vec![("payment_intent".into(), payment_intent.into()), ("amount".into(), amount.minor.to_string())];
    for (k, v) in metadata {
        form.push((format!("metadata[{k}]"), v.clone()));
    }
    form
}

/// A metadata key that bracket notation can carry, as Stripe allows (at most 40 characters).
fn check_metadata(metadata: &[(String, String)]) -> Result<(), PaymentError> {
    match metadata.iter().find(|(k, _)| k.is_empty() || k.chars().count() > 40 || k.contains(['[', ']'])) {
        Some((k, _)) => Err(PaymentError::Rejected {
            code: None,
            message: format!("\"{k}\" cannot be a Stripe metadata key (1 to 40 characters, no brackets)"),
        }),
        None => Ok(()),
    }
}

/// A Stripe object id (`cs_test_a1B2…`, `pi_…`) that is safe to put in a URL path.
fn check_id(id: &str, what: &str) -> Result<(), PaymentError> {
    if !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(PaymentError::Rejected {
            code: None,
            message: format!("\"{}\" is not a {what} id", id.chars().take(80).collect::<String>()),
        })
    }
}

/// Stripe's error body: `{"error": {"type": ..., "code": ..., "message": ..., "param": ...}}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    param: Option<String>,
}

/// What a non-2xx answer from Stripe means for us.
/// <https://docs.stripe.com/error-handling>, <https://docs.stripe.com/api/errors>
fn error_of(status: u16, body: &str) -> PaymentError {
    let detail = serde_json::from_str::<ErrorBody>(body).ok().map(|b| b.error);
    let code = detail.as_ref().and_then(|d| d.code.clone().or_else(|| d.kind.clone()));
    let mut message = match detail.as_ref().and_then(|d| d.message.as_deref()) {
        Some(m) => redact_keys(m),
        None if body.trim().is_empty() => "no details".to_string(),
        None => format!("\"{}\"", redact_keys(&body.chars().take(200).collect::<String>())),
    };
    if let Some(p) = detail.as_ref().and_then(|d| d.param.as_deref()) {
        message.push_str(&format!(" (parameter {p})"));
    }
    match status {
        // 409: another request with this idempotency key is running, or lock_timeout; the
        // official libraries retry every 409.
        429 | 409 | 500..=599 => PaymentError::Transient(match code {
            Some(c) => format!("Stripe answered HTTP {status} ({c}): {message}"),
            None => format!("Stripe answered HTTP {status}: {message}"),
        }),
        401 => PaymentError::Rejected {
            code,
            message: format!("Stripe refused the secret key (HTTP 401), check the key in the settings: {message}"),
        },
        400..=499 => PaymentError::Rejected { code, message },
        _ => PaymentError::Transient(format!("Stripe answered HTTP {status}: {message}")),
    }
}

/// Masks anything in `s` that looks like a Stripe API key, should a message echo one.
fn redact_keys(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            if ["sk_live_", "sk_test_", "rk_live_", "rk_test_"].iter().any(|p| w.starts_with(p)) {
                format!("{}…", &w[..3])
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Sends `req` and reads a `T` from a 2xx answer.
async fn call<T: serde::de::DeserializeOwned>(req: reqwest::RequestBuilder) -> Result<T, PaymentError> {
    let resp = req.send().await.map_err(|e| PaymentError::Transient(format!("cannot reach Stripe: {e}")))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| PaymentError::Transient(format!("Stripe's answer was cut off: {e}")))?;
    if !status.is_success() {
        return Err(error_of(status.as_u16(), &text));
    }
    serde_json::from_str(&text).map_err(|e| PaymentError::Transient(format!("unreadable Stripe response: {e}")))
}

impl PaymentProvider for Stripe {
    fn create_checkout(&self, req: NewCheckout) -> BoxFuture<Result<CheckoutSession, PaymentError>> {
        let me = self.clone();
        Box::pin(async move {
            check_metadata(&req.metadata)?;
            call(me.post("/v1/checkout/sessions", &checkout_form(&req), &req.idempotency_key)).await
        })
    }

    fn get_checkout(&self, id: String) -> BoxFuture<Result<CheckoutSession, PaymentError>> {
        let me = self.clone();
        Box::pin(async move {
            check_id(&id, "Checkout Session")?;
            call(me.get(&format!("/v1/checkout/sessions/{id}"))).await
        })
    }

    fn expire_checkout(&self, id: String) -> BoxFuture<Result<CheckoutSession, PaymentError>> {
        let me = self.clone();
        Box::pin(async move {
            check_id(&id, "Checkout Session")?;
            // One key per session: a retry after a lost answer gets the first answer again.
            let key = format!("expire-{id}");
            call(me.post(&format!("/v1/checkout/sessions/{id}/expire"), &[], &key)).await
        })
    }

    fn refund(
        &self,
        payment_intent: String,
        amount: Money,
        metadata: Vec<(String, String)>,
        idempotency_key: String,
    ) -> BoxFuture<Result<RefundObject, PaymentError>> {
        let me = self.clone();
        Box::pin(async move {
            check_id(&payment_intent, "PaymentIntent")?;
            check_metadata(&metadata)?;
            call(me.post("/v1/refunds", &refund_form(&payment_intent, amount, &metadata), &idempotency_key)).await
        })
    }
}

/// An event as posted to our webhook.
/// <https://docs.stripe.com/api/events/object>
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `evt_…`: Stripe may deliver one event more than once, and in any order.
    pub id: String,
    /// Its `type`: `checkout.session.completed`, `charge.refunded`, ...
    pub kind: String,
    /// Unix seconds.
    pub created: i64,
    pub livemode: bool,
    /// `data.object`: the object as it was when the event happened.
    pub object: serde_json::Value,
}

/// Reads the envelope of a webhook event.
pub fn parse_event(body: &[u8]) -> Result<Event, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("the event is not JSON: {e}"))?;
    let Some(top) = v.as_object() else { return Err("the event is not a JSON object".into()) };
    if let Some(o) = top.get("object")
        && o.as_str() != Some("event")
    {
        return Err(format!("the body is not an event (its object is {o})"));
    }
    let id = match top.get("id").and_then(|i| i.as_str()) {
        Some(i) if !i.is_empty() => i.to_string(),
        _ => return Err("no event id".into()),
    };
    let kind = match top.get("type").and_then(|t| t.as_str()) {
        Some(t) if !t.is_empty() => t.to_string(),
        _ => return Err(format!("event {id} has no type")),
    };
    let created =
        top.get("created").and_then(|c| c.as_i64()).ok_or_else(|| format!("event {id} has no creation time"))?;
    let livemode = top.get("livemode").and_then(|l| l.as_bool()).unwrap_or(false);
    let object = match top.get("data").and_then(|d| d.get("object")) {
        Some(o) if o.is_object() => o.clone(),
        _ => return Err(format!("event {id} has no data.object")),
    };
    Ok(Event { id, kind, created, livemode, object })
}

impl Event {
    /// `data.object` as a Checkout Session (`checkout.session.*` events).
    pub fn checkout_session(&self) -> Result<CheckoutSession, String> {
        self.object_as("checkout.session")
    }

    /// `data.object` as a charge (`charge.*` events).
    pub fn charge(&self) -> Result<Charge, String> {
        self.object_as("charge")
    }

    fn object_as<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, String> {
        match self.object.get("object").and_then(|o| o.as_str()) {
            Some(o) if o != what => {
                return Err(format!("event {} ({}) carries a {o}, not a {what}", self.id, self.kind));
            }
            _ => {}
        }
        T::deserialize(&self.object).map_err(|e| format!("event {} ({}): unreadable {what}: {e}", self.id, self.kind))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// No `Stripe-Signature` header.
    Missing,
    /// The header is not `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`.
    Malformed(String),
    /// Signed with one of our secrets, but too long ago (positive) or in the future
    /// (negative): a replay, or a clock that is off.
    TooOld { age_secs: i64 },
    /// No `v1` signature matches the body under any of our secrets.
    NoMatch,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureError::Missing => write!(f, "the request has no Stripe-Signature header"),
            SignatureError::Malformed(m) => write!(f, "the Stripe-Signature header is malformed: {m}"),
            SignatureError::TooOld { age_secs } if *age_secs >= 0 => write!(
                f,
                "the Stripe signature is {age_secs} seconds old, more than the {TOLERANCE_SECS} accepted \
                 (a replayed request, or this server's clock is wrong)"
            ),
            SignatureError::TooOld { age_secs } => write!(
                f,
                "the Stripe signature is dated {} seconds in the future, more than the {TOLERANCE_SECS} accepted \
                 (this server's clock is wrong)",
                age_secs.saturating_neg()
            ),
            SignatureError::NoMatch => write!(
                f,
                "the Stripe signature does not match the body under our webhook signing secret \
                 (a different secret, or a changed body)"
            ),
        }
    }
}

impl std::error::Error for SignatureError {}

/// HMAC-SHA256 of `<t>.<body>` under `secret`.
fn mac(secret: &str, t: i64, body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail; if it did, nothing would verify.
    match <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(t.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

/// The `Stripe-Signature` header for `body` at `t` (for our benchmark and tests).
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex(&mac(secret, t, body)))
}

/// Checks `Stripe-Signature` as Stripe's libraries do: any `v1` matching HMAC-SHA256 of
/// `<t>.<body>` under any of `secrets` (rotation on our side), constant time; `t` older than
/// [`TOLERANCE_SECS`] (or more than that in the future) refused. Other schemes (`v0`) are
/// ignored. The signature is checked before the age, so `TooOld` means a genuine but stale
/// request.
pub fn verify(header: Option<&str>, body: &[u8], secrets: &[&str], now: jiff::Timestamp) -> Result<(), SignatureError> {
    let header = header.map(str::trim).filter(|h| !h.is_empty()).ok_or(SignatureError::Missing)?;
    let mut t: Option<i64> = None;
    let mut given: Vec<Option<Vec<u8>>> = Vec::new();
    for item in header.split(',') {
        let Some((k, v)) = item.split_once('=') else { continue };
        match k.trim() {
            "t" => {
                let v = v.trim();
                let parsed = v.parse::<i64>().map_err(|_| {
                    SignatureError::Malformed(format!(
                        "the time t=\"{}\" is not a number of seconds",
                        v.chars().take(20).collect::<String>()
                    ))
                })?;
                if t.replace(parsed).is_some() {
                    return Err(SignatureError::Malformed("more than one time (t=)".into()));
                }
            }
            // Not hex: cannot match, as in stripe-go.
            "v1" => given.push(unhex(v.trim())),
            _ => {}
        }
    }
    let t = t.ok_or_else(|| SignatureError::Malformed("no time (t=)".into()))?;
    if given.is_empty() {
        return Err(SignatureError::Malformed("no v1 signature".into()));
    }
    let mut matched = Choice::from(0);
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let expected = mac(secret, t, body);
        for g in given.iter().flatten() {
            matched |= g.as_slice().ct_eq(expected.as_slice());
        }
    }
    if !bool::from(matched) {
        return Err(SignatureError::NoMatch);
    }
    let age_secs = now.as_second().saturating_sub(t);
    if !(-TOLERANCE_SECS..=TOLERANCE_SECS).contains(&age_secs) {
        return Err(SignatureError::TooOld { age_secs });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_test_1","object":"event","type":"checkout.session.completed"}"#;
    const V1: &str = "ca796b857b81e24d595a4c37abf88d2fafb533a32ede6ce4cfc9b0e892a35b08";

    fn at(secs: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(secs).unwrap()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_documented_vector_signs_and_verifies() {
        let header = format!("t=1700000000,v1={V1}");
        assert_eq!(sign(SECRET, 1_700_000_000, BODY), header);
        assert_eq!(verify(Some(&header), BODY, &[SECRET], at(1_700_000_000)), Ok(()));
        assert_eq!(verify(Some(&header), BODY, &[SECRET], at(1_700_000_000 + TOLERANCE_SECS)), Ok(()));
        let upper = format!("t=1700000000, v1={}", V1.to_uppercase());
        assert_eq!(verify(Some(&upper), BODY, &[SECRET], at(1_700_000_010)), Ok(()), "hex case and spaces");
    }

    #[test]
    fn any_v1_may_match_and_other_schemes_are_ignored() {
        let wrong = "0".repeat(64);
        let second = format!("t=1700000000,v1={wrong},v1={V1}");
        assert_eq!(verify(Some(&second), BODY, &[SECRET], at(1_700_000_000)), Ok(()), "the second v1 matches");
        let with_v0 = format!("t=1700000000,v0={wrong},v1={V1},v0=zz");
        assert_eq!(verify(Some(&with_v0), BODY, &[SECRET], at(1_700_000_000)), Ok(()), "v0 entries are ignored");
        let only_v0 = format!("t=1700000000,v0={V1}");
        assert_eq!(
            verify(Some(&only_v0), BODY, &[SECRET], at(1_700_000_000)),
            Err(SignatureError::Malformed("no v1 signature".into())),
            "a v0 signature alone is not accepted, even a correct one"
        );
        let garbage_then_good = format!("t=1700000000,v1=not-hex,v1={V1}");
        assert_eq!(verify(Some(&garbage_then_good), BODY, &[SECRET], at(1_700_000_000)), Ok(()));
    }

    #[test]
    fn old_and_future_signatures_are_refused() {
        let header = sign(SECRET, 1_700_000_000, BODY);
        assert_eq!(
            verify(Some(&header), BODY, &[SECRET], at(1_700_000_000 + TOLERANCE_SECS + 1)),
            Err(SignatureError::TooOld { age_secs: 301 })
        );
        assert_eq!(
            verify(Some(&header), BODY, &[SECRET], at(1_700_000_000 - TOLERANCE_SECS - 1)),
            Err(SignatureError::TooOld { age_secs: -301 })
        );
        assert_eq!(verify(Some(&header), BODY, &[SECRET], at(1_700_000_000 - TOLERANCE_SECS)), Ok(()));
        let t_min = format!("t={},v1={V1}", i64::MIN);
        assert_eq!(verify(Some(&t_min), BODY, &[SECRET], at(1_700_000_000)), Err(SignatureError::NoMatch));
        let old = SignatureError::TooOld { age_secs: 301 }.to_string();
        assert!(old.contains("301 seconds old"), "{old}");
        let future = SignatureError::TooOld { age_secs: -400 }.to_string();
        assert!(future.contains("400 seconds in the future"), "{future}");
    }

    #[test]
    fn a_changed_body_time_or_secret_does_not_match() {
        let header = sign(SECRET, 1_700_000_000, BODY);
        let tampered = br#"{"id":"evt_test_1","object":"event","type":"checkout.session.completed" }"#;
        assert_eq!(verify(Some(&header), tampered, &[SECRET], at(1_700_000_000)), Err(SignatureError::NoMatch));
        let other_t = format!("t=1700000001,v1={V1}");
        assert_eq!(verify(Some(&other_t), BODY, &[SECRET], at(1_700_000_000)), Err(SignatureError::NoMatch));
        assert_eq!(verify(Some(&header), BODY, &["whsec_other"], at(1_700_000_000)), Err(SignatureError::NoMatch));
        assert_eq!(verify(Some(&header), BODY, &[], at(1_700_000_000)), Err(SignatureError::NoMatch));
        assert_eq!(verify(Some(&header), BODY, &[""], at(1_700_000_000)), Err(SignatureError::NoMatch));
        let short = format!("t=1700000000,v1={}", &V1[..62]);
        assert_eq!(verify(Some(&short), BODY, &[SECRET], at(1_700_000_000)), Err(SignatureError::NoMatch));
    }

    #[test]
    fn malformed_headers_say_what_is_wrong() {
        let now = at(1_700_000_000);
        assert_eq!(verify(None, BODY, &[SECRET], now), Err(SignatureError::Missing));
        assert_eq!(verify(Some("  "), BODY, &[SECRET], now), Err(SignatureError::Missing));
        assert_eq!(
            verify(Some(&format!("t=abc,v1={V1}")), BODY, &[SECRET], now),
            Err(SignatureError::Malformed("the time t=\"abc\" is not a number of seconds".into()))
        );
        assert_eq!(
            verify(Some(&format!("v1={V1}")), BODY, &[SECRET], now),
            Err(SignatureError::Malformed("no time (t=)".into()))
        );
        assert_eq!(
            verify(Some("t=1700000000"), BODY, &[SECRET], now),
            Err(SignatureError::Malformed("no v1 signature".into()))
        );
        assert_eq!(
            verify(Some(&format!("t=1700000000,t=1700000001,v1={V1}")), BODY, &[SECRET], now),
            Err(SignatureError::Malformed("more than one time (t=)".into()))
        );
        assert_eq!(
            verify(Some("garbage"), BODY, &[SECRET], now),
            Err(SignatureError::Malformed("no time (t=)".into()))
        );
        let m = SignatureError::Malformed("no v1 signature".into()).to_string();
        assert_eq!(m, "the Stripe-Signature header is malformed: no v1 signature");
    }

    #[test]
    fn either_of_our_two_secrets_verifies_during_a_rotation() {
        let body = br#"{"id":"evt_2"}"#;
        let old = sign("whsec_old", 1_700_000_000, body);
        let new = sign("whsec_new", 1_700_000_000, body);
        let now = at(1_700_000_100);
        assert_eq!(verify(Some(&old), body, &["whsec_new", "whsec_old"], now), Ok(()));
        assert_eq!(verify(Some(&new), body, &["whsec_new", "whsec_old"], now), Ok(()));
        assert_eq!(verify(Some(&old), body, &["whsec_new"], now), Err(SignatureError::NoMatch));
        // Stripe, rotating its side, sends one v1 per secret.
        let both = format!("{old},v1={}", &new[new.find("v1=").unwrap() + 3..]);
        assert_eq!(verify(Some(&both), body, &["whsec_new"], now), Ok(()));
    }

    /// `checkout.session.completed` as Stripe posts it (API 2024-06-20; fields trimmed).
    const COMPLETED: &str = r#"{
      "id": "evt_1PabcdEFGhijKLmn",
      "object": "event",
      "api_version": "2024-06-20",
      "created": 1718900000,
      "data": {
        "object": {
          "id": "cs_test_a1B2c3D4e5F6",
          "object": "checkout.session",
          "amount_subtotal": 18900,
          "amount_total": 18900,
          "cancel_url": "https://sb.example.com/pay/cancel?invoice=INV-1001",
          "client_reference_id": "INV-1001",
          "currency": "usd",
          "customer": null,
          "customer_details": {"address": null, "email": "jane@example.com", "name": "Jane Doe", "phone": null},
          "customer_email": "jane.prefilled@example.com",
          "expires_at": 1718986400,
          "livemode": false,
          "metadata": {"invoice_id": "42", "org_id": "7"},
          "mode": "payment",
          "payment_intent": "pi_3PabcdEFGhijKLmn0",
          "payment_status": "paid",
          "status": "complete",
          "success_url": "https://sb.example.com/pay/success?session_id={CHECKOUT_SESSION_ID}",
          "url": null
        }
      },
      "livemode": false,
      "pending_webhooks": 1,
      "request": {"id": null, "idempotency_key": null},
      "type": "checkout.session.completed"
    }"#;

    /// `charge.refunded` (API 2024-06-20: `refunds` only when expanded; shown expanded here).
    const REFUNDED: &str = r#"{
      "id": "evt_3PrefundXYZ",
      "object": "event",
      "api_version": "2024-06-20",
      "created": 1718990000,
      "data": {
        "object": {
          "id": "ch_3PabcdEFGhijKLmn0",
          "object": "charge",
          "amount": 18900,
          "amount_captured": 18900,
          "amount_refunded": 5000,
          "captured": true,
          "currency": "usd",
          "livemode": false,
          "metadata": {"invoice_id": "42", "org_id": "7"},
          "paid": true,
          "payment_intent": "pi_3PabcdEFGhijKLmn0",
          "refunded": false,
          "refunds": {
            "object": "list",
            "data": [
              {"id": "re_3Pabcd1", "object": "refund", "amount": 5000, "currency": "usd",
               "charge": "ch_3PabcdEFGhijKLmn0", "metadata": {"refund_id": "9"},
               "payment_intent": "pi_3PabcdEFGhijKLmn0", "status": "succeeded"}
            ],
            "has_more": false,
            "url": "/v1/charges/ch_3PabcdEFGhijKLmn0/refunds"
          },
          "status": "succeeded"
        },
        "previous_attributes": {"amount_refunded": 0}
      },
      "livemode": false,
      "pending_webhooks": 1,
      "request": {"id": "req_abc", "idempotency_key": "refund-9"},
      "type": "charge.refunded"
    }"#;

    #[test]
    fn a_checkout_session_completed_event_parses() {
        let e = parse_event(COMPLETED.as_bytes()).unwrap();
        assert_eq!(e.id, "evt_1PabcdEFGhijKLmn");
        assert_eq!(e.kind, "checkout.session.completed");
        assert_eq!(e.created, 1_718_900_000);
        assert!(!e.livemode);
        let s = e.checkout_session().unwrap();
        assert_eq!(s.id, "cs_test_a1B2c3D4e5F6");
        assert_eq!(s.status.as_deref(), Some("complete"));
        assert_eq!(s.payment_status, "paid");
        assert_eq!(s.amount_total, Some(18_900));
        assert_eq!(s.currency.as_deref(), Some("usd"));
        assert_eq!(s.expires_at, Some(1_718_986_400));
        assert_eq!(s.payment_intent.as_deref(), Some("pi_3PabcdEFGhijKLmn0"));
        assert_eq!(s.client_reference_id.as_deref(), Some("INV-1001"));
        assert_eq!(s.metadata.get("invoice_id").map(String::as_str), Some("42"));
        assert_eq!(s.url, None);
        assert_eq!(s.email(), Some("jane@example.com"), "what the customer typed wins over what we passed in");
        assert!(e.charge().unwrap_err().contains("carries a checkout.session, not a charge"));
    }

    #[test]
    fn a_charge_refunded_event_parses() {
        let e = parse_event(REFUNDED.as_bytes()).unwrap();
        assert_eq!(e.kind, "charge.refunded");
        let c = e.charge().unwrap();
        assert_eq!(c.id, "ch_3PabcdEFGhijKLmn0");
        assert_eq!((c.amount, c.amount_refunded, c.refunded), (18_900, 5_000, false));
        assert_eq!(c.currency, "usd");
        assert_eq!(c.payment_intent.as_deref(), Some("pi_3PabcdEFGhijKLmn0"));
        assert_eq!(c.metadata.get("org_id").map(String::as_str), Some("7"));
        assert_eq!(
            c.refunds,
            vec![RefundObject {
                id: "re_3Pabcd1".into(),
                amount: 5_000,
                currency: "usd".into(),
                status: "succeeded".into(),
                payment_intent: Some("pi_3PabcdEFGhijKLmn0".into()),
            }]
        );
        assert!(e.checkout_session().is_err());
    }

    #[test]
    fn optional_shapes_parse_too() {
        // An unexpanded charge: no refunds list; an expanded payment_intent; nulls.
        let charge: Charge = serde_json::from_str(
            r#"{"id":"ch_1","object":"charge","amount":100,"amount_refunded":100,"currency":"usd",
                "refunded":true,"payment_intent":{"id":"pi_1","object":"payment_intent"},"metadata":null}"#,
        )
        .unwrap();
        assert_eq!(charge.refunds, vec![]);
        assert_eq!(charge.payment_intent.as_deref(), Some("pi_1"));
        assert!(charge.metadata.is_empty());
        let open: CheckoutSession = serde_json::from_str(
            r#"{"id":"cs_1","object":"checkout.session","status":"open","payment_status":"unpaid",
                "payment_intent":null,"url":"https://checkout.stripe.com/c/pay/cs_1","customer_email":null,
                "customer_details":null}"#,
        )
        .unwrap();
        assert_eq!(open.payment_intent, None);
        assert_eq!(open.url.as_deref(), Some("https://checkout.stripe.com/c/pay/cs_1"));
        assert_eq!(open.email(), None);
        let prefilled: CheckoutSession =
            serde_json::from_str(r#"{"id":"cs_2","payment_status":"unpaid","customer_email":"a@example.com"}"#)
                .unwrap();
        assert_eq!(prefilled.email(), Some("a@example.com"));
        let refund: RefundObject =
            serde_json::from_str(r#"{"id":"re_1","amount":5,"currency":"usd","status":null}"#).unwrap();
        assert_eq!((refund.status.as_str(), refund.payment_intent), ("", None));
    }

    #[test]
    fn bad_events_are_refused_with_a_reason() {
        let err = |b: &str| parse_event(b.as_bytes()).unwrap_err();
        assert!(err("not json").starts_with("the event is not JSON"));
        assert_eq!(err("[1]"), "the event is not a JSON object");
        assert_eq!(err(r#"{"type":"x","created":1,"data":{"object":{}}}"#), "no event id");
        assert_eq!(err(r#"{"id":"","type":"x","created":1,"data":{"object":{}}}"#), "no event id");
        assert_eq!(err(r#"{"id":"evt_1","created":1,"data":{"object":{}}}"#), "event evt_1 has no type");
        assert_eq!(err(r#"{"id":"evt_1","type":"x","data":{"object":{}}}"#), "event evt_1 has no creation time");
        assert_eq!(err(r#"{"id":"evt_1","type":"x","created":1}"#), "event evt_1 has no data.object");
        assert_eq!(
            err(r#"{"id":"cs_1","object":"checkout.session","type":"x","created":1,"data":{"object":{}}}"#),
            r#"the body is not an event (its object is "checkout.session")"#
        );
        let e = parse_event(
            br#"{"id":"evt_1","type":"checkout.session.completed","created":1,"data":{"object":{"id":"cs_1"}}}"#,
        )
        .unwrap();
        assert!(e.checkout_session().unwrap_err().contains("unreadable checkout.session"));
    }

    fn new_checkout() -> NewCheckout {
        NewCheckout {
            amount: Money::new(18_900, Currency::Usd),
            name: "Invoice INV-1001 · Imaginary Plumbing".into(),
            customer_email: Some("jane@example.com".into()),
            success_url: "https://sb.example.com/pay/success?session_id={CHECKOUT_SESSION_ID}".into(),
            cancel_url: "https://sb.example.com/pay/cancel?invoice=INV-1001".into(),
            client_reference_id: Some("INV-1001".into()),
            metadata: pairs(&[("invoice_id", "42"), ("org_id", "7")]),
            expires_at: Some(at(1_718_986_400)),
            idempotency_key: "checkout-42-1".into(),
        }
    }

    #[test]
    fn a_checkout_is_encoded_in_bracket_notation() {
        assert_eq!(
            checkout_form(&new_checkout()),
            pairs(&[
                ("mode", "payment"),
                ("line_items[0][price_data][currency]", "usd"),
                ("line_items[0][price_data][unit_amount]", "18900"),
                ("line_items[0][price_data][product_data][name]", "Invoice INV-1001 · Imaginary Plumbing"),
                ("line_items[0][quantity]", "1"),
                ("success_url", "https://sb.example.com/pay/success?session_id={CHECKOUT_SESSION_ID}"),
                ("cancel_url", "https://sb.example.com/pay/cancel?invoice=INV-1001"),
                ("client_reference_id", "INV-1001"),
                ("customer_email", "jane@example.com"),
                ("metadata[invoice_id]", "42"),
                ("metadata[org_id]", "7"),
                ("payment_intent_data[metadata][invoice_id]", "42"),
                ("payment_intent_data[metadata][org_id]", "7"),
                ("expires_at", "1718986400"),
            ])
        );
        let bare = NewCheckout {
            customer_email: None,
            client_reference_id: None,
            metadata: vec![],
            expires_at: None,
            ..new_checkout()
        };
        assert_eq!(checkout_form(&bare).len(), 7, "only the required fields");
        assert_eq!(
            refund_form("pi_1", Money::usd(5_000), &pairs(&[("refund_id", "9")])),
            pairs(&[("payment_intent", "pi_1"), ("amount", "5000"), ("metadata[refund_id]", "9")])
        );
    }

    #[test]
    fn unsafe_metadata_keys_and_ids_are_refused_before_any_call() {
        assert_eq!(check_metadata(&pairs(&[("invoice_id", "1")])), Ok(()));
        assert!(check_metadata(&pairs(&[("a]b", "1")])).is_err());
        assert!(check_metadata(&pairs(&[("", "1")])).is_err());
        assert!(check_metadata(&pairs(&[(&"k".repeat(41), "1")])).is_err());
        assert_eq!(check_id("cs_test_a1B2c3", "Checkout Session"), Ok(()));
        assert!(check_id("cs_1/../../v1/customers", "Checkout Session").is_err());
        assert!(check_id("", "PaymentIntent").is_err());
    }

    #[test]
    fn stripe_errors_map_to_retry_or_refusal() {
        let card = r#"{"error":{"type":"invalid_request_error","code":"amount_too_small",
            "message":"Amount must be at least $0.50 usd","param":"line_items[0][price_data][unit_amount]"}}"#;
        assert_eq!(
            error_of(400, card),
            PaymentError::Rejected {
                code: Some("amount_too_small".into()),
                message: "Amount must be at least $0.50 usd (parameter line_items[0][price_data][unit_amount])".into()
            }
        );
        let no_code = r#"{"error":{"type":"invalid_request_error","message":"No such checkout.session: 'cs_x'"}}"#;
        assert_eq!(
            error_of(404, no_code),
            PaymentError::Rejected {
                code: Some("invalid_request_error".into()),
                message: "No such checkout.session: 'cs_x'".into()
            }
        );
        let key = r#"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_abcdefgh12345678"}}"#;
        match error_of(401, key) {
            PaymentError::Rejected { message, .. } => {
                assert!(message.contains("refused the secret key"), "{message}");
                assert!(!message.contains("abcdefgh"), "the key never reaches a message: {message}");
            }
            other => panic!("a refused key is not worth retrying: {other:?}"),
        }
        assert!(matches!(error_of(429, r#"{"error":{"type":"invalid_request_error","code":"rate_limit"}}"#),
            PaymentError::Transient(m) if m.contains("429") && m.contains("rate_limit")));
        assert!(matches!(error_of(409, r#"{"error":{"type":"invalid_request_error","code":"lock_timeout"}}"#),
            PaymentError::Transient(m) if m.contains("lock_timeout")));
        assert!(matches!(error_of(500, r#"{"error":{"type":"api_error","message":"boom"}}"#),
            PaymentError::Transient(m) if m.contains("boom")));
        assert_eq!(
            error_of(503, "<html>Service Unavailable</html>"),
            PaymentError::Transient("Stripe answered HTTP 503: \"<html>Service Unavailable</html>\"".into())
        );
        assert_eq!(
            error_of(400, ""),
            PaymentError::Rejected { code: None, message: "no details".into() },
            "an empty body still says something"
        );
        assert_eq!(
            PaymentError::Rejected { code: Some("card_declined".into()), message: "Your card was declined.".into() }
                .to_string(),
            "rejected by Stripe (card_declined): Your card was declined."
        );
    }

    #[test]
    fn the_config_never_shows_its_key() {
        // `Stripe`'s derived Debug shows its config through this. (Building a client needs the
        // rustls provider the web crate installs, so it is not built here.)
        let config = StripeConfig { base_url: STRIPE_API.into(), secret_key: "sk_test_secret123".into() };
        let shown = format!("{config:?}");
        assert!(!shown.contains("secret123"), "{shown}");
        assert!(shown.contains("api.stripe.com"), "{shown}");
    }
}
