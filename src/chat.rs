//! The local chat: the same conversation as on Telegram (consent, treatment date, answers, escalation), in a
//! terminal. It is a second adapter over `flows`; what would go to the clinic's staff chat is printed too.

use crate::clock::Clock;
use crate::delivery::{self, Buttons, Messenger, SendError};
use crate::flows::{Button, ClientInput, Input, Origin, Person, Service, State};
use crate::timeline;
use chrono::{DateTime, Duration, Utc};
use std::sync::{Mutex, PoisonError};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The terminal's user, as a Telegram-like identity.
const LOCAL_USER: i64 = 1;

/// The furthest `/wait` moves the clock at once.
const MAX_WAIT_DAYS: i64 = 90;

/// How far the clock moves between two looks at the care timeline while `/wait` passes time: as a running bot
/// looks every minute, a step is sent at its time, not at the end of the wait.
const WAIT_STEP: Duration = Duration::minutes(30);

/// The chat's time: the real time, moved on by `/wait` so that a newcomer sees the care timeline's check-ins
/// arrive on the days after their treatment.
#[derive(Default)]
struct ChatClock {
    ahead: Mutex<Duration>,
}

impl ChatClock {
    fn move_on(&self, by: Duration) {
        *self.ahead.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}

impl Clock for ChatClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.ahead.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// "1d", "3h", "30m", "2 days": how long `/wait` waits.
fn wait_length(text: &str) -> Option<Duration> {
    let text = text.trim().to_lowercase();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().ok()?;
    let length = match unit.trim() {
        "d" | "day" | "days" => Duration::days(number),
        "h" | "hour" | "hours" => Duration::hours(number),
        "m" | "min" | "mins" | "minute" | "minutes" => Duration::minutes(number),
        _ => return None,
    };
    (length > Duration::zero() && length <= Duration::days(MAX_WAIT_DAYS)).then_some(length)
}

/// Telegram for the terminal: the bot's messages to the user are printed as the conversation (with their buttons,
/// numbered); what would go to the clinic's staff chat is printed as such.
struct Terminal {
    next_message_id: Mutex<i64>,
    /// The buttons under the latest message to the user, which a number or a label chooses.
    choices: Mutex<Vec<(String, Button)>>,
}

impl Terminal {
    fn print(&self, chat_id: i64, text: &str) -> i64 {
        if chat_id == LOCAL_USER {
            out!("aftercare> {}", text.replace('\n', "\n           "));
        } else {
            out!("[to clinic staff] {}", text.replace('\n', "\n    "));
        }
        let mut id = self
            .next_message_id
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *id += 1;
        *id
    }

    fn offer(&self, buttons: &Buttons) {
        let buttons: Vec<(String, Button)> = buttons.iter().flatten().cloned().collect();
        let shown: Vec<String> = buttons
            .iter()
            .enumerate()
            .map(|(i, (label, _))| format!("[{}] {label}", i + 1))
            .collect();
        out!("           {}", shown.join("   "));
        *self.choices.lock().unwrap_or_else(|e| e.into_inner()) = buttons;
    }

    /// The button a typed line chooses: its number or its label.
    fn chosen(&self, line: &str) -> Option<Button> {
        let choices = self.choices.lock().unwrap_or_else(|e| e.into_inner());
        line.parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| choices.get(i))
            .or_else(|| {
                choices
                    .iter()
                    .find(|(label, _)| label.eq_ignore_ascii_case(line))
            })
            .map(|(_, button)| *button)
    }

