"""Baseline -> backfill -> monitoring tables on real Delta, checked against numpy and scipy."""

from __future__ import annotations

import shutil
import threading
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F
from scipy.stats import entropy, kurtosis

from kl_udfs.core import contract
from kl_udfs.core.config import Config, parse_config
from kl_udfs.core.stats import compare
from kl_udfs.core.windows import Window
from kl_udfs.demo import data
from kl_udfs.demo.tables import write_delta
from kl_udfs.jobs import runner
from kl_udfs.spark.report import drift_summary
from kl_udfs.spark.tables import BASELINES, DRIFT_RESULTS, PROFILES, RUNS, read_table
from kl_udfs.sql.reads import status_table

pytestmark = pytest.mark.spark

DAYS, DRIFT_DAY = 40, 35
START = datetime(2026, 1, 1)
RANGE = (datetime(2026, 1, 31), datetime(2026, 2, 10))  # days 30..39
COLUMNS = ["amount", "channel", "merchant_category", "country", "hour", "is_fraud"]


def _config(root: Path, **baseline: object) -> Config:
    return parse_config({
        "monitoring": {"path": "./monitoring"},
        "monitors": [{
            "name": "cards", "table": "./raw/cards", "timestamp_column": "event_time",
            "baseline": baseline or {"start": "2026-01-01", "end": "2026-01-31"},
            "columns": COLUMNS, "column_thresholds": {"amount": {"kl": 0.05}},
        }],
    }, root)


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("lake")
    table = data.card_transactions(days=DAYS, rows_per_day=3000, drift_day=DRIFT_DAY)
    write_delta(spark, table, root / "raw" / "cards")
    config = _config(root)
    runner.build_baseline(spark, config, "cards")
    runner.backfill(spark, config, "cards", *RANGE, batch_windows=6)  # two passes
    return root, config


def _results(spark, config: Config):  # type: ignore[no-untyped-def]
    return read_table(spark, config.monitoring.path, DRIFT_RESULTS)


def test_demo_story_flags_exactly_the_drifted_columns_and_days(spark, lake) -> None:  # type: ignore[no-untyped-def]
    _, config = lake
    rows = _results(spark, config).collect()
    assert len(rows) == len(COLUMNS) * 10
    flagged = {(r["column_name"], r["window_start"]) for r in rows if r["status"] == "drift"}
    drift_days = [START + timedelta(days=d) for d in range(DRIFT_DAY, DAYS)]
    assert flagged == {(c, d) for c in ("amount", "channel") for d in drift_days}
    assert {r["status"] for r in rows} == {"ok", "drift"}
    assert all(r["q_value"] <= 0.01 and r["fired_rules"] and r["reason"] for r in rows
               if r["status"] == "drift")
    assert all(not r["fired_rules"] for r in rows if r["status"] == "ok")
    channel = next(r for r in rows if r["column_name"] == "channel" and r["status"] == "drift")
    top = channel["top_contributors"][0]
    assert top["bin"] == "online"
    assert top["baseline_fraction"] == pytest.approx(0.20, abs=0.02)
    assert top["current_fraction"] == pytest.approx(0.50, abs=0.03)


