//! Settings -> Technicians: the people sent to jobs, adding and editing one (name, mobile,
//! vehicle, active), turning off a technician's portal links (a lost phone: nothing more is
//! texted) or replacing them (a forwarded link: a fresh one is texted).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_core::auth::SessionUser;
use switchboard_core::ids::TechnicianId;
use switchboard_core::parse::{PhoneE164, display_phone, optional_text, required_text};
use switchboard_core::technicians::{self, NewTechnician, TechnicianEdit};
use switchboard_core::{Error, portal};

use crate::auth::Admin;
use crate::console::shell;
use crate::error::PageError;
use crate::pages::{field_errors, parse_id};
use crate::state::AppState;
use crate::views::{Shell, error_for, initials};

pub struct TechRow {
    pub id: i64,
    pub name: String,
    pub initials: String,
    pub photo_url: String,
    pub phone: String,
    pub vehicle: String,
    pub skills: String,
    /// "All brands", or the names of theirs.
    pub works_for: String,
    pub rating: String,
    pub links: i64,
    /// Their links were turned off for a lost phone: nothing is texted until a new link.
    pub paused: bool,
    pub active: bool,
    pub located: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/technicians.html")]
pub struct TechniciansPage {
    pub shell: Shell,
    pub rows: Vec<TechRow>,
    pub notice: Option<String>,
    pub errors: Vec<(String, String)>,
    pub form_name: String,
    pub form_phone: String,
    pub form_vehicle: String,
    pub form_skills: String,
}

impl TechniciansPage {
    pub fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
}

async fn page(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    form: &TechForm,
) -> Result<TechniciansPage, PageError> {
    let org = viewer.user.org_id;
    let (shell, brands) = shell(state, viewer, "settings", uri).await?;
    let tz = crate::fmt::org_zone(&brands, None);
    let links = portal::active_links(&state.db, state.clock.as_ref(), org).await?;
    let now = state.clock.now();
    let mut all = technicians::list(&state.db, org).await?;
    // The active first; the inactive after them, to edit or bring back.
    all.sort_by_key(|t| !t.active);
    let rows = all
        .into_iter()
        .map(|t| TechRow {
            active: t.active,
            id: t.id.0,
            initials: initials(&t.name),
            photo_url: t.photo_url.clone().unwrap_or_default(),
            phone: t.phone.as_deref().map(display_phone).unwrap_or_default(),
            vehicle: t.vehicle.clone().unwrap_or_default(),
            skills: t.skills.join(", "),
            works_for: works_for(&t, &brands),
            rating: t.rating_text().unwrap_or_default(),
            links: links.iter().find(|(id, _)| *id == t.id).map(|(_, n)| *n).unwrap_or(0),
            paused: t.links_paused_at.is_some(),
            located: t.last_location.map(|l| crate::fmt::ago(l.at, &tz, now)).unwrap_or_default(),
            name: t.name,
        })
        .collect();
    Ok(TechniciansPage {
        shell,
        rows,
        notice,
        errors,
        form_name: form.name.clone(),
        form_phone: form.phone.clone(),
        form_vehicle: form.vehicle.clone(),
        form_skills: form.skills.clone(),
    })
}

pub async fn index(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    let notice = match q.done.as_str() {
        "added" => Some("Technician added.".to_string()),
        "saved" => Some("Technician saved.".to_string()),
        "revoked" => Some(
            "Portal links turned off. Nothing more is texted to that phone, not even the next job's link, until you \
             text a new link."
                .to_string(),
        ),
        "rotated" => Some("Old portal links turned off. A new link was texted to the technician.".to_string()),
        "rotated-no-text" => Some(
            "Old portal links turned off. No new link was texted (no mobile number or no brand SMS number); the next \
             job they are put on texts one."
                .to_string(),
        ),
        _ => None,
    };
    Ok(page(&state, &viewer, &uri, notice, vec![], &TechForm::default()).await?.into_response())
}

/// The brands a technician works for, as the list shows them.
fn works_for(t: &technicians::Technician, brands: &[switchboard_core::tenancy::Brand]) -> String {
    if t.brands.is_empty() {
        return "All brands".into();
    }
    brands.iter().filter(|b| t.brands.contains(&b.id)).map(|b| b.name.as_str()).collect::<Vec<_>>().join(", ")
}

#[derive(Default)]
pub struct TechForm {
    name: String,
    phone: String,
    vehicle: String,
    /// The edit form's "Active" box (absent: unticked).
    active: Option<String>,
    /// Comma-separated, as typed.
    skills: String,
    /// The ticked "Works for" boxes, one `brand` value each (none: every brand).
    brands: Vec<String>,
}

impl TechForm {
    /// The edit form: its fields, and every ticked brand box (a key repeated per brand).
    fn from_pairs(pairs: Vec<(String, String)>) -> TechForm {
        let mut form = TechForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "name" => form.name = v,
                "phone" => form.phone = v,
                "vehicle" => form.vehicle = v,
                "active" => form.active = Some(v),
                "skills" => form.skills = v,
                "brand" => form.brands.push(v),
                _ => {}
            }
        }
        form
    }

    fn of(t: &technicians::Technician) -> TechForm {
        TechForm {
            name: t.name.clone(),
            phone: t.phone.as_deref().map(display_phone).unwrap_or_default(),
            vehicle: t.vehicle.clone().unwrap_or_default(),
            active: t.active.then(|| "on".to_string()),
            skills: t.skills.join(", "),
            brands: t.brands.iter().map(|b| b.0.to_string()).collect(),
        }
    }

    /// The ticked brands; a value that is not a brand id is refused by name.
    fn brand_ids(&self) -> Result<Vec<switchboard_core::ids::BrandId>, String> {
        self.brands
            .iter()
            .map(|b| {
                b.trim()
                    .parse::<i64>()
                    .map(switchboard_core::ids::BrandId)
                    .map_err(|_| "pick brands from the list".into())
            })
            .collect()
    }
}

