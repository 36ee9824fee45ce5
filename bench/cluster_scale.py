"""Benchmark: bad input at scale on the Spark cluster, and the driver's memory while it runs.

Two shapes, each at two row counts, each measured in a fresh driver process:

distinct  a string column with 10^6 distinct values (plus two numbers): the top-K search
          ranks every value on the executors; the driver receives K of them per column
wide      200 columns: 198 numbers, an all-distinct string and the timestamp

Per run the driver builds the baseline (over the whole table) and computes one window. The
table shows the driver's peak memory (Python RSS, JVM RSS and JVM heap used): if none grows
with the rows, nothing row-sized reaches the driver.

    make cluster-up
    python bench/cluster_scale.py                        # 1M and 2M rows, 100k and 300k wide
    python bench/cluster_scale.py --rows 200000 400000 --wide-rows 20000 60000   # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 6, 1)
DAYS = 2
TOP_K = 50
RESULTS = ROOT / "bench" / "results" / "cluster_scale.md"
DRIVER_MEMORY = "1g"


def write_wide_table(spark: SparkSession, path: Path, rows: int, numeric: int, distinct: int,
                     start: datetime = START, days: int = DAYS) -> None:
    """`rows` rows spread evenly over `days` days from `start`, generated on the executors.

    Columns: ts, key (`distinct` distinct strings, each used rows/distinct times), x000...
    """
    epoch = int((start - datetime(1970, 1, 1)).total_seconds())
    step = days * 86_400 / rows
    frame = spark.range(rows).select(
        F.timestamp_seconds(F.lit(epoch) + (F.col("id") * step).cast("long")).alias("ts"),
        F.concat(F.lit("user-"), (F.col("id") % distinct).cast("string")).alias("key"),
        *[(F.rand(seed=i) * (i + 1)).alias(f"x{i:03d}") for i in range(numeric)],
    )
    frame.write.format("delta").mode("overwrite").save(str(path))


def _config(directory: Path, name: str, table: Path) -> Path:
    end = START + timedelta(days=DAYS)
    text = f"""
monitoring: {{path: {directory / 'monitoring'}}}
monitors:
  - name: {name}
    table: {table}
    timestamp_column: ts
    window: 1 day
    baseline: {{start: {START.isoformat()}, end: {end.isoformat()}}}
    bins: 20
    top_k: {TOP_K}
spark:
  conf: {{spark.driver.memory: {DRIVER_MEMORY}}}
"""
    path = directory / "monitors.yaml"
    path.write_text(text)
    return path


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def generate(args: argparse.Namespace) -> dict[str, Any]:
    from kl_udfs.spark.session import get_spark

    spark = get_spark(args.master)
    write_wide_table(spark, Path(args.table), args.case_rows, args.numeric, args.distinct)
    spark.stop()
    return {}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Baseline + one window in this (fresh) driver; its peak memory afterwards."""
    from kl_udfs.core.config import load_config
    from kl_udfs.core.windows import Window
    from kl_udfs.jobs import runner
    from kl_udfs.spark.session import get_spark

    config = load_config(Path(args.config))
    assert config.spark is not None
    spark = get_spark(args.master, config.spark.conf)
    began = time.monotonic()
    runner.build_baseline(spark, config, args.name)
    built = time.monotonic()
    last = START + timedelta(days=DAYS - 1)
    runner.compute_windows(spark, config, args.name, [Window(last, last + timedelta(days=1))])
    done = time.monotonic()
    jvm: Any = spark.sparkContext._jvm
    pools = jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
    heap = sum(p.getPeakUsage().getUsed() for p in pools if str(p.getType()) == "Heap memory")
    jvm_pid = int(jvm.java.lang.ProcessHandle.current().pid())
    result = {"baseline_s": built - began, "window_s": done - built,
              "python_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "jvm_rss_mib": _peak_kib(jvm_pid) / 1024, "jvm_heap_mib": heap / 2 ** 20}
    spark.stop()
    return result


def _child(args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--master", args.master, *extra]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"cluster_scale: {' '.join(extra[:2])} failed:\n{done.stderr[-3000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return dict(json.loads(lines[-1])) if lines else {}


def _master(given: str | None) -> str:
    if given:
        return given
    from kl_udfs.core.cache import cache_dir

    state = cache_dir() / "cluster" / "cluster.env"
    if not state.exists():
        raise SystemExit("cluster_scale: no cluster: run 'make cluster-up' or pass --master")
    return state.read_text().split("KLDRIFT_SPARK_MASTER=", 1)[1].split()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--master", help="default: the one `make cluster-up` started")
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 2_000_000])
    parser.add_argument("--distinct", type=int, default=1_000_000)
    parser.add_argument("--wide-rows", type=int, nargs="+", default=[100_000, 300_000])
    parser.add_argument("--columns", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".cache" / "bench-cluster")
    # internal: one step in a fresh driver
    parser.add_argument("--step", choices=["generate", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--table", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    parser.add_argument("--case-rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--numeric", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.master = _master(args.master)
    if args.step:
        print(json.dumps(generate(args) if args.step == "generate" else measure(args)))
        return 0

    cases = [("distinct", rows, 2, min(args.distinct, rows)) for rows in args.rows] + [
        ("wide", rows, args.columns - 2, rows) for rows in args.wide_rows]
    header = ("| shape | rows | columns | distinct keys | baseline s | window s | "
              "driver Python peak RSS MiB | driver JVM peak RSS MiB | driver JVM heap peak MiB |")
    lines = [f"Spark master {args.master}, driver memory {DRIVER_MEMORY}, "
             f"load average {os.getloadavg()[0]:.1f} at start", "", header,
             "|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for shape, rows, numeric, distinct in cases:
        place = args.data_dir / f"{shape}-{rows}"
        table = place / "table"
        monitoring = place / "monitoring"
        shutil.rmtree(monitoring, ignore_errors=True)  # every run builds its baseline anew
        place.mkdir(parents=True, exist_ok=True)
        marker = place / "shape.json"
        wanted = json.dumps([rows, numeric, distinct, START.isoformat(), DAYS])
        if not marker.exists() or marker.read_text() != wanted:  # tables are reused when equal
            _child(args, "--step", "generate", "--table", str(table), "--case-rows", str(rows),
                   "--numeric", str(numeric), "--distinct", str(distinct))
            marker.write_text(wanted)
        config = _config(place, shape, table)
        got = _child(args, "--step", "measure", "--config", str(config), "--name", shape)
        line = (f"| {shape} | {rows:,} | {numeric + 2} | {distinct:,} | "
                f"{got['baseline_s']:.1f} | {got['window_s']:.1f} | "
                f"{got['python_rss_mib']:.0f} | {got['jvm_rss_mib']:.0f} | "
                f"{got['jvm_heap_mib']:.0f} |")
        lines.append(line)
        print(line, flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
