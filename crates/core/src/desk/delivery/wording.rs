//! What recipients read: a message's email and text, a daily recap's email, a secure message's
//! notice (which never carries the message), and the preview Settings shows before any call.

use super::recap::Waiting;
use super::*;

/// `8:00 AM Mon Dec 7`.
pub(super) fn recap_label(at: jiff::Timestamp, brand: &Brand) -> String {
    let tz = brand.zone();
    format!("{} {}", when::time(at, &tz), when::date(at, &tz))
}

/// The caller's name, when the protocol asked for it.
pub(super) fn caller_name(answers: &[Answer]) -> Option<&str> {
    answers.iter().find(|a| a.key == "caller_name").map(|a| a.value.as_str())
}

/// The email of one message: subject and text.
pub(super) fn email_of(m: &Taken<'_>, _now: jiff::Timestamp) -> (String, String) {
    let tz = m.brand.zone();
    let urgent = if m.urgent { "URGENT message" } else { "Message" };
    let subject = match caller_name(m.answers) {
        Some(name) => format!("{urgent} for {} from {name}", m.brand.name),
        None => format!("{urgent} for {} ({})", m.brand.name, m.caller.name),
    };
    // An operator is named; an integration is not someone the recipient knows.
    let by = match m.taken_by.strip_prefix("user:") {
        Some(_) => format!(" by {}", crate::jobs::dispatch::actor_name(m.taken_by)),
        None => String::new(),
    };
    let mut text = format!(
        "{urgent} for {}, taken{by} at {} {}.\n\n",
        m.brand.name,
        when::time(m.taken_at, &tz),
        when::date(m.taken_at, &tz),
    );
    if m.several_types {
        text.push_str(&format!("Caller: {}\n", m.caller.name));
    }
    for a in m.answers {
        text.push_str(&format!("{}: {}\n", a.label, a.shown()));
    }
    if m.urgent {
        match m.urgent_reason {
            Some(r) => text.push_str(&format!("\nUrgent: {}.\n", r.trim_end_matches('.'))),
            None => text.push_str("\nMarked urgent by the operator.\n"),
        }
    }
    (subject, text)
}

/// The most a desk text carries; longer answers are shortened to fit.
pub const TEXT_MAX: usize = 640;

/// The text of one message: `URGENT Harbor Plumbing message (Caller): Caller's name: Dana
/// Ruiz; Callback number: (303) 555-0132; ... Taken 9:14 PM Sun Dec 6.`
pub(super) fn text_of(m: &Taken<'_>) -> String {
    text_within(m, TEXT_MAX)
}

/// The most a page carries: what alphanumeric pagers show.
pub const PAGE_MAX: usize = 240;

/// A page: the text's words on one line (SNPP and pagers take no line breaks), shortened to
/// [`PAGE_MAX`].
pub(super) fn page_of(m: &Taken<'_>) -> String {
    crate::providers::snpp::one_line(&text_within(m, PAGE_MAX))
}

pub(super) fn text_within(m: &Taken<'_>, max: usize) -> String {
    let tz = m.brand.zone();
    let kind = if m.several_types { format!(" ({})", m.caller.name) } else { String::new() };
    let head = format!("{}{} message{kind}: ", if m.urgent { "URGENT " } else { "" }, m.brand.name);
    let tail = format!(" Taken {} {}.", when::time(m.taken_at, &tz), when::date(m.taken_at, &tz));
    let parts: Vec<String> = m.answers.iter().map(|a| format!("{}: {}", a.label, a.shown())).collect();
    let mut body = parts.join("; ");
    let room = max.saturating_sub(head.chars().count() + tail.chars().count());
    if body.chars().count() > room {
        body = body.chars().take(room.saturating_sub(1)).collect::<String>().trim_end().to_string();
        body.push('…');
    } else if !body.ends_with(['.', '!', '?']) {
        body.push('.');
    }
    format!("{head}{body}{tail}")
}

