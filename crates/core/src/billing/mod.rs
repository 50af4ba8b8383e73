//! Invoices and payment (C11). When a job reaches Pending close, an invoice is drafted from the
//! line items its technicians captured ([`Drafts`], a listener of job changes); the office
//! edits it and sends it by text and/or email with a link to the customer's invoice page
//! (scope `invoice`), where the customer pays through a Stripe Checkout Session ([`pay`]).
//! Payments come back as Stripe's events (or are recorded by the office: cash, check); when
//! nothing is due the job closes. Unpaid invoices are nudged on the brand's schedule
//! ([`NudgeInvoice`] items, grouped by invoice and cancelled the moment it is settled or void).
//!
//! Billing sits above jobs, customers, messaging and notifications: it reads them and queues
//! through them; none of them knows it exists.

pub mod document;
pub mod model;
pub mod pay;
pub mod store;

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

pub use model::{Invoice, InvoiceKind, Line, Status, TaxLine, TaxRate, Totals};
pub use store::{MoneyRow, Settings};

use crate::clock::{Clock, from_millis, to_millis};
use crate::db::{Db, Event, Tx};
use crate::engine::{self, BoxFuture, Listener, NewWork, Outcome, WorkContext, WorkItem, Worker, Workers};
use crate::error::Validator;
use crate::ids::{JobId, OrgId};
use crate::jobs::JobStatus;
use crate::jobs::changes::JobChanged;
use crate::money::{Currency, Money};
use crate::notifications::{Kind, Template};
use crate::{Error, Result};

/// Registers billing's work: drafting at Pending close, unpaid-invoice nudges, and ending
/// retired payment pages at the payment service.
pub fn register(
    workers: &mut Workers,
    base_url: String,
    payments: Option<Arc<dyn crate::providers::stripe::PaymentProvider>>,
) {
    workers.listen(Drafts);
    workers.add(Nudger { base_url });
    workers.add(pay::Expirer { payments });
}

/// The engine group of an invoice's pending nudges.
pub fn nudge_group(invoice: i64) -> String {
    crate::notifications::send::invoice_group(invoice)
}

/// A brand's billing settings with its tax rates (the defaults until saved).
pub async fn settings(db: &Db, org: OrgId, brand: crate::ids::BrandId) -> Result<Settings> {
    let mut s = store::settings(db.pool(), org, brand).await?.unwrap_or_else(Settings::defaults);
    s.tax_rates = store::tax_rates(db.pool(), org, brand).await?;
    Ok(s)
}

/// Billing settings as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SettingsInput {
    pub invoice_prefix: String,
    pub next_invoice_number: String,
    pub credit_prefix: String,
    pub nudge_days: String,
    pub footer: String,
    /// One per line: "Sales tax 8.25" (a name, then the rate).
    pub tax_rates: String,
}

fn check_prefix(v: &mut Validator, field: &'static str, s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 12 || !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '_' | '.')) {
        v.add(field, "up to 12 letters, digits and - / _ .");
    }
    s.to_string()
}

/// Parses "Sales tax 8.25" lines (or "Sales tax: 8.25%").
fn parse_tax_lines(s: &str) -> std::result::Result<Vec<TaxRate>, String> {
    let mut rates = Vec::new();
    for line in s.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, rate) = line
            .rsplit_once([' ', ':', '\t'])
            .ok_or_else(|| format!("\"{line}\": write a name, then the rate (Sales tax 8.25)"))?;
        let name = name.trim().trim_end_matches(':').trim();
        if name.is_empty() {
            return Err(format!("\"{line}\": the tax needs a name (Sales tax 8.25)"));
        }
        if name.chars().count() > 40 {
            return Err(format!("\"{name}\": a tax name is at most 40 characters"));
        }
        let rate_x1000 = TaxRate::parse_rate(rate).map_err(|e| format!("{name}: {e}"))?;
        rates.push(TaxRate { name: name.to_string(), rate_x1000 });
    }
    if rates.len() > 5 {
        return Err("at most 5 tax rates".into());
    }
    Ok(rates)
}

/// Writes a brand's billing settings inside `tx` as given (demo data; people go through
/// [`save_settings`], which checks them).
pub async fn save_settings_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    brand: crate::ids::BrandId,
    s: &Settings,
) -> Result<()> {
    store::save_settings_in(tx, org, brand, s, to_millis(clock.now())).await
}

