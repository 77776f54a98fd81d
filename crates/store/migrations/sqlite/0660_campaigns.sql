-- Proactive invitations (issue 16), Chatwoot's `ongoing` campaigns.
--
-- `trigger_rules` is a JSON object (`url`, `time_on_page`, `time_on_site`, `pages_viewed`,
-- `exit_intent`, `returning_visitor`, `utm_source`), checked by the service before it is
-- stored. `shown_count` counts invitations shown; accepted and converted are counted from
-- the conversations that carry the campaign (and their `conversion` report fact).
CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    inbox_id INTEGER NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    sender_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    description TEXT,
    message TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    trigger_only_during_business_hours INTEGER NOT NULL DEFAULT 0,
    only_when_agents_available INTEGER NOT NULL DEFAULT 1,
    show_again_after_days INTEGER NOT NULL DEFAULT 30,
    trigger_rules TEXT NOT NULL,
    shown_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX campaigns_account ON campaigns (account_id, id);
CREATE INDEX campaigns_inbox ON campaigns (inbox_id, id);

-- When each visitor (contact identity in the inbox) last saw each invitation: the
-- frequency rule ("at most once per `show_again_after_days`").
CREATE TABLE campaign_views (
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    contact_inbox_id INTEGER NOT NULL REFERENCES contact_inboxes(id) ON DELETE CASCADE,
    shown_at INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, contact_inbox_id)
);

-- The invitation a conversation answered (Chatwoot's `conversations.campaign_id`).
ALTER TABLE conversations ADD COLUMN campaign_id INTEGER REFERENCES campaigns(id) ON DELETE SET NULL;
CREATE INDEX conversations_campaign ON conversations (campaign_id) WHERE campaign_id IS NOT NULL;
