"""The one-pass histogram against an independent numpy recount of the same rows."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from kl_udfs.core.bins import ColumnBins
from kl_udfs.core.seen import build_filter, might_contain, xxhash64
from kl_udfs.core.stats import moments
from kl_udfs.core.windows import split
from kl_udfs.spark import baseline
from kl_udfs.spark.baseline import learn_bins, learn_with_counts
from kl_udfs.spark.columns import ColumnChoice
from kl_udfs.spark.histogram import SUM_COLUMNS, window_histograms

pytestmark = pytest.mark.spark

START = datetime(2026, 5, 1)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 4000
    x = rng.normal(10, 3, n)
    x[rng.random(n) < 0.02] = np.nan
    x[:3] = [np.inf, -np.inf, np.nan]
    k = rng.integers(0, 7, n).astype(float)
    k[rng.random(n) < 0.05] = np.nan
    cats = np.array(["a", "b", "c", "d", "e", "f", "g", "h"], dtype=object)[rng.integers(0, 8, n)]
    cats[rng.random(n) < 0.03] = None
    return pd.DataFrame({
        "ts": [START + timedelta(minutes=int(m)) for m in rng.integers(0, 3 * 24 * 60, n)],
        "x": x,
        "k": pd.array([None if np.isnan(v) else int(v) for v in k], dtype="Int64"),
        "cat": cats,
        "flag": rng.random(n) < 0.3,
        "day": [START.date() + timedelta(days=int(d)) for d in rng.integers(0, 30, n)],
    })


@pytest.fixture(scope="module")
def frame(spark, rows):  # type: ignore[no-untyped-def]
    schema = "ts timestamp, x double, k long, cat string, flag boolean, day date"
    records = [
        (r.ts.to_pydatetime(), None if r.x is None else float(r.x),
         None if pd.isna(r.k) else int(r.k), r.cat, bool(r.flag), r.day)
        for r in rows.itertuples()
    ]
    return spark.createDataFrame(records, schema)


def _bins() -> list[ColumnBins]:
    return [
        ColumnBins("x", "numeric", "double", edges=(6.0, 8.5, 10.0, 11.5, 14.0)),
        ColumnBins("k", "numeric", "bigint", edges=(1.0, 3.0, 5.0)),
        ColumnBins("cat", "categorical", "string", categories=("a", "c", "e")),
        ColumnBins("flag", "categorical", "boolean", categories=("false",)),
        ColumnBins("day", "numeric", "date", edges=(20580.0, 20590.0)),
        # b and d seen beyond the top K (<other>), e to h never seen (<unseen>)
        ColumnBins("cat", "categorical", "string", categories=("a", "c"),
                   seen_filter=build_filter(xxhash64(v) for v in ("b", "d"))),
    ]


def _numpy_counts(rows: pd.DataFrame, bins: list[ColumnBins], lo: datetime,
                  hi: datetime) -> dict[tuple[int, int], int]:
    inside = rows[(rows.ts >= lo) & (rows.ts < hi)]
    counts: dict[tuple[int, int], int] = {}
    for i, b in enumerate(bins):
        values = list(inside[b.name])
        if b.source_type == "date":
            values = [(v - datetime(1970, 1, 1).date()).days for v in values]
        idx = b.assign([None if v is pd.NA else v for v in values])
        for j, n in zip(*np.unique(idx, return_counts=True), strict=True):
            counts[(i, int(j))] = int(n)
    return counts


def test_single_window_counts_equal_numpy_recount(frame, rows) -> None:  # type: ignore[no-untyped-def]
    bins = _bins()
    lo, hi = START + timedelta(hours=6), START + timedelta(days=1, hours=6)
    cells = window_histograms(frame, bins, "ts", split(lo, hi, hi - lo)).collect()
    got = {(c["column_idx"], c["bin"]): c["count"] for c in cells}
    assert got == _numpy_counts(rows, bins, lo, hi)
    assert {c["window_idx"] for c in cells} == {0}


def test_many_windows_in_one_pass_equal_one_pass_per_window(frame, rows) -> None:  # type: ignore[no-untyped-def]
    bins = _bins()
    windows = split(START, START + timedelta(days=3), timedelta(hours=7))  # last one shorter
    cells = window_histograms(frame, bins, "ts", windows).collect()
    for w_idx, w in enumerate(windows):
        got = {(c["column_idx"], c["bin"]): c["count"] for c in cells if c["window_idx"] == w_idx}
        assert got == _numpy_counts(rows, bins, w.start, w.end), w


@pytest.mark.parametrize("group_columns", [1, 2])
def test_columns_scanned_in_groups_count_the_same(  # type: ignore[no-untyped-def]
        frame, rows, monkeypatch: pytest.MonkeyPatch, group_columns: int) -> None:
    """A wide table's column groups (here of 1 and 2 columns) are unioned into the same cells."""
    from kl_udfs.spark import histogram

    monkeypatch.setattr(histogram, "GROUP_COLUMNS", group_columns)
    bins = _bins()
    windows = split(START, START + timedelta(days=3), timedelta(days=1))
    cells = window_histograms(frame, bins, "ts", windows).collect()
    assert len(cells) == len({(c["window_idx"], c["column_idx"], c["bin"]) for c in cells})
    for w_idx, w in enumerate(windows):
        got = {(c["column_idx"], c["bin"]): c["count"] for c in cells if c["window_idx"] == w_idx}
        assert got == _numpy_counts(rows, bins, w.start, w.end), w


