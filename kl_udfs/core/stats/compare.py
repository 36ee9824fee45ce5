"""All drift statistics of baseline vs current histograms in one vectorised pass."""

from dataclasses import dataclass

import numpy.typing as npt

from kl_udfs.core.stats.gtest import g_test_counts
from kl_udfs.core.stats.js import js_from_probabilities
from kl_udfs.core.stats.kl import kl_from_probabilities
from kl_udfs.core.stats.psi import psi_terms
from kl_udfs.core.stats.segments import FloatArray, IntArray, Segments, as_count_pair
from kl_udfs.core.stats.smoothing import DEFAULT_PSEUDO_COUNT, check_pseudo_count, smooth_counts


@dataclass(frozen=True, eq=False)
class Comparison:
    """Per-segment metrics (length n) and per-bin explanations (length of the counts)."""

    # per segment
    kl_divergence: FloatArray  # KL(baseline || current), nats
    kl_reverse: FloatArray  # KL(current || baseline), nats
    js_divergence: FloatArray  # base 2, in [0, 1]
    psi: FloatArray
    g_statistic: FloatArray
    dof: IntArray
    p_value: FloatArray
    baseline_total: FloatArray
    current_total: FloatArray
    # per bin
    baseline_fraction: FloatArray  # smoothed p
    current_fraction: FloatArray  # smoothed q
    contribution: FloatArray  # PSI term, >= 0, sums to psi per segment


def compare(
    baseline: npt.ArrayLike,
    current: npt.ArrayLike,
    segments: Segments | None = None,
    pseudo_count: float = DEFAULT_PSEUDO_COUNT,
) -> Comparison:
    """Compare baseline and current counts (1-D, same shape, finite, >= 0) per segment."""
    b, c = as_count_pair(baseline, current)
    seg = Segments.resolve(segments, b.size)
    a = check_pseudo_count(pseudo_count)
    # Smoothed once, shared by every metric.
    p, q = smooth_counts(b, seg, a), smooth_counts(c, seg, a)
    contribution = psi_terms(p, q)
    g = g_test_counts(b, c, seg)
    return Comparison(
        kl_divergence=kl_from_probabilities(p, q, seg),
        kl_reverse=kl_from_probabilities(q, p, seg),
        js_divergence=js_from_probabilities(p, q, seg),
        psi=seg.sum(contribution),
        g_statistic=g.statistic,
        dof=g.dof,
        p_value=g.p_value,
        baseline_total=seg.sum(b),
        current_total=seg.sum(c),
        baseline_fraction=p,
        current_fraction=q,
        contribution=contribution,
    )
