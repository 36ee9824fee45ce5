"""spark-submit from a clean shell, five jobs at once: all land, nothing conflicts or repeats."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster import jobs
from tests.cluster.conftest import (
    COLUMNS,
    CONCURRENT,
    CORE_COLUMNS,
    CORE_DAY,
    ONE_EXECUTOR_CONFIG,
    ROOT,
    Cluster,
    day,
)

pytestmark = pytest.mark.spark

PROBE = Path(__file__).with_name("probe_package.py")
# One core each (the config says so too), so two applications run at a time and the rest
# wait for a free executor.
SHARED = ["--conf", "spark.cores.max=1", "--conf", "spark.driver.memory=512m",
          "--driver-java-options", jobs.FAST_JVM]


@pytest.fixture(scope="module")
def submitted(cluster: Cluster, cluster_backfill: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Five drift jobs and the package probe, all submitted at the same moment."""
    logs = tmp_path_factory.mktemp("submit-logs")
    config = cluster_backfill / ONE_EXECUTOR_CONFIG
    windows = [("payments", n) for n in CONCURRENT] + [("payments_core", CORE_DAY)]
    procs = {}
    for monitor, n in windows:
        argv = jobs.clean_submit_argv(
            cluster, ROOT / "jobs" / "compute_drift.py", "--config", config, "--monitor",
            monitor, "--start", day(n), "--end", day(n + 1), options=SHARED)
        procs[(monitor, n)] = jobs.start(argv, logs / f"{monitor}-{n}.log", env={})
    # The probe asks for 3 shuffle partitions, where kl-drift's default is 16.
    probe = jobs.start(jobs.clean_submit_argv(
        cluster, PROBE, options=[*SHARED, "--conf", "spark.sql.shuffle.partitions=3"]),
        logs / "probe.log", env={})
    try:
        codes = {key: proc.wait(timeout=jobs.JOB_TIMEOUT_S) for key, proc in procs.items()}
        probe.wait(timeout=jobs.JOB_TIMEOUT_S)
    finally:
        for proc in [*procs.values(), probe]:
            if proc.poll() is None:
                proc.kill()
    yield {"codes": codes, "logs": logs, "probe": probe.returncode}


def test_the_package_travels_with_a_clean_shell_submit(submitted: dict[str, Any]) -> None:
    output = (submitted["logs"] / "probe.log").read_text()
    assert submitted["probe"] == 0, jobs.tail(output)
    origin = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
    # Not the checkout (the venv's editable install would find it here): the shipped zip.
    assert ".zip/kl_udfs/" in origin["driver"], origin
    assert origin["executors"] and all(".zip/kl_udfs/" in o for o in origin["executors"]), origin
    # kl-drift's session settings fill in (Delta) but do not override what was submitted.
    assert origin["shuffle_partitions"] == "3" and "Delta" in origin["delta"], origin


def test_concurrent_windows_of_two_monitors_all_land(  # type: ignore[no-untyped-def]
        spark, submitted: dict[str, Any], cluster_backfill: Path, reference) -> None:
    from pyspark.sql import functions as F

    from kl_udfs.core.config import load_config
    from kl_udfs.spark.integrity import audit_windows
    from kl_udfs.spark.tables import RUNS, read_table

    for (monitor, n), code in submitted["codes"].items():
        log = submitted["logs"] / f"{monitor}-{n}.log"
        assert code == 0, f"{monitor} day {n}:\n{jobs.tail(log.read_text())}"
    found = jobs.drift_rows(spark, cluster_backfill)  # no duplicated key
    expected = jobs.keys_of("payments", COLUMNS, [day(n) for n in CONCURRENT]) | \
        jobs.keys_of("payments_core", CORE_COLUMNS, [day(CORE_DAY)])
    jobs.assert_same(found, reference, expected)
    config = load_config(cluster_backfill / ONE_EXECUTOR_CONFIG)
    for monitor in ("payments", "payments_core"):
        audit = audit_windows(spark, config, monitor)
        assert not audit.problems and not audit.pending, audit.summary()
    runs = read_table(spark, config.monitoring.path, RUNS).where(
        F.col("operation") == "run").collect()
    landed = {(r["monitor"], r["window_start"]) for r in runs if r["status"] == "succeeded"}
    assert {(m, day(n)) for m, n in submitted["codes"]} <= landed
