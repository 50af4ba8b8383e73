//! Pages to a pager's number: a `desk.page` item sends the page over SNPP (RFC 1861) to the
//! paging server and writes its answer on the delivery: sent, or failed with why (a pager id
//! the server does not know; no paging server set up; the server unreachable until the
//! retries ran out). Pagers with an email address are paged by email when the message is
//! taken and never come here.

use super::*;
use crate::providers::SendError;
use crate::providers::snpp::{SnppServer, send_page};

/// A `desk.page` item: send the page of one delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendPage {
    pub delivery_id: i64,
}

impl engine::Kind for SendPage {
    const NAME: &'static str = "desk.page";
    const PRIORITY: Priority = Priority::Urgent;
}

/// Runs `desk.page` items against the configured paging server (none: pages to numbers fail
/// with the reason, and pagers with an email address still work).
#[derive(Clone, Debug)]
pub struct Pages {
    pub server: Option<SnppServer>,
}

impl Worker for Pages {
    type Args = SendPage;
    fn work(&self, ctx: WorkContext, item: WorkItem, args: SendPage) -> BoxFuture<Outcome> {
        let server = self.server.clone();
        Box::pin(async move {
            let Some(org) = item.org_id else { return Outcome::Fail("a page with no organization".into()) };
            let last = item.attempt >= item.max_attempts;
            page(&ctx.db, org, args.delivery_id, server.as_ref(), last).await.into()
        })
    }
}

/// What the board says when pages to numbers have nowhere to go.
pub const NO_SERVER: &str =
    "no paging server is set up for pager numbers (SWITCHBOARD_SNPP_URL): give the pager's email address instead";

async fn page(db: &Db, org: OrgId, delivery: i64, server: Option<&SnppServer>, last: bool) -> Result<Outcome> {
    let row: Option<(i64, Option<String>)> = sqlx::query_as(
        "select message_id, address from desk_deliveries \
         where org_id = $1 and id = $2 and method = 'pager' and status = 'queued'",
    )
    .bind(org.0)
    .bind(delivery)
    .fetch_optional(db.pool())
    .await?;
    let Some((message, Some(address))) = row else {
        return Ok(Outcome::Done(Some(serde_json::json!({ "skipped": "paged already, or nothing to page" }))));
    };
    let finish = async |state: &str, detail: String| -> Result<()> {
        db.write(async |tx| {
            sqlx::query(
                "update desk_deliveries set status = $3, detail = $4 \
                 where org_id = $1 and id = $2 and status = 'queued'",
            )
            .bind(org.0)
            .bind(delivery)
            .bind(state)
            .bind(detail)
            .execute(&mut **tx)
            .await?;
            Ok(())
        })
        .await?;
        db.publish(crate::db::Event::Desk { org, message });
        Ok(())
    };
    let Some(server) = server else {
        finish("failed", NO_SERVER.to_string()).await?;
        return Ok(Outcome::Done(None));
    };
    let m = crate::desk::messages::get(db, org, message).await?;
    let (brand, protocol) = context_of(db, org, &m).await?;
    let caller = caller_of(&m, &protocol);
    let text = page_of(&taken(&m, &brand, &protocol, &caller));
    let pager = PhoneE164::from_stored(&address).map_err(Error::Unexpected)?.national_digits();
    match send_page(server, &pager, &text).await {
        Ok(answer) => {
            finish("sent", format!("the paging server said: {answer}")).await?;
            Ok(Outcome::Done(None))
        }
        Err(SendError::Rejected { message: answer, .. }) => {
            finish("failed", format!("the paging server refused it: {answer}")).await?;
            Ok(Outcome::Done(None))
        }
        Err(SendError::Transient(why)) => {
            if last {
                finish("failed", why.clone()).await?;
            }
            Ok(Outcome::Retry(why))
        }
    }
}
