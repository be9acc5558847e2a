-- Report templates (issue 4): every edit is a new version; the highest version of a key is
-- current. Generated reports keep the evaluated report, so a past report can be written again in
-- any format with the numbers it had.
CREATE TABLE report_templates (
    id {{ID}},
    key TEXT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (key, version)
);

CREATE TABLE generated_reports (
    id {{ID}},
    template_key TEXT NOT NULL,
    version BIGINT NOT NULL,
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL,
    scope TEXT NOT NULL,
    generated_by TEXT NOT NULL,
    rendered TEXT NOT NULL
);
