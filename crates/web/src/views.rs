//! Page models for the askama templates in `templates/`. Each page holds a [`Shell`] (the
//! sidebar, brand switcher and signed-in user) plus its own data, already formatted.

use askama::Template;
use askama_web::WebTemplate;
use switchboard_core::auth::SessionUser;
use switchboard_core::tenancy::{Brand, Role};

/// One sidebar entry. `href: None` marks a section that arrives in a later release; it is
/// shown, greyed, so people can see where the product is going, but it is not a link.
pub struct NavItem {
    pub key: &'static str,
    pub label: &'static str,
    pub href: Option<&'static str>,
    pub icon: &'static str,
}

pub const NAV: &[NavItem] = &[
    NavItem { key: "leads", label: "Leads", href: Some("/leads"), icon: "M4 4h16v12H5.2L4 17.2V4zm3 4h10M7 11h6" },
    NavItem { key: "jobs", label: "Jobs", href: Some("/jobs"), icon: "M4 7h16v12H4zM9 7V5h6v2M4 12h16" },
    NavItem {
        key: "board",
        label: "Dispatch board",
        href: Some("/board"),
        icon: "M4 5h16M4 12h16M4 19h16M8 3v4M14 10v4M11 17v4",
    },
    NavItem {
        key: "customers",
        label: "Customers",
        href: Some("/customers"),
        icon: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-7 8a7 7 0 0 1 14 0",
    },
    NavItem {
        key: "calls",
        label: "Calls",
        href: Some("/calls"),
        icon: "M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2",
    },
    NavItem { key: "messages", label: "Message desk", href: Some("/desk"), icon: "M4 6h16v10H8l-4 4zM8 10h8" },
    NavItem {
        key: "oncall",
        label: "On-call",
        href: Some("/oncall"),
        icon: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zm0-13v5l3 2",
    },
    NavItem {
        key: "invoices",
        label: "Invoices",
        href: Some("/invoices"),
        icon: "M6 3h12v18l-3-2-3 2-3-2-3 2zM9 8h6M9 12h6",
    },
    NavItem {
        key: "settings",
        label: "Settings",
        href: Some("/settings/brands"),
        icon: "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm8-3 2-1-2-4-2 1-2-1V4h-4v2l-2 1-2-1-2 4 2 1v2l-2 1 2 4 2-1 2 1v2h4v-2l2-1 2 1 2-4-2-1z",
    },
];

pub struct BrandOption {
    pub id: i64,
    pub name: String,
    pub color: String,
    pub selected: bool,
}

pub struct Shell {
    pub active: &'static str,
    pub user_name: String,
    pub user_email: String,
    pub role_label: &'static str,
    pub is_admin: bool,
    pub org_name: String,
    pub brands: Vec<BrandOption>,
    pub csrf: String,
    pub current_path: String,
    /// The SMS stand-in's phones page, when texts go to the stand-in instead of a carrier.
    pub standin_url: Option<String>,
    /// Outgoing email goes to the built-in sink (shown at /demo/mail).
    pub mail_sink: bool,
    /// Open leads nobody has opened yet, of the selected brand (the sidebar's count).
    pub unread_leads: i64,
    /// Schedules with nobody on call at some point in the next 7 days (the sidebar's warning).
    pub oncall_gaps: usize,
    /// What the top bar's search box holds (on the search page, the query).
    pub search: String,
}

impl Shell {
    pub fn new(
        active: &'static str,
        viewer: &SessionUser,
        org_name: String,
        brands: &[Brand],
        current_path: String,
    ) -> Self {
        Shell {
            active,
            user_name: viewer.user.name.clone(),
            user_email: viewer.user.email.clone(),
            role_label: viewer.user.role.label(),
            is_admin: viewer.user.role == Role::Admin,
            org_name,
            brands: brands
                .iter()
                .map(|b| BrandOption {
                    id: b.id.0,
                    name: b.name.clone(),
                    color: b.color.clone(),
                    selected: viewer.brand_id == Some(b.id),
                })
                .collect(),
            csrf: viewer.csrf_token.clone(),
            current_path,
            standin_url: None,
            mail_sink: false,
            unread_leads: 0,
            oncall_gaps: 0,
            search: String::new(),
        }
    }
    pub fn nav(&self) -> &'static [NavItem] {
        NAV
    }
    pub fn all_brands(&self) -> bool {
        !self.brands.iter().any(|b| b.selected)
    }
    pub fn initials(&self) -> String {
        initials(&self.user_name)
    }
    /// The htmx header object that carries the CSRF token on every htmx request.
    pub fn hx_headers(&self) -> String {
        serde_json::json!({ "X-CSRF-Token": self.csrf }).to_string()
    }
}

