//! "New job" without a lead: a dispatcher books work for a customer on file (a repeat
//! customer calls, an office walk-in), picking the brand, the window and the technician.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_core::auth::SessionUser;
use switchboard_core::ids::{BrandId, CustomerId, LocationId, TechnicianId};
use switchboard_core::jobs::{self, JobInput};
use switchboard_core::{Error, customers, technicians};

use crate::auth::{Staff, actor};
use crate::console::shell;
use crate::error::PageError;
use crate::fmt;
use crate::pages::field_errors;
use crate::state::AppState;
use crate::views::{Shell, error_for};

#[derive(Template, WebTemplate)]
#[template(path = "jobs/new.html")]
pub struct NewJobPage {
    pub shell: Shell,
    /// (id, name, time zone) of each brand.
    pub brands: Vec<(i64, String, String)>,
    /// (id, "Name · phone") of each customer.
    pub customers: Vec<(i64, String)>,
    pub techs: Vec<(i64, String)>,
    /// (id, "Label: address", access notes) of the picked customer's service locations.
    pub sites: Vec<(i64, String, String)>,
    pub typed: NewJobFields,
    pub errors: Vec<(String, String)>,
}

impl NewJobPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct NewJobFields {
    #[serde(default)]
    pub brand: String,
    #[serde(default)]
    pub customer: String,
    #[serde(default)]
    pub service: String,
    /// A service location's id; empty: the address typed.
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    #[serde(default)]
    pub tech: String,
}

async fn page(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    typed: NewJobFields,
    errors: Vec<(String, String)>,
) -> Result<NewJobPage, PageError> {
    let org = viewer.user.org_id;
    let (shell, brands) = shell(state, viewer, "jobs", uri).await?;
    let mut people = customers::list(&state.db, org).await?;
    people.sort_by_key(|c| c.name.to_lowercase());
    let techs =
        technicians::list(&state.db, org).await?.into_iter().filter(|t| t.active).map(|t| (t.id.0, t.name)).collect();
    let sites = match typed.customer.parse::<i64>() {
        Ok(id) if people.iter().any(|c| c.id.0 == id) => {
            customers::locations::list(&state.db, org, CustomerId(id)).await?
        }
        _ => Vec::new(),
    };
    Ok(NewJobPage {
        shell,
        brands: brands.iter().map(|b| (b.id.0, b.name.clone(), b.time_zone.to_string())).collect(),
        customers: people
            .into_iter()
            .map(|c| {
                let phone = c.phone.as_deref().map(switchboard_core::parse::display_phone);
                (c.id.0, phone.map(|p| format!("{} · {p}", c.name)).unwrap_or(c.name))
            })
            .collect(),
        techs,
        sites: sites.into_iter().map(|l| (l.id.0, l.title(), l.access_notes.unwrap_or_default())).collect(),
        typed,
        errors,
    })
}

/// `GET /jobs/new[?customer=ID[&location=ID]]`: the form, the customer (and the location)
/// picked when coming from their card, and the viewer's brand. Picking another customer asks
/// again with what was typed, for their locations.
pub async fn new(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Query(mut typed): Query<NewJobFields>,
) -> Result<Response, PageError> {
    if typed.brand.is_empty()
        && let Some(b) = viewer.brand_id
    {
        typed.brand = b.0.to_string();
    }
    if let Ok(id) = typed.customer.parse::<i64>() {
        let sites = customers::locations::list(&state.db, viewer.user.org_id, CustomerId(id)).await?;
        // The location asked for, else where they were first served.
        if !sites.iter().any(|l| l.id.0.to_string() == typed.location) {
            typed.location = sites.first().map(|l| l.id.0.to_string()).unwrap_or_default();
        }
    }
    Ok(page(&state, &viewer, &uri, typed, vec![]).await?.into_response())
}

/// `POST /jobs`: creates the job (Scheduled with a window, an Estimate without) and opens it.
pub async fn create(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Form(form): Form<NewJobFields>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let brands = switchboard_core::tenancy::list_brands(&state.db, org).await?;
    let input = (|| -> Result<JobInput, Error> {
        let brand = form
            .brand
            .parse::<i64>()
            .ok()
            .and_then(|id| brands.iter().find(|b| b.id.0 == id))
            .ok_or_else(|| Error::invalid("brand_id", "pick a brand"))?;
        let customer = form.customer.parse::<i64>().map_err(|_| Error::invalid("customer_id", "pick a customer"))?;
        let tz = brand.zone();
        let techs = match form.tech.trim() {
            "" => vec![],
            raw => vec![TechnicianId(raw.parse().map_err(|_| Error::invalid("tech_ids", "pick a technician"))?)],
        };
        let start = fmt::local_input("scheduled_start", &form.start, &tz)?;
        let end = fmt::local_input("scheduled_end", &form.end, &tz)?;
        if start.is_some() != end.is_some() {
            let field = if start.is_none() { "scheduled_start" } else { "scheduled_end" };
            return Err(Error::invalid(field, "give the window's start and end, or neither (an estimate)"));
        }
        let site = match form.location.trim() {
            "" => None,
            raw => Some(LocationId(raw.parse().map_err(|_| Error::invalid("service_location_id", "pick a location"))?)),
        };
        Ok(JobInput {
            brand: BrandId(brand.id.0),
            customer: CustomerId(customer),
            service: form.service.clone(),
            service_location: site,
            // A location picked wins over an address left in the other field.
            address: Some(form.address.clone()).filter(|a| site.is_none() && !a.trim().is_empty()),
            scheduled_start: start,
            scheduled_end: end,
            techs,
        })
    })();
    let result = match input {
        Ok(input) => jobs::create(&state.db, state.clock.as_ref(), org, &actor(&viewer), &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(job) => Ok(Redirect::to(&format!("/jobs/{}?done=created", job.id.0)).into_response()),
        Err(e) => {
            let errors = field_errors(e)?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page(&state, &viewer, &uri, form, errors).await?).into_response())
        }
    }
}
