//! Messages the desk takes: the caller type and each answer (checked by the field's type, in
//! the client's country), the protocol version they were taken under, whether it is urgent
//! (the operator decides; the protocol's rules suggest, and going against them takes a
//! reason), and how it is delivered ([`super::delivery`]). A message held for check-in waits
//! until the client (or an operator for them) retrieves it, recorded with who and when.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::delivery::{self, Delivery, DeliveryState, Taken};
use super::rules;
use crate::clock::{Clock, from_millis, to_millis};
use crate::db::Db;
use crate::engine::{self, NewWork};
use crate::ids::{BrandId, JobId, LeadId, OrgId};
use crate::{Error, Result};

pub const URGENT_REASON_MAX: usize = 300;
pub const NOTE_MAX: usize = 1000;

/// An operator's note on a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub id: i64,
    pub body: String,
    /// `user:NAME` or `api`.
    pub created_by: String,
    pub created_at: jiff::Timestamp,
}

/// One answer as kept: the field's key and label when the message was taken, and the value as
/// read (a phone in E.164, a date spelled out, "Yes"/"No").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub key: String,
    pub label: String,
    pub value: String,
}

/// Where a message stands, as the board shows it.
impl Answer {
    /// The value as people read it: a stored number in its local form ((617) 555-0199, or
    /// +44 7911 123456 abroad).
    pub fn shown(&self) -> String {
        match crate::parse::PhoneE164::from_stored(&self.value) {
            Ok(p) => p.display(),
            Err(_) => self.value.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskStatus {
    /// Waiting for its recap or for the client to check in.
    Held,
    /// An email or text is on its way.
    Delivering,
    /// Every email and text went out (or reached the phone).
    Delivered,
    /// A recipient opened it in their secure inbox.
    Read,
    /// Nothing reached anyone: every attempt failed or could not be made.
    Failed,
    /// The client has it (checked in, or an operator read it to them).
    Retrieved,
}

impl DeskStatus {
    pub const ALL: [DeskStatus; 6] = [
        DeskStatus::Held,
        DeskStatus::Delivering,
        DeskStatus::Delivered,
        DeskStatus::Read,
        DeskStatus::Failed,
        DeskStatus::Retrieved,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DeskStatus::Held => "held",
            DeskStatus::Delivering => "delivering",
            DeskStatus::Delivered => "delivered",
            DeskStatus::Read => "read",
            DeskStatus::Failed => "failed",
            DeskStatus::Retrieved => "retrieved",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            DeskStatus::Held => "Held",
            DeskStatus::Delivering => "Delivering",
            DeskStatus::Delivered => "Delivered",
            DeskStatus::Read => "Read",
            DeskStatus::Failed => "Failed",
            DeskStatus::Retrieved => "Retrieved",
        }
    }
    pub fn parse(s: &str) -> Option<DeskStatus> {
        DeskStatus::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// The state of a message from its deliveries: retrieved once someone has it, read once a
    /// recipient opened it in their secure inbox; otherwise delivering while anything is on its way, delivered when something went out, held
    /// while something waits, and failed when every attempt failed.
    pub fn of(retrieved: bool, deliveries: &[Delivery]) -> DeskStatus {
        let any = |s: DeliveryState| deliveries.iter().any(|d| d.state == s);
        if retrieved {
            DeskStatus::Retrieved
        } else if any(DeliveryState::Read) {
            DeskStatus::Read
        } else if any(DeliveryState::Sending) {
            DeskStatus::Delivering
        } else if any(DeliveryState::Sent) || any(DeliveryState::Delivered) {
            DeskStatus::Delivered
        } else if any(DeliveryState::Waiting) || deliveries.is_empty() {
            DeskStatus::Held
        } else {
            DeskStatus::Failed
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
    /// Why the protocol's rules suggested urgent, when they did.
    pub suggested: Option<String>,
    /// Whether the client was in business hours when it was taken.
    pub in_hours: bool,
    pub status: DeskStatus,
    /// How it goes to the client's people, in the order planned.
    pub deliveries: Vec<Delivery>,
    /// What operators noted about it, oldest first.
    pub notes: Vec<Note>,
    /// `user:NAME` or `api`.
    pub taken_by: String,
    pub taken_at: jiff::Timestamp,
    pub retrieved_by: Option<String>,
    pub retrieved_at: Option<jiff::Timestamp>,
    /// The job or lead of the client's it is about, when the operator took it from one.
    pub about: Option<About>,
}

/// What a message is about: a job or a lead of its client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum About {
    Job(JobId),
    Lead(LeadId),
}

/// A message as the operator typed it: the caller type's key and each field's raw answer by
/// key.
#[derive(Debug, Clone, Default)]
pub struct TakeInput {
    pub caller_type: String,
    pub answers: BTreeMap<String, String>,
    /// The operator's call; `None` follows the protocol's rules.
    pub urgent: Option<bool>,
    /// Why it is urgent, or why not when the rules suggest it is.
    pub urgent_reason: String,
    /// The job or lead it is about (the client's, and still open).
    pub about: Option<About>,
    /// Makes taking it idempotent: a second take with the same key (a double click, a form
    /// sent again after a slow network, an API client's retry) gets the message the first one
    /// stored, and nothing more is delivered.
    pub submit_key: Option<String>,
}

/// A `desk.urgent_taken` event: an urgent message was taken whose caller type has an urgent
/// flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrgentTaken {
    pub message_id: i64,
}

impl engine::Kind for UrgentTaken {
    const NAME: &'static str = "desk.urgent_taken";
    const PRIORITY: engine::Priority = engine::Priority::Urgent;
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
    take_once(db, clock, org, brand, actor, input).await.map(|(m, _)| m)
}

/// [`take`], saying whether the message was taken before with the same
/// [`TakeInput::submit_key`] (`true`: this is that message, and nothing new was queued).
pub async fn take_once(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    brand: BrandId,
    actor: &str,
    input: &TakeInput,
) -> Result<(DeskMessage, bool)> {
    let submit_key = match input.submit_key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) if k.len() > 255 || k.chars().any(char::is_control) => {
            return Err(Error::invalid("submit_key", "a key of at most 255 printable characters"));
        }
        k => k.map(str::to_string),
    };
    if let Some(k) = &submit_key
        && let Some(m) = by_submit_key(db, org, k).await?
    {
        return Ok((m, true));
    }
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
    let now = clock.now();
    let in_hours = rules::is_open(&client.working_hours, &protocol.protocol.holidays, &client.zone(), now);
    let values: Vec<&str> = answers.iter().map(|a| a.value.as_str()).collect();
    let suggested = rules::suggest(&protocol.protocol.urgency, &client.urgent_words, &values, in_hours);
    let reason = input.urgent_reason.trim();
    let urgent = input.urgent.unwrap_or(suggested.is_some());
    if reason.chars().count() > URGENT_REASON_MAX {
        v.add("urgent_reason", format!("use at most {URGENT_REASON_MAX} characters"));
    } else if !urgent
        && reason.is_empty()
        && let Some(why) = &suggested
    {
        v.add("urgent_reason", format!("the rules say this is urgent ({why}): mark it urgent, or say why it is not"));
    }
    let about = match input.about {
        Some(about) => match check_about(db, org, brand, &client.name, about).await {
            Ok(about) => Some(about),
            Err((field, m)) => {
                v.add(field, m);
                None
            }
        },
        None => None,
    };
    v.finish()?;
    let reason = match (urgent, reason.is_empty(), &suggested) {
        (_, false, _) => Some(reason.to_string()),
        (true, true, Some(why)) => Some(why.clone()),
        _ => None,
    };
    let document = serde_json::to_string(&answers).map_err(|e| Error::Unexpected(e.to_string()))?;
    let mut tx = db.begin().await?;
    let id: Option<(i64,)> = sqlx::query_as(
        "insert into desk_messages (org_id, brand_id, protocol_version, caller_type, caller_type_name, answers, \
         urgent, urgent_reason, status, taken_by, taken_at, suggested, in_hours, job_id, lead_id, submit_key) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, 'held', $9, $10, $11, $12, $13, $14, $15) \
         on conflict (org_id, submit_key) where submit_key is not null do nothing returning id",
    )
    .bind(org.0)
    .bind(brand.0)
    .bind(protocol.version)
    .bind(&caller.key)
    .bind(&caller.name)
    .bind(&document)
    .bind(urgent as i64)
    .bind(reason.clone())
    .bind(actor)
    .bind(to_millis(now))
    .bind(suggested.clone())
    .bind(in_hours as i64)
    .bind(match about {
        Some(About::Job(j)) => Some(j.0),
        _ => None,
    })
    .bind(match about {
        Some(About::Lead(l)) => Some(l.0),
        _ => None,
    })
    .bind(submit_key.clone())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id,)) = id else {
        // The same key was taken meanwhile (the first of two submissions at once): that one.
        drop(tx);
        let k = submit_key.as_deref().unwrap_or_default();
        return by_submit_key(db, org, k).await?.map(|m| (m, true)).ok_or(Error::NotFound);
    };
    let taken = Taken {
        id,
        brand: &client,
        caller,
        answers: &answers,
        urgent,
        urgent_reason: reason.as_deref(),
        in_hours,
        several_types: protocol.protocol.caller_types.len() > 1,
        taken_by: actor,
        taken_at: now,
    };
    let mut queued = delivery::plan_in(&mut tx, clock, &protocol.protocol, &taken).await?;
    if urgent && caller.urgent_flow.is_some() {
        // The escalation (above the desk) hears of it and runs the caller type's urgent flow.
        let work = NewWork::of(&UrgentTaken { message_id: id }, now)?.org(org).key(format!("desk.urgent:{id}"));
        engine::enqueue_in(&mut tx, &work, now).await?;
        queued = true;
    }
    tx.commit().await?;
    if queued {
        db.work_added();
    }
    db.publish(crate::db::Event::Desk { org, message: id });
    Ok((get(db, org, id).await?, false))
}

