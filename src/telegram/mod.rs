//! The Telegram adapter: turns updates into flow inputs and flow outputs into Bot API calls. Nothing here
//! decides what to say; `flows` does.

mod inbox;
mod lanes;

pub use inbox::{Inbox, Webhook, on_webhook_call, poll};
pub use lanes::Lanes;

use crate::delivery::{Buttons, Messenger, SendError};
use crate::engine::messages::{Key, Texts};
use crate::flows::{
    Button, ClientCommand, ClientInput, Origin, Person, Quoted, Say, Service, StaffCommand, texts,
};
use crate::front::{self, Front, Turn, split_message};
use crate::store::{InboxLog, MessageKind, UpdateId};
use futures::FutureExt;
use std::future::Future;
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{
    AllowedUpdate, BotCommand, BotCommandScope, CallbackQueryId, FileId, InlineKeyboardButton,
    InlineKeyboardMarkup, InputFile, MessageId, Recipient, ReplyParameters,
};
use teloxide::{ApiError, RequestError};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_util::task::TaskTracker;

/// What every handler needs.
pub struct App {
    pub service: Service,
    pub staff_chat: ChatId,
    /// Marks inbox updates handled, several per statement under load.
    pub handled: InboxLog,
    /// The time every update is handled at.
    pub clock: Arc<dyn crate::clock::Clock>,
}

pub fn schema() -> UpdateHandler<anyhow::Error> {
    dptree::entry()
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_edited_message().endpoint(on_edited_message))
        .branch(Update::filter_callback_query().endpoint(on_callback))
}

/// The kinds of update [`schema`] handles; Telegram is asked for these only.
pub const HANDLED_UPDATES: [AllowedUpdate; 3] = [
    AllowedUpdate::Message,
    AllowedUpdate::EditedMessage,
    AllowedUpdate::CallbackQuery,
];

/// At most this many updates are being handled at once (far above the ~10 seen at 2,000 updates/s); beyond it
/// the next getUpdates waits, so a flood cannot pile up in memory.
const MAX_IN_FLIGHT: usize = 512;

/// One chat's backlog takes at most this many of those places. Telegram may hold back replies to one chat for
/// seconds (429), and a chat sending faster than that would otherwise fill every place and stall all the others;
/// its further updates wait in its own lane, which the client's own sending rate bounds.
const MAX_IN_FLIGHT_PER_CHAT: usize = 8;

/// Handles the updates `queued` by the [`Inbox`] until it closes, with [`schema`]: one chat's updates in order,
/// different chats at the same time (see [`Lanes`]). Returns once the updates in progress are handled.
///
/// On `stop`, updates queued and not started stay in the inbox for the next start.
pub async fn handle_updates(
    mut queued: mpsc::Receiver<Update>,
    bot: Bot,
    app: Arc<App>,
    inbox: Arc<Inbox>,
    mut stop: watch::Receiver<bool>,
) {
    let handler = Arc::new(schema());
    let lanes = Lanes::default();
    let tasks = TaskTracker::new();
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    loop {
        let update = tokio::select! {
            update = queued.recv() => update,
            _ = stop.changed() => None,
        };
        let Some(update) = update else { break };
        let lane = update.chat().map(|chat| chat.id.0);
        let permit = if lanes.pending(lane) < MAX_IN_FLIGHT_PER_CHAT {
            match in_flight.clone().acquire_owned().await {
                Ok(permit) => Some(permit),
                Err(_) => break,
            }
        } else {
            None
        };
        let (handler, bot, app, inbox) = (handler.clone(), bot.clone(), app.clone(), inbox.clone());
        lanes.spawn(lane, &tasks, async move {
            let _permit = permit;
            let id = update.id.0;
            let finished = handle_stored(&handler, &bot, &app, &inbox, update).await;
            inbox.release(id, finished);
        });
    }
    tasks.close();
    tasks.wait().await;
}

/// The stored update being handled. An update the flows handle is marked handled in the same transaction as what
/// it caused (see [`Service::handle`]); one they store nothing for is marked here once it is dealt with.
pub struct Receipt {
    update_id: i64,
    handled: AtomicBool,
}

