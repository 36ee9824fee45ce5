"""Synthetic monitoring tables, written with delta-rs (no Spark), for the benchmark and tests.

The rows are made the way a real run makes them: multinomial draws on frozen bins
(`kl_udfs.core.bins.ColumnBins`, so labels and bin roles are the engine's), figures from the
engine's pandas adapter (`kl_udfs.core.udfs.drift_figures`) and statuses from its verdict
(`kl_udfs.core.verdict.decide`). Columns named in `drift_columns` shift from window `drift_from` on;
every other column stays stationary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from dashboards import schema
from kl_udfs.core import contract
from kl_udfs.core.bins import ColumnBins
from kl_udfs.core.defaults import DEFAULT_PSEUDO_COUNT
from kl_udfs.core.verdict import Policy

TOP_CONTRIBUTORS = 5  # as kl_udfs.spark.drift.TOP_CONTRIBUTORS
CATEGORIES = ("grocery", "travel", "fuel", "online", "pharmacy", "apparel", "utilities", "atm")
NULL_SHARE = 0.01
OUT_OF_RANGE_SHARE = 0.03  # a drifting numeric column also gains values above the range
GATE_MIN_ROWS = 1000  # the synthetic row-count expectation
FAILED_GATE_ROWS = 640  # rows of a window that fails it
SHORT_ROWS = 12  # rows of a `short_windows` window: below any sensible min_rows


@dataclass(frozen=True)
class SyntheticMonitor:
    name: str
    columns: int = 12  # half numeric (n000, n001, ...), half categorical (c000, ...)
    windows: int = 30
    window: timedelta = timedelta(days=1)
    start: datetime = datetime(2025, 1, 1, tzinfo=UTC)
    drift_columns: frozenset[str] = field(default_factory=frozenset)
    drift_from: int = 0
    rows_per_window: int = 5_000
    numeric_bins: int = 20  # bins between the baseline's minimum and maximum
    with_baseline: bool = True
    with_results: bool = True
    quality_failures: Sequence[int] = ()  # windows whose row_count expectation failed
    short_windows: Sequence[int] = ()  # windows with SHORT_ROWS rows: `insufficient`
    psi_threshold: float = contract.RULE["psi"].default_threshold or 0.1
    fdr: float = contract.DEFAULT_FDR
    min_rows: int = contract.DEFAULT_MIN_ROWS

    def column_names(self) -> list[str]:
        numeric = (self.columns + 1) // 2
        return ([f"n{i:03d}" for i in range(numeric)]
                + [f"c{i:03d}" for i in range(self.columns - numeric)])

    def window_starts(self) -> list[datetime]:
        return [self.start + i * self.window for i in range(self.windows)]

    def policy(self) -> Policy:
        """The engine's default rules, with this monitor's PSI threshold, FDR and min_rows."""
        default = Policy.defaults()
        thresholds = dict(default.thresholds)
        if self.psi_threshold != thresholds["psi"][0]:
            thresholds["psi"] = (self.psi_threshold, "monitor")
        return Policy(thresholds=thresholds, fdr=self.fdr, min_rows=self.min_rows)

    def gate_failures(self) -> set[int]:
        """Windows that fail the row-count gate (short windows have too few rows for it too)."""
        return set(self.quality_failures) | set(self.short_windows)


@dataclass(frozen=True)
class _Column:
    bins: ColumnBins
    p: np.ndarray  # baseline share of every bin, in the bins' layout
    q: np.ndarray  # drifted shares

    @property
    def name(self) -> str:
        return self.bins.name

    @property
    def kind(self) -> str:
        return self.bins.kind


def _numeric(name: str, bins: int, rng: np.random.Generator) -> _Column:
    scale = float(rng.choice([1.0, 10.0, 250.0]))
    edges = tuple(round(scale * (1 + i), 4) for i in range(bins - 1))
    frozen = ColumnBins(name, "numeric", "double", edges, low=0.0, high=scale * bins)
    even = np.full(bins, 1.0)
    tilt = np.exp(2.5 * (np.arange(bins) - bins / 2) / bins)  # mass moves to the upper bins
    return _Column(frozen, _ranged(even, above=0.0), _ranged(even * tilt, OUT_OF_RANGE_SHARE))


def _ranged(values: np.ndarray, above: float) -> np.ndarray:
    """Shares in the ranged layout: below (none: the baseline's minimum), values, above, null."""
    inside = values / values.sum() * (1 - NULL_SHARE - above)
    return np.concatenate([[0.0], inside, [above, NULL_SHARE]])


def _categorical(name: str) -> _Column:
    frozen = ColumnBins(name, "categorical", "string", categories=CATEGORIES)
    raw = 1 / np.arange(1, len(CATEGORIES) + 2)  # Zipf-like shares, "<other>" last
    p = raw / raw.sum() * (1 - NULL_SHARE)
    q = p.copy()
    q[CATEGORIES.index("online")] *= 5.0
    q = q / q.sum() * (1 - NULL_SHARE)
    return _Column(frozen, np.append(p, NULL_SHARE), np.append(q, NULL_SHARE))


def _columns(monitor: SyntheticMonitor, rng: np.random.Generator) -> list[_Column]:
    return [_numeric(name, monitor.numeric_bins, rng) if name.startswith("n")
            else _categorical(name) for name in monitor.column_names()]


def _table(rows: list[dict[str, object]] | pd.DataFrame, table: str) -> pa.Table:
    target = schema.TABLES[table]
    if isinstance(rows, pd.DataFrame):
        return pa.Table.from_pandas(rows[target.names], schema=target, preserve_index=False)
    return pa.Table.from_pylist(rows, schema=target)


def monitor_tables(monitor: SyntheticMonitor, seed: int = 0) -> dict[str, pa.Table]:
    """The five monitoring tables' rows for one synthetic monitor."""
    rng = np.random.default_rng(seed)
    columns = _columns(monitor, rng)
    baseline_id = f"b-{monitor.name}"
    baseline_rows = [rng.multinomial(monitor.rows_per_window * 10, c.p) for c in columns]
    tables: dict[str, list[dict[str, object]] | pd.DataFrame] = {name: [] for name in
                                                                 schema.TABLES}
    if monitor.with_baseline:
        tables["baselines"] = _baselines(monitor, columns, baseline_rows, baseline_id)
    if monitor.with_baseline and monitor.with_results:
        tables.update(_window_tables(monitor, columns, baseline_rows, baseline_id, rng))
    return {name: _table(rows, name) for name, rows in tables.items()}


def _baselines(monitor: SyntheticMonitor, columns: list[_Column],
               baseline_rows: list[np.ndarray], baseline_id: str) -> list[dict[str, object]]:
    created = monitor.start - timedelta(days=1)
    source = f"range [{created - timedelta(days=30):%Y-%m-%d}, {created:%Y-%m-%d}) @ version 0"
    return [{
        "monitor": monitor.name, "baseline_id": baseline_id, "column_name": c.name,
        "column_idx": i, "column_kind": c.kind,
        "source_type": c.bins.source_type, "bins_json": c.bins.to_json(),
        "edges": list(c.bins.edges), "categories": list(c.bins.categories),
        "bin_labels": c.bins.labels(), "counts": counts.tolist(), "count": int(counts.sum()),
        "null_count": int(counts[-1]), "min": c.bins.low, "max": c.bins.high,
        "skipped_reason": None, "source": source, "table_name": f"/data/{monitor.name}",
        "table_version": 0, "range_start": created - timedelta(days=30), "range_end": created,
        "previous_windows": None, "window_length_s": int(monitor.window.total_seconds()),
        "created_at": created, "run_id": "r-baseline",
    } for i, (c, counts) in enumerate(zip(columns, baseline_rows, strict=True))]


def _window_rows(monitor: SyntheticMonitor, rng: np.random.Generator) -> np.ndarray:
    rows = rng.integers(int(monitor.rows_per_window * 0.97), monitor.rows_per_window + 1,
                        size=monitor.windows)
    rows[list(monitor.quality_failures)] = FAILED_GATE_ROWS
    rows[list(monitor.short_windows)] = SHORT_ROWS
    return rows


def _gate_details(rows: int) -> str:
    return f"row count {rows} (expected at least {GATE_MIN_ROWS})"


def _window_tables(monitor: SyntheticMonitor, columns: list[_Column],
                   baseline_rows: list[np.ndarray], baseline_id: str, rng: np.random.Generator,
                   ) -> dict[str, list[dict[str, object]] | pd.DataFrame]:
    starts = monitor.window_starts()
    n_rows = _window_rows(monitor, rng)
    long_parts, profile_parts = [], []
    for ci, column in enumerate(columns):
        drifts = column.name in monitor.drift_columns
        shares = np.array([column.q if drifts and w >= monitor.drift_from else column.p
                           for w in range(len(starts))])
        counts = rng.multinomial(n_rows, shares)  # (windows, bins)
        long_parts.append(_long_counts(column, baseline_rows[ci], counts, ci))
        profile_parts.append(pd.DataFrame({
            "column_idx": ci, "window_idx": np.arange(len(starts)),
            "counts": list(counts), "count": counts.sum(axis=1), "null_count": counts[:, -1],
        }))
    window_start = pd.Series(pd.to_datetime(starts, utc=True))
    computed = [s + monitor.window + timedelta(minutes=5) for s in starts]
    common = pd.DataFrame({
        "window_idx": np.arange(len(starts)), "window_start": window_start,
        "window_end": window_start + monitor.window,
        "computed_at": pd.Series(pd.to_datetime(computed, utc=True)),
        "run_id": [f"r-{monitor.name}-{i}" for i in range(len(starts))],
    })
    meta = {"monitor": monitor.name, "table_name": f"/data/{monitor.name}",
            "baseline_id": baseline_id}
    drift = _drift_results(monitor, columns, pd.concat(long_parts, ignore_index=True),
                           n_rows).merge(common, on="window_idx").assign(**meta)

    names, kinds = [c.name for c in columns], [c.kind for c in columns]
    profiles = pd.concat(profile_parts, ignore_index=True).merge(common, on="window_idx") \
        .assign(**meta)
    profiles["column_name"] = [names[i] for i in profiles["column_idx"]]
    profiles["column_kind"] = [kinds[i] for i in profiles["column_idx"]]
    profiles["bin_labels"] = [columns[i].bins.labels() for i in profiles["column_idx"]]
    profiles["counts"] = [c.tolist() for c in profiles["counts"]]
    profiles["min"], profiles["max"] = np.nan, np.nan
    profiles["mean"], profiles["std"], profiles["moment_sums"] = np.nan, np.nan, None  # no rows

    runs: list[dict[str, object]] = [{
        "run_id": f"r-{monitor.name}-{i}", "monitor": monitor.name,
        "table_name": meta["table_name"], "operation": "run", "window_start": start,
        "window_end": start + monitor.window, "baseline_id": baseline_id, "windows": 1,
        "columns": len(columns), "rows_scanned": int(n_rows[i]), "duration_s": 12.5,
        "status": "succeeded", "error": None, "started_at": computed[i] - timedelta(minutes=1),
        "finished_at": computed[i],
    } for i, start in enumerate(starts)]
    failed = monitor.gate_failures()
    quality: list[dict[str, object]] = [{
        "monitor": monitor.name, "table_name": meta["table_name"], "window_start": start,
        "window_end": start + monitor.window, "expectation": "expect_table_row_count_to_be_between",
        "column_name": None, "success": i not in failed, "observed_value": str(int(n_rows[i])),
        "details": _gate_details(int(n_rows[i])), "run_id": f"q-{i}",
        "computed_at": computed[i],
    } for i, start in enumerate(starts)]
    return {"drift_results": drift, "profiles": profiles, "runs": runs, "quality_results": quality}


def _long_counts(column: _Column, baseline: np.ndarray, counts: np.ndarray,
                 column_idx: int) -> pd.DataFrame:
    """One column's counts in the UDF's long input format (kl_udfs.core.udfs.INPUT_COLUMNS)."""
    windows, k = counts.shape
    return pd.DataFrame({
        "window_idx": np.repeat(np.arange(windows), k), "column_idx": column_idx,
        "bin": np.tile(np.arange(k), windows),
        "bin_label": np.tile(np.array(column.bins.labels(), dtype=object), windows),
        "bin_role": np.tile(np.array(column.bins.roles(), dtype=object), windows),
        "baseline_count": np.tile(baseline, windows), "current_count": counts.ravel(),
    })


def _drift_results(monitor: SyntheticMonitor, columns: list[_Column], counts: pd.DataFrame,
                   n_rows: np.ndarray) -> pd.DataFrame:
    """Figures and verdict of every (window, column): the drift_results columns of a run."""
    from kl_udfs.core.udfs import drift_figures  # numpy/scipy only: no Spark
    from kl_udfs.core.verdict import decide

    figures = drift_figures(counts, pseudo_count=DEFAULT_PSEUDO_COUNT, top_n=TOP_CONTRIBUTORS)
    figures["column_name"] = [columns[i].name for i in figures["column_idx"]]
    figures["column_kind"] = [columns[i].kind for i in figures["column_idx"]]
    gate = {w: f"expect_table_row_count_to_be_between: {_gate_details(int(n_rows[w]))}"
            for w in monitor.gate_failures()}
    figures["quality_message"] = figures["window_idx"].map(gate)
    verdict = decide(figures, monitor.policy())
    drift = pd.concat([figures.drop(columns=list(verdict.columns), errors="ignore")
                       .reset_index(drop=True), verdict], axis=1)
    drift["top_contributors"] = pd.Series([
        [{"bin": b, "contribution": v, "baseline_fraction": bf, "current_fraction": cf}
         for b, v, bf, cf in zip(*parts, strict=True)]
        for parts in zip(drift["contributor_bins"], drift["contributor_values"],
                         drift["contributor_baseline"], drift["contributor_current"],
                         strict=True)], index=drift.index, dtype=object)
    return drift


def write_monitoring(path: str | Path, monitors: Sequence[SyntheticMonitor],
                     seed: int = 0) -> dict[str, int]:
    """Create the five tables under `path` (replacing them) with every monitor's rows.

    Partitioned like the Spark writer's tables, so a year of daily windows is one file per
    (monitor, window) as after daily MERGEs. Returns the row count of each table.
    """
    from deltalake import write_deltalake

    parts: dict[str, list[pa.Table]] = {name: [] for name in schema.TABLES}
    for i, monitor in enumerate(monitors):
        for name, table in monitor_tables(monitor, seed + i).items():
            parts[name].append(table)
    counts = {}
    for name, target in schema.TABLES.items():
        table = pa.concat_tables(parts[name]) if parts[name] else target.empty_table()
        write_deltalake(str(Path(path) / name), table, mode="overwrite",
                        partition_by=schema.PARTITIONS[name], schema_mode="overwrite")
        counts[name] = table.num_rows
    return counts
