//! Receiving updates into the durable inbox. An update is stored before Telegram is told it arrived (polling:
//! before the next getUpdates confirms it; webhook: before answering 200), so a crash at any moment loses
//! nothing: what was stored and not handled is handled at the next start, and what was not stored Telegram
//! sends again.
//!
//! When the database cannot be written, the client still gets the curated answer at once (and for a report,
//! the clinic's phone number), the update stays unconfirmed, and it is handled once the database is back.

use super::{App, HANDLED_UPDATES, TelegramMessenger};
use crate::front::send_says;
use crate::store::{ReceivedUpdate, StoreError};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::types::UpdateKind;
use tokio::sync::{mpsc, watch};

/// Updates read back from the inbox at once, at start-up and by the sweep.
const REPLAY_BATCH: i64 = 10_000;

/// How often stored updates that are not queued (left while the database was away) are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// How long storing a batch may take before the database counts as away: its clients are then answered from
/// the intents alone, within the two seconds a client waits for an answer.
pub const STORE_WAIT: Duration = Duration::from_millis(1200);

/// How long a poll waits before asking Telegram again while the database is away: its updates stay
/// unconfirmed, and new clients are answered from the intents at the next poll.
const AWAY_POLL: Duration = Duration::from_millis(500);

/// Updates stored and waiting to be handled, and what is known about them in memory.
pub struct Inbox {
    app: Arc<App>,
    bot: Bot,
    queue: mpsc::Sender<Update>,
    /// Updates queued or being handled, so that none is queued twice.
    queued: Mutex<HashSet<u32>>,
    /// Updates answered without storage while the database was away: not answered so again when Telegram sends
    /// them once more.
    answered_offline: Mutex<HashSet<u32>>,
    /// The last attempt to store updates failed: until one succeeds, clients are answered from the intents
    /// before the database is tried again.
    database_away: AtomicBool,
}

impl Inbox {
    /// The inbox and the receiving end of its queue, which [`super::handle_updates`] drains.
    pub fn new(app: Arc<App>, bot: Bot, capacity: usize) -> (Arc<Inbox>, mpsc::Receiver<Update>) {
        let (queue, queued) = mpsc::channel(capacity);
        let inbox = Inbox {
            app,
            bot,
            queue,
            queued: Mutex::default(),
            answered_offline: Mutex::default(),
            database_away: AtomicBool::new(false),
        };
        (Arc::new(inbox), queued)
    }

