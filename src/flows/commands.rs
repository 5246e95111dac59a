//! The commands clients and staff type, each read in one place, and the menus Telegram shows for them.

use super::texts::Key;

/// A command in a client's private chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCommand {
    /// Start, or see the welcome again.
    Start,
    /// Started from a clinic's start link: `/start <token>` (the token is checked when decided).
    StartWithLink(String),
    /// Set or change the treatment date.
    Treatment,
    Help,
    /// Delete everything stored about the client (after a confirmation).
    Forget,
    /// `/reminders on`, `/reminders off`: the care timeline's messages; `None` (no or another argument) asks how
    /// it stands.
    Reminders(Option<bool>),
    /// One of the staff's commands: not for clients.
    StaffOnly,
    /// Not a command of the bot's; it may still be a report ("/ my face is swollen").
    Unknown,
}

impl ClientCommand {
    /// The client's commands in Telegram's menu: (command, its description in `messages.toml`).
    pub const MENU: [(&'static str, Key); 5] = [
        ("start", Key::MenuStart),
        ("treatment", Key::MenuTreatment),
        ("help", Key::MenuHelp),
        ("reminders", Key::MenuReminders),
        ("forget", Key::MenuForget),
    ];

    /// Reads a message that starts with '/'.
    pub fn parse(text: &str) -> ClientCommand {
        match command_name(text).as_str() {
            "/start" => match command_argument(text) {
                token if looks_like_a_link_token(token) => {
                    ClientCommand::StartWithLink(token.to_string())
                }
                _ => ClientCommand::Start,
            },
            "/treatment" => ClientCommand::Treatment,
            "/help" => ClientCommand::Help,
            "/forget" => ClientCommand::Forget,
            "/reminders" => {
                ClientCommand::Reminders(match command_argument(text).to_lowercase().as_str() {
                    "on" | "yes" | "start" => Some(true),
                    "off" | "no" | "stop" => Some(false),
                    _ => None,
                })
            }
            _ if StaffCommand::parse(text).is_some() => ClientCommand::StaffOnly,
            _ => ClientCommand::Unknown,
        }
    }
}

/// A command in the staff chat, from a member of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffCommand {
    /// The reports not yet resolved.
    Open,
    /// A client's messages; the argument is a name, @username or Telegram id (empty when none was given).
    History(String),
    /// Questions without a curated answer.
    Unanswered,
    /// The last 7 days in numbers.
    Stats,
    /// `/link <date>`: a start link for a client treated on that date (the argument as typed).
    Link(String),
    /// The care timeline's messages due today and tomorrow.
    Due,
    /// `/report [date]`: the weekly picture of the week of that date (the argument as typed; empty: last week).
    Report(String),
    /// `/help` or `/start`.
    Help,
}

