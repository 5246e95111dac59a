//! What an update means and what it changes, decided in one pure function: no database, no Telegram, no clock
//! (`now` is an argument). An adapter reads an update into an [`Input`]; the service loads its [`Context`] in one
//! read; [`Conversation::decide`] returns a [`Decision`], plain data that is then stored at once.

use super::{
    Button, ClientCommand, ClientInput, Person, Quoted, Say, StaffCommand, TreatedOn, alerts,
    commands, dates, texts,
};
use crate::configuration::ClinicSettings;
use crate::engine::messages::{Key, Texts};
use crate::engine::{Category, Engine, Level, Triage};
use crate::store::LinkUse;
use crate::store::{
    CareTimeline, CheckInAnswer, Client, ClientId, ClientTurn, Direction, Escalation,
    EscalationStatus, MessageKind, NewMessage, ReportId, State, Stats, StoredMessage, TriageRecord,
};
use crate::timeline::start_link::{LinkId, LinkProblem, StartLink, start_link_url};
use crate::timeline::{CarePlan, StepButton};
use chrono::{DateTime, Duration, NaiveDate, Utc};

/// What an update means, for clients and staff alike. Reading Telegram's update into it is the adapter's job.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A client's message or button press in their private chat.
    Client { who: Person, event: ClientInput },
    /// A member of the staff chat pressed a button under an alert.
    StaffPress { staff: Person, button: Button },
    /// A member of the staff chat sent a staff command (their message `message_id`).
    StaffCommand {
        staff: Person,
        message_id: i64,
        command: StaffCommand,
    },
    /// A member of the staff chat replied to the bot's message `replied_to` with `text`.
    StaffReply {
        staff: Person,
        message_id: i64,
        text: String,
        replied_to: Quoted,
    },
    /// Someone who is not a member of the staff chat sent a staff command there.
    StrangerCommand { chat_id: i64, message_id: i64 },
}

/// What a decision needs to know, loaded in one read before deciding.
#[derive(Debug, Clone, PartialEq)]
pub enum Context {
    /// The client who wrote: their state, consent, treatment date and open report.
    Client(ClientTurn),
    /// The report a staff button is about, with its client; `None` when there is no such report (any more).
    Report(Option<(Escalation, Client)>),
    /// The report a staff reply is about.
    Reply(ReplyTarget),
    /// What a staff command shows.
    Staff(StaffView),
    /// The input needs nothing stored.
    Nothing,
}

/// The report a staff member's reply belongs to.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyTarget {
    /// The replied-to message is not an alert (nor names a report).
    NotAReport,
    /// It named a report that no longer exists.
    Gone,
    Report(Box<(Escalation, Client)>),
}

/// The data a staff command shows.
#[derive(Debug, Clone, PartialEq)]
pub enum StaffView {
    Open(Vec<(Escalation, Client)>),
    /// `/history <query>`: the clients found, and when exactly one, their latest messages.
    History {
        query: String,
        found: Vec<Client>,
        messages: Vec<StoredMessage>,
    },
    Unanswered(Vec<(StoredMessage, Client)>),
    Stats(Stats),
    /// `/due`: the current treatments that may have a care-timeline step due today or tomorrow.
    Due(Vec<CareTimeline>),
    /// `/link <date>`: the date as typed, and a new link's id.
    Link {
        date: String,
        id: LinkId,
    },
    /// `/report [date]`: the week's picture, or none when the date could not be read.
    Week(Option<Box<crate::operations::weekly::WeeklyPicture>>),
    Help,
}

/// A staff member who acted on a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub user_id: i64,
    /// As shown in the alert ("Ann (@nurse_ann)").
    pub name: String,
}

/// What happens to a report.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportChange {
    /// A new report, opened by this update's message.
    Open {
        level: Level,
        flags: Vec<String>,
    },
    /// This update's message joins the client's open report, whose level rises to `raise` if that is higher.
    Extend {
        report: ReportId,
        raise: Option<Level>,
    },
    Acknowledge {
        report: ReportId,
        by: StaffMember,
    },
    Resolve {
        report: ReportId,
        by: StaffMember,
    },
}

/// A send the decision queues besides the replies. What this update creates (its message, a new report) is
/// named, not numbered: the ids exist once the decision is stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Send {
    /// The new report's alert in the staff chat.
    Alert,
    /// This update's message, under its report's alert.
    Followup,
    /// This update's photo, under its report's alert.
    Photo {
        file_id: String,
        caption: Option<String>,
    },
    /// The report's alert edited to show its new status.
    AlertUpdate {
        report: ReportId,
        status: EscalationStatus,
    },
    /// A start link's QR code to whoever asked for it (`/link` in the staff chat).
    QrCode { link: String, caption: String },
    /// The weekly picture's chart to whoever asked for it (`/report`).
    WeeklyChart {
        week: NaiveDate,
        reports_by_day: [[u32; 3]; 7],
        caption: String,
    },
    /// A text to a report's client (a notice, a nurse's words), kept in their conversation.
    ToClient {
        report: ReportId,
        client: ClientId,
        chat_id: i64,
        text: String,
    },
}

/// What an update changes and sends: plain data, stored at once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    /// The client who wrote, whom the changes below are about.
    pub client: Option<ClientId>,
    pub consent: Option<bool>,
    /// A treatment date to record (it becomes the current one).
    pub treated_on: Option<NaiveDate>,
    pub state: Option<State>,
    /// The client's message, to keep in their conversation.
    pub message: Option<NewMessage>,
    pub report: Option<ReportChange>,
    /// The answers to whoever wrote, in order, in `reply_chat`.
    pub replies: Vec<Say>,
    pub reply_chat: i64,
    /// The message the answers reply to (a staff member's), if any.
    pub reply_to: Option<i64>,
    /// Whether the answers are kept in the client's conversation.
    pub keep_replies: bool,
    pub sends: Vec<Send>,
    /// Delete everything stored about the client.
    pub forget: bool,
    /// Turn the care timeline's messages on or off.
    pub care_messages: Option<bool>,
    /// The client's answer to their latest check-in.
    pub check_in: Option<CheckInAnswer>,
    /// A start link the client opened: its id and treatment date, to mark used (once, by them).
    pub start_link: Option<(String, NaiveDate)>,
    /// The client's opened start links are done with (their date recorded).
    pub apply_links: bool,
    /// What whoever pressed a button is shown (a staff action's outcome).
    pub press_answer: Option<String>,
}

impl Decision {
    fn answer(chat: i64, reply_to: Option<i64>, text: impl Into<String>) -> Decision {
        Decision {
            replies: vec![Say::text(text)],
            reply_chat: chat,
            reply_to,
            ..Decision::default()
        }
    }

    fn press_answer(text: impl Into<String>) -> Decision {
        Decision {
            press_answer: Some(text.into()),
            ..Decision::default()
        }
    }
}

/// The rules of the conversation: the engine and the clinic's settings. (Where staff are is the commit's
/// business: it addresses the sends.)
#[derive(Clone, Copy)]
pub struct Conversation<'a> {
    pub engine: &'a Engine,
    pub clinic: &'a ClinicSettings,
}

