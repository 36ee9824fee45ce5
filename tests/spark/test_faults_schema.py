"""The fault matrix, part three: the source table's schema changes after the baseline.

One source table (two baseline days, column mapping on so columns can be dropped and renamed,
type widening on) and one baseline are built once. Each case copies the table and the
monitoring tables, changes the copy the way a producer would (an append with `mergeSchema`,
`ALTER TABLE ... DROP / RENAME / ALTER COLUMN`, an `overwriteSchema` rewrite), appends the
window's rows in the new schema and computes that one window. Figures are checked against
numpy's count of the same Python rows; errors against their one-line message.
docs/reliability.md lists every case with its outcome.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kl_udfs.core.config import Config
from kl_udfs.core.windows import Window
from kl_udfs.jobs.runner import build_baseline, compute_windows
from kl_udfs.spark.tables import DRIFT_RESULTS, RUNS
from tests.spark.test_bad_input import (
    CHANNELS,
    DAY0,
    PER_DAY,
    WINDOW,
    assert_computed,
    baseline_rows,
    do_run,
    drift_by_column,
    fails_cleanly,
    make_config,
    profiles_by_column,
    rows_of,
    with_table,
)
from tests.spark.test_faults_input import expected_categorical, expected_numeric

pytestmark = pytest.mark.spark

# name -> Spark type at baseline time; `code` and `grade` are categorical integers
COLUMNS = {"ts": "timestamp", "amount": "double", "small": "int", "ratio": "float",
           "whole": "int", "code": "int", "grade": "int", "label": "string", "score": "double"}
CATEGORICAL = ["code", "grade"]
MONITORED = [c for c in COLUMNS if c != "ts"]
ZONE = "Asia/Kolkata"  # UTC+05:30: moves every window bound off the hour


def row(day: int, i: int) -> dict[str, Any]:
    return {
        "ts": DAY0 + timedelta(days=day, seconds=i * (86_400 // PER_DAY)),
        "amount": 10.0 + ((i * 7 + day) % 100) / 10, "small": (i * 3 + day) % 50,
        # a float32 value: what the column holds, and what its widened double holds
        "ratio": float(np.float32(((i * 7) % 100) / 10 + 0.05)),
        "whole": (i + day) % 13, "code": i % 5, "grade": i % 4, "label": CHANNELS[i % 3],
        "score": float(i % 17),
    }


def day_rows(day: int) -> list[dict[str, Any]]:
    return [row(day, i) for i in range(PER_DAY)]


WINDOW_ROWS = day_rows(2)


def schema_text(types: dict[str, str]) -> str:
    return ", ".join(f"`{name}` {kind}" for name, kind in types.items())


def append(spark: Any, path: str, rows: list[dict[str, Any]], types: dict[str, str],
           **options: str) -> None:
    frame = spark.createDataFrame([tuple(r[c] for c in types) for r in rows], schema_text(types))
    writer = frame.write.format("delta").mode("append")
    for key, value in options.items():
        writer = writer.option(key, value)
    writer.save(path)


def sql(spark: Any, path: str, statement: str) -> None:
    spark.sql(f"ALTER TABLE delta.`{path}` {statement}")


@dataclass(frozen=True)
class Source:
    table: str
    config: Config
    baselines: dict[str, Any]


@pytest.fixture(scope="module")
def source(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Source:
    from delta.tables import DeltaTable
    from pyspark.sql import types as T

    root = tmp_path_factory.mktemp("schema")
    table = str(root / "raw" / "events")
    schema = T._parse_datatype_string(schema_text(COLUMNS))
    (DeltaTable.create(spark).location(table).addColumns(schema)
     .property("delta.columnMapping.mode", "name")
     .property("delta.enableTypeWidening", "true")
     .property("delta.feature.timestampNtz", "supported").execute())
    append(spark, table, day_rows(0) + day_rows(1), COLUMNS)
    config = make_config(root, table, categorical_columns=CATEGORICAL, bins=10)
    build_baseline(spark, config, "m")
    return Source(table, config, baseline_rows(spark, config))


def changed_copy(source: Source, tmp_path: Path) -> tuple[str, Config]:
    """A copy of the source table and of the monitoring tables (the baseline included)."""
    table = str(tmp_path / "events")
    shutil.copytree(source.table, table)
    monitoring = shutil.copytree(source.config.monitoring.path, tmp_path / "monitoring")
    config = with_table(source.config, table)
    return table, config.model_copy(update={"monitoring": config.monitoring.model_copy(
        update={"path": str(monitoring)})})


@dataclass(frozen=True)
class Outcome:
    drift: dict[str, Any]
    profiles: dict[str, Any]
    runs: list[Any]


def run_window(spark: Any, config: Config) -> Outcome:
    compute_windows(spark, config, "m", [WINDOW])
    return Outcome(drift_by_column(spark, config), profiles_by_column(spark, config),
                   rows_of(spark, config, RUNS))


def assert_counted(source: Source, outcome: Outcome, name: str,
                   values: list[Any] | None = None) -> None:
    """The column computed, its window counts equal to numpy's count of the same values."""
    values = values if values is not None else [r[name] for r in WINDOW_ROWS]
    base = source.baselines[name]
    counts = outcome.profiles[name]["counts"]
    if base["column_kind"] == "numeric":
        assert counts == expected_numeric([float(v) for v in values], base), (name, counts)
    else:
        categories = base["categories"]
        assert counts[:len(categories)] == expected_categorical(
            [str(v) for v in values], categories), (name, counts)
        assert sum(counts) == PER_DAY
    row = outcome.drift[name]
    assert_computed(row)
    assert row["current_count"] == PER_DAY
    assert row["status"] == "ok", (name, row["reason"])  # the same distribution every day


