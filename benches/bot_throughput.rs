//! End-to-end throughput and latency of `aftercare serve` with SQLite persistence, driven through the fake
//! Telegram Bot API of the tests: from an update being offered to getUpdates to the reply's sendMessage, split
//! into fetch (until a getUpdates answer carries it) and handling (from there to the reply).
//!
//! Run: `cargo bench --bench bot_throughput` (the release binary is started as a subprocess). The fake, the
//! driver and the bot share this machine's cores, so the figures are a floor for the bot alone.
//!
//! `cargo bench --bench bot_throughput -- --memory` instead prints the bot's resident memory (VmRSS) idle and
//! after 10,000 distinct clients sent two messages each: it must not grow with the clients seen.

#[path = "../tests/support/fake_bot_api.rs"]
mod fake_bot_api;

use aftercare::store::Db;
use chrono::{Duration as Days, Utc};
use fake_bot_api::{FakeBotApi, User};
use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Clients in the database; each run sends one message per client it uses.
const CLIENTS: i64 = 6_000;
/// Clients offered all at once, for throughput.
const BURST: usize = 2_000;
/// Each paced run lasts this long, so that p99 at 2,000/s rests on 6,000 updates.
const PACED_SECONDS: usize = 3;
const FIRST_CLIENT: i64 = 100_000;
const STAFF: i64 = -1_009_999;
/// `--memory`: distinct clients, each sending two messages, at this rate.
const MEMORY_CLIENTS: i64 = 10_000;
const MEMORY_RATE: u32 = 1_000;
/// `--memory`: how long the bot is left before its memory is read (start-up done; the last sends recorded).
const SETTLE: Duration = Duration::from_secs(5);

fn questions() -> Vec<String> {
    include_str!("../tests/eval/clients.jsonl")
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|v| v["level"] == "none")
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// One run's figures.
struct Run {
    /// Each update's latency from being offered to its first reply, sorted.
    latencies: Vec<Duration>,
    /// From being offered until a getUpdates answer carried it (the bot's polling), sorted.
    fetch: Vec<Duration>,
    /// From that answer to the first reply (the bot's handling), sorted.
    handling: Vec<Duration>,
    /// From the first push to the last reply.
    elapsed: Duration,
}

/// Pushes one message per client in `clients`, `rate` per second (0: all at once).
async fn run(fake: &FakeBotApi, clients: &[User], texts: &[String], rate: u32) -> Run {
    fake.clear_calls();
    let ids: HashSet<i64> = clients.iter().map(|c| c.id).collect();
    let mut pushed = HashMap::new();
    let start = Instant::now();
    for (i, client) in clients.iter().enumerate() {
        if rate > 0 {
            let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        let at = Instant::now();
        let (update_id, _) = fake.client_text(client, &texts[i % texts.len()]);
        pushed.insert(client.id, (at, update_id));
    }
    // Every client gets at least one reply; some get two (an answer and what happens next).
    let mut first_reply: HashMap<i64, Instant> = HashMap::new();
    let mut wanted = ids.len();
    while first_reply.len() < ids.len() {
        let calls = fake
            .wait_for_count(
                |c| c.is_send() && c.chat_id().is_some_and(|id| ids.contains(&id)),
                wanted,
                Duration::from_secs(60),
            )
            .await;
        for call in &calls {
            if let Some(chat) = call.chat_id() {
                first_reply.entry(chat).or_insert(call.at);
            }
        }
        if calls.len() < wanted {
            break; // timed out: report what arrived
        }
        wanted += ids.len() - first_reply.len();
    }
    let mut fetched: HashMap<i64, Instant> = HashMap::new();
    for call in fake.calls_to("getUpdates") {
        for update in call.response["result"].as_array().into_iter().flatten() {
            if let Some(id) = update["update_id"].as_i64() {
                fetched.entry(id).or_insert(call.answered);
            }
        }
    }
    let mut run = Run {
        latencies: Vec::new(),
        fetch: Vec::new(),
        handling: Vec::new(),
        elapsed: Duration::ZERO,
    };
    let mut last = start;
    for (id, at) in &first_reply {
        let (offered, update_id) = pushed[id];
        run.latencies.push(at.saturating_duration_since(offered));
        if let Some(fetched) = fetched.get(&update_id) {
            run.fetch.push(fetched.saturating_duration_since(offered));
            run.handling.push(at.saturating_duration_since(*fetched));
        }
        last = last.max(*at);
    }
    run.latencies.sort();
    run.fetch.sort();
    run.handling.sort();
    run.elapsed = last.saturating_duration_since(start);
    run
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Resident memory of process `pid`, in MB, as /proc/PID/status tells it.
struct Resident {
    /// `VmRSS`: all of it.
    total: f64,
    /// `VmHWM`: the most it ever was.
    peak: f64,
    /// `RssAnon`: the process's own memory (heap, stacks).
    anonymous: f64,
    /// `RssFile`: pages of files it maps (the binary's code and data), shared and given back under pressure.
    file: f64,
}

fn resident_mb(pid: u32) -> Resident {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(0.0, |kb| kb / 1024.0)
    };
    Resident {
        total: field("VmRSS:"),
        peak: field("VmHWM:"),
        anonymous: field("RssAnon:"),
        file: field("RssFile:"),
    }
}

/// A database at `url` holding `count` clients who have consented and given a treatment date: the steady state.
async fn seed_clients(url: &str, count: i64) -> Vec<User> {
    let db = Db::connect(url).await.expect("database");
    db.migrate().await.expect("migrate");
    let now = Utc::now();
    let clients: Vec<User> = (0..count)
        .map(|i| User::new(FIRST_CLIENT + i, &format!("Client{i}")))
        .collect();
    for user in &clients {
        let client = db
            .upsert_client(user.id, user.id, &user.first_name, None, now)
            .await
            .expect("client");
        db.set_consent(client.id, true, now).await.expect("consent");
        db.add_treatment(client.id, (now - Days::days(2)).date_naive(), now)
            .await
            .expect("date");
        db.set_state(client.id, aftercare::store::State::Ready)
            .await
            .expect("state");
    }
    db.close().await;
    clients
}

/// Starts the release binary's `serve` (or `AFTERCARE_BENCH_BIN`'s, to measure another build) against `fake`, and
/// waits until it polls.
async fn start_bot(fake: &FakeBotApi, url: &str) -> Child {
    let binary = std::env::var("AFTERCARE_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_aftercare").into());
    let bot = Command::new(binary)
        .arg("serve")
        .env("TELOXIDE_TOKEN", fake.token())
        .env("TELOXIDE_API_URL", fake.url())
        .env("DATABASE_URL", url)
        .env("AFTERCARE_STAFF_CHAT", STAFF.to_string())
        .env("AFTERCARE_CLINIC_PHONE", "0100 000 000")
        .env("AFTERCARE_TIMEZONE", "UTC")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the bot");
    fake.wait_for(|c| c.method == "getupdates", Duration::from_secs(30))
        .await
        .expect("the bot polls");
    bot
}

