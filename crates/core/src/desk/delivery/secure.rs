//! Secure messages: a `desk.secure_notice` item issues an inbox link for the recipient and
//! sends the notice that says a message is waiting and where, never what it says: by Web Push
//! to the devices where they turned notifications on, else (or when no push service takes
//! it) a text to their cell or an email.

use super::*;
use crate::providers::web_push::Urgency;

/// A `desk.secure_notice` item: tell a secure message's recipient it is waiting, with a link
/// to their inbox (never the message itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecureNotice {
    pub delivery_id: i64,
}

impl engine::Kind for SecureNotice {
    const NAME: &'static str = "desk.secure_notice";
    const PRIORITY: Priority = Priority::Urgent;
}

/// Runs `desk.secure_notice` items: issues an inbox link for the recipient, pushes the notice
/// to their devices, and when none took it queues a text or email, in one transaction with
/// the delivery pointing at it; run again, it finds the notice sent and does nothing (a push
/// sent twice after a crash carries the same topic, so the phone shows it once).
#[derive(Clone, Debug)]
pub struct SecureNotices {
    /// The server's public URL, for the inbox link.
    pub base_url: String,
    pub push: std::sync::Arc<crate::providers::web_push::WebPush>,
}

/// How long an inbox link sent in a notice keeps working.
pub const INBOX_LINK_DAYS: i64 = 90;

impl Worker for SecureNotices {
    type Args = SecureNotice;
    fn work(&self, ctx: WorkContext, item: WorkItem, args: SecureNotice) -> BoxFuture<Outcome> {
        let base = self.base_url.trim_end_matches('/').to_string();
        let push = self.push.clone();
        Box::pin(async move {
            let Some(org) = item.org_id else { return Outcome::Fail("a notice with no organization".into()) };
            notify(&ctx.db, ctx.clock.as_ref(), &push, org, args.delivery_id, &base).await.into()
        })
    }
}

pub(super) async fn notify(
    db: &Db,
    clock: &dyn Clock,
    push: &crate::providers::web_push::WebPush,
    org: OrgId,
    delivery: i64,
    base: &str,
) -> Result<Outcome> {
    /// (message, contact, notice address, notice already queued, state, client, urgent).
    type Pending = (i64, Option<i64>, Option<String>, Option<i64>, String, i64, i64);
    let row: Option<Pending> = sqlx::query_as(
        "select d.message_id, d.contact_id, d.address, d.outbound_id, d.status, m.brand_id, m.urgent \
         from desk_deliveries d join desk_messages m on m.id = d.message_id \
         where d.org_id = $1 and d.id = $2 and d.method = 'secure'",
    )
    .bind(org.0)
    .bind(delivery)
    .fetch_optional(db.pool())
    .await?;
    let Some((message, Some(contact), Some(address), None, status, brand, urgent)) = row else {
        return Ok(Outcome::Done(Some(serde_json::json!({ "skipped": "sent already, or nothing to send" }))));
    };
    if status != "queued" {
        return Ok(Outcome::Done(Some(serde_json::json!({ "skipped": "sent already, or nothing to send" }))));
    }
    let urgent = urgent != 0;
    let brand = crate::tenancy::brand(db, org, BrandId(brand)).await?;
    let now = clock.now();
    // The link first, on its own: the push goes out before the delivery records it.
    let mut tx = db.begin().await?;
    let link = crate::links::NewLink {
        scope: crate::links::Scope::Inbox,
        subject: contact,
        about: Some(message),
        expires_at: Some(now + jiff::SignedDuration::from_hours(24 * INBOX_LINK_DAYS)),
    };
    let token = crate::links::issue_in(&mut tx, clock, org, &link).await?;
    tx.commit().await?;
    let url = format!("{base}/inbox/{token}");
    let (title, body) = super::push_notice_of(&brand.name, urgent);
    let tag = format!("desk-{delivery}");
    let payload = serde_json::json!({ "title": title, "body": body, "url": url, "tag": tag }).to_string();
    let notice = crate::providers::web_push::Push {
        payload: payload.as_bytes(),
        ttl: crate::desk::push::NOTICE_TTL,
        urgency: if urgent { Urgency::High } else { Urgency::Normal },
        topic: Some(tag),
    };
    let pushed = crate::desk::push::notify(db, push, org, contact, &notice, now).await?;

    let mut tx = db.begin().await?;
    if pushed > 0 {
        let devices = if pushed == 1 { "1 device".to_string() } else { format!("{pushed} devices") };
        sqlx::query(
            "update desk_deliveries set status = 'sent', detail = $3 \
             where org_id = $1 and id = $2 and status = 'queued' and outbound_id is null",
        )
        .bind(org.0)
        .bind(delivery)
        .bind(format!("Notified by push on {devices}"))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        db.publish(crate::db::Event::Desk { org, message });
        return Ok(Outcome::Done(Some(serde_json::json!({ "pushed": pushed }))));
    }
    let (subject, text) = secure_notice_of(&brand.name, urgent, &url);
    let sent = if address.starts_with('+') {
        let to = PhoneE164::from_stored(&address).map_err(Error::Unexpected)?;
        let priority = if urgent { Priority::Urgent } else { Priority::Routine };
        messaging::queue_sms_with_priority_in(&mut tx, clock, &brand, &to, &text, priority).await
    } else {
        let to = EmailAddress::parse(&address).map_err(Error::Unexpected)?;
        messaging::queue_email_in(&mut tx, clock, &brand, &to, &subject, &text).await
    };
    match sent {
        Ok(id) => {
            if !record_outbound_in(&mut tx, org, delivery, id).await? {
                drop(tx);
                return Ok(Outcome::Done(Some(serde_json::json!({ "skipped": "sent already" }))));
            }
        }
        // The brand lost its SMS number since: the delivery says so.
        Err(Error::Invalid(errors)) => {
            let why = errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; ");
            sqlx::query("update desk_deliveries set status = 'skipped', detail = $3 where org_id = $1 and id = $2")
                .bind(org.0)
                .bind(delivery)
                .bind(why)
                .execute(&mut *tx)
                .await?;
        }
        Err(e) => return Err(e),
    }
    tx.commit().await?;
    db.work_added();
    db.publish(crate::db::Event::Desk { org, message });
    Ok(Outcome::Done(None))
}
