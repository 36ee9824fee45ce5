"""Opening the monitored table (a Delta path or a catalog name), with errors that name it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from kl_udfs.core.config import Monitor
from kl_udfs.core.errors import KlDriftError

_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class OpenedTable:
    df: DataFrame
    version: int | None  # the Delta version read; None for non-Delta catalog tables
    # When the table's latest commit was made (naive UTC): how fresh its data is. None for a
    # non-Delta catalog table, and when an older version was asked for.
    committed_at: datetime | None = None


def open_table(spark: SparkSession, monitor: Monitor, version: int | None = None) -> OpenedTable:
    from delta.tables import DeltaTable

    where = {"monitor": monitor.name, "table": monitor.table}
    try:
        if monitor.is_path:
            if not DeltaTable.isDeltaTable(spark, monitor.table):
                raise KlDriftError("table not found (no Delta table at this path)", **where)
            delta = DeltaTable.forPath(spark, monitor.table)
            reader = spark.read.format("delta")
            if version is not None:
                reader = reader.option("versionAsOf", version)
            df = reader.load(monitor.table)
        else:
            if not spark.catalog.tableExists(monitor.table):
                raise KlDriftError("table not found in the catalog", **where)
            delta = DeltaTable.forName(spark, monitor.table)
            reader = spark.read
            if version is not None:
                reader = reader.option("versionAsOf", version)
            df = reader.table(monitor.table)
        read_version, committed_at = version, None
        if read_version is None:
            # Epoch microseconds, not a timestamp: a collected timestamp takes the local zone.
            latest = delta.history(1).select(
                "version", F.unix_micros(F.col("timestamp")).alias("micros")).first()
            read_version = int(latest[0]) if latest else None
            if latest and latest[1] is not None:
                committed_at = _EPOCH + timedelta(microseconds=int(latest[1]))
    except KlDriftError:
        raise
    except Exception as error:  # Spark's message for a bad version, unreadable files, ...
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise KlDriftError(f"cannot read table: {first_line}", **where) from None
    return OpenedTable(df, read_version, committed_at)


# How Spark reports a data file that a Delta version lists but storage no longer holds.
_MISSING_FILE = ("FAILED_READ_FILE.FILE_NOT_EXIST", "java.io.FileNotFoundException")


@contextmanager
def files_present(monitor: Monitor, version: int | None = None) -> Iterator[None]:
    """Scans of the table inside this block that meet a data file its log still lists but
    storage no longer holds (VACUUM past the version's retention, or a file removed by hand)
    fail with one error naming the table and the file, instead of Spark's stack trace."""
    try:
        yield
    except KlDriftError:
        raise
    except Exception as error:
        text = str(error)
        if not any(marker in text for marker in _MISSING_FILE):
            raise
        named = re.search(r"reading file (\S+?)\.? File does not exist", text)
        at = f" version {version}" if version is not None else ""
        raise KlDriftError(
            f"cannot read table{at}: a data file its Delta log lists is gone"
            f"{f' ({named.group(1)})' if named else ''}; it was removed by VACUUM (past the "
            "retention) or by hand: build the baseline from a version whose files are kept, "
            "or restore the file", monitor=monitor.name, table=monitor.table) from None
