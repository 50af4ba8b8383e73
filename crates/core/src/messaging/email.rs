//! Email: outbound through the engine and an SMTP provider; inbound from the SMTP listener or
//! a provider's inbound-parse webhook, routed to the brand whose inbound address it was sent
//! to and deduplicated by Message-ID.

use std::sync::Arc;

use serde_json::json;

use super::model::{Channel, Message, MessageId, MessageStatus};
use super::store;
use crate::clock::{Clock, to_millis};
use crate::db::{Db, Tx};
use crate::engine::{self, BoxFuture, NewWork, Outcome, WorkContext, WorkItem, Worker};
use crate::ids::{BrandId, OrgId};
use crate::parse::EmailAddress;
use crate::providers::SendError;
use crate::providers::email::{EmailProvider, OutboundEmail};
use crate::tenancy::{self, Brand};
use crate::{Error, Result};

/// An `email.send` item: hand the queued email to the mail server.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SendEmail {
    pub message_id: MessageId,
}

impl engine::Kind for SendEmail {
    const NAME: &'static str = "email.send";
}

pub const EMAIL_SEND: &str = <SendEmail as engine::Kind>::NAME;

/// Queues an email from the brand inside the caller's transaction; call [`Db::work_added`]
/// after the commit. The sender is the brand's inbound address (so replies come back as
/// leads) or, without one, the installation's default sender.
pub async fn queue_email_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    brand: &Brand,
    to: &EmailAddress,
    subject: &str,
    text: &str,
) -> Result<MessageId> {
    queue_rich_email_in(tx, clock, brand, to, subject, text, None).await
}

/// [`queue_email_in`] with an HTML version beside the text.
pub async fn queue_rich_email_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    brand: &Brand,
    to: &EmailAddress,
    subject: &str,
    text: &str,
    html: Option<&str>,
) -> Result<MessageId> {
    let subject = crate::parse::required_text(subject, 200).map_err(|m| Error::invalid("subject", m))?;
    if text.trim().is_empty() {
        return Err(Error::invalid("body", "the email is empty"));
    }
    let now = clock.now();
    let msg = store::NewMessage {
        org: brand.org_id,
        brand: Some(brand.id),
        channel: Channel::Email,
        inbound: false,
        from: brand.inbound_email.as_deref().unwrap_or(""),
        to: to.as_str(),
        subject: Some(&subject),
        body: text,
        status: MessageStatus::Queued,
        provider: None,
        provider_id: None,
    };
    let id = store::insert(&mut **tx, &msg, to_millis(now))
        .await?
        .ok_or_else(|| Error::Unexpected("message insert".into()))?;
    if let Some(html) = html {
        store::set_html(&mut **tx, brand.org_id, id, html).await?;
    }
    let work = NewWork::of(&SendEmail { message_id: id }, now)?.org(brand.org_id).key(format!("email:{}", id.0));
    if let Some(work_id) = engine::enqueue_in(tx, &work, now).await? {
        store::set_work_item(&mut **tx, id, work_id.0).await?;
    }
    Ok(id)
}

/// [`queue_email_in`] with a file attached (a fax's PDF).
pub async fn queue_email_with_attachment_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    brand: &Brand,
    to: &EmailAddress,
    subject: &str,
    text: &str,
    file: &crate::providers::email::Attachment,
) -> Result<MessageId> {
    let id = queue_rich_email_in(tx, clock, brand, to, subject, text, None).await?;
    store::add_attachment(&mut **tx, brand.org_id, id, file).await?;
    Ok(id)
}

/// Queues an email in its own transaction and wakes the engine.
pub async fn send_email(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    brand: BrandId,
    to: &str,
    subject: &str,
    text: &str,
) -> Result<Message> {
    let to = EmailAddress::parse(to).map_err(|m| Error::invalid("to", m))?;
    let brand = tenancy::brand(db, org, brand).await.map_err(|e| match e {
        Error::NotFound => Error::invalid("brand_id", "no such brand"),
        other => other,
    })?;
    let mut tx = db.begin().await?;
    let id = queue_email_in(&mut tx, clock, &brand, &to, subject, text).await?;
    tx.commit().await?;
    db.work_added();
    super::message(db, org, id).await
}

