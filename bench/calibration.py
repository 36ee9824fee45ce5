"""Calibration of the verdict: false alarms without drift, multiplicity, detection per change.

Every window goes through the production path, in numpy and pandas only (no Spark): long-format
counts -> `kl_udfs.core.udfs.drift_figures` -> `kl_udfs.core.verdict.decide` with
`Policy.defaults()`.
Many windows go into one call, each its own `window_idx`.

Every window gets a FRESH baseline, built as `kl_udfs.spark.baseline` builds one, and a window drawn
from the same distribution (sections 1 and 2) or from a changed one (section 3):

numeric      edges = the baseline's quantiles (ranks ceil(j S / k) of the S non-null rows the
             edges are learnt from: all rows, or a random share of about k x 10,000 rows as
             `quantile_sample` keeps), range bins at the baseline's exact min and max, null bin.
             Simulated exactly, without drawing rows: the probability masses between order
             statistics of a uniform sample are Dirichlet (gamma spacings), the rows outside
             the edge sample are multinomial over those cells, and a cell's minimum or maximum
             of c uniform rows sits at a Beta(1, c) fraction of it. The true (N(0, 1)) shares
             of the bins follow, hence the window's counts: multinomial. Section 4 compares
             this with real N(0, 1) rows binned by `ColumnBins.assign`. Histograms carry
             no moments, so the mean and std rules judge only in section 6, which draws
             real rows of several distributions.
categorical  Zipf-like shares (1 / rank) over 5 k categories plus nulls; the baseline's counts
             are multinomial, its top k categories by count are the bins (ties: lower rank),
             then `<other>` and `<unseen>` counted leave-one-out as `kl_udfs.spark.baseline` does
             (values held by one row are `<unseen>`); the window is multinomial over the true
             shares of the top k, of the other values the baseline saw and of those it never
             saw (the seen-value filter's false positives, at most about 1.4% of unseen
             values, are not simulated).

    python -m bench.calibration [--windows 2000] [--quick] [--seed 2026] [--write | --out PATH]
                                [--no-plots]

With --write (or --out) the figures also go to calibration.json beside the report, and
bench/calibration_plot.py draws calibration_false_alarms.png and calibration_detection.png.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import ndtr, ndtri
from scipy.stats import beta as beta_dist

from bench.peers import venvs
from kl_udfs.core import contract
from kl_udfs.core.bins import ColumnBins, numeric_edges
from kl_udfs.core.stats import moments
from kl_udfs.core.udfs import drift_figures
from kl_udfs.core.verdict import Policy, decide

DOC = Path(__file__).resolve().parents[1] / "docs" / "bench" / "calibration.md"
PLOT = Path(__file__).resolve().parent / "calibration_plot.py"
SEED = 2026
# kl_udfs.spark.baseline.QUANTILE_ROWS_PER_BIN (that module needs Spark)
QUANTILE_ROWS_PER_BIN = 10_000
NULL_SHARE = 0.01
CATEGORIES_PER_BIN = 5  # categorical columns have 5 k distinct values, shares ~ 1 / rank
ZIPF_EXPONENT = 1.0
PSEUDO_COUNT = 0.5  # the UDF's default smoothing (kl_udfs.core.stats.smoothing)
TOP_N = 5
SECTION_FALSE_ALARMS, SECTION_MULTIPLICITY, SECTION_DETECTION, SECTION_CHECK = 1, 2, 3, 4
SECTION_SELECTION = 5
SECTION_MOMENTS = 6
KIND_CODE = {contract.NUMERIC: 0, contract.CATEGORICAL: 1}

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


# ---------------------------------------------------------------------------------- changes

@dataclass(frozen=True)
class Change:
    """The window's distribution: the baseline's, or one change of it."""

    name: str
    kind: str = contract.NUMERIC
    bins: int = 20
    shift: float = 0.0  # in baseline sigmas
    scale: float = 1.0
    tail: bool = False  # the top 5% of values (above N(0, 1)'s 95th percentile) times 10
    baseline_null: float = NULL_SHARE
    window_null: float = NULL_SHARE
    unseen: float = 0.0  # share of window rows in a category the baseline never saw
    holdout: bool = False  # categorical: choose the top k on an independent sample of rows
    code: int = 0  # for the seed

    def cdf_sf(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """P(X <= t) and P(X > t) of the window's non-null values (numeric)."""
        if self.tail:
            z = float(ndtri(0.95))
            cdf = ndtr(np.minimum(t, z)) + np.maximum(0.0, ndtr(t / 10.0) - ndtr(z))
            sf = np.maximum(0.0, ndtr(z) - ndtr(t)) + ndtr(-np.maximum(z, t / 10.0))
            return cdf, sf
        u = (t - self.shift) / self.scale
        return ndtr(u), ndtr(-u)


def stationary(kind: str, bins: int) -> Change:
    return Change("none", kind, bins)


DETECTION_CHANGES = (
    Change("mean shift 0.1 sigma", shift=0.1, code=1),
    Change("mean shift 0.25 sigma", shift=0.25, code=2),
    Change("mean shift 0.33 sigma (PSI about 0.1)", shift=0.33, code=10),
    Change("mean shift 0.5 sigma (reference)", shift=0.5, code=3),
    Change("std x 1.25", scale=1.25, code=4),
    Change("new nulls 5% (baseline 0%)", baseline_null=0.0, window_null=0.05, code=5),
    Change("top 5% of values x 10", tail=True, code=6),
    Change("unseen category 5%", kind=contract.CATEGORICAL, unseen=0.05, code=7),
    Change("mean shift 0.1 sigma, 200 bins", bins=200, shift=0.1, code=8),
    Change("mean shift 0.25 sigma, 200 bins", bins=200, shift=0.25, code=9),
)


# ---------------------------------------------------------------------------------- simulation

@dataclass(frozen=True)
class Batch:
    """Histograms of one column in many windows: (windows, bins) counts, one layout."""

    kind: str
    baseline: IntArray
    current: IntArray
    labels: list[str]
    roles: list[str]


def baseline_rows(n: int, factor: int, floor: int, cap: int) -> int:
    return int(min(max(factor * n, floor), cap))


def template(kind: str, bins: int) -> ColumnBins:
    """The bin layout (labels, roles, n_bins) every window of this kind shares."""
    if kind == contract.NUMERIC:
        edges = tuple(float(e) for e in ndtri(np.arange(1, bins) / bins))
        return ColumnBins("x", "numeric", "double", edges).with_range(-5.0, 5.0)
    return ColumnBins("c", "categorical", "string",
                      categories=tuple(f"top{i + 1}" for i in range(bins)), seen_filter="0" * 16)


