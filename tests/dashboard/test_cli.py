"""`kldrift dashboard`: one-line errors for bad input, and no Spark on the way."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.dashboard.conftest import ROOT


def kldrift(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kl_udfs.cli", "dashboard", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kldrift: error: ")
    return lines[0]


def test_missing_monitoring_path(tmp_path: Path) -> None:
    line = one_line_error(kldrift("--monitoring", str(tmp_path / "nowhere")))
    assert "nowhere does not exist" in line


def test_missing_config(tmp_path: Path) -> None:
    assert "cannot read config" in one_line_error(kldrift("--config", str(tmp_path / "x.yaml")))


def test_no_demo_lakehouse_says_what_to_run(tmp_path: Path) -> None:
    assert "run 'make demo' first" in one_line_error(kldrift(cwd=tmp_path))


def test_busy_port(synthetic_lake: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_line_error(kldrift("--config", str(synthetic_lake / "monitors.yaml"),
                                      "--port", str(port)))
    assert f"cannot listen on 127.0.0.1:{port}" in line


def test_config_and_monitoring_exclude_each_other(synthetic_lake: Path) -> None:
    result = kldrift("--config", "a.yaml", "--monitoring", "b")
    assert result.returncode == 2 and "not allowed with argument" in result.stderr


PROBE = """
import sys
import dashboards.app
from kl_udfs import cli
served = []
dashboards.app.serve = lambda source, *args: served.append(source) or 0
code = cli.main(["dashboard", "--config", sys.argv[1]])
dashboards.app.create_app(dashboards.app.Store(served[0], refresh_s=0))
heavy = sorted(m for m in ("pyspark", "py4j", "great_expectations", "airflow")
               if m in sys.modules)
print(code, len(served), ",".join(heavy) or "none")
"""


def test_no_spark_is_imported(synthetic_lake: Path) -> None:
    result = subprocess.run([sys.executable, "-c", PROBE, str(synthetic_lake / "monitors.yaml")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "1", "none"]
