//! A client's protocol: what the operator says when answering ("Thank you for calling
//! {client}, this is {operator}"), the account notes shown during the call, and the caller
//! types (patients vs doctors and labs), each with the fields the operator captures. Saved as a
//! new version each time (see docs/adr/0006-clients-are-brands.md).

use serde::{Deserialize, Serialize};

use super::rules::{self, DeliveryRule, DeliveryRuleInput, Method, Period, UrgencyRules};
use crate::desk::flow::{Channel, Policy, Target};
use crate::error::{FieldError, Validator};
use crate::form_fields::{CustomField, CustomFieldInput, check_fields};
use crate::{Error, Result};

pub const ANSWER_PHRASE_MAX: usize = 300;
pub const ACCOUNT_NOTES_MAX: usize = 4000;
pub const CALLER_TYPES_MAX: usize = 10;
pub const CALLER_TYPE_NAME_MAX: usize = 60;
/// Fields per caller type at most.
pub const FIELDS_MAX: usize = 30;
/// What an answer phrase may name: `{operator}` (who answers) and `{client}` (the brand).
pub const PLACEHOLDERS: [&str; 2] = ["operator", "client"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    pub answer_phrase: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_notes: Option<String>,
    pub caller_types: Vec<CallerType>,
    /// What the rules suggest as urgent.
    #[serde(default)]
    pub urgency: UrgencyRules,
    /// Local times of the daily recap email, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recap_times: Vec<jiff::civil::Time>,
    /// Days the client is closed besides its weekly hours: after hours all day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<jiff::civil::Date>,
    /// Whom to alert, by text or email, when an urgent message's flow reaches nobody or ends
    /// with nobody confirming (the owner, an office manager).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Target>,
}

/// Who is calling, with the fields captured for them ("Patient": name, callback number, date
/// of birth; "Doctor or lab": name, practice, callback number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallerType {
    /// Stable once saved (`doctor_or_lab`), so messages taken under it keep pointing at it.
    pub key: String,
    pub name: String,
    pub fields: Vec<CustomField>,
    /// How its messages reach the client's people (see [`rules`]); none: held for check-in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<DeliveryRule>,
    /// What an urgent message of this type runs until someone confirms (issue 15); none: its
    /// urgent delivery rules only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgent_flow: Option<Policy>,
}

/// A protocol as typed in the settings page or sent to the API.
#[derive(Debug, Clone, Default)]
pub struct ProtocolInput {
    pub answer_phrase: String,
    pub account_notes: String,
    pub caller_types: Vec<CallerTypeInput>,
    /// `always`, `business_hours`, `after_hours`, or empty: the brand's urgent words never
    /// suggest urgency.
    pub urgent_words: String,
    pub urgent_after_hours: bool,
    /// One per line or comma separated: `8:00 AM, 6:00 PM`.
    pub recap_times: String,
    /// One per line or comma separated: `2026-12-25`.
    pub holidays: String,
    /// See [`Protocol::fallback`]: one of the client's contacts by cell or email, or any
    /// number or address.
    pub fallback: Option<Target>,
}

#[derive(Debug, Clone, Default)]
pub struct CallerTypeInput {
    /// Absent for a new caller type: made from the name.
    pub key: Option<String>,
    pub name: String,
    pub fields: Vec<CustomFieldInput>,
    pub deliveries: Vec<DeliveryRuleInput>,
    pub urgent_flow: Option<Policy>,
}

impl Protocol {
    /// The answer phrase with `{operator}` and `{client}` filled in.
    pub fn greeting(&self, client: &str, operator: &str) -> String {
        self.answer_phrase.replace("{operator}", operator).replace("{client}", client)
    }

    pub fn caller_type(&self, key: &str) -> Option<&CallerType> {
        self.caller_types.iter().find(|c| c.key == key)
    }
}

/// The `{name}`s in `text` that are not placeholders, and whether a brace is left unclosed.
fn unknown_placeholders(text: &str) -> Result<Vec<String>, String> {
    let mut unknown = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err("a { is not closed: write {operator} or {client}".into());
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            unknown.push(format!("{{{name}}}"));
        }
        rest = &after[close + 1..];
    }
    Ok(unknown)
}

