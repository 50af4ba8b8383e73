//! The customer's invoice (`/i/{token}`, a capability link sent with the invoice): the lines,
//! taxes, total, what is paid and due, a Pay button that goes to a Stripe Checkout page for
//! exactly what is due (`/i/{token}/pay`), and the PDF (`/i/{token}/pdf`). Coming back from a
//! payment (`?paid=cs_...`) checks the session with Stripe, so the page shows it paid even
//! before Stripe's event arrives.

use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use switchboard_core::billing::{self, InvoiceKind, InvoiceView, Status, pay};
use switchboard_core::money::Money;

use super::{link_failed, private_page};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/i/{token}", get(page))
        .route("/i/{token}/pay", get(go_pay))
        .route("/i/{token}/pdf", get(pdf))
        .route("/i/{token}/credit-notes/{number}", get(credit_note))
}

pub struct LineView {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub amount: String,
    /// Quantity and unit price are shown unless it is one of something.
    pub show_qty: bool,
    pub taxable: bool,
}

#[derive(askama::Template, WebTemplate)]
#[template(path = "invoice/page.html")]
pub struct InvoicePage {
    pub token: String,
    pub kind_label: &'static str,
    pub number: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub brand_name: String,
    pub brand_color: String,
    pub brand_logo: String,
    pub brand_phone: String,
    pub brand_phone_display: String,
    pub customer_name: String,
    pub job_line: String,
    pub dated: String,
    pub due: String,
    pub due_zero: bool,
    pub can_pay: bool,
    pub processing: bool,
    pub void: bool,
    pub lines: Vec<LineView>,
    pub summary: Vec<(String, String)>,
    pub note: String,
    pub payments: Vec<(String, String)>,
    pub footer: String,
    pub notice: String,
    pub problem: String,
    /// Paying part of it: the amount checked (minor units, 0 when none), as shown, the reason a
    /// typed amount was refused, and what was typed.
    pub part_minor: i64,
    pub part_amount: String,
    pub part_error: String,
    pub part_typed: String,
}

/// What the customer sees of their invoice: the lines, the totals block, the payments.
pub fn line_views(lines: &[billing::Line]) -> Vec<LineView> {
    lines
        .iter()
        .map(|l| LineView {
            description: l.description.clone(),
            quantity: switchboard_core::jobs::format_quantity(l.quantity_x100),
            unit_price: l.unit_price.to_string(),
            amount: l.amount().to_string(),
            show_qty: l.quantity_x100 != 100,
            taxable: l.taxable,
        })
        .collect()
}

/// Each payment or refund, as a line for people ("Dec 7: $216.04 paid by card online"), with
/// its credit note's number when it has one (the page links its PDF).
pub fn money_lines(view: &InvoiceView) -> Vec<(String, String)> {
    let tz = view.brand.zone();
    view.money
        .iter()
        .map(|m| {
            let at =
                switchboard_core::clock::from_millis(m.created_at).to_zoned(tz.clone()).strftime("%b %-d").to_string();
            let amount = Money::new(m.amount, view.invoice.currency);
            let credit = m.credit_number.clone().unwrap_or_default();
            let line = match (m.kind.as_str(), &m.credit_number) {
                ("refund", Some(_)) => format!("{at}: {amount} refunded, credit note"),
                ("refund", None) => format!("{at}: {amount} refunded"),
                _ => {
                    let how = match m.method.as_str() {
                        "card" if m.actor == "stripe" => "by card online",
                        method => billing::method_words(method),
                    };
                    format!("{at}: {amount} paid {how}").trim_end().to_string()
                }
            };
            (line, credit)
        })
        .collect()
}