def _multinomial(rng: np.random.Generator, n: IntArray | int, p: FloatArray) -> IntArray:
    p = np.clip(p, 0.0, None)
    p = p / p.sum(axis=-1, keepdims=True)
    return rng.multinomial(n, p).astype(np.int64)


def numeric_batch(rng: np.random.Generator, windows: int, n: int, big_n: int,
                  change: Change) -> Batch:
    """Exact simulation of fresh quantile baselines of big_n rows and windows of n rows."""
    k = change.bins
    layout = template(contract.NUMERIC, k)
    nonnull = rng.binomial(big_n, 1.0 - change.baseline_null, size=windows).astype(np.int64)
    wanted = k * QUANTILE_ROWS_PER_BIN
    sample = nonnull if big_n <= wanted else rng.binomial(nonnull, wanted / big_n)
    sample = sample.astype(np.int64)
    if sample.min() < 2 * k:
        raise ValueError(f"too few rows ({sample.min()}) to learn {k} quantile bins")
    j = np.arange(1, k, dtype=np.int64)
    ranks = (j[None, :] * sample[:, None] + k - 1) // k  # ceil(j S / k), 1-based
    one = np.ones((windows, 1), dtype=np.int64)
    order_stats = np.hstack([0 * one, one, ranks, sample[:, None], sample[:, None] + 1])
    alpha = np.diff(order_stats, axis=1)  # cells: below the sample's min, k bins, above its max
    gamma = rng.standard_gamma(alpha.astype(np.float64))
    cell = gamma / gamma.sum(axis=1, keepdims=True)
    edge_sample = alpha[:, 1:-1].copy()  # the sample's own rows in each bin
    edge_sample[:, -1] += 1  # [e_(k-1), max] holds the max itself
    rest = _multinomial(rng, nonnull - sample, cell)
    c_low, c_high = rest[:, 0], rest[:, -1]
    below = cell[:, 0] * np.where(c_low > 0, rng.beta(1.0, np.maximum(c_low, 1)), 1.0)
    above = cell[:, -1] * np.where(c_high > 0, rng.beta(1.0, np.maximum(c_high, 1)), 1.0)

    values = edge_sample + rest[:, 1:-1]
    values[:, 0] += c_low
    values[:, -1] += c_high
    zero = np.zeros((windows, 1), dtype=np.int64)
    base = np.hstack([zero, values, zero, (big_n - nonnull)[:, None]])

    mass = cell[:, 1:-1].copy()  # the bins' true shares of non-null rows
    mass[:, 0] += cell[:, 0] - below
    mass[:, -1] += cell[:, -1] - above
    true = np.hstack([below[:, None], mass, above[:, None]])
    if change.shift or change.scale != 1.0 or change.tail:
        true = _changed_masses(true, change)
    q = change.window_null
    current = _multinomial(rng, n, np.hstack([(1.0 - q) * true, np.full((windows, 1), q)]))
    assert base.shape[1] == layout.n_bins
    return Batch(contract.NUMERIC, base, current, layout.labels(), layout.roles())


def _changed_masses(true: FloatArray, change: Change) -> FloatArray:
    """The bins' shares under the changed distribution, from the bins' N(0, 1) boundaries."""
    lower = np.cumsum(true, axis=1)[:, :-1]  # P(X < boundary): low, e1, ..., high
    upper = np.cumsum(true[:, ::-1], axis=1)[:, ::-1][:, 1:]  # P(X >= boundary), precise tails
    x = np.where(lower < 0.5, ndtri(lower), -ndtri(upper))
    cdf, sf = change.cdf_sf(x)
    w = true.shape[0]
    cdf = np.hstack([np.zeros((w, 1)), cdf, np.ones((w, 1))])
    sf = np.hstack([np.ones((w, 1)), sf, np.zeros((w, 1))])
    left = np.hstack([np.full((w, 1), -np.inf), x])  # each bin's lower boundary
    out: FloatArray = np.where(left < 0.0, np.diff(cdf, axis=1), -np.diff(sf, axis=1))
    return np.maximum(out, 0.0)


def categorical_batch(rng: np.random.Generator, windows: int, n: int, big_n: int,
                      change: Change) -> Batch:
    k = change.bins
    layout = template(contract.CATEGORICAL, k)
    shares = 1.0 / np.arange(1, CATEGORIES_PER_BIN * k + 1) ** ZIPF_EXPONENT
    shares /= shares.sum()
    nonnull = rng.binomial(big_n, 1.0 - change.baseline_null, size=windows).astype(np.int64)
    counts = rng.multinomial(nonnull, shares).astype(np.int64)
    # Production ranks the categories on the very counts it stores (holdout: on other rows).
    ranked = rng.multinomial(nonnull, shares) if change.holdout else counts
    top = np.argsort(-ranked, axis=1, kind="stable")[:, :k]  # ties: the lower rank (name) first
    top_counts = np.take_along_axis(counts, top, axis=1)
    if top_counts.min() == 0 and not change.holdout:
        raise ValueError("a baseline saw fewer than k categories: its layout would differ")
    # Leave one out, as kl_udfs.spark.baseline counts: a value held by one row is <unseen>.
    in_top = np.zeros(counts.shape, dtype=bool)
    np.put_along_axis(in_top, top, True, axis=1)
    single = counts == 1
    base = np.hstack([np.where(top_counts == 1, 0, top_counts),
                      (counts * (~in_top & ~single)).sum(axis=1)[:, None],
                      single.sum(axis=1)[:, None], (big_n - nonnull)[:, None]])
    # The window: top k, <other> (seen beyond the top k), <unseen> (never seen), null.
    p_top = shares[top]
    p_other = (shares * (~in_top & (counts > 0))).sum(axis=1)
    p_unseen = (shares * (counts == 0)).sum(axis=1)
    q = change.window_null
    seen = (1.0 - change.unseen) * (1.0 - q)
    probs = np.hstack([seen * p_top, (seen * p_other)[:, None],
                       (seen * p_unseen + change.unseen)[:, None],
                       np.full((windows, 1), (1.0 - change.unseen) * q)])
    current = _multinomial(rng, n, probs)
    return Batch(contract.CATEGORICAL, base, current, layout.labels(), layout.roles())


def simulate(rng: np.random.Generator, windows: int, n: int, big_n: int,
             change: Change) -> Batch:
    make = numeric_batch if change.kind == contract.NUMERIC else categorical_batch
    return make(rng, windows, n, big_n, change)


