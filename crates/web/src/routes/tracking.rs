//! The customer's arrival tracking page (`/t/{token}`): who is coming, where they are, when
//! they should arrive. It refreshes itself while open. A bad token or a finished job gets one
//! plain page.

use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use switchboard_core::jobs::JobStatus;
use switchboard_core::tracking::{self, miles};
use switchboard_core::{Error, tenancy};

use crate::app::AppState;
use crate::fmt;

#[derive(askama::Template, WebTemplate)]
#[template(path = "tracking/page.html")]
pub struct TrackingPage {
    pub token: String,
    pub brand_name: String,
    pub brand_color: String,
    pub headline: String,
    pub detail: String,
    pub tech_name: String,
    pub tech_photo: String,
    pub vehicle: String,
    pub rating: String,
    pub distance: String,
    pub eta: String,
    pub destination: String,
    pub arrived: bool,
}

#[derive(askama::Template, WebTemplate)]
#[template(path = "tracking/invalid.html")]
struct Invalid;

fn private(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
    r
}

pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match render(&state, token).await {
        Ok(r) => private(r),
        Err(Error::NotFound) => private((StatusCode::NOT_FOUND, Invalid).into_response()),
        Err(e) => crate::error::PageError::from(e).into_response(),
    }
}

async fn render(state: &AppState, token: String) -> Result<Response, Error> {
    let now = state.clock.now();
    let t = tracking::lookup(&state.db, state.clock.as_ref(), &token).await?;
    let brand = tenancy::brand(&state.db, t.job.org_id, t.job.brand_id).await?;
    let tz = fmt::zone(&brand.time_zone);
    let first = t.tech.as_ref().map(|x| x.first_name().to_string()).unwrap_or_default();
    let (headline, detail) = match t.job.status {
        JobStatus::Dispatched if !first.is_empty() => (format!("{first} is on the way"), String::new()),
        JobStatus::OnSite if !first.is_empty() => (format!("{first} has arrived"), String::new()),
        JobStatus::PendingClose => ("Your visit is wrapping up".to_string(), String::new()),
        _ => (
            "Your visit is scheduled".to_string(),
            match (t.job.scheduled_start, t.job.scheduled_end) {
                (Some(s), Some(e)) => format!("{} – {}", fmt::schedule(s, &tz, now), fmt::time(e, &tz)),
                (Some(s), None) => fmt::schedule(s, &tz, now),
                _ => String::new(),
            },
        ),
    };
    let en_route = t.job.status == JobStatus::Dispatched;
    let page = TrackingPage {
        token,
        brand_name: brand.name.clone(),
        brand_color: brand.color.clone(),
        headline,
        detail,
        tech_name: first,
        tech_photo: t.tech.as_ref().and_then(|x| x.photo_url.clone()).unwrap_or_default(),
        vehicle: t.tech.as_ref().and_then(|x| x.vehicle.clone()).unwrap_or_default(),
        // Ratings are shown only when they flatter: 4 stars or more.
        rating: t
            .tech
            .as_ref()
            .filter(|x| x.rating_x10.is_some_and(|r| r >= 40))
            .and_then(|x| x.rating_text())
            .unwrap_or_default(),
        distance: if en_route { t.distance_m.map(miles).unwrap_or_default() } else { String::new() },
        eta: if en_route {
            t.eta_minutes
                .map(|m| format!("about {}", fmt::time(now + jiff::SignedDuration::from_mins(m), &tz)))
                .unwrap_or_default()
        } else {
            String::new()
        },
        destination: t.job.address.clone().unwrap_or_default(),
        arrived: t.job.status == JobStatus::OnSite,
    };
    Ok(page.into_response())
}
