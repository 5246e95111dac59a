//! Escalations: a worrying report, the staff alerts about it, and its life from open to resolved.

use chrono::{DateTime, Utc};

use super::clients::{Client, JoinedClientRow, expect_one, joined_client_columns};
use super::columns::{instant, json, millis, optional_instant};
use super::outbox::NewOutbox;
use super::{BeginWrite, ClientId, Db, ReportId, StoreError};

/// Escalation levels from least to most severe.
pub const ESCALATION_LEVELS: [&str; 4] = ["none", "routine", "urgent", "emergency"];

/// The severity rank of a level (higher is more severe), or `None` for an unknown level.
#[must_use]
pub fn level_rank(level: &str) -> Option<i64> {
    ESCALATION_LEVELS
        .iter()
        .position(|known| *known == level)
        .and_then(|position| i64::try_from(position).ok())
}

/// The same ranking as [`level_rank`], in SQL over the `level` column.
macro_rules! level_rank_sql {
    () => {
        "(CASE level WHEN 'none' THEN 0 WHEN 'routine' THEN 1 WHEN 'urgent' THEN 2 WHEN 'emergency' THEN 3 END)"
    };
}
pub(crate) use level_rank_sql;

text_enum! {
    /// Where an escalation is in its life. Anything not resolved still counts as open for the client.
    pub enum EscalationStatus {
        Open => "open",
        Acknowledged => "acknowledged",
        Resolved => "resolved",
    }
}

text_enum! {
    /// What a message in the staff chat about an escalation was.
    pub enum AlertKind {
        /// The first alert.
        Alert => "alert",
        Reminder => "reminder",
        /// A later message from the client, forwarded to staff.
        Followup => "followup",
        Photo => "photo",
    }
}

impl AlertKind {
    /// Alerts and reminders are what the reminder schedule counts from; follow-ups and photos are not.
    fn restarts_reminder_clock(self) -> bool {
        matches!(self, AlertKind::Alert | AlertKind::Reminder)
    }
}

/// A worrying report and what staff did about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    pub id: ReportId,
    pub client_id: ClientId,
    /// One of [`ESCALATION_LEVELS`].
    pub level: String,
    pub status: EscalationStatus,
    pub red_flags: Vec<String>,
    pub first_message_id: i64,
    pub opened_at: DateTime<Utc>,
    /// When the first alert reached the staff chat.
    pub alerted_at: Option<DateTime<Utc>>,
    pub acknowledged_by_id: Option<i64>,
    pub acknowledged_by_name: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_by_id: Option<i64>,
    pub resolved_by_name: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// When the latest alert or reminder was posted.
    pub last_alert_at: Option<DateTime<Utc>>,
    pub reminder_count: i64,
}

/// The outcome of a staff action on an escalation.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// This call made the change.
    Done(Escalation),
    /// Someone (or an earlier call) had already moved it at least that far; nothing changed.
    Already(Escalation),
    NotFound,
}

#[derive(sqlx::FromRow)]
pub(crate) struct EscalationRow {
    pub(crate) id: ReportId,
    client_id: ClientId,
    level: String,
    status: String,
    red_flags: String,
    first_message_id: i64,
    opened_at: i64,
    alerted_at: Option<i64>,
    acknowledged_by_id: Option<i64>,
    acknowledged_by_name: Option<String>,
    acknowledged_at: Option<i64>,
    resolved_by_id: Option<i64>,
    resolved_by_name: Option<String>,
    resolved_at: Option<i64>,
    last_alert_at: Option<i64>,
    reminder_count: i32,
}

impl TryFrom<EscalationRow> for Escalation {
    type Error = StoreError;

    fn try_from(row: EscalationRow) -> Result<Self, StoreError> {
        Ok(Escalation {
            id: row.id,
            client_id: row.client_id,
            level: row.level,
            status: EscalationStatus::from_column("escalations.status", &row.status)?,
            red_flags: json("escalations.red_flags", &row.red_flags)?,
            first_message_id: row.first_message_id,
            opened_at: instant("escalations.opened_at", row.opened_at)?,
            alerted_at: optional_instant("escalations.alerted_at", row.alerted_at)?,
            acknowledged_by_id: row.acknowledged_by_id,
            acknowledged_by_name: row.acknowledged_by_name,
            acknowledged_at: optional_instant("escalations.acknowledged_at", row.acknowledged_at)?,
            resolved_by_id: row.resolved_by_id,
            resolved_by_name: row.resolved_by_name,
            resolved_at: optional_instant("escalations.resolved_at", row.resolved_at)?,
            last_alert_at: optional_instant("escalations.last_alert_at", row.last_alert_at)?,
            reminder_count: i64::from(row.reminder_count),
        })
    }
}

