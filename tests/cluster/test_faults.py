"""The cluster computes what local[*] computes, and faults lose nothing and duplicate nothing."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cluster import jobs
from tests.cluster.conftest import BACKFILL, COLUMNS, CRASH, Cluster, day

pytestmark = pytest.mark.spark

WINDOWS = [day(n) for n in range(*BACKFILL)]
CRASHED = [day(n) for n in range(*CRASH)]
POLL_S = 0.05


def _audit(spark: Any, place: Path, monitor: str = "payments") -> Any:
    from kl_udfs.core.config import load_config
    from kl_udfs.spark.integrity import audit_windows

    return audit_windows(spark, load_config(place / "monitors.yaml"), monitor)


def test_cluster_backfill_equals_local(spark, cluster_backfill: Path, reference) -> None:  # type: ignore[no-untyped-def]
    found = jobs.drift_rows(spark, cluster_backfill)
    keys = jobs.keys_of("payments", COLUMNS, WINDOWS)
    jobs.assert_same(found, reference, keys)
    drifting = {k[1] for k in keys if found[k]["status"] == "drift"}
    assert drifting == {"amount", "channel"}  # the drift day is in the backfill
    audit = _audit(spark, cluster_backfill)
    assert not audit.problems and not audit.pending
    assert set(WINDOWS) <= {k[0] for k in audit.whole}


def _new_app_dir(worker: Path, before: set[str], proc: Any) -> Path:
    while proc.poll() is None:
        fresh = [p for p in worker.glob("app-*") if p.name not in before]
        if fresh:
            return fresh[0]
        time.sleep(POLL_S)
    raise AssertionError("the backfill ended before it had an executor on worker 2")


def _wait_for_finished_task(app_dir: Path, proc: Any) -> None:
    """Kill only once worker 2's executor holds finished work (cached counts, shuffle files)."""
    while proc.poll() is None:
        if any("Finished task" in p.read_text(errors="replace")
               for p in app_dir.glob("*/stderr")):
            return
        time.sleep(POLL_S)
    raise AssertionError("the backfill ended before worker 2 finished a task")


def test_killed_worker_the_job_finishes_with_the_same_results(  # type: ignore[no-untyped-def]
        spark, cluster: Cluster, cluster_backfill: Path, reference, tmp_path: Path) -> None:
    worker = cluster.worker_dir(2)
    before = {p.name for p in worker.glob("app-*")}
    log = tmp_path / "backfill.log"
    proc = jobs.start(jobs.kldrift_argv(
        cluster, "backfill", "--config", cluster_backfill / "monitors.yaml", "--monitor",
        "payments", "--start", WINDOWS[0], "--end", day(BACKFILL[1]), "--batch", "2"), log)
    try:
        _wait_for_finished_task(_new_app_dir(worker, before, proc), proc)
        pid = cluster.pid("worker.Worker", 2)
        os.kill(pid, signal.SIGKILL)
        assert proc.wait(timeout=jobs.JOB_TIMEOUT_S) == 0, jobs.tail(log.read_text())
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        cluster.script("up")  # worker 2 back for the next tests
    output = log.read_text()
    assert "Lost executor" in output, "the driver never saw the executor go: no fault happened"
    found = jobs.drift_rows(spark, cluster_backfill)  # asserts no duplicated key
    jobs.assert_same(found, reference, jobs.keys_of("payments", COLUMNS, WINDOWS))
    audit = _audit(spark, cluster_backfill)
    assert not audit.problems and not audit.pending


def test_killed_driver_leaves_whole_windows_and_a_rerun_completes(  # type: ignore[no-untyped-def]
        spark, cluster: Cluster, crash_place: Path, reference, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from kl_udfs import cli
    from kl_udfs.core.config import load_config
    from kl_udfs.core.contract import PROCESS_GONE
    from kl_udfs.jobs import runner
    from kl_udfs.spark.tables import RUNS, read_table

    tables = crash_place / "monitoring"
    argv = jobs.kldrift_argv(cluster, "backfill", "--config", crash_place / "monitors.yaml",
                             "--monitor", "payments", "--start", CRASHED[0],
                             "--end", day(CRASH[1]), "--batch", "1")
    log = tmp_path / "killed.log"
    proc = jobs.start(argv, log)
    try:
        # Kill between a batch's two commits: its profiles are in, its drift_results are not,
        # with at least one earlier batch committed in full (commit 0 creates each table).
        while proc.poll() is None:
            drift = jobs.commits(tables / "drift_results")
            if drift >= 2 and jobs.commits(tables / "profiles") > drift:
                os.killpg(proc.pid, signal.SIGKILL)
                break
            time.sleep(POLL_S)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL, "the backfill ended before it could be killed"

    audit = _audit(spark, crash_place)
    assert not audit.problems, audit.summary()
    whole = [k[0] for k in audit.whole]
    assert whole and whole == CRASHED[:len(whole)] and len(whole) < len(CRASHED), whole
    assert [k[0] for k in audit.pending] == [CRASHED[len(whole)]], audit.summary()
    found = jobs.drift_rows(spark, crash_place)
    assert {k[2] for k in found} == set(whole)  # nothing of the killed batch is visible
    assert cli.main(["check", "--config", str(crash_place / "monitors.yaml"),
                     "--monitor", "payments"]) == 0
    assert "1 pending, 0 problems" in capsys.readouterr().out
    jobs.assert_same(found, reference, jobs.keys_of("payments", COLUMNS, whole))

    # The same backfill again (in this process: where it runs does not matter to the tables).
    runner.backfill(spark, load_config(crash_place / "monitors.yaml"), "payments", CRASHED[0],
                    day(CRASH[1]))
    audit = _audit(spark, crash_place)
    assert not audit.problems and not audit.pending, audit.summary()
    assert [k[0] for k in audit.whole] == CRASHED
    found = jobs.drift_rows(spark, crash_place)
    assert len(found) == len(COLUMNS) * len(CRASHED)
    jobs.assert_same(found, reference, jobs.keys_of("payments", COLUMNS, CRASHED))
    runs = read_table(spark, str(tables), RUNS).where("operation = 'backfill'").collect()
    # One per batch before the kill, the rerun's, and the killed batch's `running` row, which
    # the rerun marked failed (its driver's pid on this host is gone).
    gone = [r for r in runs if r["status"] == "failed"]
    assert len(runs) == len(whole) + 2 and len(gone) == 1, runs
    assert gone[0]["error"] == PROCESS_GONE
    assert all(r["status"] == "succeeded" for r in runs if r["run_id"] != gone[0]["run_id"])
