//! Fields a business defines for a form of its own: a web form's fields beyond name, phone,
//! email, address and message, and the fields an answering service's operator captures for a
//! client. Each has a label, a type, a required flag and help text ("Best time to call",
//! choice of "Morning, Afternoon"); an answer is checked by its type and kept as
//! "Label: value".

use serde::{Deserialize, Serialize};

use crate::error::Validator;
use crate::parse::{Country, EmailAddress, PhoneE164};

/// At most this many fields per web form.
pub const MAX_FIELDS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    LongText,
    Number,
    Phone,
    Email,
    Date,
    Choice,
    YesNo,
}

impl FieldKind {
    pub const ALL: [FieldKind; 8] = [
        FieldKind::Text,
        FieldKind::LongText,
        FieldKind::Number,
        FieldKind::Phone,
        FieldKind::Email,
        FieldKind::Date,
        FieldKind::Choice,
        FieldKind::YesNo,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::LongText => "long_text",
            FieldKind::Number => "number",
            FieldKind::Phone => "phone",
            FieldKind::Email => "email",
            FieldKind::Date => "date",
            FieldKind::Choice => "choice",
            FieldKind::YesNo => "yes_no",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            FieldKind::Text => "Short text",
            FieldKind::LongText => "Long text",
            FieldKind::Number => "Number",
            FieldKind::Phone => "Phone number",
            FieldKind::Email => "Email address",
            FieldKind::Date => "Date",
            FieldKind::Choice => "Choice",
            FieldKind::YesNo => "Yes/no checkbox",
        }
    }
    pub fn parse(s: &str) -> Result<FieldKind, String> {
        FieldKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            let all: Vec<_> = FieldKind::ALL.iter().map(|k| k.as_str()).collect();
            format!("\"{s}\" is not a field type ({})", all.join(", "))
        })
    }
}

/// A custom field as the form shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomField {
    /// The name it is posted under (`best_time_to_call`); fixed once the field exists, so
    /// embedded copies of the form keep working when the label changes.
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    pub required: bool,
    /// The choices of a `choice` field, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl CustomField {
    /// The field as its editor shows it (key kept, options one per line).
    pub fn to_input(&self) -> CustomFieldInput {
        CustomFieldInput {
            key: Some(self.key.clone()),
            label: self.label.clone(),
            kind: self.kind.as_str().to_string(),
            required: self.required,
            options: self.options.join("\n"),
            help: self.help.clone().unwrap_or_default(),
        }
    }
}

/// A field as typed into the form editor or an API body.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CustomFieldInput {
    /// Absent for a new field: made from the label.
    pub key: Option<String>,
    pub label: String,
    pub kind: String,
    pub required: bool,
    /// One choice per line or comma-separated (a `choice` field).
    pub options: String,
    pub help: String,
}

/// "Best time to call?" -> "best_time_to_call".
fn key_from(label: &str) -> String {
    let mut key = String::new();
    for w in label.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        if !key.is_empty() {
            key.push('_');
        }
        key.push_str(&w.to_ascii_lowercase());
    }
    key.truncate(40);
    if key.is_empty() { "field".into() } else { key }
}

