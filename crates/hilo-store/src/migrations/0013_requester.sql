-- Issue 15: a new mail is compared with its requester's open tickets.
CREATE INDEX tickets_requester ON tickets(requester, desk);
