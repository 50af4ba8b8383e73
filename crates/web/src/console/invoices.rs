//! Invoices in the console: the list with its aging view, one invoice (lines, discount and
//! note, send, record a payment, refund, void and re-issue, its timeline and PDF), creating one
//! from a job or asking for a deposit, and Settings -> Billing (numbers, taxes, reminders).

use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_core::Error;
use switchboard_core::auth::SessionUser;
use switchboard_core::billing::{self, Channels, InvoiceKind, Status};
use switchboard_core::ids::{BrandId, JobId};
use switchboard_core::money::{Currency, Money};

use crate::auth::{Admin, Staff, actor};
use crate::console::shell;
use crate::error::PageError;
use crate::pages::{field_errors, parse_id};
use crate::public::invoice::{line_views, money_lines};
use crate::state::AppState;
use crate::views::Shell;

#[derive(askama::Template, WebTemplate)]
#[template(path = "invoices/show.html")]
pub struct InvoicePage {
    pub shell: Shell,
    pub id: i64,
    pub number: String,
    pub kind_label: &'static str,
    pub status: &'static str,
    pub status_label: &'static str,
    pub brand_name: String,
    pub customer_name: String,
    pub customer_phone: String,
    pub customer_email: String,
    pub job_id: i64,
    pub job_code: String,
    pub job_service: String,
    pub lines: Vec<crate::public::invoice::LineView>,
    pub summary: Vec<(String, String)>,
    pub editable: bool,
    pub discount: String,
    pub discount_label: String,
    pub note: String,
    pub events: Vec<(String, String, String)>,
    pub payments: Vec<(String, String)>,
    pub can_send: bool,
    pub sent: bool,
    pub send_text: bool,
    pub send_email: bool,
    pub online: bool,
    pub nudge_days: String,
    pub due: String,
    pub paid: String,
    pub can_record: bool,
    pub pay_amount: String,
    pub pay_method: String,
    pub methods: Vec<(&'static str, &'static str)>,
    pub can_refund: bool,
    pub can_void: bool,
    pub can_reissue: bool,
    pub void_reason: String,
    /// The invoice's version (sent back by forms that point at a line by its place).
    pub version: i64,
    pub notice: Option<String>,
    pub errors: Vec<(String, String)>,
    pub values: Vec<(String, String)>,
}

impl InvoicePage {
    pub fn error(&self, field: &str) -> Option<&str> {
        crate::views::error_for(&self.errors, field)
    }
    pub fn form_value(&self, field: &str) -> &str {
        self.values.iter().find(|(k, _)| k == field).map(|(_, v)| v.as_str()).unwrap_or("")
    }
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
}

/// The invoice of the viewer's organization (`NotFound` for another's or none).
async fn visible(state: &AppState, viewer: &SessionUser, id: i64) -> Result<billing::InvoiceView, PageError> {
    let view = billing::view(&state.db, viewer.user.org_id, id).await?;
    Ok(view)
}