/// The message taken with `key`, if any.
async fn by_submit_key(db: &Db, org: OrgId, key: &str) -> Result<Option<DeskMessage>> {
    let found: Option<(i64,)> = sqlx::query_as("select id from desk_messages where org_id = $1 and submit_key = $2")
        .bind(org.0)
        .bind(key)
        .fetch_optional(db.pool())
        .await?;
    match found {
        Some((id,)) => Ok(Some(get(db, org, id).await?)),
        None => Ok(None),
    }
}

/// Checks that `about` is the client's and still open; a lead already made a job is taken as
/// its job. A refusal names its field (`job_id`, `lead_id`).
async fn check_about(
    db: &Db,
    org: OrgId,
    brand: BrandId,
    client: &str,
    about: About,
) -> std::result::Result<About, (&'static str, String)> {
    let other = |what: &str| format!("that {what} is not {client}'s");
    let (id, field) = match about {
        About::Job(id) => (id, "job_id"),
        About::Lead(id) => match crate::leads::get(db, org, id).await {
            Ok(l) if l.brand_id != brand => return Err(("lead_id", other("lead"))),
            // A lead made a job already: the message is about its job.
            Ok(l) => match (l.job_id, l.status.is_open()) {
                (Some(job), _) => (job, "lead_id"),
                (None, true) => return Ok(about),
                (None, false) => return Err(("lead_id", "that lead is archived; restore it first".into())),
            },
            Err(Error::NotFound) => return Err(("lead_id", "no such lead".into())),
            Err(e) => return Err(("lead_id", e.to_string())),
        },
    };
    match crate::jobs::get(db, org, id).await {
        Ok(j) if j.brand_id != brand => Err((field, other("job"))),
        Ok(j) if !j.status.is_open() => Err((field, format!("{} is {}", j.code, j.status.label().to_lowercase()))),
        Ok(_) => Ok(About::Job(id)),
        Err(Error::NotFound) => Err((field, "no such job".into())),
        Err(e) => Err((field, e.to_string())),
    }
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
    suggested: Option<String>,
    in_hours: i64,
    status: String,
    taken_by: String,
    taken_at: i64,
    retrieved_by: Option<String>,
    retrieved_at: Option<i64>,
    job_id: Option<i64>,
    lead_id: Option<i64>,
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
            suggested: r.suggested,
            in_hours: r.in_hours != 0,
            status: if r.status == "retrieved" { DeskStatus::Retrieved } else { DeskStatus::Held },
            deliveries: Vec::new(),
            notes: Vec::new(),
            taken_by: r.taken_by,
            taken_at: from_millis(r.taken_at),
            retrieved_by: r.retrieved_by,
            retrieved_at: r.retrieved_at.map(from_millis),
            about: match (r.job_id, r.lead_id) {
                (Some(j), _) => Some(About::Job(JobId(j))),
                (None, Some(l)) => Some(About::Lead(LeadId(l))),
                (None, None) => None,
            },
        })
    }
}

