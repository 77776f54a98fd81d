-- Contacts search: a Rust-normalised text (lower-cased name, e-mail, phone, identifier,
-- ё→е) filled by the store on every write, so case-insensitive substring search behaves
-- the same for Cyrillic on SQLite (whose LOWER/LIKE fold only ASCII) and on PostgreSQL.
ALTER TABLE contacts ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
