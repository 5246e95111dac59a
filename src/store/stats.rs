//! Figures for the staff `/stats` command.

use chrono::{DateTime, Utc};

use super::columns::millis;
use super::escalations::level_rank;
use super::{Db, StoreError};

const MILLIS_PER_MINUTE: f64 = 60_000.0;

/// How soon after a care-timeline message a report counts as following it.
const REPORT_AFTER_CHECK_IN_MILLIS: i64 = 2 * 24 * 60 * 60 * 1000;

/// Activity since a given instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Clients first seen since then.
    pub clients: i64,
    /// Messages received from clients since then.
    pub inbound_messages: i64,
    /// Escalations opened since then, per level, least severe first; levels without any are left out.
    pub escalations_by_level: Vec<(String, i64)>,
    /// Escalations not resolved yet, however old.
    pub open_escalations: i64,
    /// Median time from opening to acknowledgement of the escalations opened since then and acknowledged.
    pub median_minutes_to_ack: Option<f64>,
    /// The care timeline's messages since then.
    pub care: CareStats,
}

/// The care timeline's messages (check-ins, rebooking reminders) sent since a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CareStats {
    pub sent: i64,
    /// Answered with "All fine".
    pub all_fine: i64,
    /// Followed by a report from the same client within two days.
    pub followed_by_report: i64,
}

impl Db {
    pub async fn stats(&self, since: DateTime<Utc>) -> Result<Stats, StoreError> {
        let since = millis(since);
        let (
            clients,
            inbound_messages,
            open_escalations,
            mut escalations_by_level,
            ack_delays,
            care,
        ) = on_pool!(
            self,
            pool => {
                let clients: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients WHERE created_at >= $1")
                    .bind(since)
                    .fetch_one(pool)
                    .await?;
                let inbound: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND created_at >= $1",
                )
                .bind(since)
                .fetch_one(pool)
                .await?;
                let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM escalations WHERE status <> 'resolved'")
                    .fetch_one(pool)
                    .await?;
                let by_level: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT level, COUNT(*) FROM escalations WHERE opened_at >= $1 GROUP BY level",
                )
                .bind(since)
                .fetch_all(pool)
                .await?;
                let ack_delays: Vec<i64> = sqlx::query_scalar(
                    "SELECT acknowledged_at - opened_at FROM escalations
                     WHERE opened_at >= $1 AND acknowledged_at IS NOT NULL",
                )
                .bind(since)
                .fetch_all(pool)
                .await?;
                let care: (i64, i64, i64) = sqlx::query_as(
                    "SELECT COUNT(*),
                            COALESCE(SUM(CASE WHEN s.answer = 'fine' THEN 1 ELSE 0 END), 0),
                            COALESCE(SUM(CASE WHEN EXISTS (
                                SELECT 1 FROM escalations e WHERE e.client_id = s.client_id
                                  AND e.opened_at >= s.sent_at AND e.opened_at < s.sent_at + $2
                            ) THEN 1 ELSE 0 END), 0)
                     FROM care_steps s WHERE s.sent_at >= $1",
                )
                .bind(since)
                .bind(REPORT_AFTER_CHECK_IN_MILLIS)
                .fetch_one(pool)
                .await?;
                (clients, inbound, open, by_level, ack_delays, care)
            }
        );
        escalations_by_level.sort_by_key(|(level, _)| level_rank(level));
        Ok(Stats {
            clients,
            inbound_messages,
            escalations_by_level,
            open_escalations,
            median_minutes_to_ack: median(ack_delays).map(|millis| millis / MILLIS_PER_MINUTE),
            care: CareStats {
                sent: care.0,
                all_fine: care.1,
                followed_by_report: care.2,
            },
        })
    }
}

/// The median, averaging the middle two of an even count.
fn median(mut values: Vec<i64>) -> Option<f64> {
    values.sort_unstable();
    let middle = values.len() / 2;
    match values.len() {
        0 => None,
        len if len % 2 == 1 => Some(values[middle] as f64),
        _ => Some(f64::midpoint(
            values[middle - 1] as f64,
            values[middle] as f64,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![7, 1, 3]), Some(3.0));
        assert_eq!(median(vec![4, 1, 3, 2]), Some(2.5));
    }
}

