//! `/api/v1` brands and users, and the OpenAPI document.

use serde_json::json;

use crate::helpers::{json, spawn_app};

#[tokio::test]
async fn brands_list_has_the_documented_shape() {
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("acme").await;
    let input = switchboard_core::tenancy::BrandInput {
        name: "Acme Plumbing".into(),
        time_zone: "America/Chicago".into(),
        sms_number: Some("312-555-0100".into()),
        inbound_email: Some("jobs@acme.example.com".into()),
        ..Default::default()
    };
    switchboard_core::tenancy::create_brand(&app.db, &app.clock, org, &input).await.unwrap();
    let key = app.api_key(org).await;
    let (status, body) =
        json(app.client().get(app.url("/api/v1/brands")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let brand = &body["brands"][0];
    assert!(brand["id"].is_i64());
    assert_eq!(brand["name"], "Acme Plumbing");
    assert_eq!(brand["time_zone"], "America/Chicago");
    assert_eq!(brand["sms_number"], "+13125550100");
    assert_eq!(brand["inbound_email"], "jobs@acme.example.com");
    assert_eq!(body["brands"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn brands_are_created_read_and_patched_over_the_api() {
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("acme").await;
    let key = app.api_key(org).await;
    let api = app.client();
    let (status, body) = json(
        api.post(app.url("/api/v1/brands"))
            .bearer_auth(&key)
            .json(&json!({"name": "Acme HVAC", "time_zone": "America/Denver", "sms_number": "+1 720 555 0100", "job_prefix": "HV"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["brand"]["id"].as_i64().unwrap();
    assert_eq!(body["brand"]["next_job_code"], "HV-1001");

    let (status, body) = json(
        api.patch(app.url(&format!("/api/v1/brands/{id}")))
            .bearer_auth(&key)
            .json(&json!({"name": "Acme Heating", "sms_number": null}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["brand"]["name"], "Acme Heating");
    assert_eq!(body["brand"]["sms_number"], serde_json::Value::Null, "null clears");
    assert_eq!(body["brand"]["time_zone"], "America/Denver", "absent fields keep their value");

    let (status, body) =
        json(api.get(app.url(&format!("/api/v1/brands/{id}"))).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["brand"]["name"], "Acme Heating");

    let (status, body) = json(
        api.post(app.url("/api/v1/brands"))
            .bearer_auth(&key)
            .json(&json!({"name": "Acme Heating", "time_zone": "America/Denver"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "conflict");
}

#[tokio::test]
async fn users_are_listed_created_read_and_patched_over_the_api() {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    let key = app.api_key(org).await;
    let api = app.client();
    let (status, body) = json(api.get(app.url("/api/v1/users")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["users"][0]["email"], admin.email.as_str());
    assert_eq!(body["users"][0]["role"], "admin");
    assert!(body["users"][0].get("password_hash").is_none(), "hashes never leave the server");

    let (status, body) = json(
        api.post(app.url("/api/v1/users"))
            .bearer_auth(&key)
            .json(&json!({"email": "op@acme.example.com", "name": "Op One", "role": "operator", "password": "operator-password"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["user"]["id"].as_i64().unwrap();
    let (status, body) = json(
        api.patch(app.url(&format!("/api/v1/users/{id}")))
            .bearer_auth(&key)
            .json(&json!({"role": "dispatcher", "active": false}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["role"], "dispatcher");
    assert_eq!(body["user"]["active"], false);

    let (status, body) = json(
        api.patch(app.url(&format!("/api/v1/users/{}", admin.id)))
            .bearer_auth(&key)
            .json(&json!({"active": false}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409, "the last admin stays: {body}");
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("acme").await;
    let key = app.api_key(org).await;
    let (status, doc) = json(app.client().get(app.url("/api/v1/openapi.json")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in paths {
        for method in ["get", "post", "patch", "put", "delete"] {
            if item.get(method).is_some() {
                documented.push((method.to_string(), path.clone()));
            }
        }
    }
    documented.sort();
    let expected = [
        ("delete", "/api/v1/brands/{id}/contacts/{contact_id}"),
        ("delete", "/api/v1/customers/{id}/locations/{location_id}"),
        ("delete", "/api/v1/schedules/{id}/feeds"),
        ("delete", "/api/v1/schedules/{id}/overrides/{override_id}"),
        ("delete", "/api/v1/schedules/{id}/people-links"),
        ("get", "/api/v1/brands"),
        ("get", "/api/v1/brands/{id}"),
        ("get", "/api/v1/brands/{id}/contacts"),
        ("get", "/api/v1/brands/{id}/protocol"),
        ("get", "/api/v1/customers"),
        ("get", "/api/v1/customers/{id}"),
        ("get", "/api/v1/customers/{id}/locations"),
        ("get", "/api/v1/desk/messages"),
        ("get", "/api/v1/desk/messages/{id}"),
        ("get", "/api/v1/invoices"),
        ("get", "/api/v1/invoices/{id}"),
        ("get", "/api/v1/jobs"),
        ("get", "/api/v1/jobs/{id}"),
        ("get", "/api/v1/leads"),
        ("get", "/api/v1/leads/{id}"),
        ("get", "/api/v1/messages"),
        ("get", "/api/v1/messages/{id}"),
        ("get", "/api/v1/protocol-templates"),
        ("get", "/api/v1/schedules"),
        ("get", "/api/v1/schedules/{id}"),
        ("get", "/api/v1/schedules/{id}/on-call"),
        ("get", "/api/v1/schedules/{id}/swaps"),
        ("get", "/api/v1/schedules/{id}/timeline"),
        ("get", "/api/v1/technicians"),
        ("get", "/api/v1/users"),
        ("get", "/api/v1/users/{id}"),
        ("patch", "/api/v1/brands/{id}"),
        ("patch", "/api/v1/customers/{id}"),
        ("patch", "/api/v1/customers/{id}/locations/{location_id}"),
        ("patch", "/api/v1/jobs/{id}"),
        ("patch", "/api/v1/schedules/{id}"),
        ("patch", "/api/v1/users/{id}"),
        ("post", "/api/v1/brands"),
        ("post", "/api/v1/brands/{id}/contacts"),
        ("post", "/api/v1/brands/{id}/protocol/template"),
        ("post", "/api/v1/customers"),
        ("post", "/api/v1/customers/{id}/locations"),
        ("post", "/api/v1/desk/messages"),
        ("post", "/api/v1/desk/messages/{id}/confirm"),
        ("post", "/api/v1/desk/messages/{id}/forward"),
        ("post", "/api/v1/desk/messages/{id}/notes"),
        ("post", "/api/v1/desk/messages/{id}/redeliver"),
        ("post", "/api/v1/desk/messages/{id}/retrieve"),
        ("post", "/api/v1/invoices/{id}/payments"),
        ("post", "/api/v1/invoices/{id}/send"),
        ("post", "/api/v1/invoices/{id}/void"),
        ("post", "/api/v1/jobs"),
        ("post", "/api/v1/jobs/{id}/assign"),
        ("post", "/api/v1/jobs/{id}/invoice"),
        ("post", "/api/v1/jobs/{id}/status"),
        ("post", "/api/v1/leads/{id}/archive"),
        ("post", "/api/v1/leads/{id}/convert"),
        ("post", "/api/v1/leads/{id}/messages"),
        ("post", "/api/v1/leads/{id}/restore"),
        ("post", "/api/v1/messages"),
        ("post", "/api/v1/schedules"),
        ("post", "/api/v1/schedules/{id}/feeds"),
        ("post", "/api/v1/schedules/{id}/overrides"),
        ("post", "/api/v1/schedules/{id}/people-links"),
        ("post", "/api/v1/schedules/{id}/swaps"),
        ("post", "/api/v1/schedules/{id}/swaps/{swap_id}/take"),
        ("post", "/api/v1/schedules/{id}/swaps/{swap_id}/withdraw"),
        ("post", "/api/v1/users"),
        ("put", "/api/v1/brands/{id}/contacts/{contact_id}"),
        ("put", "/api/v1/brands/{id}/protocol"),
        ("put", "/api/v1/schedules/{id}/layers"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, expected);

    // Each documented route is really served (not 404/405) by the running app.
    for (method, path) in &documented {
        let url = app
            .url(&path.replace("{id}", "999999").replace("{location_id}", "999998").replace("{contact_id}", "999997"));
        let req = match method.as_str() {
            "get" => app.client().get(url),
            "delete" => app.client().delete(url),
            "put" => app.client().put(url).json(&json!({})),
            "post" => app.client().post(url).json(&json!({})),
            _ => app.client().patch(url).json(&json!({})),
        };
        let (status, body) = json(req.bearer_auth(&key).send().await.unwrap()).await;
        assert_ne!(status, 405, "{method} {path} is routed");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.starts_with("route "), "{method} {path} reached a handler, not the fallback: {body}");
    }
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object(), "bearer auth is documented");
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object(), "the error shape is documented");

    // The document's own rules: what every route shares is stated, and stated once.
    let mut ids = std::collections::HashSet::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let what = format!("{method} {path}");
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{what} has no operationId"));
            assert!(ids.insert(id.to_string()), "{what}: operationId {id} is used twice");
            let responses = op["responses"].as_object().unwrap();
            for (code, r) in responses {
                assert!(r["description"].as_str().is_some_and(|d| !d.is_empty()), "{what} {code} has no description");
            }
            let mut must = vec!["400", "401"];
            if path.contains('{') {
                must.push("404");
            }
            if op.get("requestBody").is_some() {
                must.extend(["413", "415", "422"]);
            }
            for code in must {
                assert!(responses.contains_key(code), "{what} does not list {code}");
                if code != "200" {
                    assert_eq!(
                        responses[code]["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{what} {code} answers the error shape"
                    );
                }
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let at = p["in"].as_str().unwrap();
                assert!(
                    (at == "path") == path.contains(&format!("{{{name}}}")),
                    "{what}: parameter {name} is documented in {at}"
                );
                if at == "path" {
                    assert_eq!(p["required"], true, "{what}: path parameter {name} is required");
                }
            }
        }
    }
    let jobs_status = doc["paths"]["/api/v1/jobs"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "status")
        .unwrap()["schema"]["enum"]
        .clone();
    assert_eq!(
        jobs_status,
        json!(["estimate", "scheduled", "dispatched", "on_site", "pending_close", "completed", "canceled"])
    );
    assert_eq!(doc["components"]["schemas"]["StatusBody"]["properties"]["status"]["enum"], jobs_status);
    assert_eq!(doc["components"]["schemas"]["BrandBody"]["properties"]["name"]["minLength"], 1);
    // `switchboard openapi` prints the same document.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard")).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, doc);
}

#[tokio::test]
async fn a_brand_stored_with_a_zone_this_build_does_not_know_is_an_error_not_another_zone() {
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("acme").await;
    let input = switchboard_core::tenancy::BrandInput {
        name: "Acme Plumbing".into(),
        time_zone: "America/Chicago".into(),
        ..Default::default()
    };
    let brand = switchboard_core::tenancy::create_brand(&app.db, &app.clock, org, &input).await.unwrap();
    // Written behind the application's back (an import, a hand edit): never silently UTC.
    sqlx::query("update brands set time_zone = 'Mars/Olympus' where id = $1")
        .bind(brand.id.0)
        .execute(app.db.pool())
        .await
        .unwrap();
    let err = switchboard_core::tenancy::brand(&app.db, org, brand.id).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "unexpected: brand 1 (Acme Plumbing) is stored with a bad time zone: \"Mars/Olympus\" is not a known time \
         zone (use a name like America/Chicago)"
            .replace("brand 1", &format!("brand {}", brand.id.0))
    );
    let key = app.api_key(org).await;
    let (status, body) = json(
        app.client().get(app.url(&format!("/api/v1/brands/{}", brand.id.0))).bearer_auth(&key).send().await.unwrap(),
    )
    .await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["code"], "internal");
    assert!(body["error"]["request_id"].is_string(), "quotable in a report");
}

#[tokio::test]
async fn a_brand_abroad_reads_national_numbers_by_its_own_country() {
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("acme").await;
    let key = app.api_key(org).await;
    let api = app.client();
    let post = |body: serde_json::Value| app.api_post(&key, "/api/v1/brands", body);
    // Without a country a brand is in the US, as every brand before countries existed.
    let (status, body) = post(json!({"name": "Acme HVAC", "time_zone": "America/Denver"})).await;
    assert_eq!((status, body["brand"]["country"].as_str()), (201, Some("US")), "{body}");

    let (status, body) = post(
        json!({"name": "Acme Berlin", "time_zone": "Europe/Berlin", "country": "de", "sms_number": "030 1234567"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["brand"]["country"], "DE");
    assert_eq!(body["brand"]["sms_number"], "+49301234567", "a Berlin number typed nationally");
    let berlin = body["brand"]["id"].as_i64().unwrap();

    // A text typed nationally goes to the German mobile, not to a US number.
    let (status, body) = app
        .api_post(
            &key,
            "/api/v1/messages",
            json!({"brand_id": berlin, "to": "0151 12345678", "body": "Ihr Techniker ist unterwegs"}),
        )
        .await;
    assert_eq!((status, body["message"]["to"].as_str()), (202, Some("+4915112345678")), "{body}");

    // A country without a numbering plan is refused with the field named, and nothing is made.
    let (status, body) = post(json!({"name": "Nowhere", "time_zone": "UTC", "country": "XX"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["fields"],
        json!([{"field": "country", "message": "\"XX\" is not a country with a phone numbering plan"}])
    );
    let (_, list) = json(api.get(app.url("/api/v1/brands")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(list["brands"].as_array().unwrap().len(), 2);

    // A patch moves the brand; absent, the country stays.
    let path = format!("/api/v1/brands/{berlin}");
    let (status, body) = app.api_patch(&key, &path, json!({"country": "AT", "sms_number": "01 5123456"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["brand"]["country"].as_str(), body["brand"]["sms_number"].as_str()),
        (Some("AT"), Some("+4315123456"))
    );
    let (_, body) = app.api_patch(&key, &path, json!({"name": "Acme Wien"})).await;
    assert_eq!(body["brand"]["country"], "AT");
}
