//! Storage: one small API over SQLite or PostgreSQL.
//!
//! Every query is written once with `$1, $2 …` placeholders (the same text works on both databases) and run on
//! whichever native pool the URL selected. sqlx's `Any` driver is deliberately not used: it cannot bind chrono
//! types or read several column types we need.
//!
//! Portable conventions: instants are BIGINT Unix epoch milliseconds (so ordering and arithmetic behave the same
//! on both databases; the API takes and returns `DateTime<Utc>` truncated to the millisecond), calendar dates are
//! TEXT `YYYY-MM-DD`, JSON is TEXT.
//!
//! Statements whose text grows with the rows they carry (the group commits, built with `QueryBuilder`) are run
//! with `persistent(false)`: kept prepared, each batch size would be one more cached statement on the
//! connection, megabytes of SQLite's memory after a busy minute.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, Sqlite, Transaction};

/// Runs the same expression on whichever pool `$db` holds. The body is expanded once per backend, so each copy
/// is type-checked against its own driver while the SQL text is written only once.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// Defines a closed set of values stored as TEXT, with its text form and a strict parser for stored values.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$variant_meta:meta])* $variant:ident => $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $( $(#[$variant_meta])* $variant ),+ }

        impl $name {
            /// The text stored in the database.
            pub fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $text ),+ }
            }

            /// Parses the stored text; `None` for anything else.
            pub fn from_text(text: &str) -> Option<Self> {
                match text { $( $text => Some(Self::$variant), )+ _ => None }
            }

            #[allow(dead_code, reason = "not every set is read back from the database")]
            pub(crate) fn from_column(column: &'static str, text: &str) -> Result<Self, $crate::store::StoreError> {
                Self::from_text(text).ok_or_else(|| $crate::store::StoreError::InvalidStoredValue {
                    column,
                    detail: format!("unknown value {text:?}"),
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

mod care;
mod clients;
mod columns;
mod error;
mod escalations;
mod group_commit;
mod ids;
mod inbox;
mod messages;
mod outbox;
mod retention;
mod stats;
mod turn_log;
mod write;

pub use care::{CareTimeline, CheckInAnswer, LinkUse};
pub use clients::{Client, ClientTurn, State};
pub use error::StoreError;
pub use escalations::{
    AlertKind, ESCALATION_LEVELS, Escalation, EscalationStatus, Transition, level_rank,
};
pub use ids::{ClientId, OutboxId, ReportId, TreatmentId, UpdateId};
pub use inbox::{InboxLog, PendingUpdate, ReceivedUpdate};
pub use messages::{Direction, MessageKind, NewMessage, StoredMessage, TriageRecord};
pub use outbox::{NewOutbox, OutboxItem, OutboxKind, OutboxStatus, Priority, SentLog};
pub use retention::Deleted;
pub use stats::{Backlog, CareStats, Period, ReportTimes, Stats};
pub use turn_log::{Turn, TurnCommitted, TurnLog};
pub use write::WriteTx;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// A handle on the database; cheap to clone (the pools are shared).
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// Opens a pool for `url`: `sqlite://path`, `sqlite:path`, `sqlite::memory:`, `postgres://…` or
    /// `postgresql://…`. Any other scheme is refused rather than guessed.
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        Db::connect_with(url, None).await
    }

    /// [`Db::connect`] with a pool that waits at most `acquire_timeout` for a free connection. Tests give a few
    /// seconds: a store call made on the pool while a transaction holds SQLite's only connection then fails
    /// quickly, with the test's name, instead of looking like a hang.
    pub async fn connect_with(
        url: &str,
        acquire_timeout: Option<Duration>,
    ) -> Result<Db, StoreError> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme {
            "sqlite" => connect_sqlite(url, acquire_timeout).await,
            "postgres" | "postgresql" => Ok(Db::Postgres(
                PgPoolOptions::new()
                    .max_connections(10)
                    // When PostgreSQL is away, fail within seconds (not sqlx's 30 s): the client is then answered
                    // from the intents alone, and the update waits in Telegram until the database is back.
                    .acquire_timeout(acquire_timeout.unwrap_or(Duration::from_secs(5)))
                    .connect(url)
                    .await?,
            )),
            _ => Err(StoreError::UnsupportedUrl {
                scheme: scheme.to_owned(),
            }),
        }
    }

    /// Brings the schema up to date with the migrations embedded in the binary.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// `"sqlite"` or `"postgres"`, for logs and diagnostics.
    #[must_use]
    pub fn backend_name(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection; waits for checked-out connections to come back.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

async fn connect_sqlite(url: &str, acquire_timeout: Option<Duration>) -> Result<Db, StoreError> {
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .foreign_keys(true)
        // Without a busy timeout, a writer that meets another writer fails at once with SQLITE_BUSY.
        .busy_timeout(Duration::from_secs(5));
    let options = if in_memory {
        options.journal_mode(SqliteJournalMode::Memory)
    } else {
        // WAL lets readers proceed during a write; NORMAL is durable across application crashes in WAL mode.
        options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // Checkpoints (which fsync) run on a second connection, see `checkpoint_in_background`; this automatic
            // one only bounds the WAL (~40 MB) should that stop.
            .pragma("wal_autocheckpoint", "10000")
    };
    // The working set is a few rows per turn: a 512 KiB page cache instead of 2 MB keeps `serve` small.
    let options = options.pragma("cache_size", "-512");
    let pool_options = if in_memory {
        // An in-memory database lives exactly as long as its connection: keep a single one, forever.
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        // SQLite has one writer at a time. With several connections, writers collide and sleep in SQLite's
        // busy handler (milliseconds each); with one, they queue in the pool and run back to back (measured:
        // benches/bot_throughput.rs).
        SqlitePoolOptions::new().max_connections(1)
    };
    let pool_options = match acquire_timeout {
        Some(timeout) => pool_options.acquire_timeout(timeout),
        None => pool_options,
    };
    let pool = pool_options.connect_with(options.clone()).await?;
    if !in_memory {
        checkpoint_in_background(&pool, options).await;
    }
    Ok(Db::Sqlite(pool))
}

/// Keeps WAL checkpoints, and their fsync, off the conversations' path: a second connection copies the WAL into
/// the database four times a second without blocking the writer. Measured with benches/bot_throughput.rs (four
/// runs each): p99 at 1,000 updates/s ~26 → ~21 ms, at 2,000/s ~56 → ~46 ms, median at 2,000/s ~6 → ~3 ms.
async fn checkpoint_in_background(pool: &SqlitePool, options: SqliteConnectOptions) {
    // The checkpointer runs one statement: it needs neither a page cache nor a statement cache of its own.
    let options = options
        .pragma("cache_size", "-64")
        .statement_cache_capacity(2);
    let Ok(checkpointer) = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
    else {
        tracing::warn!(
            "no background checkpoint connection; SQLite checkpoints automatically instead"
        );
        return;
    };
    let closed = pool.close_event();
    tokio::spawn(async move {
        tokio::pin!(closed);
        loop {
            tokio::select! {
                _ = &mut closed => break,
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&checkpointer)
                .await
            {
                tracing::warn!(error = %e, "background WAL checkpoint failed");
            }
        }
        checkpointer.close().await;
    });
}

/// Starts a transaction that will write.
trait BeginWrite {
    type Database: sqlx::Database;
    async fn begin_write(&self) -> Result<Transaction<'static, Self::Database>, sqlx::Error>;
}

impl BeginWrite for SqlitePool {
    type Database = Sqlite;

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        // A deferred SQLite transaction that reads first and writes later can fail with SQLITE_BUSY without
        // waiting for the busy timeout; taking the write lock up front makes concurrent writers queue instead.
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Database = Postgres;

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin().await
    }
}
