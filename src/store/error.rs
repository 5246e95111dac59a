//! The one error type of the storage layer.

use super::{ClientId, ReportId};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL scheme {scheme:?}: use sqlite:// (e.g. sqlite://aftercare.db or sqlite::memory:) \
         or postgres:// (e.g. postgres://user@host/aftercare)"
    )]
    UnsupportedUrl { scheme: String },

    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: i64 },

    #[error("unknown escalation level {0:?} (expected none, routine, urgent or emergency)")]
    UnknownLevel(String),

    #[error("client {client_id} already has open escalation {escalation_id}")]
    EscalationAlreadyOpen {
        client_id: ClientId,
        escalation_id: ReportId,
    },

    #[error("an outbox item with dedupe key {0:?} already exists")]
    DuplicateDedupeKey(String),

    /// A value read back from the database is not one this version understands (edited by hand, or written by a
    /// newer version).
    #[error("invalid value in column {column}: {detail}")]
    InvalidStoredValue {
        column: &'static str,
        detail: String,
    },

    #[error("could not encode JSON: {0}")]
    Json(#[from] serde_json::Error),

    /// A statement shared by several callers failed (group commit); the text is the shared error.
    #[error("{0}")]
    Batch(String),

    /// The database did not answer in time: it is away, or too slow to keep a client waiting for.
    #[error("the database did not answer within {0:?}")]
    TimedOut(std::time::Duration),

    /// The message log's writer has stopped (the process is shutting down).
    #[error("the message log is closed")]
    Closed,
}
