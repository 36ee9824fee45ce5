"""The `kldrift` command without a JVM: --version, --format json, config errors as printed.

The commands are the README's own lines. Where a command reads Delta tables, the Spark read
is replaced by fixed rows; the reads themselves are covered by the Spark tests.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import tomllib
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import Row

import kl_udfs
from kl_udfs import cli
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.output import format_json, progress_note
from kl_udfs.spark import session as spark_session
from kl_udfs.sql import local as sql_local
from kl_udfs.sql import reads

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()

MONITOR = ("monitors:\n  - name: card_transactions\n    table: ./raw/cards\n"
           "    timestamp_column: event_time\n    baseline: {version: 0}\n")


def readme_command(command: str) -> list[str]:
    """The arguments of `command`, which must be a line of the README (comments aside)."""
    lines = [line for line in README.splitlines() if line.split(" #")[0].strip() == command]
    assert lines, f"the README shows no `{command}`"
    words = shlex.split(command)
    assert Path(words[0]).name == "kldrift", words
    return words[1:]


def run_cli(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_version_is_the_project_version(capsys: pytest.CaptureFixture[str]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    # written once, in the package; the build reads it from there
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "kl_udfs.__version__"}
    with pytest.raises(SystemExit) as exited:
        cli.main(readme_command("kldrift --version"))
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"kldrift {kl_udfs.__version__}\n"


STATUS = "kldrift status   --config monitors.yaml"
VALIDATE = "kldrift validate --config monitors.yaml"
STATUS_JSON = "kldrift status   --config monitors.yaml --format json"
SQL_JSON = ".venv/bin/kldrift sql --ready latest_status --format json"
STATUS_ROWS = [
    ("card_transactions", "amount", datetime(2026, 3, 2), "drift", 0.31, 1.5e-9, 5000,
     "psi 0.31 above 0.1", "amount ≥ 170.99: 5.0% -> 14.0%"),
    ("card_transactions", "hour", datetime(2026, 3, 2), "no_data", None, None, 0, None, None),
    ("server_metrics", "cpu_util", datetime(2026, 3, 9, 8), "ok", math.nan, math.inf, 180,
     None, None),
]


@pytest.fixture
def status_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`monitors.yaml` in the working directory, as the README's commands name it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monitors.yaml").write_text(MONITOR)
    def no_spark(*_: Any) -> None:
        pytest.fail("kldrift status started Spark")

    monkeypatch.setattr(cli, "_spark", no_spark)
    return tmp_path


def test_status_json_has_the_columns_of_the_table(
        capsys: pytest.CaptureFixture[str], status_config: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reads, "status_rows", lambda *_: STATUS_ROWS)
    code, out, err = run_cli(capsys, readme_command(STATUS_JSON))
    assert (code, err) == (0, "")
    objects = json.loads(out)
    _, table, _ = run_cli(capsys, readme_command(STATUS))
    header = table.splitlines()[0].split()
    assert [list(o) for o in objects] == [header] * len(STATUS_ROWS)
    assert objects[0] == dict(zip(header, [
        "card_transactions", "amount", "2026-03-02T00:00:00", "drift", 0.31, 1.5e-9, 5000,
        "psi 0.31 above 0.1", "amount ≥ 170.99: 5.0% -> 14.0%"], strict=True))
    assert objects[1]["psi"] is None and objects[1]["why"] is None
    assert (objects[2]["psi"], objects[2]["q_value"]) == (None, None)  # NaN and inf
    assert objects[2]["window_start"] == "2026-03-09T08:00:00"


def test_status_json_without_results_is_an_empty_array(
        capsys: pytest.CaptureFixture[str], status_config: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reads, "status_rows", lambda *_: [])
    assert run_cli(capsys, readme_command(STATUS_JSON)) == (0, "[]\n", "")
    _, table, _ = run_cli(capsys, readme_command(STATUS))
    assert table.startswith("no drift results yet")


def test_status_reads_the_latest_window_per_column_from_delta(
        capsys: pytest.CaptureFixture[str], status_config: Path) -> None:
    """A real drift_results table (written by delta-rs): per column the latest window, and of
    two rows of one window the one computed last; every monitor of the table, by name."""
    import pyarrow as pa
    from deltalake import write_deltalake

    stamp = pa.timestamp("us", tz="UTC")
    day = [datetime(2026, 3, d) for d in (1, 2, 2, 1)]
    contributors = pa.array([None, None, [{"bin": "web", "baseline_fraction": 0.2,
                                           "current_fraction": 0.5}], None])
    rows = pa.table({
        "monitor": ["card_transactions"] * 3 + ["other"],
        "column_name": ["amount", "amount", "amount", "amount"],
        "window_start": pa.array(day, stamp),
        "computed_at": pa.array([datetime(2026, 3, 5), datetime(2026, 3, 3),
                                 datetime(2026, 3, 4), datetime(2026, 3, 9)], stamp),
        "status": ["drift", "ok", "drift", "ok"], "psi_corrected": [0.5, 0.01, 0.4, 0.0],
        "q_value": [1e-9, 0.5, 1e-6, 1.0], "current_count": [100, 110, 120, 130],
        "reason": [None, None, "psi 0.4 above 0.1", None], "message": [None] * 4,
        "top_contributors": contributors})
    write_deltalake(str(status_config / "lakehouse" / "monitoring" / "drift_results"), rows)
    code, out, err = run_cli(capsys, readme_command(STATUS_JSON))
    assert (code, err) == (0, "")
    assert json.loads(out) == [{
        "monitor": "card_transactions", "column": "amount", "window_start": "2026-03-02T00:00:00",
        "status": "drift", "psi": 0.4, "q_value": 1e-6, "rows": 120,
        "why": "psi 0.4 above 0.1", "top_bin": "web: 20.0% -> 50.0%"}, {
        "monitor": "other", "column": "amount", "window_start": "2026-03-01T00:00:00",
        "status": "ok", "psi": 0.0, "q_value": 1.0, "rows": 130, "why": None, "top_bin": None}]


def test_status_adds_a_line_for_the_latest_windows_volume_problems(
        capsys: pytest.CaptureFixture[str], status_config: Path) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    monitoring = status_config / "lakehouse" / "monitoring"
    days = [datetime(2026, 3, d) for d in (1, 2, 3)]
    write_deltalake(str(monitoring / "drift_results"), pa.Table.from_pylist([
        {"monitor": "card_transactions", "column_name": "amount", "window_start": start,
         "window_end": end, "computed_at": datetime(2026, 3, 4), "status": "ok"}
        for start, end in pairwise(days)]))
    write_deltalake(str(monitoring / "volume_results"), pa.Table.from_pylist([
        {"monitor": "card_transactions", "window_start": start, "window_end": end,
         "status": "drift", "reason": f"{rows} rows, expected 1,000 (900–1,100) from 28 "
                                      "previous windows", "freshness_status": "unchecked",
         "source_committed_at": None, "source_version": None, "max_age_s": None,
         "computed_at": datetime(2026, 3, 4)}
        for (start, end), rows in zip(pairwise(days), (10, 20),
                                      strict=True)]))
    code, out, err = run_cli(capsys, readme_command(STATUS))
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == (
        "volume: card_transactions [2026-03-02 00:00:00, 2026-03-03 00:00:00) row count: 20 "
        "rows, expected 1,000 (900–1,100) from 28 previous windows")
    assert "10 rows" not in out  # an earlier window's problem is not the latest's


def test_sql_json_keeps_structs_and_says_on_stderr_when_rows_were_left_out(
        capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default --config, the demo's
    (tmp_path / "lakehouse").mkdir()
    (tmp_path / "lakehouse" / "monitors.yaml").write_text(MONITOR)
    asked: list[str] = []

    def run_sql(spark: Any, root: str, database: str, text: str,
                limit: int) -> tuple[list[str], list[tuple[Any, ...]], bool]:
        asked.append(text)
        contributors = [Row(bin="online", baseline_fraction=0.2, current_fraction=0.5)]
        return ["column_name", "top_contributors"], [("channel", contributors)], True

    monkeypatch.setattr(sql_local, "run_sql", run_sql)
    monkeypatch.setattr(spark_session, "get_spark", lambda *_, **__: None)
    code, out, err = run_cli(capsys, readme_command(SQL_JSON))
    assert code == 0
    assert "FROM monitoring.drift_results" in asked[0]  # the ready query was rendered
    assert json.loads(out) == [{"column_name": "channel", "top_contributors": [
        {"bin": "online", "baseline_fraction": 0.2, "current_fraction": 0.5}]}]
    assert err == "kldrift: 1 row shown, more left out: raise --limit\n"


def test_format_json_refuses_a_column_name_twice() -> None:
    with pytest.raises(KlDriftError, match=r"returns `x` more than once.*\(AS \.\.\.\)"):
        format_json(["x", "y", "x"], [(1, 2, 3)])


def test_format_json_cells() -> None:
    rows = [(date(2026, 1, 2), Decimal("1.50"), {"a": [1, -math.inf]}, True, "é")]
    text = format_json(["day", "amount", "map", "flag", "name"], rows)
    assert json.loads(text) == [{"day": "2026-01-02", "amount": "1.50", "map": {"a": [1, None]},
                                 "flag": True, "name": "é"}]
    assert "é" in text  # not escaped: the terminal shows it as the table does


def test_readme_config_error_is_what_kldrift_prints(
        capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    shown = re.search(r"```text\n(kldrift: error: monitors\.yaml: invalid config.*?)```",
                      README, re.S)
    assert shown, "the README's example of a config error"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monitors.yaml").write_text(MONITOR.replace("timestamp_column", "timestamp_colum"))
    code, out, err = run_cli(capsys, readme_command(VALIDATE))
    assert (code, out) == (2, "")
    assert err == shown.group(1)


def test_validate_checks_every_monitor_without_spark(
        capsys: pytest.CaptureFixture[str], status_config: Path) -> None:
    """status_config fails the test if Spark is started."""
    second = MONITOR.replace("monitors:\n", "").replace("card_transactions", "payments")
    (status_config / "monitors.yaml").write_text(MONITOR + second)
    assert run_cli(capsys, readme_command(VALIDATE)) == (
        0, "monitors.yaml: valid, 2 monitor(s): card_transactions, payments\n", "")
    broken = second.replace("baseline: {version: 0}", "baseline: {version: -1}")
    (status_config / "monitors.yaml").write_text(MONITOR + broken)
    code, out, err = run_cli(capsys, readme_command(VALIDATE))
    assert (code, out) == (2, "")
    assert err == ("kldrift: error: monitor 'payments': monitors.yaml: invalid config: "
                   "monitors.1.baseline.version: Input should be greater than or equal to 0 "
                   "(line 9)\n")


def test_progress_note_estimates_the_time_left() -> None:
    assert progress_note(3, 12, 30.0) == "[3/12] 25%, 30 s elapsed, about 1 min 30 s left"
    assert progress_note(12, 12, 7384.0) == "[12/12] 100%, 2 h 03 min elapsed, done"
    assert progress_note(1, 4, 1.0, width=8) == "[##......] [1/4] 25%, 1 s elapsed, about 3 s left"


def test_dashboard_without_its_extra_says_which_extra_to_install(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    for name in [m for m in sys.modules if m == "dashboards" or m.startswith("dashboards.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "dash", None)  # as if not installed: importing it fails
    assert cli.main(["dashboard", "--monitoring", "/nowhere"]) == cli.BAD_INPUT_EXIT
    assert capsys.readouterr().err == (
        "kldrift: error: kldrift dashboard needs dash: pip install 'kl-drift[dashboard]'\n")
