//! Organizations, brands and users: types and the rules for valid input.

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::error::Validator;
use crate::ids::{BrandId, OrgId, UserId};
use crate::parse::{Country, EmailAddress, HexColor, PhoneE164, TimeZoneName, required_text};
use crate::secret::check_password_policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Dispatcher,
    Operator,
    Technician,
    /// Someone at a message desk client: sees only the messages of the clients they are a
    /// desk contact of, at `/client`.
    Client,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Admin, Role::Dispatcher, Role::Operator, Role::Technician, Role::Client];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Dispatcher => "dispatcher",
            Role::Operator => "operator",
            Role::Technician => "technician",
            Role::Client => "client",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Dispatcher => "Dispatcher",
            Role::Operator => "Operator",
            Role::Technician => "Technician",
            Role::Client => "Client",
        }
    }
    pub fn parse(s: &str) -> Result<Role, String> {
        match s.trim().to_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "dispatcher" => Ok(Role::Dispatcher),
            "operator" => Ok(Role::Operator),
            "technician" => Ok(Role::Technician),
            "client" => Ok(Role::Client),
            other => Err(format!("\"{other}\" is not a role (admin, dispatcher, operator, technician, client)")),
        }
    }
    /// Brands, users and API keys are administered by admins only.
    pub fn can_administer(self) -> bool {
        self == Role::Admin
    }
    /// The office console (leads, jobs, board, customers) is for office staff; technicians
    /// work from their portal link.
    pub fn can_use_console(self) -> bool {
        !matches!(self, Role::Technician | Role::Client)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Org {
    pub id: OrgId,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Brand {
    pub id: BrandId,
    pub org_id: OrgId,
    pub name: String,
    /// Every local time the brand shows or schedules is in this zone.
    pub time_zone: TimeZoneName,
    /// Phone numbers typed without a country code are read by this country's plan.
    pub country: Country,
    pub sms_number: Option<PhoneE164>,
    pub inbound_email: Option<EmailAddress>,
    pub color: String,
    pub logo_url: Option<String>,
    pub job_prefix: String,
    pub next_job_number: i64,
    /// Reply to an inbound HELP; `None` uses [`crate::messaging::default_help_reply`].
    pub sms_help_reply: Option<String>,
    /// A lead whose customer wrote one of these is flagged urgent and sorted first.
    pub urgent_words: super::UrgentWords,
    /// When the brand is open, in its zone.
    pub working_hours: super::WorkingHours,
}

impl Brand {
    /// The brand's time zone, for every local time it shows or schedules.
    pub fn zone(&self) -> jiff::tz::TimeZone {
        self.time_zone.tz().clone()
    }
}

pub const DEFAULT_BRAND_COLOR: &str = "#2563eb";

/// A brand as typed into a form or an API body; every field is a raw string.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BrandInput {
    pub name: String,
    pub time_zone: String,
    /// ISO 3166-1 code; blank is `US`.
    pub country: Option<String>,
    pub sms_number: Option<String>,
    pub inbound_email: Option<String>,
    pub color: Option<String>,
    pub logo_url: Option<String>,
    pub job_prefix: Option<String>,
    pub sms_help_reply: Option<String>,
    /// One phrase per line or comma-separated; empty turns the flag off; `None` is the
    /// built-in list.
    pub urgent_words: Option<String>,
    /// Each day's opening and closing time as typed (both empty: closed; a day not given is
    /// closed); `None` keeps the default week (Monday to Friday, 8 AM to 5 PM).
    pub working_hours: Option<Vec<DayInput>>,
}

/// One day's hours as typed: `day` is `mon`..`sun`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DayInput {
    pub day: String,
    pub open: String,
    pub close: String,
}

impl super::WorkingHours {
    /// These hours as typed input (open days as `08:00`-`17:00`, closed days empty), to keep
    /// them when a change gives no new ones.
    pub fn as_inputs(&self) -> Vec<DayInput> {
        self.week()
            .map(|(day, _, d)| DayInput {
                day: day.to_string(),
                open: d.map(|d| d.open_text()).unwrap_or_default(),
                close: d.map(|d| d.close_text()).unwrap_or_default(),
            })
            .collect()
    }
}

