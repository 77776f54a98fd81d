-- Invitations of existing users into another account (issue 12, finding 8): an
-- administrator who names the e-mail of a user who already exists only invites them, and
-- the membership starts when that user accepts; until then the inviting account learns
-- nothing about the user. One pending invitation per account and user.
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    availability TEXT NOT NULL,
    auto_offline INTEGER NOT NULL,
    invited_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, user_id)
);
CREATE INDEX invitations_user ON invitations(user_id);
