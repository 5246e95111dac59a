//! A fake Telegram Bot API server for end-to-end tests and benchmarks.
//!
//! The server runs on its own OS thread with its own tokio runtime, so it keeps answering even
//! when the test thread blocks (e.g. waits on a subprocess) and it can be used from
//! `#[tokio::test]` (any flavour) and from benchmarks. It stops when the last handle is dropped.
//!
//! ```ignore
//! let api = FakeBotApi::start().await;
//! // run `aftercare serve` with TELOXIDE_TOKEN=api.token() and TELOXIDE_API_URL=api.url()
//! let alice = User::new(1001, "Alice");
//! api.client_text(&alice, "hello");
//! let reply = api.wait_for(|c| c.is_send_to(1001), Duration::from_secs(5)).await;
//! ```
//!
//! teloxide calls `{url}/bot{token}/{Method}` with PascalCase names; method names are matched
//! case-insensitively and recorded in lower case (`"sendmessage"`). A method this fake does not
//! know answers HTTP 404 (not 5xx: teloxide sleeps 10 s after any 5xx answer).
//!
//! This file must not depend on other `support` modules: a benchmark includes it with
//! `#[path = "../tests/support/fake_bot_api.rs"] mod fake_bot_api;`.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{oneshot, watch};

/// The token the fake accepts (any other token gets HTTP 401).
pub const FAKE_TOKEN: &str = "123456:TEST-token";
/// The bot's own user id (`getMe`).
pub const BOT_ID: i64 = 4242;
/// The bot's username (`getMe`).
pub const BOT_USERNAME: &str = "aftercare_test_bot";
/// The bot's first name (`getMe`).
pub const BOT_FIRST_NAME: &str = "Aftercare";

/// Methods whose calls count as "a message was sent" for [`FakeBotApi::sent_messages`].
pub const SEND_METHODS: &[&str] = &["sendmessage", "sendphoto", "copymessage", "forwardmessage"];

/// A Telegram user, as the fake puts it into updates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub first_name: String,
    pub username: Option<String>,
}

/// Alias for code that also imports `teloxide::types::User`.
pub type FakeUser = User;

impl User {
    pub fn new(id: i64, first_name: &str) -> Self {
        Self {
            id,
            first_name: first_name.to_owned(),
            username: None,
        }
    }

    pub fn with_username(mut self, username: &str) -> Self {
        self.username = Some(username.to_owned());
        self
    }

    /// The user as Bot API JSON.
    pub fn to_json(&self) -> Value {
        let mut u = json!({
            "id": self.id,
            "is_bot": false,
            "first_name": self.first_name,
            "language_code": "en",
        });
        if let Some(name) = &self.username {
            u["username"] = json!(name);
        }
        u
    }
}

/// A scripted failure for [`FakeBotApi::fail_next`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 429 `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after N",
    /// "parameters":{"retry_after":N}}` (teloxide: `RequestError::RetryAfter`).
    RetryAfter(u32),
    /// That HTTP status with a standard description, e.g. 502 "Bad Gateway".
    /// Beware: teloxide sleeps 10 s before reporting any 5xx.
    Status(u16),
    /// That HTTP status with a custom description, e.g.
    /// `Api(403, "Forbidden: bot was blocked by the user".into())` (teloxide: `ApiError::BotBlocked`).
    Api(u16, String),
    /// Answer normally, after this delay.
    Delay(Duration),
    /// No answer: the connection is closed with a TCP reset once the request is read (teloxide:
    /// `RequestError::Network`). Whether Telegram acted on the call is unknown to the caller; the fake does not.
    Reset,
}

/// One recorded call to the fake.
#[derive(Clone, Debug)]
pub struct Call {
    /// Lower-case method name, e.g. `"sendmessage"`.
    pub method: String,
    /// The parameters: the JSON body, or form/multipart/query fields (numbers, booleans and
    /// JSON objects/arrays parsed; text fields such as `text`/`caption`/`data` kept as strings;
    /// uploaded files recorded as `{"filename": .., "size": ..}`).
    pub body: Value,
    /// When the request arrived (the call is recorded when it is answered).
    pub at: Instant,
    /// When the answer was ready (for a long-polling getUpdates, when it returned its updates).
    pub answered: Instant,
    /// The id of the message this call created (send*, copyMessage, forwardMessage) or edited.
    pub response_message_id: Option<i64>,
    /// True if a scripted failure or `set_down(true)` made this call fail.
    pub failed: bool,
    /// The JSON document answered (`{"ok":true,"result":..}` or the error document).
    pub response: Value,
}

impl Call {
    /// `chat_id` as a number, if any.
    pub fn chat_id(&self) -> Option<i64> {
        self.i64_field("chat_id")
    }

    pub fn i64_field(&self, key: &str) -> Option<i64> {
        match self.body.get(key)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.body.get(key)?.as_str()
    }

    /// `text`, or else `caption`.
    pub fn text(&self) -> Option<&str> {
        self.str_field("text").or_else(|| self.str_field("caption"))
    }

    /// `reply_markup`, if any (already parsed to JSON).
    pub fn reply_markup(&self) -> Option<&Value> {
        self.body.get("reply_markup")
    }

    /// The `callback_data` of every inline keyboard button in `reply_markup`, row by row.
    pub fn callback_data(&self) -> Vec<String> {
        inline_buttons(self.reply_markup())
            .filter_map(|b| b.get("callback_data")?.as_str().map(str::to_owned))
            .collect()
    }

    /// The text of every inline keyboard button in `reply_markup`, row by row.
    pub fn button_texts(&self) -> Vec<String> {
        inline_buttons(self.reply_markup())
            .filter_map(|b| b.get("text")?.as_str().map(str::to_owned))
            .collect()
    }

    /// The message id this call replies to (`reply_parameters.message_id` or
    /// `reply_to_message_id`).
    pub fn reply_to(&self) -> Option<i64> {
        reply_to_id(&self.body)
    }

    /// True for a successful sendMessage/sendPhoto/copyMessage/forwardMessage.
    pub fn is_send(&self) -> bool {
        !self.failed && SEND_METHODS.contains(&self.method.as_str())
    }

    /// True for a successful send (see [`Call::is_send`]) to `chat_id`.
    pub fn is_send_to(&self, chat_id: i64) -> bool {
        self.is_send() && self.chat_id() == Some(chat_id)
    }
}

