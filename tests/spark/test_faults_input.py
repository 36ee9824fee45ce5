"""The fault matrix, part one: hostile or extreme input and damaged tables.

Each case runs on real Spark and real Delta tables and either gives correct figures (checked
against an independent count: numpy or a Counter over the same Python rows) or fails with one
clear KlDriftError naming monitor, table and column that writes nothing to `drift_results`,
`profiles` or `baselines`, leaves one `failed` row in `runs`, and heals on a rerun once the
damage is repaired. docs/reliability.md lists every case with its outcome.

Cases tests/spark/test_bad_input.py already covers (empty window, NaN/inf in the window,
200,000 distinct values, a run before any baseline, spaces, dots, backticks and quotes in
names) are not repeated here.

One source table ("hostile") carries the name, number, string and timestamp cases through one
baseline; its windows are computed once each, in a module-scoped fixture.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kl_udfs.core.bins import NULL_LABEL
from kl_udfs.core.config import Config
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.windows import Window
from kl_udfs.jobs.runner import build_baseline, compute_windows
from kl_udfs.spark.tables import BASELINES, DRIFT_RESULTS, RUNS, read_table
from kl_udfs.spark.tables import table_path as monitoring_path
from tests.spark.test_bad_input import (
    DAY0,
    SCHEMA,
    assert_computed,
    baseline_rows,
    delta_version,
    do_baseline,
    do_run,
    drift_by_column,
    fails_cleanly,
    make_config,
    profiles_by_column,
    rows_of,
    standard_rows,
    with_table,
    write,
)

pytestmark = pytest.mark.spark

PER_DAY = 100
WINDOW = Window(DAY0 + timedelta(days=2), DAY0 + timedelta(days=3))
ONE_ROW = Window(WINDOW.end, WINDOW.end + timedelta(days=1))  # computed with WINDOW
PAST = Window(datetime(1900, 1, 1), datetime(1900, 1, 2))
FUTURE = Window(datetime(2200, 1, 1), datetime(2200, 1, 2))

# Names that need quoting or read like SQL; Delta column mapping allows all of them.
SQLISH = "drop table x; --"
UNICODE = "naïve ü 列"
MIXED_NAME = "a b.c`d"
TS = "event time"
X, LONG, RAW = "x", "long text", "raw bytes"
NAMES = (SQLISH, UNICODE, MIXED_NAME, X, LONG, RAW)

SUBNORMALS = (5e-324, -5e-324, 2.225073858507201e-308, 1e-310)
# 20 rows a day of IEEE extremes, the rest ordinary: the same mix in the baseline and windows
SPECIAL = (math.inf, -math.inf, math.nan, *SUBNORMALS, 0.0, -0.0)
UNICODE_VALUES = ("café", "日本", "web", "ﬁ\u200b")  # a ligature and a zero-width space
TEXT = "ab" * 5_120  # 10 KB
LONG_VALUES = (TEXT + "0", TEXT + "1", "short")
RAW_VALUES = (b"\xff\xfe", b"\xc3\x28", b"ok", b"\xe2\x82")  # invalid UTF-8 except b"ok"


def hostile_row(ts: datetime, i: int) -> tuple[Any, ...]:
    x = SPECIAL[i % len(SPECIAL)] if i % 5 == 0 else 1.0 + (i * 7 % 100) / 10
    return (ts, float(i % 13), UNICODE_VALUES[i % 4], i % 7, x, LONG_VALUES[i % 3],
            bytearray(RAW_VALUES[i % 4]))


def day_rows(start: datetime, n: int = PER_DAY) -> list[tuple[Any, ...]]:
    return [hostile_row(start + timedelta(seconds=i * (86_400 // PER_DAY)), i) for i in range(n)]


BATCHES = {  # one append (one Delta commit) each
    "baseline": day_rows(DAY0) + day_rows(DAY0 + timedelta(days=1)),
    "window": day_rows(WINDOW.start),
    "one_row": day_rows(ONE_ROW.start, 1),
    "past": day_rows(PAST.start),
    "future": day_rows(FUTURE.start),
}
IN = {WINDOW: "window", ONE_ROW: "one_row", PAST: "past", FUTURE: "future"}


@dataclass(frozen=True)
class Hostile:
    table: str
    config: Config
    baselines: dict[str, Any]
    drift: dict[Window, dict[str, Any]]
    profiles: dict[Window, dict[str, Any]]


def _create(spark: Any, path: str) -> None:
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    schema = T.StructType([
        T.StructField(TS, T.TimestampType()), T.StructField(SQLISH, T.DoubleType()),
        T.StructField(UNICODE, T.StringType()), T.StructField(MIXED_NAME, T.LongType()),
        T.StructField(X, T.DoubleType()), T.StructField(LONG, T.StringType()),
        T.StructField(RAW, T.BinaryType())])
    (DeltaTable.create(spark).location(path).addColumns(
        T.StructType([*schema.fields[:-1], T.StructField(RAW, T.StringType())]))
     .property("delta.columnMapping.mode", "name")
     .property("delta.minReaderVersion", "2").property("delta.minWriterVersion", "5")
     .execute())
    for rows in BATCHES.values():
        # a binary cast to string keeps its bytes as they are: invalid UTF-8 in a string column
        (spark.createDataFrame(rows, schema)
         .withColumn(RAW, F.col(f"`{RAW}`").cast("string"))
         .write.format("delta").mode("append").save(path))


@pytest.fixture(scope="module")
def hostile(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    root = tmp_path_factory.mktemp("hostile")
    table = str(root / "raw" / "hostile; table")
    _create(spark, table)
    config = make_config(root, table, timestamp_column=TS,
                         categorical_columns=[UNICODE, LONG, RAW])
    build_baseline(spark, config, "m")
    for windows in ([WINDOW, ONE_ROW], [PAST], [FUTURE]):  # one pass each
        compute_windows(spark, config, "m", windows)
    return Hostile(table, config, baseline_rows(spark, config),
                   {w: drift_by_column(spark, config, w) for w in IN},
                   {w: profiles_by_column(spark, config, w) for w in IN})


def expected_numeric(values: list[float], base: Any) -> list[int]:
    """Independent bin counts in the baseline's layout: with range bins (a finite minimum and
    maximum) (-inf, low), [low, e1) .. [em, high], (high, +inf), null; without (an infinity
    in the baseline) (-inf, e1), [e1, e2) .. [em, +inf), null. NaN goes to the null bin."""
    numbers = np.array(values, dtype=np.float64)
    stored = json.loads(base["bins_json"])
    edges = np.array(base["edges"], dtype=np.float64)
    nan = np.isnan(numbers)
    numbers = numbers[~nan]
    if "low" in stored:
        low, high = stored["low"], stored["high"]
        counts = np.zeros(len(edges) + 4, dtype=np.int64)
        counts[0] = int((numbers < low).sum())
        counts[-2] = int((numbers > high).sum())
        inside = numbers[(numbers >= low) & (numbers <= high)]
        positions = np.searchsorted(np.concatenate([[low], edges]), inside, side="right")
    else:
        counts = np.zeros(len(edges) + 2, dtype=np.int64)
        positions = np.searchsorted(edges, numbers, side="right")
    np.add.at(counts, positions, 1)
    counts[-1] = int(nan.sum())
    return counts.tolist()


def expected_categorical(values: list[Any], categories: list[str]) -> list[int]:
    found = Counter(values)
    return [found[c] for c in categories]


# --- 1. names that need quoting or read like SQL ----------------------------------------


def test_sql_like_and_non_ascii_names_end_to_end(hostile: Hostile) -> None:
    assert set(hostile.baselines) == set(NAMES)
    assert all(r["skipped_reason"] is None for r in hostile.baselines.values())
    for window in (WINDOW, PAST, FUTURE):
        drift = hostile.drift[window]
        assert set(drift) == set(NAMES), window  # one row each, under its exact name
        for name in (SQLISH, UNICODE, MIXED_NAME):
            assert_computed(drift[name])
            assert drift[name]["status"] == "ok", (window, name, drift[name]["reason"])
            assert drift[name]["current_count"] == PER_DAY
    categories = hostile.baselines[UNICODE]["categories"]
    assert sorted(categories) == sorted(UNICODE_VALUES)
    assert hostile.profiles[WINDOW][UNICODE]["counts"][:4] == expected_categorical(
        [r[2] for r in BATCHES["window"]], categories)


# --- 2. infinities, NaN and subnormals ---------------------------------------------------


def test_infinities_nan_and_subnormals_in_baseline_and_window(hostile: Hostile) -> None:
    base = hostile.baselines[X]
    baseline_x = [r[4] for r in BATCHES["baseline"]]
    # infinities in the baseline: no finite range, so the plain layout (-inf, e1) .. [em, +inf)
    assert "low" not in json.loads(base["bins_json"])
    assert base["min"] == -math.inf and base["max"] == math.inf
    assert all(math.isfinite(e) for e in base["edges"])
    assert base["bin_labels"][0].startswith("(-inf") and base["bin_labels"][-1] == NULL_LABEL
    assert base["counts"] == expected_numeric(baseline_x, base), (base["edges"], base["counts"])
    assert base["null_count"] == sum(math.isnan(v) for v in baseline_x)
    for window in (WINDOW, PAST, FUTURE):
        values = [r[4] for r in BATCHES[IN[window]]]
        profile = hostile.profiles[window][X]
        assert profile["counts"] == expected_numeric(values, base), (window, profile["counts"])
        # -inf in the first bin, +inf in the last value bin, NaN in the null bin
        assert profile["counts"][0] >= values.count(-math.inf) > 0
        assert profile["counts"][-2] >= values.count(math.inf) > 0
        assert profile["counts"][-1] == sum(math.isnan(v) for v in values)  # NaN: null bin
        row = hostile.drift[window][X]
        assert row["status"] == "ok", (row["reason"], row["message"])  # the same mix
        assert_computed(row)
        assert row["current_null_fraction"] == pytest.approx(
            sum(math.isnan(v) for v in values) / PER_DAY)
        for moment in ("current_mean", "current_std"):
            if moment in row.asDict():
                assert row[moment] is None or math.isfinite(row[moment]), (moment, row)


# --- 3. 10 KB strings, invalid UTF-8 ----------------------------------------------------


def test_ten_kilobyte_strings_are_categories(hostile: Hostile) -> None:
    base = hostile.baselines[LONG]
    assert sorted(base["categories"]) == sorted(LONG_VALUES)
    assert base["counts"][:3] == expected_categorical(
        [r[5] for r in BATCHES["baseline"]], base["categories"])
    profile = hostile.profiles[WINDOW][LONG]
    assert profile["counts"][:3] == expected_categorical(
        [r[5] for r in BATCHES["window"]], base["categories"])
    assert sum(profile["counts"][3:]) == 0  # nothing in other, unseen or null
    assert hostile.drift[WINDOW][LONG]["status"] == "ok"


def test_invalid_utf8_is_counted_by_its_bytes(hostile: Hostile) -> None:
    """Invalid bytes reach Python as U+FFFD; the window must still match them to the baseline's
    categories, not count them as other or unseen."""
    base = hostile.baselines[RAW]
    assert len(base["categories"]) == len(RAW_VALUES)
    assert sorted(base["counts"][:4]) == sorted(Counter(
        bytes(r[6]) for r in BATCHES["baseline"]).values())
    for window in (WINDOW, PAST, FUTURE):
        profile = hostile.profiles[window][RAW]
        assert sum(profile["counts"][:4]) == PER_DAY, (window, profile["counts"])
        assert sum(profile["counts"][4:]) == 0
        row = hostile.drift[window][RAW]
        assert_computed(row)
        assert row["status"] == "ok", row["reason"]


# --- 4. a window of one row -------------------------------------------------------------


def test_window_of_one_row_is_insufficient(hostile: Hostile) -> None:
    drift = hostile.drift[ONE_ROW]
    assert set(drift) == set(NAMES)
    for name, row in drift.items():
        assert row["status"] == "insufficient", (name, row)
        assert row["current_count"] == 1
        assert row["message"] and "\n" not in row["message"]
        assert "30" in row["message"], row["message"]  # names min_rows
    for name, profile in hostile.profiles[ONE_ROW].items():
        assert sum(profile["counts"]) == 1, name
    numbers = hostile.profiles[ONE_ROW][X]
    base = hostile.baselines[X]
    assert numbers["counts"] == expected_numeric([BATCHES["one_row"][0][4]], base)


# --- 5. timestamps in 1900 and 2200 -----------------------------------------------------


@pytest.mark.parametrize("window", [PAST, FUTURE], ids=["1900", "2200"])
def test_far_past_and_future_windows_compute(hostile: Hostile, window: Window) -> None:
    drift = hostile.drift[window]
    assert {r["window_start"] for r in drift.values()} == {window.start}
    assert {r["window_end"] for r in drift.values()} == {window.end}
    for name, profile in hostile.profiles[window].items():
        assert sum(profile["counts"]) == PER_DAY, name  # none lost, none from other windows
    assert all(r["status"] == "ok" for r in drift.values()), {
        n: r["reason"] for n, r in drift.items() if r["status"] != "ok"}


def test_every_run_succeeded(spark: Any, hostile: Hostile) -> None:
    runs = rows_of(spark, hostile.config, RUNS)
    assert sorted((r["operation"], r["status"]) for r in runs) == [
        ("baseline", "succeeded")] + [("run", "succeeded")] * 3
    assert sum(r["rows_scanned"] for r in runs if r["operation"] == "run") == 3 * PER_DAY + 1
    assert next(r for r in runs if r["operation"] == "baseline")["rows_scanned"] == 2 * PER_DAY


# --- 6. damaged tables ------------------------------------------------------------------


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One monitoring location for the damaged-table cases; one monitor name each."""
    return tmp_path_factory.mktemp("damaged")


