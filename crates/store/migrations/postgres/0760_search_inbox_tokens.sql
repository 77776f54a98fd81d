-- Archive search in one inbox (or an agent's inboxes) on PostgreSQL: as on SQLite since
-- 0722, every message's index row also carries a reserved lexeme of its inbox
-- (crates/store/src/search.rs, `inbox_token`), so the GIN index intersects the words with
-- the inbox instead of the store walking every match of the account newest first and
-- dropping the other inboxes' (0.3–0.7 s for a phrase of common words in one inbox of
-- twenty over 10M messages, docs/benchmarks.md session 19). New and edited rows get it as
-- they are written; the rows indexed before this migration are rewritten by the
-- background reindex (`search_reindex` job, a batch per transaction, resumable), and until
-- it is done searches filter inboxes in SQL as before.
INSERT INTO search_reindex (name, position, upto, updated_at)
    SELECT 'message_inboxes', 0, COALESCE(MAX(id), 0), 0 FROM messages;
