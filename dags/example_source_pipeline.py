"""Example Airflow DAG: a pipeline that loads a monitored table and announces it.

Its load task declares the table's Asset as an outlet, so a monitor with `schedule: source`
runs its drift DAG after each load, for every window that has become complete. Defined only
when $KLDRIFT_EXAMPLE_SOURCE_MONITOR names such a monitor of $KLDRIFT_CONFIG.
"""

import os
from datetime import datetime

from airflow.sdk import DAG, task

from kl_udfs.airflow.task_group import source_asset
from kl_udfs.core import environment

MONITOR = os.environ.get(environment.EXAMPLE_SOURCE_MONITOR)

if MONITOR:
    with DAG(f"example_source_pipeline__{MONITOR}", schedule=None,
             start_date=datetime(2026, 1, 1), catchup=False,
             tags=["kl-drift", "example"], doc_md=__doc__) as dag:
        @task(outlets=[source_asset(MONITOR)])
        def load() -> str:
            """Stands for the pipeline's write to the table (an append, a MERGE)."""
            return "loaded"

        load()
