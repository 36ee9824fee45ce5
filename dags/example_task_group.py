"""Example Airflow DAG of one's own with kl-drift's task group: a load step, then the drift tasks.

Defined only when $KLDRIFT_EXAMPLE_MONITOR names a monitor of $KLDRIFT_CONFIG, so a deployment
that copies this folder gets no DAG (and no import error) from it until it asks for one.
"""

import os
from datetime import datetime

from airflow.sdk import DAG, task

from kl_udfs.airflow.task_group import drift_task_group, monitor_schedule
from kl_udfs.core import environment

MONITOR = os.environ.get(environment.EXAMPLE_MONITOR)

if MONITOR:
    with DAG(f"example_task_group__{MONITOR}", schedule=monitor_schedule(MONITOR),
             start_date=datetime(2026, 1, 1), catchup=False,
             tags=["kl-drift", "example"], doc_md=__doc__) as dag:
        @task
        def load() -> str:
            """Stands for the pipeline's own work before the window is checked."""
            return "loaded"

        load() >> drift_task_group(MONITOR)
