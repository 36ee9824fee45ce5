"""Every ready query (kl_udfs/sql/ready/), through `kldrift sql` and a Thrift server + beeline.

Expected rows come from the monitoring tables read with delta-rs and pandas (no Spark), and from
the demo's ground truth: the demo drifts `amount` and `channel` of card_transactions from day 60.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from deltalake import DeltaTable

from kl_udfs.cli import main
from kl_udfs.core import contract
from kl_udfs.core.config import load_config
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.windows import Window
from kl_udfs.demo import data
from kl_udfs.jobs import runner
from kl_udfs.quality.gate import check_window
from kl_udfs.sql import thrift_server
from kl_udfs.sql.local import run_sql
from kl_udfs.sql.queries import load_query, ready_queries, registration_sql
from tests.conftest import free_port

pytestmark = pytest.mark.spark

LAST_CARD_DAY = Window(datetime(2026, 3, 31), datetime(2026, 4, 1))
VARS = {"monitor": "card_transactions", "column": "amount"}
KLDRIFT = str(Path(sys.executable).parent / "kldrift")


@pytest.fixture(scope="module")
def lake(demo_lake: Path, spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo lake with one failed quality gate and one failed run added."""
    directory = tmp_path_factory.mktemp("sql-lake") / "lake"
    shutil.copytree(demo_lake, directory)
    raw = yaml.safe_load((directory / "monitors.yaml").read_text())
    card = next(m for m in raw["monitors"] if m["name"] == "card_transactions")
    card["quality"] = {"row_count": {"min": 10**9}}  # no demo day has a billion rows
    ghost = {**card, "name": "ghost", "table": "./raw/no_such_table"}
    ghost.pop("quality")
    raw["monitors"].append(ghost)
    (directory / "monitors.yaml").write_text(yaml.safe_dump(raw))
    config = load_config(directory / "monitors.yaml")
    assert not check_window(spark, config, "card_transactions", LAST_CARD_DAY).success
    with pytest.raises(KlDriftError):
        runner.compute_windows(spark, config, "ghost", [LAST_CARD_DAY])
    return directory


def _frame(lake: Path, table: str) -> pd.DataFrame:
    return DeltaTable(str(lake / "monitoring" / table)).to_pandas()


def _expected(lake: Path, name: str) -> list[tuple[Any, ...]]:
    """Key columns of each query's rows, in order, computed with pandas."""
    drift = _frame(lake, "drift_results")
    if name == "latest_status":  # by the contract's status rank, then by PSI
        latest = drift.sort_values(["window_start", "computed_at"]) \
            .groupby(["monitor", "column_name"]).tail(1)
        ranked = latest.assign(
            rank=latest.status.map({s.name: s.rank for s in contract.STATUSES}),
            minus_psi=-latest.psi_corrected)
        ranked = ranked.sort_values(["rank", "minus_psi", "monitor", "column_name"],
                                    na_position="last")
        return [(r.monitor, r.column_name, r.status) for r in ranked.itertuples()]
    if name == "drifting_this_week":
        until = drift.groupby("monitor")["window_end"].transform("max")
        week = drift[(drift.status == "drift") & (drift.window_start >= until - pd.Timedelta("7D"))]
        ranked = week.groupby(["monitor", "column_name"])["psi_corrected"].max()
        return [(m, c, round(v, 6)) for (m, c), v in ranked.sort_values(ascending=False).items()]
    if name == "kl_history":
        rows = drift[(drift.monitor == VARS["monitor"]) & (drift.column_name == VARS["column"])]
        return [(_ts(r.window_start), r.kl_divergence)
                for r in rows.sort_values("window_start").itertuples()]
    if name == "top_contributors":
        rows = drift[(drift.monitor == VARS["monitor"]) & (drift.status == "drift")]
        latest = rows.sort_values("window_start").groupby("column_name").tail(1)
        return [(r.column_name, rank + 1, c["bin"], round(c["contribution"], 6))
                for r in latest.sort_values("column_name").itertuples()
                for rank, c in enumerate(r.top_contributors)]
    if name == "quality_failures":
        quality = _frame(lake, "quality_results")
        failed = quality[~quality.success]
        return [(r.monitor, _ts(r.window_start), r.expectation) for r in failed.itertuples()]
    if name == "failed_runs":
        runs = _frame(lake, "runs")
        return [(r.monitor, r.operation) for r in runs[runs.status == "failed"].itertuples()]
    if name == "volume_problems":
        volume = _frame(lake, "volume_results")
        problems = volume[(volume.status == "drift") | (volume.freshness_status == "stale")]
        ordered = problems.assign(minus=-problems.window_start.astype("int64")).sort_values(
            ["minus", "monitor"])
        return [(r.monitor, _ts(r.window_start), r.row_count) for r in ordered.itertuples()]
    raise AssertionError(f"no expectation for query {name}")


