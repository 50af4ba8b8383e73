//! The leads inbox and the lead page: read, reply, archive, convert to a job.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_core::auth::SessionUser;
use switchboard_core::ids::{CustomerId, LeadId, TechnicianId};
use switchboard_core::leads::{
    self, ConvertInput, CustomerInput, Lead, LeadFilter, LeadSource, LeadStatus, ReplyChannel,
};
use switchboard_core::parse::display_phone;
use switchboard_core::tenancy::Brand;
use switchboard_core::{Error, customers, technicians};

use crate::auth::{Staff, urlencode};
use crate::console::shell;
use crate::error::PageError;
use crate::fmt;
use crate::pages::parse_id;
use crate::state::AppState;
use crate::views::{
    ConvertTyped, FilterTab, LeadPage, LeadRowView, LeadThread, LeadsList, LeadsPage, MatchView, TechOption,
    ThreadMessageView, initials,
};

#[derive(Deserialize, Default)]
pub struct LeadsQuery {
    #[serde(default)]
    source: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    partial: Option<String>,
}

/// Who the lead is: the name they gave, else the customer they are (matched by phone, or the
/// one their job is for), else their number or address.
pub fn who(l: &Lead) -> String {
    l.name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| l.customer_name.clone())
        .or_else(|| l.phone.as_deref().map(display_phone))
        .or_else(|| l.email.clone())
        .unwrap_or_else(|| "Unknown".into())
}

fn query_string(source: &str, status: &str, q: &str) -> String {
    format!("source={}&status={}&q={}", urlencode(source), urlencode(status), urlencode(q))
}

fn render<T: Template>(t: &T) -> Result<String, PageError> {
    t.render().map_err(|e| PageError::from(Error::Unexpected(e.to_string())))
}

/// A lead as the inbox and the search list it: who, the first line of the latest message,
/// how long ago, and the urgent word.
pub fn lead_row(l: Lead, brands: &[Brand], now: jiff::Timestamp) -> LeadRowView {
    let brand = brands.iter().find(|b| b.id == l.brand_id);
    let tz = fmt::brand_zone(brands, l.brand_id);
    let name = who(&l);
    LeadRowView {
        id: l.id.0,
        initials: initials(&name),
        snippet: l.messages.last().map(|m| m.body.lines().next().unwrap_or_default().to_string()).unwrap_or_default(),
        when: fmt::ago(l.last_message_at, &tz, now),
        who: name,
        source: l.source.as_str(),
        source_label: l.source.label(),
        status: l.status.as_str(),
        status_label: l.status.label(),
        unread: l.unread,
        brand_name: brand.map(|b| b.name.clone()).unwrap_or_default(),
        brand_color: brand.map(|b| b.color.clone()).unwrap_or_default(),
        job_code: l.job_code.unwrap_or_default(),
        urgent: l.urgent.unwrap_or_default(),
    }
}

async fn list_view(
    state: &AppState,
    viewer: &SessionUser,
    brands: &[Brand],
    q: &LeadsQuery,
) -> Result<LeadsList, PageError> {
    let source = Some(q.source.as_str())
        .filter(|s| !s.is_empty())
        .map(LeadSource::parse)
        .transpose()
        .map_err(PageError::bad_request)?;
    let status = Some(q.status.as_str())
        .filter(|s| !s.is_empty())
        .map(LeadStatus::parse)
        .transpose()
        .map_err(PageError::bad_request)?;
    let filter = LeadFilter { source, status, brand: viewer.brand_id, search: Some(q.q.clone()), limit: Some(200) };
    let leads = leads::list(&state.db, viewer.user.org_id, &filter).await?;
    let now = state.clock.now();
    let rows = leads.into_iter().map(|l| lead_row(l, brands, now)).collect();
    Ok(LeadsList { rows, refresh_url: format!("/leads?partial=1&{}", query_string(&q.source, &q.status, &q.q)) })
}

