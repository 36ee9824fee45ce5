"""Population stability index: PSI = KL(P || Q) + KL(Q || P) = sum (p - q) * ln(p / q)."""

import numpy.typing as npt

from kl_udfs.core.stats.kl import log_ratio
from kl_udfs.core.stats.segments import FloatArray, Segments
from kl_udfs.core.stats.smoothing import DEFAULT_PSEUDO_COUNT, smoothed_pair


def psi_terms(p: FloatArray, q: FloatArray) -> FloatArray:
    """Per-bin (p - q) * ln(p / q).

    Each term is >= 0 even in floating point: division and log are monotone, so p - q and
    ln(p / q) never have opposite signs. Hence PSI needs no clamping.
    """
    terms: FloatArray = (p - q) * log_ratio(p, q)
    return terms + 0.0  # turn -0.0 (from (p - q) < 0 times ln 1 = 0) into +0.0


def psi_from_probabilities(p: FloatArray, q: FloatArray, segments: Segments) -> FloatArray:
    """Per-segment PSI of already smoothed distributions."""
    return segments.sum(psi_terms(p, q))


def psi(
    baseline: npt.ArrayLike,
    current: npt.ArrayLike,
    segments: Segments | None = None,
    pseudo_count: float = DEFAULT_PSEUDO_COUNT,
) -> FloatArray:
    """Per-segment population stability index on smoothed distributions."""
    p, q, seg = smoothed_pair(baseline, current, segments, pseudo_count)
    return psi_from_probabilities(p, q, seg)
