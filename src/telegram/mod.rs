//! The Telegram adapter: turns updates into flow inputs and flow outputs into Bot API calls. Nothing here
//! decides what to say; `flows` does.

mod lanes;

pub use lanes::Lanes;

use crate::delivery::{Buttons, Messenger, SendError};
use crate::flows::{ClientInput, Person, Say, Service};
use crate::store::MessageKind;
use chrono::Utc;
use futures::{FutureExt, StreamExt};
use std::future::Future;
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{
    AllowedUpdate, BotCommand, BotCommandScope, FileId, InlineKeyboardButton, InlineKeyboardMarkup,
    InputFile, MessageId, Recipient, ReplyParameters, UpdateKind,
};
use teloxide::update_listeners::UpdateListener;
use teloxide::{ApiError, RequestError};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

/// What every handler needs.
pub struct App {
    pub service: Service,
    pub staff_chat: ChatId,
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

/// Receives updates from `listener` until it stops, and handles each with [`schema`]: one chat's updates in
/// order, different chats at the same time (see [`Lanes`]). Returns once the updates in progress are handled.
pub async fn handle_updates<L>(mut listener: L, bot: Bot, app: Arc<App>)
where
    L: UpdateListener,
    L::Err: std::fmt::Display,
{
    listener.hint_allowed_updates(&mut HANDLED_UPDATES.into_iter());
    let handler = Arc::new(schema());
    let lanes = Lanes::default();
    let tasks = TaskTracker::new();
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    {
        let updates = listener.as_stream();
        tokio::pin!(updates);
        while let Some(update) = updates.next().await {
            let update = match update {
                Ok(update) => update,
                Err(e) => {
                    tracing::error!(error = %e, "receiving updates from Telegram failed");
                    continue;
                }
            };
            if let UpdateKind::Error(_) = &update.kind {
                // Its content is not logged: it may be a client's message.
                tracing::warn!(
                    update = update.id.0,
                    "an update Telegram sent could not be read"
                );
                continue;
            }
            let lane = update.chat().map(|chat| chat.id.0);
            let permit = if lanes.pending(lane) < MAX_IN_FLIGHT_PER_CHAT {
                match in_flight.clone().acquire_owned().await {
                    Ok(permit) => Some(permit),
                    Err(_) => break,
                }
            } else {
                None
            };
            let handler = handler.clone();
            let deps = dptree::deps![bot.clone(), app.clone(), update];
            lanes.spawn(lane, &tasks, async move {
                let _permit = permit;
                // Handlers answer their own failures (`guarded`); what reaches here is only logged.
                if let ControlFlow::Break(Err(e)) = handler.dispatch(deps).await {
                    tracing::error!(error = %format!("{e:#}"), "an update could not be handled");
                }
            });
        }
    }
    tasks.close();
    tasks.wait().await;
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

/// Runs a handler body so that an error or a panic is logged and the client gets an apology with the clinic's
/// phone number instead of silence. (The update loop would survive a panic anyway: each update runs in its own
/// task.)
async fn guarded(
    app: &App,
    bot: &Bot,
    chat: Option<ChatId>,
    body: impl Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let Err(failure) = catch(body).await else {
        return Ok(());
    };
    tracing::error!(error = %failure, "handling an update failed");
    if let Some(chat) = chat.filter(|c| c.is_user()) {
        let clinic = &app.service.clinic.clinic;
        let apology = format!(
            "Sorry, something went wrong on my side and I couldn't handle that message. If it's about your skin, \
             please call {} on {}. In an emergency call {}.",
            clinic.name, clinic.phone, clinic.emergency_number
        );
        if let Err(e) = bot.send_message(chat, apology).await {
            tracing::error!(error = %e, "could not send the apology");
        }
    }
    Ok(())
}

/// True the first time an update is seen: Telegram may deliver one twice.
async fn first_delivery(app: &App, update: &Update) -> anyhow::Result<bool> {
    Ok(app
        .service
        .db
        .mark_update_processed(update.id.0 as i64, Utc::now())
        .await?)
}

async fn on_message(bot: Bot, app: Arc<App>, update: Update, msg: Message) -> anyhow::Result<()> {
    let chat = msg.chat.id;
    guarded(&app, &bot, Some(chat), async {
        if chat == app.staff_chat {
            if !first_delivery(&app, &update).await? {
                return Ok(());
            }
            return staff_message(&bot, &app, &msg).await;
        }
        // Groups other than the staff chat are not the bot's business.
        if !msg.chat.is_private() {
            return Ok(());
        }
        let Some(user) = msg.from.as_ref() else {
            return Ok(());
        };
        tracing::debug!(chat = chat.0, text = ?msg.text(), "client message");
        answer_client(&bot, &app, &person(user, chat), client_input(&msg), &update).await
    })
    .await
}

/// A client's turn: the flows decide, then the replies go out.
async fn answer_client(
    bot: &Bot,
    app: &App,
    who: &Person,
    input: ClientInput,
    update: &Update,
) -> anyhow::Result<()> {
    let says = app
        .service
        .on_client(who, input, Some(update.id.0.into()), Utc::now())
        .await?;
    send_says(bot, ChatId(who.chat_id), says).await
}

async fn on_edited_message(
    bot: Bot,
    app: Arc<App>,
    update: Update,
    msg: Message,
) -> anyhow::Result<()> {
    let chat = msg.chat.id;
    guarded(&app, &bot, Some(chat), async {
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
        answer_client(&bot, &app, &person(user, chat), input, &update).await
    })
    .await
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

async fn staff_message(bot: &Bot, app: &App, msg: &Message) -> anyhow::Result<()> {
    let (Some(user), Some(text)) = (msg.from.as_ref(), msg.text()) else {
        return Ok(());
    };
    let is_command = text.starts_with('/');
    let reply_to = msg.reply_to_message().map(|m| i64::from(m.id.0));
    if !is_command && reply_to.is_none() {
        return Ok(());
    }
    if !is_staff(bot, app.staff_chat, user.id).await {
        if is_command {
            reply(
                bot,
                msg,
                "Sorry, staff commands are for members of the clinic's staff chat only.",
            )
            .await?;
        }
        return Ok(());
    }
    let staff = person(user, msg.chat.id);
    let now = Utc::now();
    let answer = if is_command {
        app.service.on_staff_command(text, now).await?
    } else {
        let reply_to = reply_to.unwrap_or_default();
        app.service
            .on_staff_reply(&staff, i64::from(msg.id.0), reply_to, text, now)
            .await?
    };
    if let Some(answer) = answer {
        reply(bot, msg, &answer).await?;
    }
    Ok(())
}

async fn reply(bot: &Bot, msg: &Message, text: &str) -> anyhow::Result<()> {
    let text = text.to_string();
    let (chat, id) = (msg.chat.id, msg.id);
    with_retries(|| {
        bot.send_message(chat, text.clone())
            .reply_parameters(ReplyParameters::new(id).allow_sending_without_reply())
            .send()
    })
    .await?;
    Ok(())
}

async fn on_callback(
    bot: Bot,
    app: Arc<App>,
    update: Update,
    q: CallbackQuery,
) -> anyhow::Result<()> {
    let chat = q.message.as_ref().map(|m| m.chat().id);
    guarded(&app, &bot, chat, async {
        let data = q.data.clone().unwrap_or_default();
        // A client's press is deduplicated with the client's turn; any other here.
        if !chat.is_some_and(|c| c.is_user()) && !first_delivery(&app, &update).await? {
            return Ok(());
        }
        let answer = match chat {
            Some(chat) if chat == app.staff_chat => {
                if is_staff(&bot, app.staff_chat, q.from.id).await {
                    app.service
                        .on_staff_button(&person(&q.from, chat), &data, Utc::now())
                        .await?
                } else {
                    "Only clinic staff can use these buttons.".to_string()
                }
            }
            Some(chat) if chat.is_user() => {
                let says = app
                    .service
                    .on_client(
                        &person(&q.from, chat),
                        ClientInput::Button(data),
                        Some(update.id.0.into()),
                        Utc::now(),
                    )
                    .await?;
                // The choice is made: take the buttons away so they cannot be pressed twice.
                if let Some(message) = q.message.as_ref() {
                    let _ = bot.edit_message_reply_markup(chat, message.id()).await;
                }
                send_says(&bot, chat, says).await?;
                String::new()
            }
            _ => "That button isn't valid here.".to_string(),
        };
        let mut request = bot.answer_callback_query(q.id.clone());
        if !answer.is_empty() {
            request = request.text(answer).show_alert(true);
        }
        if let Err(e) = request.await {
            tracing::warn!(error = %e, "could not answer a button press");
        }
        Ok(())
    })
    .await
}

fn keyboard(buttons: &[Vec<(String, String)>]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(buttons.iter().map(|row| {
        row.iter()
            .map(|(label, data)| InlineKeyboardButton::callback(label.clone(), data.clone()))
    }))
}

async fn send_says(bot: &Bot, chat: ChatId, says: Vec<Say>) -> anyhow::Result<()> {
    for say in says {
        let markup = (!say.buttons.is_empty()).then(|| keyboard(&say.buttons));
        with_retries(|| {
            let mut request = bot.send_message(chat, say.text.clone());
            if let Some(markup) = &markup {
                request = request.reply_markup(markup.clone());
            }
            request.send()
        })
        .await?;
    }
    Ok(())
}

/// A direct reply: honours Telegram's `retry_after` a few times before giving up (the client's message is
/// stored already, so a lost reply loses no report).
async fn with_retries<T, F, Fut>(mut call: F) -> Result<T, RequestError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RequestError>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(RequestError::RetryAfter(wait)) if attempt < 3 => {
                tokio::time::sleep(wait.duration().min(Duration::from_secs(30))).await;
            }
            Err(RequestError::Network(_)) if attempt < 2 => {
                tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
            }
            other => return other,
        }
        attempt += 1;
    }
}

