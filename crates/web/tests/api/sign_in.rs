use crate::helpers::{PASSWORD, login_csrf, spawn_app};

#[tokio::test]
async fn signing_in_sets_a_hardened_session_cookie_and_opens_the_console() {
    let app = spawn_app().await;
    let (_, admin) = app.org_with_admin("acme").await;
    let client = app.browser();
    let csrf = login_csrf(&client, &app).await;
    let resp = client
        .post(app.url("/login"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("email", admin.email.as_str()),
            ("password", PASSWORD),
            ("next", "/customers"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/customers", "the next page is honoured");
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("sb_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let value = cookie.trim_start_matches("sb_session=").split(';').next().unwrap();
    assert!(value.len() >= 43, "the session token carries at least 256 bits");
    let (n,): (i64,) = sqlx::query_as("select count(*) from sessions where token_hash = $1")
        .bind(value)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(n, 0, "the raw token is never stored");

    let page = client.get(app.url("/jobs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&admin.name), "the console shows who is signed in");
}

#[tokio::test]
async fn wrong_passwords_and_unknown_emails_get_the_same_answer() {
    let app = spawn_app().await;
    let (_, admin) = app.org_with_admin("acme").await;
    let client = app.browser();
    let csrf = login_csrf(&client, &app).await;
    for (email, password) in [(admin.email.as_str(), "not-the-password"), ("nobody@acme.example.com", PASSWORD)] {
        let resp = client
            .post(app.url("/login"))
            .form(&[("_csrf", csrf.as_str()), ("email", email), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        assert!(resp.text().await.unwrap().contains("do not match an active account"));
    }
    assert_eq!(client.get(app.url("/jobs")).send().await.unwrap().status(), 303, "still signed out");
}

#[tokio::test]
async fn repeated_failures_are_throttled_even_for_the_right_password() {
    let app = spawn_app().await;
    let (_, admin) = app.org_with_admin("acme").await;
    let client = app.browser();
    let csrf = login_csrf(&client, &app).await;
    let attempt = |password: &'static str| {
        let client = client.clone();
        let csrf = csrf.clone();
        let url = app.url("/login");
        let email = admin.email.clone();
        async move {
            client
                .post(url)
                .form(&[("_csrf", csrf.as_str()), ("email", email.as_str()), ("password", password)])
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..5 {
        assert_eq!(attempt("wrong-password").await.status(), 401);
    }
    let resp = attempt(PASSWORD).await;
    assert_eq!(resp.status(), 429, "the sixth attempt within 15 minutes is refused");
    assert!(resp.headers().get("retry-after").is_some());
    assert!(resp.text().await.unwrap().contains("Too many sign-in attempts"));

    app.clock.advance(jiff::SignedDuration::from_mins(16));
    assert_eq!(attempt(PASSWORD).await.status(), 303, "after the window the right password works again");
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let app = spawn_app().await;
    let (_, admin) = app.org_with_admin("acme").await;

    // Sign-in form: no token cookie at all, and a token that does not match the cookie.
    let fresh = app.browser();
    let resp = fresh
        .post(app.url("/login"))
        .form(&[("email", admin.email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    login_csrf(&fresh, &app).await;
    let resp = fresh
        .post(app.url("/login"))
        .form(&[("_csrf", "forged"), ("email", admin.email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // Signed in: a state change without the session's token changes nothing.
    let browser = app.signed_in(&admin.email).await;
    let resp = browser
        .client
        .post(app.url("/settings/brands"))
        .form(&[("name", "Forged Brand"), ("time_zone", "America/Chicago")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.unwrap().contains("This form has expired"));
    let resp = browser
        .client
        .post(app.url("/settings/brands"))
        .header("x-csrf-token", "wrong")
        .form(&[("name", "Forged Brand"), ("time_zone", "America/Chicago")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let (_, page) = browser.get_text("/settings/brands").await;
    assert!(!page.contains("Forged Brand"), "no brand was created");

    // The htmx header form of the token works.
    let resp = browser
        .client
        .post(app.url("/settings/brands"))
        .header("x-csrf-token", browser.csrf.as_str())
        .form(&[("name", "Real Brand"), ("time_zone", "America/Chicago")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    let (_, admin) = app.org_with_admin("acme").await;
    let browser = app.signed_in(&admin.email).await;
    let resp = browser.post_form("/logout", &[]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/login");
    let (n,): (i64,) = sqlx::query_as("select count(*) from sessions").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(n, 0, "the session row is deleted");
    assert_eq!(browser.get("/jobs").await.status(), 303, "the console asks to sign in again");
}

#[tokio::test]
async fn sessions_expire_when_idle() {
    let app = spawn_app().await;
    let (_, admin) = app.org_with_admin("acme").await;
    let browser = app.signed_in(&admin.email).await;
    app.clock.advance(jiff::SignedDuration::from_hours(11));
    assert_eq!(browser.get("/jobs").await.status(), 200, "used within 12 hours: still signed in (and extended)");
    app.clock.advance(jiff::SignedDuration::from_hours(11));
    assert_eq!(browser.get("/jobs").await.status(), 200, "the use above extended the session");
    app.clock.advance(jiff::SignedDuration::from_hours(13));
    let resp = browser.get("/jobs").await;
    assert_eq!(resp.status(), 303, "idle for 13 hours: signed out");
    assert!(resp.headers()["location"].to_str().unwrap().starts_with("/login?next="));
}

#[tokio::test]
async fn roles_decide_what_a_user_may_open() {
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("acme").await;
    let dispatcher = app.user(org, "disp@acme.example.com", "dispatcher").await;
    let tech = app.user(org, "tech@acme.example.com", "technician").await;

    let d = app.signed_in(&dispatcher.email).await;
    assert_eq!(d.get("/jobs").await.status(), 200);
    assert_eq!(d.get("/settings/brands").await.status(), 200, "dispatchers can see the brands");
    assert_eq!(d.get("/settings/brands/new").await.status(), 403, "but not change them");
    let resp = d.post_form("/settings/brands", &[("name", "Sneaky"), ("time_zone", "America/Chicago")]).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(d.get("/settings/api-keys").await.status(), 403);

    let client = app.browser();
    let csrf = login_csrf(&client, &app).await;
    client
        .post(app.url("/login"))
        .form(&[("_csrf", csrf.as_str()), ("email", tech.email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let resp = client.get(app.url("/jobs")).send().await.unwrap();
    assert_eq!(resp.status(), 403, "technicians use their portal link, not the console");
    assert!(resp.text().await.unwrap().contains("portal link"));
}

#[tokio::test]
async fn deactivated_users_are_signed_out_and_cannot_sign_in() {
    let app = spawn_app().await;
    let (_, admin) = app.org_with_admin("acme").await;
    let org = admin.org_id;
    let dispatcher = app.user(org, "disp@acme.example.com", "dispatcher").await;
    let d = app.signed_in(&dispatcher.email).await;
    let a = app.signed_in(&admin.email).await;
    let resp =
        a.post_form(&format!("/settings/users/{}", dispatcher.id), &[("name", "Disp"), ("role", "dispatcher")]).await;
    assert_eq!(resp.status(), 303, "saving without the active box deactivates");
    assert_eq!(d.get("/jobs").await.status(), 303, "the deactivated user's session is gone");
    let client = app.browser();
    let csrf = login_csrf(&client, &app).await;
    let resp = client
        .post(app.url("/login"))
        .form(&[("_csrf", csrf.as_str()), ("email", dispatcher.email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn signing_out_over_https_clears_the_host_cookie_the_browser_holds() {
    let app = crate::helpers::spawn_app_with(|c| c.public_url = "https://dispatch.example.com".into()).await;
    let (_, admin) = app.org_with_admin("acme").await;
    let session = switchboard_core::auth::sign_in(&app.db, &app.clock, &admin.email, crate::helpers::PASSWORD)
        .await
        .unwrap()
        .expect("signed in");
    let cookie = format!("__Host-sb_session={}", session.token);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = client.get(app.url("/jobs")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csrf = crate::helpers::hidden_value(&page.text().await.unwrap(), "_csrf").expect("a form token");
    let resp = client
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .header("origin", "https://dispatch.example.com")
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let cleared: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .filter(|c| c.starts_with("__Host-sb_session="))
        .collect();
    assert_eq!(cleared.len(), 1, "{cleared:?}");
    let attrs: Vec<&str> = cleared[0].split("; ").collect();
    for wanted in ["Secure", "Path=/", "Max-Age=0", "HttpOnly"] {
        assert!(attrs.contains(&wanted), "a browser only clears a __Host- cookie with {wanted}: {}", cleared[0]);
    }
    let (n,): (i64,) = sqlx::query_as("select count(*) from sessions").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(n, 0, "the session is gone on the server too");
}
