"""Late data: the windows already computed whose rows changed since the monitor's last run.

The last succeeded `run` recorded the source's Delta version it read (`runs.source_version`);
this run reads a newer one. What changed in between, in windows that have drift rows for the
current baseline:

* with the Change Data Feed on (`delta.enableChangeDataFeed`): the feed's rows from that
  version + 1, counted per window (exact; an update counts once, its old row's window changes
  too);
* otherwise (or when the feed does not cover the versions): the Delta log's commits, whose
  `add` and `remove` actions that change data (not OPTIMIZE's) name the files; each file is
  placed by the min/max of the timestamp column in its stats, else by reading that column from
  the file. A file that cannot be placed either way (its stats lack the column and the file
  is gone) is taken to touch every computed window: recomputing too much is safe, missing a
  change is not.

Window arithmetic is kl_udfs/core/late.py's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import unquote

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from kl_udfs.core.config import Config, Monitor
from kl_udfs.core.contract import SUCCEEDED
from kl_udfs.core.late import (
    NO_LATE,
    FileChange,
    LateWindows,
    from_counts,
    from_files,
    stats_change,
)
from kl_udfs.core.windows import Window
from kl_udfs.lake.slices import Monitoring, Scan, equals, naive_utc
from kl_udfs.spark.histogram import quote
from kl_udfs.spark.tables import DRIFT_RESULTS, RUNS

log = logging.getLogger(__name__)
_TEXT = "yyyy-MM-dd HH:mm:ss.SSSSSS"  # times leave Spark as text: no Python time zone applies
_ACTIONS = ("add struct<path: string, dataChange: boolean, stats: string, "
            "partitionValues: map<string, string>>, "
            "remove struct<path: string, dataChange: boolean, stats: string, "
            "partitionValues: map<string, string>>")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def previous_version(config: Config, monitor: str) -> int | None:
    """The source version changes are looked for after (None: none recorded): the newest
    succeeded `run`'s, each run looking from where the last one looked; before any run, the
    oldest succeeded backfill's (every window a backfill computed saw that version or a
    newer one). A small read without a Spark job, like every read before the scan."""
    found = [r for r in Monitoring.of(config).read(Scan(
        RUNS.name, ("operation", "source_version"),
        (equals("monitor", monitor), equals("status", SUCCEEDED)))).to_pylist()
        if r["source_version"] is not None]
    runs = [int(r["source_version"]) for r in found if r["operation"] == "run"]
    if runs:
        return max(runs)
    backfills = [int(r["source_version"]) for r in found if r["operation"] == "backfill"]
    return min(backfills) if backfills else None


def computed_windows(config: Config, monitor: str, baseline_id: str) -> list[Window]:
    """The windows with drift rows for this baseline."""
    rows = Monitoring.of(config).read(Scan(DRIFT_RESULTS.name, ("window_start", "window_end"), (
        equals("monitor", monitor), equals("baseline_id", baseline_id)))).to_pylist()
    return sorted({Window(naive_utc(r["window_start"]), naive_utc(r["window_end"]))
                   for r in rows})


def late_windows(spark: SparkSession, config: Config, monitor: Monitor, version: int | None,
                 baseline_id: str, batch: Sequence[Window]) -> LateWindows:
    """The computed windows (outside `batch`, which is computed anyway) whose rows changed
    between the previous run's source version and `version`, at most the monitor's cap."""
    if monitor.late_data == "ignore" or version is None:
        return NO_LATE
    since = previous_version(config, monitor.name)
    if since is None or since >= version:
        return NO_LATE
    starts = {w.start for w in batch}
    computed = [w for w in computed_windows(config, monitor.name, baseline_id)
                if w.start not in starts]
    if not computed:
        return NO_LATE
    cap = monitor.late_data_max_windows
    if _feed_enabled(spark, monitor):
        try:
            return from_counts(_feed_counts(spark, monitor, since, version, computed),
                               computed, cap)
        except Exception as error:  # enabled after `since`, say: the log still knows
            log.warning("monitor %s: change data feed of %s unreadable from version %d (%s); "
                        "reading the Delta log instead", monitor.name, monitor.table, since + 1,
                        str(error).splitlines()[0] if str(error) else repr(error))
    return from_files(_file_changes(spark, monitor, since, version), computed, cap)


def _delta(spark: SparkSession, monitor: Monitor) -> object:
    from delta.tables import DeltaTable

    if monitor.is_path:
        return DeltaTable.forPath(spark, monitor.table)
    return DeltaTable.forName(spark, monitor.table)


def _feed_enabled(spark: SparkSession, monitor: Monitor) -> bool:
    detail = _delta(spark, monitor).detail().select("properties").first()  # type: ignore[attr-defined]
    properties = (detail[0] if detail else None) or {}
    return str(properties.get("delta.enableChangeDataFeed", "")).lower() == "true"


def _location(spark: SparkSession, monitor: Monitor) -> str:
    if monitor.is_path:
        return monitor.table.rstrip("/")
    detail = _delta(spark, monitor).detail().select("location").first()  # type: ignore[attr-defined]
    return str(detail[0]).rstrip("/")


def _feed_counts(spark: SparkSession, monitor: Monitor, since: int, version: int,
                 computed: Sequence[Window]) -> dict[datetime, int]:
    """Changed rows per computed window start (update pre-images: the window, not the row)."""
    reader = (spark.read.format("delta").option("readChangeFeed", "true")
              .option("startingVersion", since + 1).option("endingVersion", version))
    changes = reader.load(monitor.table) if monitor.is_path else reader.table(monitor.table)
    windows = spark.createDataFrame(
        [(w.start.isoformat(sep=" "), w.end.isoformat(sep=" ")) for w in computed],
        "ws string, we string").select(F.col("ws").cast("timestamp").alias("ws"),
                                       F.col("we").cast("timestamp").alias("we"))
    ts = F.col(quote(monitor.timestamp_column)).cast("timestamp")
    counted = (changes.select(ts.alias("__ts"), "_change_type")
               .join(F.broadcast(windows), (F.col("__ts") >= F.col("ws"))
                     & (F.col("__ts") < F.col("we")))
               .groupBy("ws")
               .agg(F.sum(F.when(F.col("_change_type") == "update_preimage", 0).otherwise(1))
                    .alias("rows"))
               .select(F.date_format("ws", _TEXT).alias("ws"), "rows").collect())
    return {_instant(r["ws"]): int(r["rows"]) for r in counted}


def _file_changes(spark: SparkSession, monitor: Monitor, since: int,
                  version: int) -> list[FileChange]:
    """The data files commits since+1..version added or removed, each with its timestamp
    range and rows; the log's commit files must still be there (log retention: 30 days)."""
    location = _location(spark, monitor)
    commits = [f"{location}/_delta_log/{v:020d}.json" for v in range(since + 1, version + 1)]
    try:
        actions = spark.read.schema(_ACTIONS).json(commits)
        rows = [r for kind in ("add", "remove") for r in actions
                .where(F.col(kind).isNotNull() & F.col(f"{kind}.dataChange"))
                .select(f"{kind}.*").collect()]
    except Exception as error:  # commit files cleaned up past the log's retention
        log.warning("monitor %s: commits %d-%d of %s unreadable (%s): every computed window "
                    "is recomputed", monitor.name, since + 1, version, location,
                    str(error).splitlines()[0] if str(error) else repr(error))
        return [FileChange(None, None, None)]
    column = monitor.timestamp_column
    changes, unplaced = [], []
    for r in rows:
        change = stats_change(r["stats"], column, r["partitionValues"] or {})
        if change.low is None or change.rows is None:
            unplaced.append(r["path"])
        else:
            changes.append(change)
    return changes + _read_ranges(spark, location, column, unplaced)


