"""Frozen bin definitions: quantile edges for numbers, top-K categories for strings.

Layout of every column's histogram (the same in Spark, numpy and the tables):
numeric      (-inf, low) "below"; [low, e1), [e1, e2), ..., [em, high]; (high, +inf) "above";
             then the null bin. low and high are the baseline's exact minimum and maximum, so
             the baseline has no row below or above: any mass there is new.
categorical  [0 .. K-1] the baseline's top-K categories; K: "other", values the baseline saw
             beyond its top K; K + 1: "unseen", values it never saw; then the null bin.
             The baseline's own rows are binned as a window's would be against the rest of
             the baseline (leave one out): a value it holds once is "unseen", so its unseen
             share is the Good-Turing estimate of how often a window meets a new value.
             Columns with more than seen.SEEN_LIMIT distinct values beyond the top K (or
             whose filter does not fit in the baseline's seen.FILTER_BUDGET), and
             baselines built before the unseen bin, have no "unseen": new values go to "other".
The null bin counts SQL nulls and floating-point NaN: nothing is ever dropped. Baselines built
before the range bins (or of columns whose range is not finite) keep the older numeric layout
(-inf, e1), [e1, e2), ..., [em, +inf), null.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np

from kl_udfs.core.seen import might_contain

NUMERIC = "numeric"
CATEGORICAL = "categorical"
OTHER_LABEL = "<other>"
UNSEEN_LABEL = "<unseen>"
NULL_LABEL = "<null>"

Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class ColumnBins:
    name: str
    kind: Kind
    source_type: str  # Spark simpleString at baseline time, to detect a changed type
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()
    low: float | None = None  # the baseline's minimum and maximum: the range bins' bounds
    high: float | None = None
    seen_filter: str = ""  # categorical: the values the baseline saw (kl_udfs.core.seen), or none
    # numeric: the frame of the power sums the moment rules use (kl_udfs.core.stats.moments);
    # baselines built before them have none, and their columns get no moments.
    center: float | None = None
    scale: float | None = None

    @property
    def has_range(self) -> bool:
        return self.kind == NUMERIC and self.low is not None and self.high is not None

    @property
    def has_moments(self) -> bool:
        return self.kind == NUMERIC and self.center is not None and self.scale is not None

    @property
    def has_unseen(self) -> bool:
        return self.kind == CATEGORICAL and bool(self.seen_filter)

    @property
    def value_bins(self) -> int:
        if self.kind != NUMERIC:
            return len(self.categories) + (2 if self.has_unseen else 1)
        return len(self.edges) + (3 if self.has_range else 1)

    def splits(self) -> list[float]:
        """Bucketizer splits of a numeric column: bucket i is [splits[i], splits[i + 1])."""
        if not self.has_range:
            return [float("-inf"), *self.edges, float("inf")]
        assert self.low is not None and self.high is not None
        # [em, high] closed: the split just above high keeps high itself inside.
        return [float("-inf"), self.low, *self.edges, math.nextafter(self.high, math.inf),
                float("inf")]

    def with_range(self, low: float, high: float) -> ColumnBins:
        """These bins with the range bins of [low, high]; edges at low (empty below) dropped."""
        return replace(self, edges=tuple(e for e in self.edges if e > low), low=low, high=high)

    def roles(self) -> list[str]:
        """What each bin holds: value, below, above, other or null (see contract.BIN_ROLES)."""
        if self.kind == CATEGORICAL:
            return ["value"] * len(self.categories) + ["other"] + ["unseen"] * self.has_unseen \
                + ["null"]
        if not self.has_range:
            return ["value"] * self.value_bins + ["null"]
        return ["below", *["value"] * (len(self.edges) + 1), "above", "null"]

    @property
    def n_bins(self) -> int:
        return self.value_bins + 1

    @property
    def null_index(self) -> int:
        return self.value_bins

    @property
    def is_temporal(self) -> bool:
        return self.source_type in ("date", "timestamp", "timestamp_ntz")

    def labels(self) -> list[str]:
        if self.kind == CATEGORICAL:
            return [*self.categories, OTHER_LABEL, *[UNSEEN_LABEL] * self.has_unseen,
                    NULL_LABEL]
        shown = [self._format(edge) for edge in self.edges]
        if not self.has_range:
            bounds = ["-inf", *shown, "+inf"]
            intervals = [f"{'(' if i == 0 else '['}{bounds[i]}, {bounds[i + 1]})"
                         for i in range(len(bounds) - 1)]
            return [*intervals, NULL_LABEL]
        assert self.low is not None and self.high is not None
        low, high = self._format(self.low), self._format(self.high)
        bounds = [low, *shown, high]
        inner = [f"[{bounds[i]}, {bounds[i + 1]}{']' if i == len(bounds) - 2 else ')'}"
                 for i in range(len(bounds) - 1)]
        return [f"(-inf, {low})", *inner, f"({high}, +inf)", NULL_LABEL]

    def _format(self, edge: float) -> str:
        if self.source_type == "date":
            return (datetime(1970, 1, 1) + timedelta(days=edge)).date().isoformat()
        if self.source_type in ("timestamp", "timestamp_ntz"):
            return datetime.fromtimestamp(edge, UTC).replace(tzinfo=None).isoformat()
        return f"{edge:.6g}"

    def assign(self, values: Sequence[object] | np.ndarray) -> np.ndarray:
        """Bin indices of plain Python/numpy values: the reference the Spark pass must match."""
        if self.kind == CATEGORICAL:
            lookup = {c: i for i, c in enumerate(self.categories)}
            return np.array([self.null_index if _is_null(v) else self._beyond_top(
                _category(v), lookup) for v in values], dtype=np.int64)
        numbers = np.array([np.nan if _is_null(v) else float(v) for v in values],  # type: ignore[arg-type]
                           dtype=np.float64)
        inner = np.asarray(self.splits()[1:-1], dtype=np.float64)
        index = np.searchsorted(inner, numbers, side="right")
        return np.where(np.isnan(numbers), self.null_index, index).astype(np.int64)

    def _beyond_top(self, value: str, lookup: dict[str, int]) -> int:
        found = lookup.get(value)
        if found is not None:
            return found
        other = len(self.categories)
        return other + 1 if self.has_unseen and not might_contain(self.seen_filter, value) \
            else other

    def to_json(self) -> str:
        data: dict[str, object] = {
            "name": self.name, "kind": self.kind, "source_type": self.source_type,
            "edges": list(self.edges), "categories": list(self.categories)}
        if self.has_range:  # older baselines have no range: their JSON (and id) stay as they were
            data.update(low=self.low, high=self.high)
        if self.seen_filter:  # likewise for baselines without the unseen bin
            data["seen_filter"] = self.seen_filter
        if self.has_moments:  # and without the moment rules
            data.update(center=self.center, scale=self.scale)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> ColumnBins:
        data = json.loads(text)
        return cls(data["name"], data["kind"], data["source_type"], tuple(data["edges"]),
                   tuple(data["categories"]), data.get("low"), data.get("high"),
                   data.get("seen_filter", ""), data.get("center"), data.get("scale"))


def ranged_counts(plain: ColumnBins, ranged: ColumnBins, counts: Sequence[int]) -> list[int]:
    """Counts of the baseline in the `plain` layout, moved to `ranged` = plain.with_range(min,
    max) of the same rows: nothing lies below min or above max, and the plain bins under
    dropped edges (empty: their values would be below min) fold into the first range bin."""
    dropped = len(plain.edges) - len(ranged.edges)
    values = list(counts[:plain.null_index])
    first = sum(values[:dropped + 1])
    return [0, first, *values[dropped + 1:], 0, counts[plain.null_index]]


def _is_null(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _category(value: object) -> str:
    # Booleans are binned as Spark casts them to string.
    return str(value).lower() if isinstance(value, bool | np.bool_) else str(value)


def numeric_edges(quantiles: Sequence[float | None]) -> tuple[float, ...]:
    """Inner edges from baseline quantiles: finite, sorted, deduplicated for discrete data."""
    finite = [float(q) for q in quantiles if q is not None and math.isfinite(q)]
    return tuple(float(e) for e in np.unique(np.asarray(finite, dtype=np.float64)))


def quantile_probabilities(bins: int) -> list[float]:
    """The interior probabilities whose quantiles make `bins` equal-mass bins."""
    return [i / bins for i in range(1, bins)]