def test_foreign_drift_results_table_is_refused(spark: Any, tmp_path: Path,
                                                hostile: Hostile) -> None:
    config = make_config(tmp_path, hostile.table, timestamp_column=TS)
    target = monitoring_path(config.monitoring.path, DRIFT_RESULTS)
    spark.createDataFrame([(1, "x")], "id int, note string").write.format("delta").save(target)
    before = delta_version(target)
    error = fails_cleanly(spark, config, "baseline", do_baseline(spark, config), None,
                          "drift_results", "not a kl-drift monitoring table")
    assert target in str(error)
    assert delta_version(target) == before  # not evolved, not written
    assert [tuple(r) for r in spark.read.format("delta").load(target).collect()] == [(1, "x")]
    assert baseline_rows(spark, config) == {}
    # healed: the foreign table moved away, the same command works and creates kl-drift's own
    shutil.move(target, str(tmp_path / "elsewhere"))
    build_baseline(spark, config, "m")
    assert set(baseline_rows(spark, config)) == set(NAMES)
    assert set(DRIFT_RESULTS.schema.fieldNames()) <= set(
        spark.read.format("delta").load(target).columns)


@pytest.mark.parametrize("operation", ["baseline", "run"])
def test_deleted_delta_log_file_is_a_clear_error(spark: Any, tmp_path: Path, hostile: Hostile,
                                                 operation: str) -> None:
    copy = str(tmp_path / "copy")
    shutil.copytree(hostile.table, copy)  # a path this session never read: no cached log
    commit = Path(copy) / "_delta_log" / f"{2:020d}.json"  # the window's rows
    saved = commit.read_bytes()
    commit.unlink()
    if operation == "baseline":
        config = make_config(tmp_path, copy, name="lost_log", timestamp_column=TS,
                             categorical_columns=[UNICODE, LONG, RAW])
        action = do_baseline(spark, config)
    else:
        # the hostile monitor's tables, baseline included, copied: its runs stay its own
        monitoring = shutil.copytree(hostile.config.monitoring.path, tmp_path / "monitoring")
        config = with_table(hostile.config, copy)
        config = config.model_copy(update={"monitoring": config.monitoring.model_copy(
            update={"path": str(monitoring)})})
        action = do_run(spark, config)
    fails_cleanly(spark, config, operation, action, None, "cannot read table")
    commit.write_bytes(saved)  # healed: the commit restored
    if operation == "baseline":
        build_baseline(spark, config, "lost_log")
        assert set(baseline_rows(spark, config)) == set(NAMES)
    else:
        compute_windows(spark, config, "m", [WINDOW])
        drift = drift_by_column(spark, config, WINDOW)
        assert set(drift) == set(NAMES)
        assert all(r["current_count"] == PER_DAY for r in drift.values())


