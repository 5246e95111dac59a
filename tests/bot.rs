//! End to end: the real `aftercare serve` binary against a fake Telegram Bot API (tests/support), with a fresh
//! database per test: what needs the real process (polling and its batches, webhooks, SIGTERM, kills and
//! restarts, Telegram's 429 and 5xx on the wire, staff membership asked of Telegram, a closed log pipe, the
//! database going away). The conversations themselves are tested in the test process, in tests/flows.rs.

mod support;

use aftercare::store::Direction;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::db::{TestDb, fresh_postgres, fresh_sqlite};
use support::fake_bot_api::{Call, Failure, FakeBotApi, User};
use support::process::{
    Running, STAFF, WAIT, answered_once, bot_command, client, free_port, messages_to, not_sent,
    nurse, onboard, outbox_drained, sent_count, start_bot, start_bot_with, wait_until_ready,
};

/// How long any one test here may take. They run the real binary; one that hangs fails with its name instead of
/// holding up the suite.
const DEADLINE: Duration = Duration::from_secs(180);

/// Runs a test's body with the [`DEADLINE`].
async fn within(body: impl std::future::Future<Output = ()>) {
    support::deadline::within(DEADLINE, body).await;
}

/// The usual start of a test: the fake Bot API, a fresh SQLite database, the bot running on it (with these
/// settings added to its environment), and Jane onboarded (consent given, treated 3 days ago).
async fn scene(settings: &[(&str, &str)]) -> (FakeBotApi, TestDb, Running, User) {
    let fake = FakeBotApi::start().await;
    let db = sqlite().await;
    let bot = start_bot(&fake, &db.url, settings).await;
    let jane = client();
    onboard(&fake, &jane).await;
    (fake, db, bot, jane)
}

/// The client stored for `user`; fails the test if there is none.
async fn stored_client(db: &TestDb, user: &User) -> aftercare::store::Client {
    db.db
        .client_by_telegram_id(user.id)
        .await
        .expect("query")
        .expect("client stored")
}

async fn sqlite() -> TestDb {
    fresh_sqlite().await
}

/// Messages a client sends in quick succession arrive in one getUpdates batch; they are handled one after
/// another, in the order they were sent (other chats are not held up by them: benches/bot_throughput.rs).
#[tokio::test]
async fn one_clients_messages_are_handled_in_the_order_sent() {
    within(async {
        let (fake, db, _bot, jane) = scene(&[]).await;
        let before = sent_count(&fake, jane.id);
        let questions = [
            "can i wear makeup tmrw?",
            "when can i go to the gym",
            "is it ok to drink alcohol tonight",
            "can i use retinol",
            "when can i wash my face",
            "can i go swimming",
        ];
        for question in questions {
            fake.client_text(&jane, question);
        }
        messages_to(&fake, jane.id, before, questions.len()).await;

        let client = stored_client(&db, &jane).await;
        let mut history = db.db.client_history(client.id, 50).await.expect("history");
        history.sort_by_key(|m| m.id);
        let received: Vec<String> = history
            .iter()
            .filter(|m| m.direction == Direction::In)
            .filter_map(|m| m.text.clone())
            .filter(|text| questions.contains(&text.as_str()))
            .collect();
        assert_eq!(received, questions);
    })
    .await;
}

/// Groups other than the staff chat are not the bot's business (the adapter drops them before the flows).
#[tokio::test]
async fn other_groups_are_ignored() {
    within(async {
        let (fake, _db, _bot, jane) = scene(&[]).await;
        fake.group_text(-5555, &jane, "hello group, i have pus");
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(sent_count(&fake, -5555), 0);
        assert_eq!(sent_count(&fake, STAFF), 0);
    })
    .await;
}

/// The reminder loop runs in the served bot, on its settings (the reminders themselves, and that they stop once
/// a nurse acknowledges, are in tests/flows.rs on the scene's clock).
#[tokio::test]
async fn the_served_bot_sends_reminders_on_its_own() {
    within(async {
        // 0.03 minutes: a reminder every ~2 s.
        let (fake, _db, _bot, jane) = scene(&[("AFTERCARE_REMINDER_MINUTES", "0.03")]).await;
        fake.client_text(&jane, "i have a fever and pus on my cheek");
        let alert = &messages_to(&fake, STAFF, 0, 1).await[0];
        let reminder = &messages_to(&fake, STAFF, 1, 1).await[0];
        assert!(
            reminder.text().unwrap_or_default().contains("REMINDER"),
            "{:?}",
            reminder.text()
        );
        assert_eq!(reminder.reply_to(), alert.response_message_id);
    })
    .await;
}

#[tokio::test]
async fn killed_before_the_alert_is_delivered_the_alert_arrives_once_after_restart() {
    within(async {
        let settings = [("AFTERCARE_OUTBOX_LEASE_SECONDS", "2")];
        let (fake, db, mut bot, jane) = scene(&settings).await;
        // The staff chat is unreachable: Telegram answers 502 (teloxide waits 10 s before reporting it).
        fake.fail_next_to("sendmessage", STAFF, Failure::Status(502), 1);
        let before = sent_count(&fake, jane.id);
        fake.client_text(&jane, "theres pus coming out of my cheek");
        messages_to(&fake, jane.id, before, 2).await;
        fake.wait_for(
            |c| c.method == "sendmessage" && c.failed && c.chat_id() == Some(STAFF),
            WAIT,
        )
        .await
        .expect("the alert was attempted");
        bot.kill();
        assert_eq!(
            sent_count(&fake, STAFF),
            0,
            "nothing delivered before the crash"
        );

        let _bot = start_bot(&fake, &db.url, &settings).await;
        let alerts = messages_to(&fake, STAFF, 0, 1).await;
        assert!(alerts[0].text().unwrap_or_default().contains("pus"));
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(sent_count(&fake, STAFF), 1, "delivered exactly once");
    })
    .await;
}

