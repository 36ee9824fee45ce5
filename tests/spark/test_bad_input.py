"""Bad input end to end: real Spark, real Delta tables in temp dirs, real monitoring tables.

Every case either fails with one clear KlDriftError (one line naming monitor, table and
column; a config with several problems, one line each) that commits nothing to
`drift_results`, `profiles` or `baselines` and leaves one `failed` row in `runs`, or records
a per-column status in `drift_results`.

Spark work dominates the runtime, so tables, baselines and runs are shared through
module-scoped fixtures: the failure cases share one monitoring location (one monitor name
each), and one "mixed" table carries the schema-change, null, NaN/inf and unsupported-type
cases through a single baseline and a single run.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kl_udfs import cli
from kl_udfs.core.bins import NULL_LABEL, OTHER_LABEL, UNSEEN_LABEL
from kl_udfs.core.config import Config, parse_config
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.windows import Window
from kl_udfs.jobs.runner import build_baseline, compute_windows
from kl_udfs.spark.tables import (
    BASELINES,
    DRIFT_RESULTS,
    PROFILES,
    RUNS,
    VOLUME_RESULTS,
    read_table,
)
from kl_udfs.spark.tables import table_path as monitoring_path

pytestmark = pytest.mark.spark

DAY0 = datetime(2026, 1, 1)
BASE_START, BASE_END = DAY0, DAY0 + timedelta(days=2)
WINDOW = Window(DAY0 + timedelta(days=2), DAY0 + timedelta(days=3))
EMPTY = Window(datetime(2026, 2, 1), datetime(2026, 2, 2))
PER_DAY = 100
CHANNELS = ("web", "store", "app")  # i % 3 over 100 rows: 34, 33, 33
SCHEMA = "ts timestamp, amount double, channel string, n long"
WATCHED = (DRIFT_RESULTS, PROFILES, BASELINES, VOLUME_RESULTS)


# --- helpers ----------------------------------------------------------------------------


def _ts(day: int, i: int) -> datetime:
    return DAY0 + timedelta(days=day, seconds=i * (86_400 // PER_DAY))


def standard_rows(days: int = 3) -> list[tuple[Any, ...]]:
    """The same 100 rows every day: no drift between the baseline and the window."""
    return [
        (_ts(d, i), 10.0 + (i * 7 % 100) / 10, CHANNELS[i % 3], i % 10)
        for d in range(days) for i in range(PER_DAY)
    ]


def write(spark: Any, path: Path | str, rows: list[tuple[Any, ...]], schema: Any,
          overwrite_schema: bool = False) -> str:
    writer = spark.createDataFrame(rows, schema).write.format("delta").mode("overwrite")
    if overwrite_schema:
        writer = writer.option("overwriteSchema", "true")
    writer.save(str(path))
    return str(path)


def make_config(root: Path, table: str, name: str = "m", **overrides: Any) -> Config:
    monitor: dict[str, Any] = {
        "name": name, "table": table, "timestamp_column": "ts",
        "baseline": {"start": BASE_START.isoformat(), "end": BASE_END.isoformat()},
    }
    monitor.update(overrides)
    return parse_config({"monitoring": {"path": str(root / "monitoring")},
                         "monitors": [monitor]}, root)


def with_table(config: Config, table: str) -> Config:
    """The same monitor and monitoring tables, the config now naming another table."""
    moved = config.monitors[0].model_copy(update={"table": table})
    return config.model_copy(update={"monitors": [moved]})


def _name(config: Config) -> str:
    return config.monitors[0].name


def _table(config: Config) -> str:
    return config.monitors[0].table


def rows_of(spark: Any, config: Config, spec: Any) -> list[Any]:
    return [r for r in read_table(spark, config.monitoring.path, spec).collect()
            if r["monitor"] == _name(config)]


def delta_version(path: str) -> int:
    """The table's latest commit (what `history(1)` reports), read from its log; -1: none."""
    log = Path(path) / "_delta_log"
    commits = [int(f.name[:20]) for f in log.glob("*.json") if f.name[:20].isdigit()]
    return max(commits, default=-1)


Snapshot = dict[str, tuple[int, list[str]]]


def snapshot(spark: Any, config: Config) -> Snapshot:
    """Delta version and full sorted contents of every table a failure must not touch."""
    state = {}
    for spec in (*WATCHED, RUNS):
        version = delta_version(monitoring_path(config.monitoring.path, spec))
        # version 0 is the empty table createIfNotExists made: nothing to read
        rows = sorted(repr(r) for r in read_table(spark, config.monitoring.path, spec)
                      .collect()) if version > 0 else []
        state[spec.name] = (version, rows)
    return state


