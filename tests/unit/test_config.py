"""Config validation (parse_config / load_config) and window arithmetic; no Spark needed."""

from __future__ import annotations

import copy
import itertools
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from kl_udfs.core import contract
from kl_udfs.core.config import load_config, parse_config
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.stats import DEFAULT_PSEUDO_COUNT
from kl_udfs.core.windows import (
    Window,
    align_down,
    parse_cadence,
    parse_duration,
    parse_instant,
    split,
)


def _monitor(**overrides: Any) -> dict[str, Any]:
    monitor: dict[str, Any] = {
        "name": "cards",
        "table": "./raw/cards",
        "timestamp_column": "ts",
        "baseline": {"start": "2026-01-01", "end": "2026-01-31"},
    }
    monitor.update(overrides)
    return monitor


def _config(*monitors: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"monitors": list(monitors) or [_monitor()], **top}


def _error(data: Any, base: Path = Path("/cfg")) -> KlDriftError:
    with pytest.raises(KlDriftError) as caught:
        parse_config(data, base)
    return caught.value


def _assert_one_line(error: KlDriftError) -> str:
    text = str(error)
    assert text
    assert "\n" not in text and "\r" not in text, text
    return text


# --- valid configs ----------------------------------------------------------------------


def test_valid_config_fills_defaults(tmp_path: Path) -> None:
    config = parse_config(_config(), tmp_path)
    monitor = config.monitor("cards")
    assert monitor.window == "1 day"
    assert monitor.window_length == timedelta(days=1)
    assert monitor.bins == 20
    assert monitor.top_k == 50
    assert monitor.smoothing == DEFAULT_PSEUDO_COUNT
    assert monitor.columns is None
    assert monitor.categorical_columns == []
    assert monitor.exclude_columns == []
    for rule in contract.RULES:  # every rule of the contract is a threshold key
        assert getattr(monitor.thresholds, rule.name) == rule.default_threshold
    assert monitor.thresholds.fdr == contract.DEFAULT_FDR
    assert monitor.thresholds.min_rows == contract.DEFAULT_MIN_ROWS
    assert {name for name, (_, source) in monitor.policy().thresholds.items()
            if source != "default"} == set()
    assert monitor.baseline.kind == "range"
    assert monitor.baseline.start == datetime(2026, 1, 1)
    assert monitor.baseline.end == datetime(2026, 1, 31)
    assert config.monitoring.database == "monitoring"
    assert config.spark.master is None
    assert config.spark.conf == {}


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    data = _config(_monitor(), monitoring={"path": "./mon"})
    config = parse_config(data, tmp_path)
    assert config.monitoring.path == str((tmp_path / "mon").resolve())
    assert config.monitor("cards").table == str((tmp_path / "raw" / "cards").resolve())


def test_default_monitoring_path_resolves_against_the_config_folder(tmp_path: Path) -> None:
    config = parse_config(_config(), tmp_path)
    assert config.monitoring.path == str((tmp_path / "lakehouse" / "monitoring").resolve())


def test_absolute_paths_uris_and_catalog_names_are_left_alone(tmp_path: Path) -> None:
    data = _config(
        _monitor(name="catalog", table="sales.transactions"),
        _monitor(name="absolute", table="/data/lake/cards"),
        _monitor(name="uri", table="s3a://bucket/lake/cards"),
        monitoring={"path": "s3a://bucket/monitoring"},
    )
    config = parse_config(data, tmp_path)
    assert config.monitor("catalog").table == "sales.transactions"
    assert not config.monitor("catalog").is_path
    assert config.monitor("absolute").table == "/data/lake/cards"
    assert config.monitor("uri").table == "s3a://bucket/lake/cards"
    assert config.monitoring.path == "s3a://bucket/monitoring"


