"""kl-drift DAGs: one drift DAG and one baseline DAG per monitor in $KLDRIFT_CONFIG."""

from kl_udfs.airflow.dags import build_dags

globals().update(build_dags())