/// "Doctor or lab" -> "doctor_or_lab".
fn key_from(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let mut key = words.join("_");
    key.truncate(40);
    if key.is_empty() { "caller".into() } else { key }
}

/// Checks a protocol as typed: every refusal names its field (`answer_phrase`,
/// `caller_types.2.name`, `caller_types.1.fields.3.label`, `caller_types.1.deliveries.2.contacts`,
/// counted from 1). `known` says whether a contact id is one of the client's.
pub fn check(input: &ProtocolInput, known: &dyn Fn(i64) -> bool, schedules: &dyn Fn(i64) -> bool) -> Result<Protocol> {
    let mut v = Validator::new();
    let phrase = input.answer_phrase.trim();
    if phrase.is_empty() {
        v.add("answer_phrase", "write what the operator says when answering");
    } else if phrase.chars().count() > ANSWER_PHRASE_MAX {
        v.add("answer_phrase", format!("use at most {ANSWER_PHRASE_MAX} characters"));
    } else {
        match unknown_placeholders(phrase) {
            Ok(unknown) if unknown.is_empty() => {}
            Ok(unknown) => v.add(
                "answer_phrase",
                format!("{} is not something the desk can fill in: use {{operator}} or {{client}}", unknown.join(", ")),
            ),
            Err(m) => v.add("answer_phrase", m),
        }
    }
    let notes = input.account_notes.trim();
    if notes.chars().count() > ACCOUNT_NOTES_MAX {
        v.add("account_notes", format!("use at most {ACCOUNT_NOTES_MAX} characters"));
    }
    if input.caller_types.is_empty() {
        v.add("caller_types", "add at least one caller type (for example \"Caller\")");
    } else if input.caller_types.len() > CALLER_TYPES_MAX {
        v.add("caller_types", format!("use at most {CALLER_TYPES_MAX} caller types"));
    }
    let mut caller_types: Vec<CallerType> = Vec::new();
    for (i, c) in input.caller_types.iter().enumerate().take(CALLER_TYPES_MAX) {
        let n = i + 1;
        let name = c.name.trim();
        if name.is_empty() {
            v.add(format!("caller_types.{n}.name"), "give the caller type a name");
        } else if name.chars().count() > CALLER_TYPE_NAME_MAX {
            v.add(format!("caller_types.{n}.name"), format!("use at most {CALLER_TYPE_NAME_MAX} characters"));
        } else if caller_types.iter().any(|o| o.name.eq_ignore_ascii_case(name)) {
            v.add(format!("caller_types.{n}.name"), format!("\"{name}\" is listed twice"));
        }
        let key = match c.key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            Some(k)
                if k.len() <= 40 && k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
            {
                k.to_string()
            }
            Some(k) => {
                v.add(format!("caller_types.{n}.key"), format!("\"{k}\" cannot be a caller type's key"));
                continue;
            }
            None => key_from(name),
        };
        let mut unique = key.clone();
        let mut again = 1;
        while caller_types.iter().any(|o| o.key == unique) {
            again += 1;
            unique = format!("{key}_{again}");
        }
        let mut sub = Validator::new();
        let fields = check_fields(&c.fields, FIELDS_MAX, |_| false, &mut sub);
        if let Err(Error::Invalid(errors)) = sub.finish() {
            for FieldError { field, message } in errors {
                v.add(format!("caller_types.{n}.{field}"), message);
            }
        }
        if c.fields.is_empty() {
            v.add(
                format!("caller_types.{n}.fields"),
                "add at least one field to capture (for example the caller's name)",
            );
        }
        let deliveries = rules::check_rules(&c.deliveries, &format!("caller_types.{n}.deliveries"), known, &mut v);
        if let Some(flow) = &c.urgent_flow {
            check_flow(flow, &format!("caller_types.{n}.urgent_flow"), known, schedules, &mut v);
        }
        caller_types.push(CallerType {
            key: unique,
            name: name.to_string(),
            fields,
            deliveries,
            urgent_flow: c.urgent_flow.clone(),
        });
    }
    let words = match input.urgent_words.trim() {
        "" | "never" => None,
        other => v.check("urgent_words", Period::parse(other)).map(Some).unwrap_or(None),
    };
    let recap_times = v.check("recap_times", rules::read_recap_times(&input.recap_times)).unwrap_or_default();
    let holidays = v.check("holidays", rules::read_holidays(&input.holidays)).unwrap_or_default();
    if recap_times.is_empty() && caller_types.iter().flat_map(|c| &c.deliveries).any(|r| r.method == Method::Recap) {
        v.add("recap_times", "a rule holds messages for the daily recap: give the recap's time (for example 8:00 AM)");
    }
    let fallback = input.fallback.as_ref().and_then(|t| check_fallback(t, known, &mut v));
    v.finish()?;
    Ok(Protocol {
        fallback,
        answer_phrase: phrase.to_string(),
        account_notes: Some(notes.to_string()).filter(|n| !n.is_empty()),
        caller_types,
        urgency: UrgencyRules { words, after_hours: input.urgent_after_hours },
        recap_times,
        holidays,
    })
}