/// The sidebar's unread count, refreshed on every page when a lead changes.
#[derive(askama::Template)]
#[template(path = "leads/_unread.html")]
pub struct UnreadBadge {
    pub unread: i64,
}

pub async fn unread(State(state): State<AppState>, Staff(viewer): Staff) -> Result<Response, PageError> {
    let unread = leads::unread_count(&state.db, viewer.user.org_id, viewer.brand_id).await?;
    Ok(Html(render(&UnreadBadge { unread })?).into_response())
}

pub async fn index(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<LeadsQuery>,
) -> Result<Response, PageError> {
    let (shell, brands) = shell(&state, &viewer, "leads", &uri).await?;
    let list = list_view(&state, &viewer, &brands, &q).await?;
    if q.partial.is_some() || headers.contains_key("hx-request") {
        return Ok(Html(render(&list)?).into_response());
    }
    let tab = |label: &'static str, source: &str, status: &str, active: bool| FilterTab {
        label,
        href: format!("/leads?{}", query_string(source, status, &q.q)),
        active,
    };
    let mut source_tabs = vec![tab("All", "", &q.status, q.source.is_empty())];
    for s in LeadSource::ALL {
        source_tabs.push(tab(s.label(), s.as_str(), &q.status, q.source == s.as_str()));
    }
    let mut status_tabs = vec![tab("Any status", &q.source, "", q.status.is_empty())];
    for s in LeadStatus::ALL {
        status_tabs.push(tab(s.label(), &q.source, s.as_str(), q.status == s.as_str()));
    }
    Ok(LeadsPage { shell, list, source_tabs, status_tabs, search: q.q, source: q.source, status: q.status }
        .into_response())
}

/// The recordings of the calls in a lead's thread.
async fn thread_recordings(
    state: &AppState,
    lead: &Lead,
) -> Result<std::collections::HashMap<i64, Vec<switchboard_core::calls::Recording>>, PageError> {
    let calls: Vec<i64> = lead.messages.iter().filter_map(|m| m.call_id).collect();
    if calls.is_empty() {
        return Ok(Default::default());
    }
    Ok(switchboard_core::calls::store::recordings_of(&state.db, lead.org_id, &calls).await?)
}

fn thread_view(
    lead: &Lead,
    tz: &jiff::tz::TimeZone,
    now: jiff::Timestamp,
    recordings: &std::collections::HashMap<i64, Vec<switchboard_core::calls::Recording>>,
) -> LeadThread {
    LeadThread {
        id: lead.id.0,
        messages: lead
            .messages
            .iter()
            .map(|m| ThreadMessageView {
                inbound: m.direction == "inbound",
                channel: m.channel.clone(),
                subject: m.subject.clone().unwrap_or_default(),
                body: m.body.clone(),
                when: fmt::ago(m.at, tz, now),
                delivery: m.delivery.clone().unwrap_or_default(),
                author: m.author.clone().unwrap_or_default(),
                recordings: m
                    .call_id
                    .and_then(|c| recordings.get(&c))
                    .map(|r| crate::console::calls::recording_views(r.clone()))
                    .unwrap_or_default(),
                call_back: if m.call_id.is_some() { lead.phone.clone().unwrap_or_default() } else { String::new() },
            })
            .collect(),
    }
}

