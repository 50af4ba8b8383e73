//! Calls, routing and recordings in the database.

use sqlx::{Any, Executor, FromRow};

use crate::clock::from_millis;
use crate::db::{Db, Tx};
use crate::ids::{BrandId, OrgId};
use crate::{Error, Result};

use super::model::{AfterHours, Call, Member, Outcome, Recording, RingMode, Routing, Step, Strategy};

#[derive(FromRow)]
struct RoutingRow {
    strategy: String,
    ring_seconds: i64,
    record_calls: i64,
    consent_notice: i64,
    greeting: String,
    after_hours: String,
    after_hours_schedule: Option<i64>,
}

/// The brand's routing, or the default when it never set one.
pub async fn routing<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId, brand: BrandId) -> Result<Routing> {
    let row: Option<RoutingRow> = sqlx::query_as(
        "select strategy, ring_seconds, record_calls, consent_notice, greeting, after_hours, after_hours_schedule \
         from call_routing where org_id = $1 and brand_id = $2",
    )
    .bind(org.0)
    .bind(brand.0)
    .fetch_optional(ex)
    .await?;
    let Some(r) = row else { return Ok(Routing::default_for(brand)) };
    Ok(Routing {
        brand_id: brand,
        strategy: Strategy::parse(&r.strategy).map_err(Error::Unexpected)?,
        ring_seconds: u32::try_from(r.ring_seconds).unwrap_or(20),
        record: r.record_calls != 0,
        consent_notice: r.consent_notice != 0,
        greeting: r.greeting,
        after_hours: AfterHours::parse(&r.after_hours).map_err(Error::Unexpected)?,
        after_hours_schedule: r.after_hours_schedule,
    })
}

/// Writes the brand's routing (its round-robin position is kept).
pub async fn save_routing(tx: &mut Tx, org: OrgId, r: &Routing, now: i64) -> Result<()> {
    sqlx::query(
        "insert into call_routing (brand_id, org_id, strategy, ring_seconds, record_calls, consent_notice, greeting, \
         after_hours, after_hours_schedule, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         on conflict (brand_id) do update set strategy = excluded.strategy, ring_seconds = excluded.ring_seconds, \
         record_calls = excluded.record_calls, consent_notice = excluded.consent_notice, greeting = excluded.greeting, \
         after_hours = excluded.after_hours, after_hours_schedule = excluded.after_hours_schedule, \
         updated_at = excluded.updated_at",
    )
    .bind(r.brand_id.0)
    .bind(org.0)
    .bind(r.strategy.as_str())
    .bind(i64::from(r.ring_seconds))
    .bind(i64::from(r.record))
    .bind(i64::from(r.consent_notice))
    .bind(&r.greeting)
    .bind(r.after_hours.as_str())
    .bind(r.after_hours_schedule)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The round-robin position for the next call, moved on by one in the same statement, so
/// two calls (on any instances) never start with the same person by accident.
pub async fn take_start(tx: &mut Tx, org: OrgId, r: &Routing, now: i64) -> Result<u64> {
    let moved: Option<(i64,)> = sqlx::query_as(
        "update call_routing set next_start = next_start + 1 where org_id = $1 and brand_id = $2 \
         returning next_start - 1",
    )
    .bind(org.0)
    .bind(r.brand_id.0)
    .fetch_optional(&mut **tx)
    .await?;
    match moved {
        Some((n,)) => Ok(u64::try_from(n).unwrap_or(0)),
        None => {
            // The brand never saved its routing: keep the default, with its position.
            save_routing(tx, org, r, now).await?;
            Box::pin(take_start(tx, org, r, now)).await
        }
    }
}

#[derive(FromRow)]
struct MemberRow {
    user_id: i64,
    name: String,
    ring_mode: String,
    cell_phone: Option<String>,
}

impl MemberRow {
    fn member(self) -> Result<Member> {
        Ok(Member {
            user_id: self.user_id,
            name: self.name,
            ring_mode: RingMode::parse(&self.ring_mode).map_err(Error::Unexpected)?,
            cell: self.cell_phone,
        })
    }
}

/// The people the brand's calls ring, in order (active sign-ins only).
pub async fn members<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId, brand: BrandId) -> Result<Vec<Member>> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "select u.id as user_id, u.name, u.ring_mode, u.cell_phone from call_ring_members m \
         join users u on u.id = m.user_id and u.org_id = m.org_id \
         where m.org_id = $1 and m.brand_id = $2 and u.active = 1 order by m.position, u.id",
    )
    .bind(org.0)
    .bind(brand.0)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(MemberRow::member).collect()
}

