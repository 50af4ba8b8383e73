//! The customer's arrival tracking page (`/t/{token}`): who is coming, where they are, when
//! they should arrive, on a map when the address is verified. It stays live while open: the
//! page listens to `/t/{token}/events` (Server-Sent Events, one `update` whenever the job or
//! its technician's location changes) and re-reads `/t/{token}/live`, with a slow poll as a
//! fallback. A bad token or a finished job gets one plain page.

use std::convert::Infallible;
use std::time::Duration;

use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::{self, StreamExt};
use switchboard_core::db::Event;
use switchboard_core::jobs::{JobStatus, WorkStatus};
use switchboard_core::tracking::{self, Tracking, miles};
use switchboard_core::{Error, tenancy};
use tokio::sync::broadcast::error::RecvError;

use crate::fmt;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{token}", get(page))
        .route("/t/{token}/live", get(live))
        .route("/t/{token}/events", get(events))
}

/// The part of the page that changes.
pub struct LiveView {
    pub headline: String,
    pub detail: String,
    pub tech_name: String,
    pub tech_photo: String,
    pub vehicle: String,
    pub rating: String,
    pub distance: String,
    pub eta: String,
    /// "by road" when the route service answered.
    pub eta_basis: String,
    pub destination: String,
    pub arrived: bool,
    /// Map points ("39.762200"), empty when not shown.
    pub dest_lat: String,
    pub dest_lon: String,
    pub tech_lat: String,
    pub tech_lon: String,
}

#[derive(askama::Template, WebTemplate)]
#[template(path = "tracking/page.html")]
pub struct TrackingPage {
    pub token: String,
    pub brand_name: String,
    pub brand_color: String,
    /// The brand's number, to call with questions (E.164 and as shown).
    pub brand_phone: String,
    pub brand_phone_display: String,
    /// The map is shown only for a verified address.
    pub map: bool,
    pub tiles: String,
    pub attribution: String,
    pub live: LiveView,
}

#[derive(askama::Template, WebTemplate)]
#[template(path = "tracking/live.html")]
pub struct LivePart {
    pub live: LiveView,
}

#[derive(askama::Template, WebTemplate)]
#[template(path = "tracking/invalid.html")]
struct Invalid;

fn private(mut r: Response, csp: Option<&str>) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
    if let Some(v) = csp.and_then(|c| HeaderValue::from_str(c).ok()) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

fn invalid() -> Response {
    private((StatusCode::NOT_FOUND, Invalid).into_response(), None)
}

pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let result = async {
        let t = tracking::lookup(&state.db, state.clock.as_ref(), &state.router, &token).await?;
        let brand = tenancy::brand(&state.db, t.job.org_id, t.job.brand_id).await?;
        let live = view(&state, &t, &brand);
        let maps = &state.config.maps;
        Ok::<_, Error>(TrackingPage {
            token,
            brand_name: brand.name.clone(),
            brand_color: brand.color.clone(),
            brand_phone: brand.sms_number.as_deref().unwrap_or_default().to_string(),
            brand_phone_display: brand
                .sms_number
                .as_deref()
                .map(switchboard_core::parse::display_phone)
                .unwrap_or_default(),
            map: !live.dest_lat.is_empty(),
            tiles: maps.tiles.clone(),
            attribution: maps.attribution.clone(),
            live,
        })
    }
    .await;
    match result {
        Ok(p) => private(p.into_response(), Some(&crate::views::map_csp(&state.config.maps))),
        Err(Error::NotFound) => invalid(),
        Err(e) => crate::error::PageError::from(e).into_response(),
    }
}

/// The live part alone, for the page to swap in.
async fn live(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let result = async {
        let t = tracking::lookup(&state.db, state.clock.as_ref(), &state.router, &token).await?;
        let brand = tenancy::brand(&state.db, t.job.org_id, t.job.brand_id).await?;
        Ok::<_, Error>(LivePart { live: view(&state, &t, &brand) })
    }
    .await;
    match result {
        Ok(p) => private(p.into_response(), None),
        Err(Error::NotFound) => invalid(),
        Err(e) => crate::error::PageError::from(e).into_response(),
    }
}

