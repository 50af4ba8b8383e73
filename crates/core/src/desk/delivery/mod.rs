//! Delivering a taken message by its caller type's rules ([`super::rules`]). Everything is
//! decided and queued in the transaction that stores the message, so a message is never stored
//! without its deliveries or delivered without being stored:
//!
//! - an email or a text becomes an outbound message with its own engine item (`email.send`,
//!   `sms.send`), sent once with a stable Message-ID or through the crash-safe text path, its
//!   state (sent, delivered, bounced, failed) followed from the provider;
//! - a place in a daily recap is a `waiting` delivery with the recap's instant, and a
//!   `desk.recap` timer per recipient and recap (one item however many messages it holds);
//! - holding for check-in is a `waiting` delivery the client's retrieval ends.
//!
//! A recipient who cannot be reached that way (no email address, no cell, a client with no SMS
//! number) gets a `skipped` delivery naming the reason, so the board shows it at once.
//!
//! What recipients read is in [`wording`]; the recap timers in [`recap`]; secure messages'
//! notices in [`secure`].

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::rules::{self, Method};
use super::{CallerType, Protocol};
use crate::clock::{Clock, from_millis, to_millis};
use crate::db::bulk;
use crate::db::{Db, Tx};
use crate::desk::messages::Answer;
use crate::engine::{self, BoxFuture, NewWork, Outcome, Priority, WorkContext, WorkItem, Worker};
use crate::ids::{BrandId, OrgId};
use crate::messaging::{self, MessageStatus};
use crate::parse::{EmailAddress, PhoneE164};
use crate::tenancy::Brand;
use crate::when;
use crate::{Error, Result};

mod fax;
mod page;
mod recap;
mod secure;
mod wording;

pub use fax::{Faxes, SendFax, gateway_address};
pub use page::{Pages, SendPage};
pub use recap::{RecapSender, SendRecap};
pub use secure::{INBOX_LINK_DAYS, SecureNotice, SecureNotices};
pub use wording::{Preview, TEXT_MAX, preview, push_notice_of, secure_notice_of};
use wording::{email_of, fax_of, page_of, recap_label, text_of, text_within};

/// How one delivery goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Text,
    Recap,
    CheckIn,
    /// In the recipient's private inbox; a notice with the link goes by text or email.
    Secure,
    /// A page, by email to the pager's address or over SNPP.
    Pager,
    /// A PDF of the message through the fax gateway.
    Fax,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Text => "text",
            Channel::Recap => "recap",
            Channel::CheckIn => "check_in",
            Channel::Secure => "secure",
            Channel::Pager => "pager",
            Channel::Fax => "fax",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Channel::Email => "Email",
            Channel::Text => "Text",
            Channel::Recap => "Daily recap",
            Channel::CheckIn => "Held for check-in",
            Channel::Secure => "Secure message",
            Channel::Pager => "Page",
            Channel::Fax => "Fax",
        }
    }
    fn parse(s: &str) -> Result<Channel> {
        Ok(match s {
            "email" => Channel::Email,
            "text" => Channel::Text,
            "recap" => Channel::Recap,
            "check_in" => Channel::CheckIn,
            "secure" => Channel::Secure,
            "pager" => Channel::Pager,
            "fax" => Channel::Fax,
            other => return Err(Error::Unexpected(format!("desk delivery method {other}"))),
        })
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its recap, or for the client to check in.
    Waiting,
    /// Queued or being handed to the provider.
    Sending,
    /// Accepted by the provider (an email's last news).
    Sent,
    /// The carrier confirmed it reached the phone.
    Delivered,
    /// Refused, bounced or undelivered; or never attempted (see the detail).
    Failed,
    /// Opened in the recipient's secure inbox (the read receipt).
    Read,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Waiting => "waiting",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Read => "read",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            DeliveryState::Waiting => "Waiting",
            DeliveryState::Sending => "Sending",
            DeliveryState::Sent => "Sent",
            DeliveryState::Delivered => "Delivered",
            DeliveryState::Failed => "Failed",
            DeliveryState::Read => "Read",
        }
    }
}

