"""The drift DAG, unchanged, runs a window on the cluster: only the Spark connection differs."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from tests.cluster import jobs
from tests.cluster.conftest import (
    AIRFLOW_DAY,
    COLUMNS,
    ONE_EXECUTOR_CONFIG,
    ROOT,
    Cluster,
    day,
)

pytestmark = pytest.mark.spark


def test_drift_dag_runs_one_window_through_spark_submit_on_the_cluster(  # type: ignore[no-untyped-def]
        spark, cluster: Cluster, cluster_backfill: Path, reference, airflow_db,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from pyspark.sql import functions as F

    from kl_udfs.core import environment
    from kl_udfs.core.config import load_config
    from kl_udfs.spark.tables import RUNS, read_table

    host, port = cluster.master.rsplit(":", 1)
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps(
        {"conn_type": "spark", "host": host, "port": int(port)}))
    monkeypatch.setenv("KLDRIFT_CONFIG", str(cluster_backfill / ONE_EXECUTOR_CONFIG))
    monkeypatch.delenv("AIRFLOW_CONN_KLDRIFT_WEBHOOK", raising=False)  # no alerts here
    # the Airflow tests' monitors, which this config does not have
    for example in (environment.EXAMPLE_MONITOR, environment.EXAMPLE_SOURCE_MONITOR):
        monkeypatch.delenv(example, raising=False)
    for name, value in jobs.spark_env().items():
        monkeypatch.setenv(name, value)

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    dag = bag.get_dag("kldrift_drift__payments")
    window = day(AIRFLOW_DAY)
    before = cluster.completed_apps()
    run = dag.test(logical_date=(window + timedelta(days=1)).replace(tzinfo=UTC))
    assert run.state == "success"
    # Both Spark tasks ran as applications of this cluster (the names come from the DAG).
    ran = {name for app, name in cluster.completed_apps().items() if app not in before}
    assert {"kldrift-quality_gate-payments", "kldrift-compute_drift-payments"} <= ran, ran

    found = jobs.drift_rows(spark, cluster_backfill)
    jobs.assert_same(found, reference, jobs.keys_of("payments", COLUMNS, [window]))
    config = load_config(cluster_backfill / "monitors.yaml")
    runs = read_table(spark, config.monitoring.path, RUNS).where(
        (F.col("window_start") == window) & (F.col("monitor") == "payments")).collect()
    assert {r["operation"] for r in runs} >= {"quality", "run"}
    assert {found[("payments", c, window)]["run_id"] for c in COLUMNS} <= {
        r["run_id"] for r in runs if r["operation"] == "run"}
