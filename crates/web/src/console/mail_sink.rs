//! The demo's mail sink, shown in the console: with no mail server configured, outgoing email
//! goes to a built-in SMTP sink, and `/demo/mail` shows what it received (newest first, HTML
//! and text), the way the simulated phones page shows texts. Signed-in staff only: the mails
//! hold customers' details.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::auth::Staff;
use crate::console::shell;
use crate::error::PageError;
use crate::pages::parse_id;
use crate::state::AppState;
use crate::views::Shell;

pub struct MailRow {
    /// Its place in the sink, oldest first from 1 (stable while the server runs).
    pub n: usize,
    pub to: String,
    pub from: String,
    pub subject: String,
    pub when: String,
}

pub struct OpenMail {
    pub n: usize,
    pub to: String,
    pub from: String,
    pub reply_to: String,
    pub subject: String,
    pub when: String,
    pub text: String,
    pub has_html: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "mail_sink.html")]
pub struct MailSinkPage {
    pub shell: Shell,
    pub rows: Vec<MailRow>,
    pub open: Option<OpenMail>,
}

#[derive(Deserialize, Default)]
pub struct SinkQuery {
    #[serde(default)]
    open: String,
}

pub async fn index(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Query(q): Query<SinkQuery>,
) -> Result<Response, PageError> {
    let Some(sink) = &state.mail_sink else { return Err(PageError::not_found()) };
    let (shell, brands) = shell(&state, &viewer, "", &uri).await?;
    let tz = crate::fmt::org_zone(&brands, None);
    let now = state.clock.now();
    let mails = sink.mails();
    let when = |t: jiff::Timestamp| crate::fmt::ago(t, &tz, now);
    let rows = mails
        .iter()
        .enumerate()
        .rev()
        .map(|(i, m)| MailRow {
            n: i + 1,
            to: m.rcpt_to.join(", "),
            from: m.from.clone(),
            subject: m.subject.clone(),
            when: when(m.received_at),
        })
        .collect();
    let picked = q.open.parse::<usize>().ok().or(if mails.is_empty() { None } else { Some(mails.len()) });
    let open = picked.and_then(|n| mails.get(n.wrapping_sub(1)).map(|m| (n, m))).map(|(n, m)| OpenMail {
        n,
        to: m.rcpt_to.join(", "),
        from: m.from.clone(),
        reply_to: m.reply_to.clone().unwrap_or_default(),
        subject: m.subject.clone(),
        when: when(m.received_at),
        text: m.text.clone(),
        has_html: m.html.is_some(),
    });
    Ok(MailSinkPage { shell, rows, open }.into_response())
}

/// One mail's HTML part, for the page's frame: sandboxed (no scripts, no forms, its own
/// origin), images allowed as a mail client would show them.
pub async fn html(
    State(state): State<AppState>,
    Staff(_viewer): Staff,
    Path(n): Path<String>,
) -> Result<Response, PageError> {
    let Some(sink) = &state.mail_sink else { return Err(PageError::not_found()) };
    let n = parse_id(&n)?;
    let mails = sink.mails();
    let html = usize::try_from(n)
        .ok()
        .and_then(|n| mails.get(n.wrapping_sub(1)))
        .and_then(|m| m.html.clone())
        .ok_or_else(PageError::not_found)?;
    let mut r = Html(html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'; frame-ancestors 'self'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    Ok(r)
}
