//! `/api/v1/technicians`

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use switchboard_core::technicians;
use utoipa::ToSchema;

use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct TechnicianDto {
    pub id: i64,
    pub name: String,
    /// E.164; where portal links are texted.
    pub phone: Option<String>,
    pub photo_url: Option<String>,
    /// Stars, one decimal (4.7), when rated.
    pub rating: Option<f64>,
    pub vehicle: Option<String>,
    /// What they can do, as the office wrote it.
    pub skills: Vec<String>,
    /// The brands they work for; empty: every brand.
    pub brand_ids: Vec<i64>,
    pub active: bool,
}

#[derive(Serialize, ToSchema)]
pub struct TechnicianList {
    pub technicians: Vec<TechnicianDto>,
}

#[utoipa::path(get, path = "/technicians", tag = "technicians", responses((status = 200, body = TechnicianList), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, caller: ApiCaller) -> Result<Json<TechnicianList>, ApiError> {
    let techs = technicians::list(&state.db, caller.org).await?;
    Ok(Json(TechnicianList {
        technicians: techs
            .into_iter()
            .map(|t| TechnicianDto {
                id: t.id.0,
                rating: t.rating_x10.map(|r| r as f64 / 10.0),
                name: t.name,
                phone: t.phone.map(|p| p.to_string()),
                photo_url: t.photo_url,
                vehicle: t.vehicle,
                skills: t.skills,
                brand_ids: t.brands.iter().map(|b| b.0).collect(),
                active: t.active,
            })
            .collect(),
    }))
}
