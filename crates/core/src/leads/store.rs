//! SQL for leads and their threads.

use std::collections::HashMap;

use sqlx::{Any, AnyPool, Executor, FromRow};

use super::model::{Contact, Lead, LeadFilter, LeadMessage, LeadSource, LeadStatus};
use crate::clock::from_millis;
use crate::db::Tx;
use crate::ids::{BrandId, JobId, LeadId, OrgId, UserId};
use crate::{Error, Result};

pub async fn find_open_by_phone(tx: &mut Tx, brand: BrandId, phone: &str) -> Result<Option<LeadId>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "select id from leads where brand_id = $1 and phone = $2 and status in ('new', 'contacted') order by id limit 1",
    )
    .bind(brand.0)
    .bind(phone)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(id,)| LeadId(id)))
}

pub async fn find_open_by_email(tx: &mut Tx, brand: BrandId, email: &str) -> Result<Option<LeadId>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "select id from leads where brand_id = $1 and email = $2 and status in ('new', 'contacted') order by id limit 1",
    )
    .bind(brand.0)
    .bind(email)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(id,)| LeadId(id)))
}

/// A new lead; `None` when an open lead for this phone and brand already exists (the caller
/// then joins that one).
pub async fn insert(
    tx: &mut Tx,
    org: OrgId,
    brand: BrandId,
    source: LeadSource,
    c: &Contact,
    now: i64,
) -> Result<Option<LeadId>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "insert into leads (org_id, brand_id, source, status, name, phone, email, address, service, unread, \
         last_message_at, created_at, updated_at) values ($1, $2, $3, 'new', $4, $5, $6, $7, $8, 1, $9, $9, $9) \
         on conflict (brand_id, phone) where phone is not null and status in ('new', 'contacted') do nothing returning id",
    )
    .bind(org.0)
    .bind(brand.0)
    .bind(source.as_str())
    .bind(c.name.clone())
    .bind(c.phone.as_ref().map(|p| p.as_str().to_string()))
    .bind(c.email.clone())
    .bind(c.address.clone())
    .bind(c.service.clone())
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(id,)| LeadId(id)))
}

/// The open lead of each (brand, phone), where there is one (the oldest, as
/// [`find_open_by_phone`] picks).
pub async fn find_open_by_phones(tx: &mut Tx, keys: &[(BrandId, &str)]) -> Result<HashMap<(BrandId, String), LeadId>> {
    let mut found = HashMap::new();
    for chunk in keys.chunks(tx.rows_per_statement(2)) {
        let mut brands: Vec<i64> = chunk.iter().map(|(b, _)| b.0).collect();
        brands.sort_unstable();
        brands.dedup();
        let mut sql = String::from(
            "select id, brand_id, phone from leads where status in ('new', 'contacted') and brand_id in (",
        );
        sql.push_str(&(1..=brands.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", "));
        sql.push_str(") and phone in (");
        sql.push_str(&(1..=chunk.len()).map(|i| format!("${}", brands.len() + i)).collect::<Vec<_>>().join(", "));
        sql.push_str(") order by id");
        let mut q = sqlx::query_as::<_, (i64, i64, String)>(sqlx::AssertSqlSafe(sql));
        for b in &brands {
            q = q.bind(*b);
        }
        for (_, phone) in chunk {
            q = q.bind(*phone);
        }
        for (id, brand, phone) in q.fetch_all(&mut **tx).await? {
            found.entry((BrandId(brand), phone)).or_insert(LeadId(id));
        }
    }
    // Another brand's lead for the same phone may have come back: only the asked pairs count.
    found.retain(|(brand, phone), _| keys.iter().any(|(b, p)| b == brand && p == phone));
    Ok(found)
}

