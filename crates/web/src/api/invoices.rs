//! `/api/v1/invoices`: invoices with their lines, taxes, totals and payments (money in minor
//! units of `currency`); drafting a job's invoice, sending it, recording a payment the office
//! took, voiding.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use switchboard_core::Error;
use switchboard_core::billing::{self, Channels, Invoice, Status};
use switchboard_core::ids::{CustomerId, JobId};
use utoipa::{IntoParams, ToSchema};

use super::not_found_as;
use super::{ApiId, ApiJson, ApiQuery};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct InvoiceLineDto {
    pub description: String,
    /// Hundredths: 150 is 1.5.
    pub quantity_x100: i64,
    pub unit_price: i64,
    pub taxable: bool,
    /// Quantity times unit price, rounded to the minor unit half away from zero.
    pub amount: i64,
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceTaxDto {
    pub name: String,
    /// Thousandths of a percent: 8.25% is 8250.
    pub rate_x1000: i64,
    pub amount: i64,
}

#[derive(Serialize, ToSchema)]
pub struct InvoicePaymentDto {
    /// `payment` or `refund`.
    pub kind: String,
    /// `card`, `bank`, `cash`, `check`, `transfer` or `other`.
    pub method: String,
    pub amount: i64,
    /// A refund's credit note number (`CN-1001`).
    pub credit_number: Option<String>,
    pub note: String,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceDto {
    pub id: i64,
    /// Per brand: `INV-1001`.
    pub number: String,
    /// `invoice` or `deposit` (asked before the work, credited on the final invoice).
    pub kind: String,
    /// `draft`, `sent`, `viewed`, `partly_paid`, `paid`, `void` or `refunded`.
    pub status: String,
    /// ISO 4217 (`USD`); every amount is in its minor units.
    pub currency: &'static str,
    pub brand_id: i64,
    pub job_id: Option<i64>,
    pub customer_id: i64,
    pub lines: Vec<InvoiceLineDto>,
    pub subtotal: i64,
    pub discount: i64,
    pub discount_label: String,
    pub taxes: Vec<InvoiceTaxDto>,
    pub tax_total: i64,
    pub total: i64,
    pub deposit_credit: i64,
    /// Payments less refunds.
    pub paid: i64,
    pub due: i64,
    pub note: String,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub viewed_at: Option<String>,
    pub paid_at: Option<String>,
    pub voided_at: Option<String>,
    pub void_reason: Option<String>,
    /// Present on `GET /invoices/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payments: Option<Vec<InvoicePaymentDto>>,
}

impl From<Invoice> for InvoiceDto {
    fn from(i: Invoice) -> Self {
        let t = &i.totals;
        InvoiceDto {
            id: i.id,
            number: i.number.clone(),
            kind: i.kind.as_str().to_string(),
            status: i.status.as_str().to_string(),
            currency: i.currency.code(),
            brand_id: i.brand_id.0,
            job_id: i.job_id.map(|j| j.0),
            customer_id: i.customer_id.0,
            lines: i
                .lines
                .iter()
                .map(|l| InvoiceLineDto {
                    description: l.description.clone(),
                    quantity_x100: l.quantity_x100,
                    unit_price: l.unit_price.minor,
                    taxable: l.taxable,
                    amount: l.amount().minor,
                })
                .collect(),
            subtotal: t.subtotal.minor,
            discount: t.discount.minor,
            discount_label: i.discount_label.clone(),
            taxes: t
                .taxes
                .iter()
                .map(|x| InvoiceTaxDto { name: x.name.clone(), rate_x1000: x.rate_x1000, amount: x.amount.minor })
                .collect(),
            tax_total: t.tax_total.minor,
            total: t.total.minor,
            deposit_credit: i.deposit_credit.minor,
            paid: i.paid.minor,
            due: i.due.minor,
            note: i.note.clone(),
            created_at: i.created_at.to_string(),
            sent_at: i.sent_at.map(|t| t.to_string()),
            viewed_at: i.viewed_at.map(|t| t.to_string()),
            paid_at: i.paid_at.map(|t| t.to_string()),
            voided_at: i.voided_at.map(|t| t.to_string()),
            void_reason: i.void_reason.clone(),
            payments: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceEnvelope {
    pub invoice: InvoiceDto,
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceList {
    pub invoices: Vec<InvoiceDto>,
    /// Pass as `offset` for the next 50; absent on the last page.
    pub next_offset: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoiceQuery {
    /// `draft`, `sent`, `viewed`, `partly_paid`, `paid`, `void` or `refunded`.
    pub status: Option<String>,
    pub customer_id: Option<i64>,
    /// How many to skip (50 a page, newest first).
    pub offset: Option<i64>,
}

#[utoipa::path(get, path = "/invoices", tag = "invoices", params(InvoiceQuery),
    responses((status = 200, body = InvoiceList), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(q): ApiQuery<InvoiceQuery>,
) -> Result<Json<InvoiceList>, ApiError> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => {
            Some(Status::parse(s).ok_or_else(|| Error::invalid("status", format!("\"{s}\" is not an invoice state")))?)
        }
        None => None,
    };
    let offset = q.offset.unwrap_or(0).max(0);
    let filter = billing::ListFilter { brands: vec![], status, customer: q.customer_id.map(CustomerId), offset };
    let rows = billing::list(&state.db, caller.org, &filter).await?;
    let more = rows.len() > 50;
    let mut invoices = Vec::new();
    for r in rows.into_iter().take(50) {
        invoices.push(billing::get(&state.db, caller.org, r.id).await?.into());
    }
    Ok(Json(InvoiceList { invoices, next_offset: more.then_some(offset + 50) }))
}

#[utoipa::path(get, path = "/invoices/{id}", tag = "invoices", params(("id" = i64, Path, description = "Invoice id")),
    responses((status = 200, body = InvoiceEnvelope), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
) -> Result<Json<InvoiceEnvelope>, ApiError> {
    let view = billing::view(&state.db, caller.org, id).await.map_err(|e| not_found_as(e, "invoice"))?;
    let payments = view
        .money
        .iter()
        .map(|m| InvoicePaymentDto {
            kind: m.kind.clone(),
            method: m.method.clone(),
            amount: m.amount,
            credit_number: m.credit_number.clone(),
            note: m.note.clone(),
            created_at: switchboard_core::clock::from_millis(m.created_at).to_string(),
        })
        .collect();
    let mut invoice: InvoiceDto = view.invoice.into();
    invoice.payments = Some(payments);
    Ok(Json(InvoiceEnvelope { invoice }))
}

#[utoipa::path(post, path = "/jobs/{id}/invoice", tag = "invoices", params(("id" = i64, Path, description = "Job id")),
    responses((status = 201, body = InvoiceEnvelope), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn draft(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(job): ApiId,
) -> Result<(axum::http::StatusCode, Json<InvoiceEnvelope>), ApiError> {
    let id = billing::draft_for_job(&state.db, state.clock.as_ref(), caller.org, "api", JobId(job))
        .await
        .map_err(|e| not_found_as(e, "job"))?;
    let invoice = billing::get(&state.db, caller.org, id).await?;
    Ok((axum::http::StatusCode::CREATED, Json(InvoiceEnvelope { invoice: invoice.into() })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    /// Text the customer a link to it (their mobile number, the brand's SMS number).
    #[serde(default)]
    pub text: bool,
    /// Email it to the customer.
    #[serde(default)]
    pub email: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SentEnvelope {
    pub invoice: InvoiceDto,
    /// "texted to (720) 555-0111 and emailed to dana@example.com".
    pub sent: String,
}

#[utoipa::path(post, path = "/invoices/{id}/send", tag = "invoices", params(("id" = i64, Path, description = "Invoice id")),
    request_body = SendBody,
    responses((status = 200, body = SentEnvelope), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn send(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<SendBody>,
) -> Result<Json<SentEnvelope>, ApiError> {
    let channels = Channels { text: body.text, email: body.email };
    let sent =
        billing::send(&state.db, state.clock.as_ref(), caller.org, "api", id, channels, &state.config.public_url)
            .await
            .map_err(|e| not_found_as(e, "invoice"))?;
    Ok(Json(SentEnvelope { invoice: sent.invoice.into(), sent: sent.how }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    /// In minor units; at most what is due.
    #[schema(minimum = 1, maximum = 100000000)]
    pub amount: i64,
    /// `cash`, `check`, `card` (on the office's own terminal), `transfer` or `other`.
    #[schema(schema_with = super::openapi::payment_method)]
    pub method: String,
    #[schema(max_length = 200)]
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/invoices/{id}/payments", tag = "invoices", params(("id" = i64, Path, description = "Invoice id")),
    request_body = PaymentBody,
    responses((status = 200, body = InvoiceEnvelope), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_payment(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<PaymentBody>,
) -> Result<Json<InvoiceEnvelope>, ApiError> {
    if !(1..=100_000_000).contains(&body.amount) {
        return Err(Error::invalid("amount", "from 1 to 100000000 (minor units)").into());
    }
    let input = billing::PaymentInput {
        amount: switchboard_core::money::Money::usd(body.amount).typed(),
        method: body.method,
        note: body.note.unwrap_or_default(),
    };
    let invoice = billing::record_payment(&state.db, state.clock.as_ref(), caller.org, "api", id, &input)
        .await
        .map_err(|e| not_found_as(e, "invoice"))?;
    Ok(Json(InvoiceEnvelope { invoice: invoice.into() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidBody {
    #[schema(min_length = 1, max_length = 300, pattern = r"\S")]
    pub reason: String,
}

#[utoipa::path(post, path = "/invoices/{id}/void", tag = "invoices", params(("id" = i64, Path, description = "Invoice id")),
    request_body = VoidBody,
    responses((status = 200, body = InvoiceEnvelope), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn void(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<VoidBody>,
) -> Result<Json<InvoiceEnvelope>, ApiError> {
    let invoice = billing::void(&state.db, state.clock.as_ref(), caller.org, "api", id, &body.reason)
        .await
        .map_err(|e| not_found_as(e, "invoice"))?;
    Ok(Json(InvoiceEnvelope { invoice: invoice.into() }))
}
