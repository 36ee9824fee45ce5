"""The verdict rule at its boundaries, on hand-built figures (no JVM, no simulation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import false_discovery_control

from kl_udfs.core import contract
from kl_udfs.core.config import parse_config
from kl_udfs.core.verdict import LEARNED, Learning, Policy, decide

Z = contract.EFFECT_BOUND_Z


def _row(**figures: object) -> dict[str, object]:
    """A judged numeric column with nothing changed; override what a case needs."""
    base: dict[str, object] = {
        "window_idx": 0, "column_idx": 0, "column_name": "x", "column_kind": "numeric",
        "current_count": 1000, "baseline_count": 100_000,
        "psi_corrected": 0.0, "psi_sd": 0.0, "distribution_p_value": 0.5,
        "null_share_increase": 0.0, "null_share_sd": 0.0, "null_share_p_value": 1.0,
        "out_of_range_share_increase": 0.0, "out_of_range_share_sd": 0.0,
        "out_of_range_share_p_value": 1.0,
        "current_null_fraction": 0.0, "baseline_null_fraction": 0.0,
        "current_outside_fraction": 0.0, "baseline_outside_fraction": 0.0,
    }
    base.update(figures)
    return base


def _decide(rows: list[dict[str, object]], policy: Policy | None = None) -> pd.DataFrame:
    return decide(pd.DataFrame(rows), policy or Policy.defaults())


def test_psi_fires_exactly_when_its_upper_bound_reaches_the_threshold() -> None:
    sd = 0.01
    at = 0.1 - Z * sd  # upper bound exactly the threshold
    below = np.nextafter(at, 0.0)
    out = _decide([_row(psi_corrected=at, psi_sd=sd, distribution_p_value=1e-6),
                   _row(column_idx=1, column_name="y", psi_corrected=below, psi_sd=sd,
                        distribution_p_value=1e-6)])
    assert out["status"].tolist() == ["drift", "ok"]
    assert out["fired_rules"][0] == ["psi"]
    assert "distribution changed (PSI" in out["reason"][0]
    assert "below its threshold" in out["reason"][1]


def test_significance_boundary_is_bonferroni_over_the_active_rules() -> None:
    # numeric: the rules with a default threshold whose figures are given (3 of them here)
    given = _row()
    rules = len([r for r in contract.rules_for("numeric") if r.default_threshold is not None
                 and r.figure in given])
    assert rules == 3
    edge = 0.01 / rules
    out = _decide([_row(psi_corrected=0.5, distribution_p_value=edge),
                   _row(window_idx=1, psi_corrected=0.5,
                        distribution_p_value=np.nextafter(edge, 1.0))])
    assert out["status"].tolist() == ["drift", "ok"]
    assert out["p_value"][0] == pytest.approx(0.01)
    assert "not significant" in out["reason"][1]


def test_effect_without_significance_or_significance_without_effect_is_ok() -> None:
    out = _decide([_row(psi_corrected=0.5, distribution_p_value=0.2),
                   _row(column_idx=1, column_name="y", psi_corrected=0.01, psi_sd=0.001,
                        distribution_p_value=1e-100)])
    assert out["status"].tolist() == ["ok", "ok"]


def test_new_nulls_fire_their_own_rule_with_shares_in_words() -> None:
    out = _decide([_row(null_share_increase=0.05, null_share_sd=0.007,
                        null_share_p_value=1e-20, current_null_fraction=0.05)])
    assert out["status"][0] == "drift"
    assert out["fired_rules"][0] == ["null_share"]
    assert out["reason"][0] == "more nulls (5.0% of rows, baseline 0.0%)"
    fired = {c["rule"]: c["fired"] for c in out["checks"][0]}
    assert fired == {"psi": False, "null_share": True, "out_of_range_share": False}


def test_rules_follow_the_column_kind() -> None:
    cat = _row(column_kind="categorical", unseen_share_increase=0.05, unseen_share_sd=0.007,
               unseen_share_p_value=1e-20, out_of_range_share_increase=0.5,
               out_of_range_share_p_value=1e-30)
    out = _decide([cat])
    assert out["fired_rules"][0] == ["unseen_share"]
    assert {c["rule"] for c in out["checks"][0]} == {"psi", "null_share", "unseen_share"}


@pytest.mark.parametrize(("n", "big_n", "status"), [
    (0, 100, "no_data"), (29, 100, "insufficient"), (30, 100, "ok"), (100, 29, "insufficient"),
    (100, 0, "error"), (0, 0, "error")])
def test_min_rows_and_empty_sides(n: int, big_n: int, status: str) -> None:
    out = _decide([_row(current_count=n, baseline_count=big_n, psi_corrected=1.0,
                        distribution_p_value=1e-9 if status != "ok" else 0.5)])
    assert out["status"][0] == status
    assert out["q_value"].isna()[0] == (status != "ok")


def test_precedence_error_no_data_insufficient_quality_then_drift() -> None:
    strong = {"psi_corrected": 1.0, "distribution_p_value": 1e-12}
    out = _decide([
        _row(error_message="column not found", quality_message="row_count", **strong),
        _row(window_idx=1, current_count=0, quality_message="row_count", **strong),
        _row(window_idx=2, current_count=5, quality_message="row_count", **strong),
        _row(window_idx=3, quality_message="row_count", **strong),
        _row(window_idx=4, **strong)])
    assert out["status"].tolist() == ["error", "no_data", "insufficient", "quality_failed",
                                      "drift"]
    assert out["message"][0] == "column not found"
    assert out["message"][3] == "quality gate failed: row_count"
    assert out["message"][2] == "only 5 rows in the window (min_rows 30)"


def test_q_values_are_benjamini_hochberg_per_window() -> None:
    rng = np.random.default_rng(7)
    p = rng.uniform(0, 0.002, 40) ** 2
    rows = [_row(window_idx=i // 20, column_idx=i % 20, column_name=f"c{i % 20}",
                 psi_corrected=1.0, distribution_p_value=v) for i, v in enumerate(p)]
    out = _decide(rows)
    column_p = np.minimum(1.0, 3 * p)  # three active rules, only psi reaches its effect
    for w in (0, 1):
        expected = false_discovery_control(column_p[w * 20:(w + 1) * 20], method="bh")
        np.testing.assert_allclose(out["q_value"][w * 20:(w + 1) * 20].astype(float),
                                   expected, rtol=1e-12)
    assert ((out["status"] == "drift") == (out["q_value"].astype(float) <= 0.01)).all()


def test_bh_step_up_flags_more_than_bonferroni_would() -> None:
    p = [0.0001, 0.0005, 0.001, 0.0015, 0.002]  # x3 rules: 0.0003 ... 0.006
    rows = [_row(column_idx=i, column_name=f"c{i}", psi_corrected=1.0, distribution_p_value=v)
            for i, v in enumerate(p)]
    bonferroni = sum(3 * v * len(p) <= 0.01 for v in p)
    assert bonferroni == 2
    assert (_decide(rows)["status"] == "drift").sum() == 5  # 3 p_(i) <= 0.01 i / 5 at i = 5
    assert (_decide(rows, Policy.defaults(correction="none"))["status"] == "drift").sum() == 5
    strict = _decide(rows, Policy.defaults(fdr=0.002))
    # BH at 0.002: 3 p_(i) <= 0.002 i / 5 holds for i = 1 only (0.0003 <= 0.0004)
    assert strict["status"].tolist() == ["drift", "ok", "ok", "ok", "ok"]


def test_config_overrides_switch_rules_and_say_where_thresholds_came_from() -> None:
    config = parse_config({"monitors": [{
        "name": "m", "table": "t", "timestamp_column": "ts", "baseline": {"version": 0},
        "thresholds": {"psi": 0.2, "p_value": 0.05},
        "column_thresholds": {"y": {"psi": 0.5, "null_share": None, "min_rows": 10}}}]},
        base_dir=__import__("pathlib").Path("."))
    policy = config.monitors[0].policy()
    assert policy.fdr == 0.05  # the old p_value key is the FDR level
    out = _decide([_row(psi_corrected=0.3, distribution_p_value=1e-9),
                   _row(column_idx=1, column_name="y", current_count=12, psi_corrected=0.3,
                        distribution_p_value=1e-9, null_share_increase=0.5,
                        null_share_p_value=1e-30)], policy)
    assert out["status"].tolist() == ["drift", "ok"]
    assert out["threshold"].tolist() == [0.2, 0.5]
    assert out["threshold_source"].tolist() == ["monitor", "column"]
    assert "null_share" not in {c["rule"] for c in out["checks"][1]}
    assert out["checks"][0][1]["threshold_source"] == "default"  # null_share on x


def test_kl_rule_judges_only_when_configured() -> None:
    row = _row(kl_corrected=0.2, kl_sd=0.0, distribution_p_value=1e-9)
    assert _decide([row])["status"][0] == "ok"
    policy = Policy(thresholds={**Policy.defaults().thresholds, "kl": (0.1, "monitor")})
    out = _decide([row], policy)
    assert out["fired_rules"][0] == ["kl"]


def _series(psi: list[float], start: str = "2026-01-05", column: str = "x") -> pd.DataFrame:
    """One column's daily windows with the given corrected PSI, all highly significant."""
    rows = [_row(window_idx=i, column_name=column, psi_corrected=v, psi_sd=0.001,
                 distribution_p_value=1e-12) for i, v in enumerate(psi)]
    frame = pd.DataFrame(rows)
    frame["window_start"] = pd.Timestamp(start) + pd.to_timedelta(frame["window_idx"], unit="D")
    return frame


