-- Runs that errored: the job failed and wrote no drift rows for its windows (the error says why:
-- a missing table or column, a wrong type, no baseline ...), or its process ended while running
-- (killed or crashed: the monitor's next operation marks it). Newest first.
SELECT run_id, monitor, operation, window_start, window_end, started_at,
       round(duration_s, 1) AS duration_s, error
FROM monitoring.runs
WHERE status = 'failed'
ORDER BY started_at DESC, run_id;
