-- The activity rollup keeps the brand too (issue 6): the program's figures count a brand's
-- activities (红杜鹃, 江西红医…), and without it every such figure scanned the activities.
-- An empty brand is '', as an empty line is. Rebuilt from the activities.
DROP TABLE activity_rollup;
CREATE TABLE activity_rollup (
    grain TEXT NOT NULL CHECK (grain IN ('m', 'y', 'o')),
    program_id BIGINT NOT NULL,
    type_code TEXT NOT NULL,
    line TEXT NOT NULL,
    brand_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    org_id BIGINT NOT NULL,
    period TEXT NOT NULL,
    n BIGINT NOT NULL,
    participants BIGINT NOT NULL,
    beneficiaries BIGINT NOT NULL,
    PRIMARY KEY (grain, program_id, type_code, line, brand_code, region_code, org_id, period)
);
INSERT INTO activity_rollup (grain, program_id, type_code, line, brand_code, region_code, org_id, period, n, participants, beneficiaries)
SELECT 'm', program_id, type_code, COALESCE(line, ''), COALESCE(brand_code, ''), region_code, 0, substr(date, 1, 7),
       COUNT(*), CAST(SUM(participants) AS BIGINT), CAST(SUM(beneficiaries) AS BIGINT)
FROM activities GROUP BY program_id, type_code, COALESCE(line, ''), COALESCE(brand_code, ''), region_code, substr(date, 1, 7);
INSERT INTO activity_rollup (grain, program_id, type_code, line, brand_code, region_code, org_id, period, n, participants, beneficiaries)
SELECT 'y', program_id, type_code, COALESCE(line, ''), COALESCE(brand_code, ''), region_code, 0, substr(date, 1, 4),
       COUNT(*), CAST(SUM(participants) AS BIGINT), CAST(SUM(beneficiaries) AS BIGINT)
FROM activities GROUP BY program_id, type_code, COALESCE(line, ''), COALESCE(brand_code, ''), region_code, substr(date, 1, 4);
INSERT INTO activity_rollup (grain, program_id, type_code, line, brand_code, region_code, org_id, period, n, participants, beneficiaries)
SELECT 'o', program_id, type_code, COALESCE(line, ''), COALESCE(brand_code, ''), '', COALESCE(organizer_org_id, 0), substr(date, 1, 4),
       COUNT(*), CAST(SUM(participants) AS BIGINT), CAST(SUM(beneficiaries) AS BIGINT)
FROM activities GROUP BY program_id, type_code, COALESCE(line, ''), COALESCE(brand_code, ''), COALESCE(organizer_org_id, 0), substr(date, 1, 4);
-- Procedures of a kind (the program's cataract and cleft-lip figures), without reading them all.
CREATE INDEX activity_procedures_kind ON activity_procedures (kind, activity_id);
-- An indicator's values over an organization subtree read from the index alone.
CREATE INDEX indicator_values_cover ON indicator_values (indicator_code, org_id, period, value);
-- The dashboard's counts of aid personnel (by category, batch, line) and of projects (by status,
-- sector) from indexes rather than the rows.
CREATE INDEX people_kind ON people (kind, category, batch_id, line);
CREATE INDEX projects_status ON projects (status);
CREATE INDEX projects_sector ON projects (sector);
-- The report's counts of people who arrived in a period, and of projects started in one.
CREATE INDEX people_kind_start ON people (kind, start_date);
CREATE INDEX projects_planned_start ON projects (planned_start);
