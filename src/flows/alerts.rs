//! What staff read: alerts, their updates, and the answers to staff commands. Plain text (no markup to escape).
//! The words and the date formats are the clinic's, in `messages.toml`; the layout's safety is kept here.
//!
//! A client's words are always set apart, so that they can never pass for the bot's own lines (a client could
//! otherwise type "Status: ✅ acknowledged by …" on a line of its own): in alerts every line of theirs starts with
//! [`QUOTE`], in one-line lists their line breaks are shown as " ⏎ ", and names are kept on one line.

use super::texts::{Key, Texts};
use super::{Button, Buttons};
use crate::engine::messages::QUOTE;
use crate::store::{
    Client, Direction, Escalation, EscalationStatus, ReportId, Stats, StoredMessage,
};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// Characters of a client's words shown in one alert, shared by its messages: the alert stays within
/// Telegram's 4,096 characters, header and status included.
const ALERT_WORDS: usize = 3_400;

/// Messages of a report shown in its alert; the others are counted.
const ALERT_MESSAGES: usize = 5;

/// The texts that name a report's number, for reading it back from a copy of one of them.
const NAMING_THE_REPORT: [Key; 4] = [
    Key::AlertHeading,
    Key::PhotoFrom,
    Key::PhotoFromWithCaption,
    Key::ClientUnreachable,
];

/// Whether a line of a staff message is a client's words (quoted), not the bot's.
pub fn is_client_line(line: &str) -> bool {
    line.starts_with(QUOTE)
}

/// The report a copy of the bot's staff message names ("🔴 URGENT — report #12", "📷 Photo from … (report
/// #12)"), read with the words around `{report}` in the texts that name one. Only the bot's own lines count (a
/// client's quoted words could say "report #5" too), and on a line the last match, since the client's name comes
/// before the number in the shipped texts.
pub fn report_named(texts: &Texts, text: &str) -> Option<ReportId> {
    let markers: Vec<(&str, &str)> = NAMING_THE_REPORT
        .iter()
        .filter_map(|key| around_report(texts.template(*key)))
        .collect();
    text.lines()
        .filter(|line| !is_client_line(line))
        .find_map(|line| {
            markers
                .iter()
                .find_map(|(before, after)| last_number_between(line, before, after))
        })
}

/// The words just before and just after `{report}` on its line of a template, up to the placeholders next to it.
fn around_report(template: &str) -> Option<(&str, &str)> {
    let (start, end) = template.split_once("{report}")?;
    let before = &start[start.rfind(['}', '\n']).map_or(0, |at| at + 1)..];
    let after = &end[..end.find(['{', '\n']).unwrap_or(end.len())];
    Some((before, after))
}

/// The last number on `line` that follows `before` and is followed by `after`.
fn last_number_between(line: &str, before: &str, after: &str) -> Option<ReportId> {
    let starts: Vec<usize> = if before.is_empty() {
        vec![0]
    } else {
        line.match_indices(before)
            .map(|(at, _)| at + before.len())
            .collect()
    };
    starts.into_iter().rev().find_map(|start| {
        let rest = &line[start..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || !rest[digits..].starts_with(after) {
            return None;
        }
        rest[..digits].parse().ok().map(ReportId)
    })
}

/// A client's words on one quoted line, clipped to `max_chars`: for lists of them (the weekly picture's
/// questions).
pub fn quoted_line(text: &str, max_chars: usize) -> String {
    format!("{QUOTE}{}", clip(&one_line(text), max_chars))
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

fn clip(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max_chars).collect::<String>())
    }
}

/// The most lines `/due` lists: Telegram takes 4,096 characters.
const MAX_DUE_LINES: usize = 60;

/// What staff read, in the clinic's words (`messages.toml`) and its time zone.
#[derive(Clone, Copy)]
pub struct StaffWords<'a> {
    texts: &'a Texts,
    zone: Tz,
}

