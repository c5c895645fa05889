-- Outgoing mail composed when it is sent (issue 6): until then `raw` is
-- empty and `draft` holds the JSON of its headers; the text is body_text.
ALTER TABLE messages ADD COLUMN draft TEXT;

-- Nothing reads outbox by creation time alone (the rate limit has
-- outbox_recipients); bounces and ticket views find rows by message.
DROP INDEX outbox_created;
CREATE INDEX outbox_message ON outbox(message_id);

-- From now on messages.new_text is NULL when it equals body_text.
