"""One error type whose message always names the monitor, table and column involved."""

from __future__ import annotations


class KlDriftError(Exception):
    """A user-facing failure: bad config, missing table or column, wrong type, no baseline."""

    def __init__(
        self,
        message: str,
        *,
        monitor: str | None = None,
        table: str | None = None,
        column: str | None = None,
    ) -> None:
        self.monitor = monitor
        self.table = table
        self.column = column
        self.reason = message
        super().__init__(self._one_line())

    def _one_line(self) -> str:
        where = [
            f"{label} '{value}'"
            for label, value in (("monitor", self.monitor), ("table", self.table),
                                 ("column", self.column))
            if value is not None
        ]
        prefix = ", ".join(where)
        text = " ".join(self.reason.split())  # one line, whatever the cause printed
        return f"{prefix}: {text}" if prefix else text


# The CLI's exit status for a KlDriftError. Re-running cannot fix bad input, so the Airflow
# task fails at once instead of retrying (kl_udfs/airflow_operator.py).
BAD_INPUT_EXIT = 2
# `kldrift quality --fail-on-gate` when the window fails its expectations: the same data fails
# again, so that is not retried either.
GATE_FAILED_EXIT = 3
