-- First-run guide (issue 13): what the owner has done or dismissed, as a small JSON object
-- per account so that it follows them to any browser.
ALTER TABLE accounts ADD COLUMN onboarding TEXT NOT NULL DEFAULT '{}';
