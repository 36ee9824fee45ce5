"""What a change of the monitored table's schema since the baseline means for each column.

Plain Python on Spark type names (`simpleString`), no Spark:

* a baseline column of the same type, or of a type its values bin the same way in (a
  widening), is computed on the baseline's bins;
* a baseline column no longer in the table (dropped, or renamed) is an error naming it;
* a baseline column of any other type (narrowed, or another kind) is an error naming both
  types: its values may no longer fall in the bins they did, so no count is trusted;
* a column the table has now and the baseline never saw is reported as new, so the person
  reading the results sees that the baseline no longer covers the table.

A renamed column is therefore reported twice: its old name as gone, its new name as new.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time

from kl_udfs.core.contract import NUMERIC
from kl_udfs.core.windows import Window

INTEGERS = ("tinyint", "smallint", "int", "bigint")  # narrowest first
# Numeric columns are binned as doubles: a type whose every value a double holds exactly
# bins as before. bigint is left out: above 2^53 a double rounds it.
EXACT_IN_DOUBLE = ("tinyint", "smallint", "int", "float", "double")


def widens(kind: str, before: str, after: str) -> bool:
    """Whether a column binned as `kind` with values of type `before` bins the same now that
    they are of type `after`. Categorical columns are binned by their text, which only a wider
    integer keeps ("1" stays "1"; as a double it becomes "1.0", a float's 0.1 becomes
    0.10000000149011612)."""
    if after == before:
        return True
    if before in INTEGERS and after in INTEGERS:
        return INTEGERS.index(after) > INTEGERS.index(before)
    return kind == NUMERIC and after == "double" and before in EXACT_IN_DOUBLE


def column_change(name: str, kind: str, before: str, after: str | None,
                  baseline_id: str) -> str | None:
    """Why a baseline column can no longer be compared (one line), or None if it can."""
    if after is None:
        return (f"column '{name}' not found in the table (dropped or renamed since baseline "
                f"{baseline_id})")
    if widens(kind, before, after):
        return None
    return (f"column '{name}' changed type from {before} to {after} since baseline "
            f"{baseline_id}; its values no longer fall in the baseline's bins: rebuild the "
            "baseline")


def new_columns(table_columns: Sequence[str], known: Iterable[str],
                not_monitored: Iterable[str]) -> list[str]:
    """Columns of the table the baseline never saw (neither binned nor skipped), in table
    order, leaving out the timestamp and excluded columns (`not_monitored`)."""
    seen = {*known, *not_monitored}
    return [name for name in table_columns if name not in seen]


def new_column_message(name: str, baseline_id: str) -> str:
    return (f"column '{name}' is new since baseline {baseline_id}; rebuild the baseline to "
            "monitor it")


def date_window_problem(windows: Sequence[Window]) -> str | None:
    """A date timestamp column holds whole days: a window must start and end at midnight, or
    the day's rows would fall in none of its hours or all in one of them."""
    for window in windows:
        if not (_midnight(window.start) and _midnight(window.end)):
            return (f"timestamp column is a date, and window {window} does not start and end "
                    "at midnight: use windows of whole days, or a timestamp column")
    return None


def _midnight(instant: datetime) -> bool:
    return instant.time() == time(0)