/// A fax of one message: the document (heading, when and by whom, each answer, why urgent)
/// and the email that carries it to the gateway (subject and a short text; some gateways
/// print the text as a cover page).
pub(super) fn fax_of(m: &Taken<'_>) -> (crate::pdf::Document, String, String) {
    let (subject, text) = email_of(m, m.taken_at);
    let mut doc = crate::pdf::Document::new(&subject);
    doc.heading(&subject);
    if let Some(first) = text.lines().next() {
        doc.text(first);
    }
    doc.gap();
    if m.several_types {
        doc.field("Caller", &m.caller.name);
    }
    for a in m.answers {
        doc.field(&a.label, &a.shown());
    }
    if m.urgent {
        doc.gap();
        match m.urgent_reason {
            Some(r) => doc.field("Urgent", r.trim_end_matches('.')),
            None => doc.text("Marked urgent by the operator."),
        };
    }
    let pages = match doc.page_count() {
        1 => "1 page".to_string(),
        n => format!("{n} pages"),
    };
    let cover = format!("{subject}: the message is in the attached PDF ({pages}).");
    (doc, subject, cover)
}

/// The recap email: `Harbor Plumbing: 3 messages for your 8:00 AM recap`.
pub(super) fn recap_of(
    brand: &Brand,
    at: jiff::Timestamp,
    since: Option<jiff::Timestamp>,
    waiting: &[Waiting],
) -> Result<(String, String)> {
    let tz = brand.zone();
    let count = match waiting.len() {
        1 => "1 message".to_string(),
        n => format!("{n} messages"),
    };
    let subject = format!("{}: {count} for your {} recap", brand.name, when::time(at, &tz));
    let mut text = match since {
        Some(s) => format!(
            "{count} for {} taken between {} {} and {} {}.\n",
            brand.name,
            when::time(s, &tz),
            when::date(s, &tz),
            when::time(at, &tz),
            when::date(at, &tz)
        ),
        None => format!("{count} for {} taken before {} {}.\n", brand.name, when::time(at, &tz), when::date(at, &tz)),
    };
    for (i, w) in waiting.iter().enumerate() {
        let answers: Vec<Answer> = serde_json::from_str(&w.answers)
            .map_err(|e| Error::Unexpected(format!("desk message {}: {e}", w.message_id)))?;
        let taken = from_millis(w.taken_at);
        text.push_str(&format!(
            "\n{}. {} {} ({}){}\n",
            i + 1,
            when::time(taken, &tz),
            when::date(taken, &tz),
            w.caller_type_name,
            if w.urgent != 0 { ", URGENT" } else { "" }
        ));
        for a in &answers {
            text.push_str(&format!("   {}: {}\n", a.label, a.shown()));
        }
        if let Some(r) = w.urgent_reason.as_deref().filter(|_| w.urgent != 0) {
            text.push_str(&format!("   Urgent: {r}\n"));
        }
    }
    Ok((subject, text))
}

/// The notice of a secure message: it says one is waiting and where, never what it says.
pub fn secure_notice_of(client: &str, urgent: bool, url: &str) -> (String, String) {
    let what = if urgent { "an urgent message" } else { "a new message" };
    let subject = format!("{client}: {what} in your secure inbox");
    let text = format!("{client}: {what} is waiting in your secure inbox. Read it here: {url}");
    (subject, text)
}

/// A secure message's notice as a push notification: (title, body). Tapping it opens the
/// inbox; like the text, it says nothing of the message.
pub fn push_notice_of(client: &str, urgent: bool) -> (String, String) {
    let what = if urgent { "An urgent message" } else { "A new message" };
    (client.to_string(), format!("{what} is waiting in your secure inbox. Tap to read it."))
}

/// What a recipient of this caller type's messages receives, shown in Settings before any
/// call: the email (subject and text), the text, and a secure message's notice, for a message
/// taken now with an example answer in every field (a callback number from the client's own
/// country plan, today's date, a choice's first option).
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub email_subject: String,
    pub email_text: String,
    pub text: String,
    pub secure_notice: String,
    /// A page (to a pager's email address or over SNPP).
    pub page: String,
    /// The fax, line by line as the fax machine prints it.
    pub fax: Vec<String>,
    /// The daily recap email holding this message: at the protocol's next recap time, or
    /// `None` when it has none.
    pub recap: Option<(String, String)>,
}

