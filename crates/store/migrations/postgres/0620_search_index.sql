-- Archive search (docs/architecture.md, "Archive search"). The tokens are computed in Rust
-- (parley_core::search_text) and stored as a tsvector literal, so PostgreSQL applies no
-- parsing or stemming of its own (the `simple` configuration is never asked to) and finds
-- the same rows as SQLite's FTS5. Activity lines are not indexed.
CREATE TABLE message_search (
    message_id BIGINT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    tokens tsvector NOT NULL
);
CREATE INDEX message_search_tokens ON message_search USING GIN (tokens);
CREATE TABLE contact_search (
    contact_id BIGINT PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
    tokens tsvector NOT NULL
);
CREATE INDEX contact_search_tokens ON contact_search USING GIN (tokens);
CREATE TABLE conversation_search (
    conversation_id BIGINT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    tokens tsvector NOT NULL
);
CREATE INDEX conversation_search_tokens ON conversation_search USING GIN (tokens);
-- The background reindex of rows stored before this migration (see the SQLite file).
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
