"""kl_udfs.core.schema: which type changes keep a column's bins, and what is reported."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from kl_udfs.core.schema import (
    column_change,
    date_window_problem,
    new_column_message,
    new_columns,
    widens,
)
from kl_udfs.core.windows import Window

DAY = datetime(2026, 1, 3)


@pytest.mark.parametrize(("kind", "before", "after", "same_bins"), [
    ("numeric", "int", "bigint", True),
    ("numeric", "tinyint", "int", True),
    ("numeric", "float", "double", True),
    ("numeric", "int", "double", True),
    ("numeric", "bigint", "double", False),  # a double rounds past 2^53
    ("numeric", "double", "int", False),
    ("numeric", "double", "float", False),
    ("numeric", "bigint", "int", False),
    ("numeric", "double", "string", False),
    ("categorical", "int", "bigint", True),  # "1" stays "1"
    ("categorical", "int", "double", False),  # "1" would become "1.0"
    ("categorical", "float", "double", False),  # 0.1f: "0.1" -> "0.10000000149011612"
    ("categorical", "string", "int", False),
    ("categorical", "string", "string", True),
])
def test_which_type_changes_keep_the_bins(kind: str, before: str, after: str,
                                          same_bins: bool) -> None:
    assert widens(kind, before, after) is same_bins
    problem = column_change("c", kind, before, after, "b-1")
    assert (problem is None) is same_bins
    if problem:
        assert f"from {before} to {after}" in problem and "b-1" in problem


def test_a_missing_column_is_named_as_dropped_or_renamed() -> None:
    problem = column_change("score", "numeric", "double", None, "b-1")
    assert problem == "column 'score' not found in the table (dropped or renamed since " \
                      "baseline b-1)"


def test_new_columns_leave_out_known_and_unmonitored_ones_in_table_order() -> None:
    table = ["ts", "b", "new2", "a", "skipped", "new1", "excluded"]
    assert new_columns(table, ["a", "b", "skipped"], ["ts", "excluded"]) == ["new2", "new1"]
    assert "column 'x' is new since baseline b-1" in new_column_message("x", "b-1")


def test_a_date_column_cuts_only_whole_day_windows() -> None:
    days = [Window(DAY, DAY + timedelta(days=1)), Window(DAY, DAY + timedelta(days=31))]
    assert date_window_problem(days) is None
    hour = Window(DAY + timedelta(hours=23), DAY + timedelta(days=1))
    problem = date_window_problem([*days, hour])
    assert problem is not None and str(hour) in problem and "midnight" in problem
