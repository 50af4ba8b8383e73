//! `--demo` data: the jobs table a dispatcher expects, seeded once.

use switchboard_core::demo::{self, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD};

use crate::helpers::{hidden_csrf, spawn_app};

async fn counts(app: &crate::helpers::TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "orgs",
        "brands",
        "users",
        "technicians",
        "customers",
        "jobs",
        "job_technicians",
        "leads",
        "web_forms",
        "messages",
        "service_locations",
        "desk_protocols",
    ] {
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        out.push(n);
    }
    out
}

#[tokio::test]
async fn seeding_twice_neither_duplicates_nor_erases() {
    let app = spawn_app().await;
    let first = demo::seed(&app.db, &app.clock).await.unwrap();
    assert!(first.created);
    let after_first = counts(&app).await;
    // Messages: the inbox's two texts and its email, as they would have arrived. Service
    // locations: each customer's address, and the landlord's duplex units. One brand answers
    // its own calls at the message desk.
    assert_eq!(after_first, vec![1, 2, 4, 4, 9, 10, 7, 4, 2, 3, 11, 1]);
    let second = demo::seed(&app.db, &app.clock).await.unwrap();
    assert!(!second.created);
    assert_eq!(counts(&app).await, after_first);
}

#[tokio::test]
async fn the_demo_admin_sees_the_demo_jobs_table() {
    let app = spawn_app().await;
    demo::seed(&app.db, &app.clock).await.unwrap();
    let client = app.browser();
    let page = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_csrf(&page).unwrap();
    let resp = client
        .post(app.url("/login"))
        .form(&[("_csrf", csrf.as_str()), ("email", DEMO_ADMIN_EMAIL), ("password", DEMO_ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let html = client.get(app.url("/jobs")).send().await.unwrap().text().await.unwrap();
    let rows = table_rows(&html);
    // The test clock is 2026-11-22 10:00 in Denver, Summit's zone; with both brands shown
    // (Denver and Boston), each time names its zone.
    let expected = [
        ["J-2204", "M. Alvarez", "Garage spring", "Dan", "On site", "Today 1:30 PM MST"],
        ["J-2205", "T. Patel", "AC diagnose", "Maria", "En route", "Today 2:15 PM MST"],
        ["J-2203", "S. Greene", "Lock rekey", "Jin", "Pending close", "Today 11:00 AM MST"],
        ["J-2202", "R. Cohen", "Disposal install", "Dan", "Scheduled", "Today 4:00 PM MST"],
        ["J-2201", "L. Martinez", "Estimate - re-roof", "(none)", "Estimate", "Tomorrow 9:00 AM MST"],
        ["J-2199", "B. Knox", "Drain clear", "Jin", "Completed", "Yesterday"],
        ["J-2200", "G. Kim", "Water heater flush", "(none)", "Canceled", "Yesterday"],
    ];
    for want in expected {
        let row = rows
            .iter()
            .find(|r| r.first().map(String::as_str) == Some(want[0]))
            .unwrap_or_else(|| panic!("{} is listed", want[0]));
        assert_eq!(&row[..6], &want[..], "row {}", want[0]);
    }
    let harbor = rows.iter().find(|r| r[0] == "H-4101").expect("the second brand's jobs are listed too");
    assert!(harbor[5].ends_with(" EST"), "Harbor's times are Boston's: {harbor:?}");
    for status in ["Estimate", "Scheduled", "En route", "On site", "Pending close", "Completed", "Canceled"] {
        assert!(rows.iter().any(|r| r[4] == status), "a job in status {status}");
    }
    let brands = client.get(app.url("/settings/brands")).send().await.unwrap().text().await.unwrap();
    assert!(brands.contains("Summit Home Services") && brands.contains("Harbor Plumbing &#38; Drain"));
    assert!(brands.contains("J-2206"), "Summit's next job code follows the demo table");
}

/// The text of each cell of each body row of the first table.
fn table_rows(html: &str) -> Vec<Vec<String>> {
    let body = &html[html.find("<tbody>").unwrap()..html.find("</tbody>").unwrap()];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let inner = &cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()];
                    strip_tags(inner).trim().to_string()
                })
                .collect()
        })
        .collect()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn a_demo_text_from_a_customer_is_on_their_card_as_well_as_in_the_inbox() {
    let app = spawn_app().await;
    demo::seed(&app.db, &app.clock).await.unwrap();
    let b = app.signed_in_demo().await;
    let (_, list) = b.get_text("/customers?q=Rachel").await;
    let card = list
        .split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.strip_prefix("/customers/").is_some_and(|id| id.parse::<i64>().is_ok()))
        .expect("Rachel's card link");
    let (_, html) = b.get_text(card).await;
    let log = &html[html.find("id=\"customer-messages\"").expect("the message log")..];
    assert!(
        log.contains("<span>From customer · Text</span>")
            && log.contains(
                "<p>Hi, it&#39;s Rachel Cohen. The thermostat you installed keeps resetting. Can someone take a look this week?</p>"
            ),
        "{log}"
    );
}
