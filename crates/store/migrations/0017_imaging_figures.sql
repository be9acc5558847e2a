-- The remote imaging centre (issue 20), its figures: what the one figure engine counts over.
-- A request's Beijing day (`requested_on`, which a figure's period selects by); its turnaround,
-- kept when its report is first issued — when (`issued_at`), the minutes from the start of its
-- clock (the request made and its images complete) to then (`tat_minutes`), when it was due and
-- whether it was within the target then in force (`tat_due_at`, `on_time`) —; and its outcome as
-- the requesting hospital records it: treated locally (`local`, a transfer avoided) or
-- transferred out (`transferred`).
ALTER TABLE imaging_requests ADD COLUMN requested_on TEXT;
ALTER TABLE imaging_requests ADD COLUMN issued_at TEXT;
ALTER TABLE imaging_requests ADD COLUMN tat_minutes BIGINT;
ALTER TABLE imaging_requests ADD COLUMN tat_due_at TEXT;
ALTER TABLE imaging_requests ADD COLUMN on_time SMALLINT;
ALTER TABLE imaging_requests ADD COLUMN outcome TEXT;
ALTER TABLE imaging_requests ADD COLUMN outcome_at TEXT;
ALTER TABLE imaging_requests ADD COLUMN outcome_by BIGINT REFERENCES users(id);
-- A critical result's Beijing day, and the minutes from its flag to the notice (rounded up:
-- 30 minutes and one second is 31, past the limit).
ALTER TABLE imaging_critical ADD COLUMN flagged_on TEXT;
ALTER TABLE imaging_critical ADD COLUMN notice_minutes BIGINT;
-- Requests and critical results made before this take the day of their UTC time; a report
-- issued before this keeps no turnaround (its clock is still shown on its page).
UPDATE imaging_requests SET requested_on = substr(requested_at, 1, 10);
UPDATE imaging_requests SET issued_at = (SELECT MIN(e.at) FROM imaging_request_events e
    WHERE e.request_id = imaging_requests.id AND e.action = 'report_issued');
UPDATE imaging_critical SET flagged_on = substr(flagged_at, 1, 10);
CREATE INDEX imaging_requests_program_day ON imaging_requests (program_id, requested_on);
CREATE INDEX imaging_critical_day ON imaging_critical (flagged_on);
