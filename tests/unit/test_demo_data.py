"""The demo tables must tell their stories: drift exactly where the ground truth says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kl_udfs.demo.data import (
    CARD_COLUMNS,
    CARD_MONITORED_COLUMNS,
    DRIFT,
    INCIDENT,
    SERVER_COLUMNS,
    SERVER_MONITORED_COLUMNS,
    CardDrift,
    ServerIncident,
    card_drift_columns,
    card_drift_days,
    card_transactions,
    server_incident_columns,
    server_incident_hours,
    server_metrics,
)

ROWS_PER_DAY = 5_000
ROWS_PER_HOUR = 1_000
US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR


@pytest.fixture(scope="module")
def cards() -> pa.Table:
    return card_transactions(rows_per_day=ROWS_PER_DAY)


@pytest.fixture(scope="module")
def servers() -> pa.Table:
    return server_metrics(rows_per_hour=ROWS_PER_HOUR)


def _index(table: pa.Table, column: str, start: datetime, unit_us: int) -> np.ndarray:
    """Day/hour number of each row, counted from `start`."""
    us = table[column].combine_chunks().cast(pa.int64()).to_numpy()
    return (us - (start - datetime(1970, 1, 1)) // timedelta(microseconds=1)) // unit_us


def _share(table: pa.Table, column: str, value: str, mask: np.ndarray) -> float:
    values = table[column].combine_chunks().filter(pa.array(mask))
    return pc.sum(pc.equal(values, value)).as_py() / len(values)


def _codes(table: pa.Table, column: str, base: np.ndarray) -> tuple[np.ndarray, int]:
    """Histogram bin per row: 20 baseline-quantile bins if numeric, else category (or null)."""
    arr = table[column].combine_chunks()
    if pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type):
        x = arr.to_numpy()
        edges = np.unique(np.quantile(x[base], np.linspace(0, 1, 21)))
        return np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2), len(
            edges
        )
    encoded = pc.dictionary_encode(arr.cast(pa.string()))
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False) + 1
    return codes, int(codes.max()) + 1


def _kl_per_window(
    table: pa.Table, column: str, window: np.ndarray, base: np.ndarray
) -> np.ndarray:
    """KL(window || baseline) in nats per window, with a +0.5 pseudo-count per bin."""
    codes, k = _codes(table, column, base)
    counts = np.zeros((int(window.max()) + 1, k))
    np.add.at(counts, (window, codes), 1)
    q = np.bincount(codes[base], minlength=k) + 0.5
    q = q / q.sum()
    p = counts + 0.5
    p = p / p.sum(axis=1, keepdims=True)
    return (p * np.log(p / q)).sum(axis=1)


# --- determinism and shape -----------------------------------------------------------------


def test_card_transactions_is_deterministic(cards: pa.Table) -> None:
    assert card_transactions(rows_per_day=ROWS_PER_DAY).equals(cards)
    assert not card_transactions(seed=8, rows_per_day=ROWS_PER_DAY).equals(cards)


def test_server_metrics_is_deterministic(servers: pa.Table) -> None:
    assert server_metrics(rows_per_hour=ROWS_PER_HOUR).equals(servers)
    assert not server_metrics(seed=12, rows_per_hour=ROWS_PER_HOUR).equals(servers)


def test_earlier_days_do_not_depend_on_how_many_follow(cards: pa.Table) -> None:
    short = card_transactions(days=10, rows_per_day=ROWS_PER_DAY)
    assert cards.slice(0, short.num_rows).equals(short)


def test_moving_the_drift_changes_only_the_drifting_columns(cards: pa.Table) -> None:
    no_drift = card_transactions(rows_per_day=ROWS_PER_DAY, drift_day=90)
    for column in CARD_COLUMNS:
        same = no_drift[column].equals(cards[column])
        assert same == (column not in card_drift_columns()), column


def test_card_schema(cards: pa.Table) -> None:
    assert cards.schema == pa.schema([
        ("event_time", pa.timestamp("us")),
        ("transaction_id", pa.int64()),
        ("amount", pa.float64()),
        ("channel", pa.string()),
        ("merchant_category", pa.string()),
        ("country", pa.string()),
        ("hour", pa.int32()),
        ("is_fraud", pa.bool_()),
    ])
    assert tuple(cards.column_names) == CARD_COLUMNS
    assert set(CARD_MONITORED_COLUMNS) <= set(CARD_COLUMNS)


def test_server_schema(servers: pa.Table) -> None:
    assert servers.schema == pa.schema([
        ("ts", pa.timestamp("us")),
        ("host", pa.string()),
        ("cpu_util", pa.float64()),
        ("response_ms", pa.float64()),
        ("status_code", pa.string()),
    ])
    assert tuple(servers.column_names) == SERVER_COLUMNS
    assert set(SERVER_MONITORED_COLUMNS) <= set(SERVER_COLUMNS)


def test_card_rows_per_day_and_ids(cards: pa.Table) -> None:
    day = _index(cards, "event_time", datetime(2026, 1, 1), US_PER_DAY)
    per_day = np.bincount(day)
    assert len(per_day) == 90 and day.min() == 0
    assert np.all(np.abs(per_day / ROWS_PER_DAY - 1) <= 0.03)
    ids = cards["transaction_id"].to_numpy()
    assert len(np.unique(ids)) == cards.num_rows


def test_card_event_time_is_sorted_and_matches_hour(cards: pa.Table) -> None:
    us = cards["event_time"].combine_chunks().cast(pa.int64()).to_numpy()
    assert np.all(np.diff(us) >= 0)
    assert np.array_equal((us // US_PER_HOUR) % 24, cards["hour"].to_numpy())


def test_card_value_domains(cards: pa.Table) -> None:
    amount = cards["amount"].to_numpy()
    assert amount.min() >= 0.01
    assert np.array_equal(np.round(amount, 2), amount)
    assert set(pc.unique(cards["channel"]).to_pylist()) == {"pos", "online", "contactless", "atm"}
    assert len(pc.unique(cards["merchant_category"])) == 12
    assert len(pc.unique(cards["country"]).drop_null()) == 8
    assert set(pc.unique(cards["hour"]).to_pylist()) == set(range(24))
    assert pc.mean(cards["is_fraud"].cast(pa.float64())).as_py() == pytest.approx(0.003, abs=0.0005)
    for column in CARD_COLUMNS:
        if column != "country":
            assert cards[column].null_count == 0, column


def test_country_null_share(cards: pa.Table) -> None:
    assert cards["country"].null_count / cards.num_rows == pytest.approx(0.005, abs=0.0005)


def test_server_rows_hosts_and_ranges(servers: pa.Table) -> None:
    hour = _index(servers, "ts", datetime(2026, 3, 1), US_PER_HOUR)
    assert np.array_equal(np.bincount(hour), np.full(14 * 24, ROWS_PER_HOUR))
    assert np.all(np.diff(servers["ts"].combine_chunks().cast(pa.int64()).to_numpy()) >= 0)
    hosts = pc.value_counts(servers["host"]).to_pylist()
    assert {h["values"] for h in hosts} == {"web-1", "web-2", "web-3", "web-4"}
    assert all(abs(h["counts"] / servers.num_rows - 0.25) < 0.01 for h in hosts)
    cpu = servers["cpu_util"].to_numpy()
    assert cpu.min() >= 0 and cpu.max() <= 100
    assert set(pc.unique(servers["status_code"]).to_pylist()) == {"200", "404", "500"}


# --- the card story ------------------------------------------------------------------------


def test_channel_online_share_before_and_after_drift(cards: pa.Table) -> None:
    after = _index(cards, "event_time", datetime(2026, 1, 1), US_PER_DAY) >= 60
    assert _share(cards, "channel", "online", ~after) == pytest.approx(0.20, abs=0.01)
    assert _share(cards, "channel", "online", after) == pytest.approx(0.50, abs=0.01)
    # the other channels keep their relative shares
    assert _share(cards, "channel", "pos", after) == pytest.approx(0.34375, abs=0.01)


def test_amount_median_shifts_by_1_7(cards: pa.Table) -> None:
    after = _index(cards, "event_time", datetime(2026, 1, 1), US_PER_DAY) >= 60
    amount = cards["amount"].to_numpy()
    before_median = np.median(amount[~after])
    assert before_median == pytest.approx(np.exp(3.5), rel=0.02)
    assert np.median(amount[after]) / before_median == pytest.approx(1.7, rel=0.03)


def test_only_amount_and_channel_drift_and_only_from_drift_day(cards: pa.Table) -> None:
    day = _index(cards, "event_time", datetime(2026, 1, 1), US_PER_DAY)
    base = day < 30
    flagged: dict[str, set[int]] = {}
    for column in CARD_MONITORED_COLUMNS:
        kl = _kl_per_window(cards, column, day, base)
        flagged[column] = {int(d) for d in np.flatnonzero(kl > 0.05)}
        if column == "amount":
            assert kl[60:].mean() == pytest.approx(0.14, abs=0.02)
    drifted_days = set(range(60, 90))
    assert flagged == {c: drifted_days if c in card_drift_columns() else set()
                       for c in CARD_MONITORED_COLUMNS}


# --- the ops story -------------------------------------------------------------------------


def test_incident_hours_have_4x_response_time(servers: pa.Table) -> None:
    hour = _index(servers, "ts", datetime(2026, 3, 1), US_PER_HOUR)
    incident = (hour >= 200) & (hour < 203)
    response = servers["response_ms"].to_numpy()
    assert np.median(response[~incident]) == pytest.approx(120, rel=0.02)
    ratio = np.median(response[incident]) / np.median(response[~incident])
    assert ratio == pytest.approx(4.0, rel=0.05)
    cpu = servers["cpu_util"].to_numpy()
    assert np.mean(cpu[incident]) == pytest.approx(85, abs=2)
    assert np.mean(cpu[~incident]) == pytest.approx(35, abs=1)
    assert _share(servers, "status_code", "500", incident) == pytest.approx(0.15, abs=0.02)
    assert _share(servers, "status_code", "500", ~incident) == pytest.approx(0.005, abs=0.001)


def test_normal_hours_are_stationary(servers: pa.Table) -> None:
    hour = _index(servers, "ts", datetime(2026, 3, 1), US_PER_HOUR)
    normal = (hour < 200) | (hour >= 203)
    response = servers["response_ms"].to_numpy()
    overall = np.median(response[normal])
    # rows are sorted by ts, so each hour is one contiguous run
    per_hour = np.split(response, np.cumsum(np.bincount(hour))[:-1])
    medians = np.array([np.median(chunk) for h, chunk in enumerate(per_hour)
                        if not 200 <= h < 203])
    assert len(medians) == 14 * 24 - 3
    assert np.all(np.abs(medians / overall - 1) < 0.05)
    # no daily seasonality: the hour-of-day profile of medians is flat
    by_hour_of_day = medians[: 8 * 24].reshape(8, 24).mean(axis=0)
    assert np.ptp(by_hour_of_day) / overall < 0.02


def test_fixed_baseline_flags_exactly_the_incident_hours(servers: pa.Table) -> None:
    hour = _index(servers, "ts", datetime(2026, 3, 1), US_PER_HOUR)
    base = hour < INCIDENT.baseline_hours
    for column in SERVER_MONITORED_COLUMNS:
        kl = _kl_per_window(servers, column, hour, base)
        expected = set(range(200, 203)) if column in server_incident_columns() else set()
        assert {int(h) for h in np.flatnonzero(kl > 0.05)} == expected, column


# --- ground truth --------------------------------------------------------------------------


def test_card_ground_truth() -> None:
    assert card_drift_columns() == {"amount", "channel"}
    days = card_drift_days()
    assert days[0] == datetime(2026, 3, 2) and days[-1] == datetime(2026, 3, 31)
    assert len(days) == 30
    assert DRIFT.windows == days and DRIFT.drift_start == datetime(2026, 3, 2)
    assert CardDrift(drift_day=90).windows == []


def test_server_ground_truth() -> None:
    expected = [datetime(2026, 3, 9, 8), datetime(2026, 3, 9, 9), datetime(2026, 3, 9, 10)]
    assert server_incident_hours() == expected
    assert INCIDENT.windows == expected
    assert INCIDENT.baseline == (datetime(2026, 3, 1), datetime(2026, 3, 3))
    aware = datetime(2026, 3, 1, 1, tzinfo=UTC)
    assert server_incident_hours(aware, 0, 1) == [datetime(2026, 3, 1, 1)]
    assert ServerIncident(hours=201).windows == [datetime(2026, 3, 9, 8)]
    assert server_incident_columns() == {"cpu_util", "response_ms", "status_code"}


def test_aware_start_is_stored_as_naive_utc() -> None:
    table = server_metrics(hours=1, rows_per_hour=10, start=datetime(2026, 3, 1, tzinfo=UTC),
                           incident_hours=0)
    assert table["ts"].type == pa.timestamp("us")
    assert table["ts"][0].as_py().replace(minute=0, second=0, microsecond=0) == datetime(
        2026, 3, 1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: card_transactions(days=0),
        lambda: card_transactions(rows_per_day=0),
        lambda: card_transactions(drift_day=-1),
        lambda: server_metrics(hours=0),
        lambda: server_metrics(incident_start_hour=-1),
    ],
)
def test_invalid_arguments_are_rejected(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()
