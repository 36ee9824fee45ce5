"""What Airflow learns of kl-drift through the `apache_airflow_provider` entry point.

`airflow providers list` shows the package and `airflow providers notifications` its
notifier; the operator and the task group are imported from their modules as usual.
"""

from __future__ import annotations

from typing import Any

import kl_udfs


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "kl-drift",
        "name": "kl-drift",
        "description": "Batch data-drift monitoring of Delta tables: the quality gate, drift "
                       "job and alert as a task group, a submit operator and a webhook "
                       "notifier.",
        "versions": [kl_udfs.__version__],
        "operators": [{"integration-name": "kl-drift",
                       "python-modules": ["kl_udfs.airflow.operators"]}],
        "notifications": ["kl_udfs.airflow.notify.KlDriftWebhookNotifier"],
    }