pub async fn show(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let notice = match q.done.as_str() {
        "line" => Some("Line added.".to_string()),
        "removed" => Some("Line removed.".to_string()),
        "terms" => Some("Saved.".to_string()),
        "paid" => Some("Payment recorded.".to_string()),
        "refunded" => Some("Refund recorded, with its credit note.".to_string()),
        "voided" => Some("Invoice voided: its link no longer works.".to_string()),
        "created" => Some("Invoice drafted: check the lines, then send it.".to_string()),
        "reissued" => Some("Re-issued as a new draft.".to_string()),
        s if s.starts_with("sent") => Some("Sent. Reminders follow while it is unpaid.".to_string()),
        _ => None,
    };
    render(&state, &viewer, &uri, id, vec![], vec![], notice, StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    id: i64,
    errors: Vec<(String, String)>,
    values: Vec<(String, String)>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let view = visible(state, viewer, id).await?;
    let (shell, _) = shell(state, viewer, "invoices", uri).await?;
    let inv = &view.invoice;
    let tz = view.brand.zone();
    let sched = billing::settings(&state.db, viewer.user.org_id, inv.brand_id).await?;
    let editable = !matches!(inv.status, Status::Void | Status::Paid | Status::Refunded) && inv.paid.minor == 0;
    let now = state.clock.now();
    let page = InvoicePage {
        shell,
        id: inv.id,
        number: inv.number.clone(),
        kind_label: match inv.kind {
            InvoiceKind::Invoice => "Invoice",
            InvoiceKind::Deposit => "Deposit invoice",
        },
        status: inv.status.as_str(),
        status_label: inv.status.label(),
        brand_name: view.brand.name.clone(),
        customer_name: view.customer.name.clone(),
        customer_phone: view
            .customer
            .phone
            .as_ref()
            .map(|p| switchboard_core::parse::display_phone(p.as_str()))
            .unwrap_or_default(),
        customer_email: view.customer.email.as_ref().map(|e| e.as_str().to_string()).unwrap_or_default(),
        job_id: view.job.as_ref().map(|j| j.id.0).unwrap_or(0),
        job_code: view.job.as_ref().map(|j| j.code.clone()).unwrap_or_default(),
        job_service: view.job.as_ref().map(|j| j.service.clone()).unwrap_or_default(),
        lines: line_views(&inv.lines),
        summary: inv.summary().into_iter().map(|(l, m)| (l, m.to_string())).collect(),
        editable,
        discount: if inv.totals.discount.minor > 0 { inv.totals.discount.to_string() } else { String::new() },
        discount_label: inv.discount_label.clone(),
        note: inv.note.clone(),
        events: view
            .events
            .iter()
            .rev()
            .map(|(at, who, what)| (crate::fmt::ago(*at, &tz, now), crate::console::jobs::who(who), what.clone()))
            .collect(),
        payments: money_lines(&view),
        can_send: inv.status != Status::Void && inv.due.minor > 0,
        sent: inv.sent_at.is_some(),
        send_text: view.customer.phone.is_some() && view.brand.sms_number.is_some(),
        send_email: view.customer.email.is_some(),
        online: state.payments.is_some(),
        nudge_days: if sched.nudge_days.is_empty() {
            "never (Settings, Billing)".to_string()
        } else {
            format!("{} days after sending", billing::model::format_nudge_days(&sched.nudge_days))
        },
        due: inv.due.to_string(),
        paid: if inv.paid.minor > 0 { inv.paid.typed() } else { String::new() },
        can_record: inv.status != Status::Void && inv.due.minor > 0,
        pay_amount: inv.due.typed(),
        pay_method: "cash".into(),
        methods: billing::OFFICE_METHODS.to_vec(),
        can_refund: inv.paid.minor > 0,
        can_void: inv.status != Status::Void && inv.paid.minor <= 0,
        can_reissue: inv.status == Status::Void,
        void_reason: inv.void_reason.clone().unwrap_or_default(),
        version: inv.version,
        notice,
        errors,
        values,
    };
    Ok((status, page).into_response())
}

/// After a change: back to the invoice (to `anchor`), or the page again with the reasons.
#[allow(clippy::too_many_arguments)]
async fn outcome<T>(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    id: i64,
    result: Result<T, Error>,
    done: &str,
    anchor: &str,
    values: Vec<(String, String)>,
    rename: &[(&str, &str)],
) -> Result<Response, PageError> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/invoices/{id}?done={done}#{anchor}")).into_response()),
        Err(Error::Conflict(m)) => {
            render(state, viewer, uri, id, vec![("form".into(), m)], values, None, StatusCode::CONFLICT).await
        }
        Err(Error::Unavailable(m)) => {
            render(state, viewer, uri, id, vec![("form".into(), m)], values, None, StatusCode::SERVICE_UNAVAILABLE)
                .await
        }
        Err(e) => {
            let errors = field_errors(e)?
                .into_iter()
                .map(|(f, m)| {
                    (rename.iter().find(|(from, _)| *from == f).map(|(_, to)| to.to_string()).unwrap_or(f), m)
                })
                .collect();
            render(state, viewer, uri, id, errors, values, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

#[derive(Deserialize)]
pub struct LineForm {
    description: String,
    #[serde(default)]
    quantity: String,
    unit_price: String,
    #[serde(default)]
    taxable: Option<String>,
}

pub async fn add_line(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<LineForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let input = billing::LineInput {
        description: f.description.clone(),
        quantity: f.quantity.clone(),
        unit_price: f.unit_price.clone(),
        taxable: f.taxable.clone(),
    };
    let result =
        billing::add_line(&state.db, state.clock.as_ref(), viewer.user.org_id, &actor(&viewer), id, &input).await;
    let values = vec![
        ("description".into(), f.description),
        ("quantity".into(), f.quantity),
        ("unit_price".into(), f.unit_price),
    ];
    outcome(&state, &viewer, &uri, id, result, "line", "lines", values, &[]).await
}

#[derive(Deserialize, Default)]
pub struct RemoveForm {
    /// The invoice's version the page showed.
    #[serde(default)]
    version: Option<i64>,
}

pub async fn remove_line(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path((id, index)): Path<(String, String)>,
    Form(f): Form<RemoveForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let index: usize = index.parse().map_err(|_| PageError::not_found())?;
    let org = viewer.user.org_id;
    let result =
        billing::remove_line(&state.db, state.clock.as_ref(), org, &actor(&viewer), id, index, f.version).await;
    outcome(&state, &viewer, &uri, id, result, "removed", "lines", vec![], &[]).await
}

pub async fn set_terms(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<billing::TermsInput>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let result = billing::set_terms(&state.db, state.clock.as_ref(), viewer.user.org_id, &actor(&viewer), id, &f).await;
    outcome(&state, &viewer, &uri, id, result, "terms", "lines", vec![], &[]).await
}

#[derive(Deserialize)]
pub struct SendForm {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

pub async fn send(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<SendForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let channels = Channels { text: f.text.is_some(), email: f.email.is_some() };
    let result = billing::send(
        &state.db,
        state.clock.as_ref(),
        viewer.user.org_id,
        &actor(&viewer),
        id,
        channels,
        &state.config.public_url,
    )
    .await;
    outcome(&state, &viewer, &uri, id, result, "sent", "send", vec![], &[]).await
}

pub async fn record_payment(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<billing::PaymentInput>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let result =
        billing::record_payment(&state.db, state.clock.as_ref(), viewer.user.org_id, &actor(&viewer), id, &f).await;
    outcome(&state, &viewer, &uri, id, result, "paid", "record", vec![], &[]).await
}

#[derive(Deserialize)]
pub struct RefundForm {
    amount: String,
    #[serde(default)]
    reason: String,
}

pub async fn refund(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<RefundForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let result = billing::pay::refund(
        &state.db,
        state.clock.as_ref(),
        state.payments.as_deref(),
        viewer.user.org_id,
        &actor(&viewer),
        id,
        &f.amount,
        &f.reason,
    )
    .await;
    outcome(&state, &viewer, &uri, id, result, "refunded", "refund", vec![], &[("amount", "refund_amount")]).await
}

#[derive(Deserialize)]
pub struct VoidForm {
    #[serde(default)]
    reason: String,
}

pub async fn void(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<VoidForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let result =
        billing::void(&state.db, state.clock.as_ref(), viewer.user.org_id, &actor(&viewer), id, &f.reason).await;
    outcome(&state, &viewer, &uri, id, result, "voided", "void", vec![], &[("reason", "void_reason")]).await
}

pub async fn reissue(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    match billing::reissue(&state.db, state.clock.as_ref(), viewer.user.org_id, &actor(&viewer), id).await {
        Ok(new_id) => Ok(Redirect::to(&format!("/invoices/{new_id}?done=reissued")).into_response()),
        Err(e) => outcome::<()>(&state, &viewer, &uri, id, Err(e), "", "", vec![], &[]).await,
    }
}

pub async fn pdf(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let view = visible(&state, &viewer, id).await?;
    Ok(crate::public::invoice::pdf_response(&view))
}

/// `GET /invoices/{id}/credit-notes/{number}`: a refund's credit note as a PDF.
pub async fn credit_note(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path((id, number)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let view = visible(&state, &viewer, id).await?;
    let pdf = billing::document::credit_note_pdf(&view, &number).ok_or_else(PageError::not_found)?;
    Ok(crate::public::invoice::pdf_bytes(&number, pdf))
}

/// `POST /jobs/{id}/invoice`: drafts the job's invoice from its line items now.
pub async fn create_for_job(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let job = JobId(parse_id(&id)?);
    match billing::draft_for_job(&state.db, state.clock.as_ref(), viewer.user.org_id, &actor(&viewer), job).await {
        Ok(inv) => Ok(Redirect::to(&format!("/invoices/{inv}?done=created")).into_response()),
        Err(Error::Conflict(m)) => Err(PageError::new(StatusCode::CONFLICT, "Already invoiced", m)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct DepositForm {
    amount: String,
}

/// `POST /jobs/{id}/deposit`: a deposit invoice for the amount typed.
pub async fn request_deposit(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    Path(id): Path<String>,
    Form(f): Form<DepositForm>,
) -> Result<Response, PageError> {
    let job = JobId(parse_id(&id)?);
    match billing::request_deposit(&state.db, state.clock.as_ref(), viewer.user.org_id, &actor(&viewer), job, &f.amount)
        .await
    {
        Ok(inv) => Ok(Redirect::to(&format!("/invoices/{inv}?done=created")).into_response()),
        Err(Error::Conflict(m)) => Err(PageError::new(StatusCode::CONFLICT, "Deposit not asked", m)),
        Err(Error::Invalid(fields)) => Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Deposit not asked",
            fields.into_iter().map(|f| f.message).collect::<Vec<_>>().join("; "),
        )),
        Err(e) => Err(e.into()),
    }
}

pub struct ListRowView {
    pub id: i64,
    pub number: String,
    pub deposit: bool,
    pub customer_id: i64,
    pub customer: String,
    pub job_id: i64,
    pub job_code: String,
    pub status: String,
    pub status_label: &'static str,
    pub total: String,
    pub due: String,
    pub sent: String,
}

/// The Invoices list's rows as shown (also on the customer's card).
pub fn row_views(
    rows: Vec<billing::store::ListRow>,
    brands: &[switchboard_core::tenancy::Brand],
    now: jiff::Timestamp,
) -> Vec<ListRowView> {
    rows.into_iter()
        .map(|r| {
            let currency = Currency::parse(&r.currency).unwrap_or(Currency::Usd);
            let st = Status::parse(&r.status).unwrap_or(Status::Draft);
            let tz = crate::fmt::brand_zone(brands, BrandId(r.brand_id));
            ListRowView {
                id: r.id,
                number: r.number,
                deposit: r.kind == "deposit",
                customer_id: r.customer_id,
                customer: r.customer_name,
                job_id: r.job_id.unwrap_or(0),
                job_code: r.job_code.unwrap_or_default(),
                status: r.status.clone(),
                status_label: st.label(),
                total: Money::new(r.total, currency).to_string(),
                due: Money::new(r.due, currency).to_string(),
                sent: r
                    .sent_at
                    .map(|t| crate::fmt::ago(switchboard_core::clock::from_millis(t), &tz, now))
                    .unwrap_or_default(),
            }
        })
        .collect()
}

pub struct AgingView {
    pub brand: String,
    pub total: String,
    /// (bucket, amount, "2 invoices").
    pub buckets: Vec<(&'static str, String, String)>,
}

#[derive(askama::Template, WebTemplate)]
#[template(path = "invoices/index.html")]
pub struct InvoicesPage {
    pub shell: Shell,
    pub rows: Vec<ListRowView>,
    pub aging: Vec<AgingView>,
    pub filters: Vec<(&'static str, &'static str)>,
    pub status: String,
    pub offset: i64,
    pub prev: i64,
    pub next: i64,
    pub more: bool,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    offset: Option<i64>,
}

pub async fn index(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let org = viewer.user.org_id;
    let (shell, brands) = shell(&state, &viewer, "invoices", &uri).await?;
    let status = Status::parse(&q.status);
    let offset = q.offset.unwrap_or(0).max(0);
    let selected: Vec<BrandId> = viewer.brand_id.into_iter().collect();
    let filter = billing::ListFilter { brands: selected.clone(), status, customer: None, offset };
    let mut rows = billing::list(&state.db, org, &filter).await?;
    let more = rows.len() > 50;
    rows.truncate(50);
    let rows = row_views(rows, &brands, state.clock.now());
    let aging = billing::aging(&state.db, state.clock.as_ref(), org)
        .await?
        .into_iter()
        .filter(|(b, _)| selected.is_empty() || selected.iter().any(|s| s.0 == *b))
        .filter_map(|(b, buckets)| {
            let brand = brands.iter().find(|x| x.id.0 == b)?;
            let total: i64 = buckets.iter().map(|(a, _)| a).sum();
            Some(AgingView {
                brand: brand.name.clone(),
                total: Money::usd(total).to_string(),
                buckets: billing::model::AGING_BUCKETS
                    .iter()
                    .zip(buckets)
                    .map(|(name, (amount, n))| {
                        (
                            *name,
                            Money::usd(amount).to_string(),
                            if n == 1 { "1 invoice".to_string() } else { format!("{n} invoices") },
                        )
                    })
                    .collect(),
            })
        })
        .collect();
    let mut filters = vec![("", "All")];
    filters.extend(Status::ALL.iter().map(|s| (s.as_str(), s.label())));
    Ok(InvoicesPage {
        shell,
        rows,
        aging,
        filters,
        status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        offset,
        prev: (offset - 50).max(0),
        next: offset + 50,
        more,
    }
    .into_response())
}

pub struct BillingBrandView {
    pub id: i64,
    pub name: String,
    pub invoice_prefix: String,
    pub next_invoice_number: String,
    pub credit_prefix: String,
    pub nudge_days: String,
    pub tax_rates: String,
    pub footer: String,
    pub errors: Vec<(String, String)>,
}

impl BillingBrandView {
    pub fn error(&self, field: &str) -> Option<&str> {
        crate::views::error_for(&self.errors, field)
    }
}

#[derive(askama::Template, WebTemplate)]
#[template(path = "settings/billing.html")]
pub struct BillingSettingsPage {
    pub shell: Shell,
    pub brands: Vec<BillingBrandView>,
    pub editable: bool,
    pub online: bool,
    pub notice: Option<String>,
}

/// A brand's billing form that was refused: what was typed, and why.
struct Refused {
    brand: BrandId,
    input: billing::SettingsInput,
    errors: Vec<(String, String)>,
}

async fn settings_page(
    state: &AppState,
    viewer: &SessionUser,
    uri: &Uri,
    failed: Option<Refused>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (shell, brands) = shell(state, viewer, "settings", uri).await?;
    let mut views = Vec::new();
    for b in &brands {
        let s = billing::settings(&state.db, viewer.user.org_id, b.id).await?;
        let mut v = BillingBrandView {
            id: b.id.0,
            name: b.name.clone(),
            invoice_prefix: s.invoice_prefix,
            next_invoice_number: s.next_invoice_number.to_string(),
            credit_prefix: s.credit_prefix,
            nudge_days: billing::model::format_nudge_days(&s.nudge_days),
            tax_rates: s
                .tax_rates
                .iter()
                .map(|r| format!("{} {}", r.name, r.percent().trim_end_matches('%')))
                .collect::<Vec<_>>()
                .join("\n"),
            footer: s.footer,
            errors: vec![],
        };
        if let Some(Refused { brand: id, input, errors }) = &failed
            && *id == b.id
        {
            v.invoice_prefix = input.invoice_prefix.clone();
            v.next_invoice_number = input.next_invoice_number.clone();
            v.credit_prefix = input.credit_prefix.clone();
            v.nudge_days = input.nudge_days.clone();
            v.tax_rates = input.tax_rates.clone();
            v.footer = input.footer.clone();
            v.errors = errors.clone();
        }
        views.push(v);
    }
    let page = BillingSettingsPage {
        shell,
        brands: views,
        editable: viewer.user.role == switchboard_core::tenancy::Role::Admin,
        online: state.payments.is_some(),
        notice,
    };
    Ok((status, page).into_response())
}

#[derive(Deserialize, Default)]
pub struct SettingsQuery {
    #[serde(default)]
    done: String,
}

pub async fn settings(
    State(state): State<AppState>,
    Staff(viewer): Staff,
    uri: Uri,
    Query(q): Query<SettingsQuery>,
) -> Result<Response, PageError> {
    let notice = (q.done == "saved").then(|| "Billing settings saved.".to_string());
    settings_page(&state, &viewer, &uri, None, notice, StatusCode::OK).await
}

pub async fn save_settings(
    State(state): State<AppState>,
    Admin(viewer): Admin,
    uri: Uri,
    Path(brand): Path<String>,
    Form(input): Form<billing::SettingsInput>,
) -> Result<Response, PageError> {
    let brand = BrandId(parse_id(&brand)?);
    match billing::save_settings(&state.db, state.clock.as_ref(), viewer.user.org_id, brand, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/settings/billing?done=saved#brand-{}", brand.0)).into_response()),
        Err(Error::Invalid(fields)) => {
            let errors = fields.into_iter().map(|f| (f.field.to_string(), f.message)).collect();
            settings_page(
                &state,
                &viewer,
                &uri,
                Some(Refused { brand, input, errors }),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
