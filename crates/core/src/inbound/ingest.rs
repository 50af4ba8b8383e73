//! Group commit for inbound texts. Webhook handlers hand their text to one writer task, which
//! stores a batch of them with one statement in one transaction, queues the router for them
//! in the same transaction, and answers every handler only after the commit: each text is
//! durable before its webhook is acknowledged, but a burst costs one disk flush instead of one
//! per text. Nothing else happens here, so the webhook's answer never waits on lead threading.
//!
//! One writer on both databases: the order of ids is then the order of commits, which is what
//! lets the router keep each sender's texts in arrival order.

use tokio::sync::{mpsc, oneshot};

use super::RouteInbound;
use super::store::{self, RawText};
use crate::clock::{SharedClock, to_millis};
use crate::db::Db;
use crate::engine::{self, NewWork};
use crate::{Error, Result};

/// Texts stored per transaction at most.
pub const MAX_BATCH: usize = 1024;

/// What storing a text did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// New: stored, and the router will deal with it.
    New,
    /// The provider sent this one before.
    Duplicate,
}

type Job = (RawText, oneshot::Sender<Result<Stored>>);

#[derive(Clone, Debug)]
pub struct Ingest {
    queue: mpsc::Sender<Job>,
}

impl Ingest {
    /// Starts the writer task; it stops when every `Ingest` handle is dropped.
    pub fn start(db: Db, clock: SharedClock) -> Ingest {
        let (queue, jobs) = mpsc::channel::<Job>(4 * MAX_BATCH);
        tokio::spawn(writer(db, clock, jobs));
        Ingest { queue }
    }

    /// Stores one inbound text and returns once it is committed. A NUL character (which
    /// PostgreSQL cannot store in text) is kept as U+FFFD, the replacement character.
    pub async fn receive(&self, mut text: RawText) -> Result<Stored> {
        for field in [&mut text.provider_id, &mut text.from, &mut text.to, &mut text.body] {
            if field.contains('\0') {
                *field = field.replace('\0', "\u{FFFD}");
            }
        }
        let (done, answer) = oneshot::channel();
        self.queue.send((text, done)).await.map_err(|_| Error::Unexpected("the inbound writer stopped".into()))?;
        answer.await.map_err(|_| Error::Unexpected("the inbound writer dropped a text".into()))?
    }
}

async fn writer(db: Db, clock: SharedClock, mut jobs: mpsc::Receiver<Job>) {
    loop {
        let Some(first) = jobs.recv().await else { return };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        metrics::histogram!("inbound_sms_batch_size").record(batch.len() as f64);
        match store_batch(&db, &clock, &batch).await {
            Ok((new, queued_router)) => {
                // Only a new router item is news to the engine: one already waiting takes
                // these texts too, and waking the engine for nothing would cost a claim.
                if queued_router {
                    db.work_added();
                }
                for (text, done) in batch {
                    let stored = if new.contains(&text.provider_id) { Stored::New } else { Stored::Duplicate };
                    let _ = done.send(Ok(stored));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, texts = batch.len(), "storing a batch of inbound texts failed");
                for (_, done) in batch {
                    let _ = done.send(Err(Error::Unexpected(format!("storing the batch failed: {e}"))));
                }
            }
        }
    }
}

/// One transaction: the texts, and one router item for them unless one is waiting. Returns
/// the new texts' provider ids and whether a router item was queued.
async fn store_batch(db: &Db, clock: &SharedClock, batch: &[Job]) -> Result<(std::collections::HashSet<String>, bool)> {
    let now = clock.now();
    let texts: Vec<&RawText> = batch.iter().map(|(t, _)| t).collect();
    // First in line for SQLite's write lock: every webhook of the batch is waiting on it.
    let mut tx = db.begin_first().await?;
    let mut new = std::collections::HashSet::new();
    for chunk in texts.chunks(tx.rows_per_statement(5)) {
        new.extend(store::insert_batch(&mut tx, chunk, to_millis(now)).await?);
    }
    // A router run that has not started yet takes these too (it reads every text not routed
    // when it runs); one that is running may not, so a new one is queued then.
    let queue_router = !new.is_empty() && !super::router_waiting_in(&mut tx).await?;
    if queue_router {
        engine::enqueue_in(&mut tx, &NewWork::of(&RouteInbound {}, now)?, now).await?;
    }
    tx.commit().await?;
    Ok((new, queue_router))
}
