//! What providers send us: Twilio's SMS webhooks and Stripe's events (signed) and inbound
//! email over SMTP. Each
//! is stored durably before it is acknowledged.

pub mod mail;
pub mod stripe;
pub mod twilio;
pub mod voice;

pub use twilio::routes;
