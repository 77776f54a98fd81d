-- Reports (issue 17): one row per fact, written in the same transaction as the change that
-- causes it (a conversation created, a first response, a reply, a resolution, a reopening,
-- a conversation that left the queue, a reply target met or missed, a rating, a
-- conversion), so a report sums rows over a time range instead of re-reading messages.
--
-- `value` is the fact's duration in milliseconds (the rating for `csat`), `value_bh` the
-- part of it inside the inbox's working hours. The dimensions are copied from the
-- conversation as it was at the fact: inbox, team, agent, the visitor's UTM tags and the
-- domain they came from, and whether it began as an offline request.
CREATE TABLE report_facts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    conversation_id INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    team_id INTEGER,
    user_id INTEGER,
    value INTEGER NOT NULL,
    value_bh INTEGER NOT NULL,
    utm_source TEXT,
    utm_medium TEXT,
    utm_campaign TEXT,
    referrer_domain TEXT,
    offline INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
-- Every report reads one metric of one account over a time range.
CREATE INDEX report_facts_metric ON report_facts(account_id, name, created_at);
-- A conversation's facts: its rating is replaced, its conversion counted once.
CREATE INDEX report_facts_conversation ON report_facts(conversation_id, name);

-- Messages per hour, inbox, team and agent (0: none; incoming messages have no agent),
-- added to in the message's own transaction: a year of traffic is a few thousand rows
-- per inbox instead of every message.
CREATE TABLE report_message_counts (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    hour INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    incoming INTEGER NOT NULL DEFAULT 0,
    outgoing INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, hour, inbox_id, team_id, user_id)
);
