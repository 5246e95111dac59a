//! The bot's own words (`messages.toml`): every key the bot needs, the placeholders each may use besides the
//! clinic's, and [`Texts`], the one place that renders them. The flows reach them through `flows::texts`.

use super::model::Clinic;
use std::collections::HashMap;

/// Telegram's limit for one message, in characters.
pub const TELEGRAM_MAX_CHARS: usize = 4_096;

/// Starts every line of a client's words quoted in a staff message; the bot's own lines never start with it, so
/// a client's words can never pass for them.
pub const QUOTE: &str = "│ ";

/// Telegram's limit for a command's description in its menu, in characters.
pub const MENU_MAX_CHARS: usize = 256;

macro_rules! keys {
    ($($variant:ident = $key:literal [$($placeholder:literal),*]),* $(,)?) => {
        /// A text of `messages.toml`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Key {
            $($variant),*
        }

        impl Key {
            pub const ALL: &'static [Key] = &[$(Key::$variant),*];

            /// Its key in `messages.toml`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Key::$variant => $key),*
                }
            }

            /// The placeholders it may use besides the clinic's.
            pub fn placeholders(self) -> &'static [&'static str] {
                match self {
                    $(Key::$variant => &[$($placeholder),*]),*
                }
            }
        }
    };
}

keys! {
    // The engine's.
    Fallback = "fallback" [],
    Empty = "empty" [],
    EmergencyPreamble = "emergency_preamble" [],
    AskDay = "ask_day" [],
    // A newcomer: consent and the treatment date.
    Welcome = "welcome" ["first_name"],
    WelcomeBack = "welcome_back" ["first_name"],
    ConsentYes = "consent_yes" [],
    ConsentNo = "consent_no" [],
    ConsentThanks = "consent_thanks" [],
    NoConsent = "no_consent" [],
    AskDate = "ask_date" [],
    Today = "today" [],
    Yesterday = "yesterday" [],
    DateSaved = "date_saved" ["date", "day"],
    // Commands and buttons.
    Help = "help" [],
    ForgetConfirm = "forget_confirm" [],
    ForgetYes = "forget_yes" [],
    ForgetNo = "forget_no" [],
    Forgotten = "forgotten" [],
    NotForgotten = "not_forgotten" [],
    Unsupported = "unsupported" [],
    StaffOnly = "staff_only" [],
    UnknownCommand = "unknown_command" [],
    StaleButton = "stale_button" [],
    InvalidButton = "invalid_button" [],
    // The care timeline: the buttons under a check-in, their answers, and `/reminders`.
    CheckInFine = "check_in_fine" [],
    CheckInWorried = "check_in_worried" [],
    CheckInStop = "check_in_stop" [],
    CheckInFineThanks = "check_in_fine_thanks" [],
    CheckInWorriedAsk = "check_in_worried_ask" [],
    CareMessagesOff = "care_messages_off" [],
    CareMessagesOn = "care_messages_on" [],
    CareMessagesAreOn = "care_messages_are_on" [],
    CareMessagesAreOff = "care_messages_are_off" [],
    // Reports: what the client is told.
    NotPassedOn = "not_passed_on" [],
    CouldNotPassOn = "could_not_pass_on" [],
    Apology = "apology" [],
    PhotoNeedsConsent = "photo_needs_consent" [],
    AddedToOpen = "added_to_open" [],
    AddedPhotoToOpen = "added_photo_to_open" [],
    YourMessage = "your_message" [],
    YourPhoto = "your_photo" [],
    NextStepsEmergency = "next_steps_emergency" ["what"],
    NextStepsUrgentOpen = "next_steps_urgent_open" ["what"],
    NextStepsUrgentClosed = "next_steps_urgent_closed" ["what", "reopens"],
    NextStepsRoutineOpen = "next_steps_routine_open" ["what"],
    NextStepsRoutineClosed = "next_steps_routine_closed" ["what", "reopens"],
    NextWorkingDay = "next_working_day" [],
    AcknowledgedNotice = "acknowledged_notice" [],
    ResolvedNotice = "resolved_notice" [],
    Relayed = "relayed" ["staff_first_name", "text"],
    // Staff.
    StaffHelp = "staff_help" [],
    StaffChatOnly = "staff_chat_only" [],
    StaffButtonsOnly = "staff_buttons_only" [],
    NotAReport = "not_a_report" [],
    EscalationGone = "escalation_gone" [],
    AlreadyAcknowledged = "already_acknowledged" ["staff_first_name"],
    AlreadyResolved = "already_resolved" ["staff_first_name"],
    PressAcknowledged = "press_acknowledged" [],
    PressResolved = "press_resolved" [],
    SentToClient = "sent_to_client" ["first_name"],
    HistoryUsage = "history_usage" [],
    NoClientMatches = "no_client_matches" ["query"],
    StaffActionFailed = "staff_action_failed" ["error"],
    UpdateSetAside = "update_set_aside" ["first_name", "chat_id", "error"],
    UnnamedClient = "unnamed_client" [],
    // A treatment date that cannot be used.
    DateUnreadable = "date_unreadable" [],
    DateInFuture = "date_in_future" [],
    DateTooOld = "date_too_old" [],
    // Alerts: what staff read about a report.
    AlertReminder = "alert_reminder" ["round"],
    LevelEmergency = "level_emergency" [],
    LevelUrgent = "level_urgent" [],
    LevelRoutine = "level_routine" [],
    AlertHeading = "alert_heading" ["heading", "report"],
    AlertClient = "alert_client" ["client"],
    AlertDay = "alert_day" ["day", "date"],
    AlertDayUnknown = "alert_day_unknown" [],
    AlertWhy = "alert_why" ["level", "reason"],
    WhyRedFlags = "why_red_flags" ["flags"],
    WhyTopic = "why_topic" ["topic", "confidence"],
    WhyUncurated = "why_uncurated" [],
    WhyPhoto = "why_photo" [],
    AlertMessage = "alert_message" ["time"],
    AlertPhotoMessage = "alert_photo_message" ["time"],
    PhotoWithoutWords = "photo_without_words" [],
    AlertMore = "alert_more" ["count"],
    AlertReplyHint = "alert_reply_hint" [],
    StatusOpen = "status_open" ["time"],
    StatusAcknowledged = "status_acknowledged" ["staff", "time"],
    StatusResolved = "status_resolved" ["staff", "time"],
    SomeoneOnStaff = "someone_on_staff" [],
    AcknowledgeButton = "acknowledge_button" [],
    ResolveButton = "resolve_button" [],
    ClientWithUsername = "client_with_username" ["first_name", "username"],
    ClientWithoutUsername = "client_without_username" ["first_name", "telegram_id"],
    ClientUnreachable = "client_unreachable" ["client", "report", "time", "error"],
    IntentsRefused = "intents_refused" ["errors"],
    Followup = "followup" ["first_name", "time", "text"],
    NoText = "no_text" [],
    PhotoFrom = "photo_from" ["client", "report"],
    PhotoFromWithCaption = "photo_from_with_caption" ["client", "report", "caption"],
    // Staff commands' answers.
    NoOpenReports = "no_open_reports" [],
    OpenReports = "open_reports" ["count"],
    OpenReport = "open_report" ["report", "level", "client", "time", "status"],
    OpenNotAcknowledged = "open_not_acknowledged" [],
    OpenAcknowledged = "open_acknowledged" ["staff"],
    History = "history" ["client", "count"],
    HistoryMessage = "history_message" ["time", "arrow", "text"],
    HistoryMessageLevel = "history_message_level" ["time", "arrow", "text", "level"],
    FromClient = "from_client" [],
    ToClient = "to_client" [],
    ClientChoices = "client_choices" [],
    ClientChoice = "client_choice" ["client", "telegram_id"],
    NoUnanswered = "no_unanswered" [],
    Unanswered = "unanswered" [],
    UnansweredQuestion = "unanswered_question" ["time", "first_name", "text"],
    Stats = "stats" ["clients", "messages", "reports", "open", "median"],
    StatsLevel = "stats_level" ["level", "count"],
    StatsNoReports = "stats_no_reports" [],
    StatsMedian = "stats_median" ["minutes"],
    StatsNoMedian = "stats_no_median" [],
    StatsCare = "stats_care" ["sent", "fine", "reports"],
    StatsReviews = "stats_reviews" ["count"],
    WeeklySummary = "weekly_summary" ["week", "messages", "clients", "reports", "median", "slowest", "sent", "fine"],
    WeeklyUnanswered = "weekly_unanswered" ["questions"],
    NothingDue = "nothing_due" [],
    LinkInvalid = "link_invalid" [],
    LinkExpired = "link_expired" [],
    LinkUsed = "link_used" [],
    LinkMade = "link_made" ["date", "until", "link"],
    LinkUsage = "link_usage" [],
    LinksNotSetUp = "links_not_set_up" [],
    Due = "due" ["count"],
    DueStep = "due_step" ["time", "client", "step"],
    // Telegram's menu of commands.
    MenuStart = "menu_start" [],
    MenuTreatment = "menu_treatment" [],
    MenuHelp = "menu_help" [],
    MenuForget = "menu_forget" [],
    MenuReminders = "menu_reminders" [],
    MenuOpen = "menu_open" [],
    MenuHistory = "menu_history" [],
    MenuUnanswered = "menu_unanswered" [],
    MenuStats = "menu_stats" [],
    MenuDue = "menu_due" [],
    MenuReport = "menu_report" [],
    ReportUsage = "report_usage" [],
    MenuLink = "menu_link" [],
    // Date and time formats (chrono's strftime): no placeholders.
    TimeFormat = "time_format" [],
    ShortDateFormat = "short_date_format" [],
    LongDateFormat = "long_date_format" [],
    ReopensFormat = "reopens_format" [],
}

