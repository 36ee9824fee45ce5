"""The monitoring Delta tables (the contract in DESIGN.md): schemas, creation and MERGE."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from kl_udfs.errors import KlDriftError

CONTRIBUTOR = T.StructType([
    T.StructField("bin", T.StringType()),
    T.StructField("contribution", T.DoubleType()),
    T.StructField("baseline_fraction", T.DoubleType()),
    T.StructField("current_fraction", T.DoubleType()),
])


_TYPES: dict[str, T.DataType] = {
    "string": T.StringType(), "double": T.DoubleType(), "long": T.LongType(),
    "int": T.IntegerType(), "boolean": T.BooleanType(), "timestamp": T.TimestampType(),
    "array<string>": T.ArrayType(T.StringType()), "array<double>": T.ArrayType(T.DoubleType()),
    "array<long>": T.ArrayType(T.LongType()), "array<contributor>": T.ArrayType(CONTRIBUTOR),
}


def _schema(ddl: str) -> T.StructType:
    """'name type, ...' with the types above; parsed here because Spark's parser needs a JVM."""
    pairs = [item.split() for item in ddl.split(",")]
    return T.StructType([T.StructField(name, _TYPES[kind]) for name, kind in pairs])


@dataclass(frozen=True)
class TableSpec:
    name: str
    schema: T.StructType
    keys: tuple[str, ...]
    partitions: tuple[str, ...]


DRIFT_RESULTS = TableSpec(
    "drift_results",
    _schema(
        "monitor string, table_name string, column_name string, column_kind string, "
        "window_start timestamp, window_end timestamp, baseline_id string, "
        "kl_divergence double, kl_reverse double, js_divergence double, psi double, "
        "g_statistic double, p_value double, current_count long, baseline_count long, "
        "current_null_fraction double, baseline_null_fraction double, threshold double, "
        "p_value_threshold double, status string, message string, "
        "top_contributors array<contributor>, run_id string, "
        "computed_at timestamp"
    ),
    ("monitor", "column_name", "window_start", "window_end", "baseline_id"),
    ("monitor", "window_start"),
)

PROFILES = TableSpec(
    "profiles",
    _schema(
        "monitor string, table_name string, column_name string, column_kind string, "
        "window_start timestamp, window_end timestamp, baseline_id string, "
        "bin_labels array<string>, counts array<long>, count long, null_count long, "
        "min double, max double, run_id string, computed_at timestamp"
    ),
    ("monitor", "column_name", "window_start", "window_end", "baseline_id"),
    ("monitor", "window_start"),
)

BASELINES = TableSpec(
    "baselines",
    _schema(
        "monitor string, baseline_id string, column_name string, column_idx int, "
        "column_kind string, source_type string, bins_json string, edges array<double>, "
        "categories array<string>, bin_labels array<string>, counts array<long>, "
        "count long, null_count long, min double, max double, skipped_reason string, "
        "source string, table_name string, table_version long, range_start timestamp, "
        "range_end timestamp, previous_windows int, window_length_s long, created_at timestamp, "
        "run_id string"
    ),
    ("monitor", "baseline_id", "column_name"),
    ("monitor",),
)

RUNS = TableSpec(
    "runs",
    _schema(
        "run_id string, monitor string, table_name string, operation string, "
        "window_start timestamp, window_end timestamp, baseline_id string, windows int, "
        "columns int, rows_scanned long, duration_s double, status string, error string, "
        "started_at timestamp, finished_at timestamp"
    ),
    ("run_id",),
    ("monitor",),
)

QUALITY_RESULTS = TableSpec(
    "quality_results",
    _schema(
        "monitor string, table_name string, window_start timestamp, window_end timestamp, "
        "expectation string, column_name string, success boolean, observed_value string, "
        "details string, run_id string, computed_at timestamp"
    ),
    ("monitor", "window_start", "window_end", "expectation", "column_name"),
    ("monitor",),
)

ALL_TABLES = (DRIFT_RESULTS, PROFILES, BASELINES, RUNS, QUALITY_RESULTS)


def table_path(root: str, spec: TableSpec) -> str:
    return str(Path(root) / spec.name) if "://" not in root else f"{root.rstrip('/')}/{spec.name}"


def catalog_persists(spark: SparkSession) -> bool:
    """True when table names outlive the session (a Hive metastore), not Spark's in-memory one."""
    return spark.conf.get("spark.sql.catalogImplementation", "in-memory") != "in-memory"


