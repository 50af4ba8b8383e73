//! The leads inbox: every inbound text, email and web form becomes a lead, threaded per person
//! and brand while the lead is open; dispatchers reply from it and convert it to a job.
//!
//! Capture happens in the same transaction that stores the inbound message, so an
//! acknowledged message is always in the inbox. Conversion takes the lead with a conditional
//! update first, so of many concurrent conversions exactly one creates a job.

pub mod model;
mod store;

pub use model::{
    Contact, ConvertInput, Converted, CustomerInput, Lead, LeadFilter, LeadMessage, LeadSource, LeadStatus, phones_in,
    strip_quoted,
};
pub use store::NewLeadMessage;

use crate::clock::{Clock, to_millis};
use crate::customers::{self, NewCustomer};
use crate::db::{Db, Event, Tx};
use std::collections::HashMap;

use crate::ids::{BrandId, LeadId, OrgId, UserId};
use crate::jobs::{self, JobStatus, NewJob};
use crate::messaging::{self, MessageId};
use crate::parse::{Country, EmailAddress, PhoneE164, optional_text, required_text};
use crate::tenancy::{self, Brand, UrgentWords};
use crate::{Error, Result};

/// The person's open lead for this brand (by phone, then email), or a new one opened with
/// `source`. Runs in the caller's transaction.
async fn open_lead_in(tx: &mut Tx, brand: &Brand, source: LeadSource, contact: &Contact, now: i64) -> Result<LeadId> {
    let mut existing = match &contact.phone {
        Some(p) => store::find_open_by_phone(tx, brand.id, p.as_str()).await?,
        None => None,
    };
    if existing.is_none()
        && let Some(e) = &contact.email
    {
        existing = store::find_open_by_email(tx, brand.id, e).await?;
    }
    match existing {
        Some(id) => Ok(id),
        None => match store::insert(tx, brand.org_id, brand.id, source, contact, now).await? {
            Some(id) => Ok(id),
            // Another message from this number opened a lead a moment ago: join it.
            None => {
                let phone = contact.phone.as_ref().map(|p| p.as_str()).unwrap_or_default();
                store::find_open_by_phone(tx, brand.id, phone)
                    .await?
                    .ok_or_else(|| Error::Unexpected("open lead vanished".into()))
            }
        },
    }
}

/// Adds an inbound message to the person's open lead for this brand, or opens a new lead.
/// Matching is by phone, then by email. Runs in the caller's transaction.
pub async fn capture_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    brand: &Brand,
    source: LeadSource,
    contact: &Contact,
    message: &NewLeadMessage<'_>,
) -> Result<LeadId> {
    let now = to_millis(clock.now());
    let lead = open_lead_in(tx, brand, source, contact, now).await?;
    store::add_message(tx, brand.org_id, lead, message, contact, now).await?;
    Ok(lead)
}

/// An inbound text to thread, for [`capture_texts_in`].
#[derive(Debug, Clone, Copy)]
pub struct TextCapture<'a> {
    pub brand: &'a Brand,
    pub phone: &'a PhoneE164,
    pub body: &'a str,
    /// The stored message it came as.
    pub message: MessageId,
}

