-- The remote imaging centre (issue 20), its first part: the studies Counterpart has learnt of from
-- the PACS (Orthanc) by the PACS's own change feed, never typed in. No pixel data and no patient
-- identifiers are kept here: the study's identifiers, what it holds (modalities, body parts, series
-- and instance counts, as the PACS counts them) and whether the PACS has declared it stable (no
-- instance arrived for its StableAge), which is when its images count as complete.
CREATE TABLE imaging_studies (
    id {{ID}},
    -- The PACS's own id of the study (Orthanc: a SHA-1 of the patient and study UIDs).
    pacs_id TEXT NOT NULL UNIQUE,
    -- DICOM StudyInstanceUID (0020,000D).
    study_uid TEXT NOT NULL UNIQUE,
    accession TEXT,
    -- DICOM StudyDate as an ISO date, when the study has one that is a date.
    study_date TEXT,
    description TEXT,
    institution TEXT,
    -- Distinct modalities and body parts of its series, comma-separated, sorted (CT,MR).
    modalities TEXT NOT NULL DEFAULT '',
    body_parts TEXT NOT NULL DEFAULT '',
    series_count BIGINT NOT NULL DEFAULT 0,
    instance_count BIGINT NOT NULL DEFAULT 0,
    -- 'receiving': instances may still arrive; 'complete': the PACS declared it stable;
    -- 'deleted': removed from the PACS (the row stays: requests may point at it).
    state TEXT NOT NULL DEFAULT 'receiving' CHECK (state IN ('receiving', 'complete', 'deleted')),
    first_seen_at TEXT NOT NULL,
    complete_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX imaging_studies_state ON imaging_studies (state, first_seen_at);