/// New text leads, one per (org, brand, phone), in few statements; returns those made
/// (a pair whose open lead appeared meanwhile is left out: the caller reads it back).
pub async fn insert_sms_leads(
    tx: &mut Tx,
    leads: &[(OrgId, BrandId, &str)],
    now: i64,
) -> Result<HashMap<(BrandId, String), LeadId>> {
    let mut made = HashMap::new();
    for chunk in leads.chunks(tx.rows_per_statement(3)) {
        let mut sql = String::from(
            "insert into leads (org_id, brand_id, source, status, phone, unread, last_message_at, created_at, \
             updated_at) values ",
        );
        for i in 0..chunk.len() {
            let n = i * 3;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${}, $2, 'new', ${}, 1, $1, $1, $1)", n + 3, n + 4, n + 5));
        }
        sql.push_str(
            " on conflict (brand_id, phone) where phone is not null and status in ('new', 'contacted') \
             do nothing returning id, brand_id, phone",
        );
        let mut q =
            sqlx::query_as::<_, (i64, i64, String)>(sqlx::AssertSqlSafe(sql)).bind(now).bind(LeadSource::Sms.as_str());
        for (org, brand, phone) in chunk {
            q = q.bind(org.0).bind(brand.0).bind(*phone);
        }
        for (id, brand, phone) in q.fetch_all(&mut **tx).await? {
            made.insert((BrandId(brand), phone), LeadId(id));
        }
    }
    Ok(made)
}

/// Appends inbound texts to their leads' threads (in the order given) and marks those leads
/// unread with their latest activity: two statements per chunk of texts.
pub async fn add_inbound_texts(tx: &mut Tx, texts: &[(OrgId, LeadId, &str, i64)], now: i64) -> Result<()> {
    for chunk in texts.chunks(tx.rows_per_statement(4)) {
        let mut sql = String::from(
            "insert into lead_messages (org_id, lead_id, direction, channel, subject, body, message_id, author_id, \
             fields, at) values ",
        );
        for i in 0..chunk.len() {
            let n = i * 4;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, 'inbound', 'sms', null, ${}, ${}, null, null, $1)",
                n + 2,
                n + 3,
                n + 4,
                n + 5
            ));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for (org, lead, body, message) in chunk {
            q = q.bind(org.0).bind(lead.0).bind(*body).bind(*message);
        }
        q.execute(&mut **tx).await?;
        let mut leads: Vec<i64> = chunk.iter().map(|(_, l, _, _)| l.0).collect();
        leads.sort_unstable();
        leads.dedup();
        let list = (2..leads.len() + 2).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!("update leads set last_message_at = $1, updated_at = $1, unread = 1 where id in ({list})");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for id in leads {
            q = q.bind(id);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

pub struct NewLeadMessage<'a> {
    pub inbound: bool,
    pub channel: &'a str,
    pub subject: Option<&'a str>,
    pub body: &'a str,
    pub message_id: Option<i64>,
    pub author: Option<UserId>,
    pub fields: Option<String>,
    /// The phone call it is about (a voicemail, a missed call).
    pub call_id: Option<i64>,
}

