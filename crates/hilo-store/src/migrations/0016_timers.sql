-- Issue 23: when a ticket's service-level clocks next need a look (a
-- warning point or a due time), so that the timer wakes for the earliest
-- one instead of measuring every ticket. '': changed since it was last
-- measured (it sorts first: one index range finds those and the due); '9999-12-31T00:00:00.000Z': nothing to wait for (no target,
-- paused, or every clock stopped) until it changes.
ALTER TABLE tickets ADD COLUMN sla_next_at TEXT NOT NULL DEFAULT '';
CREATE INDEX tickets_sla_next ON tickets(sla_next_at) WHERE status <> 'closed';

-- Anything that can move a clock marks the ticket to be measured again:
-- a status or priority change, a touch, and mail added to it or moved.
CREATE TRIGGER tickets_sla_changed AFTER UPDATE OF status, priority, updated_at ON tickets
WHEN NEW.sla_next_at <> ''
BEGIN
    UPDATE tickets SET sla_next_at = '' WHERE id = NEW.id;
END;
CREATE TRIGGER messages_sla_added AFTER INSERT ON messages
WHEN NEW.ticket_id IS NOT NULL
BEGIN
    UPDATE tickets SET sla_next_at = '' WHERE id = NEW.ticket_id AND sla_next_at <> '';
END;
CREATE TRIGGER messages_sla_moved AFTER UPDATE OF ticket_id ON messages
BEGIN
    UPDATE tickets SET sla_next_at = ''
     WHERE id IN (OLD.ticket_id, NEW.ticket_id) AND sla_next_at <> '';
END;
