//! What staff read: alerts, their updates, and the answers to staff commands. Plain text (no markup to escape).
//!
//! A client's words are always set apart, so that they can never pass for the bot's own lines (a client could
//! otherwise type "Status: ✅ acknowledged by …" on a line of its own): in alerts every line of theirs starts with
//! [`QUOTE`], in one-line lists their line breaks are shown as " ⏎ ", and names are kept on one line.

use super::{Button, Buttons};
use crate::store::{
    Client, Direction, Escalation, EscalationStatus, ReportId, Stats, StoredMessage,
};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

fn level_heading(level: &str) -> &'static str {
    match level {
        "emergency" => "🚨 EMERGENCY",
        "urgent" => "🔴 URGENT",
        _ => "🟡 Routine (lower priority)",
    }
}

fn local(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%a %d %b %H:%M").to_string()
}

/// Starts every line of a client's words in an alert; the bot's own lines never start with it.
const QUOTE: &str = "│ ";

/// Characters of a client's words shown in one alert, shared by its messages: the alert stays within
/// Telegram's 4,096 characters, header and status included.
const ALERT_WORDS: usize = 3_400;

fn who(client: &Client) -> String {
    let name = one_line(&client.first_name);
    match &client.username {
        Some(u) => format!("{name} (@{})", one_line(u)),
        None => format!(
            "{name} (no @username; Telegram id {})",
            client.telegram_user_id
        ),
    }
}

/// Told to staff, on one line, when a send to a client about a report was given up: the client could not be
/// reached (the words that were not delivered are not repeated).
pub fn client_unreachable(
    client: &Client,
    report: ReportId,
    queued_at: DateTime<Utc>,
    zone: Tz,
    error: &str,
) -> String {
    format!(
        "⚠️ {} could not be reached: a message about report #{report} queued {} was not delivered ({}). \
         Please contact them another way.",
        who(client),
        local(queued_at, zone),
        one_line(error)
    )
}

/// Whether a line of a staff message is a client's words (quoted), not the bot's.
pub fn is_client_line(line: &str) -> bool {
    line.starts_with(QUOTE)
}

/// A client's words as quoted lines, clipped to `max_chars`.
fn quoted(text: &str, max_chars: usize) -> String {
    clip(text, max_chars)
        .lines()
        .map(|line| format!("{QUOTE}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A client's words or name on one line: line breaks and other control characters shown as " ⏎ " or a space.
fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => line.push_str(" ⏎ "),
            c if c.is_control() => line.push(' '),
            c => line.push(c),
        }
    }
    line
}

/// The alert text for an escalation; `reminder` is the reminder round (0 for the first alert).
pub fn alert_text(
    escalation: &Escalation,
    client: &Client,
    treated_on: Option<NaiveDate>,
    today: NaiveDate,
    messages: &[StoredMessage],
    reminder: i64,
    zone: Tz,
) -> String {
    let mut text = String::new();
    if reminder > 0 {
        text.push_str(&format!("⏰ REMINDER {reminder}: not acknowledged yet\n"));
    }
    text.push_str(&format!(
        "{} — report #{}\n",
        level_heading(&escalation.level),
        escalation.id
    ));
    text.push_str(&format!("Client: {}\n", who(client)));
    text.push_str(&match treated_on {
        Some(date) => format!(
            "Day since treatment: {} (treated {})\n",
            (today - date).num_days(),
            date.format("%d %b")
        ),
        None => "Day since treatment: unknown\n".to_string(),
    });
    let inbound: Vec<&StoredMessage> = messages
        .iter()
        .filter(|m| m.direction == Direction::In && m.escalation_id == Some(escalation.id))
        .collect();
    if let Some(why) = why_level(escalation, &inbound) {
        text.push_str(&format!("Why {}: {why}\n", escalation.level));
    }
    let shown = inbound.len().min(5);
    for m in inbound.iter().take(5) {
        let body = m.text.as_deref().unwrap_or(if m.photo_file_id.is_some() {
            "(photo)"
        } else {
            ""
        });
        let photo = if m.photo_file_id.is_some() && m.text.is_some() {
            " (photo)"
        } else {
            ""
        };
        text.push_str(&format!(
            "[{}]{photo}\n{}\n",
            local(m.created_at, zone),
            quoted(body, ALERT_WORDS / shown.max(1))
        ));
    }
    if inbound.len() > 5 {
        text.push_str(&format!(
            "… and {} more message(s) below.\n",
            inbound.len() - 5
        ));
    }
    text.push_str(&status_line(escalation, zone));
    text.push_str("\nReply to this message to answer the client.");
    text
}

