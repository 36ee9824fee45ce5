"""The calibration benchmark at smoke size: its tables are written and its figures make sense.

Seeds are fixed, so every figure is deterministic; the bounds are far from what the rules give
(a stationary column at n = 10,000 cannot pass the effect gate, a 0.5 sigma shift has PSI 0.24
against a threshold of 0.1), so they fail for a broken rule or simulator, not by chance.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench import calibration
from kl_udfs.core import contract


def _rows(report: str, section: str) -> list[list[str]]:
    """The body rows of the last table of a `## section`, as stripped cells."""
    body = report.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    table = [block for block in body.split("\n\n") if block.startswith("|")][-1]
    return [[cell.strip() for cell in line.strip("|").split("|")]
            for line in table.splitlines()[2:]]


def _share(text: str) -> float:
    return float(text.strip("*%")) / 100


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("calibration") / "calibration.md"
    assert calibration.main(["--quick", "--out", str(out), "--no-plots"]) == 0
    return out.read_text()


def test_every_section_has_its_table(report: str) -> None:
    assert report.startswith("# Calibration of the verdict")
    assert "`python -m bench.calibration --quick`" in report  # --out is not the command shown
    assert f"Seed {calibration.SEED}" in report
    for section in ("1. False alarms", "2. Multiplicity", "3. Detection", "4. Simulator check",
                    "5. Top-k selection", "6. Moment rules on real rows", "Reading"):
        assert f"## {section}" in report
    assert len(_rows(report, "1. False alarms")) == 4  # 2 kinds x 1 bins x 2 rows (quick)
    assert len(_rows(report, "3. Detection")) == len(calibration.DETECTION_CHANGES)


def test_stationary_windows_at_10000_rows_are_rarely_flagged(report: str) -> None:
    rows = {(r[0], r[2]): r for r in _rows(report, "1. False alarms")}
    for kind in (contract.NUMERIC, contract.CATEGORICAL):
        row = rows[(kind, "10,000")]
        assert int(row[4].replace(",", "")) == 300
        assert _share(row[5]) <= 0.03, row
        assert _share(row[7]) == 0.0  # insufficient: n >= min_rows


def test_changes_above_their_thresholds_are_detected_and_below_are_not(report: str) -> None:
    rows = {(r[0], r[3]): r for r in _rows(report, "3. Detection")}
    for change, rule in (("mean shift 0.5 sigma (reference)", "psi"),
                         ("new nulls 5% (baseline 0%)", "null_share"),
                         ("top 5% of values x 10", "out_of_range_share"),
                         ("unseen category 5%", "unseen_share")):
        row = rows[(change, "10,000")]
        assert _share(row[5]) >= 0.9, row
        assert rule in row[7], row
    # PSI about 0.01 against a threshold of 0.1, known to 99% at 10,000 rows: never flagged.
    assert _share(rows[("mean shift 0.1 sigma", "10,000")][5]) <= 0.02


def test_bh_flags_fewer_windows_than_no_correction(report: str) -> None:
    (row,) = _rows(report, "2. Multiplicity")
    bh, none = _share(row[4]), _share(row[5])
    assert bh <= 0.05
    assert none >= 0.1 and none > bh  # 50 columns at ~1% each, uncorrected


def test_exact_simulation_matches_real_rows(report: str) -> None:
    exact, real = _rows(report, "4. Simulator check")
    for column in (5, 6, 7):  # mean G, dof, psi_corrected
        assert float(exact[column]) == pytest.approx(float(real[column]), rel=0.15)


def test_simulated_layouts_match_the_production_bins() -> None:
    rng = np.random.default_rng(0)
    numeric = calibration.numeric_batch(rng, 50, 300, 250_000, calibration.stationary(
        contract.NUMERIC, 20))
    assert numeric.roles == ["below", *["value"] * 20, "above", "null"]
    assert (numeric.baseline[:, [0, -2]] == 0).all()  # nothing beyond the baseline's own range
    assert (numeric.baseline.sum(axis=1) == 250_000).all()
    assert (numeric.current.sum(axis=1) == 300).all()
    values = numeric.baseline[:, 1:-2]  # edges learnt on a 200,000-row sample: near-equal bins
    assert values.min() > 0.9 * values.mean() and values.max() < 1.1 * values.mean()
    categorical = calibration.categorical_batch(rng, 50, 300, 10_000, calibration.stationary(
        contract.CATEGORICAL, 10))
    assert categorical.roles == ["value"] * 10 + ["other", "unseen", "null"]
    assert (np.diff(categorical.baseline[:, :10], axis=1) <= 0).all()  # the top k, by count
    assert (categorical.baseline.sum(axis=1) == 10_000).all()
    # 50 categories, 10,000 rows: every value held by more than one row, none unseen
    assert (categorical.baseline[:, -2] == 0).all() and (categorical.current[:, -2] == 0).all()
    sparse = calibration.categorical_batch(rng, 50, 300, 10_000, calibration.stationary(
        contract.CATEGORICAL, 200))  # 1,000 categories: the tail is held once or never
    assert (sparse.baseline[:, -2] > 0).all() and sparse.current[:, -2].sum() > 0


def test_changed_masses_reduce_to_the_baseline_without_a_change() -> None:
    rng = np.random.default_rng(1)
    true = rng.dirichlet(np.r_[1.0, np.full(20, 500.0), 1.0], size=5)
    same = calibration._changed_masses(true, calibration.Change("none", shift=0.0))
    assert np.allclose(same, true, rtol=1e-6, atol=1e-12)
    shifted = calibration._changed_masses(true, calibration.Change("up", shift=0.5))
    assert np.allclose(shifted.sum(axis=1), 1.0)
    assert (shifted[:, -1] > true[:, -1]).all() and (shifted[:, 0] < true[:, 0]).all()


def _moment_tables(report: str) -> tuple[list[list[str]], list[list[str]]]:
    body = report.split("## 6. Moment rules on real rows", 1)[1].split("\n## ", 1)[0]
    tables = [block for block in body.split("\n\n") if block.startswith("|")]
    return tuple([[cell.strip() for cell in line.strip("|").split("|")]  # type: ignore[return-value]
                  for line in t.splitlines()[2:]] for t in tables[-2:])


def test_moment_rules_judge_light_tails_only_and_stay_quiet_without_drift(report: str) -> None:
    stationary, _ = _moment_tables(report)
    rows = {r[0]: r for r in stationary}
    assert set(rows) == set(calibration.MOMENT_DISTRIBUTIONS)
    assert _share(rows["normal"][6]) == 1.0  # moment rules judged every normal window
    assert _share(rows["lognormal(0, 1) (kurtosis 114)"][6]) == 0.0
    assert _share(rows["normal, 1% of rows x 100"][6]) == 0.0
    for row in stationary:
        assert _share(row[4]) <= 0.05, row  # 60 windows: at most 3 flags


def test_a_third_of_a_sigma_is_caught_more_often_with_the_moment_rules(report: str) -> None:
    _, detection = _moment_tables(report)
    rows = {r[0]: r for r in detection}
    shift = rows["mean shift 0.33 sigma"]
    assert _share(shift[3]) >= 0.9 and _share(shift[3]) >= _share(shift[4])
    assert "mean_shift" in shift[5]
    assert _share(rows["std x 1.25"][3]) >= _share(rows["std x 1.25"][4])
