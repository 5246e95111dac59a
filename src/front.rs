//! What an update does once an adapter has read it: the flows decide, then the answers go out through a
//! [`Messenger`]. The Telegram adapter runs every client and staff turn through here, and so does the tests'
//! in-process scene (with a messenger that records), so both see the same messages, buttons and answers.
//!
//! `stored` is awaited once what the update caused is stored and before anything goes out: the adapter marks the
//! update handled there, so that a crash after it does not store the update twice.

use crate::delivery::{Buttons, Messenger, SendError};
use crate::flows::{Button, ClientInput, FlowError, Person, RepliedTo, Say, Service};
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
        who: &Person,
        input: ClientInput,
        now: DateTime<Utc>,
        stored: impl Future<Output = ()>,
    ) -> Result<(), FlowError> {
        let says = self.service.on_client(who, input, now).await?;
        stored.await;
        send_replies(self.messenger, who.chat_id, says).await;
        Ok(())
    }

    /// A client pressed one of the bot's buttons, under the bot's message `pressed` (if Telegram says which).
    pub async fn client_press(
        &self,
        who: &Person,
        button: Button,
        pressed: Option<i64>,
        callback_id: &str,
        now: DateTime<Utc>,
        stored: impl Future<Output = ()>,
    ) -> Result<(), FlowError> {
        let says = self
            .service
            .on_client(who, ClientInput::Button(button), now)
            .await?;
        // The choice is made: take the buttons away so they cannot be pressed twice.
        if let Some(message_id) = pressed {
            let _ = self.messenger.remove_buttons(who.chat_id, message_id).await;
        }
        send_replies(self.messenger, who.chat_id, says).await;
        stored.await;
        self.answer_press(callback_id, "").await;
        Ok(())
    }

    /// A member of the staff chat pressed Acknowledge or Resolve under an alert.
    pub async fn staff_press(
        &self,
        staff: &Person,
        button: Button,
        callback_id: &str,
        now: DateTime<Utc>,
        stored: impl Future<Output = ()>,
    ) -> Result<(), FlowError> {
        let answer = self.service.on_staff_button(staff, button, now).await?;
        stored.await;
        self.answer_press(callback_id, &answer).await;
        Ok(())
    }

    /// A member of the staff chat wrote `text` (message `message_id`): a command, or a reply to the bot's message
    /// `replied_to`. The answer goes back as a reply to it.
    pub async fn staff_message(
        &self,
        staff: &Person,
        message_id: i64,
        text: &str,
        replied_to: RepliedTo<'_>,
        now: DateTime<Utc>,
        stored: impl Future<Output = ()>,
    ) -> Result<(), FlowError> {
        let answer = if text.starts_with('/') {
            self.service.on_staff_command(text, now).await?
        } else {
            self.service
                .on_staff_reply(staff, message_id, replied_to, text, now)
                .await?
        };
        stored.await;
        if let Some(answer) = answer {
            // Logged, not retried: the command's effects are stored already.
            if let Err(e) = reply(self.messenger, staff.chat_id, message_id, &answer).await {
                tracing::error!(error = %e, "could not answer staff");
            }
        }
        Ok(())
    }

    /// Answers a button press; a non-empty `text` is shown to whoever pressed it.
    pub async fn answer_press(&self, callback_id: &str, text: &str) {
        let text = (!text.is_empty()).then_some(text);
        if let Err(e) = self.messenger.answer_callback(callback_id, text).await {
            tracing::warn!(error = %e, "could not answer a button press");
        }
    }
}

/// `text` as a reply to message `message_id` in `chat`, in as many messages as it takes.
pub async fn reply<M: Messenger>(
    messenger: &M,
    chat: i64,
    message_id: i64,
    text: &str,
) -> Result<(), SendError> {
    let none: Buttons = Vec::new();
    for part in split_message(text) {
        with_retries(|| messenger.send_text(chat, &part, &none, Some(message_id))).await?;
    }
    Ok(())
}

/// The flows' answers to a chat, in order; a failure is logged and ends the sending.
pub async fn send_replies<M: Messenger>(messenger: &M, chat: i64, says: Vec<Say>) {
    if let Err(e) = send_says(messenger, chat, says).await {
        tracing::error!(error = %e, "could not send a reply");
    }
}

pub async fn send_says<M: Messenger>(
    messenger: &M,
    chat: i64,
    says: Vec<Say>,
) -> Result<(), SendError> {
    let none: Buttons = Vec::new();
    for say in says {
        let parts = split_message(&say.text);
        let last = parts.len() - 1;
        for (i, part) in parts.into_iter().enumerate() {
            // The buttons go under the last part, where the client reads on.
            let buttons = if i == last { &say.buttons } else { &none };
            with_retries(|| messenger.send_text(chat, &part, buttons, None)).await?;
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
