//! Switchboard's web layer and command line: axum routes for the UI, the JSON API and (later)
//! provider webhooks. Handlers parse, authorize, call one core use case, and render.

pub mod api;
pub mod app;
pub mod assets;
pub mod auth;
pub mod bench;
pub mod bench_dispatch;
pub mod bench_ingest;
#[cfg(feature = "river")]
pub mod bench_river;
pub mod cli;
pub mod config;
pub mod error;
pub mod fmt;
pub mod inbound_mail;
pub mod routes;
pub mod server;
pub mod telemetry;
pub mod views;

pub use app::{App, AppState};
pub use config::Config;