#[tokio::test]
async fn telegram_429_and_5xx_are_retried() {
    within(async {
        let (fake, _db, _bot, jane) = scene(&[]).await;
        // Flood control on the client's answer and on the alert; then a server error on the alert's next try.
        fake.fail_next_to("sendmessage", jane.id, Failure::RetryAfter(1), 1);
        fake.fail_next_to("sendmessage", STAFF, Failure::RetryAfter(1), 1);
        fake.fail_next_to("sendmessage", STAFF, Failure::Status(502), 1);
        let before = sent_count(&fake, jane.id);
        fake.client_text(&jane, "high temperature and chills since last night");
        let answers = messages_to(&fake, jane.id, before, 2).await;
        assert!(answers[1].text().unwrap_or_default().contains("as urgent"));
        let alert = fake
            .wait_for(|c| c.is_send_to(STAFF), Duration::from_secs(40))
            .await
            .expect("the alert arrives after a 429 and a 502");
        assert!(alert.text().unwrap_or_default().contains("URGENT"));
        let failed: Vec<Call> = fake
            .calls_to("sendmessage")
            .into_iter()
            .filter(|c| c.failed)
            .collect();
        assert_eq!(failed.len(), 3, "each scripted failure was met once");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(sent_count(&fake, STAFF), 1, "one alert");
    })
    .await;
}

/// Clients other than Jane (`Client1` …), onboarded side by side.
async fn onboarded_clients(fake: &FakeBotApi, n: i64) -> Vec<User> {
    let clients: Vec<User> = (1..=n)
        .map(|i| User::new(3000 + i, &format!("Client{i}")))
        .collect();
    futures::future::join_all(clients.iter().map(|client| onboard(fake, client))).await;
    clients
}

/// Telegram answers 500 to every call but getUpdates for 3 s while ten clients write, the last one (Jane) about
/// an emergency (teloxide waits 10 s on each 5xx before reporting it; the same over 20 s, a second at a time, is
/// in tests/flows.rs on the scene's clock). Afterwards every client has their answer, once, and the emergency's
/// sends are the first out.
#[tokio::test]
async fn telegram_answering_500_for_a_while_loses_no_answer_and_sends_the_emergency_first() {
    within(async {
        let (fake, db, _bot, jane) = scene(&[]).await;
        let others = onboarded_clients(&fake, 9).await;
        let mut chats: Vec<(i64, usize, usize)> = others
            .iter()
            .map(|client| (client.id, sent_count(&fake, client.id), 1))
            .collect();
        chats.push((jane.id, sent_count(&fake, jane.id), 2));
        chats.push((STAFF, 0, 1));
        let calls_before = fake.calls().len();
        fake.fail_for(Failure::Status(500), Duration::from_secs(3));
        for client in &others {
            fake.client_text(client, "can i wear makeup tmrw?");
        }
        fake.client_text(&jane, "my throat is closing and I can't breathe");
        answered_once(&fake, &chats).await;

        let calls = fake.calls().split_off(calls_before);
        let failed = calls
            .iter()
            .filter(|c| c.method == "sendmessage" && c.failed);
        assert!(failed.count() > 0, "the answers met the fault");
        let sent: Vec<Option<i64>> = calls
            .iter()
            .filter(|c| c.is_send())
            .map(Call::chat_id)
            .collect();
        let emergency = [Some(jane.id), Some(STAFF)];
        assert!(
            sent[..3].iter().all(|chat| emergency.contains(chat)),
            "Jane's two answers and the alert go before any other: {sent:?}"
        );
        assert_eq!(not_sent(&db).await, 0, "nothing pending, nothing given up");
    })
    .await;
}

/// Telegram's other failures on the wire, one per chat: a JSON 503 and 504 (teloxide waits 10 s on each 5xx before
/// reporting it), a 429 without `retry_after` in its parameters, and a connection closed with a reset and no
/// answer. Each send is tried again and arrives once; nothing is given up.
#[tokio::test]
async fn telegram_503_504_429_without_retry_after_and_resets_are_retried_and_delivered_once() {
    within(async {
        let (fake, db, _bot, jane) = scene(&[]).await;
        let others = onboarded_clients(&fake, 2).await;
        let (ann, bob) = (&others[0], &others[1]);
        let chats = [
            (jane.id, sent_count(&fake, jane.id), 2),
            (STAFF, 0, 1),
            (ann.id, sent_count(&fake, ann.id), 1),
            (bob.id, sent_count(&fake, bob.id), 1),
        ];
        fake.fail_next_to("sendmessage", jane.id, Failure::Status(503), 1);
        fake.fail_next_to("sendmessage", STAFF, Failure::Status(504), 1);
        let bare_429 = Failure::Api(429, "Too Many Requests".into());
        fake.fail_next_to("sendmessage", ann.id, bare_429, 1);
        fake.fail_next_to("sendmessage", bob.id, Failure::Reset, 1);
        fake.client_text(&jane, "high temperature and chills since last night");
        fake.client_text(ann, "can i wear makeup tmrw?");
        fake.client_text(bob, "can i wear makeup tmrw?");
        answered_once(&fake, &chats).await;

        let mut failed: Vec<i64> = fake
            .calls_to("sendmessage")
            .iter()
            .filter(|c| c.failed)
            .filter_map(Call::chat_id)
            .collect();
        failed.sort_unstable();
        let mut expected = vec![STAFF, jane.id, ann.id, bob.id];
        expected.sort_unstable();
        assert_eq!(failed, expected, "each failure was met once");
        assert_eq!(not_sent(&db).await, 0, "nothing pending, nothing given up");
    })
    .await;
}

