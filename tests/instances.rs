//! Several instances on one PostgreSQL database: two `aftercare serve` processes in webhook mode, each with its
//! own webhook, share one database and one (fake) Telegram. Updates reach them alternately, as a load balancer
//! would spread Telegram's calls; every answer, alert and reminder must still go out once.

mod support;

use std::time::Duration;
use support::db::fresh_postgres;
use support::fake_bot_api::{Call, FakeBotApi, User};
use support::process::{
    Running, STAFF, WAIT, Webhooks, answered_once, free_port, messages_to, not_sent, nurse,
    onboard_via, outbox_drained, sent_count, start_bot_with,
};

/// How long the test may take: it runs two real binaries and waits out three reminder rounds.
const DEADLINE: Duration = Duration::from_secs(180);
const SECRET: &str = "s3cret-token";
/// A reminder 3 s after an unacknowledged alert (0.05 minutes).
const REMINDER_MINUTES: &str = "0.05";
const CLIENTS: i64 = 6;

/// `n` instances in webhook mode on one database, each listening on its own port; and Telegram's side of it,
/// posting updates to them in turn.
async fn instances(fake: &FakeBotApi, database_url: &str, n: usize) -> (Vec<Running>, Webhooks) {
    let mut running = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..n {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}/telegram");
        let listen = format!("127.0.0.1:{port}");
        let settings = [
            ("AFTERCARE_WEBHOOK_LISTEN", listen.as_str()),
            ("AFTERCARE_WEBHOOK_SECRET", SECRET),
            ("AFTERCARE_REMINDER_MINUTES", REMINDER_MINUTES),
        ];
        let args = ["--webhook-url", url.as_str()];
        running.push(start_bot_with(fake, database_url, &settings, &args, "setwebhook").await);
        urls.push(url);
    }
    (running, Webhooks::new(fake, urls, SECRET))
}

/// The staff messages whose text contains `needle`.
fn staff_messages_with(fake: &FakeBotApi, needle: &str) -> Vec<String> {
    fake.messages_to(STAFF)
        .iter()
        .filter_map(|c| c.text())
        .filter(|text| text.contains(needle))
        .map(str::to_string)
        .collect()
}

