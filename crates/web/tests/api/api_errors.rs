//! Every kind of bad API input gets the right status and a JSON error a person can read.

use serde_json::json;

use crate::helpers::{json, spawn_app};

async fn setup() -> (crate::helpers::TestApp, String) {
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("acme").await;
    let key = app.api_key(org).await;
    (app, key)
}

fn assert_error(body: &serde_json::Value, code: &str, says: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "message {message:?} should mention {says:?}");
}

#[tokio::test]
async fn missing_malformed_and_revoked_credentials_are_401() {
    let (app, key) = setup().await;
    let api = app.client();
    let (status, body) = json(api.get(app.url("/api/v1/brands")).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_error(&body, "unauthorized", "Authorization: Bearer");
    let (status, body) =
        json(api.get(app.url("/api/v1/brands")).header("authorization", format!("Basic {key}")).send().await.unwrap())
            .await;
    assert_eq!(status, 401);
    assert_error(&body, "unauthorized", "Bearer");
    let (status, body) =
        json(api.get(app.url("/api/v1/brands")).bearer_auth("sb_not-a-real-key").send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_error(&body, "unauthorized", "not valid");
}

#[tokio::test]
async fn malformed_json_is_400() {
    let (app, key) = setup().await;
    let resp = app
        .client()
        .post(app.url("/api/v1/brands"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    let (status, body) = json(resp).await;
    assert_eq!(status, 400);
    assert_error(&body, "malformed_json", "not valid JSON");
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_422_and_name_the_problem() {
    let (app, key) = setup().await;
    let api = app.client();
    let (status, body) = json(
        api.post(app.url("/api/v1/brands"))
            .bearer_auth(&key)
            .json(&json!({"name": "X", "time_zone": "UTC", "colour": "#fff"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert_error(&body, "invalid_body", "unknown field `colour`");
    let (status, body) = json(
        api.post(app.url("/api/v1/brands"))
            .bearer_auth(&key)
            .json(&json!({"name": 42, "time_zone": "UTC"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert_error(&body, "invalid_body", "invalid type");
    let (status, body) =
        json(api.post(app.url("/api/v1/brands")).bearer_auth(&key).json(&json!({"name": "X"})).send().await.unwrap())
            .await;
    assert_eq!(status, 422);
    assert_error(&body, "invalid_body", "missing field `time_zone`");
}

#[tokio::test]
async fn rule_violations_are_422_with_per_field_errors() {
    let (app, key) = setup().await;
    let (status, body) = json(
        app.client()
            .post(app.url("/api/v1/brands"))
            .bearer_auth(&key)
            .json(&json!({"name": "X", "time_zone": "Nowhere/Land", "sms_number": "12"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "validation_failed");
    let fields: Vec<&str> =
        body["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["time_zone", "sms_number"]);
    let (n,): (i64,) = sqlx::query_as("select count(*) from brands").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(n, 0, "nothing half-written");
}

#[tokio::test]
async fn oversize_bodies_are_413() {
    let (app, key) = setup().await;
    let big = format!("{{\"name\": \"{}\", \"time_zone\": \"UTC\"}}", "x".repeat(2 * 1024 * 1024));
    let resp = app
        .client()
        .post(app.url("/api/v1/brands"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let (status, body) = json(resp).await;
    assert_eq!(status, 413);
    assert_error(&body, "body_too_large", "limit");
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let (app, key) = setup().await;
    let resp = app
        .client()
        .post(app.url("/api/v1/brands"))
        .bearer_auth(&key)
        .body("name=x")
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    let (status, body) = json(resp).await;
    assert_eq!(status, 415);
    assert_error(&body, "unsupported_media_type", "application/json");
}

#[tokio::test]
async fn bad_and_unknown_ids_and_routes() {
    let (app, key) = setup().await;
    let api = app.client();
    let (status, body) = json(api.get(app.url("/api/v1/brands/abc")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_error(&body, "invalid_id", "\"abc\" is not a valid id");
    let (status, body) = json(api.get(app.url("/api/v1/brands/-3")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_error(&body, "invalid_id", "not a valid id");
    let (status, body) = json(api.get(app.url("/api/v1/users/424242")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(status, 404);
    assert_error(&body, "not_found", "user not found");
    let (status, body) = json(api.get(app.url("/api/v1/nothing-here")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(status, 404);
    assert_error(&body, "not_found", "/api/v1/nothing-here");
    let (status, body) = json(api.delete(app.url("/api/v1/brands")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(status, 405, "a known path with an unsupported method");
    assert_error(&body, "method_not_allowed", "DELETE");
}

#[tokio::test]
async fn bad_form_input_in_the_console_is_a_clear_page_not_a_crash() {
    let app = spawn_app().await;
    let (_, admin) = app.org_with_admin("acme").await;
    let b = app.signed_in(&admin.email).await;
    assert_eq!(b.get("/settings/brands/not-a-number").await.status(), 404);
    assert_eq!(b.get("/settings/users/0").await.status(), 404);
    let (status, page) = b.get_text("/jobs?status=bogus").await;
    assert_eq!(status, 400);
    assert!(page.contains("is not a job status"));
    let resp = b.post_form("/session/brand", &[("brand_id", "999999")]).await;
    assert_eq!(resp.status(), 404);
    let huge = "x".repeat(2 * 1024 * 1024);
    let resp = b.post_form("/settings/brands", &[("name", huge.as_str()), ("time_zone", "UTC")]).await;
    assert_eq!(resp.status(), 413);
}

#[tokio::test]
async fn a_query_string_that_does_not_fit_is_a_json_400() {
    let (app, key) = setup().await;
    for (path, named) in [
        ("/api/v1/jobs?brand_id=abc", "brand_id"),
        ("/api/v1/jobs?tech_id=1.5", "tech_id"),
        ("/api/v1/leads?brand_id=first", "brand_id"),
        ("/api/v1/messages?limit=many", "limit"),
    ] {
        let resp = app.client().get(app.url(path)).bearer_auth(&key).send().await.unwrap();
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{path}");
        let (status, body) = json(resp).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "invalid_query", "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("the query string does not fit: "), "{path}: {message}");
        assert!(message.contains(named), "the parameter is named: {path}: {message}");
    }
}
