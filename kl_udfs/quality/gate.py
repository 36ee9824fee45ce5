"""The data-quality gate of each window: Great Expectations on the window's Spark DataFrame.

Per monitor, `quality` in the config (all optional) becomes a list of GX expectations:

    row count between row_count.min (default 1: an empty window fails) and row_count.max
    every column of `columns` exists (when the monitor lists its columns)
    not null              not_null (default: [timestamp_column]), with `mostly`
    in a set of values    value_sets, with `mostly` (of the non-null values)
    between min and max   ranges, with `mostly` (of the non-null values)
    of a Spark type       types (class names of pyspark.sql.types, e.g. DoubleType)

`check_window` validates one window [start, end) with a real GX ephemeral context over a Spark
data source and writes one row per expectation to `quality_results` by MERGE on
(monitor, window_start, window_end, expectation, column_name), so a re-run replaces its rows.
A failing gate is data, not an error: it lands in the table and in the returned outcome. Only
bad input (a column named by `quality` that the table lacks, an unknown type name) raises
KlDriftError, and it does so before anything is written to quality_results.

`observed_value` is the share (0..1, as text) of values that failed for the not-null, set and
range checks, the row count for the row-count check and the Spark type name for the type
check; `details` is the human-readable line also returned in `QualityOutcome.failed`.

Great Expectations is imported inside the functions that use it: it takes seconds to import,
and Airflow parses DAG files that import this package.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from kl_udfs.core.config import Config, Monitor
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.windows import Window
from kl_udfs.lake.slices import Monitoring, Scan, equals, naive_utc, one_of
from kl_udfs.spark.columns import check_timestamp
from kl_udfs.spark.histogram import col, in_range
from kl_udfs.spark.runs import RunRecord, recorded, started
from kl_udfs.spark.session import utc_session
from kl_udfs.spark.source import open_table
from kl_udfs.spark.tables import QUALITY_RESULTS, RUNS, ensure_tables, merge

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )
    from great_expectations.expectations.expectation import Expectation

ROW_COUNT = "expect_table_row_count_to_be_between"
COLUMN_EXISTS = "expect_column_to_exist"
NOT_NULL = "expect_column_values_to_not_be_null"
IN_SET = "expect_column_values_to_be_in_set"
BETWEEN = "expect_column_values_to_be_between"
OF_TYPE = "expect_column_values_to_be_of_type"
_ORDER = {name: i for i, name in enumerate(
    (ROW_COUNT, COLUMN_EXISTS, NOT_NULL, IN_SET, BETWEEN, OF_TYPE))}
_SHOWN_VALUES = 5  # set members and unexpected examples shown in a failure text


@dataclass(frozen=True)
class QualityOutcome:
    """The gate of one window: `failed` holds one readable line per failed expectation."""

    monitor: str
    window: Window
    run_id: str
    success: bool
    failed: list[str]
    results: list[dict[str, Any]]  # the rows written to quality_results
    row_count: int | None


# --- the expectations ---------------------------------------------------------------------


def not_null_columns(monitor: Monitor) -> list[str]:
    configured = monitor.quality.not_null
    return list(dict.fromkeys(
        [monitor.timestamp_column] if configured is None else configured))


def expectations_for(monitor: Monitor) -> list[Expectation]:
    """The monitor's GX expectations, in a stable order, from its config and the defaults."""
    from great_expectations import expectations as gxe

    quality = monitor.quality
    mostly = quality.mostly
    found: list[Expectation] = [gxe.ExpectTableRowCountToBeBetween(
        min_value=quality.row_count.min, max_value=quality.row_count.max)]
    found += [gxe.ExpectColumnToExist(column=name)
              for name in dict.fromkeys(monitor.columns or [])]
    found += [gxe.ExpectColumnValuesToNotBeNull(column=name, mostly=mostly)
              for name in not_null_columns(monitor)]
    found += [gxe.ExpectColumnValuesToBeInSet(column=name, value_set=list(allowed), mostly=mostly)
              for name, allowed in quality.value_sets.items()]
    found += [gxe.ExpectColumnValuesToBeBetween(column=name, min_value=bounds.min,
                                                max_value=bounds.max, mostly=mostly)
              for name, bounds in quality.ranges.items()]
    found += [gxe.ExpectColumnValuesToBeOfType(column=name, type_=type_name)
              for name, type_name in quality.types.items()]
    return found