def test_object_storage_only_when_the_config_names_it(tmp_path: Path) -> None:
    assert parse_config(_config(), tmp_path).object_storage() is None  # local paths: no s3a
    on_s3 = parse_config(_config(_monitor(table="s3://bucket/cards")), tmp_path)
    assert on_s3.object_storage() is not None and on_s3.delta_rs_options() == {
        "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "true"}  # AWS itself
    local_server = parse_config(_config(storage={"endpoint": "http://127.0.0.1:9000",
                                                 "region": "eu-west-1"}), tmp_path)
    assert local_server.delta_rs_options() == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "eu-west-1", "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "false"}
    storage = local_server.object_storage()
    assert storage is not None and storage.spark_settings()[
        "spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert "storage.endpoint" in str(_error(_config(storage={"endpoint": "127.0.0.1:9000"})))


def test_column_threshold_overrides(tmp_path: Path) -> None:
    monitor = _monitor(
        thresholds={"kl": 0.2, "psi": 0.15, "p_value": 0.05},
        column_thresholds={"amount": {"kl": 0.05}, "channel": {"psi": None},
                           "amount usd": {"kl": 0.3, "min_rows": 5}},
    )
    m = parse_config(_config(monitor), tmp_path).monitor("cards")
    policy = m.policy()
    assert policy.fdr == 0.05  # `p_value` is read as the FDR level
    assert policy.threshold("kl", "amount") == (0.05, "column")
    assert policy.threshold("psi", "amount") == (0.15, "monitor")  # falls back to the monitor's
    assert policy.threshold("psi", "channel") == (None, "column")  # switched off
    assert policy.threshold("kl", "amount usd") == (0.3, "column")
    assert policy.threshold("null_share", "unlisted") == (0.02, "default")
    assert policy.column_min_rows == {"amount usd": 5}
    assert m.threshold("kl", "unlisted") == 0.2


def test_baseline_kinds(tmp_path: Path) -> None:
    data = _config(
        _monitor(name="by_version", baseline={"version": 3}),
        _monitor(name="rolling", baseline={"previous_windows": 7}),
        _monitor(name="rolling_with_bins",
                 baseline={"previous_windows": 7, "start": "2026-01-01", "end": "2026-01-08"}),
    )
    config = parse_config(data, tmp_path)
    assert config.monitor("by_version").baseline.kind == "version"
    assert config.monitor("by_version").baseline.version == 3
    assert config.monitor("rolling").baseline.kind == "rolling"
    assert config.monitor("rolling_with_bins").baseline.start == datetime(2026, 1, 1)


def test_unknown_monitor_lookup_names_it_and_lists_known(tmp_path: Path) -> None:
    config = parse_config(_config(), tmp_path)
    with pytest.raises(KlDriftError) as caught:
        config.monitor("nope")
    text = _assert_one_line(caught.value)
    assert "'nope'" in text and "cards" in text


def test_load_config_reads_yaml_and_resolves_against_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    path = folder / "monitors.yaml"
    path.write_text(
        "monitoring:\n"
        "  path: ./monitoring\n"
        "monitors:\n"
        "  - name: cards\n"
        "    table: ../raw/cards\n"
        "    timestamp_column: event_time\n"
        "    window: 6 hours\n"
        "    baseline:\n"
        "      start: 2026-01-01T02:00:00+02:00\n"
        "      end: 2026-01-31\n"
        "    column_thresholds:\n"
        "      amount: {kl: 0.05}\n"
    )
    config = load_config(path)
    monitor = config.monitor("cards")
    assert config.monitoring.path == str((folder / "monitoring").resolve())
    assert monitor.table == str((tmp_path / "raw" / "cards").resolve())
    assert monitor.window_length == timedelta(hours=6)
    assert monitor.baseline.start == datetime(2026, 1, 1)  # aware YAML timestamp -> naive UTC
    assert monitor.baseline.end == datetime(2026, 1, 31)  # YAML date -> midnight
    assert monitor.threshold("kl", "amount") == 0.05


# --- malformed configs ------------------------------------------------------------------


def test_missing_monitors() -> None:
    text = _assert_one_line(_error({"monitoring": {"path": "./m"}}))
    assert "monitors" in text


def test_empty_monitor_list() -> None:
    text = _assert_one_line(_error({"monitors": []}))
    assert "monitors" in text


def test_duplicate_monitor_names() -> None:
    text = _assert_one_line(_error(_config(_monitor(), _monitor(), _monitor(name="other"))))
    assert "unique" in text
    assert "cards" in text
    assert "other" not in text


MALFORMED_MONITORS = {
    "baseline version and range": (
        {"baseline": {"version": 2, "start": "2026-01-01", "end": "2026-01-02"}},
        ["baseline", "version"]),
    "baseline version and windows": (
        {"baseline": {"version": 2, "previous_windows": 3}}, ["baseline", "version"]),
    "baseline only start": (
        {"baseline": {"start": "2026-01-01"}}, ["baseline", "start and end"]),
    "baseline only end": ({"baseline": {"end": "2026-01-01"}}, ["baseline", "start and end"]),
    "baseline end before start": (
        {"baseline": {"start": "2026-01-02", "end": "2026-01-01"}}, ["baseline", "after"]),
    "baseline end equals start": (
        {"baseline": {"start": "2026-01-02", "end": "2026-01-02"}}, ["baseline", "after"]),
    "baseline without source": ({"baseline": {}}, ["baseline"]),
    "baseline bad date": (
        {"baseline": {"start": "yesterday", "end": "2026-01-02"}}, ["baseline.start"]),
    "baseline negative version": ({"baseline": {"version": -1}}, ["baseline.version"]),
    "window 1 fortnight": ({"window": "1 fortnight"}, ["window", "1 fortnight"]),
    "window 5 months": ({"window": "5 months"}, ["window", "5 months"]),
    "window abc": ({"window": "abc"}, ["window", "abc"]),
    "window 0 days": ({"window": "0 days"}, ["window", "0 days"]),
    "window negative": ({"window": "-1 day"}, ["window"]),
    "bins 1": ({"bins": 1}, ["bins"]),
    "top_k 0": ({"top_k": 0}, ["top_k"]),
    "smoothing 0": ({"smoothing": 0}, ["smoothing"]),
    "smoothing negative": ({"smoothing": -0.5}, ["smoothing"]),
    "unknown key (typo)": ({"colums": ["a"]}, ["colums: unknown key, did you mean `columns`?"]),
    "threshold typo": ({"thresholds": {"kll": 0.1}}, ["kll: unknown key, did you mean `kl`?"]),
    "p_value 2": ({"thresholds": {"p_value": 2}}, ["thresholds.fdr"]),
    "fdr 0": ({"thresholds": {"fdr": 0}}, ["thresholds.fdr"]),
    "min_rows 0": ({"thresholds": {"min_rows": 0}}, ["thresholds.min_rows"]),
    "correction unknown": ({"thresholds": {"correction": "holm"}}, ["thresholds.correction"]),
    "kl threshold 0": ({"thresholds": {"kl": 0}}, ["thresholds.kl"]),
    "column p_value": (
        {"column_thresholds": {"amount": {"p_value": 0.01}}},
        ["column_thresholds", "amount", "thresholds.fdr"]),
    "bad name": ({"name": "has space"}, ["name"]),
    "empty table": ({"table": ""}, ["table"]),
    "columns not a list": ({"columns": "amount"}, ["columns"]),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_MONITORS))
def test_malformed_monitor_names_monitor(case: str) -> None:
    overrides, fragments = MALFORMED_MONITORS[case]
    monitor = _monitor(**overrides)
    name = monitor["name"]
    error = _error(_config(_monitor(name="first_ok"), monitor))
    text = _assert_one_line(error)
    if name == "cards":  # a valid name: the error must say which monitor is broken
        assert error.monitor == "cards"
        assert text.startswith("monitor 'cards': ")
        assert "first_ok" not in text
    for fragment in fragments:
        assert fragment in text, (fragment, text)


def test_missing_required_monitor_field() -> None:
    monitor = _monitor()
    del monitor["timestamp_column"]
    error = _error(_config(monitor))
    text = _assert_one_line(error)
    assert error.monitor == "cards"
    assert "timestamp_column" in text


def test_unknown_top_level_key() -> None:
    text = _assert_one_line(_error(_config(monitorng={"path": "x"})))
    assert text.endswith("monitorng: unknown key, did you mean `monitoring`?")


def test_bad_monitoring_database_name() -> None:
    text = _assert_one_line(_error(_config(monitoring={"database": "drop table; --"})))
    assert "monitoring.database" in text


def _problem_lines(error: KlDriftError, count: int) -> list[str]:
    """The lines under the first, which says how many problems there are."""
    head, *lines = str(error).splitlines()
    assert head.endswith(f"invalid config, {count} problems:"), head
    assert len(lines) == count, lines
    return [line.strip() for line in lines]


def test_several_problems_are_counted_then_given_one_a_line() -> None:
    error = _error(_config(_monitor(bins=1, smoothing=0, window="abc")))
    lines = _problem_lines(error, 3)
    assert all(line.startswith("monitor 'cards': monitors.0.") for line in lines), lines
    assert {line.split(": ")[1] for line in lines} == {
        "monitors.0.bins", "monitors.0.smoothing", "monitors.0.window"}


def test_a_typo_is_an_unknown_key_with_a_suggestion_beside_the_missing_key() -> None:
    monitor = _monitor()
    monitor["timestamp_colum"] = monitor.pop("timestamp_column")
    lines = _problem_lines(_error(_config(monitor)), 2)
    assert set(lines) == {
        "monitor 'cards': monitors.0.timestamp_colum: unknown key, did you mean "
        "`timestamp_column`?",
        "monitor 'cards': monitors.0.timestamp_column: Field required",
    }


def test_every_broken_monitor_is_reported() -> None:
    other = _monitor(name="other")
    other["tabel"] = other.pop("table")
    data = _config(_monitor(bins=1), _monitor(name="fine"), other)
    lines = _problem_lines(_error(data), 3)
    assert lines[0].startswith("monitor 'cards': monitors.0.bins: ")
    assert set(lines[1:]) == {
        "monitor 'other': monitors.2.table: Field required",
        "monitor 'other': monitors.2.tabel: unknown key, did you mean `table`?",
    }
    assert "fine" not in str(_error(data))


NESTED_TYPOS = {
    "baseline": ({"baseline": {"strat": "2026-01-01", "end": "2026-01-31"}},
                 "monitors.1.baseline.strat", "start"),
    "thresholds": ({"thresholds": {"pssi": 0.2}}, "monitors.1.thresholds.pssi", "psi"),
    "learned": ({"thresholds": {"learned": {"warmpu": 3}}},
                "monitors.1.thresholds.learned.warmpu", "warmup"),
    "column_thresholds": ({"column_thresholds": {"amount": {"null_shar": 0.1}}},
                          "monitors.1.column_thresholds.amount.null_shar", "null_share"),
    "quality range": ({"quality": {"ranges": {"amount": {"mn": 0}}}},
                      "monitors.1.quality.ranges.amount.mn", "min"),
}


@pytest.mark.parametrize("case", sorted(NESTED_TYPOS))
def test_nested_unknown_key_names_its_full_path(case: str) -> None:
    overrides, path, meant = NESTED_TYPOS[case]
    text = _assert_one_line(_error(_config(_monitor(name="first_ok"), _monitor(**overrides))))
    assert text.startswith("monitor 'cards': ")
    assert text.endswith(f": invalid config: {path}: unknown key, did you mean `{meant}`?")


def test_unknown_key_without_a_close_match_lists_the_valid_keys_of_its_level() -> None:
    text = _assert_one_line(_error(_config(_monitor(thresholds={"zzz": 1}))))
    valid = text.split("monitors.0.thresholds.zzz: unknown key (valid here: ")[1].rstrip(")")
    expected = {rule.name for rule in contract.RULES} | {"fdr", "correction", "min_rows",
                                                         "learned"}
    assert set(valid.split(", ")) == expected


def test_a_union_s_alternatives_are_one_problem() -> None:
    error = _error(_config(_monitor(quality={"value_sets": {"channel": [{"a": 1}]}})))
    text = _assert_one_line(error)
    assert "monitors.0.quality.value_sets.channel.0: Input should be a valid string, " in text
    assert text.endswith(" or boolean")


@pytest.mark.parametrize("data", [None, [], ["monitors"], "monitors: []", 3])
def test_non_mapping_top_level(data: Any) -> None:
    text = _assert_one_line(_error(data))
    assert "mapping" in text


def test_parse_config_does_not_mutate_input(tmp_path: Path) -> None:
    data = _config(monitoring={"path": "./m"})
    before = copy.deepcopy(data)
    parse_config(data, tmp_path)
    assert data == before


def test_yaml_syntax_error_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("monitors:\n  - name: cards\n    table: [unclosed\n    baseline: {start: x\n")
    with pytest.raises(KlDriftError) as caught:
        load_config(path)
    text = _assert_one_line(caught.value)
    assert str(path) in text
    assert "YAML" in text


def test_yaml_bad_indentation_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "tabs.yaml"
    path.write_text("monitors:\n\t- name: cards\n")
    with pytest.raises(KlDriftError) as caught:
        load_config(path)
    assert "YAML" in _assert_one_line(caught.value)


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "monitors.yaml"
    with pytest.raises(KlDriftError) as caught:
        load_config(path)
    text = _assert_one_line(caught.value)
    assert str(path) in text
    assert "No such file" in text


def test_config_path_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(KlDriftError) as caught:
        load_config(tmp_path)
    assert str(tmp_path) in _assert_one_line(caught.value)


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n", "42\n"])
def test_yaml_non_mapping_top_level(tmp_path: Path, text: str) -> None:
    path = tmp_path / "monitors.yaml"
    path.write_text(text)
    with pytest.raises(KlDriftError) as caught:
        load_config(path)
    message = _assert_one_line(caught.value)
    assert str(path) in message
    assert "mapping" in message


def test_yaml_invalid_monitor_names_file_and_monitor(tmp_path: Path) -> None:
    path = tmp_path / "monitors.yaml"
    path.write_text(
        "monitors:\n"
        "  - name: cards\n"
        "    table: ./t\n"
        "    timestamp_column: ts\n"
        "    window: 1 fortnight\n"
        "    baseline: {version: 1}\n"
    )
    with pytest.raises(KlDriftError) as caught:
        load_config(path)
    text = _assert_one_line(caught.value)
    assert caught.value.monitor == "cards"
    assert str(path) in text and "1 fortnight" in text


# --- windows ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("1 day", timedelta(days=1)),
    ("1 days", timedelta(days=1)),
    ("2 days", timedelta(days=2)),
    ("6 hours", timedelta(hours=6)),
    ("1 hour", timedelta(hours=1)),
    ("15 minutes", timedelta(minutes=15)),
    ("30 seconds", timedelta(seconds=30)),
    ("1 week", timedelta(weeks=1)),
    ("  3   Hours ", timedelta(hours=3)),
    ("1day", timedelta(days=1)),
])
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["1 month", "1 year", "abc", "0 days", "0 hours", "day",
                                  "1.5 days", "-1 day", "", "1 d", "1 dayz"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_split_covers_the_range_and_last_window_is_shorter() -> None:
    start, end = datetime(2026, 1, 1), datetime(2026, 1, 3, 12)
    windows = split(start, end, timedelta(days=1))
    assert windows == [
        Window(datetime(2026, 1, 1), datetime(2026, 1, 2)),
        Window(datetime(2026, 1, 2), datetime(2026, 1, 3)),
        Window(datetime(2026, 1, 3), datetime(2026, 1, 3, 12)),
    ]
    assert windows[-1].end - windows[-1].start == timedelta(hours=12)


def test_split_exact_multiple_and_single_window() -> None:
    hours = split(datetime(2026, 1, 1), datetime(2026, 1, 1, 6), timedelta(hours=1))
    assert len(hours) == 6
    assert all(w.end - w.start == timedelta(hours=1) for w in hours)
    assert all(a.end == b.start for a, b in itertools.pairwise(hours))
    one = split(datetime(2026, 1, 1), datetime(2026, 1, 1, 1), timedelta(days=1))
    assert one == [Window(datetime(2026, 1, 1), datetime(2026, 1, 1, 1))]


@pytest.mark.parametrize("end", [datetime(2026, 1, 1), datetime(2025, 12, 31)])
def test_split_rejects_empty_or_reversed_range(end: datetime) -> None:
    with pytest.raises(ValueError):
        split(datetime(2026, 1, 1), end, timedelta(days=1))


def test_window_rejects_end_not_after_start() -> None:
    with pytest.raises(ValueError):
        Window(datetime(2026, 1, 2), datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        Window(datetime(2026, 1, 1), datetime(2026, 1, 1))


@pytest.mark.parametrize(("instant", "length", "expected"), [
    (datetime(2026, 1, 1, 13, 45), timedelta(days=1), datetime(2026, 1, 1)),
    (datetime(2026, 1, 1), timedelta(days=1), datetime(2026, 1, 1)),
    (datetime(2026, 1, 1, 13, 45, 12), timedelta(hours=1), datetime(2026, 1, 1, 13)),
    (datetime(2026, 1, 1, 13, 45), timedelta(hours=6), datetime(2026, 1, 1, 12)),
    (datetime(2026, 1, 1, 13, 45), timedelta(minutes=15), datetime(2026, 1, 1, 13, 45)),
    # weeks start on Monday (2026-01-05 is one), as their cron's runs do
    (datetime(2026, 1, 5), timedelta(weeks=1), datetime(2026, 1, 5)),
    (datetime(2026, 1, 4, 23, 59), timedelta(weeks=1), datetime(2025, 12, 29)),
    (datetime(1970, 1, 1), timedelta(weeks=1), datetime(1969, 12, 29)),
    (datetime(1969, 12, 31, 23), timedelta(days=1), datetime(1969, 12, 31)),
])
def test_align_down(instant: datetime, length: timedelta, expected: datetime) -> None:
    assert align_down(instant, length) == expected
    assert align_down(expected, length) == expected
    assert expected <= instant < expected + length


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-01-01", datetime(2026, 1, 1)),
    ("2026-01-01T10:30:00", datetime(2026, 1, 1, 10, 30)),
    ("2026-01-01 10:30:00", datetime(2026, 1, 1, 10, 30)),
    ("2026-01-01T10:30:00Z", datetime(2026, 1, 1, 10, 30)),
    ("2026-01-01T10:30:00+02:00", datetime(2026, 1, 1, 8, 30)),
    ("2026-01-01T01:00:00+05:30", datetime(2025, 12, 31, 19, 30)),
    ("2025-12-31T22:00:00-03:00", datetime(2026, 1, 1, 1, 0)),
    (" 2026-01-01T00:00:00Z ", datetime(2026, 1, 1)),
    (date(2026, 2, 3), datetime(2026, 2, 3)),
    (datetime(2026, 1, 1, 5, tzinfo=timezone(timedelta(hours=-5))), datetime(2026, 1, 1, 10)),
    (datetime(2026, 1, 1, 5), datetime(2026, 1, 1, 5)),
])
def test_parse_instant(value: Any, expected: datetime) -> None:
    parsed = parse_instant(value)
    assert parsed == expected
    assert parsed.tzinfo is None


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", ""])
def test_parse_instant_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        parse_instant(value)


