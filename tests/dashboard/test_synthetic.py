"""The synthetic tables are what the engine would store: its figures, its verdict, every
column of the contract."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboards.synthetic import SHORT_ROWS, SyntheticMonitor, monitor_tables
from kl_udfs.core import contract
from tests.dashboard.conftest import CARDS


@pytest.fixture(scope="module")
def cards() -> pd.DataFrame:
    return monitor_tables(CARDS)["drift_results"].to_pandas()


def test_every_contract_column_is_filled(cards: pd.DataFrame) -> None:
    assert list(cards.columns) == contract.DRIFT_RESULTS.names()
    judged = cards[cards["status"].isin([s.name for s in contract.STATUSES if s.judged])]
    always = ["reason", "q_value", "psi_corrected", "psi_sd", "dof", "p_value_method",
              "threshold", "threshold_source", "p_value_threshold", "baseline_null_fraction"]
    assert judged[always].notna().all().all()
    assert judged["checks"].map(len).min() >= 2  # psi, null_share and a kind's own share
    numeric = cards["column_kind"] == "numeric"
    assert cards.loc[numeric, "current_outside_fraction"].notna().all()
    assert cards.loc[~numeric, "current_other_fraction"].notna().all()


def test_drifting_columns_drift_by_psi(cards: pd.DataFrame) -> None:
    late = cards["window_start"] >= pd.Timestamp(CARDS.window_starts()[CARDS.drift_from])
    drifting = cards["column_name"].isin(CARDS.drift_columns)
    rows = cards[late & drifting]
    assert set(rows["status"]) == {contract.DRIFT}
    assert all("psi" in fired for fired in rows["fired_rules"])
    assert rows["reason"].str.startswith("distribution changed (PSI").all()
    assert (rows["q_value"] <= rows["p_value_threshold"]).all()
    assert (rows["psi_corrected"] > rows["threshold"]).all()
    fired = [c for checks in rows["checks"] for c in checks if c["rule"] == "psi"]
    assert all(c["fired"] and c["effect_reached"] for c in fired)


def test_stationary_columns_stay_ok(cards: pd.DataFrame) -> None:
    gated = [pd.Timestamp(CARDS.window_starts()[w]) for w in CARDS.quality_failures]
    quiet = cards[~cards["column_name"].isin(CARDS.drift_columns)
                  & ~cards["window_start"].isin(gated)]
    assert set(quiet["status"]) == {contract.OK}
    assert quiet["reason"].str.len().min() > 0
    assert not any(len(f) for f in quiet["fired_rules"])


def test_the_quality_gate_and_short_windows() -> None:
    monitor = SyntheticMonitor("thin", columns=2, windows=4, quality_failures=(1,),
                               short_windows=(2,))
    rows = monitor_tables(monitor)["drift_results"].to_pandas().sort_values("window_start")
    by_window = rows.groupby("window_start")["status"].agg(set).tolist()
    assert by_window == [{contract.OK}, {contract.QUALITY_FAILED}, {contract.INSUFFICIENT},
                         {contract.OK}]
    short = rows[rows["status"] == contract.INSUFFICIENT]
    assert (short["current_count"] == SHORT_ROWS).all()
    # a short window also fails the row-count gate; too few rows is the stronger verdict
    assert short["message"].str.contains(f"only {SHORT_ROWS} rows in the window").all()
    assert rows.loc[rows["status"] == contract.QUALITY_FAILED, "message"].str.startswith(
        "quality gate failed: ").all()


def test_the_monitors_policy_is_applied() -> None:
    monitor = SyntheticMonitor("strict", columns=2, windows=2, psi_threshold=0.05, fdr=0.001)
    policy = monitor.policy()
    assert policy.thresholds["psi"] == (0.05, "monitor")
    assert policy.thresholds["null_share"] == (0.02, "default")
    rows = monitor_tables(monitor)["drift_results"].to_pandas()
    assert set(rows["threshold"]) == {0.05} and set(rows["threshold_source"]) == {"monitor"}
    assert set(rows["p_value_threshold"]) == {0.001}
    assert SyntheticMonitor("plain").policy().thresholds["psi"] == (0.1, "default")
