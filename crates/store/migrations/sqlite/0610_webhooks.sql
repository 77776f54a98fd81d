-- Outgoing webhooks (issue 16): account webhooks (Chatwoot's `/webhooks`) and the API
-- channel's `webhook_url`, delivered by one machine.
--
-- A receiver follows the account's event log with a cursor of its own: a dispatcher reads
-- the events after `cursor`, stores one delivery per event the receiver subscribes to and
-- moves the cursor in the same transaction. An event that is committed is therefore
-- delivered (or given up visibly), whatever crashes in between; a new receiver starts at
-- the log's head.
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- Set for an API channel inbox's receiver (its `webhook_url`), which gets the events of
    -- that inbox only and is signed with the inbox's `hmac_token`.
    inbox_id INTEGER REFERENCES inboxes(id) ON DELETE CASCADE,
    name TEXT,
    url TEXT NOT NULL,
    -- JSON array of Chatwoot's event names.
    subscriptions TEXT NOT NULL,
    secret TEXT NOT NULL,
    cursor INTEGER NOT NULL,
    -- Failed attempts since the last 2xx; at the limit the receiver is paused.
    failures INTEGER NOT NULL DEFAULT 0,
    paused_at INTEGER,
    pause_reason TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX webhooks_account ON webhooks (account_id, id);
CREATE UNIQUE INDEX webhooks_inbox ON webhooks (inbox_id) WHERE inbox_id IS NOT NULL;

-- One row per (receiver, event): the request body as sent, its state and the last
-- attempt's outcome. `pending` rows are claimed with a lease (`locked_until`) like jobs.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL,
    uuid TEXT NOT NULL,
    event TEXT NOT NULL,
    seq INTEGER,
    conversation_id INTEGER,
    message_id INTEGER,
    body TEXT NOT NULL,
    -- pending, delivered, failed
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    locked_until INTEGER,
    locked_by TEXT,
    response_code INTEGER,
    response_body TEXT,
    error TEXT,
    duration_ms INTEGER,
    attempted_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, id DESC);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, conversation_id, id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_age ON webhook_deliveries (created_at) WHERE status <> 'pending';
