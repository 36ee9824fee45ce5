"""A page reads only its slice: the files delta-rs opens for each read (its own EXPLAIN ANALYZE
metrics) are exactly the files the Delta log lists for that monitor and window range."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from dashboards import app as dash_app
from dashboards import column_view, schema
from dashboards.store import Snapshot, load_snapshot, source_from_monitoring
from dashboards.synthetic import SyntheticMonitor, write_monitoring
from kl_udfs.core.config import load_config
from kl_udfs.lake.slices import Monitoring, Scan, ScanMetrics
from kl_udfs.sql import reads
from tests.dashboard.conftest import find, text, tree, write_config

# Three monitors share the tables; the one the pages show has 60 daily windows.
SHOWN = SyntheticMonitor("shown", columns=6, windows=60, drift_columns=frozenset({"n000"}),
                         drift_from=50)
OTHERS = (SyntheticMonitor("same_days", columns=4, windows=60),
          SyntheticMonitor("hourly", columns=3, windows=72, window=timedelta(hours=1)))


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The monitoring tables, with the shown monitor's last window re-run against a newer
    baseline: its partition holds two files."""
    directory = tmp_path_factory.mktemp("reads-lake")
    write_monitoring(directory / "monitoring", [SHOWN, *OTHERS])
    path = str(directory / "monitoring" / "drift_results")
    last = SHOWN.window_starts()[-1]
    rows = [r for r in DeltaTable(path).to_pyarrow_table().to_pylist()
            if r["monitor"] == SHOWN.name and r["window_start"] == last]
    rerun = [{**r, "baseline_id": "b-newer", "computed_at": r["computed_at"] + timedelta(hours=1)}
             for r in rows]
    write_deltalake(path, pa.Table.from_pylist(rerun, schema=schema.DRIFT_RESULTS),
                    mode="append", partition_by=schema.PARTITIONS["drift_results"])
    write_config(directory, [SHOWN.name, *(m.name for m in OTHERS)])
    return directory


def log_files(lake: Path, table: str, monitor: str,
              starts: list[datetime] | None = None) -> set[str]:
    """Names of the files the Delta log lists for the monitor (and these window starts)."""
    actions = pa.table(DeltaTable(str(lake / "monitoring" / table)).get_add_actions(
        flatten=True)).to_pylist()
    wanted = None if starts is None else set(starts)
    return {a["path"].rsplit("/", 1)[-1] for a in actions if a["partition.monitor"] == monitor
            and (wanted is None or a["partition.window_start"].replace(tzinfo=None) in wanted)}


@dataclass
class Read:
    scan: Scan
    metrics: ScanMetrics

    @property
    def files(self) -> set[str]:
        return {f.rsplit("/", 1)[-1] for f in self.metrics.files_shown}


def recording(tables: Monitoring) -> list[Read]:
    """Every scan `tables` runs from now on, with delta-rs' metrics of that scan."""
    done: list[Read] = []

    def record(owner: Monitoring, scan: Scan) -> None:
        done.append(Read(scan, owner.scan_metrics(scan)))

    tables.on_scan = record
    return done


@pytest.fixture
def snap(lake: Path) -> Iterator[Snapshot]:
    yield load_snapshot(source_from_monitoring(lake / "monitoring"))


def of(done: list[Read], table: str) -> list[Read]:
    return [r for r in done if r.scan.table == table]


def check_opens(read: Read, expected: set[str]) -> None:
    """The read opened as many files as expected, and every one it names is expected (the
    plan names up to five files per group)."""
    assert read.metrics.files_opened == len(expected), read.scan
    assert read.files and read.files <= expected, read.scan


