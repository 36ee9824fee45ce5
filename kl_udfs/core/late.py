"""Late data: which already-computed windows a change to the source table touched.

A change is a data file added or removed between two Delta versions, with the range of its
timestamp column and its row count (from the Delta log's stats, or read from the file), or a
count of changed rows per window (from the Change Data Feed). Pure Python: the Spark layer
(kl_udfs/spark/late.py) finds the changes, this decides which windows they touch and how many
of them one run recomputes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from kl_udfs.core.windows import Window, parse_instant

DEFAULT_LATE_WINDOWS = 400


@dataclass(frozen=True)
class FileChange:
    """One data file a commit added or removed. `low`/`high`: the least and greatest value of
    the timestamp column in it (None: unknown, the file then touches every computed window);
    `rows`: its row count (None: unknown)."""

    low: datetime | None
    high: datetime | None
    rows: int | None


@dataclass(frozen=True)
class LateWindows:
    windows: list[Window]  # to recompute, oldest first
    rows: int  # changed rows in every changed window, recomputed or not
    skipped: list[Window]  # changed, past the cap: left as they were

    @property
    def groups(self) -> list[list[Window]]:
        """The windows to recompute as runs of consecutive ones (one scan each)."""
        runs: list[list[Window]] = []
        for w in self.windows:
            if runs and runs[-1][-1].end == w.start:
                runs[-1].append(w)
            else:
                runs.append([w])
        return runs


NO_LATE = LateWindows([], 0, [])


def stats_change(stats: str | None, column: str, partition_values: Mapping[str, str | None],
                 ) -> FileChange:
    """A file's change from its `stats` JSON (minValues/maxValues of the timestamp column,
    numRecords) or, for a table partitioned by that column, its partition value.

    Timestamps in stats are cut to milliseconds, downwards: a window start (whole
    milliseconds) at or below the cut maximum is at or below the true one, so the overlap
    test stays exact."""
    parsed = json.loads(stats) if stats else {}
    rows = parsed.get("numRecords")
    if column in partition_values:
        value = partition_values[column]
        instant = parse_instant(value) if value is not None else None
        return FileChange(instant, instant, rows)
    low = (parsed.get("minValues") or {}).get(column)
    high = (parsed.get("maxValues") or {}).get(column)
    if low is None or high is None:
        return FileChange(None, None, rows)
    return FileChange(parse_instant(low), parse_instant(high), rows)


def touched(change: FileChange, computed: Sequence[Window]) -> list[Window]:
    """The computed windows whose [start, end) the file's timestamp range overlaps; every one
    when the range is unknown (a file without stats for the column cannot be placed)."""
    if change.low is None or change.high is None:
        return list(computed)
    return [w for w in computed if w.start <= change.high and change.low < w.end]


def from_files(changes: Iterable[FileChange], computed: Sequence[Window],
               cap: int) -> LateWindows:
    """Windows touched by added or removed files; rows: those of the files touching any."""
    hit: set[Window] = set()
    rows = 0
    for change in changes:
        windows = touched(change, computed)
        if windows:
            hit.update(windows)
            rows += change.rows or 0
    return capped(hit, rows, cap)


def from_counts(counts: Mapping[datetime, int], computed: Sequence[Window],
                cap: int) -> LateWindows:
    """Windows with changes, from changed rows per window start (the Change Data Feed's,
    counted exactly). A start listed with 0 rows changed too: an update moved a row out."""
    by_start = {w.start: w for w in computed}
    hit = {by_start[start] for start in counts if start in by_start}
    return capped(hit, sum(n for start, n in counts.items() if start in by_start), cap)


def capped(windows: Iterable[Window], rows: int, cap: int) -> LateWindows:
    """At most `cap` windows, the newest: the ones current alerts are about; the older rest is
    reported as skipped (a backfill over them recomputes them)."""
    ordered = sorted(set(windows))
    keep = ordered[-cap:] if cap > 0 else []
    return LateWindows(keep, rows, ordered[:len(ordered) - len(keep)])