fn view(state: &AppState, t: &Tracking, brand: &tenancy::Brand) -> LiveView {
    let now = state.clock.now();
    let tz = brand.zone();
    let first = t.tech.as_ref().map(|x| x.first_name().to_string()).unwrap_or_default();
    // The technician's own work while they work the job; the job's status otherwise.
    let work = t.tech.as_ref().and_then(|x| t.job.tech(x.id)).map(|x| x.work).filter(|w| w.working());
    let en_route = work.map_or(t.job.status == JobStatus::Dispatched, |w| w == WorkStatus::EnRoute);
    let arrived = work.map_or(t.job.status == JobStatus::OnSite, |w| w == WorkStatus::OnSite);
    let (headline, detail) = if en_route && !first.is_empty() {
        (format!("{first} is on the way"), String::new())
    } else if arrived && !first.is_empty() {
        (format!("{first} has arrived"), String::new())
    } else if t.job.status == JobStatus::PendingClose {
        ("Your visit is wrapping up".to_string(), String::new())
    } else {
        (
            "Your visit is scheduled".to_string(),
            match (t.job.scheduled_start, t.job.scheduled_end) {
                (Some(s), Some(e)) => format!("{} – {}", fmt::schedule(s, &tz, now), fmt::time(e, &tz)),
                (Some(s), None) => fmt::schedule(s, &tz, now),
                _ => String::new(),
            },
        )
    };
    let estimate = t.estimate.filter(|_| en_route);
    let verified = t.job.location.filter(|_| t.job.location_verified);
    let coord = |v: f64| format!("{v:.6}");
    // The technician's position is shown only while they are on the way here.
    let tech_point = t.tech.as_ref().and_then(|x| x.last_location).filter(|_| estimate.is_some()).map(|l| l.point);
    LiveView {
        headline,
        detail,
        tech_name: first,
        tech_photo: t.tech.as_ref().and_then(|x| x.photo_url.clone()).unwrap_or_default(),
        vehicle: t.tech.as_ref().and_then(|x| x.vehicle.clone()).unwrap_or_default(),
        rating: t.tech.as_ref().and_then(|x| x.customer_rating()).unwrap_or_default(),
        distance: estimate.map(|e| miles(e.metres)).unwrap_or_default(),
        eta: estimate.map(|e| format!("about {}", fmt::time(e.arrives_at(now), &tz))).unwrap_or_default(),
        eta_basis: match estimate {
            Some(e) if e.routed => "by road".into(),
            Some(_) => "estimated".into(),
            None => String::new(),
        },
        destination: t.job.address.clone().unwrap_or_default(),
        arrived,
        dest_lat: verified.map(|p| coord(p.lat)).unwrap_or_default(),
        dest_lon: verified.map(|p| coord(p.lon)).unwrap_or_default(),
        tech_lat: tech_point.map(|p| coord(p.lat)).unwrap_or_default(),
        tech_lon: tech_point.map(|p| coord(p.lon)).unwrap_or_default(),
    }
}

/// `update` whenever the job changes or one of its technicians shares a new location; the
/// stream ends when the link stops working.
async fn events(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    // Only the token is checked here; the page asks for distances when it refreshes.
    let t = match tracking::job_of(&state.db, state.clock.as_ref(), &token).await {
        Ok(t) => t.job,
        Err(Error::NotFound) => return invalid(),
        Err(e) => return crate::error::PageError::from(e).into_response(),
    };
    let (org, job) = (t.org_id, t.id);
    let techs: Vec<_> = t.techs.iter().map(|x| x.id).collect();
    let db = state.db.clone();
    let rx = state.db.subscribe();
    // The stream ends after the update that tells the page its job is finished.
    let updates = stream::unfold(Some((rx, techs)), move |state| {
        let db = db.clone();
        async move {
            let (mut rx, mut techs) = state?;
            loop {
                match rx.recv().await {
                    Ok(Event::Job { org: o, job: j }) if o == org && j == job => {
                        // The crew may have changed, or the job ended.
                        match switchboard_core::jobs::get(&db, org, job).await {
                            Ok(j) if j.status.is_open() => techs = j.techs.iter().map(|x| x.id).collect(),
                            _ => return Some((Ok(SseEvent::default().event("update").data("1")), None)),
                        }
                        break;
                    }
                    Ok(Event::Tech { org: o, tech }) if o == org && techs.contains(&tech) => break,
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => return None,
                }
            }
            Some((Ok::<_, Infallible>(SseEvent::default().event("update").data("1")), Some((rx, techs))))
        }
    });
    let updates = updates.take_until(state.closing.wait());
    let mut r = Sse::new(updates).keep_alive(KeepAlive::new().interval(Duration::from_secs(20))).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
