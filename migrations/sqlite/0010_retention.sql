-- Retention keeps the first message of every report still standing: found by this index, not by a scan.
CREATE INDEX escalations_first_message ON escalations (first_message_id);
