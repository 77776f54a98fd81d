-- The connection state of an external channel's inbox (issue 14): what the node running its
-- import last saw (connected, or the error of the last attempt with its stable code and the
-- server's words), and since when. The inbox view shows it, so an administrator sees a
-- mailbox whose password changed without waiting for a customer to complain.
CREATE TABLE channel_status (
    inbox_id INTEGER PRIMARY KEY REFERENCES inboxes(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    code TEXT,
    detail TEXT,
    message_en TEXT,
    message_ru TEXT,
    since INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
