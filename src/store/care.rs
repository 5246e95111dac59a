//! The care timeline's records: which clients' current treatments may have a step due, and which steps were
//! sent for them (the writes are in [`super::WriteTx`], in the transaction that queues the step).

use chrono::{DateTime, NaiveDate, Utc};

use super::columns::{date, date_text, instant};
use super::{ClientId, Db, StoreError, TreatmentId};

text_enum! {
    /// A client's answer to a check-in, by its buttons.
    pub enum CheckInAnswer {
        /// "All fine".
        Fine => "fine",
        /// "Something worries me".
        Worried => "worried",
    }
}

/// A client's current treatment, for the care timeline: who to write to and what was sent for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareTimeline {
    pub client_id: ClientId,
    pub chat_id: i64,
    pub first_name: String,
    pub treatment_id: TreatmentId,
    pub treated_on: NaiveDate,
    /// When the treatment date was recorded.
    pub known_since: DateTime<Utc>,
    /// The steps sent for this treatment, by their ids in the plan.
    pub sent: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct TimelineRow {
    client_id: ClientId,
    chat_id: i64,
    first_name: String,
    treatment_id: TreatmentId,
    treated_on: String,
    known_since: i64,
}

#[derive(sqlx::FromRow)]
struct SentRow {
    treatment_id: TreatmentId,
    step: String,
}

impl Db {
    /// The current treatments dated from `from` to `to` (inclusive) of the clients who agreed to keep their
    /// messages and have not turned the timeline off, with the steps already sent for each. Two reads, each by
    /// the treatment date's index.
    pub async fn care_timelines(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<CareTimeline>, StoreError> {
        let (from, to) = (date_text(from), date_text(to));
        let (rows, sent): (Vec<TimelineRow>, Vec<SentRow>) = on_pool!(self, pool => {
            let rows = sqlx::query_as(
                "SELECT c.id AS client_id, c.chat_id, c.first_name, t.id AS treatment_id, t.treated_on,
                        t.created_at AS known_since
                 FROM treatments t JOIN clients c ON c.id = t.client_id
                 WHERE t.treated_on BETWEEN $1 AND $2
                   AND c.consent = TRUE AND c.care_messages = TRUE
                   AND t.id = (SELECT max(t2.id) FROM treatments t2 WHERE t2.client_id = t.client_id)
                 ORDER BY t.id",
            )
            .bind(&from)
            .bind(&to)
            .fetch_all(pool)
            .await?;
            let sent = sqlx::query_as(
                "SELECT s.treatment_id, s.step FROM care_steps s JOIN treatments t ON t.id = s.treatment_id
                 WHERE t.treated_on BETWEEN $1 AND $2",
            )
            .bind(&from)
            .bind(&to)
            .fetch_all(pool)
            .await?;
            (rows, sent)
        });
        let mut by_treatment: std::collections::HashMap<TreatmentId, Vec<String>> =
            std::collections::HashMap::new();
        for row in sent {
            by_treatment
                .entry(row.treatment_id)
                .or_default()
                .push(row.step);
        }
        rows.into_iter()
            .map(|row| {
                Ok(CareTimeline {
                    client_id: row.client_id,
                    chat_id: row.chat_id,
                    first_name: row.first_name,
                    treatment_id: row.treatment_id,
                    treated_on: date("treatments.treated_on", &row.treated_on)?,
                    known_since: instant("treatments.created_at", row.known_since)?,
                    sent: by_treatment.remove(&row.treatment_id).unwrap_or_default(),
                })
            })
            .collect()
    }
}

/// Who used a start link, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkUse {
    Unused,
    /// Used by this client (`None`: a client since forgotten).
    UsedBy(Option<ClientId>),
}

impl Db {
    pub async fn start_link_use(&self, link: &str) -> Result<LinkUse, StoreError> {
        let row: Option<(Option<ClientId>,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT client_id FROM start_links_used WHERE link_id = $1")
                .bind(link)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map_or(LinkUse::Unused, |(client,)| LinkUse::UsedBy(client)))
    }
}
