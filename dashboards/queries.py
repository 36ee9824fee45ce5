"""Questions the pages ask of a snapshot. Each reads only its slice of the tables through
`kl_udfs.lake.slices` (the monitor's partitions of the windows it shows), kept by the snapshot
for the next request; the rest is pandas, no Dash."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from dashboards.store import ConfiguredMonitor, Snapshot, frame
from kl_udfs.core.contract import DRIFT, DRIFT_RESULTS, STRUCTS
from kl_udfs.lake.slices import Span

# What each page reads of drift_results: lists of structs only for the rows shown with them.
NESTED = tuple(c.name for c in DRIFT_RESULTS.columns if c.type.startswith("array<")
               and c.type[len("array<"):-1] in STRUCTS)
SCALAR_READS = tuple(c for c in DRIFT_RESULTS.names() if c not in NESTED
                     and c != "fired_rules")
HEATMAP_READS = ("monitor", "column_name", "window_start", "psi", "status")
LATEST_READS = (*SCALAR_READS, "top_contributors")


@dataclass(frozen=True)
class TimeRange:
    """Windows whose start lies in [start, end] (whole UTC days, both optional)."""

    start: date | None = None
    end: date | None = None

    @property
    def span(self) -> Span:
        """As window starts in [low, high): the end day is whole."""
        return Span(datetime.combine(self.start, datetime.min.time()) if self.start else None,
                    datetime.combine(self.end + timedelta(days=1), datetime.min.time())
                    if self.end else None)

    @property
    def is_all(self) -> bool:
        return self.start is None and self.end is None


def monitor_names(snap: Snapshot) -> list[str]:
    """The config's monitors in its order, then any other monitor found in the tables' logs."""
    named = [m.name for m in snap.source.monitors]
    seen = snap.cached(("monitors",), snap.tables.monitors)
    return named + sorted(str(m) for m in seen - set(named) if m is not None)


def configured(snap: Snapshot, monitor: str) -> ConfiguredMonitor | None:
    return next((m for m in snap.source.monitors if m.name == monitor), None)


def baselines(snap: Snapshot, monitor: str) -> pd.DataFrame:
    """Every baseline row of the monitor (a row per baseline and column: no window history)."""
    return snap.cached(("baselines", monitor), lambda: frame(snap.tables.baselines(monitor)))


def _baseline_rows(snap: Snapshot, monitor: str) -> pd.DataFrame:
    """The rows of the monitor's most recent baseline."""
    rows = baselines(snap, monitor)
    if rows.empty:
        return rows
    latest = rows.sort_values(["created_at", "baseline_id"]).iloc[-1]["baseline_id"]
    return rows[rows["baseline_id"] == latest]


def monitor_columns(snap: Snapshot, monitor: str) -> list[str]:
    """Monitored columns: the latest baseline's binned columns in order, then any others of
    the latest window."""
    base = _baseline_rows(snap, monitor)
    binned = base[base["column_idx"].notna()].sort_values("column_idx")["column_name"].tolist()
    seen = latest_rows(snap, monitor)["column_name"].unique()
    return binned + sorted(str(c) for c in set(seen) - set(binned))


def windows(snap: Snapshot, monitor: str, span: TimeRange = TimeRange()) -> list[datetime]:
    """The monitor's window starts in the range, oldest first (from the Delta log)."""
    return snap.tables.windows(monitor, span.span)


def latest_rows(snap: Snapshot, monitor: str, span: TimeRange = TimeRange()) -> pd.DataFrame:
    """Every column's row of the monitor's latest window in the range, with its contributors."""
    return snap.cached(("latest", monitor, span), lambda: frame(
        snap.tables.latest_window(monitor, LATEST_READS, span.span)))


@dataclass(frozen=True)
class RunInfo:
    operation: str
    status: str
    finished_at: datetime | None
    windows: int | None
    duration_s: float | None
    error: str | None


@dataclass(frozen=True)
class MonitorSummary:
    name: str
    state: str  # ready | no_baseline | no_runs | no_results_in_range
    table: str | None
    window: str | None
    baseline: str | None
    columns: list[str]
    latest_start: datetime | None = None
    latest_end: datetime | None = None
    first_start: datetime | None = None
    statuses: dict[str, int] = field(default_factory=dict)  # latest window
    drifting: list[str] = field(default_factory=list)  # latest window
    last_run: RunInfo | None = None
    quality_failures: int = 0  # failed expectations of windows in range
    quality_latest: list[str] = field(default_factory=list)  # failed in the latest window
    skipped: list[tuple[str, str]] = field(default_factory=list)
    windows_in_range: int = 0


