//! Escalations as stored: where each stands, its timeline, and the reply codes of the people
//! asked to confirm.

use sqlx::FromRow;

use super::run::{Position, Run, State};
use crate::clock::{from_millis, to_millis};
use crate::db::{Db, Tx, bulk};
use crate::desk::flow::Policy;
use crate::ids::{BrandId, OrgId};
use crate::{Error, Result};

/// A running (or ended) escalation of one urgent message.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    pub id: i64,
    pub org: OrgId,
    pub brand_id: BrandId,
    pub message_id: i64,
    /// The flow as it was when the message was taken.
    pub policy: Policy,
    pub run: Run,
    pub started_at: jiff::Timestamp,
    pub ended_at: Option<jiff::Timestamp>,
    /// Who confirmed (a name, or a number), how (`reply`, `operator`), and the operator's reason.
    pub confirmed_by: Option<String>,
    pub confirmed_how: Option<String>,
    pub confirmed_note: Option<String>,
}

impl Escalation {
    /// `Escalating: step 2 of 3, round 1`, `Confirmed by Ben Ortiz (reply 1ok)`.
    pub fn summary(&self) -> String {
        match self.run.state {
            State::Escalating => {
                let round =
                    if self.run.at.round > 1 { format!(", round {}", self.run.at.round) } else { String::new() };
                format!("Escalating: step {} of {}{round}", self.run.at.step + 1, self.policy.steps.len())
            }
            State::Confirmed => match (&self.confirmed_by, &self.confirmed_how) {
                (Some(by), Some(how)) => format!("Confirmed by {by} ({how})"),
                (Some(by), None) => format!("Confirmed by {by}"),
                _ => "Confirmed".to_string(),
            },
            State::Exhausted => "Nobody confirmed".to_string(),
        }
    }
}

#[derive(FromRow)]
struct Row {
    id: i64,
    org_id: i64,
    brand_id: i64,
    message_id: i64,
    policy: String,
    state: String,
    round: i64,
    step: i64,
    version: i64,
    reached: i64,
    started_at: i64,
    ended_at: Option<i64>,
    confirmed_by: Option<String>,
    confirmed_how: Option<String>,
    confirmed_note: Option<String>,
}

impl TryFrom<Row> for Escalation {
    type Error = Error;
    fn try_from(r: Row) -> Result<Escalation> {
        let policy =
            serde_json::from_str(&r.policy).map_err(|e| Error::Unexpected(format!("escalation {}: {e}", r.id)))?;
        let state = State::parse(&r.state)
            .ok_or_else(|| Error::Unexpected(format!("escalation {}: state {}", r.id, r.state)))?;
        Ok(Escalation {
            id: r.id,
            org: OrgId(r.org_id),
            brand_id: BrandId(r.brand_id),
            message_id: r.message_id,
            policy,
            run: Run {
                state,
                at: Position { round: r.round as u32, step: r.step as usize },
                version: r.version,
                reached: r.reached != 0,
            },
            started_at: from_millis(r.started_at),
            ended_at: r.ended_at.map(from_millis),
            confirmed_by: r.confirmed_by,
            confirmed_how: r.confirmed_how,
            confirmed_note: r.confirmed_note,
        })
    }
}

macro_rules! columns {
    () => {
        "id, org_id, brand_id, message_id, policy, state, round, step, version, reached, started_at, ended_at, \
         confirmed_by, confirmed_how, confirmed_note"
    };
}
const SELECT: &str = concat!("select ", columns!(), " from escalations ");

