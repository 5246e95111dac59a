//! The real `aftercare serve` binary as a process, against the fake Bot API: starting it (polling or webhook),
//! knowing when it is ready, killing it, and the conversation steps the process-level tests share (onboarding,
//! waiting for messages, checking each chat was answered once).
// Each test binary that includes `support` uses only some of these helpers.
#![allow(dead_code)]

use super::db::TestDb;
use super::fake_bot_api::{Call, FakeBotApi, User};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The staff group's chat id the bot is started with.
pub const STAFF: i64 = -1_001_234_567;
/// How long a step (a reply, a readiness call) may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// A running `aftercare serve`, killed (SIGKILL) when dropped.
pub struct Running(pub Child);

impl Running {
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// SIGTERM, as Docker or systemd would stop it; returns whether it exited by itself in time.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.0.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `aftercare serve` polling, with these settings added to its environment; returns once it polls.
pub async fn start_bot(fake: &FakeBotApi, database_url: &str, extra: &[(&str, &str)]) -> Running {
    start_bot_with(fake, database_url, extra, &[], "getupdates").await
}

/// Starts `aftercare serve ARGS…` and waits until it calls `ready_method` (it polls, or sets its webhook).
pub async fn start_bot_with(
    fake: &FakeBotApi,
    database_url: &str,
    extra: &[(&str, &str)],
    args: &[&str],
    ready_method: &str,
) -> Running {
    let calls_before = ready_count(fake, ready_method);
    let child = bot_command(fake, database_url, extra, args)
        .spawn()
        .expect("the aftercare binary starts");
    let running = Running(child);
    wait_until_ready(fake, ready_method, calls_before).await;
    running
}

/// `aftercare serve ARGS…` set up for the fake and a test clinic; its log goes to the test's stderr.
pub fn bot_command(
    fake: &FakeBotApi,
    database_url: &str,
    extra: &[(&str, &str)],
    args: &[&str],
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aftercare"));
    command
        .arg("serve")
        .args(args)
        .env_remove("AFTERCARE_CONFIG")
        .env_remove("AFTERCARE_INTENTS")
        .env("TELOXIDE_TOKEN", fake.token())
        .env("TELOXIDE_API_URL", fake.url())
        .env("DATABASE_URL", database_url)
        .env("AFTERCARE_STAFF_CHAT", STAFF.to_string())
        .env("AFTERCARE_CLINIC_NAME", "Test Clinic")
        .env("AFTERCARE_CLINIC_PHONE", "0100 000 000")
        .env("AFTERCARE_EMERGENCY_NUMBER", "112")
        .env("AFTERCARE_OPENING_HOURS", "Mon-Sun 00:00-23:59")
        .env("AFTERCARE_TIMEZONE", "UTC")
        // Many bots run at once here: the operator's endpoints only where a test asks for them (on a free port).
        .env("AFTERCARE_HTTP_LISTEN", "off")
        // The staff chat's first message is what a test makes happen, not last week's picture.
        .env("AFTERCARE_WEEKLY_REPORT", "off")
        // The care timeline looks once at start (no client yet), then an hour later: a test that happens to run
        // across 10:00 on the real clock gets no day-3 check-in in the middle of what it counts. The tests of the
        // timeline set their own clock and look more often.
        .env("AFTERCARE_CARE_LOOK_SECONDS", "3600")
        .env("RUST_LOG", "warn,aftercare=info")
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    command
}

/// Calls to `ready_method` so far: a long poll counts as soon as it is made (it is answered only after its
/// timeout when nothing is waiting), any other call once it is answered.
pub fn ready_count(fake: &FakeBotApi, ready_method: &str) -> usize {
    if ready_method == "getupdates" {
        fake.asked(ready_method)
    } else {
        fake.calls_to(ready_method).len()
    }
}

/// Waits until the bot has called `ready_method` more than `calls_before` times.
pub async fn wait_until_ready(fake: &FakeBotApi, ready_method: &str, calls_before: usize) {
    let ready = if ready_method == "getupdates" {
        fake.wait_asked(ready_method, calls_before + 1, WAIT).await
    } else {
        fake.wait_for_count(|c| c.method == ready_method, calls_before + 1, WAIT)
            .await
            .len()
            > calls_before
    };
    assert!(ready, "the bot never called {ready_method}");
}

/// A port free on 127.0.0.1 just now, for a webhook to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Telegram's side of webhook mode: each update the fake holds is posted, with the secret token, to the next of
/// the bots' webhooks in turn.
pub struct Webhooks {
    fake: FakeBotApi,
    urls: Vec<String>,
    secret: String,
    next: AtomicUsize,
    http: reqwest::Client,
}

impl Webhooks {
    pub fn new(fake: &FakeBotApi, urls: Vec<String>, secret: &str) -> Self {
        Webhooks {
            fake: fake.clone(),
            urls,
            secret: secret.to_string(),
            next: AtomicUsize::new(0),
            http: reqwest::Client::new(),
        }
    }

