"""Benchmark: the one-pass window histogram against Spark's floor and a job per column.

For every (rows, columns) shape a deterministic Delta table is generated once (and reused), bins
are learnt once, then the contenders run interleaved over the same table and session (all of them
by default, `--contenders` to choose); the first round's counts are compared with each other:

floor            one df.agg(count, min, max of every data column): scan + decode, nothing more
per-column jobs  window_histograms of one column at a time, a job each (what scripts do)
kl-drift pass    window_histograms of all columns in one job (scans of 16 columns, unioned)
one scan         the same with every column in a single scan (before column groups)
no moments       the kl-drift pass without the power sums the mean and std rules need

The medians go to stdout and to a Markdown file. Progress goes to stderr.

    python bench/histogram_pass.py --rows 200000 --columns 12 200 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from kl_udfs.core.bins import ColumnBins
from kl_udfs.core.windows import Window
from kl_udfs.spark import histogram
from kl_udfs.spark.baseline import learn_bins
from kl_udfs.spark.columns import ColumnChoice, kind_of
from kl_udfs.spark.histogram import col, window_histograms
from kl_udfs.spark.session import get_spark, spark_conf

SEED = 20240101
GENERATOR_VERSION = 1  # bump when the data below changes, so cached tables are rebuilt
CHUNK_ROWS = 1_000_000
DAY = Window(datetime(2024, 1, 1), datetime(2024, 1, 2))
CATEGORIES = np.array([f"c{i:02d}" for i in range(20)])
CATEGORY_WEIGHTS = 1.0 / np.arange(1, 21) / np.sum(1.0 / np.arange(1, 21))  # Zipf-like
Counts = dict[tuple[int, int], int]


def column_kind(position: int) -> str:
    """By position: half float64, a quarter int64, a quarter string."""
    return ("float", "float", "int", "string")[position % 4]


def column_name(position: int) -> str:
    return f"{column_kind(position)}_{position:03d}"


def generate_chunk(start: int, rows: int, total: int, columns: int) -> pa.Table:
    """Rows [start, start + rows) of the table, seeded by column and chunk start."""
    day_us = int((DAY.end - DAY.start) / timedelta(microseconds=1))
    base_us = int((DAY.start - datetime(1970, 1, 1)) / timedelta(microseconds=1))
    index = np.arange(start, start + rows, dtype=np.int64)
    arrays = {"ts": pa.array(base_us + index * day_us // total, type=pa.timestamp("us", "UTC"))}
    for position in range(columns):
        rng = np.random.default_rng([SEED, position, start])
        kind = column_kind(position)
        if kind == "float":
            values = rng.normal(100.0, 15.0, rows) if position % 8 == 0 else \
                rng.lognormal(1.0, 0.8, rows)
            values[rng.random(rows) < 1e-4] = np.nan
            array = pa.array(values, mask=rng.random(rows) < 0.01)
        elif kind == "int":
            array = pa.array(rng.poisson(3.0 + position % 50, rows).astype(np.int64))
        else:
            codes = rng.choice(len(CATEGORIES), size=rows, p=CATEGORY_WEIGHTS).astype(np.int32)
            indices = pa.array(codes, mask=rng.random(rows) < 0.01)
            array = pa.DictionaryArray.from_arrays(indices, pa.array(CATEGORIES)) \
                .cast(pa.string())
        arrays[column_name(position)] = array
    return pa.table(arrays)


def dataset(spark: SparkSession, data_dir: Path, rows: int, columns: int) -> str:
    """The Delta table of this shape, generated unless an identical one is already there."""
    path = data_dir / f"rows{rows}_columns{columns}"
    shape = {"rows": rows, "columns": columns, "seed": SEED, "version": GENERATOR_VERSION}
    marker = path / "_bench_shape.json"
    if marker.exists() and json.loads(marker.read_text()) == shape:
        return str(path)
    shutil.rmtree(path, ignore_errors=True)
    staging = data_dir / f"{path.name}.parquet"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    started = time.perf_counter()
    for n, start in enumerate(range(0, rows, CHUNK_ROWS)):
        chunk = generate_chunk(start, min(CHUNK_ROWS, rows - start), rows, columns)
        pq.write_table(chunk, staging / f"part-{n:05d}.parquet")
    spark.read.parquet(str(staging)).write.format("delta").save(str(path))
    shutil.rmtree(staging)
    marker.write_text(json.dumps(shape))
    log(f"generated {path} in {time.perf_counter() - started:.1f} s")
    return str(path)


def floor(df: DataFrame, bins: Sequence[ColumnBins]) -> None:
    df.agg(*[f(col(b.name)) for b in bins for f in (F.count, F.min, F.max)]).collect()


def per_column_jobs(df: DataFrame, bins: Sequence[ColumnBins]) -> Counts:
    counts: Counts = {}
    for i, b in enumerate(bins):
        for cell in window_histograms(df, [b], "ts", [DAY]).collect():
            counts[i, cell["bin"]] = cell["count"]
    return counts


def one_pass(df: DataFrame, bins: Sequence[ColumnBins]) -> Counts:
    cells = window_histograms(df, bins, "ts", [DAY]).collect()
    return {(cell["column_idx"], cell["bin"]): cell["count"] for cell in cells}


def one_scan(df: DataFrame, bins: Sequence[ColumnBins]) -> Counts:
    """The pass without column groups: every column in one scan, however wide."""
    grouped = histogram.GROUP_COLUMNS
    histogram.GROUP_COLUMNS = len(bins)
    try:
        return one_pass(df, bins)
    finally:
        histogram.GROUP_COLUMNS = grouped


def without_moments(df: DataFrame, bins: Sequence[ColumnBins]) -> Counts:
    """The pass without the power sums of the moment rules (bins without a moments frame)."""
    return one_pass(df, [replace(b, center=None, scale=None) for b in bins])


CONTENDERS: dict[str, Callable[[DataFrame, Sequence[ColumnBins]], object]] = {
    "floor": floor,
    "per-column jobs": per_column_jobs,
    "kl-drift pass": one_pass,
    "kl-drift pass, one scan": one_scan,
    "kl-drift pass, no moments": without_moments,
}


def check_counts(outputs: dict[str, object], cells: int) -> None:
    """Every histogram method gave the same counts, and every value was counted once."""
    counted = {name: out for name, out in outputs.items() if name != "floor"}
    first_name, first = next(iter(counted.items()))
    for name, out in counted.items():
        assert out == first, f"{name} and {first_name} differ"
    assert isinstance(first, dict) and sum(first.values()) == cells, "values missing"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine(spark: SparkSession) -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    java = spark.sql("SELECT java_method('java.lang.System', 'getProperty', 'java.version')") \
        .first()
    flags = spark.conf.get("spark.driver.extraJavaOptions", "")
    return (f"nproc {len(os.sched_getaffinity(0))}, memory {memory:.1f} GiB, "
            f"Java {java[0] if java else '?'}, Spark {spark.version}, "
            f"master {spark.sparkContext.master}, JVM options `{flags}`, "
            f"load average {os.getloadavg()[0]:.1f} at start")


def markdown(header: list[str], table: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *table]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000, 20_000_000])
    parser.add_argument("--columns", type=int, nargs="+", default=[12, 200])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--data-dir", type=Path, default=Path(".cache/bench-data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results/histogram_pass.md"))
    parser.add_argument("--contenders", nargs="+", choices=list(CONTENDERS),
                        default=list(CONTENDERS), help="floor and at least one histogram")
    parser.add_argument("--java-options", default="",
                        help="extra driver JVM options, e.g. -XX:-DontCompileHugeMethods")
    parser.add_argument("--conf", nargs="*", default=[], metavar="KEY=VALUE",
                        help="extra Spark settings, e.g. spark.sql.codegen.maxFields=1000")
    args = parser.parse_args(argv)
    if "floor" not in args.contenders or len(args.contenders) < 2:
        parser.error("--contenders needs floor and at least one histogram method")

    extra = dict(setting.split("=", 1) for setting in args.conf)
    # Writing 200-column Parquet row groups does not fit the 1 GiB default driver heap.
    extra.setdefault("spark.driver.memory", "8g")
    if args.java_options:
        defaults = spark_conf(args.master)["spark.driver.extraJavaOptions"]
        extra["spark.driver.extraJavaOptions"] = f"{defaults} {args.java_options}"
    spark = get_spark(args.master, extra)
    facts = machine(spark) + "".join(f", `{setting}`" for setting in args.conf)
    log(facts)

    results: list[list[str]] = []
    learning: list[list[str]] = []
    for rows in args.rows:
        for columns in args.columns:
            df = spark.read.format("delta").load(dataset(spark, args.data_dir, rows, columns))
            choices = [ColumnChoice(f.name, kind_of(f.dataType, False), f.dataType.simpleString())
                       for f in df.schema.fields if f.name != "ts"]
            started = time.perf_counter()
            bins = learn_bins(df, choices, bins=20, top_k=50)
            learning.append([f"{rows:,}", str(columns), f"{time.perf_counter() - started:.2f}"])

            # Warm-up: the first job of a shape pays for reading the Delta log and listing
            # files. A row count does that without a second full scan (14 min at 10M x 200).
            df.agg(F.count(F.lit(1))).collect()
            chosen = {name: CONTENDERS[name] for name in args.contenders}
            seconds: dict[str, list[float]] = {name: [] for name in chosen}
            for r in range(args.repeat):
                outputs = {}
                for name, contender in chosen.items():
                    started = time.perf_counter()
                    outputs[name] = contender(df, bins)
                    seconds[name].append(time.perf_counter() - started)
                    log(f"  run {r + 1}/{args.repeat} {name}: {seconds[name][-1]:.2f} s")
                if r == 0:  # the first round's counts are the check: no extra round for it
                    check_counts(outputs, rows * columns)
                    methods = len(outputs) - 1
                    print(f"{rows:,} rows x {columns} columns: every value counted once"
                          + (f", counts identical in {methods} methods" if methods > 1 else ""),
                          flush=True)
            floor_median = statistics.median(seconds["floor"])
            for name, spent in seconds.items():
                median = statistics.median(spent)
                results.append([f"{rows:,}", str(columns), name, f"{median:.2f}",
                                f"{median / floor_median:.2f}", f"{rows / median:,.0f}"])

    main_table = markdown(["rows", "columns", "contender", "seconds (median)", "x floor",
                           "rows/s"], results)
    bins_table = markdown(["rows", "columns", "baseline bins (s, learn_bins, 1 run)"], learning)
    report = (f"# histogram pass, median of {args.repeat}\n\n{facts}\n\n{main_table}\n\n"
              f"{bins_table}\n")
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    spark.stop()


if __name__ == "__main__":
    main()
