-- Agents (issue 5).
ALTER TABLE tickets ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE tickets ADD COLUMN assignee TEXT;
-- Closing resolved tickets after close_after_days.
CREATE INDEX tickets_status_updated ON tickets(status, updated_at);
