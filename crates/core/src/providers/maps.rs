//! Maps: finding an address's coordinates (a Nominatim-compatible geocoder) and driving
//! times (an OSRM route service). Both are optional; without a geocoder a dispatcher places
//! pins by hand, and without a route service arrival times come from the straight-line
//! estimate in `tracking`. Either service failing falls back the same way: a map lookup never
//! stops a job from being saved or a customer's page from showing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::geo::GeoPoint;

/// Where an address is, as a geocoder found it.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub point: GeoPoint,
    /// The geocoder matched a building or house number, not just the street or town: good
    /// enough to verify the address without a person checking the pin.
    pub exact: bool,
    /// The geocoder's name for what it found.
    pub label: String,
}

/// A geocoder: a Nominatim-compatible `/search` API when configured.
#[derive(Clone, Default)]
pub enum Geocoder {
    #[default]
    Off,
    Nominatim {
        base_url: String,
        http: reqwest::Client,
    },
}

/// One Nominatim search result (`format=jsonv2`). Coordinates come as strings.
#[derive(Debug, Deserialize)]
struct NominatimPlace {
    lat: String,
    lon: String,
    #[serde(default)]
    display_name: String,
    /// 30 is a building or house number; 26-27 a street; lower, larger areas.
    #[serde(default)]
    place_rank: Option<i64>,
    #[serde(default)]
    addresstype: Option<String>,
}

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(3))
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

impl Geocoder {
    pub fn nominatim(base_url: &str) -> Result<Geocoder, String> {
        Ok(Geocoder::Nominatim { base_url: base_url.trim_end_matches('/').to_string(), http: client()? })
    }

    pub fn is_on(&self) -> bool {
        !matches!(self, Geocoder::Off)
    }

    /// The best match for `address`; `Ok(None)` when the geocoder knows no such place (or is
    /// off), `Err` when it could not be asked (worth retrying later).
    pub async fn locate(&self, address: &str) -> Result<Option<Place>, String> {
        let Geocoder::Nominatim { base_url, http } = self else { return Ok(None) };
        let resp = http
            .get(format!("{base_url}/search"))
            .query(&[("q", address), ("format", "jsonv2"), ("limit", "1"), ("addressdetails", "0")])
            .send()
            .await
            .map_err(|e| format!("geocoder unreachable: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("geocoder answered {}", resp.status()));
        }
        let places: Vec<NominatimPlace> = resp.json().await.map_err(|e| format!("geocoder answer unreadable: {e}"))?;
        let Some(p) = places.into_iter().next() else { return Ok(None) };
        let (Ok(lat), Ok(lon)) = (p.lat.parse::<f64>(), p.lon.parse::<f64>()) else {
            return Err(format!("geocoder gave coordinates {:?}, {:?}", p.lat, p.lon));
        };
        let point = GeoPoint::new(lat, lon).map_err(|e| format!("geocoder gave {e}"))?;
        let exact = match p.place_rank {
            Some(rank) => rank >= 30,
            None => matches!(p.addresstype.as_deref(), Some("building" | "house")),
        };
        Ok(Some(Place { point, exact, label: p.display_name }))
    }
}

/// A drive from one point to another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drive {
    pub metres: f64,
    pub seconds: f64,
}

/// Driving times: an OSRM-compatible `/route/v1/driving` API when configured.
#[derive(Clone, Default)]
pub enum Router {
    #[default]
    StraightLine,
    Osrm {
        base_url: String,
        http: reqwest::Client,
        cache: Arc<RouteCache>,
    },
}

/// Recent routes by their ends (to about 11 m): every open tracking page refreshes when its
/// technician moves, and the answer for the same two points does not change in a minute.
#[derive(Default)]
pub struct RouteCache {
    routes: Mutex<HashMap<[i64; 4], (Instant, Drive)>>,
}

impl RouteCache {
    const FRESH: Duration = Duration::from_secs(60);
    const MAX: usize = 10_000;

    fn key(from: GeoPoint, to: GeoPoint) -> [i64; 4] {
        let r = |v: f64| (v * 10_000.0).round() as i64;
        [r(from.lat), r(from.lon), r(to.lat), r(to.lon)]
    }

    fn get(&self, key: &[i64; 4]) -> Option<Drive> {
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        routes.get(key).filter(|(at, _)| at.elapsed() < Self::FRESH).map(|(_, d)| *d)
    }

    fn put(&self, key: [i64; 4], drive: Drive) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        if routes.len() >= Self::MAX {
            routes.retain(|_, (at, _)| at.elapsed() < Self::FRESH);
            if routes.len() >= Self::MAX {
                routes.clear();
            }
        }
        routes.insert(key, (Instant::now(), drive));
    }
}

#[derive(Debug, Deserialize)]
struct OsrmAnswer {
    code: String,
    #[serde(default)]
    routes: Vec<OsrmRoute>,
}

#[derive(Debug, Deserialize)]
struct OsrmRoute {
    distance: f64,
    duration: f64,
}

impl Router {
    pub fn osrm(base_url: &str) -> Result<Router, String> {
        let base_url = base_url.trim_end_matches('/').to_string();
        Ok(Router::Osrm { base_url, http: client()?, cache: Arc::default() })
    }

    /// The drive by road, when a route service is configured and answers; `None` otherwise
    /// (the caller estimates from the straight line).
    pub async fn drive(&self, from: GeoPoint, to: GeoPoint) -> Option<Drive> {
        let Router::Osrm { base_url, http, cache } = self else { return None };
        let key = RouteCache::key(from, to);
        if let Some(d) = cache.get(&key) {
            return Some(d);
        }
        let url = format!("{base_url}/route/v1/driving/{},{};{},{}", from.lon, from.lat, to.lon, to.lat);
        let answer = async {
            let resp = http.get(&url).query(&[("overview", "false")]).send().await.map_err(|e| e.to_string())?;
            if !resp.status().is_success() {
                return Err(format!("answered {}", resp.status()));
            }
            resp.json::<OsrmAnswer>().await.map_err(|e| e.to_string())
        }
        .await;
        match answer {
            Ok(a) if a.code == "Ok" => {
                let drive = a.routes.first().map(|r| Drive { metres: r.distance, seconds: r.duration })?;
                cache.put(key, drive);
                Some(drive)
            }
            Ok(a) => {
                tracing::info!(code = %a.code, "route service found no route; estimating");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "route service failed; estimating");
                None
            }
        }
    }
}
