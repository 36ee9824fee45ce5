"""The monitoring tables read with delta-rs, without a JVM: what `kldrift status` and the alert
task show. Each read filters on the monitor before rows leave the Parquet files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from kl_udfs.core.config import Config
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.output import format_json, format_table

STATUS_HEADERS = ("monitor", "column", "window_start", "status", "psi", "q_value", "rows",
                  "why", "top_bin")
STATUS_READS = ("monitor", "column_name", "window_start", "computed_at", "status",
                "psi_corrected", "q_value", "current_count", "reason", "message",
                "top_contributors")


def naive_utc(instant: datetime) -> datetime:
    """Delta timestamps come back in UTC; kl-drift's windows are naive UTC."""
    return instant.astimezone(UTC).replace(tzinfo=None) if instant.tzinfo else instant


def table_uri(config: Config, name: str) -> str:
    return f"{config.monitoring.path.rstrip('/')}/{name}"


def _drift_results(config: Config, monitor: str | None,
                   columns: Sequence[str] | None = None) -> list[dict[str, Any]] | None:
    """The monitor's (or every monitor's) drift rows; None when the table does not exist.

    Read by delta-rs' own engine (DataFusion), which prunes the monitor's partitions; the
    pyarrow-dataset path can leave native threads behind that abort the process at exit."""
    import pyarrow as pa
    from deltalake import DeltaTable, QueryBuilder
    from deltalake.exceptions import TableNotFoundError

    try:
        table = DeltaTable(table_uri(config, "drift_results"),
                           storage_options=config.delta_rs_options())
    except TableNotFoundError:
        return None
    selected = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    where = " WHERE monitor = '{}'".format(monitor.replace("'", "''")) if monitor else ""
    reader = QueryBuilder().register("drift_results", table).execute(
        f"SELECT {selected} FROM drift_results{where}")
    return pa.RecordBatchReader.from_stream(reader).read_all().to_pylist()


def rows_between(config: Config, monitor: str, start: datetime,
                 end: datetime) -> list[dict[str, Any]]:
    """The `drift_results` rows of the windows inside [start, end).

    The alert runs after the drift job wrote the windows, so a missing table is an error (a
    wrong `monitoring.path`, storage it cannot reach), never "no drift"."""
    rows = _drift_results(config, monitor)
    if rows is None:
        raise KlDriftError(f"monitor {monitor!r}: no drift_results table at "
                           f"{table_uri(config, 'drift_results')}")
    low, high = naive_utc(start), naive_utc(end)
    return [r for r in rows if naive_utc(r["window_start"]) >= low
            and naive_utc(r["window_end"]) <= high]


def window_rows(config: Config, monitor: str, start: datetime,
                end: datetime) -> list[dict[str, Any]]:
    """The `drift_results` rows of the one window [start, end)."""
    return [r for r in rows_between(config, monitor, start, end)
            if naive_utc(r["window_start"]) == naive_utc(start)
            and naive_utc(r["window_end"]) == naive_utc(end)]


def computed_until(config: Config, monitor: str) -> datetime | None:
    """The end of the monitor's latest computed window; None before the first (or before the
    monitoring tables exist)."""
    rows = _drift_results(config, monitor, ["window_end"]) or []
    return max((naive_utc(r["window_end"]) for r in rows), default=None)


def explain_top_bin(contributors: Sequence[Any] | None) -> str | None:
    if not contributors:
        return None
    top = contributors[0]
    return (f"{top['bin']}: {100 * top['baseline_fraction']:.1f}% -> "
            f"{100 * top['current_fraction']:.1f}%")


def status_row(r: dict[str, Any]) -> tuple[Any, ...]:
    """A drift_results row as STATUS_HEADERS."""
    return (r["monitor"], r["column_name"], naive_utc(r["window_start"]), r["status"],
            r["psi_corrected"], r["q_value"], r["current_count"], r["reason"] or r["message"],
            explain_top_bin(r["top_contributors"]))


def status_rows(config: Config, monitor: str | None = None) -> list[tuple[Any, ...]]:
    """The latest window's result for every monitored column, as STATUS_HEADERS."""
    rows = _drift_results(config, monitor, STATUS_READS) or []
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["monitor"], row["column_name"])
        order = (row["window_start"], row["computed_at"])
        if key not in latest or order > (latest[key]["window_start"], latest[key]["computed_at"]):
            latest[key] = row
    return [status_row(r) for _, r in sorted(latest.items())]


def render_status(rows: Sequence[Sequence[Any]], fmt: str = "table") -> str:
    if fmt == "json":
        return format_json(STATUS_HEADERS, rows)  # [] when there is nothing yet
    if not rows:
        return "no drift results yet: run 'kldrift backfill' or 'kldrift run' for a monitor"
    return format_table(STATUS_HEADERS, rows)


def status_table(config: Config, monitor: str | None = None) -> str:
    return render_status(status_rows(config, monitor))
