//! The outbox: Telegram sends that must survive a crash or an API outage, retried until they succeed or give up.
//!
//! A send is committed as a row first (in the same transaction as the change that caused it, where there is
//! one), then a worker delivers due rows and records the outcome.

use chrono::{DateTime, Utc};

use super::clients::expect_one;
use super::columns::{instant, json, millis, optional_instant};
use super::group_commit::{GroupCommit, shared};
use super::{ClientId, Db, OutboxId, ReportId, StoreError};

text_enum! {
    pub enum OutboxStatus {
        Pending => "pending",
        Sent => "sent",
        /// Given up: the error is permanent or the retries are exhausted.
        Failed => "failed",
    }
}

text_enum! {
    /// What an outbox row sends; the worker reads `payload` according to it. Stored as this text.
    pub enum OutboxKind {
        /// A new report's alert in the staff chat.
        Alert => "alert",
        /// The alert again, for a report nobody has acknowledged in time.
        Reminder => "reminder",
        /// A client's later message about an open report, under its alert.
        Followup => "followup",
        /// A client's photo about a report, under its alert.
        Photo => "photo",
        /// The alert edited to show its new status.
        AlertUpdate => "alert_update",
        /// A start link's QR code, as an image to print (`/link`).
        QrCode => "qr_code",
        /// The weekly picture's chart for staff, as an image.
        WeeklyChart => "weekly_chart",
        /// A text to the client (a notice, a staff member's words).
        Client => "client",
        /// The bot's answer to whoever wrote (a client, or staff in their chat), with its buttons.
        Reply => "reply",
    }
}

/// How soon a send must go out compared with the others due: a delivery pass takes the chats with the highest
/// first. Stored as its rank.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    #[default]
    Routine,
    /// About an urgent report (its answer, its alert).
    Urgent,
    /// About an emergency: the answer telling the client what to do now, and the alert.
    Emergency,
}

impl Priority {
    pub fn rank(self) -> i32 {
        match self {
            Priority::Routine => 0,
            Priority::Urgent => 1,
            Priority::Emergency => 2,
        }
    }

    /// A rank this version does not know (written by a newer one) reads as the nearest it knows.
    pub fn from_rank(rank: i32) -> Priority {
        match rank {
            i32::MIN..=0 => Priority::Routine,
            1 => Priority::Urgent,
            2.. => Priority::Emergency,
        }
    }
}

/// A send to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutbox {
    /// What to send; the worker interprets `payload` according to it.
    pub kind: OutboxKind,
    pub chat_id: i64,
    pub escalation_id: Option<ReportId>,
    pub client_id: Option<ClientId>,
    pub payload: serde_json::Value,
    /// Queuing twice with the same key queues once, e.g. one reminder per escalation and round.
    pub dedupe_key: Option<String>,
    pub priority: Priority,
    /// When it was queued; it is due at once.
    pub at: DateTime<Utc>,
}

/// A queued send.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub id: OutboxId,
    /// `None` for a kind this version does not know (queued by a newer version): it cannot be sent.
    pub kind: Option<OutboxKind>,
    pub chat_id: i64,
    pub escalation_id: Option<ReportId>,
    pub client_id: Option<ClientId>,
    pub payload: serde_json::Value,
    pub dedupe_key: Option<String>,
    pub priority: Priority,
    pub status: OutboxStatus,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The Telegram message id of the delivered message, when the send produced one.
    pub result_message_id: Option<i64>,
    /// Its last attempt failed because Telegram itself did (a 5xx, no answer); until it is tried again, the less
    /// pressing sends wait behind it.
    pub waits_for_telegram: bool,
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: OutboxId,
    kind: String,
    chat_id: i64,
    escalation_id: Option<ReportId>,
    client_id: Option<ClientId>,
    payload: String,
    dedupe_key: Option<String>,
    priority: i32,
    status: String,
    attempts: i32,
    next_attempt_at: i64,
    last_error: Option<String>,
    created_at: i64,
    sent_at: Option<i64>,
    result_message_id: Option<i64>,
    waits_for_telegram: bool,
}

impl TryFrom<OutboxRow> for OutboxItem {
    type Error = StoreError;

    fn try_from(row: OutboxRow) -> Result<Self, StoreError> {
        Ok(OutboxItem {
            id: row.id,
            kind: OutboxKind::from_text(&row.kind),
            chat_id: row.chat_id,
            escalation_id: row.escalation_id,
            client_id: row.client_id,
            payload: json("outbox.payload", &row.payload)?,
            dedupe_key: row.dedupe_key,
            priority: Priority::from_rank(row.priority),
            status: OutboxStatus::from_column("outbox.status", &row.status)?,
            attempts: i64::from(row.attempts),
            next_attempt_at: instant("outbox.next_attempt_at", row.next_attempt_at)?,
            last_error: row.last_error,
            created_at: instant("outbox.created_at", row.created_at)?,
            sent_at: optional_instant("outbox.sent_at", row.sent_at)?,
            result_message_id: row.result_message_id,
            waits_for_telegram: row.waits_for_telegram,
        })
    }
}

