//! Fresh, migrated databases for tests, on SQLite and on PostgreSQL.
//!
//! Storage behaviour is specified once, as `async fn name(db: &Db)`, and [`contract_tests!`](crate::contract_tests)
//! runs each such function on both backends:
//!
//! ```ignore
//! mod support;
//! async fn clients_round_trip(db: &Db) { /* … */ }
//! contract_tests!(clients_round_trip);   // → sqlite::clients_round_trip, postgres::clients_round_trip
//! ```
//!
//! PostgreSQL tests create a database `aftercare_t_<random>` through the admin URL in
//! `AFTERCARE_TEST_PG_ADMIN_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and drop it afterwards,
//! also when the test panics. If PostgreSQL is unreachable they fail, saying so: CI provides a server, and a
//! silently skipped half of the suite would hide backend differences.
// Each test binary that includes `support` uses only some of these helpers.
#![allow(dead_code)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use aftercare::store::Db;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

pub const PG_ADMIN_URL_ENV: &str = "AFTERCARE_TEST_PG_ADMIN_URL";

/// How long a test's pool waits for a free connection. A store call on the pool inside an open transaction (which
/// holds SQLite's only connection) then fails in seconds, naming the test, rather than after sqlx's 30 s.
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
const DEFAULT_PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A migrated database that is removed when this value is dropped.
pub struct TestDb {
    pub db: Db,
    /// The URL `Db::connect` accepts for this database, e.g. to start the binary against it.
    pub url: String,
    _storage: Storage,
}

impl TestDb {
    /// The number a `SELECT COUNT(*) …` gives, on either database.
    pub async fn count(&self, sql: &str) -> i64 {
        match &self.db {
            Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

enum Storage {
    /// Removing the directory removes the database file and its WAL files.
    Sqlite(tempfile::TempDir),
    Postgres(TemporaryPgDatabase),
}

/// A new SQLite database file in its own temporary directory.
pub async fn fresh_sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("create a temporary directory for SQLite");
    let url = format!("sqlite://{}", dir.path().join("aftercare.db").display());
    let db = Db::connect_with(&url, Some(ACQUIRE_TIMEOUT))
        .await
        .expect("open a SQLite test database");
    db.migrate()
        .await
        .expect("migrate the SQLite test database");
    TestDb {
        db,
        url,
        _storage: Storage::Sqlite(dir),
    }
}

/// A new PostgreSQL database on the server named by `AFTERCARE_TEST_PG_ADMIN_URL`.
pub async fn fresh_postgres() -> TestDb {
    let admin_url =
        std::env::var(PG_ADMIN_URL_ENV).unwrap_or_else(|_| DEFAULT_PG_ADMIN_URL.to_owned());
    let mut admin = match PgConnection::connect(&admin_url).await {
        Ok(connection) => connection,
        Err(error) => panic!(
            "PostgreSQL is not reachable at {} ({error}).\n\
             The storage tests run on SQLite and PostgreSQL. Start PostgreSQL, e.g.\n    \
             pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
             or set {PG_ADMIN_URL_ENV} to a server where this user may create databases.",
            redact_password(&admin_url)
        ),
    };
    let name = format!("aftercare_t_{}", random_suffix());
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|error| panic!("create test database {name}: {error}"));
    // Close politely; a dropped connection makes the server log an "unexpected EOF".
    let _ = admin.close().await;
    let url = with_database(&admin_url, &name);
    // Created before anything else can fail, so that a failing setup still drops the database.
    let database = TemporaryPgDatabase { admin_url, name };

    let db = Db::connect_with(&url, Some(ACQUIRE_TIMEOUT))
        .await
        .expect("connect to the PostgreSQL test database");
    db.migrate()
        .await
        .expect("migrate the PostgreSQL test database");
    TestDb {
        db,
        url,
        _storage: Storage::Postgres(database),
    }
}

/// A PostgreSQL database that is dropped, with whatever connections it still has, when this value is dropped.
struct TemporaryPgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for TemporaryPgDatabase {
    /// Runs on its own thread and runtime because `Drop` cannot await and may run inside (or while unwinding out
    /// of) a test's runtime. Never panics: a panic while unwinding would abort the whole test binary.
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                // FORCE ends the test's own pool connections, which may still be open.
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                admin.close().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!(
                "warning: could not drop test database {}: {error}",
                self.name
            ),
            Err(_) => eprintln!("warning: dropping test database {} panicked", self.name),
        }
    }
}

/// Runs a storage test on a fresh SQLite database.
pub async fn run_on_sqlite(test: impl AsyncFnOnce(&Db)) {
    let fresh = fresh_sqlite().await;
    test(&fresh.db).await;
}

/// Runs a storage test on a fresh PostgreSQL database, dropped afterwards whatever the outcome.
pub async fn run_on_postgres(test: impl AsyncFnOnce(&Db)) {
    let fresh = fresh_postgres().await;
    test(&fresh.db).await;
}

/// Generates, for each `async fn name(db: &Db)` given, the tests `sqlite::name` and `postgres::name`.
/// Invoke it at the root of the test crate, next to the functions.
#[macro_export]
macro_rules! contract_tests {
    ($($test:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $crate::support::db::run_on_sqlite(super::$test).await;
                }
            )+
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $crate::support::db::run_on_postgres(super::$test).await;
                }
            )+
        }
    };
}

/// A name suffix unlikely to repeat across test threads, processes and machines sharing one server.
fn random_suffix() -> String {
    // RandomState is seeded randomly per process and differs per instance; mixing in time and pid costs nothing.
    let mut hasher = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

/// `admin_url` with its database replaced by `name` (query parameters kept).
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let authority_start = base.find("://").map_or(0, |index| index + 3);
    let server = match base[authority_start..].find('/') {
        Some(path_start) => &base[..authority_start + path_start],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// The URL with any password replaced, fit for a test failure message.
fn redact_password(url: &str) -> String {
    let Some(authority_start) = url.find("://").map(|index| index + 3) else {
        return url.to_owned();
    };
    let rest = &url[authority_start..];
    let Some(at) = rest.find('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{}{user}:***{}", &url[..authority_start], &rest[at..]),
        None => url.to_owned(),
    }
}

/// The one number `sql` selects (a `COUNT(*)`), on whichever database `db` is; fails the test on an error.
pub async fn count(db: &Db, sql: &str) -> i64 {
    let counted = match db {
        Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
    };
    counted.unwrap_or_else(|error| panic!("{sql}: {error}"))
}