def test_special_values_land_in_their_bins(frame, rows) -> None:  # type: ignore[no-untyped-def]
    x = ColumnBins("x", "numeric", "double", edges=(0.0, 20.0))
    cells = window_histograms(frame, [x], "ts", None).collect()
    counts = {c["bin"]: c["count"] for c in cells}
    values = rows.x.to_numpy()
    assert counts.get(0, 0) == int(np.sum(values < 0))  # -inf included
    assert counts.get(2, 0) == int(np.sum(values >= 20))  # +inf included
    assert counts[x.null_index] == int(np.isnan(values).sum())  # NaN and null together
    assert sum(counts.values()) == len(rows)


AWKWARD = ["it's", 'say "hi"', "back\\slash", "\\u0041", "new\nline", "tab\t", "café ☕",
           "%_*", "`tick`", "", " ", "${x}", "NULL"]


def test_awkward_categories_and_numbers_without_edges_equal_numpy(spark) -> None:  # type: ignore[no-untyped-def]
    """Categories reach Spark as SQL text: quotes, backslashes, escapes, control and non-ASCII
    characters must still match exactly. A numeric column whose baseline had no finite value
    has no edges: its NaN still goes to the null bin."""
    rng = np.random.default_rng(11)
    n = 600
    texts = [AWKWARD[i] if i < len(AWKWARD) else None for i in rng.integers(0, len(AWKWARD) + 2, n)]
    numbers = rng.normal(0, 1, n)
    numbers[rng.random(n) < 0.2] = np.nan
    nulls = rng.random(n) < 0.1
    records = [(START, t, None if null else float(v))
               for t, v, null in zip(texts, numbers, nulls, strict=True)]
    df = spark.createDataFrame(records, "ts timestamp, s string, x double")
    bins = [ColumnBins("s", "categorical", "string", categories=tuple(AWKWARD[:-2])),
            ColumnBins("x", "numeric", "double"),
            ColumnBins("s", "categorical", "string", categories=tuple(AWKWARD[:3]),
                       seen_filter=build_filter(xxhash64(t) for t in AWKWARD[3:8]))]
    cells = window_histograms(df, bins, "ts", None).collect()
    got = {(c["column_idx"], c["bin"]): c["count"] for c in cells}
    expected: dict[tuple[int, int], int] = {}
    values = [texts, [None if null else v for v, null in zip(numbers, nulls, strict=True)],
              texts]
    for i, (b, column) in enumerate(zip(bins, values, strict=True)):
        for j, count in zip(*np.unique(b.assign(column), return_counts=True), strict=True):
            expected[(i, int(j))] = int(count)
    assert got == expected
    assert got[(0, len(AWKWARD) - 2)] == sum(t in AWKWARD[-2:] for t in texts)  # "other"
    assert got[(1, 1)] == int(np.sum(np.isnan(numbers) | nulls))  # NaN and null together
    assert got[(2, 3)] == sum(t in AWKWARD[3:8] for t in texts)  # seen beyond the top K
    assert got[(2, 4)] == sum(t in AWKWARD[8:] for t in texts)  # never seen


