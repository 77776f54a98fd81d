-- SQLite only (its 0720_search_terms): PostgreSQL's search reads its GIN index and its
-- conversation indexes as they are. This file keeps the two migration lists the same.
SELECT 1;
