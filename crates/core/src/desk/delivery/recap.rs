//! Daily recaps: a `desk.recap` timer per recipient and recap instant sends one email listing the
//! messages waiting for it, oldest first; run again, it finds nothing waiting and sends nothing.

use super::wording::recap_of;
use super::*;

/// A `desk.recap` item: send `contact` the messages waiting for the recap at `at` (ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendRecap {
    pub brand_id: BrandId,
    pub contact_id: i64,
    pub at: i64,
}

impl engine::Kind for SendRecap {
    const NAME: &'static str = "desk.recap";
}

/// Runs `desk.recap` items: one email per recipient and recap, listing the messages waiting
/// for it, oldest first; the deliveries then point at that email. Run again, it finds nothing
/// waiting and sends nothing.
#[derive(Clone, Copy, Debug)]
pub struct RecapSender;

impl Worker for RecapSender {
    type Args = SendRecap;
    fn work(&self, ctx: WorkContext, item: WorkItem, args: SendRecap) -> BoxFuture<Outcome> {
        Box::pin(async move {
            let Some(org) = item.org_id else { return Outcome::Fail("a recap with no organization".into()) };
            send_recap(&ctx.db, ctx.clock.as_ref(), org, &args).await.into()
        })
    }
}

#[derive(FromRow)]
pub(super) struct Waiting {
    pub(super) id: i64,
    pub(super) message_id: i64,
    pub(super) caller_type_name: String,
    pub(super) answers: String,
    pub(super) urgent: i64,
    pub(super) urgent_reason: Option<String>,
    pub(super) taken_at: i64,
}

pub(super) async fn send_recap(db: &Db, clock: &dyn Clock, org: OrgId, args: &SendRecap) -> Result<Outcome> {
    let brand = crate::tenancy::brand(db, org, args.brand_id).await?;
    // Read before the transaction: a connection held while waiting for another would starve
    // the pool when a thousand recaps fall due at 8:00.
    let protocol = crate::desk::current(db, org, brand.id).await?.map(|p| p.protocol);
    let mut tx = db.begin().await?;
    let waiting: Vec<Waiting> = sqlx::query_as(
        "select d.id, d.message_id, m.caller_type_name, m.answers, m.urgent, m.urgent_reason, m.taken_at \
         from desk_deliveries d join desk_messages m on m.id = d.message_id \
         where d.org_id = $1 and d.contact_id = $2 and d.due_at = $3 and d.status = 'waiting' and d.method = 'recap' \
         and m.brand_id = $4 order by m.taken_at, m.id",
    )
    .bind(org.0)
    .bind(args.contact_id)
    .bind(args.at)
    .bind(brand.id.0)
    .fetch_all(&mut *tx)
    .await?;
    if waiting.is_empty() {
        return Ok(Outcome::Done(Some(serde_json::json!({ "messages": 0 }))));
    }
    let ids: Vec<String> = waiting.iter().map(|w| w.id.to_string()).collect();
    let set = |status: &str, outbound: Option<i64>, detail: Option<String>| {
        format!(
            "update desk_deliveries set status = '{status}', outbound_id = {}, detail = {} \
             where org_id = {} and id in ({}) and status = 'waiting'",
            outbound.map(|o| o.to_string()).unwrap_or_else(|| "null".into()),
            if detail.is_some() { "$1" } else { "detail" },
            org.0,
            ids.join(", ")
        )
    };
    let ways = contact_in(&mut tx, org, brand.id, args.contact_id).await?;
    let to = ways.as_ref().and_then(|w| w.email.as_deref()).map(EmailAddress::parse);
    let Some(Ok(to)) = to else {
        let why = match ways {
            None => "this contact was removed from the client".to_string(),
            Some(w) => format!("{} has no email address any more", w.name),
        };
        sqlx::query(sqlx::AssertSqlSafe(set("skipped", None, Some(why.clone())))).bind(why).execute(&mut *tx).await?;
        tx.commit().await?;
        return Ok(Outcome::Done(Some(serde_json::json!({ "skipped": waiting.len() }))));
    };
    let at = from_millis(args.at);
    let since = protocol.and_then(|p| rules::previous_recap(&p.recap_times, &brand.zone(), at));
    let (subject, text) = recap_of(&brand, at, since, &waiting)?;
    let id = messaging::queue_email_in(&mut tx, clock, &brand, &to, &subject, &text).await?;
    let done = sqlx::query(sqlx::AssertSqlSafe(set("sent", Some(id.0), None))).execute(&mut *tx).await?.rows_affected();
    if done < waiting.len() as u64 {
        // Another run of this recap (its lease ran out while this one was at it) sent it.
        drop(tx);
        return Ok(Outcome::Done(Some(serde_json::json!({ "skipped": "sent already" }))));
    }
    tx.commit().await?;
    db.work_added();
    for m in waiting.iter().map(|w| w.message_id).collect::<std::collections::BTreeSet<_>>() {
        db.publish(crate::db::Event::Desk { org, message: m });
    }
    Ok(Outcome::Done(Some(serde_json::json!({ "messages": waiting.len(), "email": id.0 }))))
}
