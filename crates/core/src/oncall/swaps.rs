//! Shift swaps: someone offers a stretch of their time on call, another takes it (or an admin
//! assigns it), and from then on that stretch is theirs ([`super::Swap`], applied before
//! overrides). An offer can be withdrawn before it is taken; a taker can give it back, which
//! offers it again. Every step is recorded with who and when.

use jiff::Timestamp;

use super::store::{get, read_member};
use super::timeline::timeline;
use super::{Member, Swap};
use crate::clock::{Clock, from_millis, to_millis};
use crate::db::Db;
use crate::error::FieldError;
use crate::ids::OrgId;
use crate::{Error, Result};

/// Where a swap stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapStatus {
    Offered,
    Accepted,
    Withdrawn,
}

impl SwapStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SwapStatus::Offered => "offered",
            SwapStatus::Accepted => "accepted",
            SwapStatus::Withdrawn => "withdrawn",
        }
    }
    fn parse(s: &str) -> Result<SwapStatus> {
        Ok(match s {
            "offered" => SwapStatus::Offered,
            "accepted" => SwapStatus::Accepted,
            "withdrawn" => SwapStatus::Withdrawn,
            other => return Err(Error::Unexpected(format!("swap status {other}"))),
        })
    }
}

/// One step of a swap's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapEvent {
    /// `offered`, `taken`, `assigned`, `withdrawn` or `given_back`.
    pub action: String,
    /// Who took it or was assigned it.
    pub member: Option<Member>,
    /// `api` or `user:NAME`.
    pub actor: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredSwap {
    pub id: i64,
    pub schedule_id: i64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub from: Member,
    pub to: Option<Member>,
    pub status: SwapStatus,
    pub note: Option<String>,
    pub history: Vec<SwapEvent>,
}

impl StoredSwap {
    /// As resolution applies it, when accepted.
    pub fn in_effect(&self) -> Option<Swap> {
        match (self.status, self.to) {
            (SwapStatus::Accepted, Some(to)) => {
                Some(Swap { id: self.id, start: self.start, end: self.end, from: self.from, to })
            }
            _ => None,
        }
    }
}

/// Whether `m` is on call for all of `[start, end)`.
fn on_call_throughout(schedule: &super::Schedule, m: Member, start: Timestamp, end: Timestamp) -> bool {
    timeline(schedule, start, end).iter().all(|g| g.on_call.iter().any(|(x, _)| *x == m))
}

type SwapRow = (i64, i64, i64, i64, String, Option<String>, String, Option<String>);

fn member(s: &str, id: i64) -> Result<Member> {
    Member::parse(s).map_err(|_| Error::Unexpected(format!("swap {id}: bad member {s}")))
}

async fn load(db: &Db, org: OrgId, rows: Vec<SwapRow>) -> Result<Vec<StoredSwap>> {
    let mut out = Vec::with_capacity(rows.len());
    for (id, schedule_id, start, end, from, to, status, note) in rows {
        let events: Vec<(String, Option<String>, String, i64)> = sqlx::query_as(
            "select action, member, actor, at from oncall_swap_events where org_id = $1 and swap_id = $2 order by id",
        )
        .bind(org.0)
        .bind(id)
        .fetch_all(db.pool())
        .await?;
        let history = events
            .into_iter()
            .map(|(action, m, actor, at)| {
                Ok(SwapEvent { action, member: m.map(|m| member(&m, id)).transpose()?, actor, at: from_millis(at) })
            })
            .collect::<Result<Vec<_>>>()?;
        out.push(StoredSwap {
            id,
            schedule_id,
            start: from_millis(start),
            end: from_millis(end),
            from: member(&from, id)?,
            to: to.map(|t| member(&t, id)).transpose()?,
            status: SwapStatus::parse(&status)?,
            note,
            history,
        });
    }
    Ok(out)
}

const SELECT: &str =
    "select id, schedule_id, start_at, end_at, from_member, to_member, status, note from oncall_swaps ";

/// The schedule's swaps that have not ended, oldest first (`all`: ended ones too).
pub async fn list(db: &Db, clock: &dyn Clock, org: OrgId, schedule: i64, all: bool) -> Result<Vec<StoredSwap>> {
    let sql = format!("{SELECT} where org_id = $1 and schedule_id = $2 and ($3 or end_at > $4) order by id");
    let rows: Vec<SwapRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(schedule)
        .bind(all)
        .bind(to_millis(clock.now()))
        .fetch_all(db.pool())
        .await?;
    load(db, org, rows).await
}

