//! The care timeline (intents/care-plan.toml) in the test process: the check-ins and rebooking reminders a client
//! gets on the days after their treatment, on the scene's clock, as the client sees them in Telegram.

mod support;

use aftercare::flows::Person;
use aftercare::timeline;
use chrono::{DateTime, Duration, Utc};
use support::db::{TestDb, fresh_postgres, fresh_sqlite};
use support::deadline::within;
use support::scene::{STAFF, Scene, Sent, jane, nurse};

/// Only a hang takes this long: the scene's clock is the test's.
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

/// A flow written once over a database, run on a fresh one of each kind: tests `flow::sqlite` and
/// `flow::postgres`.
macro_rules! on_both_databases {
    ($flow:ident) => {
        mod $flow {
            #[tokio::test]
            async fn sqlite() {
                super::$flow(super::fresh_sqlite().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$flow(super::fresh_postgres().await).await;
            }
        }
    };
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test time")
        .to_utc()
}

/// /start, consent, and "today" as the treatment date, by the buttons.
async fn treated_today(scene: &Scene, who: &Person) {
    scene.client_text(who, "/start").await;
    let welcome = scene.last_to(who.chat_id);
    scene.press(who, welcome.id(), "v1:consent:yes").await;
    let asked = scene.last_to(who.chat_id);
    scene.press(who, asked.id(), "v1:treated:today").await;
    assert!(
        scene.last_to(who.chat_id).text().contains("day 0"),
        "{:#?}",
        scene.messages_to(who.chat_id)
    );
}

/// Moves the scene's clock to `when` (looking for due steps there), which must not be in the past.
async fn pass_until(scene: &Scene, when: &str) {
    let by = at(when) - scene.now();
    assert!(by >= Duration::zero(), "{when} is in the scene's past");
    scene.pass(by).await;
}

fn check_ins(scene: &Scene, who: &Person) -> Vec<Sent> {
    scene
        .messages_to(who.chat_id)
        .into_iter()
        .filter(|sent| {
            sent.callback_data()
                .iter()
                .any(|data| data.starts_with("v1:care:"))
        })
        .collect()
}

async fn the_check_ins_arrive_at_their_local_times_once_across_a_daylight_saving_change(
    db: TestDb,
) {
    within(DEADLINE, async {
        let scene = Scene::on(db, &[("AFTERCARE_TIMEZONE", "Europe/London")]).await;
        let jane = jane();
        // Friday 27 March 2026, 10:00 GMT; summer time starts on Sunday the 29th.
        pass_until(&scene, "2026-03-27T10:00:00Z").await;
        treated_today(&scene, &jane).await;
        let onboarded = scene.sent_count(jane.chat_id);

        pass_until(&scene, "2026-03-28T09:59:00Z").await;
        assert_eq!(
            scene.sent_count(jane.chat_id),
            onboarded,
            "not before 10:00"
        );
        pass_until(&scene, "2026-03-28T10:00:00Z").await;
        let day_one = scene.messages_after(jane.chat_id, onboarded);
        assert_eq!(day_one.len(), 1, "{day_one:#?}");
        assert!(
            day_one[0].text().contains("Good morning Jane"),
            "{day_one:#?}"
        );
        assert!(day_one[0].text().contains("Test Clinic"), "{day_one:#?}");
        assert_eq!(
            day_one[0].callback_data(),
            ["v1:care:fine", "v1:care:worried", "v1:care:stop"]
        );

        // Looking again and again sends nothing twice.
        scene
            .pass_in_steps(Duration::hours(3), Duration::minutes(30))
            .await;
        assert_eq!(scene.sent_count(jane.chat_id), onboarded + 1);

        // Day 3 is Monday the 30th: 10:00 in London is now 09:00 UTC.
        pass_until(&scene, "2026-03-30T08:59:00Z").await;
        assert_eq!(scene.sent_count(jane.chat_id), onboarded + 1);
        pass_until(&scene, "2026-03-30T09:00:00Z").await;
        let day_three = scene.last_to(jane.chat_id);
        assert!(day_three.text().contains("day 3"), "{day_three:#?}");
        assert_eq!(check_ins(&scene, &jane).len(), 2);
        // Staff are not told of any of it.
        assert_eq!(scene.sent_count(STAFF), 0);
    })
    .await;
}
on_both_databases!(the_check_ins_arrive_at_their_local_times_once_across_a_daylight_saving_change);

async fn two_instances_and_a_restart_queue_each_step_once(db: TestDb) {
    within(DEADLINE, async {
        let scene = Scene::on(db, &[]).await;
        let jane = jane();
        treated_today(&scene, &jane).await;
        let onboarded = scene.sent_count(jane.chat_id);
        scene.clock.advance(Duration::days(1));
        // Two instances on one database look at the same moment.
        let other = scene.service.clone();
        let (a, b) = tokio::join!(
            timeline::queue_due_steps(&scene.service, scene.now()),
            timeline::queue_due_steps(&other, scene.now()),
        );
        assert_eq!(a.expect("queued") + b.expect("queued"), 1);
        // A restart before it was delivered: the new process looks again, then delivers.
        let again = timeline::queue_due_steps(&scene.service, scene.now())
            .await
            .expect("queued");
        assert_eq!(again, 0);
        scene.deliver().await;
        assert_eq!(scene.messages_after(jane.chat_id, onboarded).len(), 1);
        assert_eq!(
            scene
                .db
                .count("SELECT COUNT(*) FROM care_steps WHERE step = 'day-1'")
                .await,
            1
        );
    })
    .await;
}
on_both_databases!(two_instances_and_a_restart_queue_each_step_once);

async fn a_step_missed_while_the_bot_was_down_goes_out_when_it_is_back_only_if_still_in_time(
    db: TestDb,
) {
    within(DEADLINE, async {
        let scene = Scene::on(db, &[]).await;
        let jane = jane();
        // Tuesday 10 March 2026, 10:00 UTC.
        treated_today(&scene, &jane).await;
        let onboarded = scene.sent_count(jane.chat_id);
        // Down from before day 1 until day 4 at 09:30: day 1 is too late (no late days), day 3 is one day late
        // (it may be).
        pass_until(&scene, "2026-03-14T09:30:00Z").await;
        let sent = scene.messages_after(jane.chat_id, onboarded);
        assert_eq!(sent.len(), 1, "{sent:#?}");
        assert!(sent[0].text().contains("day 3"), "{sent:#?}");
    })
    .await;
}
on_both_databases!(
    a_step_missed_while_the_bot_was_down_goes_out_when_it_is_back_only_if_still_in_time
);

async fn nothing_is_sent_at_night_a_late_step_waits_for_the_morning(db: TestDb) {
    within(DEADLINE, async {
        let scene = Scene::on(db, &[]).await;
        let jane = jane();
        treated_today(&scene, &jane).await;
        let onboarded = scene.sent_count(jane.chat_id);
        // Down through day 3; back at 23:00 that night: outside the window until 09:00 on day 4.
        pass_until(&scene, "2026-03-13T23:00:00Z").await;
        pass_until(&scene, "2026-03-14T08:59:00Z").await;
        assert_eq!(scene.sent_count(jane.chat_id), onboarded);
        pass_until(&scene, "2026-03-14T09:00:00Z").await;
        assert!(scene.last_to(jane.chat_id).text().contains("day 3"));
    })
    .await;
}
on_both_databases!(nothing_is_sent_at_night_a_late_step_waits_for_the_morning);

async fn a_new_treatment_date_starts_the_timeline_again_and_drops_what_was_left_of_the_old_one(
    db: TestDb,
) {
    within(DEADLINE, async {
        let scene = Scene::on(db, &[]).await;
        let jane = jane();
        treated_today(&scene, &jane).await;
        pass_until(&scene, "2026-03-11T10:00:00Z").await;
        assert_eq!(check_ins(&scene, &jane).len(), 1);
        // The client corrects the date: treated today, the 11th.
        scene.client_text(&jane, "/treatment today").await;
        assert!(scene.last_to(jane.chat_id).text().contains("day 0"));
        // The old timeline's day 3 (the 13th) is dropped; the new one's day 1 (the 12th) and day 3 (the 14th) go.
        pass_until(&scene, "2026-03-12T10:00:00Z").await;
        pass_until(&scene, "2026-03-13T10:00:00Z").await;
        pass_until(&scene, "2026-03-14T10:00:00Z").await;
        let sent: Vec<String> = check_ins(&scene, &jane)
            .iter()
            .map(|s| s.text().to_string())
            .collect();
        assert_eq!(sent.len(), 3, "{sent:#?}");
        assert!(sent[1].contains("the day after"), "{sent:#?}");
        assert!(sent[2].contains("day 3"), "{sent:#?}");
    })
    .await;
}
on_both_databases!(
    a_new_treatment_date_starts_the_timeline_again_and_drops_what_was_left_of_the_old_one
);

async fn reminders_off_stops_them_and_on_starts_them_again(db: TestDb) {
    within(DEADLINE, async {
        let scene = Scene::on(db, &[]).await;
        let jane = jane();
        treated_today(&scene, &jane).await;
        scene.client_text(&jane, "/reminders off").await;
        assert!(
            scene
                .last_to(jane.chat_id)
                .text()
                .contains("no more check-ins")
        );
        scene.client_text(&jane, "/reminders").await;
        assert!(scene.last_to(jane.chat_id).text().contains("are off"));
        pass_until(&scene, "2026-03-11T12:00:00Z").await;
        assert!(check_ins(&scene, &jane).is_empty());

        scene.client_text(&jane, "/reminders on").await;
        assert!(scene.last_to(jane.chat_id).text().contains("I'll check in"));
        pass_until(&scene, "2026-03-13T10:00:00Z").await;
        let day_three = check_ins(&scene, &jane);
        assert_eq!(day_three.len(), 1, "{day_three:#?}");
        // The button under it stops them too.
        scene.press(&jane, day_three[0].id(), "v1:care:stop").await;
        assert!(
            scene
                .last_to(jane.chat_id)
                .text()
                .contains("no more check-ins")
        );
        pass_until(&scene, "2026-03-17T12:00:00Z").await;
        assert_eq!(check_ins(&scene, &jane).len(), 1);
    })
    .await;
}
on_both_databases!(reminders_off_stops_them_and_on_starts_them_again);

async fn all_fine_is_recorded_and_something_worries_me_asks_what_they_see_and_reads_the_answer(
    db: TestDb,
) {
    within(DEADLINE, async {
        let scene = Scene::on(db, &[]).await;
        let jane = jane();
        treated_today(&scene, &jane).await;
        pass_until(&scene, "2026-03-11T10:00:00Z").await;
        let day_one = scene.last_to(jane.chat_id);
        scene.press(&jane, day_one.id(), "v1:care:fine").await;
        assert!(scene.last_to(jane.chat_id).text().contains("Good to hear"));
        assert_eq!(
            scene
                .db
                .count("SELECT COUNT(*) FROM care_steps WHERE answer = 'fine'")
                .await,
            1
        );
        assert_eq!(scene.sent_count(STAFF), 0, "an answer raises nothing");

        pass_until(&scene, "2026-03-13T10:00:00Z").await;
        let day_three = scene.last_to(jane.chat_id);
        scene.press(&jane, day_three.id(), "v1:care:worried").await;
        let asked = scene.last_to(jane.chat_id);
        assert!(asked.text().contains("Tell me what you see"), "{asked:#?}");
        assert!(asked.text().contains("112"), "{asked:#?}");
        assert_eq!(scene.sent_count(STAFF), 0);
        scene
            .client_text(&jane, "there's yellow crust and pus on my chin")
            .await;
        assert_eq!(scene.sent_count(STAFF), 1, "the answer is triaged");
        assert!(scene.last_to(STAFF).text().contains("URGENT"));
        assert_eq!(
            scene
                .db
                .count("SELECT COUNT(*) FROM care_steps WHERE answer = 'worried'")
                .await,
            1
        );
        // Staff see it in /stats: two sent, one all fine, one followed by a report.
        scene.staff_command(&nurse(), "/stats").await;
        let stats = scene.last_to(STAFF);
        assert!(
            stats.text().contains(
                "Check-ins and reminders sent: 2, answered all fine: 1, followed by a report within 2 days: 1."
            ),
            "{stats:#?}"
        );
    })
    .await;
}
on_both_databases!(
    all_fine_is_recorded_and_something_worries_me_asks_what_they_see_and_reads_the_answer
);

async fn forget_leaves_no_schedule_and_a_client_without_consent_gets_none(db: TestDb) {
    within(DEADLINE, async {
        let scene = Scene::on(db, &[]).await;
        let jane = jane();
        treated_today(&scene, &jane).await;
        pass_until(&scene, "2026-03-11T10:00:00Z").await;
        assert_eq!(check_ins(&scene, &jane).len(), 1);
        scene.client_text(&jane, "/forget").await;
        let confirm = scene.last_to(jane.chat_id);
        scene.press(&jane, confirm.id(), "v1:forget:yes").await;
        assert_eq!(scene.db.count("SELECT COUNT(*) FROM care_steps").await, 0);
        assert_eq!(scene.db.count("SELECT COUNT(*) FROM treatments").await, 0);
        pass_until(&scene, "2026-03-13T10:00:00Z").await;
        assert_eq!(
            check_ins(&scene, &jane).len(),
            1,
            "nothing after forgetting"
        );

        // A client whose consent is withdrawn (as stored) gets nothing either.
        let bob = Person {
            user_id: 1002,
            chat_id: 1002,
            first_name: "Bob".into(),
            username: None,
        };
        treated_today(&scene, &bob).await;
        scene
            .execute("UPDATE clients SET consent = FALSE WHERE telegram_user_id = 1002")
            .await;
        pass_until(&scene, "2026-03-14T10:00:00Z").await;
        assert!(check_ins(&scene, &bob).is_empty());
    })
    .await;
}
on_both_databases!(forget_leaves_no_schedule_and_a_client_without_consent_gets_none);

async fn staff_see_what_is_due_today_and_tomorrow(db: TestDb) {
    within(DEADLINE, async {
        let scene = Scene::on(db, &[]).await;
        scene.staff_command(&nurse(), "/due").await;
        assert!(scene.last_to(STAFF).text().contains("No check-ins"));
        let jane = jane();
        // Treated on Tuesday the 10th: her day-1 check-in is tomorrow at 10:00.
        treated_today(&scene, &jane).await;
        scene.staff_command(&nurse(), "/due").await;
        let due = scene.last_to(STAFF);
        assert!(due.text().contains("Due today and tomorrow: 1"), "{due:#?}");
        assert!(
            due.text().contains("Wed 11 Mar 10:00 — Jane, day-1"),
            "{due:#?}"
        );
        // Once sent, it is no longer due; day 3 is not tomorrow yet.
        pass_until(&scene, "2026-03-11T10:00:00Z").await;
        scene.staff_command(&nurse(), "/due").await;
        assert!(scene.last_to(STAFF).text().contains("No check-ins"));
        pass_until(&scene, "2026-03-12T08:00:00Z").await;
        scene.staff_command(&nurse(), "/due").await;
        assert!(
            scene
                .last_to(STAFF)
                .text()
                .contains("Fri 13 Mar 10:00 — Jane, day-3"),
            "{:#?}",
            scene.last_to(STAFF)
        );
    })
    .await;
}
on_both_databases!(staff_see_what_is_due_today_and_tomorrow);

/// The clinic's settings for start links.
const LINKS: &[(&str, &str)] = &[
    ("AFTERCARE_LINK_SECRET", "a-test-secret-of-enough-length"),
    ("AFTERCARE_BOT_USERNAME", "ClinicBot"),
];

fn person(id: i64, name: &str) -> Person {
    Person {
        user_id: id,
        chat_id: id,
        first_name: name.into(),
        username: None,
    }
}

/// `/link <date>` in the staff chat; returns the link's token.
async fn staff_link(scene: &Scene, date: &str) -> String {
    scene
        .staff_command(&nurse(), &format!("/link {date}"))
        .await;
    let made = scene.last_to(STAFF);
    let text = made.text();
    let at = text
        .find("https://t.me/ClinicBot?start=")
        .unwrap_or_else(|| panic!("no link in {text:?}"));
    text[at + "https://t.me/ClinicBot?start=".len()..]
        .split_whitespace()
        .next()
        .expect("a token")
        .to_string()
}

async fn start_links_set_the_date_once_and_refuse_forged_expired_and_reused_ones(db: TestDb) {
    within(DEADLINE, async {
        let scene = Scene::on(db, LINKS).await;
        // Tuesday 10 March; the card is for a treatment on Sunday the 8th.
        let token = staff_link(&scene, "2026-03-08").await;
        assert!(token.len() <= 64, "{token}");
        // The link in words, then its QR code as an image (a PNG the bot made) with the link under it.
        let staff = scene.messages_to(STAFF);
        let [.., words, image] = staff.as_slice() else {
            panic!("{staff:#?}")
        };
        assert!(words.text().contains("Sunday 8 March"), "{words:#?}");
        assert!(
            matches!(image, Sent::Photo { file_id, .. } if file_id.starts_with("png:")),
            "{image:#?}"
        );
        assert!(image.text().ends_with(&token), "{image:#?}");

        let jane = jane();
        scene.client_text(&jane, &format!("/start {token}")).await;
        let welcome = scene.last_to(jane.chat_id);
        assert!(
            welcome
                .callback_data()
                .contains(&"v1:consent:yes".to_string())
        );
        assert_eq!(
            scene.db.count("SELECT COUNT(*) FROM treatments").await,
            0,
            "nothing before consent"
        );
        scene.press(&jane, welcome.id(), "v1:consent:yes").await;
        assert!(
            scene.last_to(jane.chat_id).text().contains("day 2 today"),
            "{:#?}",
            scene.last_to(jane.chat_id)
        );
        let client = scene.stored_client(&jane).await;
        assert_eq!(
            scene
                .store()
                .current_treatment(client.id)
                .await
                .expect("query"),
            Some("2026-03-08".parse().expect("date"))
        );
        // The timeline follows: day 3 (the 11th) comes; day 1 had passed before the date was known.
        pass_until(&scene, "2026-03-11T10:00:00Z").await;
        assert_eq!(check_ins(&scene, &jane).len(), 1);
        assert!(check_ins(&scene, &jane)[0].text().contains("day 3"));

        // The same link again, by someone else: used.
        let bob = person(1002, "Bob");
        scene.client_text(&bob, &format!("/start {token}")).await;
        let said = scene.messages_to(bob.chat_id);
        assert!(said[0].text().contains("already been used"), "{said:#?}");
        assert!(
            said[1]
                .callback_data()
                .contains(&"v1:consent:yes".to_string())
        );

        // A changed link: not ours.
        let mut forged: Vec<char> = staff_link(&scene, "today").await.chars().collect();
        forged[10] = if forged[10] == 'x' { 'y' } else { 'x' };
        let forged: String = forged.into_iter().collect();
        let carol = person(1003, "Carol");
        scene.client_text(&carol, &format!("/start {forged}")).await;
        assert!(
            scene.messages_to(carol.chat_id)[0]
                .text()
                .contains("isn't one I can read")
        );

        // A link kept too long: expired (14 days by default).
        let late = staff_link(&scene, "today").await;
        scene.pass(Duration::days(15)).await;
        let dan = person(1004, "Dan");
        scene.client_text(&dan, &format!("/start {late}")).await;
        assert!(scene.messages_to(dan.chat_id)[0].text().contains("expired"));
        assert_eq!(
            scene
                .db
                .count("SELECT COUNT(*) FROM start_links_used")
                .await,
            1
        );
    })
    .await;
}
on_both_databases!(start_links_set_the_date_once_and_refuse_forged_expired_and_reused_ones);

#[tokio::test]
async fn a_client_who_agreed_already_gets_the_links_date_at_once_and_without_a_secret_links_are_refused()
 {
    within(DEADLINE, async {
        let scene = Scene::on(fresh_sqlite().await, LINKS).await;
        let jane = jane();
        treated_today(&scene, &jane).await;
        let token = staff_link(&scene, "yesterday").await;
        scene.client_text(&jane, &format!("/start {token}")).await;
        assert!(scene.last_to(jane.chat_id).text().contains("day 1 today"));

        // A clinic without a secret cannot make or trust links.
        let plain = Scene::sqlite().await;
        plain.staff_command(&nurse(), "/link today").await;
        assert!(plain.last_to(STAFF).text().contains("not set up"));
        plain.client_text(&jane, &format!("/start {token}")).await;
        assert!(
            plain.messages_to(jane.chat_id)[0]
                .text()
                .contains("isn't one I can read")
        );
    })
    .await;
}
