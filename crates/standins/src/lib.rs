//! Local stand-ins for outside providers, speaking their real wire formats on loopback: a
//! Twilio-compatible SMS API with simulated phones, and an SMTP sink. Used in-process by
//! tests, by `switchboard serve` when no provider is configured, and by `switchboard standin`.

pub mod smtp;
pub mod twilio;