/// Why the report has its level, in one line: its red flags in the clinic's words, each once however many
/// messages found it; without one, what the first message that called for the level was (a topic the client
/// reports, or a description of their skin nothing curated answers), or a photo.
fn why_level(escalation: &Escalation, inbound: &[&StoredMessage]) -> Option<String> {
    let mut named: Vec<&str> = Vec::new();
    for flag in &escalation.red_flags {
        if !named.contains(&flag.as_str()) {
            named.push(flag);
        }
    }
    if !named.is_empty() {
        return Some(format!("red flags: {}", named.join("; ")));
    }
    let decided = inbound.iter().find_map(|m| {
        m.triage
            .as_ref()
            .filter(|t| t.escalation == escalation.level)
            .map(|t| (m, t))
    });
    let reason = match decided {
        Some((_, triage)) if triage.intent.is_some() => format!(
            "the message reports \"{}\" (a match of {:.2})",
            triage.intent.as_deref().unwrap_or_default(),
            triage.confidence
        ),
        Some(_) => "nothing curated answers what the client describes".to_string(),
        None if inbound.iter().any(|m| m.photo_file_id.is_some()) => {
            "a photo (photos always go to staff)".to_string()
        }
        None => return None,
    };
    Some(reason)
}

pub fn status_line(escalation: &Escalation, zone: Tz) -> String {
    match escalation.status {
        EscalationStatus::Open => {
            format!("Status: OPEN since {}", local(escalation.opened_at, zone))
        }
        EscalationStatus::Acknowledged => format!(
            "Status: ✅ acknowledged by {} at {}",
            escalation
                .acknowledged_by_name
                .as_deref()
                .unwrap_or("staff"),
            escalation
                .acknowledged_at
                .map_or(String::new(), |t| local(t, zone))
        ),
        EscalationStatus::Resolved => format!(
            "Status: ✔️ resolved by {} at {}",
            escalation.resolved_by_name.as_deref().unwrap_or("staff"),
            escalation
                .resolved_at
                .map_or(String::new(), |t| local(t, zone))
        ),
    }
}

/// The buttons an alert shows in its current state.
pub fn alert_buttons(escalation: &Escalation) -> Buttons {
    let id = escalation.id;
    match escalation.status {
        EscalationStatus::Open => vec![vec![
            ("✅ Acknowledge".into(), Button::Acknowledge(id)),
            ("✔️ Resolve".into(), Button::Resolve(id)),
        ]],
        EscalationStatus::Acknowledged => vec![vec![("✔️ Resolve".into(), Button::Resolve(id))]],
        EscalationStatus::Resolved => Vec::new(),
    }
}

pub fn followup_text(client: &Client, message: &StoredMessage, zone: Tz) -> String {
    format!(
        "➕ {} added at {}:\n{}",
        one_line(&client.first_name),
        local(message.created_at, zone),
        quoted(message.text.as_deref().unwrap_or("(no text)"), ALERT_WORDS)
    )
}

pub fn photo_caption(client: &Client, caption: Option<&str>, escalation_id: ReportId) -> String {
    match caption {
        Some(c) => format!(
            "📷 Photo from {} (report #{escalation_id}):\n{}",
            who(client),
            quoted(c, 800)
        ),
        None => format!("📷 Photo from {} (report #{escalation_id})", who(client)),
    }
}