    /// Stores a batch in one transaction, then queues the updates seen for the first time. Updates Telegram
    /// could not describe are logged and dropped: there is nothing to handle in them.
    pub async fn receive(&self, updates: Vec<Update>) -> Result<(), StoreError> {
        let updates: Vec<Update> = updates
            .into_iter()
            .filter(|update| {
                let readable = !matches!(update.kind, UpdateKind::Error(_));
                if !readable {
                    // Its content is not logged: it may be a client's message.
                    tracing::warn!(
                        update = update.id.0,
                        "an update Telegram sent could not be read"
                    );
                }
                readable
            })
            .collect();
        if updates.is_empty() {
            return Ok(());
        }
        let batch = updates
            .iter()
            .map(|update| {
                Ok(ReceivedUpdate {
                    update_id: i64::from(update.id.0),
                    chat_id: update.chat().map(|chat| chat.id.0),
                    raw: serde_json::to_string(update)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Claimed before storing, so that the sweep cannot queue them in between.
        let claimed: Vec<u32> = {
            let mut queued = self.lock(&self.queued);
            updates
                .iter()
                .map(|update| update.id.0)
                .filter(|id| queued.insert(*id))
                .collect()
        };
        let metrics = &self.app.service.metrics;
        metrics.telegram_answered(self.app.clock.now());
        for update in updates.iter().filter(|u| claimed.contains(&u.id.0)) {
            metrics.update_received(kind_of(&update.kind));
        }
        let stored = tokio::time::timeout(
            STORE_WAIT,
            self.app
                .service
                .db
                .receive_updates(&batch, self.app.clock.now()),
        )
        .await
        .unwrap_or(Err(StoreError::TimedOut(STORE_WAIT)));
        self.database_away.store(stored.is_err(), Ordering::SeqCst);
        let new: HashSet<i64> = match stored {
            Ok(new) => new.into_iter().collect(),
            Err(e) => {
                self.unclaim(&claimed, |_| true);
                return Err(e);
            }
        };
        // Not new: handled before, or queued by someone else.
        self.unclaim(&claimed, |id| !new.contains(&i64::from(id)));
        for update in updates {
            if new.contains(&i64::from(update.id.0)) {
                self.send(update).await;
            }
        }
        Ok(())
    }

    /// Queues the stored updates not handled yet and not queued already, oldest first; at start-up these are the
    /// ones a crash or a stop left behind. Returns how many were queued.
    pub async fn replay(&self) -> Result<usize, StoreError> {
        let pending = self.app.service.db.pending_updates(REPLAY_BATCH).await?;
        let mut queued = 0;
        for stored in pending {
            match serde_json::from_str::<Update>(&stored.raw) {
                Ok(update) if !self.is_queued(update.id.0) => {
                    self.queue(update).await;
                    queued += 1;
                }
                Ok(_) => {}
                Err(e) => {
                    let error = format!("the stored update cannot be read: {e}");
                    tracing::error!(update = stored.update_id, %error, "update set aside");
                    self.app
                        .service
                        .db
                        .set_update_aside(stored.update_id, &error, self.app.clock.now())
                        .await?;
                }
            }
        }
        Ok(queued)
    }

    /// Every few seconds, queues what [`Inbox::replay`] finds: updates whose handling was put off while the
    /// database was away.
    pub async fn sweep(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(SWEEP_EVERY) => {}
                _ = stop.changed() => break,
            }
            match self.replay().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(updates = n, "stored updates queued again"),
                Err(e) => tracing::warn!(error = %e, "could not read the inbox"),
            }
        }
    }

    async fn queue(&self, update: Update) {
        self.lock(&self.queued).insert(update.id.0);
        self.send(update).await;
    }

    async fn send(&self, update: Update) {
        // Fails only when the handling loop has stopped; the update stays in the inbox for the next start.
        let _ = self.queue.send(update).await;
    }

    fn unclaim(&self, claimed: &[u32], which: impl Fn(u32) -> bool) {
        let mut queued = self.lock(&self.queued);
        for id in claimed.iter().copied().filter(|id| which(*id)) {
            queued.remove(&id);
        }
    }

    fn is_queued(&self, id: u32) -> bool {
        self.lock(&self.queued).contains(&id)
    }

    /// The update is no longer queued: `finished` (handled or set aside), or put off until the database is back,
    /// when the sweep queues it again.
    pub fn release(&self, id: u32, finished: bool) {
        self.lock(&self.queued).remove(&id);
        if finished {
            self.lock(&self.answered_offline).remove(&id);
        }
    }

    /// Answers the clients' messages among `updates` from the intents alone, once per update, while they cannot
    /// be stored: the curated answer and, for a report, the clinic's phone number.
    pub async fn answer_offline(&self, updates: &[Update]) {
        for update in updates {
            let UpdateKind::Message(msg) = &update.kind else {
                continue;
            };
            let Some(text) = msg.text().or(msg.caption()) else {
                continue;
            };
            if !msg.chat.is_private() || msg.chat.id == self.app.staff_chat {
                continue;
            }
            if !self.lock(&self.answered_offline).insert(update.id.0) {
                continue;
            }
            let says = self
                .app
                .service
                .answer_without_storage(text, self.app.clock.now());
            let messenger = TelegramMessenger {
                bot: self.bot.clone(),
            };
            if let Err(e) = send_says(&messenger, msg.chat.id.0, None, &says).await {
                tracing::error!(error = %e, "could not answer while the database is away");
            }
        }
    }

    /// Whether the last attempt to store updates failed.
    pub fn database_away(&self) -> bool {
        self.database_away.load(Ordering::SeqCst)
    }

    /// Receives a batch; while the database is away its clients are answered from the intents first, so that
    /// none waits for the database to fail again.
    async fn receive_or_answer(&self, updates: Vec<Update>) -> Result<(), StoreError> {
        if self.database_away() {
            self.answer_offline(&updates).await;
        }
        let result = self.receive(updates.clone()).await;
        if result.is_err() {
            self.answer_offline(&updates).await;
        }
        result
    }

    fn lock<'a, T>(&self, set: &'a Mutex<T>) -> std::sync::MutexGuard<'a, T> {
        // Each change to the sets is complete under the lock, so a panicking holder leaves them consistent.
        set.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the operator's metrics count an update as.
fn kind_of(kind: &UpdateKind) -> crate::operations::UpdateKind {
    use crate::operations::UpdateKind as Counted;
    match kind {
        UpdateKind::Message(_) => Counted::Message,
        UpdateKind::EditedMessage(_) => Counted::EditedMessage,
        UpdateKind::CallbackQuery(_) => Counted::ButtonPress,
        _ => Counted::Other,
    }
}

/// Receives updates by long polling until `stop`. A batch is confirmed to Telegram (by asking for the updates
/// after it) only once it is stored.
pub async fn poll(inbox: Arc<Inbox>, mut stop: watch::Receiver<bool>) {
    let bot = inbox.bot.clone();
    let mut offset: i32 = 0;
    let mut delay = Duration::from_secs(1);
    loop {
        let request = bot
            .get_updates()
            .offset(offset)
            .timeout(10)
            .allowed_updates(HANDLED_UPDATES);
        let received = tokio::select! {
            received = request.send() => received,
            _ = stop.changed() => break,
        };
        if received.is_ok() {
            inbox
                .app
                .service
                .metrics
                .telegram_answered(inbox.app.clock.now());
        }
        let pause = match received {
            Ok(updates) if updates.is_empty() => None,
            Ok(updates) => {
                let next = updates.iter().map(|u| u.id.0).max().unwrap_or_default();
                match inbox.receive_or_answer(updates).await {
                    Ok(()) => {
                        offset = i32::try_from(next).unwrap_or(i32::MAX).saturating_add(1);
                        None
                    }
                    Err(e) => {
                        tracing::error!(
                            error = %e,
                            "updates cannot be stored: answering from the intents and keeping them unconfirmed"
                        );
                        // Not backed off: a client who writes meanwhile is answered at the next poll.
                        delay = AWAY_POLL;
                        Some(AWAY_POLL)
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "receiving updates from Telegram failed");
                let kind = super::send_error(e).kind();
                inbox.app.service.metrics.telegram_failed(kind);
                Some(delay)
            }
        };
        match pause {
            None => delay = Duration::from_secs(1),
            Some(pause) => {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.changed() => break,
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// What the webhook endpoint needs.
#[derive(Clone)]
pub struct Webhook {
    pub inbox: Arc<Inbox>,
    /// Telegram's secret token, sent with every call, when one is configured.
    pub secret: Option<String>,
}

/// Telegram's call to the webhook: answered 200 only once the update is stored. Any other answer makes Telegram
/// send it again later.
pub async fn on_webhook_call(
    State(webhook): State<Webhook>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if let Some(secret) = &webhook.secret {
        let given = headers
            .get("X-Telegram-Bot-Api-Secret-Token")
            .and_then(|value| value.to_str().ok());
        if given != Some(secret.as_str()) {
            return StatusCode::UNAUTHORIZED;
        }
    }
    let Ok(update) = serde_json::from_slice::<Update>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    match webhook.inbox.receive_or_answer(vec![update]).await {
        Ok(()) => StatusCode::OK,
        Err(e) => {
            tracing::error!(error = %e, "an update cannot be stored: answered from the intents, Telegram will resend it");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}
