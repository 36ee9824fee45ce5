"""Are a monitor's windows whole? The check behind the guarantee a killed job must keep.

A run writes each batch of windows with one MERGE into `profiles`, one into `volume_results`,
then one into `drift_results`; each MERGE is one atomic Delta commit. `drift_results` is the
commit point:

* **whole**: the window has exactly one `drift_results` row per baseline column, all from one
  run, and a `profiles` row for every column that was binned (all but `error` rows).
* **pending**: `profiles` rows but no `drift_results` rows: a run stopped before its last
  commit. Readers go by `drift_results`, so the window is simply not computed yet; the next
  run of it replaces the profiles.
* anything else is a problem (a missing or duplicated column row, rows of two runs mixed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from kl_udfs.core.config import Config
from kl_udfs.spark.tables import BASELINES, DRIFT_RESULTS, PROFILES, TableSpec, read_table

WindowKey = tuple[datetime, datetime, str]  # window_start, window_end, baseline_id


@dataclass(frozen=True)
class WindowAudit:
    monitor: str
    whole: list[WindowKey] = field(default_factory=list)
    pending: list[WindowKey] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"monitor '{self.monitor}': {len(self.whole)} whole windows, "
                 f"{len(self.pending)} pending, {len(self.problems)} problems"]
        lines += [f"  pending (profiles written, drift_results not; run it again): {k[0]}"
                  for k in self.pending]
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(lines)


def _per_window(spark: SparkSession, root: str, spec: TableSpec, monitor: str) -> DataFrame:
    errors = F.when(F.col("status") == "error", F.col("column_name")) \
        if "status" in spec.schema.fieldNames() else F.lit(None).cast("string")
    return (
        read_table(spark, root, spec).where(F.col("monitor") == monitor)
        .groupBy("window_start", "window_end", "baseline_id")
        .agg(F.count(F.lit(1)).alias("rows"),
             F.collect_set("column_name").alias("columns"),
             F.collect_set("run_id").alias("runs"),
             F.collect_set(errors).alias("errors"))
    )


def audit_windows(spark: SparkSession, config: Config, monitor: str) -> WindowAudit:
    """Classify every window of `monitor` in the monitoring tables (aggregates only)."""
    root = config.monitoring.path
    expected: dict[str, set[str]] = {}
    for row in (read_table(spark, root, BASELINES)
                .where((F.col("monitor") == monitor) & F.col("column_idx").isNotNull())
                .groupBy("baseline_id").agg(F.collect_set("column_name").alias("columns"))
                .collect()):
        expected[row["baseline_id"]] = set(row["columns"])
    drift = {_key(r): r for r in _per_window(spark, root, DRIFT_RESULTS, monitor).collect()}
    profiles = {_key(r): r for r in _per_window(spark, root, PROFILES, monitor).collect()}

    audit = WindowAudit(monitor)
    for key in sorted(profiles.keys() - drift.keys()):
        audit.pending.append(key)
    for key in sorted(drift):
        found = _window_problems(key, drift[key], profiles.get(key), expected.get(key[2]))
        if found:
            audit.problems.extend(f"monitor '{monitor}', window {key[0]}: {p}" for p in found)
        else:
            audit.whole.append(key)
    return audit


def _key(row: Row) -> WindowKey:
    return row["window_start"], row["window_end"], row["baseline_id"]


def _window_problems(key: WindowKey, drift: Row, profiles: Row | None,
                     expected: set[str] | None) -> list[str]:
    found = []
    columns = set(drift["columns"])
    if drift["rows"] != len(columns):
        found.append(f"drift_results has {drift['rows']} rows for {len(columns)} columns "
                     "(duplicates)")
    if expected is None:
        found.append(f"baseline '{key[2]}' is not in baselines")
    elif columns != expected:
        missing = sorted(expected - columns)
        found.append(f"drift_results has {len(columns & expected)} of {len(expected)} columns"
                     + (f" (missing: {', '.join(missing)})" if missing else ""))
    if len(drift["runs"]) > 1:
        found.append(f"drift_results rows come from {len(drift['runs'])} runs")
    binned = columns - set(drift["errors"])
    profiled = set(profiles["columns"]) if profiles is not None else set()
    if binned - profiled:
        found.append(f"profiles missing for column(s) {', '.join(sorted(binned - profiled))}")
    if profiles is not None and profiles["rows"] != len(profiled):
        found.append(f"profiles has {profiles['rows']} rows for {len(profiled)} columns "
                     "(duplicates)")
    return found
