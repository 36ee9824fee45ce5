-- Quality failures: every failed Great Expectations check, newest window first. Drift rows of
-- these windows carry status `quality_failed` and must not be trusted.
SELECT monitor, window_start, window_end, expectation, column_name, observed_value, details
FROM monitoring.quality_results
WHERE NOT success
ORDER BY window_start DESC, monitor, expectation, column_name;
