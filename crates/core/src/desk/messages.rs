//! Messages the desk takes: the caller type and each answer (checked by the field's type, in
//! the client's country), the protocol version they were taken under, whether the operator
//! marked them urgent (and why), and their delivery state. Until a client has delivery rules,
//! a message is held for check-in: the client (or an operator for them) retrieves it, and that
//! is recorded with who and when.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use crate::clock::{Clock, from_millis, to_millis};
use crate::db::Db;
use crate::ids::{BrandId, OrgId};
use crate::{Error, Result};

pub const URGENT_REASON_MAX: usize = 300;

/// One answer as kept: the field's key and label when the message was taken, and the value as
/// read (a phone in E.164, a date spelled out, "Yes"/"No").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub key: String,
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskStatus {
    /// Waiting for the client to check in.
    Held,
    /// The client has it.
    Retrieved,
}

impl DeskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeskStatus::Held => "held",
            DeskStatus::Retrieved => "retrieved",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            DeskStatus::Held => "Held for check-in",
            DeskStatus::Retrieved => "Retrieved",
        }
    }
    fn parse(s: &str) -> Result<DeskStatus> {
        match s {
            "held" => Ok(DeskStatus::Held),
            "retrieved" => Ok(DeskStatus::Retrieved),
            other => Err(Error::Unexpected(format!("desk message status {other}"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeskMessage {
    pub id: i64,
    pub brand_id: BrandId,
    pub protocol_version: i64,
    pub caller_type: String,
    pub caller_type_name: String,
    pub answers: Vec<Answer>,
    pub urgent: bool,
    pub urgent_reason: Option<String>,
    pub status: DeskStatus,
    /// `user:NAME` or `api`.
    pub taken_by: String,
    pub taken_at: jiff::Timestamp,
    pub retrieved_by: Option<String>,
    pub retrieved_at: Option<jiff::Timestamp>,
}

/// A message as the operator typed it: the caller type's key and each field's raw answer by
/// key.
#[derive(Debug, Clone, Default)]
pub struct TakeInput {
    pub caller_type: String,
    pub answers: BTreeMap<String, String>,
    pub urgent: bool,
    pub urgent_reason: String,
}

/// Takes a message for `brand` by its current protocol. Each refusal names its field
/// (`answers.callback_number`, `caller_type`, `urgent_reason`); nothing is stored then.
pub async fn take(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    brand: BrandId,
    actor: &str,
    input: &TakeInput,
) -> Result<DeskMessage> {
    let client = crate::tenancy::brand(db, org, brand).await?;
    let Some(protocol) = super::current(db, org, brand).await? else {
        return Err(Error::invalid(
            "client",
            format!("{} has no protocol yet: set one up in Settings -> Message desk", client.name),
        ));
    };
    let Some(caller) = protocol.protocol.caller_type(input.caller_type.trim()) else {
        return Err(Error::invalid("caller_type", "pick who is calling"));
    };
    let mut v = crate::error::Validator::new();
    let mut answers = Vec::new();
    for f in &caller.fields {
        match f.read(input.answers.get(&f.key).map(String::as_str), client.country) {
            Ok(Some(value)) => answers.push(Answer { key: f.key.clone(), label: f.label.clone(), value }),
            Ok(None) => {}
            Err(m) => v.add(format!("answers.{}", f.key), m),
        }
    }
    if let Some(unknown) = input.answers.keys().find(|k| caller.fields.iter().all(|f| &f.key != *k)) {
        v.add(format!("answers.{unknown}"), format!("{} has no field \"{unknown}\"", caller.name));
    }
    let reason = input.urgent_reason.trim();
    if reason.chars().count() > URGENT_REASON_MAX {
        v.add("urgent_reason", format!("use at most {URGENT_REASON_MAX} characters"));
    }
    v.finish()?;
    let now = clock.now();
    let document = serde_json::to_string(&answers).map_err(|e| Error::Unexpected(e.to_string()))?;
    let (id,): (i64,) = sqlx::query_as(
        "insert into desk_messages (org_id, brand_id, protocol_version, caller_type, caller_type_name, answers, \
         urgent, urgent_reason, status, taken_by, taken_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, 'held', $9, $10) returning id",
    )
    .bind(org.0)
    .bind(brand.0)
    .bind(protocol.version)
    .bind(&caller.key)
    .bind(&caller.name)
    .bind(&document)
    .bind(input.urgent as i64)
    .bind(Some(reason.to_string()).filter(|r| input.urgent && !r.is_empty()))
    .bind(actor)
    .bind(to_millis(now))
    .fetch_one(db.pool())
    .await?;
    db.publish(crate::db::Event::Desk { org, message: id });
    get(db, org, id).await
}

#[derive(FromRow)]
struct Row {
    id: i64,
    brand_id: i64,
    protocol_version: i64,
    caller_type: String,
    caller_type_name: String,
    answers: String,
    urgent: i64,
    urgent_reason: Option<String>,
    status: String,
    taken_by: String,
    taken_at: i64,
    retrieved_by: Option<String>,
    retrieved_at: Option<i64>,
}

impl TryFrom<Row> for DeskMessage {
    type Error = Error;
    fn try_from(r: Row) -> Result<DeskMessage> {
        Ok(DeskMessage {
            answers: serde_json::from_str(&r.answers)
                .map_err(|e| Error::Unexpected(format!("desk message {}: {e}", r.id)))?,
            id: r.id,
            brand_id: BrandId(r.brand_id),
            protocol_version: r.protocol_version,
            caller_type: r.caller_type,
            caller_type_name: r.caller_type_name,
            urgent: r.urgent != 0,
            urgent_reason: r.urgent_reason,
            status: DeskStatus::parse(&r.status)?,
            taken_by: r.taken_by,
            taken_at: from_millis(r.taken_at),
            retrieved_by: r.retrieved_by,
            retrieved_at: r.retrieved_at.map(from_millis),
        })
    }
}

const SELECT: &str = "select id, brand_id, protocol_version, caller_type, caller_type_name, answers, urgent, \
                      urgent_reason, status, taken_by, taken_at, retrieved_by, retrieved_at from desk_messages ";

pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<DeskMessage> {
    let sql = format!("{SELECT} where org_id = $1 and id = $2");
    let row: Option<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(id).fetch_optional(db.pool()).await?;
    row.map(DeskMessage::try_from).transpose()?.ok_or(Error::NotFound)
}

/// The newest messages (of one client, or every client), urgent ones that are still held
/// first.
pub async fn list(db: &Db, org: OrgId, brand: Option<BrandId>, limit: i64) -> Result<Vec<DeskMessage>> {
    let sql = format!(
        "{SELECT} where org_id = $1 and ($2 is null or brand_id = $2) \
         order by case when urgent = 1 and status = 'held' then 0 else 1 end, taken_at desc, id desc limit $3"
    );
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(brand.map(|b| b.0))
        .bind(limit.clamp(1, 500))
        .fetch_all(db.pool())
        .await?;
    rows.into_iter().map(DeskMessage::try_from).collect()
}

/// Records that the client has a held message (they checked in, or an operator read it to
/// them). Retrieving it again changes nothing.
pub async fn retrieve(db: &Db, clock: &dyn Clock, org: OrgId, id: i64, actor: &str) -> Result<DeskMessage> {
    get(db, org, id).await?;
    sqlx::query(
        "update desk_messages set status = 'retrieved', retrieved_by = $3, retrieved_at = $4 \
         where org_id = $1 and id = $2 and status = 'held'",
    )
    .bind(org.0)
    .bind(id)
    .bind(actor)
    .bind(to_millis(clock.now()))
    .execute(db.pool())
    .await?;
    db.publish(crate::db::Event::Desk { org, message: id });
    get(db, org, id).await
}
