-- PostgreSQL only (its 0760_search_inbox_tokens): SQLite's index rows carry their inbox
-- tokens since 0722. This file keeps the two migration lists the same.
SELECT 1;
