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
# `recent` runs on its source table's Asset, so its days are the last ones before today:
# a run computes the complete windows up to now.
TODAY = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
RECENT_START, RECENT_DAYS, RECENT_BASELINE_DAYS = TODAY - timedelta(days=10), 10, 3
RECENT_WINDOWS = [RECENT_START + timedelta(days=d)
                  for d in range(RECENT_BASELINE_DAYS, RECENT_DAYS)]

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
    window: 1 fortnight
    baseline: {{start: 2026-01-01, end: 2026-01-31}}
  - name: recent
    table: ./raw/recent
    timestamp_column: event_time
    schedule: source
    catchup: true
    baseline: {{start: {RECENT_START.isoformat()}, end: {RECENT_WINDOWS[0].isoformat()}}}
    columns: [amount, channel]
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
    # The webhook is an Airflow Connection, as a deployment would define it.
    monkeypatch_module.setenv("AIRFLOW_CONN_KLDRIFT_WEBHOOK",
                              f"http://127.0.0.1:{server.server_port}/hooks/kldrift")
    yield _Webhook.received
    server.shutdown()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def lake(spark, airflow_db):  # type: ignore[no-untyped-def]
    from kl_udfs.airflow.dags import load_monitors
    from kl_udfs.core.config import load_config
    from kl_udfs.demo import data
    from kl_udfs.demo.tables import _utc, write_delta
    from kl_udfs.jobs import runner

    LAKE.mkdir(parents=True, exist_ok=True)
    CONFIG.write_text(CONFIG_TEXT)
    table = data.card_transactions(days=DAYS, rows_per_day=2000, drift_day=DRIFT_DAY)
    write_delta(spark, table, LAKE / "raw" / "cards")
    dirty = spark.createDataFrame(_utc(table).to_pandas()).where(
        (F.col("event_time") >= DIRTY_DATE) & (F.col("event_time") < DIRTY_DATE + timedelta(1))
    ).limit(300).withColumn("amount", F.lit(None).cast("double"))
    dirty.write.format("delta").mode("append").save(str(LAKE / "raw" / "cards"))
    recent = data.card_transactions(days=RECENT_DAYS, rows_per_day=300, start=RECENT_START,
                                    drift_day=RECENT_DAYS)
    write_delta(spark, recent, LAKE / "raw" / "recent")
    _, config = load_monitors(CONFIG)  # the whole file has a broken monitor on purpose
    assert config is not None
    runner.build_baseline(spark, config, "cards")
    runner.build_baseline(spark, load_config(CONFIG, "recent"), "recent")
    # Serialize every DAG now, as a DAG processor would, so the retraining DAG is a known
    # consumer of the drift asset when the first drift event arrives.
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "dags", "reserialize"],
                   check=True, capture_output=True, env=os.environ.copy())
    return config


def _dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def _results(spark, config):  # type: ignore[no-untyped-def]
    from kl_udfs.spark.tables import DRIFT_RESULTS, read_table

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
            "retrain_cards", "example_task_group__cards", "kldrift_drift__recent",
            "example_source_pipeline__recent"} <= set(bag.dag_ids)
    broken = bag.get_dag("kldrift_drift__broken")
    assert [t.task_id for t in broken.tasks] == ["config_error"]
    assert "1 fortnight" in broken.doc_md


@pytest.mark.parametrize("text", [None, "monitors: [name: {broken", "just a string"],
                         ids=["missing file", "malformed YAML", "no monitors mapping"])
