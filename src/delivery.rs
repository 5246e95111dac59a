//! The durable outbox worker: the bot's answers, alerts, reminders, follow-ups, photos and messages relayed to
//! clients are stored first (see `flows`) and sent from here, with retries, one chat's in the order they were
//! queued. After a crash or restart, pending sends resume.

use crate::clock::Clock;
use crate::flows::{Outbound, Service};
use crate::store::{
    AlertKind, Client, Escalation, EscalationStatus, OutboxId, OutboxItem, OutboxKind, Priority,
    StoreError,
};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{Notify, watch};

/// Why a send failed, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Telegram's flood control: wait this many seconds.
    #[error("Telegram asked to wait {0} s")]
    RetryAfter(u32),
    /// No answer from Telegram at all (the network): worth trying again soon.
    #[error("network: {0}")]
    Network(String),
    /// A server error or an answer that could not be read: worth trying again later.
    #[error("{0}")]
    Transient(String),
    /// The request itself is wrong or can never succeed (bot blocked, chat gone).
    #[error("{0}")]
    Permanent(String),
}

pub use crate::flows::Buttons;

/// What the delivery worker and the conversations need from a messenger: Telegram implements it, the local chat
/// prints, and the tests' scene records.
impl SendError {
    /// What the operator's metrics count it as.
    pub fn kind(&self) -> crate::operations::TelegramError {
        use crate::operations::TelegramError;
        match self {
            SendError::RetryAfter(_) => TelegramError::TooManyRequests,
            SendError::Network(_) => TelegramError::Network,
            SendError::Transient(_) => TelegramError::Server,
            SendError::Permanent(_) => TelegramError::Refused,
        }
    }
}

pub trait Messenger: Send + Sync + 'static {
    fn send_text(
        &self,
        chat_id: i64,
        text: &str,
        buttons: &Buttons,
        reply_to: Option<i64>,
    ) -> impl Future<Output = Result<i64, SendError>> + Send;
    fn send_photo(
        &self,
        chat_id: i64,
        file_id: &str,
        caption: &str,
        reply_to: Option<i64>,
    ) -> impl Future<Output = Result<i64, SendError>> + Send;
    /// Sends an image of the bot's own (a PNG it made), with a caption.
    fn send_image(
        &self,
        chat_id: i64,
        png: Vec<u8>,
        caption: &str,
    ) -> impl Future<Output = Result<i64, SendError>> + Send;
    fn edit_text(
        &self,
        chat_id: i64,
        message_id: i64,
        text: &str,
        buttons: &Buttons,
    ) -> impl Future<Output = Result<(), SendError>> + Send;
    /// Takes the buttons away from a message (once one was pressed).
    fn remove_buttons(
        &self,
        chat_id: i64,
        message_id: i64,
    ) -> impl Future<Output = Result<(), SendError>> + Send;
    /// Answers a button press; `text`, if any, is shown to whoever pressed it.
    fn answer_callback(
        &self,
        callback_id: &str,
        text: Option<&str>,
    ) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// The chats this process is sending to right now. However many passes overlap, one chat is sent to by one of
/// them at a time: a send that takes longer than its claim can be claimed again by a later pass, and must not go
/// out twice (the claim itself keeps other instances out).
#[derive(Clone, Default)]
pub struct ChatsInFlight(Arc<Mutex<HashSet<i64>>>);

/// A chat taken by a pass; given back when dropped.
struct ChatTaken {
    chats: ChatsInFlight,
    chat: i64,
}

impl ChatsInFlight {
    /// The chat for this pass, or `None` while another pass is sending to it.
    fn take(&self, chat: i64) -> Option<ChatTaken> {
        let mut chats = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        chats.insert(chat).then(|| ChatTaken {
            chats: self.clone(),
            chat,
        })
    }
}

impl Drop for ChatTaken {
    fn drop(&mut self) {
        let mut chats = self.chats.0.lock().unwrap_or_else(PoisonError::into_inner);
        chats.remove(&self.chat);
    }
}