# --- product bugs: malformed input that escapes as a raw exception ----------------------


@pytest.mark.parametrize("start", [20260101, True, [2026, 1, 1]])
def test_baseline_date_of_wrong_type(start: Any) -> None:
    error = _error(_config(_monitor(baseline={"start": start, "end": "2026-01-31"})))
    assert error.monitor == "cards"
    assert "baseline.start" in _assert_one_line(error)


def test_window_too_long() -> None:
    error = _error(_config(_monitor(window="99999999999 days")))
    assert error.monitor == "cards"
    assert "window" in _assert_one_line(error)


def test_config_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "monitors.yaml"
    path.write_bytes(b"\xff\xfe\x00monitors: []\n")
    with pytest.raises(KlDriftError) as caught:
        load_config(path)
    assert str(path) in _assert_one_line(caught.value)


def test_errors_give_the_files_line_and_index_of_the_monitor(tmp_path: Path) -> None:
    """Validating only the second monitor still names it as the file does: monitors.1, and
    the line of the bad key (a missing key: the line of its monitor's entry)."""
    path = tmp_path / "monitors.yaml"
    path.write_text("monitors:\n  - name: fine\n    table: ./t\n    timestamp_column: ts\n"
                    "    baseline: {version: 1}\n  - name: typo\n    table: ./t\n"
                    "    timestamp_colum: ts\n    baseline: {version: 1}\n")
    with pytest.raises(KlDriftError) as caught:
        load_config(path, only="typo")
    assert caught.value.problems == [
        "monitor 'typo': monitors.1.timestamp_column: Field required (line 6)",
        "monitor 'typo': monitors.1.timestamp_colum: unknown key, did you mean "
        "`timestamp_column`? (line 8)"]
    assert load_config(path, only="fine").monitors[0].name == "fine"



