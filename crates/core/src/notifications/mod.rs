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
        ("invoiceNumber", "INV-1001".to_string()),
        ("invoiceUrl", "https://dispatch.example.com/i/8fK2mQ".to_string()),
        ("amountDue", "$189.00".to_string()),
    ])
}

/// Who a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Customer,
    /// The technicians on the job (by text: technicians have no email on file).
    Technician,
}

/// What a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// When a job is scheduled.
    Confirmation,
    /// When a booked job's window moves.
    Rescheduled,
    /// On the day of the job, at a time of day set per brand.
    Reminder,
    /// When a technician is dispatched.
    OnTheWay,
    /// When a booked job is canceled.
    Canceled,
    /// An invoice the office sends (billing): what is due and where to pay it.
    Invoice,
    /// An unpaid invoice (used by billing).
    InvoiceNudge,
    /// To a technician on a job whose window moved.
    TechRescheduled,
    /// To a technician taken off a job they had been told about.
    TechRemoved,
    /// To the technicians of a job that was canceled.
    TechCanceled,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Confirmation,
        Kind::Rescheduled,
        Kind::Reminder,
        Kind::OnTheWay,
        Kind::Canceled,
        Kind::Invoice,
        Kind::InvoiceNudge,
        Kind::TechRescheduled,
        Kind::TechRemoved,
        Kind::TechCanceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Confirmation => "confirmation",
            Kind::Rescheduled => "rescheduled",
            Kind::Reminder => "reminder",
            Kind::OnTheWay => "on_the_way",
            Kind::Canceled => "canceled",
            Kind::Invoice => "invoice",
            Kind::InvoiceNudge => "invoice_nudge",
            Kind::TechRescheduled => "tech_rescheduled",
            Kind::TechRemoved => "tech_removed",
            Kind::TechCanceled => "tech_canceled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Confirmation => "Booking confirmation",
            Kind::Rescheduled => "Reschedule notice",
            Kind::Reminder => "Day-of reminder",
            Kind::OnTheWay => "On the way",
            Kind::Canceled => "Cancellation notice",
            Kind::Invoice => "Invoice",
            Kind::InvoiceNudge => "Unpaid invoice",
            Kind::TechRescheduled => "Job moved",
            Kind::TechRemoved => "Taken off a job",
            Kind::TechCanceled => "Job canceled",
        }
    }

    pub fn audience(self) -> Audience {
        match self {
            Kind::TechRescheduled | Kind::TechRemoved | Kind::TechCanceled => Audience::Technician,
            _ => Audience::Customer,
        }
    }

    /// Whether a brand that never saved this kind sends it by text. Technicians are told of
    /// changes to their work from the start, as they are texted their jobs; customers hear
    /// only what the office turned on.
    pub fn texts_by_default(self) -> bool {
        self.audience() == Audience::Technician
    }

    /// Until a brand saves them, these go out wherever its booking confirmation does: an
    /// office that confirms bookings wants a moved or canceled booking told the same way.
    pub fn follows_confirmation(self) -> bool {
        matches!(self, Kind::Rescheduled | Kind::Canceled)
    }

    /// What the job's history says when a technician was texted this kind.
    pub fn tech_note(self, name: &str) -> String {
        match self {
            Kind::TechRemoved => format!("{name} texted that they are off the job"),
            Kind::TechCanceled => format!("{name} texted that the job is canceled"),
            _ => format!("{name} texted the job's new window"),
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn default_email_subject(self) -> &'static str {
        match self {
            Kind::Confirmation => "Your {service} is booked ({jobCode})",
            Kind::Rescheduled => "Your {service} has moved to {windowDay} ({jobCode})",
            Kind::Reminder => "See you {windowDay}: {service} with {brandName}",
            Kind::OnTheWay => "{techName} is on the way",
            Kind::Canceled => "Your {service} is canceled ({jobCode})",
            Kind::Invoice => "Invoice {invoiceNumber} from {brandName}: {amountDue} due",
            Kind::InvoiceNudge => "{amountDue} due for {jobCode}",
            Kind::TechRescheduled => "{jobCode} has moved to {windowDay}",
            Kind::TechRemoved => "You're off {jobCode}",
            Kind::TechCanceled => "{jobCode} is canceled",
        }
    }

    /// The text a brand starts with; every default parses.
    pub fn default_sms(self) -> &'static str {
        match self {
            Kind::Confirmation => {
                "Hi {customerFirstName}, your {service} with {brandName} is booked for {window} ({jobCode}). Questions? Call {brandPhone}."
            }
            Kind::Rescheduled => {
                "Hi {customerFirstName}, your {service} with {brandName} has moved to {window} ({jobCode}). Questions? Call {brandPhone}."
            }
            Kind::Reminder => {
                "Reminder from {brandName}: we'll see you {windowDay} between {windowStart} and {windowEnd} for your {service}. Reply or call {brandPhone} to change it."
            }
            Kind::OnTheWay => {
                "{techName} from {brandName} is on the way, arriving {techETA}. Follow along: {trackingUrl}"
            }
            Kind::Canceled => {
                "Hi {customerFirstName}, your {service} with {brandName} for {window} ({jobCode}) has been canceled. To book again, call {brandPhone}."
            }
            Kind::Invoice => {
                "Hi {customerFirstName}, here is your invoice {invoiceNumber} from {brandName} for {service} ({jobCode}): {amountDue} due. View and pay: {invoiceUrl}"
            }
            Kind::InvoiceNudge => {
                "Hi {customerFirstName}, {amountDue} is still due for {jobCode} with {brandName}. Pay here: {invoiceUrl}"
            }
            Kind::TechRescheduled => "{brandName}: {jobCode} ({service}) has moved to {window}.",
            Kind::TechRemoved => {
                "{brandName}: you're off {jobCode} ({service}). No need to go; it is gone from your stops."
            }
            Kind::TechCanceled => {
                "{brandName}: {jobCode} ({service}) was canceled. No need to go; it is gone from your stops."
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
