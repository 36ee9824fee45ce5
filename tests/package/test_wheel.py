"""The built wheel works outside a checkout: installed into a venv of its own, run from an
empty folder, it finds its jobs, ready queries and demo config through the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from dashboards import schema
from kl_udfs.core import contract

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], cwd: Path, timeout: float = 300,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(args, cwd=cwd, env={**base, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(python of a venv holding only the wheel, an empty folder to run it from)."""
    base = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q",
                  "-w", str(base / "dist")], base)
    assert built.returncode == 0, built.stderr
    (wheel,) = (base / "dist").glob("kl_drift-*.whl")
    venv.create(base / "venv", with_pip=False)
    python = base / "venv" / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                   base).stdout.strip()
    # The dependencies come from this interpreter's site-packages, after the venv's own: the
    # wheel's kl_udfs is found first, and the checkout (an editable install here) not at all.
    Path(purelib, "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    installed = _run([sys.executable, "-m", "pip", "--python", str(python), "install",
                      "--no-deps", "-q", str(wheel)], base)
    assert installed.returncode == 0, installed.stderr
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return python, elsewhere


PROBE = """
import json, shutil, sys
from pathlib import Path
import kl_udfs
from kl_udfs.airflow.dags import build_dags
from kl_udfs.demo.run import TEMPLATE
from kl_udfs.sql.queries import ready_queries

config = Path(sys.argv[1]) / "monitors.yaml"
shutil.copy(TEMPLATE, config)
dags = build_dags(config)
print(json.dumps({
    "package": kl_udfs.__file__,
    "applications": sorted({task.application for dag in dags.values() for task in dag.tasks
                            if hasattr(task, "application")}),
    "queries": {name: str(path) for name, path in ready_queries().items()},
    "dags": sorted(dags),
}))
"""


def test_the_wheel_runs_from_its_own_files_outside_the_checkout(
        installed: tuple[Path, Path]) -> None:
    python, elsewhere = installed
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     elsewhere).stdout.strip())
    probe = _run([str(python), "-c", PROBE, str(elsewhere)], elsewhere)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    assert Path(found["package"]).is_relative_to(site)
    assert {Path(a).name for a in found["applications"]} == {
        "compute_drift.py", "build_baseline.py", "check_quality.py", "backfill.py"}
    for path in [*found["applications"], *found["queries"].values()]:
        assert Path(path).is_relative_to(site) and Path(path).is_file(), path
    assert set(found["queries"]) == {p.stem for p in (ROOT / "kl_udfs/sql/ready").glob("*.sql")}
    assert not any(name.startswith("kldrift_broken") for name in found["dags"])
    assert "kldrift_drift__card_transactions" in found["dags"]


def test_the_installed_command_runs_a_ready_query_from_the_package(
        installed: tuple[Path, Path]) -> None:
    python, elsewhere = installed
    kldrift = python.parent / "kldrift"
    version = _run([str(kldrift), "--version"], elsewhere)
    assert version.returncode == 0 and version.stdout.startswith("kldrift "), version.stderr
    template = _run([str(python), "-c", "from kl_udfs.demo.run import TEMPLATE; print(TEMPLATE)"],
                    elsewhere).stdout.strip()
    config = elsewhere / "sql" / "monitors.yaml"  # the demo's, as the package ships it
    config.parent.mkdir()
    config.write_text(Path(template).read_text())
    # one failed run in a `runs` table written with delta-rs, as a job would have left it
    failed = {c.name: None for c in contract.TABLE["runs"].columns}
    failed.update(run_id="r1", monitor="card_transactions", table_name="raw", operation="drift",
                  status="failed", error="column amount is gone",
                  started_at=datetime(2026, 3, 1, tzinfo=UTC))
    write_deltalake(str(config.parent / "monitoring" / "runs"),
                    pa.Table.from_pylist([failed], schema=schema.TABLES["runs"]),
                    partition_by=schema.PARTITIONS["runs"] or None)
    # a real Spark session registers the monitoring tables and runs the shipped query
    done = _run([str(kldrift), "sql", "--ready", "failed_runs", "--config", str(config),
                 "--format", "json"], elsewhere, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(r["run_id"], r["error"]) for r in rows] == [("r1", "column amount is gone")]


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


def test_the_wheel_runs_the_demo_and_a_dag_of_ones_own_with_the_task_group(
        installed: tuple[Path, Path]) -> None:
    """From an empty folder, with only the wheel's kl_udfs: the demo, `kldrift validate`, the
    provider in `airflow providers list`, and `airflow dags test` of a user's DAG that
    imports the task group, which recomputes its window through two spark-submits."""
    from deltalake import DeltaTable

    python, elsewhere = installed
    kldrift = str(python.parent / "kldrift")
    home = elsewhere / "own"
    # Spark's Python workers run the wheel's interpreter too, not this one.
    workers = {"PYSPARK_PYTHON": str(python), "PYSPARK_DRIVER_PYTHON": str(python)}
    demo = _run([kldrift, "demo", "--dir", str(home / "lake"), "--scale", "0.02"], elsewhere,
                timeout=1200, env=workers)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    config = home / "lake" / "monitors.yaml"
    valid = _run([kldrift, "validate", "--config", str(config)], elsewhere)
    assert valid.returncode == 0, valid.stderr
    assert "valid, 2 monitor(s): card_transactions, server_metrics" in valid.stdout

    dags = home / "dags"
    dags.mkdir()
    (dags / "own_pipeline.py").write_text(OWN_DAG)
    spark_bin = Path(sys.executable).parent  # spark-submit, as a Spark image would have it
    env = {**workers, "AIRFLOW_HOME": str(home / "airflow"),
           "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "KLDRIFT_CONFIG": str(config),
           "AIRFLOW_CONN_SPARK_DEFAULT": '{"conn_type": "spark", "host": "local[2]"}',
           "PATH": f"{python.parent}{os.pathsep}{spark_bin}{os.pathsep}{os.environ['PATH']}"}
    airflow = [str(python), "-m", "airflow"]
    migrated = _run([*airflow, "db", "migrate"], elsewhere, env=env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    listed = _run([*airflow, "providers", "list", "-o", "json"], elsewhere, env=env)
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
    tested = _run([*airflow, "dags", "test", "own_pipeline", "2026-03-03"], elsewhere,
                  timeout=900, env=env)
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-3000:]
    after = window_runs()
    assert len(after) == 1 and after.isdisjoint(before)  # the DAG's drift job rewrote it