/// Inserts a new escalation for a message inside `tx`; `None` when the message has one already.
pub async fn insert_in(
    tx: &mut Tx,
    org: OrgId,
    brand: BrandId,
    message: i64,
    policy: &Policy,
    run: Run,
    now: jiff::Timestamp,
) -> Result<Option<Escalation>> {
    let document = serde_json::to_string(policy).map_err(|e| Error::Unexpected(e.to_string()))?;
    let sql = format!(
        "insert into escalations (org_id, brand_id, message_id, policy, state, round, step, version, reached, started_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9) on conflict (message_id) do nothing \
         returning {}",
        columns!()
    );
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(brand.0)
        .bind(message)
        .bind(document)
        .bind(run.state.as_str())
        .bind(run.at.round as i64)
        .bind(run.at.step as i64)
        .bind(run.version)
        .bind(to_millis(now))
        .fetch_optional(&mut **tx)
        .await?;
    row.map(Escalation::try_from).transpose()
}

/// The escalation, held for this transaction (a row lock on PostgreSQL; SQLite's write
/// transaction holds the whole database), so a timer and a confirmation take turns.
pub async fn lock_in(tx: &mut Tx, org: OrgId, id: i64) -> Result<Escalation> {
    sqlx::query("update escalations set version = version where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let sql = format!("{SELECT} where org_id = $1 and id = $2");
    let row: Option<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(id).fetch_optional(&mut **tx).await?;
    row.map(Escalation::try_from).transpose()?.ok_or(Error::NotFound)
}

/// The escalation, read without a lock (its flow never changes; where it stands may).
pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<Escalation> {
    let sql = format!("{SELECT} where org_id = $1 and id = $2");
    let row: Option<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(id).fetch_optional(db.pool()).await?;
    row.map(Escalation::try_from).transpose()?.ok_or(Error::NotFound)
}

/// The organization's escalations with these ids, read without a lock (those not found are
/// left out).
pub async fn get_many(db: &Db, org: OrgId, ids: &[i64]) -> Result<Vec<Escalation>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("{SELECT} where org_id = $1 and {}", bulk::any(db.backend(), "id", 2, "bigint"));
    let rows: Vec<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(bulk::encode(ids)?).fetch_all(db.pool()).await?;
    rows.into_iter().map(Escalation::try_from).collect()
}

/// The escalation of a message, if it has one.
pub async fn of_message(db: &Db, org: OrgId, message: i64) -> Result<Option<Escalation>> {
    let sql = format!("{SELECT} where org_id = $1 and message_id = $2");
    let row: Option<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(message).fetch_optional(db.pool()).await?;
    row.map(Escalation::try_from).transpose()
}

/// The escalations of these messages.
pub async fn of_messages(db: &Db, org: OrgId, messages: &[i64]) -> Result<Vec<Escalation>> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("{SELECT} where org_id = $1 and {}", bulk::any(db.backend(), "message_id", 2, "bigint"));
    let rows: Vec<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(bulk::encode(messages)?).fetch_all(db.pool()).await?;
    rows.into_iter().map(Escalation::try_from).collect()
}

/// Saves where the escalation stands, and how it ended when it did.
pub async fn save_in(tx: &mut Tx, e: &Escalation) -> Result<()> {
    save_many_in(tx, std::slice::from_ref(e)).await
}

/// One line of an escalation's timeline.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entry {
    pub at: jiff::Timestamp,
    pub round: u32,
    /// From 1; 0 for what concerns the whole escalation.
    pub step: usize,
    /// `started`, `sent`, `skipped`, `waiting`, `reply`, `confirmed`, `nobody_reached`,
    /// `exhausted`, `told`, `fallback`, `fallback_skipped`.
    pub kind: String,
    /// The step's action (`text_confirm`, ...).
    pub action: Option<String>,
    /// Whom the step named (`On call for Nights (cell)`).
    pub target: Option<String>,
    /// Who that turned out to be.
    pub person: Option<String>,
    pub address: Option<String>,
    pub detail: Option<String>,
    /// The text sent, when one was.
    pub sms_id: Option<i64>,
}

