//! Tests of the fake Telegram Bot API (tests/support/fake_bot_api.rs), driven by a real
//! teloxide `Bot` so that every answer is known to deserialize.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::fake_bot_api::*;
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, CallbackQueryId, ChatAction, ChatMemberKind, InlineKeyboardButton,
    InlineKeyboardMarkup, InputFile, KeyboardButton, KeyboardMarkup, MediaKind, MessageId,
    MessageKind, ReplyParameters, UpdateKind, UserId,
};
use teloxide::{ApiError, RequestError};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn bot_for(api: &FakeBotApi) -> Result<Bot, Box<dyn std::error::Error + Send + Sync>> {
    Ok(Bot::new(api.token()).set_api_url(api.url().parse()?))
}

fn alice() -> support::fake_bot_api::User {
    support::fake_bot_api::User::new(1001, "Alice").with_username("alice")
}

const STAFF: i64 = -100_555;

fn keyboard() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(vec![vec![
        InlineKeyboardButton::callback("Take", "take:1"),
        InlineKeyboardButton::callback("Done", "done:1"),
    ]])
}

#[tokio::test]
async fn url_has_no_trailing_slash_and_token_is_fixed() {
    let api = FakeBotApi::start().await;
    assert!(api.url().starts_with("http://127.0.0.1:"));
    assert!(!api.url().ends_with('/'));
    assert_eq!(api.token(), "123456:TEST-token");
}

#[tokio::test]
async fn get_me_works() -> TestResult {
    let api = FakeBotApi::start().await;
    let me = bot_for(&api)?.get_me().await?;
    assert_eq!(me.id, UserId(4242));
    assert!(me.is_bot);
    assert_eq!(me.first_name, "Aftercare");
    assert_eq!(me.username(), "aftercare_test_bot");
    let calls = api.calls_to("getMe");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].method, "getme");
    assert!(!calls[0].failed);
    Ok(())
}

#[tokio::test]
async fn send_message_ids_increment_and_calls_are_recorded() -> TestResult {
    let api = FakeBotApi::start().await;
    let bot = bot_for(&api)?;
    let m1 = bot.send_message(ChatId(1001), "first").await?;
    let m2 = bot
        .send_message(ChatId(1001), "second")
        .reply_markup(keyboard())
        .reply_parameters(ReplyParameters::new(m1.id))
        .await?;
    assert_eq!(m2.id.0, m1.id.0 + 1);
    assert_eq!(m1.text(), Some("first"));
    assert!(m1.chat.is_private());
    assert_eq!(m1.from.as_ref().map(|u| u.id), Some(UserId(4242)));
    assert_eq!(m2.reply_markup(), Some(&keyboard()));
    assert_eq!(m2.reply_to_message().map(|r| r.id), Some(m1.id));
    assert_eq!(m2.reply_to_message().and_then(|r| r.text()), Some("first"));

    // A group: supergroup with a title.
    let g = bot.send_message(ChatId(STAFF), "alert").await?;
    assert!(g.chat.is_supergroup());
    assert!(g.chat.title().is_some());

    // A reply keyboard is recorded but not echoed (teloxide's Message only holds inline ones).
    let kb = KeyboardMarkup::new(vec![vec![KeyboardButton::new("Yes")]]);
    bot.send_message(ChatId(1001), "pick")
        .reply_markup(kb)
        .await?;

    let sent = api.messages_to(1001);
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].text(), Some("first"));
    assert_eq!(sent[0].response_message_id, Some(m1.id.0 as i64));
    assert_eq!(sent[1].callback_data(), vec!["take:1", "done:1"]);
    assert_eq!(sent[1].button_texts(), vec!["Take", "Done"]);
    assert_eq!(sent[1].reply_to(), Some(m1.id.0 as i64));
    assert_eq!(sent[1].chat_id(), Some(1001));
    assert!(
        sent[2]
            .reply_markup()
            .and_then(|m| m.get("keyboard"))
            .is_some()
    );
    assert_eq!(api.sent_messages().len(), 4);
    assert_eq!(api.messages_to(STAFF).len(), 1);
    assert!(api.message(1001, m1.id.0 as i64).is_some());

    api.clear_calls();
    assert!(api.calls().is_empty());
    Ok(())
}

