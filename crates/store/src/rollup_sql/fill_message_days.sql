INSERT INTO report_message_days (account_id, dim, dim_id, day, incoming, outgoing)
    SELECT m.account_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN m.inbox_id WHEN 2 THEN m.team_id ELSE m.user_id END,
           m.hour / 24, SUM(m.incoming), SUM(m.outgoing)
    FROM report_message_counts m
    CROSS JOIN (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) d
    GROUP BY m.account_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN m.inbox_id WHEN 2 THEN m.team_id ELSE m.user_id END,
           m.hour / 24