def test_baseline_of_a_vacuumed_version_is_a_clear_error(spark: Any, tmp_path: Path) -> None:
    """The configured `baseline.version` is still in the log, but VACUUM removed its files."""
    path = str(tmp_path / "vacuumed")
    write(spark, path, standard_rows(), SCHEMA)  # version 0
    write(spark, path, standard_rows(), SCHEMA)  # version 1 replaces every file of version 0
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    try:
        spark.sql(f"VACUUM delta.`{path}` RETAIN 0 HOURS")
    finally:
        spark.conf.unset("spark.databricks.delta.retentionDurationCheck.enabled")
    config = make_config(tmp_path, path, name="vacuumed", baseline={"version": 0})
    fails_cleanly(spark, config, "baseline", do_baseline(spark, config), None,
                  "cannot read table version 0", "VACUUM")
    healed = make_config(tmp_path, path, name="vacuumed", baseline={"version": 1})
    build_baseline(spark, healed, "vacuumed")
    assert {name: row["count"] for name, row in baseline_rows(spark, healed).items()} == {
        "amount": 300, "channel": 300, "n": 300}


def test_foreign_runs_table_is_refused(spark: Any, tmp_path: Path, hostile: Hostile) -> None:
    """`runs` itself foreign: the error names it; no runs row can be written, none is."""
    config = make_config(tmp_path, hostile.table, timestamp_column=TS)
    target = monitoring_path(config.monitoring.path, RUNS)
    spark.createDataFrame([("r1",)], "run string").write.format("delta").save(target)
    with pytest.raises(KlDriftError) as caught:
        build_baseline(spark, config, "m")
    text = str(caught.value)
    assert "\n" not in text and text.startswith(f"monitor 'm', table '{hostile.table}'"), text
    assert f"runs at {target} is not a kl-drift monitoring table" in text, text
    assert "run_id" in text, text  # the missing key
    assert delta_version(target) == 0
    assert read_table(spark, config.monitoring.path, BASELINES).count() == 0
