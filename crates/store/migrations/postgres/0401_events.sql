-- The event log behind the real-time streams: every stored event with its cursor (`seq`),
-- numbered per account in commit order, so a reconnecting client can be given exactly what
-- it missed. Written in the same transaction as the change (messages) or right after it.
CREATE TABLE event_heads (
    account_id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL
);

CREATE TABLE events (
    account_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    name TEXT NOT NULL,
    conversation_id BIGINT,
    inbox_id BIGINT,
    contact_id BIGINT,
    public BIGINT NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, seq)
);

-- A visitor's replay: their own events only.
CREATE INDEX events_contact ON events(contact_id, seq) WHERE contact_id IS NOT NULL;
-- Pruning by age.
CREATE INDEX events_created ON events(created_at);
