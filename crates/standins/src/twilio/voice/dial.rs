//! `<Dial>`: every `<Number>` and `<Client>` rings at once as a child leg (`outbound-dial`)
//! following its phone's [`Pickup`]. A leg that answers runs its whisper (the noun's `url`), if
//! any: a whisper that ends without `<Hangup/>` asks to be bridged, one that hangs up drops
//! that leg while the others keep ringing. Without a whisper an answering leg (a voicemail
//! machine too) is bridged at once. The first leg bridged wins; the others are stopped:
//! `canceled` while ringing, `completed` when already answered. The conversation lasts the talk
//! time (or until either party hangs up: the caller's time comes, or a person hangs up either
//! leg on the phones page or the client route), may be recorded, and ends the call; then the
//! `action` is told how the Dial went. A `<Conference>` noun joins a room instead (see
//! `conference`).

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::script::{Ending, Keys, Party, hung_up, until};
use super::twiml::{Dial, Endpoint};
use super::{PageAction, Pickup, SimCall};
use crate::twilio::{TwilioStandin, lock};

/// Where the call goes after a `<Dial>`.
pub(super) enum DialEnd {
    /// The call is over: the bridged conversation ended, or the caller hung up.
    Over,
    /// The caller is still on the line: the `action` document to follow (with the Dial's
    /// parameters), or none to go on with the current document.
    Next(Option<(String, Vec<(String, String)>)>),
}

/// What the legs of one Dial share.
struct Race {
    /// The leg bridged with the caller.
    winner: Mutex<Option<String>>,
    /// Set once the Dial is decided (a leg won, or the caller hung up): every other leg stops.
    stop: watch::Sender<bool>,
}