impl Conversation<'_> {
    /// The bot's own words, for this clinic.
    fn texts(&self) -> &Texts {
        self.engine.texts()
    }

    /// What `input` changes and sends, given its `context`, at `now`.
    pub fn decide(&self, context: &Context, input: &Input, now: DateTime<Utc>) -> Decision {
        match (input, context) {
            (Input::Client { event, .. }, Context::Client(turn)) => self.client(turn, event, now),
            (Input::StaffPress { staff, button }, Context::Report(report)) => {
                self.staff_press(staff, *button, report.as_ref())
            }
            (Input::StaffPress { .. }, _) => {
                Decision::press_answer(self.texts().get(Key::InvalidButton))
            }
            (
                Input::StaffReply {
                    staff,
                    message_id,
                    text,
                    ..
                },
                Context::Reply(target),
            ) => self.staff_reply(staff, *message_id, text, target),
            (
                Input::StaffCommand {
                    staff, message_id, ..
                },
                Context::Staff(StaffView::Link { date, id }),
            ) => {
                let (text, link) = self.link_for_staff(date, *id, now);
                let mut decision = Decision::answer(staff.chat_id, Some(*message_id), text);
                if let Some(link) = link {
                    decision.sends.push(Send::QrCode {
                        caption: link.clone(),
                        link,
                    });
                }
                decision
            }
            (
                Input::StaffCommand {
                    staff, message_id, ..
                },
                Context::Staff(StaffView::Week(Some(picture))),
            ) => {
                // The chart with its figures; the questions nobody could answer, if any, as the reply.
                let (caption, questions) = picture.told(self.texts());
                Decision {
                    replies: questions.map(Say::text).into_iter().collect(),
                    reply_chat: staff.chat_id,
                    reply_to: Some(*message_id),
                    sends: vec![Send::WeeklyChart {
                        week: picture.week,
                        reports_by_day: picture.reports_by_day,
                        caption,
                    }],
                    ..Decision::default()
                }
            }
            (
                Input::StaffCommand {
                    staff, message_id, ..
                },
                Context::Staff(view),
            ) => Decision::answer(staff.chat_id, Some(*message_id), self.staff_view(view, now)),
            (
                Input::StrangerCommand {
                    chat_id,
                    message_id,
                },
                _,
            ) => Decision::answer(
                *chat_id,
                Some(*message_id),
                self.texts().get(Key::StaffChatOnly),
            ),
            // A context loaded for another input: nothing to decide from it.
            (Input::Client { .. } | Input::StaffReply { .. } | Input::StaffCommand { .. }, _) => {
                Decision::default()
            }
        }
    }

    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.clinic.time_zone).date_naive()
    }

    fn client(&self, turn: &ClientTurn, event: &ClientInput, now: DateTime<Utc>) -> Decision {
        let client = &turn.client;
        let mut decision = Decision {
            client: Some(client.id),
            reply_chat: client.chat_id,
            ..Decision::default()
        };
        let d = &mut decision;
        match event {
            ClientInput::Button(button) => self.client_button(turn, *button, now, d),
            ClientInput::Text { text, message_id } if text.trim_start().starts_with('/') => {
                self.client_command(turn, text, *message_id, now, d);
            }
            ClientInput::Text { text, message_id } => {
                self.client_text(turn, text, *message_id, MessageKind::Text, now, d);
            }
            ClientInput::Edited { text, message_id } => {
                self.client_text(turn, text, *message_id, MessageKind::Edit, now, d);
            }
            ClientInput::Photo {
                file_id,
                caption,
                message_id,
            } => self.client_photo(turn, file_id, caption.as_deref(), *message_id, now, d),
            ClientInput::Unsupported { kind, message_id } => {
                d.replies
                    .push(Say::text(self.texts().get(Key::Unsupported)));
                if client.consent == Some(true) {
                    d.message = Some(inbound(client, *kind, None, None, *message_id, None, now));
                }
            }
        }
        // Replies are kept too, once the client has agreed to it (possibly with the button just pressed), and
        // never for a client just forgotten.
        decision.keep_replies =
            !decision.forget && (client.consent == Some(true) || decision.consent == Some(true));
        decision
    }

    fn welcome(&self, client: &Client) -> Say {
        Say {
            text: texts::welcome(self.texts(), &client.first_name),
            buttons: vec![vec![
                (self.texts().get(Key::ConsentYes), Button::Consent(true)),
                (self.texts().get(Key::ConsentNo), Button::Consent(false)),
            ]],
        }
    }

    fn ask_date(&self) -> Say {
        Say {
            text: self.texts().get(Key::AskDate),
            buttons: vec![vec![
                (
                    self.texts().get(Key::Today),
                    Button::Treated(TreatedOn::Today),
                ),
                (
                    self.texts().get(Key::Yesterday),
                    Button::Treated(TreatedOn::Yesterday),
                ),
            ]],
        }
    }

    fn client_command(
        &self,
        turn: &ClientTurn,
        text: &str,
        message_id: Option<i64>,
        now: DateTime<Utc>,
        d: &mut Decision,
    ) {
        let client = &turn.client;
        let consented = client.consent == Some(true);
        match ClientCommand::parse(text) {
            ClientCommand::Start => self.start(client, d),
            ClientCommand::StartWithLink(token) => self.start_from_link(turn, &token, now, d),
            ClientCommand::Treatment if consented => {
                // "/treatment 19/11", "/treatment 3 days ago": the date given with it.
                let given = commands::command_argument(text);
                let today = self.today(now);
                match dates::parse_treatment_date(given, today) {
                    Ok(date) if !given.is_empty() => self.save_date(date, today, d),
                    Err(problem) if !given.is_empty() => {
                        d.state = Some(State::AwaitingDate);
                        d.replies.push(Say::text(self.texts().get(problem.key())));
                        d.replies.push(self.ask_date());
                    }
                    _ => {
                        d.state = Some(State::AwaitingDate);
                        d.replies.push(self.ask_date());
                    }
                }
            }
            ClientCommand::Treatment => {
                d.state = Some(State::AwaitingConsent);
                d.replies.push(self.welcome(client));
            }
            ClientCommand::Help => d.replies.push(Say::text(self.texts().get(Key::Help))),
            ClientCommand::Forget => {
                d.state = Some(State::ConfirmForget);
                d.replies.push(Say {
                    text: self.texts().get(Key::ForgetConfirm),
                    buttons: vec![vec![
                        (self.texts().get(Key::ForgetYes), Button::Forget(true)),
                        (self.texts().get(Key::ForgetNo), Button::Forget(false)),
                    ]],
                });
            }
            ClientCommand::Reminders(Some(on)) if consented => {
                d.care_messages = Some(on);
                let key = if on {
                    Key::CareMessagesOn
                } else {
                    Key::CareMessagesOff
                };
                d.replies.push(Say::text(self.texts().get(key)));
            }
            ClientCommand::Reminders(None) if consented => {
                let key = if client.care_messages {
                    Key::CareMessagesAreOn
                } else {
                    Key::CareMessagesAreOff
                };
                d.replies.push(Say::text(self.texts().get(key)));
            }
            // Nothing is sent to a client who did not agree to keep their messages: ask them first.
            ClientCommand::Reminders(_) => {
                d.state = Some(State::AwaitingConsent);
                d.replies.push(self.welcome(client));
            }
            ClientCommand::StaffOnly => d.replies.push(Say::text(self.texts().get(Key::StaffOnly))),
            ClientCommand::Unknown => {
                // Not a command we know: it may still be a report ("/ my face is swollen"), so triage it too.
                let rest = text.trim_start().trim_start_matches('/');
                if consented && rest.split_whitespace().count() > 1 {
                    let triage = self.engine.analyse(rest, None, Some(self.today(now)));
                    if triage.escalation > Level::None {
                        self.client_text(turn, rest, message_id, MessageKind::Text, now, d);
                        return;
                    }
                }
                d.replies
                    .push(Say::text(self.texts().get(Key::UnknownCommand)));
            }
        }
    }

    /// `/start`: the welcome, or for a client who agreed already, the treatment date asked again.
    fn start(&self, client: &Client, d: &mut Decision) {
        if client.consent == Some(true) {
            d.state = Some(State::AwaitingDate);
            d.replies.push(Say::text(texts::welcome_back(
                self.texts(),
                &client.first_name,
            )));
            d.replies.push(self.ask_date());
        } else {
            d.state = Some(State::AwaitingConsent);
            d.replies.push(self.welcome(client));
        }
    }

    /// `/start <token>` from a clinic's start link: its treatment date is recorded once the client has agreed
    /// to keep their messages. A link that is not the clinic's, has expired or was used by someone else is
    /// refused with a word, and the start is the usual one.
    fn start_from_link(
        &self,
        turn: &ClientTurn,
        token: &str,
        now: DateTime<Utc>,
        d: &mut Decision,
    ) {
        let client = &turn.client;
        let verified = match &self.clinic.start_links {
            None => Err(LinkProblem::Forged),
            Some(links) => StartLink::verify(token, &links.secret, now),
        };
        let problem = match (verified, turn.opened_link) {
            (Err(LinkProblem::Forged), _) => Some(Key::LinkInvalid),
            (Err(LinkProblem::Expired), _) => Some(Key::LinkExpired),
            // Opened again by the client who used it: the usual start.
            (Ok(_), Some(LinkUse::UsedBy(Some(by)))) if by == client.id => None,
            (Ok(_), Some(LinkUse::UsedBy(_))) => Some(Key::LinkUsed),
            (Ok(link), Some(LinkUse::Unused) | None) => {
                d.start_link = Some((link.id.to_string(), link.treated_on));
                if client.consent == Some(true) {
                    d.apply_links = true;
                    self.save_date(link.treated_on, self.today(now), d);
                } else {
                    d.state = Some(State::AwaitingConsent);
                    d.replies.push(self.welcome(client));
                }
                return;
            }
        };
        if let Some(problem) = problem {
            d.replies.push(Say::text(self.texts().get(problem)));
        }
        self.start(client, d);
    }

    /// `/link <date>` in the staff chat: the start link for a client treated on that date, and the link itself
    /// for its QR code (`None` when there is none to make).
    fn link_for_staff(
        &self,
        date: &str,
        id: LinkId,
        now: DateTime<Utc>,
    ) -> (String, Option<String>) {
        let today = self.today(now);
        let Some(links) = &self.clinic.start_links else {
            return (self.texts().get(Key::LinksNotSetUp), None);
        };
        let Some(bot) = &links.bot_username else {
            return (self.texts().get(Key::LinksNotSetUp), None);
        };
        let parsed = dates::parse_treatment_date(date, today).ok();
        let Some(treated_on) = parsed.filter(|_| !date.is_empty()) else {
            return (self.texts().get(Key::LinkUsage), None);
        };
        let link = StartLink {
            id,
            treated_on,
            expires_at: now + links.valid_for,
        };
        let Some(token) = link.token(&links.secret) else {
            return (self.texts().get(Key::LinkUsage), None);
        };
        let url = start_link_url(bot, &token);
        let long = |date: NaiveDate| {
            date.format(self.texts().template(Key::LongDateFormat))
                .to_string()
        };
        let text = self.texts().fill(
            Key::LinkMade,
            &[
                ("date", &long(treated_on)),
                (
                    "until",
                    &long(
                        link.expires_at
                            .with_timezone(&self.clinic.time_zone)
                            .date_naive(),
                    ),
                ),
                ("link", &url),
            ],
        );
        (text, Some(url))
    }

    fn client_button(
        &self,
        turn: &ClientTurn,
        button: Button,
        now: DateTime<Utc>,
        d: &mut Decision,
    ) {
        let client = &turn.client;
        let today = self.today(now);
        match button {
            Button::Consent(true) => {
                d.consent = Some(true);
                // A start link opened before agreeing: its date is the treatment's.
                if let Some(date) = turn.link_date {
                    d.apply_links = true;
                    self.save_date(date, today, d);
                    return;
                }
                match turn.treated_on {
                    Some(date) => {
                        d.state = Some(State::Ready);
                        d.replies
                            .push(Say::text(texts::date_saved(self.texts(), date, today)));
                    }
                    None => {
                        d.state = Some(State::AwaitingDate);
                        d.replies
                            .push(Say::text(self.texts().get(Key::ConsentThanks)));
                        d.replies.push(self.ask_date());
                    }
                }
            }
            Button::Consent(false) => {
                d.consent = Some(false);
                d.state = Some(State::New);
                d.replies.push(Say::text(self.texts().get(Key::NoConsent)));
            }
            Button::Treated(day) if client.consent == Some(true) => {
                let date = match day {
                    TreatedOn::Today => today,
                    TreatedOn::Yesterday => today - Duration::days(1),
                };
                self.save_date(date, today, d);
            }
            Button::Forget(true) if client.state == State::ConfirmForget => {
                d.forget = true;
                d.replies.push(Say::text(self.texts().get(Key::Forgotten)));
            }
            Button::Forget(false) => {
                d.state = Some(State::Ready);
                d.replies
                    .push(Say::text(self.texts().get(Key::NotForgotten)));
            }
            Button::Care(StepButton::Fine) if client.consent == Some(true) => {
                d.check_in = Some(CheckInAnswer::Fine);
                d.replies
                    .push(Say::text(self.texts().get(Key::CheckInFineThanks)));
            }
            Button::Care(StepButton::Worried) if client.consent == Some(true) => {
                d.check_in = Some(CheckInAnswer::Worried);
                d.replies
                    .push(Say::text(self.texts().get(Key::CheckInWorriedAsk)));
            }
            Button::Care(StepButton::Stop) if client.consent == Some(true) => {
                d.care_messages = Some(false);
                d.replies
                    .push(Say::text(self.texts().get(Key::CareMessagesOff)));
            }
            // A staff button, a question no longer asked, or data this version does not know.
            Button::Treated(_)
            | Button::Forget(true)
            | Button::Care(_)
            | Button::Acknowledge(_)
            | Button::Resolve(_)
            | Button::Unknown => d
                .replies
                .push(Say::text(self.texts().get(Key::StaleButton))),
        }
    }

    fn save_date(&self, date: NaiveDate, today: NaiveDate, d: &mut Decision) {
        d.treated_on = Some(date);
        d.state = Some(State::Ready);
        d.replies
            .push(Say::text(texts::date_saved(self.texts(), date, today)));
    }

    fn client_text(
        &self,
        turn: &ClientTurn,
        text: &str,
        message_id: Option<i64>,
        kind: MessageKind,
        now: DateTime<Utc>,
        d: &mut Decision,
    ) {
        let client = &turn.client;
        let today = self.today(now);
        // "yes", "ok that's fine", "no thanks" typed instead of tapped: the answer to the consent question.
        if client.consent.is_none()
            && client.state == State::AwaitingConsent
            && let Some(agreed) = typed_consent(text)
        {
            return self.client_button(turn, Button::Consent(agreed), now, d);
        }
        if client.consent != Some(true) {
            // Nothing is stored without consent, but the client still gets the curated answer: an emergency
            // is never left waiting behind a consent question.
            let triage = self.engine.analyse(text, None, Some(today));
            d.replies.push(Say::text(triage.reply));
            if triage.escalation > Level::None {
                d.replies
                    .push(Say::text(self.texts().get(Key::NotPassedOn)));
            }
            if client.consent.is_none() {
                d.state = Some(State::AwaitingConsent);
                d.replies.push(self.welcome(client));
            }
            return;
        }
        if client.state == State::AwaitingDate {
            match dates::parse_treatment_date(text, today) {
                Ok(date) => return self.save_date(date, today, d),
                Err(problem) if looks_like_a_date(text) => {
                    d.replies.push(Say::text(self.texts().get(problem.key())));
                    d.replies.push(self.ask_date());
                    return;
                }
                Err(_) => {}
            }
        }
        let triage = self
            .engine
            .analyse(text, day_since(turn, today), Some(today));
        let report = Reported {
            kind,
            text: Some(text),
            photo: None,
            message_id,
        };
        let answer = d.replies.len();
        self.report(turn, &triage, report, now, d);
        if client.state == State::AwaitingDate {
            // An answer that already asks for the day gets the date buttons; any other, the question after it.
            match d.replies.get_mut(answer).filter(|_| triage.asks_day) {
                Some(answer) => answer.buttons = self.ask_date().buttons,
                None => d.replies.push(self.ask_date()),
            }
        } else if client.state != State::Ready {
            d.state = Some(State::Ready);
        }
    }

    fn client_photo(
        &self,
        turn: &ClientTurn,
        file_id: &str,
        caption: Option<&str>,
        message_id: Option<i64>,
        now: DateTime<Utc>,
        d: &mut Decision,
    ) {
        let client = &turn.client;
        if client.consent != Some(true) {
            d.replies
                .push(Say::text(self.texts().get(Key::PhotoNeedsConsent)));
            if client.consent.is_none() {
                d.replies.push(self.welcome(client));
            }
            return;
        }
        let today = self.today(now);
        let triage = self.engine.analyse(
            caption.unwrap_or_default(),
            day_since(turn, today),
            Some(today),
        );
        let report = Reported {
            kind: MessageKind::Photo,
            text: caption,
            photo: Some(file_id),
            message_id,
        };
        self.report(turn, &triage, report, now, d);
    }

    /// The message is kept; a report opens (or the open one grows) when needed, and the client is told what
    /// happens next.
    fn report(
        &self,
        turn: &ClientTurn,
        triage: &Triage,
        reported: Reported<'_>,
        now: DateTime<Utc>,
        d: &mut Decision,
    ) {
        let client = &turn.client;
        let photo = reported.photo;
        // A photo always goes to staff: at least as a routine report.
        let level = if photo.is_some() {
            triage.escalation.max(Level::Routine)
        } else {
            triage.escalation
        };
        if photo.is_none() || triage.intent.is_some() || triage.escalation > Level::None {
            d.replies.push(Say::text(triage.reply.clone()));
        }
        d.message = Some(inbound(
            client,
            reported.kind,
            reported.text,
            photo,
            reported.message_id,
            Some(triage),
            now,
        ));
        let to_staff = |photo: &str| Send::Photo {
            file_id: photo.to_string(),
            caption: reported.text.map(str::to_string),
        };
        match turn.open_escalation {
            Some(open) => {
                d.report = Some(ReportChange::Extend {
                    report: open,
                    raise: (level > Level::None).then_some(level),
                });
                // "Thank you", "ok" and questions the bot answered stay in the report's history (`/history`):
                // a staff chat that pings for them is one staff stop reading.
                if tells_staff_something(triage, photo.is_some()) {
                    d.sends.push(photo.map_or(Send::Followup, to_staff));
                    d.replies.push(Say::text(texts::added_to_open(
                        self.texts(),
                        photo.is_some(),
                    )));
                }
            }
            None if level > Level::None => {
                d.report = Some(ReportChange::Open {
                    level,
                    flags: triage.flag_labels().into_iter().map(String::from).collect(),
                });
                d.sends.push(Send::Alert);
                d.sends.extend(photo.map(to_staff));
                d.replies
                    .push(Say::text(self.next_steps(level, photo.is_some(), now)));
            }
            // A question: answered, nobody alerted.
            None => {}
        }
    }

    fn next_steps(&self, level: Level, photo: bool, now: DateTime<Utc>) -> String {
        let local = now.with_timezone(&self.clinic.time_zone);
        let open = self.clinic.hours.is_open(&local);
        let reopens = self
            .clinic
            .hours
            .next_opening(&local)
            .map(|t| {
                t.format(self.texts().template(Key::ReopensFormat))
                    .to_string()
            })
            .unwrap_or_else(|| self.texts().get(Key::NextWorkingDay));
        texts::next_steps(self.texts(), level, photo, open, &reopens)
    }

    /// Acknowledge or Resolve under an alert, pressed by a member of the staff chat.
    fn staff_press(
        &self,
        staff: &Person,
        button: Button,
        report: Option<&(Escalation, Client)>,
    ) -> Decision {
        let (id, status) = match button {
            Button::Acknowledge(id) => (id, EscalationStatus::Acknowledged),
            Button::Resolve(id) => (id, EscalationStatus::Resolved),
            Button::Consent(_)
            | Button::Treated(_)
            | Button::Forget(_)
            | Button::Care(_)
            | Button::Unknown => {
                return Decision::press_answer(self.texts().get(Key::InvalidButton));
            }
        };
        let Some((escalation, client)) = report.filter(|(e, _)| e.id == id) else {
            return Decision::press_answer(self.texts().get(Key::EscalationGone));
        };
        let done_already = match status {
            EscalationStatus::Resolved => escalation.status == EscalationStatus::Resolved,
            _ => escalation.status != EscalationStatus::Open,
        };
        if done_already {
            let resolved = escalation.status == EscalationStatus::Resolved;
            let by = if resolved {
                &escalation.resolved_by_name
            } else {
                &escalation.acknowledged_by_name
            };
            let by = by.as_deref().unwrap_or("staff");
            return Decision::press_answer(texts::already(self.texts(), resolved, by));
        }
        let by = StaffMember {
            user_id: staff.user_id,
            name: staff.display(),
        };
        let (change, notice, answer) = match status {
            EscalationStatus::Resolved => (
                ReportChange::Resolve { report: id, by },
                self.texts().get(Key::ResolvedNotice),
                self.texts().get(Key::PressResolved),
            ),
            _ => (
                ReportChange::Acknowledge { report: id, by },
                self.texts().get(Key::AcknowledgedNotice),
                self.texts().get(Key::PressAcknowledged),
            ),
        };
        Decision {
            report: Some(change),
            sends: vec![
                Send::AlertUpdate { report: id, status },
                Send::ToClient {
                    report: id,
                    client: client.id,
                    chat_id: client.chat_id,
                    text: notice,
                },
            ],
            press_answer: Some(answer),
            ..Decision::default()
        }
    }

    /// A staff member's reply to an alert goes to that client.
    fn staff_reply(
        &self,
        staff: &Person,
        message_id: i64,
        text: &str,
        target: &ReplyTarget,
    ) -> Decision {
        let answer = |text: &str| Decision::answer(staff.chat_id, Some(message_id), text);
        match target {
            ReplyTarget::NotAReport => answer(&self.texts().get(Key::NotAReport)),
            ReplyTarget::Gone => answer(&self.texts().get(Key::EscalationGone)),
            ReplyTarget::Report(report) => {
                let (escalation, client) = report.as_ref();
                Decision {
                    sends: vec![Send::ToClient {
                        report: escalation.id,
                        client: client.id,
                        chat_id: client.chat_id,
                        text: texts::relayed(self.texts(), &staff.first_name, text),
                    }],
                    ..answer(&texts::sent_to_client(self.texts(), &client.first_name))
                }
            }
        }
    }

    fn staff_view(&self, view: &StaffView, now: DateTime<Utc>) -> String {
        let words = alerts::StaffWords::new(self.texts(), self.clinic.time_zone);
        match view {
            StaffView::Open(open) => words.open_list(open),
            StaffView::History { query, .. } if query.is_empty() => {
                self.texts().get(Key::HistoryUsage)
            }
            StaffView::History {
                query,
                found,
                messages,
            } => match found.as_slice() {
                [] => texts::no_client_matches(self.texts(), query),
                [client] => words.history(client, messages),
                many => words.client_choices(many),
            },
            StaffView::Unanswered(items) => words.unanswered(items),
            StaffView::Stats(stats) => {
                let due = self.engine.overdue_reviews(self.today(now)).len();
                words.stats(stats, due)
            }
            StaffView::Due(timelines) => words.due(&self.due(timelines, now)),
            StaffView::Link { date, id } => self.link_for_staff(date, *id, now).0,
            StaffView::Week(_) => self.texts().get(Key::ReportUsage),
            StaffView::Help => self.texts().get(Key::StaffHelp),
        }
    }
}

