"""Volume and freshness rows of a batch of windows: counts gathered here, judged in pandas.

A window's row count is its profiles' `count` (every row lands in one bin of each column);
the earlier windows' counts come from the stored profiles of the monitor, whichever baseline
they were computed against, so a lake written before `volume_results` existed has its history
at once. The verdict is kl_udfs.core.volume's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from kl_udfs.core.config import Monitor
from kl_udfs.core.volume import freshness, judge_volume
from kl_udfs.core.windows import Window
from kl_udfs.spark.tables import PROFILES, VOLUME_RESULTS, read_table

_EPOCH = datetime(1970, 1, 1)
_SLOTS = {"none": 1, "weekday": 7, "hour_of_day": 24}  # windows per seasonal slot, at most


@dataclass(frozen=True)
class SourceCommit:
    version: int | None
    committed_at: datetime | None  # naive UTC


def _counts(frame: DataFrame) -> pd.DataFrame:
    """(window_start, row_count) of each window in profiles rows (any column's count)."""
    rows = (frame.groupBy("window_start").agg(F.max("count").alias("row_count"))
            .select(F.unix_micros("window_start").alias("micros"), "row_count").collect())
    return pd.DataFrame({
        "window_start": [_EPOCH + timedelta(microseconds=int(r["micros"])) for r in rows],
        "row_count": [r["row_count"] for r in rows]}, columns=["window_start", "row_count"])


def _stored_counts(spark: SparkSession, root: str, monitor: Monitor, since: datetime,
                   until: datetime) -> pd.DataFrame:
    stored = read_table(spark, root, PROFILES).where(
        (F.col("monitor") == monitor.name)
        & (F.col("window_start") >= F.lit(since.isoformat(sep=" ")).cast("timestamp"))
        & (F.col("window_start") < F.lit(until.isoformat(sep=" ")).cast("timestamp")))
    return _counts(stored)


def volume_rows(spark: SparkSession, root: str, monitor: Monitor, windows: Sequence[Window],
                profiles: DataFrame, source: SourceCommit, run_id: str,
                computed_at: datetime) -> DataFrame | None:
    """The `volume_results` rows of the batch's windows; None when volume is off or the
    batch has no profiles (no column could be binned: no count to judge)."""
    if not monitor.volume.enabled:
        return None
    settings = monitor.volume_settings()
    batch = _counts(profiles)
    if batch.empty:
        return None
    first = windows[0].start
    since = monitor.cadence.shift(first, -settings.history_windows * _SLOTS[settings.seasonality])
    history = _stored_counts(spark, root, monitor, since, first)
    known = pd.concat([history, batch], ignore_index=True) if len(history) else batch
    judged = judge_volume(known, list(batch["window_start"]), settings)

    ends = {w.start: w.end for w in windows}
    max_age = monitor.freshness.max_age_delta
    fresh = freshness(source.committed_at, computed_at, max_age)

    def text(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat(sep=" ")

    rows = [(text(v.window_start), text(ends[v.window_start]), v.row_count, v.expected_count,
             v.expected_low, v.expected_high, v.history_windows, v.status, v.reason)
            for v in judged]
    frame = spark.createDataFrame(rows, "ws string, we string, row_count long, "
                                        "expected_count double, expected_low double, "
                                        "expected_high double, history_windows int, "
                                        "status string, reason string")
    stamp = {
        "monitor": F.lit(monitor.name), "table_name": F.lit(monitor.table),
        "window_start": F.col("ws").cast("timestamp"), "window_end": F.col("we").cast("timestamp"),
        "source_committed_at": F.lit(text(source.committed_at)).cast("timestamp"),
        "source_version": F.lit(source.version).cast("long"),
        "max_age_s": F.lit(None if max_age is None else int(max_age.total_seconds()))
        .cast("long"),
        "freshness_status": F.lit(fresh),
        "run_id": F.lit(run_id),
        "computed_at": F.lit(text(computed_at)).cast("timestamp"),
    }
    return frame.withColumns(stamp).select(*VOLUME_RESULTS.schema.fieldNames())
