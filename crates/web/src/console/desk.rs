//! The message desk, the operator's screen: pick the client, say its greeting, follow its
//! notes, pick who is calling, fill in the fields, mark it urgent if it is, and take the
//! message; below, the messages taken, urgent ones still held first, each retrieved when the
//! client checks in. Live over the console's event stream.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_core::auth::SessionUser;
use switchboard_core::desk::messages::{About, DeskMessage, DeskStatus, Filter, TakeInput};
use switchboard_core::desk::{self, messages};
use switchboard_core::form_fields::FieldKind;
use switchboard_core::ids::{BrandId, JobId, LeadId};
use switchboard_core::tenancy::Brand;

use switchboard_core::desk::contacts::Contact;
use switchboard_core::desk::delivery::Channel;
use switchboard_core::desk::rules::{self, DeliveryRule};
use switchboard_core::escalation::drive;
use switchboard_core::escalation::store::{self as escalation_store, Entry, Escalation};

use crate::auth::{Staff, actor};
use crate::console::shell;
use crate::error::PageError;
use crate::fmt;
use crate::pages::{field_errors, parse_id};
use crate::state::AppState;
use crate::views::{Shell, error_for};

/// A field of the chosen caller type, with what was typed and why it was refused.
pub struct DeskField {
    pub key: String,
    pub label: String,
    /// `text`, `long_text`, `number`, `phone`, `email`, `date`, `choice`, `yes_no`.
    pub kind: &'static str,
    pub required: bool,
    pub help: String,
    pub options: Vec<String>,
    pub value: String,
    pub error: Option<String>,
}

pub struct BoardMessage {
    pub id: i64,
    pub client: String,
    pub caller_type: String,
    pub when: String,
    pub urgent: bool,
    pub urgent_reason: String,
    pub status: &'static str,
    pub status_label: &'static str,
    /// (label, value) of each answer.
    pub answers: Vec<(String, String)>,
    pub taken_by: String,
    pub retrieved: String,
    pub deliveries: Vec<BoardDelivery>,
    /// (who, when, text) of each note.
    pub notes: Vec<(String, String, String)>,
    /// Whether it was emailed, texted or securely sent to a contact (so it can be sent again).
    pub can_redeliver: bool,
    /// A refused action's reasons (`to`, `body`, `message`) and what was typed.
    pub action_errors: Vec<(String, String)>,
    pub typed_to: String,
    pub typed_note: String,
    pub typed_reason: String,
    /// Its urgent escalation, when its caller type has an urgent flow.
    pub escalation: Option<BoardEscalation>,
    /// (link, words) of the job or lead it is about.
    pub about: Option<(String, String)>,
}

