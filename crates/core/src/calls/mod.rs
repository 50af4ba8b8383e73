//! Phone calls with customers (C7): a brand's call routing (parallel, round-robin, linear
//! hunt; business hours and after hours), whom a call rings and how (browser, cell with a
//! whisper, both), voicemail, recordings kept in our storage, and the calls list. A voicemail
//! or a missed call becomes a lead, threaded with the caller's texts.
//!
//! Not to be confused with [`crate::escalation::calls`], the calls an escalation places to
//! reach the person on call.

pub mod inbound;
pub mod model;
pub mod outbound;
pub mod patch;
pub mod recordings;
pub mod route;
pub mod settings;
pub mod softphone;
pub mod store;

pub use model::{AfterHours, Call, Member, Outcome, Recording, RingMode, Routing, Strategy};

/// Registers `calls.fetch_recording` and `calls.patch`.
pub fn register(workers: &mut crate::engine::Workers, fetcher: recordings::Fetcher, patcher: patch::Patcher) {
    workers.add(fetcher).add(patcher);
}
