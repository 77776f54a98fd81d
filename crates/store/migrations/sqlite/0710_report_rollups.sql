-- Report rollups (issue 17): a year of reports must answer well under a second, and the
-- facts alone are millions of rows. Three tables kept in the same transaction as the
-- facts (crates/store/src/reports.rs), filled here from the facts already written.
--
-- report_fact_days: count and sums of one metric per UTC day (created_at div 86,400,000)
-- and one dimension: `dim` 0 = the whole account (dim_id 0), 1 = an inbox, 2 = a team,
-- 3 = an agent (dim_id 0 = no team / no agent). `offline` 0 counts every fact, 1 only
-- those of conversations that began as an offline request (counted in 0 too).
CREATE TABLE report_fact_days (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    dim INTEGER NOT NULL,
    dim_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    offline INTEGER NOT NULL,
    day INTEGER NOT NULL,
    n INTEGER NOT NULL,
    total INTEGER NOT NULL,
    total_bh INTEGER NOT NULL,
    PRIMARY KEY (account_id, dim, dim_id, name, offline, day)
);
-- report_fact_hours: the same per UTC hour and inbox, for time series and the heat map.
CREATE TABLE report_fact_hours (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    offline INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    n INTEGER NOT NULL,
    total INTEGER NOT NULL,
    total_bh INTEGER NOT NULL,
    PRIMARY KEY (account_id, name, offline, hour, inbox_id)
);
-- The buckets of the median histograms: whole seconds below a minute (0–59), then each
-- bucket 1 % wider than the one before (lo(k+1) = lo(k) + lo(k) div 100), the same
-- integers on both databases and in Rust (reports::histogram_bucket).
CREATE TABLE report_histogram_buckets (
    bucket INTEGER PRIMARY KEY,
    lo INTEGER NOT NULL UNIQUE
);
WITH RECURSIVE b(bucket, lo) AS (
    SELECT CAST(0 AS BIGINT), CAST(0 AS BIGINT)
    UNION ALL
    SELECT bucket + 1, CASE WHEN bucket + 1 <= 60 THEN (bucket + 1) * 1000 ELSE lo + lo / 100 END
    FROM b WHERE bucket < 1700
)
INSERT INTO report_histogram_buckets (bucket, lo) SELECT bucket, lo FROM b;
-- report_fact_histograms: how many values of a metric with a median (first response,
-- reply time, resolution) fell into each bucket per UTC day, whole (bh 0) and in working
-- hours (bh 1), for the whole account.
CREATE TABLE report_fact_histograms (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    bh INTEGER NOT NULL,
    day INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (account_id, name, bh, day, bucket)
);
-- report_message_days: the hourly message counters (report_message_counts) per UTC day,
-- for the whole account (dim 0) and per inbox (1), team (2) and agent (3; 0 = none).
CREATE TABLE report_message_days (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    dim INTEGER NOT NULL,
    dim_id INTEGER NOT NULL,
    day INTEGER NOT NULL,
    incoming INTEGER NOT NULL,
    outgoing INTEGER NOT NULL,
    PRIMARY KEY (account_id, dim, dim_id, day)
);
-- report_source_days: conversations begun and conversions per UTC day and visitor source
-- (`kind` 0 = utm_source, 1 = utm_medium, 2 = utm_campaign, 3 = referrer domain; `known` 0:
-- none given, then `source` is '').
CREATE TABLE report_source_days (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind INTEGER NOT NULL,
    name TEXT NOT NULL,
    day INTEGER NOT NULL,
    known INTEGER NOT NULL,
    source TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind, name, day, known, source)
);
-- Medians and series of one agent, team or inbox read the facts through these (the
-- values included: a year's median reads the index alone).
CREATE INDEX report_facts_inbox ON report_facts(account_id, inbox_id, name, created_at, value, value_bh);
CREATE INDEX report_facts_agent ON report_facts(account_id, user_id, name, created_at, value, value_bh);
CREATE INDEX report_facts_team ON report_facts(account_id, team_id, name, created_at, value, value_bh);
INSERT INTO report_fact_days (account_id, dim, dim_id, name, offline, day, n, total, total_bh)
    SELECT f.account_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN f.inbox_id WHEN 2 THEN COALESCE(f.team_id, 0)
                      ELSE COALESCE(f.user_id, 0) END,
           f.name, o.offline, f.created_at / 86400000, COUNT(*), SUM(f.value), SUM(f.value_bh)
    FROM report_facts f
    CROSS JOIN (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) d
    JOIN (SELECT 0 AS offline UNION ALL SELECT 1) o ON o.offline = 0 OR f.offline = 1
    GROUP BY f.account_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN f.inbox_id WHEN 2 THEN COALESCE(f.team_id, 0)
                      ELSE COALESCE(f.user_id, 0) END,
           f.name, o.offline, f.created_at / 86400000;
INSERT INTO report_fact_days (account_id, dim, dim_id, name, offline, day, n, total, total_bh)
    SELECT f.account_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN f.inbox_id WHEN 2 THEN COALESCE(f.team_id, 0)
                      ELSE COALESCE(f.user_id, 0) END,
           'csat:' || CAST(f.value AS TEXT), o.offline, f.created_at / 86400000,
           COUNT(*), SUM(f.value), SUM(f.value_bh)
    FROM report_facts f
    CROSS JOIN (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) d
    JOIN (SELECT 0 AS offline UNION ALL SELECT 1) o ON o.offline = 0 OR f.offline = 1
    WHERE f.name = 'csat'
    GROUP BY f.account_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN f.inbox_id WHEN 2 THEN COALESCE(f.team_id, 0)
                      ELSE COALESCE(f.user_id, 0) END,
           f.value, o.offline, f.created_at / 86400000;
INSERT INTO report_message_days (account_id, dim, dim_id, day, incoming, outgoing)
    SELECT m.account_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN m.inbox_id WHEN 2 THEN m.team_id ELSE m.user_id END,
           m.hour / 24, SUM(m.incoming), SUM(m.outgoing)
    FROM report_message_counts m
    CROSS JOIN (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) d
    GROUP BY m.account_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN m.inbox_id WHEN 2 THEN m.team_id ELSE m.user_id END,
           m.hour / 24;
INSERT INTO report_source_days (account_id, kind, name, day, known, source, n)
    SELECT s.account_id, s.kind, s.name, s.day, s.known, s.source, COUNT(*)
    FROM (SELECT f.account_id, 0 AS kind, f.name, f.created_at / 86400000 AS day,
                 CASE WHEN f.utm_source IS NULL THEN 0 ELSE 1 END AS known,
                 COALESCE(f.utm_source, '') AS source
          FROM report_facts f WHERE f.name IN ('conversation_created', 'conversion')
          UNION ALL
          SELECT f.account_id, 1, f.name, f.created_at / 86400000,
                 CASE WHEN f.utm_medium IS NULL THEN 0 ELSE 1 END, COALESCE(f.utm_medium, '')
          FROM report_facts f WHERE f.name IN ('conversation_created', 'conversion')
          UNION ALL
          SELECT f.account_id, 2, f.name, f.created_at / 86400000,
                 CASE WHEN f.utm_campaign IS NULL THEN 0 ELSE 1 END, COALESCE(f.utm_campaign, '')
          FROM report_facts f WHERE f.name IN ('conversation_created', 'conversion')
          UNION ALL
          SELECT f.account_id, 3, f.name, f.created_at / 86400000,
                 CASE WHEN f.referrer_domain IS NULL THEN 0 ELSE 1 END, COALESCE(f.referrer_domain, '')
          FROM report_facts f WHERE f.name IN ('conversation_created', 'conversion')) s
    GROUP BY s.account_id, s.kind, s.name, s.day, s.known, s.source;
INSERT INTO report_fact_hours (account_id, name, offline, hour, inbox_id, n, total, total_bh)
    SELECT f.account_id, f.name, o.offline, f.created_at / 3600000, f.inbox_id,
           COUNT(*), SUM(f.value), SUM(f.value_bh)
    FROM report_facts f
    JOIN (SELECT 0 AS offline UNION ALL SELECT 1) o ON o.offline = 0 OR f.offline = 1
    GROUP BY f.account_id, f.name, o.offline, f.created_at / 3600000, f.inbox_id;
INSERT INTO report_fact_histograms (account_id, name, bh, day, bucket, n)
    SELECT w.account_id, w.name, w.bh, w.day, w.bucket, SUM(w.n)
    FROM (SELECT v.account_id, v.name, v.bh, v.day, v.n,
                 (SELECT b.bucket FROM report_histogram_buckets b WHERE b.lo <= v.value
                  ORDER BY b.lo DESC LIMIT 1) AS bucket
          FROM (SELECT f.account_id, f.name, 0 AS bh, f.created_at / 86400000 AS day,
                       f.value AS value, COUNT(*) AS n
                FROM report_facts f
                WHERE f.name IN ('first_response', 'reply_time', 'conversation_resolved')
                GROUP BY f.account_id, f.name, f.created_at / 86400000, f.value
                UNION ALL
                SELECT f.account_id, f.name, 1, f.created_at / 86400000, f.value_bh, COUNT(*)
                FROM report_facts f
                WHERE f.name IN ('first_response', 'reply_time', 'conversation_resolved')
                GROUP BY f.account_id, f.name, f.created_at / 86400000, f.value_bh) v) w
    GROUP BY w.account_id, w.name, w.bh, w.day, w.bucket;