/// How one leg ended.
struct LegEnd {
    sid: String,
    status: &'static str,
    won: bool,
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

impl TwilioStandin {
    /// Runs a `<Dial>` for the caller on call `sid`.
    pub(super) async fn dial(&self, sid: &str, party: &Party, dial: Dial) -> DialEnd {
        if let Some(room) = dial.conference.clone() {
            return self.conference(sid, party, room, dial.action).await;
        }
        let Some(parent) = self.call(sid) else { return DialEnd::Over };
        let from = dial.caller_id.clone().unwrap_or_else(|| match parent.direction {
            "inbound" => parent.to.clone(),
            _ => parent.from.clone(),
        });
        let race = Arc::new(Race { winner: Mutex::new(None), stop: watch::channel(false).0 });
        let deadline = Instant::now() + self.seconds(dial.timeout.max(1));
        let mut legs = JoinSet::new();
        for target in dial.targets.iter().cloned() {
            let (to, pickup) = {
                let voice = lock(&self.inner.voice);
                match &target.endpoint {
                    Endpoint::Number(n) => (n.clone(), voice.pickups.get(n).cloned().unwrap_or(Pickup::Ask)),
                    Endpoint::Client(id) => {
                        (format!("client:{id}"), voice.client_pickups.get(id).cloned().unwrap_or(Pickup::Ask))
                    }
                }
            };
            let mut leg = SimCall::new("outbound-dial", from.clone(), to, target.url.clone().unwrap_or_default());
            leg.parent_call_sid = Some(sid.to_string());
            leg.ring_seconds = dial.timeout;
            let leg_sid = leg.sid.clone();
            let page = self.add_call(leg);
            let me = self.clone();
            let race = race.clone();
            legs.spawn(async move {
                let end = me.ring_leg(&leg_sid, pickup, target.url, deadline, &race, page).await;
                // The bridged leg can still press keys and hang up.
                if !end.won {
                    me.close_lines(&leg_sid);
                }
                end
            });
        }

        let mut ends: Vec<LegEnd> = Vec::new();
        let mut caller_gone = false;
        let mut winner: Option<String> = None;
        loop {
            let next =
                if caller_gone { Some(legs.join_next().await) } else { until(party.gone(), legs.join_next()).await };
            let joined = match next {
                None => {
                    caller_gone = true;
                    race.stop.send_replace(true);
                    continue;
                }
                Some(None) => break,
                Some(Some(joined)) => joined,
            };
            match joined {
                Ok(end) if end.won && !caller_gone => {
                    winner = Some(end.sid.clone());
                    ends.push(end);
                }
                Ok(mut end) => {
                    if end.won {
                        // Bridged just as the caller hung up: nobody to talk to.
                        self.update_call(&end.sid, |c| c.status = "completed".into());
                        self.close_lines(&end.sid);
                        end.status = "completed";
                    }
                    ends.push(end);
                }
                Err(e) => tracing::warn!(error = %e, "stand-in dial leg failed"),
            }
        }

        let Some(leg_sid) = winner else {
            let all = |status: &str| !ends.is_empty() && ends.iter().all(|e| e.status == status);
            let status = if caller_gone {
                "canceled"
            } else if ends.is_empty() || all("failed") {
                "failed"
            } else if all("busy") {
                "busy"
            } else {
                "no-answer"
            };
            let extra = vec![("DialCallStatus".into(), status.into()), ("DialBridged".into(), "false".into())];
            if caller_gone {
                self.update_call(sid, |c| c.status = "completed".into());
                self.tell_action(sid, dial.action.as_deref(), extra).await;
                return DialEnd::Over;
            }
            return DialEnd::Next(dial.action.map(|a| (a, extra)));
        };

        // Bridged: they talk, then both hang up.
        let leg_to = self
            .update_call(&leg_sid, |c| {
                c.bridged_to = Some(sid.to_string());
                c.bridged_number = Some(parent.from.clone());
            })
            .map(|c| c.to)
            .unwrap_or_default();
        self.update_call(sid, |c| {
            c.bridged_to = Some(leg_sid.clone());
            c.bridged_number = Some(leg_to);
        });
        self.set_talking(&[sid], true);
        let talk = lock(&self.inner.voice).talk_time;
        let started = Instant::now();
        // Until the talk time is up, the caller hangs up, or a person hangs up the leg.
        let leg_gone = hung_up(None, self.hangup_line(&leg_sid));
        let _ = until(party.gone(), until(leg_gone, tokio::time::sleep(talk))).await;
        let talk_secs = (started.elapsed().as_secs_f64().round() as u64).max(1);
        self.close_lines(&leg_sid);
        self.set_talking(&[sid], false);
        self.update_call(&leg_sid, |c| c.status = "completed".into());
        self.update_call(sid, |c| c.status = "completed".into());
        let mut extra: Vec<(String, String)> = vec![
            ("DialCallStatus".into(), "completed".into()),
            ("DialCallSid".into(), leg_sid),
            ("DialCallDuration".into(), talk_secs.to_string()),
            ("DialBridged".into(), "true".into()),
        ];
        if dial.record.starts_with("record-from-") {
            let channels = if dial.record.ends_with("-dual") { 2 } else { 1 };
            let recording = self.add_recording(sid, channels, talk_secs, "DialVerb", None);
            extra.push(("RecordingUrl".into(), self.recording_url(&recording)));
            extra.push(("RecordingSid".into(), recording.sid.clone()));
            extra.push(("RecordingDuration".into(), recording.duration_secs.to_string()));
            if let Some(url) = &dial.recording_status_callback {
                self.recording_status(url, &recording).await;
            }
        }
        self.tell_action(sid, dial.action.as_deref(), extra).await;
        DialEnd::Over
    }

    /// POSTs a Dial's `action` once the call is over: Twilio still requests it, and ignores the
    /// TwiML it answers.
    pub(super) async fn tell_action(&self, sid: &str, action: Option<&str>, extra: Vec<(String, String)>) {
        let (Some(url), Some(call)) = (action, self.call(sid)) else { return };
        let mut params = self.call_params(&call);
        params.extend(extra);
        self.notify(url, &params).await;
    }