/// Sends read per pass.
const BATCH: i64 = 200;
/// Chats sent to at the same time.
const CHATS_AT_ONCE: usize = 32;
/// A send not delivered this long after it was queued is given up (sooner only when it can never succeed): it
/// is too old to matter, and for a client's answer about a report, staff are told instead.
pub const GIVE_UP_AFTER: Duration = Duration::hours(24);
const IDLE_POLL: std::time::Duration = std::time::Duration::from_millis(500);
/// Passes in flight at once: a new one starts when something is queued while the others still wait on Telegram.
const PASSES_AT_ONCE: usize = 4;

enum Outcome {
    Sent(Option<i64>),
    /// Waiting for something else first (a follow-up waits for its alert).
    Later(Duration, String),
    Failed(SendError),
}

/// Sends what is due until `stop` turns true. `wake` starts a pass at once when something new is queued, even
/// while earlier passes are still sending: a reply queued now does not wait for the round trips of sends claimed
/// before it (a chat whose send is in flight has nothing due meanwhile, see [`Db::due_outbox`], so each chat still
/// gets its sends in order). An item being sent is reserved for `lease` (several instances may share a PostgreSQL
/// database); after a crash, what was in flight is sent again once its lease has passed.
///
/// [`Db::due_outbox`]: crate::store::Db::due_outbox
pub async fn run_outbox<M: Messenger>(
    service: Service,
    messenger: Arc<M>,
    clock: Arc<dyn Clock>,
    lease: Duration,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut passes = futures::stream::FuturesUnordered::new();
    let mut pass_wanted = true;
    while !*stop.borrow() {
        if pass_wanted && passes.len() < PASSES_AT_ONCE {
            passes.push(deliver_due(
                &service,
                messenger.as_ref(),
                clock.as_ref(),
                lease,
            ));
            pass_wanted = false;
        }
        tokio::select! {
            Some(pass) = passes.next() => match pass {
                // More may be due behind what was sent.
                Ok(handled) => pass_wanted |= handled > 0,
                Err(e) => tracing::error!(error = %e, "outbox: database error; retrying"),
            },
            _ = wake.notified() => pass_wanted = true,
            _ = tokio::time::sleep(IDLE_POLL), if passes.is_empty() => pass_wanted = true,
            _ = stop.changed() => {}
        }
    }
    // What is in flight is recorded before stopping.
    while passes.next().await.is_some() {}
}

