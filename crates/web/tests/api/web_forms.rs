//! Web forms: hosted page, embeddable snippet, submissions (form-encoded and JSON) with spam
//! protection, rate limits and an origin allow-list.

use jiff::SignedDuration;
use serde_json::json;

use crate::helpers::{TestApp, json, spawn_app};

async fn setup(origins: &str) -> (TestApp, String, String) {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    let brand = app.sms_brand(org, "Acme HVAC", "+17205550100").await;
    let key = web_form(&app, &admin.email, brand.id.0, "Website contact", origins).await;
    let key_for = app.api_key(org).await;
    (app, key, key_for)
}

/// Creates a web form for `brand` through Settings -> Web forms; returns its key.
async fn web_form(app: &TestApp, admin: &str, brand: i64, name: &str, origins: &str) -> String {
    let b = app.signed_in(admin).await;
    let brand = brand.to_string();
    let resp =
        b.post_form("/settings/web-forms", &[("brand_id", &brand), ("name", name), ("allowed_origins", origins)]).await;
    assert_eq!(resp.status(), 303);
    let (_, page) = b.get_text("/settings/web-forms").await;
    let start = page.find("/f/f_").expect("the hosted link is shown") + 3;
    let key = page[start..start + page[start..].find(['"', '<']).unwrap()].to_string();
    assert!(page.contains(&format!("/public/v1/forms/{key}/submissions")), "the snippet posts to the form");
    key
}

