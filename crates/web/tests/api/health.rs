use crate::helpers::{backend, spawn_app};

#[tokio::test]
async fn healthz_reports_ok_and_the_backend() {
    let app = spawn_app().await;
    let resp = app.client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], backend().name(), "healthz names the database backend in use");
}

#[tokio::test]
async fn healthz_is_503_with_a_reason_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.close().await;
    let resp = app.client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert!(body["reason"].as_str().is_some_and(|r| !r.is_empty()), "a reason is given: {body}");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_server_errors_show_it() {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    let _ = org;
    let browser = app.signed_in(&admin.email).await;
    let resp = browser.get("/jobs").await;
    let id = resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    assert!(id.as_deref().is_some_and(|i| i.len() >= 32), "x-request-id is set: {id:?}");

    // A client-sent id is kept, so logs can be joined across a proxy.
    let resp = app.client().get(app.url("/healthz")).header("x-request-id", "edge-1234").send().await.unwrap();
    assert_eq!(resp.headers()["x-request-id"], "edge-1234");

    // With the database gone, a page fails with 500 and shows the reference, not internals.
    app.db.close().await;
    let resp = browser.get("/jobs").await;
    assert_eq!(resp.status(), 500);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let page = resp.text().await.unwrap();
    assert!(page.contains(&id), "the error page shows the request id");
    assert!(!page.to_lowercase().contains("pool"), "internal error text is not shown: {page}");
}

#[tokio::test]
async fn metrics_are_exported_in_prometheus_format() {
    let app = spawn_app().await;
    app.client().get(app.url("/healthz")).send().await.unwrap();
    let resp = app.client().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = resp.text().await.unwrap();
    assert!(text.contains("# TYPE http_requests_total counter"), "{text}");
    assert!(text.contains("route=\"/healthz\""), "requests are labelled by route: {text}");
}

#[tokio::test]
async fn metrics_show_the_engine_per_kind_queued_running_failed_and_lateness() {
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("acme").await;
    let brand = app.sms_brand(org, "Acme HVAC", "(720) 555-0100").await;
    let key = app.api_key(org).await;
    for to in ["+13035550142", "+13035550143"] {
        let resp = app
            .client()
            .post(app.url("/api/v1/messages"))
            .bearer_auth(&key)
            .json(&serde_json::json!({"brand_id": brand.id.0, "to": to, "body": "hello"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);
    }
    let text = app.client().get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for kind in ["sms.send", "email.send", "notify.customer", "geocode.job"] {
        for status in ["pending", "running", "dead"] {
            let line = format!("engine_items{{kind=\"{kind}\",status=\"{status}\"}}");
            assert!(text.contains(&line), "the queue depth of every kind is exported ({line}): {text}");
        }
    }
    app.engine.tick().await.unwrap();
    let text = app.client().get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains("engine_lateness_seconds_count{kind=\"sms.send\"}")
            || text.contains("engine_lateness_seconds{kind=\"sms.send\",quantile="),
        "how late claimed items were, per kind: {text}"
    );
    assert!(text.contains("engine_items_total{kind=\"sms.send\",outcome=\"done\"}"), "outcomes per kind: {text}");
    assert!(text.contains("engine_items_running{kind=\"sms.send\"}"), "items running now, per kind: {text}");
}

#[tokio::test]
async fn shutdown_drains_and_closes_the_database() {
    let mut app = spawn_app().await;
    assert_eq!(app.client().get(app.url("/healthz")).send().await.unwrap().status(), 200);
    app.shutdown().await;
    assert!(app.db.pool().is_closed(), "the pool is closed after shutdown");
    assert!(app.client().get(app.url("/healthz")).send().await.is_err(), "the port no longer answers");
}

#[tokio::test]
async fn assets_are_embedded_and_unknown_pages_are_404() {
    let app = spawn_app().await;
    let css = app.client().get(app.url("/assets/app.css")).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    let htmx = app.client().get(app.url("/assets/vendor/htmx-2.0.11.min.js")).send().await.unwrap();
    assert_eq!(htmx.status(), 200);
    assert!(htmx.text().await.unwrap().contains("htmx"));
    assert_eq!(app.client().get(app.url("/assets/nope.css")).send().await.unwrap().status(), 404);
    let page = app.client().get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(page.status(), 404);
    assert!(page.text().await.unwrap().contains("Not found"));
}
