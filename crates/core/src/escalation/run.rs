//! A running escalation, as a pure state machine: where it stands (round, step), what happens
//! on each event, and the version every change bumps. Timers carry the version they were set
//! for; one that fires for an older version does nothing (the fence), so a confirmation and a
//! step's timer racing never both act, and a pass that moved on already is not repeated.

use crate::desk::flow::Policy;

/// Where a running escalation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Escalating,
    /// Someone confirmed; nothing more is sent.
    Confirmed,
    /// Every round ran and nobody confirmed.
    Exhausted,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Escalating => "escalating",
            State::Confirmed => "confirmed",
            State::Exhausted => "exhausted",
        }
    }
    pub fn parse(s: &str) -> Option<State> {
        [State::Escalating, State::Confirmed, State::Exhausted].into_iter().find(|x| x.as_str() == s)
    }
}

/// Round from 1, step from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub round: u32,
    pub step: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub state: State,
    pub at: Position,
    /// One more on every change; timers are fenced by it.
    pub version: i64,
    /// Whether any step of this round reached someone.
    pub reached: bool,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The current step was carried out; `reached`: whether it reached anyone (an empty on-call
    /// slot, or nobody with that channel, reaches nobody and the step is skipped at once).
    Fired { reached: bool },
    /// The wait after the step set for `version` is over.
    WaitOver { version: i64 },
    /// The person reached passes (a call's 2, a link's Pass): the next step now.
    Pass,
    /// Someone confirmed (a reply code, a keypress, a link, an operator).
    Confirm,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Carry out this step now.
    Fire(Position),
    /// Set a timer `minutes` ahead for this version.
    Wait { minutes: u32, version: i64 },
    /// A whole round reached nobody: alert the client's fallback contact and the desk.
    NobodyReached { round: u32 },
    /// Confirmed: cancel pending steps, thank whoever confirmed, tell the others it is handled.
    Confirmed,
    /// Exhausted: tell the desk nobody confirmed.
    Exhausted,
}

/// A new escalation: the first step of the first round, at once.
pub fn start() -> (Run, Vec<Effect>) {
    let at = Position { round: 1, step: 0 };
    (Run { state: State::Escalating, at, version: 1, reached: false }, vec![Effect::Fire(at)])
}

/// The next step after the current one: the next in the round, or the first of the next
/// round, or the end.
fn next(policy: &Policy, run: Run, mut effects: Vec<Effect>) -> (Run, Vec<Effect>) {
    let mut run = Run { version: run.version + 1, ..run };
    if run.at.step + 1 < policy.steps.len() {
        run.at.step += 1;
        effects.push(Effect::Fire(run.at));
        return (run, effects);
    }
    if !run.reached {
        // Another round at once would reach nobody again: the desk takes over.
        effects.push(Effect::NobodyReached { round: run.at.round });
        run.state = State::Exhausted;
        effects.push(Effect::Exhausted);
        return (run, effects);
    }
    if run.at.round < policy.repeat.rounds() {
        run.at = Position { round: run.at.round + 1, step: 0 };
        run.reached = false;
        effects.push(Effect::Fire(run.at));
    } else {
        run.state = State::Exhausted;
        effects.push(Effect::Exhausted);
    }
    (run, effects)
}

