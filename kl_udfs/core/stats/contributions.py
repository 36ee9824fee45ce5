"""Per-bin contributions that explain a drift, and the top contributors of every segment.

A bin's contribution is its PSI term (p_i - q_i) * ln(p_i / q_i): always >= 0, and the
contributions of a segment sum to its PSI. Individual KL terms p_i * ln(p_i / q_i) are not
usable for ranking: they go negative wherever the current window gains mass, so a bin that
exploded in the current window would rank last.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kl_udfs.core.stats.psi import psi_terms
from kl_udfs.core.stats.segments import FloatArray, IntArray, Segments
from kl_udfs.core.stats.smoothing import DEFAULT_PSEUDO_COUNT, smoothed_pair


def bin_contributions(
    baseline: npt.ArrayLike,
    current: npt.ArrayLike,
    segments: Segments | None = None,
    pseudo_count: float = DEFAULT_PSEUDO_COUNT,
) -> FloatArray:
    """Per-bin contribution (p - q) * ln(p / q) on smoothed distributions, >= 0."""
    p, q, _ = smoothed_pair(baseline, current, segments, pseudo_count)
    return psi_terms(p, q)


@dataclass(frozen=True, eq=False)
class TopContributors:
    """Long format, one row per selected bin, sorted by (segment, rank).

    ``index`` are positions in the flat per-bin arrays, ``rank`` is 0 for a segment's
    largest contribution. A segment with fewer than k bins has all of them listed.
    """

    index: IntArray
    segment: IntArray
    rank: IntArray
    n_segments: int

    def by_segment(self) -> list[IntArray]:
        """The bin indices of every segment, largest contribution first."""
        bounds = np.searchsorted(self.segment, np.arange(1, self.n_segments))
        return np.split(self.index, bounds)


def top_contributors(
    contribution: npt.ArrayLike, segments: Segments | None, k: int
) -> TopContributors:
    """The ``k`` largest contributions of every segment, in descending order.

    Ties keep the lower bin index first (``np.lexsort`` is stable), so output is
    deterministic. Zero contributions are not filtered out; callers may drop them.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    c = np.asarray(contribution, dtype=np.float64)
    if c.ndim != 1 or not np.all(np.isfinite(c)):
        raise ValueError("contribution must be a finite 1-D array")
    seg = Segments.resolve(segments, c.size)
    order = np.lexsort((-c, seg.ids))  # last key is primary: by segment, then descending
    sorted_ids = seg.ids[order]
    first = np.cumsum(seg.size()) - seg.size()  # position of each segment's first bin
    rank = np.arange(c.size) - first[sorted_ids]
    keep = rank < k
    return TopContributors(
        index=order[keep].astype(np.int64),
        segment=sorted_ids[keep],
        rank=rank[keep],
        n_segments=seg.n,
    )
