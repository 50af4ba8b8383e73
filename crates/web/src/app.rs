//! The application: built from the configuration (database, providers, engine, servers), and
//! the router that puts every audience's routes (office console, public pages, provider
//! webhooks, API, operations) behind the same layers (request id, tracing, metrics, body
//! limit, security headers). The shared state is [`crate::state`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::SignedDuration;
use switchboard_core::clock::SharedClock;
use switchboard_core::db::Db;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::config::{Config, Secret, TwilioSettings};
use crate::error::{ApiError, PageError};
pub use crate::state::{AppState, BODY_LIMIT, FormLimits, LoginLimits};
use crate::{api, assets, auth, console, health, public, telemetry, webhooks};
use switchboard_core::engine::{Engine, EngineConfig};
use switchboard_core::portal::PortalLinks;
use switchboard_core::providers::email::SmtpMailer;
use switchboard_core::providers::maps::{Geocoder, Router as MapRouter};
use switchboard_core::providers::snpp::SnppServer;
use switchboard_core::providers::stripe::{PaymentProvider, Stripe, StripeConfig};
use switchboard_core::providers::twilio::{TwilioConfig, TwilioSms};
use switchboard_core::providers::web_push::WebPush;
use switchboard_core::storage::BlobStore;
use switchboard_core::workers::Providers;
use switchboard_standins::maps::MapsStandin;
use switchboard_standins::smtp::SmtpSink;
use switchboard_standins::snpp::SnppStandin;
use switchboard_standins::twilio::TwilioStandin;

pub struct App {
    pub state: AppState,
    /// Whether `server::serve` runs the engine's worker loop. Tests with a manual clock turn
    /// it off and drive the engine with `Engine::tick`.
    pub run_engine: bool,
}

