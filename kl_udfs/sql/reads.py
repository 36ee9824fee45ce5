"""The monitoring tables read with delta-rs, without a JVM: what `kldrift status` and the alert
task show, read through `kl_udfs.lake.slices` (only the monitor's partitions of the windows
shown are opened)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from kl_udfs.core import contract
from kl_udfs.core.config import Config
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.output import format_json, format_table
from kl_udfs.core.volume import freshness_reason
from kl_udfs.lake.slices import Monitoring, Span, naive_utc

STATUS_HEADERS = ("monitor", "column", "window_start", "status", "psi", "q_value", "rows",
                  "why", "top_bin")
STATUS_READS = ("monitor", "column_name", "window_start", "computed_at", "status",
                "psi_corrected", "q_value", "current_count", "reason", "message",
                "top_contributors")


def table_uri(config: Config, name: str) -> str:
    return f"{config.monitoring.path.rstrip('/')}/{name}"


def rows_between(config: Config, monitor: str, start: datetime,
                 end: datetime) -> list[dict[str, Any]]:
    """The `drift_results` rows of the windows inside [start, end), read from their
    partitions only.

    The alert runs after the drift job wrote the windows, so a missing table is an error (a
    wrong `monitoring.path`, storage it cannot reach), never "no drift"."""
    tables = Monitoring.of(config)
    if tables.table("drift_results") is None:
        raise KlDriftError(f"monitor {monitor!r}: no drift_results table at "
                           f"{table_uri(config, 'drift_results')}")
    rows = tables.drift_rows(monitor, contract.DRIFT_RESULTS.names(), Span(start, end),
                             reruns=True).to_pylist()
    return [r for r in rows if naive_utc(r["window_end"]) <= naive_utc(end)]


def volume_between(config: Config, monitor: str, start: datetime,
                   end: datetime) -> list[dict[str, Any]]:
    """The `volume_results` rows of the windows inside [start, end) (none before the table
    exists: a lake written before it, or volume off)."""
    rows = Monitoring.of(config).volume(monitor, Span(start, end)).to_pylist()
    return [r for r in rows if naive_utc(r["window_end"]) <= naive_utc(end)]


def volume_problems(row: dict[str, Any]) -> list[str]:
    """A `volume_results` row's problems in words: its row count drifted, its table was
    stale (none when neither)."""
    problems = []
    if row["status"] == contract.DRIFT:
        problems.append(f"row count: {row['reason']}")
    if row["freshness_status"] == contract.STALE:
        committed, max_age = row["source_committed_at"], row["max_age_s"]
        problems.append("stale source: " + freshness_reason(
            None if committed is None else naive_utc(committed), row["source_version"],
            naive_utc(row["computed_at"]),
            None if max_age is None else timedelta(seconds=max_age)))
    return problems


def volume_notes(config: Config, monitor: str | None = None) -> list[str]:
    """One line per problem of the volume row of each monitor's latest window (the latest with
    drift rows: `kldrift status`); only the rows from that window on are read."""
    tables = Monitoring.of(config)
    names = [monitor] if monitor else sorted(tables.monitors())
    notes = []
    for name in names:
        starts = tables.windows(name)
        if not starts:
            continue
        latest = [r for r in tables.volume(name, Span(starts[-1], None)).to_pylist()
                  if naive_utc(r["window_start"]) == starts[-1]]  # not a pending later one
        for row in latest:
            notes += [f"{name} [{naive_utc(row['window_start'])}, "
                      f"{naive_utc(row['window_end'])}) {problem}"
                      for problem in volume_problems(row)]
    return notes


def window_rows(config: Config, monitor: str, start: datetime,
                end: datetime) -> list[dict[str, Any]]:
    """The `drift_results` rows of the one window [start, end)."""
    return [r for r in rows_between(config, monitor, start, end)
            if naive_utc(r["window_start"]) == naive_utc(start)
            and naive_utc(r["window_end"]) == naive_utc(end)]


def computed_until(config: Config, monitor: str) -> datetime | None:
    """The end of the monitor's latest computed window; None before the first (or before the
    monitoring tables exist). Reads the latest window's partition only."""
    return Monitoring.of(config).window_end(monitor)


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
    """The latest window's result for every monitored column, as STATUS_HEADERS: each
    monitor's latest window is found in the Delta log and only its partition is read."""
    tables = Monitoring.of(config)
    names = [monitor] if monitor else sorted(tables.monitors())
    rows = [r for name in names for r in tables.latest_window(name, STATUS_READS).to_pylist()]
    return [status_row(r) for r in sorted(rows, key=lambda r: (r["monitor"], r["column_name"]))]


def render_status(rows: Sequence[Sequence[Any]], fmt: str = "table") -> str:
    if fmt == "json":
        return format_json(STATUS_HEADERS, rows)  # [] when there is nothing yet
    if not rows:
        return "no drift results yet: run 'kldrift backfill' or 'kldrift run' for a monitor"
    return format_table(STATUS_HEADERS, rows)


def status_table(config: Config, monitor: str | None = None) -> str:
    return render_status(status_rows(config, monitor))
