-- The weekly picture for staff: each week's is queued once, recorded in the transaction that queues it.
CREATE TABLE weekly_reports (
    week TEXT PRIMARY KEY,
    queued_at BIGINT NOT NULL
);
