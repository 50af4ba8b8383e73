//! The Twilio adapter's wire format, checked against a bare HTTP capture (not our stand-in):
//! the exact request it sends, and how it reads Twilio's documented responses and errors.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use switchboard_core::providers::twilio::{TwilioConfig, TwilioSms};
use switchboard_core::providers::{OutboundSms, SendError, SmsProvider};

/// Method, URI, headers and body of one request.
type Request = (String, String, HeaderMap, String);

#[derive(Clone, Default)]
struct Captured {
    requests: Arc<Mutex<Vec<Request>>>,
    reply: Arc<Mutex<(u16, String)>>,
}

async fn capture(
    State(c): State<Captured>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    c.requests.lock().unwrap().push((method.to_string(), uri.to_string(), headers, body));
    let (status, body) = c.reply.lock().unwrap().clone();
    (StatusCode::from_u16(status).unwrap(), [("content-type", "application/json")], body)
}

async fn capture_server(status: u16, body: &str) -> (String, Captured) {
    crate::helpers::init();
    let captured = Captured::default();
    *captured.reply.lock().unwrap() = (status, body.to_string());
    let app = Router::new().fallback(capture).with_state(captured.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), captured)
}

fn adapter(base: &str) -> TwilioSms {
    TwilioSms::new(TwilioConfig {
        base_url: base.into(),
        account_sid: "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX".into(),
        auth_token: "your_auth_token".into(),
    })
    .unwrap()
}

/// Abridged from Twilio's documented "Create a Message" response.
const CREATED: &str = r#"{"account_sid":"ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX","api_version":"2010-04-01","body":"Hi there","date_created":"Thu, 24 Aug 2023 05:01:45 +0000","date_sent":null,"date_updated":"Thu, 24 Aug 2023 05:01:45 +0000","direction":"outbound-api","error_code":null,"error_message":null,"from":"+14155552345","num_media":"0","num_segments":"1","price":null,"price_unit":"USD","messaging_service_sid":null,"sid":"SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX","status":"queued","subresource_uris":{"media":"/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages/SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Media.json"},"to":"+14155552345","uri":"/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages/SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX.json"}"#;

fn sms() -> OutboundSms {
    OutboundSms {
        from: "+14155552345".into(),
        to: "+14155552346".into(),
        body: "Hi there & welcome".into(),
        status_callback: Some("https://sb.example.com/webhooks/twilio/sms-status?m=7".into()),
    }
}

#[tokio::test]
async fn sends_the_documented_request_and_reads_the_documented_response() {
    let (base, captured) = capture_server(201, CREATED).await;
    let accepted = adapter(&base).send(sms()).await.unwrap();
    assert_eq!(accepted.provider_id, "SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
    assert_eq!(accepted.status, "queued");

    let requests = captured.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let (method, uri, headers, body) = &requests[0];
    assert_eq!(method, "POST");
    assert_eq!(uri, "/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages.json");
    assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
    // HTTP Basic with AccountSid:AuthToken.
    assert_eq!(headers["authorization"], "Basic QUNYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWDp5b3VyX2F1dGhfdG9rZW4=");
    let form: Vec<(String, String)> = serde_urlencoded::from_str(body).unwrap();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("To"), Some("+14155552346"));
    assert_eq!(get("From"), Some("+14155552345"));
    assert_eq!(get("Body"), Some("Hi there & welcome"));
    assert_eq!(get("StatusCallback"), Some("https://sb.example.com/webhooks/twilio/sms-status?m=7"));
}

#[tokio::test]
async fn twilio_errors_are_sorted_into_rejections_and_retries() {
    let invalid = r#"{"code": 21211, "message": "The 'To' number 5551234 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#;
    let (base, _) = capture_server(400, invalid).await;
    match adapter(&base).send(sms()).await {
        Err(SendError::Rejected { code, message }) => {
            assert_eq!(code, Some(21211));
            assert!(message.contains("not a valid phone number"));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let (base, _) = capture_server(500, r#"{"code": 20500, "message": "Internal Server Error", "status": 500}"#).await;
    assert!(matches!(adapter(&base).send(sms()).await, Err(SendError::Transient(_))), "5xx is retried");
    let (base, _) = capture_server(429, r#"{"code": 20429, "message": "Too Many Requests", "status": 429}"#).await;
    assert!(matches!(adapter(&base).send(sms()).await, Err(SendError::Transient(_))), "429 is retried");
    let (base, _) = capture_server(401, r#"{"code": 20003, "message": "Authenticate", "status": 401}"#).await;
    match adapter(&base).send(sms()).await {
        Err(SendError::Transient(m)) => assert!(m.contains("20003"), "{m}"),
        other => panic!("bad credentials are retried until an admin fixes them, got {other:?}"),
    }
    assert!(
        matches!(adapter("http://127.0.0.1:9").send(sms()).await, Err(SendError::Transient(_))),
        "no connection is retried"
    );
}
