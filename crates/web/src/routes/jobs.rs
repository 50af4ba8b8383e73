//! The jobs table: every job of the organization, or of the brand picked in the switcher.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_core::jobs::{self, JobFilter, JobStatus, short_name};

use crate::app::AppState;
use crate::auth::Staff;
use crate::error::PageError;
use crate::fmt;
use crate::routes::shell;
use crate::views::{JobRowView, JobsPage, StatusTab, TechChip, initials};

#[derive(Deserialize)]
pub struct JobsQuery {
    status: Option<String>,
}

pub async fn index(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Query(q): Query<JobsQuery>,
) -> Result<Response, PageError> {
    let (shell, brands) = shell(&state, &viewer, "jobs", &uri).await?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(JobStatus::parse(s).map_err(PageError::bad_request)?),
    };
    // Counts per status come from the unfiltered list of the selected brand.
    let all = jobs::list(&state.db, viewer.user.org_id, &JobFilter { brand: viewer.brand_id, status: None }).await?;
    let now = state.clock.now();
    let brand_by_id: HashMap<_, _> = brands.iter().map(|b| (b.id, b)).collect();
    let mut tabs = vec![StatusTab { key: "", label: "All", count: all.len(), active: status.is_none() }];
    for st in JobStatus::ALL {
        tabs.push(StatusTab {
            key: st.as_str(),
            label: st.label(),
            count: all.iter().filter(|j| j.status == st).count(),
            active: status == Some(st),
        });
    }
    let total = all.len();
    let rows = all
        .into_iter()
        .filter(|j| status.is_none_or(|s| j.status == s))
        .map(|j| {
            let brand = brand_by_id.get(&j.brand_id);
            let tz = fmt::zone(brand.map(|b| b.time_zone.as_str()).unwrap_or("UTC"));
            JobRowView {
                code: j.code,
                customer: short_name(&j.customer_name),
                customer_full: j.customer_name,
                service: j.service,
                techs: j
                    .techs
                    .iter()
                    .map(|t| TechChip {
                        name: t.first_name().to_string(),
                        full_name: t.name.clone(),
                        photo_url: t.photo_url.clone().unwrap_or_default(),
                        initials: initials(&t.name),
                    })
                    .collect(),
                status: j.status.as_str(),
                status_label: j.status.label(),
                scheduled: j
                    .scheduled_start
                    .map(|t| fmt::schedule(t, &tz, now))
                    .unwrap_or_else(|| "Unscheduled".into()),
                brand_name: brand.map(|b| b.name.clone()).unwrap_or_default(),
                brand_color: brand.map(|b| b.color.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let show_brand = viewer.brand_id.is_none() && brands.len() > 1;
    Ok(JobsPage { shell, rows, tabs, total, show_brand }.into_response())
}