/// Replaces who rings for the brand, in this order.
pub async fn set_members(tx: &mut Tx, org: OrgId, brand: BrandId, users: &[i64]) -> Result<()> {
    sqlx::query("delete from call_ring_members where org_id = $1 and brand_id = $2")
        .bind(org.0)
        .bind(brand.0)
        .execute(&mut **tx)
        .await?;
    for (position, user) in users.iter().enumerate() {
        sqlx::query("insert into call_ring_members (org_id, brand_id, user_id, position) values ($1, $2, $3, $4)")
            .bind(org.0)
            .bind(brand.0)
            .bind(user)
            .bind(position as i64)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A sign-in's ring mode and cell. Returns whether the user is the org's.
pub async fn set_ring(tx: &mut Tx, org: OrgId, user: i64, mode: RingMode, cell: Option<&str>) -> Result<bool> {
    let done = sqlx::query("update users set ring_mode = $3, cell_phone = $4 where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(user)
        .bind(mode.as_str())
        .bind(cell)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Every active sign-in of the org with their ring settings, for the routing form.
pub async fn people<'c>(ex: impl Executor<'c, Database = Any>, org: OrgId) -> Result<Vec<Member>> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "select id as user_id, name, ring_mode, cell_phone from users where org_id = $1 and active = 1 order by name, id",
    )
    .bind(org.0)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(MemberRow::member).collect()
}

/// A call as the webhooks need it.
#[derive(Debug, Clone, FromRow)]
pub struct Live {
    pub id: i64,
    pub direction: String,
    pub org_id: i64,
    pub brand_id: i64,
    pub provider_sid: String,
    pub from_number: String,
    pub to_number: String,
    pub customer_id: Option<i64>,
    pub lead_id: Option<i64>,
    pub outcome: Option<String>,
    pub plan: String,
    pub step: i64,
    pub mode: String,
    pub transcript: Option<String>,
    pub duration_secs: Option<i64>,
}

impl Live {
    pub fn org(&self) -> OrgId {
        OrgId(self.org_id)
    }
    pub fn brand(&self) -> BrandId {
        BrandId(self.brand_id)
    }
    pub fn plan(&self) -> Result<Vec<Step>> {
        serde_json::from_str(&self.plan).map_err(|e| Error::Unexpected(format!("call {}: its plan: {e}", self.id)))
    }
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome.as_deref().and_then(Outcome::parse)
    }
}

const LIVE: &str = "select id, direction, org_id, brand_id, provider_sid, from_number, to_number, customer_id, lead_id, outcome, \
                    plan, step, mode, transcript, duration_secs from voice_calls";

pub async fn live<'c>(ex: impl Executor<'c, Database = Any>, id: i64) -> Result<Option<Live>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("{LIVE} where id = $1"))).bind(id).fetch_optional(ex).await?)
}

pub async fn live_by_sid<'c>(ex: impl Executor<'c, Database = Any>, sid: &str) -> Result<Option<Live>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("{LIVE} where provider_sid = $1")))
        .bind(sid)
        .fetch_optional(ex)
        .await?)
}

