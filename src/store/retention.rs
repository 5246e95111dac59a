//! Deleting what is kept no longer than needed: messages, and resolved reports with their alerts, older than the
//! clinic's retention. Open reports are never deleted, nor the messages they hold.

use chrono::{DateTime, Utc};

use super::columns::millis;
use super::{Db, StoreError};

/// What one batch deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deleted {
    /// Resolved reports (their alerts' records and queued sends go with them).
    pub reports: u64,
    pub messages: u64,
}

impl Deleted {
    pub fn total(self) -> u64 {
        self.reports + self.messages
    }
}

impl Db {
    /// Deletes at most `limit` resolved reports resolved before `before`, then at most `limit` messages from
    /// before it that no report left standing holds.
    pub async fn delete_older_than(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Deleted, StoreError> {
        let before = millis(before);
        let reports = self
            .delete_batch(
                "DELETE FROM escalations WHERE id IN (
                     SELECT id FROM escalations
                     WHERE status = 'resolved' AND resolved_at < $1 AND opened_at < $1
                     ORDER BY id LIMIT $2
                 )",
                before,
                limit,
            )
            .await?;
        // A message of a report still standing stays: an open one, or one resolved since `before` (whose first
        // message it may be).
        let messages = self
            .delete_batch(
                "DELETE FROM messages WHERE id IN (
                     SELECT m.id FROM messages m
                     WHERE m.created_at < $1
                       AND m.escalation_id IS NULL
                       AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.first_message_id = m.id)
                     ORDER BY m.id LIMIT $2
                 )",
                before,
                limit,
            )
            .await?;
        Ok(Deleted { reports, messages })
    }

    /// One batch statement with `$1` an instant (milliseconds) and `$2` the batch's size; how many rows it deleted.
    async fn delete_batch(&self, sql: &str, before: i64, limit: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(before)
                .bind(limit)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
