-- Instants are BIGINT Unix epoch milliseconds, dates TEXT 'YYYY-MM-DD', JSON TEXT (see src/store/mod.rs).
-- Keep in step with ../sqlite/0001_initial_schema.sql.

CREATE TABLE clients (
    id BIGSERIAL PRIMARY KEY,
    telegram_user_id BIGINT NOT NULL UNIQUE,
    chat_id BIGINT NOT NULL,
    first_name TEXT NOT NULL,
    username TEXT,
    consent BOOLEAN,
    consent_at BIGINT,
    state TEXT NOT NULL DEFAULT 'new',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX clients_username_lower ON clients (lower(username));
CREATE INDEX clients_created_at ON clients (created_at);

CREATE TABLE treatments (
    id BIGSERIAL PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    treated_on TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX treatments_client_treated_on ON treatments (client_id, treated_on);

CREATE TABLE processed_updates (
    update_id BIGINT PRIMARY KEY,
    processed_at BIGINT NOT NULL
);

CREATE TABLE escalations (
    id BIGSERIAL PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    level TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    red_flags TEXT NOT NULL DEFAULT '[]',
    first_message_id BIGINT NOT NULL,
    opened_at BIGINT NOT NULL,
    alerted_at BIGINT,
    acknowledged_by_id BIGINT,
    acknowledged_by_name TEXT,
    acknowledged_at BIGINT,
    resolved_by_id BIGINT,
    resolved_by_name TEXT,
    resolved_at BIGINT,
    last_alert_at BIGINT,
    reminder_count INTEGER NOT NULL DEFAULT 0
);
-- At most one unresolved escalation per client: later messages attach to it.
CREATE UNIQUE INDEX escalations_one_unresolved_per_client ON escalations (client_id) WHERE status <> 'resolved';
CREATE INDEX escalations_client ON escalations (client_id);
CREATE INDEX escalations_status_last_alert ON escalations (status, last_alert_at);
CREATE INDEX escalations_opened_at ON escalations (opened_at);

CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    telegram_message_id BIGINT,
    kind TEXT NOT NULL,
    text TEXT,
    photo_file_id TEXT,
    intent TEXT,
    category TEXT,
    escalation TEXT,
    confidence REAL,
    red_flags TEXT,
    escalation_id BIGINT REFERENCES escalations (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX messages_client_created_at ON messages (client_id, created_at);
CREATE INDEX messages_category_created_at ON messages (category, created_at);
CREATE INDEX messages_escalation ON messages (escalation_id);
CREATE INDEX messages_created_at ON messages (created_at);

-- Escalations and messages point at each other; the second reference can only be added once both tables exist.
ALTER TABLE escalations
    ADD CONSTRAINT escalations_first_message_id_fkey FOREIGN KEY (first_message_id) REFERENCES messages (id);

CREATE TABLE alert_messages (
    id BIGSERIAL PRIMARY KEY,
    escalation_id BIGINT NOT NULL REFERENCES escalations (id) ON DELETE CASCADE,
    chat_id BIGINT NOT NULL,
    message_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (chat_id, message_id)
);
CREATE INDEX alert_messages_escalation_kind ON alert_messages (escalation_id, kind);

CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    chat_id BIGINT NOT NULL,
    escalation_id BIGINT REFERENCES escalations (id) ON DELETE CASCADE,
    client_id BIGINT REFERENCES clients (id) ON DELETE CASCADE,
    payload TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    result_message_id BIGINT
);
CREATE INDEX outbox_status_next_attempt ON outbox (status, next_attempt_at);
CREATE INDEX outbox_escalation ON outbox (escalation_id);
CREATE INDEX outbox_client ON outbox (client_id);
