"""One error type whose message always names the monitor, table and column involved."""

from __future__ import annotations

from collections.abc import Sequence


def located(message: str, *, monitor: str | None = None, table: str | None = None,
            column: str | None = None) -> str:
    """`monitor 'm', table 't', column 'c': message` on one line, whatever the cause printed."""
    where = [
        f"{label} '{value}'"
        for label, value in (("monitor", monitor), ("table", table), ("column", column))
        if value is not None
    ]
    text = " ".join(message.split())
    return f"{', '.join(where)}: {text}" if where else text


class KlDriftError(Exception):
    """A user-facing failure: bad config, missing table or column, wrong type, no baseline.

    When several things are wrong at once (a config with many problems), `problems` go one a
    line below the message, each naming its own monitor.
    """

    def __init__(
        self,
        message: str,
        *,
        monitor: str | None = None,
        table: str | None = None,
        column: str | None = None,
        problems: Sequence[str] = (),
    ) -> None:
        self.monitor = monitor
        self.table = table
        self.column = column
        self.reason = message
        self.problems = [located(problem) for problem in problems]
        head = located(message, monitor=monitor, table=table, column=column)
        super().__init__("\n  ".join([head, *self.problems]))


# The CLI's exit status for a KlDriftError. Re-running cannot fix bad input, so the Airflow
# task fails at once instead of retrying (kl_udfs/airflow/operators.py).
BAD_INPUT_EXIT = 2
# `kldrift quality --fail-on-gate` when the window fails its expectations: the same data fails
# again, so that is not retried either.
GATE_FAILED_EXIT = 3