def test_a_broken_config_file_still_imports(text: str | None, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A config that cannot be read at all still gives a DAG file that imports: its one
    task fails with the error, naming the file, instead of an import error in Airflow."""
    config = tmp_path / "monitors.yaml"
    if text is not None:
        config.write_text(text)
    monkeypatch.setenv("KLDRIFT_CONFIG", str(config))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "kldrift_monitors.py"))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {f"kldrift_{kind}__config"
                                for kind in ("drift", "baseline", "backfill")}
    dag = bag.dags["kldrift_drift__config"]
    assert [t.task_id for t in dag.tasks] == ["config_error"]
    assert str(config.resolve()) in (dag.doc_md or "")


def test_a_monitor_with_several_problems_shows_them_one_a_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "monitors.yaml"
    config.write_text("monitors:\n  - name: typo\n    table: ./t\n    timestamp_colum: ts\n"
                      "    baseline: {version: 1}\n")
    monkeypatch.setenv("KLDRIFT_CONFIG", str(config))
    from airflow.dag_processing.dagbag import DagBag

    from kl_udfs.core.errors import KlDriftError

    dag = DagBag(dag_folder=str(ROOT / "dags" / "kldrift_monitors.py")).dags["kldrift_drift__typo"]
    unknown = "monitor 'typo': monitors.0.timestamp_colum: unknown key, did you mean"
    assert f"\n      {unknown}" in (dag.doc_md or "")  # inside the doc's code block
    with pytest.raises(KlDriftError) as caught:
        dag.get_task("config_error").python_callable()
    head, *problems = str(caught.value).splitlines()
    assert head.endswith("invalid config, 2 problems:")
    assert len(problems) == 2 and any(line.strip().startswith(unknown) for line in problems)


def test_a_hundred_monitors_load_with_no_import_errors(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The config bench/dag_parse.py --monitors 100 times (docs/bench/dag_parse_100.md), loaded
    here and by that command (whose times are not checked: a busy machine is slower)."""
    from airflow.dag_processing.dagbag import DagBag

    from bench.dag_parse import write_config

    command = [sys.executable, str(ROOT / "bench" / "dag_parse.py"), "--monitors", "100",
               "--repeat", "1", "--file", "kldrift_monitors.py"]
    bench = subprocess.run(command, check=True, capture_output=True, text=True,
                           env=os.environ.copy(), cwd=ROOT).stdout
    counts = {line.split()[0]: line.split()[1:3] for line in bench.splitlines()[1:]}
    assert counts["kldrift_monitors.py"] == ["300", "0"], bench  # DAGs, import errors

    monkeypatch.setenv("KLDRIFT_CONFIG", str(write_config(100, tmp_path)))
    bag = DagBag(dag_folder=str(ROOT / "dags" / "kldrift_monitors.py"))
    assert bag.import_errors == {}
    names = [f"{demo}_{i:03d}" for i, demo in zip(
        range(100), ["card_transactions", "server_metrics"] * 50, strict=True)]
    assert set(bag.dag_ids) == {f"kldrift_{kind}__{name}" for name in names
                                for kind in ("drift", "baseline", "backfill")}
    assert all(len(bag.dags[f"kldrift_drift__{name}"].tasks) > 1 for name in names)  # none broken


def test_parsing_the_dag_files_imports_nothing_heavy(lake) -> None:  # type: ignore[no-untyped-def]
    """A DAG processor parses these files over and over: no Spark, numpy, pandas or GX."""
    probe = (
        "import sys, json, airflow.sdk\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "before = set(sys.modules)\n"
        f"bag = DagBag(dag_folder={str(ROOT / 'dags')!r})\n"
        "heavy = ('numpy', 'scipy', 'pandas', 'pyarrow', 'pyspark', 'great_expectations',"
        " 'deltalake')\n"
        "new = sorted(m for m in set(sys.modules) - before if m.split('.')[0] in heavy)\n"
        "print(json.dumps({'dags': len(bag.dag_ids), 'errors': len(bag.import_errors),"
        " 'heavy': new}))\n")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True, env=os.environ.copy()).stdout.strip().splitlines()[-1]
    parsed = json.loads(out)
    assert parsed["errors"] == 0 and parsed["dags"] >= 10
    assert parsed["heavy"] == []


@pytest.mark.parametrize("catchup", [True, False])
def test_catchup_comes_from_the_monitor(catchup: bool, tmp_path: Path) -> None:
    from kl_udfs.airflow.dags import build_dags

    config = tmp_path / "monitors.yaml"
    setting = f"    catchup: {str(catchup).lower()}\n"
    config.write_text(CONFIG_TEXT.replace("    window: 1 day\n", "    window: 1 day\n" + setting))
    assert build_dags(config)["kldrift_drift__cards"].catchup is catchup


