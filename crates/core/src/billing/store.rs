//! Billing's SQL, every query scoped to an organization.

use sqlx::FromRow;

use super::model::{Facts, Invoice, InvoiceKind, Line, Status, TaxRate, Totals};
use crate::clock::from_millis;
use crate::db::Tx;
use crate::ids::{BrandId, CustomerId, JobId, OrgId};
use crate::money::{Currency, Money};
use crate::{Error, Result};

/// A brand's billing settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub invoice_prefix: String,
    pub next_invoice_number: i64,
    pub credit_prefix: String,
    pub next_credit_number: i64,
    pub nudge_days: Vec<i64>,
    /// Printed at the foot of every invoice (payment terms, a licence number).
    pub footer: String,
    pub tax_rates: Vec<TaxRate>,
}

impl Settings {
    /// A brand that never saved its billing settings.
    pub fn defaults() -> Settings {
        Settings {
            invoice_prefix: "INV-".into(),
            next_invoice_number: 1001,
            credit_prefix: "CN-".into(),
            next_credit_number: 1001,
            nudge_days: vec![3, 7, 14],
            footer: String::new(),
            tax_rates: Vec::new(),
        }
    }
}

#[derive(FromRow)]
struct SettingsRow {
    invoice_prefix: String,
    next_invoice_number: i64,
    credit_prefix: String,
    next_credit_number: i64,
    nudge_days: String,
    footer: String,
}

pub async fn settings<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    exec: E,
    org: OrgId,
    brand: BrandId,
) -> Result<Option<Settings>> {
    let row: Option<SettingsRow> = sqlx::query_as(
        "select invoice_prefix, next_invoice_number, credit_prefix, next_credit_number, nudge_days, footer \
         from billing_settings where org_id = $1 and brand_id = $2",
    )
    .bind(org.0)
    .bind(brand.0)
    .fetch_optional(exec)
    .await?;
    Ok(row.map(|r| Settings {
        invoice_prefix: r.invoice_prefix,
        next_invoice_number: r.next_invoice_number,
        credit_prefix: r.credit_prefix,
        next_credit_number: r.next_credit_number,
        nudge_days: super::model::parse_nudge_days(&r.nudge_days).unwrap_or_default(),
        footer: r.footer,
        tax_rates: Vec::new(),
    }))
}

pub async fn tax_rates<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    exec: E,
    org: OrgId,
    brand: BrandId,
) -> Result<Vec<TaxRate>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "select name, rate_x1000 from tax_rates where org_id = $1 and brand_id = $2 order by position, id",
    )
    .bind(org.0)
    .bind(brand.0)
    .fetch_all(exec)
    .await?;
    Ok(rows.into_iter().map(|(name, rate_x1000)| TaxRate { name, rate_x1000 }).collect())
}

