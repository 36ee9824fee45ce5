"""The moment rules' statistics against numpy, scipy and simulation (no JVM)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kurtosis, skew, ttest_ind, ttest_ind_from_stats

from kl_udfs.core import contract
from kl_udfs.core.bins import ColumnBins
from kl_udfs.core.stats import moments
from kl_udfs.core.udfs import drift_figures
from kl_udfs.core.verdict import Policy, decide


def _of(values: np.ndarray, center: float = 0.0, scale: float = 1.0) -> moments.Moments:
    return moments.from_sums(moments.power_sums(values, center, scale), center, scale)


# The baseline's own frame (center inside the values), another scale, and frames far away (a
# window that moved 10^5 standard deviations): there the variance loses digits to the mean,
# as (distance / std)^2 x 1e-16, still far below anything a verdict sees.
@pytest.mark.parametrize(("center", "scale", "rel"), [
    (1e6 + 10.0, 7.0, 1e-10), (1e6, 300.0, 1e-10), (0.0, 1.0, 1e-4), (-40.0, 1e-3, 1e-4)])
def test_moments_from_power_sums_equal_numpy_and_scipy(center: float, scale: float,
                                                       rel: float) -> None:
    rng = np.random.default_rng(1)
    x = rng.gamma(2.0, 5.0, 5000) + 1e6
    x[:4] = [np.nan, np.inf, -np.inf, np.nan]  # not finite: not in the moments
    finite = x[np.isfinite(x)]
    m = _of(x, center, scale)
    assert m.n == finite.size
    assert m.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert m.std == pytest.approx(finite.std(ddof=1), rel=rel)
    if rel < 1e-4:  # the fourth moment loses the square of the variance's digits
        assert m.kurtosis == pytest.approx(kurtosis(finite, fisher=False), rel=1e-8)


def test_power_sums_add_up_over_parts() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(3.0, 2.0, 3001)
    parts = sum(moments.power_sums(p, 1.0, 2.0) for p in np.array_split(x, 7))
    np.testing.assert_allclose(parts, moments.power_sums(x, 1.0, 2.0), rtol=1e-12)


def test_frame_is_the_median_edge_and_half_the_span() -> None:
    assert moments.frame_of([1.0, 2.0, 4.0, 9.0]) == (4.0, 4.0)
    assert moments.frame_of([]) == (0.0, 1.0)
    assert moments.frame_of([-5.0]) == (-5.0, 5.0)  # no span: the center's size
    assert moments.frame_of([0.0]) == (0.0, 1.0)


def test_mean_shift_p_value_is_welchs_t_test_on_a_symmetric_baseline() -> None:
    rng = np.random.default_rng(3)
    for n, big_n, shift in ((40, 10_000, 0.3), (200, 2_000, 0.1), (1000, 50_000, 0.02)):
        half = rng.normal(0, 1, big_n // 2)
        base = np.concatenate([half, -half])  # skewness 0: Hall's transformation is t itself
        cur = rng.gamma(2.0, 1.7, n) + shift  # the window's own shape does not enter
        test = moments.mean_shift(_of(base), _of(cur))
        assert float(test.p_value) == pytest.approx(
            ttest_ind(cur, base, equal_var=False).pvalue, rel=1e-8)
        assert float(test.value) == pytest.approx(abs(cur.mean() - base.mean()) / base.std(ddof=1))
        assert float(test.sd) == pytest.approx(
            np.sqrt(cur.var(ddof=1) / n + base.var(ddof=1) / big_n) / base.std(ddof=1))


def _rows(values: np.ndarray) -> moments.Moments:
    """Moments of each row of a (windows, n) array, in one go."""
    sums = np.stack([np.sum(values ** i, axis=-1) for i in range(moments.SUMS)], axis=-1)
    return moments.from_sums(sums, 0.0, 1.0)


def test_skewness_from_power_sums_equals_scipy() -> None:
    x = np.random.default_rng(9).gamma(2.0, 3.0, 4000)
    assert float(_of(x, 6.0, 10.0).skewness) == pytest.approx(skew(x), rel=1e-9)


@pytest.mark.parametrize(("n", "draw", "plain_excess"), [
    (30, lambda r, s: r.exponential(size=s), 4.0), (50, lambda r, s: r.exponential(size=s), 3.0),
    (50, lambda r, s: -r.exponential(size=s), 3.0), (100, lambda r, s: r.gamma(2.0, size=s), 1.5),
    (50, lambda r, s: r.lognormal(0.0, 0.5, size=s), 1.5)],
    ids=["exponential n=30", "exponential n=50", "left-skewed n=50", "gamma(2) n=100",
         "lognormal(0, 0.5) n=50"])
def test_mean_shift_holds_its_level_on_skewed_rows_where_plain_welch_does_not(  # type: ignore[no-untyped-def]
        n, draw, plain_excess) -> None:
    # 0.2% is the level one rule tests at (1% over five rules); 20,000 stationary windows
    # against one 10,000-row baseline, the p-values beside scipy's plain Welch test.
    rng = np.random.default_rng(10)
    alpha, windows = 0.002, 20_000
    base, cur = draw(rng, 10_000), draw(rng, (windows, n))
    ours = moments.mean_shift(_rows(base), _rows(cur)).p_value
    plain = ttest_ind_from_stats(cur.mean(axis=1), cur.std(axis=1, ddof=1), n, base.mean(),
                                 base.std(ddof=1), base.size, equal_var=False).pvalue
    # binomial sd of a 0.2% rate over 20,000 windows: 0.032 points
    assert np.mean(ours < alpha) <= 1.5 * alpha
    assert np.mean(plain < alpha) >= plain_excess * alpha


@pytest.mark.parametrize("draw", [
    lambda r, k: r.normal(size=k), lambda r, k: r.gamma(3.0, size=k), lambda r, k: r.random(k)],
    ids=["normal", "gamma(3): kurtosis 5", "uniform"])
def test_std_change_standard_error_and_level_hold_in_simulation(draw) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(4)
    sims, n, big_n = 3000, 200, 5000
    diffs, sds, p = [], [], []
    for _ in range(sims):
        t = moments.std_change(_of(draw(rng, big_n)), _of(draw(rng, n)))
        diffs.append(float(t.value))
        sds.append(float(t.sd))
        p.append(float(t.p_value))
    # |ln ratio| of a N(0, sd) difference has mean sd sqrt(2 / pi)
    assert np.mean(diffs) == pytest.approx(np.mean(sds) * np.sqrt(2 / np.pi), rel=0.1)
    assert 0.03 <= np.mean(np.array(p) < 0.05) <= 0.07


def test_moment_rules_skip_heavy_tails_and_constant_baselines() -> None:
    rng = np.random.default_rng(5)
    heavy = rng.lognormal(0, 1.5, 20_000)
    assert float(_of(heavy).kurtosis) > contract.MOMENT_KURTOSIS_LIMIT
    for test in (moments.mean_shift, moments.std_change):
        assert np.isnan(test(_of(heavy), _of(heavy[:500] * 3)).value)
        assert np.isnan(test(_of(np.full(100, 2.0)), _of(rng.normal(size=100))).value)


def test_a_window_that_turned_constant_is_an_infinite_std_change() -> None:
    rng = np.random.default_rng(6)
    t = moments.std_change(_of(rng.normal(size=5000)), _of(np.full(200, 0.5)))
    assert np.isinf(t.value) and t.p_value == 0.0


def _long(base: np.ndarray, cur: np.ndarray) -> pd.DataFrame:
    """drift_figures' input for one numeric column: counts and power sums as production."""
    center, scale = moments.frame_of(np.quantile(base, [0.25, 0.5, 0.75]))
    bins = ColumnBins("x", "numeric", "double", tuple(np.quantile(base, [0.25, 0.5, 0.75])),
                      center=center, scale=scale).with_range(base.min(), base.max())
    b, c = (np.bincount(bins.assign(v), minlength=bins.n_bins) for v in (base, cur))
    frame = pd.DataFrame({
        "window_idx": 0, "column_idx": 0, "bin": np.arange(bins.n_bins),
        "bin_label": bins.labels(), "bin_role": bins.roles(), "baseline_count": b,
        "current_count": c, "center": center, "scale": scale})
    for side, values in (("baseline", base), ("current", cur)):
        sums = moments.power_sums(values, center, scale)
        # the column's total on its first bin, as drift.py puts it
        for i, name in enumerate(moments.side_sums(side)):
            frame[name] = np.where(frame["bin"] == 0, sums[i], 0.0)
    return frame


