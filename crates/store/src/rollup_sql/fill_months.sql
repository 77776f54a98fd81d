INSERT INTO report_fact_months (account_id, dim, dim_id, name, offline, month, n, total, total_bh)
    SELECT r.account_id, r.dim, r.dim_id, r.name, r.offline, c.month,
           SUM(r.n), SUM(r.total), SUM(r.total_bh)
    FROM report_fact_days r JOIN report_calendar c ON c.day = r.day
    GROUP BY r.account_id, r.dim, r.dim_id, r.name, r.offline, c.month