/// Onboarding, a burst of questions from every client, two urgent reports, a nurse's button press and reply,
/// and an alert nobody acknowledges for three reminder rounds, each update posted to the other instance than the
/// last: every client's answers arrive once, each alert once, each reminder round once, and nothing is left in
/// the outbox.
#[tokio::test]
async fn two_instances_on_one_postgres_database_send_every_answer_alert_and_reminder_once() {
    support::deadline::within(DEADLINE, async {
        let fake = FakeBotApi::start().await;
        fake.add_chat_member(STAFF, nurse().id);
        let db = fresh_postgres().await;
        let (_instances, webhooks) = instances(&fake, &db.url, 2).await;
        let deliver = async |update_id| webhooks.deliver(update_id).await;

        let clients: Vec<User> = (1..=CLIENTS)
            .map(|i| User::new(5000 + i, &format!("Client{i}")))
            .collect();
        futures::future::join_all(clients.iter().map(|c| onboard_via(&fake, c, deliver))).await;

        // Questions from everyone at once, each client's spread over both instances.
        let questions = [
            "can i wear makeup tmrw?",
            "when can i go to the gym",
            "can i go swimming",
        ];
        let mut chats: Vec<(i64, usize, usize)> = clients
            .iter()
            .map(|c| (c.id, sent_count(&fake, c.id), questions.len()))
            .collect();
        for question in questions {
            for client in &clients {
                deliver(fake.client_text(client, question).0).await;
            }
        }
        answered_once(&fake, &chats).await;

        // Two urgent reports, on different instances.
        let (ann, bob) = (&clients[0], &clients[1]);
        for (client, at) in [(ann, 0), (bob, 1)] {
            chats[at].1 = sent_count(&fake, client.id);
            chats[at].2 = 2; // the answer and what happens next
            let report = format!(
                "there is yellow pus coming out of my cheek ref-{}",
                client.id
            );
            deliver(fake.client_text(client, &report).0).await;
        }
        answered_once(&fake, &chats[..2]).await;
        // A report's alert: the one message to staff with its words that is not a reminder.
        let alert_of = |client: &User| {
            let alerts: Vec<Call> = fake
                .messages_to(STAFF)
                .into_iter()
                .filter(|c| {
                    c.text().is_some_and(|t| {
                        t.contains(&format!("ref-{}", client.id)) && !t.contains("REMINDER")
                    })
                })
                .collect();
            assert_eq!(alerts.len(), 1, "one alert: {alerts:#?}");
            alerts[0].clone()
        };
        let bobs_alert = alert_of(bob);
        let ack = bobs_alert
            .callback_data()
            .into_iter()
            .find(|b| b.starts_with("v1:ack:"))
            .expect("an Acknowledge button");
        let bobs_alert_id = bobs_alert.response_message_id.expect("alert id");

        // The nurse acknowledges Bob's report and replies to it: Bob is told each once.
        let before = sent_count(&fake, bob.id);
        deliver(fake.callback(&nurse(), STAFF, bobs_alert_id, &ack)).await;
        let told = &messages_to(&fake, bob.id, before, 1).await[0];
        assert!(
            told.text()
                .unwrap_or_default()
                .contains("has seen your message"),
            "{told:?}"
        );
        let reply = "please come in at 3pm today";
        deliver(fake.staff_reply(STAFF, &nurse(), bobs_alert_id, reply).0).await;
        let relayed = &messages_to(&fake, bob.id, before + 1, 1).await[0];
        assert!(
            relayed.text().unwrap_or_default().contains(reply),
            "{relayed:?}"
        );

        // Ann's report is not acknowledged: a reminder every 3 s, each round once, though both instances look.
        let rounds = 3;
        let reminded = fake
            .wait_for(
                |c| {
                    c.is_send_to(STAFF)
                        && c.text()
                            .is_some_and(|t| t.contains(&format!("REMINDER {rounds}")))
                },
                WAIT,
            )
            .await;
        assert!(reminded.is_some(), "{rounds} reminders in time");
        let anns_alert = alert_of(ann);
        let ann_ack = anns_alert
            .callback_data()
            .into_iter()
            .find(|b| b.starts_with("v1:ack:"))
            .expect("an Acknowledge button");
        deliver(fake.callback(
            &nurse(),
            STAFF,
            anns_alert.response_message_id.expect("id"),
            &ann_ack,
        ))
        .await;

        // Everything settles: Ann told once, no further reminders, nothing else sent to anyone.
        chats[0].1 = sent_count(&fake, ann.id);
        chats[0].2 = 1;
        chats[1].1 = sent_count(&fake, bob.id);
        chats[1].2 = 0;
        for chat in &mut chats[2..] {
            chat.1 = sent_count(&fake, chat.0);
            chat.2 = 0;
        }
        answered_once(&fake, &chats).await;
        let reminders = staff_messages_with(&fake, "REMINDER");
        let numbers: Vec<&str> = reminders
            .iter()
            .filter_map(|t| t.split("REMINDER ").nth(1))
            .filter_map(|t| t.split(':').next())
            .collect();
        assert_eq!(
            numbers,
            ["1", "2", "3"],
            "each reminder round once: {reminders:#?}"
        );
        for reminder in &reminders {
            assert!(reminder.contains(&format!("ref-{}", ann.id)), "{reminder}");
        }
        let bobs = staff_messages_with(&fake, &format!("ref-{}", bob.id));
        assert_eq!(
            bobs.len(),
            1,
            "Bob's report alerted once, never reminded: {bobs:#?}"
        );
        outbox_drained(&db).await;
        assert_eq!(not_sent(&db).await, 0, "nothing pending, nothing given up");
        assert!(
            db.db.pending_updates(10).await.expect("inbox").is_empty(),
            "every update handled"
        );
    })
    .await;
}
