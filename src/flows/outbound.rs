//! What the outbox sends, as one type: each kind with what its row's payload carries. [`Outbound::queue`] writes
//! the row and [`Outbound::read`] reads it back, the only two places that know the payload's fields.

use crate::store::{ClientId, EscalationStatus, NewOutbox, OutboxKind, ReportId};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// A send the outbox worker makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// A new report's alert in the staff chat, rendered from the report when it is sent.
    Alert,
    /// The alert again, as a reply to it, for a report nobody has acknowledged in time.
    Reminder,
    /// A client's later message (stored as `message_id`) about an open report, under its alert.
    Followup { message_id: i64 },
    /// A client's photo about a report, under its alert.
    Photo {
        file_id: String,
        caption: Option<String>,
        message_id: i64,
    },
    /// The alert edited to show the report's status. The status is recorded for the reader of the outbox; the
    /// alert is rendered from the report as it is when the edit is sent.
    AlertUpdate { status: Option<EscalationStatus> },
    /// A text to the client: a notice, or a staff member's words.
    Client { text: String },
}

impl Outbound {
    pub fn kind(&self) -> OutboxKind {
        match self {
            Outbound::Alert => OutboxKind::Alert,
            Outbound::Reminder => OutboxKind::Reminder,
            Outbound::Followup { .. } => OutboxKind::Followup,
            Outbound::Photo { .. } => OutboxKind::Photo,
            Outbound::AlertUpdate { .. } => OutboxKind::AlertUpdate,
            Outbound::Client { .. } => OutboxKind::Client,
        }
    }

    /// The outbox row that sends this to `chat_id`. Queuing twice with one `dedupe_key` queues once.
    pub fn queue(
        &self,
        chat_id: i64,
        report: Option<ReportId>,
        client: Option<ClientId>,
        dedupe_key: String,
        at: DateTime<Utc>,
    ) -> NewOutbox {
        NewOutbox {
            kind: self.kind(),
            chat_id,
            escalation_id: report,
            client_id: client,
            payload: self.payload(),
            dedupe_key: Some(dedupe_key),
            at,
        }
    }

    fn payload(&self) -> Value {
        match self {
            Outbound::Alert | Outbound::Reminder => json!({}),
            Outbound::Followup { message_id } => json!({ "message_id": message_id }),
            Outbound::Photo {
                file_id,
                caption,
                message_id,
            } => json!({ "file_id": file_id, "caption": caption, "message_id": message_id }),
            Outbound::AlertUpdate { status } => {
                json!({ "status": status.map(EscalationStatus::as_str) })
            }
            Outbound::Client { text } => json!({ "text": text }),
        }
    }

    /// Reads a queued row back. A field that is missing or of the wrong type reads as empty (an empty text,
    /// message 0, no status), as the worker always read it: what cannot be sent then fails at the send.
    pub fn read(kind: OutboxKind, payload: &Value) -> Outbound {
        let text = |field: &str| payload[field].as_str().unwrap_or_default().to_string();
        let message_id = payload["message_id"].as_i64().unwrap_or_default();
        match kind {
            OutboxKind::Alert => Outbound::Alert,
            OutboxKind::Reminder => Outbound::Reminder,
            OutboxKind::Followup => Outbound::Followup { message_id },
            OutboxKind::Photo => Outbound::Photo {
                file_id: text("file_id"),
                caption: payload["caption"].as_str().map(str::to_string),
                message_id,
            },
            OutboxKind::AlertUpdate => Outbound::AlertUpdate {
                status: payload["status"]
                    .as_str()
                    .and_then(EscalationStatus::from_text),
            },
            OutboxKind::Client => Outbound::Client { text: text("text") },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_outbound() -> Vec<Outbound> {
        vec![
            Outbound::Alert,
            Outbound::Reminder,
            Outbound::Followup { message_id: 12 },
            Outbound::Photo {
                file_id: "AgAD".into(),
                caption: Some("my cheek".into()),
                message_id: 13,
            },
            Outbound::Photo {
                file_id: "AgAE".into(),
                caption: None,
                message_id: 14,
            },
            Outbound::AlertUpdate {
                status: Some(EscalationStatus::Resolved),
            },
            Outbound::Client {
                text: "A nurse has seen your report.".into(),
            },
        ]
    }

    #[test]
    fn every_outbound_reads_back_as_itself() {
        for outbound in every_outbound() {
            let row = outbound.queue(
                5,
                Some(ReportId(9)),
                Some(ClientId(1)),
                "key".into(),
                Utc::now(),
            );
            assert_eq!(row.kind, outbound.kind());
            assert_eq!(Outbound::read(row.kind, &row.payload), outbound);
        }
    }

    #[test]
    fn payloads_keep_the_fields_rows_already_queued_have() {
        let payload = |outbound: Outbound| outbound.payload();
        assert_eq!(payload(Outbound::Alert), json!({}));
        assert_eq!(
            payload(Outbound::Followup { message_id: 3 }),
            json!({ "message_id": 3 })
        );
        assert_eq!(
            payload(Outbound::Photo {
                file_id: "f".into(),
                caption: None,
                message_id: 3
            }),
            json!({ "file_id": "f", "caption": null, "message_id": 3 })
        );
        assert_eq!(
            payload(Outbound::AlertUpdate {
                status: Some(EscalationStatus::Acknowledged)
            }),
            json!({ "status": "acknowledged" })
        );
        assert_eq!(
            payload(Outbound::Client { text: "hi".into() }),
            json!({ "text": "hi" })
        );
    }

    #[test]
    fn a_garbled_payload_reads_as_empty_fields() {
        let garbled = json!({ "text": 5, "message_id": "x", "status": "lost" });
        assert_eq!(
            Outbound::read(OutboxKind::Client, &garbled),
            Outbound::Client {
                text: String::new()
            }
        );
        assert_eq!(
            Outbound::read(OutboxKind::Followup, &garbled),
            Outbound::Followup { message_id: 0 }
        );
        assert_eq!(
            Outbound::read(OutboxKind::AlertUpdate, &garbled),
            Outbound::AlertUpdate { status: None }
        );
        assert_eq!(
            Outbound::read(OutboxKind::Photo, &Value::Null),
            Outbound::Photo {
                file_id: String::new(),
                caption: None,
                message_id: 0
            }
        );
    }
}