impl Conversation<'_> {
    /// The care-timeline steps not sent yet whose time falls today or tomorrow (the clinic's dates), in order:
    /// (when, the client's first name, the step).
    fn due<'t>(
        &self,
        timelines: &'t [CareTimeline],
        now: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, &'t str, String)> {
        let zone = self.clinic.time_zone;
        let today = self.today(now);
        let tomorrow = today + Duration::days(1);
        let plan = self.engine.care_plan();
        let mut due: Vec<(DateTime<Utc>, &str, String)> = timelines
            .iter()
            .flat_map(|timeline| {
                plan.steps
                    .iter()
                    .filter(|step| !timeline.sent.iter().any(|sent| sent == step.id.as_str()))
                    .filter_map(move |step| {
                        let at = CarePlan::send_at(step, timeline.treated_on, zone)?;
                        let day = at.with_timezone(&zone).date_naive();
                        (at > timeline.known_since && (day == today || day == tomorrow))
                            .then(|| (at, timeline.first_name.as_str(), step.id.to_string()))
                    })
            })
            .collect();
        due.sort();
        due
    }
}

/// What a client sent that may be a report.
struct Reported<'a> {
    kind: MessageKind,
    text: Option<&'a str>,
    photo: Option<&'a str>,
    message_id: Option<i64>,
}

