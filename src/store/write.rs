//! A write transaction, and the writes an update's decision is made of. Every statement runs on the
//! transaction's own connection, never on the pool: SQLite's pool has one connection, which an open transaction
//! holds, so a pool call inside it would wait for the pool's acquire timeout.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Postgres, Sqlite, Transaction};

use super::clients::{State, expect_one};
use super::columns::{date_text, json_text, millis};
use super::escalations::{Escalation, EscalationRow, known_level, level_rank_sql};
use super::messages::NewMessage;
use super::outbox::NewOutbox;
use super::{
    BeginWrite, CheckInAnswer, ClientId, Db, OutboxId, ReportId, StoreError, TreatmentId, UpdateId,
};

/// An open write transaction; dropped without [`WriteTx::commit`], it rolls back.
pub struct WriteTx(Open);

enum Open {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs the same expression on the transaction's connection, whichever database it is on. As with `on_pool!`,
/// the body is expanded once per backend and the SQL written once.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match &mut $tx.0 {
            Open::Sqlite(tx) => {
                let $conn: &mut sqlx::SqliteConnection = tx;
                $body
            }
            Open::Postgres(tx) => {
                let $conn: &mut sqlx::PgConnection = tx;
                $body
            }
        }
    };
}

impl Db {
    /// Starts a transaction that will write (on SQLite it takes the write lock at once).
    pub async fn write(&self) -> Result<WriteTx, StoreError> {
        Ok(WriteTx(match self {
            Db::Sqlite(pool) => Open::Sqlite(pool.begin_write().await?),
            Db::Postgres(pool) => Open::Postgres(pool.begin_write().await?),
        }))
    }
}

impl WriteTx {
    /// Makes every write of the transaction durable at once; an error here means none of them happened.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.0 {
            Open::Sqlite(tx) => tx.commit().await?,
            Open::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Counts reminder round `round` of a report and restarts its reminder clock, only if the round before it is
    /// the last one counted and the report is still open. False: another instance (or an earlier tick) counted
    /// it already, and this transaction must queue no reminder. On PostgreSQL the row lock makes a racing
    /// instance wait for this transaction, and then find the count moved on.
    pub async fn note_reminder_round(
        &mut self,
        escalation: ReportId,
        round: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let rows_affected = on_tx!(self, conn => {
            sqlx::query(
                "UPDATE escalations SET reminder_count = $2, last_alert_at = $3
                 WHERE id = $1 AND reminder_count = $2 - 1 AND status = 'open'",
            )
            .bind(escalation)
            .bind(i32::try_from(round).unwrap_or(i32::MAX))
            .bind(millis(now))
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(rows_affected == 1)
    }

    /// Records that the weekly picture of the week starting on `monday` is queued, only if nobody has yet. False:
    /// it was, and this transaction must queue nothing.
    pub async fn note_weekly_report(
        &mut self,
        monday: chrono::NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let rows_affected = on_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO weekly_reports (week, queued_at) VALUES ($1, $2) ON CONFLICT (week) DO NOTHING",
            )
            .bind(super::columns::date_text(monday))
            .bind(millis(now))
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(rows_affected == 1)
    }

    /// Marks a stored update handled, only if nobody has yet (a second attempt after a crash, or another
    /// instance). False: it was handled already, and this transaction must change nothing. Its content is
    /// emptied as it is marked (see [`Db::finish_updates`]). On PostgreSQL the row lock makes a racing attempt
    /// wait for this transaction, and then find the row handled.
    pub async fn finish_update(
        &mut self,
        update: UpdateId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.finish_updates(&[update], now).await? == [update])
    }

