"""Mathematical properties of kl_udfs.core.stats that must hold for every valid input."""

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kl_udfs.core.stats import Comparison, Segments, compare, top_contributors

FUZZ = settings(max_examples=200, deadline=None)

DIVERGENCES = ("kl_divergence", "kl_reverse", "js_divergence", "psi")
PER_BIN = ("baseline_fraction", "current_fraction", "contribution")

# Wider than the oracle tests: fractional counts, up to 1e12, and extreme pseudo-counts.
count = st.one_of(
    st.just(0.0),
    st.integers(0, 5).map(float),
    st.floats(0, 1e12, allow_subnormal=False),
    st.integers(0, 10**12).map(float),
)
pseudo_count = st.one_of(st.floats(1e-12, 1e6), st.just(0.5))


@st.composite
def segmented_pair(
    draw: st.DrawFn,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], Segments]:
    """Baseline/current counts over 1..5 interleaved segments of 1..20 bins each."""
    n = draw(st.integers(1, 5))
    ids = np.array(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=60)), dtype=np.int64)
    k = ids.size
    b = np.array(draw(st.lists(count, min_size=k, max_size=k)))
    c = np.array(draw(st.lists(count, min_size=k, max_size=k)))
    return b, c, Segments(ids, n)  # n may exceed max(ids) + 1: empty segments too


Case = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], Segments]


def assert_sane(r: Comparison) -> None:
    for name, value in vars(r).items():
        assert np.all(np.isfinite(value)), name
        assert np.all(value >= 0), name
    assert np.all(r.js_divergence <= 1)
    assert np.all(r.p_value <= 1)


@FUZZ
@given(segmented_pair(), pseudo_count)
def test_every_metric_is_finite_and_non_negative(case: Case, a: float) -> None:
    b, c, seg = case
    assert_sane(compare(b, c, seg, a))


@FUZZ
@given(segmented_pair(), pseudo_count)
def test_divergence_of_a_histogram_with_itself_is_zero(case: Case, a: float) -> None:
    b, _, seg = case
    r = compare(b, b, seg, a)
    for name in DIVERGENCES:
        assert np.all(getattr(r, name) <= 1e-15), name
    np.testing.assert_array_equal(r.contribution, 0.0)
    # G is a test on counts: zero up to rounding relative to the sample size, p ~ 1.
    assert np.all(r.g_statistic <= 1e-12 * (r.baseline_total + 1))
    assert np.all(r.p_value >= 1 - 1e-5)


