-- Volume and freshness problems: windows whose row count fell outside the interval the
-- monitor's earlier windows predict (status `drift`), or whose table's last commit was older
-- than `freshness.max_age` when they were computed (`stale`). Newest window first.
SELECT monitor, window_start, window_end, row_count, round(expected_count, 1) AS expected_count,
       round(expected_low, 1) AS expected_low, round(expected_high, 1) AS expected_high,
       status, freshness_status, source_committed_at, reason
FROM monitoring.volume_results
WHERE status = 'drift' OR freshness_status = 'stale'
ORDER BY window_start DESC, monitor;
