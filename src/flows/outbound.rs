//! What the outbox sends, as one type: each kind with what its row's payload carries. [`Outbound::queue`] writes
//! the row and [`Outbound::read`] reads it back, the only two places that know the payload's fields.

use super::{Button, Buttons};
use crate::store::{ClientId, EscalationStatus, NewOutbox, OutboxKind, Priority, ReportId};
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
    /// A start link's QR code, rendered when it is sent, with `caption` under it.
    QrCode { link: String, caption: String },
    /// The weekly picture's chart (reports per day and level, Monday first), drawn when it is sent, with
    /// `caption` under it.
    WeeklyChart {
        week: chrono::NaiveDate,
        reports_by_day: [[u32; 3]; 7],
        caption: String,
    },
    /// The bot's answer to whoever wrote (one message: a longer answer is queued in parts), with its buttons,
    /// as a reply to their message `reply_to` if given.
    Reply {
        text: String,
        buttons: Buttons,
        reply_to: Option<i64>,
    },
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
            Outbound::Reply { .. } => OutboxKind::Reply,
            Outbound::QrCode { .. } => OutboxKind::QrCode,
            Outbound::WeeklyChart { .. } => OutboxKind::WeeklyChart,
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
            priority: Priority::Routine,
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
            Outbound::QrCode { link, caption } => json!({ "link": link, "caption": caption }),
            Outbound::WeeklyChart {
                week,
                reports_by_day,
                caption,
            } => json!({ "week": week, "reports_by_day": reports_by_day, "caption": caption }),
            Outbound::Reply {
                text,
                buttons,
                reply_to,
            } => {
                // Each button as its label and its callback data, read back by `Button::parse`.
                let rows: Vec<Vec<[String; 2]>> = buttons
                    .iter()
                    .map(|row| {
                        row.iter()
                            .map(|(label, button)| [label.clone(), button.data()])
                            .collect()
                    })
                    .collect();
                json!({ "text": text, "buttons": rows, "reply_to": reply_to })
            }
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
            OutboxKind::QrCode => Outbound::QrCode {
                link: text("link"),
                caption: text("caption"),
            },
            OutboxKind::WeeklyChart => Outbound::WeeklyChart {
                week: serde_json::from_value(payload["week"].clone()).unwrap_or_default(),
                reports_by_day: serde_json::from_value(payload["reports_by_day"].clone())
                    .unwrap_or_default(),
                caption: text("caption"),
            },
            OutboxKind::Reply => Outbound::Reply {
                text: text("text"),
                buttons: payload["buttons"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|row| {
                        row.as_array()
                            .into_iter()
                            .flatten()
                            .map(|button| {
                                let part = |i: usize| button[i].as_str().unwrap_or_default();
                                (part(0).to_string(), Button::parse(part(1)))
                            })
                            .collect()
                    })
                    .collect(),
                reply_to: payload["reply_to"].as_i64(),
            },
        }
    }
}

/// Telegram's limit on a message's text, in UTF-16 code units.
pub const MAX_MESSAGE_UTF16: usize = 4096;

/// Splits a text into messages Telegram accepts: at line ends where possible, inside a line only when the line
/// alone is too long.
pub fn split_message(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for line in text.split_inclusive('\n') {
        let line_len = line.encode_utf16().count();
        if current_len + line_len > MAX_MESSAGE_UTF16 && !current.is_empty() {
            parts.push(std::mem::take(&mut current));
            current_len = 0;
        }
        if line_len <= MAX_MESSAGE_UTF16 {
            current.push_str(line);
            current_len += line_len;
            continue;
        }
        for c in line.chars() {
            if current_len + c.len_utf16() > MAX_MESSAGE_UTF16 {
                parts.push(std::mem::take(&mut current));
                current_len = 0;
            }
            current.push(c);
            current_len += c.len_utf16();
        }
    }
    if !current.is_empty() || parts.is_empty() {
        parts.push(current);
    }
    parts
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
            Outbound::Reply {
                text: "Is that OK?".into(),
                buttons: vec![vec![
                    ("Yes".into(), Button::Consent(true)),
                    ("No".into(), Button::Consent(false)),
                ]],
                reply_to: None,
            },
            Outbound::Reply {
                text: "1 open report".into(),
                buttons: Vec::new(),
                reply_to: Some(77),
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
