"""The fault matrix, load: many windows in one backfill (docs/reliability.md, "Load").

`python -m bench.backfill_year` backfills a year of hourly windows (8,760) of a small table
(docs/bench/backfill_year.md); this test runs the same command on two days (48 windows) in two
batches, in this session: one drift row per (window, column), none twice, every row
of the table counted once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bench.backfill_year import BASELINE_DAYS, COLUMNS, START, hourly_rows, main

pytestmark = pytest.mark.spark

DAYS, ROWS_PER_HOUR = 2, 2


def test_two_days_of_hourly_windows_in_one_backfill(
        spark: Any, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--days", str(DAYS), "--batch", str(DAYS * 12), "--rows-per-hour", str(ROWS_PER_HOUR)])
    header, _, row = capsys.readouterr().out.strip().splitlines()
    figures = dict(zip([h.strip() for h in header.strip("|").split("|")],
                       [int(v.strip().replace(",", "")) if "." not in v else float(v)
                        for v in row.strip("|").split("|")], strict=True))
    first = START + timedelta(days=BASELINE_DAYS)
    in_windows = [r for r in hourly_rows(DAYS, ROWS_PER_HOUR) if r[0] >= first]
    assert (figures["windows"], figures["batches"]) == (DAYS * 24, 2)
    assert figures["drift rows"] == DAYS * 24 * len(COLUMNS)
    assert (figures["duplicates"], figures["missing"]) == (0, 0)
    assert figures["rows counted"] == figures["rows in windows"] == len(in_windows)
