"""Which windows a source-triggered drift run computes: every complete window not computed
yet, checked against windows enumerated one by one from a calendar walk."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kl_udfs.core.config import parse_config
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.windows import Window, parse_cadence

DAY = parse_cadence("1 day")
MONTH = parse_cadence("1 month")


def _walk(text: str, origin: datetime, until: datetime) -> list[Window]:
    """Every aligned window from `origin` (an aligned start) that ends by `until`, one step at
    a time: hours or days added, or the month counter turned."""
    out, start = [], origin
    while True:
        if text == "1 month":
            end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
        else:
            end = start + {"1 day": timedelta(days=1), "6 hours": timedelta(hours=6)}[text]
        if end > until:
            return out
        out.append(Window(start, end))
        start = end


def test_first_run_without_catchup_takes_the_latest_complete_window_only() -> None:
    got = DAY.pending(None, datetime(2026, 3, 10, 7, 30), datetime(2026, 2, 1), False)
    assert got == Window(datetime(2026, 3, 9), datetime(2026, 3, 10))


def test_first_run_with_catchup_starts_at_the_baseline_end() -> None:
    got = DAY.pending(None, datetime(2026, 3, 10, 7, 30), datetime(2026, 2, 1), True)
    assert got == Window(datetime(2026, 2, 1), datetime(2026, 3, 10))


def test_later_runs_start_where_the_computed_windows_end() -> None:
    got = DAY.pending(datetime(2026, 3, 8), datetime(2026, 3, 10, 7), datetime(2026, 2, 1), False)
    assert got == Window(datetime(2026, 3, 8), datetime(2026, 3, 10))


def test_nothing_is_pending_inside_the_window_after_the_last_computed_one() -> None:
    assert DAY.pending(datetime(2026, 3, 10), datetime(2026, 3, 10, 23, 59),
                       datetime(2026, 2, 1), True) is None


def test_nothing_is_pending_before_the_baseline_ends() -> None:
    assert DAY.pending(None, datetime(2026, 1, 20), datetime(2026, 2, 1), False) is None


def test_a_partial_last_computed_window_is_computed_again_whole() -> None:
    # a manual run of [09:00, 15:00) leaves the day's window to the next run, from midnight
    got = DAY.pending(datetime(2026, 3, 9, 15), datetime(2026, 3, 11, 1), datetime(2026, 2, 1),
                      False)
    assert got == Window(datetime(2026, 3, 10), datetime(2026, 3, 11))


def test_calendar_months() -> None:
    got = MONTH.pending(datetime(2026, 1, 1), datetime(2026, 4, 15), datetime(2025, 12, 20), True)
    assert got == Window(datetime(2026, 1, 1), datetime(2026, 4, 1))
    assert MONTH.split(got.start, got.end)[-1] == Window(datetime(2026, 3, 1), datetime(2026, 4, 1))


@settings(max_examples=300, deadline=None)
@given(text=st.sampled_from(["1 day", "6 hours", "1 month"]),
       baseline_days=st.integers(0, 200), computed=st.one_of(st.none(), st.integers(0, 60)),
       now_hours=st.integers(0, 24 * 400), catchup=st.booleans())
def test_pending_is_exactly_the_complete_windows_not_computed(
        text: str, baseline_days: int, computed: int | None, now_hours: int,
        catchup: bool) -> None:
    cadence = parse_cadence(text)
    origin = datetime(2025, 1, 1)
    first_start = origin + timedelta(days=baseline_days)
    now = origin + timedelta(hours=now_hours)
    complete = [w for w in _walk(text, origin, now) if w.start >= first_start]
    # the computed windows: the first `computed` of those after the baseline
    until = None
    if computed is not None:
        done = _walk(text, origin, datetime(2030, 1, 1))
        done = [w for w in done if w.start >= first_start][:computed]
        until = done[-1].end if done else None
    if until is not None:
        expected = [w for w in complete if w.start >= until]
    elif catchup:
        expected = complete
    else:
        expected = complete[-1:]
    got = cadence.pending(until, now, first_start, catchup)
    assert (cadence.split(got.start, got.end) if got else []) == expected


def _one(**fields: object) -> dict[str, object]:
    return {"monitors": [{"name": "cards", "table": "./raw/cards", "timestamp_column": "ts",
                          "baseline": {"start": "2026-01-01", "end": "2026-01-31"}, **fields}]}


def test_the_source_asset_defaults_to_the_table_location(tmp_path: Path) -> None:
    monitor = parse_config(_one(schedule="source"), tmp_path).monitors[0]
    assert monitor.source_asset_uri == (tmp_path / "raw" / "cards").as_uri()
    s3 = parse_config(_one(table="s3a://lake/raw/cards"), tmp_path).monitors[0]
    assert s3.source_asset_uri == "s3://lake/raw/cards"  # one bucket, one asset, either scheme
    named = parse_config(_one(source_asset="s3://lake/cards/"), tmp_path).monitors[0]
    assert named.source_asset_uri == "s3://lake/cards/"


def test_a_source_schedule_on_a_catalog_table_needs_its_asset(tmp_path: Path) -> None:
    with pytest.raises(KlDriftError, match="source_asset"):
        parse_config(_one(table="sales.cards", schedule="source"), tmp_path)
    monitor = parse_config(_one(table="sales.cards", schedule="source",
                                source_asset="delta://sales/cards"), tmp_path).monitors[0]
    assert monitor.source_asset_uri == "delta://sales/cards"


def test_unknown_schedule_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KlDriftError, match="schedule"):
        parse_config(_one(schedule="hourly"), tmp_path)