/// One attempt to get a message to one person one way.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub message_id: i64,
    pub channel: Channel,
    pub contact_id: Option<i64>,
    /// The contact's name when it was planned ("Office manager").
    pub recipient: String,
    /// The email address or number it goes to.
    pub address: Option<String>,
    pub state: DeliveryState,
    /// Why it failed or was skipped, or which recap it waits for.
    pub detail: Option<String>,
    /// The email or text that carries it.
    pub outbound_id: Option<i64>,
    /// A recap's instant.
    pub due_at: Option<jiff::Timestamp>,
    /// When a secure message was opened in the recipient's inbox.
    pub read_at: Option<jiff::Timestamp>,
    /// The steps its email or text took after being queued, in order: (the message's status
    /// then, `sent`, `delivered`, `failed`, ..., when, why it failed).
    pub history: Vec<(String, jiff::Timestamp, Option<String>)>,
    /// Whether it was ever tried (`false`: refused when planned, e.g. a contact with no cell).
    pub attempted: bool,
    /// `rules`, or who re-delivered it (`user:NAME`).
    pub created_by: String,
    pub created_at: jiff::Timestamp,
    /// When its state last changed (the outbound message's last news).
    pub updated_at: jiff::Timestamp,
}

/// What a delivery plan needs to know of the message.
pub(super) struct Taken<'a> {
    pub id: i64,
    pub brand: &'a Brand,
    pub caller: &'a CallerType,
    pub answers: &'a [Answer],
    pub urgent: bool,
    pub urgent_reason: Option<&'a str>,
    pub in_hours: bool,
    /// Whether the protocol has more than one caller type (then the message names its own).
    pub several_types: bool,
    pub taken_by: &'a str,
    pub taken_at: jiff::Timestamp,
}

struct ContactWays {
    name: String,
    email: Option<String>,
    cell: Option<String>,
    /// An email-to-pager address or the pager's number (E.164).
    pager: Option<String>,
    /// A fax number (E.164) or a fax gateway's address for it.
    fax: Option<String>,
}

async fn contact_in(tx: &mut Tx, org: OrgId, brand: BrandId, id: i64) -> Result<Option<ContactWays>> {
    let name: Option<(String,)> =
        sqlx::query_as("select name from desk_contacts where org_id = $1 and brand_id = $2 and id = $3")
            .bind(org.0)
            .bind(brand.0)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some((name,)) = name else { return Ok(None) };
    let methods: Vec<(String, String)> = sqlx::query_as(
        "select kind, value from desk_contact_methods where org_id = $1 and contact_id = $2 order by position",
    )
    .bind(org.0)
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    let first = |kind: &str| methods.iter().find(|(k, _)| k == kind).map(|(_, v)| v.clone());
    Ok(Some(ContactWays { name, email: first("email"), cell: first("cell"), pager: first("pager"), fax: first("fax") }))
}

struct NewDelivery<'a> {
    channel: Channel,
    contact_id: Option<i64>,
    recipient: &'a str,
    address: Option<&'a str>,
    status: &'static str,
    detail: Option<String>,
    outbound_id: Option<i64>,
    due_at: Option<i64>,
}

/// Records `outbound` (an email or text just queued in `tx`) as carrying queued `delivery`,
/// unless another run of its item recorded one first (its lease ran out while this one was
/// still at it): `false` then, and the caller drops `tx`, so its own email or text is never
/// written.
pub(super) async fn record_outbound_in(
    tx: &mut Tx,
    org: OrgId,
    delivery: i64,
    outbound: messaging::MessageId,
) -> Result<bool> {
    let done = sqlx::query(
        "update desk_deliveries set outbound_id = $3 \
         where org_id = $1 and id = $2 and status = 'queued' and outbound_id is null",
    )
    .bind(org.0)
    .bind(delivery)
    .bind(outbound.0)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(done > 0)
}

