"""Building a baseline: learn frozen bins from reference data, count it, store it.

Two aggregations learn the bins (quantiles of every numeric column in one, the top-K of every
categorical column in one stacked groupBy) and the one-pass histogram counts the reference
against them, so a baseline costs three scans whatever the number of columns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from kl_udfs.bins import CATEGORICAL, ColumnBins, numeric_edges, quantile_probabilities
from kl_udfs.columns import ColumnChoice, choose_columns
from kl_udfs.config import Monitor
from kl_udfs.errors import KlDriftError
from kl_udfs.histogram import col, in_range, numeric_value, window_histograms
from kl_udfs.windows import align_down

QUANTILE_ACCURACY = 10_000  # percentile_approx relative error 1e-4; edges only, counts are exact


@dataclass(frozen=True)
class BaselineSource:
    description: str
    version: int | None  # Delta version the reference was read at
    start: datetime | None
    end: datetime | None
    previous_windows: int | None


@dataclass(frozen=True)
class ColumnCounts:
    counts: list[int]
    count: int
    null_count: int
    min: float | None
    max: float | None


def learn_bins(df: DataFrame, choices: Sequence[ColumnChoice], bins: int,
               top_k: int) -> list[ColumnBins]:
    """Quantile edges for numeric columns and the top-K categories for categorical ones."""
    numeric = [c for c in choices if c.kind and c.kind != CATEGORICAL]
    categorical = [c for c in choices if c.kind == CATEGORICAL]
    edges: dict[str, tuple[float, ...]] = {}
    if numeric:
        probabilities = F.array(*[F.lit(p) for p in quantile_probabilities(bins)])
        aggregates = []
        for i, choice in enumerate(numeric):
            probe = ColumnBins(choice.name, "numeric", choice.source_type)
            value = numeric_value(probe)
            finite = F.when(~F.isnan(value) & (F.abs(value) != F.lit(float("inf"))), value)
            aggregates.append(
                F.percentile_approx(finite, probabilities, QUANTILE_ACCURACY).alias(f"q{i}"))
        row = df.agg(*aggregates).first()
        assert row is not None
        edges = {c.name: numeric_edges(row[f"q{i}"] or []) for i, c in enumerate(numeric)}
    categories: dict[str, list[str]] = {c.name: [] for c in categorical}
    if categorical:
        entries = [x for i, c in enumerate(categorical)
                   for x in (F.lit(i), col(c.name).cast("string"))]
        ranked = Window.partitionBy("column_idx").orderBy(F.desc("n"), F.asc("value"))
        top = (
            df.select(F.stack(F.lit(len(categorical)), *entries).alias("column_idx", "value"))
            .where(F.col("value").isNotNull())
            .groupBy("column_idx", "value").agg(F.count(F.lit(1)).alias("n"))
            .withColumn("rank", F.row_number().over(ranked))
            .where(F.col("rank") <= top_k)
            .orderBy("column_idx", "rank")
            .collect()
        )
        for r in top:
            categories[categorical[r["column_idx"]].name].append(r["value"])
    return [
        ColumnBins(c.name, c.kind, c.source_type, edges=edges.get(c.name, ()),
                   categories=tuple(categories.get(c.name, ())))
        for c in choices if c.kind
    ]


def count_columns(df: DataFrame, bins: Sequence[ColumnBins], ts_column: str) -> list[ColumnCounts]:
    """Dense counts per column over the whole frame from the one-pass histogram.

    The collect() brings back aggregated cells (at most the number of bins), never rows.
    """
    cells = window_histograms(df, bins, ts_column, None).collect()
    dense = [[0] * b.n_bins for b in bins]
    lows: list[list[float]] = [[] for _ in bins]
    highs: list[list[float]] = [[] for _ in bins]
    for cell in cells:
        dense[cell["column_idx"]][cell["bin"]] = int(cell["count"])
        if cell["min_value"] is not None:
            lows[cell["column_idx"]].append(cell["min_value"])
            highs[cell["column_idx"]].append(cell["max_value"])
    return [
        ColumnCounts(dense[i], sum(dense[i]), dense[i][b.null_index],
                     min(lows[i]) if lows[i] else None, max(highs[i]) if highs[i] else None)
        for i, b in enumerate(bins)
    ]


def baseline_id(monitor: Monitor, source: BaselineSource, bins: Sequence[ColumnBins]) -> str:
    """Deterministic: rebuilding the same baseline from the same data keeps its id."""
    identity = json.dumps({
        "monitor": monitor.name, "table": monitor.table, "source": source.description,
        "version": source.version, "bins": [b.to_json() for b in bins],
    }, sort_keys=True)
    return "b-" + hashlib.sha1(identity.encode()).hexdigest()[:12]


def reference_range(df: DataFrame, monitor: Monitor) -> tuple[datetime, datetime]:
    """A rolling baseline's bins come from start/end, else from the table's first N windows."""
    spec = monitor.baseline
    if spec.start is not None and spec.end is not None:
        return spec.start, spec.end
    row = df.agg(F.min(col(monitor.timestamp_column)).alias("first")).first()
    if row is None or row["first"] is None:
        raise KlDriftError("table has no rows to learn baseline bins from",
                           monitor=monitor.name, table=monitor.table)
    first = row["first"]
    if not isinstance(first, datetime):
        first = datetime(first.year, first.month, first.day)
    start = align_down(first, monitor.window_length)
    assert spec.previous_windows is not None
    return start, start + spec.previous_windows * monitor.window_length


def describe_source(monitor: Monitor, version: int | None, start: datetime | None,
                    end: datetime | None) -> BaselineSource:
    spec = monitor.baseline
    if spec.kind == "version":
        return BaselineSource(f"delta version {spec.version}", version, None, None, None)
    window = f"[{start}, {end})"
    if spec.kind == "rolling":
        return BaselineSource(f"rolling {spec.previous_windows} x {monitor.window}, bins from "
                              f"{window} @ version {version}", version, start, end,
                              spec.previous_windows)
    return BaselineSource(f"range {window} @ version {version}", version, start, end, None)


def learn_and_count(spark: SparkSession, monitor: Monitor, df: DataFrame,
                    version: int | None) -> tuple[BaselineSource, list[ColumnChoice],
                                                  list[ColumnBins], list[ColumnCounts]]:
    """Everything a baseline needs, computed before anything is written."""
    choices = choose_columns(monitor, df.schema)
    if not any(c.kind for c in choices):
        raise KlDriftError("no supported column to monitor", monitor=monitor.name,
                           table=monitor.table)
    start = end = None
    if monitor.baseline.kind != "version":
        start, end = reference_range(df, monitor)
        ts = monitor.timestamp_column
        df = df.where(in_range(col(ts), df.schema[ts].dataType, start, end))
    source = describe_source(monitor, version, start, end)
    reference = df.select(*[col(c.name) for c in choices if c.kind], col(monitor.timestamp_column))
    if reference.limit(1).count() == 0:
        raise KlDriftError(f"baseline {source.description} has no rows", monitor=monitor.name,
                           table=monitor.table)
    bins = learn_bins(reference, choices, monitor.bins, monitor.top_k)
    counts = count_columns(reference, bins, monitor.timestamp_column)  # already in range
    return source, choices, bins, counts
