//! Web forms: a brand's contact form, hosted by us or embedded in its website, whose
//! submissions become leads. Spam is kept out with a honeypot field, a signed timestamp (a
//! submission faster than a person could type, or older than a day, is refused) and rate
//! limits; browsers may post from the form's allowed origins only.

use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use sha2::Sha256;
use sqlx::FromRow;

use crate::clock::{Clock, from_millis, to_millis};
use crate::db::{Db, Tx};
use crate::ids::{BrandId, LeadId, OrgId};
use crate::leads::{self, Contact, LeadSource, NewLeadMessage};
use crate::parse::{EmailAddress, PhoneE164, optional_text, required_text};
use crate::tenancy;
use crate::{Error, Result};

pub use crate::form_fields::{CustomField, CustomFieldInput, FieldKind, MAX_FIELDS};

/// Faster than this after the form was shown is a bot.
pub const MIN_FILL_TIME: SignedDuration = SignedDuration::from_millis(1500);
/// Older than this, the page was left open too long: reload.
pub const MAX_FORM_AGE: SignedDuration = SignedDuration::from_hours(24);
/// The honeypot: hidden from people, irresistible to bots.
pub const HONEYPOT_FIELD: &str = "company_website";
pub const TOKEN_FIELD: &str = "_ts";
/// Fields with a meaning of their own; everything else is kept as a custom field.
pub const KNOWN_FIELDS: [&str; 6] = ["name", "phone", "email", "address", "service", "message"];

/// Names the built-in fields and the spam check use: a field of the form's own cannot have one.
fn reserved(key: &str) -> bool {
    KNOWN_FIELDS.contains(&key) || key == HONEYPOT_FIELD
}

#[derive(Debug, Clone, Serialize)]
pub struct WebForm {
    pub id: i64,
    pub org_id: OrgId,
    pub brand_id: BrandId,
    pub form_key: String,
    #[serde(skip)]
    signing_key: String,
    pub name: String,
    pub redirect_url: Option<String>,
    pub allowed_origins: Vec<String>,
    /// Paused forms show a note instead of the form and take no submissions.
    pub active: bool,
    pub custom_fields: Vec<CustomField>,
}

#[derive(FromRow)]
struct FormRow {
    id: i64,
    org_id: i64,
    brand_id: i64,
    form_key: String,
    signing_key: String,
    name: String,
    redirect_url: Option<String>,
    allowed_origins: String,
    active: i64,
    custom_fields: String,
}

impl From<FormRow> for WebForm {
    fn from(r: FormRow) -> WebForm {
        WebForm {
            id: r.id,
            org_id: OrgId(r.org_id),
            brand_id: BrandId(r.brand_id),
            form_key: r.form_key,
            signing_key: r.signing_key,
            name: r.name,
            redirect_url: r.redirect_url,
            allowed_origins: r.allowed_origins.split_whitespace().map(str::to_string).collect(),
            active: r.active != 0,
            // Written only by `update` from checked fields; a row that does not read is a bug,
            // logged, and the form shows its built-in fields.
            custom_fields: serde_json::from_str(&r.custom_fields).unwrap_or_else(|e| {
                tracing::error!(form = r.id, error = %e, "a web form's custom fields do not read");
                Vec::new()
            }),
        }
    }
}

macro_rules! form_columns {
    () => {
        "id, org_id, brand_id, form_key, signing_key, name, redirect_url, allowed_origins, active, custom_fields"
    };
}

impl WebForm {
    /// A token for a form shown at `now`: the time and its HMAC under this form's key.
    pub fn token(&self, now: Timestamp) -> String {
        let ms = to_millis(now);
        format!("{ms}.{}", self.mac(ms))
    }

