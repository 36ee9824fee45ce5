"""The `runs` table's one row per operation: what ran, on what, how it ended.

An operation's row is written `running` as soon as the monitoring tables exist (`started`) and
replaced by its outcome when it ends (`recorded`), on its run_id: one row per run either way.
A process killed on the way (SIGKILL, an OOM kill, a lost container) leaves its row `running`;
the monitor's next operation marks it `failed` ("process ended while running: killed or
crashed") once its owner is certainly gone:

* on the same host (the row's `owner` is `host:pid:start`), when that pid no longer runs, is a
  zombie, or now belongs to a process with another start time (a reused pid);
* on another host, whose processes cannot be looked up, when it started more than
  `RUNNING_STALE_AFTER_HOURS` ago.

A run wrongly taken for gone (a run on another host longer than that) still writes its own
outcome when it ends: the last write of a run_id wins.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from kl_udfs.core.config import Config
from kl_udfs.core.contract import (
    FAILED,
    PROCESS_GONE,
    RUNNING,
    RUNNING_STALE_AFTER_HOURS,
    SUCCEEDED,
)
from kl_udfs.lake.slices import Monitoring, Scan, equals, naive_utc
from kl_udfs.spark.tables import RUNS, append_run, update


def _now() -> datetime:
    """Wall-clock UTC, naive like every timestamp in the tables; only for run records."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _start_ticks(pid: int) -> str | None:
    """The process's start time (clock ticks since boot) from Linux's /proc; None when no such
    process runs (or it is a zombie), "-" where /proc is not there to ask."""
    if not Path("/proc/self/stat").exists():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # someone else's process: alive
        return "-"
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else fields[19]  # fields 3 (state) and 22


def owner() -> str:
    """This process, as `host:pid:start`."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or '-'}"


def owner_gone(owner_text: str | None, started_at: datetime | None, now: datetime) -> bool:
    """Is the process of a `running` row certainly gone? (see the module's docstring)"""
    host, _, rest = (owner_text or "").partition(":")
    pid_text, _, start = rest.partition(":")
    if host == socket.gethostname() and pid_text.isdigit():
        ticks = _start_ticks(int(pid_text))
        return ticks is None or (start not in ("-", "") and ticks not in ("-", start))
    stale = timedelta(hours=RUNNING_STALE_AFTER_HOURS)
    return started_at is not None and now - started_at > stale


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
    status: str = RUNNING
    error: str | None = None
    conflict_retries: int = 0
    owner: str = field(default_factory=owner)
    source_version: int | None = None
    late_rows: int | None = None
    recomputed_windows: list[datetime] | None = None
    late_windows_skipped: int | None = None
    row_written: bool = False  # the `running` row is in `runs`: the outcome replaces it


def _frame(spark: SparkSession, record: RunRecord, **extra: object) -> DataFrame:
    row = {**record.__dict__, **extra}
    return spark.createDataFrame([tuple(row.get(f) for f in RUNS.schema.fieldNames())],
                                 RUNS.schema)


def mark_gone_runs(spark: SparkSession, config: Config, monitor: str) -> list[str]:
    """Mark `failed` the monitor's `running` rows whose process is gone; returns their ids."""
    root, now = config.monitoring.path, _now()
    # A small read, without a Spark job: every operation pays it before its own work.
    running = Monitoring.of(config).read(Scan(RUNS.name, ("run_id", "owner", "started_at"), (
        equals("monitor", monitor), equals("status", RUNNING)))).to_pylist()
    gone = [r["run_id"] for r in running
            if owner_gone(r["owner"], r["started_at"] and naive_utc(r["started_at"]), now)]
    if gone:
        # Only rows still `running`: an owner that ended meanwhile wrote its own outcome.
        update(spark, root, RUNS, {"monitor": [monitor], "run_id": gone, "status": [RUNNING]},
               {"status": FAILED, "error": PROCESS_GONE, "finished_at": now})
    return gone


def started(spark: SparkSession, config: Config, record: RunRecord) -> None:
    """Once the monitoring tables exist: settle the monitor's runs whose process is gone, then
    write this run's `running` row (a blind append: it never conflicts)."""
    mark_gone_runs(spark, config, record.monitor)
    append_run(spark, config.monitoring.path, _frame(spark, record))
    record.row_written = True


@contextmanager
def recorded(spark: SparkSession, config: Config, record: RunRecord) -> Iterator[RunRecord]:
    """Run the body and write its `runs` row whatever happens; failures are re-raised.

    Failures before `started` (a bad config, a foreign monitoring table) append their one row.
    """
    began = time.monotonic()
    try:
        yield record
        record.status = SUCCEEDED
    except Exception as error:
        record.status = FAILED
        record.error = (str(error).splitlines() or [repr(error)])[0][:2000]
        raise
    finally:
        ended = {**record.__dict__, "duration_s": round(time.monotonic() - began, 3),
                 "finished_at": _now()}
        try:
            if record.row_written:  # its own row, whatever a later operation marked it
                outcome = {f: ended.get(f) for f in RUNS.schema.fieldNames()
                           if f not in ("monitor", "run_id")}
                update(spark, config.monitoring.path, RUNS,
                       {"monitor": [record.monitor], "run_id": [record.run_id]}, outcome)
            else:
                append_run(spark, config.monitoring.path, _frame(spark, record, **ended))
        except Exception:
            # A failed operation's own error says more (`runs` itself foreign, say): keep it.
            if record.status != FAILED:
                raise
