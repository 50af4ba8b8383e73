//! Messaging: outbound texts through the engine, inbound texts from provider webhooks,
//! delivery status from callbacks, and consent (STOP/START/HELP).
//!
//! Sending: `queue_sms` records the message and a `sms.send` work item in the caller's
//! transaction. The [`SmsSender`] handler then, per attempt: skips messages already accepted
//! by the provider or no longer queued; suppresses numbers that opted out meanwhile; waits for
//! the sender's rate-limit slot; calls the provider; records the provider's id. The engine
//! commits the attempt count when it claims an item, so any attempt after the first knows an
//! earlier one may have reached the provider (the process may have died before recording the
//! id): it first asks the provider for a message with that sender, recipient and body since the
//! message was created that no other message holds, and adopts it instead of sending again
//! (two retries adopting one provider message at once: the unique provider id refuses the
//! second, which looks again on its next attempt). A duplicate is therefore
//! possible only if the provider's own list does not yet show an accepted message, and then at
//! most one per crash.

pub mod email;
pub mod model;
pub mod segments;
mod store;

use std::sync::Arc;

use jiff::SignedDuration;
use serde_json::json;

pub use email::{
    EMAIL_SEND, EmailSender, InboundEmail, accepts_email, brand_for_email, is_automated, parse_raw, queue_email_in,
    queue_email_with_attachment_in, queue_rich_email_in, record_inbound_email_in, send_email,
};
pub use model::{Channel, Keyword, Message, MessageId, MessageStatus, default_help_reply, keyword};

use crate::clock::{Clock, from_millis, to_millis};
use crate::db::{Db, Tx};
use crate::engine::{self, BoxFuture, NewWork, Outcome, Priority, WorkContext, WorkItem, Worker};
use crate::ids::{BrandId, OrgId};
use crate::parse::PhoneE164;
use crate::providers::{OutboundSms, SendError, SmsProvider};
use crate::tenancy::{self, Brand};
use crate::{Error, Result};

/// A `sms.send` item: hand the queued text to the provider.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SendSms {
    pub message_id: MessageId,
}

impl engine::Kind for SendSms {
    const NAME: &'static str = "sms.send";
}

pub const SMS_SEND: &str = <SendSms as engine::Kind>::NAME;

/// Registers the workers for texts and emails going out.
pub fn register(workers: &mut engine::Workers, sms: SmsSender, email: EmailSender) {
    workers.add(sms).add(email);
}

/// Queues a text from the brand's number inside the caller's transaction. Numbers that opted
/// out of this brand get a `suppressed` record instead. Call [`Db::work_added`] after commit.
pub async fn queue_sms_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    brand: &Brand,
    to: &PhoneE164,
    body: &str,
) -> Result<MessageId> {
    queue_sms_with_priority_in(tx, clock, brand, to, body, Priority::Routine).await
}

/// [`queue_sms_in`] with a priority: an urgent text is claimed before routine work and is paced
/// apart from the routine texts of the same number.
pub async fn queue_sms_with_priority_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    brand: &Brand,
    to: &PhoneE164,
    body: &str,
    priority: Priority,
) -> Result<MessageId> {
    let (from, body) = checked_sms(brand, body)?;
    let now = clock.now();
    let opted_out = store::is_opted_out(&mut **tx, brand.id, to.as_str()).await?;
    let status = if opted_out { MessageStatus::Suppressed } else { MessageStatus::Queued };
    let msg = store::NewMessage {
        org: brand.org_id,
        brand: Some(brand.id),
        channel: Channel::Sms,
        inbound: false,
        from,
        to: to.as_str(),
        subject: None,
        body,
        status,
        provider: None,
        provider_id: None,
    };
    let id = store::insert(&mut **tx, &msg, to_millis(now))
        .await?
        .ok_or_else(|| Error::Unexpected("message insert".into()))?;
    if opted_out {
        tracing::info!(message = %id, brand = %brand.id, "recipient opted out; text suppressed");
        return Ok(id);
    }
    let work = NewWork::of(&SendSms { message_id: id }, now)?
        .org(brand.org_id)
        .key(format!("sms:{}", id.0))
        .priority(priority);
    if let Some(work_id) = engine::enqueue_in(tx, &work, now).await? {
        store::set_work_item(&mut **tx, id, work_id.0).await?;
    }
    Ok(id)
}