# --- calendar windows ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "months"), [
    ("1 month", 1), ("2 months", 2), ("1 quarter", 3), ("2 quarters", 6), ("1 year", 12)])
def test_calendar_windows_parse_to_months(text: str, months: int) -> None:
    cadence = parse_cadence(text)
    assert cadence.is_calendar and cadence.months == months and cadence.fixed is None


@pytest.mark.parametrize("text", ["5 months", "0 months", "7 months", "1 fortnight"])
def test_calendar_windows_that_do_not_divide_a_year_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cadence(text)


def test_monthly_windows_are_the_calendar_months() -> None:
    """Against the calendar itself: each window is one month, first to first, of the length
    calendar.monthrange gives (28, 29, 30 or 31 days); the last one may be cut short."""
    import calendar

    windows = parse_cadence("1 month").split(datetime(2023, 11, 1), datetime(2024, 12, 15))
    assert len(windows) == 14
    for window in windows[:-1]:
        days = calendar.monthrange(window.start.year, window.start.month)[1]
        assert window.start.day == 1 and window.start.hour == 0
        assert window.end - window.start == timedelta(days=days)
    assert [w.end for w in windows[:-1]] == [w.start for w in windows[1:]]
    assert windows[3].end - windows[3].start == timedelta(days=29)  # February 2024
    assert windows[-1] == Window(datetime(2024, 12, 1), datetime(2024, 12, 15))