/// Adds a line to the timeline.
pub async fn log_in(tx: &mut Tx, org: OrgId, escalation: i64, e: &Entry) -> Result<()> {
    sqlx::query(
        "insert into escalation_events (org_id, escalation_id, at, round, step, kind, action, target, person, \
         address, detail, sms_id) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(org.0)
    .bind(escalation)
    .bind(to_millis(e.at))
    .bind(e.round as i64)
    .bind(e.step as i64)
    .bind(&e.kind)
    .bind(&e.action)
    .bind(&e.target)
    .bind(&e.person)
    .bind(&e.address)
    .bind(&e.detail)
    .bind(e.sms_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct EntryRow {
    at: i64,
    round: i64,
    step: i64,
    kind: String,
    action: Option<String>,
    target: Option<String>,
    person: Option<String>,
    address: Option<String>,
    detail: Option<String>,
    sms_id: Option<i64>,
}

/// The timeline, oldest first.
pub async fn timeline(db: &Db, org: OrgId, escalation: i64) -> Result<Vec<Entry>> {
    let rows: Vec<EntryRow> = sqlx::query_as(
        "select at, round, step, kind, action, target, person, address, detail, sms_id from escalation_events \
         where org_id = $1 and escalation_id = $2 order by id",
    )
    .bind(org.0)
    .bind(escalation)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Entry {
            at: from_millis(r.at),
            round: r.round as u32,
            step: r.step as usize,
            kind: r.kind,
            action: r.action,
            target: r.target,
            person: r.person,
            address: r.address,
            detail: r.detail,
            sms_id: r.sms_id,
        })
        .collect())
}

/// Someone sent a text or an email about an escalation: their acknowledgement link points at
/// this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub id: i64,
    pub org: OrgId,
    pub escalation_id: i64,
    pub address: String,
    pub person: String,
    /// The escalation's version when they were last sent it.
    pub version: i64,
}

/// The recipient an acknowledgement link names.
pub async fn recipient(db: &Db, org: OrgId, id: i64) -> Result<Recipient> {
    let row: Option<(i64, i64, String, String, i64)> = sqlx::query_as(
        "select id, escalation_id, address, person, version from escalation_codes where org_id = $1 and id = $2",
    )
    .bind(org.0)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let (id, escalation_id, address, person, version) = row.ok_or(Error::NotFound)?;
    Ok(Recipient { id, org, escalation_id, address, person, version })
}

/// A number's open codes in the organization: (code, escalation).
pub async fn open_codes_in(tx: &mut Tx, org: OrgId, address: &str) -> Result<Vec<(u32, i64)>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "select code, escalation_id from escalation_codes where org_id = $1 and address = $2 and open = 1 \
         and code is not null order by code",
    )
    .bind(org.0)
    .bind(address)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(c, e)| (c as u32, e)).collect())
}

/// The codes `address` held for escalations that ended with nobody confirming since `since`
/// (code, escalation), the latest ended first.
pub async fn late_codes_in(tx: &mut Tx, org: OrgId, address: &str, since: jiff::Timestamp) -> Result<Vec<(u32, i64)>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "select c.code, c.escalation_id from escalation_codes c \
         join escalations e on e.org_id = c.org_id and e.id = c.escalation_id \
         where c.org_id = $1 and c.address = $2 and c.code is not null and e.state = 'exhausted' \
         and e.ended_at >= $3 order by e.ended_at desc, e.id desc",
    )
    .bind(org.0)
    .bind(address)
    .bind(to_millis(since))
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(c, e)| (c as u32, e)).collect())
}

/// Whether the number was ever asked to confirm in the organization (then a bare "ok" or a
/// code from it is read as a reply, not as a new conversation).
pub async fn ever_asked_in(tx: &mut Tx, org: OrgId, address: &str) -> Result<bool> {
    let found: Option<(i64,)> = sqlx::query_as(
        "select id from escalation_codes where org_id = $1 and address = $2 and code is not null limit 1",
    )
    .bind(org.0)
    .bind(address)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(found.is_some())
}

/// The person a number was asked as, for this escalation.
pub async fn person_of_in(tx: &mut Tx, org: OrgId, escalation: i64, address: &str) -> Result<Option<String>> {
    let found: Option<(String,)> =
        sqlx::query_as("select person from escalation_codes where org_id = $1 and escalation_id = $2 and address = $3")
            .bind(org.0)
            .bind(escalation)
            .bind(address)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(found.map(|(p,)| p))
}

