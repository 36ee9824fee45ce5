"""Drift of consecutive windows against a stored baseline, computed and joined in Spark.

current counts (one pass) ─┐
bin definitions x windows ─┼─ left joins, zeros filled ─► applyInPandas(numpy stats) ─► rows
baseline counts ───────────┘        (fixed, or summed from the previous N stored windows)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from kl_udfs.bins import ColumnBins
from kl_udfs.config import Monitor
from kl_udfs.histogram import window_histograms
from kl_udfs.store import StoredBaseline
from kl_udfs.tables import DRIFT_RESULTS, PROFILES
from kl_udfs.udfs import DRIFT, ERROR, METRICS_SCHEMA, OK, QUALITY_FAILED, drift_metrics
from kl_udfs.windows import Window

TOP_CONTRIBUTORS = 5


@dataclass(frozen=True)
class DriftFrames:
    profiles: DataFrame
    drift: DataFrame
    counts: DataFrame  # persisted window counts; unpersist when done


@dataclass(frozen=True)
class RunContext:
    monitor: Monitor
    baseline: StoredBaseline
    windows: Sequence[Window]
    run_id: str
    computed_at: datetime
    quality_failures: dict[datetime, list[str]] = field(default_factory=dict)


def column_problems(baseline: StoredBaseline, schema: T.StructType) -> dict[str, str]:
    """Baseline columns that can no longer be binned: dropped, renamed or retyped."""
    fields = {f.name: f.dataType.simpleString() for f in schema.fields}
    problems = {}
    for b in baseline.bins:
        if b.name not in fields:
            problems[b.name] = (f"column not found in the table (dropped or renamed since "
                                f"baseline {baseline.baseline_id})")
        elif fields[b.name] != b.source_type:
            problems[b.name] = (f"type changed from {b.source_type} to {fields[b.name]} since "
                                f"baseline {baseline.baseline_id}; rebuild the baseline")
    return problems


def _bins_frame(spark: SparkSession, monitor: Monitor, bins: Sequence[tuple[int, ColumnBins]],
                counts: dict[int, list[int]] | None) -> DataFrame:
    rows = [
        (idx, b.name, b.kind, j, label, j == b.null_index, monitor.kl_threshold(b.name),
         monitor.p_value_threshold(b.name), counts[idx][j] if counts else None)
        for idx, b in bins for j, label in enumerate(b.labels())
    ]
    return spark.createDataFrame(rows, "column_idx int, column_name string, column_kind string, "
                                       "bin int, bin_label string, is_null_bin boolean, "
                                       "kl_threshold double, p_threshold double, "
                                       "baseline_count long")


def _windows_frame(spark: SparkSession, windows: Sequence[Window]) -> DataFrame:
    # Strings cast in Spark (session time zone UTC) so no Python-side time zone creeps in.
    rows = [(i, w.start.isoformat(sep=" "), w.end.isoformat(sep=" ")) for i, w in
            enumerate(windows)]
    return spark.createDataFrame(rows, "window_idx int, ws string, we string").select(
        "window_idx", F.col("ws").cast("timestamp").alias("window_start"),
        F.col("we").cast("timestamp").alias("window_end"))


def _rolling_baseline(spark: SparkSession, ctx: RunContext, root: str, bins_df: DataFrame,
                      windows_df: DataFrame, counts: DataFrame) -> DataFrame:
    """Baseline counts per window: the sum of the previous N windows' stored and new counts."""
    from kl_udfs.tables import read_table

    assert ctx.baseline.previous_windows is not None
    span = ctx.baseline.previous_windows * ctx.monitor.window_length
    names = bins_df.select("column_idx", "column_name").distinct()
    new = counts.join(windows_df, "window_idx", "inner").select(
        "window_start", "column_idx", "bin", "count")
    earliest = ctx.windows[0].start - span
    stored = (
        read_table(spark, root, PROFILES)
        .where((F.col("monitor") == ctx.monitor.name)
               & (F.col("baseline_id") == ctx.baseline.baseline_id)
               & (F.col("window_start") >= F.lit(earliest.isoformat(sep=" ")).cast("timestamp"))
               & (F.col("window_start") < F.lit(ctx.windows[0].start.isoformat(sep=" "))
                  .cast("timestamp")))
        .join(names, "column_name", "inner")
        .select("window_start", "column_idx", F.posexplode("counts").alias("bin", "count"))
    )
    history = stored.unionByName(new).alias("h")
    target = windows_df.alias("w")
    within = (F.col("h.window_start") >= F.col("w.window_start") - F.lit(span)) & (
        F.col("h.window_start") < F.col("w.window_start"))
    return (
        target.join(history, within, "inner")
        .groupBy(F.col("w.window_idx").alias("window_idx"), F.col("h.column_idx").alias(
            "column_idx"), F.col("h.bin").alias("bin"))
        .agg(F.sum("h.count").alias("baseline_count"))
    )


