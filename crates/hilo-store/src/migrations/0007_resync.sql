-- When intake first started on a folder. After a UIDVALIDITY reset with
-- start_from = "now", mail received before it is left alone again.
-- Existing rows get their last update: later than the true start, so at
-- worst more old mail is left alone, never more acknowledged.
ALTER TABLE checkpoints ADD COLUMN started_at TEXT;
UPDATE checkpoints SET started_at = updated_at WHERE started_at IS NULL;
-- The stored messages of a folder by UID: the crash sweep moves only those.
CREATE INDEX messages_folder_uid ON messages(desk, folder, uid) WHERE uid IS NOT NULL;
