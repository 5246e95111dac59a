//! The conversations, in the test process: the real flows, store and delivery on a fresh database, Telegram
//! recorded and the time moved by the test (tests/support/scene.rs). What a client and the clinic's staff would
//! see. What needs the real binary (polling, webhooks, restarts, Telegram's errors) is in tests/bot.rs.

mod support;

use aftercare::delivery::{self, GIVE_UP_AFTER, SendError};
use aftercare::flows::Person;
use chrono::Duration;
use support::db::{count, fresh_sqlite};
use support::deadline::within;
use support::scene::{REMINDER_AFTER_MINUTES, STAFF, Scene, Sent, jane, nurse};

/// How long a flow test with many steps may take: it runs on the scene's clock, so only a hang takes this long.
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

/// A flow written once over a scene, run on a fresh database of each kind: tests `flow::sqlite` and
/// `flow::postgres`.
macro_rules! on_both_databases {
    ($flow:ident) => {
        mod $flow {
            #[tokio::test]
            async fn sqlite() {
                super::$flow(super::Scene::sqlite().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$flow(super::Scene::postgres().await).await;
            }
        }
    };
}

/// The usual start: a scene on SQLite with Jane onboarded (consent given, treated 3 days ago).
async fn onboarded() -> Scene {
    let scene = Scene::sqlite().await;
    scene.onboard(&jane()).await;
    scene
}

/// The alert's Acknowledge and Resolve buttons' data.
fn ack_and_resolve(alert: &Sent) -> (String, String) {
    let buttons = alert.callback_data();
    let find = |prefix: &str| {
        buttons
            .iter()
            .find(|b| b.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} button: {buttons:?}"))
            .clone()
    };
    (find("v1:ack:"), find("v1:res:"))
}

#[tokio::test]
async fn start_consent_and_treatment_date_by_button() {
    let scene = Scene::sqlite().await;
    let jane = jane();
    scene.client_text(&jane, "/start").await;
    let welcome = scene.last_to(jane.chat_id);
    let consent = scene.press(&jane, welcome.id(), "v1:consent:yes").await;
    let asked = scene.messages_after(jane.chat_id, 1);
    assert_eq!(asked.len(), 2, "{asked:#?}");
    // A button as written before button data carried a version: on messages sent then, it still works.
    scene.press(&jane, asked[1].id(), "treated:yesterday").await;
    let saved = scene.messages_after(jane.chat_id, 3);
    assert_eq!(saved.len(), 1, "{saved:#?}");
    assert!(saved[0].text().contains("day 1 today"), "{saved:#?}");
    // Buttons are taken away once used, and the press is answered.
    let calls = scene.telegram.calls();
    assert!(calls.contains(&Sent::ButtonsRemoved {
        chat: jane.chat_id,
        id: welcome.id()
    }));
    assert!(calls.contains(&Sent::Answer {
        callback: consent,
        text: None
    }));
    let client = scene.stored_client(&jane).await;
    assert_eq!(client.consent, Some(true));
    assert!(
        scene
            .store()
            .current_treatment(client.id)
            .await
            .expect("query")
            .is_some()
    );
}

#[tokio::test]
async fn a_question_is_answered_from_the_intents() {
    let scene = onboarded().await;
    let jane = jane();
    let before = scene.sent_count(jane.chat_id);
    scene.client_text(&jane, "can i wear makeup tmrw?").await;
    let answer = scene.messages_after(jane.chat_id, before);
    assert_eq!(answer.len(), 1, "{answer:#?}");
    assert!(answer[0].text().contains("mineral makeup"), "{answer:#?}");
    // A plain question alerts nobody.
    assert_eq!(scene.sent_count(STAFF), 0);
}

/// The whole life of an urgent report: alert with buttons, acknowledge, client told, staff reply relayed,
/// a further client message shown under the same alert, resolve.
async fn urgent_report_lifecycle(scene: Scene) {
    let (jane, nurse) = (jane(), nurse());
    scene.onboard(&jane).await;

    let before = scene.sent_count(jane.chat_id);
    scene
        .client_text(&jane, "there's yellow crust on my chin and it's oozing")
        .await;
    let replies = scene.messages_after(jane.chat_id, before);
    assert_eq!(replies.len(), 2, "{replies:#?}");
    assert!(replies[0].text().contains("0100 000 000"));
    assert!(replies[1].text().contains("as urgent"), "{replies:#?}");

    let alerts = scene.messages_to(STAFF);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    for expected in [
        "URGENT",
        "Jane (@jane)",
        "Day since treatment: 3",
        "yellow crust",
        "Status: OPEN",
    ] {
        assert!(
            alert.text().contains(expected),
            "alert lacks {expected:?}: {}",
            alert.text()
        );
    }
    let (ack, resolve) = ack_and_resolve(alert);
    let alert_id = alert.id();

    let client_before = scene.sent_count(jane.chat_id);
    scene.press(&nurse, alert_id, &ack).await;
    let edited = scene
        .edits()
        .into_iter()
        .find(|e| e.text().contains("acknowledged by Ann"))
        .expect("the alert shows who acknowledged it");
    assert_eq!(edited.id(), alert_id);
    let told = scene.messages_after(jane.chat_id, client_before);
    assert_eq!(told.len(), 1, "{told:#?}");
    assert!(told[0].text().contains("has seen your message"));

    let staff_message = scene
        .staff_reply(
            &nurse,
            alert_id,
            "Hi Jane, please send a photo and come in at 3pm.",
        )
        .await;
    let relayed = scene.messages_after(jane.chat_id, client_before + 1);
    assert_eq!(relayed.len(), 1, "{relayed:#?}");
    let relayed_text = relayed[0].text();
    assert!(
        relayed_text.contains("Test Clinic (Ann)") && relayed_text.contains("come in at 3pm"),
        "{relayed_text}"
    );
    // The nurse is told it went out.
    let confirmed = scene
        .messages_to(STAFF)
        .into_iter()
        .find(|c| c.reply_to() == Some(staff_message))
        .expect("the nurse is told the reply was sent");
    assert!(confirmed.text().contains("Sent to Jane"));

    // Thanks and a question the bot answers stay in the report's history: staff are not pinged for them.
    let staff_before = scene.sent_count(STAFF);
    let client_before = scene.sent_count(jane.chat_id);
    scene.client_text(&jane, "thank you!").await;
    scene
        .client_text(&jane, "can i wear makeup tomorrow?")
        .await;
    assert_eq!(
        scene.sent_count(STAFF),
        staff_before,
        "{:#?}",
        scene.messages_to(STAFF)
    );
    let answered = scene.messages_after(jane.chat_id, client_before);
    assert_eq!(answered.len(), 2, "{answered:#?}");
    assert!(answered[1].text().contains("makeup"), "{answered:#?}");
    let history = scene
        .store()
        .open_escalation_for_client(scene.stored_client(&jane).await.id)
        .await
        .expect("query")
        .expect("still open");
    assert!(
        scene
            .store()
            .escalation_messages(history.id)
            .await
            .expect("history")
            .iter()
            .any(|m| m.text.as_deref().is_some_and(|t| t.contains("makeup"))),
        "the question is in the report's history"
    );

    scene
        .client_text(&jane, "ok, it's also a bit more swollen now")
        .await;
    let followup = scene.messages_after(STAFF, staff_before);
    assert_eq!(followup.len(), 1, "{followup:#?}");
    assert_eq!(
        followup[0].reply_to(),
        Some(alert_id),
        "shown under the same alert"
    );
    assert!(followup[0].text().contains("more swollen"));
    assert!(
        followup[0].callback_data().is_empty(),
        "a follow-up is not a new alert"
    );

    scene.press(&nurse, alert_id, &resolve).await;
    assert!(
        scene
            .edits()
            .iter()
            .any(|e| e.id() == alert_id && e.text().contains("resolved by Ann")),
        "the alert shows who resolved it"
    );
    let client = scene.stored_client(&jane).await;
    assert!(
        scene
            .store()
            .open_escalation_for_client(client.id)
            .await
            .expect("query")
            .is_none()
    );
}

on_both_databases!(urgent_report_lifecycle);

/// What went out is deleted once it is older than the keeping (`AFTERCARE_OUTBOX_KEEP_DAYS`), as of the worker's
/// clock; a send Telegram refused for good stays, however old.
async fn sent_sends_are_pruned_once_older_than_their_keeping(scene: Scene) {
    let jane = jane();
    let keep = Duration::days(7);
    let prune = async || {
        delivery::prune_sent(&scene.service, &scene.clock, keep)
            .await
            .expect("prune")
    };
    let sent = async || {
        count(
            scene.store(),
            "SELECT COUNT(*) FROM outbox WHERE status = 'sent'",
        )
        .await
    };
    scene.onboard(&jane).await;
    scene.telegram.fail_next_to(
        jane.chat_id,
        SendError::Permanent("Forbidden: bot was blocked by the user".into()),
    );
    scene
        .client_text(&jane, "can I wear makeup tomorrow?")
        .await;
    let sent_on_day_0 = sent().await;
    assert!(
        sent_on_day_0 >= 4,
        "the onboarding went out: {sent_on_day_0}"
    );
    scene.clock.advance(Duration::days(6));
    scene
        .client_text(&jane, "can I wear makeup tomorrow?")
        .await;
    let sent_on_day_6 = sent().await - sent_on_day_0;
    assert!(sent_on_day_6 >= 1, "the second answer went out");

    assert_eq!(prune().await, 0, "nothing is a week old yet");
    scene
        .clock
        .advance(Duration::days(1) + Duration::seconds(1));
    assert_eq!(
        prune().await,
        sent_on_day_0.unsigned_abs(),
        "the first day's sends are a week old"
    );
    assert_eq!(sent().await, sent_on_day_6);
    scene.clock.advance(Duration::days(6));
    assert_eq!(prune().await, sent_on_day_6.unsigned_abs());
    assert_eq!(
        count(scene.store(), "SELECT COUNT(*) FROM outbox").await,
        1,
        "only the refused send is left"
    );
    assert_eq!(
        count(
            scene.store(),
            "SELECT COUNT(*) FROM outbox WHERE status = 'failed'"
        )
        .await,
        1
    );
}

on_both_databases!(sent_sends_are_pruned_once_older_than_their_keeping);

/// A year on (`AFTERCARE_RETENTION_DAYS`, 365 by default): Jane's messages and her resolved report are deleted,
/// Tom's report, still open, stays with its message; nothing goes before its time.
async fn records_older_than_the_retention_are_deleted_but_open_reports_stay(scene: Scene) {
    let (jane, nurse) = (jane(), nurse());
    let tom = Person {
        user_id: 1002,
        chat_id: 1002,
        first_name: "Tom".into(),
        username: None,
    };
    let keep = Duration::days(365);
    let retention = async || {
        aftercare::operations::retention::apply(&scene.service, &scene.clock, keep)
            .await
            .expect("retention")
    };
    let messages = async |who: &Person| {
        let client = scene.stored_client(who).await;
        count(
            scene.store(),
            &format!(
                "SELECT COUNT(*) FROM messages WHERE client_id = {}",
                client.id.get()
            ),
        )
        .await
    };
    scene.onboard(&jane).await;
    scene.onboard(&tom).await;
    scene
        .client_text(&jane, "there's yellow crust on my chin")
        .await;
    scene
        .client_text(&tom, "theres pus coming out of my cheek")
        .await;
    let jane_alert = scene
        .messages_to(STAFF)
        .into_iter()
        .find(|a| a.text().contains("Jane"))
        .expect("Jane's alert");
    let (_, resolve) = ack_and_resolve(&jane_alert);
    scene.press(&nurse, jane_alert.id(), &resolve).await;
    let (jane_kept, tom_kept) = (messages(&jane).await, messages(&tom).await);
    assert!(jane_kept > 0 && tom_kept > 0);

    scene.clock.advance(Duration::days(364));
    assert_eq!(retention().await.total(), 0, "nothing is a year old yet");
    scene.clock.advance(Duration::days(2));
    let deleted = retention().await;
    assert_eq!(deleted.reports, 1, "Jane's resolved report: {deleted:?}");
    assert_eq!(messages(&jane).await, 0, "all of Jane's messages went");
    assert_eq!(
        count(
            scene.store(),
            "SELECT COUNT(*) FROM escalations WHERE status <> 'resolved'"
        )
        .await,
        1,
        "Tom's report is still open, and stays"
    );
    assert!(messages(&tom).await >= 1, "with the message that opened it");
    scene.staff_command(&nurse, "/open").await;
    assert!(
        scene.last_to(STAFF).text().contains("Tom"),
        "staff still see it open"
    );
}

on_both_databases!(records_older_than_the_retention_are_deleted_but_open_reports_stay);

/// The weekly picture: Jane reports pus and asks what the bot cannot answer; a nurse acknowledges. The week's
/// picture goes to the staff chat once however often it is looked for (two instances, a restart), as a chart
/// with the figures under it and the unanswered question after it; `/report` sends it again on demand, and a date
/// it cannot read gets how to use it.
async fn the_weekly_picture_goes_to_staff_once_and_on_demand(scene: Scene) {
    use aftercare::operations::weekly;
    let (jane, nurse) = (jane(), nurse());
    scene.onboard(&jane).await;
    scene
        .client_text(&jane, "there's yellow pus on my chin")
        .await;
    scene
        .client_text(&jane, "how do i paint my nails after")
        .await;
    let alert = scene.messages_to(STAFF)[0].clone();
    let (ack, _) = ack_and_resolve(&alert);
    scene.pass(Duration::minutes(12)).await;
    scene.press(&nurse, alert.id(), &ack).await;

    let monday = weekly::monday_of(scene.now().date_naive());
    let queued_once = [
        weekly::queue_once(&scene.service, monday, scene.now())
            .await
            .expect("queue"),
        weekly::queue_once(&scene.service, monday, scene.now())
            .await
            .expect("queue"),
    ];
    assert_eq!(queued_once, [true, false], "once per week");
    let before = scene.sent_count(STAFF);
    scene.deliver().await;
    let picture = scene.messages_after(STAFF, before);
    assert_eq!(picture.len(), 2, "{picture:#?}");
    let Sent::Photo {
        file_id, caption, ..
    } = &picture[0]
    else {
        panic!("the chart first: {picture:#?}");
    };
    assert!(file_id.starts_with("png:"), "a PNG drawn at the send");
    for expected in ["Reports: urgent 1", "median 12 min", "client(s)"] {
        assert!(caption.contains(expected), "{expected:?} not in {caption}");
    }
    assert!(
        picture[1]
            .text()
            .contains("│ how do i paint my nails after (1×)"),
        "{picture:#?}"
    );

    let before = scene.sent_count(STAFF);
    scene
        .staff_command(&nurse, &format!("/report {monday}"))
        .await;
    let on_demand = scene.messages_after(STAFF, before);
    assert!(
        on_demand
            .iter()
            .any(|s| matches!(s, Sent::Photo { caption, .. } if caption.contains("urgent 1"))),
        "{on_demand:#?}"
    );
    scene.staff_command(&nurse, "/report someday").await;
    assert!(scene.last_to(STAFF).text().contains("/report 2026-11-23"));
}

on_both_databases!(the_weekly_picture_goes_to_staff_once_and_on_demand);

/// Pus on day 4, nobody acknowledges: fifteen minutes later the alert goes again, as a reply to itself; once a
/// nurse acknowledges, no more reminders.
async fn an_unacknowledged_alert_is_sent_again_as_a_reminder(scene: Scene) {
    let (jane, nurse) = (jane(), nurse());
    scene.onboard(&jane).await;
    scene.pass(Duration::days(1)).await;
    scene
        .client_text(&jane, "i have a fever and pus on my cheek")
        .await;
    let alert = scene.last_to(STAFF);
    assert!(
        alert.text().contains("Day since treatment: 4"),
        "{}",
        alert.text()
    );
    scene
        .pass(Duration::minutes(REMINDER_AFTER_MINUTES - 1))
        .await;
    assert_eq!(scene.sent_count(STAFF), 1, "not yet");
    scene.pass(Duration::minutes(1)).await;
    let reminder = scene.messages_after(STAFF, 1);
    assert_eq!(reminder.len(), 1, "{reminder:#?}");
    assert!(reminder[0].text().contains("REMINDER"), "{reminder:#?}");
    assert_eq!(reminder[0].reply_to(), Some(alert.id()));

    let (ack, _) = ack_and_resolve(&alert);
    scene.press(&nurse, alert.id(), &ack).await;
    assert!(
        scene
            .edits()
            .iter()
            .any(|e| e.text().contains("acknowledged")),
        "acknowledged"
    );
    let after_ack = scene.sent_count(STAFF);
    scene
        .pass(Duration::minutes(REMINDER_AFTER_MINUTES * 4))
        .await;
    assert_eq!(
        scene.sent_count(STAFF),
        after_ack,
        "no reminders once acknowledged"
    );
}

on_both_databases!(an_unacknowledged_alert_is_sent_again_as_a_reminder);

#[tokio::test]
async fn an_emergency_answer_gives_the_emergency_number_first() {
    let scene = onboarded().await;
    let jane = jane();
    let before = scene.sent_count(jane.chat_id);
    scene
        .client_text(&jane, "my tongue is swelling and i cant breathe properly")
        .await;
    let answer = &scene.messages_after(jane.chat_id, before)[0];
    let first_line = answer.text().lines().next().unwrap_or_default();
    assert!(first_line.contains("call 112"), "{first_line}");
    assert!(scene.last_to(STAFF).text().contains("EMERGENCY"));
}

#[tokio::test]
async fn an_emergency_told_under_an_open_report_is_alerted_again_at_its_level() {
    let scene = onboarded().await;
    let jane = jane();
    scene
        .client_text(&jane, "there is yellow crust on my chin")
        .await;
    let first = scene.messages_after(STAFF, 0);
    assert_eq!(first.len(), 1, "{first:#?}");
    assert!(first[0].text().contains("URGENT"), "{first:#?}");
    scene
        .client_text(&jane, "now my throat feels tight and my lips are swelling")
        .await;
    let later = scene.messages_after(STAFF, 1);
    // The report's alert again, now at EMERGENCY with its buttons, then the message that raised it.
    assert_eq!(later.len(), 2, "{later:#?}");
    assert!(later[0].text().contains("EMERGENCY"), "{later:#?}");
    assert!(!later[0].callback_data().is_empty(), "{later:#?}");
    assert!(later[1].text().contains("throat feels tight"), "{later:#?}");
    // A follow-up at the same level or lower is only a follow-up.
    scene.client_text(&jane, "it is still crusty").await;
    let last = scene.messages_after(STAFF, 3);
    assert_eq!(last.len(), 1, "{last:#?}");
    assert!(!last[0].text().contains("EMERGENCY"), "{last:#?}");
}

#[tokio::test]
async fn a_photo_is_forwarded_to_staff_and_the_client_told() {
    let scene = onboarded().await;
    let jane = jane();
    let before = scene.sent_count(jane.chat_id);
    scene
        .client_photo(
            &jane,
            "PHOTO-FILE-1",
            Some("is this normal? chin looks weird"),
        )
        .await;
    // The caption is triaged too ("looks weird" is a worry: routine), so an answer comes with the note.
    let told = scene.messages_after(jane.chat_id, before);
    assert_eq!(told.len(), 2, "{told:#?}");
    assert!(
        told.iter().any(|c| c.text().contains("passed your photo")),
        "{told:#?}"
    );
    let staff = scene.messages_to(STAFF);
    assert_eq!(staff.len(), 2, "{staff:#?}");
    assert!(staff[0].text().contains("Routine"));
    let Sent::Photo { file_id, .. } = &staff[1] else {
        panic!("the photo reaches the staff chat: {staff:#?}");
    };
    assert_eq!(file_id, "PHOTO-FILE-1");
    assert!(staff[1].text().contains("Jane (@jane)"));
    assert_eq!(staff[1].reply_to(), Some(staff[0].id()));
}

#[tokio::test]
async fn voice_notes_get_a_request_to_type() {
    let scene = onboarded().await;
    let jane = jane();
    let before = scene.sent_count(jane.chat_id);
    scene.client_voice(&jane).await;
    let answer = scene.messages_after(jane.chat_id, before);
    assert_eq!(answer.len(), 1, "{answer:#?}");
    assert!(answer[0].text().contains("type your question"));
    assert_eq!(scene.sent_count(STAFF), 0);
}

#[tokio::test]
async fn an_edited_message_is_triaged_again() {
    let scene = onboarded().await;
    let jane = jane();
    let before = scene.sent_count(jane.chat_id);
    let message_id = scene.client_text(&jane, "can i wear makeup today").await;
    assert_eq!(scene.sent_count(jane.chat_id), before + 1);
    assert_eq!(scene.sent_count(STAFF), 0);
    scene
        .client_edit(
            &jane,
            message_id,
            "can i wear makeup today? there's pus coming out of my chin",
        )
        .await;
    let alert = scene.last_to(STAFF);
    assert!(alert.text().contains("pus coming out"), "{alert:#?}");
}

#[tokio::test]
async fn outside_opening_hours_the_client_is_told_when_the_clinic_is_back() {
    // Open one minute a week, on Sunday; the scene's clock says Tuesday morning.
    let scene = Scene::on(
        fresh_sqlite().await,
        &[("AFTERCARE_OPENING_HOURS", "Sun 03:00-03:01")],
    )
    .await;
    let jane = jane();
    scene.onboard(&jane).await;
    let before = scene.sent_count(jane.chat_id);
    scene
        .client_text(&jane, "i have a fever and my face is hot and swollen")
        .await;
    let next = &scene.messages_after(jane.chat_id, before)[1];
    let text = next.text();
    assert!(
        text.contains("closed right now") && text.contains("Sunday at 03:00"),
        "{text}"
    );
    assert!(text.contains("112"), "what to do meanwhile: {text}");
}

#[tokio::test]
async fn forget_deletes_everything_after_confirmation() {
    let scene = onboarded().await;
    let jane = jane();
    let before = scene.sent_count(jane.chat_id);
    scene.client_text(&jane, "there is pus on my chin").await;
    assert_eq!(
        scene.sent_count(jane.chat_id),
        before + 2,
        "the answer and what happens next"
    );
    assert_eq!(scene.sent_count(STAFF), 1);
    let before = scene.sent_count(jane.chat_id);
    scene.client_text(&jane, "/forget").await;
    let confirm = scene.last_to(jane.chat_id);
    assert_eq!(scene.sent_count(jane.chat_id), before + 1);
    assert!(
        confirm
            .callback_data()
            .contains(&"v1:forget:yes".to_string())
    );
    assert!(
        scene
            .store()
            .client_by_telegram_id(jane.user_id)
            .await
            .expect("query")
            .is_some(),
        "nothing deleted yet"
    );
    scene.press(&jane, confirm.id(), "v1:forget:yes").await;
    let done = scene.messages_after(jane.chat_id, before + 1);
    assert_eq!(done.len(), 1, "{done:#?}");
    assert!(done[0].text().contains("deleted"));
    assert!(
        scene
            .store()
            .client_by_telegram_id(jane.user_id)
            .await
            .expect("query")
            .is_none()
    );
    assert_eq!(
        scene.store().open_escalations().await.expect("query").len(),
        0
    );
}

#[tokio::test]
async fn staff_commands_answer_members_in_the_staff_chat() {
    let scene = onboarded().await;
    let (jane, nurse) = (jane(), nurse());
    scene
        .client_text(&jane, "who won the football last night")
        .await;
    scene.client_text(&jane, "there is pus on my cheek").await;
    assert_eq!(scene.sent_count(STAFF), 1);
    let expectations = [
        ("/history @jane", "History of Jane (@jane)"),
        ("/unanswered", "who won the football last night"),
        ("/stats", "Last 7 days: 1 new client(s)"),
        ("/open", "1 open report(s)"),
    ];
    for (i, (command, expected)) in expectations.iter().enumerate() {
        let asked = scene.staff_command(&nurse, command).await;
        let reply = scene.messages_after(STAFF, 1 + i);
        assert_eq!(reply.len(), 1, "{command}: {reply:#?}");
        assert!(
            reply[0].text().contains(expected),
            "{command}: {:?}",
            reply[0].text()
        );
        assert_eq!(reply[0].reply_to(), Some(asked));
    }
    let history = scene.messages_to(STAFF)[1].text().to_string();
    assert!(
        history.contains("there is pus on my cheek [urgent]"),
        "{history}"
    );
}

#[tokio::test]
async fn a_staff_answer_longer_than_telegram_allows_is_split() {
    let scene = onboarded().await;
    let jane = jane();
    let before = scene.sent_count(jane.chat_id);
    for i in 0..12 {
        let long = format!(
            "question {i}: can i wear makeup tomorrow {}",
            "please ".repeat(40)
        );
        scene.client_text(&jane, &long).await;
    }
    assert_eq!(scene.sent_count(jane.chat_id), before + 12);
    scene.staff_command(&nurse(), "/history @jane").await;
    let parts = scene.messages_to(STAFF);
    assert_eq!(parts.len(), 2, "{parts:#?}");
    let whole: String = parts.iter().map(Sent::text).collect();
    assert!(
        whole.starts_with("History of Jane (@jane) (last 20)"),
        "{whole}"
    );
    assert!(whole.contains("question 11"), "the newest message is there");
    // The recorder refuses a text over Telegram's limit, as Telegram does: every part went out.
}

#[tokio::test]
async fn a_reply_to_a_copy_of_an_alert_still_reaches_the_client_and_other_replies_are_told_why_not()
{
    let scene = onboarded().await;
    let (jane, nurse) = (jane(), nurse());
    scene
        .client_text(&jane, "theres pus coming out of my cheek")
        .await;
    let alert_id = scene.last_to(STAFF).id();
    // A copy: Telegram sent it but its answer was lost, so the bot never recorded this message id.
    assert_eq!(scene.execute("DELETE FROM alert_messages").await, 1);
    let before = scene.sent_count(jane.chat_id);
    scene
        .staff_reply(&nurse, alert_id, "Hi Jane, please send a photo.")
        .await;
    let relayed = scene.messages_after(jane.chat_id, before);
    assert_eq!(relayed.len(), 1, "{relayed:#?}");
    assert!(
        relayed[0].text().contains("please send a photo"),
        "{relayed:#?}"
    );

    // A reply to a bot message that is no alert sends nothing and says so.
    scene.staff_command(&nurse, "/stats").await;
    let stats = scene.last_to(STAFF);
    assert!(stats.text().contains("Last 7 days"), "{stats:#?}");
    let staff_before = scene.sent_count(STAFF);
    scene.staff_reply(&nurse, stats.id(), "thanks").await;
    let told = scene.messages_after(STAFF, staff_before);
    assert!(
        told.iter()
            .any(|c| c.text().contains("isn't linked to a report")),
        "staff are told nothing was sent: {told:#?}"
    );
    assert_eq!(
        scene.sent_count(jane.chat_id),
        before + 1,
        "nothing more to the client"
    );
}

/// Telegram's flood control and server errors on the alert, on the scene's clock: the alert waits for
/// `retry_after`, is tried again after a server error, and arrives once. (The same on the wire, with teloxide's
/// own handling of the answers, is in tests/bot.rs.)
#[tokio::test]
async fn an_alert_refused_by_telegram_is_sent_again_when_due_and_once() {
    let scene = onboarded().await;
    let jane = jane();
    scene.telegram.fail_next_to(STAFF, SendError::RetryAfter(5));
    scene
        .telegram
        .fail_next_to(STAFF, SendError::Transient("Bad Gateway".into()));
    let before = scene.sent_count(jane.chat_id);
    scene
        .client_text(&jane, "high temperature and chills since last night")
        .await;
    let answers = scene.messages_after(jane.chat_id, before);
    assert_eq!(
        answers.len(),
        2,
        "the client is answered at once: {answers:#?}"
    );
    assert!(answers[1].text().contains("as urgent"));
    assert_eq!(scene.telegram.failed().len(), 1, "the alert was tried");
    assert_eq!(scene.sent_count(STAFF), 0);

    scene.pass(Duration::seconds(4)).await;
    assert_eq!(scene.telegram.failed().len(), 1, "retry_after is honoured");
    scene.pass(Duration::seconds(1)).await;
    assert_eq!(
        scene.telegram.failed().len(),
        2,
        "tried again once it passed"
    );
    assert_eq!(scene.sent_count(STAFF), 0);

    scene.pass(Duration::seconds(10)).await;
    let alerts = scene.messages_to(STAFF);
    assert_eq!(alerts.len(), 1, "one alert: {alerts:#?}");
    assert!(alerts[0].text().contains("URGENT"));
    scene.pass(Duration::minutes(1)).await;
    assert_eq!(scene.sent_count(STAFF), 1, "and only one");
}

/// An update handled a second time (after a crash before Telegram was told it arrived, or by a second instance)
/// finds itself marked handled in the same transaction as what it caused: nothing is stored or sent again.
async fn an_update_handled_twice_is_stored_and_answered_once(scene: Scene) {
    let jane = jane();
    scene.onboard(&jane).await;
    let report = "there's yellow crust on my chin and it's oozing";
    let (client_before, staff_before) = (scene.sent_count(jane.chat_id), scene.sent_count(STAFF));
    scene.client_text(&jane, report).await;
    assert_eq!(scene.sent_count(jane.chat_id), client_before + 2);
    assert_eq!(scene.sent_count(STAFF), staff_before + 1);

    scene.client_text_again(&jane, report).await;
    assert_eq!(
        scene.sent_count(jane.chat_id),
        client_before + 2,
        "answered once"
    );
    assert_eq!(scene.sent_count(STAFF), staff_before + 1, "alerted once");
    let client = scene.stored_client(&jane).await;
    let kept = scene
        .store()
        .client_messages(client.id, 50)
        .await
        .expect("messages");
    let stored = kept
        .iter()
        .filter(|m| m.text.as_deref() == Some(report))
        .count();
    assert_eq!(stored, 1, "stored once");
    assert_eq!(
        scene.store().open_escalations().await.expect("query").len(),
        1
    );
    assert_eq!(
        scene.store().pending_outbox_count().await.expect("count"),
        0
    );
}

on_both_databases!(an_update_handled_twice_is_stored_and_answered_once);

/// The answers go out through the outbox: refused by Telegram's flood control, the first waits for
/// `retry_after` and the next waits behind it, so the client reads them in order; the staff chat is not held up.
#[tokio::test]
async fn a_clients_answers_arrive_in_order_after_telegram_holds_one_back() {
    let scene = onboarded().await;
    let jane = jane();
    scene
        .telegram
        .fail_next_to(jane.chat_id, SendError::RetryAfter(3));
    let before = scene.sent_count(jane.chat_id);
    scene
        .client_text(&jane, "high temperature and chills since last night")
        .await;
    assert_eq!(scene.sent_count(jane.chat_id), before, "both wait");
    assert_eq!(scene.sent_count(STAFF), 1, "the alert is not held up");
    scene.pass(Duration::seconds(3)).await;
    let answers = scene.messages_after(jane.chat_id, before);
    assert_eq!(answers.len(), 2, "{answers:#?}");
    assert!(answers[0].text().contains("0100 000 000"), "{answers:#?}");
    assert!(answers[1].text().contains("as urgent"), "{answers:#?}");
}

on_both_databases!(an_emergency_answer_goes_out_before_sends_queued_ahead_of_it);

/// Telegram fails while three newcomers say hello and then Jane reports an emergency: each answer waits for its
/// retry, the welcomes queued first. Once Telegram answers again, the emergency answer is the first to go out.
async fn an_emergency_answer_goes_out_before_sends_queued_ahead_of_it(scene: Scene) {
    let jane = jane();
    scene.onboard(&jane).await;
    let down = || SendError::Transient("500 Internal Server Error".into());
    let newcomers: Vec<Person> = (1..=3)
        .map(|n| Person {
            user_id: 2000 + n,
            chat_id: 2000 + n,
            first_name: format!("Newcomer {n}"),
            username: None,
        })
        .collect();
    for newcomer in &newcomers {
        scene.telegram.fail_next_to(newcomer.chat_id, down());
        scene.client_text(newcomer, "/start").await;
    }
    scene.telegram.fail_next_to(jane.chat_id, down());
    scene
        .client_text(&jane, "my tongue is swelling and i cant breathe properly")
        .await;
    let clients: Vec<i64> = newcomers
        .iter()
        .map(|newcomer| newcomer.chat_id)
        .chain([jane.chat_id])
        .collect();
    assert_eq!(
        scene
            .telegram
            .failed()
            .iter()
            .map(|(chat, _)| *chat)
            .collect::<Vec<_>>(),
        clients,
        "each answer was tried once, and failed"
    );
    let before = scene.telegram.calls().len();

    // The retries come due.
    scene.pass(Duration::seconds(5)).await;
    let answers: Vec<Sent> = scene.telegram.calls()[before..]
        .iter()
        .filter(|call| clients.iter().any(|chat| call.is_send_to(*chat)))
        .cloned()
        .collect();
    assert!(answers[0].is_send_to(jane.chat_id), "{answers:#?}");
    assert!(answers[0].text().contains("call 112"), "{answers:#?}");
    for newcomer in &newcomers {
        let welcome = scene.last_to(newcomer.chat_id);
        assert!(welcome.text().contains("can't diagnose"), "{welcome:#?}");
    }
    assert_eq!(
        scene.store().pending_outbox_count().await.expect("count"),
        0
    );
}

/// Clients other than Jane: `Client 1` … (chat ids 3001 …).
fn clients(n: i64) -> Vec<Person> {
    (1..=n)
        .map(|i| Person {
            user_id: 3000 + i,
            chat_id: 3000 + i,
            first_name: format!("Client {i}"),
            username: None,
        })
        .collect()
}

const QUESTION: &str = "can i wear makeup tmrw?";
const EMERGENCY: &str = "my throat is closing and I can't breathe";

on_both_databases!(telegram_failing_for_20_seconds_loses_no_answer_and_the_emergency_goes_first);

/// Telegram answers every call with a server error for 20 s while ten clients write, a second apart, the last
/// one (Jane) about an emergency. The time passes a second at a time and the worker tries what is due at each,
/// as the running worker would. Once Telegram answers again, Jane's answer is the first out, before the answers
/// that were waiting longer, and every client has their answer, once.
async fn telegram_failing_for_20_seconds_loses_no_answer_and_the_emergency_goes_first(
    scene: Scene,
) {
    within(DEADLINE, async {
        let jane = jane();
        let others = clients(9);
        for client in others.iter().chain([&jane]) {
            scene.onboard(client).await;
        }
        let before = |who: &Person| scene.sent_count(who.chat_id);
        let (jane_before, staff_before) = (before(&jane), scene.sent_count(STAFF));
        let others_before: Vec<usize> = others.iter().map(before).collect();

        scene
            .telegram
            .down(SendError::Transient("Internal Server Error".into()));
        let recovery = scene.now() + Duration::seconds(20);
        for client in &others {
            scene.client_text(client, QUESTION).await;
            scene.pass(Duration::seconds(1)).await;
        }
        scene.client_text(&jane, EMERGENCY).await;
        while scene.now() < recovery {
            scene.pass(Duration::seconds(1)).await;
        }
        let tried = scene.telegram.failed().len();
        assert!(
            tried > 20,
            "the answers were tried during the fault: {tried}"
        );
        let sent_during = scene.telegram.calls().len();

        scene.telegram.up();
        for _ in 0..120 {
            if scene.store().pending_outbox_count().await.expect("count") == 0 {
                break;
            }
            scene.pass(Duration::seconds(1)).await;
        }
        assert_eq!(
            scene.store().pending_outbox_count().await.expect("count"),
            0,
            "everything went out"
        );
        let out: Vec<Sent> = scene.telegram.calls()[sent_during..]
            .iter()
            .filter(|call| matches!(call, Sent::Text { .. }))
            .cloned()
            .collect();
        assert!(
            out[0].is_send_to(jane.chat_id) && out[0].text().contains("call 112"),
            "the emergency answer first: {out:#?}"
        );
        for (client, before) in others.iter().zip(others_before) {
            let answers = scene.messages_after(client.chat_id, before);
            assert_eq!(answers.len(), 1, "{}: {answers:#?}", client.first_name);
            assert!(answers[0].text().contains("mineral makeup"), "{answers:#?}");
        }
        let answers = scene.messages_after(jane.chat_id, jane_before);
        assert_eq!(answers.len(), 2, "Jane is answered, once: {answers:#?}");
        assert!(
            answers[1].text().contains("alerted the clinic team"),
            "{answers:#?}"
        );
        let alerts = scene.messages_after(STAFF, staff_before);
        assert_eq!(alerts.len(), 1, "one alert: {alerts:#?}");
        assert!(alerts[0].text().contains("EMERGENCY"), "{alerts:#?}");
        assert_eq!(
            scene
                .db
                .count("SELECT COUNT(*) FROM outbox WHERE status = 'failed'")
                .await,
            0,
            "nothing given up"
        );
    })
    .await;
}

on_both_databases!(a_reply_undelivered_for_a_day_is_given_up_and_for_a_report_staff_are_told);

/// Telegram keeps refusing Jane's chat (a server error, for good) while the staff chat works. Her answers are
/// tried again for [`GIVE_UP_AFTER`] and then given up: for a plain question nobody is told; for her urgent
/// report's answers, staff get one line saying she could not be reached, without the words not delivered.
async fn a_reply_undelivered_for_a_day_is_given_up_and_for_a_report_staff_are_told(scene: Scene) {
    within(DEADLINE, async {
        let jane = jane();
        scene.onboard(&jane).await;
        let failed = "SELECT COUNT(*) FROM outbox WHERE status = 'failed'";
        let unreachable = |sent: &Sent| sent.text().contains("could not be reached");
        scene
            .telegram
            .down_to(jane.chat_id, SendError::Transient("Bad Gateway".into()));
        let (jane_before, staff_before) = (scene.sent_count(jane.chat_id), scene.sent_count(STAFF));

        // A question: its answer is given up after a day, and nobody is told.
        scene.client_text(&jane, QUESTION).await;
        scene.pass(GIVE_UP_AFTER - Duration::minutes(1)).await;
        assert_eq!(scene.db.count(failed).await, 0, "not given up within a day");
        assert_eq!(
            scene.store().pending_outbox_count().await.expect("count"),
            1
        );
        scene.pass(Duration::minutes(1)).await;
        assert_eq!(scene.db.count(failed).await, 1, "given up after a day");
        assert_eq!(scene.sent_count(STAFF), staff_before, "staff are not told");

        // A report: its answers are tried again (hour after hour) for a day, then given up, and staff are told.
        scene
            .client_text(&jane, "there's yellow crust on my chin and it's oozing")
            .await;
        let alert = scene.messages_after(STAFF, staff_before);
        assert_eq!(alert.len(), 1, "the alert goes: {alert:#?}");
        for _ in 0..23 {
            scene.pass(Duration::hours(1)).await;
        }
        assert_eq!(scene.db.count(failed).await, 1, "still tried within a day");
        assert!(
            !scene.messages_to(STAFF).iter().any(unreachable),
            "nobody told yet"
        );
        scene.pass(Duration::hours(1)).await;
        assert_eq!(scene.db.count(failed).await, 3, "both answers given up");
        assert_eq!(
            scene.store().pending_outbox_count().await.expect("count"),
            0
        );
        let told: Vec<Sent> = scene
            .messages_to(STAFF)
            .into_iter()
            .filter(unreachable)
            .collect();
        assert_eq!(told.len(), 1, "one line: {told:#?}");
        let line = told[0].text();
        assert!(
            line.contains("Jane (@jane)") && line.contains("report #"),
            "{line}"
        );
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(
            !line.contains("0100 000 000") && !line.contains("yellow crust"),
            "the undelivered words are not repeated: {line}"
        );
        assert_eq!(
            scene.sent_count(jane.chat_id),
            jane_before,
            "nothing reached Jane"
        );
        assert!(
            scene.telegram.failed().len() > 20,
            "tried again and again: {}",
            scene.telegram.failed().len()
        );
    })
    .await;
}

/// Telegram that takes longer than a send's lease to answer (as when it is slow, or the process is starved):
/// the clock moves past the lease during each send, so every send still in flight looks due again to the passes
/// running beside it.
struct SlowerThanTheLease {
    clock: std::sync::Arc<support::scene::TestClock>,
    lease: Duration,
    sent: std::sync::Mutex<Vec<(i64, String)>>,
    next_id: std::sync::atomic::AtomicI64,
}

impl SlowerThanTheLease {
    async fn answer(&self, chat: i64, text: &str) -> Result<i64, SendError> {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // Passes overlap at varying points of each other's sends.
        for _ in 0..id % 7 {
            tokio::task::yield_now().await;
        }
        self.clock.advance(self.lease + Duration::seconds(1));
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((chat, text.to_string()));
        Ok(id)
    }
}

impl delivery::Messenger for SlowerThanTheLease {
    async fn send_text(
        &self,
        chat: i64,
        text: &str,
        _buttons: &aftercare::flows::Buttons,
        _reply_to: Option<i64>,
    ) -> Result<i64, SendError> {
        self.answer(chat, text).await
    }
    async fn send_photo(
        &self,
        chat: i64,
        file_id: &str,
        _caption: &str,
        _reply_to: Option<i64>,
    ) -> Result<i64, SendError> {
        self.answer(chat, file_id).await
    }
    async fn send_image(&self, chat: i64, _png: Vec<u8>, caption: &str) -> Result<i64, SendError> {
        self.answer(chat, caption).await
    }
    async fn edit_text(
        &self,
        _chat: i64,
        _message_id: i64,
        _text: &str,
        _buttons: &aftercare::flows::Buttons,
    ) -> Result<(), SendError> {
        Ok(())
    }
    async fn remove_buttons(&self, _chat: i64, _message_id: i64) -> Result<(), SendError> {
        Ok(())
    }
    async fn answer_callback(&self, _callback: &str, _text: Option<&str>) -> Result<(), SendError> {
        Ok(())
    }
}

/// One process runs several delivery passes at once (a new one starts whenever something is queued). A send that
/// outlasts its lease looks due again to the others: it still goes exactly once, each chat's sends in order.
async fn a_send_that_outlasts_its_lease_goes_once_though_passes_overlap(scene: Scene) {
    within(DEADLINE, async {
        let lease = Duration::seconds(30);
        let scene = std::sync::Arc::new(scene);
        let clock = std::sync::Arc::new(support::scene::TestClock::at(scene.now()));
        let telegram = std::sync::Arc::new(SlowerThanTheLease {
            clock: clock.clone(),
            lease,
            sent: std::sync::Mutex::default(),
            next_id: std::sync::atomic::AtomicI64::new(1),
        });
        let chats: Vec<i64> = (1..=300).collect();
        let per_chat = 2;
        for n in 0..per_chat {
            for chat in &chats {
                let text = format!("chat {chat} send {n}");
                let item = aftercare::flows::outbound::Outbound::Client { text: text.clone() }
                    .queue(*chat, None, None, text, scene.now());
                scene.store().enqueue(&item).await.expect("queued");
            }
        }
        let expected = chats.len() * per_chat;
        // Four workers, each starting a pass as soon as its last one ends: their passes start at varying points
        // of each other's sends, as the worker's do when something new is queued.
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (scene, telegram, clock) = (scene.clone(), telegram.clone(), clock.clone());
                tokio::spawn(async move {
                    for _ in 0..500 {
                        delivery::deliver_due(
                            &scene.service,
                            telegram.as_ref(),
                            clock.as_ref(),
                            lease,
                        )
                        .await
                        .expect("delivery");
                        let pending = count(
                            scene.store(),
                            "SELECT COUNT(*) FROM outbox WHERE status <> 'sent'",
                        )
                        .await;
                        if pending == 0 {
                            break;
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.expect("worker");
        }
        let sent = telegram
            .sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for chat in &chats {
            let to_chat: Vec<&str> = sent
                .iter()
                .filter(|(to, _)| to == chat)
                .map(|(_, text)| text.as_str())
                .collect();
            let in_order: Vec<String> = (0..per_chat)
                .map(|n| format!("chat {chat} send {n}"))
                .collect();
            assert_eq!(to_chat, in_order, "chat {chat}: each once, in order");
        }
        assert_eq!(sent.len(), expected, "{sent:#?}");
    })
    .await;
}

mod a_send_that_outlasts_its_lease_goes_once_though_passes_overlap {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_send_that_outlasts_its_lease_goes_once_though_passes_overlap(
            super::Scene::sqlite().await,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::a_send_that_outlasts_its_lease_goes_once_though_passes_overlap(
            super::Scene::postgres().await,
        )
        .await;
    }
}