/// An urgent message's escalation on the board.
pub struct BoardEscalation {
    /// `escalating`, `confirmed`, `exhausted`.
    pub state: &'static str,
    /// `Escalating: step 2 of 3`, `Confirmed by Dana Owner (replied "1ok")`.
    pub summary: String,
    /// The operator's reason, when marked at the desk.
    pub note: String,
    /// (time, what happened, state class) of each line, oldest first.
    pub lines: Vec<(String, String, &'static str)>,
}

impl BoardEscalation {
    fn of(e: &Escalation, timeline: &[Entry], tz: &jiff::tz::TimeZone) -> BoardEscalation {
        BoardEscalation {
            state: e.run.state.as_str(),
            summary: e.summary(),
            note: e.confirmed_note.clone().unwrap_or_default(),
            lines: timeline.iter().map(|x| (fmt::time(x.at, tz), timeline_line(x), line_class(&x.kind))).collect(),
        }
    }
}

/// A timeline line in words: "Step 1: text asking for a reply code to Ben Ortiz at (312)
/// 555-0142".
fn timeline_line(x: &Entry) -> String {
    let step = if x.step > 0 { format!("Step {}: ", x.step) } else { String::new() };
    let action = x.action.as_deref().map(drive::action_label).unwrap_or("Step").to_lowercase();
    let at = match x.address.as_deref() {
        Some(a) if a.starts_with('+') => format!(" at {}", switchboard_core::parse::display_phone(a)),
        Some(a) if !a.is_empty() => format!(" at {a}"),
        _ => String::new(),
    };
    let person = x.person.clone().unwrap_or_default();
    let detail = x.detail.clone().unwrap_or_default();
    match x.kind.as_str() {
        "started" => format!("Urgent flow started: {detail}"),
        "sent" => format!("{step}{} to {person}{at}", capitalized(&action)),
        "skipped" => {
            let target = x.target.clone().unwrap_or_default();
            format!("{step}{} to {target} skipped: {detail}", capitalized(&action))
        }
        "waiting" => format!("{step}{}", capitalized(&detail)),
        "passed" => format!("{step}passed on to the next step"),
        "confirmed" => format!("Confirmed by {person} ({detail})"),
        "viewed" => format!("{person} opened their link"),
        "thanked" => format!("{person} thanked{at}"),
        "told" => format!("{person} told it is handled{at}"),
        "fallback" => format!("Fallback {person} alerted{at}"),
        "fallback_skipped" => format!("Fallback not alerted: {detail}"),
        "took" => format!("{person} {detail}"),
        _ => capitalized(&detail),
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn line_class(kind: &str) -> &'static str {
    match kind {
        "sent" | "thanked" | "told" | "fallback" => "sent",
        "confirmed" | "took" => "confirmed",
        "skipped" | "nobody_reached" | "exhausted" | "fallback_skipped" => "failed",
        _ => "waiting",
    }
}

/// A line of a message's timeline: one delivery and where it stands.
pub struct BoardDelivery {
    /// "Email to Office manager (office@harbor.example)".
    pub what: String,
    pub state: &'static str,
    pub state_label: &'static str,
    /// Why it failed, or which recap it waits for.
    pub detail: String,
    /// When its state last changed.
    pub when: String,
    /// Each step it took, with when and by whom: "queued 9:00 AM by Morgan Lee · sent 9:00 AM
    /// · delivered 9:01 AM · read 9:05 AM".
    pub steps: String,
}

/// A delivery's steps as the board lists them (see [`BoardDelivery::steps`]), in the client's
/// zone; a step on a later day than the first names its date.
pub(crate) fn delivery_steps(d: &switchboard_core::desk::delivery::Delivery, tz: &jiff::tz::TimeZone) -> String {
    use switchboard_core::when;
    let day = d.created_at.to_zoned(tz.clone()).date();
    let at = |t: jiff::Timestamp| {
        if t.to_zoned(tz.clone()).date() == day {
            when::time(t, tz)
        } else {
            format!("{} {}", when::date(t, tz), when::time(t, tz))
        }
    };
    let by = match d.created_by.as_str() {
        "rules" => String::new(),
        who => format!(" by {}", switchboard_core::jobs::dispatch::actor_name(who)),
    };
    if !d.attempted {
        // Refused when it was planned: the detail says why, and nothing happened after.
        return String::new();
    }
    let first = match d.channel {
        Channel::CheckIn | Channel::Recap => "held",
        _ => "queued",
    };
    let mut steps = vec![format!("{first} {}{by}", at(d.created_at))];
    for (status, t, _) in &d.history {
        let word = match status.as_str() {
            "sending" => continue,
            "undelivered" => "not delivered",
            "suppressed" => "not sent (opted out)",
            other => other,
        };
        steps.push(format!("{word} {}", at(*t)));
    }
    if let Some(read) = d.read_at {
        steps.push(format!("{} {}", if d.channel == Channel::CheckIn { "retrieved" } else { "read" }, at(read)));
    }
    steps.join(" · ")
}

#[derive(Template, WebTemplate)]
#[template(path = "desk/index.html")]
pub struct DeskScreen {
    pub shell: Shell,
    /// Sent with the form, so that sending it twice takes the message once.
    pub submit_key: String,
    /// (id, name, whether it has a protocol) of every client.
    pub clients: Vec<(i64, String, bool)>,
    /// The client picked (0: none).
    pub client: i64,
    pub client_name: String,
    pub has_protocol: bool,
    /// "2:10 PM (America/Denver)".
    pub local_time: String,
    /// "Open now: 8:00 AM-5:00 PM" or "After hours".
    pub hours: String,
    pub open: bool,
    pub greeting: String,
    pub notes: String,
    /// (key, name) of each caller type, and the one picked.
    pub caller_types: Vec<(String, String)>,
    pub caller: String,
    pub fields: Vec<DeskField>,
    /// How this caller type's messages are delivered, a line per rule.
    pub reach: Vec<String>,
    pub urgent: bool,
    /// Whether the operator set the Urgent box themselves (the rules then leave it alone).
    pub urgent_touched: bool,
    /// Why the rules suggest urgent for what is typed so far, or empty.
    pub suggested: String,
    pub urgent_reason: String,
    pub errors: Vec<(String, String)>,
    pub notice: Option<String>,
    pub messages: Vec<BoardMessage>,
    /// The board's filters as picked (`held`, `urgent`, `2026-12-08`; empty: all).
    pub f_status: String,
    pub f_urgency: String,
    pub f_date: String,
    /// The search words.
    pub f_q: String,
    /// Links to the board's newer and older pages, when there are.
    pub newer: Option<String>,
    pub older: Option<String>,
    pub page: i64,
    pub statuses: Vec<(&'static str, &'static str)>,
    /// (name, number) of each client, for the type-ahead.
    pub client_names: Vec<(String, String)>,
    /// The job or lead the message is about (`job:ID`), and in words.
    pub about: String,
    pub about_label: String,
}

impl DeskScreen {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

/// The board's filters, read from the page's address.
#[derive(Deserialize, Default)]
struct BoardQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    q: String,
    /// The board's page, from 1.
    #[serde(default)]
    page: String,
}

/// How many messages a page of the board shows.
const BOARD_PAGE: i64 = 50;

impl BoardQuery {
    fn page(&self) -> i64 {
        self.page.trim().parse::<i64>().unwrap_or(1).clamp(1, 100)
    }
    /// The board's address for `page`, with its client and filters.
    fn href(&self, client: i64, page: i64) -> String {
        let mut q: Vec<(&str, String)> = Vec::new();
        if client != 0 {
            q.push(("client", client.to_string()));
        }
        for (k, v) in [("status", &self.status), ("urgency", &self.urgency), ("date", &self.date), ("q", &self.q)] {
            if !v.trim().is_empty() {
                q.push((k, v.trim().to_string()));
            }
        }
        if page > 1 {
            q.push(("page", page.to_string()));
        }
        let query = serde_urlencoded::to_string(&q).unwrap_or_default();
        if query.is_empty() { "/desk#desk-board".into() } else { format!("/desk?{query}#desk-board") }
    }
    fn read(uri: &Uri) -> BoardQuery {
        uri.query().and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default()
    }
    fn filter(&self, brand: Option<BrandId>) -> Filter {
        Filter {
            brand,
            status: DeskStatus::parse(self.status.trim()),
            urgent: match self.urgency.trim() {
                "urgent" => Some(true),
                "routine" => Some(false),
                _ => None,
            },
            date: self.date.trim().parse().ok(),
            only: None,
            text: Some(self.q.clone()),
        }
    }
}

/// The client a typed `client=` names: its id, or (from the type-ahead) its name or number.
fn pick<'a>(brands: &'a [Brand], typed: &str) -> Option<&'a Brand> {
    let typed = typed.trim();
    if typed.is_empty() {
        return None;
    }
    if let Ok(id) = typed.parse::<i64>()
        && let Some(b) = brands.iter().find(|b| b.id.0 == id)
    {
        return Some(b);
    }
    let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
    brands
        .iter()
        .find(|b| b.name.eq_ignore_ascii_case(typed))
        .or_else(|| {
            brands.iter().find(|b| {
                digits.len() >= 7
                    && b.sms_number.as_ref().is_some_and(|n| n.as_str().ends_with(&digits[digits.len() - 7..]))
            })
        })
        .or_else(|| {
            let lower = typed.to_lowercase();
            let mut hits = brands.iter().filter(|b| b.name.to_lowercase().contains(&lower));
            match (hits.next(), hits.next()) {
                (Some(one), None) => Some(one),
                _ => None,
            }
        })
}

