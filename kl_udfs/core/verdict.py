"""Every status decision, made once, in pandas: figures in, verdict columns out.

A (window, column) row is, in this order of precedence:
  error           the column could not be compared (a message says why);
  no_data         the window has no rows;
  insufficient    the window or the baseline has fewer than `min_rows` rows;
  quality_failed  the window failed its quality gate;
  drift           some rule fired;
  ok              otherwise.
A rule fires when its effect size could have reached its threshold (the 99% upper bound of
the bias-corrected figure is at least the threshold) and the column is significant: the
column's p-value is the smallest Bonferroni-adjusted p (times the number of active rules) of
the rules whose effect did, Benjamini-Hochberg turns those of a window's judged columns into
q-values, and q <= fdr is drift. The rules that fired are those whose adjusted p is within the
window's BH critical value; `reason` names them in words.

Learned thresholds (a monitor's `thresholds.learned`) replace the default and monitor-wide
threshold of the divergence rules, per column, once `warmup` earlier judged windows of the
same baseline (and seasonal slot) exist (which windows teach: `teaches`). On the square root
of the figure, whose spread depends little on its size: level = median of the last
`level_windows` teaching windows, spread = 1.4826 x median absolute window-to-window
difference over the last `history` ones, and the threshold is (level + k x spread)^2,
compared with the figure itself (its own noise is in the history). Windows are decided in
time order, so a backfill learns as it goes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from kl_udfs.core import contract
from kl_udfs.core.contract import (
    DRIFT,
    EFFECT_BOUND_Z,
    ERROR,
    INSUFFICIENT,
    NO_DATA,
    OK,
    QUALITY_FAILED,
)
from kl_udfs.core.policy import LEARNED, Learning, Policy
from kl_udfs.core.stats.multiplicity import bh_q_values

__all__ = ["LEARNED", "TEACHING", "VERDICT_COLUMNS", "Learning", "Policy", "decide", "teaches"]



def learned_threshold(history: np.ndarray, learning: Learning) -> float | None:
    """The threshold learnt from a column's past ok figures (oldest first), or None."""
    values = history[~np.isnan(history)]
    if values.size < max(learning.warmup, 2):
        return None
    roots = np.sqrt(np.maximum(values[-learning.history:], 0.0))
    level = float(np.median(roots[-learning.level_windows:]))
    steps = np.abs(np.diff(roots))
    spread = 1.4826 * float(np.median(steps)) if steps.size else 0.0
    return (level + learning.spread * spread) ** 2
TEACHING = (OK, DRIFT)


def teaches(status: str, threshold_was_learnt: bool) -> bool:
    """Whether a judged window's figure joins the history a threshold is learnt from.

    Once learnt, only ok windows teach, so a change does not raise the bar it is judged by.
    Before (warm-up), drift under the fixed threshold teaches too: a column that always sits
    above the default would otherwise never learn; the median and MAD shrug off the few
    real changes among them.
    """
    return status == OK or (status == DRIFT and not threshold_was_learnt)


VERDICT_COLUMNS = ("status", "message", "reason", "p_value", "q_value", "threshold",
                   "threshold_source", "p_value_threshold", "fired_rules", "checks")


def _per_column(values: dict[str, object], columns: pd.Series) -> np.ndarray:
    return columns.map(values).to_numpy()


