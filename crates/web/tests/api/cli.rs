//! The `switchboard` binary itself: commands an operator runs.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use crate::helpers::{FreshDb, hidden_csrf, json, spawn_app};

pub(crate) fn switchboard() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.env_remove("DATABASE_URL").env_remove("SWITCHBOARD_CONFIG").env("RUST_LOG", "info");
    cmd
}

fn run_with_stdin(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child =
        switchboard().args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_help_documents_every_flag_and_its_environment_variable() {
    let out = switchboard().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--listen",
        "SWITCHBOARD_LISTEN",
        "--database",
        "DATABASE_URL",
        "--public-url",
        "SWITCHBOARD_PUBLIC_URL",
        "--demo",
        "SWITCHBOARD_DEMO",
        "--config",
        "SWITCHBOARD_CONFIG",
        "--log-format",
    ] {
        assert!(help.contains(needle), "serve --help mentions {needle}:\n{help}");
    }
}

#[tokio::test]
async fn user_create_and_api_key_create_work_against_the_servers_database() {
    let app = spawn_app().await;
    let db = app.fresh.url.clone();
    let (ok, out, err) = run_with_stdin(&["migrate", "--database", &db], "");
    assert!(ok, "migrate: {err}");
    assert!(out.contains("migrations applied"));

    let (ok, out, err) = run_with_stdin(
        &[
            "user",
            "create",
            "--email",
            "Owner@Acme.example.com",
            "--role",
            "admin",
            "--org",
            "acme",
            "--password-stdin",
            "--database",
            &db,
        ],
        "owner-password-1\n",
    );
    assert!(ok, "user create: {err}");
    assert!(out.contains("created admin owner@acme.example.com"), "{out}");

    let (ok, key, err) = run_with_stdin(&["api-key", "create", "--org", "acme", "--name", "ci", "--database", &db], "");
    assert!(ok, "api-key create: {err}");
    let key = key.trim().to_string();
    assert!(key.starts_with("sb_"), "only the key is printed on stdout: {key:?}");
    assert!(err.contains("shown only now"));

    let (status, body) = json(app.client().get(app.url("/api/v1/users")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["users"][0]["email"], "owner@acme.example.com");

    let client = app.browser();
    let page = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_csrf(&page).unwrap();
    let resp = client
        .post(app.url("/login"))
        .form(&[("_csrf", csrf.as_str()), ("email", "owner@acme.example.com"), ("password", "owner-password-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "the user created on the command line can sign in");
}

#[tokio::test]
async fn cli_errors_are_clear_and_exit_non_zero() {
    let fresh = FreshDb::new().await;
    let (ok, _, err) = run_with_stdin(
        &[
            "user",
            "create",
            "--email",
            "x@acme.example.com",
            "--role",
            "owner",
            "--org",
            "acme",
            "--password-stdin",
            "--database",
            &fresh.url,
        ],
        "long-enough-pw\n",
    );
    assert!(!ok);
    assert!(err.contains("is not a role"), "{err}");
    let (ok, _, err) = run_with_stdin(
        &["user", "create", "--email", "x@acme.example.com", "--role", "admin", "--database", &fresh.url],
        "",
    );
    assert!(!ok);
    assert!(err.contains("--password-stdin"), "without a terminal it says how to pass the password: {err}");
    let (ok, _, err) =
        run_with_stdin(&["api-key", "create", "--org", "nope", "--name", "x", "--database", &fresh.url], "");
    assert!(!ok);
    assert!(err.contains("no organization with slug \"nope\""), "{err}");
}

/// A running `switchboard serve`; killed if the test fails before it is stopped.
pub(crate) struct ServerProcess(pub(crate) std::process::Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `switchboard serve` as a real process, waits for its "listening" log line, and
/// returns the child and its address.
fn start_server(args: &[&str]) -> (ServerProcess, String, Vec<String>) {
    start_server_with_env(args, &[])
}

pub(crate) fn start_server_with_env(args: &[&str], env: &[(&str, &str)]) -> (ServerProcess, String, Vec<String>) {
    let mut child = switchboard()
        .envs(env.iter().copied())
        .arg("serve")
        .args(args)
        .args(if args.contains(&"--listen") { &[][..] } else { &["--listen", "127.0.0.1:0"][..] })
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = ServerProcess(child);
    let mut lines = Vec::new();
    let mut reader = BufReader::new(stdout);
    let addr = loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("server exited early: {lines:?}");
        }
        lines.push(line.clone());
        if line.contains("switchboard listening") {
            let start = line.find("address=").unwrap() + "address=".len();
            break line[start..].split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    (child, addr, lines)
}

pub(crate) fn terminate(child: &mut ServerProcess) -> std::process::ExitStatus {
    let status = Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
    assert!(status.success());
    child.0.wait().unwrap()
}

#[tokio::test]
async fn serve_demo_prints_the_login_is_idempotent_and_stops_cleanly_on_sigterm() {
    let fresh = FreshDb::new().await;
    let (mut child, addr, lines) = start_server(&["--demo", "--database", &fresh.url]);
    let printed = lines.join("");
    assert!(printed.contains("Demo organization seeded"), "{printed}");
    assert!(printed.contains("admin@demo.switchboard.test") && printed.contains("switchboard-demo"));
    assert!(
        printed.contains(&format!("Sign in at http://{addr}/login")),
        "the printed link is the bound address: {printed}"
    );
    assert!(!printed.contains("password=") || !fresh.url.contains('@'), "no secrets in logs");
    let health: serde_json::Value = reqwest::get(format!("http://{addr}/healthz")).await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let exit = terminate(&mut child);
    assert!(exit.success(), "SIGTERM is a clean shutdown: {exit:?}");

    let (mut child, _, lines) = start_server(&["--demo", "--database", &fresh.url]);
    assert!(lines.join("").contains("Demo organization already present"));
    assert!(terminate(&mut child).success());
    let db = switchboard_core::db::Db::connect(&fresh.url).await.unwrap();
    let (jobs,): (i64,) = sqlx::query_as("select count(*) from jobs").fetch_one(db.pool()).await.unwrap();
    assert_eq!(jobs, 10, "a second --demo start added nothing");
    db.close().await;
}

#[tokio::test]
async fn sigterm_ends_open_console_event_streams_and_stops_within_seconds() {
    let fresh = FreshDb::new().await;
    let (mut child, addr, _) = start_server(&["--demo", "--database", &fresh.url]);
    let base = format!("http://{addr}");
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let page = client.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_csrf(&page).unwrap();
    let r = client
        .post(format!("{base}/login"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("email", switchboard_core::demo::DEMO_ADMIN_EMAIL),
            ("password", switchboard_core::demo::DEMO_ADMIN_PASSWORD),
            ("next", "/jobs"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "signed in and on /jobs");
    // Two console tabs left open on the live event stream.
    let mut streams = Vec::new();
    for _ in 0..2 {
        let r = client.get(format!("{base}/events")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/event-stream");
        streams.push(tokio::spawn(async move {
            let mut r = r;
            while let Ok(Some(_)) = r.chunk().await {}
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let status = Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = child.0.try_wait().unwrap() {
            break exit;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(15), "still running 15 s after SIGTERM");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "a clean shutdown: {exit:?}");
    for s in streams {
        tokio::time::timeout(std::time::Duration::from_secs(5), s).await.expect("the stream ended").unwrap();
    }
}

/// Kill -9 in the middle of sending: after a restart every text is sent, none lost, and the
/// count per text is 1 (at most 2, for a send the provider accepted just before the kill).
#[tokio::test]
async fn a_process_killed_mid_work_finishes_every_item_after_restart() {
    switchboard::app::install_crypto_provider();
    let fresh = FreshDb::new().await;
    let sms = switchboard_standins::twilio::TwilioStandin::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    // The provider takes 20 texts, then stalls: the kill surely lands while sends are in flight.
    const BEFORE_KILL: usize = 20;
    sms.hold_after(BEFORE_KILL);
    let db = switchboard_core::db::Db::connect(&fresh.url).await.unwrap();
    db.migrate().await.unwrap();
    let clock = switchboard_core::clock::SystemClock;
    let org = switchboard_core::tenancy::create_org(&db, &clock, "crash", "Crash Test").await.unwrap();
    let input = switchboard_core::tenancy::BrandInput {
        name: "Crash HVAC".into(),
        time_zone: "America/Denver".into(),
        sms_number: Some("+17205550100".into()),
        ..Default::default()
    };
    let brand = switchboard_core::tenancy::create_brand(&db, &clock, org.id, &input).await.unwrap();
    let key = switchboard_core::auth::create_api_key(&db, &clock, org.id, "crash").await.unwrap().0;

    let env = [
        ("TWILIO_BASE_URL", sms.base_url()),
        ("TWILIO_ACCOUNT_SID", sms.account_sid().to_string()),
        ("TWILIO_AUTH_TOKEN", sms.auth_token().to_string()),
        ("SWITCHBOARD_SMS_INTERVAL_MS", "0".to_string()),
        ("SWITCHBOARD_ENGINE_LEASE_SECS", "2".to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Queue the texts before the server starts, so that the engine has many in flight at once.
    const TEXTS: usize = 60;
    for i in 0..TEXTS {
        switchboard_core::messaging::send_sms(
            &db,
            &clock,
            org.id,
            brand.id,
            &format!("+1303555{:04}", 1000 + i),
            &format!("text {i}"),
        )
        .await
        .unwrap();
    }
    let (mut server, addr, _) = start_server_with_env(&["--database", &fresh.url], &env);
    let (status, _) = json(
        reqwest::Client::new().get(format!("http://{addr}/api/v1/messages")).bearer_auth(&key).send().await.unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    // Kill once the provider has taken its 20 and the rest are waiting on it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sms.messages().len() < BEFORE_KILL {
        assert!(std::time::Instant::now() < deadline, "sending started");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    let sent_before_restart = sms.messages().len();
    assert_eq!(sent_before_restart, BEFORE_KILL, "the kill landed mid-work");
    sms.release();

    let (mut server, _, _) = start_server_with_env(&["--database", &fresh.url], &env);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (open,): (i64,) = sqlx::query_as("select count(*) from work_items where status <> 'done'")
            .fetch_one(db.pool())
            .await
            .unwrap();
        if open == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{open} work items unfinished after the restart");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(terminate(&mut server).success());
    let mut per_text = std::collections::HashMap::new();
    for m in sms.messages() {
        *per_text.entry(m.body).or_insert(0usize) += 1;
    }
    assert_eq!(per_text.len(), TEXTS, "every text reached the provider");
    let duplicates: Vec<_> = per_text.iter().filter(|(_, n)| **n > 1).collect();
    assert!(per_text.values().all(|n| *n <= 2), "never more than one duplicate: {duplicates:?}");
    eprintln!("crash test: {sent_before_restart} sent before the kill; duplicates after restart: {}", duplicates.len());
    let (unsent,): (i64,) =
        sqlx::query_as("select count(*) from messages where provider_id is null").fetch_one(db.pool()).await.unwrap();
    assert_eq!(unsent, 0, "every message carries the provider's id");
    db.close().await;
}

#[tokio::test]
async fn the_standin_command_serves_the_twilio_api_and_the_phones_page() {
    crate::helpers::init();
    let mut child = switchboard()
        .args([
            "standin",
            "--listen",
            "127.0.0.1:0",
            "--smtp-listen",
            "127.0.0.1:0",
            "--account-sid",
            "ACtest",
            "--auth-token",
            "tok",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _guard = ServerProcess(child);
    let mut reader = BufReader::new(stdout);
    let mut base = String::new();
    let mut printed = String::new();
    while base.is_empty() {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "standin exited early: {printed}");
        printed.push_str(&line);
        if let Some(rest) = line.strip_prefix("SMS stand-in (Twilio wire format) at ") {
            base = rest.trim().to_string();
        }
    }
    let client = reqwest::Client::new();
    let page = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Phones"));
    let url = format!("{base}/2010-04-01/Accounts/ACtest/Messages.json");
    let unauthorized = client
        .post(&url)
        .form(&[("To", "+13035550142"), ("From", "+17205550100"), ("Body", "hi")])
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    let (status, body) = json(
        client
            .post(&url)
            .basic_auth("ACtest", Some("tok"))
            .form(&[("To", "+13035550142"), ("From", "+17205550100"), ("Body", "hi")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(body["status"], "queued");
    assert!(body["sid"].as_str().unwrap().starts_with("SM"));
}