#[derive(Deserialize, Default)]
pub struct DeskQuery {
    #[serde(default)]
    client: String,
    #[serde(default)]
    caller: String,
    #[serde(default)]
    done: String,
    /// A lead (a text that came in on the client's number) to start the message from.
    #[serde(default)]
    lead: String,
    /// A job to start the message from (its customer's name, number and address).
    #[serde(default)]
    job: String,
}

/// What the form posted: the client, the caller type, urgency, and `a_{key}` answers.
struct Posted {
    /// An id, or a name or number typed into the picker.
    client: String,
    caller: String,
    answers: BTreeMap<String, String>,
    urgent: bool,
    urgent_touched: bool,
    urgent_reason: String,
    /// What the caller wrote (a lead's last text), for the first long-text field still empty.
    prefill_text: Option<String>,
    /// The job or lead it is about: `job:ID`, `lead:ID` or empty.
    about: String,
    /// The key the form was shown with (see [`TakeInput::submit_key`]); empty: a new form.
    submit_key: String,
}

impl Posted {
    fn about(&self) -> Option<About> {
        let (kind, id) = self.about.split_once(':')?;
        let id = id.trim().parse::<i64>().ok().filter(|id| *id > 0)?;
        match kind {
            "job" => Some(About::Job(JobId(id))),
            "lead" => Some(About::Lead(LeadId(id))),
            _ => None,
        }
    }
}

