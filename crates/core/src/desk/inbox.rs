//! A desk contact's secure inbox: the messages delivered to them by the secure method, opened
//! with a capability link from the notice (scope `inbox`, subject: the contact) on any phone,
//! without an account, or read on the client's own page by a contact with a sign-in
//! ([`read_by_user`]). Opening a message records when it was first read (the read receipt the
//! board shows); the link lets its holder read only that contact's secure messages.

use crate::clock::{Clock, from_millis, to_millis};
use crate::db::Db;
use crate::ids::{BrandId, OrgId};
use crate::links::{self, Scope};
use crate::tenancy::Brand;
use crate::{Error, Result};

use super::messages::{self, DeskMessage};

/// Messages an inbox shows at most, newest first.
pub const INBOX_MAX: i64 = 100;

/// One secure message in an inbox.
#[derive(Debug, Clone)]
pub struct InboxItem {
    pub delivery_id: i64,
    pub message: DeskMessage,
    pub sent_at: jiff::Timestamp,
    /// When this recipient first opened it.
    pub read_at: Option<jiff::Timestamp>,
}

/// A contact's inbox as its link opens it.
#[derive(Debug, Clone)]
pub struct Inbox {
    pub org: OrgId,
    pub contact_id: i64,
    pub contact_name: String,
    pub client: Brand,
    pub items: Vec<InboxItem>,
}

impl Inbox {
    pub fn unread(&self) -> usize {
        self.items.iter().filter(|i| i.read_at.is_none()).count()
    }
}

/// The inbox `token` opens; `NotFound` for any link that does not work.
pub async fn open(db: &Db, clock: &dyn Clock, token: &str) -> Result<Inbox> {
    let link = links::check(db, clock, Scope::Inbox, token).await?;
    let contact: Option<(String, i64)> =
        sqlx::query_as("select name, brand_id from desk_contacts where org_id = $1 and id = $2")
            .bind(link.org.0)
            .bind(link.subject)
            .fetch_optional(db.pool())
            .await?;
    let Some((contact_name, brand)) = contact else { return Err(Error::NotFound) };
    let client = crate::tenancy::brand(db, link.org, BrandId(brand)).await?;
    let rows: Vec<(i64, i64, i64, Option<i64>)> = sqlx::query_as(
        "select id, message_id, created_at, read_at from desk_deliveries \
         where org_id = $1 and contact_id = $2 and method = 'secure' and status <> 'skipped' \
         order by created_at desc, id desc limit $3",
    )
    .bind(link.org.0)
    .bind(link.subject)
    .bind(INBOX_MAX)
    .fetch_all(db.pool())
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for (delivery_id, message, sent, read) in rows {
        items.push(InboxItem {
            delivery_id,
            message: messages::get(db, link.org, message).await?,
            sent_at: from_millis(sent),
            read_at: read.map(from_millis),
        });
    }
    Ok(Inbox { org: link.org, contact_id: link.subject, contact_name, client, items })
}

/// Opens one message of the inbox `token` opens, recording the first read (the board's read
/// receipt). `NotFound` for a message that is not this contact's.
pub async fn read(db: &Db, clock: &dyn Clock, token: &str, delivery: i64) -> Result<(Inbox, InboxItem)> {
    let inbox = open(db, clock, token).await?;
    let Some(item) = inbox.items.iter().find(|i| i.delivery_id == delivery).cloned() else {
        return Err(Error::NotFound);
    };
    if item.read_at.is_some() {
        return Ok((inbox, item));
    }
    let now = clock.now();
    sqlx::query(
        "update desk_deliveries set read_at = $4 where org_id = $1 and contact_id = $2 and id = $3 and read_at is null",
    )
    .bind(inbox.org.0)
    .bind(inbox.contact_id)
    .bind(delivery)
    .bind(to_millis(now))
    .execute(db.pool())
    .await?;
    db.publish(crate::db::Event::Desk { org: inbox.org, message: item.message.id });
    let item = InboxItem { read_at: Some(now), ..item };
    Ok((inbox, item))
}

/// A sign-in saw these messages in full (the client's page): each secure delivery of them to a
/// contact that sign-in is records its first read. Returns how many were new reads.
pub async fn read_by_user(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    user: crate::ids::UserId,
    messages: &[i64],
) -> Result<u64> {
    if messages.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = messages.iter().map(i64::to_string).collect();
    let sql = format!(
        "update desk_deliveries set read_at = $3 where org_id = $1 and method = 'secure' and read_at is null \
         and status <> 'skipped' and message_id in ({}) \
         and contact_id in (select id from desk_contacts where org_id = $1 and user_id = $2)",
        ids.join(", ")
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(user.0)
        .bind(to_millis(clock.now()))
        .execute(db.pool())
        .await?
        .rows_affected();
    if done > 0 {
        for &message in messages {
            db.publish(crate::db::Event::Desk { org, message });
        }
    }
    Ok(done)
}
