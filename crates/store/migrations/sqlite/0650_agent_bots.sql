-- Agent bots (issue 16), Chatwoot's `/agent_bots` and `set_agent_bot`.
--
-- A bot is either `webhook` (an external service at `outgoing_url`) or `builtin` (Parley's
-- own simple bot, configured by `bot_config`). Its API token is stored hashed, like users'
-- tokens: it is shown once, when created or reset.
CREATE TABLE agent_bots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    outgoing_url TEXT,
    avatar_url TEXT,
    bot_type TEXT NOT NULL,
    -- JSON object, checked by the service (hand-off words, the built-in bot's steps).
    bot_config TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    -- Signs the requests to `outgoing_url` like a webhook's secret.
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX agent_bots_account ON agent_bots (account_id, id);
CREATE UNIQUE INDEX agent_bots_token ON agent_bots (token_hash);

-- The bot that handles an inbox's new conversations (one per inbox).
CREATE TABLE agent_bot_inboxes (
    inbox_id INTEGER PRIMARY KEY REFERENCES inboxes(id) ON DELETE CASCADE,
    agent_bot_id INTEGER NOT NULL REFERENCES agent_bots(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX agent_bot_inboxes_bot ON agent_bot_inboxes (agent_bot_id);

-- A bot's `outgoing_url` is a receiver of the webhook machine for each inbox it handles:
-- the inbox's events, signed with the bot's secret, retried, ordered and logged like any
-- webhook's. The API channel's own receiver of the same inbox stays unique.
ALTER TABLE webhooks ADD COLUMN agent_bot_id INTEGER REFERENCES agent_bots(id) ON DELETE CASCADE;
DROP INDEX webhooks_inbox;
CREATE UNIQUE INDEX webhooks_inbox ON webhooks (inbox_id) WHERE inbox_id IS NOT NULL AND agent_bot_id IS NULL;
CREATE UNIQUE INDEX webhooks_bot_inbox ON webhooks (inbox_id) WHERE agent_bot_id IS NOT NULL;

-- What the built-in bot has collected in a conversation (its step and the answers).
CREATE TABLE agent_bot_dialogs (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
