"""A year of daily windows of a column that never matches its baseline: fixed against learned.

Tables a team monitors rarely match their baseline exactly: the baseline was taken in another
season, a product launch moved a share for good, weekends differ from weekdays. Each replay
draws a baseline of --baseline-rows from N(0, 1), bins it as the product does (20 quantile
bins plus below/above and null), then 365 daily windows of n rows from N(mu_t, 1) with
mu_t = offset + weekend shift + wander: an offset drawn uniformly from --offset (sigma, random
sign), a weekend shift of --weekend sigma (a second scenario has none) and N(0, --jitter)
day-to-day wander. On a random --inject share of days the window moves a further delta away
from the baseline, delta chosen so that the binned PSI between N(mu_t, 1) and
N(mu_t + delta, 1) is --shift-psi: a change a person would want to hear about. Every window
goes through the production path (`kl_udfs.core.udfs.drift_figures`, then
`kl_udfs.core.verdict.decide`) with the default fixed rule, with `thresholds: learned`, and with
learned thresholds per weekday.

Reported: false alarms (flagged share of the days without an injected change, after the first
--skip days, which the learned rules spend warming up) and detection (flagged share of the days
with one), over --replays replays.

    python -m bench.replay [--replays 20] [--rows 10000 100000] [--write]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import norm

from kl_udfs.core.bins import ColumnBins
from kl_udfs.core.udfs import drift_figures
from kl_udfs.core.verdict import Learning, Policy, decide

DOC = Path(__file__).resolve().parents[1] / "docs" / "bench" / "learned_thresholds.md"
DAYS = 365
START = "2026-01-05"  # a Monday


def binned_psi(bins: ColumnBins, mu: float, delta: float) -> float:
    edges = np.asarray(bins.splits(), dtype=np.float64)
    p = np.diff(norm.cdf(edges, loc=mu))
    q = np.diff(norm.cdf(edges, loc=mu + delta))
    keep = (p > 1e-300) & (q > 1e-300)
    return float(np.sum((q[keep] - p[keep]) * np.log(q[keep] / p[keep])))


def replay(rng: np.random.Generator, n: int, baseline_rows: int, offset: tuple[float, float],
           weekend: float, jitter: float, inject: float, shift_psi: float,
           ) -> tuple[pd.DataFrame, np.ndarray]:
    """Long-format counts of one replay, and which days carry an injected change."""
    reference = rng.normal(size=baseline_rows)
    plain = ColumnBins("x", "numeric", "double",
                       tuple(np.unique(np.quantile(reference, np.arange(1, 20) / 20))))
    bins = plain.with_range(float(reference.min()), float(reference.max()))
    baseline = np.bincount(bins.assign(reference), minlength=bins.n_bins)
    away = rng.choice([-1.0, 1.0])
    days = pd.Timestamp(START) + pd.to_timedelta(np.arange(DAYS), unit="D")
    mu = away * (rng.uniform(*offset) + weekend * (days.weekday >= 5)) \
        + rng.normal(0.0, jitter, DAYS)
    injected = rng.random(DAYS) < inject
    shifted = [m + away * brentq(lambda d, m=m: binned_psi(bins, m, away * d) - shift_psi,
                                 1e-4, 5.0) if hit else m
               for m, hit in zip(mu, injected, strict=True)]
    counts = np.stack([np.bincount(bins.assign(rng.normal(m, 1.0, n)), minlength=bins.n_bins)
                       for m in shifted])
    k = bins.n_bins
    frame = pd.DataFrame({
        "window_idx": np.repeat(np.arange(DAYS), k), "column_idx": 0,
        "bin": np.tile(np.arange(k), DAYS), "bin_label": np.tile(bins.labels(), DAYS),
        "bin_role": np.tile(bins.roles(), DAYS), "baseline_count": np.tile(baseline, DAYS),
        "current_count": counts.ravel()})
    return frame, injected


def verdicts(counts: pd.DataFrame, policy: Policy) -> np.ndarray:
    figures = drift_figures(counts, pseudo_count=0.5, top_n=5)
    figures["column_name"], figures["column_kind"] = "x", "numeric"
    figures["window_start"] = pd.Timestamp(START) + pd.to_timedelta(
        figures["window_idx"], unit="D")
    return (decide(figures, policy)["status"] == "drift").to_numpy()


RULES = {
    "fixed": Policy.defaults(),
    "learned": Policy.defaults(learning=Learning()),
    "learned per weekday": Policy.defaults(learning=Learning(seasonality="weekday")),
}


def run(replays: int, rows: Sequence[int], baseline_rows: int, offset: tuple[float, float],
        weekend: float, jitter: float, inject: float, shift_psi: float, skip: int, seed: int,
        ) -> list[dict[str, object]]:
    out = []
    judged = np.arange(DAYS) >= skip
    for n, weekend_shift in ((n, w) for w in (0.0, weekend) for n in rows):
        tallies = {name: [0, 0, 0, 0] for name in RULES}  # fa, quiet, hit, shifts
        for r in range(replays):
            rng = np.random.default_rng([seed, n, r])
            counts, injected = replay(rng, n, baseline_rows, offset, weekend_shift, jitter,
                                      inject, shift_psi)
            quiet, shifts = judged & ~injected, judged & injected
            for name, policy in RULES.items():
                flagged = verdicts(counts, policy)
                t = tallies[name]
                t[0] += int(flagged[quiet].sum())
                t[1] += int(quiet.sum())
                t[2] += int(flagged[shifts].sum())
                t[3] += int(shifts.sum())
        for name, (fa, quiet_days, hit, shift_days) in tallies.items():
            out.append({"weekend": weekend_shift, "rows": n, "rule": name,
                        "false_alarms": fa / quiet_days, "detection": hit / shift_days,
                        "quiet_days": quiet_days, "shift_days": shift_days})
    return out


def table(results: list[dict[str, object]]) -> str:
    lines = ["| weekend shift | window rows | rule | false alarms (days without a change) | "
             "detection (days with one) | days without / with |", "|---|---|---|---|---|---|"]
    for r in results:
        fa, hit = float(r["false_alarms"]), float(r["detection"])  # type: ignore[arg-type]
        lines.append(f"| {r['weekend']:g} sigma | {r['rows']:,} | {r['rule']} | "
                     f"{100 * fa:.1f}% | {100 * hit:.1f}% | "
                     f"{r['quiet_days']:,} / {r['shift_days']:,} |")
    return "\n".join(lines)


READING = """\
Reading. The fixed rule (PSI 0.1 and FDR 0.01) judges every window against the baseline, so
a column whose standing offset is near or above PSI 0.1 flags most ordinary days (false
alarms). Learned thresholds take the level and the day-to-day spread of the column's own PSI
from its past windows, so the standing offset is absorbed and the change stands out. Without
seasonality, a weekend step larger than the day-to-day noise is itself a change: at 100,000
rows it is flagged on weekends; per weekday, it is absorbed. Learned thresholds are
one-sided: a change that moves a column back towards its baseline lowers its divergence and
is not flagged by them.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--replays", type=int, default=20)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--baseline-rows", type=int, default=300_000)
    parser.add_argument("--offset", type=float, nargs=2, default=[0.1, 0.4],
                        help="range of the window's standing offset from the baseline, sigma")
    parser.add_argument("--weekend", type=float, default=0.1, help="weekend shift, sigma")
    parser.add_argument("--jitter", type=float, default=0.01, help="daily wander, sigma")
    parser.add_argument("--skip", type=int, default=100,
                        help="days not counted: the learned rules warm up (14 per weekday)")
    parser.add_argument("--inject", type=float, default=0.05, help="share of shifted days")
    parser.add_argument("--shift-psi", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--write", action="store_true", help=f"write {DOC.name}")
    args = parser.parse_args(argv)
    results = run(args.replays, args.rows, args.baseline_rows, tuple(args.offset),
                  args.weekend, args.jitter, args.inject, args.shift_psi, args.skip, args.seed)
    text = table(results)
    print(text)
    if args.write:
        DOC.write_text(
            "# Fixed and learned thresholds on a column that never matches its baseline\n\n"
            f"`python -m bench.replay --replays {args.replays} --write` ({args.replays} replays "
            f"of {DAYS} daily windows, seed {args.seed}; baseline {args.baseline_rows:,} rows of "
            f"N(0, 1); windows N(mu, 1) with a standing offset of {args.offset[0]:g} to "
            f"{args.offset[1]:g} sigma, no weekend shift or one of {args.weekend:g} sigma, a daily "
            f"wander of {args.jitter:g} sigma; {100 * args.inject:.0f}% of days moved further "
            f"away by a change of binned PSI {args.shift_psi:g}; the first {args.skip} days "
            "(warm-up) not counted).\n\n" + text + "\n\n" + READING)
    return 0


if __name__ == "__main__":
    sys.exit(main())
