-- The remote imaging centre (issue 20): what the turnaround targets need of a request — where
-- the patient is (门诊 / 住院 / 急诊) and whether it is a complex case (疑难病例). Requests made
-- before this were outpatients' and not complex. The targets themselves are a setting
-- (`imaging_tat_targets`, JSON), the defaults in `domain::imaging::default_targets`.
ALTER TABLE imaging_requests ADD COLUMN patient_source TEXT NOT NULL DEFAULT 'outpatient';
ALTER TABLE imaging_requests ADD COLUMN complex SMALLINT NOT NULL DEFAULT 0;