impl Db {
    /// Queues a send. Returns its id, or `None` when an item with the same dedupe key already exists (in any
    /// status), in which case nothing is queued.
    pub async fn enqueue(&self, item: &NewOutbox) -> Result<Option<OutboxId>, StoreError> {
        let mut tx = self.write().await?;
        let queued = tx.enqueue(std::slice::from_ref(item)).await?;
        tx.commit().await?;
        Ok(queued.first().copied())
    }

    /// Pending sends whose time has come: the chats with the highest priority first (a chat ranks as its most
    /// pressing pending send), each chat's in the order they were queued, so a limit never takes a chat's later
    /// send without its earlier ones. One chat's sends go in order: while an earlier one of its chat waits (for a
    /// retry, or because another worker is sending it), a send is not due. And while a more pressing send waits
    /// after Telegram itself failed, a send is not due either: when Telegram answers again, the more pressing
    /// goes first.
    pub async fn due_outbox(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let rows: Vec<OutboxRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1
                   AND NOT EXISTS (
                       SELECT 1 FROM outbox earlier
                       WHERE earlier.chat_id = outbox.chat_id AND earlier.status = 'pending'
                         AND earlier.id < outbox.id AND earlier.next_attempt_at > $1
                   )
                   AND NOT EXISTS (
                       SELECT 1 FROM outbox pressing
                       WHERE pressing.status = 'pending' AND pressing.waits_for_telegram
                         AND pressing.next_attempt_at > $1 AND pressing.priority > outbox.priority
                   )
                 ORDER BY (
                       SELECT MAX(mine.priority) FROM outbox mine
                       WHERE mine.chat_id = outbox.chat_id AND mine.status = 'pending'
                   ) DESC, id
                 LIMIT $2",
            )
            .bind(millis(now))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(OutboxItem::try_from).collect()
    }

    pub async fn outbox_sent(
        &self,
        id: OutboxId,
        result_message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let rows_affected = self
            .outbox_sent_all(&[(id, result_message_id)], now)
            .await?;
        expect_one(rows_affected, "outbox item", id.get())
    }

    /// Records several sends made, each with the Telegram message it produced, in one statement. Returns how many
    /// rows it found (a client may have used /forget meanwhile: their rows are gone).
    pub async fn outbox_sent_all(
        &self,
        sent: &[(OutboxId, Option<i64>)],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if sent.is_empty() {
            return Ok(0);
        }
        Ok(on_pool!(self, pool => {
            let mut query = sqlx::QueryBuilder::new(
                "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ",
            );
            query.push_bind(millis(now)).push(", result_message_id = CASE id");
            for (id, message) in sent {
                query.push(" WHEN ").push_bind(*id).push(" THEN ").push_bind(*message);
            }
            query.push(" END WHERE id IN (");
            let mut ids = query.separated(", ");
            for (id, _) in sent {
                ids.push_bind(*id);
            }
            query.push(")");
            query.build().persistent(false).execute(pool).await?.rows_affected()
        }))
    }

    /// Records a failed attempt that is worth repeating at `next_attempt_at`.
    pub async fn outbox_retry(
        &self,
        id: OutboxId,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let rows_affected = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(millis(next_attempt_at))
            .bind(error)
            .execute(pool)
            .await?
            .rows_affected()
        });
        expect_one(rows_affected, "outbox item", id.get())
    }

    /// Records a failed attempt because Telegram itself failed (a 5xx answer, no answer at all), to repeat at
    /// `next_attempt_at`. Until then, sends less pressing than this one are not due (see [`Db::due_outbox`]).
    pub async fn outbox_wait_for_telegram(
        &self,
        id: OutboxId,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let rows_affected = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3,
                                   waits_for_telegram = TRUE
                 WHERE id = $1",
            )
            .bind(id)
            .bind(millis(next_attempt_at))
            .bind(error)
            .execute(pool)
            .await?
            .rows_affected()
        });
        expect_one(rows_affected, "outbox item", id.get())
    }

    /// Gives up on a send.
    pub async fn outbox_failed(&self, id: OutboxId, error: &str) -> Result<(), StoreError> {
        let rows_affected = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(error)
            .execute(pool)
            .await?
            .rows_affected()
        });
        expect_one(rows_affected, "outbox item", id.get())
    }

    /// Takes a due item for this worker: it is pushed `lease` into the future, so another instance (several
    /// can share a PostgreSQL database) will not send it too. True when this call got it.
    pub async fn claim_outbox(
        &self,
        id: OutboxId,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<bool, StoreError> {
        Ok(self.claim_outboxes(&[id], now, lease).await? == [id])
    }

    /// [`Db::claim_outbox`] for several items in one statement; returns those this call got.
    pub async fn claim_outboxes(
        &self,
        ids: &[OutboxId],
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<Vec<OutboxId>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(on_pool!(self, pool => {
            // Claimed, it is this worker's until the lease ends: it no longer holds the less pressing sends back.
            let mut query = sqlx::QueryBuilder::new(
                "UPDATE outbox SET waits_for_telegram = FALSE, next_attempt_at = ",
            );
            query
                .push_bind(millis(now + lease))
                .push(" WHERE status = 'pending' AND next_attempt_at <= ")
                .push_bind(millis(now))
                .push(" AND id IN (");
            let mut separated = query.separated(", ");
            for id in ids {
                separated.push_bind(*id);
            }
            query.push(") RETURNING id");
            query.build_query_scalar::<OutboxId>().persistent(false).fetch_all(pool).await?
        }))
    }

    /// Gives back items claimed and not tried (their chat's earlier send did not go out): due again at `now`, so
    /// they follow it without waiting out the lease.
    pub async fn release_outbox(
        &self,
        ids: &[OutboxId],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        on_pool!(self, pool => {
            let mut query = sqlx::QueryBuilder::new("UPDATE outbox SET next_attempt_at = ");
            query
                .push_bind(millis(now))
                .push(" WHERE status = 'pending' AND id IN (");
            let mut separated = query.separated(", ");
            for id in ids {
                separated.push_bind(*id);
            }
            query.push(")");
            query.build().persistent(false).execute(pool).await?;
        });
        Ok(())
    }

    /// Deletes at most `limit` rows sent before `before`, the earliest queued first, and returns how many: one small
    /// statement, so that other writers are not held up. Pending and failed rows are never deleted here.
    pub async fn prune_sent_outbox(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query(
                "DELETE FROM outbox WHERE id IN (
                     SELECT id FROM outbox WHERE status = 'sent' AND sent_at < $1 ORDER BY id LIMIT $2
                 )",
            )
            .bind(millis(before))
            .bind(limit)
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    pub async fn pending_outbox_count(&self) -> Result<i64, StoreError> {
        let count: i64 = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }
}