/// Appends to a lead's thread, fills contact details it did not have, and (for inbound
/// messages) marks it unread.
pub async fn add_message(
    tx: &mut Tx,
    org: OrgId,
    lead: LeadId,
    m: &NewLeadMessage<'_>,
    c: &Contact,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "insert into lead_messages (org_id, lead_id, direction, channel, subject, body, message_id, author_id, fields, \
         at, call_id) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(org.0)
    .bind(lead.0)
    .bind(if m.inbound { "inbound" } else { "outbound" })
    .bind(m.channel)
    .bind(m.subject)
    .bind(m.body)
    .bind(m.message_id)
    .bind(m.author.map(|u| u.0))
    .bind(m.fields.clone())
    .bind(now)
    .bind(m.call_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "update leads set last_message_at = $3, updated_at = $3, unread = case when $4 = 1 then 1 else unread end, \
         name = coalesce(name, $5), email = coalesce(email, $6), address = coalesce(address, $7), \
         service = coalesce(service, $8) where org_id = $1 and id = $2",
    )
    .bind(org.0)
    .bind(lead.0)
    .bind(now)
    .bind(i64::from(m.inbound))
    .bind(c.name.clone())
    .bind(c.email.clone())
    .bind(c.address.clone())
    .bind(c.service.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct LeadRow {
    id: i64,
    org_id: i64,
    brand_id: i64,
    source: String,
    status: String,
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    address: Option<String>,
    service: Option<String>,
    job_id: Option<i64>,
    job_code: Option<String>,
    converted_by: Option<String>,
    customer_id: Option<i64>,
    customer_name: Option<String>,
    unread: i64,
    last_message_at: i64,
    created_at: i64,
}

macro_rules! lead_select {
    () => {
        "select l.id, l.org_id, l.brand_id, l.source, l.status, l.name, l.phone, l.email, l.address, l.service, \
         l.job_id, j.code as job_code, u.name as converted_by, \
         coalesce(jc.id, pc.id) as customer_id, coalesce(jc.name, pc.name) as customer_name, \
         l.unread, l.last_message_at, l.created_at \
         from leads l left join jobs j on j.id = l.job_id and j.org_id = l.org_id \
         left join customers jc on jc.id = j.customer_id and jc.org_id = l.org_id \
         left join customers pc on pc.org_id = l.org_id and pc.phone = l.phone \
         left join users u on u.id = l.converted_by and u.org_id = l.org_id "
    };
}

impl TryFrom<LeadRow> for Lead {
    type Error = Error;
    fn try_from(r: LeadRow) -> Result<Lead> {
        Ok(Lead {
            id: LeadId(r.id),
            org_id: OrgId(r.org_id),
            brand_id: BrandId(r.brand_id),
            source: LeadSource::parse(&r.source).map_err(Error::Unexpected)?,
            status: LeadStatus::parse(&r.status).map_err(Error::Unexpected)?,
            name: r.name,
            phone: r.phone,
            email: r.email,
            address: r.address,
            service: r.service,
            job_id: r.job_id.map(JobId),
            job_code: r.job_code,
            converted_by: r.converted_by,
            customer_id: r.customer_id.map(crate::ids::CustomerId),
            customer_name: r.customer_name,
            unread: r.unread != 0,
            last_message_at: from_millis(r.last_message_at),
            created_at: from_millis(r.created_at),
            messages: Vec::new(),
            urgent: None,
        })
    }
}

pub async fn get<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId, id: LeadId) -> Result<Option<Lead>> {
    let row: Option<LeadRow> = sqlx::query_as(concat!(lead_select!(), "where l.org_id = $1 and l.id = $2"))
        .bind(org.0)
        .bind(id.0)
        .fetch_optional(ex)
        .await?;
    row.map(Lead::try_from).transpose()
}

/// Open leads with a message nobody has read yet (of one brand, or all).
pub async fn unread_count(pool: &AnyPool, org: OrgId, brand: Option<BrandId>) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "select count(*) from leads where org_id = $1 and unread = 1 and ($2 is null or brand_id = $2) \
         and status in ('new', 'contacted')",
    )
    .bind(org.0)
    .bind(brand.map(|b| b.0))
    .fetch_one(pool)
    .await?;
    Ok(n)
}

pub async fn list(pool: &AnyPool, org: OrgId, f: &LeadFilter) -> Result<Vec<Lead>> {
    let search = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let text = search.map(|s| format!("%{}%", s.to_lowercase()));
    let digits = search
        .map(|s| s.chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|d| d.len() >= 3)
        .map(|d| format!("%{d}%"));
    let rows: Vec<LeadRow> = sqlx::query_as(concat!(
        lead_select!(),
        "where l.org_id = $1 and ($2 is null or l.source = $2) and ($3 is null or l.status = $3) \
         and ($4 is null or l.brand_id = $4) \
         and ($5 is null or lower(coalesce(l.name, '')) like $5 or lower(coalesce(l.email, '')) like $5 \
              or ($6 is not null and l.phone like $6) \
              or exists (select 1 from lead_messages m where m.lead_id = l.id and lower(m.body) like $5)) \
         order by l.last_message_at desc, l.id desc limit $7"
    ))
    .bind(org.0)
    .bind(f.source.map(|s| s.as_str()))
    .bind(f.status.map(|s| s.as_str()))
    .bind(f.brand.map(|b| b.0))
    .bind(text)
    .bind(digits)
    .bind(f.limit.unwrap_or(200).clamp(1, 1000))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(Lead::try_from).collect()
}