/// [`capture_in`] for a batch of inbound texts, in a few statements instead of a few per text
/// (the inbound router's path): open leads of every sender at once, new leads for the rest in
/// one insert, the thread messages in arrival order in one more. Returns each text's lead, in
/// order: the same lead [`capture_in`] would have chosen, one after another.
pub async fn capture_texts_in(tx: &mut Tx, clock: &dyn Clock, texts: &[TextCapture<'_>]) -> Result<Vec<LeadId>> {
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    let now = to_millis(clock.now());
    let keys: Vec<(crate::ids::BrandId, &str)> = texts.iter().map(|t| (t.brand.id, t.phone.as_str())).collect();
    let mut open = store::find_open_by_phones(tx, &keys).await?;
    // The senders without an open lead, each once, in the order they first wrote.
    let mut missing: Vec<(OrgId, crate::ids::BrandId, &str)> = Vec::new();
    for t in texts {
        let key = (t.brand.id, t.phone.as_str().to_string());
        if !open.contains_key(&key) && !missing.iter().any(|(_, b, p)| (*b, *p) == (t.brand.id, t.phone.as_str())) {
            missing.push((t.brand.org_id, t.brand.id, t.phone.as_str()));
        }
    }
    if !missing.is_empty() {
        open.extend(store::insert_sms_leads(tx, &missing, now).await?);
        // A lead opened meanwhile by another writer (a web form with this phone): join it.
        let raced: Vec<(crate::ids::BrandId, &str)> = missing
            .iter()
            .filter(|(_, b, p)| !open.contains_key(&(*b, p.to_string())))
            .map(|(_, b, p)| (*b, *p))
            .collect();
        if !raced.is_empty() {
            open.extend(store::find_open_by_phones(tx, &raced).await?);
        }
    }
    let mut leads = Vec::with_capacity(texts.len());
    let mut thread = Vec::with_capacity(texts.len());
    for t in texts {
        let lead = *open
            .get(&(t.brand.id, t.phone.as_str().to_string()))
            .ok_or_else(|| Error::Unexpected("open lead vanished".into()))?;
        leads.push(lead);
        thread.push((t.brand.org_id, lead, t.body, t.message.0));
    }
    store::add_inbound_texts(tx, &thread, now).await?;
    Ok(leads)
}

/// The inbox with each lead's thread: open leads whose customer wrote one of their brand's
/// urgent words first, then newest activity first.
pub async fn list(db: &Db, org: OrgId, filter: &LeadFilter) -> Result<Vec<Lead>> {
    let mut leads = store::list(db.pool(), org, filter).await?;
    let ids: Vec<LeadId> = leads.iter().map(|l| l.id).collect();
    let mut threads = store::messages_for(db.pool(), org, &ids).await?;
    let words: HashMap<BrandId, UrgentWords> =
        tenancy::list_brands(db, org).await?.into_iter().map(|b| (b.id, b.urgent_words)).collect();
    for lead in &mut leads {
        lead.messages = threads.remove(&lead.id).unwrap_or_default();
        if let Some(w) = words.get(&lead.brand_id) {
            lead.flag_urgent(w);
        }
    }
    // Stable: within each group, newest activity first as the store returned them.
    leads.sort_by_key(|l| !(l.status.is_open() && l.urgent.is_some()));
    Ok(leads)
}

pub async fn get(db: &Db, org: OrgId, id: LeadId) -> Result<Lead> {
    let mut lead = store::get(db.pool(), org, id).await?.ok_or(Error::NotFound)?;
    lead.messages = store::messages_for(db.pool(), org, &[id]).await?.remove(&id).unwrap_or_default();
    let brand = tenancy::brand(db, org, lead.brand_id).await?;
    lead.flag_urgent(&brand.urgent_words);
    Ok(lead)
}

/// Open leads with a message nobody has opened yet, of one brand or of all: the sidebar's count.
pub async fn unread_count(db: &Db, org: OrgId, brand: Option<BrandId>) -> Result<i64> {
    store::unread_count(db.pool(), org, brand).await
}

/// Opening a lead clears its unread marker.
pub async fn mark_read(db: &Db, org: OrgId, id: LeadId) -> Result<()> {
    if store::mark_read(db.pool(), org, id).await? {
        db.publish(Event::Lead { org, lead: id });
    }
    Ok(())
}

pub async fn archive(db: &Db, clock: &dyn Clock, org: OrgId, id: LeadId) -> Result<()> {
    let now = to_millis(clock.now());
    if store::set_status(db.pool(), org, id, &[LeadStatus::New, LeadStatus::Contacted], LeadStatus::Archived, now)
        .await?
    {
        db.publish(Event::Lead { org, lead: id });
        return Ok(());
    }
    let lead = store::get(db.pool(), org, id).await?.ok_or(Error::NotFound)?;
    match lead.status {
        LeadStatus::Archived => Ok(()),
        _ => Err(Error::Conflict(format!("a {} lead cannot be archived", lead.status.label().to_lowercase()))),
    }
}

/// Restores an archived lead to Contacted if it was answered, else New.
pub async fn restore(db: &Db, clock: &dyn Clock, org: OrgId, id: LeadId) -> Result<()> {
    let lead = get(db, org, id).await?;
    if lead.status != LeadStatus::Archived {
        return Ok(());
    }
    let answered = lead.messages.iter().any(|m| m.direction == "outbound");
    let to = if answered { LeadStatus::Contacted } else { LeadStatus::New };
    store::set_status(db.pool(), org, id, &[LeadStatus::Archived], to, to_millis(clock.now())).await?;
    db.publish(Event::Lead { org, lead: id });
    Ok(())
}

/// How a reply goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyChannel {
    Sms,
    Email,
}

