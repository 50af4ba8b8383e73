//! Inbound calls: a simulated phone calls a business number. Twilio requests the number's Voice
//! URL (signed, `CallStatus=ringing`, `Direction=inbound`, `Caller`/`Called`, the countries of
//! US numbers), follows the TwiML it answers with, and tells the number's status callback when
//! the call completes.

use std::time::Duration;

use tokio::time::Instant;

use super::SimCall;
use super::script::{Keys, Party};
use crate::twilio::{TwilioStandin, lock};

/// How a simulated caller behaves on an inbound call.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// Keys pressed at the Gathers, one per Gather in order (`""`: nothing at that one). With
    /// none left, a Gather waits out its timeout.
    pub keys: Vec<String>,
    /// What the caller says when a `<Record>` runs: the voicemail's words.
    pub says: Option<String>,
    /// Hangs up this long after the call starts, wherever the script is. None: stays on the
    /// line until the script ends (in a conference room: until the room ends or the caller is
    /// removed from it).
    pub hang_up_after: Option<Duration>,
}

impl TwilioStandin {
    /// The Voice URL configured on every number: where inbound calls fetch their TwiML.
    pub fn set_voice_webhook(&self, url: impl Into<String>) {
        lock(&self.inner.voice).webhook = Some(url.into());
    }

    /// The numbers' voice status callback: told (signed, `CallStatus=completed`, `CallDuration`)
    /// when each inbound call ends.
    pub fn set_voice_status_callback(&self, url: impl Into<String>) {
        lock(&self.inner.voice).status_callback = Some(url.into());
    }

    /// The phone `from` calls the business number `to`. Returns the new call's sid at once; the
    /// call runs in its own task ([`Self::settle`] waits for it to end).
    pub async fn dial_in(&self, from: &str, to: &str, caller: Caller) -> Result<String, String> {
        let (webhook, status_callback) = {
            let voice = lock(&self.inner.voice);
            (voice.webhook.clone(), voice.status_callback.clone())
        };
        let webhook = webhook.ok_or("no voice webhook URL set")?;
        if from.trim().is_empty() {
            return Err("a call needs a 'From' phone".into());
        }
        if to.trim().is_empty() {
            return Err("a call needs a 'To' number".into());
        }
        let mut call = SimCall::new("inbound", from.trim().to_string(), to.trim().to_string(), webhook.clone());
        call.status = "ringing".into();
        call.status_callback = status_callback;
        let sid = call.sid.clone();
        let hangs_up_at = caller.hang_up_after.map(|d| Instant::now() + d);
        // An inbound caller is driven by `caller`, not by the phones page (which can only hang up).
        drop(self.add_call(call));
        lock(&self.inner.voice).answers.remove(&sid);
        let hangup = self.hangup_line(&sid);
        let me = self.clone();
        let call_sid = sid.clone();
        self.spawn_call(sid.clone(), async move {
            let started = std::time::Instant::now();
            let mut party = Party {
                machine: false,
                keys: Keys::scripted(caller.keys, true),
                says: caller.says,
                hangs_up_at,
                hangup,
            };
            me.follow(&call_sid, &mut party, webhook, Vec::new(), false).await;
            let duration = started.elapsed().as_secs().max(1).to_string();
            let mut sequence = 0;
            me.status_callback(
                &call_sid,
                "completed",
                &mut sequence,
                &[("CallDuration", duration.clone()), ("Duration", duration)],
            )
            .await;
        });
        Ok(sid)
    }
}
