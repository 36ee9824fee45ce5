"""The volume verdict: a window's row count against what the monitor's earlier windows predict.

Real row counts are overdispersed (their variance is far above a Poisson's), and a history
holds the odd outage or replay, so the prediction is made robustly on log counts:

  y = ln(1 + count) of the last `history_windows` earlier windows (of the same weekday or hour
      with `seasonality`), center = median(y), s = 1.4826 x median |y - center| (the MAD);
  s is at least the Poisson spread of y at the expected count, sqrt(m) / (m + 1): a perfectly
      steady history does not make every count but one a surprise;
  the interval is center +- t x s x sqrt(1 + pi / (2n)), t the Student quantile of the
      VOLUME_LEVEL with 0.37 (n - 1) degrees of freedom (the MAD's efficiency), the root term
      the uncertainty of the median of n windows; back-transformed to counts.

A count outside it is `drift`. The false-alarm rate and the power this gives on simulated
negative-binomial counts are in docs/verdicts.md (tests/unit/test_volume.py measures them).
numpy, pandas and scipy only: the Spark layer only counts the rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from scipy import stats

from kl_udfs.core.contract import (
    DRIFT,
    FRESH,
    INSUFFICIENT,
    NO_DATA,
    OK,
    STALE,
    UNCHECKED,
    VOLUME_LEVEL,
)
from kl_udfs.core.policy import Seasonality, VolumeSettings

MAD_SCALE = 1.4826  # the MAD of a normal sample times this estimates its standard deviation
MAD_EFFICIENCY = 0.37  # the MAD's efficiency against the standard deviation, for normal data
WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays",
            "Sundays")


@dataclass(frozen=True)
class VolumeVerdict:
    window_start: datetime
    row_count: int
    history_windows: int
    status: str
    reason: str
    expected_count: float | None = None  # None without enough history
    expected_low: float | None = None
    expected_high: float | None = None


@dataclass(frozen=True)
class Prediction:
    expected: np.ndarray
    low: np.ndarray
    high: np.ndarray


def predict(history: np.ndarray, level: float = VOLUME_LEVEL) -> Prediction:
    """The expected count and its prediction interval from earlier counts along the last axis
    (every row of a 2-d array is one history, all of one length n >= 2)."""
    y = np.log1p(np.asarray(history, dtype=np.float64))
    n = y.shape[-1]
    center = np.median(y, axis=-1)
    spread = MAD_SCALE * np.median(np.abs(y - center[..., None]), axis=-1)
    expected = np.expm1(center)
    steady = np.maximum(expected, 1.0)
    spread = np.maximum(spread, np.sqrt(steady) / (steady + 1.0))
    dof = max(MAD_EFFICIENCY * (n - 1), 1.0)
    t = float(stats.t.ppf(0.5 + level / 2, dof))
    half = t * spread * math.sqrt(1.0 + math.pi / (2 * n))
    return Prediction(expected, np.maximum(np.expm1(center - half), 0.0),
                      np.expm1(center + half))


def outside(count: np.ndarray, prediction: Prediction) -> np.ndarray:
    """Whether each count falls outside its prediction interval."""
    return (count < prediction.low) | (count > prediction.high)


def slot_of(start: datetime, seasonality: Seasonality) -> int:
    if seasonality == "weekday":
        return start.weekday()
    if seasonality == "hour_of_day":
        return start.hour
    return 0


def _previous(start: datetime, seasonality: Seasonality, count: int) -> str:
    if seasonality == "weekday":
        return f"{count} previous {WEEKDAYS[start.weekday()]}"
    if seasonality == "hour_of_day":
        return f"{count} previous windows starting at {start:%H}:00"
    return f"{count} previous windows"


def judge_volume(counts: pd.DataFrame, targets: Sequence[datetime],
                 settings: VolumeSettings) -> list[VolumeVerdict]:
    """The volume verdict of each target window, oldest first.

    `counts` holds (window_start, row_count) of the targets and of the earlier windows known;
    each target is predicted from the windows before it, the earlier targets included, so a
    backfill judges its windows as a run of each would have.
    """
    known = (counts.dropna(subset=["row_count"]).drop_duplicates("window_start", keep="last")
             .sort_values("window_start"))
    starts = [pd.Timestamp(s).to_pydatetime() for s in known["window_start"]]
    values = known["row_count"].to_numpy(dtype=np.int64)
    slots = np.array([slot_of(s, settings.seasonality) for s in starts], dtype=np.int64)
    rows = []
    for target in sorted(pd.Timestamp(t).to_pydatetime() for t in targets):
        position = starts.index(target)
        earlier = values[:position][slots[:position] == slot_of(target, settings.seasonality)]
        history = earlier[-settings.history_windows:]
        count = int(values[position])
        rows.append(_verdict(target, count, history, settings))
    return rows


def _verdict(start: datetime, count: int, history: np.ndarray,
             settings: VolumeSettings) -> VolumeVerdict:
    used = _previous(start, settings.seasonality, len(history))
    if len(history) < max(settings.min_history, 2):
        needed = f"{used}, {settings.min_history} needed"
        if count == 0:
            return VolumeVerdict(start, count, len(history), NO_DATA,
                                 f"no rows, and too little history to expect any ({needed})")
        return VolumeVerdict(start, count, len(history), INSUFFICIENT,
                             f"{count:,} rows; too little history to judge ({needed})")
    p = predict(history)
    expected, low, high = float(p.expected), float(p.low), float(p.high)
    status = DRIFT if bool(outside(np.array(count), p)) else OK
    said = "no rows" if count == 0 else f"{count:,} rows"
    return VolumeVerdict(start, count, len(history), status,
                         f"{said}, expected {expected:,.0f} ({low:,.0f}–{high:,.0f}) from {used}",
                         expected, low, high)


def freshness(committed_at: datetime | None, now: datetime,
              max_age: timedelta | None) -> str:
    """stale, fresh or unchecked: the monitored table's last commit against `max_age`."""
    if max_age is None or committed_at is None:
        return UNCHECKED
    return STALE if now - committed_at > max_age else FRESH


def freshness_reason(committed_at: datetime | None, version: int | None, now: datetime,
                     max_age: timedelta | None) -> str:
    """The freshness verdict in words, for alerts."""
    if committed_at is None:
        return "the table has no Delta history"
    hours = (now - committed_at).total_seconds() / 3600
    said = (f"last commit {committed_at:%Y-%m-%d %H:%M} UTC (version {version}), {hours:,.1f} "
            "hours before the run")
    return said if max_age is None else said + f"; max age {max_age.total_seconds() / 3600:g} hours"
