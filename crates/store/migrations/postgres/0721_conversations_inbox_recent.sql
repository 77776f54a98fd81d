-- SQLite only (its 0721_conversations_inbox_recent): PostgreSQL's search reads its GIN index and its
-- conversation indexes as they are. This file keeps the two migration lists the same.
SELECT 1;
