-- Rollups (issue 6): the sums and counts of activities the dashboard, the reports and the API ask
-- for (by type, line, place subtree, organizer subtree, month and year), and funding below, kept up to date in the same
-- transaction as every write of an activity (store::rollups), so that an aggregate reads a few
-- thousand rollup rows instead of scanning a million activities. Three grains:
--   'm': program × type × line × place × month (org_id 0, period YYYY-MM)
--   'y': program × type × line × place × year  (org_id 0, period YYYY)
--   'o': program × type × line × organizer × year (region_code '', org_id 0 = no organizer)
-- An empty line is ''. A row exists only while it counts at least one activity (n > 0).
CREATE TABLE activity_rollup (
    grain TEXT NOT NULL CHECK (grain IN ('m', 'y', 'o')),
    program_id BIGINT NOT NULL,
    type_code TEXT NOT NULL,
    line TEXT NOT NULL,
    region_code TEXT NOT NULL,
    org_id BIGINT NOT NULL,
    period TEXT NOT NULL,
    n BIGINT NOT NULL,
    participants BIGINT NOT NULL,
    beneficiaries BIGINT NOT NULL,
    PRIMARY KEY (grain, program_id, type_code, line, region_code, org_id, period)
);
INSERT INTO activity_rollup (grain, program_id, type_code, line, region_code, org_id, period, n, participants, beneficiaries)
SELECT 'm', program_id, type_code, COALESCE(line, ''), region_code, 0, substr(date, 1, 7),
       COUNT(*), CAST(SUM(participants) AS BIGINT), CAST(SUM(beneficiaries) AS BIGINT)
FROM activities GROUP BY program_id, type_code, COALESCE(line, ''), region_code, substr(date, 1, 7);
INSERT INTO activity_rollup (grain, program_id, type_code, line, region_code, org_id, period, n, participants, beneficiaries)
SELECT 'y', program_id, type_code, COALESCE(line, ''), region_code, 0, substr(date, 1, 4),
       COUNT(*), CAST(SUM(participants) AS BIGINT), CAST(SUM(beneficiaries) AS BIGINT)
FROM activities GROUP BY program_id, type_code, COALESCE(line, ''), region_code, substr(date, 1, 4);
INSERT INTO activity_rollup (grain, program_id, type_code, line, region_code, org_id, period, n, participants, beneficiaries)
SELECT 'o', program_id, type_code, COALESCE(line, ''), '', COALESCE(organizer_org_id, 0), substr(date, 1, 4),
       COUNT(*), CAST(SUM(participants) AS BIGINT), CAST(SUM(beneficiaries) AS BIGINT)
FROM activities GROUP BY program_id, type_code, COALESCE(line, ''), COALESCE(organizer_org_id, 0), substr(date, 1, 4);
-- Funding lines by their project's status, sector and place, and by year and source: n lines,
-- and the planned, allocated and disbursed amounts in 分.
CREATE TABLE funding_rollup (
    program_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    sector TEXT NOT NULL,
    region_code TEXT NOT NULL,
    year BIGINT NOT NULL,
    source TEXT NOT NULL,
    n BIGINT NOT NULL,
    planned_fen BIGINT NOT NULL,
    allocated_fen BIGINT NOT NULL,
    disbursed_fen BIGINT NOT NULL,
    PRIMARY KEY (program_id, status, sector, region_code, year, source)
);
INSERT INTO funding_rollup (program_id, status, sector, region_code, year, source, n, planned_fen, allocated_fen, disbursed_fen)
SELECT pr.program_id, pr.status, pr.sector, pr.region_code, pf.year, pf.source, COUNT(*),
       CAST(SUM(pf.planned_fen) AS BIGINT), CAST(SUM(pf.allocated_fen) AS BIGINT), CAST(SUM(pf.disbursed_fen) AS BIGINT)
FROM project_funding pf JOIN projects pr ON pr.id = pf.project_id
GROUP BY pr.program_id, pr.status, pr.sector, pr.region_code, pf.year, pf.source;
-- A page of one place's activities in a year, newest first, walks this index.
CREATE INDEX activities_region_date ON activities (region_code, date);
-- Funding by project (the statistics tables join them), and projects by place.
CREATE INDEX projects_region ON projects (region_code);