fn render(
    state: &AppState,
    token: &str,
    view: &InvoiceView,
    notice: String,
    problem: String,
    processing: bool,
    part: Part,
) -> Response {
    let inv = &view.invoice;
    let tz = view.brand.zone();
    let owed = inv.status.is_owed() && inv.due.minor > 0;
    let page = InvoicePage {
        token: token.to_string(),
        kind_label: match inv.kind {
            InvoiceKind::Invoice => "Invoice",
            InvoiceKind::Deposit => "Deposit",
        },
        number: inv.number.clone(),
        status: inv.status.as_str(),
        status_label: inv.status.label(),
        brand_name: view.brand.name.clone(),
        brand_color: view.brand.color.clone(),
        brand_logo: view.brand.logo_url.clone().unwrap_or_default(),
        brand_phone: view.brand.sms_number.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default(),
        brand_phone_display: view
            .brand
            .sms_number
            .as_ref()
            .map(|p| switchboard_core::parse::display_phone(p.as_str()))
            .unwrap_or_default(),
        customer_name: view.customer.name.clone(),
        job_line: view.job.as_ref().map(|j| format!("{} ({})", j.service, j.code)).unwrap_or_default(),
        dated: inv.sent_at.map(|t| t.to_zoned(tz.clone()).strftime("%B %-d, %Y").to_string()).unwrap_or_default(),
        due: inv.due.to_string(),
        due_zero: inv.due.minor == 0,
        can_pay: owed && state.payments.is_some() && !processing,
        processing,
        void: inv.status == Status::Void,
        lines: line_views(&inv.lines),
        summary: inv.summary().into_iter().map(|(l, m)| (l, m.to_string())).collect(),
        note: inv.note.clone(),
        payments: money_lines(view),
        footer: view.footer.clone(),
        notice,
        problem,
        part_minor: part.amount.map(|m| m.minor).unwrap_or(0),
        part_amount: part.amount.map(|m| m.to_string()).unwrap_or_default(),
        part_error: part.error,
        part_typed: part.typed,
    };
    private_page(page.into_response())
}

#[derive(Deserialize, Default)]
pub struct PayQuery {
    /// Part of what is due, in minor units.
    #[serde(default)]
    amount: Option<i64>,
}

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    paid: Option<String>,
    #[serde(default)]
    problem: Option<String>,
    /// An amount typed to pay part of what is due.
    #[serde(default)]
    part: Option<String>,
}

async fn page(State(state): State<AppState>, Path(token): Path<String>, Query(q): Query<PageQuery>) -> Response {
    if let (Some(session), Some(payments)) = (q.paid.as_deref(), state.payments.as_deref())
        && session.starts_with("cs_")
        && let Err(e) = pay::confirm_return(&state.db, state.clock.as_ref(), payments, &token, session).await
    {
        return link_failed(e);
    }
    let view = match pay::open(&state.db, state.clock.as_ref(), &token).await {
        Ok(v) => v,
        Err(e) => return link_failed(e),
    };
    let processing = view.invoice.status.is_owed() && processing(&state, &view).await.unwrap_or(false);
    let notice = match (&q.paid, view.invoice.status) {
        (Some(_), Status::Paid) => {
            format!("Thank you! Your payment is received: {} is paid in full.", view.invoice.number)
        }
        (Some(_), Status::PartlyPaid) => {
            format!("Thank you! Your payment is received; {} is still due.", view.invoice.due)
        }
        (Some(_), _) if processing => "Thank you! Your payment is on its way.".to_string(),
        (Some(_), _) => "Thank you! We are confirming your payment; this page shows it in a moment.".to_string(),
        _ => String::new(),
    };
    let problem = match q.problem.as_deref() {
        Some("unavailable") => {
            "The payment page could not be opened just now. Please try again in a minute.".to_string()
        }
        Some("nothing-due") => "Nothing is due on this invoice.".to_string(),
        Some("refused") => format!(
            "This invoice cannot be paid online. Please call {}{}.",
            view.brand.name,
            view.brand
                .sms_number
                .as_ref()
                .map(|p| format!(" at {}", switchboard_core::parse::display_phone(p.as_str())))
                .unwrap_or_default()
        ),
        _ => String::new(),
    };
    // Part of it: the amount typed is checked here and comes back as a Pay link for it (a link,
    // as Pay is, so no form ever redirects to another site).
    let (part, part_error) = match q.part.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(typed) => match pay::part_of(&view.invoice, typed) {
            Ok(m) => (Some(m), String::new()),
            Err(switchboard_core::Error::Invalid(f)) => {
                (None, f.into_iter().map(|f| f.message).collect::<Vec<_>>().join("; "))
            }
            Err(e) => return link_failed(e),
        },
        None => (None, String::new()),
    };
    let typed = q.part.clone().unwrap_or_default();
    render(&state, &token, &view, notice, problem, processing, Part { amount: part, error: part_error, typed })
}