async fn lead_page(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    id: LeadId,
    errors: Vec<(String, String)>,
    notice: Option<String>,
    typed: Option<ConvertTyped>,
) -> Result<LeadPage, PageError> {
    let org = viewer.user.org_id;
    let lead = leads::get(&state.db, org, id).await?;
    let (shell, brands) = shell(state, viewer, "leads", uri).await?;
    let brand = brands.iter().find(|b| b.id == lead.brand_id);
    let tz = fmt::brand_zone(&brands, lead.brand_id);
    let tz_name = tz.iana_name().unwrap_or("UTC").to_string();
    let matches = customers::matching(&state.db, org, lead.phone.as_deref(), lead.email.as_deref())
        .await?
        .into_iter()
        .map(|c| MatchView {
            id: c.id.0,
            name: c.name,
            phone: c.phone.as_deref().map(display_phone).unwrap_or_default(),
            email: c.email.map(|e| e.to_string()).unwrap_or_default(),
            address: c.address.unwrap_or_default(),
            jobs: c.job_count,
        })
        .collect();
    let techs = technicians::list(&state.db, org)
        .await?
        .into_iter()
        .filter(|t| t.active && t.works_for(lead.brand_id))
        .map(|t| TechOption { id: t.id.0, name: t.name })
        .collect();
    let desk_link = match switchboard_core::desk::current(&state.db, org, lead.brand_id).await? {
        Some(_) => format!("/desk?client={}&lead={}", lead.brand_id.0, lead.id.0),
        None => String::new(),
    };
    Ok(LeadPage {
        desk_link,
        shell,
        id: lead.id.0,
        who: who(&lead),
        status: lead.status.as_str(),
        status_label: lead.status.label(),
        source_label: lead.source.label(),
        brand_name: brand.map(|b| b.name.clone()).unwrap_or_default(),
        phone_display: lead.phone.as_deref().map(display_phone).unwrap_or_default(),
        can_text: lead.phone.is_some() && brand.is_some_and(|b| b.sms_number.is_some()),
        can_email: lead.email.is_some(),
        phone: lead.phone.clone().unwrap_or_default(),
        email: lead.email.clone().unwrap_or_default(),
        address: lead.address.clone().unwrap_or_default(),
        service: lead.service.clone().unwrap_or_default(),
        name: lead.name.clone().unwrap_or_default(),
        job_code: lead.job_code.clone().unwrap_or_default(),
        converted_by: lead.converted_by.clone().unwrap_or_default(),
        thread: thread_view(&lead, &tz, state.clock.now(), &thread_recordings(state, &lead).await?),
        matches,
        techs,
        errors,
        notice,
        time_zone: tz_name,
        customer: lead.customer_id.zip(lead.customer_name.clone()).map(|(id, name)| (id.0, name)),
        urgent: lead.urgent.clone().unwrap_or_default(),
        convert: typed.unwrap_or_else(|| ConvertTyped {
            customer_name: lead.name.clone().unwrap_or_default(),
            customer_phone: lead.phone.clone().unwrap_or_default(),
            customer_email: lead.email.clone().unwrap_or_default(),
            service: lead.service.clone().unwrap_or_default(),
            address: lead.address.clone().unwrap_or_default(),
            ..ConvertTyped::default()
        }),
    })
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    let id = LeadId(parse_id(&id)?);
    leads::mark_read(&state.db, viewer.user.org_id, id).await?;
    let notice = match q.done.as_deref() {
        Some("sent") => Some("Reply queued.".to_string()),
        Some("converted") => Some("Job created.".to_string()),
        _ => None,
    };
    Ok(lead_page(&state, &viewer, &uri, id, vec![], notice, None).await?.into_response())
}

pub async fn thread(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = LeadId(parse_id(&id)?);
    let lead = leads::get(&state.db, viewer.user.org_id, id).await?;
    let brand = switchboard_core::tenancy::brand(&state.db, viewer.user.org_id, lead.brand_id).await?;
    let recordings = thread_recordings(&state, &lead).await?;
    let view = thread_view(&lead, &brand.zone(), state.clock.now(), &recordings);
    Ok(Html(render(&view)?).into_response())
}

/// Field errors (422) and conflicts (409) re-render the lead page with the message.
async fn failure(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    id: LeadId,
    e: Error,
    typed: Option<ConvertTyped>,
) -> Result<Response, PageError> {
    let (status, errors) = match e {
        Error::Invalid(fields) => {
            (StatusCode::UNPROCESSABLE_ENTITY, fields.into_iter().map(|f| (f.field.to_string(), f.message)).collect())
        }
        Error::Conflict(m) => (StatusCode::CONFLICT, vec![("lead".to_string(), m)]),
        other => return Err(other.into()),
    };
    Ok((status, lead_page(state, viewer, uri, id, errors, None, typed).await?).into_response())
}