fn read_posted(posted: &[(String, String)]) -> Posted {
    let map: HashMap<&str, &str> = posted.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Posted {
        client: map.get("client").map(|c| c.to_string()).unwrap_or_default(),
        caller: map.get("caller").map(|c| c.to_string()).unwrap_or_default(),
        answers: posted
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("a_").map(|key| (key.to_string(), v.clone())))
            .collect(),
        urgent: map.contains_key("urgent"),
        urgent_touched: map.get("urgent_touched").is_some_and(|v| *v == "1"),
        urgent_reason: map.get("urgent_reason").map(|r| r.to_string()).unwrap_or_default(),
        prefill_text: None,
        about: map.get("about").map(|r| r.to_string()).unwrap_or_default(),
        submit_key: map.get("submit_key").map(|r| r.to_string()).unwrap_or_default(),
    }
}

fn board_message(m: DeskMessage, brands: &[Brand], now: jiff::Timestamp) -> BoardMessage {
    let brand = brands.iter().find(|b| b.id == m.brand_id);
    let tz = brand.map(|b| b.zone()).unwrap_or(jiff::tz::TimeZone::UTC);
    let who = |a: &str| switchboard_core::jobs::dispatch::actor_name(a);
    let retrieved = retrieved_label(&m, &tz, now);
    BoardMessage {
        id: m.id,
        client: brand.map(|b| b.name.clone()).unwrap_or_default(),
        caller_type: m.caller_type_name,
        when: fmt::ago(m.taken_at, &tz, now),
        urgent: m.urgent,
        urgent_reason: m.urgent_reason.unwrap_or_default(),
        status: m.status.as_str(),
        status_label: m.status.label(),
        answers: m.answers.iter().map(|a| (a.label.clone(), a.shown())).collect(),
        taken_by: who(&m.taken_by),
        notes: m.notes.iter().map(|n| (who(&n.created_by), fmt::ago(n.created_at, &tz, now), n.body.clone())).collect(),
        can_redeliver: !switchboard_core::desk::delivery::can_redeliver(&m.deliveries).is_empty(),
        action_errors: Vec::new(),
        typed_to: String::new(),
        typed_note: String::new(),
        typed_reason: String::new(),
        escalation: None,
        about: None,
        deliveries: m
            .deliveries
            .iter()
            .map(|d| {
                let to = match &d.address {
                    Some(a) if a.starts_with('+') => format!(" at {}", switchboard_core::parse::display_phone(a)),
                    Some(a) => format!(" at {a}"),
                    None => String::new(),
                };
                let what = match d.channel {
                    Channel::CheckIn => "Held for check-in".to_string(),
                    Channel::Secure if !to.is_empty() => {
                        format!("Secure message to {} (notice sent{to})", d.recipient)
                    }
                    other => format!("{} to {}{to}", other.label(), d.recipient),
                };
                BoardDelivery {
                    what,
                    state: d.state.as_str(),
                    state_label: d.state.label(),
                    detail: d.detail.clone().unwrap_or_default(),
                    when: fmt::ago(d.updated_at, &tz, now),
                    steps: delivery_steps(d, &tz),
                }
            })
            .collect(),
        retrieved,
    }
}

/// "by Morgan Lee 5 min ago" for a retrieved message; empty otherwise.
pub(crate) fn retrieved_label(m: &DeskMessage, tz: &jiff::tz::TimeZone, now: jiff::Timestamp) -> String {
    match (m.status, &m.retrieved_by, m.retrieved_at) {
        (DeskStatus::Retrieved, Some(by), Some(at)) => {
            format!("by {} {}", switchboard_core::jobs::dispatch::actor_name(by), fmt::ago(at, tz, now))
        }
        _ => String::new(),
    }
}