    /// Posts the update to the next webhook, as Telegram would, and checks it was accepted (stored).
    pub async fn deliver(&self, update_id: i64) {
        let update = self.fake.update_json(update_id).expect("update json");
        let url = &self.urls[self.next.fetch_add(1, Ordering::SeqCst) % self.urls.len()];
        let answer = self
            .http
            .post(url)
            .header("X-Telegram-Bot-Api-Secret-Token", &self.secret)
            .json(&update)
            .send()
            .await
            .expect("the webhook answers");
        assert!(
            answer.status().is_success(),
            "{url} refused update {update_id}: {}",
            answer.status()
        );
    }
}

pub fn nurse() -> User {
    User::new(900, "Ann").with_username("nurse_ann")
}

pub fn client() -> User {
    User::new(1001, "Jane").with_username("jane")
}

/// The `n` messages sent to `chat` after the first `after` ones.
pub async fn messages_to(fake: &FakeBotApi, chat: i64, after: usize, n: usize) -> Vec<Call> {
    let calls = fake
        .wait_for_count(|c| c.is_send_to(chat), after + n, WAIT)
        .await;
    assert!(
        calls.len() >= after + n,
        "expected {n} new message(s) to {chat}, got: {:#?}",
        calls
            .iter()
            .skip(after)
            .map(|c| c.text().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    );
    calls[after..after + n].to_vec()
}

pub fn sent_count(fake: &FakeBotApi, chat: i64) -> usize {
    fake.messages_to(chat).len()
}

/// /start, consent by button, the treatment date typed as "3 days ago"; the bot receives them by polling.
pub async fn onboard(fake: &FakeBotApi, user: &User) {
    onboard_via(fake, user, async |_| {}).await;
}

/// The same, each update handed to the bot by `deliver` (e.g. [`Webhooks::deliver`]) once the fake holds it.
pub async fn onboard_via(fake: &FakeBotApi, user: &User, deliver: impl AsyncFn(i64)) {
    let before = sent_count(fake, user.id);
    deliver(fake.client_text(user, "/start").0).await;
    let welcome = &messages_to(fake, user.id, before, 1).await[0];
    super::assert_is_the_welcome(welcome.text().unwrap_or_default(), &welcome.callback_data());
    let welcome_id = welcome.response_message_id.expect("message id");

    deliver(fake.callback(user, user.id, welcome_id, "v1:consent:yes")).await;
    let asked = messages_to(fake, user.id, before + 1, 2).await;
    assert!(
        asked[1]
            .text()
            .unwrap_or_default()
            .contains("When was your treatment")
    );
    assert!(
        asked[1]
            .callback_data()
            .contains(&"v1:treated:today".to_string())
    );

    deliver(fake.client_text(user, "3 days ago").0).await;
    let saved = &messages_to(fake, user.id, before + 3, 1).await[0];
    assert!(
        saved.text().unwrap_or_default().contains("day 3 today"),
        "{:?}",
        saved.text()
    );
}

/// Waits until each chat has its `n` new messages (after the first `before`), then checks that no more follow:
/// each answered once.
pub async fn answered_once(fake: &FakeBotApi, chats: &[(i64, usize, usize)]) {
    for (chat, before, n) in chats {
        messages_to(fake, *chat, *before, *n).await;
    }
    // Anything sent twice would follow within moments.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (chat, before, n) in chats {
        assert_eq!(
            sent_count(fake, *chat),
            before + n,
            "chat {chat} answered once"
        );
    }
}

/// The sends in the outbox not sent: pending, or given up.
pub async fn not_sent(db: &TestDb) -> i64 {
    db.count("SELECT COUNT(*) FROM outbox WHERE status <> 'sent'")
        .await
}

/// Waits until nothing is pending in the outbox.
pub async fn outbox_drained(db: &TestDb) {
    let deadline = tokio::time::Instant::now() + WAIT * 2;
    while db.db.pending_outbox_count().await.expect("outbox") > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "sends still pending in the outbox"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