/// Writes a brand's settings (and replaces its tax rates) inside `tx`. The invoice counter only
/// moves forward (a form shown before an invoice was drafted cannot take its number back).
pub async fn save_settings_in(tx: &mut Tx, org: OrgId, brand: BrandId, s: &Settings, now: i64) -> Result<()> {
    ensure_settings_in(tx, org, brand, now).await?;
    sqlx::query(
        "update billing_settings set invoice_prefix = $3, credit_prefix = $4, nudge_days = $5, footer = $6, \
         next_invoice_number = case when $7 > next_invoice_number then $7 else next_invoice_number end, \
         updated_at = $8 where org_id = $1 and brand_id = $2",
    )
    .bind(org.0)
    .bind(brand.0)
    .bind(&s.invoice_prefix)
    .bind(&s.credit_prefix)
    .bind(super::model::format_nudge_days(&s.nudge_days))
    .bind(&s.footer)
    .bind(s.next_invoice_number)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query("delete from tax_rates where org_id = $1 and brand_id = $2")
        .bind(org.0)
        .bind(brand.0)
        .execute(&mut **tx)
        .await?;
    for (i, r) in s.tax_rates.iter().enumerate() {
        sqlx::query(
            "insert into tax_rates (org_id, brand_id, name, rate_x1000, position, created_at) \
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(org.0)
        .bind(brand.0)
        .bind(&r.name)
        .bind(r.rate_x1000)
        .bind(i as i64)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn ensure_settings_in(tx: &mut Tx, org: OrgId, brand: BrandId, now: i64) -> Result<()> {
    let d = Settings::defaults();
    sqlx::query(
        "insert into billing_settings (brand_id, org_id, invoice_prefix, next_invoice_number, credit_prefix, \
         next_credit_number, nudge_days, footer, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         on conflict (brand_id) do nothing",
    )
    .bind(brand.0)
    .bind(org.0)
    .bind(&d.invoice_prefix)
    .bind(d.next_invoice_number)
    .bind(&d.credit_prefix)
    .bind(d.next_credit_number)
    .bind(super::model::format_nudge_days(&d.nudge_days))
    .bind(&d.footer)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes the brand's next invoice number (`INV-1001`) inside `tx`.
pub async fn next_invoice_number_in(tx: &mut Tx, org: OrgId, brand: BrandId, now: i64) -> Result<String> {
    take_number_in(tx, org, brand, "invoice", now).await
}

/// Takes the brand's next credit note number (`CN-1001`) inside `tx`.
pub async fn next_credit_number_in(tx: &mut Tx, org: OrgId, brand: BrandId, now: i64) -> Result<String> {
    take_number_in(tx, org, brand, "credit", now).await
}

/// Takes the next number of the brand's `series` (`invoice` or `credit`): its prefix and
/// counter columns are `{series}_prefix` and `next_{series}_number`.
async fn take_number_in(tx: &mut Tx, org: OrgId, brand: BrandId, series: &'static str, now: i64) -> Result<String> {
    ensure_settings_in(tx, org, brand, now).await?;
    let sql = format!(
        "update billing_settings set next_{series}_number = next_{series}_number + 1 \
         where org_id = $1 and brand_id = $2 returning {series}_prefix, next_{series}_number"
    );
    let (prefix, next): (String, i64) =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(brand.0).fetch_one(&mut **tx).await?;
    Ok(format!("{prefix}{}", next - 1))
}

/// An invoice to insert.
pub struct NewInvoice<'a> {
    pub brand: BrandId,
    pub job: Option<JobId>,
    pub customer: CustomerId,
    pub number: &'a str,
    pub kind: InvoiceKind,
    pub currency: Currency,
    pub lines: &'a [Line],
    pub taxes: &'a [TaxRate],
    pub discount: Money,
    pub discount_label: &'a str,
    pub note: &'a str,
    pub replaces: Option<i64>,
}

/// Inserts a draft inside `tx` (its sums are set by [`refresh_in`]); returns its id.
pub async fn insert_in(tx: &mut Tx, org: OrgId, inv: &NewInvoice<'_>, now: i64) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "insert into invoices (org_id, brand_id, job_id, customer_id, number, kind, status, currency, subtotal, \
         discount, discount_label, tax_total, deposit_credit, total, paid, due, note, version, replaces_id, \
         created_at, updated_at) values ($1, $2, $3, $4, $5, $6, 'draft', $7, 0, $8, $9, 0, 0, 0, 0, 0, $10, 0, \
         $11, $12, $12) returning id",
    )
    .bind(org.0)
    .bind(inv.brand.0)
    .bind(inv.job.map(|j| j.0))
    .bind(inv.customer.0)
    .bind(inv.number)
    .bind(inv.kind.as_str())
    .bind(inv.currency.code())
    .bind(inv.discount.minor)
    .bind(inv.discount_label)
    .bind(inv.note)
    .bind(inv.replaces)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    replace_lines_in(tx, org, id, inv.lines).await?;
    for (i, t) in inv.taxes.iter().enumerate() {
        sqlx::query(
            "insert into invoice_taxes (org_id, invoice_id, position, name, rate_x1000, amount) \
             values ($1, $2, $3, $4, $5, 0)",
        )
        .bind(org.0)
        .bind(id)
        .bind(i as i64)
        .bind(&t.name)
        .bind(t.rate_x1000)
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

/// Replaces the invoice's lines inside `tx`.
pub async fn replace_lines_in(tx: &mut Tx, org: OrgId, id: i64, lines: &[Line]) -> Result<()> {
    sqlx::query("delete from invoice_lines where org_id = $1 and invoice_id = $2")
        .bind(org.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for (i, l) in lines.iter().enumerate() {
        sqlx::query(
            "insert into invoice_lines (org_id, invoice_id, position, description, quantity_x100, unit_price, \
             taxable, amount) values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(org.0)
        .bind(id)
        .bind(i as i64)
        .bind(&l.description)
        .bind(l.quantity_x100)
        .bind(l.unit_price.minor)
        .bind(l.taxable as i64)
        .bind(l.amount().minor)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Sets the discount and the note inside `tx`.
pub async fn set_terms_in(tx: &mut Tx, org: OrgId, id: i64, discount: Money, label: &str, note: &str) -> Result<()> {
    sqlx::query("update invoices set discount = $3, discount_label = $4, note = $5 where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id)
        .bind(discount.minor)
        .bind(label)
        .bind(note)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(FromRow)]
struct InvoiceRow {
    id: i64,
    org_id: i64,
    brand_id: i64,
    job_id: Option<i64>,
    customer_id: i64,
    number: String,
    kind: String,
    status: String,
    currency: String,
    discount: i64,
    discount_label: String,
    deposit_credit: i64,
    paid: i64,
    due: i64,
    note: String,
    version: i64,
    replaces_id: Option<i64>,
    created_at: i64,
    sent_at: Option<i64>,
    viewed_at: Option<i64>,
    paid_at: Option<i64>,
    voided_at: Option<i64>,
    void_reason: Option<String>,
}

const INVOICE_COLUMNS: &str = "id, org_id, brand_id, job_id, customer_id, number, kind, status, currency, discount, \
     discount_label, deposit_credit, paid, due, note, version, replaces_id, created_at, sent_at, viewed_at, paid_at, \
     voided_at, void_reason";

#[derive(FromRow)]
struct LineRow {
    description: String,
    quantity_x100: i64,
    unit_price: i64,
    taxable: i64,
}

async fn assemble(tx: &mut sqlx::AnyConnection, r: InvoiceRow) -> Result<Invoice> {
    let bad = |what: &str| Error::Unexpected(format!("invoice {}: {what}", r.id));
    let currency = Currency::parse(&r.currency).map_err(|e| bad(&e))?;
    let lines: Vec<LineRow> = sqlx::query_as(
        "select description, quantity_x100, unit_price, taxable from invoice_lines \
         where org_id = $1 and invoice_id = $2 order by position",
    )
    .bind(r.org_id)
    .bind(r.id)
    .fetch_all(&mut *tx)
    .await?;
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|l| Line {
            description: l.description,
            quantity_x100: l.quantity_x100,
            unit_price: Money::new(l.unit_price, currency),
            taxable: l.taxable != 0,
        })
        .collect();
    let rates: Vec<(String, i64)> = sqlx::query_as(
        "select name, rate_x1000 from invoice_taxes where org_id = $1 and invoice_id = $2 order by position",
    )
    .bind(r.org_id)
    .bind(r.id)
    .fetch_all(&mut *tx)
    .await?;
    let rates: Vec<TaxRate> = rates.into_iter().map(|(name, rate_x1000)| TaxRate { name, rate_x1000 }).collect();
    let totals = Totals::of(&lines, Money::new(r.discount, currency), &rates);
    Ok(Invoice {
        id: r.id,
        org_id: OrgId(r.org_id),
        brand_id: BrandId(r.brand_id),
        job_id: r.job_id.map(JobId),
        customer_id: CustomerId(r.customer_id),
        kind: InvoiceKind::parse(&r.kind).ok_or_else(|| bad("unknown kind"))?,
        status: Status::parse(&r.status).ok_or_else(|| bad("unknown status"))?,
        number: r.number,
        currency,
        lines,
        discount_label: r.discount_label,
        totals,
        deposit_credit: Money::new(r.deposit_credit, currency),
        paid: Money::new(r.paid, currency),
        due: Money::new(r.due, currency),
        note: r.note,
        version: r.version,
        replaces_id: r.replaces_id,
        created_at: from_millis(r.created_at),
        sent_at: r.sent_at.map(from_millis),
        viewed_at: r.viewed_at.map(from_millis),
        paid_at: r.paid_at.map(from_millis),
        voided_at: r.voided_at.map(from_millis),
        void_reason: r.void_reason,
    })
}

/// One invoice of the organization.
pub async fn get(conn: &mut sqlx::AnyConnection, org: OrgId, id: i64) -> Result<Invoice> {
    let row: Option<InvoiceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {INVOICE_COLUMNS} from invoices where org_id = $1 and id = $2"
    )))
    .bind(org.0)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    assemble(conn, row.ok_or(Error::NotFound)?).await
}

/// Locks the invoice's row for the rest of `tx` and reads it.
pub async fn lock_in(tx: &mut Tx, org: OrgId, id: i64) -> Result<Invoice> {
    let done = sqlx::query("update invoices set version = version where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    get(tx, org, id).await
}

/// The invoices of a job, newest first.
pub async fn ids_for_job(conn: &mut sqlx::AnyConnection, org: OrgId, job: JobId) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("select id from invoices where org_id = $1 and job_id = $2 order by id desc")
            .bind(org.0)
            .bind(job.0)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Payments less refunds, and refunds, on the invoice.
async fn money_in(tx: &mut Tx, org: OrgId, id: i64) -> Result<(i64, i64)> {
    let (paid, refunded): (i64, i64) = sqlx::query_as(
        "select cast(coalesce(sum(case when kind = 'payment' then amount else 0 end), 0) as bigint), \
         cast(coalesce(sum(case when kind = 'refund' then amount else 0 end), 0) as bigint) \
         from invoice_payments where org_id = $1 and invoice_id = $2",
    )
    .bind(org.0)
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    Ok((paid - refunded, refunded))
}

/// What the job's deposits brought in (payments less refunds), for its final invoice.
async fn deposits_in(tx: &mut Tx, org: OrgId, job: JobId) -> Result<i64> {
    let (sum,): (i64,) = sqlx::query_as(
        "select cast(coalesce(sum(case when p.kind = 'payment' then p.amount else -p.amount end), 0) as bigint) \
         from invoice_payments p join invoices i on i.id = p.invoice_id \
         where p.org_id = $1 and i.org_id = $1 and i.job_id = $2 and i.kind = 'deposit' and i.status <> 'void'",
    )
    .bind(org.0)
    .bind(job.0)
    .fetch_one(&mut **tx)
    .await?;
    Ok(sum.max(0))
}

/// What [`refresh_in`] found: the invoice before and after.
pub struct Refreshed {
    pub before: Status,
    pub invoice: Invoice,
}

/// What an invoice's change touched, for [`refresh_in`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Marks {
    pub sent: bool,
    pub viewed: bool,
    pub voided: bool,
}

/// Recomputes the invoice's sums, due and status inside `tx` from its lines, taxes, discount,
/// deposits and money, records `marks`, and moves its version on. The row must be locked. For
/// an invoice whose lines, discount and taxes just changed.
pub async fn refresh_in(tx: &mut Tx, org: OrgId, id: i64, marks: Marks, now: i64) -> Result<Refreshed> {
    let before = get(tx, org, id).await?;
    refresh_from_in(tx, &before, marks, true, now).await
}

/// [`refresh_in`] for the locked invoice `before` as read under the lock, when only money or
/// marks changed (its lines and taxes are as read): one read less each side.
pub async fn refresh_money_in(tx: &mut Tx, before: &Invoice, marks: Marks, now: i64) -> Result<Refreshed> {
    refresh_from_in(tx, before, marks, false, now).await
}

async fn refresh_from_in(
    tx: &mut Tx,
    before: &Invoice,
    marks: Marks,
    lines_changed: bool,
    now: i64,
) -> Result<Refreshed> {
    let (org, id) = (before.org_id, before.id);
    let (net_paid, refunded) = money_in(tx, org, id).await?;
    let deposit_credit = match (before.kind, before.job_id) {
        (InvoiceKind::Invoice, Some(job)) => deposits_in(tx, org, job).await?,
        _ => 0,
    };
    let t = &before.totals;
    let due = super::model::due(t.total.minor, deposit_credit, net_paid);
    let at = |set: bool, was: Option<jiff::Timestamp>| was.or(set.then(|| from_millis(now)));
    let sent_at = at(marks.sent, before.sent_at);
    let viewed_at = at(marks.viewed, before.viewed_at);
    let voided_at = at(marks.voided, before.voided_at);
    let facts = Facts {
        sent: sent_at.is_some(),
        viewed: viewed_at.is_some(),
        voided: voided_at.is_some(),
        total: t.total.minor,
        deposit_credit,
        net_paid,
        refunded,
        due,
    };
    let status = Status::derive(&facts);
    let paid_at = match status {
        Status::Paid => before.paid_at.or(Some(from_millis(now))),
        _ => None,
    };
    let opt = |t: Option<jiff::Timestamp>| t.map(crate::clock::to_millis);
    let updated = sqlx::query(
        "update invoices set subtotal = $3, tax_total = $4, total = $5, deposit_credit = $6, paid = $7, due = $8, \
         status = $9, paid_at = $10, version = version + 1, updated_at = $11, sent_at = $12, viewed_at = $13, \
         voided_at = $14 where org_id = $1 and id = $2 and version = $15",
    )
    .bind(org.0)
    .bind(id)
    .bind(t.subtotal.minor)
    .bind(t.tax_total.minor)
    .bind(t.total.minor)
    .bind(deposit_credit)
    .bind(net_paid)
    .bind(due)
    .bind(status.as_str())
    .bind(opt(paid_at))
    .bind(now)
    .bind(opt(sent_at))
    .bind(opt(viewed_at))
    .bind(opt(voided_at))
    .bind(before.version)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(Error::Conflict(format!("{} changed meanwhile; try again", before.number)));
    }
    if lines_changed {
        for (i, tax) in t.taxes.iter().enumerate() {
            sqlx::query("update invoice_taxes set amount = $4 where org_id = $1 and invoice_id = $2 and position = $3")
                .bind(org.0)
                .bind(id)
                .bind(i as i64)
                .bind(tax.amount.minor)
                .execute(&mut **tx)
                .await?;
        }
    }
    let invoice = Invoice {
        status,
        deposit_credit: Money::new(deposit_credit, before.currency),
        paid: Money::new(net_paid, before.currency),
        due: Money::new(due, before.currency),
        version: before.version + 1,
        sent_at,
        viewed_at,
        voided_at,
        paid_at,
        ..before.clone()
    };
    Ok(Refreshed { before: before.status, invoice })
}

/// Sets the void reason inside `tx` (with [`Marks::voided`] in the same change).
pub async fn set_void_reason_in(tx: &mut Tx, org: OrgId, id: i64, reason: &str) -> Result<()> {
    sqlx::query("update invoices set void_reason = $3 where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id)
        .bind(reason)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Adds a line to the invoice's timeline inside `tx`.
pub async fn event_in(tx: &mut Tx, org: OrgId, id: i64, actor: &str, what: &str, now: i64) -> Result<()> {
    sqlx::query("insert into invoice_events (org_id, invoice_id, actor, what, created_at) values ($1, $2, $3, $4, $5)")
        .bind(org.0)
        .bind(id)
        .bind(actor)
        .bind(what)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An invoice's timeline, oldest first: (when, who, what).
pub async fn events(conn: &mut sqlx::AnyConnection, org: OrgId, id: i64) -> Result<Vec<(i64, String, String)>> {
    Ok(sqlx::query_as(
        "select created_at, actor, what from invoice_events where org_id = $1 and invoice_id = $2 order by id",
    )
    .bind(org.0)
    .bind(id)
    .fetch_all(conn)
    .await?)
}

/// Money in or out to record.
pub struct NewMoney<'a> {
    pub kind: &'a str,
    pub method: &'a str,
    pub amount: i64,
    pub reference: Option<&'a str>,
    pub payment_intent: Option<&'a str>,
    pub credit_number: Option<&'a str>,
    pub note: &'a str,
    pub actor: &'a str,
}

/// Records a payment or a refund inside `tx`; `false` when one with the same reference was
/// recorded before (a provider's event delivered twice).
pub async fn insert_money_in(tx: &mut Tx, org: OrgId, invoice: i64, m: &NewMoney<'_>, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "insert into invoice_payments (org_id, invoice_id, kind, method, amount, reference, payment_intent, \
         credit_number, note, actor, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         on conflict (org_id, reference) where reference is not null do nothing",
    )
    .bind(org.0)
    .bind(invoice)
    .bind(m.kind)
    .bind(m.method)
    .bind(m.amount)
    .bind(m.reference)
    .bind(m.payment_intent)
    .bind(m.credit_number)
    .bind(m.note)
    .bind(m.actor)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A payment or refund on an invoice.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct MoneyRow {
    pub id: i64,
    pub kind: String,
    pub method: String,
    pub amount: i64,
    pub reference: Option<String>,
    pub payment_intent: Option<String>,
    pub credit_number: Option<String>,
    pub note: String,
    pub actor: String,
    pub created_at: i64,
}

pub async fn money(conn: &mut sqlx::AnyConnection, org: OrgId, invoice: i64) -> Result<Vec<MoneyRow>> {
    Ok(sqlx::query_as(
        "select id, kind, method, amount, reference, payment_intent, credit_number, note, actor, created_at \
         from invoice_payments where org_id = $1 and invoice_id = $2 order by created_at, id",
    )
    .bind(org.0)
    .bind(invoice)
    .fetch_all(conn)
    .await?)
}

/// An invoice as the Invoices list shows it.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct ListRow {
    pub id: i64,
    pub brand_id: i64,
    pub number: String,
    pub kind: String,
    pub status: String,
    pub currency: String,
    pub total: i64,
    pub due: i64,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub customer_id: i64,
    pub customer_name: String,
    pub job_id: Option<i64>,
    pub job_code: Option<String>,
}

/// The organization's invoices of `brands` (all when empty), newest first, in `status` (all
/// when none); at most `limit` from `offset`.
pub async fn list(
    pool: &sqlx::AnyPool,
    org: OrgId,
    brands: &[i64],
    status: Option<&str>,
    customer: Option<CustomerId>,
    limit: i64,
    offset: i64,
) -> Result<Vec<ListRow>> {
    let mut sql = String::from(
        "select i.id, i.brand_id, i.number, i.kind, i.status, i.currency, i.total, i.due, i.created_at, i.sent_at, \
         i.customer_id, c.name as customer_name, i.job_id, j.code as job_code \
         from invoices i join customers c on c.id = i.customer_id and c.org_id = i.org_id \
         left join jobs j on j.id = i.job_id and j.org_id = i.org_id where i.org_id = $1",
    );
    let mut n = 1;
    if !brands.is_empty() {
        let ids: Vec<String> = brands.iter().map(|b| b.to_string()).collect();
        sql.push_str(&format!(" and i.brand_id in ({})", ids.join(", ")));
    }
    if status.is_some() {
        n += 1;
        sql.push_str(&format!(" and i.status = ${n}"));
    }
    if customer.is_some() {
        n += 1;
        sql.push_str(&format!(" and i.customer_id = ${n}"));
    }
    sql.push_str(&format!(" order by i.id desc limit {limit} offset {offset}"));
    let mut q = sqlx::query_as::<_, ListRow>(sqlx::AssertSqlSafe(sql)).bind(org.0);
    if let Some(s) = status {
        q = q.bind(s.to_string());
    }
    if let Some(c) = customer {
        q = q.bind(c.0);
    }
    Ok(q.fetch_all(pool).await?)
}

/// What the customer owes on their sent invoices (minor units).
pub async fn owed_by(pool: &sqlx::AnyPool, org: OrgId, customer: CustomerId) -> Result<i64> {
    let (sum,): (i64,) = sqlx::query_as(
        "select cast(coalesce(sum(due), 0) as bigint) from invoices where org_id = $1 and customer_id = $2 \
         and status in ('sent', 'viewed', 'partly_paid', 'refunded')",
    )
    .bind(org.0)
    .bind(customer.0)
    .fetch_one(pool)
    .await?;
    Ok(sum)
}

/// What is owed on sent invoices of each brand, by age (see [`super::model::aging_bucket`]):
/// (brand, sent_at, due) of every invoice still owed.
pub async fn owed(pool: &sqlx::AnyPool, org: OrgId) -> Result<Vec<(i64, i64, i64)>> {
    Ok(sqlx::query_as(
        "select brand_id, sent_at, due from invoices where org_id = $1 \
         and status in ('sent', 'viewed', 'partly_paid', 'refunded') and due > 0 and sent_at is not null",
    )
    .bind(org.0)
    .fetch_all(pool)
    .await?)
}
