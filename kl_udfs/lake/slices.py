"""The monitoring tables read a slice at a time, with delta-rs (no JVM).

Every read names its monitor, and where it can its columns and window range, as predicates
that delta-rs' DataFusion engine pushes into the scan: `drift_results` and `profiles` are
partitioned by monitor and window_start, so a page of the latest windows opens only their
files, however long the history. Which windows a monitor has is read from the Delta log's
partition values, without opening a Parquet file. The dashboard, `kldrift status`, the alert
task, the source-triggered DAG's pending-window check and the jobs' small reads (running
operations, the baseline, failed quality gates) all read through `Monitoring`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kl_udfs.core import contract
from kl_udfs.core.config import Config

# A window re-run against another baseline leaves a row per baseline: the latest one counts.
RERUN_KEY = ("monitor", "column_name", "window_start")


def naive_utc(instant: datetime) -> datetime:
    """Delta timestamps come back in UTC; kl-drift's windows are naive UTC."""
    return instant.astimezone(UTC).replace(tzinfo=None) if instant.tzinfo else instant


@dataclass(frozen=True)
class Span:
    """Window starts in [low, high); either bound may be open."""

    low: datetime | None = None
    high: datetime | None = None

    def holds(self, start: datetime) -> bool:
        return ((self.low is None or start >= naive_utc(self.low))
                and (self.high is None or start < naive_utc(self.high)))


@dataclass(frozen=True)
class ScanMetrics:
    files_opened: int
    rows: int  # rows the query returned
    files_shown: tuple[str, ...]  # the plan names at most 5 files per group


@dataclass(frozen=True)
class Scan:
    """One read: a table, the columns it projects and its predicates (SQL text)."""

    table: str
    columns: tuple[str, ...]
    where: tuple[str, ...]

    def sql(self, available: Iterable[str]) -> str:
        present = set(available)
        selected = ", ".join(_name(c) for c in self.columns if c in present)
        text = f"SELECT {selected} FROM {_name(self.table)}"
        return text + (" WHERE " + " AND ".join(self.where) if self.where else "")


def _name(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str | datetime) -> str:
    if isinstance(value, datetime):
        return f"TIMESTAMP '{naive_utc(value).isoformat(sep=' ')}'"
    return "'" + value.replace("'", "''") + "'"


def equals(column: str, value: str | datetime) -> str:
    return f"{_name(column)} = {literal(value)}"


def one_of(column: str, values: Iterable[str | datetime]) -> str:
    return f"{_name(column)} IN ({', '.join(literal(v) for v in values)})"


def within(span: Span, column: str = "window_start") -> tuple[str, ...]:
    bounds = []
    if span.low is not None:
        bounds.append(f"{_name(column)} >= {literal(span.low)}")
    if span.high is not None:
        bounds.append(f"{_name(column)} < {literal(span.high)}")
    return tuple(bounds)


def arrow_type(kind: str) -> pa.DataType:
    """The Arrow type of a contract type name ("array<check>" names a contract struct)."""
    scalars: dict[str, pa.DataType] = {
        "string": pa.string(), "double": pa.float64(), "long": pa.int64(), "int": pa.int32(),
        "boolean": pa.bool_(), "timestamp": pa.timestamp("us", tz="UTC")}
    if kind.startswith("array<"):
        inner = kind[len("array<"):-1]
        if inner in scalars:
            return pa.list_(scalars[inner])
        return pa.list_(pa.struct([(c.name, arrow_type(c.type))
                                   for c in contract.STRUCTS[inner]]))
    return scalars[kind]


