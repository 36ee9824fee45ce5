"""Which columns a monitor watches, and how each Spark type is binned (or why it is skipped)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import types as T

from kl_udfs.core.bins import Kind
from kl_udfs.core.config import Monitor
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.schema import date_window_problem
from kl_udfs.core.windows import Window

_NUMERIC_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType,
                  T.DoubleType, T.DecimalType, T.DateType, T.TimestampType, T.TimestampNTZType)
_CATEGORICAL_TYPES = (T.StringType, T.BooleanType, T.CharType, T.VarcharType)


@dataclass(frozen=True)
class ColumnChoice:
    name: str
    kind: Kind | None  # None: skipped
    source_type: str
    skipped_reason: str | None = None


def kind_of(data_type: T.DataType, force_categorical: bool) -> Kind | None:
    if isinstance(data_type, _CATEGORICAL_TYPES):
        return "categorical"
    if isinstance(data_type, _NUMERIC_TYPES):
        temporal = isinstance(data_type, T.DateType | T.TimestampType | T.TimestampNTZType)
        return "categorical" if force_categorical and not temporal else "numeric"
    return None


def check_timestamp(monitor: Monitor, schema: T.StructType,
                    windows: Sequence[Window] = ()) -> None:
    """Windows are cut on this column, so it must exist and be a date or timestamp; a date
    only cuts windows of whole days."""
    fields = {field.name: field for field in schema.fields}
    if monitor.timestamp_column not in fields:
        raise KlDriftError("timestamp column not found in the table", monitor=monitor.name,
                           table=monitor.table, column=monitor.timestamp_column)
    ts_type = fields[monitor.timestamp_column].dataType
    if not isinstance(ts_type, T.DateType | T.TimestampType | T.TimestampNTZType):
        raise KlDriftError(f"timestamp column has type {ts_type.simpleString()}, expected "
                           "timestamp or date", monitor=monitor.name, table=monitor.table,
                           column=monitor.timestamp_column)
    problem = date_window_problem(windows) if isinstance(ts_type, T.DateType) else None
    if problem:
        raise KlDriftError(problem, monitor=monitor.name, table=monitor.table,
                           column=monitor.timestamp_column)


def choose_columns(monitor: Monitor, schema: T.StructType) -> list[ColumnChoice]:
    """The monitored columns in config order (default: every column but the timestamp).

    A column named in the config but absent from the table is an error; an unsupported type
    (map, array, struct, binary) is skipped with the reason recorded.
    """
    check_timestamp(monitor, schema)
    fields = {field.name: field for field in schema.fields}
    excluded = {monitor.timestamp_column, *monitor.exclude_columns}
    names = monitor.columns if monitor.columns is not None else [
        f.name for f in schema.fields if f.name not in excluded]
    for name in [*names, *monitor.categorical_columns]:
        if name not in fields:
            raise KlDriftError("column not found in the table", monitor=monitor.name,
                               table=monitor.table, column=name)
    choices = []
    for name in names:
        data_type = fields[name].dataType
        kind = kind_of(data_type, name in monitor.categorical_columns)
        reason = None if kind else f"type {data_type.simpleString()} is not supported"
        choices.append(ColumnChoice(name, kind, data_type.simpleString(), reason))
    return choices