/// Replies from the brand (by text to the lead's phone, or by email) and moves New to
/// Contacted, in one transaction with the queued message.
pub async fn reply(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    author: Option<UserId>,
    id: LeadId,
    channel: Option<ReplyChannel>,
    body: &str,
) -> Result<MessageId> {
    let body = required_text(body, 1600).map_err(|m| Error::invalid("body", m))?;
    let lead = store::get(db.pool(), org, id).await?.ok_or(Error::NotFound)?;
    let brand = tenancy::brand(db, org, lead.brand_id).await?;
    let channel = match channel {
        Some(c) => c,
        None if lead.phone.is_some() => ReplyChannel::Sms,
        None => ReplyChannel::Email,
    };
    let mut tx = db.begin().await?;
    let message = match channel {
        ReplyChannel::Sms => {
            let phone = lead
                .phone
                .as_deref()
                .ok_or_else(|| Error::invalid("channel", "this lead has no phone number; reply by email"))?;
            let phone = PhoneE164::from_stored(phone)
                .or_else(|_| PhoneE164::parse_in(phone, brand.country))
                .map_err(|m| Error::invalid("channel", m))?;
            messaging::queue_sms_in(&mut tx, clock, &brand, &phone, &body).await?
        }
        ReplyChannel::Email => {
            let email = lead
                .email
                .as_deref()
                .ok_or_else(|| Error::invalid("channel", "this lead has no email address; reply by text"))?;
            let email = EmailAddress::parse(email).map_err(|m| Error::invalid("channel", m))?;
            let subject = lead
                .messages_subject()
                .map(|s| if s.to_lowercase().starts_with("re:") { s } else { format!("Re: {s}") })
                .unwrap_or_else(|| format!("Your request to {}", brand.name));
            messaging::queue_email_in(&mut tx, clock, &brand, &email, &subject, &body).await?
        }
    };
    let m = NewLeadMessage {
        inbound: false,
        channel: if channel == ReplyChannel::Sms { "sms" } else { "email" },
        subject: None,
        body: &body,
        message_id: Some(message.0),
        author,
        fields: None,
        call_id: None,
    };
    let now = to_millis(clock.now());
    store::add_message(&mut tx, org, id, &m, &Contact::default(), now).await?;
    store::set_status(&mut *tx, org, id, &[LeadStatus::New], LeadStatus::Contacted, now).await?;
    tx.commit().await?;
    db.work_added();
    db.publish(Event::Lead { org, lead: id });
    Ok(message)
}

/// Texts or emails a customer from the office (their card), kept as a conversation: the
/// message joins the customer's open lead for the brand, where their answers thread, or opens
/// one. Everything is checked before anything is written.
#[allow(clippy::too_many_arguments)]
pub async fn message_customer(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    author: Option<UserId>,
    brand: BrandId,
    customer: &customers::Customer,
    channel: ReplyChannel,
    body: &str,
) -> Result<LeadId> {
    let mut v = crate::error::Validator::new();
    if body.trim().is_empty() {
        v.add("body", "write the message first");
    } else {
        v.check("body", required_text(body, 1600));
    }
    let brand = match tenancy::brand(db, org, brand).await {
        Ok(b) => Some(b),
        Err(Error::NotFound) => {
            v.add("brand_id", "pick one of your brands");
            None
        }
        Err(e) => return Err(e),
    };
    match channel {
        ReplyChannel::Sms if customer.phone.is_none() => {
            v.add("channel", format!("{} has no phone number on file: send an email, or add a number", customer.name))
        }
        ReplyChannel::Sms if brand.as_ref().is_some_and(|b| b.sms_number.is_none()) => v.add(
            "channel",
            format!(
                "{} has no SMS number to text from: add one in Settings -> Brands, or send an email",
                brand.as_ref().map(|b| b.name.as_str()).unwrap_or_default()
            ),
        ),
        ReplyChannel::Email if customer.email.is_none() => {
            v.add("channel", format!("{} has no email address on file: send a text, or add an address", customer.name))
        }
        _ => {}
    }
    v.finish()?;
    let Some(brand) = brand else { return Err(Error::Unexpected("brand check lost".into())) };
    let contact = Contact {
        name: Some(customer.name.clone()),
        phone: customer.phone.clone(),
        email: customer.email.as_ref().map(|e| e.as_str().to_string()),
        address: customer.address.clone(),
        service: None,
    };
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    let source = if channel == ReplyChannel::Sms { LeadSource::Sms } else { LeadSource::Email };
    let lead = open_lead_in(&mut tx, &brand, source, &contact, now).await?;
    // The office started it: nothing here is unread.
    store::mark_read(&mut *tx, org, lead).await?;
    tx.commit().await?;
    reply(db, clock, org, author, lead, Some(channel), body).await?;
    Ok(lead)
}