/// Saves a brand's billing settings; every field is checked first, nothing is half-saved.
pub async fn save_settings(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    brand: crate::ids::BrandId,
    input: &SettingsInput,
) -> Result<Settings> {
    crate::tenancy::brand(db, org, brand).await?;
    let mut v = Validator::new();
    let invoice_prefix = check_prefix(&mut v, "invoice_prefix", &input.invoice_prefix);
    let credit_prefix = check_prefix(&mut v, "credit_prefix", &input.credit_prefix);
    let current = settings(db, org, brand).await?;
    let next_invoice_number = match input.next_invoice_number.trim().parse::<i64>() {
        Ok(n) if n < current.next_invoice_number && (1..=999_999_999).contains(&n) => {
            v.add(
                "next_invoice_number",
                format!(
                    "numbers only move forward: the next is {}{} (start a new series with a new prefix)",
                    current.invoice_prefix, current.next_invoice_number
                ),
            );
            0
        }
        Ok(n) if (1..=999_999_999).contains(&n) => n,
        _ => {
            v.add("next_invoice_number", "a whole number like 1001");
            0
        }
    };
    let nudge_days = model::parse_nudge_days(&input.nudge_days).unwrap_or_else(|e| {
        v.add("nudge_days", e);
        Vec::new()
    });
    let tax_rates = parse_tax_lines(&input.tax_rates).unwrap_or_else(|e| {
        v.add("tax_rates", e);
        Vec::new()
    });
    if input.footer.chars().count() > 500 {
        v.add("footer", "at most 500 characters");
    }
    v.finish()?;
    let s = Settings {
        invoice_prefix,
        next_invoice_number,
        credit_prefix,
        next_credit_number: current.next_credit_number,
        nudge_days,
        footer: input.footer.trim().to_string(),
        tax_rates,
    };
    let mut tx = db.begin().await?;
    store::save_settings_in(&mut tx, org, brand, &s, to_millis(clock.now())).await?;
    tx.commit().await?;
    settings(db, org, brand).await
}

/// Reacts to job changes: a job that reached Pending close gets its invoice drafted from its
/// line items, unless it has one already (reopened and finished again: the office keeps the
/// one it has).
#[derive(Clone, Copy, Debug)]
pub struct Drafts;

impl Listener for Drafts {
    type Event = JobChanged;
    fn react(&self, ctx: WorkContext, item: WorkItem, event: Arc<JobChanged>) -> BoxFuture<Result<()>> {
        Box::pin(async move {
            let Some(org) = item.org_id else { return Ok(()) };
            if !event.moved_to(JobStatus::PendingClose) {
                return Ok(());
            }
            match draft_for_job(&ctx.db, ctx.clock.as_ref(), org, "system", event.job_id).await {
                Ok(_) | Err(Error::Conflict(_)) => {}
                Err(Error::NotFound) => return Ok(()),
                Err(e) => return Err(e),
            }
            // Paid already (before the work was done, or a deposit covering it all): it closes.
            close_job_if_paid(&ctx.db, ctx.clock.as_ref(), org, event.job_id).await
        })
    }
}

/// Drafts the job's invoice from its line items, with the brand's tax rates (taxable lines
/// only). A job that already has an invoice that is not void is a `Conflict` naming it.
pub async fn draft_for_job(db: &Db, clock: &dyn Clock, org: OrgId, actor: &str, job: JobId) -> Result<i64> {
    let mut tx = db.begin().await?;
    let id = draft_in(&mut tx, clock, org, actor, job).await?;
    tx.commit().await?;
    db.publish(Event::Job { org, job });
    Ok(id)
}

/// [`draft_for_job`] inside the caller's transaction.
pub async fn draft_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, actor: &str, job: JobId) -> Result<i64> {
    let now = to_millis(clock.now());
    let j = crate::jobs::get_in(tx, org, job).await?;
    if let Some(existing) = open_invoice_in(tx, org, job, InvoiceKind::Invoice).await? {
        return Err(Error::Conflict(format!("{} already has invoice {}", j.code, existing.number)));
    }
    let items = crate::jobs::line_items_in(tx, org, job).await?;
    let currency = items.first().map(|i| i.unit_price.currency).unwrap_or(Currency::Usd);
    let lines: Vec<Line> = items
        .iter()
        .map(|i| Line {
            description: i.description.clone(),
            quantity_x100: i.quantity_x100,
            unit_price: i.unit_price,
            taxable: i.taxable,
        })
        .collect();
    let rates = store::tax_rates(&mut **tx, org, j.brand_id).await?;
    let number = store::next_invoice_number_in(tx, org, j.brand_id, now).await?;
    let new = store::NewInvoice {
        brand: j.brand_id,
        job: Some(job),
        customer: j.customer_id,
        number: &number,
        kind: InvoiceKind::Invoice,
        currency,
        lines: &lines,
        taxes: &rates,
        discount: Money::zero(currency),
        discount_label: "",
        note: "",
        replaces: None,
    };
    let id = store::insert_in(tx, org, &new, now).await?;
    let inv = store::refresh_in(tx, org, id, store::Marks::default(), now).await?.invoice;
    let what = match lines.len() {
        0 => format!("Drafted for {} (no line items yet)", j.code),
        1 => format!("Drafted from {}'s line item", j.code),
        n => format!("Drafted from {}'s {n} line items", j.code),
    };
    store::event_in(tx, org, id, actor, &what, now).await?;
    let note = format!("Invoice {number} drafted ({})", inv.totals.total);
    crate::jobs::note_in(tx, org, job, &note, now).await?;
    Ok(id)
}