/// One pass over what is due now by `clock` ("deliver what is due now"). Returns how many items were handled.
///
/// Each chat's sends go one at a time, in the order they were queued; different chats' go side by side, because a
/// send is a round trip to Telegram worth overlapping, and Telegram's limits are per chat; the most pressing chats
/// first, before the others. What is due is claimed in one statement per pass; each send that went out is recorded
/// as soon as Telegram took it, so that a crash repeats at most the sends in flight at that instant.
pub async fn deliver_due<M: Messenger>(
    service: &Service,
    messenger: &M,
    clock: &dyn Clock,
    lease: Duration,
) -> Result<usize, StoreError> {
    let now = clock.now();
    let db = &service.db;
    let due = db.due_outbox(now, BATCH).await?;
    // Each chat is taken for this pass before its sends are claimed, never after: a pass that gave a chat back
    // has recorded what it sent there, so the claim below cannot take a send that went while its lease ran out
    // (a claim made before the chat was taken could, and the send would go twice).
    let mut taken: HashMap<i64, ChatTaken> = HashMap::new();
    let mut busy: HashSet<i64> = HashSet::new();
    for item in &due {
        if taken.contains_key(&item.chat_id) || busy.contains(&item.chat_id) {
            continue;
        }
        match service.chats_in_flight.take(item.chat_id) {
            Some(chat) => {
                taken.insert(item.chat_id, chat);
            }
            // Another pass of this process is sending to it: its sends wait for that pass.
            None => {
                busy.insert(item.chat_id);
            }
        }
    }
    let ids: Vec<OutboxId> = due
        .iter()
        .filter(|item| taken.contains_key(&item.chat_id))
        .map(|item| item.id)
        .collect();
    let claimed: HashSet<OutboxId> = db
        .claim_outboxes(&ids, now, lease)
        .await?
        .into_iter()
        .collect();
    let mut chats: Vec<(ChatTaken, Vec<OutboxItem>)> = Vec::new();
    let mut chat_of: HashMap<i64, usize> = HashMap::new();
    // A chat whose next send another worker holds waits for it; what this pass got of that chat goes back.
    let mut held: HashSet<i64> = HashSet::new();
    let mut untried: Vec<OutboxId> = Vec::new();
    for item in due {
        if busy.contains(&item.chat_id) {
            continue;
        }
        let place = if held.contains(&item.chat_id) || !claimed.contains(&item.id) {
            None
        } else if let Some(place) = chat_of.get(&item.chat_id) {
            Some(*place)
        } else {
            taken.remove(&item.chat_id).map(|chat| {
                chats.push((chat, Vec::new()));
                chat_of.insert(item.chat_id, chats.len() - 1);
                chats.len() - 1
            })
        };
        match place {
            Some(place) => chats[place].1.push(item),
            None => {
                held.insert(item.chat_id);
                if claimed.contains(&item.id) {
                    untried.push(item.id);
                }
            }
        }
    }
    // The chats of which nothing was claimed are given back at once.
    drop(taken);
    // The most pressing chats first, the others once those are done: an emergency answer does not race routine
    // sends to Telegram, it goes before them. If Telegram failed it, the others wait behind it (see `due_outbox`).
    let most_pressing = chats.iter().map(|(_, items)| pressing(items)).max();
    let (first, then): (Vec<_>, Vec<_>) = chats
        .into_iter()
        .partition(|(_, items)| Some(pressing(items)) == most_pressing);
    let mut passes = Vec::new();
    for chats in [first, then] {
        let telegram_failed = passes.iter().any(|pass: &Result<ChatPass, StoreError>| {
            pass.as_ref().is_ok_and(|p| p.telegram_failed)
        });
        if telegram_failed {
            untried.extend(
                chats
                    .into_iter()
                    .flat_map(|(_, items)| items)
                    .map(|item| item.id),
            );
            continue;
        }
        passes.extend(
            futures::stream::iter(chats)
                .map(|(taken, items)| async move {
                    let pass = deliver_chat(service, messenger, clock, items).await;
                    // Given back once its sends are recorded.
                    drop(taken);
                    pass
                })
                .buffer_unordered(CHATS_AT_ONCE)
                .collect::<Vec<Result<ChatPass, StoreError>>>()
                .await,
        );
    }
    let mut handled = 0;
    let mut failure = None;
    for pass in passes {
        match pass {
            Ok(pass) => {
                handled += pass.sent + pass.other;
                untried.extend(pass.untried);
            }
            Err(e) => failure = Some(e),
        }
    }
    db.release_outbox(&untried, clock.now()).await?;
    match failure {
        Some(e) => Err(e),
        None => Ok(handled),
    }
}

/// How pressing one chat's sends are: as the most pressing of them.
fn pressing(items: &[OutboxItem]) -> Priority {
    items
        .iter()
        .map(|item| item.priority)
        .max()
        .unwrap_or_default()
}

/// What one chat's pass did.
#[derive(Default)]
struct ChatPass {
    /// Sent (each recorded as soon as Telegram took it).
    sent: usize,
    /// Tried and not sent (recorded as they happened).
    other: usize,
    /// Claimed and not tried, behind a send that did not go out.
    untried: Vec<OutboxId>,
    /// A send failed because Telegram itself did (a 5xx, no answer).
    telegram_failed: bool,
}

/// One chat's claimed sends, in order. It stops at the first that does not go out: the later ones wait for it,
/// so the chat reads its messages in the order they were queued.
async fn deliver_chat<M: Messenger>(
    service: &Service,
    messenger: &M,
    clock: &dyn Clock,
    items: Vec<OutboxItem>,
) -> Result<ChatPass, StoreError> {
    let mut pass = ChatPass::default();
    let mut items = items.into_iter();
    for item in items.by_ref() {
        let outcome = match deliver(service, messenger, clock, &item).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Later(Duration::seconds(2), format!("database: {e}")),
        };
        if let Outcome::Sent(_) = outcome {
            // Recorded at once: were the process to die before it is, the send would go again after the lease.
            record(service, clock, &item, outcome).await?;
            pass.sent += 1;
            continue;
        }
        pass.other += 1;
        pass.telegram_failed = matches!(
            outcome,
            Outcome::Failed(SendError::Transient(_) | SendError::Network(_))
        );
        record(service, clock, &item, outcome).await?;
        break;
    }
    pass.untried.extend(items.map(|item| item.id));
    Ok(pass)
}

