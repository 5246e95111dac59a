//! Group commit for messages: conversations that store messages at the same moment share one INSERT.
//!
//! Every statement costs a hand-off to SQLite's worker thread and a commit; under load, one statement for
//! many conversations is what lets the bot keep up (benches/bot_throughput.rs). Each caller still waits for
//! its own rows to be stored before it answers.

use super::{Db, NewMessage, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Rows of one caller, stored together in order.
struct Job {
    rows: Vec<NewMessage>,
    done: oneshot::Sender<Result<Vec<i64>, StoreError>>,
}

/// At most this many callers share a statement (far below SQLite's and PostgreSQL's parameter limits).
const MAX_JOBS: usize = 64;

#[derive(Clone)]
pub struct MessageLog {
    jobs: mpsc::Sender<Job>,
}

impl MessageLog {
    /// Starts the writer on the current Tokio runtime. It stops when every `MessageLog` clone is dropped.
    pub fn start(db: Db) -> MessageLog {
        let (jobs, mut queue) = mpsc::channel::<Job>(4 * MAX_JOBS);
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_JOBS {
                    match queue.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                write(&db, batch).await;
            }
        });
        MessageLog { jobs }
    }

    /// Stores the rows (in order) and returns their ids once they are committed.
    pub async fn record(&self, rows: Vec<NewMessage>) -> Result<Vec<i64>, StoreError> {
        let (done, stored) = oneshot::channel();
        self.jobs
            .send(Job { rows, done })
            .await
            .map_err(|_| StoreError::Closed)?;
        stored.await.map_err(|_| StoreError::Closed)?
    }
}

async fn write(db: &Db, batch: Vec<Job>) {
    if batch.len() == 1 {
        for job in batch {
            let result = db.record_messages(&job.rows).await;
            let _ = job.done.send(result);
        }
        return;
    }
    let rows: Vec<NewMessage> = batch
        .iter()
        .flat_map(|job| job.rows.iter().cloned())
        .collect();
    match db.record_messages(&rows).await {
        Ok(ids) => {
            let mut ids = ids.into_iter();
            for job in batch {
                let mine: Vec<i64> = ids.by_ref().take(job.rows.len()).collect();
                let _ = job.done.send(Ok(mine));
            }
        }
        // One bad row must not fail the others: store each caller's rows on their own.
        Err(_) => {
            for job in batch {
                let result = db.record_messages(&job.rows).await;
                let _ = job.done.send(result);
            }
        }
    }
}
