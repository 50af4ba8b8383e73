//! Copying a call's recordings from the provider into our own storage (disk or S3), where the
//! calls list, the customer card and the lead play them from.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::to_millis;
use crate::db::Event;
use crate::engine::{BoxFuture, Kind, Outcome, WorkContext, WorkItem, Worker};
use crate::ids::OrgId;
use crate::providers::SendError;
use crate::providers::voice::VoiceProvider;
use crate::storage::BlobStore;
use crate::{Error, Result};

use super::store;

/// A `calls.fetch_recording` item: copy recording `recording` into storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchRecording {
    pub recording: i64,
}

impl Kind for FetchRecording {
    const NAME: &'static str = "calls.fetch_recording";
}

/// Runs `calls.fetch_recording`: download (WAV), check it is audio, store, mark stored. A
/// download refused for good marks the recording failed; anything else is tried again.
#[derive(Clone)]
pub struct Fetcher {
    pub voice: Arc<dyn VoiceProvider>,
    pub blobs: BlobStore,
}

/// Whether `bytes` are a RIFF/WAVE file.
pub fn is_wav(bytes: &[u8]) -> bool {
    bytes.len() >= 44 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE"
}

impl Fetcher {
    async fn fetch(&self, ctx: &WorkContext, id: i64) -> Result<Outcome> {
        let db = &ctx.db;
        let Some(r) = store::to_fetch(db.pool(), id).await? else {
            return Ok(Outcome::Fail(format!("recording {id} does not exist")));
        };
        if r.status == "stored" {
            return Ok(Outcome::Done(Some(serde_json::json!({ "skipped": "stored already" }))));
        }
        let org = OrgId(r.org_id);
        let bytes = match self.voice.fetch_recording(&r.media_url).await {
            Ok(b) => b,
            Err(SendError::Transient(why)) => return Ok(Outcome::Retry(why)),
            Err(SendError::Rejected { message, .. }) => {
                db.write(async |tx| store::failed(tx, id).await).await?;
                db.publish(Event::Call { org, call: r.call_id });
                return Ok(Outcome::Done(Some(serde_json::json!({ "failed": message }))));
            }
        };
        if !is_wav(&bytes) {
            return Ok(Outcome::Retry(format!(
                "the recording {} is not a WAV file ({} bytes)",
                r.provider_sid,
                bytes.len()
            )));
        }
        let key = format!("recordings/{}/{}/{}.wav", r.org_id, r.call_id, r.provider_sid);
        self.blobs.put(&key, &bytes, "audio/wav").await?;
        let now = to_millis(ctx.clock.now());
        let size = i64::try_from(bytes.len()).map_err(|e| Error::Unexpected(e.to_string()))?;
        db.write(async |tx| store::stored(tx, id, &key, size, now).await).await?;
        db.publish(Event::Call { org, call: r.call_id });
        Ok(Outcome::Done(Some(serde_json::json!({ "stored": key, "bytes": size }))))
    }
}

impl Worker for Fetcher {
    type Args = FetchRecording;
    fn work(&self, ctx: WorkContext, _item: WorkItem, args: FetchRecording) -> BoxFuture<Outcome> {
        let me = self.clone();
        Box::pin(async move { me.fetch(&ctx, args.recording).await.into() })
    }
}
