-- Counterpart schema, version 1. Written once for both backends: `{{ID}}` is the only dialect
-- difference (an auto-generated integer primary key), filled in by store::dialect.
-- Dates are TEXT YYYY-MM-DD, timestamps TEXT RFC 3339 UTC, money BIGINT 分, flags SMALLINT 0/1.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE regions (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    parent_code TEXT REFERENCES regions(code),
    level TEXT NOT NULL,
    prefix TEXT NOT NULL
);
CREATE TABLE region_aliases (
    code TEXT NOT NULL REFERENCES regions(code),
    alias TEXT NOT NULL,
    PRIMARY KEY (code, alias)
);

CREATE TABLE organizations (
    id {{ID}},
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('donor', 'recipient')),
    kind TEXT NOT NULL,
    parent_id BIGINT REFERENCES organizations(id),
    path TEXT NOT NULL DEFAULT '',
    region_code TEXT NOT NULL REFERENCES regions(code),
    credit_code TEXT UNIQUE
);
CREATE INDEX organizations_path ON organizations(path);

CREATE TABLE programs (
    id {{ID}},
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    donor_region TEXT NOT NULL REFERENCES regions(code),
    recipient_region TEXT NOT NULL REFERENCES regions(code),
    start_date TEXT NOT NULL
);

CREATE TABLE batches (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    number BIGINT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT,
    UNIQUE (program_id, number)
);

CREATE TABLE people (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    gender TEXT,
    batch_id BIGINT REFERENCES batches(id),
    category TEXT,
    line TEXT,
    title TEXT,
    post TEXT,
    home_org_id BIGINT REFERENCES organizations(id),
    host_org_id BIGINT REFERENCES organizations(id),
    start_date TEXT,
    end_date TEXT,
    id_number_enc TEXT,
    id_number_hash TEXT,
    id_number_mask TEXT,
    phone_enc TEXT,
    phone_hash TEXT,
    phone_mask TEXT
);
CREATE INDEX people_batch ON people(batch_id);
CREATE INDEX people_id_number_hash ON people(id_number_hash);
CREATE INDEX people_phone_hash ON people(phone_hash);

CREATE TABLE projects (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    batch_id BIGINT REFERENCES batches(id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    sector TEXT NOT NULL,
    region_code TEXT NOT NULL REFERENCES regions(code),
    org_id BIGINT REFERENCES organizations(id),
    planned_start TEXT,
    planned_end TEXT,
    multi_year SMALLINT NOT NULL DEFAULT 0,
    livelihood SMALLINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'approved',
    status_date TEXT
);

CREATE TABLE project_status_events (
    id {{ID}},
    project_id BIGINT NOT NULL REFERENCES projects(id),
    status TEXT NOT NULL,
    date TEXT NOT NULL
);
CREATE INDEX project_status_events_project ON project_status_events(project_id);

CREATE TABLE project_funding (
    id {{ID}},
    project_id BIGINT NOT NULL REFERENCES projects(id),
    year BIGINT NOT NULL,
    source TEXT NOT NULL,
    planned_fen BIGINT NOT NULL CHECK (planned_fen >= 0),
    allocated_fen BIGINT NOT NULL CHECK (allocated_fen >= 0),
    disbursed_fen BIGINT NOT NULL CHECK (disbursed_fen >= 0)
);
CREATE INDEX project_funding_project ON project_funding(project_id);

CREATE TABLE project_outputs (
    id {{ID}},
    project_id BIGINT NOT NULL REFERENCES projects(id),
    kind TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity >= 0),
    unit TEXT NOT NULL
);
CREATE INDEX project_outputs_project ON project_outputs(project_id);

CREATE TABLE pairing_types (
    id {{ID}},
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    party TEXT NOT NULL CHECK (party IN ('org', 'person')),
    builtin SMALLINT NOT NULL DEFAULT 0
);

CREATE TABLE pairings (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    type_code TEXT NOT NULL REFERENCES pairing_types(code),
    a_org_id BIGINT REFERENCES organizations(id),
    b_org_id BIGINT REFERENCES organizations(id),
    a_person_id BIGINT REFERENCES people(id),
    b_person_id BIGINT REFERENCES people(id),
    start_date TEXT NOT NULL,
    end_date TEXT,
    note TEXT
);
CREATE INDEX pairings_type ON pairings(type_code);

CREATE TABLE activity_types (
    id {{ID}},
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    builtin SMALLINT NOT NULL DEFAULT 0
);

CREATE TABLE brands (
    id {{ID}},
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    builtin SMALLINT NOT NULL DEFAULT 0
);

