"""A real Spark standalone cluster for these tests, and the data they run on.

One master and two one-core workers on 127.0.0.1, started once per session by
`infra/cluster.sh up` in a state dir of their own (`<cache>/cluster-tests`, so a developer's
`make cluster-up` cluster is left alone) and stopped by PID at the end. Jobs reach it the way a
user's would: `kldrift --master spark://...`, `infra/submit.sh` from a clean shell, Airflow.
The reference results come from the same code on the in-process `local[2]` session.

`payments` is the demo's card monitor (same generator, columns and thresholds) on 2,000 rows
a day; `payments_core` is a second monitor of the same table.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cluster import jobs
from tests.conftest import FAST_JVM, free_port
from tests.orchestration.conftest import airflow_db  # noqa: F401 (the Airflow home fixture)

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 1, 1)
DAYS, DRIFT_DAY, ROWS_PER_DAY = 40, 36, 2000
COLUMNS = ["amount", "channel", "merchant_category", "country", "hour", "is_fraud"]
CORE_COLUMNS = ["amount", "channel"]


def day(n: int) -> datetime:
    return START + timedelta(days=n)


BACKFILL = (33, 37)  # days [33, 37): three clean windows, then the drift starts (day 36)
CRASH = (33, 36)  # the backfill whose driver is killed
CONCURRENT = [30, 31, 32, 37]  # `payments` windows submitted at once with one `payments_core`
CORE_DAY = 36
AIRFLOW_DAY = 38
REFERENCE = (30, 39)  # every `payments` window any test computes
ONE_EXECUTOR_CONFIG = "one-executor.yaml"  # the cluster place's tables, one executor a job

CONFIG = """
monitoring:
  path: ./monitoring
monitors:
  - name: payments
    table: {table}
    timestamp_column: event_time
    window: 1 day
    baseline: {{start: 2026-01-01, end: 2026-01-31}}
    columns: {columns}
    column_thresholds: {{amount: {{kl: 0.05}}}}
  - name: payments_core
    table: {table}
    timestamp_column: event_time
    window: 1 day
    baseline: {{start: 2026-01-01, end: 2026-01-31}}
    columns: {core}
spark:
  conf:
    spark.sql.shuffle.partitions: "4"
    spark.executor.extraJavaOptions: "{jvm}"{extra}
