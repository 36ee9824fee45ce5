-- Columns drifting this week, ranked by PSI (bias-corrected). "This week" is the last 7 days of windows of each
-- monitor (ending at its latest window), so a backfill or a paused monitor still answers.
WITH latest AS (
  SELECT monitor, max(window_end) AS until FROM monitoring.drift_results GROUP BY monitor
)
SELECT d.monitor, d.column_name,
       count(*) AS drift_windows,
       round(max(d.psi_corrected), 6) AS max_psi,
       round(avg(d.psi_corrected), 6) AS mean_psi,
       array_sort(array_distinct(flatten(collect_list(d.fired_rules)))) AS rules_fired,
       min(d.window_start) AS first_drift,
       max(d.window_start) AS last_drift
FROM monitoring.drift_results AS d
JOIN latest AS l ON d.monitor = l.monitor
WHERE d.status = 'drift' AND d.window_start >= l.until - INTERVAL 7 DAYS
GROUP BY d.monitor, d.column_name
ORDER BY max_psi DESC, d.monitor, d.column_name;