def raw_numeric_batch(rng: np.random.Generator, windows: int, n: int, big_n: int,
                      change: Change) -> Batch:
    """The same as numeric_batch from real N(0, 1) rows, binned by ColumnBins (slow)."""
    k = change.bins
    base_rows, current_rows = [], []
    j = np.arange(1, k)
    for _ in range(windows):
        values = rng.normal(size=big_n)
        values[rng.random(big_n) < change.baseline_null] = np.nan
        finite = values[~np.isnan(values)]
        wanted = k * QUANTILE_ROWS_PER_BIN
        learnt = finite if big_n <= wanted else finite[rng.random(finite.size) < wanted / big_n]
        ordered = np.sort(learnt)
        edges = numeric_edges(ordered[(j * ordered.size + k - 1) // k - 1].tolist())
        bins = ColumnBins("x", "numeric", "double", edges).with_range(
            float(finite.min()), float(finite.max()))
        window = change.shift + change.scale * rng.normal(size=n)
        window[rng.random(n) < change.window_null] = np.nan
        base_rows.append(np.bincount(bins.assign(values), minlength=bins.n_bins))
        current_rows.append(np.bincount(bins.assign(window), minlength=bins.n_bins))
    layout = template(contract.NUMERIC, k)
    return Batch(contract.NUMERIC, np.array(base_rows, dtype=np.int64),
                 np.array(current_rows, dtype=np.int64), layout.labels(), layout.roles())


# ---------------------------------------------------------------------------------- production

def long_format(columns: Sequence[Batch]) -> pd.DataFrame:
    """drift_figures' input: column c of window w is batch c's row w."""
    parts = []
    for c, batch in enumerate(columns):
        windows, k = batch.baseline.shape
        parts.append(pd.DataFrame({
            "window_idx": np.repeat(np.arange(windows, dtype=np.int32), k),
            "column_idx": np.int32(c),
            "bin": np.tile(np.arange(k, dtype=np.int32), windows),
            "bin_label": np.tile(np.array(batch.labels, dtype=object), windows),
            "bin_role": np.tile(np.array(batch.roles, dtype=object), windows),
            "baseline_count": batch.baseline.ravel(),
            "current_count": batch.current.ravel(),
        }))
    return pd.concat(parts, ignore_index=True)


def figures_of(columns: Sequence[Batch]) -> pd.DataFrame:
    figures = drift_figures(long_format(columns), pseudo_count=PSEUDO_COUNT, top_n=TOP_N)
    idx = figures["column_idx"].to_numpy()
    figures["column_name"] = [f"col{i}" for i in idx]
    figures["column_kind"] = [columns[i].kind for i in idx]
    return figures


@dataclass
class Tally:
    """What the verdicts of some (window, column) rows add up to."""

    rows: int = 0
    drift: int = 0
    insufficient: int = 0
    effect: int = 0  # some rule's 99% upper bound reached its threshold
    monte_carlo: int = 0  # the G-test's p-value came from the Monte-Carlo test
    fired: Counter[str] = field(default_factory=Counter)  # rule -> rows it fired in
    combos: Counter[str] = field(default_factory=Counter)  # fired_rules of drift rows
    psi: list[float] = field(default_factory=list)
    g: list[float] = field(default_factory=list)
    dof: list[float] = field(default_factory=list)
    outside_rows: list[float] = field(default_factory=list)
    increase: list[float] = field(default_factory=list)  # unseen / out-of-range share increase

    @classmethod
    def of(cls, figures: pd.DataFrame, verdict: pd.DataFrame) -> Tally:
        status = verdict["status"].to_numpy(dtype=object)
        t = cls(rows=len(status), drift=int((status == contract.DRIFT).sum()),
                insufficient=int((status == contract.INSUFFICIENT).sum()))
        t.effect = sum(any(c["effect_reached"] for c in checks) for checks in verdict["checks"])
        method = figures["p_value_method"].astype(object).to_numpy()
        t.monte_carlo = int(sum(isinstance(m, str) and m.startswith("monte") for m in method))
        for rules, st in zip(verdict["fired_rules"], status, strict=True):
            t.fired.update(rules)
            if st == contract.DRIFT:
                t.combos["+".join(rules)] += 1
        t.psi = _floats(figures["psi_corrected"])
        t.g = _floats(figures["g_statistic"])
        t.dof = _floats(figures["dof"])
        outside = _floats(figures["current_outside_fraction"])
        count = _floats(figures["current_count"])
        t.outside_rows = [a * b for a, b in zip(outside, count, strict=True)]
        rule = "unseen_share" if (figures["column_kind"] == contract.CATEGORICAL).all() \
            else "out_of_range_share"
        t.increase = _floats(figures[contract.RULE[rule].figure])
        return t

    def share(self, what: int) -> float:
        return what / self.rows if self.rows else float("nan")


def _floats(column: pd.Series) -> list[float]:
    return pd.to_numeric(column, errors="coerce").astype("float64").tolist()


def upper_95(hits: int, total: int) -> float:
    """Clopper-Pearson upper bound of a share (two-sided 95%)."""
    return 1.0 if hits >= total else float(beta_dist.ppf(0.975, hits + 1, total - hits))


# ---------------------------------------------------------------------------------- sections

@dataclass(frozen=True)
class Plan:
    windows: int = 2000
    rows: tuple[int, ...] = (50, 200, 1_000, 10_000, 100_000, 1_000_000)
    bins: tuple[int, ...] = (10, 20, 200)
    kinds: tuple[str, ...] = (contract.NUMERIC, contract.CATEGORICAL)
    multi_rows: tuple[int, ...] = (50, 200, 1_000, 10_000)
    multi_columns: int = 50
    multi_windows: int = 400
    detect_rows: tuple[int, ...] = (1_000, 10_000, 100_000)
    detect_windows: int = 1000
    check_rows: tuple[int, ...] = (200, 1_000)
    check_windows: int = 1000
    selection_rows: int = 1_000  # section 5: categorical, 200 bins, these window rows
    selection_baselines: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    selection_windows: int = 1000
    moment_rows: tuple[int, ...] = (50, 200, 1_000, 10_000)
    moment_windows: int = 2000
    moment_detect_rows: tuple[int, ...] = (200, 1_000, 10_000)
    moment_detect_windows: int = 500
    baseline_factor: int = 10
    baseline_floor: int = 10_000
    baseline_cap: int = 10_000_000
    chunk: int = 1000  # windows per drift_figures call
    seed: int = SEED

    def big_n(self, n: int) -> int:
        return baseline_rows(n, self.baseline_factor, self.baseline_floor, self.baseline_cap)


QUICK = Plan(windows=300, rows=(50, 10_000), bins=(20,), multi_rows=(200,), multi_windows=40,
             detect_rows=(10_000,), detect_windows=100, check_rows=(200,), check_windows=100,
             selection_rows=200, selection_baselines=(10_000,), selection_windows=100,
             moment_rows=(200,), moment_windows=60, moment_detect_rows=(1_000,),
             moment_detect_windows=60)


def _rng(plan: Plan, section: int, n: int, change: Change, chunk: int) -> np.random.Generator:
    return np.random.default_rng(
        [plan.seed, section, n, change.bins, KIND_CODE[change.kind], change.code, chunk])


def measure(plan: Plan, section: int, n: int, change: Change, windows: int,
            policy: Policy, big_n: int | None = None) -> Tally:
    """Single-column windows of one cell, in chunks of plan.chunk windows."""
    total = Tally()
    for c, start in enumerate(range(0, windows, plan.chunk)):
        rng = _rng(plan, section, n, change, c) if big_n is None else np.random.default_rng(
            [plan.seed, section, n, change.bins, KIND_CODE[change.kind], change.code, c, big_n])
        batch = simulate(rng, min(plan.chunk, windows - start), n,
                         plan.big_n(n) if big_n is None else big_n, change)
        figures = figures_of([batch])
        part = Tally.of(figures, decide(figures, policy))
        total = _merge(total, part)
    return total


def _merge(a: Tally, b: Tally) -> Tally:
    return Tally(a.rows + b.rows, a.drift + b.drift, a.insufficient + b.insufficient,
                 a.effect + b.effect, a.monte_carlo + b.monte_carlo, a.fired + b.fired,
                 a.combos + b.combos, a.psi + b.psi, a.g + b.g, a.dof + b.dof,
                 a.outside_rows + b.outside_rows, a.increase + b.increase)


@dataclass(frozen=True)
class Cell:
    n: int
    big_n: int
    change: Change
    tally: Tally
    seconds: float


def false_alarms(plan: Plan) -> list[Cell]:
    cells = []
    policy = Policy.defaults()
    for kind in plan.kinds:
        for k in plan.bins:
            for n in plan.rows:
                began = time.process_time()
                tally = measure(plan, SECTION_FALSE_ALARMS, n, stationary(kind, k),
                                plan.windows, policy)
                cells.append(Cell(n, plan.big_n(n), stationary(kind, k), tally,
                                  time.process_time() - began))
                _progress(f"false alarms {kind} k={k} n={n}: {tally.drift}/{tally.rows}")
    return cells


@dataclass(frozen=True)
class Multi:
    n: int
    big_n: int
    windows: int
    columns: int
    any_flag: dict[str, float]  # correction -> share of windows with >= 1 drift column
    flags: dict[str, float]  # correction -> mean drift columns per window
    seconds: float


def multiplicity(plan: Plan, bins: int = 20) -> list[Multi]:
    """Windows of plan.multi_columns stationary columns: half numeric, half categorical."""
    policies = {"bh": Policy.defaults(), "none": Policy.defaults(correction="none")}
    out = []
    for n in plan.multi_rows:
        began = time.process_time()
        columns = []
        for c in range(plan.multi_columns):
            kind = contract.NUMERIC if c % 2 == 0 else contract.CATEGORICAL
            change = replace(stationary(kind, bins), code=c)
            columns.append(simulate(_rng(plan, SECTION_MULTIPLICITY, n, change, 0),
                                    plan.multi_windows, n, plan.big_n(n), change))
        figures = figures_of(columns)
        window = figures["window_idx"].to_numpy()
        any_flag, flags = {}, {}
        for name, policy in policies.items():
            drift = (decide(figures, policy)["status"] == contract.DRIFT).to_numpy()
            per_window = np.bincount(window, weights=drift, minlength=plan.multi_windows)
            any_flag[name] = float((per_window > 0).mean())
            flags[name] = float(per_window.mean())
        out.append(Multi(n, plan.big_n(n), plan.multi_windows, plan.multi_columns, any_flag,
                         flags, time.process_time() - began))
        _progress(f"multiplicity n={n}: {any_flag}")
    return out


def detection(plan: Plan) -> list[Cell]:
    policy = Policy.defaults()
    cells = []
    for change in DETECTION_CHANGES:
        for n in plan.detect_rows:
            began = time.process_time()
            tally = measure(plan, SECTION_DETECTION, n, change, plan.detect_windows, policy)
            cells.append(Cell(n, plan.big_n(n), change, tally, time.process_time() - began))
            _progress(f"detection {change.name} n={n}: {tally.drift}/{tally.rows}")
    return cells


@dataclass(frozen=True)
class Check:
    n: int
    big_n: int
    method: str
    tally: Tally


def check_simulator(plan: Plan, bins: int = 20) -> list[Check]:
    """The exact simulator against real N(0, 1) rows binned by ColumnBins.assign."""
    out: list[Check] = []
    policy = Policy.defaults()
    change = stationary(contract.NUMERIC, bins)
    for n in plan.check_rows:
        for method, make in (("exact (order statistics)", numeric_batch),
                             ("real rows, ColumnBins.assign", raw_numeric_batch)):
            rng = np.random.default_rng([plan.seed, SECTION_CHECK, n, bins, len(out)])
            batch = make(rng, plan.check_windows, n, plan.big_n(n), change)
            figures = figures_of([batch])
            out.append(Check(n, plan.big_n(n), method, Tally.of(figures, decide(figures, policy))))
    return out


def selection(plan: Plan, bins: int = 200) -> list[Cell]:
    """Stationary categorical windows against baselines of several sizes, and against one
    whose top k was chosen on an independent sample (no selection bias in its counts)."""
    policy = Policy.defaults()
    n = plan.selection_rows
    cells = []
    for big_n in plan.selection_baselines:
        for change in (stationary(contract.CATEGORICAL, bins),
                       replace(stationary(contract.CATEGORICAL, bins), name="holdout",
                               holdout=True, code=1)):
            if change.holdout and big_n != plan.selection_baselines[0]:
                continue
            began = time.process_time()
            tally = measure(plan, SECTION_SELECTION, n, change, plan.selection_windows, policy,
                            big_n)
            cells.append(Cell(n, big_n, change, tally, time.process_time() - began))
            _progress(f"selection {change.name} N={big_n}: {tally.drift}/{tally.rows}")
    return cells


Draw = Callable[[np.random.Generator, int], FloatArray]
# Section 6: real rows. The rule applies the moment rules to columns whose baseline kurtosis is
# at most contract.MOMENT_KURTOSIS_LIMIT; the last three are beyond it.
MOMENT_DISTRIBUTIONS: dict[str, Draw] = {
    "normal": lambda r, k: r.normal(size=k),
    "uniform (kurtosis 1.8)": lambda r, k: r.random(k),
    "Poisson(3), discrete": lambda r, k: r.poisson(3.0, size=k).astype(np.float64),
    "gamma(3) (kurtosis 5)": lambda r, k: r.gamma(3.0, size=k),
    "exponential (kurtosis 9)": lambda r, k: r.exponential(size=k),
    "lognormal(0, 1) (kurtosis 114)": lambda r, k: r.lognormal(0.0, 1.0, size=k),
    "Student t(3) (kurtosis infinite)": lambda r, k: r.standard_t(3.0, size=k),
    "normal, 1% of rows x 100": lambda r, k: r.normal(size=k) * np.where(
        r.random(k) < 0.01, 100.0, 1.0),
}
MOMENT_CHANGES = (  # N(0, 1) baselines; the window's N(shift, scale^2)
    Change("mean shift 0.15 sigma", shift=0.15, code=21),
    Change("mean shift 0.25 sigma", shift=0.25, code=22),
    Change("mean shift 0.33 sigma", shift=0.33, code=23),
    Change("std x 1.15", scale=1.15, code=24),
    Change("std x 1.25", scale=1.25, code=25),
    Change("std x 0.8", scale=0.8, code=26),
)
MOMENT_RULES = ("mean_shift", "std_change")


def raw_long_format(rng: np.random.Generator, windows: int, n: int, big_n: int, draw: Draw,
                    change: Change, bins: int = 20) -> pd.DataFrame:
    """drift_figures' input from real rows, binned and summed as production does: edges at the
    baseline's quantiles (order statistics, as `quantile_sample` + percentile_approx), range
    bins at its min and max, the moments frame from the edges, 1% nulls on both sides."""
    parts = []
    j = np.arange(1, bins)
    for w in range(windows):
        base = draw(rng, big_n)
        current = change.shift + change.scale * draw(rng, n)
        base[rng.random(big_n) < NULL_SHARE] = np.nan
        current[rng.random(n) < NULL_SHARE] = np.nan
        finite = np.sort(base[np.isfinite(base)])
        edges = numeric_edges(finite[(j * finite.size + bins - 1) // bins - 1].tolist())
        center, scale = moments.frame_of(edges)
        column = ColumnBins("x", "numeric", "double", edges, center=center, scale=scale) \
            .with_range(float(finite[0]), float(finite[-1]))
        k = column.n_bins
        frame = pd.DataFrame({
            "window_idx": np.int32(w), "column_idx": np.int32(0),
            "bin": np.arange(k, dtype=np.int32), "bin_label": column.labels(),
            "bin_role": column.roles(),
            "baseline_count": np.bincount(column.assign(base), minlength=k),
            "current_count": np.bincount(column.assign(current), minlength=k),
            "center": center, "scale": scale})
        for side, values in (("baseline", base), ("current", current)):
            sums = moments.power_sums(values, center, scale)
            # the column's total on its first bin, as drift.py puts it
            for i, name in enumerate(moments.side_sums(side)):
                frame[name] = np.where(frame["bin"] == 0, sums[i], 0.0)
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class RawCell:
    distribution: str
    change: Change
    n: int
    big_n: int
    tally: Tally
    judged: float  # share of windows the moment rules judged
    without: Tally | None  # the same windows with the moment rules switched off


def _without_moments() -> Policy:
    base = Policy.defaults()
    return replace(base, thresholds={**base.thresholds,
                                     **{r: (None, "monitor") for r in MOMENT_RULES}})


def raw_cell(plan: Plan, distribution: str, change: Change, n: int, windows: int,
             compare_without: bool) -> RawCell:
    names = list(MOMENT_DISTRIBUTIONS)
    rng = np.random.default_rng([plan.seed, SECTION_MOMENTS, n, names.index(distribution),
                                 change.code])
    frame = raw_long_format(rng, windows, n, plan.big_n(n), MOMENT_DISTRIBUTIONS[distribution],
                            change)
    figures = drift_figures(frame, pseudo_count=PSEUDO_COUNT, top_n=TOP_N)
    figures["column_name"], figures["column_kind"] = "x", contract.NUMERIC
    verdict = decide(figures, Policy.defaults())
    judged = float(np.mean([any(c["rule"] == "mean_shift" for c in checks)
                            for checks in verdict["checks"]]))
    without = Tally.of(figures, decide(figures, _without_moments())) if compare_without \
        else None
    return RawCell(distribution, change, n, plan.big_n(n), Tally.of(figures, verdict), judged,
                   without)


def moment_rules(plan: Plan) -> tuple[list[RawCell], list[RawCell]]:
    """Section 6: false alarms per distribution, and detection with and without the moment
    rules, on real rows."""
    stationary_cells, changed = [], []
    none = Change("none")
    for distribution in MOMENT_DISTRIBUTIONS:
        for n in plan.moment_rows:
            cell = raw_cell(plan, distribution, none, n, plan.moment_windows, False)
            stationary_cells.append(cell)
            _progress(f"moments {distribution} n={n}: {cell.tally.drift}/{cell.tally.rows}")
    for change in MOMENT_CHANGES:
        for n in plan.moment_detect_rows:
            cell = raw_cell(plan, "normal", change, n, plan.moment_detect_windows, True)
            changed.append(cell)
            _progress(f"moments {change.name} n={n}: {cell.tally.drift}/{cell.tally.rows}")
    return stationary_cells, changed


# ---------------------------------------------------------------------------------- tables

def _pct(share: float, digits: int = 2) -> str:
    return f"{100 * share:.{digits}f}%"


def _rules(counter: Counter[str], limit: int = 3) -> str:
    if not counter:
        return "-"
    return ", ".join(f"{name or '(none)'} {count}" for name, count in counter.most_common(limit))


def _median(values: Sequence[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.median(finite)) if finite else float("nan")


def false_alarm_matrix(cells: Sequence[Cell]) -> str:
    keys = list(dict.fromkeys((c.change.kind, c.change.bins) for c in cells))
    rows = list(dict.fromkeys(c.n for c in cells))
    by = {(c.change.kind, c.change.bins, c.n): c for c in cells}
    lines = ["| window rows | " + " | ".join(f"{kind} k={k}" for kind, k in keys) + " |",
             "|---:|" + "---:|" * len(keys)]
    for n in rows:
        shown = []
        for kind, k in keys:
            share = by[(kind, k, n)].tally.share(by[(kind, k, n)].tally.drift)
            shown.append(f"**{_pct(share)}**" if share > contract.DEFAULT_FDR else _pct(share))
        lines.append(f"| {n:,} | " + " | ".join(shown) + " |")
    return "\n".join(lines)


def false_alarm_table(cells: Sequence[Cell]) -> str:
    lines = ["| kind | bins | window rows | baseline rows | windows | drift | 95% upper | "
             "insufficient | effect reached | G p by Monte-Carlo | mean unseen / out-of-range "
             "increase | rules fired (windows) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c in cells:
        t = c.tally
        lines.append(
            f"| {c.change.kind} | {c.change.bins} | {c.n:,} | {c.big_n:,} | {t.rows:,} | "
            f"{_pct(t.share(t.drift))} | {_pct(upper_95(t.drift, t.rows))} | "
            f"{_pct(t.share(t.insufficient), 1)} | {_pct(t.share(t.effect), 1)} | "
            f"{_pct(t.share(t.monte_carlo), 1)} | {_points(t.increase)} | "
            f"{_rules(t.fired, 4)} |")
    return "\n".join(lines)


def _points(values: Sequence[float]) -> str:
    finite = [v for v in values if np.isfinite(v)]
    return f"{100 * float(np.mean(finite)):+.3f} pt" if finite else "-"


def selection_table(cells: Sequence[Cell]) -> str:
    lines = ["| baseline rows | top k chosen on | window rows | windows | drift | 95% upper | "
             "mean unseen_share increase | rules fired (windows) |",
             "|---:|---|---:|---:|---:|---:|---:|---|"]
    for c in cells:
        t = c.tally
        chosen = "an independent sample" if c.change.holdout else "the counted rows (production)"
        lines.append(f"| {c.big_n:,} | {chosen} | {c.n:,} | {t.rows:,} | "
                     f"{_pct(t.share(t.drift))} | {_pct(upper_95(t.drift, t.rows))} | "
                     f"{_points(t.increase)} | {_rules(t.fired, 4)} |")
    return "\n".join(lines)


def multiplicity_table(results: Sequence[Multi]) -> str:
    lines = ["| window rows | baseline rows | columns per window | windows | >= 1 false flag, "
             "BH (default) | >= 1 false flag, correction none | false flags per window, BH / "
             "none |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for m in results:
        lines.append(f"| {m.n:,} | {m.big_n:,} | {m.columns} | {m.windows:,} | "
                     f"{_pct(m.any_flag['bh'], 1)} | {_pct(m.any_flag['none'], 1)} | "
                     f"{m.flags['bh']:.3f} / {m.flags['none']:.3f} |")
    return "\n".join(lines)


def detection_table(cells: Sequence[Cell]) -> str:
    lines = ["| change | kind | bins | window rows | windows | detected | median psi_corrected "
             "| most common fired_rules (drift windows) |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for c in cells:
        t = c.tally
        lines.append(f"| {c.change.name} | {c.change.kind} | {c.change.bins} | {c.n:,} | "
                     f"{t.rows:,} | {_pct(t.share(t.drift), 1)} | {_median(t.psi):.4f} | "
                     f"{_rules(t.combos, 2)} |")
    return "\n".join(lines)


def check_table(checks: Sequence[Check]) -> str:
    lines = ["| window rows | baseline rows | simulation | windows | drift | mean G | mean dof | "
             "mean psi_corrected | out-of-range rows per window |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for c in checks:
        t = c.tally
        lines.append(f"| {c.n:,} | {c.big_n:,} | {c.method} | {t.rows:,} | "
                     f"{_pct(t.share(t.drift))} | {np.mean(t.g):.2f} | {np.mean(t.dof):.2f} | "
                     f"{np.mean(t.psi):.4f} | {np.mean(t.outside_rows):.3f} |")
    return "\n".join(lines)


def moment_false_alarm_table(cells: Sequence[RawCell]) -> str:
    lines = ["| distribution | window rows | baseline rows | windows | drift | 95% upper | "
             "moment rules judged | rules fired (windows) |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for c in cells:
        t = c.tally
        share = t.share(t.drift)
        shown = f"**{_pct(share)}**" if share > contract.DEFAULT_FDR else _pct(share)
        lines.append(f"| {c.distribution} | {c.n:,} | {c.big_n:,} | {t.rows:,} | {shown} | "
                     f"{_pct(upper_95(t.drift, t.rows))} | {_pct(c.judged, 0)} | "
                     f"{_rules(t.fired)} |")
    return "\n".join(lines)


def moment_detection_table(cells: Sequence[RawCell]) -> str:
    lines = ["| change (normal rows) | window rows | windows | detected | without the moment "
             "rules | most common fired_rules (drift windows) |",
             "|---|---:|---:|---:|---:|---|"]
    for c in cells:
        t = c.tally
        assert c.without is not None
        lines.append(f"| {c.change.name} | {c.n:,} | {t.rows:,} | {_pct(t.share(t.drift), 1)} | "
                     f"{_pct(c.without.share(c.without.drift), 1)} | {_rules(t.combos, 2)} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- reading

@dataclass(frozen=True)
class Results:
    plan: Plan
    false_alarms: list[Cell]
    multiplicity: list[Multi]
    detection: list[Cell]
    checks: list[Check]
    selection: list[Cell]
    moments: list[RawCell]
    moment_detection: list[RawCell]
    cpu: float
    wall: float


def _rate(c: Cell) -> float:
    return c.tally.share(c.tally.drift)


def reading(r: Results) -> str:
    """Sentences computed from this run's figures (MECHANISMS explains them)."""
    target = contract.DEFAULT_FDR
    out = []
    fa = r.false_alarms
    worst = max(fa, key=_rate)
    over = [c for c in fa if _rate(c) > target]
    out.append(
        f"- False alarms: the worst cell is {_pct(_rate(worst))} ({worst.change.kind}, "
        f"k={worst.change.bins}, n={worst.n:,}; rules: {_rules(worst.tally.fired)}). "
        + ("Every cell is within the 1% target." if not over else
           f"{len(over)} of {len(fa)} cells miss the 1% target: " + "; ".join(
               f"{c.change.kind} k={c.change.bins} n={c.n:,}: {_pct(_rate(c))} "
               f"(95% upper {_pct(upper_95(c.tally.drift, c.tally.rows))}; "
               f"{_rules(c.tally.fired)})" for c in over) + "."))
    never = [c for c in fa if c.tally.effect == 0]
    if never:
        out.append(f"- In {len(never)} of {len(fa)} cells (n from "
                   f"{min(c.n for c in never):,}) no rule's 99% bound reached its threshold in "
                   "any window: those windows could not alarm whatever the p-values.")
    if r.multiplicity:
        parts = [f"n={m.n:,}: {_pct(m.any_flag['bh'], 1)} with BH, "
                 f"{_pct(m.any_flag['none'], 1)} without" for m in r.multiplicity]
        out.append(f"- Multiplicity ({r.multiplicity[0].columns} columns, windows with >= 1 "
                   "false flag): " + "; ".join(parts) + ".")
    weak = [c for c in r.detection if _rate(c) < 0.5]
    if weak:
        out.append("- Detected in fewer than half the windows: " + "; ".join(
            f"{c.change.name} at n={c.n:,} ({_pct(_rate(c), 1)}, median psi_corrected "
            f"{_median(c.tally.psi):.3f})" for c in weak) + ".")
    if r.selection:
        parts = [f"baseline {c.big_n:,} rows"
                 + (" (top k on an independent sample)" if c.change.holdout else "")
                 + f": {_pct(_rate(c))}, unseen_share increase {_points(c.tally.increase)}"
                 for c in r.selection]
        out.append(f"- Top-k selection (categorical, 200 bins, n={r.selection[0].n:,}): "
                   + "; ".join(parts) + ".")
    if r.moments:
        worst_raw = max(r.moments, key=lambda c: c.tally.share(c.tally.drift))
        over_raw = [c for c in r.moments if c.tally.share(c.tally.drift) > target]
        out.append(
            f"- Real rows, every rule: the worst cell is "
            f"{_pct(worst_raw.tally.share(worst_raw.tally.drift))} ({worst_raw.distribution}, "
            f"n={worst_raw.n:,}; rules: {_rules(worst_raw.tally.fired)}); "
            + ("every cell is within the 1% target." if not over_raw else
               f"{len(over_raw)} of {len(r.moments)} cells miss it: " + "; ".join(
                   f"{c.distribution} n={c.n:,}: {_pct(c.tally.share(c.tally.drift))}"
                   for c in over_raw) + "."))
    gains = [c for c in r.moment_detection if c.without is not None]
    if gains:
        out.append("- What the moment rules add (detected with / without them): " + "; ".join(
            f"{c.change.name} at n={c.n:,}: {_pct(c.tally.share(c.tally.drift), 1)} / "
            f"{_pct(c.without.share(c.without.drift), 1)}" for c in gains
            if c.without is not None) + ".")
    return "\n".join(out)


MECHANISMS = """\
How to read these figures (what the rules do, `kl_udfs/core/verdict.py`):

- A rule can only fire when its effect could have reached its threshold: the 99% upper bound
  of the bias-corrected figure (`figure + 2.33 sd`) must be at least the threshold (PSI 0.1,
  shares +2 points). At large n the bound of a stationary column is far below the threshold,
  so false alarms there are structurally impossible ("effect reached" near 0%). At small n
  the bound reaches it in most windows, and the p-values alone decide: the G-test
  (Monte-Carlo conditional where sparse), one-sided Fisher tests and, on real rows, Welch's
  t-test and the log-sd z-test, Bonferroni'd over the active rules (x3 on histograms alone,
  x5 with the moment rules), then BH at FDR 1% over the window's columns. With valid
  p-values one column is flagged with probability at most 1%, and in practice less: the
  level is 1% / 3 (or / 5) per test and the Fisher tests are discrete.
- The moment rules see what the histogram spreads over many bins: a mean shift of 0.15 to
  0.33 sigma moves every bin a little, which the G-test with 20 degrees of freedom needs many
  rows to resolve and a t-test with one does not. They are switched off where the baseline's
  tails are heavy (kurtosis above the limit): there a sample's mean and standard deviation
  jump with single rows (the std test false-alarmed at up to 37% on Pareto rows before the
  limit), and the histogram rules, which a single row cannot move much, judge alone.
- The same gate makes the detection of a change *below* its threshold fall as n grows: a
  0.25 sigma shift (binned PSI about 0.06 < 0.1) fires at n = 1,000, where the bound is wide,
  and not at n = 100,000, where the figure is known to be under 0.1. That is the contract
  ("a rule stays quiet only when the change is below its threshold with 99% confidence"):
  a change that must be caught at every n needs a lower threshold (or learned thresholds),
  not more rows. Changes above their thresholds (0.5 sigma, new nulls, out-of-range values)
  are caught from n = 1,000 on.
- The unseen-category rule compares the window's `<unseen>` share (values no baseline row
  held) with the baseline's leave-one-out share (values one baseline row holds: the
  Good-Turing estimate of the chance that a new row brings a new value). A long-tailed
  column meets new values in every window; this is what makes that normal. An earlier rule
  compared `<other>` shares instead, and the baseline's `<other>` is biased low (the top k
  is chosen on the very counts stored, so the categories near the cut-off are in the top k
  partly because they were lucky): 6.9% false alarms at k = 200, n = 1,000; and a new
  category was diluted in a large `<other>`: 35.7% detected at n = 1,000. Section 5 keeps
  the selection check: the bias now reaches only the PSI rule, where it is negligible.
"""


# ---------------------------------------------------------------------------------- main

def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(plan: Plan) -> Results:
    began_cpu, began_wall = time.process_time(), time.perf_counter()
    fa = false_alarms(plan)
    multi = multiplicity(plan)
    det = detection(plan)
    checks = check_simulator(plan)
    chosen = selection(plan)
    raw, raw_detection = moment_rules(plan)
    return Results(plan, fa, multi, det, checks, chosen, raw, raw_detection,
                   time.process_time() - began_cpu, time.perf_counter() - began_wall)


def tables(r: Results) -> list[tuple[str, str, str]]:
    """(title, explanation, table) of every section."""
    plan = r.plan
    return [
        ("1. False alarms without drift",
         "Share of single-column windows whose status is `drift` when window and baseline "
         f"come from the same distribution ({plan.windows:,} windows per cell; target <= 1%, "
         "the default FDR at one column per window; bold: above it). `insufficient` counts "
         f"windows under `min_rows` ({contract.DEFAULT_MIN_ROWS}: none of these n). `effect "
         "reached`: some rule's 99% upper bound reached its threshold, the first condition of "
         "a flag. `mean unseen / out-of-range increase`: the window's `<unseen>` share minus "
         "the baseline's leave-one-out one (categorical) or its out-of-range share minus the "
         "baseline's (numeric), averaged. "
         "`rules fired`: windows each rule fired in.",
         false_alarm_matrix(r.false_alarms) + "\n\n" + false_alarm_table(r.false_alarms)),
        (f"2. Multiplicity: {plan.multi_columns} stationary columns per window",
         f"{plan.multi_columns} independent stationary columns (alternately numeric and "
         f"categorical, 20 bins) in each of {plan.multi_windows:,} windows: the share of "
         "windows with at least one column flagged, with Benjamini-Hochberg over the window's "
         "columns (the default) and with `Policy.defaults(correction=\"none\")`, on the same "
         "figures.",
         multiplicity_table(r.multiplicity)),
        ("3. Detection per change",
         "Share of windows flagged `drift` when the window comes from a changed distribution "
         f"({plan.detect_windows:,} windows per cell; numeric, 20 bins unless noted; "
         "baseline rows as in section 1). `median psi_corrected`: the measured figure of the "
         "psi rule (threshold 0.1).",
         detection_table(r.detection)),
        ("4. Simulator check",
         "The exact order-statistics simulation of numeric baselines against real N(0, 1) "
         "rows with 1% nulls, edges learnt from them and binned with `ColumnBins.assign` "
         f"(stationary, 20 bins, {plan.check_windows:,} windows each): the two should agree "
         "within noise.",
         check_table(r.checks)),
        ("5. Top-k selection and the unseen-category rule",
         "Stationary categorical windows (200 bins) against baselines of several sizes, and "
         "against a baseline whose top k was chosen on an independent sample of the same size "
         f"(its counts then carry no selection bias); {plan.selection_windows:,} windows each. "
         "The selection biases the baseline's `<other>` share low; the unseen rule reads "
         "`<unseen>`, which it does not touch.",
         selection_table(r.selection)),
        ("6. Moment rules on real rows",
         "Sections 1-5 simulate histograms, which carry no moments: the mean and std rules "
         "judge nothing there (as for a baseline built before them). Here every window is "
         "drawn as rows, binned by `ColumnBins.assign` (20 quantile bins + range bins + null, "
         "1% nulls) and summed with `kl_udfs.core.stats.moments.power_sums`, then judged by every "
         f"rule. False alarms: {plan.moment_windows:,} stationary windows per cell; `moment "
         "rules judged`: windows whose baseline kurtosis was within the limit "
         f"({contract.MOMENT_KURTOSIS_LIMIT:g}). Detection: N(0, 1) baselines, "
         f"{plan.moment_detect_windows:,} windows per cell, the same windows judged with the "
         "moment rules switched off beside them (thresholds mean_shift "
         f"{contract.RULE['mean_shift'].default_threshold:g}, std_change "
         f"{contract.RULE['std_change'].default_threshold:g}).",
         moment_false_alarm_table(r.moments) + "\n\n"
         + moment_detection_table(r.moment_detection)),
    ]


def render(argv: Sequence[str], r: Results, plots: bool = False) -> str:
    plan = r.plan
    command = "python -m bench.calibration" + ("" if not argv else " " + " ".join(argv))
    setup = (
        f"Seed {plan.seed}: every cell draws from `numpy.random.default_rng([{plan.seed}, "
        "section, window rows, bins, kind (0 numeric, 1 categorical), change, chunk])` "
        "(section 5 adds the baseline rows; section 4 uses `[seed, 4, rows, bins, i]`). "
        f"Baseline rows = min(max({plan.baseline_factor} x window rows, "
        f"{plan.baseline_floor:,}), {plan.baseline_cap:,}), a fresh baseline per window. "
        f"Numeric: N(0, 1) with {_pct(NULL_SHARE, 0)} nulls; k quantile bins whose edges are "
        "order statistics of the baseline itself (of a random ~k x "
        f"{QUANTILE_ROWS_PER_BIN:,}-row share of it when larger, as `quantile_sample` keeps); "
        "below/above range bins at the baseline's exact min and max; a null bin: k + 3 bins. "
        "Simulated exactly, without drawing rows (Dirichlet spacings of uniform order "
        "statistics; see the module docstring); section 4 checks it against real rows. "
        f"Categorical: {CATEGORIES_PER_BIN} k categories with shares ~ 1/rank, "
        f"{_pct(NULL_SHARE, 0)} nulls, the baseline's own top k by count (ties: lower rank), "
        "`<other>`, `<unseen>` (leave one out: values one baseline row holds), `<null>`: "
        "k + 3 bins; multinomial counts. Each window its own "
        "`window_idx`, many per `drift_figures(pseudo_count="
        f"{PSEUDO_COUNT}, top_n={TOP_N})` call, then `decide(figures, Policy.defaults())` "
        "(psi >= 0.1, null/unseen/out-of-range share +0.02, FDR 1%, BH, min_rows "
        f"{contract.DEFAULT_MIN_ROWS}).")
    parts = ["# Calibration of the verdict", "",
             f"`{command}`: one run, {r.cpu / 60:.1f} CPU minutes ({r.wall / 60:.1f} wall); "
             "every figure below comes from it.", "", setup, ""]
    if plots:
        parts += ["![False alarms per window size](calibration_false_alarms.png)", "",
                  "![Detection per window size](calibration_detection.png)", ""]
    for title, explanation, table in tables(r):
        parts += [f"## {title}", "", explanation, "", table, ""]
    parts += ["## Reading", "", reading(r), "", MECHANISMS]
    return "\n".join(parts)


def plot_data(r: Results) -> dict[str, object]:
    """What bench/calibration_plot.py draws: one line per cell label, a point per n."""
    def rate(t: Tally) -> float:
        return t.share(t.drift)

    return {
        "target": contract.DEFAULT_FDR,
        "false_alarms": [{"cell": f"{c.change.kind} k={c.change.bins}", "n": c.n,
                          "rate": rate(c.tally)} for c in r.false_alarms],
        "detection": [{"cell": c.change.name, "n": c.n, "rate": rate(c.tally)}
                      for c in r.detection if c.change.bins == 20],
        "moments": [{"cell": c.distribution, "n": c.n, "rate": rate(c.tally)}
                    for c in r.moments],
        "moment_detection": [
            point for c in r.moment_detection if c.without is not None for point in (
                {"cell": c.change.name, "n": c.n, "rate": rate(c.tally)},
                {"cell": f"{c.change.name}, without", "n": c.n, "rate": rate(c.without)})],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--windows", type=int, help="windows per false-alarm cell (2000)")
    parser.add_argument("--quick", action="store_true", help="a small grid (a smoke test)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--write", action="store_true", help=f"write docs/bench/{DOC.name}")
    parser.add_argument("--out", type=Path, help="write the report here instead (implies --write)")
    parser.add_argument("--no-plots", dest="plots", action="store_false",
                        help="skip the PNGs (drawn in a virtualenv of their own, matplotlib)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else Plan()
    plan = replace(plan, seed=args.seed)
    if args.windows:
        plan = replace(plan, windows=args.windows)
    given = list(argv) if argv is not None else sys.argv[1:]
    shown = [a for i, a in enumerate(given)  # the command that gives the same report
             if a not in ("--out", "--no-plots") and (i == 0 or given[i - 1] != "--out")]

    results = run(plan)
    for title, _, table in tables(results):
        print(f"## {title}\n\n{table}\n")
    print(reading(results))
    print(f"\n{results.cpu:.0f} s CPU, {results.wall:.0f} s wall")
    target = args.out or (DOC if args.write else None)
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(shown, results, args.plots))
        if args.plots:
            figures = target.with_suffix(".json")
            figures.write_text(json.dumps(plot_data(results), indent=1))
            subprocess.run([str(venvs.python_of("plots")), str(PLOT), str(figures),
                            str(target.parent)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