/// An inbound email, already parsed (by us from SMTP, or by a provider's webhook).
#[derive(Debug, Clone)]
pub struct InboundEmail {
    pub provider: &'static str,
    /// The Message-ID header (or the provider's id when there is none).
    pub message_id: String,
    pub from: String,
    pub from_name: Option<String>,
    /// Website contact forms send from their own address with the visitor in Reply-To.
    pub reply_to: Option<String>,
    /// Auto-replies, bulk and list mail: stored, but not turned into leads.
    pub automated: bool,
    /// Every recipient; the first that is a brand's inbound address decides the brand.
    pub recipients: Vec<String>,
    pub subject: String,
    pub text: String,
    /// A delivery status notification (RFC 3464) saying one of our emails could not be
    /// delivered.
    pub bounce: Option<Bounce>,
}

/// What a bounce says: which of our emails (its Message-ID) failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    pub original_message_id: String,
    /// The receiving server's words ("550 5.1.1 <ana@example.com>: User unknown"), else the
    /// status code ("5.1.1").
    pub reason: String,
}

/// Reads a delivery status notification: a `multipart/report; report-type=delivery-status`
/// whose report says `Action: failed` (a delay is not a bounce), with the returned message's
/// headers carrying its Message-ID. `None` for anything else.
pub fn read_bounce(raw: &str) -> Option<Bounce> {
    let (head, body) = raw.split_once("\r\n\r\n").or_else(|| raw.split_once("\n\n"))?;
    let head = head.to_ascii_lowercase();
    if !(head.contains("multipart/report") && head.contains("delivery-status")) {
        return None;
    }
    let field = |name: &str| {
        body.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    if !field("Action")?.eq_ignore_ascii_case("failed") {
        return None;
    }
    let original_message_id = field("Message-ID").filter(|id| id.starts_with('<') && id.ends_with('>'))?;
    let reason = match field("Diagnostic-Code") {
        // "smtp; 550 5.1.1 ...": the type is not for people.
        Some(d) => d.split_once(';').map(|(_, r)| r.trim().to_string()).unwrap_or(d),
        None => field("Status").unwrap_or_else(|| "no reason given".into()),
    };
    Some(Bounce { original_message_id, reason })
}

/// Parses a raw RFC 5322 message as received over SMTP.
pub fn parse_raw(raw: &[u8], envelope_from: &str, recipients: Vec<String>) -> InboundEmail {
    let parsed = mail_parser::MessageParser::default().parse(raw);
    let first_from = parsed.as_ref().and_then(|m| m.from()).and_then(|a| a.first());
    let from =
        first_from.and_then(|a| a.address()).map(|a| a.to_lowercase()).unwrap_or_else(|| envelope_from.to_string());
    let from_name = first_from.and_then(|a| a.name()).map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    let reply_to = parsed
        .as_ref()
        .and_then(|m| m.reply_to())
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(|a| a.to_lowercase())
        .filter(|r| *r != from);
    let header = |name: &str| parsed.as_ref().and_then(|m| m.header_raw(name)).map(|v| v.trim().to_lowercase());
    let automated = is_automated(
        header("Auto-Submitted").as_deref(),
        header("Precedence").as_deref(),
        header("List-Id").is_some()
            || header("List-Unsubscribe").is_some()
            || header("X-Autoreply").is_some()
            || header("X-Autorespond").is_some(),
        envelope_from,
    );
    let subject = parsed.as_ref().and_then(|m| m.subject()).unwrap_or_default().to_string();
    let text = parsed.as_ref().and_then(|m| m.body_text(0)).map(|t| t.into_owned()).unwrap_or_default();
    let message_id = parsed.as_ref().and_then(|m| m.message_id()).map(|id| format!("<{id}>")).unwrap_or_else(|| {
        format!("<sha256-{}@switchboard>", crate::secret::hash_token(&String::from_utf8_lossy(raw)))
    });
    let bounce = read_bounce(&String::from_utf8_lossy(raw));
    InboundEmail {
        provider: "email",
        message_id,
        from,
        from_name,
        reply_to,
        automated: automated || bounce.is_some(),
        recipients,
        subject,
        text,
        bounce,
    }
}

/// Marks our email that `bounce` names failed, with the receiving server's reason, inside
/// `tx`: only an outbound email of `org` (another organization's Message-ID changes
/// nothing). Returns the message, if it was ours.
pub async fn record_bounce_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    org: OrgId,
    bounce: &Bounce,
) -> Result<Option<MessageId>> {
    let found: Option<(i64,)> = sqlx::query_as(
        "select id from messages where org_id = $1 and channel = 'email' and direction = 'outbound' and provider_id = $2",
    )
    .bind(org.0)
    .bind(&bounce.original_message_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((id,)) = found else { return Ok(None) };
    let reason = format!("bounced: {}", bounce.reason.chars().take(500).collect::<String>());
    store::advance_status(
        &mut **tx,
        MessageId(id),
        MessageStatus::Failed,
        Some("bounced"),
        Some(&reason),
        to_millis(clock.now()),
    )
    .await?;
    Ok(Some(MessageId(id)))
}

/// RFC 3834 auto-replies (`Auto-Submitted` other than `no`), bulk or list mail (`Precedence`,
/// `List-*`), vacation responders, and bounces (empty envelope sender).
pub fn is_automated(
    auto_submitted: Option<&str>,
    precedence: Option<&str>,
    list_or_autoreply_header: bool,
    envelope_from: &str,
) -> bool {
    auto_submitted.is_some_and(|v| v != "no")
        || precedence.is_some_and(|p| matches!(p, "bulk" | "list" | "junk" | "auto_reply"))
        || list_or_autoreply_header
        || envelope_from.is_empty()
        || envelope_from.starts_with("mailer-daemon@")
}

/// Whether some brand receives mail at `address` (the SMTP listener asks at RCPT time).
pub async fn accepts_email(db: &Db, address: &str) -> Result<bool> {
    Ok(tenancy::brand_by_inbound_email(db, address).await?.is_some())
}

/// The brand that receives mail at one of `email`'s recipients, and that address.
pub async fn brand_for_email(db: &Db, email: &InboundEmail) -> Result<Option<(Brand, String)>> {
    for r in &email.recipients {
        if let Some(b) = tenancy::brand_by_inbound_email(db, r).await? {
            return Ok(Some((b, r.trim().to_lowercase())));
        }
    }
    Ok(None)
}

/// Records an inbound email to `brand` (at address `to`) inside `tx`, deduplicated by
/// Message-ID across every way mail arrives (SMTP, webhook). `None` when it was seen before.
pub async fn record_inbound_email_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    brand: &Brand,
    to: &str,
    email: &InboundEmail,
) -> Result<Option<MessageId>> {
    let msg = store::NewMessage {
        org: brand.org_id,
        brand: Some(brand.id),
        channel: Channel::Email,
        inbound: true,
        from: &email.from,
        to,
        subject: Some(&email.subject),
        body: &email.text,
        status: MessageStatus::Received,
        // The Message-ID is global.
        provider: Some("email"),
        provider_id: Some(&email.message_id),
    };
    store::insert(&mut **tx, &msg, to_millis(clock.now())).await
}