#[tokio::test]
async fn other_methods_deserialize_in_teloxide() -> TestResult {
    let api = FakeBotApi::start().await;
    let bot = bot_for(&api)?;
    let user = alice();
    let (_, client_mid) = api.client_text(&user, "my skin is red");

    let alert = bot
        .send_message(ChatId(STAFF), "Alice needs help")
        .reply_markup(keyboard())
        .await?;
    let copied = bot
        .copy_message(ChatId(STAFF), ChatId(user.id), MessageId(client_mid as i32))
        .await?;
    assert_eq!(copied.0, alert.id.0 + 1);
    assert_eq!(
        api.message(STAFF, copied.0 as i64)
            .and_then(|m| m["text"].as_str().map(str::to_owned))
            .as_deref(),
        Some("my skin is red")
    );
    let fwd = bot
        .forward_message(ChatId(STAFF), ChatId(user.id), MessageId(client_mid as i32))
        .await?;
    assert_eq!(fwd.text(), Some("my skin is red"));
    assert!(fwd.forward_origin().is_some());

    let edited = bot
        .edit_message_text(ChatId(STAFF), alert.id, "Taken by Bob")
        .await?;
    assert_eq!(edited.text(), Some("Taken by Bob"));
    assert!(edited.reply_markup().is_none());
    let edited = bot
        .edit_message_reply_markup(ChatId(STAFF), alert.id)
        .reply_markup(keyboard())
        .await?;
    assert_eq!(edited.reply_markup(), Some(&keyboard()));
    assert_eq!(edited.text(), Some("Taken by Bob"));

    let photo = bot
        .send_photo(ChatId(user.id), InputFile::file_id("AgAD-photo".into()))
        .caption("aftercare sheet")
        .await?;
    assert_eq!(photo.caption(), Some("aftercare sheet"));
    assert_eq!(
        photo.photo().map(|p| p[0].file.id.0.as_str()),
        Some("AgAD-photo")
    );
    // Uploading bytes goes as multipart: fields are recorded, files by name and size.
    let uploaded = bot
        .send_photo(
            ChatId(user.id),
            InputFile::memory(vec![1u8, 2, 3, 4]).file_name("a.png"),
        )
        .caption("42")
        .await?;
    assert!(uploaded.photo().is_some());
    let call = api.calls_to("sendphoto").pop().ok_or("no sendPhoto call")?;
    assert_eq!(call.chat_id(), Some(user.id));
    assert_eq!(
        call.text(),
        Some("42"),
        "captions stay strings: {:?}",
        call.body
    );

    bot.answer_callback_query(CallbackQueryId("cbq-1".into()))
        .text("ok")
        .await?;
    let info = bot.get_webhook_info().await?;
    assert!(info.url.is_none());
    bot.delete_webhook().await?;
    bot.set_my_commands(vec![BotCommand::new("start", "Start")])
        .await?;
    bot.send_chat_action(ChatId(user.id), ChatAction::Typing)
        .await?;

    api.add_chat_member(STAFF, 7);
    api.add_chat_admin(STAFF, 8);
    let m = bot.get_chat_member(ChatId(STAFF), UserId(7)).await?;
    assert!(matches!(m.kind, ChatMemberKind::Member(_)));
    let m = bot.get_chat_member(ChatId(STAFF), UserId(8)).await?;
    assert!(matches!(m.kind, ChatMemberKind::Administrator(_)));
    let m = bot.get_chat_member(ChatId(STAFF), UserId(9)).await?;
    assert!(matches!(m.kind, ChatMemberKind::Left));

    let chat = bot.get_chat(ChatId(STAFF)).await?;
    assert!(chat.is_supergroup());
    let chat = bot.get_chat(ChatId(user.id)).await?;
    assert!(chat.is_private());

    bot.close().await?;
    bot.log_out().await?;

    for method in [
        "copymessage",
        "forwardmessage",
        "editmessagetext",
        "editmessagereplymarkup",
        "answercallbackquery",
        "getwebhookinfo",
        "deletewebhook",
        "setmycommands",
        "sendchataction",
        "getchatmember",
        "getchat",
        "close",
        "logout",
    ] {
        assert!(!api.calls_to(method).is_empty(), "{method} not recorded");
    }
    assert_eq!(
        api.calls_to("answerCallbackQuery")[0].str_field("callback_query_id"),
        Some("cbq-1")
    );
    assert_eq!(
        api.calls_to("sendchataction")[0].str_field("action"),
        Some("typing")
    );
    assert!(api.calls().iter().all(|c| !c.failed));
    Ok(())
}

