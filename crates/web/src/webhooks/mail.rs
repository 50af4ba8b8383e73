//! Inbound email: the SMTP listener's mailbox (accepts mail for brands' inbound addresses
//! only) and the Postmark inbound webhook.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use switchboard_core::clock::SharedClock;
use switchboard_core::db::Db;
use switchboard_core::engine::BoxFuture;
use switchboard_core::messaging::{self, InboundEmail, InboundOutcome};
use switchboard_core::providers::smtp_server::{Mailbox, ReceivedMail};
use switchboard_core::secret::constant_time_eq;

use crate::state::AppState;

pub struct BrandMailbox {
    db: Db,
    clock: SharedClock,
}

impl BrandMailbox {
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }
}

impl Mailbox for BrandMailbox {
    fn accepts(&self, rcpt: String) -> BoxFuture<bool> {
        let db = self.db.clone();
        Box::pin(async move {
            match messaging::accepts_email(&db, &rcpt).await {
                Ok(yes) => yes,
                Err(e) => {
                    tracing::error!(error = %e, "checking an inbound recipient failed");
                    false
                }
            }
        })
    }

    fn deliver(&self, mail: ReceivedMail) -> BoxFuture<Result<(), String>> {
        let db = self.db.clone();
        let clock = self.clock.clone();
        Box::pin(async move {
            let email = messaging::parse_raw(&mail.data, &mail.mail_from, mail.rcpt_to);
            let outcome = switchboard_core::inbound::receive_email(&db, clock.as_ref(), &email)
                .await
                .map_err(|e| e.to_string())?;
            metrics::counter!("inbound_email_total", "via" => "smtp", "outcome" => outcome_label(&outcome))
                .increment(1);
            Ok(())
        })
    }
}

fn outcome_label(o: &InboundOutcome) -> &'static str {
    match o {
        InboundOutcome::Stored { .. } => "stored",
        InboundOutcome::Duplicate => "duplicate",
        InboundOutcome::UnknownNumber => "unknown_recipient",
    }
}

/// The parts of Postmark's inbound JSON we use.
/// <https://postmarkapp.com/developer/webhooks/inbound-webhook>
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PostmarkInbound {
    #[serde(default)]
    from_full: Option<PostmarkAddress>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    from_name: Option<String>,
    #[serde(default)]
    reply_to: Option<String>,
    #[serde(default)]
    to_full: Vec<PostmarkAddress>,
    #[serde(default)]
    cc_full: Vec<PostmarkAddress>,
    #[serde(default)]
    original_recipient: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(rename = "MessageID")]
    message_id: String,
    #[serde(default)]
    text_body: Option<String>,
    #[serde(default)]
    headers: Vec<PostmarkHeader>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PostmarkAddress {
    email: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PostmarkHeader {
    name: String,
    value: String,
}

/// HTTP Basic credentials whose password is the configured token (Postmark puts them in the
/// webhook URL: `https://postmark:TOKEN@host/webhooks/postmark/inbound`).
fn authorized(state: &AppState, headers: &HeaderMap) -> Result<(), (StatusCode, &'static str)> {
    let Some(token) = &state.config.inbound_email_token else {
        return Err((
            StatusCode::FORBIDDEN,
            "the inbound email webhook is not configured (SWITCHBOARD_INBOUND_EMAIL_TOKEN)",
        ));
    };
    let password = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| pair.split_once(':').map(|(_, p)| p.to_string()));
    match password {
        Some(p) if constant_time_eq(&p, token.expose()) => Ok(()),
        _ => Err((StatusCode::UNAUTHORIZED, "wrong or missing credentials")),
    }
}

pub async fn postmark_inbound(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Err((status, reason)) = authorized(&state, &headers) {
        return (status, [(header::WWW_AUTHENTICATE, "Basic realm=\"switchboard\"")], reason).into_response();
    }
    let inbound: PostmarkInbound = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("not a Postmark inbound message: {e}")).into_response(),
    };
    let message_id = inbound
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("Message-ID"))
        .map(|h| h.value.trim().to_string())
        .unwrap_or_else(|| format!("<postmark-{}>", inbound.message_id));
    let mut recipients: Vec<String> = inbound.original_recipient.into_iter().collect();
    recipients.extend(inbound.to_full.into_iter().chain(inbound.cc_full).map(|a| a.email));
    let header = |name: &str| {
        inbound.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.trim().to_lowercase())
    };
    let automated = messaging::is_automated(
        header("Auto-Submitted").as_deref(),
        header("Precedence").as_deref(),
        header("List-Id").is_some() || header("List-Unsubscribe").is_some() || header("X-Autoreply").is_some(),
        "postmark",
    );
    let from = inbound.from_full.map(|a| a.email).or(inbound.from).unwrap_or_default().to_lowercase();
    let reply_to = inbound.reply_to.map(|r| r.trim().to_lowercase()).filter(|r| !r.is_empty() && *r != from);
    let email = InboundEmail {
        provider: "email",
        message_id,
        from_name: inbound.from_name.filter(|n| !n.trim().is_empty()),
        reply_to,
        automated,
        from,
        recipients: recipients.into_iter().map(|r| r.to_lowercase()).collect(),
        subject: inbound.subject.unwrap_or_default(),
        text: inbound.text_body.unwrap_or_default(),

        // Postmark reports bounces through its own bounce webhook, not as inbound mail.
        bounce: None,
    };
    match switchboard_core::inbound::receive_email(&state.db, state.clock.as_ref(), &email).await {
        Ok(outcome) => {
            metrics::counter!("inbound_email_total", "via" => "postmark", "outcome" => outcome_label(&outcome))
                .increment(1);
            let status = match outcome {
                InboundOutcome::Stored { .. } => "stored",
                InboundOutcome::Duplicate => "duplicate",
                InboundOutcome::UnknownNumber => "no brand receives mail at this address",
            };
            Json(serde_json::json!({ "status": status })).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "storing inbound email failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "could not store the message").into_response()
        }
    }
}