def assert_untouched(before: Snapshot, after: Snapshot) -> None:
    for spec in WATCHED:
        if before[spec.name][0] == -1:  # did not exist: may only have been created, empty
            assert after[spec.name] in ((-1, []), (0, [])), spec.name
        else:
            assert after[spec.name] == before[spec.name], spec.name


def assert_one_line_error(error: KlDriftError, config: Config, column: str | None,
                          *fragments: str) -> str:
    text = str(error)
    assert text and "\n" not in text and "\r" not in text, text
    assert error.monitor == _name(config)
    assert error.table == _table(config)
    assert text.startswith(f"monitor '{_name(config)}', table '{_table(config)}'"), text
    if column is not None:
        assert error.column == column
        assert f"column '{column}'" in text, text
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    assert "Traceback" not in text and "org.apache" not in text, text
    return text


def fails_cleanly(spark: Any, config: Config, operation: str, action: Callable[[], object],
                  column: str | None = None, *fragments: str) -> KlDriftError:
    """The action raises one clear error and writes nothing but one `failed` runs row."""
    before = snapshot(spark, config)
    with pytest.raises(KlDriftError) as caught:
        action()
    text = assert_one_line_error(caught.value, config, column, *fragments)
    assert_untouched(before, snapshot(spark, config))
    old = set(before[RUNS.name][1])
    new = [r for r in rows_of(spark, config, RUNS)
           if repr(r) not in old and r["operation"] == operation]
    assert len(new) == 1, new
    assert new[0]["status"] == "failed"
    assert new[0]["error"] == text
    assert new[0]["table_name"] == _table(config)
    assert new[0]["finished_at"] is not None
    return caught.value


def do_baseline(spark: Any, config: Config) -> Callable[[], object]:
    return lambda: build_baseline(spark, config, _name(config))


def do_run(spark: Any, config: Config, window: Window = WINDOW) -> Callable[[], object]:
    return lambda: compute_windows(spark, config, _name(config), [window])


def drift_by_column(spark: Any, config: Config, window: Window = WINDOW) -> dict[str, Any]:
    found = [r for r in rows_of(spark, config, DRIFT_RESULTS) if r["window_start"] == window.start]
    by_column = {r["column_name"]: r for r in found}
    assert len(by_column) == len(found), "duplicate drift rows"
    return by_column


def profiles_by_column(spark: Any, config: Config, window: Window = WINDOW) -> dict[str, Any]:
    return {r["column_name"]: r for r in rows_of(spark, config, PROFILES)
            if r["window_start"] == window.start}


def baseline_rows(spark: Any, config: Config) -> dict[str, Any]:
    return {r["column_name"]: r for r in rows_of(spark, config, BASELINES)}


def assert_computed(row: Any) -> None:
    assert row["status"] in ("ok", "drift"), row
    for metric in ("kl_divergence", "kl_reverse", "js_divergence", "psi", "p_value"):
        assert row[metric] is not None and math.isfinite(row[metric]), (metric, row)
    assert row["kl_divergence"] >= 0 and row["kl_reverse"] >= 0
    assert 0 <= row["js_divergence"] <= 1
    assert 0 <= row["p_value"] <= 1
    assert row["message"] is None


# --- shared tables ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def standard_table(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Read-only: three days of 100 rows, the same distribution every day."""
    return write(spark, tmp_path_factory.mktemp("standard") / "cards", standard_rows(), SCHEMA)


@pytest.fixture(scope="module")
def standard_monitor(spark: Any, standard_table: str,
                     tmp_path_factory: pytest.TempPathFactory) -> Config:
    """A monitor on the standard table with its baseline built."""
    config = make_config(tmp_path_factory.mktemp("standard_monitor"), standard_table)
    build_baseline(spark, config, "m")
    return config


