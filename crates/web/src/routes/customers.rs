//! The customers list.

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use switchboard_core::customers;
use switchboard_core::parse::display_phone;

use crate::app::AppState;
use crate::auth::Staff;
use crate::error::PageError;
use crate::routes::shell;
use crate::views::{CustomerRowView, CustomersPage, initials};

pub async fn index(State(state): State<AppState>, Staff(viewer): Staff, uri: Uri) -> Result<Response, PageError> {
    let (shell, _) = shell(&state, &viewer, "customers", &uri).await?;
    let rows = customers::list(&state.db, viewer.user.org_id)
        .await?
        .into_iter()
        .map(|c| CustomerRowView {
            initials: initials(&c.name),
            name: c.name,
            phone: c.phone.as_deref().map(display_phone).unwrap_or_default(),
            email: c.email.unwrap_or_default(),
            address: c.address.unwrap_or_default(),
            jobs: c.job_count,
        })
        .collect();
    Ok(CustomersPage { shell, rows }.into_response())
}