/// The job's invoice of `kind` that is not void, if one.
async fn open_invoice_in(tx: &mut Tx, org: OrgId, job: JobId, kind: InvoiceKind) -> Result<Option<Invoice>> {
    for id in store::ids_for_job(tx, org, job).await? {
        let inv = store::get(tx, org, id).await?;
        if inv.kind == kind && inv.status != Status::Void {
            return Ok(Some(inv));
        }
    }
    Ok(None)
}

/// Asks for a deposit on the job before the work: an invoice of one line for `amount`, to
/// send like any other. What it brings in is credited on the job's final invoice.
pub async fn request_deposit(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    actor: &str,
    job: JobId,
    amount: &str,
) -> Result<i64> {
    let amount = Money::parse_price(amount, Currency::Usd).map_err(|e| Error::invalid("amount", e))?;
    if amount.minor == 0 {
        return Err(Error::invalid("amount", "the deposit must be more than zero"));
    }
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    let j = crate::jobs::get_in(&mut tx, org, job).await?;
    if !j.status.is_open() {
        return Err(Error::Conflict(format!(
            "{} is {}: a deposit is asked before the work",
            j.code,
            j.status.label().to_lowercase()
        )));
    }
    if let Some(existing) = open_invoice_in(&mut tx, org, job, InvoiceKind::Deposit).await? {
        return Err(Error::Conflict(format!("{} already has deposit invoice {}", j.code, existing.number)));
    }
    let lines = [Line {
        description: format!("Deposit for {} ({})", j.service, j.code),
        quantity_x100: 100,
        unit_price: amount,
        taxable: false,
    }];
    let number = store::next_invoice_number_in(&mut tx, org, j.brand_id, now).await?;
    let new = store::NewInvoice {
        brand: j.brand_id,
        job: Some(job),
        customer: j.customer_id,
        number: &number,
        kind: InvoiceKind::Deposit,
        currency: amount.currency,
        lines: &lines,
        taxes: &[],
        discount: Money::zero(amount.currency),
        discount_label: "",
        note: "",
        replaces: None,
    };
    let id = store::insert_in(&mut tx, org, &new, now).await?;
    store::refresh_in(&mut tx, org, id, store::Marks::default(), now).await?;
    store::event_in(&mut tx, org, id, actor, &format!("Deposit of {amount} asked for {}", j.code), now).await?;
    crate::jobs::note_in(&mut tx, org, job, &format!("Deposit invoice {number} drafted ({amount})"), now).await?;
    tx.commit().await?;
    db.publish(Event::Job { org, job });
    Ok(id)
}

/// An invoice with what the pages show beside it.
#[derive(Debug, Clone)]
pub struct InvoiceView {
    pub invoice: Invoice,
    pub brand: crate::tenancy::Brand,
    pub customer: crate::customers::Customer,
    pub job: Option<crate::jobs::JobSummary>,
    pub money: Vec<MoneyRow>,
    /// (when, who, what), oldest first.
    pub events: Vec<(Timestamp, String, String)>,
    pub footer: String,
}

/// One invoice of the organization.
pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<Invoice> {
    let mut conn = db.pool().acquire().await?;
    store::get(&mut conn, org, id).await
}

/// One invoice with its brand, customer, job, money and timeline.
pub async fn view(db: &Db, org: OrgId, id: i64) -> Result<InvoiceView> {
    let (invoice, money, events) = {
        let mut conn = db.pool().acquire().await?;
        let invoice = store::get(&mut conn, org, id).await?;
        let money = store::money(&mut conn, org, id).await?;
        let events = store::events(&mut conn, org, id).await?;
        (invoice, money, events)
    };
    let brand = crate::tenancy::brand(db, org, invoice.brand_id).await?;
    let customer = crate::customers::get(db, org, invoice.customer_id).await?;
    let job = match invoice.job_id {
        Some(j) => Some(crate::jobs::get(db, org, j).await?),
        None => None,
    };
    let footer = store::settings(db.pool(), org, invoice.brand_id).await?.map(|s| s.footer).unwrap_or_default();
    Ok(InvoiceView {
        invoice,
        brand,
        customer,
        job,
        money,
        events: events.into_iter().map(|(at, who, what)| (from_millis(at), who, what)).collect(),
        footer,
    })
}

/// The job's invoices, newest first.
pub async fn for_job(db: &Db, org: OrgId, job: JobId) -> Result<Vec<Invoice>> {
    let mut conn = db.pool().acquire().await?;
    let ids = store::ids_for_job(&mut conn, org, job).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(store::get(&mut conn, org, id).await?);
    }
    Ok(out)
}

/// A line as typed into the invoice form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct LineInput {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    #[serde(default)]
    pub taxable: Option<String>,
}

