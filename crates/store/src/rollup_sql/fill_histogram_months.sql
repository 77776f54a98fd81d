INSERT INTO report_histogram_months (account_id, name, bh, month, bucket, n)
    SELECT r.account_id, r.name, r.bh, c.month, r.bucket, SUM(r.n)
    FROM report_fact_histograms r JOIN report_calendar c ON c.day = r.day
    GROUP BY r.account_id, r.name, r.bh, c.month, r.bucket
