"""Source and monitoring tables on S3: a real S3 server (moto) on 127.0.0.1, Spark through
s3a, and every JVM-free reader (status, alert, dashboard) through delta-rs, all configured by
the monitors config's `storage` section alone."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.dashboard.conftest import CHROMIUM, drifting_columns_in_chromium, running_dashboard

pytestmark = pytest.mark.spark

KLDRIFT = str(Path(sys.executable).parent / "kldrift")
BUCKET = "lake"
KEYS = {"AWS_ACCESS_KEY_ID": "kldrift-test", "AWS_SECRET_ACCESS_KEY": "kldrift-test-secret"}
START = datetime(2026, 1, 1)
DAYS, DRIFT_DAY = 12, 10
DRIFT_WINDOW = START + timedelta(days=DRIFT_DAY)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """moto's S3 server, with one bucket."""
    import boto3

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                               "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", **{
        "aws_access_key_id": KEYS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": KEYS["AWS_SECRET_ACCESS_KEY"]})
    deadline = time.monotonic() + 60
    while True:
        try:
            client.create_bucket(Bucket=BUCKET)
            break
        except Exception:  # not listening yet
            assert server.poll() is None and time.monotonic() < deadline, "moto did not start"
            time.sleep(0.5)
    yield url
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def lake(endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A card table on S3 (written by delta-rs) and a config pointing at the bucket."""
    from deltalake import write_deltalake

    from kl_udfs.demo import data
    from kl_udfs.demo.tables import _utc

    table = data.card_transactions(days=DAYS, rows_per_day=1500, drift_day=DRIFT_DAY)
    write_deltalake(f"s3://{BUCKET}/raw/cards", _utc(table), storage_options={
        "AWS_ENDPOINT_URL": endpoint, "AWS_ALLOW_HTTP": "true", "AWS_REGION": "us-east-1",
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true", **KEYS})  # one writer: no lock needed
    folder = tmp_path_factory.mktemp("s3-config")
    (folder / "monitors.yaml").write_text(f"""
storage:
  endpoint: {endpoint}
  region: us-east-1
monitoring:
  path: s3://{BUCKET}/monitoring
spark:
  conf: {{spark.sql.shuffle.partitions: "4"}}
monitors:
  - name: cards
    table: s3://{BUCKET}/raw/cards
    timestamp_column: event_time
    baseline: {{start: 2026-01-01, end: 2026-01-08}}
    columns: [amount, channel, country]
""")
    return folder


def _kldrift(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KLDRIFT, *args], capture_output=True, text=True,
                          env={**os.environ, **KEYS}, timeout=900)


@pytest.fixture(scope="module")
def written(lake: Path) -> str:
    """The baseline and the drifting window, by the `kldrift` command (Spark through s3a)."""
    config_file = str(lake / "monitors.yaml")
    baseline = _kldrift("baseline", "--config", config_file, "--monitor", "cards")
    assert baseline.returncode == 0, baseline.stderr[-3000:]
    day = DRIFT_WINDOW.date()
    run = _kldrift("run", "--config", config_file, "--monitor", "cards",
                   "--start", day.isoformat(), "--end", (day + timedelta(days=1)).isoformat())
    assert run.returncode == 0, run.stderr[-3000:]
    return config_file


def test_jobs_write_to_s3_and_every_reader_finds_the_rows(
        written: str, endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    from dashboards import queries
    from dashboards.store import load_snapshot, source_from_config
    from kl_udfs.airflow.alerts import drift_message
    from kl_udfs.core.config import load_config
    from kl_udfs.sql.reads import window_rows

    config_file = written

    # The Delta log is in the bucket, not on a local disk.
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=KEYS["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=KEYS["AWS_SECRET_ACCESS_KEY"])
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="monitoring/drift_results/_delta_log/")
    assert any(o["Key"].endswith(".json") for o in listed.get("Contents", []))

    # kldrift status: delta-rs, no JVM, the same endpoint from the same config.
    status = _kldrift("status", "--config", config_file, "--format", "json")
    assert status.returncode == 0, status.stderr[-3000:]
    rows = {r["column"]: r for r in json.loads(status.stdout)}
    assert set(rows) == {"amount", "channel", "country"}
    assert {c for c, r in rows.items() if r["status"] == "drift"} == {"amount", "channel"}
    assert all(r["window_start"] == DRIFT_WINDOW.isoformat() for r in rows.values())

    # Spark SQL over the same tables, with the config's storage settings.
    query = _kldrift("sql", "--ready", "latest_status", "--config", config_file,
                     "--format", "json")
    assert query.returncode == 0, query.stderr[-3000:]
    latest = {r["column_name"]: r["status"] for r in json.loads(query.stdout)}
    assert latest == {column: row["status"] for column, row in rows.items()}

    # The alert task's read, and the dashboard's.
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    config = load_config(config_file)
    window = window_rows(config, "cards", DRIFT_WINDOW, DRIFT_WINDOW + timedelta(days=1))
    message = drift_message("cards", DRIFT_WINDOW, DRIFT_WINDOW + timedelta(days=1), window)
    assert message is not None
    assert {c["column"] for c in message["columns"]} == {"amount", "channel"}
    # The example retraining DAG's request lands beside the tables.
    from kl_udfs.airflow.retraining import REQUESTS_FOLDER, record_request

    events = [{"asset": "kldrift://cards/drift", "columns": ["amount", "channel"]}]
    location = record_request(config, "cards", events)
    assert location.startswith(f"s3://{BUCKET}/monitoring/{REQUESTS_FOLDER}/")
    stored = client.get_object(Bucket=BUCKET, Key=location.split(f"s3://{BUCKET}/", 1)[1])
    assert json.loads(stored["Body"].read()) == {"monitor": "cards", "events": events}
    snapshot = load_snapshot(source_from_config(config_file))
    assert snapshot.versions["drift_results"] is not None
    assert queries.windows(snapshot, "cards") == [DRIFT_WINDOW]
    latest = queries.latest_rows(snapshot, "cards")  # read from s3 through delta-rs
    assert sorted(latest["column_name"]) == ["amount", "channel", "country"]


def test_the_dashboard_in_chromium_shows_the_drift_read_from_s3(
        written: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run 'bash infra/bootstrap.sh --browser'")
    for name, value in KEYS.items():  # the dashboard process reads them from its environment
        monkeypatch.setenv(name, value)
    with running_dashboard(["--config", written]) as url:
        assert drifting_columns_in_chromium(url, "cards", "dashboard-s3.png") == {
            "amount", "channel"}


def test_the_sql_server_serves_the_tables_on_s3_to_beeline(
        written: str, tmp_path: Path) -> None:
    """`kldrift sql-server` on a config whose monitoring path is on S3: the server gets the
    s3a jars and settings, and a JDBC client reads the drift rows through it."""
    from kl_udfs.sql import thrift_server

    port, run_dir = free_port(), tmp_path / "sql-server"
    started = _kldrift("--master", "local[1]", "sql-server", "--config", written,
                       "--port", str(port), "--run-dir", str(run_dir))
    try:
        assert started.returncode == 0, started.stderr[-3000:]
        queried = thrift_server.beeline(
            port, "--outputformat=tsv2", "--showHeader=false", "-e",
            "SELECT column_name, status FROM monitoring.drift_results ORDER BY column_name")
        assert queried.returncode == 0, queried.stdout[-2000:] + queried.stderr[-2000:]
        # beeline echoes its prompt before the first row when no terminal is attached
        lines = [re.sub(r"^\d+: jdbc:hive2://[^>]*> ", "", line)
                 for line in queried.stdout.splitlines()]
        rows = {tuple(line.split("\t")) for line in lines if line.count("\t") == 1}
        assert rows == {("amount", "drift"), ("channel", "drift"), ("country", "ok")}
    finally:
        thrift_server.stop(run_dir)