impl Receipt {
    fn origin(&self) -> Origin {
        Origin::Update(UpdateId(self.update_id))
    }

    /// What the flows made of the update: unless they ignored it, it is marked handled already.
    fn note(&self, turn: &Turn) {
        if let Turn::Handled(_) = turn {
            self.handled.store(true, Ordering::SeqCst);
        }
    }

    async fn mark_handled(&self, app: &App) {
        if self.handled.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Err(e) = app.handled.finish(self.update_id).await {
            // Handled all the same; at worst it is handled again after a restart.
            tracing::error!(update = self.update_id, error = %e, "could not mark an update handled");
        }
    }
}

/// Tries to handle an update this many times before setting it aside.
const MAX_ATTEMPTS: i32 = 3;

/// Handles one stored update and marks it handled. An update that keeps failing is set aside (the client gets
/// an apology with the clinic's phone number, staff a line in their chat) so that the chat's later updates go
/// on; one that fails because the database is away is put off, and the sweep brings it back. Returns whether the
/// update is finished.
async fn handle_stored(
    handler: &UpdateHandler<anyhow::Error>,
    bot: &Bot,
    app: &Arc<App>,
    inbox: &Inbox,
    update: Update,
) -> bool {
    let id = i64::from(update.id.0);
    let db = &app.service.db;
    let receipt = Arc::new(Receipt {
        update_id: id,
        handled: AtomicBool::new(false),
    });
    let mut first_attempt = true;
    loop {
        let deps = dptree::deps![bot.clone(), app.clone(), update.clone(), receipt.clone()];
        let handling = catch(async {
            match handler.dispatch(deps).await {
                ControlFlow::Break(result) => result,
                ControlFlow::Continue(_) => Ok(()),
            }
        });
        let outcome = if std::mem::take(&mut first_attempt) {
            answered_in_time(handling, db, inbox, &update).await
        } else {
            handling.await
        };
        let failure = match outcome {
            Ok(()) => {
                receipt.mark_handled(app).await;
                return true;
            }
            Err(failure) => failure,
        };
        tracing::error!(update = id, error = %failure, "handling an update failed");
        if !db.reachable().await {
            // Kept in the inbox, unfinished: handled properly once the database is back.
            inbox.answer_offline(std::slice::from_ref(&update)).await;
            return false;
        }
        let attempts = db.update_failed(id, &failure).await.unwrap_or(MAX_ATTEMPTS);
        if attempts < MAX_ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(250 << attempts)).await;
            continue;
        }
        set_aside(bot, app, &update, &failure).await;
        return true;
    }
}

/// Waits for `handling`; if it takes longer than a client should wait and the database does not answer, the
/// client is answered from the intents meanwhile (once: see [`Inbox::answer_offline`]), and the handling goes on.
async fn answered_in_time<T>(
    handling: impl std::future::Future<Output = T>,
    db: &crate::store::Db,
    inbox: &Inbox,
    update: &Update,
) -> T {
    tokio::pin!(handling);
    tokio::select! {
        outcome = &mut handling => return outcome,
        () = tokio::time::sleep(inbox::STORE_WAIT) => {}
    }
    let reachable = tokio::time::timeout(Duration::from_millis(700), db.reachable())
        .await
        .unwrap_or(false);
    if !reachable {
        tracing::warn!(
            update = update.id.0,
            "handling is slow and the database does not answer: answered from the intents meanwhile"
        );
        inbox.answer_offline(std::slice::from_ref(update)).await;
    }
    handling.await
}

