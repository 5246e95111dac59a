//! Group commit for the common turn: an update that only keeps messages and queues sends (a question and its
//! answer, a staff command). Turns ready at the same moment share one transaction of three statements, whatever
//! their number: the inbox marks, the messages, the outbox rows. Each update is still marked handled only if it
//! was not yet, in the same transaction as what it caused, and each caller waits for its own commit.
//!
//! Every statement is a hand-off to SQLite's one connection, so statements per update bound the bot's throughput
//! (benches/bot_throughput.rs): one transaction per turn took five.

use super::{Db, NewMessage, NewOutbox, StoreError, UpdateId};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use tokio::sync::{mpsc, oneshot};

/// What one turn stores.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// The update it handles, marked handled with it; `None` for the terminal's, which are not in the inbox.
    pub update: Option<UpdateId>,
    pub messages: Vec<NewMessage>,
    pub sends: Vec<NewOutbox>,
    pub at: DateTime<Utc>,
}

/// What became of a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnCommitted {
    Done,
    /// Its update was handled already (after a crash, or by another instance): nothing of it was stored.
    AlreadyHandled,
}

struct Job {
    turn: Turn,
    done: oneshot::Sender<Result<TurnCommitted, StoreError>>,
}

/// At most this many turns share a transaction (far below both databases' parameter limits for the rows).
const MAX_TURNS: usize = 64;

#[derive(Clone)]
pub struct TurnLog {
    jobs: mpsc::Sender<Job>,
}

impl TurnLog {
    /// Starts the writer on the current Tokio runtime. It stops when every `TurnLog` clone is dropped.
    pub fn start(db: Db) -> TurnLog {
        let (jobs, mut queue) = mpsc::channel::<Job>(4 * MAX_TURNS);
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_TURNS {
                    match queue.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                write(&db, batch).await;
            }
        });
        TurnLog { jobs }
    }

    /// Stores the turn and marks its update handled, once committed.
    pub async fn commit(&self, turn: Turn) -> Result<TurnCommitted, StoreError> {
        let (done, committed) = oneshot::channel();
        self.jobs
            .send(Job { turn, done })
            .await
            .map_err(|_| StoreError::Closed)?;
        committed.await.map_err(|_| StoreError::Closed)?
    }
}

async fn write(db: &Db, batch: Vec<Job>) {
    let turns: Vec<&Turn> = batch.iter().map(|job| &job.turn).collect();
    match commit(db, &turns).await {
        Ok(outcomes) => {
            for (job, outcome) in batch.into_iter().zip(outcomes) {
                let _ = job.done.send(Ok(outcome));
            }
        }
        // One bad turn must not fail the others: each on its own.
        Err(_) if batch.len() > 1 => {
            for job in batch {
                let outcome = commit(db, &[&job.turn]).await;
                let _ = job
                    .done
                    .send(outcome.map(|mut outcomes| outcomes.remove(0)));
            }
        }
        Err(error) => {
            for job in batch {
                let _ = job.done.send(Err(StoreError::Batch(error.to_string())));
            }
        }
    }
}

/// The turns in one transaction; what became of each, in order.
async fn commit(db: &Db, turns: &[&Turn]) -> Result<Vec<TurnCommitted>, StoreError> {
    let mut tx = db.write().await?;
    let updates: Vec<UpdateId> = turns.iter().filter_map(|turn| turn.update).collect();
    let at = turns.iter().map(|turn| turn.at).max().unwrap_or_default();
    let mut marked: HashSet<UpdateId> =
        tx.finish_updates(&updates, at).await?.into_iter().collect();
    let outcomes: Vec<TurnCommitted> = turns
        .iter()
        // `remove`: the same update twice in one batch is stored once.
        .map(|turn| match turn.update {
            Some(update) if !marked.remove(&update) => TurnCommitted::AlreadyHandled,
            _ => TurnCommitted::Done,
        })
        .collect();
    let stored = || {
        turns
            .iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| **outcome == TurnCommitted::Done)
            .map(|(turn, _)| *turn)
    };
    let messages: Vec<NewMessage> = stored().flat_map(|turn| turn.messages.clone()).collect();
    let sends: Vec<NewOutbox> = stored().flat_map(|turn| turn.sends.clone()).collect();
    tx.record_messages(&messages).await?;
    tx.enqueue(&sends).await?;
    tx.commit().await?;
    Ok(outcomes)
}
