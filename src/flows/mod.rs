//! What happens to a message, in one direction: what it needs is loaded in one read, [`decide`] says what it
//! changes and sends (pure), and the decision is committed in one transaction with the update marked handled; the
//! outbox then delivers. Shared by every front end (the Telegram adapter, the local chat), so they behave the
//! same. No Telegram types here.

pub mod alerts;
pub mod button;
pub mod commands;
pub mod dates;
pub mod decide;
pub mod outbound;
pub(crate) mod texts;

use crate::configuration::ClinicSettings;
use crate::engine::{Engine, Level};
use crate::store::{
    Client, ClientId, Db, Escalation, MessageKind, NewMessage, NewOutbox, Priority, SentLog,
    StoreError, Turn, TurnCommitted, TurnLog, UpdateId,
};
pub use crate::store::{OutboxKind, ReportId, State};
pub use button::{Button, Buttons, TreatedOn};
use chrono::{DateTime, Duration, NaiveDate, Utc};
pub use commands::{ClientCommand, StaffCommand};
pub use decide::{
    Context, Conversation, Decision, Input, ReplyTarget, ReportChange, Send, StaffView,
};
pub use outbound::{MAX_MESSAGE_UTF16, Outbound, split_message};
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
    pub fn text(text: impl Into<String>) -> Say {
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
    /// What the decision was based on kept changing under it (another instance acting on the same report).
    #[error("the report changed while it was being acted on, {0} times")]
    KeptChanging(usize),
    #[error("no random numbers from the system: {0}")]
    Random(String),
}

/// The bot's message a staff member replied to, as Telegram quotes it in the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quoted {
    pub message_id: i64,
    pub text: Option<String>,
}

impl Quoted {
    /// The report an alert names ("🔴 URGENT — report #12", "📷 Photo from … (report #12)"), in the bot's own
    /// lines only (see [`alerts::report_named`]).
    fn report_number(&self, texts: &texts::Texts) -> Option<ReportId> {
        alerts::report_named(texts, self.text.as_deref()?)
    }
}

/// Where an input came from: a Telegram update the inbox holds (handled once), or the local terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Update(UpdateId),
    Terminal,
}

impl Origin {
    fn update(self) -> Option<UpdateId> {
        match self {
            Origin::Update(update) => Some(update),
            Origin::Terminal => None,
        }
    }

    /// The outbox's dedupe key for the decision's `place`-th send: the same update can never queue it twice.
    /// The terminal's lines are never delivered twice, so they need none.
    fn dedupe_key(self, place: usize) -> Option<String> {
        match self {
            Origin::Update(update) => Some(format!("u{update}:{place}")),
            Origin::Terminal => None,
        }
    }
}

/// Everything a front end needs to run the conversations.
#[derive(Clone)]
pub struct Service {
    pub db: Db,
    /// The content in use: swapped whole when the intents are reloaded; an update in progress keeps the one it
    /// started with.
    content: Arc<arc_swap::ArcSwap<Engine>>,
    pub clinic: ClinicSettings,
    /// The staff chat, where alerts go.
    pub staff_chat: i64,
    /// Wakes the delivery worker when something is queued.
    pub wake: Arc<tokio::sync::Notify>,
    /// Commits the common turns of concurrent conversations together.
    pub turns: TurnLog,
    /// Records the sends Telegram took at the same moment together.
    pub sent: SentLog,
    /// The chats this process's delivery is sending to now.
    pub chats_in_flight: crate::delivery::ChatsInFlight,
    /// What the operator's `/metrics` shows.
    pub metrics: Arc<crate::operations::Metrics>,
}

/// How often a decision is made again when what it was based on changed before it was stored.
const MAX_DECISIONS: usize = 3;

/// What became of an input.
#[derive(Debug, Clone, PartialEq)]
pub enum Handled {
    /// Decided and stored, its update marked handled and its sends queued.
    Committed(Box<Decision>),
    /// Another attempt stored this update already: nothing was changed or queued this time.
    AlreadyHandled,
}

