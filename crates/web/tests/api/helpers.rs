//! The test harness: `spawn_app()` starts the app on port 0 against a fresh database.

#![allow(dead_code)]

use std::sync::Arc;

use reqwest::redirect::Policy;
use switchboard::config::{Config, FileConfig, ServeArgs};
use switchboard::{App, server};
use switchboard_core::clock::ManualClock;
use switchboard_core::db::{Backend, Db};
use switchboard_core::engine::Engine;
use switchboard_core::ids::OrgId;
use switchboard_core::tenancy::{self, NewUserInput, User};
use switchboard_standins::smtp::SmtpSink;
use switchboard_standins::twilio::TwilioStandin;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct-horse-battery";

/// Installs the TLS crypto provider reqwest needs (the build uses ring, not aws-lc-rs).
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Which database the suite runs on: `TEST_DATABASE=sqlite` (default) or `postgres`.
pub fn backend() -> Backend {
    match std::env::var("TEST_DATABASE").as_deref() {
        Ok("postgres") | Ok("postgresql") | Ok("pg") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// The server used to create per-test PostgreSQL databases.
pub fn postgres_server_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// A fresh, empty database: a SQLite file in a temp dir, or a new PostgreSQL database.
pub struct FreshDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl FreshDb {
    pub async fn new() -> FreshDb {
        init();
        match backend() {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                FreshDb { url, _dir: Some(dir), pg_name: None }
            }
            Backend::Postgres => {
                let name = format!("sb_test_{}", uuid::Uuid::new_v4().simple());
                sqlx::any::install_default_drivers();
                let admin = sqlx::AnyPool::connect(&format!("{}/postgres", postgres_server_url()))
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
                    .execute(&admin)
                    .await
                    .expect("create test database");
                admin.close().await;
                FreshDb { url: format!("{}/{name}", postgres_server_url()), _dir: None, pg_name: Some(name) }
            }
        }
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let server = postgres_server_url();
            // Dropped from a plain thread: the test's runtime may be shutting down.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                rt.block_on(async move {
                    if let Ok(admin) = sqlx::AnyPool::connect(&format!("{server}/postgres")).await {
                        let _ =
                            sqlx::query(sqlx::AssertSqlSafe(format!("drop database if exists {name} with (force)")))
                                .execute(&admin)
                                .await;
                        admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub clock: ManualClock,
    /// The engine, driven by the test with `tick()` (its loop does not run in tests).
    pub engine: Engine,
    /// The Twilio stand-in the app sends through.
    pub sms: TwilioStandin,
    /// The SMTP sink the app sends mail to (unless the test configured a mail server).
    pub mail: SmtpSink,
    /// The Stripe stand-in invoices are paid through.
    pub stripe: switchboard_standins::stripe::StripeStandin,
    app_handle: AppHandle,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pub fresh: FreshDb,
    /// Where uploads go; removed when the test ends.
    pub data_dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app; `tweak` may adjust the configuration first.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let fresh = FreshDb::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let args = ServeArgs {
        listen: Some(addr),
        database_url: Some(fresh.url.clone()),
        public_url: Some(format!("http://{addr}")),
        ..Default::default()
    };
    let mut config = Config::resolve(&args, FileConfig::default()).expect("config");
    let data_dir = tempfile::tempdir().expect("data dir");
    config.data_dir = data_dir.path().to_path_buf();
    config.stripe_standin = true;
    tweak(&mut config);
    let clock = ManualClock::new("2026-11-22T17:00:00Z".parse().expect("time"));
    let mut app = App::build(config, Arc::new(clock.clone())).await.expect("app builds and migrates");
    app.run_engine = false;
    let db = app.state.db.clone();
    let engine = app.state.engine.clone();
    let sms = app.state.standin.clone().expect("tests run against the SMS stand-in");
    let stripe = app.state.stripe_standin.clone().expect("tests pay through the Stripe stand-in");
    // The stand-in signs its events with the test's clock, as the app checks them.
    stripe.set_now(Some(switchboard_core::clock::Clock::now(&clock)));
    let mail = match app.state.mail_sink.clone() {
        Some(sink) => sink,
        None => SmtpSink::start("127.0.0.1:0".parse().expect("addr")).await.expect("sink"),
    };
    let app_handle = AppHandle { db: app.state.db.clone(), clock: app.state.clock.clone() };
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(listener, app, async {
        let _ = rx.await;
    }));
    TestApp {
        base: format!("http://{addr}"),
        db,
        clock,
        engine,
        sms,
        mail,
        stripe,
        app_handle,
        shutdown: Some(tx),
        server: Some(server),
        fresh,
        data_dir,
    }
}

/// What the test needs to start extra listeners of the running app.
struct AppHandle {
    db: Db,
    clock: switchboard_core::clock::SharedClock,
}

impl TestApp {
    /// Starts the app's inbound SMTP listener on a free port.
    pub async fn smtp_listener(&self, stop: tokio::sync::watch::Receiver<bool>) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let addr = listener.local_addr().expect("addr");
        let mailbox = Arc::new(switchboard::webhooks::mail::BrandMailbox::new(
            self.app_handle.db.clone(),
            self.app_handle.clock.clone(),
        ));
        tokio::spawn(switchboard_core::providers::smtp_server::serve(listener, mailbox, "test.localhost".into(), stop));
        addr
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A browser-like client: keeps cookies, does not follow redirects (tests assert them).
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().expect("client")
    }

    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder().redirect(Policy::none()).build().expect("client")
    }

    /// Signals shutdown and waits for the server to drain and close the database.
    pub async fn shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server result");
        }
    }

    /// An organization with one admin; returns the org and the admin.
    pub async fn org_with_admin(&self, slug: &str) -> (OrgId, User) {
        let org = tenancy::create_org(&self.db, &self.clock, slug, &format!("{slug} org")).await.expect("org");
        let admin = self.user(org.id, &format!("admin@{slug}.example.com"), "admin").await;
        (org.id, admin)
    }

    pub async fn user(&self, org: OrgId, email: &str, role: &str) -> User {
        let input = NewUserInput {
            email: email.into(),
            name: format!("{role} {}", email.split('@').next().unwrap_or("")),
            role: role.into(),
            password: PASSWORD.into(),
        };
        tenancy::create_user(&self.db, &self.clock, org, &input).await.expect("user")
    }

    pub async fn brand(&self, org: OrgId, name: &str) -> tenancy::Brand {
        let input =
            tenancy::BrandInput { name: name.into(), time_zone: "America/Chicago".into(), ..Default::default() };
        tenancy::create_brand(&self.db, &self.clock, org, &input).await.expect("brand")
    }

    /// A brand with an SMS number.
    pub async fn sms_brand(&self, org: OrgId, name: &str, number: &str) -> tenancy::Brand {
        let input = tenancy::BrandInput {
            name: name.into(),
            time_zone: "America/Chicago".into(),
            sms_number: Some(number.into()),
            ..Default::default()
        };
        tenancy::create_brand(&self.db, &self.clock, org, &input).await.expect("brand")
    }

    /// Runs the inbound router (what the engine's `inbound.route` items do) over every text
    /// stored so far, without running any other work.
    pub async fn route_inbound(&self) {
        while switchboard_core::inbound::route_pending(&self.db, &self.clock).await.expect("route inbound texts") > 0 {}
    }

    /// The organization a brand belongs to.
    pub async fn db_org_of_brand(&self, brand: i64) -> i64 {
        let (org,): (i64,) = sqlx::query_as("select org_id from brands where id = $1")
            .bind(brand)
            .fetch_one(self.db.pool())
            .await
            .unwrap();
        org
    }

    pub async fn api_key(&self, org: OrgId) -> String {
        switchboard_core::auth::create_api_key(&self.db, &self.clock, org, "tests").await.expect("api key").0
    }

    /// `POST` a JSON body to the API with `key`; the status and the JSON answer.
    pub async fn api_post(&self, key: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        json(self.client().post(self.url(path)).bearer_auth(key).json(&body).send().await.expect("POST")).await
    }

    /// `PATCH` a JSON body to the API with `key`; the status and the JSON answer.
    pub async fn api_patch(&self, key: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        json(self.client().patch(self.url(path)).bearer_auth(key).json(&body).send().await.expect("PATCH")).await
    }

    /// Signs in through the real form and returns the signed-in browser.
    pub async fn signed_in(&self, email: &str) -> Browser {
        self.signed_in_with(email, PASSWORD).await
    }

    /// Seeds the demo organization; returns it, an API key for it, and its Summit brand.
    pub async fn seed_demo(&self) -> (OrgId, String, switchboard_core::ids::BrandId) {
        switchboard_core::demo::seed(&self.db, &self.clock).await.expect("demo seeds");
        let org = tenancy::org_by_slug(&self.db, "demo").await.expect("org").expect("demo org").id;
        let key = self.api_key(org).await;
        let brands = tenancy::list_brands(&self.db, org).await.expect("brands");
        let summit = brands.into_iter().find(|b| b.name == "Summit Home Services").expect("Summit").id;
        (org, key, summit)
    }

    /// The demo organization (after `demo::seed`).
    pub async fn db_org_of_demo(&self) -> OrgId {
        tenancy::org_by_slug(&self.db, "demo").await.expect("org").expect("demo org").id
    }

    /// Signs in as the demo's admin (after `demo::seed`).
    pub async fn signed_in_demo(&self) -> Browser {
        use switchboard_core::demo::{DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD};
        self.signed_in_with(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD).await
    }

    async fn signed_in_with(&self, email: &str, password: &str) -> Browser {
        let client = self.browser();
        let csrf = login_csrf(&client, self).await;
        let resp = client
            .post(self.url("/login"))
            .form(&[("_csrf", csrf.as_str()), ("email", email), ("password", password), ("next", "/jobs")])
            .send()
            .await
            .expect("sign in");
        assert_eq!(resp.status(), 303, "signing in as {email} redirects");
        // Office staff land on the jobs; a desk client's sign-in is sent to its own page.
        let jobs = client.get(self.url("/jobs")).send().await.expect("jobs");
        let page = match jobs.headers().get("location").and_then(|l| l.to_str().ok()) {
            Some(to) if jobs.status().is_redirection() => {
                client.get(self.url(to)).send().await.expect("landing page").text().await.expect("body")
            }
            _ => jobs.text().await.expect("body"),
        };
        let csrf = hidden_csrf(&page).expect("signed-in pages carry a CSRF token");
        Browser { client, csrf, base: self.base.clone() }
    }
}

