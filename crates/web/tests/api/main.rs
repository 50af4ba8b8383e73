//! HTTP-level tests: each spawns the real app on a random port with its own fresh database
//! (SQLite by default; `TEST_DATABASE=postgres` for PostgreSQL) and drives it as a browser,
//! an integrator or an operator would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod api_errors;
mod api_resources;
mod billing;
mod bulk;
mod calls;
mod cli;
mod console;
mod customers;
mod demo;
mod desk;
mod desk_crash;
mod desk_delivery;
mod desk_pager_fax;
mod desk_push;
mod dispatch;
mod email;
mod engine;
mod escalation;
mod escalation_crash;
mod health;
mod inbox;
mod isolation;
mod jobs_api;
mod leads;
mod leads_console;
mod locations;
mod maps;
mod messaging;
mod migrations;
mod notifications;
mod oncall;
mod openapi_truth;
mod sign_in;
mod twilio_contract;
mod web_forms;