#[tokio::test]
async fn non_members_cannot_use_staff_buttons_or_commands() {
    within(async {
        let (fake, db, _bot, jane) = scene(&[]).await;
        fake.add_chat_member(STAFF, nurse().id);
        let before = sent_count(&fake, jane.id);
        fake.client_text(&jane, "i've got blisters on my lip");
        messages_to(&fake, jane.id, before, 2).await; // the answer and what happens next
        let alert = &messages_to(&fake, STAFF, 0, 1).await[0];
        let ack = alert
            .callback_data()
            .into_iter()
            .find(|b| b.starts_with("v1:ack:"))
            .expect("ack");
        let stranger = User::new(666, "Mallory");
        fake.callback(
            &stranger,
            STAFF,
            alert.response_message_id.expect("id"),
            &ack,
        );
        let refused = fake
            .wait_for(
                |c| c.method == "answercallbackquery" && c.text().is_some(),
                WAIT,
            )
            .await
            .expect("the press is answered");
        assert!(
            refused
                .text()
                .unwrap_or_default()
                .contains("Only clinic staff"),
            "{refused:?}"
        );
        fake.staff_text(STAFF, &stranger, "/open");
        let reply = &messages_to(&fake, STAFF, 1, 1).await[0];
        assert!(reply.text().unwrap_or_default().contains("staff chat only"));
        // A client trying the staff command in private, and a forged button: refused, nothing changes.
        let before = sent_count(&fake, jane.id);
        fake.client_text(&jane, "/open");
        assert!(
            messages_to(&fake, jane.id, before, 1).await[0]
                .text()
                .unwrap_or_default()
                .contains("clinic staff only")
        );
        fake.callback(&jane, jane.id, 1, &ack);
        tokio::time::sleep(Duration::from_millis(800)).await;
        let client = stored_client(&db, &jane).await;
        let open = db
            .db
            .open_escalation_for_client(client.id)
            .await
            .expect("query")
            .expect("still open");
        assert!(open.acknowledged_at.is_none());
        // A member's /open lists it.
        fake.staff_text(STAFF, &nurse(), "/open");
        let listed = fake
            .wait_for(
                |c| c.is_send_to(STAFF) && c.text().is_some_and(|t| t.contains("open report")),
                WAIT,
            )
            .await
            .expect("/open answers");
        assert!(
            listed
                .text()
                .unwrap_or_default()
                .contains("NOT acknowledged")
        );
    })
    .await;
}

#[tokio::test]
async fn an_update_delivered_again_after_a_restart_is_handled_once() {
    within(async {
        let (fake, db, mut bot, jane) = scene(&[]).await;
        // Hold back the poll that would confirm the next update, so that a restart receives it again.
        fake.fail_next("getupdates", Failure::Delay(Duration::from_secs(8)), 1);
        let before = sent_count(&fake, jane.id);
        fake.client_text(&jane, "how long should i avoid the gym");
        messages_to(&fake, jane.id, before, 1).await;
        bot.kill();
        let _bot = start_bot(&fake, &db.url, &[]).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(sent_count(&fake, jane.id), before + 1, "answered once");
    })
    .await;
}

#[tokio::test]
async fn a_failing_handler_apologises_and_the_bot_keeps_going() {
    within(async {
        let (fake, db, _bot, jane) = scene(&[]).await;
        // Break storage under the running bot: the next report cannot be stored (questions still can).
        if let aftercare::store::Db::Sqlite(pool) = &db.db {
            sqlx::query(
                "CREATE TRIGGER refuse_reports BEFORE INSERT ON escalations BEGIN SELECT RAISE(ABORT, 'broken'); END",
            )
            .execute(pool)
            .await
            .expect("trigger");
        }
        let before = sent_count(&fake, jane.id);
        fake.client_text(&jane, "pus on my chin");
        let apology = &messages_to(&fake, jane.id, before, 1).await[0];
        let text = apology.text().unwrap_or_default();
        assert!(
            text.contains("Sorry") && text.contains("0100 000 000"),
            "{text}"
        );
        fake.client_text(&jane, "/help");
        let help = &messages_to(&fake, jane.id, before + 1, 1).await[0];
        assert!(help.text().unwrap_or_default().contains("/forget"));
    })
    .await;
}

/// Without `AFTERCARE_WEBHOOK_SECRET` a secret is made for the start: a webhook that took any caller would let
/// anyone who finds its URL post updates as a client or as staff.
#[tokio::test]
async fn webhook_mode_without_a_configured_secret_makes_one_and_refuses_calls_without_it() {
    within(async {
        let fake = FakeBotApi::start().await;
        let db = sqlite().await;
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}/telegram");
        let listen = format!("127.0.0.1:{port}");
        let env = [("AFTERCARE_WEBHOOK_LISTEN", listen.as_str())];
        let _bot =
            start_bot_with(&fake, &db.url, &env, &["--webhook-url", &url], "setwebhook").await;
        let registered = &fake.calls_to("setwebhook")[0];
        let secret = registered
            .str_field("secret_token")
            .expect("a secret token is registered")
            .to_string();
        assert!(
            secret.len() == 64 && secret.chars().all(|c| c.is_ascii_hexdigit()),
            "{secret}"
        );
        let jane = client();
        let (update_id, _) = fake.client_text(&jane, "/start");
        let update = fake.update_json(update_id).expect("update json");
        let http = reqwest::Client::new();
        let unsigned = http
            .post(&url)
            .json(&update)
            .send()
            .await
            .expect("webhook answers");
        assert_eq!(unsigned.status().as_u16(), 401);
        let signed = http
            .post(&url)
            .header("X-Telegram-Bot-Api-Secret-Token", &secret)
            .json(&update)
            .send()
            .await
            .expect("webhook answers");
        assert!(signed.status().is_success());
    })
    .await;
}

#[tokio::test]
async fn webhook_mode_checks_telegrams_secret_token() {
    within(async {
        let fake = FakeBotApi::start().await;
        let db = sqlite().await;
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}/telegram");
        let listen = format!("127.0.0.1:{port}");
        let env = [
            ("AFTERCARE_WEBHOOK_LISTEN", listen.as_str()),
            ("AFTERCARE_WEBHOOK_SECRET", "s3cret-token"),
            // The operator's endpoints share the webhook's server.
            ("AFTERCARE_HTTP_LISTEN", listen.as_str()),
        ];
        let _bot =
            start_bot_with(&fake, &db.url, &env, &["--webhook-url", &url], "setwebhook").await;
        let registered = &fake.calls_to("setwebhook")[0];
        assert_eq!(registered.str_field("url"), Some(url.as_str()));
        assert_eq!(registered.str_field("secret_token"), Some("s3cret-token"));

        let jane = client();
        let (update_id, _) = fake.client_text(&jane, "/start");
        let update = fake.update_json(update_id).expect("update json");
        let http = reqwest::Client::new();
        let forged = http
            .post(&url)
            .header("X-Telegram-Bot-Api-Secret-Token", "wrong")
            .json(&update)
            .send()
            .await
            .expect("webhook answers");
        assert_eq!(
            forged.status().as_u16(),
            401,
            "a call without Telegram's secret is refused"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(sent_count(&fake, jane.id), 0);

        let genuine = http
            .post(&url)
            .header("X-Telegram-Bot-Api-Secret-Token", "s3cret-token")
            .json(&update)
            .send()
            .await
            .expect("webhook answers");
        assert!(genuine.status().is_success());
        let welcome = &messages_to(&fake, jane.id, 0, 1).await[0];
        assert!(welcome.text().unwrap_or_default().contains("Is that OK?"));
        let health = http
            .get(format!("http://{listen}/healthz"))
            .send()
            .await
            .expect("health answers beside the webhook");
        assert_eq!(health.status().as_u16(), 200);
        let metrics = http
            .get(format!("http://{listen}/metrics"))
            .send()
            .await
            .expect("metrics answer beside the webhook")
            .text()
            .await
            .expect("metrics");
        assert!(
            metrics.contains("aftercare_updates_received_total{kind=\"message\"} 1"),
            "{metrics}"
        );
    })
    .await;
}

