"""Mean and standard deviation from power sums, and the two tests the moment rules use.

The histogram pass adds up, for the finite values of each column, the powers 0..4 of
z = (value - center) / scale, where center and scale are frozen with the baseline's bins (the
median edge and half the edges' span): z is of order 1 for the bulk of the values, so the sums
neither overflow nor lose their digits to cancellation. Power sums add up over bins, windows
and partitions, so they come out of the same groupBy as the counts.

mean shift  |mean_w - mean_b| / std_b; Welch's t-test (Satterthwaite's degrees of freedom),
            with Hall's (1992) transformation removing the skewness a skewed column gives t
            in small windows: the mean and the std of such a sample move together, so t's tail
            on the side the column is not skewed is long, and plain Welch rejects several times
            more often than its level there (4x at 50 exponential rows at the 0.2% a rule tests
            at). The skewness is the baseline's, the one stable estimate of the column's shape.
std change  |ln std_w - ln std_b|, each corrected for its bias; the variance of a sample
            variance is sigma^4 (kappa - (n - 3) / (n - 1)) / n for kurtosis kappa, so
            Var(ln s) ~ (kappa - (n - 3) / (n - 1)) / (4n) and E[ln s] ~ ln sigma - that.
            kappa is the larger of the two sides' estimates (a window's is biased low when
            small, and an outlier in it should widen its own error, not shrink the test's).
            Two-sided z-test.
Both are judged only where the baseline's kurtosis is at most MOMENT_KURTOSIS_LIMIT.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr, stdtr

from kl_udfs.core.contract import MOMENT_KURTOSIS_LIMIT
from kl_udfs.core.stats.segments import FloatArray

SUMS = 5  # n, sum z, sum z^2, sum z^3, sum z^4
# Their column names in the histogram cells, and, prefixed by side, in the UDF's input.
SUM_COLUMNS = tuple(f"sum_z{i}" for i in range(SUMS))


def side_sums(side: str) -> tuple[str, ...]:
    """The UDF input columns of one side's power sums ("baseline" or "current")."""
    return tuple(f"{side}_{name}" for name in SUM_COLUMNS)


