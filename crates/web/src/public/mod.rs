//! Public pages, opened without a sign-in: the technician portal and the customer's tracking
//! page (capability links), and the hosted web form with its JSON endpoints.

pub mod forms;
pub mod portal;
pub mod tracking;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(portal::routes())
        .merge(tracking::routes())
        .route("/f/{key}", get(forms::hosted))
        .route("/f/{key}/thanks", get(forms::thanks))
        .route("/public/v1/forms/{key}/token", get(forms::token))
        .route("/public/v1/forms/{key}/submissions", post(forms::submit).options(forms::preflight))
}