@FUZZ
@given(segmented_pair(), pseudo_count)
def test_symmetries(case: Case, a: float) -> None:
    b, c, seg = case
    fwd, rev = compare(b, c, seg, a), compare(c, b, seg, a)
    np.testing.assert_array_equal(fwd.kl_reverse, rev.kl_divergence)
    for name in ("js_divergence", "psi", "g_statistic", "p_value"):
        np.testing.assert_allclose(getattr(fwd, name), getattr(rev, name), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(fwd.dof, rev.dof)


@FUZZ
@given(segmented_pair(), pseudo_count)
def test_contributions_are_non_negative_and_sum_to_psi(case: Case, a: float) -> None:
    b, c, seg = case
    r = compare(b, c, seg, a)
    assert np.all(r.contribution >= 0)
    sums = np.array([r.contribution[seg.ids == s].sum() for s in range(seg.n)])
    np.testing.assert_allclose(r.psi, sums, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.psi, r.kl_divergence + r.kl_reverse, rtol=1e-9, atol=1e-12)


@FUZZ
@given(segmented_pair(), pseudo_count)
def test_fractions_are_distributions(case: Case, a: float) -> None:
    b, c, seg = case
    r = compare(b, c, seg, a)
    for name in ("baseline_fraction", "current_fraction"):
        frac = getattr(r, name)
        assert np.all(frac > 0)
        sums = np.array([frac[seg.ids == s].sum() for s in range(seg.n)])
        has_bins = seg.size() > 0
        np.testing.assert_allclose(sums[has_bins], 1.0, rtol=1e-12)


@FUZZ
@given(segmented_pair(), pseudo_count, st.sampled_from([0.25, 2.0, 3.0, 10.0, 1e3]))
def test_scaling_counts_and_pseudo_count_together_changes_only_the_test(
    case: Case, a: float, s: float
) -> None:
    # Smoothing is not scale-free: (s*c + a) / (s*N + k*a) depends on s. Only scaling the
    # pseudo-count along with the counts leaves the smoothed distributions unchanged.
    b, c, seg = case
    r, scaled = compare(b, c, seg, a), compare(s * b, s * c, seg, s * a)
    for name in (*DIVERGENCES, *PER_BIN):
        np.testing.assert_allclose(getattr(scaled, name), getattr(r, name), rtol=1e-9, atol=1e-12)
    # G scales linearly with the sample size (so the p-value moves); dof does not change.
    grand = r.baseline_total + r.current_total
    # Rounding of G is relative to the sample size (see kl_udfs.core.stats.gtest).
    err = np.abs(scaled.g_statistic - s * r.g_statistic)
    assert np.all(err <= 1e-9 * s * r.g_statistic + 1e-14 * s * grand)
    np.testing.assert_array_equal(scaled.dof, r.dof)
    np.testing.assert_allclose(scaled.baseline_total, s * r.baseline_total, rtol=1e-15)


@FUZZ
@given(segmented_pair(), pseudo_count, st.sampled_from([2.0, 10.0, 1e3]))
def test_more_data_means_less_shrinkage_for_equal_totals(case: Case, a: float, s: float) -> None:
    # With equal totals N, p = lam*P + (1 - lam)*U and q = lam*Q + (1 - lam)*U share the
    # weight lam = N / (N + k*a); KL of such mixtures is convex in lam and 0 at lam = 0, so
    # it is non-decreasing in lam, i.e. in the sample size.
    b = case[0]
    c = b[::-1].copy()  # a different histogram with the same grand total...
    single = Segments.single(b.size)  # ...as a single segment, so per-segment totals match
    small, large = compare(b, c, single, a), compare(s * b, s * c, single, a)
    for name in DIVERGENCES:
        assert np.all(getattr(large, name) >= getattr(small, name) * (1 - 1e-9) - 1e-15), name


@FUZZ
@given(segmented_pair(), st.integers(0, 6))
def test_top_contributors_match_a_per_segment_sort(case: Case, k: int) -> None:
    b, c, seg = case
    contribution = compare(b, c, seg).contribution
    top = top_contributors(contribution, seg, k)
    groups = top.by_segment()
    assert len(groups) == seg.n
    for s, got in enumerate(groups):
        members = np.flatnonzero(seg.ids == s)
        # Stable sort on -contribution: ties keep the lower bin index first.
        expected = members[np.argsort(-contribution[members], kind="stable")][:k]
        np.testing.assert_array_equal(got, expected)
    assert np.all(np.diff(top.segment) >= 0)
    np.testing.assert_array_equal(top.segment, seg.ids[top.index])
    assert np.all(top.rank < k)


@pytest.mark.parametrize("scale", [1.0, 1e6, 1e9])
def test_all_zero_one_bin_and_empty_histograms(scale: float) -> None:
    cases = [
        (np.zeros(5), np.zeros(5)),
        (np.array([scale]), np.array([0.0])),
        (np.array([scale]), np.array([scale])),
        (np.array([scale, 0.0, 3.0]), np.zeros(3)),
        (np.zeros(3), np.array([0.0, scale, 0.0])),
        (np.zeros(0), np.zeros(0)),
    ]
    for b, c in cases:
        r = compare(b, c)
        assert_sane(r)
        if b.sum() == 0 or c.sum() == 0 or b.size <= 1:
            assert r.p_value.tolist() == [1.0]
            assert r.dof.tolist() == [0]
