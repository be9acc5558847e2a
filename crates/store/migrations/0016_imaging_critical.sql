-- The remote imaging centre (issue 20), critical results (危急值): a finding the reader flags from
-- the centre's list (`settings`, `imaging_critical_list`; the defaults in
-- `domain::imaging::CRITICAL_FINDINGS`), whose 30-minute clock runs until the centre records who
-- at the requesting hospital was told, when, how, and what they read back.
CREATE TABLE imaging_critical (
    id {{ID}},
    request_id BIGINT NOT NULL REFERENCES imaging_requests(id),
    finding TEXT NOT NULL,
    note TEXT,
    flagged_by BIGINT REFERENCES users(id),
    flagged_at TEXT NOT NULL,
    -- 'open' until the notice is recorded, then 'closed'.
    state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    told_name TEXT,
    channel TEXT,
    told_at TEXT,
    read_back TEXT,
    recorded_by BIGINT REFERENCES users(id),
    recorded_at TEXT
);
CREATE INDEX imaging_critical_state ON imaging_critical (state, flagged_at);
CREATE INDEX imaging_critical_request ON imaging_critical (request_id);
