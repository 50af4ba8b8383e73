//! Recordings, kept and served as Twilio serves them (Basic auth, like the rest of the API):
//! `GET Recordings/{sid}.json` (the resource), `GET Recordings/{sid}` or `{sid}.wav` (the media:
//! a real 8 kHz 16-bit PCM WAV file holding a quiet tone), `GET Recordings.json?CallSid=` and
//! `GET Calls/{sid}/Recordings.json` (lists), plus the signed recording status callback.
//! `{sid}.mp3` answers 404: the stand-in has no MP3 encoder, and the app fetches `.wav`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use crate::twilio::{TwilioStandin, lock, random_hex, rfc2822, twilio_error};

/// One recording as the stand-in keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct SimRecording {
    pub sid: String,
    /// The call recorded (for a `<Dial>`, the caller's call: the parent leg).
    pub call_sid: String,
    /// 2 for a dual-channel `<Dial>` recording (caller and callee apart), else 1.
    pub channels: u16,
    pub duration_secs: u64,
    /// `DialVerb` or `RecordVerb`.
    pub source: &'static str,
    /// What was said, for a `<Record>`; none for a recorded conversation.
    pub text: Option<String>,
    #[serde(skip)]
    created: Timestamp,
    #[serde(skip)]
    started: Timestamp,
}

const SAMPLE_RATE: u32 = 8000;

