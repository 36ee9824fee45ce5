"""A test-only hook that stops a drift run at a named point, for a test to kill it there.

With `KLDRIFT_TEST_PAUSE_AT=<point>:<file>` in its environment, a run that reaches `<point>`
creates `<file>` and waits (at most `PAUSE_LIMIT_S`, so nothing lingers if nobody kills it):

* `scan`: inside a task of the one pass over the table, before its rows are counted;
* `merge`: inside the profiles MERGE, while it reads its source rows, before it commits;
* `between_merges`: on the driver, after the profiles commit, before the drift_results MERGE.

The first two pause in a Python worker process (a filter on the rows), the third in the driver.
Unset (always, outside tests), every function here returns at once and changes no plan.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from kl_udfs.core.environment import TEST_PAUSE_AT

POINTS = ("scan", "merge", "between_merges")
PAUSE_LIMIT_S = 600


def _marker(point: str) -> str | None:
    """The file to create at `point`, when the environment asks for a pause there."""
    asked, _, marker = os.environ.get(TEST_PAUSE_AT, "").partition(":")
    return marker if asked == point and marker else None


def _hold(marker: str) -> None:
    Path(marker).touch()
    time.sleep(PAUSE_LIMIT_S)


def pause_here(point: str) -> None:
    """Wait at `point` on the driver, if asked to."""
    marker = _marker(point)
    if marker:
        _hold(marker)


def paused_in(df: DataFrame, point: str) -> DataFrame:
    """`df`, whose rows wait in their task at `point` when asked to (else `df` itself)."""
    marker = _marker(point)
    if not marker:
        return df

    def hold(_: object) -> bool:
        _hold(marker)
        return True

    wait = F.udf(hold, T.BooleanType()).asNondeterministic()
    return df.where(wait(F.lit(1)))
