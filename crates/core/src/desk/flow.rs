//! An urgent flow: ordered steps, each an action, its targets and a wait, repeated. The seed
//! protocols' flows ship as templates ([`templates`]), word for word from the answering
//! service's own protocols.

use serde::{Deserialize, Serialize};

/// What a step does to each of its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A text asking for a reply code.
    TextConfirm,
    /// A text with no confirmation asked.
    Text,
    /// A voice call; pressing 1 confirms.
    CallConfirm,
    /// A voice call that leaves the message on voicemail when nobody answers.
    CallLeaveMessage,
    Email,
    /// A secure message (its notice says only that one is waiting).
    Secure,
    /// Connecting the caller still on the line (comes with calls).
    LivePatch,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::TextConfirm,
        Action::Text,
        Action::CallConfirm,
        Action::CallLeaveMessage,
        Action::Email,
        Action::Secure,
        Action::LivePatch,
    ];

    /// Its key in the API, forms and the timeline: `text_confirm`, `call_leave_message`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::TextConfirm => "text_confirm",
            Action::Text => "text",
            Action::CallConfirm => "call_confirm",
            Action::CallLeaveMessage => "call_leave_message",
            Action::Email => "email",
            Action::Secure => "secure",
            Action::LivePatch => "live_patch",
        }
    }

    pub fn from_key(key: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == key)
    }

    /// Whether the person reached can confirm through it.
    pub fn asks_confirmation(self) -> bool {
        matches!(self, Action::TextConfirm | Action::CallConfirm | Action::CallLeaveMessage | Action::LivePatch)
    }
}

/// A contact's channel a step uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Cell,
    Home,
    Office,
    Email,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Cell, Channel::Home, Channel::Office, Channel::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Cell => "cell",
            Channel::Home => "home",
            Channel::Office => "office",
            Channel::Email => "email",
        }
    }

    pub fn from_key(key: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == key)
    }
}

/// Whom a step reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// One of the client's contacts, by one of their channels.
    Contact { id: i64, channel: Channel },
    /// Whoever is on call for a schedule when the step fires (everyone on call with `all`).
    OnCall { schedule: i64, channel: Channel, all: bool },
    /// Any number or address (a landline, someone without an entry).
    Address { value: String },
}

/// One step of the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub action: Action,
    pub targets: Vec<Target>,
    /// Minutes to wait for a confirmation before the next step (0: go on at once).
    pub wait_minutes: u32,
}

/// How often the whole flow runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "rounds", rename_all = "snake_case")]
pub enum Repeat {
    /// This many rounds in all (1: once).
    Times(u32),
    /// Until someone confirms, at most [`ROUNDS_MAX`] rounds.
    UntilConfirmed,
}

/// The most rounds a flow runs unconfirmed (then it is exhausted and the desk is alerted).
pub const ROUNDS_MAX: u32 = 20;

impl Repeat {
    pub fn rounds(self) -> u32 {
        match self {
            Repeat::Times(n) => n.clamp(1, ROUNDS_MAX),
            Repeat::UntilConfirmed => ROUNDS_MAX,
        }
    }
}

/// An urgent flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub steps: Vec<Step>,
    pub repeat: Repeat,
}

