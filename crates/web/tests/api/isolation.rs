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

/// The answering-service half: another organization's clients, protocols, contacts, messages
/// and schedules, by id, over every console and API route that takes one.
#[tokio::test]
async fn org_a_cannot_reach_org_bs_desk_or_on_call_through_any_route() {
    let app = spawn_app().await;
    let (a, admin_a) = app.org_with_admin("alpha").await;
    let (b, _) = app.org_with_admin("bravo").await;
    app.brand(a, "Alpha Air").await;
    let brand_b = app.sms_brand(b, "Bravo Boilers", "+13125550111").await.id.0;
    let (key_a, key_b) = (app.api_key(a).await, app.api_key(b).await);
    // Bravo: a protocol, a contact, a message with a note, a schedule with an offer.
    let (status, _) = app
        .api_post(
            &key_b,
            &format!("/api/v1/brands/{brand_b}/protocol/template"),
            json!({ "template": "hvac_plumbing" }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .api_post(
            &key_b,
            &format!("/api/v1/brands/{brand_b}/contacts"),
            json!({ "name": "Bravo Boss", "methods": [{ "kind": "cell", "value": "(312) 555-0122" }] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let contact_b = body["contact"]["id"].as_i64().unwrap();
    let (status, body) = app
        .api_post(
            &key_b,
            "/api/v1/desk/messages",
            json!({ "client_id": brand_b, "caller_type": "caller", "answers": {
                "caller_name": "Bravo Caller", "callback_number": "(312) 555-0199", "service_address": "1 Bravo St",
                "what_is_wrong": "Bravo boiler", "best_time_to_call": "Evening" } }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let message_b = body["message"]["id"].as_i64().unwrap();
    let boss = format!("contact:{contact_b}");
    let layer = json!({ "name": "Nights", "members": [boss], "shift": { "unit": "days", "count": 1 }, "start": "2026-11-22T17:00" });
    let (status, body) = app
        .api_post(
            &key_b,
            "/api/v1/schedules",
            json!({ "client_id": brand_b, "name": "Bravo nights", "layers": [layer] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let schedule_b = body["schedule"]["id"].as_i64().unwrap();
    let (status, body) = app
        .api_post(
            &key_b,
            &format!("/api/v1/schedules/{schedule_b}/swaps"),
            json!({ "from": boss, "start": "2026-11-23T00:00:00Z", "end": "2026-11-23T02:00:00Z" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let swap_b = body["swap"]["id"].as_i64().unwrap();
    let count = |sql: &'static str| {
        let app = &app;
        async move { sqlx::query_as::<_, (i64,)>(sql).fetch_one(app.db.pool()).await.unwrap().0 }
    };
    let before = (
        count("select count(*) from desk_messages").await,
        count("select count(*) from desk_notes").await,
        count("select count(*) from desk_deliveries").await,
        count("select count(*) from desk_contacts").await,
        count("select count(*) from desk_protocols").await,
        count("select count(*) from oncall_overrides").await,
        count("select count(*) from capability_links").await,
        count("select version from oncall_schedules").await,
    );

    // The console, signed in as Alpha's admin.
    let alpha = app.signed_in(&admin_a.email).await;
    let (m, s, c) = (message_b, schedule_b, contact_b);
    for path in [
        format!("/settings/desk/{brand_b}"),
        format!("/settings/desk/{brand_b}/contacts"),
        format!("/oncall/{s}"),
        format!("/oncall/{s}/layers"),
        format!("/oncall/{s}/mine"),
    ] {
        assert_eq!(alpha.get(&path).await.status(), 404, "GET {path}");
    }
    let client = brand_b.to_string();
    for (path, form) in [
        ("/desk/messages".to_string(), vec![("client", client.as_str()), ("caller", "caller"), ("a_caller_name", "X")]),
        ("/desk/suggest".to_string(), vec![("client", client.as_str()), ("caller", "caller")]),
        (format!("/desk/messages/{m}/retrieve"), vec![]),
        (format!("/desk/messages/{m}/redeliver"), vec![]),
        (format!("/desk/messages/{m}/forward"), vec![("to", "alpha@example.com")]),
        (format!("/desk/messages/{m}/notes"), vec![("body", "hijacked")]),
        (format!("/desk/messages/{m}/confirm"), vec![("reason", "hijacked")]),
        (format!("/settings/desk/{brand_b}"), vec![("answer_phrase", "Hijacked")]),
        (format!("/settings/desk/{brand_b}/template"), vec![("template", "solo_lawyer")]),
        (format!("/settings/desk/{brand_b}/contacts"), vec![("name", "Hijacker")]),
        (format!("/settings/desk/{brand_b}/contacts/{c}"), vec![("name", "Hijacked")]),
        (format!("/settings/desk/{brand_b}/contacts/{c}/remove"), vec![]),
        (
            format!("/oncall/{s}/overrides"),
            vec![
                ("action", "remove"),
                ("who", boss.as_str()),
                ("start", "2026-11-22T18:00"),
                ("end", "2026-11-22T19:00"),
            ],
        ),
        (format!("/oncall/{s}/layers"), vec![("name_0", "Hijacked")]),
        (format!("/oncall/{s}/links"), vec![("kind", "feed"), ("who", "everyone")]),
        (format!("/oncall/{s}/links/stop"), vec![("kind", "feed"), ("who", "everyone")]),
        (format!("/oncall/{s}/handoff"), vec![("notices", "on")]),
        (format!("/oncall/{s}/swaps/{swap_b}/withdraw"), vec![]),
        (format!("/oncall/{s}/mine/offer"), vec![("start", "2026-11-23T00:00:00Z"), ("end", "2026-11-23T01:00:00Z")]),
    ] {
        let status = alpha.post_form(&path, &form).await.status().as_u16();
        assert_eq!(status, 404, "POST {path}");
    }
    let (status, page) = alpha.get_text(&format!("/desk?client={brand_b}")).await;
    assert_eq!(status, 200);
    for secret in ["Bravo Boilers", "Bravo Caller", "Bravo boiler"] {
        assert!(!page.contains(secret), "the desk leaks {secret:?}");
    }
    let (_, page) = alpha.get_text("/oncall").await;
    assert!(!page.contains("Bravo nights"));

    // The API, with Alpha's key.
    let api = |method: reqwest::Method, path: String, body: serde_json::Value| {
        let (app, key) = (&app, &key_a);
        async move {
            let r = app.client().request(method, app.url(&path)).bearer_auth(key).json(&body).send().await.unwrap();
            json(r).await
        }
    };
    use reqwest::Method;
    let v = |p: String| format!("/api/v1{p}");
    for (method, path, body) in [
        (Method::GET, v(format!("/brands/{brand_b}/protocol")), json!(null)),
        (
            Method::PUT,
            v(format!("/brands/{brand_b}/protocol")),
            json!({ "answer_phrase": "x", "caller_types": [], "version": 1 }),
        ),
        (Method::POST, v(format!("/brands/{brand_b}/protocol/template")), json!({ "template": "solo_lawyer" })),
        (Method::GET, v(format!("/brands/{brand_b}/contacts")), json!(null)),
        (Method::POST, v(format!("/brands/{brand_b}/contacts")), json!({ "name": "Hijacker", "methods": [] })),
        (Method::PUT, v(format!("/brands/{brand_b}/contacts/{c}")), json!({ "name": "Hijacked", "methods": [] })),
        (Method::DELETE, v(format!("/brands/{brand_b}/contacts/{c}")), json!(null)),
        (Method::GET, v(format!("/desk/messages/{m}")), json!(null)),
        (Method::POST, v(format!("/desk/messages/{m}/retrieve")), json!({})),
        (Method::POST, v(format!("/desk/messages/{m}/redeliver")), json!({})),
        (Method::POST, v(format!("/desk/messages/{m}/forward")), json!({ "to": "alpha@example.com" })),
        (Method::POST, v(format!("/desk/messages/{m}/notes")), json!({ "body": "hijacked" })),
        (Method::POST, v(format!("/desk/messages/{m}/confirm")), json!({ "reason": "hijacked" })),
        (Method::GET, v(format!("/schedules/{s}")), json!(null)),
        (Method::PATCH, v(format!("/schedules/{s}")), json!({ "name": "Hijacked" })),
        (Method::GET, v(format!("/schedules/{s}/on-call")), json!(null)),
        (Method::GET, v(format!("/schedules/{s}/timeline")), json!(null)),
        (Method::GET, v(format!("/schedules/{s}/swaps")), json!(null)),
        (Method::POST, v(format!("/schedules/{s}/swaps/{swap_b}/withdraw")), json!({})),
        (
            Method::POST,
            v(format!("/schedules/{s}/overrides")),
            json!({ "start": "2026-11-22T23:00:00Z", "end": "2026-11-23T00:00:00Z", "action": "remove", "who": boss }),
        ),
        (Method::POST, v(format!("/schedules/{s}/feeds")), json!({})),
        (Method::DELETE, v(format!("/schedules/{s}/feeds")), json!(null)),
        (Method::POST, v(format!("/schedules/{s}/people-links")), json!({ "member": boss })),
        (Method::DELETE, v(format!("/schedules/{s}/people-links?member={boss}")), json!(null)),
    ] {
        let (status, body) = api(method.clone(), path.clone(), body).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
    let (_, list) = api(Method::GET, v(format!("/desk/messages?client_id={brand_b}")), json!(null)).await;
    assert_eq!(list["messages"], json!([]));
    let (_, list) = api(Method::GET, v("/schedules".into()), json!(null)).await;
    assert_eq!(list["schedules"], json!([]));

    let after = (
        count("select count(*) from desk_messages").await,
        count("select count(*) from desk_notes").await,
        count("select count(*) from desk_deliveries").await,
        count("select count(*) from desk_contacts").await,
        count("select count(*) from desk_protocols").await,
        count("select count(*) from oncall_overrides").await,
        count("select count(*) from capability_links").await,
        count("select version from oncall_schedules").await,
    );
    assert_eq!(after, before, "nothing of Bravo's changed");
}
