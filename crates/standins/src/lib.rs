//! Local stand-ins for outside providers, speaking their real wire formats on loopback: a
//! Twilio-compatible SMS and voice API with simulated phones, a Stripe-compatible payments API (Checkout
//! Sessions, a hosted test-card page, signed webhook events), an SMTP sink (and an email-to-fax
//! gateway over it), an SNPP paging server, a Web Push service that checks VAPID and decrypts like
//! a browser, an S3-compatible bucket, and a maps service (Nominatim search, OSRM routes). Used
//! in-process by tests, by `switchboard serve` when no provider is configured, and by `switchboard
//! standin`.

pub mod fax;
pub mod maps;
pub mod push;
pub mod s3;
pub mod smtp;
pub mod snpp;
pub mod stripe;
pub mod twilio;