#[tokio::test]
async fn sigterm_stops_the_bot_cleanly() {
    within(async {
        let fake = FakeBotApi::start().await;
        let db = sqlite().await;
        let mut bot = start_bot(&fake, &db.url, &[]).await;
        assert!(bot.terminate(), "exits within 10 s of SIGTERM");
        assert_eq!(
            bot.0.try_wait().ok().flatten().and_then(|s| s.code()),
            Some(0)
        );
    })
    .await;
}

#[test]
fn a_missing_setting_stops_start_up_with_one_line_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .arg("serve")
        .env_clear()
        .env("TELOXIDE_TOKEN", "1:abc")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("AFTERCARE_STAFF_CHAT"), "{stderr}");
}

/// Whoever reads the bot's log may go away (a log shipper crashing, a closed terminal): the bot keeps answering
/// and still stops cleanly.
#[tokio::test]
async fn the_bot_keeps_going_when_its_log_cannot_be_written() {
    within(async {
        let fake = FakeBotApi::start().await;
        let db = sqlite().await;
        let mut child = bot_command(&fake, &db.url, &[], &[])
            .stderr(Stdio::piped())
            .spawn()
            .expect("the aftercare binary starts");
        drop(child.stderr.take()); // every log line now fails to write
        wait_until_ready(&fake, "getupdates", 0).await;
        let mut bot = Running(child);
        let jane = client();
        onboard(&fake, &jane).await; // the onboarding logs at info level
        let before = sent_count(&fake, jane.id);
        fake.client_text(&jane, "there is pus on my chin"); // and so does an escalation
        messages_to(&fake, jane.id, before, 2).await;
        messages_to(&fake, STAFF, 0, 1).await;
        assert!(bot.terminate(), "SIGTERM stops it");
        assert!(
            bot.0
                .try_wait()
                .expect("status")
                .is_some_and(|s| s.success()),
            "it exits cleanly, not by a panic"
        );
    })
    .await;
}

/// Texts of everything sent to the staff chat so far.
fn staff_texts(fake: &FakeBotApi) -> String {
    fake.messages_to(STAFF)
        .iter()
        .filter_map(|c| c.text().map(str::to_string))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn inbound_texts(db: &TestDb) -> Vec<String> {
    const SQL: &str = "SELECT text FROM messages WHERE direction = 'in' AND text IS NOT NULL";
    match &db.db {
        aftercare::store::Db::Sqlite(pool) => sqlx::query_scalar(SQL).fetch_all(pool).await,
        aftercare::store::Db::Postgres(pool) => sqlx::query_scalar(SQL).fetch_all(pool).await,
    }
    .expect("messages")
}

/// Kills per database in the chaos tests: `AFTERCARE_CHAOS_KILLS` (10 by default; the long form in the README
/// runs 100).
fn chaos_kills() -> usize {
    match std::env::var("AFTERCARE_CHAOS_KILLS") {
        Ok(kills) => kills
            .parse()
            .unwrap_or_else(|_| panic!("AFTERCARE_CHAOS_KILLS={kills:?} is not a number")),
        Err(_) => 10,
    }
}

/// A chaos test's deadline grows with its kills: a hang still fails with the test's name.
fn chaos_deadline(kills: usize) -> Duration {
    Duration::from_secs(60) + Duration::from_secs(12) * u32::try_from(kills).unwrap_or(u32::MAX)
}

#[tokio::test]
async fn killed_at_any_moment_the_bot_loses_no_report_and_no_message_on_sqlite() {
    let kills = chaos_kills();
    support::deadline::within(chaos_deadline(kills), async {
        killed_at_any_moment(&sqlite().await, kills).await;
    })
    .await;
}

#[tokio::test]
async fn killed_at_any_moment_the_bot_loses_no_report_and_no_message_on_postgres() {
    let kills = chaos_kills();
    support::deadline::within(chaos_deadline(kills), async {
        killed_at_any_moment(&fresh_postgres().await, kills).await;
    })
    .await;
}

/// The moment of each kill, from a fixed sequence (so a failure can be replayed): `None` at the instant
/// Telegram is told a burst arrived (stored, hardly any of it handled), or so many milliseconds after the burst
/// was sent (stored and partly handled, answers on their way).
fn kill_moments(kills: usize) -> Vec<Option<u64>> {
    let mut seed: u64 = 0x5eed_2026_1204;
    (0..kills)
        .map(|_| {
            // xorshift64
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 2 == 1).then_some(5 + (seed >> 8) % 86)
        })
        .collect()
}

/// The messages of one chaos round from one client: the report, then three questions, each on its own topic
/// (so that each has its own answer), all tagged `round`x`client` to be found again.
fn chaos_round(round: usize, client: usize) -> [String; 4] {
    [
        format!("theres yellow pus coming out of my cheek ref{round}x{client}"),
        format!("can i wear makeup tomorrow ask{round}x{client}x0"),
        format!("when can i go to the gym ask{round}x{client}x1"),
        format!("can i go swimming ask{round}x{client}x2"),
    ]
}

