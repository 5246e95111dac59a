//! The real service in the test process: the flows, the store and the delivery worker's steps on a fresh
//! database (SQLite or PostgreSQL), with Telegram replaced by a [`Recorder`] and the time by a [`TestClock`] that
//! the test moves. A test reads like the conversation:
//!
//! ```ignore
//! let scene = Scene::sqlite().await;
//! let jane = scene.onboard(&jane()).await;
//! scene.client_text(&jane, "there's pus on my chin").await;
//! let alert = scene.last_to(STAFF);
//! scene.pass(Duration::minutes(15)).await;    // the reminder goes out
//! ```
//!
//! Every update is handled to the end before the call returns, and what it queued is delivered at once ("what is
//! due now", as the woken worker would); nothing waits on a background task or sleeps. What needs the real
//! process (polling, webhooks, kills and restarts, Telegram's errors on the wire) is in `tests/bot.rs`.
#![allow(dead_code)]

use super::db::{TestDb, fresh_postgres, fresh_sqlite};
use aftercare::clock::Clock;
use aftercare::configuration::{ClinicSettings, Source};
use aftercare::delivery::{self, Buttons, Messenger, SendError};
use aftercare::engine::Engine;
use aftercare::flows::{Button, ClientInput, Origin, Person, Quoted, Service};
use aftercare::front::{Front, MAX_MESSAGE_UTF16};
use aftercare::store::{Db, MessageKind, ReceivedUpdate, UpdateId};
use aftercare::timeline;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The clinic's staff chat.
pub const STAFF: i64 = -1_001_234_567;

/// When every scene starts: a Tuesday morning, UTC (the scene's clinic keeps UTC).
pub const START: &str = "2026-03-10T10:00:00Z";

/// How long an urgent alert waits for an acknowledgement before a reminder, as in production's default.
pub const REMINDER_AFTER_MINUTES: i64 = 15;

pub fn jane() -> Person {
    Person {
        user_id: 1001,
        chat_id: 1001,
        first_name: "Jane".into(),
        username: Some("jane".into()),
    }
}

pub fn nurse() -> Person {
    Person {
        user_id: 900,
        chat_id: STAFF,
        first_name: "Ann".into(),
        username: Some("nurse_ann".into()),
    }
}

/// A clock that stands still until the test moves it.
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn at(start: DateTime<Utc>) -> TestClock {
        TestClock(Mutex::new(start))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the bot did on Telegram, one call each.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    Text {
        chat: i64,
        id: i64,
        text: String,
        buttons: Vec<Button>,
        reply_to: Option<i64>,
    },
    Photo {
        chat: i64,
        id: i64,
        file_id: String,
        caption: String,
        reply_to: Option<i64>,
    },
    Edit {
        chat: i64,
        id: i64,
        text: String,
        buttons: Vec<Button>,
    },
    ButtonsRemoved {
        chat: i64,
        id: i64,
    },
    Answer {
        callback: String,
        text: Option<String>,
    },
}

impl Sent {
    /// The text, or a photo's caption.
    pub fn text(&self) -> &str {
        match self {
            Sent::Text { text, .. } | Sent::Edit { text, .. } => text,
            Sent::Photo { caption, .. } => caption,
            Sent::Answer { text, .. } => text.as_deref().unwrap_or_default(),
            Sent::ButtonsRemoved { .. } => "",
        }
    }

    /// The message's id, as Telegram gave it.
    pub fn id(&self) -> i64 {
        match self {
            Sent::Text { id, .. }
            | Sent::Photo { id, .. }
            | Sent::Edit { id, .. }
            | Sent::ButtonsRemoved { id, .. } => *id,
            Sent::Answer { .. } => 0,
        }
    }

    pub fn reply_to(&self) -> Option<i64> {
        match self {
            Sent::Text { reply_to, .. } | Sent::Photo { reply_to, .. } => *reply_to,
            _ => None,
        }
    }

