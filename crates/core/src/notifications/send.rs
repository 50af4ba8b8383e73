//! Sending customer notifications. Job changes reach [`JobNotices`] through the engine, which
//! puts a `notify.customer` work item for each message they call for (so a committed change
//! always notifies, once: each item has an idempotency key); the handler decides at run time whether the message still applies (a rescheduled
//! job's old reminder is dropped), waits out quiet hours, renders the brand's templates and
//! queues the text and email, which the SMS and email senders deliver (opt-outs recorded as
//! suppressed).

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::json;

use std::sync::Arc;

use super::email_html::{self, TechCard};
use super::rules::{CrewEvent, SiteCrew};
use super::settings::{self, KindSettings};
use super::{Kind, Template};
use crate::clock::{Clock, to_millis};
use crate::db::{Db, Tx};
use crate::engine::{self, BoxFuture, Listener, NewWork, Outcome, WorkContext, WorkItem, Worker};
use crate::ids::{JobId, OrgId, TechnicianId};
use crate::jobs::changes::{Change, JobChanged};
use crate::jobs::{JobStatus, JobSummary, WorkStatus};
use crate::money::Money;
use crate::providers::maps::Router;
use crate::technicians::Technician;
use crate::tenancy::Brand;
use crate::{Error, Result};

/// A `notify.customer` item: tell the customer about the job (or the invoice) of `kind`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NotifyCustomer {
    pub job_id: JobId,
    pub kind: Kind,
    /// What the notification is about, in milliseconds (the window start, the dispatch time,
    /// the nudge's due time): the item applies only while the job still matches it.
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tech_id: Option<TechnicianId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_due: Option<Money>,
}

impl engine::Kind for NotifyCustomer {
    const NAME: &'static str = "notify.customer";
}

pub const NOTIFY: &str = <NotifyCustomer as engine::Kind>::NAME;

/// Queues a notification of `kind` about the job inside `tx`, due at `due`. `discriminator`
/// makes repeats distinct (the window start for a reminder, the dispatch time for "on the
/// way"); the same key twice is one message. `tech` is the technician it is about, if one.
#[allow(clippy::too_many_arguments)]
pub async fn queue_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    job: JobId,
    kind: Kind,
    due: Timestamp,
    discriminator: i64,
    tech: Option<TechnicianId>,
) -> Result<()> {
    let payload = NotifyCustomer {
        job_id: job,
        kind,
        at: discriminator,
        tech_id: tech,
        invoice_id: None,
        invoice_url: None,
        amount_due: None,
    };
    let mut key = format!("notify:{}:{}:{discriminator}", kind.as_str(), job.0);
    if let Some(t) = tech {
        key.push_str(&format!(":{}", t.0));
    }
    let work = NewWork::of(&payload, due)?.org(org).key(key);
    engine::enqueue_in(tx, &work, clock.now()).await?;
    Ok(())
}

/// Reacts to job changes ([`crate::jobs::changes`]): a confirmation (and the day-of reminder)
/// when a job is booked or the window of a scheduled job moves, and "on the way" for each
/// technician sent, as the crew rule says.
#[derive(Clone, Copy, Debug)]
pub struct JobNotices;

impl Listener for JobNotices {
    type Event = JobChanged;
    fn react(&self, ctx: WorkContext, item: WorkItem, event: Arc<JobChanged>) -> BoxFuture<Result<()>> {
        Box::pin(async move {
            let Some(org) = item.org_id else { return Ok(()) };
            on_job_changed(&ctx.db, ctx.clock.as_ref(), org, &event).await
        })
    }
}