async fn insert_in(tx: &mut Tx, org: OrgId, message: i64, d: NewDelivery<'_>, by: &str, now: i64) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "insert into desk_deliveries (org_id, message_id, method, contact_id, recipient, address, status, detail, \
         outbound_id, due_at, created_by, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         returning id",
    )
    .bind(org.0)
    .bind(message)
    .bind(d.channel.as_str())
    .bind(d.contact_id)
    .bind(d.recipient)
    .bind(d.address)
    .bind(d.status)
    .bind(d.detail)
    .bind(d.outbound_id)
    .bind(d.due_at)
    .bind(by)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Plans and queues the deliveries of a message just stored in `tx` (see the module docs).
/// Returns whether anything was queued for the engine.
pub(super) async fn plan_in(tx: &mut Tx, clock: &dyn Clock, protocol: &Protocol, m: &Taken<'_>) -> Result<bool> {
    let rules = rules::matching(&m.caller.deliveries, m.urgent, m.in_hours);
    let (org, now) = (m.brand.org_id, clock.now());
    if rules.is_empty() || rules.iter().any(|r| r.method == Method::CheckIn) {
        let d = NewDelivery {
            channel: Channel::CheckIn,
            contact_id: None,
            recipient: &m.brand.name,
            address: None,
            status: "waiting",
            detail: None,
            outbound_id: None,
            due_at: None,
        };
        insert_in(tx, org, m.id, d, "rules", to_millis(now)).await?;
    }
    let mut queued = false;
    for rule in rules {
        for contact in &rule.contacts {
            let channels: &[Channel] = match rule.method {
                Method::Email => &[Channel::Email],
                Method::Text => &[Channel::Text],
                Method::EmailAndText => &[Channel::Email, Channel::Text],
                Method::Recap => &[Channel::Recap],
                Method::Secure => &[Channel::Secure],
                Method::Pager => &[Channel::Pager],
                Method::Fax => &[Channel::Fax],
                Method::CheckIn => &[],
            };
            for channel in channels {
                queued |= deliver_in(tx, clock, protocol, m, *channel, *contact, "rules").await?;
            }
        }
    }
    Ok(queued)
}

/// Queues one delivery of the message to a contact; returns whether the engine has work.
async fn deliver_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    protocol: &Protocol,
    m: &Taken<'_>,
    channel: Channel,
    contact: i64,
    by: &str,
) -> Result<bool> {
    let (org, brand, now) = (m.brand.org_id, m.brand, clock.now());
    let mut d = NewDelivery {
        channel,
        contact_id: Some(contact),
        recipient: "",
        address: None,
        status: "skipped",
        detail: None,
        outbound_id: None,
        due_at: None,
    };
    let Some(ways) = contact_in(tx, org, brand.id, contact).await? else {
        d.recipient = "A removed contact";
        d.detail = Some("this contact was removed from the client".into());
        insert_in(tx, org, m.id, d, by, to_millis(now)).await?;
        return Ok(false);
    };
    send_in(tx, clock, protocol, m, channel, Some(contact), &ways, by).await
}

