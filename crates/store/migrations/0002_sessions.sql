-- Login and sessions (issue 3): lockout state and language per user, server-side sessions, and
-- the three configurable policies (5 attempts, 10 minutes' lockout, 30 minutes' idle timeout).
ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until TEXT;
ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT 'zh';
ALTER TABLE users ADD COLUMN disabled SMALLINT NOT NULL DEFAULT 0;

-- A session is known by the hash of its cookie token; the token itself is never stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

INSERT INTO settings (key, value) VALUES ('policy.lockout_attempts', '5');
INSERT INTO settings (key, value) VALUES ('policy.lockout_minutes', '10');
INSERT INTO settings (key, value) VALUES ('policy.idle_minutes', '30');
