//! Settings: brands, users and API keys (web forms are in `web_forms`). Viewing is for office staff; changing is for admins.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_core::auth as core_auth;
use switchboard_core::ids::{ApiKeyId, BrandId, UserId};
use switchboard_core::tenancy::{self, Brand, BrandInput, NewUserInput, User, UserUpdate};

use crate::auth::{Admin, Staff};
use crate::console::shell;
use crate::error::PageError;
use crate::pages::{field_errors, parse_id};
use crate::state::AppState;
use crate::views::{
    ApiKeyView, ApiKeysPage, BrandFormPage, BrandFormValues, BrandView, BrandsPage, COMMON_TIME_ZONES, DeadWorkView,
    EnginePage, HoursRow, UserFormPage, UserView, UsersPage, initials,
};

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

fn notice(done: &Option<String>, what: &str) -> Option<String> {
    match done.as_deref() {
        Some("created") => Some(format!("{what} created.")),
        Some("updated") => Some(format!("{what} saved.")),
        Some("password") => Some("Password changed. The user signs in with it from now on.".into()),
        _ => None,
    }
}

fn brand_view(b: Brand) -> BrandView {
    BrandView {
        next_code: format!("{}-{}", b.job_prefix, b.next_job_number),
        id: b.id.0,
        name: b.name,
        time_zone: b.time_zone.to_string(),
        country: b.country.name().to_string(),
        sms_number: b.sms_number.as_deref().map(switchboard_core::parse::display_phone).unwrap_or_default(),
        inbound_email: b.inbound_email.map(|e| e.to_string()).unwrap_or_default(),
        color: b.color,
        logo_url: b.logo_url.unwrap_or_default(),
        job_prefix: b.job_prefix,
    }
}

pub async fn brands(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    let (shell, brands) = shell(&state, &viewer, "settings", &uri).await?;
    Ok(BrandsPage { shell, brands: brands.into_iter().map(brand_view).collect(), notice: notice(&q.done, "Brand") }
        .into_response())
}

#[derive(Deserialize)]
pub struct BrandForm {
    /// Every other field; the working-hours rows (`open_mon`, `close_mon`, ...) are read from it.
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
    name: String,
    time_zone: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    sms_number: String,
    #[serde(default)]
    inbound_email: String,
    #[serde(default)]
    color: String,
    #[serde(default)]
    logo_url: String,
    #[serde(default)]
    job_prefix: String,
    #[serde(default)]
    sms_help_reply: String,
    /// Absent (a form from before the field): the brand keeps its words.
    urgent_words: Option<String>,
}

impl BrandForm {
    /// The week as typed; `None` when the form had no hours rows (a page from before them).
    fn hours(&self) -> Option<Vec<tenancy::DayInput>> {
        let rows: Vec<tenancy::DayInput> = tenancy::hours::DAYS
            .iter()
            .filter_map(|(_, key, _)| {
                let open = self.rest.get(&format!("open_{key}"));
                let close = self.rest.get(&format!("close_{key}"));
                (open.is_some() || close.is_some()).then(|| tenancy::DayInput {
                    day: key.to_string(),
                    open: open.cloned().unwrap_or_default(),
                    close: close.cloned().unwrap_or_default(),
                })
            })
            .collect();
        (!rows.is_empty()).then_some(rows)
    }

    /// The input to save; `keep` is the brand's current week, kept when the form had none.
    fn input(&self, keep: Option<&tenancy::WorkingHours>) -> BrandInput {
        BrandInput {
            name: self.name.clone(),
            time_zone: self.time_zone.clone(),
            country: Some(self.country.clone()),
            sms_number: Some(self.sms_number.clone()),
            inbound_email: Some(self.inbound_email.clone()),
            color: Some(self.color.clone()),
            logo_url: Some(self.logo_url.clone()),
            job_prefix: Some(self.job_prefix.clone()),
            sms_help_reply: Some(self.sms_help_reply.clone()),
            urgent_words: self.urgent_words.clone(),
            working_hours: self.hours().or_else(|| keep.map(|h| h.as_inputs())),
        }
    }
    fn values(self) -> BrandFormValues {
        let hours = tenancy::hours::DAYS
            .iter()
            .map(|(_, key, name)| HoursRow {
                key,
                name,
                open: self.rest.get(&format!("open_{key}")).cloned().unwrap_or_default(),
                close: self.rest.get(&format!("close_{key}")).cloned().unwrap_or_default(),
            })
            .collect();
        BrandFormValues {
            name: self.name,
            time_zone: self.time_zone,
            country: self.country,
            sms_number: self.sms_number,
            inbound_email: self.inbound_email,
            color: self.color,
            logo_url: self.logo_url,
            job_prefix: self.job_prefix,
            sms_help_reply: self.sms_help_reply,
            urgent_words: self.urgent_words.unwrap_or_default(),
            hours,
        }
    }
}

