//! Message templates with `{mergeField}` placeholders: checked when saved (an unknown field is
//! refused by name), rendered with a job's values when sent.

use std::collections::HashMap;

/// Every merge field a template may use, with what it becomes.
pub const MERGE_FIELDS: &[(&str, &str)] = &[
    ("customerName", "the customer's full name"),
    ("customerFirstName", "the customer's first name"),
    ("techName", "the technician's first name"),
    ("techETA", "when the technician should arrive (\"about 2:40 PM\")"),
    ("trackingUrl", "the arrival tracking page"),
    ("jobCode", "the job's code (J-2206)"),
    ("service", "the service booked"),
    (
        "window",
        "the arrival window with its day (\"today, 9:00 AM-11:00 AM\", \"tomorrow, Wed Nov 25, 9:00 AM-11:00 AM\")",
    ),
    ("windowDay", "the window's day (\"today\", \"tomorrow, Wed Nov 25\", \"Thu Nov 26\")"),
    ("windowStart", "start of the arrival window (\"9:00 AM\")"),
    ("windowEnd", "end of the arrival window (\"11:00 AM\")"),
    ("brandName", "the brand's name"),
    ("brandPhone", "the brand's phone number"),
    ("invoiceNumber", "the invoice's number (INV-1001)"),
    ("invoiceUrl", "the invoice's payment page"),
    ("amountDue", "the amount still due (\"$125.00\")"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(&'static str),
}

/// A template that passed [`Template::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    Empty,
    TooLong { max: usize },
    UnknownField(String),
    Unclosed,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::Empty => write!(f, "the message is empty"),
            TemplateError::TooLong { max } => write!(f, "a template can be at most {max} characters"),
            TemplateError::UnknownField(name) => write!(
                f,
                "{{{name}}} is not a merge field; use one of {}",
                MERGE_FIELDS.iter().map(|(n, _)| format!("{{{n}}}")).collect::<Vec<_>>().join(", ")
            ),
            TemplateError::Unclosed => write!(f, "a {{ is not closed; merge fields look like {{customerFirstName}}"),
        }
    }
}

pub const MAX_TEMPLATE_CHARS: usize = 2000;

impl Template {
    /// Reads `{field}` placeholders; `{{` and `}}` stand for literal braces.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        if source.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        if source.chars().count() > MAX_TEMPLATE_CHARS {
            return Err(TemplateError::TooLong { max: MAX_TEMPLATE_CHARS });
        }
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') | None => return Err(TemplateError::Unclosed),
                            Some(ch) => name.push(ch),
                        }
                    }
                    let name = name.trim();
                    let Some((field, _)) = MERGE_FIELDS.iter().find(|(f, _)| *f == name) else {
                        return Err(TemplateError::UnknownField(name.to_string()));
                    };
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Field(field));
                }
                other => text.push(other),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template { parts })
    }

    /// The merge fields the template uses, in order of first use.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for p in &self.parts {
            if let Part::Field(f) = p
                && !out.contains(f)
            {
                out.push(f);
            }
        }
        out
    }

    /// Fills the placeholders; a field without a value becomes empty text, and the blank
    /// left around it is tidied (no double spaces, no space before punctuation, no label
    /// left dangling at the end of a line: "Follow along:" without its link goes).
    pub fn render(&self, values: &HashMap<&'static str, String>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Field(f) => match values.get(f).filter(|v| !v.is_empty()) {
                    // Control characters never reach a value from a form, but be sure.
                    Some(v) => out.extend(v.chars().filter(|c| *c != MISSING)),
                    None => out.push(MISSING),
                },
            }
        }
        tidy(&out)
    }
}

/// Marks where a field had no value while rendering.
const MISSING: char = '\u{1}';

fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.split('\n') {
        if !out.is_empty() {
            out.push('\n');
        }
        // A line that ends in a missing value right after a colon lost what the label was for.
        let label_lost =
            line.trim_end_matches([' ', MISSING]).ends_with(':') && line.trim_end_matches(' ').ends_with(MISSING);
        let line: String = line.chars().filter(|c| *c != MISSING).collect();
        let mut prev_space = false;
        let mut line_out = String::new();
        for c in line.chars() {
            if c == ' ' {
                if !prev_space {
                    line_out.push(' ');
                }
                prev_space = true;
            } else {
                if matches!(c, '.' | ',' | '!' | '?' | ':' | ';') && line_out.ends_with(' ') {
                    line_out.pop();
                }
                line_out.push(c);
                prev_space = false;
            }
        }
        let mut line_out = line_out.trim_end().to_string();
        // The label goes, back to the end of the sentence before it.
        if label_lost && line_out.ends_with(':') {
            let cut = line_out[..line_out.len() - 1].rfind(['.', '!', '?']).map_or(0, |i| i + 1);
            line_out.truncate(cut);
        }
        out.push_str(line_out.trim_end());
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> HashMap<&'static str, String> {
        HashMap::from([
            ("customerFirstName", "Tara".to_string()),
            ("techName", "Maria".to_string()),
            ("brandName", "Summit Home Services".to_string()),
            ("windowStart", "Tue Nov 24, 9:00 AM".to_string()),
            ("windowEnd", "11:00 AM".to_string()),
        ])
    }

    #[test]
    fn renders_fields_and_keeps_literal_braces() {
        let t = Template::parse(
            "Hi {customerFirstName}, {techName} from {brandName} arrives {windowStart}-{windowEnd}. {{ok}}",
        )
        .unwrap();
        assert_eq!(
            t.render(&values()),
            "Hi Tara, Maria from Summit Home Services arrives Tue Nov 24, 9:00 AM-11:00 AM. {ok}"
        );
        assert_eq!(t.fields(), ["customerFirstName", "techName", "brandName", "windowStart", "windowEnd"]);
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let err = Template::parse("Hi {customerFristName}!").unwrap_err();
        assert_eq!(err, TemplateError::UnknownField("customerFristName".into()));
        assert!(err.to_string().starts_with("{customerFristName} is not a merge field"));
        assert!(err.to_string().contains("{customerFirstName}"));
        assert_eq!(Template::parse("Hi {customerName").unwrap_err(), TemplateError::Unclosed);
        assert_eq!(Template::parse("Hi {a{b}").unwrap_err(), TemplateError::Unclosed);
        assert_eq!(Template::parse("  ").unwrap_err(), TemplateError::Empty);
        assert!(matches!(Template::parse(&"x".repeat(2001)), Err(TemplateError::TooLong { .. })));
        assert_eq!(Template::parse("{}").unwrap_err(), TemplateError::UnknownField(String::new()));
    }

    #[test]
    fn a_label_left_without_its_value_is_dropped() {
        let t = Template::parse("{techName} is on the way. Follow along: {trackingUrl}\nCall {brandPhone}").unwrap();
        let v = HashMap::from([("techName", "Maria".to_string()), ("brandPhone", "(720) 555-0100".to_string())]);
        assert_eq!(t.render(&v), "Maria is on the way.\nCall (720) 555-0100");
        let t = Template::parse("Track: {trackingUrl}").unwrap();
        assert_eq!(t.render(&HashMap::new()), "");
        let t = Template::parse("Track: {trackingUrl}").unwrap();
        let v = HashMap::from([("trackingUrl", "https://x/t/1".to_string())]);
        assert_eq!(t.render(&v), "Track: https://x/t/1", "a label with its value stays");
        // A colon the template itself ends a line with is kept.
        let t = Template::parse("Hi {customerFirstName},\n\nYour visit details:\n{service}\nCall us at:\n{brandPhone}")
            .unwrap();
        let v = HashMap::from([("customerFirstName", "Tara".to_string()), ("service", "AC".to_string())]);
        assert_eq!(t.render(&v), "Hi Tara,\n\nYour visit details:\nAC\nCall us at:");
    }

    #[test]
    fn missing_values_leave_no_gaps() {
        let t = Template::parse("Track {techName} here: {trackingUrl} . Thanks, {brandName}").unwrap();
        let mut v = values();
        v.remove("techName");
        assert_eq!(t.render(&v), "Track here:. Thanks, Summit Home Services");
        let t = Template::parse("{customerFirstName} ,\n  see you {windowStart}").unwrap();
        assert_eq!(t.render(&HashMap::new()), ",\n see you");
    }
}
