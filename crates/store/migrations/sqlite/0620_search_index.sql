-- Archive search (docs/architecture.md, "Archive search"). The tokens are computed in Rust
-- (parley_core::search_text: lower case, ё→е, Russian/English stems, phone and e-mail
-- forms) and only matched here, so SQLite and PostgreSQL find the same rows. The
-- tokenizer keeps diacritics because Rust already decided what a token is.
-- rowid = messages.id; activity lines are not indexed.
CREATE VIRTUAL TABLE message_search USING fts5(tokens, tokenize = 'unicode61 remove_diacritics 0');
-- rowid = contacts.id: name, e-mail, phone, identifier, custom attribute values.
CREATE VIRTUAL TABLE contact_search USING fts5(tokens, tokenize = 'unicode61 remove_diacritics 0');
-- rowid = conversations.id: the values of its custom attributes.
CREATE VIRTUAL TABLE conversation_search USING fts5(tokens, tokenize = 'unicode61 remove_diacritics 0');
-- The background reindex of rows stored before this migration: rows with ids up to
-- `upto` are indexed in batches by the `search_reindex` job, `position` is the last id
-- done (resumable after a restart). Rows written later are indexed by their own write.
CREATE TABLE search_reindex (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    upto BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO search_reindex (name, position, upto, updated_at)
    SELECT 'messages', 0, COALESCE(MAX(id), 0), 0 FROM messages;
INSERT INTO search_reindex (name, position, upto, updated_at)
    SELECT 'contacts', 0, COALESCE(MAX(id), 0), 0 FROM contacts;
INSERT INTO search_reindex (name, position, upto, updated_at)
    SELECT 'conversations', 0, COALESCE(MAX(id), 0), 0 FROM conversations;
