//! The jobs table (filters, search, sort) and the job page: details, window, technicians,
//! status, line items, photos and history, each editable where it is shown.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_core::auth::SessionUser;
use switchboard_core::ids::{JobId, TechnicianId};
use switchboard_core::jobs::{
    self, GeoPoint, JobDetail, JobFilter, JobPatch, JobStatus, JobSummary, format_quantity, short_name,
};
use switchboard_core::parse::display_phone;
use switchboard_core::technicians::{self, Technician};
use switchboard_core::tenancy::Brand;
use switchboard_core::{Error, customers};

use crate::auth::{Staff, actor, urlencode};
use crate::console::shell;
use crate::error::PageError;
use crate::fmt;
use crate::pages::{LineItemForm, day_bounds, field_errors, parse_id, photo_response, read_photo, seen_version};
use crate::state::AppState;
use crate::views::{JobRowView, JobsPage, Shell, StatusTab, TechChip, error_for, initials};

#[derive(Deserialize, Default)]
pub struct JobsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    tech: String,
    /// `YYYY-MM-DD`, a day in the brand's time zone.
    #[serde(default)]
    date: String,
    #[serde(default)]
    q: String,
    /// `scheduled` (default), `code`, `customer`, `status`.
    #[serde(default)]
    sort: String,
}

impl JobsQuery {
    /// The query string for the same filters with `status` replaced.
    fn with_status(&self, status: &str) -> String {
        let pairs =
            [("status", status), ("tech", &self.tech), ("date", &self.date), ("q", &self.q), ("sort", &self.sort)];
        let q: Vec<String> =
            pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
        if q.is_empty() { "/jobs".into() } else { format!("/jobs?{}", q.join("&")) }
    }
}

pub fn tech_chips(j: &JobSummary) -> Vec<TechChip> {
    j.techs
        .iter()
        .map(|t| TechChip {
            name: t.first_name().to_string(),
            full_name: t.name.clone(),
            photo_url: t.photo_url.clone().unwrap_or_default(),
            initials: initials(&t.name),
        })
        .collect()
}