#[derive(Deserialize)]
pub struct ReplyForm {
    body: String,
    #[serde(default)]
    channel: String,
}

pub async fn reply(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Result<Response, PageError> {
    let id = LeadId(parse_id(&id)?);
    let channel = match form.channel.as_str() {
        "email" => Some(ReplyChannel::Email),
        "sms" => Some(ReplyChannel::Sms),
        _ => None,
    };
    match leads::reply(
        &state.db,
        state.clock.as_ref(),
        viewer.user.org_id,
        Some(viewer.user.id),
        id,
        channel,
        &form.body,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/leads/{}?done=sent", id.0)).into_response()),
        Err(e) => failure(&state, &viewer, &uri, id, e, None).await,
    }
}

#[derive(Deserialize)]
pub struct ConvertForm {
    #[serde(default)]
    customer: String,
    #[serde(default)]
    customer_name: String,
    #[serde(default)]
    customer_phone: String,
    #[serde(default)]
    customer_email: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    tech: String,
}

pub async fn convert(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<ConvertForm>,
) -> Result<Response, PageError> {
    let id = LeadId(parse_id(&id)?);
    let org = viewer.user.org_id;
    let lead = leads::get(&state.db, org, id).await?;
    let brand = switchboard_core::tenancy::brand(&state.db, org, lead.brand_id).await?;
    let tz = brand.zone();
    let input = (|| -> Result<ConvertInput, Error> {
        let (customer_id, customer) = match form.customer.as_str() {
            "new" | "" => (
                None,
                Some(CustomerInput {
                    name: form.customer_name.clone(),
                    phone: Some(form.customer_phone.clone()),
                    email: Some(form.customer_email.clone()),
                    address: Some(form.address.clone()),
                }),
            ),
            raw => (Some(CustomerId(raw.parse().map_err(|_| Error::invalid("customer", "pick a customer"))?)), None),
        };
        let tech_ids = match form.tech.trim() {
            "" => vec![],
            raw => vec![TechnicianId(raw.parse().map_err(|_| Error::invalid("tech", "pick a technician"))?)],
        };
        Ok(ConvertInput {
            customer_id,
            customer,
            service: form.service.clone(),
            address: Some(form.address.clone()),
            scheduled_start: fmt::local_input("scheduled_start", &form.start, &tz)?,
            scheduled_end: fmt::local_input("scheduled_end", &form.end, &tz)?,
            tech_ids,
        })
    })();
    let result = match input {
        Ok(input) => {
            let actor = crate::auth::actor(&viewer);
            leads::convert(&state.db, state.clock.as_ref(), org, Some(viewer.user.id), &actor, id, &input).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/leads/{}?done=converted", id.0)).into_response()),
        Err(e) => {
            let typed = ConvertTyped {
                customer: form.customer,
                customer_name: form.customer_name,
                customer_phone: form.customer_phone,
                customer_email: form.customer_email,
                service: form.service,
                address: form.address,
                start: form.start,
                end: form.end,
                tech: form.tech,
            };
            failure(&state, &viewer, &uri, id, e, Some(typed)).await
        }
    }
}

/// Runs a status change and goes to `then`; refusals re-render the lead page.
async fn change(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    id: LeadId,
    result: Result<(), Error>,
    then: String,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(Redirect::to(&then).into_response()),
        Err(e) => failure(state, viewer, uri, id, e, None).await,
    }
}

pub async fn archive(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = LeadId(parse_id(&id)?);
    let result = leads::archive(&state.db, state.clock.as_ref(), viewer.user.org_id, id).await;
    change(&state, &viewer, &uri, id, result, "/leads".into()).await
}

pub async fn restore(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = LeadId(parse_id(&id)?);
    let result = leads::restore(&state.db, state.clock.as_ref(), viewer.user.org_id, id).await;
    change(&state, &viewer, &uri, id, result, format!("/leads/{}", id.0)).await
}
