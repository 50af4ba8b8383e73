//! The customer's side of the voice tests: a tiny web app on loopback that answers the stand-in's
//! voice requests with TwiML chosen by each test, checks every request's `X-Twilio-Signature`
//! with the crate's `signature()`, and keeps every request it got, in order.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Uri, header};
use axum::response::IntoResponse;
use switchboard_standins::twilio::{TwilioStandin, signature};

pub const BRAND: &str = "+15017122661";
pub const CALLER: &str = "+14155550100";
pub const ANA: &str = "+15551230023";
pub const BO: &str = "+15551230031";

/// One request the customer's app received.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub query: Vec<(String, String)>,
    pub params: Vec<(String, String)>,
    /// Whether `X-Twilio-Signature` matched the URL and parameters.
    pub signed: bool,
}

impl Hit {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A parameter that must be there.
    pub fn p(&self, name: &str) -> &str {
        self.param(name).unwrap_or_else(|| panic!("no {name} in {} {:?}", self.path, self.params))
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

type Answer = Arc<dyn Fn(&Hit, &str) -> String + Send + Sync>;

#[derive(Clone)]
struct App {
    auth_token: String,
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    answer: Answer,
}

/// The customer's app, as the tests see it.
pub struct Customer {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Customer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// The requests to `path`, in order.
    pub fn at(&self, path: &str) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.path == path).collect()
    }

    /// The one request to `path`.
    pub fn one(&self, path: &str) -> Hit {
        let hits = self.at(path);
        assert_eq!(hits.len(), 1, "requests to {path}: {hits:?}");
        hits.into_iter().next().unwrap()
    }

    /// Where the first request to `path` came in the order of all requests.
    pub fn position(&self, path: &str) -> usize {
        self.hits().iter().position(|h| h.path == path).unwrap_or_else(|| panic!("no request to {path}"))
    }

    pub fn all_signed(&self) {
        for h in self.hits() {
            assert!(h.signed, "unsigned or badly signed request: {h:?}");
        }
    }
}

/// `body` inside a TwiML document.
pub fn twiml(body: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{body}</Response>")
}

async fn handle(State(app): State<App>, uri: Uri, headers: HeaderMap, body: String) -> impl IntoResponse {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let url = format!("http://{host}{uri}");
    let params: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let expected = signature(&app.auth_token, &url, &params);
    let signed = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok()) == Some(expected.as_str());
    let hit = Hit {
        path: uri.path().to_string(),
        query: serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default(),
        params,
        signed,
    };
    app.hits.lock().unwrap().push(hit.clone());
    let twiml = (app.answer)(&hit, &app.base);
    ([(header::CONTENT_TYPE, "text/xml")], twiml)
}

/// The stand-in (one TwiML second = 20 ms, conversations of 50 ms) and the customer's app,
/// whose `/voice` is every number's Voice URL and `/status` their status callback. `answer`
/// gets each request and the app's base URL and returns the TwiML to answer with.
pub async fn start(answer: impl Fn(&Hit, &str) -> String + Send + Sync + 'static) -> (TwilioStandin, Customer) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let twilio = TwilioStandin::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    twilio.set_second(Duration::from_millis(20));
    twilio.set_talk_time(Duration::from_millis(50));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(Mutex::new(Vec::new()));
    let app = App {
        auth_token: twilio.auth_token().to_string(),
        base: base.clone(),
        hits: hits.clone(),
        answer: Arc::new(answer),
    };
    let router = Router::new().fallback(handle).with_state(app);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let customer = Customer { base, hits };
    twilio.set_voice_webhook(customer.url("/voice"));
    twilio.set_voice_status_callback(customer.url("/status"));
    (twilio, customer)
}

/// Waits for every call to end.
pub async fn settle(twilio: &TwilioStandin) {
    twilio.settle(Duration::from_secs(20)).await.unwrap();
}

/// The URL of an API resource of the stand-in's account (`path` after `Accounts/{sid}/`).
pub fn api(twilio: &TwilioStandin, path: &str) -> String {
    format!("{}/2010-04-01/Accounts/{}/{path}", twilio.base_url(), twilio.account_sid())
}

/// `GET` an API resource with the account's Basic auth: the status and the JSON body (null
/// when there is none).
pub async fn get_json(twilio: &TwilioStandin, path: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .get(api(twilio, path))
        .basic_auth(twilio.account_sid(), Some(twilio.auth_token()))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// `POST` a form to an API resource with the account's Basic auth.
pub async fn post_form(twilio: &TwilioStandin, path: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(api(twilio, path))
        .basic_auth(twilio.account_sid(), Some(twilio.auth_token()))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// Places a call through `Calls.json` from the brand's number, as the app does; returns its sid.
pub async fn place_call(twilio: &TwilioStandin, to: &str, url: &str, status_callback: &str) -> String {
    let form = [("To", to), ("From", BRAND), ("Url", url), ("StatusCallback", status_callback)];
    let (status, body) = post_form(twilio, "Calls.json", &form).await;
    assert_eq!(status, 201, "{body}");
    body["sid"].as_str().unwrap().to_string()
}

/// Polls `check` every few milliseconds until it gives a value (at most 5 s).
pub async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
