"""Summaries of a monitor's history computed by Spark (the latest status is `kl_udfs.sql.reads`)."""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from kl_udfs.core.config import Config
from kl_udfs.core.contract import DRIFT
from kl_udfs.core.output import format_table
from kl_udfs.spark.tables import DRIFT_RESULTS, read_table

SUMMARY_HEADERS = ("monitor", "column", "windows", "drift", "first drift", "last drift",
                   "max psi")


def drift_summary_rows(spark: SparkSession, config: Config,
                       monitor: str | None = None) -> list[tuple[Any, ...]]:
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
    return [tuple(r) for r in rows]


def drift_summary(spark: SparkSession, config: Config, monitor: str | None = None) -> str:
    return format_table(SUMMARY_HEADERS, drift_summary_rows(spark, config, monitor))
