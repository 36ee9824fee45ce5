"""Draw bench/peers/curves.py's figures to PNG; runs in the "plots" virtualenv (matplotlib).

    python plot.py <curves.json> <out dir>
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter


def _finish(fig: Any, ax: Any, out: Path, xs: list[float]) -> None:
    """Log axes labelled in plain numbers (x at the measured points, y at 1-2-5 steps), a grid
    and the legend; then save."""
    plain = FuncFormatter(lambda value, _: f"{value:,g}")
    ax.xaxis.set_major_locator(FixedLocator(sorted(set(xs))))
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(NullFormatter())
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _scan(rows: list[dict[str, Any]], key: str, title: str, xlabel: str, out: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name in dict.fromkeys(r["contender"] for r in rows):
        points = sorted((r[key], r["seconds"]) for r in rows if r["contender"] == name)
        ax.plot(*zip(*points, strict=True), marker="o", label=name)
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="seconds (median)", title=title)
    _finish(fig, ax, out, [r[key] for r in rows])


def _windows(rows: list[dict[str, Any]], out: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    n = [r["windows"] for r in rows]
    batch = rows[0]["batch_windows"]
    ax.plot(n, [r["seconds"] for r in rows], marker="o",
            label=f"one backfill ({batch} windows a pass)")
    if all(r["one_job_per_window_s"] for r in rows):
        ax.plot(n, [r["one_job_per_window_s"] for r in rows], linestyle="--",
                label="N x the 1-window run (one job per window)")
    ax.set(xscale="log", yscale="log", xlabel="windows", ylabel="seconds (median)",
           title=f"Backfill, {rows[0]['rows_per_window']:,} rows a window, 12 columns")
    _finish(fig, ax, out, n)


def _kl_step(rows: list[dict[str, Any]], out: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    n = [r["column_windows"] for r in rows]
    ax.plot(n, [r["kl_drift_s"] for r in rows], marker="o", label="kl-drift figures + verdicts")
    ax.plot(n, [r["scipy_loop_s"] for r in rows], marker="o", label="scipy entropy, a loop")
    ax.set(xscale="log", yscale="log", xlabel="column-windows (22 bins each)",
           ylabel="seconds (median)", title="KL step alone")
    _finish(fig, ax, out, n)


def main(source: str, out_dir: str) -> None:
    found = json.loads(Path(source).read_text())
    out = Path(out_dir)
    plan = found["plan"]
    if found["rows"]:
        _scan(found["rows"], "rows", "Rows, 12 columns", "rows in the window", out / "rows.png")
    if found["columns"]:
        _scan(found["columns"], "columns", f"Columns, {plan['columns_rows']:,} rows",
              "columns", out / "columns.png")
    if found["cardinality"]:
        _scan(found["cardinality"], "cardinality",
              f"String cardinality, {plan['cardinality_rows']:,} rows, top_k 50",
              "distinct values per string column", out / "cardinality.png")
    if found["windows"]:
        _windows(found["windows"], out / "windows.png")
    if found["kl_step"]:
        _kl_step(found["kl_step"], out / "kl_step.png")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