/// The fallback is alerted by a text or an email: a contact's cell or email, or a number or
/// address of its own.
fn check_fallback(t: &Target, known: &dyn Fn(i64) -> bool, v: &mut Validator) -> Option<Target> {
    let refuse = |v: &mut Validator, m: String| {
        v.add("fallback", m);
        None
    };
    match t {
        Target::Contact { id, .. } if !known(*id) => refuse(v, "pick one of the client's contacts".into()),
        Target::Contact { channel: Channel::Home | Channel::Office, .. } => {
            refuse(v, "the fallback is texted or emailed: pick their cell or email".into())
        }
        Target::Contact { .. } => Some(t.clone()),
        Target::OnCall { .. } => refuse(v, "the fallback is one person: pick a contact, not a schedule".into()),
        Target::Address { value } if value.contains('@') => match crate::parse::EmailAddress::parse(value) {
            Ok(a) => Some(Target::Address { value: a.as_str().to_string() }),
            Err(m) => refuse(v, m),
        },
        // Read by the client's country when it is alerted, as a step's numbers are.
        Target::Address { value } if value.trim().is_empty() || value.chars().count() > 254 => {
            refuse(v, "give a number or an email address (at most 254 characters)".into())
        }
        Target::Address { value } => Some(Target::Address { value: value.trim().to_string() }),
    }
}

/// Checks an urgent flow: its own rules, and that the contacts and schedules it names are the
/// client's. Refusals are named `{prefix}.steps.N.targets` and so on.
fn check_flow(
    flow: &Policy,
    prefix: &str,
    known: &dyn Fn(i64) -> bool,
    schedules: &dyn Fn(i64) -> bool,
    v: &mut Validator,
) {
    if let Err(errors) = flow.check() {
        for (field, message) in errors {
            v.add(format!("{prefix}.{field}"), message);
        }
    }
    for (i, step) in flow.steps.iter().enumerate() {
        for t in &step.targets {
            let at = format!("{prefix}.steps.{}.targets", i + 1);
            match t {
                Target::Contact { id, .. } if !known(*id) => {
                    v.add(at, format!("contact {id} is not one of this client's contacts"))
                }
                Target::OnCall { schedule, .. } if !schedules(*schedule) => {
                    v.add(at, format!("schedule {schedule} is not one of this client's on-call schedules"))
                }
                Target::Address { value } if value.trim().is_empty() || value.chars().count() > 254 => {
                    v.add(at, "give a number or an email address (at most 254 characters)")
                }
                _ => {}
            }
        }
    }
}

