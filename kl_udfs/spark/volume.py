"""Volume and freshness rows of a batch of windows: counts gathered here, judged in pandas.

A window's row count is its profiles' `count` (every row lands in one bin of each column);
the earlier windows' counts come from the stored profiles of the monitor, whichever baseline
they were computed against, so a lake written before `volume_results` existed has its history
at once. The verdict is kl_udfs.core.volume's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from kl_udfs.core.config import Config, Monitor
from kl_udfs.core.volume import freshness, judge_volume
from kl_udfs.core.windows import Window
from kl_udfs.lake.slices import Monitoring, Scan, Span, equals, naive_utc, within
from kl_udfs.spark.tables import PROFILES, VOLUME_RESULTS

_EPOCH = datetime(1970, 1, 1)
_SLOTS = {"none": 1, "weekday": 7, "hour_of_day": 24}  # windows per seasonal slot, at most


@dataclass(frozen=True)
class SourceCommit:
    version: int | None
    committed_at: datetime | None  # naive UTC


def _stored_counts(config: Config, monitor: Monitor, since: datetime,
                   until: datetime) -> pd.DataFrame:
    """(window_start, row_count) of the stored windows in [since, until): a small read of
    their profiles' partitions, without a Spark job."""
    rows = Monitoring.of(config).read(Scan(PROFILES.name, ("window_start", "count"), (
        equals("monitor", monitor.name), *within(Span(since, until))))).to_pandas()
    if rows.empty:
        return pd.DataFrame({"window_start": [], "row_count": []})
    rows["window_start"] = [naive_utc(t.to_pydatetime()) for t in rows["window_start"]]
    counts = rows.groupby("window_start", as_index=False)["count"].max()
    return counts.rename(columns={"count": "row_count"})


def volume_rows(spark: SparkSession, config: Config, monitor: Monitor,
                windows: Sequence[Window], window_rows: dict[datetime, int],
                source: SourceCommit, run_id: str, computed_at: datetime) -> DataFrame | None:
    """The `volume_results` rows of the batch's windows; None when volume is off or the
    batch has no counts (no column could be binned: no count to judge)."""
    if not monitor.volume.enabled or not window_rows:
        return None
    settings = monitor.volume_settings()
    batch = pd.DataFrame({"window_start": list(window_rows),
                          "row_count": list(window_rows.values())})
    first = windows[0].start
    since = monitor.cadence.shift(first, -settings.history_windows * _SLOTS[settings.seasonality])
    history = _stored_counts(config, monitor, since, first)
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
