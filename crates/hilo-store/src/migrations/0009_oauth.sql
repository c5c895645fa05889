-- OAuth2 logins (issue 14): one row per account ("desk:NAME" or "smtp").
CREATE TABLE oauth_tokens (
    account       TEXT PRIMARY KEY,
    -- From `hilo auth login`; rotated whenever the provider returns a new one.
    refresh_token TEXT,
    -- When the last access token expires (none kept: they live in memory).
    expires_at    TEXT,
    updated_at    TEXT NOT NULL,
    -- The last failure to get a token, in plain words, and since when it fails.
    error         TEXT,
    failing_since TEXT,
    -- When the admins were last told (at most once a day).
    alerted_at    TEXT
);
