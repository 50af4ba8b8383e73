//! Settings -> Brands and -> Users through the browser forms.

use crate::helpers::{PASSWORD, login_csrf, spawn_app};

#[tokio::test]
async fn an_admin_creates_and_edits_a_brand_through_the_form() {
    let app = spawn_app().await;
    let (_, admin) = app.org_with_admin("acme").await;
    let b = app.signed_in(&admin.email).await;
    let (status, page) = b.get_text("/settings/brands/new").await;
    assert_eq!(status, 200);
    assert!(page.contains("New brand"));

    let resp = b
        .post_form(
            "/settings/brands",
            &[
                ("name", "Acme Garage Doors"),
                ("time_zone", "America/Phoenix"),
                ("sms_number", "(602) 555-0100"),
                ("inbound_email", "Leads@AcmeGarage.example"),
                ("color", "#FF5500"),
                ("logo_url", ""),
                ("job_prefix", "G"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, list) = b.get_text("/settings/brands?done=created").await;
    assert!(list.contains("Brand created."));
    assert!(list.contains("Acme Garage Doors"));
    assert!(list.contains("(602) 555-0100"), "the number is stored as E.164 and shown nationally");
    assert!(list.contains("leads@acmegarage.example"));
    assert!(list.contains("G-1001"), "the next job code is shown");

    let brands = switchboard_core::tenancy::list_brands(&app.db, admin.org_id).await.unwrap();
    let brand = brands.iter().find(|x| x.name == "Acme Garage Doors").unwrap();
    assert_eq!(brand.sms_number.as_deref(), Some("+16025550100"));
    assert_eq!(brand.color, "#ff5500");

    let path = format!("/settings/brands/{}", brand.id);
    let (status, form) = b.get_text(&path).await;
    assert_eq!(status, 200);
    assert!(form.contains("value=\"America/Phoenix\""));
    let resp = b
        .post_form(
            &path,
            &[
                ("name", "Acme Doors"),
                ("time_zone", "America/Denver"),
                ("sms_number", "+16025550100"),
                ("color", "#ff5500"),
                ("job_prefix", "G"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let updated = switchboard_core::tenancy::brand(&app.db, admin.org_id, brand.id).await.unwrap();
    assert_eq!((updated.name.as_str(), updated.time_zone.as_str()), ("Acme Doors", "America/Denver"));
    assert_eq!(updated.inbound_email, None, "a cleared field is cleared");
}

#[tokio::test]
async fn an_invalid_brand_form_comes_back_with_each_problem_named() {
    let app = spawn_app().await;
    let (_, admin) = app.org_with_admin("acme").await;
    let b = app.signed_in(&admin.email).await;
    let resp = b
        .post_form(
            "/settings/brands",
            &[
                ("name", ""),
                ("time_zone", "Mars/Base"),
                ("sms_number", "555"),
                ("inbound_email", "not-an-email"),
                ("color", "red"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("this field is required"));
    assert!(page.contains("is not a known time zone"));
    assert!(page.contains("is not a valid phone number") || page.contains("is not a phone number"));
    assert!(page.contains("is not an email address"));
    assert!(page.contains("is not a colour"));
    assert!(page.contains("value=\"Mars/Base\""), "what the user typed is kept");
    assert!(
        switchboard_core::tenancy::list_brands(&app.db, admin.org_id).await.unwrap().is_empty(),
        "nothing was saved"
    );

    app.brand(admin.org_id, "Taken").await;
    let resp = b.post_form("/settings/brands", &[("name", "Taken"), ("time_zone", "America/Chicago")]).await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("a brand named &#34;Taken&#34; already exists"));
}

#[tokio::test]
async fn a_brand_form_sets_the_country_that_reads_its_numbers() {
    let app = spawn_app().await;
    let (_, admin) = app.org_with_admin("acme").await;
    let b = app.signed_in(&admin.email).await;
    let (_, page) = b.get_text("/settings/brands/new").await;
    assert!(page.contains("<option value=\"US\" selected>United States</option>"), "a new brand starts in the US");
    assert!(page.contains("<option value=\"DE\">Germany</option>"));

    // A country without a numbering plan is refused beside its field, with what was typed kept.
    let fields =
        [("name", "Acme Berlin"), ("time_zone", "Europe/Berlin"), ("country", "XX"), ("sms_number", "030 1234567")];
    let resp = b.post_form("/settings/brands", &fields).await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("&#34;XX&#34; is not a country with a phone numbering plan"),
        "the error is beside the field"
    );
    assert!(page.contains("value=\"030 1234567\""), "what was typed is kept");

    let resp = b.post_form("/settings/brands", &[fields[0], fields[1], ("country", "DE"), fields[3]]).await;
    assert_eq!(resp.status(), 303);
    let brands = switchboard_core::tenancy::list_brands(&app.db, admin.org_id).await.unwrap();
    assert_eq!(brands.len(), 1, "the refused form made nothing");
    assert_eq!((brands[0].country.code(), brands[0].sms_number.as_deref()), ("DE", Some("+49301234567")));
    let (_, list) = b.get_text("/settings/brands").await;
    assert!(list.contains("Europe/Berlin · Germany"), "the list names the country");
    assert!(list.contains("+49 30 1234567"), "a number abroad is shown in international form");
    let (_, form) = b.get_text(&format!("/settings/brands/{}", brands[0].id)).await;
    assert!(form.contains("<option value=\"DE\" selected>Germany</option>"));
}

#[tokio::test]
async fn the_brand_switcher_filters_the_jobs_table_and_remembers_the_choice() {
    let app = spawn_app().await;
    switchboard_core::demo::seed(&app.db, &app.clock).await.unwrap();
    let org = switchboard_core::tenancy::org_by_slug(&app.db, "demo").await.unwrap().unwrap();
    let brands = switchboard_core::tenancy::list_brands(&app.db, org.id).await.unwrap();
    let harbor = brands.iter().find(|b| b.name.starts_with("Harbor")).unwrap();
    let client = app.browser();
    let csrf = login_csrf(&client, &app).await;
    client
        .post(app.url("/login"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("email", switchboard_core::demo::DEMO_ADMIN_EMAIL),
            ("password", switchboard_core::demo::DEMO_ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let page = client.get(app.url("/jobs")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("J-2204") && page.contains("H-4101"), "all brands are shown at first");
    let csrf = crate::helpers::hidden_csrf(&page).unwrap();

    let resp = client
        .post(app.url("/session/brand"))
        .form(&[("_csrf", csrf.as_str()), ("brand_id", harbor.id.to_string().as_str()), ("return_to", "/jobs")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/jobs");
    let page = client.get(app.url("/jobs")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("H-4101"));
    assert!(!page.contains("J-2204"), "another brand's jobs are hidden");

    let resp = client
        .post(app.url("/session/brand"))
        .form(&[("_csrf", csrf.as_str()), ("brand_id", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let page = client.get(app.url("/jobs")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("J-2204"), "All brands again");
}

#[tokio::test]
async fn an_admin_adds_a_user_who_can_then_sign_in() {
    let app = spawn_app().await;
    let (_, admin) = app.org_with_admin("acme").await;
    let b = app.signed_in(&admin.email).await;
    let resp = b
        .post_form(
            "/settings/users",
            &[
                ("name", "Rosa Diaz"),
                ("email", "Rosa@Acme.example.com"),
                ("role", "dispatcher"),
                ("password", "a-long-password"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, page) = b.get_text("/settings/users").await;
    assert!(page.contains("Rosa Diaz") && page.contains("rosa@acme.example.com") && page.contains("Dispatcher"));

    let (hash,): (String,) = sqlx::query_as("select password_hash from users where email = 'rosa@acme.example.com'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "passwords are stored as argon2id hashes");

    let client = app.browser();
    let csrf = login_csrf(&client, &app).await;
    let resp = client
        .post(app.url("/login"))
        .form(&[("_csrf", csrf.as_str()), ("email", "rosa@acme.example.com"), ("password", "a-long-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);

    let resp = b
        .post_form(
            "/settings/users",
            &[
                ("name", "Dup"),
                ("email", "rosa@acme.example.com"),
                ("role", "operator"),
                ("password", "another-long-one"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("already exists"));
    let resp = b
        .post_form(
            "/settings/users",
            &[("name", "Shorty"), ("email", "s@acme.example.com"), ("role", "boss"), ("password", "short")],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("is not a role") && page.contains("at least 10 characters"));
}

#[tokio::test]
async fn the_last_admin_cannot_demote_themselves_and_passwords_can_be_reset() {
    let app = spawn_app().await;
    let (_, admin) = app.org_with_admin("acme").await;
    let b = app.signed_in(&admin.email).await;
    let resp = b
        .post_form(
            &format!("/settings/users/{}", admin.id),
            &[("name", "Me"), ("role", "dispatcher"), ("active", "on")],
        )
        .await;
    assert_eq!(resp.status(), 409);
    assert!(resp.text().await.unwrap().contains("only active admin"));
    let me = switchboard_core::tenancy::user(&app.db, admin.org_id, admin.id).await.unwrap();
    assert_eq!(me.role.as_str(), "admin", "the role did not change");

    let other = app.user(admin.org_id, "ops@acme.example.com", "operator").await;
    let resp = b.post_form(&format!("/settings/users/{}/password", other.id), &[("password", "short")]).await;
    assert_eq!(resp.status(), 422);
    let resp =
        b.post_form(&format!("/settings/users/{}/password", other.id), &[("password", "brand-new-password")]).await;
    assert_eq!(resp.status(), 303);
    let client = app.browser();
    let csrf = login_csrf(&client, &app).await;
    let old = client
        .post(app.url("/login"))
        .form(&[("_csrf", csrf.as_str()), ("email", other.email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401, "the old password no longer works");
    let new = client
        .post(app.url("/login"))
        .form(&[("_csrf", csrf.as_str()), ("email", other.email.as_str()), ("password", "brand-new-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), 303);
}

#[tokio::test]
async fn api_keys_are_shown_once_stored_hashed_and_revocable_from_settings() {
    let app = spawn_app().await;
    let (_, admin) = app.org_with_admin("acme").await;
    let b = app.signed_in(&admin.email).await;
    let resp = b.post_form("/settings/api-keys", &[("name", "Website")]).await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    let start = page.find("id=\"new-key\">").unwrap() + "id=\"new-key\">".len();
    let key = page[start..start + page[start..].find('<').unwrap()].to_string();
    assert!(key.starts_with("sb_") && key.len() >= 46, "{key}");

    let (stored,): (String,) = sqlx::query_as("select key_hash from api_keys").fetch_one(app.db.pool()).await.unwrap();
    assert_ne!(stored, key);
    assert_eq!(stored, switchboard_core::secret::hash_token(&key));

    let api = app.client();
    let ok = api.get(app.url("/api/v1/brands")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let (_, listing) = b.get_text("/settings/api-keys").await;
    assert!(!listing.contains(&key), "the full key is never shown again");

    let (id,): (i64,) = sqlx::query_as("select id from api_keys").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(b.post_form(&format!("/settings/api-keys/{id}/revoke"), &[]).await.status(), 303);
    let revoked = api.get(app.url("/api/v1/brands")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(revoked.status(), 401);
}

#[tokio::test]
async fn a_brand_form_sets_working_hours_day_by_day() {
    let app = spawn_app().await;
    let (_, admin) = app.org_with_admin("acme").await;
    let b = app.signed_in(&admin.email).await;
    let (_, page) = b.get_text("/settings/brands/new").await;
    // A new brand starts on weekdays, 8 to 5.
    assert!(page.contains(r#"name="open_mon" value="08:00""#) && page.contains(r#"name="close_fri" value="17:00""#));
    assert!(page.contains(r#"name="open_sat" value="""#));

    let week = |mon: (&'static str, &'static str)| {
        vec![
            ("name", "Acme Locks"),
            ("time_zone", "America/Chicago"),
            ("open_mon", mon.0),
            ("close_mon", mon.1),
            ("open_tue", "08:00"),
            ("close_tue", "17:00"),
            ("open_wed", ""),
            ("close_wed", ""),
            ("open_thu", "08:00"),
            ("close_thu", ""),
            ("open_fri", "18:00"),
            ("close_fri", "00:00"),
            ("open_sat", ""),
            ("close_sat", ""),
            ("open_sun", ""),
            ("close_sun", ""),
        ]
    };
    // Refused: each day's problem beside that day, everything typed kept.
    let r = b.post_form("/settings/brands", &week(("17:00", "09:00"))).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"<span class="field-error" id="hours-mon-error">Monday: closes at 9:00 AM before it opens at 5:00 PM; hours that run past midnight go on the next day</span>"#),
        "{html}"
    );
    assert!(html.contains(
        r#"<span class="field-error" id="hours-thu-error">Thursday: give a closing time too, or leave both empty for closed</span>"#
    ));
    assert!(html.contains(r#"name="open_mon" value="17:00""#) && html.contains(r#"name="close_fri" value="00:00""#));
    assert!(switchboard_core::tenancy::list_brands(&app.db, admin.org_id).await.unwrap().is_empty(), "nothing saved");

    let mut fixed = week(("07:30", "16:00"));
    fixed.retain(|(k, _)| *k != "close_thu");
    fixed.push(("close_thu", "17:00"));
    let r = b.post_form("/settings/brands", &fixed).await;
    assert_eq!(r.status(), 303);
    let brand = switchboard_core::tenancy::list_brands(&app.db, admin.org_id).await.unwrap().remove(0);
    assert_eq!(
        brand.working_hours.summary(),
        "Mon 7:30 AM-4:00 PM, Tue 8:00 AM-5:00 PM, Thu 8:00 AM-5:00 PM, Fri 6:00 PM-midnight"
    );
    // The edit form shows them back (midnight as 00:00, which a time input can hold).
    let (_, form) = b.get_text(&format!("/settings/brands/{}", brand.id)).await;
    assert!(form.contains(r#"name="open_mon" value="07:30""#) && form.contains(r#"name="close_fri" value="00:00""#));
    assert!(form.contains(r#"name="open_wed" value="""#));
    // A form without the rows (an older page) keeps the hours.
    let r = b
        .post_form(
            &format!("/settings/brands/{}", brand.id),
            &[("name", "Acme Locks"), ("time_zone", "America/Chicago")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let kept = switchboard_core::tenancy::brand(&app.db, admin.org_id, brand.id).await.unwrap();
    assert_eq!(kept.working_hours, brand.working_hours);
}
