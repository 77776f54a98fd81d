-- The conversation list of one inbox without a status filter, newest activity first
-- (`GET …/conversations?inbox_id=…&q=…`): `conversations_inbox` is ordered by status
-- first, so SQLite read the whole inbox and sorted it (12–19 s for a common word over a
-- million conversations, docs/benchmarks.md session 14). This one is walked in list
-- order and stops after a page.
CREATE INDEX conversations_inbox_recent ON conversations(inbox_id, last_activity_at DESC, id DESC);