    fn forget_choices(&self) {
        self.choices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

impl Messenger for Terminal {
    async fn send_text(
        &self,
        chat_id: i64,
        text: &str,
        buttons: &Buttons,
        _: Option<i64>,
    ) -> Result<i64, SendError> {
        let id = self.print(chat_id, text);
        if chat_id == LOCAL_USER && !buttons.is_empty() {
            self.offer(buttons);
        }
        Ok(id)
    }

    async fn send_photo(
        &self,
        chat_id: i64,
        _: &str,
        caption: &str,
        _: Option<i64>,
    ) -> Result<i64, SendError> {
        Ok(self.print(chat_id, &format!("(photo) {caption}")))
    }

    async fn send_image(
        &self,
        chat_id: i64,
        png: Vec<u8>,
        caption: &str,
    ) -> Result<i64, SendError> {
        Ok(self.print(
            chat_id,
            &format!("[an image: {} bytes of PNG]\n{caption}", png.len()),
        ))
    }

    async fn edit_text(
        &self,
        chat_id: i64,
        _: i64,
        text: &str,
        _: &Buttons,
    ) -> Result<(), SendError> {
        self.print(chat_id, &format!("(alert updated) {text}"));
        Ok(())
    }

    async fn remove_buttons(&self, _: i64, _: i64) -> Result<(), SendError> {
        Ok(())
    }

    async fn answer_callback(&self, _: &str, _: Option<&str>) -> Result<(), SendError> {
        Ok(())
    }
}

/// Runs the conversation on stdin/stdout until end of input or /quit. `demo`: the clinic is the demo clinic
/// (nothing configured), which the first line says.
pub async fn run(service: Service, day: Option<u32>, demo: bool) -> anyhow::Result<()> {
    out!(
        "Aftercare, local chat for {} (the same conversation as on Telegram). Number keys choose a button; \
         /day N sets your treatment N days ago; /wait 1d (or 3h) moves the clock on, to see the check-ins after \
         a treatment arrive; /quit ends.",
        service.clinic.clinic.name
    );
    if demo {
        out!(
            "This is a demo clinic with a made-up phone number: set AFTERCARE_CLINIC_NAME and \
             AFTERCARE_CLINIC_PHONE (see the README) to talk as your own clinic."
        );
    }
    let known = service.db.client_by_telegram_id(LOCAL_USER).await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let name = match known.as_ref().map(|c| c.first_name.clone()) {
        Some(name) => name,
        None => local_name(&mut lines).await,
    };
    let me = Person {
        user_id: LOCAL_USER,
        chat_id: LOCAL_USER,
        first_name: name,
        username: None,
    };
    let terminal = Terminal {
        next_message_id: Mutex::new(0),
        choices: Mutex::new(Vec::new()),
    };
    let clock = ChatClock::default();
    let welcomed = known.as_ref().and_then(|c| c.consent) != Some(true);
    if welcomed {
        turn(&service, &terminal, &clock, &me, text("/start")).await?;
    }
    // `--day` is applied as soon as the client has agreed to keep their data (a date is data).
    let mut pending_day = day;
    apply_pending_day(&service, &clock, &mut pending_day).await?;
    loop {
        out_inline!("you> ");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                out!("could not read that line ({e}); please type plain text");
                continue;
            }
        };
        let line = line.trim();
        if line == "/quit" || line == "/exit" {
            break;
        }
        // The welcome was printed when the chat started: a /start typed before answering it adds nothing.
        if welcomed && line == "/start" && !consented(&service).await? {
            continue;
        }
        if let Some(days) = line.strip_prefix("/day") {
            match days.trim().parse::<u32>() {
                Ok(days) => set_day(&service, &clock, days).await?,
                Err(_) => out!("usage: /day N, for example /day 3"),
            }
            continue;
        }
        if let Some(length) = line.strip_prefix("/wait") {
            match wait_length(length) {
                Some(length) => wait(&service, &terminal, &clock, length).await?,
                None => out!("usage: /wait 1d, /wait 3h or /wait 30m (up to {MAX_WAIT_DAYS} days)"),
            }
            continue;
        }
        let input = match terminal.chosen(line) {
            Some(button) => ClientInput::Button(button),
            None => text(line),
        };
        turn(&service, &terminal, &clock, &me, input).await?;
        if apply_pending_day(&service, &clock, &mut pending_day).await? {
            terminal.forget_choices();
        }
    }
    Ok(())
}

