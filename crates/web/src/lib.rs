//! Switchboard's web layer and command line: axum routes for the UI, the JSON API and (later)
//! provider webhooks. Handlers parse, authorize, call one core use case, and render.

pub mod api;
pub mod app;
pub mod assets;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod config;
pub mod console;
pub mod error;
pub mod fmt;
pub mod health;
pub mod nul;
pub mod pages;
pub mod public;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod views;
pub mod webhooks;

pub use app::{App, AppState};
pub use config::Config;
