"""Airflow: the generated DAGs, the task that runs a job, alerts and retraining triggers."""
