//! What an update does once an adapter has read it: the service loads, decides and commits it, and its answers
//! go out through the outbox like every other send. What is left here is Telegram's housekeeping around a
//! button press (taking the pressed buttons away, answering the press), through a [`Messenger`]. The Telegram
//! adapter runs every client and staff turn through here, and so does the tests' in-process scene (with a
//! messenger that records), so both see the same messages, buttons and answers.

use crate::delivery::{Buttons, Messenger, SendError};
use crate::flows::{
    Button, ClientInput, FlowError, Handled, Input, Origin, Person, Quoted, Say, Service,
    StaffCommand,
};
pub use crate::flows::{MAX_MESSAGE_UTF16, split_message};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::time::Duration;

/// One turn's way through the flows, and the press's housekeeping through a messenger.
pub struct Front<'a, M> {
    pub messenger: &'a M,
    pub service: &'a Service,
}

/// What became of an update at the front: handled by the flows, or nothing of the bot's to store.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    Handled(Handled),
    /// Not for the bot (a command of another bot's in the staff chat): nothing stored, nothing sent.
    Ignored,
}

impl<M: Messenger> Front<'_, M> {
    /// A client's message (text, edit, photo, anything else). Only the flows' failure is an error (the update is
    /// tried again; nothing of it was stored).
    pub async fn client_turn(
        &self,
        origin: Origin,
        who: &Person,
        event: ClientInput,
        now: DateTime<Utc>,
    ) -> Result<Turn, FlowError> {
        let input = Input::Client {
            who: who.clone(),
            event,
        };
        Ok(Turn::Handled(
            self.service.handle(origin, &input, now).await?,
        ))
    }

    /// A client pressed one of the bot's buttons, under the bot's message `pressed` (if Telegram says which).
    pub async fn client_press(
        &self,
        origin: Origin,
        who: &Person,
        button: Button,
        pressed: Option<i64>,
        callback_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Turn, FlowError> {
        let input = Input::Client {
            who: who.clone(),
            event: ClientInput::Button(button),
        };
        let handled = self.service.handle(origin, &input, now).await?;
        // The choice is made: take the buttons away so they cannot be pressed twice.
        if let Some(message_id) = pressed {
            let _ = self.messenger.remove_buttons(who.chat_id, message_id).await;
        }
        self.answer_press(callback_id, "").await;
        Ok(Turn::Handled(handled))
    }

    /// A member of the staff chat pressed Acknowledge or Resolve under an alert.
    pub async fn staff_press(
        &self,
        origin: Origin,
        staff: &Person,
        button: Button,
        callback_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Turn, FlowError> {
        let input = Input::StaffPress {
            staff: staff.clone(),
            button,
        };
        let handled = self.service.handle(origin, &input, now).await?;
        let answer = match &handled {
            Handled::Committed(decision) => decision.press_answer.as_deref().unwrap_or_default(),
            // Its answer was given when it was handled.
            Handled::AlreadyHandled => "",
        };
        self.answer_press(callback_id, answer).await;
        Ok(Turn::Handled(handled))
    }

    /// A member of the staff chat wrote `text` (message `message_id`): a command, or a reply to the bot's message
    /// `replied_to`. The answer goes back as a reply to it.
    pub async fn staff_message(
        &self,
        origin: Origin,
        staff: &Person,
        message_id: i64,
        text: &str,
        replied_to: Quoted,
        now: DateTime<Utc>,
    ) -> Result<Turn, FlowError> {
        let staff = staff.clone();
        let input = if text.starts_with('/') {
            // Not one of the bot's commands: staff talking to another bot, or a typo.
            let Some(command) = StaffCommand::parse(text) else {
                return Ok(Turn::Ignored);
            };
            Input::StaffCommand {
                staff,
                message_id,
                command,
            }
        } else {
            Input::StaffReply {
                staff,
                message_id,
                text: text.to_string(),
                replied_to,
            }
        };
        Ok(Turn::Handled(
            self.service.handle(origin, &input, now).await?,
        ))
    }

    /// Someone outside the staff chat's members sent a staff command there (message `message_id`).
    pub async fn stranger_command(
        &self,
        origin: Origin,
        chat_id: i64,
        message_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Turn, FlowError> {
        let input = Input::StrangerCommand {
            chat_id,
            message_id,
        };
        Ok(Turn::Handled(
            self.service.handle(origin, &input, now).await?,
        ))
    }

    /// Answers a button press; a non-empty `text` is shown to whoever pressed it.
    pub async fn answer_press(&self, callback_id: &str, text: &str) {
        let text = (!text.is_empty()).then_some(text);
        if let Err(e) = self.messenger.answer_callback(callback_id, text).await {
            tracing::warn!(error = %e, "could not answer a button press");
        }
    }
}

/// Messages straight to a chat, in order, each in as many parts as it takes (the buttons under the last part,
/// where the reader reads on), each a reply to message `reply_to` if given. Only for what must not wait for
/// storage: the answer while the database is away, and the notices when an update is set aside.
pub async fn send_says<M: Messenger>(
    messenger: &M,
    chat: i64,
    reply_to: Option<i64>,
    says: &[Say],
) -> Result<(), SendError> {
    let none: Buttons = Vec::new();
    for say in says {
        let parts = split_message(&say.text);
        let last = parts.len() - 1;
        for (i, part) in parts.into_iter().enumerate() {
            let buttons = if i == last { &say.buttons } else { &none };
            with_retries(|| messenger.send_text(chat, &part, buttons, reply_to)).await?;
        }
    }
    Ok(())
}

/// A direct send: honours Telegram's `retry_after` a few times, and tries again twice after a network failure,
/// before giving up.
async fn with_retries<T, F, Fut>(mut call: F) -> Result<T, SendError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SendError>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(SendError::RetryAfter(seconds)) if attempt < 3 => {
                let wait = Duration::from_secs(seconds.into()).min(Duration::from_secs(30));
                tokio::time::sleep(wait).await;
            }
            Err(SendError::Network(_)) if attempt < 2 => {
                tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
            }
            other => return other,
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_split_at_line_ends_within_telegrams_limit() {
        assert_eq!(split_message("short"), ["short"]);
        assert_eq!(split_message(""), [""]);
        let line = format!("{}\n", "a".repeat(99));
        let text = line.repeat(100);
        let parts = split_message(&text);
        assert_eq!(parts.len(), 3, "10,000 characters in lines of 100");
        assert!(
            parts
                .iter()
                .all(|p| p.encode_utf16().count() <= MAX_MESSAGE_UTF16)
        );
        assert!(
            parts[..2].iter().all(|p| p.ends_with('\n')),
            "split at line ends"
        );
        assert_eq!(parts.concat(), text, "nothing lost");
        // One line longer than the limit, of emoji (two UTF-16 units each).
        let emoji = "🙂".repeat(3000);
        let parts = split_message(&emoji);
        assert_eq!(parts.len(), 2);
        assert!(
            parts
                .iter()
                .all(|p| p.encode_utf16().count() <= MAX_MESSAGE_UTF16)
        );
        assert_eq!(parts.concat(), emoji);
    }
}