/// Runs `email.send` work items.
#[derive(Clone)]
pub struct EmailSender {
    provider: Arc<dyn EmailProvider>,
    /// Used when a brand has no inbound address, e.g. `dispatch@example.com`.
    default_from: String,
    /// The domain of generated Message-IDs.
    id_domain: String,
}

impl EmailSender {
    pub fn new(provider: Arc<dyn EmailProvider>, default_from: String, id_domain: String) -> Self {
        Self { provider, default_from, id_domain }
    }

    async fn attempt(&self, ctx: &WorkContext, id: MessageId) -> Result<Outcome> {
        let db = &ctx.db;
        let Some(msg) = store::get(db.pool(), id).await? else {
            return Ok(Outcome::Fail(format!("message {id} does not exist")));
        };
        // Already accepted by the provider (a crash may have come between recording that and
        // finishing the work item), or no longer meant to be sent.
        if msg.provider_id.is_some() || !matches!(msg.status, MessageStatus::Queued | MessageStatus::Sending) {
            return Ok(Outcome::Done(Some(json!({ "skipped": msg.status.as_str() }))));
        }
        let brand_name = match msg.brand_id {
            Some(b) => tenancy::brand(db, msg.org_id, b).await.map(|b| b.name).unwrap_or_default(),
            None => String::new(),
        };
        let address = if msg.from.is_empty() { self.default_from.clone() } else { msg.from.clone() };
        let from = if brand_name.is_empty() {
            address.clone()
        } else {
            format!("\"{}\" <{address}>", brand_name.replace('"', "'"))
        };
        let email = OutboundEmail {
            from,
            reply_to: (!msg.from.is_empty()).then(|| msg.from.clone()),
            to: msg.to.clone(),
            subject: msg.subject.clone().unwrap_or_default(),
            text: msg.body.clone(),
            html: store::html(db.pool(), msg.org_id, id).await?,
            message_id: format!("<msg-{}@{}>", id.0, self.id_domain),
            attachments: store::attachments(db.pool(), msg.org_id, id).await?,
        };
        let now = to_millis(ctx.clock.now());
        match self.provider.send(email).await {
            Ok(accepted) => {
                let provider = self.provider.name();
                db.write(async |tx| {
                    store::record_accepted(&mut **tx, id, provider, &accepted.provider_id, MessageStatus::Sent, now)
                        .await
                })
                .await?;
                db.publish(crate::db::Event::Outbound { org: msg.org_id, message: id.0 });
                Ok(Outcome::Done(Some(json!({ "message_id": accepted.provider_id }))))
            }
            Err(SendError::Transient(e)) => Ok(Outcome::Retry(e)),
            Err(SendError::Rejected { code, message }) => {
                let code = code.map(|c| c.to_string());
                db.write(async |tx| {
                    store::advance_status(&mut **tx, id, MessageStatus::Failed, code.as_deref(), Some(&message), now)
                        .await
                })
                .await?;
                db.publish(crate::db::Event::Outbound { org: msg.org_id, message: id.0 });
                Ok(Outcome::Done(Some(json!({ "rejected": message }))))
            }
        }
    }
}

