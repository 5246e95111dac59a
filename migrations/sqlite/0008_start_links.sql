-- Start links (src/timeline/start_link.rs): a link is signed, so the bot trusts its treatment date without having
-- stored it; this table makes each link work once. A row is written when a client opens the link; its date is
-- recorded as their treatment once they agree to keep their messages (`applied`). Forgetting a client keeps the
-- row (the link stays used) but not who used it.
CREATE TABLE start_links_used (
    link_id TEXT PRIMARY KEY,
    client_id BIGINT REFERENCES clients (id) ON DELETE SET NULL,
    treated_on TEXT NOT NULL,
    used_at BIGINT NOT NULL,
    applied BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX start_links_used_client ON start_links_used (client_id) WHERE NOT applied;
