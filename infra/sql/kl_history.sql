-- KL history of one column, with the threshold it was judged against.
-- vars: monitor=card_transactions column=amount
--   beeline ... --hivevar monitor=server_metrics --hivevar column=response_ms -f kl_history.sql
SELECT window_start, window_end, status,
       kl_divergence, kl_reverse, js_divergence, psi, p_value, threshold,
       current_count, current_null_fraction, baseline_id
FROM monitoring.drift_results
WHERE monitor = '${monitor}' AND column_name = '${column}'
ORDER BY window_start, baseline_id;
