"""Two-sample G-test (log-likelihood ratio test of homogeneity) on RAW counts.

Per segment, the 2 x k contingency table has row 1 = baseline counts, row 2 = current counts.
Expected E = row_total * col_total / grand_total, G = 2 * sum O * ln(O / E) (cells with O = 0
contribute 0), dof = (bins with a non-zero column total) - 1, p = chi-square survival of G.
No smoothing: pseudo-counts would invent observations and bias the test; empty columns are
simply dropped, which is what the dof rule does.

A segment where the test is undefined (an empty row, or fewer than two non-empty columns)
gets G = 0, dof = 0, p = 1: no evidence of drift.

Numerical note: for large, nearly identical rows the textbook terms O * ln(O / E) are each
about +-(O - E) and cancel to a G many orders of magnitude smaller, leaving rounding noise of
order grand_total * 1e-16 (scipy's chi2_contingency returns G < 0 there). We sum
O * ln(O / E) - (O - E) instead, the same G since sum(O - E) = 0, whose terms are each
~(O - E)^2 / 2E >= 0 and computed with ln via log1p near O = E.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import chdtrc

from kl_udfs.core.stats.kl import log_ratio
from kl_udfs.core.stats.segments import FloatArray, IntArray, Segments, as_count_pair

_TINY = np.finfo(np.float64).tiny


@dataclass(frozen=True, eq=False)
class GTestResult:
    """Per-segment G statistic, degrees of freedom and p-value."""

    statistic: FloatArray
    dof: IntArray
    p_value: FloatArray


def _g_terms(o: FloatArray, row: FloatArray, col: FloatArray, total: FloatArray) -> FloatArray:
    """Per-cell O * ln(O / E) - (O - E): >= 0, and summing to G / 2 over a table.

    The (O - E) summand adds up to 0 over the table, so G is unchanged, but it removes the
    cancellation of the textbook terms (see the module docstring).
    """
    e = np.zeros_like(o)
    has = col > 0  # implies total > 0; where col = 0, O = E = 0
    with np.errstate(under="ignore"):
        e[has] = row[has] * (col[has] / total[has])  # col / total <= 1: cannot overflow
    terms = e.copy()  # a cell with O = 0 contributes 0 * ln(0 / E) - (0 - E) = E
    pos = o > 0  # implies row, col, total > 0
    o, e, row, col, total = o[pos], e[pos], row[pos], col[pos], total[pos]
    lr = np.empty_like(o)
    normal = e >= _TINY
    lr[normal] = log_ratio(o[normal], e[normal])
    # E not representable (absurdly small fractional counts): take the logs apart instead.
    ab = ~normal
    lr[ab] = np.log(o[ab]) - np.log(row[ab]) - np.log(col[ab]) + np.log(total[ab])
    terms[pos] = o * lr - (o - e)
    return terms


def g_test_counts(baseline: FloatArray, current: FloatArray, segments: Segments) -> GTestResult:
    """G-test of already validated raw counts."""
    row_b = segments.sum(baseline)
    row_c = segments.sum(current)
    col = baseline + current
    total = segments.broadcast(row_b + row_c)
    nonempty_cols = segments.sum(col > 0).astype(np.int64)
    defined = (row_b > 0) & (row_c > 0) & (nonempty_cols >= 2)

    terms = _g_terms(baseline, segments.broadcast(row_b), col, total) + _g_terms(
        current, segments.broadcast(row_c), col, total
    )
    # G = 2 N * (mutual information) >= 0 and so is every term; clamp rounding anyway.
    g = np.where(defined, np.maximum(2.0 * segments.sum(terms), 0.0), 0.0)
    dof = np.where(defined, nonempty_cols - 1, 0).astype(np.int64)
    p = np.ones(segments.n)
    p[defined] = chdtrc(dof[defined], g[defined])
    return GTestResult(statistic=g, dof=dof, p_value=p)


def g_test(
    baseline: npt.ArrayLike, current: npt.ArrayLike, segments: Segments | None = None
) -> GTestResult:
    """Per-segment two-sample G-test of the raw baseline and current counts."""
    b, c = as_count_pair(baseline, current)
    return g_test_counts(b, c, Segments.resolve(segments, b.size))
