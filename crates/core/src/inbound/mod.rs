//! The inbound router: everything that comes back from the outside world enters here and is
//! told apart. A text is first stored as it arrived ([`ingest`], acknowledged after the
//! commit); the `inbound.route` worker then records it as a message of the brand it was sent
//! to, applies consent keywords (in `messaging`), and threads anything else into the leads
//! inbox (in `leads`). Escalation reply codes and voicemails join here, above the modules
//! they concern, which know nothing of each other (GoAlert's single result receiver).
//!
//! Exactly once, in arrival order: one router runs at a time (it holds the `inbound.router`
//! fence row for its transaction), takes unrouted texts in id order (the single ingest writer
//! makes that the commit order), and marks each routed in the same transaction as its effects.

pub mod ingest;
pub mod store;

use serde::{Deserialize, Serialize};

pub use ingest::{Ingest, Stored};
pub use store::RawText;

use crate::Result;
use crate::clock::{Clock, to_millis};
use crate::db::{Backend, Db, Event, Tx};
use crate::engine::{self, BoxFuture, Kind, NewWork, Outcome, Priority, WorkContext, WorkItem, Worker, Workers};
use crate::escalation;
use crate::leads::{self, Contact, LeadSource, NewLeadMessage};
use crate::messaging::{self, InboundEmail, InboundOutcome, InboundSms, Keyword};
use crate::parse::PhoneE164;

/// Texts routed per transaction at most; more are left to a follow-up item. On SQLite the
/// inbound writer, first in line for the write lock, waits at most for one such transaction
/// (about 8 ms at 128); fewer, larger ones leave it more of the lock under a backlog. On
/// PostgreSQL 64 routes 8,700 texts/s and 128 only 2,300 (`switchboard bench ingest`).
pub fn route_batch_size(backend: Backend) -> i64 {
    match backend {
        Backend::Sqlite => 128,
        Backend::Postgres => 64,
    }
}

/// An `inbound.route` item: route every text not routed yet. Urgent: a reply may confirm an
/// escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteInbound {}

impl Kind for RouteInbound {
    const NAME: &'static str = "inbound.route";
    const PRIORITY: Priority = Priority::Urgent;
}

/// Whether a router run is queued and not yet started (urgent pending items are few: this
/// reads a short range of the due index).
pub async fn router_waiting_in(tx: &mut Tx) -> Result<bool> {
    let found: Option<(i64,)> =
        sqlx::query_as("select id from work_items where status = 'pending' and priority = 0 and kind = $1 limit 1")
            .bind(<RouteInbound as Kind>::NAME)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(found.is_some())
}

/// Registers the router.
pub fn register(workers: &mut Workers) {
    workers.add(Router);
}

/// What routing one text decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// A consent keyword (STOP, START, HELP), acted on.
    Keyword(Keyword),
    /// Threaded into a lead.
    Lead(crate::ids::LeadId),
    /// Stored as a message, nothing more (a sender whose number cannot be read).
    Message,
    /// The provider delivered it twice (a different webhook id for the same message).
    Duplicate,
    /// Sent to a number no brand uses: kept as it arrived, nothing more.
    UnknownNumber,
    /// A reply code (or a bare "ok") from someone asked to confirm an urgent message: the
    /// escalation reads it.
    EscalationReply,
}

struct Router;

impl Worker for Router {
    type Args = RouteInbound;
    fn work(&self, ctx: WorkContext, _item: WorkItem, _args: RouteInbound) -> BoxFuture<Outcome> {
        Box::pin(async move {
            match route_pending(&ctx.db, ctx.clock.as_ref()).await {
                Ok(n) => Outcome::Done(Some(serde_json::json!({ "routed": n }))),
                Err(e) => Outcome::Retry(e.to_string()),
            }
        })
    }
}

/// Routes up to [`route_batch_size`] unrouted texts in one transaction (queueing a follow-up when
/// more wait); returns how many. The batch is routed optimistically without savepoints; if a
/// text fails, the transaction is rolled back and the batch routed again one savepoint per
/// text, so the failing one is recorded with its error and the others go through.
pub async fn route_pending(db: &Db, clock: &dyn Clock) -> Result<usize> {
    match route_batch(db, clock, false).await {
        Ok(n) => Ok(n),
        Err(e) => {
            tracing::warn!(error = %e, "routing a batch of inbound texts failed; routing them one by one");
            route_batch(db, clock, true).await
        }
    }
}

