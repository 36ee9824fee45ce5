"""Worked examples computed by hand, degenerate inputs, and the error cases."""

import math

import numpy as np
import numpy.typing as npt
import pytest

from kl_udfs.core.stats import (
    DEFAULT_PSEUDO_COUNT,
    Segments,
    compare,
    g_test,
    js_divergence,
    kl_divergence,
    psi,
    smoothed_probabilities,
    top_contributors,
)
from kl_udfs.core.stats.segments import MAX_TOTAL

RTOL = 1e-12


def close(actual: npt.ArrayLike, expected: npt.ArrayLike) -> None:
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    np.testing.assert_allclose(a, e, rtol=RTOL, atol=1e-15)


def test_worked_example_80_20_vs_50_50() -> None:
    # a = 0.5, N = 100, k = 2, so N + k*a = 101:
    #   p = (80.5, 20.5) / 101 = (161/202, 41/202) = (0.797029..., 0.202970...)
    #   q = (50.5, 50.5) / 101 = (1/2, 1/2)
    # KL(p||q) = 161/202 ln(161/101) + 41/202 ln(41/101)
    #          = 0.797030 * 0.466284 + 0.202970 * (-0.901548) = 0.371642 - 0.182988
    # KL(q||p) = 1/2 ln(101/161) + 1/2 ln(101/41) = 1/2 (-0.466284 + 0.901548)
    # PSI = (161/202 - 1/2) ln(161/101) + (41/202 - 1/2) ln(41/101) = 30/101 ln(161/41)
    #     = 0.297030 * 1.367832; its two terms are the contributions.
    r = compare([80, 20], [50, 50], pseudo_count=0.5)
    close(r.baseline_fraction, [161 / 202, 41 / 202])
    close(r.current_fraction, [0.5, 0.5])
    close(r.kl_divergence, [0.188654520274459])
    close(r.kl_reverse, [0.217632300996874])
    close(r.psi, [0.406286821271333])
    close(r.psi, [30 / 101 * math.log(161 / 41)])
    close(r.contribution, [0.138500152913823, 0.267786668357510])
    close(r.js_divergence, [0.0714729002702487])
    # G-test on the raw counts: row totals 100, 100, column totals 130, 70, grand total 200,
    # so E = (65, 35) in both rows:
    #   G = 2 [80 ln(80/65) + 20 ln(20/35) + 50 ln(50/65) + 50 ln(50/35)]
    #     = 2 [16.611149 - 11.192316 - 13.118213 + 17.833747] = 2 * 10.134367
    # dof = 2 - 1 = 1, and for 1 dof the chi-square survival is erfc(sqrt(G / 2)).
    close(r.g_statistic, [20.2687347942263])
    assert r.dof.tolist() == [1]
    close(r.p_value, [6.72912733217047e-06])
    close(r.p_value, [math.erfc(math.sqrt(20.2687347942263 / 2))])
    close(r.baseline_total, [100])
    close(r.current_total, [100])


def test_worked_example_3_1_vs_1_3() -> None:
    # a = 1, N + k*a = 4 + 2 = 6: p = (4, 2)/6 = (2/3, 1/3), q = (2, 4)/6 = (1/3, 2/3).
    # KL(p||q) = 2/3 ln 2 + 1/3 ln(1/2) = 1/3 ln 2; KL(q||p) is the same by symmetry.
    # PSI = (1/3) ln 2 + (-1/3) ln(1/2) = 2/3 ln 2, split evenly between the two bins.
    # JS: m = (1/2, 1/2), KL(p||m) = 2/3 ln(4/3) + 1/3 ln(2/3) = 5/3 ln 2 - ln 3 = KL(q||m),
    #     so JS = (5/3 ln 2 - ln 3) / ln 2 = 5/3 - log2(3) in bits.
    r = compare([3, 1], [1, 3], pseudo_count=1.0)
    close(r.kl_divergence, [0.231049060186648])
    close(r.kl_divergence, [math.log(2) / 3])
    close(r.kl_reverse, [math.log(2) / 3])
    close(r.psi, [0.462098120373297])
    close(r.contribution, [math.log(2) / 3, math.log(2) / 3])
    close(r.js_divergence, [0.0817041659455105])
    close(r.js_divergence, [5 / 3 - math.log2(3)])
    # Raw G: E = 4 * 4 / 8 = 2 everywhere, G = 2 [3 ln 1.5 + ln 0.5 + ln 0.5 + 3 ln 1.5]
    #        = 12 ln 1.5 - 4 ln 2 = 4.865581 - 2.772589, dof 1.
    close(r.g_statistic, [2.09299257505819])
    close(r.p_value, [0.147975959385027])


