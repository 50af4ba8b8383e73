//! The customers list (searchable) and the customer card: contact details, service locations,
//! jobs, and every message with its delivery status; customers added and edited by hand.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_core::auth::SessionUser;
use switchboard_core::customers::locations::{self, LocationInput, LocationPatch};
use switchboard_core::customers::{self, CustomerInput, CustomerPatch};
use switchboard_core::ids::{CustomerId, LocationId};
use switchboard_core::parse::display_phone;

use crate::auth::Staff;
use crate::console::shell;
use crate::error::PageError;
use crate::pages::{field_errors, parse_id};
use crate::state::AppState;
use crate::views::{CustomerRowView, CustomersPage, Shell, initials};

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
}

pub async fn index(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let (shell, _) = shell(&state, &viewer, "customers", &uri).await?;
    let all = customers::list(&state.db, viewer.user.org_id).await?;
    let total = all.len();
    let country = customers::home_country(&state.db, viewer.user.org_id).await?;
    let rows = customers::search(all, &q.q, country)
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
    Ok(CustomersPage { shell, rows, search: q.q.trim().to_string(), total }.into_response())
}

/// The form to add or edit a customer, with what was typed and why it was refused.
#[derive(askama::Template, askama_web::WebTemplate)]
#[template(path = "customers/form.html")]
pub struct CustomerForm {
    pub shell: Shell,
    /// The customer edited (none: a new one).
    pub id: Option<i64>,
    /// Their name as saved (the page's heading while the field is being edited).
    pub heading: String,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub notes: String,
    /// The country national numbers are read by ("United States").
    pub country: String,
    pub errors: Vec<(String, String)>,
}

impl CustomerForm {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        crate::views::error_for(&self.errors, field)
    }
}

#[derive(Deserialize, Default)]
pub struct CustomerFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    notes: String,
}

async fn form_page(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    id: Option<(i64, String)>,
    typed: CustomerFields,
    errors: Vec<(String, String)>,
) -> Result<CustomerForm, PageError> {
    let (shell, _) = shell(state, viewer, "customers", uri).await?;
    let country = customers::home_country(&state.db, viewer.user.org_id).await?;
    let (id, heading) = id.map(|(i, h)| (Some(i), h)).unwrap_or_default();
    Ok(CustomerForm {
        shell,
        id,
        heading,
        name: typed.name,
        phone: typed.phone,
        email: typed.email,
        address: typed.address,
        notes: typed.notes,
        country: country.name().to_string(),
        errors,
    })
}

pub async fn new(State(state): State<AppState>, Staff(viewer): Staff, uri: Uri) -> Result<Response, PageError> {
    Ok(form_page(&state, &viewer, &uri, None, CustomerFields::default(), vec![]).await?.into_response())
}

