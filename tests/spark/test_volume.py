"""Volume and freshness rows, written by the drift run: real Spark, real Delta, 40 small days."""

from __future__ import annotations

import math
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import functions as F
from scipy import stats

from kl_udfs.core.config import Config, parse_config
from kl_udfs.core.contract import DRIFT, FRESH, INSUFFICIENT, OK, STALE, VOLUME_LEVEL
from kl_udfs.core.windows import Window
from kl_udfs.jobs.runner import backfill, build_baseline
from kl_udfs.spark.tables import PROFILES, VOLUME_RESULTS, read_table
from kl_udfs.spark.volume import SourceCommit, volume_rows

pytestmark = pytest.mark.spark

DAY0 = datetime(2026, 1, 5)  # a Monday
DAYS, PER_DAY, HALF_DAY = 40, 40, 30  # day 30 has half the rows
HISTORY, MIN_HISTORY = 28, 7
COMMITTED = datetime(2026, 2, 1, 6, 30)  # the source's only commit, set on its log file


@pytest.fixture(scope="module")
def written(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, list[Any]]:
    root = tmp_path_factory.mktemp("volume")
    table = str(root / "events")
    rows = [(DAY0 + timedelta(days=day, minutes=30 * i), ("web", "app")[i % 2])
            for day in range(DAYS) for i in range(PER_DAY // 2 if day == HALF_DAY else PER_DAY)]
    spark.createDataFrame(rows, "ts timestamp, channel string").write.format("delta").save(table)
    # Delta dates a commit by its log file: the table was last written on COMMITTED.
    stamp = (COMMITTED - datetime(1970, 1, 1)).total_seconds()
    os.utime(Path(table, "_delta_log", "00000000000000000000.json"), (stamp, stamp))
    config = parse_config({"monitoring": {"path": str(root / "monitoring")}, "monitors": [{
        "name": "m", "table": table, "timestamp_column": "ts", "columns": ["channel"],
        "baseline": {"start": DAY0.isoformat(), "end": (DAY0 + timedelta(days=7)).isoformat()},
        "volume": {"history_windows": HISTORY, "min_history": MIN_HISTORY},
        "freshness": {"max_age": "2 days"}}]}, root)
    build_baseline(spark, config, "m")
    # One batch: each window is predicted from the earlier windows of the same batch.
    backfill(spark, config, "m", DAY0, DAY0 + timedelta(days=DAYS), batch_windows=DAYS)
    stored = (read_table(spark, config.monitoring.path, VOLUME_RESULTS)
              .withColumn("start_s", F.unix_seconds("window_start"))
              .withColumn("committed_s", F.unix_seconds("source_committed_at"))
              .orderBy("window_start").collect())
    return config, stored


def test_one_row_per_window_with_its_row_count(written: tuple[Config, list[Any]]) -> None:
    _, rows = written
    starts = [DAY0 + timedelta(days=d) for d in range(DAYS)]
    assert [datetime(1970, 1, 1) + timedelta(seconds=r["start_s"]) for r in rows] == starts
    assert [r["row_count"] for r in rows] == [
        PER_DAY // 2 if d == HALF_DAY else PER_DAY for d in range(DAYS)]
    assert [r["history_windows"] for r in rows] == [min(d, HISTORY) for d in range(DAYS)]


def test_half_the_rows_is_drift_and_steady_windows_are_ok(
        written: tuple[Config, list[Any]]) -> None:
    _, rows = written
    expected = [INSUFFICIENT if d < MIN_HISTORY else DRIFT if d == HALF_DAY else OK
                for d in range(DAYS)]
    assert [r["status"] for r in rows] == expected
    # By hand: 28 windows of 40 rows, so y = ln 41 with no spread: the Poisson floor
    # sqrt(40)/41, Student's t at 0.37 x 27 degrees of freedom, sqrt(1 + pi/56) for the median.
    half = (stats.t.ppf(0.5 + VOLUME_LEVEL / 2, 0.37 * 27) * math.sqrt(40) / 41
            * math.sqrt(1 + math.pi / 56))
    dropped = rows[HALF_DAY]
    assert dropped["expected_count"] == pytest.approx(40.0)
    assert dropped["expected_low"] == pytest.approx(41 * math.exp(-half) - 1)
    assert dropped["expected_high"] == pytest.approx(41 * math.exp(half) - 1)
    assert dropped["expected_low"] > 20  # about 23.8
    assert dropped["reason"] == (f"20 rows, expected 40 ({41 * math.exp(-half) - 1:,.0f}–"
                                 f"{41 * math.exp(half) - 1:,.0f}) from 28 previous windows")
    # the half day is in the next windows' history; their median is still 40
    assert rows[HALF_DAY + 1]["expected_count"] == pytest.approx(40.0)
    assert rows[0]["expected_count"] is None
    assert rows[0]["reason"] == ("40 rows; too little history to judge (0 previous windows, 7 "
                                 "needed)")


def test_a_source_committed_long_before_the_run_is_stale(
        written: tuple[Config, list[Any]]) -> None:
    _, rows = written
    assert {r["freshness_status"] for r in rows} == {STALE}
    assert {r["source_version"] for r in rows} == {0}
    assert {datetime(1970, 1, 1) + timedelta(seconds=r["committed_s"]) for r in rows} == {
        COMMITTED}
    assert {r["max_age_s"] for r in rows} == {2 * 86_400}


def test_a_later_run_predicts_from_the_stored_windows_as_the_backfill_did(
        spark: Any, written: tuple[Config, list[Any]]) -> None:
    """The last window again, alone (as a daily run): its history is read from the stored
    profiles. Judged a day after the commit, within max_age: fresh."""
    config, rows = written
    root, last = config.monitoring.path, DAY0 + timedelta(days=DAYS - 1)
    window = Window(last, last + timedelta(days=1))
    counts = read_table(spark, root, PROFILES).where(
        F.col("window_start") == F.lit(last.isoformat(sep=" ")).cast("timestamp")) \
        .agg(F.max("count")).first()
    assert counts is not None
    frame = volume_rows(spark, config, config.monitor("m"), [window], {last: int(counts[0])},
                        SourceCommit(0, COMMITTED), "again", COMMITTED + timedelta(days=1))
    assert frame is not None
    (again,) = frame.collect()
    columns = ("row_count", "expected_count", "expected_low", "expected_high",
               "history_windows", "status", "reason")
    assert [again[c] for c in columns] == [rows[-1][c] for c in columns]
    assert again["freshness_status"] == FRESH