def test_g_test_by_hand_with_an_empty_column() -> None:
    # Rows (30, 10, 0) and (20, 20, 0): the empty column is dropped, dof = 2 - 1 = 1.
    # Row totals 40, 40, column totals 50, 30, grand total 80: E = (25, 15) in both rows.
    #   G = 2 [30 ln(30/25) + 10 ln(10/15) + 20 ln(20/25) + 20 ln(20/15)]
    #     = 2 [5.469647 - 4.054651 - 4.462871 + 5.753642] = 2 * 2.705766
    r = g_test([30, 10, 0], [20, 20, 0])
    close(r.statistic, [5.41153209097684])
    assert r.dof.tolist() == [1]
    close(r.p_value, [0.0200041516472630])


def test_g_test_by_hand_two_degrees_of_freedom() -> None:
    # Rows (2, 1, 0) and (0, 1, 2): row totals 3, 3, every column total 2, grand total 6,
    # so E = 3 * 2 / 6 = 1 in every cell. Zero cells contribute 0:
    #   G = 2 [2 ln 2 + 1 ln 1 + 1 ln 1 + 2 ln 2] = 8 ln 2, dof = 3 - 1 = 2.
    # For 2 dof the chi-square survival is exp(-G / 2) = exp(-4 ln 2) = 1/16.
    r = g_test([2, 1, 0], [0, 1, 2])
    close(r.statistic, [8 * math.log(2)])
    assert r.dof.tolist() == [2]
    close(r.p_value, [1 / 16])


def test_segments_compute_many_histograms_in_one_call() -> None:
    # The 80/20 example (segment 0) and the 30/10/0 G-test example (segment 1), interleaved,
    # plus an empty segment 2.
    seg = Segments(np.array([1, 0, 1, 1, 0]), 3)
    r = compare([30, 80, 10, 0, 20], [20, 50, 20, 0, 50], seg)
    close(r.kl_divergence[0], 0.188654520274459)
    close(r.g_statistic, [20.2687347942263, 5.41153209097684, 0.0])
    assert r.dof.tolist() == [1, 1, 0]
    assert r.p_value[2] == 1.0
    assert r.kl_divergence[2] == 0.0
    close(r.baseline_total, [100, 40, 0])


def test_smoothing_rule() -> None:
    assert DEFAULT_PSEUDO_COUNT == 0.5
    close(smoothed_probabilities([80, 20]), [80.5 / 101, 20.5 / 101])
    close(smoothed_probabilities([0, 0, 0, 0]), [0.25] * 4)  # empty histogram -> uniform
    close(smoothed_probabilities([7]), [1.0])
    close(smoothed_probabilities([1, 0], pseudo_count=2), [3 / 5, 2 / 5])


def test_functional_api_agrees_with_compare() -> None:
    r = compare([80, 20], [50, 50])
    close(kl_divergence([80, 20], [50, 50]), r.kl_divergence)
    close(js_divergence([80, 20], [50, 50]), r.js_divergence)
    close(psi([80, 20], [50, 50]), r.psi)


def test_degenerate_histograms_are_zero_not_nan() -> None:
    r = compare([0, 0, 0], [0, 0, 0])
    assert r.kl_divergence.tolist() == [0.0]
    assert r.psi.tolist() == [0.0]
    assert (r.g_statistic.tolist(), r.dof.tolist(), r.p_value.tolist()) == ([0.0], [0], [1.0])
    one_bin = compare([5], [1e9])
    assert one_bin.kl_divergence.tolist() == [0.0]
    assert one_bin.p_value.tolist() == [1.0]
    empty_current = compare([1e9, 1e9, 0], [0, 0, 0])
    assert 0 < empty_current.kl_divergence[0] < math.inf
    assert empty_current.p_value.tolist() == [1.0]  # no current data: no evidence
    nothing = compare([], [])
    assert nothing.kl_divergence.tolist() == [0.0]