/// Closes the escalation's codes (they are free for others again).
pub async fn close_codes_in(tx: &mut Tx, org: OrgId, escalation: i64) -> Result<()> {
    sqlx::query("update escalation_codes set open = 0 where org_id = $1 and escalation_id = $2")
        .bind(org.0)
        .bind(escalation)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The numbers texted for the escalation (by a sent step), with who they were, once each.
pub async fn texted_in(tx: &mut Tx, org: OrgId, escalation: i64) -> Result<Vec<(String, String)>> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "select address, person from escalation_events where org_id = $1 and escalation_id = $2 \
         and kind = 'sent' and sms_id is not null order by id",
    )
    .bind(org.0)
    .bind(escalation)
    .fetch_all(&mut **tx)
    .await?;
    let mut out: Vec<(String, String)> = Vec::new();
    for (address, person) in rows {
        if !out.iter().any(|(a, _)| *a == address) {
            out.push((address, person.unwrap_or_default()));
        }
    }
    Ok(out)
}

/// The escalations, held for this transaction (see [`lock_in`]); those not found, or not of
/// the organization named with them, are left out.
pub async fn lock_many_in(tx: &mut Tx, ids: &[(OrgId, i64)]) -> Result<Vec<Escalation>> {
    let mut out = Vec::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(out);
    }
    let list: Vec<i64> = ids.iter().map(|(_, id)| *id).collect();
    let sql = format!("{SELECT} where {} order by id{}", bulk::any(tx.backend(), "id", 1, "bigint"), tx.for_update());
    let rows: Vec<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(bulk::encode(&list)?).fetch_all(&mut **tx).await?;
    for row in rows {
        if ids.iter().any(|(org, id)| org.0 == row.org_id && *id == row.id) {
            out.push(Escalation::try_from(row)?);
        }
    }
    Ok(out)
}

/// Saves where each escalation stands (as [`save_in`]), a few statements for all.
pub async fn save_many_in(tx: &mut Tx, saves: &[Escalation]) -> Result<()> {
    if saves.is_empty() {
        return Ok(());
    }
    const TYPES: [&str; 11] =
        ["bigint", "bigint", "text", "bigint", "bigint", "bigint", "bigint", "bigint", "text", "text", "text"];
    let sql = format!(
        "update escalations set state = v.c3, round = v.c4, step = v.c5, version = v.c6, reached = v.c7, \
         ended_at = v.c8, confirmed_by = v.c9, confirmed_how = v.c10, confirmed_note = v.c11 from ({}) as v \
         where escalations.org_id = v.c1 and escalations.id = v.c2 and {}",
        bulk::rows(tx.backend(), 1, &TYPES),
        bulk::any_in_rows(tx.backend(), "escalations.id", 1, 1, "bigint")
    );
    let rows: Vec<_> = saves
        .iter()
        .map(|e| {
            (
                e.org.0,
                e.id,
                e.run.state.as_str(),
                e.run.at.round as i64,
                e.run.at.step as i64,
                e.run.version,
                e.run.reached as i64,
                e.ended_at.map(to_millis),
                &e.confirmed_by,
                &e.confirmed_how,
                &e.confirmed_note,
            )
        })
        .collect();
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(bulk::encode(&rows)?).execute(&mut **tx).await?;
    Ok(())
}

