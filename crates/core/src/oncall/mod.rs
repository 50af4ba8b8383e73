//! On-call schedules (C10): who is reached at a given instant, decided when it is needed and
//! never copied ahead. A schedule, in its client's time zone, is a stack of layers, each a
//! rotation of people (sign-ins or desk contacts) with a shift length and a local hand-off
//! time, optionally restricted to times of day and days of the week; later layers take
//! precedence where they have someone on. Accepted swaps then trade shifts between two people,
//! and overrides for a time range replace, add or remove someone (time off is a removal).
//!
//! Resolution is a pure function of the schedule and an instant ([`timeline::on_call`]), and a
//! range of it is the final schedule the pages draw ([`timeline::timeline`]).
//!
//! Daylight saving: shifts measured in days or weeks hand off at the same local clock time on
//! both sides of a change (the shift that spans it is 23 or 25 hours); shifts measured in hours
//! are exact durations. A local time that does not exist (02:30 on the spring-forward night in
//! New York) happens as many minutes after the change as it would have been (03:30); a local
//! time that happens twice (01:30 on the fall-back night) happens the first time. Restriction
//! windows follow the same rule.

pub mod feed;
pub mod handoff;
pub mod mine;
pub mod store;
pub mod swaps;
pub mod timeline;

/// Registers the on-call workers (hand-off notices).
pub fn register(workers: &mut crate::engine::Workers) {
    workers.add(handoff::HandoffNotices);
}

use jiff::Timestamp;
use jiff::civil::{DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// Someone who can be on call: a person with a sign-in, or a desk contact without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Member {
    User(i64),
    Contact(i64),
}

/// How long each shift of a rotation lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "unit", content = "count", rename_all = "snake_case")]
pub enum ShiftLength {
    /// Exactly this many hours.
    Hours(u32),
    /// This many days, handing off at the same local time.
    Days(u32),
    /// This many weeks, handing off at the same local time and weekday.
    Weeks(u32),
}

impl ShiftLength {
    /// Its length in seconds when no clock change falls in it.
    pub fn nominal_seconds(self) -> i64 {
        match self {
            ShiftLength::Hours(h) => i64::from(h.max(1)) * 3600,
            ShiftLength::Days(d) => i64::from(d.max(1)) * 86_400,
            ShiftLength::Weeks(w) => i64::from(w.max(1)) * 7 * 86_400,
        }
    }
}

/// A stretch of local time on some days of the week: `start` on each of `days` until `end`,
/// which is the next day when it is not after `start` (17:00-08:00 is overnight; equal times
/// are the whole day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub days: Vec<Weekday>,
    pub start: Time,
    pub end: Time,
}

impl Window {
    /// Weekdays, Monday to Friday.
    pub const WEEKDAYS: [Weekday; 5] =
        [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday];
}

/// People taking turns: shift `k` after `start` belongs to `members[k mod n]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    pub members: Vec<Member>,
    pub length: ShiftLength,
    /// When the first shift begins, in the schedule's zone (its time of day is the hand-off).
    pub start: DateTime,
}

/// One layer of a schedule: a rotation, on only within its windows when it has any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub name: String,
    pub rotation: Rotation,
    /// Empty: all the time.
    pub windows: Vec<Window>,
}

/// What an override does for its time range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Change {
    /// `to` is on call instead of `from` (or instead of whoever is on, without `from`).
    Replace { from: Option<Member>, to: Member },
    /// `who` is on call too.
    Add { who: Member },
    /// `who` is not on call (time off): the gap it leaves stays a gap.
    Remove { who: Member },
}

/// A change for a time range, by the office or a person; later ones apply over earlier ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub id: i64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub change: Change,
}

/// An accepted swap: `to` takes `from`'s shift (or the part of it) from `start` to `end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Swap {
    pub id: i64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub from: Member,
    pub to: Member,
}

/// A schedule as resolution needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub zone: TimeZone,
    /// Later layers take precedence.
    pub layers: Vec<Layer>,
    /// Accepted swaps only.
    pub swaps: Vec<Swap>,
    /// In the order they were made.
    pub overrides: Vec<Override>,
}

/// Why someone is on call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Reason {
    /// Their turn in this layer (index from 0), in this shift (from 0 at the rotation's start).
    Layer {
        layer: usize,
        shift: i64,
    },
    Swap {
        id: i64,
    },
    Override {
        id: i64,
    },
}
