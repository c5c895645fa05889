-- Issue 21: an agent's answer that was not sent (no proof, the loop
-- breaker) can be sent at the agent's word (#enviar), once: when it was.
ALTER TABLE messages ADD COLUMN released_at TEXT;
