//! Faxes: a `desk.fax` item turns the message into a one-page PDF and emails it to the fax
//! gateway (the way RingCentral, eFax, SRFax and InterFAX take faxes: an email to
//! `<number>@<their domain>` with the document attached), recorded on the delivery as the
//! outbound email. A fax given as an address goes to that address; a number goes through the
//! configured gateway (`SWITCHBOARD_FAX_GATEWAY`, e.g. `{number}@rcfax.com`).

use super::*;
use crate::providers::email::Attachment;

/// A `desk.fax` item: fax one delivery's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendFax {
    pub delivery_id: i64,
}

impl engine::Kind for SendFax {
    const NAME: &'static str = "desk.fax";
    const PRIORITY: Priority = Priority::Routine;
}

/// Runs `desk.fax` items; `gateway` is the address pattern for fax numbers (`{number}`: the
/// number's digits with its country code).
#[derive(Clone, Debug)]
pub struct Faxes {
    pub gateway: Option<String>,
}

/// What the board says when fax numbers have nowhere to go.
pub const NO_GATEWAY: &str =
    "no fax gateway is set up for fax numbers (SWITCHBOARD_FAX_GATEWAY): give the fax gateway's address instead";

impl Worker for Faxes {
    type Args = SendFax;
    fn work(&self, ctx: WorkContext, item: WorkItem, args: SendFax) -> BoxFuture<Outcome> {
        let gateway = self.gateway.clone();
        Box::pin(async move {
            let Some(org) = item.org_id else { return Outcome::Fail("a fax with no organization".into()) };
            fax(&ctx.db, ctx.clock.as_ref(), org, args.delivery_id, gateway.as_deref()).await.into()
        })
    }
}

/// The gateway's address for fax `number` (E.164).
pub fn gateway_address(gateway: &str, number: &str) -> Result<EmailAddress, String> {
    EmailAddress::parse(&gateway.replace("{number}", number.trim_start_matches('+')))
}

async fn fax(db: &Db, clock: &dyn Clock, org: OrgId, delivery: i64, gateway: Option<&str>) -> Result<Outcome> {
    let row: Option<(i64, Option<String>)> = sqlx::query_as(
        "select message_id, address from desk_deliveries \
         where org_id = $1 and id = $2 and method = 'fax' and status = 'queued' and outbound_id is null",
    )
    .bind(org.0)
    .bind(delivery)
    .fetch_optional(db.pool())
    .await?;
    let Some((message, Some(address))) = row else {
        return Ok(Outcome::Done(Some(serde_json::json!({ "skipped": "faxed already, or nothing to fax" }))));
    };
    let to = if address.contains('@') {
        EmailAddress::parse(&address)
    } else {
        match gateway {
            Some(g) => gateway_address(g, &address),
            None => Err(NO_GATEWAY.to_string()),
        }
    };
    let mut tx = db.begin().await?;
    let outbound = match to {
        Err(why) => None.ok_or(why),
        Ok(to) => {
            let m = crate::desk::messages::get(db, org, message).await?;
            let (brand, protocol) = context_of(db, org, &m).await?;
            let caller = caller_of(&m, &protocol);
            let (doc, subject, text) = fax_of(&taken(&m, &brand, &protocol, &caller));
            let file = Attachment {
                filename: format!("message-{}.pdf", m.id),
                content_type: "application/pdf".into(),
                bytes: doc.to_bytes(),
            };
            Ok(messaging::queue_email_with_attachment_in(&mut tx, clock, &brand, &to, &subject, &text, &file).await?)
        }
    };
    match &outbound {
        Ok(id) => {
            if !record_outbound_in(&mut tx, org, delivery, *id).await? {
                drop(tx);
                return Ok(Outcome::Done(Some(serde_json::json!({ "skipped": "faxed already" }))));
            }
        }
        Err(why) => {
            sqlx::query(
                "update desk_deliveries set status = 'failed', detail = $3 where org_id = $1 and id = $2 and status = 'queued'",
            )
            .bind(org.0)
            .bind(delivery)
            .bind(why)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    db.work_added();
    db.publish(crate::db::Event::Desk { org, message });
    Ok(Outcome::Done(None))
}
