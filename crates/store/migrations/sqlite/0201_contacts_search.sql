-- Contacts search: a Rust-normalised text (lower-cased name, e-mail, phone, identifier,
-- ё→е) filled by the store on every write, so case-insensitive substring search behaves
-- the same for Cyrillic on SQLite (whose LOWER/LIKE fold only ASCII) and on PostgreSQL.
ALTER TABLE contacts ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
-- The contact list's default order (most recent activity first, NULLs last) read from an
-- index instead of sorting every contact of the account for each page.
CREATE INDEX contacts_activity ON contacts(account_id, last_activity_at DESC, id DESC);