/// The outbox worker's view of Telegram.
pub struct TelegramMessenger {
    pub bot: Bot,
}

fn send_error(error: RequestError) -> SendError {
    match error {
        RequestError::RetryAfter(wait) => SendError::RetryAfter(wait.seconds()),
        RequestError::Network(e) => SendError::Transient(format!("network: {e}")),
        // Not `to_string()`: an unreadable answer embeds Telegram's raw reply, which quotes the message text.
        RequestError::InvalidJson { .. } => {
            SendError::Transient("Telegram's answer could not be read".into())
        }
        RequestError::Io(e) => SendError::Transient(format!("I/O: {e}")),
        RequestError::Api(ApiError::Unknown(text))
            if text.contains("Bad Gateway") || text.contains("Internal") =>
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
        let mut request = self.bot.send_message(ChatId(chat_id), text);
        if !buttons.is_empty() {
            request = request.reply_markup(keyboard(buttons));
        }
        if let Some(parameters) = reply_to(reply) {
            request = request.reply_parameters(parameters);
        }
        request.await.map(|m| i64::from(m.id.0)).map_err(send_error)
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
}

/// The commands shown in Telegram's menu: the client's everywhere, the staff's in the staff chat.
pub async fn register_commands(bot: &Bot, staff_chat: ChatId) {
    let client = vec![
        BotCommand::new("start", "start, or see the welcome again"),
        BotCommand::new("treatment", "set or change your treatment date"),
        BotCommand::new("help", "what I can do"),
        BotCommand::new("forget", "delete everything stored about you"),
    ];
    let staff = vec![
        BotCommand::new("open", "open reports"),
        BotCommand::new(
            "history",
            "a client's messages: /history <name, @username or id>",
        ),
        BotCommand::new("unanswered", "questions without a curated answer"),
        BotCommand::new("stats", "the last 7 days"),
    ];
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
