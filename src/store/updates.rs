//! Telegram update de-duplication: after a crash the Bot API delivers unconfirmed updates again.

use chrono::{DateTime, Utc};

use super::columns::millis;
use super::{Db, StoreError};

impl Db {
    /// Records that the update was handled. Returns `true` the first time an update id is seen and `false` for a
    /// redelivery, which the caller should skip.
    pub async fn mark_update_processed(
        &self,
        update_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let rows_affected = on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO processed_updates (update_id, processed_at) VALUES ($1, $2)
                 ON CONFLICT (update_id) DO NOTHING",
            )
            .bind(update_id)
            .bind(millis(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(rows_affected == 1)
    }

    /// Forgets the update ids recorded before `before` and returns how many. Telegram keeps an unconfirmed update
    /// for at most 24 hours, so older records can never match a redelivery.
    pub async fn forget_processed_updates(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM processed_updates WHERE processed_at < $1")
                .bind(millis(before))
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
