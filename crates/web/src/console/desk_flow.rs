//! A caller type's urgent flow in the protocol editor: one row per step and person reached
//! (inputs `c{m}_s{n}_step`, `_action`, `_target`, `_wait`, `_remove`), rows with the same
//! step number reaching their people at once; and how often the flow runs (`c{m}_repeat`,
//! `c{m}_rounds`).

use std::collections::HashMap;

use switchboard_core::desk::flow::{Action, Channel, Policy, ROUNDS_MAX, Repeat, Step, Target};
use switchboard_core::escalation::drive::{action_label, action_str};

use crate::views::error_for;

/// Blank step rows under each caller type, for new steps.
pub const NEW_STEP_ROWS: usize = 2;
/// The most rows a flow shows (20 steps, a few people each).
pub const ROWS_MAX: usize = 40;

/// One person a step reaches, in the editor.
#[derive(Default)]
pub struct FlowRow {
    pub prefix: String,
    /// The step's number as typed (rows with the same number are one step).
    pub step: String,
    /// Empty on a blank row.
    pub action: String,
    /// The target as [`target_value`] writes it.
    pub target: String,
    pub wait: String,
    pub remove: bool,
    /// (part, message): `step`, `action`, `target`, `wait`.
    pub errors: Vec<(String, String)>,
}

impl FlowRow {
    pub fn error(&self, part: &str) -> Option<&str> {
        error_for(&self.errors, part)
    }
    fn skipped(&self) -> bool {
        self.remove || self.action.trim().is_empty()
    }
    /// The targets offered on this row: the client's, and the row's own when it is not among
    /// them (a number set over the API, a contact removed since).
    pub fn choices(&self, all: &[(String, String)]) -> Vec<(String, String)> {
        let mut out = all.to_vec();
        if !self.target.is_empty() && !all.iter().any(|(v, _)| *v == self.target) {
            let label = match self.target.strip_prefix("address:") {
                Some(a) => a.to_string(),
                None => "Not on file this way: pick again".to_string(),
            };
            out.push((self.target.clone(), label));
        }
        out
    }
}

/// The flow of a caller type as the editor shows it.
#[derive(Default)]
pub struct FlowForm {
    pub rows: Vec<FlowRow>,
    /// `until_confirmed` or `times`.
    pub repeat: String,
    pub rounds: String,
}

impl FlowForm {
    pub fn has_errors(&self) -> bool {
        self.rows.iter().any(|r| !r.errors.is_empty())
    }

    /// The form for block `m` of a saved flow (or none), with blank rows for new steps.
    pub fn of(m: usize, flow: Option<&Policy>) -> FlowForm {
        let mut rows = Vec::new();
        if let Some(p) = flow {
            for (i, s) in p.steps.iter().enumerate() {
                for t in &s.targets {
                    rows.push(FlowRow {
                        prefix: String::new(),
                        step: (i + 1).to_string(),
                        action: action_str(s.action).into(),
                        target: target_value(t),
                        wait: s.wait_minutes.to_string(),
                        ..FlowRow::default()
                    });
                }
            }
        }
        let next = flow.map(|p| p.steps.len()).unwrap_or(0);
        for k in 0..NEW_STEP_ROWS.min(ROWS_MAX.saturating_sub(rows.len())) {
            rows.push(FlowRow { step: (next + k + 1).to_string(), wait: "10".into(), ..FlowRow::default() });
        }
        let (repeat, rounds) = match flow.map(|p| p.repeat) {
            Some(Repeat::Times(n)) => ("times", n.to_string()),
            Some(Repeat::UntilConfirmed) => ("until_confirmed", String::new()),
            None => ("until_confirmed", String::new()),
        };
        let mut form = FlowForm { rows, repeat: repeat.into(), rounds };
        form.number(m);
        form
    }

    /// Names the rows' inputs for block `m`.
    fn number(&mut self, m: usize) {
        for (n, r) in self.rows.iter_mut().enumerate() {
            r.prefix = format!("c{m}_s{}", n + 1);
        }
    }

    /// Reads block `m`'s flow as posted, renamed for block `b` (its place among the blocks kept).
    pub fn read(map: &HashMap<&str, &str>, m: usize, b: usize) -> FlowForm {
        let get = |k: String| map.get(k.as_str()).map(|v| v.to_string()).unwrap_or_default();
        let mut rows = Vec::new();
        for n in 1..=ROWS_MAX + NEW_STEP_ROWS {
            let from = format!("c{m}_s{n}");
            if !map.contains_key(format!("{from}_action").as_str()) {
                continue;
            }
            rows.push(FlowRow {
                prefix: String::new(),
                step: get(format!("{from}_step")),
                action: get(format!("{from}_action")),
                target: get(format!("{from}_target")),
                wait: get(format!("{from}_wait")),
                remove: map.contains_key(format!("{from}_remove").as_str()),
                errors: Vec::new(),
            });
        }
        let mut form = FlowForm { rows, repeat: get(format!("c{m}_repeat")), rounds: get(format!("c{m}_rounds")) };
        form.number(b);
        form
    }

