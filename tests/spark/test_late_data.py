"""Late data end to end: rows that land in windows already computed are recomputed by the next
`run`, exactly those windows, found through the Delta log or the Change Data Feed.

The module backfills six daily windows (days 2-7) of a table partitioned by day; each case
changes some of them, runs the seventh (day 8), and compares the recomputed windows with a
full recompute of the final table into a fresh monitoring root that holds the same baseline.
Each case looks only at its own changes: the chain of runs makes every run see only what
changed since the one before.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from kl_udfs.core.config import Config
from kl_udfs.core.windows import Window
from kl_udfs.jobs.runner import backfill, build_baseline, compute_windows
from kl_udfs.spark.tables import DRIFT_RESULTS, PROFILES, RUNS, read_table
from tests.spark.test_bad_input import (
    DAY0,
    SCHEMA,
    delta_version,
    make_config,
    rows_of,
    standard_rows,
)
from tests.spark.test_faults_concurrency import Figures, same

pytestmark = pytest.mark.spark

DAYS = 9  # days 0-1: the baseline; 2-7: computed; 8: the next run's window
NEXT = Window(DAY0 + timedelta(days=8), DAY0 + timedelta(days=9))
STAMPS = ("run_id", "computed_at")


def day(d: int) -> datetime:
    return DAY0 + timedelta(days=d)


def late_rows(days: tuple[int, ...], per_day: int = 10) -> list[tuple[Any, ...]]:
    """Rows unlike the standard ones (other amounts, one channel), so a recompute shows."""
    return [(day(d) + timedelta(minutes=7 * i + 1), 500.0 + i, "store", 3)
            for d in days for i in range(per_day)]


@dataclass(frozen=True)
class Lake:
    config: Config  # days 2-7 computed
    fresh: Config  # the same baseline, nothing computed: for full recomputes
    feed: Config  # the same baseline, days 2-7 computed, of a table with the feed on


@pytest.fixture(scope="module")
def lake(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """Two tables partitioned by day (as tables whose old partitions get overwritten are),
    one with the Change Data Feed on; one baseline; days 2-7 backfilled. Both tables hold
    the same rows at the same version (0), so the feed's monitoring folder is a copy."""
    root = tmp_path_factory.mktemp("late")
    frame = spark.createDataFrame(standard_rows(DAYS), SCHEMA).withColumn("day", F.to_date("ts"))
    frame.write.format("delta").partitionBy("day").save(str(root / "source"))
    frame.write.format("delta").partitionBy("day") \
        .option("delta.enableChangeDataFeed", "true").save(str(root / "fed"))
    config = make_config(root / "monitored", str(root / "source"), exclude_columns=["day"])
    build_baseline(spark, config, "m")
    shutil.copytree(root / "monitored" / "monitoring", root / "fresh" / "monitoring")
    backfill(spark, config, "m", day(2), day(8))
    shutil.copytree(root / "monitored" / "monitoring", root / "fed" / "monitoring")
    feed = make_config(root / "fed", str(root / "fed"), exclude_columns=["day"])
    return Lake(config, make_config(root / "fresh", str(root / "source"),
                                    exclude_columns=["day"]), feed)


def figures(spark: Any, config: Config, spec: Any, starts: set[datetime]) -> Figures:
    found: Figures = {}
    for row in rows_of(spark, config, spec):
        key = (row["window_start"], row["column_name"])
        assert key not in found, f"duplicate {spec.name} row {key}"  # one row per key
        if row["window_start"] in starts:
            found[key] = {k: v for k, v in row.asDict(recursive=True).items()
                          if k not in STAMPS}
    return found


def run_ids(spark: Any, config: Config) -> dict[datetime, set[str]]:
    found: dict[datetime, set[str]] = {}
    for row in rows_of(spark, config, DRIFT_RESULTS):
        found.setdefault(row["window_start"], set()).add(row["run_id"])
    return found


def runs_row(spark: Any, config: Config, run_id: str) -> Any:
    rows = read_table(spark, config.monitoring.path, RUNS).where(
        F.col("run_id") == run_id).collect()
    assert len(rows) == 1
    return rows[0]


