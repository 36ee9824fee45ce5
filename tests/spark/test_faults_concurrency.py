"""The fault matrix, part two: concurrent writers and killed jobs.

Every case starts from a copy of one monitoring folder holding one baseline of one source table
(five days of 100 rows), and is compared with an undisturbed run of the same windows against
the same baseline (the "reference"): after the fault, each window has exactly the reference's
rows (one per column in `drift_results` and in `profiles`, the same figures), the readers'
integrity rule (kl_udfs/spark/integrity.py) finds no window half-written, and every operation
has its one row in `runs`, with the status it deserves.

Concurrent runs race in threads of the test's SparkSession and in `kldrift run` processes of
their own. Jobs are killed with SIGKILL of their whole process group (driver, JVM, Python
workers) at a point the test-only hook KLDRIFT_TEST_PAUSE_AT (kl_udfs/spark/pause.py) makes the
job wait at. docs/reliability.md lists every case with its outcome.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kl_udfs.core import contract
from kl_udfs.core.config import Config
from kl_udfs.core.environment import SPARK_MASTER, TEST_PAUSE_AT
from kl_udfs.core.windows import Window
from kl_udfs.jobs.runner import backfill, build_baseline, compute_windows
from kl_udfs.spark.integrity import audit_windows
from kl_udfs.spark.runs import owner_gone
from kl_udfs.spark.tables import DRIFT_RESULTS, PROFILES, RUNS, ensure_tables, table_path
from tests.cluster.jobs import VENV_BIN, spark_env, start, tail
from tests.spark.test_bad_input import DAY0, SCHEMA, make_config, rows_of, standard_rows, write

# One worker runs the whole module: its fixtures (the reference, the processes) are built once.
pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("faults-concurrency")]

DAYS = 5  # days 0-1: the baseline; days 2-4: the windows
WINDOWS = [Window(DAY0 + timedelta(days=d), DAY0 + timedelta(days=d + 1)) for d in (2, 3, 4)]
RACED = WINDOWS[0]
STAMPS = ("run_id", "computed_at")  # what differs between two runs of the same rows
JOB_TIMEOUT_S = 600  # a hung job fails its test instead of the CI run

Figures = dict[tuple[datetime, str], dict[str, Any]]


@dataclass(frozen=True)
class Shared:
    table: str
    pristine: Path  # monitoring folder: the baseline only
    drift: Figures  # the reference: an undisturbed run of WINDOWS
    profiles: Figures


def figures(spark: Any, config: Config, spec: Any) -> Figures:
    """Window start, column -> the row without its run stamps; a duplicate key fails."""
    found: Figures = {}
    for row in rows_of(spark, config, spec):
        key = (row["window_start"], row["column_name"])
        assert key not in found, f"duplicate {spec.name} row {key}"
        found[key] = {k: v for k, v in row.asDict(recursive=True).items() if k not in STAMPS}
    return found


def same(found: Any, expected: Any) -> bool:
    """Equal, floats to 1e-12: sums over the rows (`moment_sums`) may add in another order
    when a job splits the rows otherwise (a local[1] process against local[2])."""
    if isinstance(expected, float) and isinstance(found, float):
        return math.isclose(found, expected, rel_tol=1e-12, abs_tol=1e-12) or (
            math.isnan(found) and math.isnan(expected))
    if isinstance(expected, dict) and isinstance(found, dict):
        return found.keys() == expected.keys() and all(same(found[k], v)
                                                       for k, v in expected.items())
    if isinstance(expected, list) and isinstance(found, list):
        return len(found) == len(expected) and all(map(same, found, expected))
    return bool(found == expected)


def config_at(shared: Shared, root: Path) -> Config:
    """The shared monitor with its monitoring tables copied to `root`/monitoring."""
    shutil.copytree(shared.pristine, root / "monitoring")
    return make_config(root, shared.table)


@pytest.fixture(scope="module")
def shared(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Shared:
    root = tmp_path_factory.mktemp("concurrency")
    table = write(spark, root / "raw" / "cards", standard_rows(DAYS), SCHEMA)
    config = make_config(root / "pristine", table)
    build_baseline(spark, config, "m")
    pristine = root / "pristine" / "monitoring"
    reference = make_config(root / "reference", table)
    shutil.copytree(pristine, root / "reference" / "monitoring")
    compute_windows(spark, reference, "m", WINDOWS)
    return Shared(table, pristine, figures(spark, reference, DRIFT_RESULTS),
                  figures(spark, reference, PROFILES))


def assert_as_reference(spark: Any, shared: Shared, config: Config,
                        windows: list[Window]) -> None:
    """The windows hold exactly the reference's rows, are whole, and nothing else exists."""
    starts = {w.start for w in windows}
    for spec, expected in ((DRIFT_RESULTS, shared.drift), (PROFILES, shared.profiles)):
        wanted = {k: v for k, v in expected.items() if k[0] in starts}
        found = figures(spark, config, spec)
        assert set(found) == set(wanted), (spec.name, sorted(set(found) ^ set(wanted)))
        for key, row in wanted.items():
            assert same(found[key], row), (spec.name, key, found[key], row)
    audit = audit_windows(spark, config, "m")
    assert audit.problems == [] and audit.pending == [], audit.summary()
    assert {k[0] for k in audit.whole} == starts


