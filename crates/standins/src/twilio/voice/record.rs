//! `<Record>`: the caller's words become a one-channel recording (after a beep), then the
//! caller hangs up. Twilio then requests the `action` (its TwiML is ignored: nobody is left on
//! the line), sends the recording status callback and, when asked, the transcription.
//!
//! A caller who says nothing leaves no recording: the action is told `RecordingDuration=0`
//! without `RecordingUrl`/`RecordingSid`, and no other callback follows.

use tokio::time::Instant;

use super::script::{Party, until};
use super::twiml::Record;
use crate::twilio::{TwilioStandin, random_hex};

/// Seconds it takes to say `text`, at two and a half words a second (at least one).
fn speaking_secs(text: &str) -> u64 {
    let words = text.split_whitespace().count() as f64;
    ((words / 2.5).round() as u64).max(1)
}

impl TwilioStandin {
    /// Runs a `<Record>` on call `sid`, whose current document is `doc_url`.
    pub(super) async fn record(&self, sid: &str, party: &Party, r: Record, doc_url: &str) {
        if r.play_beep {
            self.hear(sid, party.machine, "[beep]".into());
        }
        let words = party.says.clone().filter(|s| !s.trim().is_empty());
        let recording = match words {
            Some(text) => {
                let full = speaking_secs(&text).min(r.max_length.max(1));
                let started = Instant::now();
                let secs = match until(party.gone(), tokio::time::sleep(self.seconds(full))).await {
                    Some(()) => full,
                    // Hung up mid-sentence: the recording is as long as they spoke.
                    None => {
                        let second = self.seconds(1).as_secs_f64().max(f64::EPSILON);
                        ((started.elapsed().as_secs_f64() / second).ceil() as u64).clamp(1, full)
                    }
                };
                Some(self.add_recording(sid, 1, secs, "RecordVerb", Some(text)))
            }
            None => {
                let _ = until(party.gone(), tokio::time::sleep(self.seconds(r.timeout))).await;
                None
            }
        };
        let Some(call) = self.update_call(sid, |c| c.status = "completed".into()) else { return };
        let mut params = self.call_params(&call);
        match &recording {
            Some(rec) => {
                params.push(("RecordingUrl".into(), self.recording_url(rec)));
                params.push(("RecordingSid".into(), rec.sid.clone()));
                params.push(("RecordingDuration".into(), rec.duration_secs.to_string()));
            }
            None => params.push(("RecordingDuration".into(), "0".into())),
        }
        params.push(("Digits".into(), "hangup".into()));
        self.notify(r.action.as_deref().unwrap_or(doc_url), &params).await;
        let Some(rec) = recording else { return };
        if let Some(url) = &r.recording_status_callback {
            self.recording_status(url, &rec).await;
        }
        if let (true, Some(url)) = (r.transcribe, &r.transcribe_callback) {
            let recording_url = self.recording_url(&rec);
            let tr = format!("TR{}", random_hex(32));
            let params: Vec<(String, String)> = vec![
                ("TranscriptionSid".into(), tr.clone()),
                ("TranscriptionText".into(), rec.text.clone().unwrap_or_default()),
                ("TranscriptionStatus".into(), "completed".into()),
                (
                    "TranscriptionUrl".into(),
                    format!("{}/2010-04-01/Accounts/{}/Transcriptions/{tr}", self.base_url(), self.inner.account_sid),
                ),
                ("RecordingSid".into(), rec.sid.clone()),
                ("RecordingUrl".into(), recording_url),
                ("CallSid".into(), sid.to_string()),
                ("AccountSid".into(), self.inner.account_sid.clone()),
            ];
            self.notify(url, &params).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::speaking_secs;

    #[test]
    fn speaking_takes_two_and_a_half_words_a_second() {
        assert_eq!(speaking_secs("hi"), 1);
        assert_eq!(speaking_secs("one two three four five six seven"), 3);
        assert_eq!(speaking_secs(&"word ".repeat(12)), 5);
    }
}
