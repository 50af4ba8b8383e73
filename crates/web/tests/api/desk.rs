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

#[tokio::test]
async fn the_office_sets_up_a_clients_protocol_from_a_template_and_edits_it_in_settings() {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    let brand = app.brand(org, "Lakeside Clinic").await.id.0;
    let b = app.signed_in(&admin.email).await;

    let (_, html) = b.get_text("/settings/desk").await;
    assert!(html.contains("Lakeside Clinic") && html.contains(r#"<span class="muted">None yet</span>"#), "{html}");
    let (_, html) = b.get_text(&format!("/settings/desk/{brand}")).await;
    assert!(
        html.contains("No protocol yet.") && html.contains(r#"<details class="card desk-templates" open>"#),
        "{html}"
    );

    // The clinic's template: version 1, its greeting as the operator will say it.
    let r = b.post_form(&format!("/settings/desk/{brand}/template"), &[("template", "medical_clinic")]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text(r.headers()["location"].to_str().unwrap()).await;
    assert!(html.contains("Started from the template: change what differs for this client, then save."), "{html}");
    assert!(html.contains("Version 1, saved by admin admin."), "{html}");
    assert!(
        html.contains(
            r#"<q class="greeting">Thank you for calling Lakeside Clinic, this is admin. How may I help you?</q>"#
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"name="c2_name" value="Doctor or lab""#)
            && html.contains(r#"name="c1_f4_label" value="Reason for the call""#)
    );
    // What recipients receive, before any call: a patient's message as text and email.
    assert!(
        html.contains(
            r#"<div class="sms-bubble">Lakeside Clinic message (Patient): Caller&#39;s name: Jordan Lee; Callback number: (312) 555-0199; Patient&#39;s date of birth: Sun Nov 22, 2026; Reason for the call: What the caller said, in their words. Taken 11:00 AM Sun Nov 22.</div>"#
        ),
        "{html}"
    );
    assert!(html.contains("<strong>Message for Lakeside Clinic from Jordan Lee</strong>"), "{html}");
    assert!(
        html.contains(
            r#"<figcaption>Page</figcaption><div class="sms-bubble">Lakeside Clinic message (Patient): Caller&#39;s name: Jordan Lee; Callback number: (312) 555-0199; Patient&#39;s date of birth: Sun Nov 22, 2026; Reason for the call: What the caller said, in their words. Taken 11:00 AM Sun Nov 22.</div>"#
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"<div class="sms-bubble">Lakeside Clinic: a new message is waiting in your secure inbox. Read it here: https://…/inbox/…</div>"#),
        "{html}"
    );
    // The same for an urgent one, and the fax as its machine prints it.
    assert!(html.contains("<summary>What recipients receive: an urgent message</summary>"), "{html}");
    assert!(
        html.contains(
            r#"<div class="sms-bubble">URGENT Lakeside Clinic message (Patient): Caller&#39;s name: Jordan Lee; Callback number: (312) 555-0199; Patient&#39;s date of birth: Sun Nov 22, 2026; Reason for the call: What the caller said, in their words. Taken 11:00 AM Sun Nov 22.</div>"#
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "<figcaption>Fax (as printed)</figcaption><div class=\"email-preview fax-preview\"><pre>Message for Lakeside Clinic from Jordan Lee\n\
             Message for Lakeside Clinic, taken by Morgan at 11:00 AM Sun Nov 22.\n\
             Caller: Patient\n\
             Caller&#39;s name: Jordan Lee\n\
             Callback number: (312) 555-0199\n\
             Patient&#39;s date of birth: Sun Nov 22, 2026\n\
             Reason for the call: What the caller said, in their words.\n\
             Page 1 of 1\n</pre>"
        ),
        "{html}"
    );
    assert!(!html.contains("<figcaption>Daily recap</figcaption>"), "the clinic has no recap time: {html}");

    // The form as it is on the page, read back as a browser would post it.
    let fields = form_fields(&html, &format!(r#"action="/settings/desk/{brand}" "#));
    let with = |changes: &[(&str, &str)]| {
        let mut f = fields.clone();
        for (k, v) in changes {
            match f.iter_mut().find(|(name, _)| name == k) {
                Some(slot) => slot.1 = v.to_string(),
                None => f.push((k.to_string(), v.to_string())),
            }
        }
        f
    };
    // Refused: the phrase names something the desk cannot fill in, a new choice field has one
    // choice. Both reasons beside their fields; what was typed stays.
    let bad = with(&[
        ("answer_phrase", "{practice}, {operator} speaking"),
        ("c1_f5_label", "Insurance"),
        ("c1_f5_kind", "choice"),
        ("c1_f5_options", "Medicare"),
    ]);
    let r = post_pairs(&b, &format!("/settings/desk/{brand}"), &bad).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Nothing was saved: please check the fields marked below. What you typed is kept."),
        "{html}"
    );
    assert!(
        html.contains(r#"<span class="field-error" id="answer-phrase-error">{practice} is not something the desk can fill in: use {operator} or {client}</span>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="c1_f5_label" value="Insurance""#) && html.contains(">Medicare</textarea>"),
        "{html}"
    );
    assert!(html.contains(r#"<span class="field-error">list at least two choices, one per line</span>"#), "{html}");

    // Saved: a new field and a new caller type; version 2 keeps the keys it had.
    let good = with(&[
        ("c1_f5_label", "Insurance"),
        ("c1_f5_kind", "choice"),
        ("c1_f5_options", "Medicare\nPrivate\nNone"),
        ("c3_name", "Pharmacy"),
        ("c3_f1_label", "Prescription number"),
    ]);
    let r = post_pairs(&b, &format!("/settings/desk/{brand}"), &good).await;
    assert_eq!(r.status(), 303);
    let saved =
        switchboard_core::desk::current(&app.db, org, switchboard_core::ids::BrandId(brand)).await.unwrap().unwrap();
    assert_eq!(saved.version, 2);
    let types: Vec<(&str, usize)> =
        saved.protocol.caller_types.iter().map(|c| (c.key.as_str(), c.fields.len())).collect();
    assert_eq!(types, [("patient", 5), ("doctor_or_lab", 5), ("pharmacy", 1)]);
    assert_eq!(saved.protocol.caller_types[0].fields[4].options, ["Medicare", "Private", "None"]);

    // Delivery rules: the template's, naming the contacts it added for its roles.
    let contacts =
        switchboard_core::desk::contacts::list(&app.db, org, switchboard_core::ids::BrandId(brand)).await.unwrap();
    let id_of = |name: &str| contacts.iter().find(|c| c.name == name).unwrap().id.to_string();
    let (manager, doctor) = (id_of("Office manager"), id_of("On-call doctor"));
    let (_, html) = b.get_text(&format!("/settings/desk/{brand}")).await;
    assert!(
        html.contains(&format!(r#"name="c1_r1_contacts" value="{manager}" checked> Office manager <span class="muted small">no way to reach them yet</span>"#)),
        "{html}"
    );
    assert!(html.contains(r#"<option value="text" selected>Text (no confirmation)</option>"#), "{html}");
    let fields = form_fields(&html, &format!(r#"action="/settings/desk/{brand}" "#));
    let set = |changes: &[(&str, &str)], extra: &[(&str, &str)]| {
        let mut f = fields.clone();
        for (k, v) in changes {
            f.iter_mut().find(|(name, _)| name == k).unwrap().1 = v.to_string();
        }
        f.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        f
    };
    // A recap rule with nobody to send it to, and no recap time: both refused, beside the row
    // and the recap times.
    let r = post_pairs(&b, &format!("/settings/desk/{brand}"), &set(&[("c1_r3_method", "recap")], &[])).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"<fieldset class="rule-contacts invalid"><legend>To</legend>"#)
            && html.contains(r#"<span class="field-error">pick who receives it</span>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<span class="field-error" id="recap-times-error">a rule holds messages for the daily recap: give the recap&#39;s time (for example 8:00 AM)</span>"#),
        "{html}"
    );
    assert!(html.contains(r#"<option value="recap" selected>Hold for the daily recap</option>"#), "kept: {html}");
    // Fixed: the doctor's after-hours messages wait for the 8:00 AM recap to the office manager,
    // the brand's urgent words count after hours, and Christmas is a holiday.
    let good = set(
        &[
            ("c1_r3_method", "recap"),
            ("c1_r3_when", "after_hours"),
            ("recap_times", "8 am"),
            ("urgent_words", "after_hours"),
            ("holidays", "2026-12-25"),
        ],
        &[("c1_r3_contacts", manager.as_str()), ("c1_r3_contacts", doctor.as_str())],
    );
    let r = post_pairs(&b, &format!("/settings/desk/{brand}"), &good).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let saved =
        switchboard_core::desk::current(&app.db, org, switchboard_core::ids::BrandId(brand)).await.unwrap().unwrap();
    let rules: Vec<(bool, &str, &str, Vec<i64>)> = saved.protocol.caller_types[0]
        .deliveries
        .iter()
        .map(|r| (r.urgent, r.when.as_str(), r.method.as_str(), r.contacts.clone()))
        .collect();
    let (m, d): (i64, i64) = (manager.parse().unwrap(), doctor.parse().unwrap());
    assert_eq!(
        rules,
        [
            (false, "always", "email", vec![m]),
            (true, "always", "text", vec![d, m]),
            (false, "after_hours", "recap", vec![m, d]),
        ]
    );
    assert_eq!(saved.protocol.recap_times, [jiff::civil::time(8, 0, 0, 0)]);
    assert_eq!(saved.protocol.holidays, [jiff::civil::date(2026, 12, 25)]);
    assert_eq!(saved.protocol.urgency.words, Some(switchboard_core::desk::rules::Period::AfterHours));
    let (_, html) = b.get_text(&format!("/settings/desk/{brand}")).await;
    assert!(html.contains(r#"name="recap_times" value="8:00 AM""#), "{html}");

    // The same form again, opened on version 2: refused as stale, saying who saved since.
    let r = post_pairs(&b, &format!("/settings/desk/{brand}"), &good).await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("This protocol was saved by admin admin (version 3) since you opened it: reload to see the changes, then make yours again Nothing was saved; what you typed is below."),
        "{html}"
    );

    // A dispatcher sees the protocol but cannot change it.
    let dispatcher = app.user(org, "dana@acme.example.com", "dispatcher").await;
    let d = app.signed_in(&dispatcher.email).await;
    let (status, html) = d.get_text(&format!("/settings/desk/{brand}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(" inert") && !html.contains("Save protocol"), "{html}");
    let r = post_pairs(&d, &format!("/settings/desk/{brand}"), &good).await;
    assert_eq!(r.status(), 403);
}

/// The named inputs of the form whose opening tag contains `marker`, as a browser posts them
/// (checked boxes and radios only, every text input and textarea, selected options).
pub(crate) fn form_fields(html: &str, marker: &str) -> Vec<(String, String)> {
    let start = html.find(marker).unwrap_or_else(|| panic!("a form with {marker}"));
    let form = &html[start..start + html[start..].find("</form>").unwrap()];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!(" {name}=\"");
        let at = tag.find(&key)? + key.len();
        Some(tag[at..at + tag[at..].find('"')?].replace("&#39;", "'").replace("&quot;", "\"").replace("&amp;", "&"))
    };
    let unescape = |s: &str| {
        s.replace("&#39;", "'").replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    };
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        let end = rest.find('>').unwrap();
        let tag = &rest[..=end];
        if tag.starts_with("<input") {
            if let Some(name) = attr(tag, "name") {
                let kind = attr(tag, "type").unwrap_or_else(|| "text".into());
                let checked = tag.contains(" checked");
                if !matches!(kind.as_str(), "checkbox" | "radio") || checked {
                    out.push((name, attr(tag, "value").unwrap_or_default()));
                }
            }
        } else if tag.starts_with("<textarea") {
            let name = attr(tag, "name").unwrap();
            let body = &rest[end + 1..];
            out.push((name, unescape(&body[..body.find("</textarea>").unwrap()])));
        } else if tag.starts_with("<select") {
            let name = attr(tag, "name").unwrap();
            let body = &rest[end + 1..rest.find("</select>").unwrap()];
            let chosen = body
                .split("<option")
                .skip(1)
                .find(|o| o.contains(" selected"))
                .or_else(|| body.split("<option").nth(1))
                .and_then(|o| attr(&format!("<option{o}"), "value"))
                .unwrap_or_default();
            out.push((name, chosen));
        }
        rest = &rest[end + 1..];
    }
    out
}

pub(crate) async fn post_pairs(
    b: &crate::helpers::Browser,
    path: &str,
    fields: &[(String, String)],
) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> =
        fields.iter().filter(|(k, _)| k != "_csrf").map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post_form(path, &pairs).await
}

#[tokio::test]
async fn an_operator_takes_a_message_by_the_clients_protocol_and_it_is_delivered_and_retrieved() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let b = app.signed_in_demo().await;
    let org = app.db_org_of_demo().await;
    let brands = switchboard_core::tenancy::list_brands(&app.db, org).await.unwrap();
    let harbor = brands.iter().find(|b| b.name == "Harbor Plumbing & Drain").unwrap().id.0;
    let summit = brands.iter().find(|b| b.name == "Summit Home Services").unwrap().id.0;

    // Summit has no protocol: the desk says where to set one up.
    let (_, html) = b.get_text(&format!("/desk?client={summit}")).await;
    assert!(html.contains("Summit Home Services has no protocol yet"), "{html}");

    // Harbor's screen: its greeting with the operator's name, its notes, its local time and
    // hours (the test clock is Sunday 12:00 in Boston; Harbor opens 9 to 5 on Sundays).
    let (_, html) = b.get_text(&format!("/desk?client={harbor}")).await;
    assert!(
        html.contains("“Thank you for calling Harbor Plumbing &#38; Drain, this is Morgan. How may I help you?”"),
        "{html}"
    );
    assert!(
        html.contains("12:00 PM (America/New_York)") && html.contains(">Open now: 9:00 AM-5:00 PM</span>"),
        "{html}"
    );
    assert!(html.contains("No heat, no water, flooding or a gas smell is urgent"), "{html}");
    // The type-ahead finds the client by part of its name or by the number that rang.
    for typed in ["harbor", "HARBOR PLUMBING", "(617) 555-0110", "6175550110"] {
        let (_, found) = b
            .get_text(&format!("/desk?client={}", typed.replace(' ', "+").replace('(', "%28").replace(')', "%29")))
            .await;
        assert!(found.contains(r#"<h2 id="desk-client">Harbor Plumbing &#38; Drain</h2>"#), "{typed}");
    }
    let (_, none) = b.get_text("/desk?client=plumbing+co").await;
    assert!(!none.contains(r#"<h2 id="desk-client">"#) && none.contains(r#"<ul class="desk-client-list">"#));

    // Refused: a callback number that is not one, the service address missing. What was typed
    // stays, each reason beside its field.
    let form = |number: &str, address: &str| {
        vec![
            ("client".to_string(), harbor.to_string()),
            ("caller".to_string(), "caller".to_string()),
            ("a_caller_name".to_string(), "Paula Mendes".to_string()),
            ("a_callback_number".to_string(), number.to_string()),
            ("a_service_address".to_string(), address.to_string()),
            ("a_what_is_wrong".to_string(), "Water coming through the kitchen ceiling".to_string()),
            ("a_best_time_to_call".to_string(), "evening".to_string()),
            ("urgent".to_string(), "1".to_string()),
            ("urgent_reason".to_string(), "water through the ceiling".to_string()),
        ]
    };
    let pairs = |f: &[(String, String)]| f.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
    let post = |fields: Vec<(String, String)>| {
        let b = &b;
        async move {
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            b.post_form("/desk/messages", &refs).await
        }
    };
    let r = post(pairs(&form("555", ""))).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Not taken: check the fields marked below. What you typed is kept."), "{html}");
    assert!(
        html.contains(
            r#"<span class="field-error" id="a-service_address-error">please fill in &#34;Service address&#34;</span>"#
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"name="a_callback_number" value="555""#)
            && html.contains(r#"name="a_caller_name" value="Paula Mendes""#),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<span class="field-error" id="a-callback_number-error">&#34;555&#34; is not a valid phone number</span>"#
        ),
        "{html}"
    );

    // Taken: answers read by type (the number in E.164, the choice as listed), urgent first.
    let r = post(pairs(&form("(617) 555-0199", "12 Beacon St, Boston"))).await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with(&format!("/desk?client={harbor}&caller=caller&done=taken#desk-message-")), "{to}");
    let list = switchboard_core::desk::messages::list(&app.db, org, &Default::default(), 10).await.unwrap();
    assert_eq!(list.len(), 1);
    let m = &list[0];
    let answers: Vec<(&str, &str)> = m.answers.iter().map(|a| (a.label.as_str(), a.value.as_str())).collect();
    assert_eq!(
        answers,
        [
            ("Caller's name", "Paula Mendes"),
            ("Callback number", "+16175550199"),
            ("Service address", "12 Beacon St, Boston"),
            ("What is wrong", "Water coming through the kitchen ceiling"),
            ("Best time to call", "Evening"),
        ]
    );
    assert_eq!(
        (m.urgent, m.urgent_reason.as_deref(), m.protocol_version),
        (true, Some("water through the ceiling"), 1)
    );
    let (_, html) = b.get_text(&to).await;
    assert!(html.contains("Message taken. Its deliveries are on the board below."), "{html}");
    assert!(html.contains(r#"<span class="badge urgent-badge">Urgent · water through the ceiling</span>"#), "{html}");
    // Harbor's urgent rule: email and text to the on-call technician and the office, whose
    // missing cell number shows at once.
    assert!(html.contains(r#"<span class="badge desk-delivering">Delivering</span>"#), "{html}");
    for line in [
        r#"<li class="attempt-sending"><span class="badge delivery-badge">Sending</span> Email to On-call technician at oncall@harbor.demo.switchboard.test <span class="muted small">just now</span><span class="attempt-steps muted small">queued 12:00 PM</span></li>"#,
        r#"<li class="attempt-sending"><span class="badge delivery-badge">Sending</span> Text to On-call technician at (617) 555-0148 <span class="muted small">just now</span><span class="attempt-steps muted small">queued 12:00 PM</span></li>"#,
        r#"<li class="attempt-sending"><span class="badge delivery-badge">Sending</span> Email to Office at office@harbor.demo.switchboard.test <span class="muted small">just now</span><span class="attempt-steps muted small">queued 12:00 PM</span></li>"#,
        r#"<li class="attempt-failed"><span class="badge delivery-badge">Failed</span> Text to Office<span class="muted">: Office has no cell number</span> <span class="muted small">just now</span></li>"#,
    ] {
        assert!(html.contains(line), "{line}\n{html}");
    }
    assert!(html.contains("<li>Routine, any time: email immediately to Office</li>"), "{html}");
    assert!(
        html.contains("<li>Urgent, any time: email and text to On-call technician, Office</li>"),
        "who gets it is on the operator's screen: {html}"
    );

    // The client checks in: retrieved, by whom.
    let r = b.post_form(&format!("/desk/messages/{}/retrieve", m.id), &[]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text(r.headers()["location"].to_str().unwrap()).await;
    assert!(html.contains(r#"<span class="badge desk-retrieved">Retrieved by Morgan Lee just now</span>"#), "{html}");
    // The board's filters: nothing held any more; the retrieved one under "Retrieved".
    let (_, held) = b.get_text(&format!("/desk?client={harbor}&status=held")).await;
    assert!(
        held.contains("No messages match these filters.")
            && held.contains(r#"<option value="held" selected>Held</option>"#)
    );
    let (_, done) = b.get_text(&format!("/desk?client={harbor}&status=retrieved&urgency=urgent")).await;
    assert!(done.contains(&format!(r#"id="desk-message-{}""#, m.id)), "{done}");

    // Another organization sees none of it.
    let (org2, admin2) = app.org_with_admin("rival").await;
    let _ = org2;
    let other = app.signed_in(&admin2.email).await;
    let r = other.post_form(&format!("/desk/messages/{}/retrieve", m.id), &[]).await;
    assert_eq!(r.status(), 404);
    let refs: Vec<(String, String)> = pairs(&form("(617) 555-0199", "12 Beacon St"));
    let refs: Vec<(&str, &str)> = refs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = other.post_form("/desk/messages", &refs).await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn an_integration_takes_and_reads_desk_messages_over_the_api() {
    let app = spawn_app().await;
    let (org, _key, _) = app.seed_demo().await;
    let key = app.api_key(org).await;
    let brands = switchboard_core::tenancy::list_brands(&app.db, org).await.unwrap();
    let harbor = brands.iter().find(|b| b.name == "Harbor Plumbing & Drain").unwrap().id.0;
    let summit = brands.iter().find(|b| b.name == "Summit Home Services").unwrap().id.0;
    let post = |path: &str, body: Value| {
        let r = app.client().post(app.url(path)).bearer_auth(&key).json(&body).send();
        async move { json(r.await.unwrap()).await }
    };
    let get = |path: String| {
        let r = app.client().get(app.url(&path)).bearer_auth(&key).send();
        async move { json(r.await.unwrap()).await }
    };

    // Refused: answers checked by type and requirement, an answer to no field, no protocol.
    let (status, body) = post(
        "/api/v1/desk/messages",
        json!({"client_id": harbor, "caller_type": "caller", "answers": {"caller_name": "Paula", "callback_number": "12", "shoe_size": "9"}}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> =
        body["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        ["answers.callback_number", "answers.service_address", "answers.what_is_wrong", "answers.shoe_size"],
        "{body}"
    );
    assert_eq!(body["error"]["fields"][3]["message"], "Caller has no field \"shoe_size\"");
    let (status, body) =
        post("/api/v1/desk/messages", json!({"client_id": summit, "caller_type": "caller", "answers": {}})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["fields"][0]["message"],
        "Summit Home Services has no protocol yet: set one up in Settings -> Message desk"
    );

    // Taken: delivering by Harbor's urgent rule, answers as read; listed; retrieved once.
    let (status, body) = post(
        "/api/v1/desk/messages",
        json!({"client_id": harbor, "caller_type": "caller", "urgent": true, "urgent_reason": "no water",
               "answers": {"caller_name": "Paula Mendes", "callback_number": "617 555 0199", "service_address": "12 Beacon St",
                           "what_is_wrong": "No water since 6 AM", "best_time_to_call": "morning"}}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let m = &body["message"];
    assert_eq!(
        (m["status"].as_str(), m["taken_by"].as_str(), m["urgent"].as_bool()),
        (Some("delivering"), Some("api"), Some(true))
    );
    assert_eq!(m["answers"][1], json!({"key": "callback_number", "label": "Callback number", "value": "+16175550199"}));
    assert_eq!(m["answers"][4]["value"], "Morning");
    let id = m["id"].as_i64().unwrap();
    let (_, list) = get(format!("/api/v1/desk/messages?client_id={harbor}")).await;
    assert_eq!(list["messages"].as_array().unwrap().len(), 1);
    let (_, none) = get(format!("/api/v1/desk/messages?client_id={summit}")).await;
    assert_eq!(none["messages"], json!([]));
    let (status, body) = post(&format!("/api/v1/desk/messages/{id}/retrieve"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["message"]["status"].as_str(), body["message"]["retrieved_by"].as_str()),
        (Some("retrieved"), Some("api"))
    );
    let at = body["message"]["retrieved_at"].clone();
    app.clock.advance(jiff::SignedDuration::from_mins(5));
    let (_, again) = post(&format!("/api/v1/desk/messages/{id}/retrieve"), json!({})).await;
    assert_eq!(again["message"]["retrieved_at"], at, "retrieving again changes nothing");

    // Another organization's key: no such message, no such client.
    let (org2, _) = app.org_with_admin("rival").await;
    let key2 = app.api_key(org2).await;
    let r = app.client().get(app.url(&format!("/api/v1/desk/messages/{id}"))).bearer_auth(&key2).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = app
        .client()
        .post(app.url("/api/v1/desk/messages"))
        .bearer_auth(&key2)
        .json(&json!({"client_id": harbor, "caller_type": "caller"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_clients_contacts_are_kept_with_the_ways_to_reach_them_in_order() {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    let input = switchboard_core::tenancy::BrandInput {
        name: "Berlin Kanzlei".into(),
        time_zone: "Europe/Berlin".into(),
        country: Some("DE".into()),
        ..Default::default()
    };
    let brand = switchboard_core::tenancy::create_brand(&app.db, &app.clock, org, &input).await.unwrap().id.0;
    let key = app.api_key(org).await;
    let send = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut r = app.client().request(method, app.url(&path)).bearer_auth(&key);
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move {
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::Null))
        }
    };
    let contacts = format!("/api/v1/brands/{brand}/contacts");

    // Refused row by row; nothing is added.
    let (status, body) = send(
        reqwest::Method::POST,
        contacts.clone(),
        Some(json!({"name": "Anna Richter", "methods": [{"kind": "cell", "value": "0151 12345678"}, {"kind": "email", "value": "nope"}, {"kind": "telegram", "value": "@anna"}]})),
    )
    .await;
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
            ("methods.2.value", "\"nope\" is not an email address"),
            ("methods.3.kind", "\"telegram\" is not a way to reach someone (cell, home, office, email, pager, fax)"),
        ],
        "{body}"
    );
    let (_, list) = send(reqwest::Method::GET, contacts.clone(), None).await;
    assert_eq!(list["contacts"], json!([]));

    // Added: numbers read as German, kept in order; a sign-in of the organization may be linked.
    let (status, body) = send(
        reqwest::Method::POST,
        contacts.clone(),
        Some(json!({"name": "Anna Richter", "title": "Rechtsanwältin", "user_id": admin.id.0,
                    "methods": [{"kind": "cell", "value": "0151 12345678"}, {"kind": "office", "value": "030 901820"},
                                {"kind": "email", "value": "anna@kanzlei.example"}, {"kind": "pager", "value": "4711@pager.example.net"}]})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let c = &body["contact"];
    assert_eq!(
        c["methods"],
        json!([{"kind": "cell", "value": "+4915112345678"}, {"kind": "office", "value": "+4930901820"},
               {"kind": "email", "value": "anna@kanzlei.example"}, {"kind": "pager", "value": "4711@pager.example.net"}])
    );
    assert_eq!(c["user_id"], admin.id.0);
    let id = c["id"].as_i64().unwrap();

    // Replaced whole: the methods are the new ones, in the new order.
    let (status, body) = send(
        reqwest::Method::PUT,
        format!("{contacts}/{id}"),
        Some(json!({"name": "Anna Richter", "methods": [{"kind": "home", "value": "+49 30 1234567"}]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["contact"]["methods"], json!([{"kind": "home", "value": "+49301234567"}]));
    assert_eq!((body["contact"]["title"].clone(), body["contact"]["user_id"].clone()), (Value::Null, Value::Null));

    // A user of another organization cannot be linked; another organization sees nothing.
    let (org2, admin2) = app.org_with_admin("rival").await;
    let (status, body) =
        send(reqwest::Method::PUT, format!("{contacts}/{id}"), Some(json!({"name": "Anna", "user_id": admin2.id.0})))
            .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "user_id");
    let key2 = app.api_key(org2).await;
    let r = app.client().get(app.url(&contacts)).bearer_auth(&key2).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // Removed: gone, and removing again is a 404.
    let (status, _) = send(reqwest::Method::DELETE, format!("{contacts}/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = send(reqwest::Method::DELETE, format!("{contacts}/{id}"), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_office_keeps_a_clients_contacts_in_settings() {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    let brand = app.brand(org, "Imaginary Plumbing").await.id.0;
    let b = app.signed_in(&admin.email).await;
    let page = format!("/settings/desk/{brand}/contacts");
    let (_, html) = b.get_text(&page).await;
    assert!(html.contains("No contacts yet") && html.contains(r#"<details class="card contact-add" open>"#), "{html}");

    // The first row is fine, the third is not an address: the reason sits beside the third
    // row as shown (the empty second row is left out), and everything typed stays.
    let bad = [
        ("name", "Dale Cooper"),
        ("title", "On-call technician"),
        ("m1_kind", "cell"),
        ("m1_value", "(720) 555-0142"),
        ("m2_kind", "home"),
        ("m2_value", ""),
        ("m3_kind", "email"),
        ("m3_value", "dale at example"),
    ];
    let r = b.post_form(&page, &bad).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Not saved: check the fields marked below; what you typed is kept."), "{html}");
    assert!(
        html.contains(r#"<span class="field-error" id="contact-new-m3-error">&#34;dale at example&#34; is not an email address</span>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="m1_value" value="(720) 555-0142""#)
            && html.contains(r#"name="name" value="Dale Cooper""#),
        "{html}"
    );

    let mut good = bad;
    good[7] = ("m3_value", "dale@example.com");
    let r = b.post_form(&page, &good).await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with(&format!("{page}?done=added#contact-")), "{to}");
    let (_, html) = b.get_text(&to).await;
    assert!(html.contains("Contact added."), "{html}");
    assert!(
        html.contains(r#"<ol class="contact-methods"><li><span class="muted">Cell</span> (720) 555-0142</li><li><span class="muted">Email</span> dale@example.com</li></ol>"#),
        "{html}"
    );
    let saved =
        switchboard_core::desk::contacts::list(&app.db, org, switchboard_core::ids::BrandId(brand)).await.unwrap();
    let id = saved[0].id;

    // Edited: the pager first; removed.
    let r = b
        .post_form(
            &format!("{page}/{id}"),
            &[
                ("name", "Dale Cooper"),
                ("m1_kind", "pager"),
                ("m1_value", "720 555 0199"),
                ("m2_kind", "cell"),
                ("m2_value", "720 555 0142"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let c =
        switchboard_core::desk::contacts::get(&app.db, org, switchboard_core::ids::BrandId(brand), id).await.unwrap();
    let methods: Vec<(&str, &str)> = c.methods.iter().map(|m| (m.kind.as_str(), m.value.as_str())).collect();
    assert_eq!(methods, [("pager", "+17205550199"), ("cell", "+17205550142")]);
    assert_eq!(c.title, None, "a title left empty is cleared");
    let r = b.post_form(&format!("{page}/{id}/remove"), &[]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text(r.headers()["location"].to_str().unwrap()).await;
    assert!(html.contains("Contact removed.") && html.contains("No contacts yet"), "{html}");
}

#[tokio::test]
async fn a_recap_clients_settings_preview_the_recap_email_a_message_goes_out_in() {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("answering").await;
    let brand = app.sms_brand(org, "Lakeshore Properties", "+13125550100").await.id.0;
    let b = app.signed_in(&admin.email).await;
    let r = b.post_form(&format!("/settings/desk/{brand}/template"), &[("template", "property_management")]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text(&format!("/settings/desk/{brand}")).await;
    // Sunday 11:00 AM in Chicago: the next recap is Monday's at 8:00 AM.
    let start = html.find("<figcaption>Daily recap</figcaption>").expect("a recap preview");
    let recap = &html[start..start + html[start..].find("</figure>").unwrap()];
    assert_eq!(
        recap,
        "<figcaption>Daily recap</figcaption><div class=\"email-preview\"><strong>Lakeshore Properties: 1 message for your 8:00 AM recap</strong><pre>\
         1 message for Lakeshore Properties taken before 8:00 AM Mon Nov 23.\n\n\
         1. 11:00 AM Sun Nov 22 (Tenant)\n   \
         Caller&#39;s name: Jordan Lee\n   \
         Callback number: (312) 555-0100\n   \
         Property and unit: (property and unit)\n   \
         Problem: What the caller said, in their words.\n   \
         Permission to enter: Yes\n\
         </pre></div>"
    );
}
