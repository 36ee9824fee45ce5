"""The URL is the view: every state survives a round trip through its query string."""

from __future__ import annotations

from datetime import date, datetime

from dashboards.state import DEFAULT_WINDOWS, ViewState


def test_round_trip() -> None:
    state = ViewState("card_transactions", "amount", date(2026, 3, 1), date(2026, 3, 31),
                      datetime(2026, 3, 5), 60)
    query = state.to_query()
    assert query == ("?monitor=card_transactions&column=amount&start=2026-03-01"
                     "&end=2026-03-31&window=2026-03-05T00%3A00&windows=60")
    assert ViewState.from_query(query) == state
    assert ViewState().to_query() == ""
    assert ViewState.from_query("") == ViewState()


def test_odd_values_are_dropped_not_fatal() -> None:
    state = ViewState.from_query("?monitor=m&start=yesterday&end=2026-13-01&windows=-3"
                                 "&window=soon&column=")
    assert state == ViewState(monitor="m", windows=DEFAULT_WINDOWS)


def test_column_needs_a_monitor_and_window_a_column() -> None:
    assert ViewState.from_query("?column=amount").column is None
    assert ViewState(monitor="m", window=datetime(2026, 1, 1)).to_query() == "?monitor=m"


def test_aware_window_is_read_as_utc() -> None:
    state = ViewState.from_query("?monitor=m&column=c&window=2026-03-05T01:00%2B01:00")
    assert state.window == datetime(2026, 3, 5, 0, 0)


def test_names_are_escaped() -> None:
    state = ViewState("a&b", "x=y z")
    assert ViewState.from_query(state.to_query()) == state
    assert state.href(column=None) == "/?monitor=a%26b"