def test_a_monthly_monitor_runs_on_calendar_months(tmp_path: Path) -> None:
    from airflow.sdk import CronDataIntervalTimetable

    from kl_udfs.airflow.dags import build_dags

    config = tmp_path / "monitors.yaml"
    config.write_text(CONFIG_TEXT.replace("    window: 1 day\n", "    window: 1 month\n"))
    dags = build_dags(config)
    timetable = dags["kldrift_drift__cards"].timetable
    assert isinstance(timetable, CronDataIntervalTimetable)
    assert timetable.expression == "0 0 1 * *"
    # The backfill's default range: the seven whole months after the baseline (ends 01-31).
    params = dags["kldrift_backfill__cards"].params.dump()
    assert (params["start"], params["end"]) == ("2026-02-01T00:00:00", "2026-09-01T00:00:00")


def test_drift_dag_structure(lake) -> None:  # type: ignore[no-untyped-def]
    from airflow.sdk import CronDataIntervalTimetable

    dag = _dagbag().get_dag("kldrift_drift__cards")
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable.expression == "0 0 * * *"
    assert dag.get_task("quality_gate").downstream_task_ids == {"compute_drift", "alert"}
    assert dag.get_task("compute_drift").downstream_task_ids == {"alert"}
    assert dag.get_task("alert").upstream_task_ids == {"quality_gate", "compute_drift"}
    assert all(dag.get_task(t).retries >= 2 for t in ("quality_gate", "compute_drift", "alert"))
    assert dag.get_task("compute_drift").trigger_rule == "all_done"
    assert dag.catchup is False  # the default; a monitor's `catchup: true` turns it on
    assert "kl-drift" in dag.tags and "cards" in (dag.doc_md or "")
    outlets = dag.get_task("alert").outlets
    assert [o.uri for o in outlets] == ["kldrift://cards/drift"]


def _values(spark, config) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    return sorted((r["column_name"], r["window_start"], r["kl_divergence"], r["p_value"],
                   r["status"], r["run_id"])
                  for r in _results(spark, config).where(F.col("window_start").isin(DATES))
                  .collect())


def test_three_windows_through_airflow(spark, lake, webhook) -> None:  # type: ignore[no-untyped-def]
    """A clean, a dirty and a drifting window: one row per (column, window), the gate's
    failure shown on the run and on the rows, and one alert, for the drifting window only.
    Running a window's DAG again changes nothing but the run that wrote its rows."""
    from kl_udfs.spark.tables import QUALITY_RESULTS, read_table

    dag = _dagbag().get_dag("kldrift_drift__cards")
    runs = {day: _run(dag, day) for day in DATES}
    # The dirty window's gate task is red, so its run shows it; drift still ran.
    assert {day: run.state for day, run in runs.items()} == {
        CLEAN_DATE: "success", DIRTY_DATE: "failed", DRIFT_DATE: "success"}
    # A failed gate fails again on the same data: red on the first try, not retried.
    gate = {ti.task_id: (ti.state, ti.try_number) for ti in runs[DIRTY_DATE].get_task_instances()}
    assert gate["quality_gate"] == ("failed", 1)
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

    # One drift message, for the drifting window; the failed gate's failure message.
    drifts = [m for m in webhook if m["kind"] == "drift"]
    failures = [m for m in webhook if m["kind"] == "failure"]
    assert len(drifts) == 1 and len(webhook) == 2
    assert [(f["monitor"], f["task_id"], f["window_start"]) for f in failures] == [
        ("cards", "quality_gate", DIRTY_DATE.replace(tzinfo=UTC).isoformat())]
    assert "the quality gate failed" in failures[0]["error"]
    message = drifts[0]
    assert message["monitor"] == "cards" and message["window_start"] == DRIFT_DATE.isoformat()
    assert message["window_end"] == (DRIFT_DATE + timedelta(days=1)).isoformat()
    assert {c["column"] for c in message["columns"]} == {"amount", "channel"}
    assert "channel" in message["text"]
    # Each drifted column carries the stored figures and the bins that drove it, largest KL first.
    stored = {r["column_name"]: r for r in rows if r["window_start"] == DRIFT_DATE}
    assert [c["kl_divergence"] for c in message["columns"]] == sorted(
        (c["kl_divergence"] for c in message["columns"]), reverse=True)
    for column in message["columns"]:
        row = stored[column["column"]]
        assert column["kl_divergence"] == row["kl_divergence"] > column["threshold"]
        assert column["p_value"] == row["p_value"] < 0.01
        top = column["top_contributors"]
        assert 1 <= len(top) <= 3
        assert top[0]["bin"] == row["top_contributors"][0]["bin"]
        assert all(0 <= t["baseline_fraction"] <= 1 and 0 <= t["current_fraction"] <= 1
                   for t in top)

    # The clean window once more, through the same DAG: same rows and numbers, no message.
    before = _values(spark, lake)
    assert _run(dag, CLEAN_DATE).state == "success"
    after = _values(spark, lake)
    assert [r[:5] for r in after] == [r[:5] for r in before]
    rewritten = {r[5] for r in after if r[1] == CLEAN_DATE}
    assert len(rewritten) == 1 and rewritten.isdisjoint({r[5] for r in before})
    assert len(webhook) == 2