/// The customer notifications a job's change calls for, queued in one transaction. Each has
/// an idempotency key (the window start, the change's time), so a change reacted to twice
/// queues each once.
pub async fn on_job_changed(db: &Db, clock: &dyn Clock, org: OrgId, event: &JobChanged) -> Result<()> {
    let now = clock.now();
    let booked = event.scheduled_start().filter(|start| *start > now);
    let sent: Vec<(Option<TechnicianId>, &[TechnicianId])> = event
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::OnTheWay { tech, was_working } => Some((*tech, was_working.as_slice())),
            _ => None,
        })
        .collect();
    if booked.is_none() && sent.is_empty() {
        return Ok(());
    }
    let job = match crate::jobs::get(db, org, event.job_id).await {
        Ok(j) => j,
        Err(Error::NotFound) => return Ok(()),
        Err(e) => return Err(e),
    };
    let brand = crate::tenancy::brand(db, org, job.brand_id).await?;
    let mut tx = db.begin().await?;
    let prefs = settings::prefs_in(&mut tx, org, brand.id).await?;
    let mut noted = false;
    if let Some(start) = booked {
        queue_in(&mut tx, clock, org, job.id, Kind::Confirmation, now, to_millis(start), None).await?;
        let tz = brand.zone();
        if let Some(at) = super::reminder_at(start, &tz, prefs.reminder_time).filter(|at| *at > now) {
            queue_in(&mut tx, clock, org, job.id, Kind::Reminder, at, to_millis(start), None).await?;
        }
    }
    for (tech, was_working) in sent {
        let tell = match tech {
            Some(t) => {
                SiteCrew::working(was_working.iter().copied()).apply(CrewEvent::Dispatched(t), prefs.limit_multi_tech)
            }
            None => true,
        };
        if tell {
            queue_in(&mut tx, clock, org, job.id, Kind::OnTheWay, now, event.at, tech).await?;
        } else {
            let name = tech.and_then(|t| job.tech(t)).map(|t| t.name.clone()).unwrap_or_else(|| "a technician".into());
            let note =
                format!("Customer not told {name} is on the way: another technician is already working the site");
            crate::jobs::note_in(&mut tx, org, job.id, &note, to_millis(now)).await?;
            noted = true;
        }
    }
    tx.commit().await?;
    db.work_added();
    if noted {
        db.publish(crate::db::Event::Job { org, job: job.id });
    }
    Ok(())
}

/// An unpaid invoice, as billing hands it to [`invoice_nudge_in`].
#[derive(Debug, Clone)]
pub struct UnpaidInvoice {
    /// Billing's id for the invoice: one nudge per invoice and `due` time.
    pub id: i64,
    /// Where the customer pays (`{invoiceUrl}`).
    pub url: String,
    /// Still owed (`{amountDue}`, e.g. "$189.00").
    pub amount_due: Money,
}

/// The engine group of an invoice's nudges (for [`engine::cancel_group_in`]).
pub fn invoice_group(invoice: i64) -> String {
    format!("invoice:{invoice}")
}

/// Queues an unpaid-invoice nudge about the job inside `tx`, due at `due` (billing calls this
/// for each reminder it schedules). Like every notification it waits out quiet hours,
/// respects opt-outs and the brand's settings, and is noted on the job.
pub async fn invoice_nudge_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    job: JobId,
    invoice: &UnpaidInvoice,
    due: Timestamp,
) -> Result<()> {
    let payload = NotifyCustomer {
        job_id: job,
        kind: Kind::InvoiceNudge,
        at: to_millis(due),
        tech_id: None,
        invoice_id: Some(invoice.id),
        invoice_url: Some(invoice.url.clone()),
        amount_due: Some(invoice.amount_due),
    };
    let key = format!("notify:{}:{}:{}:{}", Kind::InvoiceNudge.as_str(), job.0, invoice.id, to_millis(due));
    // Grouped by invoice, so billing cancels every pending nudge the moment it is paid or voided.
    let work = NewWork::of(&payload, due)?.org(org).key(key).group(invoice_group(invoice.id));
    engine::enqueue_in(tx, &work, clock.now()).await?;
    Ok(())
}

/// Merge values for a job, as of `now` (a window starting today reads "10:00 AM", a later one
/// "Tue Nov 24, 10:00 AM").
pub fn values(
    job: &JobSummary,
    tech: Option<TechnicianId>,
    brand: &Brand,
    customer: &crate::customers::Customer,
    now: Timestamp,
) -> HashMap<&'static str, String> {
    let tz = brand.zone();
    let first = |s: &str| s.split_whitespace().next().unwrap_or(s).to_string();
    let mut v = HashMap::from([
        ("customerName", customer.name.clone()),
        ("customerFirstName", first(&customer.name)),
        ("jobCode", job.code.clone()),
        ("service", job.service.clone()),
        ("brandName", brand.name.clone()),
        ("brandPhone", brand.sms_number.as_deref().map(crate::parse::display_phone).unwrap_or_default()),
    ]);
    if let Some(t) = tech.and_then(|t| job.tech(t)).or(job.techs.first()) {
        v.insert("techName", t.first_name().to_string());
    }
    if let Some(s) = job.scheduled_start {
        v.insert("windowStart", crate::when::time(s, &tz));
        v.insert("windowDay", crate::when::day(s, now, &tz));
    }
    if let Some(e) = job.scheduled_end {
        v.insert("windowEnd", crate::when::time(e, &tz));
    }
    if let Some(w) = crate::when::window(job.scheduled_start, job.scheduled_end, now, &tz) {
        v.insert("window", w);
    }
    v
}

