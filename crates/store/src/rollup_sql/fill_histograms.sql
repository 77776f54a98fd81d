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
    GROUP BY w.account_id, w.name, w.bh, w.day, w.bucket