def test_backfill_dag_gives_the_scheduled_runs_values(spark, lake) -> None:  # type: ignore[no-untyped-def]
    """The same three dates run again, through Airflow's backfill DAG: nothing changes."""
    dag = _dagbag().get_dag("kldrift_backfill__cards")
    assert set(dag.params.dump()) == {"start", "end", "batch"}

    scheduled = _values(spark, lake)
    run = dag.test(run_conf={"start": DATES[0].isoformat(),
                             "end": (DATES[-1] + timedelta(days=1)).isoformat(), "batch": 2})
    assert run.state == "success"
    backfilled = _values(spark, lake)
    assert len(backfilled) == len(COLUMNS) * len(DATES)
    assert [r[:5] for r in backfilled] == [r[:5] for r in scheduled]  # same numbers, same rows
    assert {r[5] for r in backfilled}.isdisjoint({r[5] for r in scheduled})  # rewritten by it


def test_drift_task_group_in_a_dag_of_ones_own(spark, lake) -> None:  # type: ignore[no-untyped-def]
    """dags/example_task_group.py, a user's own DAG: their task, then kl-drift's task group on
    the monitor's schedule, run by Airflow: the window's rows are written and the group's
    tasks ran in order."""
    from airflow.sdk import CronDataIntervalTimetable

    dag = _dagbag().get_dag("example_task_group__cards")
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.get_task("load").downstream_task_ids == {"kldrift_cards.quality_gate"}
    window = START + timedelta(days=33)
    run = _run(dag, window)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"load": "success", "kldrift_cards.quality_gate": "success",
                      "kldrift_cards.compute_drift": "success", "kldrift_cards.alert": "skipped"}
    rows = _results(spark, lake).where(F.col("window_start") == window).collect()
    assert sorted(r["column_name"] for r in rows) == sorted(COLUMNS)
    assert {r["status"] for r in rows} == {"ok"}


def test_a_task_group_for_an_unknown_monitor_names_the_known_ones() -> None:
    from kl_udfs.airflow.task_group import drift_task_group
    from kl_udfs.core.errors import KlDriftError

    with pytest.raises(KlDriftError, match=r"no monitor 'nope' \(monitors: cards, ghost, recent\)"):
        drift_task_group("nope", CONFIG)


