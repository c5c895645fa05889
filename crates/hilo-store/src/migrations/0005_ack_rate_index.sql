-- The acknowledgement rate limit looks up recent rows by recipient; without
-- this index it scanned every row of the window for each new ticket.
CREATE INDEX outbox_recipients ON outbox(recipients, created_at);
