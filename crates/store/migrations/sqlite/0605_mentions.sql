-- @mentions in private notes (issue 13): who was mentioned where, and the agent's
-- notifications (Chatwoot's `mentions` and `notifications` tables). A mention is kept only
-- for an agent who can see the conversation's inbox; the notification is what the console
-- lists as unread and what the e-mail is sent for.
CREATE TABLE mentions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    mentioned_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (message_id, user_id)
);
CREATE INDEX mentions_user ON mentions(user_id, conversation_id);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    notification_type TEXT NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    actor_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    read_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX notifications_user ON notifications(account_id, user_id, id);

-- Which e-mails an agent wants, per account (Chatwoot's `selected_email_flags`), as a JSON
-- array of flag names. Empty by default, as in Chatwoot.
ALTER TABLE account_users ADD COLUMN email_flags TEXT NOT NULL DEFAULT '[]';
