-- Archive search, as-you-type prefix (docs/benchmarks.md, session 15). FTS5 answers a
-- prefix query (`"заказ"*`) by merging the whole doclist of every term with that prefix
-- before the first row comes out: 271 ms for a common word over 10M messages, where the
-- exact term alone takes 3 ms because it streams newest first. So the store keeps the
-- vocabulary of the three search tables here, looks a query's prefix up in it, and
-- matches the terms found as an OR of exact terms, which streams too
-- (crates/store/src/search.rs, `Store::match_expression_for`).
--
-- Written in the same transaction as the index rows (every token of every row written,
-- INSERT OR IGNORE); never shrinks: a term whose rows were all deleted matches nothing,
-- so a superset of the index's terms gives the same hits. Filled here from the existing
-- index through a temporary fts5vocab table (an ordered scan of the index).
CREATE TABLE search_terms (term TEXT PRIMARY KEY) WITHOUT ROWID;

CREATE VIRTUAL TABLE temp.message_search_vocab USING fts5vocab(main, message_search, row);
CREATE VIRTUAL TABLE temp.contact_search_vocab USING fts5vocab(main, contact_search, row);
CREATE VIRTUAL TABLE temp.conversation_search_vocab USING fts5vocab(main, conversation_search, row);
INSERT OR IGNORE INTO search_terms (term) SELECT term FROM temp.message_search_vocab;
INSERT OR IGNORE INTO search_terms (term) SELECT term FROM temp.contact_search_vocab;
INSERT OR IGNORE INTO search_terms (term) SELECT term FROM temp.conversation_search_vocab;
DROP TABLE temp.message_search_vocab;
DROP TABLE temp.contact_search_vocab;
DROP TABLE temp.conversation_search_vocab;
