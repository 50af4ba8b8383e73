//! Customers -> Import: a CSV file (or pasted text) is read and shown row by row (new,
//! already a customer, a repeat of an earlier row, or refused with the reason); importing
//! then adds the new rows in one transaction. The same file twice adds nothing.

use axum::Form;
use axum::extract::{Multipart, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_core::Error;
use switchboard_core::auth::SessionUser;
use switchboard_core::customers::import::{self, Outcome, Plan};

use crate::auth::Staff;
use crate::console::shell;
use crate::error::PageError;
use crate::state::AppState;
use crate::views::{CustomerImportPage, ImportRowView};

/// The file's text: UTF-8, or else read as Windows/Latin-1 (what older spreadsheet exports
/// write), so no file is refused for its encoding.
fn text_of(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

/// The CSV from an upload form: the file if one was chosen, else the pasted text.
async fn read_upload(mut multipart: Multipart) -> Result<String, Error> {
    let mut file = None;
    let mut pasted = String::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let bytes = field.bytes().await.map_err(|e| {
                    let m = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        "the file is larger than 2 MB: split it and import the parts"
                    } else {
                        "the upload was interrupted; try again"
                    };
                    Error::invalid("file", m)
                })?;
                match name.as_str() {
                    "file" if !bytes.is_empty() => file = Some(text_of(&bytes)),
                    "text" => pasted = text_of(&bytes),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(Error::invalid("file", "the file is larger than 2 MB: split it and import the parts"));
            }
            Err(_) => return Err(Error::invalid("file", "the upload could not be read; try again")),
        }
    }
    let text = file.unwrap_or(pasted);
    if text.trim().is_empty() {
        return Err(Error::invalid("file", "choose a CSV file, or paste its text"));
    }
    Ok(text)
}

fn rows(plan: &Plan) -> Vec<ImportRowView> {
    plan.rows
        .iter()
        .map(|r| {
            let (state, result, link) = match &r.outcome {
                Outcome::New => ("new", "New customer".to_string(), None),
                Outcome::Existing { id, name, by } => {
                    ("existing", format!("Already a customer: {name} (same {by})"), Some(id.0))
                }
                Outcome::Repeat { line } => ("repeat", format!("Same person as line {line}"), None),
                Outcome::Refused(why) => ("refused", format!("Not imported: {why}"), None),
            };
            ImportRowView {
                line: r.line,
                name: r.name.clone(),
                phone: r.phone_display(),
                email: r.email.as_ref().map(|e| e.to_string()).unwrap_or_default(),
                address: r.address.clone().unwrap_or_default(),
                notes: r.notes.clone().unwrap_or_default(),
                state,
                result,
                customer: link,
            }
        })
        .collect()
}

async fn page(state: &AppState, viewer: &SessionUser, uri: &Uri) -> Result<CustomerImportPage, PageError> {
    let (shell, _) = shell(state, viewer, "customers", uri).await?;
    Ok(CustomerImportPage {
        shell,
        error: None,
        text: String::new(),
        rows: Vec::new(),
        columns: Vec::new(),
        new_count: 0,
        existing_count: 0,
        repeat_count: 0,
        refused_count: 0,
        done: false,
    })
}

fn fill(p: &mut CustomerImportPage, plan: &Plan, text: String) {
    p.rows = rows(plan);
    p.columns = plan
        .columns
        .iter()
        .map(|(h, c)| (h.clone(), c.map(|c| c.label().to_string()).unwrap_or_else(|| "not imported".into())))
        .collect();
    p.new_count = plan.new_count();
    p.existing_count = plan.count(|o| matches!(o, Outcome::Existing { .. }));
    p.repeat_count = plan.count(|o| matches!(o, Outcome::Repeat { .. }));
    p.refused_count = plan.count(|o| matches!(o, Outcome::Refused(_)));
    p.text = text;
}

pub async fn start(State(state): State<AppState>, Staff(viewer): Staff, uri: Uri) -> Result<Response, PageError> {
    Ok(page(&state, &viewer, &uri).await?.into_response())
}

/// `POST /customers/import`: the preview, nothing imported yet.
pub async fn preview(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let mut p = page(&state, &viewer, &uri).await?;
    let planned = match read_upload(multipart).await {
        Ok(text) => import::plan(&state.db, viewer.user.org_id, &text).await.map(|plan| (plan, text)),
        Err(e) => Err(e),
    };
    match planned {
        Ok((plan, text)) => {
            fill(&mut p, &plan, text);
            Ok(p.into_response())
        }
        Err(Error::Invalid(fields)) => {
            p.error = Some(fields.into_iter().map(|f| f.message).collect::<Vec<_>>().join("; "));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct Confirm {
    #[serde(default)]
    csv: String,
}

/// `POST /customers/import/confirm`: imports the previewed file's new rows.
pub async fn confirm(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Form(form): Form<Confirm>,
) -> Result<Response, PageError> {
    let mut p = page(&state, &viewer, &uri).await?;
    match import::apply(&state.db, state.clock.as_ref(), viewer.user.org_id, &form.csv).await {
        Ok(plan) => {
            fill(&mut p, &plan, String::new());
            p.done = true;
            Ok(p.into_response())
        }
        Err(Error::Invalid(fields)) => {
            p.error = Some(fields.into_iter().map(|f| f.message).collect::<Vec<_>>().join("; "));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