/// The message for `field` among a form's (field, message) errors.
pub fn error_for<'a>(errors: &'a [(String, String)], field: &str) -> Option<&'a str> {
    errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
}

/// "Miguel Alvarez" -> "MA"; a name without letters (a phone number) -> "#".
pub fn initials(name: &str) -> String {
    let letters: String =
        name.split_whitespace().filter_map(|w| w.chars().next()).filter(|c| c.is_alphabetic()).take(2).collect();
    if letters.is_empty() { "#".to_string() } else { letters.to_uppercase() }
}

#[cfg(test)]
mod tests {
    use super::initials;

    #[test]
    fn initials_come_from_words_with_letters() {
        assert_eq!(initials("Miguel Alvarez"), "MA");
        assert_eq!(initials("cher"), "C");
        assert_eq!(initials("(303) 555-0199"), "#");
        assert_eq!(initials(""), "#");
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub status: u16,
    pub title: &'a str,
    pub message: &'a str,
    pub request_id: Option<&'a str>,
}

impl ErrorPage<'_> {
    pub fn render_html(&self) -> axum::response::Html<String> {
        axum::response::Html(self.render().unwrap_or_else(|_| format!("<h1>{}</h1>", self.status)))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub csrf: String,
    pub email: String,
    pub next: String,
    pub error: Option<String>,
}

pub struct TechChip {
    pub name: String,
    pub full_name: String,
    pub photo_url: String,
    pub initials: String,
}

pub struct JobRowView {
    pub id: i64,
    pub code: String,
    pub customer: String,
    pub customer_full: String,
    pub service: String,
    pub techs: Vec<TechChip>,
    pub status: &'static str,
    pub status_label: &'static str,
    pub scheduled: String,
    pub brand_name: String,
    pub brand_color: String,
}

pub struct StatusTab {
    pub key: &'static str,
    pub label: &'static str,
    pub count: usize,
    pub active: bool,
    pub href: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "jobs/index.html")]
pub struct JobsPage {
    pub shell: Shell,
    pub rows: Vec<JobRowView>,
    pub tabs: Vec<StatusTab>,
    pub total: usize,
    pub show_brand: bool,
    pub status: String,
    pub tech: String,
    pub date: String,
    pub search: String,
    pub sort: String,
    /// (id, name) of every technician, for the filter.
    pub tech_options: Vec<(String, String)>,
}

pub struct CustomerRowView {
    pub name: String,
    pub initials: String,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub jobs: i64,
    pub id: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "customers/index.html")]
pub struct CustomersPage {
    pub shell: Shell,
    pub rows: Vec<CustomerRowView>,
    /// The search typed, and how many customers there are in all.
    pub search: String,
    pub total: usize,
}

