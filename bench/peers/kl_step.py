"""The KL step alone: metrics of 10,000 column-windows, as the pandas UDF computes them.

Side by side, in one run, medians of --repeat: kl-drift's `drift_figures` then `decide`
(all statistics, top contributors and verdicts, vectorised over every column-window), and the
loop a script writes (scipy's entropy per column-window, KL only). Both on the same counts;
their KL must agree to 1e-9.

    python -m bench.peers.kl_step --column-windows 10000 --bins 22
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import entropy

from kl_udfs.core.defaults import DEFAULT_PSEUDO_COUNT
from kl_udfs.core.udfs import drift_figures
from kl_udfs.core.verdict import Policy, decide


def counts_frame(column_windows: int, bins: int, seed: int = 7) -> pd.DataFrame:
    """Long-format counts, the UDF's input: one row per (window, column, bin)."""
    rng = np.random.default_rng(seed)
    columns = 100
    ids = np.repeat(np.arange(column_windows), bins)
    baseline = rng.poisson(rng.uniform(0, 5000, column_windows * bins))
    current = rng.poisson(rng.uniform(0, 5000, column_windows * bins))
    current[rng.random(current.size) < 0.05] = 0  # empty bins, as real windows have
    bin_index = np.tile(np.arange(bins), column_windows)
    return pd.DataFrame({
        "window_idx": ids // columns, "column_idx": ids % columns, "bin": bin_index,
        "bin_label": [f"b{b}" for b in bin_index],
        "bin_role": np.where(bin_index == bins - 1, "null", "value"),
        "baseline_count": baseline, "current_count": current})


def figures_and_verdicts(pdf: pd.DataFrame, pseudo_count: float) -> pd.DataFrame:
    """What the job computes per column-window in pandas: figures, then the verdict."""
    figures = drift_figures(pdf, pseudo_count, 5)
    figures["column_name"] = "c" + figures["column_idx"].astype(str)
    figures["column_kind"] = "numeric"
    return pd.concat([figures, decide(figures, Policy.defaults())], axis=1)


def scipy_loop(pdf: pd.DataFrame, pseudo_count: float) -> np.ndarray:
    out = []
    for _, group in pdf.groupby(["window_idx", "column_idx"], sort=True):
        p = group["baseline_count"].to_numpy(dtype=np.float64) + pseudo_count
        q = group["current_count"].to_numpy(dtype=np.float64) + pseudo_count
        out.append(entropy(p / p.sum(), q / q.sum()))
    return np.asarray(out)


def timed(repeat: int, run: object) -> tuple[float, object]:
    spent, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()  # type: ignore[operator]
        spent.append(time.perf_counter() - started)
    return statistics.median(spent), result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--column-windows", type=int, default=10_000)
    parser.add_argument("--bins", type=int, default=22)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    pdf = counts_frame(args.column_windows, args.bins)
    ours_s, ours = timed(args.repeat, lambda: figures_and_verdicts(pdf, DEFAULT_PSEUDO_COUNT))
    loop_s, loop = timed(args.repeat, lambda: scipy_loop(pdf, DEFAULT_PSEUDO_COUNT))
    assert isinstance(ours, pd.DataFrame) and isinstance(loop, np.ndarray)
    worst = float(np.max(np.abs(ours["kl_divergence"].to_numpy(dtype=np.float64) - loop)))
    print(f"| step ({args.column_windows:,} column-windows x {args.bins} bins) | seconds "
          f"(median of {args.repeat}) | column-windows/s |\n|---|---|---|\n"
          f"| kl-drift drift_figures + decide (all metrics, top bins, verdicts) | {ours_s:.3f} | "
          f"{args.column_windows / ours_s:,.0f} |\n"
          f"| scipy entropy per column-window (KL only) | {loop_s:.3f} | "
          f"{args.column_windows / loop_s:,.0f} |\n\nKL agreement: max abs diff {worst:.1e}")
    return 0 if worst <= 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