impl Key {
    pub fn from_name(name: &str) -> Option<Key> {
        Key::ALL.iter().copied().find(|key| key.name() == name)
    }

    /// A date or time format (chrono's strftime), not words: used as it is, with no placeholders.
    pub fn is_format(self) -> bool {
        self.name().ends_with("_format")
    }

    /// The most characters it may have once filled: a command's description in Telegram's menu takes 256.
    pub fn max_chars(self) -> usize {
        if self.name().starts_with("menu_") {
            MENU_MAX_CHARS
        } else {
            TELEGRAM_MAX_CHARS
        }
    }
}

/// Why a date or time format cannot be used, if it cannot: chrono would fail to render it.
pub fn format_problem(format: &str) -> Option<String> {
    use chrono::format::{Item, StrftimeItems};
    if format.contains('{') {
        return Some("a format takes no placeholders".into());
    }
    StrftimeItems::new(format)
        .any(|item| matches!(item, Item::Error))
        .then(|| format!("{format:?} is not a format chrono can render (see chrono's strftime)"))
}

/// The longest value a placeholder can take, for the length check: a clinic's settings as long as a clinic
/// would write them, Telegram's own limits for names, and nothing for words that are someone else's message
/// (`{text}`, sent in parts when it is long).
pub fn longest_value(placeholder: &str) -> usize {
    match placeholder {
        "first_name" | "staff_first_name" | "clinic_name" | "topic" | "username" => 64,
        "clinic_phone" | "chat_id" | "date" | "reopens" | "what" | "time" | "heading" => 40,
        "level" | "report" | "telegram_id" | "median" | "minutes" => 20,
        "emergency_number" | "day" | "round" | "confidence" | "arrow" => 6,
        "count" | "clients" | "messages" | "open" => 10,
        "client" | "staff" => 200,
        "opening_hours" | "booking_link" | "out_of_hours" | "query" | "status" | "reports" => 200,
        "error" | "flags" | "reason" => 500,
        _ => 0,
    }
}

