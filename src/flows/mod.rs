//! What happens to a message: store it, triage it, answer, escalate, notify. Shared by every front end (the
//! Telegram adapter, the local chat), so they behave the same. No Telegram types here.

pub mod alerts;
pub mod button;
pub mod commands;
pub mod dates;
pub mod outbound;
pub(crate) mod texts;

use crate::configuration::ClinicSettings;
use crate::engine::{Engine, Level, Triage};
use crate::store::{
    Client, ClientTurn, Db, Direction, EscalationStatus, MessageKind, MessageLog, NewMessage,
    StoreError, Transition, TriageRecord,
};
pub use crate::store::{OutboxKind, ReportId, State};
pub use button::{Button, Buttons, TreatedOn};
use chrono::{DateTime, Duration, NaiveDate, Utc};
pub use commands::{ClientCommand, StaffCommand};
pub use outbound::Outbound;
use std::sync::Arc;

/// Who wrote: a Telegram user (client or staff).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub user_id: i64,
    pub chat_id: i64,
    pub first_name: String,
    pub username: Option<String>,
}

impl Person {
    pub fn display(&self) -> String {
        match &self.username {
            Some(u) => format!("{} (@{u})", self.first_name),
            None => self.first_name.clone(),
        }
    }
}

/// What a client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientInput {
    Text {
        text: String,
        message_id: Option<i64>,
    },
    Edited {
        text: String,
        message_id: Option<i64>,
    },
    Photo {
        file_id: String,
        caption: Option<String>,
        message_id: Option<i64>,
    },
    /// Voice notes, stickers, documents, locations: anything the bot cannot read.
    Unsupported {
        kind: MessageKind,
        message_id: Option<i64>,
    },
    /// A button press. Its data could have been forged; then it is [`Button::Unknown`].
    Button(Button),
}

/// A message for the person who wrote, with optional buttons.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Say {
    pub text: String,
    pub buttons: Buttons,
}