def ensure_tables(spark: SparkSession, root: str, database: str,
                  specs: Sequence[TableSpec] = ALL_TABLES, for_sql: bool = False) -> None:
    """Create missing tables (idempotent, safe when two jobs race); register them for SQL.

    A job registers them only where the names outlive it (a metastore): in Spark's in-memory
    catalog they would vanish with the job, after costing a Delta snapshot read each.
    """
    from delta.tables import DeltaTable

    register_names = for_sql or catalog_persists(spark)
    if register_names:
        spark.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    for spec in specs:
        path = table_path(root, spec)
        if not DeltaTable.isDeltaTable(spark, path):
            try:
                (DeltaTable.createIfNotExists(spark).location(path).addColumns(spec.schema)
                 .partitionedBy(*spec.partitions).execute())
            except Exception:
                if not DeltaTable.isDeltaTable(spark, path):  # lost a creation race: fine
                    raise
        if register_names:
            register(spark, database, spec.name, path)


def _same_location(registered: str, path: str) -> bool:
    def normal(text: str) -> str:
        text = text.removeprefix("file:").rstrip("/")
        return str(Path(text).resolve()) if "://" not in text else text

    return normal(registered) == normal(path)


def register(spark: SparkSession, database: str, name: str, path: str) -> None:
    """Point `<database>.<name>` at the Delta table at `path`.

    One session may serve several configs (tests, notebooks): a registration left pointing
    elsewhere is dropped first; it is an external table, so only the name goes.
    """
    target = f"`{database}`.`{name}`"
    if spark.catalog.tableExists(f"{database}.{name}"):
        info = {r["col_name"]: r["data_type"]
                for r in spark.sql(f"DESCRIBE TABLE EXTENDED {target}").collect()}
        if _same_location(info.get("Location", ""), path):
            return
        if info.get("Type") != "EXTERNAL":
            raise KlDriftError(f"{database}.{name} is a managed table, not the monitoring table "
                               f"at {path}", table=path)
        spark.sql(f"DROP TABLE {target}")
    spark.sql(f"CREATE TABLE IF NOT EXISTS {target} USING delta LOCATION '{path}'")


def read_table(spark: SparkSession, root: str, spec: TableSpec) -> DataFrame:
    return spark.read.format("delta").load(table_path(root, spec))


def _sql_literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if hasattr(value, "isoformat"):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    return str(value)


_RETRYABLE = ("ConcurrentAppendException", "ConcurrentDeleteReadException",
              "ConcurrentDeleteDeleteException", "ConcurrentTransactionException",
              "ProtocolChangedException", "MetadataChangedException", "DELTA_CONCURRENT")


def append_run(spark: SparkSession, root: str, rows: DataFrame) -> None:
    """Add `runs` rows. Each carries a fresh run_id, so a blind append cannot duplicate a
    key, never conflicts with another writer, and costs a fraction of a MERGE."""
    rows.select(*RUNS.schema.fieldNames()).write.format("delta").mode("append").save(
        table_path(root, RUNS))


def merge(spark: SparkSession, root: str, spec: TableSpec, rows: DataFrame,
          partition_values: dict[str, Sequence[object]], attempts: int = 6,
          replace: dict[str, object] | None = None) -> None:
    """Upsert `rows` on the table's key; re-running the same rows replaces, never duplicates.

    The literal partition filters keep each MERGE's read set to its own partitions, so two
    windows written at once do not conflict; a conflict Delta reports anyway is retried, which
    is safe because the source is fixed and the MERGE is idempotent. `replace` {column: value}
    names a slice (one window's checks, say) that `rows` replace whole: its target rows with
    no source row are deleted in the same commit.
    """
    from delta.tables import DeltaTable

    source = rows.select(*spec.schema.fieldNames()).dropDuplicates(list(spec.keys))
    on = [f"t.`{k}` <=> s.`{k}`" for k in spec.keys]
    for column, values in partition_values.items():
        listed = ", ".join(_sql_literal(v) for v in sorted(set(values), key=str))
        on.append(f"t.`{column}` IN ({listed})")
    target = DeltaTable.forPath(spark, table_path(root, spec))
    for attempt in range(attempts):
        try:
            builder = (target.alias("t").merge(source.alias("s"), " AND ".join(on))
                       .whenMatchedUpdateAll().whenNotMatchedInsertAll())
            if replace:
                builder = builder.whenNotMatchedBySourceDelete(" AND ".join(
                    f"t.`{k}` = {_sql_literal(v)}" for k, v in replace.items()))
            builder.execute()
            return
        except Exception as error:  # Delta raises its conflicts as several Python types
            if attempt == attempts - 1 or not any(n in repr(error) for n in _RETRYABLE):
                raise
            # Jittered so writers that collided once do not retry in lockstep.
            time.sleep(0.2 * 2 ** attempt * (0.5 + random.random()))
