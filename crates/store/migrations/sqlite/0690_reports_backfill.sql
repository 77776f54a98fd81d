-- Reports of conversations older than the report facts (issue 17). Facts are written as
-- things happen since 0630; conversations begun before it are derived once, in the
-- background, from their stored messages and activity lines by the `reports_backfill`
-- job. `cutoff` is when 0630 was applied: the backfill writes only facts from before it
-- (what happened later was recorded live), so nothing is counted twice. Conversations
-- with ids up to `upto` are covered, `position` is the last one done (resumable).
CREATE TABLE reports_backfill (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    upto BIGINT NOT NULL,
    cutoff BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO reports_backfill (name, position, upto, cutoff, updated_at)
    SELECT 'conversations', 0, COALESCE(MAX(c.id), 0), t.cutoff, 0
    FROM (SELECT COALESCE(
            (SELECT CAST(strftime('%s', installed_on) AS INTEGER) * 1000
             FROM _sqlx_migrations WHERE version = 630),
            CAST(strftime('%s', 'now') AS INTEGER) * 1000) AS cutoff) t
    LEFT JOIN conversations c ON c.created_at < t.cutoff
    GROUP BY t.cutoff;
