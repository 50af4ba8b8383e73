//! Local stand-ins for outside providers, speaking their real wire formats on loopback: a
//! Twilio-compatible SMS API with simulated phones, an SMTP sink, and an S3-compatible bucket. Used in-process by
//! tests, by `switchboard serve` when no provider is configured, and by `switchboard standin`.

pub mod s3;
pub mod smtp;
pub mod twilio;