async fn route_batch(db: &Db, clock: &dyn Clock, isolate: bool) -> Result<usize> {
    let mut tx = db.begin().await?;
    // One router at a time, whichever instance: the fence row is held until the commit.
    engine::fence::advance_in(&mut tx, "inbound.router").await?;
    let limit = route_batch_size(db.backend());
    let texts = store::unrouted(&mut tx, limit).await?;
    let now = clock.now();
    let mut events = Vec::new();
    let mut failed = Vec::new();
    let batch: Vec<InboundSms> = texts
        .iter()
        .map(|text| InboundSms {
            provider: provider_name(&text.provider),
            provider_id: text.provider_id.clone(),
            from: text.from_addr.clone(),
            to: text.to_addr.clone(),
            body: text.body.clone(),
        })
        .collect();
    // A HELP reply is a text to send: the engine is told after the commit.
    let mut queued_reply = false;
    if !isolate {
        for (routed, event) in route_texts_in(&mut tx, clock, &batch).await? {
            queued_reply |= matches!(routed, Routed::Keyword(Keyword::Help) | Routed::EscalationReply);
            metrics::counter!("inbound_routed_total", "as" => label(&routed)).increment(1);
            if let Some(event) = event
                && !events.contains(&event)
            {
                events.push(event);
            }
        }
    }
    for (text, sms) in texts.iter().zip(&batch).filter(|_| isolate) {
        sqlx::query("savepoint route_text").execute(&mut *tx).await?;
        match route_sms_in(&mut tx, clock, sms).await {
            Ok((routed, event)) => {
                sqlx::query("release savepoint route_text").execute(&mut *tx).await?;
                queued_reply |= matches!(routed, Routed::Keyword(Keyword::Help) | Routed::EscalationReply);
                metrics::counter!("inbound_routed_total", "as" => label(&routed)).increment(1);
                events.extend(event);
            }
            Err(e) => {
                sqlx::query("rollback to savepoint route_text").execute(&mut *tx).await?;
                sqlx::query("release savepoint route_text").execute(&mut *tx).await?;
                tracing::error!(text = text.id, error = %e, "routing an inbound text failed; kept as it arrived");
                metrics::counter!("inbound_routed_total", "as" => "error").increment(1);
                failed.push((text.id, e.to_string()));
            }
        }
    }
    let ids: Vec<i64> = texts.iter().map(|t| t.id).collect();
    store::mark_routed(&mut tx, &ids, to_millis(now)).await?;
    for (id, error) in &failed {
        store::set_route_error(&mut tx, *id, error).await?;
    }
    let follow_up = texts.len() as i64 == limit;
    if follow_up {
        engine::enqueue_in(&mut tx, &NewWork::of(&RouteInbound {}, now)?, now).await?;
    }
    tx.commit().await?;
    if follow_up || queued_reply {
        db.work_added();
    }
    for event in events {
        db.publish(event);
    }
    Ok(texts.len())
}

fn provider_name(stored: &str) -> &'static str {
    match stored {
        "twilio" => "twilio",
        _ => "unknown",
    }
}

fn label(r: &Routed) -> &'static str {
    match r {
        Routed::Keyword(_) => "keyword",
        Routed::Lead(_) => "lead",
        Routed::Message => "message",
        Routed::Duplicate => "duplicate",
        Routed::UnknownNumber => "unknown_number",
        Routed::EscalationReply => "escalation_reply",
    }
}

/// Decides what one inbound text is, inside `tx`: a consent keyword, or a lead's message.
pub async fn route_sms_in(tx: &mut Tx, clock: &dyn Clock, sms: &InboundSms) -> Result<(Routed, Option<Event>)> {
    let (message, brand, keyword) = match messaging::record_inbound_sms_in(tx, clock, sms).await? {
        InboundOutcome::Stored { message, brand, keyword } => (message, brand, keyword),
        InboundOutcome::Duplicate => return Ok((Routed::Duplicate, None)),
        InboundOutcome::UnknownNumber => return Ok((Routed::UnknownNumber, None)),
    };
    if let Some(k) = keyword {
        // Consent keywords are not conversations.
        return Ok((Routed::Keyword(k), None));
    }
    let Ok(phone) = PhoneE164::from_provider(&sms.from) else { return Ok((Routed::Message, None)) };
    if escalation::drive::reply_in(tx, &brand, &phone, &sms.body, &sms.provider_id, clock.now()).await? {
        return Ok((Routed::EscalationReply, None));
    }
    let contact = Contact { phone: Some(phone), ..Default::default() };
    let lead_message = NewLeadMessage {
        inbound: true,
        channel: "sms",
        subject: None,
        body: &sms.body,
        message_id: Some(message.0),
        author: None,
        fields: None,
        call_id: None,
    };
    let lead = leads::capture_in(tx, clock, &brand, LeadSource::Sms, &contact, &lead_message).await?;
    Ok((Routed::Lead(lead), Some(Event::Lead { org: brand.org_id, lead })))
}

