//! Completes the generated OpenAPI document with what every route shares, so it states what
//! the server does: unique operation ids (`brands_list`, not five `list`s), a description on
//! every response, and the error statuses any route can answer (401 without a valid key, 400
//! for a query string, id or JSON that cannot be read, 404 for an id of another organization
//! or none, 413/415/422 for bodies), each with the `ErrorBody` shape. Checked against the
//! OpenAPI 3.1 schema in CI and by rule in the tests.

use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// A string schema that takes only `values` (the server refuses anything else with 422).
fn one_of(values: impl IntoIterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values)).into()
}

/// The office's ways of recording a payment.
pub fn payment_method() -> RefOr<Schema> {
    one_of(switchboard_core::billing::OFFICE_METHODS.iter().map(|(m, _)| *m))
}

pub fn job_status() -> RefOr<Schema> {
    one_of(switchboard_core::jobs::JobStatus::ALL.map(|s| s.as_str()))
}

pub fn lead_source() -> RefOr<Schema> {
    one_of(switchboard_core::leads::LeadSource::ALL.map(|s| s.as_str()))
}

pub fn user_role() -> RefOr<Schema> {
    one_of(switchboard_core::tenancy::Role::ALL.map(|r| r.as_str()))
}

/// The type of a field an operator or a web form fills in.
pub fn field_kind() -> RefOr<Schema> {
    one_of(switchboard_core::form_fields::FieldKind::ALL.map(|k| k.as_str()))
}

/// A way to reach a desk contact.
pub fn contact_method() -> RefOr<Schema> {
    one_of(switchboard_core::desk::contacts::MethodKind::ALL.map(|k| k.as_str()))
}

/// A desk message's delivery state.
pub fn desk_status() -> RefOr<Schema> {
    use switchboard_core::desk::messages::DeskStatus;
    one_of(DeskStatus::ALL.map(DeskStatus::as_str))
}

/// How a desk message is delivered by a rule.
pub fn delivery_method() -> RefOr<Schema> {
    one_of(switchboard_core::desk::rules::Method::ALL.map(|m| m.as_str()))
}

/// What a step of an urgent flow does.
pub fn flow_action() -> RefOr<Schema> {
    one_of(["text_confirm", "text", "call_confirm", "call_leave_message", "email", "secure", "live_patch"])
}

/// Whom a step of an urgent flow reaches.
pub fn flow_target_kind() -> RefOr<Schema> {
    one_of(["contact", "on_call", "address"])
}

/// Which of a person's ways a step uses.
pub fn flow_channel() -> RefOr<Schema> {
    one_of(["cell", "home", "office", "email"])
}

/// How often an urgent flow runs.
pub fn flow_repeat() -> RefOr<Schema> {
    one_of(["until_confirmed", "times"])
}

/// Where an urgent message's escalation stands.
pub fn escalation_state() -> RefOr<Schema> {
    one_of(["escalating", "confirmed", "exhausted"])
}

/// When a delivery rule applies.
pub fn delivery_period() -> RefOr<Schema> {
    one_of(switchboard_core::desk::rules::Period::ALL.map(|p| p.as_str()))
}

/// When the brand's urgent words make a desk message urgent.
pub fn urgent_words_period() -> RefOr<Schema> {
    use switchboard_core::desk::rules::Period;
    one_of(["never", Period::Always.as_str(), Period::BusinessHours.as_str(), Period::AfterHours.as_str()])
}

/// One delivery of a desk message: how, and where it stands.
pub fn delivery_channel() -> RefOr<Schema> {
    one_of(["email", "text", "recap", "check_in"])
}

pub fn delivery_state() -> RefOr<Schema> {
    one_of(["waiting", "sending", "sent", "delivered", "failed"])
}

/// `sms` or `email`.
pub fn channel() -> RefOr<Schema> {
    one_of(["sms", "email"])
}

pub fn lead_status() -> RefOr<Schema> {
    one_of(switchboard_core::leads::LeadStatus::ALL.map(|s| s.as_str()))
}

/// The standard meaning of a status, as the document words it.
fn description(code: &str) -> &'static str {
    match code {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted: queued, sent by the background engine",
        "204" => "No content",
        "400" => "The query string, the id in the path or the JSON body could not be read",
        "401" => "No API key, or one that is not valid (revoked, mistyped)",
        "403" => "The API key may not do this",
        "404" => "No such resource in this organization",
        "409" => "The change conflicts with the resource's current state (the message says which)",
        "413" => "The body is larger than the server accepts",
        "415" => "The body is not JSON (send Content-Type: application/json)",
        "422" => "A field is missing, has the wrong type or breaks a rule; error.fields names each",
        "429" => "Too many requests; try again shortly",
        _ => "Response",
    }
}

fn error_response(code: &str) -> Value {
    json!({
        "description": description(code),
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } }
    })
}

pub fn complete(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            if !matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                continue;
            }
            let Some(op) = op.as_object_mut() else { continue };
            let resource = path.trim_start_matches("/api/v1/").split('/').next().unwrap_or("api").to_string();
            if let Some(id) = op.get("operationId").and_then(Value::as_str).map(str::to_string)
                && !id.starts_with(&format!("{resource}_"))
            {
                op.insert("operationId".into(), Value::String(format!("{resource}_{id}")));
            }
            let has_body = op.contains_key("requestBody");
            let has_query = op
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|ps| ps.iter().any(|p| p.get("in").and_then(Value::as_str) == Some("query")));
            let responses = op.entry("responses").or_insert_with(|| json!({}));
            let Some(responses) = responses.as_object_mut() else { continue };
            let mut shared = vec!["400", "401"];
            if path.contains('{') {
                shared.push("404");
            }
            if has_body {
                shared.extend(["413", "415", "422"]);
            }
            if has_query {
                shared.push("422");
            }
            for code in shared {
                responses.entry(code.to_string()).or_insert_with(|| error_response(code));
            }
            for (code, r) in responses.iter_mut() {
                if let Some(r) = r.as_object_mut()
                    && !r.contains_key("description")
                {
                    r.insert("description".into(), Value::String(description(code).into()));
                }
            }
        }
    }
}