/// "about 2:40 PM" from the technician's fresh shared location and the verified address;
/// "soon" when either is missing.
async fn eta_text(
    clock: &dyn Clock,
    router: &Router,
    job: &JobSummary,
    tech: Option<&Technician>,
    brand: &Brand,
) -> String {
    let now = clock.now();
    let estimate = match tech {
        Some(t) => crate::tracking::estimate(router, job, t, now).await,
        None => None,
    };
    let Some(estimate) = estimate else { return "soon".into() };
    let tz = brand.zone();
    format!("about {}", estimate.arrives_at(now).to_zoned(tz).strftime("%-I:%M %p"))
}

/// `url` as seen from outside: paths (`/assets/...`) are under the server's public URL.
fn absolute(base_url: &str, url: &str) -> String {
    if url.starts_with('/') { format!("{base_url}{url}") } else { url.to_string() }
}

/// Delivers `notify.customer` items.
#[derive(Clone)]
pub struct Notifier {
    /// The server's public URL, for tracking links.
    pub base_url: String,
    /// Driving times for `{techETA}`.
    pub router: Router,
}

impl Worker for Notifier {
    type Args = NotifyCustomer;
    fn work(&self, ctx: WorkContext, item: WorkItem, args: NotifyCustomer) -> BoxFuture<Outcome> {
        let this = self.clone();
        Box::pin(async move { attempt(&ctx.db, ctx.clock.as_ref(), &this, &item, &args).await.into() })
    }
}

