//! Leads: types, and the rules for reading contact details out of free text.

use serde::Serialize;

use crate::ids::{BrandId, CustomerId, JobId, LeadId, OrgId, TechnicianId};
use crate::parse::{Country, PhoneE164};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadSource {
    Sms,
    Web,
    Email,
    Call,
}

impl LeadSource {
    pub const ALL: [LeadSource; 4] = [LeadSource::Sms, LeadSource::Web, LeadSource::Email, LeadSource::Call];
    pub fn as_str(self) -> &'static str {
        match self {
            LeadSource::Sms => "sms",
            LeadSource::Web => "web",
            LeadSource::Email => "email",
            LeadSource::Call => "call",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            LeadSource::Sms => "SMS",
            LeadSource::Web => "Web",
            LeadSource::Email => "Email",
            LeadSource::Call => "Call",
        }
    }
    pub fn parse(s: &str) -> Result<LeadSource, String> {
        LeadSource::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("\"{s}\" is not a lead source (sms, web, email, call)"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    New,
    Contacted,
    Converted,
    Archived,
}

impl LeadStatus {
    pub const ALL: [LeadStatus; 4] =
        [LeadStatus::New, LeadStatus::Contacted, LeadStatus::Converted, LeadStatus::Archived];
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Contacted => "contacted",
            LeadStatus::Converted => "converted",
            LeadStatus::Archived => "archived",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            LeadStatus::New => "New",
            LeadStatus::Contacted => "Contacted",
            LeadStatus::Converted => "Converted",
            LeadStatus::Archived => "Archived",
        }
    }
    pub fn parse(s: &str) -> Result<LeadStatus, String> {
        LeadStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("\"{s}\" is not a lead status (new, contacted, converted, archived)"))
    }
    /// Open leads collect later messages from the same person.
    pub fn is_open(self) -> bool {
        matches!(self, LeadStatus::New | LeadStatus::Contacted)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LeadMessage {
    pub direction: String,
    pub channel: String,
    pub subject: Option<String>,
    pub body: String,
    pub at: jiff::Timestamp,
    /// Delivery status of an outbound reply (queued, sent, delivered, failed, ...).
    pub delivery: Option<String>,
    pub author: Option<String>,
    /// The phone call it is about (a voicemail or a missed call).
    pub call_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Lead {
    pub id: LeadId,
    pub org_id: OrgId,
    pub brand_id: BrandId,
    pub source: LeadSource,
    pub status: LeadStatus,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub service: Option<String>,
    pub job_id: Option<JobId>,
    pub job_code: Option<String>,
    pub converted_by: Option<String>,
    /// The customer the lead became (its job's), or else the one with the lead's phone.
    pub customer_id: Option<CustomerId>,
    pub customer_name: Option<String>,
    pub unread: bool,
    pub last_message_at: jiff::Timestamp,
    pub created_at: jiff::Timestamp,
    pub messages: Vec<LeadMessage>,
    /// The brand's urgent word or phrase the customer wrote ("no heat"), if any.
    pub urgent: Option<String>,
}

impl Lead {
    /// Flags the lead with the first of `words` its customer wrote, oldest message first.
    pub fn flag_urgent(&mut self, words: &crate::tenancy::UrgentWords) {
        self.urgent = self
            .messages
            .iter()
            .filter(|m| m.direction == "inbound")
            .find_map(|m| words.first_in(&format!("{}\n{}", m.subject.as_deref().unwrap_or(""), m.body)));
    }
}

/// What the inbox shows: filters combine; `search` matches name, phone, email or text.
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub source: Option<LeadSource>,
    pub status: Option<LeadStatus>,
    pub brand: Option<BrandId>,
    pub search: Option<String>,
    pub limit: Option<i64>,
}

/// Who the lead is, as far as the message tells.
#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub name: Option<String>,
    pub phone: Option<PhoneE164>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub service: Option<String>,
}

/// A new customer typed in the convert form.
#[derive(Debug, Clone, Default)]
pub struct CustomerInput {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
}

