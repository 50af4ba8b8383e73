//! Work items and the rules for what happens after an attempt: done, retry with backoff,
//! defer without counting an attempt, or dead after too many failures.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::kind::{Kind, Priority};
use crate::ids::OrgId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct WorkId(pub i64);

impl std::fmt::Display for WorkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A claimed item, as a worker sees it (its payload already decoded beside it).
#[derive(Debug, Clone)]
pub struct WorkItem {
    pub id: WorkId,
    pub org_id: Option<OrgId>,
    pub kind: String,
    /// The stored JSON.
    pub payload: String,
    /// This attempt's number, starting at 1.
    pub attempt: u32,
    pub max_attempts: u32,
    pub due_at: Timestamp,
    pub priority: Priority,
    pub idempotency_key: Option<String>,
    pub group: Option<String>,
    /// The version of the thing this item was queued for; check it with [`super::fence::holds_in`].
    pub fence: Option<Fence>,
}

/// A version of the thing a piece of work acts for (an escalation, an invoice). Work queued
/// for an older version lost a race and must do nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub name: String,
    pub version: i64,
}

/// Work to add: [`NewWork::of`] a typed payload, then the `key`/`org`/`group`/`fence`/...
/// setters.
#[derive(Debug, Clone)]
pub struct NewWork {
    pub kind: &'static str,
    /// The payload as JSON.
    pub payload: String,
    pub due_at: Timestamp,
    pub priority: Priority,
    /// At most one item ever exists per key: adding a second is a no-op.
    pub idempotency_key: Option<String>,
    pub org_id: Option<OrgId>,
    pub max_attempts: u32,
    pub group: Option<String>,
    pub fence: Option<Fence>,
}

pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;

impl NewWork {
    /// Work of kind `K`, due at `due_at`, with the kind's priority.
    pub fn of<K: Kind>(args: &K, due_at: Timestamp) -> crate::Result<Self> {
        let payload = serde_json::to_string(args)
            .map_err(|e| crate::Error::Unexpected(format!("encoding a {} payload: {e}", K::NAME)))?;
        Ok(Self {
            kind: K::NAME,
            payload,
            due_at,
            priority: K::PRIORITY,
            idempotency_key: None,
            org_id: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            group: None,
            fence: None,
        })
    }
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
    pub fn org(mut self, org: OrgId) -> Self {
        self.org_id = Some(org);
        self
    }
    pub fn attempts(mut self, max: u32) -> Self {
        self.max_attempts = max.max(1);
        self
    }
    /// Puts the item in a group that [`super::cancel_group_in`] cancels together.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }
    /// Overrides the kind's priority (an urgent text among routine ones).
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }
    pub fn fence(mut self, fence: Fence) -> Self {
        self.fence = Some(fence);
        self
    }
}

/// What a handler reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Finished; the optional result is kept on the item.
    Done(Option<serde_json::Value>),
    /// A transient failure: try again after backoff (dead once attempts run out).
    Retry(String),
    /// A permanent failure: no point in trying again.
    Fail(String),
    /// Not now (e.g. the sender's rate limit): run again at `until`; not counted as an attempt.
    Defer(Timestamp),
}

/// A handler whose own bookkeeping failed (say, the database was briefly unreachable) tries
/// again later.
impl From<crate::Result<Outcome>> for Outcome {
    fn from(r: crate::Result<Outcome>) -> Outcome {
        r.unwrap_or_else(|e| Outcome::Retry(e.to_string()))
    }
}

/// What the store should do with an item after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Done(Option<serde_json::Value>),
    RetryAt { at: Timestamp, error: String },
    Dead { error: String },
    DeferTo(Timestamp),
}

/// First retry delay; doubled per attempt, capped at [`BACKOFF_CAP`].
pub const BACKOFF_BASE: SignedDuration = SignedDuration::from_secs(2);
pub const BACKOFF_CAP: SignedDuration = SignedDuration::from_mins(30);

/// Exponential backoff with "equal jitter": half the exponential delay fixed, half random,
/// so retries of many items that failed together spread out. `jitter` is in [0, 1).
pub fn backoff(attempt: u32, jitter: f64) -> SignedDuration {
    let exp = attempt.saturating_sub(1).min(20);
    let full_ms = (BACKOFF_BASE.as_millis() as f64 * 2f64.powi(exp as i32)).min(BACKOFF_CAP.as_millis() as f64);
    let ms = full_ms / 2.0 + full_ms / 2.0 * jitter.clamp(0.0, 1.0);
    SignedDuration::from_millis(ms as i64)
}

/// The rule after an attempt: retries until `max_attempts` attempts have failed.
pub fn next_step(item: &WorkItem, outcome: Outcome, now: Timestamp, jitter: f64) -> Next {
    match outcome {
        Outcome::Done(result) => Next::Done(result),
        Outcome::Defer(until) => Next::DeferTo(until),
        Outcome::Fail(error) => Next::Dead { error },
        Outcome::Retry(error) if item.attempt >= item.max_attempts => {
            Next::Dead { error: format!("{error} (gave up after {} attempts)", item.attempt) }
        }
        Outcome::Retry(error) => Next::RetryAt { at: now + backoff(item.attempt, jitter), error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(attempt: u32, max: u32) -> WorkItem {
        WorkItem {
            id: WorkId(1),
            org_id: None,
            kind: "test".into(),
            payload: "null".into(),
            attempt,
            max_attempts: max,
            due_at: Timestamp::UNIX_EPOCH,
            priority: Priority::Routine,
            idempotency_key: None,
            group: None,
            fence: None,
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let cases = [
            (1, 0.0, 1_000),
            (1, 0.999_999, 1_999),
            (2, 0.0, 2_000),
            (3, 0.5, 6_000),
            (5, 0.0, 16_000),
            (30, 0.0, 900_000),
            (30, 1.0, 1_800_000),
        ];
        for (attempt, jitter, ms) in cases {
            assert_eq!(backoff(attempt, jitter).as_millis(), ms, "attempt {attempt} jitter {jitter}");
        }
    }

    #[test]
    fn retries_until_attempts_run_out_then_dead() {
        let now: Timestamp = "2026-11-22T12:00:00Z".parse().unwrap();
        assert_eq!(
            next_step(&item(1, 3), Outcome::Retry("503".into()), now, 0.0),
            Next::RetryAt { at: now + SignedDuration::from_secs(1), error: "503".into() }
        );
        assert_eq!(
            next_step(&item(3, 3), Outcome::Retry("503".into()), now, 0.0),
            Next::Dead { error: "503 (gave up after 3 attempts)".into() }
        );
        assert_eq!(
            next_step(&item(1, 3), Outcome::Fail("bad number".into()), now, 0.0),
            Next::Dead { error: "bad number".into() }
        );
        let later = now + SignedDuration::from_secs(1);
        assert_eq!(
            next_step(&item(3, 3), Outcome::Defer(later), now, 0.0),
            Next::DeferTo(later),
            "deferral never kills"
        );
        assert_eq!(next_step(&item(1, 3), Outcome::Done(None), now, 0.0), Next::Done(None));
    }
}