#[derive(sqlx::FromRow)]
struct EscalationWithClientRow {
    #[sqlx(flatten)]
    escalation: EscalationRow,
    #[sqlx(flatten)]
    client: JoinedClientRow,
}

pub(crate) fn known_level(level: &str) -> Result<i64, StoreError> {
    level_rank(level).ok_or_else(|| StoreError::UnknownLevel(level.to_owned()))
}

impl Db {
    pub async fn escalation(
        &self,
        escalation_id: ReportId,
    ) -> Result<Option<Escalation>, StoreError> {
        let row: Option<EscalationRow> = on_pool!(self, pool => {
            sqlx::query_as("SELECT * FROM escalations WHERE id = $1")
                .bind(escalation_id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Escalation::try_from).transpose()
    }

    /// The client's escalation that is not resolved yet (there is at most one).
    pub async fn open_escalation_for_client(
        &self,
        client_id: ClientId,
    ) -> Result<Option<Escalation>, StoreError> {
        let row: Option<EscalationRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT * FROM escalations WHERE client_id = $1 AND status <> 'resolved'
                 ORDER BY opened_at DESC, id DESC LIMIT 1",
            )
            .bind(client_id)
            .fetch_optional(pool)
            .await?
        });
        row.map(Escalation::try_from).transpose()
    }

    /// Opens an escalation for the client's message and queues its staff alert, in one transaction: either the
    /// escalation exists and its alert will be sent, or neither happened.
    ///
    /// The alert is stored as given except that its `escalation_id` is set to the new escalation. Fails with
    /// [`StoreError::EscalationAlreadyOpen`] if the client already has one that is not resolved (attach the
    /// message to that one instead), and with [`StoreError::NotFound`] if the message is not the client's.
    pub async fn open_escalation_with_alert(
        &self,
        client_id: ClientId,
        level: &str,
        red_flags: &[String],
        first_message_id: i64,
        now: DateTime<Utc>,
        alert: NewOutbox,
    ) -> Result<Escalation, StoreError> {
        let mut tx = self.write().await?;
        let opened = tx
            .open_escalation(client_id, level, red_flags, first_message_id, now)
            .await;
        let escalation = match opened {
            Ok(Some(escalation)) => escalation,
            Ok(None) => {
                drop(tx);
                return Err(self.already_open(client_id).await);
            }
            Err(error) => return Err(error),
        };
        let alert = NewOutbox {
            escalation_id: Some(escalation.id),
            ..alert
        };
        if tx.enqueue(std::slice::from_ref(&alert)).await?.is_empty() {
            return Err(StoreError::DuplicateDedupeKey(
                alert.dedupe_key.unwrap_or_default(),
            ));
        }
        tx.commit().await?;
        Ok(escalation)
    }

    async fn already_open(&self, client_id: ClientId) -> StoreError {
        match self.open_escalation_for_client(client_id).await {
            Ok(Some(open)) => StoreError::EscalationAlreadyOpen {
                client_id,
                escalation_id: open.id,
            },
            // Resolved again in the meantime: what failed was finding it open.
            Ok(None) => StoreError::NotFound {
                what: "open escalation of client",
                id: client_id.get(),
            },
            Err(error) => error,
        }
    }

    /// Links a later message of the client to the escalation and, if `raise_level_to` is more severe than the
    /// current level, raises it. Returns whether the level was raised (staff may need a fresh alert).
    pub async fn attach_message(
        &self,
        escalation_id: ReportId,
        message_id: i64,
        raise_level_to: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let raised = tx
            .attach_message(escalation_id, message_id, raise_level_to)
            .await?;
        tx.commit().await?;
        Ok(raised)
    }

    /// Remembers a message posted in a staff chat about the escalation, so that a reply to it can be traced back.
    /// Posting an alert or a reminder also marks the escalation alerted and restarts the reminder clock.
    /// Recording the same chat message twice is harmless.
    pub async fn record_alert_message(
        &self,
        escalation_id: ReportId,
        chat_id: i64,
        message_id: i64,
        kind: AlertKind,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO alert_messages (escalation_id, chat_id, message_id, kind, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (chat_id, message_id) DO NOTHING",
            )
            .bind(escalation_id)
            .bind(chat_id)
            .bind(message_id)
            .bind(kind.as_str())
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            if kind.restarts_reminder_clock() {
                sqlx::query(
                    "UPDATE escalations SET alerted_at = COALESCE(alerted_at, $2), last_alert_at = $2 WHERE id = $1",
                )
                .bind(escalation_id)
                .bind(millis(now))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The escalation a staff chat message (alert, reminder, forwarded follow-up or photo) belongs to.
    pub async fn escalation_by_staff_message(
        &self,
        chat_id: i64,
        message_id: i64,
    ) -> Result<Option<Escalation>, StoreError> {
        let row: Option<EscalationRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT e.* FROM escalations e JOIN alert_messages a ON a.escalation_id = e.id
                 WHERE a.chat_id = $1 AND a.message_id = $2",
            )
            .bind(chat_id)
            .bind(message_id)
            .fetch_optional(pool)
            .await?
        });
        row.map(Escalation::try_from).transpose()
    }

    /// The staff chat and message id of the escalation's first alert, e.g. to edit its buttons.
    pub async fn alert_message_id(
        &self,
        escalation_id: ReportId,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        let ids: Option<(i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT chat_id, message_id FROM alert_messages WHERE escalation_id = $1 AND kind = $2
                 ORDER BY id LIMIT 1",
            )
            .bind(escalation_id)
            .bind(AlertKind::Alert.as_str())
            .fetch_optional(pool)
            .await?
        });
        Ok(ids)
    }

    /// Marks an open escalation acknowledged by a staff member. Safe under concurrency: when two staff press the
    /// button at once, exactly one gets [`Transition::Done`].
    pub async fn acknowledge(
        &self,
        escalation_id: ReportId,
        staff_id: i64,
        staff_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Transition, StoreError> {
        let mut tx = self.write().await?;
        let done = tx
            .acknowledge(escalation_id, staff_id, staff_name, now)
            .await?;
        tx.commit().await?;
        self.transition(escalation_id, done).await
    }

    /// Marks an escalation resolved (see [`super::WriteTx::resolve`]). Safe under concurrency like
    /// [`Db::acknowledge`].
    pub async fn resolve(
        &self,
        escalation_id: ReportId,
        staff_id: i64,
        staff_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Transition, StoreError> {
        let mut tx = self.write().await?;
        let done = tx.resolve(escalation_id, staff_id, staff_name, now).await?;
        tx.commit().await?;
        self.transition(escalation_id, done).await
    }

    /// Interprets a guarded UPDATE … RETURNING: a row means this call changed it; no row means it was already
    /// past that state, or does not exist.
    async fn transition(
        &self,
        escalation_id: ReportId,
        updated: Option<Escalation>,
    ) -> Result<Transition, StoreError> {
        if let Some(escalation) = updated {
            return Ok(Transition::Done(escalation));
        }
        Ok(match self.escalation(escalation_id).await? {
            Some(escalation) => Transition::Already(escalation),
            None => Transition::NotFound,
        })
    }

    /// Every escalation not resolved yet, oldest first, with its client.
    pub async fn open_escalations(&self) -> Result<Vec<(Escalation, Client)>, StoreError> {
        let rows: Vec<EscalationWithClientRow> = on_pool!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT e.*, ",
                joined_client_columns!(),
                " FROM escalations e JOIN clients c ON c.id = e.client_id
                  WHERE e.status <> 'resolved'
                  ORDER BY e.opened_at, e.id",
            ))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|row| Ok((row.escalation.try_into()?, row.client.try_into()?)))
            .collect()
    }

    /// Urgent and emergency escalations still unacknowledged whose last alert or reminder is at least `after` old.
    pub async fn due_reminders(
        &self,
        now: DateTime<Utc>,
        after: chrono::Duration,
    ) -> Result<Vec<Escalation>, StoreError> {
        let rows: Vec<EscalationRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT * FROM escalations
                 WHERE status = 'open' AND level IN ('urgent', 'emergency')
                   AND alerted_at IS NOT NULL AND last_alert_at <= $1
                 ORDER BY last_alert_at, id",
            )
            .bind(millis(now - after))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Escalation::try_from).collect()
    }

    /// Counts a reminder and restarts the reminder clock. Call it when the reminder is queued, so the next
    /// scheduler tick does not queue it again.
    pub async fn note_reminder(
        &self,
        escalation_id: ReportId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let rows_affected = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE escalations SET reminder_count = reminder_count + 1, last_alert_at = $2 WHERE id = $1",
            )
            .bind(escalation_id)
            .bind(millis(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        expect_one(rows_affected, "escalation", escalation_id.get())
    }
}

#[cfg(test)]
mod tests {
    use super::level_rank;

    #[test]
    fn levels_rank_by_severity() {
        assert!(level_rank("none") < level_rank("routine"));
        assert!(level_rank("routine") < level_rank("urgent"));
        assert!(level_rank("urgent") < level_rank("emergency"));
        assert_eq!(level_rank("catastrophic"), None);
    }
}
