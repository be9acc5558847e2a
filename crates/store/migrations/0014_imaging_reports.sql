-- The remote imaging centre (issue 20), its third part: the structured report of a consultation
-- (检查所见 / 诊断意见 / 建议), in versions: version 1 is the report, each amendment a new version
-- that goes through the same states; a version once issued is never changed again.
CREATE TABLE imaging_reports (
    id {{ID}},
    request_id BIGINT NOT NULL REFERENCES imaging_requests(id),
    version BIGINT NOT NULL,
    template TEXT NOT NULL DEFAULT '',
    findings TEXT NOT NULL DEFAULT '',
    impression TEXT NOT NULL DEFAULT '',
    advice TEXT NOT NULL DEFAULT '',
    -- 'draft' 草稿, 'preliminary' 初步报告, 'reviewed' 已审核, 'final' 正式报告, 'confirmed' 已确认.
    state TEXT NOT NULL CHECK (state IN ('draft', 'preliminary', 'reviewed', 'final', 'confirmed')),
    -- Why a version after the first was made.
    amendment_reason TEXT,
    author_user_id BIGINT REFERENCES users(id),
    reviewer_user_id BIGINT REFERENCES users(id),
    issued_by BIGINT REFERENCES users(id),
    confirmed_by BIGINT REFERENCES users(id),
    created_at TEXT NOT NULL,
    signed_at TEXT,
    reviewed_at TEXT,
    issued_at TEXT,
    confirmed_at TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (request_id, version)
);
