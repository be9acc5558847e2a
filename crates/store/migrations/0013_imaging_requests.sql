-- The remote imaging centre (issue 20), its second part: consultation requests (会诊申请) from the
-- county hospital, routed to the Jiangxi hospital that owns the department asked (院包科) and
-- within it to the experts on its duty roster.

-- The duty roster (排班): who reads for which county-hospital department, with which title, and
-- whether on duty now. The expert is a user of the hospital that owns the department.
CREATE TABLE imaging_experts (
    id {{ID}},
    user_id BIGINT NOT NULL REFERENCES users(id),
    department_org_id BIGINT NOT NULL REFERENCES organizations(id),
    title TEXT NOT NULL CHECK (title IN ('attending', 'associate_chief', 'chief')),
    on_duty SMALLINT NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL,
    UNIQUE (department_org_id, user_id)
);

-- A request. The owner and the pairing are resolved when it is made (the pairing current on that
-- day) and kept: a later change of pairing does not move a request already made. The patient's
-- 身份证号, when given, is encrypted (`_enc`), with its lookup hash and its mask, as everywhere.
CREATE TABLE imaging_requests (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    requesting_org_id BIGINT NOT NULL REFERENCES organizations(id),
    requested_by BIGINT REFERENCES users(id),
    department_org_id BIGINT NOT NULL REFERENCES organizations(id),
    owner_org_id BIGINT NOT NULL REFERENCES organizations(id),
    pairing_id BIGINT NOT NULL REFERENCES pairings(id),
    patient_name TEXT NOT NULL,
    patient_sex TEXT NOT NULL CHECK (patient_sex IN ('男', '女')),
    patient_age BIGINT NOT NULL CHECK (patient_age BETWEEN 0 AND 150),
    patient_id_number_enc TEXT,
    patient_id_number_hash TEXT,
    patient_id_number_mask TEXT,
    exam TEXT NOT NULL,
    modality TEXT NOT NULL,
    body_part TEXT NOT NULL,
    clinical_question TEXT NOT NULL,
    case_summary TEXT NOT NULL,
    priority TEXT NOT NULL CHECK (priority IN ('emergency', 'urgent', 'routine')),
    expert_title TEXT NOT NULL,
    -- Written consent is required: a row without it cannot exist.
    consent SMALLINT NOT NULL CHECK (consent = 1),
    -- 'queued' 待分派, 'offered' 待接收 (to assignee_user_id), 'accepted' 已接收; then, with the
    -- report, 'reported' 已出报告 and 'confirmed' 已确认 by the requester.
    state TEXT NOT NULL CHECK (state IN ('queued', 'offered', 'accepted', 'reported', 'confirmed')),
    assignee_user_id BIGINT REFERENCES users(id),
    requested_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX imaging_requests_queue ON imaging_requests (owner_org_id, state);
CREATE INDEX imaging_requests_assignee ON imaging_requests (assignee_user_id, state);

-- The studies a request asks about (one or more, known to the PACS when it was made).
CREATE TABLE imaging_request_studies (
    request_id BIGINT NOT NULL REFERENCES imaging_requests(id),
    study_id BIGINT NOT NULL REFERENCES imaging_studies(id),
    PRIMARY KEY (request_id, study_id)
);

-- The signed consent document (知情同意书), as base64 text with its SM3 digest, one per request.
CREATE TABLE imaging_consents (
    id {{ID}},
    request_id BIGINT NOT NULL UNIQUE REFERENCES imaging_requests(id),
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sm3 TEXT NOT NULL,
    data TEXT NOT NULL,
    uploaded_by BIGINT REFERENCES users(id),
    uploaded_at TEXT NOT NULL
);

-- Every step of a request's routing, timestamped: the turnaround clocks are read from here.
-- action: requested, offered, queued, accepted, declined, reassigned, taken.
CREATE TABLE imaging_request_events (
    id {{ID}},
    request_id BIGINT NOT NULL REFERENCES imaging_requests(id),
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    by_user_id BIGINT REFERENCES users(id),
    to_user_id BIGINT REFERENCES users(id),
    reason TEXT
);
CREATE INDEX imaging_request_events_request ON imaging_request_events (request_id, id);
