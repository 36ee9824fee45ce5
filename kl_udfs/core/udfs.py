"""Thin pandas-UDF adapter: one group of long-format counts in, one row of figures per column.

All arithmetic is the numpy statistics in `kl_udfs.core.stats`, vectorised over every column of
the group at once (columns are segments), so there is no Python loop over bins or rows. No
verdict is made here: `kl_udfs.core.verdict` turns these figures into statuses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kl_udfs.core import contract
from kl_udfs.core.stats import Segments, compare, moments, top_contributors
from kl_udfs.core.stats.bias import (
    JS_BITS_SCALE,
    KL_SCALE,
    PSI_SCALE,
    corrected_divergence,
    effective_rows,
)
from kl_udfs.core.stats.exact import (
    CHI2,
    SCREEN_P_VALUE,
    monte_carlo_g_p_values,
    overwhelming,
    share_increase_p_values,
    sparse_segments,
)

# drift_results columns the UDF fills, then the per-rule inputs of the verdict.
_TABLE_FIGURES = (
    "kl_divergence", "kl_reverse", "js_divergence", "psi", "g_statistic", "current_count",
    "baseline_count",
    *(f"{side}_{group}_fraction" for group in contract.ROLE_GROUPS
      for side in ("baseline", "current")), "psi_corrected", "psi_sd", "dof", "p_value_method",
    *(f"{side}_{moment}" for moment in ("mean", "std") for side in ("baseline", "current")),
)
RULE_INPUTS: tuple[str, ...] = tuple(dict.fromkeys(
    name for r in contract.RULES for name in (r.figure, r.spread, contract.p_column(r))))
_CONTRIBUTORS = (("contributor_bins", "array<string>"), ("contributor_values", "array<double>"),
                 ("contributor_baseline", "array<double>"),
                 ("contributor_current", "array<double>"))
FIGURE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("window_idx", "int"), ("column_idx", "int"),
    *((name, contract.DRIFT_RESULTS.column(name).type) for name in _TABLE_FIGURES),
    *((name, "double") for name in RULE_INPUTS if name not in _TABLE_FIGURES),
    *_CONTRIBUTORS,
)
FIGURES_SCHEMA = ", ".join(f"{name} {kind}" for name, kind in FIGURE_COLUMNS)
SUM_INPUTS = (*moments.side_sums("baseline"), *moments.side_sums("current"))
# The power sums are per bin like the counts; only their per-column totals are used. Input
# without them (center, scale and the sums) gives no moments and the moment rules judge nothing.
INPUT_COLUMNS = ("window_idx", "column_idx", "bin", "bin_label", "bin_role", "baseline_count",
                 "current_count", "center", "scale", *SUM_INPUTS)


def _share(part: np.ndarray, total: np.ndarray) -> np.ndarray:
    return np.divide(part, total, out=np.full(part.shape, np.nan), where=total > 0)


def drift_figures(pdf: pd.DataFrame, pseudo_count: float, top_n: int) -> pd.DataFrame:
    """Figures and top contributing bins for every (window, column) in `pdf` (INPUT_COLUMNS)."""
    pdf = pdf.sort_values(["window_idx", "column_idx", "bin"], kind="stable")
    keys = pdf[["window_idx", "column_idx"]].to_numpy()
    ids = np.concatenate([[0], np.cumsum(np.any(keys[1:] != keys[:-1], axis=1))]) \
        if len(pdf) else np.zeros(0, dtype=np.int64)
    segments = Segments.from_ids(ids)
    baseline = pdf["baseline_count"].to_numpy(dtype=np.float64)
    current = pdf["current_count"].to_numpy(dtype=np.float64)
    result = compare(baseline, current, segments, pseudo_count)
    first = np.searchsorted(ids, np.arange(segments.n))
    n, big_n = result.current_total, result.baseline_total
    comparable = (n > 0) & (big_n > 0)

    out: dict[str, object] = {"window_idx": keys[first, 0], "column_idx": keys[first, 1]}

    def metric(values: np.ndarray) -> pd.arrays.FloatingArray:
        # With an empty side there is nothing to compare: no number rather than a made-up one.
        return pd.array(np.where(comparable, values, np.nan), dtype="Float64")

    for name in ("kl_divergence", "kl_reverse", "js_divergence", "psi", "g_statistic"):
        out[name] = metric(getattr(result, name))
    out["current_count"], out["baseline_count"] = n.astype(np.int64), big_n.astype(np.int64)
    out["dof"] = result.dof.astype(np.int32)

    # Significance of the whole table: chi-square where it holds, Monte-Carlo where sparse.
    # Only where the chi-square p could matter: the approximation errs on the small side in
    # sparse tables, so a table it finds unremarkable is unremarkable, and one it finds
    # overwhelming is significant anyway.
    sparse = sparse_segments(baseline, current, segments) & (result.dof > 0) \
        & (result.p_value < SCREEN_P_VALUE) & ~overwhelming(result.g_statistic, result.dof)
    mc_p, mc_method = monte_carlo_g_p_values(baseline, current, segments, sparse)
    out["distribution_p_value"] = metric(np.where(sparse, mc_p, result.p_value))
    method = np.full(segments.n, None, dtype=object)
    method[comparable] = CHI2
    method[sparse] = mc_method[sparse]
    out["p_value_method"] = method

    n_eff = effective_rows(n, big_n)
    for rule, value, scale in (("psi", result.psi, PSI_SCALE),
                               ("kl", result.kl_divergence, KL_SCALE),
                               ("kl_reverse", result.kl_reverse, KL_SCALE),
                               ("js", result.js_divergence, JS_BITS_SCALE)):
        fixed = corrected_divergence(value, result.dof, n_eff, scale)
        spec = contract.RULE[rule]
        out[spec.figure], out[spec.spread] = metric(fixed.value), metric(fixed.sd)

    roles = pdf["bin_role"].to_numpy(dtype=object)
    groups: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for group, members in contract.ROLE_GROUPS.items():
        in_group = np.isin(roles, members)
        x, y = segments.sum(current * in_group), segments.sum(baseline * in_group)
        exists = segments.sum(in_group) > 0
        groups[group] = (exists, x, y)
        out[f"baseline_{group}_fraction"] = np.where(exists, _share(y, big_n), np.nan)
        out[f"current_{group}_fraction"] = np.where(exists, _share(x, n), np.nan)
    for rule, group in contract.SHARE_ROLE.items():
        exists, x, y = groups[group]
        fallback = contract.FALLBACK_GROUP.get(group)
        if fallback:  # a column without this group's bins is judged on the fallback's
            fallback_exists, fx, fy = groups[fallback]
            x, y = np.where(exists, x, fx), np.where(exists, y, fy)
            exists = exists | fallback_exists
        q, p = _share(x, n), _share(y, big_n)
        judged = exists & comparable
        spec = contract.RULE[rule]
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(q * (1 - q) / n + p * (1 - p) / big_n)
        out[spec.figure] = pd.array(np.where(judged, q - p, np.nan), dtype="Float64")
        out[spec.spread] = pd.array(np.where(judged, sd, np.nan), dtype="Float64")
        out[contract.p_column(spec)] = pd.array(
            np.where(judged, share_increase_p_values(x, n, y, big_n), np.nan), dtype="Float64")

    _moment_figures(pdf, segments, first, comparable, out)

    # Bins empty in both histograms differ only by smoothing: never worth showing.
    observed = ((baseline + current) > 0) & segments.broadcast(comparable)
    top = top_contributors(np.where(observed, result.contribution, 0.0), segments, top_n)
    labels = pdf["bin_label"].to_numpy(dtype=object)
    picked = [idx[observed[idx]] for idx in top.by_segment()]
    # Explanations quote the observed shares ("12% -> 31%"), not the smoothed ones.
    baseline_share = np.nan_to_num(_share(baseline, segments.broadcast(big_n)))
    current_share = np.nan_to_num(_share(current, segments.broadcast(n)))
    out["contributor_bins"] = [labels[idx].tolist() for idx in picked]
    out["contributor_values"] = [result.contribution[idx].tolist() for idx in picked]
    out["contributor_baseline"] = [baseline_share[idx].tolist() for idx in picked]
    out["contributor_current"] = [current_share[idx].tolist() for idx in picked]
    return pd.DataFrame(out)[[name for name, _ in FIGURE_COLUMNS]]


def _moment_figures(pdf: pd.DataFrame, segments: Segments, first: np.ndarray,
                    comparable: np.ndarray, out: dict[str, object]) -> None:
    """Means, standard deviations and the moment rules' figures of every segment."""
    if "center" in pdf:
        center = pdf["center"].to_numpy(dtype=np.float64)[first]
        scale = pdf["scale"].to_numpy(dtype=np.float64)[first]
        sides = {side: moments.from_sums(np.stack([segments.sum(pdf[name].to_numpy(
            dtype=np.float64)) for name in moments.side_sums(side)], axis=-1), center, scale)
            for side in ("baseline", "current")}
    else:
        nothing = np.full(segments.n, np.nan)
        sides = {side: moments.Moments(nothing, nothing, nothing, nothing, nothing)
                 for side in ("baseline", "current")}
    for side, m in sides.items():
        out[f"{side}_mean"] = pd.array(m.mean, dtype="Float64")
        out[f"{side}_std"] = pd.array(m.std, dtype="Float64")
    for rule, test in (("mean_shift", moments.mean_shift), ("std_change", moments.std_change)):
        result = test(sides["baseline"], sides["current"])
        spec = contract.RULE[rule]
        for name, values in ((spec.figure, result.value), (spec.spread, result.sd),
                             (contract.p_column(spec), result.p_value)):
            out[name] = pd.array(np.where(comparable, values, np.nan), dtype="Float64")
