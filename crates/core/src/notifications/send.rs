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
    pub invoice_number: Option<String>,
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
        invoice_number: None,
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

/// Reacts to job changes ([`crate::jobs::changes`]): for the customer, a confirmation (and
/// the day-of reminder) when a job is booked, a reschedule notice when a booked job's window
/// moves, "on the way" for each technician sent (as the crew rule says), a cancellation
/// notice when a booked job is canceled; for the technicians who were told about the job,
/// that its window moved, that they are off it, or that it is canceled.
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

/// Whether a job that was in `from` had been booked with the customer (a confirmed visit).
fn was_booked(from: Option<JobStatus>) -> bool {
    matches!(from, Some(JobStatus::Scheduled | JobStatus::Dispatched | JobStatus::OnSite))
}

/// The notifications a job's change calls for, queued in one transaction. Each has an
/// idempotency key (the window start, the change's time), so a change reacted to twice queues
/// each once.
pub async fn on_job_changed(db: &Db, clock: &dyn Clock, org: OrgId, event: &JobChanged) -> Result<()> {
    let now = clock.now();
    let booked = event.booked_start().filter(|start| *start > now);
    let rescheduled = event.rescheduled_start().filter(|start| *start > now);
    let remind = event.reminder_start().filter(|start| *start > now);
    let canceled = event.moved_to(JobStatus::Canceled);
    let moved_to = event.window_moved_to().filter(|_| event.status.is_open());
    let removed: Vec<TechnicianId> = event.removed_told().collect();
    let sent: Vec<(Option<TechnicianId>, &[TechnicianId])> = event
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::OnTheWay { tech, was_working } => Some((*tech, was_working.as_slice())),
            _ => None,
        })
        .collect();
    if booked.is_none()
        && rescheduled.is_none()
        && !canceled
        && moved_to.is_none()
        && removed.is_empty()
        && sent.is_empty()
    {
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
    }
    if let Some(start) = rescheduled {
        queue_in(&mut tx, clock, org, job.id, Kind::Rescheduled, now, to_millis(start), None).await?;
    }
    if let Some(start) = remind
        && let Some(at) = super::reminder_at(start, &brand.zone(), prefs.reminder_time).filter(|at| *at > now)
    {
        queue_in(&mut tx, clock, org, job.id, Kind::Reminder, at, to_millis(start), None).await?;
    }
    // A canceled visit the customer had been booked for (with a window to name).
    if canceled && was_booked(event.moved_from()) && job.scheduled_start.is_some() {
        queue_in(&mut tx, clock, org, job.id, Kind::Canceled, now, event.at, None).await?;
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
    // The technicians who know of the job (texted its link) hear what changed for them; the
    // ones put on it by this change get the job with its new window from the portal instead.
    for tech in removed {
        queue_in(&mut tx, clock, org, job.id, Kind::TechRemoved, now, event.at, Some(tech)).await?;
    }
    if canceled || moved_to.is_some() {
        let added: Vec<TechnicianId> = event.added().collect();
        for tech in crate::jobs::told_techs_in(&mut tx, org, job.id).await? {
            if canceled {
                queue_in(&mut tx, clock, org, job.id, Kind::TechCanceled, now, event.at, Some(tech)).await?;
            } else if let Some(start) = moved_to.filter(|_| !added.contains(&tech)) {
                queue_in(&mut tx, clock, org, job.id, Kind::TechRescheduled, now, to_millis(start), Some(tech)).await?;
            }
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
    /// `{invoiceNumber}` (INV-1001).
    pub number: String,
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
        invoice_number: Some(invoice.number.clone()),
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
    let mut v = HashMap::from([
        ("jobCode", job.code.clone()),
        ("service", job.service.clone()),
        ("brandName", brand.name.clone()),
        ("brandPhone", brand.sms_number.as_deref().map(crate::parse::display_phone).unwrap_or_default()),
    ]);
    // A customer named after their number or email (a lead that gave no name) is greeted
    // without one: "Hi, ..." rather than "Hi +15550101234, ...".
    if let Some(first) = crate::customers::greeting_name(&customer.name) {
        v.insert("customerFirstName", first.to_string());
        v.insert("customerName", customer.name.trim().to_string());
    }
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
    let on_job = |t: Option<TechnicianId>| t.is_some_and(|t| job.has_tech(t));
    let current = match kind {
        Kind::Confirmation | Kind::Reminder | Kind::Rescheduled => {
            matches!(job.status, JobStatus::Scheduled | JobStatus::Dispatched)
                && job.scheduled_start.map(to_millis) == Some(at)
        }
        Kind::Canceled => job.status == JobStatus::Canceled,
        Kind::TechRescheduled => job.status.is_open() && on_job(tech) && job.scheduled_start.map(to_millis) == Some(at),
        // Put back on it since: nothing to tell.
        Kind::TechRemoved => tech.is_some() && !on_job(tech),
        Kind::TechCanceled => job.status == JobStatus::Canceled && on_job(tech),
        // Still on the way (an old message about someone who has arrived is dropped).
        Kind::OnTheWay => match tech {
            Some(t) => job.status.is_open() && job.tech(t).is_some_and(|x| x.work == WorkStatus::EnRoute),
            None => job.status == JobStatus::Dispatched,
        },
        // Sent by billing itself when the office presses Send.
        Kind::Invoice => false,
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
    if kind.audience() == super::Audience::Technician {
        let Some(tech) = tech else { return Ok(Outcome::Fail("a technician notice names no technician".into())) };
        return tell_technician(db, clock, &job, &brand, &setting, tech).await;
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
    if let Some(missing) = missing_window(&job, &setting) {
        let note = format!("{} not sent to the customer: {missing}", kind.label());
        let mut tx = db.begin().await?;
        crate::jobs::note_in(&mut tx, org, job.id, &note, to_millis(now)).await?;
        tx.commit().await?;
        db.publish(crate::db::Event::Job { org, job: job.id });
        return Ok(Outcome::Done(Some(json!({"skipped": note}))));
    }
    if let (Some(url), Some(amount)) = (args.invoice_url.as_deref(), args.amount_due) {
        values.insert("invoiceUrl", url.to_string());
        values.insert("amountDue", amount.to_string());
        if let Some(n) = &args.invoice_number {
            values.insert("invoiceNumber", n.clone());
        }
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

/// Why a message that names the job's window cannot go out (the job has none now), if so: it
/// would read "booked for ." otherwise.
fn missing_window(job: &JobSummary, setting: &KindSettings) -> Option<&'static str> {
    const WINDOW: [&str; 4] = ["window", "windowDay", "windowStart", "windowEnd"];
    let mut sources = Vec::new();
    if setting.sms_enabled {
        sources.push(setting.sms_template.as_str());
    }
    if setting.email_enabled {
        sources.extend([setting.email_subject.as_str(), setting.email_template.as_str()]);
    }
    let names_window =
        sources.iter().any(|src| Template::parse(src).is_ok_and(|t| t.fields().iter().any(|f| WINDOW.contains(f))));
    (names_window && (job.scheduled_start.is_none() || job.scheduled_end.is_none()))
        .then_some("the job has no arrival window to name")
}

/// Texts a technician about their job (its window moved, they are off it, it is canceled),
/// unless they cannot be reached there: no mobile number, their links turned off for a lost
/// phone, opted out, or a brand without an SMS number. Either way the job's history says so.
async fn tell_technician(
    db: &Db,
    clock: &dyn Clock,
    job: &JobSummary,
    brand: &Brand,
    setting: &KindSettings,
    tech: TechnicianId,
) -> Result<Outcome> {
    let (org, kind) = (job.org_id, setting.kind);
    let technician = match crate::technicians::get(db, org, tech).await {
        Ok(t) => t,
        Err(Error::NotFound) => return Ok(Outcome::Done(Some(json!({"skipped": "technician gone"})))),
        Err(e) => return Err(e),
    };
    let now = clock.now();
    let name = technician.name.clone();
    let mut tx = db.begin().await?;
    let problem = match (&technician.phone, &brand.sms_number) {
        _ if !setting.sms_enabled => None,
        _ if technician.links_paused_at.is_some() => {
            Some("their portal links were turned off (lost phone)".to_string())
        }
        (None, _) => Some("no mobile number on file".to_string()),
        (_, None) => Some(format!("{} has no SMS number", brand.name)),
        (Some(phone), Some(_)) if crate::messaging::is_opted_out_in(&mut tx, brand.id, phone.as_str()).await? => {
            Some(format!("they opted out of texts from {}", brand.name))
        }
        _ => None,
    };
    let problem = problem.or_else(|| missing_window(job, setting).map(str::to_string));
    let outcome = match (problem, &technician.phone) {
        (Some(why), _) => {
            let note = format!("{} not texted to {name}: {why}", kind.label());
            crate::jobs::note_in(&mut tx, org, job.id, &note, to_millis(now)).await?;
            json!({"skipped": note})
        }
        (None, Some(phone)) if setting.sms_enabled => {
            let customer = crate::customers::get(db, org, job.customer_id).await?;
            let mut values = values(job, None, brand, &customer, now);
            values.insert("techName", technician.first_name().to_string());
            let body = match Template::parse(&setting.sms_template) {
                Ok(t) => t.render(&values),
                Err(e) => return Ok(Outcome::Fail(format!("template: {e}"))),
            };
            let id = crate::messaging::queue_sms_in(&mut tx, clock, brand, phone, &body).await?;
            crate::messaging::link_job_in(&mut tx, id, job.id).await?;
            crate::jobs::note_in(&mut tx, org, job.id, &kind.tech_note(&name), to_millis(now)).await?;
            json!({"sent": ["texted"]})
        }
        _ => json!({"skipped": "turned off"}),
    };
    tx.commit().await?;
    db.work_added();
    db.publish(crate::db::Event::Job { org, job: job.id });
    Ok(Outcome::Done(Some(outcome)))
}
