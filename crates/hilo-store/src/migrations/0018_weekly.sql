-- Issue 23: the weekly report mail of each desk, recorded in the
-- transaction that queues it, so that it goes once an ISO week across
-- restarts.
CREATE TABLE weekly_reports (
    desk    TEXT NOT NULL,
    week    TEXT NOT NULL,   -- the ISO week of the day it is sent, 2026-W50
    sent_at TEXT NOT NULL,
    PRIMARY KEY (desk, week)
);
