//! Customer notifications (issue 6): the kinds, their default wording, and templates with
//! merge fields. Sending through the engine, per-brand settings and the tracking page build
//! on this.

pub mod email_html;
pub mod rules;
pub mod send;
pub mod settings;
pub mod template;

pub use rules::{CrewEvent, QuietHours, SiteCrew, reminder_at};
pub use template::{MERGE_FIELDS, Template, TemplateError};

/// Registers the worker that sends customer notifications, and the listener that queues them
/// when jobs change.
pub fn register(workers: &mut crate::engine::Workers, notifier: send::Notifier) {
    workers.add(notifier);
    workers.listen(send::JobNotices);
}

/// Values for previews when no job is picked: a plausible customer, technician and window.
pub fn sample_values(brand: &crate::tenancy::Brand) -> std::collections::HashMap<&'static str, String> {
    let phone = brand.sms_number.as_deref().map(crate::parse::display_phone).unwrap_or_else(|| "(720) 555-0100".into());
    std::collections::HashMap::from([
        ("customerName", "Tara Patel".to_string()),
        ("customerFirstName", "Tara".to_string()),
        ("techName", "Maria".to_string()),
        ("techETA", "about 2:40 PM".to_string()),
        ("trackingUrl", "https://dispatch.example.com/t/3q2X9vLk".to_string()),
        ("jobCode", format!("{}-2206", brand.job_prefix)),
        ("service", "AC diagnose".to_string()),
        ("window", "today, 2:00 PM-4:00 PM".to_string()),
        ("windowDay", "today".to_string()),
        ("windowStart", "2:00 PM".to_string()),
        ("windowEnd", "4:00 PM".to_string()),
        ("brandName", brand.name.clone()),
        ("brandPhone", phone),
        ("invoiceUrl", "https://dispatch.example.com/pay/8fK2mQ".to_string()),
        ("amountDue", "$189.00".to_string()),
    ])
}

/// What a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn default_email_subject(self) -> &'static str {
        match self {
            Kind::Confirmation => "Your {service} is booked ({jobCode})",
            Kind::Reminder => "See you {windowDay}: {service} with {brandName}",
            Kind::OnTheWay => "{techName} is on the way",
            Kind::InvoiceNudge => "{amountDue} due for {jobCode}",
        }
    }

    /// The text a brand starts with; every default parses.
    pub fn default_sms(self) -> &'static str {
        match self {
            Kind::Confirmation => {
                "Hi {customerFirstName}, your {service} with {brandName} is booked for {window} ({jobCode}). Questions? Call {brandPhone}."
            }
            Kind::Reminder => {
                "Reminder from {brandName}: we'll see you {windowDay} between {windowStart} and {windowEnd} for your {service}. Reply or call {brandPhone} to change it."
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
        for kind in Kind::ALL {
            Template::parse(kind.default_email_subject()).unwrap();
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
    }
}