/// Queues one delivery of the message to someone reachable as `ways`; returns whether the
/// engine has work.
#[allow(clippy::too_many_arguments)]
async fn send_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    protocol: &Protocol,
    m: &Taken<'_>,
    channel: Channel,
    contact: Option<i64>,
    ways: &ContactWays,
    by: &str,
) -> Result<bool> {
    let (org, brand, now) = (m.brand.org_id, m.brand, clock.now());
    let mut d = NewDelivery {
        channel,
        contact_id: contact,
        recipient: &ways.name,
        address: None,
        status: "skipped",
        detail: None,
        outbound_id: None,
        due_at: None,
    };
    let mut queued = false;
    match channel {
        Channel::Email | Channel::Recap => match ways.email.as_deref().map(EmailAddress::parse) {
            None => d.detail = Some(format!("{} has no email address", ways.name)),
            Some(Err(e)) => d.detail = Some(e),
            Some(Ok(to)) => {
                d.address = ways.email.as_deref();
                if channel == Channel::Email {
                    let (subject, text) = email_of(m, clock.now());
                    let id = messaging::queue_email_in(tx, clock, brand, &to, &subject, &text).await?;
                    (d.status, d.outbound_id) = ("queued", Some(id.0));
                    queued = true;
                } else if let Some(at) = rules::next_recap(&protocol.recap_times, &brand.zone(), m.taken_at) {
                    (d.status, d.due_at) = ("waiting", Some(to_millis(at)));
                    d.detail = Some(format!("the {} recap", recap_label(at, brand)));
                    let contact =
                        contact.ok_or_else(|| Error::invalid("to", "a recap goes to one of the client's contacts"))?;
                    let timer = SendRecap { brand_id: brand.id, contact_id: contact, at: to_millis(at) };
                    let work = NewWork::of(&timer, at)?.org(org).key(format!(
                        "desk.recap:{}:{contact}:{}",
                        brand.id.0,
                        to_millis(at)
                    ));
                    engine::enqueue_in(tx, &work, now).await?;
                    queued = true;
                } else {
                    d.detail = Some("the protocol has no recap time".into());
                }
            }
        },
        Channel::Text => match (ways.cell.as_deref().map(PhoneE164::from_stored), brand.sms_number.as_ref()) {
            (None, _) => d.detail = Some(format!("{} has no cell number", ways.name)),
            (Some(Err(e)), _) => d.detail = Some(e),
            (Some(Ok(_)), None) => d.detail = Some(format!("{} has no SMS number to text from", brand.name)),
            (Some(Ok(to)), Some(_)) => {
                d.address = ways.cell.as_deref();
                let priority = if m.urgent { Priority::Urgent } else { Priority::Routine };
                let body = text_of(m);
                let id = messaging::queue_sms_with_priority_in(tx, clock, brand, &to, &body, priority).await?;
                (d.status, d.outbound_id) = ("queued", Some(id.0));
                queued = true;
            }
        },
        Channel::CheckIn => d.status = "waiting",
        Channel::Pager => match ways.pager.as_deref() {
            None => d.detail = Some(format!("{} has no pager", ways.name)),
            Some(address) if address.contains('@') => match EmailAddress::parse(address) {
                Err(e) => d.detail = Some(e),
                Ok(to) => {
                    d.address = Some(address);
                    let id = messaging::queue_email_in(tx, clock, brand, &to, &brand.name, &page_of(m)).await?;
                    (d.status, d.outbound_id) = ("queued", Some(id.0));
                    queued = true;
                }
            },
            Some(number) => {
                d.address = Some(number);
                d.status = "queued";
                let id = insert_in(tx, org, m.id, d, by, to_millis(now)).await?;
                let work = NewWork::of(&SendPage { delivery_id: id }, now)?.org(org).key(format!("desk.page:{id}"));
                engine::enqueue_in(tx, &work, now).await?;
                return Ok(true);
            }
        },
        Channel::Fax => match ways.fax.as_deref() {
            None => d.detail = Some(format!("{} has no fax number", ways.name)),
            Some(address) => {
                d.address = Some(address);
                d.status = "queued";
                let id = insert_in(tx, org, m.id, d, by, to_millis(now)).await?;
                let work = NewWork::of(&SendFax { delivery_id: id }, now)?.org(org).key(format!("desk.fax:{id}"));
                engine::enqueue_in(tx, &work, now).await?;
                return Ok(true);
            }
        },
        Channel::Secure => match (ways.cell.as_deref(), ways.email.as_deref()) {
            (None, None) => {
                d.detail = Some(format!("{} has no cell number or email address for the notice", ways.name))
            }
            (cell, email) => {
                d.address = cell.or(email);
                d.status = "queued";
                let id = insert_in(tx, org, m.id, d, by, to_millis(now)).await?;
                let work = NewWork::of(&SecureNotice { delivery_id: id }, now)?
                    .org(org)
                    .key(format!("desk.secure_notice:{id}"));
                engine::enqueue_in(tx, &work, now).await?;
                return Ok(true);
            }
        },
    }
    insert_in(tx, org, m.id, d, by, to_millis(now)).await?;
    Ok(queued)
}

