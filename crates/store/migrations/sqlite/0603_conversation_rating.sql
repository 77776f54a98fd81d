-- Satisfaction rating (issue 13): the visitor's latest answer to the survey, copied onto
-- the conversation so the list can show and filter it without reading messages per row.
ALTER TABLE conversations ADD COLUMN csat_rating INTEGER;
ALTER TABLE conversations ADD COLUMN csat_feedback TEXT;