pub struct BrandView {
    pub id: i64,
    pub name: String,
    pub time_zone: String,
    /// The country's name.
    pub country: String,
    pub sms_number: String,
    pub inbound_email: String,
    pub color: String,
    pub logo_url: String,
    pub job_prefix: String,
    pub next_code: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/brands.html")]
pub struct BrandsPage {
    pub shell: Shell,
    pub brands: Vec<BrandView>,
    pub notice: Option<String>,
}

/// Values and errors of the brand form (new or edit).
#[derive(Default)]
pub struct BrandFormValues {
    pub name: String,
    pub time_zone: String,
    /// ISO 3166-1 code as chosen (blank: US).
    pub country: String,
    pub sms_number: String,
    pub inbound_email: String,
    pub color: String,
    pub logo_url: String,
    pub job_prefix: String,
    pub sms_help_reply: String,
    /// One phrase per line.
    pub urgent_words: String,
    /// Monday first: each day's opening and closing time as typed (`HH:MM`; empty: closed).
    pub hours: Vec<HoursRow>,
}

/// One day of the working-hours rows.
#[derive(Default, Clone)]
pub struct HoursRow {
    pub key: &'static str,
    pub name: &'static str,
    pub open: String,
    pub close: String,
}

impl HoursRow {
    /// The rows of `hours` as a form shows them.
    pub fn week(hours: &switchboard_core::tenancy::WorkingHours) -> Vec<HoursRow> {
        hours
            .week()
            .map(|(key, name, d)| {
                // A time input cannot hold 24:00; 00:00 as a close is the end of the day.
                let close = d.map(|d| d.close_text()).map(|c| if c == "24:00" { "00:00".into() } else { c });
                HoursRow {
                    key,
                    name,
                    open: d.map(|d| d.open_text()).unwrap_or_default(),
                    close: close.unwrap_or_default(),
                }
            })
            .collect()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/brand_form.html")]
pub struct BrandFormPage {
    pub shell: Shell,
    /// `None` for a new brand.
    pub brand_id: Option<i64>,
    pub values: BrandFormValues,
    pub errors: Vec<(String, String)>,
    pub time_zones: Vec<&'static str>,
    pub countries: &'static [(&'static str, &'static str)],
}

impl BrandFormPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }

