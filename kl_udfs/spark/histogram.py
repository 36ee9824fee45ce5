"""Window histograms for every monitored column in one distributed pass.

Each row is binned per column (Bucketizer's binary search for numbers, a map lookup for
categories, then a Bloom filter for values the baseline never saw), the per-column bin indices
are stacked into (column, bin) pairs and one groupBy counts them with a partial aggregation per
task: one job, no job per column, no rows on the driver. Wide tables are scanned in groups of
columns, unioned within that job.
Several consecutive windows (a backfill) share the pass by grouping on a window index too.
The per-row expressions are handed to Spark as SQL text, one call per scan: built from Column
objects they cost a Py4J round trip per literal (about 2,500 at 12 columns, 0.25 s a pass).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pyspark.ml.feature import Bucketizer
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from kl_udfs.core.bins import CATEGORICAL, ColumnBins
from kl_udfs.core.seen import might_contain_sql
from kl_udfs.core.stats.moments import SUM_COLUMNS
from kl_udfs.core.windows import Window

# Power sums of the finite values (kl_udfs.core.stats.moments), per cell like the counts.
COUNT_SCHEMA = "window_idx int, column_idx int, bin int, count long, min_value double, " \
               "max_value double, " + ", ".join(f"{name} double" for name in SUM_COLUMNS)
_EPOCH = datetime(1970, 1, 1)


def quote(name: str) -> str:
    """A column reference that survives dots, spaces and backticks in the name."""
    return "`" + name.replace("`", "``") + "`"


def col(name: str) -> Column:
    return F.col(quote(name))


def micros(instant: datetime) -> int:
    return (instant - _EPOCH) // _micro


_micro = datetime(1970, 1, 1, 0, 0, 0, 1) - _EPOCH


def numeric_sql(column: ColumnBins) -> str:
    """The number a column is binned by: dates as days, timestamps as seconds since epoch."""
    source = quote(column.name)
    if column.source_type == "date":
        return f"CAST(unix_date({source}) AS DOUBLE)"
    if column.source_type == "timestamp_ntz":
        return f"CAST(CAST({source} AS TIMESTAMP) AS DOUBLE)"
    if column.source_type in ("double", "float"):
        # -0.0 becomes 0.0: Bucketizer orders -0.0 below 0.0 (Double.compare), so with an edge
        # or the baseline's minimum at 0 it was counted a bin lower than numpy counts it.
        return f"CASE WHEN {source} = 0 THEN 0D ELSE CAST({source} AS DOUBLE) END"
    return f"CAST({source} AS DOUBLE)"


def numeric_value(column: ColumnBins) -> Column:
    return F.expr(numeric_sql(column))


def string_literal(text: str) -> str:
    """A SQL string constant for any text: its UTF-8 bytes in hex, so that no quote, backslash
    or parser setting (spark.sql.parser.escapedStringLiterals) can change it."""
    return f"CAST(X'{text.encode().hex()}' AS STRING)"


def category_sql(name: str) -> str:
    """The string a categorical column is counted by. Invalid UTF-8 (a binary cast to string
    keeps its bytes) becomes U+FFFD, as it does on its way to Python: the categories the driver
    learns then match the window's values byte for byte (without it, every invalid value was
    counted as unseen)."""
    return f"make_valid_utf8(CAST({quote(name)} AS STRING))"


def _category_bin_sql(column: ColumnBins) -> str:
    source = category_sql(column.name)
    other = len(column.categories)
    lookup = str(other)
    if column.has_unseen:
        lookup = f"CASE WHEN {might_contain_sql(column.seen_filter, source)} THEN {other} " \
                 f"ELSE {other + 1} END"
    if column.categories:
        pairs = ", ".join(f"{string_literal(c)}, {i}" for i, c in enumerate(column.categories))
        lookup = f"coalesce(element_at(map({pairs}), {source}), {lookup})"
    return f"CASE WHEN {source} IS NULL THEN {column.null_index} ELSE {lookup} END"


def _z_sql(column: ColumnBins, value: str) -> str:
    """z = (value - center) / scale of a finite value (kl_udfs.core.stats.moments), else null."""
    if not column.has_moments:
        return "CAST(NULL AS DOUBLE)"
    return f"CASE WHEN abs({value}) < double('inf') THEN ({value} - ({column.center!r}D)) / " \
           f"({column.scale!r}D) END"


def in_range(ts: Column, ts_type: T.DataType, start: datetime, end: datetime) -> Column:
    """[start, end) on the raw column, so Delta can skip files by their min/max stats."""
    target = ts_type.simpleString()
    lower = F.lit(start.isoformat(sep=" ")).cast(target)
    upper = F.lit(end.isoformat(sep=" ")).cast(target)
    return (ts >= lower) & (ts < upper)


# Columns binned per scan. Past spark.sql.codegen.maxFields (100) Spark drops whole-stage codegen
# and the vectorized Parquet reader. Single runs at 1M rows x 200 columns, 2 cores: groups of 16
# took 39-77 s, one scan 95-104 s, the floor 52-76 s; groups of 4 took 95 s and groups of 32
# 153 s (likely a generated method past HotSpot's 8 KB JIT limit, which then runs interpreted).
GROUP_COLUMNS = 16


def window_histograms(
    df: DataFrame,
    bins: Sequence[ColumnBins],
    ts_column: str,
    windows: Sequence[Window] | None,
) -> DataFrame:
    """Counts per (window_idx, column_idx, bin), min/max of the binned numbers and their power
    sums (SUM_COLUMNS; numeric columns with a moments frame).

    `windows` must be consecutive ([w0.start, w_last.end) with no gaps); None counts the whole
    frame as window 0. Only non-empty (window, column, bin) cells appear, so callers fill zeros
    from the bin definitions. Wide tables are counted in groups of GROUP_COLUMNS columns, one
    scan each, unioned into the same job: Parquet being columnar, every column is still read
    once (the timestamp once per group).
    """
    if not bins:
        raise ValueError("no columns to bin")
    scoped = df
    if windows:
        ts_type = df.schema[ts_column].dataType
        scoped = df.where(in_range(col(ts_column), ts_type, windows[0].start, windows[-1].end))
    groups = [list(range(i, min(i + GROUP_COLUMNS, len(bins))))
              for i in range(0, len(bins), GROUP_COLUMNS)]
    parts = [_group_histograms(scoped, bins, group, ts_column, windows or []) for group in groups]
    counted = parts[0]
    for part in parts[1:]:
        counted = counted.unionByName(part)
    if len(parts) == 1:
        return counted
    # A task of the union's stage deserializes the plans of every group (each reduce side holds
    # its whole plan), so task count x plan size grew with the square of the columns: at 1,000
    # columns the post-scan stages ran for minutes. One task per shuffle partition reads them all.
    partitions = int(df.sparkSession.conf.get("spark.sql.shuffle.partitions") or 1)
    return counted.coalesce(max(partitions, 1))


def _group_histograms(scoped: DataFrame, bins: Sequence[ColumnBins], group: Sequence[int],
                      ts_column: str, windows: Sequence[Window]) -> DataFrame:
    """The histogram cells of the columns at positions `group` (column_idx stays global)."""
    numeric = [(i, bins[i]) for i in group if bins[i].kind != CATEGORICAL]
    projected = [f"{numeric_sql(c)} AS __v{i}" for i, c in numeric]
    projected += [f"{_category_bin_sql(bins[i])} AS __b{i}" for i in group
                  if bins[i].kind == CATEGORICAL]
    if len(windows) > 1:
        projected.append(f"CAST(unix_micros(CAST({quote(ts_column)} AS TIMESTAMP)) AS DOUBLE)"
                         " AS __t")
    frame = scoped.selectExpr(*projected)

    bucketed = [(i, c) for i, c in numeric if len(c.splits()) > 2]
    splits = [c.splits() for _, c in bucketed]
    inputs, outputs = [f"__v{i}" for i, _ in bucketed], [f"__k{i}" for i, _ in bucketed]
    if len(windows) > 1:
        splits.append([float(micros(w.start)) for w in windows] + [float(micros(windows[-1].end))])
        inputs.append("__t")
        outputs.append("__w")
    if splits:
        frame = Bucketizer(splitsArray=splits, inputCols=inputs, outputCols=outputs,
                           handleInvalid="keep").transform(frame)

    entries: list[str] = []
    for i in group:
        c = bins[i]
        if c.kind == CATEGORICAL:
            entries.append(f"{i}, __b{i}, CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE)")
            continue
        value = f"__v{i}"
        # Bucketizer puts NaN in its extra bucket (= the null bin) and leaves null as null.
        found = f"CAST(__k{i} AS INT)" if len(c.splits()) > 2 else \
            f"CASE WHEN {value} IS NULL OR isnan({value}) THEN NULL ELSE 0 END"
        entries.append(f"{i}, coalesce({found}, {c.null_index}), "
                       f"CASE WHEN NOT isnan({value}) THEN {value} END, {_z_sql(c, value)}")
    window_idx = "CAST(__w AS INT)" if len(windows) > 1 else "0"
    stacked = frame.selectExpr(
        f"{window_idx} AS window_idx",
        f"stack({len(group)}, {', '.join(entries)}) AS (column_idx, bin, value, z)",
    )
    z = F.col("z")
    powers = [F.count(z).cast("double"), F.sum(z), F.sum(z * z), F.sum(z * z * z),
              F.sum(z * z * z * z)]
    return (
        stacked.groupBy("window_idx", "column_idx", "bin")
        .agg(F.count(F.lit(1)).alias("count"), F.min("value").alias("min_value"),
             F.max("value").alias("max_value"),
             *[p.alias(name) for p, name in zip(powers, SUM_COLUMNS, strict=True)])
        .select("window_idx", "column_idx", "bin", "count", "min_value", "max_value",
                *SUM_COLUMNS)
    )
