//! The durable inbox: Telegram updates are stored before Telegram is told they arrived, handled from here, and
//! recognised when Telegram delivers one again.

use chrono::{DateTime, Utc};

use super::columns::millis;
use super::group_commit::{GroupCommit, shared};
use super::{Db, StoreError};
use crate::clock::Clock;
use std::sync::Arc;

/// An update as received, to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedUpdate {
    pub update_id: i64,
    /// The chat it belongs to, when it has one: that chat's updates are handled in order.
    pub chat_id: Option<i64>,
    /// The update as Telegram sent it (JSON).
    pub raw: String,
}

/// An update stored and not handled yet.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PendingUpdate {
    pub update_id: i64,
    pub chat_id: Option<i64>,
    pub raw: String,
    /// Failed attempts to handle it so far.
    pub attempts: i32,
}

impl Db {
    /// Stores a batch of updates in one statement and returns the ids stored for the first time, in the batch's
    /// order. An update the inbox holds already (delivered again after a restart) is not returned.
    pub async fn receive_updates(
        &self,
        batch: &[ReceivedUpdate],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let stored: Vec<i64> = on_pool!(self, pool => {
            let mut query =
                sqlx::QueryBuilder::new("INSERT INTO inbox (update_id, chat_id, raw, received_at) ");
            query.push_values(batch, |mut row, update| {
                row.push_bind(update.update_id)
                    .push_bind(update.chat_id)
                    .push_bind(&update.raw)
                    .push_bind(millis(now));
            });
            query.push(" ON CONFLICT (update_id) DO NOTHING RETURNING update_id");
            query.build_query_scalar::<i64>().persistent(false).fetch_all(pool).await?
        });
        let stored: std::collections::HashSet<i64> = stored.into_iter().collect();
        Ok(batch
            .iter()
            .map(|update| update.update_id)
            .filter(|id| stored.contains(id))
            .collect())
    }

    /// Updates received and neither handled nor set aside, oldest first (update ids grow with time).
    pub async fn pending_updates(&self, limit: i64) -> Result<Vec<PendingUpdate>, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT update_id, chat_id, raw, attempts FROM inbox WHERE finished_at IS NULL
                 ORDER BY update_id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Marks an update handled. Its content is emptied: what it caused is stored elsewhere, or must not be (a
    /// client who has not consented); only its id stays, to recognise a redelivery.
    pub async fn finish_update(
        &self,
        update_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.finish_updates(&[update_id], now).await
    }

    /// [`Db::finish_update`] for several updates in one statement.
    pub async fn finish_updates(
        &self,
        update_ids: &[i64],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if update_ids.is_empty() {
            return Ok(());
        }
        on_pool!(self, pool => {
            let mut query = sqlx::QueryBuilder::new("UPDATE inbox SET raw = '', finished_at = ");
            query.push_bind(millis(now)).push(" WHERE update_id IN (");
            let mut ids = query.separated(", ");
            for id in update_ids {
                ids.push_bind(*id);
            }
            query.push(")");
            query.build().persistent(false).execute(pool).await?;
        });
        Ok(())
    }

    /// Records a failed attempt to handle an update and returns how many attempts have failed.
    pub async fn update_failed(&self, update_id: i64, error: &str) -> Result<i32, StoreError> {
        let attempts: Option<i32> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "UPDATE inbox SET attempts = attempts + 1, last_error = $2 WHERE update_id = $1
                 RETURNING attempts",
            )
            .bind(update_id)
            .bind(error)
            .fetch_optional(pool)
            .await?
        });
        attempts.ok_or(StoreError::NotFound {
            what: "inbox update",
            id: update_id,
        })
    }

    /// Stops trying to handle an update that keeps failing, so that the updates after it go on. It is kept, with
    /// its error, for staff to look at.
    pub async fn set_update_aside(
        &self,
        update_id: i64,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE inbox SET set_aside = TRUE, last_error = $2, finished_at = $3 WHERE update_id = $1",
            )
            .bind(update_id)
            .bind(error)
            .bind(millis(now))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// How many updates were set aside and are still kept.
    pub async fn updates_set_aside(&self) -> Result<i64, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE set_aside")
                .fetch_one(pool)
                .await?
        }))
    }

    /// Whether the database answers now. SQLite's pool has one connection, which a burst of writes may hold for a
    /// moment: that is the database busy, not away, so SQLite is asked on a connection of its own (a reader never
    /// waits for the writer in WAL mode). Otherwise a slow turn under load looked like the database gone, and the
    /// client got the answer from the intents as well as the real one.
    pub async fn reachable(&self) -> bool {
        match self {
            Db::Sqlite(pool) => {
                use sqlx::{ConnectOptions, Connection};
                match pool.connect_options().connect().await {
                    Ok(mut probe) => {
                        let answered = sqlx::query("SELECT 1").execute(&mut probe).await.is_ok();
                        let _ = probe.close().await;
                        answered
                    }
                    Err(_) => false,
                }
            }
            Db::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.is_ok(),
        }
    }

    /// Forgets the handled updates finished before `before` and returns how many. Telegram keeps an unconfirmed
    /// update for at most 24 hours, so older ids can never match a redelivery. Set-aside updates stay.
    pub async fn forget_handled_updates(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM inbox WHERE finished_at < $1 AND NOT set_aside")
                .bind(millis(before))
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}

/// Group commit for [`Db::finish_updates`], for the updates that store nothing (ignored, refused): those finished
/// at the same moment share one statement. Each caller waits for its own commit. (An update the flows handle is
/// marked in its own transaction, see [`super::WriteTx::finish_update`].)
#[derive(Clone)]
pub struct InboxLog {
    writer: GroupCommit<i64, ()>,
}

/// At most this many updates share a statement.
const MAX_FINISHED: usize = 256;

impl InboxLog {
    /// Starts the writer on the current Tokio runtime; `clock` says when the updates were finished. It stops
    /// when every `InboxLog` clone is dropped.
    pub fn start(db: Db, clock: Arc<dyn Clock>) -> InboxLog {
        let writer = GroupCommit::start(MAX_FINISHED, move |ids: Vec<i64>| {
            let (db, now) = (db.clone(), clock.now());
            async move { shared(ids.len(), db.finish_updates(&ids, now).await) }
        });
        InboxLog { writer }
    }

    /// Marks the update handled, once committed.
    pub async fn finish(&self, update_id: i64) -> Result<(), StoreError> {
        self.writer.write(update_id).await
    }
}
