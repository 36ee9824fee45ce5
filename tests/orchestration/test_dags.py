"""The generated DAGs, parsed by a real DagBag and run by Airflow itself (dag.test)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pyspark.sql import functions as F

from tests.conftest import free_port
from tests.orchestration.conftest import CONFIG, LAKE, ROOT

pytestmark = pytest.mark.spark

DAYS, DRIFT_DAY = 40, 36
START = datetime(2026, 1, 1)
# Clean, dirty (nulls injected into `amount`: the quality gate fails), drifting. One window
# of each kind in three consecutive DAG runs: every DAG run costs two spark-submits.
DATES = [START + timedelta(days=d) for d in (34, 35, 36)]
CLEAN_DATE, DIRTY_DATE, DRIFT_DATE = DATES
COLUMNS = ["amount", "channel", "merchant_category", "country", "hour", "is_fraud"]

CONFIG_TEXT = f"""
monitoring:
  path: ./monitoring
spark:
  conf: {{spark.sql.shuffle.partitions: "4"}}   # small test tables: fewer, cheaper tasks
monitors:
  - name: cards
    table: ./raw/cards
    timestamp_column: event_time
    window: 1 day
    baseline: {{start: 2026-01-01, end: 2026-01-31}}
    columns: {COLUMNS}
    column_thresholds: {{amount: {{kl: 0.05}}}}
    quality:
      not_null: [amount, channel]
  - name: ghost
    table: ./raw/does_not_exist
    timestamp_column: ts
    baseline: {{start: 2026-01-01, end: 2026-01-31}}
  - name: broken
    table: ./raw/cards
    timestamp_column: event_time
    window: 1 month
    baseline: {{start: 2026-01-01, end: 2026-01-31}}