def check_columns(monitor: Monitor, schema: T.StructType) -> None:
    """Every column `quality` names exists and every type name is a Spark type, or one line."""
    check_timestamp(monitor, schema)
    where = {"monitor": monitor.name, "table": monitor.table}
    fields = {field.name: field for field in schema.fields}
    quality = monitor.quality
    named = [("not_null", not_null_columns(monitor)), ("value_sets", list(quality.value_sets)),
             ("ranges", list(quality.ranges)), ("types", list(quality.types))]
    for setting, columns in named:
        for name in columns:
            if name not in fields:
                raise KlDriftError(f"quality.{setting}: column not found in the table",
                                   column=name, **where)
    for name, type_name in quality.types.items():
        if not _is_spark_type(type_name):
            raise KlDriftError(f"quality.types: '{type_name}' is not a Spark type name "
                               "(e.g. DoubleType, StringType, TimestampType)",
                               column=name, **where)


def _is_spark_type(name: str) -> bool:
    found = getattr(T, name, None)
    return isinstance(found, type) and issubclass(found, T.DataType) and found is not T.DataType


# --- validation with Great Expectations --------------------------------------------------


def run_expectations(df: DataFrame, expectations: Sequence[Expectation]
                     ) -> list[ExpectationValidationResult]:
    """Validate a Spark DataFrame as one whole-dataframe batch of a fresh ephemeral context.

    Nothing is persisted: no stores on disk, no data docs; progress bars and analytics are off.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # persist=False: the caller decides what to cache (GX would persist and never release it).
    source = context.data_sources.add_spark(name="kl_drift", persist=False)
    batch_definition = (source.add_dataframe_asset(name="window")
                        .add_batch_definition_whole_dataframe("whole_window"))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
    suite = gx.ExpectationSuite(name="kl_drift_quality", expectations=list(expectations))
    return list(batch.validate(suite, result_format="SUMMARY").results)


def _raised(result: ExpectationValidationResult) -> str | None:
    """The exception message GX caught while evaluating, if any (it nests them per metric)."""
    info = result.exception_info or {}
    candidates = [info, *(v for v in info.values() if isinstance(v, dict))]
    for candidate in candidates:
        if candidate.get("raised_exception"):
            message = str(candidate.get("exception_message") or "unknown error").strip()
            return message.splitlines()[0] if message else "unknown error"
    return None


# --- readable results --------------------------------------------------------------------


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _percent(share: float) -> str:
    if share == 0 or share >= 0.001:
        return f"{share:.1%}"
    return f"{share * 100:.2g}%"


def _listed(values: Iterable[Any]) -> str:
    values = list(values)
    shown = ", ".join(_number(v) for v in values[:_SHOWN_VALUES])
    more = len(values) - _SHOWN_VALUES
    return f"{shown}, +{more} more" if more > 0 else shown


def _share(result: dict[str, Any]) -> float | None:
    """The failed share GX judges `mostly` by (of all rows for not-null, else non-null)."""
    percent = result.get("unexpected_percent")
    return None if percent is None else float(percent) / 100


def _describe(kind: str, column: str, kwargs: dict[str, Any], result: dict[str, Any],
              mostly: float, success: bool) -> tuple[str | None, str]:
    """(observed_value, readable line) of one expectation's GX result."""
    if kind == ROW_COUNT:
        observed = result.get("observed_value")
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        expected = (f"expected at least {_number(low)}" if high is None
                    else f"expected {_number(low or 0)} to {_number(high)}")
        count = "?" if observed is None else _number(observed)
        return (None if observed is None else str(observed),
                f"row count: {count} rows ({expected})")
    if kind == COLUMN_EXISTS:
        return None, f"{column}: column exists" + ("" if success else " (missing from the table)")
    if kind == OF_TYPE:
        observed = result.get("observed_value")
        seen = f" (observed {observed})" if observed is not None else ""
        return (None if observed is None else str(observed),
                f"{column}: type {kwargs.get('type_')}{seen}")
    share = _share(result)
    if kind == NOT_NULL:
        label, what = "not null", "null"
    elif kind == IN_SET:
        label, what = f"in set [{_listed(kwargs.get('value_set') or [])}]", "outside"
    else:
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        label = (f"in range [{_number(low)}, {_number(high)}]" if low is not None and
                 high is not None else f">= {_number(low)}" if low is not None
                 else f"<= {_number(high)}")
        what = "outside"
    if share is None:
        return None, f"{column}: {label} (no values)"
    allowed = f", at most {_percent(1 - mostly)} allowed" if mostly < 1 else ""
    examples = [v for v in result.get("partial_unexpected_list") or [] if v is not None]
    example = f", e.g. {_listed(dict.fromkeys(examples))}" if examples and kind != NOT_NULL \
        else ""
    return repr(share), f"{column}: {label} ({_percent(share)} {what}{allowed}{example})"