    /// Whether `code` is the chosen country (none chosen: the United States).
    pub fn country_chosen(&self, code: &str) -> bool {
        let chosen = self.values.country.trim();
        if chosen.is_empty() { code == "US" } else { chosen.eq_ignore_ascii_case(code) }
    }
}

pub struct UserView {
    pub id: i64,
    pub name: String,
    pub initials: String,
    pub email: String,
    pub role: &'static str,
    pub role_label: &'static str,
    pub active: bool,
    pub joined: String,
    pub is_self: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/users.html")]
pub struct UsersPage {
    pub shell: Shell,
    pub users: Vec<UserView>,
    pub notice: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/user_form.html")]
pub struct UserFormPage {
    pub shell: Shell,
    /// `None` for a new user.
    pub user: Option<UserView>,
    pub email: String,
    pub name: String,
    pub role: String,
    pub errors: Vec<(String, String)>,
    pub notice: Option<String>,
}

impl UserFormPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
    pub fn roles(&self) -> Vec<(&'static str, &'static str)> {
        Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect()
    }
}

pub struct ApiKeyView {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created: String,
    pub last_used: String,
    pub revoked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/api_keys.html")]
pub struct ApiKeysPage {
    pub shell: Shell,
    pub keys: Vec<ApiKeyView>,
    /// The key just created: shown once, never again.
    pub new_key: Option<String>,
    pub error: Option<String>,
}

/// Common IANA zones offered first in the brand form; any valid name may be typed.
pub const COMMON_TIME_ZONES: &[&str] = &[
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Toronto",
    "America/Vancouver",
    "Europe/London",
    "Australia/Sydney",
];

pub struct DeadWorkView {
    pub id: i64,
    pub kind: String,
    pub attempts: i64,
    pub error: String,
    pub when: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/engine.html")]
pub struct EnginePage {
    pub shell: Shell,
    /// (label, count, css class)
    pub counts: Vec<(&'static str, i64, &'static str)>,
    pub dead: Vec<DeadWorkView>,
    pub notice: Option<String>,
}

pub struct LeadRowView {
    pub id: i64,
    pub who: String,
    pub initials: String,
    pub source: &'static str,
    pub source_label: &'static str,
    pub status: &'static str,
    pub status_label: &'static str,
    pub snippet: String,
    pub when: String,
    pub unread: bool,
    pub brand_name: String,
    pub brand_color: String,
    pub job_code: String,
    /// The brand's urgent word the customer wrote, or empty.
    pub urgent: String,
}

pub struct FilterTab {
    pub label: &'static str,
    pub href: String,
    pub active: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "leads/index.html")]
pub struct LeadsPage {
    pub shell: Shell,
    pub list: LeadsList,
    pub source_tabs: Vec<FilterTab>,
    pub status_tabs: Vec<FilterTab>,
    pub search: String,
    pub source: String,
    pub status: String,
}

/// The list alone: what live updates swap in.
#[derive(Template, WebTemplate)]
#[template(path = "leads/_list.html")]
pub struct LeadsList {
    pub rows: Vec<LeadRowView>,
    pub refresh_url: String,
}

pub struct ThreadMessageView {
    pub inbound: bool,
    pub channel: String,
    pub subject: String,
    pub body: String,
    pub when: String,
    pub delivery: String,
    pub author: String,
    /// A voicemail's or missed call's recordings, and the number to call back.
    pub recordings: Vec<crate::console::calls::RecordingView>,
    pub call_back: String,
}

pub struct MatchView {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub jobs: i64,
}

pub struct TechOption {
    pub id: i64,
    pub name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "leads/show.html")]
pub struct LeadPage {
    pub shell: Shell,
    pub id: i64,
    pub who: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub source_label: &'static str,
    pub brand_name: String,
    pub phone: String,
    pub phone_display: String,
    pub email: String,
    pub address: String,
    pub service: String,
    pub name: String,
    pub job_code: String,
    pub converted_by: String,
    pub thread: LeadThread,
    pub matches: Vec<MatchView>,
    pub techs: Vec<TechOption>,
    pub can_text: bool,
    pub can_email: bool,
    pub errors: Vec<(String, String)>,
    pub notice: Option<String>,
    pub time_zone: String,
    /// The convert form's values: the lead's at first, what was typed after a refusal.
    pub convert: ConvertTyped,
    /// The customer the lead became or matches (id, name).
    pub customer: Option<(i64, String)>,
    /// The brand's urgent word the customer wrote, or empty.
    pub urgent: String,
    /// Where to take a desk message from this lead (its brand answers at the message desk), or
    /// empty.
    pub desk_link: String,
}

/// The lead's "Convert to job" form as filled in.
#[derive(Debug, Clone, Default)]
pub struct ConvertTyped {
    /// The customer picked: a customer's id, "new", or empty (the first match, else new).
    pub customer: String,
    pub customer_name: String,
    pub customer_phone: String,
    pub customer_email: String,
    pub service: String,
    pub address: String,
    /// `datetime-local` values as typed.
    pub start: String,
    pub end: String,
    pub tech: String,
}

impl LeadPage {
    /// Whether the customer radio for `value` (an id or "new") is the one picked.
    pub fn customer_picked(&self, value: &str) -> bool {
        match self.convert.customer.as_str() {
            "" => match self.matches.first() {
                Some(m) => value == m.id.to_string(),
                None => value == "new",
            },
            picked => picked == value,
        }
    }
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
    pub fn is_open(&self) -> bool {
        self.status == "new" || self.status == "contacted"
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "leads/_thread.html")]
pub struct LeadThread {
    pub id: i64,
    pub messages: Vec<ThreadMessageView>,
}

pub struct WebFormView {
    pub id: i64,
    pub name: String,
    pub brand_name: String,
    pub hosted_url: String,
    pub snippet: String,
    pub active: bool,
    /// The labels of its own fields, comma-separated (empty: the built-in fields only).
    pub fields: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/web_forms.html")]
pub struct WebFormsPage {
    pub shell: Shell,
    pub forms: Vec<WebFormView>,
    pub error: Option<String>,
    pub notice: Option<String>,
}

/// One row of the web form editor's fields (a saved field, or a blank one for a new field).
#[derive(Default)]
pub struct FieldRow {
    /// Row number, from 1.
    pub n: usize,
    /// What its inputs are named after: `f3` gives `f3_label`, `f3_kind` and so on.
    pub prefix: String,
    /// Empty for a new field.
    pub key: String,
    pub label: String,
    pub kind: String,
    pub required: bool,
    /// One choice per line.
    pub options: String,
    pub help: String,
    pub remove: bool,
    /// (part, message): `label`, `kind`, `options`, `help`, `key`.
    pub errors: Vec<(String, String)>,
}

impl FieldRow {
    pub fn error(&self, part: &str) -> Option<&str> {
        error_for(&self.errors, part)
    }

