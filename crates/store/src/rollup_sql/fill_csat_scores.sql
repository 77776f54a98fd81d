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
           f.value, o.offline, f.created_at / 86400000