impl Policy {
    /// Checks a flow as an office would write it; the errors say what to fix, by step (from 1).
    pub fn check(&self) -> Result<(), Vec<(String, String)>> {
        let mut errors = Vec::new();
        if self.steps.is_empty() {
            errors.push(("steps".into(), "an urgent flow needs at least one step".into()));
        }
        if self.steps.len() > 20 {
            errors.push(("steps".into(), "an urgent flow has at most 20 steps".into()));
        }
        for (i, s) in self.steps.iter().enumerate() {
            let at = |f: &str| format!("steps.{}.{f}", i + 1);
            if s.targets.is_empty() {
                errors.push((at("targets"), "pick whom this step reaches".into()));
            }
            if s.wait_minutes > 24 * 60 {
                errors.push((at("wait_minutes"), "wait at most 24 hours (1,440 minutes)".into()));
            }
            let voice = matches!(s.action, Action::CallConfirm | Action::CallLeaveMessage | Action::LivePatch);
            for t in &s.targets {
                let channel = match t {
                    Target::Contact { channel, .. } | Target::OnCall { channel, .. } => Some(*channel),
                    Target::Address { value } => Some(if value.contains('@') { Channel::Email } else { Channel::Cell }),
                };
                match (channel, voice, s.action) {
                    (Some(Channel::Email), true, _) => {
                        errors.push((at("targets"), "a call needs a phone number, not an email address".into()))
                    }
                    (Some(Channel::Email), _, Action::Text | Action::TextConfirm) => {
                        errors.push((at("targets"), "a text needs a cell number, not an email address".into()))
                    }
                    (Some(Channel::Home | Channel::Office), _, Action::Text | Action::TextConfirm) => errors.push((
                        at("targets"),
                        "texts go to cell numbers: a home or office line cannot take them".into(),
                    )),
                    _ => {}
                }
            }
        }
        if self.steps.iter().all(|s| !s.action.asks_confirmation()) && self.repeat == Repeat::UntilConfirmed {
            errors.push((
                "repeat".into(),
                "no step asks for a confirmation, so \"until confirmed\" would never end: repeat a number of times"
                    .into(),
            ));
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// The seed protocols' urgent flows, with the targets they name by role: `on_call` (a
/// schedule), and the named contacts in order (`contacts`).
pub mod templates {
    use super::*;

    /// HVAC/plumbing: text the on-call tech with a 15-minute confirmation; call the on-call cell
    /// (leave a message if no answer; wait 10 min); call the on-call home (no wait); repeat from
    /// step 1 until confirmed.
    pub fn hvac(on_call: i64) -> Policy {
        let on = |channel| vec![Target::OnCall { schedule: on_call, channel, all: false }];
        Policy {
            steps: vec![
                Step { action: Action::TextConfirm, targets: on(Channel::Cell), wait_minutes: 15 },
                Step { action: Action::CallLeaveMessage, targets: on(Channel::Cell), wait_minutes: 10 },
                Step { action: Action::CallLeaveMessage, targets: on(Channel::Home), wait_minutes: 0 },
            ],
            repeat: Repeat::UntilConfirmed,
        }
    }

    /// Property management: call John Doe, Jane Doe, John Roe, Richard Roe in turn (leave a
    /// message; wait 10 min each); repeat until delivered.
    pub fn property_management(contacts: &[i64]) -> Policy {
        Policy {
            steps: contacts
                .iter()
                .map(|id| Step {
                    action: Action::CallLeaveMessage,
                    targets: vec![Target::Contact { id: *id, channel: Channel::Cell }],
                    wait_minutes: 10,
                })
                .collect(),
            repeat: Repeat::UntilConfirmed,
        }
    }

    /// Medical clinic, doctors and labs: call the on-call doctor (leave a message; wait 10 min);
    /// text with confirmation to the on-call doctor (wait 5 min); text the office manager.
    pub fn clinic_doctors(on_call: i64, office_manager: i64) -> Policy {
        let doctor = |channel| vec![Target::OnCall { schedule: on_call, channel, all: false }];
        Policy {
            steps: vec![
                Step { action: Action::CallLeaveMessage, targets: doctor(Channel::Cell), wait_minutes: 10 },
                Step { action: Action::TextConfirm, targets: doctor(Channel::Cell), wait_minutes: 5 },
                Step {
                    action: Action::Text,
                    targets: vec![Target::Contact { id: office_manager, channel: Channel::Cell }],
                    wait_minutes: 0,
                },
            ],
            repeat: Repeat::Times(1),
        }
    }

    /// Medical clinic, patients: text with confirmation to the on-call doctor (wait 5 min); text
    /// the office manager.
    pub fn clinic_patients(on_call: i64, office_manager: i64) -> Policy {
        Policy {
            steps: vec![
                Step {
                    action: Action::TextConfirm,
                    targets: vec![Target::OnCall { schedule: on_call, channel: Channel::Cell, all: false }],
                    wait_minutes: 5,
                },
                Step {
                    action: Action::Text,
                    targets: vec![Target::Contact { id: office_manager, channel: Channel::Cell }],
                    wait_minutes: 0,
                },
            ],
            repeat: Repeat::Times(1),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_seed_flows_are_valid_and_say_what_the_protocols_say() {
        let hvac = templates::hvac(7);
        hvac.check().unwrap();
        assert_eq!(
            hvac.steps.iter().map(|s| (s.action, s.wait_minutes)).collect::<Vec<_>>(),
            [(Action::TextConfirm, 15), (Action::CallLeaveMessage, 10), (Action::CallLeaveMessage, 0)]
        );
        assert_eq!(hvac.repeat.rounds(), ROUNDS_MAX);
        let pm = templates::property_management(&[1, 2, 3, 4]);
        pm.check().unwrap();
        assert_eq!(pm.steps.len(), 4);
        templates::clinic_doctors(7, 9).check().unwrap();
        templates::clinic_patients(7, 9).check().unwrap();
        assert_eq!(templates::clinic_patients(7, 9).repeat.rounds(), 1);
    }

    #[test]
    fn a_flow_that_cannot_work_is_refused_step_by_step() {
        let p = Policy {
            steps: vec![
                Step { action: Action::Text, targets: vec![], wait_minutes: 5 },
                Step {
                    action: Action::CallConfirm,
                    targets: vec![Target::Address { value: "oncall@clinic.example".into() }],
                    wait_minutes: 2000,
                },
                Step {
                    action: Action::TextConfirm,
                    targets: vec![Target::Contact { id: 1, channel: Channel::Home }],
                    wait_minutes: 5,
                },
            ],
            repeat: Repeat::UntilConfirmed,
        };
        assert_eq!(
            p.check().unwrap_err(),
            vec![
                ("steps.1.targets".to_string(), "pick whom this step reaches".to_string()),
                ("steps.2.wait_minutes".into(), "wait at most 24 hours (1,440 minutes)".into()),
                ("steps.2.targets".into(), "a call needs a phone number, not an email address".into()),
                ("steps.3.targets".into(), "texts go to cell numbers: a home or office line cannot take them".into()),
            ]
        );
        let never = Policy {
            steps: vec![Step {
                action: Action::Text,
                targets: vec![Target::Address { value: "+13125550100".into() }],
                wait_minutes: 5,
            }],
            repeat: Repeat::UntilConfirmed,
        };
        assert_eq!(never.check().unwrap_err()[0].0, "repeat");
    }
}