    fn mac(&self, ms: i64) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(self.signing_key.as_bytes()) {
            Ok(m) => m,
            Err(_) => return String::new(),
        };
        mac.update(format!("{}:{ms}", self.form_key).as_bytes());
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Checks a submitted token: genuine, not too fresh, not too old.
    pub fn check_token(&self, token: Option<&str>, now: Timestamp) -> Result<(), String> {
        let Some((ms, mac)) = token.and_then(|t| t.split_once('.')) else {
            return Err("the form is missing its security field; reload the page and try again".into());
        };
        let Ok(ms) = ms.parse::<i64>() else {
            return Err("the form's security field is damaged; reload the page".into());
        };
        if !crate::secret::constant_time_eq(&self.mac(ms), mac) {
            return Err("the form's security field is not valid; reload the page".into());
        }
        let age = now.duration_since(from_millis(ms));
        if age < MIN_FILL_TIME {
            return Err("that was quicker than a person can type; please wait a moment and send again".into());
        }
        if age > MAX_FORM_AGE {
            return Err("this form was opened too long ago; reload the page and send again".into());
        }
        Ok(())
    }

    /// Whether a browser at `origin` may post here (no list: any origin).
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.is_empty()
            || self.allowed_origins.iter().any(|o| o.trim_end_matches('/') == origin.trim_end_matches('/'))
    }
}

/// Input for a new form.
#[derive(Debug, Clone)]
pub struct FormInput {
    pub brand: BrandId,
    pub name: String,
    pub redirect_url: Option<String>,
    /// Whitespace- or comma-separated origins, e.g. `https://summit.example`.
    pub allowed_origins: String,
}

/// The page a visitor lands on after sending (none: our thank-you page).
fn check_redirect(raw: Option<&str>) -> Result<Option<String>, String> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(u) if (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= 500 => Ok(Some(u.to_string())),
        Some(_) => Err("use an https:// address".into()),
    }
}

fn parse_origins(raw: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for o in raw.split(|c: char| c.is_whitespace() || c == ',').filter(|o| !o.is_empty()) {
        let origin = o.trim_end_matches('/');
        let host = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
        match host {
            Some(h) if !h.is_empty() && !h.contains(['/', '?', '#']) => out.push(origin.to_string()),
            _ => return Err(format!("\"{o}\" is not an origin like https://www.example.com")),
        }
    }
    Ok(out)
}

pub async fn create(db: &Db, clock: &dyn Clock, org: OrgId, input: &FormInput) -> Result<WebForm> {
    let mut tx = db.begin().await?;
    let form = create_in(&mut tx, clock, org, input).await?;
    tx.commit().await?;
    Ok(form)
}

/// [`create`] in the caller's transaction.
pub async fn create_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, input: &FormInput) -> Result<WebForm> {
    let mut v = crate::error::Validator::new();
    let name = v.check("name", required_text(&input.name, 80));
    let redirect = v.check("redirect_url", check_redirect(input.redirect_url.as_deref()));
    let origins = v.check("allowed_origins", parse_origins(&input.allowed_origins));
    v.finish()?;
    tenancy::brand_in(tx, org, input.brand).await.map_err(|e| match e {
        Error::NotFound => Error::invalid("brand_id", "no such brand"),
        other => other,
    })?;
    let (Some(name), Some(redirect), Some(origins)) = (name, redirect, origins) else {
        return Err(Error::Unexpected("form validation lost a field".into()));
    };
    let key: String = crate::secret::new_token().chars().filter(char::is_ascii_alphanumeric).take(20).collect();
    let now = to_millis(clock.now());
    let row: FormRow = sqlx::query_as(concat!(
        "insert into web_forms (org_id, brand_id, form_key, signing_key, name, redirect_url, allowed_origins, active, \
         created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8) returning ",
        form_columns!()
    ))
    .bind(org.0)
    .bind(input.brand.0)
    .bind(format!("f_{key}"))
    .bind(crate::secret::new_token())
    .bind(name)
    .bind(redirect)
    .bind(origins.join(" "))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into())
}

pub async fn list(db: &Db, org: OrgId) -> Result<Vec<WebForm>> {
    let rows: Vec<FormRow> =
        sqlx::query_as(concat!("select ", form_columns!(), " from web_forms where org_id = $1 order by id"))
            .bind(org.0)
            .fetch_all(db.pool())
            .await?;
    Ok(rows.into_iter().map(WebForm::from).collect())
}

/// One of the organization's forms.
pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<WebForm> {
    let row: Option<FormRow> =
        sqlx::query_as(concat!("select ", form_columns!(), " from web_forms where org_id = $1 and id = $2"))
            .bind(org.0)
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    row.map(WebForm::from).ok_or(Error::NotFound)
}