    /// The buttons' callback data, as Telegram would carry it.
    pub fn callback_data(&self) -> Vec<String> {
        match self {
            Sent::Text { buttons, .. } | Sent::Edit { buttons, .. } => {
                buttons.iter().map(|b| b.data()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// A message sent (a text or a photo) to `chat`.
    pub fn is_send_to(&self, to: i64) -> bool {
        matches!(self, Sent::Text { chat, .. } | Sent::Photo { chat, .. } if *chat == to)
    }
}

/// Telegram for the scene: records every call and answers it as Telegram would (with a new message id), or
/// with a failure the test scripted.
#[derive(Default)]
pub struct Recorder {
    calls: Mutex<Vec<Sent>>,
    next_id: Mutex<i64>,
    /// Failures to answer the next sends to a chat with, in order.
    failures: Mutex<Vec<(i64, SendError)>>,
    /// The sends answered with a scripted failure.
    failed: Mutex<Vec<(i64, SendError)>>,
    /// While set, every call (to that chat only, if one is given) fails with it, as when Telegram answers 5xx to
    /// everything.
    down: Mutex<Option<(Option<i64>, SendError)>>,
}

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, Vec<Sent>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, sent: impl FnOnce(i64) -> Sent) -> i64 {
        let id = {
            let mut next = self.next_id.lock().unwrap_or_else(PoisonError::into_inner);
            *next += 1;
            *next
        };
        self.lock().push(sent(id));
        id
    }

    pub fn calls(&self) -> Vec<Sent> {
        self.lock().clone()
    }

    /// The next send of a text or photo to `chat` fails with `error` (after those scripted before it).
    pub fn fail_next_to(&self, chat: i64, error: SendError) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((chat, error));
    }

    /// From now on every call fails with `error` (each send so answered is recorded in [`Recorder::failed`]),
    /// until [`Recorder::up`].
    pub fn down(&self, error: SendError) {
        *self.down.lock().unwrap_or_else(PoisonError::into_inner) = Some((None, error));
    }

    /// From now on every call to `chat` fails with `error`, until [`Recorder::up`].
    pub fn down_to(&self, chat: i64, error: SendError) {
        *self.down.lock().unwrap_or_else(PoisonError::into_inner) = Some((Some(chat), error));
    }

    /// Telegram answers again.
    pub fn up(&self) {
        *self.down.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The failure a call to `chat` (`None`: to no chat) meets while Telegram is down.
    fn when_down(&self, chat: Option<i64>) -> Result<(), SendError> {
        match &*self.down.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((to, error)) if to.is_none() || *to == chat => Err(error.clone()),
            _ => Ok(()),
        }
    }

    /// The sends answered with a scripted failure so far.
    pub fn failed(&self) -> Vec<(i64, SendError)> {
        self.failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn scripted_failure(&self, chat: i64) -> Result<(), SendError> {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let scripted = failures.iter().position(|(to, _)| *to == chat);
        let failure = match (self.when_down(Some(chat)), scripted) {
            (Err(down), _) => (chat, down),
            (Ok(()), Some(next)) => failures.remove(next),
            (Ok(()), None) => return Ok(()),
        };
        self.failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(failure.clone());
        Err(failure.1)
    }
}

fn flatten(buttons: &Buttons) -> Vec<Button> {
    buttons
        .iter()
        .flatten()
        .map(|(_, button)| *button)
        .collect()
}

impl Messenger for Recorder {
    async fn send_text(
        &self,
        chat: i64,
        text: &str,
        buttons: &Buttons,
        reply_to: Option<i64>,
    ) -> Result<i64, SendError> {
        self.scripted_failure(chat)?;
        // Telegram's own limit: a longer text is refused.
        if text.encode_utf16().count() > MAX_MESSAGE_UTF16 {
            return Err(SendError::Permanent(
                "Bad Request: message is too long".into(),
            ));
        }
        Ok(self.record(|id| Sent::Text {
            chat,
            id,
            text: text.to_string(),
            buttons: flatten(buttons),
            reply_to,
        }))
    }

    async fn send_photo(
        &self,
        chat: i64,
        file_id: &str,
        caption: &str,
        reply_to: Option<i64>,
    ) -> Result<i64, SendError> {
        self.scripted_failure(chat)?;
        Ok(self.record(|id| Sent::Photo {
            chat,
            id,
            file_id: file_id.to_string(),
            caption: caption.to_string(),
            reply_to,
        }))
    }

    async fn send_image(&self, chat: i64, png: Vec<u8>, caption: &str) -> Result<i64, SendError> {
        self.scripted_failure(chat)?;
        Ok(self.record(|id| Sent::Photo {
            chat,
            id,
            file_id: format!("png:{}", png.len()),
            caption: caption.to_string(),
            reply_to: None,
        }))
    }

    async fn edit_text(
        &self,
        chat: i64,
        message_id: i64,
        text: &str,
        buttons: &Buttons,
    ) -> Result<(), SendError> {
        self.when_down(Some(chat))?;
        self.lock().push(Sent::Edit {
            chat,
            id: message_id,
            text: text.to_string(),
            buttons: flatten(buttons),
        });
        Ok(())
    }

    async fn remove_buttons(&self, chat: i64, message_id: i64) -> Result<(), SendError> {
        self.when_down(Some(chat))?;
        self.lock().push(Sent::ButtonsRemoved {
            chat,
            id: message_id,
        });
        Ok(())
    }

    async fn answer_callback(&self, callback: &str, text: Option<&str>) -> Result<(), SendError> {
        self.when_down(None)?;
        self.lock().push(Sent::Answer {
            callback: callback.to_string(),
            text: text.map(str::to_string),
        });
        Ok(())
    }
}

/// The service on a fresh database, Telegram recorded, the time the test's.
pub struct Scene {
    pub db: TestDb,
    pub service: Service,
    pub telegram: Recorder,
    pub clock: TestClock,
    /// The ids Telegram gives the messages clients and staff send, and the button presses.
    next_incoming: Mutex<i64>,
    /// The text of every message the bot sent, by id, as Telegram quotes it in a reply.
    quoted: Mutex<HashMap<i64, String>>,
    /// The update handled last.
    last_update: Mutex<Option<i64>>,
}

impl Scene {
    pub async fn sqlite() -> Scene {
        Scene::on(fresh_sqlite().await, &[]).await
    }

    pub async fn postgres() -> Scene {
        Scene::on(fresh_postgres().await, &[]).await
    }

    /// On a database, with a test clinic open every day (these settings added, e.g. other opening hours).
    pub async fn on(db: TestDb, settings: &[(&str, &str)]) -> Scene {
        let mut env: HashMap<String, String> = [
            ("AFTERCARE_CLINIC_NAME", "Test Clinic"),
            ("AFTERCARE_CLINIC_PHONE", "0100 000 000"),
            ("AFTERCARE_EMERGENCY_NUMBER", "112"),
            ("AFTERCARE_OPENING_HOURS", "Mon-Sun 00:00-23:59"),
            ("AFTERCARE_TIMEZONE", "UTC"),
        ]
        .into_iter()
        .chain(settings.iter().copied())
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
        env.shrink_to_fit();
        let source = Source::new(None, move |name| env.get(name).cloned()).expect("settings");
        let clinic = ClinicSettings::load(&source).expect("clinic settings");
        let engine = Engine::embedded(&clinic.clinic).expect("shipped intents are valid");
        let start = DateTime::parse_from_rfc3339(START)
            .expect("start time")
            .to_utc();
        let service = Service::start(db.db.clone(), engine, clinic, STAFF);
        Scene {
            db,
            service,
            telegram: Recorder::default(),
            clock: TestClock::at(start),
            next_incoming: Mutex::new(5000),
            quoted: Mutex::new(HashMap::new()),
            last_update: Mutex::new(None),
        }
    }

    pub fn store(&self) -> &Db {
        &self.db.db
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn front(&self) -> Front<'_, Recorder> {
        Front {
            messenger: &self.telegram,
            service: &self.service,
        }
    }

    /// A new Telegram update carrying what a client or staff member does in `chat`, stored in the inbox as the
    /// adapter stores it before handling it.
    async fn update(&self, chat: i64) -> Origin {
        let update_id = self.incoming_id();
        let received = ReceivedUpdate {
            update_id,
            chat_id: Some(chat),
            raw: "{}".into(),
        };
        let stored = self
            .store()
            .receive_updates(&[received], self.now())
            .await
            .expect("the update is stored");
        assert_eq!(stored, [update_id]);
        *self
            .last_update
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(update_id);
        Origin::Update(UpdateId(update_id))
    }

    /// Handles the last update again, as after a crash before Telegram was told it arrived: nothing may change or
    /// go out twice. `who` sends `text` again in it.
    pub async fn client_text_again(&self, who: &Person, text: &str) {
        let update = self
            .last_update
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .expect("an update was handled");
        let input = ClientInput::Text {
            text: text.to_string(),
            message_id: None,
        };
        self.front()
            .client_turn(Origin::Update(UpdateId(update)), who, input, self.now())
            .await
            .expect("the client's turn is handled");
        self.deliver().await;
    }

    fn incoming_id(&self) -> i64 {
        let mut next = self
            .next_incoming
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *next += 1;
        *next
    }

    // --- what clients and staff do; each is handled, and what it queued delivered, before it returns ---

    /// A client's text message; returns its message id.
    pub async fn client_text(&self, who: &Person, text: &str) -> i64 {
        let message_id = self.incoming_id();
        self.client(
            who,
            ClientInput::Text {
                text: text.to_string(),
                message_id: Some(message_id),
            },
        )
        .await;
        message_id
    }

    /// The client edits their message `message_id` to read `text`.
    pub async fn client_edit(&self, who: &Person, message_id: i64, text: &str) {
        let input = ClientInput::Edited {
            text: text.to_string(),
            message_id: Some(message_id),
        };
        self.client(who, input).await;
    }

    pub async fn client_photo(&self, who: &Person, file_id: &str, caption: Option<&str>) {
        let input = ClientInput::Photo {
            file_id: file_id.to_string(),
            caption: caption.map(str::to_string),
            message_id: Some(self.incoming_id()),
        };
        self.client(who, input).await;
    }

    pub async fn client_voice(&self, who: &Person) {
        let input = ClientInput::Unsupported {
            kind: MessageKind::Voice,
            message_id: Some(self.incoming_id()),
        };
        self.client(who, input).await;
    }

    async fn client(&self, who: &Person, input: ClientInput) {
        let update = self.update(who.chat_id).await;
        self.front()
            .client_turn(update, who, input, self.now())
            .await
            .expect("the client's turn is handled");
        self.deliver().await;
    }

    /// `who` presses the button with callback `data` under the bot's message `message_id`, in the client's chat
    /// or (for a nurse) the staff chat. Returns the press's id, which its answer names.
    pub async fn press(&self, who: &Person, message_id: i64, data: &str) -> String {
        let callback = format!("cb{}", self.incoming_id());
        let button = Button::parse(data);
        let front = self.front();
        let update = self.update(who.chat_id).await;
        let done = if who.chat_id == STAFF {
            front
                .staff_press(update, who, button, &callback, self.now())
                .await
        } else {
            front
                .client_press(update, who, button, Some(message_id), &callback, self.now())
                .await
        };
        done.expect("the press is handled");
        self.deliver().await;
        callback
    }

    /// A command in the staff chat; returns its message id.
    pub async fn staff_command(&self, staff: &Person, text: &str) -> i64 {
        self.staff(staff, text, None).await
    }

    /// A nurse's reply to the bot's message `replied_to` in the staff chat; returns its message id.
    pub async fn staff_reply(&self, staff: &Person, replied_to: i64, text: &str) -> i64 {
        self.staff(staff, text, Some(replied_to)).await
    }

    async fn staff(&self, staff: &Person, text: &str, replied_to: Option<i64>) -> i64 {
        let message_id = self.incoming_id();
        let quoted = replied_to.and_then(|id| self.quoted_text(id));
        let replied = Quoted {
            message_id: replied_to.unwrap_or(0),
            text: quoted,
        };
        let update = self.update(staff.chat_id).await;
        self.front()
            .staff_message(update, staff, message_id, text, replied, self.now())
            .await
            .expect("the staff message is handled");
        self.deliver().await;
        message_id
    }

    /// The bot's message `id` as Telegram quotes it in a reply (its latest text).
    fn quoted_text(&self, id: i64) -> Option<String> {
        let mut quoted = self.quoted.lock().unwrap_or_else(PoisonError::into_inner);
        for sent in self.telegram.calls() {
            if let Sent::Text { id, text, .. } | Sent::Edit { id, text, .. } = &sent {
                quoted.insert(*id, text.clone());
            }
            if let Sent::Photo { id, caption, .. } = &sent {
                quoted.insert(*id, caption.clone());
            }
        }
        quoted.get(&id).cloned()
    }

    // --- the background work, one step at a time ---

    /// Sends what is due now, as the woken delivery worker would; returns how many items it handled.
    pub async fn deliver(&self) -> usize {
        let mut handled = 0;
        for _ in 0..20 {
            let n = delivery::deliver_due(
                &self.service,
                &self.telegram,
                &self.clock,
                Duration::seconds(30),
            )
            .await
            .expect("delivery");
            if n == 0 {
                break;
            }
            handled += n;
        }
        handled
    }

    /// Time passes on the scene's clock; then the reminders and care-timeline steps due are queued and
    /// everything due is sent.
    pub async fn pass(&self, time: Duration) {
        self.clock.advance(time);
        delivery::queue_reminders(
            &self.service,
            Duration::minutes(REMINDER_AFTER_MINUTES),
            self.now(),
        )
        .await
        .expect("reminders");
        timeline::queue_due_steps(&self.service, self.now())
            .await
            .expect("care timeline");
        self.deliver().await;
    }

    /// Time passes in steps of `step` up to `time`, each step as [`Scene::pass`]: what a running bot does while
    /// it looks every so often.
    pub async fn pass_in_steps(&self, time: Duration, step: Duration) {
        let mut passed = Duration::zero();
        while passed < time {
            let next = step.min(time - passed);
            self.pass(next).await;
            passed += next;
        }
    }

    // --- what Telegram saw ---

    /// Every message (text or photo) the bot sent to `chat`, in order.
    pub fn messages_to(&self, chat: i64) -> Vec<Sent> {
        self.telegram
            .calls()
            .into_iter()
            .filter(|c| c.is_send_to(chat))
            .collect()
    }

    /// The messages sent to `chat` after the first `after`.
    pub fn messages_after(&self, chat: i64, after: usize) -> Vec<Sent> {
        self.messages_to(chat)
            .split_off(after.min(self.sent_count(chat)))
    }

    pub fn sent_count(&self, chat: i64) -> usize {
        self.messages_to(chat).len()
    }

    /// The last message to `chat`; fails the test if there is none.
    pub fn last_to(&self, chat: i64) -> Sent {
        self.messages_to(chat)
            .pop()
            .unwrap_or_else(|| panic!("nothing was sent to {chat}"))
    }

    /// The edits of the bot's messages so far.
    pub fn edits(&self) -> Vec<Sent> {
        self.telegram
            .calls()
            .into_iter()
            .filter(|c| matches!(c, Sent::Edit { .. }))
            .collect()
    }

    /// /start, consent by button, the treatment date typed as "3 days ago"; checks each answer on the way.
    pub async fn onboard(&self, who: &Person) {
        let before = self.sent_count(who.chat_id);
        self.client_text(who, "/start").await;
        let welcome = &self.messages_after(who.chat_id, before)[0];
        super::assert_is_the_welcome(welcome.text(), &welcome.callback_data());

        self.press(who, welcome.id(), "v1:consent:yes").await;
        let asked = self.messages_after(who.chat_id, before + 1);
        assert_eq!(asked.len(), 2, "{asked:#?}");
        assert!(asked[1].text().contains("When was your treatment"));
        assert!(
            asked[1]
                .callback_data()
                .contains(&"v1:treated:today".to_string())
        );

        self.client_text(who, "3 days ago").await;
        let saved = self.messages_after(who.chat_id, before + 3);
        assert_eq!(saved.len(), 1, "{saved:#?}");
        assert!(saved[0].text().contains("day 3 today"), "{saved:#?}");
    }

    /// The client stored for `who`; fails the test if there is none.
    pub async fn stored_client(&self, who: &Person) -> aftercare::store::Client {
        self.store()
            .client_by_telegram_id(who.user_id)
            .await
            .expect("query")
            .expect("client stored")
    }

    /// Runs a statement on the scene's database, whichever it is; returns the rows affected.
    pub async fn execute(&self, sql: &str) -> u64 {
        match self.store() {
            Db::Sqlite(pool) => sqlx::query(sql)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()),
            Db::Postgres(pool) => sqlx::query(sql)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}