def assert_recomputed_as_fresh(spark: Any, lake: Lake, changed: list[int]) -> None:
    """The changed windows hold what a recompute of the final table into a fresh root holds
    (one pass over the days from the first changed one to the last)."""
    starts = {day(d) for d in changed}
    backfill(spark, lake.fresh, "m", day(min(changed)), day(max(changed) + 1))
    for spec in (DRIFT_RESULTS, PROFILES):
        found, expected = (figures(spark, c, spec, starts) for c in (lake.config, lake.fresh))
        assert found.keys() == expected.keys() and len(found) > 0
        assert all(same(found[k], v) for k, v in expected.items()), spec.name


def late_frame(spark: Any, days: tuple[int, ...], per_day: int = 10) -> Any:
    return spark.createDataFrame(late_rows(days, per_day), SCHEMA) \
        .withColumn("day", F.to_date("ts"))


def test_a_late_append_recomputes_exactly_its_windows_then_nothing(spark: Any,
                                                                   lake: Lake) -> None:
    config, table = lake.config, lake.config.monitors[0].table
    before = run_ids(spark, config)
    changed = [3, 5, 6]
    appended = late_frame(spark, tuple(changed))
    appended.write.format("delta").mode("append").save(table)  # one file per day

    done = compute_windows(spark, config, "m", [NEXT])
    row = runs_row(spark, config, done.run_id)
    assert row["late_rows"] == appended.count()
    assert row["recomputed_windows"] == [day(d) for d in changed]
    assert done.recomputed == [Window(day(d), day(d + 1)) for d in changed]
    assert (row["late_windows_skipped"], row["windows"]) == (0, 1)
    assert row["source_version"] == delta_version(table)
    after = run_ids(spark, config)
    assert {d: after[day(d)] for d in range(2, 8) if d not in changed} == \
        {d: before[day(d)] for d in range(2, 8) if d not in changed}
    assert all(after[day(d)] == {done.run_id} for d in changed)
    assert_recomputed_as_fresh(spark, lake, changed)

    again = compute_windows(spark, config, "m", [NEXT])
    row = runs_row(spark, config, again.run_id)
    assert (row["late_rows"], row["recomputed_windows"], row["late_windows_skipped"]) == \
        (0, [], 0)
    assert run_ids(spark, config)[day(3)] == {done.run_id}
    figures(spark, config, DRIFT_RESULTS, set())  # still one row per key


def test_an_overwritten_partition_recomputes_its_window(spark: Any, lake: Lake) -> None:
    late_frame(spark, (4,), per_day=40).write.format("delta").mode("overwrite") \
        .option("replaceWhere", "day = DATE'2026-01-05'").save(lake.config.monitors[0].table)

    done = compute_windows(spark, lake.config, "m", [NEXT])
    row = runs_row(spark, lake.config, done.run_id)
    # the log's rows: those of the removed files (100) and of the added one (40)
    assert (row["recomputed_windows"], row["late_rows"]) == ([day(4)], 140)
    assert_recomputed_as_fresh(spark, lake, [4])


def test_the_change_data_feed_counts_changed_rows_exactly(spark: Any, lake: Lake) -> None:
    config, table = lake.feed, lake.feed.monitors[0].table
    late_frame(spark, (3, 6)).write.format("delta").mode("append").save(table)
    DeltaTable.forPath(spark, table).delete("day = DATE'2026-01-06' AND n = 3")  # 10 rows

    done = compute_windows(spark, config, "m", [NEXT])
    row = runs_row(spark, config, done.run_id)
    # 20 appended, 10 deleted; the log would count the rewritten day-5 files' rows (190)
    assert (row["recomputed_windows"], row["late_rows"]) == ([day(3), day(5), day(6)], 30)
    assert all(run_ids(spark, config)[day(d)] == {done.run_id} for d in (3, 5, 6))


def test_commits_past_the_log_retention_touch_every_window(spark: Any, lake: Lake) -> None:
    from kl_udfs.core.late import FileChange, touched
    from kl_udfs.spark.late import _file_changes

    gone = _file_changes(spark, lake.config.monitors[0], 1000, 1001)  # no such commit files
    assert gone == [FileChange(None, None, None)]
    assert touched(gone[0], [NEXT]) == [NEXT]