fn day_since(turn: &ClientTurn, today: NaiveDate) -> Option<u32> {
    turn.treated_on
        .map(|date| (today - date).num_days().max(0) as u32)
}

fn inbound(
    client: &Client,
    kind: MessageKind,
    text: Option<&str>,
    photo: Option<&str>,
    message_id: Option<i64>,
    triage: Option<&Triage>,
    now: DateTime<Utc>,
) -> NewMessage {
    NewMessage {
        client_id: client.id,
        direction: Direction::In,
        telegram_message_id: message_id,
        kind,
        text: text.map(str::to_string),
        photo_file_id: photo.map(str::to_string),
        triage: triage.map(|t| TriageRecord {
            intent: t.intent.clone(),
            category: t.category.as_str().to_string(),
            escalation: t.escalation.as_str().to_string(),
            confidence: t.confidence,
            red_flags: t.red_flags.iter().map(|f| f.id.clone()).collect(),
        }),
        escalation_id: None,
        at: now,
    }
}

/// Short, with a digit or a date word: the client was trying to give a date, so say why it failed.
fn looks_like_a_date(text: &str) -> bool {
    let lower = text.to_lowercase();
    text.split_whitespace().count() <= 4
        && (lower.chars().any(|c| c.is_ascii_digit())
            || [
                "today",
                "yesterday",
                "ago",
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "sunday",
            ]
            .iter()
            .any(|w| lower.contains(w)))
}

