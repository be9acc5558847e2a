-- The line of work (援疆领域) an activity belongs to, for the dashboard's breakdown by line.
-- Rows written before this migration take the line their type most often has.
ALTER TABLE activities ADD COLUMN line TEXT;
UPDATE activities SET line = CASE
    WHEN type_code IN ('free_clinic', 'remote_consultation') THEN 'medical'
    WHEN type_code IN ('remote_class', 'lecture', 'volunteer', 'camp') THEN 'education'
    WHEN type_code = 'training' THEN 'employment'
    ELSE 'culture'
END WHERE line IS NULL;
CREATE INDEX activities_line_date ON activities (line, date);
