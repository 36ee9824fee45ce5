"""The example retraining DAG: triggered by a monitor's drift asset, it records the request."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from kl_udfs.airflow.dags import config_file, default_args, drift_asset_uri, load_monitors

REQUESTS_FILE = "retraining_requests.jsonl"


def record_request(monitoring_path: str, monitor: str, events: list[dict[str, Any]]) -> Path:
    """Append one JSON line per request; returns the file."""
    path = Path(monitoring_path) / REQUESTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as out:
        out.write(json.dumps({"monitor": monitor, "events": events}, default=str) + "\n")
    return path


def retraining_dag(monitor: str) -> Any:
    from airflow.sdk import DAG, Asset, task

    config_path = config_file()
    _, config = load_monitors(config_path)
    monitoring = config.monitoring.path if config else str(config_path.parent / "monitoring")
    with DAG(dag_id=f"retrain_{monitor}", schedule=[Asset(drift_asset_uri(monitor))],
             start_date=datetime(2026, 1, 1), catchup=False,
             # retried: right after a (re)start the scheduler can run it before the API is up
             default_args=default_args(),
             tags=["kl-drift", "example", "retraining"], doc_md=__doc__) as dag:
        @task(task_id="record_retraining_request")
        def request(triggering_asset_events: Any = None) -> str:
            events = [
                {"asset": str(asset), "extra": event.extra, "source_run": event.source_run_id}
                for asset, asset_events in (triggering_asset_events or {}).items()
                for event in asset_events
            ]
            return str(record_request(monitoring, monitor, events))

        request()
    return dag
