//! Desk messages survive `kill -9` (issue 13): the real binary is killed at random points while
//! operators take messages (over the API, each with an Idempotency-Key, retried after a restart
//! when no answer came) and while their deliveries go out by email, text, page (SNPP) and fax.
//! At the end every message was taken once, every delivery finished, every text reached the
//! provider once, every email and fax carries one Message-ID however often a retry sent it, and
//! a page was sent again only when its item ran again (SNPP has no way to ask whether the
//! paging server took it).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_standins::smtp::SmtpSink;
use switchboard_standins::snpp::SnppStandin;
use switchboard_standins::twilio::TwilioStandin;

use crate::cli::{ServerProcess, start_server_with_env, terminate};
use crate::helpers::{FreshDb, json};

const CLIENT: &str = "+13125550100";
const OFFICE_CELL: &str = "+13125550161";
const OFFICE_EMAIL: &str = "office@imaginary.example";
const PAGER: &str = "3125550177";
const FAX_TO: &str = "13125550199@fax.gateway.example";
const MESSAGES: usize = 24;
const KILLS: usize = 6;

/// A small xorshift generator: the seed is printed, and `CRASH_SEED` replays a run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// What message `i`'s caller said: found again in every text, email, page and fax.
fn problem(i: usize) -> String {
    format!("Drip {i:02} in the hallway")
}

fn take_body(brand: i64, i: usize) -> Value {
    json!({
        "client_id": brand, "caller_type": "caller", "urgent": false,
        "answers": {
            "caller_name": "Paula Mendes", "callback_number": "(312) 555-0199",
            "service_address": "12 Wacker Dr", "what_is_wrong": problem(i), "best_time_to_call": "Evening",
        },
    })
}

struct Harness {
    fresh: FreshDb,
    db: switchboard_core::db::Db,
    env: Vec<(&'static str, String)>,
    listen: String,
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Harness {
    fn start(&self) -> ServerProcess {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        start_server_with_env(&["--database", &self.fresh.url, "--listen", &self.listen], &env).0
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.key);
        if let Some(b) = body {
            r = r.json(&b);
        }
        json(r.send().await.unwrap()).await
    }

    /// Takes message `i` with its own key; `None` when no answer came (the process died).
    fn take(&self, brand: i64, i: usize) -> tokio::task::JoinHandle<Option<i64>> {
        let r = self
            .http
            .post(format!("{}/api/v1/desk/messages", self.base))
            .bearer_auth(&self.key)
            .header("Idempotency-Key", format!("take-{i}"))
            .json(&take_body(brand, i));
        tokio::spawn(async move {
            let resp = r.send().await.ok()?;
            let body: Value = resp.json().await.ok()?;
            body["message"]["id"].as_i64()
        })
    }

    async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(self.db.pool()).await.unwrap().0
    }

    /// Waits until no work is left, retries included (their backoff is cut short: they would
    /// run anyway, later).
    async fn quiet(&self, sms: &TwilioStandin) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            // The server may hold the write lock: then the next round tries again.
            let _ = sqlx::query("update work_items set due_at = $1 where status = 'pending' and due_at > $1")
                .bind(now_ms())
                .execute(self.db.pool())
                .await;
            if self.scalar("select count(*) from work_items where status in ('pending', 'running')").await == 0 {
                break;
            }
            if Instant::now() >= deadline {
                let left: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
                    "select kind, status, attempts, last_error from work_items where status in ('pending', 'running') limit 20",
                )
                .fetch_all(self.db.pool())
                .await
                .unwrap_or_default();
                panic!("work still due after 90 s: {left:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        sms.settle(Duration::from_secs(20)).await.unwrap();
    }
}

