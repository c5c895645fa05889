-- Issue 23: the daily digest of each desk, recorded in the transaction
-- that queues it, so that it goes once a day across restarts.
CREATE TABLE digests (
    desk    TEXT NOT NULL,
    day     TEXT NOT NULL,   -- the local date, YYYY-MM-DD
    sent_at TEXT NOT NULL,
    PRIMARY KEY (desk, day)
);
