"""The volume verdict (pure numpy/pandas): calibrated by simulation, seasonal, and in words."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from kl_udfs.core.config import parse_config
from kl_udfs.core.contract import DRIFT, FRESH, INSUFFICIENT, NO_DATA, OK, STALE, UNCHECKED
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.policy import VolumeSettings
from kl_udfs.core.volume import freshness, judge_volume, outside, predict

SERIES = 20_000  # simulated histories per case: a rate's standard error is under 0.1 point
HISTORY = 28


def _negative_binomial(rng: np.random.Generator, mean: float, size: float,
                       shape: tuple[int, ...] | int) -> np.ndarray:
    """Counts of this mean with variance mean + mean^2 / size (overdispersed)."""
    return rng.negative_binomial(size, size / (size + mean), shape)


# (mean, size): day-to-day coefficients of variation sqrt(1/mean + 1/size) of 0.10 to 0.33
STABLE = [(10_000, 100), (1_000, 50), (1_000, 10), (100, 10)]


@pytest.mark.parametrize(("mean", "size"), STABLE)
def test_false_alarms_on_stable_overdispersed_counts_are_about_one_percent(
        mean: float, size: float) -> None:
    rng = np.random.default_rng(7)
    history = _negative_binomial(rng, mean, size, (SERIES, HISTORY))
    new = _negative_binomial(rng, mean, size, SERIES)
    rate = float(outside(new, predict(history)).mean())
    assert rate <= 0.0125, f"false alarms {rate:.2%}"


def test_half_the_rows_is_detected_when_the_counts_vary_by_a_tenth() -> None:
    rng = np.random.default_rng(8)
    history = _negative_binomial(rng, 10_000, 100, (SERIES, HISTORY))
    halved = rng.binomial(_negative_binomial(rng, 10_000, 100, SERIES), 0.5)
    assert float(outside(halved, predict(history)).mean()) >= 0.99


def test_a_past_outage_in_the_history_barely_moves_the_prediction() -> None:
    steady = np.array([1_000, 1_040, 980, 1_010, 990, 1_020, 1_000, 970, 1_030, 1_005])
    with_outage = steady.copy()
    with_outage[3] = 0
    a, b = predict(steady), predict(with_outage)
    assert float(b.expected) == pytest.approx(float(a.expected), rel=0.01)
    assert float(b.high) / float(a.high) == pytest.approx(1.0, abs=0.02)


def _days(counts: list[int], start: datetime = datetime(2026, 1, 5)) -> pd.DataFrame:
    return pd.DataFrame({"window_start": [start + timedelta(days=i) for i in range(len(counts))],
                         "row_count": counts})


def test_weekday_seasonality_compares_like_weekdays() -> None:
    # six weeks: 1,000 rows on weekdays, 100 at weekends; then a Saturday of 100 rows
    weeks = [1_000] * 5 + [100] * 2
    counts = _days(weeks * 6 + [1_000] * 5 + [100])
    target = counts["window_start"].iloc[-1]  # a Saturday
    seasonal = judge_volume(counts, [target], VolumeSettings(28, 4, "weekday"))[0]
    assert seasonal.status == OK and seasonal.history_windows == 6
    assert seasonal.expected_count == pytest.approx(100.0)
    assert seasonal.reason.endswith("from 6 previous Saturdays")
    flat = judge_volume(counts, [target], VolumeSettings(28, 4, "none"))[0]
    assert flat.status == DRIFT and flat.expected_count == pytest.approx(1_000.0)


def test_a_backfill_predicts_each_window_from_the_ones_before_it() -> None:
    counts = _days([500] * 10 + [250, 500])
    targets = list(counts["window_start"].iloc[3:])
    verdicts = judge_volume(counts, targets, VolumeSettings(28, 5, "none"))
    assert [v.history_windows for v in verdicts] == list(range(3, 12))
    assert [v.status for v in verdicts] == [INSUFFICIENT] * 2 + [OK] * 5 + [DRIFT, OK]
    assert verdicts[-2].reason.startswith("250 rows, expected 500 (")
    assert verdicts[-2].reason.endswith(") from 10 previous windows")


def test_an_empty_window_is_drift_with_history_and_no_data_without() -> None:
    counts = _days([0] + [300] * 8 + [0])
    first, last = judge_volume(counts, [counts["window_start"].iloc[i] for i in (0, 9)],
                               VolumeSettings(28, 8, "none"))
    assert first.status == NO_DATA and first.expected_count is None
    assert first.reason == ("no rows, and too little history to expect any (0 previous "
                            "windows, 8 needed)")
    assert last.status == DRIFT and last.reason.startswith("no rows, expected 300 (")


def test_freshness_compares_the_last_commit_with_max_age() -> None:
    now = datetime(2026, 3, 2, 12)
    day = timedelta(days=1)
    assert freshness(now - 2 * day, now, day) == STALE
    assert freshness(now - day / 2, now, day) == FRESH
    assert freshness(now - 30 * day, now, None) == UNCHECKED
    assert freshness(None, now, day) == UNCHECKED


def _monitor(**volume: Any) -> dict[str, Any]:
    return {"name": "m", "table": "./t", "timestamp_column": "ts",
            "baseline": {"version": 0}, **volume}


def test_config_resolves_volume_settings_and_max_age() -> None:
    config = parse_config({"monitors": [
        _monitor(freshness={"max_age": "36 hours"}),
        {**_monitor(volume={"history_windows": 10, "min_history": 4}), "name": "n",
         "thresholds": {"learned": {"seasonality": "weekday"}}}]}, Path("/tmp"))
    first, second = config.monitors
    assert first.volume_settings() == VolumeSettings(28, 8, "none")
    assert first.freshness.max_age_delta == timedelta(hours=36)
    assert second.volume_settings() == VolumeSettings(10, 4, "weekday")
    assert second.freshness.max_age_delta is None


@pytest.mark.parametrize(("monitor", "says"), [
    (_monitor(volume={"history_windows": 5, "min_history": 6}),
     "volume min_history (6) cannot exceed history_windows (5)"),
    (_monitor(freshness={"max_age": "soon"}), "max_age 'soon' is not '<n> <unit>'"),
    (_monitor(volume={"seasonality": "month"}), "seasonality"),
])
def test_bad_volume_and_freshness_settings_are_one_clear_error(monitor: dict[str, Any],
                                                               says: str) -> None:
    with pytest.raises(KlDriftError, match=r"monitors\.0\.(volume|freshness)") as caught:
        parse_config({"monitors": [monitor]}, Path("/tmp"))
    assert says in str(caught.value)
