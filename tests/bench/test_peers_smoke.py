"""The peers benchmark at smoke size: every contender runs and agrees where it should.

The figures are not checked (speed is measured by `make bench`, never asserted); what is
checked is that the contenders compute the same thing: the naive script's KL equals
kl-drift's to 1e-9, DuckDB's histograms equal kl-drift's counts, and GX's KL equals its own
definition (KL(window || reference), non-null, unsmoothed) applied to kl-drift's counts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.spark


def _worst(text: str) -> float:
    found = re.search(r"max abs diff ([0-9.e+-]+)", text)
    assert found, text
    return float(found.group(1))


def test_every_contender_runs_and_agrees(spark: Any, tmp_path: Path) -> None:
    from bench.peers.run import parse, run

    out = tmp_path / "peers"
    # whylogs is left to `make bench`: its virtualenv holds a second pyspark (a 400 MB wheel).
    contenders = ["floor", "kl-drift pass", "naive PySpark", "Great Expectations",
                  "kl-drift window", "kl-drift baseline", "DuckDB", "Evidently"]
    args = parse(["--rows", "20000", "--columns", "8", "--repeat", "1", "--contenders",
                  *contenders, "--data-dir", str(tmp_path / "data"), "--out", str(out)])
    rows = {r["contender"]: r for r in run(spark, args)}
    assert set(rows) == set(contenders)
    assert rows["Evidently"]["agreement"].startswith("not comparable")
    assert all(r["seconds"] > 0 and r["rows"] == 20000 for r in rows.values())
    assert rows["naive PySpark"]["agreement"].startswith("agrees")
    assert _worst(rows["naive PySpark"]["agreement"]) <= 1e-9
    assert rows["DuckDB"]["agreement"].startswith("counts identical")
    assert _worst(rows["DuckDB"]["agreement"]) <= 1e-9
    assert _worst(rows["Great Expectations"]["agreement"]) <= 1e-9
    assert rows["kl-drift window"]["x_floor"] == pytest.approx(
        rows["kl-drift window"]["seconds"] / rows["floor"]["seconds"])
    saved = json.loads(out.with_suffix(".json").read_text())
    assert len(saved["rows"]) == len(rows)
    assert "| kl-drift window |" in out.with_suffix(".md").read_text()


def test_evidently_is_not_started_where_its_frames_cannot_fit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.peers import run
    from bench.peers.data import Shape

    assert 0 < run.available_mib() <= 2**40  # read from /proc/meminfo
    monkeypatch.setattr(run, "available_mib", lambda: 24 * 1024.0)
    # 10M x 12 measured 12,184 MiB: it fits in 24 GiB; 10M x 200 (about 200 GiB) does not.
    assert run.too_big("Evidently", Shape(10_000_000, 12)) is None
    why = run.too_big("Evidently", Shape(10_000_000, 200))
    assert why is not None and why.startswith("not run: pandas would need about 198 GiB")
    assert run.too_big("DuckDB", Shape(10_000_000, 200)) is None  # it streams the Parquet