impl<'a> StaffWords<'a> {
    pub fn new(texts: &'a Texts, zone: Tz) -> StaffWords<'a> {
        StaffWords { texts, zone }
    }

    fn get(&self, key: Key) -> String {
        self.texts.get(key)
    }

    fn fill(&self, key: Key, args: &[(&str, &str)]) -> String {
        self.texts.fill(key, args)
    }

    /// An instant in the clinic's time zone ("Mon 01 Dec 10:00").
    fn local(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.zone)
            .format(self.texts.template(Key::TimeFormat))
            .to_string()
    }

    /// A client as staff see them: their name on one line, and how to find them in Telegram.
    fn who(&self, client: &Client) -> String {
        let name = one_line(&client.first_name);
        match &client.username {
            Some(username) => self.fill(
                Key::ClientWithUsername,
                &[("first_name", &name), ("username", &one_line(username))],
            ),
            None => self.fill(
                Key::ClientWithoutUsername,
                &[
                    ("first_name", &name),
                    ("telegram_id", &client.telegram_user_id.to_string()),
                ],
            ),
        }
    }

    /// A staff member's name, or the clinic's word for someone on the staff when it is not known.
    fn staff(&self, name: Option<&str>) -> String {
        name.map_or_else(|| self.get(Key::SomeoneOnStaff), one_line)
    }

    /// Told to staff, on one line, when a send to a client about a report was given up: the client could not be
    /// reached (the words that were not delivered are not repeated).
    pub fn client_unreachable(
        &self,
        client: &Client,
        report: ReportId,
        queued_at: DateTime<Utc>,
        error: &str,
    ) -> String {
        self.fill(
            Key::ClientUnreachable,
            &[
                ("client", &self.who(client)),
                ("report", &report.to_string()),
                ("time", &self.local(queued_at)),
                ("error", &one_line(error)),
            ],
        )
    }

    /// The alert text for an escalation; `reminder` is the reminder round (0 for the first alert).
    pub fn alert_text(
        &self,
        escalation: &Escalation,
        client: &Client,
        treated_on: Option<NaiveDate>,
        today: NaiveDate,
        messages: &[StoredMessage],
        reminder: i64,
    ) -> String {
        let mut lines = Vec::new();
        if reminder > 0 {
            let round = reminder.to_string();
            lines.push(self.fill(Key::AlertReminder, &[("round", &round)]));
        }
        let heading = self.get(match escalation.level.as_str() {
            "emergency" => Key::LevelEmergency,
            "urgent" => Key::LevelUrgent,
            _ => Key::LevelRoutine,
        });
        lines.push(self.fill(
            Key::AlertHeading,
            &[
                ("heading", &heading),
                ("report", &escalation.id.to_string()),
            ],
        ));
        lines.push(self.fill(Key::AlertClient, &[("client", &self.who(client))]));
        lines.push(match treated_on {
            Some(date) => self.fill(
                Key::AlertDay,
                &[
                    ("day", &(today - date).num_days().to_string()),
                    (
                        "date",
                        &date
                            .format(self.texts.template(Key::ShortDateFormat))
                            .to_string(),
                    ),
                ],
            ),
            None => self.get(Key::AlertDayUnknown),
        });
        let inbound: Vec<&StoredMessage> = messages
            .iter()
            .filter(|m| m.direction == Direction::In && m.escalation_id == Some(escalation.id))
            .collect();
        if let Some(reason) = self.why_level(escalation, &inbound) {
            let level = escalation.level.as_str();
            lines.push(self.fill(Key::AlertWhy, &[("level", level), ("reason", &reason)]));
        }
        let shown = inbound.len().min(ALERT_MESSAGES);
        for m in inbound.iter().take(ALERT_MESSAGES) {
            let key = if m.photo_file_id.is_some() && m.text.is_some() {
                Key::AlertPhotoMessage
            } else {
                Key::AlertMessage
            };
            lines.push(self.fill(key, &[("time", &self.local(m.created_at))]));
            let body = match (&m.text, &m.photo_file_id) {
                (Some(text), _) => text.clone(),
                (None, Some(_)) => self.get(Key::PhotoWithoutWords),
                (None, None) => String::new(),
            };
            lines.push(quoted(&body, ALERT_WORDS / shown.max(1)));
        }
        if inbound.len() > ALERT_MESSAGES {
            let more = (inbound.len() - ALERT_MESSAGES).to_string();
            lines.push(self.fill(Key::AlertMore, &[("count", &more)]));
        }
        lines.push(self.status_line(escalation));
        lines.push(self.get(Key::AlertReplyHint));
        lines.join("\n")
    }