impl App {
    /// Connects to the database, applies migrations, and sets up the providers and the engine.
    /// Without a Twilio account in `config`, starts the SMS stand-in and uses it.
    pub async fn build(mut config: Config, clock: SharedClock) -> anyhow::Result<App> {
        install_crypto_provider();
        let db = Db::connect(config.database_url.expose()).await?;
        db.migrate().await?;
        let standin = match &config.twilio {
            Some(_) => None,
            None => {
                let standin = TwilioStandin::start(config.standin_listen)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot start the SMS stand-in on {}: {e}", config.standin_listen))?;
                standin.set_sms_webhook(format!("{}/webhooks/twilio/sms", config.public_url));
                standin.set_voice_webhook(format!("{}/webhooks/twilio/voice", config.public_url));
                standin.set_voice_status_callback(format!("{}/webhooks/twilio/voice/status", config.public_url));
                config.twilio = Some(TwilioSettings {
                    account_sid: standin.account_sid().to_string(),
                    auth_token: Secret::new(standin.auth_token()),
                    auth_token_previous: None,
                    base_url: standin.base_url(),
                });
                Some(standin)
            }
        };
        let mail_sink = match &config.smtp_url {
            Some(_) => None,
            None => {
                let sink = SmtpSink::start("127.0.0.1:0".parse()?)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot start the SMTP sink: {e}"))?;
                config.smtp_url = Some(Secret::new(sink.url()));
                Some(sink)
            }
        };
        // The demo finds its own addresses and routes through the maps stand-in; a real
        // deployment uses the services it configures, or none.
        let maps_standin = if config.demo && config.maps.geocoder_url.is_none() && config.maps.osrm_url.is_none() {
            let maps = MapsStandin::start_with_demo_places("127.0.0.1:0".parse()?)
                .await
                .map_err(|e| anyhow::anyhow!("cannot start the maps stand-in: {e}"))?;
            config.maps.geocoder_url = Some(maps.base_url());
            config.maps.osrm_url = Some(maps.base_url());
            Some(maps)
        } else {
            None
        };
        // The demo pages through its own SNPP stand-in and faxes into the mail sink.
        if config.demo && config.snpp.is_none() {
            let snpp = SnppStandin::start("127.0.0.1:0".parse()?)
                .await
                .map_err(|e| anyhow::anyhow!("cannot start the paging stand-in: {e}"))?;
            config.snpp = Some(SnppServer::parse(&snpp.url()).map_err(|e| anyhow::anyhow!(e))?);
        }
        if config.demo && config.fax_gateway.is_none() {
            config.fax_gateway = Some("{number}@fax.demo.switchboard.test".into());
        }
        // Invoices are paid through Stripe when it is configured; the demo and the tests pay
        // through the stand-in (its checkout page takes test cards).
        let stripe_standin = match (&config.stripe, config.stripe_standin) {
            (None, true) => {
                let standin = switchboard_standins::stripe::StripeStandin::start("127.0.0.1:0".parse()?)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot start the Stripe stand-in: {e}"))?;
                standin.set_webhook_url(format!("{}/webhooks/stripe", config.public_url));
                config.stripe = Some(crate::config::StripeSettings {
                    secret_key: Secret::new(standin.secret_key()),
                    webhook_secrets: vec![Secret::new(standin.webhook_secret())],
                    base_url: standin.base_url(),
                });
                Some(standin)
            }
            _ => None,
        };
        let payments: Option<Arc<dyn PaymentProvider>> = match &config.stripe {
            Some(s) => Some(Arc::new(
                Stripe::new(StripeConfig {
                    base_url: s.base_url.clone(),
                    secret_key: s.secret_key.expose().to_string(),
                })
                .map_err(|e| anyhow::anyhow!(e))?,
            )),
            None => None,
        };
        let geocoder = match &config.maps.geocoder_url {
            Some(url) => Geocoder::nominatim(url).map_err(|e| anyhow::anyhow!(e))?,
            None => Geocoder::Off,
        };
        let router = match &config.maps.osrm_url {
            Some(url) => MapRouter::osrm(url).map_err(|e| anyhow::anyhow!(e))?,
            None => MapRouter::StraightLine,
        };
        let push = Arc::new(
            WebPush::load(&db, clock.now(), format!("mailto:{}", config.smtp_from), config.push_origins.clone())
                .await?,
        );
        let blobs = match &config.s3 {
            Some(s3) => BlobStore::s3(s3.clone())?,
            None => BlobStore::on_disk(&config.data_dir),
        };
        let engine = build_engine(&db, &clock, &config, &geocoder, &router, &push, payments.clone(), &blobs)?;
        let voice: Arc<dyn switchboard_core::providers::voice::VoiceProvider> = Arc::new(twilio_client(&config)?);
        let softphone = Arc::new(match (&config.voice_keys, &config.twilio) {
            (Some(keys), _) => crate::state::Softphone::Twilio(keys.clone()),
            (None, Some(t)) if t.base_url != switchboard_core::providers::twilio::TWILIO_API => {
                crate::state::Softphone::Simulated(twilio_client(&config)?)
            }
            _ => crate::state::Softphone::Off,
        });
        let ingest = switchboard_core::inbound::Ingest::start(db.clone(), clock.clone());
        let links =
            Arc::new(PortalLinks { base_url: config.public_url.clone(), valid_hours: config.portal_link_hours });
        Ok(App {
            state: AppState {
                db,
                clock,
                config: Arc::new(config),
                login_limits: Arc::new(LoginLimits::default()),
                form_limits: Arc::new(FormLimits::default()),
                ingest,
                metrics: telemetry::metrics_handle(),
                engine,
                standin,
                mail_sink,
                blobs,
                links,
                geocoder,
                router,
                maps_standin,
                payments,
                stripe_standin,
                push,
                voice,
                softphone,
                oncall_gaps: Default::default(),
                closing: crate::state::Closing::default(),
            },
            run_engine: true,
        })
    }

    pub fn router(&self) -> Router {
        router(self.state.clone())
    }

