"""Synthetic monitoring tables, written with delta-rs (no Spark), for the benchmark and tests.

The drift numbers come from the engine's own pandas adapter (`kl_udfs.udfs.drift_metrics`) over
multinomial draws, so they are what a real run over such data would store. Columns named in
`drift_columns` shift from window `drift_from` on; every other column stays stationary.
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

TOP_CONTRIBUTORS = 5  # as kl_udfs.drift.TOP_CONTRIBUTORS
CATEGORIES = ("grocery", "travel", "fuel", "online", "pharmacy", "apparel", "utilities", "atm")


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
    numeric_bins: int = 20
    with_baseline: bool = True
    with_results: bool = True
    quality_failures: Sequence[int] = ()  # windows whose row_count expectation failed
    kl_threshold: float = 0.1
    p_value_threshold: float = 0.01

    def column_names(self) -> list[str]:
        numeric = (self.columns + 1) // 2
        return ([f"n{i:03d}" for i in range(numeric)]
                + [f"c{i:03d}" for i in range(self.columns - numeric)])

    def window_starts(self) -> list[datetime]:
        return [self.start + i * self.window for i in range(self.windows)]


@dataclass(frozen=True)
class _Column:
    name: str
    kind: str
    labels: list[str]
    edges: list[float]
    categories: list[str]
    p: np.ndarray  # baseline bin shares, null bin last
    q: np.ndarray  # drifted bin shares


def _columns(monitor: SyntheticMonitor, rng: np.random.Generator) -> list[_Column]:
    out = []
    for name in monitor.column_names():
        null_share = 0.01
        if name.startswith("n"):
            scale = float(rng.choice([1.0, 10.0, 250.0]))
            edges = [round(scale * (1 + i), 4) for i in range(monitor.numeric_bins - 1)]
            shown = ["-inf", *(f"{e:.6g}" for e in edges), "+inf"]
            labels = [f"{'(' if i == 0 else '['}{shown[i]}, {shown[i + 1]})"
                      for i in range(len(shown) - 1)]
            k = len(labels)
            p = np.full(k, (1 - null_share) / k)
            tilt = np.exp(2.5 * (np.arange(k) - k / 2) / k)  # mass moves to the upper bins
            out.append(_Column(name, "numeric", [*labels, "<null>"], edges, [],
                               _with_null(p, null_share), _with_null(p * tilt, null_share)))
        else:
            raw = 1 / np.arange(1, len(CATEGORIES) + 2)  # Zipf-like shares, "<other>" last
            p = raw / raw.sum() * (1 - null_share)
            q = p.copy()
            q[3] *= 5.0  # "online" grows fivefold
            out.append(_Column(name, "categorical", [*CATEGORIES, "<other>", "<null>"], [],
                               list(CATEGORIES), _with_null(p, null_share),
                               _with_null(q, null_share)))
    return out


def _with_null(values: np.ndarray, null_share: float) -> np.ndarray:
    values = values / values.sum() * (1 - null_share)
    return np.append(values, null_share)


def _table(rows: list[dict[str, object]] | pd.DataFrame, table: str) -> pa.Table:
    target = schema.TABLES[table]
    if isinstance(rows, pd.DataFrame):
        return pa.Table.from_pandas(rows[target.names], schema=target, preserve_index=False)
    return pa.Table.from_pylist(rows, schema=target)


def monitor_tables(monitor: SyntheticMonitor, seed: int = 0) -> dict[str, pa.Table]:
    """The five monitoring tables' rows for one synthetic monitor."""
    rng = np.random.default_rng(seed)
    columns = _columns(monitor, rng)
    created = monitor.start - timedelta(days=1)
    baseline_id = f"b-{monitor.name}"
    baseline_rows = [rng.multinomial(monitor.rows_per_window * 10, c.p) for c in columns]
    tables: dict[str, list[dict[str, object]] | pd.DataFrame] = {name: [] for name in
                                                                 schema.TABLES}
    source = f"range [{created - timedelta(days=30):%Y-%m-%d}, {created:%Y-%m-%d}) @ version 0"
    if monitor.with_baseline:
        tables["baselines"] = [{
            "monitor": monitor.name, "baseline_id": baseline_id, "column_name": c.name,
            "column_idx": i, "column_kind": c.kind,
            "source_type": "double" if c.kind == "numeric" else "string",
            "bins_json": None, "edges": c.edges, "categories": c.categories,
            "bin_labels": c.labels, "counts": counts.tolist(), "count": int(counts.sum()),
            "null_count": int(counts[-1]), "min": 0.0 if c.kind == "numeric" else None,
            "max": 1000.0 if c.kind == "numeric" else None, "skipped_reason": None,
            "source": source, "table_name": f"/data/{monitor.name}", "table_version": 0,
            "range_start": created - timedelta(days=30), "range_end": created,
            "previous_windows": None, "window_length_s": int(monitor.window.total_seconds()),
            "created_at": created, "run_id": "r-baseline",
        } for i, (c, counts) in enumerate(zip(columns, baseline_rows, strict=True))]
    if monitor.with_baseline and monitor.with_results:
        tables.update(_window_tables(monitor, columns, baseline_rows, baseline_id, rng))
    return {name: _table(rows, name) for name, rows in tables.items()}


