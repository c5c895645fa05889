-- Threading and loop safety (issue 4).

-- The message's own new text: quoted history and signature removed.
ALTER TABLE messages ADD COLUMN new_text TEXT;
-- Outlook's conversation id: the first 22 bytes of Thread-Index, base64.
ALTER TABLE messages ADD COLUMN thread_root TEXT;
CREATE INDEX messages_thread_root ON messages(desk, thread_root) WHERE thread_root IS NOT NULL;

-- When the ticket was last closed (for reopen_days).
ALTER TABLE tickets ADD COLUMN closed_at TEXT;

-- Acknowledgement rate limit per recipient: recent rows by time.
CREATE INDEX outbox_created ON outbox(created_at);
