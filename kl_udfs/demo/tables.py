"""Writing the generated demo data as Delta tables (Parquet by pyarrow, then one Spark copy)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import SparkSession

ROWS_PER_FILE = 1_000_000


def _utc(table: pa.Table) -> pa.Table:
    """Naive timestamps are written as UTC instants so Spark reads TIMESTAMP, not _NTZ."""
    fields = [
        pa.field(f.name, pa.timestamp("us", tz="UTC")) if pa.types.is_timestamp(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


def write_delta(spark: SparkSession, table: pa.Table, path: str | Path) -> None:
    """Replace the Delta table at `path` with `table`, kept in time order for file skipping."""
    with tempfile.TemporaryDirectory(prefix="kldrift-demo-") as staging:
        pq.write_table(_utc(table), Path(staging) / "data.parquet", row_group_size=ROWS_PER_FILE)
        frame = spark.read.parquet(staging)
        parts = max(1, table.num_rows // ROWS_PER_FILE)
        shutil.rmtree(path, ignore_errors=True)
        frame.coalesce(parts).write.format("delta").mode("overwrite").save(str(path))
