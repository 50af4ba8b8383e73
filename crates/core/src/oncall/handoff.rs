//! Hand-off notices: for a schedule that has them on, whoever comes on call is told at the
//! hand-off (a text to their cell, else an email), and whoever goes off is told who took over.
//!
//! Nothing is worked out ahead: an `oncall.handoff` timer only names a schedule and an
//! instant; when it fires it resolves the schedule as it is then, tells the people who changed
//! (nobody, when an edit since made it no hand-off at all), and sets the timer for the next
//! change. Every edit of the schedule queues a plan (`at` absent) that sets the timer for the
//! next change as the schedule now stands, so an edit that moves a hand-off earlier is told at
//! its new time; timers are keyed by schedule and instant, so none fires twice.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::timeline::on_call;
use super::{Member, feed::stretches};
use crate::clock::{Clock, from_millis, to_millis};
use crate::db::{Db, Tx};
use crate::engine::{self, BoxFuture, NewWork, Outcome, Priority, WorkContext, WorkItem, Worker};
use crate::ids::OrgId;
use crate::parse::{EmailAddress, PhoneE164};
use crate::{Error, Result, messaging, when};

/// An `oncall.handoff` item: tell the people who change at `at` (ms), or with no `at`, find the
/// next change and set a timer for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    pub schedule_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
}

impl engine::Kind for Handoff {
    const NAME: &'static str = "oncall.handoff";
    const PRIORITY: Priority = Priority::Urgent;
}

/// Queues, inside `tx`, a plan for the schedule as changed (its new `version`).
pub async fn plan_in(tx: &mut Tx, org: OrgId, schedule: i64, version: i64, now: Timestamp) -> Result<()> {
    let work = NewWork::of(&Handoff { schedule_id: schedule, at: None }, now)?
        .org(org)
        .key(format!("oncall.plan:{schedule}:{version}"));
    engine::enqueue_in(tx, &work, now).await?;
    Ok(())
}

/// Runs `oncall.handoff` items.
#[derive(Clone, Debug, Default)]
pub struct HandoffNotices;

impl Worker for HandoffNotices {
    type Args = Handoff;
    fn work(&self, ctx: WorkContext, item: WorkItem, args: Handoff) -> BoxFuture<Outcome> {
        Box::pin(async move {
            let Some(org) = item.org_id else { return Outcome::Fail("a hand-off with no organization".into()) };
            run(&ctx.db, ctx.clock.as_ref(), org, args).await.into()
        })
    }
}

/// The texts of a hand-off: (to whoever comes on, to whoever goes off).
pub fn wording(
    client: &str,
    schedule: &str,
    at: Timestamp,
    until: Option<Timestamp>,
    now_on: &[String],
    tz: &jiff::tz::TimeZone,
) -> (String, String) {
    let start = format!("{} {}", when::time(at, tz), when::day(at, at, tz));
    let on = match until {
        Some(u) => format!(
            "{client}: you are on call for {schedule} from {start} until {} {}.",
            when::time(u, tz),
            when::day(u, at, tz)
        ),
        None => format!("{client}: you are on call for {schedule} from {start}."),
    };
    let who = match now_on {
        [] => "nobody is on call now".to_string(),
        [one] => format!("{one} is on call now"),
        many => format!("{} are on call now", many.join(", ")),
    };
    let off = format!("{client}: your on-call time for {schedule} ended at {}; {who}.", when::time(at, tz));
    (on, off)
}

async fn run(db: &Db, clock: &dyn Clock, org: OrgId, args: Handoff) -> Result<Outcome> {
    let stored = match super::store::get(db, org, args.schedule_id).await {
        Ok(s) => s,
        Err(Error::NotFound) => return Ok(Outcome::Done(Some(serde_json::json!({ "skipped": "no such schedule" })))),
        Err(e) => return Err(e),
    };
    if !stored.handoff_notices {
        return Ok(Outcome::Done(Some(serde_json::json!({ "skipped": "hand-off notices are off" }))));
    }
    let schedule = stored.schedule();
    let now = clock.now();
    let mut tx = db.begin().await?;
    let at = match args.at {
        Some(at) => from_millis(at),
        // A plan: the next change from now.
        None => now,
    };
    let after = on_call(&schedule, at);
    let mut told = 0;
    if args.at.is_some() {
        let before = on_call(&schedule, at - SignedDuration::from_millis(1));
        let (was, is): (Vec<Member>, Vec<Member>) =
            (before.on_call.iter().map(|(m, _)| *m).collect(), after.on_call.iter().map(|(m, _)| *m).collect());
        let brand = crate::tenancy::brand(db, org, stored.brand_id).await?;
        let tz = brand.zone();
        let names = super::store::names(db, org, &[was.clone(), is.clone()].concat()).await?;
        let name = |m: Member| names.iter().find(|(x, _)| *x == m).map(|(_, n)| n.clone()).unwrap_or_default();
        let now_on: Vec<String> = is.iter().map(|m| name(*m)).collect();
        for m in is.iter().filter(|m| !was.contains(m)) {
            let until =
                stretches(&schedule, at, at + SignedDuration::from_hours(24 * 60), Some(*m)).first().map(|s| s.2);
            let (text, _) = wording(&brand.name, &stored.name, at, until, &now_on, &tz);
            told += tell(&mut tx, db, clock, &brand, *m, &format!("{}: you are on call", brand.name), &text).await?;
        }
        for m in was.iter().filter(|m| !is.contains(m)) {
            let (_, text) = wording(&brand.name, &stored.name, at, None, &now_on, &tz);
            told += tell(&mut tx, db, clock, &brand, *m, &format!("{}: your on-call time ended", brand.name), &text)
                .await?;
        }
    }
    // The next change after this one, as the schedule stands now.
    if let Some(next) = after.until {
        let work = NewWork::of(&Handoff { schedule_id: stored.id, at: Some(to_millis(next)) }, next)?
            .org(org)
            .key(format!("oncall.handoff:{}:{}", stored.id, to_millis(next)));
        engine::enqueue_in(&mut tx, &work, now).await?;
    }
    tx.commit().await?;
    db.work_added();
    Ok(Outcome::Done(Some(serde_json::json!({ "told": told }))))
}