"""


class _Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Webhook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def webhook(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    server = HTTPServer(("127.0.0.1", 0), _Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch_module.setenv("KLDRIFT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/")
    yield _Webhook.received
    server.shutdown()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def lake(spark, airflow_db):  # type: ignore[no-untyped-def]
    from kl_udfs import runner
    from kl_udfs.airflow_dags import load_monitors
    from kl_udfs.demo import data
    from kl_udfs.demo.tables import _utc, write_delta

    LAKE.mkdir(parents=True, exist_ok=True)
    CONFIG.write_text(CONFIG_TEXT)
    table = data.card_transactions(days=DAYS, rows_per_day=2000, drift_day=DRIFT_DAY)
    write_delta(spark, table, LAKE / "raw" / "cards")
    dirty = spark.createDataFrame(_utc(table).to_pandas()).where(
        (F.col("event_time") >= DIRTY_DATE) & (F.col("event_time") < DIRTY_DATE + timedelta(1))
    ).limit(300).withColumn("amount", F.lit(None).cast("double"))
    dirty.write.format("delta").mode("append").save(str(LAKE / "raw" / "cards"))
    _, config = load_monitors(CONFIG)  # the whole file has a broken monitor on purpose
    assert config is not None
    runner.build_baseline(spark, config, "cards")
    # Serialize every DAG now, as a DAG processor would, so the retraining DAG is a known
    # consumer of the drift asset when the first drift event arrives.
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "dags", "reserialize"],
                   check=True, capture_output=True, env=os.environ.copy())
    return config


def _dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def _results(spark, config):  # type: ignore[no-untyped-def]
    from kl_udfs.tables import DRIFT_RESULTS, read_table

    return read_table(spark, config.monitoring.path, DRIFT_RESULTS)


def _run(dag, window_start: datetime):  # type: ignore[no-untyped-def]
    """One DAG run whose data interval is the day starting at `window_start`."""
    run = dag.test(logical_date=(window_start + timedelta(days=1)).replace(tzinfo=UTC))
    assert run.data_interval_start == window_start.replace(tzinfo=UTC)
    return run


def test_dagbag_imports_every_dag_even_with_broken_monitors(lake) -> None:  # type: ignore[no-untyped-def]
    bag = _dagbag()
    assert bag.import_errors == {}
    assert {"kldrift_drift__cards", "kldrift_baseline__cards", "kldrift_drift__ghost",
            "kldrift_drift__broken", "kldrift_baseline__broken",
            "retrain_cards"} <= set(bag.dag_ids)
    broken = bag.get_dag("kldrift_drift__broken")
    assert [t.task_id for t in broken.tasks] == ["config_error"]
    assert "1 month" in broken.doc_md


def test_drift_dag_structure(lake) -> None:  # type: ignore[no-untyped-def]
    from airflow.sdk import CronDataIntervalTimetable

    dag = _dagbag().get_dag("kldrift_drift__cards")
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable.expression == "0 0 * * *"
    assert dag.get_task("quality_gate").downstream_task_ids == {"compute_drift", "alert"}
    assert dag.get_task("compute_drift").downstream_task_ids == {"alert"}
    assert dag.get_task("alert").upstream_task_ids == {"quality_gate", "compute_drift"}
    assert dag.get_task("compute_drift").retries >= 2
    assert dag.get_task("compute_drift").trigger_rule == "all_done"
    assert "kl-drift" in dag.tags and "cards" in (dag.doc_md or "")
    outlets = dag.get_task("alert").outlets
    assert [o.uri for o in outlets] == ["kldrift://cards/drift"]


def test_three_windows_through_airflow(spark, lake, webhook) -> None:  # type: ignore[no-untyped-def]
    """A clean, a dirty and a drifting window: one row per (column, window), the gate's
    failure shown on the run and on the rows, and one alert, for the drifting window only."""
    from kl_udfs.tables import QUALITY_RESULTS, read_table

    dag = _dagbag().get_dag("kldrift_drift__cards")
    states = {day: _run(dag, day).state for day in DATES}
    # The dirty window's gate task is red, so its run shows it; drift still ran.
    assert states == {CLEAN_DATE: "success", DIRTY_DATE: "failed", DRIFT_DATE: "success"}
    rows = _results(spark, lake).collect()
    assert len(rows) == len(COLUMNS) * len(DATES)
    assert {(r["column_name"], r["window_start"]) for r in rows} == {
        (c, d) for c in COLUMNS for d in DATES}
    status = {(r["column_name"], r["window_start"]): r["status"] for r in rows}
    assert {s for (_, d), s in status.items() if d == CLEAN_DATE} == {"ok"}
    assert {s for (_, d), s in status.items() if d == DIRTY_DATE} == {"quality_failed"}
    assert all(r["kl_divergence"] is not None for r in rows)  # drift is still computed
    flagged = {key for key, s in status.items() if s == "drift"}
    assert flagged == {("amount", DRIFT_DATE), ("channel", DRIFT_DATE)}
    quality = read_table(spark, lake.monitoring.path, QUALITY_RESULTS).where(
        F.col("window_start") == DIRTY_DATE).collect()
    assert [q["column_name"] for q in quality if not q["success"]] == ["amount"]

    # One message for the drifting window; none for the clean one, none for the failed gate.
    assert len(webhook) == 1
    message = webhook[0]
    assert message["monitor"] == "cards" and message["window_start"] == DRIFT_DATE.isoformat()
    assert {c["column"] for c in message["columns"]} == {"amount", "channel"}
    assert "channel" in message["text"]


def test_backfill_dag_gives_the_scheduled_runs_values(spark, lake) -> None:  # type: ignore[no-untyped-def]
    """The same three dates run again, through Airflow's backfill DAG: nothing changes."""
    dag = _dagbag().get_dag("kldrift_backfill__cards")
    assert set(dag.params.dump()) == {"start", "end", "batch"}

    def values() -> list[tuple[Any, ...]]:
        return sorted((r["column_name"], r["window_start"], r["kl_divergence"], r["p_value"],
                       r["status"], r["run_id"])
                      for r in _results(spark, lake).where(F.col("window_start").isin(DATES))
                      .collect())

    scheduled = values()
    run = dag.test(run_conf={"start": DATES[0].isoformat(),
                             "end": (DATES[-1] + timedelta(days=1)).isoformat(), "batch": 2})
    assert run.state == "success"
    backfilled = values()
    assert len(backfilled) == len(COLUMNS) * len(DATES)
    assert [r[:5] for r in backfilled] == [r[:5] for r in scheduled]  # same numbers, same rows
    assert {r[5] for r in backfilled}.isdisjoint({r[5] for r in scheduled})  # rewritten by it