    /// One leg of a Dial, from ringing until it is bridged (`won`) or ends.
    async fn ring_leg(
        &self,
        sid: &str,
        pickup: Pickup,
        whisper: Option<String>,
        deadline: Instant,
        race: &Race,
        page: UnboundedReceiver<PageAction>,
    ) -> LegEnd {
        let mut stop = race.stop.subscribe();
        // The leg's line from the phones page: answers while it rings for a person, then keys.
        let mut line = Some(page);
        self.update_call(sid, |c| c.status = "ringing".into());
        let ring = *lock(&self.inner.callback_delay);
        tokio::select! {
            _ = stopped(&mut stop) => return self.end_leg(sid, "canceled"),
            _ = tokio::time::sleep(ring) => {}
        }
        let (machine, keys) = match pickup {
            Pickup::Person(keys) => (false, Keys::scripted(keys, false)),
            Pickup::Voicemail => (true, Keys::scripted(Vec::new(), false)),
            Pickup::Busy => return self.end_leg(sid, "busy"),
            Pickup::Fail => return self.end_leg(sid, "failed"),
            Pickup::RingOut => {
                tokio::select! {
                    _ = stopped(&mut stop) => return self.end_leg(sid, "canceled"),
                    _ = tokio::time::sleep_until(deadline) => return self.end_leg(sid, "no-answer"),
                }
            }
            Pickup::Ask => {
                let Some(mut page) = line.take() else { return self.end_leg(sid, "no-answer") };
                // Hanging up a ringing phone (or softphone) declines the call.
                let declined = hung_up(None, self.hangup_line(sid));
                tokio::pin!(declined);
                loop {
                    let action = tokio::select! {
                        _ = stopped(&mut stop) => return self.end_leg(sid, "canceled"),
                        _ = tokio::time::sleep_until(deadline) => return self.end_leg(sid, "no-answer"),
                        () = &mut declined => return self.end_leg(sid, "busy"),
                        action = page.recv() => action,
                    };
                    match action {
                        Some(PageAction::Answer) => break (false, Keys::Page(page)),
                        Some(PageAction::Decline | PageAction::Hangup) => return self.end_leg(sid, "busy"),
                        Some(PageAction::Key(_)) => {}
                        None => return self.end_leg(sid, "no-answer"),
                    }
                }
            }
        };
        self.update_call(sid, |c| c.status = "in-progress".into());
        let keys = match whisper {
            Some(url) => {
                let mut party = Party { machine, keys, says: None, hangs_up_at: None, hangup: self.hangup_line(sid) };
                let ending = tokio::select! {
                    _ = stopped(&mut stop) => None,
                    ending = self.follow(sid, &mut party, url, Vec::new(), true) => Some(ending),
                };
                if ending != Some(Ending::RanOut) {
                    return self.end_leg(sid, "completed");
                }
                party.keys
            }
            None => keys,
        };
        if let Keys::Page(page) = keys {
            line = Some(page);
        }
        let won = {
            let mut winner = lock(&race.winner);
            let free = winner.is_none() && !*race.stop.borrow();
            if free {
                *winner = Some(sid.to_string());
            }
            free
        };
        if !won {
            return self.end_leg(sid, "completed");
        }
        race.stop.send_replace(true);
        // In the conversation from now on: keys pressed go into `pressed` at once, after those
        // pressed as the leg was answered (all under the lock `pick_up` takes, so in order).
        {
            let mut voice = lock(&self.inner.voice);
            let mut early = Vec::new();
            if let Some(mut page) = line {
                while let Ok(action) = page.try_recv() {
                    if let PageAction::Key(key) = action {
                        early.push(key);
                    }
                }
            }
            if let Some(c) = voice.calls.iter_mut().find(|c| c.sid == sid) {
                c.pressed.extend(early);
            }
            voice.answers.remove(sid);
            voice.talking.insert(sid.to_string());
        }
        self.inner.changed.notify_waiters();
        LegEnd { sid: sid.to_string(), status: "in-progress", won: true }
    }

    fn end_leg(&self, sid: &str, status: &'static str) -> LegEnd {
        self.update_call(sid, |c| c.status = status.into());
        LegEnd { sid: sid.to_string(), status, won: false }
    }
}