#[derive(FromRow)]
struct MessageRow {
    lead_id: i64,
    direction: String,
    channel: String,
    subject: Option<String>,
    body: String,
    at: i64,
    delivery: Option<String>,
    author: Option<String>,
    call_id: Option<i64>,
}

/// The threads of several leads, oldest message first.
pub async fn messages_for(pool: &AnyPool, org: OrgId, leads: &[LeadId]) -> Result<HashMap<LeadId, Vec<LeadMessage>>> {
    let mut out: HashMap<LeadId, Vec<LeadMessage>> = HashMap::new();
    for chunk in leads.chunks(200) {
        // Placeholders $2..$n are generated here, never from input.
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "select lm.lead_id, lm.direction, lm.channel, lm.subject, lm.body, lm.at, \
             case when lm.direction = 'outbound' then msg.status end as delivery, u.name as author, lm.call_id \
             from lead_messages lm left join messages msg on msg.id = lm.message_id \
             left join users u on u.id = lm.author_id \
             where lm.org_id = $1 and lm.lead_id in ({}) order by lm.at, lm.id",
            placeholders.join(", ")
        );
        let mut q = sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql)).bind(org.0);
        for id in chunk {
            q = q.bind(id.0);
        }
        for r in q.fetch_all(pool).await? {
            out.entry(LeadId(r.lead_id)).or_default().push(LeadMessage {
                direction: r.direction,
                channel: r.channel,
                subject: r.subject,
                body: r.body,
                at: from_millis(r.at),
                delivery: r.delivery,
                author: r.author,
                call_id: r.call_id,
            });
        }
    }
    Ok(out)
}

/// Moves a lead between statuses, only from one of `from`. Returns whether it moved.
pub async fn set_status<'c>(
    ex: impl Executor<'c, Database = Any>,
    org: OrgId,
    id: LeadId,
    from: &[LeadStatus],
    to: LeadStatus,
    now: i64,
) -> Result<bool> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let done = sqlx::query(
        "update leads set status = $3, updated_at = $4 where org_id = $1 and id = $2 \
         and status in ($5, $6, $7, $8)",
    )
    .bind(org.0)
    .bind(id.0)
    .bind(to.as_str())
    .bind(now)
    .bind(from.first().copied())
    .bind(from.get(1).copied())
    .bind(from.get(2).copied())
    .bind(from.get(3).copied())
    .execute(ex)
    .await;
    match done {
        Ok(d) => Ok(d.rows_affected() == 1),
        // Restoring a lead whose person already has another open lead hits the one-open-lead rule.
        Err(e) => Err(Error::from(e).on_unique("this person already has an open lead for this brand")),
    }
}

/// Clears the unread marker; returns whether it was set.
pub async fn mark_read<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId, id: LeadId) -> Result<bool> {
    let done = sqlx::query("update leads set unread = 0 where org_id = $1 and id = $2 and unread = 1")
        .bind(org.0)
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the lead for conversion: succeeds for one caller only (the row is locked until the
/// transaction ends on PostgreSQL; SQLite has one writer).
pub async fn claim_for_conversion(tx: &mut Tx, org: OrgId, id: LeadId, user: Option<UserId>, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "update leads set status = 'converted', converted_by = $3, converted_at = $4, updated_at = $4, unread = 0 \
         where org_id = $1 and id = $2 and status in ('new', 'contacted')",
    )
    .bind(org.0)
    .bind(id.0)
    .bind(user.map(|u| u.0))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_job(tx: &mut Tx, org: OrgId, id: LeadId, job: JobId) -> Result<()> {
    sqlx::query("update leads set job_id = $3 where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id.0)
        .bind(job.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
