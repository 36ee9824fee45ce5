"""`kldrift demo`: generate both demo tables, baseline them, backfill, and check the verdicts."""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from kl_udfs.core.config import Config, load_config
from kl_udfs.core.contract import DRIFT
from kl_udfs.demo import data
from kl_udfs.demo.tables import write_delta
from kl_udfs.jobs import runner
from kl_udfs.spark import report
from kl_udfs.spark.session import get_spark
from kl_udfs.spark.tables import DRIFT_RESULTS, read_table
from kl_udfs.sql import reads

TEMPLATE = Path(__file__).with_name("monitors.yaml")
CARD_RANGE = (datetime(2026, 1, 31), datetime(2026, 4, 1))  # days 30..89, after the baseline
SERVER_RANGE = (data.INCIDENT.baseline[1],
                data.INCIDENT.start + timedelta(hours=data.INCIDENT.hours))
RANGES = {"card_transactions": CARD_RANGE, "server_metrics": SERVER_RANGE}


def _expected(config: Config) -> set[tuple[str, str, datetime]]:
    card = {("card_transactions", c, w) for c in data.DRIFT.columns for w in data.DRIFT.windows}
    server = {("server_metrics", c, w) for c in data.INCIDENT.columns
              for w in data.INCIDENT.windows}
    return card | server


def write_demo(directory: Path, scale: float = 1.0,
               master: str | None = None) -> tuple[SparkSession, Config]:
    """The demo config and both raw Delta tables (monitoring tables are left alone)."""
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "monitors.yaml"
    if not config_path.exists():
        shutil.copy(TEMPLATE, config_path)
    config = load_config(config_path)
    spark = get_spark(master)
    tables = {
        "card_transactions": lambda: data.card_transactions(rows_per_day=int(100_000 * scale)),
        "server_metrics": lambda: data.server_metrics(rows_per_hour=max(60, int(3600 * scale))),
    }
    for name, make in tables.items():
        print(f"writing demo table {name} ...", flush=True)
        write_delta(spark, make(), config.monitor(name).table)
    return spark, config


def report_demo(spark: SparkSession, config: Config, began: float) -> int:
    """Print the status tables and compare the drift flags with the demo's ground truth."""
    print("\nLatest window per column:")
    print(reads.status_table(config))
    print("\nDrift over the backfill:")
    print(report.drift_summary(spark, config))

    flagged = {
        (r["monitor"], r["column_name"], r["window_start"])
        for r in read_table(spark, config.monitoring.path, DRIFT_RESULTS)
        .where(F.col("status") == DRIFT).select("monitor", "column_name", "window_start")
        .collect()
    }
    expected = _expected(config)
    missed, extra = expected - flagged, flagged - expected
    print(f"\nexpected drift flagged: {len(expected) - len(missed)}/{len(expected)} "
          f"(column, window) pairs; unexpected drift flags: {len(extra)}; "
          f"{time.monotonic() - began:.0f} s")
    for monitor, column, window in sorted(extra)[:10]:
        print(f"  unexpected: {monitor}.{column} at {window}")
    for monitor, column, window in sorted(missed)[:10]:
        print(f"  missed: {monitor}.{column} at {window}")
    # A monitor that cries wolf fails as surely as one that misses drift.
    return 0 if not missed and not extra else 1


def run_demo(directory: Path, scale: float = 1.0, master: str | None = None) -> int:
    """The whole demo in this process: tables, baselines, one backfill per monitor, verdict."""
    began = time.monotonic()
    spark, config = write_demo(directory, scale, master)
    for name, (start, end) in RANGES.items():
        identifier = runner.build_baseline(spark, config, name)
        print(f"{name}: baseline {identifier}; backfilling [{start}, {end})", flush=True)
        runner.backfill(spark, config, name, start, end, batch_windows=100)
    return report_demo(spark, config, began)
