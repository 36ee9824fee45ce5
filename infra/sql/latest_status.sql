-- Latest status per column: the most recent window of every monitored column, drifting first.
-- One row per (monitor, column). A column whose latest window is `no_data` or `error` shows it
-- here too, so a silent source is as visible as a drifting one.
SELECT monitor, column_name, window_start, window_end, status,
       round(kl_divergence, 6) AS kl, threshold, p_value, current_count, message
FROM (
  SELECT *, row_number() OVER (PARTITION BY monitor, column_name
                               ORDER BY window_start DESC, computed_at DESC) AS recency
  FROM monitoring.drift_results
) AS ranked
WHERE recency = 1
ORDER BY CASE status WHEN 'drift' THEN 0 WHEN 'quality_failed' THEN 1 WHEN 'error' THEN 2
                     ELSE 3 END,
         kl_divergence DESC NULLS LAST, monitor, column_name;
