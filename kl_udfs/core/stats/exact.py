"""p-values where the chi-square approximation fails: sparse tables and small shares.

The G-test's chi-square reference is asymptotic. With cells expected to hold only a few rows
(small windows, many bins, rare categories) it rejects a true null more often than its level
says, so those tables get a Monte-Carlo p-value from the exact conditional distribution: with
both rows' totals and every bin's total fixed, the window's counts are multivariate
hypergeometric, drawn bin by bin. When fewer than MIN_EXCEEDANCES draws reach the observed G,
the draws cannot resolve p, and a chi-square matched to their mean and variance gives the tail.

Shares of one group of bins (nulls, unseen categories, out-of-range values) are tested with the
one-sided Fisher exact test: the window's count in the group is hypergeometric given the totals.
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt
from scipy.special import chdtrc, ndtr, xlogy
from scipy.stats import hypergeom

from kl_udfs.core.stats.segments import FloatArray, Segments

SPARSE_EXPECTED = 10.0  # below this smallest expected cell count, the chi-square is not trusted
DRAWS = 2000
# Tables whose chi-square p is above this are not simulated: in sparse tables the chi-square
# p is too small, not too large, so such a table is not significant either way.
SCREEN_P_VALUE = 0.05
# Nor are tables where even half of G is beyond this chi-square p: in simulated sparse null
# tables G stays below twice its degrees of freedom, so such a table is significant whatever
# the approximation's error, and the chi-square p stands.
OVERWHELMING_P = 1e-6
MIN_EXCEEDANCES = 10
# From this variance of the window's count in a group on, the share test's exact Fisher p is
# replaced by its continuity-corrected normal approximation (within 15% of exact for p >= 1e-3
# in simulation, tests/unit/test_stats_small_samples.py).
NORMAL_SHARE_VARIANCE = 400.0
_CELLS_PER_CHUNK = 4_000_000
_HYPERGEOMETRIC_LIMIT = 10**9 - 1  # numpy's bound on each of ngood and nbad

CHI2, MONTE_CARLO, MONTE_CARLO_TAIL = "chi2", "monte_carlo", "monte_carlo_tail"


def sparse_segments(baseline: FloatArray, current: FloatArray, segments: Segments) -> npt.NDArray[
        np.bool_]:
    """Segments whose smallest expected cell count (over occupied bins) is below the limit."""
    row_b, row_c = segments.sum(baseline), segments.sum(current)
    total = row_b + row_c
    col = baseline + current
    occupied = col > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        share = col / segments.broadcast(total)
        expected = np.minimum(share * segments.broadcast(row_b), share * segments.broadcast(row_c))
    smallest = np.full(segments.n, np.inf)
    np.minimum.at(smallest, segments.ids[occupied], expected[occupied])
    return (row_b > 0) & (row_c > 0) & (smallest < SPARSE_EXPECTED)


def _g_of_tables(current: FloatArray, totals: FloatArray, n: FloatArray,
                 big_n: FloatArray) -> FloatArray:
    """G of 2 x K tables given the window row (..., K) and the bin totals; zero bins allowed."""
    grand = n + big_n
    with np.errstate(invalid="ignore", divide="ignore"):
        e_c = totals * (n / grand)
        e_b = totals * (big_n / grand)
        base = totals - current
        terms = np.where(current > 0, xlogy(current, current / e_c), 0.0) + np.where(
            base > 0, xlogy(base, base / e_b), 0.0)
    out: FloatArray = 2.0 * terms.sum(axis=-1)
    return out


def _draw(rng: np.random.Generator, totals: npt.NDArray[np.int64], n: npt.NDArray[np.int64],
          draws: int) -> npt.NDArray[np.int64]:
    """(S, draws, K) window rows with bin totals `totals` (S, K) and row totals `n` (S,)."""
    s, k = totals.shape
    out = np.zeros((s, draws, k), dtype=np.int64)
    remaining_rows = np.repeat(n[:, None], draws, axis=1)
    remaining_total = np.repeat(totals.sum(axis=1)[:, None], draws, axis=1)
    for j in range(k - 1):
        good = np.repeat(totals[:, j:j + 1], draws, axis=1)
        bad = remaining_total - good
        x = rng.hypergeometric(good, bad, remaining_rows)
        out[:, :, j] = x
        remaining_rows = remaining_rows - x
        remaining_total = bad
    out[:, :, k - 1] = remaining_rows
    return out


def overwhelming(g_statistic: FloatArray, dof: npt.NDArray[np.number]) -> npt.NDArray[np.bool_]:
    """Tables significant beyond any doubt the chi-square approximation leaves (see above)."""
    with np.errstate(invalid="ignore"):
        out: npt.NDArray[np.bool_] = (dof > 0) & (chdtrc(dof, g_statistic / 2.0) < OVERWHELMING_P)
    return out


def monte_carlo_g_p_values(baseline: FloatArray, current: FloatArray, segments: Segments,
                           selected: npt.NDArray[np.bool_], draws: int = DRAWS,
                           ) -> tuple[FloatArray, npt.NDArray[np.object_]]:
    """Conditional Monte-Carlo p-value of G for the `selected` segments (nan elsewhere).

    Each table's draws are seeded from its own counts, so the same table always gets the same p
    (whatever else is in the batch).
    Returns the p-values and their method per segment (None where not selected).
    """
    p = np.full(segments.n, np.nan)
    method = np.full(segments.n, None, dtype=object)
    chosen = np.flatnonzero(selected)
    if chosen.size == 0:
        return p, method
    order = np.argsort(segments.ids, kind="stable")
    ids_sorted = segments.ids[order]
    starts = np.searchsorted(ids_sorted, chosen, side="left")
    ends = np.searchsorted(ids_sorted, chosen, side="right")
    tables = []
    for s, a, b in zip(chosen, starts, ends, strict=True):
        idx = order[a:b]
        tot = (baseline[idx] + current[idx]).round().astype(np.int64)
        keep = tot > 0
        tables.append((s, tot[keep], current[idx][keep].round().astype(np.int64),
                       int(baseline[idx].sum().round())))
    width = max(len(t[1]) for t in tables)
    per_chunk = max(1, _CELLS_PER_CHUNK // (draws * width))
    for start in range(0, len(tables), per_chunk):
        chunk = tables[start:start + per_chunk]
        totals = np.zeros((len(chunk), width), dtype=np.int64)
        observed = np.zeros((len(chunk), width), dtype=np.float64)
        for i, (_, tot, cur, _) in enumerate(chunk):
            totals[i, :tot.size], observed[i, :cur.size] = tot, cur
        n = observed.sum(axis=1).astype(np.int64)
        big_n = np.array([t[3] for t in chunk], dtype=np.int64)
        simulated = np.empty((len(chunk), draws, width), dtype=np.int64)
        simulated[:] = 0
        for i, (_, tot, cur, _) in enumerate(chunk):
            # Each table its own stream: its p cannot depend on which tables share its batch.
            rng = np.random.default_rng(zlib.crc32(tot.tobytes() + cur.tobytes()))
            if tot.sum() <= _HYPERGEOMETRIC_LIMIT:
                simulated[i, :, :tot.size] = _draw(rng, tot[None, :], n[i:i + 1], draws)[0]
            else:  # billions of rows: sampling with replacement
                simulated[i, :, :tot.size] = rng.multinomial(n[i], tot / tot.sum(), size=draws)
        tf = totals.astype(np.float64)
        nf, bf = n.astype(np.float64), big_n.astype(np.float64)
        g_obs = _g_of_tables(observed, tf, nf[:, None], bf[:, None])
        g_sim = _g_of_tables(simulated.astype(np.float64), tf[:, None, :], nf[:, None, None],
                             bf[:, None, None])
        tolerance = 1e-9 * np.maximum(1.0, g_obs)
        exceed = (g_sim >= (g_obs - tolerance)[:, None]).sum(axis=1)
        p_mc = (1.0 + exceed) / (draws + 1.0)
        mean, var = g_sim.mean(axis=1), g_sim.var(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale, dof = var / (2.0 * mean), 2.0 * mean**2 / var
            p_tail = chdtrc(dof, g_obs / scale)
        tail = (exceed < MIN_EXCEEDANCES) & np.isfinite(p_tail) & (var > 0)
        ids = np.array([t[0] for t in chunk])
        p[ids] = np.where(tail, np.minimum(p_tail, p_mc), p_mc)
        method[ids] = np.where(tail, MONTE_CARLO_TAIL, MONTE_CARLO)
    return p, method


def share_increase_p_values(current_part: npt.ArrayLike, current_total: npt.ArrayLike,
                            baseline_part: npt.ArrayLike, baseline_total: npt.ArrayLike,
                            ) -> FloatArray:
    """One-sided Fisher exact p that the window's share of a group of bins is no larger.

    Given both totals and the group's total, the window's count in the group is hypergeometric;
    p = P(X >= observed), exact up to NORMAL_SHARE_VARIANCE. 1 where the group is empty on
    both sides or a side has no rows.
    """
    x = np.asarray(current_part, dtype=np.float64).round()
    n = np.asarray(current_total, dtype=np.float64).round()
    y = np.asarray(baseline_part, dtype=np.float64).round()
    big_n = np.asarray(baseline_total, dtype=np.float64).round()
    x, n, y, big_n = np.broadcast_arrays(x, n, y, big_n)
    defined = (n > 0) & (big_n > 0) & (x + y > 0)
    p = np.ones(x.shape)
    total, group = n + big_n, x + y
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = n * group / total
        var = mean * (1 - group / total) * (total - n) / np.maximum(total - 1, 1)
    exact = defined & (var < NORMAL_SHARE_VARIANCE)
    if exact.any():
        sf = hypergeom.sf(x[exact] - 1, total[exact], group[exact], n[exact])
        p[exact] = np.clip(sf, 0.0, 1.0)
    wide = defined & ~exact
    if wide.any():  # summing the pmf over thousands of counts is slow; the normal is close
        p[wide] = ndtr(-(x[wide] - 0.5 - mean[wide]) / np.sqrt(var[wide]))
    return p