/// The accepted swaps of a schedule, for resolution.
pub(super) async fn accepted(db: &Db, org: OrgId, schedule: i64) -> Result<Vec<Swap>> {
    let rows: Vec<SwapRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} where org_id = $1 and schedule_id = $2 and status = 'accepted' order by id"
    )))
    .bind(org.0)
    .bind(schedule)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, _, start, end, from, to, _, _)| {
            let (from, to) = (Member::parse(&from).ok()?, Member::parse(&to?).ok()?);
            Some(Swap { id, start: from_millis(start), end: from_millis(end), from, to })
        })
        .collect())
}

async fn one(db: &Db, org: OrgId, schedule: i64, id: i64) -> Result<StoredSwap> {
    let rows: Vec<SwapRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} where org_id = $1 and schedule_id = $2 and id = $3")))
            .bind(org.0)
            .bind(schedule)
            .bind(id)
            .fetch_all(db.pool())
            .await?;
    load(db, org, rows).await?.pop().ok_or(Error::NotFound)
}

async fn record(
    tx: &mut crate::db::Tx,
    org: OrgId,
    swap: i64,
    action: &str,
    m: Option<Member>,
    actor: &str,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "insert into oncall_swap_events (org_id, swap_id, action, member, actor, at) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(org.0)
    .bind(swap)
    .bind(action)
    .bind(m.map(|m| m.to_string()))
    .bind(actor)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    let (schedule,): (i64,) = sqlx::query_as("select schedule_id from oncall_swaps where org_id = $1 and id = $2")
        .bind(org.0)
        .bind(swap)
        .fetch_one(&mut **tx)
        .await?;
    super::store::touch(tx, org, schedule, at).await
}

/// `from` offers their time on call from `start` to `end` (RFC 3339): they must be on call
/// for all of it, and it must not be over.
#[allow(clippy::too_many_arguments)]
pub async fn offer(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    schedule: i64,
    from: &str,
    (start, end): (&str, &str),
    note: Option<&str>,
    actor: &str,
) -> Result<StoredSwap> {
    let s = get(db, org, schedule).await?;
    let now = clock.now();
    let mut errors = Vec::new();
    let from = read_member(db, org, s.brand_id, from).await.map_err(|e| errors.push(FieldError::new("from", e))).ok();
    let when = |v: &str, field: &'static str, errors: &mut Vec<FieldError>| {
        v.trim()
            .parse::<Timestamp>()
            .map_err(|_| {
                errors.push(FieldError::new(field, format!("\"{}\" is not a time like 2026-11-03T22:00:00Z", v.trim())))
            })
            .ok()
    };
    let (start, end) = (when(start, "start", &mut errors), when(end, "end", &mut errors));
    let note =
        crate::parse::optional_text(note, 200).map_err(|m| errors.push(FieldError::new("note", m))).ok().flatten();
    let (Some(from), Some(start), Some(end)) = (from, start, end) else { return Err(Error::Invalid(errors)) };
    if end <= start {
        return Err(Error::invalid("end", "the end must come after the start"));
    }
    if end <= now {
        return Err(Error::invalid("end", "that time is over"));
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let at = to_millis(now);
    // Offers and takes of one schedule are made one at a time, each against the schedule as
    // the one before left it.
    let mut tx = db.begin().await?;
    super::store::lock_in(&mut tx, org, schedule).await?;
    let s = get(db, org, schedule).await?;
    if !on_call_throughout(&s.schedule(), from, start, end) {
        return Err(Error::invalid(
            "from",
            "they are not on call for all of that time: offer a stretch of their own shift",
        ));
    }
    let offered: Option<(i64, i64)> = sqlx::query_as(
        "select start_at, end_at from oncall_swaps where org_id = $1 and schedule_id = $2 and from_member = $3 \
         and status = 'offered' and start_at < $5 and end_at > $4 order by start_at limit 1",
    )
    .bind(org.0)
    .bind(schedule)
    .bind(from.to_string())
    .bind(to_millis(start))
    .bind(to_millis(end))
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((a, b)) = offered {
        let tz = &s.zone;
        let when = crate::when::dated_window(Some(from_millis(a)), Some(from_millis(b)), tz);
        return Err(Error::Conflict(format!(
            "part of that time is offered already ({when}): withdraw that offer first, or let someone take it"
        )));
    }
    let (id,): (i64,) = sqlx::query_as(
        "insert into oncall_swaps (org_id, schedule_id, start_at, end_at, from_member, status, note, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, 'offered', $6, $7, $7) returning id",
    )
    .bind(org.0)
    .bind(schedule)
    .bind(to_millis(start))
    .bind(to_millis(end))
    .bind(from.to_string())
    .bind(&note)
    .bind(at)
    .fetch_one(&mut *tx)
    .await?;
    record(&mut tx, org, id, "offered", None, actor, at).await?;
    tx.commit().await?;
    db.work_added();
    one(db, org, schedule, id).await
}

