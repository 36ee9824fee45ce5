"""Long-format histograms: many histograms in one flat array.

Every statistic takes flat per-bin arrays plus one segment id per bin, so that all the
(column x window) histograms of a run are computed in one vectorised call with no Python
loop. Bins of one segment need not be contiguous: per-segment reductions go through
``np.bincount``, which does not care about order.
"""

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ScalarT = TypeVar("ScalarT", bound=np.generic)

# Largest accepted grand total (baseline + current). Far beyond any real row count, and it
# keeps every intermediate finite: e.g. G <= 2 ln(2) * total, KL terms are sums of
# probabilities times logs bounded by ~1500.
MAX_TOTAL = 1e300


@dataclass(frozen=True, eq=False)
class Segments:
    """Segment id (0..n-1) of every bin of a flat count array.

    ``n`` may exceed ``ids.max() + 1``: a segment without bins is an empty histogram.
    ``eq=False`` because ``==`` on numpy arrays is elementwise, not a bool.
    """

    ids: IntArray
    n: int

    def __post_init__(self) -> None:
        raw = np.asarray(self.ids)
        if raw.size and raw.dtype.kind not in "iu":  # refuse floats/bools, don't truncate
            raise ValueError(f"segment ids must be integers, got dtype {raw.dtype}")
        ids = np.array(raw, dtype=np.int64)  # private copy: frozen means frozen
        if ids.ndim != 1:
            raise ValueError(f"segment ids must be 1-D, got shape {ids.shape}")
        if self.n < 0:
            raise ValueError(f"number of segments must be >= 0, got {self.n}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.n):
            raise ValueError(f"segment ids must lie in [0, {self.n})")
        ids.setflags(write=False)
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "n", int(self.n))

    @classmethod
    def single(cls, k: int) -> "Segments":
        """One histogram of ``k`` bins."""
        if k < 0:
            raise ValueError(f"number of bins must be >= 0, got {k}")
        return cls(np.zeros(k, dtype=np.int64), 1)

    @classmethod
    def from_ids(cls, ids: npt.ArrayLike) -> "Segments":
        """Segments from explicit non-negative integer ids; ``n = max(ids) + 1``."""
        arr = np.asarray(ids)
        if arr.size and arr.min() < 0:
            raise ValueError("segment ids must be non-negative")
        return cls(arr, int(arr.max()) + 1 if arr.size else 0)

    @classmethod
    def resolve(cls, segments: "Segments | None", k: int) -> "Segments":
        """``segments`` checked against ``k`` bins; ``None`` means one histogram."""
        if segments is None:
            return cls.single(k)
        if segments.ids.shape != (k,):
            raise ValueError(f"segments cover {segments.ids.size} bins, counts have {k}")
        return segments

    def sum(self, values: npt.ArrayLike) -> FloatArray:
        """Per-segment sums of a per-bin array."""
        v = np.asarray(values, dtype=np.float64)
        if v.shape != self.ids.shape:
            raise ValueError(f"expected {self.ids.size} per-bin values, got shape {v.shape}")
        return np.bincount(self.ids, weights=v, minlength=self.n).astype(np.float64)

    def size(self) -> IntArray:
        """Number of bins of every segment."""
        return np.bincount(self.ids, minlength=self.n).astype(np.int64)

    def broadcast(self, per_segment: npt.NDArray[ScalarT]) -> npt.NDArray[ScalarT]:
        """Per-bin copy of a per-segment array."""
        v = np.asarray(per_segment)
        if v.shape != (self.n,):
            raise ValueError(f"expected {self.n} per-segment values, got shape {v.shape}")
        return v[self.ids]


def as_counts(values: npt.ArrayLike, name: str = "counts") -> FloatArray:
    """``values`` as a 1-D float64 count array; negative or non-finite counts are errors."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0")
    # Every per-segment total is at most the grand total, so this bounds them all.
    if not arr.sum() <= MAX_TOTAL:
        raise ValueError(f"{name} total exceeds {MAX_TOTAL:g}")
    return arr


def as_count_pair(baseline: npt.ArrayLike, current: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validated (baseline, current) count arrays of the same shape."""
    b = as_counts(baseline, "baseline")
    c = as_counts(current, "current")
    if b.shape != c.shape:
        raise ValueError(f"baseline shape {b.shape} != current shape {c.shape}")
    if not b.sum() + c.sum() <= MAX_TOTAL:  # the G-test adds the two rows together
        raise ValueError(f"baseline + current total exceeds {MAX_TOTAL:g}")
    return b, c
