"""Views of the monitoring tables for the terminal, as text or JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

from kl_udfs.core.config import Config
from kl_udfs.core.contract import DRIFT
from kl_udfs.core.output import format_json, format_table
from kl_udfs.spark.tables import DRIFT_RESULTS, read_table

STATUS_HEADERS = ("monitor", "column", "window_start", "status", "psi", "q_value", "rows",
                  "why", "top_bin")


def _explain(contributors: Sequence[Any] | None) -> str | None:
    if not contributors:
        return None
    top = contributors[0]
    return (f"{top['bin']}: {100 * top['baseline_fraction']:.1f}% -> "
            f"{100 * top['current_fraction']:.1f}%")


def status_rows(spark: SparkSession, config: Config,
                monitor: str | None = None) -> list[tuple[Any, ...]]:
    """The latest window's result for every monitored column, as STATUS_HEADERS."""
    results = read_table(spark, config.monitoring.path, DRIFT_RESULTS)
    if monitor:
        results = results.where(F.col("monitor") == monitor)
    latest = Window.partitionBy("monitor", "column_name").orderBy(
        F.desc("window_start"), F.desc("computed_at"))
    rows = (results.withColumn("rank", F.row_number().over(latest)).where(F.col("rank") == 1)
            .orderBy("monitor", "column_name").collect())
    return [(r["monitor"], r["column_name"], r["window_start"], r["status"], r["psi_corrected"],
             r["q_value"], r["current_count"], r["reason"] or r["message"],
             _explain(r["top_contributors"])) for r in rows]


def render_status(rows: Sequence[Sequence[Any]], fmt: str = "table") -> str:
    if fmt == "json":
        return format_json(STATUS_HEADERS, rows)  # [] when there is nothing yet
    if not rows:
        return "no drift results yet: run 'kldrift backfill' or 'kldrift run' for a monitor"
    return format_table(STATUS_HEADERS, rows)


def status_table(spark: SparkSession, config: Config, monitor: str | None = None) -> str:
    return render_status(status_rows(spark, config, monitor))


def drift_summary(spark: SparkSession, config: Config, monitor: str | None = None) -> str:
    """Per column: how many windows drifted, and the first and last of them."""
    results = read_table(spark, config.monitoring.path, DRIFT_RESULTS)
    if monitor:
        results = results.where(F.col("monitor") == monitor)
    is_drift = F.col("status") == DRIFT
    rows = (
        results.groupBy("monitor", "column_name")
        .agg(F.count(F.lit(1)).alias("windows"), F.sum(is_drift.cast("int")).alias("drift"),
             F.min(F.when(is_drift, F.col("window_start"))).alias("first"),
             F.max(F.when(is_drift, F.col("window_start"))).alias("last"),
             F.max("psi_corrected").alias("max_psi"))
        .orderBy("monitor", "column_name").collect()
    )
    headers = ["monitor", "column", "windows", "drift", "first drift", "last drift", "max psi"]
    return format_table(headers, [tuple(r) for r in rows])