/// Checks a typed line.
pub fn parse_line(input: &LineInput, currency: Currency) -> Result<Line> {
    let mut v = Validator::new();
    let description = input.description.trim();
    if description.is_empty() {
        v.add("description", "say what the line is for");
    } else if description.chars().count() > 200 {
        v.add("description", "at most 200 characters");
    }
    let quantity =
        if input.quantity.trim().is_empty() { Ok(100) } else { crate::jobs::parse_quantity(&input.quantity) };
    let quantity = quantity.unwrap_or_else(|e| {
        v.add("quantity", e);
        0
    });
    let unit_price = Money::parse_price(&input.unit_price, currency).unwrap_or_else(|e| {
        v.add("unit_price", e);
        Money::zero(currency)
    });
    v.finish()?;
    let taxable = input.taxable.as_deref().is_some_and(|t| matches!(t, "on" | "true" | "1" | "yes"));
    Ok(Line { description: description.to_string(), quantity_x100: quantity, unit_price, taxable })
}

/// Locks an invoice the office may still change: not void, nothing paid on it.
async fn lock_editable(tx: &mut Tx, org: OrgId, id: i64) -> Result<Invoice> {
    let inv = store::lock_in(tx, org, id).await?;
    if inv.status == Status::Void {
        return Err(Error::Conflict(format!("{} is void; re-issue it to make changes", inv.number)));
    }
    if inv.paid.minor != 0 || inv.status == Status::Refunded || inv.status == Status::Paid {
        return Err(Error::Conflict(format!(
            "{} has payments on it; void and re-issue it (after a refund) to change it",
            inv.number
        )));
    }
    Ok(inv)
}

/// What an edit did, written to the invoice's timeline and published.
async fn finish_edit(
    db: &Db,
    clock: &dyn Clock,
    mut tx: Tx,
    inv: &Invoice,
    actor: &str,
    what: &str,
    now: i64,
) -> Result<Invoice> {
    let after = store::refresh_in(&mut tx, inv.org_id, inv.id, store::Marks::default(), now).await?.invoice;
    store::event_in(&mut tx, inv.org_id, inv.id, actor, what, now).await?;
    // A payment page opened before the change must not take the old amount.
    pay::retire_sessions_in(&mut tx, clock, inv.org_id, inv.id).await?;
    // Lines taken off a job whose deposit covers the rest: nothing is due, the job closes.
    close_if_paid_in(&mut tx, clock, &after, actor).await?;
    tx.commit().await?;
    if let Some(job) = inv.job_id {
        db.publish(Event::Job { org: inv.org_id, job });
    }
    Ok(after)
}

/// Adds a line to an invoice the office may still change.
pub async fn add_line(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    actor: &str,
    id: i64,
    input: &LineInput,
) -> Result<Invoice> {
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    let inv = lock_editable(&mut tx, org, id).await?;
    let line = parse_line(input, inv.currency)?;
    if inv.lines.len() >= 100 {
        return Err(Error::invalid("description", "an invoice has at most 100 lines"));
    }
    let what = format!("Added {} ({})", line.description, line.amount());
    let mut lines = inv.lines.clone();
    lines.push(line);
    store::replace_lines_in(&mut tx, org, id, &lines).await?;
    finish_edit(db, clock, tx, &inv, actor, &what, now).await
}

/// Removes the invoice's line at `index` (0-based). `version` is the invoice's version the page
/// showed: a page older than a change since (its line numbers may point elsewhere now) is
/// refused.
pub async fn remove_line(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    actor: &str,
    id: i64,
    index: usize,
    version: Option<i64>,
) -> Result<Invoice> {
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    let inv = lock_editable(&mut tx, org, id).await?;
    if version.is_some_and(|v| v != inv.version) {
        return Err(Error::Conflict(format!(
            "{} changed since this page was loaded: check its lines and try again",
            inv.number
        )));
    }
    if index >= inv.lines.len() {
        return Err(Error::NotFound);
    }
    let mut lines = inv.lines.clone();
    let gone = lines.remove(index);
    store::replace_lines_in(&mut tx, org, id, &lines).await?;
    finish_edit(db, clock, tx, &inv, actor, &format!("Removed {}", gone.description), now).await
}

/// The discount and the note as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TermsInput {
    pub discount: String,
    #[serde(default)]
    pub discount_label: String,
    #[serde(default)]
    pub note: String,
}

/// Sets the discount (an amount off, before tax) and the note printed on the invoice.
pub async fn set_terms(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    actor: &str,
    id: i64,
    input: &TermsInput,
) -> Result<Invoice> {
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    let inv = lock_editable(&mut tx, org, id).await?;
    let mut v = Validator::new();
    let discount = if input.discount.trim().is_empty() {
        Money::zero(inv.currency)
    } else {
        Money::parse_price(&input.discount, inv.currency).unwrap_or_else(|e| {
            v.add("discount", e);
            Money::zero(inv.currency)
        })
    };
    if discount.minor > inv.totals.subtotal.minor {
        v.add("discount", format!("the discount cannot be more than the subtotal ({})", inv.totals.subtotal));
    }
    let label = input.discount_label.trim();
    if label.chars().count() > 60 {
        v.add("discount_label", "at most 60 characters");
    }
    let note = input.note.trim();
    if note.chars().count() > 1000 {
        v.add("note", "at most 1,000 characters");
    }
    v.finish()?;
    store::set_terms_in(&mut tx, org, id, discount, label, note).await?;
    let what = if discount.minor > 0 { format!("Discount set to {discount}") } else { "Terms updated".to_string() };
    finish_edit(db, clock, tx, &inv, actor, &what, now).await
}