def assert_column_error(outcome: Outcome, name: str, *fragments: str) -> str:
    row = outcome.drift[name]
    assert row["status"] == "error", (name, row)
    message = row["message"]
    assert message and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert row["kl_divergence"] is None and row["current_count"] is None
    assert name not in outcome.profiles  # nothing counted for it: no count can be wrong
    return str(message)


def assert_run_succeeded(outcome: Outcome) -> None:
    assert sorted((r["operation"], r["status"]) for r in outcome.runs) == [
        ("baseline", "succeeded"), ("run", "succeeded")]


# --- columns added, dropped, renamed, widened: one copy changed four ways ---------------

ADDED, DROPPED, OLD_NAME, NEW_NAME = "discount", "score", "label", "channel"
# Delta type widening: int -> bigint, float -> double, int -> double, a categorical int -> bigint
WIDENED = {"small": "bigint", "ratio": "double", "whole": "double", "code": "bigint"}
KEPT = [c for c in MONITORED if c not in (DROPPED, OLD_NAME)]


@dataclass(frozen=True)
class Evolved:
    table: str
    config: Config
    outcome: Outcome


@pytest.fixture(scope="module")
def evolved(spark: Any, source: Source, tmp_path_factory: pytest.TempPathFactory) -> Evolved:
    """After the baseline: `score` dropped, `label` renamed `channel`, four columns widened (each
    by ALTER TABLE), then the window appended with a new column `discount` (mergeSchema)."""
    table, config = changed_copy(source, tmp_path_factory.mktemp("evolved"))
    sql(spark, table, f"DROP COLUMN {DROPPED}")
    sql(spark, table, f"RENAME COLUMN {OLD_NAME} TO {NEW_NAME}")
    for name, kind in WIDENED.items():
        sql(spark, table, f"ALTER COLUMN {name} TYPE {kind.upper()}")
    types = {(NEW_NAME if c == OLD_NAME else c): WIDENED.get(c, t)
             for c, t in COLUMNS.items() if c != DROPPED}
    rows = [{**r, NEW_NAME: r[OLD_NAME], "whole": float(r["whole"]), ADDED: float(i % 4)}
            for i, r in enumerate(WINDOW_ROWS)]
    append(spark, table, rows, {**types, ADDED: "double"}, mergeSchema="true")
    read = spark.read.format("delta").load(table).schema
    assert {c: read[c].dataType.simpleString() for c in (*types, ADDED)} == {
        **types, ADDED: "double"}
    return Evolved(table, config, run_window(spark, config))


