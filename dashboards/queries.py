"""Questions the pages ask of a snapshot: pure functions over pandas/Arrow, no Dash."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dashboards.store import ConfiguredMonitor, Snapshot
from kl_udfs.core.contract import DRIFT


@dataclass(frozen=True)
class TimeRange:
    """Windows whose start lies in [start, end] (whole UTC days, both optional)."""

    start: date | None = None
    end: date | None = None

    def mask(self, starts: pd.Series) -> pd.Series:
        keep = pd.Series(True, index=starts.index)
        if self.start is not None:
            keep &= starts >= pd.Timestamp(self.start)
        if self.end is not None:
            keep &= starts < pd.Timestamp(self.end + timedelta(days=1))
        return keep

    @property
    def is_all(self) -> bool:
        return self.start is None and self.end is None


def monitor_names(snap: Snapshot) -> list[str]:
    """The config's monitors in its order, then any other monitor found in the tables."""
    named = [m.name for m in snap.source.monitors]
    seen = set(snap.results_by_monitor) | set(snap.baselines["monitor"]) | set(snap.runs["monitor"])
    return named + sorted(str(m) for m in seen - set(named) if m is not None)


def configured(snap: Snapshot, monitor: str) -> ConfiguredMonitor | None:
    return next((m for m in snap.source.monitors if m.name == monitor), None)


def _baseline_rows(snap: Snapshot, monitor: str) -> pd.DataFrame:
    """The rows of the monitor's most recent baseline."""
    rows = snap.baselines[snap.baselines["monitor"] == monitor]
    if rows.empty:
        return rows
    latest = rows.sort_values(["created_at", "baseline_id"]).iloc[-1]["baseline_id"]
    return rows[rows["baseline_id"] == latest]


def monitor_columns(snap: Snapshot, monitor: str) -> list[str]:
    """Monitored columns: the latest baseline's binned columns in order, then any others."""
    base = _baseline_rows(snap, monitor)
    binned = base[base["column_idx"].notna()].sort_values("column_idx")["column_name"].tolist()
    seen = results_of(snap, monitor)["column_name"].unique()
    return binned + sorted(str(c) for c in set(seen) - set(binned))


def results_of(snap: Snapshot, monitor: str, span: TimeRange = TimeRange()) -> pd.DataFrame:
    rows = snap.results_by_monitor.get(monitor, snap.results.iloc[:0])
    return rows[span.mask(rows["window_start"])] if not span.is_all else rows


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
    runs = snap.runs[snap.runs["monitor"] == monitor]
    if runs.empty:
        return None
    last = runs.sort_values("started_at", na_position="first").iloc[-1]
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


def _failed_checks(snap: Snapshot, monitor: str) -> pd.DataFrame:
    checks = snap.quality
    return checks[(checks["monitor"] == monitor) & ~checks["success"].fillna(True).astype(bool)]


def monitor_summary(snap: Snapshot, monitor: str, span: TimeRange = TimeRange()) -> MonitorSummary:
    conf = configured(snap, monitor)
    base = _baseline_rows(snap, monitor)
    all_results = results_of(snap, monitor)
    results = results_of(snap, monitor, span)
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
    if not all_results.empty:
        common["first_start"] = _when(all_results["window_start"].min())
    if base.empty and all_results.empty:
        return MonitorSummary(state="no_baseline", **common)
    if all_results.empty:
        return MonitorSummary(state="no_runs", **common)
    if results.empty:
        return MonitorSummary(state="no_results_in_range",
                              latest_start=_when(all_results["window_start"].max()), **common)
    latest_start = results["window_start"].max()
    latest = results[results["window_start"] == latest_start]
    quality = _failed_checks(snap, monitor)
    quality = quality[span.mask(quality["window_start"])] if not span.is_all else quality
    in_latest = quality[quality["window_start"] == latest_start]
    return MonitorSummary(
        state="ready", latest_start=_when(latest_start),
        latest_end=_when(latest["window_end"].max()),
        statuses={str(k): int(v) for k, v in latest["status"].value_counts().items()},
        drifting=sorted(latest.loc[latest["status"] == DRIFT, "column_name"].astype(str)),
        quality_failures=len(quality),
        quality_latest=[_str(d) or str(e) for d, e in
                        zip(in_latest["details"], in_latest["expectation"], strict=True)],
        windows_in_range=int(results["window_start"].nunique()), **common)