impl StaffCommand {
    /// The staff's commands in Telegram's menu (in the staff chat): (command, its description).
    pub const MENU: [(&'static str, Key); 7] = [
        ("open", Key::MenuOpen),
        ("link", Key::MenuLink),
        ("history", Key::MenuHistory),
        ("unanswered", Key::MenuUnanswered),
        ("due", Key::MenuDue),
        ("stats", Key::MenuStats),
        ("report", Key::MenuReport),
    ];

    /// Reads a message that starts with '/'; `None` for anything that is not a staff command.
    pub fn parse(text: &str) -> Option<StaffCommand> {
        Some(match command_name(text).as_str() {
            "/open" => StaffCommand::Open,
            "/history" => StaffCommand::History(
                text.split_whitespace()
                    .skip(1)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            "/unanswered" => StaffCommand::Unanswered,
            "/stats" => StaffCommand::Stats,
            "/due" => StaffCommand::Due,
            "/link" => StaffCommand::Link(command_argument(text).to_string()),
            "/report" => StaffCommand::Report(command_argument(text).to_string()),
            "/help" | "/start" => StaffCommand::Help,
            _ => return None,
        })
    }
}

/// "/History@aftercare_bot jane" → "/history": Telegram appends the bot's name in groups.
/// What follows a command's name: "/treatment 19/11" gives "19/11".
/// What Telegram sends after `/start` from a start link: `A-Za-z0-9_-` only, and long enough to be one of ours.
fn looks_like_a_link_token(text: &str) -> bool {
    (20..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub fn command_argument(text: &str) -> &str {
    let text = text.trim_start();
    text.split_once(char::is_whitespace)
        .map_or("", |(_, rest)| rest.trim())
}

fn command_name(text: &str) -> String {
    let first = text.split_whitespace().next().unwrap_or_default();
    first.split('@').next().unwrap_or_default().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_ignore_case_arguments_and_the_bots_name() {
        assert_eq!(command_name("/History@aftercare_bot jane"), "/history");
        assert_eq!(command_name("  /open  "), "/open");
        assert_eq!(command_name(""), "");
    }

    #[test]
    fn a_commands_argument_is_what_follows_its_name() {
        assert_eq!(command_argument("/treatment 19/11"), "19/11");
        assert_eq!(
            command_argument("  /treatment@aftercare_bot   3 days ago "),
            "3 days ago"
        );
        assert_eq!(command_argument("/treatment"), "");
    }

    #[test]
    fn client_commands_are_read_once() {
        assert_eq!(ClientCommand::parse("/start"), ClientCommand::Start);
        assert_eq!(ClientCommand::parse("/start please"), ClientCommand::Start);
        assert_eq!(
            ClientCommand::parse("/start AWFRBgcICQoLDA0ODxAREhMUFRYXGBka"),
            ClientCommand::StartWithLink("AWFRBgcICQoLDA0ODxAREhMUFRYXGBka".into())
        );
        assert_eq!(
            ClientCommand::parse("/Treatment@aftercare_bot"),
            ClientCommand::Treatment
        );
        assert_eq!(ClientCommand::parse("/help me"), ClientCommand::Help);
        assert_eq!(ClientCommand::parse("/forget"), ClientCommand::Forget);
        assert_eq!(
            ClientCommand::parse("/reminders OFF"),
            ClientCommand::Reminders(Some(false))
        );
        assert_eq!(
            ClientCommand::parse("/reminders on"),
            ClientCommand::Reminders(Some(true))
        );
        assert_eq!(
            ClientCommand::parse("/reminders"),
            ClientCommand::Reminders(None)
        );
        assert_eq!(
            ClientCommand::parse("/reminders maybe later"),
            ClientCommand::Reminders(None)
        );
        for staff in ["/open", "/history jane", "/unanswered", "/stats", "/due"] {
            assert_eq!(
                ClientCommand::parse(staff),
                ClientCommand::StaffOnly,
                "{staff}"
            );
        }
        for unknown in ["/", "/ my face is swollen", "/starts", "/quit", "start"] {
            assert_eq!(
                ClientCommand::parse(unknown),
                ClientCommand::Unknown,
                "{unknown}"
            );
        }
    }

    #[test]
    fn staff_commands_are_read_once_with_their_argument() {
        assert_eq!(StaffCommand::parse("/open"), Some(StaffCommand::Open));
        assert_eq!(
            StaffCommand::parse("/history@aftercare_bot  Jane   Doe "),
            Some(StaffCommand::History("Jane Doe".into()))
        );
        assert_eq!(
            StaffCommand::parse("/history"),
            Some(StaffCommand::History(String::new()))
        );
        assert_eq!(StaffCommand::parse("/STATS"), Some(StaffCommand::Stats));
        assert_eq!(StaffCommand::parse("/start"), Some(StaffCommand::Help));
        assert_eq!(StaffCommand::parse("/forget"), None);
        assert_eq!(StaffCommand::parse("/"), None);
    }

    #[test]
    fn every_command_in_the_menus_is_understood() {
        for (name, _) in ClientCommand::MENU {
            let command = ClientCommand::parse(&format!("/{name}"));
            assert!(
                !matches!(command, ClientCommand::Unknown | ClientCommand::StaffOnly),
                "{name}"
            );
        }
        for (name, _) in StaffCommand::MENU {
            assert!(StaffCommand::parse(&format!("/{name}")).is_some(), "{name}");
        }
    }
}