class Monitoring:
    """The monitoring tables, each pinned at the version it had when first used (a table not
    written yet reads as empty). Open a new one, or `catch_up`, to see newer versions."""

    def __init__(self, root: str, storage_options: dict[str, str] | None = None) -> None:
        self.root = root.rstrip("/")
        self.storage_options = storage_options
        self._tables: dict[str, Any] = {}
        self._partitions: dict[str, pa.Table] = {}
        self._lock = threading.RLock()  # a server's requests share one instance
        # Called with each scan before it runs (tests check which files a page opens).
        self.on_scan: Callable[[Monitoring, Scan], None] | None = None

    @classmethod
    def of(cls, config: Config) -> Monitoring:
        """The monitoring tables of a config, with its object-storage options."""
        return cls(config.monitoring.path, config.delta_rs_options())

    def uri(self, name: str) -> str:
        return f"{self.root}/{name}"

    def table(self, name: str) -> Any:
        """The DeltaTable, opened on first use and kept at that version; None when missing."""
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        with self._lock:
            if name not in self._tables:
                try:
                    self._tables[name] = DeltaTable(self.uri(name),
                                                    storage_options=self.storage_options)
                except TableNotFoundError:
                    self._tables[name] = None
            return self._tables[name]

    @property
    def versions(self) -> dict[str, int | None]:
        return {t.name: None if self.table(t.name) is None else int(self.table(t.name).version())
                for t in contract.TABLES}

    def catch_up(self) -> dict[str, int | None]:
        """Bring each table to its latest version, reading only the log entries written since
        (a table not written before is looked for again); the versions. For a watcher: a
        snapshot that pages read from stays pinned instead."""
        with self._lock:
            for name, table in list(self._tables.items()):
                if table is None:
                    del self._tables[name]
                else:
                    table.update_incremental()
            self._partitions.clear()
            self.__dict__.pop("_windows", None)
        return self.versions

    # --- what the Delta log says, no Parquet read -------------------------------------------

    def partitions(self, name: str) -> pa.Table:
        """The partition values (monitor[, window_start]) of every file of the table, from its
        Delta log."""
        with self._lock:
            if name not in self._partitions:
                keys = contract.TABLE[name].partitions
                schema = pa.schema([(k, arrow_type(contract.TABLE[name].column(k).type))
                                    for k in keys])
                table = self.table(name)
                actions = pa.table(table.get_add_actions(flatten=True)) if table else pa.table({})
                if table is None:
                    found = schema.empty_table()
                elif all(f"partition.{k}" in actions.column_names for k in keys):
                    found = pa.table([actions[f"partition.{k}"] for k in keys], names=list(keys))
                else:  # not partitioned as kl-drift writes it: the values are in the rows
                    found = self.read(Scan(name, keys, ()), record=False).group_by(
                        list(keys)).aggregate([])
                self._partitions[name] = found
            return self._partitions[name]

    def monitors(self) -> set[str]:
        """Every monitor with drift rows, a baseline or a run."""
        names: set[str] = set()
        for table in ("drift_results", "baselines", "runs"):
            names.update(str(m) for m in pc.unique(self.partitions(table)["monitor"]).to_pylist()
                         if m is not None)
        return names

    @cached_property
    def _windows(self) -> dict[str, list[datetime]]:  # every monitor's: the log is read once
        parts = self.partitions("drift_results")
        grouped = parts.group_by("monitor").aggregate([("window_start", "distinct")])
        return {str(m): sorted({naive_utc(s) for s in starts if s is not None})
                for m, starts in zip(grouped["monitor"].to_pylist(),
                                     grouped["window_start_distinct"].to_pylist(), strict=True)}

    def windows(self, monitor: str, span: Span = Span()) -> list[datetime]:
        """The monitor's window starts with drift rows, oldest first."""
        return [s for s in self._windows.get(monitor, []) if span.holds(s)]

    # --- reads ---------------------------------------------------------------------------------

    def read(self, scan: Scan, record: bool = True) -> pa.Table:
        """The scan's rows (a column an older table lacks: nulls of the contract's type)."""
        from deltalake import QueryBuilder

        table = self.table(scan.table)
        target = pa.schema([(c, arrow_type(contract.TABLE[scan.table].column(c).type))
                            for c in scan.columns])
        if table is None:
            return target.empty_table()
        if record and self.on_scan is not None:
            self.on_scan(self, scan)
        stored = [f.name for f in table.schema().fields]
        reader = QueryBuilder().register(scan.table, table).execute(scan.sql(stored))
        read = pa.RecordBatchReader.from_stream(reader).read_all()
        # DataFusion may hand strings back as views; a naive timestamp stays naive.
        columns = [(read[f.name] if pa.types.is_timestamp(f.type) else read[f.name].cast(f.type))
                   if f.name in read.column_names else pa.nulls(read.num_rows, f.type)
                   for f in target]
        return pa.table(columns, names=target.names)

    def scan_metrics(self, scan: Scan) -> ScanMetrics:
        """What the scan reads, from delta-rs' own plan metrics (EXPLAIN ANALYZE runs it):
        what shows that a read skips the files of other monitors and windows."""
        from deltalake import QueryBuilder

        table = self.table(scan.table)
        if table is None:
            return ScanMetrics(0, 0, ())
        stored = [f.name for f in table.schema().fields]
        reader = QueryBuilder().register(scan.table, table).execute(
            "EXPLAIN ANALYZE " + scan.sql(stored))
        plans = pa.RecordBatchReader.from_stream(reader).read_all().to_pylist()
        text = "\n".join(str(p["plan"]) for p in plans)
        opened = sum(int(n) for n in re.findall(r"\bfiles_opened=(\d+)", text))
        returned = re.search(r"\boutput_rows=(\d+)", text)  # the top node's: the result
        shown = tuple(re.findall(r"[^\s\[\],]+\.parquet", text))
        return ScanMetrics(opened, int(returned.group(1)) if returned else 0, shown)

    def drift_rows(self, monitor: str, columns: Sequence[str], span: Span = Span(),
                   column: str | None = None,
                   starts: Sequence[datetime] | None = None,
                   reruns: bool = False) -> pa.Table:
        """The monitor's drift rows in the span (or at `starts`), of one column or all; of a
        re-run window only the latest row unless `reruns`."""
        where = (equals("monitor", monitor), *within(span))
        if starts is not None:
            if not starts:
                return self.read(Scan("drift_results", tuple(columns), ("FALSE",)))
            where += (one_of("window_start", starts),)
        if column is not None:
            where += (equals("column_name", column),)
        if reruns:
            return self.read(Scan("drift_results", tuple(columns), where))
        wanted = tuple(dict.fromkeys((*columns, *RERUN_KEY, "computed_at")))
        return latest_reruns(self.read(Scan("drift_results", wanted, where))).select(
            list(columns))

    def last_windows(self, monitor: str, count: int, columns: Sequence[str],
                     span: Span = Span()) -> pa.Table:
        """The rows of the monitor's last `count` windows in the span (the heatmap)."""
        return self.drift_rows(monitor, columns, starts=self.windows(monitor, span)[-count:])

    def latest_window(self, monitor: str, columns: Sequence[str],
                      span: Span = Span()) -> pa.Table:
        """The rows of the monitor's latest window in the span: every column's latest result."""
        return self.last_windows(monitor, 1, columns, span)

    def window_end(self, monitor: str) -> datetime | None:
        """The end of the monitor's latest window; None before the first."""
        rows = self.latest_window(monitor, ["window_end"])["window_end"].to_pylist()
        return max((naive_utc(r) for r in rows if r is not None), default=None)

    def profiles(self, monitor: str, column: str, baseline_id: str, span: Span,
                 columns: Sequence[str] = ("window_start", "counts")) -> pa.Table:
        """One column's profiles against one baseline, windows in the span."""
        where = (equals("monitor", monitor), *within(span), equals("column_name", column),
                 equals("baseline_id", baseline_id))
        return self.read(Scan("profiles", tuple(columns), where))

    def baselines(self, monitor: str | None = None) -> pa.Table:
        """Every baseline row (one per monitor, baseline and column: no window history)."""
        where = (equals("monitor", monitor),) if monitor else ()
        return self.read(Scan("baselines", tuple(contract.BASELINES.names()), where))

    def runs(self, monitor: str | None = None, last: int | None = None) -> pa.Table:
        """The monitor's runs, newest first (`last` of them)."""
        where = (equals("monitor", monitor),) if monitor else ()
        rows = self.read(Scan("runs", tuple(contract.RUNS.names()), where))
        rows = rows.sort_by([("started_at", "descending")])
        return rows.slice(0, last) if last is not None else rows

    def quality(self, monitor: str, span: Span = Span(), failed: bool = True) -> pa.Table:
        """The monitor's quality results in the span (only the failed ones by default)."""
        where = (equals("monitor", monitor), *within(span))
        if failed:
            where += ("NOT coalesce(success, TRUE)",)
        return self.read(Scan("quality_results", tuple(contract.QUALITY_RESULTS.names()),
                              where))

    def volume(self, monitor: str, span: Span = Span(),
               columns: Sequence[str] = tuple(contract.VOLUME_RESULTS.names())) -> pa.Table:
        """The monitor's volume and freshness rows of the windows in the span."""
        where = (equals("monitor", monitor), *within(span))
        return self.read(Scan("volume_results", tuple(columns), where))


def latest_reruns(rows: pa.Table) -> pa.Table:
    """One row per monitor, column and window: the latest computed."""
    if rows.num_rows < 2:
        return rows
    order = rows.append_column("_i", pa.array(range(rows.num_rows), pa.int64()))
    order = order.sort_by([*((k, "ascending") for k in RERUN_KEY), ("computed_at", "ascending"),
                           ("_i", "ascending")])
    last = _last_of_runs([order[k] for k in RERUN_KEY])
    return order.filter(pa.array(last)).drop_columns(["_i"])


def _last_of_runs(keys: list[pa.ChunkedArray]) -> list[bool]:
    """For rows sorted by `keys`: whether each is the last of its run of equal keys."""
    size = len(keys[0])
    differs = pc.fill_null(pc.not_equal(keys[0].slice(0, size - 1), keys[0].slice(1)), True)
    for key in keys[1:]:
        step = pc.fill_null(pc.not_equal(key.slice(0, size - 1), key.slice(1)), True)
        differs = pc.or_(differs, step)
    return [*differs.to_pylist(), True]
