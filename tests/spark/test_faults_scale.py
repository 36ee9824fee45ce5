"""The fault matrix, input and damage (docs/reliability.md): extreme shapes of input.

Hourly windows across both daylight-saving switches of a year, for a column of instants and
for a column of local wall-clock times, checked against an independent count of the same rows
(zoneinfo and a Counter), not against the code.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kl_udfs.core.windows import Window
from kl_udfs.jobs.runner import build_baseline, compute_windows
from kl_udfs.spark.tables import DRIFT_RESULTS, PROFILES
from tests.spark.test_bad_input import make_config, rows_of

pytestmark = pytest.mark.spark

BERLIN = ZoneInfo("Europe/Berlin")
# Berlin's clocks jump from 02:00 to 03:00 on 2026-03-29 and from 03:00 back to 02:00 on
# 2026-10-25, both at 01:00 UTC.
SPRING = Window(datetime(2026, 3, 29), datetime(2026, 3, 29, 6))
AUTUMN = Window(datetime(2026, 10, 25), datetime(2026, 10, 25, 6))
BASELINE = Window(datetime(2026, 3, 20), datetime(2026, 3, 21))
EVERY = timedelta(minutes=10)
CHANNELS = ("web", "store", "app")


# A day for the baseline, and both switch nights with three hours of real time either side,
# so that wall-clock rows, two hours ahead of UTC at most, fill the windows' every hour.
SPANS = (BASELINE, Window(SPRING.start - timedelta(hours=3), SPRING.end + timedelta(hours=3)),
         Window(AUTUMN.start - timedelta(hours=3), AUTUMN.end + timedelta(hours=3)))


def _instants(span: Window) -> list[datetime]:
    steps = (span.end - span.start) // EVERY
    return [span.start + i * EVERY for i in range(steps)]


def _wall_clock(instant: datetime) -> datetime:
    """The Berlin wall-clock time of a UTC instant, as a pipeline writing local time keeps it."""
    return instant.replace(tzinfo=ZoneInfo("UTC")).astimezone(BERLIN).replace(tzinfo=None)


@pytest.fixture(scope="module")
def switch_table(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("dst")
    # Every hour of real time holds the same six rows (amounts 0-5, two rows a channel).
    rows = [(t, _wall_clock(t), float(i % 6), CHANNELS[i % 3])
            for i, t in enumerate(t for span in SPANS for t in _instants(span))]
    path = str(root / "events")
    spark.createDataFrame(rows, "ts timestamp, local_ts timestamp_ntz, amount double, "
                                "channel string").write.format("delta").save(path)
    return root, path


def _hourly(root: Path, table: str, name: str, ts: str, other: str) -> Any:
    return make_config(root, table, name=name, timestamp_column=ts, window="1 hour",
                       exclude_columns=[other], thresholds={"min_rows": 6},
                       baseline={"start": BASELINE.start.isoformat(),
                                 "end": BASELINE.end.isoformat()})


def _counts_by_window(spark: Any, config: Any) -> dict[tuple[datetime, str], int]:
    return {(r["window_start"], r["column_name"]): r["count"]
            for r in rows_of(spark, config, PROFILES)}


def _expected(times: list[datetime], span: Window) -> dict[datetime, int]:
    per_hour = Counter(t.replace(minute=0, second=0, microsecond=0) for t in times)
    return {w.start: per_hour.get(w.start, 0)
            for w in (Window(span.start + timedelta(hours=h), span.start + timedelta(hours=h + 1))
                      for h in range((span.end - span.start) // timedelta(hours=1)))}


@pytest.mark.parametrize(("ts", "other"), [("ts", "local_ts"), ("local_ts", "ts")],
                         ids=["instants", "wall-clock"])
def test_hourly_windows_across_daylight_saving_switches(
        spark: Any, switch_table: tuple[Path, str], ts: str, other: str) -> None:
    root, table = switch_table
    config = _hourly(root, table, f"dst_{ts}", ts, other)
    build_baseline(spark, config, config.monitors[0].name)
    instants = [t for span in SPANS for t in _instants(span)]
    times = instants if ts == "ts" else [_wall_clock(t) for t in instants]
    for span in (SPRING, AUTUMN):
        compute_windows(spark, config, config.monitors[0].name,
                        config.monitors[0].cadence.split(span.start, span.end))
    counted = _counts_by_window(spark, config)
    drift = rows_of(spark, config, DRIFT_RESULTS)
    assert Counter((r["window_start"], r["column_name"]) for r in drift).most_common(1)[0][1] \
        == 1, "one drift row per window and column"
    for span in (SPRING, AUTUMN):
        expected = _expected(times, span)
        assert len(expected) == 6  # six UTC hours, whatever the clocks did
        for start, n in expected.items():
            for column in ("amount", "channel"):
                assert counted.get((start, column), 0) == n, (span, start, column)
    statuses = {(r["window_start"], r["column_name"]): r["status"] for r in drift}
    if ts == "ts":  # instants: every UTC hour holds its six rows
        assert {n for span in (SPRING, AUTUMN) for n in _expected(times, span).values()} == {6}
        assert set(statuses.values()) == {"ok"}
    else:  # wall-clock: the hour that never happened is empty, the repeated one double
        spring, autumn = _expected(times, SPRING), _expected(times, AUTUMN)
        assert spring[datetime(2026, 3, 29, 2)] == 0 and autumn[datetime(2026, 10, 25, 2)] == 12
        assert statuses[(datetime(2026, 3, 29, 2), "amount")] == "no_data"
        assert all(n == 6 for start, n in spring.items() if start.hour != 2)
        assert all(n == 6 for start, n in autumn.items() if start.hour != 2)
