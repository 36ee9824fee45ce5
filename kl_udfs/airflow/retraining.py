"""The example retraining DAG: triggered by a monitor's drift asset, it records the request
(on local disk or object storage, beside the monitoring tables)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from kl_udfs.airflow.dags import config_file, default_args, drift_asset_uri, load_monitors
from kl_udfs.core.config import Config
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.storage import ObjectStorage, is_object_store

REQUESTS_FOLDER = "retraining_requests"


def record_request(config: Config, monitor: str, events: list[dict[str, Any]]) -> str:
    """Write one JSON file per request under <monitoring.path>/retraining_requests/ (object
    storage has no append) and return its location."""
    from pyarrow import fs

    root = config.monitoring.path.rstrip("/")
    on_object_store = is_object_store(root)
    if on_object_store:
        storage = config.object_storage() or ObjectStorage()
        filesystem, folder = storage.pyarrow_filesystem(), root.split("://", 1)[1]
    else:
        filesystem, folder = fs.LocalFileSystem(), root
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{folder}/{REQUESTS_FOLDER}/{stamp}-{monitor}-{uuid.uuid4().hex[:8]}.json"
    filesystem.create_dir(f"{folder}/{REQUESTS_FOLDER}", recursive=True)
    with filesystem.open_output_stream(name) as out:
        out.write(json.dumps({"monitor": monitor, "events": events}, default=str).encode())
    return f"{root.split('://', 1)[0]}://{name}" if on_object_store else name


def retraining_dag(monitor: str) -> Any:
    from airflow.sdk import DAG, Asset, task

    config_path = config_file()
    _, config = load_monitors(config_path)
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
            if config is None:
                raise KlDriftError(f"{config_path}: no valid monitor to record requests for")
            return record_request(config, monitor, events)

        request()
    return dag
