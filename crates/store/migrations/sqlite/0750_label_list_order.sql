-- PostgreSQL keeps each label row's conversation activity for ordered label pages
-- (its 0750). SQLite walks the account's recency index and tests each row's labels in
-- ~1 ms for the same page (docs/benchmarks.md), so it keeps its schema; this file keeps the
-- two migration lists the same.
SELECT 1;