#[tokio::test]
async fn get_updates_long_poll_wakes_up_on_push_and_honours_offset() -> TestResult {
    let api = FakeBotApi::start().await;
    let bot = bot_for(&api)?;

    // Nothing pending: a long poll is woken by a push, well before its timeout.
    let poll = {
        let bot = bot.clone();
        tokio::spawn(async move { bot.get_updates().timeout(10).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let (uid, mid) = api.client_text(&alice(), "hello");
    let updates = poll.await??;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "long poll was not woken up"
    );
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].id.0 as i64, uid);
    assert_eq!(uid, 1);
    assert!(api.delivered(uid));
    assert!(api.wait_delivered(uid, Duration::from_millis(10)).await);
    match &updates[0].kind {
        UpdateKind::Message(m) => {
            assert_eq!(m.id.0 as i64, mid);
            assert_eq!(m.text(), Some("hello"));
        }
        other => panic!("unexpected kind {other:?}"),
    }

    // Without confirming, the same update comes again.
    let again = bot.get_updates().await?;
    assert_eq!(again.len(), 1);

    let (uid2, _) = api.client_text(&alice(), "second");
    let (uid3, _) = api.client_text(&alice(), "third");
    assert_eq!((uid2, uid3), (2, 3));
    // limit
    let limited = bot.get_updates().limit(2).await?;
    assert_eq!(
        limited.iter().map(|u| u.id.0).collect::<Vec<_>>(),
        vec![1, 2]
    );
    // offset confirms everything below it.
    let rest = bot.get_updates().offset(2).await?;
    assert_eq!(rest.iter().map(|u| u.id.0).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(api.pending_updates(), 2);
    let none = bot.get_updates().offset(4).timeout(0).await?;
    assert!(none.is_empty());
    assert_eq!(api.pending_updates(), 0);

    // An empty long poll returns [] after its timeout.
    let started = Instant::now();
    let none = bot.get_updates().offset(4).timeout(1).await?;
    assert!(none.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900));

    // Negative offset keeps the last N (teloxide's drop_pending_updates uses -1).
    api.client_text(&alice(), "a");
    let (last, _) = api.client_text(&alice(), "b");
    let tail = bot.get_updates().offset(-1).await?;
    assert_eq!(
        tail.iter().map(|u| u.id.0 as i64).collect::<Vec<_>>(),
        vec![last]
    );
    Ok(())
}