    /// The flow to save (none when no row is kept), and for each of its steps the row that
    /// answers for it (where the core's refusals of that step are shown). Rows that cannot be
    /// read get their error here.
    pub fn policy(&mut self) -> (Option<Policy>, Vec<usize>) {
        let mut groups: Vec<(u32, Vec<usize>)> = Vec::new();
        for (j, r) in self.rows.iter_mut().enumerate() {
            if r.skipped() {
                continue;
            }
            let Some(n) = r.step.trim().parse::<u32>().ok().filter(|n| (1..=20).contains(n)) else {
                r.errors.push(("step".into(), "give the step's number, 1 to 20".into()));
                continue;
            };
            if Action::from_key(&r.action).is_none() {
                r.errors.push(("action".into(), "pick what this step does".into()));
            }
            if target_of(&r.target).is_none() {
                r.errors.push(("target".into(), "pick whom this step reaches".into()));
            }
            if r.wait.trim().parse::<u32>().is_err() {
                r.errors.push(("wait".into(), "give the minutes to wait, 0 or more".into()));
            }
            match groups.iter_mut().find(|(k, _)| *k == n) {
                Some((_, rows)) => rows.push(j),
                None => groups.push((n, vec![j])),
            }
        }
        groups.sort_by_key(|(n, _)| *n);
        if groups.is_empty() || self.has_errors() {
            return (None, Vec::new());
        }
        let mut steps = Vec::new();
        let mut first_rows = Vec::new();
        for (_, rows) in &groups {
            let first = &self.rows[rows[0]];
            steps.push(Step {
                action: Action::from_key(&first.action).unwrap_or(Action::Text),
                targets: rows.iter().filter_map(|&j| target_of(&self.rows[j].target)).collect(),
                wait_minutes: first.wait.trim().parse().unwrap_or(0),
            });
            first_rows.push(rows[0]);
        }
        let repeat = match (self.repeat.as_str(), self.rounds.trim().parse::<u32>()) {
            ("times", Ok(n)) => Repeat::Times(n.clamp(1, ROUNDS_MAX)),
            ("times", Err(_)) => Repeat::Times(1),
            _ => Repeat::UntilConfirmed,
        };
        (Some(Policy { steps, repeat }), first_rows)
    }
}

/// The actions a step can take, for the select (live patch comes with calls).
pub fn actions() -> Vec<(&'static str, &'static str)> {
    [Action::TextConfirm, Action::Text, Action::CallConfirm, Action::CallLeaveMessage, Action::Email, Action::Secure]
        .into_iter()
        .map(|a| (action_str(a), action_label(action_str(a))))
        .collect()
}

/// `contact:12:cell`, `on_call:3:cell`, `on_call_all:3:cell`, `address:+13125550100`.
pub fn target_value(t: &Target) -> String {
    match t {
        Target::Contact { id, channel } => format!("contact:{id}:{}", channel.as_str()),
        Target::OnCall { schedule, channel, all: false } => format!("on_call:{schedule}:{}", channel.as_str()),
        Target::OnCall { schedule, channel, all: true } => format!("on_call_all:{schedule}:{}", channel.as_str()),
        Target::Address { value } => format!("address:{value}"),
    }
}

pub fn target_of(s: &str) -> Option<Target> {
    if let Some(a) = s.strip_prefix("address:") {
        return Some(Target::Address { value: a.to_string() });
    }
    let mut parts = s.split(':');
    let (kind, id, channel) = (parts.next()?, parts.next()?.parse().ok()?, Channel::from_key(parts.next()?)?);
    Some(match kind {
        "contact" => Target::Contact { id, channel },
        "on_call" => Target::OnCall { schedule: id, channel, all: false },
        "on_call_all" => Target::OnCall { schedule: id, channel, all: true },
        _ => return None,
    })
}

