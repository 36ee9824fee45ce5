"""Where the monitoring Delta tables are, and a snapshot of their versions that the pages
read their slices from, with delta-rs (no JVM).

A background thread takes a new snapshot when a table's Delta version changes; a page then
reads its slice at the new versions. Memory holds the slices of the last pages shown, never a
table's whole history.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import pandas as pd
import pyarrow as pa

from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.storage import is_object_store
from kl_udfs.lake.slices import Monitoring

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConfiguredMonitor:
    name: str
    table: str
    window: str
    baseline: str  # how the baseline is defined, in words


@dataclass(frozen=True)
class Source:
    """Where the tables are, and the monitors the config declares (none without a config)."""

    monitoring_path: str
    config_path: str | None = None
    monitors: tuple[ConfiguredMonitor, ...] = ()
    # delta-rs storage options for object storage (from the config's `storage`), else None
    storage_options: tuple[tuple[str, str], ...] | None = None

    def table_uri(self, name: str) -> str:
        return f"{self.monitoring_path.rstrip('/')}/{name}"

    @property
    def options(self) -> dict[str, str] | None:
        return dict(self.storage_options) if self.storage_options is not None else None


def source_from_config(path: str | Path) -> Source:
    """The monitoring location and monitors of a monitors YAML (KlDriftError when invalid)."""
    from kl_udfs.core.config import load_config  # pydantic + yaml only

    config = load_config(path)
    monitors = []
    for m in config.monitors:
        b = m.baseline
        if b.kind == "rolling":
            baseline = f"rolling: the previous {b.previous_windows} windows"
        elif b.kind == "version":
            baseline = f"Delta version {b.version} of the table"
        else:
            baseline = f"range [{b.start:%Y-%m-%d %H:%M}, {b.end:%Y-%m-%d %H:%M})"
        monitors.append(ConfiguredMonitor(m.name, m.table, m.window, baseline))
    options = config.delta_rs_options()
    return Source(config.monitoring.path, str(Path(path).resolve()), tuple(monitors),
                  tuple(sorted(options.items())) if options is not None else None)


def source_from_monitoring(path: str | Path) -> Source:
    if is_object_store(str(path)):  # the endpoint and keys come from AWS_* variables
        return Source(str(path))
    location = Path(path)
    if not location.is_dir():
        raise KlDriftError(f"monitoring path {path} does not exist (build a baseline first, "
                           "or pass --config with the monitors YAML)")
    return Source(str(location.resolve()))


CACHED_SLICES = 64  # page slices kept per snapshot: a few pages of every monitor


class Snapshot:
    """The monitoring tables pinned at the versions they had when it was taken. Nothing is
    read up front: each page reads its slice through `kl_udfs.lake.slices` (its monitor's
    partitions of the windows it shows), and the last slices are kept while the versions
    stay the same."""

    def __init__(self, source: Source) -> None:
        began = time.perf_counter()
        self.source = source
        self.tables = Monitoring(source.monitoring_path, source.options)
        self.versions = self.tables.versions  # opens each table's log once
        self.loaded_at = datetime.now(UTC)
        self.load_seconds = time.perf_counter() - began
        self._slices: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def has_tables(self) -> bool:
        return any(v is not None for v in self.versions.values())

    def cached(self, key: tuple[Any, ...], read: Callable[[], T]) -> T:
        """`read()`, kept for the next request that asks for the same slice."""
        with self._lock:
            if key in self._slices:
                self._slices.move_to_end(key)
                return cast(T, self._slices[key])
        value = read()
        with self._lock:
            self._slices[key] = value
            while len(self._slices) > CACHED_SLICES:
                self._slices.popitem(last=False)
        return value


def naive_utc(frame: pd.DataFrame) -> pd.DataFrame:
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.DatetimeTZDtype):
            frame[name] = frame[name].dt.tz_convert(None)
    return frame


def frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow slice as pandas, timestamps as naive UTC."""
    return naive_utc(table.to_pandas())


def load_snapshot(source: Source) -> Snapshot:
    return Snapshot(source)


class Store:
    """The current snapshot, replaced by a refresh thread when a table's version changes (the
    pages then read their slices at the new versions)."""

    def __init__(self, source: Source, refresh_s: float = 10.0) -> None:
        self.source = source
        self.refresh_s = refresh_s
        self._snapshot = load_snapshot(source)
        self._watch = Monitoring(source.monitoring_path, source.options)  # for new versions
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def refresh(self) -> bool:
        """Take a new snapshot when a table changed; True when something changed."""
        current = self._snapshot
        versions = self._watch.catch_up()
        if versions == current.versions:
            return False
        self._snapshot = load_snapshot(self.source)
        log.info("monitoring tables changed; versions %s", self._snapshot.versions)
        return True
    def start(self) -> None:
        if self.refresh_s <= 0 or self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(self.refresh_s):
                try:
                    self.refresh()
                except Exception:  # a half-written table must not kill the refresher
                    log.exception("refreshing the monitoring tables failed; keeping the last")

        self._thread = threading.Thread(target=loop, name="kldrift-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
