-- The durable inbox: every Telegram update is stored here before Telegram is told it was received, so that a
-- crash between receiving and handling loses nothing. Once handled, `raw` is emptied (nothing of the client's
-- message stays here) and the id is kept a few days so that a redelivery is recognised.
CREATE TABLE inbox (
    update_id BIGINT PRIMARY KEY,
    chat_id BIGINT,
    raw TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    -- Set when the update was handled, or set aside after repeated failures (then `last_error` says why).
    finished_at BIGINT,
    set_aside BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX inbox_unfinished ON inbox (update_id) WHERE finished_at IS NULL;

-- The inbox recognises redeliveries of every update now; the earlier, partial records of them go.
DROP TABLE processed_updates;
ALTER TABLE clients DROP COLUMN last_update_id;
ALTER TABLE clients DROP COLUMN last_update_repeated;
