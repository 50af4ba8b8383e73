//! Customers created, edited and searched by hand: over the API and in the console, with a
//! national number read by the organization's country, and "New job" for a customer on file.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn customers_are_created_patched_and_searched_over_the_api() {
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("acme").await;
    // A German brand: national numbers are read as German.
    let input = switchboard_core::tenancy::BrandInput {
        name: "Berlin Heizung".into(),
        time_zone: "Europe/Berlin".into(),
        country: Some("DE".into()),
        ..Default::default()
    };
    switchboard_core::tenancy::create_brand(&app.db, &app.clock, org, &input).await.unwrap();
    let key = app.api_key(org).await;
    let (status, body) = app
        .api_post(&key, "/api/v1/customers", json!({"name": "Jonas Weber", "phone": "0151 12345678", "email": "jonas@example.de", "address": "Torstr. 1, Berlin"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let c = &body["customer"];
    assert_eq!((c["name"].as_str(), c["phone"].as_str()), (Some("Jonas Weber"), Some("+4915112345678")));
    assert_eq!(c["email"], "jonas@example.de");
    let id = c["id"].as_i64().unwrap();

    // Refusals name the field: no name, a bad email, a number someone else has.
    let (status, body) = app.api_post(&key, "/api/v1/customers", json!({"name": " ", "email": "nope"})).await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> =
        body["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "email"], "{body}");
    let (status, body) =
        app.api_post(&key, "/api/v1/customers", json!({"name": "Other", "phone": "+4915112345678"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"][0]["message"], "Jonas Weber already has this number");
    let (status, body) = app.api_post(&key, "/api/v1/customers", json!({"name": "X", "colour": "red"})).await;
    assert_eq!(status, 422, "unknown fields are refused: {body}");

    // PATCH changes what it names; an empty string clears.
    let (status, body) =
        app.api_patch(&key, &format!("/api/v1/customers/{id}"), json!({"notes": "Dog in the yard", "email": ""})).await;
    assert_eq!(status, 200, "{body}");
    let c = &body["customer"];
    assert_eq!(
        (c["notes"].as_str(), c["email"].as_str(), c["phone"].as_str()),
        (Some("Dog in the yard"), None, Some("+4915112345678"))
    );
    let (status, _) = app.api_patch(&key, "/api/v1/customers/99999", json!({"notes": "x"})).await;
    assert_eq!(status, 404);

    // Search: by name, by phone in any format.
    for q in ["weber", "0151%2012345678", "12345678", "torstr"] {
        let (_, body) = crate::helpers::json(
            app.client().get(app.url(&format!("/api/v1/customers?q={q}"))).bearer_auth(&key).send().await.unwrap(),
        )
        .await;
        assert_eq!(body["customers"].as_array().unwrap().len(), 1, "{q}: {body}");
    }
    let (_, body) = crate::helpers::json(
        app.client().get(app.url("/api/v1/customers?q=nobody")).bearer_auth(&key).send().await.unwrap(),
    )
    .await;
    assert_eq!(body["customers"], json!([]));
}

#[tokio::test]
async fn the_office_adds_a_customer_edits_them_and_books_a_job_without_a_lead() {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    let brand = app.sms_brand(org, "Acme HVAC", "+17205550100").await;
    let b = app.signed_in(&admin.email).await;

    // A refused form comes back with what was typed, the reason beside the field.
    let r = b.post_form("/customers", &[("name", "Dana Ruiz"), ("phone", "555"), ("address", "12 Oak St")]).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"name="name" value="Dana Ruiz""#) && html.contains(r#"value="12 Oak St""#), "{html}");
    assert!(
        html.contains(
            r#"value="555" type="tel" inputmode="tel" aria-invalid="true" aria-describedby="phone-error" autofocus>"#
        ),
        "{html}"
    );
    let r = b
        .post_form("/customers", &[("name", "Dana Ruiz"), ("phone", "(720) 555-0190"), ("address", "12 Oak St")])
        .await;
    assert_eq!(r.status(), 303);
    let card = r.headers()["location"].to_str().unwrap().to_string();
    assert!(card.ends_with("?done=created"), "{card}");
    let (_, html) = b.get_text(&card).await;
    assert!(html.contains("Customer added.") && html.contains("(720) 555-0190"), "{html}");
    let id: i64 = card.trim_start_matches("/customers/").split('?').next().unwrap().parse().unwrap();

    // Edit: the form shows the saved values; a change is saved.
    let (_, html) = b.get_text(&format!("/customers/{id}/edit")).await;
    assert!(html.contains(r#"name="phone" value="(720) 555-0190""#), "{html}");
    let r = b
        .post_form(
            &format!("/customers/{id}"),
            &[
                ("name", "Dana Ruiz-Ortiz"),
                ("phone", "720 555 0190"),
                ("email", "dana@example.com"),
                ("address", "12 Oak St"),
                ("notes", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text("/customers?q=0190").await;
    assert!(html.contains("Dana Ruiz-Ortiz") && html.contains("1 of 1 customers match"), "{html}");

    // New job from the card: the customer is picked; a missing service is refused and kept.
    let (_, html) = b.get_text(&format!("/jobs/new?customer={id}")).await;
    assert!(
        html.contains(&format!(r#"<option value="{id}" selected>Dana Ruiz-Ortiz · (720) 555-0190</option>"#)),
        "{html}"
    );
    assert!(
        html.contains(r#" checked><span>12 Oak St</span>"#),
        "the customer's address, a location of theirs: {html}"
    );
    let brand_id = brand.id.0.to_string();
    let id_s = id.to_string();
    let (brand_id, id_s) = (&brand_id, &id_s);
    let b = &b;
    let job_form = |service: &'static str| async move {
        let fields = [
            ("brand", brand_id.as_str()),
            ("customer", id_s.as_str()),
            ("service", service),
            ("start", "2026-11-24T09:00"),
            ("end", "2026-11-24T11:00"),
        ];
        b.post_form("/jobs", &fields).await
    };
    let r = job_form("").await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"name="start" value="2026-11-24T09:00""#)
            && html.contains(r#"aria-describedby="service-error""#),
        "{html}"
    );
    let r = job_form("Furnace tune-up").await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text(r.headers()["location"].to_str().unwrap()).await;
    assert!(html.contains("Job created.") && html.contains("Furnace tune-up") && html.contains("Scheduled"), "{html}");
}

/// A Jobber-style export: two people, a business, a row repeating an earlier one, a customer
/// already on file, and two bad rows.
const EXPORT: &str = "First name,Last name,Company name,Mobile phone,Home phone,E-mail,Service street 1,Service city,Service province/state,Service ZIP/postal code,Billing street 1\r\n\
Ana,Souza,,(720) 555-0161,720-555-0162,ana@example.com,12 Elm St,Denver,CO,80203,PO Box 9\r\n\
,,Blue Door Cafe,303.555.0170,,,\"400 Main St, Suite 5\",Boulder,CO,80302,\r\n\
Ana,Souza,,720 555 0161,,,,,,,\r\n\
Dana,Ruiz,,(720) 555-0190,,,,,,,\r\n\
,,,720-555-0199,,,,,,,\r\n\
Bad,Number,,555-12,,,,,,,\r\n";

/// The text between `start` and the next `end`.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).unwrap_or_else(|| panic!("{start} in {html}")) + start.len();
    &html[from..from + html[from..].find(end).unwrap()]
}

#[tokio::test]
async fn customers_are_imported_from_a_csv_with_a_preview_an_error_per_row_and_no_duplicates() {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    app.sms_brand(org, "Acme HVAC", "+17205550100").await;
    let b = app.signed_in(&admin.email).await;
    let r = b.post_form("/customers", &[("name", "Dana Ruiz"), ("phone", "(720) 555-0190")]).await;
    assert_eq!(r.status(), 303);
    let (_, list) = b.get_text("/customers").await;
    assert!(list.contains(r#"href="/customers/import">Import CSV</a>"#));

    // The preview: every row with what would happen, nothing imported yet.
    let r = b
        .post_multipart("/customers/import", &[("file", Some("jobber.csv"), EXPORT.as_bytes()), ("text", None, b"")])
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("<strong>2 new customers</strong> · 1 already here · 1 repeat in the file · <span class=\"bad-text\">2 rows refused</span>. Nothing is imported until you confirm."), "{html}");
    assert!(html.contains("“Billing street 1” → not imported") && html.contains("“Mobile phone” → Phone"));
    assert!(html.contains("Ana Souza<span class=\"muted small import-notes\">Other phones: (720) 555-0162</span>"));
    assert!(html.contains("<td>12 Elm St, Denver, CO 80203</td>"));
    assert!(html.contains("<td>400 Main St, Suite 5, Boulder, CO 80302</td>"));
    assert!(html.contains(">Same person as line 2<"), "{html}");
    assert!(html.contains(">Already a customer: Dana Ruiz (same phone)</a>"));
    assert!(html.contains(">Not imported: no name (a Name, First name/Last name or Company column)<"));
    assert!(html.contains(">Not imported: phone &#34;555-12&#34;: "));
    assert!(html.contains(">Import 2 customers</button>"));
    let (_, body) = b.get_text("/customers").await;
    assert!(!body.contains("Blue Door Cafe"), "a preview imports nothing");

    // Confirmed: the new rows are customers; the one already here is left as it was.
    let csv = between(&html, "<textarea name=\"csv\" hidden aria-hidden=\"true\">", "</textarea>")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&");
    assert_eq!(csv, EXPORT, "the file is carried to the confirm step unchanged");
    let r = b.post_form("/customers/import/confirm", &[("csv", &csv)]).await;
    assert_eq!(r.status(), 200);
    let done = r.text().await.unwrap();
    assert!(done.contains(
            "<strong>Imported 2 customers.</strong> 1 was already a customer and was left as it was. 1 repeated an earlier row. 2 rows were not imported (see below)."
        ), "{done}");
    let key = app.api_key(org).await;
    let (_, found) = crate::helpers::json(
        app.client().get(app.url("/api/v1/customers?q=souza")).bearer_auth(&key).send().await.unwrap(),
    )
    .await;
    let ana = &found["customers"][0];
    assert_eq!(ana["name"], "Ana Souza");
    assert_eq!(ana["phone"], "+17205550161");
    assert_eq!(ana["email"], "ana@example.com");
    assert_eq!(ana["address"], "12 Elm St, Denver, CO 80203");
    assert_eq!(ana["notes"], "Other phones: (720) 555-0162");
    let (_, all) =
        crate::helpers::json(app.client().get(app.url("/api/v1/customers")).bearer_auth(&key).send().await.unwrap())
            .await;
    assert_eq!(all["customers"].as_array().unwrap().len(), 3, "Dana, Ana and the cafe");

    // The same file again adds nothing.
    let r = b.post_multipart("/customers/import", &[("file", Some("jobber.csv"), EXPORT.as_bytes())]).await;
    let again = r.text().await.unwrap();
    assert!(
        again.contains(
            "<strong>0 new customers</strong> · 4 already here · <span class=\"bad-text\">2 rows refused</span>."
        ),
        "{again}"
    );
    assert!(!again.contains(">Import 0 customers<"));
    let r = b.post_form("/customers/import/confirm", &[("csv", EXPORT)]).await;
    assert!(r.text().await.unwrap().contains("<strong>Imported 0 customers.</strong>"));
    let (_, all) =
        crate::helpers::json(app.client().get(app.url("/api/v1/customers")).bearer_auth(&key).send().await.unwrap())
            .await;
    assert_eq!(all["customers"].as_array().unwrap().len(), 3);

    // Pasted text works too; a file that is not a customer list is refused as a whole.
    let r = b
        .post_multipart(
            "/customers/import",
            &[("file", Some(""), b""), ("text", None, b"Name,Phone\nLea Braun,303-555-0180\n")],
        )
        .await;
    assert!(r.text().await.unwrap().contains("<strong>1 new customer</strong>."));
    let r = b
        .post_multipart("/customers/import", &[("file", Some("x.csv"), b"Phone,Email\n720-555-0101,a@example.com\n")])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("no column gives the customer&#39;s name"));
    let r = b.post_multipart("/customers/import", &[("text", None, b"  ")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("choose a CSV file, or paste its text"));
}

#[tokio::test]
async fn the_office_texts_a_customer_from_their_card_and_the_answer_threads_into_one_conversation() {
    let app = spawn_app().await;
    let (org, key, summit) = app.seed_demo().await;
    let b = app.signed_in_demo().await;
    let (_, found) = crate::helpers::json(
        app.client().get(app.url("/api/v1/customers?q=cohen")).bearer_auth(&key).send().await.unwrap(),
    )
    .await;
    let rachel = found["customers"][0]["id"].as_i64().unwrap();
    let card = format!("/customers/{rachel}");
    let (_, page) = b.get_text(&card).await;
    assert!(
        page.contains(r#"<input type="radio" name="channel" value="sms" checked> Text (720) 555-0134</label>"#),
        "{page}"
    );

    // Nothing typed: refused, nothing sent.
    let summit = summit.0.to_string();
    let r = b.post_form(&format!("{card}/message"), &[("brand_id", &summit), ("channel", "sms"), ("body", "  ")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Not sent: write the message first. What you typed is kept."));

    let body = "Hi Rachel, Dan can look at the thermostat tomorrow between 9 and 11. Does that work?";
    let r = b.post_form(&format!("{card}/message"), &[("brand_id", &summit), ("channel", "sms"), ("body", body)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/customers/{rachel}?done=sent#customer-messages").as_str());
    for _ in 0..5 {
        app.engine.tick().await.unwrap();
        app.clock.advance(jiff::SignedDuration::from_secs(2));
    }
    let texts = app.sms.sent_to("+17205550134");
    assert_eq!(texts.len(), 1);
    assert_eq!((texts[0].from.as_str(), texts[0].body.as_str()), ("+17205550100", body));
    let (_, page) = b.get_text(&format!("{card}?done=sent")).await;
    assert!(page.contains("Message queued. Their answer lands here and in the inbox."));
    assert!(page.contains(&format!("<p>{}</p>", body.replace('\'', "&#39;"))));

    // It joined Rachel's open lead (her demo text), now Contacted and not unread; her answer threads there.
    let (_, leads) = crate::helpers::json(
        app.client().get(app.url("/api/v1/leads?q=720-555-0134")).bearer_auth(&key).send().await.unwrap(),
    )
    .await;
    let leads = leads["leads"].as_array().unwrap();
    assert_eq!(leads.len(), 1, "one conversation");
    assert_eq!(leads[0]["status"], "contacted");
    app.sms.reply("+17205550134", "+17205550100", "Yes, 9-11 works, thanks!").await.unwrap();
    app.route_inbound().await;
    let (_, leads) = crate::helpers::json(
        app.client().get(app.url("/api/v1/leads?q=720-555-0134")).bearer_auth(&key).send().await.unwrap(),
    )
    .await;
    let thread: Vec<&str> =
        leads["leads"][0]["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(
        thread,
        vec![
            "Hi, it's Rachel Cohen. The thermostat you installed keeps resetting. Can someone take a look this week?",
            body,
            "Yes, 9-11 works, thanks!"
        ]
    );

    // A customer with no phone cannot be texted: the reason, word for word, and nothing queued.
    let r = b.post_form("/customers", &[("name", "Omar Haddad"), ("email", "omar@example.com")]).await;
    let omar = r.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/customers/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let r = b
        .post_form(
            &format!("/customers/{omar}/message"),
            &[("brand_id", &summit), ("channel", "sms"), ("body", "Hello")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            "Not sent: Omar Haddad has no phone number on file: send an email, or add a number. What you typed is kept."
        ),
        "{html}"
    );
    assert!(html.contains(">Hello</textarea>"));
    // By email it goes, and opens a conversation of its own (not unread: the office started it).
    let r = b
        .post_form(
            &format!("/customers/{omar}/message"),
            &[("brand_id", &summit), ("channel", "email"), ("body", "Hello Omar")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, leads) =
        crate::helpers::json(app.client().get(app.url("/api/v1/leads?q=omar")).bearer_auth(&key).send().await.unwrap())
            .await;
    assert_eq!(leads["leads"][0]["status"], "contacted");
    assert_eq!(leads["leads"][0]["unread"], false);
    assert_eq!(leads["leads"][0]["messages"][0]["body"], "Hello Omar");
    let _ = org;
}