/// Records what became of a send: sent, to try again (when), or given up. A send is given up when it can never
/// succeed, or when it is still not delivered [`GIVE_UP_AFTER`] it was queued.
async fn record(
    service: &Service,
    clock: &dyn Clock,
    item: &OutboxItem,
    outcome: Outcome,
) -> Result<(), StoreError> {
    let now = clock.now();
    let stale = now - item.created_at >= GIVE_UP_AFTER;
    let db = &service.db;
    let metrics = &service.metrics;
    match &outcome {
        Outcome::Sent(_) => metrics.sent(item.kind, now),
        Outcome::Failed(error) => {
            metrics.telegram_failed(error.kind());
            // Flood control and a refusal are answers: Telegram is there.
            if matches!(error, SendError::RetryAfter(_) | SendError::Permanent(_)) {
                metrics.telegram_answered(now);
            }
        }
        Outcome::Later(..) => {}
    }
    let result = match outcome {
        Outcome::Sent(message_id) => service.sent.sent(item.id, message_id, now).await,
        Outcome::Later(wait, why) => db.outbox_retry(item.id, now + wait, &why).await,
        Outcome::Failed(SendError::RetryAfter(seconds)) if !stale => {
            tracing::warn!(
                item = %item.id,
                seconds,
                "outbox: Telegram asked us to slow down"
            );
            db.outbox_retry(
                item.id,
                now + Duration::seconds(seconds.max(1).into()),
                "429 retry_after",
            )
            .await
        }
        // Telegram's own trouble, not this chat's: until this send is tried again, less pressing ones wait.
        Outcome::Failed(SendError::Transient(e) | SendError::Network(e)) if !stale => {
            let wait = backoff(item.attempts, item.priority);
            tracing::warn!(item = %item.id, kind = ?item.kind, attempt = item.attempts + 1, error = %e, "outbox: send failed; will retry");
            db.outbox_wait_for_telegram(item.id, now + wait, &e).await
        }
        Outcome::Failed(e) => give_up(service, item, &e.to_string(), now).await,
    };
    match result {
        // The client may have used /forget meanwhile: their queued sends are gone with them.
        Err(StoreError::NotFound { .. }) => Ok(()),
        other => other,
    }
}

/// Gives up on a send. When it was to a client about a report (a staff member's words, or any answer while the
/// client's report is open, which an urgent or emergency answer opened), staff are told in their chat that the
/// client could not be reached. A report resolved meanwhile needs no such line.
async fn give_up(
    service: &Service,
    item: &OutboxItem,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tracing::error!(item = %item.id, kind = ?item.kind, queued = %item.created_at, error, "outbox: giving up on a send");
    let db = &service.db;
    db.outbox_failed(item.id, error).await?;
    let Some(client) = item
        .client_id
        .filter(|_| item.chat_id != service.staff_chat)
    else {
        return Ok(());
    };
    // An urgent or emergency answer, or any answer, while its report is open; a staff member's words name theirs.
    let report = match item.escalation_id {
        Some(report) => Some(report),
        None => db
            .open_escalation_for_client(client)
            .await?
            .map(|open| open.id),
    };
    let (Some(report), Some(client)) = (report, db.client(client).await?) else {
        return Ok(());
    };
    let notice = service
        .staff_words(|words| words.client_unreachable(&client, report, item.created_at, error));
    let mut queued = Outbound::Client { text: notice }.queue(
        service.staff_chat,
        Some(report),
        Some(client.id),
        // One line for the sends queued together (a report's answer in parts).
        format!(
            "unreachable:{report}:{}",
            item.created_at.timestamp_millis()
        ),
        now,
    );
    queued.priority = item.priority;
    db.enqueue(&queued).await?;
    tracing::warn!(item = %item.id, report = %report, "outbox: staff told a client could not be reached");
    service.wake.notify_one();
    Ok(())
}