/// How long a template can be once filled, in characters.
pub fn longest_filled(template: &str) -> usize {
    let mut length = 0;
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        length += rest[..open].chars().count();
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                length += longest_value(&after[..close]);
                rest = &after[close + 1..];
            }
            None => {
                rest = after;
                length += 1;
            }
        }
    }
    length + rest.chars().count()
}

/// Every text of `messages.toml`, ready to render for one clinic. Loaded once with the engine.
#[derive(Debug, Clone)]
pub struct Texts {
    clinic: Clinic,
    templates: HashMap<Key, String>,
}

impl Texts {
    /// `templates` holds every key (validation made sure).
    pub fn new(clinic: &Clinic, templates: HashMap<Key, String>) -> Texts {
        Texts {
            clinic: clinic.clone(),
            templates,
        }
    }

    /// A text with only the clinic's placeholders.
    pub fn get(&self, key: Key) -> String {
        self.fill(key, &[])
    }

    /// A text with its own placeholders filled too, e.g. `[("first_name", "Maria")]`; those it does not use
    /// are left aside (the words may leave one out).
    pub fn fill(&self, key: Key, args: &[(&str, &str)]) -> String {
        self.render(self.template(key), args)
    }

    /// A template of the clinic's own (a care-plan step), filled like a text of `messages.toml`.
    pub fn render(&self, template: &str, args: &[(&str, &str)]) -> String {
        self.clinic.render_with(template, args)
    }

    /// A text as written, placeholders and all: a date or time format (validation made sure chrono can render
    /// it), or the words around a placeholder, to read a number back from a copy of the bot's message.
    pub fn template(&self, key: Key) -> &str {
        self.templates.get(&key).map_or("", String::as_str)
    }
}
