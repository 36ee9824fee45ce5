"""Peak memory of one contender run: the driver's Python RSS and the JVM's heap.

In local mode the executors live in the driver's JVM, so its heap peak covers both. The JVM
peak is the sum of its heap pools' peaks since they were reset (an upper bound: the pools
may peak at different moments); the Python peak is sampled every 20 ms.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psutil
from pyspark.sql import SparkSession

MIB = 2**20


@dataclass
class Peak:
    python_mib: float = 0.0
    jvm_heap_mib: float = 0.0


def _jvm(spark: SparkSession) -> Any:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    return jvm


def _heap_pools(spark: SparkSession) -> list[Any]:
    jvm = _jvm(spark)
    pools = jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
    return [p for p in pools if p.getType().toString() == "Heap memory"]


@contextmanager
def peak_memory(spark: SparkSession) -> Iterator[Peak]:
    peak = Peak()
    pools = _heap_pools(spark)
    _jvm(spark).java.lang.System.gc()
    for pool in pools:
        pool.resetPeakUsage()
    process, done = psutil.Process(), threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak.python_mib = max(peak.python_mib, process.memory_info().rss / MIB)
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()
        peak.jvm_heap_mib = sum(p.getPeakUsage().getUsed() for p in pools) / MIB