/// Checks the editor's fields (errors under `fields.{n}.label` and the like, counted from 1)
/// and gives each a key that is unique and not one `reserved` says the form uses itself (its
/// built-in fields; a key starting with `_` never is one).
pub fn check_fields(
    inputs: &[CustomFieldInput],
    max: usize,
    reserved: impl Fn(&str) -> bool,
    v: &mut Validator,
) -> Vec<CustomField> {
    let reserved = |key: &str| key.starts_with('_') || reserved(key);
    if inputs.len() > max {
        v.add("fields", format!("a form can have at most {max} fields of its own"));
        return Vec::new();
    }
    let mut out: Vec<CustomField> = Vec::new();
    for (i, f) in inputs.iter().enumerate() {
        let n = i + 1;
        let label = f.label.trim();
        let kind = match FieldKind::parse(f.kind.trim()) {
            Ok(k) => Some(k),
            Err(m) => {
                v.add(format!("fields.{n}.kind"), m);
                None
            }
        };
        if label.is_empty() {
            v.add(format!("fields.{n}.label"), "give the field a label");
        } else if label.chars().count() > 80 {
            v.add(format!("fields.{n}.label"), "use at most 80 characters");
        }
        let options: Vec<String> =
            f.options.split([',', '\n']).map(str::trim).filter(|o| !o.is_empty()).map(String::from).collect();
        if kind == Some(FieldKind::Choice) && options.len() < 2 {
            v.add(format!("fields.{n}.options"), "list at least two choices, one per line");
        }
        if options.iter().any(|o| o.chars().count() > 80) || options.len() > 30 {
            v.add(format!("fields.{n}.options"), "use at most 30 choices of 80 characters");
        }
        let help = f.help.trim();
        if help.chars().count() > 200 {
            v.add(format!("fields.{n}.help"), "use at most 200 characters");
        }
        let Some(kind) = kind else { continue };
        let mut key = match f.key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) if !reserved(k) && k.len() <= 40 && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
                k.to_string()
            }
            Some(k) => {
                v.add(format!("fields.{n}.key"), format!("\"{k}\" cannot be a field's name"));
                continue;
            }
            None => key_from(label),
        };
        if reserved(&key) {
            key = format!("{key}_2");
        }
        let base = key.clone();
        let mut again = 2;
        while out.iter().any(|o| o.key == key) {
            again += 1;
            key = format!("{base}_{again}");
        }
        out.push(CustomField {
            key,
            label: label.to_string(),
            kind,
            required: f.required,
            options: if kind == FieldKind::Choice { options } else { Vec::new() },
            help: Some(help.to_string()).filter(|h| !h.is_empty()),
        });
    }
    out
}