def test_missing_table_is_reported_by_the_task(spark, lake, webhook) -> None:  # type: ignore[no-untyped-def]
    from kl_udfs.spark.tables import RUNS, read_table

    dag = _dagbag().get_dag("kldrift_drift__ghost")
    seen = len(webhook)
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
    # Each failed task posted its failure once, saying it was bad input (so not retried).
    posted = webhook[seen:]
    assert sorted((m["kind"], m["monitor"], m["task_id"]) for m in posted) == [
        ("failure", "ghost", "compute_drift"), ("failure", "ghost", "quality_gate")]
    assert all(m["error"].startswith("bad input, not retried") for m in posted), posted


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
        extras = [e.extra for e in events]
    # emitted by the drifting window's alert task only
    assert len(events) >= 1, f"active assets {active}, known {known}"
    assert set(sources) == {("kldrift_drift__cards", "alert")}
    # carrying the window and the drifted columns with their figures
    for extra in extras:
        assert extra["monitor"] == "cards" and extra["window_start"] == DRIFT_DATE.isoformat()
        assert {c["column"] for c in extra["columns"]} == {"amount", "channel"}
        assert all(c["fired_rules"] and c["reason"] and c["psi"] > 0 for c in extra["columns"])


def test_retraining_dag_records_the_request(lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kl_udfs.airflow.retraining import REQUESTS_FOLDER, record_request

    config = lake.model_copy(update={"monitoring": lake.monitoring.model_copy(
        update={"path": str(tmp_path)})})
    first = record_request(config, "cards", [{"asset": "kldrift://cards/drift"}])
    second = record_request(config, "cards", [])
    assert Path(first).parent == tmp_path / REQUESTS_FOLDER and first != second
    assert json.loads(Path(first).read_text()) == {
        "monitor": "cards", "events": [{"asset": "kldrift://cards/drift"}]}


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


@pytest.fixture(scope="module")
def scheduler(lake) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """A real `airflow standalone` (scheduler, API server, DAG processor, LocalExecutor) on
    127.0.0.1, with every DAG paused: each test unpauses the ones it needs."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    # Nothing may run before the API server answers: the scheduler starts first, and a task
    # it launches before the API is up fails to connect.
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
        yield
    finally:
        os.killpg(airflow.pid, signal.SIGINT)  # standalone shuts down cleanly on SIGINT only
        try:
            airflow.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(airflow.pid, signal.SIGKILL)
            airflow.wait()
        log.close()


def _unpause(dag_id: str) -> None:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=False))


def _wait_for_runs(dag_id: str, run_type: str | None, count: int,
                   timeout_s: float) -> list[Any]:
    """The DAG's runs (of that type, or all), once at least `count` exist and all have
    finished, or the time is up."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    query = select(DagRun).where(DagRun.dag_id == dag_id)
    if run_type:
        query = query.where(DagRun.run_type == run_type)
    deadline = time.monotonic() + timeout_s
    while True:
        with create_session() as session:
            runs = list(session.scalars(query).all())
            session.expunge_all()
        finished = all(r.state in ("success", "failed") for r in runs)
        if (len(runs) >= count and finished) or time.monotonic() > deadline:
            return runs
        time.sleep(3)


def _airflow_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """An `airflow` command beside the running scheduler. On SQLite (WAL mode), a command
    whose transaction read before the scheduler's last commit is refused at once with
    "database is locked", however long the busy timeout: it rolled back, so try it again."""
    for _ in range(6):
        done = subprocess.run([str(Path(sys.executable).parent / "airflow"), *args],
                              capture_output=True, text=True, env=os.environ.copy())
        if done.returncode == 0 or "database is locked" not in done.stderr:
            return done
        time.sleep(3)
    return done


def _task_log_tail(dag_id: str) -> str:
    logs = sorted((Path(os.environ["AIRFLOW_HOME"]) / "logs" / f"dag_id={dag_id}").rglob("*.log"))
    return logs[-1].read_text()[-2000:] if logs else "(no task log)"


def test_drift_asset_triggers_retraining_through_the_scheduler(lake, scheduler) -> None:  # type: ignore[no-untyped-def]
    """The scheduler picks up the drift asset event emitted by the drifting window's alert
    and runs the retraining DAG."""
    from kl_udfs.airflow.retraining import REQUESTS_FOLDER

    folder = Path(lake.monitoring.path) / REQUESTS_FOLDER
    before = set(folder.glob("*.json"))
    _unpause("retrain_cards")
    runs = _wait_for_runs("retrain_cards", "asset_triggered", 1, 420)
    state = runs[0].state if runs else None
    assert state == "success", f"retraining run {state}:\n{_task_log_tail('retrain_cards')}"
    written = sorted(set(folder.glob("*.json")) - before)
    assert written, f"no request in {folder}"
    request = json.loads(written[0].read_text())
    assert request["monitor"] == "cards"
    assert request["events"], "the run must see the event that triggered it"
    assert all("kldrift://cards/drift" in e["asset"] and e["source_run"]
               for e in request["events"])
    # What drifted reaches the consumer in the event itself.
    assert all({c["column"] for c in e["extra"]["columns"]} == {"amount", "channel"}
               for e in request["events"])


def test_airflow_backfill_gives_one_row_per_column_per_window(spark, lake, scheduler) -> None:  # type: ignore[no-untyped-def]
    """`airflow backfill create` over two logical dates: the scheduler runs one drift DAG run
    per window (gate, drift, alert), and each column gets exactly one row per window."""
    dag_id = "kldrift_drift__cards"
    # A backfill's dates are logical dates, which on a CronDataIntervalTimetable are the
    # windows' starts: these two give the windows of days 31 and 32.
    windows = [START + timedelta(days=d) for d in (31, 32)]
    _unpause(dag_id)
    created = _airflow_cli("backfill", "create", "--dag-id", dag_id,
                           "--from-date", windows[0].date().isoformat(),
                           "--to-date", windows[-1].date().isoformat())
    assert created.returncode == 0, created.stderr[-2000:]
    runs = _wait_for_runs(dag_id, "backfill", len(windows), 600)
    assert sorted((r.data_interval_start, r.state) for r in runs) == [
        (w.replace(tzinfo=UTC), "success") for w in windows], _task_log_tail(dag_id)
    rows = _results(spark, lake).where(F.col("window_start").isin(windows)).collect()
    assert sorted((r["column_name"], r["window_start"]) for r in rows) == sorted(
        (c, w) for c in COLUMNS for w in windows)
    assert {r["status"] for r in rows} == {"ok"}
    # Unpausing also lets the scheduler start the latest interval's run: let every run finish
    # before the scheduler stops, so no spark-submit outlives the test.
    _wait_for_runs(dag_id, None, 0, 300)


def test_a_source_scheduled_monitor_runs_after_each_load_of_its_table(
        spark, lake, scheduler) -> None:  # type: ignore[no-untyped-def]
    """`schedule: source`: the loading pipeline's outlet (the table's Asset) makes the scheduler
    run the drift DAG, which computes every complete window not computed yet (all seven since
    the baseline, with catchup), each gated; after the next load it finds nothing to do."""
    from airflow.sdk import Asset

    drift_id, load_id = "kldrift_drift__recent", "example_source_pipeline__recent"
    dag = _dagbag().get_dag(drift_id)
    table = (LAKE / "raw" / "recent").resolve().as_uri()
    assert dag.timetable.asset_condition == Asset(table)
    assert dag.get_task("pending_windows").downstream_task_ids == {"quality_gate"}
    assert dag.max_active_runs == 1  # each run takes every pending window
    _unpause(drift_id)
    _unpause(load_id)
    for load in (1, 2):
        triggered = _airflow_cli("dags", "trigger", load_id)
        assert triggered.returncode == 0, triggered.stderr[-2000:]
        runs = _wait_for_runs(drift_id, "asset_triggered", load, 600)
        assert [r.state for r in runs] == ["success"] * load, _task_log_tail(drift_id)
        rows = _results(spark, lake).where(F.col("monitor") == "recent").collect()
        # one row per column per window, the second load adding none
        assert sorted((r["column_name"], r["window_start"]) for r in rows) == sorted(
            (c, w) for c in ("amount", "channel") for w in RECENT_WINDOWS)
        assert {r["status"] for r in rows} == {"ok"}
    from kl_udfs.spark.tables import QUALITY_RESULTS, read_table

    gated = read_table(spark, lake.monitoring.path, QUALITY_RESULTS).where(
        F.col("monitor") == "recent").select("window_start").distinct().collect()
    assert sorted(r["window_start"] for r in gated) == RECENT_WINDOWS  # window by window