def latest_windows(snap: Snapshot, monitor: str, span: TimeRange, count: int,
                   columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of the monitor's last `count` windows in the range (for the heatmap)."""
    rows = results_of(snap, monitor, span)
    if columns:
        rows = rows[rows["column_name"].isin(columns)]
    starts = np.sort(rows["window_start"].unique())[-count:]
    return rows[rows["window_start"].isin(starts)]


def column_history(snap: Snapshot, monitor: str, column: str,
                   span: TimeRange = TimeRange()) -> pd.DataFrame:
    rows = results_of(snap, monitor, span)
    return rows[rows["column_name"] == column].sort_values("window_start")


def pick_window(history: pd.DataFrame, window: datetime | None) -> pd.Series | None:
    """The history row of `window`, else the latest one."""
    if history.empty:
        return None
    if window is not None:
        match = history[history["window_start"] == pd.Timestamp(window)]
        if not match.empty:
            return match.iloc[-1]
    return history.iloc[-1]


def contributors(snap: Snapshot, row: int) -> list[dict[str, Any]]:
    value = snap.contributors[row].as_py()
    return list(value or [])


def checks(snap: Snapshot, row: int) -> list[dict[str, Any]]:
    """Every rule the verdict applied to a drift row (none for rows older than the rules)."""
    value = snap.checks[row].as_py()
    return list(value or [])


@dataclass(frozen=True)
class Histogram:
    labels: list[str]
    baseline: list[int]
    current: list[int]
    baseline_note: str  # where the baseline counts come from


def _profile_rows(snap: Snapshot, monitor: str, column: str, baseline_id: str) -> pa.Table:
    table = snap.profiles
    mask = pc.and_(pc.and_(pc.equal(table["monitor"], monitor),
                           pc.equal(table["column_name"], column)),
                   pc.equal(table["baseline_id"], baseline_id))
    return table.filter(mask)


def _naive(value: Any) -> datetime:
    stamp = pd.Timestamp(value)
    return (stamp.tz_convert(None) if stamp.tzinfo else stamp).to_pydatetime()


def histogram(snap: Snapshot, result: pd.Series) -> Histogram | str:
    """Baseline and current counts of one drift row on its frozen bins, or why there are none."""
    monitor, column = str(result["monitor"]), str(result["column_name"])
    baseline_id = str(result["baseline_id"])
    base = snap.baselines[(snap.baselines["monitor"] == monitor)
                          & (snap.baselines["baseline_id"] == baseline_id)
                          & (snap.baselines["column_name"] == column)]
    if base.empty:
        return (f"No baseline '{baseline_id}' is stored for {column}: rebuild it with "
                f"'kldrift baseline' and re-run the window.")
    b = base.iloc[-1]
    if b["bin_labels"] is None or len(b["bin_labels"]) == 0:
        reason = _str(b["skipped_reason"]) or "it has no bins"
        return f"{column} is not binned by this baseline: {reason}."
    labels = [str(x) for x in b["bin_labels"]]
    profiles = _profile_rows(snap, monitor, column, baseline_id)
    starts = [_naive(v) for v in profiles["window_start"].to_pylist()]
    counts = profiles["counts"].to_pylist()
    window = _naive(result["window_start"])
    current = next((c for s, c in zip(starts, counts, strict=True) if s == window), None)
    if current is None:
        return f"The profile of this window is missing for {column}: re-run the window."
    previous = _int(b["previous_windows"])
    if previous:
        span = (_naive(result["window_end"]) - window) * previous
        summed = np.zeros(len(labels), dtype=np.int64)
        for s, c in zip(starts, counts, strict=True):
            if window - span <= s < window and len(c) == len(labels):
                summed += np.asarray(c, dtype=np.int64)
        note = f"the previous {previous} windows, summed"
        return Histogram(labels, summed.tolist(), list(current), note)
    note = _str(b["source"]) or f"baseline {baseline_id}"
    return Histogram(labels, [int(x) for x in b["counts"]], list(current), note)


def quality_failures(snap: Snapshot, monitor: str, span: TimeRange = TimeRange(),
                     limit: int = 5) -> pd.DataFrame:
    """The most recent failed quality checks of the monitor's windows in the range."""
    rows = _failed_checks(snap, monitor)
    if not span.is_all:
        rows = rows[span.mask(rows["window_start"])]
    return rows.sort_values(["window_start", "expectation"], ascending=[False, True]).head(limit)
