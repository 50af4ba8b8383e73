//! What providers send us: Twilio's SMS webhooks (signed) and inbound email over SMTP. Each
//! is stored durably before it is acknowledged.

pub mod mail;
pub mod twilio;

pub use twilio::routes;
