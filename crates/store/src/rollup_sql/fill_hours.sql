INSERT INTO report_fact_hours (account_id, name, offline, hour, inbox_id, n, total, total_bh)
    SELECT f.account_id, f.name, o.offline, f.created_at / 3600000, f.inbox_id,
           COUNT(*), SUM(f.value), SUM(f.value_bh)
    FROM report_facts f
    JOIN (SELECT 0 AS offline UNION ALL SELECT 1) o ON o.offline = 0 OR f.offline = 1
    GROUP BY f.account_id, f.name, o.offline, f.created_at / 3600000, f.inbox_id