def test_stored_metrics_equal_numpy_and_scipy_on_stored_counts(spark, lake) -> None:  # type: ignore[no-untyped-def]
    _, config = lake
    baselines = {r["column_name"]: np.array(r["counts"], dtype=float) for r in
                 read_table(spark, config.monitoring.path, BASELINES).collect()}
    profiles = {(r["column_name"], r["window_start"]): np.array(r["counts"], dtype=float)
                for r in read_table(spark, config.monitoring.path, PROFILES).collect()}
    results = _results(spark, config).collect()
    assert len(profiles) == len(results)
    for r in results:
        p, q = baselines[r["column_name"]], profiles[(r["column_name"], r["window_start"])]
        expected = compare(p, q, pseudo_count=0.5)
        assert r["kl_divergence"] == pytest.approx(float(expected.kl_divergence[0]), rel=1e-12)
        assert r["kl_divergence"] == pytest.approx(entropy(p + 0.5, q + 0.5), rel=1e-9)
        assert r["kl_reverse"] == pytest.approx(entropy(q + 0.5, p + 0.5), rel=1e-9)
        psi_check = next(c for c in r["checks"] if c["rule"] == "psi")
        if r["p_value_method"] == "chi2":
            assert psi_check["p_value"] == pytest.approx(float(expected.p_value[0]), rel=1e-9,
                                                         abs=1e-300)
        else:  # sparse (rare categories, a few values past the range): simulated instead
            assert r["p_value_method"] in ("monte_carlo", "monte_carlo_tail")
            assert 0 < psi_check["p_value"] <= 1
        assert r["dof"] == int(expected.dof[0])
        n_eff = p.sum() * q.sum() / (p.sum() + q.sum())
        assert r["psi_corrected"] == pytest.approx(
            max(float(expected.psi[0]) - r["dof"] / n_eff, 0.0), rel=1e-9, abs=1e-15)
        assert r["current_count"] == q.sum() and r["baseline_count"] == p.sum()
        assert r["kl_divergence"] >= 0 and r["js_divergence"] <= 1


def test_profiles_count_every_row_of_the_window(spark, lake) -> None:  # type: ignore[no-untyped-def]
    root, config = lake
    raw = spark.read.format("delta").load(str(root / "raw" / "cards"))
    per_day = {r["d"]: r["n"] for r in raw.groupBy(F.to_date("event_time").alias("d")).count()
               .withColumnRenamed("count", "n").collect()}
    for r in read_table(spark, config.monitoring.path, PROFILES).collect():
        assert r["count"] == per_day[r["window_start"].date()] == sum(r["counts"])


def test_means_and_stds_of_profiles_baselines_and_drift_rows_equal_pandas(spark, lake) -> None:  # type: ignore[no-untyped-def]
    root, config = lake
    raw = spark.read.format("delta").load(str(root / "raw" / "cards")).select(
        "event_time", "amount", "hour").toPandas()
    raw["day"] = raw["event_time"].dt.floor("D")
    reference = raw[raw["event_time"] < datetime(2026, 1, 31)]
    baselines = {r["column_name"]: r for r in
                 read_table(spark, config.monitoring.path, BASELINES).collect()}
    results = {(r["column_name"], r["window_start"]): r for r in _results(spark, config).collect()}
    profiles = read_table(spark, config.monitoring.path, PROFILES).collect()
    for column in ("amount", "hour"):
        values = reference[column].astype(float)
        assert baselines[column]["mean"] == pytest.approx(values.mean(), rel=1e-10)
        assert baselines[column]["std"] == pytest.approx(values.std(ddof=1), rel=1e-9)
        assert baselines[column]["moment_sums"][0] == values.notna().sum()
    assert baselines["channel"]["mean"] is None and baselines["channel"]["moment_sums"] is None
    checked = 0
    for p in profiles:
        if p["column_name"] not in ("amount", "hour"):
            assert p["mean"] is None and p["moment_sums"] is None
            continue
        values = raw.loc[raw["day"] == p["window_start"], p["column_name"]].astype(float)
        assert p["mean"] == pytest.approx(values.mean(), rel=1e-10)
        assert p["std"] == pytest.approx(values.std(ddof=1), rel=1e-9)
        row = results[(p["column_name"], p["window_start"])]
        assert row["current_mean"] == p["mean"] and row["current_std"] == p["std"]
        assert row["baseline_mean"] == baselines[p["column_name"]]["mean"]
        checked += 1
    assert checked == 2 * 10
    # The moment rules judge the columns whose baseline kurtosis is at most the limit.
    for column in ("amount", "hour"):
        tails = kurtosis(reference[column].astype(float), fisher=False)
        judged = {c["rule"] for c in results[(column, RANGE[0])]["checks"]}
        moment_rules = {"mean_shift", "std_change"}
        assert (moment_rules <= judged) == (tails <= contract.MOMENT_KURTOSIS_LIMIT), tails
        assert (moment_rules & judged) in (set(), moment_rules)