impl Protocol {
    /// The protocol as its editor shows it (keys kept, options one per line).
    pub fn to_input(&self) -> ProtocolInput {
        ProtocolInput {
            answer_phrase: self.answer_phrase.clone(),
            account_notes: self.account_notes.clone().unwrap_or_default(),
            caller_types: self
                .caller_types
                .iter()
                .map(|c| CallerTypeInput {
                    key: Some(c.key.clone()),
                    name: c.name.clone(),
                    fields: c.fields.iter().map(CustomField::to_input).collect(),
                    deliveries: c
                        .deliveries
                        .iter()
                        .map(|r| DeliveryRuleInput {
                            urgent: r.urgent,
                            when: r.when.as_str().into(),
                            method: r.method.as_str().into(),
                            contacts: r.contacts.clone(),
                        })
                        .collect(),
                    urgent_flow: c.urgent_flow.clone(),
                })
                .collect(),
            urgent_words: self.urgency.words.map(|p| p.as_str().to_string()).unwrap_or_default(),
            urgent_after_hours: self.urgency.after_hours,
            recap_times: self.recap_times.iter().map(|t| rules::time_label(*t)).collect::<Vec<_>>().join(", "),
            holidays: self.holidays.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "),
            fallback: self.fallback.clone(),
        }
    }
}

/// A protocol a new client starts from: the seed examples of the answering-service brief.
/// Its delivery rules name people by role ("Lawyer", "Office manager"); applying it to a client
/// ([`crate::desk::apply_template`]) adds a contact for each role the client does not have yet.
#[derive(Debug, Clone)]
pub struct Template {
    pub key: &'static str,
    pub name: &'static str,
    pub input: ProtocolInput,
    /// Per caller type, in the order of `input.caller_types`.
    pub rules: Vec<Vec<TemplateRule>>,
}

/// A template's delivery rule, naming its recipients by role.
#[derive(Debug, Clone)]
pub struct TemplateRule {
    pub urgent: bool,
    pub when: Period,
    pub method: Method,
    pub roles: Vec<&'static str>,
}

impl Template {
    /// The roles its rules name, each once, in order of first mention.
    pub fn roles(&self) -> Vec<&'static str> {
        let mut roles: Vec<&'static str> = Vec::new();
        for r in self.rules.iter().flatten().flat_map(|r| &r.roles) {
            if !roles.contains(r) {
                roles.push(r);
            }
        }
        roles
    }

    /// The protocol to save, with each role as the contact `contact` gives for it.
    pub fn input_with(&self, contact: &dyn Fn(&str) -> Option<i64>) -> ProtocolInput {
        let mut input = self.input.clone();
        for (c, rules) in input.caller_types.iter_mut().zip(&self.rules) {
            c.deliveries = rules
                .iter()
                .map(|r| DeliveryRuleInput {
                    urgent: r.urgent,
                    when: r.when.as_str().into(),
                    method: r.method.as_str().into(),
                    contacts: r.roles.iter().filter_map(|role| contact(role)).collect(),
                })
                .collect();
        }
        input
    }
}

