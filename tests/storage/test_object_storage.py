"""Source and monitoring tables on S3: a real S3 server (moto) on 127.0.0.1, Spark through
s3a, and every JVM-free reader (status, alert, dashboard) through delta-rs, all configured by
the monitors config's `storage` section alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.dashboard.conftest import CHROMIUM, running_dashboard, screenshot

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
    snapshot = load_snapshot(source_from_config(config_file))
    assert snapshot.versions["drift_results"] is not None
    assert sorted(snapshot.results["column_name"]) == ["amount", "channel", "country"]


def _drifting_columns_in_chromium(url: str) -> set[str]:
    """The columns the overview marks as drifting for `cards`, read by Debian's Chromium.
    Run in a thread of its own: Playwright's sync API refuses a thread whose asyncio loop
    is running, which an earlier test in the same worker (Airflow's) may leave behind."""
    from playwright.sync_api import sync_playwright

    found: dict[str, Any] = {}

    def look() -> None:
        try:
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
                page = chromium.new_page(viewport={"width": 1400, "height": 900})
                page.set_default_timeout(30_000)
                page.goto(url)
                card = page.locator('section[data-monitor="cards"]')
                card.locator(".heatmaplayer image").wait_for()
                rows = card.locator("tr[data-status=drift]")
                found["columns"] = {rows.nth(i).get_attribute("data-column")
                                    for i in range(rows.count())}
                screenshot(page, "dashboard-s3.png")
                chromium.close()
        except BaseException as error:  # re-raised in the test's thread
            found["error"] = error

    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    if "error" in found:
        raise found["error"]
    return set(found["columns"])


def test_the_dashboard_in_chromium_shows_the_drift_read_from_s3(
        written: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run 'bash infra/bootstrap.sh --browser'")
    for name, value in KEYS.items():  # the dashboard process reads them from its environment
        monkeypatch.setenv(name, value)
    with running_dashboard(["--config", written]) as url:
        assert _drifting_columns_in_chromium(url) == {"amount", "channel"}