enum Committed {
    Done,
    AlreadyHandled,
    /// What the decision was based on moved on before it was stored (a report opened, acknowledged or resolved
    /// meanwhile): decide again.
    Stale,
}

impl Service {
    /// The service over `db`, with its group-commit writers started on the current Tokio runtime.
    pub fn start(db: Db, engine: Engine, clinic: ClinicSettings, staff_chat: i64) -> Service {
        let metrics = crate::operations::Metrics::new();
        metrics.content_loaded(engine.intent_count(), engine.version());
        Service {
            turns: TurnLog::start(db.clone()),
            sent: SentLog::start(db.clone()),
            chats_in_flight: Default::default(),
            metrics: Arc::new(metrics),
            db,
            content: Arc::new(arc_swap::ArcSwap::from_pointee(engine)),
            clinic,
            staff_chat,
            wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// The content in use now.
    pub fn engine(&self) -> Arc<Engine> {
        self.content.load_full()
    }

    /// Puts new content in use at once: updates already being decided finish on the one they started with.
    pub fn replace_engine(&self, engine: Engine) {
        self.metrics
            .content_loaded(engine.intent_count(), engine.version());
        self.content.store(Arc::new(engine));
    }

    /// What staff read, in the clinic's words and time zone.
    pub fn staff_words<R>(&self, write: impl FnOnce(alerts::StaffWords<'_>) -> R) -> R {
        let engine = self.engine();
        write(alerts::StaffWords::new(
            engine.texts(),
            self.clinic.time_zone,
        ))
    }

    /// Tells the outbox worker that something is waiting to be sent.
    fn outbox_filled(&self) {
        self.wake.notify_one();
    }

    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        self.conversation(&self.engine()).today(now)
    }

    /// The conversation's rules with this content, for deciding.
    pub fn conversation<'a>(&'a self, engine: &'a Engine) -> Conversation<'a> {
        Conversation {
            engine,
            clinic: &self.clinic,
        }
    }

    /// One input: load what it needs, decide, and commit the decision at once (its replies go out through the
    /// outbox).
    pub async fn handle(
        &self,
        origin: Origin,
        input: &Input,
        now: DateTime<Utc>,
    ) -> Result<Handled, FlowError> {
        // One content for the whole update, even if new intents are put in use meanwhile.
        let engine = self.engine();
        for _ in 0..MAX_DECISIONS {
            let context = self.load(&engine, input, now).await?;
            let deciding = std::time::Instant::now();
            let decision = self.conversation(&engine).decide(&context, input, now);
            self.metrics.decided(deciding.elapsed());
            match self.commit(origin, &decision, now).await? {
                Committed::Done => {
                    self.count_report_changes(&context, &decision, now);
                    return Ok(Handled::Committed(Box::new(decision)));
                }
                Committed::AlreadyHandled => return Ok(Handled::AlreadyHandled),
                Committed::Stale => continue,
            }
        }
        Err(FlowError::KeptChanging(MAX_DECISIONS))
    }

    /// Reports opened and acknowledged, for the operator's metrics, once the decision is stored.
    fn count_report_changes(&self, context: &Context, decision: &Decision, now: DateTime<Utc>) {
        match (&decision.report, context) {
            (Some(ReportChange::Open { level, .. }), _) => self.metrics.report_opened(*level),
            (Some(ReportChange::Acknowledge { .. }), Context::Report(Some((report, _)))) => {
                if let Some(level) = Level::parse(&report.level) {
                    self.metrics
                        .report_acknowledged(level, now - report.opened_at);
                }
            }
            _ => {}
        }
    }

    /// What deciding `input` needs, in one read.
    async fn load(
        &self,
        engine: &Engine,
        input: &Input,
        now: DateTime<Utc>,
    ) -> Result<Context, FlowError> {
        let db = &self.db;
        Ok(match input {
            Input::Client { who, event } => {
                let mut turn = db
                    .client_turn(
                        who.user_id,
                        who.chat_id,
                        &who.first_name,
                        who.username.as_deref(),
                        now,
                    )
                    .await?;
                if let Some(link) = self.opened_link(event, now) {
                    turn.opened_link = Some(db.start_link_use(&link.id.to_string()).await?);
                }
                Context::Client(turn)
            }
            Input::StaffPress {
                button: Button::Acknowledge(report) | Button::Resolve(report),
                ..
            } => Context::Report(self.report_with_client(*report).await?),
            Input::StaffPress { .. } | Input::StrangerCommand { .. } => Context::Nothing,
            Input::StaffReply { replied_to, .. } => {
                let recorded = db
                    .escalation_by_staff_message(self.staff_chat, replied_to.message_id)
                    .await?;
                // A copy of an alert (Telegram sent it but its answer was lost, so it went again) is not
                // recorded: the report is named in its text.
                let report = match (recorded, replied_to.report_number(engine.texts())) {
                    (Some(escalation), _) => Some(escalation.id),
                    (None, Some(number)) => Some(number),
                    (None, None) => None,
                };
                Context::Reply(match report {
                    None => ReplyTarget::NotAReport,
                    Some(report) => match self.report_with_client(report).await? {
                        Some(report) => ReplyTarget::Report(Box::new(report)),
                        None => ReplyTarget::Gone,
                    },
                })
            }
            Input::StaffCommand { command, .. } => Context::Staff(match command {
                StaffCommand::Open => StaffView::Open(db.open_escalations().await?),
                StaffCommand::History(query) => {
                    let found = if query.is_empty() {
                        Vec::new()
                    } else {
                        db.find_clients(query).await?
                    };
                    let messages = match found.as_slice() {
                        [client] => db.client_history(client.id, 20).await?,
                        _ => Vec::new(),
                    };
                    StaffView::History {
                        query: query.clone(),
                        found,
                        messages,
                    }
                }
                StaffCommand::Unanswered => StaffView::Unanswered(db.unanswered(20).await?),
                StaffCommand::Stats => StaffView::Stats(db.stats(now - Duration::days(7)).await?),
                StaffCommand::Link(date) => StaffView::Link {
                    date: date.clone(),
                    id: crate::timeline::start_link::LinkId::random()
                        .map_err(|e| FlowError::Random(e.to_string()))?,
                },
                StaffCommand::Report(date) => {
                    use crate::operations::weekly;
                    let today = self.today(now);
                    let day = if date.is_empty() {
                        Some(today - Duration::days(7))
                    } else {
                        dates::parse_treatment_date(date, today).ok()
                    };
                    StaffView::Week(match day {
                        None => None,
                        Some(day) => Some(Box::new(
                            weekly::picture(
                                db,
                                engine,
                                self.clinic.time_zone,
                                weekly::monday_of(day),
                            )
                            .await?,
                        )),
                    })
                }
                StaffCommand::Due => {
                    let today = self.today(now);
                    let plan = engine.care_plan();
                    let dates = plan
                        .treatment_dates_due_on(today)
                        .zip(plan.treatment_dates_due_on(today + Duration::days(1)));
                    StaffView::Due(match dates {
                        Some(((earliest, _), (_, latest))) => {
                            db.care_timelines(earliest, latest).await?
                        }
                        None => Vec::new(),
                    })
                }
                StaffCommand::Help => StaffView::Help,
            }),
        })
    }

    /// The start link a `/start <token>` carries, if it is the clinic's and still works: then who used it before
    /// is loaded too.
    fn opened_link(
        &self,
        event: &ClientInput,
        now: DateTime<Utc>,
    ) -> Option<crate::timeline::start_link::StartLink> {
        let ClientInput::Text { text, .. } = event else {
            return None;
        };
        let ClientCommand::StartWithLink(token) = ClientCommand::parse(text) else {
            return None;
        };
        let links = self.clinic.start_links.as_ref()?;
        crate::timeline::start_link::StartLink::verify(&token, &links.secret, now).ok()
    }

    async fn report_with_client(
        &self,
        report: ReportId,
    ) -> Result<Option<(Escalation, Client)>, FlowError> {
        let Some(escalation) = self.db.escalation(report).await? else {
            return Ok(None);
        };
        Ok(self
            .db
            .client(escalation.client_id)
            .await?
            .map(|client| (escalation, client)))
    }

    /// Stores a decision in one transaction, together with marking its update handled: either all of it is
    /// stored (its sends queued in the outbox, which delivers them) or none of it. The update is marked first and
    /// only if it is not handled yet, so a second attempt (after a crash, or by another instance) changes and
    /// sends nothing.
    async fn commit(
        &self,
        origin: Origin,
        decision: &Decision,
        now: DateTime<Utc>,
    ) -> Result<Committed, FlowError> {
        if shares_a_commit(decision) {
            let sends = self.outbox_rows(origin, decision, None, None, false, now);
            let queued = !sends.is_empty();
            let turn = Turn {
                update: origin.update(),
                messages: messages(decision, now),
                sends,
                at: now,
            };
            return Ok(match self.turns.commit(turn).await? {
                TurnCommitted::Done => {
                    if queued {
                        self.outbox_filled();
                    }
                    Committed::Done
                }
                TurnCommitted::AlreadyHandled => Committed::AlreadyHandled,
            });
        }
        let mut tx = self.db.write().await?;
        if let Origin::Update(update) = origin
            && !tx.finish_update(update, now).await?
        {
            return Ok(Committed::AlreadyHandled);
        }
        if let Some(client) = decision.client {
            if decision.forget {
                tx.forget_client(client).await?;
            }
            if let Some(consent) = decision.consent {
                tx.set_consent(client, consent, now).await?;
            }
            if let Some(date) = decision.treated_on {
                tx.add_treatment(client, date, now).await?;
            }
            if let Some(state) = decision.state {
                tx.set_state(client, state).await?;
            }
            if let Some(on) = decision.care_messages {
                tx.set_care_messages(client, on).await?;
            }
            if let Some(answer) = decision.check_in {
                tx.answer_check_in(client, answer, now).await?;
            }
            // Someone else used the link since it was read: decide again, and it is refused as used.
            if let Some((link, date)) = &decision.start_link
                && !tx.use_start_link(link, client, *date, now).await?
            {
                return Ok(Committed::Stale);
            }
            if decision.apply_links {
                tx.apply_start_links(client).await?;
            }
        }
        // The client's message first (a report points at it), then the answers kept: one statement.
        let rows = messages(decision, now);
        let ids = tx.record_messages(&rows).await?;
        let inbound = decision.message.as_ref().zip(ids.first().copied());
        let message = inbound.map(|(_, id)| id);
        // Whether a later message raised an open report's level ("and now my throat feels tight"): staff get
        // the report's alert again at its new level, not only a follow-up under the old one.
        let mut raised = false;
        let report = match (&decision.report, inbound) {
            (Some(ReportChange::Open { level, flags }), Some((inbound, message))) => {
                let opened = tx
                    .open_escalation(inbound.client_id, level.as_str(), flags, message, now)
                    .await?;
                // Someone opened one first: this message joins it when decided again.
                let Some(opened) = opened else {
                    return Ok(Committed::Stale);
                };
                tracing::info!(escalation = %opened.id, level = %level, "escalation opened");
                Some(opened.id)
            }
            (Some(ReportChange::Extend { report, raise }), Some((_, message))) => {
                raised = tx
                    .attach_message(*report, message, raise.map(Level::as_str))
                    .await?;
                Some(*report)
            }
            (Some(ReportChange::Acknowledge { report, by }), _) => {
                let done = tx.acknowledge(*report, by.user_id, &by.name, now).await?;
                if done.is_none() {
                    return Ok(Committed::Stale);
                }
                tracing::info!(escalation = %report, action = "ack", staff = by.user_id, "staff action");
                Some(*report)
            }
            (Some(ReportChange::Resolve { report, by }), _) => {
                let done = tx.resolve(*report, by.user_id, &by.name, now).await?;
                if done.is_none() {
                    return Ok(Committed::Stale);
                }
                tracing::info!(escalation = %report, action = "res", staff = by.user_id, "staff action");
                Some(*report)
            }
            (Some(ReportChange::Open { .. } | ReportChange::Extend { .. }), None) | (None, _) => {
                None
            }
        };
        let sends = self.outbox_rows(origin, decision, report, message, raised, now);
        tx.enqueue(&sends).await?;
        tx.commit().await?;
        if !sends.is_empty() {
            self.outbox_filled();
        }
        Ok(Committed::Done)
    }

    /// The decision's sends as outbox rows: its answers first (a long one in parts, the buttons under the last),
    /// then what goes to staff or to a report's client. Their dedupe keys come from the update and each row's
    /// place, so the same update can never queue a row twice.
    fn outbox_rows(
        &self,
        origin: Origin,
        decision: &Decision,
        report: Option<ReportId>,
        message: Option<i64>,
        raised: bool,
        now: DateTime<Utc>,
    ) -> Vec<NewOutbox> {
        // The answers to a client being forgotten are not theirs any more: nothing would be left to delete them.
        let answered = decision.client.filter(|_| !decision.forget);
        let priority = priority(decision);
        let mut rows: Vec<(Outbound, i64, Option<ReportId>, Option<ClientId>)> = Vec::new();
        for say in &decision.replies {
            let parts = split_message(&say.text);
            let last = parts.len() - 1;
            for (i, text) in parts.into_iter().enumerate() {
                let buttons = if i == last {
                    say.buttons.clone()
                } else {
                    Vec::new()
                };
                let reply = Outbound::Reply {
                    text,
                    buttons,
                    reply_to: decision.reply_to,
                };
                rows.push((reply, decision.reply_chat, None, answered));
            }
        }
        let (staff, client) = (self.staff_chat, decision.client);
        for send in &decision.sends {
            if raised && matches!(send, Send::Followup | Send::Photo { .. }) {
                rows.push((Outbound::Alert, staff, report, client));
            }
            rows.push(match send {
                Send::Alert => (Outbound::Alert, staff, report, client),
                Send::Followup => (
                    Outbound::Followup {
                        message_id: message.unwrap_or_default(),
                    },
                    staff,
                    report,
                    client,
                ),
                Send::Photo { file_id, caption } => (
                    Outbound::Photo {
                        file_id: file_id.clone(),
                        caption: caption.clone(),
                        message_id: message.unwrap_or_default(),
                    },
                    staff,
                    report,
                    client,
                ),
                Send::AlertUpdate { report, status } => (
                    Outbound::AlertUpdate {
                        status: Some(*status),
                    },
                    staff,
                    Some(*report),
                    None,
                ),
                Send::QrCode { link, caption } => (
                    Outbound::QrCode {
                        link: link.clone(),
                        caption: caption.clone(),
                    },
                    decision.reply_chat,
                    None,
                    None,
                ),
                Send::WeeklyChart {
                    week,
                    reports_by_day,
                    caption,
                } => (
                    Outbound::WeeklyChart {
                        week: *week,
                        reports_by_day: *reports_by_day,
                        caption: caption.clone(),
                    },
                    decision.reply_chat,
                    None,
                    None,
                ),
                Send::ToClient {
                    report,
                    client,
                    chat_id,
                    text,
                } => (
                    Outbound::Client { text: text.clone() },
                    *chat_id,
                    Some(*report),
                    Some(*client),
                ),
            });
        }
        rows.into_iter()
            .enumerate()
            .map(|(place, (outbound, chat, report, client))| NewOutbox {
                dedupe_key: origin.dedupe_key(place),
                priority,
                ..outbound.queue(chat, report, client, String::new(), now)
            })
            .collect()
    }

    /// What a client is told when their message cannot be stored (the database is away): the curated answer at
    /// once, and for a report that it has not reached the clinic, so they call. The message itself is handled
    /// properly once the database is back.
    pub fn answer_without_storage(&self, text: &str, now: DateTime<Utc>) -> Vec<Say> {
        let engine = self.engine();
        let triage = engine.analyse(text, None, Some(self.today(now)));
        let mut says = vec![Say::text(triage.reply)];
        if triage.escalation > Level::None {
            says.push(Say::text(engine.texts().get(texts::Key::CouldNotPassOn)));
        }
        says
    }
}

/// How soon a decision's sends must go out: those about an emergency report (the answer telling the client what
/// to do now, the alert) before anything else, then an urgent one's, then the rest.
fn priority(decision: &Decision) -> Priority {
    let level = match decision.report {
        Some(ReportChange::Open { level, .. }) => level,
        Some(ReportChange::Extend {
            raise: Some(level), ..
        }) => level,
        _ => Level::None,
    };
    match level {
        Level::Emergency => Priority::Emergency,
        Level::Urgent => Priority::Urgent,
        Level::None | Level::Routine => Priority::Routine,
    }
}

/// Whether a decision only keeps messages and queues sends (a question and its answer, a staff command or
/// reply): then it is committed with the other such turns ready at the same moment, in one transaction of three
/// statements (see [`TurnLog`]). Anything else (a report, a state, consent or date, forgetting) has its own.
fn shares_a_commit(decision: &Decision) -> bool {
    decision.report.is_none()
        && !decision.forget
        && decision.consent.is_none()
        && decision.treated_on.is_none()
        && decision.state.is_none()
        && decision.care_messages.is_none()
        && decision.check_in.is_none()
        && decision.start_link.is_none()
        && !decision.apply_links
}

/// The messages a decision keeps, in order: the client's own first (a report points at it), the answers kept
/// with it, and what is sent to a report's client.
fn messages(decision: &Decision, now: DateTime<Utc>) -> Vec<NewMessage> {
    let mut rows: Vec<NewMessage> = decision.message.iter().cloned().collect();
    if let Some(client) = decision.client.filter(|_| decision.keep_replies) {
        rows.extend(
            decision
                .replies
                .iter()
                .map(|say| NewMessage::from_bot(client, &say.text, None, now)),
        );
    }
    rows.extend(decision.sends.iter().filter_map(|send| match send {
        Send::ToClient {
            report,
            client,
            text,
            ..
        } => Some(NewMessage::from_bot(*client, text, Some(*report), now)),
        _ => None,
    }));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_of_an_alert_names_its_report_in_the_bots_own_lines_only() {
        let engine =
            crate::engine::Engine::embedded(&crate::engine::Clinic::default()).expect("intents");
        let texts = engine.texts();
        let alert = "🔴 URGENT — report #12\nClient: Jane\n[Mon 01 Dec 10:00]\n│ see report #5\nStatus: OPEN";
        let replied = |text: &str| Quoted {
            message_id: 1,
            text: Some(text.to_string()),
        };
        assert_eq!(replied(alert).report_number(texts), Some(ReportId(12)));
        assert_eq!(
            replied("➕ Jane added at 10:00:\n│ about report #5").report_number(texts),
            None
        );
        assert_eq!(
            replied("📷 Photo from Jane (report #7):\n│ my cheek").report_number(texts),
            Some(ReportId(7))
        );
        assert_eq!(
            Quoted {
                message_id: 1,
                text: None
            }
            .report_number(texts),
            None
        );
    }
}