fn brand_form(
    shell: crate::views::Shell,
    brand_id: Option<i64>,
    values: BrandFormValues,
    errors: Vec<(String, String)>,
) -> BrandFormPage {
    BrandFormPage {
        shell,
        brand_id,
        values,
        errors,
        time_zones: COMMON_TIME_ZONES.to_vec(),
        countries: switchboard_core::countries::COUNTRIES,
    }
}

/// Re-renders the form with field errors (422), or turns other errors into an error page.
fn form_failure(
    e: switchboard_core::Error,
    render: impl FnOnce(Vec<(String, String)>) -> Response,
) -> Result<Response, PageError> {
    match e {
        switchboard_core::Error::Conflict(message) => Ok(render(vec![("name".into(), message)])),
        other => {
            let errors = field_errors(other)?;
            Ok(render(errors))
        }
    }
}

pub async fn new_brand(State(state): State<AppState>, Admin(viewer): Admin, uri: Uri) -> Result<Response, PageError> {
    let (shell, _) = shell(&state, &viewer, "settings", &uri).await?;
    let values = BrandFormValues {
        color: "#2563eb".into(),
        job_prefix: "J".into(),
        urgent_words: tenancy::UrgentWords::default().to_text(),
        hours: HoursRow::week(&tenancy::WorkingHours::default()),
        ..Default::default()
    };
    Ok(brand_form(shell, None, values, vec![]).into_response())
}

pub async fn create_brand(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Form(form): Form<BrandForm>,
) -> Result<Response, PageError> {
    match tenancy::create_brand(&state.db, state.clock.as_ref(), viewer.user.org_id, &form.input(None)).await {
        Ok(_) => Ok(Redirect::to("/settings/brands?done=created").into_response()),
        Err(e) => {
            let (shell, _) = shell(&state, &viewer, "settings", &uri).await?;
            form_failure(e, |errors| {
                (StatusCode::UNPROCESSABLE_ENTITY, brand_form(shell, None, form.values(), errors)).into_response()
            })
        }
    }
}

pub async fn edit_brand(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let b = tenancy::brand(&state.db, viewer.user.org_id, BrandId(id)).await?;
    let (shell, _) = shell(&state, &viewer, "settings", &uri).await?;
    let values = BrandFormValues {
        name: b.name,
        time_zone: b.time_zone.to_string(),
        country: b.country.code().to_string(),
        sms_number: b.sms_number.map(|p| p.to_string()).unwrap_or_default(),
        inbound_email: b.inbound_email.map(|e| e.to_string()).unwrap_or_default(),
        color: b.color,
        logo_url: b.logo_url.unwrap_or_default(),
        job_prefix: b.job_prefix,
        sms_help_reply: b.sms_help_reply.unwrap_or_default(),
        urgent_words: b.urgent_words.to_text(),
        hours: HoursRow::week(&b.working_hours),
    };
    Ok(brand_form(shell, Some(id), values, vec![]).into_response())
}

pub async fn update_brand(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<BrandForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let current = tenancy::brand(&state.db, viewer.user.org_id, BrandId(id)).await?;
    let input = form.input(Some(&current.working_hours));
    match tenancy::update_brand(&state.db, state.clock.as_ref(), viewer.user.org_id, BrandId(id), &input).await {
        Ok(_) => Ok(Redirect::to("/settings/brands?done=updated").into_response()),
        Err(switchboard_core::Error::NotFound) => Err(PageError::not_found()),
        Err(e) => {
            let (shell, _) = shell(&state, &viewer, "settings", &uri).await?;
            form_failure(e, |errors| {
                (StatusCode::UNPROCESSABLE_ENTITY, brand_form(shell, Some(id), form.values(), errors)).into_response()
            })
        }
    }
}