pub async fn index(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Query(q): Query<JobsQuery>,
) -> Result<Response, PageError> {
    let (shell, brands) = shell(&state, &viewer, "jobs", &uri).await?;
    let status = match q.status.trim() {
        "" => None,
        s => Some(JobStatus::parse(s).map_err(PageError::bad_request)?),
    };
    let tech = match q.tech.trim() {
        "" => None,
        t => Some(TechnicianId(t.parse().map_err(|_| PageError::bad_request("pick a technician"))?)),
    };
    // A day is read in the selected brand's zone (or the first brand's when all are shown).
    let day_zone = fmt::org_zone(&brands, viewer.brand_id);
    let (from, to) = match q.date.trim() {
        "" => (None, None),
        d => {
            let date: jiff::civil::Date =
                d.parse().map_err(|_| PageError::bad_request(format!("\"{d}\" is not a date like 2026-11-23")))?;
            day_bounds(date, &day_zone)
                .map(|(a, b)| (Some(a), Some(b)))
                .ok_or_else(|| PageError::bad_request("bad date"))?
        }
    };
    let filter = JobFilter {
        brand: viewer.brand_id,
        status: None,
        tech,
        customer: None,
        from,
        to,
        search: Some(q.q.clone()).filter(|s| !s.trim().is_empty()),
    };
    // Tab counts come from the list with every filter but the status.
    let mut all = jobs::list(&state.db, viewer.user.org_id, &filter).await?;
    let techs = technicians::list(&state.db, viewer.user.org_id).await?;
    let now = state.clock.now();
    let brand_by_id: HashMap<_, _> = brands.iter().map(|b| (b.id, b)).collect();
    let mut tabs =
        vec![StatusTab { key: "", label: "All", count: all.len(), active: status.is_none(), href: q.with_status("") }];
    for st in JobStatus::ALL {
        tabs.push(StatusTab {
            key: st.as_str(),
            label: st.label(),
            count: all.iter().filter(|j| j.status == st).count(),
            active: status == Some(st),
            href: q.with_status(st.as_str()),
        });
    }
    let total = all.len();
    match q.sort.as_str() {
        "code" => all.sort_by(|a, b| a.code.cmp(&b.code)),
        "customer" => all.sort_by_key(|a| a.customer_name.to_lowercase()),
        "status" => all.sort_by_key(|a| a.status.attention_rank()),
        // Soonest first, unscheduled last.
        "scheduled" => all.sort_by_key(|a| (a.scheduled_start.is_none(), a.scheduled_start)),
        _ => {}
    }
    let times = fmt::JobTimes::new(&brands, viewer.brand_id, now);
    let rows = all
        .into_iter()
        .filter(|j| status.is_none_or(|s| j.status == s))
        .map(|j| {
            let brand = brand_by_id.get(&j.brand_id);
            let tz = fmt::brand_zone(&brands, j.brand_id);
            JobRowView {
                id: j.id.0,
                techs: tech_chips(&j),
                code: j.code,
                customer: short_name(&j.customer_name),
                customer_full: j.customer_name,
                service: j.service,
                status: j.status.as_str(),
                status_label: j.status.label(),
                scheduled: times.start(j.scheduled_start, &tz),
                brand_name: brand.map(|b| b.name.clone()).unwrap_or_default(),
                brand_color: brand.map(|b| b.color.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let show_brand = viewer.brand_id.is_none() && brands.len() > 1;
    let tech_options = techs.iter().map(|t| (t.id.0.to_string(), t.name.clone())).collect();
    Ok(JobsPage {
        shell,
        rows,
        tabs,
        total,
        show_brand,
        status: q.status.clone(),
        tech: q.tech.clone(),
        date: q.date.clone(),
        search: q.q.clone(),
        sort: if q.sort.is_empty() { "attention".into() } else { q.sort.clone() },
        tech_options,
    }
    .into_response())
}

pub struct LineItemView {
    pub id: i64,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub total: String,
    pub taxable: bool,
}

pub struct JobMessageView {
    pub channel: &'static str,
    pub body: String,
    pub when: String,
    pub status: &'static str,
    pub status_class: &'static str,
}

pub struct HistoryView {
    pub when: String,
    pub who: String,
    pub what: String,
}

pub struct JobInvoice {
    pub id: i64,
    pub number: String,
    pub deposit: bool,
    pub status: &'static str,
    pub status_label: &'static str,
    pub total: String,
    pub due: String,
}

pub struct TechOption {
    pub id: i64,
    pub name: String,
    pub assigned: bool,
    pub photo_url: String,
    pub initials: String,
    pub has_phone: bool,
    /// What they are doing on this job ("En route"), when assigned.
    pub work: &'static str,
    pub work_class: &'static str,
    /// How far they are while en route ("4.3 mi · about 9:20 PM"), from their shared location.
    pub eta: String,
}

pub struct StatusAction {
    pub to: &'static str,
    pub label: &'static str,
    pub needs_reason: bool,
    pub danger: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "jobs/show.html")]
pub struct JobPage {
    pub shell: Shell,
    pub id: i64,
    /// The version shown: the edit and assignment forms send it back.
    pub version: i64,
    pub code: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub actions: Vec<StatusAction>,
    pub brand_name: String,
    pub brand_color: String,
    /// The desk's form for an urgent message about this job, when its brand has a protocol
    /// and the job is open (empty otherwise).
    pub desk_link: String,
    /// The job's invoices, newest first.
    pub invoices: Vec<JobInvoice>,
    /// The customer's calls since the job was booked, with their recordings.
    pub calls: Vec<crate::console::calls::CallRow>,
    /// No final invoice yet (or only void ones): "Create invoice".
    pub can_invoice: bool,
    /// An open job with no deposit asked: "Ask for a deposit".
    pub can_deposit: bool,
    pub zone_name: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub customer_phone: String,
    pub customer_phone_display: String,
    pub customer_email: String,
    pub customer_about: String,
    pub service: String,
    pub address: String,
    /// The service location it is at: its label and access notes.
    pub site_label: String,
    pub access_notes: String,
    /// The customer's locations' addresses, offered as the address is typed.
    pub site_addresses: Vec<String>,
    pub lat: String,
    pub lon: String,
    pub verified: bool,
    pub start: String,
    pub end: String,
    pub window: String,
    pub internal_notes: String,
    pub customer_notes: String,
    pub techs: Vec<TechOption>,
    pub line_items: Vec<LineItemView>,
    pub total: String,
    pub photos: Vec<i64>,
    pub history: Vec<HistoryView>,
    /// Notifications sent to the customer about this job, with delivery status.
    pub messages: Vec<JobMessageView>,
    pub errors: Vec<(String, String)>,
    pub notice: Option<String>,
    pub open: bool,
    /// Map tiles and attribution for the pin picker.
    pub tiles: String,
    pub attribution: String,
    /// A geocoder is configured and the job has an address: "Find on map" is offered.
    pub can_locate: bool,
}

impl JobPage {
    pub fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

/// Describes a history entry the way a dispatcher reads it.
fn history_line(e: &jobs::JobEvent) -> String {
    match (e.kind.as_str(), e.from, e.to) {
        ("created", _, Some(to)) => format!("Created as {}", to.label().to_lowercase()),
        ("status", Some(from), Some(to)) => {
            let base = format!("{} → {}", from.label(), to.label());
            match &e.note {
                Some(n) if !n.is_empty() && n != "scheduled" => format!("{base} ({n})"),
                _ => base,
            }
        }
        (_, _, _) => {
            let note = e.note.clone().unwrap_or_default();
            let mut chars = note.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => e.kind.clone(),
            }
        }
    }
}

pub(crate) fn who(actor: &str) -> String {
    match actor.split_once(':') {
        Some(("user", name)) => name.to_string(),
        Some(("tech", name)) => format!("{name} (field)"),
        _ if actor == "api" => "API".into(),
        _ => "Switchboard".into(),
    }
}

async fn render(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    id: JobId,
    errors: Vec<(String, String)>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let detail: JobDetail = jobs::detail(&state.db, org, id).await?;
    let (shell, brands) = shell(state, viewer, "jobs", uri).await?;
    let brand: Option<&Brand> = brands.iter().find(|b| b.id == detail.job.brand_id);
    let tz = fmt::brand_zone(&brands, detail.job.brand_id);
    let customer = customers::get(&state.db, org, detail.job.customer_id).await?;
    let all_techs: Vec<Technician> = technicians::list(&state.db, org).await?;
    let sent = switchboard_core::messaging::for_job(&state.db, org, id).await?;
    let now = state.clock.now();
    let job = &detail.job;
    let mut techs = Vec::new();
    for t in all_techs.iter().filter(|t| (t.active && t.works_for(job.brand_id)) || job.has_tech(t.id)) {
        let on_job = job.tech(t.id);
        // Where someone on the way is: the same estimate the customer's page shows.
        let estimate = match on_job {
            Some(x) if x.work == switchboard_core::jobs::WorkStatus::EnRoute => {
                switchboard_core::tracking::estimate(&state.router, job, t, now).await
            }
            _ => None,
        };
        techs.push(TechOption {
            id: t.id.0,
            name: t.name.clone(),
            assigned: on_job.is_some(),
            photo_url: t.photo_url.clone().unwrap_or_default(),
            initials: initials(&t.name),
            has_phone: t.phone.is_some(),
            work: on_job.map(|x| x.work.label()).unwrap_or_default(),
            work_class: on_job.map(|x| x.work.as_str()).unwrap_or_default(),
            eta: estimate
                .map(|e| {
                    let at = fmt::time(e.arrives_at(now), &tz);
                    format!("{} · about {at}", switchboard_core::tracking::miles(e.metres))
                })
                .unwrap_or_default(),
        });
    }
    // Nobody to send: no Dispatch button (the crew card says to assign someone).
    let actions = job
        .status
        .next()
        .iter()
        .filter(|to| **to != JobStatus::Dispatched || !job.techs.is_empty())
        .map(|to| StatusAction {
            to: to.as_str(),
            label: match (job.status, to) {
                (JobStatus::Completed, JobStatus::Scheduled) => "Reopen",
                (JobStatus::Dispatched, JobStatus::Scheduled) => "Back to scheduled",
                (JobStatus::PendingClose, JobStatus::OnSite) => "Back on site",
                (_, JobStatus::Dispatched) => "Dispatch",
                (_, JobStatus::OnSite) => "Arrived",
                (_, JobStatus::PendingClose) => "Work done",
                (_, JobStatus::Completed) => "Complete",
                (_, JobStatus::Canceled) => "Cancel job",
                (_, JobStatus::Scheduled) => "Schedule",
                (_, other) => other.label(),
            },
            needs_reason: job.status == JobStatus::Completed || *to == JobStatus::Canceled,
            danger: *to == JobStatus::Canceled,
        })
        .collect();
    let desk_link =
        match job.status.is_open() && switchboard_core::desk::current(&state.db, org, job.brand_id).await?.is_some() {
            true => format!("/desk?client={}&job={}", job.brand_id.0, job.id.0),
            false => String::new(),
        };
    let invoices = switchboard_core::billing::for_job(&state.db, org, id).await?;
    let open_of = |k: switchboard_core::billing::InvoiceKind| {
        invoices.iter().any(|i| i.kind == k && i.status != switchboard_core::billing::Status::Void)
    };
    let can_invoice = !open_of(switchboard_core::billing::InvoiceKind::Invoice) && job.status != JobStatus::Canceled;
    let can_deposit = !open_of(switchboard_core::billing::InvoiceKind::Deposit) && job.status.is_open();
    let invoices = invoices
        .iter()
        .map(|i| JobInvoice {
            id: i.id,
            number: i.number.clone(),
            deposit: i.kind == switchboard_core::billing::InvoiceKind::Deposit,
            status: i.status.as_str(),
            status_label: i.status.label(),
            total: i.totals.total.to_string(),
            due: i.due.to_string(),
        })
        .collect();
    let call_filter = switchboard_core::calls::store::Filter {
        customer: Some(job.customer_id.0),
        // From a day before it was booked: the call that asked for it belongs with it.
        since: detail.history.iter().map(|e| switchboard_core::clock::to_millis(e.at) - 86_400_000).min(),
        limit: 10,
        ..Default::default()
    };
    let calls = switchboard_core::calls::store::list(&state.db, org, &call_filter).await?;
    let page = JobPage {
        calls: crate::console::calls::rows(calls, &brands, state.clock.now()),
        invoices,
        can_invoice,
        can_deposit,
        desk_link,
        shell,
        id: job.id.0,
        version: job.version,
        code: job.code.clone(),
        status: job.status.as_str(),
        status_label: job.status.label(),
        actions,
        brand_name: brand.map(|b| b.name.clone()).unwrap_or_default(),
        brand_color: brand.map(|b| b.color.clone()).unwrap_or_default(),
        zone_name: tz.iana_name().unwrap_or("UTC").to_string(),
        customer_id: customer.id.0,
        customer_name: customer.name.clone(),
        customer_phone: customer.phone.as_deref().unwrap_or_default().to_string(),
        customer_phone_display: customer.phone.as_deref().map(display_phone).unwrap_or_default(),
        customer_email: customer.email.as_deref().unwrap_or_default().to_string(),
        customer_about: customer.notes.clone().unwrap_or_default(),
        service: job.service.clone(),
        address: job.address.clone().unwrap_or_default(),
        site_label: job.service_location.as_ref().and_then(|s| s.label.clone()).unwrap_or_default(),
        access_notes: job.service_location.as_ref().and_then(|s| s.access_notes.clone()).unwrap_or_default(),
        site_addresses: switchboard_core::customers::locations::list(&state.db, org, customer.id)
            .await?
            .into_iter()
            .map(|l| l.address)
            .collect(),
        lat: job.location.map(|p| format!("{:.6}", p.lat)).unwrap_or_default(),
        lon: job.location.map(|p| format!("{:.6}", p.lon)).unwrap_or_default(),
        verified: job.location_verified,
        start: job.scheduled_start.map(|t| fmt::to_local_input(t, &tz)).unwrap_or_default(),
        end: job.scheduled_end.map(|t| fmt::to_local_input(t, &tz)).unwrap_or_default(),
        window: match (job.scheduled_start, job.scheduled_end) {
            (Some(s), Some(e)) => format!("{} – {}", fmt::schedule(s, &tz, now), fmt::time(e, &tz)),
            (Some(s), None) => fmt::schedule(s, &tz, now),
            _ => "Unscheduled".into(),
        },
        internal_notes: job.internal_notes.clone().unwrap_or_default(),
        customer_notes: job.customer_notes.clone().unwrap_or_default(),
        techs,
        line_items: detail
            .line_items
            .iter()
            .map(|i| LineItemView {
                id: i.id,
                description: i.description.clone(),
                quantity: format_quantity(i.quantity_x100),
                unit_price: i.unit_price.to_string(),
                total: i.total().to_string(),
                taxable: i.taxable,
            })
            .collect(),
        total: detail.total().to_string(),
        photos: detail.photos.iter().map(|p| p.id).collect(),
        history: detail
            .history
            .iter()
            .rev()
            .map(|e| HistoryView { when: fmt::ago(e.at, &tz, now), who: who(&e.actor), what: history_line(e) })
            .collect(),
        messages: sent
            .iter()
            .map(|m| {
                use switchboard_core::messaging::{Channel, MessageStatus};
                JobMessageView {
                    channel: if m.channel == Channel::Sms { "Text" } else { "Email" },
                    body: m.subject.clone().map(|s| format!("{s}: {}", m.body)).unwrap_or_else(|| m.body.clone()),
                    when: fmt::ago(m.created_at, &tz, now),
                    status: m.status.label(),
                    status_class: match m.status {
                        MessageStatus::Delivered => "delivered",
                        MessageStatus::Failed | MessageStatus::Undelivered | MessageStatus::Suppressed => "failed",
                        _ => "pending",
                    },
                }
            })
            .collect(),
        errors,
        notice,
        open: job.status.is_open(),
        tiles: state.config.maps.tiles.clone(),
        attribution: state.config.maps.attribution.clone(),
        can_locate: state.geocoder.is_on() && job.address.is_some(),
    };
    let mut r = (status, page).into_response();
    if let Ok(csp) = axum::http::HeaderValue::from_str(&crate::views::map_csp(&state.config.maps)) {
        r.headers_mut().insert(axum::http::header::CONTENT_SECURITY_POLICY, csp);
    }
    Ok(r)
}

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
}

pub async fn show(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, PageError> {
    let id = JobId(parse_id(&id)?);
    let notice = match q.done.as_str() {
        "saved" => Some("Saved.".to_string()),
        "created" => Some("Job created.".to_string()),
        "assigned" => Some("Technicians updated. Newly assigned technicians are texted their portal link.".into()),
        "status" => Some("Status changed.".into()),
        "item" => Some("Line item added.".into()),
        "photo" => Some("Photo added.".into()),
        "located" => Some("Address found on the map and verified.".into()),
        "located-approx" => {
            Some("Address found only approximately: drag the pin to the door and save to verify it.".into())
        }
        "not-located" => Some("The map service does not know this address: place the pin by hand.".into()),
        _ => None,
    };
    render(&state, &viewer, &uri, id, vec![], notice, StatusCode::OK).await
}

/// After a change: back to the job page, or the page again with the reasons it was refused.
async fn outcome(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    id: JobId,
    result: Result<(), Error>,
    done: &str,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/jobs/{}?done={done}", id.0)).into_response()),
        Err(Error::InvalidTransition { message, .. }) => {
            render(state, viewer, uri, id, vec![("status".into(), message)], None, StatusCode::CONFLICT).await
        }
        Err(Error::Conflict(message)) => {
            render(state, viewer, uri, id, vec![("form".into(), message)], None, StatusCode::CONFLICT).await
        }
        // Shown above the form, which shows the job as it is now.
        Err(Error::Stale(stale)) => {
            render(state, viewer, uri, id, vec![("form".into(), stale.message)], None, StatusCode::CONFLICT).await
        }
        Err(Error::Unavailable(message)) => {
            render(state, viewer, uri, id, vec![("form".into(), message)], None, StatusCode::SERVICE_UNAVAILABLE).await
        }
        Err(e) => {
            let errors = field_errors(e)?;
            render(state, viewer, uri, id, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// The job form. Each field comes with the value the page showed (`orig_*`); only fields the
/// user changed are saved, so a stale page does not undo someone else's edit.
#[derive(Deserialize)]
pub struct EditForm {
    /// The job's version the page showed (empty from older pages: not checked).
    #[serde(default)]
    version: String,
    #[serde(default)]
    orig_service: String,
    #[serde(default)]
    orig_address: String,
    #[serde(default)]
    orig_lat: String,
    #[serde(default)]
    orig_lon: String,
    #[serde(default)]
    orig_verified: String,
    #[serde(default)]
    orig_start: String,
    #[serde(default)]
    orig_end: String,
    #[serde(default)]
    orig_internal_notes: String,
    #[serde(default)]
    orig_customer_notes: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    verified: Option<String>,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    internal_notes: String,
    #[serde(default)]
    customer_notes: String,
}

fn coordinate(field: &'static str, v: &str) -> Result<Option<f64>, Error> {
    match v.trim() {
        "" => Ok(None),
        s => s.parse::<f64>().map(Some).map_err(|_| Error::invalid(field, format!("\"{s}\" is not a number"))),
    }
}

fn text(v: &str) -> Option<String> {
    Some(v.trim().to_string()).filter(|s| !s.is_empty())
}

pub async fn update(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<EditForm>,
) -> Result<Response, PageError> {
    let id = JobId(parse_id(&id)?);
    let org = viewer.user.org_id;
    let job = jobs::get(&state.db, org, id).await?;
    let brand = switchboard_core::tenancy::brand(&state.db, org, job.brand_id).await?;
    let tz = brand.zone();
    let patch = (|| -> Result<JobPatch, Error> {
        let mut v = switchboard_core::error::Validator::new();
        let lat = v.check("lat", coordinate("lat", &form.lat).map_err(|e| e.to_string()));
        let lon = v.check("lon", coordinate("lon", &form.lon).map_err(|e| e.to_string()));
        let start = v.check("start", fmt::local_input("scheduled_start", &form.start, &tz).map_err(|e| e.to_string()));
        let end = v.check("end", fmt::local_input("scheduled_end", &form.end, &tz).map_err(|e| e.to_string()));
        v.finish()?;
        let location = match (lat.flatten(), lon.flatten()) {
            (Some(lat), Some(lon)) => Some(GeoPoint::new(lat, lon).map_err(|m| Error::invalid("lat", m))?),
            (None, None) => None,
            _ => return Err(Error::invalid("lat", "give both latitude and longitude, or neither")),
        };
        let changed = |now: &str, was: &str| now.trim() != was.trim();
        let verified = if form.verified.is_some() { "1" } else { "" };
        Ok(JobPatch {
            version: seen_version(&form.version)?,
            service: changed(&form.service, &form.orig_service).then(|| form.service.clone()),
            address: changed(&form.address, &form.orig_address).then(|| text(&form.address)),
            service_location: None,
            location: (changed(&form.lat, &form.orig_lat) || changed(&form.lon, &form.orig_lon)).then_some(location),
            location_verified: changed(verified, &form.orig_verified).then_some(form.verified.is_some()),
            scheduled_start: changed(&form.start, &form.orig_start).then(|| start.flatten()),
            scheduled_end: changed(&form.end, &form.orig_end).then(|| end.flatten()),
            internal_notes: changed(&form.internal_notes, &form.orig_internal_notes)
                .then(|| text(&form.internal_notes)),
            customer_notes: changed(&form.customer_notes, &form.orig_customer_notes)
                .then(|| text(&form.customer_notes)),
        })
    })();
    let result = match patch {
        Ok(p) => jobs::update(&state.db, state.clock.as_ref(), org, &actor(&viewer), id, &p).await.map(|_| ()),
        Err(e) => Err(e),
    };
    let result = result.map_err(|e| match e {
        // The form names the window fields start/end.
        Error::Invalid(fields) => Error::Invalid(
            fields
                .into_iter()
                .map(|mut f| {
                    f.field = match f.field.as_ref() {
                        "scheduled_start" => "start".into(),
                        "scheduled_end" => "end".into(),
                        _ => f.field,
                    };
                    f
                })
                .collect(),
        ),
        other => other,
    });
    outcome(&state, &viewer, &uri, id, result, "saved").await
}

#[derive(Deserialize)]
pub struct StatusForm {
    to: String,
    #[serde(default)]
    reason: String,
}

/// "Find on map": asks the geocoder for the job's address now.
pub async fn locate(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    use switchboard_core::jobs::locate::{self, Located};
    let id = JobId(parse_id(&id)?);
    let org = viewer.user.org_id;
    match locate::locate(&state.db, state.clock.as_ref(), &state.geocoder, org, id).await {
        Ok(Located::Pinned { exact: true, .. }) => outcome(&state, &viewer, &uri, id, Ok(()), "located").await,
        Ok(Located::Pinned { exact: false, .. }) => outcome(&state, &viewer, &uri, id, Ok(()), "located-approx").await,
        Ok(Located::NotFound) => outcome(&state, &viewer, &uri, id, Ok(()), "not-located").await,
        Ok(Located::Skipped(why)) => {
            let why = format!("Not looked up: {why}.");
            outcome(&state, &viewer, &uri, id, Err(Error::Conflict(why)), "").await
        }
        Err(Error::Unavailable(why)) => {
            let message = format!("The map service could not be reached ({why}); try again or place the pin by hand.");
            outcome(&state, &viewer, &uri, id, Err(Error::Unavailable(message)), "").await
        }
        Err(e) => outcome(&state, &viewer, &uri, id, Err(e), "").await,
    }
}

pub async fn set_status(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PageError> {
    let id = JobId(parse_id(&id)?);
    let to = JobStatus::parse(form.to.trim()).map_err(PageError::bad_request)?;
    let reason = text(&form.reason);
    if to == JobStatus::Canceled && reason.is_none() {
        let message = "Say why the job is canceled: the reason goes in its history.".to_string();
        let refused = Error::InvalidTransition { message, allowed: Vec::new() };
        return outcome(&state, &viewer, &uri, id, Err(refused), "status").await;
    }
    let result = jobs::change_status(
        &state.db,
        state.clock.as_ref(),
        viewer.user.org_id,
        &actor(&viewer),
        id,
        to,
        reason.as_deref(),
    )
    .await
    .map(|_| ());
    outcome(&state, &viewer, &uri, id, result, "status").await
}

pub async fn assign(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let id = JobId(parse_id(&id)?);
    // Repeated `tech` fields: serde_urlencoded reads them as pairs.
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).map_err(|e| PageError::bad_request(e.to_string()))?;
    let mut techs = Vec::new();
    let mut version = String::new();
    for (k, v) in pairs {
        if k == "tech" {
            techs.push(TechnicianId(v.parse().map_err(|_| PageError::bad_request("pick technicians from the list"))?));
        } else if k == "version" {
            version = v;
        }
    }
    let result = match seen_version(&version) {
        Ok(seen) => {
            jobs::assign(&state.db, state.clock.as_ref(), viewer.user.org_id, &actor(&viewer), id, &techs, seen)
                .await
                .map(|_| ())
        }
        Err(e) => Err(e),
    };
    outcome(&state, &viewer, &uri, id, result, "assigned").await
}

pub async fn add_line_item(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<LineItemForm>,
) -> Result<Response, PageError> {
    let id = JobId(parse_id(&id)?);
    let result =
        jobs::add_line_item(&state.db, state.clock.as_ref(), viewer.user.org_id, &actor(&viewer), id, &form.input())
            .await
            .map(|_| ());
    outcome(&state, &viewer, &uri, id, result, "item").await
}

pub async fn remove_line_item(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path((id, item)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = JobId(parse_id(&id)?);
    let item = parse_id(&item)?;
    let result =
        jobs::remove_line_item(&state.db, state.clock.as_ref(), viewer.user.org_id, &actor(&viewer), id, item).await;
    outcome(&state, &viewer, &uri, id, result, "saved").await
}

pub async fn add_photo(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let id = JobId(parse_id(&id)?);
    let result = match read_photo(multipart).await {
        Ok(bytes) => jobs::add_photo(
            &state.db,
            state.clock.as_ref(),
            &state.blobs,
            viewer.user.org_id,
            &actor(&viewer),
            id,
            &bytes,
        )
        .await
        .map(|_| ()),
        Err(e) => Err(e),
    };
    outcome(&state, &viewer, &uri, id, result, "photo").await
}

pub async fn photo(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path((id, photo)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = JobId(parse_id(&id)?);
    let photo = parse_id(&photo)?;
    let (meta, bytes) = jobs::photo(&state.db, &state.blobs, viewer.user.org_id, id, photo).await?;
    Ok(photo_response(meta.content_type, bytes, "private, max-age=86400"))
}