    /// [`WriteTx::finish_update`] for several updates in one statement; returns those marked by this call.
    pub async fn finish_updates(
        &mut self,
        updates: &[UpdateId],
        now: DateTime<Utc>,
    ) -> Result<Vec<UpdateId>, StoreError> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        Ok(on_tx!(self, conn => {
            let mut query = sqlx::QueryBuilder::new("UPDATE inbox SET raw = '', finished_at = ");
            query.push_bind(millis(now)).push(" WHERE finished_at IS NULL AND update_id IN (");
            let mut ids = query.separated(", ");
            for update in updates {
                ids.push_bind(*update);
            }
            query.push(") RETURNING update_id");
            query.build_query_scalar::<UpdateId>().persistent(false).fetch_all(&mut *conn).await?
        }))
    }

    pub async fn set_consent(
        &mut self,
        client: ClientId,
        consent: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let rows_affected = on_tx!(self, conn => {
            sqlx::query("UPDATE clients SET consent = $2, consent_at = $3, updated_at = $3 WHERE id = $1")
                .bind(client)
                .bind(consent)
                .bind(millis(now))
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        expect_one(rows_affected, "client", client.get())
    }

    pub async fn set_state(&mut self, client: ClientId, state: State) -> Result<(), StoreError> {
        let rows_affected = on_tx!(self, conn => {
            sqlx::query("UPDATE clients SET state = $2 WHERE id = $1")
                .bind(client)
                .bind(state.as_str())
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        expect_one(rows_affected, "client", client.get())
    }

    /// Records a treatment date; the one entered last is the current one.
    pub async fn add_treatment(
        &mut self,
        client: ClientId,
        treated_on: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(self, conn => {
            sqlx::query("INSERT INTO treatments (client_id, treated_on, created_at) VALUES ($1, $2, $3)")
                .bind(client)
                .bind(date_text(treated_on))
                .bind(millis(now))
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Records that the care timeline's `step` was sent for `treatment`, only if it was not yet. False: it was
    /// (by another instance, or before a crash), and this transaction must not queue it again.
    pub async fn note_care_step(
        &mut self,
        treatment: TreatmentId,
        client: ClientId,
        step: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let rows_affected = on_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO care_steps (treatment_id, client_id, step, sent_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (treatment_id, step) DO NOTHING",
            )
            .bind(treatment)
            .bind(client)
            .bind(step)
            .bind(millis(now))
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(rows_affected == 1)
    }

    /// Marks the start link `link` used by `client`, only if nobody used it before. False: it was (by another
    /// client, or by this one on another attempt), and this transaction must not act on it.
    pub async fn use_start_link(
        &mut self,
        link: &str,
        client: ClientId,
        treated_on: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let rows_affected = on_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO start_links_used (link_id, client_id, treated_on, used_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (link_id) DO NOTHING",
            )
            .bind(link)
            .bind(client)
            .bind(date_text(treated_on))
            .bind(millis(now))
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(rows_affected == 1)
    }

    /// The client's start links are done with: their date is recorded (or they declined).
    pub async fn apply_start_links(&mut self, client: ClientId) -> Result<(), StoreError> {
        on_tx!(self, conn => {
            sqlx::query("UPDATE start_links_used SET applied = TRUE WHERE client_id = $1 AND NOT applied")
                .bind(client)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Turns the care timeline's messages on or off for a client (`/reminders`).
    pub async fn set_care_messages(
        &mut self,
        client: ClientId,
        on: bool,
    ) -> Result<(), StoreError> {
        on_tx!(self, conn => {
            sqlx::query("UPDATE clients SET care_messages = $2 WHERE id = $1")
                .bind(client)
                .bind(on)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Records a client's answer to their latest check-in, if it has none yet. False: there was none to answer.
    pub async fn answer_check_in(
        &mut self,
        client: ClientId,
        answer: CheckInAnswer,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let rows_affected = on_tx!(self, conn => {
            sqlx::query(
                "UPDATE care_steps SET answer = $2, answered_at = $3
                 WHERE answer IS NULL AND (treatment_id, step) IN (
                     SELECT treatment_id, step FROM care_steps WHERE client_id = $1
                     ORDER BY sent_at DESC LIMIT 1)",
            )
            .bind(client)
            .bind(answer.as_str())
            .bind(millis(now))
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(rows_affected == 1)
    }

    /// Stores messages in one statement and returns their ids in the order given.
    pub async fn record_messages(
        &mut self,
        messages: &[NewMessage],
    ) -> Result<Vec<i64>, StoreError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut flags = Vec::with_capacity(messages.len());
        for message in messages {
            flags.push(
                message
                    .triage
                    .as_ref()
                    .map(|triage| json_text(&triage.red_flags))
                    .transpose()?,
            );
        }
        let mut ids: Vec<i64> = on_tx!(self, conn => {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO messages (client_id, direction, telegram_message_id, kind, text, photo_file_id,
                                       intent, category, escalation, confidence, red_flags, escalation_id, created_at) ",
            );
            query.push_values(messages.iter().zip(&flags), |mut row, (message, flags)| {
                let triage = message.triage.as_ref();
                row.push_bind(message.client_id)
                    .push_bind(message.direction.as_str())
                    .push_bind(message.telegram_message_id)
                    .push_bind(message.kind.as_str())
                    .push_bind(message.text.as_deref())
                    .push_bind(message.photo_file_id.as_deref())
                    .push_bind(triage.and_then(|triage| triage.intent.as_deref()))
                    .push_bind(triage.map(|triage| triage.category.as_str()))
                    .push_bind(triage.map(|triage| triage.escalation.as_str()))
                    .push_bind(triage.map(|triage| triage.confidence))
                    .push_bind(flags.as_deref())
                    .push_bind(message.escalation_id)
                    .push_bind(millis(message.at));
            });
            query.push(" RETURNING id");
            query.build_query_scalar::<i64>().persistent(false).fetch_all(&mut *conn).await?
        });
        // RETURNING order is unspecified, but one statement assigns increasing ids in VALUES order.
        ids.sort_unstable();
        Ok(ids)
    }

    /// Opens a report on the client's message `first_message` and links the message to it. `None` when the
    /// client has an unresolved report already (someone opened one first): the transaction is then unusable on
    /// PostgreSQL and must be dropped.
    pub async fn open_escalation(
        &mut self,
        client: ClientId,
        level: &str,
        red_flags: &[String],
        first_message: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<Escalation>, StoreError> {
        known_level(level)?;
        let red_flags = json_text(red_flags)?;
        let row: EscalationRow = on_tx!(self, conn => {
            let inserted = sqlx::query_as(
                "INSERT INTO escalations (client_id, level, status, red_flags, first_message_id, opened_at)
                 VALUES ($1, $2, 'open', $3, $4, $5)
                 RETURNING *",
            )
            .bind(client)
            .bind(level)
            .bind(&red_flags)
            .bind(first_message)
            .bind(millis(now))
            .fetch_one(&mut *conn)
            .await;
            match inserted {
                Ok(row) => row,
                // The unique index on unresolved escalations per client.
                Err(sqlx::Error::Database(error)) if error.is_unique_violation() => return Ok(None),
                Err(error) => return Err(error.into()),
            }
        });
        let linked = on_tx!(self, conn => {
            sqlx::query("UPDATE messages SET escalation_id = $1 WHERE id = $2 AND client_id = $3")
                .bind(row.id)
                .bind(first_message)
                .bind(client)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        expect_one(linked, "message of this client", first_message)?;
        row.try_into().map(Some)
    }

    /// Links a later message of the client to the report and, if `raise_level_to` is more severe than its level,
    /// raises it. Returns whether the level was raised.
    pub async fn attach_message(
        &mut self,
        report: ReportId,
        message: i64,
        raise_level_to: Option<&str>,
    ) -> Result<bool, StoreError> {
        let raise = raise_level_to
            .map(|level| known_level(level).map(|rank| (level, rank)))
            .transpose()?;
        let linked = on_tx!(self, conn => {
            sqlx::query(
                "UPDATE messages SET escalation_id = $1
                 WHERE id = $2 AND client_id = (SELECT client_id FROM escalations WHERE id = $1)",
            )
            .bind(report)
            .bind(message)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        expect_one(linked, "message of the escalation's client", message)?;
        let Some((level, rank)) = raise else {
            return Ok(false);
        };
        // Compared in SQL so that two concurrent raises cannot lower the level.
        let raised = on_tx!(self, conn => {
            sqlx::query(concat!(
                "UPDATE escalations SET level = $2 WHERE id = $1 AND ",
                level_rank_sql!(),
                " < $3",
            ))
            .bind(report)
            .bind(level)
            .bind(rank)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(raised > 0)
    }

    /// Marks an open report acknowledged. `None` when it is not open (any more), or does not exist.
    pub async fn acknowledge(
        &mut self,
        report: ReportId,
        staff_id: i64,
        staff_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Escalation>, StoreError> {
        let row: Option<EscalationRow> = on_tx!(self, conn => {
            sqlx::query_as(
                "UPDATE escalations
                 SET status = 'acknowledged', acknowledged_by_id = $2, acknowledged_by_name = $3,
                     acknowledged_at = $4
                 WHERE id = $1 AND status = 'open'
                 RETURNING *",
            )
            .bind(report)
            .bind(staff_id)
            .bind(staff_name)
            .bind(millis(now))
            .fetch_optional(&mut *conn)
            .await?
        });
        row.map(Escalation::try_from).transpose()
    }

    /// Marks a report resolved. Resolving one nobody acknowledged also records the resolver as the acknowledger,
    /// so response times stay measurable. `None` when it is resolved already, or does not exist.
    pub async fn resolve(
        &mut self,
        report: ReportId,
        staff_id: i64,
        staff_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Escalation>, StoreError> {
        let row: Option<EscalationRow> = on_tx!(self, conn => {
            sqlx::query_as(
                "UPDATE escalations
                 SET status = 'resolved', resolved_by_id = $2, resolved_by_name = $3, resolved_at = $4,
                     acknowledged_by_id = CASE WHEN acknowledged_at IS NULL THEN $2 ELSE acknowledged_by_id END,
                     acknowledged_by_name = CASE WHEN acknowledged_at IS NULL THEN $3 ELSE acknowledged_by_name END,
                     acknowledged_at = CASE WHEN acknowledged_at IS NULL THEN $4 ELSE acknowledged_at END
                 WHERE id = $1 AND status <> 'resolved'
                 RETURNING *",
            )
            .bind(report)
            .bind(staff_id)
            .bind(staff_name)
            .bind(millis(now))
            .fetch_optional(&mut *conn)
            .await?
        });
        row.map(Escalation::try_from).transpose()
    }

    /// Queues sends in one statement, each due at once. Returns the ids of those queued: an item whose dedupe
    /// key is taken (in any status) is not queued again.
    pub async fn enqueue(&mut self, items: &[NewOutbox]) -> Result<Vec<OutboxId>, StoreError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let payloads = items
            .iter()
            .map(|item| json_text(&item.payload))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ids: Vec<OutboxId> = on_tx!(self, conn => {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO outbox (kind, chat_id, escalation_id, client_id, payload, dedupe_key, priority, status,
                                     attempts, next_attempt_at, created_at) ",
            );
            query.push_values(items.iter().zip(&payloads), |mut row, (item, payload)| {
                row.push_bind(item.kind.as_str())
                    .push_bind(item.chat_id)
                    .push_bind(item.escalation_id)
                    .push_bind(item.client_id)
                    .push_bind(payload)
                    .push_bind(item.dedupe_key.as_deref())
                    .push_bind(item.priority.rank())
                    .push_bind("pending")
                    .push_bind(0)
                    .push_bind(millis(item.at))
                    .push_bind(millis(item.at));
            });
            query.push(" ON CONFLICT (dedupe_key) DO NOTHING RETURNING id");
            query.build_query_scalar::<OutboxId>().persistent(false).fetch_all(&mut *conn).await?
        });
        // One statement assigns increasing ids in VALUES order.
        ids.sort_unstable();
        Ok(ids)
    }

    /// Deletes everything stored about the client (messages, treatments, escalations and their alert messages,
    /// outbox rows, updates of theirs set aside in the inbox, the client). Returns `false` if there was no such
    /// client.
    ///
    /// The foreign keys cascade too, but deleting explicitly keeps this correct even on a connection where
    /// SQLite's foreign-key enforcement is off.
    pub async fn forget_client(&mut self, client: ClientId) -> Result<bool, StoreError> {
        // Order matters: messages point at escalations and escalations at their first message.
        const DELETES: [&str; 8] = [
            "DELETE FROM inbox WHERE set_aside AND chat_id = (SELECT chat_id FROM clients WHERE id = $1)",
            "DELETE FROM alert_messages WHERE escalation_id IN (SELECT id FROM escalations WHERE client_id = $1)",
            "DELETE FROM outbox
             WHERE client_id = $1 OR escalation_id IN (SELECT id FROM escalations WHERE client_id = $1)",
            "UPDATE messages SET escalation_id = NULL WHERE client_id = $1",
            "DELETE FROM escalations WHERE client_id = $1",
            "DELETE FROM messages WHERE client_id = $1",
            "DELETE FROM care_steps WHERE client_id = $1",
            "DELETE FROM treatments WHERE client_id = $1",
        ];
        let deleted = on_tx!(self, conn => {
            for statement in DELETES {
                sqlx::query(statement).bind(client).execute(&mut *conn).await?;
            }
            sqlx::query("DELETE FROM clients WHERE id = $1")
                .bind(client)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        Ok(deleted > 0)
    }
}
