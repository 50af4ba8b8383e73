//! The OpenAPI document states the rules the server enforces on what it is sent: every text
//! field of a request carries its limit (a length, a pattern, a list of values or a format),
//! and the limits it states are the server's own, probed at the edge: a value at the limit is
//! taken, one past it is refused naming the field. A client built from the document never
//! sends what the server refuses for a reason the document could have told it.

use serde_json::{Map, Value, json};

use crate::helpers::{TestApp, json, spawn_app};

/// The schema `s` refers to, with `$ref`s and nullable `oneOf`s followed.
fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    if let Some(r) = s["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return resolve(doc, &doc["components"]["schemas"][name]);
    }
    if let Some(alts) = s["oneOf"].as_array()
        && let Some(real) = alts.iter().find(|a| a["type"] != "null")
    {
        return resolve(doc, real);
    }
    s
}

fn types(s: &Value) -> Vec<String> {
    match &s["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts.iter().filter_map(|t| t.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

/// Every property of the request bodies (and of the objects inside them): `Schema.field`.
fn request_properties(doc: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut todo: Vec<(String, Value)> = Vec::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let s = &op["requestBody"]["content"]["application/json"]["schema"];
            if let Some(r) = s["$ref"].as_str() {
                todo.push((r.trim_start_matches("#/components/schemas/").to_string(), resolve(doc, s).clone()));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    while let Some((name, schema)) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        for (field, raw) in schema["properties"].as_object().cloned().unwrap_or_default() {
            let items = &raw["items"];
            for inner in [&raw, items] {
                let target = inner["$ref"]
                    .as_str()
                    .or_else(|| inner["oneOf"].as_array().and_then(|a| a.iter().find_map(|x| x["$ref"].as_str())));
                if let Some(r) = target {
                    let n = r.trim_start_matches("#/components/schemas/").to_string();
                    todo.push((n, resolve(doc, inner).clone()));
                }
            }
            out.push((format!("{name}.{field}"), resolve(doc, &raw).clone()));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn every_text_and_number_a_client_sends_has_its_limit_in_the_document() {
    let app = spawn_app().await;
    let (_, doc) = json(app.client().get(app.url("/api/v1/openapi.json")).send().await.unwrap()).await;
    let mut unlimited = Vec::new();
    let properties = request_properties(&doc);
    assert!(properties.len() > 80, "every request body's fields are read: {properties:?}");
    for (name, s) in properties {
        let t = types(&s);
        let limited = |keys: &[&str]| keys.iter().any(|k| s.get(*k).is_some());
        if t.contains(&"string".to_string()) && !limited(&["maxLength", "enum", "pattern", "format"]) {
            unlimited.push(name.clone());
        }
        if t.contains(&"number".to_string()) && !limited(&["minimum", "maximum"]) {
            unlimited.push(name.clone());
        }
        if t.contains(&"array".to_string()) {
            let item = resolve(&doc, &s["items"]);
            let item_types = types(item);
            if item_types.contains(&"string".to_string()) && !limited(&["maxItems"]) {
                unlimited.push(name.clone());
            }
        }
    }
    assert_eq!(unlimited, Vec::<String>::new(), "request fields with no limit in the document");
}

/// What a probe checks about one field.
#[derive(Clone, Copy)]
enum Rule {
    /// The document's `maxLength`: that many characters are taken, one more is refused.
    MaxLength,
    /// `minLength` 1 with a non-blank pattern: spaces alone are refused.
    NotBlank,
    /// The document's `enum`: each value is taken (not refused for this field), another is
    /// refused.
    OneOf,
    /// The document's `minimum` and `maximum`: the edges are taken, past them refused.
    Range,
}

struct Probe {
    method: &'static str,
    path: String,
    /// The body's schema in the document.
    schema: &'static str,
    /// The property (a path into the body for nested ones: `customer.name`).
    field: &'static str,
    /// A body the server takes, the field set in it for each try.
    base: Value,
    rule: Rule,
    /// The name the server's error gives the field.
    error_field: &'static str,
}

fn set(body: &Value, field: &str, value: Value) -> Value {
    let mut body = body.clone();
    let mut at = &mut body;
    let parts: Vec<&str> = field.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        at = at.as_object_mut().unwrap().entry(p.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
    at[parts[parts.len() - 1]] = value;
    body
}

async fn send(app: &TestApp, key: &str, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let req = match method {
        "post" => app.client().post(app.url(path)),
        "put" => app.client().put(app.url(path)),
        _ => app.client().patch(app.url(path)),
    };
    let r = req.bearer_auth(key).json(body).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn names_field(body: &Value, field: &str) -> bool {
    body["error"]["fields"].as_array().is_some_and(|fs| fs.iter().any(|f| f["field"] == field))
}

#[tokio::test]
async fn the_limits_the_document_states_are_the_ones_the_server_enforces() {
    let app = spawn_app().await;
    let (org, key, summit) = app.seed_demo().await;
    let (_, doc) = json(app.client().get(app.url("/api/v1/openapi.json")).send().await.unwrap()).await;
    let get = |path: &'static str| {
        let r = app.client().get(app.url(path)).bearer_auth(&key).send();
        async move { json(r.await.unwrap()).await.1 }
    };
    let customer = get("/api/v1/customers?q=Sam%20Greene").await["customers"][0].clone();
    let customer_id = customer["id"].as_i64().unwrap();
    let location = customer["locations"][0]["id"].as_i64().unwrap();
    let jobs = get("/api/v1/jobs").await;
    let job = jobs["jobs"].as_array().unwrap().iter().find(|j| j["code"] == "J-2202").unwrap()["id"].as_i64().unwrap();
    let leads = get("/api/v1/leads").await;
    // A lead with a phone and an email, so either channel can answer it.
    let lead = leads["leads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["phone"].is_string() && l["email"].is_string())
        .expect("a demo lead with a phone and an email")["id"]
        .as_i64()
        .unwrap();
    // The demo's invoice of J-2203 (drafted from its line items).
    let invoice = get("/api/v1/invoices").await["invoices"][0]["id"].as_i64().expect("the demo's invoice");
    let users = get("/api/v1/users").await;
    let user = users["users"][0]["id"].as_i64().unwrap();
    let brand = summit.0;
    let harbor = switchboard_core::tenancy::list_brands(&app.db, org)
        .await
        .unwrap()
        .into_iter()
        .find(|b| b.name == "Harbor Plumbing & Drain")
        .unwrap()
        .id
        .0;
    let desk_message = json!({"client_id": harbor, "caller_type": "caller", "answers": {"caller_name": "P", "callback_number": "6175550199", "service_address": "1 A St", "what_is_wrong": "Leak"}});

    let new_job = json!({"brand_id": brand, "customer_id": customer_id, "service": "Tune-up"});
    let protocol = json!({"answer_phrase": "{client}, {operator} speaking", "caller_types": [{"name": "Caller", "fields": [{"label": "Name", "type": "text"}]}]});
    let probes = vec![
        (
            "post",
            "/api/v1/brands".to_string(),
            "BrandBody",
            "name",
            json!({"name": "B", "time_zone": "America/Denver"}),
            Rule::MaxLength,
            "name",
        ),
        (
            "post",
            "/api/v1/brands".to_string(),
            "BrandBody",
            "sms_help_reply",
            json!({"name": "B", "time_zone": "America/Denver"}),
            Rule::MaxLength,
            "sms_help_reply",
        ),
        (
            "put",
            format!("/api/v1/brands/{brand}/protocol"),
            "ProtocolBody",
            "answer_phrase",
            protocol.clone(),
            Rule::MaxLength,
            "answer_phrase",
        ),
        (
            "put",
            format!("/api/v1/brands/{brand}/protocol"),
            "ProtocolBody",
            "answer_phrase",
            protocol.clone(),
            Rule::NotBlank,
            "answer_phrase",
        ),
        (
            "put",
            format!("/api/v1/brands/{brand}/protocol"),
            "ProtocolBody",
            "account_notes",
            protocol.clone(),
            Rule::MaxLength,
            "account_notes",
        ),
        (
            "post",
            "/api/v1/desk/messages".to_string(),
            "NewDeskMessage",
            "urgent_reason",
            desk_message.clone(),
            Rule::MaxLength,
            "urgent_reason",
        ),
        ("post", format!("/api/v1/brands/{brand}/contacts"), "ContactBody", "name", json!({}), Rule::MaxLength, "name"),
        ("post", format!("/api/v1/brands/{brand}/contacts"), "ContactBody", "name", json!({}), Rule::NotBlank, "name"),
        (
            "post",
            format!("/api/v1/brands/{brand}/contacts"),
            "ContactBody",
            "notes",
            json!({"name": "N"}),
            Rule::MaxLength,
            "notes",
        ),
        ("patch", format!("/api/v1/brands/{brand}"), "BrandPatch", "name", json!({}), Rule::MaxLength, "name"),
        ("patch", format!("/api/v1/brands/{brand}"), "BrandPatch", "name", json!({}), Rule::NotBlank, "name"),
        (
            "post",
            "/api/v1/users".to_string(),
            "NewUserBody",
            "role",
            json!({"email": "probe@example.com", "name": "P", "password": "correct horse battery"}),
            Rule::OneOf,
            "role",
        ),
        (
            "post",
            "/api/v1/users".to_string(),
            "NewUserBody",
            "name",
            json!({"email": "probe2@example.com", "role": "dispatcher", "password": "correct horse battery"}),
            Rule::MaxLength,
            "name",
        ),
        (
            "post",
            "/api/v1/users".to_string(),
            "NewUserBody",
            "name",
            json!({"email": "probe3@example.com", "role": "dispatcher", "password": "correct horse battery"}),
            Rule::NotBlank,
            "name",
        ),
        ("patch", format!("/api/v1/users/{user}"), "UserPatch", "role", json!({}), Rule::OneOf, "role"),
        ("post", "/api/v1/customers".to_string(), "CustomerBody", "name", json!({}), Rule::MaxLength, "name"),
        (
            "post",
            "/api/v1/customers".to_string(),
            "CustomerBody",
            "address",
            json!({"name": "A"}),
            Rule::MaxLength,
            "address",
        ),
        (
            "post",
            "/api/v1/customers".to_string(),
            "CustomerBody",
            "notes",
            json!({"name": "A"}),
            Rule::MaxLength,
            "notes",
        ),
        (
            "patch",
            format!("/api/v1/customers/{customer_id}"),
            "CustomerPatchBody",
            "notes",
            json!({}),
            Rule::MaxLength,
            "notes",
        ),
        (
            "post",
            format!("/api/v1/customers/{customer_id}/locations"),
            "ServiceLocationBody",
            "address",
            json!({}),
            Rule::MaxLength,
            "address",
        ),
        (
            "post",
            format!("/api/v1/customers/{customer_id}/locations"),
            "ServiceLocationBody",
            "address",
            json!({}),
            Rule::NotBlank,
            "address",
        ),
        (
            "patch",
            format!("/api/v1/customers/{customer_id}/locations/{location}"),
            "ServiceLocationPatchBody",
            "label",
            json!({}),
            Rule::MaxLength,
            "label",
        ),
        (
            "patch",
            format!("/api/v1/customers/{customer_id}/locations/{location}"),
            "ServiceLocationPatchBody",
            "access_notes",
            json!({}),
            Rule::MaxLength,
            "access_notes",
        ),
        ("post", "/api/v1/jobs".to_string(), "NewJobBody", "service", new_job.clone(), Rule::MaxLength, "service"),
        ("post", "/api/v1/jobs".to_string(), "NewJobBody", "service", new_job.clone(), Rule::NotBlank, "service"),
        ("post", "/api/v1/jobs".to_string(), "NewJobBody", "address", new_job.clone(), Rule::MaxLength, "address"),
        (
            "patch",
            format!("/api/v1/jobs/{job}"),
            "JobPatchBody",
            "internal_notes",
            json!({}),
            Rule::MaxLength,
            "internal_notes",
        ),
        (
            "patch",
            format!("/api/v1/jobs/{job}"),
            "JobPatchBody",
            "customer_notes",
            json!({}),
            Rule::MaxLength,
            "customer_notes",
        ),
        (
            "patch",
            format!("/api/v1/jobs/{job}"),
            "JobPatchBody",
            "location.lat",
            json!({"location": {"lat": 0.0, "lon": 0.0}}),
            Rule::Range,
            "location",
        ),
        (
            "patch",
            format!("/api/v1/jobs/{job}"),
            "JobPatchBody",
            "location.lon",
            json!({"location": {"lat": 0.0, "lon": 0.0}}),
            Rule::Range,
            "location",
        ),
        (
            "post",
            format!("/api/v1/jobs/{job}/status"),
            "StatusBody",
            "reason",
            json!({"status": "scheduled"}),
            Rule::MaxLength,
            "reason",
        ),
        ("post", format!("/api/v1/jobs/{job}/status"), "StatusBody", "status", json!({}), Rule::OneOf, "status"),
        ("post", format!("/api/v1/leads/{lead}/messages"), "ReplyBody", "body", json!({}), Rule::MaxLength, "body"),
        ("post", format!("/api/v1/leads/{lead}/messages"), "ReplyBody", "body", json!({}), Rule::NotBlank, "body"),
        (
            "post",
            format!("/api/v1/leads/{lead}/messages"),
            "ReplyBody",
            "channel",
            json!({"body": "Hi"}),
            Rule::OneOf,
            "channel",
        ),
        (
            "post",
            format!("/api/v1/leads/{lead}/convert"),
            "ConvertBody",
            "customer.name",
            json!({"service": "S", "customer": {"name": "N"}}),
            Rule::NotBlank,
            "customer.name",
        ),
        (
            "post",
            format!("/api/v1/leads/{lead}/convert"),
            "ConvertBody",
            "service",
            json!({}),
            Rule::NotBlank,
            "service",
        ),
        (
            "post",
            "/api/v1/messages".to_string(),
            "SendMessage",
            "body",
            json!({"brand_id": brand, "to": "+17205550131"}),
            Rule::NotBlank,
            "body",
        ),
        (
            "post",
            "/api/v1/messages".to_string(),
            "SendMessage",
            "channel",
            json!({"brand_id": brand, "to": "+17205550131", "body": "Hi", "subject": "Hi"}),
            Rule::OneOf,
            "channel",
        ),
        (
            "post",
            format!("/api/v1/invoices/{invoice}/payments"),
            "PaymentBody",
            "note",
            json!({"amount": 1, "method": "cash"}),
            Rule::MaxLength,
            "note",
        ),
        (
            "post",
            format!("/api/v1/invoices/{invoice}/payments"),
            "PaymentBody",
            "method",
            json!({"amount": 1}),
            Rule::OneOf,
            "method",
        ),
        // Last: at the limit it voids the invoice.
        ("post", format!("/api/v1/invoices/{invoice}/void"), "VoidBody", "reason", json!({}), Rule::NotBlank, "reason"),
        (
            "post",
            format!("/api/v1/invoices/{invoice}/void"),
            "VoidBody",
            "reason",
            json!({}),
            Rule::MaxLength,
            "reason",
        ),
    ];
    let probes: Vec<Probe> = probes
        .into_iter()
        .map(|(method, path, schema, field, base, rule, error_field)| Probe {
            method,
            path,
            schema,
            field,
            base,
            rule,
            error_field,
        })
        .collect();

    let mut wrong = Vec::new();
    for p in &probes {
        // The property's schema in the document.
        let mut s = &doc["components"]["schemas"][p.schema];
        for part in p.field.split('.') {
            s = resolve(&doc, &resolve(&doc, s)["properties"][part]);
        }
        let what = format!("{} {} {}", p.method, p.path, p.field);
        let mut tries: Vec<(Value, bool)> = Vec::new(); // (value, should be taken)
        match p.rule {
            Rule::MaxLength => match s["maxLength"].as_u64() {
                Some(n) => {
                    tries.push((json!("a".repeat(n as usize)), true));
                    tries.push((json!("a".repeat(n as usize + 1)), false));
                }
                None => wrong.push(format!("{what}: no maxLength in the document")),
            },
            Rule::NotBlank => {
                if s["minLength"].as_u64() != Some(1) || s["pattern"] != "\\S" {
                    wrong.push(format!("{what}: the document does not say it may not be blank: {s}"));
                }
                tries.push((json!("   "), false));
            }
            Rule::OneOf => match s["enum"].as_array() {
                Some(values) => {
                    tries.extend(values.iter().map(|v| (v.clone(), true)));
                    tries.push((json!("not-a-value"), false));
                }
                None => wrong.push(format!("{what}: no enum in the document")),
            },
            Rule::Range => match (s["minimum"].as_f64(), s["maximum"].as_f64()) {
                (Some(lo), Some(hi)) => {
                    tries.extend([
                        (json!(lo), true),
                        (json!(hi), true),
                        (json!(lo - 0.5), false),
                        (json!(hi + 0.5), false),
                    ]);
                }
                _ => wrong.push(format!("{what}: no minimum and maximum in the document")),
            },
        }
        for (value, taken) in tries {
            let body = set(&p.base, p.field, value.clone());
            let (status, answer) = send(&app, &key, p.method, &p.path, &body).await;
            let refused = status == 422 && names_field(&answer, p.error_field);
            if taken && refused {
                wrong.push(format!("{what} = {value}: valid by the document, refused: {answer}"));
            }
            if !taken && !refused {
                wrong.push(format!("{what} = {value}: breaks the document, answered {status} {answer}"));
            }
        }
    }
    assert!(wrong.is_empty(), "the document and the server disagree:\n  {}", wrong.join("\n  "));
}