/// Where an invoice goes when the office sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Channels {
    pub text: bool,
    pub email: bool,
}

/// What sending did.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub invoice: Invoice,
    /// "texted to (555) 010-1234 and emailed to dana@example.com".
    pub how: String,
}

/// Sends the invoice to its customer by text and/or email with a link to their invoice page,
/// with the brand's Invoice templates, and schedules its nudges. A channel that cannot reach
/// the customer (no mobile number, opted out, no email, a brand with no SMS number) refuses
/// the whole send with the reason beside that choice; nothing is sent then.
pub async fn send(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    actor: &str,
    id: i64,
    channels: Channels,
    base_url: &str,
) -> Result<Sent> {
    let now_ts = clock.now();
    let now = to_millis(now_ts);
    let pre = get(db, org, id).await?;
    let brand = crate::tenancy::brand(db, org, pre.brand_id).await?;
    let customer = crate::customers::get(db, org, pre.customer_id).await?;
    let job_id = pre.job_id.ok_or_else(|| Error::Conflict("this invoice has no job to send it about".into()))?;
    let job = crate::jobs::get(db, org, job_id).await?;
    let setting = crate::notifications::settings::kinds(db, org, brand.id)
        .await?
        .into_iter()
        .find(|s| s.kind == Kind::Invoice)
        .unwrap_or(crate::notifications::settings::KindSettings::defaults(Kind::Invoice));
    let sched = store::settings(db.pool(), org, brand.id).await?.unwrap_or_else(Settings::defaults);
    let mut tx = db.begin().await?;
    let inv = store::lock_in(&mut tx, org, id).await?;
    if inv.status == Status::Void {
        return Err(Error::Conflict(format!("{} is void; re-issue it to send it", inv.number)));
    }
    if inv.due.minor == 0 {
        return Err(Error::Conflict(if inv.totals.total.minor == 0 {
            format!("nothing is due on {}: add its lines first", inv.number)
        } else {
            format!("nothing is due on {}: it is {}", inv.number, inv.status.label().to_lowercase())
        }));
    }
    let mut v = Validator::new();
    if !channels.text && !channels.email {
        v.add("channels", "choose text, email or both");
    }
    let phone = customer.phone.as_ref();
    if channels.text {
        match (phone, &brand.sms_number) {
            (None, _) => v.add("text", format!("{} has no mobile number on file", customer.name)),
            (_, None) => v.add("text", format!("{} has no SMS number to text from", brand.name)),
            (Some(p), _) if crate::messaging::is_opted_out_in(&mut tx, brand.id, p.as_str()).await? => {
                v.add("text", format!("{} opted out of texts from {}", customer.name, brand.name))
            }
            _ => {}
        }
    }
    if channels.email && customer.email.is_none() {
        v.add("email", format!("{} has no email address on file", customer.name));
    }
    v.finish()?;
    let token = crate::links::issue_in(
        &mut tx,
        clock,
        org,
        &crate::links::NewLink { scope: crate::links::Scope::Invoice, subject: id, about: None, expires_at: None },
    )
    .await?;
    let url = format!("{base_url}/i/{token}");
    let mut values = crate::notifications::send::values(&job, None, &brand, &customer, now_ts);
    values.insert("invoiceUrl", url.clone());
    values.insert("amountDue", inv.due.to_string());
    values.insert("invoiceNumber", inv.number.clone());
    let render = |src: &str| {
        Template::parse(src).map(|t| t.render(&values)).map_err(|e| Error::Unexpected(format!("invoice template: {e}")))
    };
    let mut how = Vec::new();
    if channels.text
        && let Some(p) = phone
    {
        let body = render(&setting.sms_template)?;
        let mid = crate::messaging::queue_sms_in(&mut tx, clock, &brand, p, &body).await?;
        crate::messaging::link_job_in(&mut tx, mid, job_id).await?;
        how.push(format!("texted to {}", crate::parse::display_phone(p.as_str())));
    }
    if channels.email
        && let Some(to) = &customer.email
    {
        let (subject, body) = (render(&setting.email_subject)?, render(&setting.email_template)?);
        let html = crate::notifications::email_html::render(&brand, &body, None, None);
        let mid =
            crate::messaging::queue_rich_email_in(&mut tx, clock, &brand, to, &subject, &body, Some(&html)).await?;
        crate::messaging::link_job_in(&mut tx, mid, job_id).await?;
        how.push(format!("emailed to {}", to.as_str()));
    }
    let how = how.join(" and ");
    let after =
        store::refresh_money_in(&mut tx, &inv, store::Marks { sent: true, ..Default::default() }, now).await?.invoice;
    let verb = if inv.sent_at.is_some() { "Sent again" } else { "Sent" };
    store::event_in(&mut tx, org, id, actor, &format!("{verb}: {how} ({} due)", after.due), now).await?;
    crate::jobs::note_in(&mut tx, org, job_id, &format!("Invoice {} {how} ({} due)", inv.number, after.due), now)
        .await?;
    schedule_nudges_in(&mut tx, clock, org, &after, &sched.nudge_days).await?;
    tx.commit().await?;
    db.work_added();
    db.publish(Event::Job { org, job: job_id });
    Ok(Sent { invoice: after, how })
}