/// Gives up on an update that keeps failing: it is kept with its error, the client is asked to call, and staff
/// are told, because it may have held a report.
async fn set_aside(bot: &Bot, app: &App, update: &Update, failure: &str) {
    let id = i64::from(update.id.0);
    if let Err(e) = app
        .service
        .db
        .set_update_aside(id, failure, app.clock.now())
        .await
    {
        tracing::error!(update = id, error = %e, "could not set an update aside");
    }
    let Some(chat) = update.chat().map(|chat| chat.id) else {
        return;
    };
    let messenger = TelegramMessenger { bot: bot.clone() };
    if chat == app.staff_chat {
        // A staff action (a button, a reply, a command) that could not be done must not look done.
        let notice = texts::staff_action_failed(app.service.engine().texts(), failure);
        if let Err(e) = front::send_says(&messenger, chat.0, None, &[Say::text(notice)]).await {
            tracing::error!(error = %e, "could not tell staff an action failed");
        }
        return;
    }
    if !chat.is_user() {
        return;
    }
    let apology = app.service.engine().texts().get(texts::Key::Apology);
    if let Err(e) = messenger
        .send_text(chat.0, &apology, &Vec::new(), None)
        .await
    {
        tracing::error!(error = %e, "could not send the apology");
    }
    let who = update
        .from()
        .map(|user| user.first_name.clone())
        .unwrap_or_else(|| app.service.engine().texts().get(texts::Key::UnnamedClient));
    let notice = texts::update_set_aside(app.service.engine().texts(), &who, chat.0, failure);
    let notice = [Say::text(notice)];
    if let Err(e) = front::send_says(&messenger, app.staff_chat.0, None, &notice).await {
        tracing::error!(error = %e, "could not tell staff about an update set aside");
    }
}

/// The flows and the way out, for one turn.
fn front<'a>(app: &'a App, messenger: &'a TelegramMessenger) -> Front<'a, TelegramMessenger> {
    Front {
        messenger,
        service: &app.service,
    }
}

fn person(user: &teloxide::types::User, chat: ChatId) -> Person {
    Person {
        user_id: user.id.0 as i64,
        chat_id: chat.0,
        first_name: user.first_name.clone(),
        username: user.username.clone(),
    }
}

/// Runs a handler body; an error or a panic comes back as a description instead of unwinding.
async fn catch(body: impl Future<Output = anyhow::Result<()>>) -> Result<(), String> {
    match AssertUnwindSafe(body).catch_unwind().await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err("panic".to_string()),
    }
}

async fn on_message(
    bot: Bot,
    app: Arc<App>,
    receipt: Arc<Receipt>,
    msg: Message,
) -> anyhow::Result<()> {
    let chat = msg.chat.id;
    if chat == app.staff_chat {
        return staff_message(&bot, &app, &receipt, &msg).await;
    }
    // Groups other than the staff chat are not the bot's business.
    if !msg.chat.is_private() {
        return Ok(());
    }
    let Some(user) = msg.from.as_ref() else {
        return Ok(());
    };
    tracing::debug!(chat = chat.0, text = ?msg.text(), "client message");
    answer_client(
        &bot,
        &app,
        &receipt,
        &person(user, chat),
        client_input(&msg),
    )
    .await
}

/// A client's turn: decided and committed with the update marked handled; the outbox sends the answers.
async fn answer_client(
    bot: &Bot,
    app: &App,
    receipt: &Receipt,
    who: &Person,
    input: ClientInput,
) -> anyhow::Result<()> {
    let messenger = TelegramMessenger { bot: bot.clone() };
    let turn = front(app, &messenger)
        .client_turn(receipt.origin(), who, input, app.clock.now())
        .await?;
    receipt.note(&turn);
    Ok(())
}

async fn on_edited_message(
    bot: Bot,
    app: Arc<App>,
    receipt: Arc<Receipt>,
    msg: Message,
) -> anyhow::Result<()> {
    let chat = msg.chat.id;
    if !msg.chat.is_private() {
        return Ok(());
    }
    let (Some(user), Some(text)) = (msg.from.as_ref(), msg.text().or(msg.caption())) else {
        return Ok(());
    };
    let input = ClientInput::Edited {
        text: text.to_string(),
        message_id: Some(msg.id.0.into()),
    };
    answer_client(&bot, &app, &receipt, &person(user, chat), input).await
}