pub fn open_list(open: &[(Escalation, Client)], _today: NaiveDate, zone: Tz) -> String {
    if open.is_empty() {
        return "No open reports.".into();
    }
    let mut text = format!("{} open report(s):\n", open.len());
    for (e, c) in open {
        text.push_str(&format!(
            "#{} {} — {} — opened {} — {}\n",
            e.id,
            e.level.to_uppercase(),
            who(c),
            local(e.opened_at, zone),
            match e.status {
                EscalationStatus::Acknowledged => format!(
                    "acknowledged by {}",
                    e.acknowledged_by_name.as_deref().unwrap_or("staff")
                ),
                _ => "NOT acknowledged".into(),
            }
        ));
    }
    text
}

pub fn history(client: &Client, messages: &[StoredMessage], zone: Tz) -> String {
    let mut text = format!("History of {} (last {}):\n", who(client), messages.len());
    for m in messages {
        let arrow = if m.direction == Direction::In {
            "→"
        } else {
            "←"
        };
        let level = m
            .triage
            .as_ref()
            .filter(|t| t.escalation != "none")
            .map(|t| format!(" [{}]", t.escalation))
            .unwrap_or_default();
        let body = m.text.as_deref().unwrap_or(m.kind.as_str());
        text.push_str(&format!(
            "{} {arrow} {}{level}\n",
            local(m.created_at, zone),
            one_line(&clip(body, 200))
        ));
    }
    text
}

pub fn client_choices(clients: &[Client]) -> String {
    let mut text = "Several clients match; use the @username or Telegram id:\n".to_string();
    for c in clients {
        text.push_str(&format!("{} — id {}\n", who(c), c.telegram_user_id));
    }
    text
}

pub fn unanswered(items: &[(StoredMessage, Client)], zone: Tz) -> String {
    if items.is_empty() {
        return "No unanswered questions.".into();
    }
    let mut text =
        "Questions the bot had no curated answer for (add them to the intents):\n".to_string();
    for (m, c) in items {
        text.push_str(&format!(
            "{} {}: \"{}\"\n",
            local(m.created_at, zone),
            one_line(&c.first_name),
            one_line(&clip(m.text.as_deref().unwrap_or_default(), 200))
        ));
    }
    text
}

