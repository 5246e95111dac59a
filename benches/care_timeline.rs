//! The care timeline at a clinic's scale: 100,000 clients whose day-1 check-in falls due at the same minute (the
//! worst case: every one of them treated the day before), queued (each step recorded once, in transactions of
//! 256) and then delivered through a Telegram that answers at once. Prints the time of each part and the process's
//! peak resident memory (VmHWM).
//!
//! Run: `cargo bench --bench care_timeline` (SQLite in a temporary folder); `-- --postgres` runs it on a fresh
//! PostgreSQL database at 127.0.0.1:5432 instead.

use aftercare::clock::Clock;
use aftercare::configuration::{ClinicSettings, Source};
use aftercare::delivery::{self, Buttons, Messenger, SendError};
use aftercare::engine::Engine;
use aftercare::flows::Service;
use aftercare::store::Db;
use aftercare::timeline;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

const CLIENTS: i64 = 100_000;
const STAFF: i64 = -1_000_000;
/// Rows per INSERT while setting up.
const INSERT_BATCH: i64 = 1_000;

/// Telegram, answering every send at once.
#[derive(Default)]
struct Instant200 {
    next: AtomicI64,
}

impl Messenger for Instant200 {
    async fn send_text(
        &self,
        _: i64,
        _: &str,
        _: &Buttons,
        _: Option<i64>,
    ) -> Result<i64, SendError> {
        Ok(self.next.fetch_add(1, Ordering::Relaxed))
    }
    async fn send_photo(&self, _: i64, _: &str, _: &str, _: Option<i64>) -> Result<i64, SendError> {
        Ok(self.next.fetch_add(1, Ordering::Relaxed))
    }
    async fn send_image(&self, _: i64, _: Vec<u8>, _: &str) -> Result<i64, SendError> {
        Ok(self.next.fetch_add(1, Ordering::Relaxed))
    }
    async fn edit_text(&self, _: i64, _: i64, _: &str, _: &Buttons) -> Result<(), SendError> {
        Ok(())
    }
    async fn remove_buttons(&self, _: i64, _: i64) -> Result<(), SendError> {
        Ok(())
    }
    async fn answer_callback(&self, _: &str, _: Option<&str>) -> Result<(), SendError> {
        Ok(())
    }
}

struct Fixed(DateTime<Utc>);

impl Clock for Fixed {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

fn peak_memory_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn execute(db: &Db, sql: &str) {
    match db {
        Db::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// 100,000 consenting clients, each with one treatment on `treated_on`, recorded a day before `now`.
async fn clients(db: &Db, treated_on: &str, recorded_at: i64) {
    for start in (0..CLIENTS).step_by(INSERT_BATCH as usize) {
        let rows: Vec<String> = (start..start + INSERT_BATCH)
            .map(|i| {
                format!(
                    "({}, {}, 'Client{i}', TRUE, {recorded_at}, 'ready', {recorded_at}, {recorded_at})",
                    10_000_000 + i,
                    10_000_000 + i
                )
            })
            .collect();
        execute(
            db,
            &format!(
                "INSERT INTO clients (telegram_user_id, chat_id, first_name, consent, consent_at, state, \
                 created_at, updated_at) VALUES {}",
                rows.join(", ")
            ),
        )
        .await;
    }
    execute(
        db,
        &format!(
            "INSERT INTO treatments (client_id, treated_on, created_at) \
             SELECT id, '{treated_on}', {recorded_at} FROM clients"
        ),
    )
    .await;
}

async fn run(db: Db, label: &str) {
    let env: HashMap<&str, &str> = [
        ("AFTERCARE_CLINIC_NAME", "Bench Clinic"),
        ("AFTERCARE_CLINIC_PHONE", "0100 000 000"),
        ("AFTERCARE_TIMEZONE", "UTC"),
    ]
    .into_iter()
    .collect();
    let source =
        Source::new(None, move |name| env.get(name).map(|v| v.to_string())).expect("settings");
    let clinic = ClinicSettings::load(&source).expect("clinic");
    let engine = Engine::embedded(&clinic.clinic).expect("intents");
    // Day 1 at 10:00: every client's first check-in is due.
    let now = DateTime::parse_from_rfc3339("2026-03-11T10:00:30Z")
        .expect("time")
        .to_utc();
    let set_up = Instant::now();
    clients(
        &db,
        "2026-03-10",
        (now - Duration::days(1)).timestamp_millis(),
    )
    .await;
    let set_up = set_up.elapsed();
    let service = Service::start(db.clone(), engine, clinic, STAFF);

    let started = Instant::now();
    let queued = timeline::queue_due_steps(&service, now)
        .await
        .expect("queued");
    let queueing = started.elapsed();
    let again = Instant::now();
    let twice = timeline::queue_due_steps(&service, now)
        .await
        .expect("looked again");
    let looking_again = again.elapsed();

    let telegram = Instant200::default();
    let sending = Instant::now();
    let mut delivered = 0;
    loop {
        let n = delivery::deliver_due(&service, &telegram, &Fixed(now), Duration::seconds(30))
            .await
            .expect("delivered");
        if n == 0 {
            break;
        }
        delivered += n;
    }
    let sending = sending.elapsed();
    assert_eq!(queued as i64, CLIENTS);
    assert_eq!(twice, 0);
    println!(
        "{label}: {CLIENTS} clients (set up in {:.1} s); day-1 check-ins queued in {:.2} s ({:.0}/s), a second \
         look {:.2} s (queued {twice}); {delivered} sends delivered in {:.2} s ({:.0}/s); peak memory {} MB",
        set_up.as_secs_f64(),
        queueing.as_secs_f64(),
        queued as f64 / queueing.as_secs_f64(),
        looking_again.as_secs_f64(),
        sending.as_secs_f64(),
        delivered as f64 / sending.as_secs_f64(),
        peak_memory_kb().map_or("?".into(), |kb| format!("{:.0}", kb as f64 / 1024.0)),
    );
}

fn main() {
    let postgres = std::env::args().any(|a| a == "--postgres");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        if postgres {
            let name = format!("aftercare_bench_{}", std::process::id());
            let admin = Db::connect("postgres://postgres@127.0.0.1:5432/postgres")
                .await
                .expect("PostgreSQL at 127.0.0.1:5432");
            execute(&admin, &format!("CREATE DATABASE {name}")).await;
            let db = Db::connect(&format!("postgres://postgres@127.0.0.1:5432/{name}"))
                .await
                .expect("the bench database");
            db.migrate().await.expect("migrations");
            run(db, "PostgreSQL").await;
            execute(&admin, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
        } else {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            let db = Db::connect(&url).await.expect("SQLite");
            db.migrate().await.expect("migrations");
            run(db, "SQLite").await;
        }
    });
}