/// 1, 2, 4 … seconds, at most five minutes; at most half a minute for an urgent or emergency send, which the
/// less pressing ones wait behind while Telegram fails.
fn backoff(attempts: i64, priority: Priority) -> Duration {
    let most = if priority > Priority::Routine {
        Duration::seconds(30)
    } else {
        Duration::minutes(5)
    };
    Duration::seconds(1i64 << attempts.clamp(0, 9)).min(most)
}

async fn deliver<M: Messenger>(
    service: &Service,
    messenger: &M,
    clock: &dyn Clock,
    item: &OutboxItem,
) -> Result<Outcome, StoreError> {
    let Some(kind) = item.kind else {
        return Ok(Outcome::Failed(SendError::Permanent(
            "unknown outbox kind".into(),
        )));
    };
    match Outbound::read(kind, &item.payload) {
        Outbound::Client { text } => Ok(sent(
            messenger
                .send_text(item.chat_id, &text, &Vec::new(), None)
                .await,
        )),
        Outbound::Reply {
            text,
            buttons,
            reply_to,
        } => Ok(sent(
            messenger
                .send_text(item.chat_id, &text, &buttons, reply_to)
                .await,
        )),
        Outbound::QrCode { link, caption } => match crate::timeline::qr::png(&link) {
            Ok(png) => Ok(sent(
                messenger.send_image(item.chat_id, png, &caption).await,
            )),
            Err(e) => Ok(Outcome::Failed(SendError::Permanent(e.to_string()))),
        },
        Outbound::WeeklyChart {
            week,
            reports_by_day,
            caption,
        } => match crate::operations::chart::weekly_png(week, &reports_by_day) {
            Ok(png) => Ok(sent(
                messenger.send_image(item.chat_id, png, &caption).await,
            )),
            Err(e) => Ok(Outcome::Failed(SendError::Permanent(e.to_string()))),
        },
        Outbound::Alert => alert(service, messenger, clock, item, false).await,
        Outbound::Reminder => alert(service, messenger, clock, item, true).await,
        Outbound::Followup { message_id } => {
            under_alert(
                service,
                messenger,
                clock,
                item,
                Beneath::Followup { message_id },
            )
            .await
        }
        Outbound::Photo {
            file_id,
            caption,
            message_id: _,
        } => {
            under_alert(
                service,
                messenger,
                clock,
                item,
                Beneath::Photo { file_id, caption },
            )
            .await
        }
        Outbound::AlertUpdate { status: _ } => {
            alert_update(service, messenger, item, clock.now()).await
        }
    }
}

/// What goes under a report's alert.
enum Beneath {
    Followup {
        message_id: i64,
    },
    Photo {
        file_id: String,
        caption: Option<String>,
    },
}

/// The report an outbox item is about, or from the function, the item's outcome when there is none any more.
macro_rules! report_or_return {
    ($service:expr, $item:expr) => {
        match Report::load($service, $item).await? {
            Ok(report) => report,
            Err(outcome) => return Ok(outcome),
        }
    };
}

fn sent(result: Result<i64, SendError>) -> Outcome {
    match result {
        Ok(id) => Outcome::Sent(Some(id)),
        Err(e) => Outcome::Failed(e),
    }
}

/// What a send to the staff chat is about: the report, its client, and where its alert is (chat, message).
struct Report {
    escalation: Escalation,
    client: Client,
    alert: Option<(i64, i64)>,
}

impl Report {
    /// The report an outbox item is about, or the item's outcome when there is none any more.
    async fn load(
        service: &Service,
        item: &OutboxItem,
    ) -> Result<Result<Report, Outcome>, StoreError> {
        let db = &service.db;
        let Some(escalation_id) = item.escalation_id else {
            return Ok(Err(Outcome::Failed(SendError::Permanent(format!(
                "{} without an escalation",
                item.kind.map_or("?", OutboxKind::as_str)
            )))));
        };
        let Some(escalation) = db.escalation(escalation_id).await? else {
            return Ok(Err(Outcome::Failed(SendError::Permanent(
                "escalation no longer exists".into(),
            ))));
        };
        let Some(client) = db.client(escalation.client_id).await? else {
            return Ok(Err(Outcome::Failed(SendError::Permanent(
                "client no longer exists".into(),
            ))));
        };
        let alert = db.alert_message_id(escalation_id).await?;
        Ok(Ok(Report {
            escalation,
            client,
            alert,
        }))
    }