def _window_text(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} s"


def _last_run(snap: Snapshot, monitor: str) -> RunInfo | None:
    runs = snap.cached(("last run", monitor), lambda: frame(snap.tables.runs(monitor, last=1)))
    if runs.empty:
        return None
    last = runs.iloc[0]
    return RunInfo(str(last["operation"]), str(last["status"]), _when(last["finished_at"]),
                   _int(last["windows"]), _float(last["duration_s"]), _str(last["error"]))


def _when(value: Any) -> datetime | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _str(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _failed_checks(snap: Snapshot, monitor: str, span: TimeRange) -> pd.DataFrame:
    return snap.cached(("failed checks", monitor, span), lambda: frame(
        snap.tables.quality(monitor, span.span)))


def monitor_summary(snap: Snapshot, monitor: str, span: TimeRange = TimeRange()) -> MonitorSummary:
    conf = configured(snap, monitor)
    base = _baseline_rows(snap, monitor)
    every = windows(snap, monitor)
    shown = windows(snap, monitor, span)
    window, baseline, table = (conf.window, conf.baseline, conf.table) if conf else (
        None, None, None)
    if not base.empty:
        first = base.iloc[0]
        table = table or _str(first["table_name"])
        baseline = baseline or _str(first["source"])
        if window is None and _float(first["window_length_s"]):
            window = _window_text(float(first["window_length_s"]))
    skipped = [(str(r.column_name), str(r.skipped_reason)) for r in base.itertuples()
               if isinstance(r.skipped_reason, str)]
    common: dict[str, Any] = {
        "name": monitor, "table": table, "window": window, "baseline": baseline,
        "columns": monitor_columns(snap, monitor), "last_run": _last_run(snap, monitor),
        "skipped": skipped,
    }
    if every:
        common["first_start"] = every[0]
    if base.empty and not every:
        return MonitorSummary(state="no_baseline", **common)
    if not every:
        return MonitorSummary(state="no_runs", **common)
    if not shown:
        return MonitorSummary(state="no_results_in_range", latest_start=every[-1], **common)
    latest = latest_rows(snap, monitor, span)
    latest_start = pd.Timestamp(shown[-1])
    quality = _failed_checks(snap, monitor, span)
    in_latest = quality[quality["window_start"] == latest_start]
    return MonitorSummary(
        state="ready", latest_start=shown[-1],
        latest_end=_when(latest["window_end"].max()),
        statuses={str(k): int(v) for k, v in latest["status"].value_counts().items()},
        drifting=sorted(latest.loc[latest["status"] == DRIFT, "column_name"].astype(str)),
        quality_failures=len(quality),
        quality_latest=[_str(d) or str(e) for d, e in
                        zip(in_latest["details"], in_latest["expectation"], strict=True)],
        windows_in_range=len(shown), **common)


def latest_windows(snap: Snapshot, monitor: str, span: TimeRange, count: int,
                   columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of the monitor's last `count` windows in the range (for the heatmap): only
    their partitions are read."""
    if count == 1:
        rows = latest_rows(snap, monitor, span)
    else:
        rows = snap.cached(("heatmap", monitor, span, count), lambda: frame(
            snap.tables.last_windows(monitor, count, HEATMAP_READS, span.span)))
    return rows[rows["column_name"].isin(columns)] if columns else rows


def column_history(snap: Snapshot, monitor: str, column: str,
                   span: TimeRange = TimeRange()) -> pd.DataFrame:
    """One column's rows in the range, oldest first (no lists of structs: see `details`)."""
    return snap.cached(("history", monitor, column, span), lambda: frame(
        snap.tables.drift_rows(monitor, SCALAR_READS, span.span, column=column)
    ).sort_values("window_start", kind="stable").reset_index(drop=True))


def pick_window(history: pd.DataFrame, window: datetime | None) -> pd.Series | None:
    """The history row of `window`, else the latest one."""
    if history.empty:
        return None
    if window is not None:
        match = history[history["window_start"] == pd.Timestamp(window)]
        if not match.empty:
            return match.iloc[-1]
    return history.iloc[-1]


def _details(snap: Snapshot, row: Any) -> dict[str, Any]:
    """The lists of structs of one drift row, read from its window's partition."""
    monitor, column = str(_field(row, "monitor")), str(_field(row, "column_name"))
    start = _naive(_field(row, "window_start"))

    def read() -> dict[str, Any]:
        found = snap.tables.drift_rows(monitor, NESTED, column=column, starts=[start])
        return found.to_pylist()[0] if found.num_rows else {}

    return snap.cached(("details", monitor, column, start), read)


def _field(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, pd.Series | dict) else getattr(row, name)


def _listed(value: Any) -> list[dict[str, Any]]:
    return [] if value is None or (isinstance(value, float) and np.isnan(value)) else list(value)


def contributors(snap: Snapshot, row: Any) -> list[dict[str, Any]]:
    """The bins of a drift row that moved most (a row of `latest_rows` carries them)."""
    if isinstance(row, pd.Series) and "top_contributors" in row.index:
        return _listed(row["top_contributors"])
    if not isinstance(row, pd.Series | dict) and hasattr(row, "top_contributors"):
        return _listed(row.top_contributors)
    return _listed(_details(snap, row).get("top_contributors"))


def checks(snap: Snapshot, row: Any) -> list[dict[str, Any]]:
    """Every rule the verdict applied to a drift row (none for rows older than the rules)."""
    return _listed(_details(snap, row).get("checks"))


@dataclass(frozen=True)
class Histogram:
    labels: list[str]
    baseline: list[int]
    current: list[int]
    baseline_note: str  # where the baseline counts come from


def _naive(value: Any) -> datetime:
    stamp = pd.Timestamp(value)
    return (stamp.tz_convert(None) if stamp.tzinfo else stamp).to_pydatetime()


def histogram(snap: Snapshot, result: pd.Series) -> Histogram | str:
    """Baseline and current counts of one drift row on its frozen bins, or why there are none."""
    monitor, column = str(result["monitor"]), str(result["column_name"])
    baseline_id = str(result["baseline_id"])
    stored = baselines(snap, monitor)
    base = stored[(stored["baseline_id"] == baseline_id) & (stored["column_name"] == column)]
    if base.empty:
        return (f"No baseline '{baseline_id}' is stored for {column}: rebuild it with "
                f"'kldrift baseline' and re-run the window.")
    b = base.iloc[-1]
    if b["bin_labels"] is None or len(b["bin_labels"]) == 0:
        reason = _str(b["skipped_reason"]) or "it has no bins"
        return f"{column} is not binned by this baseline: {reason}."
    labels = [str(x) for x in b["bin_labels"]]
    window = _naive(result["window_start"])
    previous = _int(b["previous_windows"]) or 0
    # The window's profile, and with a rolling baseline the previous windows' it sums.
    reach = (_naive(result["window_end"]) - window) * previous
    profiles = snap.cached(("profiles", monitor, column, baseline_id, window, reach),
                           lambda: snap.tables.profiles(
                               monitor, column, baseline_id,
                               Span(window - reach, window + timedelta(microseconds=1))))
    starts = [_naive(v) for v in profiles["window_start"].to_pylist()]
    counts = profiles["counts"].to_pylist()
    current = next((c for s, c in zip(starts, counts, strict=True) if s == window), None)
    if current is None:
        return f"The profile of this window is missing for {column}: re-run the window."
    if previous:
        summed = np.zeros(len(labels), dtype=np.int64)
        for s, c in zip(starts, counts, strict=True):
            if window - reach <= s < window and len(c) == len(labels):
                summed += np.asarray(c, dtype=np.int64)
        note = f"the previous {previous} windows, summed"
        return Histogram(labels, summed.tolist(), list(current), note)
    note = _str(b["source"]) or f"baseline {baseline_id}"
    return Histogram(labels, [int(x) for x in b["counts"]], list(current), note)


def quality_failures(snap: Snapshot, monitor: str, span: TimeRange = TimeRange(),
                     limit: int = 5) -> pd.DataFrame:
    """The most recent failed quality checks of the monitor's windows in the range."""
    rows = _failed_checks(snap, monitor, span)
    return rows.sort_values(["window_start", "expectation"], ascending=[False, True]).head(limit)
