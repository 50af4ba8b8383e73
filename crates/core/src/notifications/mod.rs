//! Customer notifications (issue 6): the kinds, their default wording, and templates with
//! merge fields. Sending through the engine, per-brand settings and the tracking page build
//! on this.

pub mod rules;
pub mod template;

pub use rules::{CrewEvent, QuietHours, SiteCrew, reminder_at};
pub use template::{MERGE_FIELDS, Template, TemplateError};

/// What a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// When a job is scheduled.
    Confirmation,
    /// On the day of the job, at a time of day set per brand.
    Reminder,
    /// When a technician is dispatched.
    OnTheWay,
    /// An unpaid invoice (used by billing).
    InvoiceNudge,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Confirmation, Kind::Reminder, Kind::OnTheWay, Kind::InvoiceNudge];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Confirmation => "confirmation",
            Kind::Reminder => "reminder",
            Kind::OnTheWay => "on_the_way",
            Kind::InvoiceNudge => "invoice_nudge",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Confirmation => "Booking confirmation",
            Kind::Reminder => "Day-of reminder",
            Kind::OnTheWay => "On the way",
            Kind::InvoiceNudge => "Unpaid invoice",
        }
    }

    /// The text a brand starts with; every default parses.
    pub fn default_sms(self) -> &'static str {
        match self {
            Kind::Confirmation => {
                "Hi {customerFirstName}, your {service} with {brandName} is booked for {windowStart}-{windowEnd} ({jobCode}). Questions? Call {brandPhone}."
            }
            Kind::Reminder => {
                "Reminder from {brandName}: we'll see you today between {windowStart} and {windowEnd} for your {service}. Reply or call {brandPhone} to change it."
            }
            Kind::OnTheWay => {
                "{techName} from {brandName} is on the way, arriving {techETA}. Follow along: {trackingUrl}"
            }
            Kind::InvoiceNudge => {
                "Hi {customerFirstName}, {amountDue} is still due for {jobCode} with {brandName}. Pay here: {invoiceUrl}"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_template_parses() {
        for kind in Kind::ALL {
            let t = Template::parse(kind.default_sms()).unwrap_or_else(|e| panic!("{}: {e}", kind.label()));
            assert!(!t.fields().is_empty(), "{} uses merge fields", kind.label());
        }
        assert!(Template::parse(Kind::OnTheWay.default_sms()).unwrap().fields().contains(&"trackingUrl"));
    }
}