#[derive(FromRow)]
struct Row {
    id: i64,
    message_id: i64,
    method: String,
    contact_id: Option<i64>,
    recipient: String,
    address: Option<String>,
    status: String,
    detail: Option<String>,
    outbound_id: Option<i64>,
    due_at: Option<i64>,
    read_at: Option<i64>,
    created_by: String,
    created_at: i64,
    out_status: Option<String>,
    out_error: Option<String>,
    out_updated: Option<i64>,
}

const SELECT: &str = "select d.id, d.message_id, d.method, d.contact_id, d.recipient, d.address, d.status, d.detail, \
                      d.outbound_id, d.due_at, d.read_at, d.created_by, d.created_at, m.status as out_status, \
                      m.error_message as out_error, m.updated_at as out_updated \
                      from desk_deliveries d left join messages m on m.id = d.outbound_id ";

impl TryFrom<Row> for Delivery {
    type Error = Error;
    fn try_from(r: Row) -> Result<Delivery> {
        let out = r.out_status.as_deref().and_then(MessageStatus::parse);
        let (state, detail) = match (r.status.as_str(), out) {
            ("skipped", _) => (DeliveryState::Failed, r.detail),
            _ if r.read_at.is_some() => (DeliveryState::Read, r.detail),
            // Engine work with no outbound message yet (a secure notice, a page, a fax), or
            // none ever (a page over SNPP, a notice by push).
            ("queued", None) => (DeliveryState::Sending, r.detail),
            ("sent", None) => (DeliveryState::Sent, r.detail),
            ("failed", None) => (DeliveryState::Failed, r.detail),
            (_, Some(MessageStatus::Queued | MessageStatus::Sending)) => (DeliveryState::Sending, r.detail),
            (_, Some(MessageStatus::Sent | MessageStatus::Received)) => (DeliveryState::Sent, r.detail),
            (_, Some(MessageStatus::Delivered)) => (DeliveryState::Delivered, r.detail),
            (_, Some(MessageStatus::Suppressed)) => {
                (DeliveryState::Failed, Some("not sent: this number opted out of texts (STOP)".into()))
            }
            (_, Some(MessageStatus::Failed | MessageStatus::Undelivered)) => {
                (DeliveryState::Failed, r.out_error.clone().or(r.detail))
            }
            ("waiting", None) => (DeliveryState::Waiting, r.detail),
            (other, None) => {
                return Err(Error::Unexpected(format!("desk delivery {} is {other} with no message", r.id)));
            }
        };
        Ok(Delivery {
            id: r.id,
            message_id: r.message_id,
            channel: Channel::parse(&r.method)?,
            contact_id: r.contact_id,
            recipient: r.recipient,
            address: r.address,
            state,
            detail,
            outbound_id: r.outbound_id,
            due_at: r.due_at.map(from_millis),
            read_at: r.read_at.map(from_millis),
            history: Vec::new(),
            attempted: r.status != "skipped",
            created_by: r.created_by,
            created_at: from_millis(r.created_at),
            updated_at: from_millis(r.read_at.or(r.out_updated).unwrap_or(r.created_at)),
        })
    }
}

