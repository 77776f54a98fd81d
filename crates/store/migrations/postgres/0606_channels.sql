-- External channels (issue 14): which node polls a channel's provider, and how far its
-- inbound stream has been imported.
--
-- A lease per inbox: exactly one node of a cluster polls a given Telegram bot (or, later, a
-- mailbox). The holder renews it; a node that dies lets it expire and another takes over.
CREATE TABLE channel_leases (
    inbox_id BIGINT PRIMARY KEY REFERENCES inboxes(id) ON DELETE CASCADE,
    node TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- The provider's position (Telegram's update offset; e-mail's UIDVALIDITY/UID), written in
-- the same transaction as the message it covers, so a restart imports nothing twice and
-- skips nothing. Imported messages are also unique per (inbox_id, source_id).
CREATE TABLE channel_cursors (
    inbox_id BIGINT PRIMARY KEY REFERENCES inboxes(id) ON DELETE CASCADE,
    cursor TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
