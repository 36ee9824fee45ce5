"""Example Airflow DAG: retraining scheduled on the card_transactions monitor's drift asset.

It only records the request (who asked, for which windows and columns) in
<monitoring.path>/retraining_requests.jsonl; a real one would start the training pipeline.
"""

from kl_udfs.retraining import retraining_dag

dag = retraining_dag("card_transactions")
