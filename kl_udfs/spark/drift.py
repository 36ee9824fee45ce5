"""Drift of consecutive windows against a stored baseline: counted and joined in Spark.

current counts (one pass) ─┐
bin definitions x windows ─┼─ left joins, zeros filled ─► applyInPandas(numpy figures)
baseline counts ───────────┘        (fixed, or summed from the previous N stored windows)
figures (one row per window x column) ─► driver: kl_udfs.core.verdict.decide (pandas) ─► rows
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from kl_udfs.core.bins import ColumnBins, Kind
from kl_udfs.core.config import Monitor
from kl_udfs.core.schema import column_change, new_column_message, new_columns
from kl_udfs.core.udfs import FIGURE_COLUMNS, FIGURES_SCHEMA, INPUT_COLUMNS, drift_figures
from kl_udfs.core.verdict import TEACHING, VERDICT_COLUMNS, Learning, decide
from kl_udfs.core.windows import Window
from kl_udfs.spark.columns import kind_of
from kl_udfs.spark.histogram import COUNT_SCHEMA, SUM_COLUMNS, window_histograms
from kl_udfs.spark.store import StoredBaseline
from kl_udfs.spark.tables import DRIFT_RESULTS, PROFILES, spark_type

TOP_CONTRIBUTORS = 5


@dataclass(frozen=True)
class DriftFrames:
    profiles: DataFrame
    drift: DataFrame
    persisted: Sequence[DataFrame]  # window counts and figures; unpersist when done
    window_rows: dict[datetime, int]  # window start -> rows of the table in it

    @property
    def rows_read(self) -> int:
        return sum(self.window_rows.values())

    def release(self) -> None:
        for frame in self.persisted:
            frame.unpersist()


@dataclass(frozen=True)
class RunContext:
    monitor: Monitor
    baseline: StoredBaseline
    windows: Sequence[Window]
    run_id: str
    computed_at: datetime
    quality_failures: dict[datetime, list[str]] = field(default_factory=dict)


def column_problems(baseline: StoredBaseline, schema: T.StructType) -> dict[str, str]:
    """Baseline columns that can no longer be binned (kl_udfs.core.schema): dropped, renamed,
    narrowed or of another kind; widened ones are binned as before."""
    types = {f.name: f.dataType.simpleString() for f in schema.fields}
    problems = {}
    for b in baseline.bins:
        problem = column_change(b.name, b.kind, b.source_type, types.get(b.name),
                                baseline.baseline_id)
        if problem:
            problems[b.name] = problem
    return problems


def added_columns(monitor: Monitor, baseline: StoredBaseline,
                  schema: T.StructType) -> dict[str, Kind]:
    """Columns the table gained since the baseline that a rebuilt baseline would monitor, with
    their kind. A monitor that lists its columns watches only those: nothing is new to it."""
    if monitor.columns is not None:
        return {}
    names = new_columns([f.name for f in schema.fields],
                        [*(b.name for b in baseline.bins), *baseline.skipped],
                        [monitor.timestamp_column, *monitor.exclude_columns])
    kinds = {f.name: kind_of(f.dataType, f.name in monitor.categorical_columns)
             for f in schema.fields}
    return {name: kind for name in names if (kind := kinds[name]) is not None}


def _bins_frame(spark: SparkSession, bins: Sequence[tuple[int, ColumnBins]],
                baseline: StoredBaseline | None) -> DataFrame:
    """One row per bin; with a fixed baseline, its counts, and its power sums on each column's
    first bin (only their per-column total is used, as for the window's cells)."""
    def sums(idx: int, j: int) -> list[float | None]:
        stored = baseline.moment_sums[idx] if baseline else None
        return list(stored) if stored is not None and j == 0 else [None] * len(SUM_COLUMNS)

    rows = [
        (idx, b.name, b.kind, j, label, role, baseline.counts[idx][j] if baseline else None,
         b.center, b.scale, *sums(idx, j))
        for idx, b in bins for j, (label, role) in enumerate(zip(b.labels(), b.roles(),
                                                                 strict=True))
    ]
    return spark.createDataFrame(rows, "column_idx int, column_name string, column_kind string, "
                                       "bin int, bin_label string, bin_role string, "
                                       "baseline_count long, center double, scale double, "
                                       + ", ".join(f"baseline_{c} double" for c in SUM_COLUMNS))


def _windows_frame(spark: SparkSession, windows: Sequence[Window]) -> DataFrame:
    # Strings cast in Spark (session time zone UTC) so no Python-side time zone creeps in.
    rows = [(i, w.start.isoformat(sep=" "), w.end.isoformat(sep=" ")) for i, w in
            enumerate(windows)]
    return spark.createDataFrame(rows, "window_idx int, ws string, we string").select(
        "window_idx", F.col("ws").cast("timestamp").alias("window_start"),
        F.col("we").cast("timestamp").alias("window_end"))


def _rolling_baseline(spark: SparkSession, ctx: RunContext, root: str, bins_df: DataFrame,
                      windows_df: DataFrame, counts: DataFrame) -> DataFrame:
    """Baseline counts (and power sums) per window: the sums of the previous N windows' stored
    and new ones. A stored profile's power sums ride on its first bin."""
    from kl_udfs.spark.tables import read_table

    assert ctx.baseline.previous_windows is not None
    names = bins_df.select("column_idx", "column_name").distinct()
    new = counts.join(windows_df, "window_idx", "inner").select(
        "window_start", "column_idx", "bin", "count", *SUM_COLUMNS)
    earliest = ctx.monitor.cadence.shift(ctx.windows[0].start, -ctx.baseline.previous_windows)
    stored = (
        read_table(spark, root, PROFILES)
        .where((F.col("monitor") == ctx.monitor.name)
               & (F.col("baseline_id") == ctx.baseline.baseline_id)
               & (F.col("window_start") >= F.lit(earliest.isoformat(sep=" ")).cast("timestamp"))
               & (F.col("window_start") < F.lit(ctx.windows[0].start.isoformat(sep=" "))
                  .cast("timestamp")))
        .join(names, "column_name", "inner")
        .select("window_start", "column_idx", "moment_sums",
                F.posexplode("counts").alias("bin", "count"))
        .select("window_start", "column_idx", "bin", "count", *[
            F.when(F.col("bin") == 0, F.col("moment_sums")[i]).alias(name)
            for i, name in enumerate(SUM_COLUMNS)])
    )
    history = stored.unionByName(new).alias("h")
    target = windows_df.alias("w")
    cadence, previous = ctx.monitor.cadence, ctx.baseline.previous_windows
    lower = (F.col("w.window_start") - F.lit(previous * cadence.fixed) if cadence.fixed else
             F.add_months(F.col("w.window_start"), -previous * cadence.months).cast("timestamp"))
    within = (F.col("h.window_start") >= lower) & (
        F.col("h.window_start") < F.col("w.window_start"))
    return (
        target.join(history, within, "inner")
        .groupBy(F.col("w.window_idx").alias("window_idx"), F.col("h.column_idx").alias(
            "column_idx"), F.col("h.bin").alias("bin"))
        .agg(F.sum("h.count").alias("baseline_count"),
             *[F.sum(f"h.{name}").alias(f"baseline_{name}") for name in SUM_COLUMNS])
    )


def compute_drift(spark: SparkSession, ctx: RunContext, df: DataFrame, root: str,
                  table_name: str, pseudo_count: float) -> DriftFrames:
    """Profiles and drift rows for every window, over one persisted histogram.

    The figures are computed (and persisted) here, because the verdict needs all of them on
    the driver: it is one small row per window and column.
    """
    problems = column_problems(ctx.baseline, df.schema)
    added = added_columns(ctx.monitor, ctx.baseline, df.schema)
    # A widened column is binned as its type is now (an int become double: -0.0 as 0.0).
    types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    usable = [(i, replace(b, source_type=types[b.name]))
              for i, b in enumerate(ctx.baseline.bins) if b.name not in problems]
    windows_df = _windows_frame(spark, ctx.windows)
    fixed = ctx.baseline.previous_windows is None
    bins_df = _bins_frame(spark, usable, ctx.baseline if fixed else None)

    if usable:
        local = window_histograms(df, [b for _, b in usable], ctx.monitor.timestamp_column,
                                  ctx.windows)
        # histogram column positions -> baseline column_idx
        mapping = F.create_map(*[F.lit(x) for pos, (i, _) in enumerate(usable) for x in (pos, i)])
        counts = local.withColumn("column_idx", F.element_at(mapping, F.col("column_idx")))
    else:
        counts = spark.createDataFrame([], COUNT_SCHEMA)
    counts = counts.persist()
    counts.count()  # the one scan of the window; everything below reuses it

    grid = bins_df.crossJoin(F.broadcast(windows_df)).join(
        counts, ["window_idx", "column_idx", "bin"], "left")
    if not fixed:
        baseline_counts = _rolling_baseline(spark, ctx, root, bins_df, windows_df, counts)
        grid = grid.drop("baseline_count", *[f"baseline_{c}" for c in SUM_COLUMNS]).join(
            baseline_counts, ["window_idx", "column_idx", "bin"], "left")
    zero = F.lit(0.0)
    grid = grid.withColumn("current_count", F.coalesce("count", F.lit(0)).cast("long")) \
        .withColumn("baseline_count", F.coalesce("baseline_count", F.lit(0)).cast("long")) \
        .withColumns({f"current_{c}": F.coalesce(c, zero) for c in SUM_COLUMNS}) \
        .withColumns({f"baseline_{c}": F.coalesce(f"baseline_{c}", zero) for c in SUM_COLUMNS})

    stamp = {
        "monitor": F.lit(ctx.monitor.name), "table_name": F.lit(table_name),
        "baseline_id": F.lit(ctx.baseline.baseline_id), "run_id": F.lit(ctx.run_id),
        "computed_at": F.lit(ctx.computed_at.isoformat(sep=" ")).cast("timestamp"),
    }

    ordered = F.sort_array(F.collect_list(F.struct("bin", "bin_label", "current_count")))
    profiles = (
        grid.groupBy("window_idx", "column_idx", "column_name", "column_kind", "window_start",
                     "window_end")
        .agg(ordered.alias("cells"), F.sum("current_count").alias("count"),
             F.sum(F.when(F.col("bin_role") == "null", F.col("current_count")))
             .alias("null_count"),
             F.min("min_value").alias("min"), F.max("max_value").alias("max"),
             F.first("center").alias("center"),
             F.array(*[F.sum(f"current_{c}") for c in SUM_COLUMNS]).alias("moment_sums"))
        .withColumns(stamp)
        .withColumn("bin_labels", F.col("cells.bin_label"))
        .withColumn("counts", F.col("cells.current_count"))
        .withColumn("moment_sums", F.when(F.col("center").isNotNull(), F.col("moment_sums")))
    )

    def figures_of(pdf: pd.DataFrame) -> pd.DataFrame:
        return drift_figures(pdf, pseudo_count=pseudo_count, top_n=TOP_CONTRIBUTORS)

    figures = grid.select(*INPUT_COLUMNS).groupBy("window_idx") \
        .applyInPandas(figures_of, FIGURES_SCHEMA).persist()
    contributor_arrays = [name for name, _ in FIGURE_COLUMNS if name.startswith("contributor_")]
    judged = figures.drop(*contributor_arrays).toPandas()
    profiles = profiles.join(figures.select(
        "window_idx", "column_idx", F.col("current_mean").alias("mean"),
        F.col("current_std").alias("std")), ["window_idx", "column_idx"], "left") \
        .select(*PROFILES.schema.fieldNames())
    # Every row lands in one bin of each column: one column's count is the window's rows.
    per_window = judged.groupby("window_idx")["current_count"].max()
    window_rows = {ctx.windows[i].start: int(n) for i, n in zip(
        per_window.index.to_numpy(dtype=int), per_window.to_numpy(), strict=True)}
    verdicts = _verdicts(spark, ctx, judged, usable, problems, added, root)

    contributors = F.transform(
        F.arrays_zip(*contributor_arrays),
        lambda z: F.struct(z["contributor_bins"].alias("bin"),
                           z["contributor_values"].alias("contribution"),
                           z["contributor_baseline"].alias("baseline_fraction"),
                           z["contributor_current"].alias("current_fraction")))
    figure_columns = [name for name in figures.columns if name in DRIFT_RESULTS.schema.names
                      and name not in ("window_idx", "column_idx")]
    shown = figures.select("window_idx", "column_idx", *figure_columns,
                           contributors.alias("top_contributors"))
    drift = (
        verdicts.join(shown, ["window_idx", "column_idx"], "left")
        .withColumns(stamp)
        .select(*[F.col(f.name) if f.name in verdicts.columns or f.name in shown.columns
                  or f.name in stamp else F.lit(None).cast(f.dataType).alias(f.name)
                  for f in DRIFT_RESULTS.schema.fields])
    )
    return DriftFrames(profiles=profiles, drift=drift, persisted=(counts, figures),
                       window_rows=window_rows)


def _history(spark: SparkSession, ctx: RunContext, root: str,
             learning: Learning) -> pd.DataFrame | None:
    """Stored verdicts before this batch that learned thresholds learn from (small)."""
    from delta.tables import DeltaTable

    from kl_udfs.spark.tables import read_table, table_path

    if not DeltaTable.isDeltaTable(spark, table_path(root, DRIFT_RESULTS)):
        return None
    first = ctx.windows[0].start
    since = ctx.monitor.cadence.shift(first, -learning.windows_back())
    return (
        read_table(spark, root, DRIFT_RESULTS)
        .where((F.col("monitor") == ctx.monitor.name)
               & (F.col("baseline_id") == ctx.baseline.baseline_id)
               & (F.col("window_start") >= F.lit(since.isoformat(sep=" ")).cast("timestamp"))
               & (F.col("window_start") < F.lit(first.isoformat(sep=" ")).cast("timestamp"))
               & F.col("status").isin(*TEACHING))
        .select("column_name", "window_start", "status", "checks")
        .toPandas()
    )


def _verdicts(spark: SparkSession, ctx: RunContext, figures: pd.DataFrame,
              usable: Sequence[tuple[int, ColumnBins]], problems: dict[str, str],
              added: dict[str, Kind], root: str) -> DataFrame:
    """The verdict of every (window, column), made in pandas, as a small Spark frame."""
    by_idx = {i: b for i, b in usable}
    figures["column_name"] = [by_idx[i].name for i in figures["column_idx"]]
    figures["column_kind"] = [by_idx[i].kind for i in figures["column_idx"]]
    index = {b.name: i for i, b in enumerate(ctx.baseline.bins)}
    broken = pd.DataFrame([
        {"window_idx": w, "column_idx": index[name], "column_name": name,
         "column_kind": ctx.baseline.bins[index[name]].kind, "current_count": 0,
         "baseline_count": 0, "error_message": message}
        for name, message in problems.items() for w in range(len(ctx.windows))] + [
        # new columns take the positions after the baseline's own
        {"window_idx": w, "column_idx": len(ctx.baseline.bins) + k, "column_name": name,
         "column_kind": kind, "current_count": 0, "baseline_count": 0,
         "error_message": new_column_message(name, ctx.baseline.baseline_id)}
        for k, (name, kind) in enumerate(added.items()) for w in range(len(ctx.windows))])
    rows = pd.concat([figures, broken], ignore_index=True) if len(broken) else figures
    failed = {i: "; ".join(ctx.quality_failures[w.start]) for i, w in enumerate(ctx.windows)
              if w.start in ctx.quality_failures}
    rows["quality_message"] = rows["window_idx"].map(failed)
    rows["window_start"] = [ctx.windows[w].start for w in rows["window_idx"]]
    policy = ctx.monitor.policy()
    history = _history(spark, ctx, root, policy.learning) if policy.learning else None
    verdict = decide(rows, policy, history)
    starts = [w.start.isoformat(sep=" ") for w in ctx.windows]
    ends = [w.end.isoformat(sep=" ") for w in ctx.windows]
    window = rows["window_idx"].to_numpy(dtype=np.int64)
    out = pd.concat([rows[["window_idx", "column_idx", "column_name", "column_kind"]]
                     .reset_index(drop=True), verdict], axis=1)
    out["ws"] = [starts[w] for w in window]
    out["we"] = [ends[w] for w in window]
    fields = [("window_idx", "int"), ("column_idx", "int"), ("column_name", "string"),
              ("column_kind", "string"), ("ws", "string"), ("we", "string")]
    schema = T.StructType([T.StructField(name, spark_type(kind)) for name, kind in fields] + [
        T.StructField(name, DRIFT_RESULTS.schema[name].dataType) for name in VERDICT_COLUMNS])
    records = out[[f.name for f in schema.fields]].astype(object).where(out.notna(), None)
    frame = spark.createDataFrame(
        [tuple(_plain(v) for v in row) for row in records.itertuples(index=False)], schema)
    return frame.withColumn("window_start", F.col("ws").cast("timestamp")) \
        .withColumn("window_end", F.col("we").cast("timestamp")).drop("ws", "we")


def _plain(value: object) -> object:
    """numpy scalars and dict checks as the plain Python values Spark's converter takes."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return tuple(_plain(v) for v in value.values())
    if isinstance(value, np.generic):
        return value.item()
    return value
