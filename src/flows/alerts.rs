//! What staff read: alerts, their updates, and the answers to staff commands. Plain text (no markup to escape).

use crate::store::{Client, Direction, Escalation, EscalationStatus, Stats, StoredMessage};
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

fn who(client: &Client) -> String {
    match &client.username {
        Some(u) => format!("{} (@{u})", client.first_name),
        None => format!(
            "{} (no @username; Telegram id {})",
            client.first_name, client.telegram_user_id
        ),
    }
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
    if !escalation.red_flags.is_empty() {
        text.push_str(&format!("Red flags: {}\n", escalation.red_flags.join("; ")));
    }
    let inbound: Vec<&StoredMessage> = messages
        .iter()
        .filter(|m| m.direction == Direction::In && m.escalation_id == Some(escalation.id))
        .collect();
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
            "[{}] \"{}\"{photo}\n",
            local(m.created_at, zone),
            clip(body, 600)
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

/// The buttons an alert shows in its current state: rows of (label, callback data).
pub fn alert_buttons(escalation: &Escalation) -> Vec<Vec<(String, String)>> {
    let id = escalation.id;
    match escalation.status {
        EscalationStatus::Open => vec![vec![
            ("✅ Acknowledge".into(), format!("ack:{id}")),
            ("✔️ Resolve".into(), format!("res:{id}")),
        ]],
        EscalationStatus::Acknowledged => vec![vec![("✔️ Resolve".into(), format!("res:{id}"))]],
        EscalationStatus::Resolved => Vec::new(),
    }
}

pub fn followup_text(client: &Client, message: &StoredMessage, zone: Tz) -> String {
    format!(
        "➕ {} added at {}:\n\"{}\"",
        client.first_name,
        local(message.created_at, zone),
        clip(message.text.as_deref().unwrap_or("(no text)"), 1500)
    )
}

pub fn photo_caption(client: &Client, caption: Option<&str>, escalation_id: i64) -> String {
    match caption {
        Some(c) => format!(
            "📷 Photo from {} (report #{escalation_id}): \"{}\"",
            who(client),
            clip(c, 800)
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
            clip(body, 200)
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
            c.first_name,
            clip(m.text.as_deref().unwrap_or_default(), 200)
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
