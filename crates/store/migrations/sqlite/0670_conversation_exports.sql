-- Exports (issue 17): the conversations-with-messages export reads the conversations an
-- account began in a period page by page, by (created_at, id), so a year of a large
-- account is read in constant memory without sorting. Live metrics count open and
-- pending conversations through the existing (account_id, status, …) and
-- (account_id, assignee_id, status, …) indexes.
CREATE INDEX conversations_created ON conversations(account_id, created_at, id);