/// Group commit for [`Db::outbox_sent_all`]: the sends Telegram took at the same moment are recorded in one
/// statement. Each caller waits until its own send is recorded.
#[derive(Clone)]
pub struct SentLog {
    writer: GroupCommit<(OutboxId, Option<i64>, DateTime<Utc>), ()>,
}

/// At most this many sends share a statement.
const MAX_SENT: usize = 256;

impl SentLog {
    /// Starts the writer on the current Tokio runtime. It stops when every `SentLog` clone is dropped.
    pub fn start(db: Db) -> SentLog {
        let writer = GroupCommit::start(
            MAX_SENT,
            move |sent: Vec<(OutboxId, Option<i64>, DateTime<Utc>)>| {
                let db = db.clone();
                async move {
                    let at = sent.iter().map(|(_, _, at)| *at).max().unwrap_or_default();
                    let rows: Vec<(OutboxId, Option<i64>)> = sent
                        .iter()
                        .map(|(id, message, _)| (*id, *message))
                        .collect();
                    shared(sent.len(), db.outbox_sent_all(&rows, at).await.map(|_| ()))
                }
            },
        );
        SentLog { writer }
    }

    /// Records that `id` was sent `at`, as Telegram's message `result_message_id`. A row gone meanwhile (the client
    /// used /forget) is not an error.
    pub async fn sent(
        &self,
        id: OutboxId,
        result_message_id: Option<i64>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.writer.write((id, result_message_id, at)).await
    }
}

#[cfg(test)]
mod tests {
    use super::{OutboxKind, Priority};

    #[test]
    fn outbox_kinds_keep_their_stored_text() {
        for (kind, text) in [
            (OutboxKind::Alert, "alert"),
            (OutboxKind::Reminder, "reminder"),
            (OutboxKind::Followup, "followup"),
            (OutboxKind::Photo, "photo"),
            (OutboxKind::AlertUpdate, "alert_update"),
            (OutboxKind::Client, "client"),
            (OutboxKind::Reply, "reply"),
        ] {
            assert_eq!(kind.as_str(), text);
            assert_eq!(OutboxKind::from_text(text), Some(kind));
        }
        assert_eq!(OutboxKind::from_text("staff_alert"), None);
    }

    #[test]
    fn priorities_keep_their_stored_rank() {
        for priority in [Priority::Routine, Priority::Urgent, Priority::Emergency] {
            assert_eq!(Priority::from_rank(priority.rank()), priority);
        }
        assert_eq!(Priority::from_rank(7), Priority::Emergency);
        assert_eq!(Priority::from_rank(-1), Priority::Routine);
    }
}