/// The deliveries of these messages, in the order they were planned.
pub async fn for_messages(db: &Db, org: OrgId, ids: &[i64]) -> Result<Vec<Delivery>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{SELECT} where d.org_id = $1 and {} order by d.id",
        bulk::any(db.backend(), "d.message_id", 2, "bigint")
    );
    let rows: Vec<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(bulk::encode(ids)?).fetch_all(db.pool()).await?;
    let mut list = rows.into_iter().map(Delivery::try_from).collect::<Result<Vec<_>>>()?;
    // Each email's or text's steps, read once for all (they are the organization's: the
    // deliveries above are).
    let outbound: Vec<i64> = list.iter().filter_map(|d| d.outbound_id).collect();
    if !outbound.is_empty() {
        let sql = format!(
            "select message_id, status, at, detail from message_events where {} order by id",
            bulk::any(db.backend(), "message_id", 1, "bigint")
        );
        let steps: Vec<(i64, String, i64, Option<String>)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(bulk::encode(&outbound)?).fetch_all(db.pool()).await?;
        for d in &mut list {
            d.history = steps
                .iter()
                .filter(|(m, ..)| Some(*m) == d.outbound_id)
                .map(|(_, status, at, detail)| (status.clone(), from_millis(*at), detail.clone()))
                .collect();
        }
    }
    Ok(list)
}

/// What a delivery of a stored message needs: its client, and the protocol version it was
/// taken under.
async fn context_of(db: &Db, org: OrgId, m: &crate::desk::messages::DeskMessage) -> Result<(Brand, Protocol)> {
    let brand = crate::tenancy::brand(db, org, m.brand_id).await?;
    let protocol = crate::desk::version(db, org, m.brand_id, Some(m.protocol_version))
        .await?
        .ok_or_else(|| Error::Unexpected(format!("desk message {} has no protocol version", m.id)))?
        .protocol;
    Ok((brand, protocol))
}

fn taken<'a>(
    m: &'a crate::desk::messages::DeskMessage,
    brand: &'a Brand,
    protocol: &'a Protocol,
    caller: &'a CallerType,
) -> Taken<'a> {
    Taken {
        id: m.id,
        brand,
        caller,
        answers: &m.answers,
        urgent: m.urgent,
        urgent_reason: m.urgent_reason.as_deref(),
        in_hours: m.in_hours,
        several_types: protocol.caller_types.len() > 1,
        taken_by: &m.taken_by,
        taken_at: m.taken_at,
    }
}

/// The caller type a message was taken as, from its protocol version.
fn caller_of(m: &crate::desk::messages::DeskMessage, protocol: &Protocol) -> CallerType {
    protocol.caller_type(&m.caller_type).cloned().unwrap_or_else(|| CallerType {
        key: m.caller_type.clone(),
        name: m.caller_type_name.clone(),
        fields: Vec::new(),
        deliveries: Vec::new(),
        urgent_flow: None,
    })
}

/// Sends the message again to everyone it was emailed, texted, paged, faxed or securely sent to, the same
/// ways (a new delivery each, by `actor`; a secure message gets a fresh notice); returns how
/// many. Returns the message with its new deliveries.
/// What [`redeliver`] sends again: each (method, contact) the message went to by email, text,
/// secure message, pager or fax, once. Empty: nothing to send again.
pub fn can_redeliver(deliveries: &[Delivery]) -> Vec<(Channel, i64)> {
    let mut again: Vec<(Channel, i64)> = Vec::new();
    for d in deliveries {
        if let (Channel::Email | Channel::Text | Channel::Secure | Channel::Pager | Channel::Fax, Some(c)) =
            (d.channel, d.contact_id)
            && !again.contains(&(d.channel, c))
        {
            again.push((d.channel, c));
        }
    }
    again
}

pub async fn redeliver(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    id: i64,
    actor: &str,
) -> Result<crate::desk::messages::DeskMessage> {
    let m = crate::desk::messages::get(db, org, id).await?;
    let again = can_redeliver(&m.deliveries);
    if again.is_empty() {
        return Err(Error::invalid(
            "message",
            "this message was not emailed, texted, paged, faxed or securely sent to any contact: forward it to someone instead",
        ));
    }
    let (brand, protocol) = context_of(db, org, &m).await?;
    let caller = caller_of(&m, &protocol);
    let t = taken(&m, &brand, &protocol, &caller);
    let mut tx = db.begin().await?;
    for (channel, contact) in &again {
        deliver_in(&mut tx, clock, &protocol, &t, *channel, *contact, actor).await?;
    }
    tx.commit().await?;
    db.work_added();
    db.publish(crate::db::Event::Desk { org, message: m.id });
    crate::desk::messages::get(db, org, m.id).await
}