def _steady(days: int, level: float, wobble: float, seed: int = 3) -> list[float]:
    return list(level + wobble * np.random.default_rng(seed).standard_normal(days))


def test_learned_threshold_absorbs_a_standing_offset_after_warm_up_and_catches_a_jump() -> None:
    learning = Learning(warmup=10)
    psi = [*_steady(40, 0.15, 0.003), 0.30]  # above the default 0.1 every day, then a jump
    out = decide(_series(psi), Policy.defaults(learning=learning))
    sources = out["threshold_source"].tolist()
    assert sources[:10] == ["default"] * 10 and set(sources[10:]) == {LEARNED}
    assert set(out["status"][:10]) == {"drift"}  # warm-up: the fixed rule decides
    assert set(out["status"][10:40]) == {"ok"}
    assert out["status"].iloc[-1] == "drift"
    assert "learnt from its history" in out["reason"].iloc[-1]
    assert 0.15 < out["threshold"].iloc[-1] < 0.30


def test_learned_threshold_follows_the_median_and_mad_of_the_square_root() -> None:
    learning = Learning(warmup=5, level_windows=3, spread=4.0)
    past = [0.04, 0.09, 0.05, 0.06, 0.08, 0.05]
    out = decide(_series([*past, 0.01]), Policy.defaults(learning=learning))
    roots = np.sqrt(past)
    expected = (np.median(roots[-3:]) + 4.0 * 1.4826 * np.median(np.abs(np.diff(roots)))) ** 2
    assert out["threshold"].iloc[-1] == pytest.approx(expected, rel=1e-12)


