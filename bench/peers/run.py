"""kl-drift against its peers on the same table, interleaved in one run (A B C A B C ...).

For every shape the data is generated once (bench/peers/data.py); kl-drift's baseline is
built on the reference day; then every contender runs `--repeat` rounds over the window day
and the medians are reported with rows/s, x floor, peak memory and whether its KL agrees
with kl-drift's. Progress goes to stderr; the tables to stdout, to bench/results/peers.md and
(for plots) to bench/results/peers.json.

    python -m bench.peers.run --rows 100000 --columns 12 --repeat 1     # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pyspark.sql import functions as F

from bench.peers import venvs
from bench.peers.data import Dataset, Shape, dataset, universe
from bench.peers.memory import peak_memory
from bench.peers.spark_contenders import (
    CONTENDERS,
    KL,
    MONITOR,
    WINDOW,
    Setup,
    gx_counts,
    prepare,
)
from kl_udfs.core.bins import ColumnBins
from kl_udfs.core.seen import might_contain
from kl_udfs.spark.session import get_spark
from kl_udfs.spark.tables import PROFILES, read_table

HERE = Path(__file__).resolve().parent
AGREE = 1e-9


@dataclass
class Measured:
    seconds: list[float] = field(default_factory=list)
    python_mib: float = 0.0  # driver Python peak (or the peer process's peak RSS)
    jvm_heap_mib: float | None = None
    kl: KL | None = None
    counts: list[list[int]] | None = None
    scores: dict[str, dict[str, Any]] | None = None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _peer(name: str, script: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run a peer's script in its own virtualenv; it answers one JSON line."""
    done = subprocess.run([str(venvs.python_of(name)), str(HERE / script)],
                          input=json.dumps(spec), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{name} peer failed: {done.stderr.strip().splitlines()[-3:]}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def duckdb_contender(setup: Setup) -> dict[str, Any]:
    """The same histograms in one SQL query on the window's Parquet, single node."""
    return _peer("duckdb", "duckdb_peer.py", {
        "parquet": str(setup.data.parquet("window")), "threads": os.cpu_count() or 1,
        "columns": [{"name": b.name, "kind": b.kind, "edges": b.splits()[1:-1],
                     "categories": list(b.categories), "temporal": b.is_temporal,
                     "null_index": b.null_index, "n_bins": b.n_bins,
                     "seen": seen_beyond_top(b, universe(setup.data.shape))}
                    for b in setup.bins]})


def seen_beyond_top(bins: ColumnBins, values: Sequence[str]) -> list[str] | None:
    """The values of the data set beyond the top K that kl-drift's seen filter passes (None
    without an unseen bin): DuckDB then bins them as kl-drift does."""
    if not bins.has_unseen:
        return None
    top = set(bins.categories)
    return [v for v in values if v not in top and might_contain(bins.seen_filter, v)]


def evidently_contender(setup: Setup) -> dict[str, Any]:
    """Evidently's drift report (kl_div) on pandas, reading both days' Parquet."""
    return _peer("evidently", "evidently_peer.py", {
        "reference": str(setup.data.parquet("reference")),
        "window": str(setup.data.parquet("window")), "columns": [b.name for b in setup.bins]})


def whylogs_contender(setup: Setup) -> dict[str, Any]:
    """whylogs' PySpark profiles of both days and its drift scores, in its own Spark."""
    python = venvs.python_of("whylogs")
    return _peer("whylogs", "whylogs_peer.py", {
        "reference": str(setup.data.parquet("reference")),
        "window": str(setup.data.parquet("window")), "columns": [b.name for b in setup.bins],
        "master": setup.spark.sparkContext.master, "python": str(python)})


# Evidently's pandas frames of both days: its peak RSS was 1,594 MiB at 1M rows x 12 columns
# and 12,184 MiB at 10M x 12 (docs/bench), about 53 bytes a cell over the two days.
EVIDENTLY_BYTES_PER_CELL = 53
EVIDENTLY_FIXED_MIB = 300


def available_mib() -> float:
    """MemAvailable: what a new process can take without pushing others into swap."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20


def too_big(name: str, shape: Shape) -> str | None:
    """Why a peer cannot run on this shape here, or None: Evidently holds both days in
    pandas, so at 10M rows x 200 columns it would need about 200 GiB."""
    if name != "Evidently":
        return None
    need = EVIDENTLY_FIXED_MIB + 2 * shape.rows * shape.columns * EVIDENTLY_BYTES_PER_CELL / 2**20
    have = available_mib()
    if need <= 0.8 * have:
        return None
    return (f"not run: pandas would need about {need / 1024:,.0f} GiB "
            f"({EVIDENTLY_BYTES_PER_CELL} B a cell, both days), {have / 1024:,.1f} GiB available")


# Out-of-process peers: each answers {"seconds", "peak_rss_mib"} and "counts" or "kl".
PEERS: dict[str, Callable[[Setup], dict[str, Any]]] = {
    "DuckDB": duckdb_contender,
    "Evidently": evidently_contender,
    "whylogs": whylogs_contender,
}


def window_counts(setup: Setup) -> list[np.ndarray]:
    """kl-drift's stored counts of the window (written by its window contender)."""
    rows = {r["column_name"]: r["counts"] for r in read_table(
        setup.spark, setup.config.monitoring.path, PROFILES).where(
        (F.col("monitor") == MONITOR) & (F.col("window_start") == WINDOW.start)).collect()}
    return [np.asarray(rows[b.name], dtype=np.float64) for b in setup.bins]


def gx_expected(setup: Setup, counts: list[np.ndarray]) -> KL:
    """GX's definition on kl-drift's counts: KL(window || reference), non-null, unsmoothed."""
    expected: KL = {}
    for i, b in enumerate(setup.bins):
        if b.is_temporal:
            continue
        p, q = gx_counts(b, setup.reference[i]), gx_counts(b, counts[i])
        p, q = p / p.sum(), q / q.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(q > 0, q * np.log(q / p), 0.0)
        expected[b.name] = float(terms.sum())
    return expected


def _difference(a: float, b: float) -> float:
    """|a - b|, 0 when both are the same infinity (new mass where the reference had none)."""
    return 0.0 if a == b else abs(a - b)


def agreement(name: str, found: Measured, reference: KL, setup: Setup,
              counts: list[np.ndarray]) -> str:
    if name == "kl-drift window":
        return "reference"
    if found.counts is not None:
        same = all(np.array_equal(np.asarray(c, dtype=np.float64), counts[i])
                   for i, c in enumerate(found.counts))
        kl = {b.name: setup.smoothed_kl(i, np.asarray(found.counts[i], dtype=np.float64))
              for i, b in enumerate(setup.bins)}
        worst = max(abs(kl[k] - reference[k]) for k in reference)
        return f"counts {'identical' if same else 'DIFFER'}, KL max abs diff {worst:.1e}"
    if found.scores is not None:
        algorithms = sorted({str(s.get("algorithm")) for s in found.scores.values()})
        return (f"no KL: drift by {'/'.join(algorithms)} on its sketches, "
                f"{len(found.scores)} columns scored")
    if found.kl is None:
        return "-"
    if name == "Evidently":
        shown = ", ".join(f"{k} {v:.3g} vs {reference[k]:.3g}" for k, v in
                          sorted(found.kl.items())[:2])
        return (f"not comparable (own Sturges bins, empty bins set to 1e-4); {len(found.kl)} "
                f"columns, e.g. {shown}")
    if name == "Great Expectations":
        expected = gx_expected(setup, counts)
        worst = max(_difference(found.kl[k], expected[k]) for k in found.kl)
        return (f"its KL(window, ref), unsmoothed, non-null: max abs diff {worst:.1e} "
                f"on {len(found.kl)} columns")
    worst = max(abs(found.kl[k] - reference[k]) for k in reference)
    return f"{'agrees' if worst <= AGREE else 'DIFFERS'}, max abs diff {worst:.1e}"


def run_shape(spark: Any, data: Dataset, names: Sequence[str], repeat: int,
              work: Path) -> list[dict[str, Any]]:
    setup = prepare(spark, data, work / data.shape.name)
    skipped = {name: why for name in names if (why := too_big(name, data.shape))}
    for name, why in skipped.items():
        log(f"  {name}: {why}")
    measured = {name: Measured() for name in names if name not in skipped}
    for round_ in range(repeat):
        for name, entry in measured.items():
            if name in PEERS:
                answer = PEERS[name](setup)
                seconds = answer["seconds"]
                entry.python_mib = max(entry.python_mib, answer["peak_rss_mib"])
                entry.counts, entry.kl = answer.get("counts"), answer.get("kl")
                entry.scores = answer.get("scores")
            else:
                with peak_memory(spark) as peak:
                    started = time.perf_counter()
                    entry.kl = CONTENDERS[name](setup)
                    seconds = time.perf_counter() - started
                entry.python_mib = max(entry.python_mib, peak.python_mib)
                entry.jvm_heap_mib = max(entry.jvm_heap_mib or 0.0, peak.jvm_heap_mib)
            entry.seconds.append(seconds)
            log(f"  round {round_ + 1}/{repeat} {name}: {seconds:.2f} s")
    stored = window_counts(setup)
    reference = measured["kl-drift window"].kl or {}
    floor = statistics.median(measured["floor"].seconds)
    rows = []
    for name, entry in measured.items():
        median = statistics.median(entry.seconds)
        rows.append({**asdict(data.shape), "contender": name, "seconds": median,
                     "runs": entry.seconds, "rows_per_s": data.shape.rows / median,
                     "x_floor": median / floor, "python_peak_mib": entry.python_mib,
                     "jvm_heap_peak_mib": entry.jvm_heap_mib, "in_process": name not in PEERS,
                     "agreement": agreement(name, entry, reference, setup, stored)})
    rows += [{**asdict(data.shape), "contender": name, "seconds": None, "runs": [],
              "rows_per_s": None, "x_floor": None, "python_peak_mib": None,
              "jvm_heap_peak_mib": None, "in_process": False, "agreement": why}
             for name, why in skipped.items()]
    return rows


def machine(spark: Any) -> str:
    """The machine and the load it carried; `spark` None for a measurement without Spark."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    engine = (f"Spark {spark.version} master {spark.sparkContext.master}, "
              if spark is not None else "")
    return (f"nproc {len(os.sched_getaffinity(0))}, memory {memory:.1f} GiB, {engine}"
            f"load average {os.getloadavg()[0]:.1f} at start")


def markdown(rows: list[dict[str, Any]]) -> str:
    header = ["rows", "cols", "card", "contender", "s (median)", "rows/s", "x floor",
              "Python/peer peak MiB", "JVM heap peak MiB", "KL agreement with kl-drift"]
    lines = [header, ["---"] * len(header)]
    for r in rows:
        heap = f"{r['jvm_heap_peak_mib']:.0f}" if r["jvm_heap_peak_mib"] is not None else "-"
        if r["seconds"] is None:  # not run on this shape; the reason is in "agreement"
            lines.append([f"{r['rows']:,}", str(r["columns"]), str(r["cardinality"]),
                          r["contender"], "-", "-", "-", "-", "-", r["agreement"]])
            continue
        lines.append([f"{r['rows']:,}", str(r["columns"]), str(r["cardinality"]), r["contender"],
                      f"{r['seconds']:.2f}", f"{r['rows_per_s']:,.0f}", f"{r['x_floor']:.2f}",
                      f"{r['python_peak_mib']:.0f}", heap, r["agreement"]])
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--columns", type=int, nargs="+", default=[12])
    parser.add_argument("--cardinality", type=int, nargs="+", default=[20])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--contenders", nargs="+", default=[*CONTENDERS, *PEERS],
                        choices=[*CONTENDERS, *PEERS])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--data-dir", type=Path, default=Path(".cache/bench-peers"))
    parser.add_argument("--out", type=Path, default=Path("bench/results/peers"))
    args = parser.parse_args(argv)
    args.data_dir = args.data_dir.resolve()  # the monitors config names the table by path
    for needed in ("floor", "kl-drift window"):
        if needed not in args.contenders:
            parser.error(f"'{needed}' is needed: the others are reported against it")
    return args


def run(spark: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every shape, every contender; the report is written to --out (.md and .json)."""
    names = [n for n in [*CONTENDERS, *PEERS] if n in args.contenders]
    facts = machine(spark)
    log(facts)
    rows: list[dict[str, Any]] = []
    for n_rows in args.rows:
        for columns in args.columns:
            for cardinality in args.cardinality:
                shape = Shape(n_rows, columns, cardinality)
                started = time.perf_counter()
                data = dataset(args.data_dir, shape)
                log(f"{shape.name}: data ready in {time.perf_counter() - started:.1f} s")
                rows += run_shape(spark, data, names, args.repeat, args.data_dir / "work")
    report = (f"# kl-drift and its peers, median of {args.repeat} interleaved rounds\n\n"
              f"{facts}\n\n{markdown(rows)}\n")
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(report)
    args.out.with_suffix(".json").write_text(json.dumps({"machine": facts, "rows": rows},
                                                        indent=1))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    spark = get_spark(args.master, {"spark.driver.memory": "8g"})
    try:
        run(spark, args)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