def test_rerunning_windows_replaces_rows_and_never_duplicates(spark, lake) -> None:  # type: ignore[no-untyped-def]
    _, config = lake
    keys = ["column_name", "window_start"]
    before = sorted((r["column_name"], r["window_start"], r["kl_divergence"], r["status"])
                    for r in _results(spark, config).collect())
    runner.backfill(spark, config, "cards", RANGE[0], RANGE[0] + timedelta(days=3))
    runner.compute_windows(spark, config, "cards", [Window(RANGE[0], RANGE[0] + timedelta(1))])
    after_rows = _results(spark, config)
    assert after_rows.groupBy(*keys).count().where("count > 1").count() == 0
    after = sorted((r["column_name"], r["window_start"], r["kl_divergence"], r["status"])
                   for r in after_rows.collect())
    assert after == before


def test_two_windows_written_concurrently_both_land(spark, lake) -> None:  # type: ignore[no-untyped-def]
    _, config = lake
    days = [datetime(2026, 2, 10), datetime(2026, 2, 11)]  # outside the data: no_data rows
    errors: list[BaseException] = []

    def one(day: datetime) -> None:
        try:
            runner.compute_windows(spark, config, "cards", [Window(day, day + timedelta(1))])
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=one, args=(d,)) for d in days]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    landed = _results(spark, config).where(F.col("window_start") >= days[0]).collect()
    assert sorted({r["window_start"] for r in landed}) == days
    assert len(landed) == 2 * len(COLUMNS)
    assert {r["status"] for r in landed} == {"no_data"}
    assert all(r["current_count"] == 0 for r in landed)
    assert all(r["kl_divergence"] is None and r["p_value"] is None for r in landed)


def test_runs_table_records_every_operation(spark, lake) -> None:  # type: ignore[no-untyped-def]
    _, config = lake
    runs = read_table(spark, config.monitoring.path, RUNS).collect()
    ops = {r["operation"] for r in runs}
    assert {"baseline", "backfill"} <= ops
    assert all(r["status"] == "succeeded" and r["finished_at"] >= r["started_at"] for r in runs)
    backfills = [r for r in runs if r["operation"] == "backfill"
                 and r["window_start"] == RANGE[0] and r["windows"] == 6]
    assert backfills and backfills[0]["rows_scanned"] > 6 * 2500


def test_reports_render(spark, lake) -> None:  # type: ignore[no-untyped-def]
    _, config = lake
    status = status_table(config)  # delta-rs reads what Spark wrote
    assert all(column in status for column in COLUMNS)
    summary = {line.split()[1]: line.split() for line in drift_summary(spark, config)
               .splitlines()[2:]}
    assert summary["channel"][3] == summary["amount"][3] == str(DAYS - DRIFT_DAY)
    assert summary["country"][3] == "0"


