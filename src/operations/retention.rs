//! Health data kept no longer than needed: once a day, messages and resolved reports (with their alerts) older
//! than `AFTERCARE_RETENTION_DAYS` are deleted, in small batches. Open reports are never deleted.

use crate::clock::Clock;
use crate::flows::Service;
use crate::store::{Deleted, StoreError};
use chrono::Duration;
use std::sync::Arc;
use tokio::sync::watch;

/// Rows of each kind per statement: short transactions, so that conversations are not held up.
const BATCH: i64 = 500;

const EVERY: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// Deletes everything older than `keep`, as of the clock's now, batch after batch.
pub async fn apply(
    service: &Service,
    clock: &dyn Clock,
    keep: Duration,
) -> Result<Deleted, StoreError> {
    let mut deleted = Deleted::default();
    loop {
        let batch = service
            .db
            .delete_older_than(clock.now() - keep, BATCH)
            .await?;
        deleted.reports += batch.reports;
        deleted.messages += batch.messages;
        if batch.reports < BATCH.unsigned_abs() && batch.messages < BATCH.unsigned_abs() {
            return Ok(deleted);
        }
        // Between batches the conversations' writes go first (SQLite has one connection).
        tokio::task::yield_now().await;
    }
}

/// Applies the retention at start and then daily, until `stop`.
pub async fn run(
    service: Service,
    clock: Arc<dyn Clock>,
    keep: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match apply(&service, clock.as_ref(), keep).await {
            Ok(deleted) if deleted.total() == 0 => {}
            Ok(deleted) => tracing::info!(
                reports = deleted.reports,
                messages = deleted.messages,
                days = keep.num_days(),
                "retention: old records deleted"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "retention: could not delete old records; trying tomorrow")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.changed() => break,
        }
    }
}
