-- Personal API tokens (issue 5): a script authenticates with `Authorization: Bearer cpt_…`.
-- The token is shown once when created; only its keyed hash (HMAC-SM3, as for sessions) is
-- stored, with its first characters to tell tokens apart. A token expires, and can be revoked.
CREATE TABLE api_tokens (
    id {{ID}},
    user_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);