/// [`route_sms_in`] for a batch, in a few statements for the whole batch (the router's path;
/// a batch that fails is routed again text by text). Each text's result, in order, is the
/// one [`route_sms_in`] would have given it, one after another.
pub async fn route_texts_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    texts: &[InboundSms],
) -> Result<Vec<(Routed, Option<Event>)>> {
    let outcomes = messaging::record_inbound_sms_batch_in(tx, clock, texts).await?;
    let now = clock.now();
    let mut routed: Vec<(Routed, Option<Event>)> = Vec::with_capacity(texts.len());
    // Senders parsed once; the texts that become lead messages, by position.
    let phones: Vec<Option<PhoneE164>> = texts.iter().map(|t| PhoneE164::from_provider(&t.from).ok()).collect();
    let mut captures = Vec::new();
    let mut capture_at = Vec::new();
    for (i, outcome) in outcomes.iter().enumerate() {
        routed.push(match outcome {
            InboundOutcome::Duplicate => (Routed::Duplicate, None),
            InboundOutcome::UnknownNumber => (Routed::UnknownNumber, None),
            InboundOutcome::Stored { keyword: Some(k), .. } => (Routed::Keyword(*k), None),
            InboundOutcome::Stored { message, brand, keyword: None } => match &phones[i] {
                None => (Routed::Message, None),
                Some(phone)
                    if escalation::drive::reply_in(tx, brand, phone, &texts[i].body, &texts[i].provider_id, now)
                        .await? =>
                {
                    (Routed::EscalationReply, None)
                }
                Some(phone) => {
                    captures.push(leads::TextCapture { brand, phone, body: &texts[i].body, message: *message });
                    capture_at.push(i);
                    (Routed::Message, None)
                }
            },
        });
    }
    let made = leads::capture_texts_in(tx, clock, &captures).await?;
    for ((i, lead), capture) in capture_at.into_iter().zip(made).zip(&captures) {
        routed[i] = (Routed::Lead(lead), Some(Event::Lead { org: capture.brand.org_id, lead }));
    }
    Ok(routed)
}

/// Stores an inbound email durably (deduplicated by Message-ID) and, unless it was sent by a
/// machine (auto-replies, bounces), threads it into the leads inbox, in one transaction.
pub async fn receive_email(db: &Db, clock: &dyn Clock, email: &InboundEmail) -> Result<InboundOutcome> {
    let Some((brand, to)) = messaging::brand_for_email(db, email).await? else {
        return Ok(InboundOutcome::UnknownNumber);
    };
    let mut tx = db.begin().await?;
    let Some(id) = messaging::record_inbound_email_in(&mut tx, clock, &brand, &to, email).await? else {
        return Ok(InboundOutcome::Duplicate);
    };
    if let Some(bounce) = &email.bounce {
        // One of our emails could not be delivered: it is marked failed with why, which its
        // timeline shows (a desk delivery, a customer notice).
        messaging::email::record_bounce_in(&mut tx, clock, brand.org_id, bounce).await?;
    }
    let lead = if email.automated {
        None
    } else {
        let text = leads::strip_quoted(&email.text);
        let contact = Contact {
            name: email.from_name.clone(),
            phone: leads::phones_in(&text, brand.country).into_iter().next(),
            email: Some(email.reply_to.clone().unwrap_or_else(|| email.from.clone())),
            address: None,
            service: None,
        };
        let message = NewLeadMessage {
            inbound: true,
            channel: "email",
            subject: Some(&email.subject),
            body: &text,
            message_id: Some(id.0),
            author: None,
            fields: None,
            call_id: None,
        };
        Some(leads::capture_in(&mut tx, clock, &brand, LeadSource::Email, &contact, &message).await?)
    };
    tx.commit().await?;
    if let Some(lead) = lead {
        db.publish(Event::Lead { org: brand.org_id, lead });
    }
    Ok(InboundOutcome::Stored { message: id, brand: Box::new(brand), keyword: None })
}