def test_min_and_max_skip_nan_and_keep_infinities(frame) -> None:  # type: ignore[no-untyped-def]
    x = ColumnBins("x", "numeric", "double", edges=(10.0,))
    cells = window_histograms(frame, [x], "ts", None).collect()
    lows = [c["min_value"] for c in cells if c["min_value"] is not None]
    highs = [c["max_value"] for c in cells if c["max_value"] is not None]
    assert not np.isnan(lows + highs).any()
    assert min(lows) == -np.inf and max(highs) == np.inf


def test_learned_bins_are_quantiles_and_top_k(frame, rows) -> None:  # type: ignore[no-untyped-def]
    choices = [ColumnChoice("x", "numeric", "double"), ColumnChoice("cat", "categorical", "string"),
               ColumnChoice("k", "numeric", "bigint")]
    learned = {b.name: b for b in learn_bins(frame, choices, bins=4, top_k=3)}
    finite = rows.x[np.isfinite(rows.x)]
    expected = np.quantile(finite, [0.25, 0.5, 0.75])
    assert np.allclose(learned["x"].edges, expected, atol=0.05)
    top = rows.cat.value_counts().sort_values(ascending=False, kind="stable")
    assert set(learned["cat"].categories) == set(top.index[:3])
    # discrete data: duplicated quantiles collapse into unique edges
    assert list(learned["k"].edges) == sorted(set(learned["k"].edges))


@pytest.mark.parametrize("top_k", [0, 3, 20])
def test_category_counts_of_the_ranking_pass_equal_the_histogram_and_pandas(  # type: ignore[no-untyped-def]
        frame, rows, top_k: int) -> None:
    choices = [ColumnChoice("cat", "categorical", "string"),
               ColumnChoice("flag", "categorical", "boolean"),
               ColumnChoice("x", "numeric", "double")]
    bins, counts = learn_with_counts(frame, choices, bins=4, top_k=top_k)
    assert set(counts) == {"cat", "flag"}  # numeric columns are counted later, against edges
    categorical = [b for b in bins if b.kind == "categorical"]
    recount = {b.name: [0] * b.n_bins for b in categorical}
    for cell in window_histograms(frame, categorical, "ts", None).collect():
        recount[categorical[cell["column_idx"]].name][cell["bin"]] = int(cell["count"])
    assert counts == recount
    for b in categorical:
        values = rows[b.name].map(lambda v: None if v is None else str(v).lower())
        seen = values.value_counts()
        kept = [int(seen[c]) for c in b.categories]
        nulls = int(values.isna().sum())
        # every value occurs more than once: the leave-one-out <unseen> count is 0
        assert counts[b.name] == [*kept, len(rows) - nulls - sum(kept), 0, nulls]
        assert all(might_contain(b.seen_filter, str(v)) for v in seen.index
                   if v not in b.categories)  # the filter holds the values beyond the top K
        assert len(b.categories) == min(top_k, len(seen))
        assert kept == sorted(kept, reverse=True)