def _sort_key(row: dict[str, Any]) -> tuple[int, str]:
    return _ORDER.get(row["expectation"], len(_ORDER)), row["column_name"]


def _rows(monitor: Monitor, window: Window, run_id: str, computed_at: datetime,
          results: Sequence[ExpectationValidationResult]) -> list[dict[str, Any]]:
    rows = []
    for result in results:
        config = result.expectation_config
        if config is None:
            raise KlDriftError("Great Expectations returned a result without its expectation",
                               monitor=monitor.name, table=monitor.table)
        kwargs = dict(config.kwargs)
        column = str(kwargs.get("column") or "")
        raised = _raised(result)
        if raised is not None:
            raise KlDriftError(f"quality check {config.type} could not be evaluated: {raised}",
                               monitor=monitor.name, table=monitor.table, column=column or None)
        success = bool(result.success)
        observed, details = _describe(config.type, column, kwargs, dict(result.result or {}),
                                      monitor.quality.mostly, success)
        rows.append({
            "monitor": monitor.name, "table_name": monitor.table,
            "window_start": window.start, "window_end": window.end,
            "expectation": config.type, "column_name": column, "success": success,
            "observed_value": observed, "details": details, "run_id": run_id,
            "computed_at": computed_at,
        })
    return sorted(rows, key=_sort_key)


def _frame(spark: SparkSession, rows: Sequence[dict[str, Any]]) -> DataFrame:
    """Rows as a QUALITY_RESULTS frame; timestamps travel as UTC text, whatever the local TZ."""
    schema = QUALITY_RESULTS.schema
    is_time = {f.name: isinstance(f.dataType, T.TimestampType) for f in schema.fields}
    text = T.StructType([T.StructField(f.name, T.StringType()) if is_time[f.name] else f
                         for f in schema.fields])
    data = [tuple(row[name].isoformat(sep=" ") if is_time[name] else row[name]
                  for name in schema.fieldNames()) for row in rows]
    frame = spark.createDataFrame(data, text)
    return frame.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])


# --- the gate of a window -----------------------------------------------------------------


