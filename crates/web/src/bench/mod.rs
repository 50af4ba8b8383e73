//! `switchboard bench ...`: measurements kept in the repository, each reported with a baseline
//! measured in the same run.

pub mod billing;
pub mod desk;
pub mod dispatch;
pub mod engine;
pub mod escalation;
pub mod ingest;
pub mod oncall;
#[cfg(feature = "river")]
pub mod river;

pub use engine::{BenchArgs, run};

/// The `q` quantile of sorted durations, in milliseconds (0 for none).
pub(crate) fn percentile_ms(sorted: &[std::time::Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}