/// Replaces the invoice's pending nudges with one per nudge day after now.
async fn schedule_nudges_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, inv: &Invoice, days: &[i64]) -> Result<()> {
    let now = clock.now();
    engine::cancel_group_in(tx, &nudge_group(inv.id), now).await?;
    for d in days {
        let due = now + SignedDuration::from_hours(24 * d);
        let args = NudgeInvoice { invoice_id: inv.id, day: *d };
        let work = NewWork::of(&args, due)?
            .org(org)
            .key(format!("billing.nudge:{}:{}:{d}", inv.id, inv.version))
            .group(nudge_group(inv.id));
        engine::enqueue_in(tx, &work, now).await?;
    }
    Ok(())
}

/// A `billing.nudge` item: remind the customer of an unpaid invoice, `day` days after it was
/// sent, if it is still owed when the time comes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NudgeInvoice {
    pub invoice_id: i64,
    pub day: i64,
}

impl engine::Kind for NudgeInvoice {
    const NAME: &'static str = "billing.nudge";
}

/// Runs nudges: what is due now, from the invoice itself (never an amount frozen when it was
/// scheduled), through the customer notification of kind Unpaid invoice (quiet hours, opt-outs
/// and the brand's settings apply there).
#[derive(Clone, Debug)]
pub struct Nudger {
    pub base_url: String,
}

impl Worker for Nudger {
    type Args = NudgeInvoice;
    fn work(&self, ctx: WorkContext, item: WorkItem, args: NudgeInvoice) -> BoxFuture<Outcome> {
        let base_url = self.base_url.clone();
        Box::pin(async move {
            let Some(org) = item.org_id else { return Outcome::Fail("a nudge must belong to an organization".into()) };
            nudge(&ctx.db, ctx.clock.as_ref(), org, &args, &base_url).await.into()
        })
    }
}

async fn nudge(db: &Db, clock: &dyn Clock, org: OrgId, args: &NudgeInvoice, base_url: &str) -> Result<Outcome> {
    let now = clock.now();
    let mut tx = db.begin().await?;
    let inv = match store::lock_in(&mut tx, org, args.invoice_id).await {
        Ok(inv) => inv,
        Err(Error::NotFound) => return Ok(Outcome::Done(Some(json!({"skipped": "invoice gone"})))),
        Err(e) => return Err(e),
    };
    let Some(job) = inv.job_id else { return Ok(Outcome::Done(Some(json!({"skipped": "no job"})))) };
    if !inv.status.is_owed() || inv.due.minor == 0 {
        return Ok(Outcome::Done(Some(
            json!({"skipped": format!("{} is {}", inv.number, inv.status.label().to_lowercase())}),
        )));
    }
    let token = crate::links::issue_in(
        &mut tx,
        clock,
        org,
        &crate::links::NewLink { scope: crate::links::Scope::Invoice, subject: inv.id, about: None, expires_at: None },
    )
    .await?;
    let unpaid = crate::notifications::send::UnpaidInvoice {
        id: inv.id,
        number: inv.number.clone(),
        url: format!("{base_url}/i/{token}"),
        amount_due: inv.due,
    };
    crate::notifications::send::invoice_nudge_in(&mut tx, clock, org, job, &unpaid, now).await?;
    let what = format!("Reminder {} days after sending ({} due)", args.day, inv.due);
    store::event_in(&mut tx, org, inv.id, "system", &what, to_millis(now)).await?;
    tx.commit().await?;
    db.work_added();
    Ok(Outcome::Done(Some(json!({"nudged": inv.due.to_string()}))))
}

/// How the office recorded money it took itself.
pub const OFFICE_METHODS: [(&str, &str); 5] = [
    ("cash", "Cash"),
    ("check", "Check"),
    ("card", "Card (in person)"),
    ("transfer", "Bank transfer"),
    ("other", "Other"),
];

/// How a payment was made, in words: "by card", "in cash".
pub fn method_words(method: &str) -> &'static str {
    match method {
        "card" => "by card",
        "bank" => "by bank payment",
        "cash" => "in cash",
        "check" => "by check",
        "transfer" => "by bank transfer",
        _ => "",
    }
}