def test_changed_table_runs_with_one_row_per_old_and_new_column(evolved: Evolved) -> None:
    assert_run_succeeded(evolved.outcome)
    assert set(evolved.outcome.drift) == {*MONITORED, ADDED, NEW_NAME}
    assert set(evolved.outcome.profiles) == set(KEPT)


def test_added_column_is_reported_as_new(evolved: Evolved, source: Source) -> None:
    message = assert_column_error(evolved.outcome, ADDED, "is new since baseline",
                                  "rebuild the baseline to monitor it")
    assert source.baselines["amount"]["baseline_id"] in message
    assert evolved.outcome.drift[ADDED]["column_kind"] == "numeric"


def test_dropped_column_is_an_error_and_the_rest_are_judged(evolved: Evolved,
                                                            source: Source) -> None:
    assert_column_error(evolved.outcome, DROPPED, f"column '{DROPPED}' not found",
                        "dropped or renamed")
    for name in KEPT:
        assert_counted(source, evolved.outcome, name)


def test_renamed_column_is_reported_as_dropped_and_added(evolved: Evolved) -> None:
    assert_column_error(evolved.outcome, OLD_NAME, "not found", "dropped or renamed")
    assert_column_error(evolved.outcome, NEW_NAME, "is new since baseline")
    assert evolved.outcome.drift[NEW_NAME]["column_kind"] == "categorical"


def test_widened_columns_keep_their_bins(evolved: Evolved, source: Source) -> None:
    """Fixed: a widened column was an error ("type changed"); now it is binned on the baseline's
    bins, with counts equal to numpy's count of the same values."""
    for name in WIDENED:
        assert_counted(source, evolved.outcome, name)


def test_changed_table_heals_once_the_baseline_is_rebuilt(spark: Any, evolved: Evolved) -> None:
    rebuilt = build_baseline(spark, evolved.config, "m")
    compute_windows(spark, evolved.config, "m", [WINDOW])
    rows = [r for r in rows_of(spark, evolved.config, DRIFT_RESULTS)
            if r["window_start"] == WINDOW.start and r["baseline_id"] == rebuilt]
    drift = {r["column_name"]: r for r in rows}
    assert len(drift) == len(rows)  # no duplicates
    assert set(drift) == {*KEPT, ADDED, NEW_NAME}
    for name, row in drift.items():
        assert_computed(row)
        assert row["current_count"] == PER_DAY, name


# --- types narrowed, or of another kind -------------------------------------------------


NARROWED = {"amount": "int", "score": "string", "label": "int", "grade": "double"}


def _narrow(r: dict[str, Any]) -> dict[str, Any]:
    return {**r, "amount": int(r["amount"]), "score": str(r["score"]),
            "label": CHANNELS.index(r["label"]), "grade": float(r["grade"])}


def test_narrowed_or_changed_kind_is_a_column_error(spark: Any, tmp_path: Path,
                                                    source: Source) -> None:
    """double -> int, numeric -> string, string -> int, and a categorical int -> double (its
    categories "1" would become "1.0"): a per-column error, never a wrong count."""
    table, config = changed_copy(source, tmp_path)
    rows = [_narrow(r) for d in range(3) for r in day_rows(d)]
    (spark.createDataFrame([tuple(r[c] for c in COLUMNS) for r in rows],
                           schema_text({**COLUMNS, **NARROWED}))
     .write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(table))
    outcome = run_window(spark, config)
    assert_run_succeeded(outcome)
    assert set(outcome.drift) == set(MONITORED)
    for name, kind in NARROWED.items():
        assert_column_error(outcome, name, f"from {COLUMNS[name]} to {kind}",
                            "rebuild the baseline")
    for name in ("small", "ratio", "whole", "code"):
        assert_counted(source, outcome, name)


# --- the timestamp column and the session time zone ------------------------------------


