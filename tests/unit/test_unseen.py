"""The `<unseen>` bin: Spark's xxhash64 in Python, the seen-value filter, the layout and the
unseen-share rule's figures (no JVM: Spark's side is in tests/spark/test_histogram.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kl_udfs.core import seen
from kl_udfs.core.bins import NULL_LABEL, OTHER_LABEL, UNSEEN_LABEL, ColumnBins
from kl_udfs.core.seen import build_filter, might_contain, xxhash64
from kl_udfs.core.udfs import drift_figures
from kl_udfs.core.verdict import Policy, decide


@pytest.mark.parametrize(("text", "expected"), [
    # the reference vectors of the XXH64 specification, seed 0
    ("", 0xEF46DB3751D8E999), ("a", 0xD24EC4F1A98C6E5B), ("abc", 0x44BC2CF5AD770999),
    ("Nobody inspects the spammish repetition", 0xFBCEA83C8A378BF1)])
def test_xxhash64_matches_the_reference_vectors(text: str, expected: int) -> None:
    assert xxhash64(text, seed=0) & (2**64 - 1) == expected


def test_filter_never_forgets_a_value_and_rarely_invents_one() -> None:
    rng = np.random.default_rng(7)
    seen = [f"s{i}-{rng.integers(1 << 40)}" for i in range(5_000)]
    fresh = [f"f{i}-{rng.integers(1 << 40)}" for i in range(20_000)]
    bits = build_filter(xxhash64(v) for v in seen)
    assert all(might_contain(bits, v) for v in seen)
    false_positive = np.mean([might_contain(bits, v) for v in fresh])
    # 16 to 32 bits a value, 2 probes: (1 - exp(-2 / 16))^2 = 1.4% at worst
    assert 0.0 < false_positive < 0.02


def test_an_empty_filter_sees_nothing() -> None:
    bits = build_filter([])
    assert len(bits) == 16 and not might_contain(bits, "anything")


def _column(seen: list[str]) -> ColumnBins:
    return ColumnBins("c", "categorical", "string", categories=("a", "b"),
                      seen_filter=build_filter(xxhash64(v) for v in seen))


def test_layout_with_an_unseen_bin() -> None:
    bins = _column(["c", "d"])
    assert bins.labels() == ["a", "b", OTHER_LABEL, UNSEEN_LABEL, NULL_LABEL]
    assert bins.roles() == ["value", "value", "other", "unseen", "null"]
    assert bins.n_bins == 5 and bins.null_index == 4
    assert bins.assign(["a", "b", "c", "d", None, "never"]).tolist() == [0, 1, 2, 2, 4, 3]
    assert ColumnBins.from_json(bins.to_json()) == bins


def test_layout_without_a_filter_is_the_older_one() -> None:
    bins = ColumnBins("c", "categorical", "string", categories=("a", "b"))
    assert bins.roles() == ["value", "value", "other", "null"]
    assert "seen_filter" not in bins.to_json()  # older baselines keep their id
    assert bins.assign(["a", "never", None]).tolist() == [0, 2, 3]


def _long(bins: ColumnBins, baseline: list[int], current: list[int]) -> pd.DataFrame:
    return pd.DataFrame({
        "window_idx": 0, "column_idx": 0, "bin": range(bins.n_bins),
        "bin_label": bins.labels(), "bin_role": bins.roles(),
        "baseline_count": baseline, "current_count": current})


def test_unseen_share_compares_the_unseen_bins() -> None:
    bins = _column(["c"])
    # baseline: 9,000 rows, 90 of them hold a value no other row holds (leave one out)
    figures = drift_figures(_long(bins, [4000, 3000, 1910, 90, 0], [400, 300, 200, 100, 0]),
                            0.5, 5)
    row = figures.iloc[0]
    assert row["baseline_unseen_fraction"] == pytest.approx(90 / 9000)
    assert row["current_unseen_fraction"] == pytest.approx(0.1)
    assert row["unseen_share_increase"] == pytest.approx(0.1 - 0.01)
    assert row["baseline_other_fraction"] == pytest.approx(1910 / 9000)
    assert row["unseen_share_p_value"] < 1e-20
    out = decide(figures.assign(column_name="c", column_kind="categorical"), Policy.defaults())
    assert out["status"][0] == "drift"
    assert "unseen_share" in out["fired_rules"][0]
    assert "values the baseline never saw (10.0% of rows, expected 1.0%)" in out["reason"][0]


def test_without_an_unseen_bin_the_rule_reads_other() -> None:
    bins = ColumnBins("c", "categorical", "string", categories=("a", "b"))
    figures = drift_figures(_long(bins, [5000, 4000, 0, 0], [400, 300, 300, 0]), 0.5, 5)
    row = figures.iloc[0]
    assert pd.isna(row["current_unseen_fraction"])
    assert row["unseen_share_increase"] == pytest.approx(0.3)
    out = decide(figures.assign(column_name="c", column_kind="categorical"), Policy.defaults())
    assert "values outside the baseline's top categories (30.0% of rows, baseline 0.0%)" \
        in out["reason"][0]



def test_filters_are_kept_smallest_first_within_the_budget() -> None:
    assert seen.filter_bits(0) == 64 and seen.filter_bits(4) == 64
    assert seen.filter_bits(5) == 128 and seen.filter_bits(20_000) == 524_288
    sizes = {"tiny": 3, "mid": 100, "big": 20_000}  # 16, 512 and 131,072 hex characters
    assert seen.within_budget(sizes, 16 + 512 + 131_072) == {"tiny", "mid", "big"}
    assert seen.within_budget(sizes, 16 + 512) == {"tiny", "mid"}
    assert seen.within_budget(sizes, 527) == {"tiny"}
    assert seen.within_budget(sizes, 15) == set()
    # one column at SEEN_LIMIT values fits the default budget eight times over
    assert seen.FILTER_BUDGET // (seen.filter_bits(seen.SEEN_LIMIT) // 4) == 8
