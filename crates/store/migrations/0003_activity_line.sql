-- The line of work (援疆领域) an activity belongs to, for the dashboard's breakdown by line.
-- Rows written before this migration take the line of their brand, else the line their type
-- most often has.
ALTER TABLE activities ADD COLUMN line TEXT;
UPDATE activities SET line = CASE
    WHEN brand_code IN ('hongdujuan', 'hongdujuan_microlecture', 'long_march_vr', 'guyu_poetry') THEN 'education'
    WHEN brand_code IN ('jiangxi_red_doctor', 'guangming', 'smile_taotao', 'early_cancer') THEN 'medical'
    WHEN brand_code = 'one_family' THEN 'culture'
    WHEN type_code IN ('free_clinic', 'remote_consultation') THEN 'medical'
    WHEN type_code IN ('remote_class', 'lecture', 'volunteer', 'camp') THEN 'education'
    WHEN type_code = 'training' THEN 'employment'
    ELSE 'culture'
END WHERE line IS NULL;
CREATE INDEX activities_line_date ON activities (line, date);
