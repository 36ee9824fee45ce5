"""`kldrift demo --airflow`: the demo run by Airflow itself, on SQLite in the project's cache.

Per monitor, `airflow dags test` runs the baseline DAG, the backfill DAG over the demo range
(one Spark pass), then the scheduled drift DAG for the last window (quality gate, drift,
alert), exactly the DAGs a deployment runs. Each task is a spark-submit of a jobs/ script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from kl_udfs.core import environment
from kl_udfs.core.cache import cache_dir
from kl_udfs.core.errors import KlDriftError
from kl_udfs.demo.run import RANGES, report_demo, write_demo

CHECKOUT = Path(__file__).resolve().parents[2]


def airflow_env(config_path: Path, master: str | None) -> dict[str, str]:
    """An Airflow home on SQLite inside the cache, the project's DAGs, a local Spark master."""
    home = cache_dir() / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    venv_bin = str(Path(sys.executable).parent)
    env = os.environ.copy()
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(CHECKOUT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark",
                                                  "host": master or "local[*]"}),
        environment.CONFIG: str(config_path.resolve()),
        environment.CACHE: str(cache_dir()),
        "PYSPARK_PYTHON": env.get("PYSPARK_PYTHON", sys.executable),
        "PATH": f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",  # spark-submit of the venv
    })
    return env


def _airflow(env: dict[str, str], *args: str) -> None:
    command = [str(Path(sys.executable).parent / "airflow"), *args]
    print("$ airflow " + " ".join(args), flush=True)
    began = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    failed = done.returncode != 0  # `dags test` exits non-zero when the run failed
    print(f"  {'FAILED' if failed else 'ok'} in {time.monotonic() - began:.0f} s", flush=True)
    if failed:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-30:])
        raise KlDriftError(f"`airflow {' '.join(args[:3])}` failed:\n{tail}")


def run_demo_via_airflow(directory: Path, scale: float = 1.0, master: str | None = None) -> int:
    began = time.monotonic()
    spark, config = write_demo(directory, scale, master)
    env = airflow_env(directory / "monitors.yaml", master)
    _airflow(env, "db", "migrate")
    for name, (start, end) in RANGES.items():
        cadence = config.monitor(name).cadence
        _airflow(env, "dags", "test", f"kldrift_baseline__{name}", _iso(start))
        _airflow(env, "dags", "test", f"kldrift_backfill__{name}", _iso(start), "-c",
                 json.dumps({"start": _iso(start), "end": _iso(cadence.shift(end, -1)),
                             "batch": 100}))
        # The scheduled DAG for the last window: its data interval ends at the logical date.
        _airflow(env, "dags", "test", f"kldrift_drift__{name}", _iso(end))
    return report_demo(spark, config, began)


def _iso(instant: datetime) -> str:
    return instant.isoformat()
