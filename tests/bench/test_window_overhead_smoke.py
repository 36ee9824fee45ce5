"""`python -m bench.window_overhead` runs and times every step of a run, then puts the
runner's functions back as they were."""

from __future__ import annotations

from typing import Any

import pytest

from bench.window_overhead import main
from kl_udfs.jobs import runner
from kl_udfs.spark import runs, tables

pytestmark = pytest.mark.spark


def test_window_overhead_times_each_step_and_restores_the_runner(
        spark: Any, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--windows", "2", "--rows", "24"])
    lines = capsys.readouterr().out.strip().splitlines()
    steps = [line.split("|")[1].strip() for line in lines[2:]]
    assert {"mark_gone_runs", "load_baseline", "compute_drift", "merge", "update",
            "whole run"} <= set(steps)
    assert runner.merge is tables.merge and runs.update is tables.update