def test_rolling_baseline_sums_previous_windows(spark, lake, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root, _ = lake
    shutil.copytree(root / "raw", tmp_path / "raw")
    config = _config(tmp_path, previous_windows=3, start="2026-01-01", end="2026-01-08")
    runner.build_baseline(spark, config, "cards")
    runner.backfill(spark, config, "cards", datetime(2026, 1, 8), datetime(2026, 1, 14),
                    batch_windows=3)  # windows whose history spans stored and new counts
    profiles = {(r["column_name"], r["window_start"]): np.array(r["counts"])
                for r in read_table(spark, config.monitoring.path, PROFILES).collect()}
    results = _results(spark, config).collect()
    raw = spark.read.format("delta").load(str(tmp_path / "raw" / "cards")).select(
        "event_time", "amount").toPandas()
    raw["day"] = raw["event_time"].dt.floor("D")
    first = datetime(2026, 1, 8)
    for r in results:
        previous = [profiles.get((r["column_name"], r["window_start"] - timedelta(days=k)))
                    for k in (1, 2, 3)]
        stored = [p for p in previous if p is not None]
        if r["window_start"] == first:
            assert r["status"] == "error" and r["baseline_count"] == 0
            continue
        assert r["baseline_count"] == sum(int(p.sum()) for p in stored)
        expected = compare(np.sum(stored, axis=0), profiles[(r["column_name"], r["window_start"])])
        assert r["kl_divergence"] == pytest.approx(float(expected.kl_divergence[0]), rel=1e-12)
        if r["column_name"] == "amount":  # power sums add up over the same previous windows
            days = [r["window_start"] - timedelta(days=k) for k in (1, 2, 3)
                    if ("amount", r["window_start"] - timedelta(days=k)) in profiles]
            values = raw.loc[raw["day"].isin(days), "amount"]
            assert r["baseline_mean"] == pytest.approx(values.mean(), rel=1e-10)
            assert r["baseline_std"] == pytest.approx(values.std(ddof=1), rel=1e-9)


def test_monthly_windows_are_calendar_months_with_a_rolling_baseline(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`window: 1 month` and `previous_windows: 1`: one row per column per calendar month,
    each counting exactly that month's rows (counted again by pandas), judged against the
    month before it."""
    table = data.card_transactions(days=120, rows_per_day=300, drift_day=500)  # Jan-Apr
    write_delta(spark, table, tmp_path / "raw" / "cards")
    config = parse_config({
        "monitoring": {"path": "./monitoring"},
        "monitors": [{"name": "monthly", "table": "./raw/cards", "timestamp_column": "event_time",
                      "window": "1 month", "baseline": {"previous_windows": 1},
                      "columns": ["amount", "channel"]}]}, tmp_path)
    runner.build_baseline(spark, config, "monthly")
    runner.backfill(spark, config, "monthly", datetime(2026, 1, 1), datetime(2026, 5, 1))
    rows = _results(spark, config).collect()
    months = [datetime(2026, m, 1) for m in (1, 2, 3, 4)]
    assert sorted({(r["window_start"], r["window_end"]) for r in rows}) == [
        (start, datetime(2026, start.month + 1, 1)) for start in months]
    events = table.column("event_time").to_pandas()
    per_month = events.dt.to_period("M").value_counts()
    counts = {(r["column_name"], r["window_start"]): r for r in rows}
    for start in months:
        expected = int(per_month[pd.Period(start, "M")])
        assert counts[("amount", start)]["current_count"] == expected
        if start.month > 1:  # the previous calendar month is the baseline
            previous = int(per_month[pd.Period(datetime(2026, start.month - 1, 1), "M")])
            assert counts[("amount", start)]["baseline_count"] == previous
            assert counts[("channel", start)]["status"] == "ok"
    assert counts[("amount", months[0])]["status"] == "error"  # no month before January


def test_baseline_from_a_delta_version(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    table = data.card_transactions(days=3, rows_per_day=500)
    write_delta(spark, table, tmp_path / "raw" / "cards")
    appended = data.card_transactions(days=4, rows_per_day=500).slice(table.num_rows)
    from kl_udfs.demo.tables import _utc

    spark.createDataFrame(_utc(appended).to_pandas()).write.format("delta").mode("append") \
        .save(str(tmp_path / "raw" / "cards"))
    config = _config(tmp_path, version=0)
    runner.build_baseline(spark, config, "cards")
    stored = read_table(spark, config.monitoring.path, BASELINES).collect()
    assert {r["count"] for r in stored} == {table.num_rows}
    assert {r["table_version"] for r in stored} == {0}
    assert all(r["source"] == "delta version 0" for r in stored)


# drift_results as kl-drift wrote it before the verdict rules (PSI, new-mass shares, q-values).
OLD_DRIFT_RESULTS = (
    "monitor string, table_name string, column_name string, column_kind string, "
    "window_start timestamp, window_end timestamp, baseline_id string, "
    "kl_divergence double, kl_reverse double, js_divergence double, psi double, "
    "g_statistic double, p_value double, current_count bigint, baseline_count bigint, "
    "current_null_fraction double, baseline_null_fraction double, threshold double, "
    "p_value_threshold double, status string, message string, "
    "top_contributors array<struct<bin:string,contribution:double,baseline_fraction:double,"
    "current_fraction:double>>, run_id string, computed_at timestamp"
)


def test_a_table_of_the_old_contract_gains_the_new_columns_and_keeps_its_rows(
        spark, lake, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kl_udfs.spark.tables import table_path

    root, _ = lake
    shutil.copytree(root / "raw", tmp_path / "raw")
    config = _config(tmp_path)
    old_row = ("cards", "t", "amount", "numeric", datetime(2025, 12, 1), datetime(2025, 12, 2),
               "b-old", 0.5, 0.6, 0.1, 1.1, 30.0, 1e-9, 3000, 90000, 0.0, 0.0, 0.05, 0.01,
               "drift", None, [("[1, 2)", 0.4, 0.1, 0.3)], "r-old", datetime(2025, 12, 2))
    path = table_path(config.monitoring.path, DRIFT_RESULTS)
    spark.createDataFrame([old_row], OLD_DRIFT_RESULTS).write.format("delta") \
        .partitionBy("monitor", "window_start").save(path)

    runner.build_baseline(spark, config, "cards")
    runner.compute_windows(spark, config, "cards", [Window(RANGE[0], RANGE[0] + timedelta(1))])
    table = _results(spark, config)
    assert set(DRIFT_RESULTS.schema.names) <= set(table.columns)
    old = table.where(F.col("baseline_id") == "b-old").collect()
    assert len(old) == 1 and old[0]["kl_divergence"] == 0.5 and old[0]["status"] == "drift"
    assert old[0]["reason"] is None and old[0]["q_value"] is None  # not made up for old rows
    new = table.where(F.col("baseline_id") != "b-old").collect()
    assert len(new) == len(COLUMNS) and all(r["reason"] for r in new)
    comments = {f.name: f.metadata.get("comment") for f in table.schema.fields}
    assert comments["q_value"] == DRIFT_RESULTS.schema["q_value"].metadata["comment"]


def test_backfill_and_run_print_json_results(spark, lake, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`--format json`: one JSON document on stdout per command, the backfill's progress
    (with its estimate) on stderr; the run's verdicts are those the library wrote."""
    import json

    from kl_udfs import cli

    root, config = lake
    config_file = tmp_path / "monitors.yaml"
    config_file.write_text(
        f"monitoring: {{path: {tmp_path / 'monitoring'}}}\nmonitors:\n"
        f"  - {{name: cards, table: {root / 'raw' / 'cards'}, timestamp_column: event_time,\n"
        f"     baseline: {{start: 2026-01-01, end: 2026-01-31}}, columns: {COLUMNS},\n"
        f"     column_thresholds: {{amount: {{kl: 0.05}}}}}}\n")
    common = ["--config", str(config_file), "--monitor", "cards"]
    assert cli.main(["baseline", *common]) == 0
    capsys.readouterr()
    start, end = RANGE[0], RANGE[0] + timedelta(days=3)
    assert cli.main(["backfill", *common, "--start", start.isoformat(), "--end",
                     end.isoformat(), "--batch", "2", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    backfilled = json.loads(out)
    assert (backfilled["windows"], len(backfilled["run_ids"])) == (3, 2)
    assert {(s["column"], s["windows"]) for s in backfilled["summary"]} == {
        (c, 3) for c in COLUMNS}
    progress = err.splitlines()
    assert [line.split(" ", 1)[0] for line in progress] == ["[2/3]", "[3/3]"]
    assert "left" in progress[0] and "100%" in progress[1] and "done" in progress[1]

    day = RANGE[0] + timedelta(days=1)
    assert cli.main(["run", *common, "--start", day.isoformat(), "--end",
                     (day + timedelta(days=1)).isoformat(), "--format", "json"]) == 0
    ran = json.loads(capsys.readouterr().out)
    assert ran["window_start"] == day.isoformat() and ran["rows_scanned"] > 0
    stored = {r["column_name"]: r["status"] for r in _results(spark, config)
              .where(F.col("window_start") == day).collect()}
    assert {r["column"]: r["status"] for r in ran["results"]} == stored
