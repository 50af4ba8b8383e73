//! Group commit for inbound texts. Webhook handlers hand their text to one writer task, which
//! stores a batch of them in a single transaction (one savepoint each, so one bad text fails
//! alone) and answers every handler only after the commit: each text is still durable before
//! its webhook is acknowledged, but a burst costs one disk flush instead of one per text.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::{InboundOutcome, InboundSms, after_inbound, receive_sms_in};
use crate::clock::SharedClock;
use crate::db::Db;
use crate::{Error, Result};

/// Texts stored per transaction at most.
pub const MAX_BATCH: usize = 256;

type Job = (InboundSms, oneshot::Sender<Result<InboundOutcome>>);

#[derive(Clone, Debug)]
pub struct Ingest {
    queue: mpsc::Sender<Job>,
}

impl Ingest {
    /// Starts the writer tasks (one on SQLite, which has one writer anyway; four on
    /// PostgreSQL); they stop when every `Ingest` handle is dropped.
    pub fn start(db: Db, clock: SharedClock) -> Ingest {
        let (queue, jobs) = mpsc::channel::<Job>(4 * MAX_BATCH);
        let jobs = Arc::new(tokio::sync::Mutex::new(jobs));
        let writers = match db.backend() {
            crate::db::Backend::Sqlite => 1,
            crate::db::Backend::Postgres => 4,
        };
        for _ in 0..writers {
            tokio::spawn(writer(db.clone(), clock.clone(), jobs.clone()));
        }
        Ingest { queue }
    }

    /// Stores one inbound text (with its consent keyword and lead) and returns once it is
    /// committed.
    pub async fn receive_sms(&self, sms: InboundSms) -> Result<InboundOutcome> {
        let (done, answer) = oneshot::channel();
        self.queue.send((sms, done)).await.map_err(|_| Error::Unexpected("the inbound writer stopped".into()))?;
        answer.await.map_err(|_| Error::Unexpected("the inbound writer dropped a text".into()))?
    }
}

async fn writer(db: Db, clock: SharedClock, jobs: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>) {
    loop {
        // Take whatever is waiting (at least one), then let another writer take the next batch.
        let mut batch = {
            let mut jobs = jobs.lock().await;
            let Some(first) = jobs.recv().await else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        // Same order of row locks in every batch (by sender), so concurrent batches on
        // PostgreSQL wait for each other instead of deadlocking.
        batch.sort_by(|a, b| a.0.from.cmp(&b.0.from));
        metrics::histogram!("inbound_sms_batch_size").record(batch.len() as f64);
        let results = store_batch(&db, clock.as_ref(), &batch).await;
        match results {
            Ok(outcomes) => {
                for ((_, done), outcome) in batch.into_iter().zip(outcomes) {
                    if let Ok(o) = &outcome {
                        after_inbound(&db, o);
                    }
                    let _ = done.send(outcome);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "storing a batch of inbound texts failed");
                for (_, done) in batch {
                    let _ = done.send(Err(Error::Unexpected(format!("storing the batch failed: {e}"))));
                }
            }
        }
    }
}

/// One transaction for the batch; each text in its own savepoint.
async fn store_batch(db: &Db, clock: &dyn crate::clock::Clock, batch: &[Job]) -> Result<Vec<Result<InboundOutcome>>> {
    let mut tx = db.begin().await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for (sms, _) in batch {
        sqlx::query("savepoint inbound_text").execute(&mut *tx).await?;
        match receive_sms_in(&mut tx, clock, sms).await {
            Ok(o) => {
                sqlx::query("release savepoint inbound_text").execute(&mut *tx).await?;
                outcomes.push(Ok(o));
            }
            Err(e) => {
                sqlx::query("rollback to savepoint inbound_text").execute(&mut *tx).await?;
                sqlx::query("release savepoint inbound_text").execute(&mut *tx).await?;
                outcomes.push(Err(e));
            }
        }
    }
    tx.commit().await?;
    Ok(outcomes)
}