/// The targets a step can name for a client: its schedules (whoever is on call, or everyone,
/// by cell, home or email) and each contact by each way they can be reached.
pub fn targets(
    schedules: &[(i64, String)],
    contacts: &[switchboard_core::desk::contacts::Contact],
) -> Vec<(String, String)> {
    use switchboard_core::desk::contacts::MethodKind;
    let mut out = Vec::new();
    for (id, name) in schedules {
        for (channel, label) in [("cell", "cell"), ("home", "home phone"), ("email", "email")] {
            out.push((format!("on_call:{id}:{channel}"), format!("On call for {name}, by {label}")));
        }
        out.push((format!("on_call_all:{id}:cell"), format!("Everyone on call for {name}, by cell")));
    }
    for c in contacts {
        for m in &c.methods {
            let (channel, label) = match m.kind {
                MethodKind::Cell => ("cell", "cell"),
                MethodKind::Home => ("home", "home phone"),
                MethodKind::Office => ("office", "office phone"),
                MethodKind::Email => ("email", "email"),
                MethodKind::Pager | MethodKind::Fax => continue,
            };
            let value = format!("contact:{}:{channel}", c.id);
            if !out.iter().any(|(v, _)| *v == value) {
                out.push((value, format!("{}, by {label}", c.name)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(step: &str, action: &str, target: &str, wait: &str) -> FlowRow {
        FlowRow {
            step: step.into(),
            action: action.into(),
            target: target.into(),
            wait: wait.into(),
            ..FlowRow::default()
        }
    }

    #[test]
    fn rows_with_one_number_are_one_step_in_number_order_and_blank_rows_are_left_out() {
        let mut form = FlowForm {
            rows: vec![
                row("2", "call_leave_message", "contact:7:cell", "10"),
                row("1", "text_confirm", "on_call:3:cell", "15"),
                row("2", "call_leave_message", "contact:8:home", "99"),
                row("3", "", "", "10"),
            ],
            repeat: "times".into(),
            rounds: "2".into(),
        };
        let (policy, first_rows) = form.policy();
        let policy = policy.unwrap();
        assert_eq!(policy.repeat, Repeat::Times(2));
        assert_eq!(first_rows, [1, 0]);
        assert_eq!(policy.steps[0].targets, [Target::OnCall { schedule: 3, channel: Channel::Cell, all: false }]);
        assert_eq!((policy.steps[0].action, policy.steps[0].wait_minutes), (Action::TextConfirm, 15));
        assert_eq!(
            policy.steps[1].targets,
            [Target::Contact { id: 7, channel: Channel::Cell }, Target::Contact { id: 8, channel: Channel::Home }]
        );
        assert_eq!(policy.steps[1].wait_minutes, 10, "the step's first row says the wait");
        // And back: one row per person, the steps numbered again from 1.
        let again = FlowForm::of(1, Some(&policy));
        let shown: Vec<(&str, &str, &str)> =
            again.rows.iter().map(|r| (r.step.as_str(), r.action.as_str(), r.target.as_str())).collect();
        assert_eq!(
            shown,
            [
                ("1", "text_confirm", "on_call:3:cell"),
                ("2", "call_leave_message", "contact:7:cell"),
                ("2", "call_leave_message", "contact:8:home"),
                ("3", "", ""),
                ("4", "", ""),
            ]
        );
        assert_eq!(again.rows[0].prefix, "c1_s1");
    }

    #[test]
    fn a_row_that_cannot_be_read_says_why_and_nothing_is_made_of_the_flow() {
        let mut form = FlowForm {
            rows: vec![row("one", "text", "contact:7:cell", "5"), row("2", "text", "", "x")],
            repeat: "until_confirmed".into(),
            rounds: String::new(),
        };
        let (policy, _) = form.policy();
        assert!(policy.is_none());
        assert_eq!(form.rows[0].error("step"), Some("give the step's number, 1 to 20"));
        assert_eq!(form.rows[1].error("target"), Some("pick whom this step reaches"));
        assert_eq!(form.rows[1].error("wait"), Some("give the minutes to wait, 0 or more"));
        // No row kept: no flow, and no refusal.
        let mut empty = FlowForm::of(1, None);
        assert_eq!(empty.policy().0, None);
        assert!(!empty.has_errors());
    }

    #[test]
    fn every_target_reads_back_as_written() {
        for t in [
            Target::Contact { id: 4, channel: Channel::Office },
            Target::OnCall { schedule: 2, channel: Channel::Email, all: false },
            Target::OnCall { schedule: 2, channel: Channel::Cell, all: true },
            Target::Address { value: "+13125550100".into() },
        ] {
            assert_eq!(target_of(&target_value(&t)), Some(t));
        }
        assert_eq!(target_of("contact:x:cell"), None);
        assert_eq!(target_of("contact:4:pager"), None);
    }
}
