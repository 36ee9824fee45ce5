"""The built wheel, a way to run commands outside the checkout, and the end-to-end run that
every installed venv must pass (tests/package/test_wheel.py, test_lower_bounds.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], cwd: Path, timeout: float = 300,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`args` in `cwd` with this environment minus the checkout on PYTHONPATH, the active venv
    and Airflow's settings (tests/orchestration/conftest.py sets its own home at import)."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("AIRFLOW")}
    return subprocess.run(args, cwd=cwd, env={**base, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout, check=False)


def site_packages(python: Path) -> Path:
    """The purelib folder of the venv that `python` belongs to."""
    return Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                    python.parent).stdout.strip())


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout built into a wheel, once per session."""
    dist = tmp_path_factory.mktemp("dist")
    built = run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q",
                 "-w", str(dist)], dist)
    assert built.returncode == 0, built.stderr
    (found,) = dist.glob("kl_drift-*.whl")
    return found


OWN_DAG = """
from datetime import datetime

from airflow.sdk import DAG, task

from kl_udfs.airflow.task_group import drift_task_group, monitor_schedule

with DAG("own_pipeline", schedule=monitor_schedule("card_transactions"),
         start_date=datetime(2026, 1, 1), catchup=False):
    @task
    def load() -> str:
        return "loaded"

    load() >> drift_task_group("card_transactions")
"""


def check_demo_and_own_dag(python: Path, elsewhere: Path) -> None:
    """From an empty folder, with the venv of `python`: `kldrift --version`, the demo,
    `kldrift validate`, the provider in `airflow providers list`, and `airflow dags test` of a
    user's DAG that imports the task group, which recomputes its window through two
    spark-submits."""
    from deltalake import DeltaTable

    kldrift = str(python.parent / "kldrift")
    version = run([kldrift, "--version"], elsewhere)
    assert version.returncode == 0 and version.stdout.startswith("kldrift "), version.stderr
    home = elsewhere / "own"
    # Spark's Python workers run the venv's interpreter too, not this one.
    workers = {"PYSPARK_PYTHON": str(python), "PYSPARK_DRIVER_PYTHON": str(python)}
    demo = run([kldrift, "demo", "--dir", str(home / "lake"), "--scale", "0.02"], elsewhere,
               timeout=1200, env=workers)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    config = home / "lake" / "monitors.yaml"
    valid = run([kldrift, "validate", "--config", str(config)], elsewhere)
    assert valid.returncode == 0, valid.stderr
    assert "valid, 2 monitor(s): card_transactions, server_metrics" in valid.stdout

    dags = home / "dags"
    dags.mkdir()
    (dags / "own_pipeline.py").write_text(OWN_DAG)
    # spark-submit: the venv's own if it installed pyspark, else this one's (as a Spark image
    # would have it on PATH)
    spark_bin = Path(sys.executable).parent
    env = {**workers, "AIRFLOW_HOME": str(home / "airflow"),
           "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "KLDRIFT_CONFIG": str(config),
           "AIRFLOW_CONN_SPARK_DEFAULT": '{"conn_type": "spark", "host": "local[2]"}',
           "PATH": f"{python.parent}{os.pathsep}{spark_bin}{os.pathsep}{os.environ['PATH']}"}
    airflow = [str(python), "-m", "airflow"]
    migrated = run([*airflow, "db", "migrate"], elsewhere, env=env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    listed = run([*airflow, "providers", "list", "-o", "json"], elsewhere, env=env)
    assert listed.returncode == 0, listed.stderr[-3000:]
    providers = json.loads(listed.stdout[listed.stdout.index("["):])
    assert any(p["package_name"] == "kl-drift" for p in providers)

    drift = f"{home / 'lake' / 'monitoring'}/drift_results"
    window = datetime(2026, 3, 2, tzinfo=UTC)

    def window_runs() -> set[str]:
        rows = DeltaTable(drift).to_pyarrow_table(
            filters=[("monitor", "=", "card_transactions")]).to_pylist()
        return {r["run_id"] for r in rows if r["window_start"] == window}

    before = window_runs()
    tested = run([*airflow, "dags", "test", "own_pipeline", "2026-03-03"], elsewhere,
                 timeout=900, env=env)
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-3000:]
    after = window_runs()
    assert len(after) == 1 and after.isdisjoint(before)  # the DAG's drift job rewrote it