def test_missing_table_is_reported_by_the_task(spark, lake) -> None:  # type: ignore[no-untyped-def]
    from kl_udfs.tables import RUNS, read_table

    dag = _dagbag().get_dag("kldrift_drift__ghost")
    run = _run(dag, DATES[0])
    assert run.state == "failed"
    # Bad input fails the same way every time: no retries (compute_drift has retries=2).
    tries = {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances()}
    assert tries["compute_drift"] == ("failed", 1)
    runs = read_table(spark, lake.monitoring.path, RUNS).where(
        F.col("monitor") == "ghost").collect()
    assert runs and all(r["status"] == "failed" for r in runs)
    assert any("does_not_exist" in (r["error"] or "") and "ghost" in (r["error"] or "")
               for r in runs)


def test_asset_event_recorded_for_drift(lake) -> None:  # type: ignore[no-untyped-def]
    from airflow.models.asset import AssetActive, AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = session.scalars(
            select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == "kldrift://cards/drift")).all()
        # Airflow drops the events of an inactive asset (with a log line only): say which.
        active = session.scalars(select(AssetActive.uri)).all()
        known = session.scalars(select(AssetModel.uri)).all()
        sources = [(e.source_dag_id, e.source_task_id) for e in events]
    # emitted by the drifting window's alert task only
    assert len(events) >= 1, f"active assets {active}, known {known}"
    assert set(sources) == {("kldrift_drift__cards", "alert")}


def test_retraining_dag_records_the_request(lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kl_udfs.retraining import REQUESTS_FILE, record_request

    path = record_request(str(tmp_path), "cards", [{"asset": "kldrift://cards/drift"}])
    assert path.name == REQUESTS_FILE
    assert json.loads(path.read_text().splitlines()[0])["monitor"] == "cards"


def _wait_for_http(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while True:
        assert process.poll() is None, "airflow standalone exited"
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            assert time.monotonic() < deadline, f"{url} did not answer in {timeout_s:.0f} s"
            time.sleep(1)


def test_drift_asset_triggers_retraining_through_the_scheduler(lake) -> None:  # type: ignore[no-untyped-def]
    """A real `airflow standalone` (scheduler, API server, DAG processor) picks up the drift
    asset event emitted by the drifting window's alert and runs the retraining DAG."""
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select, update

    from kl_udfs.retraining import REQUESTS_FILE

    requests = Path(lake.monitoring.path) / REQUESTS_FILE
    requests.unlink(missing_ok=True)
    # Only the retraining DAG may run, and only once the API server answers: the scheduler
    # starts first, and a task it launches before the API is up fails to connect.
    with create_session() as session:
        session.execute(update(DagModel).values(is_paused=True))
    port = free_port()
    env = {**os.environ, "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": str(port),
           "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/"}
    log = (Path(os.environ["AIRFLOW_HOME"]) / "standalone.log").open("w")
    airflow = subprocess.Popen([str(Path(sys.executable).parent / "airflow"), "standalone"],
                               env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        _wait_for_http(f"http://127.0.0.1:{port}/api/v2/monitor/health", airflow, 180)
        with create_session() as session:
            session.execute(update(DagModel).where(DagModel.dag_id == "retrain_cards")
                            .values(is_paused=False))
        deadline, state = time.monotonic() + 420, None
        while time.monotonic() < deadline and state not in ("success", "failed"):
            assert airflow.poll() is None, "airflow standalone exited"
            time.sleep(3)
            with create_session() as session:
                runs = session.scalars(select(DagRun).where(DagRun.dag_id == "retrain_cards")).all()
                state = runs[0].state if runs else None
        task_logs = sorted((Path(os.environ["AIRFLOW_HOME"]) / "logs" / "dag_id=retrain_cards")
                           .rglob("*.log"))
        tail = task_logs[-1].read_text()[-2000:] if task_logs else "(no task log)"
        assert state == "success", f"retraining run: {state}; see {log.name}; task log:\n{tail}"
        assert runs[0].run_type == "asset_triggered"
        request = json.loads(requests.read_text().splitlines()[0])
        assert request["monitor"] == "cards"
        assert request["events"], "the run must see the event that triggered it"
        assert all("kldrift://cards/drift" in e["asset"] and e["source_run"]
                   for e in request["events"])
    finally:
        os.killpg(airflow.pid, signal.SIGINT)  # standalone shuts down cleanly on SIGINT only
        try:
            airflow.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(airflow.pid, signal.SIGKILL)
            airflow.wait()
        log.close()
