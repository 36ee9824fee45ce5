"""Airflow on SQLite in a temp home, set up before anything imports airflow."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOME = Path(tempfile.mkdtemp(prefix="kldrift-airflow-"))
LAKE = HOME / "lake"
CONFIG = LAKE / "monitors.yaml"
VENV_BIN = str(Path(sys.executable).parent)

os.environ.update({
    "AIRFLOW_HOME": str(HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    # The scheduler, the DAG processor, the API server and a test's own `airflow` commands
    # write to one SQLite file: wait for its write lock longer than the driver's default 5 s
    # (a stale read snapshot still fails at once: test_dags retries those commands).
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME / 'airflow.db'}?timeout=120",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    "AIRFLOW_CONN_SPARK_DEFAULT": '{"conn_type": "spark", "host": "local[2]"}',
    "KLDRIFT_CONFIG": str(CONFIG),
    "KLDRIFT_RETRY_DELAY_S": "1",
    "KLDRIFT_RETRAIN_MONITOR": "cards",
    "KLDRIFT_EXAMPLE_MONITOR": "cards",  # dags/example_task_group.py
    "KLDRIFT_EXAMPLE_SOURCE_MONITOR": "recent",  # dags/example_source_pipeline.py
    # The retraining DAG must be live before the first drift event, or nothing is queued.
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
    "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",  # spark-submit from the venv
})


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    subprocess.run([str(Path(VENV_BIN) / "airflow"), "db", "migrate"], check=True,
                   capture_output=True, env=os.environ.copy())
    return HOME