    /// Why the report has its level, in one line: its red flags in the clinic's words, each once however many
    /// messages found it; without one, what the first message that called for the level was (a topic the client
    /// reports, or a description of their skin nothing curated answers), or a photo.
    fn why_level(&self, escalation: &Escalation, inbound: &[&StoredMessage]) -> Option<String> {
        let mut named: Vec<&str> = Vec::new();
        for flag in &escalation.red_flags {
            if !named.contains(&flag.as_str()) {
                named.push(flag);
            }
        }
        if !named.is_empty() {
            return Some(self.fill(Key::WhyRedFlags, &[("flags", &named.join("; "))]));
        }
        let decided = inbound.iter().find_map(|m| {
            m.triage
                .as_ref()
                .filter(|t| t.escalation == escalation.level)
        });
        Some(match decided {
            Some(triage) => match &triage.intent {
                Some(topic) => self.fill(
                    Key::WhyTopic,
                    &[
                        ("topic", topic),
                        ("confidence", &format!("{:.2}", triage.confidence)),
                    ],
                ),
                None => self.get(Key::WhyUncurated),
            },
            None if inbound.iter().any(|m| m.photo_file_id.is_some()) => self.get(Key::WhyPhoto),
            None => return None,
        })
    }

    /// The alert's last line but one: where the report stands, and since when.
    pub fn status_line(&self, escalation: &Escalation) -> String {
        let at = |t: Option<DateTime<Utc>>| t.map_or(String::new(), |t| self.local(t));
        match escalation.status {
            EscalationStatus::Open => self.fill(
                Key::StatusOpen,
                &[("time", &self.local(escalation.opened_at))],
            ),
            EscalationStatus::Acknowledged => self.fill(
                Key::StatusAcknowledged,
                &[
                    (
                        "staff",
                        &self.staff(escalation.acknowledged_by_name.as_deref()),
                    ),
                    ("time", &at(escalation.acknowledged_at)),
                ],
            ),
            EscalationStatus::Resolved => self.fill(
                Key::StatusResolved,
                &[
                    ("staff", &self.staff(escalation.resolved_by_name.as_deref())),
                    ("time", &at(escalation.resolved_at)),
                ],
            ),
        }
    }

    /// The buttons an alert shows in its current state.
    pub fn alert_buttons(&self, escalation: &Escalation) -> Buttons {
        let id = escalation.id;
        let resolve = (self.get(Key::ResolveButton), Button::Resolve(id));
        match escalation.status {
            EscalationStatus::Open => vec![vec![
                (self.get(Key::AcknowledgeButton), Button::Acknowledge(id)),
                resolve,
            ]],
            EscalationStatus::Acknowledged => vec![vec![resolve]],
            EscalationStatus::Resolved => Vec::new(),
        }
    }

    /// A client's further message about a report, under its alert.
    pub fn followup_text(&self, client: &Client, message: &StoredMessage) -> String {
        let words = message
            .text
            .clone()
            .unwrap_or_else(|| self.get(Key::NoText));
        self.fill(
            Key::Followup,
            &[
                ("first_name", &one_line(&client.first_name)),
                ("time", &self.local(message.created_at)),
                ("text", &quoted(&words, ALERT_WORDS)),
            ],
        )
    }

