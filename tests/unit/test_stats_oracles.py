"""kl_udfs.core.stats against independent scipy implementations, on fuzzed histograms."""

from decimal import Decimal, localcontext

import numpy as np
import numpy.typing as npt
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.special import chdtrc
from scipy.stats import chi2_contingency, entropy

from kl_udfs.core.stats import Segments, compare

RTOL, ATOL = 1e-9, 1e-12
FUZZ = settings(max_examples=200, deadline=None)

# Integer counts 0..1e9, with zeros and small counts over-represented (empty bins matter).
count = st.one_of(st.just(0), st.integers(0, 5), st.integers(0, 10**9))
pseudo_count = st.floats(0.01, 2.0)


@st.composite
def histogram_pair(
    draw: st.DrawFn, min_bins: int = 1, max_bins: int = 60
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    k = draw(st.integers(min_bins, max_bins))
    b = draw(st.lists(count, min_size=k, max_size=k))
    c = draw(st.lists(count, min_size=k, max_size=k))
    return np.array(b, dtype=np.float64), np.array(c, dtype=np.float64)


def close(actual: npt.ArrayLike, expected: npt.ArrayLike) -> None:
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    np.testing.assert_allclose(a, e, rtol=RTOL, atol=ATOL)


@FUZZ
@given(histogram_pair(), pseudo_count)
def test_divergences_match_scipy(pair: tuple[np.ndarray, np.ndarray], a: float) -> None:
    b, c = pair
    r = compare(b, c, pseudo_count=a)
    kl = entropy(b + a, c + a)
    kl_rev = entropy(c + a, b + a)
    js = jensenshannon(b + a, c + a, base=2) ** 2
    if np.isnan(js):  # scipy takes sqrt of a rounding-negative when p ~ q
        js = 0.0
    close(r.kl_divergence, [kl])
    close(r.kl_reverse, [kl_rev])
    close(r.js_divergence, [js])
    close(r.psi, [kl + kl_rev])
    close(r.baseline_fraction, (b + a) / np.sum(b + a))
    close(r.current_fraction, (c + a) / np.sum(c + a))


def exact_g(b: np.ndarray, c: np.ndarray) -> float:
    """G of integer counts in 50-digit decimal arithmetic: products exact, ln correctly rounded."""
    with localcontext() as ctx:
        ctx.prec = 50
        rows = [[Decimal(int(x)) for x in b], [Decimal(int(x)) for x in c]]
        totals = [sum(r, Decimal(0)) for r in rows]
        grand = totals[0] + totals[1]
        g = Decimal(0)
        for row, total in zip(rows, totals, strict=True):
            for o, col in zip(row, map(sum, zip(*rows, strict=True)), strict=True):
                if o:
                    g += o * (o * grand / (total * col)).ln()
        return float(2 * g)


@FUZZ
@given(histogram_pair())
def test_g_test_matches_scipy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    b, c = pair
    r = compare(b, c)
    nonzero = (b + c) > 0
    if nonzero.sum() >= 2 and b.sum() > 0 and c.sum() > 0:
        stat, p, dof, _ = chi2_contingency(
            np.vstack([b, c])[:, nonzero], correction=False, lambda_="log-likelihood"
        )
        assert r.dof.tolist() == [dof]
        # scipy sums the textbook O*ln(O/E), which cancels to noise of ~grand_total * 1e-16
        # (even < 0) for large, nearly identical rows; allow for that, and for its effect on
        # the p-value (monotone in G, infinitely steep at G = 0 for 1 dof). Exactness is
        # checked against exact_g below.
        tol = RTOL * abs(stat) + ATOL + 1e-14 * (b.sum() + c.sum())
        assert abs(r.g_statistic[0] - stat) <= tol
        p_lo, p_hi = chdtrc(dof, stat + tol), chdtrc(dof, max(stat - tol, 0.0))
        assert p_lo * (1 - RTOL) - ATOL <= r.p_value[0] <= p_hi * (1 + RTOL) + ATOL
        if stat > 1e-4 * (b.sum() + c.sum()):  # well conditioned: scipy is exact too
            close(r.g_statistic, [stat])
            close(r.p_value, [p])
    else:  # scipy refuses these tables; we report "no evidence"
        assert r.p_value.tolist() == [1.0]
        assert r.g_statistic.tolist() == [0.0]
        assert r.dof.tolist() == [0]


# Found by hypothesis: scipy gives G = -6.02e-08 here; the exact G is 6.1157e-15.
NEAR_IDENTICAL = (
    np.array([1, 2, 0, 0, 135628702, 2, 1, 1, 0, 0, 0, 0, 1, 0, 1], dtype=np.float64),
    np.array([1, 2, 0, 0, 135628707, 2, 1, 1, 0, 0, 0, 0, 1, 0, 1], dtype=np.float64),
)


@FUZZ
@given(histogram_pair())
@example(NEAR_IDENTICAL)
def test_g_statistic_matches_exact_arithmetic(pair: tuple[np.ndarray, np.ndarray]) -> None:
    b, c = pair
    r = compare(b, c)
    if b.sum() > 0 and c.sum() > 0 and ((b + c) > 0).sum() >= 2:
        close(r.g_statistic, [exact_g(b, c)])


@st.composite
def shuffled_segments(
    draw: st.DrawFn,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], npt.NDArray[np.int64]]:
    pairs = draw(st.lists(histogram_pair(max_bins=15), min_size=1, max_size=6))
    perm = np.array(draw(st.permutations(range(sum(len(b) for b, _ in pairs)))), dtype=np.int64)
    return pairs, perm


@FUZZ
@given(shuffled_segments(), pseudo_count)
def test_one_call_over_shuffled_segments_equals_separate_calls(
    case: tuple[list[tuple[np.ndarray, np.ndarray]], npt.NDArray[np.int64]], a: float
) -> None:
    pairs, perm = case
    ids = np.concatenate([np.full(len(b), i) for i, (b, _) in enumerate(pairs)])
    b_all = np.concatenate([b for b, _ in pairs])
    c_all = np.concatenate([c for _, c in pairs])
    # Shuffle bins so segments are interleaved, not contiguous.
    together = compare(b_all[perm], c_all[perm], Segments.from_ids(ids[perm]), pseudo_count=a)
    where = np.empty_like(perm)
    where[perm] = np.arange(perm.size)  # flat position of original bin j after shuffling

    start = 0
    for i, (b, c) in enumerate(pairs):
        alone = compare(b, c, pseudo_count=a)
        for field in (
            "kl_divergence",
            "kl_reverse",
            "js_divergence",
            "psi",
            "g_statistic",
            "p_value",
            "baseline_total",
            "current_total",
        ):
            close(getattr(together, field)[i], getattr(alone, field)[0])
        assert together.dof[i] == alone.dof[0]
        bins = where[start : start + len(b)]
        for field in ("baseline_fraction", "current_fraction", "contribution"):
            close(getattr(together, field)[bins], getattr(alone, field))
        start += len(b)
