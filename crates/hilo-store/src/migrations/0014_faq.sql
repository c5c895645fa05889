-- Issue 15: the knowledge-file answers an acknowledgement carried (a JSON
-- list of entry ids); a reply "#resuelto" to such an acknowledgement
-- resolves its ticket.
ALTER TABLE messages ADD COLUMN faq TEXT;
