-- Issue 15: merging tickets, and undoing it.
ALTER TABLE tickets ADD COLUMN merged_into INTEGER REFERENCES tickets(id);
CREATE INDEX tickets_merged_into ON tickets(merged_into) WHERE merged_into IS NOT NULL;

-- One row per merge; undone_at is set by `hilo tickets unmerge`.
CREATE TABLE merges (
    id            INTEGER PRIMARY KEY,
    from_ticket   INTEGER NOT NULL REFERENCES tickets(id),
    into_ticket   INTEGER NOT NULL REFERENCES tickets(id),
    actor         TEXT NOT NULL,
    at            TEXT NOT NULL,
    -- The source's status before it closed as merged, restored by unmerge.
    status_before TEXT NOT NULL,
    undone_at     TEXT
);
CREATE INDEX merges_from ON merges(from_ticket);

-- What a merge moved, so that unmerge moves exactly that back: a message
-- (its row), or a participant added to the target (its address).
CREATE TABLE merge_moves (
    merge_id    INTEGER NOT NULL REFERENCES merges(id),
    message     INTEGER REFERENCES messages(id),
    participant TEXT
);
CREATE INDEX merge_moves_merge ON merge_moves(merge_id);
