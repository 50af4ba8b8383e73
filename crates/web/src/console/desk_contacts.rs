//! Settings -> Message desk -> a client's contacts: the people who receive its messages and
//! the ways to reach each, in order; added, edited (a refusal shows the form again, open, with
//! what was typed and the reason beside the field) and removed.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_core::auth::SessionUser;
use switchboard_core::desk::contacts::{self, ContactInput, METHODS_MAX, MethodKind};
use switchboard_core::ids::BrandId;
use switchboard_core::parse::display_phone;
use switchboard_core::tenancy::Brand;

use crate::auth::{Admin, Staff};
use crate::console::shell;
use crate::error::PageError;
use crate::pages::{field_errors, parse_id};
use crate::state::AppState;
use crate::views::{Shell, error_for};

/// Rows for ways to reach someone a form offers beyond those they have.
const NEW_METHOD_ROWS: usize = 2;

/// A contact's form: its fields as typed (or saved) and why a save was refused.
#[derive(Default)]
pub struct ContactForm {
    /// The contact edited (none: a new one).
    pub id: Option<i64>,
    pub name: String,
    pub title: String,
    pub notes: String,
    /// Their sign-in, if they have one (a user's id).
    pub user_id: Option<i64>,
    /// (kind, value) rows, then blank ones.
    pub methods: Vec<(String, String)>,
    pub errors: Vec<(String, String)>,
    pub open: bool,
}

impl ContactForm {
    pub fn has_user(&self, id: &i64) -> bool {
        self.user_id == Some(*id)
    }
    pub fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
    /// The error of method row `n` (from 1): its kind or its value.
    pub fn method_error(&self, n: &usize) -> Option<&str> {
        self.error_for(&format!("methods.{n}.value")).or_else(|| self.error_for(&format!("methods.{n}.kind")))
    }
    /// Its inputs' id prefix (`contact-7`, `contact-new`).
    pub fn prefix(&self) -> String {
        self.id.map(|i| format!("contact-{i}")).unwrap_or_else(|| "contact-new".into())
    }
    fn with_blank_rows(mut self) -> Self {
        let room = METHODS_MAX.saturating_sub(self.methods.len());
        for _ in 0..NEW_METHOD_ROWS.min(room) {
            self.methods.push(("cell".into(), String::new()));
        }
        self
    }
}

