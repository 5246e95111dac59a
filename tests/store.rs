//! The storage contract: every behaviour of `aftercare::store` checked on SQLite and on PostgreSQL alike.

mod support;

use support::db::count;

use aftercare::store::{
    AlertKind, Client, ClientId, Db, Direction, Escalation, EscalationStatus, MessageKind,
    NewMessage, NewOutbox, OutboxId, OutboxKind, Priority, ReceivedUpdate, ReportId, State,
    StoreError, StoredMessage, Transition, TriageRecord, UpdateId,
};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde_json::json;

const STAFF_CHAT: i64 = -100_555;

contract_tests!(
    migrating_again_changes_nothing,
    a_reminder_round_is_counted_once_by_racing_instances,
    upsert_creates_then_updates_a_client,
    clients_are_found_by_username_telegram_id_or_name,
    the_latest_treatment_date_is_the_current_one,
    the_inbox_keeps_updates_until_they_are_handled,
    messages_round_trip_with_their_triage,
    an_escalation_opens_together_with_its_alert_or_not_at_all,
    attaching_a_message_only_ever_raises_the_level,
    staff_chat_messages_map_back_to_their_escalation,
    acknowledge_and_resolve_move_forward_once,
    concurrent_staff_actions_have_exactly_one_winner,
    reminders_fall_due_for_unacknowledged_urgent_escalations,
    the_outbox_dedupes_retries_and_records_outcomes,
    forgetting_a_client_removes_everything_about_them,
    unanswered_lists_inbound_fallbacks_newest_first,
    stats_summarise_activity_since_an_instant,
    a_client_turn_brings_its_context,
    one_chats_sends_go_in_order_and_other_chats_go_on,
    sent_rows_are_pruned_oldest_first_and_nothing_else,
    retention_deletes_old_messages_and_resolved_reports_never_open_ones,
    an_update_is_marked_handled_once_with_what_it_caused,
    several_messages_are_stored_in_one_go_in_order,
    values_written_by_a_newer_version_are_read_safely,
);

// ---------------------------------------------------------------------------------------------------------------
// Not backend-specific