def frame_of(edges: npt.ArrayLike) -> tuple[float, float]:
    """center and scale of the z the power sums are taken of, from a column's bin edges."""
    e = np.asarray(edges, dtype=np.float64)
    e = e[np.isfinite(e)]
    if not e.size:
        return 0.0, 1.0
    center = float(e[e.size // 2])
    half_span = float(e[-1] - e[0]) / 2.0
    if half_span > 0 and np.isfinite(half_span):
        return center, half_span
    return center, max(abs(center), 1.0)


@dataclass(frozen=True, eq=False)
class Moments:
    n: FloatArray  # finite values
    mean: FloatArray
    std: FloatArray  # sample standard deviation (n - 1)
    kurtosis: FloatArray  # m4 / m2^2: 3 for a normal; nan when the variance is 0
    skewness: FloatArray  # m3 / m2^1.5; nan when the variance is 0


def from_sums(sums: npt.ArrayLike, center: npt.ArrayLike, scale: npt.ArrayLike) -> Moments:
    """Moments of each row of `sums` (shape (..., SUMS)) in the column's own units."""
    s = np.asarray(sums, dtype=np.float64)
    c = np.asarray(center, dtype=np.float64)
    k = np.asarray(scale, dtype=np.float64)
    n = s[..., 0]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        e1, e2, e3, e4 = (s[..., i] / n for i in range(1, SUMS))
        m2 = np.maximum(e2 - e1 * e1, 0.0)
        m3 = e3 - 3.0 * e1 * e2 + 2.0 * e1 ** 3
        m4 = e4 - 4.0 * e1 * e3 + 6.0 * e1 * e1 * e2 - 3.0 * e1 ** 4
        mean = np.where(n > 0, c + k * e1, np.nan)
        std = np.where(n > 1, k * np.sqrt(m2 * n / (n - 1.0)), np.nan)
        spread = (n > 1) & (m2 > 0)
        kurtosis = np.where(spread, np.maximum(m4, 0.0) / (m2 * m2), np.nan)
        skewness = np.where(spread, m3 / m2 ** 1.5, np.nan)
    return Moments(n, mean, std, kurtosis, skewness)


@dataclass(frozen=True, eq=False)
class MomentTest:
    value: FloatArray  # the effect size; nan where the rule does not judge
    sd: FloatArray
    p_value: FloatArray


def judged(baseline: Moments, current: Moments) -> npt.NDArray[np.bool_]:
    """Where the moment rules apply: two finite values a side, a spread, tails not too heavy."""
    with np.errstate(invalid="ignore"):
        return (baseline.n >= 2) & (current.n >= 2) & (baseline.std > 0) \
            & np.isfinite(baseline.std) & np.isfinite(current.std) \
            & (baseline.kurtosis <= MOMENT_KURTOSIS_LIMIT)


def hall_transform(t: FloatArray, skew: FloatArray) -> FloatArray:
    """Hall's monotone transformation of a studentized mean whose numerator has skewness
    `skew`: t + skew (1 + 2 t^2) / 6 + skew^2 t^3 / 27 is near symmetric to O(1/n)."""
    out: FloatArray = t + skew * (1.0 + 2.0 * t * t) / 6.0 + skew * skew * t ** 3 / 27.0
    return out


def mean_shift(baseline: Moments, current: Moments) -> MomentTest:
    ok = judged(baseline, current)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        vw = current.std ** 2 / current.n
        vb = baseline.std ** 2 / baseline.n
        se = np.sqrt(vw + vb)
        diff = current.mean - baseline.mean
        dof = (vw + vb) ** 2 / (vw ** 2 / (current.n - 1.0) + vb ** 2 / (baseline.n - 1.0))
        # Under no drift both sides share the baseline's shape: mean_w - mean_b has third
        # cumulant k3 (1 / n_w^2 - 1 / n_b^2) and variance sigma^2 (1 / n_w + 1 / n_b), so its
        # skewness depends on the sizes alone (and vanishes for equal ones). The window's own
        # std must not enter: it is small exactly when a right-skewed window's t is low.
        skew = np.nan_to_num(baseline.skewness) * (current.n ** -2.0 - baseline.n ** -2.0) \
            / (1.0 / current.n + 1.0 / baseline.n) ** 1.5
        p = 2.0 * stdtr(dof, -np.abs(hall_transform(diff / se, skew)))
        value = np.abs(diff) / baseline.std
        sd = se / baseline.std
    return MomentTest(np.where(ok, value, np.nan), np.where(ok, sd, np.nan),
                      np.where(ok, np.minimum(p, 1.0), np.nan))


def log_std_variance(moments: Moments, kurtosis: FloatArray) -> FloatArray:
    """Var(s^2) / sigma^4 of a sample of moments.n values with this kurtosis (Var(ln s) x 4)."""
    n = moments.n
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.maximum(kurtosis - (n - 3.0) / (n - 1.0), 0.0) / n
    return out


def std_change(baseline: Moments, current: Moments) -> MomentTest:
    ok = judged(baseline, current)
    kurtosis = np.fmax(baseline.kurtosis, current.kurtosis)
    vw, vb = log_std_variance(current, kurtosis), log_std_variance(baseline, kurtosis)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = (np.log(current.std) + vw / 4.0) - (np.log(baseline.std) + vb / 4.0)
        sd = np.sqrt((vw + vb) / 4.0)
        p = np.where(np.isinf(diff), 0.0, 2.0 * ndtr(-np.abs(diff) / sd))
    return MomentTest(np.where(ok, np.abs(diff), np.nan), np.where(ok, sd, np.nan),
                      np.where(ok, p, np.nan))


def power_sums(values: npt.ArrayLike, center: float, scale: float) -> FloatArray:
    """The SUMS power sums of the finite values, as the histogram pass takes them."""
    x = np.asarray(values, dtype=np.float64)
    z = (x[np.isfinite(x)] - center) / scale
    return np.array([z.size, z.sum(), (z * z).sum(), (z * z * z).sum(), (z * z * z * z).sum()])
