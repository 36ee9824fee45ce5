"""Kullback-Leibler divergence KL(P || Q) in nats, P = baseline (reference), Q = current."""

import numpy as np
import numpy.typing as npt

from kl_udfs.core.stats.segments import FloatArray, Segments
from kl_udfs.core.stats.smoothing import DEFAULT_PSEUDO_COUNT, smoothed_pair

_TINY = np.finfo(np.float64).tiny


def log_ratio(x: FloatArray, y: FloatArray) -> FloatArray:
    """ln(x / y) for x, y > 0, accurate to a few ulps of the result everywhere.

    Near x = y the result is tiny and ln of the rounded ratio is off by ~1e-16 in absolute
    terms, so use log1p((x - y) / y) there (x - y is exact by Sterbenz' lemma). Elsewhere
    ln(x / y), except where the ratio leaves float64's normal range (extreme pseudo-counts):
    there ln x - ln y, finite for any positive finite x and y.
    """
    d = x - y
    near = np.abs(d) <= 0.5 * y
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        ratio = x / y
        out: FloatArray = np.log(ratio)
    out[near] = np.log1p(d[near] / y[near])
    bad = ~near & ~((ratio >= _TINY) & np.isfinite(ratio))
    if np.any(bad):
        out[bad] = np.log(x[bad]) - np.log(y[bad])
    return out


def kl_terms(p: FloatArray, q: FloatArray) -> FloatArray:
    """Per-bin terms p * ln(p / q); p, q > 0 (smoothed). Negative where q gained mass."""
    terms: FloatArray = p * log_ratio(p, q)
    return terms


def kl_from_probabilities(p: FloatArray, q: FloatArray, segments: Segments) -> FloatArray:
    """Per-segment KL(p || q) of already smoothed distributions."""
    # Gibbs' inequality: the true value is >= 0, so a negative sum is float rounding only.
    return np.maximum(segments.sum(kl_terms(p, q)), 0.0)


def kl_divergence(
    baseline: npt.ArrayLike,
    current: npt.ArrayLike,
    segments: Segments | None = None,
    pseudo_count: float = DEFAULT_PSEUDO_COUNT,
) -> FloatArray:
    """Per-segment KL(baseline || current) in nats, on smoothed distributions."""
    p, q, seg = smoothed_pair(baseline, current, segments, pseudo_count)
    return kl_from_probabilities(p, q, seg)
