"""Frozen bin definitions: quantile edges for numbers, top-K categories for strings.

Layout of every column's histogram (the same in Spark, numpy and the tables):
numeric      [0 .. m]  the intervals (-inf, e1), [e1, e2), ..., [em, +inf); then the null bin
categorical  [0 .. K-1] the baseline's top-K categories; K: "other"; then the null bin
The null bin counts SQL nulls and floating-point NaN. Values outside the baseline range land
in the open outer intervals, unseen categories in "other": nothing is ever dropped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np

NUMERIC = "numeric"
CATEGORICAL = "categorical"
OTHER_LABEL = "<other>"
NULL_LABEL = "<null>"

Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class ColumnBins:
    name: str
    kind: Kind
    source_type: str  # Spark simpleString at baseline time, to detect a changed type
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def value_bins(self) -> int:
        return len(self.edges) + 1 if self.kind == NUMERIC else len(self.categories) + 1

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
            return [*self.categories, OTHER_LABEL, NULL_LABEL]
        shown = [self._format(edge) for edge in self.edges]
        bounds = ["-inf", *shown, "+inf"]
        intervals = [
            f"{'(' if i == 0 else '['}{bounds[i]}, {bounds[i + 1]})" for i in range(len(bounds) - 1)
        ]
        return [*intervals, NULL_LABEL]

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
            other = len(self.categories)
            return np.array(
                [self.null_index if _is_null(v) else lookup.get(_category(v), other)
                 for v in values],
                dtype=np.int64,
            )
        numbers = np.array([np.nan if _is_null(v) else float(v) for v in values],  # type: ignore[arg-type]
                           dtype=np.float64)
        index = np.searchsorted(np.asarray(self.edges, dtype=np.float64), numbers, side="right")
        return np.where(np.isnan(numbers), self.null_index, index).astype(np.int64)

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "kind": self.kind, "source_type": self.source_type,
                           "edges": list(self.edges), "categories": list(self.categories)})

    @classmethod
    def from_json(cls, text: str) -> ColumnBins:
        data = json.loads(text)
        return cls(data["name"], data["kind"], data["source_type"], tuple(data["edges"]),
                   tuple(data["categories"]))


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
