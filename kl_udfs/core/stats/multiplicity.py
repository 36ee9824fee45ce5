"""Benjamini-Hochberg adjusted p-values (q-values), within groups (the columns of a window)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from kl_udfs.core.stats.segments import FloatArray


def bh_q_values(p_values: npt.ArrayLike, groups: npt.ArrayLike | None = None) -> FloatArray:
    """q_i = min over j with p_j >= p_i of p_j m / rank_j, capped at 1; nan p stay nan.

    Each group (same value in `groups`) is corrected on its own, with m its number of
    non-nan p-values. Rejecting q <= alpha is the BH step-up procedure at level alpha.
    """
    p = np.asarray(p_values, dtype=np.float64)
    g = np.zeros(p.shape, dtype=np.int64) if groups is None else np.unique(
        np.asarray(groups), return_inverse=True)[1].reshape(p.shape)
    q = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    if valid.size == 0:
        return q
    order = valid[np.lexsort((p[valid], g[valid]))]
    gs, ps = g[order], p[order]
    starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
    sizes = np.diff(np.r_[starts, gs.size])
    rank = np.arange(gs.size) - np.repeat(starts, sizes) + 1
    m = np.repeat(sizes, sizes)
    raw = ps * m / rank
    out = np.empty_like(raw)
    for a, n in zip(starts, sizes, strict=True):  # one pass per group: windows, not rows
        out[a:a + n] = np.minimum.accumulate(raw[a:a + n][::-1])[::-1]
    q[order] = np.minimum(out, 1.0)
    return q
