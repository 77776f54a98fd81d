-- Notes agents keep about a contact ("prefers calls after 18:00", "VIP since 2024"), shown
-- in the contact panel beside every conversation of that contact.
CREATE TABLE contact_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    content TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX contact_notes_contact ON contact_notes(contact_id, id);