/// Everything the convert form or API sends.
#[derive(Debug, Clone, Default)]
pub struct ConvertInput {
    /// An existing customer, or
    pub customer_id: Option<CustomerId>,
    /// a new one (matched to an existing customer by phone if there is one).
    pub customer: Option<CustomerInput>,
    pub service: String,
    pub address: Option<String>,
    pub scheduled_start: Option<jiff::Timestamp>,
    pub scheduled_end: Option<jiff::Timestamp>,
    pub tech_ids: Vec<TechnicianId>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Converted {
    pub lead_id: LeadId,
    pub job_id: JobId,
    pub job_code: String,
    pub customer_id: CustomerId,
}

/// Phone numbers written anywhere in a text, normalised (national ones by `country`'s plan),
/// in order, without repeats.
pub fn phones_in(text: &str, country: Country) -> Vec<PhoneE164> {
    let mut found: Vec<PhoneE164> = Vec::new();
    let mut candidate = String::new();
    let flush = |candidate: &mut String, found: &mut Vec<PhoneE164>| {
        let digits = candidate.chars().filter(char::is_ascii_digit).count();
        if (10..=15).contains(&digits)
            && let Ok(p) = PhoneE164::parse_in(candidate.trim().trim_end_matches(['.', '-']).trim(), country)
            && !found.contains(&p)
        {
            found.push(p);
        }
        candidate.clear();
    };
    for c in text.chars() {
        let part_of_number = c.is_ascii_digit() || matches!(c, '+' | '(' | ')' | '-' | '.' | ' ');
        if part_of_number && !(candidate.is_empty() && !(c.is_ascii_digit() || c == '+' || c == '(')) {
            candidate.push(c);
        } else {
            flush(&mut candidate, &mut found);
        }
    }
    flush(&mut candidate, &mut found);
    found
}

/// The new part of an email reply: everything before the quoted history or the signature.
pub fn strip_quoted(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        let quote_header = t.starts_with("On ") && t.ends_with("wrote:");
        if t.starts_with('>')
            || quote_header
            || t.starts_with("-----Original Message-----")
            || t == "--"
            || t.starts_with("________________")
            || t.starts_with("Sent from my ")
        {
            break;
        }
        kept.push(line);
    }
    kept.join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_found_in_free_text() {
        let got: Vec<String> =
            phones_in("Call me at (303) 555-0142 or 720.555.0199, not 12345. Cell +1 720 555 0199.", Country::us())
                .into_iter()
                .map(|p| p.as_str().to_string())
                .collect();
        assert_eq!(got, ["+13035550142", "+17205550199"]);
        assert!(phones_in("Order #1234567 shipped on 2026-11-22", Country::us()).is_empty());
        assert!(phones_in("", Country::us()).is_empty());
    }

    #[test]
    fn quoted_history_and_signatures_are_cut() {
        let text = "Yes, Tuesday works.\n\nOn Mon, Nov 23, 2026 at 9:00 AM Summit <jobs@summit.example> wrote:\n> Can we come Tuesday?";
        assert_eq!(strip_quoted(text), "Yes, Tuesday works.");
        assert_eq!(strip_quoted("Please call.\n--\nTara Patel\nAcme Corp"), "Please call.");
        assert_eq!(strip_quoted("Hi\n-----Original Message-----\nFrom: x"), "Hi");
        assert_eq!(strip_quoted("Leak under sink\nSent from my iPhone"), "Leak under sink");
        assert_eq!(strip_quoted("No quotes here"), "No quotes here");
    }

    #[test]
    fn sources_and_statuses_parse() {
        for s in LeadSource::ALL {
            assert_eq!(LeadSource::parse(s.as_str()), Ok(s));
        }
        for s in LeadStatus::ALL {
            assert_eq!(LeadStatus::parse(s.as_str()), Ok(s));
        }
        assert!(LeadSource::parse("fax").is_err());
        assert!(LeadStatus::New.is_open() && !LeadStatus::Converted.is_open());
    }
}