/// `--memory`: the bot's resident memory once `MEMORY_CLIENTS` distinct clients have sent two messages each,
/// paced at `MEMORY_RATE` per second, against its resident memory idle (issue 21: flat in the clients seen).
async fn memory(fake: &FakeBotApi, url: &str, texts: &[String]) {
    let clients = seed_clients(url, MEMORY_CLIENTS).await;
    let mut bot = start_bot(fake, url).await;
    tokio::time::sleep(SETTLE).await;
    let idle = resident_mb(bot.id());
    let mut answered = 0;
    for round in 0..2 {
        // The second message of each client is another question than its first.
        let texts: Vec<String> = texts
            .iter()
            .cycle()
            .skip(round * 7)
            .take(texts.len())
            .cloned()
            .collect();
        answered += run(fake, &clients, &texts, MEMORY_RATE)
            .await
            .latencies
            .len();
    }
    // The load is handled: the last sends recorded, the bot back to waiting.
    tokio::time::sleep(SETTLE).await;
    let after = resident_mb(bot.id());
    println!(
        "serve resident: {:.1} MB idle ({:.1} anonymous, {:.1} file); {:.1} MB after {} clients sent 2 messages \
         each ({:.1} anonymous, {:.1} file; {answered} of {} answered, {MEMORY_RATE}/s); peak {:.1} MB",
        idle.total,
        idle.anonymous,
        idle.file,
        after.total,
        clients.len(),
        after.anonymous,
        after.file,
        clients.len() * 2,
        after.peak,
    );
    let _ = bot.kill();
    let _ = bot.wait();
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("bot_throughput: benchmark");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let fake = FakeBotApi::start().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let texts = questions();
        if std::env::args().any(|a| a == "--memory") {
            memory(&fake, &url, &texts).await;
            return;
        }
        let clients = seed_clients(&url, CLIENTS).await;
        let mut bot = start_bot(&fake, &url).await;
        run(&fake, &clients[..200], &texts, 0).await; // warm-up

        let burst = run(&fake, &clients[..BURST], &texts, 0).await;
        println!(
            "burst: {} updates answered in {:.2} s = {:.0} updates/s (median latency {:.1} ms, p99 {:.1} ms, queueing included)",
            burst.latencies.len(),
            burst.elapsed.as_secs_f64(),
            burst.latencies.len() as f64 / burst.elapsed.as_secs_f64(),
            ms(percentile(&burst.latencies, 0.5)),
            ms(percentile(&burst.latencies, 0.99)),
        );
        for rate in [500, 1_000, 2_000] {
            let paced = run(&fake, &clients[..rate as usize * PACED_SECONDS], &texts, rate).await;
            println!(
                "paced at {rate}/s: {} updates in {:.2} s, median latency {:.1} ms, p99 {:.1} ms, max {:.1} ms \
                 (fetch p50 {:.1} / p99 {:.1} ms, handling p50 {:.1} / p99 {:.1} ms)",
                paced.latencies.len(),
                paced.elapsed.as_secs_f64(),
                ms(percentile(&paced.latencies, 0.5)),
                ms(percentile(&paced.latencies, 0.99)),
                paced.latencies.last().map_or(0.0, |d| ms(*d)),
                ms(percentile(&paced.fetch, 0.5)),
                ms(percentile(&paced.fetch, 0.99)),
                ms(percentile(&paced.handling, 0.5)),
                ms(percentile(&paced.handling, 0.99)),
            );
        }
        let _ = bot.kill();
        let _ = bot.wait();
    });
}