fn user_view(u: User, me: UserId) -> UserView {
    UserView {
        id: u.id.0,
        initials: initials(&u.name),
        is_self: u.id == me,
        name: u.name,
        email: u.email,
        role: u.role.as_str(),
        role_label: u.role.label(),
        active: u.active,
        joined: crate::fmt::date(u.created_at, &jiff::tz::TimeZone::UTC),
    }
}

pub async fn users(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    let (shell, _) = shell(&state, &viewer, "settings", &uri).await?;
    let users = tenancy::list_users(&state.db, viewer.user.org_id)
        .await?
        .into_iter()
        .map(|u| user_view(u, viewer.user.id))
        .collect();
    Ok(UsersPage { shell, users, notice: notice(&q.done, "User") }.into_response())
}

pub async fn new_user(State(state): State<AppState>, Admin(viewer): Admin, uri: Uri) -> Result<Response, PageError> {
    let (shell, _) = shell(&state, &viewer, "settings", &uri).await?;
    Ok(UserFormPage {
        shell,
        user: None,
        email: String::new(),
        name: String::new(),
        role: "dispatcher".into(),
        errors: vec![],
        notice: None,
    }
    .into_response())
}

#[derive(Deserialize)]
pub struct NewUserForm {
    email: String,
    name: String,
    role: String,
    password: String,
}