/// A RIFF/WAVE file: 16-bit PCM at 8 kHz, `channels` interleaved, `secs` long, holding a quiet
/// tone (a different pitch on each channel).
pub(super) fn wav(channels: u16, secs: u64) -> Vec<u8> {
    let channels = channels.max(1);
    let frames = u64::from(SAMPLE_RATE) * secs;
    let block = u32::from(channels) * 2;
    let data_len = u32::try_from(frames * u64::from(block)).unwrap_or(u32::MAX - 36);
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    out.extend_from_slice(&(SAMPLE_RATE * block).to_le_bytes());
    out.extend_from_slice(&(channels * 2).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..u64::from(data_len / block) {
        let t = i as f64 / f64::from(SAMPLE_RATE);
        for ch in 0..channels {
            let pitch = 440.0 - 110.0 * f64::from(ch);
            let sample = ((std::f64::consts::TAU * pitch * t).sin() * 1000.0) as i16;
            out.extend_from_slice(&sample.to_le_bytes());
        }
    }
    out
}

impl TwilioStandin {
    /// Every recording so far, oldest first.
    pub fn recordings(&self) -> Vec<SimRecording> {
        lock(&self.inner.voice).recordings.clone()
    }

    /// The next `n` fetches of recording media answer `500` (to test the app's retry).
    pub fn fail_next_recording_fetch(&self, n: usize) {
        lock(&self.inner.voice).failing_fetches = n;
    }

    pub(super) fn add_recording(
        &self,
        call_sid: &str,
        channels: u16,
        duration_secs: u64,
        source: &'static str,
        text: Option<String>,
    ) -> SimRecording {
        let created = Timestamp::now();
        let span = jiff::SignedDuration::from_secs(i64::try_from(duration_secs).unwrap_or(i64::MAX));
        let recording = SimRecording {
            sid: format!("RE{}", random_hex(32)),
            call_sid: call_sid.to_string(),
            channels,
            duration_secs: duration_secs.max(1),
            source,
            text,
            created,
            started: created.checked_sub(span).unwrap_or(created),
        };
        lock(&self.inner.voice).recordings.push(recording.clone());
        self.inner.changed.notify_waiters();
        recording
    }

    /// The media URL Twilio reports: the resource's URL without an extension.
    pub(super) fn recording_url(&self, r: &SimRecording) -> String {
        format!("{}/2010-04-01/Accounts/{}/Recordings/{}", self.base_url(), self.inner.account_sid, r.sid)
    }

    /// The signed recording status callback, `RecordingStatus=completed`.
    pub(super) async fn recording_status(&self, url: &str, r: &SimRecording) {
        let params: Vec<(String, String)> = vec![
            ("AccountSid".into(), self.inner.account_sid.clone()),
            ("CallSid".into(), r.call_sid.clone()),
            ("RecordingSid".into(), r.sid.clone()),
            ("RecordingUrl".into(), self.recording_url(r)),
            ("RecordingStatus".into(), "completed".into()),
            ("RecordingDuration".into(), r.duration_secs.to_string()),
            ("RecordingChannels".into(), r.channels.to_string()),
            ("RecordingSource".into(), r.source.into()),
            ("RecordingStartTime".into(), rfc2822(r.started)),
            ("ErrorCode".into(), "0".into()),
        ];
        self.notify(url, &params).await;
    }

    fn recording_resource(&self, r: &SimRecording) -> serde_json::Value {
        let account = &self.inner.account_sid;
        let uri = format!("/2010-04-01/Accounts/{account}/Recordings/{}", r.sid);
        json!({
            "account_sid": account,
            "api_version": "2010-04-01",
            "call_sid": r.call_sid,
            "conference_sid": null,
            "channels": r.channels,
            "date_created": rfc2822(r.created),
            "date_updated": rfc2822(r.created),
            "start_time": rfc2822(r.started),
            "duration": r.duration_secs.to_string(),
            "sid": r.sid,
            "price": null,
            "price_unit": "USD",
            "status": "completed",
            "source": r.source,
            "error_code": null,
            "track": "both",
            "uri": format!("{uri}.json"),
            "media_url": self.recording_url(r),
            "encryption_details": null,
            "subresource_uris": {
                "add_on_results": format!("{uri}/AddOnResults.json"),
                "transcriptions": format!("{uri}/Transcriptions.json"),
            },
        })
    }

    fn recordings_page(&self, uri: String, of_call: Option<&str>) -> Response {
        let recordings: Vec<serde_json::Value> = self
            .recordings()
            .iter()
            .rev()
            .filter(|r| of_call.is_none_or(|c| r.call_sid == c))
            .map(|r| self.recording_resource(r))
            .collect();
        super::list_page("recordings", uri, recordings)
    }
}

fn not_found(account: &str, path: &str) -> Response {
    twilio_error(
        StatusCode::NOT_FOUND,
        20404,
        &format!("The requested resource /2010-04-01/Accounts/{account}/{path} was not found"),
    )
}

/// `GET Recordings.json`: newest first, filtered by `CallSid`.
pub(in crate::twilio) async fn list_recordings(
    State(s): State<TwilioStandin>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !s.authorized(&headers, &account) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    s.recordings_page(format!("/2010-04-01/Accounts/{account}/Recordings.json"), q.get("CallSid").map(String::as_str))
}

/// `GET Calls/{sid}/Recordings.json`.
pub(in crate::twilio) async fn call_recordings(
    State(s): State<TwilioStandin>,
    Path((account, call)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !s.authorized(&headers, &account) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    s.recordings_page(format!("/2010-04-01/Accounts/{account}/Calls/{call}/Recordings.json"), Some(&call))
}

/// `GET Recordings/{sid}.json` (the resource), `Recordings/{sid}` or `{sid}.wav` (the media).
pub(in crate::twilio) async fn fetch_recording(
    State(s): State<TwilioStandin>,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !s.authorized(&headers, &account) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let (sid, extension) = match file.split_once('.') {
        Some((sid, ext)) => (sid, Some(ext)),
        None => (file.as_str(), None),
    };
    let recording = s.recordings().into_iter().find(|r| r.sid == sid);
    match extension {
        Some("json") => match recording {
            Some(r) => axum::Json(s.recording_resource(&r)).into_response(),
            None => not_found(&account, &format!("Recordings/{file}")),
        },
        None | Some("wav") => {
            let fail = {
                let mut voice = lock(&s.inner.voice);
                let fail = voice.failing_fetches > 0;
                voice.failing_fetches = voice.failing_fetches.saturating_sub(1);
                fail
            };
            if fail {
                return twilio_error(StatusCode::INTERNAL_SERVER_ERROR, 20500, "Internal Server Error");
            }
            match recording {
                Some(r) => ([(header::CONTENT_TYPE, "audio/x-wav")], wav(r.channels, r.duration_secs)).into_response(),
                None => not_found(&account, &format!("Recordings/{file}")),
            }
        }
        _ => not_found(&account, &format!("Recordings/{file}")),
    }
}

#[cfg(test)]
mod tests {
    use super::wav;

    fn u32_at(b: &[u8], i: usize) -> u32 {
        u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
    }

    #[test]
    fn the_wav_header_matches_its_data() {
        for (channels, secs) in [(1u16, 1u64), (2, 3)] {
            let file = wav(channels, secs);
            let data = secs as u32 * 8000 * 2 * u32::from(channels);
            assert_eq!(&file[0..4], b"RIFF");
            assert_eq!(u32_at(&file, 4), 36 + data);
            assert_eq!(&file[8..16], b"WAVEfmt ");
            assert_eq!(u32_at(&file, 16), 16);
            assert_eq!(u16::from_le_bytes([file[20], file[21]]), 1);
            assert_eq!(u16::from_le_bytes([file[22], file[23]]), channels);
            assert_eq!(u32_at(&file, 24), 8000);
            assert_eq!(u32_at(&file, 28), 8000 * 2 * u32::from(channels));
            assert_eq!(u16::from_le_bytes([file[32], file[33]]), 2 * channels);
            assert_eq!(u16::from_le_bytes([file[34], file[35]]), 16);
            assert_eq!(&file[36..40], b"data");
            assert_eq!(u32_at(&file, 40), data);
            assert_eq!(file.len(), 44 + data as usize);
            assert!(file[44..].iter().any(|b| *b != 0), "a tone, not silence");
        }
    }
}