CREATE TABLE activities (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    type_code TEXT NOT NULL REFERENCES activity_types(code),
    brand_code TEXT REFERENCES brands(code),
    title TEXT NOT NULL,
    date TEXT NOT NULL,
    end_date TEXT,
    region_code TEXT NOT NULL REFERENCES regions(code),
    organizer_org_id BIGINT REFERENCES organizations(id),
    project_id BIGINT REFERENCES projects(id),
    pairing_id BIGINT REFERENCES pairings(id),
    participants BIGINT NOT NULL CHECK (participants >= 0),
    beneficiaries BIGINT NOT NULL CHECK (beneficiaries >= 0)
);
CREATE INDEX activities_date ON activities(date);
CREATE INDEX activities_type ON activities(type_code, date);
CREATE INDEX activities_region ON activities(region_code);

CREATE TABLE activity_procedures (
    id {{ID}},
    activity_id BIGINT NOT NULL REFERENCES activities(id),
    kind TEXT NOT NULL,
    cases BIGINT NOT NULL CHECK (cases >= 0)
);
CREATE INDEX activity_procedures_activity ON activity_procedures(activity_id);

CREATE TABLE indicator_defs (
    id {{ID}},
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    unit TEXT NOT NULL,
    scale BIGINT NOT NULL DEFAULT 0,
    combine TEXT NOT NULL,
    numerator TEXT REFERENCES indicator_defs(code),
    denominator TEXT REFERENCES indicator_defs(code),
    factor BIGINT NOT NULL DEFAULT 1,
    higher_is_better SMALLINT NOT NULL DEFAULT 1
);

CREATE TABLE indicator_values (
    id {{ID}},
    indicator_code TEXT NOT NULL REFERENCES indicator_defs(code),
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    period TEXT NOT NULL,
    value BIGINT NOT NULL,
    UNIQUE (indicator_code, org_id, period)
);

CREATE TABLE indicator_targets (
    id {{ID}},
    indicator_code TEXT NOT NULL REFERENCES indicator_defs(code),
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    baseline_period TEXT NOT NULL,
    baseline BIGINT NOT NULL,
    target_period TEXT NOT NULL,
    target BIGINT NOT NULL,
    UNIQUE (indicator_code, org_id)
);

CREATE TABLE achievements (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    org_id BIGINT REFERENCES organizations(id),
    person_id BIGINT REFERENCES people(id),
    date TEXT NOT NULL,
    level BIGINT
);

CREATE TABLE donations (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    kind TEXT NOT NULL,
    description TEXT NOT NULL,
    donor_org_id BIGINT REFERENCES organizations(id),
    recipient_org_id BIGINT NOT NULL REFERENCES organizations(id),
    value_fen BIGINT NOT NULL CHECK (value_fen >= 0),
    date TEXT NOT NULL
);

CREATE TABLE employment_centres (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    name TEXT NOT NULL,
    region_code TEXT NOT NULL REFERENCES regions(code),
    org_id BIGINT REFERENCES organizations(id),
    opened TEXT NOT NULL
);

CREATE TABLE employment_records (
    id {{ID}},
    centre_id BIGINT NOT NULL REFERENCES employment_centres(id),
    period TEXT NOT NULL,
    jobs_offered BIGINT NOT NULL CHECK (jobs_offered >= 0),
    trainees BIGINT NOT NULL CHECK (trainees >= 0),
    placements BIGINT NOT NULL CHECK (placements >= 0),
    UNIQUE (centre_id, period)
);

CREATE TABLE investment_events (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    date TEXT NOT NULL,
    region_code TEXT NOT NULL REFERENCES regions(code),
    orders_fen BIGINT NOT NULL CHECK (orders_fen >= 0)
);

CREATE TABLE investment_projects (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    event_id BIGINT REFERENCES investment_events(id),
    enterprise_org_id BIGINT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    signed_date TEXT NOT NULL,
    region_code TEXT NOT NULL REFERENCES regions(code),
    amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
    jobs BIGINT NOT NULL CHECK (jobs >= 0)
);

CREATE TABLE figure_defs (
    id {{ID}},
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    line TEXT NOT NULL,
    unit TEXT NOT NULL,
    decimals BIGINT NOT NULL,
    description TEXT NOT NULL,
    spec TEXT NOT NULL
);

CREATE TABLE users (
    id {{ID}},
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    org_id BIGINT REFERENCES organizations(id),
    password_hash TEXT NOT NULL,
    must_change_password SMALLINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

-- Append-only: no code path updates or deletes a row of this table.
CREATE TABLE audit_log (
    id {{ID}},
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_id BIGINT,
    source TEXT,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id BIGINT,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_log_object ON audit_log(object_type, object_id);