def check_window(spark: SparkSession, config: Config, monitor_name: str, window: Window,
                 run_id: str | None = None) -> QualityOutcome:
    """Validate one window [start, end) and MERGE one row per expectation into quality_results.

    Bad input (a missing column, an unknown type name, an unreadable table) raises KlDriftError
    before anything is written to quality_results; a failing gate returns `success=False` and
    is recorded. Either way the check leaves one row (operation "quality") in `runs`.
    """
    monitor = config.monitor(monitor_name)
    ensure_tables(spark, config.monitoring.path, config.monitoring.database,
                  (QUALITY_RESULTS, RUNS))  # the two tables this check writes
    record = RunRecord(monitor.name, monitor.table, "quality", run_id=run_id or uuid.uuid4().hex,
                       window_start=window.start, window_end=window.end, windows=1)
    with utc_session(spark), recorded(spark, config, record):
        started(spark, config, record)
        computed_at = datetime.now(UTC).replace(tzinfo=None)  # a record time, not task logic
        opened = open_table(spark, monitor)
        check_columns(monitor, opened.df.schema)
        check_timestamp(monitor, opened.df.schema, [window])
        ts_type = opened.df.schema[monitor.timestamp_column].dataType
        scoped = opened.df.where(in_range(col(monitor.timestamp_column), ts_type,
                                          window.start, window.end))
        expectations = expectations_for(monitor)
        scoped = scoped.persist()  # GX computes its metrics in several Spark jobs: scan once
        try:
            results = run_expectations(scoped, expectations)
        finally:
            scoped.unpersist()
        rows = _rows(monitor, window, record.run_id, computed_at, results)
        # The window's checks are replaced whole: a check removed from the config goes too.
        record.conflict_retries += merge(
            spark, config.monitoring.path, QUALITY_RESULTS, _frame(spark, rows),
            {"monitor": [monitor.name]}, replace={"monitor": monitor.name,
                                                  "window_start": window.start,
                                                  "window_end": window.end})
        counted = [r["observed_value"] for r in rows if r["expectation"] == ROW_COUNT]
        row_count = int(counted[0]) if counted and counted[0] is not None else None
        record.rows_scanned = row_count or 0
        record.columns = len({r["column_name"] for r in rows if r["column_name"]})
    failed = [r["details"] for r in rows if not r["success"]]
    return QualityOutcome(monitor=monitor.name, window=window, run_id=record.run_id,
                          success=not failed, failed=failed, results=rows, row_count=row_count)


def failed_windows(config: Config, monitor_name: str,
                   windows: Sequence[Window]) -> dict[datetime, list[str]]:
    """Window start -> failure lines, for the given windows whose latest check failed.

    A window's gate is its latest check (the rows of its latest run), so a check re-run after
    the config dropped an expectation is judged by the new set only. Windows never checked,
    and every window when the table does not exist yet, are absent from the result. A small
    read of the windows' rows, without a Spark job.
    """
    monitor = config.monitor(monitor_name)
    tables = Monitoring.of(config)
    if not windows or tables.table(QUALITY_RESULTS.name) is None:
        return {}
    wanted = {(w.start, w.end): w.start for w in windows}
    rows = tables.read(Scan(QUALITY_RESULTS.name, (
        "window_start", "window_end", "expectation", "column_name", "success", "details",
        "computed_at", "run_id"), (equals("monitor", monitor.name),
                                   one_of("window_start", [w.start for w in windows])))
    ).to_pylist()
    runs: dict[tuple[datetime, datetime], list[dict[str, Any]]] = {}
    for row in rows:
        key = (naive_utc(row["window_start"]), naive_utc(row["window_end"]))
        if key in wanted:
            runs.setdefault(key, []).append(row)
    found: dict[datetime, list[dict[str, Any]]] = {}
    for key, checks in runs.items():
        latest = max((r["computed_at"], r["run_id"] or "") for r in checks)
        failed = [r for r in checks if (r["computed_at"], r["run_id"] or "") == latest
                  and r["success"] is False]
        if failed:
            found[wanted[key]] = failed
    return {start: [r["details"] for r in sorted(failed, key=_sort_key)]
            for start, failed in sorted(found.items())}