#[tokio::test]
async fn messages_taken_and_delivered_through_kills_are_taken_once_and_delivered_once_each_way() {
    switchboard::app::install_crypto_provider();
    let seed = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| now_ms() as u64 | 1);
    eprintln!("desk crash test: CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let fresh = FreshDb::new().await;
    let sms = TwilioStandin::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    // The provider takes each text, then answers 120 ms later: a kill in that window leaves one
    // the app does not know it sent.
    sms.set_latency(Duration::from_millis(120));
    let mail = SmtpSink::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let snpp = SnppStandin::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let db = switchboard_core::db::Db::connect(&fresh.url).await.unwrap();
    db.migrate().await.unwrap();
    let clock = switchboard_core::clock::SystemClock;
    let org = switchboard_core::tenancy::create_org(&db, &clock, "crash", "Crash Test").await.unwrap();
    let input = switchboard_core::tenancy::BrandInput {
        name: "Imaginary Plumbing".into(),
        time_zone: "America/Chicago".into(),
        sms_number: Some(CLIENT.into()),
        ..Default::default()
    };
    let brand = switchboard_core::tenancy::create_brand(&db, &clock, org.id, &input).await.unwrap().id.0;
    let key = switchboard_core::auth::create_api_key(&db, &clock, org.id, "crash").await.unwrap().0;
    let listen = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
    let base = format!("http://{listen}");
    sms.set_sms_webhook(format!("{base}/webhooks/twilio/sms"));
    let env = vec![
        ("TWILIO_BASE_URL", sms.base_url()),
        ("TWILIO_ACCOUNT_SID", sms.account_sid().to_string()),
        ("TWILIO_AUTH_TOKEN", sms.auth_token().to_string()),
        ("SWITCHBOARD_SMTP_URL", mail.url()),
        ("SWITCHBOARD_SNPP_URL", snpp.url()),
        ("SWITCHBOARD_FAX_GATEWAY", "{number}@fax.gateway.example".to_string()),
        ("SWITCHBOARD_SMS_INTERVAL_MS", "0".to_string()),
        ("SWITCHBOARD_ENGINE_LEASE_SECS", "5".to_string()),
        ("SWITCHBOARD_PUBLIC_URL", base.clone()),
    ];
    let h = Harness { fresh, db, env, listen, base, key, http: reqwest::Client::new() };

    // --- The client: every routine message by email and text to the office, paged to the
    // dispatcher and faxed to the records room. -----------------------------------------------
    let mut server = h.start();
    let (status, body) = h
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/brands/{brand}/protocol/template"),
            Some(json!({ "template": "hvac_plumbing" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut contacts = BTreeMap::new();
    for (name, methods) in [
        ("Office", json!([{ "kind": "email", "value": OFFICE_EMAIL }, { "kind": "cell", "value": OFFICE_CELL }])),
        ("Dispatcher", json!([{ "kind": "pager", "value": PAGER }])),
        ("Records", json!([{ "kind": "fax", "value": "(312) 555-0199" }])),
    ] {
        let (_, listed) = h.call(reqwest::Method::GET, &format!("/api/v1/brands/{brand}/contacts"), None).await;
        let found = listed["contacts"].as_array().unwrap().iter().find(|c| c["name"] == name).map(|c| c["id"].clone());
        let contact = json!({ "name": name, "methods": methods });
        let (status, body) = match found {
            Some(id) => {
                h.call(reqwest::Method::PUT, &format!("/api/v1/brands/{brand}/contacts/{id}"), Some(contact)).await
            }
            None => h.call(reqwest::Method::POST, &format!("/api/v1/brands/{brand}/contacts"), Some(contact)).await,
        };
        assert!(status == 200 || status == 201, "{body}");
        contacts.insert(name, body["contact"]["id"].as_i64().unwrap());
    }
    let (_, got) = h.call(reqwest::Method::GET, &format!("/api/v1/brands/{brand}/protocol"), None).await;
    let mut protocol = got["protocol"].clone();
    protocol["caller_types"][0]["deliveries"] = json!([
        { "urgent": false, "when": "always", "method": "email", "contacts": [contacts["Office"]] },
        { "urgent": false, "when": "always", "method": "text", "contacts": [contacts["Office"]] },
        { "urgent": false, "when": "always", "method": "pager", "contacts": [contacts["Dispatcher"]] },
        { "urgent": false, "when": "always", "method": "fax", "contacts": [contacts["Records"]] },
    ]);
    let edit = json!({
        "answer_phrase": protocol["answer_phrase"], "account_notes": protocol["account_notes"],
        "caller_types": protocol["caller_types"], "version": protocol["version"],
    });
    let (status, body) = h.call(reqwest::Method::PUT, &format!("/api/v1/brands/{brand}/protocol"), Some(edit)).await;
    assert_eq!(status, 200, "{body}");

    // --- Take messages and kill -9 at random points, restart, again. ------------------------
    let mut answered: BTreeMap<usize, i64> = BTreeMap::new();
    let mut next = 0;
    let mut mid_work = 0;
    let mut pages_cut = 0; // pages being sent when a kill came
    for cycle in 0..KILLS {
        let cycle_start = now_ms();
        if cycle > 0 {
            server = h.start();
        }
        // Messages still without an answer are sent again with their keys, then new ones.
        let unanswered: Vec<usize> = (0..next).filter(|i| !answered.contains_key(i)).collect();
        let fresh_ones: Vec<usize> = (next..(next + MESSAGES / KILLS).min(MESSAGES)).collect();
        next += fresh_ones.len();
        let mut takes = Vec::new();
        for i in unanswered.into_iter().chain(fresh_ones) {
            takes.push((i, h.take(brand, i)));
            tokio::time::sleep(Duration::from_millis(rng.below(40))).await;
        }
        let wait = Duration::from_millis(rng.below(1_200));
        if cycle % 2 == 1 {
            // Every other kill lands as soon as deliveries are under way.
            let until = Instant::now() + wait;
            while Instant::now() < until
                && h.scalar("select count(*) from work_items where status = 'running'").await == 0
            {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        } else {
            tokio::time::sleep(wait).await;
        }
        server.0.kill().unwrap();
        server.0.wait().unwrap();
        for (i, task) in takes {
            if let Ok(Some(id)) = task.await {
                answered.insert(i, id);
            }
        }
        let running = h.scalar("select count(*) from work_items where status = 'running'").await;
        let paging = h
            .scalar(&format!(
                "select count(*) from work_items where status = 'running' and kind = 'desk.page' and started_at >= {cycle_start}"
            ))
            .await;
        pages_cut += paging;
        if running > 0 {
            mid_work += 1;
        }
        eprintln!("cycle {cycle}: killed after {} ms with {running} items running, {paging} pages", wait.as_millis());
    }

    // --- Then the operators' retries, and everything runs to the end. ------------------------
    let mut server = h.start();
    for i in 0..MESSAGES {
        if answered.contains_key(&i) {
            continue;
        }
        // As a client does with its key: again after an error on our side.
        let mut last = Value::Null;
        for _ in 0..5 {
            let r = h
                .http
                .post(format!("{}/api/v1/desk/messages", h.base))
                .bearer_auth(&h.key)
                .header("Idempotency-Key", format!("take-{i}"))
                .json(&take_body(brand, i))
                .send()
                .await
                .unwrap();
            let (status, body) = json(r).await;
            if status == 201 {
                answered.insert(i, body["message"]["id"].as_i64().unwrap());
                break;
            }
            assert!(status >= 500, "message {i} sent again after the restart: {status} {body}");
            last = body;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert!(answered.contains_key(&i), "message {i} never taken after the restart: {last}");
    }
    h.quiet(&sms).await;

    // --- What happened. ------------------------------------------------------------------------
    let taken = h.scalar("select count(*) from desk_messages").await;
    assert_eq!(taken, MESSAGES as i64, "each message taken once, however often its take was sent");
    let ids: BTreeSet<i64> = answered.values().copied().collect();
    assert_eq!(ids.len(), MESSAGES, "every key answered with its own message");
    let dead = h.scalar("select count(*) from work_items where status = 'dead'").await;
    assert_eq!(dead, 0, "no work item gave up");
    let unfinished: Vec<(i64, String, String)> = sqlx::query_as(
        "select message_id, method, status from desk_deliveries where status not in ('sent') and method in ('pager')",
    )
    .fetch_all(h.db.pool())
    .await
    .unwrap();
    assert!(unfinished.is_empty(), "pages not sent: {unfinished:?}");

    let texts = sms.sent_to(OFFICE_CELL);
    let mails = mail.mails();
    let pages = snpp.pages();
    let mut page_duplicates = 0;
    let mut email_resends = 0;
    for i in 0..MESSAGES {
        let marker = problem(i);
        let texted = texts.iter().filter(|t| t.body.contains(&marker)).count();
        assert_eq!(texted, 1, "message {i}: texted {texted} times");
        for (to, what) in [(OFFICE_EMAIL, "email"), (FAX_TO, "fax")] {
            let copies: Vec<&switchboard_standins::smtp::SunkMail> = mails
                .iter()
                .filter(|m| m.rcpt_to.iter().any(|r| r == to))
                .filter(|m| {
                    m.text.contains(&marker)
                        || m.attachments.iter().any(|(_, _, pdf)| {
                            switchboard_core::pdf::lines_of(pdf).unwrap_or_default().iter().any(|l| l.contains(&marker))
                        })
                })
                .collect();
            assert!(!copies.is_empty(), "message {i}: no {what}");
            let ids: BTreeSet<Option<String>> = copies.iter().map(|m| m.message_id.clone()).collect();
            assert_eq!(ids.len(), 1, "message {i}: every copy of its {what} has one Message-ID: {ids:?}");
            email_resends += copies.len() - 1;
        }
        let paged = pages.iter().filter(|p| p.pager_id == PAGER && p.text.contains(&marker)).count();
        assert!(paged >= 1, "message {i}: never paged");
        page_duplicates += paged - 1;
    }
    // Every delivery of every message finished, as the API tells it. A text the provider took
    // whose carrier reports came while the process was down stays "sending" (the provider does
    // not send them again): it carries the provider's id, and it reached the phone above.
    let mut reports_missed = 0;
    for id in &ids {
        let (_, m) = h.call(reqwest::Method::GET, &format!("/api/v1/desk/messages/{id}"), None).await;
        let deliveries = m["message"]["deliveries"].as_array().unwrap().clone();
        assert_eq!(deliveries.len(), 4, "message {id}: {deliveries:?}");
        for d in &deliveries {
            let state = d["state"].as_str().unwrap();
            if state == "sending" && d["method"] == "text" {
                let outbound = d["outbound_message_id"].as_i64().unwrap();
                let (_, sent) = h.call(reqwest::Method::GET, &format!("/api/v1/messages/{outbound}"), None).await;
                assert!(sent["message"]["provider_id"].is_string(), "message {id}: a text never handed over: {sent}");
                reports_missed += 1;
                continue;
            }
            assert!(state == "sent" || state == "delivered", "message {id}: {deliveries:?}");
        }
    }
    assert!(terminate(&mut server).success());
    eprintln!(
        "desk crash test: {KILLS} kills ({mid_work} mid-work, {pages_cut} pages being sent); {} texts, {} mails \
         ({email_resends} sent again with their Message-ID), {} pages ({page_duplicates} again), \
         {reports_missed} texts whose carrier reports came while down",
        texts.len(),
        mails.len(),
        pages.len()
    );
    assert!(mid_work > 0, "no kill landed while work was running");
    // SNPP cannot be asked whether a page went through, so a page being sent when the process
    // died, or whose item's lease ran out, may be sent again: never without its item running
    // again.
    let reruns = h
        .scalar("select cast(coalesce(sum(attempts - 1), 0) as bigint) from work_items where kind = 'desk.page'")
        .await;
    assert!(page_duplicates as i64 <= reruns, "{page_duplicates} pages again, {reruns} page items run again");
    h.db.close().await;
}