/// A payment the office took (cash, check, a card on its own terminal) as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PaymentInput {
    pub amount: String,
    pub method: String,
    #[serde(default)]
    pub note: String,
}

/// Records money the office took; the invoice and, when nothing is left due, the job follow.
pub async fn record_payment(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    actor: &str,
    id: i64,
    input: &PaymentInput,
) -> Result<Invoice> {
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    let inv = store::lock_in(&mut tx, org, id).await?;
    if inv.status == Status::Void {
        return Err(Error::Conflict(format!("{} is void", inv.number)));
    }
    let mut v = Validator::new();
    let amount = Money::parse_price(&input.amount, inv.currency).unwrap_or_else(|e| {
        v.add("amount", e);
        Money::zero(inv.currency)
    });
    if amount.minor == 0 && v.is_empty() {
        v.add("amount", "the amount must be more than zero");
    }
    if amount.minor > inv.due.minor && v.is_empty() {
        v.add("amount", format!("only {} is due", inv.due));
    }
    let method = OFFICE_METHODS.iter().find(|(m, _)| *m == input.method.trim()).map(|(m, _)| *m);
    if method.is_none() {
        v.add("method", "choose how it was paid");
    }
    if input.note.chars().count() > 200 {
        v.add("note", "at most 200 characters");
    }
    v.finish()?;
    let method = method.unwrap_or("other");
    let m = store::NewMoney {
        kind: "payment",
        method,
        amount: amount.minor,
        reference: None,
        payment_intent: None,
        credit_number: None,
        note: input.note.trim(),
        actor,
    };
    store::insert_money_in(&mut tx, org, id, &m, now).await?;
    let what = format!("Paid {amount} {}", method_words(method)).trim_end().to_string();
    let after = settle_in(&mut tx, clock, &inv, actor, &what, now).await?;
    tx.commit().await?;
    db.work_added();
    if let Some(job) = inv.job_id {
        db.publish(Event::Job { org, job });
    }
    Ok(after)
}

/// After money moved on `inv` (locked): its sums and status, its timeline, its nudges (gone
/// when it is no longer owed), the job's final invoice when a deposit moved, and the job itself
/// (closed when its invoice is paid in full).
pub(crate) async fn settle_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    inv: &Invoice,
    actor: &str,
    what: &str,
    now: i64,
) -> Result<Invoice> {
    let org = inv.org_id;
    let after = store::refresh_money_in(tx, inv, store::Marks::default(), now).await?.invoice;
    store::event_in(tx, org, inv.id, actor, what, now).await?;
    // Reminders stop when nothing is owed, and after a refund (the office sends it again if it
    // wants the money back); a payment page for the amount due before is ended either way.
    if !after.status.is_owed() || after.paid.minor < inv.paid.minor {
        engine::cancel_group_in(tx, &nudge_group(inv.id), clock.now()).await?;
    }
    pay::retire_sessions_in(tx, clock, org, inv.id).await?;
    let Some(job) = inv.job_id else { return Ok(after) };
    crate::jobs::note_in(tx, org, job, &format!("{what} on {} ({} due)", inv.number, after.due), now).await?;
    match after.kind {
        InvoiceKind::Invoice => {
            close_if_paid_in(tx, clock, &after, actor).await?;
        }
        // A deposit's money moves the final invoice's credit.
        InvoiceKind::Deposit => {
            if let Some(f) = open_invoice_in(tx, org, job, InvoiceKind::Invoice).await? {
                let f = store::lock_in(tx, org, f.id).await?;
                let f = store::refresh_money_in(tx, &f, store::Marks::default(), now).await?.invoice;
                close_if_paid_in(tx, clock, &f, actor).await?;
            }
        }
    }
    Ok(after)
}

/// Closes the job of a final invoice with nothing left to pay, if the job is waiting to close
/// (any other status is left as it is), with the reason in its history.
async fn close_if_paid_in(tx: &mut Tx, clock: &dyn Clock, inv: &Invoice, actor: &str) -> Result<bool> {
    match (inv.kind, inv.status, inv.job_id) {
        (InvoiceKind::Invoice, Status::Paid, Some(job)) => {
            let reason = format!("{} paid in full ({})", inv.number, inv.totals.total);
            crate::jobs::close_paid_in(tx, clock, inv.org_id, job, actor, &reason).await
        }
        _ => Ok(false),
    }
}

/// Closes the job if its final invoice is paid already (paid before the work was finished).
async fn close_job_if_paid(db: &Db, clock: &dyn Clock, org: OrgId, job: JobId) -> Result<()> {
    let mut tx = db.begin().await?;
    let closed = match open_invoice_in(&mut tx, org, job, InvoiceKind::Invoice).await? {
        Some(inv) => close_if_paid_in(&mut tx, clock, &inv, "system").await?,
        None => false,
    };
    if closed {
        tx.commit().await?;
        db.work_added();
        db.publish(Event::Job { org, job });
    }
    Ok(())
}

