"""The data-quality gate: real Spark, real Delta tables in temp dirs, real Great Expectations."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from jobs import check_quality
from kl_udfs.core.bins import ColumnBins
from kl_udfs.core.config import Config, parse_config
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.stats import compare
from kl_udfs.core.stats.kl import kl_from_probabilities
from kl_udfs.core.stats.segments import Segments
from kl_udfs.core.windows import Window
from kl_udfs.quality.gate import (
    BETWEEN,
    COLUMN_EXISTS,
    IN_SET,
    NOT_NULL,
    OF_TYPE,
    ROW_COUNT,
    QualityOutcome,
    check_window,
    expectations_for,
    failed_windows,
    run_expectations,
)
from kl_udfs.spark.histogram import window_histograms
from kl_udfs.spark.tables import QUALITY_RESULTS, RUNS, read_table, table_path

pytestmark = pytest.mark.spark

DAY0 = datetime(2026, 1, 1)
PER_DAY = 100
CHANNELS = ("web", "store", "app")
SCHEMA = "ts timestamp, amount double, channel string, n long"
CLEAN, NULLS, OUTSIDE, EMPTY, UNCHECKED = (
    Window(DAY0 + timedelta(days=d), DAY0 + timedelta(days=d + 1)) for d in range(5))
NULL_ROWS = 5  # amount is null in 5 of the 100 rows of the NULLS day
CRYPTO_ROWS = 2  # channel 'crypto' (not in the set) in 2 of the 100 rows of the OUTSIDE day
QUALITY: dict[str, Any] = {
    "row_count": {"min": 50, "max": 1000},
    "not_null": ["amount", "channel"],
    "value_sets": {"channel": list(CHANNELS)},
    "ranges": {"amount": {"min": 0, "max": 100}},
    "types": {"amount": "DoubleType", "n": "LongType"},
}
EXPECTED_CHECKS = {
    (ROW_COUNT, ""), (COLUMN_EXISTS, "amount"), (COLUMN_EXISTS, "channel"), (COLUMN_EXISTS, "n"),
    (NOT_NULL, "amount"), (NOT_NULL, "channel"), (IN_SET, "channel"), (BETWEEN, "amount"),
    (OF_TYPE, "amount"), (OF_TYPE, "n"),
}


def _rows() -> list[tuple[Any, ...]]:
    """Days 0-2 of 100 rows (day 3 is empty): clean, then nulls, then values outside the set."""
    rows = []
    for day in range(3):
        for i in range(PER_DAY):
            ts = DAY0 + timedelta(days=day, seconds=i * (86_400 // PER_DAY))
            amount = None if day == 1 and i < NULL_ROWS else 10.0 + (i * 7 % 80)
            channel = "crypto" if day == 2 and i < CRYPTO_ROWS else CHANNELS[i % 3]
            rows.append((ts, amount, channel, i % 10))
    return rows


@pytest.fixture(scope="module")
def table(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("raw") / "events")
    spark.createDataFrame(_rows(), SCHEMA).write.format("delta").save(path)
    return path


def make_config(root: Path, table: str, quality: dict[str, Any] | None = None,
                **overrides: Any) -> Config:
    monitor: dict[str, Any] = {
        "name": "m", "table": table, "timestamp_column": "ts",
        "baseline": {"start": "2026-01-01", "end": "2026-01-02"},
        "columns": ["amount", "channel", "n"],
        "quality": QUALITY if quality is None else quality,
    }
    monitor.update(overrides)
    return parse_config({"monitoring": {"path": str(root / "monitoring")},
                         "monitors": [monitor]}, root)


def stored(spark: Any, config: Config, window: Window | None = None) -> list[Any]:
    path = table_path(config.monitoring.path, QUALITY_RESULTS)
    if not Path(path, "_delta_log").exists():
        return []
    rows = read_table(spark, config.monitoring.path, QUALITY_RESULTS).collect()
    return [r for r in rows if window is None or r["window_start"] == window.start]


@pytest.fixture(scope="module")
def checked(spark: Any, table: str, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Config, dict[Window, QualityOutcome]]:
    config = make_config(tmp_path_factory.mktemp("gate"), table)
    outcomes = {w: check_window(spark, config, "m", w) for w in (CLEAN, NULLS, OUTSIDE, EMPTY)}
    return config, outcomes


def _by_check(rows: list[Any]) -> dict[tuple[str, str], Any]:
    found = {(r["expectation"], r["column_name"]): r for r in rows}
    assert len(found) == len(rows), "duplicate quality rows"
    return found


# --- the gate ---------------------------------------------------------------------------


def test_clean_window_passes_every_expectation(spark: Any, checked: Any) -> None:
    config, outcomes = checked
    outcome = outcomes[CLEAN]
    assert outcome.success and outcome.failed == []
    assert outcome.row_count == PER_DAY
    rows = _by_check(stored(spark, config, CLEAN))
    assert set(rows) == EXPECTED_CHECKS
    assert all(r["success"] for r in rows.values())
    assert {(r["expectation"], r["column_name"]) for r in outcome.results} == EXPECTED_CHECKS
    assert rows[(ROW_COUNT, "")]["observed_value"] == str(PER_DAY)
    assert rows[(NOT_NULL, "amount")]["observed_value"] == "0.0"
    assert rows[(OF_TYPE, "amount")]["observed_value"] == "DoubleType"
    row = rows[(BETWEEN, "amount")]
    assert row["details"] == "amount: in range [0, 100] (0.0% outside)"
    assert row["table_name"] == config.monitors[0].table
    assert row["window_end"] == CLEAN.end and row["run_id"] == outcome.run_id
    assert row["computed_at"] is not None


def test_nulls_fail_exactly_the_not_null_expectation(spark: Any, checked: Any) -> None:
    config, outcomes = checked
    outcome = outcomes[NULLS]
    assert not outcome.success
    assert outcome.failed == ["amount: not null (5.0% null)"]
    rows = _by_check(stored(spark, config, NULLS))
    assert [k for k, r in rows.items() if not r["success"]] == [(NOT_NULL, "amount")]
    failed = rows[(NOT_NULL, "amount")]
    assert float(failed["observed_value"]) == pytest.approx(NULL_ROWS / PER_DAY)
    assert failed["details"] == "amount: not null (5.0% null)"
    # nulls are missing values, not out of range: the range check still passes
    assert rows[(BETWEEN, "amount")]["success"]


def test_empty_window_fails_row_count(spark: Any, checked: Any) -> None:
    config, outcomes = checked
    outcome = outcomes[EMPTY]
    assert outcome.row_count == 0
    assert outcome.failed == ["row count: 0 rows (expected 50 to 1000)"]
    rows = _by_check(stored(spark, config, EMPTY))
    assert [k for k, r in rows.items() if not r["success"]] == [(ROW_COUNT, "")]
    assert rows[(ROW_COUNT, "")]["observed_value"] == "0"
    assert rows[(NOT_NULL, "amount")]["observed_value"] is None


def test_value_outside_the_set_fails(spark: Any, checked: Any) -> None:
    config, outcomes = checked
    assert outcomes[OUTSIDE].failed == ["channel: in set [web, store, app] (2.0% outside, "
                                        "e.g. crypto)"]
    rows = _by_check(stored(spark, config, OUTSIDE))
    assert [k for k, r in rows.items() if not r["success"]] == [(IN_SET, "channel")]
    assert float(rows[(IN_SET, "channel")]["observed_value"]) == pytest.approx(0.02)


def test_failed_windows_returns_exactly_the_failed_windows(spark: Any, checked: Any,
                                                           tmp_path: Path, table: str) -> None:
    config, outcomes = checked
    everything = [CLEAN, NULLS, OUTSIDE, EMPTY, UNCHECKED]
    assert failed_windows(config, "m", everything) == {
        w.start: outcomes[w].failed for w in (NULLS, OUTSIDE, EMPTY)}
    assert failed_windows(config, "m", [CLEAN, UNCHECKED]) == {}
    assert failed_windows(config, "m", []) == {}
    # a window of another length starting at the same instant was never checked
    assert failed_windows(config, "m", [Window(NULLS.start, NULLS.end
                                                      + timedelta(hours=1))]) == {}
    # no quality_results table at all yet
    fresh = make_config(tmp_path, table)
    assert failed_windows(fresh, "m", everything) == {}


def test_the_latest_check_decides_and_a_rerun_replaces_rows(spark: Any, table: str,
                                                            tmp_path: Path) -> None:
    config = make_config(tmp_path, table)
    first = check_window(spark, config, "m", NULLS, run_id="first")
    assert not first.success
    relaxed = make_config(tmp_path, table, {**QUALITY, "mostly": 0.9})
    second = check_window(spark, relaxed, "m", NULLS, run_id="second")
    assert second.success, second.failed
    rows = stored(spark, config, NULLS)
    assert set(_by_check(rows)) == EXPECTED_CHECKS  # replaced, not duplicated
    assert {r["run_id"] for r in rows} == {"second"}
    assert _by_check(rows)[(NOT_NULL, "amount")]["details"] == (
        "amount: not null (5.0% null, at most 10.0% allowed)")
    assert failed_windows(config, "m", [NULLS]) == {}
    runs = [r for r in read_table(spark, config.monitoring.path, RUNS).collect()
            if r["operation"] == "quality"]
    assert sorted((r["run_id"], r["status"], r["rows_scanned"]) for r in runs) == [
        ("first", "succeeded", PER_DAY), ("second", "succeeded", PER_DAY)]

    # Checks removed from the config leave with the next check of the window, and only there.
    other = check_window(spark, config, "m", OUTSIDE, run_id="other")
    fewer = make_config(tmp_path, table, {"row_count": QUALITY["row_count"]},
                        columns=["amount"])
    assert check_window(spark, fewer, "m", NULLS, run_id="third").success
    assert set(_by_check(stored(spark, config, NULLS))) == {
        (ROW_COUNT, ""), (COLUMN_EXISTS, "amount"), (NOT_NULL, "ts")}
    assert {r["run_id"] for r in stored(spark, config, OUTSIDE)} == {"other"}
    assert len(stored(spark, config, OUTSIDE)) == len(other.results)


def test_a_dropped_monitored_column_fails_the_gate_not_the_job(spark: Any, table: str,
                                                               tmp_path: Path) -> None:
    config = make_config(tmp_path, table, {}, columns=["amount", "dropped"])
    outcome = check_window(spark, config, "m", CLEAN)
    assert outcome.failed == ["dropped: column exists (missing from the table)"]
    assert {(r["expectation"], r["column_name"]) for r in outcome.results} == {
        (ROW_COUNT, ""), (COLUMN_EXISTS, "amount"), (COLUMN_EXISTS, "dropped"), (NOT_NULL, "ts")}
    assert failed_windows(config, "m", [CLEAN]) == {CLEAN.start: outcome.failed}


@pytest.mark.parametrize(("quality", "column", "fragment"), [
    ({"not_null": ["amount", "nope"]}, "nope", "quality.not_null: column not found"),
    ({"value_sets": {"chanel": ["web"]}}, "chanel", "quality.value_sets: column not found"),
    ({"ranges": {"amnt": {"min": 0}}}, "amnt", "quality.ranges: column not found"),
    ({"types": {"gone": "LongType"}}, "gone", "quality.types: column not found"),
    ({"types": {"amount": "Float64"}}, "amount", "'Float64' is not a Spark type name"),
])
def test_bad_quality_config_is_one_line_and_writes_nothing(
        spark: Any, table: str, tmp_path: Path, quality: dict[str, Any], column: str,
        fragment: str) -> None:
    config = make_config(tmp_path, table, quality)
    with pytest.raises(KlDriftError) as caught:
        check_window(spark, config, "m", CLEAN)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"monitor 'm', table '{table}', column '{column}': "), text
    assert fragment in text, text
    assert stored(spark, config) == []
    runs = read_table(spark, config.monitoring.path, RUNS).collect()
    assert [(r["operation"], r["status"], r["error"]) for r in runs] == [
        ("quality", "failed", text)]


def test_missing_timestamp_column_is_one_line(spark: Any, table: str, tmp_path: Path) -> None:
    config = make_config(tmp_path, table, timestamp_column="event_time")
    with pytest.raises(KlDriftError, match="timestamp column not found") as caught:
        check_window(spark, config, "m", CLEAN)
    assert "column 'event_time'" in str(caught.value)
    assert stored(spark, config) == []


def test_defaults_without_a_quality_section(table: str, tmp_path: Path) -> None:
    config = parse_config({"monitors": [{
        "name": "m", "table": table, "timestamp_column": "ts",
        "baseline": {"start": "2026-01-01", "end": "2026-01-02"}}]}, tmp_path)
    found = [(e.expectation_type, e.dict(include={"column", "min_value", "max_value"}))
             for e in expectations_for(config.monitors[0])]
    assert found == [(ROW_COUNT, {"min_value": 1, "max_value": None}),
                     (NOT_NULL, {"column": "ts"})]


@pytest.mark.parametrize(("quality", "message"), [
    ({"row_count": {"min": 10, "max": 5}}, "row_count max must be at least its min"),
    ({"ranges": {"amount": {}}}, "a range needs min and/or max"),
    ({"value_sets": {"channel": []}}, "value set of 'channel' is empty"),
    ({"mostly": 0}, "greater than 0"),
    ({"not_nul": ["amount"]}, "not_nul: unknown key, did you mean `not_null`"),
])
def test_quality_config_is_validated(tmp_path: Path, quality: dict[str, Any],
                                     message: str) -> None:
    with pytest.raises(KlDriftError, match=message) as caught:
        make_config(tmp_path, "./raw", quality)
    assert caught.value.monitor == "m"


# --- the spark-submit job ---------------------------------------------------------------


def test_job_end_to_end(spark: Any, table: str, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    monitor = {"name": "m", "table": table, "timestamp_column": "ts",
               "baseline": {"start": "2026-01-01", "end": "2026-01-02"},
               "columns": ["amount", "channel", "n"], "quality": QUALITY}
    path = tmp_path / "monitors.yaml"
    path.write_text(yaml.safe_dump({
        "monitoring": {"path": "./monitoring"},
        "spark": {"conf": {"spark.sql.shuffle.partitions": "4"}},
        "monitors": [monitor]}))
    argv = ["--config", str(path), "--monitor", "m", "--start", "2026-01-02",
            "--end", "2026-01-03T00:00:00Z"]
    assert check_quality.main(argv) == 0  # a failed gate is data, not a failed job
    capsys.readouterr()
    assert check_quality.main([*argv, "--fail-on-gate"]) == 3  # unless asked to fail
    out = capsys.readouterr().out.strip()
    assert "\n" not in out
    assert out.startswith("quality m [2026-01-02T00:00:00, 2026-01-03T00:00:00): FAILED 1/10: "
                          "amount: not null (5.0% null), 100 rows, run "), out
    config = parse_config(yaml.safe_load(path.read_text()), tmp_path)
    assert set(_by_check(stored(spark, config, NULLS))) == EXPECTED_CHECKS
    assert Path(tmp_path, "monitoring", "quality_results", "_delta_log").is_dir()

    path.write_text(yaml.safe_dump({
        "monitoring": {"path": "./monitoring"},
        "monitors": [{**monitor, "quality": {"not_null": ["missing"]}}]}))
    assert check_quality.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"kldrift: error: monitor 'm', table '{table}', column 'missing': "
                            "quality.not_null: column not found in the table\n")
    assert check_quality.main([*argv[:4], "--start", "2026-01-03", "--end", "2026-01-02"]) == 2
    assert "is not after its start" in capsys.readouterr().err


# --- kl-drift's KL against Great Expectations' -------------------------------------------


def test_kl_reverse_equals_great_expectations_kl(spark: Any) -> None:
    """GX's KL expectation computes KL(observed || expected): kl-drift's kl_reverse.

    Categorical data, so GX's partition values are kl-drift's bins one to one; every category
    bin is non-empty on both sides and <other>/<null> are empty on both, so a vanishing
    pseudo-count makes the smoothing irrelevant.
    """
    categories = ("pos", "online", "contactless", "atm")
    baseline_n, current_n = (400, 300, 200, 100), (250, 250, 300, 200)

    def frame(counts: tuple[int, ...]) -> Any:
        return spark.createDataFrame(
            [(c,) for c, n in zip(categories, counts, strict=True) for _ in range(n)],
            "channel string")

    bins = ColumnBins("channel", "categorical", "string", categories=categories)

    def histogram(df: Any) -> np.ndarray:
        counts = np.zeros(bins.n_bins)
        for row in window_histograms(df, [bins], "channel", None).collect():
            counts[row["bin"]] = row["count"]
        return counts

    baseline_df, current_df = frame(baseline_n), frame(current_n)
    baseline, current = histogram(baseline_df), histogram(current_df)
    assert list(baseline[:4]) == list(baseline_n) and list(current[:4]) == list(current_n)
    assert baseline[4:].sum() == current[4:].sum() == 0  # <other>, <null>

    ours = compare(baseline, current, pseudo_count=1e-12)
    p, q = baseline[:4] / baseline.sum(), current[:4] / current.sum()
    direct = kl_from_probabilities(q, p, Segments.single(4))[0]

    from great_expectations import expectations as gxe

    kl = gxe.ExpectColumnKLDivergenceToBeLessThan(
        column="channel", threshold=1.0,
        partition_object={"values": list(categories), "weights": [float(x) for x in p]})
    [result] = run_expectations(current_df, [kl])
    observed = float(result.result["observed_value"])
    assert result.success
    assert observed == pytest.approx(ours.kl_reverse[0], abs=1e-9)
    assert observed == pytest.approx(direct, abs=1e-9)
    # and not the other direction: KL is asymmetric here
    assert abs(observed - ours.kl_divergence[0]) > 1e-3
