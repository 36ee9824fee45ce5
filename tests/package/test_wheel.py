"""The built wheel works outside a checkout: installed into a venv of its own, run from an
empty folder, it finds its jobs, ready queries and demo config through the package."""

from __future__ import annotations

import json
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
from tests.package.conftest import ROOT, check_demo_and_own_dag, run, site_packages


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(python of a venv holding only the wheel, an empty folder to run it from)."""
    base = tmp_path_factory.mktemp("wheel")
    venv.create(base / "venv", with_pip=False)
    python = base / "venv" / "bin" / "python"
    # The dependencies come from this interpreter's site-packages, after the venv's own: the
    # wheel's kl_udfs is found first, and the checkout (an editable install here) not at all.
    (site_packages(python) / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    installed = run([sys.executable, "-m", "pip", "--python", str(python), "install",
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
    site = site_packages(python)
    probe = run([str(python), "-c", PROBE, str(elsewhere)], elsewhere)
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
    template = run([str(python), "-c", "from kl_udfs.demo.run import TEMPLATE; print(TEMPLATE)"],
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
    done = run([str(kldrift), "sql", "--ready", "failed_runs", "--config", str(config),
                "--format", "json"], elsewhere, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(r["run_id"], r["error"]) for r in rows] == [("r1", "column amount is gone")]


def test_the_wheel_runs_the_demo_and_a_dag_of_ones_own_with_the_task_group(
        installed: tuple[Path, Path]) -> None:
    """`kldrift --version`, the demo, `kldrift validate`, `airflow providers list` and
    `airflow dags test` of a DAG with the task group (tests/package/conftest.py)."""
    check_demo_and_own_dag(*installed)
