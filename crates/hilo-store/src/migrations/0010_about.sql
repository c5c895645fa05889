-- Issue 15: a notification remembers the received message it is about, so
-- that an agent's answer to it goes to that message's author.
ALTER TABLE messages ADD COLUMN about INTEGER REFERENCES messages(id);