def compute_drift(spark: SparkSession, ctx: RunContext, df: DataFrame, root: str,
                  table_name: str, pseudo_count: float) -> DriftFrames:
    """Profiles and drift rows for every window, built lazily over one persisted histogram."""
    problems = column_problems(ctx.baseline, df.schema)
    usable = [(i, b) for i, b in enumerate(ctx.baseline.bins) if b.name not in problems]
    windows_df = _windows_frame(spark, ctx.windows)
    fixed = ctx.baseline.previous_windows is None
    counts_by_idx = dict(enumerate(ctx.baseline.counts)) if fixed else None
    bins_df = _bins_frame(spark, ctx.monitor, usable, counts_by_idx)

    if usable:
        local = window_histograms(df, [b for _, b in usable], ctx.monitor.timestamp_column,
                                  ctx.windows)
        # histogram column positions -> baseline column_idx
        mapping = F.create_map(*[F.lit(x) for pos, (i, _) in enumerate(usable) for x in (pos, i)])
        counts = local.withColumn("column_idx", F.element_at(mapping, F.col("column_idx")))
    else:
        counts = spark.createDataFrame([], "window_idx int, column_idx int, bin int, count long, "
                                           "min_value double, max_value double")
    counts = counts.persist()
    counts.count()  # the one scan of the window; everything below reuses it

    grid = bins_df.crossJoin(F.broadcast(windows_df)).join(
        counts, ["window_idx", "column_idx", "bin"], "left")
    if not fixed:
        baseline_counts = _rolling_baseline(spark, ctx, root, bins_df, windows_df, counts)
        grid = grid.drop("baseline_count").join(
            baseline_counts, ["window_idx", "column_idx", "bin"], "left")
    grid = grid.withColumn("current_count", F.coalesce("count", F.lit(0)).cast("long")) \
        .withColumn("baseline_count", F.coalesce("baseline_count", F.lit(0)).cast("long"))

    meta = grid.select("window_idx", "column_idx", "column_name", "column_kind",
                       "window_start", "window_end", "kl_threshold", "p_threshold").distinct()
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
             F.sum(F.when(F.col("is_null_bin"), F.col("current_count"))).alias("null_count"),
             F.min("min_value").alias("min"), F.max("max_value").alias("max"))
        .withColumns(stamp)
        .withColumn("bin_labels", F.col("cells.bin_label"))
        .withColumn("counts", F.col("cells.current_count"))
        .select(*PROFILES.schema.fieldNames())
    )

    def metrics_of(pdf: pd.DataFrame) -> pd.DataFrame:
        return drift_metrics(pdf, pseudo_count=pseudo_count, top_n=TOP_CONTRIBUTORS)

    metrics = grid.select("window_idx", "column_idx", "bin", "bin_label", "is_null_bin",
                          "baseline_count", "current_count", "kl_threshold", "p_threshold") \
        .groupBy("window_idx").applyInPandas(metrics_of, METRICS_SCHEMA)
    contributors = F.transform(
        F.arrays_zip("contributor_bins", "contributor_values", "contributor_baseline",
                     "contributor_current"),
        lambda z: F.struct(z["contributor_bins"].alias("bin"),
                           z["contributor_values"].alias("contribution"),
                           z["contributor_baseline"].alias("baseline_fraction"),
                           z["contributor_current"].alias("current_fraction")))
    drift = (
        metrics.join(meta, ["window_idx", "column_idx"], "inner")
        .withColumns(stamp)
        .withColumn("threshold", F.col("kl_threshold"))
        .withColumn("p_value_threshold", F.col("p_threshold"))
        .withColumn("top_contributors", contributors)
        .transform(lambda frame: _mark_quality_failures(frame, ctx))
        .select(*DRIFT_RESULTS.schema.fieldNames())
    )
    if problems:
        drift = drift.unionByName(_problem_rows(spark, ctx, problems, windows_df, table_name))
    return DriftFrames(profiles=profiles, drift=drift, counts=counts)


def _mark_quality_failures(frame: DataFrame, ctx: RunContext) -> DataFrame:
    """Windows whose quality gate failed keep their numbers but cannot be trusted as ok/drift."""
    failed = {i: "; ".join(ctx.quality_failures[w.start]) for i, w in enumerate(ctx.windows)
              if w.start in ctx.quality_failures}
    if not failed:
        return frame
    reasons = F.create_map(*[F.lit(x) for i, text in failed.items() for x in (i, text)])
    reason = F.element_at(reasons, F.col("window_idx"))
    judged = F.col("status").isin(OK, DRIFT) & reason.isNotNull()
    return frame.withColumns({
        "status": F.when(judged, F.lit(QUALITY_FAILED)).otherwise(F.col("status")),
        "message": F.when(judged, F.concat(F.lit("quality gate failed: "), reason))
        .otherwise(F.col("message")),
    })


def _problem_rows(spark: SparkSession, ctx: RunContext, problems: dict[str, str],
                  windows_df: DataFrame, table_name: str) -> DataFrame:
    """A recorded `error` row per window for each column that could not be binned."""
    kinds = {b.name: b.kind for b in ctx.baseline.bins}
    rows = [(name, kinds[name], message, ctx.monitor.kl_threshold(name),
             ctx.monitor.p_value_threshold(name)) for name, message in problems.items()]
    frame = spark.createDataFrame(rows, "column_name string, column_kind string, message string, "
                                        "threshold double, p_value_threshold double")
    filled = {
        "monitor": F.lit(ctx.monitor.name), "table_name": F.lit(table_name),
        "baseline_id": F.lit(ctx.baseline.baseline_id), "status": F.lit(ERROR),
        "run_id": F.lit(ctx.run_id),
        "computed_at": F.lit(ctx.computed_at.isoformat(sep=" ")).cast("timestamp"),
    }
    schema = DRIFT_RESULTS.schema
    out = frame.crossJoin(windows_df).withColumns(filled)
    return out.select(*[
        F.col(f.name) if f.name in out.columns else F.lit(None).cast(f.dataType).alias(f.name)
        for f in schema.fields
    ])
