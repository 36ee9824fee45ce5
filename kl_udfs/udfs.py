"""Thin pandas-UDF adapter: one group of long-format counts in, one row per column out.

All arithmetic is the numpy statistics in `kl_udfs.stats`, vectorised over every column of
the group at once (columns are segments), so there is no Python loop over bins or rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kl_udfs.stats import Segments, compare, top_contributors

NO_DATA, OK, DRIFT, ERROR = "no_data", "ok", "drift", "error"
QUALITY_FAILED = "quality_failed"

METRICS_SCHEMA = (
    "window_idx int, column_idx int, kl_divergence double, kl_reverse double, "
    "js_divergence double, psi double, g_statistic double, p_value double, "
    "current_count long, baseline_count long, current_null_fraction double, "
    "baseline_null_fraction double, status string, message string, "
    "contributor_bins array<string>, contributor_values array<double>, "
    "contributor_baseline array<double>, contributor_current array<double>"
)


def _share(part: np.ndarray, total: np.ndarray) -> np.ndarray:
    return np.divide(part, total, out=np.zeros_like(part, dtype=np.float64), where=total > 0)


def drift_metrics(pdf: pd.DataFrame, pseudo_count: float, top_n: int) -> pd.DataFrame:
    """Metrics, status and top contributing bins for every (window, column) in `pdf`.

    Input columns: window_idx, column_idx, bin, bin_label, is_null_bin, baseline_count,
    current_count, kl_threshold, p_threshold.
    """
    pdf = pdf.sort_values(["window_idx", "column_idx", "bin"], kind="stable")
    keys = pdf[["window_idx", "column_idx"]].to_numpy()
    ids = np.concatenate([[0], np.cumsum(np.any(keys[1:] != keys[:-1], axis=1))])
    segments = Segments.from_ids(ids)
    baseline = pdf["baseline_count"].to_numpy(dtype=np.float64)
    current = pdf["current_count"].to_numpy(dtype=np.float64)
    result = compare(baseline, current, segments, pseudo_count)

    first = np.searchsorted(ids, np.arange(segments.n))
    is_null = pdf["is_null_bin"].to_numpy(dtype=bool)
    kl_threshold = pdf["kl_threshold"].to_numpy()[first]
    p_threshold = pdf["p_threshold"].to_numpy()[first]
    drifted = (result.kl_divergence > kl_threshold) & (result.p_value < p_threshold)
    status = np.where(result.current_total == 0, NO_DATA, np.where(drifted, DRIFT, OK))
    status = np.where(result.baseline_total == 0, ERROR, status)
    message = np.where(result.baseline_total == 0, "baseline has no rows for this window", "")
    message = message.astype(object)
    message[message == ""] = None

    # Bins empty in both histograms differ only by smoothing: never worth showing.
    # Nor is anything when one side is empty: there is no divergence to explain.
    comparable = segments.broadcast((result.current_total > 0) & (result.baseline_total > 0))
    observed = ((baseline + current) > 0) & comparable
    top = top_contributors(np.where(observed, result.contribution, 0.0), segments, top_n)
    labels = pdf["bin_label"].to_numpy(dtype=object)
    picked = [idx[observed[idx]] for idx in top.by_segment()]
    # Explanations quote the observed shares ("12% -> 31%"), not the smoothed ones.
    baseline_share = _share(baseline, segments.broadcast(result.baseline_total))
    current_share = _share(current, segments.broadcast(result.current_total))
    # With an empty side there is nothing to compare: report no number rather than a made-up one.
    comparable = (result.current_total > 0) & (result.baseline_total > 0)

    def metric(values: np.ndarray) -> pd.arrays.FloatingArray:
        return pd.array(np.where(comparable, values, np.nan), dtype="Float64")

    return pd.DataFrame({
        "window_idx": keys[first, 0],
        "column_idx": keys[first, 1],
        "kl_divergence": metric(result.kl_divergence),
        "kl_reverse": metric(result.kl_reverse),
        "js_divergence": metric(result.js_divergence),
        "psi": metric(result.psi),
        "g_statistic": metric(result.g_statistic),
        "p_value": metric(result.p_value),
        "current_count": result.current_total.astype(np.int64),
        "baseline_count": result.baseline_total.astype(np.int64),
        "current_null_fraction": _share(segments.sum(current * is_null), result.current_total),
        "baseline_null_fraction": _share(segments.sum(baseline * is_null),
                                         result.baseline_total),
        "status": status,
        "message": message,
        "contributor_bins": [labels[idx].tolist() for idx in picked],
        "contributor_values": [result.contribution[idx].tolist() for idx in picked],
        "contributor_baseline": [baseline_share[idx].tolist() for idx in picked],
        "contributor_current": [current_share[idx].tolist() for idx in picked],
    })
