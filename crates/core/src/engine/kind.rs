//! Typed kinds of work and the workers that run them.
//!
//! A kind is a payload type with a stable name ([`Kind::NAME`]) and a priority; the payload is
//! stored as JSON and decoded back into that type before its worker sees it, so a payload that
//! does not decode fails the item with a message saying so instead of reaching a handler as
//! `null`. The module that owns a kind registers its worker in [`Workers`]; an engine claims
//! only the kinds it has workers for, so during a rolling deploy an older instance leaves newer
//! kinds of work alone for an instance that knows them (River's "job args and workers";
//! GoAlert's versioned processing locks serve the same end).

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::model::{Outcome, WorkItem};
use super::{BoxFuture, WorkContext};

/// Which work goes first among items that are due at the same moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Someone is waiting on it now (an escalation step, an urgent text).
    Urgent,
    /// Everything else (reminders, notifications, geocoding).
    Routine,
}

impl Priority {
    /// The stored value; lower is claimed first.
    pub fn as_i64(self) -> i64 {
        match self {
            Priority::Urgent => 0,
            Priority::Routine => 1,
        }
    }

    pub fn from_i64(v: i64) -> Priority {
        if v <= 0 { Priority::Urgent } else { Priority::Routine }
    }
}

/// A kind of work: the payload type, its stable name and its default priority.
pub trait Kind: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stored in every row of this kind: never rename one that may be queued.
    const NAME: &'static str;
    const PRIORITY: Priority = Priority::Routine;
}

/// Runs the items of one kind, with their payload decoded.
pub trait Worker: Send + Sync + 'static {
    type Args: Kind;
    fn work(&self, ctx: WorkContext, item: WorkItem, args: Self::Args) -> BoxFuture<Outcome>;
}

/// Reacts to an event kind (a job changed). Several modules may listen to one kind, each
/// registering its own listener: the engine runs them one after the other, in the order they
/// were registered, and when one fails the item is tried again with all of them, so a
/// listener must be idempotent (idempotency keys on what it queues, or a mark it checks).
pub trait Listener: Send + Sync + 'static {
    type Event: Kind;
    fn react(&self, ctx: WorkContext, item: WorkItem, event: Arc<Self::Event>) -> BoxFuture<crate::Result<()>>;
}

/// Every listener of one event kind, as one worker.
struct Fanout<E: Kind> {
    listeners: Vec<Arc<dyn Listener<Event = E>>>,
}

impl<E: Kind> Erased for Fanout<E> {
    fn run(&self, ctx: WorkContext, item: WorkItem) -> BoxFuture<Outcome> {
        let event = match decode::<E>(&item.payload) {
            Ok(event) => Arc::new(event),
            Err(message) => return Box::pin(async move { Outcome::Fail(message) }),
        };
        let listeners = self.listeners.clone();
        Box::pin(async move {
            for listener in listeners {
                if let Err(e) = listener.react(ctx.clone(), item.clone(), event.clone()).await {
                    return Outcome::Retry(e.to_string());
                }
            }
            Outcome::Done(None)
        })
    }
}

/// A worker with its payload decoding, as the engine holds it.
pub(super) trait Erased: Send + Sync {
    fn run(&self, ctx: WorkContext, item: WorkItem) -> BoxFuture<Outcome>;
}

struct Typed<W>(W);

impl<W: Worker> Erased for Typed<W> {
    fn run(&self, ctx: WorkContext, item: WorkItem) -> BoxFuture<Outcome> {
        match decode::<W::Args>(&item.payload) {
            Ok(args) => self.0.work(ctx, item, args),
            Err(message) => Box::pin(async move { Outcome::Fail(message) }),
        }
    }
}

/// The payload as its kind's type, or the reason it is not one.
pub fn decode<K: Kind>(payload: &str) -> Result<K, String> {
    serde_json::from_str(payload)
        .map_err(|e| format!("the payload of this \"{}\" item does not decode ({e}): {payload}", K::NAME))
}

/// The workers of one engine, by kind.
#[derive(Default, Clone)]
pub struct Workers {
    by_kind: BTreeMap<&'static str, Arc<dyn Erased>>,
    /// The listeners of each event kind (a `Vec<Arc<dyn Listener<Event = E>>>` per kind).
    listeners: BTreeMap<&'static str, Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_kind.keys()).finish()
    }
}

impl Workers {
    pub fn new() -> Workers {
        Workers::default()
    }

    /// Registers the worker for `W::Args`. A second worker for the same kind replaces the first.
    ///
    /// # Panics
    /// When the kind's name is not made of lowercase ASCII letters, digits, `.` and `_`: the
    /// names are written into the claim query, and this is a programming error caught by the
    /// first test that builds an engine.
    #[allow(clippy::panic)]
    pub fn add<W: Worker>(&mut self, worker: W) -> &mut Workers {
        let name = <W::Args as Kind>::NAME;
        if !valid_name(name) {
            panic!("work kind {name:?}: use lowercase letters, digits, '.' and '_'");
        }
        self.by_kind.insert(name, Arc::new(Typed(worker)));
        self.listeners.remove(name);
        self
    }

    /// Adds a listener for `L::Event`: the kind's items run every listener registered for it.
    /// A kind is either worked by one worker or listened to; listening replaces a worker.
    ///
    /// # Panics
    /// As [`Workers::add`], on a kind name that is not safe to write into the claim query.
    #[allow(clippy::panic)]
    pub fn listen<L: Listener>(&mut self, listener: L) -> &mut Workers {
        let name = <L::Event as Kind>::NAME;
        if !valid_name(name) {
            panic!("work kind {name:?}: use lowercase letters, digits, '.' and '_'");
        }
        let mut all: Vec<Arc<dyn Listener<Event = L::Event>>> = self
            .listeners
            .get(name)
            .and_then(|l| l.downcast_ref::<Vec<Arc<dyn Listener<Event = L::Event>>>>())
            .cloned()
            .unwrap_or_default();
        all.push(Arc::new(listener));
        self.by_kind.insert(name, Arc::new(Fanout { listeners: all.clone() }));
        self.listeners.insert(name, Arc::new(all));
        self
    }

    /// The kinds this engine claims, in a stable order.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.by_kind.keys().copied().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.by_kind.is_empty()
    }

    pub(super) fn get(&self, kind: &str) -> Option<&Arc<dyn Erased>> {
        self.by_kind.get(kind)
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Ping {
        n: i64,
    }
    impl Kind for Ping {
        const NAME: &'static str = "test.ping";
    }

    #[test]
    fn a_payload_decodes_into_its_kind_or_says_why_not() {
        assert_eq!(decode::<Ping>(r#"{"n": 3}"#), Ok(Ping { n: 3 }));
        let err = decode::<Ping>(r#"{"m": 3}"#).unwrap_err();
        assert!(err.starts_with("the payload of this \"test.ping\" item does not decode (missing field `n`"), "{err}");
        assert!(err.ends_with(r#": {"m": 3}"#), "the payload is shown: {err}");
        assert!(decode::<Ping>("null").is_err(), "null is not a Ping");
    }

    #[test]
    fn kind_names_are_safe_to_write_into_sql() {
        for ok in ["sms.send", "notify.customer", "job_change.v2"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "SMS", "a'b", "a b", "a;--"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn priorities_order_urgent_first() {
        assert!(Priority::Urgent < Priority::Routine);
        assert_eq!(Priority::from_i64(Priority::Urgent.as_i64()), Priority::Urgent);
        assert_eq!(Priority::from_i64(Priority::Routine.as_i64()), Priority::Routine);
    }
}