    /// A client's photo about a report, under its alert.
    pub fn photo_caption(
        &self,
        client: &Client,
        caption: Option<&str>,
        escalation_id: ReportId,
    ) -> String {
        let (who, report) = (self.who(client), escalation_id.to_string());
        match caption {
            Some(caption) => self.fill(
                Key::PhotoFromWithCaption,
                &[
                    ("client", &who),
                    ("report", &report),
                    ("caption", &quoted(caption, 800)),
                ],
            ),
            None => self.fill(Key::PhotoFrom, &[("client", &who), ("report", &report)]),
        }
    }

    /// `/open`: the reports not yet resolved.
    pub fn open_list(&self, open: &[(Escalation, Client)]) -> String {
        if open.is_empty() {
            return self.get(Key::NoOpenReports);
        }
        let count = open.len().to_string();
        let mut lines = vec![self.fill(Key::OpenReports, &[("count", &count)])];
        for (e, c) in open {
            let status = match e.status {
                EscalationStatus::Acknowledged => self.fill(
                    Key::OpenAcknowledged,
                    &[("staff", &self.staff(e.acknowledged_by_name.as_deref()))],
                ),
                _ => self.get(Key::OpenNotAcknowledged),
            };
            lines.push(self.fill(
                Key::OpenReport,
                &[
                    ("report", &e.id.to_string()),
                    ("level", &e.level.to_uppercase()),
                    ("client", &self.who(c)),
                    ("time", &self.local(e.opened_at)),
                    ("status", &status),
                ],
            ));
        }
        list(lines)
    }

    /// `/history`: a client's messages, one line each.
    pub fn history(&self, client: &Client, messages: &[StoredMessage]) -> String {
        let count = messages.len().to_string();
        let mut lines = vec![self.fill(
            Key::History,
            &[("client", &self.who(client)), ("count", &count)],
        )];
        for m in messages {
            let arrow = self.get(if m.direction == Direction::In {
                Key::FromClient
            } else {
                Key::ToClient
            });
            let time = self.local(m.created_at);
            let text = one_line(&clip(m.text.as_deref().unwrap_or(m.kind.as_str()), 200));
            let mut args = vec![("time", time.as_str()), ("arrow", &arrow), ("text", &text)];
            let level = m.triage.as_ref().filter(|t| t.escalation != "none");
            let key = match level {
                Some(triage) => {
                    args.push(("level", &triage.escalation));
                    Key::HistoryMessageLevel
                }
                None => Key::HistoryMessage,
            };
            lines.push(self.fill(key, &args));
        }
        list(lines)
    }

    /// `/history` when several clients match.
    pub fn client_choices(&self, clients: &[Client]) -> String {
        let mut lines = vec![self.get(Key::ClientChoices)];
        for c in clients {
            lines.push(self.fill(
                Key::ClientChoice,
                &[
                    ("client", &self.who(c)),
                    ("telegram_id", &c.telegram_user_id.to_string()),
                ],
            ));
        }
        list(lines)
    }

    /// `/unanswered`: the questions nothing curated answered.
    pub fn unanswered(&self, items: &[(StoredMessage, Client)]) -> String {
        if items.is_empty() {
            return self.get(Key::NoUnanswered);
        }
        let mut lines = vec![self.get(Key::Unanswered)];
        for (m, c) in items {
            lines.push(self.fill(
                Key::UnansweredQuestion,
                &[
                    ("time", &self.local(m.created_at)),
                    ("first_name", &one_line(&c.first_name)),
                    (
                        "text",
                        &one_line(&clip(m.text.as_deref().unwrap_or_default(), 200)),
                    ),
                ],
            ));
        }
        list(lines)
    }