fn inline_buttons(markup: Option<&Value>) -> impl Iterator<Item = &Value> {
    markup
        .and_then(|m| m.get("inline_keyboard"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
}

/// Status of a user in a chat, for `getChatMember`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberStatus {
    Member,
    Administrator,
    Creator,
}

#[derive(Default)]
struct State_ {
    next_update_id: i64,
    next_message_id: i64,
    next_callback_id: i64,
    /// Pushed, not yet confirmed updates (ascending update_id).
    updates: VecDeque<(i64, Value)>,
    /// Highest update_id returned by any getUpdates.
    max_delivered: i64,
    calls: Vec<Call>,
    /// Calls that have arrived, answered or not (a long poll is recorded in `calls` only once it is answered), by
    /// method.
    asked: HashMap<String, usize>,
    /// Bumped by `clear_calls`, so waiters rescan from the start.
    calls_epoch: u64,
    failures: HashMap<String, VecDeque<Failure>>,
    down: bool,
    /// Until this instant, every call but getUpdates fails so (see [`FakeBotApi::fail_for`]).
    failing: Option<(Instant, Failure)>,
    /// Sends are held, unanswered, until released (see [`FakeBotApi::hold_sends`]).
    holding_sends: bool,
    /// Sends let through and not yet recorded in `calls`.
    sends_in_flight: usize,
    members: HashMap<(i64, i64), MemberStatus>,
    /// Chat JSON by chat id, learnt from pushed updates.
    chats: HashMap<i64, Value>,
    /// Every message the fake knows (pushed or sent), by (chat_id, message_id).
    messages: HashMap<(i64, i64), Value>,
}

struct Shared {
    state: Mutex<State_>,
    /// Bumped whenever held sends are released.
    released_tx: watch::Sender<u64>,
    /// Bumped whenever an update is pushed.
    updates_tx: watch::Sender<u64>,
    /// Bumped whenever a call is recorded.
    calls_tx: watch::Sender<u64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State_> {
        // A panic elsewhere while holding the lock must not take the whole fake down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Stops the server thread when the last handle is dropped.
struct StopGuard {
    _stop: oneshot::Sender<()>,
}

/// Handle to a running fake Bot API. Cheap to clone; the server stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct FakeBotApi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    _guard: Arc<StopGuard>,
}

impl std::fmt::Debug for FakeBotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeBotApi")
            .field("addr", &self.addr)
            .finish()
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(1)
}

pub fn bot_user_json() -> Value {
    json!({
        "id": BOT_ID,
        "is_bot": true,
        "first_name": BOT_FIRST_NAME,
        "username": BOT_USERNAME,
    })
}

impl FakeBotApi {
    /// Binds 127.0.0.1:0 and serves on a dedicated thread.
    pub async fn start() -> Self {
        Self::start_blocking()
    }

    /// Same as [`FakeBotApi::start`], callable outside async code (e.g. from a benchmark).
    pub fn start_blocking() -> Self {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("fake Bot API: bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("fake Bot API: set_nonblocking");
        let addr = listener.local_addr().expect("fake Bot API: local_addr");
        let state = State_ {
            next_update_id: 1,
            next_message_id: 1,
            next_callback_id: 1,
            ..State_::default()
        };
        let (updates_tx, _) = watch::channel(0u64);
        let (calls_tx, _) = watch::channel(0u64);
        let (released_tx, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            released_tx,
            updates_tx,
            calls_tx,
        });
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let app = Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(shared.clone());
        std::thread::Builder::new()
            .name(format!("fake-bot-api-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("fake Bot API: tokio runtime");
                rt.block_on(async move {
                    let listener = Connections(
                        tokio::net::TcpListener::from_std(listener)
                            .expect("fake Bot API: tokio listener"),
                    );
                    let app = app.into_make_service_with_connect_info::<Connection>();
                    tokio::select! {
                        res = axum::serve(listener, app) => {
                            if let Err(e) = res {
                                eprintln!("fake Bot API stopped: {e}");
                            }
                        }
                        _ = stop_rx => {}
                    }
                });
                // Dropping the runtime cancels in-flight requests (e.g. long polls).
            })
            .expect("fake Bot API: spawn thread");
        Self {
            shared,
            addr,
            _guard: Arc::new(StopGuard { _stop: stop_tx }),
        }
    }

    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`
    /// (what `TELOXIDE_API_URL` / `Bot::set_api_url` want).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token the fake accepts: `"123456:TEST-token"`.
    pub fn token(&self) -> &'static str {
        FAKE_TOKEN
    }

    // ----- recorded calls -----

    /// Every call so far, in the order they were answered.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    /// Calls to `method` (any case, e.g. `"sendMessage"`).
    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        let m = canonical_method(method);
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| c.method == m)
            .cloned()
            .collect()
    }

    /// Successful sendMessage/sendPhoto/copyMessage/forwardMessage calls.
    pub fn sent_messages(&self) -> Vec<Call> {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| c.is_send())
            .cloned()
            .collect()
    }

    /// Successful sends (see [`FakeBotApi::sent_messages`]) to `chat_id`.
    pub fn messages_to(&self, chat_id: i64) -> Vec<Call> {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| c.is_send_to(chat_id))
            .cloned()
            .collect()
    }

    /// Forgets every recorded call (updates, messages and scripted failures stay).
    pub fn clear_calls(&self) {
        {
            let mut st = self.shared.lock();
            st.calls.clear();
            st.calls_epoch += 1;
        }
        self.shared.calls_tx.send_modify(|v| *v += 1);
    }

    /// How many calls to `method` have arrived so far, answered or not.
    pub fn asked(&self, method: &str) -> usize {
        let m = canonical_method(method);
        self.shared.lock().asked.get(&m).copied().unwrap_or(0)
    }

    /// Waits until `n` calls to `method` have arrived (a long poll counts as soon as it is made); whether they
    /// did, after `timeout`.
    pub async fn wait_asked(&self, method: &str, n: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.shared.calls_tx.subscribe();
        loop {
            if self.asked(method) >= n {
                return true;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => return self.asked(method) >= n,
            }
        }
    }

    /// The first call (already recorded or future) matching `pred`, or `None` after `timeout`.
    pub async fn wait_for(&self, pred: impl Fn(&Call) -> bool, timeout: Duration) -> Option<Call> {
        self.wait_for_count(pred, 1, timeout)
            .await
            .into_iter()
            .next()
    }

    /// Waits until `n` calls match `pred` and returns the first `n`; after `timeout`, returns
    /// the (fewer) matches found so far.
    pub async fn wait_for_count(
        &self,
        pred: impl Fn(&Call) -> bool,
        n: usize,
        timeout: Duration,
    ) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.shared.calls_tx.subscribe();
        let mut found = Vec::new();
        let mut scanned = 0;
        let mut epoch = None;
        loop {
            // Copy the new calls out: `pred` runs without the lock (it may call the fake).
            let fresh: Vec<Call> = {
                let st = self.shared.lock();
                if epoch != Some(st.calls_epoch) {
                    // `clear_calls` emptied the list: start again.
                    epoch = Some(st.calls_epoch);
                    scanned = 0;
                    found.clear();
                }
                let fresh = st.calls[scanned..].to_vec();
                scanned = st.calls.len();
                fresh
            };
            for c in fresh {
                if found.len() < n && pred(&c) {
                    found.push(c);
                }
            }
            if found.len() >= n {
                return found;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => return found,
            }
        }
    }

    /// Waits for the first successful send to `chat_id`.
    pub async fn wait_for_message_to(&self, chat_id: i64, timeout: Duration) -> Option<Call> {
        self.wait_for(|c| c.is_send_to(chat_id), timeout).await
    }

    // ----- failure scripting -----

    /// The next `times` calls to `method` (any case) fail (or are delayed) as scripted.
    pub fn fail_next(&self, method: &str, failure: Failure, times: usize) {
        let mut st = self.shared.lock();
        let q = st.failures.entry(canonical_method(method)).or_default();
        for _ in 0..times {
            q.push_back(failure.clone());
        }
    }

    /// Like [`FakeBotApi::fail_next`], but only for calls addressed to `chat_id` (e.g. the staff chat), so
    /// that other chats are served normally.
    pub fn fail_next_to(&self, method: &str, chat_id: i64, failure: Failure, times: usize) {
        let mut st = self.shared.lock();
        let q = st
            .failures
            .entry(format!("{}@{chat_id}", canonical_method(method)))
            .or_default();
        for _ in 0..times {
            q.push_back(failure.clone());
        }
    }

    /// Drops every scripted failure not yet used.
    pub fn clear_failures(&self) {
        self.shared.lock().failures.clear();
    }

    /// For `window` from now, every call but getUpdates fails with `failure` (then the scripted failures resume):
    /// Telegram failing for a while. getUpdates keeps answering, so that what clients write meanwhile reaches the
    /// bot and its answers meet the failure.
    pub fn fail_for(&self, failure: Failure, window: Duration) {
        self.shared.lock().failing = Some((Instant::now() + window, failure));
    }

    /// Telegram stops taking sends until [`FakeBotApi::release_sends`]: a send (see [`SEND_METHODS`]) that
    /// arrives meanwhile waits unanswered, and is then dropped with a connection reset, never delivered, as if the
    /// network had lost it on its way. A chaos test holds sends across a kill, so that no send is accepted by
    /// Telegram in the instant its sender dies (a send accepted and not yet recorded by the bot would go again
    /// after a restart: no Bot API method lets a bot find out whether it was delivered).
    pub fn hold_sends(&self) {
        self.shared.lock().holding_sends = true;
    }

    /// Sends let through before [`FakeBotApi::hold_sends`] and not yet answered.
    pub fn sends_in_flight(&self) -> usize {
        self.shared.lock().sends_in_flight
    }

    /// Ends [`FakeBotApi::hold_sends`]: the sends held are dropped, later ones are answered again.
    pub fn release_sends(&self) {
        self.shared.lock().holding_sends = false;
        self.shared.released_tx.send_modify(|v| *v += 1);
    }

    /// While down, every method answers HTTP 502 immediately (teloxide then sleeps 10 s).
    pub fn set_down(&self, down: bool) {
        self.shared.lock().down = down;
    }

    // ----- chat members -----

    /// `getChatMember(chat_id, user_id)` answers `member` (otherwise `left`).
    pub fn add_chat_member(&self, chat_id: i64, user_id: i64) {
        self.shared
            .lock()
            .members
            .insert((chat_id, user_id), MemberStatus::Member);
    }

    /// `getChatMember(chat_id, user_id)` answers `administrator`.
    pub fn add_chat_admin(&self, chat_id: i64, user_id: i64) {
        self.shared
            .lock()
            .members
            .insert((chat_id, user_id), MemberStatus::Administrator);
    }

    pub fn set_chat_member(&self, chat_id: i64, user_id: i64, status: MemberStatus) {
        self.shared
            .lock()
            .members
            .insert((chat_id, user_id), status);
    }

    pub fn remove_chat_member(&self, chat_id: i64, user_id: i64) {
        self.shared.lock().members.remove(&(chat_id, user_id));
    }

    // ----- messages the fake knows -----

    /// The message JSON the fake knows for (chat, id): pushed by a builder or sent by the bot
    /// (with edits applied).
    pub fn message(&self, chat_id: i64, message_id: i64) -> Option<Value> {
        self.shared
            .lock()
            .messages
            .get(&(chat_id, message_id))
            .cloned()
    }

    // ----- updates -----

    /// Pushes an update; `update_id` is assigned (overwritten). Returns the update_id.
    pub fn push_raw(&self, mut update: Value) -> i64 {
        let id = {
            let mut st = self.shared.lock();
            let id = st.next_update_id;
            st.next_update_id += 1;
            if let Value::Object(map) = &mut update {
                map.insert("update_id".into(), json!(id));
            }
            remember_update(&mut st, &update);
            st.updates.push_back((id, update));
            id
        };
        self.shared.updates_tx.send_modify(|v| *v += 1);
        id
    }

    /// The JSON of a pushed update that is not yet confirmed.
    pub fn update_json(&self, update_id: i64) -> Option<Value> {
        let st = self.shared.lock();
        st.updates
            .iter()
            .find(|(id, _)| *id == update_id)
            .map(|(_, u)| u.clone())
    }

    /// Updates pushed but not yet confirmed by a later getUpdates offset.
    pub fn pending_updates(&self) -> usize {
        self.shared.lock().updates.len()
    }

    /// True once some getUpdates answer has contained `update_id`.
    pub fn delivered(&self, update_id: i64) -> bool {
        self.shared.lock().max_delivered >= update_id
    }

    /// Waits until some getUpdates answer has contained `update_id`.
    pub async fn wait_delivered(&self, update_id: i64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.shared.calls_tx.subscribe();
        loop {
            if self.delivered(update_id) {
                return true;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => return self.delivered(update_id),
            }
        }
    }

    fn next_message_id(&self) -> i64 {
        let mut st = self.shared.lock();
        let id = st.next_message_id;
        st.next_message_id += 1;
        id
    }

    fn push_message(&self, message: Value) -> (i64, i64) {
        let mid = message["message_id"].as_i64().unwrap_or_default();
        (self.push_raw(json!({ "message": message })), mid)
    }

    fn user_message(&self, chat: Value, user: &User, content: Map<String, Value>) -> Value {
        let mut m = json!({
            "message_id": self.next_message_id(),
            "date": now_unix(),
            "chat": chat,
            "from": user.to_json(),
        });
        if let Value::Object(map) = &mut m {
            map.extend(content);
        }
        m
    }

    /// A text message from `user` in their private chat (chat id = user id).
    /// Returns (update_id, message_id).
    pub fn client_text(&self, user: &User, text: &str) -> (i64, i64) {
        let m = self.user_message(private_chat(user), user, text_content(text));
        self.push_message(m)
    }

    /// `edited_message`: `user` edits their private message `message_id`. Returns the update_id.
    pub fn client_edit(&self, user: &User, message_id: i64, new_text: &str) -> i64 {
        let date = self
            .message(user.id, message_id)
            .and_then(|m| m["date"].as_i64())
            .unwrap_or_else(now_unix);
        let mut m = json!({
            "message_id": message_id,
            "date": date,
            "edit_date": now_unix(),
            "chat": private_chat(user),
            "from": user.to_json(),
        });
        if let Value::Object(map) = &mut m {
            map.extend(text_content(new_text));
        }
        self.push_raw(json!({ "edited_message": m }))
    }

    /// A photo from `user` (one size, with `file_id`), with an optional caption.
    pub fn client_photo(&self, user: &User, file_id: &str, caption: Option<&str>) -> (i64, i64) {
        let mut c = Map::new();
        c.insert(
            "photo".into(),
            json!([
                {"file_id": format!("{file_id}-small"), "file_unique_id": format!("{file_id}-u-s"),
                 "width": 90, "height": 90, "file_size": 1200},
                {"file_id": file_id, "file_unique_id": format!("{file_id}-u"),
                 "width": 1280, "height": 960, "file_size": 120_000},
            ]),
        );
        if let Some(caption) = caption {
            c.insert("caption".into(), json!(caption));
        }
        let m = self.user_message(private_chat(user), user, c);
        self.push_message(m)
    }

    /// A voice note from `user`.
    pub fn client_voice(&self, user: &User) -> (i64, i64) {
        let mut c = Map::new();
        c.insert(
            "voice".into(),
            json!({"file_id": "voice-file-id", "file_unique_id": "voice-unique",
                   "duration": 3, "mime_type": "audio/ogg", "file_size": 9000}),
        );
        let m = self.user_message(private_chat(user), user, c);
        self.push_message(m)
    }

    /// A sticker from `user`.
    pub fn client_sticker(&self, user: &User) -> (i64, i64) {
        let mut c = Map::new();
        c.insert(
            "sticker".into(),
            json!({"file_id": "sticker-file-id", "file_unique_id": "sticker-unique",
                   "type": "regular", "width": 512, "height": 512,
                   "is_animated": false, "is_video": false, "emoji": "\u{1F44D}",
                   "file_size": 20000}),
        );
        let m = self.user_message(private_chat(user), user, c);
        self.push_message(m)
    }

    /// A document (PDF) from `user`.
    pub fn client_document(&self, user: &User) -> (i64, i64) {
        let mut c = Map::new();
        c.insert(
            "document".into(),
            json!({"file_id": "document-file-id", "file_unique_id": "document-unique",
                   "file_name": "consent.pdf", "mime_type": "application/pdf",
                   "file_size": 50000}),
        );
        let m = self.user_message(private_chat(user), user, c);
        self.push_message(m)
    }

    /// A location from `user`.
    pub fn client_location(&self, user: &User) -> (i64, i64) {
        let mut c = Map::new();
        c.insert(
            "location".into(),
            json!({"latitude": 51.5074, "longitude": -0.1278}),
        );
        let m = self.user_message(private_chat(user), user, c);
        self.push_message(m)
    }

    /// A text message from `user` in a (basic) group chat `chat_id` (normally negative).
    pub fn group_text(&self, chat_id: i64, user: &User, text: &str) -> (i64, i64) {
        let chat = self.known_chat(chat_id).unwrap_or_else(
            || json!({"id": chat_id, "type": "group", "title": format!("Group {chat_id}")}),
        );
        let m = self.user_message(chat, user, text_content(text));
        self.push_message(m)
    }

    /// A text message from `user` in the staff supergroup `chat_id` (not a reply).
    pub fn staff_text(&self, chat_id: i64, user: &User, text: &str) -> (i64, i64) {
        let chat = self.staff_chat(chat_id);
        let m = self.user_message(chat, user, text_content(text));
        self.push_message(m)
    }

    /// `user` replies in the staff supergroup `chat_id` to the bot's message
    /// `reply_to_message_id` (`reply_to_message` is the bot's message as the fake knows it, or a
    /// synthetic bot message with that id).
    pub fn staff_reply(
        &self,
        chat_id: i64,
        user: &User,
        reply_to_message_id: i64,
        text: &str,
    ) -> (i64, i64) {
        let chat = self.staff_chat(chat_id);
        let replied = self.bot_message_for(chat_id, reply_to_message_id, &chat);
        let mut c = text_content(text);
        c.insert("reply_to_message".into(), replied);
        let m = self.user_message(chat, user, c);
        self.push_message(m)
    }

    /// `user` presses an inline button with `data` on the bot's message `message_id` in
    /// `chat_id`. Returns the update_id.
    pub fn callback(&self, user: &User, chat_id: i64, message_id: i64, data: &str) -> i64 {
        let chat = self
            .known_chat(chat_id)
            .unwrap_or_else(|| default_chat(chat_id));
        let message = self.bot_message_for(chat_id, message_id, &chat);
        let id = {
            let mut st = self.shared.lock();
            let id = st.next_callback_id;
            st.next_callback_id += 1;
            id
        };
        self.push_raw(json!({
            "callback_query": {
                "id": format!("cbq-{id}"),
                "from": user.to_json(),
                "chat_instance": format!("ci{chat_id}"),
                "data": data,
                "message": message,
            }
        }))
    }

    fn known_chat(&self, chat_id: i64) -> Option<Value> {
        self.shared.lock().chats.get(&chat_id).cloned()
    }

    fn staff_chat(&self, chat_id: i64) -> Value {
        match self.known_chat(chat_id) {
            Some(c) if c["type"] == "supergroup" => c,
            _ => json!({"id": chat_id, "type": "supergroup", "title": "Staff"}),
        }
    }

    /// The bot's message (chat, id) as the fake knows it (without its own reply_to_message),
    /// or a synthetic one.
    fn bot_message_for(&self, chat_id: i64, message_id: i64, chat: &Value) -> Value {
        match self.message(chat_id, message_id) {
            Some(mut m) => {
                if let Value::Object(map) = &mut m {
                    map.remove("reply_to_message");
                }
                m
            }
            None => json!({
                "message_id": message_id,
                "date": now_unix(),
                "chat": chat,
                "from": bot_user_json(),
                "text": "(message from the bot)",
            }),
        }
    }
}

fn private_chat(user: &User) -> Value {
    let mut c = json!({"id": user.id, "type": "private", "first_name": user.first_name});
    if let Some(name) = &user.username {
        c["username"] = json!(name);
    }
    c
}

fn default_chat(chat_id: i64) -> Value {
    if chat_id > 0 {
        json!({"id": chat_id, "type": "private", "first_name": format!("User {chat_id}")})
    } else {
        json!({"id": chat_id, "type": "supergroup", "title": format!("Chat {chat_id}")})
    }
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn text_content(text: &str) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("text".into(), json!(text));
    if text.starts_with('/') {
        let cmd = text.split_whitespace().next().unwrap_or(text);
        c.insert(
            "entities".into(),
            json!([{"type": "bot_command", "offset": 0, "length": utf16_len(cmd)}]),
        );
    }
    c
}

/// Remembers the chats and messages of a pushed update.
fn remember_update(st: &mut State_, update: &Value) {
    for key in ["message", "edited_message"] {
        if let Some(m) = update.get(key) {
            remember_message(st, m);
        }
    }
    if let Some(m) = update.get("callback_query").and_then(|q| q.get("message")) {
        remember_message(st, m);
    }
}

fn remember_message(st: &mut State_, m: &Value) {
    let (Some(chat_id), Some(mid)) = (m["chat"]["id"].as_i64(), m["message_id"].as_i64()) else {
        return;
    };
    st.chats.entry(chat_id).or_insert_with(|| m["chat"].clone());
    st.messages.insert((chat_id, mid), m.clone());
}

/// Deserializes Bot API update JSON the way teloxide does on the wire. Use this rather than
/// `serde_json::from_value::<Update>`: teloxide's `UpdateKind` deserializer wants borrowed map
/// keys, so from a `Value` it always produces `UpdateKind::Error`.
pub fn parse_update(json: &Value) -> serde_json::Result<teloxide::types::Update> {
    serde_json::from_str(&json.to_string())
}

// ===================================================================================
// HTTP side
// ===================================================================================

/// Canonical method name: lower case, without teloxide's `Inline` suffix.
pub fn canonical_method(method: &str) -> String {
    let m = method.to_ascii_lowercase();
    m.strip_suffix("inline").map(str::to_owned).unwrap_or(m)
}

struct Answer {
    status: StatusCode,
    body: Value,
    message_id: Option<i64>,
    failed: bool,
}

impl Answer {
    fn ok(result: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: json!({"ok": true, "result": result}),
            message_id: None,
            failed: false,
        }
    }

    fn message(message: Value) -> Self {
        let id = message["message_id"].as_i64();
        Self {
            message_id: id,
            ..Self::ok(message)
        }
    }

    fn error(code: u16, description: &str) -> Self {
        Self {
            status: StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: json!({"ok": false, "error_code": code, "description": description}),
            message_id: None,
            failed: true,
        }
    }

    fn bad_request(what: &str) -> Self {
        Self::error(400, &format!("Bad Request: {what}"))
    }

    fn not_found() -> Self {
        Self::error(404, "Not Found: method not found")
    }

    fn retry_after(secs: u32) -> Self {
        let mut a = Self::error(429, &format!("Too Many Requests: retry after {secs}"));
        a.body["parameters"] = json!({"retry_after": secs});
        a
    }
}

fn status_description(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let path = uri.path().trim_start_matches('/');
    let mut parts = path.splitn(2, '/');
    let (bot_part, method_part) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let Some(token) = bot_part.strip_prefix("bot") else {
        return respond(Answer::not_found());
    };
    let token = percent_decode(token, false);
    let method = canonical_method(method_part.trim_end_matches('/'));
    let params = parse_params(&headers, uri.query(), &body);

    if token == FAKE_TOKEN {
        *shared.lock().asked.entry(method.clone()).or_default() += 1;
        shared.calls_tx.send_modify(|v| *v += 1);
    }
    let is_send = token == FAKE_TOKEN && SEND_METHODS.contains(&method.as_str());
    let held = is_send && {
        let mut released = shared.released_tx.subscribe();
        let was_held = {
            // Checked and counted under one lock: a send let through is in flight until it is recorded.
            let mut st = shared.lock();
            if !st.holding_sends {
                st.sends_in_flight += 1;
            }
            st.holding_sends
        };
        while was_held && shared.lock().holding_sends {
            if released.changed().await.is_err() {
                break;
            }
        }
        was_held
    };
    let answer = if held {
        connection.reset();
        Answer {
            failed: true,
            ..Answer::ok(json!("held while the bot was killed, never delivered"))
        }
    } else if token != FAKE_TOKEN {
        Answer::error(401, "Unauthorized")
    } else {
        let (down, failure) = {
            let mut st = shared.lock();
            let failing = st
                .failing
                .as_ref()
                .filter(|(until, _)| method != "getupdates" && at < *until)
                .map(|(_, failure)| failure.clone());
            let chat_key = field_i64(&params, "chat_id").map(|chat| format!("{method}@{chat}"));
            let failure = failing
                .or_else(|| {
                    chat_key.and_then(|key| st.failures.get_mut(&key).and_then(VecDeque::pop_front))
                })
                .or_else(|| st.failures.get_mut(&method).and_then(VecDeque::pop_front));
            (st.down, failure)
        };
        if down {
            Answer::error(502, "Bad Gateway")
        } else {
            match failure {
                Some(Failure::RetryAfter(n)) => Answer::retry_after(n),
                Some(Failure::Status(code)) => Answer::error(code, status_description(code)),
                Some(Failure::Api(code, description)) => Answer::error(code, &description),
                Some(Failure::Delay(d)) => {
                    tokio::time::sleep(d).await;
                    dispatch(&shared, &method, &params).await
                }
                Some(Failure::Reset) => {
                    connection.reset();
                    Answer {
                        failed: true,
                        ..Answer::ok(json!("connection reset, nothing answered"))
                    }
                }
                None => dispatch(&shared, &method, &params).await,
            }
        }
    };

    let call = Call {
        method,
        body: params,
        at,
        answered: Instant::now(),
        response_message_id: answer.message_id,
        failed: answer.failed,
        response: answer.body.clone(),
    };
    {
        let mut st = shared.lock();
        st.calls.push(call);
        if is_send && !held {
            st.sends_in_flight -= 1;
        }
    }
    shared.calls_tx.send_modify(|v| *v += 1);
    respond(answer)
}

/// The fake's connections, each of which a call can [reset](Connection::reset).
struct Connections(tokio::net::TcpListener);

/// One connection, as the calls on it see it.
#[derive(Clone, Debug)]
struct Connection(Arc<AtomicBool>);

impl Connection {
    /// Nothing more is written on this connection: it is closed with a TCP reset instead of the answer.
    fn reset(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Listener for Connections {
    type Io = Resettable;
    type Addr = Connection;

    async fn accept(&mut self) -> (Resettable, Connection) {
        let (stream, _) = Listener::accept(&mut self.0).await;
        let connection = Connection(Arc::new(AtomicBool::new(false)));
        let io = Resettable {
            stream,
            reset: connection.0.clone(),
        };
        (io, connection)
    }

    fn local_addr(&self) -> std::io::Result<Connection> {
        Ok(Connection(Arc::new(AtomicBool::new(false))))
    }
}

impl Connected<IncomingStream<'_, Connections>> for Connection {
    fn connect_info(stream: IncomingStream<'_, Connections>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A connection's stream: once reset, writing fails, and the server drops the connection, which (with no
/// lingering) sends a TCP reset.
struct Resettable {
    stream: tokio::net::TcpStream,
    reset: Arc<AtomicBool>,
}

impl Resettable {
    fn refuse(&self) -> Option<std::io::Error> {
        if !self.reset.load(Ordering::SeqCst) {
            return None;
        }
        let _ = self.stream.set_zero_linger();
        Some(std::io::ErrorKind::ConnectionReset.into())
    }
}

impl AsyncRead for Resettable {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Resettable {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if let Some(e) = self.refuse() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if let Some(e) = self.refuse() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

fn respond(answer: Answer) -> Response {
    (
        answer.status,
        [(header::CONTENT_TYPE, "application/json")],
        answer.body.to_string(),
    )
        .into_response()
}

fn field_i64(params: &Value, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn reply_to_id(params: &Value) -> Option<i64> {
    params
        .get("reply_parameters")
        .and_then(|r| field_i64(r, "message_id"))
        .or_else(|| field_i64(params, "reply_to_message_id"))
}

/// Telegram refuses a text over 4,096 characters, counted in UTF-16 code units.
fn too_long(text: &str) -> bool {
    text.encode_utf16().count() > 4096
}

async fn dispatch(shared: &Arc<Shared>, method: &str, p: &Value) -> Answer {
    match method {
        "getme" => Answer::ok(me_json()),
        "getupdates" => get_updates(shared, p).await,
        "sendmessage" => {
            let Some(text) = p.get("text").and_then(Value::as_str) else {
                return Answer::bad_request("message text is empty");
            };
            if too_long(text) {
                return Answer::bad_request("message is too long");
            }
            let mut c = Map::new();
            c.insert("text".into(), json!(text));
            send_message(shared, p, c)
        }
        "sendphoto" => {
            let mut c = Map::new();
            let file_id = match p.get("photo") {
                Some(Value::String(s)) if !s.starts_with("attach://") => s.clone(),
                _ => format!("fake-photo-{}", shared.lock().next_message_id),
            };
            c.insert(
                "photo".into(),
                json!([{"file_id": file_id, "file_unique_id": format!("{file_id}-u"),
                        "width": 800, "height": 600, "file_size": 50_000}]),
            );
            if let Some(caption) = p.get("caption").and_then(Value::as_str) {
                c.insert("caption".into(), json!(caption));
            }
            send_message(shared, p, c)
        }
        "copymessage" => copy_or_forward(shared, p, false),
        "forwardmessage" => copy_or_forward(shared, p, true),
        "editmessagetext" | "editmessagecaption" | "editmessagereplymarkup" => {
            if p.get("text").and_then(Value::as_str).is_some_and(too_long) {
                return Answer::bad_request("message is too long");
            }
            edit_message(shared, method, p)
        }
        "getwebhookinfo" => Answer::ok(json!({
            "url": "",
            "has_custom_certificate": false,
            "pending_update_count": shared.lock().updates.len(),
        })),
        "answercallbackquery"
        | "deletewebhook"
        | "setwebhook"
        | "setmycommands"
        | "deletemycommands"
        | "sendchataction"
        | "close"
        | "logout"
        | "deletemessage"
        | "deletemessages"
        | "setmydescription"
        | "setmyshortdescription"
        | "setmyname"
        | "setchatmenubutton"
        | "pinchatmessage"
        | "unpinchatmessage" => Answer::ok(json!(true)),
        "getmycommands" => Answer::ok(json!([])),
        "getchatmember" => {
            let (Some(chat_id), Some(user_id)) = (field_i64(p, "chat_id"), field_i64(p, "user_id"))
            else {
                return Answer::bad_request("chat not found");
            };
            let status = shared.lock().members.get(&(chat_id, user_id)).copied();
            Answer::ok(chat_member_json(user_id, status))
        }
        "getchat" => {
            let Some(chat_id) = field_i64(p, "chat_id") else {
                return Answer::bad_request("chat not found");
            };
            let chat = chat_for(&shared.lock(), chat_id);
            let mut full = chat;
            full["accepted_gift_types"] = json!({
                "unlimited_gifts": false, "limited_gifts": false,
                "unique_gifts": false, "premium_subscription": false,
            });
            full["max_reaction_count"] = json!(11);
            Answer::ok(full)
        }
        _ => Answer::not_found(),
    }
}

fn me_json() -> Value {
    let mut me = bot_user_json();
    me["can_join_groups"] = json!(true);
    me["can_read_all_group_messages"] = json!(false);
    me["supports_inline_queries"] = json!(false);
    me["can_connect_to_business"] = json!(false);
    me["has_main_web_app"] = json!(false);
    me
}

fn chat_member_json(user_id: i64, status: Option<MemberStatus>) -> Value {
    let user = json!({"id": user_id, "is_bot": user_id == BOT_ID, "first_name": format!("User {user_id}")});
    match status {
        None => json!({"user": user, "status": "left"}),
        Some(MemberStatus::Member) => json!({"user": user, "status": "member"}),
        Some(MemberStatus::Creator) => {
            json!({"user": user, "status": "creator", "is_anonymous": false})
        }
        Some(MemberStatus::Administrator) => json!({
            "user": user, "status": "administrator",
            "can_be_edited": false, "is_anonymous": false, "can_manage_chat": true,
            "can_delete_messages": true, "can_manage_video_chats": true,
            "can_restrict_members": true, "can_promote_members": false,
            "can_change_info": true, "can_invite_users": true,
            "can_post_stories": false, "can_edit_stories": false, "can_delete_stories": false,
            "can_pin_messages": true,
        }),
    }
}

fn chat_for(st: &State_, chat_id: i64) -> Value {
    st.chats
        .get(&chat_id)
        .cloned()
        .unwrap_or_else(|| default_chat(chat_id))
}

/// `reply_markup` if it is an inline keyboard (teloxide's `Message.reply_markup` only holds
/// `InlineKeyboardMarkup`; echoing a reply keyboard would break deserialization).
fn inline_markup(p: &Value) -> Option<Value> {
    p.get("reply_markup")
        .filter(|m| m.get("inline_keyboard").is_some())
        .cloned()
}

fn new_bot_message(st: &mut State_, chat_id: i64, content: Map<String, Value>, p: &Value) -> Value {
    let id = st.next_message_id;
    st.next_message_id += 1;
    let mut m = json!({
        "message_id": id,
        "date": now_unix(),
        "chat": chat_for(st, chat_id),
        "from": bot_user_json(),
    });
    if let Value::Object(map) = &mut m {
        map.extend(content);
    }
    if let Some(markup) = inline_markup(p) {
        m["reply_markup"] = markup;
    }
    if let Some(reply_id) = reply_to_id(p) {
        let mut replied = st
            .messages
            .get(&(chat_id, reply_id))
            .cloned()
            .unwrap_or_else(|| {
                json!({
                    "message_id": reply_id,
                    "date": now_unix(),
                    "chat": chat_for(st, chat_id),
                    "text": "(earlier message)",
                })
            });
        if let Value::Object(map) = &mut replied {
            map.remove("reply_to_message");
        }
        m["reply_to_message"] = replied;
    }
    st.messages.insert((chat_id, id), m.clone());
    m
}

fn send_message(shared: &Arc<Shared>, p: &Value, content: Map<String, Value>) -> Answer {
    let Some(chat_id) = field_i64(p, "chat_id") else {
        return Answer::bad_request("chat not found");
    };
    let mut st = shared.lock();
    Answer::message(new_bot_message(&mut st, chat_id, content, p))
}

const CONTENT_KEYS: &[&str] = &[
    "text",
    "entities",
    "caption",
    "caption_entities",
    "photo",
    "voice",
    "sticker",
    "document",
    "location",
    "video",
    "audio",
    "animation",
    "contact",
];

fn copy_or_forward(shared: &Arc<Shared>, p: &Value, forward: bool) -> Answer {
    let (Some(chat_id), Some(from_chat), Some(mid)) = (
        field_i64(p, "chat_id"),
        field_i64(p, "from_chat_id"),
        field_i64(p, "message_id"),
    ) else {
        return Answer::bad_request(if forward {
            "message to forward not found"
        } else {
            "message to copy not found"
        });
    };
    let mut st = shared.lock();
    let original = st.messages.get(&(from_chat, mid)).cloned();
    let mut content = Map::new();
    match &original {
        Some(o) => {
            for k in CONTENT_KEYS {
                if let Some(v) = o.get(*k) {
                    content.insert((*k).into(), v.clone());
                }
            }
        }
        None => {
            content.insert("text".into(), json!(format!("(copy of message {mid})")));
        }
    }
    if !forward && let Some(caption) = p.get("caption").and_then(Value::as_str) {
        content.insert("caption".into(), json!(caption));
    }
    if forward {
        let origin = match original.as_ref().and_then(|o| o.get("from")) {
            Some(from) => {
                json!({"type": "user", "date": original.as_ref().and_then(|o| o["date"].as_i64()).unwrap_or_else(now_unix), "sender_user": from})
            }
            None => {
                json!({"type": "hidden_user", "date": now_unix(), "sender_user_name": "Someone"})
            }
        };
        content.insert("forward_origin".into(), origin);
        let m = new_bot_message(&mut st, chat_id, content, &Value::Null);
        Answer::message(m)
    } else {
        let m = new_bot_message(&mut st, chat_id, content, p);
        let id = m["message_id"].as_i64();
        Answer {
            message_id: id,
            ..Answer::ok(json!({"message_id": id}))
        }
    }
}

fn edit_message(shared: &Arc<Shared>, method: &str, p: &Value) -> Answer {
    if p.get("inline_message_id").is_some() {
        return Answer::ok(json!(true));
    }
    let (Some(chat_id), Some(mid)) = (field_i64(p, "chat_id"), field_i64(p, "message_id")) else {
        return Answer::bad_request("message to edit not found");
    };
    let mut st = shared.lock();
    let mut m = st
        .messages
        .get(&(chat_id, mid))
        .cloned()
        .unwrap_or_else(|| {
            json!({
                "message_id": mid,
                "date": now_unix(),
                "chat": chat_for(&st, chat_id),
                "from": bot_user_json(),
                "text": "",
            })
        });
    match method {
        "editmessagetext" => {
            let Some(text) = p.get("text").and_then(Value::as_str) else {
                return Answer::bad_request("message text is empty");
            };
            m["text"] = json!(text);
            if let Value::Object(map) = &mut m {
                map.remove("entities");
            }
        }
        "editmessagecaption" => {
            m["caption"] = p.get("caption").cloned().unwrap_or(json!(""));
        }
        _ => {}
    }
    if let Value::Object(map) = &mut m {
        map.remove("reply_markup");
    }
    if let Some(markup) = inline_markup(p) {
        m["reply_markup"] = markup;
    }
    m["edit_date"] = json!(now_unix());
    st.messages.insert((chat_id, mid), m.clone());
    Answer::message(m)
}

async fn get_updates(shared: &Arc<Shared>, p: &Value) -> Answer {
    let offset = field_i64(p, "offset");
    let limit = field_i64(p, "limit").unwrap_or(100).clamp(1, 100) as usize;
    let timeout = field_i64(p, "timeout").unwrap_or(0).max(0) as u64;
    let allowed: Option<HashSet<String>> = p
        .get("allowed_updates")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    let mut rx = shared.updates_tx.subscribe();
    {
        let mut st = shared.lock();
        match offset {
            Some(o) if o < 0 => {
                let keep = o.unsigned_abs() as usize;
                while st.updates.len() > keep {
                    st.updates.pop_front();
                }
            }
            Some(o) => {
                while st.updates.front().is_some_and(|(id, _)| *id < o) {
                    st.updates.pop_front();
                }
            }
            None => {}
        }
    }
    loop {
        {
            let mut st = shared.lock();
            let batch: Vec<Value> = st
                .updates
                .iter()
                .filter(|(_, u)| update_allowed(u, allowed.as_ref()))
                .take(limit)
                .map(|(_, u)| u.clone())
                .collect();
            if !batch.is_empty() {
                let max = batch
                    .iter()
                    .filter_map(|u| u["update_id"].as_i64())
                    .max()
                    .unwrap_or(0);
                st.max_delivered = st.max_delivered.max(max);
                return Answer::ok(Value::Array(batch));
            }
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => continue,
            _ => return Answer::ok(json!([])),
        }
    }
}

fn update_allowed(update: &Value, allowed: Option<&HashSet<String>>) -> bool {
    let Some(allowed) = allowed else {
        return true;
    };
    match update.as_object() {
        Some(map) => map.keys().any(|k| k != "update_id" && allowed.contains(k)),
        None => true,
    }
}

// ----- parameter parsing -----

/// Fields that stay strings even when they look like numbers or JSON.
const STRING_FIELDS: &[&str] = &[
    "text",
    "caption",
    "data",
    "callback_query_id",
    "url",
    "parse_mode",
    "file_id",
    "inline_message_id",
    "business_connection_id",
    "message_effect_id",
    "secret_token",
    "description",
    "short_description",
    "name",
    "emoji",
    "action",
    "language_code",
];

fn coerce(key: &str, s: String) -> Value {
    if STRING_FIELDS.contains(&key) {
        return Value::String(s);
    }
    if let Ok(i) = s.parse::<i64>() {
        return json!(i);
    }
    if s.contains('.')
        && let Ok(f) = s.parse::<f64>()
        && f.is_finite()
    {
        return json!(f);
    }
    match s.as_str() {
        "true" => return json!(true),
        "false" => return json!(false),
        _ => {}
    }
    if (s.starts_with('{') || s.starts_with('['))
        && let Ok(v) = serde_json::from_str::<Value>(&s)
    {
        return v;
    }
    Value::String(s)
}

fn parse_params(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Value {
    let mut map = Map::new();
    if let Some(q) = query {
        for (k, v) in parse_urlencoded(q) {
            let v = coerce(&k, v);
            map.insert(k, v);
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let ct_lower = content_type.to_ascii_lowercase();
    if body.is_empty() {
        // nothing
    } else if ct_lower.starts_with("multipart/form-data") {
        if let Some(boundary) = multipart_boundary(&content_type) {
            for (k, v) in parse_multipart(body, &boundary) {
                map.insert(k, v);
            }
        }
    } else if ct_lower.starts_with("application/x-www-form-urlencoded") {
        for (k, v) in parse_urlencoded(&String::from_utf8_lossy(body)) {
            let v = coerce(&k, v);
            map.insert(k, v);
        }
    } else if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) {
        map.extend(obj);
    }
    Value::Object(map)
}

fn parse_urlencoded(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn multipart_boundary(content_type: &str) -> Option<String> {
    content_type.split(';').map(str::trim).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn parse_multipart(body: &[u8], boundary: &str) -> Vec<(String, Value)> {
    let delim = format!("--{boundary}").into_bytes();
    let mut fields = Vec::new();
    let Some(mut pos) = find(body, &delim, 0) else {
        return fields;
    };
    loop {
        pos += delim.len();
        if body[pos..].starts_with(b"--") {
            break;
        }
        // Skip the CRLF after the delimiter.
        let part_start = match find(body, b"\r\n", pos) {
            Some(p) => p + 2,
            None => break,
        };
        let Some(next) = find(body, &delim, part_start) else {
            break;
        };
        // The part ends with CRLF before the next delimiter.
        let part_end = if next >= 2 && &body[next - 2..next] == b"\r\n" {
            next - 2
        } else {
            next
        };
        let part = &body[part_start..part_end.max(part_start)];
        if let Some(hdr_end) = find(part, b"\r\n\r\n", 0) {
            let headers = String::from_utf8_lossy(&part[..hdr_end]);
            let content = &part[hdr_end + 4..];
            let mut name = None;
            let mut filename = None;
            for line in headers.lines() {
                let Some((h, v)) = line.split_once(':') else {
                    continue;
                };
                if !h.trim().eq_ignore_ascii_case("content-disposition") {
                    continue;
                }
                for attr in v.split(';').map(str::trim) {
                    if let Some((k, val)) = attr.split_once('=') {
                        let val = val.trim().trim_matches('"').to_owned();
                        match k.trim() {
                            "name" => name = Some(val),
                            "filename" => filename = Some(val),
                            _ => {}
                        }
                    }
                }
            }
            if let Some(name) = name {
                let value = match filename {
                    Some(f) => json!({"filename": f, "size": content.len()}),
                    None => coerce(&name, String::from_utf8_lossy(content).into_owned()),
                };
                fields.push((name, value));
            }
        }
        pos = next;
    }
    fields
}