def decide(figures: pd.DataFrame, policy: Policy,
           history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Verdict columns (VERDICT_COLUMNS) for each row of `figures`, in the same order.

    `figures` has the UDF's figures (kl_udfs.core.udfs.FIGURE_COLUMNS) plus `column_name`,
    `column_kind`, and optionally `error_message` and `quality_message` (None where fine).
    Rows are grouped into windows by `window_idx` for the multiple-testing correction.
    With learned thresholds `figures` also needs `window_start`, and `history` holds earlier
    stored rows (column_name, window_start, status, checks), if any.
    """
    if policy.learning is None:
        return _decide(figures, policy, {})
    return _decide_learning(figures.reset_index(drop=True), policy, policy.learning, history)


def _decide_learning(f: pd.DataFrame, policy: Policy, learning: Learning,
                     history: pd.DataFrame | None) -> pd.DataFrame:
    rules = [r for r in contract.RULES if r.name in learning.rules]
    past: dict[tuple[str, str, int], list[float]] = {}
    if history is not None and len(history):
        stored = history[history["status"].isin(TEACHING)].sort_values("window_start")
        names = {r.name for r in rules}
        for name, slot, status, checks in zip(
                stored["column_name"], learning.slot(stored["window_start"]), stored["status"],
                stored["checks"], strict=True):
            for check in checks if checks is not None else ():
                if check["rule"] in names and check["figure"] is not None and teaches(
                        status, check["threshold_source"] == LEARNED):
                    past.setdefault((check["rule"], name, int(slot)), []).append(
                        float(check["figure"]))
    f = f.assign(__slot=learning.slot(f["window_start"]))
    order = f.groupby("window_idx")["window_start"].first().sort_values().index
    parts = []
    for w in order:
        rows = f[f["window_idx"] == w]
        learned: dict[str, np.ndarray] = {}
        for r in rules:
            learned[r.name] = np.array([
                np.nan if policy.threshold(r.name, name)[1] == "column" else (
                    t if (t := learned_threshold(np.array(past.get((r.name, name, s), [])),
                                                 learning)) is not None else np.nan)
                for name, s in zip(rows["column_name"], rows["__slot"], strict=True)])
        out = _decide(rows.drop(columns="__slot"), policy, learned)
        out.index = rows.index
        parts.append(out)
        for r in rules:  # this window's ok rows teach the next windows
            values = pd.to_numeric(rows[r.figure], errors="coerce") if r.figure in rows else None
            if values is None:
                continue
            for name, s, v, st, was_learnt in zip(
                    rows["column_name"], rows["__slot"], values, out["status"],
                    ~np.isnan(learned[r.name]), strict=True):
                if pd.notna(v) and teaches(st, bool(was_learnt)):
                    past.setdefault((r.name, name, int(s)), []).append(float(v))
    return pd.concat(parts).sort_index()[list(VERDICT_COLUMNS)]


def _decide(figures: pd.DataFrame, policy: Policy,
            learned: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """One pass over all rows; `learned` rule -> per-row threshold (nan: not learnt)."""
    f = figures.reset_index(drop=True)
    rows = len(f)
    names = f["column_name"]
    kind = f["column_kind"].to_numpy(dtype=object)
    n = f["current_count"].to_numpy(dtype=np.float64)
    big_n = f["baseline_count"].to_numpy(dtype=np.float64)
    error_msg = _optional(f, "error_message")
    quality_msg = _optional(f, "quality_message")

    min_rows = np.array([policy.column_min_rows.get(c, policy.min_rows) for c in names],
                        dtype=np.float64)
    error = pd.notna(error_msg) | (big_n == 0)
    error_msg = np.where(pd.isna(error_msg) & (big_n == 0), "baseline has no rows for this "
                         "window", error_msg)
    no_data = ~error & (n == 0)
    insufficient = ~error & ~no_data & ((n < min_rows) | (big_n < min_rows))
    quality = ~error & ~no_data & ~insufficient & pd.notna(quality_msg)
    judged = ~(error | no_data | insufficient | quality)

    rules = contract.RULES
    resolved = {r.name: {c: policy.threshold(r.name, c) for c in names.unique()} for r in rules}
    thr = np.full((len(rules), rows), np.nan)
    source = np.empty((len(rules), rows), dtype=object)
    figure = np.full((len(rules), rows), np.nan)
    p_raw = np.full((len(rules), rows), np.nan)
    applies = np.zeros((len(rules), rows), dtype=bool)
    effect = np.zeros((len(rules), rows), dtype=bool)
    upper = np.full((len(rules), rows), np.nan)
    for i, r in enumerate(rules):
        t = _per_column({c: v[0] for c, v in resolved[r.name].items()}, names)
        thr[i] = np.where(pd.isna(t), np.nan, t).astype(np.float64)
        source[i] = _per_column({c: v[1] for c, v in resolved[r.name].items()}, names)
        figure[i] = _floats(f, r.figure)
        spread = np.nan_to_num(_floats(f, r.spread))
        if r.name in learned:  # a learnt threshold already holds the figure's own noise
            has = ~np.isnan(learned[r.name]) & ~np.isnan(thr[i])  # only rules that are on
            thr[i] = np.where(has, learned[r.name], thr[i])
            source[i] = np.where(has, LEARNED, source[i])
            spread = np.where(has, 0.0, spread)
        p_raw[i] = _floats(f, contract.p_column(r))
        applies[i] = np.isin(kind, r.kinds) & ~np.isnan(thr[i]) & ~np.isnan(figure[i]) \
            & ~np.isnan(p_raw[i])
        effect[i] = applies[i] & (figure[i] + EFFECT_BOUND_Z * spread >= thr[i])
        upper[i] = figure[i] + EFFECT_BOUND_Z * spread
    active = np.maximum(applies.sum(axis=0), 1)
    p_adj = np.where(effect, np.minimum(1.0, active * p_raw), np.nan)
    with np.errstate(all="ignore"):
        column_p = np.where(effect.any(axis=0), np.nanmin(np.where(effect, p_adj, np.inf),
                                                           axis=0), 1.0)
    column_p = np.where(judged, column_p, np.nan)
    windows = f["window_idx"].to_numpy()
    q = bh_q_values(column_p, windows) if policy.correction == "bh" else column_p.copy()
    drift = judged & (q <= policy.fdr)
    # The window's BH critical value, rejected / tested x fdr (the plain level without BH): a
    # rule fired if its own adjusted p clears it, even where the column's p underflowed to 0.
    if policy.correction == "bh" and rows:
        by_window = pd.DataFrame({"w": windows, "tested": ~np.isnan(column_p), "drift": drift})
        counts = by_window.groupby("w")[["tested", "drift"]].transform("sum").to_numpy()
        cutoff = policy.fdr * counts[:, 1] / np.maximum(counts[:, 0], 1)
    else:
        cutoff = np.full(rows, policy.fdr)
    fired = effect & drift & (p_adj <= cutoff + 1e-300)

    status = np.full(rows, OK, dtype=object)
    status[drift] = DRIFT
    status[quality] = QUALITY_FAILED
    status[insufficient] = INSUFFICIENT
    status[no_data] = NO_DATA
    status[error] = ERROR
    message = np.full(rows, None, dtype=object)
    message[error] = error_msg[error]
    message[quality] = [f"quality gate failed: {m}" for m in quality_msg[quality]]
    for row in np.flatnonzero(insufficient):
        side, count = ("window", n[row]) if n[row] < min_rows[row] else ("baseline", big_n[row])
        message[row] = f"only {int(count)} rows in the {side} (min_rows {int(min_rows[row])})"

    psi = next(i for i, r in enumerate(rules) if r.name == "psi")
    shares: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    fell_back: dict[str, np.ndarray] = {}
    for rule, g in contract.SHARE_ROLE.items():
        current, base = _floats(f, f"current_{g}_fraction"), _floats(f, f"baseline_{g}_fraction")
        if g in contract.FALLBACK_GROUP:  # columns without the group's bins: its fallback's
            fallback = contract.FALLBACK_GROUP[g]
            fell_back[rule] = np.isnan(current)
            current = np.where(fell_back[rule], _floats(f, f"current_{fallback}_fraction"),
                               current)
            base = np.where(fell_back[rule], _floats(f, f"baseline_{fallback}_fraction"), base)
        shares[rule] = current, base
    for rule, moment in contract.MOMENT_OF.items():  # the moment rules quote mean or std
        shares[rule] = _floats(f, f"current_{moment}"), _floats(f, f"baseline_{moment}")
    nothing = np.full(rows, np.nan)  # what a rule that quotes nothing quotes (divergences)
    reason = np.empty(rows, dtype=object)
    fired_rules: list[list[str]] = []
    checks: list[list[dict[str, object]]] = []
    for j in range(rows):
        row_checks, row_fired, says = [], [], []
        for i, r in enumerate(rules):
            if not applies[i, j]:
                continue
            row_checks.append({
                "rule": r.name, "figure": float(figure[i, j]), "threshold": float(thr[i, j]),
                "threshold_source": source[i, j], "p_value": float(p_raw[i, j]),
                "effect_reached": bool(effect[i, j]), "fired": bool(fired[i, j])})
            if fired[i, j]:
                row_fired.append(r.name)
                current, base = shares.get(r.name, (nothing, nothing))
                threshold = f"{thr[i, j]:.3g}" + (
                    " learnt from its history" if source[i, j] == LEARNED else "")
                text = contract.FALLBACK_SAYS[r.name] if r.name in fell_back \
                    and fell_back[r.name][j] else r.says
                says.append(text.format(
                    figure=figure[i, j], threshold=threshold, upper=upper[i, j],
                    current=current[j], baseline=base[j]))
        fired_rules.append(row_fired)
        checks.append(row_checks)
        if status[j] == DRIFT:
            reason[j] = "; ".join(says)
        elif status[j] == OK:
            reason[j] = _why_ok(effect[:, j], q[j], policy, figure[psi, j], thr[psi, j])
        else:
            reason[j] = message[j] or contract.STATUS[status[j]].meaning

    out = pd.DataFrame({
        "status": status, "message": message, "reason": reason,
        "p_value": pd.array(column_p, dtype="Float64"), "q_value": pd.array(q, dtype="Float64"),
        "threshold": pd.array(thr[psi], dtype="Float64"), "threshold_source": source[psi],
        "p_value_threshold": float(policy.fdr), "fired_rules": fired_rules, "checks": checks,
    })
    return out[list(VERDICT_COLUMNS)]


def _why_ok(effect: np.ndarray, q: float, policy: Policy, psi: float, psi_threshold: float,
            ) -> str:
    if effect.any():
        return f"a change may reach its threshold but is not significant (q = {q:.3g} > " \
               f"fdr {policy.fdr:g})"
    if np.isnan(psi):
        return "no rule reached its threshold"
    return f"every rule below its threshold (PSI {psi:.3f} < {psi_threshold:g})"


def _floats(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").astype("float64").to_numpy()


def _optional(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), None, dtype=object)
    return frame[name].astype(object).where(frame[name].notna(), None).to_numpy(dtype=object)