impl Worker for EmailSender {
    type Args = SendEmail;
    fn work(&self, ctx: WorkContext, _item: WorkItem, args: SendEmail) -> BoxFuture<Outcome> {
        let me = self.clone();
        Box::pin(async move { me.attempt(&ctx, args.message_id).await.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_mail_is_parsed_for_sender_subject_text_and_id() {
        let raw = b"From: \"Tara Patel\" <Tara.Patel@Example.com>\r\nTo: jobs@summit.example\r\nSubject: AC not cooling\r\nMessage-ID: <abc123@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHi, the AC blows warm air. Call me at 303-555-0132.\r\n";
        let e = parse_raw(raw, "bounce@example.com", vec!["jobs@summit.example".into()]);
        assert_eq!(e.from, "tara.patel@example.com");
        assert_eq!(e.subject, "AC not cooling");
        assert_eq!(e.message_id, "<abc123@example.com>");
        assert!(e.text.contains("blows warm air"));
    }

    #[test]
    fn mail_without_a_message_id_gets_a_stable_one() {
        let raw = b"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n";
        let a = parse_raw(raw, "", vec![]);
        let b = parse_raw(raw, "", vec![]);
        assert_eq!(a.message_id, b.message_id);
        assert!(a.message_id.starts_with("<sha256-"));
    }

    /// A bounce as Postfix writes it (RFC 3464): a report of three parts, the last the
    /// returned message's headers (CRLF line ends, as on the wire).
    fn postfix_bounce() -> String {
        include_str!("../../../../tests/fixtures/postfix-bounce.eml").replace('\n', "\r\n")
    }

    #[test]
    fn a_bounce_names_our_message_and_the_servers_reason_and_a_delay_or_a_reply_is_no_bounce() {
        let bounce = postfix_bounce();
        let email = parse_raw(bounce.as_bytes(), "", vec!["office@imaginary.example".into()]);
        assert_eq!(
            email.bounce,
            Some(Bounce {
                original_message_id: "<msg-7@imaginary.example>".into(),
                reason: "550 5.1.1 <dana@gone.example>: Recipient address rejected: User unknown".into(),
            })
        );
        assert!(email.automated, "a bounce never becomes a lead");
        // Without a Diagnostic-Code, the status code is the reason.
        let bare = bounce.replace(
            "Diagnostic-Code: smtp; 550 5.1.1 <dana@gone.example>: Recipient address rejected: User unknown\r\n",
            "",
        );
        assert_eq!(read_bounce(&bare).map(|b| b.reason).as_deref(), Some("5.1.1"));
        // "Still trying" is not a bounce.
        assert_eq!(read_bounce(&bounce.replace("Action: failed", "Action: delayed")), None);
        // Nor is a person's reply that quotes a Message-ID.
        let reply = "From: dana@gone.example\r\nSubject: Re: Message\r\n\r\nAction: failed\r\nMessage-ID: <msg-7@imaginary.example>\r\n";
        assert_eq!(read_bounce(reply), None);
    }
}
