-- Intake robustness (issue 3).

-- UIDs up to backlog_until were in the folder before hilo first looked at it
-- (start_from = "all"): they become tickets without acknowledgements, also
-- when the import is interrupted and resumed.
ALTER TABLE checkpoints ADD COLUMN backlog_until INTEGER NOT NULL DEFAULT 0;

-- Who holds an outbox lease ("host:pid"), so a sender that died gives its
-- rows back at once instead of when the lease runs out.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