@pytest.fixture(scope="module")
def failures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One monitoring location for the baseline failures; each test uses its own monitor."""
    return tmp_path_factory.mktemp("failures")


@pytest.fixture(scope="module")
def string_ts_table(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    rows = [(ts.isoformat(sep=" "), *rest) for ts, *rest in standard_rows()]
    return write(spark, tmp_path_factory.mktemp("string_ts") / "cards", rows,
                 "ts string, amount double, channel string, n long")


# --- the table is missing ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "empty_dir", "parquet_not_delta"])
def test_baseline_of_missing_table(spark: Any, failures: Path, kind: str) -> None:
    table = failures / "raw" / kind
    if kind == "empty_dir":
        table.mkdir(parents=True)
    elif kind == "parquet_not_delta":
        spark.createDataFrame(standard_rows(1), SCHEMA).write.parquet(str(table))
    config = make_config(failures, str(table), name=f"no_table_{kind}")
    fails_cleanly(spark, config, "baseline", do_baseline(spark, config), None, "not found")
    assert baseline_rows(spark, config) == {}


def test_run_of_table_removed_after_baseline(spark: Any, tmp_path: Path,
                                             standard_monitor: Config,
                                             standard_table: str) -> None:
    copy = str(tmp_path / "cards")
    shutil.copytree(standard_table, copy)
    config = with_table(standard_monitor, copy)
    assert spark.read.format("delta").load(copy).count() == 3 * PER_DAY  # Delta caches its log
    shutil.rmtree(copy)
    fails_cleanly(spark, config, "run", do_run(spark, config), None, "not found")


def test_baseline_of_unknown_delta_version(spark: Any, failures: Path,
                                           standard_table: str) -> None:
    config = make_config(failures, standard_table, name="bad_version",
                         baseline={"version": 42})
    fails_cleanly(spark, config, "baseline", do_baseline(spark, config), None,
                  "cannot read table")


# --- missing or wrong columns at baseline time ------------------------------------------


def test_configured_column_missing(spark: Any, failures: Path, standard_table: str) -> None:
    config = make_config(failures, standard_table, name="missing_column",
                         columns=["amount", "amount_usd"])
    fails_cleanly(spark, config, "baseline", do_baseline(spark, config), "amount_usd",
                  "not found")


def test_categorical_column_missing(spark: Any, failures: Path, standard_table: str) -> None:
    config = make_config(failures, standard_table, name="missing_categorical",
                         categorical_columns=["chanel"])
    fails_cleanly(spark, config, "baseline", do_baseline(spark, config), "chanel", "not found")


def test_timestamp_column_missing(spark: Any, failures: Path, standard_table: str) -> None:
    config = make_config(failures, standard_table, name="missing_ts",
                         timestamp_column="event_time")
    fails_cleanly(spark, config, "baseline", do_baseline(spark, config), "event_time",
                  "timestamp column", "not found")


def test_timestamp_column_of_type_string(spark: Any, failures: Path,
                                         string_ts_table: str) -> None:
    config = make_config(failures, string_ts_table, name="string_ts")
    fails_cleanly(spark, config, "baseline", do_baseline(spark, config), "ts", "string",
                  "timestamp")


def test_no_supported_column(spark: Any, failures: Path) -> None:
    table = write(spark, failures / "raw" / "bytes", [(DAY0, bytearray(b"x"))],
                  "ts timestamp, payload binary")
    config = make_config(failures, table, name="only_binary")
    fails_cleanly(spark, config, "baseline", do_baseline(spark, config), None,
                  "no supported column")


def test_baseline_range_without_rows(spark: Any, failures: Path, standard_table: str) -> None:
    config = make_config(failures, standard_table, name="empty_range",
                         baseline={"start": "2025-01-01", "end": "2025-01-02"})
    fails_cleanly(spark, config, "baseline", do_baseline(spark, config), None, "no rows")


# --- no baseline ------------------------------------------------------------------------


def test_run_before_any_baseline(spark: Any, failures: Path, standard_table: str) -> None:
    config = make_config(failures, standard_table, name="never_baselined")
    fails_cleanly(spark, config, "run", do_run(spark, config), None, "no baseline yet")


def test_run_with_unknown_baseline_id(spark: Any, standard_monitor: Config) -> None:
    config = standard_monitor

    def action() -> object:
        return compute_windows(spark, config, "m", [WINDOW], "b-000000000000")

    fails_cleanly(spark, config, "run", action, None, "b-000000000000", "not found")


# --- the timestamp column changed after the baseline ------------------------------------


def test_timestamp_column_dropped_after_baseline(spark: Any, tmp_path: Path,
                                                 standard_monitor: Config) -> None:
    table = write(spark, tmp_path / "cards", standard_rows(),
                  "event_time timestamp, amount double, channel string, n long")
    config = with_table(standard_monitor, table)
    fails_cleanly(spark, config, "run", do_run(spark, config), "ts", "timestamp column")


def test_timestamp_column_retyped_to_string_after_baseline(spark: Any, standard_monitor: Config,
                                                          string_ts_table: str) -> None:
    config = with_table(standard_monitor, string_ts_table)
    fails_cleanly(spark, config, "run", do_run(spark, config), "ts", "string")


# --- the empty window -------------------------------------------------------------------


@dataclass(frozen=True)
class EmptyRun:
    rows_scanned: int
    run_id: str
    drift: dict[str, Any]
    profiles: dict[str, Any]
    latest_run: Any


@pytest.fixture(scope="module")
def empty_run(spark: Any, standard_monitor: Config) -> EmptyRun:
    done = compute_windows(spark, standard_monitor, "m", [EMPTY])
    latest = max(rows_of(spark, standard_monitor, RUNS), key=lambda r: r["started_at"])
    return EmptyRun(done.rows_scanned, done.run_id, drift_by_column(spark, standard_monitor, EMPTY),
                    profiles_by_column(spark, standard_monitor, EMPTY), latest)


def test_empty_window_is_no_data(empty_run: EmptyRun) -> None:
    assert empty_run.rows_scanned == 0
    assert set(empty_run.drift) == {"amount", "channel", "n"}
    for column, row in empty_run.drift.items():
        assert row["status"] == "no_data", (column, row)
        assert row["current_count"] == 0
        assert row["baseline_count"] == 2 * PER_DAY
        for metric in ("kl_divergence", "kl_reverse", "js_divergence", "psi", "p_value"):
            assert row[metric] is None or math.isfinite(row[metric]), (metric, row)
        assert row["kl_divergence"] != 0  # never a reassuring "no divergence"
    assert set(empty_run.profiles) == {"amount", "channel", "n"}
    for row in empty_run.profiles.values():
        assert row["count"] == 0
        assert set(row["counts"]) == {0}
        assert len(row["counts"]) == len(row["bin_labels"])
    latest = empty_run.latest_run
    assert (latest["operation"], latest["status"], latest["run_id"]) == (
        "run", "succeeded", empty_run.run_id)


def test_empty_window_has_no_contributors(empty_run: EmptyRun) -> None:
    for column, row in empty_run.drift.items():
        assert not row["top_contributors"], (column, row["top_contributors"])


# --- one mixed table: schema changes, nulls, NaN/inf, unsupported types -----------------

# name -> (type at baseline, type after the overwrite or None when dropped/renamed)
MIXED = {
    "amount": ("double", "string"),  # retyped
    "channel": ("string", None),  # dropped
    "n": ("bigint", None),  # renamed to n_count
    "score": ("double", "double"),  # unchanged, no drift
    "x": ("double", "double"),  # NaN and infinities
    "maybe": ("double", "double"),  # all null in the window
    "tag": ("string", "string"),  # all null in the window
    "late": ("double", "double"),  # all null in the baseline
    "late_tag": ("string", "string"),  # all null in the baseline
}
UNSUPPORTED = {"tags": "map<string,int>", "items": "array<int>",
               "address": "struct<city:string,zip:int>", "payload": "binary"}
WINDOW_X = [-math.inf] * 4 + [math.inf] * 2 + [math.nan] * 3 + [None] + [15.0] * 90


def _mixed_row(day: int, i: int) -> dict[str, Any]:
    in_window = day == 2
    x = WINDOW_X[i] if in_window else {0: math.nan, 1: math.inf, 2: -math.inf}.get(i, 10 + i / 10)
    channel = CHANNELS[i % 3]
    return {
        "ts": _ts(day, i), "amount": 10.0 + (i * 7 % 100) / 10, "channel": channel,
        "n": i % 10, "score": float(i % 17), "x": x,
        "maybe": None if in_window else float(i % 5),
        "tag": None if in_window else channel,
        "late": float(i) if in_window else None,
        "late_tag": f"t{i % 4}" if in_window else None,
        "tags": {channel: i}, "items": [i, i + 1], "address": (channel, i),
        "payload": bytearray(channel, "utf8"),
    }


def _schema(types: dict[str, str | None], renamed: dict[str, str]) -> str:
    return ", ".join(f"`{renamed.get(c, c)}` {t}" for c, t in types.items() if t is not None)


@dataclass(frozen=True)
class MixedRun:
    config: Config
    drift: dict[str, Any]
    profiles: dict[str, Any]
    baselines: dict[str, Any]
    runs: list[Any]


@pytest.fixture(scope="module")
def mixed(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> MixedRun:
    """Baseline on version 0; then the table is overwritten with `amount` retyped, `channel`
    dropped and `n` renamed (overwriteSchema); then one window is computed."""
    root = tmp_path_factory.mktemp("mixed")
    rows = [_mixed_row(d, i) for d in range(3) for i in range(PER_DAY)]
    before = {"ts": "timestamp", **{c: t for c, (t, _) in MIXED.items()}, **UNSUPPORTED}
    after = {"ts": "timestamp", **{c: t for c, (_, t) in MIXED.items()}, **UNSUPPORTED,
             "n": "bigint"}
    table = write(spark, root / "raw" / "mixed", [tuple(r[c] for c in before) for r in rows],
                  _schema(before, {}))
    config = make_config(root, table, bins=10)
    build_baseline(spark, config, "m")
    kept = [c for c, t in after.items() if t is not None]
    changed = [tuple(str(r[c]) if c == "amount" else r[c] for c in kept) for r in rows
               if r["ts"] >= WINDOW.start]
    write(spark, table, changed, _schema(after, {"n": "n_count"}), overwrite_schema=True)
    compute_windows(spark, config, "m", [WINDOW])
    return MixedRun(config, drift_by_column(spark, config), profiles_by_column(spark, config),
                    baseline_rows(spark, config), rows_of(spark, config, RUNS))


def test_changed_table_still_runs_with_one_row_per_baseline_column(mixed: MixedRun) -> None:
    # and one for n's new name, reported as new since the baseline
    assert set(mixed.drift) == {*MIXED, "n_count"}
    assert mixed.drift["n_count"]["status"] == "error"
    assert sorted((r["operation"], r["status"]) for r in mixed.runs) == [
        ("baseline", "succeeded"), ("run", "succeeded")]
    assert set(mixed.profiles) == {c for c, (old, new) in MIXED.items() if old == new}


@pytest.mark.parametrize("column", ["channel", "n"])
def test_dropped_or_renamed_column_is_a_recorded_error(mixed: MixedRun, column: str) -> None:
    row = mixed.drift[column]
    assert row["status"] == "error"
    assert "not found" in row["message"] and "dropped or renamed" in row["message"]
    assert "\n" not in row["message"]
    assert row["kl_divergence"] is None and row["current_count"] is None
    assert row["table_name"] == _table(mixed.config)
    assert (row["window_start"], row["window_end"]) == (WINDOW.start, WINDOW.end)


def test_retyped_column_is_a_recorded_error_naming_the_types(mixed: MixedRun) -> None:
    row = mixed.drift["amount"]
    assert row["status"] == "error"
    assert "double" in row["message"] and "string" in row["message"]
    assert "\n" not in row["message"]
    assert row["kl_divergence"] is None


def test_unchanged_column_still_computed(mixed: MixedRun) -> None:
    row = mixed.drift["score"]
    assert_computed(row)
    assert row["status"] == "ok"  # the same distribution every day
    assert row["current_count"] == PER_DAY
    assert mixed.profiles["score"]["count"] == PER_DAY


@pytest.mark.parametrize("column", ["maybe", "tag"])
def test_all_null_column_in_window_is_computed(mixed: MixedRun, column: str) -> None:
    row = mixed.drift[column]
    assert_computed(row)
    assert row["status"] == "drift"
    assert row["current_null_fraction"] == 1.0
    assert row["baseline_null_fraction"] == 0.0
    assert row["current_count"] == PER_DAY
    profile = mixed.profiles[column]
    assert profile["bin_labels"][-1] == NULL_LABEL
    assert profile["counts"][-1] == PER_DAY
    assert sum(profile["counts"]) == PER_DAY
    assert profile["null_count"] == PER_DAY


@pytest.mark.parametrize("column", ["late", "late_tag"])
def test_all_null_column_in_baseline_is_still_binned(mixed: MixedRun, column: str) -> None:
    base = mixed.baselines[column]
    assert base["null_count"] == base["count"] == 2 * PER_DAY
    assert base["skipped_reason"] is None
    row = mixed.drift[column]
    assert_computed(row)
    assert row["status"] == "drift"
    assert row["current_null_fraction"] == 0.0
    profile = mixed.profiles[column]
    assert profile["counts"][-1] == 0
    assert sum(profile["counts"]) == PER_DAY
    if column == "late_tag":
        # the baseline saw no value: every tag is new
        assert profile["bin_labels"] == [OTHER_LABEL, UNSEEN_LABEL, NULL_LABEL]
        assert profile["counts"] == [0, PER_DAY, 0]


def test_baseline_edges_ignore_nan_and_infinities(mixed: MixedRun) -> None:
    base = mixed.baselines["x"]
    assert base["edges"], "no edges learned"
    assert all(math.isfinite(e) for e in base["edges"])
    assert min(base["edges"]) >= 10.0 and max(base["edges"]) < 20.0
    counts = base["counts"]
    assert counts[-1] == 2  # one NaN per baseline day, in the null bin
    assert counts[0] >= 2 and counts[-2] >= 2  # -inf in the first, +inf in the last interval
    assert base["null_count"] == 2


def test_nan_and_infinities_land_in_their_bins(mixed: MixedRun) -> None:
    edges = mixed.baselines["x"]["edges"]
    profile = mixed.profiles["x"]
    expected = np.zeros(len(edges) + 2, dtype=np.int64)
    expected[0] += 4  # -inf: the first, open interval
    expected[-2] += 2  # +inf: the last, open interval
    expected[-1] += 4  # 3 NaN + 1 null: the null bin
    expected[np.searchsorted(edges, 15.0, side="right")] += 90
    assert profile["counts"] == expected.tolist()
    assert profile["bin_labels"][0].startswith("(-inf")
    assert profile["bin_labels"][-2].endswith("+inf)")
    assert profile["bin_labels"][-1] == NULL_LABEL
    assert profile["null_count"] == 4
    row = mixed.drift["x"]
    assert_computed(row)
    assert row["current_null_fraction"] == pytest.approx(0.04)
    assert row["current_count"] == PER_DAY


def test_unsupported_types_are_skipped_with_reason(mixed: MixedRun) -> None:
    assert set(mixed.baselines) == set(MIXED) | set(UNSUPPORTED)
    for column, type_name in UNSUPPORTED.items():
        row = mixed.baselines[column]
        assert row["skipped_reason"] is not None, column
        assert "not supported" in row["skipped_reason"]
        assert type_name in row["skipped_reason"], (type_name, row["skipped_reason"])
        assert row["column_kind"] is None and row["counts"] is None
        assert row["source_type"] == type_name
    for column in MIXED:
        assert mixed.baselines[column]["skipped_reason"] is None


def test_unsupported_types_do_not_stop_the_others(mixed: MixedRun) -> None:
    assert not set(UNSUPPORTED) & set(mixed.drift)
    assert not set(UNSUPPORTED) & set(mixed.profiles)
    computed = {c for c, row in mixed.drift.items() if row["status"] in ("ok", "drift")}
    assert computed == {c for c, (old, new) in MIXED.items() if old == new}


# --- high cardinality -------------------------------------------------------------------


UNIQUE, HOT, TOP_K = 200_000, 50, 50  # UNIQUE: more distinct values than SEEN_LIMIT


@dataclass(frozen=True)
class CardinalityRun:
    drift: Any
    profile: Any
    baseline: Any


@pytest.fixture(scope="module")
def cardinality_run(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> CardinalityRun:
    from pyspark.sql import functions as F

    root = tmp_path_factory.mktemp("cardinality")
    day0 = int((DAY0 - datetime(1970, 1, 1)).total_seconds())

    def at(day: int, seconds: Any) -> Any:
        return F.timestamp_seconds(F.lit(day0 + day * 86_400) + seconds).alias("ts")

    unique = spark.range(UNIQUE).select(at(0, F.col("id") % 172_800),
                                        F.concat(F.lit("u"), F.col("id")).alias("s"))
    # h0 .. h49 with distinct frequencies (200 + i) so the top-K and its order are unambiguous
    hot = (spark.range(HOT).select(F.col("id").alias("h"))
           .crossJoin(spark.range(300).select(F.col("id").alias("r")))
           .where(F.col("r") < 200 + F.col("h"))
           .select(at(0, F.col("r") * 600), F.concat(F.lit("h"), F.col("h")).alias("s")))
    # the window: 40 top-K values, 40 unseen, 40 seen but outside the top-K, 40 nulls
    kind = F.col("id") % 4
    value = (F.when(kind == 0, F.concat(F.lit("h"), F.col("id") % HOT))
             .when(kind == 1, F.concat(F.lit("new"), F.col("id")))
             .when(kind == 2, F.concat(F.lit("u"), F.col("id"))))
    window = spark.range(160).select(at(2, F.col("id") * 60), value.alias("s"))
    table = str(root / "raw" / "strings")
    unique.unionByName(hot).unionByName(window).write.format("delta").save(table)
    config = make_config(root, table, top_k=TOP_K)
    build_baseline(spark, config, "m")
    compute_windows(spark, config, "m", [WINDOW])
    return CardinalityRun(drift_by_column(spark, config)["s"],
                          profiles_by_column(spark, config)["s"],
                          baseline_rows(spark, config)["s"])


def test_past_the_seen_limit_a_column_keeps_top_k_plus_other_and_null(
        cardinality_run: CardinalityRun) -> None:
    base = cardinality_run.baseline
    assert base["column_kind"] == "categorical"
    assert base["categories"] == [f"h{i}" for i in reversed(range(HOT))]  # most frequent first
    assert base["bin_labels"] == [*base["categories"], OTHER_LABEL, NULL_LABEL]
    assert base["counts"][TOP_K] == UNIQUE  # every one-off value in <other>
    assert base["counts"][:TOP_K] == [200 + i for i in reversed(range(HOT))]
    assert base["count"] == UNIQUE + sum(200 + i for i in range(HOT))


def test_past_the_seen_limit_unseen_values_land_in_other(cardinality_run: CardinalityRun,
                                                          ) -> None:
    profile = cardinality_run.profile
    assert profile["bin_labels"] == cardinality_run.baseline["bin_labels"]
    assert len(profile["counts"]) == TOP_K + 2
    assert profile["counts"][TOP_K] == 80  # unseen + seen-but-rare
    assert profile["counts"][TOP_K + 1] == 40
    assert sum(profile["counts"][:TOP_K]) == 40
    row = cardinality_run.drift
    assert_computed(row)
    assert row["current_count"] == 160
    assert row["current_null_fraction"] == 0.25


def test_a_long_tail_meets_new_values_every_day_but_a_new_category_is_drift(
        spark: Any, tmp_path: Path) -> None:
    """3,000 values with shares ~ 1/rank: every day brings values the baseline never saw (its
    leave-one-out <unseen> share expects them); a category that takes 5% of a day is drift."""
    rng = np.random.default_rng(16)
    shares = 1 / np.arange(1, 3001)
    shares /= shares.sum()
    rows_per_day = 10_000

    def day(d: int, new: float = 0.0) -> list[tuple[Any, ...]]:
        values = [f"v{i}" for i in rng.choice(3000, rows_per_day, p=shares)]
        values = [("brand-new" if rng.random() < new else v) for v in values]
        return [(DAY0 + timedelta(days=d, seconds=8 * i), v) for i, v in enumerate(values)]

    rows = day(0) + day(1) + day(2) + day(3, new=0.05)
    table = write(spark, tmp_path / "raw" / "tail", rows, "ts timestamp, s string")
    config = make_config(tmp_path, table, top_k=20)
    build_baseline(spark, config, "m")
    same, changed = WINDOW, Window(WINDOW.end, WINDOW.end + timedelta(days=1))
    compute_windows(spark, config, "m", [same, changed])
    quiet, loud = drift_by_column(spark, config, same)["s"], drift_by_column(
        spark, config, changed)["s"]
    assert baseline_rows(spark, config)["s"]["bin_labels"][-2] == UNSEEN_LABEL
    assert 0.005 < quiet["baseline_unseen_fraction"] < 0.1  # values one baseline row holds
    assert quiet["current_unseen_fraction"] > 0.005  # new values, as expected
    assert quiet["status"] == "ok", quiet["reason"]
    assert loud["status"] == "drift"
    assert "unseen_share" in loud["fired_rules"]
    assert "values the baseline never saw" in loud["reason"]
    assert loud["current_unseen_fraction"] > quiet["current_unseen_fraction"] + 0.04


# --- awkward column names ---------------------------------------------------------------


WEIRD = ("amount usd", "a.b", "we`ird", "o'clock")
WEIRD_TS = "event time"


@pytest.fixture(scope="module")
def weird_table(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Names with spaces need Delta column mapping; dots, backticks and quotes do not."""
    from delta.tables import DeltaTable
    from pyspark.sql import types as T

    schema = T.StructType([
        T.StructField(WEIRD_TS, T.TimestampType()),
        T.StructField("amount usd", T.DoubleType()),
        T.StructField("a.b", T.StringType()),
        T.StructField("we`ird", T.LongType()),
        T.StructField("o'clock", T.DoubleType()),
    ])
    rows = [(ts, amount, channel, n, n * 1.5) for ts, amount, channel, n in standard_rows()]
    path = str(tmp_path_factory.mktemp("weird") / "weird table")
    (DeltaTable.create(spark).location(path).addColumns(schema)
     .property("delta.columnMapping.mode", "name")
     .property("delta.minReaderVersion", "2").property("delta.minWriterVersion", "5")
     .execute())
    spark.createDataFrame(rows, schema).write.format("delta").mode("append").save(path)
    return path


