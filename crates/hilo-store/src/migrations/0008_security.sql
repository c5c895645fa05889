-- Who may join and what one sender may cost (issue 12).

-- How and when each participant joined, shown by `hilo tickets show`.
ALTER TABLE participants ADD COLUMN joined TEXT;
ALTER TABLE participants ADD COLUMN joined_at TEXT;
UPDATE participants SET joined = CASE role
    WHEN 'requester' THEN 'wrote the first message'
    WHEN 'cc' THEN 'in To/Cc of the first message'
    ELSE 'answered as an agent' END
WHERE joined IS NULL;

-- Rate limits count per person, not per spelling of an address: the key is
-- the address with case, plus-suffix (and Gmail's dots) folded away, of the
-- person whose mail caused the row (an acknowledgement's recipient, the
-- customer a notification is about).
ALTER TABLE outbox ADD COLUMN rate_key TEXT;
UPDATE outbox SET rate_key = lower(json_extract(recipients, '$[0]'))
WHERE message_id IN (SELECT id FROM messages WHERE kind = 'ack');
DROP INDEX outbox_recipients;
CREATE INDEX outbox_rate ON outbox(rate_key, created_at) WHERE rate_key IS NOT NULL;
