"""The cost curves at smoke size: the backfill and KL-step curves run, agree and are drawn.

Figures are never asserted (speed is `make bench-curves`' to measure); what is checked is
that a backfill of N windows writes N windows, that the KL step matches scipy, and that the
plotting virtualenv turns curves.json into PNG files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import functions as F

pytestmark = pytest.mark.spark


def test_backfill_and_kl_step_curves_are_measured_and_drawn(spark: Any, tmp_path: Path) -> None:
    from bench.peers import curves
    from bench.peers.run import machine
    from bench.peers.spark_contenders import MONITOR
    from kl_udfs.spark.tables import DRIFT_RESULTS, read_table

    plan = curves.Plan(rows=[], columns=[], columns_rows=0, cardinality=[], cardinality_rows=0,
                       windows=[1, 3], rows_per_window=300, column_windows=[50, 200], repeat=1)
    windows = curves.windows_curve(spark, plan.windows, plan.rows_per_window, 1, tmp_path)
    assert [w["windows"] for w in windows] == [1, 3]
    assert windows[1]["one_job_per_window_s"] == pytest.approx(3 * windows[0]["seconds"])
    written = read_table(spark, str(tmp_path / "work" / "windows_rows300_cols12_card20" /
                                    "monitoring"), DRIFT_RESULTS).where(F.col("monitor") == MONITOR)
    assert written.select("window_start").distinct().count() == 3  # days 1..3, one row each
    assert written.count() == 3 * 12

    step = curves.kl_step_curve(plan.column_windows, 1)
    assert [k["column_windows"] for k in step] == [50, 200]
    assert all(k["max_abs_diff"] <= 1e-9 for k in step)

    out = tmp_path / "docs"
    report = curves.save({"machine": machine(spark), "plan": plan.__dict__, "windows": windows,
                          "kl_step": step}, plan, out)
    assert "## Windows in one backfill" in report
    for name in ("windows.png", "kl_step.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert not (out / "rows.png").exists()  # no figures, no plot
