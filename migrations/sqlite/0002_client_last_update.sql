-- Deduplicating a client's updates on the client row (update ids only grow, and one chat's updates are
-- handled in order): one statement per conversation turn instead of an extra insert per update.
ALTER TABLE clients ADD COLUMN last_update_id BIGINT;
ALTER TABLE clients ADD COLUMN last_update_repeated BOOLEAN NOT NULL DEFAULT FALSE;