/// The brand's number and the trimmed body of a text it may send, or why not.
fn checked_sms<'a>(brand: &'a Brand, body: &'a str) -> Result<(&'a str, &'a str)> {
    let from = brand.sms_number.as_deref().ok_or_else(|| {
        Error::invalid("brand_id", format!("{} has no SMS number; set one in Settings -> Brands", brand.name))
    })?;
    let body = body.trim();
    if body.is_empty() {
        return Err(Error::invalid("body", "the message is empty"));
    }
    if body.chars().count() > 1600 {
        return Err(Error::invalid("body", "a text can be at most 1600 characters"));
    }
    Ok((from, body))
}

/// A text to queue whose ids were chosen ahead ([`crate::db::Ids`]: tables `messages` and
/// `work_items`), written with others by [`queue_planned_in`]: the record and the `sms.send`
/// item [`queue_sms_with_priority_in`] writes, gathered in memory first.
#[derive(Debug, Clone)]
pub struct PlannedSms {
    pub id: MessageId,
    org: OrgId,
    brand: BrandId,
    from: String,
    to: String,
    body: String,
    status: MessageStatus,
    /// The item that sends it; none for a number that opted out (the text is `suppressed`).
    work: Option<(i64, NewWork)>,
}

/// Plans a text as [`queue_sms_with_priority_in`] queues one, checked the same way;
/// `opted_out`: whether `to` opted out of the brand.
#[allow(clippy::too_many_arguments)]
pub fn plan_sms(
    brand: &Brand,
    to: &PhoneE164,
    body: &str,
    priority: Priority,
    opted_out: bool,
    id: i64,
    work_id: i64,
    now: jiff::Timestamp,
) -> Result<PlannedSms> {
    let (from, body) = checked_sms(brand, body)?;
    let work = if opted_out {
        None
    } else {
        let work = NewWork::of(&SendSms { message_id: MessageId(id) }, now)?
            .org(brand.org_id)
            .key(format!("sms:{id}"))
            .priority(priority);
        Some((work_id, work))
    };
    Ok(PlannedSms {
        id: MessageId(id),
        org: brand.org_id,
        brand: brand.id,
        from: from.to_string(),
        to: to.as_str().to_string(),
        body: body.to_string(),
        status: if opted_out { MessageStatus::Suppressed } else { MessageStatus::Queued },
        work,
    })
}