def _read_ranges(spark: SparkSession, location: str, column: str,
                 paths: Sequence[str]) -> list[FileChange]:
    """Timestamp range and rows of files without usable stats (Delta writes none for a
    removed file), read from their timestamp column; a file that cannot be read (vacuumed)
    or lacks the column cannot be placed."""
    if not paths:
        return []
    full = [unquote(p) if "://" in p or p.startswith("/") else f"{location}/{unquote(p)}"
            for p in paths]
    try:
        ts = F.col(quote(column)).cast("timestamp")
        found = (spark.read.parquet(*full)
                 .groupBy(F.col("_metadata.file_path").alias("file"))
                 .agg(F.date_format(F.min(ts), _TEXT).alias("low"),
                      F.date_format(F.max(ts), _TEXT).alias("high"), F.count(F.lit(1)).alias("n"))
                 .collect())
    except Exception as error:
        log.warning("files changed in %s cannot be read (%s): every computed window is "
                    "recomputed", location, str(error).splitlines()[0] if str(error) else error)
        return [FileChange(None, None, None)]
    changes = [FileChange(_instant(r["low"]) if r["low"] else None,
                          _instant(r["high"]) if r["high"] else None, int(r["n"]))
               for r in found]
    return [c for c in changes if c.low is not None]  # only null timestamps: in no window
