-- One chat's sends go out in order: a send is due only while no earlier pending send of its chat is waiting.
-- This index finds a chat's pending sends without reading the sent ones.
CREATE INDEX outbox_pending_by_chat ON outbox (chat_id, id) WHERE status = 'pending';
