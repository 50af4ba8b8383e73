//! The customers list and the customer card: contact details, service locations, jobs, and
//! every message with its delivery status.

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use switchboard_core::customers;
use switchboard_core::parse::display_phone;

use crate::auth::Staff;
use crate::console::shell;
use crate::error::PageError;
use crate::state::AppState;
use crate::views::{CustomerRowView, CustomersPage, initials};

pub async fn index(State(state): State<AppState>, Staff(viewer): Staff, uri: Uri) -> Result<Response, PageError> {
    let (shell, _) = shell(&state, &viewer, "customers", &uri).await?;
    let rows = customers::list(&state.db, viewer.user.org_id)
        .await?
        .into_iter()
        .map(|c| CustomerRowView {
            initials: initials(&c.name),
            name: c.name,
            phone: c.phone.as_deref().map(display_phone).unwrap_or_default(),
            email: c.email.map(|e| e.to_string()).unwrap_or_default(),
            address: c.address.unwrap_or_default(),
            jobs: c.job_count,
            id: c.id.0,
        })
        .collect();
    Ok(CustomersPage { shell, rows }.into_response())
}

pub struct CardJob {
    pub id: i64,
    pub code: String,
    pub service: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub scheduled: String,
    pub techs: String,
}

pub struct CardMessage {
    pub inbound: bool,
    pub channel: &'static str,
    pub body: String,
    pub when: String,
    pub status: String,
    pub status_class: &'static str,
    pub error: String,
}

#[derive(askama::Template, askama_web::WebTemplate)]
#[template(path = "customers/show.html")]
pub struct CustomerPage {
    pub shell: crate::views::Shell,
    pub name: String,
    pub initials: String,
    pub phone: String,
    pub phone_display: String,
    pub email: String,
    pub notes: String,
    pub locations: Vec<String>,
    pub jobs: Vec<CardJob>,
    pub messages: Vec<CardMessage>,
}

pub async fn show(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, PageError> {
    use switchboard_core::jobs::{self, JobFilter};
    use switchboard_core::messaging::{self, MessageStatus};
    let org = viewer.user.org_id;
    let id = switchboard_core::ids::CustomerId(crate::pages::parse_id(&id)?);
    let customer = customers::get(&state.db, org, id).await?;
    let (shell, brands) = shell(&state, &viewer, "customers", &uri).await?;
    let now = state.clock.now();
    let zone_of = |brand: Option<switchboard_core::ids::BrandId>| crate::fmt::org_zone(&brands, brand);
    let mut jobs = jobs::list(&state.db, org, &JobFilter { customer: Some(id), ..JobFilter::default() }).await?;
    jobs.sort_by_key(|j| std::cmp::Reverse(j.scheduled_start));
    let mut locations: Vec<String> = customer.address.iter().cloned().collect();
    for j in &jobs {
        if let Some(a) = &j.address
            && !locations.iter().any(|l| l.eq_ignore_ascii_case(a))
        {
            locations.push(a.clone());
        }
    }
    let mut messages = Vec::new();
    for address in [customer.phone.as_deref(), customer.email.as_deref()].into_iter().flatten() {
        messages.extend(messaging::list(&state.db, org, Some(address), 200).await?);
    }
    messages.sort_by_key(|m| std::cmp::Reverse(m.created_at));
    messages.dedup_by_key(|m| m.id);
    let messages = messages
        .into_iter()
        .map(|m| {
            let inbound = m.direction == "inbound";
            CardMessage {
                inbound,
                channel: match m.channel {
                    messaging::Channel::Sms => "Text",
                    _ => "Email",
                },
                body: m.subject.clone().map(|s| format!("{s}: {}", m.body)).unwrap_or(m.body.clone()),
                when: crate::fmt::ago(m.created_at, &zone_of(m.brand_id), now),
                status: if inbound { "Received".into() } else { m.status.label().to_string() },
                status_class: match m.status {
                    MessageStatus::Delivered | MessageStatus::Received => "delivered",
                    MessageStatus::Failed | MessageStatus::Undelivered | MessageStatus::Suppressed => "failed",
                    _ => "pending",
                },
                error: m.error_message.clone().unwrap_or_default(),
            }
        })
        .collect();
    let jobs = jobs
        .into_iter()
        .map(|j| {
            let tz = zone_of(Some(j.brand_id));
            CardJob {
                id: j.id.0,
                techs: j.techs.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", "),
                code: j.code,
                service: j.service,
                status: j.status.as_str(),
                status_label: j.status.label(),
                scheduled: j
                    .scheduled_start
                    .map(|t| crate::fmt::schedule(t, &tz, now))
                    .unwrap_or_else(|| "Unscheduled".into()),
            }
        })
        .collect();
    Ok(CustomerPage {
        shell,
        initials: initials(&customer.name),
        name: customer.name.clone(),
        phone: customer.phone.as_deref().unwrap_or_default().to_string(),
        phone_display: customer.phone.as_deref().map(display_phone).unwrap_or_default(),
        email: customer.email.as_deref().unwrap_or_default().to_string(),
        notes: customer.notes.clone().unwrap_or_default(),
        locations,
        jobs,
        messages,
    }
    .into_response())
}
