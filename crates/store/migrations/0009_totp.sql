-- Two-factor login (issue 7): TOTP (RFC 6238). A user's shared secret is encrypted like every
-- other secret at rest (SM4-GCM, so key rotation encrypts it again); it is in force once a code
-- confirmed it (totp_enabled). totp_last_step is the last step whose code was accepted: a code
-- for that step or an earlier one is refused (no replay).
ALTER TABLE users ADD COLUMN totp_secret_enc TEXT;
ALTER TABLE users ADD COLUMN totp_enabled SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- A session after the password and before the code (or before a required enrolment) reaches
-- nothing but the code page, the enrolment page and logout. Recovery codes made at enrolment
-- wait here, encrypted, until the recovery page shows them once.
ALTER TABLE sessions ADD COLUMN second_factor_pending SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN recovery_enc TEXT;

-- Ten single-use recovery codes per user, kept as SM3 over a random salt and the code (not the
-- data key: they survive a key rotation); used_at marks a spent one.
CREATE TABLE recovery_codes (
    id {{ID}},
    user_id BIGINT NOT NULL REFERENCES users(id),
    salt TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id);

-- Failed sign-ins (a wrong password or code, an unknown user) by source address, for the
-- throttle: more than ten from one address in fifteen minutes and the address waits.
CREATE TABLE login_failures (
    id {{ID}},
    source TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX login_failures_source ON login_failures(source, at);