def test_a_mean_shift_inside_the_bins_fires_mean_shift_with_the_means_in_words() -> None:
    rng = np.random.default_rng(7)
    base, cur = rng.normal(100, 10, 20_000), rng.normal(106, 10, 2_000)  # 0.6 sigma
    figures = drift_figures(_long(base, cur), pseudo_count=0.5, top_n=3)
    assert figures["current_mean"][0] == pytest.approx(cur.mean())
    assert figures["baseline_std"][0] == pytest.approx(base.std(ddof=1))
    figures["column_name"], figures["column_kind"] = "x", "numeric"
    out = decide(figures, Policy.defaults())
    assert out["status"][0] == "drift"
    assert "mean_shift" in out["fired_rules"][0]
    assert f"{base.mean():.6g} -> {cur.mean():.6g}" in out["reason"][0]
    checks = {c["rule"] for c in out["checks"][0]}
    assert {"mean_shift", "std_change"} <= checks


def test_same_distribution_leaves_the_moment_rules_quiet() -> None:
    rng = np.random.default_rng(8)
    figures = drift_figures(_long(rng.normal(0, 1, 20_000), rng.normal(0, 1, 2_000)),
                            pseudo_count=0.5, top_n=3)
    figures["column_name"], figures["column_kind"] = "x", "numeric"
    out = decide(figures, Policy.defaults())
    assert out["status"][0] == "ok"
    fired = {c["rule"]: c["effect_reached"] for c in out["checks"][0]}
    assert fired["mean_shift"] is False and fired["std_change"] is False