async fn token(app: &TestApp, key: &str) -> String {
    let (status, body) =
        json(app.client().get(app.url(&format!("/public/v1/forms/{key}/token"))).send().await.unwrap()).await;
    assert_eq!(status, 200);
    body["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_visitor_fills_the_hosted_form_and_a_lead_appears() {
    let (app, key, api) = setup("").await;
    let page = app.client().get(app.url(&format!("/f/{key}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Acme HVAC") && html.contains("name=\"_ts\" value=\""));
    let ts = crate::helpers::hidden_value(&html, "_ts").unwrap();
    app.clock.advance(SignedDuration::from_secs(20));
    let resp = app
        .client()
        .post(app.url(&format!("/public/v1/forms/{key}/submissions")))
        .form(&[
            ("_ts", ts.as_str()),
            ("name", "Lucy Chen"),
            ("phone", "720-555-0177"),
            ("email", "lucy@example.com"),
            ("message", "Water heater leaking"),
            ("unit", "Apt 4B"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], format!("/f/{key}/thanks").as_str());
    let (_, body) =
        json(app.client().get(app.url("/api/v1/leads?source=web")).bearer_auth(&api).send().await.unwrap()).await;
    let lead = &body["leads"][0];
    assert_eq!(
        (lead["name"].as_str(), lead["phone"].as_str(), lead["email"].as_str()),
        (Some("Lucy Chen"), Some("+17205550177"), Some("lucy@example.com"))
    );
    let text = lead["messages"][0]["body"].as_str().unwrap();
    assert!(text.contains("Water heater leaking") && text.contains("unit: Apt 4B"), "custom fields are kept: {text}");
    let thanks = app.client().get(app.url(&format!("/f/{key}/thanks"))).send().await.unwrap().text().await.unwrap();
    assert!(thanks.contains("Thank you"));
}

#[tokio::test]
async fn json_submissions_get_201_and_bad_ones_a_reason() {
    let (app, key, _) = setup("").await;
    let url = app.url(&format!("/public/v1/forms/{key}/submissions"));
    let t = token(&app, &key).await;
    app.clock.advance(SignedDuration::from_secs(10));
    let (status, body) = json(
        app.client()
            .post(&url)
            .json(&json!({"_ts": t, "name": "Sam", "email": "sam@example.com", "service": "Rekey"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body["lead_id"].is_i64());
    let (status, body) =
        json(app.client().post(&url).json(&json!({"_ts": t, "name": "Nobody"})).send().await.unwrap()).await;
    assert_eq!(status, 422);
    assert!(body["error"]["message"].as_str().unwrap().contains("phone number or an email"));
    let (status, _) =
        json(app.client().post(&url).header("content-type", "application/json").body("[1,2").send().await.unwrap())
            .await;
    assert_eq!(status, 400);
    let resp = app.client().post(app.url("/public/v1/forms/f_nope/submissions")).json(&json!({})).send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn bots_are_turned_away_by_timing_the_honeypot_and_rate_limits() {
    let (app, key, api) = setup("").await;
    let url = app.url(&format!("/public/v1/forms/{key}/submissions"));
    let t = token(&app, &key).await;
    let (status, body) =
        json(app.client().post(&url).json(&json!({"_ts": t, "phone": "7205550101"})).send().await.unwrap()).await;
    assert_eq!(status, 422, "too fast");
    assert!(body["error"]["message"].as_str().unwrap().contains("quicker than a person"));
    let (status, _) = json(app.client().post(&url).json(&json!({"phone": "7205550101"})).send().await.unwrap()).await;
    assert_eq!(status, 422, "no token");
    app.clock.advance(SignedDuration::from_hours(25));
    let (status, body) =
        json(app.client().post(&url).json(&json!({"_ts": t, "phone": "7205550101"})).send().await.unwrap()).await;
    assert_eq!(status, 422, "too old");
    assert!(body["error"]["message"].as_str().unwrap().contains("too long ago"));

    let t = token(&app, &key).await;
    app.clock.advance(SignedDuration::from_secs(30));
    let (status, _) = json(
        app.client()
            .post(&url)
            .json(&json!({"_ts": t, "phone": "7205550102", "company_website": "http://spam.example"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "a filled honeypot looks accepted");
    let (_, body) = json(app.client().get(app.url("/api/v1/leads")).bearer_auth(&api).send().await.unwrap()).await;
    assert_eq!(body["leads"].as_array().unwrap().len(), 0, "but nothing was stored");

    // Since the clock jumped a day, two submissions count (too old, honeypot): eight more are
    // allowed from this address in ten minutes, then the eleventh is refused.
    for i in 0..8 {
        let (status, _) = json(
            app.client()
                .post(&url)
                .json(&json!({"_ts": t, "phone": format!("720555{:04}", 200 + i)}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201);
    }
    let (status, body) =
        json(app.client().post(&url).json(&json!({"_ts": t, "phone": "7205550300"})).send().await.unwrap()).await;
    assert_eq!(status, 429, "{body}");
}

#[tokio::test]
async fn only_allowed_websites_may_post_from_a_browser() {
    let (app, key, _) = setup("https://acme-hvac.example").await;
    let url = app.url(&format!("/public/v1/forms/{key}/submissions"));
    let preflight = app
        .client()
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", "https://acme-hvac.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "https://acme-hvac.example");
    let t = token(&app, &key).await;
    app.clock.advance(SignedDuration::from_secs(10));
    let resp = app
        .client()
        .post(&url)
        .header("Origin", "https://evil.example")
        .json(&json!({"_ts": t, "phone": "7205550101"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = app
        .client()
        .post(&url)
        .header("Origin", "https://acme-hvac.example")
        .json(&json!({"_ts": t, "phone": "7205550101"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["access-control-allow-origin"], "https://acme-hvac.example");
}

#[tokio::test]
async fn a_phone_typed_nationally_is_read_by_the_brands_country() {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    let input = switchboard_core::tenancy::BrandInput {
        name: "Acme Berlin".into(),
        time_zone: "Europe/Berlin".into(),
        country: Some("DE".into()),
        ..Default::default()
    };
    let brand = switchboard_core::tenancy::create_brand(&app.db, &app.clock, org, &input).await.unwrap();
    let key = web_form(&app, &admin.email, brand.id.0, "Kontakt", "").await;
    let api = app.api_key(org).await;
    let t = token(&app, &key).await;
    app.clock.advance(SignedDuration::from_secs(10));
    let (status, body) = json(
        app.client()
            .post(app.url(&format!("/public/v1/forms/{key}/submissions")))
            .json(&json!({"_ts": t, "name": "Jonas Weber", "phone": "0151 12345678", "message": "Heizung kalt"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (_, body) =
        json(app.client().get(app.url("/api/v1/leads?source=web")).bearer_auth(&api).send().await.unwrap()).await;
    assert_eq!(body["leads"][0]["phone"], "+4915112345678", "a German mobile, not a US number");
}

#[tokio::test]
async fn a_nul_character_in_a_form_field_does_not_lose_the_lead() {
    let (app, key, api) = setup("").await;
    let t = token(&app, &key).await;
    app.clock.advance(SignedDuration::from_secs(10));
    let resp = app
        .client()
        .post(app.url(&format!("/public/v1/forms/{key}/submissions")))
        .form(&[("_ts", t.as_str()), ("name", "Lucy\0Chen"), ("phone", "720-555-0177"), ("message", "No heat\0")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let (_, body) =
        json(app.client().get(app.url("/api/v1/leads?source=web")).bearer_auth(&api).send().await.unwrap()).await;
    assert_eq!(body["leads"][0]["name"], "Lucy\u{FFFD}Chen");
    assert!(body["leads"][0]["messages"][0]["body"].as_str().unwrap().contains("No heat\u{FFFD}"), "{body}");
}

#[tokio::test]
async fn a_refused_hosted_form_comes_back_with_everything_typed_and_the_reason_beside_the_field() {
    let (app, key, api) = setup("").await;
    let html = app.client().get(app.url(&format!("/f/{key}"))).send().await.unwrap().text().await.unwrap();
    let ts = crate::helpers::hidden_value(&html, "_ts").unwrap();
    let typed = [
        ("name", "Lucy \"Lu\" Chen"),
        ("phone", "12"),
        ("email", ""),
        ("address", "2216 W 32nd Ave, Denver"),
        ("message", "Water heater leaking <under> the stairs"),
    ];
    let post = |ts: String, fields: Vec<(&'static str, &'static str)>| {
        let (client, url) = (app.client(), app.url(&format!("/public/v1/forms/{key}/submissions")));
        async move {
            let mut form = vec![("_ts", ts)];
            form.extend(fields.into_iter().map(|(k, v)| (k, v.to_string())));
            let r = client.post(url).form(&form).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let kept = |html: &str| {
        assert!(
            html.contains(r#"name="name" autocomplete="name" maxlength="120" value="Lucy &#34;Lu&#34; Chen""#),
            "{html}"
        );
        assert!(html.contains(r#"value="2216 W 32nd Ave, Denver""#), "{html}");
        assert!(html.contains(">Water heater leaking &#60;under&#62; the stairs</textarea>"), "{html}");
    };

    // A browser's autofill sends the form 2 s after it was shown: a person, accepted below.
    // Sent at once (a bot's pace), it is refused, and nothing typed is lost.
    let (status, html) = post(ts.clone(), typed.to_vec()).await;
    assert_eq!(status, 422);
    assert!(html.contains("that was quicker than a person can type; please wait a moment and send again"), "{html}");
    kept(&html);

    // After 2 s: the phone is refused beside its field, with focus there, and the rest is kept.
    app.clock.advance(SignedDuration::from_secs(2));
    let (status, html) = post(ts.clone(), typed.to_vec()).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("Please check the fields marked below; nothing you typed was lost."), "{html}");
    assert!(
        html.contains(r#"value="12" aria-invalid="true" aria-describedby="phone-error" autofocus><span class="field-error" id="phone-error">"#),
        "{html}"
    );
    kept(&html);
    // The page carries a fresh token: the visitor fixes the phone and sends again.
    let fresh = crate::helpers::hidden_value(&html, "_ts").unwrap();
    app.clock.advance(SignedDuration::from_secs(5));
    let mut fixed = typed.to_vec();
    fixed[1] = ("phone", "720-555-0177");
    let (status, _) = post(fresh, fixed).await;
    assert_eq!(status, 303);
    let (_, body) =
        json(app.client().get(app.url("/api/v1/leads?source=web")).bearer_auth(&api).send().await.unwrap()).await;
    assert_eq!(body["leads"].as_array().unwrap().len(), 1, "one lead, no duplicates: {body}");
    assert_eq!(body["leads"][0]["phone"], "+17205550177");
}

/// The id of the form whose hosted link carries `key`, from Settings -> Web forms.
async fn form_id(b: &crate::helpers::Browser, key: &str) -> String {
    let (_, page) = b.get_text("/settings/web-forms").await;
    let card = &page[page.find(&format!("/f/{key}")).unwrap()..];
    let at = card.find("href=\"/settings/web-forms/").unwrap() + "href=\"/settings/web-forms/".len();
    card[at..at + card[at..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn a_form_gets_fields_of_its_own_checked_by_type_and_is_paused_and_deleted() {
    let (app, key, api) = setup("").await;
    let b = app.signed_in("admin@acme.example.com").await;
    let id = form_id(&b, &key).await;
    let editor = format!("/settings/web-forms/{id}");
    let (status, page) = b.get_text(&editor).await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"f1_label\"") && page.contains("name=\"f2_label\""), "two blank rows to add fields");

    // A bad row is refused beside it, with everything typed kept, and nothing is saved.
    let resp = b
        .post_form(
            &editor,
            &[
                ("name", "Website contact"),
                ("status", "live"),
                ("f1_key", ""),
                ("f1_label", "Best time to call"),
                ("f1_kind", "choice"),
                ("f1_options", "Morning"),
                ("f1_help", ""),
                ("f2_key", ""),
                ("f2_label", ""),
                ("f2_kind", "text"),
                ("f2_options", ""),
                ("f2_help", ""),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("Nothing was saved: please check the fields marked below. What you typed is kept."));
    assert!(page.contains("list at least two choices, one per line"));
    assert!(page.contains("value=\"Best time to call\""), "the label typed is kept");
    assert!(
        !app.client()
            .get(app.url(&format!("/f/{key}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Best time to call")
    );

    // Three fields: a required choice, a number, a yes/no box.
    let resp = b
        .post_form(
            &editor,
            &[
                ("name", "Website contact"),
                ("status", "live"),
                ("f1_key", ""),
                ("f1_label", "Best time to call"),
                ("f1_kind", "choice"),
                ("f1_options", "Morning\nAfternoon\nEvening"),
                ("f1_help", "We call back within the hour in that window."),
                ("f1_required", "1"),
                ("f2_key", ""),
                ("f2_label", "Square feet"),
                ("f2_kind", "number"),
                ("f2_options", ""),
                ("f2_help", ""),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], format!("{editor}?done=saved").as_str());
    let (_, page) = b.get_text(&format!("{editor}?done=saved")).await;
    assert!(page.contains("Form saved."));
    assert!(
        page.contains("name=\"f1_key\" value=\"best_time_to_call\"")
            && page.contains("name=\"f2_key\" value=\"square_feet\"")
    );
    let resp = b
        .post_form(
            &editor,
            &[
                ("name", "Website contact"),
                ("status", "live"),
                ("f1_key", "best_time_to_call"),
                ("f1_label", "Best time to call"),
                ("f1_kind", "choice"),
                ("f1_options", "Morning\nAfternoon\nEvening"),
                ("f1_help", "We call back within the hour in that window."),
                ("f1_required", "1"),
                ("f2_key", "square_feet"),
                ("f2_label", "Square feet"),
                ("f2_kind", "number"),
                ("f2_options", ""),
                ("f2_help", ""),
                ("f3_key", ""),
                ("f3_label", "Pets at home?"),
                ("f3_kind", "yes_no"),
                ("f3_options", ""),
                ("f3_help", ""),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);

    // The hosted form shows them; the snippet carries them.
    let html = app.client().get(app.url(&format!("/f/{key}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Best time to call <span class=\"req\">(required)</span>"));
    assert!(html.contains("<option>Morning</option><option>Afternoon</option><option>Evening</option>"));
    assert!(html.contains("We call back within the hour in that window."));
    assert!(html.contains("name=\"pets_at_home\" value=\"yes\""));
    let (_, list) = b.get_text("/settings/web-forms").await;
    assert!(list.contains(
        "Fields: name, phone, email, service address, Best time to call, Square feet, Pets at home?, message."
    ));
    assert!(
        list.contains(
            "&#60;input name=&#34;square_feet&#34; type=&#34;text&#34; placeholder=&#34;Square feet&#34;&#62;"
        ),
        "the snippet carries the form's fields"
    );

    // A submission missing the required choice, with a bad number: refused beside the fields, kept.
    let submit = |fields: Vec<(&'static str, String)>| {
        let url = app.url(&format!("/public/v1/forms/{key}/submissions"));
        let client = app.client();
        async move { client.post(url).form(&fields).send().await.unwrap() }
    };
    let ts = token(&app, &key).await;
    app.clock.advance(SignedDuration::from_secs(20));
    let resp = submit(vec![
        ("_ts", ts.clone()),
        ("name", "Ana Souza".into()),
        ("phone", "+5511912345678".into()),
        ("square_feet", "big".into()),
        ("message", "AC makes a rattling noise".into()),
    ])
    .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(
            "<span class=\"field-error\" id=\"best_time_to_call-error\">please fill in &#34;Best time to call&#34;</span>"
        ),
        "{html}"
    );
    assert!(html.contains("<span class=\"field-error\" id=\"square_feet-error\">&#34;big&#34; is not a number</span>"));
    assert!(
        html.contains("value=\"big\"")
            && html.contains("AC makes a rattling noise")
            && html.contains("value=\"+5511912345678\"")
    );

    let ts = token(&app, &key).await;
    app.clock.advance(SignedDuration::from_secs(20));
    let resp = submit(vec![
        ("_ts", ts),
        ("name", "Ana Souza".into()),
        ("phone", "+5511912345678".into()),
        ("best_time_to_call", "afternoon".into()),
        ("square_feet", "2,400".into()),
        ("pets_at_home", "yes".into()),
        ("message", "AC makes a rattling noise".into()),
    ])
    .await;
    assert_eq!(resp.status(), 303);
    let (_, body) =
        json(app.client().get(app.url("/api/v1/leads?source=web")).bearer_auth(&api).send().await.unwrap()).await;
    let lead = &body["leads"][0];
    assert_eq!(lead["phone"], "+5511912345678", "a Brazilian mobile is kept as it is");
    assert_eq!(
        lead["messages"][0]["body"],
        "AC makes a rattling noise\nBest time to call: Afternoon\nSquare feet: 2,400\nPets at home?: Yes"
    );

    // Paused: the page says so, and nothing is taken (hosted page and scripts alike).
    let resp = b
        .post_form(
            &editor,
            &[
                ("name", "Website contact"),
                ("status", "paused"),
                ("f1_key", "best_time_to_call"),
                ("f1_label", "Best time to call"),
                ("f1_kind", "choice"),
                ("f1_options", "Morning\nAfternoon\nEvening"),
                ("f1_help", ""),
                ("f1_required", "1"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let resp = app.client().get(app.url(&format!("/f/{key}"))).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    let html = resp.text().await.unwrap();
    assert!(html.contains("<strong>This form is not taking requests right now.</strong> Nothing was sent. Please call or text (720) 555-0100."));
    assert!(!html.contains("name=\"_ts\""));
    let (status, body) =
        json(app.client().get(app.url(&format!("/public/v1/forms/{key}/token"))).send().await.unwrap()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("form_paused")));
    let (status, body) = json(
        app.client()
            .post(app.url(&format!("/public/v1/forms/{key}/submissions")))
            .json(&json!({"name": "Late", "phone": "720-555-0188"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("form_paused")));
    let (_, list) = b.get_text("/settings/web-forms").await;
    assert!(list.contains(">Paused<"));

    // Deleted: gone for good; its lead stays.
    let resp = b.post_form(&format!("{editor}/delete"), &[]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/settings/web-forms?done=deleted");
    let (_, list) = b.get_text("/settings/web-forms?done=deleted").await;
    assert!(
        list.contains(
            "Form deleted. Its link and embedded copies no longer take requests; its leads stay in the inbox."
        )
    );
    assert_eq!(app.client().get(app.url(&format!("/f/{key}"))).send().await.unwrap().status(), 404);
    let (_, body) =
        json(app.client().get(app.url("/api/v1/leads?source=web")).bearer_auth(&api).send().await.unwrap()).await;
    assert_eq!(body["leads"].as_array().unwrap().len(), 1);
    assert_eq!(b.get(&editor).await.status(), 404);
}

#[tokio::test]
async fn another_organization_cannot_edit_or_delete_a_form() {
    let (app, key, _) = setup("").await;
    let (other, _) = app.org_with_admin("rival").await;
    let _ = other;
    let owner = app.signed_in("admin@acme.example.com").await;
    let id = form_id(&owner, &key).await;
    let rival = app.signed_in("admin@rival.example.com").await;
    assert_eq!(rival.get(&format!("/settings/web-forms/{id}")).await.status(), 404);
    assert_eq!(
        rival
            .post_form(&format!("/settings/web-forms/{id}"), &[("name", "Mine now"), ("status", "paused")])
            .await
            .status(),
        404
    );
    assert_eq!(rival.post_form(&format!("/settings/web-forms/{id}/delete"), &[]).await.status(), 404);
    assert_eq!(app.client().get(app.url(&format!("/f/{key}"))).send().await.unwrap().status(), 200, "still live");
}