pub async fn create_user(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Form(form): Form<NewUserForm>,
) -> Result<Response, PageError> {
    let input = NewUserInput {
        email: form.email.clone(),
        name: form.name.clone(),
        role: form.role.clone(),
        password: form.password,
    };
    match tenancy::create_user(&state.db, state.clock.as_ref(), viewer.user.org_id, &input).await {
        Ok(_) => Ok(Redirect::to("/settings/users?done=created").into_response()),
        Err(e) => {
            let (shell, _) = shell(&state, &viewer, "settings", &uri).await?;
            let errors = match e {
                switchboard_core::Error::Conflict(m) => vec![("email".to_string(), m)],
                other => field_errors(other)?,
            };
            let page = UserFormPage {
                shell,
                user: None,
                email: form.email,
                name: form.name,
                role: form.role,
                errors,
                notice: None,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

async fn user_page(
    state: &AppState,
    viewer: &switchboard_core::auth::SessionUser,
    uri: &Uri,
    id: UserId,
    errors: Vec<(String, String)>,
    notice: Option<String>,
) -> Result<UserFormPage, PageError> {
    let u = tenancy::user(&state.db, viewer.user.org_id, id).await?;
    let (shell, _) = shell(state, viewer, "settings", uri).await?;
    let (name, role) = (u.name.clone(), u.role.as_str().to_string());
    let view = user_view(u, viewer.user.id);
    Ok(UserFormPage { shell, email: view.email.clone(), user: Some(view), name, role, errors, notice })
}

pub async fn edit_user(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    let id = UserId(parse_id(&id)?);
    Ok(user_page(&state, &viewer, &uri, id, vec![], notice(&q.done, "User")).await?.into_response())
}

#[derive(Deserialize)]
pub struct EditUserForm {
    name: String,
    role: String,
    /// A checkbox: present ("on") when checked, absent otherwise.
    active: Option<String>,
}

pub async fn update_user(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<EditUserForm>,
) -> Result<Response, PageError> {
    let id = UserId(parse_id(&id)?);
    let update = UserUpdate { name: Some(form.name), role: Some(form.role), active: Some(form.active.is_some()) };
    match switchboard_core::auth::update_user(&state.db, state.clock.as_ref(), viewer.user.org_id, id, &update).await {
        Ok(_) => Ok(Redirect::to("/settings/users?done=updated").into_response()),
        Err(switchboard_core::Error::Conflict(m)) => {
            let page = user_page(&state, &viewer, &uri, id, vec![("role".into(), m)], None).await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(switchboard_core::Error::Invalid(fields)) => {
            let errors = crate::pages::pairs(fields);
            let page = user_page(&state, &viewer, &uri, id, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
}

pub async fn set_password(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let id = UserId(parse_id(&id)?);
    match tenancy::set_password(&state.db, state.clock.as_ref(), viewer.user.org_id, id, &form.password).await {
        Ok(()) => Ok(Redirect::to(&format!("/settings/users/{}?done=password", id.0)).into_response()),
        Err(switchboard_core::Error::Invalid(fields)) => {
            let errors = crate::pages::pairs(fields);
            let page = user_page(&state, &viewer, &uri, id, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn api_keys_page(
    state: &AppState,
    viewer: &switchboard_core::auth::SessionUser,
    uri: &Uri,
    new_key: Option<String>,
    error: Option<String>,
) -> Result<ApiKeysPage, PageError> {
    let (shell, _) = shell(state, viewer, "settings", uri).await?;
    let utc = jiff::tz::TimeZone::UTC;
    let keys = core_auth::list_api_keys(&state.db, viewer.user.org_id)
        .await?
        .into_iter()
        .map(|k| ApiKeyView {
            id: k.id.0,
            name: k.name,
            prefix: k.prefix,
            created: crate::fmt::date(k.created_at, &utc),
            last_used: k.last_used_at.map(|t| crate::fmt::date(t, &utc)).unwrap_or_else(|| "Never".into()),
            revoked: k.revoked,
        })
        .collect();
    Ok(ApiKeysPage { shell, keys, new_key, error })
}

pub async fn api_keys(State(state): State<AppState>, Admin(viewer): Admin, uri: Uri) -> Result<Response, PageError> {
    Ok(api_keys_page(&state, &viewer, &uri, None, None).await?.into_response())
}

#[derive(Deserialize)]
pub struct ApiKeyForm {
    name: String,
}

pub async fn create_api_key(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Form(form): Form<ApiKeyForm>,
) -> Result<Response, PageError> {
    match core_auth::create_api_key(&state.db, state.clock.as_ref(), viewer.user.org_id, &form.name).await {
        Ok((key, _)) => Ok(api_keys_page(&state, &viewer, &uri, Some(key), None).await?.into_response()),
        Err(switchboard_core::Error::Invalid(fields)) => {
            let msg = fields.into_iter().map(|f| format!("Name: {}", f.message)).collect::<Vec<_>>().join(" ");
            Ok((StatusCode::UNPROCESSABLE_ENTITY, api_keys_page(&state, &viewer, &uri, None, Some(msg)).await?)
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke_api_key(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = ApiKeyId(parse_id(&id)?);
    core_auth::revoke_api_key(&state.db, state.clock.as_ref(), viewer.user.org_id, id).await?;
    Ok(Redirect::to("/settings/api-keys").into_response())
}

pub async fn engine(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    let (shell, _) = shell(&state, &viewer, "settings", &uri).await?;
    let (counts, dead) = switchboard_core::engine::overview(&state.db, viewer.user.org_id).await?;
    let count = |s: &str| counts.iter().find(|(k, _)| k == s).map(|(_, n)| *n).unwrap_or(0);
    let counts = vec![
        ("Waiting", count("pending"), ""),
        ("Running", count("running"), ""),
        ("Done", count("done"), ""),
        ("Stopped", count("dead"), if count("dead") > 0 { "bad" } else { "" }),
    ];
    let utc = jiff::tz::TimeZone::UTC;
    let dead = dead
        .into_iter()
        .map(|d| DeadWorkView {
            id: d.id,
            kind: d.kind,
            attempts: d.attempts,
            error: d.last_error.unwrap_or_default(),
            when: crate::fmt::schedule(switchboard_core::engine::at(d.updated_at), &utc, state.clock.now()),
        })
        .collect();
    let notice = (q.done.as_deref() == Some("retried")).then(|| "Queued to run again now.".to_string());
    Ok(EnginePage { shell, counts, dead, notice }.into_response())
}

pub async fn retry_work(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = switchboard_core::engine::WorkId(parse_id(&id)?);
    switchboard_core::engine::retry_dead(&state.db, viewer.user.org_id, id, state.clock.now()).await?;
    Ok(Redirect::to("/settings/engine?done=retried").into_response())
}