/// Loads the sign-in page and returns its CSRF token.
pub async fn login_csrf(client: &reqwest::Client, app: &TestApp) -> String {
    let page = client.get(app.url("/login")).send().await.expect("login page").text().await.expect("body");
    hidden_csrf(&page).expect("the sign-in form carries a CSRF token")
}

/// The value of the first `_csrf` hidden field in a page.
pub fn hidden_csrf(html: &str) -> Option<String> {
    hidden_value(html, "_csrf")
}

/// The value of the first hidden field called `name` in a page.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// A signed-in browser with its CSRF token.
pub struct Browser {
    pub client: reqwest::Client,
    pub csrf: String,
    base: String,
}

impl Browser {
    pub fn new(client: reqwest::Client, csrf: String, base: String) -> Browser {
        Browser { client, csrf, base }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).send().await.expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.text().await.expect("body"))
    }

    /// Posts a `multipart/form-data` body of text fields and files (name, file name, bytes), the
    /// CSRF token in the query as the console's upload forms send it.
    pub async fn post_multipart(&self, path: &str, fields: &[(&str, Option<&str>, &[u8])]) -> reqwest::Response {
        let boundary = "----switchboard-test-boundary-3a9c";
        let mut body = Vec::new();
        for (name, file, bytes) in fields {
            let disposition = match file {
                Some(f) => format!("form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: text/csv"),
                None => format!("form-data; name=\"{name}\""),
            };
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n").as_bytes());
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let sep = if path.contains('?') { '&' } else { '?' };
        self.client
            .post(format!("{}{path}{sep}_csrf={}", self.base, self.csrf))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .expect("POST multipart")
    }

    /// Posts a form with the session's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all: Vec<(&str, &str)> = vec![("_csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.client.post(format!("{}{path}", self.base)).form(&all).send().await.expect("POST")
    }
}

pub async fn json(resp: reqwest::Response) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    let body = resp.json::<serde_json::Value>().await.expect("a JSON body");
    (status, body)
}