fn expect_message(update: &Update) -> &Message {
    match &update.kind {
        UpdateKind::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test]
async fn every_builder_produces_a_valid_update() -> TestResult {
    let api = FakeBotApi::start().await;
    let bot = bot_for(&api)?;
    let user = alice();
    let staff = support::fake_bot_api::User::new(2002, "Bob");

    let (_, text_mid) = api.client_text(&user, "/start now");
    api.client_edit(&user, text_mid, "edited text");
    api.client_photo(&user, "photo-1", Some("is this normal?"));
    api.client_photo(&user, "photo-2", None);
    api.client_voice(&user);
    api.client_sticker(&user);
    api.client_document(&user);
    api.client_location(&user);
    api.group_text(-42, &user, "hi group");
    let alert = bot
        .send_message(ChatId(STAFF), "ALERT: Alice")
        .reply_markup(keyboard())
        .await?;
    api.staff_text(STAFF, &staff, "I'm on it");
    api.staff_reply(STAFF, &staff, alert.id.0 as i64, "Please send a photo");
    api.staff_reply(STAFF, &staff, 999_999, "reply to unknown message");
    api.callback(&staff, STAFF, alert.id.0 as i64, "take:1");
    api.callback(&user, user.id, 555_555, "yes");
    api.push_raw(json!({"message": {
        "message_id": 77, "date": 1_700_000_000, "chat": {"id": 5, "type": "private", "first_name": "R"},
        "from": {"id": 5, "is_bot": false, "first_name": "R"}, "text": "raw"
    }}));

    // 1. The raw JSON deserializes with serde into non-Error updates. Quirk: teloxide's
    //    `UpdateKind` wants borrowed keys, so `serde_json::from_value::<Update>` always yields
    //    `UpdateKind::Error`; go through a string (what `parse_update` does).
    let probe = api.update_json(1).ok_or("no update 1")?;
    let via_value: Update = serde_json::from_value(probe.clone())?;
    assert!(
        matches!(via_value.kind, UpdateKind::Error(_)),
        "teloxide quirk fixed? {:?}",
        via_value.kind
    );
    let mut raw = Vec::new();
    let mut uid = 1;
    while let Some(json) = api.update_json(uid) {
        let update: Update = parse_update(&json)?;
        assert!(
            !matches!(update.kind, UpdateKind::Error(_)),
            "update {uid} is an Error: {json}"
        );
        raw.push(update);
        uid += 1;
    }
    assert_eq!(raw.len(), 15);

    // 2. The same through getUpdates.
    let updates = bot.get_updates().await?;
    assert_eq!(updates.len(), 15);
    for u in &updates {
        assert!(!matches!(u.kind, UpdateKind::Error(_)), "{:?}", u.kind);
    }
    let mut it = updates.iter();
    let mut next = || it.next().ok_or("missing update");

    let m = expect_message(next()?);
    assert_eq!(m.text(), Some("/start now"));
    assert_eq!(m.chat.id, ChatId(1001));
    assert_eq!(
        m.from.as_ref().and_then(|u| u.username.as_deref()),
        Some("alice")
    );
    match &next()?.kind {
        UpdateKind::EditedMessage(e) => {
            assert_eq!(e.id.0 as i64, text_mid);
            assert_eq!(e.text(), Some("edited text"));
            assert!(e.edit_date().is_some());
        }
        other => panic!("expected an edited message, got {other:?}"),
    }
    let m = expect_message(next()?);
    assert_eq!(m.caption(), Some("is this normal?"));
    assert_eq!(
        m.photo()
            .and_then(|p| p.last())
            .map(|p| p.file.id.0.as_str()),
        Some("photo-1")
    );
    let m = expect_message(next()?);
    assert!(m.photo().is_some() && m.caption().is_none());
    assert!(expect_message(next()?).voice().is_some());
    assert!(expect_message(next()?).sticker().is_some());
    assert!(expect_message(next()?).document().is_some());
    assert!(expect_message(next()?).location().is_some());
    let m = expect_message(next()?);
    assert!(m.chat.is_group());
    assert_eq!(m.chat.id, ChatId(-42));
    let m = expect_message(next()?);
    assert!(m.chat.is_supergroup() && m.reply_to_message().is_none());
    assert_eq!(m.text(), Some("I'm on it"));
    let m = expect_message(next()?);
    assert_eq!(m.text(), Some("Please send a photo"));
    assert_eq!(m.from.as_ref().map(|u| u.id), Some(UserId(2002)));
    let replied = m.reply_to_message().ok_or("no reply_to_message")?;
    assert_eq!(replied.id, alert.id);
    assert_eq!(replied.text(), Some("ALERT: Alice"));
    assert_eq!(replied.from.as_ref().map(|u| u.id), Some(UserId(4242)));
    let m = expect_message(next()?);
    assert_eq!(m.reply_to_message().map(|r| r.id.0), Some(999_999));
    match &next()?.kind {
        UpdateKind::CallbackQuery(q) => {
            assert_eq!(q.data.as_deref(), Some("take:1"));
            assert_eq!(q.from.id, UserId(2002));
            let msg = q.regular_message().ok_or("no message")?;
            assert_eq!(msg.id, alert.id);
            assert_eq!(msg.chat.id, ChatId(STAFF));
            assert_eq!(msg.reply_markup(), Some(&keyboard()));
        }
        other => panic!("expected a callback query, got {other:?}"),
    }
    match &next()?.kind {
        UpdateKind::CallbackQuery(q) => {
            assert_eq!(q.data.as_deref(), Some("yes"));
            assert_eq!(q.regular_message().map(|m| m.id.0), Some(555_555));
        }
        other => panic!("expected a callback query, got {other:?}"),
    }
    let m = expect_message(next()?);
    assert_eq!(m.text(), Some("raw"));
    assert!(
        matches!(m.kind, MessageKind::Common(ref c) if matches!(c.media_kind, MediaKind::Text(_)))
    );
    Ok(())
}

#[tokio::test]
async fn retry_after_surfaces_as_request_error() -> TestResult {
    let api = FakeBotApi::start().await;
    let bot = bot_for(&api)?;
    api.fail_next("sendMessage", Failure::RetryAfter(1), 1);
    let err = bot
        .send_message(ChatId(1), "x")
        .await
        .err()
        .ok_or("expected an error")?;
    match err {
        RequestError::RetryAfter(s) => assert_eq!(s.seconds(), 1),
        other => panic!("expected RetryAfter, got {other:?}"),
    }
    // Only once.
    bot.send_message(ChatId(1), "x").await?;
    let calls = api.calls_to("sendmessage");
    assert_eq!(calls.len(), 2);
    assert!(calls[0].failed && !calls[1].failed);
    assert_eq!(calls[0].response["parameters"]["retry_after"], 1);
    assert_eq!(
        api.sent_messages().len(),
        1,
        "failed sends are not sent messages"
    );

    api.fail_next(
        "sendMessage",
        Failure::Api(403, "Forbidden: bot was blocked by the user".into()),
        1,
    );
    let err = bot
        .send_message(ChatId(1), "x")
        .await
        .err()
        .ok_or("expected an error")?;
    assert!(
        matches!(err, RequestError::Api(ApiError::BotBlocked)),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test]
async fn throttle_adaptor_retries_after_retry_after() -> TestResult {
    use teloxide::adaptors::throttle::Limits;
    let api = FakeBotApi::start().await;
    let bot = bot_for(&api)?.throttle(Limits::default());
    api.fail_next("sendMessage", Failure::RetryAfter(1), 1);
    let started = Instant::now();
    let m = bot.send_message(ChatId(1001), "after a pause").await?;
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(m.text(), Some("after a pause"));
    let calls = api.calls_to("sendmessage");
    assert_eq!(
        calls.iter().map(|c| c.failed).collect::<Vec<_>>(),
        vec![true, false]
    );
    Ok(())
}

#[tokio::test]
async fn wait_for_predicate_may_use_the_fake_and_clear_calls_restarts() -> TestResult {
    let api = FakeBotApi::start().await;
    let bot = bot_for(&api)?;
    bot.send_message(ChatId(1), "old").await?;
    let found = api
        .wait_for(
            |c| c.is_send() && !api.calls_to("sendmessage").is_empty(),
            Duration::from_millis(100),
        )
        .await;
    assert!(found.is_some());
    api.clear_calls();
    let waiter = {
        let api = api.clone();
        tokio::spawn(async move {
            api.wait_for_count(|c| c.is_send(), 1, Duration::from_secs(5))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    bot.send_message(ChatId(1), "new").await?;
    let got = waiter.await?;
    assert_eq!(
        got.iter().filter_map(|c| c.text()).collect::<Vec<_>>(),
        vec!["new"]
    );
    Ok(())
}

#[tokio::test]
async fn unknown_method_is_404_quickly() -> TestResult {
    let api = FakeBotApi::start().await;
    let bot = bot_for(&api)?;
    let started = Instant::now();
    let err = bot
        .send_dice(ChatId(1))
        .await
        .err()
        .ok_or("expected an error")?;
    assert!(started.elapsed() < Duration::from_secs(2));
    match err {
        RequestError::Api(ApiError::Unknown(d)) => assert_eq!(d, "Not Found: method not found"),
        other => panic!("unexpected {other:?}"),
    }
    let resp = reqwest::Client::new()
        .post(format!("{}/bot{}/NoSuchMethod", api.url(), api.token()))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 404);
    let body: Value = resp.json().await?;
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"})
    );
    assert!(api.calls_to("nosuchmethod")[0].failed);
    Ok(())
}

#[tokio::test]
async fn wrong_token_is_401() -> TestResult {
    let api = FakeBotApi::start().await;
    let resp = reqwest::Client::new()
        .post(format!("{}/bot1:other/getMe", api.url()))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 401);
    Ok(())
}

#[tokio::test]
async fn status_failures_down_and_delay() -> TestResult {
    let api = FakeBotApi::start().await;
    let http = reqwest::Client::new();
    let url = |m: &str| format!("{}/bot{}/{m}", api.url(), api.token());

    api.fail_next("getMe", Failure::Status(502), 2);
    for _ in 0..2 {
        let resp = http.post(url("getMe")).send().await?;
        assert_eq!(resp.status().as_u16(), 502);
        let body: Value = resp.json().await?;
        assert_eq!(
            body,
            json!({"ok": false, "error_code": 502, "description": "Bad Gateway"})
        );
    }
    assert_eq!(http.post(url("getMe")).send().await?.status().as_u16(), 200);

    api.set_down(true);
    let started = Instant::now();
    assert_eq!(
        http.post(url("sendMessage"))
            .send()
            .await?
            .status()
            .as_u16(),
        502
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    api.set_down(false);

    api.fail_next("getme", Failure::Delay(Duration::from_millis(500)), 1);
    let started = Instant::now();
    let bot = bot_for(&api)?;
    bot.get_me().await?;
    assert!(started.elapsed() >= Duration::from_millis(450));
    let calls = api.calls_to("getme");
    assert_eq!(calls.len(), 4);
    assert_eq!(calls.iter().filter(|c| c.failed).count(), 2);
    assert!(api.calls_to("sendmessage")[0].failed);
    Ok(())
}

/// A reset reaches teloxide as a network error and sends nothing; a failure window fails every call but
/// getUpdates until it ends.
#[tokio::test]
async fn a_reset_is_a_network_error_and_a_window_fails_every_call_but_get_updates() -> TestResult {
    support::deadline::within(Duration::from_secs(20), reset_and_window()).await
}

async fn reset_and_window() -> TestResult {
    let api = FakeBotApi::start().await;
    let bot = bot_for(&api)?;
    api.fail_next("sendMessage", Failure::Reset, 1);
    let err = bot
        .send_message(ChatId(1), "x")
        .await
        .err()
        .ok_or("expected an error")?;
    assert!(matches!(err, RequestError::Network(_)), "{err:?}");
    assert!(api.calls_to("sendmessage")[0].failed);
    assert!(api.sent_messages().is_empty(), "nothing was sent");
    bot.send_message(ChatId(1), "x").await?;
    assert_eq!(api.sent_messages().len(), 1, "the next call is answered");

    let http = reqwest::Client::new();
    let url = |m: &str| format!("{}/bot{}/{m}", api.url(), api.token());
    api.fail_for(Failure::Status(500), Duration::from_millis(300));
    for method in ["sendMessage", "getMe", "editMessageText"] {
        let status = http.post(url(method)).send().await?.status().as_u16();
        assert_eq!(status, 500, "{method}");
    }
    let status = http.post(url("getUpdates")).send().await?.status().as_u16();
    assert_eq!(status, 200, "getUpdates keeps answering");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(http.post(url("getMe")).send().await?.status().as_u16(), 200);
    Ok(())
}

#[tokio::test]
async fn form_and_query_parameters_are_parsed() -> TestResult {
    let api = FakeBotApi::start().await;
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/bot{}/sendMessage", api.url(), api.token()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("chat_id=1001&text=12+%C3%A9&reply_markup=%7B%22inline_keyboard%22%3A%5B%5B%7B%22text%22%3A%22A%22%2C%22callback_data%22%3A%22a%22%7D%5D%5D%7D")
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await?;
    let message: Message = serde_json::from_value(body["result"].clone())?;
    assert_eq!(message.text(), Some("12 é"));
    let call = api
        .wait_for(|c| c.method == "sendmessage", Duration::from_secs(1))
        .await
        .ok_or("no call")?;
    assert_eq!(call.body["chat_id"], json!(1001));
    assert_eq!(call.text(), Some("12 é"));
    assert_eq!(call.callback_data(), vec!["a"]);

    let resp = http
        .get(format!(
            "{}/bot{}/getChatMember?chat_id=-5&user_id=3",
            api.url(),
            api.token()
        ))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 200);
    let call = api.calls_to("getchatmember").pop().ok_or("no call")?;
    assert_eq!(call.body, json!({"chat_id": -5, "user_id": 3}));
    Ok(())
}

#[tokio::test]
async fn wait_for_times_out_with_none_and_finds_past_and_future_calls() -> TestResult {
    let api = FakeBotApi::start().await;
    let started = Instant::now();
    let none = api
        .wait_for(|c| c.method == "sendmessage", Duration::from_millis(300))
        .await;
    assert!(none.is_none());
    assert!(started.elapsed() >= Duration::from_millis(280));

    let bot = bot_for(&api)?;
    bot.send_message(ChatId(1), "past").await?;
    let past = api
        .wait_for(|c| c.text() == Some("past"), Duration::from_millis(10))
        .await;
    assert!(past.is_some());

    let sender = {
        let bot = bot.clone();
        tokio::spawn(async move {
            for i in 0..3 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                bot.send_message(ChatId(2), format!("future {i}")).await?;
            }
            Ok::<_, RequestError>(())
        })
    };
    let three = api
        .wait_for_count(|c| c.is_send_to(2), 3, Duration::from_secs(5))
        .await;
    assert_eq!(
        three.iter().filter_map(|c| c.text()).collect::<Vec<_>>(),
        vec!["future 0", "future 1", "future 2"]
    );
    sender.await??;
    let fewer = api
        .wait_for_count(|c| c.is_send_to(2), 4, Duration::from_millis(100))
        .await;
    assert_eq!(fewer.len(), 3);
    assert!(
        api.wait_for_message_to(2, Duration::from_millis(10))
            .await
            .is_some()
    );
    Ok(())
}

/// The whole loop as the real binary runs it: a dispatcher polling the fake.
#[tokio::test]
async fn a_real_dispatcher_round_trip() -> TestResult {
    let api = FakeBotApi::start().await;
    let bot = bot_for(&api)?;
    let handler = Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
        let text = msg.text().unwrap_or("").to_uppercase();
        bot.send_message(msg.chat.id, text).await?;
        Ok::<_, RequestError>(())
    });
    let mut dispatcher = Dispatcher::builder(bot, handler).build();
    let token = dispatcher.shutdown_token();
    let task = tokio::spawn(async move { dispatcher.dispatch().await });

    api.client_text(&alice(), "hello");
    let reply = api
        .wait_for_message_to(1001, Duration::from_secs(5))
        .await
        .ok_or("no reply")?;
    assert_eq!(reply.text(), Some("HELLO"));
    assert!(!api.calls_to("getme").is_empty());
    assert!(!api.calls_to("getwebhookinfo").is_empty());

    if let Ok(fut) = token.shutdown() {
        tokio::time::timeout(Duration::from_secs(15), fut).await?;
    }
    tokio::time::timeout(Duration::from_secs(15), task).await??;
    Ok(())
}

#[test]
fn works_without_an_async_runtime() {
    let api = FakeBotApi::start_blocking();
    let (uid, mid) = api.client_text(&alice(), "x");
    assert_eq!((uid, mid), (1, 1));
    assert_eq!(api.pending_updates(), 1);
}