    /// `/stats`: the last 7 days in numbers.
    /// `/due`: the care timeline's messages due today and tomorrow, at most [`MAX_DUE_LINES`] of them.
    pub fn due(&self, due: &[(DateTime<Utc>, &str, String)]) -> String {
        if due.is_empty() {
            return self.get(Key::NothingDue);
        }
        let mut lines = vec![self.fill(Key::Due, &[("count", &due.len().to_string())])];
        lines.extend(due.iter().take(MAX_DUE_LINES).map(|(at, client, step)| {
            self.fill(
                Key::DueStep,
                &[
                    ("time", &self.local(*at)),
                    ("client", client),
                    ("step", step),
                ],
            )
        }));
        if due.len() > MAX_DUE_LINES {
            lines.push(self.fill(
                Key::AlertMore,
                &[("count", &(due.len() - MAX_DUE_LINES).to_string())],
            ));
        }
        lines.join("\n")
    }

    /// `/stats`: the last week's activity, the care timeline's, and how much content is due for clinical review.
    pub fn stats(&self, stats: &Stats, reviews_due: usize) -> String {
        let reports = if stats.escalations_by_level.is_empty() {
            self.get(Key::StatsNoReports)
        } else {
            stats
                .escalations_by_level
                .iter()
                .map(|(level, n)| {
                    self.fill(
                        Key::StatsLevel,
                        &[("level", level), ("count", &n.to_string())],
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let median = stats.median_minutes_to_ack.map_or_else(
            || self.get(Key::StatsNoMedian),
            |m| self.fill(Key::StatsMedian, &[("minutes", &format!("{m:.0}"))]),
        );
        let activity = self.fill(
            Key::Stats,
            &[
                ("clients", &stats.clients.to_string()),
                ("messages", &stats.inbound_messages.to_string()),
                ("reports", &reports),
                ("open", &stats.open_escalations.to_string()),
                ("median", &median),
            ],
        );
        let care = self.fill(
            Key::StatsCare,
            &[
                ("sent", &stats.care.sent.to_string()),
                ("fine", &stats.care.all_fine.to_string()),
                ("reports", &stats.care.followed_by_report.to_string()),
            ],
        );
        if reviews_due == 0 {
            return format!("{activity}\n{care}");
        }
        let reviews = self.fill(Key::StatsReviews, &[("count", &reviews_due.to_string())]);
        format!("{activity}\n{care}\n{reviews}")
    }
}

/// A staff command's answer: its heading and its lines, each ending the line.
fn list(lines: Vec<String>) -> String {
    lines.into_iter().map(|line| line + "\n").collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::load::{embedded_sources, parse};
    use crate::store::ClientId;
    use crate::store::MessageKind;
    use std::collections::HashMap;
    use std::sync::LazyLock;

    /// The shipped `messages.toml`, as written.
    fn shipped() -> HashMap<Key, String> {
        parse(&embedded_sources())
            .expect("shipped intents")
            .messages
    }

    static TEXTS: LazyLock<Texts> =
        LazyLock::new(|| Texts::new(&crate::engine::Clinic::default(), shipped()));

    fn words() -> StaffWords<'static> {
        StaffWords::new(&TEXTS, Tz::UTC)
    }

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
            care_messages: true,
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
        words().alert_text(&escalation(), client, None, today, messages, 0)
    }

    #[test]
    fn an_alert_says_in_one_line_why_the_level_was_chosen() {
        let today = at().date_naive();
        let why = |report: &Escalation, messages: &[StoredMessage]| -> Vec<String> {
            words()
                .alert_text(report, &client("Jane"), None, today, messages, 0)
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
        let text = words().alert_text(&report, &client("Jane"), None, today, &[], 0);
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
        let followup = words().followup_text(&client("Jane"), &message(2, forged));
        assert!(
            !followup.lines().any(|l| l.starts_with("Status:")),
            "{followup}"
        );
        let list = words().history(&client("Jane"), &[message(3, forged)]);
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

    #[test]
    fn the_report_is_read_back_from_the_clinics_own_wording() {
        let mut templates = shipped();
        templates.insert(Key::AlertHeading, "Report {report} ({heading})".into());
        let texts = Texts::new(&crate::engine::Clinic::default(), templates);
        let alert = StaffWords::new(&texts, Tz::UTC).alert_text(
            &escalation(),
            &client("Jane"),
            None,
            at().date_naive(),
            &[message(1, "Report 5 (pus)")],
            0,
        );
        assert!(alert.starts_with("Report 9 (🔴 URGENT)\n"), "{alert}");
        assert_eq!(report_named(&texts, &alert), Some(ReportId(9)));
        assert_eq!(
            report_named(&TEXTS, &alert),
            None,
            "the shipped words are not looked for"
        );
        // A name that imitates the words around the number comes before it.
        let forged = words().photo_caption(&client("Jane (report #5)"), None, ReportId(7));
        assert_eq!(report_named(&TEXTS, &forged), Some(ReportId(7)), "{forged}");
    }

    #[test]
    fn staff_texts_read_as_the_shipped_words_say() {
        let mut jane = client("Jane");
        let report = escalation();
        let today = at().date_naive();
        let treated = today - chrono::Duration::days(3);
        let mut photo = message(2, "");
        photo.text = None;
        photo.photo_file_id = Some("file".into());
        let alert = words().alert_text(
            &report,
            &jane,
            Some(treated),
            today,
            &[message(1, "pus"), photo],
            2,
        );
        assert_eq!(
            alert,
            "⏰ REMINDER 2: not acknowledged yet\n🔴 URGENT — report #9\n\
             Client: Jane (no @username; Telegram id 77)\nDay since treatment: 3 (treated 21 Nov)\n\
             Why urgent: red flags: pus\n[Mon 24 Nov 16:00]\n│ pus\n[Mon 24 Nov 16:00]\n│ (photo)\n\
             Status: OPEN since Mon 24 Nov 16:00\nReply to this message to answer the client."
        );
        jane.username = Some("jane".into());
        let mut acknowledged = escalation();
        acknowledged.status = EscalationStatus::Acknowledged;
        acknowledged.acknowledged_by_name = Some("Ann (@nurse_ann)".into());
        acknowledged.acknowledged_at = Some(at());
        assert_eq!(
            words().status_line(&acknowledged),
            "Status: ✅ acknowledged by Ann (@nurse_ann) at Mon 24 Nov 16:00"
        );
        let buttons = words().alert_buttons(&acknowledged);
        assert_eq!(
            buttons,
            vec![vec![(
                "✔️ Resolve".to_string(),
                Button::Resolve(ReportId(9))
            )]]
        );
        assert_eq!(
            words().open_list(&[(acknowledged, jane.clone())]),
            "1 open report(s):\n#9 URGENT — Jane (@jane) — opened Mon 24 Nov 16:00 — acknowledged by Ann (@nurse_ann)\n"
        );
        assert_eq!(words().open_list(&[]), "No open reports.");
        assert_eq!(
            words().client_unreachable(&jane, ReportId(9), at(), "blocked\nby user"),
            "⚠️ Jane (@jane) could not be reached: a message about report #9 queued Mon 24 Nov 16:00 was not \
             delivered (blocked ⏎ by user). Please contact them another way."
        );
        assert_eq!(
            words().photo_caption(&jane, Some("my cheek"), ReportId(9)),
            "📷 Photo from Jane (@jane) (report #9):\n│ my cheek"
        );
        let stats = Stats {
            clients: 3,
            inbound_messages: 12,
            escalations_by_level: vec![("urgent".into(), 2), ("routine".into(), 1)],
            open_escalations: 1,
            median_minutes_to_ack: None,
            care: crate::store::CareStats {
                sent: 5,
                all_fine: 3,
                followed_by_report: 1,
            },
        };
        assert_eq!(
            words().stats(&stats, 0),
            "Last 7 days: 3 new client(s), 12 message(s) from clients, reports: urgent 2, routine 1.\n\
             Open now: 1. Median time to acknowledge: n/a.\n\
             Check-ins and reminders sent: 5, answered all fine: 3, followed by a report within 2 days: 1."
        );
        assert!(words().stats(&stats, 77).ends_with(
            "\nContent due for clinical review: 77 intent(s); `aftercare check` lists them."
        ));
    }
}
