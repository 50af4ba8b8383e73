//! `switchboard bench ...`: measurements kept in the repository, each reported with a baseline
//! measured in the same run.

pub mod billing;
pub mod calls;
pub mod desk;
pub mod dispatch;
pub mod engine;
pub mod escalation;
pub mod ingest;
pub mod oncall;
#[cfg(feature = "river")]
pub mod river;

pub use engine::{BenchArgs, run};

/// The app serving HTTP on a free loopback port over a fresh database, for benchmarks that
/// measure pages and webhooks as clients reach them.
pub(crate) struct Served {
    pub addr: std::net::SocketAddr,
    pub db: switchboard_core::db::Db,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Holds the temporary SQLite file for as long as the server runs.
    _dir: Option<tempfile::TempDir>,
}

/// Starts the app on a fresh database (`postgres`: a new one on that server; else a temporary
/// SQLite file named after `tag`); `tweak` adds settings; `run_engine` false leaves background
/// work queued (what is measured is then only the request's own work).
pub(crate) async fn serve(
    postgres: &Option<String>,
    tag: &str,
    tweak: impl FnOnce(&mut crate::config::ServeArgs),
    run_engine: bool,
) -> anyhow::Result<Served> {
    crate::app::install_crypto_provider();
    let (url, dir) = engine::fresh_db_url(postgres, tag).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut args = crate::config::ServeArgs {
        listen: Some(addr),
        database_url: Some(url),
        public_url: Some(format!("http://{addr}")),
        ..Default::default()
    };
    tweak(&mut args);
    let config = crate::config::Config::resolve(&args, crate::config::FileConfig::default())?;
    let mut app = crate::App::build(config, std::sync::Arc::new(switchboard_core::clock::SystemClock)).await?;
    app.run_engine = run_engine;
    let db = app.state.db.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve(listener, app, async {
        let _ = stopped.await;
    }));
    Ok(Served { addr, db, stop, server, _dir: dir })
}

impl Served {
    /// Stops the server and waits for it to finish.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.server.await??;
        Ok(())
    }
}

/// The `q` quantile of sorted durations, in milliseconds (0 for none).
pub(crate) fn percentile_ms(sorted: &[std::time::Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}