    /// Starts the inbound SMTP listener on `addr`; returns the bound address.
    pub async fn start_smtp_listener(
        &self,
        addr: std::net::SocketAddr,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<std::net::SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen for SMTP on {addr}: {e}"))?;
        let bound = listener.local_addr()?;
        let mailbox =
            Arc::new(crate::webhooks::mail::BrandMailbox::new(self.state.db.clone(), self.state.clock.clone()));
        let host = self
            .state
            .config
            .public_url
            .split("://")
            .nth(1)
            .unwrap_or("localhost")
            .split([':', '/'])
            .next()
            .unwrap_or("localhost")
            .to_string();
        tokio::spawn(switchboard_core::providers::smtp_server::serve(listener, mailbox, host, shutdown));
        Ok(bound)
    }
}

/// TLS for outgoing HTTPS (providers) uses rustls with ring; installed once per process.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Fails only if a provider is already installed, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The Twilio API client (texts and calls), from the configured account.
fn twilio_client(config: &Config) -> anyhow::Result<TwilioSms> {
    let twilio = config.twilio.as_ref().ok_or_else(|| anyhow::anyhow!("no SMS provider configured"))?;
    TwilioSms::new(TwilioConfig {
        base_url: twilio.base_url.clone(),
        account_sid: twilio.account_sid.clone(),
        auth_token: twilio.auth_token.expose().to_string(),
    })
    .map_err(|e| anyhow::anyhow!(e))
}

/// The engine with a worker for every kind of work (see `switchboard_core::workers`).
#[allow(clippy::too_many_arguments)]
fn build_engine(
    db: &Db,
    clock: &SharedClock,
    config: &Config,
    geocoder: &Geocoder,
    router: &MapRouter,
    push: &Arc<WebPush>,
    payments: Option<Arc<dyn PaymentProvider>>,
    blobs: &BlobStore,
) -> anyhow::Result<Engine> {
    let sms = twilio_client(config)?;
    let smtp_url = config.smtp_url.as_ref().ok_or_else(|| anyhow::anyhow!("no SMTP server configured"))?;
    let mailer = SmtpMailer::from_url(smtp_url.expose()).map_err(|e| anyhow::anyhow!(e))?;
    let providers = Providers {
        sms: Arc::new(sms.clone()),
        voice: Arc::new(sms),
        sms_status_callback: Some(format!("{}/webhooks/twilio/sms-status", config.public_url)),
        sms_interval: SignedDuration::from_millis(config.sms_interval_ms as i64),
        email: Arc::new(mailer),
        email_from: config.smtp_from.clone(),
        public_url: config.public_url.clone(),
        portal_link_hours: config.portal_link_hours,
        geocoder: geocoder.clone(),
        router: router.clone(),
        push: push.clone(),
        snpp: config.snpp.clone(),
        fax_gateway: config.fax_gateway.clone(),
        payments,
        blobs: blobs.clone(),
    };
    let lease = SignedDuration::from_secs(config.engine_lease_secs as i64);
    // A runner must finish (or give up) well before its lease could pass to another instance.
    let item_timeout = Duration::from_millis(config.engine_lease_secs * 750).min(EngineConfig::default().item_timeout);
    let engine_config = EngineConfig { lease, item_timeout, ..EngineConfig::default() };
    Ok(Engine::new(db.clone(), clock.clone(), engine_config, switchboard_core::workers::all(&providers)))
}

pub fn router(state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let console = console::routes().layer(middleware::from_fn_with_state(state.clone(), auth::session_and_csrf));
    Router::new()
        .merge(console)
        .merge(api::router())
        .merge(webhooks::routes())
        .merge(public::routes())
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route("/assets/{*path}", get(assets::serve))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(middleware::from_fn(crate::nul::replace_nul))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(telemetry::track_metrics))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; \
                 script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
            ),
        ))
        .layer(middleware::from_fn(telemetry::request_id_scope))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
}

async fn method_not_allowed(req: Request) -> Response {
    let message = format!("{} is not supported on {}", req.method(), req.uri().path());
    if req.uri().path().starts_with("/api/") {
        ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", message).into_response()
    } else {
        PageError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "Not allowed here", message).into_response()
    }
}

async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        ApiError::not_found(&format!("route {} {}", req.method(), req.uri().path())).into_response()
    } else {
        PageError::not_found().into_response()
    }
}
