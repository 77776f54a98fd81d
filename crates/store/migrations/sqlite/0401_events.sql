-- The event log behind the real-time streams: every stored event with its cursor (`seq`),
-- numbered per account in commit order, so a reconnecting client can be given exactly what
-- it missed. Written in the same transaction as the change (messages) or right after it.
CREATE TABLE event_heads (
    account_id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL
);

CREATE TABLE events (
    account_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    conversation_id INTEGER,
    inbox_id INTEGER,
    contact_id INTEGER,
    public INTEGER NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, seq)
);

-- A visitor's replay: their own events only.
CREATE INDEX events_contact ON events(contact_id, seq) WHERE contact_id IS NOT NULL;
-- Pruning by age.
CREATE INDEX events_created ON events(created_at);