/// `who` takes an offered swap (`assigned`: an admin gives it to them).
#[allow(clippy::too_many_arguments)]
pub async fn take(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    schedule: i64,
    id: i64,
    who: &str,
    actor: &str,
    assigned: bool,
) -> Result<StoredSwap> {
    let s = get(db, org, schedule).await?;
    let swap = one(db, org, schedule, id).await?;
    let who = read_member(db, org, s.brand_id, who).await.map_err(|e| Error::invalid("who", e))?;
    if who == swap.from {
        return Err(Error::invalid("who", "someone else has to take it"));
    }
    let at = to_millis(clock.now());
    let mut tx = db.begin().await?;
    super::store::lock_in(&mut tx, org, schedule).await?;
    if swap.status == SwapStatus::Offered && swap.end.as_millisecond() > at {
        // The schedule may have changed since it was offered (an override, another swap):
        // a swap only applies while the one who offered it is on call.
        let s = get(db, org, schedule).await?;
        let from = from_millis(at).max(swap.start);
        if !on_call_throughout(&s.schedule(), swap.from, from, swap.end) {
            return Err(Error::Conflict(
                "the one who offered this is no longer on call for all of it (the schedule changed): they can withdraw it and offer again".into(),
            ));
        }
    }
    let done = sqlx::query(
        "update oncall_swaps set status = 'accepted', to_member = $4, updated_at = $5 \
         where org_id = $1 and schedule_id = $2 and id = $3 and status = 'offered' and end_at > $5",
    )
    .bind(org.0)
    .bind(schedule)
    .bind(id)
    .bind(who.to_string())
    .bind(at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(Error::Conflict(match swap.status {
            SwapStatus::Accepted => "someone took this swap already".into(),
            SwapStatus::Withdrawn => "this swap was withdrawn".into(),
            SwapStatus::Offered => "that time is over".into(),
        }));
    }
    record(&mut tx, org, id, if assigned { "assigned" } else { "taken" }, Some(who), actor, at).await?;
    tx.commit().await?;
    db.work_added();
    one(db, org, schedule, id).await
}

/// Withdraws an offer not yet taken, or gives a taken one back (it is offered again).
pub async fn withdraw(
    db: &Db,
    clock: &dyn Clock,
    org: OrgId,
    schedule: i64,
    id: i64,
    actor: &str,
) -> Result<StoredSwap> {
    let swap = one(db, org, schedule, id).await?;
    let at = to_millis(clock.now());
    let (to_status, action) = match swap.status {
        SwapStatus::Offered => ("withdrawn", "withdrawn"),
        SwapStatus::Accepted => ("offered", "given_back"),
        SwapStatus::Withdrawn => return Err(Error::Conflict("this swap was withdrawn already".into())),
    };
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "update oncall_swaps set status = $4, to_member = null, updated_at = $5 \
         where org_id = $1 and schedule_id = $2 and id = $3 and status = $6",
    )
    .bind(org.0)
    .bind(schedule)
    .bind(id)
    .bind(to_status)
    .bind(at)
    .bind(swap.status.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(Error::Conflict("this swap changed meanwhile: look again".into()));
    }
    record(&mut tx, org, id, action, swap.to, actor, at).await?;
    tx.commit().await?;
    db.work_added();
    one(db, org, schedule, id).await
}
