//! Group commit for the common turn: an update that only keeps messages and queues sends (a question and its
//! answer, a staff command). Turns ready at the same moment share one transaction of three statements, whatever
//! their number: the inbox marks, the messages, the outbox rows. Each update is still marked handled only if it
//! was not yet, in the same transaction as what it caused, and each caller waits for its own commit.
//!
//! Every statement is a hand-off to SQLite's one connection, so statements per update bound the bot's throughput
//! (benches/bot_throughput.rs): one transaction per turn took five.

use super::group_commit::{GroupCommit, shared};
use super::{Db, NewMessage, NewOutbox, StoreError, UpdateId};
use chrono::{DateTime, Utc};
use std::collections::HashSet;

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

/// At most this many turns share a transaction (far below both databases' parameter limits for the rows).
const MAX_TURNS: usize = 64;

#[derive(Clone)]
pub struct TurnLog {
    writer: GroupCommit<Turn, TurnCommitted>,
}

impl TurnLog {
    /// Starts the writer on the current Tokio runtime. It stops when every `TurnLog` clone is dropped.
    pub fn start(db: Db) -> TurnLog {
        let writer = GroupCommit::start(MAX_TURNS, move |turns: Vec<Turn>| {
            let db = db.clone();
            async move { write(&db, turns).await }
        });
        TurnLog { writer }
    }

    /// Stores the turn and marks its update handled, once committed.
    pub async fn commit(&self, turn: Turn) -> Result<TurnCommitted, StoreError> {
        self.writer.write(turn).await
    }
}

async fn write(db: &Db, turns: Vec<Turn>) -> Vec<Result<TurnCommitted, StoreError>> {
    let all: Vec<&Turn> = turns.iter().collect();
    match commit(db, &all).await {
        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
        // One bad turn must not fail the others: each on its own.
        Err(_) if turns.len() > 1 => {
            let mut results = Vec::with_capacity(turns.len());
            for turn in &turns {
                results.push(
                    commit(db, &[turn])
                        .await
                        .map(|mut outcomes| outcomes.remove(0)),
                );
            }
            results
        }
        Err(error) => shared(turns.len(), Err(error)),
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