/// The "pay part of it" form's state.
#[derive(Default)]
pub struct Part {
    amount: Option<Money>,
    error: String,
    typed: String,
}

/// Whether a bank payment is on its way for the invoice.
async fn processing(state: &AppState, view: &InvoiceView) -> switchboard_core::Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as(
        "select id from checkout_sessions where org_id = $1 and invoice_id = $2 and status = 'processing' limit 1",
    )
    .bind(view.invoice.org_id.0)
    .bind(view.invoice.id)
    .fetch_optional(state.db.pool())
    .await?;
    Ok(row.is_some())
}

/// `GET /i/{token}/pay`: to the payment page for what is due (a link, so a browser's form
/// rules never stand between the customer and the payment page).
async fn go_pay(State(state): State<AppState>, Path(token): Path<String>, Query(q): Query<PayQuery>) -> Response {
    let Some(payments) = state.payments.as_deref() else {
        return private_page(Redirect::to(&format!("/i/{token}")).into_response());
    };
    match pay::checkout(&state.db, state.clock.as_ref(), payments, &token, &state.config.public_url, q.amount).await {
        Ok(url) => private_page(Redirect::to(&url).into_response()),
        Err(switchboard_core::Error::Conflict(_)) => {
            private_page(Redirect::to(&format!("/i/{token}?problem=nothing-due")).into_response())
        }
        Err(switchboard_core::Error::Unavailable(m)) => {
            tracing::warn!("checkout unavailable: {m}");
            private_page(Redirect::to(&format!("/i/{token}?problem=unavailable")).into_response())
        }
        // An amount that is no longer right (paid meanwhile): the form again, with the reason.
        Err(switchboard_core::Error::Invalid(f)) if f.iter().any(|f| f.field == "part") => {
            let typed = q.amount.map(|m| Money::usd(m).typed()).unwrap_or_default();
            private_page(Redirect::to(&format!("/i/{token}?part={typed}")).into_response())
        }
        Err(switchboard_core::Error::Invalid(_)) => {
            private_page(Redirect::to(&format!("/i/{token}?problem=refused")).into_response())
        }
        Err(e) => link_failed(e),
    }
}

async fn pdf(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let link = match switchboard_core::links::check(
        &state.db,
        state.clock.as_ref(),
        switchboard_core::links::Scope::Invoice,
        &token,
    )
    .await
    {
        Ok(l) => l,
        Err(e) => return link_failed(e),
    };
    match billing::view(&state.db, link.org, link.subject).await {
        Ok(view) => private_page(pdf_response(&view)),
        Err(e) => link_failed(e),
    }
}

async fn credit_note(State(state): State<AppState>, Path((token, number)): Path<(String, String)>) -> Response {
    let link = match switchboard_core::links::check(
        &state.db,
        state.clock.as_ref(),
        switchboard_core::links::Scope::Invoice,
        &token,
    )
    .await
    {
        Ok(l) => l,
        Err(e) => return link_failed(e),
    };
    match billing::view(&state.db, link.org, link.subject).await {
        Ok(view) => match billing::document::credit_note_pdf(&view, &number) {
            Some(pdf) => private_page(pdf_bytes(&number, pdf)),
            None => link_failed(switchboard_core::Error::NotFound),
        },
        Err(e) => link_failed(e),
    }
}

/// The invoice's PDF as a download named after it.
pub fn pdf_response(view: &InvoiceView) -> Response {
    pdf_bytes(&view.invoice.number, billing::document::pdf(view))
}

/// A PDF named after `number` (`INV-1001.pdf`), shown in the browser.
pub fn pdf_bytes(number: &str, bytes: Vec<u8>) -> Response {
    let name = format!("{}.pdf", number.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_"));
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"{name}\"")),
        ],
        bytes,
    )
        .into_response()
}