pub async fn create(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Form(form): Form<CustomerFields>,
) -> Result<Response, PageError> {
    let input = CustomerInput {
        name: form.name.clone(),
        phone: form.phone.clone(),
        email: form.email.clone(),
        address: form.address.clone(),
        notes: form.notes.clone(),
        locations: Vec::new(),
    };
    match customers::create(&state.db, state.clock.as_ref(), viewer.user.org_id, &input).await {
        Ok(c) => Ok(Redirect::to(&format!("/customers/{}?done=created", c.id.0)).into_response()),
        Err(e) => {
            let errors = field_errors(e)?;
            let page = form_page(&state, &viewer, &uri, None, form, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

pub async fn edit(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = CustomerId(parse_id(&id)?);
    let c = customers::get(&state.db, viewer.user.org_id, id).await?;
    let typed = CustomerFields {
        name: c.name.clone(),
        phone: c.phone.as_deref().map(display_phone).unwrap_or_default(),
        email: c.email.map(|e| e.to_string()).unwrap_or_default(),
        address: c.address.unwrap_or_default(),
        notes: c.notes.unwrap_or_default(),
    };
    Ok(form_page(&state, &viewer, &uri, Some((id.0, c.name)), typed, vec![]).await?.into_response())
}

pub async fn update(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<CustomerFields>,
) -> Result<Response, PageError> {
    let id = CustomerId(parse_id(&id)?);
    let org = viewer.user.org_id;
    let current = customers::get(&state.db, org, id).await?;
    let patch = CustomerPatch {
        name: Some(form.name.clone()),
        phone: Some(form.phone.clone()),
        email: Some(form.email.clone()),
        address: Some(form.address.clone()),
        notes: Some(form.notes.clone()),
    };
    match customers::update(&state.db, state.clock.as_ref(), org, id, &patch).await {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{}?done=saved", id.0)).into_response()),
        Err(e) => {
            let errors = field_errors(e)?;
            let page = form_page(&state, &viewer, &uri, Some((id.0, current.name)), form, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
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
    pub id: i64,
    pub notice: Option<String>,
    pub name: String,
    pub initials: String,
    pub phone: String,
    pub phone_display: String,
    pub email: String,
    pub notes: String,
    pub locations: Vec<SiteView>,
    /// The "Add a location" form (open with what was typed when it was refused).
    pub new_site: SiteForm,
    pub jobs: Vec<CardJob>,
    /// Their invoices, newest first (the Invoices list's rows).
    pub invoices: Vec<crate::console::invoices::ListRowView>,
    /// What they owe on sent invoices ("$116.04"), empty when nothing.
    pub owed: String,
    /// Their calls, newest first, with recordings to play.
    pub calls: Vec<crate::console::calls::CallRow>,
    pub messages: Vec<CardMessage>,
    /// The "Send a message" form: the brands to send from, and what was typed.
    pub brands: Vec<(i64, String)>,
    pub compose_brand: i64,
    pub compose_channel: &'static str,
    pub compose_body: String,
    pub errors: Vec<(String, String)>,
}

impl CustomerPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        crate::views::error_for(&self.errors, field)
    }

    /// Shows a refused location form again, open, with what was typed and why.
    fn show_refused(&mut self, form: SiteForm) {
        match self.locations.iter_mut().find(|l| Some(l.id) == form.id) {
            Some(site) => site.form = SiteForm { open: true, ..form },
            None => self.new_site = SiteForm { open: true, ..form },
        }
    }
}

/// One service location on the customer card.
pub struct SiteView {
    pub id: i64,
    pub label: String,
    pub address: String,
    pub access_notes: String,
    pub jobs: i64,
    /// Its edit form: the stored values, or what was typed when a save was refused.
    pub form: SiteForm,
}

/// A location as typed in the card's add or edit form.
#[derive(Deserialize, Default, Clone)]
pub struct SiteForm {
    /// The location edited (none: a new one); not a form field.
    #[serde(skip)]
    pub id: Option<i64>,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub access_notes: String,
    #[serde(skip)]
    pub errors: Vec<(String, String)>,
    /// Shown open (a refused save).
    #[serde(skip)]
    pub open: bool,
}

impl SiteForm {
    /// Its fields' id prefix (`location-7`, `location-new`).
    pub fn prefix(&self) -> String {
        self.id.map(|i| format!("location-{i}")).unwrap_or_else(|| "location-new".into())
    }
    pub fn error_for(&self, field: &str) -> Option<&str> {
        crate::views::error_for(&self.errors, field)
    }
}

/// `POST /customers/{id}/locations`: adds a service location from the card.
pub async fn add_location(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<SiteForm>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let id = CustomerId(parse_id(&id)?);
    let input = LocationInput {
        label: form.label.clone(),
        address: form.address.clone(),
        access_notes: form.access_notes.clone(),
    };
    match locations::add(&state.db, state.clock.as_ref(), org, id, &input).await {
        Ok(l) => {
            Ok(Redirect::to(&format!("/customers/{}?done=location-added#location-{}", id.0, l.id.0)).into_response())
        }
        Err(e) => refused_site(&state, &viewer, &uri, id, SiteForm { id: None, ..form }, e).await,
    }
}

/// `POST /customers/{id}/locations/{location}`: saves a location's label, address and notes.
pub async fn update_location(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path((id, location)): Path<(String, String)>,
    Form(form): Form<SiteForm>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let (id, location) = (CustomerId(parse_id(&id)?), LocationId(parse_id(&location)?));
    let patch = LocationPatch {
        label: Some(form.label.clone()),
        address: Some(form.address.clone()),
        access_notes: Some(form.access_notes.clone()),
    };
    match locations::update(&state.db, state.clock.as_ref(), org, id, location, &patch).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/customers/{}?done=location-saved#location-{}", id.0, location.0))
                .into_response())
        }
        Err(e) => refused_site(&state, &viewer, &uri, id, SiteForm { id: Some(location.0), ..form }, e).await,
    }
}

/// `POST /customers/{id}/locations/{location}/remove`: removes a location; its jobs keep
/// their address.
pub async fn remove_location(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path((id, location)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (id, location) = (CustomerId(parse_id(&id)?), LocationId(parse_id(&location)?));
    locations::remove(&state.db, viewer.user.org_id, id, location).await?;
    Ok(Redirect::to(&format!("/customers/{}?done=location-removed#locations", id.0)).into_response())
}

async fn refused_site(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    id: CustomerId,
    mut form: SiteForm,
    e: switchboard_core::Error,
) -> Result<Response, PageError> {
    form.errors = field_errors(e)?;
    let mut page = card(state, viewer, uri, id, None, Compose::default(), Vec::new()).await?;
    page.show_refused(form);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
}

/// The card's "Send a message" form as typed.
#[derive(Deserialize, Default)]
pub struct Compose {
    #[serde(default)]
    brand_id: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    body: String,
}

pub async fn show(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    let id = CustomerId(parse_id(&id)?);
    let notice = match done.done.as_str() {
        "created" => Some("Customer added.".to_string()),
        "saved" => Some("Saved.".to_string()),
        "sent" => Some("Message queued. Their answer lands here and in the inbox.".to_string()),
        "location-added" => Some("Location added.".to_string()),
        "location-saved" => {
            Some("Location saved. Jobs booked there before keep the address they were booked at.".to_string())
        }
        "location-removed" => Some("Location removed. Its jobs keep their address.".to_string()),
        _ => None,
    };
    Ok(card(&state, &viewer, &uri, id, notice, Compose::default(), Vec::new()).await?.into_response())
}

/// `POST /customers/{id}/message`: a text or email to the customer from the card.
pub async fn message(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<Compose>,
) -> Result<Response, PageError> {
    use switchboard_core::leads::{self, ReplyChannel};
    let org = viewer.user.org_id;
    let id = CustomerId(parse_id(&id)?);
    let customer = customers::get(&state.db, org, id).await?;
    let channel = if form.channel == "email" { ReplyChannel::Email } else { ReplyChannel::Sms };
    let brand = switchboard_core::ids::BrandId(form.brand_id.trim().parse().unwrap_or(0));
    let sent = leads::message_customer(
        &state.db,
        state.clock.as_ref(),
        org,
        Some(viewer.user.id),
        brand,
        &customer,
        channel,
        &form.body,
    )
    .await;
    match sent {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{}?done=sent#customer-messages", id.0)).into_response()),
        Err(e) => {
            let errors = field_errors(e)?;
            let page = card(&state, &viewer, &uri, id, None, form, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

async fn card(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    id: CustomerId,
    notice: Option<String>,
    compose: Compose,
    errors: Vec<(String, String)>,
) -> Result<CustomerPage, PageError> {
    use switchboard_core::jobs::{self, JobFilter};
    use switchboard_core::messaging::{self, MessageStatus};
    let org = viewer.user.org_id;
    let customer = customers::get(&state.db, org, id).await?;
    let (shell, brands) = shell(state, viewer, "customers", uri).await?;
    let now = state.clock.now();
    let zone_of = |brand: Option<switchboard_core::ids::BrandId>| crate::fmt::org_zone(&brands, brand);
    let mut jobs = jobs::list(&state.db, org, &JobFilter { customer: Some(id), ..JobFilter::default() }).await?;
    jobs.sort_by_key(|j| std::cmp::Reverse(j.scheduled_start));
    let jobs_brand = jobs.first().map(|j| j.brand_id.0);
    let locations = locations::list(&state.db, org, id)
        .await?
        .into_iter()
        .map(|l| {
            let (label, access_notes) = (l.label.unwrap_or_default(), l.access_notes.unwrap_or_default());
            SiteView {
                id: l.id.0,
                form: SiteForm {
                    id: Some(l.id.0),
                    label: label.clone(),
                    address: l.address.clone(),
                    access_notes: access_notes.clone(),
                    ..SiteForm::default()
                },
                label,
                address: l.address,
                access_notes,
                jobs: l.job_count,
            }
        })
        .collect();
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
    // The form's brand: as typed, else the one selected, else that of their latest job.
    let compose_brand = compose
        .brand_id
        .parse::<i64>()
        .ok()
        .or(viewer.brand_id.map(|b| b.0))
        .or(jobs_brand)
        .or(brands.first().map(|b| b.id.0))
        .unwrap_or_default();
    let compose_channel = match compose.channel.as_str() {
        "email" => "email",
        "sms" => "sms",
        _ if customer.phone.is_none() && customer.email.is_some() => "email",
        _ => "sms",
    };
    let filter = switchboard_core::billing::ListFilter { customer: Some(customer.id), ..Default::default() };
    let rows = switchboard_core::billing::list(&state.db, viewer.user.org_id, &filter).await?;
    let owed: i64 =
        rows.iter().filter(|r| matches!(r.status.as_str(), "sent" | "viewed" | "partly_paid")).map(|r| r.due).sum();
    let invoices = crate::console::invoices::row_views(rows, &brands, now);
    let call_filter =
        switchboard_core::calls::store::Filter { customer: Some(customer.id.0), limit: 20, ..Default::default() };
    let calls = switchboard_core::calls::store::list(&state.db, viewer.user.org_id, &call_filter).await?;
    Ok(CustomerPage {
        invoices,
        calls: crate::console::calls::rows(calls, &brands, now),
        owed: if owed > 0 { switchboard_core::money::Money::usd(owed).to_string() } else { String::new() },
        brands: brands.iter().map(|b| (b.id.0, b.name.clone())).collect(),
        compose_brand,
        compose_channel,
        compose_body: compose.body,
        errors,
        shell,
        id: id.0,
        notice,
        initials: initials(&customer.name),
        name: customer.name.clone(),
        phone: customer.phone.as_deref().unwrap_or_default().to_string(),
        phone_display: customer.phone.as_deref().map(display_phone).unwrap_or_default(),
        email: customer.email.as_deref().unwrap_or_default().to_string(),
        notes: customer.notes.clone().unwrap_or_default(),
        locations,
        new_site: SiteForm::default(),
        jobs,
        messages,
    })
}
