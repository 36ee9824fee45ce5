"""Plain-language labels against the bin labels the engine really writes."""

from __future__ import annotations

from datetime import datetime

import pytest

from dashboards import labels
from kl_udfs.core.bins import ColumnBins


def test_numeric_bins_read_as_ranges() -> None:
    bins = ColumnBins("amount", "numeric", "double", edges=(6.39, 250.0))
    assert [labels.bin_phrase("amount", b, "numeric") for b in bins.labels()] == [
        "amount < 6.39", "6.39 ≤ amount < 250", "amount ≥ 250", "amount is null"]
    assert [labels.axis_label(b, "numeric") for b in bins.labels()] == [
        "< 6.39", "6.39–250", "≥ 250", "null"]


def test_range_bins_read_as_below_inside_and_above() -> None:
    bins = ColumnBins("amount", "numeric", "double", edges=(6.39, 250.0)).with_range(0.5, 900.0)
    assert bins.labels() == ["(-inf, 0.5)", "[0.5, 6.39)", "[6.39, 250)", "[250, 900]",
                             "(900, +inf)", "<null>"]
    assert [labels.bin_phrase("amount", b, "numeric") for b in bins.labels()] == [
        "amount < 0.5", "0.5 ≤ amount < 6.39", "6.39 ≤ amount < 250", "250 ≤ amount ≤ 900",
        "amount > 900", "amount is null"]
    assert [labels.axis_label(b, "numeric") for b in bins.labels()] == [
        "< 0.5", "0.5–6.39", "6.39–250", "250–900", "> 900", "null"]


@pytest.mark.parametrize("bins", [
    ColumnBins("x", "numeric", "double", edges=(1.5, 2.0, 1e6)),
    ColumnBins("x", "numeric", "double", edges=(1.5, 2.0)).with_range(-3.25, 7.0),
    ColumnBins("x", "numeric", "double", edges=()).with_range(0.0, 0.0),
    ColumnBins("d", "numeric", "date", edges=(20454.0,)).with_range(20000.0, 20500.0),
    ColumnBins("t", "numeric", "timestamp", edges=(1767225600.0,)).with_range(
        1767222000.0, 1767229200.0),
], ids=["plain", "ranged", "one-value", "dates", "timestamps"])
def test_interval_labels_round_trip(bins: ColumnBins) -> None:
    intervals = [labels.parse_interval(b) for b in bins.labels()]
    assert intervals[-1] is None  # <null>
    assert [i.label() for i in intervals[:-1] if i is not None] == bins.labels()[:-1]
    assert intervals[0] is not None and intervals[0].low is None
    assert intervals[-2] is not None and intervals[-2].high is None
    if bins.has_range:
        inside = intervals[-3]
        assert inside is not None and inside.high_closed  # the baseline's maximum is inside
        assert intervals[-2] is not None and not intervals[-2].low_closed


def test_special_bins() -> None:
    assert labels.parse_interval("<null>") is None and labels.parse_interval("<other>") is None
    assert labels.bin_phrase("x", "<null>", "numeric") == "x is null"
    assert labels.axis_label("<other>", "categorical") == "other"
    assert labels.bin_phrase("x", "(-inf, +inf)", "numeric") == "x: any value"


def test_dates_and_timestamps_keep_their_text() -> None:
    day = ColumnBins("d", "numeric", "date", edges=(20454.0,))  # 2026-01-01
    assert labels.bin_phrase("d", day.labels()[1], "numeric") == "d ≥ 2026-01-01"
    stamp = ColumnBins("t", "numeric", "timestamp", edges=(1767225600.0, 1767229200.0))
    assert labels.bin_phrase("t", stamp.labels()[1], "numeric") == \
        "2026-01-01T00:00:00 ≤ t < 2026-01-01T01:00:00"


def test_categories_are_never_parsed_as_intervals() -> None:
    bins = ColumnBins("code", "categorical", "string", categories=("[1, 2)", "online"))
    assert [labels.bin_phrase("code", b, "categorical") for b in bins.labels()] == [
        "code = [1, 2)", "code = online", "code: other values", "code is null"]
    assert labels.axis_label("<other>", "categorical") == "other"


def test_contributor_sentence() -> None:
    top = {"bin": "[250, +inf)", "contribution": 0.08, "baseline_fraction": 0.12,
           "current_fraction": 0.31}
    assert labels.contributor_sentence("amount", "numeric", top) == "amount ≥ 250: 12% → 31%"
    assert labels.contributor_sentence("channel", "categorical", {
        "bin": "online", "baseline_fraction": 0.2, "current_fraction": 0.5,
    }) == "channel = online: 20% → 50%"
    assert labels.contributor_sentence("x", "numeric", {
        "bin": "<null>", "baseline_fraction": None, "current_fraction": 0.0,
    }) == "x is null: – → 0%"


@pytest.mark.parametrize(("share", "text"), [
    (0.31, "31%"), (0.0951, "10%"), (0.0949, "9.5%"), (0.025, "2.5%"), (0.0035, "0.35%"),
    (0.0, "0%"),
    (1e-6, "<0.01%"), (1.0, "100%"), (None, "–"), (float("nan"), "–"),
])
def test_percent(share: float | None, text: str) -> None:
    assert labels.percent(share) == text


def test_numbers_and_p_values() -> None:
    assert labels.number(0.13958) == "0.14"
    assert labels.number(8.29e-05) == "8.29e-05"
    assert labels.number(None) == "–"
    assert labels.p_value(0.0) == "< 1e-300"
    assert labels.p_value(0.0123) == "0.012"


@pytest.mark.parametrize(("start", "end", "text"), [
    (datetime(2026, 3, 31), datetime(2026, 4, 1), "2026-03-31"),
    (datetime(2026, 3, 11, 8), datetime(2026, 3, 11, 9), "2026-03-11 08:00–09:00"),
    (datetime(2026, 3, 14, 23), datetime(2026, 3, 15), "2026-03-14 23:00–00:00"),
    (datetime(2026, 3, 1), datetime(2026, 3, 8), "2026-03-01 – 2026-03-07"),
])
def test_window_label(start: datetime, end: datetime, text: str) -> None:
    assert labels.window_label(start, end) == text
