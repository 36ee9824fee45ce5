"""Example Airflow DAG: retraining scheduled on a monitor's drift asset.

It only records the request (who asked, for which windows and columns), one JSON file each
in <monitoring.path>/retraining_requests/; a real one would start the training pipeline.
The monitor is $KLDRIFT_RETRAIN_MONITOR, by default the demo's card_transactions.
"""

import os

from kl_udfs.airflow.retraining import retraining_dag
from kl_udfs.core import environment

dag = retraining_dag(os.environ.get(environment.RETRAIN_MONITOR, "card_transactions"))