pub struct ContactView {
    pub id: i64,
    pub name: String,
    pub title: String,
    pub notes: String,
    /// ("Cell", "(720) 555-0142") in order.
    pub methods: Vec<(&'static str, String)>,
    pub form: ContactForm,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/desk_contacts.html")]
pub struct ContactsPage {
    pub shell: Shell,
    pub brand_id: i64,
    pub brand_name: String,
    pub contacts: Vec<ContactView>,
    pub new_contact: ContactForm,
    pub kinds: Vec<(&'static str, &'static str)>,
    /// The sign-ins a contact can have: (id, "Name (Client)").
    pub users: Vec<(i64, String)>,
    pub notice: Option<String>,
}

async fn page(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    brand: &Brand,
    notice: Option<String>,
    refused: Option<ContactForm>,
) -> Result<ContactsPage, PageError> {
    let (shell, _) = shell(state, viewer, "settings", uri).await?;
    let mut refused = refused;
    let mut contacts = Vec::new();
    for c in contacts::list(&state.db, viewer.user.org_id, brand.id).await? {
        let form = match refused.take_if(|f| f.id == Some(c.id)) {
            Some(f) => f,
            None => ContactForm {
                id: Some(c.id),
                name: c.name.clone(),
                title: c.title.clone().unwrap_or_default(),
                notes: c.notes.clone().unwrap_or_default(),
                user_id: c.user_id.map(|u| u.0),
                methods: c.methods.iter().map(|m| (m.kind.as_str().to_string(), m.value.clone())).collect(),
                ..ContactForm::default()
            }
            .with_blank_rows(),
        };
        contacts.push(ContactView {
            id: c.id,
            title: c.title.unwrap_or_default(),
            notes: c.notes.unwrap_or_default(),
            methods: c
                .methods
                .into_iter()
                .map(|m| {
                    let shown = if m.value.starts_with('+') { display_phone(&m.value) } else { m.value };
                    (m.kind.label(), shown)
                })
                .collect(),
            name: c.name,
            form,
        });
    }
    Ok(ContactsPage {
        shell,
        brand_id: brand.id.0,
        brand_name: brand.name.clone(),
        contacts,
        new_contact: refused.unwrap_or_else(|| ContactForm::default().with_blank_rows()),
        kinds: MethodKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        users: switchboard_core::tenancy::list_users(&state.db, viewer.user.org_id)
            .await?
            .into_iter()
            .map(|u| (u.id.0, format!("{} ({})", u.name, u.role.label())))
            .collect(),
        notice,
    })
}

#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
}

pub async fn index(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    let brand = switchboard_core::tenancy::brand(&state.db, viewer.user.org_id, BrandId(parse_id(&id)?)).await?;
    let notice = match done.done.as_str() {
        "added" => Some("Contact added.".to_string()),
        "saved" => Some("Contact saved.".to_string()),
        "removed" => Some("Contact removed.".to_string()),
        _ => None,
    };
    Ok(page(&state, &viewer, &uri, &brand, notice, None).await?.into_response())
}

/// The form as posted: `name`, `title`, `notes`, and rows `m{n}_kind` / `m{n}_value`.
fn read_form(id: Option<i64>, posted: &[(String, String)]) -> ContactForm {
    let map: HashMap<&str, &str> = posted.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let get = |k: &str| map.get(k).map(|v| v.to_string()).unwrap_or_default();
    let methods = (1..=METHODS_MAX + NEW_METHOD_ROWS)
        .filter_map(|n| {
            map.get(format!("m{n}_kind").as_str()).map(|kind| (kind.to_string(), get(&format!("m{n}_value"))))
        })
        .collect();
    ContactForm {
        id,
        name: get("name"),
        title: get("title"),
        notes: get("notes"),
        user_id: get("user_id").trim().parse().ok(),
        methods,
        errors: Vec::new(),
        open: true,
    }
}

/// Saves a posted contact (new with `id` none); a refusal shows the page again with the form
/// open, row errors renumbered to the rows shown.
async fn save(
    state: &AppState,
    viewer: &Admin,
    uri: &Uri,
    brand_id: &str,
    id: Option<i64>,
    posted: &[(String, String)],
) -> Result<Response, PageError> {
    let org = viewer.0.user.org_id;
    let brand = switchboard_core::tenancy::brand(&state.db, org, BrandId(parse_id(brand_id)?)).await?;
    let mut form = read_form(id, posted);
    // Rows left empty are not ways to reach anyone; the rest keep their order.
    let kept: Vec<usize> = (0..form.methods.len()).filter(|&i| !form.methods[i].1.trim().is_empty()).collect();
    let input = ContactInput {
        name: form.name.clone(),
        title: form.title.clone(),
        notes: form.notes.clone(),
        user_id: form.user_id.map(switchboard_core::ids::UserId),
        methods: kept.iter().map(|&i| form.methods[i].clone()).collect(),
    };
    let result = match id {
        None => contacts::create(&state.db, state.clock.as_ref(), org, brand.id, &input).await,
        Some(c) => contacts::update(&state.db, state.clock.as_ref(), org, brand.id, c, &input).await,
    };
    match result {
        Ok(c) => {
            let done = if id.is_none() { "added" } else { "saved" };
            Ok(Redirect::to(&format!("/settings/desk/{}/contacts?done={done}#contact-{}", brand.id.0, c.id))
                .into_response())
        }
        Err(e) => {
            for (field, message) in field_errors(e)? {
                // `methods.{k}.part` names the k-th kept row: name the row as shown.
                let parts: Vec<&str> = field.split('.').collect();
                let field = match parts.as_slice() {
                    ["methods", k, part] => match k.parse::<usize>().ok().and_then(|k| kept.get(k.wrapping_sub(1))) {
                        Some(row) => format!("methods.{}.{part}", row + 1),
                        None => field,
                    },
                    _ => field,
                };
                form.errors.push((field, message));
            }
            let page = page(state, &viewer.0, uri, &brand, None, Some(form.with_blank_rows())).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// `POST /settings/desk/{brand}/contacts`.
pub async fn add(
    State(state): State<AppState>,
    admin: Admin,
    uri: Uri,
    Path(brand): Path<String>,
    Form(posted): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    save(&state, &admin, &uri, &brand, None, &posted).await
}

/// `POST /settings/desk/{brand}/contacts/{id}`.
pub async fn update(
    State(state): State<AppState>,
    admin: Admin,
    uri: Uri,
    Path((brand, id)): Path<(String, String)>,
    Form(posted): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    save(&state, &admin, &uri, &brand, Some(id), &posted).await
}

/// `POST /settings/desk/{brand}/contacts/{id}/remove`.
pub async fn remove(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    Path((brand, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let brand = BrandId(parse_id(&brand)?);
    contacts::delete(&state.db, viewer.user.org_id, brand, parse_id(&id)?).await?;
    Ok(Redirect::to(&format!("/settings/desk/{}/contacts?done=removed", brand.0)).into_response())
}