    /// The alert's text as it stands now; `reminder` is the reminder round, 0 for the alert itself.
    async fn text(
        &self,
        service: &Service,
        reminder: i64,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let db = &service.db;
        let messages = db.escalation_messages(self.escalation.id).await?;
        let treated = db.current_treatment(self.client.id).await?;
        Ok(service.staff_words(|words| {
            words.alert_text(
                &self.escalation,
                &self.client,
                treated,
                service.today(now),
                &messages,
                reminder,
            )
        }))
    }
}

/// A report's alert, or a reminder of it (as a reply to the alert).
async fn alert<M: Messenger>(
    service: &Service,
    messenger: &M,
    clock: &dyn Clock,
    item: &OutboxItem,
    reminder: bool,
) -> Result<Outcome, StoreError> {
    let report = report_or_return!(service, item);
    let escalation = &report.escalation;
    if reminder && escalation.status != EscalationStatus::Open {
        return Ok(Outcome::Sent(None));
    }
    let round = if reminder {
        escalation.reminder_count.max(1)
    } else {
        0
    };
    let text = report.text(service, round, clock.now()).await?;
    let reply_to = if reminder {
        report.alert.map(|(_, id)| id)
    } else {
        None
    };
    match messenger
        .send_text(
            item.chat_id,
            &text,
            &service.staff_words(|words| words.alert_buttons(escalation)),
            reply_to,
        )
        .await
    {
        Ok(id) => {
            let kind = if reminder {
                AlertKind::Reminder
            } else {
                AlertKind::Alert
            };
            service
                .db
                .record_alert_message(escalation.id, item.chat_id, id, kind, clock.now())
                .await?;
            Ok(Outcome::Sent(Some(id)))
        }
        Err(e) => Ok(Outcome::Failed(e)),
    }
}

/// A client's later message or photo about a report, as a reply to its alert (which must have gone first).
async fn under_alert<M: Messenger>(
    service: &Service,
    messenger: &M,
    clock: &dyn Clock,
    item: &OutboxItem,
    beneath: Beneath,
) -> Result<Outcome, StoreError> {
    let report = report_or_return!(service, item);
    let db = &service.db;
    let (escalation_id, client) = (report.escalation.id, &report.client);
    let Some((chat, alert_id)) = report.alert else {
        return Ok(Outcome::Later(
            Duration::seconds(1),
            "waiting for the alert to be delivered".into(),
        ));
    };
    let (result, kind) = match beneath {
        Beneath::Photo { file_id, caption } => {
            let caption = service.staff_words(|words| {
                words.photo_caption(client, caption.as_deref(), escalation_id)
            });
            let result = messenger
                .send_photo(chat, &file_id, &caption, Some(alert_id))
                .await;
            (result, AlertKind::Photo)
        }
        Beneath::Followup { message_id } => {
            let Some(message) = db.message(message_id).await? else {
                return Ok(Outcome::Sent(None));
            };
            let result = messenger
                .send_text(
                    chat,
                    &service.staff_words(|words| words.followup_text(client, &message)),
                    &Vec::new(),
                    Some(alert_id),
                )
                .await;
            (result, AlertKind::Followup)
        }
    };
    match result {
        Ok(id) => {
            db.record_alert_message(escalation_id, chat, id, kind, clock.now())
                .await?;
            Ok(Outcome::Sent(Some(id)))
        }
        Err(e) => Ok(Outcome::Failed(e)),
    }
}

