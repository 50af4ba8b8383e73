//! Outside systems behind traits. Each real adapter speaks the provider's wire format; the
//! local stand-ins (crate `switchboard-standins`) speak the same format, so tests and the demo
//! exercise the real adapters end to end.

pub mod email;
pub mod maps;
pub mod s3;
pub mod smtp_server;
pub mod snpp;
pub mod stripe;
pub mod twilio;
pub mod twilio_signature;
pub mod voice;
pub mod web_push;

use jiff::Timestamp;

use crate::engine::BoxFuture;

/// A text message for the provider to send.
#[derive(Debug, Clone)]
pub struct OutboundSms {
    pub from: String,
    pub to: String,
    pub body: String,
    /// Where the provider reports delivery status.
    pub status_callback: Option<String>,
}

/// The provider took the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub provider_id: String,
    /// The provider's status word at acceptance (Twilio: `queued`, `accepted`, ...).
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying: network trouble, 5xx, 429, bad credentials an admin can fix.
    Transient(String),
    /// The provider refused this message for good (invalid number, unsubscribed recipient).
    Rejected { code: Option<i64>, message: String },
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Transient(m) => write!(f, "{m}"),
            SendError::Rejected { code: Some(c), message } => write!(f, "rejected ({c}): {message}"),
            SendError::Rejected { code: None, message } => write!(f, "rejected: {message}"),
        }
    }
}

pub trait SmsProvider: Send + Sync + 'static {
    /// Short name stored with each message, e.g. `twilio`.
    fn name(&self) -> &'static str;
    fn send(&self, sms: OutboundSms) -> BoxFuture<Result<Accepted, SendError>>;
    /// The messages with this sender, recipient and body that the provider accepted since
    /// `since`, oldest first: how a retry after a crash finds out that the first try got
    /// through. Several texts may say the same words to one person ("Confirmed, thank you"):
    /// the caller adopts one that no other message holds.
    fn find_sent(
        &self,
        from: String,
        to: String,
        body: String,
        since: Timestamp,
    ) -> BoxFuture<Result<Vec<Accepted>, SendError>>;
}
