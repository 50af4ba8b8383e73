//! Settings -> Web forms: each brand's contact forms, created, edited (name, thank-you page,
//! allowed websites, fields of their own with a type and a required flag), paused and deleted,
//! with the hosted link and the snippet to paste into a website.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_core::Error;
use switchboard_core::auth::SessionUser;
use switchboard_core::ids::BrandId;
use switchboard_core::webforms::{self, FieldKind, FormUpdate, WebForm};

use crate::auth::{Admin, Staff};
use crate::console::shell;
use crate::error::PageError;
use crate::pages::parse_id;
use crate::state::AppState;
use crate::views::{FieldRow, WebFormEditPage, WebFormView, WebFormsPage};

/// Blank rows the editor offers for new fields.
const NEW_ROWS: usize = 2;

/// The copy-paste snippet: a plain HTML form, plus one line of script that fetches the
/// form's signed timestamp (without it, submissions are refused as possible spam).
fn snippet(public_url: &str, form: &WebForm) -> String {
    let key = &form.form_key;
    let esc = |s: &str| s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;");
    let mut own = String::new();
    for f in &form.custom_fields {
        let (name, label) = (esc(&f.key), esc(&f.label));
        let req = if f.required { " required" } else { "" };
        own.push_str(&match f.kind {
            FieldKind::LongText => format!("  <textarea name=\"{name}\" placeholder=\"{label}\"{req}></textarea>\n"),
            FieldKind::Choice => {
                let options: String = f.options.iter().map(|o| format!("<option>{}</option>", esc(o))).collect();
                format!("  <select name=\"{name}\"{req}><option value=\"\">{label}</option>{options}</select>\n")
            }
            FieldKind::YesNo => {
                format!("  <label><input type=\"checkbox\" name=\"{name}\" value=\"yes\"{req}> {label}</label>\n")
            }
            kind => {
                let t = match kind {
                    FieldKind::Email => "email",
                    FieldKind::Phone => "tel",
                    FieldKind::Date => "date",
                    _ => "text",
                };
                format!("  <input name=\"{name}\" type=\"{t}\" placeholder=\"{label}\"{req}>\n")
            }
        });
    }
    format!(
        r#"<form action="{public_url}/public/v1/forms/{key}/submissions" method="post">
  <input name="name" placeholder="Your name">
  <input name="phone" type="tel" placeholder="Phone">
  <input name="email" type="email" placeholder="Email">
  <input name="address" placeholder="Service address">
{own}  <textarea name="message" placeholder="How can we help?"></textarea>
  <input name="company_website" tabindex="-1" autocomplete="off" style="position:absolute;left:-10000px" aria-hidden="true">
  <input type="hidden" name="_ts">
  <button type="submit">Send</button>
</form>
<script>fetch("{public_url}/public/v1/forms/{key}/token").then(r => r.json()).then(t => document.querySelectorAll('form[action$="/{key}/submissions"] input[name="_ts"]').forEach(i => i.value = t.token));</script>"#
    )
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

async fn web_forms_page(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    error: Option<String>,
    notice: Option<String>,
) -> Result<WebFormsPage, PageError> {
    let (shell, brands) = shell(state, viewer, "settings", uri).await?;
    let public = state.config.public_url.clone();
    let forms = webforms::list(&state.db, viewer.user.org_id)
        .await?
        .into_iter()
        .map(|f| WebFormView {
            id: f.id,
            brand_name: brands.iter().find(|b| b.id == f.brand_id).map(|b| b.name.clone()).unwrap_or_default(),
            hosted_url: format!("{public}/f/{}", f.form_key),
            snippet: snippet(&public, &f),
            active: f.active,
            fields: f.custom_fields.iter().map(|c| c.label.clone()).collect::<Vec<_>>().join(", "),
            name: f.name,
        })
        .collect();
    Ok(WebFormsPage { shell, forms, error, notice })
}

pub async fn index(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    let notice = match done.done.as_deref() {
        Some("deleted") => Some(
            "Form deleted. Its link and embedded copies no longer take requests; its leads stay in the inbox.".into(),
        ),
        Some("saved") => Some("Form saved.".into()),
        _ => None,
    };
    Ok(web_forms_page(&state, &viewer, &uri, None, notice).await?.into_response())
}

#[derive(Deserialize)]
pub struct NewFormFields {
    brand_id: String,
    name: String,
    #[serde(default)]
    redirect_url: String,
    #[serde(default)]
    allowed_origins: String,
}

pub async fn create(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Form(form): Form<NewFormFields>,
) -> Result<Response, PageError> {
    let input = webforms::FormInput {
        brand: BrandId(parse_id(&form.brand_id)?),
        name: form.name,
        redirect_url: Some(form.redirect_url),
        allowed_origins: form.allowed_origins,
    };
    match webforms::create(&state.db, state.clock.as_ref(), viewer.user.org_id, &input).await {
        // Straight to its editor: the next thing an office does is add its own fields.
        Ok(f) => Ok(Redirect::to(&format!("/settings/web-forms/{}?done=created", f.id)).into_response()),
        Err(Error::Invalid(fields)) => {
            let msg = fields.into_iter().map(|f| f.message).collect::<Vec<_>>().join("; ");
            Ok((StatusCode::UNPROCESSABLE_ENTITY, web_forms_page(&state, &viewer, &uri, Some(msg), None).await?)
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The editor's rows for a form as saved: its fields, then blank rows for new ones.
fn saved_rows(form: &WebForm) -> Vec<FieldRow> {
    let mut rows: Vec<FieldRow> = form
        .custom_fields
        .iter()
        .enumerate()
        .map(|(i, f)| FieldRow {
            n: i + 1,
            prefix: format!("f{}", i + 1),
            key: f.key.clone(),
            label: f.label.clone(),
            kind: f.kind.as_str().to_string(),
            required: f.required,
            options: f.options.join("\n"),
            help: f.help.clone().unwrap_or_default(),
            remove: false,
            errors: Vec::new(),
        })
        .collect();
    add_blank_rows(&mut rows);
    rows
}

fn add_blank_rows(rows: &mut Vec<FieldRow>) {
    let keep = webforms::MAX_FIELDS.saturating_sub(rows.iter().filter(|r| !r.key.is_empty()).count());
    for _ in 0..NEW_ROWS.min(keep) {
        let n = rows.len() + 1;
        rows.push(FieldRow { n, prefix: format!("f{n}"), kind: "text".into(), ..FieldRow::default() });
    }
}

#[allow(clippy::too_many_arguments)]
async fn edit_page(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    form: &WebForm,
    values: FormUpdate,
    rows: Vec<FieldRow>,
    errors: Vec<(String, String)>,
    notice: Option<String>,
) -> Result<WebFormEditPage, PageError> {
    let (shell, brands) = shell(state, viewer, "settings", uri).await?;
    let public = state.config.public_url.clone();
    Ok(WebFormEditPage {
        shell,
        id: form.id,
        brand_name: brands.iter().find(|b| b.id == form.brand_id).map(|b| b.name.clone()).unwrap_or_default(),
        hosted_url: format!("{public}/f/{}", form.form_key),
        name: values.name,
        redirect_url: values.redirect_url.unwrap_or_default(),
        allowed_origins: values.allowed_origins,
        active: values.active,
        rows,
        kinds: FieldKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        errors,
        notice,
    })
}

pub async fn edit(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    let form = webforms::get(&state.db, viewer.user.org_id, parse_id(&id)?).await?;
    let values = FormUpdate {
        name: form.name.clone(),
        redirect_url: form.redirect_url.clone(),
        allowed_origins: form.allowed_origins.join(" "),
        active: form.active,
        custom_fields: Vec::new(),
    };
    let notice = match done.done.as_deref() {
        Some("created") => Some("Form created. Add fields of your own below, or use it as it is.".into()),
        Some("saved") => Some("Form saved.".into()),
        _ => None,
    };
    let rows = saved_rows(&form);
    Ok(edit_page(&state, &viewer, &uri, &form, values, rows, Vec::new(), notice).await?.into_response())
}

/// Reads the editor: the form's settings and its rows (`f{n}_label`, `f{n}_kind`, ...).
fn read_editor(posted: &[(String, String)]) -> (FormUpdate, Vec<FieldRow>) {
    let map: HashMap<&str, &str> = posted.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let get = |k: &str| map.get(k).map(|v| v.to_string()).unwrap_or_default();
    let mut rows = Vec::new();
    for n in 1..=webforms::MAX_FIELDS + NEW_ROWS {
        if let Some(row) = FieldRow::read(&map, &format!("f{n}"), rows.len() + 1, format!("f{n}")) {
            rows.push(row);
        }
    }
    let update = FormUpdate {
        name: get("name"),
        redirect_url: Some(get("redirect_url")),
        allowed_origins: get("allowed_origins"),
        active: get("status") != "paused",
        custom_fields: Vec::new(),
    };
    (update, rows)
}

pub async fn update(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Path(id): Path<String>,
    Form(posted): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let form = webforms::get(&state.db, org, parse_id(&id)?).await?;
    let (mut update, mut rows) = read_editor(&posted);
    // Kept rows, in order: saved fields not removed, and new rows given a label.
    let kept: Vec<usize> = (0..rows.len()).filter(|&i| !rows[i].skipped()).collect();
    update.custom_fields = kept.iter().map(|&i| rows[i].input()).collect();
    match webforms::update(&state.db, state.clock.as_ref(), org, form.id, &update).await {
        Ok(saved) => Ok(Redirect::to(&format!("/settings/web-forms/{}?done=saved", saved.id)).into_response()),
        Err(Error::Invalid(fields)) => {
            // Row errors come back as fields.{k}.part for the k-th kept row: put each beside
            // its row; the rest beside the form's own fields.
            let mut errors = Vec::new();
            for f in fields {
                let mut parts = f.field.splitn(3, '.');
                match (parts.next(), parts.next().and_then(|k| k.parse::<usize>().ok()), parts.next()) {
                    (Some("fields"), Some(k), Some(part)) if k >= 1 && k <= kept.len() => {
                        rows[kept[k - 1]].errors.push((part.to_string(), f.message));
                    }
                    _ => errors.push((f.field.to_string(), f.message)),
                }
            }
            let page = edit_page(&state, &viewer, &uri, &form, update, rows, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    webforms::delete(&state.db, viewer.user.org_id, parse_id(&id)?).await?;
    Ok(Redirect::to("/settings/web-forms?done=deleted").into_response())
}
