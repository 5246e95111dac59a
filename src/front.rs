//! What an update does once an adapter has read it: the service loads, decides and stores, then the answers go
//! out through a [`Messenger`]. The Telegram adapter runs every client and staff turn through here, and so does
//! the tests' in-process scene (with a messenger that records), so both see the same messages, buttons and
//! answers.
//!
//! `stored` is awaited once what the update caused is stored and before anything goes out: the adapter marks the
//! update handled there, so that a crash after it does not store the update twice.

use crate::delivery::{Buttons, Messenger, SendError};
use crate::flows::{
    Button, ClientInput, Decision, FlowError, Input, Origin, Person, Quoted, Say, Service,
    StaffCommand,
};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::time::Duration;

/// One turn's way through the flows and back out through a messenger.
pub struct Front<'a, M> {
    pub messenger: &'a M,
    pub service: &'a Service,
}

impl<M: Messenger> Front<'_, M> {
    /// A client's message (text, edit, photo, anything else). Only the flows' failure is an error (the update is
    /// tried again): a reply that cannot be sent is logged, because what the client reported is stored already and
    /// handling it again would store it twice.
    pub async fn client_turn(
        &self,
        origin: Origin,
        who: &Person,
        event: ClientInput,
        now: DateTime<Utc>,
        stored: impl Future<Output = ()>,
    ) -> Result<(), FlowError> {
        let input = Input::Client {
            who: who.clone(),
            event,
        };
        let decision = self.service.handle(origin, &input, now).await?;
        stored.await;
        self.send_replies(&decision).await;
        Ok(())
    }

    /// A client pressed one of the bot's buttons, under the bot's message `pressed` (if Telegram says which).
    #[allow(clippy::too_many_arguments)]
    pub async fn client_press(
        &self,
        origin: Origin,
        who: &Person,
        button: Button,
        pressed: Option<i64>,
        callback_id: &str,
        now: DateTime<Utc>,
        stored: impl Future<Output = ()>,
    ) -> Result<(), FlowError> {
        let input = Input::Client {
            who: who.clone(),
            event: ClientInput::Button(button),
        };
        let decision = self.service.handle(origin, &input, now).await?;
        // The choice is made: take the buttons away so they cannot be pressed twice.
        if let Some(message_id) = pressed {
            let _ = self.messenger.remove_buttons(who.chat_id, message_id).await;
        }
        self.send_replies(&decision).await;
        stored.await;
        self.answer_press(callback_id, "").await;
        Ok(())
    }

    /// A member of the staff chat pressed Acknowledge or Resolve under an alert.
    pub async fn staff_press(
        &self,
        origin: Origin,
        staff: &Person,
        button: Button,
        callback_id: &str,
        now: DateTime<Utc>,
        stored: impl Future<Output = ()>,
    ) -> Result<(), FlowError> {
        let input = Input::StaffPress {
            staff: staff.clone(),
            button,
        };
        let decision = self.service.handle(origin, &input, now).await?;
        stored.await;
        let answer = decision.press_answer.as_deref().unwrap_or_default();
        self.answer_press(callback_id, answer).await;
        Ok(())
    }

    /// A member of the staff chat wrote `text` (message `message_id`): a command, or a reply to the bot's message
    /// `replied_to`. The answer goes back as a reply to it.
    #[allow(clippy::too_many_arguments)]
    pub async fn staff_message(
        &self,
        origin: Origin,
        staff: &Person,
        message_id: i64,
        text: &str,
        replied_to: Quoted,
        now: DateTime<Utc>,
        stored: impl Future<Output = ()>,
    ) -> Result<(), FlowError> {
        let staff = staff.clone();
        let input = if text.starts_with('/') {
            let Some(command) = StaffCommand::parse(text) else {
                // Not one of the bot's commands: staff talking to another bot, or a typo.
                stored.await;
                return Ok(());
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
        let decision = self.service.handle(origin, &input, now).await?;
        stored.await;
        self.send_replies(&decision).await;
        Ok(())
    }

    /// Someone outside the staff chat's members sent a staff command there (message `message_id`).
    pub async fn stranger_command(
        &self,
        origin: Origin,
        chat_id: i64,
        message_id: i64,
        now: DateTime<Utc>,
        stored: impl Future<Output = ()>,
    ) -> Result<(), FlowError> {
        let input = Input::StrangerCommand {
            chat_id,
            message_id,
        };
        let decision = self.service.handle(origin, &input, now).await?;
        stored.await;
        self.send_replies(&decision).await;
        Ok(())
    }

    /// Answers a button press; a non-empty `text` is shown to whoever pressed it.
    pub async fn answer_press(&self, callback_id: &str, text: &str) {
        let text = (!text.is_empty()).then_some(text);
        if let Err(e) = self.messenger.answer_callback(callback_id, text).await {
            tracing::warn!(error = %e, "could not answer a button press");
        }
    }

    /// The decision's answers, in order; a failure is logged (what they answer is stored already) and ends the
    /// sending.
    async fn send_replies(&self, decision: &Decision) {
        let sent = send_says(
            self.messenger,
            decision.reply_chat,
            decision.reply_to,
            &decision.replies,
        )
        .await;
        if let Err(e) = sent {
            tracing::error!(error = %e, "could not send a reply");
        }
    }
}

/// Messages to a chat, in order, each in as many parts as it takes (the buttons under the last part, where the
/// reader reads on), each a reply to message `reply_to` if given.
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

/// A direct reply: honours Telegram's `retry_after` a few times, and tries again twice after a network failure,
/// before giving up (the client's message is stored already, so a lost reply loses no report).
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

/// Telegram's limit on a message's text, in UTF-16 code units.
pub const MAX_MESSAGE_UTF16: usize = 4096;

/// Splits a text into messages Telegram accepts: at line ends where possible, inside a line only when the line
/// alone is too long.
pub fn split_message(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for line in text.split_inclusive('\n') {
        let line_len = line.encode_utf16().count();
        if current_len + line_len > MAX_MESSAGE_UTF16 && !current.is_empty() {
            parts.push(std::mem::take(&mut current));
            current_len = 0;
        }
        if line_len <= MAX_MESSAGE_UTF16 {
            current.push_str(line);
            current_len += line_len;
            continue;
        }
        for c in line.chars() {
            if current_len + c.len_utf16() > MAX_MESSAGE_UTF16 {
                parts.push(std::mem::take(&mut current));
                current_len = 0;
            }
            current.push(c);
            current_len += c.len_utf16();
        }
    }
    if !current.is_empty() || parts.is_empty() {
        parts.push(current);
    }
    parts
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