/// A call that just came in.
pub struct NewCall<'a> {
    pub org: OrgId,
    pub brand: BrandId,
    pub sid: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub customer: Option<i64>,
    pub lead: Option<i64>,
    pub plan: &'a [Step],
    /// `hunt` or `patch`.
    pub mode: &'a str,
    pub now: i64,
}

/// Stores an inbound call once per provider sid (a repeated webhook finds the first).
pub async fn insert_inbound(tx: &mut Tx, c: &NewCall<'_>) -> Result<Live> {
    let plan = serde_json::to_string(c.plan).map_err(|e| Error::Unexpected(e.to_string()))?;
    sqlx::query(
        "insert into voice_calls (org_id, brand_id, direction, provider_sid, from_number, to_number, customer_id, \
         lead_id, status, plan, mode, started_at) values ($1, $2, 'inbound', $3, $4, $5, $6, $7, 'ringing', $8, $10, $9) \
         on conflict (provider_sid) do nothing",
    )
    .bind(c.org.0)
    .bind(c.brand.0)
    .bind(c.sid)
    .bind(c.from)
    .bind(c.to)
    .bind(c.customer)
    .bind(c.lead)
    .bind(plan)
    .bind(c.now)
    .bind(c.mode)
    .execute(&mut **tx)
    .await?;
    live_by_sid(&mut **tx, c.sid).await?.ok_or_else(|| Error::Unexpected("a stored call vanished".into()))
}

