//! Points on the map: the type shared by jobs, technicians' locations and the maps providers.

use serde::Serialize;

/// A point on the map, in degrees; stored as micro-degrees (about 11 cm).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Result<GeoPoint, String> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(format!("latitude must be between -90 and 90 (got {lat})"));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(format!("longitude must be between -180 and 180 (got {lon})"));
        }
        Ok(GeoPoint { lat, lon })
    }

    pub fn to_e6(self) -> (i64, i64) {
        ((self.lat * 1e6).round() as i64, (self.lon * 1e6).round() as i64)
    }

    pub fn from_e6(lat: i64, lon: i64) -> GeoPoint {
        GeoPoint { lat: lat as f64 / 1e6, lon: lon as f64 / 1e6 }
    }

    /// Great-circle distance in metres.
    pub fn distance_m(self, other: GeoPoint) -> f64 {
        let r = 6_371_000.0_f64;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * r * a.sqrt().asin()
    }
}
