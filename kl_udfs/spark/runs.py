"""The `runs` table's one row per operation: what ran, on what, how it ended."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pyspark.sql import SparkSession

from kl_udfs.core.config import Config
from kl_udfs.spark.tables import RUNS, append_run


def _now() -> datetime:
    """Wall-clock UTC, naive like every timestamp in the tables; only for run records."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@dataclass
class RunRecord:
    monitor: str
    table_name: str
    operation: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=_now)
    window_start: datetime | None = None
    window_end: datetime | None = None
    baseline_id: str | None = None
    windows: int = 0
    columns: int = 0
    rows_scanned: int = 0
    status: str = "running"
    error: str | None = None


@contextmanager
def recorded(spark: SparkSession, config: Config, record: RunRecord) -> Iterator[RunRecord]:
    """Run the body and write its `runs` row whatever happens; failures are re-raised."""
    began = time.monotonic()
    try:
        yield record
        record.status = "succeeded"
    except Exception as error:
        record.status = "failed"
        record.error = (str(error).splitlines() or [repr(error)])[0][:2000]
        raise
    finally:
        finished = _now()
        row = {**record.__dict__, "duration_s": round(time.monotonic() - began, 3),
               "finished_at": finished}
        frame = spark.createDataFrame([tuple(row.get(f) for f in RUNS.schema.fieldNames())],
                                      RUNS.schema)
        try:
            append_run(spark, config.monitoring.path, frame)
        except Exception:
            # A failed operation's own error says more (`runs` itself foreign, say): keep it.
            if record.status != "failed":
                raise
