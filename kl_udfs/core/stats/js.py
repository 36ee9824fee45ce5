"""Jensen-Shannon divergence, base 2, so that it lies in [0, 1].

JS(P, Q) = (KL(P || M) + KL(Q || M)) / 2 with M = (P + Q) / 2. Symmetric and bounded, unlike
KL, which makes one threshold meaningful across columns of very different cardinality.
"""

import math

import numpy as np
import numpy.typing as npt

from kl_udfs.core.stats.kl import kl_terms
from kl_udfs.core.stats.segments import FloatArray, Segments
from kl_udfs.core.stats.smoothing import DEFAULT_PSEUDO_COUNT, smoothed_pair


def js_from_probabilities(p: FloatArray, q: FloatArray, segments: Segments) -> FloatArray:
    """Per-segment JS divergence (base 2) of already smoothed distributions."""
    m = 0.5 * (p + q)
    js = segments.sum(kl_terms(p, m) + kl_terms(q, m)) / (2.0 * math.log(2.0))
    # True value is in [0, 1]; anything outside is float rounding.
    return np.clip(js, 0.0, 1.0)


def js_divergence(
    baseline: npt.ArrayLike,
    current: npt.ArrayLike,
    segments: Segments | None = None,
    pseudo_count: float = DEFAULT_PSEUDO_COUNT,
) -> FloatArray:
    """Per-segment Jensen-Shannon divergence (base 2, in [0, 1]) on smoothed distributions."""
    p, q, seg = smoothed_pair(baseline, current, segments, pseudo_count)
    return js_from_probabilities(p, q, seg)