fn deliver(urgent: bool, method: Method, roles: &[&'static str]) -> TemplateRule {
    TemplateRule { urgent, when: Period::Always, method, roles: roles.to_vec() }
}

fn field(label: &str, kind: &str, required: bool, options: &str, help: &str) -> CustomFieldInput {
    CustomFieldInput {
        key: None,
        label: label.into(),
        kind: kind.into(),
        required,
        options: options.into(),
        help: help.into(),
    }
}

fn caller(name: &str, fields: Vec<CustomFieldInput>) -> CallerTypeInput {
    CallerTypeInput { key: None, name: name.into(), fields, deliveries: Vec::new(), urgent_flow: None }
}

/// The fields every message starts with: who called and how to call them back.
fn basics() -> Vec<CustomFieldInput> {
    let keyed = |key: &str, f: CustomFieldInput| CustomFieldInput { key: Some(key.into()), ..f };
    vec![
        keyed("caller_name", field("Caller's name", "text", true, "", "")),
        keyed("callback_number", field("Callback number", "phone", true, "", "Read it back to the caller.")),
    ]
}

/// The templates a new protocol can start from.
pub fn templates() -> Vec<Template> {
    let answer = "Thank you for calling {client}, this is {operator}. How may I help you?".to_string();
    let with = |mut base: Vec<CustomFieldInput>, more: Vec<CustomFieldInput>| {
        base.extend(more);
        base
    };
    vec![
        Template {
            key: "solo_lawyer",
            name: "Solo lawyer",
            input: ProtocolInput {
                answer_phrase: "Law office of {client}, this is {operator}. How may I help you?".into(),
                account_notes: "Take a message for every legitimate call; never give legal advice or say whether \
                                someone is a client."
                    .into(),
                caller_types: vec![caller(
                    "Caller",
                    with(
                        basics(),
                        vec![
                            field("Company", "text", false, "", ""),
                            field("Existing client", "yes_no", false, "", ""),
                            field("Message", "long_text", true, "", ""),
                        ],
                    ),
                )],
                ..ProtocolInput::default()
            },
            rules: vec![vec![deliver(false, Method::EmailAndText, &["Lawyer", "Assistant"])]],
        },
        Template {
            key: "hvac_plumbing",
            name: "HVAC and plumbing",
            input: ProtocolInput {
                answer_phrase: answer.clone(),
                account_notes: "No heat, no water, flooding or a gas smell is urgent: ask if anyone is in danger \
                                first; for gas, tell them to leave the house and call the gas company."
                    .into(),
                caller_types: vec![caller(
                    "Caller",
                    with(
                        basics(),
                        vec![
                            field("Service address", "text", true, "", ""),
                            field("What is wrong", "long_text", true, "", ""),
                            field("Best time to call", "choice", false, "Morning\nAfternoon\nEvening", ""),
                        ],
                    ),
                )],
                urgent_words: "always".into(),
                ..ProtocolInput::default()
            },
            rules: vec![vec![
                deliver(false, Method::Email, &["Office"]),
                deliver(true, Method::EmailAndText, &["On-call technician", "Office"]),
            ]],
        },
        Template {
            key: "property_management",
            name: "Property management",
            input: ProtocolInput {
                answer_phrase: answer.clone(),
                account_notes: "Tenants: take the unit and the problem. Water coming through a ceiling, no heat \
                                or a lockout is urgent."
                    .into(),
                caller_types: vec![
                    caller(
                        "Tenant",
                        with(
                            basics(),
                            vec![
                                field("Property and unit", "text", true, "", ""),
                                field("Problem", "long_text", true, "", ""),
                                field("Permission to enter", "yes_no", false, "", ""),
                            ],
                        ),
                    ),
                    caller(
                        "Owner or vendor",
                        with(
                            basics(),
                            vec![field("Company", "text", false, "", ""), field("Message", "long_text", true, "", "")],
                        ),
                    ),
                ],
                urgent_words: "always".into(),
                recap_times: "8:00 AM".into(),
                ..ProtocolInput::default()
            },
            rules: vec![
                vec![
                    deliver(false, Method::Recap, &["Property manager"]),
                    deliver(true, Method::EmailAndText, &["Property manager"]),
                ],
                vec![deliver(false, Method::Recap, &["Property manager"])],
            ],
        },
        Template {
            key: "medical_clinic",
            name: "Medical clinic",
            input: ProtocolInput {
                answer_phrase: answer,
                account_notes: "If the caller describes an emergency, tell them to hang up and call 911. Never give \
                                medical advice."
                    .into(),
                caller_types: vec![
                    caller(
                        "Patient",
                        with(
                            basics(),
                            vec![
                                CustomFieldInput {
                                    key: Some("date_of_birth".into()),
                                    ..field("Patient's date of birth", "date", true, "", "")
                                },
                                field("Reason for the call", "long_text", true, "", ""),
                            ],
                        ),
                    ),
                    caller(
                        "Doctor or lab",
                        with(
                            basics(),
                            vec![
                                field("Practice or lab", "text", true, "", ""),
                                field("Patient it is about", "text", false, "", ""),
                                field("Message", "long_text", true, "", ""),
                            ],
                        ),
                    ),
                ],
                ..ProtocolInput::default()
            },
            rules: vec![
                vec![
                    deliver(false, Method::Email, &["Office manager"]),
                    deliver(true, Method::Text, &["On-call doctor", "Office manager"]),
                ],
                vec![
                    deliver(false, Method::Email, &["Office manager"]),
                    deliver(true, Method::Text, &["On-call doctor", "Office manager"]),
                ],
            ],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form_fields::FieldKind;
    use crate::parse::Country;

    fn errors(input: &ProtocolInput) -> Vec<(String, String)> {
        match check(input, &|_| true, &|_| true) {
            Err(Error::Invalid(errors)) => errors.into_iter().map(|e| (e.field.to_string(), e.message)).collect(),
            other => panic!("expected refusals, got {other:?}"),
        }
    }

    #[test]
    fn every_template_is_a_valid_protocol_with_keys_a_message_can_keep() {
        let all = templates();
        assert_eq!(
            all.iter().map(|t| t.key).collect::<Vec<_>>(),
            ["solo_lawyer", "hvac_plumbing", "property_management", "medical_clinic"]
        );
        let clinic = check(&all[3].input, &|_| true, &|_| true).unwrap();
        let keys: Vec<_> = clinic.caller_types.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["patient", "doctor_or_lab"]);
        let patient: Vec<_> =
            clinic.caller_types[0].fields.iter().map(|f| (f.key.as_str(), f.kind, f.required)).collect();
        assert_eq!(
            patient,
            [
                ("caller_name", FieldKind::Text, true),
                ("callback_number", FieldKind::Phone, true),
                ("date_of_birth", FieldKind::Date, true),
                ("reason_for_the_call", FieldKind::LongText, true),
            ]
        );
        for t in &all {
            check(&t.input, &|_| true, &|_| true).unwrap_or_else(|e| panic!("{}: {e}", t.key));
            assert_eq!(t.rules.len(), t.input.caller_types.len(), "{}: rules for each caller type", t.key);
        }
    }

    #[test]
    fn templates_deliver_as_the_seed_examples_say() {
        let all = templates();
        let roles: Vec<Vec<&str>> = all.iter().map(Template::roles).collect();
        assert_eq!(
            roles,
            [
                vec!["Lawyer", "Assistant"],
                vec!["Office", "On-call technician"],
                vec!["Property manager"],
                vec!["Office manager", "On-call doctor"],
            ]
        );
        // Roles become contact ids: their position in the template's roles, from 1.
        let applied = |t: &Template| {
            let roles = t.roles();
            let id = move |role: &str| roles.iter().position(|r| *r == role).map(|i| i as i64 + 1);
            check(&t.input_with(&id), &|_| true, &|_| true).unwrap()
        };
        let summary = |p: &Protocol| -> Vec<Vec<(bool, &'static str, Vec<i64>)>> {
            p.caller_types
                .iter()
                .map(|c| c.deliveries.iter().map(|r| (r.urgent, r.method.as_str(), r.contacts.clone())).collect())
                .collect()
        };
        assert_eq!(summary(&applied(&all[0])), [vec![(false, "email_and_text", vec![1, 2])]]);
        let hvac = applied(&all[1]);
        assert_eq!(summary(&hvac), [vec![(false, "email", vec![1]), (true, "email_and_text", vec![2, 1])]]);
        assert_eq!(hvac.urgency, UrgencyRules { words: Some(Period::Always), after_hours: false });
        let property = applied(&all[2]);
        assert_eq!(property.recap_times, [jiff::civil::time(8, 0, 0, 0)]);
        assert_eq!(
            summary(&property),
            [vec![(false, "recap", vec![1]), (true, "email_and_text", vec![1])], vec![(false, "recap", vec![1])]]
        );
        let clinic = applied(&all[3]);
        assert_eq!(summary(&clinic)[1], [(false, "email", vec![1]), (true, "text", vec![2, 1])]);
        // Saved and read back, it is the same protocol.
        let again = check(&property.to_input(), &|_| true, &|_| true).unwrap();
        assert_eq!(again, property);
    }

    #[test]
    fn the_greeting_fills_in_the_operator_and_the_client() {
        let p = check(&templates()[1].input, &|_| true, &|_| true).unwrap();
        assert_eq!(
            p.greeting("Imaginary Plumbing", "Ana"),
            "Thank you for calling Imaginary Plumbing, this is Ana. How may I help you?"
        );
    }

    #[test]
    fn a_protocol_is_refused_field_by_field() {
        let input = ProtocolInput {
            answer_phrase: "Hello, {company} here, {operator} speaking".into(),
            account_notes: "x".repeat(ACCOUNT_NOTES_MAX + 1),
            caller_types: vec![
                CallerTypeInput {
                    key: None,
                    name: "Patient".into(),
                    fields: vec![],
                    deliveries: vec![],
                    urgent_flow: None,
                },
                CallerTypeInput {
                    key: None,
                    name: " patient ".into(),
                    fields: vec![field("", "text", false, "", ""), field("Size", "dropdown", false, "", "")],
                    deliveries: vec![],
                    urgent_flow: None,
                },
                CallerTypeInput {
                    key: Some("Bad Key".into()),
                    name: "Lab".into(),
                    fields: vec![field("Name", "text", true, "", "")],
                    deliveries: vec![],
                    urgent_flow: None,
                },
            ],
            ..ProtocolInput::default()
        };
        assert_eq!(
            errors(&input),
            [
                ("answer_phrase", "{company} is not something the desk can fill in: use {operator} or {client}"),
                ("account_notes", "use at most 4000 characters"),
                ("caller_types.1.fields", "add at least one field to capture (for example the caller's name)"),
                ("caller_types.2.name", "\"patient\" is listed twice"),
                ("caller_types.2.fields.1.label", "give the field a label"),
                (
                    "caller_types.2.fields.2.kind",
                    "\"dropdown\" is not a field type (text, long_text, number, phone, email, date, choice, yes_no)"
                ),
                ("caller_types.3.key", "\"Bad Key\" cannot be a caller type's key"),
            ]
            .map(|(f, m)| (f.to_string(), m.to_string()))
        );
        let blank = ProtocolInput { answer_phrase: "  ".into(), ..ProtocolInput::default() };
        assert_eq!(
            errors(&blank),
            [
                ("answer_phrase", "write what the operator says when answering"),
                ("caller_types", "add at least one caller type (for example \"Caller\")"),
            ]
            .map(|(f, m)| (f.to_string(), m.to_string()))
        );
        let open = ProtocolInput { answer_phrase: "Hi, {operator".into(), ..templates()[0].input.clone() };
        assert_eq!(
            errors(&open),
            [("answer_phrase".to_string(), "a { is not closed: write {operator} or {client}".to_string())]
        );
    }

    #[test]
    fn caller_type_keys_stay_unique_and_a_given_key_is_kept() {
        let fields = vec![field("Name", "text", true, "", "")];
        let input = ProtocolInput {
            answer_phrase: "{client}, {operator} speaking".into(),
            account_notes: String::new(),
            caller_types: vec![
                CallerTypeInput {
                    key: None,
                    name: "Doctor / lab".into(),
                    fields: fields.clone(),
                    deliveries: vec![],
                    urgent_flow: None,
                },
                CallerTypeInput {
                    key: None,
                    name: "Doctor (lab)".into(),
                    fields: fields.clone(),
                    deliveries: vec![],
                    urgent_flow: None,
                },
                CallerTypeInput {
                    key: Some("tenant".into()),
                    name: "Renter".into(),
                    fields,
                    deliveries: vec![],
                    urgent_flow: None,
                },
            ],
            ..ProtocolInput::default()
        };
        let p = check(&input, &|_| true, &|_| true).unwrap();
        let keys: Vec<_> = p.caller_types.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["doctor_lab", "doctor_lab_2", "tenant"]);
        assert_eq!(p.account_notes, None);
        // A captured answer is checked by the field's type, in the client's country.
        let clinic = check(&templates()[3].input, &|_| true, &|_| true).unwrap();
        let callback = &clinic.caller_type("patient").unwrap().fields[1];
        assert_eq!(callback.read(Some("030 901820"), Country::parse("DE").unwrap()), Ok(Some("+4930901820".into())));
        assert_eq!(callback.read(None, Country::us()), Err("please fill in \"Callback number\"".into()));
    }
}
