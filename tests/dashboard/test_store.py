"""Reading the monitoring tables with delta-rs: snapshot, refresh, and the queries on it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from dashboards import queries, schema
from dashboards.store import (
    Store,
    load_snapshot,
    source_from_config,
    source_from_monitoring,
)
from dashboards.synthetic import SyntheticMonitor, monitor_tables, write_monitoring
from kl_udfs.core.errors import KlDriftError
from tests.dashboard.conftest import CARDS


def test_snapshot_of_the_synthetic_lake(synthetic_lake: Path) -> None:
    snap = load_snapshot(source_from_config(synthetic_lake / "monitors.yaml"))
    assert queries.monitor_names(snap) == ["cards", "servers"]
    assert len(queries.windows(snap, "cards")) == 20
    assert len(queries.windows(snap, "servers")) == 48
    history = queries.column_history(snap, "servers", "n000")
    assert len(history) == 48
    assert history["window_start"].dt.tz is None  # naive UTC throughout
    cards = queries.monitor_summary(snap, "cards")
    assert cards.state == "ready"
    assert cards.drifting == ["c001", "n000"]
    assert cards.latest_start == CARDS.window_starts()[-1].replace(tzinfo=None)
    assert cards.quality_failures == 1
    assert cards.last_run is not None and cards.last_run.status == "succeeded"
    servers = queries.monitor_summary(snap, "servers")
    assert servers.drifting == [] and servers.window == "1 day"  # as the config says


def test_drift_set_matches_the_table(synthetic_lake: Path) -> None:
    rows = DeltaTable(str(synthetic_lake / "monitoring" / "drift_results")).to_pandas()
    cards = rows[rows["monitor"] == "cards"]
    latest = cards[cards["window_start"] == cards["window_start"].max()]
    snap = load_snapshot(source_from_monitoring(synthetic_lake / "monitoring"))
    assert queries.monitor_summary(snap, "cards").drifting == sorted(
        latest.loc[latest["status"] == "drift", "column_name"])


def test_histogram_is_the_stored_counts(synthetic_lake: Path) -> None:
    snap = load_snapshot(source_from_monitoring(synthetic_lake / "monitoring"))
    row = queries.pick_window(queries.column_history(snap, "cards", "n000"), None)
    assert row is not None
    hist = queries.histogram(snap, row)
    assert isinstance(hist, queries.Histogram)
    profiles = DeltaTable(str(synthetic_lake / "monitoring" / "profiles")).to_pandas()
    stored = profiles[(profiles["column_name"] == "n000")
                      & (profiles["window_start"] == profiles["window_start"].max())
                      & (profiles["monitor"] == "cards")].iloc[0]
    assert hist.current == list(stored["counts"])
    assert hist.labels == list(stored["bin_labels"])
    assert sum(hist.baseline) == 10 * CARDS.rows_per_window
    assert queries.contributors(snap, row)[0]["bin"] in hist.labels


def test_rolling_baseline_sums_the_previous_windows(tmp_path: Path) -> None:
    tables = monitor_tables(SyntheticMonitor("roll", columns=2, windows=6))
    base = tables["baselines"].to_pylist()
    for item in base:
        item["previous_windows"] = 3
    tables["baselines"] = pa.Table.from_pylist(base, schema=schema.BASELINES)
    for name, table in tables.items():
        write_deltalake(str(tmp_path / name), table, partition_by=schema.PARTITIONS[name])
    snap = load_snapshot(source_from_monitoring(tmp_path))
    history = queries.column_history(snap, "roll", "n000")
    row = history.iloc[4]
    hist = queries.histogram(snap, row)
    assert isinstance(hist, queries.Histogram)
    profiles = tables["profiles"].to_pandas()
    mine = profiles[profiles["column_name"] == "n000"].sort_values("window_start")
    expected = np.sum([np.asarray(c) for c in mine["counts"].iloc[1:4]], axis=0)
    assert hist.baseline == expected.tolist()
    assert "previous 3 windows" in hist.baseline_note


def test_missing_tables_read_as_empty(tmp_path: Path) -> None:
    snap = load_snapshot(source_from_monitoring(tmp_path))
    assert not snap.has_tables and queries.windows(snap, "m") == []
    assert queries.monitor_names(snap) == []
    assert queries.latest_rows(snap, "m").empty


def test_missing_monitoring_path_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(KlDriftError, match=r"^monitoring path .*nowhere does not exist"):
        source_from_monitoring(tmp_path / "nowhere")
    with pytest.raises(KlDriftError, match="cannot read config"):
        source_from_config(tmp_path / "monitors.yaml")


def test_refresh_reads_a_new_window_and_keeps_the_latest_rerun(tmp_path: Path) -> None:
    monitor = SyntheticMonitor("m", columns=2, windows=3)
    write_monitoring(tmp_path, [monitor])
    store = Store(source_from_monitoring(tmp_path), refresh_s=0)
    before = store.snapshot()
    assert not store.refresh()  # nothing changed
    # Re-run the last window against a newer baseline: a second row for the same window.
    rows = DeltaTable(str(tmp_path / "drift_results")).to_pyarrow_table().to_pylist()
    last = max(r["window_start"] for r in rows)
    rerun = [{**r, "baseline_id": "b-newer", "status": "drift",
              "computed_at": r["computed_at"] + timedelta(days=1)}
             for r in rows if r["window_start"] == last]
    write_deltalake(str(tmp_path / "drift_results"),
                    pa.Table.from_pylist(rerun, schema=schema.DRIFT_RESULTS), mode="append",
                    partition_by=schema.PARTITIONS["drift_results"])
    assert store.refresh()
    after = store.snapshot()
    assert after.versions["drift_results"] == (before.versions["drift_results"] or 0) + 1
    assert after.versions["profiles"] == before.versions["profiles"]
    latest = queries.latest_rows(after, "m")
    assert sorted(latest["column_name"]) == ["c000", "n000"]  # one row per column
    assert set(latest["baseline_id"]) == {"b-newer"}
    assert len(queries.column_history(after, "m", "n000")) == 3
    assert queries.monitor_summary(after, "m").drifting == ["c000", "n000"]
    assert queries.monitor_summary(before, "m").drifting == []  # the old versions' view