/// A brand box on the edit form.
pub struct BrandBox {
    pub id: i64,
    pub name: String,
    pub color: String,
    pub checked: bool,
}

/// A technician as typed, checked.
struct Checked {
    name: String,
    phone: Option<PhoneE164>,
    vehicle: Option<String>,
    skills: Vec<String>,
    brands: Vec<switchboard_core::ids::BrandId>,
}

/// The typed name, mobile (national numbers read by the organization's country), vehicle,
/// skills and brands, checked all at once; each refusal names its field.
fn check(form: &TechForm, country: switchboard_core::parse::Country) -> Result<Checked, Error> {
    let mut v = switchboard_core::error::Validator::new();
    let name = v.check("name", required_text(&form.name, 120));
    let phone = match form.phone.trim() {
        "" => Some(None),
        p => v.check("phone", PhoneE164::parse_in(p, country)).map(Some),
    };
    let vehicle = v.check("vehicle", optional_text(Some(&form.vehicle), 120));
    let skills = v.check("skills", technicians::parse_skills(&form.skills));
    let brands = v.check("brands", form.brand_ids());
    v.finish()?;
    match (name, phone, vehicle, skills, brands) {
        (Some(name), Some(phone), Some(vehicle), Some(skills), Some(brands)) => {
            Ok(Checked { name, phone, vehicle, skills, brands })
        }
        _ => Err(Error::Unexpected("technician validation lost a field".into())),
    }
}

/// The edit page of one technician, with what was typed and why it was refused.
#[derive(Template, WebTemplate)]
#[template(path = "settings/technician_form.html")]
pub struct TechnicianPage {
    pub shell: Shell,
    pub id: i64,
    /// Their name as saved, for the heading.
    pub heading: String,
    pub name: String,
    pub phone: String,
    pub vehicle: String,
    pub skills: String,
    pub brands: Vec<BrandBox>,
    pub active: bool,
    pub country: String,
    pub errors: Vec<(String, String)>,
    /// The photo customers see (empty: initials).
    pub photo_url: String,
    pub initials: String,
    pub notice: Option<String>,
}