/// A form's settings as edited: everything but its brand and its key (the address embedded
/// copies post to).
#[derive(Debug, Clone, Default)]
pub struct FormUpdate {
    pub name: String,
    pub redirect_url: Option<String>,
    pub allowed_origins: String,
    pub active: bool,
    pub custom_fields: Vec<CustomFieldInput>,
}

/// Changes a form; every field is checked first and nothing changes when one is refused.
pub async fn update(db: &Db, clock: &dyn Clock, org: OrgId, id: i64, input: &FormUpdate) -> Result<WebForm> {
    let mut v = crate::error::Validator::new();
    let name = v.check("name", required_text(&input.name, 80));
    let redirect = v.check("redirect_url", check_redirect(input.redirect_url.as_deref()));
    let origins = v.check("allowed_origins", parse_origins(&input.allowed_origins));
    let fields = crate::form_fields::check_fields(&input.custom_fields, MAX_FIELDS, reserved, &mut v);
    v.finish()?;
    let (Some(name), Some(redirect), Some(origins)) = (name, redirect, origins) else {
        return Err(Error::Unexpected("form validation lost a field".into()));
    };
    let custom = serde_json::to_string(&fields).map_err(|e| Error::Unexpected(e.to_string()))?;
    let row: Option<FormRow> = sqlx::query_as(concat!(
        "update web_forms set name = $3, redirect_url = $4, allowed_origins = $5, active = $6, custom_fields = $7, \
         updated_at = $8 where org_id = $1 and id = $2 returning ",
        form_columns!()
    ))
    .bind(org.0)
    .bind(id)
    .bind(name)
    .bind(redirect)
    .bind(origins.join(" "))
    .bind(i64::from(input.active))
    .bind(custom)
    .bind(to_millis(clock.now()))
    .fetch_optional(db.pool())
    .await?;
    row.map(WebForm::from).ok_or(Error::NotFound)
}

/// Deletes a form: its hosted page and embedded copies stop taking requests; the leads it
/// brought stay.
pub async fn delete(db: &Db, org: OrgId, id: i64) -> Result<()> {
    let done = sqlx::query("delete from web_forms where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id)
        .execute(db.pool())
        .await?;
    if done.rows_affected() == 0 { Err(Error::NotFound) } else { Ok(()) }
}

/// A form by its public key (any organization: the key is the address), live or paused.
pub async fn by_key(db: &Db, key: &str) -> Result<Option<WebForm>> {
    let row: Option<FormRow> =
        sqlx::query_as(concat!("select ", form_columns!(), " from web_forms where form_key = $1"))
            .bind(key)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(WebForm::from))
}

/// A submission's fields, as posted.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub fields: Vec<(String, String)>,
}

impl Submission {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).map(str::trim).filter(|v| !v.is_empty())
    }
    /// True when the honeypot was filled (a bot).
    pub fn is_spam(&self) -> bool {
        self.get(HONEYPOT_FIELD).is_some()
    }
}