def runs_by_id(spark: Any, config: Config) -> dict[str, Any]:
    """The runs rows of the case, by run_id (the shared baseline's row left out)."""
    rows = [r for r in rows_of(spark, config, RUNS) if r["operation"] != "baseline"]
    by_id = {r["run_id"]: r for r in rows}
    assert len(by_id) == len(rows), "two runs rows share a run_id"
    return by_id


def at_once(actions: list[Callable[[], Any]]) -> list[Any]:
    """Run the actions in threads released together; their results, or their exceptions."""
    gate = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def one(i: int) -> None:
        gate.wait()
        try:
            results[i] = actions[i]()
        except Exception as error:  # reported by the caller's assertion
            results[i] = error

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def commits_of(config: Config, spec: Any, operation: str) -> int:
    """Commits of that Delta operation (MERGE, WRITE) in the table's log."""
    log = Path(table_path(config.monitoring.path, spec)) / "_delta_log"
    found = 0
    for commit in log.glob("*.json"):
        for line in commit.read_text().splitlines():
            info = json.loads(line).get("commitInfo")
            found += bool(info and info.get("operation") == operation)
    return found


# --- 1. the same window at once ---------------------------------------------------------


@pytest.mark.usefixtures("jobs")  # first: the processes' JVMs start while this test runs
def test_same_window_eight_times_at_once_in_threads(spark: Any, shared: Shared,
                                                    tmp_path: Path) -> None:
    writers = 8
    config = config_at(shared, tmp_path)
    done = at_once([lambda: compute_windows(spark, config, "m", [RACED])] * writers)
    failed = [d for d in done if isinstance(d, Exception)]
    assert failed == [], failed
    assert_as_reference(spark, shared, config, [RACED])
    runs = runs_by_id(spark, config)
    assert set(runs) == {d.run_id for d in done}  # no run's row lost
    assert {r["status"] for r in runs.values()} == {contract.SUCCEEDED}
    # every run committed its window once to each table: no commit lost, none doubled
    assert commits_of(config, PROFILES, "MERGE") == writers
    assert commits_of(config, DRIFT_RESULTS, "MERGE") == writers
    retries = sum(r["conflict_retries"] for r in runs.values())
    print(f"{writers} writers in threads: conflicts retried {retries}")
    assert retries > 0  # MERGEs of one window read what the others rewrite: they conflict


def _yaml(config: Config, path: Path) -> Path:
    """The config as a file for `kldrift` (JSON is YAML)."""
    monitor = {"name": "m", "table": config.monitors[0].table, "timestamp_column": "ts",
               "baseline": {"start": DAY0.isoformat(),
                            "end": (DAY0 + timedelta(days=2)).isoformat()}}
    path.write_text(json.dumps({"monitoring": {"path": config.monitoring.path},
                                "monitors": [monitor]}))
    return path