#[tokio::test]
async fn an_unknown_url_scheme_is_refused_naming_the_supported_ones() {
    for url in ["mysql://root@localhost/aftercare", "aftercare.db"] {
        let error = Db::connect(url)
            .await
            .expect_err("unsupported URL accepted");
        assert!(
            matches!(error, StoreError::UnsupportedUrl { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        assert!(message.contains(&format!("{scheme:?}")), "{message}");
        assert!(message.contains("sqlite://"), "{message}");
        assert!(message.contains("postgres://"), "{message}");
        assert!(
            !message.contains("root@localhost"),
            "the URL may hold credentials: {message}"
        );
    }
}

#[tokio::test]
async fn an_in_memory_sqlite_database_keeps_its_data_across_calls() {
    let db = Db::connect("sqlite::memory:")
        .await
        .expect("open in-memory SQLite");
    db.migrate().await.expect("migrate");
    assert_eq!(db.backend_name(), "sqlite");
    let client = db
        .upsert_client(1, 1, "Ada", None, at(0))
        .await
        .expect("upsert");
    assert_eq!(db.client(client.id).await.expect("read"), Some(client));
}

#[tokio::test]
async fn sqlite_busy_with_a_write_still_answers_that_it_is_there() {
    let test_db = support::db::fresh_sqlite().await;
    // The pool's one connection is held by a write, as during a burst of turns.
    let write = test_db.db.write().await.expect("a write transaction");
    let answered = tokio::time::timeout(
        std::time::Duration::from_millis(700),
        test_db.db.reachable(),
    )
    .await
    .expect("asked without waiting for the writer");
    assert!(answered, "busy is not away");
    drop(write);
}

// ---------------------------------------------------------------------------------------------------------------
// Handling an update: one transaction

async fn an_update_is_marked_handled_once_with_what_it_caused(db: &Db) {
    let client = add_client(db, 1).await;
    let update = ReceivedUpdate {
        update_id: 42,
        chat_id: Some(client.chat_id),
        raw: "{\"message\": \"hello\"}".into(),
    };
    db.receive_updates(&[update], at(0)).await.expect("receive");
    let message = NewMessage {
        client_id: client.id,
        direction: Direction::In,
        telegram_message_id: Some(7),
        kind: MessageKind::Text,
        text: Some("hello".into()),
        photo_file_id: None,
        triage: None,
        escalation_id: None,
        at: at(1),
    };
    let handle = async || -> bool {
        let mut tx = db.write().await.expect("begin");
        if !tx.finish_update(UpdateId(42), at(1)).await.expect("mark") {
            return false;
        }
        tx.record_messages(std::slice::from_ref(&message))
            .await
            .expect("store");
        tx.set_state(client.id, State::Ready).await.expect("state");
        tx.commit().await.expect("commit");
        true
    };
    assert!(handle().await, "the first attempt commits");
    assert!(!handle().await, "a second attempt finds it handled");
    assert_eq!(
        db.client_messages(client.id, 10).await.expect("read").len(),
        1
    );
    assert!(db.pending_updates(10).await.expect("inbox").is_empty());
    assert_eq!(
        text_where(db, "SELECT raw FROM inbox WHERE update_id = $1", 42).await,
        "",
        "the update's content is emptied as it is marked"
    );

    // Dropped without commit, a transaction leaves nothing: neither the mark nor what it wrote.
    let other = ReceivedUpdate {
        update_id: 43,
        chat_id: Some(client.chat_id),
        raw: "{}".into(),
    };
    db.receive_updates(&[other], at(2)).await.expect("receive");
    {
        let mut tx = db.write().await.expect("begin");
        assert!(tx.finish_update(UpdateId(43), at(2)).await.expect("mark"));
        tx.record_messages(std::slice::from_ref(&message))
            .await
            .expect("store");
    }
    assert_eq!(
        db.client_messages(client.id, 10).await.expect("read").len(),
        1
    );
    assert_eq!(db.pending_updates(10).await.expect("inbox").len(), 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Clients

async fn migrating_again_changes_nothing(db: &Db) {
    add_client(db, 1).await;
    db.migrate().await.expect("second migration run");
    assert_eq!(count(db, "SELECT COUNT(*) FROM clients").await, 1);
}

async fn upsert_creates_then_updates_a_client(db: &Db) {
    let created = db
        .upsert_client(1001, 501, "Anna", Some("anna_k"), at(0))
        .await
        .expect("create");
    assert_eq!(created.telegram_user_id, 1001);
    assert_eq!(created.chat_id, 501);
    assert_eq!(created.first_name, "Anna");
    assert_eq!(created.username.as_deref(), Some("anna_k"));
    assert_eq!(created.consent, None);
    assert_eq!(created.consent_at, None);
    assert_eq!(created.state, State::New);
    assert_eq!((created.created_at, created.updated_at), (at(0), at(0)));

    db.set_consent(created.id, true, at(1))
        .await
        .expect("consent");
    db.set_state(created.id, State::AwaitingDate)
        .await
        .expect("state");

    let updated = db
        .upsert_client(1001, 502, "Anna-Maria", None, at(2))
        .await
        .expect("update");
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.chat_id, 502);
    assert_eq!(updated.first_name, "Anna-Maria");
    assert_eq!(updated.username, None);
    assert_eq!(updated.consent, Some(true), "an upsert keeps consent");
    assert_eq!(updated.consent_at, Some(at(1)));
    assert_eq!(
        updated.state,
        State::AwaitingDate,
        "an upsert keeps the dialogue state"
    );
    assert_eq!((updated.created_at, updated.updated_at), (at(0), at(2)));

    assert_eq!(
        db.client(created.id).await.expect("by id"),
        Some(updated.clone())
    );
    assert_eq!(
        db.client_by_telegram_id(1001)
            .await
            .expect("by telegram id"),
        Some(updated)
    );
    assert_eq!(
        db.client(ClientId(created.id.get() + 1000))
            .await
            .expect("missing by id"),
        None
    );
    assert_eq!(
        db.client_by_telegram_id(9999).await.expect("missing by tg"),
        None
    );

    db.set_consent(created.id, false, at(3))
        .await
        .expect("withdraw consent");
    let withdrawn = db.client(created.id).await.expect("read").expect("exists");
    assert_eq!(
        (withdrawn.consent, withdrawn.consent_at),
        (Some(false), Some(at(3)))
    );

    let missing = db
        .set_state(ClientId(created.id.get() + 1000), State::Ready)
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { what: "client", .. })),
        "{missing:?}"
    );
}

async fn clients_are_found_by_username_telegram_id_or_name(db: &Db) {
    let anna = db
        .upsert_client(1001, 1001, "Anna", Some("Anna_K"), at(0))
        .await
        .expect("anna");
    let joanna = db
        .upsert_client(1002, 1002, "Joanna", None, at(0))
        .await
        .expect("joanna");
    let bob = db
        .upsert_client(1003, 1003, "Bob", Some("bobby"), at(0))
        .await
        .expect("bob");
    let percent = db
        .upsert_client(1004, 1004, "50%_Off", None, at(0))
        .await
        .expect("percent");

    let ids = async |query: &str| -> Vec<ClientId> {
        let found = db.find_clients(query).await.expect("find");
        found.iter().map(|client| client.id).collect()
    };
    assert_eq!(ids("@anna_k").await, [anna.id]);
    assert_eq!(
        ids("ANNA_K").await,
        [anna.id],
        "usernames match ignoring case"
    );
    assert_eq!(
        ids("anna").await,
        [anna.id, joanna.id],
        "name substrings, ignoring case"
    );
    assert_eq!(ids("  1003 ").await, [bob.id]);
    assert_eq!(
        ids("%").await,
        [percent.id],
        "LIKE wildcards in the query match literally"
    );
    assert_eq!(ids("_").await, [percent.id]);
    assert_eq!(ids("nobody").await, Vec::<ClientId>::new());
    assert_eq!(ids("   ").await, Vec::<ClientId>::new());

    // An exact username match comes before name matches.
    let anne = db
        .upsert_client(1005, 1005, "Anne", Some("ann"), at(0))
        .await
        .expect("anne");
    assert_eq!(ids("ann").await, [anne.id, anna.id, joanna.id]);

    for number in 0..12 {
        add_client(db, 2000 + number).await;
    }
    assert_eq!(
        db.find_clients("client").await.expect("find many").len(),
        10
    );
}

async fn the_latest_treatment_date_is_the_current_one(db: &Db) {
    let client = add_client(db, 1).await;
    let other = add_client(db, 2).await;
    assert_eq!(
        db.current_treatment(client.id).await.expect("none yet"),
        None
    );

    db.add_treatment(client.id, date(2025, 2, 10), at(0))
        .await
        .expect("add");
    // Entered later but earlier in the calendar: the client corrected the date (/treatment), so it counts.
    db.add_treatment(client.id, date(2025, 1, 5), at(1))
        .await
        .expect("add");
    db.add_treatment(other.id, date(2025, 3, 20), at(2))
        .await
        .expect("add");
    assert_eq!(
        db.current_treatment(client.id).await.expect("read"),
        Some(date(2025, 1, 5))
    );

    db.add_treatment(client.id, date(2025, 3, 1), at(3))
        .await
        .expect("add");
    assert_eq!(
        db.current_treatment(client.id).await.expect("read"),
        Some(date(2025, 3, 1))
    );
}

fn received(update_id: i64, chat_id: Option<i64>) -> ReceivedUpdate {
    ReceivedUpdate {
        update_id,
        chat_id,
        raw: format!("{{\"update_id\":{update_id}}}"),
    }
}

async fn the_inbox_keeps_updates_until_they_are_handled(db: &Db) {
    let batch = [
        received(42, Some(7)),
        received(41, Some(7)),
        received(43, None),
    ];
    assert_eq!(
        db.receive_updates(&batch, at(0)).await.expect("store"),
        [42, 41, 43],
        "all new, in the batch's order"
    );
    // Telegram sends 42 again (not confirmed before a crash) with a new one.
    let again = [received(42, Some(7)), received(44, Some(8))];
    assert_eq!(
        db.receive_updates(&again, at(1)).await.expect("store"),
        [44],
        "a redelivery is recognised"
    );
    let pending = db.pending_updates(10).await.expect("pending");
    let ids: Vec<i64> = pending.iter().map(|u| u.update_id).collect();
    assert_eq!(ids, [41, 42, 43, 44], "oldest first");
    assert_eq!(pending[0].raw, "{\"update_id\":41}");
    assert_eq!(pending[0].chat_id, Some(7));
    assert_eq!(db.pending_updates(2).await.expect("pending").len(), 2);

    db.finish_update(41, at(2)).await.expect("finish");
    assert_eq!(
        db.update_failed(42, "storage hiccup")
            .await
            .expect("failed"),
        1
    );
    assert_eq!(
        db.update_failed(42, "storage hiccup")
            .await
            .expect("failed"),
        2
    );
    assert!(
        db.update_failed(99, "unknown").await.is_err(),
        "no such update"
    );
    let pending = db.pending_updates(10).await.expect("pending");
    assert_eq!(pending[0].update_id, 42);
    assert_eq!(pending[0].attempts, 2);
    db.set_update_aside(42, "kept failing", at(3))
        .await
        .expect("aside");
    let ids: Vec<i64> = db
        .pending_updates(10)
        .await
        .expect("pending")
        .iter()
        .map(|u| u.update_id)
        .collect();
    assert_eq!(
        ids,
        [43, 44],
        "handled and set-aside updates are not pending"
    );
    db.finish_updates(&[43, 44], at(3))
        .await
        .expect("finish several");
    assert!(db.pending_updates(10).await.expect("pending").is_empty());
    assert_eq!(db.updates_set_aside().await.expect("count"), 1);
    assert_eq!(
        text_where(db, "SELECT raw FROM inbox WHERE update_id = $1", 41).await,
        "",
        "nothing of a handled update is kept but its id"
    );
    assert!(
        db.receive_updates(&[received(41, Some(7))], at(4))
            .await
            .expect("store")
            .is_empty(),
        "a handled update delivered again is not handled again"
    );
    // Telegram update ids are 32-bit today; make sure the full range of the column works anyway.
    assert_eq!(
        db.receive_updates(&[received(i64::MAX, None)], at(4))
            .await
            .expect("large id"),
        [i64::MAX]
    );

    // Handled updates are pruned after a while; set-aside ones stay for staff.
    assert_eq!(db.forget_handled_updates(at(5)).await.expect("prune"), 3);
    assert_eq!(db.updates_set_aside().await.expect("count"), 1);
    assert!(db.reachable().await);
}

// ---------------------------------------------------------------------------------------------------------------
// Messages

async fn messages_round_trip_with_their_triage(db: &Db) {
    let client = add_client(db, 1).await;
    let question = NewMessage {
        telegram_message_id: Some(77),
        triage: Some(TriageRecord {
            intent: Some("redness_normal".to_owned()),
            category: "answered".to_owned(),
            escalation: "urgent".to_owned(),
            confidence: 0.875,
            red_flags: vec!["pus".to_owned(), "fever".to_owned()],
        }),
        ..inbound(client.id, "there is pus and I feel hot", at(1))
    };
    let answer = NewMessage {
        direction: Direction::Out,
        telegram_message_id: Some(78),
        ..inbound(client.id, "Please call the clinic now.", at(2))
    };
    let photo = NewMessage {
        kind: MessageKind::Photo,
        text: None,
        photo_file_id: Some("AgACAgIAAxk".to_owned()),
        triage: Some(TriageRecord {
            intent: None,
            category: "fallback".to_owned(),
            escalation: "none".to_owned(),
            confidence: 0.0,
            red_flags: vec![],
        }),
        ..inbound(client.id, "", at(3))
    };
    let mut ids = Vec::new();
    for message in [&question, &answer, &photo] {
        ids.push(db.record_message(message).await.expect("record"));
    }

    let stored = db.client_messages(client.id, 10).await.expect("read");
    let expected: Vec<StoredMessage> = [question, answer, photo]
        .into_iter()
        .zip(&ids)
        .map(|(message, id)| stored_form(message, *id))
        .collect();
    assert_eq!(stored, expected, "all fields survive, oldest first");

    let latest_two = db.client_messages(client.id, 2).await.expect("read latest");
    assert_eq!(
        latest_two,
        expected[1..],
        "the latest messages, still oldest first"
    );
    assert_eq!(
        db.client_history(client.id, 2).await.expect("history"),
        latest_two
    );

    let someone_else = add_client(db, 2).await;
    assert!(
        db.client_messages(someone_else.id, 10)
            .await
            .expect("read")
            .is_empty()
    );
}

async fn unanswered_lists_inbound_fallbacks_newest_first(db: &Db) {
    let anna = add_client(db, 1).await;
    let bob = add_client(db, 2).await;
    let fallback = |client_id, text, minute| NewMessage {
        triage: Some(triage("fallback", "none", &[])),
        ..inbound(client_id, text, at(minute))
    };
    let older = db
        .record_message(&fallback(anna.id, "asdfgh", 1))
        .await
        .expect("record");
    let answered = NewMessage {
        triage: Some(triage("answered", "none", &[])),
        ..inbound(anna.id, "can I wear makeup", at(2))
    };
    db.record_message(&answered).await.expect("record");
    let outbound = NewMessage {
        direction: Direction::Out,
        ..fallback(anna.id, "Sorry, I did not understand.", 3)
    };
    db.record_message(&outbound).await.expect("record");
    let newer = db
        .record_message(&fallback(bob.id, "what about sauna??", 4))
        .await
        .expect("record");

    let unanswered = db.unanswered(10).await.expect("unanswered");
    let found: Vec<(i64, ClientId)> = unanswered
        .iter()
        .map(|(message, client)| (message.id, client.id))
        .collect();
    assert_eq!(found, [(newer, bob.id), (older, anna.id)]);
    assert_eq!(unanswered[0].1, bob, "the whole client comes along");
    assert_eq!(unanswered[0].0.text.as_deref(), Some("what about sauna??"));

    let just_one = db.unanswered(1).await.expect("unanswered");
    assert_eq!(just_one.len(), 1);
    assert_eq!(just_one[0].0.id, newer);
}

// ---------------------------------------------------------------------------------------------------------------
// Escalations

async fn an_escalation_opens_together_with_its_alert_or_not_at_all(db: &Db) {
    let client = add_client(db, 1).await;
    let message = record_inbound(db, client.id, "yellow pus and fever", 1).await;
    let flags = vec!["pus".to_owned(), "fever".to_owned()];
    let payload = json!({"text": "🚨 Anna: yellow pus", "buttons": [["ack", 1], ["resolve", 1]]});
    let alert = NewOutbox {
        payload: payload.clone(),
        ..staff_alert("alert:first", at(1))
    };
    let escalation = db
        .open_escalation_with_alert(client.id, "urgent", &flags, message, at(1), alert)
        .await
        .expect("open");
    assert_eq!(escalation.client_id, client.id);
    assert_eq!(escalation.level, "urgent");
    assert_eq!(escalation.status, EscalationStatus::Open);
    assert_eq!(escalation.red_flags, flags);
    assert_eq!(escalation.first_message_id, message);
    assert_eq!(escalation.opened_at, at(1));
    assert_eq!(
        (escalation.alerted_at, escalation.last_alert_at),
        (None, None)
    );
    assert_eq!(escalation.acknowledged_at, None);
    assert_eq!(escalation.reminder_count, 0);

    assert_eq!(
        db.escalation(escalation.id).await.expect("read"),
        Some(escalation.clone())
    );
    assert_eq!(
        db.open_escalation_for_client(client.id)
            .await
            .expect("open one"),
        Some(escalation.clone())
    );
    let linked = db.client_messages(client.id, 1).await.expect("messages");
    assert_eq!(linked[0].escalation_id, Some(escalation.id));

    let due = db.due_outbox(at(1), 10).await.expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!(
        due[0].escalation_id,
        Some(escalation.id),
        "the alert points at its escalation"
    );
    assert_eq!(due[0].chat_id, STAFF_CHAT);
    assert_eq!(due[0].payload, payload);

    // Every failure below must leave no trace: no escalation, no linked message, no queued alert.
    let snapshot = table_counts(db).await;

    let second = record_inbound(db, client.id, "and now it is bleeding", 2).await;
    let again = db
        .open_escalation_with_alert(
            client.id,
            "emergency",
            &flags,
            second,
            at(2),
            staff_alert("alert:2", at(2)),
        )
        .await;
    assert!(
        matches!(again, Err(StoreError::EscalationAlreadyOpen { escalation_id, .. }) if escalation_id == escalation.id),
        "{again:?}"
    );

    let other = add_client(db, 2).await;
    let snapshot = TableCounts {
        clients: snapshot.clients + 1,
        messages: snapshot.messages + 1,
        ..snapshot
    };
    let not_theirs = db
        .open_escalation_with_alert(
            other.id,
            "urgent",
            &flags,
            second,
            at(2),
            staff_alert("alert:3", at(2)),
        )
        .await;
    assert!(
        matches!(not_theirs, Err(StoreError::NotFound { .. })),
        "{not_theirs:?}"
    );

    let their_message = record_inbound(db, other.id, "swollen", 3).await;
    let snapshot = TableCounts {
        messages: snapshot.messages + 1,
        ..snapshot
    };
    let reused_key = db
        .open_escalation_with_alert(
            other.id,
            "urgent",
            &flags,
            their_message,
            at(3),
            staff_alert("alert:first", at(3)),
        )
        .await;
    assert!(
        matches!(reused_key, Err(StoreError::DuplicateDedupeKey(_))),
        "{reused_key:?}"
    );

    assert_eq!(table_counts(db).await, snapshot);
    assert_eq!(
        db.open_escalation_for_client(other.id).await.expect("none"),
        None
    );
    assert!(
        db.client_messages(other.id, 10).await.expect("messages")[0]
            .escalation_id
            .is_none(),
        "the rolled-back escalation left its link behind"
    );

    let unknown_level = db
        .open_escalation_with_alert(
            other.id,
            "apocalyptic",
            &flags,
            their_message,
            at(3),
            staff_alert("x", at(3)),
        )
        .await;
    assert!(
        matches!(unknown_level, Err(StoreError::UnknownLevel(_))),
        "{unknown_level:?}"
    );
}

async fn attaching_a_message_only_ever_raises_the_level(db: &Db) {
    let client = add_client(db, 1).await;
    let escalation = open_escalation(db, &client, "routine", 0).await;

    let worse = record_inbound(db, client.id, "now there is pus", 1).await;
    assert!(
        db.attach_message(escalation.id, worse, Some("urgent"))
            .await
            .expect("attach")
    );
    assert_eq!(level_of(db, escalation.id).await, "urgent");

    let milder = record_inbound(db, client.id, "it looks a bit better", 2).await;
    assert!(
        !db.attach_message(escalation.id, milder, Some("routine"))
            .await
            .expect("attach")
    );
    let same = record_inbound(db, client.id, "still pus", 3).await;
    assert!(
        !db.attach_message(escalation.id, same, Some("urgent"))
            .await
            .expect("attach")
    );
    let plain = record_inbound(db, client.id, "thanks", 4).await;
    assert!(
        !db.attach_message(escalation.id, plain, None)
            .await
            .expect("attach")
    );
    assert_eq!(level_of(db, escalation.id).await, "urgent");

    let linked: Vec<Option<ReportId>> = db
        .client_messages(client.id, 10)
        .await
        .expect("messages")
        .iter()
        .map(|message| message.escalation_id)
        .collect();
    assert_eq!(linked, vec![Some(escalation.id); 5]);

    let unknown = db
        .attach_message(escalation.id, plain, Some("severe"))
        .await;
    assert!(
        matches!(unknown, Err(StoreError::UnknownLevel(_))),
        "{unknown:?}"
    );

    let stranger = add_client(db, 2).await;
    let theirs = record_inbound(db, stranger.id, "hello", 5).await;
    let wrong_client = db
        .attach_message(escalation.id, theirs, Some("emergency"))
        .await;
    assert!(
        matches!(wrong_client, Err(StoreError::NotFound { .. })),
        "{wrong_client:?}"
    );
    assert_eq!(
        level_of(db, escalation.id).await,
        "urgent",
        "a refused attach changes nothing"
    );
}

async fn staff_chat_messages_map_back_to_their_escalation(db: &Db) {
    let client = add_client(db, 1).await;
    let escalation = open_escalation(db, &client, "urgent", 0).await;
    assert_eq!(
        db.alert_message_id(escalation.id).await.expect("none yet"),
        None
    );

    db.record_alert_message(escalation.id, STAFF_CHAT, 7, AlertKind::Alert, at(1))
        .await
        .expect("alert");
    db.record_alert_message(escalation.id, STAFF_CHAT, 8, AlertKind::Followup, at(2))
        .await
        .expect("follow-up");
    db.record_alert_message(escalation.id, STAFF_CHAT, 9, AlertKind::Photo, at(2))
        .await
        .expect("photo");
    let stored = db
        .escalation(escalation.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(stored.alerted_at, Some(at(1)));
    assert_eq!(
        stored.last_alert_at,
        Some(at(1)),
        "follow-ups do not restart the reminder clock"
    );

    db.record_alert_message(escalation.id, STAFF_CHAT, 10, AlertKind::Reminder, at(30))
        .await
        .expect("reminder");
    // Recording the same chat message again (a retried send) is harmless.
    db.record_alert_message(escalation.id, STAFF_CHAT, 7, AlertKind::Alert, at(31))
        .await
        .expect("again");
    let stored = db
        .escalation(escalation.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        stored.alerted_at,
        Some(at(1)),
        "alerted_at is the first alert"
    );
    assert_eq!(stored.last_alert_at, Some(at(31)));

    for message_id in [7, 8, 9, 10] {
        let found = db
            .escalation_by_staff_message(STAFF_CHAT, message_id)
            .await
            .expect("lookup");
        assert_eq!(
            found.map(|found| found.id),
            Some(escalation.id),
            "message {message_id}"
        );
    }
    assert_eq!(
        db.escalation_by_staff_message(STAFF_CHAT, 11)
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        db.escalation_by_staff_message(-1, 7).await.expect("lookup"),
        None
    );
    assert_eq!(
        db.alert_message_id(escalation.id).await.expect("alert id"),
        Some((STAFF_CHAT, 7))
    );
}

async fn acknowledge_and_resolve_move_forward_once(db: &Db) {
    let client = add_client(db, 1).await;
    let escalation = open_escalation(db, &client, "urgent", 0).await;

    let Transition::Done(acknowledged) = db
        .acknowledge(escalation.id, 11, "Nurse Ana", at(5))
        .await
        .expect("ack")
    else {
        panic!("the first acknowledgement must take effect");
    };
    assert_eq!(acknowledged.status, EscalationStatus::Acknowledged);
    assert_eq!(acknowledged.acknowledged_by_id, Some(11));
    assert_eq!(
        acknowledged.acknowledged_by_name.as_deref(),
        Some("Nurse Ana")
    );
    assert_eq!(acknowledged.acknowledged_at, Some(at(5)));

    let again = db
        .acknowledge(escalation.id, 12, "Dr Ben", at(6))
        .await
        .expect("ack again");
    assert_eq!(
        again,
        Transition::Already(acknowledged.clone()),
        "the first acknowledger stays"
    );
    assert_eq!(
        db.open_escalation_for_client(client.id)
            .await
            .expect("still open"),
        Some(acknowledged.clone()),
        "acknowledged is not resolved"
    );

    let Transition::Done(resolved) = db
        .resolve(escalation.id, 12, "Dr Ben", at(20))
        .await
        .expect("resolve")
    else {
        panic!("resolving an acknowledged escalation must take effect");
    };
    assert_eq!(resolved.status, EscalationStatus::Resolved);
    assert_eq!(
        (
            resolved.resolved_by_id,
            resolved.resolved_by_name.as_deref(),
            resolved.resolved_at
        ),
        (Some(12), Some("Dr Ben"), Some(at(20)))
    );
    assert_eq!(
        resolved.acknowledged_by_id,
        Some(11),
        "resolving keeps the acknowledgement"
    );
    assert_eq!(resolved.acknowledged_at, Some(at(5)));

    assert_eq!(
        db.resolve(escalation.id, 11, "Nurse Ana", at(21))
            .await
            .expect("resolve again"),
        Transition::Already(resolved.clone())
    );
    assert_eq!(
        db.acknowledge(escalation.id, 11, "Nurse Ana", at(21))
            .await
            .expect("ack resolved"),
        Transition::Already(resolved)
    );
    assert_eq!(
        db.open_escalation_for_client(client.id)
            .await
            .expect("none open"),
        None
    );

    // Once resolved, the client can have a new escalation; resolving it straight away counts as acknowledging.
    let next = open_escalation(db, &client, "routine", 30).await;
    let Transition::Done(resolved) = db
        .resolve(next.id, 13, "Cleo", at(45))
        .await
        .expect("resolve")
    else {
        panic!("resolving an open escalation must take effect");
    };
    assert_eq!(
        (
            resolved.acknowledged_by_id,
            resolved.acknowledged_by_name.as_deref(),
            resolved.acknowledged_at
        ),
        (Some(13), Some("Cleo"), Some(at(45)))
    );

    let missing = ReportId(next.id.get() + 1000);
    assert_eq!(
        db.acknowledge(missing, 1, "x", at(50)).await.expect("ack"),
        Transition::NotFound
    );
    assert_eq!(
        db.resolve(missing, 1, "x", at(50)).await.expect("resolve"),
        Transition::NotFound
    );
}

async fn concurrent_staff_actions_have_exactly_one_winner(db: &Db) {
    for round in 0..5 {
        let client = add_client(db, 100 + round).await;
        let escalation = open_escalation(db, &client, "emergency", 0).await;
        let id = escalation.id;

        let acknowledges = race(db, move |db, staff| async move {
            db.acknowledge(id, staff, "staff", at(1)).await
        })
        .await;
        let winner = sole_winner(&acknowledges, "acknowledge");
        let stored = db.escalation(id).await.expect("read").expect("exists");
        assert_eq!(
            stored.acknowledged_by_id, winner.acknowledged_by_id,
            "the winner's acknowledgement is stored"
        );

        let resolves = race(db, move |db, staff| async move {
            db.resolve(id, staff, "staff", at(2)).await
        })
        .await;
        let winner = sole_winner(&resolves, "resolve");
        assert_eq!(winner.status, EscalationStatus::Resolved);
    }
}

/// Runs the same staff action as staff 1 and staff 2 at the same time, on separate tasks and connections.
async fn race<Action, Outcome>(db: &Db, action: Action) -> [Transition; 2]
where
    Action: Fn(Db, i64) -> Outcome,
    Outcome: Future<Output = Result<Transition, StoreError>> + Send + 'static,
{
    let first = tokio::spawn(action(db.clone(), 1));
    let second = tokio::spawn(action(db.clone(), 2));
    let (first, second) = tokio::join!(first, second);
    [
        first.expect("task").expect("first action"),
        second.expect("task").expect("second action"),
    ]
}

fn sole_winner<'a>(outcomes: &'a [Transition; 2], action: &str) -> &'a Escalation {
    let winners: Vec<&Escalation> = outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Transition::Done(escalation) => Some(escalation),
            _ => None,
        })
        .collect();
    let losers = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Transition::Already(_)))
        .count();
    assert_eq!((winners.len(), losers), (1, 1), "{action}: {outcomes:?}");
    winners[0]
}