def test_quantiles_of_a_big_reference_come_from_a_partition_proof_sample(  # type: ignore[no-untyped-def]
        frame, rows, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(baseline, "QUANTILE_ROWS_PER_BIN", 200)  # 4 bins: ~800 of 4,000 rows
    sample = baseline.quantile_sample(frame, len(rows), bins=4)
    assert 600 < sample.count() < 1000
    choices = [ColumnChoice("x", "numeric", "double"), ColumnChoice("k", "numeric", "bigint")]
    learned = learn_bins(frame, choices, bins=4, top_k=3)
    # Rows are picked by a hash of their values: other partitionings pick the same rows.
    for partitions in (1, 7):
        assert learn_bins(frame.repartition(partitions), choices, bins=4, top_k=3) == learned
    finite = rows.x[np.isfinite(rows.x)]
    # Rank standard error sqrt(p(1-p)/800) <= 0.018, about 0.17 in x (normal, sd 3).
    assert np.allclose(learned[0].edges, np.quantile(finite, [0.25, 0.5, 0.75]), atol=0.3)
    monkeypatch.setattr(baseline, "QUANTILE_ROWS_PER_BIN", 10_000)
    assert baseline.quantile_sample(frame, len(rows), bins=4) is frame  # small: every row


def test_a_baseline_counts_values_held_once_as_unseen(spark, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                                      ) -> None:
    """Leave one out: a value one baseline row holds is one the rest of the baseline never saw,
    as a window's new value is; past SEEN_LIMIT values the column keeps the older layout."""
    values = ["a"] * 10 + ["b"] * 3 + ["z"] * 2 + [f"u{i}" for i in range(5)] + [None] * 4
    df = spark.createDataFrame([(START, v) for v in values], "ts timestamp, s string")
    choice = [ColumnChoice("s", "categorical", "string")]
    (bins,), counts = learn_with_counts(df, choice, bins=4, top_k=1)
    assert bins.categories == ("a",) and bins.has_unseen
    assert counts["s"] == [10, 5, 5, 4]  # a; b and z; u0 to u4; nulls
    assert all(might_contain(bins.seen_filter, v) for v in ("b", "z", "u0", "u4"))
    monkeypatch.setattr(baseline, "SEEN_LIMIT", 6)  # 7 values beyond the top 1
    (bins,), counts = learn_with_counts(df, choice, bins=4, top_k=1)
    assert not bins.has_unseen and counts["s"] == [10, 10, 4]


def test_sparks_xxhash64_equals_the_python_one(spark) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    alphabet = [*"abcXYZ019 'é☕\\\n", "\U0001d11e", "\x00"]
    texts = [*AWKWARD, *("".join(rng.choice(alphabet, int(size)))
                         for size in rng.integers(0, 90, 300))]
    df = spark.createDataFrame([(t,) for t in texts], "s string")
    assert [r[0] for r in df.selectExpr("xxhash64(s)").collect()] == [xxhash64(t) for t in texts]


def test_power_sums_of_each_window_equal_numpy_on_its_finite_values(frame, rows) -> None:  # type: ignore[no-untyped-def]
    # x holds +-inf and NaN (left out of the sums), k nulls, day is a date (summed as days)
    bins = [ColumnBins("x", "numeric", "double", edges=(6.0, 10.0, 14.0), center=-10.0,
                       scale=0.25),
            ColumnBins("k", "numeric", "bigint", edges=(1.0, 3.0), center=2.0, scale=1.0),
            ColumnBins("day", "numeric", "date", edges=(20580.0,), center=20580.0, scale=7.0),
            ColumnBins("cat", "categorical", "string", categories=("a",))]
    windows = split(START, START + timedelta(days=3), timedelta(days=1))
    cells = window_histograms(frame, bins, "ts", windows).collect()
    epoch = datetime(1970, 1, 1).date()
    for w_idx, w in enumerate(windows):
        inside = rows[(rows.ts >= w.start) & (rows.ts < w.end)]
        for i, b in enumerate(bins[:3]):
            raw = inside[b.name]
            values = [(v - epoch).days for v in raw] if b.source_type == "date" else \
                raw.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
            assert b.center is not None and b.scale is not None
            expected = moments.power_sums(values, b.center, b.scale)
            got = np.sum([[c[name] or 0.0 for name in SUM_COLUMNS] for c in cells
                          if c["window_idx"] == w_idx and c["column_idx"] == i], axis=0)
            np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert all(c["sum_z0"] == 0 and c["sum_z1"] is None for c in cells if c["column_idx"] == 3)


def test_past_the_filter_budget_the_widest_column_keeps_the_older_layout(  # type: ignore[no-untyped-def]
        spark, monkeypatch: pytest.MonkeyPatch) -> None:
    few = ["a"] * 10 + ["b"] * 3 + ["c"]  # 2 values beyond the top 1: a 16-character filter
    many = ["a"] * 10 + [f"v{i}" for i in range(40)]  # 40 values: 1,024 bits, 256 characters
    rows = [(START, x, y) for x, y in zip(few + ["a"] * (len(many) - len(few)), many,
                                          strict=True)]
    df = spark.createDataFrame(rows, "ts timestamp, few string, many string")
    choices = [ColumnChoice("few", "categorical", "string"),
               ColumnChoice("many", "categorical", "string")]
    monkeypatch.setattr(baseline, "FILTER_BUDGET", 16 + 255)  # room for the small one only
    (small, wide), counts = learn_with_counts(df, choices, bins=4, top_k=1)
    assert small.has_unseen and not wide.has_unseen
    assert counts["few"] == [46, 3, 1, 0]  # a; b; c held once: <unseen>; no nulls
    assert counts["many"] == [10, 40, 0]  # a; every v in <other>, none left out; no nulls
    assert wide.n_bins == len(counts["many"]) and small.n_bins == len(counts["few"])