    /// The row a form posted under `posted` (`f3` for `f3_label`, `f3_kind`, ...), to be
    /// shown again as row `n` under `prefix`; `None` when the form had no such row.
    pub fn read(
        posted: &std::collections::HashMap<&str, &str>,
        at: &str,
        n: usize,
        prefix: String,
    ) -> Option<FieldRow> {
        let name = |part: &str| format!("{at}_{part}");
        let get = |part: &str| posted.get(name(part).as_str()).map(|v| v.to_string()).unwrap_or_default();
        posted.contains_key(name("kind").as_str()).then(|| FieldRow {
            n,
            prefix,
            key: get("key"),
            label: get("label"),
            kind: get("kind"),
            required: posted.contains_key(name("required").as_str()),
            options: get("options"),
            help: get("help"),
            remove: posted.contains_key(name("remove").as_str()),
            errors: Vec::new(),
        })
    }

    /// Left out of a save: removed, or new and never given a label.
    pub fn skipped(&self) -> bool {
        self.remove || (self.key.is_empty() && self.label.trim().is_empty())
    }

    /// The field as typed, for the use case that checks it.
    pub fn input(&self) -> switchboard_core::form_fields::CustomFieldInput {
        switchboard_core::form_fields::CustomFieldInput {
            key: Some(self.key.clone()).filter(|k| !k.is_empty()),
            label: self.label.clone(),
            kind: self.kind.clone(),
            required: self.required,
            options: self.options.clone(),
            help: self.help.clone(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/web_form_edit.html")]
pub struct WebFormEditPage {
    pub shell: Shell,
    pub id: i64,
    pub brand_name: String,
    pub hosted_url: String,
    pub name: String,
    pub redirect_url: String,
    pub allowed_origins: String,
    pub active: bool,
    pub rows: Vec<FieldRow>,
    /// (value, label) of each field type.
    pub kinds: Vec<(&'static str, &'static str)>,
    pub errors: Vec<(String, String)>,
    pub notice: Option<String>,
}

impl WebFormEditPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || self.rows.iter().any(|r| !r.errors.is_empty())
    }
}

/// The content security policy for pages with a map: as everywhere, plus the tile server
/// (which may be plain HTTP on a private network).
pub fn map_csp(maps: &crate::config::MapSettings) -> String {
    format!(
        "default-src 'self'; img-src 'self' data: https: {}; style-src 'self' 'unsafe-inline'; script-src 'self'; \
         frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        maps.tile_origin()
    )
}

/// The top bar's search across customers, jobs and leads.
#[derive(Template, WebTemplate)]
#[template(path = "search.html")]
pub struct SearchPage {
    pub shell: Shell,
    pub q: String,
    pub customers: Vec<SearchCustomer>,
    /// All customers that matched (the list shows the first few).
    pub customers_total: usize,
    pub jobs: Vec<SearchJob>,
    pub jobs_total: usize,
    pub leads: Vec<LeadRowView>,
    pub show_brand: bool,
}

pub struct SearchCustomer {
    pub id: i64,
    pub initials: String,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub address: String,
}

pub struct SearchJob {
    pub id: i64,
    pub code: String,
    pub customer: String,
    pub service: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub scheduled: String,
    pub brand_name: String,
}

/// Customers -> Import: the upload form, then the preview row by row, then what was done.
#[derive(Template, WebTemplate)]
#[template(path = "customers/import.html")]
pub struct CustomerImportPage {
    pub shell: Shell,
    pub error: Option<String>,
    /// The file's text, carried to the confirm step.
    pub text: String,
    pub rows: Vec<ImportRowView>,
    /// (heading, what it is read as).
    pub columns: Vec<(String, String)>,
    pub new_count: usize,
    pub existing_count: usize,
    pub repeat_count: usize,
    pub refused_count: usize,
    /// The import has been carried out.
    pub done: bool,
}

pub struct ImportRowView {
    pub line: usize,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub notes: String,
    /// `new`, `existing`, `repeat` or `refused`.
    pub state: &'static str,
    pub result: String,
    /// The customer already here.
    pub customer: Option<i64>,
}
