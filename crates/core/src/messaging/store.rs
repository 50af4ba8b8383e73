//! SQL for messages, opt-outs and per-sender send slots.

use sqlx::{Any, Executor, FromRow};

use super::model::{Channel, Message, MessageId, MessageStatus};
use crate::clock::from_millis;
use crate::db::Tx;
use crate::ids::{BrandId, OrgId};
use crate::{Error, Result};

#[derive(FromRow)]
struct MessageRow {
    id: i64,
    org_id: i64,
    brand_id: Option<i64>,
    channel: String,
    direction: String,
    from_addr: String,
    to_addr: String,
    subject: Option<String>,
    body: String,
    status: String,
    provider_id: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
    created_at: i64,
    updated_at: i64,
}

macro_rules! message_columns {
    () => {
        "id, org_id, brand_id, channel, direction, from_addr, to_addr, subject, body, status, provider_id, \
         error_code, error_message, created_at, updated_at"
    };
}

impl TryFrom<MessageRow> for Message {
    type Error = Error;
    fn try_from(r: MessageRow) -> Result<Message> {
        Ok(Message {
            id: MessageId(r.id),
            org_id: OrgId(r.org_id),
            brand_id: r.brand_id.map(BrandId),
            channel: if r.channel == "email" { Channel::Email } else { Channel::Sms },
            direction: if r.direction == "inbound" { "inbound" } else { "outbound" },
            from: r.from_addr,
            to: r.to_addr,
            subject: r.subject,
            body: r.body,
            status: MessageStatus::parse(&r.status).ok_or_else(|| Error::Unexpected(format!("status {}", r.status)))?,
            provider_id: r.provider_id,
            error_code: r.error_code,
            error_message: r.error_message,
            created_at: from_millis(r.created_at),
            updated_at: from_millis(r.updated_at),
        })
    }
}

pub struct NewMessage<'a> {
    pub org: OrgId,
    pub brand: Option<BrandId>,
    pub channel: Channel,
    pub inbound: bool,
    pub from: &'a str,
    pub to: &'a str,
    pub subject: Option<&'a str>,
    pub body: &'a str,
    pub status: MessageStatus,
    pub provider: Option<&'a str>,
    pub provider_id: Option<&'a str>,
}

/// Stores the HTML version of an email.
pub async fn set_html<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId, id: MessageId, html: &str) -> Result<()> {
    sqlx::query("update messages set html = $3 where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id.0)
        .bind(html)
        .execute(ex)
        .await?;
    Ok(())
}

/// Keeps a file to send with an email.
pub async fn add_attachment<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    id: MessageId,
    file: &crate::providers::email::Attachment,
) -> Result<()> {
    use base64::Engine;
    sqlx::query(
        "insert into message_attachments (org_id, message_id, filename, content_type, content) values ($1, $2, $3, $4, $5)",
    )
    .bind(org.0)
    .bind(id.0)
    .bind(&file.filename)
    .bind(&file.content_type)
    .bind(base64::engine::general_purpose::STANDARD.encode(&file.bytes))
    .execute(ex)
    .await?;
    Ok(())
}

/// The files an email is sent with, in the order they were added.
pub async fn attachments(
    pool: &sqlx::AnyPool,
    org: OrgId,
    id: MessageId,
) -> Result<Vec<crate::providers::email::Attachment>> {
    use base64::Engine;
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "select filename, content_type, content from message_attachments where org_id = $1 and message_id = $2 order by id",
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(filename, content_type, content)| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(content)
                .map_err(|e| crate::Error::Unexpected(format!("attachment {filename} of message {}: {e}", id.0)))?;
            Ok(crate::providers::email::Attachment { filename, content_type, bytes })
        })
        .collect()
}

