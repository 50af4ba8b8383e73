//! Liveness and metrics for operators and load balancers.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

/// `200 {"status":"ok","database":"sqlite"}`, or 503 with the reason the database failed.
pub async fn healthz(State(state): State<AppState>) -> Response {
    let backend = state.db.backend().name();
    match tokio::time::timeout(Duration::from_secs(3), state.db.ping()).await {
        Ok(Ok(())) => Json(json!({ "status": "ok", "database": backend })).into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            let reason = match e {
                switchboard_core::Error::Db(sqlx::Error::PoolClosed) => {
                    "database connection pool is closed".to_string()
                }
                switchboard_core::Error::Db(sqlx::Error::PoolTimedOut) => {
                    "timed out waiting for a database connection".to_string()
                }
                _ => "database query failed".to_string(),
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": backend, "reason": reason })),
            )
                .into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "status": "unavailable", "database": backend, "reason": "database did not answer within 3 s" }),
            ),
        )
            .into_response(),
    }
}

/// Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    // Queue depths come from the database (every instance's work), read at each scrape.
    if let Err(e) = switchboard_core::engine::report_depths(&state.db, &state.engine.kinds()).await {
        tracing::warn!(error = %e, "reading the engine's queue depths for /metrics failed");
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}
