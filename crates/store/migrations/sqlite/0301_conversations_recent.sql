-- The conversation list with `status=all` orders a whole account by activity; without
-- this index it would sort every conversation of the account for each page.
CREATE INDEX conversations_recent ON conversations(account_id, last_activity_at DESC, id DESC);
