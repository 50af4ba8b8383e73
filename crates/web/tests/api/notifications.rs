//! Settings -> Notifications: per brand and kind, SMS and email on or off, templates checked
//! by name, a live preview with segment counts, reminder time and quiet hours.

use switchboard_core::notifications::Kind;
use switchboard_core::notifications::settings;

use crate::helpers::spawn_app;

#[tokio::test]
async fn templates_are_checked_previewed_and_saved_per_brand() {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    let texting = app.sms_brand(org, "Acme Air", "+17205550100").await;
    let silent = app.brand(org, "Acme Plumbing").await;
    let browser = app.signed_in(&admin.email).await;

    let (status, page) = browser.get_text(&format!("/settings/notifications?brand={}", texting.id)).await;
    assert_eq!(status, 200);
    for label in ["Booking confirmation", "Day-of reminder", "On the way", "Unpaid invoice"] {
        assert!(page.contains(label), "{label}");
    }
    assert!(page.contains("Texts go out from (720) 555-0100"), "the green check");
    let (_, page) = browser.get_text(&format!("/settings/notifications?brand={}", silent.id)).await;
    assert!(page.contains("has no SMS number"), "the red warning");

    // SMS cannot be turned on without a number; nothing is saved.
    let r = browser
        .post_form(
            &format!("/settings/notifications/{}/confirmation", silent.id),
            &[
                ("sms_enabled", "1"),
                ("sms_template", "Hi {customerFirstName}"),
                ("email_subject", "Booked"),
                ("email_template", "Hi"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Acme Plumbing has no SMS number yet"));
    let kinds = settings::kinds(&app.db, org, silent.id).await.unwrap();
    assert!(!kinds[0].sms_enabled);

    // An unknown merge field is refused by name, and the typed text comes back.
    let r = browser
        .post_form(
            &format!("/settings/notifications/{}/on_the_way", texting.id),
            &[
                ("sms_enabled", "1"),
                ("sms_template", "Hi {customerFristName}, {techName} is coming"),
                ("email_subject", "x"),
                ("email_template", "y"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("{customerFristName} is not a merge field"), "{html}");
    assert!(html.contains("Hi {customerFristName}, {techName} is coming"), "the text stays in the editor");

    // A good one is saved and shows on the page.
    let r = browser
        .post_form(
            &format!("/settings/notifications/{}/on_the_way", texting.id),
            &[
                ("sms_enabled", "1"),
                ("email_enabled", "1"),
                ("sms_template", "{techName} is on the way: {trackingUrl}"),
                ("email_subject", "{techName} is on the way"),
                ("email_template", "Hi {customerFirstName}, {techName} is coming."),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let kinds = settings::kinds(&app.db, org, texting.id).await.unwrap();
    let otw = kinds.iter().find(|k| k.kind == Kind::OnTheWay).unwrap();
    assert!(otw.sms_enabled && otw.email_enabled);
    assert_eq!(otw.sms_template, "{techName} is on the way: {trackingUrl}");
    let others: Vec<_> = kinds.iter().filter(|k| k.kind != Kind::OnTheWay).collect();
    assert!(others.iter().all(|k| !k.sms_enabled), "other kinds untouched");
    let other_brand = settings::kinds(&app.db, org, silent.id).await.unwrap();
    assert!(other_brand.iter().all(|k| !k.email_enabled), "per brand");

    // The live preview renders sample data and counts segments.
    let r = browser
        .post_form(
            "/settings/notifications/preview",
            &[("brand", &texting.id.to_string()), ("sms_template", "Hi {customerFirstName} from {brandName}")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Hi Tara from Acme Air") && html.contains("1 segment"), "{html}");
    let long = format!("{} {{techName}} 🚐", "x".repeat(70));
    let r = browser
        .post_form("/settings/notifications/preview", &[("brand", &texting.id.to_string()), ("sms_template", &long)])
        .await;
    let html = r.text().await.unwrap();
    assert!(html.contains("2 segments") && html.contains("Unicode"), "{html}");
    let r = browser
        .post_form("/settings/notifications/preview", &[("brand", &texting.id.to_string()), ("sms_template", "{nope}")])
        .await;
    assert!(r.text().await.unwrap().contains("{nope} is not a merge field"));
}

#[tokio::test]
async fn reminder_time_and_quiet_hours_are_saved_and_checked() {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    let brand = app.sms_brand(org, "Acme Air", "+17205550100").await;
    let browser = app.signed_in(&admin.email).await;
    let path = format!("/settings/notifications/{}/prefs", brand.id);
    let r =
        browser.post_form(&path, &[("reminder_time", "06:30"), ("quiet_start", "20:00"), ("quiet_end", "07:30")]).await;
    assert_eq!(r.status(), 303);
    let p = settings::prefs(&app.db, org, brand.id).await.unwrap();
    assert_eq!(p.reminder_time.to_string(), "06:30:00");
    let q = p.quiet.unwrap();
    assert_eq!((q.start.to_string(), q.end.to_string()), ("20:00:00".into(), "07:30:00".into()));
    assert!(!p.limit_multi_tech, "unchecked box: off");
    for (fields, why) in [
        (vec![("reminder_time", "06:30"), ("quiet_start", "20:00")], "both ends"),
        (vec![("reminder_time", "later")], "is not a time"),
        (vec![("reminder_time", "06:30"), ("quiet_start", "20:00"), ("quiet_end", "20:00")], "different times"),
    ] {
        let r = browser.post_form(&path, &fields).await;
        assert_eq!(r.status(), 422, "{why}");
        assert!(r.text().await.unwrap().contains(why), "{why}");
    }
    assert_eq!(settings::prefs(&app.db, org, brand.id).await.unwrap(), p, "refused input changes nothing");

    // Dispatchers see settings only if admins; another org's brand is not reachable.
    app.user(org, "disp@acme.example.com", "dispatcher").await;
    let dispatcher = app.signed_in("disp@acme.example.com").await;
    assert_eq!(dispatcher.get("/settings/notifications").await.status(), 403);
    let (other, _) = app.org_with_admin("rival").await;
    let theirs = app.brand(other, "Rival Air").await;
    assert_eq!(browser.get(&format!("/settings/notifications?brand={}", theirs.id)).await.status(), 404);
    let r =
        browser.post_form(&format!("/settings/notifications/{}/prefs", theirs.id), &[("reminder_time", "05:00")]).await;
    assert_eq!(r.status(), 404);
}