/// What is waiting now, for the operator's metrics: nothing about who or what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Reports open and not acknowledged by staff.
    pub unacknowledged_reports: i64,
    /// Sends waiting in the outbox.
    pub outbox_pending: i64,
    /// When the oldest of them was queued.
    pub oldest_pending: Option<DateTime<Utc>>,
}

impl Db {
    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool).await?
        });
        Ok(())
    }

    pub async fn backlog(&self) -> Result<Backlog, StoreError> {
        let (unacknowledged_reports, outbox_pending, oldest): (i64, i64, Option<i64>) = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM escalations WHERE status = 'open'),
                            (SELECT COUNT(*) FROM outbox WHERE status = 'pending'),
                            (SELECT MIN(created_at) FROM outbox WHERE status = 'pending')",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(Backlog {
            unacknowledged_reports,
            outbox_pending,
            oldest_pending: super::columns::optional_instant("outbox.created_at", oldest)?,
        })
    }
}

/// What happened between two instants, for the weekly picture.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Period {
    /// Messages from clients.
    pub messages: i64,
    /// Clients who wrote.
    pub clients: i64,
    /// Reports opened: when, at which level, and when acknowledged.
    pub reports: Vec<ReportTimes>,
    /// The care timeline's messages sent, and those answered "All fine".
    pub check_ins_sent: i64,
    pub check_ins_fine: i64,
    /// The questions no curated answer fitted, most frequent first (the same words, in lower case, count as
    /// one), at most `limit`.
    pub unanswered: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReportTimes {
    pub opened_at: DateTime<Utc>,
    pub level: String,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

impl Db {
    /// Whether the weekly picture of the week starting on `monday` was queued already.
    pub async fn weekly_report_queued(
        &self,
        monday: chrono::NaiveDate,
    ) -> Result<bool, StoreError> {
        let queued: i64 = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM weekly_reports WHERE week = $1")
                .bind(super::columns::date_text(monday))
                .fetch_one(pool)
                .await?
        });
        Ok(queued > 0)
    }

    /// What happened from `from` (inclusive) to `to` (exclusive).
    pub async fn period(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        unanswered_limit: i64,
    ) -> Result<Period, StoreError> {
        use super::columns::{instant, optional_instant};
        let (from, to) = (millis(from), millis(to));
        let (counts, reports, care, unanswered) = on_pool!(self, pool => {
            let counts: (i64, i64) = sqlx::query_as(
                "SELECT COUNT(*), COUNT(DISTINCT client_id) FROM messages
                 WHERE direction = 'in' AND created_at >= $1 AND created_at < $2",
            )
            .bind(from)
            .bind(to)
            .fetch_one(pool)
            .await?;
            let reports: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
                "SELECT opened_at, level, acknowledged_at FROM escalations
                 WHERE opened_at >= $1 AND opened_at < $2 ORDER BY opened_at",
            )
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            let care: (i64, i64) = sqlx::query_as(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN answer = 'fine' THEN 1 ELSE 0 END), 0)
                 FROM care_steps WHERE sent_at >= $1 AND sent_at < $2",
            )
            .bind(from)
            .bind(to)
            .fetch_one(pool)
            .await?;
            let unanswered: Vec<(String, i64)> = sqlx::query_as(
                "SELECT LOWER(TRIM(text)) AS question, COUNT(*) AS times FROM messages
                 WHERE direction = 'in' AND category = $3 AND text IS NOT NULL
                   AND created_at >= $1 AND created_at < $2
                 GROUP BY LOWER(TRIM(text)) ORDER BY times DESC, question LIMIT $4",
            )
            .bind(from)
            .bind(to)
            .bind(super::messages::FALLBACK_CATEGORY)
            .bind(unanswered_limit)
            .fetch_all(pool)
            .await?;
            (counts, reports, care, unanswered)
        });
        Ok(Period {
            messages: counts.0,
            clients: counts.1,
            reports: reports
                .into_iter()
                .map(|(opened, level, acknowledged)| {
                    Ok(ReportTimes {
                        opened_at: instant("escalations.opened_at", opened)?,
                        level,
                        acknowledged_at: optional_instant(
                            "escalations.acknowledged_at",
                            acknowledged,
                        )?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            check_ins_sent: care.0,
            check_ins_fine: care.1,
            unanswered,
        })
    }
}
