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
    GROUP BY s.account_id, s.kind, s.name, s.day, s.known, s.source