def job_env(**extra: str) -> dict[str, str]:
    return {**os.environ, **spark_env(), SPARK_MASTER: "local[1]", **extra}


def kldrift_run(config_file: Path, window: Window) -> list[str]:
    return [str(VENV_BIN / "kldrift"), "run", "--config", str(config_file), "--monitor", "m",
            "--start", window.start.isoformat(), "--end", window.end.isoformat()]


@dataclass(frozen=True)
class Job:
    config: Config
    process: subprocess.Popen[str]
    log: Path
    marker: Path | None = None  # created where the job pauses to be killed


KILL_POINTS = ("scan", "merge", "between_merges")


@pytest.fixture(scope="module")
def jobs(shared: Shared, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every `kldrift run` process of this module, started together when the module begins:
    two racing on one window, and one per kill point, each pausing there. Each JVM's start
    overlaps the others' and the in-process tests before them; each case has its own copy of
    the monitoring folder, so nothing but the racers shares a table."""
    started: dict[str, Any] = {}
    racers = tmp_path_factory.mktemp("racers")
    config = config_at(shared, racers)
    argv = kldrift_run(_yaml(config, racers / "monitors.yaml"), RACED)
    started["racers"] = [Job(config, start(argv, racers / f"job{i}.log", job_env()),
                             racers / f"job{i}.log") for i in range(2)]
    for point in KILL_POINTS:
        root = tmp_path_factory.mktemp(f"killed-{point}")
        config, marker, log = config_at(shared, root), root / "paused", root / "job.log"
        process = start(kldrift_run(_yaml(config, root / "monitors.yaml"), RACED), log,
                        job_env(**{TEST_PAUSE_AT: f"{point}:{marker}"}))
        started[point] = Job(config, process, log, marker)
    yield started
    for job in [*started["racers"], *(started[p] for p in KILL_POINTS)]:
        if job.process.poll() is None:  # a failed test left it waiting at its pause
            os.killpg(job.process.pid, signal.SIGKILL)
            job.process.wait(JOB_TIMEOUT_S)


def test_same_window_twice_at_once_in_processes(spark: Any, shared: Shared,
                                                jobs: dict[str, Any]) -> None:
    racers: list[Job] = jobs["racers"]
    for job in racers:
        assert job.process.wait(JOB_TIMEOUT_S) == 0, tail(job.log.read_text())
    config = racers[0].config
    assert_as_reference(spark, shared, config, [RACED])
    runs = runs_by_id(spark, config)
    assert len(runs) == 2 and {r["status"] for r in runs.values()} == {contract.SUCCEEDED}
    assert {r["owner"].split(":")[1] for r in runs.values()} == {
        str(j.process.pid) for j in racers}
    assert commits_of(config, DRIFT_RESULTS, "MERGE") == 2
    print(f"2 writers in processes: conflicts retried "
          f"{sum(r['conflict_retries'] for r in runs.values())}")


def test_backfill_and_scheduled_run_overlap(spark: Any, shared: Shared, tmp_path: Path) -> None:
    config = config_at(shared, tmp_path)
    scheduled = WINDOWS[1]  # the backfill's middle window, in its one pass
    done = at_once([
        lambda: backfill(spark, config, "m", WINDOWS[0].start, WINDOWS[-1].end),
        lambda: compute_windows(spark, config, "m", [scheduled]),
    ])
    assert not any(isinstance(d, Exception) for d in done), done
    assert_as_reference(spark, shared, config, WINDOWS)
    runs = runs_by_id(spark, config)
    assert sorted((r["operation"], r["status"]) for r in runs.values()) == [
        ("backfill", contract.SUCCEEDED), ("run", contract.SUCCEEDED)]
    assert set(runs) == {b.run_id for b in done[0]} | {done[1].run_id}


# --- 2. killed jobs ---------------------------------------------------------------------


def wait_for(marker: Path, job: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while not marker.exists():
        assert job.poll() is None, f"the job ended before its pause:\n{tail(log.read_text())}"
        assert time.monotonic() < deadline, "the job never reached its pause"
        time.sleep(0.2)


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_job_leaves_whole_windows_and_a_failed_run(spark: Any, shared: Shared,
                                                          jobs: dict[str, Any],
                                                          point: str) -> None:
    killed: Job = jobs[point]
    job, config = killed.process, killed.config
    assert killed.marker is not None
    try:
        wait_for(killed.marker, job, killed.log)
    finally:
        os.killpg(job.pid, signal.SIGKILL)  # the driver, its JVM and its Python workers
        job.wait(JOB_TIMEOUT_S)
    assert job.returncode == -signal.SIGKILL

    # what readers see: nothing half-written; only profiles when killed between the commits
    audit = audit_windows(spark, config, "m")
    assert audit.problems == [] and audit.whole == [], audit.summary()
    assert [k[0] for k in audit.pending] == ([RACED.start] if point == "between_merges" else [])
    assert figures(spark, config, DRIFT_RESULTS) == {}
    (killed_id, row), = runs_by_id(spark, config).items()
    assert row["status"] == contract.RUNNING  # its process could not say more
    assert row["owner"].split(":")[:2] == [socket.gethostname(), str(job.pid)]

    rerun = compute_windows(spark, config, "m", [RACED])  # heals, and settles the killed run
    assert_as_reference(spark, shared, config, [RACED])
    runs = runs_by_id(spark, config)
    assert set(runs) == {killed_id, rerun.run_id}
    assert runs[rerun.run_id]["status"] == contract.SUCCEEDED
    assert runs[killed_id]["status"] == contract.FAILED
    assert runs[killed_id]["error"] == contract.PROCESS_GONE
    assert runs[killed_id]["finished_at"] is not None


# --- 3. the rules behind "running" and schema evolution -------------------------------


def test_a_running_row_is_gone_only_when_its_process_is() -> None:
    now = datetime(2026, 1, 1, 12)
    host = socket.gethostname()
    me = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]
    ended = subprocess.Popen(["true"])
    ended.wait()  # reaped: its pid names no process now
    assert not owner_gone(f"{host}:{os.getpid()}:{me}", now, now)
    assert owner_gone(f"{host}:{ended.pid}:{me}", now, now)
    assert owner_gone(f"{host}:{os.getpid()}:{int(me) + 1}", now, now)  # a reused pid
    stale = timedelta(hours=contract.RUNNING_STALE_AFTER_HOURS)
    elsewhere = f"not-{host}:{os.getpid()}:{me}"
    assert not owner_gone(elsewhere, now - stale + timedelta(minutes=1), now)
    assert owner_gone(elsewhere, now - stale - timedelta(minutes=1), now)


def test_runs_table_of_an_older_version_gains_the_new_columns(spark: Any,
                                                              tmp_path: Path) -> None:
    from delta.tables import DeltaTable
    from pyspark.sql import types as T

    path = table_path(str(tmp_path), RUNS)
    new = {"conflict_retries", "owner", "source_version", "late_rows", "recomputed_windows",
           "late_windows_skipped"}
    old = T.StructType([f for f in RUNS.schema.fields if f.name not in new])
    DeltaTable.create(spark).location(path).addColumns(old).partitionedBy("monitor").execute()
    spark.createDataFrame([("r1", "m", "succeeded")], "run_id string, monitor string, "
                          "status string").write.format("delta").mode("append").save(path)
    ensure_tables(spark, str(tmp_path), "monitoring", [RUNS])
    rows = spark.read.format("delta").load(path).collect()
    assert new <= set(rows[0].asDict()) and len(rows) == 1
    assert (rows[0]["run_id"], rows[0]["conflict_retries"], rows[0]["owner"]) == ("r1", None, None)
    assert rows[0]["recomputed_windows"] is None and rows[0]["source_version"] is None