def test_awkward_column_names_work_end_to_end(spark: Any, tmp_path: Path,
                                              weird_table: str) -> None:
    config = make_config(tmp_path, weird_table, timestamp_column=WEIRD_TS,
                         categorical_columns=["we`ird"],
                         column_thresholds={"amount usd": {"psi": 0.5}})
    build_baseline(spark, config, "m")
    compute_windows(spark, config, "m", [WINDOW])
    base = baseline_rows(spark, config)
    assert set(base) == set(WEIRD)
    assert base["we`ird"]["column_kind"] == "categorical"
    assert base["a.b"]["categories"] == ["web", "app", "store"]  # 34, 33, 33: ties by value
    assert base["amount usd"]["column_kind"] == "numeric"
    drift = drift_by_column(spark, config)
    assert set(drift) == set(WEIRD)
    for column, row in drift.items():
        assert_computed(row)
        assert row["status"] == "ok", column
        assert row["current_count"] == PER_DAY
    assert drift["amount usd"]["threshold"] == 0.5
    assert drift["a.b"]["threshold"] == 0.1
    assert set(profiles_by_column(spark, config)) == set(WEIRD)
    assert sorted(r["status"] for r in rows_of(spark, config, RUNS)) == ["succeeded"] * 2


def test_awkward_missing_column_is_named_exactly(spark: Any, failures: Path,
                                                 weird_table: str) -> None:
    config = make_config(failures, weird_table, name="weird_missing",
                         timestamp_column=WEIRD_TS, columns=["amount usd", "a.b.c"])
    fails_cleanly(spark, config, "baseline", do_baseline(spark, config), "a.b.c", "not found")


