-- Routing and response standards: capacity limits, live presence, the waiting queue,
-- response targets, off-hours handling, and the durable job queue behind every timer.

-- Account-wide routing settings (DEFAULT_MAX_OPEN and DEFAULT_INACTIVE_AFTER in core).
ALTER TABLE accounts ADD COLUMN default_max_open INTEGER NOT NULL DEFAULT 15;
-- NULL: a silent customer's conversation keeps counting against capacity.
ALTER TABLE accounts ADD COLUMN inactive_after_minutes INTEGER DEFAULT 30;
ALTER TABLE accounts ADD COLUMN presence_grace_seconds INTEGER NOT NULL DEFAULT 60;

-- Per-agent limit, turn-taking, and the effective presence last announced.
ALTER TABLE account_users ADD COLUMN max_open INTEGER;
ALTER TABLE account_users ADD COLUMN last_assigned_at INTEGER;
ALTER TABLE account_users ADD COLUMN presence TEXT NOT NULL DEFAULT 'offline';

ALTER TABLE teams ADD COLUMN max_open INTEGER;
ALTER TABLE contacts ADD COLUMN vip INTEGER NOT NULL DEFAULT 0;

ALTER TABLE conversations ADD COLUMN queued_at INTEGER;
ALTER TABLE conversations ADD COLUMN assigned_at INTEGER;
ALTER TABLE conversations ADD COLUMN last_incoming_at INTEGER;
ALTER TABLE conversations ADD COLUMN last_reply_at INTEGER;
ALTER TABLE conversations ADD COLUMN sla_kind TEXT;
ALTER TABLE conversations ADD COLUMN sla_due_at INTEGER;
ALTER TABLE conversations ADD COLUMN sla_overdue_at INTEGER;
ALTER TABLE conversations ADD COLUMN offhours_at INTEGER;

-- The waiting queues: only queued conversations are in this index.
CREATE INDEX conversations_queue ON conversations(account_id, queued_at) WHERE queued_at IS NOT NULL;
-- Off-hours digests.
CREATE INDEX conversations_offhours ON conversations(inbox_id, offhours_at) WHERE offhours_at IS NOT NULL;

-- Live console connections per agent and node, refreshed by each node; an agent with no
-- fresh row for longer than the grace period is offline.
CREATE TABLE agent_connections (
    account_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    node TEXT NOT NULL,
    connections INTEGER NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id, node)
);

-- Every automatic or manual assignment: the pace of each queue (expected wait) and reports.
CREATE TABLE assignments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    conversation_id INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    team_id INTEGER,
    assignee_id INTEGER NOT NULL,
    reason TEXT NOT NULL,
    assigned_at INTEGER NOT NULL
);
CREATE INDEX assignments_pace ON assignments(account_id, inbox_id, assigned_at);

-- Missed response targets, for statistics of what was late.
CREATE TABLE sla_breaches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    conversation_id INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    team_id INTEGER,
    assignee_id INTEGER,
    kind TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX sla_breaches_account ON sla_breaches(account_id, due_at);

-- Durable timers and background work: survive restarts, run once across nodes. `key`
-- names the job so that rescheduling replaces it; `version` changes on every reschedule so
-- a runner finishing an older version leaves the newer one in place.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    account_id INTEGER,
    payload TEXT NOT NULL,
    run_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    locked_by TEXT,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs(run_at);