/// Waits (up to [`WAIT`]) until every update stored is handled.
async fn inbox_handled(db: &TestDb) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !db.db.pending_updates(1).await.expect("inbox").is_empty()
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the sends let through before the hold are answered, and the bot has recorded every send Telegram
/// took, as the outbox's sent rows. A send Telegram took and the bot had not recorded goes again after the kill
/// (what the README says is not guaranteed), so the kill waits for the records: on a loaded machine (a CI run,
/// every test of this file at once) they may take longer than a second. Says so if they never catch up,
/// so that a repeat counted after such a kill is known for what it is.
async fn sends_recorded(fake: &FakeBotApi, db: &TestDb) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let in_flight = fake.sends_in_flight();
        let recorded = db
            .count("SELECT COUNT(*) FROM outbox WHERE status = 'sent'")
            .await;
        let taken = i64::try_from(fake.sent_messages().len()).unwrap_or(i64::MAX);
        if in_flight == 0 && recorded >= taken {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            eprintln!(
                "killed before the records caught up: {in_flight} sends in flight, {recorded} recorded of {taken} taken"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Words of the answers the messages of a [`chaos_round`] get, in order: the report's answer, then that it was
/// passed on (a client's first report) or added to the report open since; each question's answer alone (it stays
/// in the report's history, staff are not told).
fn chaos_answers(round: usize) -> [&'static str; 5] {
    [
        "Pus, yellow crusts",
        if round == 0 {
            "passed your message to the clinic team"
        } else {
            "added this to your earlier report"
        },
        "makeup",
        "exercise",
        "swim again",
    ]
}

/// SIGKILL `kills` times, each at a moment from [`kill_moments`], while four clients send bursts of a report and
/// three questions. Afterwards nothing is lost and nothing is repeated: every message is stored once, each
/// client's first report reaches staff as its alert and each later report under it, once, every client gets the
/// answers to each of their messages once and in order, and nothing is left in the inbox or the outbox.
async fn killed_at_any_moment(db: &TestDb, kills: usize) {
    let started = std::time::Instant::now();
    let fake = FakeBotApi::start().await;
    // A send in flight at a kill goes again once its lease has passed; short, so the run catches up quickly.
    let settings = [("AFTERCARE_OUTBOX_LEASE_SECONDS", "1")];
    let mut bot = start_bot(&fake, &db.url, &settings).await;
    let clients: Vec<User> = (0..4)
        .map(|i| User::new(2000 + i, &format!("Client{i}")))
        .collect();
    futures::future::join_all(clients.iter().map(|client| onboard(&fake, client))).await;
    let onboarded: Vec<usize> = clients.iter().map(|c| sent_count(&fake, c.id)).collect();
    let mut sent: Vec<String> = Vec::new();
    let moments = kill_moments(kills);
    for (round, moment) in moments.iter().enumerate() {
        // What the last run left is handled first, so that each kill meets a burst of its own.
        inbox_handled(db).await;
        let mut last = 0;
        for (c, client) in clients.iter().enumerate() {
            for message in chaos_round(round, c) {
                last = fake.client_text(client, &message).0;
                sent.push(message);
            }
        }
        match moment {
            None => assert!(
                fake.wait_delivered(last, WAIT).await,
                "the burst was fetched"
            ),
            Some(ms) => tokio::time::sleep(Duration::from_millis(*ms)).await,
        }
        // Telegram takes no send while the bot dies (see `FakeBotApi::hold_sends`); what it took before is
        // recorded by then.
        fake.hold_sends();
        sends_recorded(&fake, db).await;
        bot.kill();
        fake.release_sends();
        bot = start_bot(&fake, &db.url, &settings).await;
    }
    let tag = |message: &str| message.rsplit(' ').next().unwrap_or_default().to_string();
    let is_report = |message: &String| tag(message).starts_with("ref");
    // Every report reached staff, once the last run has caught up.
    let deadline = tokio::time::Instant::now() + WAIT * 3;
    loop {
        let staff = staff_texts(&fake);
        let missing = sent
            .iter()
            .filter(|m| is_report(m) && !staff.contains(&tag(m)))
            .count();
        if missing == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{missing} reports never reached staff"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The last report at staff is not the end of the burst: the questions sent after it may still be waiting
    // their turn (on a loaded machine, seconds), so the inbox is given time to empty before it is checked.
    inbox_handled(db).await;
    assert!(
        db.db.pending_updates(10).await.expect("inbox").is_empty(),
        "nothing left unhandled"
    );
    // Every answer and alert queued went out: nothing pending, nothing given up.
    outbox_drained(db).await;
    // Anything sent twice would follow within moments.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(not_sent(db).await, 0, "nothing given up");
    assert_eq!(db.db.updates_set_aside().await.expect("inbox"), 0);

    // Stored once each.
    let stored = inbound_texts(db).await;
    let times =
        |texts: &[String], needle: &str| texts.iter().filter(|t| t.contains(needle)).count();
    let lost: Vec<&String> = sent
        .iter()
        .filter(|m| times(&stored, &tag(m)) == 0)
        .collect();
    let stored_twice: Vec<&String> = sent
        .iter()
        .filter(|m| times(&stored, &tag(m)) > 1)
        .collect();
    // At staff once each: each client's first report as its alert, every later report under it as a follow-up;
    // the questions only in the report's history (an alert may show them, no follow-up does).
    let staff: Vec<String> = fake
        .messages_to(STAFF)
        .iter()
        .filter_map(|c| c.text().map(str::to_string))
        .collect();
    let (alerts, follow_ups): (Vec<String>, Vec<String>) = staff
        .iter()
        .cloned()
        .partition(|t| t.contains("— report #"));
    let first_reports: Vec<String> = (0..clients.len()).map(|c| format!("ref0x{c}")).collect();
    let at_staff_wrongly: Vec<&String> = sent
        .iter()
        .filter(|m| {
            let tag = tag(m);
            if first_reports.contains(&tag) {
                times(&alerts, &tag) != 1
            } else {
                times(&follow_ups, &tag) != usize::from(is_report(m))
            }
        })
        .collect();
    assert_eq!(
        alerts.len(),
        clients.len(),
        "one alert per client: {alerts:#?}"
    );
    // Answered once each, in order: after onboarding, each message's answers (see `chaos_answers`).
    let mut answered_wrong = Vec::new();
    let mut answers = 0;
    for (c, client) in clients.iter().enumerate() {
        let texts: Vec<String> = fake.messages_to(client.id)[onboarded[c]..]
            .iter()
            .map(|call| call.text().unwrap_or_default().to_string())
            .collect();
        answers += texts.len();
        let expected: Vec<&str> = (0..kills).flat_map(chaos_answers).collect();
        let first_wrong =
            (0..texts.len().max(expected.len())).find(|&i| match (texts.get(i), expected.get(i)) {
                (Some(text), Some(words)) => !text.contains(words),
                _ => true,
            });
        if let Some(i) = first_wrong {
            answered_wrong.push(format!(
                "{}: {} answers for {} expected, the first wrong is #{i} (answer {} of round {}): {:?}",
                client.first_name,
                texts.len(),
                expected.len(),
                i % 5,
                i / 5,
                texts.get(i)
            ));
        }
    }
    eprintln!(
        "{} kills on {}: {} messages, {answers} answers to clients, {} messages at staff; lost {}, stored twice {}, \
         not at staff as expected {}, clients answered wrongly {}; {:.0?}",
        kills,
        db.db.backend_name(),
        sent.len(),
        staff.len(),
        lost.len(),
        stored_twice.len(),
        at_staff_wrongly.len(),
        answered_wrong.len(),
        started.elapsed()
    );
    assert!(lost.is_empty(), "messages never stored: {lost:?}");
    // Each update's effects are committed with its inbox mark, so handling it again after a kill stores nothing.
    assert!(
        stored_twice.is_empty(),
        "messages stored twice: {stored_twice:?}"
    );
    assert!(
        at_staff_wrongly.is_empty(),
        "not at staff as expected: {at_staff_wrongly:?}"
    );
    assert!(answered_wrong.is_empty(), "{}", answered_wrong.join("\n"));
}

#[tokio::test]
async fn while_the_database_is_away_clients_get_the_answer_and_the_phone_number_and_nothing_is_lost()
 {
    within(async {
    let (fake, db, _bot, jane) = scene(&[]).await;
    let aftercare::store::Db::Sqlite(pool) = &db.db else {
        panic!("SQLite expected");
    };
    // Every write fails, as on a full or read-only disk: the inbox cannot take the update.
    sqlx::query(
        "CREATE TRIGGER refuse_inbox BEFORE INSERT ON inbox BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    )
    .execute(pool)
    .await
    .expect("trigger");
    let before = sent_count(&fake, jane.id);
    let (report, _) = fake.client_text(&jane, "there is pus coming out of my cheek ref-away");
    let answers = messages_to(&fake, jane.id, before, 2).await;
    let curated = answers[0].text().unwrap_or_default();
    let fail_safe = answers[1].text().unwrap_or_default();
    assert!(!curated.is_empty());
    assert!(
        fail_safe.contains("couldn't pass this on") && fail_safe.contains("0100 000 000"),
        "{fail_safe}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!fake.delivered(report + 1), "no later update was asked for");
    assert_eq!(
        sent_count(&fake, jane.id),
        before + 2,
        "answered once, although Telegram sends it again"
    );
    assert!(!staff_texts(&fake).contains("ref-away"));

    // The database is back: the report is handled and reaches staff, without a restart.
    sqlx::query("DROP TRIGGER refuse_inbox")
        .execute(pool)
        .await
        .expect("drop trigger");
    let deadline = tokio::time::Instant::now() + WAIT * 2;
    while !staff_texts(&fake).contains("ref-away") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the report never reached staff"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    })
    .await;
}

/// How long PostgreSQL stays away in the database-away test: `AFTERCARE_DB_AWAY_SECONDS` (6 by default; the
/// long form in the README stops it for 45).
fn database_away() -> Duration {
    match std::env::var("AFTERCARE_DB_AWAY_SECONDS") {
        Ok(seconds) => {
            Duration::from_secs(seconds.parse().unwrap_or_else(|_| {
                panic!("AFTERCARE_DB_AWAY_SECONDS={seconds:?} is not a number")
            }))
        }
        Err(_) => Duration::from_secs(6),
    }
}

/// PostgreSQL stopped while clients write (a proxy in front of it cuts every connection and refuses new ones):
/// each client gets the curated answer within two seconds (for a report, with the clinic's number to call),
/// whether their message arrived before or during the outage, and once the server is back every report reaches
/// staff, once.
#[tokio::test]
async fn postgres_stopped_every_client_is_answered_within_two_seconds_and_every_report_reaches_staff_once()
 {
    let away = database_away();
    support::deadline::within(DEADLINE + away, async {
        let fake = FakeBotApi::start().await;
        let db = fresh_postgres().await;
        let proxy = support::db_proxy::DbProxy::start(&db.url).await;
        let _bot = start_bot(&fake, &proxy.url(&db.url), &[]).await;
        let clients: Vec<User> = (0..8)
            .map(|i| User::new(3000 + i, &format!("Client{i}")))
            .collect();
        for client in &clients {
            onboard(&fake, client).await;
        }
        proxy.stop();
        let stopped = std::time::Instant::now();
        // The clients' messages spread over the outage, the first as it begins.
        let between = (away / clients.len() as u32).max(Duration::from_millis(700));
        let mut reports = Vec::new();
        for (i, client) in clients.iter().enumerate() {
            let before = sent_count(&fake, client.id);
            let sent = std::time::Instant::now();
            let text = if i % 2 == 0 {
                let reference = format!("away{i}");
                reports.push(reference.clone());
                format!("there is yellow pus coming out of my cheek {reference}")
            } else {
                format!("can i wear makeup tomorrow q{i}")
            };
            fake.client_text(client, &text);
            let answer = &messages_to(&fake, client.id, before, 1).await[0];
            let waited = answer.answered.duration_since(sent);
            assert!(
                waited <= Duration::from_secs(2),
                "client {i} waited {waited:?} for an answer"
            );
            if i % 2 == 0 {
                let said: String = messages_to(&fake, client.id, before, 2)
                    .await
                    .iter()
                    .map(|c| c.text().unwrap_or_default().to_string())
                    .collect();
                assert!(said.contains("0100 000 000"), "{said}");
            }
            // Clients keep writing while the server is away.
            tokio::time::sleep_until((sent + between).into()).await;
        }
        tokio::time::sleep_until((stopped + away).into()).await;
        assert!(
            reports
                .iter()
                .all(|r| !staff_texts(&fake).contains(r.as_str())),
            "nothing reached staff while the database was away"
        );

        proxy.resume();
        let deadline = tokio::time::Instant::now() + WAIT * 2;
        loop {
            let staff = staff_texts(&fake);
            if reports.iter().all(|r| staff.contains(r.as_str())) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "reports that never reached staff: {staff}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let staff = staff_texts(&fake);
        for reference in &reports {
            assert_eq!(
                staff.matches(reference.as_str()).count(),
                1,
                "{reference} alerted once: {staff}"
            );
        }
    })
    .await;
}

/// The care timeline in the real process: a clinic's start link onboards a client with the treatment date set,
/// and the day-1 check-in arrives when the bot's clock reaches 10:00 (the clock is started just before it).
#[tokio::test]
async fn a_start_link_onboards_a_client_with_the_date_set_and_the_day_1_check_in_arrives() {
    use aftercare::timeline::start_link::{LinkId, LinkSecret, StartLink};
    within(async {
        let fake = FakeBotApi::start().await;
        let db = sqlite().await;
        let secret = "an-end-to-end-test-secret";
        // Day 1 of a treatment on the 10th, eight seconds before the day-1 check-in at 10:00.
        let _bot = start_bot(
            &fake,
            &db.url,
            &[
                ("AFTERCARE_LINK_SECRET", secret),
                ("AFTERCARE_TIMEZONE", "UTC"),
                ("AFTERCARE_CLOCK_START", "2026-03-11T09:59:52Z"),
                ("AFTERCARE_CARE_LOOK_SECONDS", "1"),
            ],
        )
        .await;
        let link = StartLink {
            id: LinkId::random().expect("random"),
            treated_on: "2026-03-10".parse().expect("date"),
            expires_at: "2026-03-20T00:00:00Z".parse().expect("time"),
        };
        let token = link.token(&LinkSecret::new(secret)).expect("token");
        let jane = client();
        fake.client_text(&jane, &format!("/start {token}"));
        let welcome = &messages_to(&fake, jane.id, 0, 1).await[0];
        let welcome_id = welcome.response_message_id.expect("message id");
        fake.callback(&jane, jane.id, welcome_id, "v1:consent:yes");
        let saved = &messages_to(&fake, jane.id, 1, 1).await[0];
        assert!(
            saved.text().unwrap_or_default().contains("day 1 today"),
            "{:?}",
            saved.text()
        );
        let check_in = &messages_to(&fake, jane.id, 2, 1).await[0];
        assert!(
            check_in
                .text()
                .unwrap_or_default()
                .contains("the day after your treatment"),
            "{:?}",
            check_in.text()
        );
        assert_eq!(
            check_in.callback_data(),
            ["v1:care:fine", "v1:care:worried", "v1:care:stop"]
        );
        let client = stored_client(&db, &jane).await;
        assert_eq!(
            db.db.current_treatment(client.id).await.expect("query"),
            Some("2026-03-10".parse().expect("date"))
        );
    })
    .await;
}

/// `/link` in the staff chat through the real process: the link in words, then its QR code uploaded as an image.
#[tokio::test]
async fn staff_get_a_start_link_and_its_qr_code_as_an_image() {
    within(async {
        let fake = FakeBotApi::start().await;
        let db = sqlite().await;
        let _bot = start_bot(
            &fake,
            &db.url,
            &[("AFTERCARE_LINK_SECRET", "an-end-to-end-test-secret")],
        )
        .await;
        fake.add_chat_member(STAFF, nurse().id);
        fake.staff_text(STAFF, &nurse(), "/link yesterday");
        let sent = messages_to(&fake, STAFF, 0, 2).await;
        let words = sent[0].text().unwrap_or_default().to_string();
        assert!(words.contains("https://t.me/"), "{words}");
        assert_eq!(sent[1].method, "sendphoto", "{:#?}", sent[1]);
        let caption = sent[1].str_field("caption").unwrap_or_default();
        assert!(
            caption.starts_with("https://t.me/") && words.contains(caption),
            "{caption} / {words}"
        );
    })
    .await;
}

/// The operator's endpoints, as Prometheus and a health check would call them: after a client onboards, reports
/// pus and a nurse acknowledges, the counters have moved, and nothing in them names the client or quotes them.
#[tokio::test]
async fn metrics_and_health_are_served_and_the_counters_move_after_a_flow() {
    within(async {
        let address = format!("127.0.0.1:{}", free_port());
        let (fake, _db, _bot, jane) = scene(&[("AFTERCARE_HTTP_LISTEN", address.as_str())]).await;
        let http = reqwest::Client::new();
        let get = |path: &str| {
            let request = http.get(format!("http://{address}{path}")).send();
            async move {
                let response = request.await.expect("the endpoint answers");
                let status = response.status().as_u16();
                (status, response.text().await.expect("a body"))
            }
        };
        assert_eq!(get("/healthz").await, (200, "ok\n".to_string()));
        let (status, ready) = get("/readyz").await;
        assert_eq!(status, 200, "{ready}");
        assert!(
            ready.contains("ok database") && ready.contains("ok telegram"),
            "{ready}"
        );

        fake.add_chat_member(STAFF, nurse().id);
        let before = sent_count(&fake, jane.id);
        fake.client_text(&jane, "there is yellow pus on my chin metricsref");
        messages_to(&fake, jane.id, before, 2).await;
        let alert = &messages_to(&fake, STAFF, 0, 1).await[0];
        let ack = alert
            .callback_data()
            .into_iter()
            .find(|b| b.starts_with("v1:ack:"))
            .expect("ack");
        fake.callback(
            &nurse(),
            STAFF,
            alert.response_message_id.expect("id"),
            &ack,
        );
        fake.wait_for(|c| c.method == "editmessagetext", WAIT)
            .await
            .expect("the alert shows it was acknowledged");

        let (status, metrics) = get("/metrics").await;
        assert_eq!(status, 200);
        let value = |series: &str| -> f64 {
            metrics
                .lines()
                .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
                .unwrap_or_else(|| panic!("{series} is not in:\n{metrics}"))
        };
        // /start, "3 days ago" and the report; the consent button and the nurse's press.
        assert!(value("aftercare_updates_received_total{kind=\"message\"}") >= 3.0);
        assert!(value("aftercare_updates_received_total{kind=\"button_press\"}") >= 2.0);
        assert!(value("aftercare_sends_total{kind=\"reply\"}") >= 5.0);
        assert_eq!(value("aftercare_sends_total{kind=\"alert\"}"), 1.0);
        assert_eq!(
            value("aftercare_reports_opened_total{level=\"urgent\"}"),
            1.0
        );
        assert_eq!(
            value("aftercare_report_acknowledge_seconds_count{level=\"urgent\"}"),
            1.0
        );
        assert_eq!(value("aftercare_reports_unacknowledged"), 0.0);
        assert!(value("aftercare_decide_seconds_count") >= 5.0);
        assert!(value("aftercare_intents_loaded") > 50.0);
        assert!(metrics.contains("aftercare_intents_version{version=\""));
        assert!(value("aftercare_telegram_last_answer_timestamp") > 0.0);
        // No words of hers, no name, and no label holding her Telegram id (the figures themselves may hold its
        // digits: a timestamp, a sum).
        let id_label = format!("\"{}\"", jane.id);
        for private in ["metricsref", "pus", "Jane", "jane", id_label.as_str()] {
            assert!(!metrics.contains(private), "{private:?} in the metrics");
        }
    })
    .await;
}

/// A second bot on the same machine with the endpoints' port taken: it stops and says which setting to change,
/// instead of starting half-way.
#[tokio::test]
async fn a_port_in_use_for_the_endpoints_stops_start_up_naming_the_setting() {
    within(async {
        let fake = FakeBotApi::start().await;
        let db = sqlite().await;
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let address = taken.local_addr().expect("address").to_string();
        let mut command = bot_command(&fake, &db.url, &[("AFTERCARE_HTTP_LISTEN", &address)], &[]);
        let out = tokio::task::spawn_blocking(move || command.stderr(Stdio::piped()).output())
            .await
            .expect("joined")
            .expect("runs");
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("AFTERCARE_HTTP_LISTEN") && stderr.contains(&address),
            "{stderr}"
        );
    })
    .await;
}

/// The clinic edits its intents while the bot runs: a saved change is in use within seconds, a broken one
/// keeps the old content running and is posted to staff once (a SIGHUP with the same mistake posts nothing
/// again), and SIGHUP after the fix puts it in use.
#[tokio::test]
async fn changed_intents_are_used_without_a_restart_and_a_broken_change_keeps_the_old() {
    within(async {
        let intents = tempfile::tempdir().expect("temp dir");
        let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/intents");
        for entry in std::fs::read_dir(shipped).expect("intents") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, intents.path().join(path.file_name().expect("name")))
                    .expect("copy");
            }
        }
        let folder = intents.path().display().to_string();
        let address = format!("127.0.0.1:{}", free_port());
        let (fake, _db, bot, jane) = scene(&[
            ("AFTERCARE_INTENTS", folder.as_str()),
            ("AFTERCARE_HTTP_LISTEN", address.as_str()),
        ])
        .await;
        let http = reqwest::Client::new();
        let version = || {
            let request = http.get(format!("http://{address}/readyz")).send();
            async move {
                let body = request.await.expect("readyz").text().await.expect("body");
                body.split("version ")
                    .nth(1)
                    .map(|v| v.trim().to_string())
                    .unwrap_or_else(|| panic!("no version in {body}"))
            }
        };
        let ask = async |question: &str| {
            let before = sent_count(&fake, jane.id);
            fake.client_text(&jane, question);
            let answer = &messages_to(&fake, jane.id, before, 1).await[0];
            answer.text().unwrap_or_default().to_string()
        };
        let wait_for_version_other_than = async |old: &str| {
            let deadline = tokio::time::Instant::now() + WAIT;
            loop {
                let now = version().await;
                if now != old {
                    return now;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the content was never reloaded"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        let makeup = intents.path().join("makeup.toml");
        let original = std::fs::read_to_string(&makeup).expect("makeup.toml");
        let first = version().await;
        assert!(!ask("can i wear makeup tomorrow").await.contains("Reloaded"));

        // A saved change: in use without a restart.
        let changed = original.replace(
            "you can go back to makeup",
            "Reloaded: you can go back to makeup",
        );
        assert_ne!(changed, original);
        std::fs::write(&makeup, &changed).expect("write");
        let second = wait_for_version_other_than(&first).await;
        assert!(
            ask("can i wear makeup tomorrow again")
                .await
                .contains("Reloaded")
        );

        // A broken change: the content in use stays, and staff are told once, with the file and line.
        std::fs::write(&makeup, changed.replace("[answer]", "[answer")).expect("write");
        let told = fake
            .wait_for(
                |c| {
                    c.chat_id() == Some(STAFF) && c.text().is_some_and(|t| t.contains("not loaded"))
                },
                WAIT,
            )
            .await
            .expect("staff are told");
        assert!(
            told.text().unwrap_or_default().contains("makeup.toml:"),
            "{told:?}"
        );
        assert!(ask("is makeup ok now").await.contains("Reloaded"));
        assert_eq!(version().await, second);
        let _ = Command::new("kill")
            .args(["-HUP", &bot.0.id().to_string()])
            .status();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let refusals = |fake: &FakeBotApi| {
            fake.messages_to(STAFF)
                .iter()
                .filter(|c| c.text().is_some_and(|t| t.contains("not loaded")))
                .count()
        };
        assert_eq!(refusals(&fake), 1, "the same mistake is posted once");
        assert_eq!(version().await, second, "still the content that passed");

        // Fixed and signalled: the original content is back in use.
        std::fs::write(&makeup, &original).expect("write");
        let _ = Command::new("kill")
            .args(["-HUP", &bot.0.id().to_string()])
            .status();
        assert_eq!(wait_for_version_other_than(&second).await, first);
        assert!(!ask("makeup tomorrow?").await.contains("Reloaded"));
    })
    .await;
}