def _window_tables(monitor: SyntheticMonitor, columns: list[_Column],
                   baseline_rows: list[np.ndarray], baseline_id: str, rng: np.random.Generator,
                   ) -> dict[str, list[dict[str, object]] | pd.DataFrame]:
    from kl_udfs.udfs import drift_metrics  # numpy/pandas only: no Spark

    starts = monitor.window_starts()
    n_rows = rng.integers(int(monitor.rows_per_window * 0.97), monitor.rows_per_window + 1,
                          size=len(starts))
    long_parts, profile_parts = [], []
    for ci, column in enumerate(columns):
        drifts = column.name in monitor.drift_columns
        shares = np.array([column.q if drifts and w >= monitor.drift_from else column.p
                           for w in range(len(starts))])
        counts = rng.multinomial(n_rows, shares)  # (windows, bins)
        k = counts.shape[1]
        threshold = monitor.kl_threshold
        long_parts.append(pd.DataFrame({
            "window_idx": np.repeat(np.arange(len(starts)), k),
            "column_idx": ci, "bin": np.tile(np.arange(k), len(starts)),
            "bin_label": np.tile(np.array(column.labels, dtype=object), len(starts)),
            "is_null_bin": np.tile(np.arange(k) == k - 1, len(starts)),
            "baseline_count": np.tile(baseline_rows[ci], len(starts)),
            "current_count": counts.ravel(), "kl_threshold": threshold,
            "p_threshold": monitor.p_value_threshold,
        }))
        profile_parts.append(pd.DataFrame({
            "column_idx": ci, "window_idx": np.arange(len(starts)),
            "counts": list(counts), "count": counts.sum(axis=1), "null_count": counts[:, -1],
        }))
    metrics = drift_metrics(pd.concat(long_parts, ignore_index=True), pseudo_count=0.5,
                            top_n=TOP_CONTRIBUTORS)
    window_start = pd.Series(pd.to_datetime(starts, utc=True))
    computed = [s + monitor.window + timedelta(minutes=5) for s in starts]
    names = [c.name for c in columns]
    kinds = [c.kind for c in columns]
    common = pd.DataFrame({
        "window_idx": np.arange(len(starts)), "window_start": window_start,
        "window_end": window_start + monitor.window,
        "computed_at": pd.Series(pd.to_datetime(computed, utc=True)),
        "run_id": [f"r-{monitor.name}-{i}" for i in range(len(starts))],
    })
    meta = {"monitor": monitor.name, "table_name": f"/data/{monitor.name}",
            "baseline_id": baseline_id}
    drift = metrics.merge(common, on="window_idx").assign(**meta)
    drift["column_name"] = [names[i] for i in drift["column_idx"]]
    drift["column_kind"] = [kinds[i] for i in drift["column_idx"]]
    drift["threshold"] = monitor.kl_threshold
    drift["p_value_threshold"] = monitor.p_value_threshold
    failed = set(monitor.quality_failures)
    gated = drift["window_idx"].isin(failed) & drift["status"].isin(["ok", "drift"])
    drift.loc[gated, "status"] = "quality_failed"
    drift.loc[gated, "message"] = "row_count: expected at least 1000 rows"
    drift["top_contributors"] = pd.Series([
        [{"bin": b, "contribution": v, "baseline_fraction": bf, "current_fraction": cf}
         for b, v, bf, cf in zip(*parts, strict=True)]
        for parts in zip(drift["contributor_bins"], drift["contributor_values"],
                         drift["contributor_baseline"], drift["contributor_current"],
                         strict=True)], index=drift.index, dtype=object)
    for name in ("kl_divergence", "kl_reverse", "js_divergence", "psi", "g_statistic",
                 "p_value"):
        drift[name] = drift[name].astype("float64")

    profiles = pd.concat(profile_parts, ignore_index=True).merge(common, on="window_idx") \
        .assign(**meta)
    profiles["column_name"] = [names[i] for i in profiles["column_idx"]]
    profiles["column_kind"] = [kinds[i] for i in profiles["column_idx"]]
    profiles["bin_labels"] = [columns[i].labels for i in profiles["column_idx"]]
    profiles["counts"] = [c.tolist() for c in profiles["counts"]]
    profiles["min"], profiles["max"] = np.nan, np.nan

    runs: list[dict[str, object]] = [{
        "run_id": f"r-{monitor.name}-{i}", "monitor": monitor.name,
        "table_name": meta["table_name"], "operation": "run", "window_start": start,
        "window_end": start + monitor.window, "baseline_id": baseline_id, "windows": 1,
        "columns": len(columns), "rows_scanned": int(n_rows[i]), "duration_s": 12.5,
        "status": "succeeded", "error": None, "started_at": computed[i] - timedelta(minutes=1),
        "finished_at": computed[i],
    } for i, start in enumerate(starts)]
    quality: list[dict[str, object]] = [{
        "monitor": monitor.name, "table_name": meta["table_name"], "window_start": start,
        "window_end": start + monitor.window, "expectation": "expect_table_row_count_to_be_between",
        "column_name": None, "success": i not in failed,
        "observed_value": str(rows := 640 if i in failed else int(n_rows[i])),
        "details": f"row count {rows} (expected at least 1000)", "run_id": f"q-{i}",
        "computed_at": computed[i],
    } for i, start in enumerate(starts)]
    return {"drift_results": drift, "profiles": profiles, "runs": runs, "quality_results": quality}


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