/// Voids an invoice (nothing may be paid on it: refund first): its links stop working, its
/// nudges and open payment pages end.
pub async fn void(db: &Db, clock: &dyn Clock, org: OrgId, actor: &str, id: i64, reason: &str) -> Result<Invoice> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::invalid("reason", "say why it is voided"));
    }
    if reason.chars().count() > 300 {
        return Err(Error::invalid("reason", "at most 300 characters"));
    }
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    let inv = store::lock_in(&mut tx, org, id).await?;
    if inv.status == Status::Void {
        return Err(Error::Conflict(format!("{} is void already", inv.number)));
    }
    if inv.paid.minor > 0 {
        return Err(Error::Conflict(format!("{} has {} paid on it: refund it first", inv.number, inv.paid)));
    }
    store::set_void_reason_in(&mut tx, org, id, reason).await?;
    let mut after =
        store::refresh_money_in(&mut tx, &inv, store::Marks { voided: true, ..Default::default() }, now).await?.invoice;
    after.void_reason = Some(reason.to_string());
    store::event_in(&mut tx, org, id, actor, &format!("Voided: {reason}"), now).await?;
    crate::links::revoke_subject_in(&mut tx, clock, org, crate::links::Scope::Invoice, id).await?;
    engine::cancel_group_in(&mut tx, &nudge_group(id), clock.now()).await?;
    pay::retire_sessions_in(&mut tx, clock, org, id).await?;
    if let Some(job) = inv.job_id {
        crate::jobs::note_in(&mut tx, org, job, &format!("Invoice {} voided: {reason}", inv.number), now).await?;
    }
    tx.commit().await?;
    if let Some(job) = inv.job_id {
        db.publish(Event::Job { org, job });
    }
    Ok(after)
}

/// A new draft with a void invoice's lines, terms and taxes under a new number.
pub async fn reissue(db: &Db, clock: &dyn Clock, org: OrgId, actor: &str, id: i64) -> Result<i64> {
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    let inv = store::lock_in(&mut tx, org, id).await?;
    if inv.status != Status::Void {
        return Err(Error::Conflict(format!("{} is not void: void it first", inv.number)));
    }
    if let Some(job) = inv.job_id
        && let Some(other) = open_invoice_in(&mut tx, org, job, inv.kind).await?
    {
        return Err(Error::Conflict(format!("the job has {} already", other.number)));
    }
    let rates: Vec<TaxRate> =
        inv.totals.taxes.iter().map(|t| TaxRate { name: t.name.clone(), rate_x1000: t.rate_x1000 }).collect();
    let number = store::next_invoice_number_in(&mut tx, org, inv.brand_id, now).await?;
    let new = store::NewInvoice {
        brand: inv.brand_id,
        job: inv.job_id,
        customer: inv.customer_id,
        number: &number,
        kind: inv.kind,
        currency: inv.currency,
        lines: &inv.lines,
        taxes: &rates,
        discount: inv.totals.discount,
        discount_label: &inv.discount_label,
        note: &inv.note,
        replaces: Some(inv.id),
    };
    let new_id = store::insert_in(&mut tx, org, &new, now).await?;
    store::refresh_in(&mut tx, org, new_id, store::Marks::default(), now).await?;
    store::event_in(&mut tx, org, new_id, actor, &format!("Re-issued in place of {}", inv.number), now).await?;
    store::event_in(&mut tx, org, inv.id, actor, &format!("Re-issued as {number}"), now).await?;
    tx.commit().await?;
    if let Some(job) = inv.job_id {
        db.publish(Event::Job { org, job });
    }
    Ok(new_id)
}

/// Filters of the Invoices list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Brands shown (all when empty).
    pub brands: Vec<crate::ids::BrandId>,
    pub status: Option<Status>,
    pub customer: Option<crate::ids::CustomerId>,
    pub offset: i64,
}

/// A page of the organization's invoices (50), newest first.
pub async fn list(db: &Db, org: OrgId, filter: &ListFilter) -> Result<Vec<store::ListRow>> {
    let brands: Vec<i64> = filter.brands.iter().map(|b| b.0).collect();
    store::list(db.pool(), org, &brands, filter.status.map(Status::as_str), filter.customer, 51, filter.offset.max(0))
        .await
}

/// What is owed per brand in each aging bucket (0-30, 31-60, 61-90, 90+ days since sent), and
/// how many invoices: `brand -> [(amount, count); 4]`, in minor units.
pub async fn aging(db: &Db, clock: &dyn Clock, org: OrgId) -> Result<std::collections::BTreeMap<i64, [(i64, i64); 4]>> {
    let now = clock.now();
    let mut out = std::collections::BTreeMap::new();
    for (brand, sent, due) in store::owed(db.pool(), org).await? {
        let bucket = model::aging_bucket(from_millis(sent), now);
        let row: &mut [(i64, i64); 4] = out.entry(brand).or_insert([(0, 0); 4]);
        row[bucket].0 += due;
        row[bucket].1 += 1;
    }
    Ok(out)
}
