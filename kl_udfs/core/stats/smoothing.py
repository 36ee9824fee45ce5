"""The one smoothing rule of kl-drift.

Add a pseudo-count ``a`` (default 0.5, the Jeffreys / Krichevsky-Trofimov prior) to every bin
of a histogram, then re-normalise so that each segment sums to 1::

    p_i = (c_i + a) / (N + k * a)

with N the segment's total count and k its number of bins. ``a`` must be > 0: with a = 0,
KL(baseline || current) is infinite wherever the current window has an empty bin that the
baseline does not. Every divergence in this package (KL both ways, JS, PSI, contributions)
is computed on these smoothed distributions; only the G-test uses the raw counts, because it
is a test on counts rather than a distance between distributions.

The effect of ``a`` fades as N grows, so divergences of small windows are shrunk towards 0
(an all-zero histogram becomes uniform), which is what a monitor wants: no alert from noise.
"""

import math

import numpy as np
import numpy.typing as npt

from kl_udfs.core.defaults import DEFAULT_PSEUDO_COUNT
from kl_udfs.core.stats.segments import FloatArray, Segments, as_count_pair, as_counts


def check_pseudo_count(pseudo_count: float) -> float:
    """``pseudo_count`` as a float, or ValueError if it is not finite and > 0."""
    a = float(pseudo_count)
    if not (math.isfinite(a) and a > 0):
        raise ValueError(f"pseudo_count must be finite and > 0, got {pseudo_count!r}")
    return a


def smooth_counts(counts: FloatArray, segments: Segments, a: float) -> FloatArray:
    """Smoothed probabilities of already validated counts and pseudo-count."""
    smoothed = counts + a
    # Normalising by the sum of the smoothed counts (= N + k*a up to rounding) makes each
    # segment sum to 1 as closely as float64 allows.
    p: FloatArray = smoothed / segments.broadcast(segments.sum(smoothed))
    if not np.all(p > 0):  # only for absurd a: a/(N + k*a) underflows, or N + k*a overflows
        raise ValueError(f"pseudo_count {a!r} gives probabilities float64 cannot represent")
    return p


def smoothed_probabilities(
    counts: npt.ArrayLike,
    segments: Segments | None = None,
    pseudo_count: float = DEFAULT_PSEUDO_COUNT,
) -> FloatArray:
    """Per-bin smoothed probabilities (c_i + a) / (N + k*a); each segment sums to 1."""
    c = as_counts(counts)
    return smooth_counts(c, Segments.resolve(segments, c.size), check_pseudo_count(pseudo_count))


def smoothed_pair(
    baseline: npt.ArrayLike,
    current: npt.ArrayLike,
    segments: Segments | None = None,
    pseudo_count: float = DEFAULT_PSEUDO_COUNT,
) -> tuple[FloatArray, FloatArray, Segments]:
    """Validated, smoothed (p, q) for a baseline/current pair, and the resolved segments."""
    b, c = as_count_pair(baseline, current)
    seg = Segments.resolve(segments, b.size)
    a = check_pseudo_count(pseudo_count)
    return smooth_counts(b, seg, a), smooth_counts(c, seg, a), seg
