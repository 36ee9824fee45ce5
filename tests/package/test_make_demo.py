"""`make demo`, the README's first command, as a new user runs it (at a small scale): the
Makefile's bootstrap, then Airflow running the monitors' baseline, backfill and drift DAGs
through spark-submit, then the check of every verdict against the generator's truth."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.spark


def test_make_demo_runs_the_dags_and_finds_every_planted_drift(tmp_path: Path) -> None:
    # Only what a shell has: none of the test session's Airflow or kl-drift settings.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "KLDRIFT_", "PYTHONPATH", "VIRTUAL_ENV"))}
    done = subprocess.run(["make", "demo", f"DEMO_DIR={tmp_path / 'lakehouse'}", "SCALE=0.02"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
                          check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    for monitor in ("card_transactions", "server_metrics"):
        for dag in ("baseline", "backfill", "drift"):
            assert f"$ airflow dags test kldrift_{dag}__{monitor}" in out, out[-4000:]
    assert "FAILED" not in out, out[-4000:]
    flagged = next(line for line in out.splitlines()
                   if line.startswith("expected drift flagged:"))
    found, expected = flagged.split()[3].split("/")
    assert found == expected and int(expected) > 0, flagged
    assert "unexpected drift flags: 0;" in flagged, out[-4000:]
