"""The benchmark table: one reference day and one window day, as Delta and as Parquet.

Deterministic (numpy seeded by column and chunk) and written without a JVM (pyarrow and
delta-rs), once per shape; a shape is (rows per day, columns, string cardinality). Column kinds
cycle float, int, string, timestamp, each with nulls (floats also with NaN). The window day
drifts: floats move up by a quarter standard deviation, the strings' Zipf tilt flattens,
ints gain a little mean; the timestamps do not change.

    <dir>/<shape>/delta/                   the Delta table (event_time, c000_float, ...)
    <dir>/<shape>/parquet/day=reference/   the same rows as plain Parquet
    <dir>/<shape>/parquet/day=window/
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20261130
VERSION = 1  # bump when the generator changes, so cached tables are rebuilt
CHUNK_ROWS = 500_000
REFERENCE_DAY = datetime(2026, 1, 1)
WINDOW_DAY = REFERENCE_DAY + timedelta(days=1)
KINDS = ("float", "int", "string", "timestamp")
NULL_SHARE = 0.01


@dataclass(frozen=True)
class Shape:
    rows: int  # per day: the window has this many rows, and so does the reference
    columns: int
    cardinality: int = 20

    @property
    def name(self) -> str:
        return f"rows{self.rows}_cols{self.columns}_card{self.cardinality}"


@dataclass(frozen=True)
class Dataset:
    shape: Shape
    root: Path

    @property
    def delta(self) -> Path:
        return self.root / "delta"

    def parquet(self, day: str) -> Path:
        return self.root / "parquet" / f"day={day}"


def column_name(position: int) -> str:
    return f"c{position:03d}_{KINDS[position % len(KINDS)]}"



def universe(shape: Shape) -> list[str]:
    """Every value a string column of this shape can hold."""
    return [f"v{i}" for i in range(shape.cardinality)]

def _chunk(shape: Shape, day: datetime, drifted: bool, start: int, rows: int,
           salt: int = 0) -> pa.Table:
    base_us = int((day - datetime(1970, 1, 1)) / timedelta(microseconds=1))
    day_us = 86_400_000_000
    index = np.arange(start, start + rows, dtype=np.int64)
    utc = pa.timestamp("us", "UTC")
    arrays: dict[str, pa.Array] = {
        "event_time": pa.array(base_us + index * day_us // shape.rows, type=utc)}
    categories = np.array(universe(shape))
    tilt = 0.8 if drifted else 1.1
    weights = 1.0 / np.arange(1, shape.cardinality + 1) ** tilt
    weights /= weights.sum()
    for position in range(shape.columns):
        salted = [salt] if salt else []  # salt 0 keeps the two-day tables' seeds
        rng = np.random.default_rng([SEED, position, int(drifted), start, *salted])
        kind = KINDS[position % len(KINDS)]
        nulls = rng.random(rows) < NULL_SHARE
        if kind == "float":
            values = rng.normal(100.0 + (3.75 if drifted else 0.0), 15.0, rows)
            values[rng.random(rows) < 1e-4] = np.nan
            arrays[column_name(position)] = pa.array(values, mask=nulls)
        elif kind == "int":
            mean = 3.0 + position % 40 + (0.3 if drifted else 0.0)
            arrays[column_name(position)] = pa.array(rng.poisson(mean, rows), mask=nulls)
        elif kind == "string":
            codes = rng.choice(shape.cardinality, size=rows, p=weights).astype(np.int32)
            arrays[column_name(position)] = pa.DictionaryArray.from_arrays(
                pa.array(codes, mask=nulls), pa.array(categories)).cast(pa.string())
        else:
            offsets = rng.integers(0, 30 * day_us, rows)
            arrays[column_name(position)] = pa.array(base_us - offsets, type=utc, mask=nulls)
    return pa.table(arrays)


DAYS = [("reference", REFERENCE_DAY, False), ("window", WINDOW_DAY, True)]  # (name, day, drifts)


def dataset(data_dir: Path, shape: Shape) -> Dataset:
    """The dataset of this shape, generated unless an identical one is already there."""
    from deltalake import write_deltalake

    found = Dataset(shape, data_dir / shape.name)
    marker = found.root / "_shape.json"
    expected = {"shape": shape.__dict__, "seed": SEED, "version": VERSION}
    if marker.exists() and json.loads(marker.read_text()) == expected:
        return found
    shutil.rmtree(found.root, ignore_errors=True)
    for day_name, day, drifted in DAYS:
        found.parquet(day_name).mkdir(parents=True)
        for n, start in enumerate(range(0, shape.rows, CHUNK_ROWS)):
            chunk = _chunk(shape, day, drifted, start, min(CHUNK_ROWS, shape.rows - start))
            pq.write_table(chunk, found.parquet(day_name) / f"part-{n:05d}.parquet")
            # Appended in time order, so Delta's file stats let a window read skip the other day.
            write_deltalake(str(found.delta), chunk, mode="append")
    marker.write_text(json.dumps(expected))
    return found


def daily_table(data_dir: Path, shape: Shape, days: int) -> Path:
    """A Delta table of `days` consecutive days from REFERENCE_DAY, `shape.rows` rows each.

    For the backfill curve: every day is drawn afresh (no drift), written in time order in
    files of about CHUNK_ROWS rows so a window read skips the other days' files.
    """
    from deltalake import write_deltalake

    root = data_dir / f"daily_{shape.name}_days{days}"
    marker = root / "_shape.json"
    expected = {"shape": shape.__dict__, "days": days, "seed": SEED, "version": VERSION}
    if marker.exists() and json.loads(marker.read_text()) == expected:
        return root / "delta"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    pending: list[pa.Table] = []
    for d in range(days):
        pending.append(_chunk(shape, REFERENCE_DAY + timedelta(days=d), False, 0, shape.rows,
                              salt=d + 1))
        if len(pending) * shape.rows >= CHUNK_ROWS or d == days - 1:
            write_deltalake(str(root / "delta"), pa.concat_tables(pending), mode="append")
            pending = []
    marker.write_text(json.dumps(expected))
    return root / "delta"