def _retime(spark: Any, table: str, kind: str) -> None:
    frame = spark.read.format("delta").load(table)
    (frame.withColumn("ts", frame["ts"].cast(kind)).write.format("delta").mode("overwrite")
     .option("overwriteSchema", "true").save(table))


@pytest.fixture
def window_appended(spark: Any, tmp_path: Path, source: Source) -> tuple[str, Config]:
    table, config = changed_copy(source, tmp_path)
    append(spark, table, WINDOW_ROWS, COLUMNS)
    return table, config


def run_in_zone(spark: Any, config: Config, zone: str = ZONE) -> Outcome:
    """The window computed in a session set to another time zone, which is left as it was."""
    before = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", zone)
    try:
        compute_windows(spark, config, "m", [WINDOW])
        assert spark.conf.get("spark.sql.session.timeZone") == zone
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)
    return Outcome(drift_by_column(spark, config), profiles_by_column(spark, config),
                   rows_of(spark, config, RUNS))


def assert_window_counted(source: Source, outcome: Outcome) -> None:
    assert_run_succeeded(outcome)
    assert {(r["window_start"], r["window_end"]) for r in outcome.drift.values()} == {
        (WINDOW.start, WINDOW.end)}
    for name in MONITORED:
        assert_counted(source, outcome, name)


def test_window_counts_the_same_rows_in_any_session_time_zone(
        spark: Any, window_appended: tuple[str, Config], source: Source) -> None:
    """Fixed: in a session at UTC+05:30 the window's rows were cut 5.5 hours early and its
    rows stored under a shifted window_start."""
    _, config = window_appended
    assert_window_counted(source, run_in_zone(spark, config))


def test_baseline_is_the_same_in_any_session_time_zone(spark: Any, tmp_path: Path,
                                                       source: Source) -> None:
    config = make_config(tmp_path, source.table, categorical_columns=CATEGORICAL, bins=10)
    before = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", ZONE)
    try:
        build_baseline(spark, config, "m")
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)
    rebuilt = baseline_rows(spark, config)
    for name in MONITORED:
        for field in ("baseline_id", "counts", "count", "bins_json", "range_start", "range_end"):
            assert rebuilt[name][field] == source.baselines[name][field], (name, field)


def test_timestamp_column_to_timestamp_ntz_counts_the_same_rows(
        spark: Any, window_appended: tuple[str, Config], source: Source) -> None:
    """Computed in the UTC+05:30 session too: a timestamp_ntz is read as UTC wall-clock time."""
    table, config = window_appended
    _retime(spark, table, "timestamp_ntz")
    assert_window_counted(source, run_in_zone(spark, config))


def test_timestamp_column_to_date_counts_whole_days(
        spark: Any, window_appended: tuple[str, Config], source: Source) -> None:
    table, config = window_appended
    _retime(spark, table, "date")
    assert_window_counted(source, run_in_zone(spark, config))
    # a window shorter than a day cannot be cut on a date: one clear error, nothing written
    hourly = config.model_copy(update={"monitors": [
        config.monitors[0].model_copy(update={"window": "1 hour"})]})
    hour = Window(WINDOW.start + timedelta(hours=23), WINDOW.end)
    fails_cleanly(spark, hourly, "run", do_run(spark, hourly, hour), "ts", "date",
                  "does not start and end at midnight")


def test_timestamp_column_to_string_is_one_error(
        spark: Any, window_appended: tuple[str, Config]) -> None:
    table, config = window_appended
    _retime(spark, table, "string")
    fails_cleanly(spark, config, "run", do_run(spark, config), "ts", "string")


def test_baseline_counts_equal_the_rows_by_hand(source: Source) -> None:
    rows = day_rows(0) + day_rows(1)
    for name in MONITORED:
        base = source.baselines[name]
        assert base["count"] == len(rows)
        if base["column_kind"] == "numeric":
            assert base["counts"] == expected_numeric([float(r[name]) for r in rows], base)
        else:
            found = Counter(str(r[name]) for r in rows)
            assert base["counts"][:len(base["categories"])] == [
                found[c] for c in base["categories"]]
