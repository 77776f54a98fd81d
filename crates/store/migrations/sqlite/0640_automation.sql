-- Automation rules and macros (issue 16), Chatwoot's `/automation_rules` and `/macros`.
--
-- A rule's `conditions` and `actions` are JSON arrays in Chatwoot's shapes
-- (`[{attribute_key, filter_operator, values, query_operator}]`,
-- `[{action_name, action_params}]`), checked by the service before they are stored.
CREATE TABLE automation_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    event_name TEXT NOT NULL,
    conditions TEXT NOT NULL,
    actions TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX automation_rules_account ON automation_rules (account_id, id);

-- A named list of actions an agent runs on conversations. `personal` macros are seen by
-- their author only, `global` ones by every member.
CREATE TABLE macros (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    visibility TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    updated_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    actions TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX macros_account ON macros (account_id, id);

-- The rule engine's position in each account's event log. A scan reads the events after
-- `cursor`, evaluates the rules, and in one transaction moves the cursor (compare-and-set:
-- two nodes never both win) and schedules one durable job per matching rule, which the
-- job runner runs once across the cluster.
CREATE TABLE automation_cursors (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    cursor INTEGER NOT NULL
);

-- Who caused a stored event: `automation_rule:<id>` for changes made by a rule's actions.
-- Events a rule caused never trigger rules again.
ALTER TABLE events ADD COLUMN origin TEXT;

-- A rule's `send_webhook_event` target is a receiver of the webhook machine of its own,
-- hidden from `/webhooks` and subscribed to nothing: its deliveries are stored by the
-- rule's action, then signed, sent, retried and logged like any other.
ALTER TABLE webhooks ADD COLUMN automation_rule_id INTEGER REFERENCES automation_rules(id) ON DELETE CASCADE;
CREATE INDEX webhooks_automation ON webhooks (automation_rule_id, url) WHERE automation_rule_id IS NOT NULL;
