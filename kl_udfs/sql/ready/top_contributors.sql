-- Which bins drove a drift: the top contributing bins of each column's latest drifting window,
-- with the share of rows in that bin in the baseline and in the window (a fraction of 1).
-- vars: monitor=card_transactions
WITH drifting AS (
  SELECT *, row_number() OVER (PARTITION BY column_name ORDER BY window_start DESC) AS recency
  FROM monitoring.drift_results
  WHERE monitor = '${monitor}' AND status = 'drift'
)
SELECT column_name, window_start, position + 1 AS rank, c.bin AS bin,
       round(c.contribution, 6) AS contribution,
       round(c.baseline_fraction, 6) AS baseline_fraction,
       round(c.current_fraction, 6) AS current_fraction
FROM drifting
LATERAL VIEW posexplode(top_contributors) t AS position, c
WHERE recency = 1
ORDER BY column_name, rank;
