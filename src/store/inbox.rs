//! The durable inbox: Telegram updates are stored before Telegram is told they arrived, handled from here, and
//! recognised when Telegram delivers one again.

use chrono::{DateTime, Utc};

use super::columns::millis;
use super::{BeginWrite, Db, StoreError};

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
    /// Stores a batch of updates in one transaction and returns the ids stored for the first time, in the
    /// batch's order. An update the inbox holds already (delivered again after a restart) is not returned.
    pub async fn receive_updates(
        &self,
        batch: &[ReceivedUpdate],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        let mut new = Vec::with_capacity(batch.len());
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for update in batch {
                let inserted = sqlx::query(
                    "INSERT INTO inbox (update_id, chat_id, raw, received_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (update_id) DO NOTHING",
                )
                .bind(update.update_id)
                .bind(update.chat_id)
                .bind(&update.raw)
                .bind(millis(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 1 {
                    new.push(update.update_id);
                }
            }
            tx.commit().await?;
        });
        Ok(new)
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
        on_pool!(self, pool => {
            sqlx::query("UPDATE inbox SET raw = '', finished_at = $2 WHERE update_id = $1")
                .bind(update_id)
                .bind(millis(now))
                .execute(pool)
                .await?;
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

    /// Whether the database answers now.
    pub async fn reachable(&self) -> bool {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.is_ok())
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
