//! Message types, the ranking of delivery statuses, and SMS consent keywords.

use serde::Serialize;

use crate::ids::{BrandId, OrgId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub i64);

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }
}

/// Where a message is. Outbound: `queued` (ours) -> `sending` (handed to the provider, outcome
/// not yet recorded) -> the provider's `queued`/`sent` -> `delivered`, `undelivered` or
/// `failed`; `suppressed` when consent forbids it. Inbound: `received`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Queued,
    Sending,
    Sent,
    Delivered,
    Undelivered,
    Failed,
    Suppressed,
    Received,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Queued => "queued",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Undelivered => "undelivered",
            MessageStatus::Failed => "failed",
            MessageStatus::Suppressed => "suppressed",
            MessageStatus::Received => "received",
        }
    }

    pub fn parse(s: &str) -> Option<MessageStatus> {
        Some(match s {
            "queued" => MessageStatus::Queued,
            "sending" => MessageStatus::Sending,
            "sent" => MessageStatus::Sent,
            "delivered" => MessageStatus::Delivered,
            "undelivered" => MessageStatus::Undelivered,
            "failed" => MessageStatus::Failed,
            "suppressed" => MessageStatus::Suppressed,
            "received" => MessageStatus::Received,
            _ => return None,
        })
    }

    /// Reads a Twilio status word (`accepted`, `scheduled`, `queued`, `sending`, `sent`,
    /// `delivered`, `undelivered`, `failed`, `read`, `canceled`) as ours.
    pub fn from_twilio(s: &str) -> Option<MessageStatus> {
        Some(match s {
            "accepted" | "scheduled" | "queued" => MessageStatus::Queued,
            "sending" => MessageStatus::Sending,
            "sent" => MessageStatus::Sent,
            "delivered" | "read" => MessageStatus::Delivered,
            "undelivered" => MessageStatus::Undelivered,
            "failed" | "canceled" => MessageStatus::Failed,
            _ => return None,
        })
    }

    /// Statuses only move up this ladder: a late "sent" never overwrites "delivered".
    /// Terminal outcomes share the top rank: the first one recorded stands.
    pub fn rank(self) -> u8 {
        match self {
            MessageStatus::Queued => 0,
            MessageStatus::Sending => 1,
            MessageStatus::Sent => 2,
            MessageStatus::Delivered | MessageStatus::Undelivered | MessageStatus::Failed => 3,
            MessageStatus::Suppressed | MessageStatus::Received => 4,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MessageStatus::Queued => "Queued",
            MessageStatus::Sending => "Sending",
            MessageStatus::Sent => "Sent",
            MessageStatus::Delivered => "Delivered",
            MessageStatus::Undelivered => "Undelivered",
            MessageStatus::Failed => "Failed",
            MessageStatus::Suppressed => "Not sent (opted out)",
            MessageStatus::Received => "Received",
        }
    }
}

/// True when a status update from `current` to `next` moves forward.
pub fn advances(current: MessageStatus, next: MessageStatus) -> bool {
    next.rank() > current.rank()
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: MessageId,
    pub org_id: OrgId,
    pub brand_id: Option<BrandId>,
    pub channel: Channel,
    pub direction: &'static str,
    pub from: String,
    pub to: String,
    pub subject: Option<String>,
    pub body: String,
    pub status: MessageStatus,
    pub provider_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
}

/// What an inbound text asks for, by the carrier-standard keywords (the whole message, any
/// case, surrounding spaces and punctuation ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    OptOut,
    OptIn,
    Help,
}

pub fn keyword(body: &str) -> Option<Keyword> {
    let word: String = body.trim().trim_matches(|c: char| c.is_ascii_punctuation()).to_uppercase();
    match word.as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "REVOKE" | "OPTOUT" => Some(Keyword::OptOut),
        "START" | "UNSTOP" | "YES" => Some(Keyword::OptIn),
        "HELP" | "INFO" => Some(Keyword::Help),
        _ => None,
    }
}

/// The HELP reply when a brand has not written its own.
pub fn default_help_reply(brand_name: &str, brand_phone: Option<&str>) -> String {
    match brand_phone {
        Some(p) => format!(
            "{brand_name}: for help call {}. Msg&data rates may apply. Reply STOP to opt out.",
            crate::parse::display_phone(p)
        ),
        None => format!("{brand_name}: Msg&data rates may apply. Reply STOP to opt out."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_whole_messages_in_any_case() {
        let cases = [
            ("STOP", Some(Keyword::OptOut)),
            (" stop ", Some(Keyword::OptOut)),
            ("Stop.", Some(Keyword::OptOut)),
            ("unsubscribe", Some(Keyword::OptOut)),
            ("Cancel", Some(Keyword::OptOut)),
            ("END", Some(Keyword::OptOut)),
            ("quit", Some(Keyword::OptOut)),
            ("START", Some(Keyword::OptIn)),
            ("unstop", Some(Keyword::OptIn)),
            ("HELP", Some(Keyword::Help)),
            ("please stop by at 3", None),
            ("cancel my appointment tomorrow", None),
            ("", None),
        ];
        for (body, want) in cases {
            assert_eq!(keyword(body), want, "{body:?}");
        }
    }

    #[test]
    fn statuses_never_move_backwards() {
        use MessageStatus::*;
        let cases = [
            (Queued, Sent, true),
            (Sent, Delivered, true),
            (Delivered, Sent, false),
            (Delivered, Failed, false),
            (Failed, Delivered, false),
            (Sending, Queued, false),
            (Sent, Sent, false),
            (Sent, Undelivered, true),
        ];
        for (from, to, want) in cases {
            assert_eq!(advances(from, to), want, "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn twilio_words_map_to_ours() {
        assert_eq!(MessageStatus::from_twilio("accepted"), Some(MessageStatus::Queued));
        assert_eq!(MessageStatus::from_twilio("read"), Some(MessageStatus::Delivered));
        assert_eq!(MessageStatus::from_twilio("canceled"), Some(MessageStatus::Failed));
        assert_eq!(MessageStatus::from_twilio("receiving"), None);
        for s in ["queued", "sending", "sent", "delivered", "undelivered", "failed", "suppressed", "received"] {
            assert_eq!(MessageStatus::parse(s).map(MessageStatus::as_str), Some(s));
        }
    }

    #[test]
    fn default_help_names_the_brand_and_how_to_stop() {
        let r = default_help_reply("Summit", Some("+17205550100"));
        assert!(r.contains("Summit") && r.contains("(720) 555-0100") && r.contains("STOP"));
    }
}
