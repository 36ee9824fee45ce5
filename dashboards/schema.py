"""The monitoring tables' contract (DESIGN.md) as Arrow schemas, for reading and for writing
synthetic tables. `tests/dashboard/test_schema.py` checks them against `kl_udfs.tables`."""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
CONTRIBUTOR = pa.struct([
    ("bin", pa.string()), ("contribution", pa.float64()),
    ("baseline_fraction", pa.float64()), ("current_fraction", pa.float64()),
])

_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(), "double": pa.float64(), "long": pa.int64(), "int": pa.int32(),
    "boolean": pa.bool_(), "timestamp": TS, "array<string>": pa.list_(pa.string()),
    "array<double>": pa.list_(pa.float64()), "array<long>": pa.list_(pa.int64()),
    "array<contributor>": pa.list_(CONTRIBUTOR),
}


def _schema(ddl: str) -> pa.Schema:
    return pa.schema([(name, _TYPES[kind]) for name, kind in
                      (item.split() for item in ddl.split(","))])


DRIFT_RESULTS = _schema(
    "monitor string, table_name string, column_name string, column_kind string, "
    "window_start timestamp, window_end timestamp, baseline_id string, "
    "kl_divergence double, kl_reverse double, js_divergence double, psi double, "
    "g_statistic double, p_value double, current_count long, baseline_count long, "
    "current_null_fraction double, baseline_null_fraction double, threshold double, "
    "p_value_threshold double, status string, message string, "
    "top_contributors array<contributor>, run_id string, computed_at timestamp")
PROFILES = _schema(
    "monitor string, table_name string, column_name string, column_kind string, "
    "window_start timestamp, window_end timestamp, baseline_id string, "
    "bin_labels array<string>, counts array<long>, count long, null_count long, "
    "min double, max double, run_id string, computed_at timestamp")
BASELINES = _schema(
    "monitor string, baseline_id string, column_name string, column_idx int, "
    "column_kind string, source_type string, bins_json string, edges array<double>, "
    "categories array<string>, bin_labels array<string>, counts array<long>, "
    "count long, null_count long, min double, max double, skipped_reason string, "
    "source string, table_name string, table_version long, range_start timestamp, "
    "range_end timestamp, previous_windows int, window_length_s long, created_at timestamp, "
    "run_id string")
RUNS = _schema(
    "run_id string, monitor string, table_name string, operation string, "
    "window_start timestamp, window_end timestamp, baseline_id string, windows int, "
    "columns int, rows_scanned long, duration_s double, status string, error string, "
    "started_at timestamp, finished_at timestamp")
QUALITY_RESULTS = _schema(
    "monitor string, table_name string, window_start timestamp, window_end timestamp, "
    "expectation string, column_name string, success boolean, observed_value string, "
    "details string, run_id string, computed_at timestamp")

TABLES: dict[str, pa.Schema] = {
    "drift_results": DRIFT_RESULTS, "profiles": PROFILES, "baselines": BASELINES,
    "runs": RUNS, "quality_results": QUALITY_RESULTS,
}
PARTITIONS: dict[str, list[str]] = {
    "drift_results": ["monitor", "window_start"], "profiles": ["monitor", "window_start"],
    "baselines": ["monitor"], "runs": ["monitor"], "quality_results": ["monitor"],
}