const SELECT: &str = "select id, brand_id, protocol_version, caller_type, caller_type_name, answers, urgent, \
                      urgent_reason, suggested, in_hours, status, taken_by, taken_at, retrieved_by, retrieved_at, job_id, lead_id \
                      from desk_messages ";

pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<DeskMessage> {
    let sql = format!("{SELECT} where org_id = $1 and id = $2");
    let row: Option<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(id).fetch_optional(db.pool()).await?;
    let message = row.map(DeskMessage::try_from).transpose()?.ok_or(Error::NotFound)?;
    Ok(with_deliveries(db, org, vec![message]).await?.remove(0))
}

/// The organization's messages with these ids, as taken: their deliveries and notes are not
/// read (left empty). Those not found are left out.
pub async fn get_many_as_taken(db: &Db, org: OrgId, ids: &[i64]) -> Result<Vec<DeskMessage>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("{SELECT} where org_id = $1 and {}", crate::db::bulk::any(db.backend(), "id", 2, "bigint"));
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(crate::db::bulk::encode(ids)?)
        .fetch_all(db.pool())
        .await?;
    rows.into_iter().map(DeskMessage::try_from).collect()
}

/// Fills in each message's deliveries and the state they give it.
async fn with_deliveries(db: &Db, org: OrgId, mut messages: Vec<DeskMessage>) -> Result<Vec<DeskMessage>> {
    let ids: Vec<i64> = messages.iter().map(|m| m.id).collect();
    let mut by_message: BTreeMap<i64, Vec<Delivery>> = BTreeMap::new();
    for d in delivery::for_messages(db, org, &ids).await? {
        by_message.entry(d.message_id).or_default().push(d);
    }
    let mut notes: BTreeMap<i64, Vec<Note>> = BTreeMap::new();
    if !ids.is_empty() {
        let sql = format!(
            "select id, message_id, body, created_by, created_at from desk_notes where org_id = $1 \
             and {} order by id",
            crate::db::bulk::any(db.backend(), "message_id", 2, "bigint")
        );
        let rows: Vec<(i64, i64, String, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org.0)
            .bind(crate::db::bulk::encode(&ids)?)
            .fetch_all(db.pool())
            .await?;
        for (id, message, body, created_by, at) in rows {
            notes.entry(message).or_default().push(Note { id, body, created_by, created_at: from_millis(at) });
        }
    }
    for m in &mut messages {
        let mine = by_message.remove(&m.id).unwrap_or_default();
        m.status = DeskStatus::of(m.status == DeskStatus::Retrieved, &mine);
        m.deliveries = mine;
        m.notes = notes.remove(&m.id).unwrap_or_default();
    }
    Ok(messages)
}