def _actual(name: str, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The same key columns from a client's rows (dicts of strings or Python values)."""
    def num(value: Any) -> float:
        return float(value)

    if name == "latest_status":
        return [(r["monitor"], r["column_name"], r["status"]) for r in rows]
    if name == "drifting_this_week":
        return [(r["monitor"], r["column_name"], num(r["max_psi"])) for r in rows]
    if name == "kl_history":
        return [(_ts(r["window_start"]), num(r["kl_divergence"])) for r in rows]
    if name == "top_contributors":
        return [(r["column_name"], int(r["rank"]), r["bin"], num(r["contribution"])) for r in rows]
    if name == "quality_failures":
        return [(r["monitor"], _ts(r["window_start"]), r["expectation"]) for r in rows]
    if name == "failed_runs":
        return [(r["monitor"], r["operation"]) for r in rows]
    if name == "volume_problems":
        return [(r["monitor"], _ts(r["window_start"]), int(r["row_count"])) for r in rows]
    raise AssertionError(name)


def _ts(value: Any) -> str:
    """Naive UTC text: delta-rs reads timestamps as UTC-aware, Spark as naive UTC."""
    stamp = pd.Timestamp(value)
    return str(stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp)


def _check(lake: Path, name: str, rows: list[dict[str, Any]]) -> None:
    expected, actual = _expected(lake, name), _actual(name, rows)
    assert len(actual) == len(expected), f"{name}: {len(actual)} rows, expected {len(expected)}"
    for got, want in zip(actual, expected, strict=True):
        for g, w in zip(got, want, strict=True):
            if isinstance(w, float):
                assert g == pytest.approx(w, rel=1e-12, abs=1e-15), name
            else:
                assert g == w, name


def test_ready_queries_are_documented() -> None:
    queries = ready_queries()
    assert set(queries) == {"latest_status", "drifting_this_week", "kl_history",
                            "top_contributors", "quality_failures", "failed_runs",
                            "volume_problems"}
    for path in queries.values():
        assert path.read_text().startswith("-- "), f"{path.name} needs a comment saying what it is"


def test_ground_truth_through_the_queries(lake: Path) -> None:
    # The oracle itself must tell the demo's story, or comparing with it proves little.
    latest = _expected(lake, "latest_status")
    card_drift = {c for m, c, s in latest if m == "card_transactions" and s == "drift"}
    assert card_drift == set(data.CARD_DRIFT_COLUMNS)
    assert {s for m, _, s in latest if m == "server_metrics"} == {"ok"}
    week = {(m, c) for m, c, _ in _expected(lake, "drifting_this_week")}
    assert {c for m, c in week if m == "card_transactions"} == set(data.CARD_DRIFT_COLUMNS)
    assert len(_expected(lake, "kl_history")) == 60  # days 30..89 were backfilled
    assert {c for c, *_ in _expected(lake, "top_contributors")} == set(data.CARD_DRIFT_COLUMNS)
    assert _expected(lake, "quality_failures") == [
        ("card_transactions", _ts(LAST_CARD_DAY.start),
         "expect_table_row_count_to_be_between")]
    assert _expected(lake, "failed_runs") == [("ghost", "run")]


@pytest.mark.parametrize("name", sorted(ready_queries()))
def test_kldrift_sql_runs_every_ready_query(lake: Path, spark: Any, name: str) -> None:
    text = load_query(ready_queries()[name]).render(VARS)
    headers, rows, truncated = run_sql(spark, str(lake / "monitoring"), "monitoring", text, 10_000)
    assert not truncated
    _check(lake, name, [dict(zip(headers, row, strict=True)) for row in rows])


def test_kldrift_sql_command_prints_a_table(lake: Path, spark: Any,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--config", str(lake / "monitors.yaml"), "--ready", "kl_history",
                 "--var", "column=channel", "--limit", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["window_start", "window_end", "status"]
    assert len(out) == 2 + 5 + 1 and out[-1] == "(5 rows, more left out: raise --limit)"
    assert main(["sql", "--monitoring", str(lake / "monitoring"),
                 "SELECT count(*) AS n FROM monitoring.baselines WHERE monitor = 'ghost'"]) == 0
    assert capsys.readouterr().out.splitlines()[2].strip() == "0"


@pytest.mark.parametrize("argv, message", [
    (["SELECT 1; SELECT 2"], "exactly one statement"),
    (["SELECT * FROM monitoring.no_such_table"], "query failed"),
    (["--ready", "nope"], "no ready query 'nope'"),
    (["--file", "kl_udfs/sql/ready/kl_history.sql", "--var", "column"], "not name=value"),
    (["--file", "kl_udfs/sql/ready/nope.sql"], "cannot read SQL file"),
])
def test_kldrift_sql_bad_input(lake: Path, spark: Any, capsys: pytest.CaptureFixture[str],
                               argv: list[str], message: str) -> None:
    assert main(["sql", "--monitoring", str(lake / "monitoring"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_a_path_without_monitoring_tables_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--monitoring", str(tmp_path), "SELECT 1"]) == 2
    assert f"no monitoring tables at {tmp_path}" in capsys.readouterr().err
    assert not any(tmp_path.iterdir()), "nothing may be created at a mistyped path"
    assert main(["sql", "--config", str(tmp_path / "missing.yaml"), "SELECT 1"]) == 2
    assert "run `make demo` first" in capsys.readouterr().err


def test_placeholders_need_values() -> None:
    query = load_query(ready_queries()["kl_history"])
    assert query.variables == ["column", "monitor"] and query.defaults == VARS
    assert "column_name = 'it\\'s'" in query.render({"column": "it's"})
    bare = load_query(ready_queries()["kl_history"]).__class__(query.text, {})
    with pytest.raises(KlDriftError, match="needs a value for column, monitor"):
        bare.render()


def test_registration_creates_missing_tables_with_the_contract_schema(
        spark: Any, tmp_path: Path) -> None:
    root = str(tmp_path / "monitoring")
    for statement in registration_sql(root, "empty_monitoring"):
        spark.sql(statement)
    columns = spark.table("empty_monitoring.drift_results").columns
    assert {"kl_divergence", "top_contributors", "status"} <= set(columns)
    assert spark.table("empty_monitoring.runs").count() == 0


# --- the Thrift server, with beeline as the client ------------------------------------------


@pytest.fixture(scope="module")
def server(lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    port, run_dir = free_port(), tmp_path_factory.mktemp("sql-server")
    started = subprocess.run(
        [KLDRIFT, "--master", "local[1]", "sql-server", "--config", str(lake / "monitors.yaml"),
         "--port", str(port), "--run-dir", str(run_dir)],
        capture_output=True, text=True, timeout=600, env=os.environ.copy(), check=False)
    try:
        assert started.returncode == 0, started.stderr[-2000:]
        assert f"jdbc:hive2://127.0.0.1:{port}/default" in started.stdout
        yield port, run_dir
    finally:
        thrift_server.stop(run_dir)


_PROMPT = re.compile(r"^\d+: jdbc:hive2://[^>]*> ")


def _table_lines(stdout: str) -> list[str]:
    """The tsv2 table in beeline's console output.

    Reading a file, beeline echoes a prompt for each script line (`null` when no terminal is
    attached), ended by a carriage return or a newline; the header follows the last prompt
    before the table without a line break.
    """
    pieces = re.split(r"[\r\n]", stdout)
    start = next(i for i, piece in enumerate(pieces) if "\t" in piece)  # queries have 2+ columns
    prompt = pieces[start - 1].strip() if start else ""
    header = _PROMPT.sub("", pieces[start].removeprefix(prompt) if prompt else pieces[start])
    # Prompts echoed after the table (trailing script lines) carry no tab; every row does.
    return [header] + [piece for piece in pieces[start + 1:] if "\t" in piece]


def _beeline_rows(port: int, path: Path, values: dict[str, str]) -> list[dict[str, str]]:
    variables = [arg for name, value in values.items() for arg in ("--hivevar", f"{name}={value}")]
    # tsv2: bin labels hold commas, and beeline's csv2 "quotes" them with NUL characters.
    result = thrift_server.beeline(port, "--outputformat=tsv2", "--showHeader=true",
                                   *variables, "-f", str(path))
    assert result.returncode == 0 and "\t" in result.stdout, result.stdout + result.stderr
    return list(csv.DictReader(io.StringIO("\n".join(_table_lines(result.stdout))),
                               delimiter="\t", quoting=csv.QUOTE_NONE))


def test_server_listens_on_loopback_only(server: tuple[int, Path]) -> None:
    port, run_dir = server
    running = thrift_server.status(run_dir)
    assert running is not None and running[1] == port
    listeners = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True,
                               text=True, check=True).stdout
    assert listeners.strip() and all("127.0.0.1" in line for line in listeners.splitlines())


@pytest.mark.parametrize("name", sorted(ready_queries()))
def test_beeline_runs_every_ready_query(lake: Path, server: tuple[int, Path], name: str) -> None:
    port, _ = server
    _check(lake, name, _beeline_rows(port, ready_queries()[name], VARS))


def test_second_start_is_refused_and_stop_kills_by_pid(lake: Path,
                                                      server: tuple[int, Path]) -> None:
    port, run_dir = server
    again = subprocess.run([KLDRIFT, "sql-server", "--monitoring", str(lake / "monitoring"),
                            "--run-dir", str(run_dir), "--port", str(port)],
                           capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 2 and "already running" in again.stderr
    running = thrift_server.status(run_dir)
    assert running is not None
    stopped = subprocess.run([KLDRIFT, "sql-server", "--stop", "--run-dir", str(run_dir)],
                             capture_output=True, text=True, timeout=120, check=True)
    assert f"pid {running[0]}" in stopped.stdout
    assert not Path(f"/proc/{running[0]}").exists() or thrift_server.RunDir(run_dir).pid() is None
    assert thrift_server.status(run_dir) is None