async fn attempt(
    db: &Db,
    clock: &dyn Clock,
    notifier: &Notifier,
    item: &WorkItem,
    args: &NotifyCustomer,
) -> Result<Outcome> {
    let base_url = notifier.base_url.as_str();
    let Some(org) = item.org_id else {
        return Ok(Outcome::Fail("a notification item must belong to an organization".into()));
    };
    let (kind, at, tech) = (args.kind, args.at, args.tech_id);
    let job = match crate::jobs::get(db, org, args.job_id).await {
        Ok(j) => j,
        Err(Error::NotFound) => return Ok(Outcome::Done(Some(json!({"skipped": "job gone"})))),
        Err(e) => return Err(e),
    };
    // Still relevant? A reminder for an old window, or a job that moved on, is dropped.
    let current = match kind {
        Kind::Confirmation | Kind::Reminder => {
            matches!(job.status, JobStatus::Scheduled | JobStatus::Dispatched)
                && job.scheduled_start.map(to_millis) == Some(at)
        }
        // Still on the way (an old message about someone who has arrived is dropped).
        Kind::OnTheWay => match tech {
            Some(t) => job.status.is_open() && job.tech(t).is_some_and(|x| x.work == WorkStatus::EnRoute),
            None => job.status == JobStatus::Dispatched,
        },
        // Billing decides whether it is still owed (it cancels or does not queue the nudge);
        // a canceled job is owed nothing.
        Kind::InvoiceNudge => {
            job.status != JobStatus::Canceled
                && args.invoice_url.is_some()
                && args.amount_due.is_some_and(|a| a.minor > 0)
        }
    };
    if !current {
        return Ok(Outcome::Done(Some(json!({"skipped": "no longer applies"}))));
    }
    let brand = crate::tenancy::brand(db, org, job.brand_id).await?;
    let setting: KindSettings = settings::kinds(db, org, brand.id)
        .await?
        .into_iter()
        .find(|s| s.kind == kind)
        .unwrap_or(KindSettings::defaults(kind));
    if !setting.sms_enabled && !setting.email_enabled {
        return Ok(Outcome::Done(Some(json!({"skipped": "turned off"}))));
    }
    let now = clock.now();
    let prefs = settings::prefs(db, org, brand.id).await?;
    // Quiet hours hold bookings and reminders; "on the way" is wanted at any hour.
    if kind != Kind::OnTheWay
        && let Some(q) = prefs.quiet
    {
        let tz = brand.zone();
        let allowed = q.next_allowed(now, &tz);
        if allowed > now {
            return Ok(Outcome::Defer(allowed));
        }
    }
    let customer = crate::customers::get(db, org, job.customer_id).await?;
    let mut values = values(&job, tech, &brand, &customer, now);
    if let (Some(url), Some(amount)) = (args.invoice_url.as_deref(), args.amount_due) {
        values.insert("invoiceUrl", url.to_string());
        values.insert("amountDue", amount.to_string());
    }
    // The technician the message is about (read before the write transaction: on SQLite it
    // holds the only connection).
    let about = match tech.and_then(|t| job.tech(t)).or(job.techs.first()) {
        Some(t) => Some(crate::technicians::get(db, org, t.id).await?),
        None => None,
    };
    values.insert("techETA", eta_text(clock, &notifier.router, &job, about.as_ref(), &brand).await);
    let (phone, email) = (customer.phone.clone(), customer.email.clone());
    let uses_tracking = prefs.tracking_enabled
        && [&setting.sms_template, &setting.email_subject, &setting.email_template]
            .iter()
            .any(|src| Template::parse(src).is_ok_and(|t| t.fields().contains(&"trackingUrl")));
    // Who is coming, for the email's card ("on the way" only).
    let card = about.as_ref().filter(|_| kind == Kind::OnTheWay).map(|t| TechCard {
        first_name: t.first_name().to_string(),
        photo_url: t.photo_url.as_deref().map(|u| absolute(base_url, u)),
        rating: t.customer_rating(),
        vehicle: t.vehicle.clone(),
    });
    let mut sent = Vec::new();
    let mut tx = db.begin().await?;
    let tracking_url = if uses_tracking {
        let url = crate::tracking::issue_in(&mut tx, clock, org, job.id, tech, base_url).await?;
        values.insert("trackingUrl", url.clone());
        Some(url)
    } else {
        None
    };
    let render = |src: &str| Template::parse(src).map(|t| t.render(&values)).map_err(|e| e.to_string());
    if setting.sms_enabled
        && brand.sms_number.is_some()
        && let Some(phone) = &phone
    {
        match render(&setting.sms_template) {
            Ok(body) if !body.is_empty() => {
                let id = crate::messaging::queue_sms_in(&mut tx, clock, &brand, phone, &body).await?;
                crate::messaging::link_job_in(&mut tx, id, job.id).await?;
                sent.push("texted");
            }
            Ok(_) => {}
            Err(e) => return Ok(Outcome::Fail(format!("template: {e}"))),
        }
    }
    if setting.email_enabled
        && let Some(to) = &email
    {
        match (render(&setting.email_subject), render(&setting.email_template)) {
            (Ok(subject), Ok(body)) if !subject.is_empty() && !body.is_empty() => {
                let html = email_html::render(&brand, &body, card.as_ref(), tracking_url.as_deref());
                let id =
                    crate::messaging::queue_rich_email_in(&mut tx, clock, &brand, to, &subject, &body, Some(&html))
                        .await?;
                crate::messaging::link_job_in(&mut tx, id, job.id).await?;
                sent.push("emailed");
            }
            (Err(e), _) | (_, Err(e)) => return Ok(Outcome::Fail(format!("template: {e}"))),
            _ => {}
        }
    }
    if sent.is_empty() {
        return Ok(Outcome::Done(Some(json!({"skipped": "no phone or email to reach the customer"}))));
    }
    let note = format!("{} {} to the customer", kind.label(), sent.join(" and "));
    crate::jobs::note_in(&mut tx, org, job.id, &note, to_millis(now)).await?;
    tx.commit().await?;
    db.work_added();
    db.publish(crate::db::Event::Job { org, job: job.id });
    Ok(Outcome::Done(Some(json!({"sent": sent}))))
}
