"""How kl-drift's cost grows: rows, columns, string cardinality, windows per backfill, KL step.

Each point is measured in one run with the floor beside it (the same interleaved rounds as
bench/peers/run.py), so every figure can be read as "x floor" on the same machine at the same
moment. The figures go to <out>/curves.json and .md; bench/peers/plot.py (run in a virtualenv
of its own, with matplotlib) draws them to PNG files in <out>.

    python -m bench.peers.curves --quick          # minutes: small points, one round
    python -m bench.peers.curves                  # the curves of docs/performance.md
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench.peers import venvs
from bench.peers.data import REFERENCE_DAY, Shape, daily_table, dataset
from bench.peers.kl_step import counts_frame, figures_and_verdicts, scipy_loop, timed
from bench.peers.run import log, machine, run_shape
from bench.peers.spark_contenders import CONFIG, MONITOR
from kl_udfs.core.config import load_config
from kl_udfs.core.defaults import DEFAULT_PSEUDO_COUNT
from kl_udfs.jobs import runner
from kl_udfs.spark.session import get_spark

HERE = Path(__file__).resolve().parent
SCANS = ["floor", "kl-drift pass", "kl-drift window"]


@dataclass(frozen=True)
class Plan:
    rows: list[int]  # 12 columns
    columns: list[int]
    columns_rows: int
    cardinality: list[int]
    cardinality_rows: int
    windows: list[int]
    rows_per_window: int
    column_windows: list[int]
    repeat: int


QUICK = Plan(rows=[100_000, 400_000, 1_600_000], columns=[12, 50, 100, 200],
             columns_rows=100_000, cardinality=[10, 1_000, 100_000, 1_000_000],
             cardinality_rows=1_000_000, windows=[1, 7, 31, 91], rows_per_window=5_000,
             column_windows=[100, 1_000, 10_000, 100_000], repeat=1)
FULL = Plan(rows=[1_000_000, 4_000_000, 10_000_000, 50_000_000], columns=[12, 50, 100, 200],
            columns_rows=1_000_000, cardinality=[10, 1_000, 100_000, 1_000_000],
            cardinality_rows=1_000_000, windows=[1, 7, 31, 91, 365], rows_per_window=20_000,
            column_windows=[100, 1_000, 10_000, 100_000], repeat=3)


def scan_curve(spark: Any, shapes: list[Shape], names: list[str], repeat: int,
               data_dir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for shape in shapes:
        data = dataset(data_dir, shape)
        log(f"{shape.name}: data ready")
        rows += run_shape(spark, data, names, repeat, data_dir / "work")
    return rows


def windows_curve(spark: Any, counts: list[int], rows_per_window: int, repeat: int,
                  data_dir: Path) -> list[dict[str, Any]]:
    """A backfill of N daily windows, as `kldrift backfill` runs it (batches of
    runner.DEFAULT_BATCH_WINDOWS windows, one pass each)."""
    shape = Shape(rows_per_window, 12)
    table = daily_table(data_dir, shape, 1 + max(counts))
    work = data_dir / "work" / f"windows_{shape.name}"
    work.mkdir(parents=True, exist_ok=True)
    path = work / "monitors.yaml"
    first = REFERENCE_DAY + timedelta(days=1)  # day 0 is the baseline
    path.write_text(CONFIG.format(work=work, monitor=MONITOR, table=table,
                                  start=REFERENCE_DAY.date(), end=first.date()))
    config = load_config(path)
    runner.build_baseline(spark, config, MONITOR)
    seconds: dict[int, list[float]] = {n: [] for n in counts}
    for round_ in range(repeat):
        for n in counts:
            started = time.perf_counter()
            runner.backfill(spark, config, MONITOR, first, first + timedelta(days=n))
            seconds[n].append(time.perf_counter() - started)
            log(f"  round {round_ + 1}/{repeat} backfill of {n} windows: {seconds[n][-1]:.1f} s")
    one = statistics.median(seconds[counts[0]]) if counts[0] == 1 else None
    out = []
    for n in counts:
        median = statistics.median(seconds[n])
        out.append({"windows": n, "rows_per_window": rows_per_window, "columns": 12,
                    "batch_windows": runner.DEFAULT_BATCH_WINDOWS,
                    "seconds": median, "runs": seconds[n], "seconds_per_window": median / n,
                    "one_job_per_window_s": one * n if one is not None else None})
    return out


def kl_step_curve(sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    out = []
    for n in sizes:
        pdf = counts_frame(n, 22)
        ours_s, ours = timed(repeat, partial(figures_and_verdicts, pdf, DEFAULT_PSEUDO_COUNT))
        loop_s, loop = timed(repeat, partial(scipy_loop, pdf, DEFAULT_PSEUDO_COUNT))
        kl = ours["kl_divergence"].to_numpy(dtype=np.float64)  # type: ignore[index]
        worst = float(np.max(np.abs(kl - np.asarray(loop))))
        out.append({"column_windows": n, "kl_drift_s": ours_s, "scipy_loop_s": loop_s,
                    "max_abs_diff": worst})
        log(f"  KL step {n:,} column-windows: {ours_s:.3f} s vs scipy loop {loop_s:.3f} s")
    return out


def _scan_table(rows: list[dict[str, Any]], key: str) -> str:
    lines = [f"| {key} | contender | s (median) | x floor | rows/s |", "|---|---|---|---|---|"]
    lines += [f"| {r[key]:,} | {r['contender']} | {r['seconds']:.2f} | {r['x_floor']:.2f} | "
              f"{r['rows_per_s']:,.0f} |" for r in rows]
    return "\n".join(lines)


def markdown(found: dict[str, Any], plan: Plan) -> str:
    machines = found.get("machines", {})

    def where(curve: str) -> str:
        line = machines.get(curve)
        return f"\n\n{line}" if line else ""

    windows = ["| windows | s (median) | s per window | N x the 1-window run (s) |",
               "|---|---|---|---|"]
    windows += [f"| {w['windows']} | {w['seconds']:.1f} | {w['seconds_per_window']:.2f} | "
                + (f"{w['one_job_per_window_s']:.1f} |" if w["one_job_per_window_s"] else "- |")
                for w in found["windows"]]
    step = ["| column-windows | kl-drift figures + verdicts (s) | scipy loop (s) | max abs diff |",
            "|---|---|---|---|"]
    step += [f"| {k['column_windows']:,} | {k['kl_drift_s']:.3f} | {k['scipy_loop_s']:.3f} | "
             f"{k['max_abs_diff']:.1e} |" for k in found["kl_step"]]
    return "\n\n".join([
        f"# kl-drift cost curves ({found.get('plan_name', 'custom')} plan), median of "
        f"{plan.repeat}" + (f"\n\n{found['machine']}" if found.get("machine") else ""),
        f"## Rows (12 columns){where('rows')}\n\n{_scan_table(found['rows'], 'rows')}",
        f"## Columns ({plan.columns_rows:,} rows){where('columns')}\n\n"
        f"{_scan_table(found['columns'], 'columns')}",
        f"## String cardinality ({plan.cardinality_rows:,} rows, 12 columns, 3 of them "
        f"strings; top_k 50){where('cardinality')}\n\n"
        f"{_scan_table(found['cardinality'], 'cardinality')}",
        f"## Windows in one backfill ({plan.rows_per_window:,} rows a window, 12 columns)"
        f"{where('windows')}\n\n" + "\n".join(windows),
        f"## KL step alone (22 bins){where('kl_step')}\n\n" + "\n".join(step)]) + "\n"


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small points, one round")
    parser.add_argument("--curves", nargs="+", default=["rows", "columns", "cardinality",
                                                         "windows", "kl_step"])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--data-dir", type=Path, default=Path(".cache/bench-peers"))
    parser.add_argument("--out", type=Path, default=Path("docs/bench"))
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--resume", action="store_true",
                        help="keep the curves <out>/curves.json already has for this plan")
    args = parser.parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    plan = QUICK if args.quick else FULL
    plan_name = "quick" if args.quick else "full"
    found: dict[str, Any] = {"plan": plan.__dict__, "plan_name": plan_name, "machines": {}}
    saved = args.out / "curves.json"
    if args.resume and saved.exists():
        # Hours at 50M rows: keep what an earlier run of the same plan measured.
        before = json.loads(saved.read_text())
        if before.get("plan") == plan.__dict__:
            found = before
    done = [c for c in args.curves if found.get(c)]
    if done:
        log(f"already measured in {saved}: {', '.join(done)}")
    todo = [c for c in args.curves if c not in done]
    scans = [c for c in todo if c != "kl_step"]
    if scans:
        spark = get_spark(args.master, {"spark.driver.memory": "8g"})
        try:
            for curve in scans:
                found.setdefault("machines", {})[curve] = machine(spark)
                log(f"{curve}: {found['machines'][curve]}")
                found[curve] = measure(spark, curve, plan, args.data_dir)
                save(found, plan, args.out, plots=False)
        finally:
            spark.stop()
    if "kl_step" in todo:
        found.setdefault("machines", {})["kl_step"] = machine(None)
        found["kl_step"] = kl_step_curve(plan.column_windows, max(plan.repeat, 3))
    print(save(found, plan, args.out, plots=not args.no_plots))
    return 0


def measure(spark: Any, curve: str, plan: Plan, data_dir: Path) -> list[dict[str, Any]]:
    if curve == "rows":
        return scan_curve(spark, [Shape(n, 12) for n in plan.rows], SCANS, plan.repeat,
                          data_dir)
    if curve == "columns":
        return scan_curve(spark, [Shape(plan.columns_rows, c) for c in plan.columns], SCANS,
                          plan.repeat, data_dir)
    if curve == "cardinality":
        return scan_curve(spark, [Shape(plan.cardinality_rows, 12, c) for c in plan.cardinality],
                          [*SCANS, "kl-drift baseline"], plan.repeat, data_dir)
    if curve == "windows":
        return windows_curve(spark, plan.windows, plan.rows_per_window, plan.repeat, data_dir)
    raise ValueError(f"unknown curve {curve!r}")


def save(found: dict[str, Any], plan: Plan, out: Path, plots: bool = True) -> str:
    """curves.md and curves.json in `out`, and the PNGs drawn from them; returns the report."""
    for key in ("rows", "columns", "cardinality", "windows", "kl_step"):
        found.setdefault(key, [])
    out.mkdir(parents=True, exist_ok=True)
    report = markdown(found, plan)
    (out / "curves.md").write_text(report)
    (out / "curves.json").write_text(json.dumps(found, indent=1))
    if plots:
        subprocess.run([str(venvs.python_of("plots")), str(HERE / "plot.py"),
                        str(out / "curves.json"), str(out)], check=True)
    return report


if __name__ == "__main__":
    sys.exit(main())