/// Which messages the board (or the API) lists.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// One client's.
    pub brand: Option<BrandId>,
    pub status: Option<DeskStatus>,
    pub urgent: Option<bool>,
    /// Taken on this date, in each client's own zone.
    pub date: Option<jiff::civil::Date>,
    /// Only these clients' (what a client's own sign-in may see); none at all when empty.
    pub only: Option<Vec<BrandId>>,
    /// Words that must all appear in the message (its answers, caller type or urgency
    /// reason, any case); a number matches whatever way it was written.
    pub text: Option<String>,
}

impl Filter {
    fn words(&self) -> Vec<String> {
        self.text.as_deref().unwrap_or("").split_whitespace().take(8).map(str::to_lowercase).collect()
    }
}

/// Whether every word appears in the message: in what the caller said, their caller type or
/// why it is urgent. A word that is mostly digits ("555-0188") matches a number however it
/// was written.
pub fn matches(m: &DeskMessage, words: &[String]) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let mut hay = m.caller_type_name.to_lowercase();
    let mut numbers = String::new();
    for a in &m.answers {
        hay.push('\n');
        hay.push_str(&a.shown().to_lowercase());
        numbers.push(' ');
        numbers.push_str(&digits(&a.value));
        numbers.push(' ');
        numbers.push_str(&digits(&a.shown()));
    }
    if let Some(r) = &m.urgent_reason {
        hay.push('\n');
        hay.push_str(&r.to_lowercase());
    }
    words.iter().all(|w| {
        let d = digits(w);
        let numeric = d.len() >= 3 && d.len() * 2 > w.chars().count();
        hay.contains(w.as_str()) || (numeric && numbers.contains(&d))
    })
}