/// The HTML version of an email, if it has one.
pub async fn html(pool: &sqlx::AnyPool, org: OrgId, id: MessageId) -> Result<Option<String>> {
    let row: Option<(Option<String>,)> = sqlx::query_as("select html from messages where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id.0)
        .fetch_optional(pool)
        .await?;
    Ok(row.and_then(|(h,)| h))
}

type MessageQuery<'q, O> = sqlx::query::QueryAs<'q, Any, O, sqlx::any::AnyArguments>;

/// Binds a message's eleven columns, in the order of the insert statements below.
fn bind_message<'q, O>(q: MessageQuery<'q, O>, m: &NewMessage<'q>) -> MessageQuery<'q, O> {
    q.bind(m.org.0)
        .bind(m.brand.map(|b| b.0))
        .bind(m.channel.as_str())
        .bind(if m.inbound { "inbound" } else { "outbound" })
        .bind(m.from)
        .bind(m.to)
        .bind(m.subject)
        .bind(m.body)
        .bind(m.status.as_str())
        .bind(m.provider)
        .bind(m.provider_id)
}

/// Inserts a message. `None` when the provider id was already recorded (a webhook retry).
pub async fn insert<'c>(
    ex: impl Executor<'c, Database = Any>,
    m: &NewMessage<'_>,
    now: i64,
) -> Result<Option<MessageId>> {
    let q = sqlx::query_as::<_, (i64,)>(
        "insert into messages (org_id, brand_id, channel, direction, from_addr, to_addr, subject, body, status, \
         provider, provider_id, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
         on conflict (provider, provider_id) where provider_id is not null do nothing returning id",
    );
    let row = bind_message(q, m).bind(now).fetch_optional(ex).await?;
    Ok(row.map(|(id,)| MessageId(id)))
}

/// Inserts many messages with few statements; returns the id of each, in order, or
/// `None` where the provider id was already recorded (the first of two equal ones in the
/// batch wins). Every message must carry a provider and a provider id.
pub async fn insert_batch(tx: &mut Tx, messages: &[NewMessage<'_>], now: i64) -> Result<Vec<Option<MessageId>>> {
    let mut ids = std::collections::HashMap::new();
    if !messages.is_empty() {
        let sql = format!(
            "insert into messages (org_id, brand_id, channel, direction, from_addr, to_addr, subject, body, status, \
             provider, provider_id, created_at, updated_at) \
             select v.c1, v.c2, v.c3, v.c4, v.c5, v.c6, v.c7, v.c8, v.c9, v.c10, v.c11, $1, $1 from ({}) as v \
             where true on conflict (provider, provider_id) where provider_id is not null do nothing \
             returning id, provider, provider_id",
            crate::db::bulk::rows(tx.backend(), 2, &MESSAGE_TYPES)
        );
        let rows: Vec<_> = messages.iter().map(message_row).collect();
        let q = sqlx::query_as::<_, (i64, String, String)>(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(crate::db::bulk::encode(&rows)?);
        for (id, provider, provider_id) in q.fetch_all(&mut **tx).await? {
            ids.insert((provider, provider_id), MessageId(id));
        }
    }
    // A row came back for each key inserted; the first message with that key takes it.
    Ok(messages
        .iter()
        .map(|m| {
            let key = (m.provider.unwrap_or_default().to_string(), m.provider_id.unwrap_or_default().to_string());
            ids.remove(&key)
        })
        .collect())
}

/// The PostgreSQL types of [`message_row`]'s columns.
const MESSAGE_TYPES: [&str; 11] =
    ["bigint", "bigint", "text", "text", "text", "text", "text", "text", "text", "text", "text"];

/// A message's columns (`org_id` to `provider_id`) as a row for [`crate::db::bulk`].
#[allow(clippy::type_complexity)]
fn message_row<'a>(
    m: &NewMessage<'a>,
) -> (
    i64,
    Option<i64>,
    &'static str,
    &'static str,
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a str,
    &'static str,
    Option<&'a str>,
    Option<&'a str>,
) {
    (
        m.org.0,
        m.brand.map(|b| b.0),
        m.channel.as_str(),
        if m.inbound { "inbound" } else { "outbound" },
        m.from,
        m.to,
        m.subject,
        m.body,
        m.status.as_str(),
        m.provider,
        m.provider_id,
    )
}

/// Inserts outbound messages whose ids (and their sending items') were chosen ahead, a few
/// statements for all.
pub async fn insert_planned(tx: &mut Tx, rows: &[(i64, NewMessage<'_>, Option<i64>)], now: i64) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut types = MESSAGE_TYPES.to_vec();
    types.extend(["bigint", "bigint"]);
    let sql = format!(
        "insert into messages (org_id, brand_id, channel, direction, from_addr, to_addr, subject, body, status, \
         provider, provider_id, id, work_item_id, created_at, updated_at) \
         select v.c1, v.c2, v.c3, v.c4, v.c5, v.c6, v.c7, v.c8, v.c9, v.c10, v.c11, v.c12, v.c13, $1, $1 from ({}) as v",
        crate::db::bulk::rows(tx.backend(), 2, &types)
    );
    let values: Vec<_> = rows
        .iter()
        .map(|(id, m, work)| {
            let (c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11) = message_row(m);
            (c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, id, work)
        })
        .collect();
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(crate::db::bulk::encode(&values)?).execute(&mut **tx).await?;
    Ok(())
}

/// Of these numbers, those that opted out of a brand: (brand, number).
pub async fn opted_out_of(tx: &mut Tx, phones: &[&str]) -> Result<Vec<(i64, String)>> {
    if phones.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select brand_id, phone from opt_outs where {}",
        crate::db::bulk::any(tx.backend(), "phone", 1, "text")
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(crate::db::bulk::encode(phones)?).fetch_all(&mut **tx).await?)
}

pub async fn set_work_item<'c>(ex: impl Executor<'c, Database = Any>, id: MessageId, work: i64) -> Result<()> {
    sqlx::query("update messages set work_item_id = $2 where id = $1").bind(id.0).bind(work).execute(ex).await?;
    Ok(())
}

pub async fn set_job<'c>(ex: impl Executor<'c, Database = Any>, id: MessageId, job: i64) -> Result<()> {
    sqlx::query("update messages set job_id = $2 where id = $1").bind(id.0).bind(job).execute(ex).await?;
    Ok(())
}

