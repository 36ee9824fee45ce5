"""Where the seconds of one small scheduled window go: each step of a `run`, timed.

A window of a few hundred rows costs almost nothing to count; what a scheduled run pays is
the fixed cost around the count: the reads before it (running operations, the baseline, the
quality gate's verdicts, late data), the commits after it (profiles, volume and drift rows),
and the `runs` row written at the start and updated at the end. This script builds a small
table (--days days of --rows rows, two of them the baseline), backfills nothing, and runs
--windows single-day windows one after the other through `kl_udfs.jobs.runner` in one Spark
session, timing each step by wrapping the runner's functions. The first window pays the
session's warm-up and is left out of the medians.

    .venv/bin/python -m bench.window_overhead [--windows 6] [--rows 200]

docs/bench/window_overhead.md keeps measured tables.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kl_udfs.core.config import parse_config
from kl_udfs.core.windows import Window

DAY0 = datetime(2026, 1, 1)
BASELINE_DAYS = 2
# (module, function): every step the runner calls around the scan, as the runner imports them
STEPS = (
    ("kl_udfs.jobs.runner", "ensure_tables"), ("kl_udfs.spark.runs", "mark_gone_runs"),
    ("kl_udfs.spark.runs", "append_run"), ("kl_udfs.jobs.runner", "load_baseline"),
    ("kl_udfs.jobs.runner", "open_table"), ("kl_udfs.jobs.runner", "late_windows"),
    ("kl_udfs.jobs.runner", "failed_windows"), ("kl_udfs.jobs.runner", "compute_drift"),
    ("kl_udfs.jobs.runner", "volume_rows"), ("kl_udfs.jobs.runner", "merge"),
    ("kl_udfs.spark.runs", "update"),
)


def _rows(days: int, per_day: int) -> list[tuple[Any, ...]]:
    step = 86_400 // per_day
    return [(DAY0 + timedelta(days=d, seconds=i * step), float((i * 37 + d) % 101),
             ("web", "store", "app")[(i + d) % 3]) for d in range(days) for i in range(per_day)]


def _timed(spent: dict[str, float], module: Any, name: str) -> Callable[[], None]:
    """Wrap `module.name` to add its time to `spent`; returns what puts it back."""
    original: Callable[..., Any] = getattr(module, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - began

    setattr(module, name, wrapper)
    return lambda: setattr(module, name, original)


def _run(spark: Any, windows: int, per_day: int,
         spent: dict[str, float]) -> list[dict[str, float]]:
    """Time `windows` single-day runs of a fresh small table; each round's seconds per step."""
    from kl_udfs.jobs import runner

    with tempfile.TemporaryDirectory(prefix="kldrift-overhead-") as folder:
        root = Path(folder)
        table = str(root / "raw")
        spark.createDataFrame(_rows(BASELINE_DAYS + windows, per_day),
                              "ts timestamp, amount double, channel string") \
            .write.format("delta").save(table)
        config = parse_config({"monitoring": {"path": str(root / "monitoring")}, "monitors": [{
            "name": "m", "table": table, "timestamp_column": "ts",
            "baseline": {"start": DAY0.isoformat(),
                         "end": (DAY0 + timedelta(days=BASELINE_DAYS)).isoformat()}}]}, root)
        runner.build_baseline(spark, config, "m")
        rounds: list[dict[str, float]] = []
        for d in range(windows):
            start = DAY0 + timedelta(days=BASELINE_DAYS + d)
            spent.clear()
            began = time.perf_counter()
            runner.compute_windows(spark, config, "m", [Window(start, start + timedelta(1))])
            rounds.append({**spent, "whole run": time.perf_counter() - began})
    return rounds


def main(argv: list[str] | None = None) -> None:
    from kl_udfs.spark.session import get_spark

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=6)
    parser.add_argument("--rows", type=int, default=200, help="rows per day")
    args = parser.parse_args(argv)

    spark = get_spark("local[2]", {"spark.sql.shuffle.partitions": "4"})
    spent: dict[str, float] = {}
    restore = []
    for module_name, name in STEPS:
        module = importlib.import_module(module_name)
        if hasattr(module, name):  # an older tree may lack a step
            restore.append(_timed(spent, module, name))
    try:
        rounds = _run(spark, args.windows, args.rows, spent)
    finally:
        for put_back in restore:
            put_back()
    measured = rounds[1:] or rounds
    names = [n for _, n in STEPS if any(n in r for r in measured)] + ["whole run"]
    print(f"| step | median s ({len(measured)} windows of {args.rows} rows) |")
    print("|---|---|")
    for name in names:
        print(f"| {name} | {statistics.median(r.get(name, 0.0) for r in measured):.2f} |")


if __name__ == "__main__":
    main()
