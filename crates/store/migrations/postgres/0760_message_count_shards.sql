-- The message counters are added to in each message batch's own transaction, and an
-- updated row stays locked until that commit. With one row per hour and inbox, the message
-- writer's lanes (each a transaction of its own) waited for each other's commits on it:
-- 7 ms of each batch at 5,000 messages/s (docs/benchmarks.md, session 21). Each lane's
-- conversations now add to rows of their own (`shard`: the conversation id modulo 4, as
-- the lanes divide conversations); every reader sums over them, as it sums over hours.
ALTER TABLE report_message_counts ADD COLUMN shard BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_message_counts DROP CONSTRAINT report_message_counts_pkey;
ALTER TABLE report_message_counts
    ADD PRIMARY KEY (account_id, hour, inbox_id, team_id, user_id, shard);
ALTER TABLE report_message_days ADD COLUMN shard BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_message_days DROP CONSTRAINT report_message_days_pkey;
ALTER TABLE report_message_days ADD PRIMARY KEY (account_id, dim, dim_id, day, shard);
