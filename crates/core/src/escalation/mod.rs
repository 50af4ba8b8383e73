//! Urgent escalation (C9, issue 15), first step: the rules, as pure functions with table tests.
//! A policy is the ordered steps of a protocol's urgent flow (an action, its targets, a wait)
//! repeated a number of times or until someone confirms ([`policy`]); a running escalation
//! advances step by step as timers fire, people confirm or pass, and steps find nobody to
//! reach ([`run`]); people confirm by replying a short code ([`codes`]). Storage, the engine's
//! timers with their fence, texts, calls and the timeline build on these.

pub mod ack;
pub mod calls;
pub mod codes;
pub mod drive;
pub mod reach;
pub mod run;
pub mod store;
pub mod writes;
