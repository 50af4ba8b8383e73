//! A person's own page on a schedule, opened with a capability link (scope `shifts`) the
//! office sends them, with or without an account: their coming shifts, which they can offer
//! to the others; the shifts the others offer, which they can take; and the ones they took,
//! which they can give back. Every action goes through [`super::swaps`], recorded as theirs.

use jiff::{SignedDuration, Timestamp};

use super::Member;
use super::feed::shifts;
use super::store::{StoredSchedule, get, names};
use super::swaps::{self, StoredSwap, SwapStatus};
use crate::clock::Clock;
use crate::db::Db;
use crate::ids::OrgId;
use crate::links::{self, NewLink, Scope};
use crate::{Error, Result};

/// How far ahead the page lists shifts.
pub const DAYS_AHEAD: i64 = 30;
/// How long a link stays good.
pub const LINK_DAYS: i64 = 365;

/// What the page shows.
#[derive(Debug, Clone)]
pub struct Mine {
    pub org: OrgId,
    pub schedule: StoredSchedule,
    pub client: crate::tenancy::Brand,
    pub me: Member,
    pub my_name: String,
    /// (start, end, my open offer of it, if any).
    pub shifts: Vec<(Timestamp, Timestamp, Option<i64>)>,
    /// Others' open offers: (swap, their name).
    pub offered: Vec<(StoredSwap, String)>,
    /// Swaps I took that have not ended.
    pub taken: Vec<StoredSwap>,
}

/// A new link to `member`'s own page on the schedule; returns the token.
pub async fn issue(db: &Db, clock: &dyn Clock, org: OrgId, schedule: i64, member: Member) -> Result<String> {
    get(db, org, schedule).await?;
    let mut tx = db.begin().await?;
    let expires = clock.now().checked_add(SignedDuration::from_hours(24 * LINK_DAYS)).ok();
    let link = NewLink { scope: Scope::Shifts, subject: schedule, about: Some(member.link_id()), expires_at: expires };
    let token = links::issue_in(&mut tx, clock, org, &link).await?;
    tx.commit().await?;
    Ok(token)
}

/// Stops `member`'s links to their own page on the schedule; returns how many worked until now.
pub async fn revoke(db: &Db, clock: &dyn Clock, org: OrgId, schedule: i64, member: Member) -> Result<u64> {
    get(db, org, schedule).await?;
    let mut tx = db.begin().await?;
    let n = links::revoke_about_in(&mut tx, clock, org, Scope::Shifts, schedule, Some(member.link_id())).await?;
    tx.commit().await?;
    Ok(n)
}

/// The page `token` opens; `NotFound` for a link that does not work.
pub async fn open(db: &Db, clock: &dyn Clock, token: &str) -> Result<Mine> {
    let link = links::check(db, clock, Scope::Shifts, token).await?;
    let me = link.about.map(Member::from_link_id).ok_or(Error::NotFound)?;
    open_as(db, clock, link.org, link.subject, me).await
}

/// The page of `me` on the schedule (a signed-in person's own).
pub async fn open_as(db: &Db, clock: &dyn Clock, org: OrgId, schedule: i64, me: Member) -> Result<Mine> {
    let schedule = get(db, org, schedule).await?;
    let client = crate::tenancy::brand(db, org, schedule.brand_id).await?;
    let now = clock.now();
    let until =
        now.checked_add(SignedDuration::from_hours(24 * DAYS_AHEAD)).map_err(|e| Error::Unexpected(e.to_string()))?;
    let all = swaps::list(db, clock, org, schedule.id, false).await?;
    // An offer of mine that overlaps the shift (a shift under way may have been offered from
    // where an earlier look at the page began it).
    let mine_offered = |s: Timestamp, e: Timestamp| {
        all.iter().find(|w| w.status == SwapStatus::Offered && w.from == me && w.start < e && w.end > s).map(|w| w.id)
    };
    // My shifts as the schedule stands (a shift under way from where it began, up to a week
    // back), and those I offered that someone took are gone from it.
    let back = now.checked_sub(SignedDuration::from_hours(24 * 7)).map_err(|e| Error::Unexpected(e.to_string()))?;
    let mut stretches: Vec<(Timestamp, Timestamp, Option<i64>)> = shifts(&schedule.schedule(), back, until, Some(me))
        .into_iter()
        .map(|(_, s, e)| (s, e, mine_offered(s, e)))
        .collect();
    stretches.retain(|(_, e, _)| *e > now);
    let others: Vec<StoredSwap> =
        all.iter().filter(|w| w.status == SwapStatus::Offered && w.from != me && w.end > now).cloned().collect();
    let who = names(db, org, &others.iter().map(|w| w.from).chain([me]).collect::<Vec<_>>()).await?;
    let name = |m: Member| who.iter().find(|(x, _)| *x == m).map(|(_, n)| n.clone()).unwrap_or_default();
    Ok(Mine {
        org,
        my_name: name(me),
        offered: others
            .into_iter()
            .map(|w| {
                let n = name(w.from);
                (w, n)
            })
            .collect(),
        taken: all.into_iter().filter(|w| w.status == SwapStatus::Accepted && w.to == Some(me)).collect(),
        shifts: stretches,
        me,
        schedule,
        client,
    })
}

/// The person offers one of their shifts.
pub async fn offer(
    m: &Mine,
    db: &Db,
    clock: &dyn Clock,
    start: Timestamp,
    end: Timestamp,
    actor: &str,
) -> Result<StoredSwap> {
    let range = (start.to_string(), end.to_string());
    swaps::offer(db, clock, m.org, m.schedule.id, &m.me.to_string(), (&range.0, &range.1), None, actor).await
}

/// The person takes someone's offer.
pub async fn take(m: &Mine, db: &Db, clock: &dyn Clock, swap: i64, actor: &str) -> Result<StoredSwap> {
    swaps::take(db, clock, m.org, m.schedule.id, swap, &m.me.to_string(), actor, false).await
}

/// The person withdraws their offer, or gives back a swap they took.
pub async fn withdraw(m: &Mine, db: &Db, clock: &dyn Clock, swap: i64, actor: &str) -> Result<StoredSwap> {
    let all = swaps::list(db, clock, m.org, m.schedule.id, false).await?;
    let theirs =
        all.iter().any(|w| w.id == swap && (w.from == m.me && w.status == SwapStatus::Offered || w.to == Some(m.me)));
    if !theirs {
        return Err(Error::NotFound);
    }
    swaps::withdraw(db, clock, m.org, m.schedule.id, swap, actor).await
}

/// How actions through a link are recorded: `link:NAME`.
pub fn link_actor(m: &Mine) -> String {
    format!("link:{}", m.my_name)
}