/// The name the clinic's staff see for the terminal's user: the operating system's user name, or, when that is
/// no person's (root) and someone is typing, asked once.
async fn local_name<R: tokio::io::AsyncBufRead + Unpin>(lines: &mut tokio::io::Lines<R>) -> String {
    let from_os = ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|n| !n.is_empty() && n != "root");
    if let Some(name) = from_os {
        return name;
    }
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        out_inline!("Your first name (the clinic's staff see it with your messages): ");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        if let Ok(Some(line)) = lines.next_line().await {
            let name = line.trim();
            if !name.is_empty() {
                return name.chars().take(64).collect();
            }
        }
    }
    "Guest".into()
}

async fn consented(service: &Service) -> anyhow::Result<bool> {
    Ok(service
        .db
        .client_by_telegram_id(LOCAL_USER)
        .await?
        .is_some_and(|c| c.consent == Some(true)))
}

/// One line of the terminal's user through the conversation, then what it queued delivered at once: the answers,
/// and what the bot would send to the clinic's staff chat.
async fn turn(
    service: &Service,
    terminal: &Terminal,
    clock: &ChatClock,
    me: &Person,
    event: ClientInput,
) -> anyhow::Result<()> {
    let input = Input::Client {
        who: me.clone(),
        event,
    };
    terminal.forget_choices();
    service
        .handle(Origin::Terminal, &input, clock.now())
        .await?;
    deliver(service, terminal, clock).await
}

async fn deliver(service: &Service, terminal: &Terminal, clock: &ChatClock) -> anyhow::Result<()> {
    while delivery::deliver_due(service, terminal, clock, Duration::seconds(30)).await? > 0 {}
    Ok(())
}

/// `/wait`: the clock moves on by `length`, looking at the care timeline on the way as the bot does, and what
/// comes due is shown when it does.
async fn wait(
    service: &Service,
    terminal: &Terminal,
    clock: &ChatClock,
    length: Duration,
) -> anyhow::Result<()> {
    let mut waited = Duration::zero();
    while waited < length {
        let next = WAIT_STEP.min(length - waited);
        clock.move_on(next);
        waited += next;
        if timeline::queue_due_steps(service, clock.now()).await? > 0 {
            let local = clock.now().with_timezone(&service.clinic.time_zone);
            out!("({})", local.format("%a %d %b %H:%M"));
            terminal.forget_choices();
            deliver(service, terminal, clock).await?;
        }
    }
    let local = clock.now().with_timezone(&service.clinic.time_zone);
    out!("(it is now {})", local.format("%a %d %b %H:%M"));
    Ok(())
}

fn text(text: &str) -> ClientInput {
    ClientInput::Text {
        text: text.to_string(),
        message_id: None,
    }
}

/// Sets the day given with `--day` once the client has consented. Returns whether it was set now.
async fn apply_pending_day(
    service: &Service,
    clock: &ChatClock,
    pending: &mut Option<u32>,
) -> anyhow::Result<bool> {
    let Some(days) = *pending else {
        return Ok(false);
    };
    if !consented(service).await? {
        return Ok(false);
    }
    set_day(service, clock, days).await?;
    *pending = None;
    Ok(true)
}

async fn set_day(service: &Service, clock: &ChatClock, days: u32) -> anyhow::Result<()> {
    let Some(client) = service
        .db
        .client_by_telegram_id(LOCAL_USER)
        .await?
        .filter(|c| c.consent == Some(true))
    else {
        out!("First answer the question above (agree to me keeping your messages).");
        return Ok(());
    };
    let now = clock.now();
    let date = service.today(now) - Duration::days(days.into());
    service.db.add_treatment(client.id, date, now).await?;
    service.db.set_state(client.id, State::Ready).await?;
    out!("ok: treatment on {date} (day {days})");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_reads_days_hours_and_minutes_within_its_limit() {
        assert_eq!(wait_length("1d"), Some(Duration::days(1)));
        assert_eq!(wait_length(" 3h"), Some(Duration::hours(3)));
        assert_eq!(wait_length("30 m"), Some(Duration::minutes(30)));
        assert_eq!(wait_length("2 days"), Some(Duration::days(2)));
        for bad in ["", "d", "0d", "1w", "-1d", "91d", "99999999999999999999d"] {
            assert_eq!(wait_length(bad), None, "{bad}");
        }
    }
}