fn client_input(msg: &Message) -> ClientInput {
    let message_id = Some(i64::from(msg.id.0));
    if let Some(text) = msg.text() {
        return ClientInput::Text {
            text: text.to_string(),
            message_id,
        };
    }
    if let Some(largest) = msg
        .photo()
        .and_then(|sizes| sizes.iter().max_by_key(|p| p.width * p.height))
    {
        return ClientInput::Photo {
            file_id: largest.file.id.0.clone(),
            caption: msg.caption().map(str::to_string),
            message_id,
        };
    }
    let kind = if msg.voice().is_some() || msg.audio().is_some() || msg.video_note().is_some() {
        MessageKind::Voice
    } else if msg.sticker().is_some() {
        MessageKind::Sticker
    } else if msg.document().is_some() {
        MessageKind::Document
    } else if msg.location().is_some() {
        MessageKind::Location
    } else {
        MessageKind::Other
    };
    ClientInput::Unsupported { kind, message_id }
}

async fn is_staff(bot: &Bot, staff_chat: ChatId, user: UserId) -> bool {
    match bot.get_chat_member(staff_chat, user).await {
        Ok(member) => member.is_present(),
        Err(e) => {
            tracing::warn!(error = %e, "could not check staff membership; refusing");
            false
        }
    }
}

async fn staff_message(
    bot: &Bot,
    app: &App,
    receipt: &Receipt,
    msg: &Message,
) -> anyhow::Result<()> {
    let (Some(user), Some(text)) = (msg.from.as_ref(), msg.text()) else {
        return Ok(());
    };
    let is_command = text.starts_with('/');
    // Only replies to the bot's own messages are answers to clients; staff talking among themselves are not.
    let replied = msg
        .reply_to_message()
        .filter(|m| m.from.as_ref().is_some_and(|from| from.is_bot));
    if !is_command && replied.is_none() {
        return Ok(());
    }
    let messenger = TelegramMessenger { bot: bot.clone() };
    let message_id = i64::from(msg.id.0);
    let front = front(app, &messenger);
    if !is_staff(bot, app.staff_chat, user.id).await {
        if is_command {
            let turn = front
                .stranger_command(receipt.origin(), msg.chat.id.0, message_id, app.clock.now())
                .await?;
            receipt.note(&turn);
        }
        return Ok(());
    }
    let replied_to = Quoted {
        message_id: replied.map_or(0, |m| i64::from(m.id.0)),
        text: replied.and_then(|m| m.text().or(m.caption()).map(str::to_string)),
    };
    let turn = front
        .staff_message(
            receipt.origin(),
            &person(user, msg.chat.id),
            message_id,
            text,
            replied_to,
            app.clock.now(),
        )
        .await?;
    receipt.note(&turn);
    Ok(())
}

async fn on_callback(
    bot: Bot,
    app: Arc<App>,
    receipt: Arc<Receipt>,
    q: CallbackQuery,
) -> anyhow::Result<()> {
    let chat = q.message.as_ref().map(|m| m.chat().id);
    let button = Button::parse(q.data.as_deref().unwrap_or_default());
    let messenger = TelegramMessenger { bot: bot.clone() };
    let front = front(&app, &messenger);
    let callback = &q.id.0;
    let refusal = match chat {
        Some(chat) if chat == app.staff_chat => {
            if is_staff(&bot, app.staff_chat, q.from.id).await {
                let staff = person(&q.from, chat);
                let turn = front
                    .staff_press(receipt.origin(), &staff, button, callback, app.clock.now())
                    .await?;
                receipt.note(&turn);
                return Ok(());
            }
            texts::Key::StaffButtonsOnly
        }
        Some(chat) if chat.is_user() => {
            let pressed = q.message.as_ref().map(|m| i64::from(m.id().0));
            let who = person(&q.from, chat);
            let turn = front
                .client_press(
                    receipt.origin(),
                    &who,
                    button,
                    pressed,
                    callback,
                    app.clock.now(),
                )
                .await?;
            receipt.note(&turn);
            return Ok(());
        }
        _ => texts::Key::InvalidButton,
    };
    receipt.mark_handled(&app).await;
    let refusal = app.service.engine().texts().get(refusal);
    front.answer_press(callback, &refusal).await;
    Ok(())
}

fn keyboard(buttons: &Buttons) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(buttons.iter().map(|row| {
        row.iter()
            .map(|(label, button)| InlineKeyboardButton::callback(label.clone(), button.data()))
    }))
}

