-- Emergency answers go out before anything else: a delivery pass takes the chats with the highest priority first
-- (0 routine, 1 urgent, 2 emergency), each chat's sends still in the order they were queued.
ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
