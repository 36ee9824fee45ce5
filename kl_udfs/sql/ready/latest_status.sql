-- Latest status per column: the most recent window of every monitored column, drifting first.
-- One row per (monitor, column). A column whose latest window is `no_data`, `insufficient` or
-- `error` shows it here too, so a silent source is as visible as a drifting one. `reason` says
-- in words which rule fired (or why the row is not judged).
SELECT monitor, column_name, window_start, window_end, status, reason,
       round(psi_corrected, 6) AS psi, threshold, q_value, current_count, message
FROM (
  SELECT *, row_number() OVER (PARTITION BY monitor, column_name
                               ORDER BY window_start DESC, computed_at DESC) AS recency
  FROM monitoring.drift_results
) AS ranked
WHERE recency = 1
ORDER BY CASE status WHEN 'drift' THEN 0 WHEN 'quality_failed' THEN 1 WHEN 'error' THEN 2
                     WHEN 'insufficient' THEN 3 WHEN 'no_data' THEN 4 ELSE 5 END,
         psi_corrected DESC NULLS LAST, monitor, column_name;
