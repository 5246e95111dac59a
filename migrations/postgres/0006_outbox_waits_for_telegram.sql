-- A send whose last attempt failed because Telegram itself failed (a 5xx answer, no answer at all): until it is
-- tried again, the less pressing sends are not due, so that when Telegram answers again the emergency answers go
-- first. A claim clears the mark.
ALTER TABLE outbox ADD COLUMN waits_for_telegram BOOLEAN NOT NULL DEFAULT FALSE;
-- Looked for in every delivery pass: usually none.
CREATE INDEX outbox_waiting_for_telegram ON outbox (priority, next_attempt_at)
    WHERE status = 'pending' AND waits_for_telegram;
