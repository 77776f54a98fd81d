-- The message counters gain PostgreSQL's `shard` column (see its migration 0760): rows
-- that the writer's parallel lanes add to without waiting for each other. SQLite has one
-- writer, so its rows all keep shard 0; the column keeps both schemas and statements alike.
CREATE TABLE report_message_counts_sharded (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    hour INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    incoming INTEGER NOT NULL DEFAULT 0,
    outgoing INTEGER NOT NULL DEFAULT 0,
    shard INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, hour, inbox_id, team_id, user_id, shard)
);
INSERT INTO report_message_counts_sharded
    (account_id, hour, inbox_id, team_id, user_id, incoming, outgoing)
    SELECT account_id, hour, inbox_id, team_id, user_id, incoming, outgoing
    FROM report_message_counts;
DROP TABLE report_message_counts;
ALTER TABLE report_message_counts_sharded RENAME TO report_message_counts;
CREATE TABLE report_message_days_sharded (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    dim INTEGER NOT NULL,
    dim_id INTEGER NOT NULL,
    day INTEGER NOT NULL,
    incoming INTEGER NOT NULL,
    outgoing INTEGER NOT NULL,
    shard INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, dim, dim_id, day, shard)
);
INSERT INTO report_message_days_sharded (account_id, dim, dim_id, day, incoming, outgoing)
    SELECT account_id, dim, dim_id, day, incoming, outgoing FROM report_message_days;
DROP TABLE report_message_days;
ALTER TABLE report_message_days_sharded RENAME TO report_message_days;
