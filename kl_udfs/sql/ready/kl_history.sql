-- Divergence history of one column, with the threshold it was judged against and the verdict.
-- vars: monitor=card_transactions column=amount
--   beeline ... --hivevar monitor=server_metrics --hivevar column=response_ms -f kl_history.sql
SELECT window_start, window_end, status, reason,
       psi_corrected, psi_sd, threshold, threshold_source, q_value, p_value, p_value_method,
       kl_divergence, kl_reverse, js_divergence, psi,
       current_count, current_null_fraction, current_other_fraction, current_unseen_fraction,
       current_outside_fraction,
       baseline_id
FROM monitoring.drift_results
WHERE monitor = '${monitor}' AND column_name = '${column}'
ORDER BY window_start, baseline_id;