impl CustomField {
    /// The submitted value as the lead keeps it, or why it is refused (`None`: left empty
    /// and not required).
    pub fn read(&self, raw: Option<&str>, country: Country) -> Result<Option<String>, String> {
        let value = raw.map(str::trim).filter(|v| !v.is_empty());
        let Some(value) = value else {
            return match (self.required, self.kind) {
                (true, FieldKind::YesNo) => Err(format!("please tick \"{}\"", self.label)),
                (true, _) => Err(format!("please fill in \"{}\"", self.label)),
                // An unticked box is an answer too.
                (false, FieldKind::YesNo) => Ok(Some("No".into())),
                (false, _) => Ok(None),
            };
        };
        let too_long = |max: usize| value.chars().count() > max;
        match self.kind {
            FieldKind::Text if too_long(300) => Err("use at most 300 characters".into()),
            FieldKind::LongText if too_long(2000) => Err("use at most 2,000 characters".into()),
            FieldKind::Text | FieldKind::LongText => Ok(Some(value.to_string())),
            FieldKind::Number => match value.replace(',', "").parse::<f64>() {
                Ok(n) if n.is_finite() && value.len() <= 30 => Ok(Some(value.to_string())),
                _ => Err(format!("\"{value}\" is not a number")),
            },
            FieldKind::Phone => PhoneE164::parse_in(value, country).map(|p| Some(p.to_string())),
            FieldKind::Email => EmailAddress::parse(value).map(|e| Some(e.to_string())),
            FieldKind::Date => match value.parse::<jiff::civil::Date>() {
                Ok(d) => Ok(Some(d.strftime("%a %b %-d, %Y").to_string())),
                Err(_) => Err(format!("\"{value}\" is not a date like 2026-12-24")),
            },
            FieldKind::Choice => match self.options.iter().find(|o| o.eq_ignore_ascii_case(value)) {
                Some(o) => Ok(Some(o.clone())),
                None => Err(format!("pick one of: {}", self.options.join(", "))),
            },
            FieldKind::YesNo => match value.to_ascii_lowercase().as_str() {
                "yes" | "on" | "true" | "1" => Ok(Some("Yes".into())),
                "no" | "off" | "false" | "0" if !self.required => Ok(Some("No".into())),
                "no" | "off" | "false" | "0" => Err(format!("please tick \"{}\"", self.label)),
                _ => Err(format!("\"{value}\" is not yes or no")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(label: &str, kind: &str, required: bool, options: &str) -> CustomFieldInput {
        CustomFieldInput {
            key: None,
            label: label.into(),
            kind: kind.into(),
            required,
            options: options.into(),
            help: String::new(),
        }
    }

    #[test]
    fn fields_get_stable_unique_keys_that_never_shadow_built_in_ones() {
        let mut v = Validator::new();
        let fields = check_fields(
            &[
                input("Best time to call?", "choice", true, "Morning\nAfternoon, Evening"),
                input("Best time to call", "text", false, ""),
                input("Phone", "phone", false, ""),
                CustomFieldInput { key: Some("gate_code".into()), ..input("Gate code (renamed)", "text", false, "") },
            ],
            MAX_FIELDS,
            |k| k == "phone",
            &mut v,
        );
        assert!(v.finish().is_ok());
        let keys: Vec<_> = fields.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["best_time_to_call", "best_time_to_call_3", "phone_2", "gate_code"]);
        assert_eq!(fields[0].options, ["Morning", "Afternoon", "Evening"]);
        assert!(fields[1].options.is_empty());
    }

    #[test]
    fn bad_fields_are_reported_by_row() {
        let mut v = Validator::new();
        check_fields(
            &[
                input("", "text", false, ""),
                input("Size", "dropdown", false, ""),
                input("Which?", "choice", false, "Only one"),
                CustomFieldInput { key: Some("_ts".into()), ..input("Sneaky", "text", false, "") },
            ],
            MAX_FIELDS,
            |_| false,
            &mut v,
        );
        let Err(crate::Error::Invalid(errors)) = v.finish() else { panic!("expected errors") };
        let got: Vec<_> = errors.iter().map(|e| (e.field.to_string(), e.message.clone())).collect();
        assert_eq!(
            got,
            vec![
                ("fields.1.label".to_string(), "give the field a label".to_string()),
                (
                    "fields.2.kind".to_string(),
                    "\"dropdown\" is not a field type (text, long_text, number, phone, email, date, choice, yes_no)"
                        .to_string()
                ),
                ("fields.3.options".to_string(), "list at least two choices, one per line".to_string()),
                ("fields.4.key".to_string(), "\"_ts\" cannot be a field's name".to_string()),
            ]
        );
    }

    fn field(kind: FieldKind, required: bool) -> CustomField {
        CustomField {
            key: "f".into(),
            label: "Best time".into(),
            kind,
            required,
            options: vec!["Morning".into(), "Afternoon".into()],
            help: None,
        }
    }

    #[test]
    fn values_are_checked_by_type() {
        let us = Country::us();
        assert_eq!(field(FieldKind::Text, true).read(None, us), Err("please fill in \"Best time\"".into()));
        assert_eq!(field(FieldKind::Text, false).read(Some("  "), us), Ok(None));
        assert_eq!(field(FieldKind::Choice, false).read(Some("morning"), us), Ok(Some("Morning".into())));
        assert_eq!(
            field(FieldKind::Choice, false).read(Some("Night"), us),
            Err("pick one of: Morning, Afternoon".into())
        );
        assert_eq!(field(FieldKind::Number, false).read(Some("2,400"), us), Ok(Some("2,400".into())));
        assert_eq!(field(FieldKind::Number, false).read(Some("lots"), us), Err("\"lots\" is not a number".into()));
        assert_eq!(field(FieldKind::Date, false).read(Some("2026-12-24"), us), Ok(Some("Thu Dec 24, 2026".into())));
        assert_eq!(
            field(FieldKind::Date, false).read(Some("next week"), us),
            Err("\"next week\" is not a date like 2026-12-24".into())
        );
        assert_eq!(field(FieldKind::Phone, false).read(Some("(303) 555-0142"), us), Ok(Some("+13035550142".into())));
        assert!(field(FieldKind::Phone, false).read(Some("12"), us).is_err());
        assert!(field(FieldKind::Email, false).read(Some("nope"), us).is_err());
        assert_eq!(field(FieldKind::YesNo, false).read(None, us), Ok(Some("No".into())));
        assert_eq!(field(FieldKind::YesNo, false).read(Some("on"), us), Ok(Some("Yes".into())));
        assert_eq!(field(FieldKind::YesNo, true).read(None, us), Err("please tick \"Best time\"".into()));
        let long = "x".repeat(301);
        assert_eq!(field(FieldKind::Text, false).read(Some(&long), us), Err("use at most 300 characters".into()));
    }
}
