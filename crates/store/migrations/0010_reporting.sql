-- The reporting cycle (issue 8). An activity carries its review state (草稿 draft, 已上报
-- submitted, 审核中 in_review, 退回修改 returned, 审核通过 approved, 已汇总 consolidated), the
-- chain level that holds it (0: its reporting unit) and the reason of the last return. Rows
-- written before the cycle existed were approved: the default. Only approved activities count
-- in activity_rollup, which all were.
ALTER TABLE activities ADD COLUMN review_state TEXT NOT NULL DEFAULT 'approved';
ALTER TABLE activities ADD COLUMN review_level BIGINT NOT NULL DEFAULT 0;
ALTER TABLE activities ADD COLUMN review_reason TEXT;
CREATE INDEX activities_review ON activities (review_state, organizer_org_id);

-- The review chain of a program, configuration not code: level 1, 2, … above the reporting
-- unit (县级, 前方指挥部, 省级), each acted at by one or more organizations. A record goes to the
-- organization of the level whose subtree holds its unit, or to the level's only organization.
CREATE TABLE review_chain (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    level BIGINT NOT NULL CHECK (level >= 1),
    name TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    UNIQUE (program_id, level, org_id)
);

-- Which kinds of record a program reports, how often, and the days after a period's end by
-- which they are due. A kind with a schedule starts its users' new records as drafts.
CREATE TABLE reporting_schedules (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    kind TEXT NOT NULL,
    frequency TEXT NOT NULL CHECK (frequency IN ('monthly', 'quarterly', 'yearly')),
    deadline_days BIGINT NOT NULL CHECK (deadline_days >= 0),
    UNIQUE (program_id, kind)
);

-- A reporting period of one kind, with its deadline; locked once approved (审核通过本期) at
-- locked_level, reopened only from that level or above (audited, with a reason).
CREATE TABLE reporting_periods (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    frequency TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    deadline TEXT NOT NULL,
    locked SMALLINT NOT NULL DEFAULT 0,
    locked_level BIGINT,
    locked_at TEXT,
    UNIQUE (program_id, kind, code)
);

-- Which organizations must report in a period, and when each first reported (Beijing date).
CREATE TABLE reporting_assignments (
    id {{ID}},
    period_id BIGINT NOT NULL REFERENCES reporting_periods(id),
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    submitted_on TEXT,
    UNIQUE (period_id, org_id)
);
CREATE INDEX reporting_assignments_org ON reporting_assignments (org_id);