/// A brand input that passed every rule.
#[derive(Debug, Clone)]
pub struct ValidBrand {
    pub name: String,
    pub time_zone: TimeZoneName,
    pub country: Country,
    pub sms_number: Option<PhoneE164>,
    pub inbound_email: Option<EmailAddress>,
    pub color: HexColor,
    pub logo_url: Option<String>,
    pub job_prefix: String,
    pub sms_help_reply: Option<String>,
    /// `None`: the built-in list.
    pub urgent_words: Option<super::UrgentWords>,
    /// `None`: the default week.
    pub working_hours: Option<super::WorkingHours>,
}

fn blank_to_none(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl BrandInput {
    pub fn validate(&self) -> Result<ValidBrand> {
        let mut v = Validator::new();
        let name = v.check("name", required_text(&self.name, 80));
        let time_zone = v.check("time_zone", TimeZoneName::parse(&self.time_zone));
        let country = match blank_to_none(&self.country) {
            None => Some(Country::us()),
            Some(s) => v.check("country", Country::parse(s)),
        };
        let sms_number = match blank_to_none(&self.sms_number) {
            None => Some(None),
            Some(s) => v.check("sms_number", PhoneE164::parse_in(s, country.unwrap_or_else(Country::us))).map(Some),
        };
        let inbound_email = match blank_to_none(&self.inbound_email) {
            None => Some(None),
            Some(s) => v.check("inbound_email", EmailAddress::parse(s)).map(Some),
        };
        let color = match blank_to_none(&self.color) {
            None => HexColor::parse(DEFAULT_BRAND_COLOR).ok(),
            Some(s) => v.check("color", HexColor::parse(s)),
        };
        let logo_url = match blank_to_none(&self.logo_url) {
            None => Some(None),
            Some(s)
                if (s.starts_with("https://") || s.starts_with("http://") || s.starts_with('/'))
                    && s.len() <= 500
                    && !s.chars().any(|c| c.is_whitespace() || c == '"' || c == '<') =>
            {
                Some(Some(s.to_string()))
            }
            Some(_) => {
                v.add("logo_url", "use an https:// address of an image (at most 500 characters)");
                None
            }
        };
        let job_prefix = match blank_to_none(&self.job_prefix) {
            None => Some("J".to_string()),
            Some(s) if (1..=4).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase()) => Some(s.to_string()),
            Some(_) => {
                v.add("job_prefix", "use 1-4 capital letters, like J");
                None
            }
        };
        let sms_help_reply = match blank_to_none(&self.sms_help_reply) {
            None => Some(None),
            Some(s) => v.check("sms_help_reply", required_text(s, 320)).map(Some),
        };
        let urgent_words = match &self.urgent_words {
            None => Some(None),
            Some(s) => v.check("urgent_words", super::UrgentWords::parse(s)).map(Some),
        };
        // Each day's refusal is its own field (`working_hours.mon`), shown beside that day.
        let working_hours = match &self.working_hours {
            None => Some(None),
            Some(days) => {
                match super::WorkingHours::from_days(
                    days.iter().map(|d| (d.day.trim(), d.open.as_str(), d.close.as_str())),
                ) {
                    Ok(h) => Some(Some(h)),
                    Err(errors) => {
                        for (day, message) in errors {
                            v.add(format!("working_hours.{day}"), message);
                        }
                        None
                    }
                }
            }
        };
        v.finish()?;
        let (Some(urgent_words), Some(working_hours)) = (urgent_words, working_hours) else {
            return Err(crate::Error::Unexpected("brand validation lost a field".into()));
        };
        match (name, time_zone, country, sms_number, inbound_email, color, logo_url, job_prefix, sms_help_reply) {
            (
                Some(name),
                Some(time_zone),
                Some(country),
                Some(sms_number),
                Some(inbound_email),
                Some(color),
                Some(logo_url),
                Some(job_prefix),
                Some(sms_help_reply),
            ) => Ok(ValidBrand {
                name,
                time_zone,
                country,
                sms_number,
                inbound_email,
                color,
                logo_url,
                job_prefix,
                sms_help_reply,
                urgent_words,
                working_hours,
            }),
            _ => Err(crate::Error::Unexpected("brand validation lost a field".into())),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: jiff::Timestamp,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewUserInput {
    pub email: String,
    pub name: String,
    pub role: String,
    pub password: String,
}

#[derive(Debug, Clone)]
pub struct ValidNewUser {
    pub email: EmailAddress,
    pub name: String,
    pub role: Role,
    pub password: String,
}

impl NewUserInput {
    pub fn validate(&self) -> Result<ValidNewUser> {
        let mut v = Validator::new();
        let email = v.check("email", EmailAddress::parse(&self.email));
        let name = v.check("name", required_text(&self.name, 80));
        let role = v.check("role", Role::parse(&self.role));
        let password = v.check("password", check_password_policy(&self.password).map(|_| self.password.clone()));
        v.finish()?;
        match (email, name, role, password) {
            (Some(email), Some(name), Some(role), Some(password)) => Ok(ValidNewUser { email, name, role, password }),
            _ => Err(crate::Error::Unexpected("user validation lost a field".into())),
        }
    }
}

/// A change to a user's name, role or active flag; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub role: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct ValidUserUpdate {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

impl UserUpdate {
    pub fn validate(&self) -> Result<ValidUserUpdate> {
        let mut v = Validator::new();
        let name = match &self.name {
            None => None,
            Some(n) => v.check("name", required_text(n, 80)),
        };
        let role = match &self.role {
            None => None,
            Some(r) => v.check("role", Role::parse(r)),
        };
        v.finish()?;
        Ok(ValidUserUpdate { name, role, active: self.active })
    }
}

/// The org name shown for a slug when none was given.
pub fn default_org_name(slug: &str) -> String {
    let mut chars = slug.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect::<String>().replace('-', " "),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn brand(name: &str, tz: &str) -> BrandInput {
        BrandInput { name: name.into(), time_zone: tz.into(), ..Default::default() }
    }

    #[test]
    fn a_minimal_brand_gets_defaults() {
        let b = brand("Summit Garage", "America/Denver").validate().unwrap();
        assert_eq!(b.color.as_str(), DEFAULT_BRAND_COLOR);
        assert_eq!(b.job_prefix, "J");
        assert_eq!(b.sms_number, None);
    }

    #[test]
    fn every_bad_brand_field_is_reported_at_once() {
        let input = BrandInput {
            name: " ".into(),
            time_zone: "Nowhere/Land".into(),
            country: Some("Narnia".into()),
            sms_number: Some("12".into()),
            inbound_email: Some("nope".into()),
            color: Some("blue".into()),
            logo_url: Some("javascript:alert(1)".into()),
            job_prefix: Some("j-".into()),
            sms_help_reply: None,
            urgent_words: Some("ok\n???".into()),
            working_hours: Some(vec![
                DayInput { day: "mon".into(), open: "9".into(), close: "8".into() },
                DayInput { day: "tue".into(), open: "9:00".into(), close: "".into() },
            ]),
        };
        let Err(Error::Invalid(errors)) = input.validate() else { panic!("expected Invalid") };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_ref()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "time_zone",
                "country",
                "sms_number",
                "inbound_email",
                "color",
                "logo_url",
                "job_prefix",
                "urgent_words",
                "working_hours.mon",
                "working_hours.tue"
            ]
        );
    }

    #[test]
    fn brand_numbers_are_normalised() {
        let mut b = brand("Harbor Plumbing", "America/New_York");
        b.sms_number = Some("(617) 555-0110".into());
        b.inbound_email = Some("Jobs@Harbor.example".into());
        let v = b.validate().unwrap();
        assert_eq!(v.sms_number.unwrap().as_str(), "+16175550110");
        assert_eq!(v.inbound_email.unwrap().as_str(), "jobs@harbor.example");
    }

    #[test]
    fn roles_parse_and_gate() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
        }
        assert!(Role::parse("owner").is_err());
        assert!(Role::Admin.can_administer());
        assert!(!Role::Dispatcher.can_administer());
        assert!(Role::Operator.can_use_console());
        assert!(!Role::Technician.can_use_console());
        assert!(!Role::Client.can_use_console() && !Role::Client.can_administer());
        assert_eq!(Role::parse(" Client "), Ok(Role::Client));
    }

    #[test]
    fn new_users_need_a_real_email_and_a_long_password() {
        let input = NewUserInput { email: "x".into(), name: "".into(), role: "boss".into(), password: "short".into() };
        let Err(Error::Invalid(errors)) = input.validate() else { panic!("expected Invalid") };
        assert_eq!(errors.len(), 4);
    }

    #[test]
    fn org_names_from_slugs() {
        assert_eq!(default_org_name("acme-hvac"), "Acme hvac");
    }
}
