"""Running kl-drift jobs on the test cluster and comparing what they wrote."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.conftest import FAST_JVM

if TYPE_CHECKING:
    from tests.cluster.conftest import Cluster

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
JOB_TIMEOUT_S = 1200  # a hung job fails the test instead of the CI run
CLEAN_PATH = "/usr/local/bin:/usr/bin:/bin"  # what a fresh login shell has: java, bash
TOLERANCE = 1e-12
METRICS = ("kl_divergence", "kl_reverse", "js_divergence", "psi", "g_statistic", "p_value",
           "q_value", "psi_corrected", "current_null_fraction", "baseline_null_fraction")
EXACT = ("baseline_id", "status", "current_count", "baseline_count", "column_kind", "threshold")


def spark_env() -> dict[str, str]:
    from kl_udfs.core.cache import cache_dir

    python = str(VENV_BIN / "python")
    return {"KLDRIFT_CACHE_DIR": str(cache_dir()), "PYSPARK_PYTHON": python,
            "PYSPARK_DRIVER_PYTHON": python, "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_SUBMIT_OPTS": FAST_JVM}  # the driver's JVM, under spark-submit or not


def _text(arg: object) -> str:
    return arg.isoformat() if isinstance(arg, datetime) else str(arg)


def kldrift_argv(cluster: Cluster, *args: object) -> list[str]:
    return [str(VENV_BIN / "kldrift"), "--master", cluster.master, *map(_text, args)]


def kldrift(cluster: Cluster, *args: object) -> subprocess.CompletedProcess[str]:
    """`kldrift --master spark://... <args>` as its own driver process; must succeed."""
    done = subprocess.run(kldrift_argv(cluster, *args), env={**os.environ, **spark_env()},
                          capture_output=True, text=True, timeout=JOB_TIMEOUT_S)
    assert done.returncode == 0, f"kldrift {args[0]} failed:\n{tail(done.stderr)}"
    return done


def start(argv: Sequence[str], log: Path,
          env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """A job in its own session (so it can be killed whole by its PID), output to `log`."""
    with log.open("w") as out:
        return subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, text=True,
                                env=env if env is not None else {**os.environ, **spark_env()},
                                start_new_session=True)


def clean_submit_argv(cluster: Cluster, app: Path, *args: object,
                      options: Sequence[str] = ()) -> list[str]:
    """infra/submit.sh under `env -i`: no venv, no PYTHONPATH, no KLDRIFT_* from this shell."""
    return ["/usr/bin/env", "-i", f"PATH={CLEAN_PATH}", "bash", str(ROOT / "infra" / "submit.sh"),
            "--master", cluster.master, *options, str(app), *map(_text, args)]


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.splitlines()[-lines:])


def commits(table_dir: Path) -> int:
    """Delta commits of a table so far (its _delta_log JSON files)."""
    log = table_dir / "_delta_log"
    return sum(1 for p in log.glob("*.json") if re.fullmatch(r"\d{20}\.json", p.name)) \
        if log.is_dir() else 0


Key = tuple[str, str, datetime]


def drift_rows(spark: Any, place: Path) -> dict[Key, dict[str, Any]]:
    """drift_results of a run place, keyed by (monitor, column, window_start); no duplicates."""
    from kl_udfs.spark.tables import DRIFT_RESULTS, read_table

    rows = read_table(spark, str(place / "monitoring"), DRIFT_RESULTS).collect()
    keyed = {(r["monitor"], r["column_name"], r["window_start"]): r.asDict(recursive=True)
             for r in rows}
    assert len(keyed) == len(rows), f"{len(rows) - len(keyed)} duplicated drift_results rows"
    return keyed


def assert_same(found: dict[Key, dict[str, Any]], expected: dict[Key, dict[str, Any]],
                keys: set[Key]) -> None:
    """The same drift numbers (1e-12), verdicts, counts and top bins for every key."""
    assert keys, "nothing to compare"
    missing = keys - found.keys()
    assert not missing, f"{len(missing)} rows missing, e.g. {sorted(missing)[0]}"
    for key in sorted(keys):
        got, want = found[key], expected[key]
        for name in EXACT:
            assert got[name] == want[name], f"{key} {name}: {got[name]} != {want[name]}"
        for name in METRICS:
            a, b = got[name], want[name]
            assert (a is None) == (b is None) and (a is None or math.isclose(
                a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)), f"{key} {name}: {a} != {b}"
        got_bins = [(c["bin"], c["contribution"]) for c in got["top_contributors"] or []]
        want_bins = [(c["bin"], c["contribution"]) for c in want["top_contributors"] or []]
        assert [b for b, _ in got_bins] == [b for b, _ in want_bins], key
        assert all(math.isclose(x, y, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
                   for (_, x), (_, y) in zip(got_bins, want_bins, strict=True)), key


def keys_of(monitor: str, columns: Sequence[str], windows: Sequence[datetime]) -> set[Key]:
    return {(monitor, c, w) for c in columns for w in windows}
