-- The care timeline (intents/care-plan.toml): whether a client gets its messages, and which steps were sent
-- for which treatment. A step is recorded in the same transaction that queues it, and only once per treatment:
-- instances sharing the database, or a tick after a crash, cannot send it twice.
ALTER TABLE clients ADD COLUMN care_messages BOOLEAN NOT NULL DEFAULT TRUE;

CREATE TABLE care_steps (
    treatment_id BIGINT NOT NULL REFERENCES treatments (id) ON DELETE CASCADE,
    client_id BIGINT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    step TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    -- The client's answer by button: 'fine' or 'worried'; NULL while unanswered.
    answer TEXT CHECK (answer IN ('fine', 'worried')),
    answered_at BIGINT,
    PRIMARY KEY (treatment_id, step)
);
CREATE INDEX care_steps_client_sent_at ON care_steps (client_id, sent_at);
CREATE INDEX care_steps_sent_at ON care_steps (sent_at);
-- The timeline looks for the treatments whose steps may be due today by date.
CREATE INDEX treatments_treated_on ON treatments (treated_on);