pub fn preview(brand: &Brand, protocol: &Protocol, caller: &CallerType, urgent: bool, now: jiff::Timestamp) -> Preview {
    use crate::form_fields::FieldKind;
    let today = now.to_zoned(brand.zone()).date();
    let answers: Vec<Answer> = caller
        .fields
        .iter()
        .map(|f| {
            let value = match (f.key.as_str(), f.kind) {
                ("caller_name", _) => "Jordan Lee".to_string(),
                (_, FieldKind::Phone) => {
                    brand.sms_number.as_ref().map(|n| n.as_str().to_string()).unwrap_or_else(|| "+13125550199".into())
                }
                (_, FieldKind::Email) => "jordan@example.com".into(),
                (_, FieldKind::Date) => today.strftime("%a %b %-d, %Y").to_string(),
                (_, FieldKind::Choice) => f.options.first().cloned().unwrap_or_default(),
                (_, FieldKind::YesNo) => "Yes".into(),
                (_, FieldKind::Number) => "2".into(),
                (_, FieldKind::LongText) => "What the caller said, in their words.".into(),
                (_, FieldKind::Text) => format!("({})", f.label.to_lowercase()),
            };
            Answer { key: f.key.clone(), label: f.label.clone(), value }
        })
        .collect();
    let reason = urgent.then(|| "the caller said \"no heat\"".to_string());
    let m = Taken {
        id: 0,
        brand,
        caller,
        answers: &answers,
        urgent,
        urgent_reason: reason.as_deref(),
        in_hours: true,
        several_types: protocol.caller_types.len() > 1,
        taken_by: "user:Morgan",
        taken_at: now,
    };
    let (email_subject, email_text) = email_of(&m, now);
    let (_, secure_notice) = secure_notice_of(&brand.name, urgent, "https://…/inbox/…");
    let (doc, _, _) = fax_of(&m);
    let fax = crate::pdf::lines_of(&doc.to_bytes()).unwrap_or_default();
    let recap = super::rules::next_recap(&protocol.recap_times, &brand.zone(), now).and_then(|at| {
        let waiting = super::recap::Waiting {
            id: 0,
            message_id: 0,
            caller_type_name: caller.name.clone(),
            answers: serde_json::to_string(&answers).ok()?,
            urgent: i64::from(urgent),
            urgent_reason: reason.clone(),
            taken_at: crate::clock::to_millis(now),
        };
        recap_of(brand, at, None, &[waiting]).ok()
    });
    Preview { email_subject, email_text, text: text_of(&m), secure_notice, page: page_of(&m), fax, recap }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::OrgId;

    fn brand() -> Brand {
        Brand {
            id: BrandId(1),
            org_id: OrgId(1),
            name: "Lakeside Clinic".into(),
            time_zone: crate::parse::TimeZoneName::parse("Europe/Berlin").unwrap(),
            country: crate::parse::Country::parse("DE").unwrap(),
            sms_number: None,
            inbound_email: None,
            color: "#0f766e".into(),
            logo_url: None,
            job_prefix: "J".into(),
            next_job_number: 1,
            sms_help_reply: None,
            urgent_words: crate::tenancy::UrgentWords::default(),
            working_hours: crate::tenancy::WorkingHours::default(),
        }
    }

    fn answer(key: &str, label: &str, value: &str) -> Answer {
        Answer { key: key.into(), label: label.into(), value: value.into() }
    }

    fn caller(name: &str) -> CallerType {
        CallerType {
            key: "doctor_or_lab".into(),
            name: name.into(),
            fields: Vec::new(),
            deliveries: Vec::new(),
            urgent_flow: None,
        }
    }

    #[test]
    fn a_message_with_no_name_and_no_reason_still_reads_whole() {
        let (brand, caller) = (brand(), caller("Doctor or lab"));
        // No caller's name asked; a number abroad; marked urgent with no reason; taken by an
        // operator on a day other than the recipient's today (12:30 AM in Berlin).
        let answers =
            [answer("practice", "Practice or lab", "Labor Nord"), answer("callback", "Callback", "+4930901820")];
        let m = Taken {
            id: 1,
            brand: &brand,
            caller: &caller,
            answers: &answers,
            urgent: true,
            urgent_reason: None,
            in_hours: false,
            several_types: true,
            taken_by: "user:Ana Lopez",
            taken_at: "2026-12-07T23:30:00Z".parse().unwrap(),
        };
        let (subject, text) = email_of(&m, m.taken_at);
        assert_eq!(subject, "URGENT message for Lakeside Clinic (Doctor or lab)");
        assert_eq!(
            text,
            "URGENT message for Lakeside Clinic, taken by Ana Lopez at 12:30 AM Tue Dec 8.\n\n\
             Caller: Doctor or lab\n\
             Practice or lab: Labor Nord\n\
             Callback: +49 30 901820\n\n\
             Marked urgent by the operator.\n"
        );
        assert_eq!(
            text_of(&m),
            "URGENT Lakeside Clinic message (Doctor or lab): Practice or lab: Labor Nord; Callback: +49 30 901820. \
             Taken 12:30 AM Tue Dec 8."
        );
    }

    #[test]
    fn a_long_message_is_shortened_to_fit_one_text_and_keeps_its_time() {
        let (brand, caller) = (brand(), caller("Caller"));
        let long = "word ".repeat(200);
        let answers = [answer("caller_name", "Caller's name", "Jo Park"), answer("message", "Message", long.trim())];
        let m = Taken {
            id: 1,
            brand: &brand,
            caller: &caller,
            answers: &answers,
            urgent: false,
            urgent_reason: None,
            in_hours: true,
            several_types: false,
            taken_by: "api",
            taken_at: "2026-12-08T09:00:00Z".parse().unwrap(),
        };
        let text = text_of(&m);
        // Cut at the limit, less the space before the cut.
        assert_eq!(text.chars().count(), TEXT_MAX - 1);
        assert!(text.starts_with("Lakeside Clinic message: Caller's name: Jo Park; Message: word word"), "{text}");
        assert!(text.ends_with("word… Taken 10:00 AM Tue Dec 8."), "{text}");
        let (subject, body) = email_of(&m, m.taken_at);
        assert_eq!(subject, "Message for Lakeside Clinic from Jo Park");
        assert!(
            body.starts_with("Message for Lakeside Clinic, taken at 10:00 AM Tue Dec 8.\n\n"),
            "the whole message goes by email: {body}"
        );
        assert!(body.ends_with(&format!("Message: {}\n", long.trim())));
        // A page holds what a pager shows, on one line.
        let page = page_of(&m);
        assert_eq!(page.chars().count(), PAGE_MAX - 1);
        assert!(page.ends_with("word… Taken 10:00 AM Tue Dec 8."), "{page}");
    }

    #[test]
    fn a_page_is_one_line_and_a_fax_holds_the_whole_message() {
        let (brand, caller) = (brand(), caller("Caller"));
        let answers = [
            answer("caller_name", "Caller's name", "Jo Park"),
            answer("message", "Message", "Water under the sink.\nCall before 6."),
        ];
        let m = Taken {
            id: 7,
            brand: &brand,
            caller: &caller,
            answers: &answers,
            urgent: true,
            urgent_reason: Some("Leak."),
            in_hours: true,
            several_types: false,
            taken_by: "user:Ana Lopez",
            taken_at: "2026-12-08T09:00:00Z".parse().unwrap(),
        };
        assert_eq!(
            page_of(&m),
            "URGENT Lakeside Clinic message: Caller's name: Jo Park; Message: Water under the sink. Call before 6. \
             Taken 10:00 AM Tue Dec 8."
        );
        let (doc, subject, cover) = fax_of(&m);
        assert_eq!(subject, "URGENT message for Lakeside Clinic from Jo Park");
        assert_eq!(
            cover,
            "URGENT message for Lakeside Clinic from Jo Park: the message is in the attached PDF (1 page)."
        );
        assert_eq!(
            crate::pdf::lines_of(&doc.to_bytes()).unwrap(),
            [
                "URGENT message for Lakeside Clinic from Jo Park",
                // 76 columns to a line: the rest wraps.
                "URGENT message for Lakeside Clinic, taken by Ana Lopez at 10:00 AM Tue Dec",
                "8.",
                "Caller's name: Jo Park",
                "Message: Water under the sink. Call before 6.",
                "Urgent: Leak",
                "Page 1 of 1",
            ]
        );
    }

    #[test]
    fn the_secure_notice_names_only_the_client() {
        assert_eq!(
            secure_notice_of("Lakeside Clinic", true, "https://x.example/inbox/t"),
            (
                "Lakeside Clinic: an urgent message in your secure inbox".to_string(),
                "Lakeside Clinic: an urgent message is waiting in your secure inbox. Read it here: https://x.example/inbox/t"
                    .to_string()
            )
        );
    }
}