"""
ONE_EXECUTOR = "\n    spark.cores.max: \"1\""


def write_config(place: Path, table: Path, name: str = "monitors.yaml",
                 one_executor: bool = False) -> Path:
    path = place / name
    path.write_text(CONFIG.format(table=table, columns=COLUMNS, core=CORE_COLUMNS,
                                  jvm=FAST_JVM, extra=ONE_EXECUTOR if one_executor else ""))
    return path


@dataclass(frozen=True)
class Cluster:
    master: str
    ui: str
    state_dir: Path
    env: dict[str, str]  # for infra/cluster.sh

    def pid(self, daemon: str, instance: int) -> int:
        return int((self.state_dir / "pids" /
                    f"spark-kldrift-org.apache.spark.deploy.{daemon}-{instance}.pid").read_text())

    def completed_apps(self) -> dict[str, str]:
        """{application id: name} of what the master has seen finish (its JSON status page)."""
        with urllib.request.urlopen(f"{self.ui}/json/", timeout=10) as response:
            return {app["id"]: app["name"] for app in json.load(response)["completedapps"]}

    def worker_dir(self, instance: int) -> Path:
        return self.state_dir / "work" / f"worker-{instance}"

    def script(self, action: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["bash", str(ROOT / "infra" / "cluster.sh"), action], env=self.env,
                              capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            logs = "".join(f"\n--- {log.name}\n" + "\n".join(log.read_text().splitlines()[-15:])
                           for log in sorted((self.state_dir / "logs").glob("*.out")))
            raise AssertionError(f"cluster.sh {action}: {done.stdout}{done.stderr}{logs}")
        return done


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    from kl_udfs.core.cache import cache_dir

    state = cache_dir() / "cluster-tests"
    env = {**os.environ, **jobs.spark_env(), "KLDRIFT_CLUSTER_DIR": str(state),
           # 7077 as documented, unless another cluster on this machine holds it already.
           "KLDRIFT_CLUSTER_PORT": "7077" if _free(7077) else str(free_port()),
           "KLDRIFT_CLUSTER_UI_PORT": str(free_port()), "KLDRIFT_CLUSTER_WORKERS": "2",
           "KLDRIFT_WORKER_CORES": "1", "KLDRIFT_WORKER_MEMORY": "1280m",
           # Daemons start slowly on a loaded 2-core machine (the other test worker runs too).
           "KLDRIFT_CLUSTER_TIMEOUT": "400"}
    handle = Cluster("", "", state, env)
    try:
        handle.script("up")
        values = dict(line.split("=", 1) for line in
                      (state / "cluster.env").read_text().splitlines() if "=" in line)
        yield Cluster(values["KLDRIFT_SPARK_MASTER"], values["KLDRIFT_CLUSTER_UI"], state, env)
    finally:
        handle.script("down")


@pytest.fixture(scope="session")
def lake(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The card table, and one folder per run place: local/, cluster/ (monitors.yaml each)."""
    from kl_udfs.demo import data
    from kl_udfs.demo.tables import write_delta

    root = tmp_path_factory.mktemp("cluster-lake")
    table = root / "raw" / "cards"
    write_delta(spark, data.card_transactions(days=DAYS, rows_per_day=ROWS_PER_DAY,
                                              drift_day=DRIFT_DAY), table)
    for place in ("local", "cluster", "crash"):
        (root / place).mkdir()
        # Two executors where a test needs them (the equality run, the killed worker), one
        # elsewhere: five concurrent jobs then queue for the two one-core workers.
        write_config(root / place, table, one_executor=place == "crash")
    write_config(root / "cluster", table, ONE_EXECUTOR_CONFIG, one_executor=True)
    return root


@pytest.fixture(scope="session")
def reference(spark: Any, lake: Path) -> dict[tuple[str, str, datetime], dict[str, Any]]:
    """Every window any test computes, by the same code on the local[2] session."""
    from kl_udfs.core.config import load_config
    from kl_udfs.core.windows import Window
    from kl_udfs.jobs import runner

    config = load_config(lake / "local" / "monitors.yaml")
    for monitor in ("payments", "payments_core"):
        runner.build_baseline(spark, config, monitor)
    runner.backfill(spark, config, "payments", day(REFERENCE[0]), day(REFERENCE[1]))
    runner.compute_windows(spark, config, "payments_core", [Window(day(CORE_DAY),
                                                                   day(CORE_DAY + 1))])
    return jobs.drift_rows(spark, lake / "local")


@pytest.fixture(scope="session")
def cluster_backfill(request: pytest.FixtureRequest, spark: Any, cluster: Cluster,
                     lake: Path) -> Path:
    """`payments`' baseline and a backfill, both run on the cluster; the lake's cluster/ dir.

    The local reference is computed meanwhile (in this process), as the two share no table.
    `payments_core`'s baseline is then built locally into the cluster's tables: the
    concurrency test needs it and it is not what is being tested.
    """
    from kl_udfs.core.config import load_config
    from kl_udfs.jobs import runner

    place = lake / "cluster"
    config = place / "monitors.yaml"

    def on_the_cluster() -> None:
        jobs.kldrift(cluster, "baseline", "--config", config, "--monitor", "payments")
        jobs.kldrift(cluster, "backfill", "--config", config, "--monitor", "payments",
                     "--start", day(BACKFILL[0]), "--end", day(BACKFILL[1]))

    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(on_the_cluster)
        request.getfixturevalue("reference")
        running.result()
    runner.build_baseline(spark, load_config(config), "payments_core")
    return place


@pytest.fixture(scope="session")
def crash_place(cluster_backfill: Path, lake: Path) -> Path:
    """A fresh monitoring dir holding only the cluster-built baselines."""
    place = lake / "crash"
    shutil.copytree(cluster_backfill / "monitoring" / "baselines",
                    place / "monitoring" / "baselines")
    return place