/// The outbox worker's view of Telegram.
pub struct TelegramMessenger {
    pub bot: Bot,
}

/// Whether a send may succeed if tried again. teloxide keeps Telegram's description but not its error code; the
/// description starts with the HTTP status phrase ("Bad Request: chat not found", "Too Many Requests: retry
/// after 5", "Gateway Timeout"). The errors that cannot succeed later are Telegram's 4xx other than 429: the ones
/// teloxide knows by name, and unknown ones whose phrase says so. Everything else (429 without `retry_after`, 5xx,
/// answers that are not JSON, network and I/O failures, a connection reset) is transient: the outbox tries it
/// again until it is [too old](crate::delivery::GIVE_UP_AFTER).
pub(crate) fn send_error(error: RequestError) -> SendError {
    /// Status phrases of the 4xx answers that trying again cannot change.
    const PERMANENT: [&str; 5] = [
        "Bad Request",
        "Unauthorized",
        "Forbidden",
        "Not Found",
        "Conflict",
    ];
    match error {
        RequestError::RetryAfter(wait) => SendError::RetryAfter(wait.seconds()),
        RequestError::Network(e) => SendError::Network(e.to_string()),
        // Not `to_string()`: an unreadable answer embeds Telegram's raw reply, which quotes the message text.
        RequestError::InvalidJson { .. } => {
            SendError::Transient("Telegram's answer could not be read".into())
        }
        RequestError::Io(e) => SendError::Transient(format!("I/O: {e}")),
        RequestError::Api(ApiError::Unknown(text))
            if !PERMANENT.iter().any(|phrase| text.starts_with(phrase)) =>
        {
            SendError::Transient(text)
        }
        other => SendError::Permanent(other.to_string()),
    }
}

fn reply_to(message: Option<i64>) -> Option<ReplyParameters> {
    message
        .and_then(|id| i32::try_from(id).ok())
        .map(|id| ReplyParameters::new(MessageId(id)).allow_sending_without_reply())
}

impl Messenger for TelegramMessenger {
    async fn send_text(
        &self,
        chat_id: i64,
        text: &str,
        buttons: &Buttons,
        reply: Option<i64>,
    ) -> Result<i64, SendError> {
        // A text too long for one message goes as several; the first carries the buttons and is the one
        // recorded (an alert is kept short enough to be one).
        let mut first = None;
        for part in split_message(text) {
            let mut request = self.bot.send_message(ChatId(chat_id), part);
            if first.is_none() {
                if !buttons.is_empty() {
                    request = request.reply_markup(keyboard(buttons));
                }
                if let Some(parameters) = reply_to(reply) {
                    request = request.reply_parameters(parameters);
                }
            }
            let sent = request.await.map_err(send_error)?;
            first.get_or_insert(i64::from(sent.id.0));
        }
        Ok(first.unwrap_or_default())
    }

    async fn send_photo(
        &self,
        chat_id: i64,
        file_id: &str,
        caption: &str,
        reply: Option<i64>,
    ) -> Result<i64, SendError> {
        let mut request = self
            .bot
            .send_photo(
                ChatId(chat_id),
                InputFile::file_id(FileId(file_id.to_string())),
            )
            .caption(caption);
        if let Some(parameters) = reply_to(reply) {
            request = request.reply_parameters(parameters);
        }
        request.await.map(|m| i64::from(m.id.0)).map_err(send_error)
    }

    async fn send_image(
        &self,
        chat_id: i64,
        png: Vec<u8>,
        caption: &str,
    ) -> Result<i64, SendError> {
        self.bot
            .send_photo(
                ChatId(chat_id),
                InputFile::memory(png).file_name("start-link.png"),
            )
            .caption(caption)
            .await
            .map(|m| i64::from(m.id.0))
            .map_err(send_error)
    }

    async fn edit_text(
        &self,
        chat_id: i64,
        message_id: i64,
        text: &str,
        buttons: &Buttons,
    ) -> Result<(), SendError> {
        let id = MessageId(
            i32::try_from(message_id)
                .map_err(|_| SendError::Permanent("message id out of range".into()))?,
        );
        let result = self
            .bot
            .edit_message_text(ChatId(chat_id), id, text)
            .reply_markup(keyboard(buttons))
            .await;
        match result {
            Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
            Err(e) => Err(send_error(e)),
        }
    }

