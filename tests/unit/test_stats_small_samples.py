"""Small-sample statistics against independent oracles: exact enumeration, scipy, simulation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import xlogy
from scipy.stats import false_discovery_control, fisher_exact

from kl_udfs.core.bins import ColumnBins, ranged_counts
from kl_udfs.core.stats import Segments, compare
from kl_udfs.core.stats.bias import PSI_SCALE, corrected_divergence, effective_rows
from kl_udfs.core.stats.exact import (
    monte_carlo_g_p_values,
    overwhelming,
    share_increase_p_values,
)
from kl_udfs.core.stats.multiplicity import bh_q_values


def _g(table: np.ndarray) -> float:
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    return float(2 * xlogy(table, table / np.where(expected > 0, expected, 1)).sum())


def _exact_conditional_p(baseline: list[int], current: list[int]) -> float:
    """P(G >= observed) over every table with the same margins, by enumeration."""
    from scipy.stats import multivariate_hypergeom

    totals = np.add(baseline, current)
    n = sum(current)
    observed = _g(np.array([baseline, current], dtype=float))
    p = 0.0
    for x in itertools.product(*(range(t + 1) for t in totals)):
        if sum(x) != n:
            continue
        table = np.array([totals - np.array(x), x], dtype=float)
        if _g(table) >= observed - 1e-9:
            p += multivariate_hypergeom.pmf(x, totals, n)
    return p


@pytest.mark.parametrize(("baseline", "current"), [
    ([6, 3, 1, 0], [1, 2, 3, 2]), ([9, 1, 1], [3, 0, 3]), ([4, 4, 4, 4], [2, 0, 1, 5])])
def test_monte_carlo_p_matches_exact_enumeration(baseline: list[int], current: list[int]) -> None:
    exact = _exact_conditional_p(baseline, current)
    p, method = monte_carlo_g_p_values(np.array(baseline, float), np.array(current, float),
                                       Segments.single(len(baseline)), np.array([True]),
                                       draws=20_000)
    assert method[0] in ("monte_carlo", "monte_carlo_tail")
    assert p[0] == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / 20_000) + 1e-3)


def test_monte_carlo_only_touches_selected_segments_and_is_reproducible() -> None:
    b = np.array([5, 5, 0, 10, 3, 1], float)
    c = np.array([1, 4, 2, 0, 6, 1], float)
    seg = Segments(np.array([0, 0, 0, 1, 1, 1]), 2)
    p1, m1 = monte_carlo_g_p_values(b, c, seg, np.array([False, True]))
    p2, _ = monte_carlo_g_p_values(b, c, seg, np.array([False, True]))
    assert np.isnan(p1[0]) and m1[0] is None and 0 < p1[1] <= 1
    assert p1[1] == p2[1]


def test_a_tables_monte_carlo_p_does_not_depend_on_its_batch() -> None:
    # A cluster and a laptop split the same windows into different batches.
    b = np.array([5, 5, 0, 10, 3, 1], float)
    c = np.array([1, 4, 2, 0, 6, 1], float)
    alone, _ = monte_carlo_g_p_values(b[3:], c[3:], Segments.single(3), np.array([True]))
    batched, _ = monte_carlo_g_p_values(b, c, Segments(np.array([0, 0, 0, 1, 1, 1]), 2),
                                        np.array([True, True]))
    assert alone[0] == batched[1]


@pytest.mark.parametrize(("n", "big_n", "k"), [(30, 30, 200), (50, 100, 200), (50, 500, 1000),
                                                (1000, 1000, 200)])
def test_overwhelming_never_holds_for_simulated_sparse_null_tables(n: int, big_n: int,
                                                                    k: int) -> None:
    rng = np.random.default_rng([n, big_n, k])
    p = rng.dirichlet(np.full(k, 0.3))
    windows = 2000
    baseline = rng.multinomial(big_n, p, size=windows).astype(float).ravel()
    current = rng.multinomial(n, p, size=windows).astype(float).ravel()
    seg = Segments(np.repeat(np.arange(windows), k), windows)
    result = compare(baseline, current, seg, 0.5)
    assert not overwhelming(result.g_statistic, result.dof).any()


def test_a_gross_change_in_a_sparse_table_is_overwhelming() -> None:
    rng = np.random.default_rng(7)
    k, windows = 200, 500
    p = rng.dirichlet(np.full(k, 0.3))
    baseline = rng.multinomial(20_000, p, size=windows).astype(float).ravel()
    moved = rng.multinomial(1000, np.roll(p, k // 2), size=windows).astype(float).ravel()
    result = compare(baseline, moved, Segments(np.repeat(np.arange(windows), k), windows), 0.5)
    assert overwhelming(result.g_statistic, result.dof).all()


@pytest.mark.parametrize(("x", "n", "y", "big_n"), [
    (5, 100, 0, 1000), (3, 50, 20, 400), (0, 10, 5, 10), (50, 1000, 500, 10000)])
def test_share_increase_is_one_sided_fisher(x: int, n: int, y: int, big_n: int) -> None:
    expected = fisher_exact([[x, n - x], [y, big_n - y]], alternative="greater").pvalue
    assert share_increase_p_values(x, n, y, big_n) == pytest.approx(expected, rel=1e-9)


def test_share_increase_for_large_counts_stays_close_to_fisher() -> None:
    rng = np.random.default_rng(11)
    n = rng.integers(5_000, 200_000, 400)
    big_n = rng.integers(5_000, 2_000_000, 400)
    share = rng.uniform(0.02, 0.5, 400)
    y = rng.binomial(big_n, share)
    x = rng.binomial(n, share * rng.uniform(1.0, 1.05, 400))
    exact = np.array([fisher_exact([[a, b - a], [c, d - c]], alternative="greater").pvalue
                      for a, b, c, d in zip(x, n, y, big_n, strict=True)])
    ours = share_increase_p_values(x, n, y, big_n)
    judged = exact >= 1e-3
    assert judged.sum() > 100
    np.testing.assert_allclose(ours[judged], exact[judged], rtol=0.15)


def test_share_increase_without_any_mass_is_one() -> None:
    assert share_increase_p_values([0, 3], [10, 0], [0, 1], [10, 5]).tolist() == [1.0, 1.0]


def test_bh_matches_scipy_within_each_group() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(size=60) ** 3
    groups = np.repeat([2, 0, 1], 20)
    q = bh_q_values(p, groups)
    for g in (0, 1, 2):
        np.testing.assert_allclose(q[groups == g], false_discovery_control(p[groups == g]),
                                   rtol=1e-12)
    with_nan = p.copy()
    with_nan[:5] = np.nan
    q = bh_q_values(with_nan)
    assert np.isnan(q[:5]).all()
    np.testing.assert_allclose(q[5:], false_discovery_control(p[5:]), rtol=1e-12)


def test_psi_chance_level_and_corrected_effect_by_simulation() -> None:
    rng = np.random.default_rng(11)
    k, n, big_n, sims = 20, 4000, 200_000, 400
    p = np.full(k, 1 / k)
    shifted = p * np.exp(0.6 * (np.arange(k) - k / 2) / k)
    shifted /= shifted.sum()
    true_psi = float(np.sum((shifted - p) * np.log(shifted / p)))
    for q, truth in ((p, 0.0), (shifted, true_psi)):
        base = rng.multinomial(big_n, p, size=sims)
        cur = rng.multinomial(n, q, size=sims)
        seg = Segments(np.repeat(np.arange(sims), k), sims)
        r = compare(base.ravel(), cur.ravel(), seg)
        m = effective_rows(n, big_n)
        # raw PSI sits at the chance level (k-1)/n_eff above the truth ...
        assert r.psi.mean() == pytest.approx(truth + (k - 1) / m, rel=0.08, abs=5e-4)
        fixed = corrected_divergence(r.psi, r.dof, m, PSI_SCALE)
        if truth > 0:  # ... the corrected one at the truth, with the spread the model says
            assert fixed.value.mean() == pytest.approx(truth, rel=0.08)
            assert fixed.sd.mean() == pytest.approx(fixed.value.std(), rel=0.2)


def test_range_bins_layout_and_moved_counts_agree_with_assign() -> None:
    rng = np.random.default_rng(5)
    values = np.round(rng.normal(size=2000), 1)
    plain = ColumnBins("x", "numeric", "double", tuple(np.quantile(values, [0.25, 0.5, 0.75])))
    ranged = plain.with_range(float(values.min()), float(values.max()))
    plain_counts = np.bincount(plain.assign(values), minlength=plain.n_bins)
    direct = np.bincount(ranged.assign(values), minlength=ranged.n_bins)
    assert ranged_counts(plain, ranged, plain_counts.tolist()) == direct.tolist()
    assert direct[0] == direct[-2] == 0  # nothing below min or above max
    beyond = ranged.assign([values.min() - 1, values.max(), values.max() + 1e-9, np.nan])
    assert [ranged.roles()[i] for i in beyond] == ["below", "value", "above", "null"]
    assert ranged.labels()[-3].endswith("]") and ranged.labels()[-2].endswith(", +inf)")
    at_min = ColumnBins("k", "numeric", "int", (0.0, 1.0)).with_range(0.0, 3.0)
    assert at_min.edges == (1.0,)  # an edge at the minimum would leave an empty bin
    assert ColumnBins.from_json(ranged.to_json()) == ranged
