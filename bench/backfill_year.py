"""A year of hourly windows (8,760) in one backfill of a small table, end to end.

The table holds --rows-per-hour rows in every hour of --days days after two baseline days: a
number and a category. The backfill runs through `kl_udfs.jobs.runner.backfill` (what
`kldrift backfill` calls) in batches of --batch windows, each one pass and one MERGE per
monitoring table, then the script reads `drift_results` and `profiles` back and checks one row
per (window, column), no duplicates, and every row of the table counted once.

    .venv/bin/python -m bench.backfill_year [--days 365] [--batch 744] [--rows-per-hour 4]

The table is printed; docs/bench/backfill_year.md keeps a measured one.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kl_udfs.core.config import Config, parse_config

START = datetime(2026, 1, 1)
BASELINE_DAYS = 2
COLUMNS = ("amount", "channel")
CHANNELS = ("web", "store", "app")


def hourly_rows(days: int, rows_per_hour: int) -> list[tuple[Any, ...]]:
    """The same rows every hour (no drift), spread over the hour; baseline days first."""
    step = 3600 // rows_per_hour
    return [(START + timedelta(hours=h, seconds=i * step), 10.0 + (i * 7 + h) % 23,
             CHANNELS[(i + h) % 3])
            for h in range((BASELINE_DAYS + days) * 24) for i in range(rows_per_hour)]


def year_config(root: Path, table: str) -> Config:
    return parse_config({
        "monitoring": {"path": str(root / "monitoring")},
        "monitors": [{"name": "hourly", "table": table, "timestamp_column": "ts",
                      "window": "1 hour", "bins": 10,
                      "baseline": {"start": START.isoformat(),
                                   "end": (START + timedelta(days=BASELINE_DAYS)).isoformat()}}],
    }, root)


def write_table(spark: Any, root: Path, days: int, rows_per_hour: int) -> str:
    table = str(root / "raw" / "hourly")
    (spark.createDataFrame(hourly_rows(days, rows_per_hour),
                           "ts timestamp, amount double, channel string")
     .write.format("delta").save(table))
    return table


@dataclass(frozen=True)
class Outcome:
    windows: int
    batches: int
    drift_rows: int
    duplicates: int
    missing: int
    rows_counted: int
    rows_expected: int
    baseline_s: float
    backfill_s: float


def run(spark: Any, root: Path, days: int, batch: int, rows_per_hour: int) -> Outcome:
    """Build the table and the baseline, backfill every hour of `days` days, read it all back."""
    from kl_udfs.jobs.runner import backfill, build_baseline
    from kl_udfs.spark.tables import DRIFT_RESULTS, PROFILES, read_table

    table = write_table(spark, root, days, rows_per_hour)
    config = year_config(root, table)
    began = time.perf_counter()
    build_baseline(spark, config, "hourly")
    baseline_s = time.perf_counter() - began
    first = START + timedelta(days=BASELINE_DAYS)
    began = time.perf_counter()
    done = backfill(spark, config, "hourly", first, first + timedelta(days=days), batch)
    backfill_s = time.perf_counter() - began
    windows = sum(len(d.windows) for d in done)
    keys = Counter((r["window_start"], r["column_name"]) for r in read_table(
        spark, config.monitoring.path, DRIFT_RESULTS).select("window_start", "column_name")
        .collect())
    expected = {(first + timedelta(hours=h), c) for h in range(days * 24) for c in COLUMNS}
    counted = read_table(spark, config.monitoring.path, PROFILES).where(
        "column_name = 'amount'").groupBy().sum("count").first()
    return Outcome(windows, len(done), sum(keys.values()),
                   sum(n - 1 for n in keys.values() if n > 1), len(expected - set(keys)),
                   int(counted[0] or 0) if counted else 0, days * 24 * rows_per_hour,
                   baseline_s, backfill_s)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--batch", type=int, default=744, help="windows per pass (31 days)")
    parser.add_argument("--rows-per-hour", type=int, default=4)
    args = parser.parse_args(argv)
    from kl_udfs.spark.session import get_spark

    spark = get_spark("local[2]", {"spark.sql.shuffle.partitions": "4"})  # or the running one
    with tempfile.TemporaryDirectory() as folder:
        outcome = run(spark, Path(folder), args.days, args.batch, args.rows_per_hour)
    load = os.getloadavg()[0]
    print(f"| windows | batches | rows in windows | drift rows | duplicates | missing | rows "
          f"counted | baseline s | backfill s | ms per window | load avg |\n"
          f"|---|---|---|---|---|---|---|---|---|---|---|\n"
          f"| {outcome.windows:,} | {outcome.batches} | {outcome.rows_expected:,} | "
          f"{outcome.drift_rows:,} | {outcome.duplicates} | {outcome.missing} | "
          f"{outcome.rows_counted:,} | {outcome.baseline_s:.1f} | {outcome.backfill_s:.1f} | "
          f"{1000 * outcome.backfill_s / outcome.windows:.1f} | {load:.1f} |")


if __name__ == "__main__":
    main()
