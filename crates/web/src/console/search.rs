//! The top bar's search: customers, jobs and leads at once. A phone number matches in any
//! format (its digits, or the whole number as written in the organization's country), and a
//! customer found brings their jobs along.

use std::collections::HashSet;

use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_core::customers;
use switchboard_core::jobs::{self, JobFilter};
use switchboard_core::leads::{self, LeadFilter};
use switchboard_core::parse::{PhoneE164, display_phone};

use crate::auth::Staff;
use crate::console::leads::lead_row;
use crate::console::shell;
use crate::error::PageError;
use crate::fmt;
use crate::state::AppState;
use crate::views::{SearchCustomer, SearchJob, SearchPage, initials};

/// What each section shows at most; "more" links lead to the full lists.
const CUSTOMERS: usize = 10;
const JOBS: usize = 20;
const LEADS: i64 = 10;

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub async fn index(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Query(query): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let (mut shell, brands) = shell(&state, &viewer, "search", &uri).await?;
    let q = query.q.trim().to_string();
    shell.search = q.clone();
    let mut page = SearchPage {
        shell,
        q: q.clone(),
        customers: Vec::new(),
        customers_total: 0,
        jobs: Vec::new(),
        jobs_total: 0,
        leads: Vec::new(),
        show_brand: viewer.brand_id.is_none() && brands.len() > 1,
    };
    if q.is_empty() {
        return Ok(page.into_response());
    }
    let org = viewer.user.org_id;
    let country = customers::home_country(&state.db, org).await?;
    let found = customers::search(customers::list(&state.db, org).await?, &q, country);
    page.customers_total = found.len();

    // Jobs that match by their own text, then the jobs of the customers found.
    let filter = JobFilter { brand: viewer.brand_id, search: Some(q.clone()), ..JobFilter::default() };
    let mut jobs = jobs::list(&state.db, org, &filter).await?;
    let mut seen: HashSet<_> = jobs.iter().map(|j| j.id).collect();
    for c in found.iter().take(CUSTOMERS) {
        let theirs = JobFilter { brand: viewer.brand_id, customer: Some(c.id), ..JobFilter::default() };
        for j in jobs::list(&state.db, org, &theirs).await? {
            if seen.insert(j.id) {
                jobs.push(j);
            }
        }
    }
    page.jobs_total = jobs.len();
    let now = state.clock.now();
    let times = fmt::JobTimes::new(&brands, viewer.brand_id, now);
    page.jobs = jobs
        .into_iter()
        .take(JOBS)
        .map(|j| {
            let brand = brands.iter().find(|b| b.id == j.brand_id);
            let tz = fmt::brand_zone(&brands, j.brand_id);
            SearchJob {
                id: j.id.0,
                code: j.code,
                customer: j.customer_name,
                service: j.service,
                status: j.status.as_str(),
                status_label: j.status.label(),
                scheduled: times.start(j.scheduled_start, &tz),
                brand_name: brand.map(|b| b.name.clone()).unwrap_or_default(),
            }
        })
        .collect();
    page.customers = found
        .into_iter()
        .take(CUSTOMERS)
        .map(|c| SearchCustomer {
            id: c.id.0,
            initials: initials(&c.name),
            name: c.name,
            phone: c.phone.as_deref().map(display_phone).unwrap_or_default(),
            email: c.email.map(|e| e.to_string()).unwrap_or_default(),
            address: c.address.unwrap_or_default(),
        })
        .collect();

    // A whole phone number written nationally ("0151 12345678") is looked up as the number.
    let lead_q = PhoneE164::parse_in(&q, country).map(|p| p.to_string()).unwrap_or_else(|_| q.clone());
    let filter =
        LeadFilter { brand: viewer.brand_id, search: Some(lead_q), limit: Some(LEADS), ..LeadFilter::default() };
    page.leads = leads::list(&state.db, org, &filter).await?.into_iter().map(|l| lead_row(l, &brands, now)).collect();
    Ok(page.into_response())
}