impl Say {
    fn text(text: impl Into<String>) -> Say {
        Say {
            text: text.into(),
            buttons: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// The bot's message a staff member replied to, as Telegram quotes it in the reply.
#[derive(Debug, Clone, Copy)]
pub struct RepliedTo<'a> {
    pub message_id: i64,
    pub text: Option<&'a str>,
}

impl RepliedTo<'_> {
    /// The report an alert names ("🔴 URGENT — report #12", "📷 Photo from … (report #12)").
    /// Only the bot's own lines count: a client's quoted words could say "report #5" too.
    fn report_number(&self) -> Option<ReportId> {
        self.text?
            .lines()
            .filter(|line| !alerts::is_client_line(line))
            .find_map(|line| {
                let (_, after) = line.split_once("report #")?;
                let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok().map(ReportId)
            })
    }
}

/// Everything a front end needs to run the conversations.
#[derive(Clone)]
pub struct Service {
    pub db: Db,
    pub engine: Arc<Engine>,
    pub clinic: ClinicSettings,
    /// The staff chat, where alerts go.
    pub staff_chat: i64,
    /// Wakes the delivery worker when something is queued.
    pub wake: Arc<tokio::sync::Notify>,
    /// Stores conversation messages, several conversations per statement under load.
    pub log: MessageLog,
}

impl Service {
    /// Tells the outbox worker that something is waiting to be sent.
    fn outbox_filled(&self) {
        self.wake.notify_one();
    }

    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.clinic.time_zone).date_naive()
    }

    /// A client's message or button press. Returns what to send back, in order.
    pub async fn on_client(
        &self,
        who: &Person,
        input: ClientInput,
        now: DateTime<Utc>,
    ) -> Result<Vec<Say>, FlowError> {
        let turn = self
            .db
            .client_turn(
                who.user_id,
                who.chat_id,
                &who.first_name,
                who.username.as_deref(),
                now,
            )
            .await?;
        let client = &turn.client;
        // `replies_stored`: the replies are stored already, or must not be (the client was just forgotten).
        let (says, replies_stored) = match input {
            ClientInput::Button(button) => self.client_button(client, button, now).await?,
            ClientInput::Text { text, message_id } if text.trim_start().starts_with('/') => {
                self.client_command(&turn, &text, message_id, now).await?
            }
            ClientInput::Text { text, message_id } => {
                self.client_text(&turn, &text, message_id, MessageKind::Text, now)
                    .await?
            }
            ClientInput::Edited { text, message_id } => {
                self.client_text(&turn, &text, message_id, MessageKind::Edit, now)
                    .await?
            }
            ClientInput::Photo {
                file_id,
                caption,
                message_id,
            } => {
                self.client_photo(&turn, &file_id, caption.as_deref(), message_id, now)
                    .await?
            }
            ClientInput::Unsupported { kind, message_id } => {
                let says = vec![Say::text(texts::UNSUPPORTED)];
                if client.consent == Some(true) {
                    let mut rows = vec![inbound(client, kind, None, None, message_id, None, now)];
                    rows.extend(says.iter().map(|say| outbound(client, &say.text, now)));
                    self.log.record(rows).await?;
                }
                (says, client.consent == Some(true))
            }
        };
        // Replies are stored too, once the client has agreed to it (possibly with the button just pressed).
        let consented = client.consent == Some(true)
            || self.db.client(client.id).await?.and_then(|c| c.consent) == Some(true);
        if consented && !replies_stored {
            let rows: Vec<NewMessage> = says
                .iter()
                .map(|say| outbound(client, &say.text, now))
                .collect();
            if let Err(e) = self.log.record(rows).await {
                // The reply still goes out: losing its copy loses nothing the client reported.
                tracing::error!(error = %e, "could not store the bot's reply");
            }
        }
        Ok(says)
    }

    /// What a client is told when their message cannot be stored (the database is away): the curated answer at
    /// once, and for a report that it has not reached the clinic, so they call. The message itself is handled
    /// properly once the database is back.
    pub fn answer_without_storage(&self, text: &str, now: DateTime<Utc>) -> Vec<Say> {
        let triage = self.engine.analyse(text, None, Some(self.today(now)));
        let mut says = vec![Say::text(triage.reply)];
        if triage.escalation > Level::None {
            says.push(Say::text(texts::could_not_pass_on(&self.clinic.clinic)));
        }
        says
    }

    fn welcome(&self, client: &Client) -> Say {
        Say {
            text: texts::welcome(&client.first_name, &self.clinic.clinic),
            buttons: vec![vec![
                ("Yes, that's fine".into(), Button::Consent(true)),
                ("No".into(), Button::Consent(false)),
            ]],
        }
    }

    fn ask_date(&self) -> Say {
        Say {
            text: texts::ASK_DATE.into(),
            buttons: vec![vec![
                ("Today".into(), Button::Treated(TreatedOn::Today)),
                ("Yesterday".into(), Button::Treated(TreatedOn::Yesterday)),
            ]],
        }
    }

    async fn client_command(
        &self,
        turn: &ClientTurn,
        text: &str,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Say>, bool), FlowError> {
        let client = &turn.client;
        let says = match ClientCommand::parse(text) {
            ClientCommand::Start => {
                if client.consent == Some(true) {
                    self.db.set_state(client.id, State::AwaitingDate).await?;
                    vec![
                        Say::text(texts::welcome_back(&client.first_name)),
                        self.ask_date(),
                    ]
                } else {
                    self.db.set_state(client.id, State::AwaitingConsent).await?;
                    vec![self.welcome(client)]
                }
            }
            ClientCommand::Help => vec![Say::text(texts::help(&self.clinic.clinic))],
            ClientCommand::Treatment => {
                if client.consent == Some(true) {
                    self.db.set_state(client.id, State::AwaitingDate).await?;
                    vec![self.ask_date()]
                } else {
                    self.db.set_state(client.id, State::AwaitingConsent).await?;
                    vec![self.welcome(client)]
                }
            }
            ClientCommand::Forget => {
                self.db.set_state(client.id, State::ConfirmForget).await?;
                vec![Say {
                    text: texts::FORGET_CONFIRM.into(),
                    buttons: vec![vec![
                        ("Yes, delete everything".into(), Button::Forget(true)),
                        ("No, keep it".into(), Button::Forget(false)),
                    ]],
                }]
            }
            ClientCommand::StaffOnly => vec![Say::text(texts::STAFF_ONLY)],
            ClientCommand::Unknown => {
                // Not a command we know: it may still be a report ("/ my face is swollen"), so triage it too.
                let rest = text.trim_start().trim_start_matches('/');
                if client.consent == Some(true) && rest.split_whitespace().count() > 1 {
                    let triage = self.engine.analyse(rest, None, Some(self.today(now)));
                    if triage.escalation > Level::None {
                        return self
                            .client_text(turn, rest, message_id, MessageKind::Text, now)
                            .await;
                    }
                }
                vec![Say::text(texts::UNKNOWN_COMMAND)]
            }
        };
        Ok((says, false))
    }

    async fn client_button(
        &self,
        client: &Client,
        button: Button,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Say>, bool), FlowError> {
        let today = self.today(now);
        let says = match button {
            Button::Consent(true) => {
                self.db.set_consent(client.id, true, now).await?;
                match self.db.current_treatment(client.id).await? {
                    Some(date) => {
                        self.db.set_state(client.id, State::Ready).await?;
                        vec![Say::text(texts::date_saved(date, today))]
                    }
                    None => {
                        self.db.set_state(client.id, State::AwaitingDate).await?;
                        vec![Say::text(texts::CONSENT_THANKS), self.ask_date()]
                    }
                }
            }
            Button::Consent(false) => {
                self.db.set_consent(client.id, false, now).await?;
                self.db.set_state(client.id, State::New).await?;
                vec![Say::text(texts::no_consent(&self.clinic.clinic))]
            }
            Button::Treated(day) if client.consent == Some(true) => {
                let date = match day {
                    TreatedOn::Today => today,
                    TreatedOn::Yesterday => today - Duration::days(1),
                };
                self.save_date(client, date, now).await?
            }
            Button::Forget(true) if client.state == State::ConfirmForget => {
                self.db.forget_client(client.id).await?;
                // Nothing more is kept about this client, not even this reply.
                return Ok((vec![Say::text(texts::FORGOTTEN)], true));
            }
            Button::Forget(false) => {
                self.db.set_state(client.id, State::Ready).await?;
                vec![Say::text(texts::NOT_FORGOTTEN)]
            }
            // A staff button, a question no longer asked, or data this version does not know.
            Button::Treated(_)
            | Button::Forget(true)
            | Button::Acknowledge(_)
            | Button::Resolve(_)
            | Button::Unknown => vec![Say::text(texts::STALE_BUTTON)],
        };
        Ok((says, false))
    }

    async fn save_date(
        &self,
        client: &Client,
        date: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Vec<Say>, FlowError> {
        self.db.add_treatment(client.id, date, now).await?;
        self.db.set_state(client.id, State::Ready).await?;
        Ok(vec![Say::text(texts::date_saved(date, self.today(now)))])
    }

    async fn client_text(
        &self,
        turn: &ClientTurn,
        text: &str,
        message_id: Option<i64>,
        kind: MessageKind,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Say>, bool), FlowError> {
        let client = &turn.client;
        let today = self.today(now);
        if client.consent != Some(true) {
            // Nothing is stored without consent, but the client still gets the curated answer: an emergency
            // is never left waiting behind a consent question.
            let triage = self.engine.analyse(text, None, Some(today));
            let mut says = vec![Say::text(triage.reply)];
            if triage.escalation > Level::None {
                says.push(Say::text(texts::not_passed_on(&self.clinic.clinic)));
            }
            if client.consent.is_none() {
                self.db.set_state(client.id, State::AwaitingConsent).await?;
                says.push(self.welcome(client));
            }
            return Ok((says, false));
        }
        if client.state == State::AwaitingDate {
            match dates::parse_treatment_date(text, today) {
                Ok(date) => return Ok((self.save_date(client, date, now).await?, false)),
                Err(reason) if looks_like_a_date(text) => {
                    return Ok((vec![Say::text(reason), self.ask_date()], false));
                }
                Err(_) => {}
            }
        }
        let triage = self
            .engine
            .analyse(text, day_since(turn, today), Some(today));
        let (mut says, stored) = self
            .report(turn, &triage, kind, Some(text), None, message_id, now)
            .await?;
        if client.state == State::AwaitingDate {
            says.push(self.ask_date());
            return Ok((says, false));
        }
        if client.state != State::Ready {
            self.db.set_state(client.id, State::Ready).await?;
        }
        Ok((says, stored))
    }

    async fn client_photo(
        &self,
        turn: &ClientTurn,
        file_id: &str,
        caption: Option<&str>,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Say>, bool), FlowError> {
        let client = &turn.client;
        if client.consent != Some(true) {
            let mut says = vec![Say::text(texts::photo_needs_consent(&self.clinic.clinic))];
            if client.consent.is_none() {
                says.push(self.welcome(client));
            }
            return Ok((says, false));
        }
        let today = self.today(now);
        let triage = self.engine.analyse(
            caption.unwrap_or_default(),
            day_since(turn, today),
            Some(today),
        );
        self.report(
            turn,
            &triage,
            MessageKind::Photo,
            caption,
            Some(file_id),
            message_id,
            now,
        )
        .await
    }

    /// Stores the message, escalates when needed (or adds to the open escalation), and says what happens next.
    /// Returns the replies and whether they are stored already.
    #[allow(clippy::too_many_arguments)]
    async fn report(
        &self,
        turn: &ClientTurn,
        triage: &Triage,
        kind: MessageKind,
        text: Option<&str>,
        photo: Option<&str>,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Say>, bool), FlowError> {
        let client = &turn.client;
        // A photo always goes to staff: at least as a routine report.
        let level = if photo.is_some() {
            triage.escalation.max(Level::Routine)
        } else {
            triage.escalation
        };
        let mut says = Vec::new();
        let has_answer =
            photo.is_none() || triage.intent.is_some() || triage.escalation > Level::None;
        if has_answer {
            says.push(Say::text(triage.reply.clone()));
        }
        let message = inbound(client, kind, text, photo, message_id, Some(triage), now);
        if turn.open_escalation.is_none() && level == Level::None {
            // The common case, a question: the message and its answer in one statement.
            let mut rows = vec![message];
            rows.extend(says.iter().map(|say| outbound(client, &say.text, now)));
            self.log.record(rows).await?;
            return Ok((says, true));
        }
        let message = self.db.record_message(&message).await?;
        match turn.open_escalation {
            Some(open) => {
                let raise = (level > Level::None).then_some(level.as_str());
                self.db.attach_message(open, message, raise).await?;
                self.enqueue_staff(open, client, message, photo, text, now)
                    .await?;
                says.push(Say::text(texts::added_to_open(photo.is_some())));
            }
            None => {
                let flags: Vec<String> =
                    triage.flag_labels().into_iter().map(String::from).collect();
                let escalation = self
                    .db
                    .open_escalation_with_alert(
                        client.id,
                        level.as_str(),
                        &flags,
                        message,
                        now,
                        Outbound::Alert.queue(
                            self.staff_chat,
                            None,
                            Some(client.id),
                            format!("alert:{message}"),
                            now,
                        ),
                    )
                    .await?;
                self.outbox_filled();
                tracing::info!(escalation = %escalation.id, level = %level, "escalation opened");
                if let Some(file_id) = photo {
                    self.enqueue_photo(escalation.id, client, message, file_id, text, now)
                        .await?;
                }
                says.push(Say::text(self.next_steps(level, photo.is_some(), now)));
            }
        }
        Ok((says, false))
    }

    async fn enqueue_staff(
        &self,
        escalation_id: ReportId,
        client: &Client,
        message: i64,
        photo: Option<&str>,
        text: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), FlowError> {
        if let Some(file_id) = photo {
            return self
                .enqueue_photo(escalation_id, client, message, file_id, text, now)
                .await;
        }
        self.db
            .enqueue(
                &Outbound::Followup {
                    message_id: message,
                }
                .queue(
                    self.staff_chat,
                    Some(escalation_id),
                    Some(client.id),
                    format!("followup:{message}"),
                    now,
                ),
            )
            .await?;
        self.outbox_filled();
        Ok(())
    }

    async fn enqueue_photo(
        &self,
        escalation_id: ReportId,
        client: &Client,
        message: i64,
        file_id: &str,
        caption: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), FlowError> {
        self.db
            .enqueue(
                &Outbound::Photo {
                    file_id: file_id.to_string(),
                    caption: caption.map(str::to_string),
                    message_id: message,
                }
                .queue(
                    self.staff_chat,
                    Some(escalation_id),
                    Some(client.id),
                    format!("photo:{message}"),
                    now,
                ),
            )
            .await?;
        self.outbox_filled();
        Ok(())
    }

    fn next_steps(&self, level: Level, photo: bool, now: DateTime<Utc>) -> String {
        let local = now.with_timezone(&self.clinic.time_zone);
        let open = self.clinic.hours.is_open(&local);
        let reopens = self
            .clinic
            .hours
            .next_opening(&local)
            .map(|t| t.format("%A at %H:%M").to_string())
            .unwrap_or_else(|| "on its next working day".into());
        texts::next_steps(level, photo, open, &reopens, &self.clinic.clinic)
    }

    /// A staff member pressed Acknowledge or Resolve (already checked to be a member of the staff chat).
    pub async fn on_staff_button(
        &self,
        staff: &Person,
        button: Button,
        now: DateTime<Utc>,
    ) -> Result<String, FlowError> {
        let name = staff.display();
        let (action, id, transition) = match button {
            Button::Acknowledge(id) => {
                let done = self.db.acknowledge(id, staff.user_id, &name, now);
                ("ack", id, done.await?)
            }
            Button::Resolve(id) => {
                let done = self.db.resolve(id, staff.user_id, &name, now);
                ("res", id, done.await?)
            }
            Button::Consent(_) | Button::Treated(_) | Button::Forget(_) | Button::Unknown => {
                return Ok(texts::INVALID_BUTTON.into());
            }
        };
        let escalation = match transition {
            Transition::NotFound => return Ok(texts::ESCALATION_GONE.into()),
            Transition::Already(e) => {
                let by = match e.status {
                    EscalationStatus::Resolved => {
                        format!("resolved by {}", e.resolved_by_name.unwrap_or_default())
                    }
                    _ => format!(
                        "acknowledged by {}",
                        e.acknowledged_by_name.unwrap_or_default()
                    ),
                };
                return Ok(format!("Already {by}."));
            }
            Transition::Done(e) => e,
        };
        tracing::info!(
            escalation = %id,
            action,
            staff = staff.user_id,
            "staff action"
        );
        self.db
            .enqueue(
                &Outbound::AlertUpdate {
                    status: Some(escalation.status),
                }
                .queue(
                    self.staff_chat,
                    Some(id),
                    Some(escalation.client_id),
                    format!("update:{id}:{}", escalation.status.as_str()),
                    now,
                ),
            )
            .await?;
        self.outbox_filled();
        if let Some(client) = self.db.client(escalation.client_id).await? {
            let notice = match escalation.status {
                EscalationStatus::Resolved => texts::resolved_notice(&self.clinic.clinic),
                _ => texts::acknowledged_notice(&self.clinic.clinic),
            };
            self.send_to_client(
                &client,
                &notice,
                Some(id),
                &format!("notice:{id}:{}", escalation.status.as_str()),
                now,
            )
            .await?;
        }
        Ok(match escalation.status {
            EscalationStatus::Resolved => "Resolved. The client has been told.".into(),
            _ => "Acknowledged. The client has been told a nurse has seen it.".into(),
        })
    }

    /// A staff member replied to an alert: the text goes to that client. `None` if it was not about an alert.
    pub async fn on_staff_reply(
        &self,
        staff: &Person,
        staff_message_id: i64,
        replied_to: RepliedTo<'_>,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, FlowError> {
        let recorded = self
            .db
            .escalation_by_staff_message(self.staff_chat, replied_to.message_id)
            .await?;
        // A copy of an alert (Telegram sent it but its answer was lost, so it went again) is not recorded: the
        // report is named in its text.
        let escalation = match (recorded, replied_to.report_number()) {
            (Some(escalation), _) => escalation,
            (None, Some(number)) => match self.db.escalation(number).await? {
                Some(escalation) => escalation,
                None => return Ok(Some(texts::ESCALATION_GONE.into())),
            },
            (None, None) => return Ok(Some(texts::NOT_A_REPORT.into())),
        };
        let Some(client) = self.db.client(escalation.client_id).await? else {
            return Ok(Some(texts::ESCALATION_GONE.into()));
        };
        let relayed = texts::relayed(&self.clinic.clinic, &staff.first_name, text);
        self.send_to_client(
            &client,
            &relayed,
            Some(escalation.id),
            &format!("relay:{staff_message_id}"),
            now,
        )
        .await?;
        Ok(Some(format!("✓ Sent to {}.", client.first_name)))
    }

    async fn send_to_client(
        &self,
        client: &Client,
        text: &str,
        escalation_id: Option<ReportId>,
        dedupe_key: &str,
        now: DateTime<Utc>,
    ) -> Result<(), FlowError> {
        let queued = self
            .db
            .enqueue(
                &Outbound::Client {
                    text: text.to_string(),
                }
                .queue(
                    client.chat_id,
                    escalation_id,
                    Some(client.id),
                    dedupe_key.to_string(),
                    now,
                ),
            )
            .await?;
        self.outbox_filled();
        if queued.is_some() {
            self.db
                .record_message(&NewMessage {
                    escalation_id,
                    ..outbound(client, text, now)
                })
                .await?;
        }
        Ok(())
    }

    /// `/open`, `/history <client>`, `/unanswered`, `/stats` from a member of the staff chat.
    pub async fn on_staff_command(
        &self,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, FlowError> {
        let Some(command) = StaffCommand::parse(text) else {
            return Ok(None);
        };
        let zone = self.clinic.time_zone;
        Ok(Some(match command {
            StaffCommand::Open => {
                alerts::open_list(&self.db.open_escalations().await?, self.today(now), zone)
            }
            StaffCommand::History(argument) if argument.is_empty() => {
                "Usage: /history <name, @username or Telegram id>".into()
            }
            StaffCommand::History(argument) => {
                let found = self.db.find_clients(&argument).await?;
                match found.as_slice() {
                    [] => format!("No client matches {argument:?}."),
                    [client] => {
                        alerts::history(client, &self.db.client_history(client.id, 20).await?, zone)
                    }
                    many => alerts::client_choices(many),
                }
            }
            StaffCommand::Unanswered => alerts::unanswered(&self.db.unanswered(20).await?, zone),
            StaffCommand::Stats => alerts::stats(&self.db.stats(now - Duration::days(7)).await?),
            StaffCommand::Help => texts::STAFF_HELP.into(),
        }))
    }
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

fn outbound(client: &Client, text: &str, now: DateTime<Utc>) -> NewMessage {
    NewMessage {
        client_id: client.id,
        direction: Direction::Out,
        telegram_message_id: None,
        kind: MessageKind::Text,
        text: Some(text.to_string()),
        photo_file_id: None,
        triage: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_of_an_alert_names_its_report_in_the_bots_own_lines_only() {
        let alert = "🔴 URGENT — report #12\nClient: Jane\n[Mon 01 Dec 10:00]\n│ see report #5\nStatus: OPEN";
        let replied = |text| RepliedTo {
            message_id: 1,
            text: Some(text),
        };
        assert_eq!(replied(alert).report_number(), Some(ReportId(12)));
        assert_eq!(
            replied("➕ Jane added at 10:00:\n│ about report #5").report_number(),
            None
        );
        assert_eq!(
            replied("📷 Photo from Jane (report #7):\n│ my cheek").report_number(),
            Some(ReportId(7))
        );
        assert_eq!(
            RepliedTo {
                message_id: 1,
                text: None
            }
            .report_number(),
            None
        );
    }

    #[test]
    fn short_texts_with_digits_or_day_words_are_date_attempts() {
        assert!(looks_like_a_date("21/11"));
        assert!(looks_like_a_date("last monday"));
        assert!(!looks_like_a_date("my face is really red and hot"));
    }
}