/// Messages about one job, newest first.
pub async fn list_for_job<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId, job: i64) -> Result<Vec<Message>> {
    let rows: Vec<MessageRow> = sqlx::query_as(concat!(
        "select ",
        message_columns!(),
        " from messages where org_id = $1 and job_id = $2 order by created_at desc, id desc limit 200"
    ))
    .bind(org.0)
    .bind(job)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(Message::try_from).collect()
}

pub async fn get<'c>(ex: impl Executor<'c, Database = Any>, id: MessageId) -> Result<Option<Message>> {
    let row: Option<MessageRow> =
        sqlx::query_as(concat!("select ", message_columns!(), " from messages where id = $1"))
            .bind(id.0)
            .fetch_optional(ex)
            .await?;
    row.map(Message::try_from).transpose()
}

/// A message and whether its recipient has opted out of its brand, in one query (the send path).
pub async fn get_for_send<'c>(ex: impl Executor<'c, Database = Any>, id: MessageId) -> Result<Option<(Message, bool)>> {
    #[derive(FromRow)]
    struct Row {
        #[sqlx(flatten)]
        message: MessageRow,
        opted_out: i64,
    }
    let row: Option<Row> = sqlx::query_as(concat!(
        "select ",
        message_columns!(),
        ", (select count(*) from opt_outs o where o.brand_id = messages.brand_id and o.phone = messages.to_addr) as opted_out \
         from messages where id = $1"
    ))
    .bind(id.0)
    .fetch_optional(ex)
    .await?;
    row.map(|r| Ok((Message::try_from(r.message)?, r.opted_out > 0))).transpose()
}

pub async fn get_in_org<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    id: MessageId,
) -> Result<Option<Message>> {
    let row: Option<MessageRow> =
        sqlx::query_as(concat!("select ", message_columns!(), " from messages where org_id = $1 and id = $2"))
            .bind(org.0)
            .bind(id.0)
            .fetch_optional(ex)
            .await?;
    row.map(Message::try_from).transpose()
}

/// Messages to or from `address` in an organization, newest first.
pub async fn list_for_address<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    address: Option<&str>,
    limit: i64,
) -> Result<Vec<Message>> {
    let rows: Vec<MessageRow> = sqlx::query_as(concat!(
        "select ",
        message_columns!(),
        " from messages where org_id = $1 and ($2 is null or to_addr = $2 or from_addr = $2) \
         order by created_at desc, id desc limit $3"
    ))
    .bind(org.0)
    .bind(address)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(Message::try_from).collect()
}