/// Adds timeline lines whose ids were chosen ahead (in the order they happened), a few
/// statements for all.
pub async fn log_many_in(tx: &mut Tx, lines: &[(i64, OrgId, i64, Entry)]) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    const TYPES: [&str; 13] = [
        "bigint", "bigint", "bigint", "bigint", "bigint", "bigint", "text", "text", "text", "text", "text", "text",
        "bigint",
    ];
    let sql = format!(
        "insert into escalation_events (id, org_id, escalation_id, at, round, step, kind, action, target, person, \
         address, detail, sms_id) {}",
        bulk::rows(tx.backend(), 1, &TYPES)
    );
    let rows: Vec<_> = lines
        .iter()
        .map(|(id, org, escalation, e)| {
            (
                id,
                org.0,
                escalation,
                to_millis(e.at),
                e.round as i64,
                e.step as i64,
                &e.kind,
                &e.action,
                &e.target,
                &e.person,
                &e.address,
                &e.detail,
                e.sms_id,
            )
        })
        .collect();
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(bulk::encode(&rows)?).execute(&mut **tx).await?;
    Ok(())
}

/// A row of `escalation_codes`: someone sent an escalation, and the reply code they hold.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CodeRow {
    pub id: i64,
    pub org_id: i64,
    pub escalation_id: i64,
    pub address: String,
    pub person: String,
    pub code: Option<i64>,
    pub open: i64,
    pub version: i64,
    pub created_at: i64,
}

/// The code rows of these escalations.
pub async fn code_rows_in(tx: &mut Tx, escalations: &[i64]) -> Result<Vec<CodeRow>> {
    if escalations.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select id, org_id, escalation_id, address, person, code, open, version, created_at \
         from escalation_codes where {}",
        bulk::any(tx.backend(), "escalation_id", 1, "bigint")
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(bulk::encode(escalations)?).fetch_all(&mut **tx).await?)
}

/// The open codes of these numbers in `org`: (number, code, escalation).
pub async fn open_codes_of_in(tx: &mut Tx, org: OrgId, addresses: &[&str]) -> Result<Vec<(String, i64, i64)>> {
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    lock_addresses_in(tx, org, addresses).await?;
    let sql = format!(
        "select address, code, escalation_id from escalation_codes \
         where org_id = $1 and {} and open = 1 and code is not null",
        bulk::any(tx.backend(), "address", 2, "text")
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(bulk::encode(addresses)?).fetch_all(&mut **tx).await?)
}

/// On PostgreSQL, holds each address (in `org`) until the commit, so that two transactions
/// giving the same person a reply code at once cannot both pick the same free one (a
/// transaction-level advisory lock per address, taken in one order). SQLite's write
/// transaction holds the whole database already.
async fn lock_addresses_in(tx: &mut Tx, org: OrgId, addresses: &[&str]) -> Result<()> {
    if tx.backend() != crate::db::Backend::Postgres || addresses.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<String> = addresses.iter().map(|a| format!("escalation_codes:{}:{a}", org.0)).collect();
    keys.sort();
    keys.dedup();
    sqlx::query_as::<_, (String,)>(
        "select cast(pg_advisory_xact_lock(hashtextextended(k, 0)) as text) \
         from (select k.value as k from json_array_elements_text(cast($1 as json)) as k(value) order by 1) as s",
    )
    .bind(bulk::encode(&keys)?)
    .fetch_all(&mut **tx)
    .await?;
    Ok(())
}

/// Writes code rows as they now are (new ones, with ids chosen ahead, and changed ones), a
/// few statements for all.
pub async fn upsert_codes_in(tx: &mut Tx, rows: &[CodeRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    const TYPES: [&str; 9] = ["bigint", "bigint", "bigint", "text", "text", "bigint", "bigint", "bigint", "bigint"];
    let sql = format!(
        "insert into escalation_codes (id, org_id, escalation_id, address, person, code, open, version, created_at) \
         {} on conflict (escalation_id, address) do update \
         set code = excluded.code, open = excluded.open, version = excluded.version",
        bulk::rows(tx.backend(), 1, &TYPES)
    );
    let values: Vec<_> = rows
        .iter()
        .map(|r| (r.id, r.org_id, r.escalation_id, &r.address, &r.person, r.code, r.open, r.version, r.created_at))
        .collect();
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(bulk::encode(&values)?).execute(&mut **tx).await?;
    Ok(())
}
