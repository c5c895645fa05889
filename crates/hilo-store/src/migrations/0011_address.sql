-- Issue 15: the desk address a ticket's customer wrote to (one of the
-- desk's aliases, or a plus-address); all mail about the ticket goes from
-- it. NULL for tickets of before: the desk's main address.
ALTER TABLE tickets ADD COLUMN address TEXT;
