//! Noticing new and urgent leads, and finding anything from the top bar: the brand's urgent
//! words flag leads and sort them first (API and inbox), the sidebar counts unread leads on
//! every page, and /search finds customers, jobs and leads, phone numbers in any format.

use serde_json::json;

use crate::helpers::{TestApp, json, spawn_app};

const BRAND_NUMBER: &str = "+17205550100";

async fn setup() -> (TestApp, String, i64) {
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("acme").await;
    let key = app.api_key(org).await;
    let (status, body) = app
        .api_post(
            &key,
            "/api/v1/brands",
            json!({"name": "Acme HVAC", "time_zone": "America/Denver", "sms_number": BRAND_NUMBER}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let words: Vec<&str> =
        body["brand"]["urgent_words"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert!(words.contains(&"no heat") && words.contains(&"flooding") && words.contains(&"gas smell"), "{words:?}");
    (app, key, body["brand"]["id"].as_i64().unwrap())
}

/// (phone, urgent) of the API's lead list, in its order.
async fn inbox(app: &TestApp, key: &str) -> Vec<(String, Option<String>)> {
    let (status, body) = json(app.client().get(app.url("/api/v1/leads")).bearer_auth(key).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    body["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["phone"].as_str().unwrap().to_string(), l["urgent"].as_str().map(String::from)))
        .collect()
}

#[tokio::test]
async fn a_brands_urgent_words_flag_leads_and_sort_them_first() {
    let (app, key, brand) = setup().await;
    // Oldest first: the urgent one, from a German mobile, then two ordinary texts.
    app.sms.reply("+4915112345678", BRAND_NUMBER, "Keller: the basement is FLOODING since 6am").await.unwrap();
    app.route_inbound().await;
    app.clock.advance(jiff::SignedDuration::from_mins(5));
    app.sms.reply("+13035550142", BRAND_NUMBER, "Garage door stuck halfway").await.unwrap();
    app.route_inbound().await;
    app.clock.advance(jiff::SignedDuration::from_mins(5));
    app.sms.reply("+13035550143", BRAND_NUMBER, "Water heater needs a flush").await.unwrap();
    app.route_inbound().await;
    assert_eq!(
        inbox(&app, &key).await,
        vec![
            ("+4915112345678".to_string(), Some("flooding".to_string())),
            ("+13035550143".to_string(), None),
            ("+13035550142".to_string(), None),
        ],
        "the urgent lead first, the rest newest first; \"heater\" is not \"heat\""
    );

    // The office's own words replace the list, at once for leads already in the inbox.
    let (status, body) = app
        .api_patch(&key, &format!("/api/v1/brands/{brand}"), json!({"urgent_words": ["Garage door", "no heat"]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["brand"]["urgent_words"], json!(["garage door", "no heat"]));
    assert_eq!(
        inbox(&app, &key).await,
        vec![
            ("+13035550142".to_string(), Some("garage door".to_string())),
            ("+13035550143".to_string(), None),
            ("+4915112345678".to_string(), None),
        ]
    );

    // Words that cannot match are refused with the reason, and nothing changes.
    let (status, body) =
        app.api_patch(&key, &format!("/api/v1/brands/{brand}"), json!({"urgent_words": ["!!!"]})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "urgent_words");
    assert_eq!(body["error"]["fields"][0]["message"], "\"!!!\" has no letters or digits to look for");
    // An empty list flags nothing.
    let (status, body) = app.api_patch(&key, &format!("/api/v1/brands/{brand}"), json!({"urgent_words": []})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["brand"]["urgent_words"], json!([]));
    assert!(inbox(&app, &key).await.iter().all(|(_, u)| u.is_none()));
}

/// The count the sidebar's badge carries on a console page.
fn badge(html: &str) -> i64 {
    let at = html.find("id=\"nav-unread\"").expect("the sidebar's unread badge");
    let rest = &html[at..];
    let from = rest.find("data-count=\"").expect("data-count") + "data-count=\"".len();
    rest[from..].split('"').next().unwrap().parse().unwrap()
}

fn title(html: &str) -> &str {
    let from = html.find("<title>").unwrap() + "<title>".len();
    &html[from..from + html[from..].find("</title>").unwrap()]
}

#[tokio::test]
async fn the_sidebar_counts_unread_leads_and_the_top_bar_finds_customers_jobs_and_leads() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let b = app.signed_in_demo().await;

    // The demo's four unread leads, on any page and in the tab title.
    let (status, html) = b.get_text("/jobs").await;
    assert_eq!(status, 200);
    assert_eq!(badge(&html), 4);
    assert_eq!(title(&html), "(4) Jobs · Switchboard");
    let (_, fragment) = b.get_text("/leads/unread").await;
    assert_eq!(badge(&fragment), 4);

    // A new text counts at once; opening its lead uncounts it.
    app.sms.reply("+13035550199", BRAND_NUMBER, "Smoke coming from the furnace vent").await.unwrap();
    app.route_inbound().await;
    assert_eq!(badge(&b.get_text("/leads/unread").await.1), 5);
    let (_, inbox) = b.get_text("/leads").await;
    assert_eq!(title(&inbox), "(5) Leads · Switchboard");
    // Urgent leads first: the new "smoke" one, then the demo's "no heat".
    let first = inbox.find("Urgent · smoke").expect("the new lead is flagged");
    let second = inbox.find("Urgent · no heat").expect("the demo's no-heat lead is flagged");
    let ordinary = inbox.find("Rachel Cohen").expect("Rachel's lead");
    assert!(first < second && second < ordinary, "urgent leads first, newest first among them");
    let href = inbox[..first].rfind("href=\"/leads/").map(|i| &inbox[i + 6..]).unwrap();
    let lead_path = href.split('"').next().unwrap().to_string();
    let (_, page) = b.get_text(&lead_path).await;
    assert!(page.contains("Urgent · smoke"), "the lead's page names the word");
    assert_eq!(badge(&page), 4, "the open lead is read");
    assert_eq!(title(&page), "(4) (303) 555-0199 · Leads · Switchboard");

    // One brand selected: its leads only.
    let brands = switchboard_core::tenancy::list_brands(&app.db, app.db_org_of_demo().await).await.unwrap();
    let harbor = brands.iter().find(|x| x.name == "Harbor Plumbing & Drain").unwrap().id.0.to_string();
    let resp = b.post_form("/session/brand", &[("brand_id", harbor.as_str()), ("return_to", "/jobs")]).await;
    assert!(resp.status().is_success() || resp.status().is_redirection());
    assert_eq!(badge(&b.get_text("/jobs").await.1), 1, "Harbor has Kofi's email");
    let resp = b.post_form("/session/brand", &[("brand_id", ""), ("return_to", "/jobs")]).await;
    assert!(resp.status().is_success() || resp.status().is_redirection());

    // Search: a phone number typed any way finds the customer, their job and their lead.
    for typed in ["(720) 555-0134", "720.555.0134", "+1 720 555 0134", "7205550134"] {
        let (status, html) = b.get_text(&format!("/search?q={}", urlencode(typed))).await;
        assert_eq!(status, 200);
        assert!(html.contains("<strong>Rachel Cohen</strong>"), "{typed}: the customer");
        assert!(html.contains(">J-2202<"), "{typed}: her job");
        assert!(html.contains("The thermostat you installed keeps resetting"), "{typed}: her lead");
        assert!(html.contains(&format!("value=\"{}\"", typed.replace('"', "&quot;"))), "{typed}: kept in the box");
    }
    // A name, a job code, a street.
    let (_, html) = b.get_text("/search?q=alvarez").await;
    assert!(html.contains("<strong>Miguel Alvarez</strong>") && html.contains(">J-2204<"));
    let (_, html) = b.get_text("/search?q=J-2203").await;
    assert!(html.contains(">J-2203<") && !html.contains(">J-2204<"));
    let (_, html) = b.get_text("/search?q=Tennyson").await;
    assert!(html.contains("<strong>Rachel Cohen</strong>"));
    // Nothing, and the empty box.
    let (status, html) = b.get_text("/search?q=zzqx").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Nothing matches “zzqx”. Try part of a name, a job code, or the last digits of a phone number.")
    );
    let (_, html) = b.get_text("/search?q=").await;
    assert!(html.contains("Search jobs, customers and leads"));
    // What is typed is text, never markup.
    let (_, html) = b.get_text("/search?q=%3Cscript%3Ex%3C%2Fscript%3E").await;
    assert!(
        !html.contains("<script>x</script>") && html.contains("Nothing matches “&#60;script&#62;x&#60;/script&#62;”")
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
