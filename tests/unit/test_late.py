"""Late data's window arithmetic (kl_udfs/core/late.py): files and counts to windows, the cap."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from kl_udfs.core.late import FileChange, capped, from_counts, from_files, stats_change, touched
from kl_udfs.core.windows import Window, split

DAYS = split(datetime(2026, 1, 1), datetime(2026, 1, 7), timedelta(days=1))


def stats(low: str, high: str, rows: int) -> str:
    return json.dumps({"numRecords": rows, "minValues": {"ts": low, "x": 0},
                       "maxValues": {"ts": high, "x": 9}, "nullCount": {"ts": 0}})


def test_a_file_touches_exactly_the_windows_its_range_overlaps() -> None:
    inside = FileChange(datetime(2026, 1, 2, 5), datetime(2026, 1, 2, 6), 3)
    spanning = FileChange(datetime(2026, 1, 2, 23), datetime(2026, 1, 4), 3)
    assert touched(inside, DAYS) == [DAYS[1]]
    # the maximum on the next window's start belongs to that window; the end is exclusive
    assert touched(spanning, DAYS) == [DAYS[1], DAYS[2], DAYS[3]]
    before = FileChange(datetime(2025, 12, 1), datetime(2025, 12, 31, 23, 59), 3)
    assert touched(before, DAYS) == []


def test_a_file_that_cannot_be_placed_touches_every_window() -> None:
    assert touched(FileChange(None, None, 5), DAYS) == DAYS
    assert stats_change(None, "ts", {}) == FileChange(None, None, None)
    # stats that lack the column (past dataSkippingNumIndexedCols, say)
    no_ts = json.dumps({"numRecords": 4, "minValues": {"x": 0}, "maxValues": {"x": 1}})
    assert stats_change(no_ts, "ts", {}) == FileChange(None, None, 4)


def test_stats_are_read_in_utc_whatever_their_offset_and_for_partition_columns() -> None:
    change = stats_change(stats("2026-01-02T01:00:00.000+01:00", "2026-01-02T05:30:00.123Z",
                                7), "ts", {})
    assert change == FileChange(datetime(2026, 1, 2), datetime(2026, 1, 2, 5, 30, 0, 123000), 7)
    ntz = stats_change(stats("2026-01-02T00:00:00.000", "2026-01-02T01:00:00.000", 2), "ts", {})
    assert ntz.low == datetime(2026, 1, 2)
    by_day = stats_change(json.dumps({"numRecords": 9}), "day", {"day": "2026-01-03"})
    assert (by_day.low, by_day.high, by_day.rows) == (datetime(2026, 1, 3),) * 2 + (9,)


def test_rows_count_the_files_that_touch_a_computed_window() -> None:
    late = from_files([FileChange(datetime(2026, 1, 2), datetime(2026, 1, 2, 3), 4),
                       FileChange(datetime(2026, 1, 5), datetime(2026, 1, 5), 2),
                       FileChange(datetime(2026, 1, 9), datetime(2026, 1, 9), 50)], DAYS, 400)
    assert (late.windows, late.rows, late.skipped) == ([DAYS[1], DAYS[4]], 6, [])
    assert late.groups == [[DAYS[1]], [DAYS[4]]]


def test_counts_mark_windows_even_when_only_an_old_row_moved_out() -> None:
    late = from_counts({DAYS[0].start: 0, DAYS[2].start: 5, datetime(2026, 2, 1): 9}, DAYS, 400)
    assert (late.windows, late.rows) == ([DAYS[0], DAYS[2]], 5)


def test_the_cap_keeps_the_newest_windows_and_reports_the_rest() -> None:
    late = capped(DAYS[::-1], 10, 4)
    assert late.windows == DAYS[2:] and late.skipped == DAYS[:2] and late.rows == 10
    assert late.groups == [DAYS[2:]]
    assert capped([Window(DAYS[0].start, DAYS[0].end)] * 3, 1, 400).windows == DAYS[:1]


def test_late_data_is_recomputed_by_default_and_can_be_turned_off() -> None:
    import pytest

    from kl_udfs.core.config import parse_config
    from kl_udfs.core.errors import KlDriftError

    def monitor(**extra: object) -> dict[str, object]:
        return {"monitors": [{"name": "m", "table": "/t", "timestamp_column": "ts",
                              "baseline": {"start": "2026-01-01", "end": "2026-01-02"},
                              **extra}]}

    default = parse_config(monitor(), Path(".")).monitors[0]
    assert (default.late_data, default.late_data_max_windows) == ("recompute", 400)
    assert parse_config(monitor(late_data="ignore"), Path(".")).monitors[0].late_data == "ignore"
    with pytest.raises(KlDriftError, match="late_data"):
        parse_config(monitor(late_data="sometimes"), Path("."))
    with pytest.raises(KlDriftError, match="late_data_max_windows"):
        parse_config(monitor(late_data_max_windows=0), Path("."))