/// Converts a lead to a job, atomically: the customer (picked, matched by phone, or created),
/// the job with the brand's next code, the link, and the lead's Converted status commit
/// together or not at all. A lead already converted gets a `Conflict` naming the job and who
/// converted it.
#[tracing::instrument(skip(db, clock, input), fields(org = %org, lead = %id))]
#[allow(clippy::too_many_arguments)]
pub async fn convert(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    by: Option<UserId>,
    actor: &str,
    id: LeadId,
    input: &ConvertInput,
) -> Result<Converted> {
    let service = required_text(&input.service, 120).map_err(|m| Error::invalid("service", m))?;
    let address = optional_text(input.address.as_deref(), 300).map_err(|m| Error::invalid("address", m))?;
    let mut window = crate::error::Validator::new();
    jobs::check_window(&mut window, input.scheduled_start, input.scheduled_end);
    window.finish()?;
    let new_customer = match (&input.customer_id, &input.customer) {
        (Some(_), _) => None,
        (None, Some(c)) => {
            // A phone typed without a country code is read by the lead's brand's country.
            let lead = store::get(db.pool(), org, id).await?.ok_or(Error::NotFound)?;
            let country = tenancy::brand(db, org, lead.brand_id).await?.country;
            Some(validate_customer(c, country)?)
        }
        (None, None) => None,
    };
    let mut tx = db.begin().await?;
    let now = to_millis(clock.now());
    if !store::claim_for_conversion(&mut tx, org, id, by, now).await? {
        drop(tx);
        let lead = store::get(db.pool(), org, id).await?.ok_or(Error::NotFound)?;
        return Err(match (lead.status, lead.job_code) {
            (LeadStatus::Converted, Some(code)) => Error::Conflict(format!(
                "already converted to {code}{}",
                lead.converted_by.map(|n| format!(" by {n}")).unwrap_or_default()
            )),
            (LeadStatus::Archived, _) => Error::Conflict("this lead is archived; restore it before converting".into()),
            _ => Error::Conflict("this lead was just converted by someone else".into()),
        });
    }
    let lead = store::get(&mut *tx, org, id).await?.ok_or(Error::NotFound)?;
    let customer = match (input.customer_id, new_customer) {
        (Some(cid), _) => {
            customers::get_in(&mut tx, org, cid)
                .await?
                .ok_or_else(|| Error::invalid("customer_id", "no such customer"))?
                .id
        }
        (None, Some(c)) => customers::create_or_match_in(&mut tx, clock, org, &c).await?,
        (None, None) => {
            // No customer given: use the lead's own contact details.
            let c =
                NewCustomer {
                    name: lead.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| {
                        lead.phone.clone().or(lead.email.clone()).unwrap_or_else(|| "Unknown".into())
                    }),
                    phone: lead.phone.as_deref().and_then(|p| PhoneE164::parse(p).ok()),
                    email: lead.email.as_deref().and_then(|e| EmailAddress::parse(e).ok()),
                    address: lead.address.clone(),
                    notes: None,
                };
            customers::create_or_match_in(&mut tx, clock, org, &c).await?
        }
    };
    let job = NewJob {
        brand: lead.brand_id,
        customer,
        service,
        status: if input.scheduled_start.is_some() { JobStatus::Scheduled } else { JobStatus::Estimate },
        address: address.or(lead.address.clone()),
        scheduled_start: input.scheduled_start,
        scheduled_end: input.scheduled_end,
        techs: input.tech_ids.clone(),
    };
    let (job_id, job_code) = jobs::create_in(&mut tx, clock, org, actor, &job).await?;
    store::set_job(&mut tx, org, id, job_id).await?;
    tx.commit().await?;
    db.work_added();
    db.publish(Event::Lead { org, lead: id });
    db.publish(Event::Job { org, job: job_id });
    tracing::info!(job = %job_code, "lead converted");
    Ok(Converted { lead_id: id, job_id, job_code, customer_id: customer })
}

fn validate_customer(c: &CustomerInput, country: Country) -> Result<NewCustomer> {
    let mut v = crate::error::Validator::new();
    let name = v.check("customer.name", required_text(&c.name, 120));
    let phone = match c.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => Some(None),
        Some(p) => v.check("customer.phone", PhoneE164::parse_in(p, country)).map(Some),
    };
    let email = match c.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        None => Some(None),
        Some(e) => v.check("customer.email", EmailAddress::parse(e)).map(Some),
    };
    let address = v.check("customer.address", optional_text(c.address.as_deref(), 300));
    v.finish()?;
    match (name, phone, email, address) {
        (Some(name), Some(phone), Some(email), Some(address)) => {
            Ok(NewCustomer { name, phone, email, address, notes: None })
        }
        _ => Err(Error::Unexpected("customer validation lost a field".into())),
    }
}

impl Lead {
    /// The subject of the latest email in the thread, for replies.
    fn messages_subject(&self) -> Option<String> {
        self.messages.iter().rev().find_map(|m| m.subject.clone().filter(|s| !s.trim().is_empty()))
    }
}