impl TechnicianPage {
    pub fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn edit_page(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    tech: &technicians::Technician,
    form: TechForm,
    errors: Vec<(String, String)>,
) -> Result<TechnicianPage, PageError> {
    let (shell, all_brands) = shell(state, viewer, "settings", uri).await?;
    let country = switchboard_core::customers::home_country(&state.db, viewer.user.org_id).await?;
    let brands = all_brands
        .iter()
        .map(|b| BrandBox {
            id: b.id.0,
            name: b.name.clone(),
            color: b.color.clone(),
            checked: form.brands.iter().any(|x| x.trim() == b.id.0.to_string()),
        })
        .collect();
    Ok(TechnicianPage {
        skills: form.skills.clone(),
        brands,
        photo_url: tech.photo_url.clone().unwrap_or_default(),
        initials: crate::views::initials(&tech.name),
        notice: None,
        shell,
        id: tech.id.0,
        heading: tech.name.clone(),
        name: form.name,
        phone: form.phone,
        vehicle: form.vehicle,
        active: form.active.is_some(),
        country: country.name().to_string(),
        errors,
    })
}

/// `GET /settings/technicians/{id}`: the edit form.
pub async fn edit(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = TechnicianId(parse_id(&id)?);
    let t = technicians::get(&state.db, viewer.user.org_id, id).await?;
    let form = TechForm::of(&t);
    let mut page = edit_page(&state, &viewer, &uri, &t, form, vec![]).await?;
    if uri.query().is_some_and(|q| q.contains("done=photo")) {
        page.notice = Some("Photo saved. Customers see it when this technician is on the way.".into());
    }
    Ok(page.into_response())
}

/// `POST /settings/technicians/{id}/photo`: a new photo (JPEG, PNG or WebP).
pub async fn upload_photo(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Path(id): Path<String>,
    multipart: axum::extract::Multipart,
) -> Result<Response, PageError> {
    let id = TechnicianId(parse_id(&id)?);
    let org = viewer.user.org_id;
    let t = technicians::get(&state.db, org, id).await?;
    let result = match crate::pages::read_photo(multipart).await {
        Ok(bytes) => technicians::set_photo(&state.db, &state.blobs, org, id, &bytes).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/settings/technicians/{}?done=photo", id.0)).into_response()),
        Err(e) => {
            let errors = field_errors(e)?;
            let form = TechForm::of(&t);
            let page = edit_page(&state, &viewer, &uri, &t, form, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// `POST /settings/technicians/{id}`: saves the edit (a deactivated technician keeps the jobs
/// they are on, and is put on no new one).
pub async fn update(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = TechForm::from_pairs(pairs);
    let id = TechnicianId(parse_id(&id)?);
    let org = viewer.user.org_id;
    let current = technicians::get(&state.db, org, id).await?;
    let country = switchboard_core::customers::home_country(&state.db, org).await?;
    let checked = check(&form, country).map(|c| TechnicianEdit {
        name: c.name,
        phone: c.phone,
        vehicle: c.vehicle,
        skills: c.skills,
        brands: c.brands,
        active: form.active.is_some(),
    });
    let result = match checked {
        Ok(edit) => technicians::update(&state.db, state.clock.as_ref(), org, id, &edit).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/settings/technicians?done=saved").into_response()),
        Err(e) => {
            let errors = field_errors(e)?;
            let page = edit_page(&state, &viewer, &uri, &current, form, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

pub async fn create(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = TechForm::from_pairs(pairs);
    let country = switchboard_core::customers::home_country(&state.db, viewer.user.org_id).await?;
    let valid = check(&form, country).map(|c| NewTechnician {
        name: c.name,
        phone: c.phone,
        photo_url: None,
        rating_x10: None,
        vehicle: c.vehicle,
        skills: c.skills,
        brands: c.brands,
    });
    let result = match valid {
        Ok(t) => {
            async {
                let mut tx = state.db.begin().await?;
                technicians::create_in(&mut tx, state.clock.as_ref(), viewer.user.org_id, &t).await?;
                tx.commit().await?;
                Ok::<_, Error>(())
            }
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/settings/technicians?done=added").into_response()),
        Err(e) => {
            let errors = field_errors(e)?;
            let page = page(&state, &viewer, &uri, None, errors, &form).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// Turns off every link of the technician (a lost phone): nothing is texted.
pub async fn revoke_links(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = TechnicianId(parse_id(&id)?);
    portal::revoke(&state.db, state.clock.as_ref(), viewer.user.org_id, id, &state.links, false).await?;
    Ok(Redirect::to("/settings/technicians?done=revoked").into_response())
}

/// Replaces the technician's links (a forwarded link): the old ones stop working and a new
/// one is texted to their mobile.
pub async fn new_link(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = TechnicianId(parse_id(&id)?);
    let (_, texted) =
        portal::revoke(&state.db, state.clock.as_ref(), viewer.user.org_id, id, &state.links, true).await?;
    Ok(Redirect::to(if texted {
        "/settings/technicians?done=rotated"
    } else {
        "/settings/technicians?done=rotated-no-text"
    })
    .into_response())
}