/// Moves a message to `status` if that is a step forward; returns whether it moved.
pub async fn advance_status<'c>(
    ex: impl Executor<'c, Database = Any>,
    id: MessageId,
    status: MessageStatus,
    error_code: Option<&str>,
    error_message: Option<&str>,
    now: i64,
) -> Result<bool> {
    // The rank comparison is done in SQL so concurrent callbacks cannot race past each other.
    let done = sqlx::query(
        "update messages set status = $2, error_code = coalesce($3, error_code), error_message = coalesce($4, error_message), \
         updated_at = $5 where id = $1 and (case status when 'queued' then 0 when 'sending' then 1 when 'sent' then 2 \
         when 'delivered' then 3 when 'undelivered' then 3 when 'failed' then 3 else 4 end) < $6",
    )
    .bind(id.0)
    .bind(status.as_str())
    .bind(error_code)
    .bind(error_message)
    .bind(now)
    .bind(i64::from(status.rank()))
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the provider's id and acceptance status, unless a callback already moved it on.
pub async fn record_accepted<'c>(
    ex: impl Executor<'c, Database = Any>,
    id: MessageId,
    provider: &str,
    provider_id: &str,
    status: MessageStatus,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "update messages set provider = $2, provider_id = $3, \
         status = case when status in ('queued', 'sending') then $4 else status end, updated_at = $5 where id = $1",
    )
    .bind(id.0)
    .bind(provider)
    .bind(provider_id)
    .bind(status.as_str())
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn find_by_provider_id<'c>(
    ex: impl Executor<'c, Database = Any>,
    provider: &str,
    provider_id: &str,
) -> Result<Option<MessageId>> {
    let row: Option<(i64,)> = sqlx::query_as("select id from messages where provider = $1 and provider_id = $2")
        .bind(provider)
        .bind(provider_id)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(|(id,)| MessageId(id)))
}

pub async fn is_opted_out<'c>(ex: impl Executor<'c, Database = Any>, brand: BrandId, phone: &str) -> Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("select 1 from opt_outs where brand_id = $1 and phone = $2")
        .bind(brand.0)
        .bind(phone)
        .fetch_optional(ex)
        .await?;
    Ok(row.is_some())
}

pub async fn opt_out<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    brand: BrandId,
    phone: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("insert into opt_outs (org_id, brand_id, phone, created_at) values ($1, $2, $3, $4) on conflict (brand_id, phone) do nothing")
        .bind(org.0)
        .bind(brand.0)
        .bind(phone)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn opt_in<'c>(ex: impl Executor<'c, Database = Any>, brand: BrandId, phone: &str) -> Result<()> {
    sqlx::query("delete from opt_outs where brand_id = $1 and phone = $2")
        .bind(brand.0)
        .bind(phone)
        .execute(ex)
        .await?;
    Ok(())
}

/// Takes the sender's next sending slot if it is free at `now` (the slot then starts
/// `interval_ms` later); otherwise returns when it frees up. Two lanes per sender: an urgent
/// text is paced only against other urgent texts and pushes the routine lane back by one
/// interval, so an urgent text never waits behind routine ones (at most one routine and one
/// urgent text can leave within the same interval).
pub async fn take_sender_slot(
    ex: &mut sqlx::AnyConnection,
    sender: &str,
    now: i64,
    interval_ms: i64,
    urgent: bool,
) -> Result<Result<(), i64>> {
    let took: Option<(i64,)> = if urgent {
        sqlx::query_as(
            "insert into sender_slots (sender, next_at, urgent_next_at) values ($1, $2, $2) \
             on conflict (sender) do update set urgent_next_at = excluded.urgent_next_at, \
             next_at = case when sender_slots.next_at > excluded.next_at then sender_slots.next_at \
             else excluded.next_at end \
             where sender_slots.urgent_next_at <= $3 returning urgent_next_at",
        )
    } else {
        sqlx::query_as(
            "insert into sender_slots (sender, next_at, urgent_next_at) values ($1, $2, 0) \
             on conflict (sender) do update set next_at = excluded.next_at \
             where sender_slots.next_at <= $3 returning next_at",
        )
    }
    .bind(sender)
    .bind(now + interval_ms)
    .bind(now)
    .fetch_optional(&mut *ex)
    .await?;
    if took.is_some() {
        return Ok(Ok(()));
    }
    let (next,): (i64,) = sqlx::query_as(if urgent {
        "select urgent_next_at from sender_slots where sender = $1"
    } else {
        "select next_at from sender_slots where sender = $1"
    })
    .bind(sender)
    .fetch_one(ex)
    .await?;
    Ok(Err(next))
}