/// Queues a notice to `m`: a text to a contact's cell (from the client's number), else an
/// email (a contact's, or a sign-in's). Returns 1 when one was queued, 0 when they cannot be
/// reached (logged).
async fn tell(
    tx: &mut Tx,
    db: &Db,
    clock: &dyn Clock,
    brand: &crate::tenancy::Brand,
    m: Member,
    subject: &str,
    text: &str,
) -> Result<usize> {
    let (cell, email): (Option<String>, Option<String>) = match m {
        Member::Contact(id) => {
            let c = match crate::desk::contacts::get(db, brand.org_id, brand.id, id).await {
                Ok(c) => c,
                Err(Error::NotFound) => return Ok(0),
                Err(e) => return Err(e),
            };
            let first = |kind: crate::desk::contacts::MethodKind| {
                c.methods.iter().find(|x| x.kind == kind).map(|x| x.value.clone())
            };
            (first(crate::desk::contacts::MethodKind::Cell), first(crate::desk::contacts::MethodKind::Email))
        }
        Member::User(id) => match crate::tenancy::user(db, brand.org_id, crate::ids::UserId(id)).await {
            Ok(u) => (None, Some(u.email.to_string())),
            Err(Error::NotFound) => return Ok(0),
            Err(e) => return Err(e),
        },
    };
    match (cell.filter(|_| brand.sms_number.is_some()), email) {
        (Some(cell), _) => {
            let to = PhoneE164::from_stored(&cell).map_err(Error::Unexpected)?;
            messaging::queue_sms_with_priority_in(tx, clock, brand, &to, text, Priority::Routine).await?;
            Ok(1)
        }
        (None, Some(email)) => {
            let to = EmailAddress::parse(&email).map_err(Error::Unexpected)?;
            messaging::queue_email_in(tx, clock, brand, &to, subject, text).await?;
            Ok(1)
        }
        (None, None) => {
            tracing::warn!(member = %m, "hand-off notice: no cell or email to tell them by");
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_notices_say_from_when_until_when_and_who_took_over() {
        let tz = jiff::tz::TimeZone::get("America/New_York").unwrap();
        let at: Timestamp = "2026-11-24T22:00:00Z".parse().unwrap();
        let until: Timestamp = "2026-11-25T13:00:00Z".parse().unwrap();
        let (on, off) = wording("Harbor Plumbing", "Nights", at, Some(until), &["Ben Ortiz".into()], &tz);
        assert_eq!(
            on,
            "Harbor Plumbing: you are on call for Nights from 5:00 PM today until 8:00 AM tomorrow, Wed Nov 25."
        );
        assert_eq!(off, "Harbor Plumbing: your on-call time for Nights ended at 5:00 PM; Ben Ortiz is on call now.");
        // A stretch of several days, and nobody after: time off leaving a gap.
        let until: Timestamp = "2026-11-27T13:00:00Z".parse().unwrap();
        let (on, off) = wording("Harbor Plumbing", "Nights", at, Some(until), &[], &tz);
        assert_eq!(on, "Harbor Plumbing: you are on call for Nights from 5:00 PM today until 8:00 AM Fri Nov 27.");
        assert_eq!(off, "Harbor Plumbing: your on-call time for Nights ended at 5:00 PM; nobody is on call now.");
        let (on, _) = wording("Harbor", "Nights", at, None, &["A".into(), "B".into()], &tz);
        assert_eq!(on, "Harbor: you are on call for Nights from 5:00 PM today.");
        let (_, off) = wording("Harbor", "Nights", at, None, &["A".into(), "B".into()], &tz);
        assert_eq!(off, "Harbor: your on-call time for Nights ended at 5:00 PM; A, B are on call now.");
    }
}
