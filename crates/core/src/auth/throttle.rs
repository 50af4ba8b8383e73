//! A sliding-window limiter for failed sign-ins (and, later, public form submissions).
//!
//! Kept in memory: it protects one process from password guessing; it is not a quota. Each
//! key remembers the times of its recent failures; a key with `max` failures inside `window`
//! is refused until the oldest one ages out.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

#[derive(Debug)]
pub struct Throttle {
    max: usize,
    window: SignedDuration,
    hits: Mutex<HashMap<String, VecDeque<Timestamp>>>,
}

impl Throttle {
    pub fn new(max: usize, window: SignedDuration) -> Self {
        Self { max, window, hits: Mutex::new(HashMap::new()) }
    }

    /// `Err(retry_after)` when `key` has used up its allowance at `now`.
    pub fn check(&self, key: &str, now: Timestamp) -> Result<(), SignedDuration> {
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        let Some(times) = hits.get_mut(key) else {
            return Ok(());
        };
        Self::expire(times, now, self.window);
        match times.front() {
            Some(oldest) if times.len() >= self.max => Err(self.window - now.duration_since(*oldest)),
            _ => Ok(()),
        }
    }

    /// Records one counted event (a failed sign-in) for `key`.
    pub fn record(&self, key: &str, now: Timestamp) {
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        if hits.len() > 100_000 {
            // Bound memory under a flood of distinct keys: drop keys with nothing recent.
            let window = self.window;
            hits.retain(|_, t| {
                Self::expire(t, now, window);
                !t.is_empty()
            });
        }
        let times = hits.entry(key.to_string()).or_default();
        Self::expire(times, now, self.window);
        times.push_back(now);
        while times.len() > self.max {
            times.pop_front();
        }
    }

    /// Forgets `key` (after a successful sign-in).
    pub fn clear(&self, key: &str) {
        self.hits.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    fn expire(times: &mut VecDeque<Timestamp>, now: Timestamp, window: SignedDuration) {
        while times.front().is_some_and(|t| now.duration_since(*t) >= window) {
            times.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn refuses_after_max_failures_until_the_window_passes() {
        let th = Throttle::new(3, SignedDuration::from_mins(15));
        let start = t("2026-11-22T10:00:00Z");
        for i in 0..3 {
            assert!(th.check("ip:1", start + SignedDuration::from_secs(i)).is_ok(), "attempt {i} allowed");
            th.record("ip:1", start + SignedDuration::from_secs(i));
        }
        let retry = th.check("ip:1", start + SignedDuration::from_secs(10)).unwrap_err();
        assert_eq!(retry, SignedDuration::from_secs(15 * 60 - 10));
        assert!(th.check("ip:2", start).is_ok(), "other keys are not affected");
        assert!(th.check("ip:1", start + SignedDuration::from_mins(15)).is_ok(), "first failure aged out");
    }

    #[test]
    fn clear_forgets_a_key() {
        let th = Throttle::new(1, SignedDuration::from_mins(1));
        let now = t("2026-11-22T10:00:00Z");
        th.record("k", now);
        assert!(th.check("k", now).is_err());
        th.clear("k");
        assert!(th.check("k", now).is_ok());
    }
}
