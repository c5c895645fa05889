-- hilo schema, version 1. Timestamps are UTC RFC 3339 text with milliseconds
-- ("2026-11-29T22:34:45.123Z"), so text order is time order.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- The ticket number is the rowid: unique across desks, never reused.
CREATE TABLE tickets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    desk           TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('new','open','pending','resolved','closed')),
    subject        TEXT NOT NULL,
    requester      TEXT NOT NULL,
    requester_name TEXT,
    linked_to      INTEGER REFERENCES tickets(id),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX tickets_desk_status ON tickets(desk, status);

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER REFERENCES tickets(id),   -- NULL: set aside
    desk        TEXT NOT NULL,
    direction   TEXT NOT NULL CHECK (direction IN ('in','out')),
    kind        TEXT NOT NULL,
    -- Message-ID, or sha256 of the bytes when there is none: a message is stored once per desk.
    dedup_key   TEXT NOT NULL,
    message_id  TEXT,
    in_reply_to TEXT,           -- space-separated ids, no angle brackets
    refs        TEXT,           -- space-separated ids, no angle brackets
    from_addr   TEXT NOT NULL,
    from_name   TEXT,
    to_addrs    TEXT NOT NULL,  -- JSON array of addresses
    cc_addrs    TEXT NOT NULL,  -- JSON array of addresses
    subject     TEXT NOT NULL,
    date        TEXT,
    body_text   TEXT NOT NULL,
    note        TEXT,           -- why it was set aside, and similar
    raw         BLOB NOT NULL,
    folder      TEXT,
    uid         INTEGER,
    created_at  TEXT NOT NULL,
    UNIQUE (desk, dedup_key)
);
CREATE INDEX messages_message_id ON messages(message_id);
CREATE INDEX messages_ticket ON messages(ticket_id);

CREATE TABLE participants (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    address   TEXT NOT NULL,
    name      TEXT,
    role      TEXT NOT NULL CHECK (role IN ('requester','cc','agent')),
    PRIMARY KEY (ticket_id, address)
);

CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    message_id   INTEGER NOT NULL REFERENCES messages(id),
    filename     TEXT,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content      BLOB NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);

-- Ticket history: who did what, when.
CREATE TABLE events (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    detail    TEXT
);
CREATE INDEX events_ticket ON events(ticket_id);

-- Every outgoing mail is a row here before any SMTP connection is made.
-- The bytes are those of the referenced (direction 'out') message.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER NOT NULL REFERENCES messages(id),
    envelope_from   TEXT NOT NULL,
    recipients      TEXT NOT NULL,  -- JSON array
    status          TEXT NOT NULL CHECK (status IN ('pending','sent','failed','undeliverable')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,           -- a sender owns the row until then
    expires_at      TEXT NOT NULL,
    last_error      TEXT,
    sent_at         TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);

-- Where each desk's mailbox intake stands. Advanced only in the transaction
-- that stored the messages up to last_uid.
CREATE TABLE checkpoints (
    desk         TEXT NOT NULL,
    folder       TEXT NOT NULL,
    uid_validity INTEGER NOT NULL,
    last_uid     INTEGER NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (desk, folder)
);

-- Bytes that could not be parsed: kept, listable, retryable.
CREATE TABLE quarantine (
    id         INTEGER PRIMARY KEY,
    desk       TEXT NOT NULL,
    folder     TEXT,
    uid        INTEGER,
    reason     TEXT NOT NULL,
    digest     TEXT NOT NULL,   -- sha256 of raw: the same bytes are kept once per desk
    raw        BLOB NOT NULL,
    created_at TEXT NOT NULL,
    retried_at TEXT,
    UNIQUE (desk, digest)
);