def test_quarters_start_in_january_april_july_october() -> None:
    quarter = parse_cadence("1 quarter")
    assert quarter.align_down(datetime(2026, 5, 17, 13)) == datetime(2026, 4, 1)
    assert quarter.ceil(datetime(2026, 1, 31)) == datetime(2026, 4, 1)
    assert quarter.ceil(datetime(2026, 4, 1)) == datetime(2026, 4, 1)
    assert quarter.shift(datetime(2026, 1, 1), -3) == datetime(2025, 4, 1)
    assert [w.start.month for w in quarter.split(datetime(2026, 1, 1), datetime(2027, 1, 1))] \
        == [1, 4, 7, 10]
    assert quarter.cron() == "0 0 1 */3 *" and parse_cadence("1 month").cron() == "0 0 1 * *"
    with pytest.raises(ValueError, match="not the start of a 3-month window"):
        quarter.split(datetime(2026, 2, 1), datetime(2026, 6, 1))


@pytest.mark.parametrize("text", ["1 minute", "15 minutes", "1 hour", "6 hours", "12 hours",
                                  "1 day", "1 week"])
def test_fixed_windows_are_the_intervals_between_their_cron_ticks(text: str) -> None:
    from croniter import croniter

    cadence = parse_cadence(text)
    assert cadence.fixed is not None
    for instant in (datetime(2026, 3, 4, 17, 29, 31), datetime(2026, 1, 1),
                    datetime(1999, 12, 31, 23)):
        ticks = croniter(cadence.cron(), instant + timedelta(microseconds=1))
        previous = ticks.get_prev(datetime)
        assert cadence.align_down(instant) == previous
        assert croniter(cadence.cron(), previous).get_next(datetime) == previous + cadence.fixed


def test_fixed_cadences_keep_the_fixed_length_rules() -> None:
    day = parse_cadence("1 day")
    assert day.fixed == timedelta(days=1) and not day.is_calendar
    assert day.split(datetime(2026, 1, 1), datetime(2026, 1, 3, 12)) == split(
        datetime(2026, 1, 1), datetime(2026, 1, 3, 12), timedelta(days=1))
    assert day.shift(datetime(2026, 1, 10), -7) == datetime(2026, 1, 3)
    assert parse_cadence("6 hours").cron() == "0 */6 * * *"
    assert day.nominal_seconds() == 86_400
    assert parse_cadence("1 year").nominal_seconds() == 31_556_952  # the Gregorian mean year
