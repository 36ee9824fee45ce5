"""Drift statistics over long-format histograms, pure numpy (+ scipy.special for p-values).

See ``smoothing`` for the one smoothing rule every divergence uses, and ``segments`` for how
many histograms are computed in one vectorised call.
"""

from kl_udfs.core.stats.compare import Comparison, compare
from kl_udfs.core.stats.contributions import TopContributors, bin_contributions, top_contributors
from kl_udfs.core.stats.gtest import GTestResult, g_test
from kl_udfs.core.stats.js import js_divergence
from kl_udfs.core.stats.kl import kl_divergence
from kl_udfs.core.stats.psi import psi
from kl_udfs.core.stats.segments import Segments
from kl_udfs.core.stats.smoothing import DEFAULT_PSEUDO_COUNT, smoothed_probabilities

__all__ = [
    "DEFAULT_PSEUDO_COUNT",
    "Comparison",
    "GTestResult",
    "Segments",
    "TopContributors",
    "bin_contributions",
    "compare",
    "g_test",
    "js_divergence",
    "kl_divergence",
    "psi",
    "smoothed_probabilities",
    "top_contributors",
]
