"""Deterministic demo tables for the two stories kl-drift must tell, with their ground truth.

* ``card_transactions`` - a fraud-model feed whose ``amount`` and ``channel`` drift from
  ``drift_day`` on while every other column stays stationary.
* ``server_metrics`` - hourly web-server metrics, stationary (no daily seasonality, so a
  fixed 48-hour baseline stays valid) except for a short incident.

Each day (card) or hour (server) draws from its own generator,
``SeedSequence(seed, spawn_key=(i,))`` (the same child ``SeedSequence(seed).spawn()`` would
give), so a chunk depends only on the seed, its index and the row count: extending
``days``/``hours`` appends data without changing earlier chunks, and moving ``drift_day`` or
the incident changes only the drifting columns, never the stable ones. Within a chunk all
draws are vectorised; the Python loop runs over days/hours, never rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = [
    "CARD_COLUMNS",
    "CARD_DRIFT_COLUMNS",
    "CARD_MONITORED_COLUMNS",
    "DRIFT",
    "INCIDENT",
    "SERVER_COLUMNS",
    "SERVER_INCIDENT_COLUMNS",
    "SERVER_MONITORED_COLUMNS",
    "CardDrift",
    "ServerIncident",
    "card_drift_columns",
    "card_drift_days",
    "card_transactions",
    "server_incident_columns",
    "server_incident_hours",
    "server_metrics",
]

_EPOCH = datetime(1970, 1, 1)
_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 24 * _US_PER_HOUR

# --- card transactions -------------------------------------------------------------------

CARD_START: Final = datetime(2026, 1, 1)
CARD_COLUMNS: Final = (
    "event_time", "transaction_id", "amount", "channel", "merchant_category", "country",
    "hour", "is_fraud",
)
# event_time is the window column and transaction_id a monotonic key: profiling either
# would "drift" every window by construction, so a monitor must leave them out.
CARD_MONITORED_COLUMNS: Final = (
    "amount", "channel", "merchant_category", "country", "hour", "is_fraud",
)
CARD_DRIFT_COLUMNS: Final = frozenset({"amount", "channel"})

_AMOUNT_LOG_MEAN = 3.5  # median ~ 33.1
_AMOUNT_LOG_SIGMA = 1.0
_AMOUNT_DRIFT_FACTOR = 1.7  # ln 1.7 = 0.53 sigma -> KL ~ 0.53^2 / 2 = 0.14 nats
_DAY_JITTER = 0.03  # rows per day vary by up to +-3%

_CHANNELS = ("pos", "online", "contactless", "atm")
_CHANNEL_P = np.array([0.55, 0.20, 0.15, 0.10])
_ONLINE_AFTER = 0.50
# Online jumps to 0.50; the other channels keep their relative shares.
_CHANNEL_P_DRIFT = _CHANNEL_P * (1 - _ONLINE_AFTER) / (1 - _CHANNEL_P[1])
_CHANNEL_P_DRIFT[1] = _ONLINE_AFTER

_MERCHANTS = (
    "grocery", "restaurants", "online_retail", "fuel", "apparel", "entertainment",
    "pharmacy", "electronics", "utilities", "home_improvement", "travel", "gambling",
)
_MERCHANT_P = np.array([0.22, 0.15, 0.12, 0.10, 0.07, 0.06, 0.06, 0.05, 0.05, 0.05, 0.04, 0.03])

_COUNTRIES = ("US", "GB", "DE", "FR", "CA", "ES", "NL", "IT")
_COUNTRY_P = np.array([0.45, 0.15, 0.10, 0.08, 0.08, 0.05, 0.05, 0.04])
_COUNTRY_NULL_P = 0.005

# Relative transaction volume per hour of day: quiet nights, lunch and evening peaks.
_HOUR_WEIGHTS = np.array([
    0.8, 0.5, 0.35, 0.3, 0.3, 0.45, 1.0, 2.0, 3.5, 4.5, 5.0, 5.5,
    6.5, 6.0, 5.5, 5.3, 5.5, 6.0, 6.5, 6.3, 5.5, 4.2, 2.8, 1.6,
])
_HOUR_P = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()
_FRAUD_P = 0.003

# --- server metrics ------------------------------------------------------------------------

SERVER_START: Final = datetime(2026, 3, 1)
SERVER_COLUMNS: Final = ("ts", "host", "cpu_util", "response_ms", "status_code")
SERVER_MONITORED_COLUMNS: Final = ("host", "cpu_util", "response_ms", "status_code")
SERVER_INCIDENT_COLUMNS: Final = frozenset({"cpu_util", "response_ms", "status_code"})
SERVER_BASELINE_HOURS: Final = 48

_HOSTS = ("web-1", "web-2", "web-3", "web-4")
_CPU_BETA = (7.0, 13.0)  # mean 0.35, sd ~0.10
_CPU_BETA_INCIDENT = (17.0, 3.0)  # mean 0.85, sd ~0.08
_RESPONSE_LOG_MEAN = float(np.log(120.0))  # median 120 ms
_RESPONSE_LOG_SIGMA = 0.3
_RESPONSE_INCIDENT_FACTOR = 4.0
_STATUSES = ("200", "404", "500")
_STATUS_P = np.array([0.97, 0.025, 0.005])
_STATUS_500_INCIDENT = 0.15
_STATUS_P_INCIDENT = _STATUS_P * (1 - _STATUS_500_INCIDENT) / (1 - _STATUS_P[2])
_STATUS_P_INCIDENT[2] = _STATUS_500_INCIDENT


# --- ground truth --------------------------------------------------------------------------


@dataclass(frozen=True)
class CardDrift:
    """Ground truth for ``card_transactions`` called with the same arguments."""

    start: datetime = CARD_START
    days: int = 90
    drift_day: int = 60
    columns: frozenset[str] = field(default=CARD_DRIFT_COLUMNS)

    @property
    def drift_start(self) -> datetime:
        return _naive_utc(self.start) + timedelta(days=self.drift_day)

    @property
    def windows(self) -> list[datetime]:
        """Start of every daily window that must be flagged (for ``columns`` only)."""
        return card_drift_days(self.start, self.days, self.drift_day)


@dataclass(frozen=True)
class ServerIncident:
    """Ground truth for ``server_metrics`` called with the same arguments."""

    start: datetime = SERVER_START
    hours: int = 14 * 24
    incident_start_hour: int = 200
    incident_hours: int = 3
    baseline_hours: int = SERVER_BASELINE_HOURS
    columns: frozenset[str] = field(default=SERVER_INCIDENT_COLUMNS)

    @property
    def baseline(self) -> tuple[datetime, datetime]:
        """The fixed baseline range [start, end) the story assumes (first 48 hours)."""
        start = _naive_utc(self.start)
        return start, start + timedelta(hours=self.baseline_hours)

    @property
    def windows(self) -> list[datetime]:
        """Start of every hourly window that must be flagged (for ``columns`` only)."""
        return [
            w for w in server_incident_hours(
                self.start, self.incident_start_hour, self.incident_hours)
            if w < _naive_utc(self.start) + timedelta(hours=self.hours)
        ]


DRIFT: Final = CardDrift()
INCIDENT: Final = ServerIncident()


def card_drift_columns() -> frozenset[str]:
    """The columns that drift in ``card_transactions``; all other monitored ones are stable."""
    return CARD_DRIFT_COLUMNS


def card_drift_days(
    start: datetime = CARD_START, days: int = 90, drift_day: int = 60
) -> list[datetime]:
    """Daily window starts (naive UTC) from ``drift_day`` to the end of the data."""
    first = _naive_utc(start)
    return [first + timedelta(days=d) for d in range(max(drift_day, 0), days)]


def server_incident_columns() -> frozenset[str]:
    """The columns that change during the incident; ``host`` stays uniform throughout."""
    return SERVER_INCIDENT_COLUMNS


def server_incident_hours(
    start: datetime = SERVER_START, incident_start_hour: int = 200, incident_hours: int = 3
) -> list[datetime]:
    """Hourly window starts (naive UTC) of the incident, the only hours a monitor may flag."""
    first = _naive_utc(start)
    return [
        first + timedelta(hours=incident_start_hour + i) for i in range(incident_hours)
    ]


# --- generators ----------------------------------------------------------------------------


def card_transactions(
    seed: int = 7,
    days: int = 90,
    rows_per_day: int = 100_000,
    start: datetime = CARD_START,
    drift_day: int = 60,
) -> pa.Table:
    """Card transactions where ``amount`` (x1.7) and ``channel`` (online 20% -> 50%) drift
    from ``drift_day`` on and nothing else ever does.

    ``event_time`` is uniform within its hour and ``hour`` is that hour (drawn from a fixed
    daily profile), so the two columns agree; rows are sorted by ``event_time``. Each day
    has ``rows_per_day`` rows +-3%. ``drift_day >= days`` gives a table with no drift.
    """
    _check_positive(days=days, rows_per_day=rows_per_day)
    if drift_day < 0:
        raise ValueError(f"drift_day must be >= 0, got {drift_day}")
    day0_us = _epoch_us(start)
    hours_of_day = np.arange(24, dtype=np.int32)
    cdf_channel, cdf_channel_drift = _cdf(_CHANNEL_P), _cdf(_CHANNEL_P_DRIFT)
    cdf_merchant, cdf_country = _cdf(_MERCHANT_P), _cdf(_COUNTRY_P)

    chunks: dict[str, list[npt.NDArray[np.generic]]] = {c: [] for c in CARD_COLUMNS}
    null_country: list[npt.NDArray[np.bool_]] = []
    for d in range(days):
        rng = _chunk_rng(seed, d)
        n = round(rows_per_day * (1 + rng.uniform(-_DAY_JITTER, _DAY_JITTER)))
        drifted = d >= drift_day
        # Hours come out grouped (0,0,...,23), so sorting the timestamps only reorders
        # them within their hour: event_time stays consistent with `hour` and the other,
        # i.i.d. columns need no permutation.
        hour = np.repeat(hours_of_day, rng.multinomial(n, _HOUR_P))
        offset = rng.integers(0, _US_PER_HOUR, size=n, dtype=np.int64)
        event_us = day0_us + d * _US_PER_DAY + hour.astype(np.int64) * _US_PER_HOUR + offset
        chunks["event_time"].append(np.sort(event_us))
        chunks["hour"].append(hour)
        amount = rng.lognormal(_AMOUNT_LOG_MEAN, _AMOUNT_LOG_SIGMA, size=n)
        if drifted:
            amount *= _AMOUNT_DRIFT_FACTOR
        chunks["amount"].append(np.maximum(np.round(amount, 2), 0.01))
        # One uniform per row for channel, mapped through the period's CDF, so a drifted
        # day is the same day with different channel cut points.
        u = rng.random(n)
        chunks["channel"].append(_codes(u, cdf_channel_drift if drifted else cdf_channel))
        chunks["merchant_category"].append(_codes(rng.random(n), cdf_merchant))
        chunks["country"].append(_codes(rng.random(n), cdf_country))
        null_country.append(rng.random(n) < _COUNTRY_NULL_P)
        chunks["is_fraud"].append(rng.random(n) < _FRAUD_P)

    cols = {c: np.concatenate(v) for c, v in chunks.items() if v}
    total = len(cols["hour"])
    arrays = {
        "event_time": _timestamps(cols["event_time"]),
        "transaction_id": pa.array(np.arange(1, total + 1, dtype=np.int64)),
        "amount": pa.array(cols["amount"]),
        "channel": _strings(cols["channel"], _CHANNELS),
        "merchant_category": _strings(cols["merchant_category"], _MERCHANTS),
        "country": _strings(cols["country"], _COUNTRIES, np.concatenate(null_country)),
        "hour": pa.array(cols["hour"]),
        "is_fraud": pa.array(cols["is_fraud"]),
    }
    return pa.table([arrays[c] for c in CARD_COLUMNS], names=list(CARD_COLUMNS))


def server_metrics(
    seed: int = 11,
    hours: int = 14 * 24,
    rows_per_hour: int = 3600,
    start: datetime = SERVER_START,
    incident_start_hour: int = 200,
    incident_hours: int = 3,
) -> pa.Table:
    """Stationary per-request server metrics with one incident of ``incident_hours`` hours.

    Normal hours are i.i.d. (deliberately no daily seasonality) so a fixed baseline of the
    first 48 hours flags exactly the incident. During it: ``response_ms`` x4, ``cpu_util``
    around 85% instead of 35%, and status "500" at 15% instead of 0.5%. Rows are sorted by
    ``ts``; ``host`` is uniform over web-1..web-4 at all times.
    """
    _check_positive(hours=hours, rows_per_hour=rows_per_hour)
    if incident_start_hour < 0 or incident_hours < 0:
        raise ValueError("incident_start_hour and incident_hours must be >= 0")
    hour0_us = _epoch_us(start)
    incident = range(incident_start_hour, incident_start_hour + incident_hours)
    cdf_status, cdf_status_incident = _cdf(_STATUS_P), _cdf(_STATUS_P_INCIDENT)
    n = rows_per_hour

    chunks: dict[str, list[npt.NDArray[np.generic]]] = {c: [] for c in SERVER_COLUMNS}
    for h in range(hours):
        rng = _chunk_rng(seed, h)
        hit = h in incident
        offset = np.sort(rng.integers(0, _US_PER_HOUR, size=n, dtype=np.int64))
        chunks["ts"].append(hour0_us + h * _US_PER_HOUR + offset)
        chunks["host"].append(rng.integers(0, len(_HOSTS), size=n, dtype=np.int8))
        a, b = _CPU_BETA_INCIDENT if hit else _CPU_BETA
        chunks["cpu_util"].append(np.round(rng.beta(a, b, size=n) * 100.0, 2))
        response = rng.lognormal(_RESPONSE_LOG_MEAN, _RESPONSE_LOG_SIGMA, size=n)
        if hit:
            response *= _RESPONSE_INCIDENT_FACTOR
        chunks["response_ms"].append(np.round(response, 2))
        chunks["status_code"].append(
            _codes(rng.random(n), cdf_status_incident if hit else cdf_status))

    cols = {c: np.concatenate(v) for c, v in chunks.items()}
    arrays = {
        "ts": _timestamps(cols["ts"]),
        "host": _strings(cols["host"], _HOSTS),
        "cpu_util": pa.array(cols["cpu_util"]),
        "response_ms": pa.array(cols["response_ms"]),
        "status_code": _strings(cols["status_code"], _STATUSES),
    }
    return pa.table([arrays[c] for c in SERVER_COLUMNS], names=list(SERVER_COLUMNS))


# --- helpers -------------------------------------------------------------------------------


def _chunk_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of day/hour ``index``: independent of how many chunks are built."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value <= 0:
            raise ValueError(f"{name} must be > 0, got {value}")


def _naive_utc(instant: datetime) -> datetime:
    """Naive UTC, the convention of the tables and of ``kl_udfs.core.windows``."""
    if instant.tzinfo is not None:
        instant = instant.astimezone(UTC).replace(tzinfo=None)
    return instant


def _epoch_us(instant: datetime) -> int:
    return (_naive_utc(instant) - _EPOCH) // timedelta(microseconds=1)


def _cdf(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    cdf = np.cumsum(p / p.sum())
    cdf[-1] = 1.0  # so a uniform in [0, 1) never falls past the last category
    return cdf


def _codes(u: npt.NDArray[np.float64], cdf: npt.NDArray[np.float64]) -> npt.NDArray[np.int8]:
    """Category codes for uniforms ``u`` (inverse-CDF sampling)."""
    return np.searchsorted(cdf, u, side="right").astype(np.int8)


def _timestamps(us: npt.NDArray[np.generic]) -> pa.Array:
    return pa.array(us.view("datetime64[us]"), type=pa.timestamp("us"))


def _strings(
    codes: npt.NDArray[np.generic],
    categories: tuple[str, ...],
    null_mask: npt.NDArray[np.bool_] | None = None,
) -> pa.Array:
    """Plain string column from integer codes (no Python objects per row).

    Decoding a DictionaryArray by cast is ~4x faster than ``pc.take`` on the categories.
    """
    indices = pa.array(codes, mask=null_mask)
    dictionary = pa.array(categories, type=pa.string())
    return pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())
