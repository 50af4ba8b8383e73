//! Service locations: a customer's places as records of their own (label, address, access
//! notes), over the API and on the customer card; jobs booked at one, or at a new address that
//! becomes one, and a location changed or removed without rewriting where past jobs were.

use serde_json::{Value, json};

use crate::helpers::{TestApp, json, spawn_app};

async fn get(app: &TestApp, key: &str, path: &str) -> (u16, Value) {
    json(app.client().get(app.url(path)).bearer_auth(key).send().await.unwrap()).await
}

fn fields(body: &Value) -> Vec<(String, String)> {
    body["error"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("field errors in {body}"))
        .iter()
        .map(|f| (f["field"].as_str().unwrap().to_string(), f["message"].as_str().unwrap().to_string()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[tokio::test]
async fn locations_are_kept_per_customer_and_jobs_are_booked_at_them_over_the_api() {
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("acme").await;
    let brand = app.sms_brand(org, "Acme HVAC", "+17205550100").await;
    let key = app.api_key(org).await;

    // A landlord: their own address and a rental, given at once.
    let (status, body) = app
        .api_post(
            &key,
            "/api/v1/customers",
            json!({"name": "Sam Greene", "phone": "+17205550133", "address": "781 S Pearl St, Denver",
                   "locations": [{"label": "Rental", "address": "14 Oak St, Denver", "access_notes": "Lockbox 4417"}]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let sam = body["customer"]["id"].as_i64().unwrap();
    let locations = body["customer"]["locations"].as_array().unwrap().clone();
    let summary: Vec<(Value, Value, Value, Value)> = locations
        .iter()
        .map(|l| (l["label"].clone(), l["address"].clone(), l["access_notes"].clone(), l["job_count"].clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Value::Null, json!("781 S Pearl St, Denver"), Value::Null, json!(0)),
            (json!("Rental"), json!("14 Oak St, Denver"), json!("Lockbox 4417"), json!(0)),
        ]
    );
    let rental = locations[1]["id"].as_i64().unwrap();

    // The same address however typed, a blank address, a label too long, a row given twice:
    // each refused, naming its field, and nothing is half-written.
    let (status, body) = app
        .api_post(&key, &format!("/api/v1/customers/{sam}/locations"), json!({"address": " 14  OAK st, denver. "}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), pairs(&[("address", "the customer already has a location at this address")]));
    let (status, body) = app
        .api_post(&key, &format!("/api/v1/customers/{sam}/locations"), json!({"address": " ", "label": "x".repeat(61)}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), pairs(&[("label", "at most 60 characters"), ("address", "this field is required")]));
    let (status, body) = app
        .api_post(
            &key,
            "/api/v1/customers",
            json!({"name": "Twice", "locations": [{"address": "1 A St"}, {"address": "1 a st."}, {"address": ""}]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        fields(&body),
        pairs(&[
            ("locations.2.address", "this address is given twice"),
            ("locations.3.address", "this field is required")
        ])
    );
    let (_, body) = get(&app, &key, "/api/v1/customers?q=twice").await;
    assert_eq!(body["customers"], json!([]), "a refused customer is not created: {body}");

    // A job at the rental takes its address; the job shows the location and how to get in.
    let job_at = |extra: Value| {
        let mut b = json!({"brand_id": brand.id.0, "customer_id": sam, "service": "Furnace tune-up"});
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    let (status, body) = app.api_post(&key, "/api/v1/jobs", job_at(json!({"service_location_id": rental}))).await;
    assert_eq!(status, 201, "{body}");
    let job = body["job"]["id"].as_i64().unwrap();
    assert_eq!(body["job"]["address"], "14 Oak St, Denver");
    assert_eq!(
        body["job"]["service_location"],
        json!({"id": rental, "label": "Rental", "access_notes": "Lockbox 4417"})
    );

    // A job at an address they have no location at adds one; a location of someone else, or a
    // location and a different address, are refused.
    let (status, body) = app.api_post(&key, "/api/v1/jobs", job_at(json!({"address": "9 Pine Rd, Denver"}))).await;
    assert_eq!(status, 201, "{body}");
    let pine = body["job"]["service_location"]["id"].as_i64().expect("the new address is a location");
    let (status, body) = app.api_post(&key, "/api/v1/customers", json!({"name": "Other", "address": "5 Elm St"})).await;
    assert_eq!(status, 201, "{body}");
    let elsewhere = body["customer"]["locations"][0]["id"].as_i64().unwrap();
    let (status, body) = app.api_post(&key, "/api/v1/jobs", job_at(json!({"service_location_id": elsewhere}))).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), pairs(&[("service_location_id", "Sam Greene has no such service location")]));
    let (status, body) = app
        .api_post(&key, "/api/v1/jobs", job_at(json!({"service_location_id": rental, "address": "1 Other Rd"})))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), pairs(&[("address", "give a service location or an address, not both")]));

    let (status, body) = get(&app, &key, &format!("/api/v1/customers/{sam}/locations")).await;
    assert_eq!(status, 200, "{body}");
    let counts: Vec<(String, i64)> = body["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["address"].as_str().unwrap().to_string(), l["job_count"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        counts,
        vec![("781 S Pearl St, Denver".into(), 0), ("14 Oak St, Denver".into(), 1), ("9 Pine Rd, Denver".into(), 1)]
    );

    // The rental's address is corrected: the job keeps the address it was booked at.
    let (status, body) = app
        .api_patch(
            &key,
            &format!("/api/v1/customers/{sam}/locations/{rental}"),
            json!({"address": "16 Oak St, Denver", "access_notes": ""}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["location"]["address"], &body["location"]["access_notes"], &body["location"]["label"]),
        (&json!("16 Oak St, Denver"), &Value::Null, &json!("Rental"))
    );
    let (_, body) = get(&app, &key, &format!("/api/v1/jobs/{job}")).await;
    assert_eq!(body["job"]["address"], "14 Oak St, Denver");
    assert_eq!(body["job"]["service_location"]["id"], rental);

    // Moving the job to another of the customer's locations takes that address.
    let (status, body) =
        app.api_patch(&key, &format!("/api/v1/jobs/{job}"), json!({"service_location_id": pine})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["job"]["address"], &body["job"]["service_location"]["id"]),
        (&json!("9 Pine Rd, Denver"), &json!(pine))
    );
    let (status, body) =
        app.api_patch(&key, &format!("/api/v1/jobs/{job}"), json!({"service_location_id": elsewhere})).await;
    assert_eq!(status, 422, "{body}");

    // Removed: its jobs keep their address and lose the link; removing it again is a 404.
    let remove = || async {
        let path = format!("/api/v1/customers/{sam}/locations/{pine}");
        app.client().delete(app.url(&path)).bearer_auth(&key).send().await.unwrap().status().as_u16()
    };
    assert_eq!(remove().await, 204);
    let (_, body) = get(&app, &key, &format!("/api/v1/jobs/{job}")).await;
    assert_eq!(
        (&body["job"]["address"], &body["job"]["service_location"]),
        (&json!("9 Pine Rd, Denver"), &Value::Null)
    );
    assert_eq!(remove().await, 404);
    let (status, body) =
        app.api_patch(&key, &format!("/api/v1/customers/{sam}/locations/abc"), json!({"label": "x"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_id")), "{body}");
    // A location is reached only through its own customer.
    let other = body_id(&app, &key, "Other").await;
    let (status, _) =
        app.api_patch(&key, &format!("/api/v1/customers/{other}/locations/{rental}"), json!({"label": "x"})).await;
    assert_eq!(status, 404);

    // Another organization sees none of it.
    let (org2, _) = app.org_with_admin("rival").await;
    let key2 = app.api_key(org2).await;
    let (status, _) = get(&app, &key2, &format!("/api/v1/customers/{sam}/locations")).await;
    assert_eq!(status, 404);
    let (status, _) =
        app.api_patch(&key2, &format!("/api/v1/customers/{sam}/locations/{rental}"), json!({"label": "mine"})).await;
    assert_eq!(status, 404);
}

async fn body_id(app: &TestApp, key: &str, q: &str) -> i64 {
    let (_, body) = get(app, key, &format!("/api/v1/customers?q={q}")).await;
    body["customers"][0]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn the_office_keeps_locations_on_the_card_and_books_a_job_at_one() {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    let brand = app.sms_brand(org, "Acme HVAC", "+17205550100").await;
    let key = app.api_key(org).await;
    let b = app.signed_in(&admin.email).await;
    let (_, body) =
        app.api_post(&key, "/api/v1/customers", json!({"name": "Sam Greene", "address": "781 S Pearl St"})).await;
    let sam = body["customer"]["id"].as_i64().unwrap();
    let home = body["customer"]["locations"][0]["id"].as_i64().unwrap();

    let (_, html) = b.get_text(&format!("/customers/{sam}")).await;
    assert!(html.contains(&format!(r#"<li class="site" id="location-{home}">"#)), "{html}");
    assert!(html.contains("<span>781 S Pearl St</span>") && html.contains("No jobs here yet"), "{html}");

    // Refused: shown again open, what was typed kept, the reason beside the field.
    let r = b
        .post_form(
            &format!("/customers/{sam}/locations"),
            &[("label", "Duplex"), ("address", "781 s pearl st."), ("access_notes", "Lockbox 4417")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<details class="site-add" open>"#), "{html}");
    assert!(
        html.contains(r#"name="address" value="781 s pearl st." maxlength="300" required autocomplete="off" aria-invalid="true" aria-describedby="location-new-address-error" autofocus>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<span class="field-error" id="location-new-address-error">the customer already has a location at this address</span>"#)
            && html.contains(">Lockbox 4417</textarea>")
            && html.contains(r#"name="label" value="Duplex""#),
        "{html}"
    );

    let r = b
        .post_form(
            &format!("/customers/{sam}/locations"),
            &[("label", "Duplex, unit A"), ("address", "2231 S Downing St"), ("access_notes", "Lockbox 4417")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let duplex: i64 = to.rsplit("#location-").next().unwrap().parse().unwrap();
    assert_eq!(to, format!("/customers/{sam}?done=location-added#location-{duplex}"));
    let (_, html) = b.get_text(&to).await;
    assert!(
        html.contains("Location added.")
            && html.contains("<strong>Duplex, unit A</strong> <span>2231 S Downing St</span>")
            && html.contains(r#"<p class="site-notes">Lockbox 4417</p>"#),
        "{html}"
    );

    // "New job here": the location is picked; the form lists the customer's locations.
    let (_, html) = b.get_text(&format!("/jobs/new?customer={sam}&location={duplex}")).await;
    assert!(html.contains(&format!(r#"<input type="radio" name="location" value="{duplex}" checked>"#)), "{html}");
    assert!(html.contains(&format!(r#"<input type="radio" name="location" value="{home}">"#)), "{html}");
    assert!(
        html.contains("<span>Duplex, unit A: 2231 S Downing St<span class=\"hint\">Lockbox 4417</span></span>"),
        "{html}"
    );
    // Picking the customer (no location asked for) picks where they were first served.
    let (_, html) = b.get_text(&format!("/jobs/new?customer={sam}")).await;
    assert!(html.contains(&format!(r#"<input type="radio" name="location" value="{home}" checked>"#)), "{html}");

    let brand_id = brand.id.0.to_string();
    let (sam_s, duplex_s) = (sam.to_string(), duplex.to_string());
    let r = b
        .post_form(
            "/jobs",
            &[
                ("brand", &brand_id),
                ("customer", &sam_s),
                ("service", "Leak"),
                ("location", &duplex_s),
                ("address", "left over"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let job_page = r.headers()["location"].to_str().unwrap().to_string();
    let (_, html) = b.get_text(&job_page).await;
    assert!(html.contains(r#"name="address" value="2231 S Downing St""#), "the location's address: {html}");
    assert!(html.contains(r#"<p class="span-2 access-notes"><strong>Getting in:</strong> Lockbox 4417</p>"#), "{html}");
    assert!(html.contains("Duplex, unit A · One of"), "{html}");

    // Edited on the card: the job keeps its address; removed: the card says so.
    let r = b
        .post_form(
            &format!("/customers/{sam}/locations/{duplex}"),
            &[("label", "Duplex A"), ("address", "2231 South Downing St"), ("access_notes", "")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text(&job_page).await;
    assert!(html.contains(r#"name="address" value="2231 S Downing St""#) && !html.contains("Getting in:"), "{html}");
    let r = b.post_form(&format!("/customers/{sam}/locations/{duplex}/remove"), &[]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text(r.headers()["location"].to_str().unwrap()).await;
    assert!(
        html.contains("Location removed. Its jobs keep their address.") && !html.contains("2231 South Downing St"),
        "{html}"
    );
}