def test_extreme_but_valid_inputs_stay_finite() -> None:
    # Ratios p/q of ~1e300 would overflow; the log falls back to ln p - ln q.
    r = compare([1e290, 0], [0, 1e290], pseudo_count=1e-12)
    assert np.all(np.isfinite(r.kl_divergence)) and r.kl_divergence[0] > 600
    # Fractional counts so small that E underflows in the G-test.
    g = g_test([1e-200, 0], [0, 1e-200])
    assert np.all(np.isfinite(g.statistic)) and g.statistic[0] > 0


def test_top_contributors_by_hand() -> None:
    contribution = np.array([0.1, 0.5, 0.3, 0.2, 0.0, 0.3])
    seg = Segments.from_ids([0, 1, 0, 1, 1, 0])
    top = top_contributors(contribution, seg, 2)
    # Segment 0 holds bins 0, 2, 5 (0.1, 0.3, 0.3): tie 0.3 keeps the lower index first.
    # Segment 1 holds bins 1, 3, 4 (0.5, 0.2, 0.0).
    assert top.index.tolist() == [2, 5, 1, 3]
    assert top.segment.tolist() == [0, 0, 1, 1]
    assert top.rank.tolist() == [0, 1, 0, 1]
    assert [g.tolist() for g in top.by_segment()] == [[2, 5], [1, 3]]
    assert top_contributors(contribution, seg, 0).index.size == 0
    assert top_contributors([0.2, 0.7], None, 5).index.tolist() == [1, 0]


@pytest.mark.parametrize(
    ("baseline", "current", "match"),
    [
        ([1, -1], [1, 1], ">= 0"),
        ([1, 1], [1, -0.5], ">= 0"),
        ([1, float("nan")], [1, 1], "finite"),
        ([1, 1], [float("inf"), 1], "finite"),
        ([1, 2, 3], [1, 2], "shape"),
        ([[1, 2]], [[1, 2]], "1-D"),
        ([MAX_TOTAL, MAX_TOTAL], [0, 0], "exceeds"),
    ],
)
def test_invalid_counts_raise(baseline: list[float], current: list[float], match: str) -> None:
    for fn in (compare, kl_divergence, js_divergence, psi, g_test):
        with pytest.raises(ValueError, match=match):
            fn(baseline, current)


@pytest.mark.parametrize("a", [0, -0.5, float("nan"), float("inf")])
def test_pseudo_count_must_be_positive_and_finite(a: float) -> None:
    with pytest.raises(ValueError, match="pseudo_count"):
        compare([1, 2], [2, 1], pseudo_count=a)
    with pytest.raises(ValueError, match="pseudo_count"):
        smoothed_probabilities([1, 2], pseudo_count=a)


def test_unrepresentable_pseudo_count_raises_instead_of_nan() -> None:
    # a / (N + k*a) = 1e-320 / 1e9 underflows to 0: refuse rather than return inf/NaN.
    with pytest.raises(ValueError, match="pseudo_count"):
        compare([1e9, 0], [0, 1e9], pseudo_count=1e-320)


def test_segments_validation() -> None:
    with pytest.raises(ValueError, match="cover"):
        compare([1, 2, 3], [1, 2, 3], Segments.single(2))
    with pytest.raises(ValueError, match="non-negative"):
        Segments.from_ids([0, -1])
    with pytest.raises(ValueError, match="integers"):
        Segments.from_ids([0.0, 1.0])
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        Segments(np.array([0, 2]), 2)
    with pytest.raises(ValueError, match="k must be"):
        top_contributors([0.1], None, -1)
    seg = Segments.from_ids([2, 0, 2])
    assert seg.n == 3
    assert seg.size().tolist() == [1, 0, 2]
    assert seg.sum([1.0, 2.0, 3.0]).tolist() == [2.0, 0.0, 4.0]
    assert seg.broadcast(np.array([10, 20, 30])).tolist() == [30, 10, 30]
    with pytest.raises(ValueError):
        seg.ids[0] = 1  # read-only: a frozen dataclass should not be mutable through its array
