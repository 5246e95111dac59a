//! The conversation log: every message to and from a client, with the triage of inbound ones.

use chrono::{DateTime, Utc};

use super::clients::{Client, JoinedClientRow, joined_client_columns};
use super::columns::{instant, json};
use super::{ClientId, Db, ReportId, StoreError};

/// The triage category of a message the engine could not answer.
pub(super) const FALLBACK_CATEGORY: &str = "fallback";

text_enum! {
    /// Who sent a message.
    pub enum Direction {
        /// From the client to the clinic.
        In => "in",
        /// From the clinic (bot or staff) to the client.
        Out => "out",
    }
}

text_enum! {
    /// What a Telegram message carried.
    pub enum MessageKind {
        Text => "text",
        Photo => "photo",
        Voice => "voice",
        Sticker => "sticker",
        Document => "document",
        Location => "location",
        /// An edit of an earlier message; `text` holds the new text.
        Edit => "edit",
        Other => "other",
    }
}

/// What the engine concluded about an inbound message.
#[derive(Debug, Clone, PartialEq)]
pub struct TriageRecord {
    pub intent: Option<String>,
    pub category: String,
    /// The escalation level the message itself called for (`none`, `routine`, `urgent`, `emergency`).
    pub escalation: String,
    pub confidence: f32,
    pub red_flags: Vec<String>,
}

/// A message to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub client_id: ClientId,
    pub direction: Direction,
    pub telegram_message_id: Option<i64>,
    pub kind: MessageKind,
    pub text: Option<String>,
    pub photo_file_id: Option<String>,
    pub triage: Option<TriageRecord>,
    pub escalation_id: Option<ReportId>,
    pub at: DateTime<Utc>,
}

impl NewMessage {
    /// A text of the bot's to a client, kept in their conversation (about `report`, if any).
    pub fn from_bot(
        client: ClientId,
        text: &str,
        report: Option<ReportId>,
        at: DateTime<Utc>,
    ) -> NewMessage {
        NewMessage {
            client_id: client,
            direction: Direction::Out,
            telegram_message_id: None,
            kind: MessageKind::Text,
            text: Some(text.to_string()),
            photo_file_id: None,
            triage: None,
            escalation_id: report,
            at,
        }
    }
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub id: i64,
    pub client_id: ClientId,
    pub direction: Direction,
    pub telegram_message_id: Option<i64>,
    pub kind: MessageKind,
    pub text: Option<String>,
    pub photo_file_id: Option<String>,
    pub triage: Option<TriageRecord>,
    pub escalation_id: Option<ReportId>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    client_id: ClientId,
    direction: String,
    telegram_message_id: Option<i64>,
    kind: String,
    text: Option<String>,
    photo_file_id: Option<String>,
    intent: Option<String>,
    category: Option<String>,
    escalation: Option<String>,
    confidence: Option<f32>,
    red_flags: Option<String>,
    escalation_id: Option<ReportId>,
    created_at: i64,
}

impl TryFrom<MessageRow> for StoredMessage {
    type Error = StoreError;

    fn try_from(row: MessageRow) -> Result<Self, StoreError> {
        // A triage is stored whole or not at all; its category column tells which.
        let triage = match row.category {
            None => None,
            Some(category) => Some(TriageRecord {
                intent: row.intent,
                category,
                escalation: row.escalation.ok_or(StoreError::InvalidStoredValue {
                    column: "messages.escalation",
                    detail: "missing while category is set".to_owned(),
                })?,
                confidence: row.confidence.ok_or(StoreError::InvalidStoredValue {
                    column: "messages.confidence",
                    detail: "missing while category is set".to_owned(),
                })?,
                red_flags: match row.red_flags {
                    Some(text) => json("messages.red_flags", &text)?,
                    None => Vec::new(),
                },
            }),
        };
        Ok(StoredMessage {
            id: row.id,
            client_id: row.client_id,
            direction: Direction::from_column("messages.direction", &row.direction)?,
            telegram_message_id: row.telegram_message_id,
            kind: MessageKind::from_column("messages.kind", &row.kind)?,
            text: row.text,
            photo_file_id: row.photo_file_id,
            triage,
            escalation_id: row.escalation_id,
            created_at: instant("messages.created_at", row.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct MessageWithClientRow {
    #[sqlx(flatten)]
    message: MessageRow,
    #[sqlx(flatten)]
    client: JoinedClientRow,
}

impl Db {
    /// Stores a message and returns its id.
    pub async fn record_message(&self, message: &NewMessage) -> Result<i64, StoreError> {
        let ids = self.record_messages(std::slice::from_ref(message)).await?;
        ids.first().copied().ok_or(StoreError::NotFound {
            what: "stored message",
            id: 0,
        })
    }

    /// Stores several messages in one statement (a client's message and the replies to it) and returns their
    /// ids in the order given.
    pub async fn record_messages(&self, messages: &[NewMessage]) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.write().await?;
        let ids = tx.record_messages(messages).await?;
        tx.commit().await?;
        Ok(ids)
    }

    pub async fn message(&self, id: i64) -> Result<Option<StoredMessage>, StoreError> {
        let row: Option<MessageRow> = on_pool!(self, pool => {
            sqlx::query_as("SELECT * FROM messages WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(StoredMessage::try_from).transpose()
    }

    /// Every inbound message of an escalation, oldest first.
    pub async fn escalation_messages(
        &self,
        escalation_id: ReportId,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let rows: Vec<MessageRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT * FROM messages WHERE escalation_id = $1 AND direction = 'in' ORDER BY created_at, id",
            )
            .bind(escalation_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(StoredMessage::try_from).collect()
    }

    /// The client's latest `limit` messages, oldest first (ready to read as a conversation).
    pub async fn client_messages(
        &self,
        client_id: ClientId,
        limit: i64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let rows: Vec<MessageRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT * FROM (
                     SELECT * FROM messages WHERE client_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2
                 ) AS latest
                 ORDER BY created_at, id",
            )
            .bind(client_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(StoredMessage::try_from).collect()
    }

    /// The same as [`Db::client_messages`], under the name the staff "history" command uses.
    pub async fn client_history(
        &self,
        client_id: ClientId,
        limit: i64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.client_messages(client_id, limit).await
    }

    /// Inbound messages the engine could not answer (category `fallback`), newest first, with their client.
    pub async fn unanswered(&self, limit: i64) -> Result<Vec<(StoredMessage, Client)>, StoreError> {
        let rows: Vec<MessageWithClientRow> = on_pool!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT m.*, ",
                joined_client_columns!(),
                " FROM messages m JOIN clients c ON c.id = m.client_id
                  WHERE m.category = $1 AND m.direction = $2
                  ORDER BY m.created_at DESC, m.id DESC
                  LIMIT $3",
            ))
            .bind(FALLBACK_CATEGORY)
            .bind(Direction::In.as_str())
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|row| Ok((row.message.try_into()?, row.client.try_into()?)))
            .collect()
    }
}
