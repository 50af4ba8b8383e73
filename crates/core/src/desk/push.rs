//! Push notifications for secure inboxes: a contact turns them on from their inbox link on
//! each phone or browser they use (the link is the authority: no account needed), and a secure
//! message's notice then goes by Web Push to those devices before any text or email. What
//! travels is who the message is for and the inbox link, never the message itself.

use std::time::Duration;

use jiff::Timestamp;

use crate::Result;
use crate::clock::{Clock, to_millis};
use crate::db::Db;
use crate::ids::OrgId;
use crate::providers::web_push::{Push, Sent, Subscription, WebPush};

/// Devices one contact may register; the oldest go first beyond this.
pub const DEVICES_MAX: i64 = 10;
/// How long a push service keeps a notice for a phone that is off.
pub const NOTICE_TTL: Duration = Duration::from_secs(24 * 3600);

/// Turns notifications on for the inbox `token` opens, on the browser that sent `sub`;
/// returns how many devices the contact now has. The same browser again only refreshes its
/// keys.
pub async fn subscribe(
    db: &Db,
    clock: &dyn Clock,
    token: &str,
    sub: &Subscription,
    user_agent: Option<&str>,
) -> Result<i64> {
    let link = crate::links::check(db, clock, crate::links::Scope::Inbox, token).await?;
    let (org, contact) = (link.org, link.subject);
    let user_agent: Option<String> = user_agent.map(|u| u.chars().take(200).collect());
    let mut tx = db.begin().await?;
    sqlx::query(
        "insert into push_subscriptions (org_id, contact_id, endpoint, p256dh, auth, user_agent, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7) \
         on conflict (org_id, contact_id, endpoint) do update set p256dh = excluded.p256dh, auth = excluded.auth, \
         user_agent = excluded.user_agent, last_error = null",
    )
    .bind(org.0)
    .bind(contact)
    .bind(&sub.endpoint)
    .bind(sub.p256dh_b64())
    .bind(sub.auth_b64())
    .bind(user_agent)
    .bind(to_millis(clock.now()))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "delete from push_subscriptions where org_id = $1 and contact_id = $2 and id not in \
         (select id from push_subscriptions where org_id = $1 and contact_id = $2 order by created_at desc, id desc limit $3)",
    )
    .bind(org.0)
    .bind(contact)
    .bind(DEVICES_MAX)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    devices(db, org, contact).await
}

/// Turns notifications off for one browser of the inbox `token` opens.
pub async fn unsubscribe(db: &Db, clock: &dyn Clock, token: &str, endpoint: &str) -> Result<i64> {
    let link = crate::links::check(db, clock, crate::links::Scope::Inbox, token).await?;
    sqlx::query("delete from push_subscriptions where org_id = $1 and contact_id = $2 and endpoint = $3")
        .bind(link.org.0)
        .bind(link.subject)
        .bind(endpoint.trim())
        .execute(db.pool())
        .await?;
    devices(db, link.org, link.subject).await
}

/// How many devices get a contact's notices by push.
pub async fn devices(db: &Db, org: OrgId, contact: i64) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from push_subscriptions where org_id = $1 and contact_id = $2")
        .bind(org.0)
        .bind(contact)
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}

/// Sends `message` to every device of the contact; returns how many push services accepted
/// it. A subscription the push service no longer knows is forgotten; another failure is kept
/// on the subscription.
pub(crate) async fn notify(
    db: &Db,
    push: &WebPush,
    org: OrgId,
    contact: i64,
    message: &Push<'_>,
    now: Timestamp,
) -> Result<usize> {
    let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
        "select id, endpoint, p256dh, auth from push_subscriptions where org_id = $1 and contact_id = $2 order by id",
    )
    .bind(org.0)
    .bind(contact)
    .fetch_all(db.pool())
    .await?;
    let mut accepted = 0;
    for (id, endpoint, p256dh, auth) in rows {
        let sub = Subscription::stored(endpoint, &p256dh, &auth)?;
        match push.send(&sub, message).await {
            Sent::Accepted => {
                accepted += 1;
                sqlx::query(
                    "update push_subscriptions set last_sent_at = $3, last_error = null where org_id = $1 and id = $2",
                )
                .bind(org.0)
                .bind(id)
                .bind(to_millis(now))
                .execute(db.pool())
                .await?;
            }
            Sent::Gone => {
                tracing::info!(subscription = id, "push subscription gone; forgetting it");
                sqlx::query("delete from push_subscriptions where org_id = $1 and id = $2")
                    .bind(org.0)
                    .bind(id)
                    .execute(db.pool())
                    .await?;
            }
            Sent::Failed(why) => {
                tracing::warn!(subscription = id, %why, "push notice failed");
                sqlx::query("update push_subscriptions set last_error = $3 where org_id = $1 and id = $2")
                    .bind(org.0)
                    .bind(id)
                    .bind(why)
                    .execute(db.pool())
                    .await?;
            }
        }
    }
    Ok(accepted)
}