async fn reminders_fall_due_for_unacknowledged_urgent_escalations(db: &Db) {
    let every = TimeDelta::minutes(10);
    let urgent = alerted_escalation(db, 1, "urgent").await;
    let emergency = alerted_escalation(db, 2, "emergency").await;
    alerted_escalation(db, 3, "routine").await;
    let acknowledged = alerted_escalation(db, 4, "urgent").await;
    db.acknowledge(acknowledged.id, 9, "Ana", at(5))
        .await
        .expect("ack");
    let never_alerted = add_client(db, 5).await;
    open_escalation(db, &never_alerted, "emergency", 0).await;

    let due_ids = async |minute| -> Vec<ReportId> {
        let due = db.due_reminders(at(minute), every).await.expect("due");
        due.iter().map(|escalation| escalation.id).collect()
    };
    assert_eq!(due_ids(9).await, Vec::<ReportId>::new());
    assert_eq!(due_ids(10).await, [urgent.id, emergency.id]);

    db.note_reminder(urgent.id, at(10)).await.expect("note");
    let reminded = db
        .escalation(urgent.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (reminded.reminder_count, reminded.last_alert_at),
        (1, Some(at(10)))
    );
    assert_eq!(due_ids(15).await, [emergency.id]);
    assert_eq!(
        due_ids(20).await,
        [emergency.id, urgent.id],
        "longest waiting first"
    );

    db.note_reminder(urgent.id, at(20)).await.expect("note");
    let reminded = db
        .escalation(urgent.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(reminded.reminder_count, 2);

    let missing = db
        .note_reminder(ReportId(urgent.id.get() + 1000), at(20))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
}

/// Instances sharing a database all look for due reminders: a round is counted by the first that notes it, and
/// one that read the report before that (or after it was acknowledged) counts nothing, so it queues nothing.
async fn a_reminder_round_is_counted_once_by_racing_instances(db: &Db) {
    let urgent = alerted_escalation(db, 1, "urgent").await;
    let note = async |round, minute| {
        let mut tx = db.write().await.expect("begin");
        let noted = tx
            .note_reminder_round(urgent.id, round, at(minute))
            .await
            .expect("note");
        tx.commit().await.expect("commit");
        noted
    };
    assert!(note(1, 10).await, "the first instance counts round 1");
    assert!(
        !note(1, 10).await,
        "the second, having read round 0, counts nothing"
    );
    let reminded = db
        .escalation(urgent.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (reminded.reminder_count, reminded.last_alert_at),
        (1, Some(at(10)))
    );
    db.acknowledge(urgent.id, 9, "Ana", at(12))
        .await
        .expect("ack");
    assert!(!note(2, 20).await, "no round once acknowledged");
}

/// A dialogue state or an outbox kind this version does not know (a newer version wrote it, sharing the database)
/// is read, not an error: the state as New, the kind as none (the worker gives such an item up).
async fn values_written_by_a_newer_version_are_read_safely(db: &Db) {
    let client = add_client(db, 1).await;
    db.set_state(client.id, State::ConfirmForget)
        .await
        .expect("state");
    execute_where(
        db,
        "UPDATE clients SET state = 'awaiting_photo' WHERE id = $1",
        client.id.get(),
    )
    .await;
    let read = db.client(client.id).await.expect("read").expect("exists");
    assert_eq!(read.state, State::New);
    let turn = db
        .client_turn(1, 1, "Client 1", None, at(1))
        .await
        .expect("turn");
    assert_eq!(turn.client.state, State::New);

    let queued = db
        .enqueue(&staff_alert("alert:future", at(1)))
        .await
        .expect("enqueue")
        .expect("new key");
    execute_where(
        db,
        "UPDATE outbox SET kind = 'carrier_pigeon' WHERE id = $1",
        queued.get(),
    )
    .await;
    let due = db.due_outbox(at(2), 10).await.expect("due");
    assert_eq!(
        due.iter()
            .map(|item| (item.id, item.kind))
            .collect::<Vec<_>>(),
        [(queued, None)]
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Outbox

async fn one_chats_sends_go_in_order_and_other_chats_go_on(db: &Db) {
    let (jane, john) = (add_client(db, 1).await, add_client(db, 2).await);
    let mut queued = Vec::new();
    for item in [send(&jane, 0), send(&john, 0), send(&jane, 1)] {
        queued.push(db.enqueue(&item).await.expect("enqueue").expect("queued"));
    }
    let [janes_first, johns, janes_second] = queued[..] else {
        panic!("three queued");
    };
    let due_ids = async |minute| -> Vec<OutboxId> {
        let due = db.due_outbox(at(minute), 10).await.expect("due");
        due.iter().map(|item| item.id).collect()
    };
    assert_eq!(due_ids(1).await, [janes_first, johns, janes_second]);
    // Jane's first is being sent by another worker (claimed) or waits for a retry: her second waits too.
    assert!(
        db.claim_outbox(janes_first, at(1), TimeDelta::seconds(30))
            .await
            .expect("claim")
    );
    assert_eq!(due_ids(1).await, [johns]);
    db.outbox_retry(janes_first, at(3), "429")
        .await
        .expect("retry");
    assert_eq!(due_ids(2).await, [johns]);
    assert_eq!(due_ids(3).await, [janes_first, johns, janes_second]);
    // Given up on, it holds nothing back.
    db.outbox_failed(janes_first, "403").await.expect("failed");
    assert_eq!(due_ids(3).await, [johns, janes_second]);

    // A pass claims, gives back and records several at once.
    let lease = TimeDelta::seconds(30);
    let mut claimed = db
        .claim_outboxes(&[johns, janes_second], at(3), lease)
        .await
        .expect("claim");
    claimed.sort();
    assert_eq!(claimed, [johns, janes_second]);
    let again = db
        .claim_outboxes(&[johns], at(3), lease)
        .await
        .expect("claim");
    assert!(again.is_empty(), "claimed once");
    db.release_outbox(&[janes_second], at(3))
        .await
        .expect("release");
    assert_eq!(due_ids(3).await, [janes_second], "given back: due again");
    let recorded = db
        .outbox_sent_all(&[(johns, Some(5)), (janes_second, None)], at(4))
        .await
        .expect("sent");
    assert_eq!(recorded, 2);
    assert_eq!(db.pending_outbox_count().await.expect("count"), 0);
}

/// A text to `client`, queued at `minute`.
fn send(client: &Client, minute: i64) -> NewOutbox {
    NewOutbox {
        kind: OutboxKind::Client,
        chat_id: client.chat_id,
        escalation_id: None,
        client_id: Some(client.id),
        payload: json!({"text": "hello"}),
        dedupe_key: None,
        priority: Priority::Routine,
        at: at(minute),
    }
}

async fn sent_rows_are_pruned_oldest_first_and_nothing_else(db: &Db) {
    let client = add_client(db, 1).await;
    let mut queued = Vec::new();
    for minute in 0..6 {
        queued.push(
            db.enqueue(&send(&client, minute))
                .await
                .expect("enqueue")
                .expect("queued"),
        );
    }
    let [sent_10, sent_20, sent_30, failed, pending, sent_100] = queued[..] else {
        panic!("six queued");
    };
    // Recorded out of queue order: the pruning goes by when a row was sent.
    for (id, minute) in [(sent_30, 30), (sent_10, 10), (sent_100, 100), (sent_20, 20)] {
        db.outbox_sent(id, Some(minute), at(minute))
            .await
            .expect("sent");
    }
    db.outbox_failed(failed, "403").await.expect("failed");
    let left = async || -> Vec<i64> {
        let mut ids = Vec::new();
        for id in &queued {
            if count_where(db, "SELECT COUNT(*) FROM outbox WHERE id = $1", id.get()).await == 1 {
                ids.push(id.get());
            }
        }
        ids
    };

    assert_eq!(
        db.prune_sent_outbox(at(25), 1).await.expect("prune"),
        1,
        "one per batch"
    );
    assert_eq!(db.prune_sent_outbox(at(25), 1).await.expect("prune"), 1);
    assert_eq!(
        db.prune_sent_outbox(at(25), 1).await.expect("prune"),
        0,
        "the rest is younger"
    );
    assert_eq!(
        left().await,
        [sent_30, failed, pending, sent_100].map(OutboxId::get),
        "the two sent before minute 25 went"
    );
    assert_eq!(
        db.prune_sent_outbox(at(30), 10).await.expect("prune"),
        0,
        "sent at 30 is not before 30"
    );
    assert_eq!(
        db.prune_sent_outbox(at(10_000), 10).await.expect("prune"),
        2
    );
    assert_eq!(
        left().await,
        [failed, pending].map(OutboxId::get),
        "pending and failed rows are never pruned, however old"
    );
    assert_eq!(db.pending_outbox_count().await.expect("count"), 1);
}

async fn retention_deletes_old_messages_and_resolved_reports_never_open_ones(db: &Db) {
    let client = add_client(db, 1).await;
    let old_question = record_inbound(db, client.id, "can i wear makeup", 0).await;
    // Resolved long ago, with a later message under it and its alert recorded.
    let resolved_long_ago = open_escalation(db, &client, "urgent", 0).await;
    let under_it = record_inbound(db, client.id, "still sore", 5).await;
    db.attach_message(resolved_long_ago.id, under_it, None)
        .await
        .expect("attach");
    db.record_alert_message(
        resolved_long_ago.id,
        STAFF_CHAT,
        501,
        AlertKind::Alert,
        at(0),
    )
    .await
    .expect("alert");
    db.resolve(resolved_long_ago.id, 11, "Nurse Ana", at(10))
        .await
        .expect("resolve");
    // As old, but resolved only after the cutoff; and another client's, still open.
    let other = add_client(db, 2).await;
    let resolved_lately = open_escalation(db, &client, "urgent", 20).await;
    db.resolve(resolved_lately.id, 11, "Nurse Ana", at(2_000))
        .await
        .expect("resolve");
    let still_open = open_escalation(db, &other, "emergency", 0).await;
    let recent = record_inbound(db, client.id, "thanks", 2_000).await;

    let mut batches = 0;
    let mut deleted = aftercare::store::Deleted::default();
    loop {
        let batch = db.delete_older_than(at(1_000), 1).await.expect("retention");
        if batch.total() == 0 {
            break;
        }
        batches += 1;
        deleted.reports += batch.reports;
        deleted.messages += batch.messages;
    }
    assert!(batches >= 3, "at most one row of a kind per batch");
    assert_eq!(deleted.reports, 1, "{deleted:?}");
    assert_eq!(
        deleted.messages, 3,
        "the old question and the old report's two: {deleted:?}"
    );
    let exists = async |table: &str, id: i64| {
        count_where(
            db,
            &format!("SELECT COUNT(*) FROM {table} WHERE id = $1"),
            id,
        )
        .await
            == 1
    };
    assert!(!exists("messages", old_question).await);
    assert!(!exists("messages", under_it).await);
    assert!(!exists("escalations", resolved_long_ago.id.get()).await);
    assert_eq!(
        count_where(
            db,
            "SELECT COUNT(*) FROM alert_messages WHERE escalation_id = $1",
            resolved_long_ago.id.get()
        )
        .await,
        0,
        "its alert's record went with it"
    );
    assert!(exists("escalations", resolved_lately.id.get()).await);
    assert!(exists("messages", resolved_lately.first_message_id).await);
    assert!(
        exists("escalations", still_open.id.get()).await,
        "open reports are never deleted"
    );
    assert!(exists("messages", still_open.first_message_id).await);
    assert!(exists("messages", recent).await);
    assert!(db.client(client.id).await.expect("client").is_some());
}

async fn the_outbox_dedupes_retries_and_records_outcomes(db: &Db) {
    let client = add_client(db, 1).await;
    let reply = |key: Option<&str>, minute| NewOutbox {
        kind: OutboxKind::Client,
        chat_id: client.chat_id,
        escalation_id: None,
        client_id: Some(client.id),
        payload: json!({"text": "hello", "nested": {"n": minute}}),
        dedupe_key: key.map(str::to_owned),
        priority: Priority::Routine,
        at: at(minute),
    };
    let first = db
        .enqueue(&reply(Some("reply:1"), 0))
        .await
        .expect("enqueue")
        .expect("new key");
    assert_eq!(
        db.enqueue(&reply(Some("reply:1"), 1))
            .await
            .expect("enqueue"),
        None
    );
    let second = db
        .enqueue(&reply(None, 1))
        .await
        .expect("enqueue")
        .expect("no key");
    let third = db
        .enqueue(&reply(None, 2))
        .await
        .expect("enqueue")
        .expect("no key");
    let later = db
        .enqueue(&reply(None, 60))
        .await
        .expect("enqueue")
        .expect("no key");
    assert_eq!(db.pending_outbox_count().await.expect("count"), 4);

    let due_ids = async |minute, limit| -> Vec<OutboxId> {
        let due = db.due_outbox(at(minute), limit).await.expect("due");
        due.iter().map(|item| item.id).collect()
    };
    assert_eq!(
        due_ids(2, 10).await,
        [first, second, third],
        "queue order; not before their time"
    );
    assert_eq!(due_ids(2, 2).await, [first, second]);

    let item = db.due_outbox(at(2), 1).await.expect("due").remove(0);
    assert_eq!(item.kind, Some(OutboxKind::Client));
    assert_eq!(
        (item.chat_id, item.client_id, item.escalation_id),
        (client.chat_id, Some(client.id), None)
    );
    assert_eq!(item.payload, json!({"text": "hello", "nested": {"n": 0}}));
    assert_eq!(item.dedupe_key.as_deref(), Some("reply:1"));
    assert_eq!(
        (item.attempts, item.next_attempt_at, item.created_at),
        (0, at(0), at(0))
    );
    assert_eq!(
        (item.last_error, item.sent_at, item.result_message_id),
        (None, None, None)
    );

    db.outbox_retry(first, at(5), "429: retry after 180")
        .await
        .expect("retry");
    assert_eq!(
        due_ids(2, 10).await,
        Vec::<OutboxId>::new(),
        "a retried item waits, and its chat's later items wait behind it"
    );
    db.outbox_sent(second, Some(555), at(2))
        .await
        .expect("sent");
    db.outbox_failed(third, "403: bot was blocked by the user")
        .await
        .expect("failed");
    assert_eq!(due_ids(4, 10).await, Vec::<OutboxId>::new());
    assert_eq!(
        db.pending_outbox_count().await.expect("count"),
        2,
        "the retried and the later one"
    );

    let retried = db.due_outbox(at(5), 10).await.expect("due").remove(0);
    assert_eq!(retried.id, first);
    assert_eq!(retried.attempts, 1);
    assert_eq!(retried.next_attempt_at, at(5));
    assert_eq!(retried.last_error.as_deref(), Some("429: retry after 180"));
    assert_eq!(due_ids(60, 10).await, [first, later]);

    let outcome = |id: OutboxId| {
        let sql = "SELECT status || ' ' || CAST(attempts AS TEXT) || ' ' || COALESCE(CAST(result_message_id AS TEXT), '-') \
                   || ' ' || COALESCE(CAST(sent_at AS TEXT), '-') || ' ' || COALESCE(last_error, '-') FROM outbox WHERE id = $1";
        text_where(db, sql, id.get())
    };
    assert_eq!(
        outcome(second).await,
        format!("sent 1 555 {} -", at(2).timestamp_millis())
    );
    assert_eq!(
        outcome(third).await,
        "failed 1 - - 403: bot was blocked by the user"
    );

    assert_eq!(
        db.enqueue(&reply(Some("reply:1"), 70))
            .await
            .expect("enqueue"),
        None,
        "a key stays taken after its item was sent"
    );
    let missing = db
        .outbox_sent(OutboxId(later.get() + 1000), None, at(70))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Forgetting

async fn forgetting_a_client_removes_everything_about_them(db: &Db) {
    let forgotten = add_client(db, 1).await;
    let kept = add_client(db, 2).await;
    for (client, key) in [(&forgotten, "f"), (&kept, "k")] {
        db.add_treatment(client.id, date(2025, 2, 1), at(0))
            .await
            .expect("treatment");
        record_inbound(db, client.id, "hello", 1).await;
        let escalation = open_escalation(db, client, "urgent", 2).await;
        let later = record_inbound(db, client.id, "worse now", 3).await;
        db.attach_message(escalation.id, later, Some("emergency"))
            .await
            .expect("attach");
        let message_id = if key == "f" { 70 } else { 80 };
        db.record_alert_message(
            escalation.id,
            STAFF_CHAT,
            message_id,
            AlertKind::Alert,
            at(3),
        )
        .await
        .expect("alert message");
        db.enqueue(&NewOutbox {
            client_id: Some(client.id),
            chat_id: client.chat_id,
            ..staff_alert(&format!("reply:{key}"), at(4))
        })
        .await
        .expect("client outbox item");
        db.enqueue(&NewOutbox {
            escalation_id: Some(escalation.id),
            ..staff_alert(&format!("reminder:{key}"), at(4))
        })
        .await
        .expect("escalation outbox item");
    }
    // An update of each client's set aside in the inbox, and one handled.
    for (update, chat) in [
        (1, forgotten.chat_id),
        (2, kept.chat_id),
        (3, forgotten.chat_id),
    ] {
        db.receive_updates(&[received(update, Some(chat))], at(0))
            .await
            .expect("update");
    }
    db.set_update_aside(1, "failing", at(1))
        .await
        .expect("aside");
    db.set_update_aside(2, "failing", at(1))
        .await
        .expect("aside");
    db.finish_update(3, at(1)).await.expect("finish");
    let before = table_counts(db).await;

    assert!(db.forget_client(forgotten.id).await.expect("forget"));

    let after = table_counts(db).await;
    assert_eq!(
        after,
        TableCounts {
            clients: before.clients - 1,
            treatments: before.treatments - 1,
            messages: before.messages - 3,
            escalations: before.escalations - 1,
            alert_messages: before.alert_messages - 1,
            // The escalation's alert, the client reply and the reminder.
            outbox: before.outbox - 3,
            // Its update set aside (its content); the handled one holds nothing of theirs.
            inbox: before.inbox - 1,
        },
        "before: {before:?}"
    );
    for (table, column) in [
        ("treatments", "client_id"),
        ("messages", "client_id"),
        ("escalations", "client_id"),
        ("outbox", "client_id"),
    ] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1");
        assert_eq!(
            count_where(db, &sql, forgotten.id.get()).await,
            0,
            "{table}"
        );
    }
    assert_eq!(db.client(forgotten.id).await.expect("read"), None);
    assert_eq!(
        db.escalation_by_staff_message(STAFF_CHAT, 70)
            .await
            .expect("lookup"),
        None
    );
    assert!(
        db.escalation_by_staff_message(STAFF_CHAT, 80)
            .await
            .expect("lookup")
            .is_some()
    );
    assert_eq!(
        db.current_treatment(kept.id).await.expect("kept"),
        Some(date(2025, 2, 1))
    );

    assert!(!db.forget_client(forgotten.id).await.expect("forget again"));
}

// ---------------------------------------------------------------------------------------------------------------
// Stats

async fn stats_summarise_activity_since_an_instant(db: &Db) {
    let since = at(100);
    let empty = db.stats(since).await.expect("stats");
    assert_eq!(
        (
            empty.clients,
            empty.inbound_messages,
            empty.open_escalations,
            empty.median_minutes_to_ack
        ),
        (0, 0, 0, None)
    );
    assert!(empty.escalations_by_level.is_empty());

    // Before `since`: one client, one message, one escalation still open.
    let old = db
        .upsert_client(1, 1, "Old", None, at(0))
        .await
        .expect("old");
    open_escalation(db, &old, "routine", 10).await;

    let (a, b, c) = (
        db.upsert_client(2, 2, "A", None, at(100)).await.expect("a"),
        db.upsert_client(3, 3, "B", None, at(110)).await.expect("b"),
        db.upsert_client(4, 4, "C", None, at(120)).await.expect("c"),
    );
    let urgent = open_escalation(db, &a, "urgent", 130).await;
    db.acknowledge(urgent.id, 9, "Ana", at(140))
        .await
        .expect("ack after 10 min");
    let routine = open_escalation(db, &b, "routine", 130).await;
    db.resolve(routine.id, 9, "Ana", at(160))
        .await
        .expect("resolve after 30 min");
    open_escalation(db, &c, "emergency", 150).await;
    let reply = NewMessage {
        direction: Direction::Out,
        ..inbound(a.id, "We will call you.", at(131))
    };
    db.record_message(&reply).await.expect("outbound");

    let stats = db.stats(since).await.expect("stats");
    assert_eq!(stats.clients, 3);
    assert_eq!(
        stats.inbound_messages, 3,
        "one per escalation opened since, outbound excluded"
    );
    assert_eq!(
        stats.escalations_by_level,
        [
            ("routine".to_owned(), 1),
            ("urgent".to_owned(), 1),
            ("emergency".to_owned(), 1)
        ]
    );
    assert_eq!(
        stats.open_escalations, 3,
        "the old one, the acknowledged one and the emergency"
    );
    assert_eq!(stats.median_minutes_to_ack, Some(20.0));
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/// Minute `minute` of the test day (2025-03-01 09:00 UTC), whole milliseconds as the store keeps them.
fn at(minute: i64) -> DateTime<Utc> {
    let start = DateTime::from_timestamp(1_740_819_600, 0).expect("valid start instant");
    start + TimeDelta::minutes(minute)
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("valid date")
}

async fn a_client_turn_brings_its_context(db: &Db) {
    let first = db
        .client_turn(7, 7, "Jane", Some("jane"), at(0))
        .await
        .expect("turn");
    assert_eq!(first.client.first_name, "Jane");
    assert_eq!((first.treated_on, first.open_escalation), (None, None));

    db.add_treatment(first.client.id, date(2025, 3, 1), at(1))
        .await
        .expect("add");
    db.add_treatment(first.client.id, date(2025, 2, 27), at(2))
        .await
        .expect("corrected");
    let message = db
        .record_message(&inbound(first.client.id, "pus", at(3)))
        .await
        .expect("message");
    let escalation = db
        .open_escalation_with_alert(
            first.client.id,
            "urgent",
            &[],
            message,
            at(3),
            staff_alert("turn", at(3)),
        )
        .await
        .expect("open");

    let next = db
        .client_turn(7, 7, "Jane B", None, at(4))
        .await
        .expect("turn");
    assert_eq!(next.client.id, first.client.id);
    assert_eq!(next.client.first_name, "Jane B");
    assert_eq!(
        next.treated_on,
        Some(date(2025, 2, 27)),
        "the date entered last counts"
    );
    assert_eq!(next.open_escalation, Some(escalation.id));
}

async fn several_messages_are_stored_in_one_go_in_order(db: &Db) {
    let client = add_client(db, 1).await;
    assert!(db.record_messages(&[]).await.expect("nothing").is_empty());
    let mut question = inbound(client.id, "can i wear makeup", at(1));
    question.triage = Some(triage("post-care", "none", &[]));
    let mut answer = inbound(client.id, "after 24 hours", at(1));
    answer.direction = Direction::Out;
    answer.triage = None;
    let ids = db
        .record_messages(&[question, answer])
        .await
        .expect("stored");
    assert_eq!(ids.len(), 2);
    let stored = db.client_messages(client.id, 10).await.expect("read");
    let by_id = |id: i64| stored.iter().find(|m| m.id == id).expect("stored message");
    assert_eq!(by_id(ids[0]).text.as_deref(), Some("can i wear makeup"));
    assert_eq!(by_id(ids[0]).direction, Direction::In);
    assert!(by_id(ids[0]).triage.is_some());
    assert_eq!(by_id(ids[1]).text.as_deref(), Some("after 24 hours"));
    assert_eq!(by_id(ids[1]).direction, Direction::Out);
}

async fn add_client(db: &Db, telegram_user_id: i64) -> Client {
    db.upsert_client(
        telegram_user_id,
        telegram_user_id,
        &format!("Client {telegram_user_id}"),
        None,
        at(0),
    )
    .await
    .expect("add client")
}

fn inbound(client_id: ClientId, text: &str, at: DateTime<Utc>) -> NewMessage {
    NewMessage {
        client_id,
        direction: Direction::In,
        telegram_message_id: None,
        kind: MessageKind::Text,
        text: Some(text.to_owned()),
        photo_file_id: None,
        triage: None,
        escalation_id: None,
        at,
    }
}

async fn record_inbound(db: &Db, client_id: ClientId, text: &str, minute: i64) -> i64 {
    db.record_message(&inbound(client_id, text, at(minute)))
        .await
        .expect("record message")
}

fn triage(category: &str, escalation: &str, red_flags: &[&str]) -> TriageRecord {
    TriageRecord {
        intent: None,
        category: category.to_owned(),
        escalation: escalation.to_owned(),
        confidence: 0.5,
        red_flags: red_flags.iter().map(|flag| (*flag).to_owned()).collect(),
    }
}

fn stored_form(message: NewMessage, id: i64) -> StoredMessage {
    StoredMessage {
        id,
        client_id: message.client_id,
        direction: message.direction,
        telegram_message_id: message.telegram_message_id,
        kind: message.kind,
        text: message.text,
        photo_file_id: message.photo_file_id,
        triage: message.triage,
        escalation_id: message.escalation_id,
        created_at: message.at,
    }
}

fn staff_alert(dedupe_key: &str, at: DateTime<Utc>) -> NewOutbox {
    NewOutbox {
        kind: OutboxKind::Alert,
        chat_id: STAFF_CHAT,
        escalation_id: None,
        client_id: None,
        payload: json!({"text": "alert"}),
        dedupe_key: Some(dedupe_key.to_owned()),
        priority: Priority::Routine,
        at,
    }
}

/// Opens an escalation from a new inbound message of the client, with a queued alert.
async fn open_escalation(db: &Db, client: &Client, level: &str, minute: i64) -> Escalation {
    let message = record_inbound(db, client.id, "it hurts", minute).await;
    let alert = staff_alert(&format!("alert:{message}"), at(minute));
    db.open_escalation_with_alert(
        client.id,
        level,
        &["pain".to_owned()],
        message,
        at(minute),
        alert,
    )
    .await
    .expect("open escalation")
}

/// An escalation opened and alerted to staff at minute 0.
async fn alerted_escalation(db: &Db, telegram_user_id: i64, level: &str) -> Escalation {
    let client = add_client(db, telegram_user_id).await;
    let escalation = open_escalation(db, &client, level, 0).await;
    db.record_alert_message(
        escalation.id,
        STAFF_CHAT,
        1000 + telegram_user_id,
        AlertKind::Alert,
        at(0),
    )
    .await
    .expect("alert message");
    escalation
}

async fn level_of(db: &Db, escalation_id: ReportId) -> String {
    db.escalation(escalation_id)
        .await
        .expect("read escalation")
        .expect("escalation exists")
        .level
}

/// Row counts of every table, to show that an operation touched exactly what it should.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TableCounts {
    clients: i64,
    treatments: i64,
    inbox: i64,
    messages: i64,
    escalations: i64,
    alert_messages: i64,
    outbox: i64,
}

async fn table_counts(db: &Db) -> TableCounts {
    TableCounts {
        clients: count(db, "SELECT COUNT(*) FROM clients").await,
        treatments: count(db, "SELECT COUNT(*) FROM treatments").await,
        inbox: count(db, "SELECT COUNT(*) FROM inbox").await,
        messages: count(db, "SELECT COUNT(*) FROM messages").await,
        escalations: count(db, "SELECT COUNT(*) FROM escalations").await,
        alert_messages: count(db, "SELECT COUNT(*) FROM alert_messages").await,
        outbox: count(db, "SELECT COUNT(*) FROM outbox").await,
    }
}

/// Runs a statement with one bound id; fails the test if it does not change exactly one row.
async fn execute_where(db: &Db, sql: &str, id: i64) {
    let done = match db {
        Db::Sqlite(pool) => sqlx::query(sql)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
        Db::Postgres(pool) => sqlx::query(sql)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
    };
    assert_eq!(
        done.unwrap_or_else(|error| panic!("{sql}: {error}")),
        1,
        "{sql}"
    );
}

async fn count_where(db: &Db, sql: &str, id: i64) -> i64 {
    let counted = match db {
        Db::Sqlite(pool) => sqlx::query_scalar(sql).bind(id).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(sql).bind(id).fetch_one(pool).await,
    };
    counted.unwrap_or_else(|error| panic!("{sql}: {error}"))
}

async fn text_where(db: &Db, sql: &str, id: i64) -> String {
    let text = match db {
        Db::Sqlite(pool) => sqlx::query_scalar(sql).bind(id).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(sql).bind(id).fetch_one(pool).await,
    };
    text.unwrap_or_else(|error| panic!("{sql}: {error}"))
}
