//! A user or API key of organization A can neither read nor change anything of organization B
//! through any route there is.

use serde_json::json;

use crate::helpers::{json, spawn_app};

#[tokio::test]
async fn org_a_cannot_read_or_change_org_b_through_the_console() {
    let app = spawn_app().await;
    let (a, admin_a) = app.org_with_admin("alpha").await;
    let (b, admin_b) = app.org_with_admin("bravo").await;
    app.brand(a, "Alpha Air").await;
    let brand_b = app.brand(b, "Bravo Boilers").await;
    let user_b = app.user(b, "disp@bravo.example.com", "dispatcher").await;
    let key_b = app.api_key(b).await;
    let _ = key_b;
    let (key_b_id,): (i64,) =
        sqlx::query_as("select id from api_keys where org_id = $1").bind(b.0).fetch_one(app.db.pool()).await.unwrap();

    let alpha = app.signed_in(&admin_a.email).await;
    for path in ["/settings/brands", "/settings/users", "/settings/api-keys", "/jobs", "/customers"] {
        let (status, page) = alpha.get_text(path).await;
        assert_eq!(status, 200, "{path}");
        for secret in ["Bravo Boilers", "disp@bravo.example.com", admin_b.email.as_str(), "bravo org"] {
            assert!(!page.contains(secret), "{path} leaks {secret:?} of another organization");
        }
    }
    // Direct ids of B's records are unknown to A: 404, and nothing changes.
    assert_eq!(alpha.get(&format!("/settings/brands/{}", brand_b.id)).await.status(), 404);
    assert_eq!(alpha.get(&format!("/settings/users/{}", user_b.id)).await.status(), 404);
    let resp = alpha
        .post_form(&format!("/settings/brands/{}", brand_b.id), &[("name", "Hijacked"), ("time_zone", "UTC")])
        .await;
    assert_eq!(resp.status(), 404);
    let resp = alpha
        .post_form(
            &format!("/settings/users/{}", user_b.id),
            &[("name", "Hijacked"), ("role", "admin"), ("active", "on")],
        )
        .await;
    assert_eq!(resp.status(), 404);
    let resp =
        alpha.post_form(&format!("/settings/users/{}/password", user_b.id), &[("password", "hijacked-password")]).await;
    assert_eq!(resp.status(), 404);
    let resp = alpha.post_form(&format!("/settings/api-keys/{key_b_id}/revoke"), &[]).await;
    assert_eq!(resp.status(), 404);
    let resp = alpha.post_form("/session/brand", &[("brand_id", brand_b.id.to_string().as_str())]).await;
    assert_eq!(resp.status(), 404, "cannot switch to another org's brand");

    let still = switchboard_core::tenancy::brand(&app.db, b, brand_b.id).await.unwrap();
    assert_eq!(still.name, "Bravo Boilers");
    let still = switchboard_core::tenancy::user(&app.db, b, user_b.id).await.unwrap();
    assert_eq!((still.name.as_str(), still.role.as_str()), ("dispatcher disp", "dispatcher"));
    let (revoked,): (Option<i64>,) = sqlx::query_as("select revoked_at from api_keys where id = $1")
        .bind(key_b_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(revoked, None);
}

#[tokio::test]
async fn org_a_cannot_read_or_change_org_b_through_the_api() {
    let app = spawn_app().await;
    let (a, _) = app.org_with_admin("alpha").await;
    let (b, admin_b) = app.org_with_admin("bravo").await;
    app.brand(a, "Alpha Air").await;
    let brand_b = app.brand(b, "Bravo Boilers").await;
    let key_a = app.api_key(a).await;
    let api = app.client();

    let (_, brands) = json(api.get(app.url("/api/v1/brands")).bearer_auth(&key_a).send().await.unwrap()).await;
    let names: Vec<&str> = brands["brands"].as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Alpha Air"]);
    let (_, users) = json(api.get(app.url("/api/v1/users")).bearer_auth(&key_a).send().await.unwrap()).await;
    assert!(users["users"].as_array().unwrap().iter().all(|u| u["email"] != admin_b.email.as_str()));

    let brand_url = app.url(&format!("/api/v1/brands/{}", brand_b.id));
    let user_url = app.url(&format!("/api/v1/users/{}", admin_b.id));
    assert_eq!(api.get(&brand_url).bearer_auth(&key_a).send().await.unwrap().status(), 404);
    assert_eq!(api.get(&user_url).bearer_auth(&key_a).send().await.unwrap().status(), 404);
    let resp = api.patch(&brand_url).bearer_auth(&key_a).json(&json!({"name": "Hijacked"})).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let resp = api.patch(&user_url).bearer_auth(&key_a).json(&json!({"active": false})).send().await.unwrap();
    assert_eq!(resp.status(), 404);

    assert_eq!(switchboard_core::tenancy::brand(&app.db, b, brand_b.id).await.unwrap().name, "Bravo Boilers");
    assert!(switchboard_core::tenancy::user(&app.db, b, admin_b.id).await.unwrap().active);
}

#[tokio::test]
async fn org_a_cannot_touch_org_b_jobs_customers_technicians_or_board() {
    use switchboard_core::customers::{self, NewCustomer};
    use switchboard_core::jobs::{self, JobStatus, NewJob};
    use switchboard_core::technicians::{self, NewTechnician};

    let app = spawn_app().await;
    let (a, admin_a) = app.org_with_admin("alpha").await;
    let (b, _) = app.org_with_admin("bravo").await;
    let brand_a = app.brand(a, "Alpha Air").await;
    let brand_b = app.brand(b, "Bravo Boilers").await;
    let mut tx = app.db.begin().await.unwrap();
    let customer_b = customers::create_in(
        &mut tx,
        &app.clock,
        b,
        &NewCustomer { name: "Bravo Customer".into(), phone: None, email: None, address: None, notes: None },
    )
    .await
    .unwrap();
    let tech_b = technicians::create_in(
        &mut tx,
        &app.clock,
        b,
        &NewTechnician {
            name: "Bravo Tech".into(),
            phone: None,
            photo_url: None,
            rating_x10: None,
            vehicle: None,
            skills: vec![],
            brands: vec![],
        },
    )
    .await
    .unwrap();
    let job = NewJob {
        brand: brand_b.id,
        customer: customer_b,
        service: "Bravo boiler service".into(),
        status: JobStatus::Scheduled,
        address: None,
        scheduled_start: Some(switchboard_core::clock::Clock::now(&app.clock)),
        scheduled_end: None,
        techs: vec![tech_b],
    };
    let (job_b, _) = jobs::insert_quietly_in(&mut tx, &app.clock, b, &job).await.unwrap();
    tx.commit().await.unwrap();

    let alpha = app.signed_in(&admin_a.email).await;
    let j = job_b.0;
    let job_id = j.to_string();
    for path in [format!("/jobs/{j}"), format!("/jobs/{j}/photos/1"), format!("/customers/{}", customer_b.0)] {
        assert_eq!(alpha.get(&path).await.status(), 404, "{path}");
    }
    for (path, form) in [
        (format!("/jobs/{j}"), vec![("service", "Hijacked")]),
        (format!("/jobs/{j}/status"), vec![("to", "canceled")]),
        (format!("/jobs/{j}/assign"), vec![]),
        (format!("/jobs/{j}/line-items"), vec![("description", "x"), ("unit_price", "1")]),
        ("/board/move".to_string(), vec![("job", job_id.as_str()), ("to_tech", "")]),
        (format!("/settings/technicians/{}/revoke-links", tech_b.0), vec![]),
    ] {
        let resp = alpha.post_form(&path, &form).await;
        assert_eq!(resp.status(), 404, "{path}");
    }
    for path in [format!("/board?brand={}", brand_b.id), "/board".to_string(), "/settings/technicians".to_string()] {
        let (status, page) = alpha.get_text(&path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!page.contains("Bravo"), "{path} leaks another organization");
    }
    let after = jobs::detail(&app.db, b, job_b).await.unwrap();
    assert_eq!((after.job.service.as_str(), after.job.status), ("Bravo boiler service", JobStatus::Scheduled));
    assert!(after.line_items.is_empty());
    assert_eq!(after.job.techs.len(), 1);

    // Over the API, B's technician cannot be put on A's job.
    let key_a = app.api_key(a).await;
    let customer_a = {
        let mut tx = app.db.begin().await.unwrap();
        let c = customers::create_in(
            &mut tx,
            &app.clock,
            a,
            &NewCustomer { name: "Alpha Customer".into(), phone: None, email: None, address: None, notes: None },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        c
    };
    let (status, body) = json(
        app.client()
            .post(app.url("/api/v1/jobs"))
            .bearer_auth(&key_a)
            .json(&json!({"brand_id": brand_a.id.0, "customer_id": customer_a.0, "service": "AC tune-up"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = json(
        app.client()
            .post(app.url(&format!("/api/v1/jobs/{}/assign", body["job"]["id"])))
            .bearer_auth(&key_a)
            .json(&json!({"tech_ids": [tech_b.0]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
}
