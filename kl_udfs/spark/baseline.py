"""Building a baseline: learn frozen bins from reference data, count it, store it.

Three passes, whatever the number of columns: one stacked groupBy ranks the values of every
categorical column, which gives their top-K, their exact counts and the values they hold at
once; one aggregation learns the quantile edges of every numeric column (from a sample of
about bins x 10,000 rows when there are more); the one-pass histogram then counts the numeric
columns against them.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from kl_udfs.core.bins import (
    CATEGORICAL,
    ColumnBins,
    numeric_edges,
    quantile_probabilities,
    ranged_counts,
)
from kl_udfs.core.config import Monitor
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.seen import FILTER_BUDGET, SEEN_LIMIT, build_filter, within_budget
from kl_udfs.core.stats.moments import SUMS, frame_of
from kl_udfs.core.windows import Window as TimeWindow
from kl_udfs.spark.columns import ColumnChoice, check_timestamp, choose_columns
from kl_udfs.spark.histogram import (
    SUM_COLUMNS,
    category_sql,
    col,
    in_range,
    numeric_value,
    window_histograms,
)

QUANTILE_ACCURACY = 10_000  # percentile_approx relative error 1e-4; edges only, counts are exact
QUANTILE_ROWS_PER_BIN = 10_000  # quantile edges from at most about bins x this many rows
_SAMPLE_BUCKETS = 1_000_000


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
    moment_sums: list[float] | None = None  # numeric: kl_udfs.core.stats.moments power sums


def learn_bins(df: DataFrame, choices: Sequence[ColumnChoice], bins: int,
               top_k: int) -> list[ColumnBins]:
    """Quantile edges for numeric columns and the top-K categories for categorical ones."""
    return learn_with_counts(df, choices, bins, top_k)[0]


def learn_with_counts(df: DataFrame, choices: Sequence[ColumnChoice], bins: int,
                      top_k: int) -> tuple[list[ColumnBins], dict[str, list[int]]]:
    """The bins, and the dense counts of the categorical columns (exact, from the same pass)."""
    numeric = [c for c in choices if c.kind and c.kind != CATEGORICAL]
    categorical = [c for c in choices if c.kind == CATEGORICAL]
    categories, counts, filters = _top_categories(df, categorical, top_k)
    edges: dict[str, tuple[float, ...]] = {}
    if numeric:
        rows = sum(next(iter(counts.values()))) if counts else df.count()
        probabilities = F.array(*[F.lit(p) for p in quantile_probabilities(bins)])
        aggregates = []
        for i, choice in enumerate(numeric):
            probe = ColumnBins(choice.name, "numeric", choice.source_type)
            value = numeric_value(probe)
            finite = F.when(~F.isnan(value) & (F.abs(value) != F.lit(float("inf"))), value)
            aggregates.append(
                F.percentile_approx(finite, probabilities, QUANTILE_ACCURACY).alias(f"q{i}"))
        row = quantile_sample(df, rows, bins).agg(*aggregates).first()
        assert row is not None
        edges = {c.name: numeric_edges(row[f"q{i}"] or []) for i, c in enumerate(numeric)}
    frames = {name: frame_of(e) for name, e in edges.items()}
    learned = [
        ColumnBins(c.name, c.kind, c.source_type, edges=edges.get(c.name, ()),
                   categories=tuple(categories.get(c.name, ())),
                   seen_filter=filters.get(c.name, ""),
                   center=frames[c.name][0] if c.name in frames else None,
                   scale=frames[c.name][1] if c.name in frames else None)
        for c in choices if c.kind
    ]
    return learned, counts


def quantile_sample(df: DataFrame, rows: int, bins: int) -> DataFrame:
    """The rows the quantile edges are learnt from: all of them, or about bins x 10,000.

    percentile_approx over every row costs about two scans. With n = bins x 10,000 rows the
    standard error of an edge's rank, sqrt(p(1-p)/n), is at most 0.005 / sqrt(bins): 2% of a
    bin's share at 20 bins. Counts are always exact over every row. Rows are kept by a hash of
    their values, not by random draws, so the same data gives the same edges (and baseline id)
    on any cluster and any partitioning.
    """
    wanted = bins * QUANTILE_ROWS_PER_BIN
    if rows <= wanted:
        return df
    keep = max(1, round(_SAMPLE_BUCKETS * wanted / rows))
    row_hash = F.xxhash64(*[col(name) for name in df.columns])
    return df.where(F.pmod(row_hash, F.lit(_SAMPLE_BUCKETS)) < keep)


def _top_categories(df: DataFrame, categorical: Sequence[ColumnChoice], top_k: int,
                    ) -> tuple[dict[str, list[str]], dict[str, list[int]], dict[str, str]]:
    """Top-K categories of every categorical column, their counts and seen-value filters, from
    one groupBy.

    Counting every value (null too) to rank them already gives the column's whole histogram:
    the top K, "other", "unseen" (leave one out: values one row holds) and null; so
    categorical columns need no second pass. The driver receives at most K + 4 rows a column,
    plus the hash of each value beyond the top K where there are at most SEEN_LIMIT of them
    (and the filters of all columns fit in FILTER_BUDGET).
    """
    categories: dict[str, list[str]] = {c.name: [] for c in categorical}
    counts: dict[str, list[int]] = {}
    filters: dict[str, str] = {}
    if not categorical:
        return categories, counts, filters
    entries = [x for i, c in enumerate(categorical)
               for x in (F.lit(i), F.expr(category_sql(c.name)))]
    value = F.col("value")
    per_column = Window.partitionBy("column_idx")
    rank = F.row_number().over(per_column.orderBy(value.isNull(), F.desc("n"), value.asc()))
    kept = value.isNotNull() & (rank <= top_k)
    listed = F.count(value).over(per_column) <= top_k + SEEN_LIMIT  # distinct non-null values
    cells = (
        df.select(F.stack(F.lit(len(categorical)), *entries).alias("column_idx", "value"))
        .groupBy("column_idx", "value").agg(F.count(F.lit(1)).alias("n"))
        .select("column_idx", "n", F.when(kept, rank).alias("rank"),
                F.when(kept, value).alias("value"), value.isNull().alias("is_null"),
                listed.alias("listed"), (F.col("n") == 1).alias("single"),
                F.when(listed & value.isNotNull() & ~kept, F.xxhash64(value)).alias("hash"))
        .groupBy("column_idx", "rank", "value", "is_null", "listed", "single", "hash")
        .agg(F.sum("n").alias("n"))
        .collect()
    )
    found: dict[str, dict[int, tuple[str, int]]] = {c.name: {} for c in categorical}
    other = {c.name: 0 for c in categorical}
    unseen = {c.name: 0 for c in categorical}
    nulls = {c.name: 0 for c in categorical}
    listed_values: dict[str, int] = {}
    for cell in cells:
        if cell["listed"]:
            name = categorical[cell["column_idx"]].name
            listed_values[name] = listed_values.get(name, 0) + (cell["hash"] is not None)
    filtered = within_budget(listed_values, FILTER_BUDGET)
    hashes: dict[str, list[int]] = {name: [] for name in filtered}
    for cell in cells:
        name = categorical[cell["column_idx"]].name
        n = int(cell["n"])
        has_filter = bool(cell["listed"]) and name in filtered
        # Leave one out: a value one row holds is one no other baseline row saw.
        alone = bool(has_filter and cell["single"] and not cell["is_null"])
        if cell["is_null"]:
            nulls[name] = n
        elif cell["rank"] is not None:
            found[name][int(cell["rank"])] = (cell["value"], 0 if alone else n)
            unseen[name] += n if alone else 0
        else:
            if has_filter and cell["hash"] is not None:
                hashes[name].append(int(cell["hash"]))
            (unseen if alone else other)[name] += n
    for name, ranks in found.items():
        ordered = [ranks[r] for r in sorted(ranks)]
        categories[name] = [v for v, _ in ordered]
        counts[name] = [n for _, n in ordered] + [other[name]] + (
            [unseen[name]] if name in hashes else []) + [nulls[name]]
    filters = {name: build_filter(values) for name, values in hashes.items()}
    return categories, counts, filters


def count_columns(df: DataFrame, bins: Sequence[ColumnBins], ts_column: str) -> list[ColumnCounts]:
    """Dense counts per column over the whole frame from the one-pass histogram.

    The collect() brings back aggregated cells (at most the number of bins), never rows.
    """
    if not bins:
        return []
    cells = window_histograms(df, bins, ts_column, None).collect()
    dense = [[0] * b.n_bins for b in bins]
    sums = [[0.0] * SUMS for _ in bins]
    lows: list[list[float]] = [[] for _ in bins]
    highs: list[list[float]] = [[] for _ in bins]
    for cell in cells:
        dense[cell["column_idx"]][cell["bin"]] = int(cell["count"])
        for j, name in enumerate(SUM_COLUMNS):
            sums[cell["column_idx"]][j] += cell[name] or 0.0
        if cell["min_value"] is not None:
            lows[cell["column_idx"]].append(cell["min_value"])
            highs[cell["column_idx"]].append(cell["max_value"])
    return [
        ColumnCounts(dense[i], sum(dense[i]), dense[i][b.null_index],
                     min(lows[i]) if lows[i] else None, max(highs[i]) if highs[i] else None,
                     sums[i] if b.has_moments else None)
        for i, b in enumerate(bins)
    ]


def _categorical_counts(dense: list[int]) -> ColumnCounts:
    return ColumnCounts(dense, sum(dense), dense[-1], None, None)


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
    start = monitor.cadence.align_down(first)
    assert spec.previous_windows is not None
    return start, monitor.cadence.shift(start, spec.previous_windows)


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
        if start < end:
            check_timestamp(monitor, df.schema, [TimeWindow(start, end)])
        ts = monitor.timestamp_column
        df = df.where(in_range(col(ts), df.schema[ts].dataType, start, end))
    source = describe_source(monitor, version, start, end)
    reference = df.select(*[col(c.name) for c in choices if c.kind], col(monitor.timestamp_column))
    if reference.limit(1).count() == 0:
        raise KlDriftError(f"baseline {source.description} has no rows", monitor=monitor.name,
                           table=monitor.table)
    bins, categorical = learn_with_counts(reference, choices, monitor.bins, monitor.top_k)
    numeric = [b for b in bins if b.kind != CATEGORICAL]
    counted = dict(zip([b.name for b in numeric],  # already in range
                       count_columns(reference, numeric, monitor.timestamp_column), strict=True))
    counts = [_categorical_counts(categorical[b.name]) if b.kind == CATEGORICAL
              else counted[b.name] for b in bins]
    ranged = [_with_range(b, c) for b, c in zip(bins, counts, strict=True)]
    return source, choices, [b for b, _ in ranged], [c for _, c in ranged]


def _with_range(bins: ColumnBins, counts: ColumnCounts) -> tuple[ColumnBins, ColumnCounts]:
    """Numeric bins gain below/above bins at the baseline's exact min and max (when finite);
    the counts are moved, not recounted: the rows are the same."""
    if bins.kind == CATEGORICAL or counts.min is None or counts.max is None or not (
            math.isfinite(counts.min) and math.isfinite(counts.max)):
        return bins, counts
    ranged = bins.with_range(counts.min, counts.max)
    moved = ranged_counts(bins, ranged, counts.counts)
    return ranged, ColumnCounts(moved, counts.count, counts.null_count, counts.min, counts.max,
                                counts.moment_sums)