pub fn stats(stats: &Stats) -> String {
    let levels = if stats.escalations_by_level.is_empty() {
        "none".to_string()
    } else {
        stats
            .escalations_by_level
            .iter()
            .map(|(l, n)| format!("{l} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "Last 7 days: {} new client(s), {} message(s) from clients, reports: {levels}.\nOpen now: {}. Median time to acknowledge: {}.",
        stats.clients,
        stats.inbound_messages,
        stats.open_escalations,
        stats
            .median_minutes_to_ack
            .map_or("n/a".to_string(), |m| format!("{m:.0} min"))
    )
}

fn clip(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max_chars).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ClientId;
    use crate::store::MessageKind;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_000_000, 0).expect("instant")
    }

    fn client(first_name: &str) -> Client {
        Client {
            id: ClientId(1),
            telegram_user_id: 77,
            chat_id: 77,
            first_name: first_name.into(),
            username: None,
            consent: Some(true),
            consent_at: Some(at()),
            state: crate::store::State::Ready,
            created_at: at(),
            updated_at: at(),
        }
    }

    fn escalation() -> Escalation {
        Escalation {
            id: ReportId(9),
            client_id: ClientId(1),
            level: "urgent".into(),
            status: EscalationStatus::Open,
            red_flags: vec!["pus".into()],
            first_message_id: 1,
            opened_at: at(),
            alerted_at: None,
            acknowledged_by_id: None,
            acknowledged_by_name: None,
            acknowledged_at: None,
            resolved_by_id: None,
            resolved_by_name: None,
            resolved_at: None,
            last_alert_at: None,
            reminder_count: 0,
        }
    }

    fn message(id: i64, text: &str) -> StoredMessage {
        StoredMessage {
            id,
            client_id: ClientId(1),
            direction: Direction::In,
            telegram_message_id: Some(id),
            kind: MessageKind::Text,
            text: Some(text.into()),
            photo_file_id: None,
            triage: None,
            escalation_id: Some(ReportId(9)),
            created_at: at(),
        }
    }

    fn alert(client: &Client, messages: &[StoredMessage]) -> String {
        let today = at().date_naive();
        alert_text(&escalation(), client, None, today, messages, 0, Tz::UTC)
    }

    #[test]
    fn an_alert_says_in_one_line_why_the_level_was_chosen() {
        let today = at().date_naive();
        let why = |report: &Escalation, messages: &[StoredMessage]| -> Vec<String> {
            alert_text(report, &client("Jane"), None, today, messages, 0, Tz::UTC)
                .lines()
                .filter(|l| l.starts_with("Why "))
                .map(String::from)
                .collect()
        };
        assert_eq!(why(&escalation(), &[]), ["Why urgent: red flags: pus"]);
        let mut topic = escalation();
        topic.red_flags.clear();
        let mut reported = message(1, "my eye is really sore");
        reported.triage = Some(crate::store::TriageRecord {
            intent: Some("eye-symptoms".into()),
            category: "abnormal-reaction".into(),
            escalation: "urgent".into(),
            confidence: 1.0,
            red_flags: Vec::new(),
        });
        assert_eq!(
            why(&topic, &[reported]),
            ["Why urgent: the message reports \"eye-symptoms\" (a match of 1.00)"]
        );
        let mut photo = message(2, "");
        photo.text = None;
        photo.photo_file_id = Some("file".into());
        let mut routine = escalation();
        routine.level = "routine".into();
        routine.red_flags.clear();
        assert_eq!(
            why(&routine, &[photo]),
            ["Why routine: a photo (photos always go to staff)"]
        );
        assert!(why(&topic, &[]).is_empty(), "no reason is made up");
    }

    #[test]
    fn an_alert_names_each_red_flag_once() {
        let mut report = escalation();
        report.red_flags = vec![
            "yellow or honey-coloured crust".into(),
            "pus".into(),
            "yellow or honey-coloured crust".into(),
        ];
        let today = at().date_naive();
        let text = alert_text(&report, &client("Jane"), None, today, &[], 0, Tz::UTC);
        assert!(
            text.contains("Why urgent: red flags: yellow or honey-coloured crust; pus\n"),
            "{text}"
        );
    }

    #[test]
    fn a_client_cannot_forge_the_bots_own_lines() {
        let forged = "pus on my chin\nStatus: ✅ acknowledged by Nurse Ann at Mon 01 Dec 10:00";
        let text = alert(&client("Jane\nStatus: ✔️ resolved"), &[message(1, forged)]);
        let status_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("Status:")).collect();
        assert_eq!(
            status_lines,
            ["Status: OPEN since Mon 24 Nov 16:00"],
            "{text}"
        );
        assert!(
            text.contains("│ Status: ✅ acknowledged by Nurse Ann"),
            "{text}"
        );
        assert!(
            text.contains("Client: Jane ⏎ Status: ✔️ resolved"),
            "{text}"
        );
        let followup = followup_text(&client("Jane"), &message(2, forged), Tz::UTC);
        assert!(
            !followup.lines().any(|l| l.starts_with("Status:")),
            "{followup}"
        );
        let list = history(&client("Jane"), &[message(3, forged)], Tz::UTC);
        assert_eq!(list.lines().count(), 2, "one line per message: {list}");
    }

    #[test]
    fn an_alert_shows_long_messages_and_stays_within_telegrams_limit() {
        let long = "my cheek is swollen and hot ".repeat(120);
        let one = alert(&client("Jane"), &[message(1, &long)]);
        assert!(
            one.contains(long.trim_end()),
            "a 3,360-character report is shown whole"
        );
        let many: Vec<StoredMessage> = (1..=7).map(|i| message(i, &long)).collect();
        let text = alert(&client("Jane"), &many);
        assert!(text.encode_utf16().count() <= 4096, "{}", text.len());
        assert!(text.contains("… and 2 more message(s) below."));
    }
}
