//! Clients, their consent and dialogue state, their treatments, and forgetting them.

use chrono::{DateTime, NaiveDate, Utc};

use super::columns::{date, instant, millis, optional_instant};
use super::{ClientId, Db, ReportId, StoreError};

text_enum! {
    /// Where a client's conversation stands, stored as this text in `clients.state`.
    pub enum State {
        /// Nothing asked yet, or consent declined.
        New => "new",
        /// The consent question is waiting for an answer.
        AwaitingConsent => "awaiting_consent",
        /// The treatment date is asked for: a text that reads as a date sets it.
        AwaitingDate => "awaiting_date",
        /// Questions and reports.
        Ready => "ready",
        /// `/forget` was sent: "yes, delete everything" is waiting to be pressed.
        ConfirmForget => "confirm_forget",
    }
}

impl State {
    /// The one place a stored state is read. A value this version does not know (written by a newer version, or
    /// by hand) is read as [`State::New`], which asks nothing of the client and allows nothing destructive, and
    /// the next turn stores a known state again: the same as any unknown value did when the state was a string.
    pub(crate) fn from_stored(client_id: ClientId, text: &str) -> State {
        State::from_text(text).unwrap_or_else(|| {
            tracing::warn!(
                client = %client_id,
                "unknown dialogue state stored; read as \"new\""
            );
            State::New
        })
    }
}

/// How many clients a staff search returns at most.
const FIND_LIMIT: i64 = 10;

/// A person who wrote to the bot.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: ClientId,
    pub telegram_user_id: i64,
    pub chat_id: i64,
    pub first_name: String,
    pub username: Option<String>,
    /// `None` until the client has answered the consent question.
    pub consent: Option<bool>,
    pub consent_at: Option<DateTime<Utc>>,
    /// The dialogue state; [`State::New`] for a client never seen before.
    pub state: State,
    /// Whether the care timeline's messages (check-ins, rebooking reminders) are sent to them: `/reminders`.
    pub care_messages: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A client with what one conversation turn needs to know about them.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientTurn {
    pub client: Client,
    pub treated_on: Option<NaiveDate>,
    /// The escalation not yet resolved, if any.
    pub open_escalation: Option<ReportId>,
    /// The treatment date of a start link the client opened, waiting for their consent to be recorded.
    pub link_date: Option<NaiveDate>,
    /// For `/start` from a start link: who used that link before, if anyone (loaded only then).
    pub opened_link: Option<super::LinkUse>,
}

#[derive(sqlx::FromRow)]
struct ClientTurnRow {
    #[sqlx(flatten)]
    client: ClientRow,
    current_treated_on: Option<String>,
    open_escalation_id: Option<ReportId>,
    pending_link_date: Option<String>,
}

/// The select list of a [`ClientTurnRow`]: the client with its current treatment date and open escalation.
macro_rules! client_turn_columns {
    () => {
        "*,
         (SELECT t.treated_on FROM treatments t WHERE t.client_id = clients.id
          ORDER BY t.id DESC LIMIT 1) AS current_treated_on,
         (SELECT e.id FROM escalations e WHERE e.client_id = clients.id AND e.status <> 'resolved'
          ORDER BY e.id DESC LIMIT 1) AS open_escalation_id,
         (SELECT l.treated_on FROM start_links_used l WHERE l.client_id = clients.id AND NOT l.applied
          ORDER BY l.used_at DESC LIMIT 1) AS pending_link_date"
    };
}