/// Writes planned texts and their `sms.send` items inside the caller's transaction, a few
/// statements for all. Call [`Db::work_added`] after commit.
pub async fn queue_planned_in(tx: &mut Tx, texts: &[PlannedSms], now: jiff::Timestamp) -> Result<()> {
    let work: Vec<(i64, NewWork)> = texts.iter().filter_map(|t| t.work.clone()).collect();
    engine::enqueue_many_in(tx, &work, now).await?;
    let rows: Vec<(i64, store::NewMessage<'_>, Option<i64>)> = texts
        .iter()
        .map(|t| {
            let m = store::NewMessage {
                org: t.org,
                brand: Some(t.brand),
                channel: Channel::Sms,
                inbound: false,
                from: &t.from,
                to: &t.to,
                subject: None,
                body: &t.body,
                status: t.status,
                provider: None,
                provider_id: None,
            };
            (t.id.0, m, t.work.as_ref().map(|(id, _)| *id))
        })
        .collect();
    store::insert_planned(tx, &rows, to_millis(now)).await
}

/// Of these numbers, those that opted out, with the brand each opted out of.
pub async fn opted_out_in(tx: &mut Tx, phones: &[&str]) -> Result<Vec<(BrandId, String)>> {
    Ok(store::opted_out_of(tx, phones).await?.into_iter().map(|(b, p)| (BrandId(b), p)).collect())
}

/// Queues a text in its own transaction and wakes the engine.
pub async fn send_sms(db: &Db, clock: &dyn Clock, org: OrgId, brand: BrandId, to: &str, body: &str) -> Result<Message> {
    let brand = tenancy::brand(db, org, brand).await.map_err(|e| match e {
        Error::NotFound => Error::invalid("brand_id", "no such brand"),
        other => other,
    })?;
    let to = PhoneE164::parse_in(to, brand.country).map_err(|m| Error::invalid("to", m))?;
    let mut tx = db.begin().await?;
    let id = queue_sms_in(&mut tx, clock, &brand, &to, body).await?;
    tx.commit().await?;
    db.work_added();
    message(db, org, id).await
}

pub async fn message(db: &Db, org: OrgId, id: MessageId) -> Result<Message> {
    store::get_in_org(db.pool(), org, id).await?.ok_or(Error::NotFound)
}

/// Messages of an organization, newest first, optionally only those to or from one address.
pub async fn list(db: &Db, org: OrgId, address: Option<&str>, limit: i64) -> Result<Vec<Message>> {
    store::list_for_address(db.pool(), org, address, limit.clamp(1, 500)).await
}

/// Links a message to the job it is about (inside the caller's transaction).
pub async fn link_job_in(tx: &mut Tx, id: MessageId, job: crate::ids::JobId) -> Result<()> {
    store::set_job(&mut **tx, id, job.0).await
}

/// Messages about a job, newest first.
pub async fn for_job(db: &Db, org: OrgId, job: crate::ids::JobId) -> Result<Vec<Message>> {
    store::list_for_job(db.pool(), org, job.0).await
}

pub async fn is_opted_out_in(tx: &mut Tx, brand: BrandId, phone: &str) -> Result<bool> {
    store::is_opted_out(&mut **tx, brand, phone).await
}

pub async fn is_opted_out(db: &Db, brand: BrandId, phone: &str) -> Result<bool> {
    store::is_opted_out(db.pool(), brand, phone).await
}

/// An inbound text as a provider webhook delivers it.
#[derive(Debug, Clone)]
pub struct InboundSms {
    pub provider: &'static str,
    pub provider_id: String,
    pub from: String,
    pub to: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub enum InboundOutcome {
    /// Stored (and any consent keyword acted on).
    Stored { message: MessageId, brand: Box<Brand>, keyword: Option<Keyword> },
    /// The provider sent this one before; nothing changed.
    Duplicate,
    /// No brand uses the number (or address) it was sent to.
    UnknownNumber,
}

/// Records an inbound text to a brand's number inside `tx`, deduplicated by the provider's id,
/// and applies consent keywords (STOP, START; HELP queues the brand's help reply). What else
/// the text is (a lead's message, a reply code) is the inbound router's business, above this
/// module. Every read goes through `tx`, so it sees the transaction's own writes.
pub async fn record_inbound_sms_in(tx: &mut Tx, clock: &dyn Clock, sms: &InboundSms) -> Result<InboundOutcome> {
    let to = PhoneE164::from_provider(&sms.to).map(|p| p.as_str().to_string()).unwrap_or_else(|_| sms.to.clone());
    let from = PhoneE164::from_provider(&sms.from).map(|p| p.as_str().to_string()).unwrap_or_else(|_| sms.from.clone());
    let Some(brand) = tenancy::brand_by_sms_number_in(tx, &to).await? else {
        tracing::warn!(to = %to, "inbound text to a number no brand uses");
        return Ok(InboundOutcome::UnknownNumber);
    };
    let now = clock.now();
    let msg = store::NewMessage {
        org: brand.org_id,
        brand: Some(brand.id),
        channel: Channel::Sms,
        inbound: true,
        from: &from,
        to: &to,
        subject: None,
        body: &sms.body,
        status: MessageStatus::Received,
        provider: Some(sms.provider),
        provider_id: Some(&sms.provider_id),
    };
    let Some(id) = store::insert(&mut **tx, &msg, to_millis(now)).await? else {
        return Ok(InboundOutcome::Duplicate);
    };
    let kw = keyword(&sms.body);
    if let Some(k) = kw {
        apply_keyword_in(tx, clock, &brand, &from, k).await?;
    }
    Ok(InboundOutcome::Stored { message: id, brand: Box::new(brand), keyword: kw })
}

/// [`record_inbound_sms_in`] for a batch, in a few statements instead of a few per text (the
/// inbound router's path): the brands of every number at once, every message in one insert,
/// then consent keywords text by text in arrival order (they are rare). The outcome of each
/// text, in order, is what [`record_inbound_sms_in`] would have given it.
pub async fn record_inbound_sms_batch_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    texts: &[InboundSms],
) -> Result<Vec<InboundOutcome>> {
    let normal =
        |n: &str| PhoneE164::from_provider(n).map(|p| p.as_str().to_string()).unwrap_or_else(|_| n.to_string());
    let numbers: Vec<(String, String)> = texts.iter().map(|t| (normal(&t.to), normal(&t.from))).collect();
    let mut wanted: Vec<&str> = numbers.iter().map(|(to, _)| to.as_str()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let brands = tenancy::brands_by_sms_numbers_in(tx, &wanted).await?;
    let now = clock.now();
    let known: Vec<(usize, &Brand)> =
        numbers.iter().enumerate().filter_map(|(i, (to, _))| Some((i, brands.get(to)?))).collect();
    let rows: Vec<store::NewMessage<'_>> = known
        .iter()
        .map(|&(i, brand)| store::NewMessage {
            org: brand.org_id,
            brand: Some(brand.id),
            channel: Channel::Sms,
            inbound: true,
            from: &numbers[i].1,
            to: &numbers[i].0,
            subject: None,
            body: &texts[i].body,
            status: MessageStatus::Received,
            provider: Some(texts[i].provider),
            provider_id: Some(&texts[i].provider_id),
        })
        .collect();
    let ids = store::insert_batch(tx, &rows, to_millis(now)).await?;
    let mut outcomes: Vec<Option<InboundOutcome>> = vec![None; texts.len()];
    for (&(i, brand), id) in known.iter().zip(ids) {
        outcomes[i] = Some(match id {
            None => InboundOutcome::Duplicate,
            Some(message) => {
                let kw = keyword(&texts[i].body);
                if let Some(k) = kw {
                    apply_keyword_in(tx, clock, brand, &numbers[i].1, k).await?;
                }
                InboundOutcome::Stored { message, brand: Box::new(brand.clone()), keyword: kw }
            }
        });
    }
    Ok(outcomes
        .into_iter()
        .zip(&numbers)
        .map(|(outcome, (to, _))| {
            outcome.unwrap_or_else(|| {
                tracing::warn!(to = %to, "inbound text to a number no brand uses");
                InboundOutcome::UnknownNumber
            })
        })
        .collect())
}

/// STOP records an opt-out, START removes it, HELP queues the brand's help reply.
async fn apply_keyword_in(tx: &mut Tx, clock: &dyn Clock, brand: &Brand, from: &str, k: Keyword) -> Result<()> {
    match k {
        Keyword::OptOut => store::opt_out(&mut **tx, brand.org_id, brand.id, from, to_millis(clock.now())).await,
        Keyword::OptIn => store::opt_in(&mut **tx, brand.id, from).await,
        Keyword::Help => {
            let reply = brand
                .sms_help_reply
                .clone()
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| default_help_reply(&brand.name, brand.sms_number.as_deref()));
            if let Ok(phone) = PhoneE164::from_provider(from) {
                queue_sms_in(tx, clock, brand, &phone, &reply).await?;
            }
            Ok(())
        }
    }
}

/// A delivery-status callback. `message` is our id when the callback URL carried it (it does
/// for messages we sent), which finds the message even before its provider id was recorded.
#[derive(Debug, Clone)]
pub struct StatusUpdate {
    pub provider: &'static str,
    pub provider_id: String,
    pub message: Option<MessageId>,
    pub status: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// Applies a status callback if it moves the message forward. Returns whether it did.
pub async fn apply_status(db: &Db, clock: &dyn Clock, update: &StatusUpdate) -> Result<bool> {
    let Some(status) = MessageStatus::from_twilio(&update.status) else { return Ok(false) };
    let id = match update.message {
        Some(id) => Some(id),
        None => store::find_by_provider_id(db.pool(), update.provider, &update.provider_id).await?,
    };
    let Some(id) = id else {
        tracing::warn!(provider_id = %update.provider_id, "status for an unknown message");
        return Ok(false);
    };
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    // Remember the provider id if the callback beat our own record of it.
    sqlx::query(
        "update messages set provider = coalesce(provider, $2), provider_id = coalesce(provider_id, $3) where id = $1",
    )
    .bind(id.0)
    .bind(update.provider)
    .bind(&update.provider_id)
    .execute(&mut *tx)
    .await?;
    let moved =
        store::advance_status(&mut *tx, id, status, update.error_code.as_deref(), update.error_message.as_deref(), now)
            .await?;
    tx.commit().await?;
    if moved && let Some(m) = store::get(db.pool(), id).await? {
        db.publish(crate::db::Event::Outbound { org: m.org_id, message: id.0 });
    }
    Ok(moved)
}

/// Texts handed to the provider at once, per process.
pub const SMS_IN_FLIGHT: usize = 64;

/// Runs `sms.send` work items.
#[derive(Clone)]
pub struct SmsSender {
    provider: Arc<dyn SmsProvider>,
    /// Provider calls in flight at once, whatever the engine's concurrency (Twilio limits
    /// concurrent API requests per account).
    in_flight: Arc<tokio::sync::Semaphore>,
    /// `https://host/webhooks/twilio/sms-status`; `?m=<message id>` is appended.
    status_callback: Option<String>,
    /// Minimum time between two texts from one sender number.
    per_sender_interval: SignedDuration,
}

impl SmsSender {
    pub fn new(
        provider: Arc<dyn SmsProvider>,
        status_callback: Option<String>,
        per_sender_interval: SignedDuration,
    ) -> Self {
        Self {
            provider,
            status_callback,
            per_sender_interval,
            in_flight: Arc::new(tokio::sync::Semaphore::new(SMS_IN_FLIGHT)),
        }
    }

    async fn attempt(&self, ctx: &WorkContext, item: &WorkItem, id: MessageId) -> Result<Outcome> {
        let db = &ctx.db;
        let Some((msg, opted_out)) = store::get_for_send(db.pool(), id).await? else {
            return Ok(Outcome::Fail(format!("message {id} does not exist")));
        };
        // Already accepted by the provider (a crash may have come between recording that and
        // finishing the work item), or no longer meant to be sent.
        if msg.provider_id.is_some() || !matches!(msg.status, MessageStatus::Queued | MessageStatus::Sending) {
            return Ok(Outcome::Done(Some(json!({ "skipped": msg.status.as_str() }))));
        }
        let now = ctx.clock.now();
        if opted_out {
            db.write(async |tx| {
                store::advance_status(
                    &mut **tx,
                    id,
                    MessageStatus::Suppressed,
                    None,
                    Some("recipient opted out"),
                    to_millis(now),
                )
                .await
            })
            .await?;
            return Ok(Outcome::Done(Some(json!({ "suppressed": true }))));
        }
        if item.attempt > 1 {
            // An earlier attempt may have reached the provider before failing or crashing:
            // look for it before sending again.
            let since = msg.created_at - SignedDuration::from_mins(1);
            let found = match self.provider.find_sent(msg.from.clone(), msg.to.clone(), msg.body.clone(), since).await {
                Ok(found) => found,
                Err(e) => return Ok(Outcome::Retry(format!("checking for an earlier send: {e}"))),
            };
            for found in found {
                if store::find_by_provider_id(db.pool(), self.provider.name(), &found.provider_id).await?.is_some() {
                    continue; // another message's
                }
                let status = MessageStatus::from_twilio(&found.status).unwrap_or(MessageStatus::Queued);
                let provider = self.provider.name();
                db.write(async |tx| {
                    store::record_accepted(&mut **tx, id, provider, &found.provider_id, status, to_millis(now)).await
                })
                .await?;
                return Ok(Outcome::Done(Some(json!({ "provider_id": found.provider_id, "recovered": true }))));
            }
        }
        let interval = self.per_sender_interval.as_millis() as i64;
        if interval > 0
            && let Err(next) = db
                .write(async |tx| {
                    store::take_sender_slot(tx, &msg.from, to_millis(now), interval, item.priority == Priority::Urgent)
                        .await
                })
                .await?
        {
            return Ok(Outcome::Defer(from_millis(next)));
        }
        let sms = OutboundSms {
            from: msg.from.clone(),
            to: msg.to.clone(),
            body: msg.body.clone(),
            status_callback: self.status_callback.as_ref().map(|cb| format!("{cb}?m={}", id.0)),
        };
        let sent_at = to_millis(ctx.clock.now());
        let _permit = self.in_flight.acquire().await.map_err(|e| Error::Unexpected(e.to_string()))?;
        match self.provider.send(sms).await {
            Ok(accepted) => {
                let status = MessageStatus::from_twilio(&accepted.status).unwrap_or(MessageStatus::Queued);
                let provider = self.provider.name();
                db.write(async |tx| {
                    store::record_accepted(&mut **tx, id, provider, &accepted.provider_id, status, sent_at).await
                })
                .await?;
                Ok(Outcome::Done(Some(json!({ "provider_id": accepted.provider_id }))))
            }
            Err(SendError::Transient(e)) => Ok(Outcome::Retry(e)),
            Err(SendError::Rejected { code, message }) => {
                let code_text = code.map(|c| c.to_string());
                db.write(async |tx| {
                    store::advance_status(
                        &mut **tx,
                        id,
                        MessageStatus::Failed,
                        code_text.as_deref(),
                        Some(&message),
                        sent_at,
                    )
                    .await
                })
                .await?;
                // Twilio 21610: the recipient replied STOP at the carrier; remember it here too.
                if code == Some(21610)
                    && let Some(brand) = msg.brand_id
                {
                    db.write(async |tx| store::opt_out(&mut **tx, msg.org_id, brand, &msg.to, sent_at).await).await?;
                }
                Ok(Outcome::Done(Some(json!({ "rejected": code, "message": message }))))
            }
        }
    }
}

impl Worker for SmsSender {
    type Args = SendSms;
    fn work(&self, ctx: WorkContext, item: WorkItem, args: SendSms) -> BoxFuture<Outcome> {
        let me = self.clone();
        Box::pin(async move { me.attempt(&ctx, &item, args.message_id).await.into() })
    }
}
