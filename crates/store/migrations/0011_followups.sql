-- Early warnings, follow-up orders and notifications (issue 8). The warning thresholds of a
-- program are a setting (`settings`, key `warning_thresholds:<program id>`, JSON), the warnings
-- themselves are computed, never stored.

-- A follow-up order (督办): what must be fixed, by which organization, by when; opened against a
-- project, a warning (its rule, on a project or an organization) or an organization. State:
-- open 待办理 → answered 已答复 → closed 已办结, or returned 退回重办 → answered …
CREATE TABLE follow_ups (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    target TEXT NOT NULL CHECK (target IN ('project', 'warning', 'org')),
    project_id BIGINT REFERENCES projects(id),
    rule TEXT,
    assignee_org_id BIGINT NOT NULL REFERENCES organizations(id),
    title TEXT NOT NULL,
    requirement TEXT NOT NULL,
    due TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    answer TEXT,
    answered_on TEXT,
    return_reason TEXT,
    closed_on TEXT,
    opened_by BIGINT REFERENCES users(id),
    opened_at TEXT NOT NULL
);
CREATE INDEX follow_ups_assignee ON follow_ups (assignee_org_id, state);

-- The evidence an answer carries (整改材料): the file as base64 text, the same on both backends.
CREATE TABLE follow_up_files (
    id {{ID}},
    follow_up_id BIGINT NOT NULL REFERENCES follow_ups(id),
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data TEXT NOT NULL,
    uploaded_by BIGINT REFERENCES users(id),
    uploaded_at TEXT NOT NULL
);

-- The address the e-mail sender writes to.
ALTER TABLE users ADD COLUMN email TEXT;

-- A user's notifications (the bell): due reports, returns, warnings, orders. `dedupe` keeps a
-- notice from being given twice (the daily digest of a day, the due notice of a period). `mail`
-- is set when the user had an address as the notice was given; `mailed_at` is when the e-mail
-- sender's relay accepted it, `mail_error` why the relay refused it for good (not tried again).
CREATE TABLE notifications (
    id {{ID}},
    user_id BIGINT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    link TEXT NOT NULL DEFAULT '',
    dedupe TEXT,
    created_at TEXT NOT NULL,
    read_at TEXT,
    mail SMALLINT NOT NULL DEFAULT 0,
    mailed_at TEXT,
    mail_error TEXT,
    UNIQUE (user_id, dedupe)
);
CREATE INDEX notifications_unread ON notifications (user_id, read_at);
CREATE INDEX notifications_mail ON notifications (mail, mailed_at);