impl ClientTurnRow {
    fn into_turn(self) -> Result<ClientTurn, StoreError> {
        Ok(ClientTurn {
            client: self.client.try_into()?,
            treated_on: self
                .current_treated_on
                .map(|text| date("treatments.treated_on", &text))
                .transpose()?,
            open_escalation: self.open_escalation_id,
            link_date: self
                .pending_link_date
                .map(|text| date("start_links_used.treated_on", &text))
                .transpose()?,
            opened_link: None,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ClientRow {
    id: ClientId,
    telegram_user_id: i64,
    chat_id: i64,
    first_name: String,
    username: Option<String>,
    consent: Option<bool>,
    consent_at: Option<i64>,
    state: String,
    care_messages: bool,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;

    fn try_from(row: ClientRow) -> Result<Self, StoreError> {
        Ok(Client {
            id: row.id,
            telegram_user_id: row.telegram_user_id,
            chat_id: row.chat_id,
            first_name: row.first_name,
            username: row.username,
            consent: row.consent,
            consent_at: optional_instant("clients.consent_at", row.consent_at)?,
            state: State::from_stored(row.id, &row.state),
            care_messages: row.care_messages,
            created_at: instant("clients.created_at", row.created_at)?,
            updated_at: instant("clients.updated_at", row.updated_at)?,
        })
    }
}

/// The client half of a joined row. Its columns are selected with [`JOINED_CLIENT_COLUMNS`] so they cannot collide
/// with the other table's `id` or `created_at`.
#[derive(sqlx::FromRow)]
pub(crate) struct JoinedClientRow {
    #[sqlx(rename = "c_id")]
    id: ClientId,
    #[sqlx(rename = "c_telegram_user_id")]
    telegram_user_id: i64,
    #[sqlx(rename = "c_chat_id")]
    chat_id: i64,
    #[sqlx(rename = "c_first_name")]
    first_name: String,
    #[sqlx(rename = "c_username")]
    username: Option<String>,
    #[sqlx(rename = "c_consent")]
    consent: Option<bool>,
    #[sqlx(rename = "c_consent_at")]
    consent_at: Option<i64>,
    #[sqlx(rename = "c_state")]
    state: String,
    #[sqlx(rename = "c_care_messages")]
    care_messages: bool,
    #[sqlx(rename = "c_created_at")]
    created_at: i64,
    #[sqlx(rename = "c_updated_at")]
    updated_at: i64,
}

impl TryFrom<JoinedClientRow> for Client {
    type Error = StoreError;

    fn try_from(row: JoinedClientRow) -> Result<Self, StoreError> {
        Client::try_from(ClientRow {
            id: row.id,
            telegram_user_id: row.telegram_user_id,
            chat_id: row.chat_id,
            first_name: row.first_name,
            username: row.username,
            consent: row.consent,
            consent_at: row.consent_at,
            state: row.state,
            care_messages: row.care_messages,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The select list for a [`JoinedClientRow`], for queries that join `clients c`.
macro_rules! joined_client_columns {
    () => {
        "c.id AS c_id, c.telegram_user_id AS c_telegram_user_id, c.chat_id AS c_chat_id, \
         c.first_name AS c_first_name, c.username AS c_username, c.consent AS c_consent, \
         c.consent_at AS c_consent_at, c.state AS c_state, c.care_messages AS c_care_messages, \
         c.created_at AS c_created_at, \
         c.updated_at AS c_updated_at"
    };
}
pub(crate) use joined_client_columns;

/// Escapes `%`, `_` and the escape character itself so user input matches literally inside a LIKE pattern.
fn like_literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

impl Db {
    /// Creates the client on first contact; afterwards keeps its chat and names current (they can change in
    /// Telegram) without touching consent, state or `created_at`.
    pub async fn upsert_client(
        &self,
        telegram_user_id: i64,
        chat_id: i64,
        first_name: &str,
        username: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Client, StoreError> {
        let turn = self
            .client_turn(telegram_user_id, chat_id, first_name, username, now)
            .await?;
        Ok(turn.client)
    }

    /// [`Db::upsert_client`] for a conversation turn: also returns the current treatment date and the open
    /// escalation. A known client whose chat and names are unchanged costs one read; otherwise one write. (Each
    /// statement is a hand-off to SQLite's worker thread, and each write a commit, which bound the bot's
    /// throughput; see benches/bot_throughput.rs.) `updated_at` is when the chat or names last changed. A Telegram
    /// update delivered twice is recognised earlier, by the inbox.
    pub async fn client_turn(
        &self,
        telegram_user_id: i64,
        chat_id: i64,
        first_name: &str,
        username: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ClientTurn, StoreError> {
        // Most turns are from a client already known under the same names: a read, no write to commit.
        let known: Option<ClientTurnRow> = on_pool!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT ",
                client_turn_columns!(),
                " FROM clients WHERE telegram_user_id = $1"
            ))
            .bind(telegram_user_id)
            .fetch_optional(pool)
            .await?
        });
        let unchanged = |row: &ClientTurnRow| {
            row.client.chat_id == chat_id
                && row.client.first_name == first_name
                && row.client.username.as_deref() == username
        };
        if let Some(row) = known.filter(unchanged) {
            return row.into_turn();
        }
        let row: ClientTurnRow = on_pool!(self, pool => {
            sqlx::query_as(concat!(
                "INSERT INTO clients (telegram_user_id, chat_id, first_name, username, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $5)
                 ON CONFLICT (telegram_user_id) DO UPDATE SET
                     chat_id = excluded.chat_id,
                     first_name = excluded.first_name,
                     username = excluded.username,
                     updated_at = excluded.updated_at
                 RETURNING ",
                client_turn_columns!()
            ))
            .bind(telegram_user_id)
            .bind(chat_id)
            .bind(first_name)
            .bind(username)
            .bind(millis(now))
            .fetch_one(pool)
            .await?
        });
        row.into_turn()
    }

    pub async fn client(&self, client_id: ClientId) -> Result<Option<Client>, StoreError> {
        let row: Option<ClientRow> = on_pool!(self, pool => {
            sqlx::query_as("SELECT * FROM clients WHERE id = $1")
                .bind(client_id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Client::try_from).transpose()
    }

    pub async fn client_by_telegram_id(
        &self,
        telegram_user_id: i64,
    ) -> Result<Option<Client>, StoreError> {
        let row: Option<ClientRow> = on_pool!(self, pool => {
            sqlx::query_as("SELECT * FROM clients WHERE telegram_user_id = $1")
                .bind(telegram_user_id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Client::try_from).transpose()
    }

    /// Staff search: `@username`, `username` or a Telegram user id match exactly (and come first); otherwise any
    /// client whose first name contains the query, ignoring case. At most 10 results.
    ///
    /// Case folding is done by the database's `lower()`, which on SQLite folds ASCII letters only.
    pub async fn find_clients(&self, query: &str) -> Result<Vec<Client>, StoreError> {
        let query = query.trim();
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let username = query.strip_prefix('@').unwrap_or(query).to_lowercase();
        let telegram_user_id = query.parse::<i64>().ok();
        let name_pattern = format!("%{}%", like_literal(&query.to_lowercase()));
        let rows: Vec<ClientRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT * FROM clients
                 WHERE lower(username) = $1
                    OR telegram_user_id = $2
                    OR lower(first_name) LIKE $3 ESCAPE '\\'
                 ORDER BY CASE WHEN lower(username) = $1 OR telegram_user_id = $2 THEN 0 ELSE 1 END,
                          first_name, id
                 LIMIT $4",
            )
            .bind(&username)
            .bind(telegram_user_id)
            .bind(&name_pattern)
            .bind(FIND_LIMIT)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Client::try_from).collect()
    }

    pub async fn set_consent(
        &self,
        client_id: ClientId,
        consent: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        tx.set_consent(client_id, consent, now).await?;
        tx.commit().await
    }

    pub async fn set_state(&self, client_id: ClientId, state: State) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        tx.set_state(client_id, state).await?;
        tx.commit().await
    }

    /// Records a treatment date. Dates may arrive out of order; the latest date is the current treatment.
    pub async fn add_treatment(
        &self,
        client_id: ClientId,
        treated_on: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        tx.add_treatment(client_id, treated_on, now).await?;
        tx.commit().await
    }

    /// The client's current treatment date: the one entered last (a later entry corrects or replaces it).
    pub async fn current_treatment(
        &self,
        client_id: ClientId,
    ) -> Result<Option<NaiveDate>, StoreError> {
        let treated_on: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT treated_on FROM treatments WHERE client_id = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(client_id)
            .fetch_optional(pool)
            .await?
        });
        treated_on
            .map(|text| date("treatments.treated_on", &text))
            .transpose()
    }

    /// Deletes everything stored about the client in one transaction (see [`super::WriteTx::forget_client`]).
    /// Returns `false` if there was no such client.
    pub async fn forget_client(&self, client_id: ClientId) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let deleted = tx.forget_client(client_id).await?;
        tx.commit().await?;
        Ok(deleted)
    }
}

/// Turns "no row was updated" into [`StoreError::NotFound`].
pub(crate) fn expect_one(
    rows_affected: u64,
    what: &'static str,
    id: i64,
) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::NotFound { what, id })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{ClientId, State, like_literal};

    #[test]
    fn like_wildcards_in_user_input_match_literally() {
        assert_eq!(like_literal(r"50%_off\"), r"50\%\_off\\");
    }

    #[test]
    fn states_are_stored_as_their_old_text_and_read_back() {
        for (state, text) in [
            (State::New, "new"),
            (State::AwaitingConsent, "awaiting_consent"),
            (State::AwaitingDate, "awaiting_date"),
            (State::Ready, "ready"),
            (State::ConfirmForget, "confirm_forget"),
        ] {
            assert_eq!(state.as_str(), text);
            assert_eq!(State::from_stored(ClientId(1), text), state);
        }
    }

    #[test]
    fn an_unknown_stored_state_is_read_as_new() {
        for text in ["", "READY", "awaiting_treatment_date", "confirm_forget "] {
            assert_eq!(
                State::from_stored(ClientId(1), text),
                State::New,
                "{text:?}"
            );
        }
    }
}
