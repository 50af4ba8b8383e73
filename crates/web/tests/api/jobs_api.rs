//! Jobs over the API: every legal status move and every illegal one, with history.

use serde_json::json;
use switchboard_core::jobs::JobStatus;

use crate::helpers::{TestApp, json, spawn_app};

async fn demo() -> (TestApp, String) {
    let app = spawn_app().await;
    switchboard_core::demo::seed(&app.db, &app.clock).await.unwrap();
    let org = switchboard_core::tenancy::org_by_slug(&app.db, "demo").await.unwrap().unwrap();
    let key = app.api_key(org.id).await;
    (app, key)
}

async fn job_by_code(app: &TestApp, key: &str, code: &str) -> serde_json::Value {
    let (_, body) = json(app.client().get(app.url("/api/v1/jobs")).bearer_auth(key).send().await.unwrap()).await;
    body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["code"] == code)
        .cloned()
        .unwrap_or_else(|| panic!("{code} listed"))
}

async fn move_job(app: &TestApp, key: &str, id: i64, status: &str, reason: Option<&str>) -> (u16, serde_json::Value) {
    let mut body = json!({ "status": status });
    if let Some(r) = reason {
        body["reason"] = json!(r);
    }
    json(
        app.client()
            .post(app.url(&format!("/api/v1/jobs/{id}/status")))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_job_walks_the_whole_status_machine_and_its_history_records_each_step() {
    let (app, key) = demo().await;
    let job = job_by_code(&app, &key, "J-2201").await;
    assert_eq!(job["status"], "estimate");
    assert_eq!(job["next_statuses"], json!(["scheduled", "canceled"]));
    let id = job["id"].as_i64().unwrap();
    let (status, body) = move_job(&app, &key, id, "scheduled", None).await;
    assert_eq!((status, body["job"]["status"].as_str()), (200, Some("scheduled")), "{body}");
    // Nobody is on it yet: it cannot go on the way, and the customer is told nothing.
    app.engine.tick().await.unwrap();
    let texts_before = app.sms.messages().len();
    let (status, body) = move_job(&app, &key, id, "dispatched", None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["error"]["message"],
        "nobody is assigned to this job: assign a technician, then send them on the way"
    );
    assert_eq!(job_by_code(&app, &key, "J-2201").await["status"], "scheduled", "nothing changed");
    app.engine.tick().await.unwrap();
    let after: Vec<String> = app.sms.messages().iter().skip(texts_before).map(|m| m.body.clone()).collect();
    assert!(after.is_empty(), "no text went out for the refused move: {after:?}");
    let (_, techs) =
        json(app.client().get(app.url("/api/v1/technicians")).bearer_auth(&key).send().await.unwrap()).await;
    let tech = techs["technicians"][0]["id"].as_i64().unwrap();
    let (status, body) = app.api_post(&key, &format!("/api/v1/jobs/{id}/assign"), json!({ "tech_ids": [tech] })).await;
    assert_eq!(status, 200, "{body}");
    for step in ["dispatched", "on_site", "pending_close", "completed"] {
        let (status, body) = move_job(&app, &key, id, step, None).await;
        assert_eq!(status, 200, "{step}: {body}");
        assert_eq!(body["job"]["status"], step);
    }
    let (status, body) = move_job(&app, &key, id, "scheduled", None).await;
    assert_eq!(status, 409, "reopening needs a reason");
    assert!(body["error"]["message"].as_str().unwrap().contains("why"));
    let (status, _) = move_job(&app, &key, id, "scheduled", Some("Roof leaked again after rain")).await;
    assert_eq!(status, 200);

    let (_, body) =
        json(app.client().get(app.url(&format!("/api/v1/jobs/{id}"))).bearer_auth(&key).send().await.unwrap()).await;
    let history = body["job"]["history"].as_array().unwrap();
    let steps: Vec<(&str, &str)> = history
        .iter()
        .filter(|e| e["kind"] == "status")
        .map(|e| (e["from"].as_str().unwrap(), e["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("estimate", "scheduled"),
            ("scheduled", "dispatched"),
            ("dispatched", "on_site"),
            ("on_site", "pending_close"),
            ("pending_close", "completed"),
            ("completed", "scheduled"),
        ]
    );
    assert_eq!(history[0]["kind"], "created");
    assert_eq!(history.last().unwrap()["note"], "Roof leaked again after rain");
    // Every move and the assignment are the API's; the confirmation's note is the system's.
    let actors: Vec<(&str, &str)> =
        history.iter().skip(1).map(|e| (e["kind"].as_str().unwrap_or(""), e["actor"].as_str().unwrap_or(""))).collect();
    assert!(actors.iter().all(|(kind, actor)| *actor == if *kind == "note" { "system" } else { "api" }), "{actors:?}");
}

#[tokio::test]
async fn illegal_moves_are_refused_with_the_allowed_ones_and_change_nothing() {
    let (app, key) = demo().await;
    // Every status the demo has, against every target status.
    for code in ["J-2201", "J-2202", "J-2205", "J-2204", "J-2203", "J-2199", "J-2200"] {
        let job = job_by_code(&app, &key, code).await;
        let from = JobStatus::parse(job["status"].as_str().unwrap()).unwrap();
        for to in JobStatus::ALL {
            if from.next().contains(&to) {
                continue;
            }
            let (status, body) = move_job(&app, &key, job["id"].as_i64().unwrap(), to.as_str(), Some("because")).await;
            assert_eq!(status, 409, "{code} {from:?} -> {to:?}");
            assert_eq!(body["error"]["code"], "invalid_transition");
            let allowed: Vec<&str> = body["error"]["allowed"]
                .as_array()
                .map(|a| a.iter().map(|s| s.as_str().unwrap()).collect())
                .unwrap_or_default();
            let want: Vec<&str> = from.next().iter().map(|s| s.as_str()).collect();
            assert_eq!(allowed, want, "{code}: the refusal lists the possible statuses");
        }
        let after = job_by_code(&app, &key, code).await;
        assert_eq!(after["status"], job["status"], "{code} unchanged");
    }
    let id = job_by_code(&app, &key, "J-2202").await["id"].as_i64().unwrap();
    let (status, body) = move_job(&app, &key, id, "done", None).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"][0]["field"], "status");
    let (other, _) = app.org_with_admin("other").await;
    let other_key = app.api_key(other).await;
    let (status, _) = move_job(&app, &other_key, id, "dispatched", None).await;
    assert_eq!(status, 404, "another organization's job is not found");
    assert_eq!(job_by_code(&app, &key, "J-2202").await["status"], "scheduled");
}

#[tokio::test]
async fn jobs_are_created_for_existing_customers_and_technicians_are_listed() {
    let (app, key) = demo().await;
    let (status, techs) =
        json(app.client().get(app.url("/api/v1/technicians")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let dan = techs["technicians"].as_array().unwrap().iter().find(|t| t["name"] == "Dan Okafor").unwrap().clone();
    assert_eq!(dan["rating"], 4.9);
    assert!(dan["photo_url"].as_str().unwrap().ends_with(".svg"));
    let (_, customers) =
        json(app.client().get(app.url("/api/v1/customers?phone=720-555-0131")).bearer_auth(&key).send().await.unwrap())
            .await;
    let customer = customers["customers"][0]["id"].as_i64().unwrap();
    let brand = job_by_code(&app, &key, "J-2204").await["brand_id"].as_i64().unwrap();

    let body = json!({
        "brand_id": brand, "customer_id": customer, "service": "Opener tune-up",
        "scheduled_start": "2026-11-24T16:00:00Z", "scheduled_end": "2026-11-24T18:00:00Z", "tech_ids": [dan["id"]]
    });
    let (status, created) =
        json(app.client().post(app.url("/api/v1/jobs")).bearer_auth(&key).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["job"]["code"], "J-2206", "the next code after the demo's jobs");
    assert_eq!(created["job"]["status"], "scheduled");
    assert_eq!(created["job"]["address"], "1450 Pearl St, Boulder, CO 80302", "the customer's address by default");
    assert_eq!(created["job"]["techs"][0]["name"], "Dan Okafor");

    let bad = [
        (json!({"brand_id": brand, "customer_id": 999999, "service": "x"}), "customer_id"),
        (json!({"brand_id": 999999, "customer_id": customer, "service": "x"}), "brand_id"),
        (json!({"brand_id": brand, "customer_id": customer, "service": ""}), "service"),
        (json!({"brand_id": brand, "customer_id": customer, "service": "x", "tech_ids": [999999]}), "tech_ids"),
        (
            json!({"brand_id": brand, "customer_id": customer, "service": "x", "scheduled_end": "2026-11-24T18:00:00Z"}),
            "scheduled_start",
        ),
    ];
    for (body, field) in bad {
        let (status, resp) =
            json(app.client().post(app.url("/api/v1/jobs")).bearer_auth(&key).json(&body).send().await.unwrap()).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(resp["error"]["fields"][0]["field"], field, "{resp}");
    }
    let (other, _) = app.org_with_admin("other").await;
    let other_key = app.api_key(other).await;
    let (status, _) = json(
        app.client()
            .post(app.url("/api/v1/jobs"))
            .bearer_auth(&other_key)
            .json(&json!({"brand_id": brand, "customer_id": customer, "service": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "another organization's brand and customer are unknown");
    let (count,): (i64,) = sqlx::query_as("select count(*) from jobs").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(count, 11, "only the one good job was added");
}

/// The `job.changed` items queued so far, oldest first, as the engine stores them.
async fn job_changes(app: &TestApp, job: i64) -> Vec<serde_json::Value> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("select payload, status from work_items where kind = 'job.changed' order by id")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    rows.into_iter()
        .map(|(p, status)| {
            let mut v: serde_json::Value = serde_json::from_str(&p).unwrap();
            v["item_status"] = json!(status);
            v
        })
        .filter(|v| v["job_id"] == job)
        .collect()
}

#[tokio::test]
async fn each_change_is_told_once_typed_through_the_engine_and_its_listeners_react() {
    let (app, key) = demo().await;
    let (_, techs) =
        json(app.client().get(app.url("/api/v1/technicians")).bearer_auth(&key).send().await.unwrap()).await;
    let dan = techs["technicians"].as_array().unwrap().iter().find(|t| t["name"] == "Dan Okafor").unwrap()["id"]
        .as_i64()
        .unwrap();
    let (_, customers) =
        json(app.client().get(app.url("/api/v1/customers?phone=720-555-0131")).bearer_auth(&key).send().await.unwrap())
            .await;
    let customer = customers["customers"][0]["id"].as_i64().unwrap();
    let brand = job_by_code(&app, &key, "J-2204").await["brand_id"].as_i64().unwrap();
    // Tomorrow afternoon (the demo's clock is fixed), so the confirmation applies.
    let start = switchboard_core::clock::Clock::now(&app.clock) + jiff::SignedDuration::from_hours(26);
    let end = start + jiff::SignedDuration::from_hours(2);
    let body = json!({
        "brand_id": brand, "customer_id": customer, "service": "Opener tune-up",
        "scheduled_start": start.to_string(), "scheduled_end": end.to_string(), "tech_ids": [dan]
    });
    let (status, created) =
        json(app.client().post(app.url("/api/v1/jobs")).bearer_auth(&key).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["job"]["id"].as_i64().unwrap();

    let told = job_changes(&app, id).await;
    assert_eq!(told.len(), 1, "one change, one item: {told:?}");
    assert_eq!(told[0]["status"], "scheduled");
    assert_eq!(told[0]["actor"], "api");
    assert_eq!(
        told[0]["changes"],
        json!([
            {"change": "created"},
            {"change": "scheduled", "start": start.as_millisecond()},
            {"change": "tech_added", "tech": dan}
        ])
    );
    assert_eq!(told[0]["item_status"], "pending", "nothing has reacted yet");
    let queued = |kind: &'static str| {
        let db = app.db.clone();
        async move {
            let (n,): (i64,) = sqlx::query_as("select count(*) from work_items where kind = $1")
                .bind(kind)
                .fetch_one(db.pool())
                .await
                .unwrap();
            n
        }
    };
    let before = queued("notify.customer").await;
    app.engine.tick().await.unwrap();
    assert_eq!(job_changes(&app, id).await[0]["item_status"], "done");
    // The listeners: the confirmation and the reminder queued, Dan texted his portal link.
    assert_eq!(queued("notify.customer").await - before, 2);
    let (_, job) =
        json(app.client().get(app.url(&format!("/api/v1/jobs/{id}"))).bearer_auth(&key).send().await.unwrap()).await;
    let notes: Vec<_> =
        job["job"]["history"].as_array().unwrap().iter().filter_map(|e| e["note"].as_str()).map(String::from).collect();
    assert!(notes.contains(&"Portal link texted to Dan Okafor".to_string()), "{notes:?}");

    // Dispatching: the status change and Dan sent on the way, in one item.
    let (status, _) = move_job(&app, &key, id, "dispatched", None).await;
    assert_eq!(status, 200);
    let told = job_changes(&app, id).await;
    assert_eq!(told.len(), 2);
    assert_eq!(
        told[1]["changes"],
        json!([
            {"change": "status", "from": "scheduled", "to": "dispatched"},
            {"change": "on_the_way", "tech": dan, "was_working": []}
        ])
    );
    // A move that is refused tells nobody.
    let (status, _) = move_job(&app, &key, id, "estimate", None).await;
    assert_eq!(status, 409);
    assert_eq!(job_changes(&app, id).await.len(), 2);
}

#[tokio::test]
async fn editing_only_the_service_of_an_estimate_with_a_window_leaves_it_an_estimate_and_tells_nobody() {
    let (app, key) = demo().await;
    let job = job_by_code(&app, &key, "J-2201").await;
    assert_eq!(job["status"], "estimate");
    assert!(job["scheduled_start"].is_string(), "the demo's estimate has a window: {job}");
    let id = job["id"].as_i64().unwrap();
    app.engine.tick().await.unwrap();
    let (texts, mails) = (app.sms.messages().len(), app.mail.mails().len());
    let path = format!("/api/v1/jobs/{id}");
    let (status, body) = app.api_patch(&key, &path, json!({ "service": "Roof inspection and estimate" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["job"]["status"].as_str(), body["job"]["service"].as_str()),
        (Some("estimate"), Some("Roof inspection and estimate"))
    );
    for _ in 0..5 {
        app.engine.tick().await.unwrap();
        app.clock.advance(jiff::SignedDuration::from_secs(2));
    }
    let new_texts: Vec<String> = app.sms.messages().iter().skip(texts).map(|m| m.body.clone()).collect();
    assert!(new_texts.is_empty(), "no booking confirmation by text: {new_texts:?}");
    assert_eq!(app.mail.mails().len(), mails, "no booking confirmation by email");

    // Moving its window is booking it: it becomes scheduled.
    let day_later = |field: &str| {
        job[field]
            .as_str()
            .map(|t| (t.parse::<jiff::Timestamp>().unwrap() + jiff::SignedDuration::from_hours(24)).to_string())
    };
    let window =
        json!({ "scheduled_start": day_later("scheduled_start"), "scheduled_end": day_later("scheduled_end") });
    let (status, body) = app.api_patch(&key, &path, window).await;
    assert_eq!((status, body["job"]["status"].as_str()), (200, Some("scheduled")), "{body}");
}

#[tokio::test]
async fn a_nul_character_is_kept_as_the_replacement_character_on_both_databases() {
    let (app, key) = demo().await;
    let id = job_by_code(&app, &key, "J-2201").await["id"].as_i64().unwrap();
    // JSON: `\u0000` inside a string.
    let body = r#"{"internal_notes": "Gate code 12\u000034, dog in yard"}"#;
    let resp = app
        .client()
        .patch(app.url(&format!("/api/v1/jobs/{id}")))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, body) = json(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["job"]["internal_notes"], "Gate code 12\u{FFFD}34, dog in yard");
    // A search with one.
    let (status, body) =
        json(app.client().get(app.url("/api/v1/jobs?q=roof%00")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["jobs"].as_array().unwrap().is_empty(), "nothing matches the odd text: {body}");
}
