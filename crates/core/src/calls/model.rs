//! What a brand's call routing says, whom it rings, and what became of a call.

use serde::{Deserialize, Serialize};

use crate::ids::{BrandId, OrgId};

/// How a call to the brand's number rings its people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Everyone at once; the first to answer has it, the others stop ringing.
    Parallel,
    /// One at a time, starting with the next person after whoever was first last time.
    RoundRobin,
    /// One at a time, always in the same order.
    Linear,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [Strategy::Parallel, Strategy::RoundRobin, Strategy::Linear];
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Parallel => "parallel",
            Strategy::RoundRobin => "round_robin",
            Strategy::Linear => "linear",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Strategy::Parallel => "Ring everyone at once",
            Strategy::RoundRobin => "Round-robin: one at a time, a different person first each call",
            Strategy::Linear => "Linear hunt: one at a time, always in this order",
        }
    }
    pub fn parse(s: &str) -> Result<Strategy, String> {
        Strategy::ALL
            .into_iter()
            .find(|x| x.as_str() == s.trim())
            .ok_or_else(|| format!("\"{}\" is not a routing strategy (parallel, round_robin, linear)", s.trim()))
    }
}

/// Where a user's calls ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RingMode {
    Browser,
    Cell,
    Both,
}

impl RingMode {
    pub const ALL: [RingMode; 3] = [RingMode::Browser, RingMode::Cell, RingMode::Both];
    pub fn as_str(self) -> &'static str {
        match self {
            RingMode::Browser => "browser",
            RingMode::Cell => "cell",
            RingMode::Both => "both",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            RingMode::Browser => "Browser",
            RingMode::Cell => "Cell",
            RingMode::Both => "Browser and cell",
        }
    }
    pub fn parse(s: &str) -> Result<RingMode, String> {
        RingMode::ALL
            .into_iter()
            .find(|x| x.as_str() == s.trim())
            .ok_or_else(|| format!("\"{}\" is not a ring mode (browser, cell, both)", s.trim()))
    }
}

/// Where a call goes outside the brand's working hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterHours {
    Voicemail,
    /// Whoever is on call for the chosen schedule, on their cell.
    OnCall,
    /// The live patch: the caller holds while whoever is on call is called one by one and
    /// told whose call it is; the first to press 1 is put through.
    Patch,
    /// The same people as in working hours.
    Ring,
}

impl AfterHours {
    pub const ALL: [AfterHours; 4] = [AfterHours::Voicemail, AfterHours::OnCall, AfterHours::Patch, AfterHours::Ring];
    pub fn as_str(self) -> &'static str {
        match self {
            AfterHours::Voicemail => "voicemail",
            AfterHours::OnCall => "oncall",
            AfterHours::Patch => "patch",
            AfterHours::Ring => "ring",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            AfterHours::Voicemail => "Straight to voicemail",
            AfterHours::OnCall => "Whoever is on call (their cell)",
            AfterHours::Patch => "Hold the caller and put them through to whoever is on call (they press 1)",
            AfterHours::Ring => "The same people as in working hours",
        }
    }
    pub fn parse(s: &str) -> Result<AfterHours, String> {
        AfterHours::ALL
            .into_iter()
            .find(|x| x.as_str() == s.trim())
            .ok_or_else(|| format!("\"{}\" is not an after-hours choice (voicemail, oncall, patch, ring)", s.trim()))
    }
}

/// A brand's call routing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Routing {
    pub brand_id: BrandId,
    pub strategy: Strategy,
    /// How long each person (or everyone, in parallel) rings.
    pub ring_seconds: u32,
    /// Every call is recorded, both sides, from the answer.
    pub record: bool,
    /// The caller hears "This call may be recorded" first (some regions require it).
    pub consent_notice: bool,
    /// What a caller hears before leaving a voicemail; empty: [`default_greeting`].
    pub greeting: String,
    pub after_hours: AfterHours,
    pub after_hours_schedule: Option<i64>,
}

impl Routing {
    /// A brand that never set its routing: everyone at once for 20 seconds, recorded, then
    /// voicemail; voicemail after hours.
    pub fn default_for(brand: BrandId) -> Routing {
        Routing {
            brand_id: brand,
            strategy: Strategy::Parallel,
            ring_seconds: 20,
            record: true,
            consent_notice: false,
            greeting: String::new(),
            after_hours: AfterHours::Voicemail,
            after_hours_schedule: None,
        }
    }
}

/// The voicemail greeting a brand gets until it writes its own.
pub fn default_greeting(brand_name: &str) -> String {
    format!(
        "Thank you for calling {brand_name}. Nobody can take your call right now. Please leave your name, \
         your number and what you need after the tone, and we will call you back."
    )
}

/// What the routing form sends.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RoutingInput {
    pub strategy: String,
    pub ring_seconds: String,
    #[serde(default)]
    pub record: bool,
    #[serde(default)]
    pub consent_notice: bool,
    #[serde(default)]
    pub greeting: String,
    pub after_hours: String,
    #[serde(default)]
    pub after_hours_schedule: String,
}

/// One of the brand's people as the routing rings them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub user_id: i64,
    pub name: String,
    pub ring_mode: RingMode,
    pub cell: Option<String>,
}

/// One place a step rings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Ring {
    /// A person's cell, with the whisper; `user` is `None` for an on-call contact without a
    /// sign-in.
    Cell { number: String, user: Option<i64>, name: String },
    /// A person's softphone.
    Browser { user: i64, name: String },
}

/// Everyone rung at once for one step of a hunt.
pub type Step = Vec<Ring>;

/// What became of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Answered,
    Voicemail,
    Missed,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Answered, Outcome::Voicemail, Outcome::Missed];
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Voicemail => "voicemail",
            Outcome::Missed => "missed",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Answered => "Answered",
            Outcome::Voicemail => "Voicemail",
            Outcome::Missed => "Missed",
        }
    }
    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// A call as the calls list and the customer card show it.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub id: i64,
    pub org_id: OrgId,
    pub brand_id: BrandId,
    pub brand_name: String,
    pub direction: String,
    pub from: String,
    pub to: String,
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
    pub lead_id: Option<i64>,
    pub status: String,
    pub outcome: Option<Outcome>,
    pub handled_by: Option<String>,
    pub transcript: Option<String>,
    pub started_at: jiff::Timestamp,
    pub duration_secs: Option<i64>,
    pub recordings: Vec<Recording>,
}

impl Call {
    /// The other party's number: who called us, or whom we called.
    pub fn party(&self) -> &str {
        if self.direction == "inbound" { &self.from } else { &self.to }
    }
}

/// A recording kept with a call.
#[derive(Debug, Clone, Serialize)]
pub struct Recording {
    pub id: i64,
    pub call_id: i64,
    /// `call` (the conversation) or `voicemail`.
    pub kind: String,
    pub duration_secs: i64,
    /// `fetching`, `stored`, `failed`.
    pub status: String,
}

/// `0:07`, `12:30`: a duration as a player shows it.
pub fn clock_duration(secs: i64) -> String {
    let secs = secs.max(0);
    format!("{}:{:02}", secs / 60, secs % 60)
}