def test_learned_thresholds_per_weekday_absorb_a_weekend_step() -> None:
    days = 7 * 12
    start = pd.Timestamp("2026-01-05")  # a Monday
    weekend = (start + pd.to_timedelta(np.arange(days), unit="D")).weekday >= 5
    psi = np.where(weekend, 0.30, 0.05) + 0.002 * np.random.default_rng(5).standard_normal(days)
    frame = _series(list(psi))
    plain = decide(frame, Policy.defaults(learning=Learning(warmup=8)))
    seasonal = decide(frame, Policy.defaults(learning=Learning(warmup=8, seasonality="weekday")))
    late = np.arange(days) >= 7 * 9  # every weekday slot has warmed up
    assert (seasonal["status"][late] == "ok").all()
    assert (plain["status"][late & weekend] == "drift").all()


def test_a_column_threshold_is_never_replaced_by_a_learned_one() -> None:
    policy = Policy.defaults(learning=Learning(warmup=5),
                             columns={"x": {"psi": (0.2, "column")}})
    out = decide(_series(_steady(20, 0.05, 0.003)), policy)
    assert set(out["threshold_source"]) == {"column"} and set(out["threshold"]) == {0.2}


def test_learning_from_stored_rows_equals_learning_in_one_batch() -> None:
    frame = _series([*_steady(30, 0.12, 0.004), 0.2, 0.13, 0.12])
    policy = Policy.defaults(learning=Learning(warmup=10))
    whole = decide(frame, policy)
    first, rest = frame.iloc[:20], frame.iloc[20:].reset_index(drop=True)
    stored = pd.concat([first[["column_name", "window_start"]].reset_index(drop=True),
                        decide(first, policy)[["status", "checks"]]], axis=1)
    later = decide(rest, policy, history=stored)
    for name in ("status", "threshold", "threshold_source"):
        assert later[name].tolist() == whole[name].iloc[20:].tolist()


def test_every_rule_within_the_critical_value_fires_even_when_another_p_underflows() -> None:
    out = _decide([_row(psi_corrected=0.5, distribution_p_value=0.0, null_share_increase=0.1,
                        null_share_p_value=1e-100, current_null_fraction=0.1)])
    assert out["status"][0] == "drift"
    assert out["fired_rules"][0] == ["psi", "null_share"]
    assert "nulls" in out["reason"][0]
