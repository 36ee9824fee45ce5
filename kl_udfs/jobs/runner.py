"""Operations a job or the CLI runs for one monitor: build a baseline, compute windows.

Everything that can fail on bad input (config, table, columns, baseline) is checked before
the first write, and each table is written by one atomic MERGE, so a failure never leaves a
window half-written. Every operation, failed or not, leaves one row in `runs`: `running` from
the moment the monitoring tables exist, then its outcome (kl_udfs/spark/runs.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pyspark.sql import SparkSession

from kl_udfs.core.config import Config, Monitor
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.late import NO_LATE
from kl_udfs.core.windows import Window
from kl_udfs.quality.gate import failed_windows
from kl_udfs.spark.baseline import baseline_id as make_baseline_id
from kl_udfs.spark.baseline import learn_and_count
from kl_udfs.spark.columns import check_timestamp
from kl_udfs.spark.drift import RunContext, compute_drift
from kl_udfs.spark.late import late_windows
from kl_udfs.spark.pause import pause_here, paused_in
from kl_udfs.spark.runs import RunRecord, recorded, started
from kl_udfs.spark.session import utc_session
from kl_udfs.spark.source import OpenedTable, files_present, open_table
from kl_udfs.spark.store import StoredBaseline, load_baseline, save_baseline
from kl_udfs.spark.tables import DRIFT_RESULTS, PROFILES, VOLUME_RESULTS, ensure_tables, merge
from kl_udfs.spark.volume import SourceCommit, volume_rows

DEFAULT_BATCH_WINDOWS = 31
log = logging.getLogger(__name__)


def build_baseline(spark: SparkSession, config: Config, monitor_name: str) -> str:
    """Learn bins and counts from the configured reference and store them; returns the id."""
    monitor = config.monitor(monitor_name)
    record = RunRecord(monitor.name, monitor.table, "baseline")
    with utc_session(spark), recorded(spark, config, record):
        ensure_tables(spark, config.monitoring.path, config.monitoring.database,
                      monitor=monitor.name, table=monitor.table)
        started(spark, config, record)
        opened = open_table(spark, monitor, monitor.baseline.version)
        with files_present(monitor, monitor.baseline.version):
            source, choices, bins, counts = learn_and_count(spark, monitor, opened.df,
                                                            opened.version)
        identifier = make_baseline_id(monitor, source, bins)
        record.baseline_id, record.columns = identifier, len(bins)
        record.window_start, record.window_end = source.start, source.end
        record.rows_scanned = counts[0].count if counts else 0
        record.conflict_retries += save_baseline(spark, config, monitor, identifier, source,
                                                 choices, bins, counts, record.run_id,
                                                 record.started_at)
    return identifier


@dataclass(frozen=True)
class WindowsDone:
    run_id: str
    windows: list[Window]
    rows_scanned: int  # of `windows`
    baseline_id: str
    recomputed: list[Window] = field(default_factory=list)  # late data's, before `windows`


def compute_windows(spark: SparkSession, config: Config, monitor_name: str,
                    windows: list[Window], baseline_id: str | None = None,
                    operation: str = "run") -> WindowsDone:
    """Profiles, volume and drift rows of consecutive windows, from one pass over the table.

    A `run` first recomputes the already-computed windows whose rows changed since the
    previous run (late data, kl_udfs/spark/late.py), one pass per run of consecutive ones, so
    the new windows' rolling baselines see them; a backfill recomputes only what it is given.
    """
    monitor = config.monitor(monitor_name)
    record = RunRecord(monitor.name, monitor.table, operation,
                       window_start=windows[0].start, window_end=windows[-1].end,
                       windows=len(windows))
    with utc_session(spark), recorded(spark, config, record):
        ensure_tables(spark, config.monitoring.path, config.monitoring.database,
                      monitor=monitor.name, table=monitor.table)
        started(spark, config, record)
        baseline = load_baseline(config, monitor, baseline_id)
        record.baseline_id, record.columns = baseline.baseline_id, len(baseline.bins)
        opened = open_table(spark, monitor)
        record.source_version = opened.version
        check_timestamp(monitor, opened.df.schema, windows)
        late = NO_LATE
        if operation == "run":
            late = late_windows(spark, config, monitor, opened.version, baseline.baseline_id,
                                windows)
            record.late_rows, record.late_windows_skipped = late.rows, len(late.skipped)
            record.recomputed_windows = [w.start for w in late.windows]
            if late.skipped:
                log.warning("monitor %s: %d changed windows from %s to %s left as they were "
                            "(late_data_max_windows %d); a backfill over them recomputes them",
                            monitor.name, len(late.skipped), late.skipped[0].start,
                            late.skipped[-1].end, monitor.late_data_max_windows)
        for group in [*late.groups, windows]:
            scanned = _write_windows(spark, config, monitor, baseline, opened, group, record)
            record.rows_scanned += scanned
    return WindowsDone(record.run_id, windows, scanned, baseline.baseline_id,
                       late.windows)


def _write_windows(spark: SparkSession, config: Config, monitor: Monitor,
                   baseline: StoredBaseline, opened: OpenedTable, windows: list[Window],
                   record: RunRecord) -> int:
    """One pass over consecutive windows, their MERGEs; returns the rows read."""
    failures = failed_windows(config, monitor.name, windows)
    ctx = RunContext(monitor, baseline, windows, record.run_id, record.started_at, failures)
    with files_present(monitor):
        frames = compute_drift(spark, ctx, paused_in(opened.df, "scan"),
                               config.monitoring.path, monitor.table, monitor.smoothing)
    try:
        partitions: dict[str, Sequence[object]] = {
            "monitor": [monitor.name], "window_start": [w.start for w in windows]}
        profiles, drift = frames.profiles.cache(), frames.drift.cache()
        drift.count()  # computed in full before the first write
        root = config.monitoring.path
        source = SourceCommit(opened.version, opened.committed_at)
        volume = volume_rows(spark, config, monitor, windows, frames.window_rows, source,
                             record.run_id, record.started_at)
        # drift_results last: its commit is the one that makes the batch's windows exist
        # (kl_udfs/spark/integrity.py); a job killed before it leaves profiles and volume
        # rows, which readers ignore and the next run of those windows replaces.
        record.conflict_retries += merge(spark, root, PROFILES,
                                         paused_in(profiles, "merge"), partitions)
        if volume is not None:
            record.conflict_retries += merge(spark, root, VOLUME_RESULTS, volume, partitions)
        pause_here("between_merges")
        record.conflict_retries += merge(spark, root, DRIFT_RESULTS, drift, partitions)
        profiles.unpersist()
        drift.unpersist()
    finally:
        frames.release()
    return frames.rows_read


def backfill(spark: SparkSession, config: Config, monitor_name: str, start: datetime,
             end: datetime, batch_windows: int = DEFAULT_BATCH_WINDOWS,
             baseline_id: str | None = None,
             progress: Callable[[int, int, WindowsDone], None] | None = None) -> list[WindowsDone]:
    """Every window in [start, end), `batch_windows` per pass; each batch lands whole."""
    monitor = config.monitor(monitor_name)
    windows = monitor.cadence.split(start, end)
    if batch_windows < 1:
        raise KlDriftError("batch size must be at least 1 window", monitor=monitor.name)
    done: list[WindowsDone] = []
    for offset in range(0, len(windows), batch_windows):
        batch = windows[offset:offset + batch_windows]
        done.append(compute_windows(spark, config, monitor_name, batch, baseline_id,
                                    operation="backfill"))
        if progress:
            progress(offset + len(batch), len(windows), done[-1])
    return done