async fn screen(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    typed: Posted,
    errors: Vec<(String, String)>,
    notice: Option<String>,
) -> Result<DeskScreen, PageError> {
    let org = viewer.user.org_id;
    let (shell, brands) = shell(state, viewer, "messages", uri).await?;
    let now = state.clock.now();
    let mut clients = Vec::new();
    for b in &brands {
        clients.push((b.id.0, b.name.clone(), desk::current(&state.db, org, b.id).await?.is_some()));
    }
    let picked = pick(&brands, &typed.client);
    let protocol = match picked {
        Some(b) => desk::current(&state.db, org, b.id).await?,
        None => None,
    };
    let operator = super::desk_settings::first_name(viewer);
    let caller = protocol
        .as_ref()
        .and_then(|p| {
            p.protocol.caller_type(&typed.caller).or_else(|| p.protocol.caller_types.first()).map(|c| c.key.clone())
        })
        .unwrap_or_default();
    let fields = protocol
        .as_ref()
        .and_then(|p| p.protocol.caller_type(&caller))
        .map(|c| {
            c.fields
                .iter()
                .map(|f| DeskField {
                    key: f.key.clone(),
                    label: f.label.clone(),
                    kind: f.kind.as_str(),
                    required: f.required,
                    help: f.help.clone().unwrap_or_default(),
                    options: f.options.clone(),
                    value: typed.answers.get(&f.key).cloned().unwrap_or_default(),
                    error: error_for(&errors, &format!("answers.{}", f.key)).map(str::to_string),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut fields: Vec<DeskField> = fields;
    if let Some(text) = &typed.prefill_text
        && let Some(f) = fields.iter_mut().find(|f| f.kind == "long_text" && f.value.is_empty())
    {
        f.value = text.clone();
    }
    let holidays = protocol.as_ref().map(|p| p.protocol.holidays.clone()).unwrap_or_default();
    let suggested = match picked {
        Some(b) if !typed.answers.is_empty() => {
            messages::suggestion(&state.db, state.clock.as_ref(), org, b.id, &typed.answers).await?.unwrap_or_default()
        }
        _ => String::new(),
    };
    let contacts = match picked {
        Some(b) => desk::contacts::list(&state.db, org, b.id).await?,
        None => Vec::new(),
    };
    let reach = protocol
        .as_ref()
        .and_then(|p| p.protocol.caller_type(&caller))
        .map(|c| reach_lines(&c.deliveries, &contacts))
        .unwrap_or_default();
    let (local_time, hours, open) = match picked {
        Some(b) => {
            let tz = b.zone();
            let open = rules::is_open(&b.working_hours, &holidays, &tz, now);
            let holiday = holidays.contains(&now.to_zoned(tz.clone()).date());
            let today = b.working_hours.day(now.to_zoned(tz.clone()).date().weekday());
            let hours = match (open, today) {
                _ if holiday => "After hours (a holiday)".to_string(),
                (true, Some(d)) => format!("Open now: {}", d.label()),
                (false, Some(d)) => format!("After hours (open {})", d.label()),
                (false, None) | (true, None) => "After hours (closed today)".to_string(),
            };
            (format!("{} ({})", fmt::time(now, &tz), tz.iana_name().unwrap_or("UTC")), hours, open)
        }
        None => (String::new(), String::new(), false),
    };
    let about_words = match typed.about() {
        Some(a) => about_label(state, org, a).await?.map(|(_, label)| label).unwrap_or_default(),
        None => String::new(),
    };
    let board = BoardQuery::read(uri);
    let page = board.page();
    let (found, more) =
        messages::list_from(&state.db, org, &board.filter(picked.map(|b| b.id)), (page - 1) * BOARD_PAGE, BOARD_PAGE)
            .await?;
    let client_id = picked.map(|b| b.id.0).unwrap_or(0);
    let newer = (page > 1).then(|| board.href(client_id, page - 1));
    let older = more.then(|| board.href(client_id, page + 1));
    let ids: Vec<i64> = found.iter().filter(|m| m.urgent).map(|m| m.id).collect();
    let escalations = escalation_store::of_messages(&state.db, org, &ids).await?;
    let mut messages = Vec::with_capacity(found.len());
    for m in found {
        let tz = brands.iter().find(|b| b.id == m.brand_id).map(|b| b.zone()).unwrap_or(jiff::tz::TimeZone::UTC);
        let about = match m.about {
            Some(a) => about_label(state, org, a).await?,
            None => None,
        };
        let mut b = board_message(m, &brands, now);
        b.about = about;
        if let Some(e) = escalations.iter().find(|e| e.message_id == b.id) {
            let timeline = escalation_store::timeline(&state.db, org, e.id).await?;
            b.escalation = Some(BoardEscalation::of(e, &timeline, &tz));
        }
        messages.push(b);
    }
    Ok(DeskScreen {
        shell,
        clients,
        client: picked.map(|b| b.id.0).unwrap_or(0),
        client_name: picked.map(|b| b.name.clone()).unwrap_or_default(),
        has_protocol: protocol.is_some(),
        local_time,
        hours,
        open,
        greeting: match (&protocol, picked) {
            (Some(p), Some(b)) => p.protocol.greeting(&b.name, &operator),
            _ => String::new(),
        },
        notes: protocol.as_ref().and_then(|p| p.protocol.account_notes.clone()).unwrap_or_default(),
        caller_types: protocol
            .as_ref()
            .map(|p| p.protocol.caller_types.iter().map(|c| (c.key.clone(), c.name.clone())).collect())
            .unwrap_or_default(),
        caller,
        fields,
        reach,
        urgent: typed.urgent,
        urgent_touched: typed.urgent_touched,
        suggested,
        urgent_reason: typed.urgent_reason,
        errors,
        notice,
        messages,
        f_status: board.status,
        f_urgency: board.urgency,
        f_date: board.date,
        f_q: board.q,
        newer,
        older,
        page,
        statuses: DeskStatus::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
        client_names: brands
            .iter()
            .map(|b| (b.name.clone(), b.sms_number.as_ref().map(|n| n.display()).unwrap_or_default()))
            .collect(),
        about: typed.about.clone(),
        about_label: about_words,
        // A form shown again after a refusal keeps its key: nothing was taken with it yet.
        submit_key: if typed.submit_key.is_empty() { switchboard_core::secret::new_token() } else { typed.submit_key },
    })
}

/// Where the job or lead a message is about is, and it in words ("J-1001 · Leak · Ben
/// Carter"); `None` for one removed.
async fn about_label(
    state: &AppState,
    org: switchboard_core::ids::OrgId,
    about: About,
) -> Result<Option<(String, String)>, PageError> {
    Ok(match about {
        About::Job(id) => match switchboard_core::jobs::get(&state.db, org, id).await {
            Ok(j) => Some((format!("/jobs/{}", id.0), format!("{} · {} · {}", j.code, j.service, j.customer_name))),
            Err(switchboard_core::Error::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        About::Lead(id) => match switchboard_core::leads::get(&state.db, org, id).await {
            Ok(l) => {
                let who = l.name.clone().or(l.phone.as_deref().map(switchboard_core::parse::display_phone));
                Some((
                    format!("/leads/{}", id.0),
                    format!("Lead from {}", who.unwrap_or_else(|| "an unknown sender".into())),
                ))
            }
            Err(switchboard_core::Error::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
    })
}

/// The delivery rules in words: "Routine, any time: email immediately to Office".
fn reach_lines(rules: &[DeliveryRule], contacts: &[Contact]) -> Vec<String> {
    if rules.is_empty() {
        return vec!["Held for check-in: the client calls or signs in for it.".into()];
    }
    rules
        .iter()
        .map(|r| {
            let names: Vec<&str> = r
                .contacts
                .iter()
                .map(|id| contacts.iter().find(|c| c.id == *id).map(|c| c.name.as_str()).unwrap_or("a removed contact"))
                .collect();
            let to = if names.is_empty() { String::new() } else { format!(" to {}", names.join(", ")) };
            format!(
                "{}, {}: {}{to}",
                if r.urgent { "Urgent" } else { "Routine" },
                r.when.label().to_lowercase(),
                r.method.label().to_lowercase()
            )
        })
        .collect()
}

/// `GET /desk[?client=ID[&caller=KEY]]`.
pub async fn index(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Query(q): Query<DeskQuery>,
) -> Result<Response, PageError> {
    let mut typed = Posted {
        client: q.client,
        caller: q.caller,
        answers: BTreeMap::new(),
        urgent: false,
        urgent_touched: false,
        urgent_reason: String::new(),
        prefill_text: None,
        about: String::new(),
        submit_key: String::new(),
    };
    // Started from a text that came in on the client's number: who wrote, their number and what
    // they wrote are filled in (another organization's lead is not found).
    if let Ok(id) = q.lead.trim().parse::<i64>() {
        let lead =
            switchboard_core::leads::get(&state.db, viewer.user.org_id, switchboard_core::ids::LeadId(id)).await?;
        if typed.client.trim().is_empty() {
            typed.client = lead.brand_id.0.to_string();
        }
        if let Some(name) = lead.name.clone().filter(|n| !n.trim().is_empty()) {
            typed.answers.insert("caller_name".into(), name);
        }
        if let Some(phone) = lead.phone.as_deref() {
            typed.answers.insert("callback_number".into(), switchboard_core::parse::display_phone(phone));
        }
        typed.prefill_text = lead.messages.iter().rev().find(|m| m.direction == "inbound").map(|m| m.body.clone());
        typed.about = format!("lead:{}", lead.id.0);
    }
    // Started from a job: its customer's name, number and address are filled in.
    if let Ok(id) = q.job.trim().parse::<i64>() {
        let job = switchboard_core::jobs::get(&state.db, viewer.user.org_id, JobId(id)).await?;
        if typed.client.trim().is_empty() {
            typed.client = job.brand_id.0.to_string();
        }
        let customer = switchboard_core::customers::get(&state.db, viewer.user.org_id, job.customer_id).await?;
        typed.answers.insert("caller_name".into(), customer.name.clone());
        if let Some(phone) = &customer.phone {
            typed.answers.insert("callback_number".into(), phone.display());
        }
        if let Some(address) = &job.address {
            typed.answers.insert("service_address".into(), address.clone());
        }
        typed.about = format!("job:{}", job.id.0);
    }
    let notice = match q.done.as_str() {
        "taken" => Some("Message taken. Its deliveries are on the board below.".to_string()),
        "retrieved" => Some("Marked retrieved.".to_string()),
        "redelivered" => Some("Sent again: the new deliveries are on the message.".to_string()),
        "forwarded" => Some("Forwarded: the delivery is on the message.".to_string()),
        "noted" => Some("Note added.".to_string()),
        "confirmed" => Some("Marked confirmed: the escalation has stopped and whoever was texted is told.".to_string()),
        _ => None,
    };
    Ok(screen(&state, &viewer, &uri, typed, Vec::new(), notice).await?.into_response())
}

/// `POST /desk/messages`: takes the message; a refusal shows the form again as typed, each
/// reason beside its field.
pub async fn take(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Form(posted): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let typed = read_posted(&posted);
    let input = TakeInput {
        caller_type: typed.caller.clone(),
        answers: typed.answers.clone(),
        urgent: Some(typed.urgent),
        urgent_reason: typed.urgent_reason.clone(),
        about: typed.about(),
        // The form's own key: sent twice (a double click, a retry), it is taken once.
        submit_key: Some(format!("form:{}", typed.submit_key)).filter(|_| !typed.submit_key.is_empty()),
    };
    let result = match typed.client.trim().parse::<i64>().unwrap_or(0) {
        0 => Err(switchboard_core::Error::invalid("client", "pick the client whose call this is")),
        id => messages::take(&state.db, state.clock.as_ref(), org, BrandId(id), &actor(&viewer), &input).await,
    };
    match result {
        Ok(m) => Ok(Redirect::to(&format!(
            "/desk?client={}&caller={}&done=taken#desk-message-{}",
            m.brand_id.0, m.caller_type, m.id
        ))
        .into_response()),
        Err(e) => {
            let errors = field_errors(e)?;
            let page_uri = board_uri(&typed.client, &typed.caller);
            let page = screen(&state, &viewer, &page_uri, typed, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "desk/_suggest.html")]
pub struct UrgentBox {
    pub urgent: bool,
    pub urgent_touched: bool,
    pub suggested: String,
    /// (field key, what is wrong with it so far, or empty), put beside each field.
    pub checks: Vec<(String, String)>,
}

/// `POST /desk/suggest` (htmx, while the operator types): the Urgent box with what the rules
/// suggest for the answers so far, ticked by the rules until the operator sets it themselves;
/// and beside each field, what is wrong with it so far (a number that cannot be one, an email
/// address without its domain), swapped in out of band.
pub async fn suggest(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Form(posted): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let typed = read_posted(&posted);
    let brand = BrandId(typed.client.trim().parse::<i64>().map_err(|_| PageError::bad_request("pick the client"))?);
    let suggested =
        messages::suggestion(&state.db, state.clock.as_ref(), viewer.user.org_id, brand, &typed.answers).await?;
    let urgent = if typed.urgent_touched { typed.urgent } else { suggested.is_some() };
    let checks = messages::check_typed(&state.db, viewer.user.org_id, brand, &typed.caller, &typed.answers).await?;
    Ok(UrgentBox { urgent, urgent_touched: typed.urgent_touched, suggested: suggested.unwrap_or_default(), checks }
        .into_response())
}

/// `POST /desk/messages/{id}/retrieve`: the client has the message.
pub async fn retrieve(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let m = messages::retrieve(&state.db, state.clock.as_ref(), org, parse_id(&id)?, &actor(&viewer)).await?;
    Ok(Redirect::to(&format!("/desk?client={}&done=retrieved#desk-message-{}", m.brand_id.0, m.id)).into_response())
}

/// A message action's form: what was typed (`to`, `body`, `reason`).
#[derive(Deserialize, Default)]
pub struct ActionForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    reason: String,
}

/// Back to the board at the message, saying what happened (or why not: the board shows the
/// refusal beside the message's actions).
fn back_to(m: i64, brand: i64, done: &str) -> Response {
    Redirect::to(&format!("/desk?client={brand}&done={done}#desk-message-{m}")).into_response()
}

/// A refusal of an action on one message, shown on the board beside that message's forms, with
/// what was typed kept.
async fn refused(
    state: &AppState,
    viewer: &SessionUser,
    m: &DeskMessage,
    e: switchboard_core::Error,
    typed: &ActionForm,
) -> Result<Response, PageError> {
    let errors = field_errors(e)?;
    let posted = Posted {
        client: m.brand_id.0.to_string(),
        caller: String::new(),
        answers: BTreeMap::new(),
        urgent: false,
        urgent_touched: false,
        urgent_reason: String::new(),
        prefill_text: None,
        about: String::new(),
        submit_key: String::new(),
    };
    let page_uri = board_uri(&m.brand_id.0.to_string(), "");
    let mut page = screen(state, viewer, &page_uri, posted, Vec::new(), None).await?;
    if let Some(b) = page.messages.iter_mut().find(|b| b.id == m.id) {
        b.action_errors = errors;
        b.typed_to = typed.to.clone();
        b.typed_note = typed.body.clone();
        b.typed_reason = typed.reason.clone();
    }
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// The desk's own address for a client (and caller type): what a page shown after a POST
/// refreshes itself from.
fn board_uri(client: &str, caller: &str) -> Uri {
    let query = serde_urlencoded::to_string([("client", client), ("caller", caller)]).unwrap_or_default();
    format!("/desk?{query}").parse().unwrap_or_else(|_| Uri::from_static("/desk"))
}

/// `POST /desk/messages/{id}/redeliver`: sends it again to everyone it was emailed or texted to.
pub async fn redeliver(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let m = messages::get(&state.db, org, parse_id(&id)?).await?;
    match switchboard_core::desk::delivery::redeliver(&state.db, state.clock.as_ref(), org, m.id, &actor(&viewer)).await
    {
        Ok(_) => Ok(back_to(m.id, m.brand_id.0, "redelivered")),
        Err(e) => refused(&state, &viewer, &m, e, &ActionForm::default()).await,
    }
}

/// `POST /desk/messages/{id}/forward`: to an email address or a cell number.
pub async fn forward(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let m = messages::get(&state.db, org, parse_id(&id)?).await?;
    match switchboard_core::desk::delivery::forward(
        &state.db,
        state.clock.as_ref(),
        org,
        m.id,
        &form.to,
        &actor(&viewer),
    )
    .await
    {
        Ok(_) => Ok(back_to(m.id, m.brand_id.0, "forwarded")),
        Err(e) => refused(&state, &viewer, &m, e, &form).await,
    }
}

/// `POST /desk/messages/{id}/notes`.
pub async fn add_note(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let m = messages::get(&state.db, org, parse_id(&id)?).await?;
    match messages::add_note(&state.db, state.clock.as_ref(), org, m.id, &form.body, &actor(&viewer)).await {
        Ok(_) => Ok(back_to(m.id, m.brand_id.0, "noted")),
        Err(e) => refused(&state, &viewer, &m, e, &form).await,
    }
}

/// `POST /desk/messages/{id}/confirm`: someone has it (they called back, the client called
/// in): the escalation stops, with the reason.
pub async fn confirm(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let m = messages::get(&state.db, org, parse_id(&id)?).await?;
    match drive::confirm_at_desk(
        &state.db,
        state.clock.as_ref(),
        &state.config.public_url,
        org,
        m.id,
        &actor(&viewer),
        &form.reason,
    )
    .await
    {
        Ok(_) => Ok(back_to(m.id, m.brand_id.0, "confirmed")),
        Err(e) => refused(&state, &viewer, &m, e, &form).await,
    }
}

impl BoardMessage {
    /// Whether nobody has confirmed it yet (an urgent message not retrieved, its escalation
    /// not confirmed).
    pub fn unconfirmed(&self) -> bool {
        self.urgent && self.status != "retrieved" && self.escalation.as_ref().is_none_or(|e| e.state != "confirmed")
    }

    pub fn action_error(&self, field: &str) -> Option<&str> {
        error_for(&self.action_errors, field)
    }
}

impl DeskField {
    pub fn is(&self, kind: FieldKind) -> bool {
        self.kind == kind.as_str()
    }
}