def test_the_overview_opens_only_its_monitors_last_windows(snap: Snapshot, lake: Path) -> None:
    done = recording(snap.tables)
    page = tree(dash_app.render(snap, f"?monitor={SHOWN.name}&windows=5")[1])
    assert find(page, className="card monitor-card", data_monitor=SHOWN.name)
    starts = [s.replace(tzinfo=None) for s in SHOWN.window_starts()]
    drift = of(done, "drift_results")
    assert len(drift) == 2  # the heatmap's windows, the latest window's table
    heatmap, latest = sorted(drift, key=lambda r: -r.metrics.files_opened)
    check_opens(heatmap, log_files(lake, "drift_results", SHOWN.name, starts[-5:]))
    check_opens(latest, log_files(lake, "drift_results", SHOWN.name, starts[-1:]))
    assert len(log_files(lake, "drift_results", SHOWN.name, starts[-1:])) == 2  # the re-run
    assert heatmap.metrics.rows == 5 * SHOWN.columns + SHOWN.columns  # the re-run's rows too
    assert not of(done, "profiles")  # no histogram on the overview
    for read in of(done, "quality_results") + of(done, "baselines") + of(done, "runs"):
        table = read.scan.table
        check_opens(read, log_files(lake, table, SHOWN.name))


def test_a_column_page_opens_its_range_its_window_and_the_latest(snap: Snapshot,
                                                                lake: Path) -> None:
    starts = [s.replace(tzinfo=None) for s in SHOWN.window_starts()]
    first, last = starts[40], starts[49]  # ten days, the page's range
    done = recording(snap.tables)
    page = tree(dash_app.render(snap, f"?monitor={SHOWN.name}&column=n000"
                                      f"&start={first:%Y-%m-%d}&end={last:%Y-%m-%d}")[1])
    assert find(page, className="page column-page", data_column="n000")
    drift = of(done, "drift_results")
    history = [r for r in drift if any(">=" in w for w in r.scan.where)]  # the range's
    assert len(history) == 1
    check_opens(history[0], log_files(lake, "drift_results", SHOWN.name, starts[40:50]))
    assert history[0].metrics.rows == 10  # one column's rows of the ten windows
    # the shown window (the range's latest) for its contributors and rules; the monitor's
    # latest window for the list of its columns
    shown, latest = (log_files(lake, "drift_results", SHOWN.name, [day])
                     for day in (last, starts[-1]))
    others = [r for r in drift if r is not history[0]]
    assert {frozenset(shown) if r.files <= shown else frozenset(latest) for r in others} == {
        frozenset(shown), frozenset(latest)}
    for read in others:
        check_opens(read, shown if read.files <= shown else latest)
    profiles = of(done, "profiles")
    assert len(profiles) == 1
    check_opens(profiles[0], log_files(lake, "profiles", SHOWN.name, [last]))
    assert profiles[0].metrics.rows == 1


def test_status_opens_each_monitors_latest_window_only(lake: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(lake / "monitors.yaml")
    made: list[list[Read]] = []

    def instrumented(config: Any) -> Monitoring:
        tables = Monitoring(config.monitoring.path, config.delta_rs_options())
        made.append(recording(tables))
        return tables

    monkeypatch.setattr(Monitoring, "of", classmethod(lambda _, config: instrumented(config)))
    rows = reads.status_rows(config)
    done = [r for reads_of_one in made for r in reads_of_one]
    assert {r[0] for r in rows} == {SHOWN.name, *(m.name for m in OTHERS)}
    shown = [r for r in rows if r[0] == SHOWN.name]
    assert len(shown) == SHOWN.columns and {r[3] for r in shown} >= {"drift"}
    for monitor in (SHOWN, *OTHERS):
        latest = [monitor.window_starts()[-1].replace(tzinfo=None)]
        mine = [r for r in done if f"'{monitor.name}'" in " ".join(r.scan.where)]
        assert len(mine) == 1
        check_opens(mine[0], log_files(lake, "drift_results", monitor.name, latest))


def test_a_column_page_without_a_range_opens_its_last_windows(
        snap: Snapshot, lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(column_view, "HISTORY_WINDOWS", 20)
    starts = [s.replace(tzinfo=None) for s in SHOWN.window_starts()]
    done = recording(snap.tables)
    page = tree(dash_app.render(snap, f"?monitor={SHOWN.name}&column=n000")[1])
    history = [r for r in of(done, "drift_results") if any(">=" in w for w in r.scan.where)]
    assert len(history) == 1
    check_opens(history[0], log_files(lake, "drift_results", SHOWN.name, starts[-20:]))
    note = find(page, id="history-range")
    assert note and f"({len(starts)} in all)" in text(note[0])
    every = find(page, id="all-windows")[0]["props"]["href"]
    assert f"start={starts[0]:%Y-%m-%d}" in every
