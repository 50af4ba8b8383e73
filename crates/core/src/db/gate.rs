//! SQLite's one writer, taken in turns in this process: a transaction waits here (an async
//! hand-off, woken the moment the previous one ends) instead of in SQLite's busy handler,
//! which polls with sleeps of 1 to 100 ms. Turns go to urgent waiters first (the inbound
//! writer, whose webhooks wait on it), then to routine ones, each in arrival order.
//!
//! A waiter that gives up (its future dropped) loses nothing and blocks nobody: a turn handed
//! to it is dropped with the channel, and dropping a turn passes it on.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

#[derive(Debug, Default)]
pub struct Gate {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    held: bool,
    urgent: VecDeque<oneshot::Sender<Turn>>,
    routine: VecDeque<oneshot::Sender<Turn>>,
}

/// The right to write until dropped.
#[derive(Debug)]
pub struct Turn {
    /// `None` once disarmed: a turn that came back from a waiter that is gone.
    gate: Option<Arc<Gate>>,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding it; a poisoned lock still holds consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a turn: urgent ones are served before every routine one.
    pub async fn turn(self: &Arc<Self>, urgent: bool) -> Turn {
        let waiting = {
            let mut state = self.lock();
            if !state.held {
                state.held = true;
                return Turn { gate: Some(self.clone()) };
            }
            let (give, take) = oneshot::channel();
            if urgent {
                state.urgent.push_back(give)
            } else {
                state.routine.push_back(give)
            }
            take
        };
        match waiting.await {
            Ok(turn) => turn,
            // The gate never drops a waiter's sender without sending it a turn; should that
            // ever change, taking the lock outright is still correct (SQLite serializes).
            Err(_) => Turn { gate: Some(self.clone()) },
        }
    }

    /// Hands the turn to the next waiter, or frees the gate.
    fn pass_on(self: &Arc<Self>) {
        let mut state = self.lock();
        loop {
            let next = match state.urgent.pop_front() {
                Some(next) => next,
                None => match state.routine.pop_front() {
                    Some(next) => next,
                    None => {
                        state.held = false;
                        return;
                    }
                },
            };
            // A waiter that is gone hands the turn back here; try the next one.
            match next.send(Turn { gate: Some(self.clone()) }) {
                Ok(()) => return,
                Err(mut returned) => returned.gate = None,
            }
        }
    }

    #[cfg(test)]
    fn waiting(&self) -> (usize, usize) {
        let state = self.lock();
        (state.urgent.len(), state.routine.len())
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(gate) = self.gate.take() {
            gate.pass_on();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_free_gate_is_taken_at_once_and_freed_by_dropping_the_turn() {
        let gate = Arc::new(Gate::default());
        let turn = gate.turn(false).await;
        assert!(gate.lock().held);
        drop(turn);
        assert!(!gate.lock().held);
        let again = tokio::time::timeout(Duration::from_secs(1), gate.turn(true)).await;
        assert!(again.is_ok(), "a freed gate must be taken again at once");
    }

    #[tokio::test]
    async fn urgent_waiters_go_before_routine_ones_and_each_kind_in_arrival_order() {
        let gate = Arc::new(Gate::default());
        let first = gate.turn(false).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, urgent) in [("routine 1", false), ("urgent 1", true), ("routine 2", false), ("urgent 2", true)] {
            let (gate, order) = (gate.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _turn = gate.turn(urgent).await;
                order.lock().unwrap().push(name);
            }));
            settle().await;
        }
        assert_eq!(gate.waiting(), (2, 2));
        assert!(order.lock().unwrap().is_empty(), "nobody may write while the first turn is held");
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec!["urgent 1", "urgent 2", "routine 1", "routine 2"]);
        assert!(!gate.lock().held);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_does_not_keep_the_turn_from_the_next() {
        let gate = Arc::new(Gate::default());
        let first = gate.turn(false).await;
        let quitter = {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _turn = gate.turn(true).await;
            })
        };
        settle().await;
        let patient = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.turn(false).await })
        };
        settle().await;
        assert_eq!(gate.waiting(), (1, 1));
        quitter.abort();
        let _ = quitter.await;
        drop(first);
        let turn = tokio::time::timeout(Duration::from_secs(1), patient).await;
        assert!(matches!(turn, Ok(Ok(_))), "the patient waiter must get the turn");
    }

    #[tokio::test]
    async fn a_turn_handed_to_a_waiter_dropped_before_it_ran_is_passed_on() {
        let gate = Arc::new(Gate::default());
        let first = gate.turn(false).await;
        // Polled once (queued), then dropped after the turn was sent to it but before it ran.
        let mut quitter = Box::pin(gate.turn(true));
        assert!(futures_poll_once(quitter.as_mut()).await.is_none());
        let patient = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.turn(false).await })
        };
        settle().await;
        drop(first);
        drop(quitter);
        let turn = tokio::time::timeout(Duration::from_secs(1), patient).await;
        assert!(matches!(turn, Ok(Ok(_))), "the turn must not be lost with the dropped waiter");
    }

    async fn futures_poll_once<F: std::future::Future + Unpin>(mut fut: F) -> Option<F::Output> {
        std::future::poll_fn(|cx| match std::pin::Pin::new(&mut fut).poll(cx) {
            std::task::Poll::Ready(v) => std::task::Poll::Ready(Some(v)),
            std::task::Poll::Pending => std::task::Poll::Ready(None),
        })
        .await
    }
}