/// The escalation after `event`, and what to do. Nothing happens once it is confirmed, nor
/// for a wait set for an older version. Once it is exhausted only a confirmation counts: the
/// message still has nobody, so someone who takes it late is taken at their word.
pub fn advance(policy: &Policy, run: Run, event: Event) -> (Run, Vec<Effect>) {
    match (run.state, event) {
        (State::Escalating, _) => {}
        (State::Exhausted, Event::Confirm) => {
            return (Run { state: State::Confirmed, version: run.version + 1, ..run }, vec![Effect::Confirmed]);
        }
        _ => return (run, Vec::new()),
    }
    match event {
        Event::Confirm => (Run { state: State::Confirmed, version: run.version + 1, ..run }, vec![Effect::Confirmed]),
        Event::WaitOver { version } if version != run.version => (run, Vec::new()),
        Event::WaitOver { .. } | Event::Pass => next(policy, run, Vec::new()),
        Event::Fired { reached: false } => next(policy, run, Vec::new()),
        Event::Fired { reached: true } => {
            let run = Run { reached: true, ..run };
            match policy.steps.get(run.at.step).map(|s| s.wait_minutes) {
                Some(0) | None => next(policy, run, Vec::new()),
                Some(minutes) => (run, vec![Effect::Wait { minutes, version: run.version }]),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::flow::templates;

    fn at(round: u32, step: usize) -> Position {
        Position { round, step }
    }

    /// Applies events in turn; returns every effect, and the run at the end.
    fn play(policy: &Policy, events: &[Event]) -> (Run, Vec<Effect>) {
        let (mut run, mut all) = start();
        for e in events {
            let (r, effects) = advance(policy, run, *e);
            run = r;
            all.extend(effects);
        }
        (run, all)
    }

    #[test]
    fn an_hvac_message_texts_calls_the_cell_then_home_and_starts_again_until_someone_confirms() {
        let p = templates::hvac(7);
        // Texted, no reply for 15 minutes; called the cell (voicemail), 10 minutes; called home
        // (no wait); round 2: texted again; the tech presses 1 on the call... replies 1ok.
        let (run, effects) = play(
            &p,
            &[
                Event::Fired { reached: true },
                Event::WaitOver { version: 1 },
                Event::Fired { reached: true },
                Event::WaitOver { version: 2 },
                Event::Fired { reached: true },
                Event::Fired { reached: true },
                Event::Confirm,
                // The wait set before the confirmation fires later: nothing.
                Event::WaitOver { version: 4 },
            ],
        );
        assert_eq!(
            effects,
            vec![
                Effect::Fire(at(1, 0)),
                Effect::Wait { minutes: 15, version: 1 },
                Effect::Fire(at(1, 1)),
                Effect::Wait { minutes: 10, version: 2 },
                Effect::Fire(at(1, 2)),
                Effect::Fire(at(2, 0)),
                Effect::Wait { minutes: 15, version: 4 },
                Effect::Confirmed,
            ]
        );
        assert_eq!((run.state, run.at, run.version), (State::Confirmed, at(2, 0), 5));
    }

    #[test]
    fn a_confirmation_and_a_timer_racing_never_both_act() {
        let p = templates::hvac(7);
        // The timer wins: the next step fires, then the confirmation stops it there.
        let (run, effects) =
            play(&p, &[Event::Fired { reached: true }, Event::WaitOver { version: 1 }, Event::Confirm]);
        assert_eq!(effects[2..], [Effect::Fire(at(1, 1)), Effect::Confirmed]);
        assert_eq!(run.state, State::Confirmed);
        // The confirmation wins: the timer finds it confirmed and does nothing.
        let (run, effects) =
            play(&p, &[Event::Fired { reached: true }, Event::Confirm, Event::WaitOver { version: 1 }]);
        assert_eq!(effects[2..], [Effect::Confirmed]);
        assert_eq!(run.at, at(1, 0));
        // A pass moves on now; the wait set before it is stale.
        let (_, effects) = play(
            &p,
            &[
                Event::Fired { reached: true },
                Event::Pass,
                Event::WaitOver { version: 1 },
                Event::Fired { reached: true },
            ],
        );
        assert_eq!(effects[2..], [Effect::Fire(at(1, 1)), Effect::Wait { minutes: 10, version: 2 }]);
    }

    #[test]
    fn steps_that_reach_nobody_are_skipped_at_once_and_a_silent_round_alerts_the_desk() {
        // Patients: text the on-call doctor (nobody on call), text the office manager (no cell).
        let p = templates::clinic_patients(7, 9);
        let (run, effects) = play(&p, &[Event::Fired { reached: false }, Event::Fired { reached: false }]);
        assert_eq!(
            effects,
            vec![Effect::Fire(at(1, 0)), Effect::Fire(at(1, 1)), Effect::NobodyReached { round: 1 }, Effect::Exhausted]
        );
        assert_eq!(run.state, State::Exhausted);
        // Reached, nobody confirmed within 5 minutes, the office manager texted: over, no alert.
        let (run, effects) =
            play(&p, &[Event::Fired { reached: true }, Event::WaitOver { version: 1 }, Event::Fired { reached: true }]);
        assert_eq!(effects[1..], [Effect::Wait { minutes: 5, version: 1 }, Effect::Fire(at(1, 1)), Effect::Exhausted]);
        assert_eq!(run.state, State::Exhausted);
        // After the end only a confirmation counts (someone takes it late); then nothing does.
        for late in [Event::WaitOver { version: run.version }, Event::Pass, Event::Fired { reached: true }] {
            assert_eq!(advance(&p, run, late), (run, vec![]));
        }
        let (taken, effects) = advance(&p, run, Event::Confirm);
        assert_eq!(effects, [Effect::Confirmed]);
        assert_eq!((taken.state, taken.version, taken.at), (State::Confirmed, run.version + 1, run.at));
        assert_eq!(advance(&p, taken, Event::Confirm), (taken, vec![]));
    }

    #[test]
    fn a_flow_repeated_until_confirmed_stops_after_the_most_rounds_or_a_round_that_reached_nobody() {
        let p = templates::property_management(&[1, 2]);
        let mut events = Vec::new();
        let mut version = 1;
        for _ in 0..crate::desk::flow::ROUNDS_MAX {
            for _ in 0..2 {
                events.push(Event::Fired { reached: true });
                events.push(Event::WaitOver { version });
                version += 1;
            }
        }
        let (run, effects) = play(&p, &events);
        assert_eq!(run.state, State::Exhausted);
        assert_eq!(run.at, at(crate::desk::flow::ROUNDS_MAX, 1));
        assert_eq!(effects.iter().filter(|e| matches!(e, Effect::Fire(_))).count(), 40);
        assert_eq!(effects.last(), Some(&Effect::Exhausted));
        // Round 2 reaches nobody (both people's numbers were removed): it ends there, alerting
        // the desk once, instead of running 18 more empty rounds at once.
        let (run, effects) = play(
            &p,
            &[
                Event::Fired { reached: true },
                Event::WaitOver { version: 1 },
                Event::Fired { reached: true },
                Event::WaitOver { version: 2 },
                Event::Fired { reached: false },
                Event::Fired { reached: false },
            ],
        );
        assert_eq!(run.state, State::Exhausted);
        assert_eq!(effects[effects.len() - 2..], [Effect::NobodyReached { round: 2 }, Effect::Exhausted]);
    }
}