/// Forwards the message to any email address or number (a landline's cell, a colleague): an
/// email when `to` is an address, a text otherwise (a national number read by the client's
/// country).
pub async fn forward(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    id: i64,
    to: &str,
    actor: &str,
) -> Result<crate::desk::messages::DeskMessage> {
    let m = crate::desk::messages::get(db, org, id).await?;
    let (brand, protocol) = context_of(db, org, &m).await?;
    let to = to.trim();
    let (channel, ways) = if to.contains('@') {
        let email = EmailAddress::parse(to).map_err(|e| Error::invalid("to", e))?;
        (
            Channel::Email,
            ContactWays { name: email.to_string(), email: Some(email.to_string()), cell: None, pager: None, fax: None },
        )
    } else if to.is_empty() {
        return Err(Error::invalid("to", "give an email address or a cell number to forward it to"));
    } else {
        let phone = PhoneE164::parse_in(to, brand.country).map_err(|e| Error::invalid("to", e))?;
        (
            Channel::Text,
            ContactWays {
                name: phone.display(),
                email: None,
                cell: Some(phone.as_str().to_string()),
                pager: None,
                fax: None,
            },
        )
    };
    if channel == Channel::Text && brand.sms_number.is_none() {
        return Err(Error::invalid(
            "to",
            format!("{} has no SMS number to text from: forward it by email", brand.name),
        ));
    }
    let caller = caller_of(&m, &protocol);
    let t = taken(&m, &brand, &protocol, &caller);
    let mut tx = db.begin().await?;
    send_in(&mut tx, clock, &protocol, &t, channel, None, &ways, actor).await?;
    tx.commit().await?;
    db.work_added();
    db.publish(crate::db::Event::Desk { org, message: m.id });
    crate::desk::messages::get(db, org, m.id).await
}

/// A message as its urgent escalation tells people about it (the escalation sits above the
/// desk and words its own asks around these).
#[derive(Debug, Clone)]
pub struct Told {
    pub message: crate::desk::messages::DeskMessage,
    pub brand: Brand,
    pub protocol: Protocol,
    pub caller: CallerType,
}

impl Told {
    /// The message as told, from its parts read already: `protocol` is the version it was
    /// taken under.
    pub fn new(message: crate::desk::messages::DeskMessage, brand: Brand, protocol: Protocol) -> Told {
        let caller = caller_of(&message, &protocol);
        Told { message, brand, protocol, caller }
    }

    pub async fn load(db: &Db, org: OrgId, id: i64) -> Result<Told> {
        let message = crate::desk::messages::get(db, org, id).await?;
        let (brand, protocol) = context_of(db, org, &message).await?;
        let caller = caller_of(&message, &protocol);
        Ok(Told { message, brand, protocol, caller })
    }

    fn taken(&self) -> Taken<'_> {
        taken(&self.message, &self.brand, &self.protocol, &self.caller)
    }

    /// The message's text, shortened to `max` characters.
    pub fn text(&self, max: usize) -> String {
        text_within(&self.taken(), max)
    }

    /// The message's email: subject and text.
    pub fn email(&self) -> (String, String) {
        email_of(&self.taken(), self.message.taken_at)
    }

    /// Puts the message in a contact's secure inbox, with its notice, inside `tx`; false when
    /// the contact cannot be reached that way.
    pub async fn secure_in(&self, tx: &mut Tx, clock: &dyn Clock, contact: i64, by: &str) -> Result<bool> {
        deliver_in(tx, clock, &self.protocol, &self.taken(), Channel::Secure, contact, by).await
    }
}
