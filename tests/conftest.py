"""Shared fixtures: one local Spark session with Delta for the whole run."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("KLDRIFT_CACHE_DIR", str(ROOT / ".cache"))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
# Test JVMs live seconds to minutes on small data and spend most of their CPU compiling: C1
# only and the serial collector halve a spark-submit's CPU time (113 s -> 63 s for one drift
# window), which is what two test workers on two cores are short of. Java's arithmetic is the
# same under either compiler, so results are not affected. Without tiered compilation the
# code cache shrinks to 48 MB, which a long test session fills (then HotSpot stops compiling
# altogether): hence the explicit size. Every JVM started from here (sessions, spark-submit,
# the Thrift server) reads SPARK_SUBMIT_OPTS.
FAST_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ReservedCodeCacheSize=256m"
os.environ.setdefault("SPARK_SUBMIT_OPTS", FAST_JVM)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# With `pytest -n 2 --dist loadgroup` (make test), tests that share a costly session fixture or
# a fixed port stay in one worker: the Airflow home, the demo lake, the standalone cluster.
# xdist hands the largest group (most tests) out first and gives a worker its next group while
# its last test runs; so the demo lake and the cluster share one worker and Airflow, the other
# slow part, starts at once on the second, which then takes the single tests.
_GROUPS = {"orchestration": "airflow", "sql": "lake+cluster", "dashboard": "lake+cluster",
           "cluster": "lake+cluster"}


# tryfirst: xdist's own hook of the same name turns the marker into the scheduling scope and
# would otherwise run before this one and see no marker.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.path)).relative_to(ROOT).parts
        group = _GROUPS.get(parts[1]) if len(parts) > 2 and parts[0] == "tests" else None
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    from kl_udfs.spark.session import get_spark

    session = get_spark("local[2]", {"spark.sql.shuffle.partitions": "4",
                                     "spark.default.parallelism": "4"})
    yield session
    session.stop()


DEMO_SCALE = 0.05  # 5k card rows a day, 180 server rows an hour: the demo verdicts still hold


@pytest.fixture(scope="session")
def demo_lake(spark: object, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo lakehouse (raw tables, baselines, backfilled monitoring tables), built once.

    Read-only for tests: `<dir>/monitors.yaml`, `<dir>/raw/...`, `<dir>/monitoring/...`.
    """
    from kl_udfs.demo.run import run_demo

    directory = tmp_path_factory.mktemp("demo-lake")
    assert run_demo(directory, scale=DEMO_SCALE) == 0, "the demo missed an expected drift"
    return directory


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Refuse to run split groups: they would start two clusters or two Airflow homes."""
    if not getattr(session.config.option, "loadgroup", False):  # set in xdist workers only
        return
    split = [item.nodeid for item in session.items
             if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if split:
        raise pytest.UsageError(f"xdist did not group {len(split)} tests, e.g. {split[0]}")