/// The alert edited to show the report's new status.
async fn alert_update<M: Messenger>(
    service: &Service,
    messenger: &M,
    item: &OutboxItem,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    let report = report_or_return!(service, item);
    // Not alerted yet: the alert, when it goes, shows the current status anyway.
    let Some((chat, alert_id)) = report.alert else {
        return Ok(Outcome::Sent(None));
    };
    let text = report.text(service, 0, now).await?;
    match messenger
        .edit_text(
            chat,
            alert_id,
            &text,
            &service.staff_words(|words| words.alert_buttons(&report.escalation)),
        )
        .await
    {
        Ok(()) => Ok(Outcome::Sent(None)),
        Err(e) => Ok(Outcome::Failed(e)),
    }
}

/// Sent rows deleted per statement by [`prune_sent`].
const PRUNE_BATCH: i64 = 500;
/// How often [`run_pruning`] looks for sent rows past their keeping.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes the outbox rows sent more than `keep` before now by `clock`, a small batch per statement, and returns
/// how many. Pending and failed rows stay.
pub async fn prune_sent(
    service: &Service,
    clock: &dyn Clock,
    keep: Duration,
) -> Result<u64, StoreError> {
    let mut pruned = 0;
    loop {
        let deleted = service
            .db
            .prune_sent_outbox(clock.now() - keep, PRUNE_BATCH)
            .await?;
        pruned += deleted;
        if deleted < PRUNE_BATCH.unsigned_abs() {
            return Ok(pruned);
        }
        // Between batches the conversations' writes go first (SQLite has one connection).
        tokio::task::yield_now().await;
    }
}

/// Prunes the sent outbox rows older than `keep`, hourly, until `stop`.
pub async fn run_pruning(
    service: Service,
    clock: Arc<dyn Clock>,
    keep: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match prune_sent(&service, clock.as_ref(), keep).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "sent outbox rows pruned"),
            Err(e) => tracing::warn!(error = %e, "could not prune sent outbox rows"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_EVERY) => {}
            _ = stop.changed() => break,
        }
    }
}

/// Queues a reminder for every urgent or emergency alert nobody has acknowledged `after` its alert (or its last
/// reminder), as of `now`. Each round is counted and queued in one transaction, only if nobody has counted it
/// yet: instances sharing a database all look, and each round goes out once.
pub async fn queue_reminders(
    service: &Service,
    after: Duration,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let due = service.db.due_reminders(now, after).await?;
    let mut queued = 0;
    for escalation in &due {
        let round = escalation.reminder_count + 1;
        let mut tx = service.db.write().await?;
        if !tx.note_reminder_round(escalation.id, round, now).await? {
            continue; // counted by another instance since it was read; dropping `tx` rolls back
        }
        tx.enqueue(&[Outbound::Reminder.queue(
            service.staff_chat,
            Some(escalation.id),
            Some(escalation.client_id),
            format!("reminder:{}:{round}", escalation.id),
            now,
        )])
        .await?;
        tx.commit().await?;
        queued += 1;
        tracing::info!(
            escalation = %escalation.id,
            round,
            "reminder queued: not acknowledged"
        );
    }
    Ok(queued)
}

pub async fn run_reminders(
    service: Service,
    clock: Arc<dyn Clock>,
    after: Duration,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let every = (after / 4).clamp(Duration::milliseconds(200), Duration::seconds(30));
    let every = every.to_std().unwrap_or(std::time::Duration::from_secs(30));
    loop {
        match queue_reminders(&service, after, clock.now()).await {
            Ok(n) if n > 0 => wake.notify_one(),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "reminders: database error"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_is_sent_to_by_one_pass_at_a_time() {
        let chats = ChatsInFlight::default();
        let first = chats.take(7).expect("free");
        assert!(chats.take(7).is_none(), "taken by the first pass");
        let other = chats.take(8).expect("another chat is free");
        drop(first);
        assert!(chats.take(7).is_some(), "given back when the pass is done");
        drop(other);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(0, Priority::Routine), Duration::seconds(1));
        assert_eq!(backoff(3, Priority::Routine), Duration::seconds(8));
        assert_eq!(backoff(40, Priority::Routine), Duration::minutes(5));
        assert_eq!(backoff(3, Priority::Emergency), Duration::seconds(8));
        assert_eq!(backoff(40, Priority::Urgent), Duration::seconds(30));
    }
}
