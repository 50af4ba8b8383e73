//! Switchboard's core: the domain rules, their storage and (later) the durable engine.
//!
//! Nothing here knows about HTTP or HTML. Each domain folder holds `mod.rs` (the use cases the
//! web layer calls), `model.rs` (types and pure rules) and `store.rs` (its SQL, scoped to an
//! organization). Time comes in through [`clock::Clock`]; nothing here reads the wall clock.

pub mod auth;
pub mod billing;
pub mod calls;
pub mod clock;
pub mod countries;
pub mod customers;
pub mod db;
pub mod demo;
pub mod desk;
pub mod engine;
pub mod error;
pub mod escalation;
pub mod form_fields;
pub mod geo;
pub mod ids;
pub mod inbound;
pub mod jobs;
pub mod leads;
pub mod links;
pub mod messaging;
pub mod money;
pub mod notifications;
pub mod oncall;
pub mod parse;
pub mod pdf;
pub mod portal;
pub mod providers;
pub mod secret;
pub mod storage;
pub mod technicians;
pub mod tenancy;
pub mod tracking;
pub mod webforms;
pub mod when;
pub mod workers;

pub use error::{Error, FieldError, Result};
