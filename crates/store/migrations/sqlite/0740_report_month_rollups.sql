-- Month rollups (issue 17): a year of an agent breakdown or of the account's summary read
-- 365 day rows per dimension and metric; these hold the same sums per UTC month (a year =
-- 12 rows), kept in the same transaction as the day rows (crates/store/src/reports.rs) and
-- filled here from them. A report reads the whole months of its range here, the whole days
-- around them from the day rows and the partial days at its ends from the facts.
--
-- report_calendar: the UTC month of each day number (created_at div 86,400,000) from
-- 1970-01-01 to 2199-12-31, as the day number of the month's first day; the fills join on
-- it (an equality join: no date functions, which differ between SQLite and PostgreSQL).
-- Rust computes the same month (reports::month_of) for the writes.
CREATE TABLE report_calendar (
    day INTEGER PRIMARY KEY,
    month INTEGER NOT NULL
);
WITH RECURSIVE m(y, mo, first_day) AS (
    SELECT CAST(1970 AS INTEGER), CAST(1 AS INTEGER), CAST(0 AS INTEGER)
    UNION ALL
    SELECT CASE WHEN mo = 12 THEN y + 1 ELSE y END,
           CASE WHEN mo = 12 THEN 1 ELSE mo + 1 END,
           first_day + CASE WHEN mo = 2 THEN
                           CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END
                       ELSE 30 + (mo + mo / 8) % 2 END
    FROM m WHERE y < 2200
),
o(k) AS (
    SELECT CAST(0 AS INTEGER)
    UNION ALL
    SELECT k + 1 FROM o WHERE k < 30
),
months AS (
    SELECT a.first_day, b.first_day AS end_day
    FROM m a JOIN m b ON b.y * 12 + b.mo = a.y * 12 + a.mo + 1
)
INSERT INTO report_calendar (day, month)
    SELECT months.first_day + o.k, months.first_day
    FROM months JOIN o ON months.first_day + o.k < months.end_day;
-- report_fact_months: report_fact_days summed per UTC month (`month` = the day number of
-- its first day); the same dimensions, names (csat:<score> too) and offline flag.
CREATE TABLE report_fact_months (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    dim INTEGER NOT NULL,
    dim_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    offline INTEGER NOT NULL,
    month INTEGER NOT NULL,
    n INTEGER NOT NULL,
    total INTEGER NOT NULL,
    total_bh INTEGER NOT NULL,
    PRIMARY KEY (account_id, dim, dim_id, name, offline, month)
);
-- report_histogram_months: report_fact_histograms summed per UTC month.
CREATE TABLE report_histogram_months (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    bh INTEGER NOT NULL,
    month INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (account_id, name, bh, month, bucket)
);
-- A breakdown (every agent, team or inbox) reads the day rows of the days around the whole
-- months; by the primary key that would be every day of the dimension ever.
CREATE INDEX report_fact_days_by_day ON report_fact_days(account_id, dim, day);
INSERT INTO report_fact_months (account_id, dim, dim_id, name, offline, month, n, total, total_bh)
    SELECT r.account_id, r.dim, r.dim_id, r.name, r.offline, c.month,
           SUM(r.n), SUM(r.total), SUM(r.total_bh)
    FROM report_fact_days r JOIN report_calendar c ON c.day = r.day
    GROUP BY r.account_id, r.dim, r.dim_id, r.name, r.offline, c.month
;
INSERT INTO report_histogram_months (account_id, name, bh, month, bucket, n)
    SELECT r.account_id, r.name, r.bh, c.month, r.bucket, SUM(r.n)
    FROM report_fact_histograms r JOIN report_calendar c ON c.day = r.day
    GROUP BY r.account_id, r.name, r.bh, c.month, r.bucket
;
