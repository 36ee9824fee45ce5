"""Shared fixtures: one local Spark session with Delta for the whole run."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("KLDRIFT_CACHE_DIR", str(ROOT / ".cache"))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    from kl_udfs.spark_session import get_spark

    session = get_spark("local[2]", {"spark.sql.shuffle.partitions": "4",
                                     "spark.default.parallelism": "4"})
    yield session
    session.stop()