/// Turns a submission into a lead (or a new message on the person's open lead).
pub async fn submit(db: &Db, clock: &dyn Clock, form: &WebForm, s: &Submission) -> Result<LeadId> {
    // A phone typed without a country code is read by the brand's country.
    let country = crate::tenancy::brand(db, form.org_id, form.brand_id).await?.country;
    let mut v = crate::error::Validator::new();
    let name = v.check("name", optional_text(s.get("name"), 120)).flatten();
    let phone = match s.get("phone") {
        None => None,
        Some(p) => v.check("phone", PhoneE164::parse_in(p, country)),
    };
    let email = match s.get("email") {
        None => None,
        Some(e) => v.check("email", EmailAddress::parse(e)),
    };
    let address = v.check("address", optional_text(s.get("address"), 300)).flatten();
    let service = v.check("service", optional_text(s.get("service"), 120)).flatten();
    let message = v.check("message", optional_text(s.get("message"), 5000)).flatten();
    if s.get("phone").is_none() && s.get("email").is_none() {
        v.add("phone", "leave a phone number or an email address so we can reach you");
    }
    // The form's own fields, checked by type, kept by their labels.
    let mut custom: Vec<(String, String)> = Vec::new();
    for f in &form.custom_fields {
        match f.read(s.get(&f.key), country) {
            Ok(Some(value)) => custom.push((f.label.clone(), value)),
            Ok(None) => {}
            Err(m) => v.add(f.key.clone(), m),
        }
    }
    v.finish()?;
    // Fields an embedded copy adds on its own are kept as they came.
    custom.extend(
        s.fields
            .iter()
            .filter(|(k, val)| {
                !KNOWN_FIELDS.contains(&k.as_str())
                    && !k.starts_with('_')
                    && k != HONEYPOT_FIELD
                    && !form.custom_fields.iter().any(|f| &f.key == k)
                    && !val.trim().is_empty()
            })
            .take(30)
            .map(|(k, val)| (k.chars().take(60).collect(), val.chars().take(1000).collect())),
    );
    let mut body = message.clone().unwrap_or_default();
    for (k, val) in &custom {
        body.push_str(&format!("\n{k}: {val}"));
    }
    if let Some(svc) = &service {
        body = format!("Service: {svc}\n{body}");
    }
    let body = body.trim().to_string();
    let body = if body.is_empty() { "(web form submitted without a message)".to_string() } else { body };
    let fields = serde_json::to_string(&custom).map_err(|e| Error::Unexpected(e.to_string()))?;
    let brand = tenancy::brand(db, form.org_id, form.brand_id).await?;
    let contact = Contact { name, phone, email: email.map(|e| e.as_str().to_string()), address, service };
    let mut tx = db.begin().await?;
    let m = NewLeadMessage {
        inbound: true,
        channel: "web",
        subject: Some(&form.name),
        body: &body,
        message_id: None,
        author: None,
        fields: Some(fields),
        call_id: None,
    };
    let lead = leads::capture_in(&mut tx, clock, &brand, LeadSource::Web, &contact, &m).await?;
    tx.commit().await?;
    db.publish(crate::db::Event::Lead { org: form.org_id, lead });
    Ok(lead)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> WebForm {
        WebForm {
            id: 1,
            org_id: OrgId(1),
            brand_id: BrandId(1),
            form_key: "f_abc".into(),
            signing_key: "secret".into(),
            name: "Contact".into(),
            redirect_url: None,
            allowed_origins: vec!["https://summit.example".into()],
            active: true,
            custom_fields: Vec::new(),
        }
    }

    #[test]
    fn tokens_must_be_genuine_and_filled_at_human_speed() {
        let f = form();
        let shown: Timestamp = "2026-11-22T17:00:00Z".parse().unwrap();
        let token = f.token(shown);
        assert!(f.check_token(Some(&token), shown + SignedDuration::from_secs(20)).is_ok());
        assert!(f.check_token(Some(&token), shown + SignedDuration::from_secs(1)).unwrap_err().contains("quicker"));
        assert!(
            f.check_token(Some(&token), shown + SignedDuration::from_hours(25)).unwrap_err().contains("too long ago")
        );
        assert!(f.check_token(None, shown).unwrap_err().contains("missing"));
        let forged = format!("{}.{}", to_millis(shown) - 60_000, token.split_once('.').unwrap().1);
        assert!(f.check_token(Some(&forged), shown + SignedDuration::from_secs(20)).unwrap_err().contains("not valid"));
        let mut other = form();
        other.signing_key = "other".into();
        assert!(other.check_token(Some(&token), shown + SignedDuration::from_secs(20)).is_err(), "keys are per form");
    }

    #[test]
    fn origins() {
        let f = form();
        assert!(f.allows_origin("https://summit.example"));
        assert!(!f.allows_origin("https://evil.example"));
        let mut open = form();
        open.allowed_origins.clear();
        assert!(open.allows_origin("https://anything.example"));
        assert_eq!(
            parse_origins("https://a.example, https://b.example/").unwrap(),
            ["https://a.example", "https://b.example"]
        );
        assert!(parse_origins("a.example").is_err());
        assert!(parse_origins("https://a.example/path").is_err());
    }
}