# --- the CLI ----------------------------------------------------------------------------


def _cli_errors(capsys: pytest.CaptureFixture[str], argv: list[str]) -> list[str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.splitlines()
    assert lines[0].startswith("kldrift: error: "), captured.err
    assert captured.out == ""
    return lines


def _cli_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    lines = _cli_errors(capsys, argv)
    assert len(lines) == 1, lines
    return lines[0]


MALFORMED_YAML = {
    "syntax": "monitors:\n  - name: m\n    table: [unclosed\n",
    "bad_window": "monitors:\n  - name: m\n    table: ./t\n    timestamp_column: ts\n"
                  "    window: 1 fortnight\n    baseline: {version: 1}\n",
    "not_a_mapping": "- just\n- a list\n",
}


@pytest.mark.parametrize("case", sorted(MALFORMED_YAML))
@pytest.mark.parametrize("command", ["baseline", "run", "backfill"])
def test_cli_malformed_config(capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str,
                              command: str) -> None:
    path = tmp_path / "monitors.yaml"
    path.write_text(MALFORMED_YAML[case])
    argv = [command, "--config", str(path), "--monitor", "m"]
    if command != "baseline":
        argv += ["--start", "2026-01-03", "--end", "2026-01-04"]
    line = _cli_error(capsys, argv)
    assert str(path) in line
    assert not (tmp_path / "lakehouse").exists()


@pytest.mark.parametrize("command", ["baseline", "run"])
def test_cli_config_typo_gives_every_problem(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                             command: str) -> None:
    path = tmp_path / "monitors.yaml"
    path.write_text("monitors:\n  - name: m\n    table: ./t\n    timestamp_colum: ts\n"
                    "    baseline: {version: 1}\n")
    argv = [command, "--config", str(path), "--monitor", "m"]
    if command != "baseline":
        argv += ["--start", "2026-01-03", "--end", "2026-01-04"]
    head, *problems = _cli_errors(capsys, argv)
    assert head == f"kldrift: error: {path}: invalid config, 2 problems:"
    assert {line.strip() for line in problems} == {
        "monitor 'm': monitors.0.timestamp_colum: unknown key, did you mean `timestamp_column`? "
        "(line 4)",
        "monitor 'm': monitors.0.timestamp_column: Field required (line 2)",
    }
    assert not (tmp_path / "lakehouse").exists()


def test_cli_baseline_date_as_number(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "monitors.yaml"
    path.write_text("monitors:\n  - name: m\n    table: ./t\n    timestamp_column: ts\n"
                    "    baseline: {start: 20260101, end: 20260131}\n")
    head, *problems = _cli_errors(capsys, ["baseline", "--config", str(path), "--monitor", "m"])
    assert head.endswith("invalid config, 2 problems:")
    assert [line.split(": ")[1] for line in problems] == ["monitors.0.baseline.start",
                                                          "monitors.0.baseline.end"]


def test_cli_missing_config_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    line = _cli_error(capsys, ["baseline", "--config", str(path), "--monitor", "m"])
    assert str(path) in line


def test_cli_unknown_monitor(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "monitors.yaml"
    path.write_text("monitors:\n  - name: cards\n    table: ./t\n    timestamp_column: ts\n"
                    "    baseline: {version: 0}\n")
    for command in (["baseline"], ["run", "--start", "2026-01-03", "--end", "2026-01-04"]):
        line = _cli_error(capsys, [command[0], "--config", str(path), "--monitor", "nope",
                                   *command[1:]])
        assert "monitor 'nope'" in line and "cards" in line
    assert not (tmp_path / "lakehouse").exists()  # failed before anything was created
