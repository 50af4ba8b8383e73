//! Stripe's events at `/webhooks/stripe`: the `Stripe-Signature` is checked over the exact
//! bytes received (any `v1` under any of our secrets, at most 300 s old) before the body is
//! read; a bad or old signature gets 400 and changes nothing. Each event is applied once, in
//! the transaction that records its id, before we answer 200; an error answers 500 so Stripe
//! delivers it again.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use switchboard_core::billing::pay::{self, Applied};
use switchboard_core::providers::stripe;

use crate::state::AppState;

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

pub async fn events(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(settings) = state.config.stripe.as_ref() else {
        return answer(StatusCode::SERVICE_UNAVAILABLE, serde_json::json!({"error": "Stripe is not configured here"}));
    };
    let secrets: Vec<&str> = settings.webhook_secrets.iter().map(|s| s.expose()).collect();
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    if let Err(e) = stripe::verify(signature, &body, &secrets, state.clock.now()) {
        metrics::counter!("webhook_rejected_total", "provider" => "stripe", "reason" => "bad_signature").increment(1);
        tracing::warn!("Stripe webhook refused: {e}");
        return answer(StatusCode::BAD_REQUEST, serde_json::json!({"error": e.to_string()}));
    }
    let event = match stripe::parse_event(&body) {
        Ok(e) => e,
        Err(e) => return answer(StatusCode::BAD_REQUEST, serde_json::json!({"error": e})),
    };
    match pay::apply_event(&state.db, state.clock.as_ref(), &event).await {
        Ok(applied) => {
            let (outcome, detail) = match applied {
                Applied::Duplicate => ("duplicate", String::new()),
                Applied::Ignored(why) => ("ignored", why),
                Applied::Done(what) => ("applied", what),
            };
            metrics::counter!("stripe_events_total", "outcome" => outcome).increment(1);
            tracing::info!(event = %event.id, kind = %event.kind, outcome, "{detail}");
            answer(StatusCode::OK, serde_json::json!({"received": true, "outcome": outcome, "detail": detail}))
        }
        Err(switchboard_core::Error::Invalid(fields)) => {
            let message = fields.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; ");
            answer(StatusCode::BAD_REQUEST, serde_json::json!({"error": message}))
        }
        Err(e) => {
            tracing::error!(event = %event.id, "cannot apply a Stripe event: {e}");
            answer(StatusCode::INTERNAL_SERVER_ERROR, serde_json::json!({"error": "not applied; deliver it again"}))
        }
    }
}