    async fn remove_buttons(&self, chat_id: i64, message_id: i64) -> Result<(), SendError> {
        let id = MessageId(
            i32::try_from(message_id)
                .map_err(|_| SendError::Permanent("message id out of range".into()))?,
        );
        self.bot
            .edit_message_reply_markup(ChatId(chat_id), id)
            .await
            .map(|_| ())
            .map_err(send_error)
    }

    async fn answer_callback(
        &self,
        callback_id: &str,
        text: Option<&str>,
    ) -> Result<(), SendError> {
        let mut request = self
            .bot
            .answer_callback_query(CallbackQueryId(callback_id.to_string()));
        if let Some(text) = text {
            request = request.text(text).show_alert(true);
        }
        request.await.map(|_| ()).map_err(send_error)
    }
}

/// The commands shown in Telegram's menu: the client's everywhere, the staff's in the staff chat.
pub async fn register_commands(bot: &Bot, staff_chat: ChatId, texts: &Texts) {
    let menu = |commands: &[(&str, Key)]| -> Vec<BotCommand> {
        commands
            .iter()
            .map(|(name, description)| BotCommand::new(*name, texts.get(*description)))
            .collect()
    };
    let client = menu(&ClientCommand::MENU);
    let staff = menu(&StaffCommand::MENU);
    if let Err(e) = bot.set_my_commands(client).await {
        tracing::warn!(error = %e, "could not register the client commands");
    }
    let scope = BotCommandScope::Chat {
        chat_id: Recipient::Id(staff_chat),
    };
    if let Err(e) = bot.set_my_commands(staff).scope(scope).await {
        tracing::warn!(error = %e, "could not register the staff commands");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_telegrams_4xx_other_than_429_are_permanent() {
        let unknown = |text: &str| send_error(RequestError::Api(ApiError::Unknown(text.into())));
        for transient in [
            "Too Many Requests",
            "Internal Server Error",
            "Bad Gateway",
            "Service Unavailable",
            "Gateway Timeout",
            "something new",
        ] {
            assert!(
                matches!(unknown(transient), SendError::Transient(_)),
                "{transient}"
            );
        }
        for permanent in [
            "Bad Request: message is too long",
            "Forbidden: bot was kicked from the group chat",
            "Unauthorized",
        ] {
            assert!(
                matches!(unknown(permanent), SendError::Permanent(_)),
                "{permanent}"
            );
        }
        assert!(matches!(
            send_error(RequestError::Api(ApiError::BotBlocked)),
            SendError::Permanent(_)
        ));
        assert!(matches!(
            send_error(RequestError::RetryAfter(
                teloxide::types::Seconds::from_seconds(3)
            )),
            SendError::RetryAfter(3)
        ));
    }

    #[test]
    fn keyboards_carry_the_buttons_versioned_data() {
        let buttons = vec![vec![
            ("Yes".to_string(), Button::Consent(true)),
            (
                "Ack".to_string(),
                Button::Acknowledge(crate::flows::ReportId(42)),
            ),
        ]];
        let data: Vec<String> = keyboard(&buttons)
            .inline_keyboard
            .iter()
            .flatten()
            .filter_map(|button| match &button.kind {
                teloxide::types::InlineKeyboardButtonKind::CallbackData(data) => Some(data.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(data, ["v1:consent:yes", "v1:ack:42"]);
    }

    #[tokio::test]
    async fn a_panicking_or_failing_handler_is_caught() {
        assert_eq!(catch(async { Ok(()) }).await, Ok(()));
        assert_eq!(
            catch(async { Err(anyhow::anyhow!("storage down")) }).await,
            Err("storage down".to_string())
        );
        let panicking = async {
            let empty: Vec<u8> = Vec::new();
            let _ = empty[1];
            Ok(())
        };
        assert_eq!(catch(panicking).await, Err("panic".to_string()));
    }
}
