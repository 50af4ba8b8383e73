//! The message desk's protocols over the API: a client (a brand) starts from a template, each
//! save is a new version, an edit from an old copy is refused as stale, and refusals name the
//! row and field.

use serde_json::{Value, json};

use crate::helpers::{json, spawn_app};

#[tokio::test]
async fn a_client_gets_a_protocol_from_a_template_and_each_save_is_a_version() {
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("acme").await;
    let brand = app.brand(org, "Lakeside Clinic").await.id.0;
    let key = app.api_key(org).await;
    let get = |path: String| {
        let r = app.client().get(app.url(&path)).bearer_auth(&key).send();
        async move { json(r.await.unwrap()).await }
    };
    let put = |body: Value| {
        let r =
            app.client().put(app.url(&format!("/api/v1/brands/{brand}/protocol"))).bearer_auth(&key).json(&body).send();
        async move { json(r.await.unwrap()).await }
    };

    let (status, body) = get(format!("/api/v1/brands/{brand}/protocol")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        body["error"]["message"],
        "Lakeside Clinic has no protocol yet: PUT one (GET /api/v1/protocol-templates has examples)"
    );

    let (status, templates) = get("/api/v1/protocol-templates".into()).await;
    assert_eq!(status, 200);
    let names: Vec<&str> =
        templates["templates"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Solo lawyer", "HVAC and plumbing", "Property management", "Medical clinic"]);
    let clinic = templates["templates"][3]["protocol"].clone();

    // The template as it is: version 1, with stable keys for caller types and fields.
    let (status, body) = put(clinic.clone()).await;
    assert_eq!(status, 200, "{body}");
    let p = &body["protocol"];
    assert_eq!((p["version"].as_i64(), p["saved_by"].as_str()), (Some(1), Some("api")));
    assert_eq!(p["answer_phrase"], "Thank you for calling {client}, this is {operator}. How may I help you?");
    let types: Vec<(&str, &str)> = p["caller_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["key"].as_str().unwrap(), c["name"].as_str().unwrap()))
        .collect();
    assert_eq!(types, [("patient", "Patient"), ("doctor_or_lab", "Doctor or lab")]);
    assert_eq!(
        p["caller_types"][0]["fields"][1],
        json!({"key": "callback_number", "label": "Callback number", "type": "phone", "required": true, "help": "Read it back to the caller."})
    );
    let (_, read) = get(format!("/api/v1/brands/{brand}/protocol")).await;
    assert_eq!(read["protocol"], body["protocol"]);

    // An edit made from the version read: version 2; the keys stay as they were.
    let mut edited = body["protocol"].clone();
    let edited_obj = edited.as_object_mut().unwrap();
    for k in ["brand_id", "saved_by", "saved_at"] {
        edited_obj.remove(k);
    }
    edited["caller_types"][1]["name"] = json!("Physician or laboratory");
    edited["caller_types"][0]["fields"].as_array_mut().unwrap().push(json!({"label": "Pharmacy", "type": "text"}));
    let (status, body) = put(edited.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["protocol"]["version"], 2);
    assert_eq!(body["protocol"]["caller_types"][1]["key"], "doctor_or_lab");
    assert_eq!(body["protocol"]["caller_types"][0]["fields"][4]["key"], "pharmacy");

    // The same edit again, from version 1: someone saved since.
    let (status, body) = put(edited).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "stale");
    assert_eq!(
        body["error"]["message"],
        "This protocol was saved by an API client (version 2) since you opened it: reload to see the changes, then make yours again"
    );
    // Version 1 is kept as it was: a message taken under it keeps what the operator saw.
    let v1 = switchboard_core::desk::version(&app.db, org, switchboard_core::ids::BrandId(brand), Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v1.protocol.caller_types[1].name, "Doctor or lab");

    // Refusals name the row and the field, counted from 1; nothing is saved.
    let mut bad = clinic.clone();
    bad["answer_phrase"] = json!("{company}, {operator} speaking");
    bad["caller_types"][1]["name"] = json!("patient");
    bad["caller_types"][1]["fields"][2] = json!({"label": "Size", "type": "dropdown"});
    let (status, body) = put(bad).await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<(&str, &str)> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), f["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            ("answer_phrase", "{company} is not something the desk can fill in: use {operator} or {client}"),
            ("caller_types.2.name", "\"patient\" is listed twice"),
            (
                "caller_types.2.fields.3.kind",
                "\"dropdown\" is not a field type (text, long_text, number, phone, email, date, choice, yes_no)"
            ),
        ]
    );
    let (_, read) = get(format!("/api/v1/brands/{brand}/protocol")).await;
    assert_eq!(read["protocol"]["version"], 2, "a refused save changes nothing");

    // Another organization's key sees no such brand; an id that is not one is a 400.
    let (org2, _) = app.org_with_admin("rival").await;
    let key2 = app.api_key(org2).await;
    let r =
        app.client().get(app.url(&format!("/api/v1/brands/{brand}/protocol"))).bearer_auth(&key2).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = app
        .client()
        .put(app.url(&format!("/api/v1/brands/{brand}/protocol")))
        .bearer_auth(&key2)
        .json(&clinic)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (status, _) = get("/api/v1/brands/abc/protocol".into()).await;
    assert_eq!(status, 400);
}