/// An outgoing call from the console, stored before it is placed (its webhooks name it by
/// id); `provider_sid` is a placeholder until the provider answers with the call's sid.
pub async fn insert_outbound(tx: &mut Tx, c: &NewCall<'_>, user: i64) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "insert into voice_calls (org_id, brand_id, direction, provider_sid, from_number, to_number, customer_id, \
         lead_id, status, plan, handled_by, started_at) \
         values ($1, $2, 'outbound', $3, $4, $5, $6, $7, 'queued', '[]', $8, $9) returning id",
    )
    .bind(c.org.0)
    .bind(c.brand.0)
    .bind(c.sid)
    .bind(c.from)
    .bind(c.to)
    .bind(c.customer)
    .bind(c.lead)
    .bind(user)
    .bind(c.now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// The provider placed the call: its sid, or why it could not.
pub async fn placed(tx: &mut Tx, id: i64, sid: Result<&str, &str>) -> Result<()> {
    match sid {
        Ok(sid) => {
            sqlx::query("update voice_calls set provider_sid = $2, status = 'initiated' where id = $1")
                .bind(id)
                .bind(sid)
                .execute(&mut **tx)
                .await?
        }
        Err(why) => {
            sqlx::query(
                "update voice_calls set status = 'failed', outcome = 'missed', transcript = $2, ended_at = started_at \
                 where id = $1",
            )
            .bind(id)
            .bind(why)
            .execute(&mut **tx)
            .await?
        }
    };
    Ok(())
}

pub async fn set_step(tx: &mut Tx, id: i64, step: i64) -> Result<()> {
    sqlx::query("update voice_calls set step = $2 where id = $1 and step < $2")
        .bind(id)
        .bind(step)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The call is answered by `user` (or a number without a sign-in) unless it was already:
/// returns whether this answer took it.
pub async fn claim(tx: &mut Tx, id: i64, user: Option<i64>, number: Option<&str>, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "update voice_calls set outcome = 'answered', status = 'in-progress', handled_by = $2, answered_number = $3, \
         answered_at = $4 where id = $1 and outcome is null",
    )
    .bind(id)
    .bind(user)
    .bind(number)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the outcome when the call has none yet; returns whether it did.
pub async fn settle(tx: &mut Tx, id: i64, outcome: Outcome) -> Result<bool> {
    let done = sqlx::query("update voice_calls set outcome = $2 where id = $1 and outcome is null")
        .bind(id)
        .bind(outcome.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_lead(tx: &mut Tx, id: i64, lead: i64) -> Result<()> {
    sqlx::query("update voice_calls set lead_id = $2 where id = $1").bind(id).bind(lead).execute(&mut **tx).await?;
    Ok(())
}

pub async fn set_transcript(tx: &mut Tx, id: i64, text: &str) -> Result<()> {
    sqlx::query("update voice_calls set transcript = $2 where id = $1").bind(id).bind(text).execute(&mut **tx).await?;
    Ok(())
}

/// The call ended (`completed`, `no-answer`, `busy`, `failed`, `canceled`).
pub async fn end(tx: &mut Tx, id: i64, status: &str, duration: Option<i64>, now: i64) -> Result<()> {
    sqlx::query(
        "update voice_calls set status = $2, duration_secs = coalesce($3, duration_secs), \
         ended_at = coalesce(ended_at, $4) where id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(duration)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A recording the provider reported; `None` when it was reported before.
pub struct NewRecording<'a> {
    pub org: OrgId,
    pub call: i64,
    pub sid: &'a str,
    pub kind: &'a str,
    pub media_url: &'a str,
    pub channels: i64,
    pub duration: i64,
    pub now: i64,
}

pub async fn insert_recording(tx: &mut Tx, r: &NewRecording<'_>) -> Result<Option<i64>> {
    let id: Option<(i64,)> = sqlx::query_as(
        "insert into call_recordings (org_id, call_id, provider_sid, kind, media_url, channels, duration_secs, status, \
         created_at) values ($1, $2, $3, $4, $5, $6, $7, 'fetching', $8) on conflict (provider_sid) do nothing returning id",
    )
    .bind(r.org.0)
    .bind(r.call)
    .bind(r.sid)
    .bind(r.kind)
    .bind(r.media_url)
    .bind(r.channels)
    .bind(r.duration)
    .bind(r.now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(id.map(|(id,)| id))
}

/// A recording as the fetcher needs it.
#[derive(Debug, Clone, FromRow)]
pub struct Fetch {
    pub id: i64,
    pub org_id: i64,
    pub call_id: i64,
    pub provider_sid: String,
    pub media_url: String,
    pub status: String,
}

pub async fn to_fetch<'c>(ex: impl Executor<'c, Database = Any>, id: i64) -> Result<Option<Fetch>> {
    Ok(sqlx::query_as("select id, org_id, call_id, provider_sid, media_url, status from call_recordings where id = $1")
        .bind(id)
        .fetch_optional(ex)
        .await?)
}

pub async fn stored(tx: &mut Tx, id: i64, key: &str, size: i64, now: i64) -> Result<()> {
    sqlx::query(
        "update call_recordings set status = 'stored', storage_key = $2, size_bytes = $3, stored_at = $4 where id = $1",
    )
    .bind(id)
    .bind(key)
    .bind(size)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn failed(tx: &mut Tx, id: i64) -> Result<()> {
    sqlx::query("update call_recordings set status = 'failed' where id = $1 and status = 'fetching'")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A stored recording's place in storage, for playing it (tenant-scoped).
pub async fn media(db: &Db, org: OrgId, id: i64) -> Result<Option<(String, i64)>> {
    let row: Option<(Option<String>, i64)> = sqlx::query_as(
        "select storage_key, call_id from call_recordings where org_id = $1 and id = $2 and status = 'stored'",
    )
    .bind(org.0)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.and_then(|(k, call)| k.map(|k| (k, call))))
}

/// What the calls list filters by.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub brand: Option<BrandId>,
    pub outcome: Option<Outcome>,
    /// Part of a number or a customer's name.
    pub q: Option<String>,
    pub customer: Option<i64>,
    /// Only calls from this instant (ms) on.
    pub since: Option<i64>,
    pub limit: i64,
}

#[derive(FromRow)]
struct CallRow {
    id: i64,
    org_id: i64,
    brand_id: i64,
    brand_name: String,
    direction: String,
    from_number: String,
    to_number: String,
    customer_id: Option<i64>,
    customer_name: Option<String>,
    lead_id: Option<i64>,
    status: String,
    outcome: Option<String>,
    handled_by: Option<String>,
    answered_number: Option<String>,
    transcript: Option<String>,
    started_at: i64,
    duration_secs: Option<i64>,
}

/// Calls, newest first, with their recordings.
pub async fn list(db: &Db, org: OrgId, f: &Filter) -> Result<Vec<Call>> {
    let q = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(|q| format!("%{}%", q.to_lowercase()));
    let digits =
        q.as_deref().map(|q| q.chars().filter(char::is_ascii_digit).collect::<String>()).filter(|d| !d.is_empty());
    let rows: Vec<CallRow> = sqlx::query_as(
        "select c.id, c.org_id, c.brand_id, b.name as brand_name, c.direction, c.from_number, c.to_number, \
         c.customer_id, cu.name as customer_name, c.lead_id, c.status, c.outcome, u.name as handled_by, \
         c.answered_number, c.transcript, c.started_at, c.duration_secs \
         from voice_calls c join brands b on b.id = c.brand_id \
         left join customers cu on cu.id = c.customer_id left join users u on u.id = c.handled_by \
         where c.org_id = $1 and ($2 is null or c.brand_id = $2) and ($3 is null or c.outcome = $3) \
         and ($4 is null or c.customer_id = $4) and ($8 is null or c.started_at >= $8) \
         and ($5 is null or lower(coalesce(cu.name, '')) like $5 or lower(coalesce(c.transcript, '')) like $5 \
              or ($6 is not null and (c.from_number like $6 or c.to_number like $6))) \
         order by c.started_at desc, c.id desc limit $7",
    )
    .bind(org.0)
    .bind(f.brand.map(|b| b.0))
    .bind(f.outcome.map(|o| o.as_str()))
    .bind(f.customer)
    .bind(q.clone())
    .bind(digits.map(|d| format!("%{d}%")))
    .bind(if f.limit > 0 { f.limit } else { 200 })
    .bind(f.since)
    .fetch_all(db.pool())
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut recordings = recordings_of(db, org, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| Call {
            id: r.id,
            org_id: OrgId(r.org_id),
            brand_id: BrandId(r.brand_id),
            brand_name: r.brand_name,
            direction: r.direction,
            from: r.from_number,
            to: r.to_number,
            customer_id: r.customer_id,
            customer_name: r.customer_name,
            lead_id: r.lead_id,
            status: r.status,
            outcome: r.outcome.as_deref().and_then(Outcome::parse),
            handled_by: r.handled_by.or(r.answered_number.map(|n| crate::parse::display_phone(&n))),
            transcript: r.transcript,
            started_at: from_millis(r.started_at),
            duration_secs: r.duration_secs,
            recordings: recordings.remove(&r.id).unwrap_or_default(),
        })
        .collect())
}

/// The recordings of these calls, oldest first per call.
pub async fn recordings_of(
    db: &Db,
    org: OrgId,
    calls: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<Recording>>> {
    let mut out: std::collections::HashMap<i64, Vec<Recording>> = std::collections::HashMap::new();
    for chunk in calls.chunks(200) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        // Placeholders are generated here, never from input.
        let sql = format!(
            "select id, call_id, kind, duration_secs, status from call_recordings \
             where org_id = $1 and call_id in ({}) order by id",
            placeholders.join(", ")
        );
        let mut q = sqlx::query_as::<_, (i64, i64, String, i64, String)>(sqlx::AssertSqlSafe(sql)).bind(org.0);
        for id in chunk {
            q = q.bind(id);
        }
        for (id, call_id, kind, duration_secs, status) in q.fetch_all(db.pool()).await? {
            out.entry(call_id).or_default().push(Recording { id, call_id, kind, duration_secs, status });
        }
    }
    Ok(out)
}
