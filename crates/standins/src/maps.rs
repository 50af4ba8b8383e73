//! A maps service on loopback speaking two real APIs: Nominatim's `/search` (`format=jsonv2`)
//! over a table of known places, and OSRM's `/route/v1/driving/{lon},{lat};{lon},{lat}` with
//! road distance 1.4x the straight line at 30 km/h (deliberately unlike the built-in estimate,
//! so tests can tell which one answered).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;
use switchboard_core::jobs::GeoPoint;
use tokio::net::TcpListener;

/// Road distance over straight-line distance in the stand-in's routes.
pub const ROAD_FACTOR: f64 = 1.4;
/// The stand-in's driving speed, km/h.
pub const SPEED_KMH: f64 = 30.0;

/// A place the geocoder knows.
#[derive(Debug, Clone)]
pub struct KnownPlace {
    /// Matched case-insensitively anywhere in the query (e.g. "2216 W 32nd Ave").
    pub key: String,
    pub lat: f64,
    pub lon: f64,
    /// Nominatim's place rank: 30 for a house number, 26 for a street.
    pub rank: i64,
}

#[derive(Clone)]
pub struct MapsStandin {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

#[derive(Default)]
struct Inner {
    places: Mutex<Vec<KnownPlace>>,
    /// Status codes to answer the next requests with (to simulate an outage).
    fail_next: Mutex<Vec<u16>>,
    searches: Mutex<Vec<String>>,
    routes: Mutex<usize>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MapsStandin {
    /// Starts the stand-in on `bind` (port 0 for any free port) knowing no places.
    pub async fn start(bind: SocketAddr) -> std::io::Result<MapsStandin> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/search", get(search))
            .route("/route/v1/driving/{coordinates}", get(route))
            .with_state(inner.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "maps stand-in stopped");
            }
        });
        Ok(MapsStandin { inner, addr })
    }

    /// Starts the stand-in knowing the demo's addresses (house-level matches).
    pub async fn start_with_demo_places(bind: SocketAddr) -> std::io::Result<MapsStandin> {
        let maps = MapsStandin::start(bind).await?;
        for (key, lat, lon) in switchboard_core::demo::PLACES {
            maps.add_place(key, *lat, *lon, 30);
        }
        Ok(maps)
    }

    /// Both APIs live at the root: `{base}/search`, `{base}/route/v1/driving/...`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add_place(&self, key: &str, lat: f64, lon: f64, rank: i64) {
        lock(&self.inner.places).push(KnownPlace { key: key.to_string(), lat, lon, rank });
    }

    /// The next requests (search or route) get these statuses, one each.
    pub fn fail_next(&self, status: u16) {
        lock(&self.inner.fail_next).push(status);
    }

    /// The queries searched so far.
    pub fn searches(&self) -> Vec<String> {
        lock(&self.inner.searches).clone()
    }

    /// How many routes were asked for.
    pub fn routes(&self) -> usize {
        *lock(&self.inner.routes)
    }
}

fn failing(inner: &Inner) -> Option<Response> {
    let mut fail = lock(&inner.fail_next);
    if fail.is_empty() {
        return None;
    }
    let status = StatusCode::from_u16(fail.remove(0)).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    Some((status, "simulated outage").into_response())
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    format: Option<String>,
}

async fn search(State(inner): State<Arc<Inner>>, Query(query): Query<SearchQuery>) -> Response {
    if let Some(r) = failing(&inner) {
        return r;
    }
    let Some(q) = query.q.filter(|q| !q.trim().is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"code": 400, "message": "Nothing to search for."}})),
        )
            .into_response();
    };
    if query.format.as_deref() != Some("jsonv2") {
        return (StatusCode::BAD_REQUEST, "the stand-in answers format=jsonv2 only").into_response();
    }
    lock(&inner.searches).push(q.clone());
    let lower = q.to_lowercase();
    let found = lock(&inner.places).iter().find(|p| lower.contains(&p.key.to_lowercase())).cloned();
    let results: Vec<_> = found
        .into_iter()
        .map(|p| {
            let bbox = [p.lat - 0.0001, p.lat + 0.0001, p.lon - 0.0001, p.lon + 0.0001].map(|v| format!("{v:.7}"));
            json!({
                "place_id": 1000 + p.key.len(),
                "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
                "osm_type": "way",
                "lat": format!("{:.7}", p.lat),
                "lon": format!("{:.7}", p.lon),
                "category": if p.rank >= 30 { "building" } else { "highway" },
                "type": if p.rank >= 30 { "house" } else { "residential" },
                "place_rank": p.rank,
                "importance": 0.00001,
                "addresstype": if p.rank >= 30 { "building" } else { "road" },
                "name": "",
                "display_name": format!("{}, Denver, Colorado, United States", p.key),
                "boundingbox": bbox,
            })
        })
        .collect();
    axum::Json(results).into_response()
}

fn point(s: &str) -> Option<GeoPoint> {
    let (lon, lat) = s.split_once(',')?;
    GeoPoint::new(lat.trim().parse().ok()?, lon.trim().parse().ok()?).ok()
}

async fn route(State(inner): State<Arc<Inner>>, Path(coordinates): Path<String>) -> Response {
    if let Some(r) = failing(&inner) {
        return r;
    }
    let points: Vec<Option<GeoPoint>> = coordinates.split(';').map(point).collect();
    let [Some(from), Some(to)] = points[..] else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"code": "InvalidQuery", "message": "Query string malformed close to position 0"})),
        )
            .into_response();
    };
    *lock(&inner.routes) += 1;
    let distance = from.distance_m(to) * ROAD_FACTOR;
    let duration = distance / (SPEED_KMH * 1000.0 / 3600.0);
    let waypoint = |p: GeoPoint| json!({"hint": "", "distance": 0.0, "name": "", "location": [p.lon, p.lat]});
    axum::Json(json!({
        "code": "Ok",
        "routes": [{
            "legs": [{"steps": [], "summary": "", "weight": duration, "duration": duration, "distance": distance}],
            "weight_name": "routability",
            "weight": duration,
            "duration": duration,
            "distance": distance,
        }],
        "waypoints": [waypoint(from), waypoint(to)],
    }))
    .into_response()
}