/// Whether a message under an open report is news for staff: a finding or a request to talk (any level above
/// `none`), the client describing their skin, a question the bot could not answer, or a photo.
fn tells_staff_something(triage: &Triage, photo: bool) -> bool {
    photo
        || triage.escalation > Level::None
        || triage.intent.is_none()
        || matches!(
            triage.category,
            Category::NormalReaction | Category::AbnormalReaction | Category::Emergency
        )
}

/// A whole message that only answers a yes-or-no question: `Some(true)` for yes, `Some(false)` for no. Anything
/// more ("yes, and my lips are swelling") is a message, not an answer.
fn typed_consent(text: &str) -> Option<bool> {
    const YES: &[&str] = &[
        "yes",
        "y",
        "yeah",
        "yea",
        "yep",
        "yup",
        "ya",
        "yes please",
        "ok",
        "okay",
        "k",
        "sure",
        "fine",
        "thats fine",
        "yes thats fine",
        "thats ok",
        "yes thats ok",
        "ok thats fine",
        "i agree",
        "agree",
        "agreed",
        "of course",
        "go ahead",
        "yes of course",
        "yes sure",
        "ok sure",
    ];
    const NO: &[&str] = &[
        "no",
        "n",
        "nope",
        "nah",
        "no thanks",
        "no thank you",
        "i dont agree",
        "dont agree",
        "i do not agree",
        "no i dont",
        "not ok",
        "no its not ok",
    ];
    match text.trim() {
        "👍" => return Some(true),
        "👎" => return Some(false),
        _ => {}
    }
    // Letters and spaces only: "Ok, that's fine!" and "yes please 👍" are "ok thats fine" and "yes please".
    let plain: String = text
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect();
    let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if YES.contains(&plain.as_str()) {
        Some(true)
    } else if NO.contains(&plain.as_str()) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::configuration::Source;
    use std::sync::OnceLock;

    const STAFF: i64 = -100;

    /// A Tuesday morning, UTC; the clinic is open every day, all day, in UTC.
    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-10T10:00:00Z")
            .expect("instant")
            .to_utc()
    }

    fn rules() -> &'static (Engine, ClinicSettings) {
        static RULES: OnceLock<(Engine, ClinicSettings)> = OnceLock::new();
        RULES.get_or_init(|| {
            let settings = [
                ("AFTERCARE_CLINIC_NAME", "Test Clinic"),
                ("AFTERCARE_CLINIC_PHONE", "0100 000 000"),
                ("AFTERCARE_EMERGENCY_NUMBER", "112"),
                ("AFTERCARE_OPENING_HOURS", "Mon-Sun 00:00-23:59"),
                ("AFTERCARE_TIMEZONE", "UTC"),
            ];
            let source = Source::new(None, move |name| {
                settings
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            })
            .expect("settings");
            let clinic = ClinicSettings::load(&source).expect("clinic");
            let engine = Engine::embedded(&clinic.clinic).expect("shipped intents");
            (engine, clinic)
        })
    }

    /// A text of `messages.toml`, as the test clinic says it.
    fn said(key: Key) -> String {
        rules().0.texts().get(key)
    }

    fn decide(context: &Context, input: &Input) -> Decision {
        let (engine, clinic) = rules();
        Conversation { engine, clinic }.decide(context, input, now())
    }

    fn jane() -> Person {
        Person {
            user_id: 7,
            chat_id: 7,
            first_name: "Jane".into(),
            username: Some("jane".into()),
        }
    }

    fn nurse() -> Person {
        Person {
            user_id: 900,
            chat_id: STAFF,
            first_name: "Ann".into(),
            username: None,
        }
    }

    fn client(consent: Option<bool>, state: State) -> Client {
        Client {
            id: ClientId(3),
            telegram_user_id: 7,
            chat_id: 7,
            first_name: "Jane".into(),
            username: Some("jane".into()),
            consent,
            consent_at: None,
            care_messages: true,
            state,
            created_at: now(),
            updated_at: now(),
        }
    }

    /// Jane, consented and treated three days ago, with this state and open report.
    fn turn(state: State, open: Option<ReportId>) -> Context {
        Context::Client(ClientTurn {
            client: client(Some(true), state),
            treated_on: Some(now().date_naive() - Duration::days(3)),
            open_escalation: open,
            link_date: None,
            opened_link: None,
        })
    }

    fn writes(text: &str) -> Input {
        Input::Client {
            who: jane(),
            event: ClientInput::Text {
                text: text.into(),
                message_id: Some(50),
            },
        }
    }

    fn presses(button: Button) -> Input {
        Input::Client {
            who: jane(),
            event: ClientInput::Button(button),
        }
    }

    fn report(status: EscalationStatus) -> (Escalation, Client) {
        let escalation = Escalation {
            id: ReportId(12),
            client_id: ClientId(3),
            level: "urgent".into(),
            status,
            red_flags: Vec::new(),
            first_message_id: 1,
            opened_at: now(),
            alerted_at: Some(now()),
            acknowledged_by_id: None,
            acknowledged_by_name: Some("Bea".into()),
            acknowledged_at: None,
            resolved_by_id: None,
            resolved_by_name: Some("Cy".into()),
            resolved_at: None,
            last_alert_at: None,
            reminder_count: 0,
        };
        (escalation, client(Some(true), State::Ready))
    }

    fn texts_of(decision: &Decision) -> Vec<&str> {
        decision
            .replies
            .iter()
            .map(|say| say.text.as_str())
            .collect()
    }

    #[test]
    fn a_question_is_answered_and_kept_with_its_answer_and_alerts_nobody() {
        let decision = decide(
            &turn(State::Ready, None),
            &writes("can i wear makeup tomorrow?"),
        );
        assert_eq!(decision.replies.len(), 1, "{decision:#?}");
        assert!(decision.replies[0].text.contains("mineral makeup"));
        let message = decision.message.as_ref().expect("the question is kept");
        assert_eq!(message.text.as_deref(), Some("can i wear makeup tomorrow?"));
        assert_eq!(message.telegram_message_id, Some(50));
        assert!(decision.keep_replies);
        assert_eq!(decision.report, None);
        assert!(decision.sends.is_empty());
        assert_eq!(decision.state, None, "already ready");
        assert_eq!(decision.reply_chat, 7);
    }

    #[test]
    fn a_report_opens_one_with_its_level_and_flags_and_says_what_happens_next() {
        let decision = decide(
            &turn(State::Ready, None),
            &writes("there's yellow crust on my chin and it's oozing"),
        );
        let Some(ReportChange::Open { level, flags }) = &decision.report else {
            panic!("a report is opened: {decision:#?}");
        };
        assert_eq!(*level, Level::Urgent);
        assert!(!flags.is_empty());
        assert_eq!(decision.sends, [Send::Alert]);
        let said = texts_of(&decision);
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(said[1].contains("as urgent"), "{said:?}");
        let triage = decision.message.as_ref().and_then(|m| m.triage.as_ref());
        assert_eq!(triage.map(|t| t.escalation.as_str()), Some("urgent"));
    }

    #[test]
    fn with_a_report_open_a_later_message_joins_it_under_its_alert() {
        let open = Some(ReportId(12));
        let decision = decide(
            &turn(State::Ready, open),
            &writes("it's a bit more swollen now"),
        );
        assert!(
            matches!(
                decision.report,
                Some(ReportChange::Extend {
                    report: ReportId(12),
                    ..
                })
            ),
            "{decision:#?}"
        );
        assert_eq!(decision.sends, [Send::Followup]);
        assert!(
            texts_of(&decision)
                .iter()
                .any(|t| t.contains("earlier report"))
        );
    }

    #[test]
    fn with_a_report_open_thanks_and_answered_questions_stay_in_its_history_without_pinging_staff()
    {
        let open = Some(ReportId(12));
        for text in ["thank you so much", "can I wear makeup tomorrow?"] {
            let decision = decide(&turn(State::Ready, open), &writes(text));
            assert!(
                matches!(
                    decision.report,
                    Some(ReportChange::Extend {
                        report: ReportId(12),
                        raise: None
                    })
                ),
                "{text}: kept with the report: {decision:#?}"
            );
            assert!(decision.sends.is_empty(), "{text}: {decision:#?}");
            assert!(
                !texts_of(&decision)
                    .iter()
                    .any(|t| t.contains("earlier report")),
                "{text}: {decision:#?}"
            );
        }
        // Something the bot cannot answer still goes to staff.
        let decision = decide(
            &turn(State::Ready, open),
            &writes("the nurse said something about a cream, which one was it"),
        );
        assert_eq!(decision.sends, [Send::Followup], "{decision:#?}");
    }

    #[test]
    fn a_photo_goes_to_staff_at_least_as_routine_with_its_caption() {
        let input = Input::Client {
            who: jane(),
            event: ClientInput::Photo {
                file_id: "PHOTO-1".into(),
                caption: Some("my chin".into()),
                message_id: Some(51),
            },
        };
        let decision = decide(&turn(State::Ready, None), &input);
        assert!(
            matches!(
                decision.report,
                Some(ReportChange::Open {
                    level: Level::Routine,
                    ..
                })
            ),
            "{decision:#?}"
        );
        assert_eq!(
            decision.sends,
            [
                Send::Alert,
                Send::Photo {
                    file_id: "PHOTO-1".into(),
                    caption: Some("my chin".into())
                }
            ]
        );
        assert!(texts_of(&decision).iter().any(|t| t.contains("your photo")));
    }

    #[test]
    fn without_consent_nothing_is_kept_but_an_emergency_is_still_answered() {
        let context = Context::Client(ClientTurn {
            client: client(None, State::New),
            treated_on: None,
            open_escalation: None,
            link_date: None,
            opened_link: None,
        });
        let decision = decide(
            &context,
            &writes("my tongue is swelling and i cant breathe properly"),
        );
        let said = texts_of(&decision);
        assert!(said[0].contains("112"), "{said:?}");
        assert!(said[1].contains("haven't passed this on"), "{said:?}");
        assert!(
            decision.replies[2]
                .buttons
                .iter()
                .flatten()
                .any(|(_, b)| *b == Button::Consent(true))
        );
        assert_eq!(decision.state, Some(State::AwaitingConsent));
        assert_eq!(decision.message, None);
        assert_eq!(decision.report, None);
        assert!(!decision.keep_replies);
    }

    #[test]
    fn consent_then_a_date_by_button_or_in_words() {
        let fresh = Context::Client(ClientTurn {
            client: client(None, State::AwaitingConsent),
            treated_on: None,
            open_escalation: None,
            link_date: None,
            opened_link: None,
        });
        for typed in ["yes", "Ok, that's fine!", "Yes please 👍"] {
            let agreed = decide(&fresh, &writes(typed));
            assert_eq!(agreed.consent, Some(true), "{typed:?}");
            assert_eq!(agreed.state, Some(State::AwaitingDate), "{typed:?}");
        }
        assert_eq!(decide(&fresh, &writes("no thanks")).consent, Some(false));
        let more = decide(&fresh, &writes("yes my lips are swelling"));
        assert_eq!(more.consent, None, "a message, not an answer: {more:#?}");
        let agreed = decide(&fresh, &presses(Button::Consent(true)));
        assert_eq!(agreed.consent, Some(true));
        assert_eq!(agreed.state, Some(State::AwaitingDate));
        assert!(agreed.keep_replies, "kept from the moment they agree");
        assert!(agreed.replies[1].text.contains("When was your treatment"));

        let awaiting = turn(State::AwaitingDate, None);
        let yesterday = decide(&awaiting, &presses(Button::Treated(TreatedOn::Yesterday)));
        assert_eq!(
            yesterday.treated_on,
            Some(now().date_naive() - Duration::days(1))
        );
        assert_eq!(yesterday.state, Some(State::Ready));
        let typed = decide(&awaiting, &writes("3 days ago"));
        assert_eq!(
            typed.treated_on,
            Some(now().date_naive() - Duration::days(3))
        );
        assert!(typed.replies[0].text.contains("day 3 today"), "{typed:#?}");
        assert_eq!(typed.message, None, "a date is not a message to keep");
        let garbled = decide(&awaiting, &writes("the 45th"));
        assert_eq!(garbled.treated_on, None, "{garbled:#?}");
        assert_eq!(garbled.replies.len(), 2, "why, and the question again");
    }

    #[test]
    fn an_answer_that_asks_for_the_day_carries_the_date_buttons_instead_of_a_second_question() {
        // Just agreed, no date yet.
        let awaiting = Context::Client(ClientTurn {
            client: client(Some(true), State::AwaitingDate),
            treated_on: None,
            open_escalation: None,
            link_date: None,
            opened_link: None,
        });
        let date_buttons = |say: &Say| {
            say.buttons
                .iter()
                .flatten()
                .any(|(_, b)| *b == Button::Treated(TreatedOn::Today))
        };
        let redness = decide(&awaiting, &writes("is this redness normal?"));
        assert_eq!(redness.replies.len(), 1, "{redness:#?}");
        assert!(redness.replies[0].text.contains("How many days ago"));
        assert!(date_buttons(&redness.replies[0]), "{redness:#?}");
        assert_eq!(redness.state, None, "still waiting for the date");

        let price = decide(&awaiting, &writes("how much is the next session?"));
        let [answer, question] = price.replies.as_slice() else {
            panic!("the answer, then the date question: {price:#?}");
        };
        assert!(!answer.text.contains("How many days ago") && !date_buttons(answer));
        assert!(question.text.contains("When was your treatment") && date_buttons(question));

        let told = decide(&awaiting, &writes("day 3"));
        assert_eq!(
            told.treated_on,
            Some(now().date_naive() - Duration::days(3)),
            "the day, as the answer asked for it"
        );
    }

    #[test]
    fn treatment_takes_the_date_given_with_it() {
        let ready = turn(State::Ready, None);
        let given = decide(&ready, &writes("/treatment 3 days ago"));
        assert_eq!(
            given.treated_on,
            Some(now().date_naive() - Duration::days(3)),
            "{given:#?}"
        );
        assert_eq!(given.state, Some(State::Ready));
        let asked = decide(&ready, &writes("/treatment"));
        assert_eq!(asked.treated_on, None);
        assert_eq!(asked.state, Some(State::AwaitingDate));
        let garbled = decide(&ready, &writes("/treatment the 45th"));
        assert_eq!(garbled.treated_on, None, "{garbled:#?}");
        assert_eq!(garbled.state, Some(State::AwaitingDate));
        assert_eq!(garbled.replies.len(), 2, "why, and the question again");
    }

    #[test]
    fn forget_asks_first_and_deletes_only_when_confirmed_keeping_nothing() {
        let asked = decide(&turn(State::Ready, None), &writes("/forget"));
        assert_eq!(asked.state, Some(State::ConfirmForget));
        assert!(!asked.forget);
        let confirmed = decide(
            &turn(State::ConfirmForget, None),
            &presses(Button::Forget(true)),
        );
        assert!(confirmed.forget);
        assert!(!confirmed.keep_replies, "not even the goodbye is kept");
        let stale = decide(&turn(State::Ready, None), &presses(Button::Forget(true)));
        assert!(
            !stale.forget,
            "a confirmation no longer asked for deletes nothing"
        );
        assert_eq!(texts_of(&stale), [said(Key::StaleButton).as_str()]);
    }

    #[test]
    fn the_care_timelines_buttons_record_the_answer_or_stop_the_messages() {
        let fine = decide(
            &turn(State::Ready, None),
            &presses(Button::Care(StepButton::Fine)),
        );
        assert_eq!(fine.check_in, Some(CheckInAnswer::Fine));
        assert_eq!(texts_of(&fine), [said(Key::CheckInFineThanks).as_str()]);
        assert!(fine.sends.is_empty() && fine.report.is_none(), "{fine:?}");
        let worried = decide(
            &turn(State::Ready, None),
            &presses(Button::Care(StepButton::Worried)),
        );
        assert_eq!(worried.check_in, Some(CheckInAnswer::Worried));
        assert_eq!(texts_of(&worried), [said(Key::CheckInWorriedAsk).as_str()]);
        assert!(
            worried.report.is_none(),
            "the words that follow are the report"
        );
        let stop = decide(
            &turn(State::Ready, None),
            &presses(Button::Care(StepButton::Stop)),
        );
        assert_eq!(stop.care_messages, Some(false));
        assert_eq!(stop.check_in, None);
        // Without consent (withdrawn since the check-in was sent) nothing is recorded.
        let stranger = Context::Client(ClientTurn {
            client: client(Some(false), State::New),
            treated_on: None,
            open_escalation: None,
            link_date: None,
            opened_link: None,
        });
        let stale = decide(&stranger, &presses(Button::Care(StepButton::Fine)));
        assert_eq!(stale.check_in, None);
        assert_eq!(texts_of(&stale), [said(Key::StaleButton).as_str()]);
    }

    #[test]
    fn reminders_turns_the_care_messages_on_or_off_or_says_how_they_stand() {
        let off = decide(&turn(State::Ready, None), &writes("/reminders off"));
        assert_eq!(off.care_messages, Some(false));
        assert_eq!(texts_of(&off), [said(Key::CareMessagesOff).as_str()]);
        let on = decide(&turn(State::Ready, None), &writes("/reminders on"));
        assert_eq!(on.care_messages, Some(true));
        let status = decide(&turn(State::Ready, None), &writes("/reminders"));
        assert_eq!(status.care_messages, None);
        assert_eq!(texts_of(&status), [said(Key::CareMessagesAreOn).as_str()]);
        // Not before consent: the welcome asks for it first.
        let fresh = Context::Client(ClientTurn {
            client: client(None, State::New),
            treated_on: None,
            open_escalation: None,
            link_date: None,
            opened_link: None,
        });
        let asked = decide(&fresh, &writes("/reminders on"));
        assert_eq!(asked.care_messages, None);
        assert_eq!(asked.state, Some(State::AwaitingConsent));
    }

    #[test]
    fn an_unknown_command_that_reports_something_is_triaged_as_a_message() {
        let decision = decide(
            &turn(State::Ready, None),
            &writes("/ there is pus on my chin"),
        );
        assert!(
            matches!(decision.report, Some(ReportChange::Open { .. })),
            "{decision:#?}"
        );
        let plain = decide(&turn(State::Ready, None), &writes("/quit"));
        assert_eq!(texts_of(&plain), [said(Key::UnknownCommand).as_str()]);
        assert_eq!(plain.message, None);
    }

    #[test]
    fn a_staff_press_acts_once_and_says_who_did_it_before() {
        let press = |button| Input::StaffPress {
            staff: nurse(),
            button,
        };
        let open = Context::Report(Some(report(EscalationStatus::Open)));
        let acked = decide(&open, &press(Button::Acknowledge(ReportId(12))));
        assert!(
            matches!(&acked.report, Some(ReportChange::Acknowledge { report: ReportId(12), by }) if by.user_id == 900),
            "{acked:#?}"
        );
        assert_eq!(acked.sends.len(), 2, "the alert edited and the client told");
        assert!(
            matches!(&acked.sends[1], Send::ToClient { chat_id: 7, text, .. } if text.contains("has seen"))
        );
        assert!(
            acked.replies.is_empty(),
            "answered on the button, not in the chat"
        );

        let again = Context::Report(Some(report(EscalationStatus::Acknowledged)));
        let twice = decide(&again, &press(Button::Acknowledge(ReportId(12))));
        assert_eq!(twice.report, None);
        assert!(twice.sends.is_empty());
        assert_eq!(
            twice.press_answer.as_deref(),
            Some("Already acknowledged by Bea.")
        );
        let resolved = decide(&again, &press(Button::Resolve(ReportId(12))));
        assert!(matches!(
            resolved.report,
            Some(ReportChange::Resolve { .. })
        ));

        let gone = decide(
            &Context::Report(None),
            &press(Button::Resolve(ReportId(12))),
        );
        assert_eq!(
            gone.press_answer.as_deref(),
            Some(said(Key::EscalationGone).as_str())
        );
        let forged = decide(&Context::Nothing, &press(Button::Consent(true)));
        assert_eq!(
            forged.press_answer.as_deref(),
            Some(said(Key::InvalidButton).as_str())
        );
    }

    #[test]
    fn a_staff_reply_reaches_the_reports_client_or_says_why_not() {
        let reply = Input::StaffReply {
            staff: nurse(),
            message_id: 77,
            text: "come in at 3pm".into(),
            replied_to: Quoted {
                message_id: 5,
                text: None,
            },
        };
        let (escalation, client) = report(EscalationStatus::Open);
        let relayed = decide(
            &Context::Reply(ReplyTarget::Report(Box::new((escalation, client)))),
            &reply,
        );
        assert!(
            matches!(&relayed.sends[..], [Send::ToClient { chat_id: 7, text, .. }] if text.contains("Ann") && text.contains("3pm")),
            "{relayed:#?}"
        );
        assert_eq!(texts_of(&relayed), ["✓ Sent to Jane."]);
        assert_eq!((relayed.reply_chat, relayed.reply_to), (STAFF, Some(77)));
        let not_a_report = decide(&Context::Reply(ReplyTarget::NotAReport), &reply);
        assert!(not_a_report.sends.is_empty());
        assert_eq!(texts_of(&not_a_report), [said(Key::NotAReport).as_str()]);
    }

    #[test]
    fn a_staff_command_renders_what_was_loaded() {
        let command = |command| Input::StaffCommand {
            staff: nurse(),
            message_id: 78,
            command,
        };
        let usage = decide(
            &Context::Staff(StaffView::History {
                query: String::new(),
                found: Vec::new(),
                messages: Vec::new(),
            }),
            &command(StaffCommand::History(String::new())),
        );
        assert!(usage.replies[0].text.starts_with("Usage: /history"));
        let open = decide(
            &Context::Staff(StaffView::Open(vec![report(EscalationStatus::Open)])),
            &command(StaffCommand::Open),
        );
        assert!(open.replies[0].text.contains("#12 URGENT"), "{open:#?}");
        assert_eq!(open.reply_to, Some(78));
        let stranger = decide(
            &Context::Nothing,
            &Input::StrangerCommand {
                chat_id: STAFF,
                message_id: 79,
            },
        );
        assert_eq!(texts_of(&stranger), [said(Key::StaffChatOnly).as_str()]);
    }

    #[test]
    fn short_texts_with_digits_or_day_words_are_date_attempts() {
        assert!(looks_like_a_date("21/11"));
        assert!(looks_like_a_date("last monday"));
        assert!(!looks_like_a_date("my face is really red and hot"));
    }
}
