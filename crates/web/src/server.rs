//! Running the server: bind, serve until SIGTERM or Ctrl-C, let in-flight requests finish,
//! then close the database.

use std::net::SocketAddr;

use switchboard_core::clock::SystemClock;
use tokio::net::TcpListener;

use crate::app::App;
use crate::config::Config;

/// Serves `app` on `listener` until `shutdown` resolves, then drains and closes the pool.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app.router();
    let (stop_engine, engine_stopped) = tokio::sync::watch::channel(false);
    let engine = app.state.engine.clone();
    let run_engine = app.run_engine;
    let worker = tokio::spawn(async move {
        if run_engine {
            engine.run(engine_stopped).await
        }
    });
    // Event streams never finish by themselves: end them when the shutdown starts, so the
    // graceful shutdown waits only for real requests.
    let closing = app.state.closing.clone();
    let shutdown = async move {
        shutdown.await;
        closing.close();
    };
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await?;
    // HTTP has drained; let running work finish, then close the database.
    let _ = stop_engine.send(true);
    if let Err(e) = worker.await {
        tracing::error!(error = %e, "engine task failed");
    }
    app.state.db.close().await;
    Ok(())
}

/// `switchboard serve`.
pub async fn run(mut config: Config) -> anyhow::Result<()> {
    crate::telemetry::init_logging(config.log_format);
    let listen = config.listen;
    let listener = TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    if config.public_url_from_listen {
        config.public_url = format!("http://{}", listener.local_addr()?);
    }
    let backend_url =
        switchboard_core::db::redact_url(&switchboard_core::db::normalize_url(config.database_url.expose()));
    let demo = config.demo;
    let public_url = config.public_url.clone();
    let app = App::build(config, std::sync::Arc::new(SystemClock)).await?;
    tracing::info!(database = %backend_url, backend = app.state.db.backend().name(), "database ready, migrations applied");
    tracing::info!(uploads = %app.state.blobs.describe(), "uploads are stored here");
    if let Some(standin) = &app.state.standin {
        println!();
        println!("  No Twilio account configured: texts go to the built-in SMS stand-in.");
        println!("    phones:  {}/  (read texts, reply as a customer or technician)", standin.base_url());
        println!("    account: {}  token: {}", standin.account_sid(), standin.auth_token());
    }
    if let Some(sink) = &app.state.mail_sink {
        println!("  No mail server configured: outgoing email goes to a built-in SMTP sink at {}.", sink.url());
    }
    if let Some(stripe) = &app.state.stripe_standin {
        println!(
            "  Demo payments: invoices are paid through a built-in Stripe stand-in at {} (card 4242 4242 4242 4242).",
            stripe.base_url()
        );
        println!("    key: {}  webhook secret: {}", stripe.secret_key(), stripe.webhook_secret());
    }
    if let Some(maps) = &app.state.maps_standin {
        println!(
            "  Demo maps: addresses and routes come from a built-in stand-in at {} (it knows the demo's addresses).",
            maps.base_url()
        );
    }
    let (stop_smtp, smtp_stopped) = tokio::sync::watch::channel(false);
    if let Some(addr) = app.state.config.smtp_listen {
        let bound = app.start_smtp_listener(addr, smtp_stopped).await?;
        tracing::info!(address = %bound, "accepting inbound email over SMTP");
    }
    if demo {
        let login = switchboard_core::demo::seed(&app.state.db, &SystemClock).await?;
        let what = if login.created { "seeded" } else { "already present" };
        println!();
        println!("  Demo organization {what}. Sign in at {public_url}/login");
        println!("    email:    {}", login.email);
        println!("    password: {}", login.password);
        println!();
    }
    let shutdown = shutdown_signal();
    tracing::info!(address = %listener.local_addr()?, public_url = %public_url, "switchboard listening");
    serve(listener, app, shutdown).await?;
    let _ = stop_smtp.send(true);
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are registered when this is called (before
/// the "listening" line), so a signal sent as soon as the server is up is never missed.
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        tracing::info!("shutdown requested; finishing in-flight requests");
    }
}

#[cfg(not(unix))]
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown requested; finishing in-flight requests");
    }
}