/// How many messages a filtered list looks through at most (newest first) for the state, the
/// date and the words, which are worked out per message.
const FILTER_WINDOW: i64 = 5_000;

/// The newest messages that match, urgent ones nobody has retrieved first; at most `limit`
/// (1-500).
pub async fn list(db: &Db, org: OrgId, filter: &Filter, limit: i64) -> Result<Vec<DeskMessage>> {
    Ok(list_from(db, org, filter, 0, limit).await?.0)
}

/// [`list`] from the `offset`th message on (a board's later pages), and whether more follow.
pub async fn list_from(
    db: &Db,
    org: OrgId,
    filter: &Filter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<DeskMessage>, bool)> {
    let limit = limit.clamp(1, 500);
    let offset = offset.clamp(0, FILTER_WINDOW);
    // One more than asked for says whether there are more.
    let wanted = offset + limit + 1;
    let only = match &filter.only {
        Some(brands) if brands.is_empty() => return Ok((Vec::new(), false)),
        Some(brands) => {
            let ids: Vec<String> = brands.iter().map(|b| b.0.to_string()).collect();
            format!(" and brand_id in ({})", ids.join(", "))
        }
        None => String::new(),
    };
    let stored = match filter.status {
        None => None,
        Some(DeskStatus::Retrieved) => Some("retrieved"),
        Some(_) => Some("held"),
    };
    // A day is at most 26 hours long anywhere, and zones are within 14 hours of UTC.
    let (from, to) = match filter.date {
        Some(d) => {
            let midnight = d
                .to_datetime(jiff::civil::Time::midnight())
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map_err(|e| Error::Unexpected(e.to_string()))?
                .timestamp();
            (Some(to_millis(midnight) - 15 * 3_600_000), Some(to_millis(midnight) + 40 * 3_600_000))
        }
        None => (None, None),
    };
    let sql = format!(
        "{SELECT} where org_id = $1 and ($2 is null or brand_id = $2) and ($3 is null or urgent = $3) \
         and ($4 is null or status = $4) and ($5 is null or taken_at >= $5) and ($6 is null or taken_at < $6){only} \
         order by case when urgent = 1 and status = 'held' then 0 else 1 end, taken_at desc, id desc limit $7"
    );
    let words = filter.words();
    let exact = filter.status.is_none_or(|s| s == DeskStatus::Retrieved) && filter.date.is_none() && words.is_empty();
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(filter.brand.map(|b| b.0))
        .bind(filter.urgent.map(i64::from))
        .bind(stored)
        .bind(from)
        .bind(to)
        .bind(if exact { wanted } else { FILTER_WINDOW })
        .fetch_all(db.pool())
        .await?;
    let mut messages = rows.into_iter().map(DeskMessage::try_from).collect::<Result<Vec<_>>>()?;
    if let Some(date) = filter.date {
        let zones: BTreeMap<i64, jiff::tz::TimeZone> =
            crate::tenancy::list_brands(db, org).await?.into_iter().map(|b| (b.id.0, b.zone())).collect();
        messages.retain(|m| zones.get(&m.brand_id.0).is_some_and(|tz| m.taken_at.to_zoned(tz.clone()).date() == date));
    }
    if !words.is_empty() {
        messages.retain(|m| matches(m, &words));
    }
    let page = |mut all: Vec<DeskMessage>| {
        let more = all.len() as i64 > offset + limit;
        let rest = all.split_off((offset as usize).min(all.len()));
        (rest.into_iter().take(limit as usize).collect::<Vec<_>>(), more)
    };
    if exact {
        let (shown, more) = page(messages);
        return Ok((with_deliveries(db, org, shown).await?, more));
    }
    let mut out = Vec::new();
    for chunk in messages.chunks(500) {
        let mut part = with_deliveries(db, org, chunk.to_vec()).await?;
        part.retain(|m| filter.status.is_none_or(|s| m.status == s));
        out.extend(part);
        if out.len() as i64 >= wanted {
            break;
        }
    }
    Ok(page(out))
}

