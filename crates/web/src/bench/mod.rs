//! `switchboard bench ...`: measurements kept in the repository, each reported with a baseline
//! measured in the same run.

pub mod desk;
pub mod dispatch;
pub mod engine;
pub mod ingest;
pub mod oncall;
#[cfg(feature = "river")]
pub mod river;

pub use engine::{BenchArgs, run};
