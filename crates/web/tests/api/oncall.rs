//! On-call schedules over the API: a client's after-hours rotation of two technicians and a
//! desk contact, resolved at literal instants (who, since, until, why), an override that takes
//! effect at once and comes off again, the final schedule over a range, and every refusal
//! named by its field. Another organization sees none of it.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, json, spawn_app};

struct Office {
    app: TestApp,
    org: switchboard_core::ids::OrgId,
    key: String,
    brand: i64,
    /// (Ana, Ben, Cy): two technicians with sign-ins and a contact without one.
    people: (String, String, String),
}

async fn office() -> Office {
    let app = spawn_app().await;
    let (org, _) = app.org_with_admin("harbor").await;
    let key = app.api_key(org).await;
    let (status, body) = app
        .api_post(
            &key,
            "/api/v1/brands",
            json!({"name": "Harbor Plumbing", "time_zone": "America/New_York", "sms_number": "+16175550100"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let brand = body["brand"]["id"].as_i64().unwrap();
    let ana = app.user(org, "ana@harbor.example", "technician").await;
    let ben = app.user(org, "ben@harbor.example", "technician").await;
    let (status, body) = app
        .api_post(
            &key,
            &format!("/api/v1/brands/{brand}/contacts"),
            json!({"name": "Cy Relief", "methods": [{"kind": "cell", "value": "(617) 555-0149"}]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let cy = body["contact"]["id"].as_i64().unwrap();
    let people = (format!("user:{}", ana.id.0), format!("user:{}", ben.id.0), format!("contact:{cy}"));
    Office { app, org, key, brand, people }
}

impl Office {
    /// A schedule named Nights holding the nights layer; its id.
    async fn nights_schedule(&self) -> i64 {
        let body = json!({ "client_id": self.brand, "name": "Nights", "layers": [nights(&self.people)] });
        let (status, body) = self.app.api_post(&self.key, "/api/v1/schedules", body).await;
        assert_eq!(status, 201, "{body}");
        body["schedule"]["id"].as_i64().unwrap()
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        json(self.app.client().get(self.app.url(path)).bearer_auth(&self.key).send().await.unwrap()).await
    }

    /// (names on call, since, until) at `at`.
    async fn at(&self, schedule: i64, at: &str) -> (Vec<String>, Value, Value) {
        let (status, body) = self.get(&format!("/api/v1/schedules/{schedule}/on-call?at={at}")).await;
        assert_eq!(status, 200, "{body}");
        let names =
            body["on_call"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap().to_string()).collect();
        (names, body["since"].clone(), body["until"].clone())
    }
}

fn nights(people: &(String, String, String)) -> Value {
    json!({
        "name": "Nights",
        "members": [people.0, people.1, people.2],
        "shift": { "unit": "days", "count": 1 },
        "start": "2026-11-02T17:00",
        "windows": [
            { "days": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00", "end": "08:00" },
            { "days": ["sat", "sun"], "start": "00:00", "end": "00:00" },
        ],
    })
}

#[tokio::test]
async fn a_schedule_says_who_is_on_call_at_any_instant_and_an_override_changes_it_at_once() {
    let o = office().await;
    let (ana, ben, cy) = o.people.clone();
    let (status, body) = o
        .app
        .api_post(
            &o.key,
            "/api/v1/schedules",
            json!({ "client_id": o.brand, "name": "After-hours technicians", "layers": [nights(&o.people)] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let s = &body["schedule"];
    let id = s["id"].as_i64().unwrap();
    assert_eq!(s["time_zone"], "America/New_York");
    assert_eq!(s["layers"], json!([nights(&o.people)]), "the layer reads back as it was given");
    assert_eq!(
        s["people"],
        json!([
            { "member": ana, "name": "technician ana" },
            { "member": ben, "name": "technician ben" },
            { "member": cy, "name": "Cy Relief" },
        ])
    );
    // The test clock: Sunday 2026-11-22 12:00 EST, the weekend; Saturday 17:00's shift is the
    // 20th (from 0), Ben's.
    assert_eq!(
        s["on_call_now"],
        json!({
            "at": "2026-11-22T17:00:00Z",
            "on_call": [{ "member": ben, "name": "technician ben", "reason": "layer", "layer": "Nights" }],
            "since": "2026-11-21T22:00:00Z",
            "until": "2026-11-22T22:00:00Z",
        })
    );

    // Tuesday noon is business hours: nobody, until the night begins at 17:00 EST.
    assert_eq!(
        o.at(id, "2026-11-03T17:00:00Z").await,
        (vec![], json!("2026-11-03T13:00:00Z"), json!("2026-11-03T22:00:00Z"))
    );
    // Tuesday 20:00: the second shift, Ben's, until Wednesday 08:00.
    assert_eq!(
        o.at(id, "2026-11-04T01:00:00Z").await,
        (vec!["technician ben".into()], json!("2026-11-03T22:00:00Z"), json!("2026-11-04T13:00:00Z"))
    );

    // Ben's child is sick: Cy covers his Tuesday night, from the moment it is saved.
    let (status, body) = o
        .app
        .api_post(
            &o.key,
            &format!("/api/v1/schedules/{id}/overrides"),
            json!({ "start": "2026-11-03T22:00:00Z", "end": "2026-11-04T13:00:00Z", "action": "replace", "from": ben, "who": cy, "note": "Ben's child is sick" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let ov = body["override"]["id"].as_i64().unwrap();
    assert_eq!(
        body["override"],
        json!({ "id": ov, "start": "2026-11-03T22:00:00Z", "end": "2026-11-04T13:00:00Z", "action": "replace", "from": ben, "who": cy, "note": "Ben's child is sick", "created_by": "api" })
    );
    let (_, body) = o.get(&format!("/api/v1/schedules/{id}/on-call?at=2026-11-04T01:00:00Z")).await;
    assert_eq!(body["on_call"], json!([{ "member": cy, "name": "Cy Relief", "reason": "override", "id": ov }]));

    // The final schedule from Tuesday 12:00 to Wednesday 09:00.
    let (status, body) =
        o.get(&format!("/api/v1/schedules/{id}/timeline?from=2026-11-03T17:00:00Z&to=2026-11-04T14:00:00Z")).await;
    assert_eq!(status, 200, "{body}");
    let segments: Vec<(String, String, Vec<String>)> = body["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let who =
                g["on_call"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap().to_string()).collect();
            (g["start"].as_str().unwrap().to_string(), g["end"].as_str().unwrap().to_string(), who)
        })
        .collect();
    assert_eq!(
        segments,
        [
            ("2026-11-03T17:00:00Z".into(), "2026-11-03T22:00:00Z".into(), vec![]),
            ("2026-11-03T22:00:00Z".into(), "2026-11-04T13:00:00Z".into(), vec!["Cy Relief".to_string()]),
            ("2026-11-04T13:00:00Z".into(), "2026-11-04T14:00:00Z".into(), vec![]),
        ]
    );

    // Taken back: Ben again.
    let r = o
        .app
        .client()
        .delete(o.app.url(&format!("/api/v1/schedules/{id}/overrides/{ov}")))
        .bearer_auth(&o.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(o.at(id, "2026-11-04T01:00:00Z").await.0, vec!["technician ben".to_string()]);
    let r = o
        .app
        .client()
        .delete(o.app.url(&format!("/api/v1/schedules/{id}/overrides/{ov}")))
        .bearer_auth(&o.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "already removed");

    // Editing the layers takes effect at once too: Ana alone, in 12-hour shifts.
    let r = o
        .app
        .client()
        .put(o.app.url(&format!("/api/v1/schedules/{id}/layers")))
        .bearer_auth(&o.key)
        .json(&json!({ "layers": [{ "name": "Ana", "members": [ana], "shift": { "unit": "hours", "count": 12 }, "start": "2026-11-01T08:00" }] }))
        .send()
        .await
        .unwrap();
    let (status, body) = json(r).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["schedule"]["version"], 4, "created (1), override added (2) and removed (3), layers saved (4)");
    assert_eq!(
        o.at(id, "2026-11-04T01:00:00Z").await,
        (vec!["technician ana".into()], json!("2026-11-04T01:00:00Z"), json!("2026-11-04T13:00:00Z"))
    );
}

#[tokio::test]
async fn a_schedule_that_cannot_work_is_refused_field_by_field_and_another_office_sees_nothing() {
    let o = office().await;
    let (ana, _, _) = o.people.clone();
    let (status, body) = o
        .app
        .api_post(
            &o.key,
            "/api/v1/schedules",
            json!({ "client_id": o.brand, "name": "Nights", "layers": [{
                "name": " ",
                "members": ["user:999", "robot:1"],
                "shift": { "unit": "months", "count": 1 },
                "start": "tomorrow",
                "windows": [{ "days": ["funday"], "start": "5pm", "end": "08:00" }],
            }] }),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<(String, String)> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap().to_string(), f["message"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        fields,
        [
            ("layers.1.name".into(), "this field is required".into()),
            ("layers.1.members".into(), "user 999 is not a sign-in of this organization".into()),
            ("layers.1.members".into(), "\"robot:1\" is not someone who can be on call (user:ID or contact:ID)".into()),
            ("layers.1.shift".into(), "\"months\" is not a shift length (hours, days, weeks)".into()),
            ("layers.1.start".into(), "\"tomorrow\" is not a local date and time like 2026-11-02T08:00".into()),
            ("layers.1.windows.1.days".into(), "\"funday\" is not a day (mon .. sun)".into()),
            ("layers.1.windows.1.start".into(), "\"5pm\" is not a time of day like 17:00".into()),
        ]
    );
    let (status, _) = o.get("/api/v1/schedules").await;
    assert_eq!(status, 200);
    assert_eq!(o.get("/api/v1/schedules").await.1, json!({ "schedules": [] }), "nothing half-made");

    let (status, body) =
        o.app.api_post(&o.key, "/api/v1/schedules", json!({ "client_id": o.brand, "name": "Nights" })).await;
    assert_eq!(status, 201, "{body}");
    let id = body["schedule"]["id"].as_i64().unwrap();
    assert_eq!(body["schedule"]["on_call_now"]["on_call"], json!([]), "no layers: nobody");
    let (status, body) =
        o.app.api_post(&o.key, "/api/v1/schedules", json!({ "client_id": o.brand, "name": "Nights" })).await;
    assert_eq!(
        (status, body["error"]["message"].as_str().unwrap()),
        (409, "this client already has a schedule named \"Nights\"")
    );

    for (query, field, message) in [
        ("on-call?at=yesterday", "at", "\"yesterday\" is not a time like 2026-11-03T22:00:00Z"),
        (
            "timeline?from=2026-11-01T00:00:00Z&to=2027-01-15T00:00:00Z",
            "to",
            "the end must come after the start, within 62 days",
        ),
    ] {
        let (status, body) = o.get(&format!("/api/v1/schedules/{id}/{query}")).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["error"]["fields"], json!([{ "field": field, "message": message }]));
    }
    for (override_body, field, message) in [
        (
            json!({ "start": "2026-11-04T13:00:00Z", "end": "2026-11-03T22:00:00Z", "action": "add", "who": ana }),
            "end",
            "the end must come after the start",
        ),
        (
            json!({ "start": "2026-11-03T22:00:00Z", "end": "2026-11-04T13:00:00Z", "action": "swap", "who": ana }),
            "action",
            "\"swap\" is not an override (replace, add, remove)",
        ),
        (
            json!({ "start": "2026-11-03T22:00:00Z", "end": "2026-11-04T13:00:00Z", "action": "remove" }),
            "who",
            "say who (user:ID or contact:ID)",
        ),
    ] {
        let (status, body) = o.app.api_post(&o.key, &format!("/api/v1/schedules/{id}/overrides"), override_body).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["fields"], json!([{ "field": field, "message": message }]));
    }

    // Another organization: its key finds no schedule, and cannot put our people on its own.
    let (org2, _) = o.app.org_with_admin("rival").await;
    let key2 = o.app.api_key(org2).await;
    let r = o.app.client().get(o.app.url(&format!("/api/v1/schedules/{id}"))).bearer_auth(&key2).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let (status, body) =
        o.app.api_post(&key2, "/api/v1/brands", json!({"name": "Rival", "time_zone": "America/Denver"})).await;
    assert_eq!(status, 201);
    let rival = body["brand"]["id"].as_i64().unwrap();
    let (status, body) = o
        .app
        .api_post(
            &key2,
            "/api/v1/schedules",
            json!({ "client_id": rival, "name": "Poach", "layers": [{ "name": "L", "members": [ana], "shift": { "unit": "days", "count": 1 }, "start": "2026-11-02T08:00" }] }),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"][0]["field"], "layers.1.members");
    let (status, _) =
        o.app.api_post(&key2, "/api/v1/schedules", json!({ "client_id": o.brand, "name": "Theirs" })).await;
    assert_eq!(status, 422, "another organization's client is no client of theirs");
}

#[tokio::test]
async fn a_persons_calendar_feed_lists_their_shifts_in_utc_until_the_office_revokes_it() {
    let o = office().await;
    let (ana, ben, cy) = o.people.clone();
    let (status, body) = o
        .app
        .api_post(
            &o.key,
            "/api/v1/schedules",
            json!({ "client_id": o.brand, "name": "After-hours technicians", "layers": [nights(&o.people)] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["schedule"]["id"].as_i64().unwrap();

    // Ben's own feed, and the schedule's.
    let (status, body) =
        o.app.api_post(&o.key, &format!("/api/v1/schedules/{id}/feeds"), json!({ "member": ben })).await;
    assert_eq!(status, 201, "{body}");
    let mine = body["url"].as_str().unwrap().to_string();
    assert!(mine.starts_with(&o.app.url("/calendar/")) && mine.ends_with(".ics"), "{mine}");
    let (_, body) = o.app.api_post(&o.key, &format!("/api/v1/schedules/{id}/feeds"), json!({})).await;
    let everyone = body["url"].as_str().unwrap().to_string();

    let r = reqwest::get(&mine).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/calendar; charset=utf-8");
    let ics = r.text().await.unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") && ics.ends_with("END:VCALENDAR\r\n"), "{ics}");
    assert!(ics.contains("X-WR-CALNAME:After-hours technicians: technician ben on call\r\n"), "{ics}");
    // His first shift: Tuesday 2026-11-03 17:00 EST to Wednesday 08:00, in UTC.
    let start = "2026-11-03T22:00:00Z".parse::<jiff::Timestamp>().unwrap().as_second();
    let ben_uid = ben.replace(':', "-");
    let first = format!(
        "BEGIN:VEVENT\r\nUID:oncall-{id}-{ben_uid}-{start}@127.0.0.1\r\nDTSTAMP:20261122T170000Z\r\n\
         DTSTART:20261103T220000Z\r\nDTEND:20261104T130000Z\r\nSUMMARY:On call: After-hours technicians\r\n\
         DESCRIPTION:Harbor Plumbing\\, After-hours technicians: technician ben is on\r\n  call.\r\n\
         TRANSP:OPAQUE\r\nEND:VEVENT\r\n"
    );
    assert!(ics.contains(&first), "{ics}");
    let uids: Vec<&str> = ics.lines().filter(|l| l.starts_with("UID:")).collect();
    let mut unique = uids.clone();
    unique.dedup();
    assert_eq!(uids.len(), unique.len(), "one event per shift");
    assert!(uids.iter().all(|u| u.contains(&format!("-{ben_uid}-"))), "only Ben's shifts: {uids:?}");
    // The schedule's feed names whoever is on.
    let all = reqwest::get(&everyone).await.unwrap().text().await.unwrap();
    for name in ["SUMMARY:technician ana on call", "SUMMARY:technician ben on call", "SUMMARY:Cy Relief on call"] {
        assert!(all.contains(name), "{name}: {all}");
    }
    // Polled again, the same events with the same UIDs.
    assert_eq!(reqwest::get(&mine).await.unwrap().text().await.unwrap(), ics);
    // Two weeks on (Dec 7, 03:00 UTC), the feed reaches back to Nov 7, 03:00 UTC, in the middle
    // of Ben's shift from Fri Nov 6, 5:00 PM (through Saturday, a weekend day, to 5:00 PM): it
    // keeps its own start, and so its UID, from one poll to the next.
    o.app.clock.advance(jiff::SignedDuration::from_hours(24 * 14 + 10));
    let night = "2026-11-06T22:00:00Z".parse::<jiff::Timestamp>().unwrap().as_second();
    let first_event = |ics: &str| {
        let at = ics.find("BEGIN:VEVENT").unwrap();
        ics[at..].lines().take(5).filter(|l| !l.starts_with("DTSTAMP")).collect::<Vec<_>>().join("\n")
    };
    let before = first_event(&reqwest::get(&mine).await.unwrap().text().await.unwrap());
    assert_eq!(
        before,
        format!(
            "BEGIN:VEVENT\nUID:oncall-{id}-{ben_uid}-{night}@127.0.0.1\nDTSTART:20261106T220000Z\nDTEND:20261107T220000Z"
        )
    );
    o.app.clock.advance(jiff::SignedDuration::from_hours(3));
    assert_eq!(first_event(&reqwest::get(&mine).await.unwrap().text().await.unwrap()), before);

    // Someone of another client cannot get a feed here; a revoked feed stops at once.
    let (status, body) =
        o.app.api_post(&o.key, &format!("/api/v1/schedules/{id}/feeds"), json!({ "member": "contact:999" })).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["error"]["fields"],
        json!([{ "field": "member", "message": "contact 999 is not one of this client's contacts" }])
    );
    let revoke = |path: String| {
        let o = &o;
        async move { json(o.app.client().delete(o.app.url(&path)).bearer_auth(&o.key).send().await.unwrap()).await }
    };
    // Ben's phone is lost: his feed stops, the schedule's goes on.
    let (_, body) = o.app.api_post(&o.key, &format!("/api/v1/schedules/{id}/feeds"), json!({ "member": ana })).await;
    let anas = body["url"].as_str().unwrap().to_string();
    assert_eq!(revoke(format!("/api/v1/schedules/{id}/feeds?member={ben}")).await, (200, json!({ "revoked": 1 })));
    let gone = reqwest::get(&mine).await.unwrap();
    assert_eq!(gone.status(), 404);
    assert_eq!(gone.text().await.unwrap(), "This calendar link isn't active.");
    assert_eq!(reqwest::get(&everyone).await.unwrap().status(), 200);
    assert_eq!(reqwest::get(&anas).await.unwrap().status(), 200);
    // The schedule's own feed alone, then all the rest.
    assert_eq!(revoke(format!("/api/v1/schedules/{id}/feeds?member=everyone")).await, (200, json!({ "revoked": 1 })));
    assert_eq!(reqwest::get(&everyone).await.unwrap().status(), 404);
    assert_eq!(reqwest::get(&anas).await.unwrap().status(), 200);
    assert_eq!(revoke(format!("/api/v1/schedules/{id}/feeds")).await, (200, json!({ "revoked": 1 })));
    assert_eq!(reqwest::get(&anas).await.unwrap().status(), 404);
    let (status, body) = revoke(format!("/api/v1/schedules/{id}/feeds?member=contact:999")).await;
    assert_eq!((status, body["error"]["fields"][0]["field"].clone()), (422, json!("member")));

    // A person's link to their own shifts stops the same way, and only theirs.
    let link = |m: String| {
        let o = &o;
        async move {
            let (_, body) =
                o.app.api_post(&o.key, &format!("/api/v1/schedules/{id}/people-links"), json!({ "member": m })).await;
            body["url"].as_str().unwrap().to_string()
        }
    };
    let (bens_page, cys_page) = (link(ben.clone()).await, link(cy.clone()).await);
    assert_eq!(reqwest::get(&bens_page).await.unwrap().status(), 200);
    assert_eq!(
        revoke(format!("/api/v1/schedules/{id}/people-links?member={ben}")).await,
        (200, json!({ "revoked": 1 }))
    );
    assert_eq!(reqwest::get(&bens_page).await.unwrap().status(), 404);
    assert_eq!(reqwest::get(&cys_page).await.unwrap().status(), 200);
    let (status, body) = revoke(format!("/api/v1/schedules/{id}/people-links")).await;
    assert_eq!(
        (status, body["error"]["fields"][0]["message"].clone()),
        (422, json!("name the person whose links to stop (user:ID or contact:ID)"))
    );
}

#[tokio::test]
async fn the_on_call_pages_show_who_is_on_and_an_override_made_there_is_in_effect_at_once() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let key = app.api_key(app.db_org_of_demo().await).await;
    let b = app.signed_in_demo().await;
    let (_, list) = json(app.client().get(app.url("/api/v1/schedules")).bearer_auth(&key).send().await.unwrap()).await;
    let s = &list["schedules"][0];
    let id = s["id"].as_i64().unwrap();
    let priya = s["people"].as_array().unwrap().iter().find(|p| p["name"] == "Priya Raman").unwrap()["member"]
        .as_str()
        .unwrap()
        .to_string();

    // Sunday 2026-11-22, noon in Boston: the weekend, Priya's turn until 5:00 PM.
    let (status, html) = b.get_text("/oncall").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!(r#"<a href="/oncall/{id}"><strong>Harbor on call</strong></a>"#)), "{html}");
    assert!(
        html.contains(
            "On call now: <strong>Priya Raman</strong> <span class=\"muted small\">until 5:00 PM Sun Nov 22</span>"
        ),
        "{html}"
    );
    assert!(!html.contains("Nobody on call"), "the office and the technicians cover the whole week: {html}");
    let gap_warning = "a schedule has a gap in the next 7 days";
    assert!(!b.get_text("/jobs").await.1.contains(gap_warning));
    let (status, html) = b.get_text(&format!("/oncall/{id}")).await;
    assert_eq!(status, 200);
    for shown in [
        r#"<span class="oncall-day-label">Sun Nov 22</span>"#,
        r#"<span class="oncall-day-label">Sat Dec 5</span>"#,
        "<strong>On-call technician instead of Dale Okoro</strong> <span class=\"muted\">5:00 PM Tue Nov 24 to 8:00 AM Wed Nov 25</span> · Dale&#39;s night off",
        "<strong>Nights and weekends</strong>: Priya Raman, Dale Okoro; daily shifts from 5:00 PM Mon Nov 9, 2026; on weekdays 5:00 PM-8:00 AM; weekends all day; Mon 12:00 AM-8:00 AM",
        "<p>No gaps.</p>",
    ] {
        assert!(html.contains(shown), "{shown}: {html}");
    }

    // Priya is at the dentist until 5:00 PM (local times, as the form's fields give them).
    let r = b
        .post_form(
            &format!("/oncall/{id}/overrides"),
            &[
                ("action", "remove"),
                ("who", &priya),
                ("from", ""),
                ("start", "2026-11-22T12:00"),
                ("end", "2026-11-22T17:00"),
                ("note", "Dentist"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/oncall/{id}?done=added"));
    let (_, html) = b.get_text(&format!("/oncall/{id}?done=added")).await;
    assert!(html.contains("Override saved: it is in effect now."), "{html}");
    assert!(html.contains("<strong>Priya Raman off (time off)</strong>"), "{html}");
    let (_, html) = b.get_text("/oncall").await;
    assert!(html.contains(r#"<span class="badge gap-badge">Nobody on call now</span>"#), "{html}");
    assert!(html.contains("Nobody on call from 12:00 PM Sun Nov 22 to 5:00 PM Sun Nov 22"), "{html}");
    // Every console page warns in the sidebar.
    assert!(b.get_text("/jobs").await.1.contains(gap_warning), "the sidebar warns of the gap");
    let (_, on) = json(
        app.client().get(app.url(&format!("/api/v1/schedules/{id}/on-call"))).bearer_auth(&key).send().await.unwrap(),
    )
    .await;
    assert_eq!(on["on_call"], json!([]), "the API sees the same at once");
    assert_eq!(on["until"], "2026-11-22T22:00:00Z");

    // A form that cannot be saved comes back with each reason beside its field.
    let r = b
        .post_form(
            &format!("/oncall/{id}/overrides"),
            &[("action", "add"), ("who", ""), ("from", ""), ("start", ""), ("end", "2026-11-22T10:00"), ("note", "")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Not saved: check the fields marked below; what you typed is kept."), "{html}");
    assert!(
        html.contains(r#"<span class="field-error" id="who-error">say who (user:ID or contact:ID)</span>"#),
        "{html}"
    );
    assert!(html.contains(r#"<span class="field-error" id="start-error">enter a date and time</span>"#), "{html}");
    assert!(html.contains(r#"name="end" value="2026-11-22T10:00""#), "what was typed stays: {html}");

    // Taken back: Priya again.
    let (_, s) =
        json(app.client().get(app.url(&format!("/api/v1/schedules/{id}"))).bearer_auth(&key).send().await.unwrap())
            .await;
    let ov = s["schedule"]["overrides"].as_array().unwrap().iter().find(|o| o["note"] == "Dentist").unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = b.post_form(&format!("/oncall/{id}/overrides/{ov}/remove"), &[]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text("/oncall").await;
    assert!(html.contains("On call now: <strong>Priya Raman</strong>"), "{html}");
    assert!(!html.contains(gap_warning), "the warning goes with the gap: {html}");
}

#[tokio::test]
async fn a_shift_offered_and_taken_changes_who_is_on_call_and_every_step_is_recorded() {
    let o = office().await;
    let (ana, ben, cy) = o.people.clone();
    let id = o.nights_schedule().await;
    // Ben's Tuesday night, 2026-11-24 17:00 EST to Wednesday 08:00.
    let night = ("2026-11-24T22:00:00Z", "2026-11-25T13:00:00Z");
    let offer = |from: &str| json!({ "from": from, "start": night.0, "end": night.1, "note": "Anniversary dinner" });
    let (status, body) = o.app.api_post(&o.key, &format!("/api/v1/schedules/{id}/swaps"), offer(&cy)).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["error"]["fields"],
        json!([{ "field": "from", "message": "they are not on call for all of that time: offer a stretch of their own shift" }])
    );
    let (status, body) = o
        .app
        .api_post(
            &o.key,
            &format!("/api/v1/schedules/{id}/swaps"),
            json!({ "from": ben, "start": "2026-11-03T22:00:00Z", "end": "2026-11-04T13:00:00Z" }),
        )
        .await;
    assert_eq!((status, body["error"]["fields"][0]["message"].clone()), (422, json!("that time is over")));
    let (status, body) = o.app.api_post(&o.key, &format!("/api/v1/schedules/{id}/swaps"), offer(&ben)).await;
    assert_eq!(status, 201, "{body}");
    let swap = body["swap"]["id"].as_i64().unwrap();
    assert_eq!(
        body["swap"],
        json!({ "id": swap, "start": night.0, "end": night.1, "from": ben, "status": "offered", "note": "Anniversary dinner",
                "history": [{ "action": "offered", "actor": "api", "at": "2026-11-22T17:00:00Z" }] })
    );

    let take = |who: &str, assign: bool| {
        let (app, key, who) = (&o.app, &o.key, who.to_string());
        async move {
            app.api_post(
                key,
                &format!("/api/v1/schedules/{id}/swaps/{swap}/take"),
                json!({ "who": who, "assign": assign }),
            )
            .await
        }
    };
    let withdraw =
        || async { o.app.api_post(&o.key, &format!("/api/v1/schedules/{id}/swaps/{swap}/withdraw"), json!({})).await };
    let (status, body) = take(&ben, false).await;
    assert_eq!((status, body["error"]["fields"][0]["message"].clone()), (422, json!("someone else has to take it")));

    // Ben cannot offer part of that night a second time: two people could both take it.
    let (status, body) = o
        .app
        .api_post(
            &o.key,
            &format!("/api/v1/schedules/{id}/swaps"),
            json!({ "from": ben, "start": "2026-11-25T01:00:00Z", "end": "2026-11-25T02:00:00Z" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["message"].clone()),
        (
            409,
            json!(
                "part of that time is offered already (Tue Nov 24, 5:00 PM to Wed Nov 25, 8:00 AM): withdraw that offer first, or let someone take it"
            )
        )
    );
    // While someone else covers part of the night, the offer cannot be taken: it would not
    // apply there. Once that override is taken back, it can.
    let (status, body) = o
        .app
        .api_post(
            &o.key,
            &format!("/api/v1/schedules/{id}/overrides"),
            json!({ "start": "2026-11-25T04:00:00Z", "end": "2026-11-25T05:00:00Z", "action": "replace", "from": ben, "who": cy }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let ov = body["override"]["id"].as_i64().unwrap();
    let (status, body) = take(&ana, false).await;
    assert_eq!(
        (status, body["error"]["message"].clone()),
        (
            409,
            json!(
                "the one who offered this is no longer on call for all of it (the schedule changed): they can withdraw it and offer again"
            )
        )
    );
    let r = o
        .app
        .client()
        .delete(o.app.url(&format!("/api/v1/schedules/{id}/overrides/{ov}")))
        .bearer_auth(&o.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    // Ana takes it: that night is hers, at once.
    o.app.clock.advance(jiff::SignedDuration::from_mins(5));
    let (status, body) = take(&ana, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["swap"]["status"].clone(), body["swap"]["to"].clone()), (json!("accepted"), json!(ana)));
    let (_, on) = o.get(&format!("/api/v1/schedules/{id}/on-call?at=2026-11-25T03:00:00Z")).await;
    assert_eq!(on["on_call"], json!([{ "member": ana, "name": "technician ana", "reason": "swap", "id": swap }]));
    let (status, body) = take(&cy, false).await;
    assert_eq!((status, body["error"]["message"].clone()), (409, json!("someone took this swap already")));

    // She gives it back: Ben's again, offered again; the office assigns it to Cy.
    let (status, body) = withdraw().await;
    assert_eq!((status, body["swap"]["status"].clone()), (200, json!("offered")));
    assert_eq!(o.at(id, "2026-11-25T03:00:00Z").await.0, vec!["technician ben".to_string()]);
    let (status, _) = take(&cy, true).await;
    assert_eq!(status, 200);
    assert_eq!(o.at(id, "2026-11-25T03:00:00Z").await.0, vec!["Cy Relief".to_string()]);
    withdraw().await;
    let (status, body) = withdraw().await;
    assert_eq!((status, body["swap"]["status"].clone()), (200, json!("withdrawn")));
    let (status, body) = withdraw().await;
    assert_eq!((status, body["error"]["message"].clone()), (409, json!("this swap was withdrawn already")));

    let (_, list) = o.get(&format!("/api/v1/schedules/{id}/swaps")).await;
    let steps: Vec<(String, Value)> = list["swaps"][0]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["member"].clone()))
        .collect();
    assert_eq!(
        steps,
        [
            ("offered".into(), Value::Null),
            ("taken".into(), json!(ana)),
            ("given_back".into(), json!(ana)),
            ("assigned".into(), json!(cy)),
            ("given_back".into(), json!(cy)),
            ("withdrawn".into(), Value::Null),
        ]
    );
    assert_eq!(list["swaps"][0]["history"][1]["at"], "2026-11-22T17:05:00Z");
    assert_eq!(o.at(id, "2026-11-25T03:00:00Z").await.0, vec!["technician ben".to_string()], "withdrawn: his again");
}

impl Office {
    /// Runs due work a few times, two seconds apart (texts from one number are paced).
    async fn run_engine(&self) {
        for _ in 0..4 {
            self.app.engine.tick().await.unwrap();
            self.app.clock.advance(jiff::SignedDuration::from_secs(2));
        }
    }

    fn at_time(&self, utc: &str) {
        self.app.clock.set(utc.parse().unwrap());
    }
}

#[tokio::test]
async fn whoever_comes_on_call_is_told_at_the_hand_off_by_the_schedule_as_it_is_then() {
    let o = office().await;
    let (ana, ben, _) = o.people.clone();
    let (status, body) = o
        .app
        .api_post(
            &o.key,
            "/api/v1/schedules",
            json!({ "client_id": o.brand, "name": "Nights", "layers": [nights(&o.people)], "handoff_notices": true }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["schedule"]["handoff_notices"], true);
    let id = body["schedule"]["id"].as_i64().unwrap();
    // Sunday noon: Ben's turn until 5:00 PM. Nothing is said before the hand-off.
    o.run_engine().await;
    assert!(o.app.sms.sent_to("+16175550149").is_empty());

    // Sunday 5:00 PM EST: Cy comes on, until the weekend ends at midnight; Ben is told he is off.
    o.at_time("2026-11-22T22:00:00Z");
    o.run_engine().await;
    let text = o.app.sms.expect_sms("+16175550149", Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        text.body,
        "Harbor Plumbing: you are on call for Nights from 5:00 PM today until 12:00 AM tomorrow, Mon Nov 23."
    );
    let mail = o.app.mail.expect_mail("ben@harbor.example", Duration::from_secs(5)).await.unwrap();
    assert_eq!(mail.subject, "Harbor Plumbing: your on-call time ended");
    assert_eq!(
        mail.text.trim_end(),
        "Harbor Plumbing: your on-call time for Nights ended at 5:00 PM; Cy Relief is on call now."
    );

    // Midnight: the weekend's window ends and nobody covers until Monday 5:00 PM (a gap).
    o.at_time("2026-11-23T05:00:00Z");
    o.run_engine().await;
    let text = o.app.sms.expect_sms("+16175550149", Duration::from_secs(5)).await.unwrap();
    assert_eq!(text.body, "Harbor Plumbing: your on-call time for Nights ended at 12:00 AM; nobody is on call now.");

    // Monday 5:00 PM would be Ana's; an override made at noon gives it to Ben, and the
    // hand-off already waiting tells Ben, not Ana.
    o.at_time("2026-11-23T17:00:00Z");
    let (status, body) = o
        .app
        .api_post(
            &o.key,
            &format!("/api/v1/schedules/{id}/overrides"),
            json!({ "start": "2026-11-23T22:00:00Z", "end": "2026-11-24T13:00:00Z", "action": "replace", "from": ana, "who": ben }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    o.run_engine().await;
    o.at_time("2026-11-23T22:00:00Z");
    o.run_engine().await;
    let mail = o.app.mail.expect_mail("ben@harbor.example", Duration::from_secs(5)).await.unwrap();
    assert_eq!(mail.subject, "Harbor Plumbing: you are on call");
    assert_eq!(
        mail.text.trim_end(),
        "Harbor Plumbing: you are on call for Nights from 5:00 PM today until 8:00 AM tomorrow, Tue Nov 24."
    );
    o.app.mail.expect_mail("ana@harbor.example", Duration::from_millis(300)).await.unwrap_err();

    // Turned off: the next hand-off passes without a word.
    let r = o
        .app
        .client()
        .patch(o.app.url(&format!("/api/v1/schedules/{id}")))
        .bearer_auth(&o.key)
        .json(&json!({ "handoff_notices": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    o.run_engine().await;
    o.at_time("2026-11-24T13:00:00Z");
    o.run_engine().await;
    o.app.mail.expect_mail("ben@harbor.example", Duration::from_millis(300)).await.unwrap_err();
}

#[tokio::test]
async fn people_offer_and_take_shifts_on_their_own_page_without_an_account() {
    let o = office().await;
    let (ana, ben, cy) = o.people.clone();
    let id = o.nights_schedule().await;
    let link = |member: String| {
        let (app, key) = (&o.app, &o.key);
        async move {
            let (status, body) =
                app.api_post(key, &format!("/api/v1/schedules/{id}/people-links"), json!({ "member": member })).await;
            assert_eq!(status, 201, "{body}");
            body["url"].as_str().unwrap().to_string()
        }
    };
    let (ben_page, ana_page, cy_page) = (link(ben.clone()).await, link(ana.clone()).await, link(cy.clone()).await);
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let html = browser.get(&ben_page).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("<h1>Nights</h1>") && html.contains("Hello technician ben. Times are in America/New_York."),
        "{html}"
    );
    // His turn now (since 5:00 PM yesterday, until 5:00 PM), and Tuesday night.
    let now_on = "Sat Nov 21, 5:00 PM to Sun Nov 22, 5:00 PM";
    assert!(html.contains(&format!("<strong>{now_on}</strong>")), "{html}");
    let tuesday = "Tue Nov 24, 5:00 PM to Wed Nov 25, 8:00 AM";
    assert!(html.contains(&format!("<strong>{tuesday}</strong>")), "{html}");

    // He offers Tuesday night.
    let r = browser
        .post(format!("{ben_page}/offer"))
        .form(&[("start", "2026-11-24T22:00:00Z"), ("end", "2026-11-25T13:00:00Z")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let html = browser.get(format!("{ben_page}?done=offered")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Offered: the others see it now. It stays yours until someone takes it."), "{html}");
    assert!(html.contains(&format!("<strong>{tuesday}</strong> <span class=\"badge\">Offered</span>")), "{html}");

    // He offers the turn he is on now, as his page has it; ten minutes later it is still
    // marked offered (the page once began a shift under way at the moment it was shown).
    let r = browser
        .post(format!("{ben_page}/offer"))
        .form(&[("start", "2026-11-21T22:00:00Z"), ("end", "2026-11-22T22:00:00Z")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    o.app.clock.advance(jiff::SignedDuration::from_mins(10));
    let html = browser.get(&ben_page).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("<strong>{now_on}</strong> <span class=\"badge\">Offered</span>")), "{html}");

    // Ana sees it among the offers and takes it: she is the one called that night.
    let html = browser.get(&ana_page).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains(&format!("<strong>{tuesday}</strong> <span class=\"muted\">from technician ben</span>")),
        "{html}"
    );
    let (_, swaps) = o.get(&format!("/api/v1/schedules/{id}/swaps")).await;
    let swap = swaps["swaps"][0]["id"].as_i64().unwrap();
    let r = browser.post(format!("{ana_page}/swaps/{swap}/take")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(o.at(id, "2026-11-25T03:00:00Z").await.0, vec!["technician ana".to_string()]);
    let html = browser.get(&ana_page).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Shifts you took") && html.contains(&format!("<strong>{tuesday}</strong>")), "{html}");
    let html = browser.get(&ben_page).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains(tuesday), "no longer his: {html}");
    let (_, swaps) = o.get(&format!("/api/v1/schedules/{id}/swaps")).await;
    assert_eq!(swaps["swaps"][0]["history"][1]["actor"], "link:technician ana");

    // Cy was a moment too late: the page says so.
    let r = browser.post(format!("{cy_page}/swaps/{swap}/take")).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("Not done: someone took this swap already."));
    // Ben cannot give back what Ana took; a link that does not work is one plain page.
    let r = browser.post(format!("{ben_page}/swaps/{swap}/withdraw")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = browser.get(o.app.url("/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("This link isn't active"));
}

#[tokio::test]
async fn the_office_makes_a_schedule_and_edits_its_layers_in_the_console() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let org = app.db_org_of_demo().await;
    let b = app.signed_in_demo().await;
    let brands = switchboard_core::tenancy::list_brands(&app.db, org).await.unwrap();
    let harbor = brands.iter().find(|x| x.name.starts_with("Harbor")).unwrap().id.0;
    let contacts =
        switchboard_core::desk::contacts::list(&app.db, org, switchboard_core::ids::BrandId(harbor)).await.unwrap();
    let contact = |name: &str| format!("contact:{}", contacts.iter().find(|c| c.name == name).unwrap().id);

    // A name the client already uses is refused beside the field.
    let r = b.post_form("/oncall", &[("client", &harbor.to_string()), ("name", "Harbor on call")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains(
        r#"<span class="field-error">this client already has a schedule named &#34;Harbor on call&#34;</span>"#
    ));
    let r = b.post_form("/oncall", &[("client", &harbor.to_string()), ("name", "Weekend plumbers")]).await;
    assert_eq!(r.status(), 303);
    let edit = r.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = edit.trim_start_matches("/oncall/").trim_end_matches("/layers").parse().unwrap();
    let (status, html) = b.get_text(&edit).await;
    assert_eq!(status, 200);
    assert!(html.contains("<legend>New layer</legend>"), "{html}");

    let (priya, dale) = (contact("Priya Raman"), contact("Dale Okoro"));
    let mut form: Vec<(&str, &str)> = vec![
        ("l1_name", ""),
        ("l1_m1", &priya),
        ("l1_m2", &dale),
        ("l1_unit", "days"),
        ("l1_count", "1"),
        ("l1_start", "2026-11-21T00:00"),
        ("l1_w1_days", "sat"),
        ("l1_w1_days", "sun"),
        ("l1_w1_start", "00:00"),
        ("l1_w1_end", "00:00"),
        ("l1_w2_start", ""),
        ("l1_w2_end", ""),
    ];
    // No name: refused beside it, everything typed kept.
    let r = b.post_form(&edit, &form).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<span class="field-error">this field is required</span>"#), "{html}");
    assert!(html.contains(r#"name="l1_start" value="2026-11-21T00:00""#), "{html}");
    assert!(html.contains(&format!(r#"<option value="{dale}" selected>2. Dale Okoro</option>"#)), "{html}");
    form[0] = ("l1_name", "Weekends");
    let r = b.post_form(&edit, &form).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/oncall/{id}?done=layers"));
    let (_, html) = b.get_text(&format!("/oncall/{id}?done=layers")).await;
    assert!(html.contains("Layers saved: in effect now."), "{html}");
    assert!(
        html.contains("<strong>Weekends</strong>: Priya Raman, Dale Okoro; daily shifts from 12:00 AM Sat Nov 21, 2026; on weekends all day"),
        "{html}"
    );
    // Sunday noon, the test clock: the second day, Dale's.
    assert!(html.contains("On call: <strong>Dale Okoro</strong>"), "{html}");
    // The layer reads back into the form as saved, with a blank row to add another.
    let (_, html) = b.get_text(&edit).await;
    assert!(
        html.contains("<legend>Layer 1: Weekends</legend>") && html.contains("<legend>New layer</legend>"),
        "{html}"
    );
    assert!(html.contains(r#"name="l1_w1_days" value="sat" checked"#), "{html}");
}

#[tokio::test]
async fn a_signed_in_person_offers_their_own_shift_from_the_console() {
    let o = office().await;
    let op = o.app.user(o.org, "olga@harbor.example", "operator").await;
    let olga = format!("user:{}", op.id.0);
    let ben = o.people.1.clone();
    let layer = json!({ "name": "Nights", "members": [olga, ben], "shift": { "unit": "days", "count": 1 }, "start": "2026-11-22T17:00" });
    let (_, body) = o
        .app
        .api_post(
            &o.key,
            "/api/v1/schedules",
            json!({ "client_id": o.brand, "name": "Desk nights", "layers": [layer] }),
        )
        .await;
    let id = body["schedule"]["id"].as_i64().unwrap();
    let b = o.app.signed_in(&op.email).await;
    let (_, html) = b.get_text(&format!("/oncall/{id}")).await;
    assert!(html.contains(&format!(r#"<a href="/oncall/{id}/mine">Your shifts</a>"#)), "{html}");
    let (status, html) = b.get_text(&format!("/oncall/{id}/mine")).await;
    assert_eq!(status, 200);
    let first = "Sun Nov 22, 5:00 PM to Mon Nov 23, 5:00 PM";
    assert!(html.contains(&format!("<strong>{first}</strong>")), "{html}");
    let r = b
        .post_form(
            &format!("/oncall/{id}/mine/offer"),
            &[("start", "2026-11-22T22:00:00Z"), ("end", "2026-11-23T22:00:00Z")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/oncall/{id}/mine?done=offered"));
    let (_, swaps) = o.get(&format!("/api/v1/schedules/{id}/swaps")).await;
    assert_eq!(swaps["swaps"][0]["from"], olga);
    assert_eq!(swaps["swaps"][0]["history"][0]["actor"], "user:operator olga");
    // A stretch that ends before it starts is refused on the page, with the reason.
    let r = b
        .post_form(
            &format!("/oncall/{id}/mine/offer"),
            &[("start", "2026-11-22T22:00:00Z"), ("end", "2026-11-22T21:00:00Z")],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("Not done: the end must come after the start."));
    // Offering part of it again is refused too: two people could otherwise both take it.
    let r = b
        .post_form(
            &format!("/oncall/{id}/mine/offer"),
            &[("start", "2026-11-23T03:00:00Z"), ("end", "2026-11-23T05:00:00Z")],
        )
        .await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            "Not done: part of that time is offered already (Sun Nov 22, 5:00 PM to Mon Nov 23, 5:00 PM): withdraw that offer first, or let someone take it."
        ),
        "{html}"
    );
    let (_, swaps) = o.get(&format!("/api/v1/schedules/{id}/swaps")).await;
    assert_eq!(swaps["swaps"].as_array().unwrap().len(), 1);

    // The office gives the offered night to Ben from the schedule's page.
    let swap = swaps["swaps"][0]["id"].as_i64().unwrap();
    let (_, html) = b.get_text(&format!("/oncall/{id}")).await;
    assert!(html.contains("<strong>operator olga offers 5:00 PM Sun Nov 22 to 5:00 PM Mon Nov 23</strong>"), "{html}");
    let r = b.post_form(&format!("/oncall/{id}/swaps/{swap}/assign"), &[("who", &ben)]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text(&format!("/oncall/{id}?done=swap")).await;
    assert!(html.contains("Swap saved: in effect now."), "{html}");
    assert!(
        html.contains(
            "<strong>technician ben took operator olga&#39;s 5:00 PM Sun Nov 22 to 5:00 PM Mon Nov 23</strong>"
        ),
        "{html}"
    );
    assert_eq!(o.at(id, "2026-11-23T03:00:00Z").await.0, vec!["technician ben".to_string()]);
    let (_, swaps) = o.get(&format!("/api/v1/schedules/{id}/swaps")).await;
    assert_eq!(swaps["swaps"][0]["history"][1]["action"], "assigned");
    let r = b.post_form(&format!("/oncall/{id}/swaps/{swap}/assign"), &[("who", &o.people.2)]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("Not done: someone took this swap already."));
}

#[tokio::test]
async fn the_office_makes_and_stops_private_links_and_turns_hand_off_notices_on_from_the_schedule_page() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let key = app.api_key(app.db_org_of_demo().await).await;
    let b = app.signed_in_demo().await;
    let (_, list) = json(app.client().get(app.url("/api/v1/schedules")).bearer_auth(&key).send().await.unwrap()).await;
    let s = &list["schedules"][0];
    let id = s["id"].as_i64().unwrap();
    let priya = s["people"].as_array().unwrap().iter().find(|p| p["name"] == "Priya Raman").unwrap()["member"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, html) = b.get_text(&format!("/oncall/{id}")).await;
    assert!(html.contains("<th scope=\"row\">Priya Raman</th>"), "{html}");
    assert!(
        !html.contains("Stop<span class=\"visually-hidden\"> calendar links for Priya Raman"),
        "no links yet: {html}"
    );

    // A calendar link for Priya: shown once, on the page, and it works.
    let r = b.post_form(&format!("/oncall/{id}/links"), &[("kind", "feed"), ("who", &priya)]).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("<strong>Calendar link for Priya Raman</strong>, shown only now"), "{html}");
    let start = html.find(&app.url("/calendar/")).expect("the link is shown");
    let feed = html[start..html[start..].find('"').unwrap() + start].to_string();
    let ics = reqwest::get(&feed).await.unwrap().text().await.unwrap();
    assert!(ics.contains("X-WR-CALNAME:Harbor on call: Priya Raman on call\r\n"), "{ics}");
    // Her own page, the same way.
    let r = b.post_form(&format!("/oncall/{id}/links"), &[("kind", "page"), ("who", &priya)]).await;
    let html = r.text().await.unwrap();
    assert!(html.contains("<strong>Link to their own shifts for Priya Raman</strong>, shown only now"), "{html}");
    let start = html.find(&app.url("/s/")).expect("the link is shown");
    let page = html[start..html[start..].find('"').unwrap() + start].to_string();
    assert_eq!(reqwest::get(&page).await.unwrap().status(), 200);
    let (_, html) = b.get_text(&format!("/oncall/{id}")).await;
    assert!(!html.contains("shown only now"), "a link is shown only once: {html}");
    assert!(html.contains("1 working, made Sun Nov 22"), "{html}");

    // Her phone is lost: her calendar link stops, her page link still works until stopped too.
    let r = b.post_form(&format!("/oncall/{id}/links/stop"), &[("kind", "feed"), ("who", &priya)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/oncall/{id}?done=stopped#links-title"));
    assert_eq!(reqwest::get(&feed).await.unwrap().status(), 404);
    assert_eq!(reqwest::get(&page).await.unwrap().status(), 200);
    let r = b.post_form(&format!("/oncall/{id}/links/stop"), &[("kind", "page"), ("who", &priya)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(reqwest::get(&page).await.unwrap().status(), 404);
    let (_, html) = b.get_text(&format!("/oncall/{id}?done=stopped")).await;
    assert!(html.contains("Those links stopped working."), "{html}");

    // Hand-off notices: off in the demo, turned on here, and the API sees it.
    assert!(html.contains("Hand-off notices are <strong>off</strong>"), "{html}");
    let r = b.post_form(&format!("/oncall/{id}/handoff"), &[("notices", "on")]).await;
    assert_eq!(r.headers()["location"], format!("/oncall/{id}?done=notices_on"));
    let (_, html) = b.get_text(&format!("/oncall/{id}?done=notices_on")).await;
    assert!(
        html.contains("Hand-off notices on: whoever comes on call is told at each hand-off, and whoever goes off.")
    );
    assert!(html.contains("Hand-off notices are <strong>on</strong>"), "{html}");
    let (_, one) =
        json(app.client().get(app.url(&format!("/api/v1/schedules/{id}"))).bearer_auth(&key).send().await.unwrap())
            .await;
    assert_eq!(one["schedule"]["handoff_notices"], true);

    // Two people on call at once are drawn one above the other, not on top of each other:
    // Dale is added to Priya's Sunday afternoon.
    let dale = s["people"].as_array().unwrap().iter().find(|p| p["name"] == "Dale Okoro").unwrap()["member"]
        .as_str()
        .unwrap()
        .to_string();
    let r = b
        .post_form(
            &format!("/oncall/{id}/overrides"),
            &[
                ("action", "add"),
                ("who", &dale),
                ("from", ""),
                ("start", "2026-11-22T13:00"),
                ("end", "2026-11-22T15:00"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text(&format!("/oncall/{id}")).await;
    let day = &html[html.find(r#"<span class="oncall-day-label">Sun Nov 22</span>"#).unwrap()..];
    let day = &day[..day.find("</li>").unwrap()];
    assert!(day.contains(r#"style="height: 56px""#), "two lanes: {day}");
    assert!(day.contains(r#"title="Dale Okoro, 1:00 PM-3:00 PM (override)""#), "{day}");
    let dales = &day[day.find("Dale Okoro, 1:00 PM").unwrap() - 200..];
    assert!(dales.contains("top: 28px;"), "Dale's bar is in the second lane: {day}");
}