/// Records that the client has a held message (they checked in, or an operator read it to
/// them). Retrieving it again changes nothing.
pub async fn retrieve(db: &Db, clock: &dyn Clock, org: OrgId, id: i64, actor: &str) -> Result<DeskMessage> {
    get(db, org, id).await?;
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "update desk_messages set status = 'retrieved', retrieved_by = $3, retrieved_at = $4 \
         where org_id = $1 and id = $2 and status = 'held'",
    )
    .bind(org.0)
    .bind(id)
    .bind(actor)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done > 0 {
        // Held for check-in: that was its delivery, and it is done.
        sqlx::query(
            "update desk_deliveries set read_at = $3, detail = $4 \
             where org_id = $1 and message_id = $2 and method = 'check_in' and read_at is null",
        )
        .bind(org.0)
        .bind(id)
        .bind(now)
        .bind(format!("retrieved by {}", crate::jobs::dispatch::actor_name(actor)))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    db.publish(crate::db::Event::Desk { org, message: id });
    get(db, org, id).await
}

/// Adds an operator's note to a message.
pub async fn add_note(db: &Db, clock: &dyn Clock, org: OrgId, id: i64, body: &str, actor: &str) -> Result<DeskMessage> {
    get(db, org, id).await?;
    if body.trim().is_empty() {
        return Err(Error::invalid("body", "write the note first"));
    }
    let body = crate::parse::required_text(body, NOTE_MAX).map_err(|m| Error::invalid("body", m))?;
    sqlx::query(
        "insert into desk_notes (org_id, message_id, body, created_by, created_at) values ($1, $2, $3, $4, $5)",
    )
    .bind(org.0)
    .bind(id)
    .bind(&body)
    .bind(actor)
    .bind(to_millis(clock.now()))
    .execute(db.pool())
    .await?;
    db.publish(crate::db::Event::Desk { org, message: id });
    get(db, org, id).await
}

/// Whether the client's rules would suggest urgent for these answers (typed, by field key) if
/// the message were taken now, and why: the operator's screen shows it while they type.
/// Answers that do not read yet are looked at as typed.
/// Each field of the caller type with what is wrong with its answer so far, or an empty
/// message when it reads (or is still empty: a required field is asked for on taking, not
/// while the operator is still on the call). The operator's screen shows it as they type.
pub async fn check_typed(
    db: &Db,
    org: OrgId,
    brand: BrandId,
    caller_type: &str,
    answers: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>> {
    let client = crate::tenancy::brand(db, org, brand).await?;
    let Some(protocol) = super::current(db, org, brand).await? else { return Ok(Vec::new()) };
    let Some(caller) = protocol.protocol.caller_type(caller_type.trim()) else { return Ok(Vec::new()) };
    Ok(caller
        .fields
        .iter()
        .map(|f| {
            let typed = answers.get(&f.key).map(|v| v.trim()).filter(|v| !v.is_empty());
            let wrong = match typed {
                Some(v) => f.read(Some(v), client.country).err().unwrap_or_default(),
                None => String::new(),
            };
            (f.key.clone(), wrong)
        })
        .collect())
}

pub async fn suggestion(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    brand: BrandId,
    answers: &BTreeMap<String, String>,
) -> Result<Option<String>> {
    let client = crate::tenancy::brand(db, org, brand).await?;
    let Some(protocol) = super::current(db, org, brand).await? else { return Ok(None) };
    let now = clock.now();
    let in_hours = rules::is_open(&client.working_hours, &protocol.protocol.holidays, &client.zone(), now);
    let values: Vec<&str> = answers.values().map(String::as_str).collect();
    Ok(rules::suggest(&protocol.protocol.urgency, &client.urgent_words, &values, in_hours))
}
